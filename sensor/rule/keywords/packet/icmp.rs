//! ICMP header keywords: `itype`, `icode`, `icmp_id`, `icmp_seq` (Suricata's
//! `detect-itype.c`, `detect-icode.c`, `detect-icmp-id.c`, `detect-icmp-seq.c`), for ICMPv4
//! and ICMPv6.

use super::{be16, invalid, is_icmpv4, is_icmpv6, uint};
use crate::decode::Decoded;
use crate::rule::ast::{HeaderValue, NumCmp};
use crate::rule::keywords::{suricata_doc, Arg, Keyword};
use crate::rule::parse::unquote;

use Arg::Required as R;

/// The ICMP header keywords.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::header(
        "itype",
        R,
        |s| uint(s, 255),
        |v, _, d| v.matches((is_icmpv4(d) || is_icmpv6(d)).then_some(u64::from(d.icmp_type))),
        "the ICMP type, compared with a number or a range",
        suricata_doc!("header-keywords.html#itype"),
    ),
    Keyword::header(
        "icode",
        R,
        |s| uint(s, 255),
        |v, _, d| v.matches((is_icmpv4(d) || is_icmpv6(d)).then_some(u64::from(d.icmp_code))),
        "the ICMP code, compared with a number or a range",
        suricata_doc!("header-keywords.html#icode"),
    ),
    Keyword::header(
        "icmp_id",
        R,
        parse_u16_eq,
        |v, frame, d| v.matches(icmp_id_seq(frame, d).map(|(id, _)| u64::from(id))),
        "the ICMP echo (and timestamp, information, address mask) identifier equals a value",
        suricata_doc!("header-keywords.html#icmp-id"),
    ),
    Keyword::header(
        "icmp_seq",
        R,
        parse_u16_eq,
        |v, frame, d| v.matches(icmp_id_seq(frame, d).map(|(_, seq)| u64::from(seq))),
        "the ICMP echo (and timestamp, information, address mask) sequence number equals a value",
        suricata_doc!("header-keywords.html#icmp-seq"),
    ),
    Keyword::header(
        "icmpv6.mtu",
        R,
        |s| uint(s, u64::from(u32::MAX)),
        |v, frame, d| v.matches(icmpv6_mtu(frame, d).map(u64::from)),
        "the MTU of an ICMPv6 packet-too-big message, compared with a number or a range",
        suricata_doc!("header-keywords.html#icmpv6-mtu"),
    ),
];

/// The MTU of an ICMPv6 packet-too-big message (type 2, code 0), as detect-icmpv6-mtu.c.
fn icmpv6_mtu(frame: &[u8], d: &Decoded) -> Option<u32> {
    if !is_icmpv6(d) || d.icmp_type != 2 || d.icmp_code != 0 {
        return None;
    }
    let o = d.l4_off as usize + 4;
    let b = frame.get(o..o.checked_add(4)?)?;
    <[u8; 4]>::try_from(b).ok().map(u32::from_be_bytes)
}

/// A 16-bit value (quotes allowed), compared for equality.
fn parse_u16_eq(s: &str) -> Result<HeaderValue, String> {
    let n = unquote(s).trim().parse::<u16>().map_err(|_| invalid(s))?;
    Ok(HeaderValue::Cmp(NumCmp::Eq(n.into())))
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
    use super::super::testing::*;
    use crate::rule::ast::NumCmp;

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
            ("itype 8", cmp("itype", NumCmp::Eq(8)), icmp4_echo(1, 2), true),
            ("itype <15", cmp("itype", NumCmp::Lt(15)), icmp4_echo(1, 2), true),
            ("itype >7", cmp("itype", NumCmp::Gt(7)), icmp4_echo(1, 2), true),
            ("itype 7<>20", cmp("itype", NumCmp::Range(7, 20)), icmp4_echo(1, 2), true),
            ("itype 0", cmp("itype", NumCmp::Eq(0)), icmp4_echo(1, 2), false),
            ("itype v6", cmp("itype", NumCmp::Eq(129)), icmp6_echo_reply(1, 2), true),
            ("itype not on tcp", cmp("itype", NumCmp::Ge(0)), tcp_frame(|b| b, b""), false),
            ("icode", cmp("icode", NumCmp::Eq(3)), unreach.clone(), true),
            ("icode 0 echo", cmp("icode", NumCmp::Eq(0)), icmp4_echo(1, 2), true),
            ("icode not on udp", cmp("icode", NumCmp::Ge(0)), udp_frame(b"x"), false),
            ("icmp_id", cmp("icmp_id", NumCmp::Eq(0x1234)), icmp4_echo(0x1234, 2), true),
            ("icmp_id other", cmp("icmp_id", NumCmp::Eq(0x1235)), icmp4_echo(0x1234, 2), false),
            ("icmp_seq", cmp("icmp_seq", NumCmp::Eq(77)), icmp4_echo(1, 77), true),
            ("icmp_seq other", cmp("icmp_seq", NumCmp::Eq(78)), icmp4_echo(1, 77), false),
            ("icmp_id v6 echo reply", cmp("icmp_id", NumCmp::Eq(9)), icmp6_echo_reply(9, 10), true),
            ("icmp_seq v6 echo reply", cmp("icmp_seq", NumCmp::Eq(10)), icmp6_echo_reply(9, 10), true),
            // types without an id field never match
            ("icmp_id on unreachable", cmp("icmp_id", NumCmp::Eq(0)), unreach.clone(), false),
            ("icmp_seq on unreachable", cmp("icmp_seq", NumCmp::Eq(0)), unreach, false),
            ("icmp_id not on tcp", cmp("icmp_id", NumCmp::Eq(0)), tcp_frame(|b| b, b""), false),
        ]);
        // ICMPv4 timestamp request (type 13) carries id/seq too
        let mut ts = icmp4_echo(0x0102, 0x0304);
        ts[34] = 13;
        assert!(m(&cmp("icmp_id", NumCmp::Eq(0x0102)), &ts));
        assert!(m(&cmp("icmp_seq", NumCmp::Eq(0x0304)), &ts));
    }
}
