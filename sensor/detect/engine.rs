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

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use super::EngineKind;
use crate::app::{insp_entry, reaches, AppProto, FlowApp, Transaction, TxInsp, PROGRESS_DONE};
use crate::decode::{flags as dflags, proto, Decoded};
use crate::detect::app::{self, AppSet, ListTarget};
use crate::detect::matcher::{Engine, Mpm, MpmScratch, PatternSpec};
use crate::detect::packet::match_packet;
use crate::detect::transform;
use crate::detect::transform::Xform;
use crate::detect::verify::{self, CompiledList, VerifyScratch};
use crate::flow::FlowState;
use crate::metrics::{Counters, C};
use crate::rule::ast::{
    Action, AddrSet, Buffer, Content, FastPattern, FlowbitCmd, FlowbitJoin, PacketMatch, PayloadMatch, PortSet, Rule,
    StreamSizeSide, Threshold, ThresholdType, Track, Transform, Transport, MAX_VARS,
};
use crate::rule::{ErrorKind, RuleError};

/// The one "transaction" of a flow whose protocol has no parser: rules that name only the
/// protocol match it.
struct NoTx;

impl Transaction for NoTx {
    fn id(&self) -> u64 {
        0
    }
    fn progress(&self) -> [u8; 2] {
        [PROGRESS_DONE; 2]
    }
    fn buffer(&self, _: u16, _: bool, _: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        false
    }
    fn write_alert_eve(&self, _: &mut crate::output::eve::Json<'_>) {}
}

/// Alerts kept per packet (Suricata's `packet-alert-max`).
pub const PACKET_ALERT_MAX: usize = 15;

/// A rule ready to run.
#[derive(Debug)]
pub struct CompiledRule {
    /// The parsed rule.
    pub rule: Rule,
    /// Payload list (the packet payload), compiled.
    pub payload: Option<CompiledList>,
    /// Prefilter pattern, when the rule has one.
    pub fast_pattern: Option<PatternSpec>,
    /// Evaluated once per flow direction (addresses only).
    pub ip_only: bool,
    /// `<>` copy with source and destination swapped (same sid).
    pub swapped: bool,
    /// Pre-rendered `"alert":{...}` body fields after `signature_id`, without braces.
    pub alert_json: Vec<u8>,
    /// Source addresses, compiled.
    pub src: FastAddrSet,
    /// Destination addresses, compiled.
    pub dst: FastAddrSet,
    /// Where the payload keywords look: packets, the reassembled stream, or both
    /// (Suricata's SIG_FLAG_REQUIRE_PACKET / _STREAM / _STREAM_ONLY).
    pub insp: Insp,
    /// The app-layer protocol the rule header names (the flow must have it).
    pub app_proto: Option<AppProto>,
    /// Inspected per transaction (sticky buffers): see [`super::app`].
    pub is_app: bool,
    /// Keyword kinds the rule uses (for `picket bench --profile`; see [`super::profile`]).
    pub keywords: Box<[&'static str]>,
    /// Buffers the rule inspects (for the profile). The parse tree's payload lists are dropped
    /// once compiled, so these are kept instead.
    pub buffers: Box<[String]>,
    pending_app: Vec<app::Compiled>,
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

/// Suricata's rule: TCP payload rules inspect the reassembled stream; those with a content
/// anchored by depth/offset (or a dsize) also inspect packets; `flow:only_stream` and
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
    if r.packet.iter().any(|m| matches!(m, PacketMatch::Dsize(_))) {
        return Insp { packet: true, stream: false, stream_only: false };
    }
    let anchored = r
        .buffers
        .iter()
        .filter(|b| b.buffer == Buffer::Payload)
        .flat_map(|b| b.matches.iter())
        .any(|m| matches!(m, PayloadMatch::Content(c) if c.depth.is_some() || c.offset.is_some() || c.startswith));
    Insp { packet: anchored, stream: true, stream_only: false }
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

/// The prefilter of one (transport, direction): one multi-pattern database of the fast
/// patterns of every rule that can apply, whatever its ports (ports are checked on the
/// candidates, which keeps the number of databases, and the compile time, small).
#[derive(Debug, Default)]
struct Group {
    /// Prefilter database; pattern id -> rule ids (in evaluation order).
    mpm: Option<Mpm>,
    pattern_rules: Vec<Vec<u32>>,
}

/// Per (transport, direction): the prefilter group and, per destination port, the rules
/// without a fast pattern that apply (ports sharing a rule set share the list).
#[derive(Debug)]
struct PortGroups {
    /// Index into `groups`.
    group: usize,
    /// Port -> index into `always_sets` (65536 entries for TCP/UDP, one otherwise).
    by_port: Vec<u32>,
}

const T_TCP: usize = 0;
const T_UDP: usize = 1;
const T_ICMP4: usize = 2;
const T_ICMP6: usize = 3;
const T_OTHER: usize = 4;
const T_COUNT: usize = 5;

/// What a transaction inspection needs to know about the packet and the rule group.
struct TxCtx<'a> {
    g: &'a app::Group,
    proto: AppProto,
    dir: u8,
    t: usize,
    frame: &'a [u8],
    d: &'a Decoded,
    ts_secs: u64,
    finfo: &'a FlowInfo,
    flow_hash: u64,
    finalize: bool,
    /// Inspect at every packet, progress or not.
    reinspect: bool,
}

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

/// Shared threshold state (by_src/by_dst/by_rule/by_both; by_flow lives in the flow).
#[derive(Debug, Default)]
pub struct ThresholdTable {
    map: HashMap<(u32, u32, [u8; 16], [u8; 16]), ThresholdEntry>,
}

#[derive(Debug, Clone, Copy)]
struct ThresholdEntry {
    first_secs: u64,
    count: u32,
    /// backoff: the match count that alerts next.
    next: u64,
}

/// The compiled rule set, shared read-only by all workers.
pub struct DetectEngine {
    /// Rules, in evaluation order (index = rule number).
    pub rules: Vec<CompiledRule>,
    groups: Vec<Group>,
    always_sets: Vec<Vec<u32>>,
    tables: [[PortGroups; 2]; T_COUNT],
    /// Number of flowbit names.
    pub flowbits: usize,
    /// Rules that could not be used, with why.
    pub errors: Vec<RuleError>,
    /// Load statistics.
    pub stats: LoadStats,
    thresholds: Mutex<ThresholdTable>,
    engine: Engine,
    /// IP-only rules, in evaluation order.
    ip_only: Vec<u32>,
    /// IP-only rules indexed by their narrower address side.
    ip_index: IpIndex,
    /// App-layer rules.
    pub app: AppSet,
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
}

/// [`AlertHit::tx`] of packet and stream matches.
pub const NO_TX: u64 = u64::MAX;

/// Per-worker detection state.
pub struct DetectScratch {
    mpm: MpmScratch,
    verify: VerifyScratch,
    /// Candidate marks (generation-stamped), one per rule.
    stamp: Vec<u32>,
    generation: u32,
    candidates: Vec<u32>,
    /// Alerts of the current packet.
    pub alerts: Vec<AlertHit>,
    /// Transform output buffers.
    xa: Vec<u8>,
    xb: Vec<u8>,
    /// Per-rule profile (`picket bench --profile`); `None` (no cost) unless profiling.
    pub profile: Option<Box<crate::detect::profile::RuleProfile>>,
}

/// Per-flow detection state.
#[derive(Debug, Clone, Default)]
pub struct FlowDetect {
    /// Flowbits set on the flow (bit per flowbit name).
    pub bits: Vec<u64>,
    /// IP-only rules were evaluated for the to-server / to-client direction.
    pub ip_only_done: [bool; 2],
    /// A pass rule matched: no more detection on this flow (as Suricata's flow pass).
    pub pass: bool,
    /// by_flow thresholds: (rule, first second, count, backoff next).
    pub thresholds: Vec<(u32, u64, u32, u64)>,
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
    /// The flow's payload is no longer inspected (encrypted TLS).
    pub no_payload: bool,
    /// TCP: bytes each side of the session sent as `stream_size` counts them (next expected
    /// sequence number minus the initial one), client then server; `None` without a session.
    pub stream_size: Option<[u32; 2]>,
}

fn engine_of(k: EngineKind) -> Engine {
    match k {
        EngineKind::Hyperscan => Engine::Hyperscan,
        EngineKind::AhoCorasick => Engine::AhoCorasick,
    }
}

/// Suricata's pattern strength: distinct bytes weigh more than repeats, rarer classes more.
pub fn pattern_strength(p: &[u8]) -> u32 {
    let mut seen = [false; 256];
    let mut s = 0u32;
    for &b in p {
        // In bounds: seen is [bool; 256], indexed by a u8.
        if !seen[b as usize] {
            seen[b as usize] = true;
            s += if b.is_ascii_alphabetic() {
                3
            } else if b.is_ascii_graphic() || b == b' ' || b == 0 || b == 1 || b == 0xff {
                4
            } else {
                6
            };
        } else {
            s += 1;
        }
    }
    s
}

/// Chooses the rule's prefilter pattern from its payload list, as Suricata: an explicit
/// `fast_pattern`, else the strongest (then longest) non-negated content.
pub fn choose_fast_pattern(contents: &[&Content]) -> Option<PatternSpec> {
    let explicit = contents.iter().find(|c| c.fast_pattern != FastPattern::No);
    let c = match explicit {
        Some(c) => *c,
        None => contents
            .iter()
            .filter(|c| !c.negated && !c.pattern.is_empty())
            .max_by_key(|c| (pattern_strength(&c.pattern), c.pattern.len()))?,
    };
    if c.negated || c.pattern.is_empty() {
        return None;
    }
    let bytes = match c.fast_pattern {
        FastPattern::Chop(off, len) => {
            let (o, l) = (off as usize, len as usize);
            match c.pattern.get(o..o.saturating_add(l)) {
                Some(b) if !b.is_empty() => b.to_vec(),
                _ => c.pattern.clone(),
            }
        }
        _ => c.pattern.clone(),
    };
    Some(PatternSpec { bytes, nocase: c.nocase })
}

fn addr_bytes(a: &IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v.octets());
            b
        }
        IpAddr::V6(v) => v.octets(),
    }
}

fn in_range(x: &[u8; 16], v6: bool, lo: &IpAddr, hi: &IpAddr) -> bool {
    match (lo, hi, v6) {
        (IpAddr::V4(_), IpAddr::V4(_), false) => {
            let a = &x[..4];
            let l = addr_bytes(lo);
            let h = addr_bytes(hi);
            a >= &l[..4] && a <= &h[..4]
        }
        (IpAddr::V6(l), IpAddr::V6(h), true) => {
            let a = x;
            a >= &l.octets() && a <= &h.octets()
        }
        _ => false,
    }
}

/// An address set compiled for lookups: merged, sorted ranges per family, searched by
/// binary search (IP reputation rules carry hundreds of addresses each).
#[derive(Debug, Clone, Default)]
pub struct FastAddrSet {
    any: bool,
    inc4: Vec<(u32, u32)>,
    inc6: Vec<(u128, u128)>,
    exc4: Vec<(u32, u32)>,
    exc6: Vec<(u128, u128)>,
}

fn merge<T: Ord + Copy>(mut v: Vec<(T, T)>, succ: impl Fn(T) -> Option<T>) -> Vec<(T, T)> {
    v.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        if let Some(last) = out.last_mut() {
            if succ(last.1).is_none_or(|n| lo <= n) {
                if hi > last.1 {
                    last.1 = hi;
                }
                continue;
            }
        }
        out.push((lo, hi));
    }
    out
}

fn in_sorted<T: Ord + Copy>(v: &[(T, T)], x: T) -> bool {
    // last range starting at or before x
    let i = v.partition_point(|r| r.0 <= x);
    // In bounds: i > 0 is tested first and i <= v.len() (partition_point).
    i > 0 && v[i - 1].1 >= x
}

impl FastAddrSet {
    /// Compiles a parsed set.
    pub fn new(set: &AddrSet) -> Self {
        let split = |rs: &[crate::rule::ast::IpRange]| {
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for r in rs {
                match (r.lo, r.hi) {
                    (IpAddr::V4(a), IpAddr::V4(b)) => v4.push((u32::from(a), u32::from(b))),
                    (IpAddr::V6(a), IpAddr::V6(b)) => v6.push((u128::from(a), u128::from(b))),
                    _ => {}
                }
            }
            (merge(v4, |x: u32| x.checked_add(1)), merge(v6, |x: u128| x.checked_add(1)))
        };
        let (inc4, inc6) = split(&set.include);
        let (exc4, exc6) = split(&set.exclude);
        FastAddrSet { any: set.any, inc4, inc6, exc4, exc6 }
    }

    /// Whether the address (v4 in the first 4 bytes unless `v6`) is in the set.
    #[inline]
    pub fn contains(&self, a: &[u8; 16], v6: bool) -> bool {
        if v6 {
            let x = u128::from_be_bytes(*a);
            (self.any || in_sorted(&self.inc6, x)) && !in_sorted(&self.exc6, x)
        } else {
            let x = u32::from_be_bytes([a[0], a[1], a[2], a[3]]);
            (self.any || in_sorted(&self.inc4, x)) && !in_sorted(&self.exc4, x)
        }
    }
}

/// IP-only rules indexed by the narrower of their two address sides (Suricata builds a radix
/// tree for the same purpose): a packet looks up its source in the source-keyed ranges and
/// its destination in the destination-keyed ranges, and only the rules found (plus those with
/// two broad sides) are checked in full.
#[derive(Debug, Default)]
struct IpIndex {
    /// (lo, hi, rule) per side (0: source, 1: destination), sorted by lo; spans under 2^16.
    small4: [Vec<(u32, u32, u32)>; 2],
    small6: [Vec<(u128, u128, u32)>; 2],
    /// Wider ranges: checked one by one (few).
    wide4: [Vec<(u32, u32, u32)>; 2],
    wide6: [Vec<(u128, u128, u32)>; 2],
    /// Rules whose sides are both broad.
    always: Vec<u32>,
}

const SMALL_SPAN: u32 = 1 << 16;

impl IpIndex {
    fn build(ip_only: &[u32], rules: &[CompiledRule]) -> IpIndex {
        let mut ix = IpIndex::default();
        let size = |f: &FastAddrSet| -> Option<u128> {
            if f.any || (f.inc4.is_empty() && f.inc6.is_empty()) {
                return None;
            }
            let n4: u128 = f.inc4.iter().map(|&(a, b)| (b - a) as u128 + 1).sum();
            let n6: u128 =
                f.inc6.iter().map(|&(a, b)| (b - a).saturating_add(1)).fold(0u128, |x, y| x.saturating_add(y));
            Some(n4.saturating_add(n6))
        };
        for &r in ip_only {
            // In bounds: ip_only holds indexes of rules (finish builds it by enumerate); side is 0 or 1.
            let cr = &rules[r as usize];
            let side = match (size(&cr.src), size(&cr.dst)) {
                (None, None) => {
                    ix.always.push(r);
                    continue;
                }
                (Some(_), None) => 0,
                (None, Some(_)) => 1,
                (Some(a), Some(b)) => usize::from(b < a),
            };
            let set = if side == 0 { &cr.src } else { &cr.dst };
            for &(a, b) in &set.inc4 {
                if b - a < SMALL_SPAN {
                    ix.small4[side].push((a, b, r));
                } else {
                    ix.wide4[side].push((a, b, r));
                }
            }
            for &(a, b) in &set.inc6 {
                if b - a < SMALL_SPAN as u128 {
                    ix.small6[side].push((a, b, r));
                } else {
                    ix.wide6[side].push((a, b, r));
                }
            }
        }
        for side in 0..2 {
            // In bounds: side < 2 (loop range).
            ix.small4[side].sort_unstable();
            ix.small6[side].sort_unstable();
        }
        ix
    }

    /// Calls `f` with every IP-only rule the packet's addresses may match.
    fn candidates(&self, d: &Decoded, f: &mut dyn FnMut(u32)) {
        for &r in &self.always {
            f(r);
        }
        for (side, a) in [(0, &d.src), (1, &d.dst)] {
            if d.is_ipv6() {
                let x = u128::from_be_bytes(*a);
                // In bounds: side is 0 or 1; i > 0 is tested first and i <= v.len() (partition_point).
                let v = &self.small6[side];
                let mut i = v.partition_point(|e| e.0 <= x);
                while i > 0 {
                    let e = v[i - 1];
                    if x - e.0 >= SMALL_SPAN as u128 {
                        break;
                    }
                    if x <= e.1 {
                        f(e.2);
                    }
                    i -= 1;
                }
                for e in &self.wide6[side] {
                    if e.0 <= x && x <= e.1 {
                        f(e.2);
                    }
                }
            } else {
                let x = u32::from_be_bytes([a[0], a[1], a[2], a[3]]);
                // In bounds: side is 0 or 1; i > 0 is tested first and i <= v.len() (partition_point).
                let v = &self.small4[side];
                let mut i = v.partition_point(|e| e.0 <= x);
                while i > 0 {
                    let e = v[i - 1];
                    if x - e.0 >= SMALL_SPAN {
                        break;
                    }
                    if x <= e.1 {
                        f(e.2);
                    }
                    i -= 1;
                }
                for e in &self.wide4[side] {
                    if e.0 <= x && x <= e.1 {
                        f(e.2);
                    }
                }
            }
        }
    }
}

/// Whether address `a` (v4 in the first 4 bytes unless `v6`) is in the set.
pub fn addr_match(set: &AddrSet, a: &[u8; 16], v6: bool) -> bool {
    let inc = set.any || set.include.iter().any(|r| in_range(a, v6, &r.lo, &r.hi));
    inc && !set.exclude.iter().any(|r| in_range(a, v6, &r.lo, &r.hi))
}

/// Whether port `p` is in the set.
pub fn port_match(set: &PortSet, p: u16) -> bool {
    let inc = set.any || set.include.iter().any(|r| p >= r.lo && p <= r.hi);
    inc && !set.exclude.iter().any(|r| p >= r.lo && p <= r.hi)
}

fn transports_of(t: Transport) -> &'static [usize] {
    match t {
        Transport::Ip => &[T_TCP, T_UDP, T_ICMP4, T_ICMP6, T_OTHER],
        Transport::Tcp => &[T_TCP],
        Transport::Udp => &[T_UDP],
        Transport::Icmp => &[T_ICMP4, T_ICMP6],
        Transport::Icmpv4 => &[T_ICMP4],
        Transport::Icmpv6 => &[T_ICMP6],
        Transport::Sctp => &[T_OTHER],
    }
}

fn flowbits_class(r: &Rule) -> u8 {
    // Suricata orders rules that only set flowbits first, then those that set and read, then
    // those that only read, then those that do not use flowbits.
    let sets = r
        .flowbits
        .iter()
        .any(|f| matches!(f.cmd, FlowbitCmd::Set | FlowbitCmd::SetOther | FlowbitCmd::Unset | FlowbitCmd::Toggle));
    let reads = r.flowbits.iter().any(|f| matches!(f.cmd, FlowbitCmd::IsSet | FlowbitCmd::IsNotSet));
    match (sets, reads) {
        (true, false) => 0,
        (true, true) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

/// Checks what detection supports; `Err` names the missing feature.
fn supported(r: &Rule) -> Result<(), String> {
    if let Some(app) = &r.proto.app {
        if !AppProto::from_name(app).is_some_and(crate::app::identify::identifies) {
            return Err(format!("app-layer protocol {app}"));
        }
    }
    if app::is_app_rule(r) {
        return Ok(()); // checked by app::compile_rule
    }
    for b in &r.buffers {
        if !b.transforms.is_empty() {
            return Err("transform on the payload".into());
        }
    }
    Ok(())
}

fn render_alert_json(r: &Rule) -> Vec<u8> {
    use crate::output::eve::escape_into;
    let mut v = Vec::with_capacity(256);
    v.extend_from_slice(format!(",\"rev\":{}", r.rev).as_bytes());
    v.extend_from_slice(b",\"signature\":");
    escape_into(&mut v, r.msg.as_bytes());
    v.extend_from_slice(b",\"category\":");
    escape_into(&mut v, r.category.as_deref().unwrap_or("").as_bytes());
    v.extend_from_slice(format!(",\"severity\":{}", r.priority).as_bytes());
    if !r.metadata.is_empty() {
        v.extend_from_slice(b",\"metadata\":{");
        for (i, (k, vals)) in r.metadata.iter().enumerate() {
            if i > 0 {
                v.push(b',');
            }
            escape_into(&mut v, k.as_bytes());
            v.extend_from_slice(b":[");
            for (j, x) in vals.iter().enumerate() {
                if j > 0 {
                    v.push(b',');
                }
                escape_into(&mut v, x.as_bytes());
            }
            v.push(b']');
        }
        v.push(b'}');
    }
    v
}

impl DetectEngine {
    /// Compiles a parsed rule set. Rules that cannot be used are moved to `errors` with the
    /// reason (kind [`ErrorKind::Unsupported`] or a compile error).
    pub fn build(rules: Vec<Rule>, errors: Vec<RuleError>, flowbits: usize, kind: EngineKind) -> DetectEngine {
        DetectEngine::build_cached(rules, errors, flowbits, kind, None)
    }

    /// [`DetectEngine::build`], with prefilter databases taken from (and stored to) `cache`.
    pub fn build_cached(
        rules: Vec<Rule>,
        errors: Vec<RuleError>,
        flowbits: usize,
        kind: EngineKind,
        cache: Option<&crate::detect::cache::DbCache>,
    ) -> DetectEngine {
        let mut c = RuleCompiler::new(kind);
        for r in rules {
            c.add(r);
        }
        c.finish(errors, flowbits, cache)
    }
}

/// Compiles rules one at a time as the loader parses them ([`crate::rule::load_rules_each`]),
/// keeping only what detection needs (the alert's EVE fields are rendered once, the metadata,
/// references and class texts dropped), then builds the engine in [`RuleCompiler::finish`].
/// A ruleset's parse trees and compiled forms never exist all at once, which bounds the memory
/// that loading ET Open takes.
pub struct RuleCompiler {
    t0: std::time::Instant,
    engine: Engine,
    stats: LoadStats,
    errors: Vec<RuleError>,
    compiled: Vec<(u32, CompiledRule)>,
    xf_index: HashMap<Vec<Transform>, usize>,
    xforms: Vec<Vec<Xform>>,
    next: u32,
}

impl RuleCompiler {
    /// An empty compiler for the given prefilter engine.
    pub fn new(kind: EngineKind) -> RuleCompiler {
        let mut xf_index: HashMap<Vec<Transform>, usize> = HashMap::new();
        xf_index.insert(Vec::new(), 0);
        RuleCompiler {
            t0: std::time::Instant::now(),
            engine: engine_of(kind),
            stats: LoadStats::default(),
            errors: Vec::new(),
            compiled: Vec::new(),
            xf_index,
            xforms: vec![Vec::new()],
            next: 0,
        }
    }

    /// Compiles one parsed rule (in load order), or records why it cannot be used.
    pub fn add(&mut self, mut r: Rule) {
        let load_idx = self.next;
        self.next += 1;
        let (stats, errors) = (&mut self.stats, &mut self.errors);
        let (xf_index, xforms) = (&mut self.xf_index, &mut self.xforms);
        {
            if let Err(why) = supported(&r) {
                stats.skipped += 1;
                errors.push(RuleError {
                    file: r.origin.file.clone(),
                    line: r.origin.line,
                    sid: Some(r.sid),
                    kind: ErrorKind::Unsupported(why.clone()),
                    message: format!("not supported yet: {why}"),
                });
                return;
            }
            let is_app = app::is_app_rule(&r);
            let pending_app = if is_app {
                match app::compile_rule(&r, xf_index, xforms) {
                    Ok(x) => x,
                    Err(why) => {
                        stats.skipped += 1;
                        errors.push(RuleError {
                            file: r.origin.file.clone(),
                            line: r.origin.line,
                            sid: Some(r.sid),
                            kind: ErrorKind::Unsupported(why.clone()),
                            message: format!("not supported yet: {why}"),
                        });
                        return;
                    }
                }
            } else {
                Vec::new()
            };
            let app_proto = r.proto.app.as_deref().and_then(AppProto::from_name);
            let dsize = r.packet.iter().find_map(|m| if let PacketMatch::Dsize(c) = m { Some(c) } else { None });
            let payload = match r.buffers.iter().find(|b| b.buffer == Buffer::Payload && !is_app) {
                Some(list) => match verify::compile_with_dsize(list, dsize) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        stats.failed += 1;
                        errors.push(RuleError {
                            file: r.origin.file.clone(),
                            line: r.origin.line,
                            sid: Some(r.sid),
                            kind: ErrorKind::BadValue("payload keywords".into()),
                            message: e,
                        });
                        return;
                    }
                },
                None => None,
            };
            let contents: Vec<&Content> = r
                .buffers
                .iter()
                .filter(|b| b.buffer == Buffer::Payload)
                .flat_map(|b| b.matches.iter())
                .filter_map(|m| if let PayloadMatch::Content(c) = m { Some(c) } else { None })
                .collect();
            let fast_pattern = choose_fast_pattern(&contents);
            // Suricata's IP-only rules: addresses (and flowbits, thresholds) only, any ports,
            // any transport named in the header; evaluated once per flow direction.
            let ip_only = r.buffers.is_empty()
                && !is_app
                && r.packet.is_empty()
                && r.flow == Default::default()
                && r.src_ports.any
                && r.src_ports.exclude.is_empty()
                && r.dst_ports.any
                && r.dst_ports.exclude.is_empty();
            let alert_json = render_alert_json(&r);
            // Rendered into alert_json: not needed again.
            r.metadata = Vec::new();
            r.references = Vec::new();
            r.category = None;
            r.classtype = None;
            let bidir = r.bidirectional;
            let (src, dst) = (FastAddrSet::new(&r.src), FastAddrSet::new(&r.dst));
            let insp = inspection_of(&r);
            let fast_pattern = if is_app { None } else { fast_pattern };
            let mut cr = CompiledRule {
                rule: r,
                payload,
                fast_pattern,
                ip_only,
                swapped: false,
                alert_json,
                src,
                dst,
                insp,
                app_proto,
                is_app,
                keywords: Box::new([]),
                buffers: Box::new([]),
                pending_app,
            };
            cr.keywords = super::profile::keyword_kinds(&cr).into();
            cr.buffers = super::profile::buffers_of(&cr).into();
            if bidir {
                let dsize =
                    cr.rule.packet.iter().find_map(|m| if let PacketMatch::Dsize(c) = m { Some(c) } else { None });
                let payload = cr
                    .rule
                    .buffers
                    .iter()
                    .find(|b| b.buffer == Buffer::Payload && !cr.is_app)
                    .and_then(|l| verify::compile_with_dsize(l, dsize).ok());
                let pending_app = if cr.is_app {
                    app::compile_rule(&cr.rule, xf_index, xforms).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let mut sw = CompiledRule {
                    rule: cr.rule.clone(),
                    payload,
                    fast_pattern: cr.fast_pattern.clone(),
                    ip_only: cr.ip_only,
                    swapped: true,
                    alert_json: cr.alert_json.clone(),
                    src: cr.dst.clone(),
                    dst: cr.src.clone(),
                    insp: cr.insp,
                    app_proto: cr.app_proto,
                    is_app: cr.is_app,
                    keywords: cr.keywords.clone(),
                    buffers: cr.buffers.clone(),
                    pending_app,
                };
                std::mem::swap(&mut sw.rule.src, &mut sw.rule.dst);
                std::mem::swap(&mut sw.rule.src_ports, &mut sw.rule.dst_ports);
                // Compiled above: the payload lists' parse trees are not needed again.
                sw.rule.buffers = Vec::new();
                cr.rule.buffers = Vec::new();
                self.compiled.push((load_idx, cr));
                self.compiled.push((load_idx, sw));
            } else {
                cr.rule.buffers = Vec::new();
                self.compiled.push((load_idx, cr));
            }
        }
    }

    /// Builds the engine from the rules added; `parse_errors` are the loader's (they come first
    /// in the engine's error list and count as failed).
    pub fn finish(
        self,
        mut errors: Vec<RuleError>,
        flowbits: usize,
        cache: Option<&crate::detect::cache::DbCache>,
    ) -> DetectEngine {
        let RuleCompiler { t0, engine, mut stats, errors: compile_errors, mut compiled, xf_index: _, xforms, next: _ } =
            self;
        stats.failed += errors.len();
        errors.extend(compile_errors);
        // Suricata's signature order. The key is unique (load index, swapped), so an unstable
        // sort gives the same order without a scratch copy of the rules.
        compiled.sort_unstable_by_key(|(i, c)| {
            (c.rule.action.order(), flowbits_class(&c.rule), c.rule.priority, *i, c.swapped)
        });
        compiled.shrink_to_fit();
        let mut rules: Vec<CompiledRule> = compiled.into_iter().map(|(_, c)| c).collect();
        rules.shrink_to_fit();
        let mut app_rules = Vec::new();
        for (i, cr) in rules.iter_mut().enumerate() {
            for (mut ar, fp) in std::mem::take(&mut cr.pending_app) {
                ar.rule = i as u32;
                app_rules.push((ar, fp));
            }
        }
        // In bounds: ar.rule is set to an index of rules just above.
        let mut with_fp: Vec<u32> = app_rules
            .iter()
            .filter(|(ar, fp)| fp.is_some() && !rules[ar.rule as usize].swapped)
            .map(|(ar, _)| ar.rule)
            .collect();
        with_fp.dedup();
        let app_fast = with_fp.len();
        let mut app_errors = Vec::new();
        let app = AppSet::build(app_rules, xforms, engine, cache, &mut app_errors);
        stats.loaded = rules.iter().filter(|r| !r.swapped).count();
        stats.with_fast_pattern = rules.iter().filter(|r| !r.swapped && r.fast_pattern.is_some()).count();
        stats.ip_only = rules.iter().filter(|r| !r.swapped && r.ip_only).count();
        stats.with_fast_pattern += app_fast;
        stats.app_rules = rules.iter().filter(|r| !r.swapped && r.is_app).count();

        // Groups: per transport and direction one prefilter database; the rules without a
        // fast pattern are listed per destination port range.
        let mut groups: Vec<Group> = Vec::new();
        let mut always_sets: Vec<Vec<u32>> = Vec::new();
        let mut dedup: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut mpm_errors = Vec::new();
        let mut mpm_cache: HashMap<Vec<u32>, usize> = HashMap::new();
        let tables: [[PortGroups; 2]; T_COUNT] = std::array::from_fn(|t| {
            std::array::from_fn(|dir| {
                let members: Vec<u32> = rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| !r.ip_only && !r.is_app)
                    .filter(|(_, r)| transports_of(r.rule.proto.transport).contains(&t))
                    .filter(|(_, r)| if dir == 0 { !r.rule.flow.to_client } else { !r.rule.flow.to_server })
                    .map(|(i, _)| i as u32)
                    .collect();
                // In bounds: members are indexes of rules (enumerate above).
                let with_fp: Vec<u32> =
                    members.iter().copied().filter(|&i| rules[i as usize].fast_pattern.is_some()).collect();
                let group = *mpm_cache.entry(with_fp.clone()).or_insert_with(|| {
                    groups.push(build_group(&with_fp, &rules, engine, cache, &mut mpm_errors));
                    groups.len() - 1
                });
                let always: Vec<u32> =
                    members.iter().copied().filter(|&i| rules[i as usize].fast_pattern.is_none()).collect();
                let mut intern = |set: Vec<u32>| -> u32 {
                    *dedup.entry(set.clone()).or_insert_with(|| {
                        always_sets.push(set);
                        (always_sets.len() - 1) as u32
                    })
                };
                let ported = t == T_TCP || t == T_UDP;
                let mut by_port = Vec::with_capacity(if ported { 65536 } else { 1 });
                if ported {
                    // Boundaries of every port range used by these rules.
                    let mut cuts: Vec<u32> = vec![0, 65536];
                    for &i in &always {
                        // In bounds: always holds indexes of rules (enumerate above).
                        let ps = &rules[i as usize].rule.dst_ports;
                        for r in ps.include.iter().chain(ps.exclude.iter()) {
                            cuts.push(r.lo as u32);
                            cuts.push(r.hi as u32 + 1);
                        }
                    }
                    cuts.sort_unstable();
                    cuts.dedup();
                    for w in cuts.windows(2) {
                        // In bounds: windows(2) yields 2-element windows.
                        let (lo, hi) = (w[0], w[1].min(65536));
                        if lo >= 65536 {
                            break;
                        }
                        let set: Vec<u32> = always
                            .iter()
                            .copied()
                            // In bounds: always holds indexes of rules (enumerate above).
                            .filter(|&i| port_match(&rules[i as usize].rule.dst_ports, lo as u16))
                            .collect();
                        let idx = intern(set);
                        by_port.extend(std::iter::repeat_n(idx, (hi - lo) as usize));
                    }
                } else {
                    by_port.push(intern(always));
                }
                PortGroups { group, by_port }
            })
        });
        for e in mpm_errors.into_iter().chain(app_errors) {
            errors.push(RuleError {
                file: String::new(),
                line: 0,
                sid: None,
                kind: ErrorKind::Unsupported("prefilter".into()),
                message: e,
            });
        }
        stats.groups = groups.len() + always_sets.len() + app.databases;
        stats.patterns = groups.iter().map(|g| g.pattern_rules.len()).sum();
        stats.compile_secs = t0.elapsed().as_secs_f64();
        let ip_only: Vec<u32> = rules.iter().enumerate().filter(|(_, r)| r.ip_only).map(|(i, _)| i as u32).collect();
        let ip_index = IpIndex::build(&ip_only, &rules);
        DetectEngine {
            rules,
            groups,
            always_sets,
            tables,
            flowbits,
            errors,
            stats,
            thresholds: Mutex::new(ThresholdTable::default()),
            engine,
            ip_only,
            ip_index,
            app,
        }
    }
}

impl DetectEngine {
    /// Whether any rule inspects raw TCP streams (otherwise the stream keeps no data for it).
    pub fn inspects_streams(&self) -> bool {
        self.rules.iter().any(|r| r.insp.stream)
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
            xa: Vec::new(),
            xb: Vec::new(),
            profile: None,
        }
    }

    /// Forgets the shared threshold state (`picket bench` replays the same capture again).
    pub fn reset_thresholds(&self) {
        match self.thresholds.lock() {
            Ok(mut t) => t.map.clear(),
            Err(p) => p.into_inner().map.clear(),
        }
    }

    /// Fresh per-flow state.
    pub fn new_flow_state(&self) -> FlowDetect {
        FlowDetect {
            bits: vec![0; self.flowbits.div_ceil(64)],
            ip_only_done: [false; 2],
            pass: false,
            thresholds: Vec::new(),
        }
    }

    /// Runs the rules on one packet; alerts are left in `s.alerts` in rule order.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        s: &mut DetectScratch,
        frame: &[u8],
        d: &Decoded,
        ts_secs: u64,
        flow: Option<(&FlowInfo, &mut FlowDetect, u64)>,
        stream: Option<&StreamData<'_>>,
        c: &mut Counters,
    ) {
        s.alerts.clear();
        let pseudo = stream.is_some_and(|st| st.pseudo);
        let added = stream.is_some_and(|st| st.added);
        let chunks: &[&[u8]] = stream.map_or(&[], |st| st.chunks);
        if !d.is_ip() {
            return;
        }
        let t = match d.proto {
            proto::TCP if d.has_l4() => T_TCP,
            proto::UDP if d.has_l4() => T_UDP,
            proto::ICMP if d.has_l4() => T_ICMP4,
            proto::ICMPV6 if d.has_l4() => T_ICMP6,
            proto::TCP | proto::UDP | proto::ICMP | proto::ICMPV6 => return,
            _ => T_OTHER,
        };
        let (finfo, mut fstate, flow_hash) = match flow {
            Some((i, st, h)) => (Some(*i), Some(st), h),
            None => (None, None, 0),
        };
        if fstate.as_ref().is_some_and(|st| st.pass) {
            return;
        }
        let dir = match finfo {
            Some(f) if !f.to_server => 1,
            _ => 0,
        };
        // In bounds: t is one of the T_* values < T_COUNT (match above), dir is 0 or 1, and
        // pg.group is an index groups.push gave (finish).
        let pg = &self.tables[t][dir];
        let g = &self.groups[pg.group];
        let port_idx = if t == T_TCP || t == T_UDP { d.dp as usize } else { 0 };
        let always: &[u32] = match pg.by_port.get(port_idx).and_then(|&i| self.always_sets.get(i as usize)) {
            Some(a) => a,
            None => &[],
        };
        let ip_only_due = match (&finfo, &fstate) {
            // In bounds: dir is 0 or 1 (match above).
            (Some(_), Some(st)) => !st.ip_only_done[dir],
            _ => true,
        } && !self.ip_only.is_empty()
            && !pseudo;
        if g.mpm.is_none() && always.is_empty() && !ip_only_due {
            return;
        }
        // Candidates: prefilter hits plus the rules that have no fast pattern.
        s.generation = s.generation.wrapping_add(1);
        if s.generation == 0 {
            s.stamp.iter_mut().for_each(|x| *x = 0);
            s.generation = 1;
        }
        let gen = s.generation;
        s.candidates.clear();
        for &r in always {
            if let Some(st) = s.stamp.get_mut(r as usize) {
                *st = gen;
                s.candidates.push(r);
            }
        }
        let payload = if pseudo { &[][..] } else { d.payload(frame) };
        if let Some(m) = &g.mpm {
            let (stamp, cands) = (&mut s.stamp, &mut s.candidates);
            for buf in std::iter::once(payload).chain(chunks.iter().copied()) {
                if buf.is_empty() {
                    continue;
                }
                m.scan(&mut s.mpm, buf, &mut |pid| {
                    if let Some(rs) = g.pattern_rules.get(pid as usize) {
                        for &r in rs {
                            if let Some(st) = stamp.get_mut(r as usize) {
                                if *st != gen {
                                    *st = gen;
                                    cands.push(r);
                                }
                            }
                        }
                    }
                });
            }
        }
        if ip_only_due {
            let (stamp, cands) = (&mut s.stamp, &mut s.candidates);
            self.ip_index.candidates(d, &mut |r| {
                if let Some(st) = stamp.get_mut(r as usize) {
                    if *st != gen {
                        *st = gen;
                        cands.push(r);
                    }
                }
            });
        }
        s.candidates.sort_unstable();
        let mut vars = [0i64; MAX_VARS];
        let mut i = 0;
        while i < s.candidates.len() {
            // In bounds: i < candidates.len() (loop condition).
            let rn = s.candidates[i];
            i += 1;
            if let Some(p) = s.profile.as_deref_mut() {
                p.check(rn);
            }
            // In bounds: candidates come from always_sets, pattern_rules and ip_index, which hold
            // indexes of self.rules.
            let cr = &self.rules[rn as usize];
            let r = &cr.rule;
            if cr.ip_only && !transports_of(r.proto.transport).contains(&t) {
                continue;
            }
            if !header_ok(cr, t, frame, d, finfo.as_ref()) {
                continue;
            }
            if cr.payload.is_some() && finfo.is_some_and(|f| f.no_payload) {
                continue;
            }
            match &cr.payload {
                Some(pl) => {
                    let insp = cr.insp;
                    let mut matched = false;
                    if insp.stream {
                        for ch in chunks {
                            vars.iter_mut().for_each(|v| *v = 0);
                            if verify::inspect(pl, ch, &mut vars, &mut s.verify) {
                                matched = true;
                                break;
                            }
                        }
                    }
                    // Suricata's fallback to the packet: not for stream-only rules, not for
                    // pseudo packets, and not for a stream rule whose packet went into the
                    // stream (its bytes are inspected there, once)
                    if !matched && !pseudo && !insp.stream_only && (insp.packet || !insp.stream || !added) {
                        vars.iter_mut().for_each(|v| *v = 0);
                        matched = verify::inspect(pl, payload, &mut vars, &mut s.verify);
                    }
                    if !matched {
                        continue;
                    }
                }
                None if pseudo => continue,
                None => {}
            }
            // flowbits conditions
            if !r.flowbits.is_empty() {
                let Some(st) = fstate.as_deref_mut() else { continue };
                if !flowbits_ok(r, st) {
                    continue;
                }
                flowbits_apply(r, st);
            }
            if let Some(p) = s.profile.as_deref_mut() {
                p.matched(rn);
            }
            if r.action == Action::Pass {
                // Pass rules come first in rule order, so nothing was queued yet; with a flow,
                // the whole flow is passed from here on.
                s.alerts.clear();
                if let Some(st) = fstate.as_deref_mut() {
                    st.pass = true;
                }
                break;
            }
            if r.noalert {
                continue;
            }
            if !self.threshold_ok(rn, r, d, ts_secs, fstate.as_deref_mut(), flow_hash, c) {
                continue;
            }
            if s.alerts.len() >= PACKET_ALERT_MAX {
                c.inc(C::DetectAlertQueueOverflow);
                continue;
            }
            // a <> rule and its swapped copy alert once
            if s.alerts
                .iter()
                // In bounds: alerts hold candidates, which are indexes of self.rules.
                .any(|a| self.rules[a.rule as usize].rule.sid == r.sid && self.rules[a.rule as usize].rule.gid == r.gid)
            {
                continue;
            }
            s.alerts.push(AlertHit { rule: rn, tx: NO_TX });
        }
        if let Some(p) = s.profile.as_deref_mut() {
            p.end(&s.alerts);
        }
        if let Some(st) = fstate {
            // In bounds: dir is 0 or 1 (match at the top).
            st.ip_only_done[dir] = true;
        }
    }

    /// Inspects the flow's app-layer transactions for the packet's direction: transactions
    /// that progressed since their last inspection are prefiltered on their ready buffers,
    /// and each candidate rule whose buffers are all final is verified once per
    /// transaction. `finalize` (flow end) treats every transaction as complete. Alerts are
    /// left in `s.alerts` with their transaction ids.
    #[allow(clippy::too_many_arguments)]
    pub fn run_app(
        &self,
        s: &mut DetectScratch,
        app: &mut FlowApp,
        frame: &[u8],
        d: &Decoded,
        ts_secs: u64,
        finfo: &FlowInfo,
        fstate: &mut FlowDetect,
        flow_hash: u64,
        finalize: bool,
        c: &mut Counters,
    ) {
        s.alerts.clear();
        if fstate.pass || self.app.rules.is_empty() || !app.proto.is_known() || app.no_inspection && !finalize {
            return;
        }
        let dir: u8 = if finfo.to_server { 0 } else { 1 };
        let Some(g) = self.app.group(app.proto, dir) else { return };
        let t = match d.proto {
            proto::TCP => T_TCP,
            proto::UDP => T_UDP,
            _ => T_OTHER,
        };
        let reinspect = g.reinspect || app.parser.is_none();
        let ctx = TxCtx { g, proto: app.proto, dir, t, frame, d, ts_secs, finfo, flow_hash, finalize, reinspect };
        let FlowApp { parser, insp, .. } = app;
        match parser {
            Some(p) => p.each_tx(&mut |tx| {
                if tx.direction().is_some_and(|ts| ts != finfo.to_server) {
                    return;
                }
                let progress = if finalize { [PROGRESS_DONE; 2] } else { tx.progress() };
                self.inspect_tx(s, insp, &ctx, tx, progress, fstate, c);
            }),
            None => self.inspect_tx(s, insp, &ctx, &NoTx, [PROGRESS_DONE; 2], fstate, c),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn inspect_tx(
        &self,
        s: &mut DetectScratch,
        insp: &mut Vec<TxInsp>,
        ctx: &TxCtx<'_>,
        tx: &dyn Transaction,
        progress: [u8; 2],
        fstate: &mut FlowDetect,
        c: &mut Counters,
    ) {
        let dir = ctx.dir;
        let di = usize::from(dir);
        let to_server = dir == 0;
        let tx_id = tx.id();
        let first_alert = s.alerts.len();
        // In bounds: di is 0 or 1 (dir is set from a bool where TxCtx is built).
        let cur = progress[di];
        if cur == 0 {
            return;
        }
        let (ii, evicted) = insp_entry(insp, tx_id);
        if evicted {
            c.inc(C::DetectTxStateEvicted);
        }
        // inspect again only when the transaction progressed on this side, except for
        // protocols whose values change without progress (a TLS handshake) and flows of a
        // protocol without a parser
        let retry = ctx.reinspect && !ctx.finalize;
        // In bounds: ii is an index insp_entry gave; di is 0 or 1.
        if insp[ii].seen[di] == cur && !retry {
            return;
        }
        insp[ii].seen[di] = cur;
        // a rule that does not match is done with the transaction only once this side is final
        let side_final = ctx.finalize || cur >= PROGRESS_DONE;
        // candidates: the group's rules without a fast pattern, and prefilter hits on the
        // buffers that are ready
        s.generation = s.generation.wrapping_add(1);
        if s.generation == 0 {
            s.stamp.iter_mut().for_each(|x| *x = 0);
            s.generation = 1;
        }
        let gen = s.generation;
        s.candidates.clear();
        for &r in ctx.g.always.iter() {
            if let Some(st) = s.stamp.get_mut(r as usize) {
                *st = gen;
                s.candidates.push(r);
            }
        }
        {
            let DetectScratch { mpm, stamp, candidates, xa, xb, .. } = &mut *s;
            for db in &ctx.g.dbs {
                if !reaches(progress, db.need.levels(di)) {
                    continue;
                }
                let xs = self.app.xforms.get(db.xf).map_or(&[][..], |v| v.as_slice());
                tx.buffer(db.local, to_server, &mut |b| {
                    let tb = transform::apply(xs, b, xa, xb);
                    db.mpm.scan(mpm, tb, &mut |pid| {
                        if let Some(rs) = db.pattern_rules.get(pid as usize) {
                            for &r in rs {
                                if let Some(st) = stamp.get_mut(r as usize) {
                                    if *st != gen {
                                        *st = gen;
                                        candidates.push(r);
                                    }
                                }
                            }
                        }
                    });
                    false
                });
            }
        }
        s.candidates.sort_unstable();
        let mut vars = [0i64; MAX_VARS];
        let mut k = 0;
        while k < s.candidates.len() {
            // In bounds: k < candidates.len() (loop condition).
            let rn = s.candidates[k];
            k += 1;
            let key = rn << 1 | dir as u32;
            // In bounds: ii as above (insp does not change size in this loop).
            if insp[ii].done.binary_search(&key).is_ok() {
                continue;
            }
            if let Some(p) = s.profile.as_deref_mut() {
                p.check(rn);
            }
            let Some(ar) = self.app.rule(rn, ctx.proto) else { continue };
            // In bounds: di is 0 or 1; need is [[u8; 2]; 2].
            if ar.dirs & (1 << dir) == 0 || !reaches(progress, ar.need[di]) {
                continue;
            }
            // In bounds: candidates come from the group's always and pattern_rules, which hold indexes of self.rules.
            let cr = &self.rules[rn as usize];
            if !header_ok(cr, ctx.t, ctx.frame, ctx.d, Some(ctx.finfo)) {
                continue;
            }
            let mut all = true;
            for l in &ar.lists {
                let xs = self.app.xforms.get(l.xf).map_or(&[][..], |v| v.as_slice());
                let DetectScratch { verify: vs, xa, xb, .. } = &mut *s;
                let mut check = |b: &[u8]| {
                    let tb = transform::apply(xs, b, xa, xb);
                    vars.iter_mut().for_each(|v| *v = 0);
                    verify::inspect(&l.list, tb, &mut vars, vs)
                };
                let ok = match l.target {
                    ListTarget::Packet => {
                        let pl = ctx.d.payload(ctx.frame);
                        !pl.is_empty() && check(pl)
                    }
                    ListTarget::Buffer(_) => app::for_each_buf(l, tx, to_server, &mut check),
                };
                if !ok {
                    all = false;
                    break;
                }
            }
            if all && !app::values_hold(ar, tx, to_server, ctx.ts_secs as i64) {
                all = false;
            }
            if !all && !side_final {
                continue;
            }
            // In bounds: ii as above.
            let done = &mut insp[ii].done;
            if let Err(pos) = done.binary_search(&key) {
                if done.len() < 4096 {
                    done.insert(pos, key);
                }
            }
            if !all {
                continue;
            }
            let r = &cr.rule;
            if !r.flowbits.is_empty() {
                if !flowbits_ok(r, fstate) {
                    continue;
                }
                flowbits_apply(r, fstate);
            }
            if let Some(p) = s.profile.as_deref_mut() {
                p.matched(rn);
            }
            if r.action == Action::Pass {
                fstate.pass = true;
                break;
            }
            if r.noalert {
                continue;
            }
            if !self.threshold_ok(rn, r, ctx.d, ctx.ts_secs, Some(&mut *fstate), ctx.flow_hash, c) {
                continue;
            }
            if s.alerts.len() >= PACKET_ALERT_MAX {
                c.inc(C::DetectAlertQueueOverflow);
                continue;
            }
            if s.alerts.iter().any(|a| {
                // In bounds: alerts hold candidates, which are indexes of self.rules.
                let o = &self.rules[a.rule as usize].rule;
                o.sid == r.sid && o.gid == r.gid && a.tx == tx_id
            }) {
                continue;
            }
            s.alerts.push(AlertHit { rule: rn, tx: tx_id });
        }
        if let Some(p) = s.profile.as_deref_mut() {
            p.end(s.alerts.get(first_alert..).unwrap_or(&[]));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn threshold_ok(
        &self,
        rn: u32,
        r: &Rule,
        d: &Decoded,
        now: u64,
        fstate: Option<&mut FlowDetect>,
        _flow_hash: u64,
        c: &mut Counters,
    ) -> bool {
        let th = match (&r.threshold, &r.detection_filter) {
            (Some(t), _) => *t,
            (None, Some(t)) => *t,
            (None, None) => return true,
        };
        let ok = if th.track == Track::ByFlow {
            match fstate {
                Some(st) => {
                    let pos = st.thresholds.iter().position(|e| e.0 == rn);
                    let e = match pos {
                        // In bounds: p is a position found in thresholds; n its last index after the push.
                        Some(p) => &mut st.thresholds[p],
                        None => {
                            st.thresholds.push((rn, now, 0, 0));
                            let n = st.thresholds.len() - 1;
                            &mut st.thresholds[n]
                        }
                    };
                    let mut te = ThresholdEntry { first_secs: e.1, count: e.2, next: e.3 };
                    let ok = threshold_step(&th, &mut te, now);
                    e.1 = te.first_secs;
                    e.2 = te.count;
                    e.3 = te.next;
                    ok
                }
                None => true,
            }
        } else {
            let (a, b) = match th.track {
                Track::BySrc => (d.src, [0; 16]),
                Track::ByDst => (d.dst, [0; 16]),
                Track::ByBoth => (d.src, d.dst),
                _ => ([0; 16], [0; 16]),
            };
            let key = (r.gid, r.sid, a, b);
            let mut tbl = match self.thresholds.lock() {
                Ok(t) => t,
                Err(p) => p.into_inner(),
            };
            let e = tbl.map.entry(key).or_insert(ThresholdEntry { first_secs: now, count: 0, next: 0 });
            threshold_step(&th, e, now)
        };
        if !ok {
            c.inc(C::DetectAlertsSuppressed);
        }
        ok
    }
}

/// One match against a threshold entry; true when the match alerts.
fn threshold_step(th: &Threshold, e: &mut ThresholdEntry, now: u64) -> bool {
    let window = th.seconds as u64;
    if th.kind != ThresholdType::Backoff && now.saturating_sub(e.first_secs) >= window.max(1) && e.count > 0 {
        // window expired: start a new one
        e.first_secs = now;
        e.count = 0;
    }
    if e.count == 0 {
        e.first_secs = now;
    }
    e.count = e.count.saturating_add(1);
    match th.kind {
        ThresholdType::Limit => e.count <= th.count,
        ThresholdType::Threshold => {
            if e.count >= th.count {
                e.count = 0;
                true
            } else {
                false
            }
        }
        ThresholdType::Both => e.count == th.count,
        ThresholdType::DetectionFilter => e.count > th.count,
        ThresholdType::Backoff => {
            // Alerts on match count, count*m, count*m^2, ... (no time window).
            if e.next == 0 {
                e.next = th.count.max(1) as u64;
            }
            if e.count as u64 == e.next {
                e.next = e.next.saturating_mul(th.multiplier.max(1) as u64);
                true
            } else {
                false
            }
        }
    }
}

/// The per-packet part of a rule: addresses, ports, `flow`, header keywords, and the
/// app-layer protocol its header or `app-layer-protocol` names.
fn header_ok(cr: &CompiledRule, t: usize, frame: &[u8], d: &Decoded, finfo: Option<&FlowInfo>) -> bool {
    let r = &cr.rule;
    let v6 = d.is_ipv6();
    if !cr.src.contains(&d.src, v6) || !cr.dst.contains(&d.dst, v6) {
        return false;
    }
    if (t == T_TCP || t == T_UDP) && (!port_match(&r.src_ports, d.sp) || !port_match(&r.dst_ports, d.dp)) {
        return false;
    }
    if !flow_ok(r, finfo, d) {
        return false;
    }
    let proto = finfo.map_or(AppProto::Unknown, |f| f.app_proto);
    if let Some(p) = cr.app_proto {
        if p != proto {
            return false;
        }
    }
    r.packet.iter().all(|m| match m {
        PacketMatch::AppLayerProtocol { name, negated, .. } => {
            // nothing is known before detection ends: no match either way
            if proto == AppProto::Unknown {
                return false;
            }
            let hit = name.split('|').any(|n| match AppProto::from_name(n) {
                Some(p) => p == proto,
                None => false,
            });
            hit != *negated
        }
        // Suricata: TCP packets of a flow with a session only.
        PacketMatch::StreamSize(side, cmp) => match finfo.and_then(|f| f.stream_size) {
            Some([client, server]) if d.proto == proto::TCP => {
                let (c, s) = (cmp.matches(client as u64), cmp.matches(server as u64));
                match side {
                    StreamSizeSide::Server => s,
                    StreamSizeSide::Client => c,
                    StreamSizeSide::Both => c && s,
                    StreamSizeSide::Either => c || s,
                }
            }
            _ => false,
        },
        m => match_packet(m, frame, d),
    })
}

fn flow_ok(r: &Rule, f: Option<&FlowInfo>, d: &Decoded) -> bool {
    let o = &r.flow;
    if *o == Default::default() {
        return true;
    }
    let frag = d.flags & dflags::FRAGMENT != 0;
    if o.only_frag && !frag || o.no_frag && frag {
        return false;
    }
    let Some(f) = f else {
        return !(o.to_server || o.to_client || o.established || o.not_established) || o.stateless;
    };
    if o.to_server && !f.to_server || o.to_client && f.to_server {
        return false;
    }
    let est = if d.proto == proto::TCP { f.tcp_established } else { f.state == FlowState::Established };
    if o.established && !est {
        return false;
    }
    if o.not_established && est {
        return false;
    }
    true
}

fn bit(st: &FlowDetect, b: u32) -> bool {
    st.bits.get(b as usize / 64).is_some_and(|w| w & (1u64 << (b % 64)) != 0)
}

fn flowbits_ok(r: &Rule, st: &FlowDetect) -> bool {
    for fb in &r.flowbits {
        let want = match fb.cmd {
            FlowbitCmd::IsSet => true,
            FlowbitCmd::IsNotSet => false,
            _ => continue,
        };
        let ok = match fb.join {
            FlowbitJoin::All => fb.bits.iter().all(|&b| bit(st, b) == want),
            FlowbitJoin::Any => fb.bits.iter().any(|&b| bit(st, b) == want),
        };
        if !ok {
            return false;
        }
    }
    true
}

fn flowbits_apply(r: &Rule, st: &mut FlowDetect) {
    for fb in &r.flowbits {
        for &b in &fb.bits {
            let (w, m) = (b as usize / 64, 1u64 << (b % 64));
            if w >= st.bits.len() {
                st.bits.resize(w + 1, 0);
            }
            match fb.cmd {
                // In bounds: w < bits.len() (resized above).
                FlowbitCmd::Set | FlowbitCmd::SetOther => st.bits[w] |= m,
                FlowbitCmd::Unset => st.bits[w] &= !m,
                FlowbitCmd::Toggle => st.bits[w] ^= m,
                _ => {}
            }
        }
    }
}

fn build_group(
    set: &[u32],
    rules: &[CompiledRule],
    engine: Engine,
    cache: Option<&crate::detect::cache::DbCache>,
    errors: &mut Vec<String>,
) -> Group {
    let mut g = Group::default();
    let mut pat_index: HashMap<PatternSpec, u32> = HashMap::new();
    let mut pats: Vec<PatternSpec> = Vec::new();
    for &r in set {
        // In bounds: set holds indexes of rules (members, enumerate in finish); id is an index pattern_rules.push gave.
        if let Some(p) = &rules[r as usize].fast_pattern {
            let id = *pat_index.entry(p.clone()).or_insert_with(|| {
                pats.push(p.clone());
                g.pattern_rules.push(Vec::new());
                (pats.len() - 1) as u32
            });
            g.pattern_rules[id as usize].push(r);
        }
    }
    if !pats.is_empty() {
        match Mpm::build_cached(engine, &pats, cache) {
            Ok(m) => g.mpm = Some(m),
            Err(e) => {
                // Same candidates, slower: never lose rules to a database that failed.
                errors.push(format!("{e}; using the reference matcher for this group"));
                g.mpm = Some(Mpm::Naive(pats));
            }
        }
    }
    g
}
