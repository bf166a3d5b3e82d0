//! Evidence: `output.pcap_log` writes the packets of alerting flows (their history and what
//! follows) to rotating pcap files, read back here with pcap-parser; caps are counted; alerts
//! name their file in `capture_file`; a user's file is never overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};

const RULES: &str =
    "alert tcp any any -> any any (msg:\"evidence marker\"; content:\"evidence-marker\"; sid:7001; rev:1;)\n";

/// Client and server of flow `n` (TCP, client port 40000 + n).
fn ends(n: u16) -> ([u8; 4], [u8; 4], u16) {
    ([10, 1, (n >> 8) as u8, n as u8], [10, 2, 0, 1], 40_000 + n)
}

/// The frames of TCP flow `n` from time `t` (ms): handshake, `before` data segments, the marker
/// when `alert`, then `after` segments each way (payload of `size` bytes).
fn tcp_flow(n: u16, t: u64, alert: bool, before: usize, after: usize, size: usize) -> Vec<(u64, Vec<u8>)> {
    let (c, s, sp) = ends(n);
    let mut v = vec![
        (t_ms(t), eth(&ipv4_tcp(c, s, sp, 80, 100, 0, tcpf::SYN, b""))),
        (t_ms(t + 1), eth(&ipv4_tcp(s, c, 80, sp, 500, 101, tcpf::SYN | tcpf::ACK, b""))),
        (t_ms(t + 2), eth(&ipv4_tcp(c, s, sp, 80, 101, 501, tcpf::ACK, b""))),
    ];
    let mut seq = 101u32;
    let mut ms = t + 3;
    let pay = vec![b'x'; size];
    for _ in 0..before {
        v.push((t_ms(ms), eth(&ipv4_tcp(c, s, sp, 80, seq, 501, tcpf::ACK | tcpf::PSH, &pay))));
        seq += size as u32;
        ms += 1;
    }
    if alert {
        let p = b"GET /evidence-marker HTTP/1.0\r\n\r\n";
        v.push((t_ms(ms), eth(&ipv4_tcp(c, s, sp, 80, seq, 501, tcpf::ACK | tcpf::PSH, p))));
        seq += p.len() as u32;
        ms += 1;
    }
    let mut sseq = 501u32;
    for _ in 0..after {
        v.push((t_ms(ms), eth(&ipv4_tcp(s, c, 80, sp, sseq, seq, tcpf::ACK | tcpf::PSH, &pay))));
        sseq += size as u32;
        v.push((t_ms(ms + 1), eth(&ipv4_tcp(c, s, sp, 80, seq, sseq, tcpf::ACK, b""))));
        ms += 2;
    }
    v
}

/// Interleaves flows frame by frame (keeping each flow's order), then sorts by time.
fn merge(flows: Vec<Vec<(u64, Vec<u8>)>>) -> Vec<(u64, Vec<u8>)> {
    let mut all: Vec<(u64, usize, Vec<u8>)> = Vec::new();
    for (i, f) in flows.into_iter().enumerate() {
        all.extend(f.into_iter().map(|(t, b)| (t, i, b)));
    }
    all.sort_by_key(|x| (x.0, x.1));
    all.into_iter().map(|(t, _, b)| (t, b)).collect()
}

/// Every record of a classic pcap file (µs or ns): (time in µs, bytes); panics if it is not a
/// valid pcap.
fn read_pcap(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap();
    let mut r = LegacyPcapReader::new(1 << 16, f).unwrap_or_else(|e| panic!("{}: not a pcap: {e:?}", path.display()));
    let mut out = Vec::new();
    // pcap-log writes microsecond files, carve nanosecond ones (magic a1b23c4d): both in µs here
    let mut fraction_per_us = 1u64;
    loop {
        match r.next() {
            Ok((off, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        assert_eq!(h.network.0, 1, "Ethernet");
                        if h.is_nanosecond_precision() {
                            fraction_per_us = 1000;
                        }
                    }
                    PcapBlockOwned::Legacy(b) => {
                        assert_eq!(b.caplen, b.origlen);
                        out.push((b.ts_sec as u64 * 1_000_000 + b.ts_usec as u64 / fraction_per_us, b.data.to_vec()));
                    }
                    PcapBlockOwned::NG(_) => panic!("not a classic pcap"),
                }
                r.consume(off);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => r.refill().unwrap(),
            Err(e) => panic!("{}: {e:?}", path.display()),
        }
    }
    out
}

/// The pcap-log files of `dir` (not the user's), in the order they were written (by name:
/// `log.pcap.<secs>`, then `.1`, `.2`, ...).
fn log_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("log.pcap."))
        .collect();
    v.sort_by_key(|p| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        let suffix: u64 =
            n.rsplit('.').next().and_then(|x| if x.len() < 6 { x.parse().ok() } else { Some(0) }).unwrap_or(0);
        (n.matches('.').count(), suffix)
    });
    v
}

/// TCP ports (source, destination) of an Ethernet/IPv4/TCP frame.
fn ports(frame: &[u8]) -> (u16, u16) {
    let p = etherparse::SlicedPacket::from_ethernet(frame).unwrap();
    match p.transport {
        Some(etherparse::TransportSlice::Tcp(t)) => (t.source_port(), t.destination_port()),
        other => panic!("not TCP: {other:?}"),
    }
}

/// `picket replay` with pcap-log options; returns the run (stderr has the summary).
fn run(dir: &Path, frames: &[(u64, Vec<u8>)], sets: &[&str]) -> Run {
    let cap = write_file(dir, "case.pcap", &pcap_le_usec(LT_ETHERNET, frames));
    let rules = write_file(dir, "e.rules", RULES.as_bytes());
    let logs = dir.join("logs");
    let eve = dir.join("eve.json");
    let mut args: Vec<String> = vec![
        "replay".into(),
        "--eve".into(),
        eve.display().to_string(),
        "--rules".into(),
        rules.display().to_string(),
        "--set".into(),
        "capture.checksum_validation=none".into(),
        "--set".into(),
        format!("output.log_dir={}", logs.display()),
    ];
    for s in sets {
        args.push("--set".into());
        args.push(s.to_string());
    }
    args.push(cap.display().to_string());
    let (code, stdout, stderr) = picket(args);
    Run { code, stdout, stderr, events: read_eve(&eve) }
}

/// A number of the summary's pcap-log line: the one before `what`.
fn summary_count(stderr: &str, what: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("picket: pcap-log:"))
        .unwrap_or_else(|| panic!("no pcap-log line: {stderr}"));
    let i = line.find(what).unwrap_or_else(|| panic!("no `{what}` in: {line}"));
    line[..i]
        .trim_end()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no number before `{what}`: {line}"))
}

#[test]
fn alerting_flow_packets_before_and_after_the_alert_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let alerting = tcp_flow(1, 0, true, 3, 3, 100);
    let quiet = tcp_flow(2, 0, false, 4, 3, 100);
    let udp: Vec<(u64, Vec<u8>)> =
        (0..5).map(|i| (t_ms(i), eth(&ipv4_udp([10, 1, 0, 9], [10, 2, 0, 1], 5353, 53, b"a query")))).collect();
    let frames = merge(vec![alerting.clone(), quiet, udp]);
    let r = run(dir.path(), &frames, &["output.pcap_log.mode=alerts"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let alerts: Vec<_> = r.events.iter().filter(|e| e["event_type"] == "alert").collect();
    assert_eq!(alerts.len(), 1, "{}", r.stderr);

    let files = log_files(&dir.path().join("logs"));
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].file_name().unwrap().to_string_lossy(), format!("log.pcap.{T0_SECS}"));
    // the alert names the file its flow's packets are in
    assert_eq!(alerts[0]["capture_file"].as_str(), Some(files[0].to_str().unwrap()));
    let got = read_pcap(&files[0]);
    // exactly the alerting flow's frames: the 3 of the handshake, 3 before the marker, the
    // marker, and 3 x 2 after it, in capture order, with their bytes and times
    let want: Vec<(u64, Vec<u8>)> = alerting.iter().map(|(t, b)| (t / 1000, b.clone())).collect();
    assert_eq!(got.len(), 13);
    assert_eq!(got, want);
    assert!(got.iter().all(|(_, f)| ports(f) == (40_001, 80) || ports(f) == (80, 40_001)));
    assert_eq!(summary_count(&r.stderr, "of 13 packet(s)"), 13, "{}", r.stderr);

    // mode off (the default) writes no file and no capture_file
    let dir2 = tempfile::tempdir().unwrap();
    let r = run(dir2.path(), &frames, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!dir2.path().join("logs").exists() || log_files(&dir2.path().join("logs")).is_empty());
    assert!(r.events.iter().all(|e| e.get("capture_file").is_none()));
    assert!(!r.stderr.contains("pcap-log"), "{}", r.stderr);
}

#[test]
fn files_rotate_at_their_size_and_a_users_file_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mine = logs.join(format!("log.pcap.{T0_SECS}"));
    std::fs::write(&mine, b"the user's own file").unwrap();
    // one alerting flow with 60 segments of 300 bytes after the marker
    let flow = tcp_flow(3, 0, true, 0, 30, 300);
    let r = run(dir.path(), &flow, &["output.pcap_log.mode=alerts", "output.pcap_log.limit=4096"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read(&mine).unwrap(), b"the user's own file", "a user's file is never overwritten");
    let files: Vec<PathBuf> = log_files(&logs).into_iter().filter(|p| p != &mine).collect();
    assert!(files.len() >= 3, "{files:?}");
    let mut all = Vec::new();
    for (i, f) in files.iter().enumerate() {
        assert_eq!(f.file_name().unwrap().to_string_lossy(), format!("log.pcap.{T0_SECS}.{}", i + 1));
        let size = std::fs::metadata(f).unwrap().len();
        assert!(size <= 4096, "{} is {size} bytes", f.display());
        all.extend(read_pcap(f));
    }
    let want: Vec<(u64, Vec<u8>)> = flow.iter().map(|(t, b)| (t / 1000, b.clone())).collect();
    assert_eq!(all, want, "every packet once, in order, across the files");
    assert_eq!(summary_count(&r.stderr, "file(s);"), files.len() as u64);
    // the last alert names the file written last
    let alert = r.events.iter().find(|e| e["event_type"] == "alert").unwrap();
    assert!(files.iter().any(|f| alert["capture_file"].as_str() == Some(f.to_str().unwrap())), "{alert}");
}

#[test]
fn caps_hold_and_are_counted_under_a_flood_of_alerting_flows() {
    let dir = tempfile::tempdir().unwrap();
    // 300 alerting flows, each 3 + 2 + 1 + 2 x 4 = 14 frames
    let flows: Vec<_> = (0..300u16).map(|n| tcp_flow(n, n as u64 * 3, true, 2, 4, 200)).collect();
    let frames = merge(flows);
    let r = run(
        dir.path(),
        &frames,
        &[
            "output.pcap_log.mode=alerts",
            "output.pcap_log.limit=65536",
            "output.pcap_log.max_files=3",
            "output.pcap_log.flow_limit=1200",
            "output.pcap_log.ring_memcap=830000",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let files = log_files(&dir.path().join("logs"));
    assert_eq!(files.len(), 3, "max_files holds: {files:?}\n{}", r.stderr);
    let mut written = 0;
    let mut per_flow = std::collections::HashMap::<u16, usize>::new();
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() <= 65536);
        let pkts = read_pcap(f);
        for (_, b) in &pkts {
            let (a, z) = ports(b);
            *per_flow.entry(a.max(z)).or_default() += b.len();
        }
        written += pkts.len() as u64;
    }
    // the per-flow cap: no flow has more than 1200 bytes of frames in the files
    assert!(per_flow.values().all(|&n| n <= 1200), "{per_flow:?}");
    let s = |w: &str| summary_count(&r.stderr, w);
    assert_eq!(s("of "), written, "{}", r.stderr);
    assert_eq!(s("flow(s)"), 300);
    assert!(s("over flow_limit") > 0, "{}", r.stderr);
    assert!(s("over max_files") > 0, "{}", r.stderr);
    assert!(s("without a ring") > 0, "the ring memcap holds: {}", r.stderr);
    // nothing lost silently: what was sent is written or counted
    let sent: u64 = {
        let line = r.stderr.lines().find(|l| l.starts_with("picket: pcap-log:")).unwrap();
        line.split(" of ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(sent, written + s("over max_files"), "{}", r.stderr);
    assert_eq!(s("write errors"), 0);
}

#[test]
fn mode_all_writes_every_packet_and_bad_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let frames = merge(vec![tcp_flow(1, 0, false, 2, 2, 50), tcp_flow(2, 0, false, 1, 1, 50)]);
    let r = run(dir.path(), &frames, &["output.pcap_log.mode=all", "runtime.workers=1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let files = log_files(&dir.path().join("logs"));
    let got: Vec<_> = files.iter().flat_map(|f| read_pcap(f)).collect();
    let want: Vec<(u64, Vec<u8>)> = frames.iter().map(|(t, b)| (t / 1000, b.clone())).collect();
    assert_eq!(got, want);

    let cfg = write_file(dir.path(), "c.toml", b"[output.pcap_log]\nmode = \"alerts\"\nlimit = 100\n");
    let (code, _, stderr) = picket(["config".as_ref(), "check".as_ref(), cfg.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("output.pcap_log.limit: must be at least 4096 bytes"), "{stderr}");
    let cfg = write_file(dir.path(), "d.toml", b"[output.pcap_log]\nmode = \"sometimes\"\n");
    let (code, _, stderr) = picket(["config".as_ref(), "check".as_ref(), cfg.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("mode"), "{stderr}");
}

/// `picket carve` after the fact: from the replay's EVE and the original capture, the packets
/// of the alerting flow only (the same frames pcap-log keeps), or of a flow named by its
/// flow_id; an existing output file is refused and left as it was.
#[test]
fn carve_writes_the_alerting_flows_packets_from_the_original_capture() {
    let dir = tempfile::tempdir().unwrap();
    let alerting = tcp_flow(1, 0, true, 3, 3, 100);
    let quiet = tcp_flow(2, 0, false, 4, 3, 100);
    let frames = merge(vec![alerting.clone(), quiet.clone()]);
    let r = run(dir.path(), &frames, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let eve = dir.path().join("eve.json");
    let cap = dir.path().join("case.pcap");

    let out = dir.path().join("carved.pcap");
    let (code, _, stderr) =
        picket(["carve", "--alerts", eve.to_str().unwrap(), "-o", out.to_str().unwrap(), cap.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let want: Vec<(u64, Vec<u8>)> = alerting.iter().map(|(t, b)| (t / 1000, b.clone())).collect();
    assert_eq!(read_pcap(&out), want, "{stderr}");

    // a flow named by its flow_id (the quiet one, from its flow record)
    let quiet_id = r
        .events
        .iter()
        .find(|e| e["event_type"] == "flow" && e["src_port"] == 40_002)
        .and_then(|e| e["flow_id"].as_u64())
        .expect("the quiet flow's record");
    let out2 = dir.path().join("quiet.pcap");
    let id = quiet_id.to_string();
    let (code, _, stderr) = picket([
        "carve",
        "--alerts",
        eve.to_str().unwrap(),
        "--flow-id",
        id.as_str(),
        "-o",
        out2.to_str().unwrap(),
        cap.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let want: Vec<(u64, Vec<u8>)> = quiet.iter().map(|(t, b)| (t / 1000, b.clone())).collect();
    assert_eq!(read_pcap(&out2), want);

    // never overwrite: the first output is refused and keeps its bytes
    let before = std::fs::read(&out).unwrap();
    let (code, _, stderr) =
        picket(["carve", "--alerts", eve.to_str().unwrap(), "-o", out.to_str().unwrap(), cap.to_str().unwrap()]);
    assert_ne!(code, 0, "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), before);
}
