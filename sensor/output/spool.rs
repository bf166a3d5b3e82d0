//! The local alert queue: an append-only spool of EVE JSON lines on disk.
//!
//! Layout of `output.spool_dir`: `segment-<20-digit number>.json` files, oldest first, and
//! `consumers/<name>.offset` holding `<segment> <byte offset>` for each reader. The writer (the
//! output thread) appends whole lines, rotates segments by size, deletes the oldest beyond the
//! retention size, and fsyncs on an interval (0 = after every batch). On open, a torn last line
//! left by a crash is cut (counted) so the queue holds whole lines only and nothing before the
//! tear is lost. Readers follow segments by offset and never see a partial line.
//!
//! Nothing is lost silently: data deleted before every consumer read it, time spent waiting
//! for consumers, and failed writes each have a counter.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{OutputConfig, SpoolPolicy};
use crate::metrics::{Counters, C};

/// A position in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// Segment number.
    pub segment: u64,
    /// Byte offset within it.
    pub offset: u64,
}

fn seg_name(n: u64) -> String {
    format!("segment-{n:020}.json")
}

/// Segment numbers present in `dir`, ascending.
pub fn segments(dir: &Path) -> Vec<u64> {
    let mut v: Vec<u64> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().to_string();
                    n.strip_prefix("segment-")?.strip_suffix(".json")?.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

fn consumers_dir(dir: &Path) -> PathBuf {
    dir.join("consumers")
}

/// Reads a consumer's saved position.
pub fn load_offset(dir: &Path, consumer: &str) -> Option<Position> {
    let s = fs::read_to_string(consumers_dir(dir).join(format!("{consumer}.offset"))).ok()?;
    let mut it = s.split_whitespace();
    Some(Position { segment: it.next()?.parse().ok()?, offset: it.next()?.parse().ok()? })
}

/// Saves a consumer's position (atomically: temp file + rename).
pub fn save_offset(dir: &Path, consumer: &str, p: Position) -> std::io::Result<()> {
    let cd = consumers_dir(dir);
    fs::create_dir_all(&cd)?;
    let tmp = cd.join(format!(".{consumer}.offset.tmp"));
    fs::write(&tmp, format!("{} {}\n", p.segment, p.offset))?;
    fs::rename(tmp, cd.join(format!("{consumer}.offset")))
}

/// The oldest position any consumer still needs (None when there are no consumers).
fn slowest_consumer(dir: &Path) -> Option<Position> {
    let rd = fs::read_dir(consumers_dir(dir)).ok()?;
    rd.filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            let name = n.strip_suffix(".offset")?;
            if name.starts_with('.') {
                return None;
            }
            load_offset(dir, name)
        })
        .min()
}

/// Bytes the slowest consumer has not read yet (everything, when there is no consumer).
pub fn unread_bytes(dir: &Path) -> u64 {
    let from = slowest_consumer(dir).unwrap_or_default();
    segments(dir)
        .into_iter()
        .filter(|&s| s >= from.segment)
        .filter_map(|s| fs::metadata(dir.join(seg_name(s))).ok().map(|m| (s, m.len())))
        .map(|(s, len)| if s == from.segment { len.saturating_sub(from.offset) } else { len })
        .sum()
}

/// The writer side.
pub struct Spool {
    dir: PathBuf,
    file: File,
    segment: u64,
    size: u64,
    cfg: OutputConfig,
    last_sync: Instant,
    dirty: bool,
}

impl Spool {
    /// Opens (creating) the queue in `cfg.spool_dir`, cutting a torn last line.
    pub fn open(cfg: &OutputConfig, c: &mut Counters) -> std::io::Result<Spool> {
        let dir = PathBuf::from(&cfg.spool_dir);
        fs::create_dir_all(&dir)?;
        let segs = segments(&dir);
        let segment = segs.last().copied().unwrap_or(1);
        let path = dir.join(seg_name(segment));
        let mut file = OpenOptions::new().create(true).read(true).append(true).open(&path)?;
        let len = file.metadata()?.len();
        let keep = whole_lines_len(&mut file, len)?;
        if keep < len {
            c.add(C::SpoolTornBytes, len - keep);
            file.set_len(keep)?;
            file.sync_data()?;
        }
        let s = Spool { dir, file, segment, size: keep, cfg: cfg.clone(), last_sync: Instant::now(), dirty: false };
        s.publish_levels(c);
        Ok(s)
    }

    /// Appends complete lines holding `events` events.
    pub fn append(&mut self, lines: &[u8], events: u64, c: &mut Counters) {
        if lines.is_empty() {
            return;
        }
        if self.size > 0 && self.size + lines.len() as u64 > self.cfg.spool_segment_bytes {
            if let Err(e) = self.rotate(c) {
                c.add(C::SpoolWriteErrors, events);
                let _ = e;
                return;
            }
        }
        let mut attempt = 0;
        loop {
            match self.file.write_all(lines) {
                Ok(()) => break,
                Err(e) if attempt == 0 && e.raw_os_error() == Some(28) => {
                    // Disk full: free the oldest segment as the policy allows, then retry once.
                    attempt += 1;
                    if !self.free_oldest(c) {
                        c.add(C::SpoolWriteErrors, events);
                        return;
                    }
                }
                Err(_) => {
                    c.add(C::SpoolWriteErrors, events);
                    return;
                }
            }
        }
        self.size += lines.len() as u64;
        self.dirty = true;
        c.add(C::SpoolBytes, lines.len() as u64);
        c.add(C::SpoolEvents, events);
        let interval = Duration::from_millis(self.cfg.spool_fsync_interval_ms);
        if self.cfg.spool_fsync_interval_ms == 0 || self.last_sync.elapsed() >= interval {
            self.sync(c);
        }
    }

    /// Makes everything appended so far durable.
    pub fn sync(&mut self, c: &mut Counters) {
        if self.dirty {
            if self.file.sync_data().is_err() {
                c.inc(C::SpoolWriteErrors);
            }
            c.inc(C::SpoolFsyncs);
            self.dirty = false;
        }
        self.last_sync = Instant::now();
        self.publish_levels(c);
    }

    /// Sets the queue's level gauges (`output.spool.size_bytes`, `output.spool.unread_bytes`):
    /// the output thread owns the queue, so it measures it, and metrics only reads counters.
    pub fn publish_levels(&self, c: &mut Counters) {
        c.set(C::SpoolSizeBytes, self.total_size());
        c.set(C::SpoolUnreadBytes, unread_bytes(&self.dir));
    }

    fn rotate(&mut self, c: &mut Counters) -> std::io::Result<()> {
        self.sync(c);
        self.segment += 1;
        self.file =
            OpenOptions::new().create(true).read(true).append(true).open(self.dir.join(seg_name(self.segment)))?;
        self.size = 0;
        c.inc(C::SpoolSegments);
        self.enforce_retention(c);
        Ok(())
    }

    fn total_size(&self) -> u64 {
        segments(&self.dir).iter().filter_map(|s| fs::metadata(self.dir.join(seg_name(*s))).ok()).map(|m| m.len()).sum()
    }

    fn enforce_retention(&mut self, c: &mut Counters) {
        while self.total_size() > self.cfg.spool_retention_bytes {
            if !self.free_oldest(c) {
                break;
            }
        }
    }

    /// Deletes the oldest closed segment, respecting the policy. False when nothing could go.
    fn free_oldest(&mut self, c: &mut Counters) -> bool {
        let segs = segments(&self.dir);
        let Some(&oldest) = segs.first() else { return false };
        if oldest == self.segment {
            return false;
        }
        let path = self.dir.join(seg_name(oldest));
        let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let unread = match slowest_consumer(&self.dir) {
            Some(p) if p.segment < oldest => len,
            Some(p) if p.segment == oldest => len.saturating_sub(p.offset),
            Some(_) => 0,
            None => 0,
        };
        if unread > 0 && self.cfg.spool_full_policy == SpoolPolicy::Block {
            // Wait (bounded per call) for the slowest consumer to move past this segment.
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(1) {
                std::thread::sleep(Duration::from_millis(20));
                if slowest_consumer(&self.dir).is_none_or(|p| p.segment > oldest) {
                    break;
                }
            }
            c.inc(C::SpoolBlockWaits);
            if slowest_consumer(&self.dir).is_some_and(|p| p.segment <= oldest) {
                return false;
            }
        } else if unread > 0 {
            c.add(C::SpoolDroppedBytes, unread);
        }
        if fs::remove_file(&path).is_ok() {
            c.inc(C::SpoolDeletedSegments);
            true
        } else {
            false
        }
    }
}

/// Length of `file` up to and including its last newline.
fn whole_lines_len(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut pos = len;
    let mut buf = [0u8; 4096];
    while pos > 0 {
        let n = (pos as usize).min(buf.len());
        file.seek(SeekFrom::Start(pos - n as u64))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(pos - n as u64 + i as u64 + 1);
        }
        pos -= n as u64;
    }
    Ok(0)
}

/// A reader of the queue, from a position, returning whole lines only.
pub struct Reader {
    dir: PathBuf,
    /// Where the next read starts.
    pub pos: Position,
    /// Segments found deleted (by retention) before this reader reached them.
    pub skipped_segments: u64,
}

impl Reader {
    /// A reader at `pos` (or the oldest segment's start).
    pub fn new(dir: &Path, pos: Option<Position>) -> Reader {
        let first = segments(dir).first().copied().unwrap_or(1);
        let pos = match pos {
            Some(p) if p.segment >= first => p,
            _ => Position { segment: first, offset: 0 },
        };
        Reader { dir: dir.to_path_buf(), pos, skipped_segments: 0 }
    }

    /// Appends the next available whole lines to `out` (up to about `max` bytes); returns how
    /// many bytes were added (0 = nothing new yet).
    pub fn read(&mut self, out: &mut Vec<u8>, max: usize) -> std::io::Result<usize> {
        loop {
            let path = self.dir.join(seg_name(self.pos.segment));
            let mut f = match File::open(&path) {
                Ok(f) => f,
                Err(_) => {
                    // Deleted by retention: skip to the oldest remaining segment.
                    match segments(&self.dir).into_iter().find(|&s| s > self.pos.segment) {
                        Some(s) => {
                            self.skipped_segments += s - self.pos.segment;
                            self.pos = Position { segment: s, offset: 0 };
                            continue;
                        }
                        None => return Ok(0),
                    }
                }
            };
            let len = f.metadata()?.len();
            if self.pos.offset < len {
                f.seek(SeekFrom::Start(self.pos.offset))?;
                let want = ((len - self.pos.offset) as usize).min(max.max(1 << 16));
                let start = out.len();
                out.resize(start + want, 0);
                let n = f.read(&mut out[start..])?;
                out.truncate(start + n);
                // Only whole lines.
                match out[start..].iter().rposition(|&b| b == b'\n') {
                    Some(i) => {
                        out.truncate(start + i + 1);
                        self.pos.offset += (i + 1) as u64;
                        return Ok(i + 1);
                    }
                    None => {
                        out.truncate(start);
                        return Ok(0);
                    }
                }
            }
            // End of this segment: move on only if a newer one exists.
            match segments(&self.dir).into_iter().find(|&s| s > self.pos.segment) {
                Some(s) => self.pos = Position { segment: s, offset: 0 },
                None => return Ok(0),
            }
        }
    }
}

/// Keeps the lines of `buf` whose `event_type` is one of `types`.
pub fn keep_event_types(buf: &mut Vec<u8>, types: &[String]) {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        event_type: Option<std::borrow::Cow<'a, str>>,
    }
    let mut out = Vec::with_capacity(buf.len());
    for line in buf.split_inclusive(|&b| b == b'\n') {
        let t = serde_json::from_slice::<Head<'_>>(line.trim_ascii_end()).ok().and_then(|h| h.event_type);
        if t.is_some_and(|t| types.iter().any(|w| *w == t)) {
            out.extend_from_slice(line);
        }
    }
    *buf = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path, seg: u64, ret: u64) -> OutputConfig {
        OutputConfig {
            spool_dir: dir.display().to_string(),
            spool_segment_bytes: seg,
            spool_retention_bytes: ret,
            spool_fsync_interval_ms: 0,
            ..OutputConfig::default()
        }
    }

    #[test]
    fn append_rotate_read_back_in_order() {
        let d = tempfile::tempdir().unwrap();
        let mut c = Counters::new();
        let mut s = Spool::open(&cfg(d.path(), 4096, 1 << 20), &mut c).unwrap();
        for i in 0..1000 {
            s.append(format!("{{\"n\":{i}}}\n").as_bytes(), 1, &mut c);
        }
        assert!(c.get(C::SpoolSegments) >= 2);
        let mut r = Reader::new(d.path(), None);
        let mut out = Vec::new();
        while r.read(&mut out, 1 << 20).unwrap() > 0 {}
        let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[999], "{\"n\":999}");
    }

    #[test]
    fn torn_last_line_is_cut_on_open() {
        let d = tempfile::tempdir().unwrap();
        let mut c = Counters::new();
        {
            let mut s = Spool::open(&cfg(d.path(), 1 << 20, 1 << 22), &mut c).unwrap();
            s.append(b"{\"a\":1}\n{\"a\":2}\n", 2, &mut c);
        }
        let seg = d.path().join(seg_name(1));
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(b"{\"a\":3, \"tor").unwrap();
        let mut c2 = Counters::new();
        let mut s = Spool::open(&cfg(d.path(), 1 << 20, 1 << 22), &mut c2).unwrap();
        assert_eq!(c2.get(C::SpoolTornBytes), 12);
        s.append(b"{\"a\":4}\n", 1, &mut c2);
        assert_eq!(fs::read_to_string(&seg).unwrap(), "{\"a\":1}\n{\"a\":2}\n{\"a\":4}\n");
    }

    #[test]
    fn retention_drops_oldest_and_counts_unread() {
        let d = tempfile::tempdir().unwrap();
        let mut c = Counters::new();
        let mut s = Spool::open(&cfg(d.path(), 4096, 16384), &mut c).unwrap();
        save_offset(d.path(), "slow", Position { segment: 1, offset: 0 }).unwrap();
        let line = vec![b'x'; 1000];
        for _ in 0..100 {
            let mut l = line.clone();
            l.push(b'\n');
            s.append(&l, 1, &mut c);
        }
        assert!(c.get(C::SpoolDeletedSegments) > 0);
        assert!(c.get(C::SpoolDroppedBytes) > 0, "unread data deleted must be counted");
        let total: u64 =
            segments(d.path()).iter().map(|n| fs::metadata(d.path().join(seg_name(*n))).unwrap().len()).sum();
        assert!(total <= 16384 + 4096, "retention exceeded: {total}");
        // a reader whose segment was deleted continues at the oldest remaining one
        let mut r = Reader::new(d.path(), load_offset(d.path(), "slow"));
        let mut out = Vec::new();
        assert!(r.read(&mut out, 1 << 20).unwrap() > 0);
    }
}
