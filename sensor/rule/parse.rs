//! Rule text to [`Rule`]: the loader (files, folders, line continuations, configs) and the
//! parser of one rule, following Suricata's `detect-parse.c` and the keyword setups.
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
//! - lines starting with `#`, a space or a tab are skipped; a line ending with `\` continues
//!   on the next; a rule is at most 8 KiB ([`MAX_RULE_SIZE`]).
//!
//! Differences, on purpose: the options must be enclosed in `(` `)` (Suricata also accepts a
//! missing parenthesis); a duplicate gid:sid keeps the first rule (Suricata keeps the higher
//! rev).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::ast::*;
use super::classification::{parse_references, Classifications};
use super::keywords::{self, Arg, Kind};
use super::vars::{VarError, Vars};
use super::VarsConfig;
use super::{ErrorKind, RuleError, RuleSet};

/// Longest rule Suricata reads (`DETECT_MAX_RULE_SIZE`), continuation lines included.
pub const MAX_RULE_SIZE: usize = 8192;

/// Most transforms on one buffer (`DETECT_TRANSFORMS_MAX`).
const MAX_TRANSFORMS: usize = 16;

/// Longest content pattern (Suricata keeps the length in 16 bits).
const MAX_CONTENT: usize = 65535;

/// Tables shared by the rules of a set: variables, classtypes, reference types and the
/// flowbit names interned so far.
#[derive(Debug, Clone)]
pub struct ParseContext {
    vars: Vars,
    classes: Classifications,
    references: HashMap<String, String>,
    flowbit_names: Vec<String>,
    flowbit_ids: HashMap<String, u32>,
    /// File of the rule being parsed (recorded in [`Rule::origin`] and errors).
    pub file: String,
    /// Line of the rule being parsed (its first line), 1-based.
    pub line: usize,
}

impl ParseContext {
    /// Variables from the config, Suricata's built-in classification table, no reference
    /// types.
    pub fn new(vars: &VarsConfig) -> ParseContext {
        ParseContext::with_tables(vars, Classifications::builtin(), HashMap::new())
    }

    /// Variables, classtypes and reference types (type, lowercase -> URL prefix).
    pub fn with_tables(
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
            file: String::new(),
            line: 0,
        }
    }

    /// Sets the origin recorded for the next rules.
    pub fn set_origin(&mut self, file: &str, line: usize) {
        if self.file != file {
            self.file = file.to_string();
        }
        self.line = line;
    }

    /// Flowbit names interned so far; `Flowbit::bits` index this table.
    pub fn flowbit_names(&self) -> &[String] {
        &self.flowbit_names
    }

    /// The flowbit name table.
    pub fn into_flowbit_names(self) -> Vec<String> {
        self.flowbit_names
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
        RuleError { file: self.file.clone(), line: self.line, sid, kind: e.kind, message: e.msg }
    }
}

/// A parse failure before file, line and sid are attached.
#[derive(Debug, Clone)]
struct PErr {
    kind: ErrorKind,
    msg: String,
}

type PResult<T> = Result<T, PErr>;

fn syntax(msg: impl Into<String>) -> PErr {
    PErr { kind: ErrorKind::Syntax, msg: msg.into() }
}

/// A bad value for keyword `kw`; the message reads `kw: why`.
fn bad(kw: &str, why: impl std::fmt::Display) -> PErr {
    PErr { kind: ErrorKind::BadValue(kw.to_string()), msg: format!("{kw}: {why}") }
}

fn var_err(what: &str, e: VarError) -> PErr {
    let msg = format!("{what}: {e}");
    match e {
        VarError::Undefined(v) => PErr { kind: ErrorKind::UndefinedVariable(v), msg },
        VarError::Circular(v) => PErr { kind: ErrorKind::CircularVariable(v), msg },
        VarError::Bad(_) => PErr { kind: ErrorKind::BadValue(what.to_string()), msg },
    }
}

/// Loads rule files, and folders of `*.rules` (in name order), as Suricata does.
///
/// `classification` / `reference`: the config files to use; when `None`, a
/// `classification.config` / `reference.config` beside the rules is used if there is one,
/// else the built-in classification table and no reference types. A config that cannot be
/// read is reported as an error (line 0) and the fallback is used.
pub fn load_rules(
    paths: &[PathBuf],
    vars: &VarsConfig,
    classification: Option<&Path>,
    reference: Option<&Path>,
) -> RuleSet {
    let mut rules = Vec::new();
    let mut set = load_rules_each(paths, vars, classification, reference, |r| rules.push(r));
    set.rules = rules;
    set
}

/// [`load_rules`], handing each rule that parses to `on_rule` as soon as it is parsed instead
/// of collecting them (the returned set's `rules` is empty). The detection engine compiles
/// each rule as it comes, so that a whole ruleset's parse trees never exist at once.
pub fn load_rules_each(
    paths: &[PathBuf],
    vars: &VarsConfig,
    classification: Option<&Path>,
    reference: Option<&Path>,
    mut on_rule: impl FnMut(Rule),
) -> RuleSet {
    let mut set = RuleSet::default();
    let files = expand_paths(paths, &mut set.errors);

    let class_path = classification.map(Path::to_path_buf).or_else(|| beside(paths, "classification.config"));
    let classes = match &class_path {
        Some(p) => match std::fs::read(p) {
            Ok(bytes) => Classifications::parse(&String::from_utf8_lossy(&bytes)).0,
            Err(e) => {
                set.errors.push(file_error(p, format!("cannot read classification config: {e}")));
                Classifications::builtin()
            }
        },
        None => Classifications::builtin(),
    };
    let ref_path = reference.map(Path::to_path_buf).or_else(|| beside(paths, "reference.config"));
    let references = match &ref_path {
        Some(p) => match std::fs::read(p) {
            Ok(bytes) => parse_references(&String::from_utf8_lossy(&bytes)).0,
            Err(e) => {
                set.errors.push(file_error(p, format!("cannot read reference config: {e}")));
                HashMap::new()
            }
        },
        None => HashMap::new(),
    };

    let mut ctx = ParseContext::with_tables(vars, classes, references);
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    for file in &files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                set.errors.push(file_error(file, format!("cannot read rule file: {e}")));
                continue;
            }
        };
        set.files += 1;
        let name = file.display().to_string();
        for (line, text) in rule_lines(&bytes) {
            ctx.set_origin(&name, line);
            match parse_rule(&text, &mut ctx) {
                Ok(rule) => {
                    if seen.insert((rule.gid, rule.sid)) {
                        on_rule(rule);
                    } else {
                        set.errors.push(RuleError {
                            file: name.clone(),
                            line,
                            sid: Some(rule.sid),
                            kind: ErrorKind::DuplicateSid,
                            message: format!("duplicate signature {}:{} (the first one is kept)", rule.gid, rule.sid),
                        });
                    }
                }
                Err(e) => set.errors.push(e),
            }
        }
    }
    set.flowbit_names = ctx.into_flowbit_names();
    set
}

fn file_error(p: &Path, message: String) -> RuleError {
    RuleError { file: p.display().to_string(), line: 0, sid: None, kind: ErrorKind::Syntax, message }
}

/// The rule files: files as given, folders as their `*.rules` in name order.
fn expand_paths(paths: &[PathBuf], errors: &mut Vec<RuleError>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut v: Vec<PathBuf> = rd
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "rules"))
                        .collect();
                    v.sort();
                    out.extend(v);
                }
                Err(e) => errors.push(file_error(p, format!("cannot read rule folder: {e}"))),
            }
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// `name` in the first given folder (or the folder of the first given file) that has it.
fn beside(paths: &[PathBuf], name: &str) -> Option<PathBuf> {
    paths.iter().find_map(|p| {
        let dir = if p.is_dir() { Some(p.as_path()) } else { p.parent() };
        let c = dir?.join(name);
        c.is_file().then_some(c)
    })
}

/// Splits a rule file into rules: (first line, text). Lines whose first character is `#`, a
/// space or a tab, and empty lines, are skipped (Suricata's loader); a line ending in `\`
/// (before trailing white space) continues on the next line, the backslash removed.
pub fn rule_lines(bytes: &[u8]) -> Vec<(usize, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let lineno = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if cur.is_none() {
            match line.as_bytes().first() {
                None | Some(b'#') | Some(b' ') | Some(b'\t') | Some(b'\r') => continue,
                _ => {}
            }
        }
        let trimmed = line.trim_end();
        let (piece, more) = match trimmed.strip_suffix('\\') {
            Some(p) => (p, true),
            None => (line, false),
        };
        let entry = cur.get_or_insert_with(|| (lineno, String::new()));
        // Past the size limit the rule fails anyway: stop growing it.
        if entry.1.len() <= MAX_RULE_SIZE {
            entry.1.push_str(piece);
        }
        if !more {
            if let Some(done) = cur.take() {
                out.push(done);
            }
        }
    }
    if let Some(done) = cur.take() {
        out.push(done);
    }
    out
}

/// Parses one rule. The origin (file, line) is taken from `ctx`; flowbit names of a rule that
/// parses are interned into `ctx`.
pub fn parse_rule(text: &str, ctx: &mut ParseContext) -> Result<Rule, RuleError> {
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
        .and_then(|o| o.value.and_then(|v| parse_sid(unquote(v)).ok()));
    match build_rule(header, &options, ctx) {
        Ok(b) => Ok(b.finish(ctx)),
        Err(e) => Err(ctx.error(sid_hint, e)),
    }
}

/// The seven header fields.
struct Header<'a> {
    action: &'a str,
    proto: &'a str,
    src: &'a str,
    sp: &'a str,
    dir: &'a str,
    dst: &'a str,
    dp: &'a str,
}

/// Splits the rule into its header and the text between the option parentheses.
fn split_rule(text: &str) -> PResult<(Header<'_>, &str)> {
    let mut rest = text;
    let mut fields: Vec<&str> = Vec::with_capacity(7);
    while fields.len() < 7 {
        let (tok, r) = next_token(rest);
        if tok.is_empty() {
            return Err(syntax(format!("rule header has {} fields, expected 7 before '('", fields.len())));
        }
        if tok.starts_with('(') {
            return Err(syntax(format!("rule header has {} fields, expected 7 before '('", fields.len())));
        }
        fields.push(tok);
        rest = r;
    }
    let rest = rest.trim();
    let Some(inner) = rest.strip_prefix('(') else {
        return Err(syntax("expected '(' after the rule header"));
    };
    let Some(inner) = inner.strip_suffix(')') else {
        return Err(syntax("unbalanced parentheses: the rule options do not end with ')'"));
    };
    let [action, proto, src, sp, dir, dst, dp] = fields.as_slice() else {
        return Err(syntax("rule header is incomplete"));
    };
    Ok((Header { action, proto, src, sp, dir, dst, dp }, inner))
}

/// The next white-space separated header token; white space inside `[...]` is kept.
fn next_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '(' if depth <= 0 && i == 0 => return (s.get(..1).unwrap_or(""), s.get(1..).unwrap_or("")),
            c if c.is_whitespace() && depth <= 0 => {
                return (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or(""));
            }
            _ => {}
        }
    }
    (s, "")
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

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).filter(|c| !c.is_control()).collect();
    if s.len() > out.len() {
        out.push_str("...");
    }
    out
}

/// Strips one pair of enclosing double quotes.
fn unquote(v: &str) -> &str {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v.get(1..v.len() - 1).unwrap_or(v)
    } else {
        v
    }
}

/// A value with its `!` (for keywords that take a negation) and quotes handled as Suricata's
/// option parser does. `mandatory`: the value must be quoted.
fn quoted_value<'a>(kw: &str, v: &'a str, negation: bool, mandatory: bool) -> PResult<(bool, &'a str)> {
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

/// One payload-inspection list under construction; items carry their order in the rule.
#[derive(Debug, Clone)]
struct WorkList {
    buffer: Buffer,
    transforms: Vec<Transform>,
    items: Vec<(u32, PayloadMatch)>,
}

/// `flowbits` before the names are interned.
#[derive(Debug, Clone)]
struct PendingFlowbit {
    cmd: FlowbitCmd,
    names: Vec<String>,
    join: FlowbitJoin,
}

/// A `app-layer-protocol` keyword, for the conflict checks.
#[derive(Debug, Clone)]
struct AlProtoKw {
    names: String,
    negated: bool,
    mode: AppProtoMode,
}

/// Rule state while its options are read.
#[derive(Debug, Default)]
struct Builder {
    action: Option<Action>,
    proto: Option<RuleProto>,
    src: AddrSet,
    src_ports: PortSet,
    bidirectional: bool,
    dst: AddrSet,
    dst_ports: PortSet,
    lists: Vec<WorkList>,
    /// Current sticky list; `None`: the payload (no sticky buffer).
    cur: Option<usize>,
    seq: u32,
    var_names: Vec<String>,
    /// App-layer protocol of the rule: the header's, else the first buffer's.
    alproto: Option<String>,
    sid: Option<u32>,
    gid: Option<u32>,
    rev: Option<u32>,
    msg: Option<String>,
    classtype: Option<(String, String, u8)>,
    priority: Option<u8>,
    metadata: Vec<(String, Vec<String>)>,
    references: Vec<(String, String)>,
    target: Option<Target>,
    flow: Option<FlowOpts>,
    flow_full: bool,
    flowbits: Vec<PendingFlowbit>,
    noalert: bool,
    threshold: Option<Threshold>,
    detection_filter: Option<Threshold>,
    packet: Vec<PacketMatch>,
    alprotos: Vec<AlProtoKw>,
    ignored: Vec<&'static str>,
    untyped: Option<String>,
    app_values: Vec<(String, String)>,
}

fn build_rule(h: Header<'_>, options: &[Opt<'_>], ctx: &mut ParseContext) -> PResult<Builder> {
    let mut b = Builder::default();
    b.header(&h, ctx)?;
    for o in options {
        b.option(o, ctx)?;
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

/// Header protocols that are app-layer protocols, with their transport (`Ip`: TCP and UDP).
const APP_PROTOS: &[(&str, Transport)] = &[
    ("http", Transport::Tcp),
    ("http1", Transport::Tcp),
    ("http2", Transport::Tcp),
    ("ftp", Transport::Tcp),
    ("ftp-data", Transport::Tcp),
    ("smtp", Transport::Tcp),
    ("tls", Transport::Tcp),
    ("ssh", Transport::Tcp),
    ("imap", Transport::Tcp),
    ("pop3", Transport::Tcp),
    ("smb", Transport::Tcp),
    ("modbus", Transport::Tcp),
    ("dnp3", Transport::Tcp),
    ("rfb", Transport::Tcp),
    ("mqtt", Transport::Tcp),
    ("pgsql", Transport::Tcp),
    ("telnet", Transport::Tcp),
    ("websocket", Transport::Tcp),
    ("doh2", Transport::Tcp),
    ("rdp", Transport::Tcp),
    ("ntp", Transport::Udp),
    ("tftp", Transport::Udp),
    ("dhcp", Transport::Udp),
    ("ike", Transport::Udp),
    ("ikev2", Transport::Udp),
    ("quic", Transport::Udp),
    ("bittorrent-dht", Transport::Udp),
    ("dns", Transport::Ip),
    ("dcerpc", Transport::Ip),
    ("nfs", Transport::Ip),
    ("krb5", Transport::Ip),
    ("snmp", Transport::Ip),
    ("sip", Transport::Ip),
    ("enip", Transport::Ip),
    ("ldap", Transport::Ip),
];

fn app_proto(name: &str) -> Option<(&'static str, Transport)> {
    APP_PROTOS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(n, t)| (n, t))
}

/// Whether a buffer of app-layer protocol `buf` can be inspected in a rule for `rule`.
fn app_compatible(rule: &str, buf: &str) -> bool {
    if rule == buf {
        return true;
    }
    let http = |p: &str| matches!(p, "http" | "http1" | "http2");
    match rule {
        r if http(r) => http(buf),
        "doh2" => matches!(buf, "dns" | "http" | "http2"),
        "ikev2" => buf == "ike",
        _ => false,
    }
}

impl Builder {
    fn header(&mut self, h: &Header<'_>, ctx: &mut ParseContext) -> PResult<()> {
        self.action = Some(match h.action.to_ascii_lowercase().as_str() {
            "alert" => Action::Alert,
            "pass" => Action::Pass,
            "drop" => Action::Drop,
            "reject" | "rejectsrc" | "rejectdst" | "rejectboth" => Action::Reject,
            _ => return Err(syntax(format!("unknown action '{}'", shorten(h.action)))),
        });
        let p = h.proto.to_ascii_lowercase();
        let plain = |transport, tcp_mode| RuleProto { transport, tcp_mode, app: None };
        let proto = match p.as_str() {
            "ip" | "pkt" => plain(Transport::Ip, TcpMode::Both),
            "tcp" => plain(Transport::Tcp, TcpMode::Both),
            "tcp-pkt" => plain(Transport::Tcp, TcpMode::Packet),
            "tcp-stream" => plain(Transport::Tcp, TcpMode::Stream),
            "udp" => plain(Transport::Udp, TcpMode::Both),
            "icmp" => plain(Transport::Icmp, TcpMode::Both),
            "icmpv4" => plain(Transport::Icmpv4, TcpMode::Both),
            "icmpv6" => plain(Transport::Icmpv6, TcpMode::Both),
            "sctp" => plain(Transport::Sctp, TcpMode::Both),
            "ipv4" | "ip4" | "ipv6" | "ip6" => {
                return Err(PErr {
                    kind: ErrorKind::Unsupported(format!("protocol {p}")),
                    msg: format!("protocol: '{p}' is not supported yet"),
                })
            }
            other => match app_proto(other) {
                Some((name, transport)) => {
                    self.alproto = Some(name.to_string());
                    RuleProto { transport, tcp_mode: TcpMode::Both, app: Some(name.to_string()) }
                }
                None => return Err(bad("protocol", format!("unknown protocol '{}'", shorten(h.proto)))),
            },
        };
        self.proto = Some(proto);
        self.bidirectional = match h.dir {
            "->" => false,
            "<>" => true,
            d => return Err(syntax(format!("'{}' is not a direction: '->' or '<>'", shorten(d)))),
        };
        self.src = ctx.vars.addresses(h.src).map_err(|e| var_err("source address", e))?;
        self.src_ports = ctx.vars.ports(h.sp).map_err(|e| var_err("source port", e))?;
        self.dst = ctx.vars.addresses(h.dst).map_err(|e| var_err("destination address", e))?;
        self.dst_ports = ctx.vars.ports(h.dp).map_err(|e| var_err("destination port", e))?;
        Ok(())
    }

    fn option(&mut self, o: &Opt<'_>, ctx: &mut ParseContext) -> PResult<()> {
        let Some(kw) = keywords::lookup(o.name) else {
            return Err(PErr {
                kind: ErrorKind::UnknownKeyword(shorten(o.name)),
                msg: format!("unknown keyword '{}'", shorten(o.name)),
            });
        };
        let name = kw.name;
        let value = o.value.filter(|v| !v.is_empty());
        match (kw.arg, value) {
            (Arg::None, Some(_)) => return Err(bad(name, "takes no value")),
            (Arg::Required, None) => return Err(bad(name, "needs a value")),
            _ => {}
        }
        let v = value.unwrap_or("");
        match kw.kind {
            Kind::Untyped => {
                if self.untyped.is_none() {
                    self.untyped = Some(name.to_string());
                }
                Ok(())
            }
            Kind::Ignored => {
                self.ignored.push(name);
                Ok(())
            }
            Kind::AppValue => {
                self.app_values.push((name.to_string(), v.trim().trim_matches('"').to_string()));
                Ok(())
            }
            Kind::Meta => self.meta(name, v, ctx),
            Kind::Payload => self.payload(name, v),
            Kind::Modifier => self.modifier(name, value),
            Kind::Sticky => self.sticky(name, kw.buffer.unwrap_or(name)),
            Kind::LegacyModifier => self.legacy(name, kw.buffer.unwrap_or(name)),
            Kind::Transform => self.transform(name, value),
            Kind::ResetBuffer => {
                if let Some(l) = self.cur.and_then(|i| self.lists.get(i)) {
                    if !l.transforms.is_empty() && l.items.is_empty() {
                        return Err(bad(name, "no matches following the transform(s)"));
                    }
                }
                self.cur = None;
                Ok(())
            }
            Kind::Packet => self.packet_kw(name, v),
            Kind::Flow => self.flow_kw(name, v),
        }
    }
}

/// Where a payload keyword goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target2 {
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
    fn payload_list(&mut self) -> usize {
        if let Some(i) = self.lists.iter().position(|l| l.buffer == Buffer::Payload) {
            return i;
        }
        self.lists.push(WorkList { buffer: Buffer::Payload, transforms: Vec::new(), items: Vec::new() });
        self.lists.len() - 1
    }

    /// The list of a buffer without transforms (legacy modifiers, pcre buffer flags), reused
    /// when it exists.
    fn buffer_list(&mut self, kw: &str, buffer: &str) -> PResult<usize> {
        self.claim_app(kw, buffer)?;
        let b = Buffer::Sticky(buffer.to_string());
        if let Some(i) = self.lists.iter().position(|l| l.buffer == b && l.transforms.is_empty()) {
            return Ok(i);
        }
        self.lists.push(WorkList { buffer: b, transforms: Vec::new(), items: Vec::new() });
        Ok(self.lists.len() - 1)
    }

    /// Records the app-layer protocol a buffer belongs to; a second, different one is an
    /// error (Suricata: "rule contains conflicting alprotos").
    fn claim_app(&mut self, kw: &str, buffer: &str) -> PResult<()> {
        let Some(app) = keywords::buffer(buffer).and_then(|d| d.app) else {
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
    fn target_list(&mut self, t: Target2) -> usize {
        if let Some(i) = self.cur {
            return i;
        }
        if t == Target2::PrevMatch {
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
    fn last_item(&self, f: impl Fn(&PayloadMatch) -> bool) -> Option<(usize, usize)> {
        let mut best: Option<(u32, usize, usize)> = None;
        for (li, l) in self.lists.iter().enumerate() {
            for (ii, (seq, m)) in l.items.iter().enumerate() {
                if f(m) && best.map_or(true, |(s, _, _)| *seq > s) {
                    best = Some((*seq, li, ii));
                }
            }
        }
        best.map(|(_, li, ii)| (li, ii))
    }

    fn push(&mut self, list: usize, m: PayloadMatch) {
        let seq = self.next_seq();
        if let Some(l) = self.lists.get_mut(list) {
            l.items.push((seq, m));
        }
    }

    /// The content a modifier applies to: the last content of the current sticky list, or,
    /// outside a sticky buffer, the last content of the rule (Suricata's
    /// `DetectGetLastSMFromLists`). Returns (list, index).
    fn modifier_target(&self, kw: &str) -> PResult<(usize, usize)> {
        let found = match self.cur {
            Some(li) => self.lists.get(li).and_then(|l| {
                l.items.iter().rposition(|(_, m)| matches!(m, PayloadMatch::Content(_))).map(|ii| (li, ii))
            }),
            None => self.last_item(|m| matches!(m, PayloadMatch::Content(_))),
        };
        found.ok_or_else(|| bad(kw, "needs a preceding content in the same buffer"))
    }

    fn content_at(&mut self, at: (usize, usize)) -> Option<&mut Content> {
        match self.lists.get_mut(at.0).and_then(|l| l.items.get_mut(at.1)) {
            Some((_, PayloadMatch::Content(c))) => Some(c),
            _ => None,
        }
    }

    /// The content or pcre before `at` in its list.
    fn prev_match(&self, at: (usize, usize)) -> Option<&PayloadMatch> {
        let l = self.lists.get(at.0)?;
        l.items
            .get(..at.1)?
            .iter()
            .rev()
            .map(|(_, m)| m)
            .find(|m| matches!(m, PayloadMatch::Content(_) | PayloadMatch::Pcre(_)))
    }

    /// A `byte_extract` / `byte_math` variable by name.
    fn var_slot(&self, name: &str) -> Option<u8> {
        self.var_names.iter().rposition(|n| n == name).map(|i| i as u8)
    }

    fn new_var(&mut self, kw: &str, name: &str) -> PResult<u8> {
        if self.var_names.len() >= MAX_VARS {
            return Err(bad(kw, format!("more than {MAX_VARS} byte_extract/byte_math variables in the rule")));
        }
        self.var_names.push(name.to_string());
        Ok((self.var_names.len() - 1) as u8)
    }

    /// A number or a variable name (a value starting with a letter), as the content
    /// modifiers and byte keywords take them.
    fn num_or_var(&self, kw: &str, v: &str, lit: impl Fn(&str) -> Option<i64>) -> PResult<Num> {
        let v = v.trim();
        if v.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return self
                .var_slot(v)
                .map(Num::Var)
                .ok_or_else(|| bad(kw, format!("unknown byte_extract/byte_math variable '{}'", shorten(v))));
        }
        lit(v).map(Num::Lit).ok_or_else(|| bad(kw, format!("invalid value '{}'", shorten(v))))
    }

    // ---- content ----------------------------------------------------------------------

    fn content(&mut self, kw: &str, v: &str) -> PResult<()> {
        let (negated, inner) = quoted_value(kw, v, true, true)?;
        let pattern = parse_content(kw, inner)?;
        let c = Content {
            pattern,
            negated,
            nocase: false,
            offset: None,
            depth: None,
            distance: None,
            within: None,
            startswith: false,
            endswith: false,
            rawbytes: false,
            fast_pattern: FastPattern::No,
        };
        let li = self.target_list(Target2::Current);
        self.push(li, PayloadMatch::Content(c));
        Ok(())
    }

    fn modifier(&mut self, kw: &'static str, value: Option<&str>) -> PResult<()> {
        let at = self.modifier_target(kw)?;
        let in_sticky = self.cur.is_some();
        // Literal values need the content; variables are looked up first.
        let num = |b: &Self, signed: bool| -> PResult<Num> {
            let v = value.map(unquote).unwrap_or("");
            b.num_or_var(kw, v, |s| if signed { parse_i32(s).map(i64::from) } else { parse_u16(s).map(i64::from) })
        };
        let parsed = match kw {
            "depth" | "offset" => Some(num(self, false)?),
            "distance" | "within" => Some(num(self, true)?),
            _ => None,
        };
        let prev_fp_only = matches!(
            self.prev_match(at),
            Some(PayloadMatch::Content(p)) if p.fast_pattern == FastPattern::Only
        );
        let any_fast_pattern = self.lists.iter().any(|l| {
            l.items.iter().any(|(_, m)| matches!(m, PayloadMatch::Content(c) if c.fast_pattern != FastPattern::No))
        });
        let Some(c) = self.content_at(at) else {
            return Err(bad(kw, "needs a preceding content"));
        };
        let len = c.pattern.len() as i64;
        let absolute = c.depth.is_some() || c.offset.is_some() || c.startswith;
        let relative = c.distance.is_some() || c.within.is_some();
        let fp = c.fast_pattern;
        let neg_fp = c.negated && fp != FastPattern::No;
        match kw {
            "nocase" => {
                if c.nocase {
                    return Err(bad(kw, "can't use multiple nocase modifiers with the same content"));
                }
                c.nocase = true;
            }
            "rawbytes" => {
                if in_sticky {
                    return Err(bad(kw, "cannot be used with a sticky buffer"));
                }
                c.rawbytes = true;
            }
            "depth" | "offset" | "distance" | "within" => {
                let n = parsed.unwrap_or(Num::Lit(0));
                let is_abs = matches!(kw, "depth" | "offset");
                if (is_abs && relative) || (!is_abs && absolute) {
                    return Err(bad(kw, "can't mix a relative keyword (within/distance) with an absolute one (depth/offset) on the same content"));
                }
                if neg_fp {
                    return Err(bad(kw, "can't use a negated content with fast_pattern and position modifiers"));
                }
                if fp == FastPattern::Only {
                    return Err(bad(kw, "can't use position modifiers with fast_pattern:only"));
                }
                match kw {
                    "depth" => {
                        if c.depth.is_some() || c.startswith {
                            return Err(bad(
                                kw,
                                "can't use multiple depths (or depth with startswith) for the same content",
                            ));
                        }
                        if let Num::Lit(d) = n {
                            if d < len {
                                return Err(bad(kw, format!("depth {d} is smaller than the content length {len}")));
                            }
                        }
                        c.depth = Some(n);
                    }
                    "offset" => {
                        if c.offset.is_some() {
                            return Err(bad(kw, "can't use multiple offsets for the same content"));
                        }
                        if c.startswith {
                            return Err(bad(kw, "can't use offset with startswith"));
                        }
                        c.offset = Some(n);
                    }
                    "distance" => {
                        if c.distance.is_some() {
                            return Err(bad(kw, "can't use multiple distances for the same content"));
                        }
                        c.distance = Some(n);
                    }
                    _ => {
                        if c.within.is_some() {
                            return Err(bad(kw, "can't use multiple withins for the same content"));
                        }
                        if let Num::Lit(w) = n {
                            if w < len {
                                return Err(bad(kw, format!("within {w} is smaller than the content length {len}")));
                            }
                        }
                        c.within = Some(n);
                    }
                }
                if !is_abs && prev_fp_only {
                    return Err(bad(
                        kw,
                        "the previous content has fast_pattern:only; no relative keyword can follow it",
                    ));
                }
            }
            "startswith" => {
                if c.startswith || c.depth.is_some() {
                    return Err(bad(kw, "can't use multiple depth/startswith settings for the same content"));
                }
                if relative {
                    return Err(bad(kw, "can't be mixed with within/distance"));
                }
                if c.offset.is_some() {
                    return Err(bad(kw, "can't be mixed with offset"));
                }
                if neg_fp || fp == FastPattern::Only {
                    return Err(bad(kw, "can't be used with this fast_pattern"));
                }
                c.startswith = true;
            }
            "endswith" => {
                if c.endswith {
                    return Err(bad(kw, "can't use multiple endswith for the same content"));
                }
                c.endswith = true;
            }
            "fast_pattern" => {
                if fp != FastPattern::No {
                    return Err(bad(kw, "can't use multiple fast_pattern options for the same content"));
                }
                if c.negated && (absolute || relative) {
                    return Err(bad(kw, "can't be used with a negated content with position modifiers"));
                }
                let arg = value.map(unquote).map(str::trim).unwrap_or("");
                let new = if arg.is_empty() {
                    FastPattern::Yes
                } else if arg.eq_ignore_ascii_case("only") {
                    if c.negated || absolute || relative {
                        return Err(bad(
                            kw,
                            "fast_pattern:only can't be used with a negated content or position modifiers",
                        ));
                    }
                    FastPattern::Only
                } else {
                    let (o, l) =
                        arg.split_once(',').ok_or_else(|| bad(kw, format!("invalid argument '{}'", shorten(arg))))?;
                    let (o, l) = match (parse_u16(o), parse_u16(l)) {
                        (Some(o), Some(l)) => (o, l),
                        _ => return Err(bad(kw, format!("invalid offset,length '{}'", shorten(arg)))),
                    };
                    if u32::from(o) + u32::from(l) > len as u32 {
                        return Err(bad(kw, format!("offset {o} + length {l} exceeds the content length {len}")));
                    }
                    FastPattern::Chop(o, l)
                };
                if any_fast_pattern {
                    return Err(bad(kw, "fast_pattern can be used on only one content in a rule"));
                }
                c.fast_pattern = new;
            }
            _ => return Err(bad(kw, "unknown content modifier")),
        }
        Ok(())
    }

    // ---- buffers ----------------------------------------------------------------------

    fn sticky(&mut self, kw: &str, buffer: &str) -> PResult<()> {
        if let Some(l) = self.cur.and_then(|i| self.lists.get(i)) {
            if l.items.is_empty() {
                let why = if l.transforms.is_empty() {
                    "has no matches"
                } else {
                    "has no matches following its transform(s)"
                };
                return Err(bad(kw, format!("the previous sticky buffer {} {why}", buffer_name(&l.buffer))));
            }
        }
        self.claim_app(kw, buffer)?;
        let multi = keywords::buffer(buffer).is_some_and(|d| d.multi);
        let b = Buffer::Sticky(buffer.to_string());
        if !multi {
            if let Some(i) = self.lists.iter().position(|l| l.buffer == b && l.transforms.is_empty()) {
                self.cur = Some(i);
                return Ok(());
            }
        }
        self.lists.push(WorkList { buffer: b, transforms: Vec::new(), items: Vec::new() });
        self.cur = Some(self.lists.len() - 1);
        Ok(())
    }

    /// `http_uri` and the other legacy modifiers: the last content of the payload list moves,
    /// with its modifiers, to the buffer's list (Suricata's
    /// `DetectEngineContentModifierBufferSetup`).
    fn legacy(&mut self, kw: &str, buffer: &str) -> PResult<()> {
        if self.cur.is_some() {
            return Err(bad(kw, "seen with a sticky buffer still set; reset it with pkt_data first"));
        }
        let pl = self.payload_list();
        let Some(ii) =
            self.lists.get(pl).and_then(|l| l.items.iter().rposition(|(_, m)| matches!(m, PayloadMatch::Content(_))))
        else {
            return Err(bad(kw, "needs a preceding content"));
        };
        if matches!(self.lists.get(pl).and_then(|l| l.items.get(ii)), Some((_, PayloadMatch::Content(c))) if c.rawbytes)
        {
            return Err(bad(kw, "can't be used with rawbytes"));
        }
        let dest = self.buffer_list(kw, buffer)?;
        let Some(item) = self.lists.get_mut(pl).map(|l| l.items.remove(ii)) else {
            return Err(bad(kw, "needs a preceding content"));
        };
        if let Some(l) = self.lists.get_mut(dest) {
            l.items.push(item);
        }
        Ok(())
    }

    fn transform(&mut self, kw: &str, value: Option<&str>) -> PResult<()> {
        let Some(ci) = self.cur else {
            return Err(bad(kw, "transforms must directly follow a sticky buffer"));
        };
        let t = match kw {
            "dotprefix" => Transform::DotPrefix,
            "strip_whitespace" => Transform::StripWhitespace,
            "compress_whitespace" => Transform::CompressWhitespace,
            "to_lowercase" => Transform::ToLowercase,
            "to_uppercase" => Transform::ToUppercase,
            "url_decode" => Transform::UrlDecode,
            "to_md5" => Transform::ToMd5,
            "to_sha1" => Transform::ToSha1,
            "to_sha256" => Transform::ToSha256,
            "header_lowercase" => Transform::HeaderLowercase,
            "strip_pseudo_headers" => Transform::StripPseudoHeaders,
            "xor" => {
                let (_, key) = quoted_value(kw, value.unwrap_or(""), false, true)?;
                let bytes =
                    parse_hex_string(key).ok_or_else(|| bad(kw, "the key must be an even number of hex digits"))?;
                if bytes.is_empty() {
                    return Err(bad(kw, "empty key"));
                }
                Transform::Xor(bytes)
            }
            "pcrexform" => {
                let (_, expr) = quoted_value(kw, value.unwrap_or(""), false, true)?;
                if let Err(e) = pcre2::bytes::RegexBuilder::new().build(expr) {
                    return Err(bad(kw, format!("invalid regular expression: {e}")));
                }
                Transform::PcreXform(expr.to_string())
            }
            "from_base64" => Transform::FromBase64(value.map(unquote).unwrap_or("").to_string()),
            _ => return Err(bad(kw, "unknown transform")),
        };
        let Some(l) = self.lists.get(ci) else {
            return Err(bad(kw, "transforms must directly follow a sticky buffer"));
        };
        if l.transforms.len() >= MAX_TRANSFORMS {
            return Err(bad(kw, format!("no more than {MAX_TRANSFORMS} transforms are supported")));
        }
        if l.items.is_empty() {
            if let Some(l) = self.lists.get_mut(ci) {
                l.transforms.push(t);
            }
        } else {
            // Matches already there: the transformed buffer is a new list.
            let buffer = l.buffer.clone();
            self.lists.push(WorkList { buffer, transforms: vec![t], items: Vec::new() });
            self.cur = Some(self.lists.len() - 1);
        }
        Ok(())
    }
}

fn buffer_name(b: &Buffer) -> &str {
    match b {
        Buffer::Payload => "payload",
        Buffer::Sticky(n) => n,
    }
}

/// Decodes a content string: text with `|..|` hex and `\` escapes of `"`, `;`, `:` and `\`
/// (Suricata's `DetectContentDataParse`).
fn parse_content(kw: &str, s: &str) -> PResult<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut hex = false;
    let mut escape = false;
    let mut nib: Option<u8> = None;
    let mut pipes = 0usize;
    for &c in s.as_bytes() {
        if c == b'|' && !escape {
            pipes += 1;
            if hex {
                if nib.is_some() {
                    return Err(bad(kw, "odd number of hex digits"));
                }
                hex = false;
            } else {
                hex = true;
            }
            continue;
        }
        if hex {
            match c {
                b' ' | b',' => {}
                _ => {
                    let Some(d) = hex_val(c) else {
                        return Err(bad(kw, format!("invalid hex character '{}'", char::from(c).escape_default())));
                    };
                    match nib.take() {
                        Some(hi) => out.push(hi << 4 | d),
                        None => nib = Some(d),
                    }
                }
            }
        } else if escape {
            match c {
                b'"' | b';' | b':' | b'\\' => out.push(c),
                _ => {
                    return Err(bad(
                        kw,
                        format!(
                            "'\\{}' is not a valid escape (only \\\" \\; \\: \\\\)",
                            char::from(c).escape_default()
                        ),
                    ))
                }
            }
            escape = false;
        } else if c == b'\\' {
            escape = true;
        } else if c == b'"' {
            return Err(bad(kw, "unescaped double quote inside the content"));
        } else {
            out.push(c);
        }
    }
    if escape {
        return Err(bad(kw, "trailing backslash"));
    }
    if hex || pipes % 2 != 0 {
        return Err(bad(kw, "unbalanced '|' in hex"));
    }
    if out.is_empty() {
        return Err(bad(kw, "empty content"));
    }
    if out.len() > MAX_CONTENT {
        return Err(bad(kw, format!("content longer than {MAX_CONTENT} bytes")));
    }
    Ok(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `0d0ac8ff` -> bytes.
fn parse_hex_string(s: &str) -> Option<Vec<u8>> {
    let b = s.trim().as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks(2)
        .map(|p| match p {
            [h, l] => Some(hex_val(*h)? << 4 | hex_val(*l)?),
            _ => None,
        })
        .collect()
}

/// pcre buffer flags and their buffers (Suricata's `DetectPcreParse`).
const PCRE_BUFFERS: &[(char, &str)] = &[
    ('U', "http.uri"),
    ('I', "http.uri.raw"),
    ('P', "http.request_body"),
    ('Q', "file.data"),
    ('H', "http.header"),
    ('D', "http.header.raw"),
    ('M', "http.method"),
    ('C', "http.cookie"),
    ('S', "http.stat_code"),
    ('Y', "http.stat_msg"),
    ('V', "http.user_agent"),
    ('W', "http.host"),
    ('Z', "http.host.raw"),
];

impl Builder {
    fn payload(&mut self, kw: &str, v: &str) -> PResult<()> {
        match kw {
            "content" => self.content(kw, v),
            "uricontent" => {
                self.content(kw, v)?;
                self.legacy(kw, "http.uri")
            }
            "pcre" => self.pcre(kw, v),
            "byte_test" => self.byte_test(kw, v),
            "byte_jump" => self.byte_jump(kw, v),
            "byte_extract" => self.byte_extract(kw, v),
            "byte_math" => self.byte_math(kw, v),
            "isdataat" => self.isdataat(kw, v),
            "bsize" => {
                let Some(li) = self.cur else {
                    return Err(bad(kw, "must follow a sticky buffer"));
                };
                let n = parse_uint_cmp(unquote(v), u64::MAX)
                    .ok_or_else(|| bad(kw, format!("invalid value '{}'", shorten(v))))?;
                if self.lists.get(li).is_some_and(|l| l.items.iter().any(|(_, m)| matches!(m, PayloadMatch::Bsize(_))))
                {
                    return Err(bad(kw, "can't use more than one bsize on a buffer"));
                }
                self.push(li, PayloadMatch::Bsize(n));
                Ok(())
            }
            "urilen" => {
                let v = unquote(v);
                let (cmp, kind) = match v.split_once(',') {
                    Some((c, k)) => (c, k.trim()),
                    None => (v, "norm"),
                };
                let buffer = match kind {
                    "norm" => "http.uri",
                    "raw" => "http.uri.raw",
                    _ => return Err(bad(kw, format!("'{}' is not norm or raw", shorten(kind)))),
                };
                let n = parse_uint_cmp(cmp, u64::from(u16::MAX))
                    .ok_or_else(|| bad(kw, format!("invalid value '{}'", shorten(cmp))))?;
                let li = match self.cur {
                    Some(li) if self.lists.get(li).is_some_and(|l| l.buffer == Buffer::Sticky(buffer.into())) => li,
                    _ => self.buffer_list(kw, buffer)?,
                };
                self.push(li, PayloadMatch::Urilen(n));
                Ok(())
            }
            _ => Err(bad(kw, "unknown payload keyword")),
        }
    }

    fn pcre(&mut self, kw: &str, v: &str) -> PResult<()> {
        let (mut negated, mut s) = quoted_value(kw, v, true, false)?;
        s = s.trim_start();
        if let Some(r) = s.strip_prefix('!') {
            negated = true;
            s = r;
        }
        // Captures into variables follow the flags: `/re/flags, flow:name, pkt:name`. As in
        // Suricata, the expression ends before the first `flow:`, `pkt:` or `alert:`.
        let mut capture_specs: Vec<String> = Vec::new();
        let cut = ["flow:", "pkt:", "alert:"].iter().filter_map(|t| s.find(t)).min();
        if let Some(cut) = cut {
            for spec in s.get(cut..).unwrap_or("").split(',').map(str::trim) {
                match spec.split_once(':') {
                    Some((t @ ("flow" | "pkt" | "alert"), n)) if !n.trim().is_empty() => {
                        capture_specs.push(format!("{t}_{}", n.trim()));
                    }
                    _ => return Err(bad(kw, format!("invalid capture '{}'", shorten(spec)))),
                }
            }
            s = s.get(..cut).unwrap_or("").trim_end();
            s = s.strip_suffix(',').unwrap_or(s).trim_end();
        }
        let Some(body) = s.strip_prefix('/') else {
            return Err(bad(kw, "the expression must be written /expr/flags"));
        };
        let Some(end) = body.rfind('/') else {
            return Err(bad(kw, "missing the closing '/' of the expression"));
        };
        let expr = body.get(..end).unwrap_or("");
        let flags = body.get(end + 1..).unwrap_or("").trim_end();
        let mut p = Pcre {
            expr: expr.to_string(),
            negated,
            caseless: false,
            dotall: false,
            multiline: false,
            extended: false,
            anchored: false,
            dollar_endonly: false,
            ungreedy: false,
            relative: false,
            no_limit: false,
            captures: Vec::new(),
        };
        let mut buffer: Option<&'static str> = None;
        let mut rawbytes = false;
        for f in flags.chars() {
            match f {
                'i' => p.caseless = true,
                's' => p.dotall = true,
                'm' => p.multiline = true,
                'x' => p.extended = true,
                'A' => p.anchored = true,
                'E' => p.dollar_endonly = true,
                'G' => p.ungreedy = true,
                'R' => p.relative = true,
                'O' => p.no_limit = true,
                'B' => {
                    if buffer.is_some() {
                        return Err(bad(kw, "regex modifier 'B' inconsistent with the chosen buffer"));
                    }
                    rawbytes = true;
                }
                _ => match PCRE_BUFFERS.iter().find(|(c, _)| *c == f) {
                    Some((_, b)) => {
                        if rawbytes {
                            return Err(bad(kw, format!("regex modifier '{f}' inconsistent with 'B'")));
                        }
                        if buffer.is_some() {
                            return Err(bad(kw, "only one pcre modifier to specify a buffer is allowed"));
                        }
                        buffer = Some(b);
                    }
                    None => return Err(bad(kw, format!("unknown regex modifier '{}'", f.escape_default()))),
                },
            }
        }
        if buffer == Some("http.host") && !p.caseless && pcre_has_upper(expr) {
            return Err(bad(kw, "pcre /W has an uppercase character; the host buffer is lowercase"));
        }
        let re = pcre2::bytes::RegexBuilder::new()
            .caseless(p.caseless)
            .dotall(p.dotall)
            .multi_line(p.multiline)
            .extended(p.extended)
            .build(expr)
            .map_err(|e| bad(kw, format!("invalid regular expression: {e}")))?;
        p.captures = re
            .capture_names()
            .iter()
            .flatten()
            .filter(|n| n.starts_with("pkt_") || n.starts_with("flow_") || n.starts_with("alert_"))
            .cloned()
            .collect();
        p.captures.extend(capture_specs);
        let li = match (self.cur, buffer) {
            (Some(li), Some(b)) => {
                // Suricata inspects http.response_body in the file_data list.
                let same = |n: &str| n == b || (b == "file.data" && n == "http.response_body");
                if !matches!(self.lists.get(li).map(|l| &l.buffer), Some(Buffer::Sticky(n)) if same(n)) {
                    return Err(bad(
                        kw,
                        format!("pcre modifier for {b} seen with another sticky buffer set (reset it with pkt_data)"),
                    ));
                }
                li
            }
            (Some(li), None) => li,
            (None, Some(b)) => self.buffer_list(kw, b)?,
            (None, None) => self.payload_list(),
        };
        if p.relative && self.cur.is_none() {
            let prev = self.lists.get(li).is_some_and(|l| {
                l.items.iter().any(|(_, m)| matches!(m, PayloadMatch::Content(_) | PayloadMatch::Pcre(_)))
            });
            if !prev {
                return Err(bad(kw, "pcre with /R (relative) needs a preceding match in the same buffer"));
            }
        }
        self.push(li, PayloadMatch::Pcre(p));
        Ok(())
    }

    fn byte_test(&mut self, kw: &str, v: &str) -> PResult<()> {
        let args: Vec<&str> = unquote(v).split(',').map(str::trim).collect();
        let [nb, op, value, offset, rest @ ..] = args.as_slice() else {
            return Err(bad(kw, "needs at least: bytes, operator, value, offset"));
        };
        let nbytes = self.nbytes(kw, nb)?;
        let (negated, op) = match op.strip_prefix('!') {
            Some(o) => (true, o.trim()),
            None => (false, *op),
        };
        let op = match op {
            "=" => ByteOp::Eq,
            "" if negated => ByteOp::Eq,
            "<" => ByteOp::Lt,
            ">" => ByteOp::Gt,
            "<=" => ByteOp::Le,
            ">=" => ByteOp::Ge,
            "&" => ByteOp::And,
            "^" => ByteOp::Xor,
            o => return Err(bad(kw, format!("invalid operator '{}'", shorten(o)))),
        };
        let value = self.num_or_var(kw, value, |s| parse_u64_base0(s).and_then(|n| i64::try_from(n).ok()))?;
        let offset = self.num_or_var(kw, offset, |s| parse_i64_base0(s).filter(|n| i32::try_from(*n).is_ok()))?;
        let mut t = ByteTest {
            nbytes,
            negated,
            op,
            value,
            offset,
            relative: false,
            endian: ByteEndian::Big,
            string: None,
            bitmask: None,
        };
        let o = byte_opts(kw, rest, &["relative", "string", "hex", "dec", "oct", "big", "little", "dce", "bitmask"])?;
        t.relative = o.relative;
        t.endian = o.endian;
        t.string = o.string;
        t.bitmask = o.bitmask;
        check_nbytes(kw, nbytes, o.string.is_some())?;
        let li = self.target_list(if t.relative { Target2::PrevMatch } else { Target2::Current });
        self.push(li, PayloadMatch::ByteTest(t));
        Ok(())
    }

    fn byte_jump(&mut self, kw: &str, v: &str) -> PResult<()> {
        let args: Vec<&str> = unquote(v).split(',').map(str::trim).collect();
        let [nb, offset, rest @ ..] = args.as_slice() else {
            return Err(bad(kw, "needs at least: bytes, offset"));
        };
        let nbytes = self.nbytes(kw, nb)?;
        let offset = self.num_or_var(kw, offset, |s| parse_i64_base0(s).filter(|n| (-65535..=65535).contains(n)))?;
        let o = byte_opts(
            kw,
            rest,
            &[
                "relative",
                "string",
                "hex",
                "dec",
                "oct",
                "big",
                "little",
                "dce",
                "bitmask",
                "multiplier",
                "align",
                "from_beginning",
                "from_end",
                "post_offset",
            ],
        )?;
        if o.from_beginning && o.from_end {
            return Err(bad(kw, "from_beginning and from_end can't be used together"));
        }
        check_nbytes(kw, nbytes, o.string.is_some())?;
        let j = ByteJump {
            nbytes,
            offset,
            relative: o.relative,
            multiplier: o.multiplier.unwrap_or(1),
            endian: o.endian,
            string: o.string,
            align: o.align.is_some(),
            from_beginning: o.from_beginning,
            from_end: o.from_end,
            post_offset: o.post_offset,
            bitmask: o.bitmask,
        };
        let li = self.target_list(if j.relative { Target2::PrevMatch } else { Target2::Current });
        self.push(li, PayloadMatch::ByteJump(j));
        Ok(())
    }

    fn byte_extract(&mut self, kw: &str, v: &str) -> PResult<()> {
        let args: Vec<&str> = unquote(v).split(',').map(str::trim).collect();
        if args.len() > 10 {
            return Err(bad(kw, "too many options"));
        }
        let [nb, offset, name, rest @ ..] = args.as_slice() else {
            return Err(bad(kw, "needs at least: bytes, offset, variable name"));
        };
        let nbytes: u8 = nb.parse().map_err(|_| bad(kw, format!("invalid number of bytes '{}'", shorten(nb))))?;
        let offset: i32 = offset.parse::<i32>().ok().filter(|o| i16::try_from(*o).is_ok()).ok_or_else(|| {
            bad(kw, format!("invalid offset '{}' (must be between -32768 and 32767)", shorten(offset)))
        })?;
        if name.is_empty() || name.parse::<u64>().is_ok() || name.contains(char::is_whitespace) {
            return Err(bad(kw, format!("invalid variable name '{}'", shorten(name))));
        }
        let o = byte_opts(
            kw,
            rest,
            &[
                "relative",
                "string",
                "hex",
                "dec",
                "oct",
                "big",
                "little",
                "dce",
                "bitmask",
                "multiplier",
                "align",
                "slice",
            ],
        )?;
        if o.string.is_some() && o.endian_set {
            return Err(bad(kw, "can't specify string and an endianness"));
        }
        if o.string.is_some() && o.slice {
            return Err(bad(kw, "string and slice are mutually exclusive"));
        }
        let max = match o.string {
            Some(StringBase::Oct) => 23,
            Some(StringBase::Dec) => 20,
            Some(StringBase::Hex) => 14,
            None => 8,
        };
        if nbytes == 0 || nbytes > max {
            return Err(bad(kw, format!("can extract 1 to {max} bytes here, not {nbytes}")));
        }
        let var = self.new_var(kw, name)?;
        let e = ByteExtract {
            nbytes,
            offset,
            var,
            relative: o.relative,
            multiplier: o.multiplier.unwrap_or(1),
            endian: o.endian,
            string: o.string,
            align: o.align.unwrap_or(0),
            bitmask: o.bitmask,
        };
        let li = self.target_list(if e.relative { Target2::PrevMatch } else { Target2::Current });
        self.push(li, PayloadMatch::ByteExtract(e));
        Ok(())
    }

    fn byte_math(&mut self, kw: &str, v: &str) -> PResult<()> {
        let parts: Vec<&str> = unquote(v).split(',').map(str::trim).collect();
        if parts.len() < 5 || parts.len() > 10 {
            return Err(bad(kw, "needs bytes, offset, oper, rvalue and result (and at most 5 options)"));
        }
        let (mut nbytes, mut offset, mut op, mut rvalue, mut result) = (None, None, None, None, None);
        let (mut relative, mut endian, mut string, mut bitmask) = (false, None, None, None);
        for p in &parts {
            let (name, val) = match p.split_once(char::is_whitespace) {
                Some((n, v)) => (n, v.trim()),
                None => (*p, ""),
            };
            let dup = || bad(kw, format!("'{name}' given twice"));
            match name {
                "bytes" => {
                    let n: u8 = val
                        .parse()
                        .ok()
                        .filter(|n| (1..=10).contains(n))
                        .ok_or_else(|| bad(kw, format!("invalid bytes '{}' (1 to 10)", shorten(val))))?;
                    if nbytes.replace(n).is_some() {
                        return Err(dup());
                    }
                }
                "offset" => {
                    let o: i32 = val
                        .parse()
                        .ok()
                        .filter(|o| (-65535..=65535).contains(o))
                        .ok_or_else(|| bad(kw, format!("invalid offset '{}'", shorten(val))))?;
                    if offset.replace(o).is_some() {
                        return Err(dup());
                    }
                }
                "oper" => {
                    let o = match val {
                        "+" => MathOp::Add,
                        "-" => MathOp::Sub,
                        "*" => MathOp::Mul,
                        "/" => MathOp::Div,
                        "<<" => MathOp::Shl,
                        ">>" => MathOp::Shr,
                        _ => return Err(bad(kw, format!("unknown oper '{}'", shorten(val)))),
                    };
                    if op.replace(o).is_some() {
                        return Err(dup());
                    }
                }
                "rvalue" => {
                    let r = match val.parse::<u64>() {
                        Ok(n) => Num::Lit(i64::from(
                            u32::try_from(n).map_err(|_| bad(kw, format!("rvalue {n} is above {}", u32::MAX)))?,
                        )),
                        Err(_) if !val.is_empty() => Num::Var(self.var_slot(val).ok_or_else(|| {
                            bad(kw, format!("unknown byte_extract/byte_math variable '{}'", shorten(val)))
                        })?),
                        Err(_) => return Err(bad(kw, "empty rvalue")),
                    };
                    if rvalue.replace(r).is_some() {
                        return Err(dup());
                    }
                }
                "result" => {
                    if val.is_empty() {
                        return Err(bad(kw, "empty result name"));
                    }
                    if result.replace(val).is_some() {
                        return Err(dup());
                    }
                }
                "relative" => {
                    if std::mem::replace(&mut relative, true) {
                        return Err(dup());
                    }
                }
                "endian" | "dce" => {
                    let e = match (name, val) {
                        ("dce", _) => ByteEndian::Dce,
                        (_, "big") => ByteEndian::Big,
                        (_, "little") => ByteEndian::Little,
                        (_, "dce") => ByteEndian::Dce,
                        _ => return Err(bad(kw, format!("invalid endian '{}'", shorten(val)))),
                    };
                    if endian.replace(e).is_some() {
                        return Err(bad(kw, "endianness given twice"));
                    }
                }
                "string" => {
                    let b =
                        string_base(val).ok_or_else(|| bad(kw, format!("invalid string base '{}'", shorten(val))))?;
                    if string.replace(b).is_some() {
                        return Err(dup());
                    }
                }
                "bitmask" => {
                    let m = parse_hex_u32(val).ok_or_else(|| bad(kw, format!("invalid bitmask '{}'", shorten(val))))?;
                    if bitmask.replace(u64::from(m)).is_some() {
                        return Err(dup());
                    }
                }
                _ => return Err(bad(kw, format!("unknown option '{}'", shorten(name)))),
            }
        }
        let (Some(nbytes), Some(offset), Some(op), Some(rvalue), Some(result)) = (nbytes, offset, op, rvalue, result)
        else {
            return Err(bad(kw, "needs bytes, offset, oper, rvalue and result"));
        };
        if matches!(op, MathOp::Shl | MathOp::Shr) && nbytes > 4 {
            return Err(bad(kw, "bytes must be 1 to 4 with << or >>"));
        }
        let result = self.new_var(kw, result)?;
        let m = ByteMath {
            nbytes,
            offset,
            op,
            rvalue,
            result,
            relative,
            endian: endian.unwrap_or_default(),
            string,
            bitmask,
        };
        let li = self.target_list(if relative { Target2::PrevMatch } else { Target2::Current });
        self.push(li, PayloadMatch::ByteMath(m));
        Ok(())
    }

    fn isdataat(&mut self, kw: &str, v: &str) -> PResult<()> {
        let mut s = unquote(v).trim();
        let mut negated = false;
        if let Some(r) = s.strip_prefix('!') {
            negated = true;
            s = r.trim_start();
        }
        let mut parts = s.split(',').map(str::trim);
        let pos = parts.next().unwrap_or("");
        let offset = self.num_or_var(kw, pos, |t| parse_u16(t).map(i64::from))?;
        let mut relative = false;
        for p in parts {
            match p {
                "relative" => relative = true,
                "rawbytes" => {}
                _ => return Err(bad(kw, format!("unknown option '{}'", shorten(p)))),
            }
        }
        let li = self.target_list(if relative { Target2::PrevMatch } else { Target2::Current });
        self.push(li, PayloadMatch::IsDataAt(IsDataAt { negated, offset, relative }));
        Ok(())
    }

    /// Number of bytes of a byte_test / byte_jump (a variable there is not supported).
    fn nbytes(&self, kw: &str, s: &str) -> PResult<u8> {
        if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(PErr {
                kind: ErrorKind::Unsupported(format!("{kw} with a variable number of bytes")),
                msg: format!("{kw}: a variable number of bytes is not supported yet"),
            });
        }
        s.parse::<u8>().map_err(|_| bad(kw, format!("invalid number of bytes '{}'", shorten(s))))
    }
}

/// Suricata checks only the upper bound (ET Open has `byte_test:0,=,0,0,string,dec`).
fn check_nbytes(kw: &str, n: u8, string: bool) -> PResult<()> {
    let max = if string { 23 } else { 8 };
    if n > max {
        let how = if string { "with string" } else { "without string" };
        return Err(bad(kw, format!("can read at most {max} bytes {how}, not {n}")));
    }
    Ok(())
}

/// Options shared by byte_test, byte_jump and byte_extract.
#[derive(Default)]
struct ByteOpts {
    relative: bool,
    endian: ByteEndian,
    endian_set: bool,
    string: Option<StringBase>,
    bitmask: Option<u64>,
    multiplier: Option<u32>,
    align: Option<u8>,
    from_beginning: bool,
    from_end: bool,
    post_offset: i32,
    slice: bool,
}

fn string_base(s: &str) -> Option<StringBase> {
    match s {
        "hex" => Some(StringBase::Hex),
        "dec" => Some(StringBase::Dec),
        "oct" => Some(StringBase::Oct),
        _ => None,
    }
}

fn byte_opts(kw: &str, args: &[&str], allowed: &[&str]) -> PResult<ByteOpts> {
    let mut o = ByteOpts::default();
    let mut string = false;
    let mut base: Option<StringBase> = None;
    let (mut dce, mut big_little) = (false, false);
    for a in args {
        let (name, val) = match a.split_once(char::is_whitespace) {
            Some((n, v)) => (n, v.trim()),
            None => (*a, ""),
        };
        let lname = name.to_ascii_lowercase();
        if !allowed.contains(&lname.as_str()) {
            return Err(bad(kw, format!("unknown option '{}'", shorten(a))));
        }
        let takes_value = matches!(lname.as_str(), "bitmask" | "multiplier" | "post_offset")
            || (lname == "align" && kw == "byte_extract");
        if takes_value == val.is_empty() {
            return Err(bad(kw, format!("invalid option '{}'", shorten(a))));
        }
        match lname.as_str() {
            "relative" => o.relative = true,
            "string" => string = true,
            "hex" | "dec" | "oct" => {
                if kw == "byte_extract" && !string {
                    return Err(bad(kw, "string must come before its base"));
                }
                if base.replace(string_base(&lname).unwrap_or(StringBase::Dec)).is_some() {
                    return Err(bad(kw, "string base given twice"));
                }
            }
            "big" | "little" | "dce" => {
                if o.endian_set && kw == "byte_extract" {
                    return Err(bad(kw, "endianness given twice"));
                }
                o.endian_set = true;
                if lname == "dce" {
                    dce = true;
                } else {
                    big_little = true;
                }
                o.endian = match lname.as_str() {
                    "big" => ByteEndian::Big,
                    "little" => ByteEndian::Little,
                    _ => ByteEndian::Dce,
                };
            }
            "bitmask" => {
                o.bitmask = Some(u64::from(
                    parse_hex_u32(val).ok_or_else(|| bad(kw, format!("invalid bitmask '{}'", shorten(val))))?,
                ))
            }
            "multiplier" => {
                let m = parse_u64_base0(val)
                    .and_then(|m| u32::try_from(m).ok())
                    .filter(|m| *m > 0 && (kw != "byte_extract" || *m <= u32::from(u16::MAX)))
                    .ok_or_else(|| bad(kw, format!("invalid multiplier '{}'", shorten(val))))?;
                o.multiplier = Some(m);
            }
            "align" => {
                let a = if kw == "byte_extract" {
                    val.parse::<u8>()
                        .ok()
                        .filter(|a| *a == 2 || *a == 4)
                        .ok_or_else(|| bad(kw, "align must be 2 or 4"))?
                } else {
                    4
                };
                o.align = Some(a);
            }
            "from_beginning" => o.from_beginning = true,
            "from_end" => o.from_end = true,
            "post_offset" => {
                o.post_offset = parse_i64_base0(val)
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| bad(kw, format!("invalid post_offset '{}'", shorten(val))))?
            }
            "slice" => o.slice = true,
            _ => return Err(bad(kw, format!("unknown option '{}'", shorten(a)))),
        }
    }
    if base.is_some() && !string {
        return Err(bad(kw, "a string base needs 'string'"));
    }
    if string {
        o.string = Some(base.unwrap_or(StringBase::Dec));
    }
    if dce && (string || big_little) {
        return Err(bad(kw, "dce can't be combined with string or an endianness"));
    }
    Ok(o)
}

/// Suricata's `DetectPcreHasUpperCase`: an uppercase character outside escapes.
fn pcre_has_upper(re: &str) -> bool {
    let (mut meta, mut meta_hex, mut hex_cnt) = (false, false, 0);
    for c in re.chars() {
        if meta_hex {
            hex_cnt += 1;
            if hex_cnt == 2 {
                meta_hex = false;
                hex_cnt = 0;
            }
        } else if meta {
            if c == 'x' {
                meta_hex = true;
            } else {
                meta = false;
            }
        } else if c == '\\' {
            meta = true;
        } else if c.is_ascii_uppercase() {
            return true;
        }
    }
    false
}

/// `sid` value: 1 to 4294967294.
fn parse_sid(v: &str) -> Result<u32, String> {
    let n: u64 = v.trim().parse().map_err(|_| format!("invalid number '{}'", shorten(v)))?;
    if n == 0 {
        return Err("sid 0 is not allowed".into());
    }
    u32::try_from(n).ok().filter(|n| *n < u32::MAX).ok_or_else(|| format!("{n} is too large"))
}

fn parse_u32_dec(kw: &str, v: &str) -> PResult<u32> {
    unquote(v).trim().parse::<u32>().map_err(|_| bad(kw, format!("invalid number '{}'", shorten(v))))
}

impl Builder {
    fn meta(&mut self, kw: &str, v: &str, ctx: &ParseContext) -> PResult<()> {
        match kw {
            "msg" => {
                if self.msg.is_some() {
                    return Err(bad(kw, "given twice"));
                }
                let (_, inner) = quoted_value(kw, v, false, true)?;
                let mut out = String::with_capacity(inner.len());
                let mut esc = false;
                for c in inner.chars() {
                    if !esc && c == '\\' {
                        esc = true;
                    } else {
                        out.push(c);
                        esc = false;
                    }
                }
                self.msg = Some(out);
            }
            "sid" => {
                if self.sid.is_some() {
                    return Err(bad(kw, "given twice"));
                }
                self.sid = Some(parse_sid(unquote(v)).map_err(|e| bad(kw, e))?);
            }
            "rev" => {
                if self.rev.is_some() {
                    return Err(bad(kw, "given twice"));
                }
                self.rev = Some(parse_u32_dec(kw, v)?);
            }
            "gid" => {
                if self.gid.is_some() {
                    return Err(bad(kw, "given twice"));
                }
                self.gid = Some(parse_u32_dec(kw, v)?);
            }
            "priority" => {
                let p = unquote(v).trim();
                let n: u8 = p.parse().map_err(|_| bad(kw, format!("invalid priority '{}' (0 to 255)", shorten(p))))?;
                self.priority = Some(n);
            }
            "classtype" => {
                let name = unquote(v).trim();
                let Some(c) = ctx.classes.get(name) else {
                    return Err(bad(kw, format!("unknown classtype '{}'", shorten(name))));
                };
                // Two classtypes: Suricata keeps the one with the highest priority.
                let keep_old = matches!(&self.classtype, Some((_, _, p)) if *p <= c.priority);
                if !keep_old {
                    self.classtype = Some((c.name.clone(), c.description.clone(), c.priority));
                }
            }
            "metadata" => {
                for item in v.split(',') {
                    let item = item.trim_start_matches([' ', '\t']);
                    let Some((key, val)) = item.split_once(' ') else { continue };
                    let (key, val) = (key.trim(), val.trim());
                    if key.is_empty() || val.is_empty() {
                        continue;
                    }
                    match self.metadata.iter_mut().find(|(k, _)| k == key) {
                        Some((_, vals)) => vals.push(val.to_string()),
                        None => self.metadata.push((key.to_string(), vec![val.to_string()])),
                    }
                }
            }
            "reference" => {
                let Some((t, val)) = unquote(v).split_once(',') else {
                    return Err(bad(kw, "expected <type>,<reference>"));
                };
                let (t, val) = (t.trim(), unquote(val.trim()));
                if t.is_empty() || val.is_empty() {
                    return Err(bad(kw, "expected <type>,<reference>"));
                }
                let full = match ctx.references.get(&t.to_ascii_lowercase()) {
                    Some(prefix) => format!("{prefix}{val}"),
                    None => val.to_string(),
                };
                self.references.push((t.to_string(), full));
            }
            "target" => {
                self.target = Some(match unquote(v).trim() {
                    "src_ip" => Target::Src,
                    "dest_ip" => Target::Dst,
                    t => return Err(bad(kw, format!("'{}' is not src_ip or dest_ip", shorten(t)))),
                });
            }
            _ => return Err(bad(kw, "unknown meta keyword")),
        }
        Ok(())
    }

    fn packet_kw(&mut self, kw: &str, v: &str) -> PResult<()> {
        let s = unquote(v).trim();
        let inv = || bad(kw, format!("invalid value '{}'", shorten(s)));
        let m = match kw {
            "dsize" => {
                if self.packet.iter().any(|m| matches!(m, PacketMatch::Dsize(_))) {
                    return Err(bad(kw, "can't use two dsize keywords in the same rule"));
                }
                PacketMatch::Dsize(parse_uint_cmp(s, u64::from(u16::MAX)).ok_or_else(inv)?)
            }
            "ttl" => PacketMatch::Ttl(parse_uint_cmp(s, 255).ok_or_else(inv)?),
            "itype" => PacketMatch::Itype(parse_uint_cmp(s, 255).ok_or_else(inv)?),
            "icode" => PacketMatch::Icode(parse_uint_cmp(s, 255).ok_or_else(inv)?),
            "tcp.mss" => PacketMatch::TcpMss(parse_uint_cmp(s, u64::from(u16::MAX)).ok_or_else(inv)?),
            "stream_size" => {
                let mut it = s.split(',').map(str::trim);
                let (Some(side), Some(op), Some(n), None) = (it.next(), it.next(), it.next(), it.next()) else {
                    return Err(bad(
                        kw,
                        format!("expected <server|client|both|either>,<op>,<number>, got '{}'", shorten(s)),
                    ));
                };
                let side = match side {
                    "server" => StreamSizeSide::Server,
                    "client" => StreamSizeSide::Client,
                    "both" => StreamSizeSide::Both,
                    "either" => StreamSizeSide::Either,
                    _ => {
                        return Err(bad(
                            kw,
                            format!("invalid side '{}' (server, client, both or either)", shorten(side)),
                        ))
                    }
                };
                let n = u64::from(n.parse::<u32>().map_err(|_| bad(kw, format!("invalid size '{}'", shorten(n))))?);
                let cmp = match op {
                    "<" => NumCmp::Lt(n),
                    "<=" => NumCmp::Le(n),
                    "=" => NumCmp::Eq(n),
                    "!=" => NumCmp::Ne(n),
                    ">" => NumCmp::Gt(n),
                    ">=" => NumCmp::Ge(n),
                    _ => return Err(bad(kw, format!("invalid operator '{}' (<, <=, =, !=, >, >=)", shorten(op)))),
                };
                PacketMatch::StreamSize(side, cmp)
            }
            "tos" => {
                let (neg, n) = bang(s);
                let n = match n
                    .strip_prefix(['x', 'X'])
                    .or_else(|| n.strip_prefix("0x"))
                    .or_else(|| n.strip_prefix("0X"))
                {
                    Some(h) if (1..=2).contains(&h.len()) => u8::from_str_radix(h, 16).ok(),
                    Some(_) => None,
                    None if (1..=3).contains(&n.len()) => n.parse::<u8>().ok(),
                    None => None,
                }
                .ok_or_else(inv)?;
                PacketMatch::Tos(if neg { NumCmp::Ne(n.into()) } else { NumCmp::Eq(n.into()) })
            }
            "id" => PacketMatch::Id(NumCmp::Eq(s.parse::<u16>().map_err(|_| inv())?.into())),
            "window" => {
                let (neg, n) = bang(s);
                let n: u16 = n.parse().map_err(|_| inv())?;
                PacketMatch::Window(if neg { NumCmp::Ne(n.into()) } else { NumCmp::Eq(n.into()) })
            }
            "fragoffset" => {
                let (cmp, n) = match s.as_bytes().first() {
                    Some(b'<') => ("<", s.get(1..).unwrap_or("")),
                    Some(b'>') => (">", s.get(1..).unwrap_or("")),
                    Some(b'!') => ("!", s.get(1..).unwrap_or("")),
                    _ => ("", s),
                };
                let n = u64::from(n.trim().parse::<u16>().map_err(|_| inv())?);
                PacketMatch::FragOffset(match cmp {
                    "<" => NumCmp::Lt(n),
                    ">" => NumCmp::Gt(n),
                    "!" => NumCmp::Ne(n),
                    _ => NumCmp::Eq(n),
                })
            }
            "ip_proto" => {
                let (cmp, n) = match s.as_bytes().first() {
                    Some(b'<') => ("<", s.get(1..).unwrap_or("").trim()),
                    Some(b'>') => (">", s.get(1..).unwrap_or("").trim()),
                    Some(b'!') => ("!", s.get(1..).unwrap_or("").trim()),
                    _ => ("", s),
                };
                let n = match n.parse::<u8>() {
                    Ok(n) => n,
                    Err(_) => {
                        ip_proto_number(n).ok_or_else(|| bad(kw, format!("unknown protocol '{}'", shorten(n))))?
                    }
                };
                let n = u64::from(n);
                PacketMatch::IpProto(match cmp {
                    "<" => NumCmp::Lt(n),
                    ">" => NumCmp::Gt(n),
                    "!" => NumCmp::Ne(n),
                    _ => NumCmp::Eq(n),
                })
            }
            "ipopts" => {
                const NAMES: &[&str] =
                    &["rr", "eol", "nop", "ts", "sec", "esec", "lsrr", "lsrre", "ssrr", "satid", "any"];
                let n = s.to_ascii_lowercase();
                if !NAMES.contains(&n.as_str()) {
                    return Err(bad(kw, format!("unknown IP option '{}'", shorten(s))));
                }
                PacketMatch::IpOpts(n)
            }
            "fragbits" => {
                let (bits, _ignore, modifier) = parse_flag_letters(kw, s, |c| match c {
                    'M' => Some(0x2000),
                    'D' => Some(0x4000),
                    'R' => Some(0x8000),
                    _ => None,
                })?;
                PacketMatch::FragBits(FragBits { bits: bits as u16, modifier })
            }
            "flags" => {
                if self.packet.iter().any(|m| matches!(m, PacketMatch::Flags(_))) {
                    return Err(bad(kw, "can't use two flags keywords in the same rule"));
                }
                let (flags, ignore, modifier) = parse_flag_letters(kw, s, |c| match c {
                    'F' => Some(0x01),
                    'S' => Some(0x02),
                    'R' => Some(0x04),
                    'P' => Some(0x08),
                    'A' => Some(0x10),
                    'U' => Some(0x20),
                    'E' | '2' => Some(0x40),
                    'C' | '1' => Some(0x80),
                    '0' => Some(0),
                    _ => None,
                })?;
                PacketMatch::Flags(TcpFlags { flags: flags as u8, ignore: ignore as u8, modifier })
            }
            "seq" => PacketMatch::Seq(s.parse::<u32>().map_err(|_| inv())?),
            "ack" => PacketMatch::Ack(s.parse::<u32>().map_err(|_| inv())?),
            "icmp_id" => PacketMatch::IcmpId(unquote(s).trim().parse::<u16>().map_err(|_| inv())?),
            "icmp_seq" => PacketMatch::IcmpSeq(unquote(s).trim().parse::<u16>().map_err(|_| inv())?),
            "sameip" => PacketMatch::SameIp,
            "app-layer-protocol" => self.app_layer_protocol(kw, s)?,
            _ => return Err(bad(kw, "unknown packet keyword")),
        };
        self.packet.push(m);
        Ok(())
    }

    fn app_layer_protocol(&mut self, kw: &str, s: &str) -> PResult<PacketMatch> {
        let mut parts = s.split(',').map(str::trim);
        let first = parts.next().unwrap_or("");
        let (negated, names) = bang(first);
        let mut mode: Option<AppProtoMode> = None;
        let mut exact = false;
        for q in parts {
            let m = match q {
                "direction" => AppProtoMode::Direction,
                "to_server" => AppProtoMode::ToServer,
                "to_client" => AppProtoMode::ToClient,
                "either" => AppProtoMode::Either,
                "final" => AppProtoMode::Final,
                "original" => AppProtoMode::Original,
                "exact" if !exact => {
                    exact = true;
                    continue;
                }
                _ => return Err(bad(kw, format!("unknown qualifier '{}'", shorten(q)))),
            };
            if mode.replace(m).is_some() {
                return Err(bad(kw, "at most one mode"));
            }
        }
        let mode = mode.unwrap_or_default();
        let mut canon = Vec::new();
        for n in names.split('|').map(str::trim) {
            let c = match n.to_ascii_lowercase().as_str() {
                "failed" => "failed".to_string(),
                "unknown" if !negated => "unknown".to_string(),
                "unknown" => return Err(bad(kw, "'unknown' can't be negated")),
                other => match app_proto(other) {
                    Some((name, _)) => name.to_string(),
                    None => return Err(bad(kw, format!("unknown app-layer protocol '{}'", shorten(n)))),
                },
            };
            canon.push(c);
        }
        let names = canon.join("|");
        for them in &self.alprotos {
            let same_mode = them.mode == mode;
            if same_mode && (them.negated != negated || !negated || them.names == names) {
                return Err(bad(kw, "can't mix positive and negated app-layer-protocol matches, or repeat one"));
            }
        }
        self.alprotos.push(AlProtoKw { names: names.clone(), negated, mode });
        Ok(PacketMatch::AppLayerProtocol { name: names, negated, mode, exact })
    }

    fn flow_kw(&mut self, kw: &str, v: &str) -> PResult<()> {
        let s = unquote(v);
        match kw {
            "flow" => {
                if self.flow_full {
                    return Err(bad(kw, "a rule may have only one flow option"));
                }
                let opts: Vec<&str> = s.split(',').map(str::trim).collect();
                if opts.is_empty() || opts.len() > 3 || opts.iter().any(|o| o.is_empty()) {
                    return Err(bad(kw, format!("invalid options '{}' (one to three)", shorten(s))));
                }
                let mut f = FlowOpts::default();
                for o in &opts {
                    let conflict = |why: &str| Err(bad(kw, format!("'{o}' {why}")));
                    match o.to_ascii_lowercase().as_str() {
                        "established" => {
                            if f.established || f.stateless || f.not_established {
                                return conflict("conflicts with another state option");
                            }
                            f.established = true;
                        }
                        "not_established" => {
                            if f.not_established || f.established {
                                return conflict("conflicts with another state option");
                            }
                            f.not_established = true;
                        }
                        "stateless" => {
                            if f.stateless || f.established {
                                return conflict("conflicts with another state option");
                            }
                            f.stateless = true;
                        }
                        "to_server" | "from_client" => {
                            if f.to_server || f.to_client {
                                return conflict("conflicts with another direction");
                            }
                            f.to_server = true;
                        }
                        "to_client" | "from_server" => {
                            if f.to_server || f.to_client {
                                return conflict("conflicts with another direction");
                            }
                            f.to_client = true;
                        }
                        "only_stream" => {
                            if f.only_stream || f.no_stream {
                                return conflict("conflicts with only_stream/no_stream");
                            }
                            f.only_stream = true;
                        }
                        "no_stream" => {
                            if f.only_stream || f.no_stream {
                                return conflict("conflicts with only_stream/no_stream");
                            }
                            f.no_stream = true;
                        }
                        "only_frag" => {
                            if f.only_frag || f.no_frag {
                                return conflict("conflicts with only_frag/no_frag");
                            }
                            f.only_frag = true;
                        }
                        "no_frag" => {
                            if f.only_frag || f.no_frag {
                                return conflict("conflicts with only_frag/no_frag");
                            }
                            f.no_frag = true;
                        }
                        _ => return Err(bad(kw, format!("invalid flow option '{}'", shorten(o)))),
                    }
                }
                // Suricata: a flow with only a direction leaves room for another flow keyword.
                let direction_only = FlowOpts { to_server: f.to_server, to_client: f.to_client, ..Default::default() };
                if f != direction_only || f.no_stream {
                    self.flow_full = true;
                }
                if let Some(old) = &self.flow {
                    if (old.to_server && f.to_client) || (old.to_client && f.to_server) {
                        return Err(bad(kw, "conflicting directions"));
                    }
                    f.to_server |= old.to_server;
                    f.to_client |= old.to_client;
                }
                self.flow = Some(f);
            }
            "flowbits" => self.flowbits_kw(kw, s)?,
            "noalert" => self.noalert = true,
            "threshold" | "detection_filter" => {
                if self.threshold.is_some() || self.detection_filter.is_some() {
                    return Err(bad(kw, "only one threshold or detection_filter per rule"));
                }
                let t = parse_threshold(kw, s)?;
                if kw == "threshold" {
                    self.threshold = Some(t);
                } else {
                    self.detection_filter = Some(t);
                }
            }
            _ => return Err(bad(kw, "unknown flow keyword")),
        }
        Ok(())
    }

    fn flowbits_kw(&mut self, kw: &str, s: &str) -> PResult<()> {
        let (cmd, name) = match s.split_once(',') {
            Some((c, n)) => (c, n.trim()),
            None => (s, ""),
        };
        if cmd.is_empty() || !cmd.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(bad(kw, format!("'{}' is not a valid setting", shorten(s))));
        }
        let cmd = match cmd {
            "noalert" => {
                if !name.is_empty() {
                    return Err(bad(kw, "noalert takes no name"));
                }
                self.noalert = true;
                return Ok(());
            }
            "set" => FlowbitCmd::Set,
            "setother" => FlowbitCmd::SetOther,
            "unset" => FlowbitCmd::Unset,
            "toggle" => FlowbitCmd::Toggle,
            "isset" => FlowbitCmd::IsSet,
            "isnotset" => FlowbitCmd::IsNotSet,
            c => return Err(bad(kw, format!("'{}' is not a flowbits command", shorten(c)))),
        };
        if name.is_empty() {
            return Err(bad(kw, "needs a flowbit name"));
        }
        if name.len() > 255 {
            return Err(bad(kw, "flowbit name longer than 255 characters"));
        }
        let (join, sep) = match (name.contains('|'), name.contains('&')) {
            (true, true) => return Err(bad(kw, "can't mix '|' and '&'")),
            (true, false) => (FlowbitJoin::Any, Some('|')),
            (false, true) => (FlowbitJoin::All, Some('&')),
            (false, false) => (FlowbitJoin::All, None),
        };
        if join == FlowbitJoin::Any && !matches!(cmd, FlowbitCmd::IsSet | FlowbitCmd::IsNotSet) {
            return Err(bad(kw, "'|' is only allowed with isset and isnotset"));
        }
        let names: Vec<String> = match sep {
            Some(c) => name.split(c).map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect(),
            None => vec![name.to_string()],
        };
        if names.is_empty() {
            return Err(bad(kw, "no valid flowbit names"));
        }
        if names.iter().any(|n| n.contains(char::is_whitespace)) {
            return Err(bad(kw, "spaces are not allowed in flowbit names"));
        }
        self.flowbits.push(PendingFlowbit { cmd, names, join });
        Ok(())
    }
}

fn bang(s: &str) -> (bool, &str) {
    match s.trim().strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, s.trim()),
    }
}

/// `threshold` / `detection_filter`: comma-separated `name value` pairs, each once.
fn parse_threshold(kw: &str, s: &str) -> PResult<Threshold> {
    let (mut kind, mut track, mut count, mut seconds, mut multiplier) = (None, None, None, None, None);
    for part in s.split(',') {
        let part = part.trim();
        let Some((name, val)) = part.split_once(char::is_whitespace) else {
            return Err(bad(kw, format!("invalid option '{}'", shorten(part))));
        };
        let val = val.trim();
        let dup = || bad(kw, format!("'{name}' given twice"));
        let num = || val.parse::<u32>().map_err(|_| bad(kw, format!("invalid number '{}'", shorten(val))));
        match name.to_ascii_lowercase().as_str() {
            "type" if kw == "threshold" => {
                let t = match val.to_ascii_lowercase().as_str() {
                    "limit" => ThresholdType::Limit,
                    "threshold" => ThresholdType::Threshold,
                    "both" => ThresholdType::Both,
                    "backoff" => ThresholdType::Backoff,
                    _ => return Err(bad(kw, format!("unknown type '{}'", shorten(val)))),
                };
                if kind.replace(t).is_some() {
                    return Err(dup());
                }
            }
            "track" => {
                let t = match val.to_ascii_lowercase().as_str() {
                    "by_src" => Track::BySrc,
                    "by_dst" => Track::ByDst,
                    "by_rule" => Track::ByRule,
                    "by_both" => Track::ByBoth,
                    "by_flow" => Track::ByFlow,
                    _ => return Err(bad(kw, format!("unknown track '{}'", shorten(val)))),
                };
                if track.replace(t).is_some() {
                    return Err(dup());
                }
            }
            "count" => {
                if count.replace(num()?).is_some() {
                    return Err(dup());
                }
            }
            "seconds" => {
                if seconds.replace(num()?).is_some() {
                    return Err(dup());
                }
            }
            "multiplier" if kw == "threshold" => {
                if multiplier.replace(num()?).is_some() {
                    return Err(dup());
                }
            }
            _ => return Err(bad(kw, format!("unknown option '{}'", shorten(name)))),
        }
    }
    let kind =
        if kw == "threshold" { kind.ok_or_else(|| bad(kw, "needs a type"))? } else { ThresholdType::DetectionFilter };
    let track = track.ok_or_else(|| bad(kw, "needs a track"))?;
    let count = count.ok_or_else(|| bad(kw, "needs a count"))?;
    if kind == ThresholdType::Backoff {
        if seconds.is_some() {
            return Err(bad(kw, "type backoff takes a multiplier, not seconds"));
        }
        if track != Track::ByFlow {
            return Err(bad(kw, "type backoff is only supported with track by_flow"));
        }
        let m = multiplier.ok_or_else(|| bad(kw, "type backoff needs a multiplier"))?;
        if count == 0 || m == 0 {
            return Err(bad(kw, "count and multiplier must be above 0"));
        }
        return Ok(Threshold { kind, track, count, seconds: 0, multiplier: m });
    }
    if multiplier.is_some() {
        return Err(bad(kw, "multiplier is only for type backoff"));
    }
    let seconds = seconds.ok_or_else(|| bad(kw, "needs seconds"))?;
    if kind == ThresholdType::DetectionFilter && count == 0 {
        return Err(bad(kw, "count must be above 0"));
    }
    Ok(Threshold { kind, track, count, seconds, multiplier: 1 })
}

/// Flag letters with a modifier (`+`, `*`, `!`) and an optional `,<ignored letters>`.
fn parse_flag_letters(kw: &str, s: &str, bit: impl Fn(char) -> Option<u32>) -> PResult<(u32, u32, FlagsMod)> {
    let (main, ign) = match s.split_once(',') {
        Some((m, i)) => (m.trim(), Some(i.trim())),
        None => (s.trim(), None),
    };
    let mut modifier = FlagsMod::Exact;
    let mut bits = 0u32;
    let mut zero = false;
    let mut letters = 0;
    for c in main.chars().filter(|c| !c.is_whitespace()) {
        let m = match c {
            '+' => Some(FlagsMod::Plus),
            '*' => Some(FlagsMod::Any),
            '!' => Some(FlagsMod::Not),
            _ => None,
        };
        if let Some(m) = m {
            if modifier != FlagsMod::Exact {
                return Err(bad(kw, "only one modifier (+, * or !)"));
            }
            modifier = m;
            continue;
        }
        let b = bit(c.to_ascii_uppercase()).ok_or_else(|| bad(kw, format!("invalid flag '{}'", c.escape_default())))?;
        zero |= c == '0';
        letters += 1;
        bits |= b;
    }
    if letters == 0 || (zero && letters > 1) {
        return Err(bad(kw, format!("invalid flags '{}'", shorten(s))));
    }
    let mut ignore = 0u32;
    if let Some(i) = ign {
        if i.is_empty() {
            return Err(bad(kw, "empty ignore mask"));
        }
        for c in i.chars() {
            match bit(c.to_ascii_uppercase()) {
                Some(b) if c != '0' => ignore |= b,
                _ => return Err(bad(kw, format!("invalid flag '{}' in the ignore mask", c.escape_default()))),
            }
        }
    }
    Ok((bits, ignore, modifier))
}

fn ip_proto_number(name: &str) -> Option<u8> {
    const P: &[(&str, u8)] = &[
        ("ip", 0),
        ("hopopt", 0),
        ("icmp", 1),
        ("igmp", 2),
        ("ggp", 3),
        ("ipencap", 4),
        ("st", 5),
        ("tcp", 6),
        ("egp", 8),
        ("igp", 9),
        ("pup", 12),
        ("udp", 17),
        ("hmp", 20),
        ("xns-idp", 22),
        ("rdp", 27),
        ("iso-tp4", 29),
        ("dccp", 33),
        ("xtp", 36),
        ("ddp", 37),
        ("idpr-cmtp", 38),
        ("ipv6", 41),
        ("ipv6-route", 43),
        ("ipv6-frag", 44),
        ("idrp", 45),
        ("rsvp", 46),
        ("gre", 47),
        ("esp", 50),
        ("ah", 51),
        ("skip", 57),
        ("ipv6-icmp", 58),
        ("ipv6-nonxt", 59),
        ("ipv6-opts", 60),
        ("rspf", 73),
        ("vmtp", 81),
        ("eigrp", 88),
        ("ospf", 89),
        ("ax.25", 93),
        ("ipip", 94),
        ("etherip", 97),
        ("encap", 98),
        ("pim", 103),
        ("ipcomp", 108),
        ("vrrp", 112),
        ("l2tp", 115),
        ("isis", 124),
        ("sctp", 132),
        ("fc", 133),
        ("mobility-header", 135),
        ("udplite", 136),
        ("mpls-in-ip", 137),
        ("manet", 138),
        ("hip", 139),
        ("shim6", 140),
        ("wesp", 141),
        ("rohc", 142),
    ];
    P.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(_, v)| v)
}

// ---- numbers --------------------------------------------------------------------------

fn parse_u16(s: &str) -> Option<u16> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_i32(s: &str) -> Option<i32> {
    let s = s.trim();
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// strtoull with base 0: `0x` hex, leading `0` octal, else decimal.
fn parse_u64_base0(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if s.len() > 1 && s.starts_with('0') {
        return u64::from_str_radix(s.get(1..)?, 8).ok();
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_i64_base0(s: &str) -> Option<i64> {
    let s = s.trim();
    match s.strip_prefix('-') {
        Some(r) => parse_u64_base0(r).and_then(|n| i64::try_from(n).ok()).map(|n| -n),
        None => parse_u64_base0(s).and_then(|n| i64::try_from(n).ok()),
    }
}

fn parse_hex_u32(s: &str) -> Option<u32> {
    let s = s.trim();
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    if h.is_empty() {
        return None;
    }
    u32::from_str_radix(h, 16).ok()
}

fn parse_cmp_num(s: &str, max: u64) -> Option<u64> {
    let s = s.trim_matches(' ');
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) if !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) => u64::from_str_radix(h, 16).ok()?,
        Some(_) => return None,
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok()?,
        None => return None,
    };
    (n <= max).then_some(n)
}

/// Suricata's integer comparison (`detect_parse_uint`): `N`, `=N`, `!N`, `!=N`, `<N`, `<=N`,
/// `>N`, `>=N`, `A-B` or `A<>B` (exclusive, B > A + 1), `!A-B`. Values up to `max`.
pub fn parse_uint_cmp(s: &str, max: u64) -> Option<NumCmp> {
    let s = s.trim_matches(' ');
    let range = |r: &str| -> Option<(u64, u64)> {
        let (a, b) = r.split_once("<>").or_else(|| r.split_once('-'))?;
        let (a, b) = (parse_cmp_num(a, max)?, parse_cmp_num(b, max)?);
        (b > a && b - a > 1).then_some((a, b))
    };
    if let Some((a, b)) = range(s) {
        return Some(NumCmp::Range(a, b));
    }
    type Make = fn(u64) -> NumCmp;
    let ops: [(&str, Make); 7] = [
        (">=", NumCmp::Ge),
        ("<=", NumCmp::Le),
        (">", NumCmp::Gt),
        ("<", NumCmp::Lt),
        ("!=", NumCmp::Ne),
        ("!", NumCmp::Ne),
        ("=", NumCmp::Eq),
    ];
    for (op, make) in ops {
        if let Some(r) = s.strip_prefix(op) {
            if op == "!" {
                if let Some((a, b)) = range(r.trim_matches(' ')) {
                    return Some(NumCmp::NotRange(a, b));
                }
            }
            let n = parse_cmp_num(r, max)?;
            let ok = match op {
                "<" | ">=" => n > 0,
                "<=" | ">" => n < max,
                _ => true,
            };
            return ok.then(|| make(n));
        }
    }
    parse_cmp_num(s, max).map(NumCmp::Eq)
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
            let Buffer::Sticky(name) = &l.buffer else { continue };
            if l.items.is_empty() {
                return Err(bad(name, "sticky buffer without matches"));
            }
            let contents = l.items.iter().filter_map(|(_, m)| match m {
                PayloadMatch::Content(c) => Some(c),
                _ => None,
            });
            if l.transforms.is_empty() {
                match name.as_str() {
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
            })
            .collect();
        Rule {
            action: self.action.unwrap_or(Action::Alert),
            proto: self.proto.unwrap_or(RuleProto { transport: Transport::Ip, tcp_mode: TcpMode::Both, app: None }),
            src: self.src,
            src_ports: self.src_ports,
            bidirectional: self.bidirectional,
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
    use super::*;

    fn ctx() -> ParseContext {
        let mut c = ParseContext::new(&VarsConfig::default());
        c.set_origin("t.rules", 7);
        c
    }

    fn p(rule: &str) -> Result<Rule, RuleError> {
        parse_rule(rule, &mut ctx())
    }

    /// `alert tcp any any -> any any (<opts> sid:1;)`
    fn opts(o: &str) -> Result<Rule, RuleError> {
        p(&format!("alert tcp any any -> any any ({o} sid:1;)"))
    }

    fn ok(o: &str) -> Rule {
        match opts(o) {
            Ok(r) => r,
            Err(e) => panic!("{o}: {e}"),
        }
    }

    fn err(o: &str) -> RuleError {
        match opts(o) {
            Ok(_) => panic!("{o}: parsed"),
            Err(e) => e,
        }
    }

    fn bad_value(o: &str, kw: &str) {
        let e = err(o);
        assert_eq!(e.kind, ErrorKind::BadValue(kw.into()), "{o}: {e}");
    }

    fn list<'a>(r: &'a Rule, b: &str) -> &'a BufferList {
        let want = if b == "payload" { Buffer::Payload } else { Buffer::Sticky(b.into()) };
        r.buffers.iter().find(|l| l.buffer == want).unwrap_or_else(|| panic!("no list {b}: {:?}", r.buffers))
    }

    fn contents(l: &BufferList) -> Vec<&Content> {
        l.matches.iter().filter_map(|m| if let PayloadMatch::Content(c) = m { Some(c) } else { None }).collect()
    }

    fn first_content(r: &Rule, b: &str) -> Content {
        contents(list(r, b)).first().map(|c| (*c).clone()).expect("a content")
    }

    #[test]
    fn header_fields() {
        let r = p("drop udp [10.0.0.0/8, 192.168.1.1] [53,5353] <> $EXTERNAL_NET !80 (sid:5;)").unwrap();
        assert_eq!(r.action, Action::Drop);
        assert_eq!(r.proto, RuleProto { transport: Transport::Udp, tcp_mode: TcpMode::Both, app: None });
        assert!(r.bidirectional);
        assert_eq!(r.src.include.len(), 2);
        assert_eq!(r.src_ports.include.len(), 2);
        assert!(r.dst_ports.any && r.dst_ports.exclude.len() == 1);
        assert_eq!((r.sid, r.gid, r.rev, r.priority), (5, 1, 0, 3));
        assert_eq!(r.origin, Origin { file: "t.rules".into(), line: 7 });
        for (a, want) in [
            ("pass", Action::Pass),
            ("reject", Action::Reject),
            ("rejectboth", Action::Reject),
            ("alert", Action::Alert),
        ] {
            assert_eq!(p(&format!("{a} ip any any -> any any (sid:1;)")).unwrap().action, want);
        }
        let proto = |s: &str| p(&format!("alert {s} any any -> any any (sid:1;)")).map(|r| r.proto);
        assert_eq!(proto("tcp-pkt").unwrap().tcp_mode, TcpMode::Packet);
        assert_eq!(proto("tcp-stream").unwrap().tcp_mode, TcpMode::Stream);
        assert_eq!(proto("icmpv6").unwrap().transport, Transport::Icmpv6);
        assert_eq!(proto("pkt").unwrap().transport, Transport::Ip);
        assert_eq!(
            proto("http").unwrap(),
            RuleProto { transport: Transport::Tcp, tcp_mode: TcpMode::Both, app: Some("http".into()) }
        );
        assert_eq!(proto("dns").unwrap().transport, Transport::Ip);
        assert_eq!(proto("ntp").unwrap().transport, Transport::Udp);
        assert_eq!(proto("nope").unwrap_err().kind, ErrorKind::BadValue("protocol".into()));
        assert_eq!(p("alert tcp any any => any any (sid:1;)").unwrap_err().kind, ErrorKind::Syntax);
        assert_eq!(p("block tcp any any -> any any (sid:1;)").unwrap_err().kind, ErrorKind::Syntax);
        assert_eq!(p("alert tcp any any -> any (sid:1;)").unwrap_err().kind, ErrorKind::Syntax);
    }

    #[test]
    fn variables() {
        let e = p("alert tcp $NOPE any -> any any (sid:1;)").unwrap_err();
        assert_eq!(e.kind, ErrorKind::UndefinedVariable("NOPE".into()));
        let mut cfg = VarsConfig::default();
        cfg.address.insert("LOOP".into(), "[1.1.1.1,$LOOP2]".into());
        cfg.address.insert("LOOP2".into(), "$LOOP".into());
        let mut c = ParseContext::new(&cfg);
        let e = parse_rule("alert tcp $LOOP any -> any any (sid:1;)", &mut c).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::CircularVariable(_)), "{e}");
        let e = p("alert tcp any $NOPE_PORTS -> any any (sid:1;)").unwrap_err();
        assert_eq!(e.kind, ErrorKind::UndefinedVariable("NOPE_PORTS".into()));
        assert_eq!(
            p("alert tcp any 70000 -> any any (sid:1;)").unwrap_err().kind,
            ErrorKind::BadValue("source port".into())
        );
        assert_eq!(
            p("alert tcp !any any -> any any (sid:1;)").unwrap_err().kind,
            ErrorKind::BadValue("source address".into())
        );
    }

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
    fn content_hex() {
        let r = ok(r#"content:"GET |20 2f|x|0D0a|";"#);
        assert_eq!(first_content(&r, "payload").pattern, b"GET  /x\r\n".to_vec());
        let r = ok(r#"content:!"|00|";"#);
        assert!(first_content(&r, "payload").negated);
        let e = err(r#"content:"|0|";"#);
        assert_eq!(e.kind, ErrorKind::BadValue("content".into()));
        assert!(e.message.contains("odd number of hex digits"), "{e}");
        let e = err(r#"content:"|0g|";"#);
        assert!(e.message.contains("invalid hex character"), "{e}");
        let e = err(r#"content:"ab|41";"#);
        assert_eq!(e.message, "content: unbalanced '|' in hex");
        bad_value(r#"content:"\x";"#, "content");
        bad_value("content:abc;", "content");
        bad_value(r#"content:"";"#, "content");
        bad_value(r#"content:"a"b";"#, "content");
    }

    #[test]
    fn content_modifiers() {
        let r = ok(
            r#"content:"abc"; nocase; offset:2; depth:5; content:"de"; distance:-1; within:4; content:"f"; fast_pattern; startswith; content:"g"; endswith; rawbytes;"#,
        );
        let c = contents(list(&r, "payload"));
        assert!(c[0].nocase && c[0].offset == Some(Num::Lit(2)) && c[0].depth == Some(Num::Lit(5)));
        assert!(c[1].distance == Some(Num::Lit(-1)) && c[1].within == Some(Num::Lit(4)) && c[1].is_relative());
        assert!(c[2].startswith && c[2].fast_pattern == FastPattern::Yes);
        assert!(c[3].endswith && c[3].rawbytes);
        assert_eq!(
            first_content(&ok(r#"content:"abcd"; fast_pattern:only;"#), "payload").fast_pattern,
            FastPattern::Only
        );
        assert_eq!(
            first_content(&ok(r#"content:"abcd"; fast_pattern:1,2;"#), "payload").fast_pattern,
            FastPattern::Chop(1, 2)
        );
        bad_value(r#"content:"abcd"; fast_pattern:3,2;"#, "fast_pattern");
        bad_value(r#"content:"ab"; fast_pattern; content:"cd"; fast_pattern;"#, "fast_pattern");
        bad_value(r#"content:"abcd"; depth:3;"#, "depth");
        bad_value(r#"content:"abcd"; within:3;"#, "within");
        bad_value(r#"content:"abcd"; depth:4; depth:5;"#, "depth");
        bad_value(r#"content:"abcd"; depth:5; distance:1;"#, "distance");
        bad_value(r#"content:"abcd"; within:5; offset:1;"#, "offset");
        bad_value(r#"content:"abcd"; startswith; offset:1;"#, "offset");
        bad_value(r#"content:"a"; nocase; nocase;"#, "nocase");
        bad_value(r#"content:"a"; depth:x;"#, "depth");
        bad_value(r#"content:"a"; depth:70000;"#, "depth");
        bad_value("nocase;", "nocase");
        bad_value("depth:4;", "depth");
        bad_value(r#"content:"ab"; fast_pattern:only; content:"c"; distance:0;"#, "distance");
        // distance/within without a previous match: relative to the buffer start.
        assert!(first_content(&ok(r#"content:"a"; distance:0;"#), "payload").is_relative());
        // Values from byte_extract variables.
        let r = ok(r#"content:"a"; byte_extract:2,0,len,relative; content:"b"; within:len; distance:len;"#);
        assert_eq!(r.vars, 1);
        assert_eq!(contents(list(&r, "payload"))[1].within, Some(Num::Var(0)));
        bad_value(r#"content:"a"; content:"b"; within:nope;"#, "within");
    }

    #[test]
    fn sticky_buffers_and_legacy_modifiers() {
        let r = ok(r#"http.uri; content:"/a"; nocase; http.host; content:"x.com"; pkt_data; content:"raw";"#);
        assert!(first_content(&r, "http.uri").nocase);
        assert_eq!(first_content(&r, "http.host").pattern, b"x.com".to_vec());
        assert_eq!(first_content(&r, "payload").pattern, b"raw".to_vec());
        // Legacy: the content moves with its modifiers; later modifiers still reach it.
        let r = ok(r#"content:"GET"; nocase; http_method; depth:3; content:"/x"; http_uri; content:"y"; http_uri;"#);
        let m = first_content(&r, "http.method");
        assert!(m.nocase && m.depth == Some(Num::Lit(3)));
        assert_eq!(contents(list(&r, "http.uri")).len(), 2);
        assert!(!r.buffers.iter().any(|l| l.buffer == Buffer::Payload));
        // Aliases and uricontent.
        let r = ok(r#"uricontent:"u"; file_data; content:"a";"#);
        bad_value(r#"file_data; content:"a"; uricontent:"u";"#, "uricontent");
        assert_eq!(contents(list(&r, "file.data")).len(), 1);
        assert_eq!(contents(list(&r, "http.uri")).len(), 1);
        // Non-multi buffers reuse their list, multi buffers start a new one.
        let r = ok(r#"http.uri; content:"a"; pkt_data; http.uri; content:"b";"#);
        assert_eq!(r.buffers.len(), 1);
        let r = p(r#"alert dns any any -> any any (dns.query; content:"a"; dns.query; content:"b"; sid:1;)"#).unwrap();
        assert_eq!(r.buffers.len(), 2);
        // Modifiers in a sticky buffer need a content there.
        bad_value(r#"content:"a"; http.uri; nocase;"#, "nocase");
        bad_value(r#"http.uri; content:"a"; http_header;"#, "http_header");
        bad_value("http_uri;", "http_uri");
        bad_value(r#"http.uri; http.host; content:"a";"#, "http.host");
        bad_value("http.uri;", "http.uri");
        bad_value(r#"content:"a"; rawbytes; http_uri;"#, "http_uri");
        // Conflicting protocols.
        assert!(p(r#"alert dns any any -> any any (http.uri; content:"a"; sid:1;)"#).is_err());
        bad_value(r#"http.uri; content:"a"; tls.sni; content:"b";"#, "tls.sni");
        assert!(p(r#"alert http2 any any -> any any (http.uri; content:"a"; sid:1;)"#).is_ok());
        // Buffer validation callbacks.
        bad_value(r#"http.host; content:"X.com";"#, "http.host");
        assert!(opts(r#"http.host; content:"X.com"; nocase;"#).is_ok());
        bad_value(r#"http.method; content:"GET ";"#, "http.method");
        bad_value(r#"ja3.hash; content:"abc";"#, "ja3.hash");
    }

    #[test]
    fn transforms() {
        let r = ok(r#"http.uri; to_lowercase; url_decode; content:"a"; xor:"0a0B"; content:"b";"#);
        assert_eq!(r.buffers.len(), 2);
        assert_eq!(r.buffers[0].transforms, vec![Transform::ToLowercase, Transform::UrlDecode]);
        assert_eq!(r.buffers[1].transforms, vec![Transform::Xor(vec![0x0a, 0x0b])]);
        bad_value("to_lowercase;", "to_lowercase");
        bad_value(r#"http.uri; xor:"abc"; content:"a";"#, "xor");
        bad_value(r#"http.uri; to_md5; pkt_data; content:"a";"#, "pkt_data");
        bad_value(r#"http.uri; pcrexform:"(a"; content:"a";"#, "pcrexform");
    }

    #[test]
    fn pcre() {
        let r = ok(r#"content:"a"; pcre:!"/b[0-9]+\/c/ismxAEGRO";"#);
        let PayloadMatch::Pcre(pc) = &list(&r, "payload").matches[1] else { panic!() };
        assert_eq!(pc.expr, r"b[0-9]+\/c");
        assert!(pc.negated && pc.caseless && pc.dotall && pc.multiline && pc.extended);
        assert!(pc.anchored && pc.dollar_endonly && pc.ungreedy && pc.relative && pc.no_limit);
        // Buffer letters put the pcre in that buffer's list.
        for (f, b) in [
            ("U", "http.uri"),
            ("I", "http.uri.raw"),
            ("P", "http.request_body"),
            ("Q", "file.data"),
            ("H", "http.header"),
            ("D", "http.header.raw"),
            ("M", "http.method"),
            ("C", "http.cookie"),
            ("S", "http.stat_code"),
            ("Y", "http.stat_msg"),
            ("V", "http.user_agent"),
            ("W", "http.host"),
            ("Z", "http.host.raw"),
        ] {
            let r = ok(&format!(r#"pcre:"/a/{f}";"#));
            assert!(matches!(list(&r, b).matches[0], PayloadMatch::Pcre(_)), "{f}");
        }
        // Same buffer as the sticky one: fine; another: error.
        assert!(opts(r#"http.uri; content:"a"; pcre:"/b/UR";"#).is_ok());
        bad_value(r#"http.host; content:"a"; pcre:"/b/U";"#, "pcre");
        assert!(opts(r#"http.response_body; content:"a"; pcre:"/b/Q";"#).is_ok());
        bad_value(r#"pcre:"/a/UH";"#, "pcre");
        bad_value(r#"pcre:"/a/BU";"#, "pcre");
        bad_value(r#"pcre:"/a/q";"#, "pcre");
        bad_value(r#"pcre:"/a(/";"#, "pcre");
        bad_value(r#"pcre:"/[a/";"#, "pcre");
        bad_value(r#"pcre:"a/b";"#, "pcre");
        bad_value(r#"pcre:"/a/R";"#, "pcre");
        bad_value(r#"pcre:"/Ab/W";"#, "pcre");
        assert!(opts(r#"http.uri; pcre:"/a/R";"#).is_ok());
        // Captures.
        let r = ok(r#"pcre:"/(?P<flow_x>a)(b)/,pkt:y";"#);
        let PayloadMatch::Pcre(pc) = &list(&r, "payload").matches[0] else { panic!() };
        assert_eq!(pc.captures, vec!["flow_x".to_string(), "pkt_y".to_string()]);
    }

    #[test]
    fn byte_keywords_and_isdataat() {
        let r = ok(
            r#"content:"a"; byte_test:2,!&,0x10,-1,relative,little,bitmask 0xff; byte_jump:4,0,relative,multiplier 2,align,from_end,post_offset -3,string,hex; byte_extract:1,0,v1,relative,multiplier 3,align 4,dce; byte_math:bytes 2,offset 1,oper <<,rvalue v1,result v2,relative,endian little; byte_test:1,>=,v2,v1; isdataat:!10,relative; isdataat:v1;"#,
        );
        let m = &list(&r, "payload").matches;
        let PayloadMatch::ByteTest(t) = &m[1] else { panic!("{m:?}") };
        assert_eq!((t.nbytes, t.negated, t.op, t.value, t.offset), (2, true, ByteOp::And, Num::Lit(16), Num::Lit(-1)));
        assert!(t.relative && t.endian == ByteEndian::Little && t.bitmask == Some(0xff));
        let PayloadMatch::ByteJump(j) = &m[2] else { panic!() };
        assert!(j.relative && j.align && j.from_end && j.multiplier == 2 && j.post_offset == -3);
        assert_eq!(j.string, Some(StringBase::Hex));
        let PayloadMatch::ByteExtract(e) = &m[3] else { panic!() };
        assert_eq!((e.nbytes, e.var, e.multiplier, e.align, e.endian), (1, 0, 3, 4, ByteEndian::Dce));
        let PayloadMatch::ByteMath(bm) = &m[4] else { panic!() };
        assert_eq!((bm.op, bm.rvalue, bm.result, bm.endian), (MathOp::Shl, Num::Var(0), 1, ByteEndian::Little));
        let PayloadMatch::ByteTest(t) = &m[5] else { panic!() };
        assert_eq!((t.op, t.value, t.offset), (ByteOp::Ge, Num::Var(1), Num::Var(0)));
        assert_eq!(m[6], PayloadMatch::IsDataAt(IsDataAt { negated: true, offset: Num::Lit(10), relative: true }));
        assert_eq!(m[7], PayloadMatch::IsDataAt(IsDataAt { negated: false, offset: Num::Var(0), relative: false }));
        assert_eq!(r.vars, 2);
        // != and a bare !
        let r = ok("byte_test:1,!=,010,0; byte_test:1,!,1,0,string;");
        let PayloadMatch::ByteTest(t) = &list(&r, "payload").matches[0] else { panic!() };
        assert_eq!((t.negated, t.op, t.value), (true, ByteOp::Eq, Num::Lit(8)));
        bad_value("byte_test:9,=,1,0;", "byte_test");
        bad_value("byte_test:1,=,1,0,hex;", "byte_test");
        bad_value("byte_test:1,~,1,0;", "byte_test");
        bad_value("byte_test:1,=,1;", "byte_test");
        bad_value("byte_test:1,=,nope,0;", "byte_test");
        bad_value("byte_jump:4,0,from_beginning,from_end;", "byte_jump");
        bad_value("byte_test:1,=,1,0,little,dce;", "byte_test");
        bad_value("byte_jump:4,0,dce,string;", "byte_jump");
        bad_value("byte_extract:4,0,12;", "byte_extract");
        bad_value("byte_extract:4,0;", "byte_extract");
        bad_value("byte_extract:9,0,v;", "byte_extract");
        bad_value("byte_extract:4,0,v,hex;", "byte_extract");
        bad_value("byte_extract:4,0,v,align 3;", "byte_extract");
        bad_value("byte_math:bytes 5,offset 0,oper >>,rvalue 1,result r;", "byte_math");
        bad_value("byte_math:bytes 2,offset 0,oper +,rvalue 1;", "byte_math");
        bad_value("isdataat:70000;", "isdataat");
        bad_value("isdataat:1,absolute;", "isdataat");
        assert!(matches!(err("byte_test:n,=,1,0;").kind, ErrorKind::Unsupported(_)));
        // Relative keywords outside a sticky buffer follow the previous match's list.
        let r = ok(r#"content:"a"; http_uri; isdataat:1,relative;"#);
        assert_eq!(list(&r, "http.uri").matches.len(), 2);
    }

    #[test]
    fn bsize_urilen_dsize() {
        let r = ok(r#"http.uri; bsize:<=10; content:"a"; urilen:2<>9,raw; dsize:>5;"#);
        assert_eq!(list(&r, "http.uri").matches[0], PayloadMatch::Bsize(NumCmp::Le(10)));
        assert_eq!(list(&r, "http.uri.raw").matches[0], PayloadMatch::Urilen(NumCmp::Range(2, 9)));
        assert_eq!(r.packet, vec![PacketMatch::Dsize(NumCmp::Gt(5))]);
        let r = ok("urilen:5;");
        assert_eq!(list(&r, "http.uri").matches[0], PayloadMatch::Urilen(NumCmp::Eq(5)));
        bad_value("bsize:5;", "bsize");
        bad_value(r#"http.uri; content:"abcdef"; bsize:3;"#, "bsize");
        bad_value(r#"content:"abcdef"; dsize:<3;"#, "dsize");
        bad_value("dsize:1; dsize:2;", "dsize");
        bad_value("dsize:70000;", "dsize");
        bad_value("urilen:5,odd;", "urilen");
    }

    #[test]
    fn uint_comparisons() {
        let c = |s: &str| parse_uint_cmp(s, 255);
        assert_eq!(c("5"), Some(NumCmp::Eq(5)));
        assert_eq!(c("=5"), Some(NumCmp::Eq(5)));
        assert_eq!(c(" != 5 "), Some(NumCmp::Ne(5)));
        assert_eq!(c("!5"), Some(NumCmp::Ne(5)));
        assert_eq!(c("<5"), Some(NumCmp::Lt(5)));
        assert_eq!(c("<=5"), Some(NumCmp::Le(5)));
        assert_eq!(c(">5"), Some(NumCmp::Gt(5)));
        assert_eq!(c(">=5"), Some(NumCmp::Ge(5)));
        assert_eq!(c("1-5"), Some(NumCmp::Range(1, 5)));
        assert_eq!(c("1<>5"), Some(NumCmp::Range(1, 5)));
        assert_eq!(c("!1-5"), Some(NumCmp::NotRange(1, 5)));
        assert_eq!(c("0x10"), Some(NumCmp::Eq(16)));
        for bad in ["", "256", "<0", ">255", "5-6", "6-5", "a", "5x", "--1", "1-"] {
            assert_eq!(c(bad), None, "{bad}");
        }
    }

    #[test]
    fn packet_keywords() {
        let r = ok("ttl:<10; tos:!x10; id:1234; ip_proto:!tcp; ipopts:lsrr; fragbits:M+; fragoffset:>100; flags:SA*,12; seq:7; ack:8; window:!1024; tcp.mss:>=536; itype:8; icode:0<>3; icmp_id:5; icmp_seq:\"6\"; sameip; app-layer-protocol:!http,final;");
        assert_eq!(
            r.packet,
            vec![
                PacketMatch::Ttl(NumCmp::Lt(10)),
                PacketMatch::Tos(NumCmp::Ne(16)),
                PacketMatch::Id(NumCmp::Eq(1234)),
                PacketMatch::IpProto(NumCmp::Ne(6)),
                PacketMatch::IpOpts("lsrr".into()),
                PacketMatch::FragBits(FragBits { bits: 0x2000, modifier: FlagsMod::Plus }),
                PacketMatch::FragOffset(NumCmp::Gt(100)),
                PacketMatch::Flags(TcpFlags { flags: 0x12, ignore: 0xc0, modifier: FlagsMod::Any }),
                PacketMatch::Seq(7),
                PacketMatch::Ack(8),
                PacketMatch::Window(NumCmp::Ne(1024)),
                PacketMatch::TcpMss(NumCmp::Ge(536)),
                PacketMatch::Itype(NumCmp::Eq(8)),
                PacketMatch::Icode(NumCmp::Range(0, 3)),
                PacketMatch::IcmpId(5),
                PacketMatch::IcmpSeq(6),
                PacketMatch::SameIp,
                PacketMatch::AppLayerProtocol {
                    name: "http".into(),
                    negated: true,
                    mode: AppProtoMode::Final,
                    exact: false
                },
            ]
        );
        let r = ok("flags:0; app-layer-protocol:dns|TLS,exact; ip_proto:17;");
        assert_eq!(r.packet[0], PacketMatch::Flags(TcpFlags { flags: 0, ignore: 0, modifier: FlagsMod::Exact }));
        let alp = PacketMatch::AppLayerProtocol {
            name: "dns|tls".into(),
            negated: false,
            mode: AppProtoMode::Direction,
            exact: true,
        };
        assert_eq!(r.packet[1], alp);
        assert!(opts("app-layer-protocol:!http; app-layer-protocol:!tls;").is_ok());
        bad_value("app-layer-protocol:http; app-layer-protocol:tls;", "app-layer-protocol");
        bad_value("app-layer-protocol:nope;", "app-layer-protocol");
        bad_value("app-layer-protocol:!unknown;", "app-layer-protocol");
        bad_value("ttl:300;", "ttl");
        bad_value("ttl:abc;", "ttl");
        bad_value("flags:SX;", "flags");
        bad_value("flags:S0;", "flags");
        bad_value("flags:+S!;", "flags");
        bad_value("ipopts:bogus;", "ipopts");
        bad_value("ip_proto:bogus;", "ip_proto");
        bad_value("window:70000;", "window");
        bad_value("seq:-1;", "seq");
        bad_value("sameip:1;", "sameip");
    }

    #[test]
    fn flow_options() {
        let r = ok("flow:established,to_server;");
        assert!(r.flow.established && r.flow.to_server && !r.flow.to_client);
        let r = ok("flow:from_server,not_established,only_stream;");
        assert!(r.flow.to_client && r.flow.not_established && r.flow.only_stream);
        let r = ok("flow:stateless,no_frag,no_stream;");
        assert!(r.flow.stateless && r.flow.no_frag && r.flow.no_stream);
        for bad in [
            "flow:to_server,to_client;",
            "flow:established,not_established;",
            "flow:established,stateless;",
            "flow:only_stream,no_stream;",
            "flow:only_frag,no_frag;",
            "flow:established,established;",
            "flow:sideways;",
            "flow:established,to_server,no_stream,no_frag;",
            "flow:established; flow:to_server;",
        ] {
            bad_value(bad, "flow");
        }
    }

    #[test]
    fn flowbits() {
        let mut c = ctx();
        let r = parse_rule("alert tcp any any -> any any (flowbits:set,a; flowbits:isset,b|a; flowbits:unset,c&a; flowbits:isnotset, x | y ; flowbits:noalert; sid:1;)", &mut c).unwrap();
        assert!(r.noalert);
        assert_eq!(r.flowbits[0], Flowbit { cmd: FlowbitCmd::Set, bits: vec![0], join: FlowbitJoin::All });
        assert_eq!(r.flowbits[1], Flowbit { cmd: FlowbitCmd::IsSet, bits: vec![1, 0], join: FlowbitJoin::Any });
        assert_eq!(r.flowbits[2], Flowbit { cmd: FlowbitCmd::Unset, bits: vec![2, 0], join: FlowbitJoin::All });
        assert_eq!(r.flowbits[3].bits, vec![3, 4]);
        assert_eq!(c.flowbit_names(), ["a", "b", "c", "x", "y"]);
        // A rule that fails interns nothing.
        assert!(parse_rule("alert tcp any any -> any any (flowbits:set,zzz; nope; sid:2;)", &mut c).is_err());
        assert_eq!(c.flowbit_names().len(), 5);
        let r = parse_rule(
            "alert tcp any any -> any any (flowbits:toggle,b; flowbits:setother,q; noalert; sid:3;)",
            &mut c,
        )
        .unwrap();
        assert_eq!((r.flowbits[0].cmd, r.flowbits[1].cmd, r.noalert), (FlowbitCmd::Toggle, FlowbitCmd::SetOther, true));
        for bad in [
            "flowbits:set;",
            "flowbits:flip,a;",
            "flowbits:set,a|b;",
            "flowbits:isset,a|b&c;",
            "flowbits:isset,a b;",
            "flowbits:noalert,a;",
            "flowbits:SET,a;",
        ] {
            bad_value(bad, "flowbits");
        }
    }

    #[test]
    fn thresholds() {
        let r = ok("threshold: type limit, track by_src, count 1, seconds 60;");
        assert_eq!(
            r.threshold,
            Some(Threshold { kind: ThresholdType::Limit, track: Track::BySrc, count: 1, seconds: 60, multiplier: 1 })
        );
        let r = ok("threshold:seconds 5,count 3,track by_rule,type both;");
        assert_eq!(r.threshold.map(|t| (t.kind, t.track)), Some((ThresholdType::Both, Track::ByRule)));
        let r = ok("threshold:type backoff, track by_flow, count 1, multiplier 10;");
        assert_eq!(
            r.threshold,
            Some(Threshold {
                kind: ThresholdType::Backoff,
                track: Track::ByFlow,
                count: 1,
                seconds: 0,
                multiplier: 10
            })
        );
        let r = ok("detection_filter:track by_dst, count 10, seconds 60;");
        assert_eq!(r.detection_filter.map(|t| (t.kind, t.count)), Some((ThresholdType::DetectionFilter, 10)));
        bad_value("threshold:type limit, track by_src, count 1;", "threshold");
        bad_value("threshold:type limit, track by_src, count 1, seconds 1, count 2;", "threshold");
        bad_value("threshold:type sometimes, track by_src, count 1, seconds 1;", "threshold");
        bad_value("threshold:type backoff, track by_src, count 1, multiplier 2;", "threshold");
        bad_value("threshold:type backoff, track by_flow, count 1, seconds 2;", "threshold");
        bad_value("threshold:type limit, track by_src, count 1, seconds 1, multiplier 2;", "threshold");
        bad_value("threshold:type limit, track by_src, count x, seconds 1;", "threshold");
        bad_value("detection_filter:track by_src, count 1, seconds 1; threshold:type limit, track by_src, count 1, seconds 1;", "threshold");
    }

    #[test]
    fn stream_size_parses_as_suricata_and_refuses_the_rest() {
        let r = ok("stream_size:server,<,5;");
        assert_eq!(r.packet, vec![PacketMatch::StreamSize(StreamSizeSide::Server, NumCmp::Lt(5))]);
        let r = ok("stream_size: either , >= , 1800 ;");
        assert_eq!(r.packet, vec![PacketMatch::StreamSize(StreamSizeSide::Either, NumCmp::Ge(1800))]);
        for bad in [
            "stream_size:sever,<,5;",
            "stream_size:client,=<,5;",
            "stream_size:client,<,x;",
            "stream_size:client,<;",
            "stream_size:both,<,1,2;",
            "stream_size:both,<,4294967296;",
        ] {
            bad_value(bad, "stream_size");
        }
    }

    #[test]
    fn meta_keywords() {
        let r = ok(
            r#"msg:"hello"; rev:3; gid:5; classtype:trojan-activity; metadata: former_category MALWARE, tag a, tag b,created_at 2020_01_01, novalue; reference:url,example.com; reference:cve,2020-1; target:dest_ip; tag:session,5,packets;"#,
        );
        assert_eq!((r.msg.as_str(), r.rev, r.gid), ("hello", 3, 5));
        assert_eq!(r.classtype.as_deref(), Some("trojan-activity"));
        assert_eq!((r.priority, r.category.as_deref()), (1, Some("A Network Trojan was detected")));
        assert_eq!(
            r.metadata,
            vec![
                ("former_category".to_string(), vec!["MALWARE".to_string()]),
                ("tag".to_string(), vec!["a".to_string(), "b".to_string()]),
                ("created_at".to_string(), vec!["2020_01_01".to_string()]),
            ]
        );
        assert_eq!(
            r.references,
            vec![("url".to_string(), "example.com".to_string()), ("cve".to_string(), "2020-1".to_string())]
        );
        assert_eq!(r.target, Some(Target::Dst));
        assert_eq!(r.ignored_keywords, vec!["tag"]);
        // An explicit priority wins over the classtype's, in any order.
        assert_eq!(ok("priority:2; classtype:trojan-activity;").priority, 2);
        assert_eq!(ok("classtype:misc-activity;").priority, 3);
        // Reference prefixes from reference.config.
        let (refs, _) = parse_references("config reference: url http://\n");
        let mut c = ParseContext::with_tables(&VarsConfig::default(), Classifications::builtin(), refs);
        let r = parse_rule("alert ip any any -> any any (reference:url,x.org; sid:9;)", &mut c).unwrap();
        assert_eq!(r.references, vec![("url".to_string(), "http://x.org".to_string())]);
        bad_value("classtype:no-such-class;", "classtype");
        bad_value("msg:unquoted;", "msg");
        bad_value(r#"msg:"a"; msg:"b";"#, "msg");
        bad_value("priority:300;", "priority");
        bad_value("target:nowhere;", "target");
        bad_value("reference:nocomma;", "reference");
        assert_eq!(p("alert ip any any -> any any (sid:0;)").unwrap_err().kind, ErrorKind::BadValue("sid".into()));
        assert_eq!(
            p("alert ip any any -> any any (sid:1; sid:2;)").unwrap_err().kind,
            ErrorKind::BadValue("sid".into())
        );
        assert_eq!(p("alert ip any any -> any any (sid:12x;)").unwrap_err().kind, ErrorKind::BadValue("sid".into()));
        assert_eq!(
            p("alert ip any any -> any any (rev:x; sid:1;)").unwrap_err().kind,
            ErrorKind::BadValue("rev".into())
        );
        let e = p(r#"alert ip any any -> any any (msg:"x";)"#).unwrap_err();
        assert_eq!((e.kind, e.sid), (ErrorKind::MissingSid, None));
    }

    #[test]
    fn unknown_and_unsupported_keywords() {
        let e = err("frobnicate:1;");
        assert_eq!(e.kind, ErrorKind::UnknownKeyword("frobnicate".into()));
        assert_eq!(e.sid, Some(1));
        let e = err("xbits:set,a,track ip_src;");
        assert_eq!(e.kind, ErrorKind::Unsupported("keyword xbits".into()));
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
        let e = parse_rule(r#"alert tcp any any -> any any (content:"|4|"; sid:2001;)"#, &mut c).unwrap_err();
        assert_eq!(e.to_string(), "rules/x.rules:12: sid 2001: content: odd number of hex digits");
        let e = parse_rule(r#"alert tcp any any -> any any (content:"|41"; sid:2001;)"#, &mut c).unwrap_err();
        assert_eq!(e.to_string(), "rules/x.rules:12: sid 2001: content: unbalanced '|' in hex");
    }

    #[test]
    fn rule_lines_join_and_skip() {
        let text = b"# comment\n\nalert tcp any any -> any any ( \\\n  msg:\"x\"; \\\r\n  sid:1;)\n indented rule is skipped\n\talso\nalert ip any any -> any any (sid:2;)\r\nalert ip any any -> any any (sid:3;) \\";
        let v = rule_lines(text);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0], (3, "alert tcp any any -> any any (   msg:\"x\";   sid:1;)".to_string()));
        assert_eq!(v[1].0, 8);
        assert_eq!(v[2].0, 9);
        let mut c = ctx();
        for (line, t) in &v {
            c.set_origin("f", *line);
            assert!(parse_rule(t, &mut c).is_ok(), "{t}");
        }
    }

    #[test]
    fn load_files_folders_configs_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("classification.config"), "config classification: my-class,My Class,2\n").unwrap();
        std::fs::write(d.join("reference.config"), "config reference: url http://\n").unwrap();
        std::fs::write(
            d.join("b.rules"),
            "alert ip any any -> any any (msg:\"b\"; classtype:my-class; reference:url,x; flowbits:set,fb; sid:2;)\n\
             alert ip any any -> any any (msg:\"dup\"; sid:1;)\n",
        )
        .unwrap();
        std::fs::write(
            d.join("a.rules"),
            "alert ip any any -> any any (msg:\"a\"; sid:1;)\nalert ip any any -> any any (msg:\"bad\"; content:\"|1|\"; sid:3;)\n\
             alert ip any any -> any any (msg:\"other gid\"; sid:1; gid:2;)\n",
        )
        .unwrap();
        std::fs::write(d.join("notes.txt"), "not rules").unwrap();
        let set = load_rules(&[d.to_path_buf()], &VarsConfig::default(), None, None);
        assert_eq!(set.files, 2);
        let msgs: Vec<&str> = set.rules.iter().map(|r| r.msg.as_str()).collect();
        assert_eq!(msgs, ["a", "other gid", "b"]);
        assert_eq!(set.rules[2].priority, 2);
        assert_eq!(set.rules[2].category.as_deref(), Some("My Class"));
        assert_eq!(set.rules[2].references[0].1, "http://x");
        assert_eq!(set.flowbit_names, ["fb"]);
        assert_eq!(set.errors.len(), 2);
        assert_eq!((set.errors[0].line, set.errors[0].sid), (2, Some(3)));
        assert!(set.errors[0].file.ends_with("a.rules"));
        assert_eq!(set.errors[1].kind, ErrorKind::DuplicateSid);
        assert_eq!(set.errors[1].line, 2);
        // Explicit configs and files; a missing config is reported and the table falls back.
        let set = load_rules(&[d.join("b.rules")], &VarsConfig::default(), Some(&d.join("nope.config")), None);
        assert_eq!(set.rules.len(), 1);
        assert!(set.errors.iter().any(|e| e.line == 0 && e.message.contains("classification")));
        assert!(set.errors.iter().any(|e| e.kind == ErrorKind::BadValue("classtype".into())));
        let set = load_rules(&[d.join("missing.rules")], &VarsConfig::default(), None, None);
        assert_eq!((set.files, set.errors.len()), (0, 1));
    }
}
