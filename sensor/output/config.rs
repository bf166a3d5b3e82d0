//! The `[output]` section of the configuration: where EVE goes (`[output.eve]`: a file, syslog
//! or a unix socket, as Suricata's `eve-log` `filetype`), which events are written, and the
//! local alert queue (spool).

use serde::{Deserialize, Serialize};

/// `[output]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Folder for output files given by a relative name (Suricata's `default-log-dir`). `picket
    /// run` creates it (owned by `daemon.user`) when it does not exist.
    pub log_dir: String,
    /// The EVE output of `picket run` (`--eve PATH` replaces it by a regular file).
    pub eve: EveConfig,
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
    /// `[output.nats]`: forwarding the queue to NATS JetStream.
    pub nats: super::nats::NatsConfig,
    /// Evidence pcap files (`[output.pcap_log]`, Suricata's pcap-log).
    pub pcap_log: crate::evidence::PcapLogConfig,
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

/// Where EVE lines go, as Suricata's `filetype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EveFiletype {
    /// A file, opened for appending and reopened on SIGHUP (`filename`, relative to
    /// `output.log_dir`).
    Regular,
    /// The local syslog daemon (`syslog_socket`), one message per event.
    Syslog,
    /// A unix stream socket another program listens on (`filename` is its path), one line per
    /// event; reconnected when it goes away.
    UnixStream,
    /// A unix datagram socket (`filename` is its path), one datagram per event.
    UnixDgram,
}

/// `[output.eve]`: the EVE output of `picket run`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EveConfig {
    /// Write EVE at all (the local queue, when configured, is written either way).
    pub enabled: bool,
    /// `regular`, `syslog`, `unix_stream` or `unix_dgram`.
    pub filetype: EveFiletype,
    /// regular: the file (relative names are under `output.log_dir`); unix_stream/unix_dgram:
    /// the socket's path.
    pub filename: String,
    /// syslog: the facility (`kern`, `user`, `daemon`, `local0` .. `local7`, ...).
    pub syslog_facility: String,
    /// syslog: the severity of every event (`emerg` .. `debug`).
    pub syslog_level: String,
    /// syslog: the program name in every message.
    pub syslog_identity: String,
    /// syslog: the socket of the local syslog daemon.
    pub syslog_socket: String,
    /// The EVE record types written (Suricata's `eve-log` `types`): `alert`, `flow`, `stats`,
    /// the app-layer records (`dns`, `http`, `tls`, ...) and `files`. Default: Suricata's
    /// default list; a type Picket does not write yet has no effect; a name Suricata does not
    /// know is a configuration error. Applies to `picket run` and `picket replay`.
    pub types: Vec<String>,
    /// `[output.eve.anomaly]`: which anomalies the `anomaly` records report (Suricata's
    /// `eve-log.anomaly.types`), when `anomaly` is in `types`.
    pub anomaly: AnomalyConfig,
    /// `[output.eve.files]`: what `fileinfo` records carry (Suricata's `eve-log.files`).
    pub files: FilesConfig,
    /// Replay: every record ends with `pcap_filename`, the capture file of the packet that
    /// completed it (Suricata's `pcap-file: true`; records written at the end of the input name
    /// the last file). Off by default, as Suricata's.
    pub pcap_file: bool,
}

/// `[output.eve.files]`: Suricata's `eve-log.types.files` options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Hashes computed for every file of every protocol and written in its `fileinfo` record
    /// (`md5`, `sha1`, `sha256`; Suricata's `force-hash`). Off by default, as Suricata's; rules
    /// with `filemd5`/`filesha1`/`filesha256` need them.
    pub force_hash: Vec<String>,
}

impl FilesConfig {
    /// The hash names `force_hash` accepts.
    pub const HASHES: [&'static str; 3] = ["md5", "sha1", "sha256"];
}

/// `[output.eve.anomaly]`: the kinds of anomaly `anomaly` records report, as Suricata's
/// `anomaly.types` (its defaults: app-layer events only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Decoder events (`type` `decode`, `event` `decoder.ipv4.trunc_pkt`, ...), one record per
    /// event of a packet.
    pub decode: bool,
    /// TCP stream events (`type` `stream`, `event` `stream.3whs_syn_flood`, ...).
    pub stream: bool,
    /// App-layer events: protocol detection's (`layer` `proto_detect`) and each parser's
    /// (`layer` `proto_parser`, with the transaction's `tx_id`), each raised event once.
    pub applayer: bool,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig { decode: false, stream: false, applayer: true }
    }
}

impl AnomalyConfig {
    /// Nothing is reported.
    pub const OFF: AnomalyConfig = AnomalyConfig { decode: false, stream: false, applayer: false };

    /// Some kind is reported.
    pub fn any(&self) -> bool {
        self.decode || self.stream || self.applayer
    }
}

/// Every EVE record type of Suricata's `eve-log` (suricata.yaml), and whether its default
/// configuration writes it.
pub(super) const EVE_TYPES: &[(&str, bool)] = &[
    ("alert", true),
    ("frame", true),
    ("anomaly", true),
    ("http", true),
    ("dns", true),
    ("mdns", true),
    ("tls", true),
    ("files", true),
    ("drop", false),
    ("smtp", true),
    ("dnp3", false),
    ("websocket", true),
    ("enip", false),
    ("ftp", true),
    ("rdp", true),
    ("nfs", true),
    ("ntp", false),
    ("smb", true),
    ("tftp", true),
    ("ike", true),
    ("dcerpc", true),
    ("krb5", true),
    ("bittorrent-dht", true),
    ("snmp", true),
    ("rfb", true),
    ("sip", true),
    ("quic", true),
    ("ldap", true),
    ("pop3", true),
    ("llmnr", true),
    ("modbus", false),
    ("arp", true),
    ("dhcp", true),
    ("ssh", true),
    ("mqtt", true),
    ("http2", true),
    ("doh2", true),
    ("pgsql", true),
    ("stats", true),
    ("flow", true),
    ("netflow", false),
    ("metadata", false),
    ("stream", false),
];

/// Record types written under another type's name in `types`: Suricata's `files` records have
/// `event_type` `fileinfo`, and its `ftp` logger writes the `ftp_data` records too.
const EVE_TYPE_ALIASES: &[(&str, &str)] = &[("fileinfo", "files"), ("ftp_data", "ftp")];

/// Whether records of `event_type` are written when `types` lists the types to write (an
/// alias counts as the type it belongs to).
pub fn type_listed(types: &[String], event_type: &str) -> bool {
    let name = EVE_TYPE_ALIASES.iter().find(|(a, _)| *a == event_type).map_or(event_type, |(_, t)| t);
    types.iter().any(|t| t == event_type || t == name)
}

impl Default for EveConfig {
    fn default() -> Self {
        EveConfig {
            enabled: true,
            filetype: EveFiletype::Regular,
            filename: "eve.json".into(),
            syslog_facility: "local5".into(),
            syslog_level: "info".into(),
            syslog_identity: "picket".into(),
            syslog_socket: "/dev/log".into(),
            types: EVE_TYPES.iter().filter(|(_, on)| *on).map(|(t, _)| t.to_string()).collect(),
            anomaly: AnomalyConfig::default(),
            files: FilesConfig::default(),
            pcap_file: false,
        }
    }
}

/// Syslog facility numbers by name (RFC 5424).
pub(super) const SYSLOG_FACILITIES: &[(&str, u8)] = &[
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// Syslog severities by name (RFC 5424).
pub(super) const SYSLOG_LEVELS: &[(&str, u8)] = &[
    ("emerg", 0),
    ("alert", 1),
    ("crit", 2),
    ("err", 3),
    ("error", 3),
    ("warning", 4),
    ("notice", 5),
    ("info", 6),
    ("debug", 7),
];

impl EveConfig {
    /// Whether records of `event_type` (or its `types` name) are written.
    pub fn wants(&self, event_type: &str) -> bool {
        type_listed(&self.types, event_type)
    }

    /// Names in `types` that are no EVE record type, each with why.
    pub fn unknown_types(&self) -> Vec<String> {
        let known = |t: &str| EVE_TYPES.iter().any(|(n, _)| *n == t) || EVE_TYPE_ALIASES.iter().any(|(a, _)| *a == t);
        self.types
            .iter()
            .filter(|t| !known(t))
            .map(|t| format!("`{t}` is no EVE record type (Suricata's eve-log types: alert, anomaly, dns, files, flow, http, stats, tls, ...)"))
            .collect()
    }

    /// The anomalies `anomaly` records report: none when `anomaly` is not in `types`.
    pub fn anomalies(&self) -> AnomalyConfig {
        if self.wants("anomaly") {
            self.anomaly
        } else {
            AnomalyConfig::OFF
        }
    }

    /// The syslog priority (`facility * 8 + severity`), when both names are known.
    pub fn syslog_priority(&self) -> Option<u8> {
        let f = SYSLOG_FACILITIES.iter().find(|(n, _)| n.eq_ignore_ascii_case(&self.syslog_facility))?.1;
        let l = SYSLOG_LEVELS.iter().find(|(n, _)| n.eq_ignore_ascii_case(&self.syslog_level))?.1;
        Some(f * 8 + l)
    }
}

impl OutputConfig {
    /// Whether `flow` events are written: `flow_events` and `flow` in `eve.types`.
    pub fn writes_flows(&self) -> bool {
        self.flow_events && self.eve.wants("flow")
    }

    /// Whether the `stats` event is written: `stats_event` and `stats` in `eve.types`.
    pub fn writes_stats(&self) -> bool {
        self.stats_event && self.eve.wants("stats")
    }

    /// Where the regular EVE file is: `output.eve.filename`, under `output.log_dir` when
    /// relative.
    pub fn eve_path(&self) -> std::path::PathBuf {
        let f = std::path::Path::new(&self.eve.filename);
        if f.is_absolute() || self.log_dir.is_empty() {
            f.to_path_buf()
        } else {
            std::path::Path::new(&self.log_dir).join(f)
        }
    }
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            log_dir: "/var/log/picket".into(),
            eve: EveConfig::default(),
            flow_events: true,
            stats_event: true,
            spool_dir: String::new(),
            spool_segment_bytes: 64 << 20,
            spool_retention_bytes: 1 << 30,
            spool_fsync_interval_ms: 1000,
            spool_full_policy: SpoolPolicy::DropOldest,
            nats: super::nats::NatsConfig::default(),
            pcap_log: crate::evidence::PcapLogConfig::default(),
        }
    }
}

impl OutputConfig {
    /// Checks values that parse but make no sense: `Err((dotted key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.spool_segment_bytes < 4096 {
            return Err(("output.spool_segment_bytes", "must be at least 4096"));
        }
        if self.eve.files.force_hash.iter().any(|h| !FilesConfig::HASHES.contains(&h.as_str())) {
            return Err(("output.eve.files.force_hash", "a hash other than md5, sha1 and sha256"));
        }
        if self.spool_retention_bytes < self.spool_segment_bytes {
            return Err(("output.spool_retention_bytes", "must be at least output.spool_segment_bytes"));
        }
        if self.eve.filetype == EveFiletype::Syslog {
            if !SYSLOG_FACILITIES.iter().any(|(n, _)| n.eq_ignore_ascii_case(&self.eve.syslog_facility)) {
                return Err((
                    "output.eve.syslog_facility",
                    "unknown facility (kern, user, daemon, local0 .. local7, ...)",
                ));
            }
            if !SYSLOG_LEVELS.iter().any(|(n, _)| n.eq_ignore_ascii_case(&self.eve.syslog_level)) {
                return Err((
                    "output.eve.syslog_level",
                    "unknown level (emerg, alert, crit, err, warning, notice, info, debug)",
                ));
            }
        }
        self.pcap_log.validate()?;
        if self.eve.enabled && self.eve.filename.trim().is_empty() && self.eve.filetype != EveFiletype::Syslog {
            return Err(("output.eve.filename", "is empty (set output.eve.enabled = false to write no EVE)"));
        }
        if self.nats.enabled() && self.spool_dir.is_empty() {
            return Err(("output.nats.servers", "forwarding reads the local queue: set output.spool_dir"));
        }
        self.nats.validate()
    }
}
