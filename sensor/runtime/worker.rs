//! A worker: owns one shard of the flows (its flow table, later its stream, app-layer and
//! detection state and its Hyperscan scratch) and processes the batches the reader sends it.
//!
//! Shared-nothing: the flow hash decides the worker, so no other thread ever touches these
//! flows; no locks and no work stealing, which keeps packets of one flow in order and the
//! per-flow state in one core's cache. Counters are plain integers, handed back at the end.

use std::sync::Arc;

use bytes::Bytes;

use crate::capture::{LinkType, Timestamp};
use crate::decode::Decoded;
use crate::detect::engine::{DetectEngine, DetectScratch, FlowDetect, FlowInfo};
use crate::flow::{EndReason, Flow, FlowPkt, FlowTable, TableConfig};
use crate::metrics::{Counters, C};
use crate::output::eve;

/// One packet on its way to a worker: the frame (shared, not copied) and what the reader
/// learned while decoding it for the flow hash.
#[derive(Clone, Debug)]
pub struct Pkt {
    /// Frame bytes.
    pub data: Bytes,
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

/// A batch of packets plus the reader's packet clock (for timeouts on idle workers).
pub struct Batch {
    /// Packets, in capture order.
    pub pkts: Vec<Pkt>,
    /// Latest packet time the reader has seen.
    pub now: Timestamp,
    /// Timeout ticks: run timeouts at the given packet time before the packet at the given
    /// index (index == len: after the last packet). The reader places ticks at fixed points
    /// of the capture, so results do not depend on the number of workers.
    pub ticks: Vec<(u32, Timestamp)>,
}

/// Per-flow state of later stages (stream, app layer, detection).
#[derive(Clone, Debug, Default)]
pub struct FlowExt {
    /// Flowbits, IP-only and by_flow threshold state.
    pub detect: FlowDetect,
    /// The worker's engine generation `detect` belongs to (a rule reload starts it afresh).
    pub detect_gen: u64,
}

/// The worker's state.
pub struct Worker {
    /// Worker index.
    pub id: usize,
    /// Flow table.
    pub flows: FlowTable<FlowExt>,
    /// Counters.
    pub counters: Counters,
    /// EVE lines waiting to go to the output thread.
    pub out: Vec<u8>,
    /// Events in `out`.
    pub out_events: u64,
    /// Write flow events.
    pub flow_events: bool,
    detect: Option<(Arc<DetectEngine>, DetectScratch)>,
    /// Bumped by every [`Worker::with_detect`], so flow detection state of an old engine
    /// (flowbits, thresholds keyed by rule number) is reset on a flow's next packet.
    detect_gen: u64,
}

impl Worker {
    /// A worker with a flow table sized by `table`.
    pub fn new(id: usize, table: TableConfig, flow_events: bool) -> Self {
        Worker {
            id,
            flows: FlowTable::new(table),
            counters: Counters::new(),
            out: Vec::with_capacity(1 << 16),
            out_events: 0,
            flow_events,
            detect: None,
            detect_gen: 0,
        }
    }

    /// Gives the worker a detection engine (and allocates its scratch space).
    pub fn with_detect(mut self, engine: Option<Arc<DetectEngine>>) -> Self {
        self.detect_gen += 1;
        self.detect = engine.map(|e| {
            let s = e.new_scratch();
            (e, s)
        });
        self
    }

    fn log_end(out: &mut Vec<u8>, n: &mut u64, enabled: bool, f: &Flow<FlowExt>, why: EndReason) {
        if enabled {
            eve::flow_event(out, f, why, None);
            *n += 1;
        }
    }

    /// Processes one batch.
    pub fn process(&mut self, batch: &Batch) {
        let t0 = std::time::Instant::now();
        self.process_inner(batch);
        self.counters.add(C::WorkerBusyNs, t0.elapsed().as_nanos() as u64);
    }

    fn process_inner(&mut self, batch: &Batch) {
        let mut ticks = batch.ticks.iter().peekable();
        for (i, p) in batch.pkts.iter().enumerate() {
            while let Some(&&(at, ts)) = ticks.peek() {
                if at as usize > i {
                    break;
                }
                self.tick(ts);
                ticks.next();
            }
            self.packet(p);
        }
        for &(_, ts) in ticks {
            self.tick(ts);
        }
    }

    /// Runs timeouts up to packet time `now`.
    pub fn tick(&mut self, now: Timestamp) {
        let (out, n, en) = (&mut self.out, &mut self.out_events, self.flow_events);
        self.flows.expire(now, &mut self.counters, &mut |(f, why)| Self::log_end(out, n, en, f, why));
    }

    /// Processes one packet.
    pub fn packet(&mut self, p: &Pkt) {
        self.counters.inc(C::FlowWrkPktsToWorker);
        let mut slot = None;
        let mut to_server = true;
        if let Some(fp) = &p.flow {
            let (out, n, en) = (&mut self.out, &mut self.out_events, self.flow_events);
            let r = self.flows.packet(fp, p.hash, &p.d, p.ts, p.iface, &mut self.counters, &mut |(f, why)| {
                Self::log_end(out, n, en, f, why)
            });
            match r {
                Some(l) => {
                    slot = Some(l.slot);
                    to_server = l.to_server;
                }
                None => self.counters.inc(C::FlowNoFlow),
            }
        } else {
            self.counters.inc(C::FlowNoFlow);
        }
        if p.outer_only {
            return;
        }
        let Some((engine, scratch)) = self.detect.as_mut() else { return };
        let ts_secs = p.ts.secs();
        match slot {
            Some(sl) => {
                let f = self.flows.get_mut(sl);
                let info = FlowInfo { to_server, state: f.state, tcp_established: f.tcp_hs >= 3 };
                if f.ext.detect.bits.len() * 64 < engine.flowbits || f.ext.detect_gen != self.detect_gen {
                    f.ext.detect = engine.new_flow_state();
                    f.ext.detect_gen = self.detect_gen;
                }
                let hash = f.hash;
                engine.run(scratch, &p.data, &p.d, ts_secs, Some((&info, &mut f.ext.detect, hash)), &mut self.counters);
                if !scratch.alerts.is_empty() {
                    f.alerted = true;
                }
            }
            None => engine.run(scratch, &p.data, &p.d, ts_secs, None, &mut self.counters),
        }
        if scratch.alerts.is_empty() {
            return;
        }
        let flow = slot.map(|sl| self.flows.get(sl));
        let ap = eve::AlertPacket { ts: p.ts, d: &p.d, pcap_cnt: p.pcap_cnt, to_server: slot.map(|_| to_server) };
        for a in &scratch.alerts {
            let cr = &engine.rules[a.rule as usize];
            let rule = eve::AlertRule {
                action: cr.rule.action.eve_name(),
                gid: cr.rule.gid,
                sid: cr.rule.sid,
                rest_json: &cr.alert_json,
            };
            eve::alert_event(&mut self.out, &ap, flow, &rule);
            self.out_events += 1;
            self.counters.inc(C::DetectAlert);
        }
    }

    /// Ends every flow (end of input).
    pub fn finish(&mut self) {
        let (out, n, en) = (&mut self.out, &mut self.out_events, self.flow_events);
        self.flows.drain(&mut self.counters, &mut |(f, why)| Self::log_end(out, n, en, f, why));
        self.counters.set(C::FlowActive, self.flows.len() as u64);
    }

    /// Takes the pending EVE lines (and how many events they hold).
    pub fn take_output(&mut self) -> Option<(Vec<u8>, u64)> {
        if self.out.is_empty() {
            return None;
        }
        let buf = std::mem::replace(&mut self.out, Vec::with_capacity(1 << 16));
        let n = std::mem::take(&mut self.out_events);
        Some((buf, n))
    }
}
