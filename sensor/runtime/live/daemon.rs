//! What makes `picket run` a service: the folders it writes in (created, and given to the
//! run user before the privilege drop), the pidfile (a stale one detected, removed at exit),
//! the user and group to run as, the resident memory reading.

use std::path::{Path, PathBuf};

use super::Log;
use crate::config::Config;

/// Resolves `user` (name or number) and `group` ("" = the user's primary group) from
/// /etc/passwd and /etc/group.
pub fn resolve_ids(user: &str, group: &str) -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let (uid, primary) = match user.parse::<u32>() {
        Ok(n) => (n, lookup(&passwd, 2, user, 3).or_else(|| find_by_id(&passwd, n, 3)).unwrap_or(n)),
        Err(_) => {
            let uid = lookup(&passwd, 0, user, 2).ok_or_else(|| format!("daemon.user: no user `{user}`"))?;
            (uid, lookup(&passwd, 0, user, 3).unwrap_or(uid))
        }
    };
    let gid = if group.is_empty() {
        primary
    } else {
        match group.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let g = std::fs::read_to_string("/etc/group").unwrap_or_default();
                lookup(&g, 0, group, 2).ok_or_else(|| format!("daemon.group: no group `{group}`"))?
            }
        }
    };
    Ok((uid, gid))
}

fn lookup(db: &str, key_col: usize, key: &str, want_col: usize) -> Option<u32> {
    db.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.get(key_col) == Some(&key))
        .and_then(|f| f.get(want_col)?.parse().ok())
}

fn find_by_id(db: &str, id: u32, want_col: usize) -> Option<u32> {
    db.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.get(2).and_then(|x| x.parse::<u32>().ok()) == Some(id))
        .and_then(|f| f.get(want_col)?.parse().ok())
}

/// Resident memory of this process, bytes (`/proc/self/statm`).
pub fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace().nth(1).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0) * 4096
}

/// The pidfile: written at start, removed when dropped (at exit).
pub(super) struct Pidfile(PathBuf);

/// Whether `pid` is a running picket (not another program that reused the number).
fn is_picket(pid: u32) -> bool {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    comm.trim() == "picket" || comm.trim().starts_with("picket-")
}

impl Pidfile {
    /// Writes the pidfile. One naming a running picket is an error; a stale one (its process
    /// is gone, or the number now belongs to another program) is replaced and said so in the
    /// returned note.
    pub(super) fn create(path: &Path) -> anyhow::Result<(Pidfile, Option<String>)> {
        let mut note = None;
        if let Ok(old) = std::fs::read_to_string(path) {
            match old.trim().parse::<u32>() {
                Ok(pid) if pid != std::process::id() && is_picket(pid) => {
                    anyhow::bail!(
                        "daemon.pidfile {}: picket already runs as pid {pid} (stop it first, or give this one another pidfile)",
                        path.display()
                    );
                }
                Ok(pid) if pid != std::process::id() => {
                    note = Some(format!(
                        "daemon.pidfile {}: stale pidfile of pid {pid} (no picket runs with that number: it did not stop cleanly), replaced",
                        path.display()
                    ));
                }
                Ok(_) => {}
                Err(_) => {
                    note = Some(format!("daemon.pidfile {}: unreadable pidfile replaced", path.display()));
                }
            }
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| anyhow::anyhow!("daemon.pidfile {}: cannot write the pidfile: {e}", path.display()))?;
        Ok((Pidfile(path.to_path_buf()), note))
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A folder the run writes in, and the key that names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Folder {
    /// The configuration key (or option) that names the folder.
    pub(super) key: &'static str,
    /// The folder.
    pub(super) dir: PathBuf,
    /// Mode when created.
    pub(super) mode: u32,
    /// The run cannot go on without writing here (the cache can: it falls back elsewhere).
    pub(super) required: bool,
}

fn parent_of(p: &str) -> Option<PathBuf> {
    Path::new(p).parent().filter(|d| !d.as_os_str().is_empty()).map(Path::to_path_buf)
}

/// The folders `picket run` writes in: the EVE file's, the spool, the rule cache, and those
/// of the pidfile, the log file and the control socket. `eve` is the `--eve` file, if given.
pub(super) fn run_folders(cfg: &Config, eve: Option<&Path>) -> Vec<Folder> {
    let mut v = Vec::new();
    let mut add = |key, dir: Option<PathBuf>, mode, required| {
        if let Some(dir) = dir {
            if !v.iter().any(|f: &Folder| f.dir == dir) {
                v.push(Folder { key, dir, mode, required });
            }
        }
    };
    match eve {
        Some(p) if p.as_os_str() != "-" => add("--eve", p.parent().map(Path::to_path_buf), 0o750, true),
        Some(_) => {}
        None if cfg.output.eve.enabled && cfg.output.eve.filetype == crate::output::EveFiletype::Regular => {
            let key = if Path::new(&cfg.output.eve.filename).is_absolute() {
                "output.eve.filename"
            } else {
                "output.log_dir"
            };
            add(key, cfg.output.eve_path().parent().map(Path::to_path_buf), 0o750, true)
        }
        None => {}
    }
    if cfg.output.pcap_log.mode != crate::evidence::config::PcapLogMode::Off {
        let dir = if cfg.output.log_dir.is_empty() { "." } else { cfg.output.log_dir.as_str() };
        add("output.pcap_log", Some(PathBuf::from(dir)), 0o750, true);
    }
    let spool = (!cfg.output.spool_dir.is_empty()).then(|| PathBuf::from(&cfg.output.spool_dir));
    add("output.spool_dir", spool, 0o750, true);
    let cache = (!cfg.detect.cache_dir.is_empty()).then(|| PathBuf::from(&cfg.detect.cache_dir));
    add("detect.cache_dir", cache, 0o750, false);
    let fleet = (cfg.fleet.rules && !cfg.fleet.rules_dir.is_empty()).then(|| PathBuf::from(&cfg.fleet.rules_dir));
    add("fleet.rules_dir", fleet, 0o750, true);
    add("daemon.pidfile", parent_of(&cfg.daemon.pidfile), 0o755, true);
    add("daemon.log_file", parent_of(&cfg.daemon.log_file), 0o750, true);
    add("daemon.control_socket", parent_of(&cfg.daemon.control_socket), 0o755, false);
    v.retain(|f| f.dir.as_os_str() != "");
    v
}

/// Whether a folder that exists may be given to the run user: only Picket's own (its name
/// says picket, as systemd's StateDirectory=, LogsDirectory=, CacheDirectory= and
/// RuntimeDirectory= name them), never a shared one such as /var/log or /tmp.
fn is_own_folder(dir: &Path) -> bool {
    dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.to_ascii_lowercase().contains("picket"))
}

/// Creates the folders that do not exist and, when the run drops to `owner` (uid, gid),
/// gives it the ones it creates and the existing ones that are Picket's own. Call it while
/// still privileged. Returns what it did, for the log.
pub(super) fn prepare_folders(folders: &[Folder], owner: Option<(u32, u32)>) -> Result<Vec<String>, String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let mut done = Vec::new();
    for f in folders {
        let created = if f.dir.is_dir() {
            false
        } else {
            match std::fs::DirBuilder::new().recursive(true).mode(f.mode).create(&f.dir) {
                Ok(()) => true,
                Err(e) if f.required => return Err(format!("{}: cannot create {}: {e}", f.key, f.dir.display())),
                Err(_) => continue,
            }
        };
        let Some((uid, gid)) = owner else {
            if created {
                done.push(format!("created {} ({})", f.dir.display(), f.key));
            }
            continue;
        };
        let meta = std::fs::metadata(&f.dir).map_err(|e| format!("{}: {}: {e}", f.key, f.dir.display()))?;
        if meta.uid() == uid {
            continue;
        }
        if created || (meta.uid() == 0 && is_own_folder(&f.dir)) {
            match std::os::unix::fs::chown(&f.dir, Some(uid), Some(gid)) {
                Ok(()) => done.push(format!(
                    "{} {} ({}) and gave it to uid {uid}",
                    if created { "created" } else { "found" },
                    f.dir.display(),
                    f.key
                )),
                Err(e) if f.required => {
                    return Err(format!("{}: cannot give {} to uid {uid}: {e}", f.key, f.dir.display()))
                }
                Err(_) => {}
            }
        }
    }
    Ok(done)
}

/// After the privilege drop: every folder must be writable (a file can be made and removed).
/// A required one that is not is an error naming its key; the others are returned as warnings.
pub(super) fn check_writable(folders: &[Folder], who: &str) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    for f in folders {
        let probe = f.dir.join(format!(".picket-write-test-{}", std::process::id()));
        let r = std::fs::OpenOptions::new().write(true).create_new(true).open(&probe);
        match r {
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
            }
            Err(e) => {
                let msg = format!(
                    "{}: {} is not writable by {who}: {e} (create it owned by that user, or name a folder called picket that Picket may take over)",
                    f.key,
                    f.dir.display()
                );
                if f.required && f.key != "daemon.pidfile" {
                    return Err(msg);
                }
                warnings.push(if f.key == "daemon.pidfile" {
                    format!("{msg}: the pidfile will be left behind at exit")
                } else {
                    msg
                });
            }
        }
    }
    Ok(warnings)
}

/// Drops to `daemon.user` (and group) with no capability left, or warns when running as root
/// without one. Call it before any thread starts: the capability change is per thread.
pub(super) fn drop_privileges(cfg: &Config, log: &Log) -> anyhow::Result<()> {
    if !cfg.daemon.user.is_empty() {
        let (uid, gid) = resolve_ids(&cfg.daemon.user, &cfg.daemon.group).map_err(anyhow::Error::msg)?;
        crate::sys::drop_privileges(Some((uid, gid)), &[])
            .map_err(|e| anyhow::anyhow!("cannot drop privileges to {}: {e}", cfg.daemon.user))?;
        log.info(&format!("running as {} (uid {uid}, gid {gid}) with no capabilities", cfg.daemon.user));
    } else if crate::sys::geteuid() == 0 {
        log.warn("running as root: set daemon.user to drop privileges once the capture is open");
    }
    // Now the rule load's background compile may start (held by `load_at_start`).
    crate::detect::matcher::background::hold(false);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_resolve_from_passwd_lines() {
        let db = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n";
        assert_eq!(lookup(db, 0, "nobody", 2), Some(65534));
        assert_eq!(lookup(db, 0, "nobody", 3), Some(65534));
        assert_eq!(lookup(db, 0, "nosuch", 2), None);
        assert_eq!(find_by_id(db, 0, 3), Some(0));
    }
}
