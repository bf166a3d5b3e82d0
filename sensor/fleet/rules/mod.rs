//! Rules for the fleet: one ruleset pushed to JetStream, followed by every sensor.
//!
//! Takes: a ruleset folder (`picket fleet rules push DIR`: `*.rules`, classification.config,
//! reference.config, threshold.config, dataset files) and `[fleet]` / `[output.nats]`.
//! Promises: a push stores the folder as one object (`ruleset-<version>`, a tar.gz, see
//! [`archive`]) in the object store `fleet.rules_bucket`, then moves the key `current` of the
//! key-value bucket of the same name to a [`Manifest`] naming it (version, SHA-256, size);
//! versions count up from 1, and a push that races another fails instead of overwriting it
//! (compare-and-set on the key's revision). A sensor's [`RulesWatcher`] follows `current` (the
//! last value first, so a sensor started after a push gets it), downloads each new version,
//! checks its digest and unpacks it in `fleet.rules_dir/<version>/`, and hands it to the
//! daemon, which verifies it and reloads through its usual reload path (see
//! `runtime/live/supervise.rs`). Never: runs on the packet path (its own thread and runtime),
//! applies a ruleset itself, or writes outside `fleet.rules_dir`.
//!
//! Files: `archive.rs` (pack and safe unpack), `push.rs` (the push), `watch.rs` (the sensor's
//! watcher thread).

pub(crate) mod archive;
mod push;
mod watch;

use std::time::Duration;

use async_nats::jetstream::{self, kv, object_store};
use serde::{Deserialize, Serialize};

use crate::config::{Config, FleetConfig};
use crate::output::nats::NatsConfig;

pub(crate) use push::push;
pub(crate) use watch::{fetch, Arrival, RulesWatcher};

/// The key of the key-value bucket that names the current version.
pub(crate) const CURRENT_KEY: &str = "current";

/// Pushed versions kept in the object store (older ones are deleted by the push).
const KEEP_OBJECTS: u64 = 8;

/// What `current` holds: the version and the object that carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// 1, 2, ...: one more than the version it replaced.
    pub version: u64,
    /// The object's name in the object store.
    pub object: String,
    /// SHA-256 of the object (tar.gz), lowercase hex.
    pub sha256: String,
    /// Size of the object, bytes.
    pub bytes: u64,
    /// Files in the ruleset.
    pub files: usize,
    /// Who pushed it (`sensor.name` of the pushing host) and when (Unix seconds).
    pub pushed_by: String,
    /// Unix seconds.
    pub pushed_at: u64,
}

impl Manifest {
    /// The object name of a version.
    pub(crate) fn object_name(version: u64) -> String {
        format!("ruleset-{version}")
    }
}

/// The rule count a fleet version must reach to replace running rules: `ratio`
/// (`fleet.rules_min_ratio`) of the running engine's, at least one.
pub(crate) fn min_rules(running: usize, ratio: f64) -> usize {
    ((running as f64 * ratio).ceil() as usize).max(1)
}

/// The configuration a version unpacked in `dir` is loaded with: `base`, with the version's
/// threshold.config (when it has one) instead of `detect.threshold_file`.
pub(crate) fn ruleset_config(base: &Config, dir: &std::path::Path) -> Config {
    let mut config = base.clone();
    let t = dir.join("threshold.config");
    if t.is_file() {
        config.detect.threshold_file = t.display().to_string();
    }
    config
}

/// The connection settings of fleet commands: `[output.nats]` (credentials, TLS), with
/// `fleet.servers` instead of its servers when given.
pub(crate) fn nats_config(cfg: &Config) -> NatsConfig {
    let mut n = cfg.output.nats.clone();
    if !cfg.fleet.servers.is_empty() {
        n.servers = cfg.fleet.servers.clone();
    }
    n
}

/// The key-value bucket and the object store of the rulesets, created when missing (pushes)
/// or only looked up (sensors).
async fn buckets(
    js: &jetstream::Context,
    fc: &FleetConfig,
    create: bool,
) -> anyhow::Result<(kv::Store, object_store::ObjectStore)> {
    let b = &fc.rules_bucket;
    let kv = crate::fleet::kv_bucket(
        js,
        b,
        "picket: the current fleet ruleset version",
        16,
        fc.replicas,
        create,
        Duration::ZERO,
    )
    .await
    .map_err(|e| {
        anyhow::anyhow!("fleet.rules_bucket {b}: {e}{}", if create { "" } else { " (nothing pushed yet?)" })
    })?;
    let obj = match js.get_object_store(b).await {
        Ok(o) => o,
        Err(_) if create => js
            .create_object_store(object_store::Config {
                bucket: b.clone(),
                description: Some("picket: fleet rulesets, one object per version".into()),
                num_replicas: fc.replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("fleet.rules_bucket {b}: cannot create the object store: {e}"))?,
        Err(e) => anyhow::bail!("fleet.rules_bucket {b}: no object store (nothing pushed yet?): {e}"),
    };
    Ok((kv, obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_and_fleet_servers_override_the_output_ones() {
        let m = Manifest {
            version: 3,
            object: Manifest::object_name(3),
            sha256: "ab".into(),
            bytes: 10,
            files: 2,
            pushed_by: "s1".into(),
            pushed_at: 1,
        };
        let back: Manifest = serde_json::from_slice(&serde_json::to_vec(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.object, "ruleset-3");
        let mut c = Config::default();
        c.output.nats.servers = vec!["nats://a:4222".into()];
        c.output.nats.token = "t".into();
        assert_eq!(nats_config(&c).servers, ["nats://a:4222"]);
        c.fleet.servers = vec!["nats://b:4222".into()];
        let n = nats_config(&c);
        assert_eq!((n.servers.as_slice(), n.token.as_str()), (&["nats://b:4222".to_string()][..], "t"));
    }
}
