//! The threads of a live run: one capture-and-inspect thread per AF_PACKET socket (the kernel
//! shards flows), or pnet reader threads that shard and dispatch to worker threads, and the
//! output thread that owns the EVE sink.

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
use crate::metrics::prom::MetricsHub;
use crate::metrics::{Counters, C};
use crate::output::EveWriter;
use crate::runtime::dispatch::Dispatch;
use crate::runtime::ingest::Ingest;
use crate::runtime::worker::{Batch, Item, Worker};

/// What the threads of a live run share.
pub(super) struct Shared {
    pub(super) stop: AtomicBool,
    pub(super) slot: EngineSlot,
    pub(super) hub: Arc<MetricsHub>,
    /// Packets each worker received (health).
    pub(super) pkts: Vec<AtomicU64>,
    /// Engine generation each worker runs.
    pub(super) acks: Vec<AtomicU64>,
    pub(super) log: Arc<Log>,
}

pub(super) type OutMsg = (Vec<u8>, u64);

/// Hands the worker's pending events to the output without waiting (live), or waiting
/// (draining at shutdown, when every event of a packet read must be written).
pub(super) fn send_output(w: &mut Worker, out: &Sender<OutMsg>, wait: bool) {
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
        let mut lend = |fr: crate::capture::FrameRef<'_>| {
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

pub(super) fn pnet_worker(
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

pub(super) fn output_thread(mut w: EveWriter, rx: Receiver<OutMsg>, hub: Arc<MetricsHub>) -> EveWriter {
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
    Worker::new(id, cfg.flow.table_config(nworkers), cfg.output.flow_events)
        .with_detect(engine.clone())
        .with_stream(cfg.stream.engine_config(nworkers))
        .with_app(cfg.app.parser_config())
        .with_decoder(crate::runtime::ingest::decoder_of(cfg))
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
