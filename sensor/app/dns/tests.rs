//! DNS parser tests.

use super::*;
use crate::output::eve::Json;

/// Builds a message: header fields, then raw body bytes.
fn msg(id: u16, flags: u16, counts: [u16; 4], body: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        m.extend_from_slice(&c.to_be_bytes());
    }
    m.extend_from_slice(body);
    m
}

fn qname(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in name.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

fn query(id: u16, name: &str, t: u16) -> Vec<u8> {
    let mut b = qname(name);
    b.extend_from_slice(&t.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    msg(id, 0x0100, [1, 0, 0, 0], &b)
}

/// A response to `www.example.com A`: CNAME via pointer, then A, an SOA authority and
/// an OPT additional.
fn response() -> Vec<u8> {
    let mut b = qname("www.example.com");
    b.extend_from_slice(&[0, 1, 0, 1]);
    // answer 1: name ptr to 12, CNAME -> "web" + ptr to example.com (offset 16).
    b.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 3, b'w', b'e', b'b', 0xc0, 16]);
    // answer 2: web.example.com (ptr to the rdata name at 12+21+12=45) A 93.184.216.34.
    b.extend_from_slice(&[0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]);
    // authority: example.com SOA ns.example.com. admin.example.com. 1 2 3 4 5
    let mut soa = vec![2, b'n', b's', 0xc0, 16, 5, b'a', b'd', b'm', b'i', b'n', 0xc0, 16];
    for v in 1u32..=5 {
        soa.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(&[0xc0, 16, 0, 6, 0, 1, 0, 0, 1, 0]);
    b.extend_from_slice(&(soa.len() as u16).to_be_bytes());
    b.extend_from_slice(&soa);
    // additional: OPT with no options.
    b.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    msg(0xbeef, 0x8180, [1, 2, 1, 1], &b)
}

#[test]
fn query_decodes_and_buffers() {
    let mut st = DnsState::new();
    let id = st.parse_udp(true, &query(7, "www.Example.com", 1)).unwrap();
    let tx = st.tx(id).unwrap();
    let names: Vec<&[u8]> = tx.query_names().collect();
    assert_eq!(names, vec![&b"www.Example.com"[..]]);
    assert_eq!(tx.rrtypes().collect::<Vec<_>>(), vec![1]);
    assert_eq!(tx.opcode(), 0);
    assert_eq!(st.stats.requests, 1);
}

#[test]
fn response_with_pointers() {
    let mut st = DnsState::new();
    st.parse_udp(true, &query(0xbeef, "www.example.com", 1)).unwrap();
    let id = st.parse_udp(false, &response()).unwrap();
    let tx = st.tx(id).unwrap();
    assert_eq!(tx.request_tx_id, Some(0));
    assert_eq!(st.stats.responses_matched, 1);
    let m = &tx.msg;
    assert_eq!(m.answers.len(), 2);
    assert_eq!(m.answers[0].name.value, b"www.example.com");
    assert_eq!(m.answers[0].data, RData::Cname(Name { value: b"web.example.com".to_vec(), flags: 0 }));
    assert_eq!(m.answers[1].name.value, b"web.example.com");
    assert_eq!(m.answers[1].data, RData::A(vec![93, 184, 216, 34]));
    match &m.authorities[0].data {
        RData::Soa(s) => {
            assert_eq!(s.mname.value, b"ns.example.com");
            assert_eq!(s.rname.value, b"admin.example.com");
            assert_eq!((s.serial, s.minimum), (1, 5));
        }
        d => panic!("{d:?}"),
    }
    assert_eq!(m.additionals[0].data, RData::Opt(vec![]));
    // dns.query is to-server only; the echoed question is in dns.queries.rrname.
    assert_eq!(tx.query_names().count(), 0);
    assert_eq!(tx.question_names().count(), 1);
    assert_eq!(tx.rrtypes().collect::<Vec<_>>(), vec![5, 1]);
    assert_eq!(tx.answer_names().collect::<Vec<_>>(), vec![&b"www.example.com"[..], b"web.example.com"]);
}

#[test]
fn eve_object_matches_suricata_v3() {
    let mut st = DnsState::new();
    let id = st.parse_udp(false, &response()).unwrap();
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    st.tx(id).unwrap().write_eve(&mut j, false);
    j.end();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let d = &v["dns"];
    assert_eq!(d["version"], 3);
    assert_eq!(d["type"], "response");
    assert_eq!(d["id"], 0xbeef);
    assert_eq!(d["flags"], "8180");
    assert_eq!(d["qr"], true);
    assert_eq!(d["rd"], true);
    assert_eq!(d["ra"], true);
    assert_eq!(d["rcode"], "NOERROR");
    assert_eq!(d["queries"][0]["rrname"], "www.example.com");
    assert_eq!(d["queries"][0]["rrtype"], "A");
    assert_eq!(d["answers"][0]["rdata"], "web.example.com");
    assert_eq!(d["answers"][1]["rdata"], "93.184.216.34");
    assert_eq!(d["answers"][1]["ttl"], 60);
    assert_eq!(d["authorities"][0]["soa"]["mname"], "ns.example.com");
    assert!(d.get("additionals").is_none(), "empty OPT skipped: {d}");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/eve-schema.json"))
            .unwrap_or_default(),
    )
    .unwrap_or(serde_json::Value::Null);
    if !schema.is_null() {
        let dns_schema = &schema["properties"]["dns"];
        let mut s = dns_schema.clone();
        s["$defs"] = schema["$defs"].clone();
        let validator = jsonschema::validator_for(&s).unwrap();
        assert!(validator.is_valid(d), "{d}");
    }
}

#[test]
fn txt_srv_aaaa_mx_rdata() {
    let mut b = qname("x");
    b.extend_from_slice(&[0, 16, 0, 1]);
    let rr = |b: &mut Vec<u8>, t: u16, data: &[u8]| {
        b.extend_from_slice(&[0xc0, 12]);
        b.extend_from_slice(&t.to_be_bytes());
        b.extend_from_slice(&[0, 1, 0, 0, 0, 1]);
        b.extend_from_slice(&(data.len() as u16).to_be_bytes());
        b.extend_from_slice(data);
    };
    rr(&mut b, 16, b"\x03abc\x02de");
    rr(&mut b, 33, &[0, 1, 0, 2, 0x01, 0xbb, 0xc0, 12]);
    let mut a6 = [0u8; 16];
    a6[0] = 0x20;
    a6[1] = 0x01;
    a6[15] = 1;
    rr(&mut b, 28, &a6);
    rr(&mut b, 15, &[0, 10, 0xc0, 12]);
    let m = parse_message(&msg(1, 0x8000, [1, 4, 0, 0], &b)).unwrap();
    assert_eq!(m.answers[0].data, RData::Txt(vec![b"abc".to_vec(), b"de".to_vec()]));
    assert_eq!(m.answers[1].data, RData::Srv(1, 2, 443, Name { value: b"x".to_vec(), flags: 0 }));
    assert_eq!(print_addr(&a6), "2001:0000:0000:0000:0000:0000:0000:0001");
    assert_eq!(m.answers[3].data, RData::Mx(10, Name { value: b"x".to_vec(), flags: 0 }));
    let tx = Tx { tx_id: 0, to_server: false, msg: m, request_tx_id: None, events: Default::default() };
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j, false);
    j.end();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let ans = v["dns"]["answers"].as_array().unwrap();
    assert_eq!(ans.len(), 5, "one entry per TXT string");
    assert_eq!(ans[1]["rdata"], "de");
    assert_eq!(ans[2]["srv"]["port"], 443);
}

#[test]
fn compression_loops_are_bounded() {
    // Self-pointer in the question: an error, as in Suricata.
    let m = msg(1, 0x0100, [1, 0, 0, 0], &[0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(parse_message(&m), Err(DnsError::Malformed));
    // Two pointers pointing at each other, reached through a first pointer: stops at the
    // step limit with a truncated, flagged name.
    let mut b = qname("a");
    b.extend_from_slice(&[0, 1, 0, 1]);
    // answer owner: ptr -> 30; at 30: label "b", ptr -> 30 again via 32 -> 30 loop.
    let base = 12 + b.len();
    let target = base + 12; // after this RR's fixed part (2 + 10) comes the loop
    b.extend_from_slice(&[0xc0 | (target >> 8) as u8, target as u8, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0]);
    b.extend_from_slice(&[1, b'b', 0xc0 | (target >> 8) as u8, target as u8]);
    let m = parse_message(&msg(1, 0x8000, [1, 1, 0, 0], &b)).unwrap();
    let n = &m.answers[0].name;
    assert!(n.flags & name_flags::LABEL_LIMIT != 0);
    assert!(n.flags & name_flags::TRUNCATED != 0);
    assert!(n.value.len() <= MAX_NAME_LEN);
    // A pointer forward past the end.
    let m = msg(1, 0x0100, [1, 0, 0, 0], &[0xff, 0xff, 0, 1, 0, 1]);
    assert!(parse_message(&m).is_err());
}

#[test]
fn long_names_truncate_at_1025() {
    // 300 labels would hit the step limit; 60-byte labels x 20 = 1220 bytes of name.
    let mut b = Vec::new();
    for _ in 0..20 {
        b.push(60);
        b.extend_from_slice(&[b'a'; 60]);
    }
    b.push(0);
    b.extend_from_slice(&[0, 1, 0, 1]);
    let mut st = DnsState::new();
    let id = st.parse_udp(true, &msg(1, 0x0100, [1, 0, 0, 0], &b)).unwrap();
    let q = &st.tx(id).unwrap().msg.queries[0];
    assert_eq!(q.name.value.len(), MAX_NAME_LEN);
    assert!(q.name.flags & name_flags::TRUNCATED != 0);
    assert_eq!(q.rrtype, 1, "parsing continued past the long name");
    assert_eq!(st.stats.name_truncated, 1);
    // Names over 255 bytes on the wire but under 1025 are kept whole, as Suricata does.
    let mut b = Vec::new();
    for _ in 0..5 {
        b.push(63);
        b.extend_from_slice(&[b'b'; 63]);
    }
    b.extend_from_slice(&[0, 0, 1, 0, 1]);
    let m = parse_message(&msg(1, 0x0100, [1, 0, 0, 0], &b)).unwrap();
    assert_eq!(m.queries[0].name.value.len(), 5 * 63 + 4);
    // 300 one-byte labels without a pointer: error (step limit, no way to resync).
    let mut b = Vec::new();
    for _ in 0..300 {
        b.extend_from_slice(&[1, b'x']);
    }
    b.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert!(parse_message(&msg(1, 0x0100, [1, 0, 0, 0], &b)).is_err());
}

#[test]
fn pointer_chain_expansion_is_capped() {
    // Many answers each pointing at a long name: decoded bytes are budgeted.
    let mut b = Vec::new();
    for _ in 0..15 {
        b.push(63);
        b.extend_from_slice(&[b'c'; 63]);
    }
    b.push(0);
    b.extend_from_slice(&[0, 1, 0, 1]);
    let n = 4000u16;
    for _ in 0..n {
        b.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 2, 0xc0, 12]);
    }
    let m = msg(1, 0x8000, [1, n, 0, 0], &b);
    assert!(m.len() < 65536);
    assert_eq!(parse_message(&m), Err(DnsError::TooLarge));
}

#[test]
fn header_sanity_and_direction() {
    let mut st = DnsState::new();
    assert_eq!(st.parse_udp(true, &[0; 5]), Err(DnsError::Header));
    // Request without questions.
    assert_eq!(st.parse_udp(true, &msg(1, 0x0100, [0, 0, 0, 0], &[])), Err(DnsError::Header));
    // Counts that cannot fit.
    assert_eq!(st.parse_udp(true, &msg(1, 0x0100, [1, 900, 0, 0], &[0, 0, 1, 0, 1])), Err(DnsError::Header));
    // A response sent to the server.
    let mut r = query(9, "a.b", 1);
    r[2] |= 0x80;
    assert_eq!(st.parse_udp(true, &r), Err(DnsError::NotRequest));
    // A query sent to the client is kept as a response (counted).
    assert!(st.parse_udp(false, &query(9, "a.b", 1)).is_ok());
    assert_eq!(st.stats.not_response, 1);
    assert_eq!(st.stats.bad_header, 3);
}

#[test]
fn opcode_notify() {
    let mut q = query(3, "zone.example", 6);
    q[2] = 0x20; // opcode 4
    let mut st = DnsState::new();
    let id = st.parse_udp(true, &q).unwrap();
    assert_eq!(st.tx(id).unwrap().opcode(), 4);
}

#[test]
fn tcp_every_split_gives_the_same_transactions() {
    let mut stream = Vec::new();
    for (i, name) in ["a.example", "bb.example.org", "c"].iter().enumerate() {
        let q = query(i as u16, name, 28);
        stream.extend_from_slice(&(q.len() as u16).to_be_bytes());
        stream.extend_from_slice(&q);
    }
    stream.extend_from_slice(&[0, 0]); // a zero-length record is skipped
    let expect = |st: &DnsState| {
        let names: Vec<Vec<u8>> = st.txs().flat_map(|t| t.query_names().map(|n| n.to_vec())).collect();
        assert_eq!(names, vec![b"a.example".to_vec(), b"bb.example.org".to_vec(), b"c".to_vec()]);
    };
    for split in 0..=stream.len() {
        let mut st = DnsState::new();
        let (a, b) = stream.split_at(split);
        st.parse_tcp(true, a);
        assert_eq!(st.parse_tcp(true, b), TcpStatus::Done, "split {split}");
        expect(&st);
    }
    let mut st = DnsState::new();
    for b in &stream {
        st.parse_tcp(true, std::slice::from_ref(b));
    }
    expect(&st);
}

#[test]
fn tcp_malformed_abandons_direction() {
    let mut st = DnsState::new();
    let bad = [0u8, 14, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12];
    assert!(matches!(st.parse_tcp(true, &bad), TcpStatus::Error(_)));
    let q = query(1, "a", 1);
    let mut t = (q.len() as u16).to_be_bytes().to_vec();
    t.extend_from_slice(&q);
    assert!(matches!(st.parse_tcp(true, &t), TcpStatus::Error(_)));
    assert_eq!(st.stats.tcp_abandoned, 1);
    assert_eq!(st.stats.tcp_bytes_ignored, t.len() as u64);
    // The other direction still works.
    let mut r = q.clone();
    r[2] |= 0x80;
    let mut t = (r.len() as u16).to_be_bytes().to_vec();
    t.extend_from_slice(&r);
    assert_eq!(st.parse_tcp(false, &t), TcpStatus::Done);
}

#[test]
fn bounded_transactions_and_outstanding() {
    let mut st = DnsState::new();
    for i in 0..(MAX_OUTSTANDING as u16 + 10) {
        st.parse_udp(true, &query(i, "a", 1)).unwrap();
    }
    assert_eq!(st.txs().count(), MAX_TXS);
    assert_eq!(st.stats.tx_evicted, (MAX_OUTSTANDING + 10 - MAX_TXS) as u64);
    assert_eq!(st.stats.outstanding_evicted, 10);
    // Id 0 was forgotten: unmatched.
    let mut r = query(0, "a", 1);
    r[2] |= 0x80;
    st.parse_udp(false, &r).unwrap();
    assert_eq!(st.stats.responses_unmatched, 1);
    st.free_below(st.next_tx_id());
    assert_eq!(st.txs().count(), 0);
}

#[test]
fn probes() {
    assert_eq!(probe_udp(&query(1, "a.b", 1)), Probe::Dns { request: true });
    assert_eq!(probe_udp(&response()), Probe::Dns { request: false });
    assert_eq!(probe_udp(&[0; 11]), Probe::NotDns);
    let q = query(1, "a.b", 1);
    let mut t = (q.len() as u16).to_be_bytes().to_vec();
    t.extend_from_slice(&q);
    assert_eq!(probe_tcp(&t[..1]), Probe::Incomplete);
    assert_eq!(probe_tcp(&t[..13]), Probe::Incomplete);
    assert_eq!(probe_tcp(&t[..14]), Probe::Dns { request: true });
    assert_eq!(probe_tcp(&t), Probe::Dns { request: true });
}

/// Runs a conformance capture's DNS (UDP, port 53 either side; TCP payloads in capture
/// order) through [`DnsState`] the way the integrator will: requests to the server side.
fn run_pcap(path: &str) -> Option<DnsState> {
    use crate::capture::pcap::PcapFileSource;
    use crate::capture::PacketSource;
    use crate::decode::{Decoded, Decoder};
    use crate::metrics::Counters;
    if !std::path::Path::new(path).exists() {
        return None;
    }
    let mut src = PcapFileSource::new(vec![path.into()]);
    let mut frames = Vec::new();
    while src.next_batch(&mut |f| frames.push((f.linktype, f.data.to_vec()))) {}
    let dec = Decoder::default();
    let mut st = DnsState::new();
    for (lt, frame) in frames {
        let mut d = Decoded::default();
        let mut c = Counters::new();
        dec.decode(lt, &frame, &mut d, &mut c);
        let p = d.payload(&frame);
        if p.is_empty() || (d.sp != 53 && d.dp != 53) {
            continue;
        }
        let to_server = d.dp == 53;
        match d.proto {
            17 => {
                let _ = st.parse_udp(to_server, p);
            }
            6 => {
                let _ = st.parse_tcp(to_server, p);
            }
            _ => {}
        }
    }
    Some(st)
}

const SV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/suites/sv-dev");

#[test]
fn conformance_opcode_notify() {
    // dns.opcode:4 and dns.opcode:!0, flow:to_server: one alert each.
    let Some(st) = run_pcap(&format!("{SV}/dns-opcode/dns-notify.pcap")) else { return };
    let ts: Vec<&Tx> = st.txs().filter(|t| t.to_server).collect();
    assert_eq!(ts.iter().filter(|t| t.opcode() == 4).count(), 1);
    assert_eq!(ts.iter().filter(|t| t.opcode() != 0).count(), 1);
}

#[test]
fn conformance_dns_query() {
    // dns_query; content:"google"; nocase: one alert.
    let Some(st) = run_pcap(&format!("{SV}/dns/dns-query/dns-detect-query-01/input.pcap")) else { return };
    let hits =
        st.txs().filter(|t| t.query_names().any(|n| n.windows(6).any(|w| w.eq_ignore_ascii_case(b"google")))).count();
    assert_eq!(hits, 1);
    // pcre:"/google\.com$/i" on the same buffer: no trailing dot.
    let Some(st) = run_pcap(&format!("{SV}/dns/dns-query/dns-detect-query-04/input.pcap")) else { return };
    assert!(st.txs().any(|t| t.query_names().any(|n| n.to_ascii_lowercase().ends_with(b"google.com"))));
}

#[test]
fn conformance_rrtype_index() {
    // dns.rrtype:1,0 / 1,all / 1,-1 with flow:to_client: 3, 3 and 4 alerts.
    let Some(st) = run_pcap(&format!("{SV}/dns/dns-rrtype-index/input.pcap")) else { return };
    let tc: Vec<Vec<u16>> = st.txs().filter(|t| !t.to_server).map(|t| t.rrtypes().collect()).collect();
    assert_eq!(tc.iter().filter(|v| v.first() == Some(&1)).count(), 3, "{tc:?}");
    assert_eq!(tc.iter().filter(|v| !v.is_empty() && v.iter().all(|&x| x == 1)).count(), 3, "{tc:?}");
    assert_eq!(tc.iter().filter(|v| v.last() == Some(&1)).count(), 4, "{tc:?}");
}

#[test]
fn garbage_never_panics() {
    // A cheap deterministic fuzz: every prefix and byte flip of a real response.
    let r = response();
    for i in 0..=r.len() {
        let _ = parse_message(&r[..i]);
        let _ = probe_udp(&r[..i]);
    }
    for i in 0..r.len() {
        for x in [0x00u8, 0xc0, 0xff, 0x3f] {
            let mut m = r.clone();
            m[i] = x;
            let _ = parse_message(&m);
        }
    }
}
