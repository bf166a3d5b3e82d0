//! Batches: what the reader hands a worker, frame by frame, without copying frames that sit in
//! a shared capture chunk and without allocating per packet.

use bytes::Bytes;

use crate::capture::{FrameRef, LinkType, Timestamp};
use crate::decode::Decoded;
use crate::flow::FlowPkt;

/// A decoded packet: what the worker inspects besides the frame's bytes (which the
/// [`Batch`] holds, or the caller of [`super::worker::Worker::packet`] passes).
#[derive(Clone, Debug)]
pub(crate) struct Pkt {
    /// Packet time.
    pub ts: Timestamp,
    /// Link type.
    pub linktype: LinkType,
    /// Position in the capture (1-based), as Suricata's `pcap_cnt`.
    pub pcap_cnt: u64,
    /// Interface index.
    pub iface: u16,
    /// Decode summary.
    pub d: Decoded,
    /// How the packet meets its flow, when it has one.
    pub flow: Option<FlowPkt>,
    /// This entry only accounts a tunnel's outer layer to its own flow; the same frame is sent
    /// again (to the inner flow's worker) for inspection.
    pub outer_only: bool,
    /// Key hash (0 when no key).
    pub hash: u64,
    /// Checksum validation failed.
    pub bad_checksum: bool,
}

/// Where an entry's bytes are: the batch's copy arena rather than one of its shared chunks.
const ARENA: u16 = u16::MAX;
/// An entry the reader did not decode.
const UNDECODED: u32 = u32::MAX;

/// One frame in a [`Batch`], as small as it can be, since the reader writes one per frame
/// and the worker reads it from another core: where its bytes are, its time and position,
/// and either the reader's decode of it (an index into [`Batch::decoded`]) or what the
/// worker needs to decode it itself ([`super::worker::Worker::prepare`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// Packet time.
    pub ts: Timestamp,
    /// Position in the capture (1-based), as Suricata's `pcap_cnt`; 0 in live capture.
    pub pcap_cnt: u64,
    /// Offset of the frame in its buffer.
    off: usize,
    /// Length of the frame.
    len: u32,
    /// Index of the reader's decode in [`Batch::decoded`], or `UNDECODED`.
    decoded: u32,
    /// Index of the buffer in [`Batch::bufs`], or `ARENA`.
    buf: u16,
    /// Interface index.
    pub iface: u16,
    /// Link type.
    pub linktype: LinkType,
    /// Validate checksums when the worker decodes the frame.
    pub validate: bool,
}

/// What the reader hands a worker for one frame ([`crate::runtime::ingest::Ingest::frame`]).
#[derive(Debug)]
pub(crate) enum Item {
    /// The frame, for the worker to decode (and validate its checksums when told to).
    Undecoded {
        /// Validate checksums.
        validate: bool,
        /// Position in the capture (0 in live capture).
        pcap_cnt: u64,
    },
    /// The frame, decoded by the reader (or a tunnel's outer layer).
    Frame(Pkt),
    /// A datagram reassembled from the frame and earlier fragments, decoded.
    Datagram(Vec<u8>, Pkt),
}

/// Packets for one worker, in capture order, plus the reader's packet clock (for timeouts on
/// idle workers). The frames' bytes are not copied when the capture reads them into shared
/// chunks: the batch holds one reference per chunk, not one per frame. Other frames
/// (live pnet capture, reassembled datagrams) are copied into the batch's arena. Batches go
/// back to the reader emptied, so that none of this is allocated per packet.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// Frames, in capture order.
    entries: Vec<Entry>,
    /// The reader's decode of the frames it decoded.
    decoded: Vec<Pkt>,
    /// Capture chunks the frames are in.
    bufs: Vec<Bytes>,
    /// Copied frames.
    arena: Vec<u8>,
    /// Latest packet time the reader has seen.
    pub now: Timestamp,
    /// Timeout ticks: run timeouts at the given packet time before the packet at the given
    /// index (index == len: after the last packet). The reader places ticks at fixed points
    /// of the capture, so results do not depend on the number of workers.
    /// The third value is the capture position of the frame the tick comes before (replay;
    /// 0 in live capture); a tick at time 0 only marks the position reached (see
    /// `runtime::replay_order`).
    pub ticks: Vec<(u32, Timestamp, u64)>,
}

/// A recycled arena above this size is given back to the allocator (jumbo or GRO frames
/// must not pin memory in every queued batch).
const ARENA_KEEP: usize = 4 << 20;

impl Batch {
    /// An empty batch with room for `n` frames.
    pub(crate) fn with_capacity(n: usize) -> Batch {
        Batch { entries: Vec::with_capacity(n), ..Batch::default() }
    }

    /// Frame `i`, in capture order.
    pub(crate) fn entry(&self, i: usize) -> Option<&Entry> {
        self.entries.get(i)
    }

    /// Number of frames.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// No frames.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Empties the batch for reuse (releasing its chunks), keeping its capacity.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.decoded.clear();
        self.bufs.clear();
        self.arena.clear();
        if self.arena.capacity() > ARENA_KEEP {
            self.arena.shrink_to(ARENA_KEEP / 4);
        }
        self.ticks.clear();
    }

    /// Places `data` (the bytes of `fr`, or a datagram built from it): a reference to the
    /// frame's capture chunk when it has one, else a copy in the arena.
    fn place(&mut self, fr: &FrameRef<'_>, data: Option<&[u8]>) -> (u16, usize, u32) {
        if let (None, Some(owner)) = (data, fr.owner()) {
            // The frame's place in its chunk, checked rather than trusted (FrameRef::shared's
            // contract): a frame outside it is copied instead.
            let off = (fr.data.as_ptr() as usize).wrapping_sub(owner.as_ptr() as usize);
            let inside = off.checked_add(fr.data.len()).is_some_and(|end| end <= owner.len());
            if inside {
                let len = fr.data.len() as u32;
                let same = self.bufs.last().is_some_and(|b| b.as_ptr() == owner.as_ptr() && b.len() == owner.len());
                if same {
                    return ((self.bufs.len() - 1) as u16, off, len);
                }
                if self.bufs.len() < ARENA as usize {
                    self.bufs.push(owner.clone());
                    return ((self.bufs.len() - 1) as u16, off, len);
                }
            }
        }
        let bytes = data.unwrap_or(fr.data);
        let off = self.arena.len();
        self.arena.extend_from_slice(bytes);
        (ARENA, off, bytes.len() as u32)
    }

    /// Adds one item the reader made of frame `fr`.
    pub(crate) fn push(&mut self, fr: &FrameRef<'_>, item: Item) {
        let ((buf, off, len), pkt, validate, pcap_cnt) = match item {
            Item::Undecoded { validate, pcap_cnt } => (self.place(fr, None), None, validate, pcap_cnt),
            Item::Frame(p) => (self.place(fr, None), Some(p), false, 0),
            Item::Datagram(v, p) => (self.place(fr, Some(&v)), Some(p), false, 0),
        };
        let (decoded, ts, pcap_cnt, linktype) = match pkt {
            Some(p) => {
                let (ts, pc, lt) = (p.ts, p.pcap_cnt, p.linktype);
                self.decoded.push(p);
                ((self.decoded.len() - 1) as u32, ts, pc, lt)
            }
            None => (UNDECODED, fr.ts, pcap_cnt, fr.linktype),
        };
        self.entries.push(Entry { ts, pcap_cnt, off, len, decoded, buf, iface: fr.iface, linktype, validate });
    }

    /// The bytes of an entry of this batch (empty if the entry is not this batch's, which
    /// the decoder then counts as a truncated frame).
    pub(crate) fn data(&self, e: &Entry) -> &[u8] {
        let b: &[u8] = if e.buf == ARENA { &self.arena } else { self.bufs.get(e.buf as usize).map_or(&[], |b| b) };
        // No overflow: `off` is a position in a buffer (< isize::MAX), `len` a u32.
        b.get(e.off..e.off + e.len as usize).unwrap_or(&[])
    }

    /// The reader's decode of an entry, if it made one.
    pub(crate) fn decoded(&self, e: &Entry) -> Option<&Pkt> {
        if e.decoded == UNDECODED {
            None
        } else {
            self.decoded.get(e.decoded as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{FrameRef, LinkType, Timestamp};
    use crate::runtime::worker::tests::{table, udp};
    use crate::runtime::worker::Worker;

    #[test]
    fn a_batch_holds_one_reference_per_chunk_and_copies_the_rest() {
        let (a, b) = (udp(1000, b"first"), udp(1001, b"second"));
        let chunk = Bytes::from([a.clone(), b.clone()].concat());
        let ts = Timestamp::from_parts(1, 0);
        let mut batch = Batch::with_capacity(8);
        let fa = FrameRef::shared(&chunk, &chunk[..a.len()], ts, a.len() as u32, LinkType::ETHERNET, 0);
        let fb = FrameRef::shared(&chunk, &chunk[a.len()..], ts, b.len() as u32, LinkType::ETHERNET, 1);
        batch.push(&fa, Item::Undecoded { validate: true, pcap_cnt: 1 });
        batch.push(&fb, Item::Undecoded { validate: false, pcap_cnt: 2 });
        assert_eq!(batch.bufs.len(), 1, "two frames of one chunk: one reference");
        assert!(batch.arena.is_empty());
        // a frame without a shared chunk (pnet) and a datagram are copied
        let c = udp(1002, b"third");
        let fc = FrameRef::borrowed(&c, ts, c.len() as u32, LinkType::ETHERNET, 2);
        batch.push(&fc, Item::Undecoded { validate: false, pcap_cnt: 3 });
        let mut w = Worker::new(0, table(), false);
        let e = batch.entries[0];
        let p = w.prepare(batch.data(&e), &e);
        batch.push(&fa, Item::Datagram(b"dgram".to_vec(), p.clone()));
        batch.push(&fb, Item::Frame(p));
        assert_eq!(batch.len(), 5);
        assert_eq!(batch.bufs.len(), 1);
        let data: Vec<&[u8]> = batch.entries.iter().map(|e| batch.data(e)).collect();
        assert_eq!(data, vec![&a[..], &b[..], &c[..], &b"dgram"[..], &b[..]]);
        let decoded: Vec<bool> = batch.entries.iter().map(|e| batch.decoded(e).is_some()).collect();
        assert_eq!(decoded, vec![false, false, false, true, true]);
        assert_eq!((batch.entries[0].pcap_cnt, batch.entries[1].iface, batch.entries[0].validate), (1, 1, true));
        assert!(!chunk.is_unique(), "the batch holds the chunk");
        batch.clear();
        assert!(batch.is_empty() && batch.bufs.is_empty() && batch.arena.is_empty() && batch.decoded.is_empty());
    }
}
