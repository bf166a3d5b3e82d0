//! The inspection pipeline a worker runs on a packet of a flow, and on the pseudo packets
//! that stand for a flow's directions when it ends: packet and stream rules, then app-layer
//! rules on the flow's transactions, with the alerts written as EVE lines.
//!
//! Packets and flow ends go through the same two steps ([`Inspector::packet_rules`],
//! [`Inspector::app_rules`]), so a flow's last stream bytes and transactions are inspected
//! exactly as live ones are. Never allocates per packet (alerts are formatted into the
//! worker's output buffer) and never names a protocol.

use super::replay_order::DeferQueue;
use super::worker::FlowExt;
use crate::app::AppProto;
use crate::capture::Timestamp;
use crate::decode::{flags as dflags, Decoded};
use crate::detect::engine::{AlertHit, DetectEngine, DetectScratch, FlowInfo, StreamData, NO_TX};
use crate::flow::Flow;
use crate::metrics::{Counters, C};
use crate::output::eve::{self, Json};
use crate::stream::{self, TcpSession, MAX_RAW_BLOCKS};

/// A packet as inspection sees it: its bytes, its decode, its time and position.
#[derive(Clone, Copy)]
pub(crate) struct PacketView<'a> {
    /// The frame (empty for a pseudo packet).
    pub frame: &'a [u8],
    /// Its decode.
    pub d: &'a Decoded,
    /// Packet time.
    pub ts: Timestamp,
    /// Position in the capture (0 for pseudo packets and live capture).
    pub pcap_cnt: u64,
    /// Stands for a direction of a flow that ends (no payload of its own).
    pub pseudo: bool,
}

/// A TCP packet's stream as detection needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawStream {
    /// Raw stream data is due for inspection with this packet.
    pub due: bool,
    /// The packet's payload went into the stream.
    pub added: bool,
    /// A pseudo packet: no payload of its own, only the stream (at flow end, the rest of
    /// it, acknowledged or not).
    pub pseudo: bool,
    /// A detect/log flush pseudo packet (the flow's payload stops being inspected): the
    /// stream up to what was acknowledged, inspected although the flow is marked so.
    pub flush: bool,
}

/// Detection with its engine, the worker's scratch, and where alerts go.
pub(crate) struct Inspector<'a> {
    /// The rules.
    pub engine: &'a DetectEngine,
    /// The worker's detection scratch.
    pub scratch: &'a mut DetectScratch,
    /// EVE lines waiting for the output thread.
    pub out: &'a mut Vec<u8>,
    /// Events in `out`.
    pub out_events: &'a mut u64,
    /// Write `alert` events (`alert` in `output.eve.types`); alerts are counted either way.
    pub alerts: bool,
    /// Alerts whose shared threshold is decided later, in packet order (replay).
    pub deferred: &'a mut DeferQueue,
}

impl Inspector<'_> {
    /// Packet and stream rules on a packet of flow `f` (`raw`: the flow's TCP stream has
    /// data due for inspection with this packet); alerts are written. The flow's detection
    /// state is reset first when it belongs to an older engine.
    #[allow(clippy::too_many_arguments, reason = "the packet, its flow and the stream's request: one call per packet")]
    pub(super) fn packet_rules(
        &mut self,
        f: &mut Flow<FlowExt>,
        to_server: bool,
        pkt: &PacketView<'_>,
        raw: Option<RawStream>,
        blocks: &mut Vec<(u64, u64)>,
        engine_gen: u64,
        c: &mut Counters,
    ) {
        self.fresh_state(f, engine_gen);
        let mut info = flow_info(f, to_server);
        info.pd_done = !pkt.pseudo && f.ext.app.take_pd_done(to_server);
        info.first = !pkt.pseudo && f.pkts[usize::from(!to_server)] == 1;
        let flush = raw.is_some_and(|r| r.flush);
        // a flow whose payload is not inspected has its stream inspected once more, by the
        // flush; until then its raw progress stays where it was
        let raw_on = !info.no_payload || flush;
        info.no_payload &= !flush;
        let hash = f.hash;
        let engine = self.engine;
        let d = usize::from(!to_server);
        let FlowExt { tcp, detect, .. } = &mut f.ext;
        let progress = {
            let (chunks, n, progress) = match (raw, tcp.as_deref()) {
                (Some(r), Some(ssn)) if r.due && raw_on => {
                    let (ch, n, pr) = raw_chunks(ssn, d, r.pseudo && !r.flush, blocks, c);
                    (ch, n, Some(pr))
                }
                _ => {
                    // nothing due: the transactions see no stream either (see `app_rules`)
                    blocks.clear();
                    ([&[][..]; MAX_RAW_BLOCKS], 0, None)
                }
            };
            let sd = raw.map(|r| StreamData { added: r.added, chunks: &chunks[..n], pseudo: r.pseudo });
            engine.run(self.scratch, pkt.frame, pkt.d, pkt.ts.secs(), Some((&info, detect, hash)), sd.as_ref(), c);
            progress
        };
        if let Some(ssn) = tcp.as_deref_mut() {
            if let Some(pr) = progress {
                ssn.raw_done(d, pr);
            }
            if detect.pass {
                ssn.disable_raw();
            }
        }
        if !self.scratch.alerts.is_empty() {
            f.alerted = true;
            if guess_udp_tx(self.engine, &mut self.scratch.alerts, f, to_server) {
                self.write_app_alerts(f, to_server, pkt, c);
                return;
            }
            self.engine.render_alert_vars(&f.ext.detect, self.scratch);
            let vars = std::mem::take(&mut self.scratch.flow_vars);
            let mut ap = alert_packet(pkt, Some(to_server), f.ext.app.proto());
            ap.vars = &vars;
            self.write_alerts(&ap, pkt, Some(&*f), c);
            self.scratch.flow_vars = vars;
        }
    }

    /// App-layer rules on the transactions of flow `f` for a packet's direction
    /// (`finalize`: the flow ends, every transaction is inspected as complete). `blocks`:
    /// the raw stream blocks the packet's stream inspection just saw (TCP), where the
    /// rules' payload keywords look first, as Suricata inspects them on the stream.
    #[allow(clippy::too_many_arguments, reason = "the packet, its flow and its stream: one call per packet")]
    pub(super) fn app_rules(
        &mut self,
        f: &mut Flow<FlowExt>,
        to_server: bool,
        pkt: &PacketView<'_>,
        blocks: &[(u64, u64)],
        finalize: bool,
        engine_gen: u64,
        c: &mut Counters,
    ) {
        if !f.ext.app.proto().is_known() {
            return;
        }
        self.fresh_state(f, engine_gen);
        let info = flow_info(f, to_server);
        let hash = f.hash;
        let ts_secs = pkt.ts.secs();
        let FlowExt { app, detect, tcp, .. } = &mut f.ext;
        // a known protocol was decided on data: the app layer is there
        let Some(app) = app.get_mut() else { return };
        let mut chunks: [&[u8]; MAX_RAW_BLOCKS] = [&[]; MAX_RAW_BLOCKS];
        let mut n = 0;
        if let Some(ssn) = tcp.as_deref() {
            for (slot, &(o, l)) in chunks.iter_mut().zip(blocks.iter()) {
                *slot = ssn.bytes(usize::from(!to_server), o, l);
                n += 1;
            }
        }
        let stream = &chunks[..n];
        self.engine.run_app(self.scratch, app, pkt.frame, pkt.d, stream, ts_secs, &info, detect, hash, finalize, c);
        if app.frames.any_ready() {
            self.engine.run_frames(self.scratch, app, pkt.frame, pkt.d, ts_secs, &info, detect, hash, c);
        }
        if !self.scratch.alerts.is_empty() {
            f.alerted = true;
            self.write_app_alerts(f, to_server, pkt, c);
        }
        // the closed files of this direction were inspected (and their alerts logged): file
        // rules are done with them once the transaction reached what those rules need
        let dir = u8::from(!to_server);
        let proto = f.ext.app.proto();
        let Some(app) = f.ext.app.get_mut() else { return };
        if let (Some(need), Some(p)) = (self.engine.app.file_need(proto, dir), app.parser.as_mut()) {
            p.retire_files(to_server, &|progress| crate::app::reaches(progress, need));
        }
        // the frames of this direction were inspected (and logged): they go
        app.frames.taken(to_server);
    }

    /// Writes the alerts of app-layer and frame rules on flow `f` for a packet's direction,
    /// with their transaction's object and their frame's.
    fn write_app_alerts(&mut self, f: &Flow<FlowExt>, to_server: bool, pkt: &PacketView<'_>, c: &mut Counters) {
        let ts_secs = pkt.ts.secs();
        let (app, proto) = (f.ext.app.get(), f.ext.app.proto());
        self.engine.render_alert_vars(&f.ext.detect, self.scratch);
        let vars = &self.scratch.flow_vars;
        for a in &self.scratch.alerts {
            let rule = alert_rule(self.engine, a, &self.scratch.contexts);
            let tx = a.tx;
            let meta = move |j: &mut Json<'_>| {
                if let Some(t) = app.and_then(|a| a.tx(tx)) {
                    t.write_alert_eve(j);
                    t.write_alert_files(j, to_server);
                }
            };
            let frame_id = a.frame;
            let frame = move |j: &mut Json<'_>| {
                let (Some(fr), Some(p)) =
                    (app.and_then(|a| a.frames.get(frame_id)), crate::app::registry::protocol(proto))
                else {
                    return;
                };
                fr.write_eve(j, p.frames.get(usize::from(fr.ty)).copied().unwrap_or("unknown"), to_server);
            };
            let mut ap = alert_packet(pkt, Some(to_server), proto);
            ap.vars = vars;
            if tx != NO_TX {
                ap.tx_id = Some(tx);
                ap.meta = Some(&meta);
            }
            if frame_id != 0 {
                ap.frame = Some(&frame);
            }
            if a.deferred {
                let start = self.out.len();
                if self.alerts {
                    eve::alert_event(self.out, &ap, Some(f), &rule);
                }
                let line = self.out.split_off(start);
                self.deferred.push(f.hash, a.rule, pkt.d, ts_secs, line);
                continue;
            }
            if self.alerts {
                eve::alert_event(self.out, &ap, Some(f), &rule);
                *self.out_events += 1;
            }
            c.inc(C::DetectAlert);
        }
    }

    /// Packet rules on a packet without a flow (not IP, or no key).
    pub(super) fn flowless(&mut self, pkt: &PacketView<'_>, c: &mut Counters) {
        self.engine.run(self.scratch, pkt.frame, pkt.d, pkt.ts.secs(), None, None, c);
        if !self.scratch.alerts.is_empty() {
            let ap = alert_packet_of(pkt, None, None);
            self.write_alerts(&ap, pkt, None::<&Flow<FlowExt>>, c);
        }
    }

    /// What is left of one direction of a TCP session's stream at its flow's end (the
    /// session is in `f.ext.tcp`): inspected as a stream-end pseudo packet when `due`.
    pub(super) fn stream_end(
        &mut self,
        f: &mut Flow<FlowExt>,
        to_server: bool,
        due: bool,
        blocks: &mut Vec<(u64, u64)>,
        engine_gen: u64,
        c: &mut Counters,
    ) {
        blocks.clear();
        if !f.ext.app.no_inspection() {
            self.pseudo_stream(f, to_server, due, false, blocks, engine_gen, c);
        }
    }

    /// One direction of a TCP flow whose payload stops being inspected (a parser set
    /// no-inspection: SSH after both NEWKEYS, TLS after its handshake): the raw stream not
    /// yet inspected, up to what was acknowledged, is inspected as a pseudo packet first
    /// (Suricata's detect/log flush, `StreamTcpDetectLogFlush`). `due`: data is waiting.
    pub(super) fn flush(
        &mut self,
        f: &mut Flow<FlowExt>,
        to_server: bool,
        due: bool,
        blocks: &mut Vec<(u64, u64)>,
        engine_gen: u64,
        c: &mut Counters,
    ) {
        self.pseudo_stream(f, to_server, due, true, blocks, engine_gen, c);
    }

    /// The raw stream of one direction not yet inspected, as a pseudo packet, when `due`
    /// and the flow is not passed; `flush`: the no-inspection flush rather than the flow end.
    #[allow(clippy::too_many_arguments, reason = "the flow, its direction and the worker's scratch")]
    fn pseudo_stream(
        &mut self,
        f: &mut Flow<FlowExt>,
        to_server: bool,
        due: bool,
        flush: bool,
        blocks: &mut Vec<(u64, u64)>,
        engine_gen: u64,
        c: &mut Counters,
    ) {
        if !due || f.ext.detect.pass {
            return;
        }
        c.inc(C::TcpPseudo);
        let dd = pseudo_decoded(f, to_server);
        let pkt = PacketView { frame: &[], d: &dd, ts: f.last, pcap_cnt: 0, pseudo: true };
        let raw = RawStream { due: true, added: false, pseudo: true, flush };
        self.packet_rules(f, to_server, &pkt, Some(raw), blocks, engine_gen, c);
    }

    /// Transactions left when a TCP flow ends, for one direction: inspected as complete
    /// (Suricata's flow-end pseudo packet of that direction).
    pub(super) fn app_end(
        &mut self,
        f: &mut Flow<FlowExt>,
        to_server: bool,
        blocks: &[(u64, u64)],
        engine_gen: u64,
        c: &mut Counters,
    ) {
        if !f.ext.app.proto().is_known() || f.ext.detect.pass || f.key.proto != crate::decode::proto::TCP {
            return;
        }
        let dd = pseudo_decoded(f, to_server);
        let pkt = PacketView { frame: &[], d: &dd, ts: f.last, pcap_cnt: 0, pseudo: true };
        self.app_rules(f, to_server, &pkt, blocks, true, engine_gen, c);
    }

    fn fresh_state(&mut self, f: &mut Flow<FlowExt>, engine_gen: u64) {
        if f.ext.detect_gen != engine_gen {
            f.ext.detect = self.engine.new_flow_state();
            f.ext.detect_gen = engine_gen;
        }
    }

    fn write_alerts(
        &mut self,
        ap: &eve::AlertPacket<'_>,
        pkt: &PacketView<'_>,
        flow: Option<&Flow<FlowExt>>,
        c: &mut Counters,
    ) {
        for a in &self.scratch.alerts {
            let rule = alert_rule(self.engine, a, &self.scratch.contexts);
            if a.deferred {
                let start = self.out.len();
                if self.alerts {
                    eve::alert_event(self.out, ap, flow, &rule);
                }
                let line = self.out.split_off(start);
                self.deferred.push(flow.map_or(0, |f| f.hash), a.rule, pkt.d, pkt.ts.secs(), line);
                continue;
            }
            if self.alerts {
                eve::alert_event(self.out, ap, flow, &rule);
                *self.out_events += 1;
            }
            c.inc(C::DetectAlert);
        }
    }
}

/// What detection needs to know about a flow for a packet of one direction.
fn flow_info(f: &Flow<FlowExt>, to_server: bool) -> FlowInfo {
    FlowInfo {
        to_server,
        state: f.state,
        tcp_established: f.tcp_established,
        app_proto: f.ext.app.proto(),
        dir_proto: f.ext.app.dir_proto(),
        orig_proto: f.ext.app.orig(),
        pd_done: false,
        first: false,
        no_payload: f.ext.app.no_inspection(),
        stream_size: f.ext.tcp.as_ref().map(|s| {
            let size = |d: &stream::Dir| d.next_seq.wrapping_sub(d.isn);
            [size(&s.dirs[0]), size(&s.dirs[1])]
        }),
        pkts: f.pkts,
        bytes: f.bytes,
        age_secs: f.last.secs().saturating_sub(f.start.secs()),
    }
}

/// Suricata's transaction of a packet rule's alert (`DetectRulePacketAppendAlert`): on a UDP
/// flow, a rule naming an app-layer protocol alerts with the transaction the packet's
/// direction inspects next (the one the packet made: each datagram of DNS, SIP, SNMP ... is
/// its own), so its record (`tx_id`, `dns`...) goes with the alert. True when one was given.
fn guess_udp_tx(engine: &DetectEngine, alerts: &mut [AlertHit], f: &Flow<FlowExt>, to_server: bool) -> bool {
    let Some(app) = f.ext.app.get() else { return false };
    if f.key.proto != crate::decode::proto::UDP || !app.proto.is_known() {
        return false;
    }
    let mut newest = None;
    app.each_tx(&mut |t| newest = Some(t.id()));
    let Some(tx) = newest.filter(|&id| !app.insp.inspected(id, [to_server, !to_server])) else { return false };
    let mut any = false;
    for a in alerts.iter_mut().filter(|a| a.tx == NO_TX && a.frame == 0) {
        if engine.rules.get(a.rule as usize).is_some_and(|r| r.app_proto.is_some()) {
            a.tx = tx;
            any = true;
        }
    }
    any
}

fn alert_packet<'a>(pkt: &PacketView<'a>, to_server: Option<bool>, proto: AppProto) -> eve::AlertPacket<'a> {
    let app_proto = match proto {
        AppProto::Unknown => None,
        p => Some(p.name()),
    };
    alert_packet_of(pkt, to_server, app_proto)
}

fn alert_packet_of<'a>(
    pkt: &PacketView<'a>,
    to_server: Option<bool>,
    app_proto: Option<&'a str>,
) -> eve::AlertPacket<'a> {
    eve::AlertPacket {
        ts: pkt.ts,
        d: pkt.d,
        pcap_cnt: pkt.pcap_cnt,
        to_server,
        pseudo: pkt.pseudo,
        app_proto,
        tx_id: None,
        meta: None,
        frame: None,
        vars: &[],
    }
}

/// The rule part of an alert event.
fn alert_rule<'a>(engine: &'a DetectEngine, a: &AlertHit, contexts: &'a [u8]) -> eve::AlertRule<'a> {
    // In bounds: alerts name rules of this engine (indexes of engine.rules).
    let cr = &engine.rules[a.rule as usize];
    let context = contexts.get(a.context.0 as usize..a.context.1 as usize).unwrap_or(&[]);
    eve::AlertRule {
        action: cr.rule.action.eve_name(),
        gid: cr.rule.gid,
        sid: cr.rule.sid,
        texts: &engine.alert_texts,
        rest: cr.alert_text,
        context,
    }
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
