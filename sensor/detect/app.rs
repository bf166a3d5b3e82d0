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
    r.buffers.iter().any(|b| matches!(b.buffer, Buffer::Sticky(_)))
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
        let name = match &b.buffer {
            Buffer::Payload => {
                if b.matches.is_empty() {
                    continue;
                }
                return Err("payload keywords together with app-layer buffers".into());
            }
            Buffer::Sticky(n) => n.as_str(),
        };
        let (p, kind, s) = lookup(name).ok_or_else(|| format!("buffer {name}"))?;
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
    let fast = best.map(|(i, p, _)| (i, p));
    Ok((AppRule { rule: rn, proto, dirs, lists, need }, fast))
}

impl AppSet {
    /// Builds the prefilter databases of compiled app rules (with their fast patterns).
    pub fn build(
        rules: Vec<(AppRule, Option<(usize, PatternSpec)>)>,
        xforms: Vec<Vec<Xform>>,
        engine: Engine,
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
                let mpm = match Mpm::build(engine, &patterns) {
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
        _ => false,
    }
}
