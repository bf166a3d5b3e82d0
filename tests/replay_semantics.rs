//! Detection semantics Suricata users rely on, end to end on small captures: rules made of
//! `app-layer-protocol` alone match once per direction's identification, not on every packet;
//! a RST's payload is inspected on the packet only, never as part of the stream; a flow picked
//! up midstream on the server's data is turned around.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use common::*;

const CLI: [u8; 4] = [10, 1, 0, 1];
const SRV: [u8; 4] = [10, 1, 0, 2];

/// A TCP session to port `dp` ([`tcp_session`]): each message in one segment, then the
/// client's FIN exchange, or (`rst`) the server's RST with `rst` as its payload.
fn session(dp: u16, msgs: &[(bool, &[u8])], rst: Option<&[u8]>) -> Vec<Vec<u8>> {
    tcp_session(CLI, SRV, 41001, dp, msgs, rst)
}

/// Replays IP packets (Ethernet, 1 ms apart) with `rules`; alerts per sid, sorted.
fn alerts(l3s: &[Vec<u8>], rules: &str) -> Vec<(u64, usize)> {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<(u64, Vec<u8>)> = l3s.iter().enumerate().map(|(i, p)| (t_ms(i as u64), eth(p))).collect();
    let pcap = write_file(dir.path(), "in.pcap", &pcap_le_usec(LT_ETHERNET, &frames));
    let rules = write_file(dir.path(), "t.rules", rules.as_bytes());
    let r = replay_files(dir.path(), &[pcap], &["--rules", rules.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut by: std::collections::BTreeMap<u64, usize> = Default::default();
    for e in r.events.iter().filter(|e| e["event_type"] == "alert") {
        *by.entry(e["alert"]["signature_id"].as_u64().unwrap()).or_default() += 1;
    }
    by.into_iter().collect()
}

/// Builds one TCP segment from `(seq, ack, flags, payload)`.
type SegmentFn = Box<dyn Fn(u32, u32, u8, &[u8]) -> Vec<u8>>;

/// Segment builders of one TCP connection from CLI:`client_port` to SRV:80: the client's,
/// then the server's.
fn http_segments(client_port: u16) -> (SegmentFn, SegmentFn) {
    (
        Box::new(move |seq, ack, fl, d| ipv4_tcp(CLI, SRV, client_port, 80, seq, ack, fl, d)),
        Box::new(move |seq, ack, fl, d| ipv4_tcp(SRV, CLI, 80, client_port, seq, ack, fl, d)),
    )
}

/// A TLS 1.2 ClientHello record without extensions.
const HELLO: &[u8] =
    b"\x16\x03\x01\x00\x2d\x01\x00\x00\x29\x03\x03AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\x00\x02\x00\x2f\x01\x00";

#[test]
fn app_layer_protocol_alone_matches_once_per_identified_direction() {
    // TLS named by the client's hello only (the server answers nothing TLS-like): sid 1 is
    // Suricata's protocol-detection-only rule, one alert for the one direction identified;
    // sid 2 needs more than the protocol and so looks at every packet once it is known
    let rules = "alert tcp any any -> any any (app-layer-protocol:tls; sid:1;)\n\
                 alert tcp any any -> any any (app-layer-protocol:tls; flow:to_server; sid:2;)\n\
                 alert tcp any any -> any any (app-layer-protocol:!tls; sid:3;)\n\
                 alert tcp any any -> any any (app-layer-protocol:http; sid:4;)\n";
    let got = alerts(&session(443, &[(true, HELLO)], None), rules);
    let two = got.iter().find(|(s, _)| *s == 2).map_or(0, |x| x.1);
    assert!(two >= 2, "sid 2 on every to-server packet after identification: {got:?}");
    assert_eq!(got.iter().filter(|(s, _)| *s != 2).copied().collect::<Vec<_>>(), vec![(1, 1)], "{got:?}");
    // HTTP named by both sides: one alert for each direction's identification
    let http = session(80, &[(true, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"), (false, b"HTTP/1.1 200 OK\r\n\r\n")], None);
    assert_eq!(alerts(&http, rules), vec![(3, 2), (4, 2)]);
}

#[test]
fn a_rst_payload_is_the_packets_not_the_streams() {
    // the server's stream is "Please Let Me In!"; its RST carries "Access Denied"
    let pkts = session(8080, &[(false, b"Please "), (false, b"Let Me In!")], Some(b"Access Denied"));
    let rules =
        "alert tcp-pkt any any -> any any (tcp.flags:R,A; content:\"Access Denied\"; startswith; endswith; sid:1;)\n\
                 alert tcp any any -> any any (flow:only_stream; content:\"Access Denied\"; sid:2;)\n\
                 alert tcp any any -> any any (content:\"Please Let Me In!\"; sid:4;)\n\
                 alert tcp any any -> any any (content:\"Please Let Me In!Access Denied\"; sid:5;)\n";
    assert_eq!(alerts(&pkts, rules), vec![(1, 1), (4, 1)]);
}

#[test]
fn a_header_keyword_makes_a_payload_rule_packet_only() {
    // "Let Me" spans the server's two segments: only stream inspection sees it whole; with
    // `flags` (as `ttl`, `dsize`, `window` ...) Suricata inspects the packets alone
    let pkts = session(8081, &[(false, b"Please Le"), (false, b"t Me In!")], None);
    let rules = "alert tcp any any -> any any (flags:PA; content:\"Let Me\"; sid:6;)\n\
                 alert tcp any any -> any any (content:\"Let Me\"; sid:7;)\n\
                 alert tcp any any -> any any (flags:PA; content:\"Please\"; sid:8;)\n\
                 alert tcp any any -> any any (ttl:64; content:\"Me In\"; sid:9;)\n";
    assert_eq!(alerts(&pkts, rules), vec![(7, 1), (8, 1), (9, 1)]);
}

/// An LLMNR message for `name` (A record): a query, or (`answer`) its response.
fn llmnr(name: &str, answer: bool) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, if answer { 0x80 } else { 0 }, 0, 0, 1, 0, u8::from(answer), 0, 0, 0, 0];
    m.push(name.len() as u8);
    m.extend_from_slice(name.as_bytes());
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    if answer {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 1, 0, 9]);
    }
    m
}

#[test]
fn a_udp_flow_whose_first_datagram_is_an_llmnr_answer_is_turned_around() {
    // the query went to the multicast group (another flow); the answer comes from the
    // responder's port 5355 and opens its own flow: its sender is the server
    let q = ipv4_udp(CLI, [224, 0, 0, 252], 50001, 5355, &llmnr("victim", false));
    let a = ipv4_udp(SRV, CLI, 5355, 50001, &llmnr("victim", true));
    let rules = "alert llmnr any any -> any any (llmnr.response.rrname; content:\"victim\"; sid:1;)\n\
                 alert llmnr any any -> any any (flow:to_client; llmnr.queries.rrname; content:\"victim\"; sid:2;)\n\
                 alert llmnr any any -> any any (flow:to_server; llmnr.queries.rrname; content:\"victim\"; sid:3;)\n";
    assert_eq!(alerts(&[q, a], rules), vec![(1, 1), (2, 1), (3, 1)]);
}

#[test]
fn the_flow_start_hook_is_the_first_packet_of_each_direction() {
    // the SYN and the SYN/ACK: nothing later, whatever it carries
    let pkts = session(8082, &[(true, b"hello"), (false, b"world")], None);
    let rules = "alert tcp:flow_start any any -> any any (sid:1;)\n\
                 alert ip:flow_start any any -> any any (flow:to_server; sid:2;)\n\
                 alert tcp:flow_start any any -> any any (dsize:>0; sid:3;)\n\
                 alert tcp:flow_start any any -> any any (dsize:0; sid:4;)\n";
    assert_eq!(alerts(&pkts, rules), vec![(1, 2), (2, 1), (4, 2)]);
}

#[test]
fn anchored_contents_match_where_their_window_allows_and_nowhere_else() {
    // one 400-byte message: HEAD at 0, MIDDLE at 100, DEEP at 350, TAIL at 396. The
    // prefilter scans a payload or stream chunk for an anchored pattern only as far as its
    // offset + depth reach (windows past 16 bytes are scanned whole), so each rule
    // matches exactly when its window holds its content, on TCP (packet and stream) and UDP
    let mut m = vec![b'x'; 400];
    for (at, s) in [(0, &b"HEAD"[..]), (100, b"MIDDLE"), (350, b"DEEP"), (396, b"TAIL")] {
        m[at..at + s.len()].copy_from_slice(s);
    }
    let mut pkts = session(8083, &[(true, &m)], None);
    pkts.push(ipv4_udp(CLI, SRV, 41002, 8084, &m));
    let windows = [
        (1, "content:\"HEAD\"; depth:4;"),
        (2, "content:\"MIDDLE\"; offset:100; depth:6;"),
        (3, "content:\"MIDDLE\"; offset:90; depth:20;"),
        (4, "content:\"DEEP\"; depth:300;"),
        (5, "content:\"DEEP\"; offset:340; depth:20;"),
        (6, "content:\"TAIL\"; startswith;"),
        (7, "content:\"HEAD\"; offset:1; depth:10;"),
        (8, "content:\"MIDDLE\"; depth:50;"),
        (9, "flags:PA; content:\"MIDDLE\"; offset:95; depth:11;"),
        (10, "content:\"xx\"; fast_pattern; content:\"TAIL\"; offset:390; depth:10;"),
    ];
    let mut rules = String::new();
    for (sid, opts) in windows {
        rules += &format!("alert tcp any any -> any any ({opts} sid:{sid};)\n");
        rules += &format!("alert udp any any -> any any ({opts} sid:{};)\n", sid + 100);
    }
    let sids: Vec<u64> = alerts(&pkts, &rules).into_iter().map(|(sid, _)| sid).collect();
    assert_eq!(sids, vec![1, 2, 3, 5, 9, 10, 101, 102, 103, 105, 110], "flags:PA is TCP only");
}

#[test]
fn payload_keywords_of_an_http_rule_see_the_body_as_sent() {
    // Suricata matches an HTTP rule's payload content on the raw stream: with file_data in the
    // same rule it finds a string of the body (suricata-verify bug-2576-04). A body that came
    // gzip-encoded is not what crossed the wire: its decompressed text is file_data only.
    let page = b"<html><meta content=IE=Edge></html>";
    let plain = [
        &b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "[..],
        page.len().to_string().as_bytes(),
        b"\r\n\r\n",
        page,
    ]
    .concat();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, page).unwrap();
    let gz = gz.finish().unwrap();
    let coded = [
        &b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: "[..],
        gz.len().to_string().as_bytes(),
        b"\r\n\r\n",
        &gz,
    ]
    .concat();
    let rules =
        "alert http any any -> any any (content:\"content=IE=Edge\"; file_data; content:\"content=IE=Edge\"; sid:1;)\n\
                 alert http any any -> any any (file_data; content:\"content=IE=Edge\"; sid:2;)\n\
                 alert http any any -> any any (content:\"200 OK\"; file_data; content:\"content=IE=Edge\"; sid:3;)\n";
    let get: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(alerts(&session(80, &[(true, get), (false, &plain)], None), rules), vec![(1, 1), (2, 1), (3, 1)]);
    assert_eq!(alerts(&session(80, &[(true, get), (false, &coded)], None), rules), vec![(2, 1), (3, 1)]);
}

#[test]
fn a_transactional_rule_matches_the_request_and_response_of_one_transaction() {
    // Suricata 8's `=>`: request keywords on the request, response keywords on the response
    // of the same transaction; a buffer both sides have is bound to one with to_server /
    // to_client; the header is the request's (client -> server port 80)
    let req1: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n";
    let resp1: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok";
    let req2: &[u8] = b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    let resp2: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    let pkts = session(80, &[(true, req1), (false, resp1), (true, req2), (false, resp2)], None);
    let rules = "alert http any any => any any (http.uri; content:\"/a\"; http.stat_code; content:\"200\"; sid:1;)\n\
                 alert http any any => any any (http.uri; content:\"/a\"; http.stat_code; content:\"404\"; sid:2;)\n\
                 alert http any any => any any (http.uri; content:\"/b\"; http.stat_code; content:\"404\"; sid:3;)\n\
                 alert http any any => any any (http.connection: to_server; content:\"keep\"; http.connection: to_client; content:\"Keep\"; sid:4;)\n\
                 alert http any any => any any (http.connection: to_server; content:\"Keep\"; http.stat_code; content:\"200\"; sid:5;)\n\
                 alert http any any => any 80 (http.uri; content:\"/a\"; http.stat_code; content:\"200\"; sid:6;)\n\
                 alert http any 80 => any any (http.uri; content:\"/a\"; http.stat_code; content:\"200\"; sid:7;)\n\
                 alert http any any -> any any (http.connection: to_client; content:\"Keep\"; sid:8;)\n\
                 alert http any any -> any any (http.connection: to_client; content:\"keep\"; sid:9;)\n";
    assert_eq!(alerts(&pkts, rules), vec![(1, 1), (3, 1), (4, 1), (6, 1), (8, 1)]);
}

/// Replays IP packets as [`alerts`] does with `sets` (`--set`); the alerts as (sid, src_ip,
/// src_port, direction), sorted.
fn alerts_with(l3s: &[Vec<u8>], rules: &str, sets: &[&str]) -> Vec<(u64, String, u64, String)> {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<(u64, Vec<u8>)> = l3s.iter().enumerate().map(|(i, p)| (t_ms(i as u64), eth(p))).collect();
    let pcap = write_file(dir.path(), "in.pcap", &pcap_le_usec(LT_ETHERNET, &frames));
    let rules = write_file(dir.path(), "t.rules", rules.as_bytes());
    let mut args = vec!["--rules", rules.to_str().unwrap()];
    for s in sets {
        args.extend(["--set", s]);
    }
    let r = replay_files(dir.path(), &[pcap], &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut v: Vec<_> = r
        .events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (e["alert"]["signature_id"].as_u64().unwrap(), s("src_ip"), e["src_port"].as_u64().unwrap(), s("direction"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_midstream_flow_whose_first_data_is_a_response_is_turned_around() {
    // picked up midstream on the server's response (suricata-verify detect-pcre-05): HTTP is
    // named by the to-client pattern, the flow is turned around (Suricata's FlowSwap), and the
    // response is parsed as the server's; the client's request that follows is a request
    use tcpf::*;
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nServer: Apache\r\nContent-Length: 5\r\n\r\nhello";
    let req: &[u8] = b"GET /two HTTP/1.1\r\nHost: h\r\n\r\n";
    let (c, s) = http_segments(41010);
    let (cs, ss) = (1000u32, 7000u32);
    let ss2 = ss + resp.len() as u32;
    let pkts = vec![
        s(ss, cs, PSH | ACK, resp),
        c(cs, ss2, ACK, b""),
        c(cs, ss2, PSH | ACK, req),
        s(ss2, cs + req.len() as u32, ACK, b""),
    ];
    let rules = "alert http any any -> any any (flow:to_client; content:\"Server: \"; http_header; sid:1;)\n\
                 alert http any any -> any any (flow:to_server; content:\"Server: \"; http_header; sid:2;)\n\
                 alert http 10.1.0.2 80 -> 10.1.0.1 any (http.response_line; content:\"200\"; sid:3;)\n\
                 alert http any any -> any any (http.uri; content:\"/two\"; sid:4;)\n\
                 alert tcp any any -> any any (flow:to_client; content:\"hello\"; sid:5;)\n";
    let srv = "10.1.0.2".to_string();
    let cli = "10.1.0.1".to_string();
    let (tc, ts) = ("to_client".to_string(), "to_server".to_string());
    assert_eq!(
        alerts_with(&pkts, rules, &["stream.midstream=true"]),
        vec![
            (1, srv.clone(), 80, tc.clone()),
            (3, srv.clone(), 80, tc.clone()),
            (4, cli, 41010, ts),
            (5, srv.clone(), 80, tc.clone()),
        ]
    );
    // the response alone, seen only at the flow's end
    assert_eq!(
        alerts_with(&pkts[..1], rules, &["stream.midstream=true"]),
        vec![(1, srv.clone(), 80, tc.clone()), (3, srv.clone(), 80, tc.clone()), (5, srv, 80, tc)]
    );
    // without midstream pickup there is no session, so nothing
    assert_eq!(alerts_with(&pkts, rules, &[]), vec![]);
}

#[test]
fn a_session_opened_by_a_syn_keeps_its_direction_whatever_its_first_data() {
    // the client of a whole handshake sends a response first: with midstream on HTTP is named
    // from the other side's patterns but the flow is not turned around (Suricata turns only
    // sessions picked up midstream), so the "response" is the client's data, parsed (as
    // libhtp does) as a request whose headers hold `Server`
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nServer: Apache\r\nContent-Length: 0\r\n\r\n";
    let pkts = session(8085, &[(true, resp)], None);
    let rules = "alert http any any -> any any (flow:to_client; content:\"Server: \"; http_header; sid:1;)\n\
                 alert tcp any any -> any any (flow:to_server; content:\"Apache\"; sid:2;)\n\
                 alert http any any -> any any (flow:to_server; content:\"Server: \"; http_header; sid:3;)\n";
    let got = alerts_with(&pkts, rules, &["stream.midstream=true"]);
    assert_eq!(got.iter().map(|a| a.0).collect::<Vec<_>>(), vec![2, 3], "{got:?}");
}

#[test]
fn a_midstream_udp_flow_whose_first_datagram_is_a_sip_response_is_turned_around() {
    let resp: &[u8] = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.1.0.1:5060\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let req: &[u8] = b"INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.0.1:5060\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let pkts = vec![ipv4_udp(SRV, CLI, 5060, 5061, resp), ipv4_udp(CLI, SRV, 5061, 5060, req)];
    let rules = "alert sip any any -> any any (sip.stat_code; content:\"200\"; sid:1;)\n\
                 alert sip any any -> any any (sip.method; content:\"INVITE\"; sid:2;)\n\
                 alert udp any any -> any any (flow:to_client; content:\"SIP/2.0 200\"; sid:3;)\n";
    let srv = "10.1.0.2".to_string();
    let tc = "to_client".to_string();
    assert_eq!(
        alerts_with(&pkts, rules, &["stream.midstream=true"]),
        vec![
            (1, srv.clone(), 5060, tc.clone()),
            (2, "10.1.0.1".to_string(), 5061, "to_server".to_string()),
            (3, srv, 5060, tc),
        ]
    );
    // off (the default): the response names nothing, so the flow has no protocol (Suricata:
    // its first datagram decides a UDP flow) and the request is not parsed either
    assert_eq!(alerts_with(&pkts, rules, &[]), vec![]);
}

#[test]
fn a_midstream_session_whose_client_side_names_no_protocol_is_not_parsed() {
    // Suricata (TCPProtoDetect): a session picked up midstream must find its protocol on the
    // to-server side, else the start of the request is missing and nothing is parsed, whatever
    // the response says: the client's data first, or the response first and then the client's
    use tcpf::*;
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nServer: Apache\r\nContent-Length: 5\r\n\r\nhello";
    let junk: &[u8] = b"ody of a post that started earlier\r\n";
    let (c, s) = http_segments(41011);
    let (cs, ss) = (1000u32, 7000u32);
    let (cj, sr) = (cs + junk.len() as u32, ss + resp.len() as u32);
    let client_first =
        vec![c(cs, ss, PSH | ACK, junk), s(ss, cj, ACK, b""), s(ss, cj, PSH | ACK, resp), c(cj, sr, ACK, b"")];
    let server_first =
        vec![s(ss, cs, PSH | ACK, resp), c(cs, sr, ACK, b""), c(cs, sr, PSH | ACK, junk), s(sr, cj, ACK, b"")];
    let rules = "alert http any any -> any any (flow:to_client; content:\"Server: \"; http_header; sid:1;)\n\
                 alert http any any -> any any (http.stat_code; content:\"200\"; sid:2;)\n\
                 alert tcp any any -> any any (flow:to_client; content:\"hello\"; sid:3;)\n";
    for (name, pkts) in [("client first", client_first), ("server first", server_first)] {
        let dir = tempfile::tempdir().unwrap();
        let frames: Vec<(u64, Vec<u8>)> = pkts.iter().enumerate().map(|(i, p)| (t_ms(i as u64), eth(p))).collect();
        let pcap = write_file(dir.path(), "in.pcap", &pcap_le_usec(LT_ETHERNET, &frames));
        let rf = write_file(dir.path(), "t.rules", rules.as_bytes());
        let r = replay_files(dir.path(), &[pcap], &["--rules", rf.to_str().unwrap(), "--set", "stream.midstream=true"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let alerts: Vec<_> = r.events.iter().filter(|e| e["event_type"] == "alert").collect();
        let sids: Vec<u64> = alerts.iter().map(|e| e["alert"]["signature_id"].as_u64().unwrap()).collect();
        assert_eq!(sids, vec![3], "{name}: the raw stream only");
        assert_eq!(alerts[0]["app_proto"], "failed", "{name}");
        let flow = r.events.iter().find(|e| e["event_type"] == "flow").unwrap();
        assert_eq!(flow["app_proto"], "failed", "{name}");
    }
}
