//! The output thread's side of `output.pcap_log`: the workers' evidence records written to
//! rotating classic pcap files in `output.log_dir`.
//!
//! A file is `<filename>.<secs>` (packet time of its first packet; `.1`, `.2`, ... added when
//! that name is taken: a file is never overwritten or truncated); it is closed before a packet
//! would take it past `limit` bytes, and when the link type changes (a pcap file has one). At
//! most `max_files` files are started per run: beyond, packets are counted
//! (`output.pcap_log.cut_max_files`), and nothing is deleted. Writes go through a buffered
//! writer (the workers' records arrive a batch at a time), so there is no syscall per packet.
//! Files are microsecond pcap (magic `a1b2c3d4`), little-endian, as Suricata's pcap-log.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::config::{PcapLogConfig, PcapLogMode};
use super::tap::records;
use crate::capture::{LinkType, Timestamp};
use crate::metrics::{Counters, C};

/// Snapshot length written in the files' headers.
const SNAPLEN: u32 = 262_144;
/// Size of a pcap global header.
const GLOBAL_HEADER: u64 = 24;
/// Size of a pcap record header.
const RECORD_HEADER: u64 = 16;

struct Open {
    w: BufWriter<File>,
    size: u64,
    linktype: LinkType,
}

/// The pcap-log writer of the output thread.
pub(crate) struct PcapLogWriter {
    dir: PathBuf,
    prefix: String,
    limit: u64,
    max_files: u64,
    started: u64,
    cur: Option<Open>,
    cur_name: Option<PathBuf>,
    /// Every file started, in order.
    pub files: Vec<PathBuf>,
    /// The first error met (for the summary).
    pub first_error: Option<String>,
}

impl PcapLogWriter {
    /// A writer for `cfg` under `log_dir` (`None` when `cfg.mode` is off). The folder is
    /// created when missing.
    pub(crate) fn new(cfg: &PcapLogConfig, log_dir: &str) -> std::io::Result<Option<PcapLogWriter>> {
        if cfg.mode == PcapLogMode::Off {
            return Ok(None);
        }
        let dir = PathBuf::from(if log_dir.is_empty() { "." } else { log_dir });
        std::fs::create_dir_all(&dir)?;
        Ok(Some(PcapLogWriter {
            dir,
            prefix: cfg.filename.trim().to_string(),
            limit: cfg.limit,
            max_files: cfg.max_files,
            started: 0,
            cur: None,
            cur_name: None,
            files: Vec::new(),
            first_error: None,
        }))
    }

    /// The file being written, if any (what alerts name as `capture_file`).
    pub(crate) fn current(&self) -> Option<&Path> {
        self.cur_name.as_deref()
    }

    /// Writes a buffer of the workers' records ([`super::tap`]).
    pub(crate) fn write_records(&mut self, buf: &[u8], c: &mut Counters) {
        for (ts, lt, data) in records(buf) {
            self.write(ts, lt, data, c);
        }
    }

    fn write(&mut self, ts: Timestamp, lt: LinkType, data: &[u8], c: &mut Counters) {
        let len = RECORD_HEADER + data.len() as u64;
        let rotate = match &self.cur {
            Some(o) => o.linktype != lt || (o.size + len > self.limit && o.size > GLOBAL_HEADER),
            None => true,
        };
        if rotate && !self.start(ts, lt, c) {
            return;
        }
        let Some(o) = self.cur.as_mut() else { return };
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(ts.secs() as u32).to_le_bytes());
        h[4..8].copy_from_slice(&ts.subsec_micros().to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&(data.len() as u32).to_le_bytes());
        match o.w.write_all(&h).and_then(|_| o.w.write_all(data)) {
            Ok(()) => {
                o.size += len;
                c.inc(C::PcapLogWritten);
                c.add(C::PcapLogBytes, len);
            }
            Err(e) => {
                c.inc(C::PcapLogWriteErrors);
                self.error(format!("{}: {e}", self.cur_name.as_deref().unwrap_or(&self.dir).display()));
            }
        }
    }

    fn error(&mut self, e: String) {
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    /// Closes the current file and starts the next; false (the packet counted) when no file
    /// can be started.
    fn start(&mut self, ts: Timestamp, lt: LinkType, c: &mut Counters) -> bool {
        self.close(c);
        if self.started >= self.max_files {
            c.inc(C::PcapLogCutMaxFiles);
            return false;
        }
        self.started += 1;
        let base = format!("{}.{}", self.prefix, ts.secs());
        let mut opened = None;
        for n in 0..10_000u32 {
            let name = if n == 0 { base.clone() } else { format!("{base}.{n}") };
            let path = self.dir.join(&name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => {
                    opened = Some((f, path));
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    self.error(format!("{}: cannot create: {e}", path.display()));
                    break;
                }
            }
        }
        let Some((f, path)) = opened else {
            c.inc(C::PcapLogWriteErrors);
            return false;
        };
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&lt.0.to_le_bytes());
        if let Err(e) = w.write_all(&h) {
            c.inc(C::PcapLogWriteErrors);
            self.error(format!("{}: {e}", path.display()));
            return false;
        }
        c.inc(C::PcapLogFiles);
        self.files.push(path.clone());
        self.cur = Some(Open { w, size: GLOBAL_HEADER, linktype: lt });
        self.cur_name = Some(path);
        true
    }

    fn close(&mut self, c: &mut Counters) {
        if let Some(mut o) = self.cur.take() {
            if let Err(e) = o.w.flush() {
                c.inc(C::PcapLogWriteErrors);
                self.error(format!("{}: {e}", self.cur_name.as_deref().unwrap_or(&self.dir).display()));
            }
        }
    }

    /// Flushes what is buffered (end of a run); the file stays current.
    pub(crate) fn flush(&mut self, c: &mut Counters) {
        if let Some(o) = self.cur.as_mut() {
            if let Err(e) = o.w.flush() {
                c.inc(C::PcapLogWriteErrors);
                let what = self.cur_name.as_deref().unwrap_or(&self.dir).display().to_string();
                self.error(format!("{what}: {e}"));
            }
        }
    }
}
