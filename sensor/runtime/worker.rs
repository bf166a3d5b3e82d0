//! A worker: owns one shard of the flows (its flow table, later its stream, app-layer and
//! detection state and its Hyperscan scratch) and processes the batches the reader sends it.
//!
//! Shared-nothing: the flow hash decides the worker, so no other thread ever touches these
//! flows; no locks and no work stealing, which keeps packets of one flow in order and the
//! per-flow state in one core's cache. Counters are plain integers, handed back at the end.

use std::sync::Arc;

use bytes::Bytes;

use crate::app::{AppConfig, AppProto, AppStats, FlowApp, Sink};
use crate::capture::{FrameRef, LinkType, Timestamp};
use crate::decode::{flags as dflags, Decoded};
use crate::detect::engine::NO_TX;
use crate::detect::engine::{DetectEngine, DetectScratch, FlowDetect, FlowInfo, StreamData};
use crate::flow::{EndReason, Flow, FlowPkt, FlowState, FlowTable, TableConfig};
use crate::metrics::{Counters, C};
use crate::output::eve;
use crate::output::eve::Json;
use crate::stream::{self, Seg, StreamConfig, StreamEngine, TcpSession, TcpState, MAX_RAW_BLOCKS};

/// A decoded packet: what the worker inspects besides the frame's bytes (which the
/// [`Batch`] holds, or the caller of [`Worker::packet`] passes).
#[derive(Clone, Debug)]
pub struct Pkt {
    /// Packet time.
    pub ts: Timestamp,
    /// Link type.
    pub linktype: LinkType,
    /// Position in the capture (1-based), as Suricata's `pcap_cnt`.
    pub pcap_cnt: u64,
    /// Interface index.
    pub iface: u16,
    /// Decode summary.
    pub d: Decoded,
    /// How the packet meets its flow, when it has one.
    pub flow: Option<FlowPkt>,
    /// This entry only accounts a tunnel's outer layer to its own flow; the same frame is sent
    /// again (to the inner flow's worker) for inspection.
    pub outer_only: bool,
    /// Key hash (0 when no key).
    pub hash: u64,
    /// Checksum validation failed.
    pub bad_checksum: bool,
}

/// Where an entry's bytes are: the batch's copy arena rather than one of its shared chunks.
const ARENA: u16 = u16::MAX;
/// An entry the reader did not decode.
const UNDECODED: u32 = u32::MAX;

/// One frame in a [`Batch`], as small as it can be, since the reader writes one per frame
/// and the worker reads it from another core: where its bytes are, its time and position,
/// and either the reader's decode of it (an index into [`Batch::decoded`]) or what the
/// worker needs to decode it itself ([`Worker::prepare`]).
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// Packet time.
    pub ts: Timestamp,
    /// Position in the capture (1-based), as Suricata's `pcap_cnt`; 0 in live capture.
    pub pcap_cnt: u64,
    /// Offset of the frame in its buffer.
    off: usize,
    /// Length of the frame.
    len: u32,
    /// Index of the reader's decode in [`Batch::decoded`], or `UNDECODED`.
    decoded: u32,
    /// Index of the buffer in [`Batch::bufs`], or `ARENA`.
    buf: u16,
    /// Interface index.
    pub iface: u16,
    /// Link type.
    pub linktype: LinkType,
    /// Validate checksums when the worker decodes the frame.
    pub validate: bool,
}

/// What the reader hands a worker for one frame ([`crate::runtime::ingest::Ingest::frame`]).
#[derive(Debug)]
pub enum Item {
    /// The frame, for the worker to decode (and validate its checksums when told to).
    Undecoded {
        /// Validate checksums.
        validate: bool,
        /// Position in the capture (0 in live capture).
        pcap_cnt: u64,
    },
    /// The frame, decoded by the reader (or a tunnel's outer layer).
    Frame(Pkt),
    /// A datagram reassembled from the frame and earlier fragments, decoded.
    Datagram(Vec<u8>, Pkt),
}

/// Packets for one worker, in capture order, plus the reader's packet clock (for timeouts on
/// idle workers). The frames' bytes are not copied when the capture reads them into shared
/// chunks: the batch holds one reference per chunk, not one per frame. Other frames
/// (live pnet capture, reassembled datagrams) are copied into the batch's arena. Batches go
/// back to the reader emptied, so that none of this is allocated per packet.
#[derive(Debug, Default)]
pub struct Batch {
    /// Frames, in capture order.
    entries: Vec<Entry>,
    /// The reader's decode of the frames it decoded.
    decoded: Vec<Pkt>,
    /// Capture chunks the frames are in.
    bufs: Vec<Bytes>,
    /// Copied frames.
    arena: Vec<u8>,
    /// Latest packet time the reader has seen.
    pub now: Timestamp,
    /// Timeout ticks: run timeouts at the given packet time before the packet at the given
    /// index (index == len: after the last packet). The reader places ticks at fixed points
    /// of the capture, so results do not depend on the number of workers.
    pub ticks: Vec<(u32, Timestamp)>,
}

/// A recycled arena above this size is given back to the allocator (jumbo or GRO frames
/// must not pin memory in every queued batch).
const ARENA_KEEP: usize = 4 << 20;

impl Batch {
    /// An empty batch with room for `n` frames.
    pub fn with_capacity(n: usize) -> Batch {
        Batch { entries: Vec::with_capacity(n), ..Batch::default() }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No frames.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties the batch for reuse (releasing its chunks), keeping its capacity.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.decoded.clear();
        self.bufs.clear();
        self.arena.clear();
        if self.arena.capacity() > ARENA_KEEP {
            self.arena.shrink_to(ARENA_KEEP / 4);
        }
        self.ticks.clear();
    }

    /// Places `data` (the bytes of `fr`, or a datagram built from it): a reference to the
    /// frame's capture chunk when it has one, else a copy in the arena.
    fn place(&mut self, fr: &FrameRef<'_>, data: Option<&[u8]>) -> (u16, usize, u32) {
        if let (None, Some(owner)) = (data, fr.owner()) {
            // The frame's place in its chunk, checked rather than trusted (FrameRef::shared's
            // contract): a frame outside it is copied instead.
            let off = (fr.data.as_ptr() as usize).wrapping_sub(owner.as_ptr() as usize);
            let inside = off.checked_add(fr.data.len()).is_some_and(|end| end <= owner.len());
            if inside {
                let len = fr.data.len() as u32;
                let same = self.bufs.last().is_some_and(|b| b.as_ptr() == owner.as_ptr() && b.len() == owner.len());
                if same {
                    return ((self.bufs.len() - 1) as u16, off, len);
                }
                if self.bufs.len() < ARENA as usize {
                    self.bufs.push(owner.clone());
                    return ((self.bufs.len() - 1) as u16, off, len);
                }
            }
        }
        let bytes = data.unwrap_or(fr.data);
        let off = self.arena.len();
        self.arena.extend_from_slice(bytes);
        (ARENA, off, bytes.len() as u32)
    }

    /// Adds one item the reader made of frame `fr`.
    pub fn push(&mut self, fr: &FrameRef<'_>, item: Item) {
        let ((buf, off, len), pkt, validate, pcap_cnt) = match item {
            Item::Undecoded { validate, pcap_cnt } => (self.place(fr, None), None, validate, pcap_cnt),
            Item::Frame(p) => (self.place(fr, None), Some(p), false, 0),
            Item::Datagram(v, p) => (self.place(fr, Some(&v)), Some(p), false, 0),
        };
        let (decoded, ts, pcap_cnt, linktype) = match pkt {
            Some(p) => {
                let (ts, pc, lt) = (p.ts, p.pcap_cnt, p.linktype);
                self.decoded.push(p);
                ((self.decoded.len() - 1) as u32, ts, pc, lt)
            }
            None => (UNDECODED, fr.ts, pcap_cnt, fr.linktype),
        };
        self.entries.push(Entry { ts, pcap_cnt, off, len, decoded, buf, iface: fr.iface, linktype, validate });
    }

    /// The bytes of an entry of this batch (empty if the entry is not this batch's, which
    /// the decoder then counts as a truncated frame).
    pub fn data(&self, e: &Entry) -> &[u8] {
        let b: &[u8] = if e.buf == ARENA { &self.arena } else { self.bufs.get(e.buf as usize).map_or(&[], |b| b) };
        // No overflow: `off` is a position in a buffer (< isize::MAX), `len` a u32.
        b.get(e.off..e.off + e.len as usize).unwrap_or(&[])
    }

    /// The reader's decode of an entry, if it made one.
    pub fn decoded(&self, e: &Entry) -> Option<&Pkt> {
        if e.decoded == UNDECODED {
            None
        } else {
            self.decoded.get(e.decoded as usize)
        }
    }
}

/// Per-flow state of later stages (stream, app layer, detection).
#[derive(Debug, Default)]
pub struct FlowExt {
    /// TCP session (boxed: only TCP flows that open one pay for it).
    pub tcp: Option<Box<TcpSession>>,
    /// App layer: protocol detection, parser, per-transaction detection state.
    pub app: FlowApp,
    /// Flowbits, IP-only and by_flow threshold state.
    pub detect: FlowDetect,
    /// The worker's engine generation `detect` belongs to (a rule reload starts it afresh).
    pub detect_gen: u64,
}

/// The worker's state.
pub struct Worker {
    /// Worker index.
    pub id: usize,
    /// Flow table.
    pub flows: FlowTable<FlowExt>,
    /// TCP sessions and reassembly.
    pub stream: StreamEngine,
    /// Counters.
    pub counters: Counters,
    /// EVE lines waiting to go to the output thread.
    pub out: Vec<u8>,
    /// Events in `out`.
    pub out_events: u64,
    /// Write flow events.
    pub flow_events: bool,
    detect: Option<(Arc<DetectEngine>, DetectScratch)>,
    blocks: Vec<(u64, u64)>,
    /// App-layer parser settings.
    pub app_cfg: AppConfig,
    /// App-layer counters.
    pub app_stats: AppStats,
    /// Scratch for publishing them.
    app_values: Vec<u64>,
    /// Bumped by every [`Worker::with_detect`], so flow detection state of an old engine
    /// (flowbits, thresholds keyed by rule number) is reset on a flow's next packet.
    detect_gen: u64,
    decoder: crate::decode::Decoder,
}

/// The worker's parts that a flow's end needs (everything but the flow table), so that the
/// table can hand ending flows to them while it is borrowed.
struct EndCtx<'a> {
    out: &'a mut Vec<u8>,
    out_events: &'a mut u64,
    flow_events: bool,
    stream: &'a mut StreamEngine,
    detect: &'a mut Option<(Arc<DetectEngine>, DetectScratch)>,
    blocks: &'a mut Vec<(u64, u64)>,
    app_cfg: &'a AppConfig,
    app_stats: &'a mut AppStats,
}

/// Suricata's flow state for a TCP session state.
fn flow_state_of(s: TcpState) -> FlowState {
    match s {
        TcpState::None | TcpState::SynSent | TcpState::SynRecv => FlowState::New,
        TcpState::LastAck | TcpState::TimeWait | TcpState::Closed => FlowState::Closed,
        _ => FlowState::Established,
    }
}

/// A packet standing for a flow's direction at its end (Suricata's stream-end pseudo packet).
fn pseudo_decoded(f: &Flow<FlowExt>, to_server: bool) -> Decoded {
    let t = &f.tuple;
    let (src, dst, sp, dp) = if to_server { (t.src, t.dst, t.sp, t.dp) } else { (t.dst, t.src, t.dp, t.sp) };
    let fam = if f.key.family == 6 { dflags::IPV6 } else { dflags::IPV4 };
    Decoded {
        flags: fam | dflags::L4,
        src,
        dst,
        sp,
        dp,
        proto: crate::decode::proto::TCP,
        tcp_flags: 0x10,
        depth: f.key.depth,
        vlan: f.key.vlan,
        vlan_n: f.key.vlan.iter().filter(|&&v| v != 0).count() as u8,
        ..Decoded::default()
    }
}

impl EndCtx<'_> {
    /// A flow ends: what is left of its streams is inspected (and may alert), its session is
    /// freed, and its flow event written.
    fn end(&mut self, f: &mut Flow<FlowExt>, why: EndReason, c: &mut Counters) {
        let ports = (f.tuple.sp, f.tuple.dp);
        if let Some(mut ssn) = f.ext.tcp.take() {
            let left = {
                let mut sink = Sink { app: &mut f.ext.app, cfg: self.app_cfg, stats: self.app_stats, ports };
                self.stream.finish(&mut ssn, &mut sink, c)
            };
            if let Some((engine, scratch)) = self.detect.as_mut() {
                for (d, &due) in left.iter().enumerate() {
                    if !due || f.ext.detect.pass || f.ext.app.no_inspection {
                        continue;
                    }
                    c.inc(C::TcpPseudo);
                    let (chunks, n, progress) = raw_chunks(&ssn, d, true, self.blocks, c);
                    let sd = StreamData { added: false, chunks: &chunks[..n], pseudo: true };
                    let to_server = d == 0;
                    let dd = pseudo_decoded(f, to_server);
                    let info = flow_info(f, to_server);
                    if f.ext.detect.bits.len() * 64 < engine.flowbits {
                        f.ext.detect = engine.new_flow_state();
                    }
                    engine.run(
                        scratch,
                        &[],
                        &dd,
                        f.last.secs(),
                        Some((&info, &mut f.ext.detect, f.hash)),
                        Some(&sd),
                        c,
                    );
                    ssn.raw_done(d, progress);
                    if !scratch.alerts.is_empty() {
                        f.alerted = true;
                        let ap = alert_packet(f.last, &dd, 0, Some(to_server), true, &f.ext.app);
                        write_alerts(self.out, self.out_events, engine, scratch, &ap, Some(&*f), c);
                    }
                }
            }
            let mut slot = Some(ssn);
            self.stream.release(&mut slot);
        }
        // transactions left: inspected as complete (Suricata's flow-end pseudo packets)
        if let Some((engine, scratch)) = self.detect.as_mut() {
            if f.ext.app.proto.is_known() && !f.ext.detect.pass {
                for to_server in [true, false] {
                    let dd = pseudo_decoded(f, to_server);
                    if f.key.proto != crate::decode::proto::TCP {
                        continue;
                    }
                    let info = flow_info(f, to_server);
                    if f.ext.detect.bits.len() * 64 < engine.flowbits {
                        f.ext.detect = engine.new_flow_state();
                    }
                    let (hash, last) = (f.hash, f.last);
                    engine.run_app(
                        scratch,
                        &mut f.ext.app,
                        &[],
                        &dd,
                        last.secs(),
                        &info,
                        &mut f.ext.detect,
                        hash,
                        true,
                        c,
                    );
                    if !scratch.alerts.is_empty() {
                        f.alerted = true;
                        write_app_alerts(
                            self.out,
                            self.out_events,
                            engine,
                            scratch,
                            f,
                            &dd,
                            last,
                            0,
                            to_server,
                            true,
                            c,
                        );
                    }
                }
            }
        }
        let proto = f.ext.app.proto;
        if self.flow_events {
            let ap = match proto {
                AppProto::Unknown => None,
                p => Some(p.name()),
            };
            eve::flow_event(self.out, f, why, ap);
            *self.out_events += 1;
        }
    }
}

/// What detection needs to know about a flow for a packet of one direction.
fn flow_info(f: &Flow<FlowExt>, to_server: bool) -> FlowInfo {
    FlowInfo {
        to_server,
        state: f.state,
        tcp_established: f.tcp_established,
        app_proto: f.ext.app.proto,
        no_payload: f.ext.app.no_inspection,
        stream_size: f.ext.tcp.as_ref().map(|s| {
            let size = |d: &stream::Dir| d.next_seq.wrapping_sub(d.isn);
            [size(&s.dirs[0]), size(&s.dirs[1])]
        }),
    }
}

fn alert_packet<'a>(
    ts: Timestamp,
    d: &'a Decoded,
    pcap_cnt: u64,
    to_server: Option<bool>,
    pseudo: bool,
    app: &FlowApp,
) -> eve::AlertPacket<'a> {
    let app_proto = match app.proto {
        AppProto::Unknown => None,
        p => Some(p.name()),
    };
    eve::AlertPacket { ts, d, pcap_cnt, to_server, pseudo, app_proto, tx_id: None, meta: None }
}

/// Writes the alerts of app-layer rules, each with its transaction's id and metadata.
#[allow(clippy::too_many_arguments)]
fn write_app_alerts(
    out: &mut Vec<u8>,
    n: &mut u64,
    engine: &DetectEngine,
    scratch: &DetectScratch,
    f: &Flow<FlowExt>,
    d: &Decoded,
    ts: Timestamp,
    pcap_cnt: u64,
    to_server: bool,
    pseudo: bool,
    c: &mut Counters,
) {
    let app = &f.ext.app;
    for a in &scratch.alerts {
        let rule = alert_rule(engine, a.rule);
        let tx = a.tx;
        let meta = move |j: &mut Json<'_>| {
            if let Some(t) = app.tx(tx) {
                t.write_alert_eve(j);
            }
        };
        let mut ap = alert_packet(ts, d, pcap_cnt, Some(to_server), pseudo, app);
        if tx != NO_TX {
            ap.tx_id = Some(tx);
            ap.meta = Some(&meta);
        }
        eve::alert_event(out, &ap, Some(f), &rule);
        *n += 1;
        c.inc(C::DetectAlert);
    }
}

/// The rule part of an alert event.
fn alert_rule(engine: &DetectEngine, rn: u32) -> eve::AlertRule<'_> {
    let cr = &engine.rules[rn as usize];
    eve::AlertRule { action: cr.rule.action.eve_name(), gid: cr.rule.gid, sid: cr.rule.sid, rest_json: &cr.alert_json }
}

/// The raw stream blocks of direction `d` due for inspection, as slices of the session's
/// data, with their count and the raw progress to record once detection ran on them.
fn raw_chunks<'s>(
    ssn: &'s TcpSession,
    d: usize,
    eof: bool,
    blocks: &mut Vec<(u64, u64)>,
    c: &mut Counters,
) -> ([&'s [u8]; MAX_RAW_BLOCKS], usize, u64) {
    let progress = stream::raw_blocks(ssn, d, eof, blocks);
    let mut chunks: [&[u8]; MAX_RAW_BLOCKS] = [&[]; MAX_RAW_BLOCKS];
    let n = blocks.len().min(MAX_RAW_BLOCKS);
    for (slot, &(o, l)) in chunks.iter_mut().zip(blocks.iter()) {
        *slot = ssn.bytes(d, o, l);
    }
    c.add(C::StreamRawInspections, n as u64);
    (chunks, n, progress)
}

fn write_alerts(
    out: &mut Vec<u8>,
    n: &mut u64,
    engine: &DetectEngine,
    scratch: &DetectScratch,
    ap: &eve::AlertPacket<'_>,
    flow: Option<&Flow<FlowExt>>,
    c: &mut Counters,
) {
    for a in &scratch.alerts {
        let rule = alert_rule(engine, a.rule);
        eve::alert_event(out, ap, flow, &rule);
        *n += 1;
        c.inc(C::DetectAlert);
    }
}

impl Worker {
    /// A worker with a flow table sized by `table`.
    pub fn new(id: usize, table: TableConfig, flow_events: bool) -> Self {
        crate::metrics::install_ext(|| {
            let mut defs = Vec::new();
            AppStats::default().each(true, &mut |name, help, _| {
                defs.push(crate::metrics::ExtCounter { name: name.to_string(), help: help.to_string() })
            });
            defs
        });
        Worker {
            id,
            flows: FlowTable::new(table),
            stream: StreamEngine::new(StreamConfig::default(), false),
            counters: Counters::new(),
            out: Vec::with_capacity(1 << 16),
            out_events: 0,
            flow_events,
            detect: None,
            blocks: Vec::with_capacity(MAX_RAW_BLOCKS),
            app_cfg: AppConfig::default(),
            app_stats: AppStats::default(),
            app_values: Vec::new(),
            detect_gen: 0,
            decoder: crate::decode::Decoder::default(),
        }
    }

    /// Sets the decoder settings (tunnel ports) for frames the reader left undecoded.
    pub fn with_decoder(mut self, d: crate::decode::Decoder) -> Self {
        self.decoder = d;
        self
    }

    /// Decodes a frame the reader only sharded: decode, checksum validation (when the reader's
    /// settled mode says so), flow key and hash, as the reader does for the frames it decodes
    /// ([`crate::runtime::ingest`]). Decoder and checksum counters count here.
    pub fn prepare(&mut self, data: &[u8], e: &Entry) -> Pkt {
        let c = &mut self.counters;
        let mut p = Pkt {
            ts: e.ts,
            linktype: e.linktype,
            pcap_cnt: e.pcap_cnt,
            iface: e.iface,
            d: Decoded::default(),
            flow: None,
            outer_only: false,
            hash: 0,
            bad_checksum: false,
        };
        self.decoder.decode(e.linktype, data, &mut p.d, c);
        if e.validate && crate::decode::checksum::verify(data, &p.d) == Some(false) {
            p.bad_checksum = true;
            crate::decode::checksum::count_invalid(&p.d, c);
        }
        p.flow = crate::flow::FlowKey::of(&p.d, data.len());
        p.hash = p.flow.as_ref().map_or(0, |f| f.key.hash());
        p
    }

    /// Gives the worker a detection engine (and allocates its scratch space).
    pub fn with_detect(mut self, engine: Option<Arc<DetectEngine>>) -> Self {
        self.stream.raw = engine.as_ref().is_some_and(|e| e.inspects_streams());
        self.detect_gen += 1;
        self.detect = engine.map(|e| {
            let s = e.new_scratch();
            (e, s)
        });
        self
    }

    /// Sets the app-layer parser settings (before the first packet).
    pub fn with_app(mut self, cfg: AppConfig) -> Self {
        self.app_cfg = cfg;
        self
    }

    /// Turns per-rule profiling on (`picket bench --profile`; a no-op without rules).
    pub fn with_profile(mut self, on: bool) -> Self {
        if let (true, Some((e, s))) = (on, self.detect.as_mut()) {
            s.profile = Some(Box::new(crate::detect::profile::RuleProfile::new(e.rules.len())));
        }
        self
    }

    /// Takes the rule profile, when profiling.
    pub fn take_profile(&mut self) -> Option<Box<crate::detect::profile::RuleProfile>> {
        self.detect.as_mut().and_then(|(_, s)| s.profile.take())
    }

    /// Sets the stream settings (before the first packet).
    pub fn with_stream(mut self, cfg: StreamConfig) -> Self {
        let raw = self.stream.raw;
        self.stream = StreamEngine::new(cfg, raw);
        self
    }

    fn parts(&mut self) -> (&mut FlowTable<FlowExt>, &mut Counters, EndCtx<'_>) {
        (
            &mut self.flows,
            &mut self.counters,
            EndCtx {
                out: &mut self.out,
                out_events: &mut self.out_events,
                flow_events: self.flow_events,
                stream: &mut self.stream,
                detect: &mut self.detect,
                blocks: &mut self.blocks,
                app_cfg: &self.app_cfg,
                app_stats: &mut self.app_stats,
            },
        )
    }

    /// Processes one batch.
    pub fn process(&mut self, batch: &Batch) {
        self.process_span(batch, 0..batch.len());
    }

    /// Processes the frames `span` of a batch, with the timeout ticks placed before them (and
    /// those after the last frame when the span ends the batch).
    pub fn process_span(&mut self, batch: &Batch, span: std::ops::Range<usize>) {
        let t0 = std::time::Instant::now();
        self.process_inner(batch, span);
        self.counters.add(C::WorkerBusyNs, t0.elapsed().as_nanos() as u64);
        self.sync_app_counters();
    }

    /// Publishes the app layer's counters into the worker's counters.
    fn sync_app_counters(&mut self) {
        let mut values = std::mem::take(&mut self.app_values);
        values.clear();
        self.app_stats.each(false, &mut |_, _, v| values.push(v));
        self.counters.set_ext(values.iter().copied());
        self.app_values = values;
    }

    fn process_inner(&mut self, batch: &Batch, span: std::ops::Range<usize>) {
        let last = span.end >= batch.len();
        let mut ticks = batch.ticks.iter().filter(|&&(at, _)| at as usize >= span.start).peekable();
        for i in span.clone() {
            let Some(e) = batch.entries.get(i) else { break };
            while let Some(&&(at, ts)) = ticks.peek() {
                if at as usize > i {
                    break;
                }
                self.tick(ts);
                ticks.next();
            }
            let data = batch.data(e);
            match batch.decoded(e) {
                Some(p) => self.packet(data, p),
                None => {
                    let p = self.prepare(data, e);
                    self.packet(data, &p);
                }
            }
        }
        // Ticks after the span's last frame belong to the next span, or end the batch.
        if last {
            for &(_, ts) in ticks {
                self.tick(ts);
            }
        }
    }

    /// Runs timeouts up to packet time `now`.
    pub fn tick(&mut self, now: Timestamp) {
        let (flows, c, mut ctx) = self.parts();
        flows.expire(now, c, &mut |(f, why), c| ctx.end(f, why, c));
    }

    /// Processes one packet (`data`: the frame's bytes).
    pub fn packet(&mut self, data: &[u8], p: &Pkt) {
        self.counters.inc(C::FlowWrkPktsToWorker);
        let tcp = p.d.proto == crate::decode::proto::TCP && p.d.has_l4() && p.d.is_ip();
        if tcp && !p.outer_only {
            let fl = p.d.tcp_flags;
            if fl & 0x12 == 0x12 {
                self.counters.inc(C::TcpSynack);
            } else if fl & 0x02 != 0 {
                self.counters.inc(C::TcpSyn);
            }
            if fl & 0x04 != 0 {
                self.counters.inc(C::TcpRst);
            }
        }
        let mut slot = None;
        let mut to_server = true;
        if let Some(fp) = &p.flow {
            let (flows, c, mut ctx) = self.parts();
            let r = flows.packet(fp, p.hash, &p.d, p.ts, p.iface, c, &mut |(f, why), c| ctx.end(f, why, c));
            match r {
                Some(l) => {
                    slot = Some(l.slot);
                    to_server = l.to_server;
                }
                None => self.counters.inc(C::FlowNoFlow),
            }
        } else {
            self.counters.inc(C::FlowNoFlow);
        }
        if p.outer_only {
            return;
        }
        // stream (TCP) and app layer
        let mut sres = None;
        if let Some(sl) = slot {
            let f = self.flows.get_mut(sl);
            let ports = (f.tuple.sp, f.tuple.dp);
            if tcp && !p.bad_checksum {
                let seg = Seg {
                    seq: p.d.tcp_seq,
                    ack: p.d.tcp_ack,
                    flags: p.d.tcp_flags,
                    win: p.d.tcp_win,
                    payload: p.d.payload(data),
                };
                let FlowExt { tcp: ssn, app, .. } = &mut f.ext;
                let mut sink = Sink { app, cfg: &self.app_cfg, stats: &mut self.app_stats, ports };
                let o = self.stream.packet(ssn, to_server, &seg, &mut sink, &mut self.counters);
                if let (true, Some(s)) = (f.ext.app.no_inspection, f.ext.tcp.as_deref_mut()) {
                    s.disable_raw();
                }
                let st = f.ext.tcp.as_deref().map(|s| (s.state, s.dirs[0].isn));
                if let Some((state, isn)) = st {
                    let sess = Some((isn, o.established, state >= TcpState::LastAck));
                    self.flows.set_tcp(sl, flow_state_of(state), sess);
                    sres = Some(o);
                }
            } else if p.d.proto == crate::decode::proto::UDP && p.d.has_l4() {
                let payload = p.d.payload(data);
                f.ext.app.udp(to_server, ports, payload, &self.app_cfg, &mut self.app_stats);
            }
        }
        let Some((engine, scratch)) = self.detect.as_mut() else {
            if let Some(sl) = slot {
                self.flows.get_mut(sl).ext.app.free_txs();
            }
            return;
        };
        let ts_secs = p.ts.secs();
        match slot {
            Some(sl) => {
                let f = self.flows.get_mut(sl);
                let info = flow_info(f, to_server);
                if f.ext.detect.bits.len() * 64 < engine.flowbits || f.ext.detect_gen != self.detect_gen {
                    f.ext.detect = engine.new_flow_state();
                    f.ext.detect_gen = self.detect_gen;
                }
                let hash = f.hash;
                let FlowExt { tcp: ssn, detect: fd, .. } = &mut f.ext;
                match (sres, ssn.as_deref_mut()) {
                    (Some(o), Some(ssn)) => {
                        let d = if to_server { 0 } else { 1 };
                        let (chunks, n, progress) = if o.raw_ready {
                            let (ch, n, pr) = raw_chunks(ssn, d, false, &mut self.blocks, &mut self.counters);
                            (ch, n, Some(pr))
                        } else {
                            ([&[][..]; MAX_RAW_BLOCKS], 0, None)
                        };
                        let sd = StreamData { added: o.stream_add, chunks: &chunks[..n], pseudo: false };
                        engine.run(
                            scratch,
                            data,
                            &p.d,
                            ts_secs,
                            Some((&info, fd, hash)),
                            Some(&sd),
                            &mut self.counters,
                        );
                        if let Some(pr) = progress {
                            ssn.raw_done(d, pr);
                        }
                        if fd.pass {
                            ssn.disable_raw();
                        }
                    }
                    _ => engine.run(scratch, data, &p.d, ts_secs, Some((&info, fd, hash)), None, &mut self.counters),
                }
                if !scratch.alerts.is_empty() {
                    f.alerted = true;
                    let f = self.flows.get(sl);
                    let ap = alert_packet(p.ts, &p.d, p.pcap_cnt, Some(to_server), false, &f.ext.app);
                    write_alerts(
                        &mut self.out,
                        &mut self.out_events,
                        engine,
                        scratch,
                        &ap,
                        Some(f),
                        &mut self.counters,
                    );
                }
                // app-layer transactions
                let f = self.flows.get_mut(sl);
                if f.ext.app.proto.is_known() {
                    engine.run_app(
                        scratch,
                        &mut f.ext.app,
                        data,
                        &p.d,
                        ts_secs,
                        &info,
                        &mut f.ext.detect,
                        hash,
                        false,
                        &mut self.counters,
                    );
                    if !scratch.alerts.is_empty() {
                        f.alerted = true;
                        let f = self.flows.get(sl);
                        write_app_alerts(
                            &mut self.out,
                            &mut self.out_events,
                            engine,
                            scratch,
                            f,
                            &p.d,
                            p.ts,
                            p.pcap_cnt,
                            to_server,
                            false,
                            &mut self.counters,
                        );
                    }
                    self.flows.get_mut(sl).ext.app.free_txs();
                }
            }
            None => {
                engine.run(scratch, data, &p.d, ts_secs, None, None, &mut self.counters);
                if !scratch.alerts.is_empty() {
                    let ap = eve::AlertPacket {
                        ts: p.ts,
                        d: &p.d,
                        pcap_cnt: p.pcap_cnt,
                        to_server: None,
                        pseudo: false,
                        app_proto: None,
                        tx_id: None,
                        meta: None,
                    };
                    write_alerts(
                        &mut self.out,
                        &mut self.out_events,
                        engine,
                        scratch,
                        &ap,
                        None::<&Flow<FlowExt>>,
                        &mut self.counters,
                    );
                }
            }
        }
    }

    /// Ends every flow (end of input).
    pub fn finish(&mut self) {
        let (flows, c, mut ctx) = self.parts();
        flows.drain(c, &mut |(f, why), c| ctx.end(f, why, c));
        self.counters.set(C::FlowActive, self.flows.len() as u64);
        self.counters.set(C::TcpActiveSessions, self.stream.sessions as u64);
        self.sync_app_counters();
        self.counters.set(C::TcpReassemblyMemuse, self.stream.mem.peak as u64);
    }

    /// Takes the pending EVE lines (and how many events they hold).
    pub fn take_output(&mut self) -> Option<(Vec<u8>, u64)> {
        if self.out.is_empty() {
            return None;
        }
        let buf = std::mem::replace(&mut self.out, Vec::with_capacity(1 << 16));
        let n = std::mem::take(&mut self.out_events);
        Some((buf, n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::FrameRef;
    use crate::flow::{TableConfig, Timeouts};
    use crate::runtime::ingest::Ingest;
    use etherparse::PacketBuilder;

    fn udp(sp: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(sp, 53)
            .write(&mut f, payload)
            .unwrap_or_default();
        f
    }

    fn table() -> TableConfig {
        let to = Timeouts {
            new: 30,
            established: 30,
            closed: 5,
            emergency_new: 10,
            emergency_established: 10,
            emergency_closed: 5,
        };
        TableConfig { memcap: 1 << 20, timeouts: [to; 4], emergency_recovery_percent: 30 }
    }

    #[test]
    fn counters_doc_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md");
        // the app layer names its counters when a worker is made
        let _ = Worker::new(0, table(), false);
        let want = crate::metrics::counters_markdown();
        if std::env::var_os("PICKET_REGEN_DOCS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(have == want, "docs/metrics.md is out of date: run PICKET_REGEN_DOCS=1 cargo test --release --lib counters_doc");
    }

    #[test]
    fn a_batch_holds_one_reference_per_chunk_and_copies_the_rest() {
        let (a, b) = (udp(1000, b"first"), udp(1001, b"second"));
        let chunk = Bytes::from([a.clone(), b.clone()].concat());
        let ts = Timestamp::from_parts(1, 0);
        let mut batch = Batch::with_capacity(8);
        let fa = FrameRef::shared(&chunk, &chunk[..a.len()], ts, a.len() as u32, LinkType::ETHERNET, 0);
        let fb = FrameRef::shared(&chunk, &chunk[a.len()..], ts, b.len() as u32, LinkType::ETHERNET, 1);
        batch.push(&fa, Item::Undecoded { validate: true, pcap_cnt: 1 });
        batch.push(&fb, Item::Undecoded { validate: false, pcap_cnt: 2 });
        assert_eq!(batch.bufs.len(), 1, "two frames of one chunk: one reference");
        assert!(batch.arena.is_empty());
        // a frame without a shared chunk (pnet) and a datagram are copied
        let c = udp(1002, b"third");
        let fc = FrameRef::borrowed(&c, ts, c.len() as u32, LinkType::ETHERNET, 2);
        batch.push(&fc, Item::Undecoded { validate: false, pcap_cnt: 3 });
        let mut w = Worker::new(0, table(), false);
        let e = batch.entries[0];
        let p = w.prepare(batch.data(&e), &e);
        batch.push(&fa, Item::Datagram(b"dgram".to_vec(), p.clone()));
        batch.push(&fb, Item::Frame(p));
        assert_eq!(batch.len(), 5);
        assert_eq!(batch.bufs.len(), 1);
        let data: Vec<&[u8]> = batch.entries.iter().map(|e| batch.data(e)).collect();
        assert_eq!(data, vec![&a[..], &b[..], &c[..], &b"dgram"[..], &b[..]]);
        let decoded: Vec<bool> = batch.entries.iter().map(|e| batch.decoded(e).is_some()).collect();
        assert_eq!(decoded, vec![false, false, false, true, true]);
        assert_eq!((batch.entries[0].pcap_cnt, batch.entries[1].iface, batch.entries[0].validate), (1, 1, true));
        assert!(!chunk.is_unique(), "the batch holds the chunk");
        batch.clear();
        assert!(batch.is_empty() && batch.bufs.is_empty() && batch.arena.is_empty() && batch.decoded.is_empty());
    }

    #[test]
    fn processing_a_batch_in_spans_equals_processing_it_whole() {
        // Flows 1000 and 1001 start at t=1; a tick at t=100 before the third frame ends both
        // (UDP new timeout 30 s); flow 1002 and a new flow 1000 end at the tick after the last
        // frame.
        let frames: Vec<(Vec<u8>, u64)> =
            vec![(udp(1000, b"a"), 1), (udp(1001, b"b"), 1), (udp(1002, b"c"), 100), (udp(1000, b"d"), 100)];
        let cfg = crate::config::Config::default();
        let mut batch = Batch::with_capacity(8);
        let mut ing = Ingest::new(&cfg);
        ing.defer = true;
        ing.number_frames = true;
        for (i, (f, t)) in frames.iter().enumerate() {
            if i == 2 {
                batch.ticks.push((2, Timestamp::from_parts(100, 0)));
            }
            let fr = FrameRef::borrowed(f, Timestamp::from_parts(*t, 0), f.len() as u32, LinkType::ETHERNET, 0);
            ing.frame(&fr, &mut |_, item| batch.push(&fr, item));
        }
        batch.ticks.push((4, Timestamp::from_parts(1000, 0)));
        let run = |spans: &[(usize, usize)]| {
            let mut w = Worker::new(0, table(), true);
            for &(lo, hi) in spans {
                w.process_span(&batch, lo..hi);
            }
            let out = w.take_output().map(|(b, _)| b).unwrap_or_default();
            (String::from_utf8_lossy(&out).into_owned(), w.counters.get(C::FlowTimeoutEvicted), w.flows.len())
        };
        let whole = run(&[(0, 4)]);
        assert_eq!((whole.1, whole.2), (4, 0), "four flows ended by timeout, none left: {}", whole.0);
        let ports: Vec<&str> = whole.0.lines().map(|l| &l[l.find("src_port").unwrap_or(0)..][..14]).collect();
        assert_eq!(ports, ["src_port\":1000", "src_port\":1001", "src_port\":1002", "src_port\":1000"]);
        for spans in [&[(0, 2), (2, 4)][..], &[(0, 1), (1, 3), (3, 4)], &[(0, 3), (3, 4)], &[(0, 4), (4, 4)]] {
            assert_eq!(run(spans), whole, "spans {spans:?}");
        }
        // a span that does not end the batch leaves the last tick alone
        assert_eq!(run(&[(0, 3)]).1, 2);
    }
}
