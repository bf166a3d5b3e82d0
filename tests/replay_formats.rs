//! Capture formats and link types, end to end through `picket replay`: every link type the
//! decoder knows yields the flow of the TCP/UDP packet it carries; classic pcap in both byte
//! orders and both timestamp resolutions, and pcapng with several interfaces of different link
//! types, give the same flows with the right times.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use common::*;

const A4: [u8; 4] = [10, 0, 0, 1];
const B4: [u8; 4] = [10, 0, 0, 2];
const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01];
const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02];

fn syn4() -> Vec<u8> {
    ipv4_tcp(A4, B4, 40000, 80, 1000, 0, tcpf::SYN, b"")
}

fn udp4() -> Vec<u8> {
    ipv4_udp(A4, B4, 5353, 53, b"query")
}

fn udp6() -> Vec<u8> {
    ipv6_udp(A6, B6, 6000, 53, b"query6")
}

fn tcp6() -> Vec<u8> {
    ipv6_tcp(A6, B6, 41000, 443, 77, 0, tcpf::SYN, b"")
}

/// One frame of `linktype` carrying one packet: exactly one flow, as given, with the frame's
/// length as its bytes, and the link counter `link_counter` at 1.
fn single_flow(linktype: u32, frame: Vec<u8>, link_counter: &str, expect: (&str, &str, u64, &str, u64)) {
    let len = frame.len() as u64;
    let r = replay_pcap(linktype, &[(t_ms(0), frame)]);
    let (proto, src, sp, dst, dp) = expect;
    let flows = r.flows();
    assert_eq!(flows.len(), 1, "link type {linktype}: {flows:#?}");
    assert_endpoints(flows[0], proto, src, Some(sp), dst, Some(dp));
    assert_eq!(flow_counts(flows[0]), (1, 0, len, 0), "link type {linktype}");
    assert_eq!(flows[0]["flow"]["reason"], "shutdown");
    let v6 = src.contains(':');
    r.assert_counters(&[
        ("decoder.pkts", 1),
        ("decoder.invalid", 0),
        (link_counter, 1),
        ("decoder.ipv4", u64::from(!v6)),
        ("decoder.ipv6", u64::from(v6)),
        ("decoder.tcp", u64::from(proto == "TCP")),
        ("decoder.udp", u64::from(proto == "UDP")),
        ("flow.total", 1),
        ("flow.tcp", u64::from(proto == "TCP")),
        ("flow.udp", u64::from(proto == "UDP")),
    ]);
}

#[test]
fn ethernet_ipv4_tcp() {
    single_flow(LT_ETHERNET, eth(&syn4()), "decoder.ethernet", ("TCP", "10.0.0.1", 40000, "10.0.0.2", 80));
}

#[test]
fn ethernet_ipv6_udp() {
    single_flow(LT_ETHERNET, eth(&udp6()), "decoder.ethernet", ("UDP", "2001:db8::1", 6000, "2001:db8::2", 53));
}

#[test]
fn raw_ip_101_ipv4_and_ipv6() {
    single_flow(LT_RAW, udp4(), "decoder.raw", ("UDP", "10.0.0.1", 5353, "10.0.0.2", 53));
    single_flow(LT_RAW, tcp6(), "decoder.raw", ("TCP", "2001:db8::1", 41000, "2001:db8::2", 443));
}

#[test]
fn raw_ipv4_228() {
    single_flow(LT_IPV4, syn4(), "decoder.pkts", ("TCP", "10.0.0.1", 40000, "10.0.0.2", 80));
}

#[test]
fn raw_ipv6_229() {
    single_flow(LT_IPV6, udp6(), "decoder.pkts", ("UDP", "2001:db8::1", 6000, "2001:db8::2", 53));
}

#[test]
fn linux_sll_113() {
    single_flow(LT_SLL, sll(&syn4()), "decoder.sll", ("TCP", "10.0.0.1", 40000, "10.0.0.2", 80));
    single_flow(LT_SLL, sll(&udp6()), "decoder.sll", ("UDP", "2001:db8::1", 6000, "2001:db8::2", 53));
}

#[test]
fn linux_sll2_276() {
    single_flow(LT_SLL2, sll2(&udp4()), "decoder.sll2", ("UDP", "10.0.0.1", 5353, "10.0.0.2", 53));
    single_flow(LT_SLL2, sll2(&tcp6()), "decoder.sll2", ("TCP", "2001:db8::1", 41000, "2001:db8::2", 443));
}

#[test]
fn bsd_null_0() {
    // AF_INET = 2; AF_INET6 as BSD (24), FreeBSD (28) and macOS (30) number it.
    single_flow(LT_NULL, null_le(2, &syn4()), "decoder.null", ("TCP", "10.0.0.1", 40000, "10.0.0.2", 80));
    for fam in [24, 28, 30] {
        single_flow(LT_NULL, null_le(fam, &udp6()), "decoder.null", ("UDP", "2001:db8::1", 6000, "2001:db8::2", 53));
    }
}

#[test]
fn openbsd_loop_108() {
    single_flow(LT_LOOP, loop_be(2, &udp4()), "decoder.null", ("UDP", "10.0.0.1", 5353, "10.0.0.2", 53));
}

/// Three UDP packets of one flow, the second a reply, written in every classic pcap variant:
/// the flow is the same each time and its start/end times keep microsecond precision.
#[test]
fn classic_pcap_byte_orders_and_resolutions() {
    let req = eth(&udp4());
    let rep = eth(&ipv4_udp(B4, A4, 53, 5353, b"answer!"));
    let frames =
        vec![(t_ns(123_456_789), req.clone()), (t_ns(223_456_000), rep.clone()), (t_ns(323_456_999), req.clone())];
    let variants = [
        ("le-usec", PcapHeader::le_usec(LT_ETHERNET)),
        ("le-nsec", PcapHeader::le_nsec(LT_ETHERNET)),
        ("be-usec", PcapHeader::be_usec(LT_ETHERNET)),
        ("be-nsec", PcapHeader::be_nsec(LT_ETHERNET)),
    ];
    for (name, h) in variants {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), &format!("{name}.pcap"), &pcap(&h, &frames));
        let r = replay_files(dir.path(), &[p], &[]);
        r.assert_clean();
        let f = r.flow("UDP", "10.0.0.1", "10.0.0.2");
        assert_endpoints(f, "UDP", "10.0.0.1", Some(5353), "10.0.0.2", Some(53));
        assert_eq!(flow_counts(f), (2, 1, 2 * req.len() as u64, rep.len() as u64), "{name}");
        assert_eq!(f["flow"]["start"], eve_ts(123_456), "{name}");
        assert_eq!(f["flow"]["end"], eve_ts(323_456), "{name}");
        assert_eq!(f["timestamp"], eve_ts(123_456), "{name}");
        assert_eq!(f["flow"]["state"], "established", "{name}");
        r.assert_counters(&[("decoder.pkts", 3), ("decoder.udp", 3), ("flow.total", 1), ("flow.udp", 1)]);
        assert_eq!(r.events.len(), 2, "{name}: one flow and the stats event");
    }
}

/// One pcapng section with five interfaces of different link types (alternating microsecond
/// and nanosecond resolution): each packet is decoded with its own interface's link type.
#[test]
fn pcapng_mixed_interfaces() {
    let frames = vec![
        (t_ns(1_000_001_000), LT_ETHERNET, eth(&syn4())),
        (t_ns(2_000_002_999), LT_RAW, udp4()),
        (t_ns(3_000_003_000), LT_SLL, sll(&tcp6())),
        (t_ns(4_000_004_500), LT_NULL, null_le(2, &ipv4_udp([192, 168, 1, 1], [192, 168, 1, 2], 1111, 2222, b"n"))),
        (t_ns(5_000_005_000), LT_IPV6, udp6()),
        // second packets on the first two interfaces, after the others were described
        (t_ns(6_000_006_000), LT_ETHERNET, eth(&ipv4_tcp(B4, A4, 80, 40000, 5000, 1001, tcpf::SYN | tcpf::ACK, b""))),
        (t_ns(7_000_007_000), LT_RAW, ipv4_udp(B4, A4, 53, 5353, b"answer")),
    ];
    let r = replay_pcapng(&frames);
    r.assert_counters(&[
        ("decoder.pkts", 7),
        ("decoder.invalid", 0),
        ("decoder.ethernet", 2),
        ("decoder.sll", 1),
        ("decoder.null", 1),
        ("decoder.ipv4", 5),
        ("decoder.ipv6", 2),
        ("decoder.tcp", 3),
        ("decoder.udp", 4),
        ("flow.total", 5),
        ("flow.tcp", 2),
        ("flow.udp", 3),
    ]);
    assert_eq!(r.flows().len(), 5);
    let tcp = r.flow("TCP", "10.0.0.1", "10.0.0.2");
    assert_endpoints(tcp, "TCP", "10.0.0.1", Some(40000), "10.0.0.2", Some(80));
    assert_eq!(flow_counts(tcp).0, 1);
    assert_eq!(flow_counts(tcp).1, 1);
    assert_eq!(tcp["flow"]["start"], "2023-11-14T22:13:21.000001+0000");
    assert_eq!(tcp["flow"]["end"], "2023-11-14T22:13:26.000006+0000");
    let udp = r.flow("UDP", "10.0.0.1", "10.0.0.2");
    assert_endpoints(udp, "UDP", "10.0.0.1", Some(5353), "10.0.0.2", Some(53));
    assert_eq!(
        udp["flow"]["start"], "2023-11-14T22:13:22.000002+0000",
        "nanosecond interface, truncated to microseconds"
    );
    assert_eq!((flow_counts(udp).0, flow_counts(udp).1), (1, 1));
    let sll6 = r.flow("TCP", "2001:db8::1", "2001:db8::2");
    assert_endpoints(sll6, "TCP", "2001:db8::1", Some(41000), "2001:db8::2", Some(443));
    assert_eq!(sll6["flow"]["start"], "2023-11-14T22:13:23.000003+0000");
    let null = r.flow("UDP", "192.168.1.1", "192.168.1.2");
    assert_endpoints(null, "UDP", "192.168.1.1", Some(1111), "192.168.1.2", Some(2222));
    assert_eq!(null["flow"]["start"], "2023-11-14T22:13:24.000004+0000");
    let v6 = r.flow("UDP", "2001:db8::1", "2001:db8::2");
    assert_endpoints(v6, "UDP", "2001:db8::1", Some(6000), "2001:db8::2", Some(53));
    assert_eq!(v6["flow"]["start"], "2023-11-14T22:13:25.000005+0000");
}
