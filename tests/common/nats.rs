//! A real nats-server cluster on loopback for the fleet tests: three nodes with JetStream,
//! started from Debian's `nats-server` (`make deps` installs it), each killable with SIGKILL and
//! restartable on the same ports and store.

#![allow(dead_code, reason = "each test crate uses a part of the helpers")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A temporary directory and a 3-node cluster started in its `nats` folder, or None (with a
/// line saying `test` is skipped) when nats-server is not installed: the opening of every
/// fleet test that runs the cluster on loopback.
pub fn cluster_or_skip(test: &str) -> Option<(tempfile::TempDir, Cluster)> {
    let Some(bin) = nats_server() else {
        eprintln!("{test} skipped: nats-server is not installed (make deps)");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&bin, &dir.path().join("nats"), 3);
    Some((dir, cluster))
}

/// The nats-server binary, or None (the caller skips, unless PICKET_REQUIRE_TOOLS=1).
pub fn nats_server() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PICKET_NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let found = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() && std::env::var("PICKET_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
        panic!("nats-server is not installed (make deps installs Debian's nats-server)");
    }
    found
}

/// The next port of this process's run of ports, below Linux's ephemeral range (32768 and up):
/// the kernel never gives such a port to an outgoing connection, so a client reconnecting to a
/// killed node cannot take that node's port (or connect to itself on it) before the node is
/// restarted, which a port from `bind(0)` allowed. Each test process starts at its own place
/// in 20000-31999 (from its pid); a port that is in use is skipped.
fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id() * 97;
    loop {
        let port = 20_000 + ((start + NEXT.fetch_add(1, Ordering::Relaxed)) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// One node.
pub struct Node {
    /// Its name.
    pub name: String,
    /// Client port.
    pub port: u16,
    /// Monitoring port (/healthz).
    pub http: u16,
    conf: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// A cluster of nodes (one node = no cluster block).
pub struct Cluster {
    bin: PathBuf,
    /// The network namespace the nodes run in (None: the test's own).
    netns: Option<String>,
    /// The nodes.
    pub nodes: Vec<Node>,
    /// Its folder (configs, stores, logs).
    pub dir: PathBuf,
}

impl Cluster {
    /// Starts `n` nodes under `dir` and waits until JetStream answers on each.
    pub fn start(bin: &Path, dir: &Path, n: usize) -> Cluster {
        Cluster::start_in(bin, dir, n, None)
    }

    /// As [`Cluster::start`], the nodes inside the network namespace `netns` (for a sensor
    /// that captures in one: loopback is the namespace's own).
    pub fn start_in(bin: &Path, dir: &Path, n: usize, netns: Option<&str>) -> Cluster {
        let ports: Vec<(u16, u16, u16)> = (0..n).map(|_| (free_port(), free_port(), free_port())).collect();
        let mut nodes = Vec::new();
        for (i, &(port, route, http)) in ports.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let store = dir.join(&name);
            std::fs::create_dir_all(&store).unwrap();
            let mut conf = format!(
                "server_name: {name}\nlisten: 127.0.0.1:{port}\nhttp: 127.0.0.1:{http}\n\
                 jetstream {{ store_dir: \"{}\", max_memory_store: 64MB, max_file_store: 4GB }}\n",
                store.display()
            );
            if n > 1 {
                let routes: Vec<String> = ports.iter().map(|p| format!("nats-route://127.0.0.1:{}", p.1)).collect();
                conf += &format!(
                    "cluster {{ name: picket-test, listen: 127.0.0.1:{route}, routes: [{}] }}\n",
                    routes.join(", ")
                );
            }
            let path = dir.join(format!("{name}.conf"));
            std::fs::write(&path, conf).unwrap();
            nodes.push(Node {
                name: name.clone(),
                port,
                http,
                conf: path,
                log: dir.join(format!("{name}.log")),
                child: None,
            });
        }
        let mut c = Cluster { bin: bin.to_path_buf(), netns: netns.map(str::to_string), nodes, dir: dir.to_path_buf() };
        for i in 0..n {
            c.spawn(i);
        }
        for i in 0..n {
            c.wait_healthy(i, Duration::from_secs(30));
        }
        c
    }

    fn spawn(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&node.log).unwrap();
        let mut cmd = match &self.netns {
            // `ip netns exec` execs the server: the child's pid is the server's.
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.bin);
                c
            }
            None => Command::new(&self.bin),
        };
        let child =
            cmd.arg("-c").arg(&node.conf).stdout(Stdio::null()).stderr(log).spawn().expect("nats-server starts");
        node.child = Some(child);
    }

    /// The server's version (major, minor, patch), from `nats-server --version`
    /// ("nats-server: v2.9.10").
    pub fn version(&self) -> (u32, u32, u32) {
        let out = Command::new(&self.bin).arg("--version").output().expect("nats-server --version runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: Vec<u32> = text
            .trim()
            .rsplit('v')
            .next()
            .unwrap_or_default()
            .split('.')
            .map(|p| p.trim().parse().unwrap_or(0))
            .collect();
        match v[..] {
            [a, b, c, ..] => (a, b, c),
            _ => panic!("nats-server --version: unexpected output {text:?}"),
        }
    }

    /// `nats://` URLs of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| format!("nats://127.0.0.1:{}", n.port)).collect()
    }

    /// The servers as a TOML array.
    pub fn toml_servers(&self) -> String {
        format!("[{}]", self.urls().iter().map(|u| format!("\"{u}\"")).collect::<Vec<_>>().join(", "))
    }

    /// SIGKILL one node.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts a killed node again (same ports and store).
    pub fn restart(&mut self, i: usize) {
        self.spawn(i);
        self.wait_healthy(i, Duration::from_secs(30));
    }

    /// Waits until the node's /healthz says ok (JetStream up and current).
    pub fn wait_healthy(&self, i: usize, max: Duration) {
        let t0 = Instant::now();
        let n = &self.nodes[i];
        loop {
            let body = match &self.netns {
                Some(ns) => http_get_in(ns, n.http, "/healthz"),
                None => http_get(n.http, "/healthz"),
            };
            if let Some(body) = body {
                if body.contains("\"ok\"") {
                    return;
                }
            }
            if t0.elapsed() > max {
                let log = std::fs::read_to_string(&n.log).unwrap_or_default();
                panic!("nats node {} not healthy after {max:?}; log:\n{log}", n.name);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// A plain HTTP GET on loopback; the body, or None.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out.split_once("\r\n\r\n").map(|x| x.1.to_string()).unwrap_or_default())
}

/// [`http_get`] inside the network namespace `ns` (through bash's /dev/tcp).
pub fn http_get_in(ns: &str, port: u16, path: &str) -> Option<String> {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET {path} HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && cat <&3"
    );
    let out = Command::new("ip").args(["netns", "exec", ns, "timeout", "3", "bash", "-c", &script]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(text.split_once("\r\n\r\n").map(|x| x.1.to_string()).unwrap_or_default())
}
