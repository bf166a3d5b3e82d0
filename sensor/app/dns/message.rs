//! The DNS wire format: header, questions, records and names (compression pointers, loop and
//! size guards), and the probes protocol identification runs.

/// Longest decoded name kept, in presentation bytes (Suricata's `MAX_NAME_LEN`, DNSMasq's).
pub const MAX_NAME_LEN: usize = 1025;
/// Labels plus pointers followed while decoding one name (Suricata's loop guard).
pub const MAX_NAME_STEPS: usize = 255;
/// Transactions kept per flow; a new one beyond evicts the oldest (counted).
pub const MAX_TXS: usize = 64;
/// Unanswered request ids remembered per flow for request/response pairing (Suricata keeps
/// 500 per-id configs; we keep fewer and count evictions).
pub const MAX_OUTSTANDING: usize = 256;
/// Decoded bytes (names and record data, 64 per record for its place) kept per message: a
/// 64 KiB message of pointers to long names could otherwise expand to megabytes. A full 64 KiB
/// response of ordinary records fits (4,000 A records of a 20-byte name take 340 KB; the
/// hostile tests send them).
pub const MAX_DECODED_BYTES: usize = 1024 * 1024;

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
