//! The threads of a live run: one capture-and-inspect thread per AF_PACKET socket (the kernel
//! shards flows), or pnet reader threads that shard and dispatch to worker threads, and the
//! output thread that owns the EVE sink. Every thread beats a heartbeat at each turn of its
//! loop (for systemd's watchdog) and publishes its counters at least every 250 ms, capture
//! counters per interface.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::log::wall_now;
use super::reload::EngineSlot;
use super::Log;
use crate::capture::PacketSource;
use crate::config::Config;
use crate::detect::engine::DetectEngine;
use crate::evidence::tap::Tap;
use crate::evidence::writer::PcapLogWriter;
use crate::metrics::prom::{IfaceStats, MetricsHub};
use crate::metrics::{Counters, C};
use crate::output::EveWriter;
use crate::runtime::dispatch::Dispatch;
use crate::runtime::ingest::Ingest;
use crate::runtime::worker::{Batch, Item, Worker};

/// How often capture threads publish their counters.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// What the threads of a live run share.
pub(super) struct Shared {
    pub(super) stop: AtomicBool,
    pub(super) slot: EngineSlot,
    pub(super) hub: Arc<MetricsHub>,
    /// Packets each worker received (health).
    pub(super) pkts: Vec<AtomicU64>,
    /// Engine generation each worker runs.
    pub(super) acks: Vec<AtomicU64>,
    /// Milliseconds since `epoch` at the last turn of each worker's loop, then the output
    /// thread's (the watchdog's view of progress).
    pub(super) beats: Vec<AtomicU64>,
    pub(super) epoch: Instant,
    /// Capture interfaces, in the order of `capture.interfaces` (frames carry the position).
    pub(super) ifaces: Vec<String>,
    pub(super) log: Arc<Log>,
    /// The fleet ruleset status for `ruleset-stats` (null without `fleet.rules`).
    pub(super) fleet_rules: std::sync::Mutex<serde_json::Value>,
}

impl Shared {
    /// Records that thread `i` (a worker, or the output thread at index `workers`) is alive.
    pub(super) fn beat(&self, i: usize) {
        if let Some(b) = self.beats.get(i) {
            b.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        }
    }

    /// The thread that beat least recently and how long ago, in milliseconds.
    pub(super) fn oldest_beat(&self) -> Option<(usize, u64)> {
        let now = self.epoch.elapsed().as_millis() as u64;
        self.beats
            .iter()
            .enumerate()
            .map(|(i, b)| (i, now.saturating_sub(b.load(Ordering::Relaxed))))
            .max_by_key(|(_, age)| *age)
    }
}

/// What the output thread receives.
pub(super) enum OutMsg {
    /// Whole EVE lines and how many events they hold, and the evidence records for
    /// `output.pcap_log` gathered with them (written first, so alerts name their file).
    Lines(Vec<u8>, u64, Option<Vec<u8>>),
    /// Reopen the EVE file (log rotation); the outcome is sent back.
    Reopen(Sender<Result<String, String>>),
}

/// Hands the worker's pending events to the output without waiting (live), or waiting
/// (draining at shutdown, when every event of a packet read must be written).
pub(super) fn send_output(w: &mut Worker, out: &Sender<OutMsg>, wait: bool) {
    let pcap = w.take_evidence();
    let (buf, n) = match (w.take_output(), &pcap) {
        (Some(lines), _) => lines,
        (None, Some(_)) => (Vec::new(), 0),
        (None, None) => return,
    };
    if wait {
        let _ = out.send(OutMsg::Lines(buf, n, pcap));
        return;
    }
    match out.try_send(OutMsg::Lines(buf, n, pcap)) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(OutMsg::Lines(_, n, pcap))) => {
            w.counters.add(C::OutputQueueDrops, n);
            let lost = pcap.as_deref().map_or(0, |b| crate::evidence::tap::records(b).count());
            w.counters.add(C::PcapLogQueueDrops, lost as u64);
        }
        Err(TrySendError::Full(_)) => {}
    }
}

/// After a batch: events out, counters published, and a new engine picked up if one was
/// published. Takes and returns the worker (`with_detect` consumes it).
fn after_batch(mut w: Worker, id: usize, gen: &mut u64, sh: &Shared, out: &Sender<OutMsg>, wait: bool) -> Worker {
    send_output(&mut w, out, wait);
    w.sample_levels();
    sh.beat(id);
    if let Some(p) = sh.pkts.get(id) {
        p.store(w.counters.get(C::FlowWrkPktsToWorker), Ordering::Relaxed);
    }
    sh.hub.publish_worker(id, &w.counters);
    if sh.slot.gen.load(Ordering::Relaxed) != *gen {
        let (g, e) = sh.slot.current();
        w = w.with_detect(e);
        *gen = g;
        if let Some(a) = sh.acks.get(id) {
            a.store(g, Ordering::Release);
        }
    }
    w
}

// ---- AF_PACKET worker ----------------------------------------------------------------------

/// Publishes an AF_PACKET thread's capture counters: totals in its counters, and per interface.
#[cfg(target_os = "linux")]
fn publish_afpacket(
    name: &str,
    src: &mut crate::capture::afpacket::AfPacketSource,
    ing: &mut Ingest,
    per_iface: &mut [IfaceStats],
    sh: &Shared,
) {
    let ks = src.kernel_stats();
    ing.c.set(C::CaptureKernelPackets, ks.packets);
    ing.c.set(C::CaptureKernelDrops, ks.drops);
    ing.c.set(C::CaptureKernelFreezes, ks.freeze_q);
    ing.c.set(C::CaptureErrors, src.socket_errors);
    for (pos, k, errors) in src.iface_stats() {
        if let (Some(s), Some(ifname)) = (per_iface.get_mut(pos as usize), sh.ifaces.get(pos as usize)) {
            s.kernel_packets = k.packets;
            s.kernel_drops = k.drops;
            s.kernel_freezes = k.freeze_q;
            s.errors = errors;
            sh.hub.publish_iface(name, ifname, s);
        }
    }
    for wn in src.take_warnings() {
        sh.log.warn_limited("capture", &format!("capture: {wn}"));
    }
    sh.hub.publish(name, &ing.c);
}

#[cfg(target_os = "linux")]
pub(super) fn afpacket_thread(
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
    let mut per_iface = vec![IfaceStats::default(); sh.ifaces.len()];
    let mut batch = Batch::with_capacity(bs);
    let mut gen = sh.acks.get(id).map_or(1, |a| a.load(Ordering::Relaxed));
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
        let mut lend = |fr: crate::capture::FrameRef<'_>| {
            if let Some(s) = per_iface.get_mut(fr.iface as usize) {
                s.packets += 1;
                s.bytes += fr.data.len() as u64;
            }
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
            batch.ticks.push((batch.len() as u32, now, 0));
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
        } else {
            sh.beat(id);
        }
        if last_pub.elapsed() >= PUBLISH_EVERY || draining.is_some() {
            last_pub = Instant::now();
            w.sample_levels();
            sh.hub.publish_worker(id, &w.counters);
            publish_afpacket(&name, &mut src, &mut ing, &mut per_iface, &sh);
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

/// Publishes a pnet reader's capture counters (one interface per reader).
fn publish_pnet(name: &str, iface: &str, src: &mut crate::capture::pnet::PnetSource, ing: &mut Ingest, sh: &Shared) {
    let (p, d) = src.kernel_stats();
    ing.c.set(C::CaptureKernelPackets, p);
    ing.c.set(C::CaptureKernelDrops, d);
    ing.c.set(C::CaptureErrors, src.errors);
    let s = IfaceStats {
        packets: ing.c.get(C::CapturePackets),
        bytes: ing.c.get(C::CaptureBytes),
        kernel_packets: p,
        kernel_drops: d,
        errors: src.errors,
        ..IfaceStats::default()
    };
    sh.hub.publish_iface(name, iface, &s);
    for wn in src.take_warnings() {
        sh.log.warn_limited("capture", &format!("capture: {wn}"));
    }
    sh.hub.publish(name, &ing.c);
}

pub(super) fn pnet_reader(
    mut src: crate::capture::pnet::PnetSource,
    mut disp: Dispatch,
    cfg: Config,
    sh: Arc<Shared>,
    name: String,
) -> Counters {
    let mut ing = Ingest::new(&cfg);
    // The reader shards; the workers decode what it only sharded (see runtime::ingest).
    ing.defer = true;
    let iface = src.name().to_string();
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
            disp.tick(now, 0);
            ing.expire(now);
        }
        disp.flush_all(ing.now.max(now), &mut ing.c);
        if last_pub.elapsed() >= PUBLISH_EVERY {
            last_pub = Instant::now();
            publish_pnet(&name, &iface, &mut src, &mut ing, &sh);
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
    publish_pnet(&name, &iface, &mut src, &mut ing, &sh);
    ing.c
}

pub(super) fn pnet_worker(
    id: usize,
    mut w: Worker,
    rx: Receiver<Batch>,
    recycle: Sender<Batch>,
    sh: Arc<Shared>,
    out: Sender<OutMsg>,
) -> Counters {
    let mut gen = sh.acks.get(id).map_or(1, |a| a.load(Ordering::Relaxed));
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

/// The output thread: writes what the workers send, flushes within half a second, reopens
/// the file when asked (log rotation), and logs write errors (rate-limited; every lost event
/// is counted in `output.write_errors`).
pub(super) fn output_thread(
    mut w: EveWriter,
    mut pcap_log: Option<PcapLogWriter>,
    rx: Receiver<OutMsg>,
    sh: Arc<Shared>,
) -> EveWriter {
    let me = sh.pkts.len();
    let mut dirty = false;
    let mut last_flush = Instant::now();
    loop {
        sh.beat(me);
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(OutMsg::Lines(buf, n, pcap)) => {
                if let (Some(pl), Some(records)) = (pcap_log.as_mut(), pcap) {
                    pl.write_records(&records, &mut w.counters);
                    w.capture_file = pl.current().map(|p| p.to_path_buf());
                }
                if n > 0 {
                    w.write_lines(&buf, n);
                }
                dirty = true;
            }
            Ok(OutMsg::Reopen(reply)) => {
                let r = w.reopen().map(|()| w.describe());
                let _ = reply.send(r);
                sh.hub.publish("output", &w.counters);
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        // Live: events reach the file (and the spool's readers) within a fraction of a second.
        if dirty && (rx.is_empty() || last_flush.elapsed() >= Duration::from_millis(500)) {
            w.flush();
            if let Some(pl) = pcap_log.as_mut() {
                pl.flush(&mut w.counters);
            }
            dirty = false;
            last_flush = Instant::now();
            sh.hub.publish("output", &w.counters);
        }
        for e in w.take_errors() {
            sh.log.error_limited("output", &format!("EVE output: {e} (events lost, counted in output.write_errors)"));
        }
        if let Some(e) = pcap_log.as_mut().and_then(|pl| pl.first_error.take()) {
            sh.log.error_limited(
                "pcap_log",
                &format!("output.pcap_log: {e} (packets lost, counted in output.pcap_log.write_errors)"),
            );
        }
    }
    w.flush();
    if let Some(pl) = pcap_log.as_mut() {
        pl.flush(&mut w.counters);
    }
    sh.hub.publish("output", &w.counters);
    w
}

// ---- opening the capture and starting the threads -------------------------------------------

/// The capture sockets, opened while privileged.
pub(super) enum Capture {
    /// One AF_PACKET source per worker (the kernel shards flows).
    #[cfg(target_os = "linux")]
    Afpacket(Vec<crate::capture::afpacket::AfPacketSource>),
    /// One pnet source per interface.
    Pnet(Vec<crate::capture::pnet::PnetSource>),
}

/// Opens the capture on `interfaces` with the configured method.
pub(super) fn open_capture(interfaces: &[String], cfg: &Config, nworkers: usize) -> anyhow::Result<Capture> {
    use crate::config::CaptureMethod;
    #[cfg(not(target_os = "linux"))]
    let _ = nworkers; // one AF_PACKET socket per worker: Linux only
    Ok(match cfg.capture.method {
        #[cfg(target_os = "linux")]
        CaptureMethod::Afpacket => {
            use crate::capture::afpacket::{self, Interface, RingOptions};
            let ifaces = interfaces
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
            for (i, n) in interfaces.iter().enumerate() {
                v.push(crate::capture::pnet::PnetSource::open(n, i as u16, &o).map_err(anyhow::Error::msg)?);
            }
            Capture::Pnet(v)
        }
    })
}

/// The running capture and worker threads; each returns its counters when it ends.
pub(super) struct Threads {
    /// Worker threads (AF_PACKET: capture and inspection in one).
    pub(super) workers: Vec<std::thread::JoinHandle<Counters>>,
    /// pnet reader threads (none with AF_PACKET).
    pub(super) readers: Vec<std::thread::JoinHandle<Counters>>,
    /// `afpacket` or `pnet`.
    pub(super) method: &'static str,
}

fn new_worker(id: usize, cfg: &Config, nworkers: usize, engine: &Option<Arc<DetectEngine>>) -> Worker {
    Worker::new(id, cfg.flow.table_config(nworkers), cfg.output.writes_flows())
        .with_alert_events(cfg.output.eve.wants("alert"))
        .with_detect(engine.clone())
        .with_stream(cfg.stream.engine_config(nworkers))
        .with_app(cfg.app_config())
        .with_records(crate::runtime::records::Records::of(&cfg.output.eve))
        .with_decoder(crate::runtime::ingest::decoder_of(cfg))
        .with_evidence(Tap::new(&cfg.output.pcap_log, nworkers))
}

/// Starts the threads over `capture`; events go to `out`.
pub(super) fn start(
    capture: Capture,
    cfg: &Config,
    nworkers: usize,
    sh: &Arc<Shared>,
    out: &Sender<OutMsg>,
) -> anyhow::Result<Threads> {
    let (_, engine) = sh.slot.current();
    let mut t = Threads { workers: Vec::new(), readers: Vec::new(), method: "pnet" };
    match capture {
        #[cfg(target_os = "linux")]
        Capture::Afpacket(sources) => {
            t.method = "afpacket";
            for (id, src) in sources.into_iter().enumerate() {
                let w = new_worker(id, cfg, nworkers, &engine);
                let (cfg2, sh2, out2) = (cfg.clone(), sh.clone(), out.clone());
                t.workers.push(
                    std::thread::Builder::new()
                        .name(format!("picket-w{id}"))
                        .spawn(move || afpacket_thread(id, src, w, cfg2, sh2, out2))?,
                );
            }
        }
        Capture::Pnet(sources) => {
            let qb = cfg.runtime.queue_batches;
            let mut senders = Vec::new();
            let (recycle_tx, recycle_rx) = bounded::<Batch>(nworkers * (qb + 2));
            for id in 0..nworkers {
                let (tx, rx) = bounded::<Batch>(qb);
                senders.push(tx);
                let w = new_worker(id, cfg, nworkers, &engine);
                let (sh2, out2, rc) = (sh.clone(), out.clone(), recycle_tx.clone());
                t.workers.push(
                    std::thread::Builder::new()
                        .name(format!("picket-w{id}"))
                        .spawn(move || pnet_worker(id, w, rx, rc, sh2, out2))?,
                );
            }
            for src in sources {
                let mut disp = Dispatch::new(senders.clone(), recycle_rx.clone(), cfg.runtime.batch_packets);
                disp.drop_when_full = true;
                let name = format!("reader-{}", src.name());
                let (cfg2, sh2) = (cfg.clone(), sh.clone());
                t.readers.push(
                    std::thread::Builder::new()
                        .name(format!("picket-r{}", t.readers.len()))
                        .spawn(move || pnet_reader(src, disp, cfg2, sh2, name))?,
                );
            }
        }
    }
    Ok(t)
}
