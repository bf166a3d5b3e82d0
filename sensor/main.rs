//! The `picket` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use std::sync::Arc;

use picket::config::Config;
use picket::detect::engine::DetectEngine;
use picket::detect::{load_engine, LoadReport};
use picket::rule::Keywords;
use picket::runtime::replay::{replay, ReplayOptions};

/// Picket: a network sensor for Suricata rules, with EVE JSON output.
#[derive(Parser, Debug)]
#[command(name = "picket", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Debug)]
struct CarveArgs {
    /// The EVE file whose alerts (or flows) name the flows to carve.
    #[arg(long = "alerts", value_name = "EVE")]
    alerts: PathBuf,
    /// The pcap to write (it must not exist: a file is never overwritten).
    #[arg(short = 'o', long = "out", value_name = "OUT")]
    out: PathBuf,
    /// Only the flow with this EVE flow_id (repeatable).
    #[arg(long = "flow-id", value_name = "ID")]
    flow_id: Vec<u64>,
    /// Only the flow with this Community ID (repeatable).
    #[arg(long = "community-id", value_name = "CID")]
    community_id: Vec<String>,
    /// The original capture files or folders (compressed ones too).
    #[arg(required = true, value_name = "PCAP|DIR")]
    inputs: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Replay pcap/pcapng files or folders through the sensor and write EVE JSON.
    Replay(ReplayArgs),
    /// The daemon: capture live traffic (AF_PACKET or pnet) until SIGTERM; SIGHUP reopens the
    /// log files, SIGUSR2 reloads the rules.
    Run(RunArgs),
    /// Send a command to a running daemon's control socket (reload-rules, reopen-log-files,
    /// dump-counters, iface-stat IFACE, ruleset-stats, ruleset-failed-rules, shutdown, ...).
    Ctl(CtlArgs),
    /// Measure throughput on captures held in memory (and with --profile, what each rule costs).
    Bench(BenchArgs),
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Rule commands.
    Rules {
        #[command(subcommand)]
        cmd: RulesCmd,
    },
    /// A self-contained HTML case report (or its indicators as CSV / STIX) from EVE files.
    Report(picket::report::ReportArgs),
    /// Evidence after the fact: the packets of every alerting flow of an EVE file (or of the
    /// flows named by --flow-id / --community-id), cut from the original captures into a pcap.
    Carve(CarveArgs),
    /// Threat intelligence: `intel import FEED -o DIR` turns a MISP event or feed, a STIX 2.1
    /// bundle or a CSV into dataset files and the rules that use them (`--rules DIR`).
    Intel {
        #[command(subcommand)]
        cmd: IntelCmd,
    },
    /// A fleet around NATS JetStream: forward a queue, push rules, distributed replay.
    Fleet {
        #[command(subcommand)]
        cmd: picket::fleet::FleetCmd,
    },
    /// The local alert queue.
    Alerts {
        #[command(subcommand)]
        cmd: AlertsCmd,
    },
}

#[derive(Args, Debug)]
struct CtlArgs {
    /// The control socket (default: daemon.control_socket of the configuration).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Configuration file (for daemon.control_socket).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The command: command-list, dump-counters, iface-list, iface-stat, reload-rules,
    /// reopen-log-files, ruleset-failed-rules, ruleset-stats, shutdown, uptime, version,
    /// dataset-add, dataset-remove, dataset-lookup (NAME TYPE VALUE), dataset-clear (NAME
    /// TYPE), dataset-dump, dataset-list.
    command: String,
    /// The command's arguments (iface-stat: the interface; dataset-*: the set's name, its type
    /// and the value: a string as text, unless --base64; a hash in hex; an address).
    args: Vec<String>,
    /// dataset-*: the string value is already base64 (as Suricata's files and suricatasc).
    #[arg(long)]
    base64: bool,
}

#[derive(Subcommand, Debug)]
enum IntelCmd {
    /// Write dataset files and rules for the indicators of a feed (MISP JSON, STIX 2.1, CSV
    /// of type,value[,event[,info]]): one sid range per source, msg naming the source and
    /// the event, metadata with the event's id and tags.
    Import {
        /// The feed.
        feed: PathBuf,
        /// Folder written (created if needed): SOURCE.rules and SOURCE-eN-KIND.lst files.
        #[arg(short = 'o', long, value_name = "DIR")]
        out: PathBuf,
        /// Name of the source (default: the feed's file name).
        #[arg(long)]
        source: Option<String>,
        /// First sid of the source's range of 10,000 (default: derived from the source name).
        #[arg(long)]
        sid_base: Option<u32>,
        /// Show what would be written and what is skipped; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
enum AlertsCmd {
    /// Print the queue's EVE lines from the consumer's saved position (and save the new one).
    Tail {
        /// Keep waiting for new lines.
        #[arg(long, short)]
        follow: bool,
        /// Start at the oldest line kept, not at the saved position.
        #[arg(long)]
        from_start: bool,
        /// Consumer name: each consumer keeps its own position.
        #[arg(long, default_value = "tail")]
        consumer: String,
        /// Configuration file (for output.spool_dir).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The queue folder (overrides output.spool_dir).
        #[arg(long, value_name = "DIR")]
        spool: Option<PathBuf>,
        /// Only events of this type (`alert`, `flow`, `http`, ...; repeatable). The position
        /// saved still moves past the events left out.
        #[arg(long = "type", value_name = "EVENT_TYPE")]
        types: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum RulesCmd {
    /// Load and compile rules; report what loaded, what was skipped and why, and the timings.
    /// Exit status: 0 every rule loaded; 2 some rules need a feature Picket does not support
    /// yet (skipped), none is broken; 3 some rules are broken (they do not parse or compile);
    /// 1 the check itself failed (a missing path, a bad configuration, no rule at all).
    Check {
        /// Rule file or folder of .rules files (repeatable).
        #[arg(long = "rules", value_name = "PATH", required = true)]
        rules: Vec<PathBuf>,
        /// Configuration file (for variables and the engine).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Override a configuration key by dotted path (repeatable).
        #[arg(long = "set", value_name = "K=V")]
        set: Vec<String>,
        /// Print every rule that was not loaded, with file, line, sid and reason.
        #[arg(long, short)]
        verbose: bool,
        /// Any rule not loaded is a failure: unsupported rules exit 3 as broken ones do.
        #[arg(long)]
        strict: bool,
    },
    /// List every rule keyword: kind, value, protocol, description and documentation link.
    Keywords {
        /// Print a JSON array of objects instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCmd {
    /// Validate a configuration file as `picket run` would (values, rule variables, the capture
    /// filter, addresses, users and groups, folders and their permissions); every problem is
    /// printed with its key and line. Exit status 1 when one would stop the daemon.
    Check {
        /// The TOML file.
        file: PathBuf,
        /// Override a key by dotted path (repeatable), e.g. `stream.midstream=true`.
        #[arg(long = "set", value_name = "K=V")]
        set: Vec<String>,
        /// Print the effective configuration as TOML.
        #[arg(long)]
        print: bool,
    },
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Configuration file (TOML); see configs/live.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Interface to capture on (repeatable; adds to capture.interfaces).
    #[arg(long = "interface", short = 'i', value_name = "IF")]
    interfaces: Vec<String>,
    /// Rule file or folder of .rules files (repeatable; replaces daemon.rules). Reloaded on
    /// SIGUSR2 and by `picket ctl reload-rules`.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Write EVE JSON to this file (appended to) instead of [output.eve] (default
    /// /var/log/picket/eve.json); the local queue is written too when output.spool_dir is set.
    #[arg(long, value_name = "PATH")]
    eve: Option<PathBuf>,
    /// Override a configuration key by dotted path (repeatable).
    #[arg(long = "set", value_name = "K=V")]
    set: Vec<String>,
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// Rule file or folder of .rules files (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Configuration file (TOML); defaults equal Suricata's where the concept is the same.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where to write EVE JSON: a file, or `-` for standard output.
    #[arg(long, value_name = "PATH|-")]
    eve: Option<PathBuf>,
    /// Worker threads (default: runtime.workers, 0 = one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Override a configuration key by dotted path (repeatable).
    #[arg(long = "set", value_name = "K=V")]
    set: Vec<String>,
    /// Do not print the summary paragraph (nor the progress display) on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// One line on stderr per capture file finished (packets, size, compression, damage).
    #[arg(long, short)]
    verbose: bool,
    /// Serve Prometheus metrics (/metrics, /healthz) on this address during the replay.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// With --metrics-listen: keep serving this many seconds after the replay ends.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    metrics_linger: u64,
    /// Read the folders given, then every capture dropped in later, until SIGINT or SIGTERM.
    #[arg(long)]
    watch: bool,
    /// With --watch: seconds between two scans of the folders.
    #[arg(long, value_name = "SECS", default_value_t = 1.0, requires = "watch")]
    watch_poll: f64,
    /// With --watch: delete each capture once read (damaged captures are kept).
    #[arg(long, requires = "watch", conflicts_with = "move_done")]
    delete_done: bool,
    /// With --watch: move each capture once read below this folder (never overwriting).
    #[arg(long, value_name = "DIR", requires = "watch")]
    move_done: Option<PathBuf>,
    /// Capture files or folders, read in order (folders: every file below them, sorted by name
    /// at each level; gzip, zstd, xz and bzip2 captures are decompressed as they are read).
    #[arg(required = true, value_name = "PCAP|DIR")]
    inputs: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Rule file or folder of .rules files (repeatable); none measures the pipeline alone.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Override a configuration key by dotted path (repeatable).
    #[arg(long = "set", value_name = "K=V")]
    set: Vec<String>,
    /// Passes over the captures; the median is reported.
    #[arg(long, value_name = "N", default_value_t = 3)]
    loops: usize,
    /// Worker threads (default: runtime.workers, 0 = one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Per-rule cost table: checks, matches, alerts and verification time per rule, and
    /// totals per keyword kind and per buffer (over all loops).
    #[arg(long)]
    profile: bool,
    /// Rules shown in the text profile (all of them go to --json).
    #[arg(long, value_name = "N", default_value_t = 20)]
    top: usize,
    /// Also write the results (and the whole profile) as JSON to this file.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Capture files or folders, read into memory once.
    #[arg(required = true, value_name = "PCAP|DIR")]
    inputs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("picket: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Replay(a) => cmd_replay(a),
        Cmd::Run(a) => cmd_run(a),
        Cmd::Bench(a) => cmd_bench(a),
        Cmd::Report(a) => cmd_report(&a),
        Cmd::Carve(a) => cmd_carve(a),
        Cmd::Fleet { cmd } => picket::fleet::run(cmd, picket::runtime::fleet_work::work),
        Cmd::Ctl(a) => cmd_ctl(a),
        Cmd::Intel { cmd: IntelCmd::Import { feed, out, source, sid_base, dry_run } } => {
            cmd_intel_import(&feed, &out, source.as_deref(), sid_base, dry_run)
        }
        Cmd::Rules { cmd: RulesCmd::Check { rules, config, set, verbose, strict } } => {
            cmd_rules_check(&rules, config, &set, verbose, strict)
        }
        Cmd::Rules { cmd: RulesCmd::Keywords { json } } => cmd_rules_keywords(json),
        Cmd::Alerts { cmd: AlertsCmd::Tail { follow, from_start, consumer, config, spool, types } } => {
            cmd_alerts_tail(follow, from_start, &consumer, config, spool, &types)
        }
        Cmd::Config { cmd: ConfigCmd::Check { file, set, print } } => cmd_config_check(&file, &set, print),
    }
}

fn cmd_config_check(file: &std::path::Path, set: &[String], print: bool) -> anyhow::Result<ExitCode> {
    use picket::runtime::check::{check_host, Severity};
    let (cfg, origin, problems) = picket::config::Config::load_unchecked(Some(file), set)?;
    let rules: Vec<PathBuf> = cfg.daemon.rules.iter().map(PathBuf::from).collect();
    let mut errors = 0;
    for (key, why) in &problems {
        eprintln!("picket: error: {}{key}: {why}", origin.locate(key));
        errors += 1;
    }
    for f in check_host(&cfg, &cfg.capture.interfaces, &rules) {
        let level = if f.severity == Severity::Error { "error" } else { "warning" };
        eprintln!("picket: {level}: {}", f.render(&origin));
        if f.severity == Severity::Error {
            errors += 1;
        }
    }
    if print {
        print!("{}", toml::to_string(&cfg)?);
    }
    if errors > 0 {
        eprintln!("picket: {}: {errors} problem(s) would stop the daemon", file.display());
        return Ok(ExitCode::from(1));
    }
    eprintln!("picket: {}: configuration is valid", file.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_ctl(a: CtlArgs) -> anyhow::Result<ExitCode> {
    let args = ctl_arguments(&a)?;
    let path = match a.socket {
        Some(p) => p,
        None => {
            let cfg = Config::load(a.config.as_deref(), &[])?;
            if cfg.daemon.control_socket.is_empty() {
                anyhow::bail!("no control socket: give --socket PATH or set daemon.control_socket");
            }
            PathBuf::from(cfg.daemon.control_socket)
        }
    };
    let answer = picket::runtime::live::control_request(&path, &a.command, args).map_err(anyhow::Error::msg)?;
    let ok = answer.get("return").and_then(|r| r.as_str()) == Some("OK");
    let msg = answer.get("message").cloned().unwrap_or(serde_json::Value::Null);
    let text = match &msg {
        serde_json::Value::String(s) => s.clone(),
        m => serde_json::to_string_pretty(m)?,
    };
    if ok {
        println!("{text}");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("picket: {}: {text}", a.command);
        Ok(ExitCode::from(1))
    }
}

fn cmd_intel_import(
    feed: &std::path::Path,
    out: &std::path::Path,
    source: Option<&str>,
    sid_base: Option<u32>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let o = picket::intel::import(feed, out, source, sid_base, dry_run).map_err(anyhow::Error::msg)?;
    let verb = if dry_run { "would write" } else { "wrote" };
    let kinds: Vec<String> = o.indicators.iter().map(|(k, n)| format!("{n} {}", k.name())).collect();
    println!(
        "{} ({}): {} event(s), indicators: {}; {} rule(s), sids {}-{}",
        feed.display(),
        o.format,
        o.events,
        if kinds.is_empty() { "none".to_string() } else { kinds.join(", ") },
        o.rules,
        o.sid_range.0,
        o.sid_range.1
    );
    for (name, body) in &o.files {
        println!("  {verb} {} ({} bytes)", out.join(name).display(), body.len());
    }
    for s in &o.skipped {
        println!("  skipped: {s}");
    }
    if o.rules == 0 {
        eprintln!("picket: no indicator of {} can be matched on the wire", feed.display());
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// The JSON arguments of a `picket ctl` command from its command-line arguments.
fn ctl_arguments(a: &CtlArgs) -> anyhow::Result<Option<serde_json::Value>> {
    use base64::Engine as _;
    let cmd = a.command.as_str();
    Ok(match (cmd, a.args.as_slice()) {
        ("iface-stat", [i]) => Some(serde_json::json!({ "iface": i })),
        ("iface-stat", _) => anyhow::bail!("iface-stat needs an interface: picket ctl iface-stat IFACE"),
        ("dataset-add" | "dataset-remove" | "dataset-lookup", [name, kind, value]) => {
            let value = if kind == "string" && !a.base64 {
                base64::engine::general_purpose::STANDARD.encode(value.as_bytes())
            } else {
                value.clone()
            };
            Some(serde_json::json!({ "setname": name, "settype": kind, "datavalue": value }))
        }
        ("dataset-add" | "dataset-remove" | "dataset-lookup", _) => {
            anyhow::bail!("{cmd} needs the set's name, its type and the value: picket ctl {cmd} NAME TYPE VALUE")
        }
        ("dataset-clear", [name, kind]) => Some(serde_json::json!({ "setname": name, "settype": kind })),
        ("dataset-clear", _) => anyhow::bail!("dataset-clear needs the set's name and type"),
        (_, [x, ..]) => anyhow::bail!("{cmd}: takes no argument (got `{x}`)"),
        _ => None,
    })
}

fn cmd_alerts_tail(
    follow: bool,
    from_start: bool,
    consumer: &str,
    config: Option<PathBuf>,
    spool: Option<PathBuf>,
    types: &[String],
) -> anyhow::Result<ExitCode> {
    use picket::output::spool::{load_offset, save_offset, Reader};
    use std::io::Write;
    if consumer.is_empty() || !consumer.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        anyhow::bail!("--consumer: use letters, digits, '-' and '_' only");
    }
    let dir = match spool {
        Some(d) => d,
        None => {
            let cfg = Config::load(config.as_deref(), &[])?;
            if cfg.output.spool_dir.is_empty() {
                anyhow::bail!("no queue: give --spool DIR or set output.spool_dir in the config");
            }
            PathBuf::from(cfg.output.spool_dir)
        }
    };
    if !dir.is_dir() {
        anyhow::bail!("{}: no such queue folder", dir.display());
    }
    let start = if from_start { None } else { load_offset(&dir, consumer) };
    let mut r = Reader::new(&dir, start);
    let mut buf = Vec::with_capacity(1 << 20);
    let stdout = std::io::stdout();
    loop {
        buf.clear();
        let n = r.read(&mut buf, 1 << 20)?;
        if n > 0 {
            if !types.is_empty() {
                picket::output::spool::keep_event_types(&mut buf, types);
            }
            let mut out = stdout.lock();
            if out.write_all(&buf).and_then(|_| out.flush()).is_err() {
                // reader went away (e.g. `| head`): keep the position of what was printed
                return Ok(ExitCode::SUCCESS);
            }
            save_offset(&dir, consumer, r.pos)?;
            continue;
        }
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `picket rules check` exit statuses.
const RULES_ALL_LOADED: u8 = 0;
const RULES_CHECK_FAILED: u8 = 1;
const RULES_SOME_UNSUPPORTED: u8 = 2;
const RULES_SOME_BROKEN: u8 = 3;

fn cmd_rules_check(
    rules: &[PathBuf],
    config: Option<PathBuf>,
    set: &[String],
    verbose: bool,
    strict: bool,
) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(config.as_deref(), set)?;
    // Nothing to inspect meanwhile: every database is compiled (and cached) before the report.
    config.detect.compile_in_background = false;
    for r in rules {
        if !r.exists() {
            anyhow::bail!("{}: rules path does not exist", r.display());
        }
    }
    let (engine, report) = load_engine(rules, &config.detect, &config.vars);
    for w in &report.cache.warnings {
        eprintln!("picket: warning: {w}");
    }
    let st = &engine.stats;
    let total = st.loaded + st.failed + st.skipped;
    // By reason, not by stage: a rule is broken when it does not parse or compile, unsupported
    // when it is valid Suricata that needs a feature Picket does not have yet.
    let (broken, unsupported) = broken_and_unsupported(&engine);
    println!("rules: {total} read from {} file(s)", report.files);
    println!(
        "  loaded      {:>7} ({:.1}%)",
        st.loaded,
        if total > 0 { st.loaded as f64 * 100.0 / total as f64 } else { 0.0 }
    );
    println!("  broken      {:>7}  (do not parse or compile: fix them)", broken);
    println!("  unsupported {:>7}  (valid, need a feature Picket does not support yet)", unsupported);
    println!(
        "engine: {:?}; {} groups, {} prefilter patterns; {} rules with a fast pattern, {} without, {} IP-only",
        engine.engine(),
        st.groups,
        st.patterns,
        st.with_fast_pattern,
        st.loaded.saturating_sub(st.with_fast_pattern + st.ip_only),
        st.ip_only
    );
    for (p, d, always, dbs, pats) in engine.app.summary() {
        println!(
            "  app {:<7} {}: {} prefilter databases, {} patterns, {} rules without a fast pattern",
            p.name(),
            if d == 0 { "to_server" } else { "to_client" },
            dbs,
            pats,
            always
        );
    }
    println!(
        "time: parse {:.2} s, compile {:.2} s, total {:.2} s",
        report.parse_secs,
        report.compile_secs,
        report.parse_secs + report.compile_secs
    );
    let c = &report.cache;
    match &c.dir {
        Some(d) => println!(
            "prefilter cache: {}: {} hit(s), {} compiled, {} stored, {} bad file(s) replaced, {} write error(s)",
            d.display(),
            c.hits,
            c.misses,
            c.stored,
            c.rejected,
            c.write_errors
        ),
        None => println!("prefilter cache: off"),
    }
    let mut by: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for e in &engine.errors {
        *by.entry(e.kind.label()).or_default() += 1;
    }
    if !by.is_empty() {
        let mut v: Vec<(String, usize)> = by.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        println!("not loaded, by reason:");
        for (label, n) in v {
            println!("  {n:>7}  {label}");
        }
    }
    if verbose {
        for e in &engine.errors {
            println!("{e}");
        }
    }
    for t in &report.threshold {
        println!("threshold file: {t}");
    }
    let code = if st.loaded == 0 {
        RULES_CHECK_FAILED
    } else if broken > 0 || (strict && unsupported > 0) {
        RULES_SOME_BROKEN
    } else if unsupported > 0 {
        RULES_SOME_UNSUPPORTED
    } else {
        RULES_ALL_LOADED
    };
    let verdict = match code {
        RULES_ALL_LOADED => "every rule loaded".to_string(),
        RULES_SOME_UNSUPPORTED => format!("{unsupported} rule(s) unsupported, none broken"),
        RULES_SOME_BROKEN if broken == 0 => format!("{unsupported} rule(s) unsupported, and --strict"),
        RULES_SOME_BROKEN => format!("{broken} rule(s) broken, {unsupported} unsupported"),
        _ => "no rule could be loaded".to_string(),
    };
    println!("result: {verdict} (exit status {code})");
    Ok(ExitCode::from(code))
}

/// `picket rules keywords`: the keyword table rules are read with, sorted by name (as
/// Suricata's `--list-keywords=all`).
fn cmd_rules_keywords(json: bool) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    // TRANSITION: the app layer's rows until `picket::app::keywords()` provides them.
    let keywords = Keywords::new(picket::app::keywords());
    let rows = keywords.sorted();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|k| {
                serde_json::json!({
                    "name": k.name,
                    "aliases": k.aliases,
                    "kind": k.kind.name(),
                    "value": k.arg.name(),
                    "protocol": k.proto,
                    "description": k.desc,
                    "documentation": k.doc,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &v).map_err(std::io::Error::from).and_then(|()| writeln!(out))
    } else {
        rows.iter()
            .try_for_each(|k| {
                let mut head = format!("{} ({}, value {}", k.name, k.kind.name(), k.arg.name());
                if let Some(p) = k.proto {
                    head.push_str(&format!(", protocol {p}"));
                }
                if !k.aliases.is_empty() {
                    head.push_str(&format!(", also {}", k.aliases.join(", ")));
                }
                writeln!(out, "{head})\n    {}\n    {}", k.desc, k.doc)
            })
            .and_then(|()| writeln!(out, "{} keywords", rows.len()))
    };
    match written.and_then(|()| out.flush()) {
        // `picket rules keywords | head` is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Loads rules; an error when a path is missing or nothing at all could be loaded.
fn load_rules_or_fail(paths: &[PathBuf], config: &Config) -> anyhow::Result<(DetectEngine, LoadReport)> {
    for r in paths {
        if !r.exists() {
            anyhow::bail!("{}: rules path does not exist", r.display());
        }
    }
    let (engine, report) = load_engine(paths, &config.detect, &config.vars);
    for w in report.cache.warnings.iter().chain(&report.threshold) {
        eprintln!("picket: warning: {w}");
    }
    // One line per unusable rule would drown a terminal with ET Open: show the first few and
    // a summary by reason; `picket rules check` lists them all.
    let mut shown = 0;
    for e in &engine.errors {
        if !matches!(e.kind, picket::rule::ErrorKind::Unsupported(_)) && shown < 20 {
            eprintln!("picket: warning: rule skipped: {e}");
            shown += 1;
        }
    }
    if engine.stats.loaded == 0 && !engine.errors.is_empty() {
        // As Suricata: the capture is still processed (flows, stats), with nothing to match.
        eprintln!(
            "picket: warning: no rule could be loaded ({} not usable; see `picket rules check`)",
            engine.errors.len()
        );
    }
    Ok((engine, report))
}

fn cmd_run(a: RunArgs) -> anyhow::Result<ExitCode> {
    use picket::runtime::check::{check_host, Severity};
    use picket::runtime::live::{self, LiveOptions, Log};
    let (config, origin) = Config::load_with_origin(a.config.as_deref(), &a.set)?;
    let mut interfaces = config.capture.interfaces.clone();
    for i in a.interfaces {
        if !interfaces.contains(&i) {
            interfaces.push(i);
        }
    }
    let rules: Vec<PathBuf> =
        if a.rules.is_empty() { config.daemon.rules.iter().map(PathBuf::from).collect() } else { a.rules };
    // What would fail later (a user that does not exist, a folder the user cannot write) stops
    // the start now, every problem named with its key and line.
    let findings = check_host(&config, &interfaces, &rules);
    let errors: Vec<String> =
        findings.iter().filter(|f| f.severity == Severity::Error).map(|f| f.render(&origin)).collect();
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("picket: error: {e}");
        }
        anyhow::bail!("{} configuration problem(s): not starting (picket config check lists them)", errors.len());
    }
    let log = Arc::new(
        Log::open(&config.daemon.log_file)
            .map_err(|e| anyhow::anyhow!("daemon.log_file {}: {e}", config.daemon.log_file))?,
    );
    for f in findings.iter().filter(|f| f.severity == Severity::Warning) {
        log.warn(&f.render(&origin));
    }
    match live::run(LiveOptions { config, interfaces, rules, eve: a.eve }, log.clone()) {
        Ok(s) => {
            if let Some(e) = &s.output_error {
                log.error(&format!("writing EVE output failed, events were lost: {e}"));
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            log.error(&format!("{e:#}"));
            Ok(ExitCode::from(1))
        }
    }
}

fn cmd_replay(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(a.config.as_deref(), &a.set)?;
    if a.workers == Some(0) {
        anyhow::bail!("--workers must be at least 1");
    }
    let detect = if a.rules.is_empty() {
        None
    } else {
        let (engine, report) = load_rules_or_fail(&a.rules, &config)?;
        if !a.quiet {
            eprintln!("picket: {}", report.line(&engine, report.parse_secs + report.compile_secs));
        }
        Some(engine.for_process())
    };
    let workers = a.workers.unwrap_or_else(|| config.worker_count());
    let hub = Arc::new(
        picket::metrics::prom::MetricsHub::new(workers, detect.as_ref().map(|d| d.stats.loaded as u64).unwrap_or(0))
            .with_rule_errors(
                detect.as_ref().map(|d| broken_and_unsupported(d).0).unwrap_or(0),
                detect.as_ref().map(|d| broken_and_unsupported(d).1).unwrap_or(0),
            )
            .with_gauges(Box::new(picket::detect::gauges)),
    );
    let server = match &a.metrics_listen {
        Some(addr) => {
            let srv = picket::metrics::endpoint::serve(addr, hub.clone())?;
            eprintln!("picket: metrics on http://{}/metrics", srv.addr);
            Some(srv)
        }
        None => None,
    };
    let watch = match a.watch {
        true => Some(picket::capture::watch::WatchOptions::from_cli(a.watch_poll, a.delete_done, a.move_done)?),
        false => None,
    };
    // The fleet heartbeat reads the hub: it is fed when either of them runs.
    let heartbeat = picket::fleet::heartbeat::Heartbeat::start(&config, "replay", hub.clone(), None)?;
    let fed = server.is_some() || heartbeat.is_some();
    let summary = replay(ReplayOptions {
        watch,
        inputs: a.inputs,
        eve: a.eve,
        workers: Some(workers),
        config,
        progress: !a.quiet,
        verbose: a.verbose,
        detect,
        metrics: fed.then(|| hub.clone()),
    })?;
    drop(heartbeat);
    // The databases still compiling are finished (and cached) for the next run.
    for (warn, line) in picket::detect::finish_background_compiles() {
        if warn || !a.quiet {
            eprintln!("picket: {line}");
        }
    }
    if server.is_some() && a.metrics_linger > 0 {
        hub.set_health(Some("replay finished".into()));
        std::thread::sleep(std::time::Duration::from_secs(a.metrics_linger));
    }
    drop(server);
    for w in &summary.warnings {
        eprintln!("picket: warning: {w}");
    }
    if let Some(e) = &summary.output_error {
        eprintln!("picket: error: writing EVE output failed, events were lost: {e}");
    }
    if !a.quiet {
        eprintln!("{}", summary.paragraph());
    }
    if summary.files_read == 0 {
        eprintln!("picket: error: no capture could be read");
        return Ok(ExitCode::from(1));
    }
    if summary.output_error.is_some() {
        return Ok(ExitCode::from(1));
    }
    if summary.files_damaged > 0 {
        // Done, but some capture could not be read in full: scripts must be able to tell.
        eprintln!(
            "picket: error: {} capture file(s) unreadable or damaged (see the warnings above); exit status 2",
            summary.files_damaged
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_bench(a: BenchArgs) -> anyhow::Result<ExitCode> {
    use picket::runtime::bench::{median, Bench, BenchOptions};
    use std::io::Write;
    let mut config = Config::load(a.config.as_deref(), &a.set)?;
    // Measured with the engine a sensor runs with: every prefilter database compiled.
    config.detect.compile_in_background = false;
    if a.workers == Some(0) {
        anyhow::bail!("--workers must be at least 1");
    }
    if a.loops == 0 {
        anyhow::bail!("--loops must be at least 1");
    }
    let mut out = std::io::stdout().lock();
    let (detect, load) = if a.rules.is_empty() {
        (None, None)
    } else {
        let t0 = std::time::Instant::now();
        let (engine, report) = load_rules_or_fail(&a.rules, &config)?;
        let total = t0.elapsed().as_secs_f64();
        let _ = writeln!(out, "{}", report.line(&engine, total));
        (Some(Arc::new(engine)), Some((report, total)))
    };
    let workers = a.workers.unwrap_or_else(|| config.worker_count());
    let mut bench =
        Bench::new(BenchOptions { inputs: a.inputs.clone(), config, workers, profile: a.profile }, detect.clone());
    for w in &bench.warnings {
        eprintln!("picket: warning: {w}");
    }
    if bench.files == 0 || bench.frames() == 0 {
        anyhow::bail!("no capture could be read");
    }
    let _ = writeln!(
        out,
        "input: {} file(s), {} frames, {:.1} MB held in memory (read in {:.2} s); {} worker(s), {} loop(s)",
        bench.files,
        bench.frames(),
        bench.bytes() as f64 / 1e6,
        bench.read_secs,
        workers,
        a.loops
    );
    let mut loops = Vec::with_capacity(a.loops);
    for i in 0..a.loops {
        let r = bench.run_once()?;
        let _ = writeln!(out, "loop {}/{}: {}", i + 1, a.loops, r.line());
        let _ = out.flush();
        loops.push(r);
    }
    let med = median(&loops).unwrap_or_default();
    let _ = writeln!(out, "median: {}", med.line());
    if loops.iter().any(|l| l.alerts != med.alerts) {
        // Thresholds and detection filters not tracked per flow share one table across
        // workers: with several workers, which racing packet meets a window first varies.
        let shared = detect.as_ref().map_or(0, |e| {
            e.rules
                .iter()
                .filter(|r| !r.swapped)
                .filter(|r| {
                    [r.rule.threshold.as_ref(), r.rule.detection_filter.as_ref()]
                        .into_iter()
                        .flatten()
                        .any(|t| t.track != picket::rule::ast::Track::ByFlow)
                })
                .count()
        });
        if workers > 1 && shared > 0 {
            let _ = writeln!(
                out,
                "note: the loops gave different alert counts: {shared} rules have thresholds or detection filters \
                 shared by the {workers} workers, and which worker's packet meets a window first varies"
            );
        } else {
            let _ = writeln!(out, "warning: the loops gave different alert counts (a bug: please report it)");
        }
    }
    let report = bench.report();
    if let Some(r) = &report {
        if a.profile {
            let _ = writeln!(
                out,
                "profile of {} loop(s) x {} worker(s) (with --profile the times above include the profiler's clock reads):",
                a.loops, workers
            );
            let _ = write!(out, "{}", r.text(a.top));
        }
    }
    if let Some(path) = &a.json {
        let load_json = load.as_ref().map(|(rep, total)| {
            let st = detect.as_ref().map(|d| d.stats.clone()).unwrap_or_default();
            serde_json::json!({
                "files": rep.files,
                "loaded": st.loaded,
                "failed": st.failed,
                "skipped": st.skipped,
                "parse_secs": rep.parse_secs,
                "compile_secs": rep.compile_secs,
                "total_secs": total,
                "cache": rep.cache.json(),
            })
        });
        let doc = serde_json::json!({
            "workers": workers,
            "input": {
                "files": bench.files,
                "frames": bench.frames(),
                "bytes": bench.bytes(),
                "read_secs": bench.read_secs,
            },
            "rules": load_json,
            "loops": loops.iter().map(|l| l.json()).collect::<Vec<_>>(),
            "median": med.json(),
            "profile": report.as_ref().filter(|_| a.profile).map(|r| r.json()),
        });
        let text = serde_json::to_string_pretty(&doc)?;
        std::fs::write(path, text + "\n").map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_carve(a: CarveArgs) -> anyhow::Result<ExitCode> {
    let opts = picket::evidence::carve::CarveOptions {
        eve: a.alerts,
        inputs: a.inputs,
        out: a.out,
        flow_ids: a.flow_id,
        community_ids: a.community_id,
    };
    let s = picket::evidence::carve::carve(&opts)?;
    for w in &s.warnings {
        eprintln!("picket: warning: {w}");
    }
    eprintln!("{}", s.line(&opts.out));
    Ok(ExitCode::from(if s.flows_found < s.flows || !s.warnings.is_empty() { 2 } else { 0 }))
}

fn cmd_report(a: &picket::report::ReportArgs) -> anyhow::Result<ExitCode> {
    let o = picket::report::run(a)?;
    for e in &o.read_errors {
        eprintln!("picket: warning: {e}");
    }
    let mut line = format!(
        "picket: report: {} file(s), {:.1} MB, {} records ({} alerts); {} malformed and {} over-long line(s) skipped",
        o.files,
        o.bytes as f64 / 1e6,
        o.records,
        o.alerts,
        o.malformed,
        o.too_long
    );
    if a.indicators.is_some() {
        line += &format!("; {} indicator(s) written", o.indicators_written);
        for (why, n) in &o.indicators_left_out {
            line += &format!(", {n} left out ({why})");
        }
    }
    if o.tables_capped > 0 {
        line += &format!("; {} table(s) reached --max-entries (see the report)", o.tables_capped);
    }
    eprintln!("{line}");
    Ok(if o.read_errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// Rules not loaded, by reason: (broken, unsupported).
fn broken_and_unsupported(e: &DetectEngine) -> (u64, u64) {
    let unsupported = e.errors.iter().filter(|r| matches!(r.kind, picket::rule::ErrorKind::Unsupported(_))).count();
    ((e.errors.len() - unsupported) as u64, unsupported as u64)
}
