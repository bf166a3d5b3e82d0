//! A worker: owns one shard of the flows (its flow table, TCP sessions, app-layer and
//! detection state and its Hyperscan scratch) and processes the batches the reader sends it.
//!
//! Shared-nothing: the flow hash decides the worker, so no other thread ever touches these
//! flows; no locks and no work stealing, which keeps packets of one flow in order and the
//! per-flow state in one core's cache. Counters are plain integers, handed back at batch
//! boundaries. Per packet: flow lookup, stream and app layer, then the inspection pipeline
//! ([`super::inspect`]) that flow ends share.

use std::sync::Arc;

pub(crate) use super::batch::{Batch, Entry, Item, Pkt};
use super::inspect::{Inspector, PacketView, RawStream};
use super::records::{PacketRef, Records};
use super::replay_order::{DeferQueue, DeferredAlert, Mark};
use crate::app::{AppConfig, AppSlot, AppStats, FlowMeta, Sink};
use crate::capture::Timestamp;
use crate::decode::Decoded;
use crate::detect::engine::{DetectEngine, DetectScratch, FlowDetect};
use crate::evidence::tap::{FlowEvidence, Tap};
use crate::flow::{EndReason, Flow, FlowState, FlowTable, TableConfig};
use crate::metrics::{Counters, C};
use crate::output::eve;
use crate::stream::{Outcome, Seg, StreamConfig, StreamEngine, TcpSession, TcpState, MAX_RAW_BLOCKS};

/// Per-flow state of later stages (stream, app layer, detection).
#[derive(Debug, Default)]
pub(crate) struct FlowExt {
    /// TCP session (boxed: only TCP flows that open one pay for it).
    pub tcp: Option<Box<TcpSession>>,
    /// App layer: protocol identification, parser, per-transaction detection state (made
    /// with the flow's first data: most flows carry none).
    pub app: AppSlot,
    /// Flowbits, IP-only and by_flow threshold state.
    pub detect: FlowDetect,
    /// The worker's engine generation `detect` belongs to (a rule reload starts it afresh).
    pub detect_gen: u64,
    /// Evidence (`output.pcap_log`): the flow's recent packets, whether it is being logged.
    pub evidence: FlowEvidence,
}

/// The worker's state.
pub(crate) struct Worker {
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
    /// Write alert events (they are counted either way).
    pub alert_events: bool,
    detect: Option<(Arc<DetectEngine>, DetectScratch)>,
    blocks: Vec<(u64, u64)>,
    /// App-layer parser settings.
    pub app_cfg: AppConfig,
    /// App-layer counters.
    pub app_stats: AppStats,
    /// Scratch for publishing them.
    app_values: Vec<u64>,
    /// Which app-layer records are written.
    records: Records,
    /// Bumped by every [`Worker::with_detect`], so flow detection state of an old engine
    /// (flowbits, thresholds keyed by rule number) is reset on a flow's next packet.
    detect_gen: u64,
    decoder: crate::decode::Decoder,
    /// Alerts deferred to replay's ordered stage, and where the worker is in the capture.
    deferred: DeferQueue,
    /// Defer shared thresholds to the ordered stage (replay).
    ordered: bool,
    /// Evidence packets for `output.pcap_log`.
    tap: Tap,
    /// Replay with `output.eve.pcap_file`: which file the records name.
    pcap_names: Option<super::pcap_names::PcapNameCursor>,
}

/// The worker's parts that a flow's end needs (everything but the flow table), so that the
/// table can hand ending flows to them while it is borrowed.
struct EndCtx<'a> {
    out: &'a mut Vec<u8>,
    out_events: &'a mut u64,
    deferred: &'a mut DeferQueue,
    flow_events: bool,
    alert_events: bool,
    stream: &'a mut StreamEngine,
    detect: &'a mut Option<(Arc<DetectEngine>, DetectScratch)>,
    detect_gen: u64,
    blocks: &'a mut Vec<(u64, u64)>,
    app_cfg: &'a AppConfig,
    app_stats: &'a mut AppStats,
    records: &'a Records,
    tap: &'a mut Tap,
}

/// The flow's rule variables rendered for its records and flow event (EVE `traffic` and
/// `metadata`): empty when the flow holds none, or holds an older engine's.
fn flow_vars<'s>(
    detect: &'s mut Option<(Arc<DetectEngine>, DetectScratch)>,
    engine_gen: u64,
    f: &Flow<FlowExt>,
) -> &'s [u8] {
    match detect.as_mut() {
        Some((engine, scratch)) if f.ext.detect_gen == engine_gen => engine.render_flow_vars(&f.ext.detect, scratch),
        _ => &[],
    }
}

/// Suricata's flow state for a TCP session state.
fn flow_state_of(s: TcpState) -> FlowState {
    match s {
        TcpState::None | TcpState::SynSent | TcpState::SynRecv => FlowState::New,
        TcpState::LastAck | TcpState::TimeWait | TcpState::Closed => FlowState::Closed,
        _ => FlowState::Established,
    }
}

impl EndCtx<'_> {
    /// A flow ends: what is left of its streams and its transactions is inspected (and may
    /// alert), its session is freed, and its flow event written.
    fn end(&mut self, f: &mut Flow<FlowExt>, why: EndReason, c: &mut Counters) {
        if f.ext.tcp.is_some() {
            // each direction as Suricata's stream-end pseudo packet of it: the rest of its
            // stream to the app layer, then its packet and transaction inspection; to server
            // first. Protocol detection may turn the flow around on the first: that side's
            // packet goes to the client then, and the other side (index 0 now) is next.
            let mut d = 0;
            for _ in 0..2 {
                let flow = FlowMeta::of(f, f.last);
                let due = {
                    let FlowExt { tcp, app, .. } = &mut f.ext;
                    let Some(ssn) = tcp.as_deref_mut() else { break };
                    let mut sink = Sink { app, cfg: self.app_cfg, stats: self.app_stats, flow };
                    self.stream.finish_dir(ssn, d, &mut sink, c)
                };
                if f.ext.app.take_reversed() {
                    f.reverse();
                    c.inc(C::FlowReversed);
                    d = 1 - d;
                }
                if let Some((engine, scratch)) = self.detect.as_mut() {
                    let mut insp = Inspector {
                        engine,
                        scratch,
                        out: self.out,
                        out_events: self.out_events,
                        alerts: self.alert_events,
                        deferred: self.deferred,
                    };
                    insp.stream_end(f, d == 0, due, self.blocks, self.detect_gen, c);
                    insp.app_end(f, d == 0, self.blocks, self.detect_gen, c);
                }
                d = 1 - d;
            }
            self.stream.release(&mut f.ext.tcp);
        } else if let Some((engine, scratch)) = self.detect.as_mut() {
            let mut insp = Inspector {
                engine,
                scratch,
                out: self.out,
                out_events: self.out_events,
                alerts: self.alert_events,
                deferred: self.deferred,
            };
            for to_server in [true, false] {
                insp.app_end(f, to_server, &[], self.detect_gen, c);
            }
        }
        let vars = flow_vars(self.detect, self.detect_gen, f);
        if self.records.on_for_packet(f.ext.app.proto()) {
            self.records.at_flow_end(f, vars, self.app_cfg, self.out, self.out_events, c);
        }
        // Alerts at the flow's end start its evidence too; its ring goes back to the pool.
        if self.tap.on() {
            self.tap.after(&mut f.ext.evidence, f.alerted, None, c);
            self.tap.end(&mut f.ext.evidence);
        }
        if self.flow_events {
            let (proto, orig) = (f.ext.app.proto(), f.ext.app.orig());
            let ap = (proto != crate::app::AppProto::Unknown).then(|| proto.name());
            let orig = orig.is_known().then(|| orig.name());
            eve::flow_event(self.out, f, why, ap, orig, vars);
            *self.out_events += 1;
        }
    }
}

impl Worker {
    /// A worker with a flow table sized by `table`.
    pub(crate) fn new(id: usize, table: TableConfig, flow_events: bool) -> Self {
        crate::metrics::install_ext(|| {
            let mut defs = Vec::new();
            AppStats::default().each(true, &mut |name, help, _| {
                defs.push(crate::metrics::ExtCounter { name: name.to_string(), help: help.to_string() })
            });
            defs
        });
        Worker {
            id,
            // a flow's app layer is counted against the memcap as if it were in the slot
            flows: FlowTable::sized(table, std::mem::size_of::<crate::app::FlowApp>()),
            stream: StreamEngine::new(StreamConfig::default(), false),
            counters: Counters::new(),
            out: Vec::with_capacity(1 << 16),
            out_events: 0,
            flow_events,
            alert_events: true,
            detect: None,
            blocks: Vec::with_capacity(MAX_RAW_BLOCKS),
            app_cfg: AppConfig::default(),
            app_stats: AppStats::default(),
            app_values: Vec::new(),
            records: Records::none(),
            detect_gen: 0,
            decoder: crate::decode::Decoder::default(),
            deferred: DeferQueue::default(),
            ordered: false,
            tap: Tap::off(),
            pcap_names: None,
        }
    }

    /// Sets the evidence tap (`output.pcap_log`; before the first packet).
    pub(crate) fn with_evidence(mut self, tap: Tap) -> Self {
        self.tap = tap;
        self
    }

    /// Replay with `output.eve.pcap_file`: records name the capture file of their packet.
    pub(crate) fn with_pcap_names(mut self, names: Option<Arc<super::pcap_names::PcapNames>>) -> Self {
        self.pcap_names = names.map(super::pcap_names::PcapNameCursor::new);
        self
    }

    /// Takes the evidence records gathered since the last call (see `evidence::tap`).
    pub(crate) fn take_evidence(&mut self) -> Option<Vec<u8>> {
        self.tap.take()
    }

    /// Writes alert events or not (`alert` in `output.eve.types`); alerts are counted either way.
    pub(crate) fn with_alert_events(mut self, on: bool) -> Self {
        self.alert_events = on;
        self
    }

    /// Sets the decoder settings (tunnel ports) for frames the reader left undecoded.
    pub(crate) fn with_decoder(mut self, d: crate::decode::Decoder) -> Self {
        self.decoder = d;
        self
    }

    /// Decodes a frame the reader only sharded: decode, checksum validation (when the reader's
    /// settled mode says so), flow key and hash, as the reader does for the frames it decodes
    /// ([`crate::runtime::ingest`]). Decoder and checksum counters count here.
    pub(crate) fn prepare(&mut self, data: &[u8], e: &Entry) -> Pkt {
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
    pub(crate) fn with_detect(mut self, engine: Option<Arc<DetectEngine>>) -> Self {
        self.stream.raw = engine.as_ref().is_some_and(|e| e.inspects_streams());
        self.app_cfg.frames = engine.as_ref().map(|e| e.app.frame_wants.clone()).unwrap_or_default();
        self.detect_gen += 1;
        let ordered = self.ordered;
        self.detect = engine.map(|e| {
            let mut s = e.new_scratch();
            s.ordered = ordered;
            (e, s)
        });
        self
    }

    /// Replay: alerts of thresholds shared between flows go to the ordered stage (see
    /// `runtime::replay_order`), decided there in packet order. Call before `with_detect`.
    pub(crate) fn with_ordered_thresholds(mut self, on: bool) -> Self {
        self.ordered = on;
        if let Some((_, s)) = self.detect.as_mut() {
            s.ordered = on;
        }
        self
    }

    /// The alerts deferred since the last call and the position reached (see
    /// `runtime::replay_order`).
    pub(crate) fn take_deferred(&mut self) -> (Vec<DeferredAlert>, Mark) {
        self.deferred.take()
    }

    /// Sets which app-layer records are written (before the first packet).
    pub(crate) fn with_records(mut self, records: Records) -> Self {
        self.records = records;
        self
    }

    /// Sets the app-layer parser settings (before the first packet).
    pub(crate) fn with_app(mut self, cfg: AppConfig) -> Self {
        // the frame types come from the engine (`with_detect`), whichever is given first
        let frames = std::mem::take(&mut self.app_cfg.frames);
        self.app_cfg = AppConfig { frames, ..cfg };
        self
    }

    /// Turns per-rule profiling on (`picket bench --profile`; a no-op without rules).
    pub(crate) fn with_profile(mut self, on: bool) -> Self {
        if let (true, Some((e, s))) = (on, self.detect.as_mut()) {
            s.profile = Some(Box::new(crate::detect::profile::RuleProfile::new(e.rules.len())));
        }
        self
    }

    /// Takes the rule profile, when profiling.
    pub(crate) fn take_profile(&mut self) -> Option<Box<crate::detect::profile::RuleProfile>> {
        self.detect.as_mut().and_then(|(_, s)| s.profile.take())
    }

    /// Sets the stream settings (before the first packet).
    pub(crate) fn with_stream(mut self, cfg: StreamConfig) -> Self {
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
                deferred: &mut self.deferred,
                flow_events: self.flow_events,
                alert_events: self.alert_events,
                stream: &mut self.stream,
                detect: &mut self.detect,
                detect_gen: self.detect_gen,
                blocks: &mut self.blocks,
                app_cfg: &self.app_cfg,
                app_stats: &mut self.app_stats,
                records: &self.records,
                tap: &mut self.tap,
            },
        )
    }

    /// Processes one batch.
    pub(crate) fn process(&mut self, batch: &Batch) {
        self.process_span(batch, 0..batch.len());
    }

    /// Processes the frames `span` of a batch, with the timeout ticks placed before them (and
    /// those after the last frame when the span ends the batch). The level and app-layer
    /// counters are settled by [`Worker::sample_levels`] (before counters are published) and
    /// [`Worker::finish`], not per span: walking every protocol's counters cost 2% of a worker.
    pub(crate) fn process_span(&mut self, batch: &Batch, span: std::ops::Range<usize>) {
        let t0 = std::time::Instant::now();
        self.process_inner(batch, span);
        self.counters.add(C::WorkerBusyNs, t0.elapsed().as_nanos() as u64);
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
        let mut ticks = batch.ticks.iter().filter(|&&(at, _, _)| at as usize >= span.start).peekable();
        for i in span.clone() {
            let Some(e) = batch.entry(i) else { break };
            while let Some(&&(at, ts, pos)) = ticks.peek() {
                if at as usize > i {
                    break;
                }
                if let Some(c) = self.pcap_names.as_mut() {
                    c.at(pos);
                }
                self.tick_at(ts, pos);
                ticks.next();
            }
            if let Some(c) = self.pcap_names.as_mut() {
                c.at(e.pcap_cnt);
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
            for &(_, ts, pos) in ticks {
                self.tick_at(ts, pos);
            }
        }
    }

    /// A tick placed by the reader before frame `pos` (0: no position, live capture); a tick
    /// at time 0 is a position mark after frame `pos` (nothing expires).
    fn tick_at(&mut self, now: Timestamp, pos: u64) {
        if now.0 == 0 {
            // A position mark: every frame up to `pos` was dispatched before it.
            self.deferred.mark = self.deferred.mark.max((pos, 1));
            return;
        }
        if pos != 0 {
            self.deferred.mark = self.deferred.mark.max((pos, 0));
        }
        self.tick(now);
    }

    /// Runs timeouts up to packet time `now`.
    pub(crate) fn tick(&mut self, now: Timestamp) {
        let (flows, c, mut ctx) = self.parts();
        flows.expire(now, c, &mut |(f, why), c| ctx.end(f, why, c));
    }

    /// Processes one packet (`data`: the frame's bytes): flow, stream and app layer, then
    /// inspection.
    pub(crate) fn packet(&mut self, data: &[u8], p: &Pkt) {
        self.counters.inc(C::FlowWrkPktsToWorker);
        self.deferred.mark = (p.pcap_cnt, 1);
        let tcp = p.d.proto == crate::decode::proto::TCP && p.d.has_l4() && p.d.is_ip();
        if tcp && !p.outer_only {
            self.count_tcp_flags(p.d.tcp_flags);
        }
        let flow = self.lookup(p);
        if p.outer_only {
            return;
        }
        if let (true, Some((slot, _))) = (self.tap.on(), flow) {
            let f = self.flows.get_mut(slot);
            self.tap.flow_packet(&mut f.ext.evidence, p.ts, p.linktype, data, &mut self.counters);
        }
        let stream = flow.and_then(|(slot, to_server)| self.stream_and_app(slot, to_server, tcp, data, p));
        // protocol detection may have turned the flow around: the packet goes to the client
        let flow = flow.map(|(slot, to_server)| {
            let f = self.flows.get_mut(slot);
            if f.ext.app.take_reversed() {
                f.reverse();
                self.counters.inc(C::FlowReversed);
                (slot, !to_server)
            } else {
                (slot, to_server)
            }
        });
        // The stream's and protocol detection's events join the decoder's on the packet (a
        // copy of its decode, only when there are such events).
        let mut extra = stream.map(|o| o.events).unwrap_or_default();
        if let Some((slot, _)) = flow {
            let app_events = self.flows.get_mut(slot).ext.app.take_packet_events();
            for e in app_events.iter() {
                crate::decode::event::count(&mut self.counters, e);
            }
            extra.extend(&app_events);
        }
        let with_events;
        let d = if extra.is_empty() {
            &p.d
        } else {
            let mut x = p.d;
            x.events.extend(&extra);
            with_events = x;
            &with_events
        };
        let view = PacketView { frame: data, d, ts: p.ts, pcap_cnt: p.pcap_cnt, pseudo: false };
        match flow {
            Some((slot, to_server)) => {
                self.inspect_flow_packet(slot, to_server, &view, stream);
                if self.tap.on() {
                    let f = self.flows.get_mut(slot);
                    self.tap.after(&mut f.ext.evidence, f.alerted, Some((p.ts, p.linktype, data)), &mut self.counters);
                }
            }
            None if self.tap.on() => {
                let before = self.counters.get(C::DetectAlert);
                self.flowless(&view);
                let alerted = self.counters.get(C::DetectAlert) != before;
                self.tap.flowless(p.ts, p.linktype, data, alerted, &mut self.counters);
            }
            None => self.flowless(&view),
        }
    }

    /// Packet rules on a packet without a flow.
    fn flowless(&mut self, view: &PacketView<'_>) {
        let Some((engine, scratch)) = self.detect.as_mut() else { return };
        let mut insp = Inspector {
            engine,
            scratch,
            out: &mut self.out,
            out_events: &mut self.out_events,
            alerts: self.alert_events,
            deferred: &mut self.deferred,
        };
        insp.flowless(view, &mut self.counters);
    }

    fn count_tcp_flags(&mut self, fl: u8) {
        if fl & 0x12 == 0x12 {
            self.counters.inc(C::TcpSynack);
        } else if fl & 0x02 != 0 {
            self.counters.inc(C::TcpSyn);
        }
        if fl & 0x04 != 0 {
            self.counters.inc(C::TcpRst);
        }
    }

    /// The packet's flow slot and direction (flows the table ends to make room end here).
    fn lookup(&mut self, p: &Pkt) -> Option<(u32, bool)> {
        let Some(fp) = &p.flow else {
            self.counters.inc(C::FlowNoFlow);
            return None;
        };
        let (flows, c, mut ctx) = self.parts();
        let r = flows.packet(fp, p.hash, &p.d, p.ts, p.iface, c, &mut |(f, why), c| ctx.end(f, why, c));
        match r {
            Some(l) => Some((l.slot, l.to_server)),
            None => {
                self.counters.inc(C::FlowNoFlow);
                None
            }
        }
    }

    /// Feeds a TCP segment to the stream (and through it the app layer) or a UDP datagram to
    /// the app layer; for TCP returns the stream's outcome.
    fn stream_and_app(&mut self, sl: u32, to_server: bool, tcp: bool, data: &[u8], p: &Pkt) -> Option<Outcome> {
        let f = self.flows.get_mut(sl);
        let ports = (f.tuple.sp, f.tuple.dp);
        if tcp && !p.bad_checksum {
            let seg = Seg {
                seq: p.d.tcp_seq,
                ack: p.d.tcp_ack,
                flags: p.d.tcp_flags,
                win: p.d.tcp_win,
                payload: p.d.payload(data),
                syn: if p.d.tcp_flags & 0x02 != 0 {
                    crate::stream::SynOptions::of(data, &p.d, p.ts.secs() as u32)
                } else {
                    crate::stream::SynOptions::default()
                },
                // a RST's TCP MD5 signature (kind 19) or TCP-AO (kind 29): read for RSTs only
                auth: p.d.tcp_flags & 0x04 != 0 && p.d.tcp_options(data).any(|(k, _)| k == 19 || k == 29),
            };
            let flow = FlowMeta::of(f, p.ts);
            let FlowExt { tcp: ssn, app, .. } = &mut f.ext;
            let mut sink = Sink { app, cfg: &self.app_cfg, stats: &mut self.app_stats, flow };
            let o = self.stream.packet(ssn, to_server, &seg, &mut sink, &mut self.counters);
            if let (Some(depth), Some(s)) = (f.ext.app.take_stream_depth(), f.ext.tcp.as_deref_mut()) {
                s.set_app_depth(depth, self.stream.cfg.depth);
            }
            let (state, isn) = f.ext.tcp.as_deref().map(|s| (s.state, s.dirs[0].isn))?;
            let sess = Some((isn, o.established, state >= TcpState::LastAck));
            self.flows.set_tcp(sl, flow_state_of(state), sess);
            return Some(o);
        }
        if p.d.proto == crate::decode::proto::UDP && p.d.has_l4() {
            let payload = p.d.payload(data);
            f.ext.app.make().udp(to_server, ports, payload, &self.app_cfg, &mut self.app_stats);
        }
        None
    }

    /// The inspection pipeline on a packet of a flow: packet and stream rules, then the
    /// flow's transactions; then the records of transactions that became ready, and the
    /// transactions nothing needs any more are freed.
    fn inspect_flow_packet(&mut self, sl: u32, to_server: bool, view: &PacketView<'_>, stream: Option<Outcome>) {
        self.run_rules(sl, to_server, view, stream);
        self.flush_raw(sl, to_server);
        let f = self.flows.get_mut(sl);
        let proto = f.ext.app.proto();
        let records = self.records.on_for(proto);
        if self.records.on_for_packet(proto) {
            let (cfg, out, n, c) = (&self.app_cfg, &mut self.out, &mut self.out_events, &mut self.counters);
            let vars = flow_vars(&mut self.detect, self.detect_gen, f);
            let pkt = PacketRef {
                ts: view.ts,
                pcap_cnt: view.pcap_cnt,
                to_server,
                events: &view.d.events,
                vars,
                pkt_src: view.d.pkt_src(),
            };
            self.records.after_packet(f, &pkt, cfg, out, n, c);
        }
        let inspects = match self.detect.as_ref() {
            Some((engine, _)) if !f.ext.detect.pass => engine.app_sides(f.ext.app.proto()),
            _ => [false; 2],
        };
        f.ext.app.free_txs(inspects, records);
    }

    /// Once a parser turned payload inspection off on a TCP flow: each direction's raw
    /// stream not yet inspected is, as a pseudo packet (the packet's opposite direction
    /// first, as Suricata's IDS mode), then raw inspection stops for good.
    fn flush_raw(&mut self, sl: u32, to_server: bool) {
        let f = self.flows.get_mut(sl);
        let Some(ssn) = f.ext.tcp.as_deref_mut() else { return };
        if !f.ext.app.no_inspection() || ssn.raw_disabled() {
            return;
        }
        ssn.trigger_raw(0);
        ssn.trigger_raw(1);
        if let Some((engine, scratch)) = self.detect.as_mut() {
            let mut insp = Inspector {
                engine,
                scratch,
                out: &mut self.out,
                out_events: &mut self.out_events,
                alerts: self.alert_events,
                deferred: &mut self.deferred,
            };
            for ts in [!to_server, to_server] {
                let d = usize::from(!ts);
                let due = f.ext.tcp.as_deref().is_some_and(|s| self.stream.raw_ready(s, d, false));
                insp.flush(f, ts, due, &mut self.blocks, self.detect_gen, &mut self.counters);
            }
        }
        if let Some(s) = f.ext.tcp.as_deref_mut() {
            s.disable_raw();
        }
    }

    /// Packet, stream and app-layer rules on a packet of a flow.
    fn run_rules(&mut self, sl: u32, to_server: bool, view: &PacketView<'_>, stream: Option<Outcome>) {
        let Some((engine, scratch)) = self.detect.as_mut() else { return };
        let gen = self.detect_gen;
        let c = &mut self.counters;
        let f = self.flows.get_mut(sl);
        let mut insp = Inspector {
            engine,
            scratch,
            out: &mut self.out,
            out_events: &mut self.out_events,
            alerts: self.alert_events,
            deferred: &mut self.deferred,
        };
        let raw = stream.map(|o| RawStream { due: o.raw_ready, added: o.stream_add, pseudo: false, flush: false });
        insp.packet_rules(f, to_server, view, raw, &mut self.blocks, gen, c);
        insp.app_rules(f, to_server, view, &self.blocks, false, gen, c);
    }

    /// Sets the level counters (flows and TCP sessions in the tables, the reassembly memory
    /// peak) and the app-layer counters to their values now, so that what a live run publishes
    /// between batches is true (they are otherwise settled by [`Worker::finish`]).
    pub(crate) fn sample_levels(&mut self) {
        self.counters.set(C::FlowActive, self.flows.len() as u64);
        self.counters.set(C::TcpActiveSessions, self.stream.sessions as u64);
        self.counters.set(C::TcpReassemblyMemuse, self.stream.mem.peak as u64);
        self.sync_app_counters();
    }

    /// Ends every flow (end of input).
    pub(crate) fn finish(&mut self) {
        self.deferred.mark = (u64::MAX, 0);
        if let Some(c) = self.pcap_names.as_mut() {
            c.at_end();
        }
        let (flows, c, mut ctx) = self.parts();
        flows.drain(c, &mut |(f, why), c| ctx.end(f, why, c));
        self.counters.set(C::FlowActive, self.flows.len() as u64);
        self.counters.set(C::TcpActiveSessions, self.stream.sessions as u64);
        self.sync_app_counters();
        self.counters.set(C::TcpReassemblyMemuse, self.stream.mem.peak as u64);
    }

    /// Takes the pending EVE lines (and how many events they hold).
    pub(crate) fn take_output(&mut self) -> Option<(Vec<u8>, u64)> {
        if self.out.is_empty() {
            return None;
        }
        let buf = std::mem::replace(&mut self.out, Vec::with_capacity(1 << 16));
        let n = std::mem::take(&mut self.out_events);
        Some((buf, n))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::capture::{FrameRef, LinkType};
    use crate::flow::{TableConfig, Timeouts};
    use crate::runtime::ingest::Ingest;
    use etherparse::PacketBuilder;

    /// A flow slot is paid for by every flow the table holds (about 13,000 a worker at mix8's
    /// peak): what only some flows use is boxed or a one-word list, so that growth here is
    /// a decision, not an accident.
    #[test]
    fn a_flow_slot_stays_small() {
        let slot = std::mem::size_of::<crate::flow::Flow<FlowExt>>();
        assert!(slot <= 272, "a flow slot is {slot} bytes (was 272; 520 with the app layer inline)");
    }

    /// A UDP frame to port 53 from port `sp` (10.0.0.1 -> 10.0.0.2) carrying `payload`.
    pub(in crate::runtime) fn udp(sp: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(sp, 53)
            .write(&mut f, payload)
            .unwrap_or_default();
        f
    }

    /// A small flow table (1 MiB memcap, 30 s timeouts) for unit tests.
    pub(in crate::runtime) fn table() -> TableConfig {
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
        assert!(
            have == want,
            "docs/metrics.md is out of date: run PICKET_REGEN_DOCS=1 cargo test --profile ci --lib counters_doc"
        );
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
                batch.ticks.push((2, Timestamp::from_parts(100, 0), 0));
            }
            let fr = FrameRef::borrowed(f, Timestamp::from_parts(*t, 0), f.len() as u32, LinkType::ETHERNET, 0);
            ing.frame(&fr, &mut |_, item| batch.push(&fr, item));
        }
        batch.ticks.push((4, Timestamp::from_parts(1000, 0), 0));
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
