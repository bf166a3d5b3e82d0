//! IP header keywords: `ttl`, `tos`, `id`, `ip_proto`, `ipopts`, `fragbits`, `fragoffset`,
//! `sameip` (Suricata's `detect-ttl.c`, `detect-tos.c`, `detect-id.c`, `detect-ipproto.c`,
//! `detect-ipopts.c`, `detect-fragbits.c`, `detect-fragoffset.c`, `detect-sameip.c`). They
//! read the innermost IP header the decoder described.

use super::{be16, invalid, is_ipv4, parse_flag_letters, uint};
use crate::decode::Decoded;
use crate::rule::ast::{FlagsMod, FragBits, HeaderValue, ListIndex, NumCmp};
use crate::rule::keywords::{suricata_doc, Arg, Keyword};
use crate::rule::parse::numbers::parse_uint_cmp;
use crate::rule::parse::{bang, shorten};

use Arg::{None as N, Required as R};

/// The IP header keywords.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::header(
        "ttl",
        R,
        |s| uint(s, 255),
        |v, _, d| v.matches(d.is_ip().then_some(u64::from(d.ttl))),
        "the IPv4 time-to-live or IPv6 hop limit, compared with a number or a range",
        suricata_doc!("header-keywords.html#ttl"),
    ),
    Keyword::header(
        "tos",
        R,
        parse_tos,
        |v, frame, d| {
            v.matches(if is_ipv4(d) { frame.get(d.ip_off as usize + 1).map(|&t| u64::from(t)) } else { None })
        },
        "the IPv4 type-of-service byte equals (or with !, differs from) a value, decimal or xNN hex",
        suricata_doc!("header-keywords.html#tos"),
    ),
    Keyword::header(
        "id",
        R,
        |s| Ok(HeaderValue::Cmp(NumCmp::Eq(s.parse::<u16>().map_err(|_| invalid(s))?.into()))),
        |v, _, d| v.matches(is_ipv4(d).then_some(u64::from(d.ip_id & 0xffff))),
        "the IPv4 identification field equals a value",
        suricata_doc!("header-keywords.html#id"),
    ),
    Keyword::header(
        "ip_proto",
        R,
        parse_ip_proto,
        |v, _, d| v.matches(d.is_ip().then_some(u64::from(d.proto))),
        "the IP protocol (number or name, with <, > or !) of the packet",
        suricata_doc!("header-keywords.html#ip-proto"),
    ),
    Keyword::header(
        "ipopts",
        R,
        parse_ipopts,
        ipopts_test,
        "the IPv4 header carries an option (rr, eol, nop, ts, sec, esec, lsrr, ssrr, satid, qs, cipso, rtralt, any)",
        suricata_doc!("header-keywords.html#ipopts"),
    ),
    Keyword::header(
        "fragbits",
        R,
        parse_fragbits,
        |v, frame, d| match v {
            HeaderValue::FragBits(fb) => {
                is_ipv4(d) && ipv4_flags_field(frame, d).is_some_and(|f| fragbits_match(f, fb))
            }
            _ => false,
        },
        "the IPv4 fragment bits (M more fragments, D don't fragment, R reserved) with +, * or !",
        suricata_doc!("header-keywords.html#fragbits-ip-fragmentation"),
    ),
    Keyword::header(
        "fragoffset",
        R,
        parse_fragoffset,
        |v, frame, d| v.matches(frag_offset(frame, d).map(u64::from)),
        "the IP fragment offset compared with a value (<, > or !)",
        suricata_doc!("header-keywords.html#fragoffset"),
    ),
    Keyword::header(
        "vlan.id",
        R,
        parse_vlan_id,
        |v, _, d| match v {
            HeaderValue::Indexed(cmp, idx) => {
                let (ids, n) = vlan_ids(d);
                idx.matches(cmp, ids.get(..n).unwrap_or(&[]))
            }
            _ => false,
        },
        "a VLAN id of the packet (any, all, or the one at a layer, -1 the innermost), compared with a number",
        suricata_doc!("vlan-keywords.html#vlan-id"),
    ),
    Keyword::header(
        "vlan.layers",
        R,
        |s| uint(s, 3),
        |v, _, d| v.matches(Some(u64::from(d.vlan_n))),
        "the number of VLAN layers of the packet, compared with a number",
        suricata_doc!("vlan-keywords.html#vlan-layers"),
    ),
    Keyword::header(
        "sameip",
        N,
        |_| Ok(HeaderValue::Empty),
        |_, _, d| d.is_ip() && d.src == d.dst,
        "the source and destination IP addresses are the same",
        suricata_doc!("header-keywords.html#sameip"),
    ),
];

/// `vlan.id:<cmp>[,any|all|<index>]`: a VLAN id (below 4096) at an index from -3 to 2.
fn parse_vlan_id(s: &str) -> Result<HeaderValue, String> {
    let mut parts = s.split(',').map(str::trim);
    let cmp = parts.next().unwrap_or("");
    let n = parse_uint_cmp(cmp, 0xfff).ok_or_else(|| invalid(cmp))?;
    let idx = match parts.next() {
        None | Some("any") => ListIndex::Any,
        Some("all") => ListIndex::All,
        Some(i) => match i.parse::<i8>() {
            Ok(i) if (-3..=2).contains(&i) => ListIndex::At(i),
            _ => return Err(format!("invalid layer '{}' (any, all, or -3 to 2)", shorten(i))),
        },
    };
    if parts.next().is_some() {
        return Err(invalid(s));
    }
    Ok(HeaderValue::Indexed(n, idx))
}

/// The packet's VLAN ids, outermost first.
fn vlan_ids(d: &Decoded) -> ([u64; 3], usize) {
    let n = usize::from(d.vlan_n).min(3);
    (d.vlan.map(u64::from), n)
}

/// `tos:[!]N`, N decimal (up to 3 digits) or hex (`x10`, `0x10`).
fn parse_tos(s: &str) -> Result<HeaderValue, String> {
    let (neg, n) = bang(s);
    let n = match n.strip_prefix(['x', 'X']).or_else(|| n.strip_prefix("0x")).or_else(|| n.strip_prefix("0X")) {
        Some(h) if (1..=2).contains(&h.len()) => u8::from_str_radix(h, 16).ok(),
        Some(_) => None,
        None if (1..=3).contains(&n.len()) => n.parse::<u8>().ok(),
        None => None,
    }
    .ok_or_else(|| invalid(s))?;
    Ok(HeaderValue::Cmp(if neg { NumCmp::Ne(n.into()) } else { NumCmp::Eq(n.into()) }))
}

/// `ip_proto:[<|>|!]N`, N a number or a protocol name.
fn parse_ip_proto(s: &str) -> Result<HeaderValue, String> {
    let (cmp, n) = match s.as_bytes().first() {
        Some(b'<') => ("<", s.get(1..).unwrap_or("").trim()),
        Some(b'>') => (">", s.get(1..).unwrap_or("").trim()),
        Some(b'!') => ("!", s.get(1..).unwrap_or("").trim()),
        _ => ("", s),
    };
    let n = match n.parse::<u8>() {
        Ok(n) => n,
        Err(_) => ip_proto_number(n).ok_or_else(|| format!("unknown protocol '{}'", shorten(n)))?,
    };
    let n = u64::from(n);
    Ok(HeaderValue::Cmp(match cmp {
        "<" => NumCmp::Lt(n),
        ">" => NumCmp::Gt(n),
        "!" => NumCmp::Ne(n),
        _ => NumCmp::Eq(n),
    }))
}

/// `fragoffset:[<|>|!]N`.
fn parse_fragoffset(s: &str) -> Result<HeaderValue, String> {
    let (cmp, n) = match s.as_bytes().first() {
        Some(b'<') => ("<", s.get(1..).unwrap_or("")),
        Some(b'>') => (">", s.get(1..).unwrap_or("")),
        Some(b'!') => ("!", s.get(1..).unwrap_or("")),
        _ => ("", s),
    };
    let n = u64::from(n.trim().parse::<u16>().map_err(|_| invalid(s))?);
    Ok(HeaderValue::Cmp(match cmp {
        "<" => NumCmp::Lt(n),
        ">" => NumCmp::Gt(n),
        "!" => NumCmp::Ne(n),
        _ => NumCmp::Eq(n),
    }))
}

/// `fragbits:[+*!]<MDR>`.
fn parse_fragbits(s: &str) -> Result<HeaderValue, String> {
    let (bits, _ignore, modifier) = parse_flag_letters(s, |c| match c {
        'M' => Some(0x2000),
        'D' => Some(0x4000),
        'R' => Some(0x8000),
        _ => None,
    })?;
    Ok(HeaderValue::FragBits(FragBits { bits: bits as u16, modifier }))
}

/// `ipopts:<name>`: the option's flag (`lsrre`, accepted by Suricata's parser, has none and
/// never matches; `any` is every flag).
fn parse_ipopts(s: &str) -> Result<HeaderValue, String> {
    let flag = match s.to_ascii_lowercase().as_str() {
        "rr" => OPT_RR,
        "lsrr" => OPT_LSRR,
        "lsrre" => 0,
        "eol" => OPT_EOL,
        "nop" => OPT_NOP,
        "ts" => OPT_TS,
        "sec" => OPT_SEC,
        "esec" => OPT_ESEC,
        "ssrr" => OPT_SSRR,
        "satid" => OPT_SID,
        "qs" => OPT_QS,
        "cipso" => OPT_CIPSO,
        "rtralt" => OPT_RTRALT,
        "any" => u16::MAX,
        _ => return Err(format!("unknown IP option '{}'", shorten(s))),
    };
    Ok(HeaderValue::AnyBit(flag))
}

/// A protocol name as in /etc/protocols.
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

/// The IPv4 flags/fragment-offset field.
fn ipv4_flags_field(frame: &[u8], d: &Decoded) -> Option<u16> {
    be16(frame, d.ip_off as usize + 6)
}

/// detect-fragbits.c `FragBitsMatch`; note `+` there means "these and at least one other".
fn fragbits_match(field: u16, fb: &FragBits) -> bool {
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
fn ipopts_test(v: &HeaderValue, frame: &[u8], d: &Decoded) -> bool {
    let HeaderValue::AnyBit(want) = *v else { return false };
    if !is_ipv4(d) {
        return false;
    }
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::rule::ast::PacketMatch;

    #[test]
    fn packet_ip_header_keywords() {
        let mut tos = tcp_frame(|b| b, b"");
        tos[15] = 0x10;
        let mut same = udp_frame(b"x");
        same[30..34].copy_from_slice(&A);
        let mut id = udp_frame(b"x");
        id[18..20].copy_from_slice(&4242u16.to_be_bytes());
        check(vec![
            ("ttl", cmp("ttl", NumCmp::Eq(64)), tcp_frame(|b| b, b""), true),
            ("ttl lt", cmp("ttl", NumCmp::Lt(64)), tcp_frame(|b| b, b""), false),
            ("ttl v6 hop limit", cmp("ttl", NumCmp::Eq(33)), udp6_frame(b"x"), true),
            ("tos", cmp("tos", NumCmp::Eq(0x10)), tos.clone(), true),
            ("tos negated", cmp("tos", NumCmp::Ne(0x10)), tos, false),
            ("tos negated other", cmp("tos", NumCmp::Ne(0x10)), tcp_frame(|b| b, b""), true),
            ("tos not on v6", cmp("tos", NumCmp::Ne(0x10)), udp6_frame(b"x"), false),
            ("id", cmp("id", NumCmp::Eq(4242)), id.clone(), true),
            ("id ne", cmp("id", NumCmp::Eq(4243)), id, false),
            ("id not on v6", cmp("id", NumCmp::Eq(0)), udp6_frame(b"x"), false),
            ("ip_proto tcp", cmp("ip_proto", NumCmp::Eq(6)), tcp_frame(|b| b, b""), true),
            ("ip_proto not udp", cmp("ip_proto", NumCmp::Ne(17)), tcp_frame(|b| b, b""), true),
            ("ip_proto v6 udp", cmp("ip_proto", NumCmp::Eq(17)), udp6_frame(b"x"), true),
            ("sameip", hm("sameip", HeaderValue::Empty), same, true),
            ("not sameip", hm("sameip", HeaderValue::Empty), udp_frame(b"x"), false),
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
        let fb = |bits, modifier| hm("fragbits", HeaderValue::FragBits(FragBits { bits, modifier }));
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
            ("fragoffset 0", cmp("fragoffset", NumCmp::Eq(0)), udp_frame(b"x"), true),
            ("fragoffset units", cmp("fragoffset", NumCmp::Eq(185)), mf_off.clone(), true),
            ("fragoffset gt", cmp("fragoffset", NumCmp::Gt(0)), mf_off.clone(), true),
            ("fragoffset lt", cmp("fragoffset", NumCmp::Lt(185)), mf_off, false),
            ("fragoffset ne on first", cmp("fragoffset", NumCmp::Ne(0)), mf, false),
            ("v6 without fragment header", cmp("fragoffset", NumCmp::Eq(0)), udp6_frame(b"x"), false),
            ("v6 atomic fragment", cmp("fragoffset", NumCmp::Eq(0)), atomic6, true),
            ("v6 offset in bytes", cmp("fragoffset", NumCmp::Eq(1480)), frag6.clone(), true),
            ("v6 not in units", cmp("fragoffset", NumCmp::Eq(185)), frag6, false),
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
        let rtralt = with_ip_options(&base, &[0x94, 4, 0, 0]);
        let o = |n: &str| hm("ipopts", parse_ipopts(n).unwrap_or(HeaderValue::AnyBit(0)));
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
            ("router alert", o("rtralt"), rtralt.clone(), true),
            ("no quick start", o("qs"), rtralt, false),
            ("unknown option sets nothing", o("any"), unknown, false),
            ("no options", o("any"), base, false),
            ("not on v6", o("any"), udp6_frame(b"x"), false),
            ("unknown name", o("bogus"), with_ip_options(&udp_frame(b"x"), &[1, 1, 1, 0]), false),
        ]);
    }
}
