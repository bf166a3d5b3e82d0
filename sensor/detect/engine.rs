//! The detection engine: rules compiled into groups, and the per-packet run.
//!
//! Load time ([`DetectEngine::build`]): each usable rule is compiled (payload lists, pcre),
//! ordered as Suricata orders signatures (action, flowbits, priority, then load order), and
//! placed in the groups it can apply to: per transport (TCP, UDP, ICMPv4, ICMPv6, other) and
//! flow direction, and for TCP/UDP per destination port (ports with the same rule set share a
//! group). Each group has one multi-pattern database of its rules' fast patterns.
//!
//! Per packet ([`DetectEngine::run`]): pick the group, scan the payload once, collect the
//! candidate rules named by the scan plus the group's rules without a fast pattern, and
//! verify candidates in rule order. IP-only rules (addresses only) are evaluated once per flow
//! direction, as in Suricata.

use std::sync::{Arc, Mutex};

use super::addresses::{FastAddrSet, IpIndex};
use super::compile::transports_of;
use super::threshold::ThresholdTable;
use crate::app::AppProto;
use crate::detect::app::{self, AppSet};
use crate::detect::matcher::{Engine, Mpm, MpmScratch, PatternSpec};
use crate::detect::verify::{CompiledList, VerifyScratch};
use crate::flow::FlowState;
use crate::rule::ast::{Buffer, PacketMatch, PayloadMatch, Rule};
use crate::rule::RuleError;

/// Alerts kept per packet (Suricata's `packet-alert-max`).
pub const PACKET_ALERT_MAX: usize = 15;

/// A rule ready to run.
#[derive(Debug)]
pub struct CompiledRule {
    /// What detection reads of the parsed rule (boxed: the vector of compiled rules grows
    /// by doubling while a ruleset loads).
    pub rule: Box<super::run_rule::RunRule>,
    /// Payload list (the packet payload), compiled.
    pub payload: Option<CompiledList>,
    /// Prefilter pattern, when the rule has one.
    pub fast_pattern: Option<PatternSpec>,
    /// How far into a packet's payload the prefilter pattern must lie for the rule to
    /// match there (see [`super::fast_pattern::fast_pattern_reach`]); `None`: anywhere.
    pub fp_reach: Option<u32>,
    /// Evaluated once per flow direction (addresses only).
    pub ip_only: bool,
    /// `<>` copy with source and destination swapped (same sid).
    pub swapped: bool,
    /// Pre-rendered `"alert":{...}` body fields after `signature_id`, without braces: a
    /// text of [`DetectEngine::alert_texts`].
    pub alert_text: crate::output::pieces::TextRef,
    /// Source addresses, compiled (shared by the rules with the same set: most rules of a
    /// ruleset name the same few variables).
    pub src: Arc<FastAddrSet>,
    /// Destination addresses, compiled (shared likewise).
    pub dst: Arc<FastAddrSet>,
    /// Where the payload keywords look: packets, the reassembled stream, or both
    /// (Suricata's SIG_FLAG_REQUIRE_PACKET / _STREAM / _STREAM_ONLY).
    pub insp: Insp,
    /// The app-layer protocol the rule header names (the flow must have it).
    pub app_proto: Option<AppProto>,
    /// Inspected per transaction (sticky buffers): see [`super::app`].
    pub is_app: bool,
    /// Keyword kinds the rule uses (for `picket bench --profile`; see [`super::profile`]):
    /// one copy of each distinct list for all rules.
    pub keywords: Arc<[&'static str]>,
    /// Buffers the rule inspects (for the profile). The parse tree's payload lists are dropped
    /// once compiled, so these are kept instead (names and lists shared between rules).
    pub buffers: Arc<[Arc<str>]>,
    /// The event (code) the rule needs on the packet, when it has an event keyword: such a
    /// rule is a candidate only for packets carrying that event (the event prefilter).
    pub event: Option<u8>,
    /// Suricata's decoder-event-only rule (`decode-event` and nothing else on the packet): it
    /// also runs on packets whose transport did not decode.
    pub de_only: bool,
    /// Lists on the packet's own buffers (`tcp.hdr`, ...), in rule order.
    pub pkt_lists: Vec<PacketList>,
    /// Suricata's protocol-detection-only rule (`SIG_TYPE_PDONLY`): `app-layer-protocol`
    /// (and `flowbits:set`) and nothing else to match, so it matches only on the packet that
    /// carries its direction's end of identification ([`FlowInfo::pd_done`]), not on every
    /// packet of the flow.
    pub pd_only: bool,
    pub(super) pending_app: Vec<app::Compiled>,
}

/// A list of payload keywords on a buffer of the packet itself (`ipv4.hdr`, `tcp.hdr`, ...).
#[derive(Debug)]
pub struct PacketList {
    /// The buffer (name and getter).
    pub buffer: crate::rule::ast::PacketBuffer,
    /// Its transforms, compiled.
    pub xforms: Vec<crate::detect::transform::Xform>,
    /// Its keywords, compiled.
    pub list: CompiledList,
}

/// Where a rule's payload keywords are inspected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Insp {
    /// Packet payloads.
    pub packet: bool,
    /// Raw stream chunks (TCP).
    pub stream: bool,
    /// Only the stream.
    pub stream_only: bool,
}

impl Insp {
    /// Whether the payload keywords look at a packet's own payload (`added`: the payload
    /// went into the stream, Suricata's PKT_STREAM_ADD): not for stream-only rules, and not
    /// for a stream rule whose packet went into the stream (its bytes are inspected there,
    /// once); otherwise Suricata falls back to the packet.
    pub fn on_packet(self, added: bool) -> bool {
        !self.stream_only && (self.packet || !self.stream || !added)
    }
}

/// Suricata's rule: TCP payload rules inspect the reassembled stream; those with a content
/// anchored by depth/offset or with `stream_size` also inspect packets (a dsize: packets
/// only); `flow:only_stream` and
/// `tcp-stream` mean the stream only, `flow:no_stream` and `tcp-pkt` packets only.
pub fn inspection_of(r: &Rule) -> Insp {
    use crate::rule::ast::TcpMode;
    let has_payload = r.buffers.iter().any(|b| b.buffer == Buffer::Payload && !b.matches.is_empty());
    let tcp = transports_of(r.proto.transport).contains(&T_TCP);
    if !has_payload || !tcp {
        return Insp { packet: true, stream: false, stream_only: false };
    }
    if r.flow.only_stream || r.proto.tcp_mode == TcpMode::Stream {
        return Insp { packet: false, stream: true, stream_only: true };
    }
    if r.flow.no_stream || r.proto.tcp_mode == TcpMode::Packet {
        return Insp { packet: true, stream: false, stream_only: false };
    }
    if r.packet.iter().any(requires_packet) {
        return Insp { packet: true, stream: false, stream_only: false };
    }
    let anchored = r
        .buffers
        .iter()
        .filter(|b| b.buffer == Buffer::Payload)
        .flat_map(|b| b.matches.iter())
        .any(|m| matches!(m, PayloadMatch::Content(c) if c.depth.is_some() || c.offset.is_some() || c.startswith));
    // detect-parse.c: "if stream_size is in use, also inspect packets"
    let stream_size = r.packet.iter().any(|m| matches!(m, PacketMatch::StreamSize(..)));
    Insp { packet: anchored || stream_size, stream: true, stream_only: false }
}

/// The keywords that make Suricata's rule packet-only (`SIG_FLAG_REQUIRE_PACKET`): a rule
/// with one inspects its payload on packets, never on the reassembled stream.
fn requires_packet(m: &PacketMatch) -> bool {
    match m {
        PacketMatch::Dsize(_) => true,
        PacketMatch::Header(h) => matches!(
            h.keyword,
            "ttl"
                | "tos"
                | "id"
                | "ipopts"
                | "fragbits"
                | "fragoffset"
                | "sameip"
                | "flags"
                | "tcp.flags"
                | "seq"
                | "ack"
                | "window"
                | "tcp.mss"
                | "itype"
                | "icode"
                | "icmp_id"
                | "icmp_seq"
                | "icmpv6.mtu"
        ),
        _ => false,
    }
}

/// Raw stream data offered to detection with a TCP packet.
#[derive(Debug, Clone, Copy)]
pub struct StreamData<'a> {
    /// The packet's payload went into the stream (Suricata's PKT_STREAM_ADD).
    pub added: bool,
    /// Contiguous blocks of the packet direction's stream that are due for inspection.
    pub chunks: &'a [&'a [u8]],
    /// A stream-end pseudo packet (flow end): only stream inspection applies.
    pub pseudo: bool,
}

/// A prefilter of one (transport, direction): one multi-pattern database of the fast
/// patterns of every rule that can apply to one kind of buffer (see [`PortGroups`]),
/// whatever its ports (ports are checked on the candidates, which keeps the number of
/// databases, and the compile time, small).
#[derive(Debug, Default)]
pub(super) struct Group {
    /// Prefilter database; pattern id -> rule ids (in evaluation order).
    pub(super) mpm: Option<Mpm>,
    pub(super) pattern_rules: Vec<Vec<u32>>,
    /// How far into a buffer the patterns can lie for their rules to match (0: anywhere):
    /// only that much of it is scanned.
    pub(super) reach: usize,
}

/// Per (transport, direction): the prefilter groups and, per destination port, the rules
/// without a fast pattern that apply (ports sharing a rule set share the list).
///
/// A buffer is scanned only for the rules whose payload keywords look at it
/// ([`Insp::on_packet`], [`Insp::stream`]): a TCP payload that went into the stream only for
/// the rules that also inspect packets (ET Open: the anchored ones and the packet-only
/// ones), the raw stream only for the stream rules. Equal rule sets share one group (every
/// transport but TCP has one). A payload's rules are split in two groups: those whose
/// pattern must lie near the start of the payload ([`CompiledRule::fp_reach`] up to
/// [`HEAD_REACH`]: ET Open's short anchored patterns), scanned only that far, and the rest.
#[derive(Debug)]
pub(super) struct PortGroups {
    /// Indexes into `groups`: payloads that did not go into a stream (anywhere, head).
    pub(super) group: [usize; 2],
    /// Indexes into `groups`: payloads that went into the stream (anywhere, head).
    pub(super) added: [usize; 2],
    /// Indexes into `groups`: raw stream chunks (anywhere, head).
    pub(super) stream: [usize; 2],
    /// Port -> index into `always_sets` (65536 entries for TCP/UDP, one otherwise).
    pub(super) by_port: Vec<u32>,
}

/// The farthest reach of a pattern that goes to a payload's head group (see [`PortGroups`]).
pub(super) const HEAD_REACH: u32 = 16;

pub(super) const T_TCP: usize = 0;
pub(super) const T_UDP: usize = 1;
pub(super) const T_ICMP4: usize = 2;
pub(super) const T_ICMP6: usize = 3;
pub(super) const T_OTHER: usize = 4;
pub(super) const T_COUNT: usize = 5;

/// Load statistics, for `rules check` and the stats event.
#[derive(Debug, Default, Clone)]
pub struct LoadStats {
    /// Rules loaded (usable).
    pub loaded: usize,
    /// Rules that failed to parse.
    pub failed: usize,
    /// Rules parsed but skipped (unsupported feature).
    pub skipped: usize,
    /// Rules using a prefilter pattern.
    pub with_fast_pattern: usize,
    /// IP-only rules.
    pub ip_only: usize,
    /// App-layer (transaction) rules.
    pub app_rules: usize,
    /// Groups built.
    pub groups: usize,
    /// Patterns across all prefilter databases.
    pub patterns: usize,
    /// Seconds spent compiling (rules + databases).
    pub compile_secs: f64,
}

/// The compiled rule set, shared read-only by all workers.
pub struct DetectEngine {
    /// Rules, in evaluation order (index = rule number).
    pub rules: Vec<CompiledRule>,
    pub(super) groups: Vec<Group>,
    pub(super) always_sets: Vec<Vec<u32>>,
    pub(super) tables: [[PortGroups; 2]; T_COUNT],
    /// The names of the flowbits and flowints the rules use (EVE `metadata`).
    pub var_names: crate::rule::VarNames,
    /// Rules that could not be used, with why.
    pub errors: Vec<RuleError>,
    /// Load statistics.
    pub stats: LoadStats,
    pub(super) thresholds: Mutex<ThresholdTable>,
    /// Host and host-pair bits (`hostbits`, `xbits`), shared by the workers.
    pub(super) xbits: Mutex<super::vars::XbitTable>,
    /// IP reputation of `iprep` (read with the rules; shared read-only by the workers).
    pub reputation: Option<Arc<super::iprep::Reputation>>,
    pub(super) engine: Engine,
    /// IP-only rules, in evaluation order.
    pub(super) ip_only: Vec<u32>,
    /// IP-only rules indexed by their narrower address side.
    pub(super) ip_index: IpIndex,
    /// App-layer rules.
    pub app: AppSet,
    /// The rules' rendered `alert` fields ([`CompiledRule::alert_text`]), pieces shared.
    pub alert_texts: crate::output::pieces::Pieces,
    /// Address suppressions of threshold.config, by rule number (see `threshold.rs`).
    pub(super) suppressions: Vec<super::threshold::Suppression>,
    /// Rules with an event keyword, per event code, in evaluation order.
    pub(super) event_rules: Vec<Vec<u32>>,
    /// Per rule, the source and destination port ranges its ports lie in (see
    /// `compile::port_span`): a dense table the prefilter's candidates are checked against
    /// before they are queued, so that a rule of another port is not verified (its header
    /// is a cache miss away). 8 bytes a rule.
    pub(super) port_spans: Vec<[(u16, u16); 2]>,
}

impl std::fmt::Debug for DetectEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetectEngine").field("rules", &self.rules.len()).field("groups", &self.groups.len()).finish()
    }
}

/// One alert produced for a packet.
#[derive(Debug, Clone, Copy)]
pub struct AlertHit {
    /// Rule number (index into [`DetectEngine::rules`]).
    pub rule: u32,
    /// The transaction it matched ([`NO_TX`] for packet and stream matches).
    pub tx: u64,
    /// Its threshold or detection filter is shared between flows (tracked by address or
    /// rule) and [`DetectScratch::ordered`] is set: whether it alerts is decided later, in
    /// packet order, by [`DetectEngine::shared_threshold_step`].
    pub deferred: bool,
    /// The frame a frame rule matched (its id in the flow), else 0.
    pub frame: u64,
    /// Its `alert.context` (JSON set entries it matched): a range of
    /// [`DetectScratch::contexts`], empty for most alerts.
    pub context: (u32, u32),
}

/// [`AlertHit::tx`] of packet and stream matches.
pub const NO_TX: u64 = u64::MAX;

/// Per-worker detection state.
pub struct DetectScratch {
    pub(super) mpm: MpmScratch,
    pub(super) verify: VerifyScratch,
    /// Candidate marks (generation-stamped), one per rule.
    pub(super) stamp: Vec<u32>,
    pub(super) generation: u32,
    pub(super) candidates: Vec<u32>,
    /// Alerts of the current packet.
    pub alerts: Vec<AlertHit>,
    /// The `,"context":{..}` members of the alerts ([`AlertHit::context`]), cleared with them.
    pub contexts: Vec<u8>,
    /// Packet variables the packet's matching rules captured (pcre `pkt:name`), as
    /// `{"name":"value"}` items of EVE `metadata.pktvars`, cleared with the alerts.
    pub pkt_vars: Vec<u8>,
    /// The flow's rule variables rendered for its events ([`DetectEngine::flow_vars_json`]).
    pub flow_vars: Vec<u8>,
    /// The variables `flow_vars` holds the rendering of ([`DetectEngine::render_flow_vars`]).
    pub(super) flow_vars_of: super::metadata::RenderedVars,
    /// The frame being inspected (0: none): what a match is recorded against.
    pub(super) cur_frame: u64,
    /// Transform output buffers.
    pub(super) xa: Vec<u8>,
    pub(super) xb: Vec<u8>,
    /// Per-rule profile (`picket bench --profile`); `None` (no cost) unless profiling.
    pub profile: Option<Box<crate::detect::profile::RuleProfile>>,
    /// Replay: thresholds shared between flows are not decided by the worker but deferred
    /// ([`AlertHit::deferred`]) to one ordered stage, so that every worker count gives the same
    /// alerts. Off in live capture (decided at once, in arrival order).
    pub ordered: bool,
}

/// Per-flow detection state (its lists are [`thin_vec::ThinVec`]s: most flows set none, and
/// each costs one word of the flow's slot instead of three).
#[derive(Debug, Clone, Default)]
pub struct FlowDetect {
    /// Flowbits set on the flow, by number, in the order they were set (EVE `metadata` lists
    /// them in that order, as Suricata's variable list does); a flow holds a handful.
    pub bits: thin_vec::ThinVec<u32>,
    /// IP-only rules were evaluated for the to-server / to-client direction.
    pub ip_only_done: [bool; 2],
    /// A pass rule matched: no more detection on this flow (as Suricata's flow pass).
    pub pass: bool,
    /// by_flow thresholds: (rule, first second, count, backoff next).
    pub thresholds: thin_vec::ThinVec<(u32, u64, u32, u64)>,
    /// `flowint` variables set on the flow: (variable, value).
    pub ints: thin_vec::ThinVec<(u32, u32)>,
    /// Entropy values `entropy` keywords computed on the flow, one per inspected buffer
    /// ([`super::metadata::entropy_key`]), the last computed, in the order first computed.
    pub floats: thin_vec::ThinVec<(u16, f64)>,
    /// Flow variables captured by pcre (`flow:name`): (name, value), in the order first set;
    /// a name set again takes the new value (as many as the rules' capture names).
    pub vars: thin_vec::ThinVec<FlowVar>,
}

/// A flow variable: (name, value).
pub type FlowVar = (Box<[u8]>, Box<[u8]>);

impl FlowDetect {
    /// Sets flow variable `name` (a pcre capture).
    pub fn set_var(&mut self, name: &[u8], value: &[u8]) {
        match self.vars.iter_mut().find(|(n, _)| **n == *name) {
            Some((_, v)) => *v = value.into(),
            None => self.vars.push((name.into(), value.into())),
        }
    }
}

/// What the engine needs to know about the packet's flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowInfo {
    /// The packet goes to the server.
    pub to_server: bool,
    /// Flow state.
    pub state: FlowState,
    /// TCP handshake complete (for `established` on TCP).
    pub tcp_established: bool,
    /// The flow's app-layer protocol (`Unknown` while undecided).
    pub app_proto: AppProto,
    /// The protocol each direction's identification settled on (index 0: to server;
    /// `Unknown` while that direction is undecided), for `app-layer-protocol`'s modes.
    pub dir_proto: [AppProto; 2],
    /// The protocol before a change (`Unknown` without one), `app-layer-protocol:...,original`.
    pub orig_proto: AppProto,
    /// Identification of this packet's direction completed with it (Suricata's
    /// `PKT_PROTO_DETECT_TS_DONE` / `_TC_DONE`): the one packet protocol-detection-only
    /// rules match on.
    pub pd_done: bool,
    /// The packet is the first of its direction on the flow (Suricata's
    /// `FLOW_PKT_TOSERVER_FIRST` / `_TOCLIENT_FIRST`): the `flow_start` hook's packet.
    pub first: bool,
    /// The flow's payload is no longer inspected (encrypted TLS).
    pub no_payload: bool,
    /// TCP: bytes each side of the session sent as `stream_size` counts them (next expected
    /// sequence number minus the initial one), client then server; `None` without a session.
    pub stream_size: Option<[u32; 2]>,
    /// Packets and bytes the flow carried to server and to client, this packet included
    /// (`flow.pkts`, `flow.bytes`).
    pub pkts: [u64; 2],
    /// See `pkts`.
    pub bytes: [u64; 2],
    /// Whole seconds from the flow's first packet to its last (`flow.age`).
    pub age_secs: u64,
}

impl DetectEngine {
    /// The engine shared for the rest of the process, never freed: a command that exits after
    /// one replay leaves its memory to the exit instead of freeing ET Open's rules and
    /// databases one allocation at a time (0.1 s of CPU at the end of every replay).
    pub fn for_process(self) -> Arc<DetectEngine> {
        let e = Arc::new(self);
        std::mem::forget(Arc::clone(&e));
        e
    }

    /// Whether any rule inspects raw TCP streams (otherwise the stream keeps no data for it).
    pub fn inspects_streams(&self) -> bool {
        self.rules.iter().any(|r| r.insp.stream)
    }

    /// Which sides of `proto`'s transactions app-layer rules inspect (index 0: to server);
    /// a side they do not inspect must not keep its transactions alive.
    pub fn app_sides(&self, proto: AppProto) -> [bool; 2] {
        self.app.sides(proto)
    }

    /// The multi-pattern engine in use.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A worker's scratch space.
    pub fn new_scratch(&self) -> DetectScratch {
        let mut mpm = MpmScratch::default();
        for g in &self.groups {
            if let Some(m) = &g.mpm {
                let _ = m.prepare(&mut mpm);
            }
        }
        self.app.prepare(&mut mpm);
        DetectScratch {
            mpm,
            verify: VerifyScratch::default(),
            stamp: vec![0; self.rules.len()],
            generation: 0,
            candidates: Vec::with_capacity(256),
            alerts: Vec::with_capacity(PACKET_ALERT_MAX),
            contexts: Vec::new(),
            pkt_vars: Vec::new(),
            flow_vars: Vec::new(),
            flow_vars_of: Default::default(),
            cur_frame: 0,
            xa: Vec::new(),
            xb: Vec::new(),
            profile: None,
            ordered: false,
        }
    }

    /// Forgets the shared threshold state (`picket bench` replays the same capture again).
    pub fn reset_thresholds(&self) {
        match self.thresholds.lock() {
            Ok(mut t) => t.map.clear(),
            Err(p) => p.into_inner().map.clear(),
        }
        match self.xbits.lock() {
            Ok(mut t) => t.clear(),
            Err(p) => p.into_inner().clear(),
        }
    }

    /// Fresh per-flow state.
    pub fn new_flow_state(&self) -> FlowDetect {
        FlowDetect {
            bits: thin_vec::ThinVec::new(),
            ip_only_done: [false; 2],
            pass: false,
            thresholds: thin_vec::ThinVec::new(),
            ints: thin_vec::ThinVec::new(),
            floats: thin_vec::ThinVec::new(),
            vars: thin_vec::ThinVec::new(),
        }
    }
}
