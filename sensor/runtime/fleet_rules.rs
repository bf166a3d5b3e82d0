//! The fleet ruleset of a distributed-replay worker (`picket fleet work` with `[fleet] rules =
//! true`; the queue's side is `fleet/jobs.rs`, the daemon's is `runtime/live/supervise.rs`).
//!
//! Takes: the worker's starting rules (`--rules`, none: no detection until a version is pushed),
//! the cluster, and each job as it starts. Promises: before a job is replayed, the worker reads
//! the key `current` of `fleet.rules_bucket`; a version newer than the last one it considered is
//! downloaded, checked against the manifest's digest and unpacked in `fleet.rules_dir/<version>/`
//! ([`crate::fleet::rules::fetch`]), then loaded and verified as `picket run` verifies one: a
//! version whose rules do not load, or that loads fewer than `fleet.rules_min_ratio` of the
//! running rules, is refused (logged, counted, reported in the heartbeat) and the running rules
//! stay. So a job started after a push completed runs with the pushed rules, and its result
//! names the version it ran with. The job is extended while a version downloads and loads.
//! Never: changes the rules in the middle of a job.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind};

use crate::config::Config;
use crate::detect::engine::DetectEngine;
use crate::fleet::heartbeat::RulesState;
use crate::fleet::rules::{fetch, min_rules, ruleset_config, Manifest, CURRENT_KEY};
use crate::metrics::prom::{MetricsHub, RulesInfo};
use crate::metrics::{Counters, C};

/// The rules a worker replays with, and the fleet versions it has seen.
pub(crate) struct WorkerRules {
    /// The engine in force (None: no rules).
    pub(crate) engine: Option<Arc<DetectEngine>>,
    /// Its fleet version (0: the rules of `--rules`).
    pub(crate) version: u64,
    /// The last version applied or refused (not looked at again).
    considered: u64,
    /// Where the version in force is unpacked.
    dir: Option<PathBuf>,
    /// The last refusal: version, reason, message.
    refused: Option<(u64, &'static str, String)>,
    ctl: Counters,
    /// What the heartbeat reports (`version`, `last_refused`).
    state: Arc<Mutex<serde_json::Value>>,
    said_missing: bool,
}

impl WorkerRules {
    /// Starts with `engine` (the rules of `--rules`).
    pub(crate) fn new(engine: Option<Arc<DetectEngine>>) -> WorkerRules {
        let mut w = WorkerRules {
            engine,
            version: 0,
            considered: 0,
            dir: None,
            refused: None,
            ctl: Counters::new(),
            state: Arc::new(Mutex::new(serde_json::Value::Null)),
            said_missing: false,
        };
        w.publish(None);
        w
    }

    /// The fleet ruleset state for the heartbeat.
    pub(crate) fn state(&self) -> RulesState {
        let s = self.state.clone();
        Arc::new(move || s.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    /// Brings the rules up to the version in force, extending the job `m` every `tick` while it
    /// works. Failing to read `current` keeps the rules in force (logged).
    pub(crate) async fn update(
        &mut self,
        js: &jetstream::Context,
        cfg: &Config,
        hub: &MetricsHub,
        m: &jetstream::Message,
        tick: Duration,
    ) {
        let fc = &cfg.fleet;
        let current = async {
            let kv = js.get_key_value(&fc.rules_bucket).await.map_err(|e| (true, e.to_string()))?;
            kv.get(CURRENT_KEY).await.map_err(|e| (false, e.to_string()))
        };
        let manifest = match current.await {
            Ok(Some(v)) => match serde_json::from_slice::<Manifest>(&v) {
                Ok(mf) => mf,
                Err(e) => {
                    eprintln!("picket: fleet.rules: `current` is not a ruleset manifest ({e}): rules unchanged");
                    return;
                }
            },
            Ok(None) => return,
            Err((missing, e)) => {
                if !missing || !self.said_missing {
                    self.said_missing |= missing;
                    eprintln!("picket: fleet.rules: cannot read {} ({e}): rules unchanged", fc.rules_bucket);
                }
                return;
            }
        };
        if manifest.version <= self.considered {
            return;
        }
        self.considered = manifest.version;
        let v = manifest.version;
        let dir = match extending(m, tick, fetch(js, fc, &manifest)).await {
            Ok(d) => d,
            Err(e) => {
                self.ctl.inc(C::FleetRulesRefusedDownload);
                return self.refuse(hub, v, "download", format!("{}: {e:#}", manifest.object));
            }
        };
        let config = ruleset_config(cfg, &dir);
        let paths = vec![dir.clone()];
        let load =
            tokio::task::spawn_blocking(move || crate::detect::load_engine(&paths, &config.detect, &config.vars));
        let engine = match extending(m, tick, load).await {
            Ok((e, _)) => e,
            Err(e) => {
                self.ctl.inc(C::FleetRulesRefusedLoad);
                let _ = std::fs::remove_dir_all(&dir);
                return self.refuse(hub, v, "load_failed", format!("the loading thread failed: {e}"));
            }
        };
        let running = self.engine.as_ref().map_or(0, |e| e.stats.loaded);
        let min = min_rules(running, fc.rules_min_ratio);
        if engine.stats.loaded < min {
            let _ = std::fs::remove_dir_all(&dir);
            let first = engine.errors.first().map(|e| format!(" (first: {e})")).unwrap_or_default();
            let (reason, message) = if engine.stats.loaded == 0 && !engine.errors.is_empty() {
                self.ctl.inc(C::FleetRulesRefusedLoad);
                ("load_failed", format!("no rule could be loaded, {} not usable{first}", engine.errors.len()))
            } else {
                self.ctl.inc(C::FleetRulesRefusedTooFew);
                let m = format!(
                    "{} rule(s) loaded, fewer than {min} ({} of the {running} running; fleet.rules_min_ratio){first}",
                    engine.stats.loaded, fc.rules_min_ratio
                );
                ("too_few_rules", m)
            };
            return self.refuse(hub, v, reason, message);
        }
        eprintln!(
            "picket: fleet ruleset version {v} applied: {} rule(s) loaded, {} not usable ({} files, sha256 {}, pushed by {})",
            engine.stats.loaded,
            engine.errors.len(),
            manifest.files,
            manifest.sha256,
            manifest.pushed_by
        );
        hub.set_rules_info(RulesInfo {
            loaded: engine.stats.loaded as u64,
            failed: engine.stats.failed as u64,
            skipped: engine.stats.skipped as u64,
            ..RulesInfo::default()
        });
        self.engine = Some(Arc::new(engine));
        self.version = v;
        if let Some(old) = self.dir.replace(dir) {
            let _ = std::fs::remove_dir_all(old);
        }
        self.ctl.inc(C::FleetRulesApplied);
        self.ctl.set(C::FleetRulesVersion, v);
        self.publish(Some(hub));
    }

    fn refuse(&mut self, hub: &MetricsHub, version: u64, reason: &'static str, message: String) {
        let running = match self.version {
            0 => "the --rules rules keep running".to_string(),
            v => format!("version {v} keeps running"),
        };
        eprintln!("picket: fleet ruleset version {version} refused ({reason}): {message}; {running}");
        self.refused = Some((version, reason, message));
        self.publish(Some(hub));
    }

    fn publish(&mut self, hub: Option<&MetricsHub>) {
        let refused =
            self.refused.as_ref().map(|(v, r, m)| serde_json::json!({ "version": v, "reason": r, "message": m }));
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = serde_json::json!({
            "version": self.version,
            "last_refused": refused,
        });
        if let Some(h) = hub {
            h.publish("fleet-rules", &self.ctl);
        }
    }
}

/// Awaits `fut`, telling JetStream every `tick` that the job `m` is still being worked on.
async fn extending<F: Future>(m: &jetstream::Message, tick: Duration, fut: F) -> F::Output {
    tokio::pin!(fut);
    loop {
        match tokio::time::timeout(tick, &mut fut).await {
            Ok(out) => return out,
            Err(_) => {
                let _ = m.ack_with(AckKind::Progress).await;
            }
        }
    }
}
