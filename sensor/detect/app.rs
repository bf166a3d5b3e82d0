//! App-layer rules: sticky buffers and value keywords inspected per transaction, as Suricata's
//! transaction engines do. Protocols are reached only through the app layer's registry and
//! transaction trait: this file names none.
//!
//! Load time ([`compile_rule`], [`AppSet::build`]): each rule with sticky buffers or app
//! value keywords (or an app protocol in its header and nothing to inspect in the payload)
//! becomes one [`AppRule`] per protocol it can apply to (a buffer several protocols have,
//! `file.data`, applies to each of them unless the header names one): its lists compiled, its
//! transforms compiled, its direction decided (explicit `flow:to_server/to_client`, else the
//! buffers' own side or the side a buffer is bound to, `http.connection: to_client`), and the
//! progress its buffers need. A transactional rule (`=>`) is inspected with the response
//! only: each list reads its own side, the request's lists need the request's progress. Per (protocol, direction) and per
//! (buffer, transform list) one prefilter database of the rules' fast patterns.
//! Run time ([`super::engine::DetectEngine::run_app`]): when a transaction made progress on
//! the packet's side, its ready buffers are scanned with their databases; candidates whose
//! buffers are all final are verified once per transaction (a rule alerts at most once per
//! transaction), the rest wait for later progress.

use crate::fast_hash::HashMap;
use std::sync::Arc;

use crate::app::{registry, AppProto, BufferId, Need, Side, Transaction, ValueArg};
use crate::detect::int_hash::IntMap;
use crate::detect::matcher::{Engine, Mpm, PatternSpec};
use crate::detect::transform::{self, Xform};
use crate::detect::verify::{self, CompiledList};
use crate::rule::ast::{Buffer, Content, Direction, PayloadMatch, Rule, Transform};
use crate::rule::APP_LAYER_EVENT;

/// What one list of an app rule inspects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListTarget {
    /// A protocol buffer.
    Buffer(BufferId),
    /// The packet's payload (payload keywords of a rule of a protocol without a payload
    /// buffer: a DNS datagram is its message).
    Packet,
    /// A frame of the protocol, by its type (`frame:`; inspected by `run_frames`).
    Frame(u8),
}

/// One inspected list of an app rule.
#[derive(Debug)]
pub struct AppList {
    /// What it inspects.
    pub target: ListTarget,
    /// The buffer's number within its protocol (what [`Transaction::buffer`] takes).
    pub local: u16,
    /// Index of its transform list in [`AppSet::xforms`].
    pub xf: usize,
    /// The side it is read from (true: to server) when the rule binds it to one (a `=>`
    /// rule, `http.connection: to_client`); `None`: the packet's side.
    pub to_server: Option<bool>,
    /// Compiled keywords.
    pub list: CompiledList,
}

/// A compiled value keyword of an app rule.
#[derive(Debug)]
pub struct AppValue {
    /// The keyword's number within its protocol (what [`Transaction::value`] takes).
    pub local: u16,
    /// Its compiled argument.
    pub arg: DebugArg,
    /// The side it is evaluated on when the rule binds it to one (`filesize: to_client, >1`
    /// in a `=>` rule); `None`: the packet's side.
    pub to_server: Option<bool>,
}

/// A value keyword argument (opaque to detection).
pub struct DebugArg(pub ValueArg);

impl std::fmt::Debug for DebugArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValueArg")
    }
}

/// A rule inspected against transactions of one protocol.
#[derive(Debug)]
pub struct AppRule {
    /// Rule number in the engine.
    pub rule: u32,
    /// Protocol.
    pub proto: AppProto,
    /// Directions: bit 0 to server, bit 1 to client.
    pub dirs: u8,
    /// Lists (boxed slices, here and below: no room for growth in the 30,000 app rules of
    /// ET Open's copies).
    pub lists: Box<[AppList]>,
    /// Progress needed per side, for an inspection in each direction (index 0: to server).
    pub need: [[u8; 2]; 2],
    /// Value keywords, all must hold.
    pub values: Box<[AppValue]>,
    /// Transaction events (`app-layer-event:<proto>.<event>`), indexes into the protocol's
    /// event table: all must be raised on the transaction.
    pub events: Box<[u16]>,
    /// A frame rule: the frame type it inspects (its lists are on the frame's bytes).
    pub frame: Option<u8>,
    /// It has a file keyword ([`crate::app::files::is_file_keyword`]): inspected again as
    /// the files of its side change, anew for each new file.
    pub files: bool,
}

/// A prefilter database over one (buffer, transforms).
#[derive(Debug)]
pub struct BufDb {
    /// Buffer.
    pub buffer: BufferId,
    /// Its number within its protocol.
    pub local: u16,
    /// Progress it needs.
    pub need: Need,
    /// Transform list index.
    pub xf: usize,
    /// Database (shared by the groups whose patterns and rules are the same: HTTP/1's and
    /// HTTP/2's http.* buffers).
    pub mpm: Arc<Mpm>,
    /// Pattern id -> rule numbers.
    pub pattern_rules: Arc<[Vec<u32>]>,
}

/// A prefilter database and its rules by pattern id, as built once per distinct pattern set.
type SharedDb = (Arc<Mpm>, Arc<[Vec<u32>]>);

/// A buffer's database in a group: (buffer, transforms, index of the database to compile).
type BufDbPlan = (BufferId, usize, usize);

/// The app rules of one (protocol, direction).
#[derive(Debug, Default)]
pub struct Group {
    /// Databases per buffer.
    pub dbs: Vec<BufDb>,
    /// Rules (engine numbers) without a fast pattern.
    pub always: Vec<u32>,
    /// The protocol's values change without progress: inspect at every packet.
    pub reinspect: bool,
    /// Some rules have file keywords: transactions are inspected again as their files change.
    pub files: bool,
    /// The progress (per side) every file rule of the group needs: a transaction's closed
    /// files of the direction are retired once it is reached and they were inspected.
    pub file_need: [u8; 2],
}

/// The app-layer rules of an engine.
#[derive(Debug, Default)]
pub struct AppSet {
    /// (rule number, protocol) -> index into `rules`.
    pub(crate) by_rule: IntMap<(u32, AppProto), u32>,
    /// App rules.
    pub rules: Vec<AppRule>,
    /// Distinct transform lists (index 0: none).
    pub xforms: Vec<Vec<Xform>>,
    groups: IntMap<(AppProto, u8), Group>,
    /// Frame rules per (protocol, direction, frame type), in rule order.
    frame_groups: HashMap<(AppProto, u8, u8), Vec<u32>>,
    /// The frame types frame rules inspect (flows keep only those).
    pub frame_wants: crate::app::frames::FrameWants,
    /// Databases built.
    pub databases: usize,
}

/// A compiled app rule and its fast pattern (list index, pattern), before numbering.
pub(crate) type Compiled = (AppRule, Option<(usize, PatternSpec)>);

/// Whether a rule is an app-layer rule (sticky buffers, or a header protocol with nothing
/// for the packet payload), and if so its protocol.
pub(crate) fn is_app_rule(r: &Rule) -> bool {
    !r.app_values.is_empty()
        || r.buffers.iter().any(|b| matches!(b.buffer, Buffer::Sticky(_) | Buffer::Frame(_)))
        || (r.proto.app.is_some() && !r.buffers.iter().any(|b| b.buffer == Buffer::Payload && !b.matches.is_empty()))
}

/// Combines two buffers' sides: `None` when they contradict.
fn join_side(a: Option<Side>, b: Side) -> Result<Option<Side>, ()> {
    Ok(match (a, b) {
        (None, s) | (Some(Side::Both), s) => Some(s),
        (Some(a), Side::Both) => Some(a),
        (Some(a), b) if a == b => Some(a),
        _ => return Err(()),
    })
}

/// The protocols a rule can apply to: the header's, else those every buffer and value
/// keyword of the rule exists in.
fn protocols_of(r: &Rule) -> Result<Vec<AppProto>, String> {
    let reg = registry();
    let header = match &r.proto.app {
        Some(a) => Some(AppProto::from_name(a).ok_or_else(|| format!("app-layer protocol {a}"))?),
        None => None,
    };
    let mut candidates: Option<Vec<AppProto>> = header.map(|p| {
        let name = r.proto.app.as_deref().unwrap_or("");
        AppProto::ALL.iter().copied().filter(|&q| p.header_applies_to(name, q)).collect()
    });
    let mut narrow = |name: &str, have: Vec<AppProto>| -> Result<(), String> {
        if have.is_empty() {
            return Err(format!("buffer {name}"));
        }
        candidates = Some(match candidates.take() {
            None => have,
            Some(c) => {
                let both: Vec<AppProto> = c.iter().copied().filter(|p| have.contains(p)).collect();
                if both.is_empty() {
                    return Err(format!("buffer {name} in a {} rule", c.first().map_or("", |p| p.name())));
                }
                both
            }
        });
        Ok(())
    };
    for b in &r.buffers {
        if let Buffer::Sticky(n) = &b.buffer {
            let have: Vec<AppProto> =
                reg.buffers_named(n).iter().filter_map(|&id| reg.buffer(id)).map(|d| d.proto).collect();
            narrow(n, have)?;
        }
        if let Buffer::Frame(n) = &b.buffer {
            let have: Vec<AppProto> =
                crate::app::registry::protocols().map(|p| p.proto).filter(|&p| frame_of(n, p).is_some()).collect();
            narrow(n, have).map_err(|e| format!("frame {}", e.trim_start_matches("buffer ")))?;
        }
    }
    for (name, v) in &r.app_values {
        if name == APP_LAYER_EVENT {
            // the event's protocol, which must have a parser to raise it
            let p = v.split_once('.').map_or(v.as_str(), |(p, _)| p);
            let p = AppProto::from_name(p).filter(|&p| crate::app::registry::protocol(p).is_some());
            let have: Vec<AppProto> = p.into_iter().collect();
            narrow(name, have).map_err(|_| format!("{name} {v}"))?;
            continue;
        }
        let have: Vec<AppProto> =
            reg.values_named(name).iter().filter_map(|&id| reg.value(id)).map(|d| d.proto).collect();
        if have.is_empty() {
            return Err(format!("keyword {name}"));
        }
        narrow(name, have).map_err(|_| format!("{name} in a {} rule", header.map_or("", |p| p.name())))?;
    }
    match candidates {
        Some(c) if !c.is_empty() => Ok(c),
        _ => Err("app-layer rule without a protocol".into()),
    }
}

/// Compiles an app rule for each protocol it applies to, or says why it cannot be used.
pub(crate) fn compile_rule(
    r: &Rule,
    xf_index: &mut HashMap<Vec<Transform>, usize>,
    xforms: &mut Vec<Vec<Xform>>,
) -> Result<Vec<Compiled>, String> {
    // Exact size: these wait in every app rule until the engine is built (a vector grown
    // from empty would hold room for four).
    let protos = protocols_of(r)?;
    let mut out = Vec::with_capacity(protos.len());
    // a buffer's keywords compile the same for every protocol: the copies share them
    let mut lists = vec![None; r.buffers.len()];
    for proto in protos {
        out.push(compile_for(r, proto, &mut lists, xf_index, xforms)?);
    }
    Ok(out)
}

/// The compiled keywords of the rule's buffer `i`, compiled by the first protocol that asks
/// (`done`: one slot per buffer) and shared with the others.
fn list_of(r: &Rule, i: usize, done: &mut [Option<CompiledList>]) -> Result<CompiledList, String> {
    if let Some(Some(l)) = done.get(i) {
        return Ok(l.clone());
    }
    let b = r.buffers.get(i).ok_or("no such buffer")?;
    let list = verify::compile_rule_list(b, None, verify::base64_data_of(r))?;
    if let Some(slot) = done.get_mut(i) {
        *slot = Some(list.clone());
    }
    Ok(list)
}

fn xform_index(
    key: &[Transform],
    xf_index: &mut HashMap<Vec<Transform>, usize>,
    xforms: &mut Vec<Vec<Xform>>,
) -> Result<usize, String> {
    if let Some(&i) = xf_index.get(key) {
        return Ok(i);
    }
    let c = transform::compile(key)?;
    xforms.push(c);
    xf_index.insert(key.to_vec(), xforms.len() - 1);
    Ok(xforms.len() - 1)
}

fn compile_for(
    r: &Rule,
    proto: AppProto,
    compiled: &mut [Option<CompiledList>],
    xf_index: &mut HashMap<Vec<Transform>, usize>,
    xforms: &mut Vec<Vec<Xform>>,
) -> Result<Compiled, String> {
    let reg = registry();
    let desc = crate::app::registry::protocol(proto);
    let mut sides = Sides { transactional: r.transactional, ..Sides::default() };
    let mut lists = Vec::new();
    let mut best: Option<(usize, PatternSpec, u32)> = None;
    let mut frame = None;
    let mut files = r.app_values.iter().any(|(name, _)| crate::app::files::is_file_keyword(name));
    for (i, b) in r.buffers.iter().enumerate() {
        let (target, local, s, n) = match &b.buffer {
            Buffer::Frame(name) => {
                let ty = frame_of(name, proto).ok_or_else(|| format!("frame {name} in a {} rule", proto.name()))?;
                if frame.is_some_and(|f| f != ty) {
                    return Err("frames of two types".into());
                }
                frame = Some(ty);
                (ListTarget::Frame(ty), 0, Side::Both, Need::NONE)
            }
            // the packet's own buffers are verified on the packet (CompiledRule::pkt_lists)
            Buffer::Packet(_) => continue,
            // inspected by the base64_decode keywords of the lists above (verify)
            Buffer::Base64Data => continue,
            Buffer::Payload => {
                if b.matches.is_empty() {
                    continue;
                }
                // payload keywords of an app rule: the protocol's payload buffer (HTTP: the
                // message as sent), else the packet's payload
                match desc.and_then(|d| d.payload_buffer) {
                    Some(name) => {
                        let id = find_buffer(name, proto).ok_or_else(|| format!("buffer {name}"))?;
                        let d = reg.buffer(id).ok_or_else(|| format!("buffer {name}"))?;
                        (ListTarget::Buffer(id), d.local, Side::Both, d.info.need)
                    }
                    // inspected once the packet's side has its headers (as the HTTP head)
                    None => (ListTarget::Packet, 0, Side::Both, Need::own(2)),
                }
            }
            Buffer::Sticky(name) => {
                let id = find_buffer(name, proto).ok_or_else(|| format!("buffer {name} in a {} rule", proto.name()))?;
                let d = reg.buffer(id).ok_or_else(|| format!("buffer {name}"))?;
                files |= crate::app::files::is_file_keyword(d.info.name);
                (ListTarget::Buffer(id), d.local, d.info.side, d.info.need)
            }
        };
        let forced = b.direction.map(|d| d == Direction::ToServer);
        let bound = sides.add(s, forced, n, list_name(b))?;
        let xf = xform_index(&b.transforms, xf_index, xforms)?;
        let list = list_of(r, i, compiled)?;
        let contents: Vec<&Content> =
            b.matches.iter().filter_map(|m| if let PayloadMatch::Content(c) = m { Some(c) } else { None }).collect();
        // a `=>` rule is inspected with the response: its prefilter is on a response buffer,
        // without one it is verified on each transaction (Suricata prefers a request buffer)
        let prefilter = !r.transactional || bound == Some(false);
        if let (Some(fp), ListTarget::Buffer(_), true) =
            (super::fast_pattern::choose_fast_pattern(&contents), target, prefilter)
        {
            let explicit = contents.iter().any(|c| c.fast_pattern != crate::rule::ast::FastPattern::No);
            let strength = if explicit { u32::MAX } else { super::fast_pattern::pattern_strength(&fp.bytes) };
            if best.as_ref().is_none_or(|(_, _, s)| strength > *s) {
                best = Some((lists.len(), fp, strength));
            }
        }
        lists.push(AppList { target, local, xf, to_server: bound, list });
    }
    let (values, events) = compile_values(r, proto, &mut sides)?;
    let dirs = sides.dirs(r)?;
    if frame.is_some() && lists.iter().any(|l| !matches!(l.target, ListTarget::Frame(_))) {
        return Err("a frame with app-layer buffers".into());
    }
    let fast = best.map(|(i, p, _)| (i, p));
    // They stay for the engine's life: no room left from growing.
    let (lists, values, events) = (lists.into_boxed_slice(), values.into_boxed_slice(), events.into_boxed_slice());
    let need = sides.need;
    Ok((AppRule { rule: 0, proto, dirs, lists, need, values, events, frame, files }, fast))
}

/// The directions of an app rule's keywords and the progress they need, as they are added.
#[derive(Default)]
struct Sides {
    /// A `=>` rule.
    transactional: bool,
    /// The side the keywords agree on so far (not for a `=>` rule).
    side: Option<Side>,
    /// Progress needed per side, for an inspection in each direction.
    need: [[u8; 2]; 2],
    /// A `=>` rule: it has keywords of the request / of the response.
    tx: [bool; 2],
}

impl Sides {
    /// Adds a keyword whose own side is `own`, bound by the rule to `forced` (true: to
    /// server), needing `n`; returns the side it is read from (`None`: the packet's).
    fn add(&mut self, own: Side, forced: Option<bool>, n: Need, what: &str) -> Result<Option<bool>, String> {
        let bound = bind_side(own, forced, self.transactional).map_err(|why| format!("{what}: {why}"))?;
        let n = if self.transactional {
            // inspected with the response: what the keyword needs on its own side
            let d = usize::from(bound == Some(false));
            self.tx[d] = true;
            Need([(d == 0, n.levels(d)[d]); 2])
        } else {
            self.side = join_side(self.side, bound.map_or(own, side_of))
                .map_err(|_| "keywords of both directions".to_string())?;
            n
        };
        for (dir, row) in self.need.iter_mut().enumerate() {
            let l = n.levels(dir);
            row[0] = row[0].max(l[0]);
            row[1] = row[1].max(l[1]);
        }
        Ok(bound)
    }

    /// The directions the rule is inspected in (bit 0: to server, bit 1: to client).
    fn dirs(&self, r: &Rule) -> Result<u8, String> {
        let mut dirs = match self.side {
            Some(Side::ToServer) => 1,
            Some(Side::ToClient) => 2,
            _ => 3,
        };
        if r.flow.to_server {
            dirs &= 1;
        } else if r.flow.to_client {
            dirs &= 2;
        }
        if self.transactional {
            // Suricata's SigConsolidateDirection: keywords of both sides; decided with the
            // response
            if self.tx != [true, true] {
                return Err("a transactional rule (=>) without keywords of both directions".into());
            }
            dirs = 2;
        }
        if dirs == 0 {
            return Err("flow direction contradicts its buffers".into());
        }
        Ok(dirs)
    }
}

/// An app rule's value keywords and transaction events, compiled for `proto`.
fn compile_values(r: &Rule, proto: AppProto, sides: &mut Sides) -> Result<(Vec<AppValue>, Vec<u16>), String> {
    let reg = registry();
    let desc = crate::app::registry::protocol(proto);
    let mut values = Vec::new();
    let mut events = Vec::new();
    for (name, v) in &r.app_values {
        if name == APP_LAYER_EVENT {
            let event = v.split_once('.').map_or("", |(_, e)| e);
            let table = desc.map_or(&[][..], |d| d.events);
            let idx = table.iter().position(|e| e.eq_ignore_ascii_case(event));
            events.push(idx.ok_or_else(|| format!("{name} {v}"))? as u16);
            continue;
        }
        let id = reg
            .values_named(name)
            .iter()
            .copied()
            .find(|&id| reg.value(id).is_some_and(|d| d.proto == proto))
            .ok_or_else(|| format!("{name} in a {} rule", proto.name()))?;
        let d = reg.value(id).ok_or_else(|| format!("keyword {name}"))?;
        // file keywords may name their side first (Suricata's SIGMATCH_SUPPORT_DIR)
        let (forced, v) =
            if crate::app::files::is_file_keyword(name) { split_direction(v) } else { (None, v.as_str()) };
        let given = if v.is_empty() { None } else { Some(v) };
        let arg = (d.info.parse)(given).map_err(|e| format!("{name}: {e}"))?;
        let bound = sides.add(d.info.side, forced, d.info.need, name)?;
        values.push(AppValue { local: d.local, arg: DebugArg(arg), to_server: bound });
    }
    Ok((values, events))
}

/// The side a list or value keyword is read from (true: to server), given its own side and
/// the one the rule binds it to: `None` for the packet's side. In a `=>` rule every keyword
/// must have one (Suricata refuses direction-ambiguous keywords there).
fn bind_side(own: Side, forced: Option<bool>, transactional: bool) -> Result<Option<bool>, &'static str> {
    let bound = match (own, forced) {
        (Side::ToServer, Some(false)) | (Side::ToClient, Some(true)) => return Err("contradictory directions"),
        (_, Some(f)) => Some(f),
        (Side::ToServer, None) if transactional => Some(true),
        (Side::ToClient, None) if transactional => Some(false),
        (_, None) if transactional => return Err("ambiguous direction in a transactional rule (=>)"),
        _ => None,
    };
    Ok(bound)
}

fn side_of(to_server: bool) -> Side {
    if to_server {
        Side::ToServer
    } else {
        Side::ToClient
    }
}

/// A value's leading `to_server` / `to_client` (with its comma), and the rest.
fn split_direction(v: &str) -> (Option<bool>, &str) {
    let t = v.trim_start();
    for (word, ts) in [("to_server", true), ("to_client", false)] {
        if let Some(rest) = t.strip_prefix(word) {
            let rest = rest.trim_start();
            if rest.is_empty() {
                return (Some(ts), rest);
            }
            if let Some(rest) = rest.strip_prefix(',') {
                return (Some(ts), rest.trim());
            }
        }
    }
    (None, v)
}

fn list_name(b: &crate::rule::ast::BufferList) -> &str {
    match &b.buffer {
        Buffer::Sticky(n) | Buffer::Frame(n) => n,
        Buffer::Payload => "payload",
        Buffer::Packet(p) => p.name,
        Buffer::Base64Data => "base64_data",
    }
}

/// The frame type `name` (as a `frame:` keyword writes it) names in protocol `proto`.
pub(crate) fn frame_of(name: &str, proto: AppProto) -> Option<u8> {
    let d = crate::app::registry::protocol(proto)?;
    crate::app::frames::frame_type(d.frames, &|p| AppProto::from_name(p) == Some(proto), name)
}

/// The buffer `name` of protocol `proto`.
fn find_buffer(name: &str, proto: AppProto) -> Option<BufferId> {
    let reg = registry();
    reg.buffers_named(name).iter().copied().find(|&id| reg.buffer(id).is_some_and(|d| d.proto == proto))
}

/// A prefilter database being built: its patterns, the rules per pattern, pattern ids.
type PendingDb = (Vec<PatternSpec>, Vec<Vec<u32>>, HashMap<PatternSpec, u32>);

impl AppSet {
    /// Builds the prefilter databases of compiled app rules (with their fast patterns).
    pub fn build(
        rules: Vec<Compiled>,
        xforms: Vec<Vec<Xform>>,
        engine: Engine,
        cache: Option<&crate::detect::cache::DbCache>,
        errors: &mut Vec<String>,
    ) -> AppSet {
        let mut set = AppSet { xforms, ..AppSet::default() };
        // Kept for the engine's life: exactly sized (grown by doubling, 1.5 MB of ET Open's
        // 5.8 MB were spare room).
        set.rules.reserve_exact(rules.len());
        // (proto, dir) -> (buffer, xf) -> patterns
        let mut pats: HashMap<(AppProto, u8), HashMap<(BufferId, usize), PendingDb>> = HashMap::default();
        for (ar, fast) in rules {
            let idx = set.rules.len() as u32;
            set.by_rule.insert((ar.rule, ar.proto), idx);
            if let Some(ty) = ar.frame {
                set.frame_wants.add(ar.proto, ty);
                for d in (0..2u8).filter(|d| ar.dirs & (1 << d) != 0) {
                    set.frame_groups.entry((ar.proto, d, ty)).or_default().push(ar.rule);
                }
                set.rules.push(ar);
                continue;
            }
            for d in 0..2u8 {
                if ar.dirs & (1 << d) == 0 {
                    continue;
                }
                let g = set.groups.entry((ar.proto, d)).or_default();
                if ar.files {
                    g.files = true;
                    // In bounds: d is 0 or 1.
                    let n = ar.need[usize::from(d)];
                    g.file_need = [g.file_need[0].max(n[0]), g.file_need[1].max(n[1])];
                }
                let fast_list = fast.as_ref().and_then(|(li, p)| ar.lists.get(*li).map(|l| (l, p)));
                match fast_list {
                    Some((l, p)) => {
                        let ListTarget::Buffer(buf) = l.target else { continue };
                        let e = pats.entry((ar.proto, d)).or_default().entry((buf, l.xf)).or_default();
                        let id = match e.2.get(p) {
                            Some(&i) => i,
                            None => {
                                e.0.push(p.clone());
                                e.1.push(Vec::new());
                                let i = (e.0.len() - 1) as u32;
                                e.2.insert(p.clone(), i);
                                i
                            }
                        };
                        // In bounds: e.2 maps to indexes of e.1, which grows with every id handed out.
                        e.1[id as usize].push(ar.rule);
                    }
                    None => g.always.push(ar.rule),
                }
            }
            set.rules.push(ar);
        }
        let reg = registry();
        // Groups with the same patterns and rules share one database. First the plan (which
        // database each buffer of each group takes), then every database compiled at once
        // (`Mpm::build_many`: in parallel), then the groups filled in the planned order.
        let mut job_of: HashMap<(Vec<PatternSpec>, Vec<Vec<u32>>), usize> = HashMap::default();
        let mut jobs: Vec<&(Vec<PatternSpec>, Vec<Vec<u32>>)> = Vec::new();
        let mut plan: Vec<((AppProto, u8), BufDbPlan)> = Vec::new();
        // Stable database order (buffer number, transforms), whatever the hash maps did.
        let mut keys: Vec<(AppProto, u8)> = pats.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let Some(bufs) = pats.remove(&key) else { continue };
            let mut bufs: Vec<_> = bufs.into_iter().collect();
            bufs.sort_unstable_by_key(|((b, x), _)| (*b, *x));
            for ((buffer, xf), (patterns, pattern_rules, _)) in bufs {
                if reg.buffer(buffer).is_none() {
                    continue;
                }
                let n = job_of.len();
                let job = *job_of.entry((patterns, pattern_rules)).or_insert(n);
                plan.push((key, (buffer, xf, job)));
            }
        }
        let mut by_job: Vec<_> = job_of.iter().map(|(k, &j)| (j, k)).collect();
        by_job.sort_unstable_by_key(|&(j, _)| j);
        jobs.extend(by_job.into_iter().map(|(_, k)| k));
        let sets: Vec<&[PatternSpec]> = jobs.iter().map(|(p, _)| p.as_slice()).collect();
        let built: Vec<SharedDb> = Mpm::build_many(engine, &sets, cache)
            .into_iter()
            .zip(&jobs)
            .map(|(m, (patterns, pattern_rules))| {
                let mpm = m.unwrap_or_else(|err| {
                    errors.push(format!("{err}; using the reference matcher for an app-layer buffer"));
                    Mpm::Naive(patterns.clone())
                });
                (Arc::new(mpm), Arc::from(pattern_rules.as_slice()))
            })
            .collect();
        for (key, (buffer, xf, job)) in plan {
            let (Some(def), Some((mpm, pattern_rules))) = (reg.buffer(buffer), built.get(job)) else { continue };
            set.databases += 1;
            let g = set.groups.entry(key).or_default();
            g.dbs.push(BufDb {
                buffer,
                local: def.local,
                need: def.info.need,
                xf,
                mpm: mpm.clone(),
                pattern_rules: pattern_rules.clone(),
            });
        }
        for ((proto, _), g) in set.groups.iter_mut() {
            g.reinspect = crate::app::registry::protocol(*proto).is_some_and(|d| d.reinspect);
        }
        set
    }

    /// The frame rules of (protocol, direction, frame type), in rule order.
    pub fn frame_rules(&self, proto: AppProto, dir: u8, ty: u8) -> &[u32] {
        self.frame_groups.get(&(proto, dir, ty)).map_or(&[], |v| v.as_slice())
    }

    /// Whether any rule inspects frames.
    pub fn has_frame_rules(&self) -> bool {
        !self.frame_groups.is_empty()
    }

    /// The progress a transaction of `proto` needs (per side) before the closed files of
    /// direction `dir` are retired ([`Group::file_need`]); `None` without file rules there.
    pub fn file_need(&self, proto: AppProto, dir: u8) -> Option<[u8; 2]> {
        self.groups.get(&(proto, dir)).filter(|g| g.files).map(|g| g.file_need)
    }

    /// The rules of (protocol, direction), if any.
    pub fn group(&self, proto: AppProto, dir: u8) -> Option<&Group> {
        self.groups.get(&(proto, dir))
    }

    /// Which sides of `proto`'s transactions rules inspect (index 0: to server).
    pub fn sides(&self, proto: AppProto) -> [bool; 2] {
        [self.groups.contains_key(&(proto, 0)), self.groups.contains_key(&(proto, 1))]
    }

    /// The app rule of engine rule `rule` for `proto`.
    pub fn rule(&self, rule: u32, proto: AppProto) -> Option<&AppRule> {
        self.by_rule.get(&(rule, proto)).and_then(|&i| self.rules.get(i as usize))
    }

    /// Per (protocol, direction): rules without a fast pattern, databases, patterns.
    pub fn summary(&self) -> Vec<(AppProto, u8, usize, usize, usize)> {
        let mut v: Vec<_> = self
            .groups
            .iter()
            .map(|(&(p, d), g)| (p, d, g.always.len(), g.dbs.len(), g.dbs.iter().map(|b| b.pattern_rules.len()).sum()))
            .collect();
        v.sort_by_key(|x| (x.0.name(), x.1));
        v
    }

    /// Sizes a worker's matcher scratch for every database.
    pub fn prepare(&self, scratch: &mut crate::detect::matcher::MpmScratch) {
        for g in self.groups.values() {
            for d in &g.dbs {
                let _ = d.mpm.prepare(scratch);
            }
        }
    }
}

/// Calls `f` with each instance of a list's buffer on side `to_server`.
pub(crate) fn for_each_buf(
    l: &AppList,
    tx: &dyn Transaction,
    to_server: bool,
    f: &mut dyn FnMut(&[u8]) -> bool,
) -> bool {
    tx.buffer(l.local, to_server, f)
}

/// Evaluates the rule's value keywords and events on a transaction; `now` is the packet
/// time (seconds).
pub(crate) fn values_hold(ar: &AppRule, tx: &dyn Transaction, to_server: bool, now: i64) -> bool {
    ar.events.iter().all(|e| tx.events().contains(e))
        && ar.values.iter().all(|v| tx.value(v.local, &v.arg.0, v.to_server.unwrap_or(to_server), now))
}
