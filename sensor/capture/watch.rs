//! `picket replay --watch`: a folder as a drop box (Suricata's `pcap-file.continuous`).
//!
//! Takes: folders, a poll interval, a stop flag (set by SIGINT/SIGTERM) and what to do with a
//! capture once read. Promises: the captures already there, then every capture that appears
//! below the folders later, are read once each, in name order within each scan (names starting
//! with `.` are skipped: write a capture under such a name, then rename it); a capture is taken
//! only when its size and modification time did not change over one poll interval, so a file
//! still being copied in is not read half-way. Flows, timeouts and rules carry on from one
//! capture to the next, as for a folder replayed at once. Once the stop flag is set, the capture
//! being read is finished and the replay ends as at the end of its input.
//!
//! Done captures are kept, deleted or moved below another folder (same relative path, never
//! overwriting: a name taken gets `.1`, `.2`, ...). A damaged capture is never deleted. What
//! fails to delete or move is a warning; nothing is retried.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::input::{expand_inputs, warn};
use super::pcap::{FileDone, PcapFileSource};
use super::{CaptureWarning, FileMarker, FrameRef, PacketSource, SourcePosition};

/// What happens to a capture once it has been read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DoneAction {
    /// Left where it is.
    Keep,
    /// Removed (not when it was damaged).
    Delete,
    /// Moved below this folder, under its path relative to the watched folder.
    MoveTo(PathBuf),
}

/// How to watch.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Time between two scans of the folders when there is nothing to read.
    pub poll: Duration,
    /// What to do with read captures.
    pub done: DoneAction,
    /// Set when the watch must end (the capture being read is finished first).
    pub stop: Arc<AtomicBool>,
}

impl WatchOptions {
    /// From `picket replay`'s options; SIGINT and SIGTERM set the stop flag from now on.
    pub fn from_cli(poll_secs: f64, delete_done: bool, move_done: Option<PathBuf>) -> anyhow::Result<Self> {
        if !(poll_secs.is_finite() && (0.01..=3600.0).contains(&poll_secs)) {
            anyhow::bail!("--watch-poll must be between 0.01 and 3600 seconds");
        }
        let stop = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(sig, stop.clone())?;
        }
        let done = match (delete_done, move_done) {
            (true, _) => DoneAction::Delete,
            (false, Some(d)) => DoneAction::MoveTo(d),
            (false, None) => DoneAction::Keep,
        };
        Ok(WatchOptions { poll: Duration::from_secs_f64(poll_secs), done, stop })
    }
}

/// A file source fed by scans of folders.
pub struct WatchSource {
    files: PcapFileSource,
    dirs: Vec<PathBuf>,
    opts: WatchOptions,
    /// Captures queued (or read), never queued again.
    taken: HashSet<PathBuf>,
    /// Captures seen but not yet settled: size and modification time at the last scan.
    settling: HashMap<PathBuf, (u64, Option<SystemTime>)>,
    last_scan: Option<Instant>,
    warnings: Vec<CaptureWarning>,
}

impl WatchSource {
    /// Watches `dirs` (each must be a folder).
    pub fn new(dirs: Vec<PathBuf>, opts: WatchOptions) -> Result<Self, String> {
        for d in &dirs {
            if !d.is_dir() {
                return Err(format!("{}: --watch takes folders, and this is not one", d.display()));
            }
        }
        if let DoneAction::MoveTo(to) = &opts.done {
            std::fs::create_dir_all(to).map_err(|e| format!("{}: cannot create the folder: {e}", to.display()))?;
            let to = to.canonicalize().unwrap_or_else(|_| to.clone());
            for d in &dirs {
                let d = d.canonicalize().unwrap_or_else(|_| d.clone());
                if to.starts_with(&d) {
                    return Err(format!(
                        "{}: the folder for done captures must not be below the watched folder {}",
                        to.display(),
                        d.display()
                    ));
                }
            }
        }
        let mut w = WatchSource {
            files: PcapFileSource::new(Vec::new()),
            dirs,
            opts,
            taken: HashSet::new(),
            settling: HashMap::new(),
            last_scan: None,
            warnings: Vec::new(),
        };
        // What is there at start is taken at once, as a folder replay would.
        w.scan(true);
        Ok(w)
    }

    /// The file source (its counts of files read, failed and damaged).
    pub fn files(&self) -> &PcapFileSource {
        &self.files
    }

    /// Queues the captures that appeared and settled since the last scan.
    fn scan(&mut self, initial: bool) {
        self.last_scan = Some(Instant::now());
        // Empty folders are normal here: expand_inputs' "no capture files" warning is not kept.
        let (found, _) = expand_inputs(&self.dirs);
        let mut ready = Vec::new();
        for p in found {
            if self.taken.contains(&p) {
                continue;
            }
            let Ok(m) = std::fs::metadata(&p) else { continue };
            let now = (m.len(), m.modified().ok());
            if initial || self.settling.get(&p) == Some(&now) {
                self.settling.remove(&p);
                ready.push(p);
            } else {
                self.settling.insert(p, now);
            }
        }
        // Captures that went away before they settled are forgotten.
        self.settling.retain(|p, _| p.exists());
        for p in ready {
            self.taken.insert(p.clone());
            self.files.push_file(p);
        }
    }

    /// Deletes or moves a capture that has been read.
    fn dispose(&mut self, done: &FileDone) {
        match &self.opts.done {
            DoneAction::Keep => {}
            DoneAction::Delete if done.damaged => self.warnings.push(warn(
                &done.path,
                None,
                "damaged: kept (--delete-done deletes only captures read in full)".into(),
            )),
            DoneAction::Delete => {
                if let Err(e) = std::fs::remove_file(&done.path) {
                    self.warnings.push(warn(&done.path, None, format!("read, but cannot be deleted: {e}")));
                }
            }
            DoneAction::MoveTo(to) => {
                let rel = self
                    .dirs
                    .iter()
                    .find_map(|d| done.path.strip_prefix(d).ok())
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| done.path.file_name().map(PathBuf::from).unwrap_or_default());
                if let Err(e) = move_unclobbered(&done.path, &to.join(rel)) {
                    self.warnings.push(warn(&done.path, None, format!("read, but cannot be moved: {e}")));
                }
            }
        }
    }
}

/// Moves `from` to `to`, or to `to.1`, `to.2`, ... when that name is taken. The new name is
/// claimed by a hard link (or, across file systems, a copy opened with `create_new`), which fails
/// rather than replace a file, even one that appears meanwhile; then `from` is removed.
fn move_unclobbered(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    for n in 0u32.. {
        let target = match n {
            0 => to.to_path_buf(),
            n => {
                let mut name = to.as_os_str().to_owned();
                name.push(format!(".{n}"));
                PathBuf::from(name)
            }
        };
        let claimed = match std::fs::hard_link(from, &target) {
            // EXDEV (18 on Linux): another file system.
            Err(e) if e.raw_os_error() == Some(18) => copy_new(from, &target),
            r => r,
        };
        match claimed {
            Ok(()) => return std::fs::remove_file(from),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free name"))
}

/// Copies `from` to a file `to` that must not exist yet.
fn copy_new(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut src = std::fs::File::open(from)?;
    let mut dst = std::fs::OpenOptions::new().write(true).create_new(true).open(to)?;
    std::io::copy(&mut src, &mut dst)?;
    dst.sync_all()
}

impl PacketSource for WatchSource {
    fn next_batch(&mut self, f: &mut dyn FnMut(FrameRef<'_>)) -> bool {
        if !self.files.is_idle() && self.files.next_batch(f) {
            return true;
        }
        if self.opts.stop.load(Ordering::Relaxed) {
            return false;
        }
        // Idle: scan at most once per poll interval, and come back to the reader in between
        // (with no frame) so that it can flush and show progress.
        let since = self.last_scan.map_or(self.opts.poll, |t| t.elapsed());
        if since < self.opts.poll {
            std::thread::sleep((self.opts.poll - since).min(Duration::from_millis(200)));
        }
        if self.last_scan.is_none_or(|t| t.elapsed() >= self.opts.poll) {
            self.scan(false);
        }
        true
    }

    fn take_warnings(&mut self) -> Vec<CaptureWarning> {
        let mut w = self.files.take_warnings();
        w.append(&mut self.warnings);
        w
    }

    fn position(&self) -> Option<SourcePosition> {
        self.files.position()
    }

    fn take_finished(&mut self) -> Vec<FileDone> {
        let done = self.files.take_finished();
        for d in &done {
            self.dispose(d);
        }
        done
    }

    fn file_marker(&self) -> Option<Arc<FileMarker>> {
        self.files.file_marker()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_never_overwrites() {
        let d = tempfile::tempdir().unwrap();
        let (a, b, to) = (d.path().join("a"), d.path().join("b"), d.path().join("out/x.pcap"));
        std::fs::write(&a, b"first").unwrap();
        std::fs::write(&b, b"second").unwrap();
        move_unclobbered(&a, &to).unwrap();
        move_unclobbered(&b, &to).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"first");
        assert_eq!(std::fs::read(d.path().join("out/x.pcap.1")).unwrap(), b"second");
        assert!(!a.exists() && !b.exists());
    }

    #[test]
    fn a_file_is_taken_once_it_has_settled() {
        let d = tempfile::tempdir().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let opts = WatchOptions { poll: Duration::from_millis(1), done: DoneAction::Keep, stop };
        std::fs::write(d.path().join("old.pcap"), b"x").unwrap();
        let mut w = WatchSource::new(vec![d.path().to_path_buf()], opts).unwrap();
        assert_eq!(w.files.files_total, 1, "what is there at start is taken at once");
        std::fs::write(d.path().join("new.pcap"), b"x").unwrap();
        std::fs::write(d.path().join(".partial.pcap"), b"x").unwrap();
        w.scan(false);
        assert_eq!(w.files.files_total, 1, "seen once: not settled yet");
        w.scan(false);
        assert_eq!(w.files.files_total, 2, "unchanged over one interval: taken");
        w.scan(false);
        assert_eq!(w.files.files_total, 2, "taken once; dot files never");
        assert!(WatchSource::new(vec![d.path().join("old.pcap")], w.opts.clone()).is_err());
    }
}
