//! Capture: where frames come from.
//!
//! Takes: a capture source (pcap/pcapng files and folders, Linux AF_PACKET rings, pnet's
//! datalink channel).
//! Promises: a [`PacketSource`] *lends* frames: each frame is a borrowed [`FrameRef`] handed to a
//! closure, valid only during the call, so a ring slot or a read buffer cannot outlive its
//! turn. A frame that must travel to a worker travels as a reference to the shared chunk it is in
//! ([`FrameRef::owner`]: file and AF_PACKET sources) or as a copy in its batch (pnet).
//! Never: panics on file contents. A damaged file yields the frames before the damage and a
//! one-line [`CaptureWarning`] naming the file and byte offset.

#[cfg(target_os = "linux")]
pub(crate) mod afpacket;
mod config;
pub(crate) mod filter;
pub(crate) mod input;
pub mod pcap;
pub(crate) mod pnet;
pub mod watch;

use bytes::Bytes;

pub use config::{CaptureConfig, CaptureMethod, ChecksumMode, FanoutMode};

/// Link-layer types the decoder understands (pcap LINKTYPE_* values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Cisco PPP with HDLC framing (LINKTYPE_PPP_HDLC) is not decoded; raw PPP is.
    pub const PPP: LinkType = LinkType(9);
    /// Raw IP as some BSDs number it (DLT_RAW 12/14).
    pub const RAW_BSD12: LinkType = LinkType(12);
    /// Raw IP as some BSDs number it.
    pub const RAW_BSD14: LinkType = LinkType(14);
    /// Raw IP (version from the first nibble).
    pub const RAW: LinkType = LinkType(101);
    /// Cisco HDLC.
    pub const C_HDLC: LinkType = LinkType(104);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// Nanoseconds since the Unix epoch (packet time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Whole seconds.
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }
    /// Microseconds within the second.
    pub fn subsec_micros(self) -> u32 {
        ((self.0 % 1_000_000_000) / 1_000) as u32
    }
    /// From seconds and nanoseconds.
    pub fn from_parts(secs: u64, nanos: u64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }
}

/// One frame lent by a source for the duration of a callback.
#[derive(Debug)]
pub struct FrameRef<'a> {
    /// Captured bytes.
    pub data: &'a [u8],
    /// Packet time.
    pub ts: Timestamp,
    /// Length on the wire (may exceed `data.len()` when the capture was truncated by snaplen).
    pub orig_len: u32,
    /// Link type of this frame (pcapng can mix them).
    pub linktype: LinkType,
    /// Interface index within the source (pcapng interface id, ring index).
    pub iface: u16,
    owner: Option<&'a Bytes>,
}

impl<'a> FrameRef<'a> {
    /// A frame borrowed from `owner` (which must contain `data`).
    pub fn shared(
        owner: &'a Bytes,
        data: &'a [u8],
        ts: Timestamp,
        orig_len: u32,
        linktype: LinkType,
        iface: u16,
    ) -> Self {
        FrameRef { data, ts, orig_len, linktype, iface, owner: Some(owner) }
    }

    /// A frame with no shared owner (a batch copies its bytes).
    pub fn borrowed(data: &'a [u8], ts: Timestamp, orig_len: u32, linktype: LinkType, iface: u16) -> Self {
        FrameRef { data, ts, orig_len, linktype, iface, owner: None }
    }

    /// The shared chunk the frame is in, when the source reads into shared chunks.
    pub fn owner(&self) -> Option<&'a Bytes> {
        self.owner
    }
}

/// A non-fatal problem with a capture: the source goes on, or stops this file, after saying so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureWarning {
    /// File (or interface) the problem is in.
    pub source: String,
    /// Byte offset in the file, where it applies.
    pub offset: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for CaptureWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{}: at byte {}: {}", self.source, o, self.reason),
            None => write!(f, "{}: {}", self.source, self.reason),
        }
    }
}

/// What a source does: lend batches of frames until the input ends.
pub trait PacketSource {
    /// Lends the next batch of frames to `f`, one call per frame. Returns `false` once the
    /// input is exhausted (and no frame was lent in that call).
    fn next_batch(&mut self, f: &mut dyn FnMut(FrameRef<'_>)) -> bool;

    /// Problems met so far; the caller drains and reports them.
    fn take_warnings(&mut self) -> Vec<CaptureWarning>;

    /// Where a file source is (files and bytes on disk), for progress and the `capture.files*`
    /// counters while it runs; `None` for sources that are not files.
    fn position(&self) -> Option<SourcePosition> {
        None
    }

    /// The files finished since the last call (file sources), in reading order.
    fn take_finished(&mut self) -> Vec<pcap::FileDone> {
        Vec::new()
    }

    /// File sources: which file is being read, readable while a batch is lent (so that the
    /// reader can tell the first frame of each file); `None` for other sources.
    fn file_marker(&self) -> Option<std::sync::Arc<FileMarker>> {
        None
    }
}

/// The file a file source is reading: a generation that moves when the next file is opened,
/// and its name. Checking the generation per frame is one relaxed load.
#[derive(Debug, Default)]
pub struct FileMarker {
    generation: std::sync::atomic::AtomicU64,
    name: std::sync::Mutex<Option<std::sync::Arc<str>>>,
}

impl FileMarker {
    /// The source opened `path`.
    pub(crate) fn opened(&self, path: &std::path::Path) {
        let name: std::sync::Arc<str> = path.to_string_lossy().into();
        *self.name.lock().unwrap_or_else(|p| p.into_inner()) = Some(name);
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Moves each time a file is opened (0: none yet).
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The name of the file opened last.
    pub fn name(&self) -> Option<std::sync::Arc<str>> {
        self.name.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// How far a file source is: see [`PacketSource::position`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourcePosition {
    /// Files finished (read to their end, cut short or unreadable).
    pub files_done: u64,
    /// Files known in all (grows in watch mode).
    pub files_total: u64,
    /// Files opened (at least their header read).
    pub files_opened: u64,
    /// Files cut short or unreadable.
    pub files_failed: u64,
    /// Files whose loss the exit status shows ([`pcap::PcapFileSource::files_damaged`]).
    pub files_damaged: u64,
    /// Bytes on disk read (compressed bytes for compressed files).
    pub bytes_read: u64,
    /// Bytes on disk of every file known.
    pub bytes_total: u64,
}

/// A source made of frames held in memory (tests, benchmarks, fault injection).
pub struct MemorySource {
    frames: Vec<(Timestamp, LinkType, Bytes)>,
    pos: usize,
    batch: usize,
}

impl MemorySource {
    /// Frames to lend in order, `batch` at a time.
    pub fn new(frames: Vec<(Timestamp, LinkType, Bytes)>, batch: usize) -> Self {
        MemorySource { frames, pos: 0, batch: batch.max(1) }
    }
}

impl PacketSource for MemorySource {
    fn next_batch(&mut self, f: &mut dyn FnMut(FrameRef<'_>)) -> bool {
        if self.pos >= self.frames.len() {
            return false;
        }
        let end = (self.pos + self.batch).min(self.frames.len());
        // In bounds: pos < frames.len() (checked above) and end <= frames.len() (min).
        for (ts, lt, b) in &self.frames[self.pos..end] {
            f(FrameRef::shared(b, b, *ts, b.len() as u32, *lt, 0));
        }
        self.pos = end;
        true
    }

    fn take_warnings(&mut self) -> Vec<CaptureWarning> {
        Vec::new()
    }
}

/// Frames read once into memory, to be lent again and again (`picket bench` replays the same
/// capture several times without reading the disk).
///
/// The bytes are kept in chunks of about [`ARENA_CHUNK`] bytes, each a [`Bytes`] of its own,
/// as the file source does: a batch sent to a worker holds a reference to each chunk its
/// frames are in, and the chunks of a loop are released as the workers finish with them.
pub struct FrameArena {
    chunks: Vec<Bytes>,
    frames: Vec<ArenaFrame>,
    bytes: u64,
}

/// Bytes per [`FrameArena`] chunk (the file source's read chunk).
pub const ARENA_CHUNK: usize = 1 << 20;

#[derive(Clone, Copy)]
struct ArenaFrame {
    chunk: u32,
    off: u32,
    len: u32,
    orig_len: u32,
    ts: Timestamp,
    linktype: LinkType,
    iface: u16,
}

impl FrameArena {
    /// Reads every frame of `src` (copying it once).
    pub fn read(src: &mut dyn PacketSource) -> Self {
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut cur: Vec<u8> = Vec::with_capacity(ARENA_CHUNK);
        let mut frames = Vec::new();
        let mut bytes = 0u64;
        while src.next_batch(&mut |f| {
            if !cur.is_empty() && cur.len() + f.data.len() > ARENA_CHUNK {
                let full = std::mem::replace(&mut cur, Vec::with_capacity(ARENA_CHUNK.max(f.data.len())));
                chunks.push(Bytes::from(full));
            }
            frames.push(ArenaFrame {
                chunk: chunks.len() as u32,
                off: cur.len() as u32,
                len: f.data.len() as u32,
                orig_len: f.orig_len,
                ts: f.ts,
                linktype: f.linktype,
                iface: f.iface,
            });
            bytes += f.data.len() as u64;
            cur.extend_from_slice(f.data);
        }) {}
        if !cur.is_empty() {
            chunks.push(Bytes::from(cur));
        }
        FrameArena { chunks, frames, bytes }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// No frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Captured bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// A source lending every frame once, one chunk per batch (as a file source lends one
    /// read chunk per batch), zero-copy.
    pub fn source(&self) -> ArenaSource<'_> {
        ArenaSource { arena: self, pos: 0 }
    }
}

/// A pass over a [`FrameArena`].
pub struct ArenaSource<'a> {
    arena: &'a FrameArena,
    pos: usize,
}

impl PacketSource for ArenaSource<'_> {
    fn next_batch(&mut self, f: &mut dyn FnMut(FrameRef<'_>)) -> bool {
        let a = self.arena;
        let Some(first) = a.frames.get(self.pos) else { return false };
        let chunk_no = first.chunk;
        while let Some(fr) = a.frames.get(self.pos) {
            if fr.chunk != chunk_no {
                break;
            }
            self.pos += 1;
            let Some(chunk) = a.chunks.get(fr.chunk as usize) else { continue };
            let (s, e) = (fr.off as usize, fr.off as usize + fr.len as usize);
            let Some(data) = chunk.get(s..e) else { continue };
            f(FrameRef::shared(chunk, data, fr.ts, fr.orig_len, fr.linktype, fr.iface));
        }
        true
    }

    fn take_warnings(&mut self) -> Vec<CaptureWarning> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_frames_fill_several_chunks() {
        let frames: Vec<(Timestamp, LinkType, Bytes)> =
            (0..5u8).map(|i| (Timestamp(i as u64), LinkType::RAW, Bytes::from(vec![i; ARENA_CHUNK / 2 + 1]))).collect();
        let arena = FrameArena::read(&mut MemorySource::new(frames.clone(), 2));
        let mut got = Vec::new();
        let mut src = arena.source();
        let mut calls = 0;
        while src.next_batch(&mut |f| got.push((f.ts, f.linktype, Bytes::copy_from_slice(f.data)))) {
            calls += 1;
        }
        assert_eq!(got, frames);
        assert_eq!(calls, 5);
    }

    #[test]
    fn an_arena_lends_every_frame_on_each_pass() {
        let frames: Vec<(Timestamp, LinkType, Bytes)> =
            (0..10u8).map(|i| (Timestamp(i as u64), LinkType::RAW, Bytes::from(vec![i; 100 + i as usize]))).collect();
        let arena = FrameArena::read(&mut MemorySource::new(frames.clone(), 3));
        assert_eq!(arena.len(), 10);
        assert_eq!(arena.bytes(), frames.iter().map(|f| f.2.len() as u64).sum::<u64>());
        for _ in 0..2 {
            let mut got = Vec::new();
            let mut calls = 0;
            let mut src = arena.source();
            while src.next_batch(&mut |f| got.push((f.ts, f.linktype, Bytes::copy_from_slice(f.data)))) {
                calls += 1;
            }
            assert_eq!(got, frames);
            assert_eq!(calls, 1);
        }
    }
}
