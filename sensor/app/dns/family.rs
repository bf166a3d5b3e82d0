//! The DNS family: mDNS and LLMNR speak DNS's wire format with their own rules (Suricata's
//! `DnsVariant`): an mDNS response may travel to the server side (all mDNS is "to server"),
//! LLMNR runs over UDP and TCP. This file holds what both share: the per-flow state over
//! [`parse_message`], the transactions (one message each, kept in the request or the response
//! slot as Suricata keeps them), the getters behind their `*.rrname` buffers and the shape
//! of those rows (`rrname_buffers!`), and their EVE object (lower-case record types, the
//! record type as the rdata's key). The protocols' descriptors and keyword rows live in
//! `app/mdns/` and `app/llmnr/`.
//!
//! Bounded: [`FAMILY_MAX_TXS`] transactions per flow, one partial TCP message per direction
//! (at most 65,537 bytes); messages that do not decode are counted in [`FamilyStats`].

use super::{name_flags, parse_message, print_addr, rrtype_string, Message, Name, RData, Record};
use crate::app::jsonx::str_array;
use crate::app::txs::TxList;
use crate::output::eve::Json;

/// Transactions kept per flow.
pub const FAMILY_MAX_TXS: usize = 64;

/// Which member of the family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Multicast DNS.
    Mdns,
    /// Link-Local Multicast Name Resolution.
    Llmnr,
}

/// One message of an mDNS or LLMNR flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyTx {
    id: u64,
    /// Sent to the server side.
    pub to_server: bool,
    /// Kept as a response (Suricata's `tx.response`): every message to the client, and an
    /// mDNS message with QR set to the server.
    pub is_response: bool,
    /// The message.
    pub msg: Message,
    /// Which protocol.
    pub variant: Variant,
}

crate::app_counters! {
    /// mDNS or LLMNR counters.
    pub struct FamilyStats {
        /// Messages that became a transaction.
        messages,
        /// Messages that did not decode.
        malformed,
        /// Transactions evicted because [`FAMILY_MAX_TXS`] were held.
        tx_evicted,
    }
}

/// Per-flow state of an mDNS or LLMNR flow.
#[derive(Debug)]
pub struct FamilyState {
    variant: Variant,
    /// Transactions.
    pub txs: TxList<FamilyTx>,
    tcp: [Vec<u8>; 2],
    /// Counters.
    pub stats: FamilyStats,
}

impl FamilyState {
    /// An empty state for `variant`.
    pub fn new(variant: Variant) -> Self {
        FamilyState {
            variant,
            txs: TxList::new(FAMILY_MAX_TXS),
            tcp: Default::default(),
            stats: FamilyStats::default(),
        }
    }

    /// Parses one message (a datagram, or a TCP message without its length).
    pub fn message(&mut self, to_server: bool, bytes: &[u8]) -> bool {
        let msg = match parse_message(bytes) {
            Ok(m) => m,
            Err(_) => {
                self.stats.malformed += 1;
                return false;
            }
        };
        let qr = msg.header.is_response();
        let is_response = !to_server || (self.variant == Variant::Mdns && qr);
        let tx = FamilyTx { id: self.txs.next_id(), to_server, is_response, msg, variant: self.variant };
        self.stats.messages += 1;
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
        true
    }

    /// Feeds in-order TCP bytes of one direction (messages behind a 2-byte length).
    pub fn tcp(&mut self, to_server: bool, mut data: &[u8]) {
        let di = usize::from(!to_server);
        while !data.is_empty() {
            // In bounds: di is 0 or 1 and tcp has two entries.
            let buf = &mut self.tcp[di];
            if buf.len() < 2 {
                let n = (2 - buf.len()).min(data.len());
                buf.extend_from_slice(data.get(..n).unwrap_or(&[]));
                data = data.get(n..).unwrap_or(&[]);
                if buf.len() < 2 {
                    return;
                }
            }
            let want = 2 + buf.get(..2).map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
            let n = want.saturating_sub(buf.len()).min(data.len());
            buf.extend_from_slice(data.get(..n).unwrap_or(&[]));
            data = data.get(n..).unwrap_or(&[]);
            if buf.len() < want {
                return;
            }
            let m = std::mem::take(buf);
            if want > 2 {
                self.message(to_server, m.get(2..).unwrap_or(&[]));
            }
        }
    }
}

/// Owner names of records, stopping at the first empty one (as Suricata's multi-buffer
/// getters stop at an index without data).
fn record_names(recs: &[Record]) -> impl Iterator<Item = &[u8]> {
    recs.iter().map(|r| r.name.value.as_slice()).take_while(|n| !n.is_empty())
}

/// Names held in a record's data (Suricata's `get_rdata_name`).
fn rdata_name(d: &RData) -> Option<&Name> {
    match d {
        RData::Cname(n) | RData::Ptr(n) | RData::Mx(_, n) | RData::Ns(n) => Some(n),
        RData::Soa(s) => Some(&s.mname),
        _ => None,
    }
}

/// Every name of a response message (`*.response.rrname`): the questions, then each
/// section's owner names and the names in their data, skipping empty ones.
pub(crate) fn response_names(m: &Message, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    for q in &m.queries {
        if !q.name.value.is_empty() && f(&q.name.value) {
            return true;
        }
    }
    for sec in [&m.answers, &m.authorities, &m.additionals] {
        for r in sec.iter() {
            if !r.name.value.is_empty() && f(&r.name.value) {
                return true;
            }
            if let Some(n) = rdata_name(&r.data) {
                if !n.value.is_empty() && f(&n.value) {
                    return true;
                }
            }
        }
    }
    false
}

impl FamilyTx {
    fn request(&self) -> Option<&Message> {
        (!self.is_response).then_some(&self.msg)
    }

    fn response(&self) -> Option<&Message> {
        self.is_response.then_some(&self.msg)
    }

    /// `*.queries.rrname` for an inspection in direction `to_server` (the request's questions
    /// to the server, the response's to the client).
    pub fn query_names(&self, to_server: bool) -> impl Iterator<Item = &[u8]> {
        let m = if to_server { self.request() } else { self.response() };
        m.into_iter().flat_map(|m| m.queries.iter().map(|q| q.name.value.as_slice()).take_while(|n| !n.is_empty()))
    }

    /// `*.answers.rrname`: mDNS takes the request's answers, else the response's; LLMNR picks
    /// by direction as DNS does.
    pub fn answer_names(&self, to_server: bool) -> impl Iterator<Item = &[u8]> {
        let m = match self.variant {
            Variant::Mdns => Some(&self.msg),
            Variant::Llmnr => {
                if to_server {
                    self.request()
                } else {
                    self.response()
                }
            }
        };
        m.into_iter().flat_map(|m| record_names(&m.answers))
    }

    /// `*.authorities.rrname` (responses only).
    pub fn authority_names(&self) -> impl Iterator<Item = &[u8]> {
        self.response().into_iter().flat_map(|m| record_names(&m.authorities))
    }

    /// `*.additionals.rrname` (responses only).
    pub fn additional_names(&self) -> impl Iterator<Item = &[u8]> {
        self.response().into_iter().flat_map(|m| record_names(&m.additionals))
    }

    /// `*.response.rrname`: every name of a response: questions, then each section's owner
    /// names and the names in their data.
    pub fn response_names(&self, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        self.response().is_some_and(|m| response_names(m, f))
    }

    /// Writes Suricata's `mdns` or `llmnr` object.
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let (key, flag_bits): (&str, &[(u16, &str)]) = match self.variant {
            Variant::Mdns => (
                "mdns",
                &[
                    (0x0400, "aa"),
                    (0x0200, "tc"),
                    (0x0100, "rd"),
                    (0x0080, "ra"),
                    (0x0040, "z"),
                    (0x0020, "ad"),
                    (0x0010, "cd"),
                ],
            ),
            Variant::Llmnr => ("llmnr", &[(0x0400, "c"), (0x0200, "tc"), (0x0100, "t")]),
        };
        let m = &self.msg;
        let h = &m.header;
        let mut o = j.begin(key);
        o.str("type", if self.is_response { "response" } else { "request" });
        o.u64("id", u64::from(h.id));
        let set: Vec<&[u8]> = flag_bits.iter().filter(|(b, _)| h.flags & b != 0).map(|(_, n)| n.as_bytes()).collect();
        if !set.is_empty() {
            str_array(&mut o, "flags", set);
        }
        o.u64("opcode", u64::from(h.opcode()));
        if self.variant == Variant::Mdns {
            o.u64("rcode", u64::from(h.flags & 0xf));
        }
        if !m.queries.is_empty() {
            crate::app::jsonx::obj_array(&mut o, "queries", &m.queries, |e, q| {
                e.bytes("rrname", &q.name.value);
                e.str("rrtype", &rrtype_string(q.rrtype).to_lowercase());
                if q.name.flags & name_flags::TRUNCATED != 0 {
                    e.bool("rrname_truncated", true);
                }
            });
        }
        if !m.answers.is_empty() {
            crate::app::jsonx::obj_array(&mut o, "answers", &m.answers, write_record);
        }
        if !m.authorities.is_empty() {
            crate::app::jsonx::obj_array(&mut o, "authorities", &m.authorities, write_record);
        }
        let adds: Vec<Record> =
            m.additionals.iter().filter(|r| !matches!(&r.data, RData::Opt(v) if v.is_empty())).cloned().collect();
        if !adds.is_empty() {
            crate::app::jsonx::obj_array(&mut o, "additionals", &adds, write_record);
        }
        o.end();
    }
}

/// One record as the family's loggers write it: the lower-case record type is the key of its
/// data.
fn write_record(e: &mut Json<'_>, r: &Record) {
    e.bytes("rrname", &r.name.value);
    if r.name.flags & name_flags::TRUNCATED != 0 {
        e.bool("rrname_truncated", true);
    }
    let k = rrtype_string(r.rrtype).to_lowercase();
    match &r.data {
        RData::A(a) | RData::Aaaa(a) => {
            e.str(&k, &print_addr(a));
        }
        RData::Cname(n) | RData::Mx(_, n) | RData::Ns(n) | RData::Ptr(n) => {
            e.bytes(&k, &n.value);
            if n.flags & name_flags::TRUNCATED != 0 {
                e.bool("rdata_truncated", true);
            }
        }
        RData::Txt(v) => str_array(e, &k, v.iter().map(|t| t.as_slice())),
        RData::Null(b) | RData::Other(b) => {
            e.bytes(&k, b);
        }
        RData::Soa(s) => {
            let mut so = e.begin(&k);
            so.bytes("mname", &s.mname.value);
            if s.mname.flags & name_flags::TRUNCATED != 0 {
                so.bool("mname_truncated", true);
            }
            so.bytes("rname", &s.rname.value);
            if s.rname.flags & name_flags::TRUNCATED != 0 {
                so.bool("rname_truncated", true);
            }
            so.u64("serial", u64::from(s.serial));
            so.u64("refresh", u64::from(s.refresh));
            so.u64("retry", u64::from(s.retry));
            so.u64("expire", u64::from(s.expire));
            so.u64("minimum", u64::from(s.minimum));
            so.end();
        }
        RData::Srv(prio, weight, port, target) => {
            let mut so = e.begin(&k);
            so.u64("priority", u64::from(*prio));
            so.u64("weight", u64::from(*weight));
            so.u64("port", u64::from(*port));
            so.bytes("name", &target.value);
            so.end();
        }
        RData::Sshfp(algo, t, fp) => {
            let hex: Vec<String> = fp.iter().map(|b| format!("{b:02x}")).collect();
            let mut so = e.begin(&k);
            so.str("fingerprint", &hex.join(":"));
            so.u64("algo", u64::from(*algo));
            so.u64("type", u64::from(*t));
            so.end();
        }
        RData::Opt(opts) => {
            crate::app::jsonx::obj_array(e, &k, opts, |oe, (code, data)| {
                oe.u64("code", u64::from(*code));
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                oe.str("data", &hex);
            });
        }
    }
}

/// A family member's `<proto>.*.rrname` sticky buffers, in the order of their numbers:
/// `queries`, `answers`, `authorities`, `additionals` (either side) and `response` (on side
/// `response_side`: where the member's responses travel), each a multi-buffer over the getters
/// above. The member gives its name, its documentation link and the description of its
/// `queries` buffer (the direction it takes differs).
macro_rules! rrname_buffers {
    ($proto:literal, doc: $doc:expr, queries: $queries:expr, response_side: $response_side:expr,) => {
        &[
            $crate::app::plugin::Sticky {
                info: $crate::app::dns::family::rrname_buffer(
                    concat!($proto, ".queries.rrname"),
                    $crate::app::plugin::Side::Both,
                    $queries,
                    $doc,
                ),
                get: |tx: &$crate::app::dns::family::FamilyTx, ts, f| tx.query_names(ts).any(f),
            },
            $crate::app::plugin::Sticky {
                info: $crate::app::dns::family::rrname_buffer(
                    concat!($proto, ".answers.rrname"),
                    $crate::app::plugin::Side::Both,
                    "each owner name of the answer section",
                    $doc,
                ),
                get: |tx: &$crate::app::dns::family::FamilyTx, ts, f| tx.answer_names(ts).any(f),
            },
            $crate::app::plugin::Sticky {
                info: $crate::app::dns::family::rrname_buffer(
                    concat!($proto, ".authorities.rrname"),
                    $crate::app::plugin::Side::Both,
                    "each owner name of a response's authority section",
                    $doc,
                ),
                get: |tx: &$crate::app::dns::family::FamilyTx, _, f| tx.authority_names().any(f),
            },
            $crate::app::plugin::Sticky {
                info: $crate::app::dns::family::rrname_buffer(
                    concat!($proto, ".additionals.rrname"),
                    $crate::app::plugin::Side::Both,
                    "each owner name of a response's additional section",
                    $doc,
                ),
                get: |tx: &$crate::app::dns::family::FamilyTx, _, f| tx.additional_names().any(f),
            },
            $crate::app::plugin::Sticky {
                info: $crate::app::dns::family::rrname_buffer(
                    concat!($proto, ".response.rrname"),
                    $response_side,
                    "each name of a response: questions, record owners and the names in their data",
                    $doc,
                ),
                get: |tx: &$crate::app::dns::family::FamilyTx, _, f| tx.response_names(f),
            },
        ]
    };
}
pub(crate) use rrname_buffers;

/// One `*.rrname` buffer of a family member: a multi-buffer final once its own side has
/// progressed.
pub(crate) const fn rrname_buffer(
    name: &'static str,
    side: crate::app::plugin::Side,
    desc: &'static str,
    doc: &'static str,
) -> crate::app::plugin::BufferInfo {
    crate::app::plugin::BufferInfo {
        name,
        aliases: &[],
        side,
        need: crate::app::plugin::Need::own(1),
        multi: true,
        shared: false,
        internal: false,
        desc,
        doc,
    }
}

impl crate::app::Transaction for FamilyTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        [crate::app::PROGRESS_DONE; 2]
    }

    fn direction(&self) -> Option<bool> {
        Some(self.to_server)
    }

    fn buffer(&self, buffer: u16, to_server: bool, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        let rows = match self.variant {
            Variant::Mdns => crate::app::mdns::BUFFERS,
            Variant::Llmnr => crate::app::llmnr::BUFFERS,
        };
        crate::app::plugin::get_buffer(rows, buffer, self, to_server, f)
    }

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
    }
}

impl crate::app::AppParser for FamilyState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut crate::app::ParseCx<'_>) -> crate::app::Status {
        let before = self.txs.next_id();
        if cx.udp {
            self.message(to_server, data);
        } else {
            self.tcp(to_server, data);
        }
        let proto = match self.variant {
            Variant::Mdns => crate::app::AppProto::Mdns,
            Variant::Llmnr => crate::app::AppProto::Llmnr,
        };
        for _ in before..self.txs.next_id() {
            cx.stats.tx(proto, !cx.udp);
        }
        let total = match self.variant {
            Variant::Mdns => &mut cx.stats.mdns,
            Variant::Llmnr => &mut cx.stats.llmnr,
        };
        self.stats.drain_into(total);
        crate::app::Status::Continue
    }

    crate::app::txs::app_parser_txs!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Transaction;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// An LLMNR query for malicious-c2.local and its answer, from a capture.
    const Q: &str = "3039010000010000000000000c6d616c6963696f75732d6332056c6f63616c0000010001";
    const A: &str = "3039850000010001000000000c6d616c6963696f75732d6332056c6f63616c00000100010c6d616c6963696f75732d6332056c6f63616c00000100010000007800040a0a0a0a";

    fn names(tx: &FamilyTx, buf: u16, ts: bool) -> Vec<String> {
        let mut v = Vec::new();
        tx.buffer(buf, ts, &mut |b| {
            v.push(String::from_utf8_lossy(b).into_owned());
            false
        });
        v
    }

    #[test]
    fn llmnr_buffers_and_record() {
        let mut st = FamilyState::new(Variant::Llmnr);
        assert!(st.message(true, &hex(Q)));
        assert!(st.message(false, &hex(A)));
        let txs: Vec<&FamilyTx> = st.txs.iter().collect();
        assert_eq!(names(txs[0], 0, true), ["malicious-c2.local"]);
        assert_eq!(names(txs[1], 0, false), ["malicious-c2.local"]);
        assert!(names(txs[0], 1, true).is_empty());
        assert_eq!(names(txs[1], 1, false), ["malicious-c2.local"]);
        assert_eq!(names(txs[1], 4, false), ["malicious-c2.local", "malicious-c2.local"]);
        assert!(names(txs[0], 4, true).is_empty());
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        txs[1].write_eve(&mut j);
        j.end();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["llmnr"],
            serde_json::json!({"type": "response", "id": 12345, "flags": ["c", "t"], "opcode": 0,
                "queries": [{"rrname": "malicious-c2.local", "rrtype": "a"}],
                "answers": [{"rrname": "malicious-c2.local", "a": "10.10.10.10"}]})
        );
    }

    #[test]
    fn mdns_response_to_server_and_tcp_framing() {
        let mut st = FamilyState::new(Variant::Mdns);
        assert!(st.message(true, &hex(A)));
        let tx = st.txs.iter().next().unwrap();
        assert!(tx.is_response && tx.to_server);
        assert_eq!(names(tx, 1, true), ["malicious-c2.local"]);
        let mut st = FamilyState::new(Variant::Llmnr);
        let q = hex(Q);
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        for b in &framed {
            st.tcp(true, std::slice::from_ref(b));
        }
        assert_eq!(st.txs.len(), 1);
        assert!(!st.message(true, b"\x00\x01garbage"));
        assert_eq!(st.stats.malformed, 1);
    }
}
