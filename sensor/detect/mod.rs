//! Detect: rules against packets.
//!
//! Takes: the typed rules of [`crate::rule`] and decoded packets with their flow. Promises:
//! rules are grouped by protocol, direction and destination port; each group scans a packet
//! buffer once with a multi-pattern [`matcher::Mpm`] built from one fast pattern per rule, and
//! only the candidates it names (plus the group's rules without a usable fast pattern) are
//! verified in full. Every rule that matches gives one alert, after thresholds, exactly as
//! Suricata counts them. Hyperscan and Aho-Corasick give the same alerts.
//! Never: allocates per packet after warm-up, locks on the hot path (threshold state of
//! `by_src`/`by_dst` tracking is the one shared structure, touched only when such a rule
//! matches), or panics on packet bytes.

mod addresses;
pub(crate) mod app;
pub(crate) mod cache;
mod compile;
mod config;
pub(crate) mod dataset;
pub mod engine;
pub mod fast_pattern;
mod flowbits;
mod int_hash;
pub(crate) mod iprep;
pub mod matcher;
mod metadata;
pub(crate) mod packet;
pub(crate) mod profile;
mod run;
mod run_app;
mod run_frames;
pub mod run_rule;
mod threshold;
pub(crate) mod transform;
mod vars;
pub mod verify;

use std::path::PathBuf;
use std::time::Instant;

use crate::rule::VarsConfig;
pub use config::{DetectConfig, EngineKind};

/// What loading a rule set took and gave.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Rule files read.
    pub files: usize,
    /// Seconds parsing.
    pub parse_secs: f64,
    /// Seconds compiling (pcre, prefilter databases).
    pub compile_secs: f64,
    /// What the compiled-database cache did.
    pub cache: cache::CacheStats,
    /// `detect.threshold_file`: its lines that could not be used, and entries without effect.
    pub threshold: Vec<String>,
}

impl LoadReport {
    /// The one-line summary of a rule load (replay, bench), `total_secs` its time.
    pub fn line(&self, engine: &engine::DetectEngine, total_secs: f64) -> String {
        format!(
            "rules: {} loaded, {} failed, {} skipped (unsupported) from {} file(s); load {:.2} s: parse {:.2} s, compile {:.2} s{}",
            engine.stats.loaded,
            engine.stats.failed,
            engine.stats.skipped,
            self.files,
            total_secs,
            self.parse_secs,
            self.compile_secs,
            self.cache.summary(),
        )
    }
}

/// Waits for the prefilter databases still compiling in the background (see
/// `detect.compile_in_background`) and says what was done: `(is a warning, text)` lines, the
/// compile time first (when anything was compiled), then each failure.
pub fn finish_background_compiles() -> Vec<(bool, String)> {
    let bg = matcher::background::wait();
    let mut lines = Vec::new();
    if bg.compiled > 0 {
        lines.push((false, format!(
            "prefilter: {} vectorscan database(s) compiled in the background in {:.2} s (Aho-Corasick until each was ready)",
            bg.compiled,
            bg.took.as_secs_f64()
        )));
    }
    for e in bg.errors {
        lines.push((true, format!("warning: prefilter compile failed, its rules stay on Aho-Corasick: {e}")));
    }
    lines
}

/// Parses and compiles the rules at `paths` with the configuration's variables and engine.
pub fn load_engine(paths: &[PathBuf], detect: &DetectConfig, vars: &VarsConfig) -> (engine::DetectEngine, LoadReport) {
    let t0 = Instant::now();
    // Sets read from a file only are read again with the rules; the config's sets come first.
    dataset::begin_reload();
    let dataset_error = dataset::configure(&detect.datasets).err();
    // Each rule is compiled as soon as it is parsed (see compile::RuleCompiler); the time
    // spent compiling inside the parse loop is counted as compile time.
    let mut compiler = compile::RuleCompiler::new(detect.engine);
    let (reputation, iprep_messages) = load_reputation(&detect.reputation);
    compiler.set_reputation(reputation);
    let mut compile_in_parse = std::time::Duration::ZERO;
    let keywords = crate::rule::Keywords::new(crate::app::keywords());
    let set = crate::rule::load_rules_each(paths, &keywords, vars, None, None, |r| {
        let t = Instant::now();
        compiler.add(r);
        compile_in_parse += t.elapsed();
    });
    let parse_secs = (t0.elapsed() - compile_in_parse).as_secs_f64();
    let files = set.files;
    let t1 = Instant::now();
    // Only Hyperscan databases are cached (Aho-Corasick automata build quickly).
    let (db_cache, warning) = match detect.engine {
        EngineKind::Hyperscan => cache::DbCache::open(&detect.cache_dir),
        _ => (None, None),
    };
    let db_cache = db_cache.map(|c| c.deferring(detect.compile_in_background));
    let mut eng = compiler.finish(set.errors, set.var_names, db_cache.as_ref());
    let threshold = apply_threshold_file(&mut eng, detect, vars);
    let compile_secs = (t1.elapsed() + compile_in_parse).as_secs_f64();
    // Parsing and compiling leave freed, fragmented heap behind (rule texts, parse trees,
    // pattern lists, compiler scratch); hand those pages back before packets flow.
    crate::sys::release_free_memory();
    let mut cache = db_cache.map(|c| c.stats()).unwrap_or_default();
    // Counted before the threads start: a small database may be done before the count.
    cache.background = matcher::background::status().pending;
    matcher::background::start();
    cache.warnings.splice(0..0, warning);
    cache.warnings.extend(dataset_error.map(|e| format!("datasets: {e}")));
    cache.warnings.extend(iprep_messages);
    (eng, LoadReport { files, parse_secs, compile_secs, cache, threshold })
}

/// Every dataset file reader (text, JSON, binary state) on `data`, scratch files under `dir`:
/// what the `datasets` fuzz target drives. Returns pairs that must be equal.
#[doc(hidden)]
pub fn fuzz_dataset_files(data: &[u8], dir: &std::path::Path) -> Vec<(usize, usize)> {
    dataset::fuzz_files(data, dir)
}

/// Gauges of the datasets and of the IP reputation for `/metrics`.
pub fn gauges() -> Vec<crate::metrics::prom::GaugeFamily> {
    let mut v = dataset::gauges();
    v.extend(iprep::gauges());
    v
}

/// Reads `[detect.reputation]`: the table (or why there is none) and what the log should say.
fn load_reputation(
    cfg: &iprep::ReputationConfig,
) -> (Result<Option<std::sync::Arc<iprep::Reputation>>, String>, Vec<String>) {
    match iprep::Reputation::load(cfg) {
        Ok(Some(mut rep)) => {
            iprep::publish_stats(Some(rep.stats.clone()));
            let msgs = std::mem::take(&mut rep.messages).into_iter().map(|m| format!("iprep: {m}")).collect();
            (Ok(Some(std::sync::Arc::new(rep))), msgs)
        }
        Ok(None) => {
            iprep::publish_stats(None);
            (Ok(None), Vec::new())
        }
        Err(e) => {
            iprep::publish_stats(None);
            (Err(e.clone()), vec![format!("iprep: {e}")])
        }
    }
}

/// Reads `detect.threshold_file` (when set) and applies it; what the log should say.
fn apply_threshold_file(eng: &mut engine::DetectEngine, detect: &DetectConfig, vars: &VarsConfig) -> Vec<String> {
    if detect.threshold_file.is_empty() {
        return Vec::new();
    }
    let tc = crate::rule::threshold_config::load_threshold_config(std::path::Path::new(&detect.threshold_file), vars);
    let mut out: Vec<String> = tc.errors.iter().map(|e| format!("{e} (entry ignored)")).collect();
    out.extend(eng.apply_threshold_config(&tc));
    out
}
