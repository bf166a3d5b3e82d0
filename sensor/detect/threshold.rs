//! Thresholds and detection filters: Suricata's limit, threshold, both and backoff, tracked
//! by flow (in the flow) or by source, destination, rule or both (one shared table).

use std::collections::HashMap;

use super::addresses::FastAddrSet;
use super::engine::{DetectEngine, FlowDetect};
use super::run_rule::RunRule;
use crate::decode::Decoded;
use crate::metrics::{Counters, C};
use crate::rule::ast::{Threshold, ThresholdType, Track, UniqueOn};

/// Shared threshold state (by_src/by_dst/by_rule/by_both; by_flow lives in the flow).
#[derive(Debug, Default)]
pub(super) struct ThresholdTable {
    pub(super) map: HashMap<(u32, u32, [u8; 16], [u8; 16]), ThresholdEntry>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct ThresholdEntry {
    pub(super) first_secs: u64,
    pub(super) count: u32,
    /// backoff: the match count that alerts next.
    pub(super) next: u64,
    /// `detection_filter ... unique_on`: the ports seen in the window (8 KiB, allocated for
    /// the entries of such rules only); `count` is then the number of distinct ports.
    pub(super) ports: Option<Box<[u64; 1024]>>,
}

impl ThresholdEntry {
    /// Counts port `p` once per window.
    fn add_port(&mut self, p: u16) {
        let ports = self.ports.get_or_insert_with(|| Box::new([0; 1024]));
        if let Some(w) = ports.get_mut(usize::from(p) / 64) {
            let bit = 1u64 << (p % 64);
            if *w & bit == 0 {
                *w |= bit;
                self.count = self.count.saturating_add(1);
            }
        }
    }
}

impl DetectEngine {
    #[allow(clippy::too_many_arguments, reason = "the rule, the packet's addresses and time, and the tracker tables")]
    pub(super) fn threshold_ok(
        &self,
        rn: u32,
        r: &RunRule,
        d: &Decoded,
        now: u64,
        fstate: Option<&mut FlowDetect>,
        _flow_hash: u64,
        c: &mut Counters,
    ) -> bool {
        if !self.suppressions.is_empty() && self.suppressed(rn, d) {
            c.inc(C::DetectAlertsSuppressed);
            return false;
        }
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
                    let mut te = ThresholdEntry { first_secs: e.1, count: e.2, next: e.3, ports: None };
                    // (by flow, unique_on falls back to counting matches)
                    let ok = threshold_step(&Threshold { unique_on: None, ..th }, &mut te, None, now);
                    e.1 = te.first_secs;
                    e.2 = te.count;
                    e.3 = te.next;
                    ok
                }
                None => true,
            }
        } else {
            self.shared_step(r, &th, &d.src, &d.dst, (d.sp, d.dp), now)
        };
        if !ok {
            c.inc(C::DetectAlertsSuppressed);
        }
        ok
    }

    /// One match of a rule whose threshold is shared between flows, against the shared table.
    /// `ports`: the packet's (source, destination) ports, for `detection_filter ... unique_on`.
    fn shared_step(
        &self,
        r: &RunRule,
        th: &Threshold,
        src: &[u8; 16],
        dst: &[u8; 16],
        ports: (u16, u16),
        now: u64,
    ) -> bool {
        let (a, b) = match th.track {
            Track::BySrc => (*src, [0; 16]),
            Track::ByDst => (*dst, [0; 16]),
            Track::ByBoth => (*src, *dst),
            _ => ([0; 16], [0; 16]),
        };
        let key = (r.gid, r.sid, a, b);
        let mut tbl = match self.thresholds.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        let e = tbl.map.entry(key).or_insert(ThresholdEntry { first_secs: now, ..ThresholdEntry::default() });
        let port = th.unique_on.map(|u| if u == UniqueOn::SrcPort { ports.0 } else { ports.1 });
        threshold_step(th, e, port, now)
    }

    /// Decides a deferred alert ([`super::engine::AlertHit::deferred`]) of rule `rn` on a
    /// packet from `src` to `dst` (`ports`: source and destination ports) at second `now`: true
    /// when it alerts (counted as suppressed otherwise). Calls must come in packet order
    /// (replay's ordered stage).
    pub fn shared_threshold_step(
        &self,
        rn: u32,
        src: &[u8; 16],
        dst: &[u8; 16],
        ports: (u16, u16),
        now: u64,
        c: &mut Counters,
    ) -> bool {
        let Some(r) = self.rules.get(rn as usize).map(|cr| &cr.rule) else { return true };
        let Some(th) = r.threshold.or(r.detection_filter) else { return true };
        let ok = self.shared_step(r, &th, src, dst, ports, now);
        if !ok {
            c.inc(C::DetectAlertsSuppressed);
        }
        ok
    }
}

/// The rule has a threshold or detection filter tracked across flows (by source,
/// destination, both or rule): its state is shared between workers.
pub(super) fn shared_threshold(r: &RunRule) -> bool {
    r.threshold.or(r.detection_filter).is_some_and(|t| t.track != Track::ByFlow)
}

/// One match against a threshold entry; true when the match alerts. `port`: the port a
/// `detection_filter ... unique_on` counts (distinct ports, not matches).
pub(super) fn threshold_step(th: &Threshold, e: &mut ThresholdEntry, port: Option<u16>, now: u64) -> bool {
    let window = th.seconds as u64;
    if th.kind != ThresholdType::Backoff && now.saturating_sub(e.first_secs) >= window.max(1) && e.count > 0 {
        // window expired: start a new one
        e.first_secs = now;
        e.count = 0;
        if let Some(p) = e.ports.as_deref_mut() {
            p.fill(0);
        }
    }
    if e.count == 0 {
        e.first_secs = now;
    }
    match port {
        Some(p) => e.add_port(p),
        None => e.count = e.count.saturating_add(1),
    }
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

// ---- threshold.config: applied once, after compilation ---------------------------------------
// (parsed by rule/threshold_config.rs; the only per-alert cost is `suppressed`, reached when
// the file has address suppressions)

/// An address suppression of one rule's alerts (`suppress ..., track by_src, ip ...`).
#[derive(Debug)]
pub(super) struct Suppression {
    rule: u32,
    track: crate::rule::threshold_config::SuppressTrack,
    addrs: FastAddrSet,
}

impl DetectEngine {
    /// Applies Suricata's threshold.config to the compiled rules, as Suricata does: `suppress`
    /// without a track turns the rule's alerts off (it still matches: flowbits are set);
    /// `suppress` with a track drops the alerts whose tracked address is in the list (counted in
    /// `detect.alerts_suppressed`); `threshold`/`event_filter` for a sid replaces the rule's own
    /// threshold or detection_filter, for `sig_id 0` it applies to every rule (of the gid) that
    /// has neither; `rate_filter` never changes whether an alert is written (its `new_action`
    /// only concerns an inline sensor). Returns what the log should say: entries naming no
    /// loaded rule, rules whose own threshold wins, rate filters without effect here.
    pub fn apply_threshold_config(&mut self, tc: &crate::rule::threshold_config::ThresholdConfig) -> Vec<String> {
        use crate::rule::threshold_config::EntryKind;
        let mut notes = Vec::new();
        // Rules given a rate_filter: it changes no alert here, but (as in Suricata, where it is
        // a detection filter) a later global threshold passes them by.
        let mut rate_filtered = std::collections::HashSet::new();
        for e in &tc.entries {
            let hits: Vec<usize> = (0..self.rules.len())
                .filter(|&i| {
                    // In bounds: i < rules.len().
                    let r = &self.rules[i].rule;
                    (e.gid == 0 || r.gid == e.gid) && (e.sid == 0 || r.sid == e.sid)
                })
                .collect();
            if hits.is_empty() {
                notes.push(format!(
                    "{}:{}: gen_id {} sig_id {}: no such rule loaded, entry ignored",
                    tc.file, e.line, e.gid, e.sid
                ));
                continue;
            }
            for &i in &hits {
                // In bounds: hits are indexes of rules.
                let r = &mut self.rules[i].rule;
                match &e.kind {
                    EntryKind::Suppress { addresses: None } => r.noalert = true,
                    EntryKind::Suppress { addresses: Some((track, set)) } => self.suppressions.push(Suppression {
                        rule: i as u32,
                        track: *track,
                        addrs: FastAddrSet::new(set),
                    }),
                    EntryKind::Threshold(t) if e.sid != 0 => {
                        r.threshold = Some(*t);
                        r.detection_filter = None;
                    }
                    EntryKind::Threshold(t) => {
                        if r.threshold.is_none() && r.detection_filter.is_none() && !rate_filtered.contains(&i) {
                            r.threshold = Some(*t);
                        }
                    }
                    EntryKind::RateFilter { .. } => {
                        if r.threshold.is_none() && r.detection_filter.is_none() {
                            rate_filtered.insert(i);
                        }
                    }
                }
            }
            if let EntryKind::RateFilter { new_action, .. } = &e.kind {
                if new_action != "alert" {
                    notes.push(format!(
                        "{}:{}: rate_filter new_action {new_action}: a passive sensor writes the alerts unchanged",
                        tc.file, e.line
                    ));
                }
            }
        }
        self.suppressions.sort_by_key(|s| s.rule);
        notes
    }

    /// Whether an address suppression of rule `rn` covers this packet.
    pub(super) fn suppressed(&self, rn: u32, d: &Decoded) -> bool {
        use crate::rule::threshold_config::SuppressTrack;
        let v6 = d.is_ipv6();
        let start = self.suppressions.partition_point(|s| s.rule < rn);
        // In bounds: partition_point returns at most the length.
        self.suppressions[start..].iter().take_while(|s| s.rule == rn).any(|s| match s.track {
            SuppressTrack::BySrc => s.addrs.contains(&d.src, v6),
            SuppressTrack::ByDst => s.addrs.contains(&d.dst, v6),
            SuppressTrack::ByEither => s.addrs.contains(&d.src, v6) || s.addrs.contains(&d.dst, v6),
        })
    }
}
