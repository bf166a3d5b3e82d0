//! A sensor's heartbeat: every `fleet.heartbeat_secs`, one JSON value under the sensor's name in
//! the key-value bucket `fleet.status_bucket` (created when missing), read by
//! `picket fleet status`.
//!
//! Takes: the configuration, the sensor's metrics hub (its counters as the threads publish
//! them) and, for `picket run`, the fleet ruleset state the supervisor keeps (version in force,
//! last refusal). Promises: a thread with its own runtime; a beat that cannot be stored is
//! counted (`fleet.heartbeat_errors`) and the next one is tried as usual; a last beat with
//! `state: "stopped"` when stopped. Never: touches the packet path or blocks its caller (the
//! first connection is made in the background).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde::{Deserialize, Serialize};

use super::rules::nats_config;
use super::{kv_bucket, unix_now};
use crate::config::Config;
use crate::metrics::prom::MetricsHub;
use crate::metrics::{Counters, C};
use crate::output::nats::{connect, is_token, new_runtime};

/// A refused fleet ruleset version, as the heartbeat reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The version refused.
    pub version: u64,
    /// `load_failed`, `too_few_rules` or `download`.
    pub reason: String,
    /// What the check said.
    pub message: String,
}

/// One heartbeat: what `picket fleet status` shows of a sensor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Beat {
    /// `sensor.name`.
    pub sensor: String,
    /// `run`, `replay` or `work`.
    pub mode: String,
    /// `running` or `stopped`.
    pub state: String,
    /// Picket's version.
    pub version: String,
    /// Fleet ruleset version in force (0: the configured rules).
    pub ruleset_version: u64,
    /// Rules loaded.
    pub rules_loaded: u64,
    /// The last fleet ruleset version refused, if any.
    pub ruleset_refused: Option<Refusal>,
    /// Seconds since the sensor started.
    pub uptime_secs: u64,
    /// Packets decoded since start, and per second over the last interval.
    pub packets: u64,
    /// Per second over the last interval.
    pub packets_per_sec: f64,
    /// Packets the kernel dropped (live capture).
    pub kernel_drops: u64,
    /// Alerts since start.
    pub alerts: u64,
    /// Per second over the last interval.
    pub alerts_per_sec: f64,
    /// Queue events and bytes not yet acknowledged by JetStream (`[output.nats]`).
    pub queue_lag_events: u64,
    /// As above, bytes.
    pub queue_lag_bytes: u64,
    /// Unix seconds of this beat.
    pub sent_at: u64,
    /// Seconds between beats (a beat older than a few of these is stale).
    pub interval_secs: u64,
}

/// The fleet ruleset state of a `picket run` (`ruleset-stats`' `fleet`: version, last_refused).
pub type RulesState = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// The running heartbeat; stopped (with a last beat) on drop.
pub struct Heartbeat {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

/// Whether `cfg` asks for heartbeats: servers known and `fleet.heartbeat_secs` not 0.
pub fn wanted(cfg: &Config) -> bool {
    cfg.fleet.heartbeat_secs > 0 && !nats_config(cfg).servers.is_empty()
}

/// What a hub and the rules state say now (rates left at 0).
pub fn beat_of(name: &str, mode: &str, hub: &MetricsHub, rules: Option<&RulesState>, every: u64) -> Beat {
    let c: Counters = hub.merged();
    let r = rules.map(|f| f()).unwrap_or(serde_json::Value::Null);
    let refused = r.get("last_refused").filter(|v| !v.is_null()).map(|v| Refusal {
        version: v["version"].as_u64().unwrap_or(0),
        reason: v["reason"].as_str().unwrap_or("").into(),
        message: v["message"].as_str().unwrap_or("").into(),
    });
    Beat {
        sensor: name.into(),
        mode: mode.into(),
        state: "running".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        ruleset_version: r["version"].as_u64().unwrap_or(0),
        rules_loaded: hub.rules_info().loaded,
        ruleset_refused: refused,
        uptime_secs: hub.uptime_secs(),
        packets: c.get(C::DecoderPkts),
        kernel_drops: c.get(C::CaptureKernelDrops),
        alerts: c.get(C::DetectAlert),
        queue_lag_events: c.get(C::NatsLagEvents),
        queue_lag_bytes: c.get(C::NatsLagBytes),
        sent_at: unix_now(),
        interval_secs: every,
        ..Beat::default()
    }
}

impl Heartbeat {
    /// Starts beating as `sensor.name` in `mode`, or `None` when not [`wanted`].
    pub fn start(
        cfg: &Config,
        mode: &'static str,
        hub: Arc<MetricsHub>,
        rules: Option<RulesState>,
    ) -> anyhow::Result<Option<Heartbeat>> {
        if !wanted(cfg) {
            return Ok(None);
        }
        let name = cfg.sensor.resolved_name();
        if !is_token(&name) {
            anyhow::bail!("sensor.name `{name}`: letters, digits, - and _ only (it is a key of fleet.status_bucket)");
        }
        let ncfg = nats_config(cfg);
        let fc = cfg.fleet.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let handle = std::thread::Builder::new().name("picket-heartbeat".into()).spawn(move || {
            let Ok(rt) = new_runtime() else { return };
            let every = Duration::from_secs(fc.heartbeat_secs);
            let counters = Mutex::new(Counters::new());
            let count = |k: C| {
                let mut c = counters.lock().unwrap_or_else(|p| p.into_inner());
                c.inc(k);
                hub.publish("fleet", &c);
            };
            rt.block_on(async {
                // Connecting retries until it succeeds: stopping must not wait for it.
                let client_name = format!("picket-heartbeat-{name}");
                let connecting = connect(&ncfg, &client_name, None, true);
                tokio::pin!(connecting);
                let client = loop {
                    match tokio::time::timeout(Duration::from_millis(100), &mut connecting).await {
                        Ok(Ok(c)) => break c,
                        Ok(Err(_)) => return,
                        Err(_) if st.load(Relaxed) => return,
                        Err(_) => {}
                    }
                };
                let js = jetstream::new(client.clone());
                let mut kv = None;
                let mut last: Option<(Instant, Beat)> = None;
                let mut next = Instant::now();
                loop {
                    let stopping = st.load(Relaxed);
                    if !stopping && Instant::now() < next {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    next = Instant::now() + every;
                    if kv.is_none() {
                        let b = &fc.status_bucket;
                        let max_age = Duration::from_secs(7 * 86_400);
                        let made = kv_bucket(&js, b, "picket: sensor heartbeats", 1, fc.replicas, true, max_age);
                        kv = tokio::time::timeout(Duration::from_secs(5), made).await.ok().and_then(|r| r.ok());
                    }
                    let mut beat = beat_of(&name, mode, &hub, rules.as_ref(), fc.heartbeat_secs);
                    if let Some((t, prev)) = &last {
                        let secs = t.elapsed().as_secs_f64().max(1e-3);
                        beat.packets_per_sec = beat.packets.saturating_sub(prev.packets) as f64 / secs;
                        beat.alerts_per_sec = beat.alerts.saturating_sub(prev.alerts) as f64 / secs;
                    }
                    if stopping {
                        beat.state = "stopped".into();
                    }
                    let stored = match (&kv, serde_json::to_vec(&beat)) {
                        (Some(kv), Ok(v)) => tokio::time::timeout(Duration::from_secs(5), kv.put(&name, v.into()))
                            .await
                            .is_ok_and(|r| r.is_ok()),
                        _ => false,
                    };
                    count(if stored { C::FleetHeartbeats } else { C::FleetHeartbeatErrors });
                    last = Some((Instant::now(), beat));
                    if stopping {
                        let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
                        return;
                    }
                }
            })
        })?;
        Ok(Some(Heartbeat { stop, handle: Some(handle) }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beat_reads_the_hub_and_the_refused_ruleset() {
        let hub = MetricsHub::new(1, 42);
        let mut c = Counters::new();
        c.add(C::DecoderPkts, 1000);
        c.add(C::DetectAlert, 7);
        hub.publish_worker(0, &c);
        let mut n = Counters::new();
        n.set(C::NatsLagEvents, 12);
        hub.publish("nats", &n);
        let rules: RulesState = Arc::new(
            || serde_json::json!({"version": 4, "last_refused": {"version": 5, "reason": "load_failed", "message": "x"}}),
        );
        let b = beat_of("s1", "run", &hub, Some(&rules), 5);
        assert_eq!((b.packets, b.alerts, b.queue_lag_events, b.rules_loaded), (1000, 7, 12, 42));
        assert_eq!(b.ruleset_version, 4);
        assert_eq!(b.ruleset_refused.as_ref().map(|r| (r.version, r.reason.as_str())), Some((5, "load_failed")));
        let back: Beat = serde_json::from_slice(&serde_json::to_vec(&b).unwrap()).unwrap();
        assert_eq!(back, b);
        let none = beat_of("s2", "replay", &hub, None, 5);
        assert_eq!((none.ruleset_version, none.ruleset_refused), (0, None));
    }
}
