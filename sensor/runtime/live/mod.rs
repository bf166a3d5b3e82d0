//! `picket run`: live capture, the daemon.
//!
//! ```text
//!  afpacket:  kernel fanout ─> ring w0 ─> [capture+decode+Worker 0] ─┐
//!                          └─> ring w1 ─> [capture+decode+Worker 1] ─┤ try_send  ┌─> EVE file
//!  pnet:      socket ─> reader thread (flow shard) ══> Workers (decode) ┴──────> output ─> spool
//!  main thread: signals (TERM/INT drain, HUP reload), health checks, periodic stats
//! ```
//! With AF_PACKET the kernel shards flows over one socket per worker, so each worker thread
//! reads its own ring, decodes and inspects: no reader thread, no hand-off. With pnet one
//! reader thread per interface shards by flow and dispatches exactly as replay does
//! (`Dispatch`), except that a full worker queue drops the batch (counted) instead of waiting.
//!
//! Live rules: nothing waits on a slower stage: workers hand events to the output thread with
//! `try_send` and count what a full queue refuses (`output.queue_full_dropped_events`).
//! Timeouts run on a wall-clock tick (once a second, stamped like ring timestamps), so idle
//! flows expire without traffic. A rule reload builds a new engine on the main thread and
//! publishes it; each worker switches at its next batch boundary (new scratch, flow detection
//! state reset on the flow's next packet), the old engine is freed when the last worker let
//! go of it, and capture never stops. SIGTERM/SIGINT stop reading, drain what the kernel
//! already holds, end every flow and write every event before exiting; a second SIGINT exits
//! at once.
//!
//! Files: `threads.rs` (opening the capture, the capture/worker/output threads), `supervise.rs`
//! (the main thread's loop: signals, link state, silent workers, periodic stats), `reload.rs`
//! (the engine slot and rule reloads), `daemon.rs` (pidfile, user and group), `log.rs`.

mod daemon;
mod log;
mod reload;
mod supervise;
mod threads;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::bounded;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

pub use daemon::{resolve_ids, rss_bytes};
pub use log::{wall_now, Log};
pub use reload::EngineSlot;

use crate::config::Config;
use crate::detect::engine::DetectEngine;
use crate::metrics::prom::MetricsHub;
use crate::metrics::{Counters, C};
use crate::output::{eve, EveWriter, Sink};
use threads::{OutMsg, Shared, Threads};

/// What `picket run` needs.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Configuration (with `--set` applied).
    pub config: Config,
    /// Interfaces (config and `--interface`).
    pub interfaces: Vec<String>,
    /// Rule paths, loaded at start and on every SIGHUP.
    pub rules: Vec<PathBuf>,
    /// Plain EVE file, besides the spool when configured.
    pub eve: Option<PathBuf>,
}

/// What a run did, for the exit summary.
#[derive(Debug)]
pub struct LiveSummary {
    /// All counters, merged.
    pub counters: Counters,
    /// First output error.
    pub output_error: Option<String>,
}

/// Runs the daemon until SIGTERM/SIGINT.
pub fn run(opts: LiveOptions, log: Arc<Log>) -> anyhow::Result<LiveSummary> {
    let cfg = &opts.config;
    if opts.interfaces.is_empty() {
        anyhow::bail!("no interface: give --interface IF or set capture.interfaces");
    }
    let nworkers = cfg.worker_count().clamp(1, 1024);
    let engine = load_at_start(&opts, &log)?;

    // 1. Capture sockets, while privileged.
    let capture = threads::open_capture(&opts.interfaces, cfg, nworkers)?;
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let _pidfile = if cfg.daemon.pidfile.is_empty() {
        None
    } else {
        Some(daemon::Pidfile::create(Path::new(&cfg.daemon.pidfile))?)
    };

    // 2. Privileges: no thread runs yet, so the capability change covers the whole process.
    daemon::drop_privileges(cfg, &log)?;

    // 3. Output (opened as the run user), metrics, threads.
    let writer = open_output(&opts)?;
    let (rl, rf, rs) = engine.as_ref().map(|e| (e.stats.loaded, e.stats.failed, e.stats.skipped)).unwrap_or((0, 0, 0));
    let hub = Arc::new(MetricsHub::new(nworkers, rl as u64).with_rule_errors(rf as u64, rs as u64));
    let _server = if cfg.metrics.listen.is_empty() {
        None
    } else {
        let s = crate::metrics::endpoint::serve(&cfg.metrics.listen, hub.clone())
            .map_err(|e| anyhow::anyhow!("metrics.listen {}: {e}", cfg.metrics.listen))?;
        log.info(&format!("metrics on http://{}/metrics", s.addr));
        Some(s)
    };
    let (out_tx, out_rx) = bounded::<OutMsg>(1024);
    let out_hub = hub.clone();
    let output = std::thread::Builder::new()
        .name("picket-output".into())
        .spawn(move || threads::output_thread(writer, out_rx, out_hub))?;
    let sh = Arc::new(Shared {
        stop: AtomicBool::new(false),
        slot: EngineSlot::new(engine),
        hub: hub.clone(),
        pkts: (0..nworkers).map(|_| AtomicU64::new(0)).collect(),
        acks: (0..nworkers).map(|_| AtomicU64::new(1)).collect(),
        log: log.clone(),
    });
    let threads = threads::start(capture, cfg, nworkers, &sh, &out_tx)?;
    log.info(&format!(
        "capturing on {} with {}, {nworkers} worker(s){}",
        opts.interfaces.join(", "),
        threads.method,
        if cfg.capture.bpf_filter.is_empty() {
            String::new()
        } else {
            format!(", filter `{}`", cfg.capture.bpf_filter)
        }
    ));

    // 4. The main thread: signals, health, reloads, periodic stats.
    let start = Instant::now();
    let mut sup = supervise::Supervisor::new(&opts, &sh, &out_tx, start);
    sup.run(&mut signals);
    let ctl = sup.ctl;

    // 5. Drain and flush. A second SIGINT/SIGTERM exits at once.
    sh.stop.store(true, Ordering::Relaxed);
    hub.set_health(Some("stopping".into()));
    exit_on_second_signal(signals, log.clone());
    let mut total = join_threads(threads, ctl)?;
    if cfg.output.stats_event {
        let mut line = Vec::with_capacity(8192);
        let mut st = total.clone();
        st.set(C::FlowActive, 0);
        eve::stats_event(&mut line, wall_now(), start.elapsed().as_secs(), &st.to_stats_json());
        let _ = out_tx.send((line, 1));
    }
    drop(out_tx);
    let writer = match output.join() {
        Ok(w) => w,
        Err(_) => anyhow::bail!("the output thread panicked (a bug: please report it)"),
    };
    total.merge(&writer.counters);
    log_exit_summary(&log, &total, start);
    Ok(LiveSummary { counters: total, output_error: writer.first_error })
}

/// Loads the rules at start (an error when none could be loaded) and logs the outcome.
fn load_at_start(opts: &LiveOptions, log: &Log) -> anyhow::Result<Option<Arc<DetectEngine>>> {
    let t_load = Instant::now();
    let engine = reload::load_rules(&opts.rules, &opts.config)?.map(Arc::new);
    if let Some(e) = &engine {
        log.info(&format!(
            "rules: {} loaded, {} failed, {} skipped (unsupported) in {:.2} s",
            e.stats.loaded,
            e.stats.failed,
            e.stats.skipped,
            t_load.elapsed().as_secs_f64()
        ));
    }
    Ok(engine)
}

/// The EVE writer: the `--eve` file and the local queue, opened as the run user.
fn open_output(opts: &LiveOptions) -> anyhow::Result<EveWriter> {
    let cfg = &opts.config;
    let sink = match &opts.eve {
        Some(p) => Sink::open(p).map_err(|e| anyhow::anyhow!("{}: cannot open for writing: {e}", p.display()))?,
        None => Sink::Null,
    };
    let mut writer = EveWriter::new(sink);
    if !cfg.output.spool_dir.is_empty() {
        let mut sc = Counters::new();
        writer.spool = Some(
            crate::output::spool::Spool::open(&cfg.output, &mut sc)
                .map_err(|e| anyhow::anyhow!("{}: cannot open the alert queue: {e}", cfg.output.spool_dir))?,
        );
        writer.counters.merge(&sc);
    }
    Ok(writer)
}

/// While draining, a second SIGINT/SIGTERM exits at once.
fn exit_on_second_signal(mut signals: Signals, log: Arc<Log>) {
    let _ = std::thread::Builder::new().name("picket-sig".into()).spawn(move || {
        for s in signals.forever() {
            if s == SIGINT || s == SIGTERM {
                log.warn("second signal: exiting without draining");
                std::process::exit(130);
            }
        }
    });
}

/// Waits for the capture and worker threads to drain; their counters merged with `ctl`.
fn join_threads(threads: Threads, ctl: Counters) -> anyhow::Result<Counters> {
    let mut total = ctl;
    for h in threads.readers {
        match h.join() {
            Ok(c) => total.merge(&c),
            Err(_) => anyhow::bail!("a capture thread panicked (a bug: please report it)"),
        }
    }
    for h in threads.workers {
        match h.join() {
            Ok(c) => total.merge(&c),
            Err(_) => anyhow::bail!("a worker thread panicked (a bug: please report it)"),
        }
    }
    Ok(total)
}

fn log_exit_summary(log: &Log, total: &Counters, start: Instant) {
    log.info(&format!(
        "stopped after {:.1} s: {} packets ({} seen by the kernel, {} dropped by it), {} dropped on full worker queues, {} alerts, {} events written, {} events dropped (output queue full)",
        start.elapsed().as_secs_f64(),
        total.get(C::CapturePackets),
        total.get(C::CaptureKernelPackets),
        total.get(C::CaptureKernelDrops),
        total.get(C::PipelineQueueDrops),
        total.get(C::DetectAlert),
        total.get(C::OutputEvents),
        total.get(C::OutputQueueDrops),
    ));
}
