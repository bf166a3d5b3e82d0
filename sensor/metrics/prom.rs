//! Prometheus exposition of the counters.
//!
//! Threads never touch a shared counter per packet: each publishes a copy of its plain
//! [`Counters`] array into the [`MetricsHub`] at batch boundaries (one short mutex hold per
//! batch), and a scrape merges the latest copies into a `prometheus` crate registry and encodes
//! it in the text format. Names: `picket_<counter with dots as underscores>_total` for counters
//! (`decoder.pkts` -> `picket_decoder_pkts_total`), gauges without `_total`; the decoder
//! anomalies are one family with a `reason` label; per-worker packet counts carry `worker`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use prometheus::{IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use super::{Counters, Kind};

/// Counters that are levels, not totals (exposed as gauges).
pub(crate) const GAUGES: &[&str] = &[
    "flow.active",
    "decoder.max_pkt_size",
    "decoder.checksum.auto_disabled",
    "output.spool.size_bytes",
    "output.spool.unread_bytes",
];

#[derive(Default)]
struct Published {
    workers: Vec<Counters>,
    others: Vec<(String, Counters)>,
    health: Option<String>,
}

/// Where threads publish their counters and scrapes read them.
pub struct MetricsHub {
    inner: Mutex<Published>,
    started: Instant,
    rules_loaded: AtomicU64,
    rules_failed: AtomicU64,
    rules_skipped: AtomicU64,
}

impl std::fmt::Debug for MetricsHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHub").field("rules_loaded", &self.rules_loaded.load(Ordering::Relaxed)).finish()
    }
}

impl MetricsHub {
    /// A hub for `workers` worker threads.
    pub fn new(workers: usize, rules_loaded: u64) -> Self {
        let p = Published { workers: vec![Counters::new(); workers], others: Vec::new(), health: None };
        MetricsHub {
            inner: Mutex::new(p),
            started: Instant::now(),
            rules_loaded: AtomicU64::new(rules_loaded),
            rules_failed: AtomicU64::new(0),
            rules_skipped: AtomicU64::new(0),
        }
    }

    /// Rules that failed to load and rules skipped as unsupported (exposed as gauges).
    pub fn with_rule_errors(self, failed: u64, skipped: u64) -> Self {
        self.set_rules(self.rules_loaded.load(Ordering::Relaxed), failed, skipped);
        self
    }

    /// The rule gauges after a reload: loaded, failed, skipped.
    pub fn set_rules(&self, loaded: u64, failed: u64, skipped: u64) {
        self.rules_loaded.store(loaded, Ordering::Relaxed);
        self.rules_failed.store(failed, Ordering::Relaxed);
        self.rules_skipped.store(skipped, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Published> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A worker's counters as of now (called at batch boundaries).
    pub fn publish_worker(&self, id: usize, c: &Counters) {
        let mut g = self.lock();
        if let Some(slot) = g.workers.get_mut(id) {
            slot.clone_from(c);
        }
    }

    /// Another thread's counters (reader, output), by name.
    pub fn publish(&self, thread: &str, c: &Counters) {
        let mut g = self.lock();
        match g.others.iter_mut().find(|(n, _)| n == thread) {
            Some((_, slot)) => slot.clone_from(c),
            None => g.others.push((thread.to_string(), c.clone())),
        }
    }

    /// Sets the health: `None` is healthy, `Some(reason)` makes /healthz answer 503.
    pub fn set_health(&self, problem: Option<String>) {
        self.lock().health = problem;
    }

    /// The health reason, if unhealthy.
    pub fn health(&self) -> Option<String> {
        self.lock().health.clone()
    }

    /// All published counters merged.
    pub fn merged(&self) -> Counters {
        let g = self.lock();
        let mut m = Counters::new();
        for c in &g.workers {
            m.merge(c);
        }
        for (_, c) in &g.others {
            m.merge(c);
        }
        m
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let (merged, per_worker) = {
            let g = self.lock();
            let mut m = Counters::new();
            for c in &g.workers {
                m.merge(c);
            }
            for (_, c) in &g.others {
                m.merge(c);
            }
            let pw: Vec<(u64, u64)> = g
                .workers
                .iter()
                .map(|c| (c.get(super::C::FlowWrkPktsToWorker), c.get(super::C::WorkerBusyNs)))
                .collect();
            (m, pw)
        };
        let reg = Registry::new();
        let events = IntCounterVec::new(
            Opts::new("picket_decoder_events_total", "decoder anomalies by reason (Suricata's decoder.event.*)"),
            &["reason"],
        )
        .ok();
        merged.each(&mut |name, kind, help, v| {
            if name == "worker.busy_ns" {
                return; // exposed per worker, in seconds, below
            }
            if let Some(reason) = name.strip_prefix("decoder.event.") {
                if let Some(ev) = &events {
                    ev.with_label_values(&[reason]).inc_by(v);
                }
                return;
            }
            if let Some(stem) = name.strip_suffix("_ms") {
                // Kept in milliseconds, exposed in the base unit (seconds), as busy_ns is.
                let base = format!("picket_{}_seconds", stem.replace('.', "_"));
                let secs = v as f64 / 1e3;
                if kind == Kind::Max || GAUGES.contains(&name) {
                    if let Ok(g) = prometheus::Gauge::new(base, help) {
                        g.set(secs);
                        let _ = reg.register(Box::new(g));
                    }
                } else if let Ok(c) = prometheus::Counter::new(format!("{base}_total"), help) {
                    c.inc_by(secs);
                    let _ = reg.register(Box::new(c));
                }
                return;
            }
            let base = format!("picket_{}", name.replace(['.', '-'], "_"));
            if kind == Kind::Max || GAUGES.contains(&name) {
                if let Ok(g) = IntGauge::new(base, help) {
                    g.set(v.min(i64::MAX as u64) as i64);
                    let _ = reg.register(Box::new(g));
                }
            } else if let Ok(c) = prometheus::IntCounter::new(format!("{base}_total"), help) {
                c.inc_by(v);
                let _ = reg.register(Box::new(c));
            }
        });
        if let Some(ev) = events {
            let _ = reg.register(Box::new(ev));
        }
        if let Ok(w) =
            IntCounterVec::new(Opts::new("picket_worker_packets_total", "packets handled per worker"), &["worker"])
        {
            for (i, (n, _)) in per_worker.iter().enumerate() {
                w.with_label_values(&[&i.to_string()]).inc_by(*n);
            }
            let _ = reg.register(Box::new(w));
        }
        if let Ok(w) = prometheus::CounterVec::new(
            Opts::new("picket_worker_busy_seconds_total", "seconds each worker spent processing packets"),
            &["worker"],
        ) {
            for (i, (_, ns)) in per_worker.iter().enumerate() {
                w.with_label_values(&[&i.to_string()]).inc_by(*ns as f64 / 1e9);
            }
            let _ = reg.register(Box::new(w));
        }
        for (n, v, h) in [
            (
                "picket_detect_rules_loaded",
                self.rules_loaded.load(Ordering::Relaxed),
                "rules loaded in the detection engine",
            ),
            (
                "picket_detect_rules_failed",
                self.rules_failed.load(Ordering::Relaxed),
                "rules that could not be parsed or compiled",
            ),
            (
                "picket_detect_rules_skipped",
                self.rules_skipped.load(Ordering::Relaxed),
                "rules skipped because they need a feature not supported yet",
            ),
        ] {
            if let Ok(g) = IntGauge::new(n, h) {
                g.set(v.min(i64::MAX as u64) as i64);
                let _ = reg.register(Box::new(g));
            }
        }
        if let Ok(g) = IntGauge::new("picket_uptime_seconds", "seconds since the sensor started") {
            g.set(self.started.elapsed().as_secs() as i64);
            let _ = reg.register(Box::new(g));
        }
        if let Ok(g) = IntGaugeVec::new(Opts::new("picket_build_info", "build information"), &["version"]) {
            g.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
            let _ = reg.register(Box::new(g));
        }
        TextEncoder::new().encode_to_string(&reg.gather()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::C;

    #[test]
    fn render_merges_threads_and_names_metrics() {
        let hub = MetricsHub::new(2, 7);
        let mut a = Counters::new();
        a.add(C::FlowWrkPktsToWorker, 5);
        a.add(C::FlowTotal, 2);
        let mut b = Counters::new();
        b.add(C::FlowWrkPktsToWorker, 3);
        b.add(C::FlowTotal, 1);
        hub.publish_worker(0, &a);
        hub.publish_worker(1, &b);
        let mut r = Counters::new();
        r.add(C::DecoderPkts, 8);
        r.inc(C::EvIpv4TruncPkt);
        hub.publish("reader", &r);
        let t = hub.render();
        assert!(t.contains("picket_decoder_pkts_total 8"), "{t}");
        assert!(t.contains("picket_flow_total_total 3"), "{t}");
        assert!(t.contains("picket_worker_packets_total{worker=\"0\"} 5"), "{t}");
        assert!(t.contains("picket_worker_packets_total{worker=\"1\"} 3"), "{t}");
        assert!(t.contains("picket_decoder_events_total{reason=\"ipv4.trunc_pkt\"} 1"), "{t}");
        assert!(t.contains("picket_detect_rules_loaded 7"), "{t}");
        assert!(t.contains("# TYPE picket_flow_active gauge"), "{t}");
    }
}
