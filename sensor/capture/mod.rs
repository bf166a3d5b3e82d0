//! Capture: where frames come from.
//!
//! Takes: a capture source (pcap/pcapng files and folders, Linux AF_PACKET rings, pnet's
//! datalink channel).
//! Promises: a [`PacketSource`] *lends* frames: each frame is a borrowed [`FrameRef`] handed to a
//! closure, valid only during the call, so a ring slot or a read buffer cannot outlive its
//! turn. A frame that must travel to a worker is turned into a zero-copy [`bytes::Bytes`] by
//! [`FrameRef::to_bytes`] (a reference into the shared read chunk for files).
//! Never: panics on file contents. A damaged file yields the frames before the damage and a
//! one-line [`CaptureWarning`] naming the file and byte offset.

#[cfg(target_os = "linux")]
pub mod afpacket;
pub mod pcap;
pub mod pnet;

use bytes::Bytes;

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

    /// A frame with no shared owner (its bytes are copied by [`FrameRef::to_bytes`]).
    pub fn borrowed(data: &'a [u8], ts: Timestamp, orig_len: u32, linktype: LinkType, iface: u16) -> Self {
        FrameRef { data, ts, orig_len, linktype, iface, owner: None }
    }

    /// The frame as an owned, cheaply clonable buffer: zero-copy when the source reads into
    /// shared chunks, a copy otherwise.
    pub fn to_bytes(&self) -> Bytes {
        match self.owner {
            Some(b) => b.slice_ref(self.data),
            None => Bytes::copy_from_slice(self.data),
        }
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
