//! Hostile traffic against the records (issue 16, acceptance 6): a storm of a hundred thousand
//! tiny HTTP files, a 1 GiB file, DNS responses packed with as many answers as a message
//! holds, and TLS certificates of 10,000 and 20,000 subject alternative names. Each test writes its capture, replays it with the default configuration, and
//! asserts that every record is written (or its loss counted), that peak RSS stays bounded,
//! and that a normal flow after the storm still alerts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A classic pcap written frame by frame (no capture is held in memory), 10 µs apart.
struct PcapOut {
    w: BufWriter<File>,
    h: PcapHeader,
    ts_ns: u64,
}

impl PcapOut {
    fn create(path: &Path) -> PcapOut {
        let h = PcapHeader::le_usec(LT_ETHERNET);
        let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
        w.write_all(&pcap_global_header(&h)).unwrap();
        PcapOut { w, h, ts_ns: 1_700_000_000_000_000_000 }
    }

    fn frame(&mut self, l3: &[u8]) {
        let f = eth(l3);
        self.w.write_all(&pcap_record_header(&self.h, self.ts_ns, f.len() as u32, f.len() as u32)).unwrap();
        self.w.write_all(&f).unwrap();
        self.ts_ns += 10_000;
    }
}

/// One TCP session written as it goes: handshake, data in segments of `mss` bytes each
/// acknowledged, and the close.
struct Session {
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    /// Next sequence number of the client and of the server.
    seq: [u32; 2],
    mss: usize,
}

impl Session {
    fn open(out: &mut PcapOut, client: ([u8; 4], u16), server: ([u8; 4], u16), mss: usize) -> Session {
        let mut s = Session { client, server, seq: [1_000, 50_000], mss };
        s.pkt(out, true, tcpf::SYN, b"");
        s.seq[0] += 1;
        s.pkt(out, false, tcpf::SYN | tcpf::ACK, b"");
        s.seq[1] += 1;
        s.pkt(out, true, tcpf::ACK, b"");
        s
    }

    fn pkt(&self, out: &mut PcapOut, to_server: bool, flags: u8, data: &[u8]) {
        let (src, dst) = if to_server { (self.client, self.server) } else { (self.server, self.client) };
        let (seq, ack) = if to_server { (self.seq[0], self.seq[1]) } else { (self.seq[1], self.seq[0]) };
        out.frame(&ipv4_tcp(src.0, dst.0, src.1, dst.1, seq, ack, flags, data));
    }

    fn send(&mut self, out: &mut PcapOut, to_server: bool, data: &[u8]) {
        let d = usize::from(!to_server);
        for chunk in data.chunks(self.mss) {
            self.pkt(out, to_server, tcpf::PSH | tcpf::ACK, chunk);
            self.seq[d] = self.seq[d].wrapping_add(chunk.len() as u32);
            self.pkt(out, !to_server, tcpf::ACK, b"");
        }
    }

    fn close(mut self, out: &mut PcapOut) {
        self.pkt(out, true, tcpf::FIN | tcpf::ACK, b"");
        self.seq[0] += 1;
        self.pkt(out, false, tcpf::FIN | tcpf::ACK, b"");
        self.seq[1] += 1;
        self.pkt(out, true, tcpf::ACK, b"");
    }
}

const RULES: &str = "\
alert http any any -> any any (msg:\"uri marker\"; flow:established,to_server; http.uri; content:\"/NEEDLE-AFTER-STORM\"; sid:1;)
alert dns any any -> any any (msg:\"dns marker\"; dns.query; content:\"needle-after-storm.example\"; sid:2;)
";

/// The marker session: a normal request after the storm, which must alert (sid 1).
fn marker_session(out: &mut PcapOut) {
    let mut s = Session::open(out, ([10, 9, 9, 9], 40_000), ([192, 168, 1, 80], 80), 1460);
    s.send(out, true, b"GET /NEEDLE-AFTER-STORM HTTP/1.1\r\nHost: m\r\n\r\n");
    s.send(out, false, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    s.close(out);
}

struct Replayed {
    /// The EVE lines.
    events: Vec<serde_json::Value>,
    rss_kb: u64,
}

impl Replayed {
    fn of_type(&self, t: &str) -> Vec<&serde_json::Value> {
        self.events.iter().filter(|e| e["event_type"] == t).collect()
    }

    fn alerts(&self, sid: u64) -> usize {
        self.of_type("alert").iter().filter(|e| e["alert"]["signature_id"] == sid).count()
    }
}

/// Replays `pcap` with the marker rules and the default records under GNU time.
fn replay(dir: &Path, pcap: &Path, extra: &[&str]) -> Replayed {
    replay_rules(dir, pcap, RULES, extra)
}

/// Replays `pcap` with `rules` and the default records under GNU time.
fn replay_with(dir: &Path, pcap: &Path, rules: &str) -> Replayed {
    replay_rules(dir, pcap, rules, &[])
}

fn replay_rules(dir: &Path, pcap: &Path, rules_text: &str, extra: &[&str]) -> Replayed {
    let rules = dir.join("t.rules");
    std::fs::write(&rules, rules_text).unwrap();
    let eve = dir.join("eve.json");
    let out = Command::new("/usr/bin/time")
        .args(["-f", "__RSS__ %M"])
        .arg(env!("CARGO_BIN_EXE_picket"))
        .args(["replay", "-q", "--rules"])
        .arg(&rules)
        .arg("--eve")
        .arg(&eve)
        .args(extra)
        .arg(pcap)
        .output()
        .expect("/usr/bin/time (Debian package `time`) is needed to measure peak RSS");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning") && !err.contains("error"), "{err}");
    let rss_kb = err.lines().find_map(|l| l.strip_prefix("__RSS__ ")).and_then(|v| v.trim().parse().ok()).unwrap();
    Replayed { events: read_eve(&eve), rss_kb }
}

fn scratch(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    (dir, p)
}

/// A hundred thousand tiny files: 100 keep-alive sessions of 1,000 request/response turns,
/// each response a five-byte file. Every transaction and file has its record. Then one
/// session pipelines 1,000 requests before any response: as libhtp, at most 512 transactions
/// are held per connection (the others are evicted and counted).
#[test]
fn storm_of_a_hundred_thousand_tiny_http_files_is_recorded_in_bounded_memory() {
    let (dir, pcap) = scratch("storm.pcap");
    let mut out = PcapOut::create(&pcap);
    let (sessions, per_session) = (100u32, 1_000u32);
    for s in 0..sessions {
        let c = ([10, 1, (s >> 8) as u8, s as u8], 20_000 + s as u16);
        let mut ssn = Session::open(&mut out, c, ([192, 168, 1, 80], 80), 1460);
        for i in 0..per_session {
            ssn.send(&mut out, true, format!("GET /f/{s}/{i}.bin HTTP/1.1\r\nHost: storm\r\n\r\n").as_bytes());
            ssn.send(&mut out, false, format!("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{i:05}").as_bytes());
        }
        ssn.close(&mut out);
    }
    let pipelined = 1_000u32;
    let mut ssn = Session::open(&mut out, ([10, 1, 200, 1], 30_000), ([192, 168, 1, 80], 80), 1460);
    let (mut req, mut resp) = (Vec::new(), Vec::new());
    for i in 0..pipelined {
        req.extend_from_slice(format!("GET /p/{i}.bin HTTP/1.1\r\nHost: storm\r\n\r\n").as_bytes());
        resp.extend_from_slice(format!("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{i:05}").as_bytes());
    }
    ssn.send(&mut out, true, &req);
    ssn.send(&mut out, false, &resp);
    ssn.close(&mut out);
    marker_session(&mut out);
    out.w.flush().unwrap();
    drop(out);
    let r = replay(dir.path(), &pcap, &[]);
    let http = r.of_type("http");
    let files = r.of_type("fileinfo");
    eprintln!("file storm: {} http, {} fileinfo records, peak RSS {} KB", http.len(), files.len(), r.rss_kb);
    let turns = (sessions * per_session) as usize;
    let storm = |e: &&&serde_json::Value| e["http"]["url"].as_str().is_some_and(|u| u.starts_with("/f/"));
    assert_eq!(http.iter().filter(storm).count(), turns);
    assert_eq!(files.iter().filter(storm).count(), turns);
    assert!(files.iter().filter(storm).all(|f| f["fileinfo"]["state"] == "CLOSED" && f["fileinfo"]["size"] == 5));
    // The pipelined session keeps libhtp's 512 transactions; the evicted ones are counted in
    // app.http.txs_evicted (Picket's own counter: /metrics, not the EVE stats event; its unit
    // test is app::http::tests::transactions_are_capped_and_freed).
    let piped = |e: &&&serde_json::Value| e["http"]["url"].as_str().is_some_and(|u| u.starts_with("/p/"));
    assert_eq!(http.iter().filter(piped).count(), 512);
    assert_eq!(r.alerts(1), 1);
    assert!(r.rss_kb < 128 * 1024, "peak RSS {} KB", r.rss_kb);
}

/// One file of 1 GiB (a response in 32 KiB segments, as captures of offloaded NICs hold them).
/// As Suricata with its default limits, the file is tracked to the body limit and closed
/// `TRUNCATED` (its hash is that of the bytes it has), the response stream is reassembled up to
/// the stream depth (1 MiB) and no further, the request after it on the same connection is
/// still parsed and alerts, and memory stays bounded.
#[test]
fn one_gigabyte_file_streams_through_in_bounded_memory() {
    let (dir, pcap) = scratch("big.pcap");
    let mut out = PcapOut::create(&pcap);
    const SIZE: u64 = 1 << 30;
    const PIECE: usize = 32 * 1024;
    const LIMIT: usize = 102_400;
    let mut ssn = Session::open(&mut out, ([10, 2, 0, 1], 30_000), ([192, 168, 1, 80], 80), PIECE);
    ssn.send(&mut out, true, b"GET /big.iso HTTP/1.1\r\nHost: big\r\n\r\n");
    ssn.send(&mut out, false, format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n").as_bytes());
    let mut piece = vec![0u8; PIECE];
    let mut head = Vec::with_capacity(LIMIT);
    for n in 0..SIZE / PIECE as u64 {
        // Different content per piece, so that the hash covers the order of the pieces.
        piece[..8].copy_from_slice(&n.to_be_bytes());
        if head.len() < LIMIT {
            head.extend_from_slice(&piece[..PIECE.min(LIMIT - head.len())]);
        }
        ssn.send(&mut out, false, &piece);
    }
    ssn.send(&mut out, true, b"GET /NEEDLE-AFTER-STORM HTTP/1.1\r\nHost: big\r\n\r\n");
    ssn.send(&mut out, false, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    ssn.close(&mut out);
    out.w.flush().unwrap();
    drop(out);
    let r = replay(dir.path(), &pcap, &["--set", "output.eve.files.force_hash=[\"sha256\"]"]);
    let files = r.of_type("fileinfo");
    eprintln!("1 GiB file: peak RSS {} KB, fileinfo {:?}", r.rss_kb, files.first().map(|f| &f["fileinfo"]));
    let big = files.iter().find(|f| f["http"]["url"] == "/big.iso").expect("no fileinfo record of the 1 GiB file");
    assert_eq!(big["fileinfo"]["size"], LIMIT);
    assert_eq!(big["fileinfo"]["state"], "TRUNCATED");
    use sha2::Digest as _;
    let want: String = sha2::Sha256::digest(&head).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(big["fileinfo"]["sha256"], want);
    let rec = r.of_type("http").into_iter().find(|h| h["http"]["url"] == "/big.iso").unwrap();
    // Reassembly stops at the stream depth (1 MiB, Suricata's default): the record has the
    // body length the parser saw.
    let seen = rec["http"]["length"].as_u64().unwrap();
    assert!((LIMIT as u64..=1 << 20).contains(&seen), "{seen}");
    assert_eq!(r.alerts(1), 1);
    assert!(r.rss_kb < 128 * 1024, "peak RSS {} KB", r.rss_kb);
}

/// A DNS response of `n` A records for `name` (every answer a pointer to the question).
fn dns_response(id: u16, name: &str, n: u16) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x81, 0x80, 0, 1]);
    m.extend_from_slice(&n.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    for i in 0..n {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 200]);
        m.extend_from_slice(&i.to_be_bytes());
    }
    m
}

fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

/// DNS responses with 4,000 answers each (a 64 KB message holds no more; 10,000 do not fit a
/// DNS message), fifty of them: each response is one record with its answers, within
/// bounded memory, and a query after them alerts. (Each such record is a 500 KB EVE line; the
/// lines of a worker's batch are held until the batch is handed over, so the peak grows with
/// the records per batch: about 58 MB here.)
#[test]
fn dns_responses_packed_with_answers_stay_bounded() {
    let (dir, pcap) = scratch("dns.pcap");
    let mut out = PcapOut::create(&pcap);
    let (responses, answers) = (50u16, 4_000u16);
    for i in 0..responses {
        let name = format!("host{i}.packed.example");
        let c = ([10, 3, 0, 1], 10_000 + i);
        out.frame(&ipv4_udp(c.0, [192, 168, 1, 53], c.1, 53, &dns_query(i, &name)));
        out.frame(&ipv4_udp([192, 168, 1, 53], c.0, 53, c.1, &dns_response(i, &name, answers)));
    }
    out.frame(&ipv4_udp([10, 3, 0, 2], [192, 168, 1, 53], 30_000, 53, &dns_query(7, "needle-after-storm.example")));
    out.w.flush().unwrap();
    drop(out);
    let r = replay(dir.path(), &pcap, &[]);
    let dns = r.of_type("dns");
    let full: Vec<_> =
        dns.iter().filter(|d| d["dns"]["answers"].as_array().is_some_and(|a| a.len() == answers as usize)).collect();
    eprintln!("packed DNS: {} dns records, {} with every answer, peak RSS {} KB", dns.len(), full.len(), r.rss_kb);
    assert_eq!(
        full.len(),
        responses as usize,
        "{:?}",
        dns.iter().map(|d| d["dns"]["answers"].as_array().map(Vec::len)).collect::<Vec<_>>()
    );
    // The last answer of each is the 4,000th address.
    assert!(full.iter().all(|d| d["dns"]["answers"][answers as usize - 1]["rdata"] == "10.200.15.159"));
    assert_eq!(r.alerts(2), 1);
    assert!(r.rss_kb < 128 * 1024, "peak RSS {} KB", r.rss_kb);
}

/// A DER TLV (definite length, long form when needed).
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    match n {
        0..=0x7f => v.push(n as u8),
        0x80..=0xff => v.extend_from_slice(&[0x81, n as u8]),
        0x100..=0xffff => v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
        _ => v.extend_from_slice(&[0x83, (n >> 16) as u8, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(content);
    v
}

/// A self-signed-looking X.509 v3 certificate (the signature is not checked) whose subject
/// alternative names are `n0000.x`, `n0001.x`, ... (`sans` of them).
fn cert_with_sans(sans: u32) -> Vec<u8> {
    let oid = |b: &[u8]| der(0x06, b);
    let name = der(0x30, &der(0x31, &der(0x30, &[oid(&[0x55, 4, 3]), der(0x0c, b"hostile")].concat())));
    let sig_alg = der(0x30, &[oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 11]), der(0x05, b"")].concat());
    let rsa = der(0x30, &[oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 1]), der(0x05, b"")].concat());
    let spki = der(0x30, &[rsa, der(0x03, &[0, 0x30, 0x03, 0x02, 0x01, 0x01])].concat());
    let names: Vec<u8> = (0..sans).flat_map(|i| der(0x82, format!("n{i:04}.x").as_bytes())).collect();
    let san = der(0x30, &[oid(&[0x55, 0x1d, 0x11]), der(0x04, &der(0x30, &names))].concat());
    let tbs = der(
        0x30,
        &[
            der(0xa0, &der(0x02, &[2])),
            der(0x02, &[0x01, 0x23]),
            sig_alg.clone(),
            name.clone(),
            der(0x30, &[der(0x17, b"240101000000Z"), der(0x17, b"340101000000Z")].concat()),
            name,
            spki,
            der(0xa3, &der(0x30, &san)),
        ]
        .concat(),
    );
    der(0x30, &[tbs, sig_alg, der(0x03, &[0, 1, 2, 3])].concat())
}

/// Handshake messages as TLS 1.2 records of at most 16 KB each.
fn tls_records(handshake: &[u8]) -> Vec<u8> {
    handshake
        .chunks(16_384)
        .flat_map(|c| [&[0x16, 3, 3, (c.len() >> 8) as u8, c.len() as u8][..], c].concat())
        .collect()
}

fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let n = body.len();
    [&[ty, (n >> 16) as u8, (n >> 8) as u8, n as u8][..], body].concat()
}

/// A TLS session whose server certificate carries `sans` alternative names.
fn tls_session(out: &mut PcapOut, port: u16, sans: u32) {
    let mut s = Session::open(out, ([10, 4, 0, 1], port), ([192, 168, 1, 43], 443), 1460);
    let hello = [&[3, 3][..], &[7; 32], &[0, 0, 2, 0xc0, 0x2f, 1, 0]].concat();
    s.send(out, true, &tls_records(&handshake(1, &hello)));
    let der = cert_with_sans(sans);
    let n = der.len();
    let one = [&[(n >> 16) as u8, (n >> 8) as u8, n as u8][..], &der].concat();
    let list = [&[(one.len() >> 16) as u8, (one.len() >> 8) as u8, one.len() as u8][..], &one].concat();
    let server_hello = [&[3, 3][..], &[9; 32], &[0, 0xc0, 0x2f, 0]].concat();
    let flight = [handshake(2, &server_hello), handshake(11, &list), handshake(14, b"")].concat();
    s.send(out, false, &tls_records(&flight));
    s.close(out);
}

/// A server certificate of 10,000 subject alternative names (90 KB, within the 128 KiB a
/// handshake message may take): its session's `tls` record is written with the certificate's
/// subject and a rule on the last name alerts. One of 20,000 names (180 KB) passes that bound:
/// the direction stops being parsed (counted in `app.tls.handshake_too_long`), the session
/// still has its record, without certificate. Neither panics, and memory stays bounded.
#[test]
fn a_certificate_of_ten_thousand_names_is_recorded_and_a_larger_one_cut() {
    let (dir, pcap) = scratch("tls.pcap");
    let mut out = PcapOut::create(&pcap);
    tls_session(&mut out, 41_000, 10_000);
    tls_session(&mut out, 41_001, 20_000);
    out.w.flush().unwrap();
    drop(out);
    let rules = "alert tls any any -> any any (msg:\"last san\"; tls.subjectaltname; content:\"n9999.x\"; sid:3;)\n";
    let r = replay_with(dir.path(), &pcap, rules);
    let tls = r.of_type("tls");
    eprintln!("10,000 SANs: {} tls records, peak RSS {} KB", tls.len(), r.rss_kb);
    let of = |port: u64| tls.iter().find(|t| t["src_port"] == port || t["dest_port"] == port).copied();
    let big = of(41_000).expect("no tls record of the 10,000-name session");
    assert_eq!(big["tls"]["subject"], "CN=hostile", "{big}");
    assert_eq!(r.alerts(3), 1);
    let over = of(41_001).expect("no tls record of the 20,000-name session");
    assert!(over["tls"].get("subject").is_none(), "{over}");
    assert!(r.rss_kb < 128 * 1024, "peak RSS {} KB", r.rss_kb);
}
