//! Decoder behaviour seen through `picket replay`: VLAN stacks, IPv6 extension headers, and
//! truncated packets, checked on the final stats event's counters and on the flow events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use common::*;
use serde_json::json;

const A: [u8; 4] = [10, 1, 0, 1];
const B: [u8; 4] = [10, 1, 0, 2];
const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a];
const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b];

const Q: u16 = 0x8100;
const AD: u16 = 0x88a8;

fn udp_req() -> Vec<u8> {
    ipv4_udp(A, B, 3000, 53, b"req")
}

fn udp_rep() -> Vec<u8> {
    ipv4_udp(B, A, 53, 3000, b"reply")
}

/// A request and its reply inside the same VLAN stack.
fn vlan_pair(tags: &[(u16, u16)]) -> Run {
    replay_pcap(LT_ETHERNET, &[(t_ms(0), eth_vlan(tags, &udp_req())), (t_ms(1), eth_vlan(tags, &udp_rep()))])
}

#[test]
fn one_vlan_tag() {
    let r = vlan_pair(&[(Q, 100)]);
    r.assert_counters(&[
        ("decoder.pkts", 2),
        ("decoder.vlan", 2),
        ("decoder.vlan_qinq", 0),
        ("decoder.vlan_qinqinq", 0),
        ("decoder.ipv4", 2),
        ("decoder.udp", 2),
        ("decoder.invalid", 0),
        ("flow.total", 1),
    ]);
    let f = r.flow("UDP", "10.1.0.1", "10.1.0.2");
    assert_endpoints(f, "UDP", "10.1.0.1", Some(3000), "10.1.0.2", Some(53));
    assert_eq!(f["vlan"], json!([100]));
    assert_eq!((flow_counts(f).0, flow_counts(f).1), (1, 1));
}

#[test]
fn two_vlan_tags_qinq() {
    let r = vlan_pair(&[(AD, 200), (Q, 300)]);
    r.assert_counters(&[
        ("decoder.vlan", 2),
        ("decoder.vlan_qinq", 2),
        ("decoder.vlan_qinqinq", 0),
        ("decoder.udp", 2),
        ("decoder.invalid", 0),
        ("flow.total", 1),
    ]);
    let f = r.flow("UDP", "10.1.0.1", "10.1.0.2");
    assert_eq!(f["vlan"], json!([200, 300]));
    assert_eq!((flow_counts(f).0, flow_counts(f).1), (1, 1));
}

#[test]
fn three_vlan_tags_qinqinq() {
    let r = vlan_pair(&[(AD, 10), (Q, 20), (Q, 30)]);
    r.assert_counters(&[
        ("decoder.vlan", 2),
        ("decoder.vlan_qinq", 2),
        ("decoder.vlan_qinqinq", 2),
        ("decoder.udp", 2),
        ("decoder.invalid", 0),
        ("flow.total", 1),
    ]);
    let f = r.flow("UDP", "10.1.0.1", "10.1.0.2");
    assert_eq!(f["vlan"], json!([10, 20, 30]));
    assert_eq!((flow_counts(f).0, flow_counts(f).1), (1, 1));
}

/// The same 5-tuple on different VLANs is two flows (Suricata's vlan.use-for-tracking).
#[test]
fn vlan_id_separates_flows() {
    let r = replay_pcap(
        LT_ETHERNET,
        &[
            (t_ms(0), eth_vlan(&[(Q, 7)], &udp_req())),
            (t_ms(1), eth_vlan(&[(Q, 8)], &udp_req())),
            (t_ms(2), eth(&udp_req())),
        ],
    );
    r.assert_counters(&[("flow.total", 3), ("decoder.vlan", 2)]);
    let mut vlans: Vec<String> =
        r.flows().iter().map(|f| f.get("vlan").map(|v| v.to_string()).unwrap_or_default()).collect();
    vlans.sort();
    assert_eq!(vlans, vec!["".to_string(), "[7]".to_string(), "[8]".to_string()]);
}

/// Four tags: Suricata counts the first three levels, raises vlan.too_many_layers and stops
/// decoding (no IP, no flow).
#[test]
fn four_vlan_tags_too_many_layers() {
    let r = replay_pcap(LT_ETHERNET, &[(t_ms(0), eth_vlan(&[(AD, 1), (Q, 2), (Q, 3), (Q, 4)], &udp_req()))]);
    r.assert_counters(&[
        ("decoder.pkts", 1),
        ("decoder.vlan", 1),
        ("decoder.vlan_qinq", 1),
        ("decoder.vlan_qinqinq", 1),
        ("decoder.event.vlan.too_many_layers", 1),
        ("decoder.ipv4", 0),
        ("decoder.udp", 0),
        ("flow.total", 0),
    ]);
    assert!(r.flows().is_empty());
}

/// Suricata raises vlan.too_many_layers with ENGINE_SET_EVENT, not ENGINE_SET_INVALID_EVENT
/// (src/decode.h, DecodeNetworkLayer), so the packet does not count in decoder.invalid.
#[test]
fn four_vlan_tags_not_counted_invalid() {
    let r = replay_pcap(LT_ETHERNET, &[(t_ms(0), eth_vlan(&[(AD, 1), (Q, 2), (Q, 3), (Q, 4)], &udp_req()))]);
    r.assert_counters(&[("decoder.event.vlan.too_many_layers", 1), ("decoder.invalid", 0)]);
}

// --- IPv6 extension headers

/// Hop-by-hop options: PadN filling the 6 option bytes.
fn hop_by_hop() -> (u8, Vec<u8>) {
    (0, vec![0, 0, 1, 4, 0, 0, 0, 0])
}

/// A routing header (type 3, no segments left).
fn routing() -> (u8, Vec<u8>) {
    (43, vec![0, 0, 3, 0, 0, 0, 0, 0])
}

/// Destination options, 16 bytes long (hdr ext len 1): PadN filling 14 bytes.
fn dest_opts() -> (u8, Vec<u8>) {
    let mut v = vec![0, 1, 1, 12];
    v.extend_from_slice(&[0; 12]);
    (60, v)
}

#[test]
fn ipv6_extension_headers_before_tcp_and_udp() {
    let exts = [hop_by_hop(), routing(), dest_opts()];
    let tcp = ipv6_with_exts(&ipv6_tcp(A6, B6, 50000, 8080, 1, 0, tcpf::SYN, b""), &exts);
    let udp = ipv6_with_exts(&ipv6_udp(B6, A6, 5060, 5061, b"INVITE"), &exts);
    assert_eq!(tcp.len(), 40 + 8 + 8 + 16 + 20);
    let r = replay_eth(&[tcp, udp]);
    r.assert_counters(&[
        ("decoder.pkts", 2),
        ("decoder.ipv6", 2),
        ("decoder.tcp", 1),
        ("decoder.udp", 1),
        ("decoder.invalid", 0),
        ("decoder.event.ipv6.trunc_exthdr", 0),
        ("flow.total", 2),
        ("flow.tcp", 1),
        ("flow.udp", 1),
    ]);
    assert_endpoints(
        r.flow("TCP", "2001:db8::a", "2001:db8::b"),
        "TCP",
        "2001:db8::a",
        Some(50000),
        "2001:db8::b",
        Some(8080),
    );
    assert_endpoints(
        r.flow("UDP", "2001:db8::b", "2001:db8::a"),
        "UDP",
        "2001:db8::b",
        Some(5060),
        "2001:db8::a",
        Some(5061),
    );
}

#[test]
fn ipv6_truncated_extension_header() {
    // A hop-by-hop header that claims 40 bytes (hdr ext len 4) in an 8-byte payload whose
    // length field is consistent with the capture.
    let mut p = ipv6_udp(A6, B6, 1, 2, b"");
    p.truncate(40);
    p[6] = 0; // next header: hop-by-hop
    p[4..6].copy_from_slice(&8u16.to_be_bytes());
    p.extend_from_slice(&[17, 4, 1, 4, 0, 0, 0, 0]);
    let r = replay_eth(&[p]);
    r.assert_counters(&[
        ("decoder.pkts", 1),
        ("decoder.ipv6", 1),
        ("decoder.event.ipv6.trunc_exthdr", 1),
        ("decoder.invalid", 1),
        ("decoder.udp", 0),
        ("flow.total", 0),
    ]);
    assert!(r.flows().is_empty());
}

// --- truncation

#[test]
fn ipv4_total_length_beyond_capture() {
    let mut p = udp_req();
    p.truncate(p.len() - 5);
    let r = replay_eth(&[p]);
    r.assert_counters(&[
        ("decoder.pkts", 1),
        ("decoder.ipv4", 1),
        ("decoder.event.ipv4.trunc_pkt", 1),
        ("decoder.invalid", 1),
        ("decoder.udp", 0),
        ("flow.total", 0),
    ]);
    assert!(r.flows().is_empty());
}

#[test]
fn ipv6_payload_length_beyond_capture() {
    let mut p = ipv6_udp(A6, B6, 1000, 2000, b"0123456789");
    p.truncate(p.len() - 4);
    let r = replay_eth(&[p]);
    r.assert_counters(&[
        ("decoder.ipv6", 1),
        ("decoder.event.ipv6.trunc_pkt", 1),
        ("decoder.invalid", 1),
        ("flow.total", 0),
    ]);
}

#[test]
fn tcp_header_shorter_than_20_bytes() {
    // The IP packet is whole; its TCP header is only 10 bytes long.
    let tcp = ipv4_tcp(A, B, 1234, 80, 1, 0, tcpf::SYN, b"");
    let p = ipv4_raw(A, B, 6, &tcp[20..30]);
    let r = replay_eth(&[p]);
    r.assert_counters(&[
        ("decoder.pkts", 1),
        ("decoder.ipv4", 1),
        ("decoder.tcp", 1),
        ("decoder.event.tcp.pkt_too_small", 1),
        ("decoder.event.tcp.hlen_too_small", 0),
        ("decoder.invalid", 1),
        ("flow.total", 0),
    ]);
    assert!(r.flows().is_empty());
}

#[test]
fn tcp_data_offset_beyond_packet() {
    // A 20-byte TCP header whose data offset says 60 bytes.
    let tcp = ipv4_tcp(A, B, 1234, 80, 1, 0, tcpf::SYN, b"");
    let mut hdr = tcp[20..40].to_vec();
    hdr[12] = 0xf0;
    let p = ipv4_raw(A, B, 6, &hdr);
    let r = replay_eth(&[p]);
    r.assert_counters(&[
        ("decoder.tcp", 1),
        ("decoder.event.tcp.pkt_too_small", 0),
        ("decoder.event.tcp.hlen_too_small", 1),
        ("decoder.invalid", 1),
        ("flow.total", 0),
    ]);
}

/// A truncated packet does not disturb the valid packets around it.
#[test]
fn truncated_packet_between_valid_ones() {
    let mut cut = udp_req();
    cut.truncate(25);
    let r = replay_eth(&[udp_req(), cut, udp_rep()]);
    r.assert_counters(&[("decoder.pkts", 3), ("decoder.invalid", 1), ("decoder.udp", 2), ("flow.total", 1)]);
    let f = r.flow("UDP", "10.1.0.1", "10.1.0.2");
    assert_eq!((flow_counts(f).0, flow_counts(f).1), (1, 1));
}
