//! A folder of captures as a case: recursive stable order, compressed captures read by their
//! magic number, `capture.bpf_filter` in replay, and the exit status of damaged files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const RULES: &str = "\
alert tcp any any -> any any (msg:\"case marker\"; content:\"case-marker\"; sid:9001; rev:1;)
alert udp any any -> any 53 (msg:\"case dns\"; content:\"query\"; sid:9002; rev:1;)
";

/// One small capture: a TCP handshake and a data segment with the marker, and a UDP query,
/// from a client address that depends on `n`.
fn capture(n: u8) -> Vec<u8> {
    let c = [10, 9, n, 1];
    let s = [10, 9, 200, 2];
    let sp = 40_000 + n as u16;
    let base = n as u64 * 1000;
    let frames = vec![
        (t_ms(base), eth(&ipv4_tcp(c, s, sp, 80, 100, 0, tcpf::SYN, b""))),
        (t_ms(base + 1), eth(&ipv4_tcp(s, c, 80, sp, 500, 101, tcpf::SYN | tcpf::ACK, b""))),
        (t_ms(base + 2), eth(&ipv4_tcp(c, s, sp, 80, 101, 501, tcpf::ACK, b""))),
        (t_ms(base + 3), eth(&ipv4_tcp(c, s, sp, 80, 101, 501, tcpf::ACK | tcpf::PSH, b"GET / case-marker"))),
        (t_ms(base + 4), eth(&ipv4_udp(c, s, sp, 53, b"a query"))),
    ];
    pcap_le_usec(LT_ETHERNET, &frames)
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn zstd(b: &[u8]) -> Vec<u8> {
    zstd::encode_all(b, 3).unwrap()
}

/// Relative paths of the 20 captures, in 3 levels (names chosen so that name order differs
/// from creation order).
fn layout() -> Vec<String> {
    (0..20u8)
        .map(|i| match i % 3 {
            0 => format!("site-{}.pcap", 19 - i),
            1 => format!("a/s{}.pcap", 19 - i),
            _ => format!("a/b/deep{:02}.pcap", 19 - i),
        })
        .collect()
}

/// Writes the case: plain, or half of it compressed (gzip and zstd by turns, and the suffix
/// kept `.pcap` for some so that the magic number, not the name, decides).
fn write_case(root: &Path, compress: bool) {
    for (i, rel) in layout().iter().enumerate() {
        let data = capture(i as u8 + 1);
        let (name, bytes) = match (compress, i % 4) {
            (true, 0) => (format!("{rel}.gz"), gzip(&data)),
            (true, 1) => (format!("{rel}.zst"), zstd(&data)),
            (true, 2) if i % 8 == 2 => (rel.clone(), gzip(&data)),
            _ => (rel.clone(), data),
        };
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// (sid, src_ip, src_port, pcap_cnt) of every alert, sorted.
fn alerts(events: &[Value]) -> Vec<(u64, String, u64, u64)> {
    let mut v: Vec<_> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| {
            (
                e["alert"]["signature_id"].as_u64().unwrap(),
                e["src_ip"].as_str().unwrap().to_string(),
                e["src_port"].as_u64().unwrap(),
                e["pcap_cnt"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

fn rules_file(dir: &Path) -> PathBuf {
    write_file(dir, "case.rules", RULES.as_bytes())
}

#[test]
fn a_compressed_case_folder_gives_the_alerts_of_the_plain_one() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, packed) = (dir.path().join("plain"), dir.path().join("packed"));
    write_case(&plain, false);
    write_case(&packed, true);
    let rules = rules_file(dir.path());
    let args = ["--rules", rules.to_str().unwrap(), "--workers", "2", "--set", "capture.checksum_validation=none"];
    let a = replay_files(dir.path(), &[&plain], &args);
    a.assert_clean();
    let b = replay_files(dir.path(), &[&packed], &args);
    b.assert_clean();
    let (aa, ba) = (alerts(&a.events), alerts(&b.events));
    assert_eq!(aa.len(), 40, "one TCP and one UDP alert per capture: {aa:?}");
    assert_eq!(aa, ba, "the compressed case must give the same alerts, at the same packet numbers");
    // Stable order: the file read first (name order, depth first) is a/b/deep02.pcap.zst, the
    // capture of client 18; its UDP query is packet 5 of the case.
    assert!(aa.contains(&(9002, "10.9.18.1".into(), 40_018, 5)), "{aa:?}");
}

#[test]
fn bpf_filter_applies_in_replay() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    write_case(&case, true);
    let rules = rules_file(dir.path());
    let r = replay_files(
        dir.path(),
        &[&case],
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--set",
            "capture.bpf_filter=tcp",
            "--set",
            "capture.checksum_validation=none",
        ],
    );
    r.assert_clean();
    // 100 frames, the 20 UDP ones left out before the decoder.
    r.assert_counters(&[("decoder.udp", 0), ("decoder.tcp", 80), ("decoder.pkts", 80)]);
    let a = alerts(&r.events);
    assert!(a.iter().all(|x| x.0 == 9001) && a.len() == 20, "{a:?}");

    let bad = replay_files(dir.path(), &[&case], &["--set", "capture.bpf_filter=tcp and and"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    // Refused by the configuration check before any file is opened.
    assert!(bad.stderr.contains("capture.bpf_filter: `tcp and and` does not compile"), "{}", bad.stderr);
}

#[test]
fn a_damaged_first_record_is_a_damaged_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_file(dir.path(), "good.pcap", &capture(1));
    let mut b = capture(2);
    // First record's captured length: 0x7fffffff.
    b[24 + 8..24 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let bad = write_file(dir.path(), "bad.pcap", &b);
    let r = replay_files(dir.path(), &[&good, &bad], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("picket: warning: {}: at byte 24: record claims 2147483647", bad.display())),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("1 capture file(s) unreadable or damaged"), "{}", r.stderr);
    r.assert_counters(&[("decoder.pkts", 5)]);
}

#[test]
fn a_truncated_compressed_capture_keeps_what_it_held_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    // Enough records that the cut falls after some of them.
    let frames: Vec<(u64, Vec<u8>)> = (0..3000u32)
        .map(|i| {
            let payload: Vec<u8> = (0..200u32).map(|j| (i.wrapping_mul(31).wrapping_add(j * 7) % 251) as u8).collect();
            (t_ms(i as u64), eth(&ipv4_udp([10, 1, 0, 1], [10, 1, 0, 2], 5000, 6000, &payload)))
        })
        .collect();
    for (name, packed) in [
        ("cut.pcap.gz", gzip(&pcap_le_usec(LT_ETHERNET, &frames))),
        ("cut.pcap.zst", zstd(&pcap_le_usec(LT_ETHERNET, &frames))),
    ] {
        let p = write_file(dir.path(), name, &packed[..packed.len() / 2]);
        let r = replay_files(dir.path(), &[&p], &[]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        let kind = if name.ends_with(".gz") { "gzip" } else { "zstd" };
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains("stream corrupt or truncated"))
            .unwrap_or_else(|| panic!("{}", r.stderr));
        assert!(line.starts_with(&format!("picket: warning: {}: at byte ", p.display())), "{line}");
        assert!(line.contains(&format!("{kind} stream corrupt or truncated after ")), "{line}");
        let pkts = r.counter("decoder.pkts");
        assert!(pkts > 100 && pkts < 3000, "{name}: the records before the cut are read: {pkts}");
    }
}

#[test]
fn verbose_prints_one_line_per_file_and_nothing_else_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    write_case(&case, true);
    let eve = dir.path().join("v.json");
    let (code, out, err) = picket(["replay", "-v", "--eve", eve.to_str().unwrap(), case.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "{out}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("picket: file ")).collect();
    assert_eq!(lines.len(), 20, "{err}");
    assert!(lines[0].starts_with("picket: file 1/20: ") && lines[0].contains("deep02.pcap"), "{}", lines[0]);
    assert!(lines.iter().any(|l| l.contains(".gz (gzip): 5 packets")), "{err}");
    // Not a terminal: no progress display, only the per-file lines and the summary.
    assert_eq!(err.lines().count(), 21, "{err}");
    assert!(!err.contains('\r') && !err.contains("ETA"), "{err}");
}

/// `output.eve.pcap_file`: every record names the capture file of the packet that completed
/// it, the same with 1 and 2 workers; without it no record has the field.
#[test]
fn pcap_filename_names_each_records_capture_file() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    write_case(&case, true);
    let rules = rules_file(dir.path());
    let run = |workers: &str, on: bool| {
        let mut args = vec!["--rules", rules.to_str().unwrap(), "--workers", workers];
        args.extend(["--set", "capture.checksum_validation=none"]);
        if on {
            args.extend(["--set", "output.eve.pcap_file=true"]);
        }
        let r = replay_files(dir.path(), &[&case], &args);
        r.assert_clean();
        r.events
    };
    // The file of client n (see `capture`): layout()[n - 1], perhaps with a compression suffix.
    let file_of = |client: &str| -> String {
        let n: usize = client.split('.').nth(2).unwrap().parse().unwrap();
        layout()[n - 1].clone()
    };
    let one = run("1", true);
    let mut named = Vec::new();
    for e in &one {
        let f = e["pcap_filename"].as_str().unwrap_or_else(|| panic!("no pcap_filename: {e}"));
        let rel = f.strip_prefix(case.to_str().unwrap()).unwrap().trim_start_matches('/');
        assert!(std::fs::metadata(f).is_ok(), "{f} is no file of the case");
        // The UDP alert comes with its packet; the TCP one when the stream is inspected, which
        // may be at a later packet (of a later file) or at the end.
        if e["event_type"] == "alert" && e["alert"]["signature_id"] == 9002 {
            let want = file_of(e["src_ip"].as_str().unwrap());
            assert!(
                rel == want || rel.starts_with(&format!("{want}.")),
                "alert of {} names {rel}, not {want}",
                e["src_ip"]
            );
        }
        named.push((e["event_type"].as_str().unwrap().to_string(), rel.to_string()));
    }
    assert_eq!(named.iter().filter(|(t, _)| t == "alert").count(), 40);
    // Records written at the end of the input (the flows, stats) name the last file read:
    // a/s19.pcap.zst sorts last in name order, depth first ("site-*" sorts after "a/").
    let last = named.iter().find(|(t, _)| t == "stats").unwrap().1.clone();
    assert!(last.starts_with("site-"), "{last}");
    let mut two: Vec<_> = run("2", true)
        .iter()
        .map(|e| (e["event_type"].as_str().unwrap().to_string(), e["pcap_filename"].as_str().unwrap().to_string()))
        .map(|(t, f)| (t, f.strip_prefix(case.to_str().unwrap()).unwrap().trim_start_matches('/').to_string()))
        .collect();
    named.sort();
    two.sort();
    assert_eq!(named, two, "2 workers name the same files");
    assert!(run("2", false).iter().all(|e| e.get("pcap_filename").is_none()), "off by default");
}

/// `--watch`: captures already in the folder, then captures dropped in later (renamed in from
/// a dot name, or written slowly in place), give the alerts of one replay of them all; SIGTERM
/// ends the watch like the end of the input; `--delete-done` removes what was read in full and
/// keeps a damaged capture.
#[test]
fn watch_reads_captures_as_they_arrive_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (drop_box, all) = (dir.path().join("drop"), dir.path().join("all"));
    std::fs::create_dir_all(&drop_box).unwrap();
    std::fs::create_dir_all(&all).unwrap();
    let rules = rules_file(dir.path());
    for n in 1..=3u8 {
        write_file(&all, &format!("c{n}.pcap"), &capture(n));
    }
    write_file(&drop_box, "c1.pcap", &capture(1));
    let eve = dir.path().join("eve.json");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["replay", "--watch", "--watch-poll", "0.1", "--delete-done", "--workers", "2", "-v"])
        .args(["--set", "capture.checksum_validation=none", "--rules"])
        .arg(&rules)
        .arg("--eve")
        .arg(&eve)
        .arg(&drop_box)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A failed assertion must not leave the watch running.
    struct KillOnDrop(Option<std::process::Child>);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            if let Some(c) = self.0.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
    let mut child = KillOnDrop(Some(child));
    // The watch's stderr, read as it comes: the test waits for its per-file lines.
    let stderr_text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let pipe = child.0.as_mut().unwrap().stderr.take().unwrap();
        let text = std::sync::Arc::clone(&stderr_text);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut t = text.lock().unwrap();
                t.push_str(&line);
                t.push('\n');
            }
        })
    };
    let stderr_now = || stderr_text.lock().unwrap().clone();
    let wait_for = |what: &str, cond: &dyn Fn() -> bool| {
        let t0 = std::time::Instant::now();
        while !cond() {
            assert!(t0.elapsed() < std::time::Duration::from_secs(30), "timed out waiting for {what}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let alerts_written = || read_eve(&eve).iter().filter(|e| e["event_type"] == "alert").count();
    wait_for("the first capture", &|| !drop_box.join("c1.pcap").exists());
    // Renamed in from a dot name: taken whole.
    write_file(&drop_box, ".c2.pcap", &capture(2));
    std::fs::rename(drop_box.join(".c2.pcap"), drop_box.join("c2.pcap")).unwrap();
    wait_for("the second capture", &|| !drop_box.join("c2.pcap").exists());
    // Written in two halves, a few polls apart, in place: read only once whole.
    let c3 = capture(3);
    let half = c3.len() / 2;
    std::fs::write(drop_box.join("c3.pcap"), &c3[..half]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(50));
    let mut f = std::fs::OpenOptions::new().append(true).open(drop_box.join("c3.pcap")).unwrap();
    f.write_all(&c3[half..]).unwrap();
    drop(f);
    wait_for("the third capture", &|| !drop_box.join("c3.pcap").exists());
    // A damaged capture is read as far as it goes and kept.
    let mut bad = capture(4);
    bad[24 + 8..24 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    write_file(&drop_box, "d4.pcap", &bad);
    // The UDP alerts come with their packets; the TCP ones when their flows end.
    wait_for("the UDP alert of the third capture", &|| alerts_written() >= 3);
    // The damaged capture settles and is read within a few polls.
    wait_for("the damaged capture's -v line", &|| {
        stderr_now().lines().any(|l| l.contains("d4.pcap") && l.contains("DAMAGED"))
    });
    let mut child = child.0.take().unwrap();
    let killed = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let stderr = stderr_now();
    assert_eq!(status.code(), Some(2), "a damaged capture was read: {stderr}");
    assert!(stderr.contains("d4.pcap: damaged: kept"), "{stderr}");
    assert!(drop_box.join("d4.pcap").exists());
    assert!(stderr.contains("picket: 4 file(s) read (1 with errors, 1 damaged)"), "{stderr}");
    let watched = read_eve(&eve);
    let once = replay_files(
        dir.path(),
        &[&all],
        &["--rules", rules.to_str().unwrap(), "--set", "capture.checksum_validation=none"],
    );
    once.assert_clean();
    assert_eq!(alerts(&watched), alerts(&once.events), "the watch gives the alerts of one replay of the same captures");
    assert_eq!(alerts(&watched).len(), 6);
    assert_eq!(watched.iter().filter(|e| e["event_type"] == "stats").count(), 1, "SIGTERM ends like the input's end");
}
