//! `picket run` on real sockets: each test makes its own network namespace with a veth pair
//! (removed on drop), runs the daemon on one end and sends captures into the other with
//! tcpreplay, then checks the EVE output against `picket replay` of the same capture, the
//! per-worker distribution, /metrics, SIGHUP reloads, SIGTERM flushing, the privilege drop,
//! link loss, the BPF filter, VLAN tags and the pnet method.
//!
//! Needs root, `ip netns` and tcpreplay (`make deps` installs it); where they are missing each
//! test says so on stderr and passes without running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_picket");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo() -> PathBuf {
    root().join("captures/demo.pcap")
}

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Why live tests cannot run here, if they cannot.
fn unavailable() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2));
    if uid != Some("0") {
        return Some("not root".into());
    }
    if !sh(&["ip", "netns", "list"]) {
        return Some("`ip netns` is not available".into());
    }
    if !sh(&["tcpreplay", "--version"]) {
        return Some("tcpreplay is not installed (make deps)".into());
    }
    None
}

macro_rules! need_netns {
    ($name:literal) => {
        if let Some(why) = unavailable() {
            eprintln!("live test {} skipped: {why}", $name);
            return;
        }
    };
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A network namespace with a veth pair `<tag>a` (the sensor's) / `<tag>b` (the sender's).
struct Netns {
    name: String,
    a: String,
    b: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!("picket-{tag}-{}-{n}", std::process::id());
        let (a, b) = (format!("{tag}a"), format!("{tag}b"));
        let _ = sh(&["ip", "netns", "del", &name]);
        assert!(sh(&["ip", "netns", "add", &name]), "ip netns add {name}");
        let ns = Netns { name, a, b };
        // No IPv6 autoconfiguration chatter: only the test's frames cross the pair.
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
        assert!(ns.exec(&["ip", "link", "add", "name", &ns.a, "type", "veth", "peer", "name", &ns.b]));
        for i in [&ns.a, &ns.b] {
            ns.exec(&["ip", "link", "set", i, "mtu", "9000"]);
            assert!(ns.exec(&["ip", "link", "set", i, "up"]));
        }
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn exec(&self, args: &[&str]) -> bool {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Sends a capture into the sender's end at top speed.
    fn send(&self, pcap: &Path) {
        let p = pcap.to_str().unwrap();
        assert!(self.exec(&["tcpreplay", "-q", "--topspeed", "-i", &self.b, p]), "tcpreplay {p}");
    }

    /// GET `path` from the daemon's metrics port inside the namespace.
    fn http_get(&self, port: u16, path: &str) -> String {
        let script = format!(
            "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET {path} HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && cat <&3"
        );
        let out = Command::new("ip").args(["netns", "exec", &self.name, "bash", "-c", &script]).output().expect("bash");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.name]);
    }
}

/// `picket run` inside a namespace; SIGKILLed on drop if still running.
struct Daemon {
    child: Child,
    log: PathBuf,
    eve: PathBuf,
    port: u16,
}

static PORT: AtomicU32 = AtomicU32::new(0);

impl Daemon {
    fn start(ns: &Netns, dir: &Path, rules: &Path, extra: &[&str]) -> Daemon {
        let eve = dir.join("eve.json");
        let log = dir.join("picket.log");
        // Each namespace has its own loopback, so the port only has to be free in it.
        let port = 19000 + (PORT.fetch_add(1, Ordering::Relaxed) % 1000) as u16;
        let mut args: Vec<String> = vec![
            "netns".into(),
            "exec".into(),
            ns.name.clone(),
            BIN.into(),
            "run".into(),
            "--interface".into(),
            ns.a.clone(),
            "--rules".into(),
            rules.display().to_string(),
            "--eve".into(),
            eve.display().to_string(),
            "--set".into(),
            format!("metrics.listen=127.0.0.1:{port}"),
            "--set".into(),
            format!("daemon.log_file={}", log.display()),
            "--set".into(),
            "capture.ring_blocks=8".into(),
            "--set".into(),
            "daemon.health_interval_secs=1".into(),
        ];
        for e in extra {
            args.push("--set".into());
            args.push(e.to_string());
        }
        let child = Command::new("ip").args(&args).stdin(Stdio::null()).spawn().expect("spawn picket run");
        let mut d = Daemon { child, log, eve, port };
        d.wait_log("capturing on", Duration::from_secs(20));
        d
    }

    fn pid(&self) -> u32 {
        // `ip netns exec` execs the program: same pid.
        self.child.id()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_log(&mut self, what: &str, max: Duration) {
        let t = Instant::now();
        while t.elapsed() < max {
            if self.log_text().contains(what) {
                return;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("picket run exited ({st}) before `{what}`:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no `{what}` in the log after {max:?}:\n{}", self.log_text());
    }

    fn signal(&self, sig: &str) {
        assert!(sh(&["kill", &format!("-{sig}"), &self.pid().to_string()]));
    }

    /// SIGTERM and wait for a clean exit.
    fn stop(mut self) -> Vec<serde_json::Value> {
        self.signal("TERM");
        let t = Instant::now();
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                assert!(st.success(), "picket run exited with {st}:\n{}", self.log_text());
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(20), "no exit after SIGTERM:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        events(&self.eve)
    }

    fn alerts_now(&self) -> Vec<serde_json::Value> {
        events(&self.eve).into_iter().filter(|e| e["event_type"] == "alert").collect()
    }

    /// Waits until at least `n` alerts were written.
    fn wait_alerts(&self, n: usize, max: Duration) -> Vec<serde_json::Value> {
        let t = Instant::now();
        loop {
            let a = self.alerts_now();
            if a.len() >= n || t.elapsed() > max {
                return a;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn metric(&self, ns: &Netns, name: &str) -> u64 {
        let text = ns.http_get(self.port, "/metrics");
        metric_sum(&text, name)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn metric_sum(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn events(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.ends_with('}'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn of_type(ev: &[serde_json::Value], t: &str) -> Vec<serde_json::Value> {
    ev.iter().filter(|e| e["event_type"] == t).cloned().collect()
}

/// What identifies an alert apart from time: rule and packet addresses.
fn alert_keys(ev: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in of_type(ev, "alert") {
        let k = format!(
            "{} {}:{} -> {}:{} {}",
            e["alert"]["signature_id"], e["src_ip"], e["src_port"], e["dest_ip"], e["dest_port"], e["proto"]
        );
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

/// Flows with their per-direction packet counts (both directions in one event means both
/// reached the same worker).
fn flow_keys(ev: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in of_type(ev, "flow") {
        let k = format!(
            "{}:{} -> {}:{} {} ts={} tc={}",
            e["src_ip"],
            e["src_port"],
            e["dest_ip"],
            e["dest_port"],
            e["proto"],
            e["flow"]["pkts_toserver"],
            e["flow"]["pkts_toclient"]
        );
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

fn replay_events(pcap: &Path, rules: &Path, dir: &Path) -> Vec<serde_json::Value> {
    let eve = dir.join("replay.json");
    let st = Command::new(BIN)
        .args(["replay", "-q", "--rules"])
        .arg(rules)
        .arg("--eve")
        .arg(&eve)
        .arg(pcap)
        .status()
        .unwrap();
    assert!(st.success());
    events(&eve)
}

fn tempdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    // The daemon may run as `nobody` after the privilege drop: let it write here.
    let _ = sh(&["chmod", "0777", d.path().to_str().unwrap()]);
    d
}

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
    std::thread::sleep(Duration::from_millis(700));
    let m = ns.http_get(d.port, "/metrics");
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
fn sighup_reload_new_rules_fire_on_later_packets_without_drops() {
    need_netns!("sighup_reload_new_rules_fire_on_later_packets_without_drops");
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
    d.signal("HUP");
    d.wait_log("rules reloaded", Duration::from_secs(10));
    let _ = bg.wait();
    ns.send(&demo());
    std::thread::sleep(Duration::from_millis(500));
    let m = ns.http_get(d.port, "/metrics");
    assert_eq!(metric_sum(&m, "picket_detect_reloads_total"), 1, "{m}");
    assert_eq!(metric_sum(&m, "picket_detect_rules_loaded"), 6, "{m}");
    assert_eq!(metric_sum(&m, "picket_capture_kernel_drops_total"), 0, "{m}");
    assert!(metric_sum(&m, "picket_detect_reload_peak_rss_bytes") > 0, "{m}");
    let log = d.log_text();
    assert!(log.contains("previous engine freed"), "{log}");
    let got = d.stop();
    let alerts = of_type(&got, "alert");
    let count = |sid: u64| alerts.iter().filter(|a| a["alert"]["signature_id"] == sid).count();
    // The new rule fired, and the last full pass gave every starter alert.
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
    std::thread::sleep(Duration::from_millis(300));
    assert!(ns.http_get(d.port, "/healthz").starts_with("HTTP/1.1 200"));
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

/// Rewrites an Ethernet pcap with an 802.1Q tag (VLAN `vid`) in every frame.
fn vlan_pcap(src: &Path, dst: &Path, vid: u16) {
    let b = std::fs::read(src).unwrap();
    let mut out = b[..24].to_vec();
    let mut off = 24;
    while off + 16 <= b.len() {
        let incl = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        let orig = u32::from_le_bytes(b[off + 12..off + 16].try_into().unwrap());
        let frame = &b[off + 16..off + 16 + incl];
        out.extend_from_slice(&b[off..off + 8]);
        out.extend_from_slice(&(incl as u32 + 4).to_le_bytes());
        out.extend_from_slice(&(orig + 4).to_le_bytes());
        out.extend_from_slice(&frame[..12]);
        out.extend_from_slice(&[0x81, 0x00]);
        out.extend_from_slice(&vid.to_be_bytes());
        out.extend_from_slice(&frame[12..]);
        off += 16 + incl;
    }
    std::fs::write(dst, out).unwrap();
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
