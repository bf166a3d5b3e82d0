//! `picket run`: live capture, the daemon.
//!
//! ```text
//!  afpacket:  kernel fanout ─> ring w0 ─> [capture+decode+Worker 0] ─┐
//!                          └─> ring w1 ─> [capture+decode+Worker 1] ─┤ try_send  ┌─> EVE file
//!  pnet:      socket ─> reader thread (flow shard) ══> Workers (decode) ┴──────> output ─> spool
//!  main thread: signals (TERM/INT drain, HUP reopen files, USR2 reload), control socket,
//!               health checks (links, loss, silent workers), watchdog, periodic stats
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
//! Start-up order: folders created and given to `daemon.user` (so the cache, spool, logs and
//! pidfile stay writable after the drop), rules loaded (every rule not loaded is logged),
//! capture sockets opened, pidfile written, control socket bound, privileges dropped, folders
//! checked writable, outputs opened as the run user, threads started, then `READY=1` to
//! systemd.
//!
//! Files: `threads.rs` (opening the capture, the capture/worker/output threads), `supervise.rs`
//! (the main thread's loop: signals, commands, link state, loss alarm, silent workers,
//! watchdog, periodic stats), `reload.rs` (the engine slot, rule loads and reloads, the report
//! of rules not loaded), `control.rs` (the control socket), `notify.rs` (systemd's
//! notifications), `daemon.rs` (folders, pidfile, user and group), `log.rs`.

mod control;
mod daemon;
mod log;
mod notify;
mod reload;
mod supervise;
mod threads;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR2};
use signal_hook::iterator::Signals;

pub use control::{request as control_request, COMMANDS as CONTROL_COMMANDS};
pub use daemon::{resolve_ids, rss_bytes};
pub use log::{wall_now, Log};
pub use notify::Notifier;
pub use reload::EngineSlot;

use crate::config::Config;
use crate::detect::engine::DetectEngine;
use crate::evidence::writer::PcapLogWriter;
use crate::fleet::heartbeat::{Heartbeat, RulesState};
use crate::fleet::rules::{Arrival, RulesWatcher};
use crate::metrics::prom::MetricsHub;
use crate::metrics::{Counters, C};
use crate::output::{EveWriter, Sink};
use threads::{OutMsg, Shared, Threads};

/// What `picket run` needs.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// Configuration (with `--set` applied).
    pub config: Config,
    /// Interfaces (config and `--interface`).
    pub interfaces: Vec<String>,
    /// Rule paths, loaded at start and on every reload.
    pub rules: Vec<PathBuf>,
    /// EVE file that replaces `[output.eve]` (`--eve`).
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

/// The user and group the run drops to, when `daemon.user` is set.
fn run_owner(cfg: &Config) -> anyhow::Result<Option<(u32, u32)>> {
    if cfg.daemon.user.is_empty() {
        return Ok(None);
    }
    Ok(Some(resolve_ids(&cfg.daemon.user, &cfg.daemon.group).map_err(anyhow::Error::msg)?))
}

/// Runs the daemon until SIGTERM/SIGINT or `picket ctl shutdown`.
pub fn run(opts: LiveOptions, log: Arc<Log>) -> anyhow::Result<LiveSummary> {
    let cfg = &opts.config;
    if opts.interfaces.is_empty() {
        anyhow::bail!("no interface: give --interface IF or set capture.interfaces");
    }
    let nworkers = cfg.worker_count().clamp(1, 1024);
    let notify = Notifier::from_env();

    // 1. Folders (as root: created and given to the run user), then the rules.
    let owner = run_owner(cfg)?;
    let folders = daemon::run_folders(cfg, opts.eve.as_deref());
    for line in daemon::prepare_folders(&folders, owner).map_err(anyhow::Error::msg)? {
        log.info(&line);
    }
    if let (Some((uid, gid)), Some(p)) = (owner, log.path()) {
        std::os::unix::fs::chown(p, Some(uid), Some(gid))
            .map_err(|e| anyhow::anyhow!("daemon.log_file {}: cannot give it to uid {uid}: {e}", p.display()))?;
    }
    let engine = load_at_start(&opts, &log)?;

    // 2. Capture sockets, pidfile and control socket, while privileged.
    let capture = threads::open_capture(&opts.interfaces, cfg, nworkers)?;
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGUSR2])?;
    let _pidfile = if cfg.daemon.pidfile.is_empty() {
        None
    } else {
        let (p, note) = daemon::Pidfile::create(Path::new(&cfg.daemon.pidfile))?;
        if let Some(n) = note {
            log.warn(&n);
        }
        Some(p)
    };
    let control_sock = bind_control(cfg, owner, &log);

    // 3. Privileges: no thread runs yet, so the capability change covers the whole process.
    daemon::drop_privileges(cfg, &log)?;
    let who = if cfg.daemon.user.is_empty() { "this user".to_string() } else { cfg.daemon.user.clone() };
    for w in daemon::check_writable(&folders, &who).map_err(anyhow::Error::msg)? {
        log.warn(&w);
    }

    // 4. Output (opened as the run user), metrics, threads.
    let (writer, pcap_log) = open_output(&opts, &log)?;
    let hub = Arc::new(MetricsHub::new(nworkers, 0).with_gauges(Box::new(crate::detect::gauges)));
    hub.set_rules_info(reload::rules_info(engine.as_deref()));
    if engine.is_some() {
        hub.record_reload(true);
    }
    let _server = if cfg.metrics.listen.is_empty() {
        None
    } else {
        let s = crate::metrics::endpoint::serve(&cfg.metrics.listen, hub.clone())
            .map_err(|e| anyhow::anyhow!("metrics.listen {}: {e}", cfg.metrics.listen))?;
        log.info(&format!("metrics on http://{}/metrics", s.addr));
        Some(s)
    };
    let sh = Arc::new(Shared {
        stop: AtomicBool::new(false),
        slot: EngineSlot::new(engine),
        hub: hub.clone(),
        pkts: (0..nworkers).map(|_| AtomicU64::new(0)).collect(),
        acks: (0..nworkers).map(|_| AtomicU64::new(1)).collect(),
        beats: (0..=nworkers).map(|_| AtomicU64::new(0)).collect(),
        epoch: Instant::now(),
        ifaces: opts.interfaces.clone(),
        log: log.clone(),
        fleet_rules: std::sync::Mutex::new(serde_json::Value::Null),
    });
    let (out_tx, out_rx) = bounded::<OutMsg>(1024);
    let sh_out = sh.clone();
    let output = std::thread::Builder::new()
        .name("picket-output".into())
        .spawn(move || threads::output_thread(writer, pcap_log, out_rx, sh_out))?;
    let forwarder = start_forwarder(cfg, &hub, &log)?;
    let threads = threads::start(capture, cfg, nworkers, &sh, &out_tx)?;
    let (req_tx, req_rx) = bounded::<control::Request>(16);
    let _control = control_sock.map(|sock| control::serve(sock, sh.clone(), req_tx)).transpose()?;
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

    // 5. The main thread: signals, commands, health, reloads, watchdog, periodic stats.
    let start = Instant::now();
    let mut sup = supervise::Supervisor::new(&opts, &sh, &out_tx, &notify, start);
    sup.fleet = start_fleet_rules(cfg, &log);
    let _heartbeat = start_heartbeat(cfg, &hub, &sh, &log);
    notify.notify(&format!("READY=1\nMAINPID={}\nSTATUS={}", std::process::id(), sup.status()));
    let why = sup.run(&mut signals, &req_rx);
    let ctl = sup.ctl;

    // 6. Drain and flush. A second SIGINT/SIGTERM exits at once.
    notify.notify("STOPPING=1\nSTATUS=draining the capture and writing every event");
    sh.stop.store(true, Ordering::Relaxed);
    hub.set_problem("stopping", Some(format!("stopping ({why:?})")));
    exit_on_second_signal(signals, log.clone());
    let mut total = join_threads(threads, ctl)?;
    if cfg.output.writes_stats() {
        let mut st = total.clone();
        st.set(C::FlowActive, 0);
        st.set(C::TcpActiveSessions, 0);
        let _ = out_tx.send(OutMsg::Lines(supervise::stats_line(&sh, &st, start), 1, None));
    }
    drop(out_tx);
    let writer = match output.join() {
        Ok(w) => w,
        Err(_) => anyhow::bail!("the output thread panicked (a bug: please report it)"),
    };
    total.merge(&writer.counters);
    save_datasets(&log);
    finish_forwarder(forwarder, cfg, &mut total, &log);
    log_exit_summary(&log, &total, start);
    Ok(LiveSummary { counters: total, output_error: writer.first_error })
}

/// Loads the rules at start (an error when none could be loaded) and logs the outcome; a run
/// without rules is allowed, and said loudly.
fn load_at_start(opts: &LiveOptions, log: &Log) -> anyhow::Result<Option<Arc<DetectEngine>>> {
    let t_load = Instant::now();
    // The prefilter databases left to compile wait for the privilege drop (its threads would
    // keep their capabilities): `daemon::drop_privileges` releases them.
    crate::detect::matcher::background::hold(true);
    let engine = reload::load_rules(&opts.rules, &opts.config, log)?.map(Arc::new);
    match &engine {
        Some(e) => log.info(&format!(
            "rules: {} loaded, {} failed, {} skipped (unsupported) in {:.2} s",
            e.stats.loaded,
            e.stats.failed,
            e.stats.skipped,
            t_load.elapsed().as_secs_f64()
        )),
        None => log.error(
            "NO RULES: neither daemon.rules nor --rules names a rule file: the sensor records flows and protocols but raises no alert",
        ),
    }
    Ok(engine)
}

/// Binds the control socket (while privileged, owned by the run user and the control group);
/// a failure is logged and the run goes on without it.
fn bind_control(cfg: &Config, owner: Option<(u32, u32)>, log: &Log) -> Option<control::ControlSocket> {
    if cfg.daemon.control_socket.is_empty() {
        return None;
    }
    let group = match (cfg.daemon.control_group.as_str(), owner) {
        ("", o) => o,
        (g, o) => {
            let gid = resolve_ids(if cfg.daemon.user.is_empty() { "0" } else { &cfg.daemon.user }, g).ok().map(|x| x.1);
            match (o, gid) {
                (Some((uid, _)), Some(gid)) => Some((uid, gid)),
                (None, Some(gid)) => Some((crate::sys::geteuid(), gid)),
                _ => o,
            }
        }
    };
    match control::bind(Path::new(&cfg.daemon.control_socket), group) {
        Ok(s) => {
            log.info(&format!("control socket on {} (picket ctl)", cfg.daemon.control_socket));
            Some(s)
        }
        Err(e) => {
            log.warn(&format!("{e}: running without a control socket"));
            None
        }
    }
}

/// The EVE writer: `--eve` or `[output.eve]`, and the local queue, opened as the run user;
/// and the pcap-log writer when `[output.pcap_log]` is on.
fn open_output(opts: &LiveOptions, log: &Log) -> anyhow::Result<(EveWriter, Option<PcapLogWriter>)> {
    let cfg = &opts.config;
    let sink = match &opts.eve {
        Some(p) => Sink::open(p).map_err(|e| anyhow::anyhow!("--eve {}: cannot open for writing: {e}", p.display()))?,
        None => Sink::from_config(&cfg.output)
            .map_err(|e| anyhow::anyhow!("output.eve ({}): cannot open: {e}", cfg.output.eve_path().display()))?,
    };
    let mut writer = EveWriter::new(sink);
    if !cfg.output.spool_dir.is_empty() {
        let mut sc = Counters::new();
        writer.spool = Some(crate::output::spool::Spool::open(&cfg.output, &mut sc).map_err(|e| {
            anyhow::anyhow!("output.spool_dir {}: cannot open the alert queue: {e}", cfg.output.spool_dir)
        })?);
        writer.counters.merge(&sc);
    }
    match (writer.describe().as_str(), &writer.spool) {
        ("nowhere", None) => log.error(
            "NO OUTPUT: output.eve is disabled and no output.spool_dir is set: events are counted but written nowhere",
        ),
        (what, spool) => log.info(&format!(
            "EVE to {what}{}",
            if spool.is_some() { format!(" and the queue in {}", cfg.output.spool_dir) } else { String::new() }
        )),
    }
    let pcap_log = PcapLogWriter::new(&cfg.output.pcap_log, &cfg.output.log_dir)
        .map_err(|e| anyhow::anyhow!("output.pcap_log: cannot create the folder {}: {e}", cfg.output.log_dir))?;
    if pcap_log.is_some() {
        let mode = format!("{:?}", cfg.output.pcap_log.mode).to_lowercase();
        log.info(&format!("pcap-log ({mode}) to {}", cfg.output.log_dir));
    }
    Ok((writer, pcap_log))
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

/// Sets with `save`/`state` keep what rules and the control socket added.
fn save_datasets(log: &Log) {
    for r in crate::detect::dataset::save_all() {
        match r {
            Ok(m) => log.info(&m),
            Err(m) => log.error(&m),
        }
    }
}

/// The queue's forwarder to NATS JetStream, on its own thread (see `output::nats`).
fn start_forwarder(
    cfg: &Config,
    hub: &Arc<MetricsHub>,
    log: &Log,
) -> anyhow::Result<Option<crate::output::nats::Forwarder>> {
    if !cfg.output.nats.enabled() {
        return Ok(None);
    }
    let dir = Path::new(&cfg.output.spool_dir);
    let f =
        crate::output::nats::Forwarder::start(&cfg.output.nats, &cfg.sensor.resolved_name(), dir, Some(hub.clone()))?;
    log.info(&format!("forwarding the queue to NATS stream {}", cfg.output.nats.stream));
    Ok(Some(f))
}

/// Starts following the fleet's ruleset (`fleet.rules`); the main thread applies what arrives.
/// A watcher that cannot start is logged and the run goes on with its configured rules.
fn start_fleet_rules(cfg: &Config, log: &Log) -> Option<(Receiver<Arrival>, RulesWatcher)> {
    if !cfg.fleet.rules {
        return None;
    }
    let (tx, rx) = bounded(4);
    match RulesWatcher::start(cfg, tx) {
        Ok(w) => {
            log.info(&format!(
                "following the fleet ruleset in bucket {} (fleet.rules), unpacked in {}",
                cfg.fleet.rules_bucket, cfg.fleet.rules_dir
            ));
            Some((rx, w))
        }
        Err(e) => {
            log.error(&format!("fleet.rules: not following the fleet ruleset: {e:#}"));
            None
        }
    }
}

/// The sensor's heartbeat in `fleet.status_bucket` (with the fleet ruleset state the
/// supervisor publishes); one that cannot start is logged and the run goes on.
fn start_heartbeat(cfg: &Config, hub: &Arc<MetricsHub>, sh: &Arc<Shared>, log: &Log) -> Option<Heartbeat> {
    let sh = sh.clone();
    let rules: RulesState = Arc::new(move || sh.fleet_rules.lock().unwrap_or_else(|p| p.into_inner()).clone());
    match Heartbeat::start(cfg, "run", hub.clone(), Some(rules)) {
        Ok(h) => {
            if h.is_some() {
                log.info(&format!(
                    "heartbeat every {} s in bucket {} (picket fleet status)",
                    cfg.fleet.heartbeat_secs, cfg.fleet.status_bucket
                ));
            }
            h
        }
        Err(e) => {
            log.error(&format!("fleet.heartbeat_secs: no heartbeat: {e:#}"));
            None
        }
    }
}

/// Gives the forwarder at most 5 s to send what the queue holds: the rest stays in the queue
/// for the next start.
fn finish_forwarder(f: Option<crate::output::nats::Forwarder>, cfg: &Config, total: &mut Counters, log: &Log) {
    let Some(f) = f else { return };
    let (r, st) = f.finish(std::time::Duration::from_secs(cfg.output.nats.drain_timeout_secs.min(5)));
    total.merge(&st.counters());
    match r {
        Ok(true) => log.info(&st.line()),
        Ok(false) => log.warn(&format!("{} (the rest is sent at the next start)", st.line())),
        Err(e) => log.error(&format!("output.nats: {e}")),
    }
}

fn log_exit_summary(log: &Log, total: &Counters, start: Instant) {
    log.info(&format!(
        "stopped after {:.1} s: {} packets ({} seen by the kernel, {} dropped by it), {} dropped on full worker queues, {} alerts, {} events written, {} events lost (output queue full), {} events lost (write errors)",
        start.elapsed().as_secs_f64(),
        total.get(C::CapturePackets),
        total.get(C::CaptureKernelPackets),
        total.get(C::CaptureKernelDrops),
        total.get(C::PipelineQueueDrops),
        total.get(C::DetectAlert),
        total.get(C::OutputEvents),
        total.get(C::OutputQueueDrops),
        total.get(C::OutputWriteErrors),
    ));
}
