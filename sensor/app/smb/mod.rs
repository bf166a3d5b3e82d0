//! SMB 1, 2 and 3 over the NetBIOS session service (TCP 139 and 445), after Suricata's
//! `rust/src/smb` (state, record parsers, transactions, files, DCE/RPC over pipes, detection
//! getters and the EVE logger).
//!
//! Takes: the in-order bytes of each TCP direction, with gap notices.
//! Promises: NBSS framing; SMB1 (AndX chains) and SMB2 (compound and async) commands turned
//! into transactions as Suricata makes them: negotiate (dialects, GUIDs, sizes), session setup
//! (NTLMSSP user, domain, host and version; Kerberos realm and service names; SMB1 native OS
//! and LAN manager), tree connect (share or named pipe), create/open (file name, disposition,
//! times), read and write (files through [`files`], `file.data`), close, IOCTL, rename, set
//! info, and DCE/RPC over named pipes (binds, requests and responses: `dcerpc.*` keywords);
//! one generic transaction per other command. A gap is crossed the way Suricata crosses it: a
//! file transfer absorbs it, otherwise parsing resumes at the next record that looks like SMB
//! behind an NBSS header, and transactions left open in that direction are considered done.
//! Bounded per flow: one partial record per direction of at most [`MAX_RECORD`] bytes (a larger
//! record is skipped, counted; reads and writes are streamed instead of buffered, as Suricata
//! does), at most [`MAX_TXS`] transactions (the oldest complete one, else the oldest, goes,
//! counted), Suricata's cache sizes for file names, trees, read offsets and partial DCE/RPC
//! records, and [`FLOW_BUDGET`] bytes for everything kept of payloads (`file.data` buffers,
//! out-of-order file chunks, DCE/RPC stub data); every drop is counted in [`SmbStats`].
//! Never: panics or indexes unchecked on record bytes. A record Suricata calls malformed ends
//! parsing of the flow, as there.

mod auth;
mod dcerpc;
mod detect;
mod eve;
pub(crate) mod files;
mod frames;
mod lru;
mod records;
mod smb1;
mod smb2;
mod status;
#[cfg(test)]
mod tests;
mod txs;

use std::collections::VecDeque;
use std::sync::Arc;

pub use detect::PROTOCOL;
use files::Budget;
use lru::Lru;
use records::NBSS_SESSION_MESSAGE;
use txs::{Hdr, Kind, SmbTx, Snap};

/// Largest partial record buffered per direction.
pub const MAX_RECORD: usize = 1 << 20;
/// Transactions held per flow (Suricata's `max-tx`).
pub const MAX_TXS: usize = 1024;
/// Payload bytes a flow keeps in all (file buffers and queues, stub data).
pub const FLOW_BUDGET: usize = 4 << 20;
/// Complete transactions kept (newest first) even when detection has not said it is done with
/// them; older complete ones go.
const KEEP_DONE: usize = 8;
/// Open transactions beyond this many are closed oldest first (their record shows what they
/// had, as Suricata's flow-end record of a never answered command does): the detection engine
/// tracks a bounded number of transactions per flow.
const MAX_LIVE: usize = 48;
/// Parse calls after which a file left open by a gap is considered done (Suricata: 60 seconds
/// of flow time without data for it).
const POST_GAP_CALLS: u64 = 256;
/// Reads and writes at least this long are parsed before they are complete (Suricata's 512).
const PARTIAL_MIN: usize = 512;

crate::app_counters! {
    /// SMB counters.
    pub struct SmbStats {
        /// Transactions created.
        txs,
        /// SMB1 records.
        smb1_records,
        /// SMB2 records (each record of a compound message counts).
        smb2_records,
        /// SMB3 transform (encrypted) records.
        smb3_records,
        /// Files opened (reads and writes).
        files,
        /// Flows whose parsing stopped at a malformed record.
        malformed,
        /// Gaps crossed by searching for the next record.
        gap_resyncs,
        /// Records larger than the record buffer, skipped.
        record_too_large,
        /// Bytes skipped (records not parsed, data past a limit).
        bytes_skipped,
        /// Transactions dropped because [`MAX_TXS`] were held.
        tx_evicted,
        /// Open transactions closed because [`MAX_LIVE`] were open (a response that never came).
        tx_stale_closed,
        /// Payload bytes not kept because the flow's budget was spent.
        budget_refused_bytes,
        /// Files cut short by a queue limit or the budget.
        file_overflows,
        /// Cache entries forgotten to make room (file names, trees, offsets).
        cache_evicted,
    }
}

/// App-layer events, named as Suricata names them (`app-layer-event:smb.<name>`).
pub static EVENTS: &[&str] = &[
    "internal_error",
    "malformed_data",
    "record_overflow",
    "malformed_ntlmssp_request",
    "malformed_ntlmssp_response",
    "duplicate_negotiate",
    "negotiate_malformed_dialects",
    "file_overlap",
    "request_to_client",
    "response_to_server",
    "negotiate_max_read_size_too_large",
    "negotiate_max_write_size_too_large",
    "read_request_too_large",
    "read_response_too_large",
    "read_queue_size_exceeded",
    "read_queue_cnt_exceeded",
    "write_request_too_large",
    "write_queue_size_exceeded",
    "write_queue_cnt_exceeded",
    "unusual_ntlmssp_order",
    "too_many_transactions",
];

/// Indexes into [`EVENTS`].
pub(crate) mod ev {
    pub(crate) const MALFORMED_DATA: u16 = 1;
    pub(crate) const DUPLICATE_NEGOTIATE: u16 = 5;
    pub(crate) const NEGOTIATE_MALFORMED_DIALECTS: u16 = 6;
    pub(crate) const FILE_OVERLAP: u16 = 7;
    pub(crate) const NEGOTIATE_MAX_READ_SIZE_TOO_LARGE: u16 = 10;
    pub(crate) const NEGOTIATE_MAX_WRITE_SIZE_TOO_LARGE: u16 = 11;
    pub(crate) const READ_REQUEST_TOO_LARGE: u16 = 12;
    pub(crate) const READ_RESPONSE_TOO_LARGE: u16 = 13;
    pub(crate) const READ_QUEUE_SIZE_EXCEEDED: u16 = 14;
    pub(crate) const READ_QUEUE_CNT_EXCEEDED: u16 = 15;
    pub(crate) const WRITE_REQUEST_TOO_LARGE: u16 = 16;
    pub(crate) const WRITE_QUEUE_SIZE_EXCEEDED: u16 = 17;
    pub(crate) const WRITE_QUEUE_CNT_EXCEEDED: u16 = 18;
    pub(crate) const UNUSUAL_NTLMSSP_ORDER: u16 = 19;
    pub(crate) const TOO_MANY_TRANSACTIONS: u16 = 20;
}

/// Suricata's limits on reads and writes (`max-read-size`, `max-write-size`: 16 MiB).
pub(crate) const MAX_READ_SIZE: u32 = 16 << 20;
/// See [`MAX_READ_SIZE`].
pub(crate) const MAX_WRITE_SIZE: u32 = 16 << 20;

/// A tree (share) the flow connected to.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tree {
    pub name: Vec<u8>,
    pub is_pipe: bool,
}

/// One direction's framing state.
#[derive(Debug, Default)]
pub(crate) struct Dir {
    /// A record not complete yet.
    buf: Vec<u8>,
    /// Bytes of the current record still to skip.
    pub skip: u32,
    /// Bytes of the current read/write chunk still to come, and its file id.
    pub file_left: u32,
    pub file_guid: Vec<u8>,
    /// Looking for the next record after a gap.
    gap: bool,
    /// A gap happened in this direction (never reset, as in Suricata).
    ssn_gap: bool,
    /// No more data is understood in this direction.
    pub trunc: bool,
}

/// Per-flow SMB state.
#[derive(Debug)]
pub struct SmbState {
    pub(crate) txs: VecDeque<SmbTx>,
    next_id: u64,
    /// Session/tree/message key to a file id or name (Suricata's `ssn2vec_cache`).
    pub(crate) ssn2vec: Lru<Hdr, Vec<u8>>,
    /// File id to the name it was opened with.
    pub(crate) guid2name: Lru<Vec<u8>, Vec<u8>>,
    /// Read request key to (file id, offset).
    pub(crate) read_offset: Lru<Hdr, (Vec<u8>, u64)>,
    /// Tree key to the tree.
    pub(crate) ssn2tree: Lru<Hdr, Tree>,
    /// Partial DCE/RPC records (a response larger than one read), by key and file id.
    pub(crate) frag: Lru<(Hdr, Vec<u8>), Vec<u8>>,
    pub(crate) dirs: [Dir; 2],
    /// Negotiated SMB2 dialect (0: none or SMB1).
    pub(crate) dialect: u16,
    /// Negotiated SMB1 dialect name.
    pub(crate) dialect_name: Option<Vec<u8>>,
    pub(crate) max_read_size: u32,
    pub(crate) max_write_size: u32,
    /// Contexts of the last DCE/RPC bind on a pipe.
    pub(crate) ifaces: Option<Arc<Vec<crate::app::dcerpc::pdu::Iface>>>,
    pub(crate) snap: Arc<Snap>,
    snap_dirty: bool,
    pub(crate) budget: Budget,
    calls: u64,
    post_gap_files: bool,
    failed: bool,
    /// Counters (drained into the worker's at each call).
    pub stats: SmbStats,
    /// Frames of the current call.
    pub frames: frames::SmbFrames,
    /// The hashes files get ([`crate::app::AppConfig::file_hashes`]).
    pub(crate) hashes: crate::app::files::HashSet,
}

impl Default for SmbState {
    fn default() -> Self {
        Self::new()
    }
}

impl SmbState {
    /// A fresh state.
    pub fn new() -> Self {
        SmbState {
            txs: VecDeque::new(),
            next_id: 0,
            ssn2vec: Lru::new(512),
            guid2name: Lru::new(1024),
            read_offset: Lru::new(128),
            ssn2tree: Lru::new(512),
            frag: Lru::new(128),
            dirs: Default::default(),
            dialect: 0,
            dialect_name: None,
            max_read_size: 0,
            max_write_size: 0,
            ifaces: None,
            snap: Arc::new(Snap::default()),
            snap_dirty: false,
            budget: Budget { left: FLOW_BUDGET, refused: 0 },
            calls: 0,
            post_gap_files: false,
            failed: false,
            stats: SmbStats::default(),
            hashes: Default::default(),
            frames: frames::SmbFrames::default(),
        }
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &SmbTx> {
        self.txs.iter()
    }

    /// The transaction with this id.
    pub fn tx(&self, id: u64) -> Option<&SmbTx> {
        self.txs.iter().find(|t| t.id == id)
    }

    /// Parsing stopped at a malformed record.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Records that the values a record shows changed (dialect, sizes, DCE/RPC contexts).
    pub(crate) fn snap_changed(&mut self) {
        self.snap = Arc::new(Snap {
            dialect: self.dialect,
            dialect_name: self.dialect_name.clone(),
            max_read: self.max_read_size,
            max_write: self.max_write_size,
            ifaces: self.ifaces.clone(),
        });
        self.snap_dirty = true;
    }

    /// Appends a transaction, numbering it; makes room when [`MAX_TXS`] are held.
    pub(crate) fn add(&mut self, mut tx: SmbTx) -> usize {
        if self.txs.len() >= MAX_TXS {
            let victim = self.txs.iter().position(SmbTx::is_complete).unwrap_or(0);
            if let Some(t) = self.txs.remove(victim) {
                self.budget.give(t.held());
            }
            self.stats.tx_evicted += 1;
            tx.set_event(ev::TOO_MANY_TRANSACTIONS);
        }
        tx.id = self.next_id;
        self.next_id += 1;
        self.stats.txs += 1;
        self.txs.push_back(tx);
        self.txs.len() - 1
    }

    /// Raises an event on the newest transaction (Suricata's `SMBState::set_event`).
    pub(crate) fn set_event(&mut self, e: u16) {
        if let Some(t) = self.txs.back_mut() {
            t.set_event(e);
        }
    }

    /// Skips the rest of the current record in a direction.
    pub(crate) fn set_skip(&mut self, to_server: bool, n: u32) {
        self.dirs[usize::from(!to_server)].skip = n;
    }

    /// The rest of a read/write chunk (`rec_size` long, `have` present) comes in the next bytes.
    pub(crate) fn set_file_left(&mut self, to_server: bool, rec_size: u32, have: u32, fuid: Vec<u8>) {
        let d = &mut self.dirs[usize::from(!to_server)];
        d.file_left = rec_size.saturating_sub(have);
        d.file_guid = fuid;
    }

    /// Adds a read/write chunk to file transaction `i` (Suricata's `filetracker_newchunk` with
    /// the overlap event and, when `check_queue`, the queue limits: `Err(true)` when the
    /// queued bytes, `Err(false)` when the queued chunks would exceed them).
    pub(crate) fn add_chunk(
        &mut self,
        i: usize,
        data: &[u8],
        offset: u64,
        len: u32,
        check_queue: bool,
    ) -> Result<(), bool> {
        let SmbState { txs, budget, stats, hashes, .. } = self;
        let Some(t) = txs.get_mut(i) else { return Ok(()) };
        let Kind::File(f) = &mut t.kind else { return Ok(()) };
        let overlap = offset < f.tracker.tracked;
        let res = if check_queue && offset != f.tracker.tracked && !f.tracker.can_queue(len) {
            Err(f.tracker.queued_chunks() < files::MAX_QUEUED_CHUNKS)
        } else {
            let name = f.name.clone();
            f.tracker.hashes = *hashes;
            f.tracker.new_chunk(&name, f.to_server, data, offset, len, budget);
            if std::mem::take(&mut f.tracker.overflowed) {
                stats.file_overflows += 1;
            }
            Ok(())
        };
        if overlap {
            self.set_event(ev::FILE_OVERLAP);
        }
        res
    }

    /// Drops transactions `done` says are finished with; returns the lowest id left.
    pub fn free(&mut self, done: impl Fn(&SmbTx) -> bool) -> Option<u64> {
        let before = self.txs.len();
        let budget = &mut self.budget;
        self.txs.retain(|t| {
            let drop = done(t);
            if drop {
                budget.give(t.held());
            }
            !drop
        });
        (self.txs.len() != before).then(|| self.txs.front().map_or(self.next_id, |t| t.id))
    }

    /// Frees complete transactions detection is done with, or that [`KEEP_DONE`] newer
    /// complete ones follow; closes the oldest open ones beyond [`MAX_LIVE`]. Returns the lowest
    /// id left when any went.
    pub fn free_txs(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
        let mut newer_done = 0;
        let mut keep_from = u64::MAX;
        for t in self.txs.iter().rev() {
            if t.is_complete() && t.sealed {
                newer_done += 1;
                if newer_done > KEEP_DONE {
                    keep_from = t.id;
                    break;
                }
            }
        }
        // a transfer's file is inspected once ended (`filesize`): its transaction stays until
        // detection saw it so, unless newer ones push it out
        let forced = keep_from != u64::MAX;
        let freed = self.free(|t| {
            let file = matches!(t.kind, Kind::File(_));
            t.is_complete() && t.sealed && (t.id <= keep_from && (forced || !file) || inspected(t.id))
        });
        let mut open = self.txs.iter().filter(|t| !t.is_complete()).count();
        for t in self.txs.iter_mut() {
            if open <= MAX_LIVE {
                break;
            }
            if !t.is_complete() {
                t.request_done = true;
                t.response_done = true;
                t.sealed = true;
                open -= 1;
                self.stats.tx_stale_closed += 1;
            }
        }
        freed
    }

    /// Feeds in-order bytes of one direction. Returns false once parsing has stopped.
    pub fn parse(&mut self, to_server: bool, data: &[u8]) -> bool {
        if self.failed {
            return false;
        }
        self.calls += 1;
        let d = usize::from(!to_server);
        let mut buf = std::mem::take(&mut self.dirs[d].buf);
        self.frames.base = self.frames.base.saturating_sub(buf.len() as u64);
        let ok = if buf.is_empty() {
            let r = self.input(to_server, data);
            if let Some(used) = r {
                buf.extend_from_slice(data.get(used..).unwrap_or(&[]));
            }
            r.is_some()
        } else {
            buf.extend_from_slice(data);
            let r = self.input(to_server, &buf);
            if let Some(used) = r {
                buf.drain(..used.min(buf.len()));
            }
            r.is_some()
        };
        if ok {
            self.dirs[d].buf = buf;
        } else {
            self.failed = true;
            self.stats.malformed += 1;
            self.dirs = Default::default();
        }
        self.end_of_call();
        ok
    }

    /// `len` bytes of a direction are missing (Suricata's `parse_tcp_data_*_gap`).
    pub fn gap(&mut self, to_server: bool, len: u64) {
        if self.failed {
            return;
        }
        let d = usize::from(!to_server);
        let len = len.min(u64::from(u32::MAX)) as u32;
        let dropped = self.dirs[d].buf.len();
        self.stats.bytes_skipped += dropped as u64;
        self.dirs[d].buf = Vec::new();
        let skipped = self.skip(d, len);
        if skipped < len {
            let left = len - skipped;
            if self.file_update(to_server, &[], left) < left {
                self.dirs[d].ssn_gap = true;
                self.dirs[d].gap = true;
            }
        }
        self.end_of_call();
    }

    /// A direction ended: its open files are cut short, as Suricata truncates open files when
    /// a flow ends.
    pub fn eof(&mut self, to_server: bool) {
        let SmbState { txs, budget, .. } = self;
        for t in txs.iter_mut() {
            if let Kind::File(f) = &mut t.kind {
                if f.to_server == to_server {
                    f.tracker.trunc(budget);
                }
            }
        }
    }

    fn end_of_call(&mut self) {
        let dirty = std::mem::take(&mut self.snap_dirty);
        for t in self.txs.iter_mut().filter(|t| !t.sealed) {
            if dirty {
                t.snap = self.snap.clone();
            }
            t.sealed = t.is_complete();
        }
        self.stats.budget_refused_bytes += std::mem::take(&mut self.budget.refused);
        self.stats.cache_evicted += std::mem::take(&mut self.guid2name.evicted)
            + std::mem::take(&mut self.ssn2vec.evicted)
            + std::mem::take(&mut self.read_offset.evicted)
            + std::mem::take(&mut self.ssn2tree.evicted)
            + std::mem::take(&mut self.frag.evicted);
    }

    /// Skips up to `n` bytes of a record being skipped; returns how many.
    fn skip(&mut self, d: usize, n: u32) -> u32 {
        let s = &mut self.dirs[d].skip;
        let c = (*s).min(n);
        *s -= c;
        self.stats.bytes_skipped += u64::from(c);
        c
    }

    /// Feeds the rest of a read/write chunk to its file (`gap` > 0: that many bytes are
    /// missing); returns the bytes consumed (none when the chunk has no file transfer).
    fn file_update(&mut self, to_server: bool, data: &[u8], gap: u32) -> u32 {
        let d = usize::from(!to_server);
        let left = self.dirs[d].file_left;
        if left == 0 {
            return 0;
        }
        let have = if gap > 0 { gap } else { data.len().min(u32::MAX as usize) as u32 };
        let n = left.min(have);
        self.dirs[d].file_left = left - n;
        let ssn_gap = self.dirs[0].ssn_gap || self.dirs[1].ssn_gap;
        let guid = std::mem::take(&mut self.dirs[d].file_guid);
        let i = self.file_tx(&guid, to_server, false);
        self.dirs[d].file_guid = guid;
        let SmbState { txs, budget, .. } = self;
        let Some(Kind::File(f)) = i.and_then(|i| txs.get_mut(i)).map(|t| &mut t.kind) else {
            // no transfer (a pipe, or the record was skipped): as Suricata, the count runs
            // down but the bytes are parsed as they come
            return 0;
        };
        if ssn_gap && f.tracker.queued() > 2_000_000 {
            f.tracker.trunc(budget);
        }
        f.post_gap_deadline = 0;
        let part = if gap > 0 { &[][..] } else { data.get(..n as usize).unwrap_or(&[]) };
        f.tracker.update(part, if gap > 0 { n } else { 0 }, budget);
        n
    }

    /// Parses what it can of `input`; returns the bytes used (the rest waits for more data),
    /// or `None` when a malformed record ends parsing.
    fn input(&mut self, to_server: bool, input: &[u8]) -> Option<usize> {
        let d = usize::from(!to_server);
        let mut cur = self.skip(d, input.len().min(u32::MAX as usize) as u32) as usize;
        cur += self.file_update(to_server, input.get(cur..).unwrap_or(&[]), 0) as usize;
        if cur >= input.len() {
            return Some(input.len());
        }
        if self.dirs[d].gap {
            loop {
                let rest = input.get(cur..).unwrap_or(&[]);
                if rest.is_empty() {
                    break;
                }
                match records::search_smb(rest) {
                    Some(off) if off < 4 => cur += off + 4,
                    Some(off) => {
                        cur += off - 4;
                        self.dirs[d].gap = false;
                        self.stats.gap_resyncs += 1;
                        break;
                    }
                    None => {
                        // keep the last bytes: a record may start across the next chunk
                        let keep = input.len().saturating_sub(3).max(cur);
                        self.stats.bytes_skipped += (keep - cur) as u64;
                        return Some(keep);
                    }
                }
            }
        }
        while let Some(rest) = input.get(cur..).filter(|r| !r.is_empty()) {
            match records::nbss_record(rest) {
                Ok((rec, used)) => {
                    self.frames.nbss(to_server, self.frames.base + cur as u64, u64::from(rec.len));
                    if rec.msg_type == NBSS_SESSION_MESSAGE {
                        self.frames.records(to_server, rec.data);
                    }
                    if rec.msg_type == NBSS_SESSION_MESSAGE && !self.record(to_server, rec.data) {
                        return None;
                    }
                    cur += used;
                }
                Err(total) => {
                    if total >= PARTIAL_MIN && rest.len() < PARTIAL_MIN {
                        return Some(cur);
                    }
                    if self.partial(to_server, rest, self.frames.base + cur as u64) {
                        return Some(input.len());
                    }
                    if total > MAX_RECORD {
                        self.stats.record_too_large += 1;
                        self.stats.bytes_skipped += rest.len() as u64;
                        self.dirs[d].skip = (total - rest.len()).min(u32::MAX as usize) as u32;
                        return Some(input.len());
                    }
                    return Some(cur);
                }
            }
        }
        self.post_gap(to_server);
        Some(input.len())
    }

    /// One whole NBSS session message. False: malformed (parsing ends).
    fn record(&mut self, to_server: bool, data: &[u8]) -> bool {
        let ok = match records::smb_version(data) {
            Some(0xff) => match records::smb1(data) {
                Some(r) => {
                    self.stats.smb1_records += 1;
                    if r.is_request() == to_server {
                        if to_server {
                            smb1::request(self, &r);
                        } else {
                            smb1::response(self, &r);
                        }
                    }
                    true
                }
                None => false,
            },
            Some(0xfe) => {
                let mut rest = data;
                let mut ok = true;
                while !rest.is_empty() {
                    let Some((r, next)) = records::smb2(rest, !to_server) else {
                        ok = false;
                        break;
                    };
                    self.stats.smb2_records += 1;
                    if r.response != to_server {
                        if to_server {
                            smb2::request(self, &r);
                        } else {
                            smb2::response(self, &r);
                        }
                    }
                    rest = next;
                }
                ok
            }
            Some(0xfd) => {
                let mut rest = data;
                let mut ok = true;
                while !rest.is_empty() {
                    self.stats.smb3_records += 1;
                    match records::smb3_transform(rest) {
                        Some(next) => rest = next,
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                ok
            }
            Some(_) => true,
            // a session message too short for a version: an error to the server, ignored to
            // the client (as Suricata's two directions differ)
            None => !to_server && data.len() < 4,
        };
        if !ok {
            self.set_event(ev::MALFORMED_DATA);
        }
        ok
    }

    /// A read (to the client) or write (to the server) record too large to wait for: its
    /// headers and the data present are parsed, the rest streamed to the file. True when it
    /// was taken (all of `rest` consumed).
    fn partial(&mut self, to_server: bool, rest: &[u8], at: u64) -> bool {
        let Some(h) = records::nbss_partial(rest) else { return false };
        if rest.len() < PARTIAL_MIN {
            // Suricata gives up on a direction whose record does not even look like NBSS/SMB
            if rest.len() > 8 && !h.is_smb() {
                self.trunc(to_server);
            }
            return false;
        }
        if h.msg_type != NBSS_SESSION_MESSAGE {
            return false;
        }
        let remaining = h.len.saturating_sub(h.data.len() as u32);
        match records::smb_version(h.data) {
            Some(0xff) => {
                let Some(r) = records::smb1(h.data) else { return false };
                let want = if to_server { smb1::WRITE_ANDX } else { smb1::READ_ANDX };
                if r.command != want {
                    return false;
                }
                let tree = Hdr::new(txs::key::SHARE, u64::from(r.ssn_id), u32::from(r.tree_id), 0);
                if self.ssn2tree.get(&tree).is_some_and(|t| t.is_pipe) {
                    return false;
                }
                self.stats.smb1_records += 1;
                self.partial_frames(to_server, 0xff, at, h.len, records::SMB1_HEADER as u64, h.data.len());
                if to_server {
                    smb1::write_request(self, &r, records::SMB1_HEADER, smb1::WRITE_ANDX, remaining);
                } else {
                    smb1::read_response(self, &r, records::SMB1_HEADER, remaining);
                }
                true
            }
            Some(0xfe) => {
                let Some((r, _)) = records::smb2(h.data, !to_server) else { return false };
                let want = if to_server { smb2::WRITE } else { smb2::READ };
                if r.command != want {
                    return false;
                }
                self.stats.smb2_records += 1;
                self.partial_frames(to_server, 0xfe, at, h.len, u64::from(r.header_len), h.data.len());
                if to_server {
                    smb2::write_request(self, &r, remaining);
                } else {
                    smb2::read_response(self, &r, remaining);
                }
                true
            }
            _ => false,
        }
    }

    /// The frames of a record taken before it is whole: the NBSS record and the SMB record
    /// as long as the NBSS header says (`have`: bytes of it present).
    fn partial_frames(&mut self, to_server: bool, version: u8, at: u64, len: u32, hdr: u64, have: usize) {
        self.frames.nbss(to_server, at, u64::from(len));
        self.frames.smb(to_server, version, at + 4, u64::from(len), hdr, have as u64);
    }

    /// No more data is understood in a direction: its open transactions are done.
    fn trunc(&mut self, to_server: bool) {
        self.dirs[usize::from(!to_server)].trunc = true;
        for t in self.txs.iter_mut() {
            if to_server {
                t.request_done = true;
            } else {
                t.response_done = true;
            }
        }
    }

    /// After a gap, transactions of the direction are considered done, except file transfers,
    /// which get a while to receive more data (Suricata's `post_gap_housekeeping`).
    fn post_gap(&mut self, to_server: bool) {
        if self.dirs[usize::from(!to_server)].ssn_gap {
            let deadline = self.calls + POST_GAP_CALLS;
            for t in self.txs.iter_mut() {
                match &mut t.kind {
                    Kind::File(f) => {
                        if f.post_gap_deadline == 0 {
                            f.post_gap_deadline = deadline;
                            self.post_gap_files = true;
                        }
                    }
                    _ => {
                        t.request_done = true;
                        if !to_server {
                            t.response_done = true;
                        }
                    }
                }
            }
        }
        if self.post_gap_files {
            let mut left = false;
            let SmbState { txs, budget, calls, .. } = self;
            for t in txs.iter_mut() {
                if let Kind::File(f) = &mut t.kind {
                    if f.post_gap_deadline > 0 {
                        if *calls > f.post_gap_deadline {
                            t.request_done = true;
                            t.response_done = true;
                            f.tracker.trunc(budget);
                        } else {
                            left = true;
                        }
                    }
                }
            }
            self.post_gap_files = left;
        }
    }
}
