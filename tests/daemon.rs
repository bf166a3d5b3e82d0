//! The daemon a responder can leave running (issue 18), on real processes, sockets and files:
//! each test makes its own network namespace with a veth pair, runs `picket run` in it and
//! sends captures with tcpreplay.
//!
//! - EVE survives a restart (appended) and log rotation (mv + SIGHUP: nothing lost or doubled);
//! - the systemd unit's conditions: root-owned state, log, cache and runtime folders, a drop to
//!   `nobody`, sd_notify readiness and watchdog, a stale pidfile replaced and removed at exit;
//! - the control socket: reload-rules, reopen-log-files, dump-counters, iface-stat,
//!   ruleset-stats, ruleset-failed-rules, shutdown; rules not loaded named in the log;
//! - `dataset-add` on the control socket: the next DNS query for the new name alerts, no reload;
//! - metrics true during live traffic, checked by promtool, with every dashboard metric;
//! - kernel drops induced with a tiny ring (the daemon stopped while a sender fills it) show in
//!   the log, EVE `stats.capture` and /healthz;
//! - EVE to a unix stream socket; loud warnings without rules or output.
//!
//! Needs root, `ip netns` and tcpreplay (`make deps`); where they are missing each test says so
//! on stderr and passes without running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;
use crate::need_netns;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::netns::*;

/// Alerts of demo.pcap written while its flows are still open (the fifth comes at flow end).
const LIVE_ALERTS: usize = 4;

fn s(x: impl AsRef<std::ffi::OsStr>) -> String {
    x.as_ref().to_string_lossy().into_owned()
}

fn set(k: &str, v: impl std::fmt::Display) -> [String; 2] {
    ["--set".into(), format!("{k}={v}")]
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p).unwrap_or_default().lines().map(str::to_string).collect()
}

/// The number in the last "N events written" of the daemon's log (its exit summary).
fn events_written(log: &str) -> usize {
    let l = log.lines().rev().find(|l| l.contains(" events written")).expect("exit summary in the log");
    let before = &l[..l.find(" events written").unwrap()];
    before.rsplit([' ', ',']).next().unwrap().parse().unwrap()
}

fn wait_until(what: &str, max: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < max, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn restart_keeps_eve_and_rotation_moves_new_events_without_loss() {
    need_netns!("restart_keeps_eve_and_rotation_moves_new_events_without_loss");
    let dir = tempdir();
    let rules = root().join("rules");
    // No --eve: the default [output.eve] file under output.log_dir, which picket run creates.
    let logs = dir.path().join("picket-logs");
    let eve = logs.join("eve.json");
    let mut args: Vec<String> = vec!["--rules".into(), s(&rules)];
    args.extend(set("output.log_dir", logs.display()));
    args.extend(set("runtime.workers", 2));
    let ns = Netns::new("rs");

    let d = Daemon::spawn(&ns, dir.path(), &args, eve.clone(), &[]);
    assert!(d.log_text().contains(&format!("EVE to {}", eve.display())), "{}", d.log_text());
    ns.send(&demo());
    d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    let run1 = d.stop();
    let lines1 = lines(&eve);
    assert_eq!(lines1.len(), run1.len());
    assert_eq!(of_type(&run1, "alert").len(), 5);

    // A restart appends: every earlier line is kept.
    let d = Daemon::spawn(&ns, dir.path(), &args, eve.clone(), &[]);
    assert_eq!(lines(&eve)[..lines1.len()], lines1[..], "the restart changed earlier lines");
    ns.send(&demo());
    let tagged = dir.path().join("vlan.pcap");
    vlan_pcap(&demo(), &tagged, 7);
    wait_until("the second run's alerts", Duration::from_secs(10), || {
        of_type(&events(&eve), "alert").len() >= 5 + LIVE_ALERTS
    });
    // logrotate: move the file, then SIGHUP; new events go to a new eve.json.
    let moved = logs.join("eve.json.1");
    std::fs::rename(&eve, &moved).unwrap();
    let mut d = d;
    d.signal("HUP");
    d.wait_log("SIGHUP: reopened the log files", Duration::from_secs(10));
    ns.send(&tagged);
    wait_until("alerts in the new file", Duration::from_secs(10), || {
        of_type(&events(&eve), "alert").len() >= LIVE_ALERTS
    });
    let log_path = d.log.clone();
    d.stop();
    let old = lines(&moved);
    let new = lines(&eve);
    assert_eq!(old[..lines1.len()], lines1[..]);
    let run2: Vec<&String> = old[lines1.len()..].iter().chain(new.iter()).collect();
    // Every event the second run wrote is in one of the two files, once.
    let written = events_written(&std::fs::read_to_string(log_path).unwrap());
    assert_eq!(run2.len(), written, "events across eve.json.1 and eve.json vs the exit summary");
    let mut uniq = run2.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), run2.len(), "an event was written twice");
    assert!(new.last().unwrap().contains("\"event_type\":\"stats\""), "the final stats go to the new file");
    assert!(old[lines1.len()..].iter().all(|l| !l.contains("\"vlan\":[7")), "tagged traffic came after the rotation");
}

/// Pid of a process that has exited (for a stale pidfile).
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn unit_conditions_root_owned_folders_drop_to_nobody_notify_and_clean_exit() {
    need_netns!("unit_conditions_root_owned_folders_drop_to_nobody_notify_and_clean_exit");
    let dir = tempdir();
    let base = dir.path();
    // As systemd's RuntimeDirectory=, StateDirectory=, LogsDirectory=, CacheDirectory= make them
    // for a unit without User=: owned by root, mode 0755.
    let folders: Vec<PathBuf> = ["run", "lib", "log", "cache"].iter().map(|d| base.join(d).join("picket")).collect();
    for f in &folders {
        std::fs::create_dir_all(f).unwrap();
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (run, lib, log, cache) = (&folders[0], &folders[1], &folders[2], &folders[3]);
    let pidfile = run.join("picket.pid");
    std::fs::write(&pidfile, format!("{}\n", dead_pid())).unwrap();
    let notify_path = base.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    std::fs::set_permissions(&notify_path, std::fs::Permissions::from_mode(0o777)).unwrap();
    notify.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let ns = Netns::new("un");
    let cfg = base.join("live.toml");
    std::fs::write(
        &cfg,
        format!(
            "[runtime]\nworkers = 2\n[daemon]\nrules = [\"{}\"]\nuser = \"nobody\"\npidfile = \"{}\"\n\
             [output]\nlog_dir = \"{}\"\nspool_dir = \"{}\"\n[detect]\ncache_dir = \"{}\"\n",
            root().join("rules").display(),
            pidfile.display(),
            log.display(),
            lib.join("spool").display(),
            cache.display()
        ),
    )
    .unwrap();
    let mut args: Vec<String> = vec!["--config".into(), s(&cfg)];
    args.extend(set("daemon.control_socket", run.join("control.sock").display()));
    let env = [("NOTIFY_SOCKET", s(&notify_path)), ("WATCHDOG_USEC", "2000000".to_string())];
    let d = Daemon::spawn(&ns, base, &args, log.join("eve.json"), &env);
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    let t = Instant::now();
    while !(got.contains("READY=1") && got.contains("WATCHDOG=1")) {
        assert!(t.elapsed() < Duration::from_secs(20), "notifications so far: {got}");
        let n = notify.recv(&mut buf).expect("a notification");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        got.push('\n');
    }
    let text = d.log_text();
    assert!(text.contains("stale pidfile"), "{text}");
    assert_eq!(std::fs::read_to_string(&pidfile).unwrap().trim(), d.pid().to_string());
    for f in [run, log, cache, &lib.join("spool")] {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(f).unwrap().uid(), 65534, "{} not given to nobody:\n{text}", f.display());
    }
    // Every thread: no capability, the unprivileged user.
    for t in std::fs::read_dir(format!("/proc/{}/task", d.pid())).unwrap() {
        let st = std::fs::read_to_string(t.unwrap().path().join("status")).unwrap();
        let field = |k: &str| {
            st.lines().find(|l| l.starts_with(k)).unwrap_or("").split_whitespace().nth(1).unwrap_or("").to_string()
        };
        assert_eq!(field("CapEff:"), "0000000000000000", "{st}");
        assert_eq!(field("Uid:"), "65534", "{st}");
    }
    ns.send(&demo());
    d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    let (ok, out) = Daemon::ctl(run, "ruleset-stats", None);
    assert!(ok && out.contains("\"rules_loaded\": 5"), "{out}");
    // The compiled databases were kept for the next start.
    assert!(std::fs::read_dir(cache).unwrap().count() > 0, "nothing cached in {}", cache.display());
    let got_events = d.stop();
    assert_eq!(of_type(&got_events, "alert").len(), 5);
    assert!(std::fs::read_dir(lib.join("spool")).unwrap().any(|e| s(e.unwrap().file_name()).starts_with("segment-")));
    assert!(!pidfile.exists(), "pidfile left behind");
    assert!(!run.join("control.sock").exists(), "control socket left behind");
    // systemd hears that the service stops (after the watchdog pings queued meanwhile).
    notify.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    while let Ok(n) = notify.recv(&mut buf) {
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.contains("STOPPING=1"), "{got}");
}

#[test]
fn control_socket_commands_and_rules_not_loaded_are_named() {
    need_netns!("control_socket_commands_and_rules_not_loaded_are_named");
    let dir = tempdir();
    let starter = std::fs::read_to_string(root().join("rules/picket-starter.rules")).unwrap();
    let rules = dir.path().join("live.rules");
    let bad = "alert tcp any any -> any any (msg:\"broken\"; content:\"x\"; depth:abc; sid:9200001; rev:1;)\n\
               alert tcp any any -> any any (msg:\"needs lua\"; lua:foo.lua; sid:9200002; rev:1;)\n";
    std::fs::write(&rules, format!("{starter}\n{bad}")).unwrap();
    let ns = Netns::new("ct");
    let d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2"]);
    // At start the log names each rule not loaded, with file, line, sid and reason.
    let text = d.log_text();
    let line_of =
        |sid: &str| std::fs::read_to_string(&rules).unwrap().lines().position(|l| l.contains(sid)).unwrap() + 1;
    for sid in ["9200001", "9200002"] {
        let want = format!("rule not loaded: {}:{}: sid {sid}: ", rules.display(), line_of(sid));
        assert!(text.contains(&want), "no `{want}` in:\n{text}");
    }
    assert!(text.contains("2 rule(s) not loaded (1 broken, 1 unsupported)"), "{text}");
    let (ok, out) = Daemon::ctl(dir.path(), "ruleset-failed-rules", None);
    assert!(ok, "{out}");
    let failed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sids: Vec<u64> = failed.as_array().unwrap().iter().filter_map(|r| r["sid"].as_u64()).collect();
    assert_eq!(sids, [9200001, 9200002], "{out}");
    assert_eq!(failed[0]["line"].as_u64().unwrap() as usize, line_of("9200001"));
    let listed = ns.http_get(d.port, "/rules/failed");
    assert!(listed.contains("sid 9200001") && listed.contains("sid 9200002"), "{listed}");

    ns.send(&demo());
    d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    // Counters are published every 250 ms: the next publication has every packet.
    let mut c = serde_json::Value::Null;
    wait_until("dump-counters with every packet", Duration::from_secs(5), || {
        let (ok, out) = Daemon::ctl(dir.path(), "dump-counters", None);
        assert!(ok, "{out}");
        c = serde_json::from_str(&out).unwrap();
        c["capture"]["packets"] == 21
    });
    let out = c.to_string();
    assert_eq!(c["interfaces"][&ns.a]["pkts"], 21, "{out}");
    assert_eq!(c["interfaces"][&ns.a]["drop"], 0, "{out}");
    let (ok, out) = Daemon::ctl(dir.path(), "iface-stat", Some(&ns.a));
    assert!(ok && out.contains("\"pkts\": 21"), "{out}");
    let (ok, out) = Daemon::ctl(dir.path(), "iface-stat", Some("nope0"));
    assert!(!ok && out.contains("nope0: not a capture interface"), "{out}");

    // reload-rules: the broken rule fixed, a new rule added; the answer and the log say so.
    let fixed = bad.replace("depth:abc", "depth:10");
    std::fs::write(&rules, format!("{starter}\n{fixed}")).unwrap();
    let (ok, out) = Daemon::ctl(dir.path(), "reload-rules", None);
    assert!(ok && out.contains("\"rules_loaded\": 6"), "{out}");
    let mut d = d;
    d.wait_log("control socket: reloading rules", Duration::from_secs(5));
    let after = d.log_text();
    assert!(after.matches("rule not loaded: ").count() >= 3, "the reload logs what it did not load:\n{after}");
    let (ok, out) = Daemon::ctl(dir.path(), "ruleset-stats", None);
    assert!(ok && out.contains("\"rules_loaded\": 6") && out.contains("\"rules_skipped\": 1"), "{out}");
    let m = ns.http_get(d.port, "/metrics");
    assert_eq!(metric_sum(&m, "picket_detect_reloads_total"), 1, "{m}");
    assert_eq!(metric_sum(&m, "picket_detect_reload_last_success"), 1, "{m}");

    // reopen-log-files after a move: new events go to a new file.
    let moved = dir.path().join("eve.json.old");
    std::fs::rename(&d.eve, &moved).unwrap();
    let (ok, out) = Daemon::ctl(dir.path(), "reopen-log-files", None);
    assert!(ok && out.contains(&s(&d.eve)), "{out}");
    let (ok, out) = Daemon::ctl(dir.path(), "shutdown", None);
    assert!(ok && out.contains("shutting down"), "{out}");
    let tail = d.wait_exit();
    assert!(of_type(&tail, "stats").len() == 1 && of_type(&tail, "flow").len() >= 5, "{tail:?}");
    assert_eq!(of_type(&events(&moved), "alert").len(), LIVE_ALERTS);
}

#[test]
fn metrics_are_true_during_live_traffic_and_promtool_accepts_them() {
    need_netns!("metrics_are_true_during_live_traffic_and_promtool_accepts_them");
    let dir = tempdir();
    let ns = Netns::new("mt");
    let d = Daemon::start(&ns, dir.path(), &root().join("rules"), &["runtime.workers=2"]);
    ns.send(&demo());
    d.wait_alerts(LIVE_ALERTS, Duration::from_secs(10));
    let kernel21 = format!("picket_capture_kernel_packets_total{{interface=\"{}\"}} 21", ns.a);
    let resp = d.wait_metrics(&ns, "the kernel's count of the 21 packets", |m| {
        m.contains(&kernel21) && metric_sum(m, "picket_capture_packets_total") == 21
    });
    let m = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    // Flows are open (no FIN yet for some, and no timeout): the gauges say so now, not at exit.
    assert!(metric_sum(&m, "picket_flow_active") > 0, "{m}");
    assert!(metric_sum(&m, "picket_tcp_active_sessions") > 0, "{m}");
    assert!(m.contains("# TYPE picket_flow_active gauge"), "{m}");
    assert!(m.contains(&format!("picket_capture_kernel_packets_total{{interface=\"{}\"}} 21", ns.a)), "{m}");
    assert!(m.contains(&format!("picket_capture_loss_ratio{{interface=\"{}\"}} 0", ns.a)), "{m}");
    assert_eq!(metric_sum(&m, "picket_detect_reload_last_success"), 1, "{m}");
    assert!(!m.contains("_total_total"), "{m}");
    // Every metric the dashboard plots is exposed by the daemon.
    let dash = std::fs::read_to_string(root().join("configs/grafana-dashboard.json")).unwrap();
    let mut names: Vec<String> = dash
        .match_indices("picket_")
        .map(|(i, _)| dash[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect())
        .collect();
    names.sort();
    names.dedup();
    for n in &names {
        assert!(m.contains(&format!("\n{n} ")) || m.contains(&format!("\n{n}{{")), "dashboard uses {n}:\n{m}");
    }
    match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(mut p) => {
            p.stdin.take().unwrap().write_all(m.as_bytes()).unwrap();
            let out = p.wait_with_output().unwrap();
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success() && text.trim().is_empty(), "promtool check metrics: {text}");
        }
        Err(_) => eprintln!("promtool not installed (make deps): exposition check skipped"),
    }
    d.stop();
}

/// `n` Ethernet/IPv4/UDP frames of 1,442 bytes (50 flows), as a pcap.
fn flood_pcap(dst: &Path, n: u32) {
    let mut out: Vec<u8> = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for i in 0..n {
        let payload = [b'A'; 1400];
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        ip[2..4].copy_from_slice(&((20 + 8 + payload.len()) as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&(i as u16).to_be_bytes());
        let sum = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u32>();
        let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&(40000 + (i % 50) as u16).to_be_bytes());
        frame.extend_from_slice(&9999u16.to_be_bytes());
        frame.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&payload);
        for v in [1_700_000_000 + i / 1000, (i % 1000) * 1000, frame.len() as u32, frame.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&frame);
    }
    std::fs::write(dst, out).unwrap();
}

#[test]
fn induced_kernel_drops_reach_the_log_stats_and_healthz() {
    need_netns!("induced_kernel_drops_reach_the_log_stats_and_healthz");
    let dir = tempdir();
    let flood = dir.path().join("flood.pcap");
    flood_pcap(&flood, 4000);
    let ns = Netns::new("ld");
    // One worker behind a ring of two 128 KiB blocks (about 170 of these frames).
    let d = Daemon::start(
        &ns,
        dir.path(),
        &root().join("rules"),
        &[
            "runtime.workers=1",
            "capture.ring_blocks=2",
            "capture.ring_block_bytes=131072",
            "daemon.loss_alarm_percent=0.5",
        ],
    );
    // A reader that cannot keep up, made certain: the daemon is stopped (SIGSTOP) while the
    // sender pushes 5.7 MB at top speed into its ring; what does not fit the kernel drops and
    // counts. After SIGCONT the next health check must see it.
    let mut degraded = String::new();
    for _ in 0..3 {
        d.signal("STOP");
        ns.send(&flood);
        d.signal("CONT");
        let t = Instant::now();
        while degraded.is_empty() && t.elapsed() < Duration::from_secs(10) {
            let h = ns.http_get(d.port, "/healthz");
            if h.starts_with("HTTP/1.1 503") && h.contains("capture loss") {
                degraded = h;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !degraded.is_empty() {
            break;
        }
    }
    assert!(
        degraded.contains(&format!("on {}", ns.a)),
        "/healthz never reported the loss: {degraded}\n{}",
        d.log_text()
    );
    let m = ns.http_get(d.port, "/metrics");
    let drops = metric_sum(&m, "picket_capture_kernel_drops_total");
    assert!(drops > 1000, "{m}");
    let log_path = d.log.clone();
    let got = d.stop();
    let log = std::fs::read_to_string(log_path).unwrap();
    assert!(log.contains(&format!("{}: capture loss ", ns.a)), "{log}");
    assert!(log.contains("above daemon.loss_alarm_percent"), "{log}");
    let stats = of_type(&got, "stats");
    let cap = &stats.last().unwrap()["stats"]["capture"];
    assert!(cap["kernel_drops"].as_u64().unwrap() >= drops, "{cap}");
    assert!(cap["kernel_packets"].as_u64().unwrap() > cap["kernel_drops"].as_u64().unwrap(), "{cap}");
}

#[test]
fn eve_goes_to_a_unix_stream_socket() {
    need_netns!("eve_goes_to_a_unix_stream_socket");
    let dir = tempdir();
    let sock = dir.path().join("eve.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let mut args: Vec<String> = vec!["--rules".into(), s(root().join("rules"))];
    args.extend(set("output.eve.filetype", "unix_stream"));
    args.extend(set("output.eve.filename", sock.display()));
    let ns = Netns::new("us");
    let d = Daemon::spawn(&ns, dir.path(), &args, dir.path().join("none.json"), &[]);
    assert!(d.log_text().contains(&format!("EVE to unix stream socket {}", sock.display())), "{}", d.log_text());
    ns.send(&demo());
    let (conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let stop = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        d.stop();
    });
    let mut got = Vec::new();
    for l in BufReader::new(conn).lines() {
        let Ok(l) = l else { break };
        got.push(serde_json::from_str::<serde_json::Value>(&l).unwrap());
    }
    stop.join().unwrap();
    assert_eq!(of_type(&got, "alert").len(), 5, "{got:?}");
    assert_eq!(of_type(&got, "stats").len(), 1);
}

#[test]
fn no_rules_and_no_output_are_said_loudly() {
    need_netns!("no_rules_and_no_output_are_said_loudly");
    let dir = tempdir();
    let mut args = Vec::new();
    args.extend(set("output.eve.enabled", false));
    let ns = Netns::new("nr");
    let d = Daemon::spawn(&ns, dir.path(), &args, dir.path().join("none.json"), &[]);
    let text = d.log_text();
    assert!(text.contains("error: NO RULES"), "{text}");
    assert!(text.contains("error: NO OUTPUT"), "{text}");
    d.stop();
}

/// UDP frames to port 5555 carrying "AAAA BBBB": `per_src` from each of three sources whose
/// first octets are `net`, as a pcap.
fn threshold_traffic(dst: &Path, net: [u8; 2], per_src: u64) {
    let mut frames = Vec::new();
    for i in 0..per_src {
        for s in 1..=3u8 {
            let src = [net[0], net[1], 0, s];
            let f = common::eth(&common::ipv4_udp(src, [10, 9, 0, 1], 40_000 + s as u16, 5555, b"AAAA BBBB"));
            frames.push((common::t_ms(i * 10 + s as u64), f));
        }
    }
    std::fs::write(dst, common::pcap_le_usec(common::LT_ETHERNET, &frames)).unwrap();
}

/// Alerts per sid among `events`.
fn per_sid(events: &[serde_json::Value]) -> std::collections::BTreeMap<u64, usize> {
    let mut m = std::collections::BTreeMap::new();
    for a in of_type(events, "alert") {
        *m.entry(a["alert"]["signature_id"].as_u64().unwrap()).or_insert(0) += 1;
    }
    m
}

/// threshold.config is reloaded with the rules: edited on a running daemon, then `picket ctl
/// reload-rules`, it changes the alerts of new traffic at once, with no restart (same
/// process) and no packet lost (every packet captured, none dropped).
#[test]
fn threshold_config_edited_then_reload_rules_changes_alerts_without_restart_or_loss() {
    need_netns!("threshold_config_edited_then_reload_rules_changes_alerts_without_restart_or_loss");
    let dir = tempdir();
    let rules = dir.path().join("thr.rules");
    std::fs::write(
        &rules,
        "alert udp any any -> any 5555 (msg:\"A\"; content:\"AAAA\"; sid:1001; rev:1;)\n\
         alert udp any any -> any 5555 (msg:\"B\"; content:\"BBBB\"; sid:1002; rev:1;)\n",
    )
    .unwrap();
    let tc = dir.path().join("threshold.config");
    std::fs::write(&tc, "suppress gen_id 1, sig_id 1001\n").unwrap();
    let (first, second) = (dir.path().join("first.pcap"), dir.path().join("second.pcap"));
    threshold_traffic(&first, [10, 1], 10);
    threshold_traffic(&second, [10, 2], 10);
    let ns = Netns::new("th");
    let thr = format!("detect.threshold_file={}", tc.display());
    let d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2", &thr]);
    let pid = d.pid();
    // 1001 suppressed, 1002 on every packet.
    ns.send(&first);
    let a = d.wait_alerts(30, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(per_sid(&d.alerts_now()), [(1002, 30)].into(), "{a:?}");
    // The file edited: 1001 no longer suppressed, 1002 limited to 2 per source.
    std::fs::write(&tc, "# edited\nthreshold gen_id 1, sig_id 1002, type limit, track by_src, count 2, seconds 60\n")
        .unwrap();
    let (ok, out) = Daemon::ctl(dir.path(), "reload-rules", None);
    assert!(ok && out.contains("\"rules_loaded\": 2"), "{out}");
    ns.send(&second);
    d.wait_alerts(30 + 30 + 6, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    let all = d.alerts_now();
    let later: Vec<serde_json::Value> =
        all.iter().filter(|a| a["src_ip"].as_str().unwrap().starts_with("10.2.")).cloned().collect();
    assert_eq!(per_sid(&later), [(1001, 30), (1002, 6)].into(), "{later:?}");
    assert_eq!(per_sid(&all), [(1001, 30), (1002, 36)].into());
    // The same process all along, every packet captured and none dropped.
    assert_eq!(d.pid(), pid);
    let mut c = serde_json::Value::Null;
    wait_until("dump-counters with every packet", Duration::from_secs(5), || {
        let (ok, out) = Daemon::ctl(dir.path(), "dump-counters", None);
        assert!(ok, "{out}");
        c = serde_json::from_str(&out).unwrap();
        c["interfaces"][&ns.a]["pkts"] == 60
    });
    assert_eq!(c["interfaces"][&ns.a]["drop"], 0, "{c}");
    let got = d.stop();
    assert_eq!(per_sid(&got), [(1001, 30), (1002, 36)].into());
}

/// A DNS query for `name` (A, IN) from 10.77.0.1:`sport` to 10.77.0.2:53, as a one-frame pcap.
fn dns_query_pcap(dir: &Path, file: &str, sport: u16, id: u16, name: &str) -> PathBuf {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; one question
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]); // root, type A, class IN
    let frame = common::eth(&common::ipv4_udp([10, 77, 0, 1], [10, 77, 0, 2], sport, 53, &q));
    let path = dir.join(file);
    std::fs::write(&path, common::pcap_le_usec(1, &[(common::t_ms(1), frame)])).unwrap();
    path
}

#[test]
fn dataset_add_on_the_control_socket_alerts_on_the_next_query_without_reload() {
    need_netns!("dataset_add_on_the_control_socket_alerts_on_the_next_query_without_reload");
    let dir = tempdir();
    let rules = dir.path().join("intel.rules");
    std::fs::write(
        &rules,
        "alert dns any any -> any any (msg:\"intel domain\"; dns.query; dataset:isset,live-intel, type string; \
         sid:9300001; rev:1;)\n",
    )
    .unwrap();
    let ns = Netns::new("ds");
    let d = Daemon::start(&ns, dir.path(), &rules, &["runtime.workers=2"]);
    let packets = || {
        let (ok, out) = Daemon::ctl(dir.path(), "dump-counters", None);
        assert!(ok, "{out}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["capture"]["packets"].as_u64().unwrap_or(0)
    };
    // Before: the domain is not in the set, the query is seen and nothing alerts.
    ns.send(&dns_query_pcap(dir.path(), "q1.pcap", 40001, 0x1111, "evil.example"));
    wait_until("the first query counted", Duration::from_secs(10), || packets() == 1);
    assert!(d.alerts_now().is_empty(), "{:?}", d.alerts_now());

    let picket_ctl = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_picket"))
            .arg("ctl")
            .arg("--socket")
            .arg(dir.path().join("control.sock"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let (ok, out) = picket_ctl(&["dataset-add", "live-intel", "string", "evil.example"]);
    assert!(ok && out.contains("data added"), "{out}");
    let (ok, out) = picket_ctl(&["dataset-lookup", "live-intel", "string", "evil.example"]);
    assert!(ok && out.contains("item found in set"), "{out}");

    // The next query for it alerts, with no reload in between; another name still does not.
    ns.send(&dns_query_pcap(dir.path(), "q2.pcap", 40002, 0x2222, "evil.example"));
    ns.send(&dns_query_pcap(dir.path(), "q3.pcap", 40003, 0x3333, "good.example"));
    wait_until("all three queries counted", Duration::from_secs(10), || packets() == 3);
    let alerts = d.wait_alerts(1, Duration::from_secs(10));
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["alert"]["signature_id"], 9300001, "{:?}", alerts[0]);
    assert_eq!(alerts[0]["src_port"], 40002, "{:?}", alerts[0]);
    assert_eq!(alerts[0]["dns"]["queries"][0]["rrname"], "evil.example", "{:?}", alerts[0]);
    assert!(!d.log_text().contains("reloading rules"), "{}", d.log_text());
    let (ok, out) = picket_ctl(&["dataset-remove", "live-intel", "string", "evil.example"]);
    assert!(ok && out.contains("data removed"), "{out}");
    // All of it without a reload: the metrics say none happened.
    assert_eq!(d.metric(&ns, "picket_detect_reloads_total"), 0);
    let all = d.stop();
    assert_eq!(of_type(&all, "alert").len(), 1, "{all:?}");
}
