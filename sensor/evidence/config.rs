//! `[output.pcap_log]`: evidence pcap files (Suricata's `pcap-log` output).

use serde::{Deserialize, Serialize};

/// Which packets `output.pcap_log` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PcapLogMode {
    /// No pcap files (the default).
    Off,
    /// The packets of flows that alerted: a flow's recent packets kept before its first
    /// alert, and its later packets (Suricata's `conditional: alerts`).
    Alerts,
    /// Every packet (Suricata's `conditional: all`, its default pcap-log).
    All,
}

/// `[output.pcap_log]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PcapLogConfig {
    /// `off`, `alerts` or `all`.
    pub mode: PcapLogMode,
    /// File name prefix, under `output.log_dir`: files are `<filename>.<secs>` (packet time of
    /// their first packet), with `.1`, `.2`, ... added when such a file exists already (a file
    /// is never overwritten).
    pub filename: String,
    /// A file is closed and the next one started before it would grow past this size (bytes).
    pub limit: u64,
    /// At most this many files per run; once they are full, packets are counted
    /// (`output.pcap_log.cut_max_files`), not written, and no file is deleted.
    pub max_files: u64,
    /// alerts: packets kept per flow before it alerts (the oldest make room).
    pub ring_packets: u32,
    /// alerts: bytes kept per flow before it alerts (a ring starts at 2 KiB and grows to this
    /// as its flow needs).
    pub ring_bytes: u32,
    /// alerts: memory for the rings of every flow, all workers together (bytes); a flow that
    /// finds none keeps no history (counted in `output.pcap_log.ring_memcap`).
    pub ring_memcap: u64,
    /// alerts: bytes written per alerting flow, its history included; the rest of the flow is
    /// counted (`output.pcap_log.cut_flow_limit`).
    pub flow_limit: u64,
}

impl Default for PcapLogConfig {
    fn default() -> Self {
        PcapLogConfig {
            mode: PcapLogMode::Off,
            filename: "log.pcap".into(),
            limit: 100 << 20,
            max_files: 100,
            ring_packets: 64,
            ring_bytes: 128 << 10,
            ring_memcap: 128 << 20,
            flow_limit: 16 << 20,
        }
    }
}

impl PcapLogConfig {
    /// Checks values that parse but make no sense: `Err((dotted key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.mode == PcapLogMode::Off {
            return Ok(());
        }
        let f = self.filename.trim();
        if f.is_empty() || f.contains('/') || f == "." || f == ".." {
            return Err(("output.pcap_log.filename", "must be a file name (no folder: files go to output.log_dir)"));
        }
        if self.limit < 4096 {
            return Err(("output.pcap_log.limit", "must be at least 4096 bytes"));
        }
        if self.max_files == 0 {
            return Err(("output.pcap_log.max_files", "must be at least 1"));
        }
        if self.mode == PcapLogMode::Alerts {
            if self.ring_packets == 0 || self.ring_packets > 65_536 {
                return Err(("output.pcap_log.ring_packets", "must be between 1 and 65536"));
            }
            if self.ring_bytes < 256 || self.ring_bytes > 64 << 20 {
                return Err(("output.pcap_log.ring_bytes", "must be between 256 and 67108864"));
            }
            if self.flow_limit == 0 {
                return Err(("output.pcap_log.flow_limit", "must be at least 1"));
            }
        }
        Ok(())
    }
}
