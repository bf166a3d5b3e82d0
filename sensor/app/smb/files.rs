//! Files read and written over SMB (and NFS, which shares the tracker): Suricata's chunk-based `FileTransferTracker`. A READ
//! response or WRITE request carries one chunk (an offset and a length) of a file; chunks may
//! come out of order (several reads in flight) and are queued until the gap before them fills;
//! a chunk's bytes may arrive over several calls (a large read streamed past the record
//! buffer). In-order bytes go to the file ([`File`]: size, state, hashes) and the first
//! [`FILE_DATA_MAX`] of them to the `file.data` buffer.
//!
//! Bounded: at most [`MAX_QUEUED_CHUNKS`] chunks and [`MAX_QUEUED_BYTES`] queued per file, and
//! every byte kept (queued or in the `file.data` buffer) is drawn from the flow's budget; what
//! does not fit truncates the file (counted by the caller).

use std::collections::BTreeMap;

use crate::app::files::{File, FileState, HashSet};

/// Bytes of a file kept for `file.data`.
pub(super) const FILE_DATA_MAX: usize = 100 << 10;
/// Out-of-order chunks queued per file.
pub(super) const MAX_QUEUED_CHUNKS: usize = 64;
/// Out-of-order bytes queued per file.
pub(super) const MAX_QUEUED_BYTES: u64 = 1 << 20;

/// Bytes a flow may keep (file queues and buffers, DCE/RPC stub data, partial DCE/RPC
/// records), shared by all its transactions.
#[derive(Debug)]
pub struct Budget {
    /// Bytes left.
    pub left: usize,
    /// Bytes refused since the counters were last drained.
    pub refused: u64,
}

impl Budget {
    /// Takes up to `n` bytes; returns how many were granted.
    pub fn take(&mut self, n: usize) -> usize {
        let g = n.min(self.left);
        self.left -= g;
        self.refused += (n - g) as u64;
        g
    }
    /// Gives `n` bytes back.
    pub fn give(&mut self, n: usize) {
        self.left += n;
    }
}

/// One file's transfer.
#[derive(Debug, Default)]
pub struct FileTracker {
    /// Bytes delivered in order.
    pub tracked: u64,
    queued: u64,
    chunk_left: u32,
    chunk_is_last: bool,
    chunk_is_ooo: bool,
    ooo_offset: u64,
    open: bool,
    closed: bool,
    truncated: bool,
    chunks: BTreeMap<u64, Vec<u8>>,
    /// The file, once its first chunk came.
    pub file: Option<File>,
    /// Its first bytes, for `file.data`.
    pub head: Vec<u8>,
    head_done: bool,
    /// The file was cut short because a queue limit or the budget was reached.
    pub overflowed: bool,
    /// The hashes the file gets when it opens ([`crate::app::AppConfig::file_hashes`]).
    pub hashes: HashSet,
}

impl FileTracker {
    /// The file is no longer open (closed or truncated, or never opened).
    pub fn is_done(&self) -> bool {
        !self.open
    }

    /// Bytes of out-of-order chunks queued.
    pub fn queued(&self) -> u64 {
        self.queued
    }

    /// Number of out-of-order chunks queued.
    pub fn queued_chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Bytes this tracker holds from the flow's budget.
    pub fn held(&self) -> usize {
        self.head.len() + self.chunks.values().map(Vec::len).sum::<usize>()
    }

    /// Closes the file (complete).
    pub fn close(&mut self) {
        if !self.truncated {
            if let Some(f) = self.file.as_mut() {
                f.close(FileState::Closed);
            }
        }
        self.open = false;
        self.closed = true;
        self.tracked = 0;
    }

    /// Cuts the file short (a gap it could not cross, a limit, the flow ended).
    pub fn trunc(&mut self, budget: &mut Budget) {
        if self.truncated || !self.open {
            return;
        }
        if let Some(f) = self.file.as_mut() {
            f.close(FileState::Truncated);
        }
        self.truncated = true;
        budget.give(self.chunks.values().map(Vec::len).sum());
        self.chunks.clear();
        self.queued = 0;
    }

    /// The current chunk is the file's last (NFS: a READ reply at end of file, a FILE_SYNC
    /// WRITE): the file closes once the chunk's bytes are in, now if they are.
    pub fn last_chunk(&mut self) {
        if self.chunk_left == 0 {
            if self.open {
                self.close();
            }
        } else {
            self.chunk_is_last = true;
        }
    }

    /// A new chunk of `size` bytes at `offset`, of which `data` is the part present now;
    /// returns the bytes of `data` consumed. `name` names the file when this opens it.
    pub fn new_chunk(
        &mut self,
        name: &[u8],
        to_server: bool,
        data: &[u8],
        offset: u64,
        size: u32,
        budget: &mut Budget,
    ) -> u32 {
        if self.chunk_left != 0 {
            self.trunc(budget);
        }
        if offset != self.tracked {
            self.chunk_is_ooo = true;
            self.ooo_offset = offset;
        }
        self.chunk_left = size;
        self.chunk_is_last = false;
        if self.truncated || self.closed {
            return 0;
        }
        if !self.open {
            self.file = Some(File::open(name, to_server, self.hashes));
            self.open = true;
        }
        self.update(data, 0, budget)
    }

    fn append(&mut self, data: &[u8], budget: &mut Budget) {
        let Some(f) = self.file.as_mut() else { return };
        f.data(data);
        if !self.head_done {
            let want = FILE_DATA_MAX.saturating_sub(self.head.len()).min(data.len());
            let got = budget.take(want);
            self.head.extend_from_slice(data.get(..got).unwrap_or(&[]));
            if self.head.len() >= FILE_DATA_MAX || got < want {
                self.head_done = true;
            }
        }
    }

    /// The next bytes of the current chunk (`gap` > 0: that many bytes are missing, `data` is
    /// not used); returns how much of `data` (or of the gap) was consumed.
    pub fn update(&mut self, data: &[u8], gap: u32, budget: &mut Budget) -> u32 {
        let is_gap = gap > 0;
        let len = if is_gap { gap } else { data.len().min(u32::MAX as usize) as u32 };
        if self.truncated {
            let consumed = len.min(self.chunk_left);
            self.chunk_left = self.chunk_left.saturating_sub(len);
            return consumed;
        }
        if self.chunk_left == 0 {
            if self.chunk_is_last {
                self.close();
                self.chunk_is_last = false;
            }
            return 0;
        }
        let take = len.min(self.chunk_left);
        if is_gap {
            if self.chunk_is_ooo {
                // a hole inside a queued chunk: the file cannot be put together
                self.trunc(budget);
            } else {
                if let Some(f) = self.file.as_mut() {
                    f.gap(u64::from(take));
                }
                self.head_done = true;
                self.tracked += u64::from(take);
            }
        } else {
            let part = data.get(..take as usize).unwrap_or(&[]);
            if self.chunk_is_ooo {
                self.queue(part, budget);
            } else {
                self.append(part, budget);
                self.tracked += u64::from(take);
            }
        }
        self.chunk_left -= take;
        if self.chunk_left == 0 {
            if self.chunk_is_ooo {
                self.chunk_is_ooo = false;
                self.ooo_offset = 0;
            } else {
                self.flush_queued(budget);
            }
            if self.chunk_is_last {
                self.close();
                self.chunk_is_last = false;
            }
        }
        take
    }

    fn queue(&mut self, part: &[u8], budget: &mut Budget) {
        let over = self.queued + part.len() as u64 > MAX_QUEUED_BYTES;
        let got = if over { 0 } else { budget.take(part.len()) };
        if over || got < part.len() {
            // a part taken is given back: nothing of the chunk is kept
            budget.give(got);
            self.overflowed = true;
            self.trunc(budget);
            return;
        }
        self.chunks.entry(self.ooo_offset).or_default().extend_from_slice(part);
        self.queued += part.len() as u64;
    }

    /// Appends the queued chunks that now follow in order.
    fn flush_queued(&mut self, budget: &mut Budget) {
        while let Some(c) = self.chunks.remove(&self.tracked) {
            self.queued -= c.len() as u64;
            budget.give(c.len());
            self.append(&c, budget);
            self.tracked += c.len() as u64;
        }
    }

    /// Whether another chunk of `size` bytes may be queued (Suricata's queue checks, with
    /// Picket's limits).
    pub fn can_queue(&self, size: u32) -> bool {
        self.queued + u64::from(size) <= MAX_QUEUED_BYTES && self.chunks.len() < MAX_QUEUED_CHUNKS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget { left: 1 << 20, refused: 0 }
    }

    #[test]
    fn in_order_chunks_make_the_file() {
        let mut b = budget();
        let mut t = FileTracker::default();
        assert_eq!(t.new_chunk(b"f", true, b"hello", 0, 5, &mut b), 5);
        assert_eq!(t.new_chunk(b"f", true, b" wor", 5, 6, &mut b), 4);
        assert_eq!(t.update(b"ldXX", 0, &mut b), 2, "only the rest of the chunk is taken");
        t.close();
        let f = t.file.as_ref().unwrap_or_else(|| panic!("opened"));
        assert_eq!((f.size, f.state), (11, FileState::Closed));
        assert_eq!(t.head, b"hello world");
    }

    #[test]
    fn out_of_order_chunks_are_queued_until_the_hole_fills() {
        let mut b = budget();
        let mut t = FileTracker::default();
        t.new_chunk(b"f", false, b"", 0, 0, &mut b);
        t.new_chunk(b"f", false, b"world", 5, 5, &mut b);
        assert_eq!((t.tracked, t.queued(), t.queued_chunks()), (0, 5, 1));
        t.new_chunk(b"f", false, b"hello", 0, 5, &mut b);
        assert_eq!((t.tracked, t.queued()), (10, 0));
        assert_eq!(t.head, b"helloworld");
        assert_eq!(b.left, (1 << 20) - 10, "queued bytes were given back, the head kept");
    }

    #[test]
    fn a_new_chunk_before_the_last_one_ended_truncates() {
        let mut b = budget();
        let mut t = FileTracker::default();
        t.new_chunk(b"f", true, b"abc", 0, 10, &mut b);
        t.new_chunk(b"f", true, b"def", 3, 3, &mut b);
        assert_eq!(t.file.as_ref().map(|f| f.state), Some(FileState::Truncated));
        // as Suricata's tracker: a truncated file stays the open transfer of its handle, its
        // later chunks consumed and dropped
        assert!(!t.is_done());
        assert_eq!(t.file.as_ref().map(|f| f.size), Some(3), "the second chunk's bytes dropped");
    }

    #[test]
    fn queue_limits_truncate() {
        let mut b = Budget { left: 4, refused: 0 };
        let mut t = FileTracker::default();
        t.new_chunk(b"f", true, b"", 0, 0, &mut b);
        t.new_chunk(b"f", true, b"0123456789", 100, 10, &mut b);
        assert!(t.overflowed);
        assert_eq!(t.file.as_ref().map(|f| f.state), Some(FileState::Truncated));
        assert_eq!((t.queued(), b.left), (0, 4), "nothing queued, the budget whole");
    }

    #[test]
    fn gaps_are_counted_in_the_size_and_stop_the_head() {
        let mut b = budget();
        let mut t = FileTracker::default();
        t.new_chunk(b"f", true, b"ab", 0, 10, &mut b);
        assert_eq!(t.update(&[], 5, &mut b), 5);
        t.update(b"xyz", 0, &mut b);
        let f = t.file.as_ref().unwrap_or_else(|| panic!("opened"));
        assert_eq!((f.size, f.gaps), (10, true));
        assert_eq!(t.head, b"ab");
    }
}
