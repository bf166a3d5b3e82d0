//! The app layer of one flow: protocol identification, then the protocol's parser.
//!
//! Takes: for TCP, in-order acknowledged stream data through the stream's [`AppSink`]; for
//! UDP, each datagram. Promises: identification looks at the first bytes of each direction
//! without consuming them (the stream offers them again once the protocol is known, so the
//! parser sees the whole direction); a known protocol gets its parser from the registry, or
//! is simply followed (named in EVE and for rule headers) when none is registered; `failed`
//! stops the app layer for the flow. A parser may stop the flow's app layer (encrypted TLS
//! after both sides changed cipher spec stops payload inspection too, as Suricata's default
//! `encryption-handling` does). Never: panics or grows without the parsers' own caps.

use super::expect::{Endpoints, Expectation};
use super::frames::Frames;
use super::identify::{probe_other_side, ProbeResult, ProtoDetect};
use super::plugin::{AppParser, ParseCx, Status, Transaction, Upgrade};
use super::proto::AppProto;
use super::registry;
use super::slot::AppSlot;
use super::stats::AppStats;
use super::AppConfig;
use crate::capture::Timestamp;
use crate::decode::{Event, Events};
use crate::flow::Flow;
use crate::stream::{AppSink, Verdict};

/// What the app layer knows of a flow besides its bytes: its endpoints as the first packet had
/// them (the client is `src`), its id and the time of the packet being processed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowMeta {
    /// Addresses and ports.
    pub ends: Endpoints,
    /// The addresses are IPv6 (else IPv4, in the first four bytes).
    pub v6: bool,
    /// The flow's id (EVE `flow_id`).
    pub flow_id: u64,
    /// Packet time.
    pub now: Timestamp,
}

impl FlowMeta {
    /// The flow's endpoints and id, at packet time `now`.
    pub fn of<S>(f: &Flow<S>, now: Timestamp) -> FlowMeta {
        let t = &f.tuple;
        FlowMeta {
            ends: Endpoints { src: t.src, dst: t.dst, sp: t.sp, dp: t.dp },
            v6: f.key.family == 6,
            flow_id: f.flow_id,
            now,
        }
    }

    /// Only the ports known (what the UDP path passes).
    pub fn ports(client_port: u16, server_port: u16) -> FlowMeta {
        FlowMeta { ends: Endpoints { sp: client_port, dp: server_port, ..Endpoints::default() }, ..FlowMeta::default() }
    }
}

/// Detection bookkeeping for one transaction: how far it was inspected, which rules are done
/// with it.
#[derive(Debug, Clone, Default)]
pub struct TxInsp {
    /// Transaction id.
    pub tx: u64,
    /// Progress of each side at its direction's last inspection (index 0: to server).
    pub seen: [u8; 2],
    /// Rules evaluated to the end on this transaction (matched or not), sorted: rule number
    /// shifted left once, or-ed with the direction.
    pub done: Vec<u32>,
    /// Its files of each side at that inspection ([`super::files::files_mark`]): file rules
    /// are inspected again when they change, and anew when a file is added.
    pub files: [(u64, u32); 2],
}

/// The app layer of a flow.
#[derive(Debug, Default)]
pub struct FlowApp {
    pd: Option<Box<ProtoDetect>>,
    /// The flow's protocol (`Unknown` until decided).
    pub proto: AppProto,
    /// The protocol's parser, when it has one.
    pub parser: Option<Box<dyn AppParser>>,
    fed: [u64; 2],
    /// The flow's payload is no longer inspected (encrypted TLS).
    pub no_inspection: bool,
    /// Directions whose raw stream the parser asked to inspect now (taken by the stream).
    raw_trigger: [bool; 2],
    /// The protocol's own reassembly depth, for the stream to take (once) when named.
    pub stream_depth: Option<u64>,
    /// Per-transaction detection state.
    pub insp: TxInspStates,
    /// Identification has started (some data was offered).
    started: bool,
    /// A gap ended the app layer (its parser does not accept gaps).
    gap_stop: bool,
    /// The flow runs over TCP (for per-transport counters).
    tcp: bool,
    /// UDP: a datagram of each direction was offered to identification.
    udp_seen: [bool; 2],
    /// The expectation table was consulted for this direction's first data (Suricata's
    /// `FLOW_IS_PE_DONE`), index 0: to server.
    pe_done: [bool; 2],
    /// Time of this direction's first data when nothing was found but a control flow may be
    /// live between the hosts: looked again, as of that time, while still unidentified.
    pe_retry: [Option<Timestamp>; 2],
    /// The flow was announced by another (an FTP data connection): that flow's id.
    pub parent_id: Option<u64>,
    /// Transactions whose EVE record was written.
    logged: Logged,
    /// Protocol detection's events raised while the current packet was processed (Suricata's
    /// `p->app_layer_events`): the worker moves them onto the packet (see
    /// [`FlowApp::take_packet_events`]).
    pkt_events: Events,
    /// The direction (to server) whose first data is still to be identified after the other
    /// one decided the protocol, to tell a mismatch.
    unprobed: Option<bool>,
    ports: (u16, u16),
    /// The frames its parser names (kept only for the types rules inspect).
    pub frames: Frames,
    /// The protocol before a change ([`AppParser::upgrade`]; EVE `app_proto_orig`).
    pub orig: AppProto,
    /// A protocol change decided and not made yet.
    switch: Option<Box<Switch>>,
    /// The protocol each direction's identification settled on (Suricata's `alproto_ts` /
    /// `alproto_tc`; index 0: to server): `Unknown` until that direction's data was looked
    /// at, `Failed` when it named nothing.
    pub dir_proto: [AppProto; 2],
    /// Identification of a direction completed and no packet of that direction carried the
    /// news yet (Suricata's `FLOW_PROTO_DETECT_TS_DONE` / `_TC_DONE`): the next one does
    /// ([`FlowApp::take_pd_done`]), which is when protocol-detection-only rules look.
    pd_pending: [bool; 2],
    /// Identification turned the flow around with the packet being processed: the worker
    /// swaps the flow's ends ([`FlowApp::take_reversed`]).
    reversed: bool,
    /// TCP: identification named the flow from the other direction's patterns and asked the
    /// stream to turn the session around ([`Verdict::Reverse`]): the direction (to server) of
    /// the data that asked. The stream's next offer says whether it did (the same data, as the
    /// other direction) or not (as the same direction).
    turn: Option<bool>,
    /// TCP: the session was picked up midstream from a data packet (not a SYN/ACK): its
    /// to-server side must name the protocol, as Suricata's `TCPProtoDetect` requires (the
    /// start of the request may be missing; a response alone is no reliable basis).
    midstream_ssn: bool,
}

/// Whether `data`, the first datagram of a flow identified as `p`, is an answer whose sender
/// is the server (Suricata's probing parsers that set the reverse direction: DNS-framed
/// LLMNR responses; mDNS is always to server there).
fn answers_first(p: AppProto, data: &[u8]) -> bool {
    // the QR bit of the DNS header's flags
    matches!(p, AppProto::Llmnr | AppProto::Dns) && data.get(2).is_some_and(|f| f & 0x80 != 0)
}

/// A protocol change waiting for the packet that decided it to be inspected and logged: the
/// new protocol and the bytes of each direction that are its already (index 0: to server).
#[derive(Debug)]
struct Switch {
    proto: AppProto,
    /// The deciding packet was inspected and its records written: the change can be made.
    ready: bool,
    held: [Vec<u8>; 2],
    /// What the old parser hands to the new one ([`AppParser::handoff`]).
    carry: Option<Carry>,
}

/// Data one parser hands to the next ([`AppParser::handoff`]).
struct Carry(Box<dyn std::any::Any + Send>);

impl std::fmt::Debug for Carry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Carry")
    }
}

/// Bytes of a direction held for the next protocol while a change waits; beyond, they are
/// dropped and counted (`app.upgrade_bytes_dropped`).
const MAX_SWITCH_HELD: usize = 64 * 1024;

/// Which transactions have their record written: every id below `next`, and the ids above it
/// in `above` (transactions completed out of order), kept sorted and bounded.
#[derive(Debug, Default)]
struct Logged {
    next: u64,
    above: thin_vec::ThinVec<u64>,
    /// How many of a transaction's app-layer events were reported (`anomaly` records), by
    /// transaction id, sorted; transactions below `ev_floor` count as all reported.
    ev: thin_vec::ThinVec<(u64, u16)>,
    ev_floor: u64,
}

/// Out-of-order logged ids kept; beyond, the oldest unlogged ones are given up (their records
/// would be written at flow end otherwise; never twice).
const MAX_LOGGED_ABOVE: usize = 256;

/// Transactions whose reported-event counts a flow keeps; beyond, the oldest count as all
/// reported (an event raised later on them is counted, not reported; never twice).
const MAX_EVENTS_LOGGED: usize = 256;

/// Transactions whose detection state a flow keeps: as many as the largest parser keeps
/// transactions (SMB's and DCERPC's 1,024), so a live transaction keeps its state (about 40
/// bytes, with its sorted list of finished rules).
pub const MAX_INSP: usize = 1024;

/// The detection states of a flow's transactions, sorted by transaction id, at most
/// [`MAX_INSP`]; when one has to go to make room (a parser holding more transactions than
/// that), every transaction up to it counts as inspected from then on (`floor`), so a rule
/// never alerts twice on a transaction because its state was dropped (it may miss what such
/// an old transaction does later, which the caller counts).
#[derive(Debug, Default)]
pub struct TxInspStates {
    list: thin_vec::ThinVec<TxInsp>,
    floor: u64,
}

impl TxInspStates {
    /// The index of transaction `tx`'s state, created when missing (the second value says
    /// another was dropped for it); `None` for a transaction below the floor.
    pub fn entry(&mut self, tx: u64) -> Option<(usize, bool)> {
        if tx < self.floor {
            return None;
        }
        let mut pos = match self.list.binary_search_by_key(&tx, |t| t.tx) {
            Ok(i) => return Some((i, false)),
            Err(pos) => pos,
        };
        let mut evicted = false;
        if self.list.len() >= MAX_INSP {
            if pos == 0 {
                // older than every state held: as if it had been dropped first
                return None;
            }
            let old = self.list.remove(0);
            self.floor = self.floor.max(old.tx + 1);
            pos -= 1;
            evicted = true;
        }
        self.list.insert(pos, TxInsp { tx, ..TxInsp::default() });
        Some((pos, evicted))
    }

    /// The state at index `i` (an index [`TxInspStates::entry`] gave).
    pub fn at(&mut self, i: usize) -> Option<&mut TxInsp> {
        self.list.get_mut(i)
    }

    /// Whether transaction `tx` was inspected to the end on every side in `sides`.
    pub fn inspected(&self, tx: u64, sides: [bool; 2]) -> bool {
        tx < self.floor
            || self
                .list
                .binary_search_by_key(&tx, |t| t.tx)
                .ok()
                .and_then(|i| self.list.get(i))
                .is_some_and(|x| x.seen.iter().zip(sides).all(|(&seen, on)| !on || seen >= super::PROGRESS_DONE))
    }

    /// Drops the states of transactions below `lowest` (freed).
    pub fn forget_below(&mut self, lowest: u64) {
        let n = self.list.partition_point(|x| x.tx < lowest);
        self.list.drain(..n);
    }

    /// How many states are held.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether no state is held.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl FlowApp {
    fn start(&mut self, ipproto: u8, (client_port, server_port): (u16, u16), midstream: bool) {
        if !self.started {
            self.started = true;
            self.ports = (client_port, server_port);
            self.tcp = ipproto == 6;
            self.pd = Some(Box::new(ProtoDetect::new(ipproto, client_port, server_port).midstream(midstream)));
        }
    }

    /// The flow is turned around before its parser saw anything (Suricata's `FlowSwap` after
    /// protocol detection): every per-direction state changes sides.
    fn turn_around(&mut self) {
        self.fed.swap(0, 1);
        self.udp_seen.swap(0, 1);
        self.pe_done.swap(0, 1);
        self.pe_retry.swap(0, 1);
        self.dir_proto.swap(0, 1);
        self.pd_pending.swap(0, 1);
        self.raw_trigger.swap(0, 1);
        self.unprobed = self.unprobed.map(|to_server| !to_server);
        self.ports = (self.ports.1, self.ports.0);
        self.reversed = true;
    }

    fn decided(&mut self, p: AppProto, cfg: &AppConfig, stats: &mut AppStats) {
        self.proto = p;
        if let Some(pd) = self.pd.as_deref() {
            let (ts, tc) = (pd.dir_proto(true), pd.dir_proto(false));
            for (d, q) in [ts, tc].into_iter().enumerate() {
                if q.is_known() {
                    self.dir_detected(d == 0, q);
                }
            }
            if ts.is_known() && tc.is_known() && ts != tc {
                self.raise(Event::ApplayerMismatchProtocolBothDirections);
            }
            // one direction decided: the other's first data is checked against it
            self.unprobed = match (ts.is_known(), tc.is_known()) {
                (true, false) => Some(false),
                (false, true) => Some(true),
                _ => None,
            };
        }
        self.pd = None;
        stats.flow(p, self.tcp);
        self.stream_depth = registry::protocol(p).and_then(|d| d.stream_depth);
        self.parser = registry::protocol(p).map(|d| (d.new_parser)(cfg));
        self.frames.enable(cfg.frames.mask(p));
    }

    /// Identification found nothing in this direction's first data: a flow another one
    /// announced is its announced protocol (looked up once per direction, after patterns and
    /// probes, as Suricata's `AppLayerProtoDetectPEGetProto`). When nothing was found but a
    /// control flow may be live between the hosts, later data of a still unidentified flow
    /// looks again as of the first data's time, for an announcement another worker had not
    /// processed yet (see [`super::expect`]).
    fn expected(
        &mut self,
        to_server: bool,
        flow: &FlowMeta,
        cfg: &AppConfig,
        stats: &mut AppStats,
    ) -> Option<AppProto> {
        let d = usize::from(!to_server);
        let (at, late) = match (self.pe_done[d], self.pe_retry[d]) {
            (false, _) => {
                self.pe_done[d] = true;
                if cfg.expect.control_live(&flow.ends) {
                    self.pe_retry[d] = Some(flow.now);
                }
                (flow.now, false)
            }
            (true, Some(t)) => (t, true),
            (true, None) => return None,
        };
        let e: Expectation = cfg.expect.take(&flow.ends, to_server, at, &mut stats.expect)?;
        self.pe_retry = [None; 2];
        if late {
            stats.expect.matched_late += 1;
        }
        self.parent_id = Some(e.parent_flow_id);
        self.decided(e.proto, cfg, stats);
        self.dir_detected(to_server, e.proto);
        if let Some(parser) = self.parser.as_mut() {
            parser.expected(to_server, e.data);
        }
        Some(e.proto)
    }

    fn failed(&mut self, stats: &mut AppStats) {
        if self.pd.as_ref().is_some_and(|pd| pd.skipped()) {
            self.raise(Event::ApplayerProtoDetectionSkipped);
        }
        self.proto = AppProto::Failed;
        self.pd = None;
        stats.flow(AppProto::Failed, self.tcp);
    }

    /// One UDP datagram. As Suricata: each direction's first datagram is offered to
    /// identification; a flow whose first datagram names no protocol is `failed` (and
    /// counted so) at once, and the other direction's first datagram may still name one.
    pub fn udp(&mut self, to_server: bool, ports: (u16, u16), data: &[u8], cfg: &AppConfig, stats: &mut AppStats) {
        let mut to_server = to_server;
        let mut meta = FlowMeta::ports(ports.0, ports.1);
        // An empty datagram is offered too: Suricata runs identification on every UDP packet
        // of a direction still unknown, and an empty one names nothing (`failed`).
        let mut d = usize::from(!to_server);
        // In bounds: d is 0 or 1.
        let detects = !self.udp_seen[d];
        if detects && matches!(self.proto, AppProto::Unknown | AppProto::Failed) {
            self.start(17, ports, cfg.midstream);
            let first = !self.udp_seen[1 - d];
            self.udp_seen[d] = true;
            let found = match self.pd.as_mut() {
                Some(pd) => pd.feed(to_server, data, &mut stats.identify),
                None => AppProto::Failed,
            };
            // found with the other direction's patterns (stream.midstream): sent by the server
            let reverse = self.pd.as_ref().is_some_and(|pd| pd.reverse());
            match found {
                AppProto::Unknown | AppProto::Failed => {
                    if first {
                        self.proto = AppProto::Failed;
                        stats.flow(AppProto::Failed, false);
                    }
                }
                p => {
                    self.proto = p;
                    if first {
                        stats.flow(p, false);
                    }
                    self.parser = registry::protocol(p).map(|desc| (desc.new_parser)(cfg));
                    self.frames.enable(cfg.frames.mask(p));
                }
            }
            // Suricata's AppLayerHandleUdp: the flow's first datagram that its protocol's
            // probe reads as an answer (an LLMNR response seen first), or that matched the
            // other direction's patterns, turns the flow around: its sender is the server,
            // and the datagram is parsed as going to the client
            if first && to_server && found.is_known() && (reverse || answers_first(found, data)) {
                self.udp_seen.swap(0, 1);
                to_server = false;
                d = 1;
                self.ports = (ports.1, ports.0);
                meta = FlowMeta::ports(ports.1, ports.0);
                self.reversed = true;
            }
            if self.udp_seen == [true; 2] || self.parser.is_some() {
                self.pd = None;
            }
        }
        if detects {
            // Suricata's AppLayerHandleUdp: each direction's first datagram settles that
            // direction (its own protocol, else the flow's), and flags both directions done
            self.udp_seen[d] = true;
            let p = if self.proto.is_known() { self.proto } else { AppProto::Failed };
            self.dir_detected(to_server, p);
            self.pd_pending[1 - d] = true;
        }
        if !data.is_empty() {
            self.parse(to_server, data, cfg, stats, &meta);
            // a datagram is whole: its frames are as long as they will get
            self.frames.finish(to_server);
        }
    }

    fn parse(
        &mut self,
        to_server: bool,
        data: &[u8],
        cfg: &AppConfig,
        stats: &mut AppStats,
        flow: &FlowMeta,
    ) -> Verdict {
        let Some(parser) = self.parser.as_mut() else { return Verdict::Consumed };
        self.frames.begin(to_server, data);
        let mut cx = ParseCx { cfg, stats, udp: !self.tcp, flow, frames: &mut self.frames };
        let status = parser.parse(to_server, data, &mut cx);
        self.frames.end(to_server);
        stats.generic.frames_dropped += std::mem::take(&mut self.frames.dropped);
        if let Some(p) = parser.proto_change() {
            if self.proto != p {
                self.proto = p;
                Self::changed_to(&mut self.dir_proto, p);
            }
        }
        if parser.no_inspection() {
            self.no_inspection = true;
        }
        let t = parser.take_raw_trigger();
        self.raw_trigger = [self.raw_trigger[0] | t[0], self.raw_trigger[1] | t[1]];
        if let Some(u) = parser.upgrade() {
            self.upgrade_decided(to_server, data, u, stats);
        }
        match status {
            Status::Continue => Verdict::Consumed,
            Status::Stop => Verdict::Stop,
        }
    }

    /// The parser asked for a change of protocol: the bytes of the call that are the new
    /// protocol's are held for it (the frames take them again from the new parser).
    fn upgrade_decided(&mut self, to_server: bool, data: &[u8], u: Upgrade, stats: &mut AppStats) {
        if self.switch.is_some() || !u.proto.is_known() || u.proto == self.proto {
            return;
        }
        let rest = data.get(data.len().saturating_sub(u.rest)..).unwrap_or(&[]);
        self.frames.rewind(to_server, rest.len());
        let carry = self.parser.as_mut().and_then(|p| p.handoff()).map(Carry);
        let mut sw = Switch { proto: u.proto, ready: false, held: [Vec::new(), Vec::new()], carry };
        sw.hold(to_server, rest, stats);
        self.switch = Some(Box::new(sw));
    }

    /// Whether a change of protocol waits; holds `data` for the new protocol while the
    /// deciding packet is not done.
    fn switch_pending(&mut self, to_server: bool, data: &[u8], stats: &mut AppStats) -> bool {
        match self.switch.as_deref_mut() {
            Some(sw) if !sw.ready => {
                sw.hold(to_server, data, stats);
                true
            }
            _ => false,
        }
    }

    /// Makes a pending change of protocol (the deciding packet was inspected and logged):
    /// the old parser and its detection state go, the new parser gets the held bytes.
    fn switch_now(&mut self, cfg: &AppConfig, stats: &mut AppStats, flow: &FlowMeta) {
        let Some(sw) = self.switch.take() else { return };
        let Switch { proto, held, carry, .. } = *sw;
        self.orig = self.proto;
        self.proto = proto;
        Self::changed_to(&mut self.dir_proto, proto);
        stats.flow(proto, self.tcp);
        self.parser = registry::protocol(proto).map(|d| (d.new_parser)(cfg));
        if let (Some(p), Some(Carry(c))) = (self.parser.as_mut(), carry) {
            p.take_over(self.orig, c);
        }
        self.insp = TxInspStates::default();
        self.logged = Logged::default();
        self.frames.restart(cfg.frames.mask(proto));
        for (d, bytes) in held.iter().enumerate() {
            if !bytes.is_empty() {
                let _ = self.parse(d == 0, bytes, cfg, stats, flow);
            }
        }
    }

    /// Identification of one direction ended with `p` (`Failed`: nothing): its protocol is
    /// kept and the direction's next packet carries the news.
    fn dir_detected(&mut self, to_server: bool, p: AppProto) {
        let d = usize::from(!to_server);
        // In bounds: d is 0 or 1.
        self.dir_proto[d] = p;
        self.pd_pending[d] = true;
    }

    /// Whether identification turned the flow around with the packet being processed (its
    /// sender is the server): true once.
    pub fn take_reversed(&mut self) -> bool {
        std::mem::take(&mut self.reversed)
    }

    /// Whether identification of the direction `to_server` completed since the last packet
    /// of that direction asked (Suricata's `PKT_PROTO_DETECT_TS_DONE` / `_TC_DONE`): true
    /// once, for the packet that asks first.
    pub fn take_pd_done(&mut self, to_server: bool) -> bool {
        std::mem::take(&mut self.pd_pending[usize::from(!to_server)])
    }

    /// The protocol changed for the whole flow (an upgrade, DoH found in HTTP/2): both
    /// directions have it now, as Suricata's forced protocol change sets them.
    fn changed_to(dir_proto: &mut [AppProto; 2], p: AppProto) {
        for q in dir_proto {
            if q.is_known() {
                *q = p;
            }
        }
    }

    /// Lists a protocol-detection event on the packet being processed.
    fn raise(&mut self, e: Event) {
        self.pkt_events.push(e);
    }

    /// Takes the protocol-detection events raised while the packet was processed (the worker
    /// lists them on the packet, after the decoder's and the stream's, and counts them).
    pub fn take_packet_events(&mut self) -> Events {
        std::mem::take(&mut self.pkt_events)
    }

    /// The first data of the direction the protocol was not found in: identified on its own,
    /// a different protocol is Suricata's `applayer_mismatch_protocol_both_directions`, no
    /// protocol at all (every pattern and probe excluded) its
    /// `applayer_detect_protocol_only_one_direction`. Returns whether the app layer must stop: the
    /// to-server side of a session picked up midstream named no protocol (Suricata's
    /// `DisableAppLayer` in `TCPProtoDetect`).
    fn probe_other_direction(&mut self, to_server: bool, data: &[u8], midstream: bool) -> bool {
        if self.unprobed != Some(to_server) || data.is_empty() {
            return false;
        }
        self.unprobed = None;
        let (cp, sp) = self.ports;
        let (src, dst) = if to_server { (cp, sp) } else { (sp, cp) };
        let ipproto = if self.tcp { 6 } else { 17 };
        let found = probe_other_side(self.proto, ipproto, to_server, data, (src, dst), midstream);
        // Suricata's TCPProtoDetect on this direction's first data: its own protocol when
        // it names one, else `failed` (the parser still gets the data)
        match found {
            ProbeResult::Found(q) => self.dir_detected(to_server, q),
            ProbeResult::NotFound => self.dir_detected(to_server, AppProto::Failed),
            ProbeResult::NeedMore => {}
        }
        if found == ProbeResult::NotFound && to_server && self.midstream_ssn {
            return true;
        }
        match found {
            ProbeResult::Found(q) if q != self.proto => self.raise(Event::ApplayerMismatchProtocolBothDirections),
            // Suricata passes the data to the parser all the same (`TCPProtoDetect`: detection
            // done in this direction and nothing found); a protocol without parser (IMAP,
            // detected only) does not raise it in Suricata's records either
            ProbeResult::NotFound if self.tcp && self.parser.is_some() => {
                self.raise(Event::ApplayerDetectProtocolOnlyOneDirection)
            }
            _ => {}
        }
        false
    }

    /// Ends the app layer of a flow whose protocol was named (Suricata's `DisableAppLayer`):
    /// its parser and transactions go, the flow's protocol is `failed`, each direction not
    /// decided yet is `failed` too.
    fn disable(&mut self, stats: &mut AppStats) {
        self.proto = AppProto::Failed;
        self.parser = None;
        self.switch = None;
        for d in 0..2 {
            // In bounds: d is 0 or 1, both arrays have two.
            if self.dir_proto[d] != AppProto::Failed {
                if self.dir_proto[d] == AppProto::Unknown {
                    self.dir_proto[d] = AppProto::Failed;
                }
                self.pd_pending[d] = true;
            }
        }
        stats.flow(AppProto::Failed, self.tcp);
    }

    /// Frees transactions that detection and the record writer (`records`: its records are
    /// written) are done with, and their detection state. `inspects` says which sides
    /// detection inspects on this flow (index 0: to server): a side without rules for the
    /// protocol is never inspected, so it must not hold its transactions (they would pile up
    /// to the parser's limit and push each other's detection state out on every packet).
    pub fn free_txs(&mut self, inspects: [bool; 2], records: bool) {
        // the packet that decided a change of protocol was inspected and logged
        if let Some(sw) = self.switch.as_deref_mut() {
            sw.ready = true;
        }
        let FlowApp { parser, insp, logged, .. } = self;
        let Some(parser) = parser.as_mut() else { return };
        let done = |id: u64| {
            let inspected = inspects == [false; 2] || insp.inspected(id, inspects);
            inspected && (!records || logged.has(id))
        };
        if let Some(lowest) = parser.free_txs(&done) {
            insp.forget_below(lowest);
            logged.forget_below(lowest);
        }
    }

    /// Whether transaction `id`'s record was written.
    pub fn logged(&self, id: u64) -> bool {
        self.logged.has(id)
    }

    /// The parser and the logged marks, borrowed apart (to write records while walking the
    /// transactions).
    pub fn parser_and_log(&mut self) -> (Option<&dyn AppParser>, LogMarks<'_>) {
        (self.parser.as_deref(), LogMarks(&mut self.logged))
    }

    /// The parser's transactions, oldest first.
    pub fn each_tx(&self, f: &mut dyn FnMut(&dyn Transaction)) {
        if let Some(p) = self.parser.as_ref() {
            p.each_tx(f);
        }
    }

    /// The transaction with this id, if still held.
    pub fn tx(&self, id: u64) -> Option<&dyn Transaction> {
        self.parser.as_ref().and_then(|p| p.tx(id))
    }
}

impl Switch {
    fn hold(&mut self, to_server: bool, data: &[u8], stats: &mut AppStats) {
        let buf = &mut self.held[usize::from(!to_server)];
        let room = MAX_SWITCH_HELD.saturating_sub(buf.len());
        let n = data.len().min(room);
        buf.extend_from_slice(data.get(..n).unwrap_or(&[]));
        stats.generic.upgrade_bytes_dropped += (data.len() - n) as u64;
    }
}

impl Logged {
    fn has(&self, id: u64) -> bool {
        id < self.next || self.above.binary_search(&id).is_ok()
    }

    fn mark(&mut self, id: u64) {
        if id < self.next {
            return;
        }
        if id == self.next {
            self.next += 1;
            while self.above.first() == Some(&self.next) {
                self.above.remove(0);
                self.next += 1;
            }
            return;
        }
        if let Err(pos) = self.above.binary_search(&id) {
            self.above.insert(pos, id);
        }
        if self.above.len() > MAX_LOGGED_ABOVE {
            // give up on the oldest unlogged ids below the first logged one
            let first = self.above.remove(0);
            self.next = first + 1;
            while self.above.first() == Some(&self.next) {
                self.above.remove(0);
                self.next += 1;
            }
        }
    }

    fn events_logged(&self, id: u64) -> usize {
        if id < self.ev_floor {
            return usize::MAX;
        }
        self.ev.binary_search_by_key(&id, |e| e.0).map_or(0, |i| self.ev.get(i).map_or(0, |e| usize::from(e.1)))
    }

    fn set_events_logged(&mut self, id: u64, n: usize) {
        if id < self.ev_floor {
            return;
        }
        let n = u16::try_from(n).unwrap_or(u16::MAX);
        match self.ev.binary_search_by_key(&id, |e| e.0) {
            Ok(i) => {
                if let Some(e) = self.ev.get_mut(i) {
                    e.1 = n;
                }
            }
            Err(i) => {
                self.ev.insert(i, (id, n));
                if self.ev.len() > MAX_EVENTS_LOGGED {
                    let (first, _) = self.ev.remove(0);
                    self.ev_floor = first + 1;
                }
            }
        }
    }

    fn forget_below(&mut self, lowest: u64) {
        self.ev.retain(|e| e.0 >= lowest);
        if lowest > self.next {
            self.next = lowest;
            self.above.retain(|&x| x >= lowest);
            while self.above.first() == Some(&self.next) {
                self.above.remove(0);
                self.next += 1;
            }
        }
    }
}

/// The logged marks of a flow, borrowed apart from its parser.
pub struct LogMarks<'a>(&'a mut Logged);

impl LogMarks<'_> {
    /// Whether transaction `id`'s record was written.
    pub fn has(&self, id: u64) -> bool {
        self.0.has(id)
    }

    /// Transaction `id`'s record was written.
    pub fn mark(&mut self, id: u64) {
        self.0.mark(id)
    }

    /// How many of transaction `id`'s app-layer events were reported (`usize::MAX`: all,
    /// whatever it raises later).
    pub fn events_logged(&self, id: u64) -> usize {
        self.0.events_logged(id)
    }

    /// The first `n` of transaction `id`'s app-layer events were reported.
    pub fn set_events_logged(&mut self, id: u64, n: usize) {
        self.0.set_events_logged(id, n)
    }
}

/// The stream's view of a flow's app layer for one call.
pub struct Sink<'a> {
    /// The flow's app layer (made with its first data or gap).
    pub app: &'a mut AppSlot,
    /// Protocol settings.
    pub cfg: &'a AppConfig,
    /// Counters.
    pub stats: &'a mut AppStats,
    /// The flow's endpoints, id and packet time.
    pub flow: FlowMeta,
}

impl AppSink for Sink<'_> {
    fn take_raw_trigger(&mut self) -> [bool; 2] {
        self.app.get_mut().map_or([false; 2], |a| std::mem::take(&mut a.raw_trigger))
    }

    fn picked_up_midstream(&mut self) {
        // said just before data is offered: the app layer is made for that data anyway
        self.app.make().midstream_ssn = true;
    }

    fn data(&mut self, to_server: bool, offset: u64, data: &[u8]) -> Verdict {
        let app = self.app.make();
        if app.gap_stop {
            return Verdict::Stop;
        }
        if let Some(asked) = app.turn.take() {
            if asked != to_server {
                // the stream turned the session around: this is the server's data
                app.turn_around();
                let e = &mut self.flow.ends;
                *e = Endpoints { src: e.dst, dst: e.src, sp: e.dp, dp: e.sp };
                // the (new) other direction spoke first: its data goes to the parser first
                if app.fed[usize::from(to_server)] > 0 {
                    return Verdict::OtherFirst;
                }
            }
        }
        match app.proto {
            AppProto::Failed => return Verdict::Stop,
            AppProto::Unknown => {
                app.start(6, (self.flow.ends.sp, self.flow.ends.dp), self.cfg.midstream);
                let d = usize::from(!to_server);
                // feed identification only the bytes it has not seen (the stream offers data
                // again until the protocol is known)
                let seen = app.fed[d].saturating_sub(offset) as usize;
                let p = match (app.pd.as_mut(), data.get(seen..)) {
                    (Some(pd), Some(new)) if !new.is_empty() => {
                        app.fed[d] = offset + data.len() as u64;
                        pd.feed(to_server, new, &mut self.stats.identify)
                    }
                    (Some(pd), _) => pd.proto(),
                    (None, _) => AppProto::Failed,
                };
                // named with the other direction's patterns (stream.midstream): the server's data
                let reverse = app.pd.as_ref().is_some_and(|pd| pd.reverse());
                let p = match p {
                    AppProto::Unknown | AppProto::Failed if app.pd.is_some() => {
                        app.expected(to_server, &self.flow, self.cfg, self.stats).unwrap_or(p)
                    }
                    p => p,
                };
                // Suricata: a session picked up midstream whose to-server side named nothing
                // gives up, whatever the other side says
                let p = match (p, app.pd.as_deref()) {
                    (AppProto::Unknown, Some(pd)) if app.midstream_ssn && pd.dir_done(true) => AppProto::Failed,
                    (p, _) => p,
                };
                match p {
                    AppProto::Unknown => return Verdict::Wait,
                    AppProto::Failed => {
                        app.failed(self.stats);
                        return Verdict::Stop;
                    }
                    p if app.proto != p => {
                        app.decided(p, self.cfg, self.stats);
                        app.dir_detected(to_server, p);
                        // Suricata turns the flow around here when the session was picked up
                        // midstream: the stream does it (or not) and offers the data again
                        if reverse {
                            app.turn = Some(to_server);
                            return Verdict::Reverse;
                        }
                        // the other direction spoke first: its data goes to the parser first
                        if app.fed[1 - d] > 0 {
                            return Verdict::OtherFirst;
                        }
                    }
                    _ => {}
                }
            }
            _ => {
                if offset == 0 && app.probe_other_direction(to_server, data, self.cfg.midstream) {
                    app.disable(self.stats);
                    return Verdict::Stop;
                }
                if app.switch.is_some() {
                    if app.switch_pending(to_server, data, self.stats) {
                        return Verdict::Consumed;
                    }
                    app.switch_now(self.cfg, self.stats, &self.flow);
                }
            }
        }
        app.parse(to_server, data, self.cfg, self.stats, &self.flow)
    }

    fn gap(&mut self, to_server: bool, len: u64) -> Verdict {
        let app = self.app.make();
        if app.switch.is_some() {
            // a hole before the next protocol starts: it cannot resync
            app.switch = None;
            app.gap_stop = true;
            self.stats.generic.gap_stops += 1;
            return Verdict::Stop;
        }
        match app.parser.as_mut() {
            Some(parser) => {
                app.frames.gap(to_server, len);
                let frames = &mut app.frames;
                let mut cx = ParseCx { cfg: self.cfg, stats: self.stats, udp: !app.tcp, flow: &self.flow, frames };
                if parser.gap(to_server, len, &mut cx) == Status::Stop {
                    app.gap_stop = true;
                    self.stats.generic.gap_stops += 1;
                }
            }
            None => {
                if app.proto == AppProto::Unknown {
                    // a gap before the protocol is known: identification cannot go on
                    app.failed(self.stats);
                } else if !app.proto.accepts_gaps() {
                    // as Suricata: a protocol that does not accept gaps ends the app layer
                    app.gap_stop = true;
                    self.stats.generic.gap_stops += 1;
                }
            }
        }
        if app.gap_stop || app.proto == AppProto::Failed {
            Verdict::Stop
        } else {
            Verdict::Consumed
        }
    }

    fn eof(&mut self, to_server: bool) {
        // a flow without data has no parser nor frames to finish
        let Some(app) = self.app.get_mut() else { return };
        if app.switch.as_deref().is_some_and(|sw| sw.ready) {
            app.switch_now(self.cfg, self.stats, &self.flow);
        }
        if let Some(parser) = app.parser.as_mut() {
            let frames = &mut app.frames;
            let mut cx = ParseCx { cfg: self.cfg, stats: self.stats, udp: !app.tcp, flow: &self.flow, frames };
            parser.eof(to_server, &mut cx);
        }
        app.frames.finish(to_server);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_marks_in_and_out_of_order() {
        let mut l = Logged::default();
        l.mark(0);
        l.mark(2);
        assert!(l.has(0) && !l.has(1) && l.has(2));
        l.mark(1);
        assert_eq!((l.next, l.above.len()), (3, 0));
        l.mark(1);
        assert_eq!(l.next, 3, "marking twice changes nothing");
        l.forget_below(10);
        assert!(l.has(9) && !l.has(10));
        for i in 0..=MAX_LOGGED_ABOVE as u64 {
            l.mark(12 + i);
        }
        assert!(l.above.len() <= MAX_LOGGED_ABOVE, "bounded");
        assert!(l.has(12) && l.has(11), "the oldest unlogged id is given up, never logged twice");
    }

    #[test]
    fn reported_event_counts_are_kept_per_transaction_and_bounded() {
        let mut l = Logged::default();
        assert_eq!(l.events_logged(3), 0);
        l.set_events_logged(3, 2);
        l.set_events_logged(1, 1);
        assert_eq!((l.events_logged(1), l.events_logged(3), l.events_logged(2)), (1, 2, 0));
        l.set_events_logged(3, 5);
        assert_eq!(l.events_logged(3), 5);
        l.forget_below(2);
        assert_eq!((l.events_logged(1), l.events_logged(3)), (0, 5), "freed ids are forgotten");
        for i in 0..=MAX_EVENTS_LOGGED as u64 {
            l.set_events_logged(10 + i, 1);
        }
        assert!(l.ev.len() <= MAX_EVENTS_LOGGED);
        assert_eq!(l.events_logged(3), usize::MAX, "the oldest count as all reported, never twice");
    }
}
