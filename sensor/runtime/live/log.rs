//! The daemon's log: one timestamped line per message, to standard error or a file (appended
//! to, reopened on SIGHUP for log rotation), with repeated messages rate-limited.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::capture::Timestamp;
use crate::output::eve;

/// How often a rate-limited message of one kind is written at most.
const LIMIT_EVERY: Duration = Duration::from_secs(10);

/// The daemon's log: one line per message, to standard error or a file, with a timestamp;
/// repeated messages of the same kind are limited to one per 10 s with a suppressed count.
pub struct Log {
    path: Option<PathBuf>,
    file: Mutex<Option<std::fs::File>>,
    limited: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

fn open_append(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().create(true).append(true).mode(0o640).open(path)
}

impl Log {
    /// Logs to `path` (appended) or, when empty, to standard error.
    pub fn open(path: &str) -> std::io::Result<Log> {
        let (path, file) = if path.is_empty() {
            (None, None)
        } else {
            let p = PathBuf::from(path);
            let f = open_append(&p)?;
            (Some(p), Some(f))
        };
        Ok(Log { path, file: Mutex::new(file), limited: Mutex::new(HashMap::new()) })
    }

    /// The log file, when the log is not standard error.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// Opens the log file again by its name (after logrotate moved it). Standard error: nothing.
    pub fn reopen(&self) -> std::io::Result<()> {
        if let Some(p) = &self.path {
            let f = open_append(p)?;
            *self.file.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
        }
        Ok(())
    }

    /// Writes one line at `level` (`info`, `warning`, `error`).
    pub fn log(&self, level: &str, msg: &str) {
        let mut ts = Vec::with_capacity(40);
        eve::fmt_ts(&mut ts, wall_now());
        let line = format!("{} picket[{}]: {level}: {msg}\n", String::from_utf8_lossy(&ts), std::process::id());
        let mut g = self.file.lock().unwrap_or_else(|p| p.into_inner());
        match g.as_mut() {
            Some(f) => {
                let _ = f.write_all(line.as_bytes());
            }
            None => {
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
    }

    /// Info line.
    pub fn info(&self, msg: &str) {
        self.log("info", msg)
    }

    /// Warning line.
    pub fn warn(&self, msg: &str) {
        self.log("warning", msg)
    }

    /// Error line (data was lost or the operator must act).
    pub fn error(&self, msg: &str) {
        self.log("error", msg)
    }

    /// A warning of kind `key` at most once per 10 s; the next one says how many were held back.
    pub fn warn_limited(&self, key: &'static str, msg: &str) {
        self.limited_at("warning", key, msg)
    }

    /// An error of kind `key` at most once per 10 s; the next one says how many were held back.
    pub fn error_limited(&self, key: &'static str, msg: &str) {
        self.limited_at("error", key, msg)
    }

    fn limited_at(&self, level: &str, key: &'static str, msg: &str) {
        let mut g = self.limited.lock().unwrap_or_else(|p| p.into_inner());
        let e = g.entry(key).or_insert((Instant::now() - Duration::from_secs(3600), 0));
        if e.0.elapsed() < LIMIT_EVERY {
            e.1 += 1;
            return;
        }
        let suppressed = std::mem::take(&mut e.1);
        e.0 = Instant::now();
        drop(g);
        if suppressed > 0 {
            self.log(level, &format!("{msg} ({suppressed} similar messages suppressed)"));
        } else {
            self.log(level, msg);
        }
    }
}

/// Wall-clock time as packet time.
pub fn wall_now() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_parts(d.as_secs(), d.subsec_nanos() as u64)
}
