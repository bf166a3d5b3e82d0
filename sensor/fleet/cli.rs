//! The `picket fleet` subcommands and their options.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;

/// `picket fleet ...`.
#[derive(Subcommand, Debug)]
pub enum FleetCmd {
    /// Forward a local alert queue to JetStream ([output.nats]) until stopped (SIGTERM/SIGINT),
    /// or with --once until everything the queue holds is acknowledged.
    Forward {
        /// Configuration file (TOML) with [sensor], [output] spool_dir and [output.nats].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Override a configuration key by dotted path (repeatable).
        #[arg(long = "set", value_name = "K=V")]
        set: Vec<String>,
        /// Exit once the queue is forwarded (exit status 1 if it could not be within
        /// --timeout seconds).
        #[arg(long)]
        once: bool,
        /// With --once: seconds to wait at most.
        #[arg(long, value_name = "SECS", default_value_t = 300)]
        timeout: u64,
    },
    /// The sensors' last heartbeats as a table (stale ones and refused rulesets marked; exit
    /// status 1 when any is).
    Status {
        /// Configuration file (TOML) with [fleet] and [output.nats] (servers, credentials).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Override a configuration key by dotted path (repeatable).
        #[arg(long = "set", value_name = "K=V")]
        set: Vec<String>,
        /// One JSON array, for tools.
        #[arg(long)]
        json: bool,
        /// A sensor silent for more than SECS is stale (default: three of its heartbeat
        /// intervals, at least 10 s).
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        stale: u64,
    },
    /// Follow the fleet's events as they are stored (one EVE line each on stdout).
    Tail {
        /// Configuration file (TOML) with [output.nats] (servers, credentials, stream).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Override a configuration key by dotted path (repeatable).
        #[arg(long = "set", value_name = "K=V")]
        set: Vec<String>,
        /// Only this sensor's events.
        #[arg(long, value_name = "NAME")]
        sensor: Option<String>,
        /// Only this event type (alert, flow, http, ...).
        #[arg(long = "type", value_name = "TYPE")]
        event_type: Option<String>,
        /// From the first event the stream holds, not only new ones.
        #[arg(long)]
        all: bool,
        /// Stop after N events.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
    /// Queue one distributed replay job per capture file (paths every worker can read).
    Submit {
        /// Capture files and folders.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Configuration file (TOML) with [fleet] and [output.nats] (servers, credentials).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Override a configuration key by dotted path (repeatable).
        #[arg(long = "set", value_name = "K=V")]
        set: Vec<String>,
        /// Follow the jobs' results, then print a summary (files, packets, alerts per sid);
        /// exit status 1 when a job failed or did not finish in time.
        #[arg(long)]
        wait: bool,
        /// With --wait: seconds to wait at most.
        #[arg(long, value_name = "SECS", default_value_t = 86_400)]
        timeout: u64,
    },
    /// Replay queued jobs, one at a time, publishing their events to the fleet stream.
    Work {
        /// Rule files or folders (with `[fleet] rules = true`: the rules until a fleet ruleset
        /// is pushed; each job runs with the version in force when it starts).
        #[arg(long, short = 'r', value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// Configuration file (TOML) with [sensor], [fleet] and [output.nats].
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Override a configuration key by dotted path (repeatable).
        #[arg(long = "set", value_name = "K=V")]
        set: Vec<String>,
        /// Threads per replay (default: the configuration's).
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
        /// Exit when the jobs stream is empty (nothing queued or in progress anywhere).
        #[arg(long)]
        until_empty: bool,
        /// Folder for each job's events until they are published.
        #[arg(long, value_name = "DIR", default_value = "/var/tmp/picket-work")]
        work_dir: PathBuf,
    },
    /// Rulesets for the fleet (sensors with `[fleet] rules = true` follow them).
    Rules {
        /// What to do.
        #[command(subcommand)]
        cmd: FleetRulesCmd,
    },
}

/// `picket fleet rules ...`.
#[derive(Subcommand, Debug)]
pub enum FleetRulesCmd {
    /// Store the ruleset folder DIR (its .rules files, classification.config,
    /// reference.config, threshold.config and dataset files) as the next version in JetStream;
    /// prints the version. Each sensor verifies it before loading it.
    Push {
        /// The ruleset folder.
        dir: PathBuf,
        /// Configuration file (TOML) with [fleet] and [output.nats] (servers, credentials).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Override a configuration key by dotted path (repeatable).
        #[arg(long = "set", value_name = "K=V")]
        set: Vec<String>,
    },
}

/// Loads the configuration for a fleet command.
pub(crate) fn load_config(config: Option<&std::path::Path>, set: &[String]) -> anyhow::Result<Config> {
    Config::load(config, set).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `picket fleet work`'s options.
pub struct WorkOptions {
    /// Rule files and folders.
    pub rules: Vec<PathBuf>,
    /// Threads per replay.
    pub workers: Option<usize>,
    /// Exit once the jobs stream is empty (nothing queued, nothing in progress anywhere).
    pub until_empty: bool,
    /// Where each job's events are written before they are published.
    pub work_dir: PathBuf,
}

/// Runs a fleet subcommand; `work` runs `picket fleet work` (the replay runtime's, given by the
/// caller: the runtime uses this module, not the other way round).
pub fn run(cmd: FleetCmd, work: fn(&Config, &WorkOptions) -> anyhow::Result<ExitCode>) -> anyhow::Result<ExitCode> {
    match cmd {
        FleetCmd::Forward { config, set, once, timeout } => {
            super::forward::forward(&load_config(config.as_deref(), &set)?, once, timeout)
        }
        FleetCmd::Status { config, set, json, stale } => {
            let ok = super::status::status(&load_config(config.as_deref(), &set)?, json, stale)?;
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        FleetCmd::Tail { config, set, sensor, event_type, all, count } => {
            let t = super::status::TailOptions { sensor, event_type, all, count };
            super::status::tail(&load_config(config.as_deref(), &set)?, &t)?;
            Ok(ExitCode::SUCCESS)
        }
        FleetCmd::Submit { inputs, config, set, wait, timeout } => {
            let ok = super::jobs::submit(&load_config(config.as_deref(), &set)?, &inputs, wait, timeout)?;
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        FleetCmd::Work { rules, config, set, workers, until_empty, work_dir } => {
            let o = WorkOptions { rules, workers, until_empty, work_dir };
            work(&load_config(config.as_deref(), &set)?, &o)
        }
        FleetCmd::Rules { cmd: FleetRulesCmd::Push { dir, config, set } } => {
            let cfg = load_config(config.as_deref(), &set)?;
            let m = super::rules::push(&cfg, &dir)?;
            println!(
                "pushed {} as ruleset version {} to bucket {} ({} files, {} bytes, sha256 {})",
                dir.display(),
                m.version,
                cfg.fleet.rules_bucket,
                m.files,
                m.bytes,
                m.sha256
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
