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

/// Runs a fleet subcommand.
pub fn run(cmd: FleetCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        FleetCmd::Forward { config, set, once, timeout } => {
            super::forward::forward(&load_config(config.as_deref(), &set)?, once, timeout)
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
