//! Tunnels through `picket replay`: which layers become flows (as Suricata: the outer layer of
//! 6in4, Teredo and VXLAN is a flow of its own, GRE's is not), with the inner flow's tuple and
//! the decoder's tunnel counters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use common::*;

const V6_A: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
const V6_B: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02];

#[test]
fn ipv6_in_ipv4_is_two_flows() {
    let (o1, o2) = ([192, 0, 2, 1], [192, 0, 2, 2]);
    let syn = ipv6_tcp(V6_A, V6_B, 40000, 80, 100, 0, tcpf::SYN, b"");
    let synack = ipv6_tcp(V6_B, V6_A, 80, 40000, 900, 101, tcpf::SYN | tcpf::ACK, b"");
    let f1 = eth(&ipv4_raw(o1, o2, 41, &syn));
    let f2 = eth(&ipv4_raw(o2, o1, 41, &synack));
    let (l1, l2) = (f1.len() as u64, f2.len() as u64);
    let r = replay_pcap(LT_ETHERNET, &[(t_ms(0), f1), (t_ms(1), f2)]);
    r.assert_counters(&[
        ("decoder.pkts", 2),
        ("decoder.ipv4", 2),
        ("decoder.ipv6", 2),
        ("decoder.tcp", 2),
        ("decoder.ipv6_in_ipv4", 2),
        ("decoder.invalid", 0),
        ("flow.total", 2),
        ("flow.tcp", 1),
        ("flow.udp", 0),
    ]);
    assert_eq!(r.flows().len(), 2);
    let outer = r.flow("IPv6", "192.0.2.1", "192.0.2.2");
    assert_endpoints(outer, "IPv6", "192.0.2.1", None, "192.0.2.2", None);
    assert_eq!(flow_counts(outer), (1, 1, l1, l2));
    let inner = r.flow("TCP", "2001:db8::1", "2001:db8::2");
    assert_endpoints(inner, "TCP", "2001:db8::1", Some(40000), "2001:db8::2", Some(80));
    // the tunnelled flow counts the tunnelled packets' bytes
    assert_eq!(flow_counts(inner), (1, 1, syn.len() as u64, synack.len() as u64));
    assert_eq!(inner["tcp"]["tcp_flags"], "12");
}

#[test]
fn gre_inner_flow_only() {
    let inner = ipv4_udp([172, 16, 0, 1], [172, 16, 0, 2], 1000, 2000, b"inside gre");
    let frame = eth(&ipv4_raw([192, 0, 2, 10], [192, 0, 2, 20], 47, &gre_v0(0x0800, &inner)));
    let r = replay_pcap(LT_ETHERNET, &[(t_ms(0), frame)]);
    r.assert_counters(&[
        ("decoder.pkts", 1),
        ("decoder.gre", 1),
        ("decoder.ipv4", 2),
        ("decoder.udp", 1),
        ("decoder.invalid", 0),
        ("flow.total", 1),
        ("flow.udp", 1),
    ]);
    let flows = r.flows();
    assert_eq!(flows.len(), 1, "{flows:#?}");
    assert_endpoints(flows[0], "UDP", "172.16.0.1", Some(1000), "172.16.0.2", Some(2000));
    assert_eq!(flow_counts(flows[0]), (1, 0, inner.len() as u64, 0));
}

#[test]
fn teredo_outer_udp_and_inner_flow() {
    let inner = ipv6_udp(V6_A, V6_B, 7000, 7001, b"teredo payload");
    let frame = eth(&ipv4_udp([198, 51, 100, 1], [198, 51, 100, 2], 50000, 3544, &inner));
    let r = replay_pcap(LT_ETHERNET, &[(t_ms(0), frame)]);
    r.assert_counters(&[
        ("decoder.pkts", 1),
        ("decoder.teredo", 1),
        ("decoder.ipv4", 1),
        ("decoder.ipv6", 1),
        ("decoder.udp", 2),
        ("decoder.invalid", 0),
        ("flow.total", 2),
        ("flow.udp", 2),
    ]);
    assert_eq!(r.flows().len(), 2);
    assert_endpoints(
        r.flow("UDP", "198.51.100.1", "198.51.100.2"),
        "UDP",
        "198.51.100.1",
        Some(50000),
        "198.51.100.2",
        Some(3544),
    );
    let f = r.flow("UDP", "2001:db8::1", "2001:db8::2");
    assert_endpoints(f, "UDP", "2001:db8::1", Some(7000), "2001:db8::2", Some(7001));
    assert_eq!(flow_counts(f), (1, 0, inner.len() as u64, 0));
}

fn vxlan_frame() -> Vec<u8> {
    let inner = eth(&ipv4_tcp([10, 9, 0, 1], [10, 9, 0, 2], 1234, 22, 5, 0, tcpf::SYN, b""));
    eth(&ipv4_udp([203, 0, 113, 1], [203, 0, 113, 2], 40000, 4789, &vxlan(42, &inner)))
}

#[test]
fn vxlan_outer_udp_and_inner_flow() {
    let r = replay_pcap(LT_ETHERNET, &[(t_ms(0), vxlan_frame())]);
    r.assert_counters(&[
        ("decoder.pkts", 1),
        ("decoder.vxlan", 1),
        ("decoder.ipv4", 2),
        ("decoder.udp", 1),
        ("decoder.tcp", 1),
        ("decoder.invalid", 0),
        ("flow.total", 2),
        ("flow.udp", 1),
        ("flow.tcp", 1),
    ]);
    assert_eq!(r.flows().len(), 2);
    assert_endpoints(
        r.flow("UDP", "203.0.113.1", "203.0.113.2"),
        "UDP",
        "203.0.113.1",
        Some(40000),
        "203.0.113.2",
        Some(4789),
    );
    assert_endpoints(r.flow("TCP", "10.9.0.1", "10.9.0.2"), "TCP", "10.9.0.1", Some(1234), "10.9.0.2", Some(22));
}

/// With VXLAN decoding switched off, the same frame is one plain UDP flow.
#[test]
fn vxlan_port_zero_disables_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "vxlan.pcap", &pcap_le_usec(LT_ETHERNET, &[(t_ms(0), vxlan_frame())]));
    let r = replay_files(dir.path(), &[p], &["--set", "decoder.vxlan_port=0"]);
    r.assert_clean();
    r.assert_counters(&[
        ("decoder.vxlan", 0),
        ("decoder.tcp", 0),
        ("decoder.ipv4", 1),
        ("flow.total", 1),
        ("flow.udp", 1),
    ]);
    assert_endpoints(
        r.flow("UDP", "203.0.113.1", "203.0.113.2"),
        "UDP",
        "203.0.113.1",
        Some(40000),
        "203.0.113.2",
        Some(4789),
    );
}

#[test]
fn ip_in_ip_inner_flow() {
    let inner = ipv4_tcp([10, 20, 0, 1], [10, 20, 0, 2], 5555, 443, 9, 0, tcpf::SYN, b"");
    let frame = eth(&ipv4_raw([192, 0, 2, 30], [192, 0, 2, 40], 4, &inner));
    let r = replay_pcap(LT_ETHERNET, &[(t_ms(0), frame)]);
    r.assert_counters(&[
        ("decoder.pkts", 1),
        ("decoder.ipv4", 2),
        ("decoder.ipv4_in_ipv4", 1),
        ("decoder.tcp", 1),
        ("decoder.invalid", 0),
        ("flow.tcp", 1),
    ]);
    let f = r.flow("TCP", "10.20.0.1", "10.20.0.2");
    assert_endpoints(f, "TCP", "10.20.0.1", Some(5555), "10.20.0.2", Some(443));
    assert_eq!(flow_counts(f), (1, 0, inner.len() as u64, 0));
}
