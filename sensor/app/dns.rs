//! DNS over UDP and TCP, after Suricata's `rust/src/dns` (parser, transactions, detection
//! getters and the v3 EVE logger).
//!
//! Takes: UDP datagrams (one message each) or the in-order bytes of a TCP direction (each
//! message behind a 2-byte length, split across segments however the sender liked).
//! Promises: a message is decoded into header, questions and answer / authority / additional
//! records; names are decoded with compression pointers into dotted form without a trailing
//! dot, exactly as Suricata does (label bytes as they are, at most [`MAX_NAME_LEN`] bytes kept
//! with a `truncated` flag, at most [`MAX_NAME_STEPS`] labels-plus-pointers followed, a pointer
//! to itself flagged as a loop), so a name can never loop or grow without bound. As in
//! Suricata each message is its own transaction (a request to the server, a response to the
//! client); a response is also paired with the outstanding request of the same id when there
//! is one. Per-flow state is bounded: at most [`MAX_TXS`] transactions kept (oldest evicted),
//! [`MAX_OUTSTANDING`] unanswered request ids, one partial TCP message per direction (at most
//! 65,537 bytes), [`MAX_DECODED_BYTES`] of decoded names and data per message; every drop and
//! every malformed message is counted in [`DnsStats`].
//! Never: panics or indexes unchecked on message bytes; keeps parsing a TCP direction after a
//! malformed message (Suricata's parser errors out and stops there too).

use std::collections::VecDeque;

use crate::output::eve::Json;

/// Longest decoded name kept, in presentation bytes (Suricata's `MAX_NAME_LEN`, DNSMasq's).
pub const MAX_NAME_LEN: usize = 1025;
/// Labels plus pointers followed while decoding one name (Suricata's loop guard).
pub const MAX_NAME_STEPS: usize = 255;
/// Transactions kept per flow; a new one beyond evicts the oldest (counted).
pub const MAX_TXS: usize = 64;
/// Unanswered request ids remembered per flow for request/response pairing (Suricata keeps
/// 500 per-id configs; we keep fewer and count evictions).
pub const MAX_OUTSTANDING: usize = 256;
/// Decoded bytes (names and record data) kept per message: a 64 KiB message of pointers
/// could otherwise expand to megabytes.
pub const MAX_DECODED_BYTES: usize = 256 * 1024;

/// Name flags (Suricata's `DNSNameFlags`).
pub mod name_flags {
    /// A pointer pointed at itself.
    pub const INFINITE_LOOP: u8 = 1;
    /// The name was cut at [`super::MAX_NAME_LEN`] (or at the step limit after a pointer).
    pub const TRUNCATED: u8 = 2;
    /// More than [`super::MAX_NAME_STEPS`] labels and pointers.
    pub const LABEL_LIMIT: u8 = 4;
}

/// Record types with a name in Suricata's `dns_rrtype_string`.
pub mod rrtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Null.
    pub const NULL: u16 = 10;
    /// Pointer.
    pub const PTR: u16 = 12;
    /// Mail exchanger.
    pub const MX: u16 = 15;
    /// Text strings.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service locator.
    pub const SRV: u16 = 33;
    /// EDNS(0) options.
    pub const OPT: u16 = 41;
    /// SSH key fingerprint.
    pub const SSHFP: u16 = 44;
}

/// A decoded name: dotted labels, no trailing dot, root is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Name {
    /// The name's bytes.
    pub value: Vec<u8>,
    /// [`name_flags`].
    pub flags: u8,
}

/// The 12-byte header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Message id.
    pub id: u16,
    /// QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode.
    pub flags: u16,
    /// Question count.
    pub qdcount: u16,
    /// Answer count.
    pub ancount: u16,
    /// Authority count.
    pub nscount: u16,
    /// Additional count.
    pub arcount: u16,
}

impl Header {
    /// Reads the header, if 12 bytes are there.
    pub fn parse(b: &[u8]) -> Option<Header> {
        let h = b.get(..12)?;
        // In bounds: h is the 12 bytes get(..12) returned; u is called with i <= 10.
        let u = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        Some(Header { id: u(0), flags: u(2), qdcount: u(4), ancount: u(6), nscount: u(8), arcount: u(10) })
    }

    /// QR bit.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// Opcode (`dns.opcode`).
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }

    /// Rcode (low 4 bits; `dns.rcode`).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }

    /// Suricata's header sanity (`probe_header_validity`) for a message of `len` bytes.
    fn valid_for(&self, len: usize) -> bool {
        let n = usize::from(self.qdcount)
            + usize::from(self.ancount)
            + usize::from(self.nscount)
            + usize::from(self.arcount);
        if 2 * n > len {
            return false;
        }
        if n == 0 && len > 12 {
            return false;
        }
        self.is_response() || self.qdcount != 0
    }
}

/// One question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// QNAME.
    pub name: Name,
    /// QTYPE.
    pub rrtype: u16,
    /// QCLASS.
    pub rrclass: u16,
}

/// SOA data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Soa {
    /// Primary server.
    pub mname: Name,
    /// Responsible mailbox.
    pub rname: Name,
    /// Serial.
    pub serial: u32,
    /// Refresh.
    pub refresh: u32,
    /// Retry.
    pub retry: u32,
    /// Expire.
    pub expire: u32,
    /// Minimum.
    pub minimum: u32,
}

/// Record data, decoded for the types Suricata decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    /// A (the bytes as sent; 4 when well formed).
    A(Vec<u8>),
    /// AAAA (16 when well formed).
    Aaaa(Vec<u8>),
    /// CNAME.
    Cname(Name),
    /// NS.
    Ns(Name),
    /// PTR.
    Ptr(Name),
    /// MX (preference, exchange).
    Mx(u16, Name),
    /// TXT: its character-strings.
    Txt(Vec<Vec<u8>>),
    /// SOA.
    Soa(Soa),
    /// SRV (priority, weight, port, target).
    Srv(u16, u16, u16, Name),
    /// SSHFP (algorithm, fingerprint type, fingerprint).
    Sshfp(u8, u8, Vec<u8>),
    /// NULL.
    Null(Vec<u8>),
    /// OPT: (code, data) options.
    Opt(Vec<(u16, Vec<u8>)>),
    /// Anything else, raw.
    Other(Vec<u8>),
}

/// A resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: Name,
    /// TYPE.
    pub rrtype: u16,
    /// CLASS.
    pub rrclass: u16,
    /// TTL.
    pub ttl: u32,
    /// Decoded data.
    pub data: RData,
}

/// A decoded message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// Header.
    pub header: Header,
    /// Questions.
    pub queries: Vec<Question>,
    /// Answers.
    pub answers: Vec<Record>,
    /// Authorities (empty and `invalid_authorities` when they did not decode).
    pub authorities: Vec<Record>,
    /// Additionals.
    pub additionals: Vec<Record>,
    /// The authority section did not decode (Suricata keeps the message anyway).
    pub invalid_authorities: bool,
    /// The additional section did not decode.
    pub invalid_additionals: bool,
    /// Union of the [`name_flags`] of every name.
    pub name_flags: u8,
}

/// Why a message was not decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsError {
    /// Header missing or failing Suricata's sanity check.
    Header,
    /// Questions or answers run past the message or are malformed.
    Malformed,
    /// Decoding would exceed [`MAX_DECODED_BYTES`].
    TooLarge,
    /// A message with QR set sent to the server.
    NotRequest,
}

impl DnsError {
    /// Short reason, for counters and logs.
    pub fn reason(self) -> &'static str {
        match self {
            DnsError::Header => "header",
            DnsError::Malformed => "malformed",
            DnsError::TooLarge => "too_large",
            DnsError::NotRequest => "not_request",
        }
    }
}

/// Decoder cursor over one message.
struct Dec<'a> {
    msg: &'a [u8],
    budget: usize,
    flags: u8,
}

type R<T> = Result<T, DnsError>;

impl<'a> Dec<'a> {
    fn charge(&mut self, n: usize) -> R<()> {
        self.budget = self.budget.checked_sub(n).ok_or(DnsError::TooLarge)?;
        Ok(())
    }

    fn u8_at(&self, pos: usize, end: usize) -> R<u8> {
        if pos >= end {
            return Err(DnsError::Malformed);
        }
        self.msg.get(pos).copied().ok_or(DnsError::Malformed)
    }

    fn u16_at(&self, pos: usize, end: usize) -> R<u16> {
        Ok(u16::from(self.u8_at(pos, end)?) << 8 | u16::from(self.u8_at(pos + 1, end)?))
    }

    fn u32_at(&self, pos: usize, end: usize) -> R<u32> {
        Ok(u32::from(self.u16_at(pos, end)?) << 16 | u32::from(self.u16_at(pos + 2, end)?))
    }

    fn bytes(&self, pos: usize, n: usize, end: usize) -> R<&'a [u8]> {
        let e = pos.checked_add(n).ok_or(DnsError::Malformed)?;
        if e > end {
            return Err(DnsError::Malformed);
        }
        self.msg.get(pos..e).ok_or(DnsError::Malformed)
    }

    /// Decodes the name at `pos` (which must end before `end` unless a pointer is followed);
    /// returns it and the position after it in the original stream (after the first pointer
    /// when one was followed). Mirrors Suricata's `dns_parse_name`.
    fn name(&mut self, start: usize, end: usize) -> R<(Name, usize)> {
        let mut pos = start;
        let mut lim = end;
        let mut after: Option<usize> = None;
        let mut name = Vec::new();
        let mut flags = 0u8;
        let mut steps = 0usize;
        loop {
            if pos >= lim {
                // Suricata stops at the end of input without error; a name cut by the end
                // of the record or message is treated the same way.
                break;
            }
            let len = self.u8_at(pos, lim)?;
            if len == 0 {
                pos += 1;
                break;
            } else if len & 0xc0 == 0 {
                let label = self.bytes(pos + 1, usize::from(len), lim)?;
                if flags & name_flags::TRUNCATED == 0 {
                    if !name.is_empty() {
                        name.push(b'.');
                    }
                    name.extend_from_slice(label);
                }
                pos += 1 + usize::from(len);
            } else if len & 0xc0 == 0xc0 {
                let off = usize::from(self.u16_at(pos, lim)? & 0x3fff);
                if off > self.msg.len() {
                    return Err(DnsError::Malformed);
                }
                if off == pos {
                    flags |= name_flags::INFINITE_LOOP;
                    if after.is_some() {
                        break;
                    }
                    return Err(DnsError::Malformed);
                }
                if after.is_none() {
                    after = Some(pos + 2);
                }
                pos = off;
                lim = self.msg.len();
            } else {
                return Err(DnsError::Malformed);
            }
            steps += 1;
            if steps > MAX_NAME_STEPS {
                flags |= name_flags::LABEL_LIMIT;
                if after.is_some() {
                    flags |= name_flags::TRUNCATED;
                    break;
                }
                return Err(DnsError::Malformed);
            }
            if name.len() > MAX_NAME_LEN {
                name.truncate(MAX_NAME_LEN);
                flags |= name_flags::TRUNCATED;
                if after.is_some() {
                    break;
                }
            }
        }
        self.charge(name.len())?;
        self.flags |= flags;
        Ok((Name { value: name, flags }, after.unwrap_or(pos)))
    }

    fn question(&mut self, pos: usize) -> R<(Question, usize)> {
        let end = self.msg.len();
        let (name, p) = self.name(pos, end)?;
        let rrtype = self.u16_at(p, end)?;
        let rrclass = self.u16_at(p + 2, end)?;
        Ok((Question { name, rrtype, rrclass }, p + 4))
    }

    fn record(&mut self, pos: usize) -> R<(Record, usize)> {
        let end = self.msg.len();
        let (name, p) = self.name(pos, end)?;
        let rrtype = self.u16_at(p, end)?;
        let rrclass = self.u16_at(p + 2, end)?;
        let ttl = self.u32_at(p + 4, end)?;
        let rdlen = usize::from(self.u16_at(p + 8, end)?);
        let rs = p + 10;
        let re = rs + rdlen;
        if re > end {
            return Err(DnsError::Malformed);
        }
        let data = self.rdata(rrtype, rs, re)?;
        Ok((Record { name, rrtype, rrclass, ttl, data }, re))
    }

    fn raw(&mut self, s: usize, e: usize) -> R<Vec<u8>> {
        let b = self.bytes(s, e - s, e)?;
        self.charge(b.len())?;
        Ok(b.to_vec())
    }

    fn rdata(&mut self, t: u16, s: usize, e: usize) -> R<RData> {
        Ok(match t {
            rrtype::A => RData::A(self.raw(s, e)?),
            rrtype::AAAA => RData::Aaaa(self.raw(s, e)?),
            rrtype::CNAME => RData::Cname(self.name(s, e)?.0),
            rrtype::NS => RData::Ns(self.name(s, e)?.0),
            rrtype::PTR => RData::Ptr(self.name(s, e)?.0),
            rrtype::MX => {
                let pref = self.u16_at(s, e)?;
                RData::Mx(pref, self.name(s + 2, e)?.0)
            }
            rrtype::TXT => {
                let mut v = Vec::new();
                let mut p = s;
                while p < e {
                    let n = usize::from(self.u8_at(p, e)?);
                    let b = self.bytes(p + 1, n, e)?;
                    self.charge(b.len() + 16)?;
                    v.push(b.to_vec());
                    p += 1 + n;
                }
                RData::Txt(v)
            }
            rrtype::SOA => {
                let (mname, p) = self.name(s, e)?;
                let (rname, p) = self.name(p, e)?;
                RData::Soa(Soa {
                    mname,
                    rname,
                    serial: self.u32_at(p, e)?,
                    refresh: self.u32_at(p + 4, e)?,
                    retry: self.u32_at(p + 8, e)?,
                    expire: self.u32_at(p + 12, e)?,
                    minimum: self.u32_at(p + 16, e)?,
                })
            }
            rrtype::SRV => {
                let (a, b, c) = (self.u16_at(s, e)?, self.u16_at(s + 2, e)?, self.u16_at(s + 4, e)?);
                RData::Srv(a, b, c, self.name(s + 6, e)?.0)
            }
            rrtype::SSHFP => {
                let (a, b) = (self.u8_at(s, e)?, self.u8_at(s + 1, e)?);
                RData::Sshfp(a, b, self.raw(s + 2, e)?)
            }
            rrtype::NULL => RData::Null(self.raw(s, e)?),
            rrtype::OPT => {
                let mut v = Vec::new();
                let mut p = s;
                while p < e {
                    let code = self.u16_at(p, e)?;
                    let n = usize::from(self.u16_at(p + 2, e)?);
                    let b = self.bytes(p + 4, n, e)?;
                    self.charge(b.len() + 16)?;
                    v.push((code, b.to_vec()));
                    p += 4 + n;
                }
                RData::Opt(v)
            }
            _ => RData::Other(self.raw(s, e)?),
        })
    }

    fn section(&mut self, pos: usize, n: u16) -> R<(Vec<Record>, usize)> {
        let mut v = Vec::new();
        let mut p = pos;
        for _ in 0..n {
            self.charge(64)?;
            let (r, np) = self.record(p)?;
            v.push(r);
            p = np;
        }
        Ok((v, p))
    }
}

/// Decodes one whole message (a UDP payload, or a TCP message without its length prefix),
/// with Suricata's header sanity check first.
pub fn parse_message(msg: &[u8]) -> Result<Message, DnsError> {
    let header = Header::parse(msg).ok_or(DnsError::Header)?;
    if !header.valid_for(msg.len()) {
        return Err(DnsError::Header);
    }
    let mut d = Dec { msg, budget: MAX_DECODED_BYTES, flags: 0 };
    let mut queries = Vec::new();
    let mut p = 12;
    for _ in 0..header.qdcount {
        d.charge(32)?;
        let (q, np) = d.question(p)?;
        queries.push(q);
        p = np;
    }
    let (answers, p) = d.section(p, header.ancount)?;
    let (authorities, p, invalid_authorities) = match d.section(p, header.nscount) {
        Ok((v, np)) => (v, np, false),
        Err(DnsError::TooLarge) => return Err(DnsError::TooLarge),
        Err(_) => (Vec::new(), p, true),
    };
    let (additionals, invalid_additionals) = if invalid_authorities {
        (Vec::new(), false)
    } else {
        match d.section(p, header.arcount) {
            Ok((v, _)) => (v, false),
            Err(DnsError::TooLarge) => return Err(DnsError::TooLarge),
            Err(_) => (Vec::new(), true),
        }
    };
    Ok(Message {
        header,
        queries,
        answers,
        authorities,
        additionals,
        invalid_authorities,
        invalid_additionals,
        name_flags: d.flags,
    })
}

/// What a probe of the first bytes says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Looks like DNS; `request` when QR is clear.
    Dns {
        /// QR clear.
        request: bool,
    },
    /// Not enough bytes to tell.
    Incomplete,
    /// Not DNS.
    NotDns,
}

/// Suricata's `probe(input, dlen)`: header sanity against the message length, and a full
/// decode when the whole message is there.
fn probe_msg(input: &[u8], dlen: usize) -> Probe {
    let input = input.get(..dlen).unwrap_or(input);
    let Some(h) = Header::parse(input) else {
        return if input.len() < 12 { Probe::Incomplete } else { Probe::NotDns };
    };
    if input.len() < dlen {
        return if h.valid_for(dlen) { Probe::Dns { request: !h.is_response() } } else { Probe::NotDns };
    }
    match parse_message(input) {
        Ok(m) => Probe::Dns { request: !m.header.is_response() },
        Err(_) => Probe::NotDns,
    }
}

/// Probes a UDP datagram (Suricata's `probe_udp`: at least a header, then [`probe_msg`]).
pub fn probe_udp(datagram: &[u8]) -> Probe {
    if datagram.len() < 12 {
        return Probe::NotDns;
    }
    probe_msg(datagram, datagram.len())
}

/// Probes the first bytes of a TCP direction (length prefix, then [`probe_msg`] on what is
/// there; Suricata waits for 14 bytes).
pub fn probe_tcp(first: &[u8]) -> Probe {
    let Some(l) = first.get(..2) else { return Probe::Incomplete };
    // In bounds: l is the 2 bytes get(..2) returned, so first.len() >= 2.
    let dlen = usize::from(u16::from_be_bytes([l[0], l[1]]));
    let rest = &first[2..];
    if rest.len() < 12 {
        return Probe::Incomplete;
    }
    probe_msg(rest, dlen)
}

/// One DNS transaction: a single message, as Suricata makes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tx {
    /// Suricata's internal transaction id (0-based; EVE `tx_id`).
    pub tx_id: u64,
    /// Sent to the server (a request); false: to the client (a response).
    pub to_server: bool,
    /// The message.
    pub msg: Message,
    /// For a response: the request with the same DNS id still outstanding, if any.
    pub request_tx_id: Option<u64>,
}

impl Tx {
    /// The on-the-wire id.
    pub fn id(&self) -> u16 {
        self.msg.header.id
    }

    /// `dns.opcode`: the header opcode of this message.
    pub fn opcode(&self) -> u8 {
        self.msg.header.opcode()
    }

    /// `dns.rcode`.
    pub fn rcode(&self) -> u8 {
        self.msg.header.rcode()
    }

    /// `dns.query` (alias `dns_query`): each question name of a request, in order; nothing
    /// for a response (Suricata registers the buffer to-server only). Rules match per name.
    pub fn query_names(&self) -> impl Iterator<Item = &[u8]> {
        let qs: &[Question] = if self.to_server { &self.msg.queries } else { &[] };
        qs.iter().map(|q| q.name.value.as_slice()).filter(|n| !n.is_empty())
    }

    /// `dns.queries.rrname` / `dns.query.name`: question names in either direction (the
    /// query is echoed in responses).
    pub fn question_names(&self) -> impl Iterator<Item = &[u8]> {
        self.msg.queries.iter().map(|q| q.name.value.as_slice()).filter(|n| !n.is_empty())
    }

    /// `dns.answer.name` / `dns.answers.rrname`: owner names of the answer section.
    pub fn answer_names(&self) -> impl Iterator<Item = &[u8]> {
        self.msg.answers.iter().map(|r| r.name.value.as_slice()).filter(|n| !n.is_empty())
    }

    /// `dns.rrtype` values, in order (the keyword's index form counts positions here): the
    /// question types of a request, the answer types of a response, as Suricata's
    /// `dns_rrtype_match` picks them by direction.
    pub fn rrtypes(&self) -> impl Iterator<Item = u16> + '_ {
        let q = self.msg.queries.iter().filter(move |_| self.to_server).map(|q| q.rrtype);
        let a = self.msg.answers.iter().filter(move |_| !self.to_server).map(|r| r.rrtype);
        q.chain(a)
    }

    /// Writes the alert's `"dns"` object (Suricata 8's v3 format, `SCDnsLogJson` with every
    /// record type and the detailed answer format) into `j`.
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let m = &self.msg;
        let h = &m.header;
        let mut o = j.begin("dns");
        o.u64("version", 3);
        o.str("type", if self.to_server { "request" } else { "response" });
        o.u64("tx_id", self.tx_id);
        o.u64("id", u64::from(h.id));
        o.str("flags", &format!("{:x}", h.flags));
        for (bit, k) in [(0x8000, "qr"), (0x0400, "aa"), (0x0200, "tc"), (0x0100, "rd"), (0x0080, "ra"), (0x0040, "z")]
        {
            if h.flags & bit != 0 {
                o.bool(k, true);
            }
        }
        o.u64("opcode", u64::from(h.opcode()));
        o.str("rcode", &rcode_string(h.flags));
        if !m.queries.is_empty() {
            let mut arr = Vec::new();
            arr.push(b'[');
            for (i, q) in m.queries.iter().enumerate() {
                if i > 0 {
                    arr.push(b',');
                }
                let mut e = Json::object(&mut arr);
                e.bytes("rrname", &q.name.value);
                e.str("rrtype", &rrtype_string(q.rrtype));
                if q.name.flags & name_flags::TRUNCATED != 0 {
                    e.bool("rrname_truncated", true);
                }
                e.end();
            }
            arr.push(b']');
            o.raw("queries", &arr);
        }
        write_records(&mut o, "answers", &m.answers, false);
        write_records(&mut o, "authorities", &m.authorities, false);
        write_records(&mut o, "additionals", &m.additionals, true);
        o.end();
    }
}

/// Writes a section as Suricata's `dns_log_json_answer_detail` entries (one per TXT string;
/// OPT records without options skipped in additionals).
fn write_records(o: &mut Json<'_>, key: &str, recs: &[Record], skip_empty_opt: bool) {
    let mut arr = Vec::new();
    let mut n = 0;
    arr.push(b'[');
    for r in recs {
        if skip_empty_opt && matches!(&r.data, RData::Opt(v) if v.is_empty()) {
            continue;
        }
        let count = match &r.data {
            RData::Txt(v) => v.len(),
            _ => 1,
        };
        for i in 0..count {
            if n > 0 {
                arr.push(b',');
            }
            n += 1;
            write_record(&mut arr, r, i);
        }
    }
    arr.push(b']');
    if n > 0 {
        o.raw(key, &arr);
    }
}

fn write_record(out: &mut Vec<u8>, r: &Record, i: usize) {
    let mut e = Json::object(out);
    e.bytes("rrname", &r.name.value);
    if r.name.flags & name_flags::TRUNCATED != 0 {
        e.bool("rrname_truncated", true);
    }
    e.str("rrtype", &rrtype_string(r.rrtype));
    e.u64("ttl", u64::from(r.ttl));
    let name_rdata = |e: &mut Json<'_>, n: &Name| {
        e.bytes("rdata", &n.value);
        if n.flags & name_flags::TRUNCATED != 0 {
            e.bool("rdata_truncated", true);
        }
    };
    match &r.data {
        RData::A(a) | RData::Aaaa(a) => {
            e.str("rdata", &print_addr(a));
        }
        RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) | RData::Mx(_, n) => name_rdata(&mut e, n),
        RData::Txt(v) => {
            if let Some(t) = v.get(i) {
                e.bytes("rdata", t);
            }
        }
        RData::Null(b) => {
            e.bytes("rdata", b);
        }
        RData::Soa(s) => {
            let mut so = e.begin("soa");
            so.bytes("mname", &s.mname.value);
            if s.mname.flags & name_flags::TRUNCATED != 0 {
                so.bool("mname_truncated", true);
            }
            so.bytes("rname", &s.rname.value);
            so.u64("serial", u64::from(s.serial));
            so.u64("refresh", u64::from(s.refresh));
            so.u64("retry", u64::from(s.retry));
            so.u64("expire", u64::from(s.expire));
            so.u64("minimum", u64::from(s.minimum));
            so.end();
        }
        RData::Srv(prio, weight, port, target) => {
            let mut so = e.begin("srv");
            so.u64("priority", u64::from(*prio));
            so.u64("weight", u64::from(*weight));
            so.u64("port", u64::from(*port));
            so.bytes("name", &target.value);
            so.end();
        }
        RData::Sshfp(algo, t, fp) => {
            let hex: Vec<String> = fp.iter().map(|b| format!("{b:02x}")).collect();
            let mut so = e.begin("sshfp");
            so.str("fingerprint", &hex.join(":"));
            so.u64("algo", u64::from(*algo));
            so.u64("type", u64::from(*t));
            so.end();
        }
        // OPT options and unknown types: the schema has no field for them in alerts.
        RData::Opt(_) | RData::Other(_) => {}
    }
    e.end();
}

/// Suricata's `dns_print_addr`: dotted quad, or eight groups of four lowercase hex digits
/// (not compressed); anything else is empty.
pub fn print_addr(a: &[u8]) -> String {
    match a.len() {
        // In bounds: the match arm is a.len() == 4.
        4 => format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
        16 => {
            // In bounds: chunks(2) never yields an empty chunk.
            let g: Vec<String> =
                a.chunks(2).map(|c| format!("{:02x}{:02x}", c[0], c.get(1).copied().unwrap_or(0))).collect();
            g.join(":")
        }
        _ => String::new(),
    }
}

/// Suricata's `dns_rrtype_string` (including its spellings `NSAPPT`, `CDSNKEY`, `ND`).
pub fn rrtype_string(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        3 => "ND",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAPPT",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDSNKEY",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        _ => return t.to_string(),
    };
    s.to_string()
}

/// Suricata's `dns_rcode_string` (of the header's low 4 bits).
pub fn rcode_string(flags: u16) -> String {
    let s = match flags & 0xf {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        x => return x.to_string(),
    };
    s.to_string()
}

/// DNS counters (plain integers; the integrator publishes them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsStats {
    /// Requests decoded.
    pub requests: u64,
    /// Responses decoded.
    pub responses: u64,
    /// Responses paired with an outstanding request of the same id.
    pub responses_matched: u64,
    /// Responses with no outstanding request of that id.
    pub responses_unmatched: u64,
    /// Messages that failed the header sanity check.
    pub bad_header: u64,
    /// Messages whose questions or answers did not decode.
    pub malformed: u64,
    /// Messages that would have decoded to more than [`MAX_DECODED_BYTES`].
    pub too_large: u64,
    /// Messages with QR set sent to the server (dropped, as Suricata drops them).
    pub not_request: u64,
    /// Messages with QR clear sent to the client (kept as responses, as Suricata keeps them).
    pub not_response: u64,
    /// Messages with at least one truncated name.
    pub name_truncated: u64,
    /// Messages with a pointer loop.
    pub name_loop: u64,
    /// Messages with more than [`MAX_NAME_STEPS`] labels in a name.
    pub name_label_limit: u64,
    /// Messages whose authority or additional section did not decode (message kept).
    pub invalid_sections: u64,
    /// Transactions evicted because [`MAX_TXS`] were held.
    pub tx_evicted: u64,
    /// Outstanding request ids forgotten because [`MAX_OUTSTANDING`] were held.
    pub outstanding_evicted: u64,
    /// TCP directions abandoned after a malformed message.
    pub tcp_abandoned: u64,
    /// TCP bytes ignored in abandoned directions.
    pub tcp_bytes_ignored: u64,
}

/// Outcome of feeding TCP bytes (style rule 8: done / need-more / error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpStatus {
    /// Every byte went into whole messages.
    Done,
    /// A message is partly buffered; `wanted` more bytes complete it.
    NeedMore {
        /// Bytes still missing for the buffered message (its length prefix included).
        wanted: usize,
    },
    /// The direction hit a malformed message and is no longer parsed.
    Error(DnsError),
}

#[derive(Debug, Default)]
struct TcpDir {
    /// A partial message with its length prefix (at most 2 + 65,535 bytes).
    buf: Vec<u8>,
    failed: Option<DnsError>,
}

/// Per-flow DNS state.
#[derive(Debug, Default)]
pub struct DnsState {
    next_tx_id: u64,
    txs: VecDeque<Tx>,
    /// Unanswered requests: (DNS id, tx id), oldest first.
    outstanding: VecDeque<(u16, u64)>,
    /// Index 0: to server; 1: to client.
    tcp: [TcpDir; 2],
    /// Counters.
    pub stats: DnsStats,
}

impl DnsState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &Tx> {
        self.txs.iter()
    }

    /// The transaction with this id, if still held.
    pub fn tx(&self, tx_id: u64) -> Option<&Tx> {
        self.txs.iter().find(|t| t.tx_id == tx_id)
    }

    /// Transactions with an id at least `tx_id` (the ones new since a caller's last look).
    pub fn txs_from(&self, tx_id: u64) -> impl Iterator<Item = &Tx> {
        self.txs.iter().filter(move |t| t.tx_id >= tx_id)
    }

    /// Id the next transaction will get.
    pub fn next_tx_id(&self) -> u64 {
        self.next_tx_id
    }

    /// Frees transactions below `tx_id` (after detection and logging are done with them).
    pub fn free_below(&mut self, tx_id: u64) {
        while self.txs.front().is_some_and(|t| t.tx_id < tx_id) {
            self.txs.pop_front();
        }
    }

    /// Parses one UDP datagram; returns the new transaction's id, or why there is none.
    pub fn parse_udp(&mut self, to_server: bool, datagram: &[u8]) -> Result<u64, DnsError> {
        self.handle(to_server, datagram)
    }

    /// Feeds in-order TCP bytes of one direction; every whole message becomes a transaction.
    pub fn parse_tcp(&mut self, to_server: bool, data: &[u8]) -> TcpStatus {
        let di = usize::from(!to_server);
        if let Some(e) = self.tcp[di].failed {
            self.stats.tcp_bytes_ignored += data.len() as u64;
            return TcpStatus::Error(e);
        }
        let mut input = data;
        // Complete a buffered message first.
        if !self.tcp[di].buf.is_empty() {
            let buf = &mut self.tcp[di].buf;
            if buf.len() < 2 {
                let take = (2 - buf.len()).min(input.len());
                // In bounds: take <= input.len() (min).
                buf.extend_from_slice(&input[..take]);
                input = &input[take..];
                if buf.len() < 2 {
                    return TcpStatus::NeedMore { wanted: 2 - buf.len() };
                }
            }
            // In bounds: buf.len() >= 2 (returned above otherwise).
            let need = 2 + usize::from(u16::from_be_bytes([buf[0], buf[1]]));
            if need == 2 {
                // A zero-length record: skipped, as Suricata skips it.
                buf.clear();
                return self.parse_tcp(to_server, input);
            }
            let take = need.saturating_sub(buf.len()).min(input.len());
            // In bounds: take <= input.len() (min).
            buf.extend_from_slice(&input[..take]);
            input = &input[take..];
            if buf.len() < need {
                return TcpStatus::NeedMore { wanted: need - buf.len() };
            }
            // In bounds: di is 0 or 1 (from to_server) and tcp is [TcpDir; 2].
            let msg = std::mem::take(&mut self.tcp[di].buf);
            if let Err(e) = self.tcp_message(to_server, msg.get(2..).unwrap_or(&[])) {
                return TcpStatus::Error(e);
            }
        }
        // Whole messages straight from the input, the tail buffered.
        loop {
            let Some(l) = input.get(..2) else {
                if !input.is_empty() {
                    // In bounds: di is 0 or 1 (from to_server) and tcp is [TcpDir; 2].
                    self.tcp[di].buf.extend_from_slice(input);
                    return TcpStatus::NeedMore { wanted: 1 };
                }
                return TcpStatus::Done;
            };
            // In bounds: l is the 2 bytes get(..2) returned, so input.len() >= 2.
            let size = usize::from(u16::from_be_bytes([l[0], l[1]]));
            if size == 0 {
                input = &input[2..];
                continue;
            }
            match input.get(2..2 + size) {
                Some(m) => {
                    if let Err(e) = self.tcp_message(to_server, m) {
                        return TcpStatus::Error(e);
                    }
                    // In bounds: get(2..2 + size) returned Some just above.
                    input = &input[2 + size..];
                }
                None => {
                    // In bounds: di is 0 or 1 (from to_server) and tcp is [TcpDir; 2].
                    self.tcp[di].buf.extend_from_slice(input);
                    return TcpStatus::NeedMore { wanted: 2 + size - input.len() };
                }
            }
        }
    }

    fn tcp_message(&mut self, to_server: bool, m: &[u8]) -> Result<(), DnsError> {
        match self.handle(to_server, m) {
            Ok(_) => Ok(()),
            Err(e) => {
                let di = usize::from(!to_server);
                self.tcp[di].failed = Some(e);
                self.tcp[di].buf = Vec::new();
                self.stats.tcp_abandoned += 1;
                Err(e)
            }
        }
    }

    fn handle(&mut self, to_server: bool, bytes: &[u8]) -> Result<u64, DnsError> {
        let msg = match parse_message(bytes) {
            Ok(m) => m,
            Err(e) => {
                match e {
                    DnsError::Header => self.stats.bad_header += 1,
                    DnsError::TooLarge => self.stats.too_large += 1,
                    _ => self.stats.malformed += 1,
                }
                return Err(e);
            }
        };
        if to_server && msg.header.is_response() {
            self.stats.not_request += 1;
            return Err(DnsError::NotRequest);
        }
        if !to_server && !msg.header.is_response() {
            self.stats.not_response += 1;
        }
        let f = msg.name_flags;
        if f & name_flags::TRUNCATED != 0 {
            self.stats.name_truncated += 1;
        }
        if f & name_flags::INFINITE_LOOP != 0 {
            self.stats.name_loop += 1;
        }
        if f & name_flags::LABEL_LIMIT != 0 {
            self.stats.name_label_limit += 1;
        }
        if msg.invalid_authorities || msg.invalid_additionals {
            self.stats.invalid_sections += 1;
        }
        let tx_id = self.next_tx_id;
        self.next_tx_id += 1;
        let id = msg.header.id;
        let mut request_tx_id = None;
        if to_server {
            self.stats.requests += 1;
            if self.outstanding.len() >= MAX_OUTSTANDING {
                self.outstanding.pop_front();
                self.stats.outstanding_evicted += 1;
            }
            self.outstanding.push_back((id, tx_id));
        } else {
            self.stats.responses += 1;
            match self.outstanding.iter().position(|&(i, _)| i == id) {
                Some(p) => {
                    request_tx_id = self.outstanding.remove(p).map(|(_, t)| t);
                    self.stats.responses_matched += 1;
                }
                None => self.stats.responses_unmatched += 1,
            }
        }
        if self.txs.len() >= MAX_TXS {
            self.txs.pop_front();
            self.stats.tx_evicted += 1;
        }
        self.txs.push_back(Tx { tx_id, to_server, msg, request_tx_id });
        Ok(tx_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a message: header fields, then raw body bytes.
    fn msg(id: u16, flags: u16, counts: [u16; 4], body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&flags.to_be_bytes());
        for c in counts {
            m.extend_from_slice(&c.to_be_bytes());
        }
        m.extend_from_slice(body);
        m
    }

    fn qname(name: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for l in name.split('.').filter(|l| !l.is_empty()) {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.push(0);
        v
    }

    fn query(id: u16, name: &str, t: u16) -> Vec<u8> {
        let mut b = qname(name);
        b.extend_from_slice(&t.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        msg(id, 0x0100, [1, 0, 0, 0], &b)
    }

    /// A response to `www.example.com A`: CNAME via pointer, then A, an SOA authority and
    /// an OPT additional.
    fn response() -> Vec<u8> {
        let mut b = qname("www.example.com");
        b.extend_from_slice(&[0, 1, 0, 1]);
        // answer 1: name ptr to 12, CNAME -> "web" + ptr to example.com (offset 16).
        b.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 3, b'w', b'e', b'b', 0xc0, 16]);
        // answer 2: web.example.com (ptr to the rdata name at 12+21+12=45) A 93.184.216.34.
        b.extend_from_slice(&[0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]);
        // authority: example.com SOA ns.example.com. admin.example.com. 1 2 3 4 5
        let mut soa = vec![2, b'n', b's', 0xc0, 16, 5, b'a', b'd', b'm', b'i', b'n', 0xc0, 16];
        for v in 1u32..=5 {
            soa.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&[0xc0, 16, 0, 6, 0, 1, 0, 0, 1, 0]);
        b.extend_from_slice(&(soa.len() as u16).to_be_bytes());
        b.extend_from_slice(&soa);
        // additional: OPT with no options.
        b.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        msg(0xbeef, 0x8180, [1, 2, 1, 1], &b)
    }

    #[test]
    fn query_decodes_and_buffers() {
        let mut st = DnsState::new();
        let id = st.parse_udp(true, &query(7, "www.Example.com", 1)).unwrap();
        let tx = st.tx(id).unwrap();
        let names: Vec<&[u8]> = tx.query_names().collect();
        assert_eq!(names, vec![&b"www.Example.com"[..]]);
        assert_eq!(tx.rrtypes().collect::<Vec<_>>(), vec![1]);
        assert_eq!(tx.opcode(), 0);
        assert_eq!(st.stats.requests, 1);
    }

    #[test]
    fn response_with_pointers() {
        let mut st = DnsState::new();
        st.parse_udp(true, &query(0xbeef, "www.example.com", 1)).unwrap();
        let id = st.parse_udp(false, &response()).unwrap();
        let tx = st.tx(id).unwrap();
        assert_eq!(tx.request_tx_id, Some(0));
        assert_eq!(st.stats.responses_matched, 1);
        let m = &tx.msg;
        assert_eq!(m.answers.len(), 2);
        assert_eq!(m.answers[0].name.value, b"www.example.com");
        assert_eq!(m.answers[0].data, RData::Cname(Name { value: b"web.example.com".to_vec(), flags: 0 }));
        assert_eq!(m.answers[1].name.value, b"web.example.com");
        assert_eq!(m.answers[1].data, RData::A(vec![93, 184, 216, 34]));
        match &m.authorities[0].data {
            RData::Soa(s) => {
                assert_eq!(s.mname.value, b"ns.example.com");
                assert_eq!(s.rname.value, b"admin.example.com");
                assert_eq!((s.serial, s.minimum), (1, 5));
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(m.additionals[0].data, RData::Opt(vec![]));
        // dns.query is to-server only; the echoed question is in dns.queries.rrname.
        assert_eq!(tx.query_names().count(), 0);
        assert_eq!(tx.question_names().count(), 1);
        assert_eq!(tx.rrtypes().collect::<Vec<_>>(), vec![5, 1]);
        assert_eq!(tx.answer_names().collect::<Vec<_>>(), vec![&b"www.example.com"[..], b"web.example.com"]);
    }

    #[test]
    fn eve_object_matches_suricata_v3() {
        let mut st = DnsState::new();
        let id = st.parse_udp(false, &response()).unwrap();
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        st.tx(id).unwrap().write_eve(&mut j);
        j.end();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let d = &v["dns"];
        assert_eq!(d["version"], 3);
        assert_eq!(d["type"], "response");
        assert_eq!(d["id"], 0xbeef);
        assert_eq!(d["flags"], "8180");
        assert_eq!(d["qr"], true);
        assert_eq!(d["rd"], true);
        assert_eq!(d["ra"], true);
        assert_eq!(d["rcode"], "NOERROR");
        assert_eq!(d["queries"][0]["rrname"], "www.example.com");
        assert_eq!(d["queries"][0]["rrtype"], "A");
        assert_eq!(d["answers"][0]["rdata"], "web.example.com");
        assert_eq!(d["answers"][1]["rdata"], "93.184.216.34");
        assert_eq!(d["answers"][1]["ttl"], 60);
        assert_eq!(d["authorities"][0]["soa"]["mname"], "ns.example.com");
        assert!(d.get("additionals").is_none(), "empty OPT skipped: {d}");
        let schema: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/eve-schema.json"))
                .unwrap_or_default(),
        )
        .unwrap_or(serde_json::Value::Null);
        if !schema.is_null() {
            let dns_schema = &schema["properties"]["dns"];
            let mut s = dns_schema.clone();
            s["$defs"] = schema["$defs"].clone();
            let validator = jsonschema::validator_for(&s).unwrap();
            assert!(validator.is_valid(d), "{d}");
        }
    }

    #[test]
    fn txt_srv_aaaa_mx_rdata() {
        let mut b = qname("x");
        b.extend_from_slice(&[0, 16, 0, 1]);
        let rr = |b: &mut Vec<u8>, t: u16, data: &[u8]| {
            b.extend_from_slice(&[0xc0, 12]);
            b.extend_from_slice(&t.to_be_bytes());
            b.extend_from_slice(&[0, 1, 0, 0, 0, 1]);
            b.extend_from_slice(&(data.len() as u16).to_be_bytes());
            b.extend_from_slice(data);
        };
        rr(&mut b, 16, b"\x03abc\x02de");
        rr(&mut b, 33, &[0, 1, 0, 2, 0x01, 0xbb, 0xc0, 12]);
        let mut a6 = [0u8; 16];
        a6[0] = 0x20;
        a6[1] = 0x01;
        a6[15] = 1;
        rr(&mut b, 28, &a6);
        rr(&mut b, 15, &[0, 10, 0xc0, 12]);
        let m = parse_message(&msg(1, 0x8000, [1, 4, 0, 0], &b)).unwrap();
        assert_eq!(m.answers[0].data, RData::Txt(vec![b"abc".to_vec(), b"de".to_vec()]));
        assert_eq!(m.answers[1].data, RData::Srv(1, 2, 443, Name { value: b"x".to_vec(), flags: 0 }));
        assert_eq!(print_addr(&a6), "2001:0000:0000:0000:0000:0000:0000:0001");
        assert_eq!(m.answers[3].data, RData::Mx(10, Name { value: b"x".to_vec(), flags: 0 }));
        let tx = Tx { tx_id: 0, to_server: false, msg: m, request_tx_id: None };
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_eve(&mut j);
        j.end();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let ans = v["dns"]["answers"].as_array().unwrap();
        assert_eq!(ans.len(), 5, "one entry per TXT string");
        assert_eq!(ans[1]["rdata"], "de");
        assert_eq!(ans[2]["srv"]["port"], 443);
    }

    #[test]
    fn compression_loops_are_bounded() {
        // Self-pointer in the question: an error, as in Suricata.
        let m = msg(1, 0x0100, [1, 0, 0, 0], &[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(parse_message(&m), Err(DnsError::Malformed));
        // Two pointers pointing at each other, reached through a first pointer: stops at the
        // step limit with a truncated, flagged name.
        let mut b = qname("a");
        b.extend_from_slice(&[0, 1, 0, 1]);
        // answer owner: ptr -> 30; at 30: label "b", ptr -> 30 again via 32 -> 30 loop.
        let base = 12 + b.len();
        let target = base + 12; // after this RR's fixed part (2 + 10) comes the loop
        b.extend_from_slice(&[0xc0 | (target >> 8) as u8, target as u8, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0]);
        b.extend_from_slice(&[1, b'b', 0xc0 | (target >> 8) as u8, target as u8]);
        let m = parse_message(&msg(1, 0x8000, [1, 1, 0, 0], &b)).unwrap();
        let n = &m.answers[0].name;
        assert!(n.flags & name_flags::LABEL_LIMIT != 0);
        assert!(n.flags & name_flags::TRUNCATED != 0);
        assert!(n.value.len() <= MAX_NAME_LEN);
        // A pointer forward past the end.
        let m = msg(1, 0x0100, [1, 0, 0, 0], &[0xff, 0xff, 0, 1, 0, 1]);
        assert!(parse_message(&m).is_err());
    }

    #[test]
    fn long_names_truncate_at_1025() {
        // 300 labels would hit the step limit; 60-byte labels x 20 = 1220 bytes of name.
        let mut b = Vec::new();
        for _ in 0..20 {
            b.push(60);
            b.extend_from_slice(&[b'a'; 60]);
        }
        b.push(0);
        b.extend_from_slice(&[0, 1, 0, 1]);
        let mut st = DnsState::new();
        let id = st.parse_udp(true, &msg(1, 0x0100, [1, 0, 0, 0], &b)).unwrap();
        let q = &st.tx(id).unwrap().msg.queries[0];
        assert_eq!(q.name.value.len(), MAX_NAME_LEN);
        assert!(q.name.flags & name_flags::TRUNCATED != 0);
        assert_eq!(q.rrtype, 1, "parsing continued past the long name");
        assert_eq!(st.stats.name_truncated, 1);
        // Names over 255 bytes on the wire but under 1025 are kept whole, as Suricata does.
        let mut b = Vec::new();
        for _ in 0..5 {
            b.push(63);
            b.extend_from_slice(&[b'b'; 63]);
        }
        b.extend_from_slice(&[0, 0, 1, 0, 1]);
        let m = parse_message(&msg(1, 0x0100, [1, 0, 0, 0], &b)).unwrap();
        assert_eq!(m.queries[0].name.value.len(), 5 * 63 + 4);
        // 300 one-byte labels without a pointer: error (step limit, no way to resync).
        let mut b = Vec::new();
        for _ in 0..300 {
            b.extend_from_slice(&[1, b'x']);
        }
        b.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(parse_message(&msg(1, 0x0100, [1, 0, 0, 0], &b)).is_err());
    }

    #[test]
    fn pointer_chain_expansion_is_capped() {
        // Many answers each pointing at a long name: decoded bytes are budgeted.
        let mut b = Vec::new();
        for _ in 0..15 {
            b.push(63);
            b.extend_from_slice(&[b'c'; 63]);
        }
        b.push(0);
        b.extend_from_slice(&[0, 1, 0, 1]);
        let n = 4000u16;
        for _ in 0..n {
            b.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 0xc0, 12]);
        }
        let m = msg(1, 0x8000, [1, n, 0, 0], &b);
        assert!(m.len() < 65536);
        assert_eq!(parse_message(&m), Err(DnsError::TooLarge));
    }

    #[test]
    fn header_sanity_and_direction() {
        let mut st = DnsState::new();
        assert_eq!(st.parse_udp(true, &[0; 5]), Err(DnsError::Header));
        // Request without questions.
        assert_eq!(st.parse_udp(true, &msg(1, 0x0100, [0, 0, 0, 0], &[])), Err(DnsError::Header));
        // Counts that cannot fit.
        assert_eq!(st.parse_udp(true, &msg(1, 0x0100, [1, 900, 0, 0], &[0, 0, 1, 0, 1])), Err(DnsError::Header));
        // A response sent to the server.
        let mut r = query(9, "a.b", 1);
        r[2] |= 0x80;
        assert_eq!(st.parse_udp(true, &r), Err(DnsError::NotRequest));
        // A query sent to the client is kept as a response (counted).
        assert!(st.parse_udp(false, &query(9, "a.b", 1)).is_ok());
        assert_eq!(st.stats.not_response, 1);
        assert_eq!(st.stats.bad_header, 3);
    }

    #[test]
    fn opcode_notify() {
        let mut q = query(3, "zone.example", 6);
        q[2] = 0x20; // opcode 4
        let mut st = DnsState::new();
        let id = st.parse_udp(true, &q).unwrap();
        assert_eq!(st.tx(id).unwrap().opcode(), 4);
    }

    #[test]
    fn tcp_every_split_gives_the_same_transactions() {
        let mut stream = Vec::new();
        for (i, name) in ["a.example", "bb.example.org", "c"].iter().enumerate() {
            let q = query(i as u16, name, 28);
            stream.extend_from_slice(&(q.len() as u16).to_be_bytes());
            stream.extend_from_slice(&q);
        }
        stream.extend_from_slice(&[0, 0]); // a zero-length record is skipped
        let expect = |st: &DnsState| {
            let names: Vec<Vec<u8>> = st.txs().flat_map(|t| t.query_names().map(|n| n.to_vec())).collect();
            assert_eq!(names, vec![b"a.example".to_vec(), b"bb.example.org".to_vec(), b"c".to_vec()]);
        };
        for split in 0..=stream.len() {
            let mut st = DnsState::new();
            let (a, b) = stream.split_at(split);
            st.parse_tcp(true, a);
            assert_eq!(st.parse_tcp(true, b), TcpStatus::Done, "split {split}");
            expect(&st);
        }
        let mut st = DnsState::new();
        for b in &stream {
            st.parse_tcp(true, std::slice::from_ref(b));
        }
        expect(&st);
    }

    #[test]
    fn tcp_malformed_abandons_direction() {
        let mut st = DnsState::new();
        let bad = [0u8, 14, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12];
        assert!(matches!(st.parse_tcp(true, &bad), TcpStatus::Error(_)));
        let q = query(1, "a", 1);
        let mut t = (q.len() as u16).to_be_bytes().to_vec();
        t.extend_from_slice(&q);
        assert!(matches!(st.parse_tcp(true, &t), TcpStatus::Error(_)));
        assert_eq!(st.stats.tcp_abandoned, 1);
        assert_eq!(st.stats.tcp_bytes_ignored, t.len() as u64);
        // The other direction still works.
        let mut r = q.clone();
        r[2] |= 0x80;
        let mut t = (r.len() as u16).to_be_bytes().to_vec();
        t.extend_from_slice(&r);
        assert_eq!(st.parse_tcp(false, &t), TcpStatus::Done);
    }

    #[test]
    fn bounded_transactions_and_outstanding() {
        let mut st = DnsState::new();
        for i in 0..(MAX_OUTSTANDING as u16 + 10) {
            st.parse_udp(true, &query(i, "a", 1)).unwrap();
        }
        assert_eq!(st.txs().count(), MAX_TXS);
        assert_eq!(st.stats.tx_evicted, (MAX_OUTSTANDING + 10 - MAX_TXS) as u64);
        assert_eq!(st.stats.outstanding_evicted, 10);
        // Id 0 was forgotten: unmatched.
        let mut r = query(0, "a", 1);
        r[2] |= 0x80;
        st.parse_udp(false, &r).unwrap();
        assert_eq!(st.stats.responses_unmatched, 1);
        st.free_below(st.next_tx_id());
        assert_eq!(st.txs().count(), 0);
    }

    #[test]
    fn probes() {
        assert_eq!(probe_udp(&query(1, "a.b", 1)), Probe::Dns { request: true });
        assert_eq!(probe_udp(&response()), Probe::Dns { request: false });
        assert_eq!(probe_udp(&[0; 11]), Probe::NotDns);
        let q = query(1, "a.b", 1);
        let mut t = (q.len() as u16).to_be_bytes().to_vec();
        t.extend_from_slice(&q);
        assert_eq!(probe_tcp(&t[..1]), Probe::Incomplete);
        assert_eq!(probe_tcp(&t[..13]), Probe::Incomplete);
        assert_eq!(probe_tcp(&t[..14]), Probe::Dns { request: true });
        assert_eq!(probe_tcp(&t), Probe::Dns { request: true });
    }

    /// Runs a conformance capture's DNS (UDP, port 53 either side; TCP payloads in capture
    /// order) through [`DnsState`] the way the integrator will: requests to the server side.
    fn run_pcap(path: &str) -> Option<DnsState> {
        use crate::capture::pcap::PcapFileSource;
        use crate::capture::PacketSource;
        use crate::decode::{Decoded, Decoder};
        use crate::metrics::Counters;
        if !std::path::Path::new(path).exists() {
            return None;
        }
        let mut src = PcapFileSource::new(vec![path.into()]);
        let mut frames = Vec::new();
        while src.next_batch(&mut |f| frames.push((f.linktype, f.data.to_vec()))) {}
        let dec = Decoder::default();
        let mut st = DnsState::new();
        for (lt, frame) in frames {
            let mut d = Decoded::default();
            let mut c = Counters::new();
            dec.decode(lt, &frame, &mut d, &mut c);
            let p = d.payload(&frame);
            if p.is_empty() || (d.sp != 53 && d.dp != 53) {
                continue;
            }
            let to_server = d.dp == 53;
            match d.proto {
                17 => {
                    let _ = st.parse_udp(to_server, p);
                }
                6 => {
                    let _ = st.parse_tcp(to_server, p);
                }
                _ => {}
            }
        }
        Some(st)
    }

    const SV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/suites/sv-dev");

    #[test]
    fn conformance_opcode_notify() {
        // dns.opcode:4 and dns.opcode:!0, flow:to_server: one alert each.
        let Some(st) = run_pcap(&format!("{SV}/dns-opcode/dns-notify.pcap")) else { return };
        let ts: Vec<&Tx> = st.txs().filter(|t| t.to_server).collect();
        assert_eq!(ts.iter().filter(|t| t.opcode() == 4).count(), 1);
        assert_eq!(ts.iter().filter(|t| t.opcode() != 0).count(), 1);
    }

    #[test]
    fn conformance_dns_query() {
        // dns_query; content:"google"; nocase: one alert.
        let Some(st) = run_pcap(&format!("{SV}/dns/dns-query/dns-detect-query-01/input.pcap")) else { return };
        let hits = st
            .txs()
            .filter(|t| t.query_names().any(|n| n.windows(6).any(|w| w.eq_ignore_ascii_case(b"google"))))
            .count();
        assert_eq!(hits, 1);
        // pcre:"/google\.com$/i" on the same buffer: no trailing dot.
        let Some(st) = run_pcap(&format!("{SV}/dns/dns-query/dns-detect-query-04/input.pcap")) else { return };
        assert!(st.txs().any(|t| t.query_names().any(|n| n.to_ascii_lowercase().ends_with(b"google.com"))));
    }

    #[test]
    fn conformance_rrtype_index() {
        // dns.rrtype:1,0 / 1,all / 1,-1 with flow:to_client: 3, 3 and 4 alerts.
        let Some(st) = run_pcap(&format!("{SV}/dns/dns-rrtype-index/input.pcap")) else { return };
        let tc: Vec<Vec<u16>> = st.txs().filter(|t| !t.to_server).map(|t| t.rrtypes().collect()).collect();
        assert_eq!(tc.iter().filter(|v| v.first() == Some(&1)).count(), 3, "{tc:?}");
        assert_eq!(tc.iter().filter(|v| !v.is_empty() && v.iter().all(|&x| x == 1)).count(), 3, "{tc:?}");
        assert_eq!(tc.iter().filter(|v| v.last() == Some(&1)).count(), 4, "{tc:?}");
    }

    #[test]
    fn garbage_never_panics() {
        // A cheap deterministic fuzz: every prefix and byte flip of a real response.
        let r = response();
        for i in 0..=r.len() {
            let _ = parse_message(&r[..i]);
            let _ = probe_udp(&r[..i]);
        }
        for i in 0..r.len() {
            for x in [0x00u8, 0xc0, 0xff, 0x3f] {
                let mut m = r.clone();
                m[i] = x;
                let _ = parse_message(&m);
            }
        }
    }
}
