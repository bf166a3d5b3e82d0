//! Rule reloads: the engine slot workers read at batch boundaries, and the reload that builds a
//! new engine on the main thread and publishes it (SIGHUP).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::daemon::rss_bytes;
use super::threads::Shared;
use super::{LiveOptions, Log};
use crate::config::Config;
use crate::detect::engine::DetectEngine;
use crate::metrics::{Counters, C};

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

pub(super) fn load_rules(paths: &[PathBuf], cfg: &Config) -> anyhow::Result<Option<DetectEngine>> {
    if paths.is_empty() {
        return Ok(None);
    }
    for p in paths {
        if !p.exists() {
            anyhow::bail!("{}: rules path does not exist", p.display());
        }
    }
    let (engine, _report) = crate::detect::load_engine(paths, &cfg.detect, &cfg.vars);
    if engine.stats.loaded == 0 && !engine.errors.is_empty() {
        anyhow::bail!("no rule could be loaded ({} not usable; see `picket rules check`)", engine.errors.len());
    }
    Ok(Some(engine))
}

/// SIGHUP: builds a new engine from the same paths and publishes it; the running one stays if
/// the new one cannot be built. Reports the time and the peak memory of the reload.
pub(super) fn reload(opts: &LiveOptions, cfg: &Config, sh: &Shared, ctl: &mut Counters, log: &Log) {
    if opts.rules.is_empty() {
        log.warn("SIGHUP: no rules configured, nothing to reload");
        return;
    }
    log.info("SIGHUP: reloading rules");
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
    let r = load_rules(&opts.rules, cfg);
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let build_ms = t0.elapsed().as_millis() as u64;
    let engine = match r {
        Ok(Some(e)) => e,
        Ok(None) => return,
        Err(e) => {
            ctl.inc(C::DetectReloadFailures);
            log.error(&format!("rule reload failed, the running rules stay: {e:#}"));
            return;
        }
    };
    let (l, f, s) = (engine.stats.loaded, engine.stats.failed, engine.stats.skipped);
    let gen = sh.slot.swap(Arc::new(engine));
    sh.hub.set_rules(l as u64, f as u64, s as u64);
    // Wait (bounded) for every worker to switch, then check the old engine was freed.
    let t1 = Instant::now();
    while t1.elapsed() < Duration::from_secs(5) && sh.acks.iter().any(|a| a.load(Ordering::Acquire) < gen) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let switched_ms = t1.elapsed().as_millis() as u64;
    let freed = old.map(|w| w.strong_count() == 0).unwrap_or(true);
    #[cfg(target_os = "linux")]
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
}
