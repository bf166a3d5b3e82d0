//! `picket fleet rules push DIR`: the folder packed, stored as the next version, and named by
//! the key `current` (compare-and-set: a concurrent push fails rather than being overwritten).

use std::path::Path;
use std::time::Duration;

use async_nats::jetstream::{self, kv::Operation};

use super::{archive, buckets, nats_config, Manifest, CURRENT_KEY, KEEP_OBJECTS};
use crate::config::Config;
use crate::output::nats::{connect, new_runtime};

/// Pushes the ruleset folder `dir`; the manifest of the new version.
pub(crate) fn push(cfg: &Config, dir: &Path) -> anyhow::Result<Manifest> {
    let packed = archive::pack(dir, cfg.fleet.rules_max_bytes)?;
    let ncfg = nats_config(cfg);
    if ncfg.servers.is_empty() {
        anyhow::bail!("fleet.servers and output.nats.servers: both empty (no NATS server to push to)");
    }
    let who = cfg.sensor.resolved_name();
    let rt = new_runtime()?;
    let work = async {
        let client = connect(&ncfg, &format!("picket-rules-push-{who}"), None, false).await?;
        let js = jetstream::new(client.clone());
        let (kv, store) = buckets(&js, &cfg.fleet, true).await?;
        let b = &cfg.fleet.rules_bucket;
        let prev = kv.entry(CURRENT_KEY).await.map_err(|e| anyhow::anyhow!("{b}: cannot read `current`: {e}"))?;
        let (prev_version, prev_rev) = match &prev {
            Some(e) if e.operation == Operation::Put => {
                let v = serde_json::from_slice::<Manifest>(&e.value).map(|m| m.version).unwrap_or(0);
                (v, Some(e.revision))
            }
            Some(e) => (0, Some(e.revision)),
            None => (0, None),
        };
        let version = prev_version + 1;
        let object = Manifest::object_name(version);
        store
            .put(object.as_str(), &mut packed.bytes.as_slice())
            .await
            .map_err(|e| anyhow::anyhow!("{b}: cannot store {object}: {e}"))?;
        let m = Manifest {
            version,
            object: object.clone(),
            sha256: packed.sha256.clone(),
            bytes: packed.bytes.len() as u64,
            files: packed.files,
            pushed_by: who.clone(),
            pushed_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let value = serde_json::to_vec(&m)?.into();
        let moved = match prev_rev {
            Some(r) => kv.update(CURRENT_KEY, value, r).await.map_err(|e| e.to_string()),
            None => kv.create(CURRENT_KEY, value).await.map_err(|e| e.to_string()),
        };
        if let Err(e) = moved {
            let _ = store.delete(&object).await;
            anyhow::bail!("{b}: `current` moved while pushing (another push?): {e}; push again");
        }
        if version > KEEP_OBJECTS {
            let _ = store.delete(Manifest::object_name(version - KEEP_OBJECTS)).await;
        }
        client.flush().await.ok();
        Ok::<Manifest, anyhow::Error>(m)
    };
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(120), work)
            .await
            .map_err(|_| anyhow::anyhow!("push: no answer from {} within 120 s", ncfg.servers.join(",")))?
    })
}
