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

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use crate::capture::{FrameRef, PacketSource, Timestamp};
use crate::config::{CaptureMethod, Config};
use crate::detect::engine::DetectEngine;
use crate::metrics::prom::MetricsHub;
use crate::metrics::{Counters, C};
use crate::output::{eve, EveWriter, Sink};
use crate::runtime::ingest::Ingest;
use crate::runtime::replay::Dispatch;
use crate::runtime::worker::{Batch, Item, Worker};

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

// ---- logging ------------------------------------------------------------------------------

/// The daemon's log: one line per message, to standard error or a file, with a timestamp;
/// repeated warnings of the same kind are limited to one per 10 s with a suppressed count.
pub struct Log {
    file: Mutex<Option<std::fs::File>>,
    limited: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

impl Log {
    /// Logs to `path` (appended) or, when empty, to standard error.
    pub fn open(path: &str) -> std::io::Result<Log> {
        let file = if path.is_empty() {
            None
        } else {
            Some(std::fs::OpenOptions::new().create(true).append(true).open(path)?)
        };
        Ok(Log { file: Mutex::new(file), limited: Mutex::new(HashMap::new()) })
    }

    /// Writes one line at `level` (`info`, `warning`, `error`).
    pub fn log(&self, level: &str, msg: &str) {
        let mut ts = Vec::with_capacity(40);
        eve::fmt_ts(&mut ts, wall_now());
        let line = format!("{} picket[{}]: {level}: {msg}\n", String::from_utf8_lossy(&ts), std::process::id());
        let mut g = self.file.lock().unwrap_or_else(|p| p.into_inner());
        match g.as_mut() {
            Some(f) => {
                let _ = f.write_all(line.as_bytes());
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }

    /// Info line.
    pub fn info(&self, msg: &str) {
        self.log("info", msg)
    }

    /// Warning line.
    pub fn warn(&self, msg: &str) {
        self.log("warning", msg)
    }

    /// Error line (data was lost or the operator must act).
    pub fn error(&self, msg: &str) {
        self.log("error", msg)
    }

    /// A warning of kind `key` at most once per 10 s; the next one says how many were held back.
    pub fn warn_limited(&self, key: &'static str, msg: &str) {
        let mut g = self.limited.lock().unwrap_or_else(|p| p.into_inner());
        let e = g.entry(key).or_insert((Instant::now() - Duration::from_secs(3600), 0));
        if e.0.elapsed() < Duration::from_secs(10) {
            e.1 += 1;
            return;
        }
        let suppressed = std::mem::take(&mut e.1);
        e.0 = Instant::now();
        drop(g);
        if suppressed > 0 {
            self.warn(&format!("{msg} ({suppressed} similar warnings suppressed)"));
        } else {
            self.warn(msg);
        }
    }
}

/// Wall-clock time as packet time.
pub fn wall_now() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_parts(d.as_secs(), d.subsec_nanos() as u64)
}

// ---- shared state --------------------------------------------------------------------------

/// The current detection engine and its generation; workers compare the generation at batch
/// boundaries (one relaxed load) and take the engine under the lock only when it changed.
pub struct EngineSlot {
    gen: AtomicU64,
    engine: Mutex<Option<Arc<DetectEngine>>>,
}

impl EngineSlot {
    fn new(e: Option<Arc<DetectEngine>>) -> Self {
        EngineSlot { gen: AtomicU64::new(1), engine: Mutex::new(e) }
    }

    fn current(&self) -> (u64, Option<Arc<DetectEngine>>) {
        let g = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        (self.gen.load(Ordering::Acquire), g.clone())
    }

    fn swap(&self, e: Arc<DetectEngine>) -> u64 {
        let mut g = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        *g = Some(e);
        self.gen.fetch_add(1, Ordering::AcqRel) + 1
    }
}

struct Shared {
    stop: AtomicBool,
    slot: EngineSlot,
    hub: Arc<MetricsHub>,
    /// Packets each worker received (health).
    pkts: Vec<AtomicU64>,
    /// Engine generation each worker runs.
    acks: Vec<AtomicU64>,
    log: Arc<Log>,
}

type OutMsg = (Vec<u8>, u64);

/// Hands the worker's pending events to the output without waiting (live), or waiting
/// (draining at shutdown, when every event of a packet read must be written).
fn send_output(w: &mut Worker, out: &Sender<OutMsg>, wait: bool) {
    if let Some((buf, n)) = w.take_output() {
        if wait {
            let _ = out.send((buf, n));
            return;
        }
        match out.try_send((buf, n)) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => w.counters.add(C::OutputQueueDrops, n),
        }
    }
}

/// After a batch: events out, counters published, and a new engine picked up if one was
/// published. Takes and returns the worker (`with_detect` consumes it).
fn after_batch(mut w: Worker, id: usize, gen: &mut u64, sh: &Shared, out: &Sender<OutMsg>, wait: bool) -> Worker {
    send_output(&mut w, out, wait);
    sh.pkts[id].store(w.counters.get(C::FlowWrkPktsToWorker), Ordering::Relaxed);
    sh.hub.publish_worker(id, &w.counters);
    if sh.slot.gen.load(Ordering::Relaxed) != *gen {
        let (g, e) = sh.slot.current();
        w = w.with_detect(e);
        *gen = g;
        sh.acks[id].store(g, Ordering::Release);
    }
    w
}

// ---- AF_PACKET worker ----------------------------------------------------------------------

#[cfg(target_os = "linux")]
fn afpacket_thread(
    id: usize,
    mut src: crate::capture::afpacket::AfPacketSource,
    mut w: Worker,
    cfg: Config,
    sh: Arc<Shared>,
    out: Sender<OutMsg>,
) -> Counters {
    let bs = cfg.runtime.batch_packets;
    let mut ing = Ingest::new(&cfg);
    let name = format!("capture{id}");
    let mut batch = Batch::with_capacity(bs);
    let mut gen = sh.acks[id].load(Ordering::Relaxed);
    let mut last_sec = wall_now().secs();
    let mut last_pub = Instant::now();
    let retire = Duration::from_millis(cfg.capture.ring_block_timeout_ms as u64 + 20);
    let mut draining: Option<Instant> = None;
    loop {
        let stop = sh.stop.load(Ordering::Relaxed);
        if stop && draining.is_none() {
            // Let the kernel retire the block it is filling, then take every block it holds.
            draining = Some(Instant::now());
            std::thread::sleep(retire);
        }
        let mut lend = |fr: FrameRef<'_>| {
            ing.frame(&fr, &mut |_, item| batch.push(&fr, item));
        };
        if draining.is_some() {
            src.drain(&mut lend);
        } else {
            src.next_batch(&mut lend);
        }
        let now = wall_now();
        if now.secs() > last_sec {
            last_sec = now.secs();
            batch.ticks.push((batch.len() as u32, now));
            ing.expire(now);
        }
        // Process in spans of `bs` (the ring may have lent many blocks at once), so that
        // output, metrics and reload acknowledgements keep flowing.
        let wait = draining.is_some();
        if !batch.is_empty() || !batch.ticks.is_empty() {
            batch.now = ing.now.max(now);
            let n = batch.len();
            let mut lo = 0;
            loop {
                let hi = (lo + bs.max(1)).min(n);
                w.process_span(&batch, lo..hi);
                w = after_batch(w, id, &mut gen, &sh, &out, wait);
                lo = hi;
                if lo >= n {
                    break;
                }
            }
            batch.clear();
        }
        if last_pub.elapsed() >= Duration::from_millis(250) || draining.is_some() {
            last_pub = Instant::now();
            let ks = src.kernel_stats();
            ing.c.set(C::CaptureKernelPackets, ks.packets);
            ing.c.set(C::CaptureKernelDrops, ks.drops);
            ing.c.set(C::CaptureKernelFreezes, ks.freeze_q);
            ing.c.set(C::CaptureSocketErrors, src.socket_errors);
            for wn in src.take_warnings() {
                sh.log.warn_limited("capture", &format!("capture: {wn}"));
            }
            sh.hub.publish(&name, &ing.c);
        }
        if draining.is_some() {
            break;
        }
    }
    w.finish();
    send_output(&mut w, &out, true);
    sh.hub.publish_worker(id, &w.counters);
    sh.hub.publish(&name, &ing.c);
    let mut c = w.counters;
    c.merge(&ing.c);
    c
}

// ---- pnet reader and workers ---------------------------------------------------------------

fn pnet_reader(
    mut src: crate::capture::pnet::PnetSource,
    mut disp: Dispatch,
    cfg: Config,
    sh: Arc<Shared>,
    name: String,
) -> Counters {
    let mut ing = Ingest::new(&cfg);
    // The reader shards; the workers decode what it only sharded (see runtime::ingest).
    ing.defer = true;
    let n = disp.senders.len() as u64;
    let mut rr: u64 = 0;
    let mut last_sec = wall_now().secs();
    let mut last_pub = Instant::now();
    let mut push = |ing: &mut Ingest, disp: &mut Dispatch, src: &mut crate::capture::pnet::PnetSource| -> usize {
        let mut lent = 0;
        src.next_batch(&mut |fr| {
            lent += 1;
            // At most three items per frame: a tunnel's outer flow, the packet, a datagram.
            let mut staged: [Option<(Option<u64>, Item)>; 3] = [None, None, None];
            let mut k = 0;
            ing.frame(&fr, &mut |h, item| {
                if let Some(slot) = staged.get_mut(k) {
                    *slot = Some((h, item));
                    k += 1;
                }
            });
            let now = ing.now;
            for (h, item) in staged.into_iter().flatten() {
                let w = match h {
                    Some(h) => (h % n) as usize,
                    None => {
                        rr += 1;
                        (rr % n) as usize
                    }
                };
                disp.push(w, &fr, item, now, &mut ing.c);
            }
        });
        lent
    };
    while !sh.stop.load(Ordering::Relaxed) {
        push(&mut ing, &mut disp, &mut src);
        let now = wall_now();
        if now.secs() > last_sec {
            last_sec = now.secs();
            disp.tick(now);
            ing.expire(now);
        }
        disp.flush_all(ing.now.max(now), &mut ing.c);
        if last_pub.elapsed() >= Duration::from_millis(250) {
            last_pub = Instant::now();
            let (p, d) = src.kernel_stats();
            ing.c.set(C::CaptureKernelPackets, p);
            ing.c.set(C::CaptureKernelDrops, d);
            ing.c.set(C::CaptureSocketErrors, src.errors);
            for wn in src.take_warnings() {
                sh.log.warn_limited("capture", &format!("capture: {wn}"));
            }
            sh.hub.publish(&name, &ing.c);
        }
    }
    // Drain: what the socket still holds is read (until it stays quiet for one read timeout)
    // and handed over waiting, so every packet read is inspected.
    disp.drop_when_full = false;
    for _ in 0..1000 {
        if push(&mut ing, &mut disp, &mut src) == 0 {
            break;
        }
    }
    let now = wall_now();
    disp.flush_all(ing.now.max(now), &mut ing.c);
    let (p, d) = src.kernel_stats();
    ing.c.set(C::CaptureKernelPackets, p);
    ing.c.set(C::CaptureKernelDrops, d);
    ing.c.set(C::CaptureSocketErrors, src.errors);
    sh.hub.publish(&name, &ing.c);
    ing.c
}

fn pnet_worker(
    id: usize,
    mut w: Worker,
    rx: Receiver<Batch>,
    recycle: Sender<Batch>,
    sh: Arc<Shared>,
    out: Sender<OutMsg>,
) -> Counters {
    let mut gen = sh.acks[id].load(Ordering::Relaxed);
    loop {
        let mut batch = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(b) => b,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                w = after_batch(w, id, &mut gen, &sh, &out, false);
                continue;
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        };
        w.process(&batch);
        let draining = sh.stop.load(Ordering::Relaxed);
        w = after_batch(w, id, &mut gen, &sh, &out, draining);
        batch.clear();
        let _ = recycle.try_send(batch);
    }
    w.finish();
    send_output(&mut w, &out, true);
    sh.hub.publish_worker(id, &w.counters);
    w.counters
}

// ---- output --------------------------------------------------------------------------------

fn output_thread(mut w: EveWriter, rx: Receiver<OutMsg>, hub: Arc<MetricsHub>) -> EveWriter {
    let mut dirty = false;
    let mut last_flush = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok((buf, n)) => {
                w.write_lines(&buf, n);
                dirty = true;
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        // Live: events reach the file (and the spool's readers) within a fraction of a second.
        if dirty && (rx.is_empty() || last_flush.elapsed() >= Duration::from_millis(500)) {
            w.flush();
            dirty = false;
            last_flush = Instant::now();
            hub.publish("output", &w.counters);
        }
    }
    w.flush();
    hub.publish("output", &w.counters);
    w
}

// ---- privileges, pidfile, memory -----------------------------------------------------------

/// Resolves `user` (name or number) and `group` ("" = the user's primary group) from
/// /etc/passwd and /etc/group.
pub fn resolve_ids(user: &str, group: &str) -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let (uid, primary) = match user.parse::<u32>() {
        Ok(n) => (n, lookup(&passwd, 2, user, 3).or_else(|| find_by_id(&passwd, n, 3)).unwrap_or(n)),
        Err(_) => {
            let uid = lookup(&passwd, 0, user, 2).ok_or_else(|| format!("daemon.user: no user `{user}`"))?;
            (uid, lookup(&passwd, 0, user, 3).unwrap_or(uid))
        }
    };
    let gid = if group.is_empty() {
        primary
    } else {
        match group.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let g = std::fs::read_to_string("/etc/group").unwrap_or_default();
                lookup(&g, 0, group, 2).ok_or_else(|| format!("daemon.group: no group `{group}`"))?
            }
        }
    };
    Ok((uid, gid))
}

fn lookup(db: &str, key_col: usize, key: &str, want_col: usize) -> Option<u32> {
    db.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.get(key_col) == Some(&key))
        .and_then(|f| f.get(want_col)?.parse().ok())
}

fn find_by_id(db: &str, id: u32, want_col: usize) -> Option<u32> {
    db.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.get(2).and_then(|x| x.parse::<u32>().ok()) == Some(id))
        .and_then(|f| f.get(want_col)?.parse().ok())
}

/// Resident memory of this process, bytes (`/proc/self/statm`).
pub fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace().nth(1).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0) * 4096
}

struct Pidfile(PathBuf);

impl Pidfile {
    fn create(path: &Path) -> anyhow::Result<Pidfile> {
        if let Ok(old) = std::fs::read_to_string(path) {
            if let Ok(pid) = old.trim().parse::<u32>() {
                if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() {
                    anyhow::bail!("{}: picket already runs as pid {pid}", path.display());
                }
            }
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| anyhow::anyhow!("{}: cannot write the pidfile: {e}", path.display()))?;
        Ok(Pidfile(path.to_path_buf()))
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---- the daemon ----------------------------------------------------------------------------

/// What a run did, for the exit summary.
#[derive(Debug)]
pub struct LiveSummary {
    /// All counters, merged.
    pub counters: Counters,
    /// First output error.
    pub output_error: Option<String>,
}

enum Capture {
    #[cfg(target_os = "linux")]
    Afpacket(Vec<crate::capture::afpacket::AfPacketSource>),
    Pnet(Vec<crate::capture::pnet::PnetSource>),
}

fn load_rules(paths: &[PathBuf], cfg: &Config) -> anyhow::Result<Option<DetectEngine>> {
    if paths.is_empty() {
        return Ok(None);
    }
    for p in paths {
        if !p.exists() {
            anyhow::bail!("{}: rules path does not exist", p.display());
        }
    }
    let (engine, _report) = crate::detect::load_engine(paths, &cfg.detect, &cfg.vars);
    if engine.stats.loaded == 0 && !engine.errors.is_empty() {
        anyhow::bail!("no rule could be loaded ({} not usable; see `picket rules check`)", engine.errors.len());
    }
    Ok(Some(engine))
}

/// Runs the daemon until SIGTERM/SIGINT.
pub fn run(opts: LiveOptions, log: Arc<Log>) -> anyhow::Result<LiveSummary> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let cfg = opts.config.clone();
    if opts.interfaces.is_empty() {
        anyhow::bail!("no interface: give --interface IF or set capture.interfaces");
    }
    let nworkers = cfg.worker_count().clamp(1, 1024);
    let t_load = Instant::now();
    let engine = load_rules(&opts.rules, &cfg)?.map(Arc::new);
    if let Some(e) = &engine {
        log.info(&format!(
            "rules: {} loaded, {} failed, {} skipped (unsupported) in {:.2} s",
            e.stats.loaded,
            e.stats.failed,
            e.stats.skipped,
            t_load.elapsed().as_secs_f64()
        ));
    }

    // 1. Capture sockets, while privileged.
    let capture = match cfg.capture.method {
        #[cfg(target_os = "linux")]
        CaptureMethod::Afpacket => {
            use crate::capture::afpacket::{self, Interface, RingOptions};
            let ifaces = opts
                .interfaces
                .iter()
                .map(|n| Interface::lookup(n))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            let group = if cfg.capture.fanout_group != 0 {
                cfg.capture.fanout_group
            } else {
                (std::process::id() & 0x7fff) as u16 | 0x100
            };
            let o = RingOptions {
                block_bytes: cfg.capture.ring_block_bytes,
                blocks: cfg.capture.ring_blocks,
                block_timeout_ms: cfg.capture.ring_block_timeout_ms,
                fanout: cfg.capture.fanout_mode,
                fanout_defrag: cfg.capture.fanout_defrag,
                fanout_group: group,
                promiscuous: cfg.capture.promiscuous,
                bpf_filter: cfg.capture.bpf_filter.clone(),
                snaplen: cfg.capture.snaplen,
            };
            Capture::Afpacket(afpacket::open(&ifaces, nworkers, &o).map_err(anyhow::Error::msg)?)
        }
        #[cfg(not(target_os = "linux"))]
        CaptureMethod::Afpacket => anyhow::bail!("capture.method = \"afpacket\" needs Linux: use \"pnet\""),
        CaptureMethod::Pnet => {
            let o = crate::capture::pnet::PnetOptions {
                promiscuous: cfg.capture.promiscuous,
                buffer_bytes: cfg.capture.pnet_buffer_bytes as usize,
                bpf_filter: cfg.capture.bpf_filter.clone(),
                snaplen: cfg.capture.snaplen,
            };
            let mut v = Vec::new();
            for (i, n) in opts.interfaces.iter().enumerate() {
                v.push(crate::capture::pnet::PnetSource::open(n, i as u16, &o).map_err(anyhow::Error::msg)?);
            }
            Capture::Pnet(v)
        }
    };
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let _pidfile =
        if cfg.daemon.pidfile.is_empty() { None } else { Some(Pidfile::create(Path::new(&cfg.daemon.pidfile))?) };

    // 2. Privileges: no thread runs yet, so the capability change covers the whole process.
    #[cfg(target_os = "linux")]
    if !cfg.daemon.user.is_empty() {
        let (uid, gid) = resolve_ids(&cfg.daemon.user, &cfg.daemon.group).map_err(anyhow::Error::msg)?;
        crate::sys::drop_privileges(Some((uid, gid)), &[])
            .map_err(|e| anyhow::anyhow!("cannot drop privileges to {}: {e}", cfg.daemon.user))?;
        log.info(&format!("running as {} (uid {uid}, gid {gid}) with no capabilities", cfg.daemon.user));
    } else if crate::sys::geteuid() == 0 {
        log.warn("running as root: set daemon.user to drop privileges once the capture is open");
    }

    // 3. Output (opened as the run user), metrics, threads.
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
    let (rl, rf, rs) = engine.as_ref().map(|e| (e.stats.loaded, e.stats.failed, e.stats.skipped)).unwrap_or((0, 0, 0));
    let hub = Arc::new(MetricsHub::new(nworkers, rl as u64).with_rule_errors(rf as u64, rs as u64));
    let _server = if cfg.metrics.listen.is_empty() {
        None
    } else {
        let s = crate::metrics::http::serve(&cfg.metrics.listen, hub.clone())
            .map_err(|e| anyhow::anyhow!("metrics.listen {}: {e}", cfg.metrics.listen))?;
        log.info(&format!("metrics on http://{}/metrics", s.addr));
        Some(s)
    };
    let (out_tx, out_rx) = bounded::<OutMsg>(1024);
    let out_hub = hub.clone();
    let output = std::thread::Builder::new()
        .name("picket-output".into())
        .spawn(move || output_thread(writer, out_rx, out_hub))?;

    let sh = Arc::new(Shared {
        stop: AtomicBool::new(false),
        slot: EngineSlot::new(engine),
        hub: hub.clone(),
        pkts: (0..nworkers).map(|_| AtomicU64::new(0)).collect(),
        acks: (0..nworkers).map(|_| AtomicU64::new(1)).collect(),
        log: log.clone(),
    });
    let table = cfg.flow.table_config(nworkers);
    let (_, first_engine) = sh.slot.current();
    let mut handles: Vec<std::thread::JoinHandle<Counters>> = Vec::new();
    let mut readers: Vec<std::thread::JoinHandle<Counters>> = Vec::new();
    let method;
    match capture {
        #[cfg(target_os = "linux")]
        Capture::Afpacket(sources) => {
            method = "afpacket";
            for (id, src) in sources.into_iter().enumerate() {
                let w = Worker::new(id, table.clone(), cfg.output.flow_events)
                    .with_detect(first_engine.clone())
                    .with_stream(cfg.stream.engine_config(nworkers))
                    .with_http(cfg.app.http.parser_config())
                    .with_decoder(crate::runtime::ingest::decoder_of(&cfg));
                let (cfg2, sh2, out2) = (cfg.clone(), sh.clone(), out_tx.clone());
                handles.push(
                    std::thread::Builder::new()
                        .name(format!("picket-w{id}"))
                        .spawn(move || afpacket_thread(id, src, w, cfg2, sh2, out2))?,
                );
            }
        }
        Capture::Pnet(sources) => {
            method = "pnet";
            let qb = cfg.runtime.queue_batches;
            let mut senders = Vec::new();
            let (recycle_tx, recycle_rx) = bounded::<Batch>(nworkers * (qb + 2));
            for id in 0..nworkers {
                let (tx, rx) = bounded::<Batch>(qb);
                senders.push(tx);
                let w = Worker::new(id, table.clone(), cfg.output.flow_events)
                    .with_detect(first_engine.clone())
                    .with_stream(cfg.stream.engine_config(nworkers))
                    .with_http(cfg.app.http.parser_config())
                    .with_decoder(crate::runtime::ingest::decoder_of(&cfg));
                let (sh2, out2, rc) = (sh.clone(), out_tx.clone(), recycle_tx.clone());
                handles.push(
                    std::thread::Builder::new()
                        .name(format!("picket-w{id}"))
                        .spawn(move || pnet_worker(id, w, rx, rc, sh2, out2))?,
                );
            }
            for src in sources {
                let bs = cfg.runtime.batch_packets;
                let mut disp = Dispatch::new(senders.clone(), recycle_rx.clone(), bs);
                disp.drop_when_full = true;
                let name = format!("reader-{}", src.name());
                let (cfg2, sh2) = (cfg.clone(), sh.clone());
                readers.push(
                    std::thread::Builder::new()
                        .name(format!("picket-r{}", readers.len()))
                        .spawn(move || pnet_reader(src, disp, cfg2, sh2, name))?,
                );
            }
        }
    }
    drop(first_engine);
    log.info(&format!(
        "capturing on {} with {method}, {nworkers} worker(s){}",
        opts.interfaces.join(", "),
        if cfg.capture.bpf_filter.is_empty() {
            String::new()
        } else {
            format!(", filter `{}`", cfg.capture.bpf_filter)
        }
    ));

    // 4. The main thread: signals, health, reloads, periodic stats.
    let start = Instant::now();
    let mut ctl = Counters::new();
    let mut link: Vec<Option<bool>> = opts.interfaces.iter().map(|_| Some(true)).collect();
    let mut last_health = Instant::now();
    let mut last_pkts: Vec<u64> = vec![0; nworkers];
    let mut last_stats = Instant::now();
    let health_every = Duration::from_secs(cfg.daemon.health_interval_secs);
    'main: loop {
        for sig in signals.pending() {
            match sig {
                SIGHUP => reload(&opts, &cfg, &sh, &mut ctl, &log),
                _ => {
                    log.info(&format!(
                        "{}: stopping: draining the capture and writing every event",
                        if sig == SIGINT { "SIGINT" } else { "SIGTERM" }
                    ));
                    break 'main;
                }
            }
            hub.publish("control", &ctl);
        }
        // Link state, every second (cheap: two small sysfs reads per interface).
        #[cfg(target_os = "linux")]
        for (i, name) in opts.interfaces.iter().enumerate() {
            let now = crate::capture::afpacket::link_up(name);
            if now != link[i] {
                match now {
                    Some(true) => {
                        ctl.inc(C::CaptureLinkUp);
                        log.info(&format!("{name}: link up: capture resumes"));
                    }
                    Some(false) => {
                        ctl.inc(C::CaptureLinkDown);
                        log.warn(&format!("{name}: link down: no packets until it is back"));
                    }
                    None => {
                        ctl.inc(C::CaptureLinkDown);
                        log.error(&format!(
                            "{name}: interface gone: capture resumes if it comes back with the same index"
                        ));
                    }
                }
                link[i] = now;
                let down: Vec<&str> = opts
                    .interfaces
                    .iter()
                    .zip(&link)
                    .filter(|(_, s)| **s != Some(true))
                    .map(|(n, _)| n.as_str())
                    .collect();
                hub.set_health((!down.is_empty()).then(|| format!("link down: {}", down.join(", "))));
                hub.publish("control", &ctl);
            }
        }
        if last_health.elapsed() >= health_every {
            last_health = Instant::now();
            let now: Vec<u64> = sh.pkts.iter().map(|a| a.load(Ordering::Relaxed)).collect();
            let deltas: Vec<u64> = now.iter().zip(&last_pkts).map(|(a, b)| a.saturating_sub(*b)).collect();
            let total: u64 = deltas.iter().sum();
            if nworkers > 1 && total >= 1000 * nworkers as u64 {
                for (id, d) in deltas.iter().enumerate() {
                    if *d == 0 {
                        ctl.inc(C::CaptureWorkerSilent);
                        log.warn_limited(
                            "silent",
                            &format!(
                                "worker {id} received no packet in {} s while the others received {total} (few flows, or a fanout problem)",
                                health_every.as_secs()
                            ),
                        );
                    }
                }
            }
            last_pkts = now;
            hub.publish("control", &ctl);
        }
        if cfg.daemon.stats_interval_secs > 0
            && cfg.output.stats_event
            && last_stats.elapsed() >= Duration::from_secs(cfg.daemon.stats_interval_secs)
        {
            last_stats = Instant::now();
            let mut line = Vec::with_capacity(8192);
            eve::stats_event(&mut line, wall_now(), start.elapsed().as_secs(), &hub.merged().to_stats_json());
            let _ = out_tx.try_send((line, 1));
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // 5. Drain and flush. A second SIGINT/SIGTERM exits at once.
    sh.stop.store(true, Ordering::Relaxed);
    hub.set_health(Some("stopping".into()));
    let log2 = log.clone();
    let _ = std::thread::Builder::new().name("picket-sig".into()).spawn(move || {
        for s in signals.forever() {
            if s == SIGINT || s == SIGTERM {
                log2.warn("second signal: exiting without draining");
                std::process::exit(130);
            }
        }
    });
    let mut total = ctl;
    for h in readers {
        match h.join() {
            Ok(c) => total.merge(&c),
            Err(_) => anyhow::bail!("a capture thread panicked (a bug: please report it)"),
        }
    }
    for h in handles {
        match h.join() {
            Ok(c) => total.merge(&c),
            Err(_) => anyhow::bail!("a worker thread panicked (a bug: please report it)"),
        }
    }
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
    let k = (total.get(C::CaptureKernelPackets), total.get(C::CaptureKernelDrops));
    log.info(&format!(
        "stopped after {:.1} s: {} packets ({} seen by the kernel, {} dropped by it), {} dropped on full worker queues, {} alerts, {} events written, {} events dropped (output queue full)",
        start.elapsed().as_secs_f64(),
        total.get(C::CapturePackets),
        k.0,
        k.1,
        total.get(C::PipelineQueueDrops),
        total.get(C::DetectAlert),
        total.get(C::OutputEvents),
        total.get(C::OutputQueueDrops),
    ));
    Ok(LiveSummary { counters: total, output_error: writer.first_error })
}

/// SIGHUP: builds a new engine from the same paths and publishes it; the running one stays if
/// the new one cannot be built. Reports the time and the peak memory of the reload.
fn reload(opts: &LiveOptions, cfg: &Config, sh: &Shared, ctl: &mut Counters, log: &Log) {
    if opts.rules.is_empty() {
        log.warn("SIGHUP: no rules configured, nothing to reload");
        return;
    }
    log.info("SIGHUP: reloading rules");
    let t0 = Instant::now();
    let rss_before = rss_bytes();
    // Sample the RSS while the engine builds: VmHWM cannot be reset once privileges are dropped.
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let old = sh.slot.current().1.as_ref().map(Arc::downgrade);
    let r = load_rules(&opts.rules, cfg);
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let build_ms = t0.elapsed().as_millis() as u64;
    let engine = match r {
        Ok(Some(e)) => e,
        Ok(None) => return,
        Err(e) => {
            ctl.inc(C::DetectReloadFailures);
            log.error(&format!("rule reload failed, the running rules stay: {e:#}"));
            return;
        }
    };
    let (l, f, s) = (engine.stats.loaded, engine.stats.failed, engine.stats.skipped);
    let gen = sh.slot.swap(Arc::new(engine));
    sh.hub.set_rules(l as u64, f as u64, s as u64);
    // Wait (bounded) for every worker to switch, then check the old engine was freed.
    let t1 = Instant::now();
    while t1.elapsed() < Duration::from_secs(5) && sh.acks.iter().any(|a| a.load(Ordering::Acquire) < gen) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let switched_ms = t1.elapsed().as_millis() as u64;
    let freed = old.map(|w| w.strong_count() == 0).unwrap_or(true);
    #[cfg(target_os = "linux")]
    if freed {
        crate::sys::release_free_memory();
    }
    let peak = peak.load(Ordering::Relaxed).max(rss_bytes());
    ctl.inc(C::DetectReloads);
    ctl.add(C::DetectReloadMs, build_ms);
    ctl.set(C::DetectReloadLastMs, build_ms);
    ctl.set(C::DetectReloadPeakRss, peak);
    log.info(&format!(
        "rules reloaded: {l} loaded, {f} failed, {s} skipped; built in {build_ms} ms, all workers switched {switched_ms} ms later; RSS {:.1} MB before, peak {:.1} MB during the reload, {:.1} MB now; previous engine {}",
        rss_before as f64 / 1e6,
        peak as f64 / 1e6,
        rss_bytes() as f64 / 1e6,
        if freed { "freed" } else { "still referenced" }
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_resolve_from_passwd_lines() {
        let db = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n";
        assert_eq!(lookup(db, 0, "nobody", 2), Some(65534));
        assert_eq!(lookup(db, 0, "nobody", 3), Some(65534));
        assert_eq!(lookup(db, 0, "nosuch", 2), None);
        assert_eq!(find_by_id(db, 0, 3), Some(0));
    }

    #[test]
    fn engine_slot_bumps_generation() {
        let s = EngineSlot::new(None);
        assert_eq!(s.current().0, 1);
        let cfg = Config::default();
        let (e, _) = crate::detect::load_engine(&[], &cfg.detect, &cfg.vars);
        assert_eq!(s.swap(Arc::new(e)), 2);
        assert!(s.current().1.is_some());
    }
}
