//! The `[capture]` section of the configuration: checksum validation (every source) and the
//! live capture options of `picket run` (method, interfaces, filter, rings, fanout).

use serde::{Deserialize, Serialize};

/// Checksum validation mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChecksumMode {
    /// Validate until the first packets show offloaded checksums (Suricata's default).
    Auto,
    /// Always validate.
    All,
    /// Never validate.
    None,
}

/// `[capture]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// `auto`, `all` or `none` (Suricata's `-k`).
    pub checksum_validation: ChecksumMode,
    // ---- live capture (picket run) ----
    /// Live capture method: `afpacket` (Linux TPACKET_V3 rings with fanout) or `pnet`.
    pub method: CaptureMethod,
    /// Interfaces to capture on (`--interface` adds to them).
    pub interfaces: Vec<String>,
    /// tcpdump filter expression compiled by libpcap and run in the kernel ("" = all).
    pub bpf_filter: String,
    /// Bytes kept of each frame (262144 = whole frames).
    pub snaplen: u32,
    /// Put the interfaces in promiscuous mode.
    pub promiscuous: bool,
    /// AF_PACKET: bytes per ring block (a multiple of 4096, at least snaplen + 64 or 64 KiB).
    pub ring_block_bytes: u32,
    /// AF_PACKET: blocks per ring (one ring per worker and interface).
    pub ring_blocks: u32,
    /// AF_PACKET: milliseconds after which a block that is not full is handed over.
    pub ring_block_timeout_ms: u32,
    /// AF_PACKET fanout mode: `hash` (flows stay on one worker), `lb`, `cpu`, `rollover`,
    /// `random`, `queue_mapping`.
    pub fanout_mode: FanoutMode,
    /// AF_PACKET: let the kernel reassemble IPv4 fragments before hashing.
    pub fanout_defrag: bool,
    /// AF_PACKET fanout group id (0 = derived from the process id).
    pub fanout_group: u16,
    /// pnet: socket receive buffer in bytes.
    pub pnet_buffer_bytes: u64,
    // ---- end live capture ----
}

/// Fanout modes (`capture.fanout_mode`), as `PACKET_FANOUT_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FanoutMode {
    /// By a symmetric flow hash (the default: flows stay on one worker).
    Hash,
    /// Round robin (breaks flows: only for stateless inspection).
    Lb,
    /// By the CPU that received the packet.
    Cpu,
    /// Fill one socket, then the next.
    Rollover,
    /// Random (breaks flows).
    Random,
    /// By the NIC's receive queue (RSS must then be symmetric).
    QueueMapping,
}

/// How `picket run` captures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMethod {
    /// Linux AF_PACKET TPACKET_V3 with PACKET_FANOUT.
    Afpacket,
    /// pnet's datalink channel (portable fallback), one reader thread per interface.
    Pnet,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            checksum_validation: ChecksumMode::Auto,
            method: CaptureMethod::Afpacket,
            interfaces: Vec::new(),
            bpf_filter: String::new(),
            snaplen: 262_144,
            promiscuous: true,
            ring_block_bytes: 1 << 20,
            ring_blocks: 64,
            ring_block_timeout_ms: 10,
            fanout_mode: FanoutMode::Hash,
            fanout_defrag: true,
            fanout_group: 0,
            pnet_buffer_bytes: 32 << 20,
        }
    }
}

impl CaptureConfig {
    /// Checks values that parse but make no sense: `Err((dotted key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        let c = self;
        if c.snaplen < 64 || c.snaplen > 262_144 {
            return Err(("capture.snaplen", "must be between 64 and 262144"));
        }
        if c.ring_block_bytes < 65_536 || c.ring_block_bytes % 4096 != 0 {
            return Err(("capture.ring_block_bytes", "must be a multiple of 4096, at least 65536"));
        }
        if (c.ring_block_bytes as u64) < (c.snaplen as u64).min(65_536) + 128 {
            return Err(("capture.ring_block_bytes", "must hold a frame of capture.snaplen bytes"));
        }
        if c.ring_blocks < 2 || c.ring_blocks as u64 * c.ring_block_bytes as u64 > 1 << 32 {
            return Err(("capture.ring_blocks", "at least 2, and ring_blocks * ring_block_bytes at most 4 GiB"));
        }
        if c.ring_block_timeout_ms == 0 || c.ring_block_timeout_ms > 10_000 {
            return Err(("capture.ring_block_timeout_ms", "must be between 1 and 10000"));
        }
        Ok(())
    }
}
