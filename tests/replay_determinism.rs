//! The same capture and rules give the same alerts for any number of workers: thresholds and
//! detection filters tracked by address are decided in packet order (runtime::replay_order).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use common::*;
use serde_json::Value;

/// Rules whose state is shared between flows (and so between workers).
const RULES: &str = "\
alert tcp any any -> any 22 (msg:\"scan threshold by_src\"; flags:S,12; threshold: type threshold, track by_src, count 5, seconds 20; sid:9101; rev:1;)
alert tcp any any -> any 22 (msg:\"scan limit by_dst\"; flags:S,12; threshold: type limit, track by_dst, count 2, seconds 30; sid:9102; rev:1;)
alert tcp any any -> any 22 (msg:\"scan both by_src\"; flags:S,12; threshold: type both, track by_src, count 4, seconds 15; sid:9103; rev:1;)
alert tcp any any -> any 22 (msg:\"scan detection_filter\"; flags:S,12; detection_filter: track by_src, count 3, seconds 10; sid:9104; rev:1;)
";

/// SYNs to port 22 from two scanners, each to a new destination (a new flow, so spread over
/// the workers), one every 3 s of packet time for the first and irregularly for the second,
/// with unrelated UDP between them.
fn scan_pcap() -> Vec<u8> {
    let mut frames = Vec::new();
    for i in 0..400u32 {
        let t = i as u64 * 3000;
        let dst = [10, 1, (i / 200) as u8, (i % 200) as u8 + 1];
        frames.push((t_ms(t), eth(&ipv4_tcp([10, 0, 0, 1], dst, 30_000 + i as u16, 22, i, 0, tcpf::SYN, b""))));
        if i % 3 != 0 {
            let dst2 = [10, 2, (i % 4) as u8, (i % 50) as u8 + 1];
            let t2 = t + 500 + (i as u64 * 7919) % 2000;
            frames.push((t_ms(t2), eth(&ipv4_tcp([10, 0, 0, 9], dst2, 20_000 + i as u16, 22, i, 0, tcpf::SYN, b""))));
        }
        frames.push((t_ms(t + 2900), eth(&ipv4_udp([10, 3, 0, 1], [10, 3, 0, 2], 5000 + (i % 97) as u16, 53, b"q"))));
    }
    pcap_le_usec(LT_ETHERNET, &frames)
}

/// (sid, src, dst, pcap_cnt) of every alert, sorted.
fn alert_records(events: &[Value]) -> Vec<(u64, String, String, u64)> {
    let mut v: Vec<_> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| {
            (
                e["alert"]["signature_id"].as_u64().unwrap(),
                e["src_ip"].as_str().unwrap().to_string(),
                e["dest_ip"].as_str().unwrap().to_string(),
                e["pcap_cnt"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn shared_thresholds_give_the_same_alerts_for_any_worker_count() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = write_file(dir.path(), "scan.pcap", &scan_pcap());
    let rules = write_file(dir.path(), "scan.rules", RULES.as_bytes());
    let mut first: Option<Vec<(u64, String, String, u64)>> = None;
    for workers in ["1", "2", "4", "4", "2"] {
        // Small batches and queues: the workers interleave as much as they can.
        let r = replay_files(
            dir.path(),
            &[&pcap],
            &[
                "--rules",
                rules.to_str().unwrap(),
                "--workers",
                workers,
                "--set",
                "runtime.batch_packets=8",
                "--set",
                "capture.checksum_validation=none",
            ],
        );
        r.assert_clean();
        let got = alert_records(&r.events);
        let count = |sid: u64| got.iter().filter(|a| a.0 == sid).count();
        // Scanner 1 alone (a SYN every 3 s): every 5th of its 400 SYNs meets the threshold
        // (5 SYNs take 12 s < 20 s).
        assert_eq!(got.iter().filter(|a| a.0 == 9101 && a.1 == "10.0.0.1").count(), 80, "{workers} workers");
        // limit by_dst: each destination is hit once by scanner 1, so 2 per destination at most.
        assert!(count(9102) >= 400, "{workers} workers: {}", count(9102));
        assert_eq!(
            r.counter("detect.alert"),
            got.len() as u64,
            "{workers} workers: the stats event counts the alerts written"
        );
        match &first {
            None => first = Some(got),
            Some(f) => assert!(f == &got, "{workers} workers give other alerts than 1 worker"),
        }
    }
}
