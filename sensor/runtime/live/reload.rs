//! Rule loads and reloads: the engine slot workers read at batch boundaries, the reload that
//! builds a new engine on the main thread and publishes it (SIGUSR2, `picket ctl reload-rules`),
//! and the report of the rules not loaded (log, metrics, control socket).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::daemon::rss_bytes;
use super::threads::Shared;
use super::{LiveOptions, Log};
use crate::config::Config;
use crate::detect::engine::DetectEngine;
use crate::fleet::rules::min_rules as fleet_minimum;
use crate::metrics::prom::RulesInfo;
use crate::metrics::{Counters, C};
use crate::rule::ErrorKind;

/// The current detection engine and its generation; workers compare the generation at batch
/// boundaries (one relaxed load) and take the engine under the lock only when it changed.
pub struct EngineSlot {
    pub(super) gen: AtomicU64,
    engine: Mutex<Option<Arc<DetectEngine>>>,
}

impl EngineSlot {
    pub(super) fn new(e: Option<Arc<DetectEngine>>) -> Self {
        EngineSlot { gen: AtomicU64::new(1), engine: Mutex::new(e) }
    }

    pub(super) fn current(&self) -> (u64, Option<Arc<DetectEngine>>) {
        let g = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        (self.gen.load(Ordering::Acquire), g.clone())
    }

    pub(super) fn swap(&self, e: Arc<DetectEngine>) -> u64 {
        let mut g = self.engine.lock().unwrap_or_else(|p| p.into_inner());
        *g = Some(e);
        self.gen.fetch_add(1, Ordering::AcqRel) + 1
    }
}

/// A short, bounded name for the kind of reason a rule was not loaded (metric label).
pub(super) fn kind_label(k: &ErrorKind) -> &'static str {
    match k {
        ErrorKind::Syntax => "syntax",
        ErrorKind::UnknownKeyword(_) => "unknown_keyword",
        ErrorKind::BadValue(_) => "bad_value",
        ErrorKind::UndefinedVariable(_) => "undefined_variable",
        ErrorKind::CircularVariable(_) => "circular_variable",
        ErrorKind::DuplicateSid => "duplicate_sid",
        ErrorKind::MissingSid => "missing_sid",
        ErrorKind::Unsupported(_) => "unsupported",
    }
}

/// What the metrics hub shows of an engine: counts, rules not loaded by kind and as text.
pub(super) fn rules_info(e: Option<&DetectEngine>) -> RulesInfo {
    let Some(e) = e else { return RulesInfo::default() };
    let mut by_kind = std::collections::BTreeMap::new();
    let mut text = String::new();
    for r in &e.errors {
        *by_kind.entry(kind_label(&r.kind).to_string()).or_insert(0u64) += 1;
        text.push_str(&r.to_string());
        text.push('\n');
    }
    let unsupported = e.errors.iter().filter(|r| matches!(r.kind, ErrorKind::Unsupported(_))).count() as u64;
    RulesInfo {
        loaded: e.stats.loaded as u64,
        failed: e.errors.len() as u64 - unsupported,
        skipped: unsupported,
        not_loaded_by_kind: by_kind,
        not_loaded_text: Arc::new(text),
        reload: None,
    }
}

/// Loads the rules at `paths`: `None` when no path is configured; an error when a path is
/// missing or not one rule could be loaded. Warnings of the load (threshold.config, cache) go
/// to the log.
pub(super) fn load_rules(paths: &[PathBuf], cfg: &Config, log: &Log) -> anyhow::Result<Option<DetectEngine>> {
    if paths.is_empty() {
        return Ok(None);
    }
    for p in paths {
        if !p.exists() {
            anyhow::bail!("{}: rules path does not exist", p.display());
        }
    }
    let (engine, report) = crate::detect::load_engine(paths, &cfg.detect, &cfg.vars);
    // The load line (counts, times, prefilter cache, databases left to compile).
    log.info(&report.line(&engine, report.parse_secs + report.compile_secs));
    for w in &report.cache.warnings {
        log.warn(w);
    }
    report_not_loaded(&engine, cfg.daemon.rule_errors_logged, log);
    if engine.stats.loaded == 0 && !engine.errors.is_empty() {
        anyhow::bail!("no rule could be loaded ({} not usable; see `picket rules check`)", engine.errors.len());
    }
    Ok(Some(engine))
}

/// Logs every rule the engine did not load: a summary by reason, then the first `cap` rules
/// one per line (file:line, sid, reason); `picket ctl ruleset-failed-rules` has them all.
pub(super) fn report_not_loaded(e: &DetectEngine, cap: usize, log: &Log) {
    if e.errors.is_empty() {
        return;
    }
    let mut by: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for r in &e.errors {
        *by.entry(r.kind.label()).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let summary: Vec<String> = v.iter().map(|(l, n)| format!("{n} {l}")).collect();
    let unsupported = e.errors.iter().filter(|r| matches!(r.kind, ErrorKind::Unsupported(_))).count();
    log.warn(&format!(
        "{} rule(s) not loaded ({} broken, {unsupported} unsupported): {}",
        e.errors.len(),
        e.errors.len() - unsupported,
        summary.join(", ")
    ));
    for r in e.errors.iter().take(cap) {
        log.warn(&format!("rule not loaded: {r}"));
    }
    if e.errors.len() > cap {
        log.warn(&format!(
            "... and {} more rule(s) not loaded: `picket ctl ruleset-failed-rules` lists them all",
            e.errors.len() - cap
        ));
    }
}

/// Why the rules are reloaded, for the log.
#[derive(Clone, Copy, Debug)]
pub(super) enum Trigger {
    /// SIGUSR2.
    Signal,
    /// `picket ctl reload-rules`.
    Control,
    /// A fleet ruleset version arrived (`fleet.rules`): verified before it is swapped in.
    Fleet(u64),
}

/// The rules a reload reads: their paths, the configuration they are read with (variables,
/// threshold file) and the fleet version they are (0: the configured rules).
#[derive(Clone, Debug)]
pub(super) struct Ruleset {
    pub(super) paths: Vec<PathBuf>,
    pub(super) config: Config,
    pub(super) fleet_version: u64,
}

impl Ruleset {
    /// The rules of the command line or `daemon.rules`.
    pub(super) fn configured(opts: &LiveOptions) -> Self {
        Ruleset { paths: opts.rules.clone(), config: opts.config.clone(), fleet_version: 0 }
    }

    /// A fleet version unpacked in `dir`: its `*.rules` with the classification.config and
    /// reference.config beside them, its threshold.config (when it has one) instead of
    /// `detect.threshold_file`, its dataset files found beside the rules naming them.
    pub(super) fn fleet(base: &Config, dir: &Path, version: u64) -> Self {
        let config = crate::fleet::rules::ruleset_config(base, dir);
        Ruleset { paths: vec![dir.to_path_buf()], config, fleet_version: version }
    }
}

/// Why a reload kept the running engine: a short reason (metric and log label) and the
/// message.
#[derive(Debug)]
pub(super) struct Refused {
    pub(super) reason: &'static str,
    pub(super) message: String,
}

/// Builds a new engine from `rs` and publishes it; the running one stays if the new one
/// cannot be built (or, for a fleet version, loads fewer than `fleet.rules_min_ratio` of the
/// running engine's rules). Logs the rules not loaded, the time and the peak memory of the
/// reload, and returns a summary (for the control socket).
pub(super) fn reload(
    rs: &Ruleset,
    sh: &Shared,
    ctl: &mut Counters,
    why: Trigger,
) -> Result<serde_json::Value, Refused> {
    let (cfg, log) = (&rs.config, &*sh.log);
    let from = match why {
        Trigger::Signal => "SIGUSR2".to_string(),
        Trigger::Control => "control socket".to_string(),
        Trigger::Fleet(v) => format!("fleet ruleset version {v}"),
    };
    if rs.paths.is_empty() {
        log.warn(&format!("{from}: no rules configured (daemon.rules or --rules), nothing to reload"));
        return Err(Refused { reason: "no_rules", message: "no rules configured (daemon.rules or --rules)".into() });
    }
    log.info(&format!("{from}: reloading rules"));
    let t0 = Instant::now();
    let rss_before = rss_bytes();
    // Sample the RSS while the engine builds: VmHWM cannot be reset once privileges are dropped.
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let old = sh.slot.current().1.as_ref().map(Arc::downgrade);
    let r = load_rules(&rs.paths, cfg, log);
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let build_ms = t0.elapsed().as_millis() as u64;
    let engine = match r {
        Ok(Some(e)) => e,
        Ok(None) => return Err(Refused { reason: "no_rules", message: "no rules configured".into() }),
        Err(e) => {
            ctl.inc(C::DetectReloadFailures);
            sh.hub.record_reload(false);
            log.error(&format!("rule reload failed, the running rules stay: {e:#}"));
            return Err(Refused {
                reason: "load_failed",
                message: format!("reload failed, the running rules stay: {e:#}"),
            });
        }
    };
    if let Trigger::Fleet(_) = why {
        let running = sh.slot.current().1.map_or(0, |e| e.stats.loaded);
        let min = fleet_minimum(running, cfg.fleet.rules_min_ratio);
        if engine.stats.loaded < min {
            ctl.inc(C::DetectReloadFailures);
            sh.hub.record_reload(false);
            return Err(Refused {
                reason: "too_few_rules",
                message: format!(
                    "{} rule(s) loaded, fewer than {min} ({} of the {running} running; fleet.rules_min_ratio)",
                    engine.stats.loaded, cfg.fleet.rules_min_ratio
                ),
            });
        }
    }
    let (l, f, s) = (engine.stats.loaded, engine.stats.failed, engine.stats.skipped);
    sh.hub.set_rules_info(rules_info(Some(&engine)));
    let gen = sh.slot.swap(Arc::new(engine));
    sh.hub.record_reload(true);
    // Wait (bounded) for every worker to switch, then check the old engine was freed.
    let t1 = Instant::now();
    while t1.elapsed() < Duration::from_secs(5) && sh.acks.iter().any(|a| a.load(Ordering::Acquire) < gen) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let switched_ms = t1.elapsed().as_millis() as u64;
    let freed = old.map(|w| w.strong_count() == 0).unwrap_or(true);
    if freed {
        crate::sys::release_free_memory();
    }
    let peak = peak.load(Ordering::Relaxed).max(rss_bytes());
    ctl.inc(C::DetectReloads);
    ctl.add(C::DetectReloadMs, build_ms);
    ctl.set(C::DetectReloadLastMs, build_ms);
    ctl.set(C::DetectReloadPeakRss, peak);
    log.info(&format!(
        "rules reloaded: {l} loaded, {f} failed, {s} skipped; built in {build_ms} ms, all workers switched {switched_ms} ms later; RSS {:.1} MB before, peak {:.1} MB during the reload, {:.1} MB now; previous engine {}",
        rss_before as f64 / 1e6,
        peak as f64 / 1e6,
        rss_bytes() as f64 / 1e6,
        if freed { "freed" } else { "still referenced" }
    ));
    Ok(serde_json::json!({
        "rules_loaded": l,
        "rules_failed": f,
        "rules_skipped": s,
        "build_ms": build_ms,
        "switched_ms": switched_ms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_slot_bumps_generation() {
        let s = EngineSlot::new(None);
        assert_eq!(s.current().0, 1);
        let cfg = Config::default();
        let (e, _) = crate::detect::load_engine(&[], &cfg.detect, &cfg.vars);
        assert_eq!(s.swap(Arc::new(e)), 2);
        assert!(s.current().1.is_some());
    }

    #[test]
    fn a_fleet_version_must_load_a_share_of_the_running_rules() {
        assert_eq!(fleet_minimum(6, 0.5), 3);
        assert_eq!(fleet_minimum(24_827, 0.5), 12_414);
        assert_eq!(fleet_minimum(0, 0.5), 1, "a version loading no rule is refused even after an empty engine");
        assert_eq!(fleet_minimum(6, 0.0), 1);
    }

    #[test]
    fn a_fleet_ruleset_takes_its_own_threshold_config() {
        let d = tempfile::tempdir().unwrap();
        let mut base = Config::default();
        base.detect.threshold_file = "/etc/picket/threshold.config".into();
        let rs = Ruleset::fleet(&base, d.path(), 4);
        assert_eq!(rs.config.detect.threshold_file, "/etc/picket/threshold.config", "none in the ruleset");
        std::fs::write(d.path().join("threshold.config"), "").unwrap();
        let rs = Ruleset::fleet(&base, d.path(), 4);
        assert_eq!(rs.config.detect.threshold_file, d.path().join("threshold.config").display().to_string());
        assert_eq!((rs.paths, rs.fleet_version), (vec![d.path().to_path_buf()], 4));
    }
}
