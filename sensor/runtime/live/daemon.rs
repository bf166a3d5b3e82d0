//! What makes `picket run` a service: the pidfile, the user and group to run as, the resident
//! memory reading.

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

pub(super) struct Pidfile(PathBuf);

impl Pidfile {
    pub(super) fn create(path: &Path) -> anyhow::Result<Pidfile> {
        if let Ok(old) = std::fs::read_to_string(path) {
            if let Ok(pid) = old.trim().parse::<u32>() {
                if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() {
                    anyhow::bail!("{}: picket already runs as pid {pid}", path.display());
                }
            }
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| anyhow::anyhow!("{}: cannot write the pidfile: {e}", path.display()))?;
        Ok(Pidfile(path.to_path_buf()))
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
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
