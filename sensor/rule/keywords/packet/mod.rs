//! Header keywords: tests of the packet's headers (`ttl`, `flags`, `itype`, ...), each a row
//! with a parse (value text to a [`HeaderValue`]) and a pure test over the frame and its
//! [`Decoded`] summary, run per packet through [`PacketMatch::matches`]. The answers are
//! Suricata's (the match functions of `detect-ttl.c`, `detect-flags.c`, ...): a keyword whose
//! layer the packet does not have does not match (`flags` on UDP, `itype` on TCP, `tos` on
//! IPv6, TCP and ICMP keywords on IP fragments, ...), as there. Tests never read outside the
//! frame and never allocate.
//!
//! Families: [`ip`], [`tcp`], [`icmp`], [`igmp`], [`event`], and the packet's sticky buffers
//! ([`buffers`]: `ipv4.hdr`, `tcp.hdr`, ...). Here: what they share, and the three forms the
//! detection engine reads itself (`dsize`, `stream_size`, `app-layer-protocol`).

mod buffers;
pub(crate) mod event;
mod icmp;
mod igmp;
mod ip;
mod tcp;
#[cfg(test)]
pub(crate) mod testing;

pub(crate) use buffers::ROWS as BUFFER_ROWS;
pub(crate) use event::ROWS as EVENT_ROWS;
pub(crate) use icmp::ROWS as ICMP_ROWS;
pub(crate) use igmp::ROWS as IGMP_ROWS;
pub(crate) use ip::ROWS as IP_ROWS;
pub(crate) use tcp::ROWS as TCP_ROWS;

use super::{suricata_doc, Arg, HeaderParse, Keyword, Kind};
use crate::decode::{proto, Decoded};
use crate::rule::ast::{
    AppProtoMode, FlagsMod, FlowCountDir, FlowCounter, HeaderMatch, HeaderTest, HeaderValue, NumCmp, PacketMatch,
    StreamSizeSide,
};
use crate::rule::parse::header::app_proto;
use crate::rule::parse::numbers::parse_uint_cmp;
use crate::rule::parse::{bad, bang, shorten, unquote, AlProtoKw, Builder, Env, PResult};

use Arg::Required as R;

/// `dsize`, `stream_size`, `app-layer-protocol`.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule(
        "dsize",
        Kind::Packet,
        R,
        dsize,
        "the packet's payload size, compared with a number or a range",
        suricata_doc!("payload-keywords.html#dsize"),
    ),
    Keyword::rule(
        "stream_size",
        Kind::Packet,
        R,
        stream_size,
        "bytes the client, the server, both or either side of the TCP session sent, compared with a number",
        suricata_doc!("flow-keywords.html#stream-size"),
    ),
    Keyword::rule(
        "flow.pkts",
        Kind::Packet,
        R,
        |b, _, kw, v| flow_count(b, kw, v, FlowCounter::Pkts, None),
        "packets the flow carried in a direction (toserver, toclient or either), this one included, compared with a number or a range",
        suricata_doc!("flow-keywords.html#flow-pkts"),
    ),
    Keyword::rule(
        "flow.pkts_toserver",
        Kind::Packet,
        R,
        |b, _, kw, v| flow_count(b, kw, v, FlowCounter::Pkts, Some(FlowCountDir::ToServer)),
        "packets the flow carried from the client, compared with a number or a range",
        suricata_doc!("flow-keywords.html#flow-pkts"),
    ),
    Keyword::rule(
        "flow.pkts_toclient",
        Kind::Packet,
        R,
        |b, _, kw, v| flow_count(b, kw, v, FlowCounter::Pkts, Some(FlowCountDir::ToClient)),
        "packets the flow carried from the server, compared with a number or a range",
        suricata_doc!("flow-keywords.html#flow-pkts"),
    ),
    Keyword::rule(
        "flow.bytes",
        Kind::Packet,
        R,
        |b, _, kw, v| flow_count(b, kw, v, FlowCounter::Bytes, None),
        "bytes the flow carried in a direction (toserver, toclient or either), this packet included, compared with a number or a range",
        suricata_doc!("flow-keywords.html#flow-bytes"),
    ),
    Keyword::rule(
        "flow.bytes_toserver",
        Kind::Packet,
        R,
        |b, _, kw, v| flow_count(b, kw, v, FlowCounter::Bytes, Some(FlowCountDir::ToServer)),
        "bytes the flow carried from the client, compared with a number or a range",
        suricata_doc!("flow-keywords.html#flow-bytes"),
    ),
    Keyword::rule(
        "flow.bytes_toclient",
        Kind::Packet,
        R,
        |b, _, kw, v| flow_count(b, kw, v, FlowCounter::Bytes, Some(FlowCountDir::ToClient)),
        "bytes the flow carried from the server, compared with a number or a range",
        suricata_doc!("flow-keywords.html#flow-bytes"),
    ),
    Keyword::rule(
        "flow.age",
        Kind::Packet,
        R,
        |b, _, kw, v| {
            let s = unquote(v.unwrap_or("")).trim();
            let n = parse_uint_cmp(s, u64::from(u32::MAX)).ok_or_else(|| bad(kw, invalid(s)))?;
            b.packet.push(PacketMatch::FlowAge(n));
            Ok(())
        },
        "whole seconds since the flow's first packet, compared with a number or a range",
        suricata_doc!("flow-keywords.html#flow-age"),
    ),
    Keyword::rule(
        "app-layer-protocol",
        Kind::Packet,
        R,
        app_layer_protocol,
        "the app-layer protocol detected on the flow (! to negate, | for any of several)",
        suricata_doc!("app-layer.html#app-layer-protocol"),
    ),
];

impl PacketMatch {
    /// Whether the packet satisfies the keyword. `stream_size` and `app-layer-protocol` need
    /// the flow: they are true here and the detection engine decides them.
    #[inline]
    pub fn matches(&self, frame: &[u8], d: &Decoded) -> bool {
        match self {
            // p->payload_len: set by the TCP/UDP/ICMP/SCTP/ESP decoders, 0 otherwise
            // (fragments, unknown protocols).
            PacketMatch::Dsize(n) => n.matches(if l4(d) { d.payload_len.min(u16::MAX as u32) as u64 } else { 0 }),
            PacketMatch::Header(h) => h.matches(frame, d),
            PacketMatch::AppLayerProtocol { .. }
            | PacketMatch::StreamSize(..)
            | PacketMatch::FlowCount(..)
            | PacketMatch::FlowAge(_) => true,
        }
    }
}

impl Builder {
    /// A header keyword: its value parsed by its row and bound with its test. `name`: as
    /// written; `canonical`: the row's name.
    pub(crate) fn header_keyword(
        &mut self,
        name: &'static str,
        canonical: &'static str,
        value: Option<&str>,
        parse: HeaderParse,
        test: HeaderTest,
        once: bool,
    ) -> PResult<()> {
        let s = unquote(value.unwrap_or("")).trim();
        if once && self.packet.iter().any(|m| m.name() == canonical) {
            return Err(bad(name, format!("can't use two {canonical} keywords in the same rule")));
        }
        let v = parse(s).map_err(|why| bad(name, why))?;
        self.packet.push(PacketMatch::Header(HeaderMatch::new(canonical, v, test)));
        Ok(())
    }
}

/// The message of a value that does not parse.
pub(crate) fn invalid(s: &str) -> String {
    format!("invalid value '{}'", shorten(s))
}

/// An integer comparison up to `max` (`ttl:<10`, `itype:8`, `icode:0<>3`, ...).
pub(crate) fn uint(s: &str, max: u64) -> Result<HeaderValue, String> {
    parse_uint_cmp(s, max).map(HeaderValue::Cmp).ok_or_else(|| invalid(s))
}

/// `[!]N` for a 16-bit field: equal, or not equal (`window`).
pub(crate) fn maybe_not_u16(s: &str) -> Result<HeaderValue, String> {
    let (neg, n) = bang(s);
    let n: u16 = n.parse().map_err(|_| invalid(s))?;
    Ok(HeaderValue::Cmp(if neg { NumCmp::Ne(n.into()) } else { NumCmp::Eq(n.into()) }))
}

fn dsize(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or("")).trim();
    if b.packet.iter().any(|m| matches!(m, PacketMatch::Dsize(_))) {
        return Err(bad(kw, "can't use two dsize keywords in the same rule"));
    }
    let n = parse_uint_cmp(s, u64::from(u16::MAX)).ok_or_else(|| bad(kw, invalid(s)))?;
    b.packet.push(PacketMatch::Dsize(n));
    Ok(())
}

fn stream_size(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or("")).trim();
    let mut it = s.split(',').map(str::trim);
    let (Some(side), Some(op), Some(n), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(bad(kw, format!("expected <server|client|both|either>,<op>,<number>, got '{}'", shorten(s))));
    };
    let side = match side {
        "server" => StreamSizeSide::Server,
        "client" => StreamSizeSide::Client,
        "both" => StreamSizeSide::Both,
        "either" => StreamSizeSide::Either,
        _ => return Err(bad(kw, format!("invalid side '{}' (server, client, both or either)", shorten(side)))),
    };
    let n = u64::from(n.parse::<u32>().map_err(|_| bad(kw, format!("invalid size '{}'", shorten(n))))?);
    let cmp = match op {
        "<" => NumCmp::Lt(n),
        "<=" => NumCmp::Le(n),
        "=" => NumCmp::Eq(n),
        "!=" => NumCmp::Ne(n),
        ">" => NumCmp::Gt(n),
        ">=" => NumCmp::Ge(n),
        _ => return Err(bad(kw, format!("invalid operator '{}' (<, <=, =, !=, >, >=)", shorten(op)))),
    };
    b.packet.push(PacketMatch::StreamSize(side, cmp));
    Ok(())
}

/// `flow.pkts:<toserver|toclient|either>,<cmp>` (`dir` given: the `_toserver` / `_toclient`
/// forms, whose value is the comparison alone), as Suricata's `detect-flow-pkts.c`: packet
/// counts are 32-bit, byte counts 64-bit.
fn flow_count(
    b: &mut Builder,
    kw: &'static str,
    v: Option<&str>,
    what: FlowCounter,
    dir: Option<FlowCountDir>,
) -> PResult<()> {
    let s = unquote(v.unwrap_or("")).trim();
    let (dir, cmp) = match dir {
        Some(d) => (d, s),
        None => {
            let Some((d, c)) = s.split_once(',') else {
                return Err(bad(
                    kw,
                    format!("expected <toserver|toclient|either>,<number or range>, got '{}'", shorten(s)),
                ));
            };
            let d = match d.trim() {
                "toserver" => FlowCountDir::ToServer,
                "toclient" => FlowCountDir::ToClient,
                "either" => FlowCountDir::Either,
                o => return Err(bad(kw, format!("invalid direction '{}' (toserver, toclient or either)", shorten(o)))),
            };
            (d, c.trim())
        }
    };
    let max = match what {
        FlowCounter::Pkts => u64::from(u32::MAX),
        FlowCounter::Bytes => u64::MAX,
    };
    let n = parse_uint_cmp(cmp, max).ok_or_else(|| bad(kw, invalid(cmp)))?;
    b.packet.push(PacketMatch::FlowCount(what, dir, n));
    Ok(())
}

fn app_layer_protocol(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or("")).trim();
    let m = b.app_layer_protocol(kw, s)?;
    b.packet.push(m);
    Ok(())
}

impl Builder {
    fn app_layer_protocol(&mut self, kw: &str, s: &str) -> PResult<PacketMatch> {
        let mut parts = s.split(',').map(str::trim);
        let first = parts.next().unwrap_or("");
        let (negated, names) = bang(first);
        let mut mode: Option<AppProtoMode> = None;
        let mut exact = false;
        for q in parts {
            let m = match q {
                "direction" => AppProtoMode::Direction,
                "to_server" => AppProtoMode::ToServer,
                "to_client" => AppProtoMode::ToClient,
                "either" => AppProtoMode::Either,
                "final" => AppProtoMode::Final,
                "original" => AppProtoMode::Original,
                "exact" if !exact => {
                    exact = true;
                    continue;
                }
                _ => return Err(bad(kw, format!("unknown qualifier '{}'", shorten(q)))),
            };
            if mode.replace(m).is_some() {
                return Err(bad(kw, "at most one mode"));
            }
        }
        let mode = mode.unwrap_or_default();
        let mut canon = Vec::new();
        for n in names.split('|').map(str::trim) {
            let c = match n.to_ascii_lowercase().as_str() {
                "failed" => "failed".to_string(),
                "unknown" if !negated => "unknown".to_string(),
                "unknown" => return Err(bad(kw, "'unknown' can't be negated")),
                other => match app_proto(other) {
                    Some((name, _)) => name.to_string(),
                    None => return Err(bad(kw, format!("unknown app-layer protocol '{}'", shorten(n)))),
                },
            };
            canon.push(c);
        }
        let names = canon.join("|");
        for them in &self.alprotos {
            let same_mode = them.mode == mode;
            if same_mode && (them.negated != negated || !negated || them.names == names) {
                return Err(bad(kw, "can't mix positive and negated app-layer-protocol matches, or repeat one"));
            }
        }
        self.alprotos.push(AlProtoKw { names: names.clone(), negated, mode });
        Ok(PacketMatch::AppLayerProtocol { name: names, negated, mode, exact })
    }
}

pub(crate) fn is_ipv4(d: &Decoded) -> bool {
    d.is_ip() && !d.is_ipv6()
}

/// The transport header was decoded the way Suricata decodes it: ICMPv4 inside IPv6 and
/// ICMPv6 inside IPv4 are only flagged there, not decoded.
pub(crate) fn l4(d: &Decoded) -> bool {
    if !d.has_l4() {
        return false;
    }
    match d.proto {
        proto::ICMP => !d.is_ipv6(),
        proto::ICMPV6 => d.is_ipv6(),
        _ => true,
    }
}

pub(crate) fn is_tcp(d: &Decoded) -> bool {
    l4(d) && d.proto == proto::TCP
}

pub(crate) fn is_icmpv4(d: &Decoded) -> bool {
    l4(d) && d.proto == proto::ICMP
}

pub(crate) fn is_icmpv6(d: &Decoded) -> bool {
    l4(d) && d.proto == proto::ICMPV6
}

pub(crate) fn be16(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(o)?, *b.get(o.checked_add(1)?)?]))
}

/// Flag letters with a modifier (`+`, `*`, `!`) and an optional `,<ignored letters>`.
pub(crate) fn parse_flag_letters(s: &str, bit: impl Fn(char) -> Option<u32>) -> Result<(u32, u32, FlagsMod), String> {
    let (main, ign) = match s.split_once(',') {
        Some((m, i)) => (m.trim(), Some(i.trim())),
        None => (s.trim(), None),
    };
    let mut modifier = FlagsMod::Exact;
    let mut bits = 0u32;
    let mut zero = false;
    let mut letters = 0;
    for c in main.chars().filter(|c| !c.is_whitespace()) {
        let m = match c {
            '+' => Some(FlagsMod::Plus),
            '*' => Some(FlagsMod::Any),
            '!' => Some(FlagsMod::Not),
            _ => None,
        };
        if let Some(m) = m {
            if modifier != FlagsMod::Exact {
                return Err("only one modifier (+, * or !)".into());
            }
            modifier = m;
            continue;
        }
        let b = bit(c.to_ascii_uppercase()).ok_or_else(|| format!("invalid flag '{}'", c.escape_default()))?;
        zero |= c == '0';
        letters += 1;
        bits |= b;
    }
    if letters == 0 || (zero && letters > 1) {
        return Err(format!("invalid flags '{}'", shorten(s)));
    }
    let mut ignore = 0u32;
    if let Some(i) = ign {
        if i.is_empty() {
            return Err("empty ignore mask".into());
        }
        for c in i.chars() {
            match bit(c.to_ascii_uppercase()) {
                Some(b) if c != '0' => ignore |= b,
                _ => return Err(format!("invalid flag '{}' in the ignore mask", c.escape_default())),
            }
        }
    }
    Ok((bits, ignore, modifier))
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use crate::rule::ast::*;
    use crate::rule::keywords::Setup;
    use crate::rule::parse::testing::*;

    #[test]
    fn packet_keywords() {
        let r = ok("ttl:<10; tos:!x10; id:1234; ip_proto:!tcp; ipopts:lsrr; fragbits:M+; fragoffset:>100; flags:SA*,12; seq:7; ack:8; window:!1024; tcp.mss:>=536; itype:8; icode:0<>3; icmp_id:5; icmp_seq:\"6\"; sameip; app-layer-protocol:!http,final;");
        assert_eq!(
            r.packet,
            vec![
                cmp("ttl", NumCmp::Lt(10)),
                cmp("tos", NumCmp::Ne(16)),
                cmp("id", NumCmp::Eq(1234)),
                cmp("ip_proto", NumCmp::Ne(6)),
                hm("ipopts", HeaderValue::AnyBit(1 << 6)),
                hm("fragbits", HeaderValue::FragBits(FragBits { bits: 0x2000, modifier: FlagsMod::Plus })),
                cmp("fragoffset", NumCmp::Gt(100)),
                hm("flags", HeaderValue::TcpFlags(TcpFlags { flags: 0x12, ignore: 0xc0, modifier: FlagsMod::Any })),
                cmp("seq", NumCmp::Eq(7)),
                cmp("ack", NumCmp::Eq(8)),
                cmp("window", NumCmp::Ne(1024)),
                cmp("tcp.mss", NumCmp::Ge(536)),
                cmp("itype", NumCmp::Eq(8)),
                cmp("icode", NumCmp::Range(0, 3)),
                cmp("icmp_id", NumCmp::Eq(5)),
                cmp("icmp_seq", NumCmp::Eq(6)),
                hm("sameip", HeaderValue::Empty),
                PacketMatch::AppLayerProtocol {
                    name: "http".into(),
                    negated: true,
                    mode: AppProtoMode::Final,
                    exact: false
                },
            ]
        );
        let r = ok("flags:0; app-layer-protocol:dns|TLS,exact; ip_proto:17;");
        assert_eq!(
            r.packet[0],
            hm("flags", HeaderValue::TcpFlags(TcpFlags { flags: 0, ignore: 0, modifier: FlagsMod::Exact }))
        );
        let alp = PacketMatch::AppLayerProtocol {
            name: "dns|tls".into(),
            negated: false,
            mode: AppProtoMode::Direction,
            exact: true,
        };
        assert_eq!(r.packet[1], alp);
        assert!(opts("app-layer-protocol:!http; app-layer-protocol:!tls;").is_ok());
        bad_value("app-layer-protocol:http; app-layer-protocol:tls;", "app-layer-protocol");
        bad_value("app-layer-protocol:nope;", "app-layer-protocol");
        bad_value("app-layer-protocol:!unknown;", "app-layer-protocol");
        bad_value("ttl:300;", "ttl");
        bad_value("ttl:abc;", "ttl");
        bad_value("flags:SX;", "flags");
        bad_value("flags:S; flags:A;", "flags");
        bad_value("flags:S0;", "flags");
        bad_value("flags:+S!;", "flags");
        bad_value("ipopts:bogus;", "ipopts");
        bad_value("ip_proto:bogus;", "ip_proto");
        bad_value("window:70000;", "window");
        bad_value("seq:-1;", "seq");
        bad_value("sameip:1;", "sameip");
    }

    #[test]
    fn stream_size_parses_as_suricata_and_refuses_the_rest() {
        let r = ok("stream_size:server,<,5;");
        assert_eq!(r.packet, vec![PacketMatch::StreamSize(StreamSizeSide::Server, NumCmp::Lt(5))]);
        let r = ok("stream_size: either , >= , 1800 ;");
        assert_eq!(r.packet, vec![PacketMatch::StreamSize(StreamSizeSide::Either, NumCmp::Ge(1800))]);
        for bad in [
            "stream_size:sever,<,5;",
            "stream_size:client,=<,5;",
            "stream_size:client,<,x;",
            "stream_size:client,<;",
            "stream_size:both,<,1,2;",
            "stream_size:both,<,4294967296;",
        ] {
            bad_value(bad, "stream_size");
        }
    }

    #[test]
    fn flow_pkts_and_bytes_parse_as_suricata_and_refuse_the_rest() {
        use crate::rule::ast::{FlowCountDir as D, FlowCounter as C};
        let r = ok("flow.pkts:either,=10; flow.bytes: toserver , >3000;");
        assert_eq!(
            r.packet,
            vec![
                PacketMatch::FlowCount(C::Pkts, D::Either, NumCmp::Eq(10)),
                PacketMatch::FlowCount(C::Bytes, D::ToServer, NumCmp::Gt(3000))
            ]
        );
        let r = ok("flow.pkts_toclient:5-9; flow.bytes_toserver:!3;");
        assert_eq!(
            r.packet,
            vec![
                PacketMatch::FlowCount(C::Pkts, D::ToClient, NumCmp::Range(5, 9)),
                PacketMatch::FlowCount(C::Bytes, D::ToServer, NumCmp::Ne(3))
            ]
        );
        let r = ok("flow.bytes:toclient,18446744073709551614;");
        assert_eq!(r.packet, vec![PacketMatch::FlowCount(C::Bytes, D::ToClient, NumCmp::Eq(u64::MAX - 1))]);
        for (bad, kw) in [
            ("flow.pkts:both,=1;", "flow.pkts"),
            ("flow.pkts:=1;", "flow.pkts"),
            ("flow.pkts:toserver,4294967296;", "flow.pkts"),
            ("flow.pkts_toserver:toserver,1;", "flow.pkts_toserver"),
            ("flow.bytes:either,abc;", "flow.bytes"),
            ("flow.bytes_toclient:;", "flow.bytes_toclient"),
        ] {
            bad_value(bad, kw);
        }
    }

    #[test]
    fn flow_age_parses_a_32_bit_comparison() {
        assert_eq!(ok("flow.age:>20;").packet, vec![PacketMatch::FlowAge(NumCmp::Gt(20))]);
        assert_eq!(ok("flow.age:3-9;").packet, vec![PacketMatch::FlowAge(NumCmp::Range(3, 9))]);
        for bad in ["flow.age:;", "flow.age:toserver,1;", "flow.age:4294967296;"] {
            bad_value(bad, "flow.age");
        }
    }

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
    fn packet_never_panics_on_garbage() {
        // Every header keyword's test, with a value of every shape (a test given a value of
        // another shape must not panic either).
        let values = [
            HeaderValue::Cmp(NumCmp::Ge(0)),
            HeaderValue::TcpFlags(TcpFlags { flags: 0x02, ignore: 0, modifier: FlagsMod::Any }),
            HeaderValue::FragBits(FragBits { bits: 0x2000, modifier: FlagsMod::Any }),
            HeaderValue::AnyBit(u16::MAX),
            HeaderValue::Empty,
        ];
        let mut all = vec![PacketMatch::Dsize(NumCmp::Ge(0))];
        for row in keywords().iter() {
            if let Setup::Header { test, .. } = row.setup {
                all.extend(values.iter().map(|v| PacketMatch::Header(HeaderMatch::new(row.name, *v, test))));
            }
        }
        assert!(all.len() > 17 * values.len(), "{}", all.len());
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
                        let _ = pm.matches(&f, &d);
                        // a Decoded that does not describe the frame must not panic either
                        let _ = pm.matches(&f[..f.len() / 2], &d);
                    }
                }
            }
        }
    }
}
