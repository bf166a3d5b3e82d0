//! Configuration: strict TOML with defaults equal to Suricata's where the concept is the same.
//!
//! Every section denies unknown keys, so a typo is an error that names the key and line. The
//! documented default file is `configs/picket.toml`; a test checks that it parses to exactly
//! [`Config::default`]. `--set key=value` overrides by dotted path: the key must exist (or be
//! under `vars.address` / `vars.port`, which hold user-defined names), and the value is read
//! with the type of that key, so `--set stream.midstream=yes` is refused with the reason.
//!
//! Each stage owns the type of its section (`capture::CaptureConfig`, `flow::FlowConfig`,
//! `stream::StreamSection`, ...) and checks its own values (`validate`); this file composes
//! them, keeps the sections of the runtime itself (`[runtime]`, `[daemon]`), and re-exports
//! the section types so that users of the library find them in one place. Stages never import
//! this module (scripts/check-structure.py checks that no import cycle exists).

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use crate::capture::{CaptureConfig, CaptureMethod, ChecksumMode, FanoutMode};
pub use crate::defrag::{DefragConfig, DefragPolicy};
pub use crate::detect::{DetectConfig, EngineKind};
pub use crate::flow::{FlowConfig, FlowTimeouts, TimeoutConfig};
pub use crate::metrics::MetricsConfig;
pub use crate::output::{OutputConfig, SpoolPolicy};
pub use crate::rule::VarsConfig;
pub use crate::stream::StreamSection;

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Capture options.
    pub capture: CaptureConfig,
    /// Threads and queues.
    pub runtime: RuntimeConfig,
    /// Decoder options (tunnels).
    pub decoder: crate::decode::Decoder,
    /// Flow tracking.
    pub flow: FlowConfig,
    /// IP fragment reassembly.
    pub defrag: DefragConfig,
    /// TCP stream tracking and reassembly.
    pub stream: StreamSection,
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
            decoder: crate::decode::Decoder::default(),
            flow: FlowConfig::default(),
            defrag: DefragConfig::default(),
            stream: StreamSection::default(),
            app: AppConfig::default(),
            detect: DetectConfig::default(),
            vars: VarsConfig::default(),
            output: OutputConfig::default(),
            metrics: MetricsConfig::default(),
            daemon: DaemonConfig::default(),
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

impl AppConfig {
    /// The app layer's settings.
    pub fn parser_config(&self) -> crate::app::AppConfig {
        crate::app::AppConfig { http: self.http.parser_config() }
    }
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
        let stages = [
            self.output.validate(),
            self.flow.validate(),
            self.stream.validate(),
            self.defrag.validate(),
            self.capture.validate(),
        ];
        for r in stages {
            if let Err((key, why)) = r {
                return Err(ConfigError(format!("{key}: {why}")));
            }
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
