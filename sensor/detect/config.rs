//! The `[detect]` section of the configuration: the multi-pattern engine, the cache of
//! compiled prefilter databases and the threshold file.

use serde::{Deserialize, Serialize};

/// Multi-pattern engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// Hyperscan (vectorscan).
    Hyperscan,
    /// The aho-corasick crate.
    AhoCorasick,
}

/// `[detect]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// `hyperscan` or `aho-corasick`.
    pub engine: EngineKind,
    /// Folder of the compiled prefilter databases (Hyperscan), so that a restart with the same
    /// rules skips their compilation; empty disables the cache. The default falls back to
    /// `$XDG_CACHE_HOME/picket` (or `~/.cache/picket`), then a private temp folder, when it
    /// cannot be written.
    pub cache_dir: String,
    /// With a cache, the prefilter databases it does not hold (first start, changed rules) are
    /// compiled in the background while inspection starts with Aho-Corasick automata of the
    /// same patterns (same alerts, slower scans until each database is there): ET Open with
    /// an empty cache is inspected in under a second instead of two to three. `false`:
    /// compile them all before the first packet.
    pub compile_in_background: bool,
    /// Suricata's `threshold.config` (suppress, threshold, event_filter, rate_filter by
    /// gen_id/sig_id, track and addresses), read with the rules at every load and reload;
    /// "" = none.
    pub threshold_file: String,
    /// `[detect.datasets]`: the data directory of saved sets, defaults, declared sets.
    pub datasets: super::dataset::DatasetsConfig,
    /// `[detect.reputation]`: Suricata's IP reputation files, for `iprep`.
    pub reputation: super::iprep::ReputationConfig,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            engine: EngineKind::Hyperscan,
            cache_dir: super::cache::DEFAULT_DIR.to_string(),
            compile_in_background: true,
            threshold_file: String::new(),
            datasets: Default::default(),
            reputation: Default::default(),
        }
    }
}
