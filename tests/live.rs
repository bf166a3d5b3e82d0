//! `picket run` on real sockets: each test makes its own network namespace with a veth pair
//! (removed on drop), runs the daemon on one end and sends captures into the other with
//! tcpreplay, then checks the EVE output against `picket replay` of the same capture, the
//! per-worker distribution, /metrics, rule reloads (SIGUSR2), SIGTERM flushing, the privilege drop,
//! link loss, the BPF filter, VLAN tags and the pnet method.
//!
//! Needs root, `ip netns` and tcpreplay (`make deps` installs it); where they are missing each
//! test says so on stderr and passes without running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;
use crate::need_netns;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::netns::*;

/// Alerts of demo.pcap written while its flows are still open (the fifth comes at flow end).
const LIVE_ALERTS: usize = 4;

#[test]
fn afpacket_alerts_and_flows_equal_replay_with_flows_on_one_worker() {
    need_netns!("afpacket_alerts_and_flows_equal_replay_with_flows_on_one_worker");
    let dir = tempdir();
    let rules = root().join("rules");
    let want = replay_events(&demo(), &rules, dir.path());
    assert_eq!(of_type(&want, "alert").len(), 5);
    let ns = Netns::new("eq");
    let d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2"]);
    ns.send(&demo());
    // four alerts come from packets; the fifth (file.data of the HTTP response) when its flow
    // ends, as in Suricata (no server packet follows the complete response), i.e. at stop
    d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    let m = d.wait_metrics(&ns, "the 21 packets counted", |m| {
        metric_sum(m, "picket_capture_packets_total") == 21
            && m.lines().filter(|l| l.starts_with("picket_worker_packets_total{")).count() == 2
    });
    assert!(m.contains("picket_capture_kernel_packets_total"), "{m}");
    assert_eq!(metric_sum(&m, "picket_capture_kernel_drops_total"), 0, "{m}");
    assert_eq!(metric_sum(&m, "picket_detect_alert_total"), LIVE_ALERTS as u64, "{m}");
    assert_eq!(metric_sum(&m, "picket_capture_packets_total"), 21, "{m}");
    // both workers got work (five flows over two sockets), every packet was counted once
    let per_worker: Vec<u64> = m
        .lines()
        .filter(|l| l.starts_with("picket_worker_packets_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert_eq!(per_worker.len(), 2, "{m}");
    assert_eq!(per_worker.iter().sum::<u64>(), 21, "{m}");
    let got = d.stop();
    assert_eq!(alert_keys(&got), alert_keys(&want));
    // The same flows with the same per-direction counts: both directions of every flow met
    // one worker (a split flow would show up as two one-sided flow events).
    assert_eq!(flow_keys(&got), flow_keys(&want));
}

#[test]
fn pnet_method_gives_the_same_alerts_and_flows() {
    need_netns!("pnet_method_gives_the_same_alerts_and_flows");
    let dir = tempdir();
    let rules = root().join("rules");
    let want = replay_events(&demo(), &rules, dir.path());
    let ns = Netns::new("pn");
    let d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2", "capture.method=pnet"]);
    assert!(d.log_text().contains("with pnet"));
    ns.send(&demo());
    // four alerts come from packets; the fifth (file.data of the HTTP response) when its flow
    // ends, as in Suricata (no server packet follows the complete response), i.e. at stop
    d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(d.metric(&ns, "picket_capture_kernel_drops_total"), 0);
    let got = d.stop();
    assert_eq!(alert_keys(&got), alert_keys(&want));
    assert_eq!(flow_keys(&got), flow_keys(&want));
}

#[test]
fn sigterm_writes_the_alerts_of_the_last_packets() {
    need_netns!("sigterm_writes_the_alerts_of_the_last_packets");
    let dir = tempdir();
    let rules = root().join("rules");
    let ns = Netns::new("tm");
    let d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2"]);
    ns.send(&demo());
    // no waiting: the packets are in the rings (or being inspected) when the signal lands
    let got = d.stop();
    assert_eq!(of_type(&got, "alert").len(), 5);
    assert_eq!(of_type(&got, "stats").len(), 1);
}

#[test]
fn sigusr2_reload_new_rules_fire_on_later_packets_without_drops() {
    need_netns!("sigusr2_reload_new_rules_fire_on_later_packets_without_drops");
    let dir = tempdir();
    let rules = dir.path().join("live.rules");
    let starter = std::fs::read_to_string(root().join("rules/picket-starter.rules")).unwrap();
    // Start with the ICMP rule only.
    let icmp: String = starter.lines().filter(|l| l.contains("sid:9000003")).collect::<Vec<_>>().join("\n");
    std::fs::write(&rules, format!("{icmp}\n")).unwrap();
    let ns = Netns::new("hu");
    let mut d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2"]);
    ns.send(&demo());
    let a = d.wait_alerts(1, Duration::from_secs(10));
    assert_eq!(a.len(), 1);
    // Traffic keeps flowing while the rules change and the engine is swapped.
    let demo_s = demo().display().to_string();
    let mut bg = Command::new("ip")
        .args(["netns", "exec", &ns.name, "tcpreplay", "-q", "--pps", "2000", "--loop", "60", "-i", &ns.b, &demo_s])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(&rules, format!("{starter}\nalert icmp any any -> any any (msg:\"LIVE RELOADED ICMP\"; itype:8; content:\"picket\"; sid:9100001; rev:1;)\n")).unwrap();
    d.signal("USR2");
    d.wait_log("rules reloaded", Duration::from_secs(10));
    let _ = bg.wait();
    // The last pass on new flows (the client ports moved): transactions of the flows seen
    // before the reload were freed once logged, since no rule looked at them then, as
    // Suricata frees them; the same 5-tuples again would be the same closed sessions.
    let fresh = dir.path().join("demo-new-ports.pcap");
    assert!(sh(&[
        "tcprewrite",
        "--portmap=49152:49153,53000:53001,50000:50001",
        "--fixcsum",
        "--infile",
        &demo_s,
        "--outfile",
        &fresh.display().to_string(),
    ]));
    let before = d.metric(&ns, "picket_capture_packets_total");
    ns.send(&fresh);
    let m = d.wait_metrics(&ns, "the fresh flows' 21 packets", |m| {
        metric_sum(m, "picket_capture_packets_total") >= before + 21
    });
    assert_eq!(metric_sum(&m, "picket_detect_reloads_total"), 1, "{m}");
    assert_eq!(metric_sum(&m, "picket_detect_rules_loaded"), 6, "{m}");
    assert_eq!(metric_sum(&m, "picket_capture_kernel_drops_total"), 0, "{m}");
    assert!(metric_sum(&m, "picket_detect_reload_peak_rss_bytes") > 0, "{m}");
    let log = d.log_text();
    assert!(log.contains("previous engine freed"), "{log}");
    let got = d.stop();
    let alerts = of_type(&got, "alert");
    let count = |sid: u64| alerts.iter().filter(|a| a["alert"]["signature_id"] == sid).count();
    // The new rule fired, and the last full pass (new flows) gave every starter alert.
    assert!(count(9100001) >= 1, "no alert of the new rule");
    for sid in [9000001u64, 9000002, 9000004, 9000005] {
        assert!(count(sid) >= 1, "no alert of {sid} after the reload");
    }
    // The old engine's ICMP rule kept firing until the swap, then the new one took over.
    assert!(count(9000003) >= 2);
}

#[test]
fn privileges_are_dropped_after_the_sockets_are_open() {
    need_netns!("privileges_are_dropped_after_the_sockets_are_open");
    let dir = tempdir();
    let rules = root().join("rules");
    let ns = Netns::new("pv");
    let pidfile = dir.path().join("picket.pid");
    let d = Daemon::start(
        &ns,
        dir.path(),
        &rules,
        &["runtime.workers=2", "daemon.user=nobody", &format!("daemon.pidfile={}", pidfile.display())],
    );
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap().trim(), d.pid().to_string());
    // Every thread: no capability at all, the unprivileged user, no way back.
    let tasks: Vec<PathBuf> =
        std::fs::read_dir(format!("/proc/{}/task", d.pid())).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(tasks.len() >= 4, "output, metrics and two workers");
    for t in tasks {
        let st = std::fs::read_to_string(t.join("status")).unwrap();
        let field = |k: &str| {
            st.lines().find(|l| l.starts_with(k)).unwrap_or("").split_whitespace().nth(1).unwrap_or("").to_string()
        };
        assert_eq!(field("CapEff:"), "0000000000000000", "{st}");
        assert_eq!(field("CapPrm:"), "0000000000000000", "{st}");
        assert_eq!(field("CapAmb:"), "0000000000000000", "{st}");
        assert_eq!(field("NoNewPrivs:"), "1", "{st}");
        assert_eq!(field("Uid:"), "65534", "{st}");
    }
    // ... and capture still works.
    ns.send(&demo());
    // four alerts come from packets; the fifth (file.data of the HTTP response) when its flow
    // ends, as in Suricata (no server packet follows the complete response), i.e. at stop
    d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    let got = d.stop();
    assert_eq!(of_type(&got, "alert").len(), 5);
}

#[test]
fn link_loss_is_logged_counted_and_capture_recovers() {
    need_netns!("link_loss_is_logged_counted_and_capture_recovers");
    let dir = tempdir();
    let rules = root().join("rules");
    let ns = Netns::new("lk");
    let mut d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2"]);
    assert!(ns.http_get(d.port, "/healthz").starts_with("HTTP/1.1 200"));
    assert!(ns.exec(&["ip", "link", "set", &ns.a, "down"]));
    d.wait_log("link down", Duration::from_secs(5));
    assert!(ns.http_get(d.port, "/healthz").contains("503"));
    assert!(ns.exec(&["ip", "link", "set", &ns.a, "up"]));
    d.wait_log("link up", Duration::from_secs(5));
    d.wait_http(&ns, "/healthz", "HTTP/1.1 200");
    assert_eq!(d.metric(&ns, "picket_capture_link_down_total"), 1);
    ns.send(&demo());
    let a = d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    assert_eq!(a.len(), LIVE_ALERTS, "capture did not recover after the link came back");
    d.stop();
}

#[test]
fn bpf_filter_runs_in_the_kernel() {
    need_netns!("bpf_filter_runs_in_the_kernel");
    let dir = tempdir();
    let rules = root().join("rules");
    let ns = Netns::new("bf");
    let d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2", "capture.bpf_filter=not icmp"]);
    ns.send(&demo());
    d.wait_alerts(4, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let got = d.stop();
    let alerts = of_type(&got, "alert");
    assert_eq!(alerts.len(), 4);
    assert!(alerts.iter().all(|a| a["proto"] != "ICMP"));
}

#[test]
fn vlan_tags_stripped_by_the_kernel_are_restored() {
    need_netns!("vlan_tags_stripped_by_the_kernel_are_restored");
    let dir = tempdir();
    let rules = root().join("rules");
    let tagged = dir.path().join("vlan.pcap");
    vlan_pcap(&demo(), &tagged, 100);
    let want = replay_events(&tagged, &rules, dir.path());
    assert_eq!(of_type(&want, "alert").len(), 5);
    // demo.pcap has a tagged flow already (VLAN 42): it becomes QinQ 100/42
    assert!(of_type(&want, "flow").iter().all(|f| f["vlan"][0] == 100));
    let ns = Netns::new("vl");
    let d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2"]);
    ns.send(&tagged);
    // four alerts come from packets; the fifth (file.data of the HTTP response) when its flow
    // ends, as in Suricata (no server packet follows the complete response), i.e. at stop
    d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    let got = d.stop();
    assert_eq!(alert_keys(&got), alert_keys(&want));
    assert_eq!(flow_keys(&got), flow_keys(&want));
    assert!(of_type(&got, "flow").iter().all(|f| f["vlan"][0] == 100), "VLAN tag lost");
    assert!(of_type(&got, "flow").iter().any(|f| f["vlan"] == serde_json::json!([100, 42])), "inner tag lost");
}

#[test]
fn bad_filter_and_missing_interface_fail_with_one_clear_line() {
    let out = Command::new(BIN)
        .args(["run", "--interface", "picket-no-such-if0", "--set", "metrics.listen="])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("picket-no-such-if0: no such interface"), "{err}");
    let out = Command::new(BIN)
        .args(["run", "--interface", "lo", "--set", "capture.bpf_filter=tcp port eighty", "--set", "metrics.listen="])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("capture.bpf_filter"), "{err}");
    let out = Command::new(BIN).args(["run", "--set", "metrics.listen="]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("no interface"));
}

/// The frames of every classic pcap file in `dir` whose name starts with `prefix`.
fn pcap_log_frames(dir: &std::path::Path, prefix: &str) -> (Vec<PathBuf>, Vec<Vec<u8>>) {
    use pcap_parser::traits::PcapReaderIterator;
    use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    files.sort();
    let mut frames = Vec::new();
    for f in &files {
        let mut r = LegacyPcapReader::new(1 << 16, std::fs::File::open(f).unwrap()).unwrap();
        loop {
            match r.next() {
                Ok((off, block)) => {
                    if let PcapBlockOwned::Legacy(b) = block {
                        frames.push(b.data.to_vec());
                    }
                    r.consume(off);
                }
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => r.refill().unwrap(),
                Err(e) => panic!("{}: {e:?}", f.display()),
            }
        }
    }
    (files, frames)
}

/// `[output.pcap_log]` in the daemon as in replay: the alerting flows' packets (their history
/// before the alert and what follows) reach rotating pcap files in `output.log_dir`, the same
/// packets as `picket replay` writes for the same capture, and every alert names its file.
#[test]
fn pcap_log_in_the_daemon_writes_the_alerting_flows_as_replay_does() {
    need_netns!("pcap_log_in_the_daemon_writes_the_alerting_flows_as_replay_does");
    let dir = tempdir();
    let rules = root().join("rules");
    let sets = |sub: &str| {
        [
            "output.pcap_log.mode=alerts".to_string(),
            format!("output.log_dir={}", dir.path().join(sub).display()),
            "output.pcap_log.filename=evidence.pcap".to_string(),
        ]
    };
    // What replay writes.
    let eve = dir.path().join("replay.json");
    let mut cmd = Command::new(BIN);
    cmd.args(["replay", "-q", "--rules"]).arg(&rules).arg("--eve").arg(&eve);
    for s in sets("replay") {
        cmd.args(["--set", &s]);
    }
    let o = cmd.arg(demo()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, mut want) = pcap_log_frames(&dir.path().join("replay"), "evidence.pcap");
    assert!(!want.is_empty());
    // The daemon on the same packets.
    let ns = Netns::new("pl");
    let live_sets = sets("live");
    let mut extra: Vec<&str> = live_sets.iter().map(String::as_str).collect();
    extra.push("runtime.workers=2");
    let d = Daemon::start(&ns, dir.path(), &rules, &extra);
    assert!(d.log_text().contains("pcap-log (alerts) to "), "{}", d.log_text());
    ns.send(&demo());
    d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    // Written within the output thread's flush (half a second), while the daemon runs.
    let live_dir = dir.path().join("live");
    let t = std::time::Instant::now();
    while pcap_log_frames(&live_dir, "evidence.pcap").1.is_empty() {
        assert!(t.elapsed() < Duration::from_secs(30), "nothing in {} while running", live_dir.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Counted in /metrics as they are written.
    let t = std::time::Instant::now();
    while d.metric(&ns, "picket_output_pcap_log_packets_written_total") == 0 {
        assert!(t.elapsed() < Duration::from_secs(30), "{}", ns.http_get(d.port, "/metrics"));
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = d.stop();
    let (files, mut frames) = pcap_log_frames(&live_dir, "evidence.pcap");
    want.sort();
    frames.sort();
    assert_eq!(frames.len(), want.len(), "live wrote {} packets, replay {}", frames.len(), want.len());
    assert!(frames == want, "the live pcap-log holds other packets than replay's");
    let alerts = of_type(&got, "alert");
    assert_eq!(alerts.len(), 5);
    for a in &alerts {
        let f = a["capture_file"].as_str().unwrap_or_else(|| panic!("no capture_file: {a}"));
        assert!(files.iter().any(|p| p.to_str() == Some(f)), "{f} is not one of {files:?}");
    }
}
