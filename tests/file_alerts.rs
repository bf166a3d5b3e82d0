//! File keywords inspect each file of a transaction: a multipart upload of two files alerts
//! once per matching file, each alert listing the files still held (the one it matched
//! first), as Suricata's per-file inspection and file pruning; `filesize` compares a file
//! once it is closed.

use crate::common::{self, eth, ipv4_tcp, t_ms, tcpf, write_file, LT_ETHERNET};
use serde_json::Value;

const C: [u8; 4] = [10, 9, 0, 1];
const S: [u8; 4] = [10, 9, 0, 2];
const BOUNDARY: &str = "----x7MA4YWxkTrZu0gW";

/// A POST of two files, its body in three segments: the first file's part header, its
/// content up to the next boundary, the second part and the closing boundary. Each segment
/// is acknowledged before the next.
fn upload() -> Vec<Vec<u8>> {
    let part1 = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"; filename=\"report-one.txt\"\r\nContent-Type: text/plain\r\n\r\n"
    );
    let mid = format!("first file content\r\n--{BOUNDARY}");
    let part2 = format!(
        "\r\nContent-Disposition: form-data; name=\"b\"; filename=\"report-two.txt\"\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--{BOUNDARY}--\r\n"
    );
    let len = part1.len() + mid.len() + part2.len();
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: files.example\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len}\r\n\r\n{part1}"
    );
    let segments = [head.into_bytes(), mid.into_bytes(), part2.into_bytes()];
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    use tcpf::*;
    let c = |seq: u32, ack: u32, fl: u8, data: &[u8]| ipv4_tcp(C, S, 41000, 80, seq, ack, fl, data);
    let s = |seq: u32, ack: u32, fl: u8, data: &[u8]| ipv4_tcp(S, C, 80, 41000, seq, ack, fl, data);
    let mut pkts = vec![c(100, 0, SYN, b""), s(500, 101, SYN | ACK, b""), c(101, 501, ACK, b"")];
    let mut seq = 101u32;
    for seg in &segments {
        pkts.push(c(seq, 501, PSH | ACK, seg));
        seq += seg.len() as u32;
        pkts.push(s(501, seq, ACK, b""));
    }
    pkts.push(s(501, seq, PSH | ACK, response));
    let srv_end = 501 + response.len() as u32;
    pkts.push(c(seq, srv_end, ACK, b""));
    pkts.push(c(seq, srv_end, FIN | ACK, b""));
    pkts.push(s(srv_end, seq + 1, FIN | ACK, b""));
    pkts.push(c(seq + 1, srv_end + 1, ACK, b""));
    pkts
}

fn alerts_of(events: &[Value], sid: u64) -> Vec<&Value> {
    events.iter().filter(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == sid).collect()
}

fn file_names(alert: &Value) -> Vec<&str> {
    alert["files"].as_array().map(|a| a.iter().filter_map(|f| f["filename"].as_str()).collect()).unwrap_or_default()
}

#[test]
fn each_file_of_a_multipart_upload_alerts_once_with_its_own_record() {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<(u64, Vec<u8>)> = upload().iter().enumerate().map(|(i, p)| (t_ms(i as u64), eth(p))).collect();
    let pcap = write_file(dir.path(), "in.pcap", &common::pcap_le_usec(LT_ETHERNET, &frames));
    let rules = write_file(
        dir.path(),
        "r.rules",
        concat!(
            "alert http any any -> any any (msg:\"report upload\"; content:\"POST\"; http_method; filename:\"report-\"; sid:1;)\n",
            "alert http any any -> any any (msg:\"second file\"; filename:\"two\"; sid:2;)\n",
            "alert http any any -> any any (msg:\"big file\"; filesize:>10; sid:3;)\n",
            "alert http any any -> any any (msg:\"small file\"; filesize:<10; sid:4;)\n",
        )
        .as_bytes(),
    );
    let r = common::replay_files(dir.path(), &[pcap], &["--rules", rules.to_str().unwrap(), "--workers", "1"]);
    r.assert_clean();
    let one = alerts_of(&r.events, 1);
    assert_eq!(one.len(), 2, "one alert per matching file: {one:#?}");
    assert_eq!(file_names(one[0]).first().copied(), Some("report-one.txt"));
    assert_eq!(file_names(one[1]), ["report-two.txt"], "the first file was done with");
    let two = alerts_of(&r.events, 2);
    assert_eq!(two.len(), 1);
    assert_eq!(file_names(two[0]), ["report-two.txt"]);
    // filesize: each file once closed, by its own size (18 and 6 bytes)
    let big = alerts_of(&r.events, 3);
    assert_eq!(big.len(), 1);
    assert_eq!(file_names(big[0]).first().copied(), Some("report-one.txt"));
    let small = alerts_of(&r.events, 4);
    assert_eq!(small.len(), 1);
    assert_eq!(file_names(small[0]), ["report-two.txt"]);
    let infos: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e["event_type"] == "fileinfo")
        .filter_map(|e| e["fileinfo"]["filename"].as_str())
        .collect();
    assert_eq!(infos, ["report-one.txt", "report-two.txt"], "fileinfo records keep every file");
}
