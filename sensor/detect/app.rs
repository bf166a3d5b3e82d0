//! App-layer rules: sticky buffers (`http.uri`, `file.data`, `dns.query`, `tls.sni`, ...)
//! inspected per transaction, as Suricata's transaction engines do.
//!
//! Load time ([`AppSet::build`]): each rule with sticky buffers (or an app protocol in its
//! header and nothing to inspect in the payload) becomes an [`AppRule`]: its lists compiled,
//! its transforms compiled, its direction decided (explicit `flow:to_server/to_client`, else
//! the buffers' own side), and the progress its buffers need. Per (protocol, direction) and
//! per (buffer, transform list) one prefilter database of the rules' fast patterns.
//! Run time ([`super::engine::DetectEngine::run_app`]): when a transaction made progress on
//! the packet's side, its ready buffers are scanned with their databases; candidates whose
//! buffers are all final are verified once per transaction (a rule alerts at most once per
//! transaction), the rest wait for later progress.

use std::collections::HashMap;

use crate::app::detect::AppProto;
use crate::app::dns;
use crate::app::http::{HttpBuffer, HttpTx};
use crate::app::tls::TlsState;
use crate::detect::matcher::{Engine, Mpm, PatternSpec};
use crate::detect::transform::{self, Xform};
use crate::detect::verify::{self, CompiledList};
use crate::rule::ast::{Buffer, Content, PayloadMatch, Rule, Transform};

/// A sticky buffer the engine can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BufKind {
    /// An HTTP buffer.
    Http(HttpBuffer),
    /// `file.data`: the request body to the server, the response body to the client.
    FileData,
    /// `dns.query`: each question name of a request.
    DnsQuery,
    /// `dns.queries.rrname`: question names in either direction.
    DnsQueriesRrname,
    /// `dns.answer.name`.
    DnsAnswerName,
    /// `tls.sni`.
    TlsSni,
    /// `tls.cert_subject`.
    TlsCertSubject,
    /// `tls.cert_issuer`.
    TlsCertIssuer,
    /// `tls.cert_serial`.
    TlsCertSerial,
    /// `tls.cert_fingerprint`.
    TlsCertFingerprint,
    /// `tls.certs`: each certificate (DER).
    TlsCerts,
    /// `ja3.hash`.
    Ja3Hash,
    /// `ja3.string`.
    Ja3String,
    /// `ja3s.hash`.
    Ja3sHash,
    /// `ja3s.string`.
    Ja3sString,
    /// `http.request_header` / `http.response_header`: each "Name: value" field.
    HttpFieldLines,
    /// Payload keywords of an HTTP rule: the message head as sent (first line, header block).
    HttpRaw,
}

/// Which sides a buffer exists on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    ToServer,
    ToClient,
    Both,
}

/// Progress bits (HTTP), also used for TLS and DNS.
pub mod bits {
    /// Request line parsed.
    pub const REQ_LINE: u16 = 1;
    /// Request headers parsed.
    pub const REQ_HDR: u16 = 2;
    /// Request complete.
    pub const REQ_DONE: u16 = 4;
    /// Response line parsed.
    pub const RES_LINE: u16 = 8;
    /// Response headers parsed.
    pub const RES_HDR: u16 = 16;
    /// Response complete.
    pub const RES_DONE: u16 = 32;
    /// To-server bits.
    pub const TS: u16 = REQ_LINE | REQ_HDR | REQ_DONE;
    /// To-client bits.
    pub const TC: u16 = RES_LINE | RES_HDR | RES_DONE;
    /// Everything.
    pub const ALL: u16 = TS | TC;
}

/// Maps a rule buffer name to (protocol, kind, side).
fn lookup(name: &str) -> Option<(AppProto, BufKind, Side)> {
    use BufKind as K;
    use HttpBuffer as H;
    use Side::*;
    let h = |b, s| Some((AppProto::Http, K::Http(b), s));
    match name {
        "http.uri" => h(H::Uri, ToServer),
        "http.uri.raw" => h(H::UriRaw, ToServer),
        "http.method" => h(H::Method, ToServer),
        "http.request_line" => h(H::RequestLine, ToServer),
        "http.host" => h(H::Host, ToServer),
        "http.host.raw" => h(H::HostRaw, ToServer),
        "http.user_agent" => h(H::UserAgent, ToServer),
        "http.referer" => h(H::Referer, ToServer),
        "http.accept" => h(H::Accept, ToServer),
        "http.accept_lang" => h(H::AcceptLang, ToServer),
        "http.accept_enc" => h(H::AcceptEnc, ToServer),
        "http.request_body" => h(H::RequestBody, ToServer),
        "http.stat_code" => h(H::StatCode, ToClient),
        "http.stat_msg" => h(H::StatMsg, ToClient),
        "http.response_line" => h(H::ResponseLine, ToClient),
        "http.location" => h(H::Location, ToClient),
        "http.server" => h(H::Server, ToClient),
        "http.response_body" => h(H::ResponseBody, ToClient),
        "http.header" => h(H::Header, Both),
        "http.header.raw" => h(H::HeaderRaw, Both),
        "http.header_names" => h(H::HeaderNames, Both),
        "http.cookie" => h(H::Cookie, Both),
        "http.content_type" => h(H::ContentType, Both),
        "http.content_len" => h(H::ContentLen, Both),
        "http.connection" => h(H::Connection, Both),
        "http.start" => h(H::Start, Both),
        "http.protocol" => h(H::Protocol, Both),
        "file.data" => Some((AppProto::Unknown, K::FileData, Both)),
        "dns.query" => Some((AppProto::Dns, K::DnsQuery, ToServer)),
        "dns.queries.rrname" => Some((AppProto::Dns, K::DnsQueriesRrname, Both)),
        "dns.answer.name" | "dns.answers.rrname" => Some((AppProto::Dns, K::DnsAnswerName, Both)),
        "tls.sni" => Some((AppProto::Tls, K::TlsSni, ToServer)),
        "tls.cert_subject" => Some((AppProto::Tls, K::TlsCertSubject, ToClient)),
        "tls.cert_issuer" => Some((AppProto::Tls, K::TlsCertIssuer, ToClient)),
        "tls.cert_serial" => Some((AppProto::Tls, K::TlsCertSerial, ToClient)),
        "tls.cert_fingerprint" => Some((AppProto::Tls, K::TlsCertFingerprint, ToClient)),
        "tls.certs" => Some((AppProto::Tls, K::TlsCerts, ToClient)),
        "ja3.hash" => Some((AppProto::Tls, K::Ja3Hash, ToServer)),
        "ja3.string" => Some((AppProto::Tls, K::Ja3String, ToServer)),
        "ja3s.hash" => Some((AppProto::Tls, K::Ja3sHash, ToClient)),
        "ja3s.string" => Some((AppProto::Tls, K::Ja3sString, ToClient)),
        "http.request_header" => Some((AppProto::Http, K::HttpFieldLines, ToServer)),
        "http.response_header" => Some((AppProto::Http, K::HttpFieldLines, ToClient)),
        _ => None,
    }
}

/// The progress bit a buffer needs on a side (`to_server`).
pub fn need_bit(kind: BufKind, to_server: bool) -> u16 {
    use bits::*;
    use HttpBuffer as H;
    match kind {
        BufKind::Http(b) => match b {
            H::Uri | H::UriRaw | H::Method | H::RequestLine => REQ_LINE,
            H::Host | H::HostRaw | H::UserAgent | H::Referer | H::Accept | H::AcceptLang | H::AcceptEnc => REQ_HDR,
            H::RequestBody => REQ_DONE,
            H::StatCode | H::StatMsg | H::ResponseLine => RES_LINE,
            H::Location | H::Server | H::ResponseHeader | H::ResponseHeaderRaw => RES_HDR,
            H::ResponseBody => RES_DONE,
            H::Protocol => {
                if to_server {
                    REQ_LINE
                } else {
                    RES_LINE
                }
            }
            H::Header
            | H::HeaderRaw
            | H::HeaderNames
            | H::Cookie
            | H::ContentType
            | H::ContentLen
            | H::Connection
            | H::Start => {
                if to_server {
                    REQ_HDR
                } else {
                    RES_HDR
                }
            }
        },
        BufKind::FileData => {
            if to_server {
                REQ_DONE
            } else {
                RES_DONE
            }
        }
        BufKind::DnsQuery | BufKind::DnsQueriesRrname | BufKind::DnsAnswerName => {
            if to_server {
                REQ_LINE
            } else {
                RES_LINE
            }
        }
        BufKind::HttpFieldLines | BufKind::HttpRaw => {
            if to_server {
                REQ_HDR
            } else {
                RES_HDR
            }
        }
        BufKind::TlsSni | BufKind::Ja3Hash | BufKind::Ja3String => REQ_LINE,
        BufKind::Ja3sHash | BufKind::Ja3sString => RES_LINE,
        BufKind::TlsCertSubject
        | BufKind::TlsCertIssuer
        | BufKind::TlsCertSerial
        | BufKind::TlsCertFingerprint
        | BufKind::TlsCerts => RES_HDR,
    }
}

/// One inspected list of an app rule.
#[derive(Debug)]
pub struct AppList {
    /// Buffer.
    pub kind: BufKind,
    /// Index of its transform list in [`AppSet::xforms`].
    pub xf: usize,
    /// Compiled keywords.
    pub list: CompiledList,
}

/// A rule inspected against transactions.
#[derive(Debug)]
pub struct AppRule {
    /// Rule number in the engine.
    pub rule: u32,
    /// Protocol.
    pub proto: AppProto,
    /// Directions: bit 0 to server, bit 1 to client.
    pub dirs: u8,
    /// Lists.
    pub lists: Vec<AppList>,
    /// Progress bits needed, per direction.
    pub need: [u16; 2],
    /// Value keywords (`dns.opcode`, `tls.version`, ...), all must hold.
    pub values: Vec<AppValue>,
}

/// A prefilter database over one (buffer, transforms).
#[derive(Debug)]
pub struct BufDb {
    /// Buffer.
    pub kind: BufKind,
    /// Transform list index.
    pub xf: usize,
    /// Database.
    pub mpm: Mpm,
    /// Pattern id -> rule numbers.
    pub pattern_rules: Vec<Vec<u32>>,
}

/// The app rules of one (protocol, direction).
#[derive(Debug, Default)]
pub struct Group {
    /// Databases per buffer.
    pub dbs: Vec<BufDb>,
    /// Rules (engine numbers) without a fast pattern.
    pub always: Vec<u32>,
}

/// The app-layer rules of an engine.
#[derive(Debug, Default)]
pub struct AppSet {
    /// Rule number -> index into `rules`.
    pub by_rule: HashMap<u32, u32>,
    /// App rules.
    pub rules: Vec<AppRule>,
    /// Distinct transform lists (index 0: none).
    pub xforms: Vec<Vec<Xform>>,
    groups: HashMap<(AppProto, u8), Group>,
    /// Databases built.
    pub databases: usize,
}

/// Whether a rule is an app-layer rule (sticky buffers, or a header protocol with nothing
/// for the packet payload), and if so its protocol.
pub fn is_app_rule(r: &Rule) -> bool {
    !r.app_values.is_empty()
        || r.buffers.iter().any(|b| matches!(b.buffer, Buffer::Sticky(_)))
        || (r.proto.app.is_some() && !r.buffers.iter().any(|b| b.buffer == Buffer::Payload && !b.matches.is_empty()))
}

/// Compiles an app rule, or says why it cannot be used.
pub fn compile_rule(
    rn: u32,
    r: &Rule,
    xf_index: &mut HashMap<Vec<Transform>, usize>,
    xforms: &mut Vec<Vec<Xform>>,
) -> Result<(AppRule, Option<(usize, PatternSpec)>), String> {
    let mut proto = match &r.proto.app {
        Some(a) => AppProto::from_name(a).ok_or_else(|| format!("app-layer protocol {a}"))?,
        None => AppProto::Unknown,
    };
    let mut side: Option<Side> = None;
    let mut lists = Vec::new();
    let mut best: Option<(usize, PatternSpec, u32)> = None;
    for b in &r.buffers {
        let (p, kind, s) = match &b.buffer {
            Buffer::Payload => {
                if b.matches.is_empty() {
                    continue;
                }
                // payload keywords of an app rule: inspected on the message as sent (HTTP)
                (AppProto::Unknown, BufKind::HttpRaw, Side::Both)
            }
            Buffer::Sticky(n) => lookup(n).ok_or_else(|| format!("buffer {n}"))?,
        };
        let name = match &b.buffer {
            Buffer::Payload => "pkt_data",
            Buffer::Sticky(n) => n.as_str(),
        };
        if p != AppProto::Unknown {
            if proto != AppProto::Unknown && proto != p {
                return Err(format!("buffer {name} in a {} rule", proto.name()));
            }
            proto = p;
        }
        side = match (side, s) {
            (None, s) | (Some(Side::Both), s) => Some(s),
            (Some(a), Side::Both) => Some(a),
            (Some(a), b2) if a == b2 => Some(a),
            _ => return Err("buffers of both directions".into()),
        };
        let key = b.transforms.clone();
        let xf = match xf_index.get(&key) {
            Some(&i) => i,
            None => {
                let c = transform::compile(&key)?;
                xforms.push(c);
                xf_index.insert(key, xforms.len() - 1);
                xforms.len() - 1
            }
        };
        let list = verify::compile(b)?;
        let contents: Vec<&Content> =
            b.matches.iter().filter_map(|m| if let PayloadMatch::Content(c) = m { Some(c) } else { None }).collect();
        if let Some(fp) = super::engine::choose_fast_pattern(&contents) {
            let explicit = contents.iter().any(|c| c.fast_pattern != crate::rule::ast::FastPattern::No);
            let strength = if explicit { u32::MAX } else { super::engine::pattern_strength(&fp.bytes) };
            if best.as_ref().is_none_or(|(_, _, s)| strength > *s) {
                best = Some((lists.len(), fp, strength));
            }
        }
        lists.push(AppList { kind, xf, list });
    }
    let mut values = Vec::new();
    for (name, v) in &r.app_values {
        let (p, s, val) = compile_value(name, v)?;
        if proto != AppProto::Unknown && proto != p {
            return Err(format!("{name} in a {} rule", proto.name()));
        }
        proto = p;
        side = match (side, s) {
            (None, s) | (Some(Side::Both), s) => Some(s),
            (Some(a), Side::Both) => Some(a),
            (Some(a), b2) if a == b2 => Some(a),
            _ => return Err("keywords of both directions".into()),
        };
        values.push(val);
    }
    if proto == AppProto::Unknown {
        // file.data alone: HTTP here (the only file-carrying parser)
        if lists.iter().any(|l| l.kind == BufKind::FileData) {
            proto = AppProto::Http;
        } else {
            return Err("app-layer rule without a protocol".into());
        }
    }
    let mut dirs = match side {
        Some(Side::ToServer) => 1,
        Some(Side::ToClient) => 2,
        _ => 3,
    };
    if r.flow.to_server {
        dirs &= 1;
    } else if r.flow.to_client {
        dirs &= 2;
    }
    if dirs == 0 {
        return Err("flow direction contradicts its buffers".into());
    }
    let mut need = [0u16; 2];
    for l in &lists {
        need[0] |= need_bit(l.kind, true);
        need[1] |= need_bit(l.kind, false);
    }
    for v in &values {
        need[0] |= value_need(v, true);
        need[1] |= value_need(v, false);
    }
    let fast = best.map(|(i, p, _)| (i, p));
    Ok((AppRule { rule: rn, proto, dirs, lists, need, values }, fast))
}

impl AppSet {
    /// Builds the prefilter databases of compiled app rules (with their fast patterns).
    pub fn build(
        rules: Vec<(AppRule, Option<(usize, PatternSpec)>)>,
        xforms: Vec<Vec<Xform>>,
        engine: Engine,
        cache: Option<&crate::detect::cache::DbCache>,
        errors: &mut Vec<String>,
    ) -> AppSet {
        let mut set = AppSet { xforms, ..AppSet::default() };
        // (proto, dir) -> (kind, xf) -> patterns
        type Key = (AppProto, u8);
        let mut pats: HashMap<
            Key,
            HashMap<(BufKind, usize), (Vec<PatternSpec>, Vec<Vec<u32>>, HashMap<PatternSpec, u32>)>,
        > = HashMap::new();
        for (ar, fast) in rules {
            let idx = set.rules.len() as u32;
            set.by_rule.insert(ar.rule, idx);
            for d in 0..2u8 {
                if ar.dirs & (1 << d) == 0 {
                    continue;
                }
                let g = set.groups.entry((ar.proto, d)).or_default();
                match &fast {
                    Some((li, p)) => {
                        let Some(l) = ar.lists.get(*li) else { continue };
                        let e = pats.entry((ar.proto, d)).or_default().entry((l.kind, l.xf)).or_default();
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
        for (key, bufs) in pats {
            let g = set.groups.entry(key).or_default();
            for ((kind, xf), (patterns, pattern_rules, _)) in bufs {
                let mpm = match Mpm::build_cached(engine, &patterns, cache) {
                    Ok(m) => m,
                    Err(e) => {
                        errors.push(format!("{e}; using the reference matcher for an app-layer buffer"));
                        Mpm::Naive(patterns)
                    }
                };
                set.databases += 1;
                g.dbs.push(BufDb { kind, xf, mpm, pattern_rules });
            }
        }
        set
    }

    /// The rules of (protocol, direction), if any.
    pub fn group(&self, proto: AppProto, dir: u8) -> Option<&Group> {
        self.groups.get(&(proto, dir))
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

/// A transaction as the engine sees it.
#[derive(Clone, Copy)]
pub enum TxRef<'a> {
    /// HTTP.
    Http(&'a HttpTx),
    /// DNS message.
    Dns(&'a dns::Tx),
    /// TLS (one per flow).
    Tls(&'a TlsState),
    /// A protocol without buffers.
    None,
}

/// Progress bits of an HTTP transaction.
pub fn http_bits(tx: &HttpTx) -> u16 {
    use bits::*;
    let mut b = 0;
    if tx.request_line_done {
        b |= REQ_LINE;
    }
    if tx.request_headers_done {
        b |= REQ_HDR | REQ_LINE;
    }
    if tx.request_complete {
        b |= REQ_DONE | REQ_HDR | REQ_LINE;
    }
    if tx.response_line_done {
        b |= RES_LINE;
    }
    if tx.response_headers_done {
        b |= RES_HDR | RES_LINE;
    }
    if tx.response_complete {
        b |= RES_DONE | RES_HDR | RES_LINE;
    }
    b
}

/// Progress bits of a TLS session.
pub fn tls_bits(t: &TlsState) -> u16 {
    use crate::app::tls::ssl_state;
    let f = t.ssl_state();
    let mut b = 0;
    if f & ssl_state::CLIENT_HELLO != 0 {
        b |= bits::REQ_LINE;
    }
    if f & ssl_state::SERVER_HELLO != 0 {
        b |= bits::RES_LINE;
    }
    if t.cert().is_some() || !t.server_certs().is_empty() {
        b |= bits::RES_HDR | bits::RES_LINE;
    }
    b
}

/// Calls `f` with each instance of buffer `kind` of `tx` on side `to_server` (multi-buffers
/// give several; a missing buffer none).
pub fn for_each_buf(kind: BufKind, tx: TxRef<'_>, to_server: bool, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    match (kind, tx) {
        (BufKind::Http(b), TxRef::Http(t)) => t.buffer(b, to_server).is_some_and(f),
        (BufKind::FileData, TxRef::Http(t)) => {
            let b = if to_server { HttpBuffer::RequestBody } else { HttpBuffer::ResponseBody };
            t.buffer(b, to_server).is_some_and(|x| !x.is_empty() && f(x))
        }
        (BufKind::DnsQuery, TxRef::Dns(t)) => t.query_names().any(f),
        (BufKind::DnsQueriesRrname, TxRef::Dns(t)) => t.question_names().any(f),
        (BufKind::DnsAnswerName, TxRef::Dns(t)) => t.answer_names().any(f),
        (BufKind::TlsSni, TxRef::Tls(t)) => t.sni().is_some_and(f),
        (BufKind::TlsCertSubject, TxRef::Tls(t)) => t.cert_subject().is_some_and(|s| f(s.as_bytes())),
        (BufKind::TlsCertIssuer, TxRef::Tls(t)) => t.cert_issuer().is_some_and(|s| f(s.as_bytes())),
        (BufKind::TlsCertSerial, TxRef::Tls(t)) => t.cert_serial().is_some_and(|s| f(s.as_bytes())),
        (BufKind::TlsCertFingerprint, TxRef::Tls(t)) => t.cert_fingerprint().is_some_and(|s| f(s.as_bytes())),
        (BufKind::TlsCerts, TxRef::Tls(t)) => t.server_certs().iter().any(|c| f(c)),
        (BufKind::Ja3Hash, TxRef::Tls(t)) => t.ja3_hash().is_some_and(|s| f(s.as_bytes())),
        (BufKind::Ja3String, TxRef::Tls(t)) => t.ja3_string().is_some_and(|s| f(s.as_bytes())),
        (BufKind::Ja3sHash, TxRef::Tls(t)) => t.ja3s_hash().is_some_and(|s| f(s.as_bytes())),
        (BufKind::Ja3sString, TxRef::Tls(t)) => t.ja3s_string().is_some_and(|s| f(s.as_bytes())),
        (BufKind::HttpFieldLines, TxRef::Http(t)) => {
            let m = if to_server { &t.request } else { &t.response };
            let mut line = Vec::new();
            m.headers.iter().any(|h| {
                line.clear();
                line.extend_from_slice(&h.name);
                line.extend_from_slice(b": ");
                line.extend_from_slice(&h.value);
                f(&line)
            })
        }
        (BufKind::HttpRaw, TxRef::Http(t)) => {
            let m = if to_server { &t.request } else { &t.response };
            if m.line.is_empty() {
                return false;
            }
            let mut v = Vec::with_capacity(m.line.len() + 2 + m.raw_headers.len());
            v.extend_from_slice(&m.line);
            v.extend_from_slice(b"\r\n");
            v.extend_from_slice(&m.raw_headers);
            f(&v)
        }
        _ => false,
    }
}

/// An app-layer value keyword, compiled (fields as the keyword's arguments: `neg` is `!`).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum AppValue {
    /// `dns.opcode:[!]N`.
    DnsOpcode { neg: bool, v: u8 },
    /// `dns.rcode:[!]N`.
    DnsRcode { neg: bool, v: u8 },
    /// `dns.rrtype:N[,index]`: index None = any, Some(None) = all, Some(Some(i)) = position
    /// (negative from the end).
    DnsRrtype { v: u16, index: Option<Option<i64>> },
    /// `tls.version`: the direction's protocol version.
    TlsVersion(u16),
    /// `ssl_version`: versions wanted and versions refused.
    SslVersion { pos: Vec<SslVersion>, neg: Vec<SslVersion> },
    /// `ssl_state`: groups that must all hold; each group is any of (flag, negated).
    SslState(Vec<Vec<(u32, bool)>>),
    /// `tls.subject` (contains).
    TlsSubject { neg: bool, s: String },
    /// `tls.issuerdn` (contains).
    TlsIssuer { neg: bool, s: String },
    /// `tls.fingerprint` (equals).
    TlsFingerprint { neg: bool, s: String },
    /// `tls_cert_notbefore` / `tls_cert_notafter`: (after, op, epoch seconds, upper bound).
    CertTime { after: bool, op: char, t: i64, hi: i64 },
    /// `tls_cert_expired`.
    CertExpired,
    /// `tls_cert_valid`.
    CertValid,
}

use crate::app::tls::{ssl_state as sst, SslVersion};

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Parses Suricata's date forms: YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDTHH[:MM[:SS]], or
/// seconds since the epoch.
fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() > 4 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let (date, time) = s.split_once('T').unwrap_or((s, ""));
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let y = d.next()?.ok()?;
    let m = d.next().transpose().ok()?.unwrap_or(1);
    let dd = d.next().transpose().ok()?.unwrap_or(1);
    let mut t = time.split(':').filter(|x| !x.is_empty()).map(|x| x.parse::<i64>());
    let hh = t.next().transpose().ok()?.unwrap_or(0);
    let mi = t.next().transpose().ok()?.unwrap_or(0);
    let ss = t.next().transpose().ok()?.unwrap_or(0);
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) {
        return None;
    }
    Some(days_from_civil(y, m, dd) * 86400 + hh * 3600 + mi * 60 + ss)
}

fn neg_num(v: &str) -> Option<(bool, i64)> {
    let v = v.trim();
    let (neg, n) = match v.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, v),
    };
    Some((neg, n.parse().ok()?))
}

fn neg_str(v: &str) -> (bool, String) {
    let v = v.trim();
    match v.strip_prefix('!') {
        Some(r) => (true, r.trim().trim_matches('"').to_string()),
        None => (false, v.trim_matches('"').to_string()),
    }
}

/// Compiles a value keyword: its protocol, side, and progress bit on each side.
fn compile_value(name: &str, v: &str) -> Result<(AppProto, Side, AppValue), String> {
    let bad = || format!("{name}: invalid value `{v}`");
    let tls = |side, val| Ok((AppProto::Tls, side, val));
    match name {
        "dns.opcode" | "dns.rcode" => {
            let (neg, n) = neg_num(v).ok_or_else(bad)?;
            let n = u8::try_from(n).map_err(|_| bad())?;
            let val =
                if name == "dns.opcode" { AppValue::DnsOpcode { neg, v: n } } else { AppValue::DnsRcode { neg, v: n } };
            Ok((AppProto::Dns, Side::Both, val))
        }
        "dns.rrtype" => {
            let (t, idx) = match v.split_once(',') {
                Some((a, b)) => (a, Some(b.trim())),
                None => (v, None),
            };
            let t: u16 = t.trim().parse().map_err(|_| bad())?;
            let index = match idx {
                None => None,
                Some("all") => Some(None),
                Some(i) => Some(Some(i.parse::<i64>().map_err(|_| bad())?)),
            };
            Ok((AppProto::Dns, Side::Both, AppValue::DnsRrtype { v: t, index }))
        }
        "tls.version" => {
            let x = v.trim();
            let ver = match x {
                "1.0" => 0x0301,
                "1.1" => 0x0302,
                "1.2" => 0x0303,
                "1.3" => 0x0304,
                _ => {
                    let h = x.trim_start_matches("0x").trim_start_matches("0X");
                    u16::from_str_radix(h, 16).map_err(|_| bad())?
                }
            };
            tls(Side::Both, AppValue::TlsVersion(ver))
        }
        "ssl_version" => {
            let (mut pos, mut neg) = (Vec::new(), Vec::new());
            for item in v.split(',') {
                let (n, name) = neg_str(item);
                let ver = match name.to_ascii_lowercase().as_str() {
                    "sslv2" => SslVersion::Sslv2,
                    "sslv3" => SslVersion::Sslv3,
                    "tls1.0" => SslVersion::Tls10,
                    "tls1.1" => SslVersion::Tls11,
                    "tls1.2" => SslVersion::Tls12,
                    "tls1.3" => SslVersion::Tls13,
                    _ => return Err(bad()),
                };
                if n {
                    neg.push(ver)
                } else {
                    pos.push(ver)
                }
            }
            tls(Side::Both, AppValue::SslVersion { pos, neg })
        }
        "ssl_state" => {
            let mut groups = Vec::new();
            for g in v.split(',') {
                let mut any = Vec::new();
                for item in g.split('|') {
                    let (n, name) = neg_str(item);
                    let f = match name.as_str() {
                        "client_hello" => sst::CLIENT_HELLO,
                        "server_hello" => sst::SERVER_HELLO,
                        "client_keyx" => sst::CLIENT_KEYX,
                        "server_keyx" => sst::SERVER_KEYX,
                        "unknown" => sst::UNKNOWN,
                        _ => return Err(bad()),
                    };
                    any.push((f, n));
                }
                groups.push(any);
            }
            tls(Side::Both, AppValue::SslState(groups))
        }
        "tls.subject" => {
            let (neg, s) = neg_str(v);
            tls(Side::ToClient, AppValue::TlsSubject { neg, s })
        }
        "tls.issuerdn" => {
            let (neg, s) = neg_str(v);
            tls(Side::ToClient, AppValue::TlsIssuer { neg, s })
        }
        "tls.fingerprint" => {
            let (neg, s) = neg_str(v);
            tls(Side::ToClient, AppValue::TlsFingerprint { neg, s: s.to_ascii_lowercase() })
        }
        "tls_cert_notbefore" | "tls_cert_notafter" => {
            let after = name == "tls_cert_notafter";
            let x = v.trim();
            let (op, rest) = match x.chars().next() {
                // In bounds: x starts with c, a one-byte char.
                Some(c @ ('<' | '>')) => (c, &x[1..]),
                _ => ('=', x),
            };
            let (t, hi) = match (op, rest.split_once(" - ").or_else(|| rest.split_once("<>"))) {
                ('=', Some((a, b))) => (parse_date(a).ok_or_else(bad)?, parse_date(b).ok_or_else(bad)?),
                _ => {
                    let t = parse_date(rest).ok_or_else(bad)?;
                    (t, t)
                }
            };
            let op = if op == '=' && hi != t { 'r' } else { op };
            tls(Side::ToClient, AppValue::CertTime { after, op, t, hi })
        }
        "tls_cert_expired" | "tls.cert_expired" => tls(Side::ToClient, AppValue::CertExpired),
        "tls_cert_valid" | "tls.cert_valid" => tls(Side::ToClient, AppValue::CertValid),
        _ => Err(format!("keyword {name}")),
    }
}

fn value_need(v: &AppValue, to_server: bool) -> u16 {
    match v {
        AppValue::DnsOpcode { .. } | AppValue::DnsRcode { .. } | AppValue::DnsRrtype { .. } => {
            if to_server {
                bits::REQ_LINE
            } else {
                bits::RES_LINE
            }
        }
        AppValue::TlsVersion(_) | AppValue::SslVersion { .. } | AppValue::SslState(_) => {
            if to_server {
                bits::REQ_LINE
            } else {
                bits::RES_LINE
            }
        }
        _ => bits::RES_HDR,
    }
}

/// Evaluates a value keyword on a transaction; `now` is the packet time (seconds).
pub fn eval_value(v: &AppValue, tx: TxRef<'_>, to_server: bool, now: i64) -> bool {
    match (v, tx) {
        (AppValue::DnsOpcode { neg, v }, TxRef::Dns(t)) => (t.opcode() == *v) != *neg,
        (AppValue::DnsRcode { neg, v }, TxRef::Dns(t)) => (t.rcode() == *v) != *neg,
        (AppValue::DnsRrtype { v, index }, TxRef::Dns(t)) => {
            let types: Vec<u16> = t.rrtypes().collect();
            match index {
                None => types.contains(v),
                Some(None) => !types.is_empty() && types.iter().all(|x| x == v),
                Some(Some(i)) => {
                    let pos = if *i < 0 { types.len() as i64 + i } else { *i };
                    pos >= 0 && types.get(pos as usize) == Some(v)
                }
            }
        }
        (AppValue::TlsVersion(want), TxRef::Tls(t)) => {
            let have = t.dir_version(to_server);
            have == *want || (*want == 0x0304 && SslVersion::of(have) == Some(SslVersion::Tls13))
        }
        (AppValue::SslVersion { pos, neg }, TxRef::Tls(t)) => match SslVersion::of(t.dir_version(to_server)) {
            Some(ver) => (pos.is_empty() || pos.contains(&ver)) && !neg.contains(&ver),
            None => false,
        },
        (AppValue::SslState(groups), TxRef::Tls(t)) => {
            let st = t.ssl_state();
            groups.iter().all(|g| g.iter().any(|&(f, n)| (st & f != 0) != n))
        }
        (AppValue::TlsSubject { neg, s }, TxRef::Tls(t)) => {
            t.cert_subject().is_some_and(|x| x.contains(s.as_str()) != *neg)
        }
        (AppValue::TlsIssuer { neg, s }, TxRef::Tls(t)) => {
            t.cert_issuer().is_some_and(|x| x.contains(s.as_str()) != *neg)
        }
        (AppValue::TlsFingerprint { neg, s }, TxRef::Tls(t)) => {
            t.cert_fingerprint().is_some_and(|x| (x.to_ascii_lowercase() == *s) != *neg)
        }
        (AppValue::CertTime { after, op, t: at, hi }, TxRef::Tls(t)) => match t.cert() {
            Some(c) => {
                let x = if *after { c.not_after } else { c.not_before };
                match op {
                    '<' => x < *at,
                    '>' => x > *at,
                    'r' => x >= *at && x <= *hi,
                    _ => x == *at,
                }
            }
            None => false,
        },
        (AppValue::CertExpired, TxRef::Tls(t)) => t.cert().is_some_and(|c| c.not_after < now),
        (AppValue::CertValid, TxRef::Tls(t)) => t.cert().is_some_and(|c| c.not_before <= now && now <= c.not_after),
        _ => false,
    }
}
