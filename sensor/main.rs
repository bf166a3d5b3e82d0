//! The `picket` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use picket::config::Config;
use picket::runtime::replay::{replay, ReplayOptions};

/// Picket: a network sensor for Suricata rules, with EVE JSON output.
#[derive(Parser, Debug)]
#[command(name = "picket", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Replay pcap/pcapng files or folders through the sensor and write EVE JSON.
    Replay(ReplayArgs),
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCmd {
    /// Load and validate a configuration file; print the effective configuration.
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
    /// Do not print the summary paragraph on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Capture files or folders, read in order (folders: their files in name order).
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
        Cmd::Config { cmd: ConfigCmd::Check { file, set, print } } => {
            let cfg = Config::load(Some(&file), &set)?;
            if print {
                print!("{}", toml::to_string(&cfg)?);
            }
            eprintln!("picket: {}: configuration is valid", file.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn cmd_replay(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(a.config.as_deref(), &a.set)?;
    if a.workers == Some(0) {
        anyhow::bail!("--workers must be at least 1");
    }
    if !a.rules.is_empty() {
        for r in &a.rules {
            if !r.exists() {
                anyhow::bail!("{}: rules path does not exist", r.display());
            }
        }
        eprintln!("picket: warning: detection is not built yet; {} rules path(s) ignored", a.rules.len());
    }
    let summary =
        replay(ReplayOptions { inputs: a.inputs, eve: a.eve, workers: a.workers, config, progress: !a.quiet })?;
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
    Ok(ExitCode::SUCCESS)
}
