//! The workers' side of `output.pcap_log`: which packets become evidence, copied into one
//! buffer per batch that the output thread writes ([`super::writer`]).
//!
//! `alerts` mode: every flow keeps a bounded ring of its recent packets (at most
//! `ring_packets` and `ring_bytes`); when the flow first alerts, its ring (the alerting packet
//! last) goes to the buffer and the ring goes back to the worker's pool; the flow's later
//! packets go straight to the buffer, up to `flow_limit` bytes in all. Rings come from a
//! per-worker pool whose memory is bounded by the worker's share of `ring_memcap`: a ring is
//! allocated when a flow starts and the budget allows, reused after, never freed while the
//! worker runs. Per packet: one copy into the ring or the buffer, no allocation, lock or
//! syscall. `all` mode: every packet goes to the buffer.
//!
//! Buffer records: packet time (ns, u64 LE), captured length (u32 LE), link type (u32 LE), then
//! the bytes ([`RECORD_HEADER`] bytes of header).

use std::collections::VecDeque;

use super::config::{PcapLogConfig, PcapLogMode};
use crate::capture::{LinkType, Timestamp};
use crate::metrics::{Counters, C};

/// Bytes of a buffer record's header.
pub(crate) const RECORD_HEADER: usize = 16;

/// Appends one buffer record.
fn put_record(out: &mut Vec<u8>, ts: Timestamp, linktype: LinkType, data: &[u8]) {
    out.extend_from_slice(&ts.0.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&linktype.0.to_le_bytes());
    out.extend_from_slice(data);
}

/// One packet in a ring: where its bytes are in the ring's buffer.
#[derive(Clone, Copy, Debug)]
struct Slot {
    start: usize,
    len: usize,
    ts: Timestamp,
    linktype: LinkType,
}

/// A flow's recent packets: a circular byte buffer and the packets in it, oldest first.
#[derive(Debug)]
pub(crate) struct Ring {
    buf: Vec<u8>,
    slots: VecDeque<Slot>,
    /// Where the next packet goes.
    at: usize,
}

/// Bytes a ring starts with; it doubles up to `ring_bytes` as its flow needs (and the memcap
/// allows), and keeps its size in the pool.
const RING_START: usize = 2048;

impl Ring {
    fn new(packets: usize, bytes: usize) -> Ring {
        Ring { buf: vec![0; bytes], slots: VecDeque::with_capacity(packets), at: 0 }
    }

    /// Grows the buffer towards `max` when `len` more bytes do not fit after the write position
    /// and nothing is wrapped (so that the packets keep their places); `budget` pays for it.
    fn grow_for(&mut self, len: usize, max: usize, budget: &mut u64) {
        let cap = self.buf.len();
        if self.at + len <= cap || cap >= max || self.slots.front().is_some_and(|s| s.start >= self.at) {
            return;
        }
        let want = (cap * 2).max(self.at + len).min(max);
        let extra = (want - cap) as u64;
        if *budget >= extra {
            *budget -= extra;
            self.buf.resize(want, 0);
        }
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.at = 0;
    }

    /// Keeps `data`, pushing out the oldest packets it needs room from; returns how many were
    /// pushed out. `data` must fit the buffer.
    fn push(&mut self, max_packets: usize, ts: Timestamp, linktype: LinkType, data: &[u8]) -> u64 {
        let mut evicted = 0;
        if self.slots.len() >= max_packets {
            self.slots.pop_front();
            evicted += 1;
        }
        let cap = self.buf.len();
        let len = data.len();
        let mut start = self.at;
        if start + len > cap {
            // The tail [at, cap) is skipped: the packets there are the oldest.
            while self.slots.front().is_some_and(|s| s.start >= self.at) {
                self.slots.pop_front();
                evicted += 1;
            }
            start = 0;
        }
        // Then the oldest packets that overlap [start, start + len).
        while self.slots.front().is_some_and(|s| s.start < start + len && start < s.start + s.len) {
            self.slots.pop_front();
            evicted += 1;
        }
        if let Some(dst) = self.buf.get_mut(start..start + len) {
            dst.copy_from_slice(data);
            self.slots.push_back(Slot { start, len, ts, linktype });
            self.at = start + len;
        }
        evicted
    }

    /// Appends every packet, oldest first, as buffer records; returns (packets, bytes).
    fn dump(&self, out: &mut Vec<u8>) -> (u64, u64) {
        let mut bytes = 0;
        for s in &self.slots {
            if let Some(d) = self.buf.get(s.start..s.start + s.len) {
                put_record(out, s.ts, s.linktype, d);
                bytes += d.len() as u64;
            }
        }
        (self.slots.len() as u64, bytes)
    }
}

/// A flow's evidence state (in the worker's per-flow state).
#[derive(Debug, Default)]
pub(crate) struct FlowEvidence {
    ring: Option<Box<Ring>>,
    /// The flow alerted: its packets go to the buffer.
    logging: bool,
    /// Bytes of this flow written (or sent to be written).
    written: u64,
    /// No ring could be had when the flow started (memcap).
    no_ring: bool,
}

/// A worker's evidence tap.
#[derive(Debug)]
pub(crate) struct Tap {
    mode: PcapLogMode,
    ring_packets: usize,
    ring_bytes: usize,
    flow_limit: u64,
    /// Ring memory this worker may still allocate.
    budget: u64,
    #[allow(
        clippy::vec_box,
        reason = "rings move between the pool and flows (an 8-byte Option<Box> in each flow) without being copied"
    )]
    pool: Vec<Box<Ring>>,
    /// Records for the output thread (taken with each batch).
    pub out: Vec<u8>,
}

impl Tap {
    /// The tap of one of `workers` workers.
    pub(crate) fn new(cfg: &PcapLogConfig, workers: usize) -> Tap {
        Tap {
            mode: cfg.mode,
            ring_packets: cfg.ring_packets.max(1) as usize,
            ring_bytes: cfg.ring_bytes.max(1) as usize,
            flow_limit: cfg.flow_limit,
            budget: cfg.ring_memcap / workers.max(1) as u64,
            pool: Vec::new(),
            out: Vec::new(),
        }
    }

    /// A tap that writes nothing.
    pub(crate) fn off() -> Tap {
        Tap::new(&PcapLogConfig::default(), 1)
    }

    /// Whether it writes anything.
    pub(crate) fn on(&self) -> bool {
        self.mode != PcapLogMode::Off
    }

    fn ring_cost(&self) -> u64 {
        (RING_START.min(self.ring_bytes)
            + self.ring_packets * std::mem::size_of::<Slot>()
            + std::mem::size_of::<Ring>()) as u64
    }

    /// A packet of a flow, before inspection.
    pub(crate) fn flow_packet(
        &mut self,
        fe: &mut FlowEvidence,
        ts: Timestamp,
        lt: LinkType,
        data: &[u8],
        c: &mut Counters,
    ) {
        match self.mode {
            PcapLogMode::Off => {}
            PcapLogMode::All => self.packet(ts, lt, data, c),
            PcapLogMode::Alerts if fe.logging => {
                if fe.written.saturating_add(data.len() as u64) > self.flow_limit {
                    c.inc(C::PcapLogCutFlowLimit);
                    return;
                }
                fe.written += data.len() as u64;
                put_record(&mut self.out, ts, lt, data);
                c.inc(C::PcapLogPkts);
            }
            PcapLogMode::Alerts => {
                if fe.ring.is_none() && !fe.no_ring {
                    fe.ring = self.pool.pop().or_else(|| {
                        let cost = self.ring_cost();
                        (self.budget >= cost).then(|| {
                            self.budget -= cost;
                            Box::new(Ring::new(self.ring_packets, RING_START.min(self.ring_bytes)))
                        })
                    });
                    fe.no_ring = fe.ring.is_none();
                }
                match fe.ring.as_deref_mut() {
                    Some(r) if data.len() <= self.ring_bytes => {
                        r.grow_for(data.len(), self.ring_bytes, &mut self.budget);
                        let ev = r.push(self.ring_packets, ts, lt, data);
                        c.add(C::PcapLogRingEvicted, ev);
                    }
                    Some(_) => c.inc(C::PcapLogRingTooBig),
                    None => c.inc(C::PcapLogRingMemcap),
                }
            }
        }
    }

    /// A packet without a flow, after inspection: written in `all` mode, and in `alerts` mode
    /// when it alerted.
    pub(crate) fn flowless(&mut self, ts: Timestamp, lt: LinkType, data: &[u8], alerted: bool, c: &mut Counters) {
        match self.mode {
            PcapLogMode::All => self.packet(ts, lt, data, c),
            PcapLogMode::Alerts if alerted => self.packet(ts, lt, data, c),
            _ => {}
        }
    }

    fn packet(&mut self, ts: Timestamp, lt: LinkType, data: &[u8], c: &mut Counters) {
        put_record(&mut self.out, ts, lt, data);
        c.inc(C::PcapLogPkts);
    }

    /// After inspection of `pkt` (or at the flow's end, `None`): a flow that has alerted starts
    /// logging, its ring first (as much as `flow_limit` allows), or the packet alone when the
    /// flow had no ring.
    pub(crate) fn after(
        &mut self,
        fe: &mut FlowEvidence,
        alerted: bool,
        pkt: Option<(Timestamp, LinkType, &[u8])>,
        c: &mut Counters,
    ) {
        if self.mode != PcapLogMode::Alerts || !alerted || fe.logging {
            return;
        }
        fe.logging = true;
        c.inc(C::PcapLogFlows);
        let Some(mut r) = fe.ring.take() else {
            if let Some((ts, lt, data)) = pkt {
                fe.written += data.len() as u64;
                self.packet(ts, lt, data, c);
            }
            return;
        };
        let mut total: u64 = r.slots.iter().map(|s| s.len as u64).sum();
        // Over the flow's limit: the oldest packets of the history are left out (the alerting
        // packet, the newest, is always written).
        while r.slots.len() > 1 && total > self.flow_limit {
            let Some(s) = r.slots.pop_front() else { break };
            total -= s.len as u64;
            c.inc(C::PcapLogCutFlowLimit);
        }
        let (n, b) = r.dump(&mut self.out);
        fe.written += b;
        c.add(C::PcapLogPkts, n);
        r.clear();
        self.pool.push(r);
    }

    /// The flow ends: its ring goes back to the pool.
    pub(crate) fn end(&mut self, fe: &mut FlowEvidence) {
        if let Some(mut r) = fe.ring.take() {
            r.clear();
            self.pool.push(r);
        }
    }

    /// The records since the last call (None when there are none).
    pub(crate) fn take(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            return None;
        }
        let cap = self.out.capacity().min(1 << 20);
        Some(std::mem::replace(&mut self.out, Vec::with_capacity(cap)))
    }
}

/// Reads the buffer records of `buf`: (time, link type, bytes); stops at a short record.
pub(crate) fn records(buf: &[u8]) -> impl Iterator<Item = (Timestamp, LinkType, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let h = rest.get(..RECORD_HEADER)?;
        let ts = u64::from_le_bytes(h.get(0..8)?.try_into().ok()?);
        let len = u32::from_le_bytes(h.get(8..12)?.try_into().ok()?) as usize;
        let lt = u32::from_le_bytes(h.get(12..16)?.try_into().ok()?);
        let data = rest.get(RECORD_HEADER..RECORD_HEADER + len)?;
        rest = rest.get(RECORD_HEADER + len..)?;
        Some((Timestamp(ts), LinkType(lt), data))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkts(r: &Ring) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        r.dump(&mut out);
        records(&out).map(|(_, _, d)| d.to_vec()).collect()
    }

    #[test]
    fn a_ring_keeps_the_newest_packets_within_its_bounds() {
        let mut r = Ring::new(4, 100);
        let p = |n: u8, len: usize| vec![n; len];
        let mut ev = 0;
        for n in 0..4 {
            ev += r.push(4, Timestamp(n as u64), LinkType::ETHERNET, &p(n, 10));
        }
        assert_eq!(ev, 0);
        ev += r.push(4, Timestamp(5), LinkType::ETHERNET, &p(4, 10));
        assert_eq!((ev, pkts(&r)), (1, vec![p(1, 10), p(2, 10), p(3, 10), p(4, 10)]));
        // 60 bytes do not fit after byte 50: they go to 0 and push out every packet they overlap
        // (10..50) besides the oldest one (the packet count).
        ev += r.push(4, Timestamp(6), LinkType::ETHERNET, &p(5, 60));
        assert_eq!((ev, pkts(&r)), (5, vec![p(5, 60)]));
        // 40 more fit after byte 60, then 30 wrap over packet 5
        r.push(4, Timestamp(7), LinkType::ETHERNET, &p(6, 40));
        assert_eq!(pkts(&r), vec![p(5, 60), p(6, 40)]);
        r.push(4, Timestamp(8), LinkType::ETHERNET, &p(7, 30));
        assert_eq!(pkts(&r), vec![p(6, 40), p(7, 30)]);
        // bytes held never exceed the buffer, order is kept
        for n in 0..200u8 {
            r.push(4, Timestamp(n as u64), LinkType::ETHERNET, &p(n, 1 + (n as usize * 7) % 50));
            let got = pkts(&r);
            assert!(got.iter().map(Vec::len).sum::<usize>() <= 100);
            assert_eq!(got.last(), Some(&p(n, 1 + (n as usize * 7) % 50)));
            assert!(got.len() <= 4);
        }
    }

    #[test]
    fn alerting_flow_sends_history_then_later_packets_up_to_its_limit() {
        let cfg = PcapLogConfig {
            mode: PcapLogMode::Alerts,
            ring_packets: 3,
            ring_bytes: 1000,
            flow_limit: 250,
            ..Default::default()
        };
        let mut t = Tap::new(&cfg, 1);
        let mut c = Counters::new();
        let mut fe = FlowEvidence::default();
        for n in 0..5u8 {
            t.flow_packet(&mut fe, Timestamp(n as u64), LinkType::ETHERNET, &[n; 50], &mut c);
        }
        assert!(t.take().is_none(), "nothing before the alert");
        t.after(&mut fe, true, None, &mut c);
        for n in 5..10u8 {
            t.flow_packet(&mut fe, Timestamp(n as u64), LinkType::ETHERNET, &[n; 50], &mut c);
        }
        let out = t.take().unwrap_or_default();
        let got: Vec<u8> = records(&out).map(|(_, _, d)| d[0]).collect();
        assert_eq!(got, vec![2, 3, 4, 5, 6]);
        assert_eq!(c.get(C::PcapLogRingEvicted), 2);
        assert_eq!(c.get(C::PcapLogCutFlowLimit), 3);
        assert_eq!(c.get(C::PcapLogFlows), 1);
        assert_eq!(t.pool.len(), 1, "the ring went back to the pool");
    }

    #[test]
    fn rings_stop_at_the_memcap_and_are_reused() {
        let cfg = PcapLogConfig {
            mode: PcapLogMode::Alerts,
            ring_packets: 2,
            ring_bytes: 1000,
            ring_memcap: 2500,
            ..Default::default()
        };
        let mut t = Tap::new(&cfg, 1);
        let mut c = Counters::new();
        let mut flows: Vec<FlowEvidence> = (0..3).map(|_| FlowEvidence::default()).collect();
        for fe in flows.iter_mut() {
            t.flow_packet(fe, Timestamp(1), LinkType::ETHERNET, &[1; 10], &mut c);
        }
        assert_eq!(c.get(C::PcapLogRingMemcap), 1, "the third flow found no ring");
        t.end(&mut flows[0]);
        let mut fe = FlowEvidence::default();
        t.flow_packet(&mut fe, Timestamp(1), LinkType::ETHERNET, &[1; 10], &mut c);
        assert_eq!(c.get(C::PcapLogRingMemcap), 1, "a new flow reuses the ended flow's ring");
    }
}
