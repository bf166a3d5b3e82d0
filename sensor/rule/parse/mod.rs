//! One rule's text to a typed [`Rule`], following Suricata's `detect-parse.c`: the header
//! (in [`header`]), the options split and dispatched through the keyword table
//! ([`crate::rule::keywords`]: each keyword's own setup function reads its value into the
//! [`Builder`]), then the whole-rule checks and the finished [`Rule`].
//!
//! Semantics kept from Suricata (each named where it is implemented):
//! - options are split at `;` not preceded by `\`; the name ends at the first `:`; values are
//!   trimmed, `!` is read before the quotes of keywords that take a negation, quotes are
//!   stripped; `content`, `uricontent` and `msg` must be quoted;
//! - content modifiers apply to the last content of the current sticky buffer, or, outside a
//!   sticky buffer, to the last content of the rule; legacy modifiers (`http_uri`, ...) move
//!   the last content of the payload list, with its modifiers, to their buffer;
//! - relative `byte_*` / `isdataat` outside a sticky buffer go to the list of the previous
//!   match; `pcre:/R` outside a sticky buffer needs a previous content or pcre in its list;
//!   `distance`/`within` without a previous match are relative to the buffer start;
//! - a rule is at most 8 KiB ([`MAX_RULE_SIZE`]).
//!
//! Differences, on purpose: the options must be enclosed in `(` `)` (Suricata also accepts a
//! missing parenthesis).

pub(crate) mod header;
pub(crate) mod numbers;
pub(crate) mod requires;
#[cfg(test)]
pub(crate) mod testing;

use std::collections::HashMap;

use super::ast::*;
use super::classification::Classifications;
use super::keywords::{Arg, Keywords, Setup};
use super::vars::{VarError, Vars};
use super::{ErrorKind, RuleError};
use crate::rule::VarsConfig;
use header::{app_compatible, split_rule, Header};

/// Longest rule Suricata reads (`DETECT_MAX_RULE_SIZE`), continuation lines included.
pub(crate) const MAX_RULE_SIZE: usize = 8192;

/// Tables shared by the rules of a set: variables, classtypes, reference types and the
/// flowbit names interned so far.
#[derive(Debug, Clone)]
pub struct ParseContext {
    pub(crate) vars: Vars,
    pub(crate) classes: Classifications,
    pub(crate) references: HashMap<String, String>,
    flowbit_names: Vec<String>,
    flowbit_ids: HashMap<String, u32>,
    /// `flowint` variable names.
    pub(crate) flowints: Interner,
    /// `hostbits` / `xbits` names.
    pub(crate) xbits: Interner,
    /// File of the rule being parsed (recorded in [`Rule::origin`] and errors).
    pub(crate) file: std::sync::Arc<str>,
    /// Line of the rule being parsed (its first line), 1-based.
    pub(crate) line: usize,
}

impl ParseContext {
    /// Variables from the config, Suricata's built-in classification table, no reference
    /// types.
    pub fn new(vars: &VarsConfig) -> ParseContext {
        ParseContext::with_tables(vars, Classifications::builtin(), HashMap::new())
    }

    /// Variables, classtypes and reference types (type, lowercase -> URL prefix).
    pub(crate) fn with_tables(
        vars: &VarsConfig,
        classes: Classifications,
        references: HashMap<String, String>,
    ) -> ParseContext {
        ParseContext {
            vars: Vars::new(vars),
            classes,
            references,
            flowbit_names: Vec::new(),
            flowbit_ids: HashMap::new(),
            flowints: Interner::default(),
            xbits: Interner::default(),
            file: "".into(),
            line: 0,
        }
    }

    /// Sets the origin recorded for the next rules.
    pub fn set_origin(&mut self, file: &str, line: usize) {
        if &*self.file != file {
            self.file = file.into();
        }
        self.line = line;
    }

    /// The flowbit and flowint names interned so far (what `Flowbit::bits` and `Flowint::var`
    /// index).
    pub(crate) fn into_var_names(self) -> crate::rule::VarNames {
        crate::rule::VarNames { flowbits: self.flowbit_names, flowints: self.flowints.names }
    }

    fn intern_flowbit(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.flowbit_ids.get(name) {
            return i;
        }
        let i = self.flowbit_names.len() as u32;
        self.flowbit_names.push(name.to_string());
        self.flowbit_ids.insert(name.to_string(), i);
        i
    }

    fn error(&self, sid: Option<u32>, e: PErr) -> RuleError {
        RuleError { file: self.file.to_string(), line: self.line, sid, kind: e.kind, message: e.msg }
    }
}

/// Names of a rule set's variables of one kind, numbered in the order first seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Interner {
    /// The number of `name`, given one when new.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.ids.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), i);
        i
    }
}

/// A parse failure before file, line and sid are attached.
#[derive(Debug, Clone)]
pub(crate) struct PErr {
    pub(crate) kind: ErrorKind,
    pub(crate) msg: String,
}

pub(crate) type PResult<T> = Result<T, PErr>;

pub(crate) fn syntax(msg: impl Into<String>) -> PErr {
    PErr { kind: ErrorKind::Syntax, msg: msg.into() }
}

/// A bad value for keyword `kw`; the message reads `kw: why`.
pub(crate) fn bad(kw: &str, why: impl std::fmt::Display) -> PErr {
    PErr { kind: ErrorKind::BadValue(kw.to_string()), msg: format!("{kw}: {why}") }
}

pub(crate) fn var_err(what: &str, e: VarError) -> PErr {
    let msg = format!("{what}: {e}");
    match e {
        VarError::Undefined(v) => PErr { kind: ErrorKind::UndefinedVariable(v), msg },
        VarError::Circular(v) => PErr { kind: ErrorKind::CircularVariable(v), msg },
        VarError::Bad(_) => PErr { kind: ErrorKind::BadValue(what.to_string()), msg },
    }
}

/// Parses one rule with the keyword table `keywords`. The origin (file, line) is taken from
/// `ctx`; flowbit names of a rule that parses are interned into `ctx`.
pub fn parse_rule(text: &str, keywords: &Keywords, ctx: &mut ParseContext) -> Result<Rule, RuleError> {
    if text.len() > MAX_RULE_SIZE {
        return Err(ctx.error(None, syntax(format!("rule is longer than {MAX_RULE_SIZE} bytes"))));
    }
    let (header, body) = match split_rule(text) {
        Ok(x) => x,
        Err(e) => return Err(ctx.error(None, e)),
    };
    let options = match split_options(body) {
        Ok(o) => o,
        Err(e) => return Err(ctx.error(None, e)),
    };
    // The sid, for error messages about keywords before it.
    let sid_hint = options
        .iter()
        .rev()
        .find(|o| o.name.eq_ignore_ascii_case("sid"))
        .and_then(|o| o.value.and_then(|v| super::keywords::meta::parse_sid(unquote(v)).ok()));
    // Suricata checks `requires` first: a rule whose requirements are not met is skipped
    // whatever else it holds.
    let reqs: Vec<&str> =
        options.iter().filter(|o| o.name.eq_ignore_ascii_case("requires")).filter_map(|o| o.value).collect();
    if !reqs.is_empty() {
        match requires::unmet(&reqs, keywords) {
            Ok(None) => {}
            Ok(Some(why)) => {
                let msg = format!(
                    "skipped: {why} (Suricata version {}.{}.{})",
                    requires::SURICATA_VERSION.0,
                    requires::SURICATA_VERSION.1,
                    requires::SURICATA_VERSION.2
                );
                return Err(ctx.error(sid_hint, PErr { kind: ErrorKind::Unsupported(why), msg }));
            }
            Err(e) => return Err(ctx.error(sid_hint, PErr { kind: ErrorKind::BadValue("requires".into()), msg: e })),
        }
    }
    match build_rule(header, &options, keywords, ctx) {
        Ok(b) => Ok(b.finish(ctx)),
        Err(e) => Err(ctx.error(sid_hint, e)),
    }
}

/// One `name[:value]` option.
#[derive(Debug, Clone, Copy)]
struct Opt<'a> {
    name: &'a str,
    value: Option<&'a str>,
}

/// Splits the option text at `;` not preceded by `\` (Suricata's `SigParseOptions`).
fn split_options(body: &str) -> PResult<Vec<Opt<'_>>> {
    let mut out = Vec::new();
    let bytes = body.as_bytes();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b';') && (i == start || bytes.get(i.wrapping_sub(1)) != Some(&b'\\')) {
            let opt = body.get(start..i).unwrap_or("");
            out.push(split_option(opt)?);
            start = i + 1;
        }
        i += 1;
    }
    let tail = body.get(start..).unwrap_or("").trim();
    if !tail.is_empty() {
        let name = tail.split(':').next().unwrap_or(tail).trim();
        return Err(syntax(format!("option '{}' has no terminating ';'", shorten(name))));
    }
    if out.is_empty() {
        return Err(syntax("the rule has no options"));
    }
    Ok(out)
}

fn split_option(opt: &str) -> PResult<Opt<'_>> {
    let opt = opt.trim_start_matches([' ', '\t']);
    let (name, value) = match opt.split_once(':') {
        Some((n, v)) => (n.trim_end(), Some(v.trim())),
        None => (opt.trim_end(), None),
    };
    if name.is_empty() {
        return Err(syntax("empty option (a stray ';'?)"));
    }
    Ok(Opt { name, value })
}

/// At most 40 characters of `s`, for messages.
pub(crate) fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).filter(|c| !c.is_control()).collect();
    if s.len() > out.len() {
        out.push_str("...");
    }
    out
}

/// Strips one pair of enclosing double quotes.
pub(crate) fn unquote(v: &str) -> &str {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v.get(1..v.len() - 1).unwrap_or(v)
    } else {
        v
    }
}

/// A value with its `!` (for keywords that take a negation) and quotes handled as Suricata's
/// option parser does. `mandatory`: the value must be quoted.
pub(crate) fn quoted_value<'a>(kw: &str, v: &'a str, negation: bool, mandatory: bool) -> PResult<(bool, &'a str)> {
    let mut v = v.trim();
    let mut neg = false;
    if negation {
        if let Some(r) = v.strip_prefix('!') {
            neg = true;
            v = r.trim_start();
        }
    }
    if v.starts_with('"') {
        if v.len() < 2 || !v.ends_with('"') {
            return Err(bad(kw, "unbalanced quotes (or a missing ';')"));
        }
        let inner = v.get(1..v.len() - 1).unwrap_or("");
        if inner.is_empty() {
            return Err(bad(kw, "empty value"));
        }
        return Ok((neg, inner));
    }
    if mandatory {
        return Err(bad(kw, "value must be double quoted"));
    }
    if v.is_empty() {
        return Err(bad(kw, "empty value"));
    }
    Ok((neg, v))
}

/// `!` before a value: (negated, the rest), trimmed.
pub(crate) fn bang(s: &str) -> (bool, &str) {
    match s.trim().strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, s.trim()),
    }
}

/// One payload-inspection list under construction; items carry their order in the rule.
#[derive(Debug, Clone)]
pub(crate) struct WorkList {
    pub(crate) buffer: Buffer,
    pub(crate) transforms: Vec<Transform>,
    pub(crate) items: Vec<(u32, PayloadMatch)>,
    pub(crate) direction: Option<Direction>,
}

/// `flowbits` before the names are interned.
#[derive(Debug, Clone)]
pub(crate) struct PendingFlowbit {
    pub(crate) cmd: FlowbitCmd,
    pub(crate) names: Vec<String>,
    pub(crate) join: FlowbitJoin,
}

/// A `app-layer-protocol` keyword, for the conflict checks.
#[derive(Debug, Clone)]
pub(crate) struct AlProtoKw {
    pub(crate) names: String,
    pub(crate) negated: bool,
    pub(crate) mode: AppProtoMode,
}

/// Rule state while its options are read.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub(crate) action: Option<Action>,
    pub(crate) proto: Option<RuleProto>,
    pub(crate) src: AddrSet,
    pub(crate) src_ports: PortSet,
    pub(crate) bidirectional: bool,
    pub(crate) transactional: bool,
    pub(crate) flow_start: bool,
    pub(crate) dst: AddrSet,
    pub(crate) dst_ports: PortSet,
    pub(crate) lists: Vec<WorkList>,
    /// Current sticky list; `None`: the payload (no sticky buffer).
    pub(crate) cur: Option<usize>,
    pub(crate) seq: u32,
    pub(crate) var_names: Vec<String>,
    /// App-layer protocol of the rule: the header's, else the first buffer's.
    pub(crate) alproto: Option<String>,
    pub(crate) sid: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) rev: Option<u32>,
    pub(crate) msg: Option<String>,
    pub(crate) classtype: Option<(String, String, u8)>,
    pub(crate) priority: Option<u8>,
    pub(crate) metadata: Vec<(String, Vec<String>)>,
    pub(crate) references: Vec<(String, String)>,
    pub(crate) target: Option<Target>,
    pub(crate) flow: Option<FlowOpts>,
    pub(crate) flow_full: bool,
    pub(crate) flowbits: Vec<PendingFlowbit>,
    pub(crate) noalert: bool,
    pub(crate) threshold: Option<Threshold>,
    pub(crate) detection_filter: Option<Threshold>,
    pub(crate) packet: Vec<PacketMatch>,
    pub(crate) alprotos: Vec<AlProtoKw>,
    pub(crate) ignored: Vec<&'static str>,
    pub(crate) untyped: Option<String>,
    pub(crate) app_values: Vec<(String, String)>,
    /// `flowint` with its names not yet numbered: (name, op, value, value's name).
    pub(crate) flowints: Vec<(String, FlowintOp, FlowintValue, Option<String>)>,
    /// `hostbits` / `xbits` with the name not yet numbered.
    pub(crate) xbits: Vec<(String, Xbit)>,
    /// `iprep`, categories by name.
    pub(crate) iprep: Vec<Iprep>,
}

/// What a keyword's setup may read besides its value: the keyword table (the protocol of a
/// buffer named by a legacy modifier or a pcre flag) and the rule set's tables.
pub(crate) struct Env<'a> {
    /// The keyword table the rule is read with.
    pub(crate) keywords: &'a Keywords,
    /// Classtypes, reference types.
    pub(crate) ctx: &'a ParseContext,
}

fn build_rule(h: Header<'_>, options: &[Opt<'_>], keywords: &Keywords, ctx: &mut ParseContext) -> PResult<Builder> {
    let mut b = Builder::default();
    b.header(&h, ctx)?;
    let env = Env { keywords, ctx };
    for o in options {
        b.option(o, &env)?;
    }
    b.validate()?;
    if let Some(kw) = &b.untyped {
        return Err(PErr {
            kind: ErrorKind::Unsupported(format!("keyword {kw}")),
            msg: format!("{kw}: keyword not supported yet"),
        });
    }
    if b.sid.is_none() {
        return Err(PErr { kind: ErrorKind::MissingSid, msg: "the rule has no sid".into() });
    }
    Ok(b)
}

impl Builder {
    /// One option: its row in the keyword table, its value checked against the row's form,
    /// then the row's setup.
    fn option(&mut self, o: &Opt<'_>, env: &Env<'_>) -> PResult<()> {
        let Some((name, kw)) = env.keywords.lookup(o.name) else {
            return Err(PErr {
                kind: ErrorKind::UnknownKeyword(shorten(o.name)),
                msg: format!("unknown keyword '{}'", shorten(o.name)),
            });
        };
        let value = o.value.filter(|v| !v.is_empty());
        match (kw.arg, value) {
            (Arg::None, Some(_)) => return Err(bad(name, "takes no value")),
            (Arg::Required, None) => return Err(bad(name, "needs a value")),
            _ => {}
        }
        match kw.setup {
            Setup::Untyped => {
                if self.untyped.is_none() {
                    self.untyped = Some(name.to_string());
                }
                Ok(())
            }
            Setup::Ignored => {
                self.ignored.push(kw.name);
                Ok(())
            }
            Setup::AppValue => {
                let v = value.unwrap_or("");
                self.app_values.push((kw.name.to_string(), v.trim().trim_matches('"').to_string()));
                Ok(())
            }
            Setup::Rule(setup) => setup(self, env, name, value),
            Setup::Header { parse, test, once } => self.header_keyword(name, kw.name, value, parse, test, once),
            Setup::Sticky { multi } => self.sticky(name, kw.name, multi, kw.proto, value),
            Setup::PacketSticky { get } => {
                self.select(name, Buffer::Packet(PacketBuffer { name: kw.name, get }), false)
            }
            Setup::Legacy { buffer } => self.legacy(name, buffer, env.keywords),
        }
    }
}

/// Where a payload keyword goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// The current sticky list, else the payload list.
    Current,
    /// The list of the previous match (relative keywords outside a sticky buffer).
    PrevMatch,
}

impl Builder {
    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// The payload list, created on first use.
    pub(crate) fn payload_list(&mut self) -> usize {
        if let Some(i) = self.lists.iter().position(|l| l.buffer == Buffer::Payload) {
            return i;
        }
        self.lists.push(WorkList {
            buffer: Buffer::Payload,
            transforms: Vec::new(),
            items: Vec::new(),
            direction: None,
        });
        self.lists.len() - 1
    }

    /// The list of a buffer without transforms (legacy modifiers, pcre buffer flags, `urilen`),
    /// reused when it exists. The buffer's protocol comes from its row in `keywords`.
    pub(crate) fn buffer_list(&mut self, keywords: &Keywords, kw: &str, buffer: &str) -> PResult<usize> {
        self.claim_app(kw, buffer, keywords.buffer_proto(buffer))?;
        let b = Buffer::Sticky(buffer.to_string());
        if let Some(i) =
            self.lists.iter().position(|l| l.buffer == b && l.transforms.is_empty() && l.direction.is_none())
        {
            return Ok(i);
        }
        self.lists.push(WorkList { buffer: b, transforms: Vec::new(), items: Vec::new(), direction: None });
        Ok(self.lists.len() - 1)
    }

    /// Records the app-layer protocol `app` that buffer `buffer` belongs to; a second,
    /// different one is an error (Suricata: "rule contains conflicting alprotos").
    pub(crate) fn claim_app(&mut self, kw: &str, buffer: &str, app: Option<&str>) -> PResult<()> {
        let Some(app) = app else {
            return Ok(());
        };
        match &self.alproto {
            None => {
                self.alproto = Some(app.to_string());
                Ok(())
            }
            Some(have) if app_compatible(have, app) || app_compatible(app, have) => Ok(()),
            Some(have) => Err(bad(kw, format!("buffer {buffer} is for {app}, the rule is for {have}"))),
        }
    }

    /// Index of the list a new payload keyword goes to.
    pub(crate) fn target_list(&mut self, t: Place) -> usize {
        if let Some(i) = self.cur {
            return i;
        }
        if t == Place::PrevMatch {
            if let Some((li, _)) = self.last_item(|m| {
                matches!(
                    m,
                    PayloadMatch::Content(_)
                        | PayloadMatch::Pcre(_)
                        | PayloadMatch::ByteTest(_)
                        | PayloadMatch::ByteJump(_)
                        | PayloadMatch::ByteExtract(_)
                        | PayloadMatch::ByteMath(_)
                )
            }) {
                return li;
            }
        }
        self.payload_list()
    }

    /// The most recent item of the rule (all lists) for which `f` holds: (list, index).
    pub(crate) fn last_item(&self, f: impl Fn(&PayloadMatch) -> bool) -> Option<(usize, usize)> {
        let mut best: Option<(u32, usize, usize)> = None;
        for (li, l) in self.lists.iter().enumerate() {
            for (ii, (seq, m)) in l.items.iter().enumerate() {
                if f(m) && best.is_none_or(|(s, _, _)| *seq > s) {
                    best = Some((*seq, li, ii));
                }
            }
        }
        best.map(|(_, li, ii)| (li, ii))
    }

    pub(crate) fn push(&mut self, list: usize, m: PayloadMatch) {
        let seq = self.next_seq();
        if let Some(l) = self.lists.get_mut(list) {
            l.items.push((seq, m));
        }
    }

    /// The content a modifier applies to: the last content of the current sticky list, or,
    /// outside a sticky buffer, the last content of the rule (Suricata's
    /// `DetectGetLastSMFromLists`). Returns (list, index).
    pub(crate) fn modifier_target(&self, kw: &str) -> PResult<(usize, usize)> {
        let found = match self.cur {
            Some(li) => self.lists.get(li).and_then(|l| {
                l.items.iter().rposition(|(_, m)| matches!(m, PayloadMatch::Content(_))).map(|ii| (li, ii))
            }),
            None => self.last_item(|m| matches!(m, PayloadMatch::Content(_))),
        };
        found.ok_or_else(|| bad(kw, "needs a preceding content in the same buffer"))
    }

    pub(crate) fn content_at(&mut self, at: (usize, usize)) -> Option<&mut Content> {
        match self.lists.get_mut(at.0).and_then(|l| l.items.get_mut(at.1)) {
            Some((_, PayloadMatch::Content(c))) => Some(c),
            _ => None,
        }
    }

    /// The content or pcre before `at` in its list.
    pub(crate) fn prev_match(&self, at: (usize, usize)) -> Option<&PayloadMatch> {
        let l = self.lists.get(at.0)?;
        l.items
            .get(..at.1)?
            .iter()
            .rev()
            .map(|(_, m)| m)
            .find(|m| matches!(m, PayloadMatch::Content(_) | PayloadMatch::Pcre(_)))
    }

    /// A `byte_extract` / `byte_math` variable by name.
    pub(crate) fn var_slot(&self, name: &str) -> Option<u8> {
        self.var_names.iter().rposition(|n| n == name).map(|i| i as u8)
    }

    pub(crate) fn new_var(&mut self, kw: &str, name: &str) -> PResult<u8> {
        if self.var_names.len() >= MAX_VARS {
            return Err(bad(kw, format!("more than {MAX_VARS} byte_extract/byte_math variables in the rule")));
        }
        self.var_names.push(name.to_string());
        Ok((self.var_names.len() - 1) as u8)
    }

    /// A number or a variable name (a value starting with a letter), as the content
    /// modifiers and byte keywords take them.
    pub(crate) fn num_or_var(&self, kw: &str, v: &str, lit: impl Fn(&str) -> Option<i64>) -> PResult<Num> {
        let v = v.trim();
        if v.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return self
                .var_slot(v)
                .map(Num::Var)
                .ok_or_else(|| bad(kw, format!("unknown byte_extract/byte_math variable '{}'", shorten(v))));
        }
        lit(v).map(Num::Lit).ok_or_else(|| bad(kw, format!("invalid value '{}'", shorten(v))))
    }
}

pub(crate) fn buffer_name(b: &Buffer) -> &str {
    match b {
        Buffer::Payload => "payload",
        Buffer::Sticky(n) | Buffer::Frame(n) => n,
        Buffer::Packet(p) => p.name,
        Buffer::Base64Data => "base64_data",
    }
}

/// Largest value a comparison can accept, when it has one.
fn cmp_max(n: &NumCmp) -> Option<u64> {
    match *n {
        NumCmp::Eq(v) | NumCmp::Le(v) => Some(v),
        NumCmp::Lt(v) => Some(v.saturating_sub(1)),
        NumCmp::Range(_, b) => Some(b.saturating_sub(1)),
        _ => None,
    }
}

/// Bytes a list certainly needs: the longest absolute content end (offset + length), or
/// the longest relative content. Kept low so that no rule that could match is refused.
fn required_size(items: &[(u32, PayloadMatch)]) -> u64 {
    items
        .iter()
        .filter_map(|(_, m)| match m {
            PayloadMatch::Content(c) if !c.negated => {
                let len = c.pattern.len() as u64;
                Some(match (c.is_relative(), c.offset) {
                    (false, Some(Num::Lit(o))) if o > 0 => len.saturating_add(o as u64),
                    _ => len,
                })
            }
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

impl Builder {
    /// Whole-rule checks, after the last option (Suricata's `SigValidate` and the buffer
    /// validation callbacks).
    fn validate(&self) -> PResult<()> {
        for l in &self.lists {
            let name = match &l.buffer {
                Buffer::Sticky(name) | Buffer::Frame(name) => name.as_str(),
                Buffer::Packet(p) => p.name,
                Buffer::Base64Data => "base64_data",
                Buffer::Payload => continue,
            };
            if l.items.is_empty() {
                return Err(bad(name, "sticky buffer without matches"));
            }
            let contents = l.items.iter().filter_map(|(_, m)| match m {
                PayloadMatch::Content(c) => Some(c),
                _ => None,
            });
            if l.transforms.is_empty() {
                match name {
                    "http.host" => {
                        for c in contents {
                            if !c.nocase && c.pattern.iter().any(u8::is_ascii_uppercase) {
                                return Err(bad(
                                    name,
                                    "a pattern with uppercase characters; the host buffer is lowercase",
                                ));
                            }
                        }
                    }
                    "http.method" => {
                        for c in contents {
                            let edge = |b: Option<&u8>| matches!(b, Some(b' ') | Some(b'\t'));
                            if edge(c.pattern.first()) || edge(c.pattern.last()) {
                                return Err(bad(name, "a method pattern with a leading or trailing space"));
                            }
                        }
                    }
                    "ja3.hash" | "ja3s.hash" => {
                        for c in contents {
                            let ok = c.pattern.len() == 32
                                && c.pattern.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
                            if !ok {
                                return Err(bad(name, "a JA3 hash must be 32 lowercase hex characters"));
                            }
                        }
                    }
                    _ => {}
                }
            }
            for (_, m) in &l.items {
                if let PayloadMatch::Bsize(n) = m {
                    if let Some(max) = cmp_max(n) {
                        let need = required_size(&l.items);
                        if need > max {
                            return Err(bad(
                                "bsize",
                                format!("the rule can't match: content needs {need} bytes, bsize allows {max}"),
                            ));
                        }
                    }
                }
            }
        }
        if self.detection_filter.is_some_and(|d| d.unique_on.is_some()) {
            let ported = self.proto.as_ref().is_some_and(|p| {
                matches!(p.transport, Transport::Tcp | Transport::Udp | Transport::Sctp) || p.app.is_some()
            });
            if !ported {
                return Err(bad("detection_filter", "unique_on needs a tcp, udp or sctp rule"));
            }
        }
        // Suricata's SigConsolidateDirection / DetectFlowSetup: a `=>` rule takes its
        // directions from its keywords
        if self.transactional && self.flow.is_some_and(|f| f.to_server || f.to_client) {
            return Err(bad("flow", "a transactional rule (=>) cannot name a flow direction"));
        }
        if self.proto.as_ref().is_some_and(|p| p.layer == ProtoLayer::Pkthdr) && !self.decoder_events_only() {
            return Err(bad("protocol", "'pkthdr' is for decoder-event rules only"));
        }
        let dsize = self.packet.iter().find_map(|m| match m {
            PacketMatch::Dsize(n) => cmp_max(n),
            _ => None,
        });
        if let (Some(max), Some(l)) = (dsize, self.lists.iter().find(|l| l.buffer == Buffer::Payload)) {
            let need = required_size(&l.items);
            if need > max {
                return Err(bad(
                    "dsize",
                    format!("the rule can't match: content needs {need} bytes, dsize allows {max}"),
                ));
            }
        }
        Ok(())
    }

    /// Suricata's decoder-event-only rule: `decode-event` keywords and nothing else that
    /// inspects the packet (flowbits and thresholds allowed).
    fn decoder_events_only(&self) -> bool {
        let de = |m: &PacketMatch| matches!(m, PacketMatch::Header(h) if h.keyword == "decode-event");
        self.lists.iter().all(|l| l.items.is_empty())
            && self.alproto.is_none()
            && self.app_values.is_empty()
            && self.flow.is_none()
            && !self.packet.is_empty()
            && self.packet.iter().all(de)
    }

    fn finish(self, ctx: &mut ParseContext) -> Rule {
        let flowbits = self
            .flowbits
            .iter()
            .map(|f| Flowbit {
                cmd: f.cmd,
                bits: f.names.iter().map(|n| ctx.intern_flowbit(n)).collect(),
                join: f.join,
            })
            .collect();
        let flowints = self
            .flowints
            .iter()
            .map(|(name, op, value, other)| Flowint {
                var: ctx.flowints.intern(name),
                op: *op,
                value: match other {
                    Some(o) => FlowintValue::Var(ctx.flowints.intern(o)),
                    None => *value,
                },
            })
            .collect();
        let xbits = self
            .xbits
            .iter()
            .map(|(name, x)| {
                // host bits and pair bits are separate name spaces, as in Suricata
                let key = if x.track == XbitTrack::Pair { format!("pair:{name}") } else { format!("host:{name}") };
                Xbit { var: ctx.xbits.intern(&key), ..*x }
            })
            .collect();
        let (classtype, category, class_prio) = match self.classtype {
            Some((name, desc, prio)) => (Some(name), Some(desc), Some(prio)),
            None => (None, None, None),
        };
        let buffers = self
            .lists
            .into_iter()
            .filter(|l| !l.items.is_empty() || l.buffer != Buffer::Payload)
            .map(|l| BufferList {
                buffer: l.buffer,
                transforms: l.transforms,
                matches: l.items.into_iter().map(|(_, m)| m).collect(),
                direction: l.direction,
            })
            .collect();
        Rule {
            action: self.action.unwrap_or(Action::Alert),
            proto: self.proto.unwrap_or(RuleProto {
                transport: Transport::Ip,
                tcp_mode: TcpMode::Both,
                app: None,
                layer: ProtoLayer::Any,
            }),
            src: self.src,
            src_ports: self.src_ports,
            bidirectional: self.bidirectional,
            transactional: self.transactional,
            flow_start: self.flow_start,
            dst: self.dst,
            dst_ports: self.dst_ports,
            sid: self.sid.unwrap_or(0),
            gid: self.gid.unwrap_or(1),
            rev: self.rev.unwrap_or(0),
            msg: self.msg.unwrap_or_default(),
            classtype,
            priority: self.priority.or(class_prio).unwrap_or(3),
            category,
            metadata: self.metadata,
            references: self.references,
            target: self.target,
            flow: self.flow.unwrap_or_default(),
            flowbits,
            noalert: self.noalert,
            flowints,
            xbits,
            iprep: self.iprep,
            threshold: self.threshold,
            detection_filter: self.detection_filter,
            packet: self.packet,
            buffers,
            vars: self.var_names.len() as u8,
            ignored_keywords: self.ignored,
            app_values: self.app_values,
            origin: Origin { file: ctx.file.clone(), line: ctx.line },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn option_splitting_and_escapes() {
        let r = ok(r#"msg:"a \"q\" \; b\:c \\ d"; content:"x\;y\"z\:\\";"#);
        assert_eq!(r.msg, r#"a "q" ; b:c \ d"#);
        assert_eq!(first_content(&r, "payload").pattern, br#"x;y"z:\"#.to_vec());
        // Spaces around names and values.
        let r = ok(r#"  msg : "m" ;content:  "a" ; nocase ;"#);
        assert!(first_content(&r, "payload").nocase);
        // A ';' inside quotes ends the option, as in Suricata.
        bad_value(r#"content:"a;b";"#, "content");
        assert_eq!(p(r#"alert ip any any -> any any (msg:"x"; sid:1)"#).unwrap_err().kind, ErrorKind::Syntax);
        assert_eq!(err(";").kind, ErrorKind::Syntax);
    }

    #[test]
    fn unknown_and_unsupported_keywords() {
        let e = err("frobnicate:1;");
        assert_eq!(e.kind, ErrorKind::UnknownKeyword("frobnicate".into()));
        assert_eq!(e.sid, Some(1));
        let e = err("lua:x.lua;");
        assert_eq!(e.kind, ErrorKind::Unsupported("keyword lua".into()));
        // A real error elsewhere in the rule wins over an unsupported keyword.
        let e = err(r#"lua:x.lua; content:"|1|";"#);
        assert_eq!(e.kind, ErrorKind::BadValue("content".into()));
        // Keyword names are case-insensitive; values of no-value keywords are refused.
        assert!(opts(r#"CONTENT:"a"; NoCase;"#).is_ok());
        bad_value(r#"content:"a"; nocase:1;"#, "nocase");
        bad_value("content;", "content");
    }

    #[test]
    fn bad_input_does_not_panic() {
        // Unbalanced quotes and parentheses.
        assert!(opts(r#"msg:"abc; content:"x";"#).is_err());
        assert!(p(r#"alert tcp any any -> any any (msg:"a"; sid:1;"#).is_err());
        assert!(p(r#"alert tcp any any -> any any msg:"a"; sid:1;)"#).is_err());
        assert!(p("alert tcp any any -> any any (sid:1;) trailing").is_err());
        assert!(p("alert tcp [1.1.1.1 any -> any any (sid:1;)").is_err());
        // Bad numbers.
        bad_value("depth:99999999999999999999;", "depth");
        bad_value("ttl:99999999999999999999;", "ttl");
        // A 1 MB rule.
        let huge = format!(r#"alert tcp any any -> any any (content:"{}"; sid:1;)"#, "A".repeat(1 << 20));
        let e = p(&huge).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Syntax);
        // Binary garbage, truncated rules, odd characters: errors, never panics.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet: &[u8] =
            b"alert tcp any->()[]!$:;,\"\\|/ 0123456789abcdefxyz\x00\xff\xc3\xa9content:pcre:sid:byte_test:flow:";
        for n in 0..3000 {
            let len = (n % 200) + 1;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let s = String::from_utf8_lossy(&bytes);
            let _ = p(&s);
            let _ = opts(&s);
        }
        let base = r#"alert http $HOME_NET any -> $EXTERNAL_NET [80,443] (msg:"m \"x\""; flow:established,to_server; http.uri; content:"|41 42|c"; nocase; depth:10; pcre:"/a(b)c/Ui"; byte_test:2,>,1,0,relative; threshold:type limit,track by_src,count 1,seconds 1; flowbits:set,a|b; sid:1; rev:1;)"#;
        for i in 0..base.len() {
            if let Some(t) = base.get(..i) {
                let _ = p(t);
            }
            if let Some(t) = base.get(i..) {
                let _ = p(t);
            }
        }
        assert_eq!(p("").unwrap_err().kind, ErrorKind::Syntax);
        assert_eq!(p("\u{0}\u{1}\u{2}\u{ff}").unwrap_err().kind, ErrorKind::Syntax);
    }

    #[test]
    fn error_messages_name_file_line_sid_keyword() {
        let mut c = ctx();
        c.set_origin("rules/x.rules", 12);
        let e =
            parse_rule(r#"alert tcp any any -> any any (content:"|4|"; sid:2001;)"#, keywords(), &mut c).unwrap_err();
        assert_eq!(e.to_string(), "rules/x.rules:12: sid 2001: content: odd number of hex digits");
        let e =
            parse_rule(r#"alert tcp any any -> any any (content:"|41"; sid:2001;)"#, keywords(), &mut c).unwrap_err();
        assert_eq!(e.to_string(), "rules/x.rules:12: sid 2001: content: unbalanced '|' in hex");
    }
}
