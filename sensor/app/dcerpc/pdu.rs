//! DCE/RPC PDUs as the parsers read them: a bounds-checked byte reader, the connection-oriented
//! header and the bodies Suricata looks at (bind, bind ack, request), the connectionless header,
//! and interface UUIDs in their canonical (big-endian) byte order.
//!
//! Shared by `dcerpc` (over TCP and UDP) and `smb` (DCE/RPC over named pipes). Every reader
//! returns `None` on short input: nothing here indexes past a slice.

/// Reads little- and big-endian integers and slices off the front of a byte slice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rd<'a> {
    b: &'a [u8],
}

impl<'a> Rd<'a> {
    /// A reader over `b`.
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Rd { b }
    }
    /// Bytes left.
    pub(crate) fn left(&self) -> usize {
        self.b.len()
    }
    /// What is left, without consuming it.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.b
    }
    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, rest) = (self.b.get(..n)?, self.b.get(n..)?);
        self.b = rest;
        Some(a)
    }
    /// Skips `n` bytes.
    pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    /// One byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&x, rest) = self.b.split_first()?;
        self.b = rest;
        Some(x)
    }
    /// A 16-bit integer, little-endian when `le`.
    pub(crate) fn u16(&mut self, le: bool) -> Option<u16> {
        let s: [u8; 2] = self.take(2)?.try_into().ok()?;
        Some(if le { u16::from_le_bytes(s) } else { u16::from_be_bytes(s) })
    }
    /// A 32-bit integer, little-endian when `le`.
    pub(crate) fn u32(&mut self, le: bool) -> Option<u32> {
        let s: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(if le { u32::from_le_bytes(s) } else { u32::from_be_bytes(s) })
    }
    /// A little-endian 16-bit integer.
    pub(crate) fn le16(&mut self) -> Option<u16> {
        self.u16(true)
    }
    /// A little-endian 32-bit integer.
    pub(crate) fn le32(&mut self) -> Option<u32> {
        self.u32(true)
    }
    /// A little-endian 64-bit integer.
    pub(crate) fn le64(&mut self) -> Option<u64> {
        let s: [u8; 8] = self.take(8)?.try_into().ok()?;
        Some(u64::from_le_bytes(s))
    }
    /// Sixteen bytes.
    pub(crate) fn b16(&mut self) -> Option<[u8; 16]> {
        self.take(16)?.try_into().ok()
    }
}

/// Packet types (the `ptype` byte), as Suricata names them in EVE.
pub(crate) mod ptype {
    /// Request.
    pub(crate) const REQUEST: u8 = 0;
    /// Response.
    pub(crate) const RESPONSE: u8 = 2;
    /// Bind.
    pub(crate) const BIND: u8 = 11;
    /// Bind acknowledgement.
    pub(crate) const BINDACK: u8 = 12;
    /// Alter context.
    pub(crate) const ALTER_CONTEXT: u8 = 14;
    /// Alter context response.
    pub(crate) const ALTER_CONTEXT_RESP: u8 = 15;
    /// Suricata's marker for "no such type".
    pub(crate) const UNKNOWN: u8 = 99;
}

/// EVE's name of a packet type.
pub(crate) fn type_name(t: u8) -> std::borrow::Cow<'static, str> {
    let s = match t {
        0 => "REQUEST",
        1 => "PING",
        2 => "RESPONSE",
        3 => "FAULT",
        4 => "WORKING",
        5 => "NOCALL",
        6 => "REJECT",
        7 => "ACK",
        8 => "CL_CANCEL",
        9 => "FACK",
        10 => "CANCEL_ACK",
        11 => "BIND",
        12 => "BINDACK",
        13 => "BINDNAK",
        14 => "ALTER_CONTEXT",
        15 => "ALTER_CONTEXT_RESP",
        16 => "AUTH3",
        17 => "SHUTDOWN",
        18 => "CO_CANCEL",
        19 => "ORPHANED",
        20 => "RTS",
        99 => "UNKNOWN",
        _ => return std::borrow::Cow::Owned(t.to_string()),
    };
    std::borrow::Cow::Borrowed(s)
}

/// The response type that answers a request type (Suricata's `get_resp_type_for_req`).
pub(crate) fn response_for(req: u8) -> u8 {
    match req {
        ptype::REQUEST => ptype::RESPONSE,
        ptype::BIND => ptype::BINDACK,
        ptype::ALTER_CONTEXT => ptype::ALTER_CONTEXT_RESP,
        _ => ptype::UNKNOWN,
    }
}

/// The request type a response type answers.
pub(crate) fn request_for(resp: u8) -> u8 {
    match resp {
        ptype::RESPONSE => ptype::REQUEST,
        ptype::BINDACK => ptype::BIND,
        ptype::ALTER_CONTEXT_RESP => ptype::ALTER_CONTEXT,
        _ => ptype::UNKNOWN,
    }
}

/// `pfc_flags`: first fragment.
pub(crate) const PFC_FIRST_FRAG: u8 = 0x01;
/// `pfc_flags`: last fragment.
pub(crate) const PFC_LAST_FRAG: u8 = 0x02;

/// Length of the connection-oriented header.
pub(crate) const CO_HDR_LEN: usize = 16;

/// The connection-oriented (version 5) common header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CoHeader {
    /// Major version (5).
    pub vers: u8,
    /// Minor version (0 or 1).
    pub minor: u8,
    /// Packet type.
    pub ptype: u8,
    /// `pfc_flags`.
    pub flags: u8,
    /// Integers in the PDU are little-endian (data representation byte 0, bit 4).
    pub little: bool,
    /// The whole PDU's length, header included.
    pub frag_len: u16,
    /// Length of the authentication verifier.
    pub auth_len: u16,
    /// Call id.
    pub call_id: u32,
}

impl CoHeader {
    /// First fragment of a call.
    pub(crate) fn first_frag(&self) -> bool {
        self.flags & PFC_FIRST_FRAG != 0
    }
    /// Last fragment of a call.
    pub(crate) fn last_frag(&self) -> bool {
        self.flags & PFC_LAST_FRAG != 0
    }
}

/// Parses the 16-byte connection-oriented header.
pub(crate) fn co_header(b: &[u8]) -> Option<CoHeader> {
    let mut r = Rd::new(b);
    let vers = r.u8()?;
    let minor = r.u8()?;
    let ptype = r.u8()?;
    let flags = r.u8()?;
    let drep = r.take(4)?;
    let little = drep.first().is_some_and(|d| d & 0x10 != 0);
    let frag_len = r.u16(little)?;
    let auth_len = r.u16(little)?;
    let call_id = r.u32(little)?;
    Some(CoHeader { vers, minor, ptype, flags, little, frag_len, auth_len, call_id })
}

/// A presentation context a bind proposed (an interface, by UUID and version), and what the
/// bind ack said about it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Iface {
    /// The interface UUID, canonical byte order.
    pub uuid: [u8; 16],
    /// Major version.
    pub ver: u16,
    /// Minor version.
    pub ver_min: u16,
    /// Presentation context id.
    pub ctxid: u16,
    /// Position in its bind (the bind ack's results follow this order).
    pub index: u16,
    /// Call id of the bind.
    pub call_id: u32,
    /// The bind was a first fragment (what `dcerpc.iface` without `any_frag` needs).
    pub first_frag: bool,
    /// A bind ack answered it.
    pub acked: bool,
    /// The ack's result (0: acceptance).
    pub ack_result: u16,
    /// The ack's reason.
    pub ack_reason: u16,
}

/// Reorders a UUID as sent little-endian (first three fields byte-swapped) to canonical order.
pub(crate) fn uuid_from_le(b: [u8; 16]) -> [u8; 16] {
    let mut u = b;
    u[..4].reverse();
    u[4..6].reverse();
    u[6..8].reverse();
    u
}

/// A UUID in its usual text form (`367abb81-9844-35f1-ad32-98f038001003`).
pub(crate) fn uuid_string(u: &[u8; 16]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Parses `8-4-4-4-12` hex into canonical bytes.
pub(crate) fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.trim().chars().filter(|&c| c != '-').collect();
    let groups: Vec<usize> = s.trim().split('-').map(str::len).collect();
    if hex.len() != 32 || groups != [8, 4, 4, 4, 12] {
        return None;
    }
    let mut u = [0u8; 16];
    for (i, b) in u.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(u)
}

/// The fixed part of a bind or alter-context body: the number of context items.
fn bind_count(r: &mut Rd<'_>, le: bool) -> Option<u8> {
    r.u16(le)?; // max_xmit_frag
    r.u16(le)?; // max_recv_frag
    r.skip(4)?; // assoc group
    let n = r.u8()?;
    r.skip(3)?;
    Some(n)
}

/// The presentation contexts of a bind body over TCP (Suricata's `dcerpc` parser: integers in
/// the PDU's byte order, one transfer syntax per context).
pub(crate) fn bind_tcp(body: &[u8], h: &CoHeader) -> Option<Vec<Iface>> {
    bind_contexts(body, h, false)
}

/// The presentation contexts of a bind body carried over SMB (Suricata's SMB variant: the
/// context id always little-endian; big-endian binds give minor then major version).
pub(crate) fn bind_smb(body: &[u8], h: &CoHeader) -> Option<Vec<Iface>> {
    bind_contexts(body, h, true)
}

/// The presentation contexts of a bind body, read as Suricata's `dcerpc` parser reads them
/// (`smb` false: the fixed part little-endian, the rest in the PDU's byte order) or as its
/// SMB variant (`smb`: the fixed part in the PDU's byte order, the context id little-endian,
/// a big-endian bind's versions minor first).
fn bind_contexts(body: &[u8], h: &CoHeader, smb: bool) -> Option<Vec<Iface>> {
    let mut r = Rd::new(body);
    let n = bind_count(&mut r, !smb || h.little)?;
    let mut out = Vec::with_capacity(usize::from(n).min(64));
    for index in 0..u16::from(n) {
        let ctxid = r.u16(smb || h.little)?;
        r.skip(2)?; // number of transfer syntaxes, reserved
        let raw = r.b16()?;
        let (ver, ver_min) = if smb && !h.little {
            let m = r.u16(false)?;
            (r.u16(false)?, m)
        } else {
            let v = r.u16(h.little)?;
            (v, r.u16(h.little)?)
        };
        r.skip(20)?;
        let uuid = if h.little { uuid_from_le(raw) } else { raw };
        out.push(Iface {
            uuid,
            ver,
            ver_min,
            ctxid,
            index,
            call_id: h.call_id,
            first_frag: h.first_frag(),
            ..Iface::default()
        });
    }
    Some(out)
}

/// One result of a bind ack: (result, reason).
pub(crate) fn bindack_results(body: &[u8]) -> Option<Vec<(u16, u16)>> {
    let mut r = Rd::new(body);
    r.le16()?;
    r.le16()?;
    r.skip(4)?;
    let sec_addr_len = r.le16()?;
    r.skip(usize::from(sec_addr_len))?;
    let pad = sec_addr_len.wrapping_add(2) % 4;
    if pad != 0 {
        r.skip(usize::from(4 - pad))?;
    }
    let n = r.u8()?;
    r.skip(3)?;
    let mut out = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let result = r.le16()?;
        let reason = r.le16()?;
        r.skip(20)?;
        out.push((result, reason));
    }
    Some(out)
}

/// The request header that follows the common header: (context id, opnum).
pub(crate) fn request_hdr(body: &[u8], little: bool) -> Option<(u16, u16)> {
    let mut r = Rd::new(body);
    r.skip(4)?; // alloc hint
    let ctxid = r.u16(little)?;
    let opnum = r.u16(little)?;
    Some((ctxid, opnum))
}

/// Length of the connectionless (version 4) header.
pub(crate) const CL_HDR_LEN: usize = 80;

/// The connectionless header, the fields Suricata uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClHeader {
    /// Version (4).
    pub vers: u8,
    /// Packet type.
    pub ptype: u8,
    /// First flags byte.
    pub flags1: u8,
    /// Second flags byte.
    pub flags2: u8,
    /// First data representation byte.
    pub drep0: u8,
    /// Second data representation byte.
    pub drep1: u8,
    /// Activity UUID, canonical order.
    pub activity: [u8; 16],
    /// Sequence number.
    pub seqnum: u32,
    /// Body length.
    pub fraglen: u16,
    /// Fragment number.
    pub fragnum: u16,
}

/// `flags1`: last fragment.
pub(crate) const PFCL1_LASTFRAG: u8 = 0x02;
/// `flags1`: the PDU is a fragment.
pub(crate) const PFCL1_FRAG: u8 = 0x04;

/// Parses the 80-byte connectionless header (integers big-endian when the first data
/// representation byte is 0, as Suricata reads it; UUIDs always reordered from little-endian).
pub(crate) fn cl_header(b: &[u8]) -> Option<ClHeader> {
    let mut r = Rd::new(b);
    let vers = r.u8()?;
    let ptype = r.u8()?;
    let flags1 = r.u8()?;
    let flags2 = r.u8()?;
    let drep = r.take(3)?;
    let (drep0, drep1) = (drep[0], drep[1]);
    let le = drep0 != 0;
    r.skip(1 + 16 + 16)?; // serial_hi, object, interface
    let activity = uuid_from_le(r.b16()?);
    r.u32(le)?; // server boot
    r.u32(le)?; // interface version
    let seqnum = r.u32(le)?;
    r.u16(le)?; // opnum
    r.u16(le)?; // interface hint
    r.u16(le)?; // activity hint
    let fraglen = r.u16(le)?;
    let fragnum = r.u16(le)?;
    r.skip(2)?; // auth proto, serial_lo
    Some(ClHeader { vers, ptype, flags1, flags2, drep0, drep1, activity, seqnum, fraglen, fragnum })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_round_trip_and_reorder() {
        let s = "367abb81-9844-35f1-ad32-98f038001003";
        let u = parse_uuid(s).unwrap_or_default();
        assert_eq!(uuid_string(&u), s);
        let wire = [0x81, 0xbb, 0x7a, 0x36, 0x44, 0x98, 0xf1, 0x35, 0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03];
        assert_eq!(uuid_from_le(wire), u);
        assert_eq!(parse_uuid("367abb81-9844-35f1-ad32-98f03800100"), None);
        assert_eq!(parse_uuid("367abb8198-44-35f1-ad32-98f038001003"), None);
        assert_eq!(parse_uuid("zz7abb81-9844-35f1-ad32-98f038001003"), None);
    }

    #[test]
    fn co_header_and_probe() {
        let h = [5, 0, 11, 3, 0x10, 0, 0, 0, 0x48, 0, 0, 0, 2, 0, 0, 0];
        let p = co_header(&h).unwrap_or_else(|| panic!("header"));
        assert_eq!(
            (p.ptype, p.frag_len, p.call_id, p.little, p.first_frag(), p.last_frag()),
            (11, 72, 2, true, true, true)
        );
        let mut be = h;
        be[4] = 0;
        be[8] = 0;
        be[9] = 0x48;
        assert_eq!(co_header(&be).map(|x| x.frag_len), Some(72));
        assert_eq!(co_header(&h[..15]), None);
    }

    #[test]
    fn bind_and_ack_bodies() {
        // bind: one context, svcctl 2.0, NDR transfer syntax
        let mut body = vec![0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0];
        body.extend_from_slice(&[0, 0, 1, 0]);
        body.extend_from_slice(&[
            0x81, 0xbb, 0x7a, 0x36, 0x44, 0x98, 0xf1, 0x35, 0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03,
        ]);
        body.extend_from_slice(&[2, 0, 0, 0]);
        body.extend_from_slice(&[0; 20]);
        let h =
            CoHeader { vers: 5, minor: 0, ptype: 11, flags: 3, little: true, frag_len: 72, auth_len: 0, call_id: 7 };
        let ifs = bind_tcp(&body, &h).unwrap_or_default();
        assert_eq!(ifs.len(), 1);
        assert_eq!(uuid_string(&ifs[0].uuid), "367abb81-9844-35f1-ad32-98f038001003");
        assert_eq!((ifs[0].ver, ifs[0].ver_min, ifs[0].call_id, ifs[0].first_frag), (2, 0, 7, true));
        assert_eq!(bind_smb(&body, &h).map(|v| v[0].ver), Some(2));
        assert_eq!(bind_tcp(&body[..40], &h), None, "a cut context item is an error");
        // ack: secondary address "\PIPE\ntsvcs" (12 bytes + NUL = 13), padded to 4
        let mut ack = vec![0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 13, 0];
        ack.extend_from_slice(b"\\PIPE\\ntsvcs\0");
        ack.push(0); // (13 + 2) % 4 = 3: one byte of padding
        ack.extend_from_slice(&[2, 0, 0, 0]);
        ack.extend_from_slice(&[0, 0, 0, 0]);
        ack.extend_from_slice(&[0; 20]);
        ack.extend_from_slice(&[3, 0, 2, 0]);
        ack.extend_from_slice(&[0; 20]);
        assert_eq!(bindack_results(&ack), Some(vec![(0, 0), (3, 2)]));
        assert_eq!(bindack_results(&ack[..30]), None);
    }
}
