//! Live-capture test helpers: a network namespace with a veth pair (removed on drop), the
//! `picket run` daemon inside it (SIGKILLed on drop), and readers of what it writes.

#![allow(dead_code, reason = "each test crate uses a part of the helpers")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_picket");

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn demo() -> PathBuf {
    root().join("captures/demo.pcap")
}

pub fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Why live tests cannot run here, if they cannot.
fn why_unavailable() -> Option<String> {
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

/// Why live tests cannot run here, if they cannot. With `PICKET_REQUIRE_TOOLS=1` (what `make
/// test` sets) a missing requirement fails the test instead.
pub fn unavailable() -> Option<String> {
    let why = why_unavailable();
    if let Some(w) = &why {
        assert!(
            std::env::var("PICKET_REQUIRE_TOOLS").map_or(true, |v| v != "1"),
            "live tests are required (PICKET_REQUIRE_TOOLS=1) but cannot run: {w}"
        );
    }
    why
}

#[macro_export]
/// Returns from the calling test, saying why, when [`unavailable`] finds that network
/// namespaces cannot be made here.
macro_rules! need_netns {
    ($name:literal) => {
        if let Some(why) = $crate::common::netns::unavailable() {
            eprintln!("live test {} skipped: {why}", $name);
            return;
        }
    };
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A network namespace with a veth pair `<tag>a` (the sensor's) / `<tag>b` (the sender's).
pub struct Netns {
    pub name: String,
    pub a: String,
    pub b: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
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

    pub fn exec(&self, args: &[&str]) -> bool {
        let mut v = vec!["ip", "netns", "exec", &self.name];
        v.extend_from_slice(args);
        sh(&v)
    }

    /// Sends a capture into the sender's end at top speed.
    pub fn send(&self, pcap: &Path) {
        let p = pcap.to_str().unwrap();
        assert!(self.exec(&["tcpreplay", "-q", "--topspeed", "-i", &self.b, p]), "tcpreplay {p}");
    }

    /// GET `path` from the daemon's metrics port inside the namespace.
    pub fn http_get(&self, port: u16, path: &str) -> String {
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
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
    pub eve: PathBuf,
    pub port: u16,
    /// Length of the log file when this daemon was spawned: a restarted daemon appends to the
    /// log of the one before, and [`Daemon::log_text`] and [`Daemon::wait_log`] read only its own
    /// lines (an earlier daemon's "capturing on" must not pass for this one's).
    pub log_start: usize,
}

static PORT: AtomicU32 = AtomicU32::new(0);

/// A metrics port for a daemon (each namespace has its own loopback, so it only has to be free
/// in it).
pub fn next_port() -> u16 {
    19000 + (PORT.fetch_add(1, Ordering::Relaxed) % 1000) as u16
}

impl Daemon {
    /// `picket run` on the namespace's sensor end with `rules`, EVE to `dir/eve.json`, the
    /// log to `dir/picket.log`, the control socket `dir/control.sock`, and `--set extra`.
    pub fn start(ns: &Netns, dir: &Path, rules: &Path, extra: &[&str]) -> Daemon {
        let eve = dir.join("eve.json");
        let mut args: Vec<String> =
            vec!["--rules".into(), rules.display().to_string(), "--eve".into(), eve.display().to_string()];
        for e in extra {
            args.push("--set".into());
            args.push(e.to_string());
        }
        Daemon::spawn(ns, dir, &args, eve, &[])
    }

    /// `picket run --interface A` with the test's defaults (metrics port, log file, control
    /// socket in `dir`, small rings, 1 s health checks) and then `args`; `eve` is where the test
    /// reads EVE; `env` is added to the daemon's environment. Waits until it captures.
    pub fn spawn(ns: &Netns, dir: &Path, args: &[String], eve: PathBuf, env: &[(&str, String)]) -> Daemon {
        let d = Daemon::spawn_only(ns, dir, args, eve, env);
        d.wait_started()
    }

    /// As [`Daemon::spawn`] without waiting.
    pub fn spawn_only(ns: &Netns, dir: &Path, args: &[String], eve: PathBuf, env: &[(&str, String)]) -> Daemon {
        let log = dir.join("picket.log");
        let port = next_port();
        let mut all: Vec<String> = vec![
            "netns".into(),
            "exec".into(),
            ns.name.clone(),
            BIN.into(),
            "run".into(),
            "--interface".into(),
            ns.a.clone(),
        ];
        for s in [
            format!("metrics.listen=127.0.0.1:{port}"),
            format!("daemon.log_file={}", log.display()),
            format!("daemon.control_socket={}", dir.join("control.sock").display()),
            "capture.ring_blocks=8".into(),
            "daemon.health_interval_secs=1".into(),
        ] {
            all.push("--set".into());
            all.push(s);
        }
        all.extend(args.iter().cloned());
        let mut cmd = Command::new("ip");
        cmd.args(&all).stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let log_start = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
        let child = cmd.spawn().expect("spawn picket run");
        Daemon { child, log, eve, port, log_start }
    }

    /// Waits until the daemon captures.
    pub fn wait_started(mut self) -> Daemon {
        self.wait_log("capturing on", Duration::from_secs(30));
        self
    }

    /// The control socket of a daemon started in `dir`.
    pub fn ctl(dir: &Path, command: &str, arg: Option<&str>) -> (bool, String) {
        let mut c = Command::new(BIN);
        c.arg("ctl").arg("--socket").arg(dir.join("control.sock")).arg(command);
        if let Some(a) = arg {
            c.arg(a);
        }
        let out = c.output().expect("picket ctl");
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }

    /// Waits for the process to exit after a stop request (SIGTERM or `ctl shutdown`).
    pub fn wait_exit(mut self) -> Vec<serde_json::Value> {
        let t = Instant::now();
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                assert!(st.success(), "picket run exited with {st}:\n{}", self.log_text());
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "no exit:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        events(&self.eve)
    }

    pub fn pid(&self) -> u32 {
        // `ip netns exec` execs the program: same pid.
        self.child.id()
    }

    /// This daemon's lines of the log file (not those of an earlier daemon in the same folder).
    pub fn log_text(&self) -> String {
        let all = std::fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(all.get(self.log_start..).unwrap_or_default()).into_owned()
    }

    pub fn wait_log(&mut self, what: &str, max: Duration) {
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

    pub fn signal(&self, sig: &str) {
        assert!(sh(&["kill", &format!("-{sig}"), &self.pid().to_string()]));
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) -> Vec<serde_json::Value> {
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

    pub fn alerts_now(&self) -> Vec<serde_json::Value> {
        events(&self.eve).into_iter().filter(|e| e["event_type"] == "alert").collect()
    }

    /// Waits until at least `n` alerts were written.
    pub fn wait_alerts(&self, n: usize, max: Duration) -> Vec<serde_json::Value> {
        let t = Instant::now();
        loop {
            let a = self.alerts_now();
            if a.len() >= n || t.elapsed() > max {
                return a;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `/metrics` until `ready` holds on its text (30 s at most, then fails with the last
    /// text) and returns that text: counters are published by the workers and the supervisor
    /// on their own clocks, so a test waits for the figure it needs instead of sleeping.
    pub fn wait_metrics(&self, ns: &Netns, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let t = Instant::now();
        loop {
            let m = ns.http_get(self.port, "/metrics");
            if ready(&m) {
                return m;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "timed out waiting for {what} in /metrics:\n{m}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls `path` until its response starts with `prefix` (30 s at most).
    pub fn wait_http(&self, ns: &Netns, path: &str, prefix: &str) -> String {
        let t = Instant::now();
        loop {
            let r = ns.http_get(self.port, path);
            if r.starts_with(prefix) {
                return r;
            }
            assert!(t.elapsed() < Duration::from_secs(30), "timed out waiting for {path} to answer {prefix}: {r}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn metric(&self, ns: &Netns, name: &str) -> u64 {
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

pub fn metric_sum(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

pub fn events(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.ends_with('}'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn of_type(ev: &[serde_json::Value], t: &str) -> Vec<serde_json::Value> {
    ev.iter().filter(|e| e["event_type"] == t).cloned().collect()
}

/// What identifies an alert apart from time: rule and packet addresses.
pub fn alert_keys(ev: &[serde_json::Value]) -> BTreeMap<String, usize> {
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
pub fn flow_keys(ev: &[serde_json::Value]) -> BTreeMap<String, usize> {
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

pub fn replay_events(pcap: &Path, rules: &Path, dir: &Path) -> Vec<serde_json::Value> {
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

pub fn tempdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    // The daemon may run as `nobody` after the privilege drop: let it write here.
    let _ = sh(&["chmod", "0777", d.path().to_str().unwrap()]);
    d
}

/// Rewrites an Ethernet pcap with an 802.1Q tag (VLAN `vid`) in every frame.
pub fn vlan_pcap(src: &Path, dst: &Path, vid: u16) {
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
