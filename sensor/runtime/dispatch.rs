//! The reader's side of the worker queues, shared by replay (which waits on a full queue) and
//! the pnet live capture (which drops, counted): a pending batch per worker, with its timeout
//! ticks, sent when full or at a chunk boundary; empty batches come back for reuse.

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::capture::{FrameRef, Timestamp};
use crate::metrics::{Counters, C};
use crate::runtime::worker::{Batch, Item};

/// The reader's side of the worker queues: a pending batch (with its timeout ticks) per
/// worker, sent when full or at a chunk boundary.
pub(crate) struct Dispatch {
    pub(crate) pending: Vec<Batch>,
    pub(crate) senders: Vec<Sender<Batch>>,
    pub(crate) recycle: Receiver<Batch>,
    pub(crate) batch_size: usize,
    /// Live capture: a full worker queue drops the batch (counted) instead of waiting, so the
    /// reader keeps draining the socket.
    pub(crate) drop_when_full: bool,
}

impl Dispatch {
    /// Empty batches for `senders.len()` workers.
    pub(crate) fn new(senders: Vec<Sender<Batch>>, recycle: Receiver<Batch>, batch_size: usize) -> Dispatch {
        Dispatch {
            pending: (0..senders.len()).map(|_| Batch::with_capacity(batch_size)).collect(),
            senders,
            recycle,
            batch_size,
            drop_when_full: false,
        }
    }

    /// Queues an item of frame `fr` for worker `w`, sending the batch when it is full.
    pub(crate) fn push(&mut self, w: usize, fr: &FrameRef<'_>, item: Item, now: Timestamp, c: &mut Counters) {
        let Some(b) = self.pending.get_mut(w) else { return };
        b.push(fr, item);
        if b.len() >= self.batch_size {
            self.send(w, now, c);
        }
    }

    /// Records a timeout tick at the current position of every worker's batch. `pos`: the
    /// capture position of the frame that comes next (replay), 0 in live capture, where ticks
    /// with no frame between them are merged into the last.
    pub(crate) fn tick(&mut self, ts: Timestamp, pos: u64) {
        for b in &mut self.pending {
            let at = b.len() as u32;
            match b.ticks.last_mut() {
                Some(last) if last.0 == at && pos == 0 => last.1 = ts,
                _ => b.ticks.push((at, ts, pos)),
            }
        }
    }

    /// Replay: tells every worker that frames up to `pos` have been dispatched (so that the
    /// ordered stage can decide deferred alerts even for workers without packets).
    pub(crate) fn mark(&mut self, pos: u64) {
        for b in &mut self.pending {
            b.ticks.push((b.len() as u32, Timestamp(0), pos));
        }
    }

    /// Sends every non-empty batch (chunk boundary: releases the read chunk soon).
    pub(crate) fn flush_all(&mut self, now: Timestamp, c: &mut Counters) {
        for w in 0..self.pending.len() {
            if self.pending.get(w).is_some_and(|b| !b.is_empty() || !b.ticks.is_empty()) {
                self.send(w, now, c);
            }
        }
    }

    fn send(&mut self, w: usize, now: Timestamp, c: &mut Counters) {
        let (Some(pending), Some(tx)) = (self.pending.get_mut(w), self.senders.get(w)) else { return };
        let fresh = self.recycle.try_recv().unwrap_or_else(|_| Batch::with_capacity(self.batch_size));
        let mut b = std::mem::replace(pending, fresh);
        b.now = now;
        c.inc(C::PipelineBatches);
        match tx.try_send(b) {
            Ok(()) => {}
            Err(TrySendError::Full(b)) if self.drop_when_full => {
                c.add(C::PipelineQueueDrops, b.len() as u64);
            }
            Err(TrySendError::Full(b)) => {
                // Replay never drops: wait for the worker (counted as back-pressure).
                c.inc(C::PipelineReaderWaits);
                let _ = tx.send(b);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}
