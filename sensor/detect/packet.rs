//! Packet: a rule's header keywords against one decoded packet.
//!
//! Takes: an [`ast::PacketMatch`], the frame and its [`Decoded`] summary (which describes the
//! innermost IP packet). Promises: Suricata's answer for the keyword (the match functions of
//! src/detect-dsize.c, detect-ttl.c, detect-tos.c, detect-id.c, detect-ipproto.c,
//! detect-ipopts.c, detect-fragbits.c, detect-fragoffset.c, detect-flags.c, detect-seq.c,
//! detect-ack.c, detect-tcp-window.c, detect-tcpmss.c, detect-itype.c, detect-icode.c,
//! detect-icmp-id.c, detect-icmp-seq.c, detect-sameip.c). A keyword whose layer the packet
//! does not have does not match (`flags` on UDP, `itype` on TCP, `tos` on IPv6, TCP and ICMP
//! keywords on IP fragments, ...), as there.
//! Never: reads outside the frame or panics.
//!
//! `app-layer-protocol` and `stream_size` are not decided here: they need the flow's protocol
//! or TCP session, so [`match_packet`] returns true for them and the caller checks them.
//!
//! [`ast::PacketMatch`]: crate::rule::ast::PacketMatch

use crate::decode::{proto, Decoded};
use crate::rule::ast::{FlagsMod, FragBits, PacketMatch, TcpFlags};

/// Whether the packet satisfies one header keyword.
pub fn match_packet(m: &PacketMatch, frame: &[u8], d: &Decoded) -> bool {
    match m {
        // p->payload_len: set by the TCP/UDP/ICMP/SCTP/ESP decoders, 0 otherwise (fragments,
        // unknown protocols).
        PacketMatch::Dsize(n) => n.matches(if l4(d) { d.payload_len.min(u16::MAX as u32) as u64 } else { 0 }),
        PacketMatch::Ttl(n) => d.is_ip() && n.matches(d.ttl as u64),
        PacketMatch::Tos(n) => is_ipv4(d) && frame.get(d.ip_off as usize + 1).is_some_and(|&t| n.matches(t as u64)),
        PacketMatch::Id(n) => is_ipv4(d) && n.matches((d.ip_id & 0xffff) as u64),
        PacketMatch::IpProto(n) => d.is_ip() && n.matches(d.proto as u64),
        PacketMatch::IpOpts(name) => is_ipv4(d) && ipopts_match(frame, d, name),
        PacketMatch::FragBits(fb) => is_ipv4(d) && ipv4_flags_field(frame, d).is_some_and(|f| fragbits_match(f, fb)),
        PacketMatch::FragOffset(n) => frag_offset(frame, d).is_some_and(|v| n.matches(v as u64)),
        PacketMatch::Flags(f) => is_tcp(d) && flags_match(d.tcp_flags, f),
        PacketMatch::Seq(s) => is_tcp(d) && d.tcp_seq == *s,
        PacketMatch::Ack(a) => is_tcp(d) && d.tcp_ack == *a,
        PacketMatch::Window(n) => is_tcp(d) && n.matches(d.tcp_win as u64),
        PacketMatch::TcpMss(n) => is_tcp(d) && tcp_mss(frame, d).is_some_and(|v| n.matches(v as u64)),
        PacketMatch::Itype(n) => (is_icmpv4(d) || is_icmpv6(d)) && n.matches(d.icmp_type as u64),
        PacketMatch::Icode(n) => (is_icmpv4(d) || is_icmpv6(d)) && n.matches(d.icmp_code as u64),
        PacketMatch::IcmpId(id) => icmp_id_seq(frame, d).is_some_and(|(i, _)| i == *id),
        PacketMatch::IcmpSeq(seq) => icmp_id_seq(frame, d).is_some_and(|(_, s)| s == *seq),
        PacketMatch::SameIp => d.is_ip() && d.src == d.dst,
        PacketMatch::AppLayerProtocol { .. } | PacketMatch::StreamSize(..) => true,
    }
}

fn is_ipv4(d: &Decoded) -> bool {
    d.is_ip() && !d.is_ipv6()
}

/// The transport header was decoded the way Suricata decodes it: ICMPv4 inside IPv6 and
/// ICMPv6 inside IPv4 are only flagged there, not decoded.
fn l4(d: &Decoded) -> bool {
    if !d.has_l4() {
        return false;
    }
    match d.proto {
        proto::ICMP => !d.is_ipv6(),
        proto::ICMPV6 => d.is_ipv6(),
        _ => true,
    }
}

fn is_tcp(d: &Decoded) -> bool {
    l4(d) && d.proto == proto::TCP
}

fn is_icmpv4(d: &Decoded) -> bool {
    l4(d) && d.proto == proto::ICMP
}

fn is_icmpv6(d: &Decoded) -> bool {
    l4(d) && d.proto == proto::ICMPV6
}

fn be16(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(o)?, *b.get(o.checked_add(1)?)?]))
}

/// The IPv4 flags/fragment-offset field.
fn ipv4_flags_field(frame: &[u8], d: &Decoded) -> Option<u16> {
    be16(frame, d.ip_off as usize + 6)
}

/// detect-flags.c `FlagsMatch` over the TCP flags byte (CWR 0x80 and ECE 0x40 included).
pub fn flags_match(pflags: u8, f: &TcpFlags) -> bool {
    let dflags = f.flags;
    if dflags == 0 && pflags != 0 {
        return f.modifier == FlagsMod::Not;
    }
    let flags = pflags & !f.ignore;
    match f.modifier {
        FlagsMod::Any => flags & dflags != 0,
        FlagsMod::Plus => flags & dflags == dflags,
        FlagsMod::Not => flags & dflags != dflags,
        FlagsMod::Exact => flags == dflags,
    }
}

/// detect-fragbits.c `FragBitsMatch`; note `+` there means "these and at least one other".
pub fn fragbits_match(field: u16, fb: &FragBits) -> bool {
    const MASK: u16 = 0xe000;
    let p = field & MASK;
    let want = fb.bits & MASK;
    match fb.modifier {
        FlagsMod::Any => p & want != 0,
        FlagsMod::Plus => p & want == want && p != want,
        FlagsMod::Not => p & want != want,
        FlagsMod::Exact => p == want,
    }
}

/// detect-fragoffset.c: IPv4 compares the 13-bit offset field (8-byte units); IPv6 compares
/// the fragment header's offset in bytes (`fh_offset`, the field masked with 0xfff8), and
/// only when the packet has a fragment header.
fn frag_offset(frame: &[u8], d: &Decoded) -> Option<u32> {
    if !d.is_ip() {
        return None;
    }
    if !d.is_ipv6() {
        return ipv4_flags_field(frame, d).map(|f| (f & 0x1fff) as u32);
    }
    ipv6_frag_header(frame, d).map(|fo| (fo & 0xfff8) as u32)
}

/// The offset/flags word of the IPv6 fragment header, if the extension headers have one.
fn ipv6_frag_header(frame: &[u8], d: &Decoded) -> Option<u16> {
    let start = d.ip_off as usize;
    let end = start.checked_add(d.ip_hlen as usize)?.min(frame.len());
    let mut next = *frame.get(start + 6)?;
    let mut o = start + 40;
    while o + 8 <= end {
        let len = match next {
            44 => return be16(frame, o + 2),
            0 | 43 | 60 | 135 | 139 | 140 => (*frame.get(o + 1)? as usize + 1) * 8,
            51 => (*frame.get(o + 1)? as usize + 2) * 4,
            _ => return None,
        };
        next = *frame.get(o)?;
        o += len;
    }
    None
}

// IPv4 option flags (decode-ipv4.h IPV4_OPT_FLAG_*).
const OPT_EOL: u16 = 1 << 1;
const OPT_NOP: u16 = 1 << 2;
const OPT_RR: u16 = 1 << 3;
const OPT_TS: u16 = 1 << 4;
const OPT_QS: u16 = 1 << 5;
const OPT_LSRR: u16 = 1 << 6;
const OPT_SSRR: u16 = 1 << 7;
const OPT_SID: u16 = 1 << 8;
const OPT_SEC: u16 = 1 << 9;
const OPT_CIPSO: u16 = 1 << 10;
const OPT_RTRALT: u16 = 1 << 11;
const OPT_ESEC: u16 = 1 << 12;

/// detect-ipopts.c: `opts_set & flag`, `any` being every flag.
fn ipopts_match(frame: &[u8], d: &Decoded, name: &str) -> bool {
    let want = match name.to_ascii_lowercase().as_str() {
        "rr" => OPT_RR,
        "lsrr" => OPT_LSRR,
        "eol" => OPT_EOL,
        "nop" => OPT_NOP,
        "ts" => OPT_TS,
        "sec" => OPT_SEC,
        "esec" => OPT_ESEC,
        "ssrr" => OPT_SSRR,
        "satid" => OPT_SID,
        "any" => u16::MAX,
        _ => return false,
    };
    let start = d.ip_off as usize + 20;
    let end = (d.ip_off as usize).saturating_add(d.ip_hlen as usize);
    match frame.get(start..end) {
        Some(opts) => ipv4_opts_set(opts) & want != 0,
        None => false,
    }
}

/// decode-ipv4.c `DecodeIPV4Options`: the flags of the options that parse and validate. A
/// malformed option stops the walk (Suricata then drops the packet as invalid); a duplicate
/// or unknown option is skipped.
fn ipv4_opts_set(opts: &[u8]) -> u16 {
    let mut set = 0u16;
    let mut i = 0;
    while i < opts.len() {
        // In bounds: i < opts.len() (loop condition).
        let t = opts[i];
        match t {
            0 => {
                set |= OPT_EOL;
                break;
            }
            1 => {
                set |= OPT_NOP;
                i += 1;
            }
            _ => {
                let plen = opts.len() - i;
                if plen < 2 {
                    break;
                }
                // In bounds: plen = opts.len() - i >= 2 is checked above.
                let l = opts[i + 1] as usize;
                if l > plen || l < 2 {
                    break;
                }
                // In bounds: 2 <= l <= plen = opts.len() - i is checked above.
                let o = &opts[i..i + l];
                let (flag, ok) = match t {
                    0x44 => (OPT_TS, valid_ts(o)),
                    0x07 => (OPT_RR, valid_route(o)),
                    0x83 => (OPT_LSRR, valid_route(o)),
                    0x89 => (OPT_SSRR, valid_route(o)),
                    0x19 => (OPT_QS, l >= 8),
                    0x82 => (OPT_SEC, l >= 3),
                    0x85 => (OPT_ESEC, l >= 3),
                    0x88 => (OPT_SID, l == 4),
                    0x94 => (OPT_RTRALT, l == 4),
                    0x86 => (OPT_CIPSO, valid_cipso(o)),
                    _ => (0, true),
                };
                if !ok {
                    break;
                }
                set |= flag;
                i += l;
            }
        }
    }
    set
}

/// IPV4OptValidateRoute: a pointer at least 4, a multiple of 4, within the option + 1.
fn valid_route(o: &[u8]) -> bool {
    let l = o.len();
    if l < 3 {
        return false;
    }
    // In bounds: l = o.len() >= 3 is checked above.
    let ptr = o[2] as usize;
    !(ptr < 4 || ptr % 4 != 0 || ptr > l + 1)
}

/// IPV4OptValidateTimestamp.
fn valid_ts(o: &[u8]) -> bool {
    let l = o.len();
    if l < 5 {
        return false;
    }
    // In bounds: l = o.len() >= 5 is checked above.
    let ptr = o[2] as usize;
    if ptr < 5 {
        return false;
    }
    let flag = o[3] & 0x0f;
    let rec = if flag == 1 || flag == 3 { 8 } else { 4 };
    !((ptr - 5) % rec != 0 || ptr > l + 1)
}

/// IPV4OptValidateCIPSO: DOI then well-formed tags.
fn valid_cipso(o: &[u8]) -> bool {
    if o.len() < 10 {
        return false;
    }
    // In bounds: o.len() >= 10 is checked above.
    let mut tags = &o[6..];
    while !tags.is_empty() {
        if tags.len() < 2 {
            return false;
        }
        // In bounds: tags.len() >= 2 is checked above.
        let (tt, tl) = (tags[0], tags[1] as usize);
        if tl > tags.len() {
            return false;
        }
        match tt {
            1 | 2 | 5 | 6 | 7 => {
                // In bounds: tl >= 4 is tested first and tl <= tags.len() is checked above.
                if tl < 4 || (tt != 7 && tags[2] != 0) {
                    return false;
                }
                tags = &tags[tl..];
            }
            _ => return false,
        }
    }
    true
}

/// The MSS option (kind 2, length 4; the first one), as decode-tcp.c `DecodeTCPOptions`
/// records it.
fn tcp_mss(frame: &[u8], d: &Decoded) -> Option<u16> {
    let start = d.l4_off as usize + 20;
    let end = (d.l4_off as usize).saturating_add(d.l4_hlen as usize);
    let opts = frame.get(start..end)?;
    let mut i = 0;
    while i < opts.len() {
        // In bounds: i < opts.len() (loop condition).
        match opts[i] {
            0 => break,
            1 => i += 1,
            kind => {
                if opts.len() - i < 2 {
                    break;
                }
                // In bounds: opts.len() - i >= 2 is checked above.
                let l = opts[i + 1] as usize;
                if l > opts.len() - i || l < 2 {
                    break;
                }
                if kind == 2 && l == 4 {
                    return be16(opts, i + 2);
                }
                i += l;
            }
        }
    }
    None
}

/// ICMP identifier and sequence, for the message types that carry them (detect-icmp-id.c,
/// detect-icmp-seq.c): ICMPv4 echo, timestamp, information and address mask requests and
/// replies; ICMPv6 echo request and reply.
fn icmp_id_seq(frame: &[u8], d: &Decoded) -> Option<(u16, u16)> {
    let ok = if is_icmpv4(d) {
        matches!(d.icmp_type, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
    } else if is_icmpv6(d) {
        matches!(d.icmp_type, 128 | 129)
    } else {
        false
    };
    if !ok {
        return None;
    }
    let o = d.l4_off as usize;
    Some((be16(frame, o + 4)?, be16(frame, o + 6)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::Decoder;
    use crate::metrics::Counters;
    use crate::rule::ast::NumCmp;
    use etherparse::{PacketBuilder, TcpOptionElement};

    const A: [u8; 4] = [10, 0, 0, 1];
    const B: [u8; 4] = [10, 0, 0, 2];

    fn decode(frame: &[u8]) -> Decoded {
        let mut d = Decoded::default();
        let mut c = Counters::new();
        Decoder::default().decode(LinkType::ETHERNET, frame, &mut d, &mut c);
        d
    }

    fn eth() -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
        PacketBuilder::ethernet2([1; 6], [2; 6])
    }

    fn tcp_frame(
        f: impl FnOnce(
            etherparse::PacketBuilderStep<etherparse::TcpHeader>,
        ) -> etherparse::PacketBuilderStep<etherparse::TcpHeader>,
        payload: &[u8],
    ) -> Vec<u8> {
        let b = f(eth().ipv4(A, B, 64).tcp(1234, 80, 1000, 8192));
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    fn udp_frame(payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        eth().ipv4(A, B, 64).udp(53, 53).write(&mut v, payload).unwrap();
        v
    }

    fn udp6_frame(payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        eth().ipv6([1; 16], [2; 16], 33).udp(53, 53).write(&mut v, payload).unwrap();
        v
    }

    fn icmp4_echo(id: u16, seq: u16) -> Vec<u8> {
        let mut v = Vec::new();
        eth().ipv4(A, B, 64).icmpv4_echo_request(id, seq).write(&mut v, b"ping").unwrap();
        v
    }

    fn icmp6_echo_reply(id: u16, seq: u16) -> Vec<u8> {
        let mut v = Vec::new();
        eth().ipv6([1; 16], [2; 16], 64).icmpv6_echo_reply(id, seq).write(&mut v, b"pong").unwrap();
        v
    }

    /// Inserts IPv4 options after the 20-byte header of an Ethernet/IPv4 frame.
    fn with_ip_options(frame: &[u8], opts: &[u8]) -> Vec<u8> {
        assert_eq!(opts.len() % 4, 0);
        let mut v = frame[..34].to_vec();
        v.extend_from_slice(opts);
        v.extend_from_slice(&frame[34..]);
        v[14] = 0x40 | ((20 + opts.len()) / 4) as u8;
        let tl = u16::from_be_bytes([v[16], v[17]]) + opts.len() as u16;
        v[16..18].copy_from_slice(&tl.to_be_bytes());
        v
    }

    /// Inserts an IPv6 fragment header (offset in bytes, more-fragments flag) before the
    /// transport header of an Ethernet/IPv6 frame.
    fn with_frag_header(frame: &[u8], offset: u16, more: bool) -> Vec<u8> {
        let next = frame[20];
        let mut v = frame[..54].to_vec();
        v[20] = 44;
        let fo = (offset & 0xfff8) | more as u16;
        v.extend_from_slice(&[next, 0, (fo >> 8) as u8, fo as u8, 0, 0, 0x12, 0x34]);
        v.extend_from_slice(&frame[54..]);
        let pl = u16::from_be_bytes([v[18], v[19]]) + 8;
        v[18..20].copy_from_slice(&pl.to_be_bytes());
        v
    }

    fn m(pm: &PacketMatch, frame: &[u8]) -> bool {
        match_packet(pm, frame, &decode(frame))
    }

    type Case = (&'static str, PacketMatch, Vec<u8>, bool);

    fn check(cases: Vec<Case>) {
        let mut failed = vec![];
        for (name, pm, frame, want) in cases {
            let got = m(&pm, &frame);
            if got != want {
                failed.push(format!("{name}: got {got}, want {want}"));
            }
        }
        assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
    }

    fn flags(flags: u8, ignore: u8, modifier: FlagsMod) -> PacketMatch {
        PacketMatch::Flags(TcpFlags { flags, ignore, modifier })
    }

    const F: u8 = 0x01;
    const S: u8 = 0x02;
    const R: u8 = 0x04;
    const P: u8 = 0x08;
    const AK: u8 = 0x10;
    const E: u8 = 0x40;
    const C: u8 = 0x80;

    #[test]
    fn packet_dsize() {
        let mut frag = udp_frame(b"hello");
        frag[20] |= 0x20; // more fragments: no transport decode, payload_len 0 as in Suricata
        check(vec![
            ("tcp payload", PacketMatch::Dsize(NumCmp::Eq(5)), tcp_frame(|b| b, b"hello"), true),
            ("tcp payload ne", PacketMatch::Dsize(NumCmp::Eq(4)), tcp_frame(|b| b, b"hello"), false),
            ("tcp empty", PacketMatch::Dsize(NumCmp::Eq(0)), tcp_frame(|b| b.syn(), b""), true),
            ("udp range", PacketMatch::Dsize(NumCmp::Range(1, 6)), udp_frame(b"hello"), true),
            ("udp gt", PacketMatch::Dsize(NumCmp::Gt(5)), udp_frame(b"hello"), false),
            ("icmp data after 8-byte header", PacketMatch::Dsize(NumCmp::Eq(4)), icmp4_echo(1, 1), true),
            ("fragment has no payload", PacketMatch::Dsize(NumCmp::Eq(0)), frag.clone(), true),
            ("fragment not 13", PacketMatch::Dsize(NumCmp::Eq(13)), frag, false),
        ]);
    }

    #[test]
    fn packet_ip_header_keywords() {
        let mut tos = tcp_frame(|b| b, b"");
        tos[15] = 0x10;
        let mut same = udp_frame(b"x");
        same[30..34].copy_from_slice(&A);
        let mut id = udp_frame(b"x");
        id[18..20].copy_from_slice(&4242u16.to_be_bytes());
        check(vec![
            ("ttl", PacketMatch::Ttl(NumCmp::Eq(64)), tcp_frame(|b| b, b""), true),
            ("ttl lt", PacketMatch::Ttl(NumCmp::Lt(64)), tcp_frame(|b| b, b""), false),
            ("ttl v6 hop limit", PacketMatch::Ttl(NumCmp::Eq(33)), udp6_frame(b"x"), true),
            ("tos", PacketMatch::Tos(NumCmp::Eq(0x10)), tos.clone(), true),
            ("tos negated", PacketMatch::Tos(NumCmp::Ne(0x10)), tos, false),
            ("tos negated other", PacketMatch::Tos(NumCmp::Ne(0x10)), tcp_frame(|b| b, b""), true),
            ("tos not on v6", PacketMatch::Tos(NumCmp::Ne(0x10)), udp6_frame(b"x"), false),
            ("id", PacketMatch::Id(NumCmp::Eq(4242)), id.clone(), true),
            ("id ne", PacketMatch::Id(NumCmp::Eq(4243)), id, false),
            ("id not on v6", PacketMatch::Id(NumCmp::Eq(0)), udp6_frame(b"x"), false),
            ("ip_proto tcp", PacketMatch::IpProto(NumCmp::Eq(6)), tcp_frame(|b| b, b""), true),
            ("ip_proto not udp", PacketMatch::IpProto(NumCmp::Ne(17)), tcp_frame(|b| b, b""), true),
            ("ip_proto v6 udp", PacketMatch::IpProto(NumCmp::Eq(17)), udp6_frame(b"x"), true),
            ("sameip", PacketMatch::SameIp, same, true),
            ("not sameip", PacketMatch::SameIp, udp_frame(b"x"), false),
            (
                "app-layer-protocol left to the caller",
                PacketMatch::AppLayerProtocol {
                    name: "http".into(),
                    negated: false,
                    mode: Default::default(),
                    exact: false,
                },
                udp_frame(b"x"),
                true,
            ),
        ]);
    }

    #[test]
    fn packet_fragbits_fragoffset() {
        use FlagsMod::*;
        let fb = |bits, modifier| PacketMatch::FragBits(FragBits { bits, modifier });
        const M: u16 = 0x2000;
        const D: u16 = 0x4000;
        const RB: u16 = 0x8000;
        let mut df = udp_frame(b"x");
        df[20] = 0x40;
        let mut plain = udp_frame(b"x");
        plain[20] = 0; // etherparse sets DF by default
        let mut mf = udp_frame(b"x");
        mf[20] = 0x20;
        mf[21] = 0x00;
        let mut mf_off = udp_frame(b"x");
        mf_off[20] = 0x20;
        mf_off[21] = 185;
        let mut rd = udp_frame(b"x");
        rd[20] = 0xc0;
        let atomic6 = with_frag_header(&udp6_frame(b"x"), 0, false);
        let frag6 = with_frag_header(&udp6_frame(b"xxxxxxxx"), 1480, true);
        check(vec![
            ("D exact", fb(D, Exact), df.clone(), true),
            ("D exact none", fb(D, Exact), plain.clone(), false),
            ("exact nothing set", fb(D, Not), plain, true),
            ("M exact", fb(M, Exact), mf.clone(), true),
            ("not D", fb(D, Not), mf.clone(), true),
            ("not D on DF", fb(D, Not), df.clone(), false),
            ("any of MD", fb(M | D, Any), df.clone(), true),
            ("any of MR", fb(M | RB, Any), df.clone(), false),
            // '+' in fragbits: these bits and at least one more
            ("plus D on D only", fb(D, Plus), df.clone(), false),
            ("plus D on RD", fb(D, Plus), rd.clone(), true),
            ("exact RD", fb(RB | D, Exact), rd, true),
            ("fragbits not on v6", fb(D, Not), udp6_frame(b"x"), false),
            ("fragoffset 0", PacketMatch::FragOffset(NumCmp::Eq(0)), udp_frame(b"x"), true),
            ("fragoffset units", PacketMatch::FragOffset(NumCmp::Eq(185)), mf_off.clone(), true),
            ("fragoffset gt", PacketMatch::FragOffset(NumCmp::Gt(0)), mf_off.clone(), true),
            ("fragoffset lt", PacketMatch::FragOffset(NumCmp::Lt(185)), mf_off, false),
            ("fragoffset ne on first", PacketMatch::FragOffset(NumCmp::Ne(0)), mf, false),
            ("v6 without fragment header", PacketMatch::FragOffset(NumCmp::Eq(0)), udp6_frame(b"x"), false),
            ("v6 atomic fragment", PacketMatch::FragOffset(NumCmp::Eq(0)), atomic6, true),
            ("v6 offset in bytes", PacketMatch::FragOffset(NumCmp::Eq(1480)), frag6.clone(), true),
            ("v6 not in units", PacketMatch::FragOffset(NumCmp::Eq(185)), frag6, false),
        ]);
    }

    #[test]
    fn packet_ipopts() {
        let base = udp_frame(b"x");
        let rr = with_ip_options(&base, &[7, 7, 4, 0, 0, 0, 0, 0]); // RR + EOL
        let ts = with_ip_options(&base, &[0x44, 8, 5, 0, 0, 0, 0, 0]);
        let ts_bad = with_ip_options(&base, &[0x44, 8, 6, 0, 0, 0, 0, 0]);
        let lsrr = with_ip_options(&base, &[1, 0x83, 7, 4, 1, 2, 3, 4]); // NOP + LSRR
        let ssrr = with_ip_options(&base, &[0x89, 3, 4, 0]);
        let sec = with_ip_options(&base, &[0x82, 3, 0, 0]);
        let satid = with_ip_options(&base, &[0x88, 4, 0, 1]);
        let esec = with_ip_options(&base, &[0x85, 3, 0, 0]);
        let unknown = with_ip_options(&base, &[0x9e, 4, 0, 0]);
        let o = |n: &str| PacketMatch::IpOpts(n.into());
        check(vec![
            ("rr", o("rr"), rr.clone(), true),
            ("eol after rr", o("eol"), rr.clone(), true),
            ("no lsrr", o("lsrr"), rr.clone(), false),
            ("any", o("any"), rr, true),
            ("ts", o("ts"), ts, true),
            ("ts malformed pointer", o("ts"), ts_bad, false),
            ("nop", o("nop"), lsrr.clone(), true),
            ("lsrr", o("lsrr"), lsrr.clone(), true),
            ("case-insensitive name", o("LSRR"), lsrr, true),
            ("ssrr", o("ssrr"), ssrr, true),
            ("sec", o("sec"), sec, true),
            ("satid", o("satid"), satid, true),
            ("esec", o("esec"), esec, true),
            ("unknown option sets nothing", o("any"), unknown, false),
            ("no options", o("any"), base, false),
            ("not on v6", o("any"), udp6_frame(b"x"), false),
            ("unknown name", o("bogus"), with_ip_options(&udp_frame(b"x"), &[1, 1, 1, 0]), false),
        ]);
    }

    #[test]
    fn packet_tcp_keywords() {
        use FlagsMod::*;
        let syn = tcp_frame(|b| b.syn(), b"");
        let synack = tcp_frame(|b| b.syn().ack(7), b"");
        let syn_ece_cwr = tcp_frame(|b| b.syn().ece().cwr(), b"");
        let pa = tcp_frame(|b| b.psh().ack(9), b"data");
        let fin = tcp_frame(|b| b.fin().ack(1), b"");
        let mss = tcp_frame(
            |b| b.syn().options(&[TcpOptionElement::Noop, TcpOptionElement::MaximumSegmentSize(1460)]).unwrap(),
            b"",
        );
        let ws = tcp_frame(|b| b.syn().options(&[TcpOptionElement::WindowScale(7)]).unwrap(), b"");
        check(vec![
            ("S exact", flags(S, 0, Exact), syn.clone(), true),
            ("S exact on SA", flags(S, 0, Exact), synack.clone(), false),
            ("SA exact", flags(S | AK, 0, Exact), synack.clone(), true),
            ("S plus on SA", flags(S, 0, Plus), synack.clone(), true),
            ("SF plus on SA", flags(S | F, 0, Plus), synack.clone(), false),
            ("any of SF", flags(S | F, 0, Any), synack.clone(), true),
            ("any of RF", flags(R | F, 0, Any), synack.clone(), false),
            ("not S", flags(S, 0, Not), pa.clone(), true),
            ("not S on syn", flags(S, 0, Not), syn.clone(), false),
            // flags:S,12 ignores CWR and ECE
            ("S with ECE/CWR", flags(S, 0, Exact), syn_ece_cwr.clone(), false),
            ("S,12", flags(S, C | E, Exact), syn_ece_cwr.clone(), true),
            ("SEC exact", flags(S | E | C, 0, Exact), syn_ece_cwr, true),
            ("PA", flags(P | AK, 0, Exact), pa.clone(), true),
            ("FA", flags(F | AK, 0, Exact), fin, true),
            // flags:0 (no flags): only a packet without flags, or with `!`
            ("0 on syn", flags(0, 0, Exact), syn.clone(), false),
            ("!0 on syn", flags(0, 0, Not), syn.clone(), true),
            ("flags not on udp", flags(S, 0, Not), udp_frame(b"x"), false),
            ("seq", PacketMatch::Seq(1000), syn.clone(), true),
            ("seq other", PacketMatch::Seq(1001), syn.clone(), false),
            ("ack", PacketMatch::Ack(7), synack.clone(), true),
            ("ack other", PacketMatch::Ack(8), synack, false),
            ("seq not on udp", PacketMatch::Seq(0), udp_frame(b"x"), false),
            ("window", PacketMatch::Window(NumCmp::Eq(8192)), syn.clone(), true),
            ("window negated", PacketMatch::Window(NumCmp::Ne(8192)), syn.clone(), false),
            ("window not on udp", PacketMatch::Window(NumCmp::Ne(1)), udp_frame(b"x"), false),
            ("mss", PacketMatch::TcpMss(NumCmp::Eq(1460)), mss.clone(), true),
            ("mss lt", PacketMatch::TcpMss(NumCmp::Lt(536)), mss, false),
            ("no mss option", PacketMatch::TcpMss(NumCmp::Ge(0)), ws, false),
            ("no options", PacketMatch::TcpMss(NumCmp::Ge(0)), syn, false),
        ]);
    }

    #[test]
    fn packet_icmp_keywords() {
        let mut unreach = Vec::new();
        eth()
            .ipv4(A, B, 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(etherparse::icmpv4::DestUnreachableHeader::Port))
            .write(&mut unreach, &udp_frame(b"x")[14..42])
            .unwrap();
        check(vec![
            // suricata-verify detect-itype on echo requests
            ("itype 8", PacketMatch::Itype(NumCmp::Eq(8)), icmp4_echo(1, 2), true),
            ("itype <15", PacketMatch::Itype(NumCmp::Lt(15)), icmp4_echo(1, 2), true),
            ("itype >7", PacketMatch::Itype(NumCmp::Gt(7)), icmp4_echo(1, 2), true),
            ("itype 7<>20", PacketMatch::Itype(NumCmp::Range(7, 20)), icmp4_echo(1, 2), true),
            ("itype 0", PacketMatch::Itype(NumCmp::Eq(0)), icmp4_echo(1, 2), false),
            ("itype v6", PacketMatch::Itype(NumCmp::Eq(129)), icmp6_echo_reply(1, 2), true),
            ("itype not on tcp", PacketMatch::Itype(NumCmp::Ge(0)), tcp_frame(|b| b, b""), false),
            ("icode", PacketMatch::Icode(NumCmp::Eq(3)), unreach.clone(), true),
            ("icode 0 echo", PacketMatch::Icode(NumCmp::Eq(0)), icmp4_echo(1, 2), true),
            ("icode not on udp", PacketMatch::Icode(NumCmp::Ge(0)), udp_frame(b"x"), false),
            ("icmp_id", PacketMatch::IcmpId(0x1234), icmp4_echo(0x1234, 2), true),
            ("icmp_id other", PacketMatch::IcmpId(0x1235), icmp4_echo(0x1234, 2), false),
            ("icmp_seq", PacketMatch::IcmpSeq(77), icmp4_echo(1, 77), true),
            ("icmp_seq other", PacketMatch::IcmpSeq(78), icmp4_echo(1, 77), false),
            ("icmp_id v6 echo reply", PacketMatch::IcmpId(9), icmp6_echo_reply(9, 10), true),
            ("icmp_seq v6 echo reply", PacketMatch::IcmpSeq(10), icmp6_echo_reply(9, 10), true),
            // types without an id field never match
            ("icmp_id on unreachable", PacketMatch::IcmpId(0), unreach.clone(), false),
            ("icmp_seq on unreachable", PacketMatch::IcmpSeq(0), unreach, false),
            ("icmp_id not on tcp", PacketMatch::IcmpId(0), tcp_frame(|b| b, b""), false),
        ]);
        // ICMPv4 timestamp request (type 13) carries id/seq too
        let mut ts = icmp4_echo(0x0102, 0x0304);
        ts[34] = 13;
        assert!(m(&PacketMatch::IcmpId(0x0102), &ts));
        assert!(m(&PacketMatch::IcmpSeq(0x0304), &ts));
    }

    #[test]
    fn packet_never_panics_on_garbage() {
        let all = vec![
            PacketMatch::Dsize(NumCmp::Ge(0)),
            PacketMatch::Ttl(NumCmp::Ge(0)),
            PacketMatch::Tos(NumCmp::Ge(0)),
            PacketMatch::Id(NumCmp::Ge(0)),
            PacketMatch::IpProto(NumCmp::Ge(0)),
            PacketMatch::IpOpts("any".into()),
            PacketMatch::FragBits(FragBits { bits: 0x2000, modifier: FlagsMod::Any }),
            PacketMatch::FragOffset(NumCmp::Ge(0)),
            flags(S, 0, FlagsMod::Any),
            PacketMatch::Seq(0),
            PacketMatch::Ack(0),
            PacketMatch::Window(NumCmp::Ge(0)),
            PacketMatch::TcpMss(NumCmp::Ge(0)),
            PacketMatch::Itype(NumCmp::Ge(0)),
            PacketMatch::Icode(NumCmp::Ge(0)),
            PacketMatch::IcmpId(0),
            PacketMatch::IcmpSeq(0),
            PacketMatch::SameIp,
        ];
        let seeds = [tcp_frame(|b| b.syn(), b"abc"), udp_frame(b"x"), icmp4_echo(1, 1), icmp6_echo_reply(1, 1)];
        let mut x: u32 = 7;
        for seed in &seeds {
            for n in 0..=seed.len() {
                for _ in 0..8 {
                    let mut f = seed[..n].to_vec();
                    for b in f.iter_mut().skip(14) {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        if x >> 28 == 0 {
                            *b = (x >> 16) as u8;
                        }
                    }
                    let d = decode(&f);
                    for pm in &all {
                        let _ = match_packet(pm, &f, &d);
                        // a Decoded that does not describe the frame must not panic either
                        let _ = match_packet(pm, &f[..f.len() / 2], &d);
                    }
                }
            }
        }
    }
}
