//! One direction's reassembly buffer: segment data placed at stream offsets, overlaps
//! resolved by a target-based policy, bounded by a per-worker memcap.
//!
//! Two lists, both sorted by stream offset:
//! - `segs`: the segments as they arrived (offset and length), kept only to decide overlaps
//!   the way Suricata does (the policy compares a new segment with each segment it overlaps,
//!   by their original boundaries);
//! - `chunks`: the bytes, merged into contiguous blocks (no two chunks overlap or touch).
//!   A gap in the stream is the space between two chunks.
//!
//! A new segment's bytes are first resolved against every segment it overlaps (old data is
//! copied over the new where the policy keeps the old), then written into the chunks. Data
//! before `base` (consumed by every reader) is gone; segments reaching into it are cut.
//! Never panics on any offsets; every insertion that cannot be stored is reported.

use super::Policy;

/// Byte accounting shared by all streams of one worker.
#[derive(Debug, Default)]
pub struct Memory {
    /// Bytes in use (segment data plus a fixed cost per segment).
    pub used: usize,
    /// Limit.
    pub cap: usize,
    /// Highest `used` seen.
    pub peak: usize,
}

/// Cost charged per stored segment descriptor (its list entry).
pub(crate) const SEG_COST: usize = 16;

impl Memory {
    fn take(&mut self, n: usize) -> bool {
        if self.used.saturating_add(n) > self.cap {
            return false;
        }
        self.used += n;
        if self.used > self.peak {
            self.peak = self.used;
        }
        true
    }
    fn give(&mut self, n: usize) {
        self.used = self.used.saturating_sub(n);
    }
}

#[derive(Debug, Clone)]
struct Chunk {
    off: u64,
    /// Bytes; `data[skip..]` is live (front bytes are dropped lazily).
    data: Vec<u8>,
    skip: usize,
}

impl Chunk {
    fn start(&self) -> u64 {
        self.off + self.skip as u64
    }
    fn end(&self) -> u64 {
        self.off + self.data.len() as u64
    }
    fn live(&self) -> &[u8] {
        self.data.get(self.skip..).unwrap_or(&[])
    }
}

/// What happened to an inserted segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Stored without overlap.
    Ok,
    /// Stored; it overlapped stored data (resolved by the policy).
    Overlap,
    /// Exact duplicate of a stored segment (offset and length): data resolved, not stored again.
    Duplicate,
    /// Entirely before the consumed point: nothing to store.
    Old,
    /// Not stored: the memcap is reached.
    Memcap,
    /// Not stored: the per-direction segment limit is reached.
    TooManySegments,
}

/// A direction's reassembly state.
#[derive(Debug, Clone, Default)]
pub struct Buffer {
    segs: Vec<(u64, u32)>,
    chunks: Vec<Chunk>,
    /// Everything before this offset has been consumed and dropped.
    pub base: u64,
    /// Bytes stored (for memcap accounting).
    bytes: usize,
    /// Longest segment stored (bounds the overlap search).
    max_len: u32,
}

/// Whether the new data wins over a stored segment's data where they overlap, for `policy`,
/// given where each starts and ends. Suricata's rules (stream-tcp-list.c, IDS mode).
fn new_wins(policy: Policy, new: (u64, u64), old: (u64, u64)) -> bool {
    use std::cmp::Ordering::*;
    let (ns, ne) = new;
    let (os, oe) = old;
    match policy {
        Policy::Last => true,
        Policy::First => false,
        _ => match ns.cmp(&os) {
            Equal => {
                if ne < oe {
                    false
                } else {
                    matches!(policy, Policy::OldLinux | Policy::Solaris) || (policy == Policy::Linux && ne > oe)
                }
            }
            Less => {
                if ne >= oe && policy == Policy::Solaris {
                    return true;
                }
                matches!(policy, Policy::Bsd | Policy::Windows | Policy::OldLinux | Policy::Linux | Policy::MacOs)
            }
            Greater => ne > oe && policy == Policy::Solaris,
        },
    }
}

impl Buffer {
    /// Whether no data is stored.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Number of stored segment descriptors.
    pub fn segments(&self) -> usize {
        self.segs.len()
    }

    /// Bytes stored.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// End of the stored data (0 when empty): Suricata's stream right edge.
    pub fn right_edge(&self) -> u64 {
        self.chunks.last().map_or(self.base, |c| c.end())
    }

    /// Contiguous blocks of data at or after `from`, in order: (offset, bytes).
    pub fn blocks_from(&self, from: u64) -> impl Iterator<Item = (u64, &[u8])> {
        let i = self.chunks.partition_point(|c| c.end() <= from);
        // In bounds: partition_point returns at most chunks.len().
        self.chunks[i..].iter().map(move |c| {
            if c.start() < from {
                let d = (from - c.start()) as usize;
                (from, c.live().get(d..).unwrap_or(&[]))
            } else {
                (c.start(), c.live())
            }
        })
    }

    /// Inserts a segment starting at stream offset `off`. `scratch` is a reusable buffer (for
    /// a segment whose overlap keeps stored bytes).
    pub fn insert(
        &mut self,
        off: u64,
        data: &[u8],
        policy: Policy,
        max_segs: usize,
        mem: &mut Memory,
        scratch: &mut Vec<u8>,
    ) -> Insert {
        let mut off = off;
        let mut data = data;
        if data.is_empty() {
            return Insert::Ok;
        }
        let end = off.saturating_add(data.len() as u64);
        if end <= self.base {
            return Insert::Old;
        }
        if off < self.base {
            let cut = (self.base - off) as usize;
            data = data.get(cut..).unwrap_or(&[]);
            off = self.base;
        }
        let len = data.len() as u64;
        // Descriptors that may overlap [off, end): sorted by start, so those starting before
        // `end`, walking back while a segment as long as the longest stored could reach `off`.
        let hi = self.segs.partition_point(|&(s, _)| s < end);
        let mut lo = hi;
        // In bounds: lo > 0 is tested first and lo <= hi <= segs.len() (partition_point).
        while lo > 0 && self.segs[lo - 1].0 + self.max_len as u64 > off {
            lo -= 1;
        }
        let mut overlap = false;
        let mut dup = false;
        // the new bytes are copied (to be partly overwritten by stored ones) only when the
        // policy keeps stored data somewhere: in-order data goes straight into its chunk
        let mut resolved = false;
        for j in lo..hi {
            // In bounds: j < hi <= segs.len() (partition_point).
            let (s, l) = self.segs[j];
            let se = s + l as u64;
            if se <= off {
                continue;
            }
            overlap = true;
            if s == off && se == end {
                dup = true;
            }
            if !new_wins(policy, (off, end), (s, se)) {
                // copy the stored bytes of [max(s,off), min(se,end)) over the new data
                let a = s.max(off).max(self.base);
                let b = se.min(end);
                if a < b {
                    if !resolved {
                        scratch.clear();
                        scratch.extend_from_slice(data);
                        resolved = true;
                    }
                    self.read_into(a, b, off, scratch);
                }
            }
        }
        if !dup && self.segs.len() >= max_segs {
            return Insert::TooManySegments;
        }
        // bytes newly covered (memory grows only by those)
        let new_bytes = self.uncovered(off, end);
        let cost = new_bytes + if dup { 0 } else { SEG_COST };
        if !mem.take(cost) {
            return Insert::Memcap;
        }
        self.bytes += new_bytes;
        if resolved {
            let bytes = std::mem::take(scratch);
            self.write(off, &bytes);
            *scratch = bytes;
        } else {
            self.write(off, data);
        }
        if !dup {
            let at = self.segs.partition_point(|&(s, l)| (s, l) < (off, len as u32));
            self.segs.insert(at, (off, len as u32));
            self.max_len = self.max_len.max(len as u32);
        }
        if dup {
            Insert::Duplicate
        } else if overlap {
            Insert::Overlap
        } else {
            Insert::Ok
        }
    }

    /// Copies stored bytes of [a, b) into `buf` (which holds [buf_off, ...)).
    fn read_into(&self, a: u64, b: u64, buf_off: u64, buf: &mut [u8]) {
        for (co, bytes) in self.blocks_from(a) {
            if co >= b {
                break;
            }
            let s = co.max(a);
            let e = (co + bytes.len() as u64).min(b);
            if s >= e {
                continue;
            }
            let src = bytes.get((s - co) as usize..(e - co) as usize);
            let dst = buf.get_mut((s - buf_off) as usize..(e - buf_off) as usize);
            if let (Some(src), Some(dst)) = (src, dst) {
                dst.copy_from_slice(src);
            }
        }
    }

    /// Bytes of [a, b) not yet covered by chunks.
    fn uncovered(&self, a: u64, b: u64) -> usize {
        let mut covered = 0u64;
        for (co, bytes) in self.blocks_from(a) {
            if co >= b {
                break;
            }
            let s = co.max(a);
            let e = (co + bytes.len() as u64).min(b);
            covered += e.saturating_sub(s);
        }
        (b - a).saturating_sub(covered) as usize
    }

    /// Writes `bytes` at `off`, merging with touching chunks.
    fn write(&mut self, off: u64, bytes: &[u8]) {
        let end = off + bytes.len() as u64;
        // chunks touching [off, end] (adjacency merges too)
        let i = self.chunks.partition_point(|c| c.end() < off);
        let mut k = i;
        // In bounds: k < chunks.len() is tested first.
        while k < self.chunks.len() && self.chunks[k].start() <= end {
            k += 1;
        }
        if i == k {
            self.chunks.insert(i, Chunk { off, data: bytes.to_vec(), skip: 0 });
            return;
        }
        // fast path: appending at the end of one chunk
        // In bounds: i < k <= chunks.len() (the loop above stops at the length; i == k returned).
        if k == i + 1 && self.chunks[i].end() == off && self.chunks[i].start() <= off {
            self.chunks[i].data.extend_from_slice(bytes);
            return;
        }
        let start = self.chunks[i].start().min(off);
        let stop = self.chunks[k - 1].end().max(end);
        let mut v = vec![0u8; (stop - start) as usize];
        for c in &self.chunks[i..k] {
            let s = (c.start() - start) as usize;
            if let Some(d) = v.get_mut(s..s + c.live().len()) {
                d.copy_from_slice(c.live());
            }
        }
        let s = (off - start) as usize;
        if let Some(d) = v.get_mut(s..s + bytes.len()) {
            d.copy_from_slice(bytes);
        }
        self.chunks.splice(i..k, std::iter::once(Chunk { off: start, data: v, skip: 0 }));
    }

    /// Drops everything before `to` (consumed by every reader), returning memory.
    pub fn prune(&mut self, to: u64, mem: &mut Memory) {
        if to <= self.base {
            return;
        }
        self.base = to;
        let mut freed = 0usize;
        let mut drop_n = 0;
        for c in self.chunks.iter_mut() {
            if c.end() <= to {
                freed += c.live().len();
                drop_n += 1;
            } else {
                if c.start() < to {
                    let d = (to - c.start()) as usize;
                    freed += d;
                    c.skip += d;
                    if c.skip > 4096 && c.skip * 2 > c.data.len() {
                        c.data.drain(..c.skip);
                        c.off += c.skip as u64;
                        c.skip = 0;
                    }
                }
                break;
            }
        }
        self.chunks.drain(..drop_n);
        // descriptors are sorted by start; drop the leading ones that end before `to`
        let mut m = 0;
        // In bounds: m < segs.len() is tested first.
        while m < self.segs.len() && self.segs[m].0 + self.segs[m].1 as u64 <= to {
            m += 1;
        }
        self.segs.drain(..m);
        self.bytes = self.bytes.saturating_sub(freed);
        mem.give(freed + m * SEG_COST);
    }

    /// Frees everything.
    pub fn clear(&mut self, mem: &mut Memory) {
        mem.give(self.bytes + self.segs.len() * SEG_COST);
        self.bytes = 0;
        self.segs.clear();
        self.chunks.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem() -> Memory {
        Memory { used: 0, cap: 1 << 20, peak: 0 }
    }

    fn all(b: &Buffer) -> Vec<(u64, Vec<u8>)> {
        b.blocks_from(0).map(|(o, d)| (o, d.to_vec())).collect()
    }

    fn ins(b: &mut Buffer, m: &mut Memory, p: Policy, off: u64, d: &[u8]) -> Insert {
        let mut s = Vec::new();
        b.insert(off, d, p, 1000, m, &mut s)
    }

    #[test]
    fn in_order_and_gaps() {
        let (mut b, mut m) = (Buffer::default(), mem());
        assert_eq!(ins(&mut b, &mut m, Policy::Bsd, 0, b"abc"), Insert::Ok);
        assert_eq!(ins(&mut b, &mut m, Policy::Bsd, 3, b"def"), Insert::Ok);
        assert_eq!(ins(&mut b, &mut m, Policy::Bsd, 10, b"xyz"), Insert::Ok);
        assert_eq!(all(&b), vec![(0, b"abcdef".to_vec()), (10, b"xyz".to_vec())]);
        assert_eq!(ins(&mut b, &mut m, Policy::Bsd, 6, b"ghij"), Insert::Ok);
        assert_eq!(all(&b), vec![(0, b"abcdefghijxyz".to_vec())]);
        assert_eq!(b.right_edge(), 13);
        assert_eq!(ins(&mut b, &mut m, Policy::Bsd, 3, b"def"), Insert::Duplicate);
        b.prune(5, &mut m);
        assert_eq!(all(&b), vec![(5, b"fghijxyz".to_vec())]);
        assert_eq!(ins(&mut b, &mut m, Policy::Bsd, 0, b"abc"), Insert::Old);
        b.clear(&mut m);
        assert_eq!(m.used, 0);
    }

    #[test]
    fn policies_on_overlap() {
        // old "AAAA" at 2..6; new "BBBBBB" at 0..6 starts before and ends at the same point
        let run = |p: Policy, new_off: u64, new: &[u8]| {
            let (mut b, mut m) = (Buffer::default(), mem());
            ins(&mut b, &mut m, p, 2, b"AAAA");
            ins(&mut b, &mut m, p, new_off, new);
            all(&b)[0].1.clone()
        };
        assert_eq!(run(Policy::Bsd, 0, b"BBBBBB"), b"BBBBBB");
        assert_eq!(run(Policy::First, 0, b"BBBBBB"), b"BBAAAA");
        assert_eq!(run(Policy::Last, 3, b"B"), b"ABAA");
        assert_eq!(run(Policy::Bsd, 3, b"B"), b"AAAA");
        // same start, ends after: linux takes new, bsd keeps old where they overlap
        assert_eq!(run(Policy::Linux, 2, b"BBBBB"), b"BBBBB");
        assert_eq!(run(Policy::Bsd, 2, b"BBBBB"), b"AAAAB");
        // starts after, ends after: solaris takes new
        assert_eq!(run(Policy::Solaris, 4, b"BBBB"), b"AABBBB");
        assert_eq!(run(Policy::Windows, 4, b"BBBB"), b"AAAABB");
    }

    #[test]
    fn memcap_and_segment_limit() {
        let mut b = Buffer::default();
        let mut m = Memory { used: 0, cap: 50, peak: 0 };
        let mut s = Vec::new();
        assert_eq!(b.insert(0, &[1; 10], Policy::Bsd, 2, &mut m, &mut s), Insert::Ok);
        assert_eq!(b.insert(20, &[1; 30], Policy::Bsd, 2, &mut m, &mut s), Insert::Memcap);
        assert_eq!(b.insert(20, &[1; 2], Policy::Bsd, 2, &mut m, &mut s), Insert::Ok);
        assert_eq!(b.insert(30, &[1; 2], Policy::Bsd, 2, &mut m, &mut s), Insert::TooManySegments);
        b.clear(&mut m);
        assert_eq!(m.used, 0);
    }
}
