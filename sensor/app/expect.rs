//! Expected flows: a control connection announces a connection to come (an FTP `PORT`, `PASV`,
//! `EPRT` or `EPSV` exchange followed by a transfer command), and the flow that then opens
//! between the same two hosts is identified as the announced protocol, with the announcing
//! parser's data handed over (after Suricata's `app-layer-expectation.c`).
//!
//! Flows are sharded across workers by their 5-tuple, so the data connection may land on
//! another worker than its control flow: the table is shared by every worker of a run (one
//! handle in [`super::AppConfig`], cloned into each worker). It is touched only when a
//! control parser announces a connection and when a new TCP flow's direction sends its first
//! bytes without a pattern or probe naming its protocol, never per packet: the check before
//! the lock is one atomic load (no entries: nothing to look up).
//!
//! Promises: an expectation is keyed by the unordered address pair of the control flow and
//! matches a flow between the same two addresses whose responder port is the announced port
//! (and whose initiator port is the announced one, when one was), in the announced direction
//! of data; it is taken by the first flow that matches (Suricata's semantics). Bounded:
//! [`MAX_PER_PAIR`] per address pair (the oldest is replaced, as Suricata does) and
//! [`MAX_ENTRIES`] in all (the oldest is evicted); entries older than [`TIMEOUT_SECS`] of
//! packet time do not match. Every creation, match, replacement, eviction and expiry is
//! counted by the worker that caused it ([`ExpectStats`]).
//!
//! Replay determinism: time is packet time, never the wall clock. A lookup at packet time `t`
//! takes only entries created at or before `t` (a worker running ahead cannot see an
//! announcement from its future), and entries are removed for age only once they are
//! [`PURGE_SLACK_SECS`] past their timeout, so a worker lagging behind another by less than
//! that still sees what it would have seen alone. The other race, a data flow's first bytes
//! processed by one worker before another has processed the (earlier) command announcing it,
//! is closed as far as the app layer can close it: control flows register their address pair
//! ([`Expectations::control_start`], a counting filter read without a lock), and a new flow
//! between such hosts that found nothing keeps looking, with the time of its first data, each
//! time more of its bytes arrive while it is still unidentified (the stream keeps them), so a
//! late announcement from a lagging worker is found as if it had been there (counted as
//! `matched_late`). What closes the race in replay is upstream of this table: the reader shards
//! TCP flows that may be FTP control or data connections by their addresses alone
//! ([`crate::flow::shard_hash`], Suricata's `autofp-scheduler: ftp-hash`), so a data connection
//! meets the worker that parsed its announcement, in packet order (measured 2026-12-07 on
//! mix.pcap before: 13 `ftp-data` flows with one worker, 9 to 10 with two; now 13 with any
//! number, `tests/workers.rs`); live capture through pnet shards the same way. With AF_PACKET
//! the kernel's fanout hash shards, and the round trip between the announcement and the data
//! connection's first packet gives the control flow's worker its lead; the late look above
//! covers the rest.
//!
//! Never: blocks a worker on another (the lock is held for a hash lookup or insert), grows
//! past its bounds, or panics.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::proto::AppProto;
use crate::capture::Timestamp;

/// Expectations kept per address pair (Suricata's `EXPECTATION_MAX_LEVEL`).
pub const MAX_PER_PAIR: usize = 10;
/// Expectations kept in all; past it the oldest is evicted.
pub const MAX_ENTRIES: usize = 65_536;
/// An expectation older than this (packet time) no longer matches (Suricata's
/// `EXPECTATION_TIMEOUT`).
pub const TIMEOUT_SECS: u64 = 30;
/// How long after its timeout an expectation is purged (room for workers that lag).
pub const PURGE_SLACK_SECS: u64 = 60;

crate::app_counters! {
    /// Counters of the expectation table, counted by the worker that caused each.
    pub struct ExpectStats {
        /// Expectations created (a control flow announced a connection).
        created,
        /// New flows identified from an expectation.
        matched,
        /// Expectations replaced because their address pair already had the most allowed.
        replaced,
        /// Expectations evicted because the table was full.
        evicted,
        /// Expectations purged unused after their timeout.
        expired,
        /// Of `matched`, found only on a later look, after the flow's first data (an
        /// announcement from another worker that was behind).
        matched_late,
    }
}

/// What a flow looks like to the table: its endpoints as the first packet had them (`src` is
/// the client), and the packet time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    /// Client address (IPv4 in the first four bytes).
    pub src: [u8; 16],
    /// Server address.
    pub dst: [u8; 16],
    /// Client port.
    pub sp: u16,
    /// Server port.
    pub dp: u16,
}

/// An announced connection.
pub struct Expectation {
    /// The protocol the flow will be.
    pub proto: AppProto,
    /// The direction of the expected flow its data goes (true: from its initiator).
    pub to_server: bool,
    /// Initiator port, 0 for any.
    pub sp: u16,
    /// Responder port.
    pub dp: u16,
    /// The announcing flow's id (the new flow's `parent_id`).
    pub parent_flow_id: u64,
    /// What the announcing parser hands to the new flow's parser.
    pub data: Box<dyn Any + Send>,
}

impl std::fmt::Debug for Expectation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expectation")
            .field("proto", &self.proto)
            .field("to_server", &self.to_server)
            .field("sp", &self.sp)
            .field("dp", &self.dp)
            .field("parent_flow_id", &self.parent_flow_id)
            .finish()
    }
}

type Pair = ([u8; 16], [u8; 16]);

fn pair(a: &[u8; 16], b: &[u8; 16]) -> Pair {
    if a <= b {
        (*a, *b)
    } else {
        (*b, *a)
    }
}

struct Entry {
    seq: u64,
    created: Timestamp,
    e: Expectation,
}

#[derive(Default)]
struct Inner {
    pairs: HashMap<Pair, Vec<Entry>>,
    /// Creation order, for eviction: (pair, seq); entries already gone are skipped.
    order: VecDeque<(Pair, u64)>,
    next_seq: u64,
    len: usize,
}

impl Inner {
    fn remove_seq(&mut self, p: &Pair, seq: u64) -> bool {
        let Some(v) = self.pairs.get_mut(p) else { return false };
        let Some(i) = v.iter().position(|x| x.seq == seq) else { return false };
        v.remove(i);
        if v.is_empty() {
            self.pairs.remove(p);
        }
        self.len -= 1;
        true
    }

    /// Drops the order entries of expectations already gone once they outnumber the live
    /// ones (so the order queue stays within twice the table).
    fn compact(&mut self) {
        if self.order.len() > 2 * self.len + 64 {
            let pairs = &self.pairs;
            self.order.retain(|(p, s)| pairs.get(p).is_some_and(|v| v.iter().any(|x| x.seq == *s)));
        }
    }
}

/// The shared table (one per run; clones share it).
#[derive(Clone, Default)]
pub struct Expectations {
    inner: Arc<Shared>,
}

/// Slots of the counting filter of address pairs with a control flow.
const PAIR_SLOTS: usize = 4096;

struct Shared {
    live: AtomicUsize,
    table: Mutex<Inner>,
    /// Live control flows per hashed address pair.
    controls: Box<[AtomicU32]>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            live: AtomicUsize::new(0),
            table: Mutex::default(),
            controls: (0..PAIR_SLOTS).map(|_| AtomicU32::new(0)).collect(),
        }
    }
}

fn slot(p: &Pair) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in p.0.iter().chain(p.1.iter()) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h as usize) % PAIR_SLOTS
}

impl std::fmt::Debug for Expectations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Expectations({} live)", self.inner.live.load(Ordering::Relaxed))
    }
}

/// Runtime state, not configuration: every handle compares equal.
impl PartialEq for Expectations {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Expectations {}

impl Expectations {
    /// A new, empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Expectations held.
    pub fn len(&self) -> usize {
        self.inner.live.load(Ordering::Relaxed)
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A control flow between the two endpoints started (its announcements may follow).
    pub fn control_start(&self, ends: &Endpoints) {
        if let Some(c) = self.inner.controls.get(slot(&pair(&ends.src, &ends.dst))) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A control flow started with [`Expectations::control_start`] ended.
    pub fn control_end(&self, ends: &Endpoints) {
        if let Some(c) = self.inner.controls.get(slot(&pair(&ends.src, &ends.dst))) {
            let _ = c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
        }
    }

    /// Whether a control flow may be live between the two endpoints (no false negatives; a
    /// false positive costs a lookup).
    pub fn control_live(&self, ends: &Endpoints) -> bool {
        self.inner.controls.get(slot(&pair(&ends.src, &ends.dst))).is_some_and(|c| c.load(Ordering::Relaxed) > 0)
    }

    /// Announces a connection between the two endpoints of `control` (either way round) at
    /// packet time `now`; counts what it replaced, evicted or purged into `stats`.
    pub fn create(&self, control: &Endpoints, now: Timestamp, e: Expectation, stats: &mut ExpectStats) {
        let p = pair(&control.src, &control.dst);
        let Ok(mut t) = self.inner.table.lock() else { return };
        let t = &mut *t;
        // purge what is well past its timeout (from the front: oldest first)
        let purge_before = now.secs().saturating_sub(TIMEOUT_SECS + PURGE_SLACK_SECS);
        while let Some(&(fp, seq)) = t.order.front() {
            let old = t.pairs.get(&fp).and_then(|v| v.iter().find(|x| x.seq == seq)).map(|x| x.created.secs());
            match old {
                Some(c) if c < purge_before => {
                    t.remove_seq(&fp, seq);
                    stats.expired += 1;
                }
                Some(_) => break,
                None => {}
            }
            t.order.pop_front();
        }
        if t.pairs.get(&p).is_some_and(|v| v.len() >= MAX_PER_PAIR) {
            // replace the pair's oldest (Suricata drops the oldest of a full list)
            if let Some(seq) = t.pairs.get(&p).and_then(|v| v.first()).map(|x| x.seq) {
                t.remove_seq(&p, seq);
                stats.replaced += 1;
            }
        }
        while t.len >= MAX_ENTRIES {
            let Some((fp, seq)) = t.order.pop_front() else { break };
            if t.remove_seq(&fp, seq) {
                stats.evicted += 1;
            }
        }
        let seq = t.next_seq;
        t.next_seq += 1;
        t.pairs.entry(p).or_default().push(Entry { seq, created: now, e });
        t.order.push_back((p, seq));
        t.len += 1;
        t.compact();
        stats.created += 1;
        self.inner.live.store(t.len, Ordering::Relaxed);
    }

    /// The expectation a new flow with endpoints `flow` fulfils, sending its first data in
    /// direction `to_server` at packet time `now`, taken out of the table.
    pub fn take(
        &self,
        flow: &Endpoints,
        to_server: bool,
        now: Timestamp,
        stats: &mut ExpectStats,
    ) -> Option<Expectation> {
        if self.is_empty() {
            return None;
        }
        let p = pair(&flow.src, &flow.dst);
        let Ok(mut t) = self.inner.table.lock() else { return None };
        let t = &mut *t;
        let v = t.pairs.get(&p)?;
        let fresh = |c: Timestamp| c <= now && now.secs() <= c.secs().saturating_add(TIMEOUT_SECS);
        // newest first, as Suricata's list (it inserts at the head)
        let seq = v.iter().rev().find(|x| {
            fresh(x.created)
                && x.e.to_server == to_server
                && (x.e.sp == 0 || x.e.sp == flow.sp)
                && (x.e.dp == 0 || x.e.dp == flow.dp)
        })?;
        let seq = seq.seq;
        let v = t.pairs.get_mut(&p)?;
        let i = v.iter().position(|x| x.seq == seq)?;
        let entry = v.remove(i);
        if v.is_empty() {
            t.pairs.remove(&p);
        }
        t.len -= 1;
        t.compact();
        self.inner.live.store(t.len, Ordering::Relaxed);
        stats.matched += 1;
        Some(entry.e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(a: u8, b: u8, sp: u16, dp: u16) -> Endpoints {
        let mut src = [0; 16];
        let mut dst = [0; 16];
        src[0] = a;
        dst[0] = b;
        Endpoints { src, dst, sp, dp }
    }

    fn exp(dp: u16, to_server: bool, tag: u32) -> Expectation {
        Expectation { proto: AppProto::FtpData, to_server, sp: 0, dp, parent_flow_id: 7, data: Box::new(tag) }
    }

    fn t(s: u64) -> Timestamp {
        Timestamp::from_parts(s, 0)
    }

    #[test]
    fn a_flow_between_the_same_hosts_to_the_port_takes_the_expectation_once() {
        let x = Expectations::new();
        let mut st = ExpectStats::default();
        x.create(&ep(1, 2, 40000, 21), t(100), exp(5001, false, 9), &mut st);
        assert_eq!(x.len(), 1);
        // wrong port, wrong direction, other hosts: no
        assert!(x.take(&ep(1, 2, 40001, 5002), false, t(101), &mut st).is_none());
        assert!(x.take(&ep(1, 2, 40001, 5001), true, t(101), &mut st).is_none());
        assert!(x.take(&ep(1, 3, 40001, 5001), false, t(101), &mut st).is_none());
        // the data connection may go either way round between the two hosts (active mode)
        let got = x.take(&ep(2, 1, 20, 5001), false, t(101), &mut st).expect("match");
        assert_eq!((got.proto, got.parent_flow_id, got.data.downcast_ref::<u32>()), (AppProto::FtpData, 7, Some(&9)));
        assert!(x.take(&ep(2, 1, 20, 5001), false, t(101), &mut st).is_none(), "taken once");
        assert_eq!((st.created, st.matched, x.len()), (1, 1, 0));
    }

    #[test]
    fn time_bounds_are_packet_time_and_never_look_ahead() {
        let x = Expectations::new();
        let mut st = ExpectStats::default();
        x.create(&ep(1, 2, 1, 21), t(100), exp(5001, false, 1), &mut st);
        // a flow at an earlier packet time (a worker ahead of the announcing one) does not see it
        assert!(x.take(&ep(1, 2, 3, 5001), false, t(99), &mut st).is_none());
        // past the timeout it does not match, but it is not purged yet
        assert!(x.take(&ep(1, 2, 3, 5001), false, t(131), &mut st).is_none());
        assert_eq!(x.len(), 1);
        // a creation well after timeout + slack purges it, counted
        x.create(&ep(5, 6, 1, 21), t(100 + TIMEOUT_SECS + PURGE_SLACK_SECS + 1), exp(1, false, 2), &mut st);
        assert_eq!((x.len(), st.expired), (1, 1));
    }

    #[test]
    fn bounded_per_pair_and_in_all_with_counts() {
        let x = Expectations::new();
        let mut st = ExpectStats::default();
        for i in 0..(MAX_PER_PAIR as u16 + 5) {
            x.create(&ep(1, 2, 1, 21), t(10), exp(1000 + i, false, 0), &mut st);
        }
        assert_eq!((x.len(), st.replaced), (MAX_PER_PAIR, 5));
        // the oldest went: port 1000 no longer matches, the newest does
        assert!(x.take(&ep(1, 2, 3, 1000), false, t(10), &mut st).is_none());
        assert!(x.take(&ep(1, 2, 3, 1014), false, t(10), &mut st).is_some());
    }

    #[test]
    fn the_table_is_bounded_in_all() {
        let x = Expectations::new();
        let mut st = ExpectStats::default();
        for i in 0..(MAX_ENTRIES + 100) {
            let mut e = ep(1, 2, 1, 21);
            e.src[4..8].copy_from_slice(&(i as u32).to_be_bytes());
            x.create(&e, t(10), exp(2000, false, 0), &mut st);
        }
        assert_eq!((x.len(), st.evicted), (MAX_ENTRIES, 100));
        let inner = x.inner.table.lock().expect("lock");
        assert!(inner.order.len() <= 2 * inner.len + 64, "order queue bounded");
    }
}
