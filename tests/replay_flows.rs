//! Flow tracking seen in the EVE flow events: ICMP pairing and ICMP errors joining the flow
//! they quote, a whole TCP session, TCP port reuse, and Community IDs; the flow's rule
//! variables (`traffic`, `metadata`) on its alerts, records and flow event; and the
//! app-layer records of a session (anomaly records of the HTTP parser's warnings, `pkt_src`,
//! `tx_id`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use common::*;

const A: [u8; 4] = [192, 168, 0, 89];
const B: [u8; 4] = [192, 168, 0, 1];

// --- ICMP

#[test]
fn icmp_echo_request_and_reply_are_one_flow() {
    let ping = ipv4_icmp(A, B, 8, 0, [0x12, 0x34, 0, 1], b"abcdefgh");
    let pong = ipv4_icmp(B, A, 0, 0, [0x12, 0x34, 0, 1], b"abcdefgh");
    let (l1, l2) = (ping.len() as u64 + 14, pong.len() as u64 + 14);
    let r = replay_eth(&[ping, pong]);
    r.assert_counters(&[("decoder.icmpv4", 2), ("decoder.invalid", 0), ("flow.total", 1), ("flow.icmpv4", 1)]);
    let f = r.flow("ICMP", "192.168.0.89", "192.168.0.1");
    assert_endpoints(f, "ICMP", "192.168.0.89", None, "192.168.0.1", None);
    assert_eq!(f["icmp_type"], 8);
    assert_eq!(f["icmp_code"], 0);
    assert_eq!(f["response_icmp_type"], 0);
    assert_eq!(f["response_icmp_code"], 0);
    assert_eq!(flow_counts(f), (1, 1, l1, l2));
    assert_eq!(f["flow"]["state"], "established");
    // the Community ID spec's own ICMP example
    assert_eq!(f["community_id"], "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
}

#[test]
fn icmpv6_echo_request_and_reply_are_one_flow() {
    let a: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let b: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let mut pong = Vec::new();
    etherparse::PacketBuilder::ipv6(b, a, 64).icmpv6_echo_reply(7, 1).write(&mut pong, b"ping").unwrap();
    let r = replay_eth(&[ipv6_echo_request(a, b, 7, 1), pong]);
    r.assert_counters(&[("decoder.icmpv6", 2), ("decoder.invalid", 0), ("flow.total", 1), ("flow.icmpv6", 1)]);
    let f = r.flow("IPv6-ICMP", "fe80::1", "fe80::2");
    assert_eq!(f["icmp_type"], 128);
    assert_eq!(f["response_icmp_type"], 129);
    assert_eq!((flow_counts(f).0, flow_counts(f).1), (1, 1));
}

/// The quoted part of an ICMP error: the IPv4 header and first 8 bytes of `ip`.
fn quote(ip: &[u8]) -> Vec<u8> {
    ip[..28].to_vec()
}

#[test]
fn icmp_unreachable_joins_the_udp_flow_it_quotes() {
    let query = ipv4_udp(A, B, 33000, 53, b"dns?");
    let unreach = ipv4_icmp(B, A, 3, 3, [0; 4], &quote(&query));
    let (lq, lu) = (query.len() as u64 + 14, unreach.len() as u64 + 14);
    let r = replay_eth(&[query, unreach]);
    r.assert_counters(&[
        ("decoder.udp", 1),
        ("decoder.icmpv4", 1),
        ("decoder.invalid", 0),
        ("flow.total", 1),
        ("flow.udp", 1),
        ("flow.icmpv4", 0),
    ]);
    let flows = r.flows();
    assert_eq!(flows.len(), 1, "{flows:#?}");
    assert_endpoints(flows[0], "UDP", "192.168.0.89", Some(33000), "192.168.0.1", Some(53));
    assert_eq!(flow_counts(flows[0]), (1, 1, lq, lu));
}

/// Only destination-unreachable errors are matched to the flow they quote (Suricata's
/// ICMPV4_DEST_UNREACH_IS_VALID); a time-exceeded error is neither joined nor a flow.
#[test]
fn icmp_time_exceeded_joins_no_flow() {
    let query = ipv4_udp(A, B, 33000, 53, b"dns?");
    let ttl = ipv4_icmp([10, 0, 0, 254], A, 11, 0, [0; 4], &quote(&query));
    let r = replay_eth(&[query, ttl]);
    r.assert_counters(&[("decoder.icmpv4", 1), ("decoder.invalid", 0), ("flow.total", 1), ("flow.icmpv4", 0)]);
    let flows = r.flows();
    assert_eq!(flows.len(), 1, "{flows:#?}");
    assert_eq!((flow_counts(flows[0]).0, flow_counts(flows[0]).1), (1, 0));
}

#[test]
fn icmp_unreachable_for_an_unknown_flow_creates_none() {
    let never_seen = ipv4_udp(A, [10, 9, 9, 9], 33001, 161, b"snmp");
    let unreach = ipv4_icmp([10, 9, 9, 9], A, 3, 1, [0; 4], &quote(&never_seen));
    let other = ipv4_udp(A, B, 33000, 53, b"dns?");
    let r = replay_eth(&[unreach, other]);
    r.assert_counters(&[
        ("decoder.icmpv4", 1),
        ("decoder.invalid", 0),
        ("flow.total", 1),
        ("flow.icmpv4", 0),
        ("flow.udp", 1),
    ]);
    let flows = r.flows();
    assert_eq!(flows.len(), 1, "{flows:#?}");
    assert_endpoints(flows[0], "UDP", "192.168.0.89", Some(33000), "192.168.0.1", Some(53));
    assert_eq!(flow_counts(flows[0]).1, 0);
}

// --- TCP

const C: [u8; 4] = [10, 5, 0, 1];
const S: [u8; 4] = [10, 5, 0, 2];

/// SYN, SYN/ACK, ACK, data, ACK, FIN both ways, last ACK.
fn session(isn: u32) -> Vec<Vec<u8>> {
    use tcpf::*;
    let c = |seq, ack, fl, data: &[u8]| ipv4_tcp(C, S, 45000, 80, seq, ack, fl, data);
    let s = |seq, ack, fl| ipv4_tcp(S, C, 80, 45000, seq, ack, fl, b"");
    vec![
        c(isn, 0, SYN, b""),
        s(7000, isn + 1, SYN | ACK),
        c(isn + 1, 7001, ACK, b""),
        c(isn + 1, 7001, PSH | ACK, b"hello"),
        s(7001, isn + 6, ACK),
        c(isn + 6, 7001, FIN | ACK, b""),
        s(7001, isn + 7, FIN | ACK),
        c(isn + 7, 7002, ACK, b""),
    ]
}

#[test]
fn tcp_session_closed_with_flags() {
    let pkts = session(1000);
    let ts_bytes: u64 = [0, 2, 3, 5, 7].iter().map(|&i| pkts[i].len() as u64 + 14).sum();
    let tc_bytes: u64 = [1, 4, 6].iter().map(|&i| pkts[i].len() as u64 + 14).sum();
    let r = replay_eth(&pkts);
    r.assert_counters(&[
        ("decoder.tcp", 8),
        ("decoder.invalid", 0),
        ("flow.total", 1),
        ("flow.tcp", 1),
        ("flow.tcp_reuse", 0),
    ]);
    let f = r.flow("TCP", "10.5.0.1", "10.5.0.2");
    assert_endpoints(f, "TCP", "10.5.0.1", Some(45000), "10.5.0.2", Some(80));
    assert_eq!(flow_counts(f), (5, 3, ts_bytes, tc_bytes));
    assert_eq!(f["flow"]["state"], "closed");
    assert_eq!(f["flow"]["reason"], "shutdown");
    let tcp = &f["tcp"];
    assert_eq!(tcp["tcp_flags"], "1b");
    assert_eq!(tcp["tcp_flags_ts"], "1b");
    assert_eq!(tcp["tcp_flags_tc"], "13");
    for k in ["syn", "fin", "psh", "ack"] {
        assert_eq!(tcp[k], true, "tcp.{k}: {tcp}");
    }
    assert!(tcp.get("rst").is_none(), "{tcp}");
}

#[test]
fn tcp_handshake_only_is_established() {
    let pkts = session(1000);
    let r = replay_eth(&pkts[..3]);
    let f = r.flow("TCP", "10.5.0.1", "10.5.0.2");
    assert_eq!(f["flow"]["state"], "established");
    assert_eq!(f["tcp"]["tcp_flags"], "12");
}

#[test]
fn tcp_rst_closes() {
    let pkts = session(1000);
    let rst = ipv4_tcp(S, C, 80, 45000, 7001, 1001, tcpf::RST | tcpf::ACK, b"");
    let r = replay_eth(&[pkts[0].clone(), rst]);
    let f = r.flow("TCP", "10.5.0.1", "10.5.0.2");
    assert_eq!(f["flow"]["state"], "closed");
    assert_eq!(f["tcp"]["tcp_flags"], "16");
    assert_eq!(f["tcp"]["rst"], true);
}

#[test]
fn new_syn_with_other_isn_after_close_is_tcp_reuse() {
    let mut pkts = session(1000);
    pkts.push(ipv4_tcp(C, S, 45000, 80, 555_555, 0, tcpf::SYN, b""));
    let r = replay_eth(&pkts);
    r.assert_counters(&[("flow.total", 2), ("flow.tcp", 2), ("flow.tcp_reuse", 1)]);
    let flows = r.flows();
    assert_eq!(flows.len(), 2, "{flows:#?}");
    let old =
        flows.iter().find(|f| f["flow"]["reason"] == "tcp_reuse").expect("the reused flow ends with reason tcp_reuse");
    let new = flows.iter().find(|f| f["flow"]["reason"] == "shutdown").expect("the new flow ends at shutdown");
    assert_eq!(old["flow"]["state"], "closed");
    assert_eq!((flow_counts(old).0, flow_counts(old).1), (5, 3));
    assert_eq!(old["tcp"]["tcp_flags"], "1b");
    assert_endpoints(new, "TCP", "10.5.0.1", Some(45000), "10.5.0.2", Some(80));
    assert_eq!(new["flow"]["state"], "new");
    assert_eq!((flow_counts(new).0, flow_counts(new).1), (1, 0));
    assert_eq!(new["tcp"]["tcp_flags"], "02");
    assert_eq!(new["flow"]["start"], eve_ts(8_000));
    assert_ne!(old["flow_id"], new["flow_id"]);
}

#[test]
fn syn_with_the_same_isn_after_close_is_no_reuse() {
    let mut pkts = session(1000);
    pkts.push(ipv4_tcp(C, S, 45000, 80, 1000, 0, tcpf::SYN, b""));
    let r = replay_eth(&pkts);
    r.assert_counters(&[("flow.total", 1), ("flow.tcp_reuse", 0)]);
    let f = r.flow("TCP", "10.5.0.1", "10.5.0.2");
    assert_eq!((flow_counts(f).0, flow_counts(f).1), (6, 3));
}

#[test]
fn community_id_matches_the_spec_example() {
    // Community ID spec: TCP 128.232.110.120:34855 -> 66.35.250.204:80, seed 0.
    let (a, b) = ([128, 232, 110, 120], [66, 35, 250, 204]);
    let syn = ipv4_tcp(a, b, 34855, 80, 1, 0, tcpf::SYN, b"");
    let synack = ipv4_tcp(b, a, 80, 34855, 9, 2, tcpf::SYN | tcpf::ACK, b"");
    let r = replay_eth(&[syn, synack]);
    let f = r.flow("TCP", "128.232.110.120", "66.35.250.204");
    assert_eq!(f["community_id"], "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
}

/// Direction is decided by the first packet: whichever side sent it is the flow's source
/// (ports with no well-known service, payloads of no protocol).
#[test]
fn first_packet_decides_direction() {
    let first = ipv4_udp(B, A, 40002, 40001, b"first");
    let second = ipv4_udp(A, B, 40001, 40002, b"second");
    let r = replay_eth(&[first, second]);
    let f = r.flow("UDP", "192.168.0.1", "192.168.0.89");
    assert_endpoints(f, "UDP", "192.168.0.1", Some(40002), "192.168.0.89", Some(40001));
    assert_eq!((flow_counts(f).0, flow_counts(f).1), (1, 1));
}

/// A UDP flow idle past its timeout (udp new: 30 s) is not joined by the next packet on its
/// tuple: Suricata's FlowGetFlowFromHash skips a flow whose timeout_at is before the packet's
/// second (FlowIsTimedOut) and creates a new one, so the old flow ends with reason timeout.
#[test]
fn udp_flow_times_out_on_packet_time() {
    let q = ipv4_udp(A, B, 33000, 53, b"q");
    let frames = vec![
        (t_ms(0), eth(&q)),
        (t_ms(40_000), eth(&ipv4_udp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, b"clock"))),
        (t_ms(45_000), eth(&q)),
    ];
    let r = replay_pcap(LT_ETHERNET, &frames);
    r.assert_counters(&[("flow.total", 3), ("flow.udp", 3)]);
    let ours: Vec<_> = r.flows().into_iter().filter(|f| f["src_ip"] == "192.168.0.89").collect();
    assert_eq!(ours.len(), 2, "{ours:#?}");
    let old = ours.iter().find(|f| f["flow"]["reason"] == "timeout").expect("first flow ends by timeout");
    let new = ours.iter().find(|f| f["flow"]["reason"] == "shutdown").expect("second flow ends at shutdown");
    assert_eq!(flow_counts(old).0, 1);
    assert_eq!(old["flow"]["start"], eve_ts(0));
    assert_eq!(flow_counts(new).0, 1);
    assert_eq!(new["flow"]["start"], "2023-11-14T22:14:05.000000+0000");
}

/// The same timeout across batches: packets far enough apart in the file to be in different
/// read chunks (1 MiB) are handed to the worker in different batches, and the idle flow ends
/// with reason timeout before the next packet of its tuple arrives.
#[test]
fn udp_flow_times_out_across_batches() {
    let q = ipv4_udp(A, B, 33000, 53, b"q");
    let mut frames = vec![(t_ms(0), eth(&q))];
    // 40 s of other traffic, over 1 MiB of it
    for i in 0..80u64 {
        let filler = ipv4_udp([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, &vec![0u8; 14_000]);
        frames.push((t_ms(500 * i + 500), eth(&filler)));
    }
    frames.push((t_ms(45_000), eth(&q)));
    let r = replay_pcap(LT_ETHERNET, &frames);
    let ours: Vec<_> = r.flows().into_iter().filter(|f| f["src_ip"] == "192.168.0.89").collect();
    assert_eq!(ours.len(), 2, "{ours:#?}");
    let old = ours.iter().find(|f| f["flow"]["reason"] == "timeout").expect("first flow ends by timeout");
    assert_eq!(flow_counts(old).0, 1);
    assert_eq!(old["flow"]["start"], eve_ts(0));
    let new = ours.iter().find(|f| f["flow"]["reason"] == "shutdown").expect("second flow ends at shutdown");
    assert_eq!(flow_counts(new).0, 1);
}

// --- rule variables on events

/// Suricata's EVE metadata (on by default): the flowbits and flowints a flow holds appear on
/// its alerts, its app-layer records and its flow event; flowbits named `traffic/id/...` and
/// `traffic/label/...` in a `traffic` object instead. Checked against Suricata 8's output of
/// the same rules on demo.pcap (field order included).
#[test]
fn flow_variables_appear_on_alerts_records_and_the_flow_event() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_file(
        dir.path(),
        "vars.rules",
        concat!(
            "alert http any any -> any any (msg:\"mark\"; flow:to_server; http.method; content:\"GET\"; ",
            "flowbits:set,demo.get; flowbits:set,traffic/id/demo-app; flowbits:set,traffic/label/web; ",
            "flowint:gets,+,1; flowbits:noalert; sid:1;)\n",
            "alert http any any -> any any (msg:\"exe\"; http.uri; content:\".exe\"; flowbits:isset,demo.get; sid:2;)\n",
        )
        .as_bytes(),
    );
    let pcap = crate_root().join("captures/demo.pcap");
    let r = replay_files(dir.path(), &[pcap], &["--rules", rules.to_str().unwrap()]);
    r.assert_clean();
    let alerts: Vec<&serde_json::Value> = r.events.iter().filter(|e| e["event_type"] == "alert").collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["alert"]["signature_id"], 2);
    let flow_id = &alerts[0]["flow_id"];
    let gets = r
        .events
        .iter()
        .filter(|e| e["event_type"] == "http" && &e["flow_id"] == flow_id && e["http"]["http_method"] == "GET")
        .count();
    assert!(gets >= 1);
    let of_flow: Vec<&serde_json::Value> = r.events.iter().filter(|e| &e["flow_id"] == flow_id).collect();
    for t in ["alert", "http", "fileinfo", "flow"] {
        let e = of_flow.iter().find(|e| e["event_type"] == t).unwrap_or_else(|| panic!("no {t} event: {of_flow:?}"));
        assert_eq!(e["traffic"], serde_json::json!({"id": ["demo-app"], "label": ["web"]}), "{e}");
        assert_eq!(e["metadata"], serde_json::json!({"flowbits": ["demo.get"], "flowints": {"gets": gets}}), "{e}");
    }
    // Suricata's place for them: after pkt_src (or the flow object), before tx_id / tcp.
    let text = std::fs::read_to_string(dir.path().join("eve.json")).unwrap();
    let vars = format!(
        r#""traffic":{{"id":["demo-app"],"label":["web"]}},"metadata":{{"flowbits":["demo.get"],"flowints":{{"gets":{gets}}}}}"#
    );
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&vars)).collect();
    assert_eq!(lines.len(), 4, "{text}");
    for l in lines {
        let after_flow = l.contains(r#""event_type":"flow""#);
        let before = if after_flow { r#""alerted":true},"# } else { r#""pkt_src":"wire/pcap","# };
        assert!(l.contains(&format!("{before}{vars}")), "{l}");
    }
    // Flows holding no variable carry neither.
    let others: Vec<&serde_json::Value> =
        r.events.iter().filter(|e| &e["flow_id"] != flow_id && e.get("flow_id").is_some()).collect();
    assert!(!others.is_empty());
    assert!(others.iter().all(|e| e.get("metadata").is_none() && e.get("traffic").is_none()), "{others:?}");
}

// --- App-layer records

/// A TCP session to port `dp` ([`tcp_session`]): each message in one segment (true: client to
/// server), each acknowledged, then the client's FIN exchange.
fn tcp_talk(dp: u16, msgs: &[(bool, &[u8])]) -> Vec<Vec<u8>> {
    tcp_session(C, S, 45001, dp, msgs, None)
}

/// An HTTP session on port 80: requests and responses in turn.
fn http_session(exchanges: &[(&[u8], &[u8])]) -> Vec<Vec<u8>> {
    let msgs: Vec<(bool, &[u8])> = exchanges.iter().flat_map(|&(q, r)| [(true, q), (false, r)]).collect();
    tcp_talk(80, &msgs)
}

/// The `anomaly.event` names of a run.
fn anomalies(r: &Run) -> Vec<String> {
    r.events
        .iter()
        .filter(|e| e["event_type"] == "anomaly")
        .map(|e| e["anomaly"]["event"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_direction_no_protocol_matches_is_reported_once_on_its_first_packet() {
    // HTTP named by the request; the server answers with bytes no protocol matches
    let r = replay_eth(&tcp_talk(
        80,
        &[(true, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"), (false, b"\x00\x01binary"), (false, b"more")],
    ));
    let a: Vec<&serde_json::Value> = r.events.iter().filter(|e| e["event_type"] == "anomaly").collect();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["anomaly"]["event"], "APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION");
    assert_eq!(
        (a[0]["anomaly"]["layer"].as_str(), a[0]["anomaly"]["app_proto"].as_str()),
        (Some("proto_detect"), Some("http"))
    );
    // The server's bytes reach the app layer when the client acknowledges them: the record has
    // that packet's view, the client's (as 52 of the reference mix.pcap's 62 such records).
    assert_eq!((a[0]["src_port"].as_u64(), a[0].get("tx_id")), (Some(45001), None));
    // SMTP: the banner came first and is SMTP's once the client's EHLO named the flow
    let r = replay_eth(&tcp_talk(
        25,
        &[(false, b"220 mail.example ESMTP\r\n"), (true, b"EHLO x\r\n"), (false, b"250 ok\r\n")],
    ));
    assert_eq!(anomalies(&r), Vec::<String>::new());
}

#[test]
fn http_parser_warnings_are_anomaly_records_of_their_transaction() {
    let pkts = http_session(&[
        (
            b"GET /a HTTP/1.1\r\nHost: h\r\nAuthorization: NTLM abc\r\nAccept: a\r\naccept: b\r\nAccept: c\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nSet-Cookie: a\r\nSet-Cookie: b\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n",
        ),
        (b"FOO /x\r\nHost: h\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        (b"GET /b HTTP/1.1\r\n\r\n", b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    let r = replay_eth(&pkts);
    let mut got: Vec<(u64, String)> = r
        .events
        .iter()
        .filter(|e| e["event_type"] == "anomaly")
        .map(|e| {
            let a = &e["anomaly"];
            assert_eq!(
                (a["type"].as_str(), a["layer"].as_str(), a["app_proto"].as_str()),
                (Some("applayer"), Some("proto_parser"), Some("http")),
                "{e}"
            );
            (e["tx_id"].as_u64().unwrap(), a["event"].as_str().unwrap().to_string())
        })
        .collect();
    got.sort();
    let want: Vec<(u64, String)> = [
        // once per repeated name, however often it repeats; the scheme is not Basic/Digest/Bearer
        (0, "REQUEST_AUTH_UNRECOGNIZED"),
        (0, "REQUEST_HEADER_REPETITION"),
        (0, "RESPONSE_HEADER_REPETITION"),
        (0, "RESPONSE_HEADER_REPETITION"),
        // no protocol, yet headers follow; a method libhtp does not know
        (1, "REQUEST_LINE_MISSING_PROTOCOL"),
        (1, "REQUEST_LINE_UNKNOWN_METHOD_NO_PROTOCOL"),
        // HTTP/1.1 without Host; a status line of a protocol libhtp does not know
        (2, "MISSING_HOST_HEADER"),
        (2, "RESPONSE_LINE_INVALID_PROTOCOL"),
    ]
    .iter()
    .map(|(t, e)| (*t, e.to_string()))
    .collect();
    assert_eq!(got, want);
}

/// A DNS query for `name`, type A.
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// The IPv4 datagram `pkt` (20-byte header) as fragments of `size` bytes of payload.
fn fragments(pkt: &[u8], size: usize) -> Vec<Vec<u8>> {
    let payload = &pkt[20..];
    let n = payload.chunks(size).count();
    payload
        .chunks(size)
        .enumerate()
        .map(|(i, part)| {
            let mut h = pkt[..20].to_vec();
            h[2..4].copy_from_slice(&((20 + part.len()) as u16).to_be_bytes());
            let more: u16 = if i + 1 < n { 0x2000 } else { 0 };
            h[6..8].copy_from_slice(&(more | (i * size / 8) as u16).to_be_bytes());
            h[10..12].copy_from_slice(&[0, 0]);
            let c = inet_checksum(&h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            h.extend_from_slice(part);
            h
        })
        .collect()
}

#[test]
fn records_say_where_their_packet_came_from_and_tx_id_is_where_suricata_writes_it() {
    let plain = ipv4_udp(C, S, 40000, 53, &dns_query(1, "plain.example"));
    let inner = ipv4_udp(C, S, 40001, 53, &dns_query(2, "tunnelled.example"));
    let gre = ipv4_raw([192, 0, 2, 10], [192, 0, 2, 20], 47, &gre_v0(0x0800, &inner));
    let whole = ipv4_udp(C, S, 40002, 53, &dns_query(3, "a-name-long-enough-to-fragment.example"));
    let mut pkts = vec![plain, gre];
    pkts.extend(fragments(&whole, 24));
    let r = replay_eth(&pkts);
    let mut got: Vec<(u64, String, bool)> = r
        .events
        .iter()
        .filter(|e| e["event_type"] == "dns")
        .map(|e| {
            (e["src_port"].as_u64().unwrap(), e["pkt_src"].as_str().unwrap().to_string(), e.get("tx_id").is_some())
        })
        .collect();
    got.sort();
    let want = [(40000, "wire/pcap"), (40001, "gre tunnel"), (40002, "defrag")];
    assert_eq!(got, want.iter().map(|(p, s)| (*p, s.to_string(), false)).collect::<Vec<_>>());
    // HTTP records keep theirs
    let r = replay_eth(&http_session(&[(
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    )]));
    let http: Vec<&serde_json::Value> = r.events.iter().filter(|e| e["event_type"] == "http").collect();
    assert_eq!(http.len(), 1);
    assert_eq!((http[0]["tx_id"].as_u64(), http[0]["pkt_src"].as_str()), (Some(0), Some("wire/pcap")));
}
