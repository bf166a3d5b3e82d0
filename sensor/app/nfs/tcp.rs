//! ONC RPC over TCP: records behind 4-byte marks (RFC 5531 section 11), READ replies and
//! WRITE calls streamed into their file as their data arrives, gaps crossed.
//!
//! Bounded: one record is buffered up to [`MAX_RECORD`] bytes; a larger one that is not a
//! READ or WRITE is skipped (counted). After a gap or a record mark that cannot be right, the
//! bytes are searched for the next record start with Suricata's probe (counted while
//! skipped).

use super::xdr;
use super::{probe_tcp, proc3, records, Chunk, NfsState, NfsTx, EV_MALFORMED, MAX_RECORD};
use crate::app::identify::ProbeResult;
use crate::app::txs::TxList;

/// Bytes of a large record read before giving up streaming it (headers with the largest
/// credentials and verifier fit).
const STREAM_HEAD: usize = 10 << 10;
/// Smallest record Suricata considers for streaming.
const STREAM_MIN: usize = 512;

/// The open file transaction of a handle in a direction (a free function so the flow's
/// budget can be borrowed beside it).
pub(super) fn file_tx<'a>(txs: &'a mut TxList<NfsTx>, handle: &[u8], to_server: bool) -> Option<&'a mut NfsTx> {
    txs.iter_mut()
        .find(|t| !t.file_closed && t.handle == handle && t.file.as_ref().is_some_and(|f| f.to_server == to_server))
}

impl NfsState {
    /// The rest of a chunk's data follows in the stream (`left` bytes).
    pub(super) fn start_chunk(&mut self, to_server: bool, handle: &[u8], left: u32) {
        let d = &mut self.tcp[usize::from(!to_server)];
        d.chunk = Chunk { left, handle: handle.to_vec() };
    }

    /// In-order bytes of one TCP direction.
    pub fn parse_tcp(&mut self, to_server: bool, data: &[u8]) {
        let di = usize::from(!to_server);
        if self.tcp[di].buf.is_empty() {
            let used = self.consume(to_server, data);
            if let Some(rest) = data.get(used..) {
                self.tcp[di].buf.extend_from_slice(rest);
            }
        } else {
            let mut b = std::mem::take(&mut self.tcp[di].buf);
            b.extend_from_slice(data);
            let used = self.consume(to_server, &b).min(b.len());
            b.drain(..used);
            self.tcp[di].buf = b;
        }
    }

    /// `len` bytes of one direction are missing.
    pub fn gap_tcp(&mut self, to_server: bool, len: u64) {
        let di = usize::from(!to_server);
        let mut len = len;
        let left = u64::from(self.tcp[di].chunk.left);
        if left > 0 {
            let n = len.min(left);
            self.chunk_data(to_server, &[], n as u32);
            len -= n;
        }
        let d = &mut self.tcp[di];
        if len > 0 && d.skip > 0 {
            let n = len.min(d.skip);
            d.skip -= n;
            len -= n;
        }
        if len > 0 {
            d.buf.clear();
            d.lost = true;
            // as Suricata's post-gap housekeeping: what waited on this side is given up
            // (file transactions can cross gaps and stay)
            for t in self.txs.iter_mut().filter(|t| t.file.is_none()) {
                t.request_done = true;
                if !to_server {
                    t.response_done = true;
                }
            }
        }
    }

    /// Takes what it can of `input`; returns the bytes used (the rest waits for more).
    fn consume(&mut self, to_server: bool, input: &[u8]) -> usize {
        let di = usize::from(!to_server);
        let mut pos = 0;
        while let Some(rest) = input.get(pos..).filter(|r| !r.is_empty()) {
            let d = &mut self.tcp[di];
            if d.chunk.left > 0 {
                let n = rest.len().min(d.chunk.left as usize);
                self.chunk_data(to_server, rest.get(..n).unwrap_or(&[]), 0);
                pos += n;
                continue;
            }
            if d.skip > 0 {
                let n = (rest.len() as u64).min(d.skip);
                d.skip -= n;
                pos += n as usize;
                continue;
            }
            if d.lost {
                let (at, found) = find_start(to_server, rest);
                self.stats.resync_bytes += at as u64;
                pos += at;
                if !found {
                    break;
                }
                self.tcp[di].lost = false;
                continue;
            }
            let Some(m) = rest.get(..4) else { break };
            let len = (u32::from_be_bytes([m[0], m[1], m[2], m[3]]) & 0x7fff_ffff) as usize;
            if len < 24 {
                // no RPC message is this short: the stream is not where it should be
                self.event_on_last(EV_MALFORMED);
                self.tcp[di].lost = true;
                continue;
            }
            let total = 4 + len;
            if total <= MAX_RECORD {
                if let Some(body) = rest.get(4..total) {
                    self.record(to_server, body);
                    // a complete record: nothing of it follows
                    self.tcp[di].chunk = Chunk::default();
                    pos += total;
                    continue;
                }
            }
            let body = rest.get(4..).unwrap_or(&[]);
            if len >= STREAM_MIN {
                if let Some(used) = self.stream(to_server, body) {
                    let d = &mut self.tcp[di];
                    let remaining = len.saturating_sub(used);
                    d.chunk.left = d.chunk.left.min(remaining as u32);
                    d.skip = (remaining - d.chunk.left as usize) as u64;
                    pos += 4 + used.min(body.len());
                    continue;
                }
            }
            if total > MAX_RECORD && body.len() >= STREAM_HEAD {
                self.stats.record_too_large += 1;
                self.tcp[di].skip = total as u64;
                continue;
            }
            break;
        }
        pos
    }

    /// One complete record.
    fn record(&mut self, to_server: bool, body: &[u8]) {
        if to_server {
            match xdr::call(body) {
                Some(c) => {
                    self.stats.calls += 1;
                    self.on_call(&c);
                }
                None => self.event_on_last(EV_MALFORMED),
            }
        } else {
            match xdr::reply(body) {
                Some(r) => self.on_reply(&r),
                None => self.event_on_last(EV_MALFORMED),
            }
        }
    }

    /// The start of a large record still arriving: an NFSv3 WRITE call or READ reply is
    /// handed over now, its data streamed as it comes. Returns the bytes of the record's
    /// body used, or `None` when it is not such a record (or its headers are not all there).
    fn stream(&mut self, to_server: bool, body: &[u8]) -> Option<usize> {
        if to_server {
            let c = xdr::call(body)?;
            if c.procedure != proc3::WRITE || c.version != 3 {
                return None;
            }
            let w = records::write3(c.body)?;
            let used = body.len() - c.body.len() + w.head + w.data.len();
            self.stats.calls += 1;
            self.on_call(&c);
            Some(used)
        } else {
            let (xid, _) = xdr::header(body)?;
            let m = self.xids.get(&xid)?;
            if m.procedure != proc3::READ || m.version != 3 {
                return None;
            }
            let r = xdr::reply(body)?;
            let rr = records::read3_reply(r.body)?;
            let used = body.len() - r.body.len() + rr.head + rr.data.len();
            self.on_reply(&r);
            Some(used)
        }
    }

    /// Bytes (or a gap of `gap` bytes) of the chunk being streamed in a direction.
    fn chunk_data(&mut self, to_server: bool, data: &[u8], gap: u32) {
        let di = usize::from(!to_server);
        let n = if gap > 0 { gap } else { data.len() as u32 };
        let d = &mut self.tcp[di];
        d.chunk.left = d.chunk.left.saturating_sub(n);
        let handle = std::mem::take(&mut d.chunk.handle);
        if let Some(tx) = file_tx(&mut self.txs, &handle, to_server) {
            if let Some(f) = tx.file.as_mut() {
                f.chunks += 1;
                f.tracker.update(data, gap, &mut self.budget);
                if f.tracker.is_done() {
                    if to_server {
                        tx.request_done = true;
                    } else {
                        tx.response_done = true;
                    }
                    tx.file_closed = true;
                }
            }
        }
        let d = &mut self.tcp[di];
        if d.chunk.left > 0 {
            d.chunk.handle = handle;
        }
    }
}

/// Where the next record starts in `d`: (offset, true), or (offset to keep from, false) when
/// more bytes are needed to tell.
fn find_start(to_server: bool, d: &[u8]) -> (usize, bool) {
    for i in 0..d.len() {
        match probe_tcp(to_server, d.get(i..).unwrap_or(&[])) {
            ProbeResult::Found(_) => return (i, true),
            ProbeResult::NeedMore => return (i, false),
            ProbeResult::NotFound => {}
        }
    }
    (d.len(), false)
}
