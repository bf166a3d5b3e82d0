//! The control socket: a unix socket on which `picket ctl` (or any client, e.g. `socat`) sends
//! one JSON request per connection, `{"command": "...", "arguments": {...}}`, and reads one
//! JSON answer, `{"return": "OK"|"NOK", "message": ...}`, as Suricata's unix-command socket.
//!
//! Commands: `reload-rules`, `reopen-log-files`, `shutdown` (done by the main thread, which
//! answers when done), `dump-counters`, `iface-list`, `iface-stat IFACE`, `ruleset-stats`,
//! `ruleset-failed-rules`, `uptime`, `version`, `command-list` (answered here from the
//! published counters and the engine in use); `dataset-add`, `dataset-remove`,
//! `dataset-lookup`, `dataset-clear` (`{"setname", "settype", "datavalue"}` as suricatasc),
//! `dataset-dump` (save the sets with save/state now) and `dataset-list`.
//! Access: the socket is mode 0660, owned by the daemon's user and `daemon.control_group`.
//! Bounds: a request is at most 64 KiB and must arrive within 5 s; one connection at a time.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Sender};
use serde_json::{json, Value};

use super::threads::Shared;

/// Largest request accepted.
pub(super) const MAX_REQUEST: u64 = 64 * 1024;
/// Time a client has to send its request.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Time the main thread has to carry out a command (a reload of a large rule set included).
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Every command, for `command-list` and the client's help.
pub const COMMANDS: &[&str] = &[
    "command-list",
    "dataset-add",
    "dataset-clear",
    "dataset-dump",
    "dataset-list",
    "dataset-lookup",
    "dataset-remove",
    "dump-counters",
    "iface-list",
    "iface-stat",
    "reload-rules",
    "reopen-log-files",
    "ruleset-failed-rules",
    "ruleset-stats",
    "shutdown",
    "uptime",
    "version",
];

/// A command the main thread carries out; it sends the answer back.
pub(super) enum Request {
    /// Load the rules again and swap them in.
    ReloadRules(Sender<Answer>),
    /// Reopen the EVE file and the log file.
    ReopenLogFiles(Sender<Answer>),
    /// Drain and stop.
    Shutdown(Sender<Answer>),
}

/// An answer: success and a message (text or JSON).
pub(super) type Answer = Result<Value, String>;

/// The bound socket; removed when dropped.
pub(super) struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the socket at `path` (a stale socket left by a crash is replaced; a live one is an
/// error), mode 0660, owned by `owner` (uid, gid) when given.
pub(super) fn bind(path: &Path, owner: Option<(u32, u32)>) -> Result<ControlSocket, String> {
    use std::os::unix::fs::PermissionsExt;
    let what = |e: std::io::Error| format!("daemon.control_socket {}: {e}", path.display());
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(format!(
                "daemon.control_socket {}: another picket answers on it (stop it, or give this one another socket)",
                path.display()
            ));
        }
        std::fs::remove_file(path).map_err(what)?;
    }
    let listener = UnixListener::bind(path).map_err(what)?;
    let sock = ControlSocket { listener, path: path.to_path_buf() };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(what)?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(what)?;
    }
    sock.listener.set_nonblocking(true).map_err(what)?;
    Ok(sock)
}

/// The running server; stops when dropped.
pub(super) struct ControlServer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `sock` on its own thread until dropped; main-thread commands go to `cmds`.
pub(super) fn serve(sock: ControlSocket, sh: Arc<Shared>, cmds: Sender<Request>) -> std::io::Result<ControlServer> {
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new().name("picket-control".into()).spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            match sock.listener.accept() {
                Ok((s, _)) => handle(s, &sh, &cmds),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    sh.log.warn_limited("control", &format!("control socket: {e}"));
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        drop(sock);
    })?;
    Ok(ControlServer { stop, thread: Some(thread) })
}

fn handle(s: UnixStream, sh: &Shared, cmds: &Sender<Request>) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(REQUEST_TIMEOUT));
    let _ = s.set_write_timeout(Some(REQUEST_TIMEOUT));
    let mut line = String::new();
    let read = match s.try_clone() {
        Ok(r) => BufReader::new(r.take(MAX_REQUEST)).read_line(&mut line),
        Err(e) => Err(e),
    };
    let answer = match read {
        Ok(0) => return,
        Ok(_) => answer(&line, sh, cmds),
        Err(e) => Err(format!("cannot read the request: {e}")),
    };
    let out = match answer {
        Ok(m) => json!({"return": "OK", "message": m}),
        Err(m) => json!({"return": "NOK", "message": m}),
    };
    let mut w = &s;
    let _ = w.write_all(format!("{out}\n").as_bytes());
}

/// The answer to one request line.
fn answer(line: &str, sh: &Shared, cmds: &Sender<Request>) -> Answer {
    let req: Value = serde_json::from_str(line.trim())
        .map_err(|e| format!("not a JSON request ({e}): send {{\"command\": \"NAME\"}}"))?;
    let cmd = req.get("command").and_then(Value::as_str).ok_or("the request has no \"command\"")?;
    let args = req.get("arguments").cloned().unwrap_or(Value::Null);
    match cmd {
        "command-list" => Ok(json!({ "count": COMMANDS.len(), "commands": COMMANDS })),
        "version" => Ok(json!(env!("CARGO_PKG_VERSION"))),
        "uptime" => Ok(json!(sh.hub.uptime_secs())),
        "dump-counters" => Ok(dump_counters(sh)),
        "iface-list" => Ok(json!({ "count": sh.ifaces.len(), "ifaces": sh.ifaces })),
        "iface-stat" => iface_stat(sh, &args),
        "ruleset-stats" => Ok(ruleset_stats(sh)),
        "ruleset-failed-rules" => Ok(failed_rules(sh)),
        "reload-rules" => relay(cmds, Request::ReloadRules),
        "reopen-log-files" => relay(cmds, Request::ReopenLogFiles),
        "shutdown" => relay(cmds, Request::Shutdown),
        "dataset-add" | "dataset-remove" | "dataset-lookup" | "dataset-clear" => dataset_command(cmd, &args),
        "dataset-dump" => dataset_dump(),
        "dataset-list" => Ok(dataset_list()),
        other => Err(format!("unknown command `{other}` (command-list lists them)")),
    }
}

/// `dataset-add/remove/lookup/clear`: `{"setname", "settype", "datavalue"}` as suricatasc
/// sends them (string values base64-encoded). Takes effect for the next packet: workers see
/// the set's new version at their next lookup, without a reload.
fn dataset_command(cmd: &str, args: &Value) -> Answer {
    let arg = |k: &str| args.get(k).and_then(Value::as_str);
    let name = arg("setname").ok_or("setname is not a string")?;
    let kind = arg("settype").ok_or("settype is not a string")?;
    crate::detect::dataset::control(cmd, name, kind, arg("datavalue")).map(Value::from)
}

/// `dataset-dump`: writes every set with `save`/`state` now, as at shutdown.
fn dataset_dump() -> Answer {
    let mut saved = Vec::new();
    for r in crate::detect::dataset::save_all() {
        saved.push(r?);
    }
    Ok(json!({ "message": "datasets dump done", "saved": saved }))
}

/// `dataset-list`: name, type, entries and files of every set.
fn dataset_list() -> Value {
    let sets: Vec<Value> = crate::detect::dataset::all()
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "type": s.kind.name(),
                "entries": s.len(),
                "memcap": s.memcap,
                "refused": s.refused.load(Ordering::Relaxed),
                "load": s.load.as_ref().map(|p| p.display().to_string()),
                "save": s.save.as_ref().map(|p| p.display().to_string()),
            })
        })
        .collect();
    json!({ "count": sets.len(), "datasets": sets })
}

/// Hands a command to the main thread and waits for its answer.
fn relay(cmds: &Sender<Request>, make: fn(Sender<Answer>) -> Request) -> Answer {
    let (tx, rx) = bounded(1);
    cmds.send(make(tx)).map_err(|_| "the daemon is stopping".to_string())?;
    rx.recv_timeout(COMMAND_TIMEOUT).map_err(|_| "no answer from the daemon in time".to_string())?
}

fn dump_counters(sh: &Shared) -> Value {
    let mut all = sh.hub.merged().to_json_all();
    if let Some(m) = all.as_object_mut() {
        m.insert("uptime".into(), json!(sh.hub.uptime_secs()));
        let ifaces: serde_json::Map<String, Value> =
            sh.hub.ifaces().into_iter().map(|(n, s)| (n, iface_json(&s))).collect();
        m.insert("interfaces".into(), Value::Object(ifaces));
    }
    all
}

fn iface_json(s: &crate::metrics::prom::IfaceStats) -> Value {
    json!({
        "pkts": s.packets,
        "bytes": s.bytes,
        "kernel_packets": s.kernel_packets,
        "drop": s.kernel_drops,
        "kernel_queue_freezes": s.kernel_freezes,
        "errors": s.errors,
        "link_down": s.link_down,
        "link_up": s.link_up,
        "loss_ratio": s.loss_ratio(),
    })
}

fn iface_stat(sh: &Shared, args: &Value) -> Answer {
    let name = args.get("iface").and_then(Value::as_str).ok_or("iface-stat needs an interface: iface-stat IFACE")?;
    if !sh.ifaces.iter().any(|i| i == name) {
        return Err(format!("{name}: not a capture interface (iface-list lists them)"));
    }
    let s = sh.hub.ifaces().get(name).copied().unwrap_or_default();
    Ok(iface_json(&s))
}

fn ruleset_stats(sh: &Shared) -> Value {
    let info = sh.hub.rules_info();
    let last = info.reload.as_ref().and_then(|r| r.last_ok).map(|t| {
        let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let mut b = Vec::new();
        crate::output::eve::fmt_ts(&mut b, crate::capture::Timestamp::from_parts(d.as_secs(), d.subsec_nanos() as u64));
        String::from_utf8_lossy(&b).into_owned()
    });
    json!([{
        "id": 0,
        "last_reload": last,
        "rules_loaded": info.loaded,
        "rules_failed": info.failed,
        "rules_skipped": info.skipped,
        "fleet": sh.fleet_rules.lock().unwrap_or_else(|p| p.into_inner()).clone(),
    }])
}

fn failed_rules(sh: &Shared) -> Value {
    let (_, engine) = sh.slot.current();
    let list: Vec<Value> = engine
        .map(|e| {
            e.errors
                .iter()
                .map(|r| {
                    json!({
                        "filename": r.file,
                        "line": r.line,
                        "sid": r.sid,
                        "kind": super::reload::kind_label(&r.kind),
                        "reason": r.message,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Value::Array(list)
}

/// `picket ctl`: sends one command to the socket at `path` and returns the answer.
pub fn request(path: &Path, command: &str, arguments: Option<Value>) -> Result<Value, String> {
    let mut s = UnixStream::connect(path).map_err(|e| {
        format!(
            "{}: cannot connect ({e}): is `picket run` running with daemon.control_socket set to it?",
            path.display()
        )
    })?;
    let _ = s.set_read_timeout(Some(COMMAND_TIMEOUT + Duration::from_secs(5)));
    let mut req = json!({ "command": command });
    if let (Some(a), Some(m)) = (arguments, req.as_object_mut()) {
        m.insert("arguments".into(), a);
    }
    s.write_all(format!("{req}\n").as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut line = String::new();
    BufReader::new(s.take(64 << 20)).read_line(&mut line).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(line.trim()).map_err(|e| format!("{}: not a JSON answer ({e})", path.display()))
}
