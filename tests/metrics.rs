//! The Prometheus endpoint of a running sensor: scraped while a replay runs and after it, the
//! counters agree with the final EVE stats event, and promtool accepts the exposition.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

/// Metrics that only `picket run` publishes.
const LIVE_ONLY: &[&str] = &[
    "picket_capture_loss_ratio",
    "picket_detect_reload_last_success",
    "picket_detect_reload_last_success_timestamp_seconds",
    "picket_detect_rules_not_loaded",
];

#[test]
fn scrape_during_and_after_replay_agrees_with_stats_event() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mix = root.join("../shared/corpus/traffic/mix.pcap");
    let pcap = if mix.exists() { mix } else { root.join("captures/demo.pcap") };
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["replay", "-q", "--metrics-listen", "127.0.0.1:0", "--metrics-linger", "20", "--rules"])
        .arg(root.join("rules"))
        .arg("--eve")
        .arg(&eve)
        .arg("--set")
        .arg(format!("output.spool_dir={}", dir.path().join("spool").display()))
        .arg(&pcap)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("picket: metrics on http://")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap()
        .to_string();
    // During: the endpoint answers with well-formed metrics.
    let during = get(&addr, "/metrics");
    assert!(during.starts_with("HTTP/1.1 200 OK"), "{during}");
    // After: /healthz turns 503 "replay finished"; then the totals are final.
    let t0 = Instant::now();
    loop {
        let h = get(&addr, "/healthz");
        if h.starts_with("HTTP/1.1 503") {
            assert!(h.ends_with("replay finished\n"), "{h}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "replay did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let after = get(&addr, "/metrics");
    let body = after.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    let stats_line = std::fs::read_to_string(&eve).unwrap().lines().last().unwrap().to_string();
    let stats: serde_json::Value = serde_json::from_str(&stats_line).unwrap();
    let s = &stats["stats"];
    assert_eq!(metric(&body, "picket_decoder_pkts_total"), s["decoder"]["pkts"].as_u64());
    assert_eq!(metric(&body, "picket_decoder_bytes_total"), s["decoder"]["bytes"].as_u64());
    assert_eq!(metric(&body, "picket_decoder_ipv4_total"), s["decoder"]["ipv4"].as_u64());
    assert_eq!(metric(&body, "picket_flows_total"), s["flow"]["total"].as_u64());
    assert_eq!(metric(&body, "picket_flow_tcp_total"), s["flow"]["tcp"].as_u64());
    assert_eq!(metric(&body, "picket_detect_alert_total"), s["detect"]["alert"].as_u64());
    assert!(metric(&body, "picket_detect_alert_total").unwrap() >= 5);
    // Every metric the shipped Grafana dashboard plots exists (those only the daemon has, per
    // capture interface and about reloads, are checked on a live run: tests/daemon.rs).
    let dash = std::fs::read_to_string(root.join("configs/grafana-dashboard.json")).unwrap();
    let mut names: Vec<&str> = dash
        .match_indices("picket_")
        .map(|(i, _)| {
            let rest = &dash[i..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|n| n.len() > "picket_".len() && *n != "picket_sensor")
        .filter(|n| !LIVE_ONLY.contains(n))
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 15, "{names:?}");
    for n in names {
        assert!(
            body.contains(&format!("\n{n}")) || body.contains(&format!("\n{n}{{")),
            "dashboard uses {n}, not exposed"
        );
    }
    // promtool, when installed (make deps installs Debian's prometheus package), accepts it.
    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut p) => {
            p.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
            let out = p.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "promtool: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(_) => eprintln!("promtool not installed: exposition check skipped"),
    }
    let _ = child.kill();
    let _ = child.wait();
}
