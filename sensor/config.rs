//! Configuration: strict TOML with defaults equal to Suricata's where the concept is the same.
//!
//! Every section denies unknown keys, so a typo is an error that names the key and line. The
//! documented default file is `configs/picket.toml`; a test checks that it parses to exactly
//! [`Config::default`]. `--set key=value` overrides by dotted path: the key must exist (or be
//! under `vars.address` / `vars.port`, which hold user-defined names), and the value is read
//! with the type of that key, so `--set stream.midstream=yes` is refused with the reason.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Capture options.
    pub capture: CaptureConfig,
    /// Threads and queues.
    pub runtime: RuntimeConfig,
    /// Decoder options (tunnels).
    pub decoder: DecoderConfig,
    /// Flow tracking.
    pub flow: FlowConfig,
    /// IP fragment reassembly.
    pub defrag: DefragConfig,
    /// TCP stream tracking and reassembly.
    pub stream: StreamConfig,
    /// Application-layer parsers.
    pub app: AppConfig,
    /// Detection engine.
    pub detect: DetectConfig,
    /// Rule variables, as Suricata's `vars`.
    pub vars: VarsConfig,
    /// Output.
    pub output: OutputConfig,
    /// Metrics endpoint.
    pub metrics: MetricsConfig,
    /// The daemon (`picket run`).
    pub daemon: DaemonConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            capture: CaptureConfig::default(),
            runtime: RuntimeConfig::default(),
            decoder: DecoderConfig::default(),
            flow: FlowConfig::default(),
            defrag: DefragConfig::default(),
            stream: StreamConfig::default(),
            app: AppConfig::default(),
            detect: DetectConfig::default(),
            vars: VarsConfig::default(),
            output: OutputConfig::default(),
            metrics: MetricsConfig::default(),
            daemon: DaemonConfig::default(),
        }
    }
}

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

/// `[daemon]`: how `picket run` runs as a service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// Rule files or folders loaded at start and on SIGHUP (`--rules` replaces them).
    pub rules: Vec<String>,
    /// User to run as once the capture sockets are open ("" = stay as started).
    pub user: String,
    /// Group to run as ("" = the user's primary group).
    pub group: String,
    /// Pidfile written at start and removed at exit ("" = none).
    pub pidfile: String,
    /// Log file ("" = standard error).
    pub log_file: String,
    /// Seconds between health checks (link state, silent workers).
    pub health_interval_secs: u64,
    /// Seconds between periodic EVE `stats` events (0 = only at exit).
    pub stats_interval_secs: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            rules: Vec::new(),
            user: String::new(),
            group: String::new(),
            pidfile: String::new(),
            log_file: String::new(),
            health_interval_secs: 5,
            stats_interval_secs: 0,
        }
    }
}

/// `[runtime]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// Worker threads; 0 means one per available core.
    pub workers: usize,
    /// Packets per batch handed from the reader to a worker.
    pub batch_packets: usize,
    /// Batches queued per worker before the reader waits (replay) or counts a drop (live).
    pub queue_batches: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig { workers: 0, batch_packets: 256, queue_batches: 16 }
    }
}

/// `[decoder]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecoderConfig {
    /// UDP port on which Teredo is decoded (0 = off). Suricata: 3544.
    pub teredo_port: u16,
    /// UDP port on which VXLAN is decoded (0 = off). Suricata: 4789.
    pub vxlan_port: u16,
    /// UDP port on which Geneve is decoded (0 = off). Suricata: 6081.
    pub geneve_port: u16,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig { teredo_port: 3544, vxlan_port: 4789, geneve_port: 6081 }
    }
}

/// Timeouts of one protocol, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutConfig {
    /// State new.
    pub new_secs: u64,
    /// State established.
    pub established_secs: u64,
    /// State closed.
    pub closed_secs: u64,
    /// New, in emergency mode.
    pub emergency_new_secs: u64,
    /// Established, in emergency mode.
    pub emergency_established_secs: u64,
    /// Closed, in emergency mode.
    pub emergency_closed_secs: u64,
}

impl TimeoutConfig {
    fn to_table(self) -> crate::flow::Timeouts {
        crate::flow::Timeouts {
            new: self.new_secs,
            established: self.established_secs,
            closed: self.closed_secs,
            emergency_new: self.emergency_new_secs,
            emergency_established: self.emergency_established_secs,
            emergency_closed: self.emergency_closed_secs,
        }
    }
}

/// `[flow.timeouts]`, as Suricata's `flow-timeouts`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowTimeouts {
    /// Protocols other than TCP, UDP and ICMP.
    pub default: TimeoutConfig,
    /// TCP.
    pub tcp: TimeoutConfig,
    /// UDP.
    pub udp: TimeoutConfig,
    /// ICMP and ICMPv6.
    pub icmp: TimeoutConfig,
}

impl Default for FlowTimeouts {
    fn default() -> Self {
        let t = |new, est, closed, en, ee, ec| TimeoutConfig {
            new_secs: new,
            established_secs: est,
            closed_secs: closed,
            emergency_new_secs: en,
            emergency_established_secs: ee,
            emergency_closed_secs: ec,
        };
        FlowTimeouts {
            default: t(30, 300, 0, 10, 100, 0),
            tcp: t(60, 600, 60, 5, 100, 10),
            udp: t(30, 300, 0, 10, 100, 0),
            icmp: t(30, 300, 0, 10, 100, 0),
        }
    }
}

/// `[flow]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Memory for flows, shared out among the workers (Suricata's `flow.memcap`: 128 MiB).
    pub memcap_bytes: u64,
    /// Leave emergency mode when this share of flow slots is free again (percent).
    pub emergency_recovery_percent: u8,
    /// Timeouts per protocol.
    pub timeouts: FlowTimeouts,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig { memcap_bytes: 128 << 20, emergency_recovery_percent: 30, timeouts: FlowTimeouts::default() }
    }
}

impl FlowConfig {
    /// The per-worker table configuration.
    pub fn table_config(&self, workers: usize) -> crate::flow::TableConfig {
        let t = &self.timeouts;
        crate::flow::TableConfig {
            memcap: (self.memcap_bytes / workers.max(1) as u64) as usize,
            timeouts: [t.tcp.to_table(), t.udp.to_table(), t.icmp.to_table(), t.default.to_table()],
            emergency_recovery_percent: self.emergency_recovery_percent,
        }
    }
}

// ---- [defrag] (sensor/defrag) ----------------------------------------------------------------

/// How overlapping fragments are resolved, as Suricata's defrag policies (`defrag.policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefragPolicy {
    /// BSD (Suricata's default): held data wins over a fragment starting at or after it; a
    /// fragment starting before held data wins where they overlap.
    Bsd,
    /// Linux: held data wins over a fragment starting after it; a fragment starting at or
    /// before held data wins where they overlap.
    Linux,
    /// Windows: held data wins, except over a fragment that starts before it and ends after it.
    Windows,
    /// Solaris: held data wins, except over a fragment that starts before it and ends at or
    /// after its end.
    Solaris,
    /// First: held data always wins.
    First,
    /// Last: the newest data always wins.
    Last,
}

/// `[defrag]`, as Suricata's `defrag`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefragConfig {
    /// Memory for fragment trackers and the fragment data they hold (Suricata's
    /// `defrag.memcap`: 32 MiB). When a new tracker or fragment would not fit, the least
    /// recently updated tracker is evicted (`defrag.tracker_hard_reuse`).
    pub memcap_bytes: u64,
    /// Seconds of packet time without a new fragment after which an unfinished datagram is
    /// dropped (Suricata's `defrag.timeout`: 60; 1 to 86400).
    pub timeout_secs: u64,
    /// Fragments held at once, over all trackers (Suricata's `defrag.max-frags`: 65535); a
    /// fragment beyond it is not stored (`defrag.max_frags_reached`).
    pub max_frags: u32,
    /// Datagrams being reassembled at once (Suricata's `defrag.trackers`: 65535); a new one
    /// beyond it evicts the least recently updated.
    pub trackers: u32,
    /// Overlap policy: `bsd` (default), `linux`, `windows`, `solaris`, `first` or `last`.
    pub policy: DefragPolicy,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            memcap_bytes: 32 << 20,
            timeout_secs: 60,
            max_frags: 65_535,
            trackers: 65_535,
            policy: DefragPolicy::Bsd,
        }
    }
}

// ---- end [defrag] -----------------------------------------------------------------------------

/// `[stream]`, as Suricata's `stream`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Pick up TCP sessions whose handshake was not seen.
    pub midstream: bool,
    /// Track sessions where only one direction is seen.
    pub async_oneside: bool,
    /// Bytes reassembled per direction before inspection stops (0 = unlimited).
    pub reassembly_depth: u64,
    /// Memory for TCP sessions.
    pub memcap_bytes: u64,
    /// Memory for reassembly segments.
    pub reassembly_memcap_bytes: u64,
    /// Overlap policy for segments (Suricata's host-os-policy names: bsd, linux, old-linux,
    /// windows, solaris, macos, vista, first, last).
    pub reassembly_policy: String,
    /// Acknowledged client bytes that make raw stream inspection due.
    pub toserver_chunk_bytes: u64,
    /// Acknowledged server bytes that make raw stream inspection due.
    pub toclient_chunk_bytes: u64,
    /// Segments held per direction before new ones are dropped (and counted).
    pub max_segments: u64,
}

impl HttpConfig {
    /// The HTTP parser's settings (limits not in the config keep libhtp's defaults).
    pub fn parser_config(&self) -> crate::app::http::HttpConfig {
        crate::app::http::HttpConfig {
            request_body_limit: self.request_body_limit.min(usize::MAX as u64) as usize,
            response_body_limit: self.response_body_limit.min(usize::MAX as u64) as usize,
            decompress_layer_limit: self.decompress_layer_limit,
            ..crate::app::http::HttpConfig::default()
        }
    }
}

impl AppConfig {
    /// The app layer's settings.
    pub fn parser_config(&self) -> crate::app::AppConfig {
        crate::app::AppConfig { http: self.http.parser_config() }
    }
}

impl StreamConfig {
    /// The stream engine settings for one of `workers` workers (memcaps are split evenly).
    pub fn engine_config(&self, workers: usize) -> crate::stream::StreamConfig {
        let w = workers.max(1) as u64;
        let ssn_size = std::mem::size_of::<crate::stream::TcpSession>() as u64 + 64;
        crate::stream::StreamConfig {
            midstream: self.midstream,
            async_oneside: self.async_oneside,
            depth: self.reassembly_depth,
            memcap: (self.reassembly_memcap_bytes / w) as usize,
            max_sessions: (self.memcap_bytes / w / ssn_size) as usize,
            max_segments: self.max_segments as usize,
            chunk: [self.toserver_chunk_bytes, self.toclient_chunk_bytes],
            policy: crate::stream::Policy::from_name(&self.reassembly_policy).unwrap_or_default(),
        }
    }
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            midstream: false,
            async_oneside: false,
            reassembly_depth: 1 << 20,
            memcap_bytes: 64 << 20,
            reassembly_memcap_bytes: 256 << 20,
            reassembly_policy: "bsd".into(),
            toserver_chunk_bytes: 2560,
            toclient_chunk_bytes: 2560,
            max_segments: 16384,
        }
    }
}

/// `[app]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AppConfig {
    /// HTTP/1.
    pub http: HttpConfig,
}

/// `[app.http]`, as libhtp's default-config in Suricata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Request body bytes kept for inspection.
    pub request_body_limit: u64,
    /// Response body bytes kept for inspection.
    pub response_body_limit: u64,
    /// Nested content-encoding layers decompressed at most.
    pub decompress_layer_limit: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { request_body_limit: 100 * 1024, response_body_limit: 100 * 1024, decompress_layer_limit: 2 }
    }
}

/// Multi-pattern engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// Hyperscan (vectorscan).
    Hyperscan,
    /// The aho-corasick crate.
    AhoCorasick,
}

/// `[detect]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// `hyperscan` or `aho-corasick`.
    pub engine: EngineKind,
    /// Folder of the compiled prefilter databases (Hyperscan), so that a restart with the same
    /// rules skips their compilation; empty disables the cache. The default falls back to
    /// `$XDG_CACHE_HOME/picket` (or `~/.cache/picket`), then a private temp folder, when it
    /// cannot be written.
    pub cache_dir: String,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig { engine: EngineKind::Hyperscan, cache_dir: crate::detect::cache::DEFAULT_DIR.to_string() }
    }
}

/// `[vars]`: `address` and `port` groups, as in Suricata's default suricata.yaml.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VarsConfig {
    /// Address groups (HOME_NET, EXTERNAL_NET, ...).
    pub address: BTreeMap<String, String>,
    /// Port groups (HTTP_PORTS, ...).
    pub port: BTreeMap<String, String>,
}

impl Default for VarsConfig {
    fn default() -> Self {
        let a = [
            ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
            ("EXTERNAL_NET", "!$HOME_NET"),
            ("HTTP_SERVERS", "$HOME_NET"),
            ("SMTP_SERVERS", "$HOME_NET"),
            ("SQL_SERVERS", "$HOME_NET"),
            ("DNS_SERVERS", "$HOME_NET"),
            ("TELNET_SERVERS", "$HOME_NET"),
            ("AIM_SERVERS", "$EXTERNAL_NET"),
            ("DC_SERVERS", "$HOME_NET"),
            ("DNP3_SERVER", "$HOME_NET"),
            ("DNP3_CLIENT", "$HOME_NET"),
            ("MODBUS_CLIENT", "$HOME_NET"),
            ("MODBUS_SERVER", "$HOME_NET"),
            ("ENIP_CLIENT", "$HOME_NET"),
            ("ENIP_SERVER", "$HOME_NET"),
        ];
        let p = [
            ("HTTP_PORTS", "80"),
            ("SHELLCODE_PORTS", "!80"),
            ("ORACLE_PORTS", "1521"),
            ("SSH_PORTS", "22"),
            ("DNP3_PORTS", "20000"),
            ("MODBUS_PORTS", "502"),
            ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
            ("FTP_PORTS", "21"),
            ("GENEVE_PORTS", "6081"),
            ("VXLAN_PORTS", "4789"),
            ("TEREDO_PORTS", "3544"),
        ];
        VarsConfig {
            address: a.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            port: p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }
}

/// `[output]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Write `flow` events when flows end.
    pub flow_events: bool,
    /// Write the final `stats` event.
    pub stats_event: bool,
    /// Folder of the local alert queue (append-only EVE segments); empty = no queue.
    pub spool_dir: String,
    /// A segment is closed and a new one started past this size.
    pub spool_segment_bytes: u64,
    /// Segments are deleted, oldest first, beyond this total size.
    pub spool_retention_bytes: u64,
    /// Data is fsync'd at least this often (0 = after every batch of events).
    pub spool_fsync_interval_ms: u64,
    /// When retention or a full disk would delete data a consumer has not read:
    /// `drop_oldest` (delete it, counted) or `block` (wait for the consumer, counted).
    pub spool_full_policy: SpoolPolicy,
}

/// What the local queue does when it must delete unread data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpoolPolicy {
    /// Delete the oldest segment anyway (counted as `output.spool.dropped_bytes`).
    DropOldest,
    /// Wait until consumers have read it (counted as `output.spool.block_waits`).
    Block,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            flow_events: true,
            stats_event: true,
            spool_dir: String::new(),
            spool_segment_bytes: 64 << 20,
            spool_retention_bytes: 1 << 30,
            spool_fsync_interval_ms: 1000,
            spool_full_policy: SpoolPolicy::DropOldest,
        }
    }
}

/// `[metrics]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address of the Prometheus endpoint (daemon mode).
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { listen: "127.0.0.1:9842".into() }
    }
}

/// A configuration error, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Loads `file` (or the defaults) and applies `--set` overrides, then validates.
    pub fn load(file: Option<&Path>, sets: &[String]) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("{}: cannot read: {e}", p.display())))?;
                // Parse once into the typed config for errors that name key and line.
                let _: Config = toml::from_str(&text)
                    .map_err(|e| ConfigError(format!("{}: {}", p.display(), one_line(&e.to_string()))))?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError(format!("{}: {}", p.display(), one_line(&e.to_string()))))?
            }
            None => toml::Table::new(),
        };
        let defaults = toml::Table::try_from(Config::default()).map_err(|e| ConfigError(format!("internal: {e}")))?;
        for s in sets {
            apply_set(&mut table, &defaults, s)?;
        }
        let cfg: Config =
            toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| ConfigError(one_line(&e.to_string())))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let e = |k: &str, why: &str| Err(ConfigError(format!("{k}: {why}")));
        if self.runtime.workers > 1024 {
            return e("runtime.workers", "at most 1024");
        }
        if self.runtime.batch_packets == 0 || self.runtime.batch_packets > 65_536 {
            return e("runtime.batch_packets", "must be between 1 and 65536");
        }
        if self.runtime.queue_batches == 0 || self.runtime.queue_batches > 65_536 {
            return e("runtime.queue_batches", "must be between 1 and 65536");
        }
        if self.output.spool_segment_bytes < 4096 {
            return e("output.spool_segment_bytes", "must be at least 4096");
        }
        if self.output.spool_retention_bytes < self.output.spool_segment_bytes {
            return e("output.spool_retention_bytes", "must be at least output.spool_segment_bytes");
        }
        if self.flow.memcap_bytes < 1 << 16 {
            return e("flow.memcap_bytes", "must be at least 65536");
        }
        if self.flow.emergency_recovery_percent > 100 {
            return e("flow.emergency_recovery_percent", "is a percentage (0-100)");
        }
        // [stream]
        if crate::stream::Policy::from_name(&self.stream.reassembly_policy).is_none() {
            return e(
                "stream.reassembly_policy",
                "unknown policy (bsd, linux, old-linux, windows, solaris, macos, vista, first, last)",
            );
        }
        if self.stream.toserver_chunk_bytes == 0 || self.stream.toclient_chunk_bytes == 0 {
            return e("stream.toserver_chunk_bytes", "chunk sizes must be at least 1");
        }
        if self.stream.max_segments == 0 {
            return e("stream.max_segments", "must be at least 1");
        }
        // [defrag]
        if self.defrag.memcap_bytes < 1 << 17 {
            return e("defrag.memcap_bytes", "must be at least 131072 (two datagrams of the largest size)");
        }
        if self.defrag.timeout_secs == 0 || self.defrag.timeout_secs > 86_400 {
            return e("defrag.timeout_secs", "must be between 1 and 86400");
        }
        if self.defrag.max_frags == 0 {
            return e("defrag.max_frags", "must be at least 1");
        }
        if self.defrag.trackers == 0 {
            return e("defrag.trackers", "must be at least 1");
        }
        // [capture] live options
        let c = &self.capture;
        if c.snaplen < 64 || c.snaplen > 262_144 {
            return e("capture.snaplen", "must be between 64 and 262144");
        }
        if c.ring_block_bytes < 65_536 || c.ring_block_bytes % 4096 != 0 {
            return e("capture.ring_block_bytes", "must be a multiple of 4096, at least 65536");
        }
        if (c.ring_block_bytes as u64) < (c.snaplen as u64).min(65_536) + 128 {
            return e("capture.ring_block_bytes", "must hold a frame of capture.snaplen bytes");
        }
        if c.ring_blocks < 2 || c.ring_blocks as u64 * c.ring_block_bytes as u64 > 1 << 32 {
            return e("capture.ring_blocks", "at least 2, and ring_blocks * ring_block_bytes at most 4 GiB");
        }
        if c.ring_block_timeout_ms == 0 || c.ring_block_timeout_ms > 10_000 {
            return e("capture.ring_block_timeout_ms", "must be between 1 and 10000");
        }
        if self.daemon.health_interval_secs == 0 {
            return e("daemon.health_interval_secs", "must be at least 1");
        }
        for (k, v) in self.vars.address.iter().chain(self.vars.port.iter()) {
            if v.trim().is_empty() {
                return Err(ConfigError(format!("vars: {k} is empty")));
            }
        }
        Ok(())
    }

    /// The number of workers to run: the configured count, or one per core.
    pub fn worker_count(&self) -> usize {
        if self.runtime.workers > 0 {
            self.runtime.workers
        } else {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Applies one `key=value` override onto `table`, typed by the default at that key.
fn apply_set(table: &mut toml::Table, defaults: &toml::Table, set: &str) -> Result<(), ConfigError> {
    let Some((key, raw)) = set.split_once('=') else {
        return Err(ConfigError(format!("--set {set}: expected KEY=VALUE")));
    };
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(ConfigError(format!("--set {set}: bad key `{key}`")));
    }
    // Find the default value's type.
    let empty = toml::Value::String(String::new());
    let mut d: Option<&toml::Value> = None;
    let mut cur = Some(defaults);
    for (i, p) in parts.iter().enumerate() {
        let t = cur.ok_or_else(|| ConfigError(format!("--set: unknown key `{key}`")))?;
        match t.get(*p) {
            Some(toml::Value::Table(inner)) if i + 1 < parts.len() => cur = Some(inner),
            Some(v) if i + 1 == parts.len() => d = Some(v),
            _ => {
                let user_vars = parts.len() == 3 && parts[0] == "vars" && (parts[1] == "address" || parts[1] == "port");
                if user_vars {
                    d = Some(&empty);
                    break;
                }
                return Err(ConfigError(format!("--set: unknown key `{key}`")));
            }
        }
    }
    let value = match d {
        Some(toml::Value::Boolean(_)) => match raw.trim() {
            "true" | "yes" | "on" | "1" => toml::Value::Boolean(true),
            "false" | "no" | "off" | "0" => toml::Value::Boolean(false),
            other => return Err(ConfigError(format!("--set {key}: expected true or false, got `{other}`"))),
        },
        Some(toml::Value::Integer(_)) => match parse_size(raw.trim()) {
            Some(n) => toml::Value::Integer(n),
            None => {
                return Err(ConfigError(format!(
                    "--set {key}: expected a whole number (suffixes kb, mb, gb allowed), got `{}`",
                    raw.trim()
                )))
            }
        },
        Some(toml::Value::Float(_)) => match raw.trim().parse::<f64>() {
            Ok(f) => toml::Value::Float(f),
            Err(_) => return Err(ConfigError(format!("--set {key}: expected a number, got `{}`", raw.trim()))),
        },
        Some(toml::Value::String(_)) => toml::Value::String(raw.to_string()),
        Some(_) => {
            return Err(ConfigError(format!("--set {key}: this key holds a table or list; set its fields one by one")))
        }
        None => return Err(ConfigError(format!("--set: unknown key `{key}`"))),
    };
    let mut t = table;
    for p in &parts[..parts.len() - 1] {
        let entry = t.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = match entry {
            toml::Value::Table(inner) => inner,
            _ => return Err(ConfigError(format!("--set {key}: `{p}` is not a table in the config file"))),
        };
    }
    t.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// Parses `1048576`, `64kb`, `1mb`, `2gb` (also `kib`/`mib`/`gib`) into bytes.
pub fn parse_size(s: &str) -> Option<i64> {
    let l = s.to_ascii_lowercase();
    let (num, mul) = if let Some(n) = l.strip_suffix("gib").or_else(|| l.strip_suffix("gb")) {
        (n, 1i64 << 30)
    } else if let Some(n) = l.strip_suffix("mib").or_else(|| l.strip_suffix("mb")) {
        (n, 1 << 20)
    } else if let Some(n) = l.strip_suffix("kib").or_else(|| l.strip_suffix("kb")) {
        (n, 1 << 10)
    } else {
        (l.as_str(), 1)
    };
    num.trim().parse::<i64>().ok()?.checked_mul(mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_overrides_are_typed() {
        let c = Config::load(None, &["stream.midstream=true".into(), "stream.reassembly_depth=2mb".into()]).unwrap();
        assert!(c.stream.midstream);
        assert_eq!(c.stream.reassembly_depth, 2 << 20);
        let e = Config::load(None, &["stream.midstream=maybe".into()]).unwrap_err();
        assert_eq!(e.0, "--set stream.midstream: expected true or false, got `maybe`");
        let e = Config::load(None, &["stream.midstreem=true".into()]).unwrap_err();
        assert_eq!(e.0, "--set: unknown key `stream.midstreem`");
        let c = Config::load(None, &["capture.checksum_validation=none".into()]).unwrap();
        assert_eq!(c.capture.checksum_validation, ChecksumMode::None);
        let e = Config::load(None, &["capture.checksum_validation=sometimes".into()]).unwrap_err();
        assert!(e.0.contains("sometimes"), "{}", e.0);
        let c = Config::load(None, &["vars.address.MY_NET=10.1.0.0/16".into()]).unwrap();
        assert_eq!(c.vars.address["MY_NET"], "10.1.0.0/16");
    }

    #[test]
    fn every_conformance_key_is_accepted() {
        let sets = [
            "capture.checksum_validation=auto",
            "stream.midstream=false",
            "stream.async_oneside=true",
            "stream.reassembly_depth=0",
            "app.http.request_body_limit=0",
            "app.http.response_body_limit=1000",
            "app.http.decompress_layer_limit=3",
        ];
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        let c = Config::load(None, &sets).unwrap();
        assert!(c.stream.async_oneside);
        assert_eq!(c.app.http.decompress_layer_limit, 3);
    }

    #[test]
    fn unknown_key_in_file_names_key_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.toml");
        std::fs::write(&p, "[stream]\nmidstream = true\nreassembly_dpeth = 5\n").unwrap();
        let e = Config::load(Some(&p), &[]).unwrap_err();
        assert!(e.0.contains("reassembly_dpeth"), "{}", e.0);
        assert!(e.0.contains("line 3"), "{}", e.0);
    }
}

#[cfg(test)]
mod file_tests {
    use super::*;

    /// The documented default file says exactly what the code defaults to, and every file in
    /// configs/ loads.
    #[test]
    fn configs_folder_parses_and_default_file_is_the_default() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let d = Config::load(Some(&dir.join("picket.toml")), &[]).unwrap();
        assert_eq!(d, Config::default());
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                Config::load(Some(&p), &[]).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            }
        }
    }
}
