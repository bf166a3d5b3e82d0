//! `picket replay`: captures through the pipeline, as fast as the machine allows.
//!
//! ```text
//!  reader (this thread)          workers (N threads)                       output thread
//!  read chunk -> shard by flow ==> decode, flow table, (stream, detect) ==> EVE lines -> file/stdout
//!            batches over bounded crossbeam channels; empty batch vectors come back for reuse
//! The reader decodes only what it cannot shard from the first headers (fragments, tunnels,
//! ICMP, ...): see [`crate::runtime::ingest`].
//! ```
//! Replay never drops: when a worker's queue is full the reader waits (counted as
//! `pipeline.reader_blocked`). Timeouts run on packet time, so the output does not depend on
//! the machine's speed, and `--workers 1` and `--workers 4` give the same flows.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::capture::filter::ReplayFilter;
use crate::capture::pcap::{expand_inputs, PcapFileSource};
use crate::capture::watch::WatchSource;
use crate::capture::{CaptureWarning, PacketSource, Timestamp};
use crate::config::Config;
use crate::detect::profile::RuleProfile;
use crate::evidence::tap::Tap;
use crate::evidence::writer::PcapLogWriter;
use crate::metrics::prom::MetricsHub;
use crate::metrics::{Counters, C};
use crate::output::{eve, EveWriter, Sink};
use crate::runtime::dispatch::Dispatch;
use crate::runtime::ingest::{decoder_of, Ingest};
use crate::runtime::pcap_names::PcapNames;
use crate::runtime::records::Records;
use crate::runtime::replay_order::{DeferredAlert, Mark, OrderedStage, END};
use crate::runtime::replay_progress::Progress;
use crate::runtime::worker::{Batch, Worker};
use std::sync::Arc;

/// What to replay and where to write.
#[derive(Clone, Debug)]
pub struct ReplayOptions {
    /// Files and folders.
    pub inputs: Vec<PathBuf>,
    /// EVE destination (`-` for stdout); `None` writes no events.
    pub eve: Option<PathBuf>,
    /// Worker threads (overrides the config when set).
    pub workers: Option<usize>,
    /// Configuration.
    pub config: Config,
    /// Show a progress display on stderr when it is a terminal.
    pub progress: bool,
    /// One line on stderr per capture file finished (`-v`).
    pub verbose: bool,
    /// The detection engine, when rules were given.
    pub detect: Option<std::sync::Arc<crate::detect::engine::DetectEngine>>,
    /// Where threads publish their counters for the metrics endpoint, if one runs.
    pub metrics: Option<std::sync::Arc<crate::metrics::prom::MetricsHub>>,
    /// `--watch`: `inputs` are folders read as captures appear in them, until the stop flag.
    pub watch: Option<crate::capture::watch::WatchOptions>,
}

/// What a replay did.
#[derive(Debug)]
pub struct ReplaySummary {
    /// All counters, merged.
    pub counters: Counters,
    /// Problems with the inputs, one line each.
    pub warnings: Vec<CaptureWarning>,
    /// Capture files read (at least in part).
    pub files_read: u64,
    /// Capture files that failed or were cut short.
    pub files_failed: u64,
    /// Capture files whose loss the exit status shows (see `PcapFileSource::files_damaged`).
    pub files_damaged: u64,
    /// Wall time of the processing (reading to last event written).
    pub wall: Duration,
    /// Workers used.
    pub workers: usize,
    /// First output error, if any.
    pub output_error: Option<String>,
    /// The NATS forwarder's final stats, when `[output.nats]` forwarded the queue, and whether
    /// it caught up with the queue before exiting.
    pub nats: Option<(crate::output::nats::StatsSnapshot, bool)>,
}

impl ReplaySummary {
    /// The one-paragraph summary printed on stderr.
    pub fn paragraph(&self) -> String {
        let c = &self.counters;
        let secs = self.wall.as_secs_f64().max(1e-9);
        let bytes = c.get(C::DecoderBytes);
        let pkts = c.get(C::DecoderPkts);
        let nats = match &self.nats {
            Some((st, true)) => format!("\n{}", st.line()),
            Some((st, false)) => format!("\n{} (not caught up: the rest is sent by the next run)", st.line()),
            None => String::new(),
        };
        format!(
            "picket: {} file(s) read{}: {} packets, {:.1} MB, {} flows, {} alerts, {} events written; {:.2} s wall, {:.2} Gbit/s, {:.0} kpps, {} worker(s){nats}",
            self.files_read,
            match (self.files_failed, self.files_damaged) {
                (0, 0) => String::new(),
                (f, 0) => format!(" ({f} with errors)"),
                (f, d) => format!(" ({} with errors, {d} damaged)", f.max(d)),
            },
            pkts,
            bytes as f64 / 1e6,
            c.get(C::FlowTotal),
            c.get(C::DetectAlert),
            c.get(C::OutputEvents),
            secs,
            bytes as f64 * 8.0 / secs / 1e9,
            pkts as f64 / secs / 1e3,
            self.workers,
        ) + &pcap_log_line(c)
    }
}

/// The summary's line about `output.pcap_log`, when it wrote or left out anything.
fn pcap_log_line(c: &Counters) -> String {
    if c.get(C::PcapLogPkts) == 0 && c.get(C::PcapLogFiles) == 0 && c.get(C::PcapLogRingMemcap) == 0 {
        return String::new();
    }
    format!(
        "\npicket: pcap-log: {} of {} packet(s) of {} flow(s) written to {} file(s); not written: {} over flow_limit, {} over max_files, {} write errors; history not kept: {} pushed out of rings, {} without a ring (ring_memcap), {} too big",
        c.get(C::PcapLogWritten),
        c.get(C::PcapLogPkts),
        c.get(C::PcapLogFlows),
        c.get(C::PcapLogFiles),
        c.get(C::PcapLogCutFlowLimit),
        c.get(C::PcapLogCutMaxFiles),
        c.get(C::PcapLogWriteErrors),
        c.get(C::PcapLogRingEvicted),
        c.get(C::PcapLogRingMemcap),
        c.get(C::PcapLogRingTooBig),
    )
}

enum OutMsg {
    /// A worker's EVE lines (and how many events), its deferred alerts and its mark.
    /// `pcap`: its evidence records for `output.pcap_log`, written before the lines.
    Worker { id: usize, lines: Option<(Vec<u8>, u64)>, pcap: Option<Vec<u8>>, deferred: Vec<DeferredAlert>, mark: Mark },
    /// The `stats` event, formatted by the output thread once every worker is done (given the
    /// ordered stage's counters).
    Stats(StatsFn),
}

type StatsFn = Box<dyn FnOnce(&Counters) -> Vec<u8> + Send>;

/// Runs a replay to the end.
pub fn replay(opts: ReplayOptions) -> anyhow::Result<ReplaySummary> {
    if let Some(w) = &opts.watch {
        let mut src = WatchSource::new(opts.inputs.clone(), w.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
        return replay_from(&opts, &mut src, Vec::new(), |s| s.files());
    }
    let (files, warnings) = expand_inputs(&opts.inputs);
    let mut src = PcapFileSource::new(files);
    replay_from(&opts, &mut src, warnings, |s| s)
}

/// [`replay`] from a file source (`files` gives its counts of files); `warnings` are about the
/// inputs, each counted as a damaged file.
fn replay_from<S: PacketSource>(
    opts: &ReplayOptions,
    src: &mut S,
    mut warnings: Vec<CaptureWarning>,
    files: impl Fn(&S) -> &PcapFileSource,
) -> anyhow::Result<ReplaySummary> {
    let missing_inputs = warnings.len() as u64;
    // The forwarder follows the queue from its own thread while the replay writes it.
    let ncfg = &opts.config.output.nats;
    let forwarder = if ncfg.enabled() {
        let dir = std::path::Path::new(&opts.config.output.spool_dir);
        Some(crate::output::nats::Forwarder::start(
            ncfg,
            &opts.config.sensor.resolved_name(),
            dir,
            opts.metrics.clone(),
        )?)
    } else {
        None
    };
    let run = run_source(opts, src, false, |src, c| {
        c.add(C::CaptureFileErrors, missing_inputs);
        c.add(C::CaptureFilesDamaged, missing_inputs);
        c.add(C::CaptureCaplenOverSnaplen, files(src).over_snaplen);
    })?;
    let mut summary = run.summary;
    warnings.append(&mut summary.warnings);
    summary.warnings = warnings;
    let f = files(src);
    summary.files_read = f.files_opened;
    summary.files_failed = f.files_failed + missing_inputs;
    summary.files_damaged = f.files_damaged + missing_inputs;
    if let Some(f) = forwarder {
        let (r, st) = f.finish(Duration::from_secs(ncfg.drain_timeout_secs));
        match r {
            Ok(caught_up) => {
                summary.counters.merge(&st.counters());
                summary.nats = Some((st, caught_up));
            }
            Err(e) => {
                summary.nats = Some((st, false));
                summary.output_error.get_or_insert(format!("output.nats: {e}"));
            }
        }
    }
    Ok(summary)
}

/// What [`run_source`] gives back: the summary, and the workers' rule profiles when asked for.
pub struct RunOutput {
    /// As for a replay (`files_read`/`files_failed` are left at 0: only the caller knows them).
    pub summary: ReplaySummary,
    /// One per worker, when `profile` was set and rules were loaded.
    pub profiles: Vec<Box<RuleProfile>>,
}

/// Runs every frame of `src` through the pipeline (reader on this thread, workers, output
/// thread), as `picket replay` does for files and `picket bench` for frames held in memory.
/// `end` runs on the reader's counters once the source is exhausted (for counters only the
/// source knows); `opts.inputs` is not read. With `profile`, every worker keeps a per-rule
/// profile (see [`crate::detect::profile`]).
pub fn run_source<S: PacketSource + ?Sized>(
    opts: &ReplayOptions,
    src: &mut S,
    profile: bool,
    end: impl FnOnce(&mut S, &mut Counters),
) -> anyhow::Result<RunOutput> {
    let cfg = &opts.config;
    let nworkers = opts.workers.unwrap_or_else(|| cfg.worker_count()).clamp(1, 1024);
    let sink = match &opts.eve {
        Some(p) => Sink::open(p).map_err(|e| anyhow::anyhow!("{}: cannot open for writing: {e}", p.display()))?,
        None => Sink::Null,
    };
    let mut filter = ReplayFilter::new(&cfg.capture.bpf_filter).map_err(|e| anyhow::anyhow!("{e}"))?;
    let start = Instant::now();
    let (out_tx, out_rx) = bounded::<OutMsg>(64);
    let output = spawn_output(opts, sink, out_rx, nworkers)?;
    let mut progress = Progress::new(opts.progress, opts.verbose);
    let names = (cfg.output.eve.pcap_file && opts.eve.is_some()).then(|| Arc::new(PcapNames::default()));
    let (disp, handles) = spawn_workers(opts, nworkers, profile, &out_tx, &progress.alerts, names.clone())?;

    // Reader: this thread. It shards plain TCP/UDP frames and leaves their decoding to the
    // workers; the rest it decodes (see runtime::ingest).
    let (mut reader_c, now) = read_all(opts, src, disp, nworkers, filter.as_mut(), &mut progress, names.as_deref());
    let mut warnings = src.take_warnings();
    if let Some(f) = filter.as_mut() {
        warnings.extend(f.take_warnings());
    }
    end(src, &mut reader_c);
    if let Some(h) = &opts.metrics {
        h.publish("reader", &reader_c);
    }
    let mut total = reader_c;
    let mut profiles = Vec::new();
    for h in handles {
        match h.join() {
            Ok((c, p)) => {
                total.merge(&c);
                profiles.extend(p);
            }
            Err(_) => anyhow::bail!("a worker thread panicked (a bug: please report it with the capture)"),
        }
    }
    // The stats event: after every worker finished, before the output closes.
    if opts.config.output.writes_stats() {
        let (o, t) = (opts.clone(), total.clone());
        let last_file = names.as_ref().and_then(|n| n.last());
        let _ = out_tx.send(OutMsg::Stats(Box::new(move |ordered: &Counters| {
            let mut t = t;
            t.merge(ordered);
            eve::set_pcap_filename(last_file.as_deref());
            stats_line(&o, &t, now, start)
        })));
    }
    drop(out_tx);
    let (writer, ordered, pcap_log) = match output.join() {
        Ok(w) => w,
        Err(_) => anyhow::bail!("the output thread panicked (a bug: please report it)"),
    };
    total.merge(&writer.counters);
    total.merge(&ordered);
    let output_error = writer.first_error.or_else(|| pcap_log.and_then(|p| p.first_error));
    // Sets with `save`/`state` keep what the rules added, as at a daemon's shutdown.
    for r in crate::detect::dataset::save_all() {
        match r {
            Ok(_) => {}
            Err(m) => eprintln!("picket: error: {m}"),
        }
    }
    let summary = ReplaySummary {
        counters: total,
        warnings,
        files_read: 0,
        files_failed: 0,
        files_damaged: 0,
        wall: start.elapsed(),
        workers: nworkers,
        output_error,
        nats: None,
    };
    Ok(RunOutput { summary, profiles })
}

/// The output thread: owns the EVE sink and the local queue, publishes its counters.
type OutputEnd = (EveWriter, Counters, Option<PcapLogWriter>);

fn spawn_output(
    opts: &ReplayOptions,
    sink: Sink,
    out_rx: Receiver<OutMsg>,
    nworkers: usize,
) -> anyhow::Result<std::thread::JoinHandle<OutputEnd>> {
    let cfg = &opts.config;
    let out_hub = opts.metrics.clone();
    let engine = opts.detect.clone();
    let mut spool_c = Counters::new();
    let spool = if cfg.output.spool_dir.is_empty() {
        None
    } else {
        Some(
            crate::output::spool::Spool::open(&cfg.output, &mut spool_c)
                .map_err(|e| anyhow::anyhow!("{}: cannot open the alert queue: {e}", cfg.output.spool_dir))?,
        )
    };
    let mut pcap_log = PcapLogWriter::new(&cfg.output.pcap_log, &cfg.output.log_dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot create the pcap-log folder: {e}", cfg.output.log_dir))?;
    Ok(std::thread::Builder::new().name("picket-output".into()).spawn(move || {
        let mut w = EveWriter::new(sink);
        w.spool = spool;
        w.counters.merge(&spool_c);
        let mut ordered = OrderedStage::new(engine, nworkers);
        // What is buffered reaches the file within about a second (a watch waiting for
        // captures, a long replay being followed with tail -f): one flush a second at most.
        let mut last_flush = Instant::now();
        loop {
            if last_flush.elapsed() >= Duration::from_secs(1) {
                w.flush();
                last_flush = Instant::now();
            }
            let msg = match out_rx.recv_timeout(Duration::from_secs(1)) {
                Ok(m) => m,
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
            };
            match msg {
                OutMsg::Worker { id, lines, pcap, deferred, mark } => {
                    if let (Some(pl), Some(buf)) = (pcap_log.as_mut(), pcap) {
                        pl.write_records(&buf, &mut w.counters);
                        w.capture_file = pl.current().map(|p| p.to_path_buf());
                    }
                    if let Some((buf, n)) = lines {
                        w.write_lines(&buf, n);
                    }
                    ordered.add(id, deferred, mark, &mut w);
                }
                OutMsg::Stats(f) => {
                    ordered.drain(&mut w);
                    w.write_lines(&f(&ordered.counters), 1);
                }
            }
            if let Some(h) = &out_hub {
                h.publish("output", &w.counters);
            }
        }
        ordered.drain(&mut w);
        w.flush();
        if let Some(pl) = pcap_log.as_mut() {
            pl.flush(&mut w.counters);
        }
        if let Some(h) = &out_hub {
            h.publish("output", &w.counters);
        }
        (w, ordered.counters, pcap_log)
    })?)
}

type WorkerHandle = std::thread::JoinHandle<(Counters, Option<Box<RuleProfile>>)>;

/// The workers, and the reader's side of their queues.
fn spawn_workers(
    opts: &ReplayOptions,
    nworkers: usize,
    profile: bool,
    out_tx: &Sender<OutMsg>,
    alerts: &Arc<AtomicU64>,
    names: Option<Arc<PcapNames>>,
) -> anyhow::Result<(Dispatch, Vec<WorkerHandle>)> {
    let cfg = &opts.config;
    let table = cfg.flow.table_config(nworkers);
    let mut senders: Vec<Sender<Batch>> = Vec::with_capacity(nworkers);
    let (recycle_tx, recycle_rx) = bounded::<Batch>(nworkers * (cfg.runtime.queue_batches + 2));
    let mut handles = Vec::with_capacity(nworkers);
    for id in 0..nworkers {
        let (tx, rx) = bounded::<Batch>(cfg.runtime.queue_batches);
        senders.push(tx);
        let out_tx = out_tx.clone();
        let recycle_tx = recycle_tx.clone();
        let table = table.clone();
        let flow_events = cfg.output.writes_flows();
        let alert_events = cfg.output.eve.wants("alert");
        let detect = opts.detect.clone();
        let hub = opts.metrics.clone();
        let scfg = cfg.stream.engine_config(nworkers);
        let hcfg = cfg.app_config();
        let decoder = decoder_of(cfg);
        let alerts = alerts.clone();
        let tap = Tap::new(&cfg.output.pcap_log, nworkers);
        let records = if opts.eve.is_some() { Records::of(&cfg.output.eve) } else { Records::none() };
        let names = names.clone();
        let ordered = cfg.runtime.ordered;
        handles.push(std::thread::Builder::new().name(format!("picket-w{id}")).spawn(move || {
            let w = Worker::new(id, table, flow_events)
                .with_alert_events(alert_events)
                .with_detect(detect)
                .with_stream(scfg)
                .with_app(hcfg)
                .with_records(records)
                .with_decoder(decoder)
                .with_profile(profile)
                .with_ordered_thresholds(ordered)
                .with_evidence(tap)
                .with_pcap_names(names);
            worker_loop(w, rx, out_tx, recycle_tx, hub, alerts)
        })?);
    }
    Ok((Dispatch::new(senders, recycle_rx, cfg.runtime.batch_packets), handles))
}

/// Reads every frame of `src` and dispatches it; returns the reader's counters and the packet
/// time reached. Dropping the dispatcher at the end closes the workers' queues.
fn read_all<S: PacketSource + ?Sized>(
    opts: &ReplayOptions,
    src: &mut S,
    mut disp: Dispatch,
    nworkers: usize,
    mut filter: Option<&mut ReplayFilter>,
    progress: &mut Progress,
    names: Option<&PcapNames>,
) -> (Counters, Timestamp) {
    let mut reader_c = Counters::new();
    let mut ing = Ingest::new(&opts.config);
    ing.defer = true;
    ing.number_frames = true;
    let mut filtered: u64 = 0;
    let mut bytes: u64 = 0;
    let n = nworkers as u64;
    progress.update(src.position(), 0, 0, false);
    // `pcap_filename`: the position of each file's first frame, published before it is sent.
    let marker = names.and(src.file_marker());
    let mut file_gen = 0;
    loop {
        let more = src.next_batch(&mut |fr| {
            if let (Some(m), Some(n)) = (&marker, names) {
                let g = m.generation();
                if g != file_gen {
                    file_gen = g;
                    if let Some(name) = m.name() {
                        n.publish(ing.frames + 1, name);
                    }
                }
            }
            if let Some(f) = filter.as_deref_mut() {
                if !f.accepts(&fr) {
                    filtered += 1;
                    return;
                }
            }
            bytes += fr.data.len() as u64;
            // Timeouts run at fixed points of the capture: when packet time enters a new
            // second, every worker's batch gets a tick at its current position. Each flow sees the
            // same packets and ticks in the same order whatever the number of workers.
            let now = ing.now;
            let frame_no = ing.frames + 1;
            if fr.ts > now && fr.ts.secs() > now.secs() && now.0 != 0 {
                disp.tick(fr.ts, frame_no);
            }
            let now = ing.now.max(fr.ts);
            ing.frame(&fr, &mut |shard, item| {
                // Packets without a flow are spread by their position in the capture.
                let w = (shard.unwrap_or(frame_no) % n) as usize;
                disp.push(w, &fr, item, now, &mut reader_c);
            });
        });
        let now = ing.now;
        ing.expire(now);
        let pos = src.position();
        if let Some(p) = pos {
            // Live, so that /metrics shows the files as they are read.
            reader_c.set(C::CaptureFiles, p.files_opened);
            reader_c.set(C::CaptureFileErrors, p.files_failed);
            reader_c.set(C::CaptureFilesDamaged, p.files_damaged);
        }
        reader_c.set(C::CaptureFiltered, filtered);
        let done = src.take_finished();
        if !done.is_empty() {
            progress.files_done(&done, pos);
        }
        if let Some(h) = &opts.metrics {
            let mut c = reader_c.clone();
            c.merge(&ing.c);
            h.publish("reader", &c);
        }
        // Chunk boundary: flush partial batches so that a read chunk is released soon, with a
        // position mark for the ordered stage.
        disp.mark(ing.frames);
        disp.flush_all(now, &mut reader_c);
        progress.update(pos, ing.frames, bytes, !more);
        if !more {
            break;
        }
    }
    progress.finish();
    drop(disp);
    let now = ing.now;
    ing.expire(now);
    reader_c.merge(&ing.c);
    (reader_c, now)
}

/// The final `stats` event at packet time `ts` (output counters are only known after the
/// write; the event shows the rest).
fn stats_line(opts: &ReplayOptions, total: &Counters, ts: Timestamp, start: Instant) -> Vec<u8> {
    let mut line = Vec::with_capacity(8192);
    let mut preview = total.clone();
    preview.set(C::FlowActive, 0);
    let mut stats = preview.to_stats_json();
    if let (Some(e), Some(m)) = (&opts.detect, stats.as_object_mut()) {
        let mut ts_buf = Vec::new();
        eve::fmt_ts(&mut ts_buf, ts);
        let engines = serde_json::json!([{
            "id": 0,
            "last_reload": String::from_utf8_lossy(&ts_buf),
            "rules_loaded": e.stats.loaded,
            "rules_failed": e.stats.failed,
            "rules_skipped": e.stats.skipped,
        }]);
        if let Some(serde_json::Value::Object(d)) = m.get_mut("detect") {
            d.insert("engines".into(), engines);
        }
    }
    eve::stats_event(&mut line, ts, start.elapsed().as_secs(), &stats);
    line
}

/// A worker with nothing to write tells the output thread where it is at least once in this
/// many batches: the ordered stage decides the other workers' deferred alerts by the lowest
/// mark (later marks only hold those alerts back longer; the last message has `END`).
const MARK_EVERY: u32 = 16;

fn worker_loop(
    mut w: Worker,
    rx: Receiver<Batch>,
    out: Sender<OutMsg>,
    recycle: Sender<Batch>,
    hub: Option<Arc<MetricsHub>>,
    alerts: Arc<AtomicU64>,
) -> (Counters, Option<Box<RuleProfile>>) {
    let mut alerts_seen = 0;
    let mut silent = 0;
    for mut batch in rx {
        w.process(&batch);
        let a = w.counters.get(C::DetectAlert);
        if a != alerts_seen {
            alerts.fetch_add(a - alerts_seen, Ordering::Relaxed);
            alerts_seen = a;
        }
        if let Some(h) = &hub {
            w.sample_levels();
            h.publish_worker(w.id, &w.counters);
        }
        let lines = w.take_output();
        let pcap = w.take_evidence();
        let (deferred, mark) = w.take_deferred();
        // A batch with nothing to write sends only the worker's mark; that can wait (marks
        // only grow, the next message carries a later one), which spares the output thread a
        // wake-up per batch (a futex call each way, 2% of a worker's time alerts only).
        silent += 1;
        if lines.is_some() || pcap.is_some() || !deferred.is_empty() || silent >= MARK_EVERY {
            silent = 0;
            let _ = out.send(OutMsg::Worker { id: w.id, lines, pcap, deferred, mark });
        }
        batch.clear();
        let _ = recycle.try_send(batch);
    }
    w.finish();
    let lines = w.take_output();
    let pcap = w.take_evidence();
    let (deferred, _) = w.take_deferred();
    let _ = out.send(OutMsg::Worker { id: w.id, lines, pcap, deferred, mark: END });
    if let Some(h) = &hub {
        h.publish_worker(w.id, &w.counters);
    }
    let profile = w.take_profile();
    (w.counters, profile)
}
