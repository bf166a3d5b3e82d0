//! TCP header keywords: `flags`, `seq`, `ack`, `window`, `tcp.mss` (Suricata's
//! `detect-flags.c`, `detect-seq.c`, `detect-ack.c`, `detect-tcp-window.c`,
//! `detect-tcpmss.c`). None matches a packet whose TCP header was not decoded (UDP, an IP
//! fragment, ...).

use super::{be16, invalid, is_tcp, maybe_not_u16, parse_flag_letters, uint};
use crate::decode::Decoded;
use crate::rule::ast::{FlagsMod, HeaderValue, NumCmp, TcpFlags};
use crate::rule::keywords::{suricata_doc, Arg, Keyword};

use Arg::Required as R;

/// The TCP header keywords.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::header(
        "flags",
        R,
        parse_flags,
        |v, _, d| match v {
            HeaderValue::TcpFlags(f) => is_tcp(d) && flags_match(d.tcp_flags, f),
            _ => false,
        },
        "the TCP flags (FSRPAUEC, 0 for none) with +, * or !, and a mask of flags to ignore",
        suricata_doc!("header-keywords.html#tcp-flags"),
    )
    .aliases(&["tcp.flags"])
    .once(),
    Keyword::header(
        "seq",
        R,
        |s| Ok(HeaderValue::Cmp(NumCmp::Eq(s.parse::<u32>().map_err(|_| invalid(s))?.into()))),
        |v, _, d| v.matches(is_tcp(d).then_some(u64::from(d.tcp_seq))),
        "the TCP sequence number equals a value",
        suricata_doc!("header-keywords.html#seq"),
    ),
    Keyword::header(
        "ack",
        R,
        |s| Ok(HeaderValue::Cmp(NumCmp::Eq(s.parse::<u32>().map_err(|_| invalid(s))?.into()))),
        |v, _, d| v.matches(is_tcp(d).then_some(u64::from(d.tcp_ack))),
        "the TCP acknowledgement number equals a value",
        suricata_doc!("header-keywords.html#ack"),
    ),
    Keyword::header(
        "window",
        R,
        maybe_not_u16,
        |v, _, d| v.matches(is_tcp(d).then_some(u64::from(d.tcp_win))),
        "the TCP window size equals (or with !, differs from) a value",
        suricata_doc!("header-keywords.html#window"),
    ),
    Keyword::header(
        "tcp.mss",
        R,
        |s| uint(s, u64::from(u16::MAX)),
        |v, frame, d| v.matches(if is_tcp(d) { tcp_mss(frame, d).map(u64::from) } else { None }),
        "the TCP MSS option's value, compared with a number or a range",
        suricata_doc!("header-keywords.html#tcp-mss"),
    ),
];

/// `flags:[+*!]<FSRPAUEC12 or 0>[,<ignored>]`.
fn parse_flags(s: &str) -> Result<HeaderValue, String> {
    let (flags, ignore, modifier) = parse_flag_letters(s, |c| match c {
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
    Ok(HeaderValue::TcpFlags(TcpFlags { flags: flags as u8, ignore: ignore as u8, modifier }))
}

/// detect-flags.c `FlagsMatch` over the TCP flags byte (CWR 0x80 and ECE 0x40 included).
fn flags_match(pflags: u8, f: &TcpFlags) -> bool {
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

/// The MSS option (kind 2, length 4; the first one), as decode-tcp.c `DecodeTCPOptions`
/// records it.
fn tcp_mss(frame: &[u8], d: &Decoded) -> Option<u16> {
    d.tcp_options(frame).find(|(k, v)| *k == 2 && v.len() == 2).and_then(|(_, v)| be16(v, 0))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::rule::ast::PacketMatch;
    use etherparse::TcpOptionElement;

    fn flags(flags: u8, ignore: u8, modifier: FlagsMod) -> PacketMatch {
        hm("flags", HeaderValue::TcpFlags(TcpFlags { flags, ignore, modifier }))
    }

    const F: u8 = 0x01;
    const S: u8 = 0x02;
    const R: u8 = 0x04;
    const P: u8 = 0x08;
    const AK: u8 = 0x10;
    const E: u8 = 0x40;
    const C: u8 = 0x80;

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
            ("seq", cmp("seq", NumCmp::Eq(1000)), syn.clone(), true),
            ("seq other", cmp("seq", NumCmp::Eq(1001)), syn.clone(), false),
            ("ack", cmp("ack", NumCmp::Eq(7)), synack.clone(), true),
            ("ack other", cmp("ack", NumCmp::Eq(8)), synack, false),
            ("seq not on udp", cmp("seq", NumCmp::Eq(0)), udp_frame(b"x"), false),
            ("window", cmp("window", NumCmp::Eq(8192)), syn.clone(), true),
            ("window negated", cmp("window", NumCmp::Ne(8192)), syn.clone(), false),
            ("window not on udp", cmp("window", NumCmp::Ne(1)), udp_frame(b"x"), false),
            ("mss", cmp("tcp.mss", NumCmp::Eq(1460)), mss.clone(), true),
            ("mss lt", cmp("tcp.mss", NumCmp::Lt(536)), mss, false),
            ("no mss option", cmp("tcp.mss", NumCmp::Ge(0)), ws, false),
            ("no options", cmp("tcp.mss", NumCmp::Ge(0)), syn, false),
        ]);
    }
}
