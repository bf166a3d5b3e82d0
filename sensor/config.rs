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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// This sensor in a fleet.
    pub sensor: SensorConfig,
    /// The fleet beyond forwarding: rules pushed to every sensor.
    pub fleet: FleetConfig,
}

/// `[sensor]`: this sensor in a fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SensorConfig {
    /// Its name in subjects, message ids and fleet status ("" = the host name up to its first
    /// dot, with characters other than letters, digits, `-` and `_` replaced by `_`).
    pub name: String,
}

impl SensorConfig {
    /// The name in use.
    pub fn resolved_name(&self) -> String {
        if !self.name.is_empty() {
            return self.name.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let first = host.trim().split('.').next().unwrap_or("");
        let name: String =
            first.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        if name.is_empty() {
            "sensor".into()
        } else {
            name
        }
    }
}

/// `[fleet]`: this host's part in a fleet beyond forwarding (connection and credentials are
/// `[output.nats]`'s; `servers` here replaces only its server list).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// Servers of the fleet's NATS cluster ([] = `output.nats.servers`).
    pub servers: Vec<String>,
    /// `picket run`: follow the ruleset pushed with `picket fleet rules push`, verify each new
    /// version and reload it (the rules given with `--rules`/`daemon.rules` run until the
    /// first version arrives, and whenever none is pushed). `picket fleet work`: replay each
    /// job with the version in force when the job starts (checked and verified the same way).
    pub rules: bool,
    /// Object store of the pushed rulesets, and key-value bucket (same name) whose key
    /// `current` names the version in force.
    pub rules_bucket: String,
    /// Replicas of those buckets when a push creates them (1, 3 or 5 on a cluster).
    pub replicas: usize,
    /// Folder the versions are unpacked in, one subfolder per version (only the running one
    /// is kept).
    pub rules_dir: String,
    /// A version whose rules load fewer than this fraction of the running engine's rules is
    /// refused (0 = only a version loading no rule at all is).
    pub rules_min_ratio: f64,
    /// Largest ruleset accepted, as archive and unpacked, bytes.
    pub rules_max_bytes: u64,
    /// Seconds between two heartbeats of a sensor (`picket run`, `picket replay` and
    /// `picket fleet work` with NATS servers configured) in `status_bucket` (0 = none).
    pub heartbeat_secs: u64,
    /// Key-value bucket of the heartbeats, one key per sensor (`picket fleet status`).
    pub status_bucket: String,
    /// Work-queue stream of distributed replay's jobs (`picket fleet submit`/`work`).
    pub jobs_stream: String,
    /// Stream of the jobs' results (one summary per job, `picket fleet submit --wait`).
    pub results_stream: String,
    /// A job not acknowledged nor extended within this time goes to another worker, seconds
    /// (the worker extends it every third of it while it works).
    pub job_ack_wait_secs: u64,
    /// Deliveries of a job at most (a capture that kills its workers is not retried for ever).
    pub job_max_deliver: i64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            servers: Vec::new(),
            rules: false,
            rules_bucket: "PICKET_RULES".into(),
            replicas: 1,
            rules_dir: "/var/lib/picket/fleet-rules".into(),
            rules_min_ratio: 0.5,
            rules_max_bytes: 512 << 20,
            heartbeat_secs: 5,
            status_bucket: "PICKET_STATUS".into(),
            jobs_stream: "PICKET_JOBS".into(),
            results_stream: "PICKET_RESULTS".into(),
            job_ack_wait_secs: 30,
            job_max_deliver: 5,
        }
    }
}

impl FleetConfig {
    /// Checks values that parse but make no sense: `Err((dotted key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if !crate::output::nats::is_token(&self.rules_bucket) {
            return Err(("fleet.rules_bucket", "letters, digits, - and _ only (a bucket name)"));
        }
        if !matches!(self.replicas, 1..=5) {
            return Err(("fleet.replicas", "must be between 1 and 5"));
        }
        if !(0.0..=1.0).contains(&self.rules_min_ratio) {
            return Err(("fleet.rules_min_ratio", "is a fraction (0-1)"));
        }
        if self.rules && self.rules_dir.is_empty() {
            return Err(("fleet.rules_dir", "must name a folder when fleet.rules is on"));
        }
        if self.rules_max_bytes < 1024 {
            return Err(("fleet.rules_max_bytes", "must be at least 1024"));
        }
        for (key, v) in [
            ("fleet.status_bucket", &self.status_bucket),
            ("fleet.jobs_stream", &self.jobs_stream),
            ("fleet.results_stream", &self.results_stream),
        ] {
            if !crate::output::nats::is_token(v) {
                return Err((key, "letters, digits, - and _ only (a stream or bucket name)"));
            }
        }
        if self.job_ack_wait_secs < 3 {
            return Err(("fleet.job_ack_wait_secs", "must be at least 3"));
        }
        if self.job_max_deliver < 1 {
            return Err(("fleet.job_max_deliver", "must be at least 1"));
        }
        Ok(())
    }
}

/// `[daemon]`: how `picket run` runs as a service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// Rule files or folders loaded at start and on every reload (SIGUSR2, `picket ctl
    /// reload-rules`); `--rules` replaces them.
    pub rules: Vec<String>,
    /// User to run as once the capture sockets are open ("" = stay as started).
    pub user: String,
    /// Group to run as ("" = the user's primary group).
    pub group: String,
    /// Pidfile written at start and removed at exit ("" = none). Its folder is created and
    /// given to `daemon.user`, so that the pidfile can be removed after the privilege drop.
    pub pidfile: String,
    /// Log file ("" = standard error), appended to and reopened on SIGHUP.
    pub log_file: String,
    /// The control socket of `picket ctl` (a unix socket; "" = none). Suricata's unix-command.
    pub control_socket: String,
    /// Group allowed to use the control socket (mode 0660; "" = `daemon.group`, or the group
    /// the daemon runs as).
    pub control_group: String,
    /// Capture loss (kernel drops over packets the kernel saw, per interface, over the last
    /// `daemon.health_interval_secs`) above which `/healthz` reports the sensor degraded and the
    /// log says so, once per episode (0 = never).
    pub loss_alarm_percent: f64,
    /// Rules not loaded that the log names one by one at start and at each reload (the rest
    /// are summed up by reason; `picket ctl ruleset-failed-rules` lists them all).
    pub rule_errors_logged: usize,
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
            control_socket: "/run/picket/control.sock".into(),
            control_group: String::new(),
            loss_alarm_percent: 1.0,
            rule_errors_logged: 50,
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
    /// Replay: decide thresholds and detection filters shared between flows in packet order
    /// (the ordered stage, `runtime::replay_order`), so every run and worker count gives the
    /// same alerts. `false` lets each worker decide at once (as live capture and Suricata do):
    /// only for measuring what the ordering costs.
    pub ordered: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig { workers: 0, batch_packets: 256, queue_batches: 16, ordered: true }
    }
}

/// `[app]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AppConfig {
    /// HTTP/1.
    pub http: HttpConfig,
    /// Run-time state of the app layer that the workers built from this configuration share
    /// (the table of expected FTP data connections): not configuration, never serialised.
    #[serde(skip)]
    pub shared: crate::app::expect::Expectations,
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
    /// The app layer's settings (the hashes every file gets are the output's:
    /// [`Config::app_config`] adds them).
    pub fn parser_config(&self) -> crate::app::AppConfig {
        crate::app::AppConfig {
            http: self.http.parser_config(),
            expect: self.shared.clone(),
            frames: Default::default(),
            file_hashes: Default::default(),
            midstream: false,
        }
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
    /// The app layer's settings with the hashes `output.eve.files.force_hash` gives every file
    /// (names checked when the configuration loaded) and `stream.midstream` (identification's
    /// midstream patterns).
    pub fn app_config(&self) -> crate::app::AppConfig {
        crate::app::AppConfig {
            file_hashes: crate::app::files::HashSet::of_names(&self.output.eve.files.force_hash).unwrap_or_default(),
            midstream: self.stream.midstream,
            ..self.app.parser_config()
        }
    }
}

impl Config {
    /// Loads `file` (or the defaults) and applies `--set` overrides, then validates. A value
    /// that makes no sense is refused with the key, and the file and line it came from (or the
    /// `--set` that gave it).
    pub fn load(file: Option<&Path>, sets: &[String]) -> Result<Config, ConfigError> {
        Config::load_with_origin(file, sets).map(|(c, _)| c)
    }

    /// As [`Config::load`], also returning where each key came from (for later checks).
    pub fn load_with_origin(file: Option<&Path>, sets: &[String]) -> Result<(Config, Origin), ConfigError> {
        let (cfg, origin, problems) = Config::load_unchecked(file, sets)?;
        if let Some((key, why)) = problems.into_iter().next() {
            return Err(ConfigError(format!("{}{key}: {why}", origin.locate(&key))));
        }
        Ok((cfg, origin))
    }

    /// Loads without refusing values that make no sense: the configuration, where its keys
    /// came from, and every problem (`picket config check` lists them all). Syntax errors and
    /// unknown keys are still errors.
    pub fn load_unchecked(file: Option<&Path>, sets: &[String]) -> Result<Unchecked, ConfigError> {
        let mut origin = Origin::default();
        let mut table = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError(format!("{}: cannot read: {e}", p.display())))?;
                // Parse once into the typed config for errors that name key and line.
                let _: Config = toml::from_str(&text)
                    .map_err(|e| ConfigError(format!("{}: {}", p.display(), one_line(&e.to_string()))))?;
                let t = text
                    .parse::<toml::Table>()
                    .map_err(|e| ConfigError(format!("{}: {}", p.display(), one_line(&e.to_string()))))?;
                origin.file = Some((p.to_path_buf(), text));
                t
            }
            None => toml::Table::new(),
        };
        let defaults = toml::Table::try_from(Config::default()).map_err(|e| ConfigError(format!("internal: {e}")))?;
        for s in sets {
            apply_set(&mut table, &defaults, s)?;
            if let Some((k, _)) = s.split_once('=') {
                origin.sets.push(k.trim().to_string());
            }
        }
        let cfg: Config =
            toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| ConfigError(one_line(&e.to_string())))?;
        let problems = cfg.problems();
        Ok((cfg, origin, problems))
    }

    /// Checks values that parse but make no sense; the first problem, with its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.problems().into_iter().next() {
            Some((key, why)) => Err(ConfigError(format!("{key}: {why}"))),
            None => Ok(()),
        }
    }

    /// Every value that parses but makes no sense or cannot work, as (dotted key, reason):
    /// ranges, each stage's own checks, rule variables (each address and port group must
    /// resolve), the capture filter (compiled by libpcap) and the metrics address. What
    /// depends on the host (users, folders) is checked by `picket config check` and at the
    /// start of `picket run` (see `runtime::check`).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        let mut e = |k: &str, why: &str| v.push((k.to_string(), why.to_string()));
        if self.runtime.workers > 1024 {
            e("runtime.workers", "at most 1024");
        }
        if self.runtime.batch_packets == 0 || self.runtime.batch_packets > 65_536 {
            e("runtime.batch_packets", "must be between 1 and 65536");
        }
        if self.runtime.queue_batches == 0 || self.runtime.queue_batches > 65_536 {
            e("runtime.queue_batches", "must be between 1 and 65536");
        }
        let stages = [
            self.output.validate(),
            self.flow.validate(),
            self.stream.validate(),
            self.defrag.validate(),
            self.capture.validate(),
            self.fleet.validate(),
        ];
        for r in stages {
            if let Err((key, why)) = r {
                e(key, why);
            }
        }
        if !self.sensor.name.is_empty() && !crate::output::nats::is_token(&self.sensor.name) {
            e("sensor.name", "letters, digits, - and _ only (it is a subject token)");
        }
        if self.fleet.rules && self.fleet.servers.is_empty() && self.output.nats.servers.is_empty() {
            e("fleet.rules", "needs fleet.servers or output.nats.servers (where the rulesets are pushed)");
        }
        if self.daemon.health_interval_secs == 0 {
            e("daemon.health_interval_secs", "must be at least 1");
        }
        if !(0.0..=100.0).contains(&self.daemon.loss_alarm_percent) {
            e("daemon.loss_alarm_percent", "is a percentage (0-100; 0 = no alarm)");
        }
        v.extend(self.vars_problems());
        v.extend(self.output.eve.unknown_types().into_iter().map(|why| ("output.eve.types".to_string(), why)));
        if !self.capture.bpf_filter.trim().is_empty() {
            if let Err(why) = crate::sys::compile_bpf(&self.capture.bpf_filter, 1, self.capture.snaplen) {
                v.push(("capture.bpf_filter".into(), format!("`{}` does not compile: {why}", self.capture.bpf_filter)));
            }
        }
        if !self.metrics.listen.is_empty() && self.metrics.listen.parse::<std::net::SocketAddr>().is_err() {
            v.push((
                "metrics.listen".into(),
                format!(
                    "`{}` is not an address:port (e.g. 127.0.0.1:9842, [::1]:9842; \"\" = no endpoint)",
                    self.metrics.listen
                ),
            ));
        }
        v
    }

    /// Each address and port variable must resolve, as Suricata checks them at start-up: a
    /// typo in HOME_NET would otherwise silently drop every rule that uses it.
    fn vars_problems(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        for (k, val) in self.vars.address.iter().chain(self.vars.port.iter()) {
            if val.trim().is_empty() {
                let group = if self.vars.address.contains_key(k) { "address" } else { "port" };
                v.push((format!("vars.{group}.{k}"), "is empty".to_string()));
            }
        }
        v.extend(self.vars.problems());
        v
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

/// What [`Config::load_unchecked`] gives: the configuration, where its keys came from, and its
/// problems as (dotted key, reason).
pub type Unchecked = (Config, Origin, Vec<(String, String)>);

/// Where the keys of a loaded configuration came from: the file (and its text, to find the
/// line of a key) and the keys given by `--set`.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    file: Option<(std::path::PathBuf, String)>,
    sets: Vec<String>,
}

impl Origin {
    /// A prefix naming where `key` was set: `--set ` when an override gave it, `FILE:LINE: `
    /// when the file has it, `FILE: ` otherwise (the default).
    pub fn locate(&self, key: &str) -> String {
        if self.sets.iter().any(|k| k == key) {
            return "--set ".into();
        }
        match &self.file {
            Some((p, text)) => match key_line(text, key) {
                Some(n) => format!("{}:{n}: ", p.display()),
                None => format!("{}: ", p.display()),
            },
            None => String::new(),
        }
    }
}

/// The line (1-based) of `dotted` in a TOML text: under its `[table]` header as `key = ...`,
/// or with the dotted path written out. Enough for the files a user writes; None when not found.
pub fn key_line(text: &str, dotted: &str) -> Option<usize> {
    let unquote = |s: &str| s.trim().trim_matches('"').trim_matches('\'').to_string();
    let mut table = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(h) = line.strip_prefix('[') {
            let h = h.trim_start_matches('[');
            let h = h.split(']').next().unwrap_or("");
            table = h.split('.').map(unquote).collect::<Vec<_>>().join(".");
            continue;
        }
        let Some((k, _)) = line.split_once('=') else { continue };
        let k = k.split('.').map(unquote).collect::<Vec<_>>().join(".");
        let full = if table.is_empty() { k } else { format!("{table}.{k}") };
        if full == dotted {
            return Some(i + 1);
        }
    }
    None
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
        // A list: TOML (`["alert", "flow"]`) or names separated by commas (`alert,flow`).
        Some(toml::Value::Array(_)) if raw.trim_start().starts_with('[') => {
            match toml::from_str::<toml::Table>(&format!("v = {raw}")).ok().and_then(|mut t| t.remove("v")) {
                Some(v @ toml::Value::Array(_)) => v,
                _ => return Err(ConfigError(format!("--set {key}: `{raw}` is not a TOML list"))),
            }
        }
        Some(toml::Value::Array(_)) => toml::Value::Array(
            raw.split(',').map(str::trim).filter(|x| !x.is_empty()).map(|x| toml::Value::String(x.into())).collect(),
        ),
        Some(_) => return Err(ConfigError(format!("--set {key}: this key holds a table; set its fields one by one"))),
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

    /// The keys of a TOML table, dotted, leaves only (vars' own names excluded).
    fn leaf_keys(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in t {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                toml::Value::Table(inner) if key != "vars.address" && key != "vars.port" => leaf_keys(inner, &key, out),
                _ => out.push(key),
            }
        }
    }

    /// configs/picket.toml documents every key: each default key is written in it.
    #[test]
    fn default_file_names_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/picket.toml");
        let file: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        let (mut want, mut have) = (Vec::new(), Vec::new());
        leaf_keys(&defaults, "", &mut want);
        leaf_keys(&file, "", &mut have);
        let missing: Vec<&String> = want.iter().filter(|k| !have.contains(k)).collect();
        assert!(missing.is_empty(), "configs/picket.toml does not document {missing:?}");
    }

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
