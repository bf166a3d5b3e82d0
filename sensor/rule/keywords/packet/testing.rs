//! Frames and keyword values for the header keywords' unit tests.

use etherparse::PacketBuilder;

use crate::capture::LinkType;
use crate::decode::{Decoded, Decoder};
use crate::metrics::Counters;
use crate::rule::ast::{HeaderMatch, HeaderValue, NumCmp, PacketMatch};
use crate::rule::keywords::Setup;
use crate::rule::parse::testing::keywords;

/// Header keyword `name` with `value`, bound to its row's test.
pub(crate) fn hm(name: &str, value: HeaderValue) -> PacketMatch {
    let Some((_, row)) = keywords().lookup(name) else { panic!("no keyword {name}") };
    let Setup::Header { test, .. } = row.setup else { panic!("{name} is not a header keyword") };
    PacketMatch::Header(HeaderMatch::new(row.name, value, test))
}

/// Header keyword `name` with an integer comparison.
pub(crate) fn cmp(name: &str, n: NumCmp) -> PacketMatch {
    hm(name, HeaderValue::Cmp(n))
}

pub(crate) const A: [u8; 4] = [10, 0, 0, 1];
pub(crate) const B: [u8; 4] = [10, 0, 0, 2];

pub(crate) fn decode(frame: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    let mut c = Counters::new();
    Decoder::default().decode(LinkType::ETHERNET, frame, &mut d, &mut c);
    d
}

pub(crate) fn eth() -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
    PacketBuilder::ethernet2([1; 6], [2; 6])
}

pub(crate) fn tcp_frame(
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

pub(crate) fn udp_frame(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    eth().ipv4(A, B, 64).udp(53, 53).write(&mut v, payload).unwrap();
    v
}

pub(crate) fn udp6_frame(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    eth().ipv6([1; 16], [2; 16], 33).udp(53, 53).write(&mut v, payload).unwrap();
    v
}

pub(crate) fn icmp4_echo(id: u16, seq: u16) -> Vec<u8> {
    let mut v = Vec::new();
    eth().ipv4(A, B, 64).icmpv4_echo_request(id, seq).write(&mut v, b"ping").unwrap();
    v
}

pub(crate) fn icmp6_echo_reply(id: u16, seq: u16) -> Vec<u8> {
    let mut v = Vec::new();
    eth().ipv6([1; 16], [2; 16], 64).icmpv6_echo_reply(id, seq).write(&mut v, b"pong").unwrap();
    v
}

/// Inserts IPv4 options after the 20-byte header of an Ethernet/IPv4 frame.
pub(crate) fn with_ip_options(frame: &[u8], opts: &[u8]) -> Vec<u8> {
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
pub(crate) fn with_frag_header(frame: &[u8], offset: u16, more: bool) -> Vec<u8> {
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

pub(crate) fn m(pm: &PacketMatch, frame: &[u8]) -> bool {
    pm.matches(frame, &decode(frame))
}

pub(crate) type Case = (&'static str, PacketMatch, Vec<u8>, bool);

pub(crate) fn check(cases: Vec<Case>) {
    let mut failed = vec![];
    for (name, pm, frame, want) in cases {
        let got = m(&pm, &frame);
        if got != want {
            failed.push(format!("{name}: got {got}, want {want}"));
        }
    }
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
}
