//! Prometheus exposition of the counters, and the hub where threads publish them.
//!
//! Threads never touch a shared counter per packet: each publishes a copy of its plain
//! [`Counters`] array into the [`MetricsHub`] at batch boundaries (one short mutex hold per
//! batch), and a scrape merges the latest copies into a `prometheus` crate registry and encodes
//! it in the text format. Names (see [`super::prometheus_name`]): `picket_<dotted name with
//! underscores>`, `_total` once for counters, base units (seconds, bytes); levels and maxima
//! are gauges; decoder anomalies are one family with a `reason` label; capture counters carry
//! an `interface` label in live mode (published per interface with [`MetricsHub::publish_iface`]);
//! per-worker packet counts and busy time carry `worker`. Beside the counters the hub keeps
//! the health (one reason per problem: link down, capture loss, stopping), the rule set's
//! outcome (loaded, not loaded by kind, the list of rules not loaded) and the last reload.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use prometheus::{Gauge, GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use super::{prom_name, prometheus_name, Counters, Kind, C, HELP, NAMES, PER_INTERFACE};

/// One capture thread's counters for one interface (live capture).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceStats {
    /// `capture.packets`: frames read.
    pub packets: u64,
    /// `capture.bytes`: bytes of frames read.
    pub bytes: u64,
    /// `capture.kernel_packets`: packets the kernel passed to the sockets, dropped ones included.
    pub kernel_packets: u64,
    /// `capture.kernel_drops`: packets the kernel dropped (ring or buffer full).
    pub kernel_drops: u64,
    /// `capture.kernel_queue_freezes`: times a ring was full.
    pub kernel_freezes: u64,
    /// `capture.errors`: socket errors.
    pub errors: u64,
    /// `capture.link_down`: times the link was found down.
    pub link_down: u64,
    /// `capture.link_up`: times the link came back.
    pub link_up: u64,
}

impl IfaceStats {
    /// Adds another thread's counters of the same interface.
    pub fn add(&mut self, o: &IfaceStats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.kernel_packets += o.kernel_packets;
        self.kernel_drops += o.kernel_drops;
        self.kernel_freezes += o.kernel_freezes;
        self.errors += o.errors;
        self.link_down += o.link_down;
        self.link_up += o.link_up;
    }

    /// The value of a per-interface counter by its dotted name.
    pub fn get(&self, name: &str) -> u64 {
        match name {
            "capture.packets" => self.packets,
            "capture.bytes" => self.bytes,
            "capture.kernel_packets" => self.kernel_packets,
            "capture.kernel_drops" => self.kernel_drops,
            "capture.kernel_queue_freezes" => self.kernel_freezes,
            "capture.errors" => self.errors,
            "capture.link_down" => self.link_down,
            "capture.link_up" => self.link_up,
            _ => 0,
        }
    }

    /// Share of the packets the kernel saw that it dropped (0 when it saw none).
    pub fn loss_ratio(&self) -> f64 {
        if self.kernel_packets == 0 {
            0.0
        } else {
            self.kernel_drops as f64 / self.kernel_packets as f64
        }
    }
}

/// The kinds of reason a rule is not loaded (labels of `picket_detect_rules_not_loaded`).
pub const NOT_LOADED_KINDS: &[&str] = &[
    "syntax",
    "unknown_keyword",
    "bad_value",
    "undefined_variable",
    "circular_variable",
    "duplicate_sid",
    "missing_sid",
    "unsupported",
];

/// The outcome of the last rule (re)load.
#[derive(Clone, Debug)]
pub struct ReloadInfo {
    /// When it ended.
    pub at: SystemTime,
    /// Whether the new rules were swapped in.
    pub ok: bool,
    /// When the last successful load ended (the start counts as one).
    pub last_ok: Option<SystemTime>,
}

/// What the hub knows of the rule set in use.
#[derive(Clone, Debug, Default)]
pub struct RulesInfo {
    /// Rules loaded.
    pub loaded: u64,
    /// Rules that did not parse or compile.
    pub failed: u64,
    /// Rules skipped (a feature not supported yet).
    pub skipped: u64,
    /// Rules not loaded, by kind of reason (`syntax`, `unsupported`, ...).
    pub not_loaded_by_kind: BTreeMap<String, u64>,
    /// One line per rule not loaded (`file:line: sid N: reason`), for `GET /rules/failed`.
    pub not_loaded_text: Arc<String>,
    /// The last reload, if any.
    pub reload: Option<ReloadInfo>,
}

#[derive(Default)]
struct Published {
    workers: Vec<Counters>,
    others: Vec<(String, Counters)>,
    /// Interface -> publishing thread -> counters.
    ifaces: BTreeMap<String, BTreeMap<String, IfaceStats>>,
    /// Problem key -> reason; /healthz is unhealthy while any is set.
    problems: BTreeMap<String, String>,
    rules: RulesInfo,
}

/// Where threads publish their counters and scrapes read them.
pub struct MetricsHub {
    inner: Mutex<Published>,
    started: Instant,
    sources: Mutex<Vec<GaugeSource>>,
}

/// Gauges of one name, one value per label value (`label` empty: one value, no label).
#[derive(Debug, Clone)]
pub struct GaugeFamily {
    /// Prometheus name.
    pub name: &'static str,
    /// Help text.
    pub help: &'static str,
    /// Label name, or "".
    pub label: &'static str,
    /// (label value, value).
    pub values: Vec<(String, f64)>,
}

/// Reads gauges of state that lives outside the counters (datasets, IP reputation) when
/// `/metrics` is scraped; installed by the runtime, so that this module depends on no stage.
pub type GaugeSource = Box<dyn Fn() -> Vec<GaugeFamily> + Send + Sync>;

impl std::fmt::Debug for MetricsHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsHub").field("rules_loaded", &self.lock().rules.loaded).finish()
    }
}

fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl MetricsHub {
    /// A hub for `workers` worker threads.
    pub fn new(workers: usize, rules_loaded: u64) -> Self {
        let p = Published {
            workers: vec![Counters::new(); workers],
            rules: RulesInfo { loaded: rules_loaded, ..RulesInfo::default() },
            ..Published::default()
        };
        MetricsHub { inner: Mutex::new(p), started: Instant::now(), sources: Mutex::new(Vec::new()) }
    }

    /// Adds gauges read at every scrape.
    pub fn add_gauge_source(&self, f: GaugeSource) {
        self.sources.lock().unwrap_or_else(|p| p.into_inner()).push(f);
    }

    /// [`MetricsHub::add_gauge_source`], as a builder.
    pub fn with_gauges(self, f: GaugeSource) -> Self {
        self.add_gauge_source(f);
        self
    }

    /// Rules that failed to load and rules skipped as unsupported (exposed as gauges).
    pub fn with_rule_errors(self, failed: u64, skipped: u64) -> Self {
        {
            let mut g = self.lock();
            g.rules.failed = failed;
            g.rules.skipped = skipped;
        }
        self
    }

    /// The rule gauges after a reload: loaded, failed, skipped.
    pub fn set_rules(&self, loaded: u64, failed: u64, skipped: u64) {
        let mut g = self.lock();
        g.rules.loaded = loaded;
        g.rules.failed = failed;
        g.rules.skipped = skipped;
    }

    /// What is known of the rule set in use (counts, rules not loaded, last reload).
    pub fn set_rules_info(&self, info: RulesInfo) {
        let mut g = self.lock();
        let reload = g.rules.reload.take();
        g.rules = info;
        if g.rules.reload.is_none() {
            g.rules.reload = reload;
        }
    }

    /// Records the outcome of a rule (re)load that ended now.
    pub fn record_reload(&self, ok: bool) {
        let mut g = self.lock();
        let now = SystemTime::now();
        let last_ok = if ok { Some(now) } else { g.rules.reload.as_ref().and_then(|r| r.last_ok) };
        g.rules.reload = Some(ReloadInfo { at: now, ok, last_ok });
    }

    /// The rule set's outcome as last published.
    pub fn rules_info(&self) -> RulesInfo {
        self.lock().rules.clone()
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

    /// A thread's counters of capture interface `iface` (live capture).
    pub fn publish_iface(&self, thread: &str, iface: &str, s: &IfaceStats) {
        let mut g = self.lock();
        let per = g.ifaces.entry(iface.to_string()).or_default();
        match per.get_mut(thread) {
            Some(slot) => *slot = *s,
            None => {
                per.insert(thread.to_string(), *s);
            }
        }
    }

    /// Every capture interface's counters, summed over the threads that publish them.
    pub fn ifaces(&self) -> BTreeMap<String, IfaceStats> {
        let g = self.lock();
        g.ifaces
            .iter()
            .map(|(name, per)| {
                let mut t = IfaceStats::default();
                for s in per.values() {
                    t.add(s);
                }
                (name.clone(), t)
            })
            .collect()
    }

    /// Sets the health: `None` is healthy, `Some(reason)` makes /healthz answer 503. Same as
    /// [`MetricsHub::set_problem`] with the key `status`.
    pub fn set_health(&self, problem: Option<String>) {
        self.set_problem("status", problem);
    }

    /// Sets or clears one problem (`link`, `loss`, ...); /healthz is 503 while any is set.
    pub fn set_problem(&self, key: &str, problem: Option<String>) {
        let mut g = self.lock();
        match problem {
            Some(p) => {
                g.problems.insert(key.to_string(), p);
            }
            None => {
                g.problems.remove(key);
            }
        }
    }

    /// The health reasons joined with `; `, if unhealthy.
    pub fn health(&self) -> Option<String> {
        let g = self.lock();
        if g.problems.is_empty() {
            None
        } else {
            Some(g.problems.values().cloned().collect::<Vec<_>>().join("; "))
        }
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

    /// The rules not loaded, one per line (`GET /rules/failed`).
    pub fn rules_not_loaded_text(&self) -> Arc<String> {
        self.lock().rules.not_loaded_text.clone()
    }

    /// Seconds since the hub was made (the sensor started).
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let merged = self.merged();
        let ifaces = self.ifaces();
        let (per_worker, rules) = {
            let g = self.lock();
            let pw: Vec<(u64, u64)> =
                g.workers.iter().map(|c| (c.get(C::FlowWrkPktsToWorker), c.get(C::WorkerBusyNs))).collect();
            (pw, g.rules.clone())
        };
        let reg = Registry::new();
        render_counters(&reg, &merged, !ifaces.is_empty());
        render_ifaces(&reg, &ifaces);
        render_workers(&reg, &per_worker);
        render_rules(&reg, &rules);
        for fam in self.sources.lock().unwrap_or_else(|p| p.into_inner()).iter().flat_map(|f| f()) {
            render_family(&reg, &fam);
        }
        gauge(&reg, "picket_uptime_seconds", "seconds since the sensor started", self.uptime_secs() as f64);
        if let Ok(g) = IntGaugeVec::new(Opts::new("picket_build_info", "build information"), &["version"]) {
            g.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
            let _ = reg.register(Box::new(g));
        }
        TextEncoder::new().encode_to_string(&reg.gather()).unwrap_or_default()
    }
}

fn render_family(reg: &Registry, fam: &GaugeFamily) {
    if fam.label.is_empty() {
        gauge(reg, fam.name, fam.help, fam.values.first().map_or(0.0, |v| v.1));
        return;
    }
    if let Ok(g) = prometheus::GaugeVec::new(Opts::new(fam.name, fam.help), &[fam.label]) {
        for (l, v) in &fam.values {
            g.with_label_values(&[l.as_str()]).set(*v);
        }
        let _ = reg.register(Box::new(g));
    }
}

fn gauge(reg: &Registry, name: &str, help: &str, v: f64) {
    if let Ok(g) = Gauge::new(name, help) {
        g.set(v);
        let _ = reg.register(Box::new(g));
    }
}

/// The counter table and the extension counters: one metric per counter (decoder anomalies
/// as one family); per-interface counters are left to [`render_ifaces`] when interfaces are
/// published.
fn render_counters(reg: &Registry, merged: &Counters, per_iface: bool) {
    // the engine events: one family per layer, the event as the reason
    let families = [
        ("picket_decoder_events_total", "decoder anomalies by reason (Suricata's decoder.event.*)"),
        ("picket_stream_events_total", "TCP stream anomalies by reason (Suricata's stream events)"),
        ("picket_app_events_total", "app-layer anomalies by reason (protocol detection and parsers)"),
    ];
    let events: Vec<(&str, IntCounterVec)> = families
        .iter()
        .filter_map(|(n, h)| IntCounterVec::new(Opts::new(*n, *h), &["reason"]).ok().map(|v| (*n, v)))
        .collect();
    merged.each(&mut |name, kind, help, v| {
        if name == "worker.busy_ns" || (per_iface && PER_INTERFACE.contains(&name)) {
            return; // per worker and per interface, below
        }
        if let Some((family, reason)) = super::event_family(name) {
            if let Some((_, ev)) = events.iter().find(|(n, _)| *n == family) {
                ev.with_label_values(&[reason]).inc_by(v);
            }
            return;
        }
        let pname = prom_name(name, kind);
        let gauge_kind = kind != Kind::Sum;
        if name.ends_with("_ms") {
            // Kept in milliseconds, exposed in the base unit (seconds).
            let secs = v as f64 / 1e3;
            if gauge_kind {
                gauge(reg, &pname, help, secs);
            } else if let Ok(c) = prometheus::Counter::new(pname, help) {
                c.inc_by(secs);
                let _ = reg.register(Box::new(c));
            }
        } else if gauge_kind {
            if let Ok(g) = IntGauge::new(pname, help) {
                g.set(v.min(i64::MAX as u64) as i64);
                let _ = reg.register(Box::new(g));
            }
        } else if let Ok(c) = IntCounter::new(pname, help) {
            c.inc_by(v);
            let _ = reg.register(Box::new(c));
        }
    });
    for (_, ev) in events {
        let _ = reg.register(Box::new(ev));
    }
}

/// Capture counters per interface, and the loss ratio.
fn render_ifaces(reg: &Registry, ifaces: &BTreeMap<String, IfaceStats>) {
    if ifaces.is_empty() {
        return;
    }
    for name in PER_INTERFACE {
        let Some(i) = NAMES.iter().position(|n| n == name) else { continue };
        let Ok(c) = IntCounterVec::new(Opts::new(prometheus_name(i), HELP[i]), &["interface"]) else { continue };
        for (ifname, s) in ifaces {
            c.with_label_values(&[ifname.as_str()]).inc_by(s.get(name));
        }
        let _ = reg.register(Box::new(c));
    }
    if let Ok(g) = GaugeVec::new(
        Opts::new(
            "picket_capture_loss_ratio",
            "share of the packets the kernel saw on the interface that it dropped since the start (kernel_drops / kernel_packets)",
        ),
        &["interface"],
    ) {
        for (ifname, s) in ifaces {
            g.with_label_values(&[ifname.as_str()]).set(s.loss_ratio());
        }
        let _ = reg.register(Box::new(g));
    }
}

fn render_workers(reg: &Registry, per_worker: &[(u64, u64)]) {
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
}

fn render_rules(reg: &Registry, r: &RulesInfo) {
    gauge(reg, "picket_detect_rules_loaded", "rules loaded in the detection engine", r.loaded as f64);
    gauge(reg, "picket_detect_rules_failed", "rules that could not be parsed or compiled", r.failed as f64);
    gauge(
        reg,
        "picket_detect_rules_skipped",
        "rules skipped because they need a feature not supported yet",
        r.skipped as f64,
    );
    if let Ok(g) = IntGaugeVec::new(
        Opts::new(
            "picket_detect_rules_not_loaded",
            "rules of the rule set in use that were not loaded, by kind of reason (GET /rules/failed lists them)",
        ),
        &["kind"],
    ) {
        // Every kind, zeros included: a series that appears only when a rule fails would
        // leave dashboards and alerts without a baseline.
        for k in NOT_LOADED_KINDS {
            g.with_label_values(&[k]).set(0);
        }
        for (k, n) in &r.not_loaded_by_kind {
            g.with_label_values(&[k.as_str()]).set((*n).min(i64::MAX as u64) as i64);
        }
        let _ = reg.register(Box::new(g));
    }
    if let Some(rl) = &r.reload {
        gauge(
            reg,
            "picket_detect_reload_last_timestamp_seconds",
            "when the last rule reload ended (Unix time)",
            unix_secs(rl.at),
        );
        gauge(
            reg,
            "picket_detect_reload_last_success",
            "1 when the last rule reload swapped in the new rules, 0 when it failed (the running rules stayed)",
            if rl.ok { 1.0 } else { 0.0 },
        );
        if let Some(t) = rl.last_ok {
            gauge(
                reg,
                "picket_detect_reload_last_success_timestamp_seconds",
                "when the rules in use were loaded (Unix time of the last successful load or reload)",
                unix_secs(t),
            );
        }
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
        a.set(C::FlowActive, 4);
        let mut b = Counters::new();
        b.add(C::FlowWrkPktsToWorker, 3);
        b.add(C::FlowTotal, 1);
        b.set(C::FlowActive, 1);
        hub.publish_worker(0, &a);
        hub.publish_worker(1, &b);
        let mut r = Counters::new();
        r.add(C::DecoderPkts, 8);
        r.inc(C::EvIpv4TruncPkt);
        r.inc(C::EvStream3whsSynFlood);
        r.inc(C::EvApplayerMismatchProtocolBothDirections);
        hub.publish("reader", &r);
        let t = hub.render();
        assert!(t.contains("picket_decoder_pkts_total 8"), "{t}");
        assert!(t.contains("picket_flows_total 3"), "{t}");
        assert!(t.contains("# TYPE picket_flow_active gauge\npicket_flow_active 5"), "{t}");
        assert!(t.contains("picket_worker_packets_total{worker=\"0\"} 5"), "{t}");
        assert!(t.contains("picket_worker_packets_total{worker=\"1\"} 3"), "{t}");
        assert!(t.contains("picket_decoder_events_total{reason=\"ipv4.trunc_pkt\"} 1"), "{t}");
        assert!(t.contains("picket_stream_events_total{reason=\"3whs_syn_flood\"} 1"), "{t}");
        let app = "picket_app_events_total{reason=\"applayer_mismatch_protocol_both_directions\"} 1";
        assert!(t.contains(app), "{t}");
        assert!(!t.contains("picket_stream_segment_limit_drop_total{"), "{t}");
        assert!(t.contains("picket_detect_rules_loaded 7"), "{t}");
        assert!(t.contains("# TYPE picket_tcp_active_sessions gauge"), "{t}");
        assert!(t.contains("# TYPE picket_defrag_memuse_bytes gauge"), "{t}");
        assert!(!t.contains("_total_total"), "{t}");
    }

    #[test]
    fn capture_counters_carry_the_interface_and_the_loss_ratio() {
        let hub = MetricsHub::new(1, 0);
        let s = IfaceStats { kernel_packets: 1000, kernel_drops: 34, packets: 966, ..IfaceStats::default() };
        hub.publish_iface("capture0", "eth1", &s);
        hub.publish_iface("capture1", "eth1", &s);
        let t = hub.render();
        assert!(t.contains("picket_capture_kernel_drops_total{interface=\"eth1\"} 68"), "{t}");
        assert!(t.contains("picket_capture_kernel_packets_total{interface=\"eth1\"} 2000"), "{t}");
        assert!(t.contains("picket_capture_loss_ratio{interface=\"eth1\"} 0.034"), "{t}");
        // the unlabelled totals are not rendered twice
        assert!(!t.contains("picket_capture_kernel_drops_total 0"), "{t}");
    }

    #[test]
    fn health_joins_problems_and_reload_outcome_is_exposed() {
        let hub = MetricsHub::new(1, 0);
        assert_eq!(hub.health(), None);
        hub.set_problem("link", Some("link down: eth1".into()));
        hub.set_problem("loss", Some("capture loss 3.4% on eth1".into()));
        assert_eq!(hub.health().as_deref(), Some("link down: eth1; capture loss 3.4% on eth1"));
        hub.set_problem("link", None);
        assert_eq!(hub.health().as_deref(), Some("capture loss 3.4% on eth1"));
        hub.record_reload(true);
        hub.record_reload(false);
        let t = hub.render();
        assert!(t.contains("picket_detect_reload_last_success 0"), "{t}");
        assert!(t.contains("picket_detect_reload_last_success_timestamp_seconds "), "{t}");
    }
}
