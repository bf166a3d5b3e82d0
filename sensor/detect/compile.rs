//! Building an engine: rules checked for what detection supports, compiled one at a time as
//! the loader parses them, ordered as Suricata orders signatures, and grouped per transport,
//! direction and port with one prefilter database per group.

use crate::fast_hash::HashMap;
use std::sync::{Arc, Mutex};

use super::addresses::{port_match, FastAddrSet, IpIndex};
use super::engine::{
    inspection_of, CompiledRule, DetectEngine, Group, Insp, LoadStats, PacketList, PortGroups, HEAD_REACH, T_COUNT,
    T_ICMP4, T_ICMP6, T_OTHER, T_TCP, T_UDP,
};
use super::fast_pattern::{choose_fast_pattern, fast_pattern_reach};
use super::flowbits::flowbits_class;
use super::run_rule::RunRule;
use super::threshold::ThresholdTable;
use super::EngineKind;
use crate::app::AppProto;
use crate::detect::app::{self, AppSet};
use crate::detect::matcher::{Engine, Mpm, PatternSpec};
use crate::detect::transform::Xform;
use crate::detect::verify::{self, CompiledList};
use crate::output::pieces::{Pieces, TextRef};
use crate::rule::ast::{Buffer, Content, HeaderValue, NumCmp, PacketMatch, PayloadMatch, Rule, Transform, Transport};
use crate::rule::VarNames;
use crate::rule::{ErrorKind, RuleError};

pub(super) fn engine_of(k: EngineKind) -> Engine {
    match k {
        EngineKind::Hyperscan => Engine::Hyperscan,
        EngineKind::AhoCorasick => Engine::AhoCorasick,
    }
}

pub(super) fn transports_of(t: Transport) -> &'static [usize] {
    match t {
        Transport::Ip => &[T_TCP, T_UDP, T_ICMP4, T_ICMP6, T_OTHER],
        Transport::Tcp => &[T_TCP],
        Transport::Udp => &[T_UDP],
        Transport::Icmp => &[T_ICMP4, T_ICMP6],
        Transport::Icmpv4 => &[T_ICMP4],
        Transport::Icmpv6 => &[T_ICMP6],
        Transport::Sctp | Transport::Igmp => &[T_OTHER],
    }
}

/// The transport index of the packets whose IP protocol is `n` (as the run picks a packet's
/// group: TCP, UDP, ICMPv4, ICMPv6, any other protocol).
fn transport_of_proto(n: u64) -> usize {
    match n {
        6 => T_TCP,
        17 => T_UDP,
        1 => T_ICMP4,
        58 => T_ICMP6,
        _ => T_OTHER,
    }
}

/// Whether rule `r` can match a packet of transport `t` as far as its `ip_proto:N` says: a
/// rule naming one protocol goes into that protocol's groups only (Suricata's
/// DetectIPProtoSetup narrows the signature's protocols the same way). ET Open's `alert ip
/// ... (ip_proto:41; ...)` was otherwise a candidate on every TCP and UDP packet: a third of
/// all the candidates verified on mix.pcap.
fn ip_proto_allows(r: &RunRule, t: usize) -> bool {
    r.packet.iter().all(|m| match m {
        PacketMatch::Header(h) if h.keyword == "ip_proto" => match h.value {
            HeaderValue::Cmp(NumCmp::Eq(n)) => transport_of_proto(n) == t,
            _ => true,
        },
        _ => true,
    })
}

/// Checks what detection supports; `Err` names the missing feature.
pub(super) fn supported(r: &Rule) -> Result<(), String> {
    if let Some(app) = &r.proto.app {
        if !AppProto::from_name(app).is_some_and(crate::app::identify::identifies) {
            return Err(format!("app-layer protocol {app}"));
        }
    }
    if app::is_app_rule(r) {
        return Ok(()); // checked by app::compile_rule
    }
    for b in &r.buffers {
        if b.buffer == Buffer::Payload && !b.transforms.is_empty() {
            return Err("transform on the payload".into());
        }
    }
    Ok(())
}

/// Renders the rule's `alert` fields after `signature_id` into `texts`: `rev` and
/// `signature` as a piece of its own, category and severity, and each metadata entry, as
/// pieces shared with the rules that have the same.
pub(super) fn render_alert_json(r: &Rule, texts: &mut Pieces) -> TextRef {
    use crate::output::eve::escape_into;
    use std::io::Write;
    // One buffer for every part (sized for the usual case: no escapes), cut into pieces
    // after: no allocation per part.
    let meta_len: usize =
        r.metadata.iter().map(|(k, v)| k.len() + v.iter().map(|x| x.len() + 3).sum::<usize>() + 6).sum();
    let mut buf = Vec::with_capacity(r.msg.len() + r.category.as_deref().map_or(0, str::len) + meta_len + 64);
    let _ = write!(buf, ",\"rev\":{},\"signature\":", r.rev);
    escape_into(&mut buf, r.msg.as_bytes());
    let head = buf.len();
    buf.extend_from_slice(b",\"category\":");
    escape_into(&mut buf, r.category.as_deref().unwrap_or("").as_bytes());
    let _ = write!(buf, ",\"severity\":{}", r.priority);
    let mut ends = Vec::with_capacity(r.metadata.len() + 2);
    ends.push(head);
    ends.push(buf.len());
    for (i, (k, vals)) in r.metadata.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        escape_into(&mut buf, k.as_bytes());
        buf.extend_from_slice(b":[");
        for (j, x) in vals.iter().enumerate() {
            if j > 0 {
                buf.push(b',');
            }
            escape_into(&mut buf, x.as_bytes());
        }
        buf.push(b']');
        ends.push(buf.len());
    }
    let (open, close): (&[u8], &[u8]) = if r.metadata.is_empty() { (b"", b"") } else { (b",\"metadata\":{", b"}") };
    // In bounds: ends are increasing lengths of buf.
    let piece = |k: usize| &buf[if k == 0 { 0 } else { ends[k - 1] }..ends[k]];
    let parts = [(piece(0), false), (piece(1), true), (open, true)].into_iter();
    let parts = parts.chain((2..ends.len()).map(|k| (piece(k), true))).chain([(close, true)]);
    texts.add(parts)
}

/// Reorders `v` so that its element `k` is the one that was at `from[k]` (`from` a
/// permutation of `v`'s indexes; otherwise `v` is left partly reordered), with swaps along
/// the permutation's cycles: no copy of `v`.
fn permute_in_place<T>(v: &mut [T], mut from: Vec<usize>) {
    for start in 0..from.len() {
        let mut at = start;
        // A cycle: position `at` takes the element at `from[at]`; done positions point at
        // themselves.
        while let Some(&next) = from.get(at) {
            if next == at {
                break;
            }
            if let Some(slot) = from.get_mut(at) {
                *slot = at;
            }
            if next == start || next >= v.len() {
                break;
            }
            v.swap(at, next);
            at = next;
        }
    }
}

impl DetectEngine {
    /// Compiles a parsed rule set. Rules that cannot be used are moved to `errors` with the
    /// reason (kind [`ErrorKind::Unsupported`] or a compile error).
    pub fn build(rules: Vec<Rule>, errors: Vec<RuleError>, names: VarNames, kind: EngineKind) -> DetectEngine {
        DetectEngine::build_cached(rules, errors, names, kind, None)
    }

    /// [`DetectEngine::build`], with prefilter databases taken from (and stored to) `cache`.
    pub fn build_cached(
        rules: Vec<Rule>,
        errors: Vec<RuleError>,
        names: VarNames,
        kind: EngineKind,
        cache: Option<&crate::detect::cache::DbCache>,
    ) -> DetectEngine {
        let mut c = RuleCompiler::new(kind);
        for r in rules {
            c.add(r);
        }
        c.finish(errors, names, cache)
    }
}

/// The packet rules' groups: per transport and direction one prefilter database; the rules
/// without a fast pattern listed per destination port range (ports with the same rules share
/// a list).
struct PacketGroups {
    groups: Vec<Group>,
    always_sets: Vec<Vec<u32>>,
    tables: [[PortGroups; 2]; T_COUNT],
    errors: Vec<String>,
}

impl PacketGroups {
    fn build(rules: &[CompiledRule], engine: Engine, cache: Option<&crate::detect::cache::DbCache>) -> PacketGroups {
        let mut pg = PacketGroups {
            groups: Vec::new(),
            always_sets: Vec::new(),
            tables: std::array::from_fn(|_| {
                std::array::from_fn(|_| PortGroups {
                    group: [0; 2],
                    added: [0; 2],
                    stream: [0; 2],
                    by_port: Vec::new(),
                })
            }),
            errors: Vec::new(),
        };
        let mut dedup: HashMap<Vec<u32>, u32> = HashMap::default();
        let mut mpm_cache: HashMap<(Vec<u32>, usize), usize> = HashMap::default();
        let mut pending: Vec<Vec<PatternSpec>> = Vec::new();
        for t in 0..T_COUNT {
            for dir in 0..2 {
                let members: Vec<u32> = rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| !r.ip_only && !r.is_app && r.event.is_none())
                    .filter(|(_, r)| transports_of(r.rule.proto.transport).contains(&t) && ip_proto_allows(&r.rule, t))
                    .filter(|(_, r)| if dir == 0 { !r.rule.flow.to_client } else { !r.rule.flow.to_server })
                    .map(|(i, _)| i as u32)
                    .collect();
                // In bounds: members are indexes of rules (enumerate above).
                let with_fp = |keep: &dyn Fn(Insp) -> bool| -> Vec<u32> {
                    members
                        .iter()
                        .copied()
                        .filter(|&i| rules[i as usize].fast_pattern.is_some() && keep(rules[i as usize].insp))
                        .collect()
                };
                let (groups, pending) = (&mut pg.groups, &mut pending);
                let mut group_of = |set: Vec<u32>, reach: usize| {
                    *mpm_cache.entry((set, reach)).or_insert_with_key(|(set, reach)| {
                        let (mut g, pats) = group_patterns(set, rules);
                        g.reach = *reach;
                        groups.push(g);
                        pending.push(pats);
                        groups.len() - 1
                    })
                };
                // a buffer's groups: the patterns anywhere, and those near its start
                let mut payload_of = |set: Vec<u32>| {
                    // In bounds: set holds indexes of rules (members).
                    let reach_of = |&i: &u32| rules[i as usize].fp_reach.filter(|&r| r <= HEAD_REACH);
                    let (head, whole): (Vec<u32>, Vec<u32>) = set.into_iter().partition(|i| reach_of(i).is_some());
                    let reach = head.iter().filter_map(reach_of).max().unwrap_or(0) as usize;
                    [group_of(whole, 0), group_of(head, reach)]
                };
                // (only TCP payloads go into a stream, only TCP has stream chunks)
                let (group, added) = if t == T_TCP {
                    (payload_of(with_fp(&|i| i.on_packet(false))), payload_of(with_fp(&|i| i.on_packet(true))))
                } else {
                    let group = payload_of(with_fp(&|_| true));
                    (group, group)
                };
                let stream = if t == T_TCP { payload_of(with_fp(&|i| i.stream)) } else { group };
                let always: Vec<u32> =
                    members.iter().copied().filter(|&i| rules[i as usize].fast_pattern.is_none()).collect();
                let by_port = pg.port_lists(rules, always, t == T_TCP || t == T_UDP, &mut dedup);
                // In bounds: t < T_COUNT and dir < 2 (loops above).
                pg.tables[t][dir] = PortGroups { group, added, stream, by_port };
            }
        }
        // Every group's database at once (in parallel); a group without patterns has none.
        let sets: Vec<&[PatternSpec]> = pending.iter().map(Vec::as_slice).collect();
        let built = Mpm::build_many(engine, &sets, cache);
        for ((g, m), pats) in pg.groups.iter_mut().zip(built).zip(&pending) {
            if pats.is_empty() {
                continue;
            }
            g.mpm = Some(m.unwrap_or_else(|e| {
                // Same candidates, slower: never lose rules to a database that failed.
                pg.errors.push(format!("{e}; using the reference matcher for this group"));
                Mpm::Naive(pats.clone())
            }));
        }
        pg
    }

    /// Per destination port (or one entry for portless transports), the index of the list of
    /// rules without a fast pattern that apply.
    fn port_lists(
        &mut self,
        rules: &[CompiledRule],
        always: Vec<u32>,
        ported: bool,
        dedup: &mut HashMap<Vec<u32>, u32>,
    ) -> Vec<u32> {
        let always_sets = &mut self.always_sets;
        let mut intern = |set: Vec<u32>| -> u32 {
            *dedup.entry(set.clone()).or_insert_with(|| {
                always_sets.push(set);
                (always_sets.len() - 1) as u32
            })
        };
        if !ported {
            return vec![intern(always)];
        }
        let mut by_port = Vec::with_capacity(65536);
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
        by_port
    }
}

/// The packet payload list of a rule, compiled (none for app-layer rules, whose payload
/// keywords are inspected per transaction).
fn compile_payload(r: &Rule, is_app: bool) -> Result<Option<CompiledList>, String> {
    let dsize = r.packet.iter().find_map(|m| if let PacketMatch::Dsize(c) = m { Some(c) } else { None });
    match r.buffers.iter().find(|b| b.buffer == Buffer::Payload && !is_app) {
        Some(list) => verify::compile_rule_list(list, dsize, verify::base64_data_of(r)).map(Some),
        None => Ok(None),
    }
}

/// The lists of a rule on the packet's own buffers (`tcp.hdr`, ...), compiled.
fn compile_packet_lists(r: &Rule) -> Result<Vec<PacketList>, String> {
    let mut out = Vec::new();
    for b in &r.buffers {
        if let Buffer::Packet(p) = &b.buffer {
            let xforms = crate::detect::transform::compile(&b.transforms)?;
            let list = verify::compile_rule_list(b, None, verify::base64_data_of(r))?;
            out.push(PacketList { buffer: *p, xforms, list });
        }
    }
    Ok(out)
}

/// Compiles rules one at a time as the loader parses them ([`crate::rule::load_rules_each`]),
/// keeping only what detection needs (the alert's EVE fields are rendered once, the metadata,
/// references and class texts dropped), then builds the engine in [`RuleCompiler::finish`].
/// A ruleset's parse trees and compiled forms never exist all at once, which bounds the memory
/// that loading ET Open takes.
pub(super) struct RuleCompiler {
    t0: std::time::Instant,
    engine: Engine,
    stats: LoadStats,
    errors: Vec<RuleError>,
    compiled: Vec<(u32, CompiledRule)>,
    xf_index: HashMap<Vec<Transform>, usize>,
    xforms: Vec<Vec<Xform>>,
    next: u32,
    /// Buffer names of [`CompiledRule::buffers`], one allocation each for all rules.
    buffer_names: HashMap<String, Arc<str>>,
    /// The distinct lists of [`CompiledRule::keywords`] and [`CompiledRule::buffers`], one
    /// allocation each for all rules (ET Open's 24,800 rules have a few hundred of each).
    keyword_lists: crate::fast_hash::HashSet<Arc<[&'static str]>>,
    buffer_lists: crate::fast_hash::HashSet<Arc<[Arc<str>]>>,
    /// The IP reputation `iprep` rules read, or why there is none.
    reputation: Result<Option<Arc<super::iprep::Reputation>>, String>,
    /// The rules' rendered `alert` fields.
    alert_texts: Pieces,
    /// The compiled address sets, one copy of each for all rules.
    addr_sets: crate::fast_hash::HashSet<Arc<FastAddrSet>>,
}

impl RuleCompiler {
    /// An empty compiler for the given prefilter engine.
    pub(super) fn new(kind: EngineKind) -> RuleCompiler {
        let mut xf_index: HashMap<Vec<Transform>, usize> = HashMap::default();
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
            buffer_names: HashMap::default(),
            keyword_lists: Default::default(),
            buffer_lists: Default::default(),
            reputation: Ok(None),
            alert_texts: Pieces::default(),
            addr_sets: Default::default(),
        }
    }

    /// Sets the IP reputation the rules' `iprep` categories are resolved against (before
    /// the first [`RuleCompiler::add`]).
    pub(super) fn set_reputation(&mut self, rep: Result<Option<Arc<super::iprep::Reputation>>, String>) {
        self.reputation = rep;
    }

    /// Numbers the rule's `iprep` categories.
    fn resolve_iprep(&self, r: &mut Rule) -> Result<(), String> {
        let rep = match &self.reputation {
            Ok(Some(rep)) => rep,
            Ok(None) => {
                return Err("iprep: IP reputation is not configured (detect.reputation.categories_file, files)".into())
            }
            Err(e) => return Err(format!("iprep: IP reputation could not be loaded: {e}")),
        };
        for ip in &mut r.iprep {
            ip.cat = rep
                .category(&ip.category)
                .ok_or_else(|| format!("iprep: unknown category '{}' (not in the categories file)", ip.category))?;
        }
        Ok(())
    }

    /// The shared compiled copy of an address set.
    fn addr_set(&mut self, a: &crate::rule::ast::AddrSet) -> Arc<FastAddrSet> {
        let set = FastAddrSet::new(a);
        match self.addr_sets.get(&set) {
            Some(s) => s.clone(),
            None => {
                let s = Arc::new(set);
                self.addr_sets.insert(s.clone());
                s
            }
        }
    }

    /// The shared copy of a buffer name.
    fn buffer_name(&mut self, name: String) -> Arc<str> {
        match self.buffer_names.get(&name) {
            Some(a) => a.clone(),
            None => {
                let a: Arc<str> = name.as_str().into();
                self.buffer_names.insert(name, a.clone());
                a
            }
        }
    }

    /// Records why a rule cannot be used.
    fn reject(&mut self, r: &Rule, kind: ErrorKind, message: String) {
        match kind {
            ErrorKind::Unsupported(_) => self.stats.skipped += 1,
            _ => self.stats.failed += 1,
        }
        self.errors.push(RuleError {
            file: r.origin.file.to_string(),
            line: r.origin.line,
            sid: Some(r.sid),
            kind,
            message,
        });
    }

    /// Compiles one parsed rule (in load order), or records why it cannot be used.
    pub(super) fn add(&mut self, mut r: Rule) {
        let load_idx = self.next;
        self.next += 1;
        if let Err(why) = supported(&r) {
            self.reject(&r, ErrorKind::Unsupported(why.clone()), format!("not supported yet: {why}"));
            return;
        }
        if !r.iprep.is_empty() {
            if let Err(e) = self.resolve_iprep(&mut r) {
                self.reject(&r, ErrorKind::BadValue("iprep".into()), e);
                return;
            }
        }
        let is_app = app::is_app_rule(&r);
        if r.transactional {
            if !is_app {
                let why = "a transactional rule (=>) without app-layer keywords of both directions".to_string();
                self.reject(&r, ErrorKind::BadValue("direction".into()), why);
                return;
            }
            // decided with the response's packets (server to client): the header, written
            // for the request, is compared the other way round
            std::mem::swap(&mut r.src, &mut r.dst);
            std::mem::swap(&mut r.src_ports, &mut r.dst_ports);
        }
        let pending_app = if is_app {
            match app::compile_rule(&r, &mut self.xf_index, &mut self.xforms) {
                Ok(x) => x,
                Err(why) => {
                    self.reject(&r, ErrorKind::Unsupported(why.clone()), format!("not supported yet: {why}"));
                    return;
                }
            }
        } else {
            Vec::new()
        };
        let payload = match compile_payload(&r, is_app) {
            Ok(p) => p,
            Err(e) => {
                self.reject(&r, ErrorKind::BadValue("payload keywords".into()), e);
                return;
            }
        };
        let pkt_lists = match compile_packet_lists(&r) {
            Ok(p) => p,
            Err(e) => {
                self.reject(&r, ErrorKind::BadValue("payload keywords".into()), e);
                return;
            }
        };
        let contents: Vec<&Content> = r
            .buffers
            .iter()
            .filter(|b| b.buffer == Buffer::Payload)
            .flat_map(|b| b.matches.iter())
            .filter_map(|m| if let PayloadMatch::Content(c) = m { Some(c) } else { None })
            .collect();
        let fast_pattern = if is_app { None } else { choose_fast_pattern(&contents) };
        let fp_reach = if is_app { None } else { fast_pattern_reach(&contents) };
        // Suricata's IP-only rules: addresses (and flowbits, thresholds) only, any ports,
        // any transport named in the header; evaluated once per flow direction.
        let ip_only = r.buffers.is_empty()
            && !is_app
            && !r.flow_start
            && r.packet.is_empty()
            && r.flow == Default::default()
            && r.src_ports.any
            && r.src_ports.exclude.is_empty()
            && r.dst_ports.any
            && r.dst_ports.exclude.is_empty();
        let alert_text = render_alert_json(&r, &mut self.alert_texts);
        let (src, dst) = (self.addr_set(&r.src), self.addr_set(&r.dst));
        let insp = inspection_of(&r);
        let app_proto = r.proto.app.as_deref().and_then(AppProto::from_name);
        let (event, de_only) = events_of(&r);
        let pd_only = is_pd_only(&r, is_app, app_proto, event.is_some(), pkt_lists.is_empty());
        let keywords = interned(&mut self.keyword_lists, super::profile::keyword_kinds(&r, ip_only));
        let buffers = super::profile::buffers_of(&r, insp).into_iter().map(|b| self.buffer_name(b)).collect();
        let buffers = interned(&mut self.buffer_lists, buffers);
        // The swapped copy of a `<>` rule compiles its own lists from the parse tree.
        let swapped = if r.bidirectional { Some(self.swapped_parts(&r)) } else { None };
        // The parse tree goes here: what detection reads of it is kept (the payload lists and
        // addresses are compiled above, the alert's EVE fields rendered).
        let cr = CompiledRule {
            rule: Box::new(RunRule::of(r)),
            payload,
            fast_pattern,
            fp_reach,
            ip_only,
            swapped: false,
            alert_text,
            src,
            dst,
            insp,
            app_proto,
            is_app,
            keywords,
            buffers,
            event,
            de_only,
            pkt_lists,
            pd_only,
            pending_app,
        };
        match swapped {
            Some((payload, pkt_lists, pending_app)) => {
                let sw = swapped_copy(&cr, payload, pkt_lists, pending_app);
                self.compiled.push((load_idx, cr));
                self.compiled.push((load_idx, sw));
            }
            None => self.compiled.push((load_idx, cr)),
        }
    }

    /// The lists of the copy of a `<>` rule with source and destination swapped, compiled.
    fn swapped_parts(&mut self, r: &Rule) -> (Option<CompiledList>, Vec<PacketList>, Vec<app::Compiled>) {
        let is_app = app::is_app_rule(r);
        let payload = compile_payload(r, is_app).ok().flatten();
        let pkt_lists = compile_packet_lists(r).unwrap_or_default();
        let pending_app = if is_app {
            app::compile_rule(r, &mut self.xf_index, &mut self.xforms).unwrap_or_default()
        } else {
            Vec::new()
        };
        (payload, pkt_lists, pending_app)
    }

    /// Builds the engine from the rules added; `parse_errors` are the loader's (they come first
    /// in the engine's error list and count as failed).
    pub(super) fn finish(
        self,
        mut errors: Vec<RuleError>,
        var_names: VarNames,
        cache: Option<&crate::detect::cache::DbCache>,
    ) -> DetectEngine {
        let RuleCompiler {
            t0,
            engine,
            mut stats,
            errors: compile_errors,
            mut compiled,
            xf_index: _,
            xforms,
            next: _,
            buffer_names: _,
            keyword_lists: _,
            buffer_lists: _,
            reputation,
            mut alert_texts,
            addr_sets: _,
        } = self;
        alert_texts.seal();
        stats.failed += errors.len();
        errors.extend(compile_errors);
        // Every rule is compiled: no more expressions to share.
        verify::end_shared_pcre();
        // Suricata's signature order. The key is unique (load index, swapped), so an unstable
        // sort gives the same order. The keys are sorted, each computed once, and the rules
        // (hundreds of bytes each) then moved into that order in place, each once.
        let mut keys: Vec<_> = compiled
            .iter()
            .enumerate()
            .map(|(at, (i, c))| {
                let (fi, hb, pb) = super::vars::order_classes(&c.rule);
                ((c.rule.action.order(), flowbits_class(&c.rule), fi, hb, pb, c.rule.priority, *i, c.swapped), at)
            })
            .collect();
        keys.sort_unstable();
        let from: Vec<usize> = keys.into_iter().map(|(_, at)| at).collect();
        permute_in_place(&mut compiled, from);
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

        let PacketGroups { groups, always_sets, tables, errors: mpm_errors } =
            PacketGroups::build(&rules, engine, cache);
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
        let mut event_rules: Vec<Vec<u32>> = vec![Vec::new(); crate::decode::event::ALL.len()];
        for (i, r) in rules.iter().enumerate() {
            if let Some(list) = r.event.and_then(|e| event_rules.get_mut(usize::from(e))) {
                if !r.is_app {
                    list.push(i as u32);
                }
            }
        }
        let ip_index = IpIndex::build(&ip_only, &rules);
        let port_spans = rules.iter().map(|r| [port_span(&r.rule.src_ports), port_span(&r.rule.dst_ports)]).collect();
        DetectEngine {
            port_spans,
            rules,
            groups,
            always_sets,
            tables,
            var_names,
            errors,
            stats,
            thresholds: Mutex::new(ThresholdTable::default()),
            suppressions: Vec::new(),
            xbits: Mutex::new(super::vars::XbitTable::default()),
            reputation: reputation.ok().flatten(),
            engine,
            ip_only,
            ip_index,
            app,
            event_rules,
            alert_texts,
        }
    }
}

/// The one copy in `set` of the list `v`, added when new.
fn interned<T: Eq + std::hash::Hash>(set: &mut crate::fast_hash::HashSet<Arc<[T]>>, v: Vec<T>) -> Arc<[T]> {
    if let Some(a) = set.get(&v[..]) {
        return a.clone();
    }
    let a: Arc<[T]> = v.into();
    set.insert(a.clone());
    a
}

/// The smallest port range holding every port of `set` (the whole range when it has
/// exclusions or is empty: a span may be wider than the set, never narrower).
fn port_span(set: &crate::rule::ast::PortSet) -> (u16, u16) {
    if set.any || set.include.is_empty() {
        return (0, u16::MAX);
    }
    let lo = set.include.iter().map(|r| r.lo).min().unwrap_or(0);
    let hi = set.include.iter().map(|r| r.hi).max().unwrap_or(u16::MAX);
    (lo, hi)
}

/// The copy of a `<>` rule with source and destination swapped (same sid), with its own
/// compiled lists ([`RuleCompiler::swapped_parts`]).
fn swapped_copy(
    cr: &CompiledRule,
    payload: Option<CompiledList>,
    pkt_lists: Vec<PacketList>,
    pending_app: Vec<app::Compiled>,
) -> CompiledRule {
    let mut sw = CompiledRule {
        rule: cr.rule.clone(),
        payload,
        fast_pattern: cr.fast_pattern.clone(),
        fp_reach: cr.fp_reach,
        ip_only: cr.ip_only,
        swapped: true,
        alert_text: cr.alert_text,
        src: cr.dst.clone(),
        dst: cr.src.clone(),
        insp: cr.insp,
        app_proto: cr.app_proto,
        is_app: cr.is_app,
        keywords: cr.keywords.clone(),
        buffers: cr.buffers.clone(),
        event: cr.event,
        de_only: cr.de_only,
        pkt_lists,
        pd_only: cr.pd_only,
        pending_app,
    };
    std::mem::swap(&mut sw.rule.src_ports, &mut sw.rule.dst_ports);
    sw
}

/// The event a rule needs on the packet (its first event keyword), and whether it is
/// Suricata's decoder-event-only rule: `decode-event` keywords and nothing else that inspects
/// the packet (no payload, buffers, app-layer protocol or other header keyword).
fn events_of(r: &Rule) -> (Option<u8>, bool) {
    let code = |m: &PacketMatch| match m {
        PacketMatch::Header(h) => match h.value {
            crate::rule::ast::HeaderValue::Event(c) => Some(c),
            _ => None,
        },
        _ => None,
    };
    let event = r.packet.iter().find_map(code);
    let de = |m: &PacketMatch| matches!(m, PacketMatch::Header(h) if h.keyword == "decode-event");
    let de_only = event.is_some()
        && r.packet.iter().all(de)
        && r.buffers.iter().all(|b| b.matches.is_empty())
        && r.proto.app.is_none()
        && r.app_values.is_empty()
        && r.flow == Default::default();
    (event, de_only)
}

/// Suricata's protocol-detection-only rule (`SignatureIsPDOnly`): no app-layer protocol in its
/// header, no payload, buffer, event or state keyword, only `app-layer-protocol` (one or more)
/// and `flowbits:set` to match.
fn is_pd_only(r: &Rule, is_app: bool, app_proto: Option<AppProto>, event: bool, no_pkt_lists: bool) -> bool {
    use crate::rule::ast::FlowbitCmd;
    !is_app
        && app_proto.is_none()
        && !event
        && no_pkt_lists
        && r.buffers.iter().all(|b| b.matches.is_empty())
        && r.app_values.is_empty()
        && r.flow == Default::default()
        && r.flowints.is_empty()
        && r.xbits.is_empty()
        && r.iprep.is_empty()
        && r.flowbits.iter().all(|f| f.cmd == FlowbitCmd::Set)
        && !r.packet.is_empty()
        && r.packet.iter().all(|m| matches!(m, PacketMatch::AppLayerProtocol { .. }))
}

/// A packet group's rules by fast pattern, and the patterns for its database (compiled
/// afterwards with the other groups', see [`PacketGroups::build`]).
fn group_patterns(set: &[u32], rules: &[CompiledRule]) -> (Group, Vec<PatternSpec>) {
    let mut g = Group::default();
    let mut pat_index: HashMap<PatternSpec, u32> = HashMap::default();
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
    (g, pats)
}

#[cfg(test)]
mod tests {
    #[test]
    fn permute_in_place_moves_each_element_to_its_place() {
        let perms: [&[usize]; 5] = [&[], &[0], &[1, 0], &[2, 0, 1, 4, 3, 5], &[3, 4, 0, 5, 1, 2]];
        for from in perms {
            let mut v: Vec<usize> = (0..from.len()).map(|i| i * 10).collect();
            super::permute_in_place(&mut v, from.to_vec());
            let want: Vec<usize> = from.iter().map(|&i| i * 10).collect();
            assert_eq!(v, want, "{from:?}");
        }
    }

    use super::*;
    use crate::config::{EngineKind, VarsConfig};
    use crate::rule::{parse_rule, Keywords, ParseContext};

    fn engine(rules: &[&str]) -> DetectEngine {
        let mut ctx = ParseContext::new(&VarsConfig::default());
        let kw = Keywords::new(crate::app::keywords());
        let rs = rules.iter().map(|r| parse_rule(r, &kw, &mut ctx).expect("rule parses")).collect();
        DetectEngine::build(rs, Vec::new(), Default::default(), EngineKind::Hyperscan)
    }

    /// A TCP buffer is prefiltered only for the rules that inspect it: a payload that went
    /// into the stream for the rules that also inspect packets, the raw stream for the stream
    /// rules; anchored patterns sit in the head groups with the reach of their window.
    #[test]
    fn each_tcp_buffer_has_the_groups_of_the_rules_that_inspect_it() {
        let e = engine(&[
            r#"alert tcp any any -> any any (content:"anywhere"; sid:1;)"#,
            r#"alert tcp any any -> any any (content:"head"; offset:2; depth:10; sid:2;)"#,
            r#"alert tcp any any -> any any (flow:only_stream; content:"stream"; sid:3;)"#,
            r#"alert tcp any any -> any any (dsize:>5; content:"packet"; sid:4;)"#,
            r#"alert tcp any any -> any any (content:"far"; depth:1000; sid:5;)"#,
        ]);
        let rn = |sid: u32| e.rules.iter().position(|r| r.rule.sid == sid).expect("rule loaded") as u32;
        let in_group = |g: usize| -> Vec<u32> {
            let mut sids: Vec<u32> =
                e.groups[g].pattern_rules.iter().flatten().map(|&r| e.rules[r as usize].rule.sid).collect();
            sids.sort_unstable();
            sids
        };
        assert!(rn(1) < e.rules.len() as u32);
        let pg = &e.tables[T_TCP][0];
        assert_eq!(in_group(pg.group[0]), vec![1, 4, 5], "not added: every rule but the stream-only one");
        assert_eq!(in_group(pg.added[0]), vec![4, 5], "added: the rules that also inspect packets");
        assert_eq!(in_group(pg.stream[0]), vec![1, 3, 5], "stream: the stream rules");
        for heads in [pg.group[1], pg.added[1], pg.stream[1]] {
            assert_eq!(in_group(heads), vec![2]);
            assert_eq!(e.groups[heads].reach, 12, "offset 2 + depth 10");
        }
        for whole in [pg.group[0], pg.added[0], pg.stream[0]] {
            assert_eq!(e.groups[whole].reach, 0, "scanned whole");
        }
        // UDP: one payload group (and its head), nothing goes into a stream
        let pu = &e.tables[T_UDP][0];
        assert_eq!((pu.added, pu.stream), (pu.group, pu.group));
    }

    /// A `=>` rule is decided with the response: its lists read the side their buffer (or
    /// the rule) names, its header is compared the other way round, its prefilter is on a
    /// response buffer. Refused: a keyword of either side without a direction, a rule with
    /// keywords of one side only, a rule without app-layer keywords.
    #[test]
    fn a_transactional_rule_is_decided_with_the_response() {
        let e = engine(&[
            r#"alert http any any => any 80 (http.uri; content:"/a"; http.connection: to_client; content:"close"; sid:1;)"#,
            r#"alert http any any => any any (http.uri; content:"/a"; http.connection; content:"close"; sid:2;)"#,
            r#"alert http any any => any any (http.uri; content:"/a"; sid:3;)"#,
            r#"alert tcp any any => any any (content:"a"; sid:4;)"#,
            r#"alert http any any -> any any (http.uri; content:"/a"; http.connection: to_client; content:"x"; sid:5;)"#,
        ]);
        let loaded: Vec<u32> = e.rules.iter().map(|r| r.rule.sid).collect();
        assert_eq!(loaded, vec![1]);
        let refused: Vec<Option<u32>> = e.errors.iter().map(|er| er.sid).collect();
        assert_eq!(refused, vec![Some(2), Some(3), Some(4), Some(5)]);
        let ar = e.app.rule(0, AppProto::Http).expect("an HTTP app rule");
        assert_eq!(ar.dirs, 2, "inspected with the response only");
        let sides: Vec<Option<bool>> = ar.lists.iter().map(|l| l.to_server).collect();
        assert_eq!(sides, vec![Some(true), Some(false)]);
        let r = &e.rules[0].rule;
        assert!(!r.src_ports.any && r.dst_ports.any, "port 80 is the response's source port");
        assert_eq!(e.app.group(AppProto::Http, 1).map(|g| (g.dbs.len(), g.always.len())), Some((1, 0)));
        assert!(e.app.group(AppProto::Http, 0).is_none());
    }

    /// A rule with `ip_proto:N` is placed in the groups of protocol N only; `!N` and `>N`
    /// leave it everywhere its header allows.
    #[test]
    fn ip_proto_narrows_the_groups_of_a_rule() {
        let e = engine(&[
            r#"alert ip any any -> any any (ip_proto:41; sid:1;)"#,
            r#"alert ip any any -> any any (ip_proto:tcp; sid:2;)"#,
            r#"alert ip any any -> any any (ip_proto:!41; sid:3;)"#,
            r#"alert ip any any -> any any (ip_proto:>50; sid:4;)"#,
        ]);
        let groups_of = |sid: u32| -> Vec<usize> {
            let rn = e.rules.iter().position(|r| r.rule.sid == sid).expect("rule loaded") as u32;
            (0..T_COUNT)
                .filter(|&t| {
                    let port = if t == T_TCP || t == T_UDP { 80 } else { 0 };
                    // In bounds: t < T_COUNT.
                    let by_port = &e.tables[t][0].by_port;
                    by_port.get(port).and_then(|&i| e.always_sets.get(i as usize)).is_some_and(|s| s.contains(&rn))
                })
                .collect()
        };
        assert_eq!(groups_of(1), vec![T_OTHER]);
        assert_eq!(groups_of(2), vec![T_TCP]);
        assert_eq!(groups_of(3), vec![T_TCP, T_UDP, T_ICMP4, T_ICMP6, T_OTHER]);
        assert_eq!(groups_of(4), vec![T_TCP, T_UDP, T_ICMP4, T_ICMP6, T_OTHER]);
    }

    /// Each rule's port spans hold every port its header allows: one port, a range, a list
    /// (its lowest to its highest), and the whole range for `any`, negations and variables
    /// with exclusions.
    #[test]
    fn port_spans_hold_every_port_of_the_rule() {
        let e = engine(&[
            r#"alert tcp any 3389 -> any any (flags:SA; sid:1;)"#,
            r#"alert tcp any any -> any [80,8000:8080,443] (flags:S; sid:2;)"#,
            r#"alert tcp any !53 -> any [1:100,!50] (flags:S; sid:3;)"#,
        ]);
        let spans = |sid: u32| {
            let rn = e.rules.iter().position(|r| r.rule.sid == sid).expect("rule loaded");
            e.port_spans[rn]
        };
        assert_eq!(spans(1), [(3389, 3389), (0, 65535)]);
        assert_eq!(spans(2), [(0, 65535), (80, 8080)]);
        assert_eq!(spans(3), [(0, 65535), (1, 100)]);
    }
}
