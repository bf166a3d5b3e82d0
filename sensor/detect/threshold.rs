//! Thresholds and detection filters: Suricata's limit, threshold, both and backoff, tracked
//! by flow (in the flow) or by source, destination, rule or both (one shared table).

use std::collections::HashMap;

use super::engine::{DetectEngine, FlowDetect};
use crate::decode::Decoded;
use crate::metrics::{Counters, C};
use crate::rule::ast::{Rule, Threshold, ThresholdType, Track};

/// Shared threshold state (by_src/by_dst/by_rule/by_both; by_flow lives in the flow).
#[derive(Debug, Default)]
pub struct ThresholdTable {
    pub(super) map: HashMap<(u32, u32, [u8; 16], [u8; 16]), ThresholdEntry>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct ThresholdEntry {
    pub(super) first_secs: u64,
    pub(super) count: u32,
    /// backoff: the match count that alerts next.
    pub(super) next: u64,
}

impl DetectEngine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn threshold_ok(
        &self,
        rn: u32,
        r: &Rule,
        d: &Decoded,
        now: u64,
        fstate: Option<&mut FlowDetect>,
        _flow_hash: u64,
        c: &mut Counters,
    ) -> bool {
        let th = match (&r.threshold, &r.detection_filter) {
            (Some(t), _) => *t,
            (None, Some(t)) => *t,
            (None, None) => return true,
        };
        let ok = if th.track == Track::ByFlow {
            match fstate {
                Some(st) => {
                    let pos = st.thresholds.iter().position(|e| e.0 == rn);
                    let e = match pos {
                        // In bounds: p is a position found in thresholds; n its last index after the push.
                        Some(p) => &mut st.thresholds[p],
                        None => {
                            st.thresholds.push((rn, now, 0, 0));
                            let n = st.thresholds.len() - 1;
                            &mut st.thresholds[n]
                        }
                    };
                    let mut te = ThresholdEntry { first_secs: e.1, count: e.2, next: e.3 };
                    let ok = threshold_step(&th, &mut te, now);
                    e.1 = te.first_secs;
                    e.2 = te.count;
                    e.3 = te.next;
                    ok
                }
                None => true,
            }
        } else {
            let (a, b) = match th.track {
                Track::BySrc => (d.src, [0; 16]),
                Track::ByDst => (d.dst, [0; 16]),
                Track::ByBoth => (d.src, d.dst),
                _ => ([0; 16], [0; 16]),
            };
            let key = (r.gid, r.sid, a, b);
            let mut tbl = match self.thresholds.lock() {
                Ok(t) => t,
                Err(p) => p.into_inner(),
            };
            let e = tbl.map.entry(key).or_insert(ThresholdEntry { first_secs: now, count: 0, next: 0 });
            threshold_step(&th, e, now)
        };
        if !ok {
            c.inc(C::DetectAlertsSuppressed);
        }
        ok
    }
}

/// One match against a threshold entry; true when the match alerts.
pub(super) fn threshold_step(th: &Threshold, e: &mut ThresholdEntry, now: u64) -> bool {
    let window = th.seconds as u64;
    if th.kind != ThresholdType::Backoff && now.saturating_sub(e.first_secs) >= window.max(1) && e.count > 0 {
        // window expired: start a new one
        e.first_secs = now;
        e.count = 0;
    }
    if e.count == 0 {
        e.first_secs = now;
    }
    e.count = e.count.saturating_add(1);
    match th.kind {
        ThresholdType::Limit => e.count <= th.count,
        ThresholdType::Threshold => {
            if e.count >= th.count {
                e.count = 0;
                true
            } else {
                false
            }
        }
        ThresholdType::Both => e.count == th.count,
        ThresholdType::DetectionFilter => e.count > th.count,
        ThresholdType::Backoff => {
            // Alerts on match count, count*m, count*m^2, ... (no time window).
            if e.next == 0 {
                e.next = th.count.max(1) as u64;
            }
            if e.count as u64 == e.next {
                e.next = e.next.saturating_mul(th.multiplier.max(1) as u64);
                true
            } else {
                false
            }
        }
    }
}
