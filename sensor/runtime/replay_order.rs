//! The ordered stage of replay: alerts of rules whose threshold or detection filter is shared
//! between flows are decided in packet order, whatever the number of workers.
//!
//! Why: such a threshold (say `track by_src, count 5, seconds 120`) counts the matches of
//! every flow from one address, and flows from one address are spread over the workers. When
//! each worker decides at once, the shared window is opened and counted in the order in which
//! the workers happen to reach the table, not in packet order: on mix.pcap with ET Open,
//! sid 2003068 alerted 1,098 times with 1 worker and 1,099 with 2.
//!
//! How: in replay the workers do not decide these matches ([`crate::detect::engine::AlertHit`]
//! `deferred`); they format the alert and queue it here with its order key: the packet's
//! position in the capture (a timeout tick is placed before the frame that triggered it), then
//! the flow hash and the worker's sequence (which only break ties within one flow, since a
//! flow lives on one worker). With each batch a worker reports the position it has finished
//! (its mark); a queued alert is decided once every worker's mark has passed it, in key order,
//! against the one threshold table, then written or counted as suppressed. Every other alert
//! is written at once. Memory: only deferred alerts wait, for at most about a batch of each
//! worker (the reader sends every worker a position mark at each read chunk).
//!
//! Known difference: a flow whose only alerts are deferred and then suppressed still says
//! `alerted: true` in its flow record (the flow may have ended before the decision).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::decode::Decoded;
use crate::detect::engine::DetectEngine;
use crate::metrics::{Counters, C};
use crate::output::EveWriter;

/// Where a worker is in the capture: (frame position, 0 = a tick before that frame, 1 = the
/// frame itself).
pub(crate) type Mark = (u64, u8);

/// The mark of a worker that has ended (every flow drained).
pub(crate) const END: Mark = (u64::MAX, u8::MAX);

/// An alert waiting for its decision.
#[derive(Debug)]
pub(crate) struct DeferredAlert {
    key: (Mark, u64, u64),
    rule: u32,
    src: [u8; 16],
    dst: [u8; 16],
    /// Source and destination ports (`detection_filter ... unique_on`).
    ports: (u16, u16),
    secs: u64,
    line: Vec<u8>,
}

/// A worker's side: its current mark and the alerts it deferred since the last hand-over.
#[derive(Debug, Default)]
pub(crate) struct DeferQueue {
    /// Where the worker is (set before each tick and packet).
    pub mark: Mark,
    seq: u64,
    items: Vec<DeferredAlert>,
}

impl DeferQueue {
    /// Queues the EVE `line` of a deferred alert of rule `rule` on a packet of flow `hash`.
    pub(super) fn push(&mut self, hash: u64, rule: u32, d: &Decoded, secs: u64, line: Vec<u8>) {
        self.seq += 1;
        self.items.push(DeferredAlert {
            key: (self.mark, hash, self.seq),
            rule,
            src: d.src,
            dst: d.dst,
            ports: (d.sp, d.dp),
            secs,
            line,
        });
    }

    /// The alerts queued since the last call, and the worker's mark.
    pub(super) fn take(&mut self) -> (Vec<DeferredAlert>, Mark) {
        (std::mem::take(&mut self.items), self.mark)
    }
}

/// The output thread's side: the workers' marks and the alerts not decided yet.
pub(crate) struct OrderedStage {
    engine: Option<Arc<DetectEngine>>,
    marks: Vec<Mark>,
    pending: BTreeMap<(Mark, u64, u64), DeferredAlert>,
    /// Alerts written and suppressed here.
    pub counters: Counters,
}

impl OrderedStage {
    /// A stage for `workers` workers deciding with `engine`'s threshold table.
    pub(super) fn new(engine: Option<Arc<DetectEngine>>, workers: usize) -> OrderedStage {
        OrderedStage { engine, marks: vec![(0, 0); workers], pending: BTreeMap::new(), counters: Counters::new() }
    }

    /// Takes worker `id`'s deferred alerts and mark, and writes what can now be decided.
    pub(super) fn add(&mut self, id: usize, items: Vec<DeferredAlert>, mark: Mark, w: &mut EveWriter) {
        for it in items {
            self.pending.insert(it.key, it);
        }
        if let Some(m) = self.marks.get_mut(id) {
            *m = (*m).max(mark);
        }
        let low = self.marks.iter().copied().min().unwrap_or(END);
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > low {
                break;
            }
            let a = entry.remove();
            self.decide(a, w);
        }
    }

    /// Decides everything left (every worker has ended).
    pub(super) fn drain(&mut self, w: &mut EveWriter) {
        while let Some((_, a)) = self.pending.pop_first() {
            self.decide(a, w);
        }
    }

    fn decide(&mut self, a: DeferredAlert, w: &mut EveWriter) {
        let ok = match &self.engine {
            Some(e) => e.shared_threshold_step(a.rule, &a.src, &a.dst, a.ports, a.secs, &mut self.counters),
            None => true,
        };
        if ok {
            self.counters.inc(C::DetectAlert);
            // Empty when alert events are not written (output.eve.types): counted only.
            if !a.line.is_empty() {
                w.write_lines(&a.line, 1);
            }
        }
    }
}
