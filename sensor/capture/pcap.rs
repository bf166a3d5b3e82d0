//! pcap and pcapng files, read with rusticata's `pcap-parser`.
//!
//! The file is read in chunks of [`CHUNK`] bytes into shared [`Bytes`]; records are parsed in
//! place and lent as slices of the chunk, so a frame sent to a worker is a reference count,
//! not a copy. A record cut by the chunk end is carried into the next chunk.
//!
//! Damage handling: a bad magic number, a truncated header, a record that claims more than
//! [`MAX_RECORD`] bytes or more bytes than the file has, and a garbled pcapng block each end
//! that file with a [`CaptureWarning`] naming the byte offset; the frames before it are lent
//! normally. Zero-length records are lent (the decoder counts them as too small).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use pcap_parser::nom;
use pcap_parser::pcapng::{Block, SectionHeaderBlock};
use pcap_parser::PcapError;

use super::{CaptureWarning, FrameRef, LinkType, PacketSource, SourcePosition, Timestamp};

/// Bytes read from the file at a time. Queued batches hold their chunks until the workers are
/// done with them, so the chunk size multiplies the memory in flight: mix8 with 2 workers
/// peaked 12 MB higher with 1 MiB chunks than with these, at the same speed.
pub const CHUNK: usize = 256 << 10;
/// Largest record accepted (libpcap's maximum snaplen); larger means a corrupt file.
pub const MAX_RECORD: u32 = 262_144;
/// Largest pcapng block accepted (non-packet blocks can be larger than packets).
pub const MAX_BLOCK: usize = 16 << 20;

pub use super::input::expand_inputs;
use super::input::{open_stream, warn, Compression};

#[derive(Clone, Copy, Debug)]
enum Format {
    Pcap { big_endian: bool, nanos: bool, modified: bool, linktype: LinkType, snaplen: u32 },
    PcapNg { big_endian: bool },
}

#[derive(Clone, Copy, Debug)]
struct NgIface {
    linktype: LinkType,
    /// Timestamp units per second.
    resolution: u64,
    offset_secs: i64,
    snaplen: u32,
}

struct OpenFile {
    path: PathBuf,
    file: Box<dyn Read + Send>,
    compression: Option<Compression>,
    /// Bytes of the file on disk read so far (compressed bytes when compressed).
    file_read: Arc<AtomicU64>,
    file_len: u64,
    /// Frames lent from this file.
    frames: u64,
    format: Format,
    /// Unparsed bytes carried from the previous chunk.
    carry: BytesMut,
    /// Bytes the record at `carry[0]` needs in all (0: unknown): the next chunk holds at least
    /// that many, so a record as large as a chunk or larger is read whole, never re-parsed
    /// from the same bytes forever.
    need: usize,
    /// File offset of `carry[0]`.
    offset: u64,
    eof: bool,
    ifaces: Vec<NgIface>,
    last_ts: Timestamp,
}

/// A file the source finished with (for a per-file line and progress).
#[derive(Clone, Debug)]
pub struct FileDone {
    /// The file.
    pub path: PathBuf,
    /// Frames lent from it.
    pub frames: u64,
    /// Its compression, if any.
    pub compression: Option<Compression>,
    /// Size on disk.
    pub bytes: u64,
    /// Unreadable or damaged (see [`PcapFileSource::files_damaged`]).
    pub damaged: bool,
}

/// Reads a list of capture files one after the other (more can be queued while it runs).
pub struct PcapFileSource {
    files: std::collections::VecDeque<PathBuf>,
    cur: Option<OpenFile>,
    warnings: Vec<CaptureWarning>,
    finished: Vec<FileDone>,
    /// Files opened and read (at least their header).
    pub files_opened: u64,
    /// Files that could not be opened or were cut short by damage.
    pub files_failed: u64,
    /// Files whose loss the exit status must show: unreadable, not a capture, damaged before
    /// their first frame, or with a corrupt or truncated compressed stream. (A plain capture
    /// cut inside a later record, as when tcpdump is killed, keeps what it held and is only
    /// warned about and counted in `files_failed`.)
    pub files_damaged: u64,
    /// Frames lent so far.
    pub frames: u64,
    /// Records whose captured length exceeded the file's snaplen.
    pub over_snaplen: u64,
    /// Files queued in all (read, being read, waiting).
    pub files_total: u64,
    /// Bytes on disk of the files finished (read to their end or abandoned).
    pub bytes_done: u64,
    /// Files finished.
    pub files_done: u64,
    /// Bytes on disk of every file queued (as found when queued).
    pub bytes_total: u64,
    /// The file being read, for the reader's callback (see `PacketSource::file_marker`).
    marker: std::sync::Arc<crate::capture::FileMarker>,
}

impl PcapFileSource {
    /// A source over these files, read in order.
    pub fn new(files: Vec<PathBuf>) -> Self {
        let bytes_total = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
        PcapFileSource {
            files_total: files.len() as u64,
            files_done: 0,
            bytes_total,
            files: files.into(),
            cur: None,
            warnings: Vec::new(),
            finished: Vec::new(),
            files_opened: 0,
            files_failed: 0,
            files_damaged: 0,
            frames: 0,
            over_snaplen: 0,
            bytes_done: 0,
            marker: Default::default(),
        }
    }

    /// Queues one more file, read after the others.
    pub fn push_file(&mut self, path: PathBuf) {
        self.files_total += 1;
        self.bytes_total += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        self.files.push_back(path);
    }

    /// Nothing being read and nothing queued.
    pub fn is_idle(&self) -> bool {
        self.cur.is_none() && self.files.is_empty()
    }

    /// The files finished since the last call.
    pub fn take_finished(&mut self) -> Vec<FileDone> {
        std::mem::take(&mut self.finished)
    }

    /// Bytes on disk read so far: the finished files and the position in the current one.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_done
            + self.cur.as_ref().map_or(0, |c| {
                // a plain file's position is where its records were parsed to (its reader
                // counts nothing, see `open_stream`)
                let at = if c.compression.is_some() { c.file_read.load(Ordering::Relaxed) } else { c.offset };
                at.min(c.file_len)
            })
    }

    /// The file being read.
    pub fn current(&self) -> Option<&Path> {
        self.cur.as_ref().map(|c| c.path.as_path())
    }

    fn open_next(&mut self) -> bool {
        while let Some(path) = self.files.pop_front() {
            match open_file(&path) {
                Ok(f) => {
                    self.files_opened += 1;
                    self.marker.opened(&path);
                    self.cur = Some(f);
                    return true;
                }
                Err(w) => {
                    self.files_failed += 1;
                    self.files_damaged += 1;
                    self.warnings.push(w);
                    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    self.bytes_done += bytes;
                    self.files_done += 1;
                    self.finished.push(FileDone { path, frames: 0, compression: None, bytes, damaged: true });
                }
            }
        }
        false
    }

    /// Ends the current file; `damage` when it ended on damage (its warning already pushed).
    fn close_current(&mut self, damage: bool, stream_error: bool) {
        let Some(cur) = self.cur.take() else { return };
        if damage {
            self.files_failed += 1;
        }
        let damaged = stream_error || (damage && cur.frames == 0);
        if damaged {
            self.files_damaged += 1;
        }
        self.bytes_done += cur.file_len;
        self.files_done += 1;
        self.finished.push(FileDone {
            path: cur.path,
            frames: cur.frames,
            compression: cur.compression,
            bytes: cur.file_len,
            damaged,
        });
    }
}

fn read_full(file: &mut dyn Read, buf: &mut BytesMut, want: usize) -> std::io::Result<bool> {
    // Reads until `buf` holds `want` bytes or the file ends; returns true at EOF. Through
    // `read_to_end`, a plain file is read into the buffer's spare capacity without zeroing it
    // first (the chunks are fresh allocations: a `resize` would write each byte twice).
    if buf.len() >= want {
        return Ok(false);
    }
    let mut v = Vec::from(std::mem::take(buf));
    v.reserve_exact(want - v.len());
    let limit = (want - v.len()) as u64;
    // Bytes read before an error stay in `v` (read_to_end's contract).
    let r = file.take(limit).read_to_end(&mut v);
    let eof = v.len() < want;
    *buf = BytesMut::from(Bytes::from(v));
    r.map(|_| eof)
}

/// The reason given for a read error: for a compressed file, a corrupt or truncated stream.
fn read_error(compression: Option<Compression>, e: &std::io::Error) -> String {
    match compression {
        Some(c) => format!("{} stream corrupt or truncated: {e}", c.name()),
        None => format!("read error: {e}"),
    }
}

fn open_file(path: &Path) -> Result<OpenFile, CaptureWarning> {
    let stream = open_stream(path).map_err(|e| warn(path, None, format!("cannot open: {e}")))?;
    let compression = stream.compression;
    let mut file = stream.reader;
    let mut head = BytesMut::with_capacity(CHUNK);
    let eof = read_full(&mut *file, &mut head, 28).map_err(|e| warn(path, Some(0), read_error(compression, &e)))?;
    if head.len() < 4 {
        return Err(warn(
            path,
            Some(0),
            format!("not a capture: file has {} bytes, too short for a magic number", head.len()),
        ));
    }
    // In bounds: head.len() >= 4 is checked above.
    let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let (format, hdr_len) = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34 | 0xd4c3_b2a1 | 0x4d3c_b2a1 | 0x34cd_b2a1 => {
            if head.len() < 24 {
                return Err(warn(path, Some(0), format!("truncated pcap header: {} of 24 bytes", head.len())));
            }
            // In bounds: head.len() >= 24 is checked above.
            let (_, h) = pcap_parser::parse_pcap_header(&head[..24])
                .map_err(|e| warn(path, Some(0), format!("bad pcap header: {e:?}")))?;
            let linktype = LinkType(h.network.0 as u32 & 0x0fff_ffff);
            let modified = h.is_modified_format() || magic == 0x34cd_b2a1;
            (
                Format::Pcap {
                    big_endian: h.is_bigendian(),
                    nanos: h.is_nanosecond_precision(),
                    modified,
                    linktype,
                    snaplen: h.snaplen,
                },
                24usize,
            )
        }
        0x0a0d_0d0a => {
            // Section header: parse the whole block (its length is at offset 4).
            if head.len() < 12 {
                return Err(warn(path, Some(0), "truncated pcapng section header".into()));
            }
            // In bounds: head.len() >= 12 is checked above.
            let bom = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
            let big = bom == 0x4d3c_2b1a;
            let blen = if big {
                u32::from_be_bytes([head[4], head[5], head[6], head[7]])
            } else {
                u32::from_le_bytes([head[4], head[5], head[6], head[7]])
            } as usize;
            if !(28..=MAX_BLOCK).contains(&blen) {
                return Err(warn(path, Some(4), format!("bad pcapng section header length {blen}")));
            }
            if !eof {
                let _ = read_full(&mut *file, &mut head, blen)
                    .map_err(|e| warn(path, Some(0), read_error(compression, &e)))?;
            }
            if head.len() < blen {
                return Err(warn(
                    path,
                    Some(0),
                    format!("truncated pcapng section header: {} of {blen} bytes", head.len()),
                ));
            }
            // In bounds: head.len() >= blen is checked above.
            let shb: SectionHeaderBlock = match pcap_parser::pcapng::parse_sectionheaderblock(&head[..blen]) {
                Ok((_, b)) => b,
                Err(e) => return Err(warn(path, Some(0), format!("bad pcapng section header: {e:?}"))),
            };
            (Format::PcapNg { big_endian: shb.big_endian() }, blen)
        }
        _ => {
            let what = match compression {
                Some(c) => format!("{} stream holds no pcap or pcapng file (magic number 0x{magic:08x})", c.name()),
                None => format!("not a pcap or pcapng file (magic number 0x{magic:08x})"),
            };
            return Err(warn(path, Some(0), what));
        }
    };
    let carry = head.split_off(hdr_len);
    Ok(OpenFile {
        path: path.to_path_buf(),
        file,
        compression,
        file_read: stream.file_read,
        file_len: stream.file_len,
        frames: 0,
        format,
        carry,
        need: 0,
        offset: hdr_len as u64,
        eof,
        ifaces: Vec::new(),
        last_ts: Timestamp(0),
    })
}

enum Step {
    /// A frame at (start, len) within the chunk, and its metadata.
    Frame { start: usize, len: usize, ts: Timestamp, orig_len: u32, linktype: LinkType, iface: u16 },
    /// A block with no frame (pcapng metadata), consumed.
    Skip,
    /// More bytes needed than the chunk holds.
    Incomplete(usize),
    /// Damage: stop this file.
    Stop(String),
}

impl OpenFile {
    fn parse_one(&mut self, buf: &[u8], over_snaplen: &mut u64) -> (usize, Step) {
        match self.format {
            Format::Pcap { big_endian, nanos, modified, linktype, snaplen } => {
                let rec = PcapRecord { big_endian, nanos, modified, linktype, snaplen };
                parse_pcap_record(buf, rec, over_snaplen)
            }
            Format::PcapNg { big_endian } => self.parse_ng_block(buf, big_endian, over_snaplen),
        }
    }

    /// One pcapng block: a section header (new byte order and interfaces), an interface
    /// description, a packet, or something skipped.
    fn parse_ng_block(&mut self, buf: &[u8], big_endian: bool, over_snaplen: &mut u64) -> (usize, Step) {
        if buf.len() < 12 {
            return (0, Step::Incomplete(12));
        }
        // In bounds: rd reads o..o + 4 with o = 0 or 4 only, and buf.len() >= 12 is checked above.
        let rd = |o: usize| {
            let b = [buf[o], buf[o + 1], buf[o + 2], buf[o + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let btype = rd(0);
        let blen = rd(4) as usize;
        if btype == 0x0a0d_0d0a {
            // A new section: its own byte order, its own interfaces.
            // In bounds: buf.len() >= 12 is checked above.
            let bom = u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]);
            let big = bom == 0x4d3c_2b1a;
            let blen = if big {
                u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]])
            } else {
                u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]])
            } as usize;
            if !(28..=MAX_BLOCK).contains(&blen) || blen % 4 != 0 {
                return (0, Step::Stop(format!("bad pcapng section header length {blen}")));
            }
            if buf.len() < blen {
                return (0, Step::Incomplete(blen));
            }
            self.format = Format::PcapNg { big_endian: big };
            self.ifaces.clear();
            return (blen, Step::Skip);
        }
        if blen < 12 || blen % 4 != 0 || blen > MAX_BLOCK {
            return (0, Step::Stop(format!("pcapng block of type 0x{btype:08x} has an invalid length {blen}")));
        }
        if buf.len() < blen {
            return (0, Step::Incomplete(blen));
        }
        // In bounds: buf.len() >= blen is checked above.
        let block = if big_endian {
            pcap_parser::pcapng::parse_block_be(&buf[..blen])
        } else {
            pcap_parser::pcapng::parse_block_le(&buf[..blen])
        };
        let block = match block {
            Ok((_, b)) => b,
            Err(e) => return (0, Step::Stop(format!("bad pcapng block of type 0x{btype:08x}: {}", ng_err(&e)))),
        };
        self.ng_step(block, blen, over_snaplen)
    }

    /// What a parsed pcapng block of `blen` bytes gives.
    fn ng_step(&mut self, block: Block<'_>, blen: usize, over_snaplen: &mut u64) -> (usize, Step) {
        match block {
            Block::InterfaceDescription(idb) => {
                let resolution = idb.ts_resolution().unwrap_or(1_000_000).max(1);
                self.ifaces.push(NgIface {
                    linktype: LinkType(idb.linktype.0 as u32),
                    resolution,
                    offset_secs: idb.ts_offset(),
                    snaplen: idb.snaplen,
                });
                (blen, Step::Skip)
            }
            Block::EnhancedPacket(epb) => {
                let Some(ifc) = self.ifaces.get(epb.if_id as usize).copied() else {
                    return (
                        blen,
                        Step::Stop(format!(
                            "packet block names interface {} but only {} are described",
                            epb.if_id,
                            self.ifaces.len()
                        )),
                    );
                };
                let caplen = epb.caplen as usize;
                // data starts 28 bytes into the block
                if caplen > epb.data.len() || 28 + caplen > blen {
                    return (
                        blen,
                        Step::Stop(format!("packet block claims {caplen} captured bytes but holds {}", epb.data.len())),
                    );
                }
                if ifc.snaplen != 0 && epb.caplen > ifc.snaplen {
                    *over_snaplen += 1;
                }
                let units = ((epb.ts_high as u64) << 32) | epb.ts_low as u64;
                let ns = (units as u128 * 1_000_000_000u128 / ifc.resolution as u128) as i128
                    + ifc.offset_secs as i128 * 1_000_000_000;
                let ts = Timestamp(ns.clamp(0, u64::MAX as i128) as u64);
                self.last_ts = ts;
                (
                    blen,
                    Step::Frame {
                        start: 28,
                        len: caplen,
                        ts,
                        orig_len: epb.origlen,
                        linktype: ifc.linktype,
                        iface: epb.if_id.min(u16::MAX as u32) as u16,
                    },
                )
            }
            Block::SimplePacket(spb) => {
                let Some(ifc) = self.ifaces.first().copied() else {
                    return (blen, Step::Stop("simple packet block before any interface description".into()));
                };
                let caplen =
                    (spb.origlen as usize).min(blen.saturating_sub(16)).min(ifc.snaplen.max(MAX_RECORD) as usize);
                (
                    blen,
                    Step::Frame {
                        start: 12,
                        len: caplen,
                        ts: self.last_ts,
                        orig_len: spb.origlen,
                        linktype: ifc.linktype,
                        iface: 0,
                    },
                )
            }
            _ => (blen, Step::Skip),
        }
    }
}

/// The record format of a classic pcap file.
#[derive(Clone, Copy)]
struct PcapRecord {
    big_endian: bool,
    nanos: bool,
    modified: bool,
    linktype: LinkType,
    snaplen: u32,
}

/// One classic pcap record.
fn parse_pcap_record(buf: &[u8], rec: PcapRecord, over_snaplen: &mut u64) -> (usize, Step) {
    let PcapRecord { big_endian, nanos, modified, linktype, snaplen } = rec;
    let hdr = if modified { 24 } else { 16 };
    if buf.len() < hdr {
        return (0, Step::Incomplete(hdr));
    }
    // In bounds: rd reads o..o + 4 with o = 8 only, and buf.len() >= hdr >= 16 is checked above.
    let rd = |o: usize| {
        let b = [buf[o], buf[o + 1], buf[o + 2], buf[o + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let caplen = rd(8);
    if caplen > MAX_RECORD {
        return (0, Step::Stop(format!("record claims {caplen} captured bytes, more than the maximum {MAX_RECORD}; the file is damaged from here")));
    }
    let total = hdr + caplen as usize;
    if buf.len() < total {
        return (0, Step::Incomplete(total));
    }
    // In bounds: buf.len() >= total is checked above.
    let parsed = if modified {
        pcap_parser::pcap::parse_pcap_frame_modified(&buf[..total])
    } else if big_endian {
        pcap_parser::pcap::parse_pcap_frame_be(&buf[..total])
    } else {
        pcap_parser::pcap::parse_pcap_frame(&buf[..total])
    };
    match parsed {
        Ok((_, b)) => {
            if caplen > snaplen && snaplen != 0 {
                *over_snaplen += 1;
            }
            let frac = if nanos { b.ts_usec as u64 } else { b.ts_usec as u64 * 1000 };
            let ts = Timestamp::from_parts(b.ts_sec as u64, frac);
            (total, Step::Frame { start: hdr, len: caplen as usize, ts, orig_len: b.origlen, linktype, iface: 0 })
        }
        Err(e) => (0, Step::Stop(format!("bad record header: {e:?}"))),
    }
}

fn ng_err(e: &nom::Err<PcapError<&[u8]>>) -> String {
    match e {
        nom::Err::Incomplete(_) => "block cut short".into(),
        nom::Err::Error(e) | nom::Err::Failure(e) => match e {
            PcapError::NomError(_, k) => format!("{k:?}"),
            PcapError::OwnedNomError(_, k) => format!("{k:?}"),
            PcapError::Incomplete(n) => format!("block cut short ({n} bytes missing)"),
            PcapError::HeaderNotRecognized => "not recognised".into(),
            _ => "unreadable block".into(),
        },
    }
}

impl PacketSource for PcapFileSource {
    fn next_batch(&mut self, f: &mut dyn FnMut(FrameRef<'_>)) -> bool {
        loop {
            if self.cur.is_none() && !self.open_next() {
                return false;
            }
            let Some(cur) = self.cur.as_mut() else { return false };
            // Fill a chunk: what was carried plus fresh bytes.
            let mut buf = std::mem::take(&mut cur.carry);
            // A chunk's worth of fresh bytes after what was carried, and the whole of the
            // record the carry starts when that is more: every pass reads something new.
            let want = (buf.len() + CHUNK).max(cur.need);
            let mut stream_error = false;
            if !cur.eof {
                match read_full(&mut *cur.file, &mut buf, want) {
                    Ok(eof) => cur.eof = eof,
                    Err(e) => {
                        // What was read before the error is still parsed below.
                        let at = cur.offset + buf.len() as u64;
                        let why = match cur.compression {
                            Some(c) => format!(
                                "{} stream corrupt or truncated after {at} bytes of capture (about byte {} of {} of the file): {e}; the records before it were read",
                                c.name(),
                                cur.file_read.load(Ordering::Relaxed),
                                cur.file_len,
                            ),
                            None => format!("read error: {e}"),
                        };
                        self.warnings.push(warn(&cur.path, Some(at), why));
                        stream_error = cur.compression.is_some();
                        cur.eof = true;
                    }
                }
            }
            let chunk: Bytes = buf.freeze();
            let mut pos = 0usize;
            let mut lent = 0usize;
            let mut stop: Option<(u64, String)> = None;
            let mut need_more: Option<usize> = None;
            while pos < chunk.len() {
                // In bounds: pos < chunk.len() (loop condition).
                let (used, step) = cur.parse_one(&chunk[pos..], &mut self.over_snaplen);
                match step {
                    Step::Frame { start, len, ts, orig_len, linktype, iface } => {
                        let a = pos + start;
                        let Some(data) = chunk.get(a..a + len) else {
                            stop = Some((cur.offset + pos as u64, "record data outside its record".into()));
                            break;
                        };
                        f(FrameRef::shared(&chunk, data, ts, orig_len, linktype, iface));
                        lent += 1;
                        pos += used;
                    }
                    Step::Skip => pos += used,
                    Step::Incomplete(n) => {
                        need_more = Some(n);
                        break;
                    }
                    Step::Stop(why) => {
                        stop = Some((cur.offset + pos as u64, why));
                        break;
                    }
                }
            }
            self.frames += lent as u64;
            cur.frames += lent as u64;
            let file_off = cur.offset + pos as u64;
            if let Some((off, why)) = stop {
                self.warnings.push(warn(&cur.path, Some(off), why));
                self.close_current(true, stream_error);
            } else if pos >= chunk.len() && cur.eof {
                self.close_current(stream_error, stream_error);
            } else if cur.eof {
                let have = chunk.len() - pos;
                if !stream_error {
                    let why = match need_more {
                        Some(n) => format!("file ends mid-record: the record needs {n} bytes, {have} remain"),
                        None => format!("file ends with {have} stray bytes"),
                    };
                    self.warnings.push(warn(&cur.path, Some(file_off), why));
                }
                self.close_current(true, stream_error);
            } else {
                // Carry the partial record into the next chunk (a copy of less than one record).
                cur.need = need_more.unwrap_or(0);
                let mut carry = BytesMut::with_capacity((chunk.len() - pos + CHUNK).max(cur.need));
                // In bounds: pos <= chunk.len(): parse_one's `used` (total or blen) is at most the bytes it was given.
                carry.extend_from_slice(&chunk[pos..]);
                cur.carry = carry;
                cur.offset = file_off;
            }
            if lent > 0 {
                return true;
            }
        }
    }

    fn take_warnings(&mut self) -> Vec<CaptureWarning> {
        std::mem::take(&mut self.warnings)
    }

    fn position(&self) -> Option<SourcePosition> {
        Some(SourcePosition {
            files_done: self.files_done,
            files_total: self.files_total,
            files_opened: self.files_opened,
            files_failed: self.files_failed,
            files_damaged: self.files_damaged,
            bytes_read: self.bytes_read(),
            bytes_total: self.bytes_total,
        })
    }

    fn take_finished(&mut self) -> Vec<FileDone> {
        PcapFileSource::take_finished(self)
    }

    fn file_marker(&self) -> Option<std::sync::Arc<crate::capture::FileMarker>> {
        Some(self.marker.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pcap_bytes(records: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&0i32.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (i, r) in records.iter().enumerate() {
            v.extend_from_slice(&(i as u32 + 1).to_le_bytes());
            v.extend_from_slice(&5u32.to_le_bytes());
            v.extend_from_slice(&(r.len() as u32).to_le_bytes());
            v.extend_from_slice(&(r.len() as u32).to_le_bytes());
            v.extend_from_slice(r);
        }
        v
    }

    fn read_all(bytes: &[u8]) -> (Vec<(u64, Vec<u8>)>, Vec<CaptureWarning>) {
        let mut tf = tempfile::NamedTempFile::new().unwrap();
        tf.write_all(bytes).unwrap();
        let mut src = PcapFileSource::new(vec![tf.path().to_path_buf()]);
        let mut got = Vec::new();
        while src.next_batch(&mut |fr| got.push((fr.ts.0, fr.data.to_vec()))) {}
        (got, src.take_warnings())
    }

    #[test]
    fn reads_records_in_order() {
        let (got, w) = read_all(&pcap_bytes(&[b"abc", b"", b"defg"]));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (1_000_005_000, b"abc".to_vec()));
        assert_eq!(got[1].1, b"".to_vec());
        assert_eq!(got[2].1, b"defg".to_vec());
    }

    #[test]
    fn truncated_last_record_keeps_earlier_ones() {
        let mut b = pcap_bytes(&[b"abc", b"defghij"]);
        b.truncate(b.len() - 3);
        let (got, w) = read_all(&b);
        assert_eq!(got.len(), 1);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].offset, Some(24 + 16 + 3));
        assert!(w[0].reason.contains("file ends mid-record"), "{}", w[0].reason);
    }

    #[test]
    fn huge_record_stops_file() {
        let mut b = pcap_bytes(&[b"abc"]);
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        b.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
        b.extend_from_slice(&4u32.to_le_bytes());
        let (got, w) = read_all(&b);
        assert_eq!(got.len(), 1);
        assert!(w[0].reason.contains("more than the maximum"), "{}", w[0].reason);
    }

    #[test]
    fn bad_magic_is_reported() {
        let (got, w) = read_all(b"GIF89a not a capture at all");
        assert!(got.is_empty());
        assert!(w[0].reason.contains("magic number 0x38464947"), "{}", w[0].reason);
    }

    #[test]
    fn records_spanning_chunks() {
        let big = vec![7u8; 200_000];
        let recs: Vec<&[u8]> = (0..12).map(|_| big.as_slice()).collect();
        let (got, w) = read_all(&pcap_bytes(&recs));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(got.len(), 12);
        assert!(got.iter().all(|(_, d)| d.len() == 200_000 && d.iter().all(|&x| x == 7)));
    }
}
