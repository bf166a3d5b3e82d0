//! The local alert queue survives `kill -9`: after every crash, reopening the queue leaves only
//! whole JSON lines, and nothing a reader had already seen is lost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use picket::config::OutputConfig;
use picket::metrics::{Counters, C};
use picket::output::spool::{segments, Reader, Spool};

fn read_all(dir: &std::path::Path) -> Vec<String> {
    let mut r = Reader::new(dir, None);
    let mut out = Vec::new();
    while r.read(&mut out, 1 << 22).unwrap() > 0 {}
    String::from_utf8(out).unwrap().lines().map(|l| l.to_string()).collect()
}

#[test]
fn kill_nine_leaves_whole_lines_and_loses_nothing_seen() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mix = root.join("../shared/corpus/traffic/mix.pcap");
    let pcap = if mix.exists() { mix } else { root.join("captures/demo.pcap") };
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let mut seen: Vec<String> = Vec::new();
    let mut torn_total = 0;
    for round in 0..6u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_picket"))
            .args(["replay", "-q", "--workers", "2", "--rules"])
            .arg(root.join("rules"))
            .arg("--set")
            .arg(format!("output.spool_dir={}", spool.display()))
            .args(["--set", "output.spool_fsync_interval_ms=0", "--set", "output.spool_segment_bytes=262144"])
            .arg(&pcap)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(40 + round * 30));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // What a reader sees right after the crash: whole lines only, each valid JSON.
        let before = read_all(&spool);
        for l in &before {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("round {round}: bad line {l:?}: {e}"));
        }
        // Nothing seen in an earlier round is lost.
        assert!(before.len() >= seen.len(), "round {round}: {} lines, {} seen before", before.len(), seen.len());
        assert_eq!(&before[..seen.len()], &seen[..], "round {round}: earlier lines changed");
        // Reopening (as the next start does) cuts a torn last line and keeps the rest.
        let cfg = OutputConfig { spool_dir: spool.display().to_string(), ..OutputConfig::default() };
        let mut c = Counters::new();
        drop(Spool::open(&cfg, &mut c).unwrap());
        torn_total += c.get(C::SpoolTornBytes);
        let after = read_all(&spool);
        assert_eq!(after, before, "round {round}: reopening changed whole lines");
        for s in segments(&spool) {
            let text = std::fs::read(spool.join(format!("segment-{s:020}.json"))).unwrap();
            assert!(text.is_empty() || text.ends_with(b"\n"), "round {round}: segment {s} ends mid-line after reopen");
        }
        seen = after;
    }
    assert!(!seen.is_empty(), "nothing was written before the kills: the test proves nothing");
    eprintln!("{} lines survived 6 kills; {} torn bytes cut", seen.len(), torn_total);
}
