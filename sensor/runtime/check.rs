//! Checks of a configuration against the host it will run on, for `picket config check` and
//! the start of `picket run`: the user and groups exist, rule files and the threshold file
//! exist and can be read, the folders Picket writes in can be created or are writable by the
//! run user, the capture interfaces exist. Value checks that need no host are in
//! [`crate::config::Config::problems`]; both name the key and, for a file, its line.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::{Config, Origin};
use crate::runtime::live::resolve_ids;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The run cannot work: refused.
    Error,
    /// Worth fixing; the run goes on.
    Warning,
}

/// One finding: the key it is about and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The dotted key (or option).
    pub key: String,
    /// What is wrong.
    pub why: String,
}

impl Finding {
    /// The message with where the key came from (`FILE:LINE: key: why`).
    pub fn render(&self, origin: &Origin) -> String {
        format!("{}{}: {}", origin.locate(&self.key), self.key, self.why)
    }
}

/// Whether `uid`/`gid` may write into `dir` by its mode bits (root always may).
fn writable_by(meta: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let m = meta.mode();
    uid == 0 || (meta.uid() == uid && m & 0o200 != 0) || (meta.gid() == gid && m & 0o020 != 0) || m & 0o002 != 0
}

/// The nearest folder of `p` (itself included) that exists.
fn existing_ancestor(p: &Path) -> Option<PathBuf> {
    let mut cur = Some(p);
    while let Some(c) = cur {
        if c.exists() {
            return Some(c.to_path_buf());
        }
        cur = c.parent();
    }
    None
}

/// Every host-dependent problem of `cfg` for a run on `interfaces` with `rules`.
pub fn check_host(cfg: &Config, interfaces: &[String], rules: &[PathBuf]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |severity, key: &str, why: String| out.push(Finding { severity, key: key.to_string(), why });
    let owner = if cfg.daemon.user.is_empty() {
        None
    } else {
        match resolve_ids(&cfg.daemon.user, &cfg.daemon.group) {
            Ok(ids) => Some(ids),
            Err(e) => {
                let key = if e.starts_with("daemon.group") { "daemon.group" } else { "daemon.user" };
                push(Severity::Error, key, e.split_once(": ").map_or(e.clone(), |(_, w)| w.to_string()));
                None
            }
        }
    };
    if !cfg.daemon.control_group.is_empty() {
        if let Err(e) = resolve_ids("0", &cfg.daemon.control_group) {
            push(Severity::Error, "daemon.control_group", e.split_once(": ").map_or(e.clone(), |(_, w)| w.to_string()));
        }
    }
    let rules_key = "daemon.rules";
    for r in rules {
        match std::fs::metadata(r) {
            Err(e) => push(Severity::Error, rules_key, format!("{}: {e}", r.display())),
            Ok(m) if m.is_file() && std::fs::File::open(r).is_err() => {
                push(Severity::Error, rules_key, format!("{}: cannot be read", r.display()))
            }
            Ok(_) => {}
        }
    }
    let tf = &cfg.detect.threshold_file;
    if !tf.is_empty() && std::fs::File::open(tf).is_err() {
        push(Severity::Error, "detect.threshold_file", format!("{tf}: cannot be read"));
    }
    for (key, dir) in folder_keys(cfg) {
        check_folder(&mut push, key, &dir, owner, &cfg.daemon.user);
    }
    if matches!(cfg.output.eve.filetype, crate::output::EveFiletype::UnixStream | crate::output::EveFiletype::UnixDgram)
        && Path::new(&cfg.output.eve.filename).parent().is_some_and(|p| !p.as_os_str().is_empty() && !p.is_dir())
    {
        push(
            Severity::Warning,
            "output.eve.filename",
            format!("{}: its folder does not exist (yet)", cfg.output.eve.filename),
        );
    }
    #[cfg(target_os = "linux")]
    for i in interfaces {
        if crate::sys::if_nametoindex(i).is_none() {
            push(Severity::Warning, "capture.interfaces", format!("{i}: no such interface on this host"));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = interfaces;
    out
}

/// The folders of the configuration that Picket writes in, by key.
fn folder_keys(cfg: &Config) -> Vec<(&'static str, PathBuf)> {
    let mut v = Vec::new();
    if cfg.output.eve.enabled && cfg.output.eve.filetype == crate::output::EveFiletype::Regular {
        if let Some(p) = cfg.output.eve_path().parent() {
            let key = if Path::new(&cfg.output.eve.filename).is_absolute() {
                "output.eve.filename"
            } else {
                "output.log_dir"
            };
            v.push((key, p.to_path_buf()));
        }
    }
    for (key, val) in [("output.spool_dir", &cfg.output.spool_dir), ("detect.cache_dir", &cfg.detect.cache_dir)] {
        if !val.is_empty() {
            v.push((key, PathBuf::from(val)));
        }
    }
    for (key, val) in [
        ("daemon.pidfile", &cfg.daemon.pidfile),
        ("daemon.log_file", &cfg.daemon.log_file),
        ("daemon.control_socket", &cfg.daemon.control_socket),
    ] {
        if let Some(p) = Path::new(val).parent().filter(|p| !val.is_empty() && !p.as_os_str().is_empty()) {
            v.push((key, p.to_path_buf()));
        }
    }
    v
}

fn check_folder(
    push: &mut impl FnMut(Severity, &str, String),
    key: &str,
    dir: &Path,
    owner: Option<(u32, u32)>,
    user: &str,
) {
    let Some(anc) = existing_ancestor(dir) else {
        push(Severity::Error, key, format!("{}: no part of this path exists", dir.display()));
        return;
    };
    let Ok(meta) = std::fs::metadata(&anc) else { return };
    if !meta.is_dir() {
        push(Severity::Error, key, format!("{}: {} is not a folder", dir.display(), anc.display()));
        return;
    }
    let own = dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.to_ascii_lowercase().contains("picket"));
    if anc != dir {
        // Picket creates it (as root, at the start of `picket run`).
        let me = crate::sys::geteuid();
        if me != 0 && !writable_by(&meta, me, u32::MAX) {
            push(
                Severity::Warning,
                key,
                format!("{} does not exist and {} is not writable by the current user (picket run creates it when started as root)", dir.display(), anc.display()),
            );
        }
        return;
    }
    if let Some((uid, gid)) = owner {
        if !(writable_by(&meta, uid, gid) || own && meta.uid() == 0) {
            push(
                Severity::Error,
                key,
                format!(
                    "{} is not writable by {user} (uid {uid}): give it to that user, or use a folder of its own whose name says picket (Picket gives those to {user} at the start)",
                    dir.display()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_user_group_and_unwritable_folder_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut cfg = Config::default();
        cfg.daemon.user = "picket-no-such-user".into();
        cfg.output.spool_dir = shared.display().to_string();
        let f = check_host(&cfg, &[], &[dir.path().join("nope.rules")]);
        assert!(f.iter().any(|x| x.key == "daemon.user" && x.why.contains("picket-no-such-user")), "{f:?}");
        assert!(f.iter().any(|x| x.key == "daemon.rules" && x.why.contains("nope.rules")), "{f:?}");
        cfg.daemon.user = "nobody".into();
        cfg.daemon.group = "picket-no-such-group".into();
        let f = check_host(&cfg, &[], &[]);
        assert!(f.iter().any(|x| x.key == "daemon.group"), "{f:?}");
        cfg.daemon.group = String::new();
        let f = check_host(&cfg, &[], &[]);
        if std::fs::read_to_string("/etc/passwd").unwrap_or_default().contains("nobody:") {
            assert!(f.iter().any(|x| x.key == "output.spool_dir" && x.why.contains("not writable by nobody")), "{f:?}");
        }
    }
}
