//! The sensor's side: a thread with its own async runtime that follows the key `current`,
//! downloads each new version, checks it against the manifest's digest, unpacks it in
//! `fleet.rules_dir/<version>/` and hands it over on a channel. The daemon's main thread
//! verifies and applies it (or refuses it); this thread never touches the running rules.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv::Operation};
use crossbeam_channel::Sender;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use super::{archive, nats_config, Manifest, CURRENT_KEY};
use crate::config::{Config, FleetConfig};
use crate::output::nats::{connect, new_runtime};

/// What the watcher hands to the daemon.
#[derive(Debug)]
pub(crate) enum Arrival {
    /// A version downloaded, its digest checked, unpacked in `dir`.
    Ready {
        /// Its manifest.
        manifest: Manifest,
        /// Where it was unpacked.
        dir: PathBuf,
    },
    /// A version that could not be used as shipped (download, digest, archive): refused.
    Bad {
        /// Its version (0 when the manifest itself could not be read).
        version: u64,
        /// Why, with the object's name.
        why: String,
    },
    /// Something worth a line in the log (no bucket yet, watch restarted).
    Note(String),
}

/// The running watcher; stopped on drop.
pub(crate) struct RulesWatcher {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl RulesWatcher {
    /// Starts following `fleet.rules_bucket` (connecting in the background: an unreachable
    /// cluster delays updates, never the caller).
    pub(crate) fn start(cfg: &Config, tx: Sender<Arrival>) -> anyhow::Result<RulesWatcher> {
        let ncfg = nats_config(cfg);
        if ncfg.servers.is_empty() {
            anyhow::bail!("fleet.rules: fleet.servers and output.nats.servers are both empty");
        }
        let fc = cfg.fleet.clone();
        let name = format!("picket-rules-{}", cfg.sensor.resolved_name());
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let handle = std::thread::Builder::new().name("picket-fleet-rules".into()).spawn(move || {
            let rt = match new_runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Arrival::Note(format!("fleet.rules: no async runtime: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                let client = match connect(&ncfg, &name, None, true).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send(Arrival::Note(format!("fleet.rules: {e}")));
                        return;
                    }
                };
                // Short JetStream requests: a lookup that hits the bucket's stream while it is
                // being created (the first push) is retried after 1 s instead of waiting out the
                // client's default 5 s, so a first ruleset reaches every sensor in seconds.
                let js = jetstream::ContextBuilder::new().timeout(Duration::from_secs(2)).build(client);
                follow(js, &fc, &tx, &st).await
            })
        })?;
        Ok(RulesWatcher { stop, handle: Some(handle) })
    }
}

impl Drop for RulesWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Follows `current` until `stop`, (re)opening the watch whenever it ends.
async fn follow(js: jetstream::Context, fc: &FleetConfig, tx: &Sender<Arrival>, stop: &AtomicBool) {
    let mut last_seen = 0u64;
    let mut said_missing = false;
    while !stop.load(Relaxed) {
        let kv = match js.get_key_value(&fc.rules_bucket).await {
            Ok(kv) => kv,
            Err(e) => {
                if !said_missing {
                    said_missing = true;
                    let _ = tx.send(Arrival::Note(format!(
                        "fleet.rules: waiting for bucket {} (nothing pushed yet?): {e}",
                        fc.rules_bucket
                    )));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut w = match kv.watch_with_history(CURRENT_KEY).await {
            Ok(w) => w,
            Err(e) => {
                let _ = tx.send(Arrival::Note(format!("fleet.rules: cannot watch {}: {e}", fc.rules_bucket)));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        while !stop.load(Relaxed) {
            let entry = match tokio::time::timeout(Duration::from_millis(250), w.next()).await {
                Err(_) => continue,
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    let _ = tx.send(Arrival::Note(format!("fleet.rules: watch of {} ended: {e}", fc.rules_bucket)));
                    break;
                }
                Ok(Some(Ok(e))) => e,
            };
            if entry.operation != Operation::Put {
                continue;
            }
            let m: Manifest = match serde_json::from_slice(&entry.value) {
                Ok(m) => m,
                Err(e) => {
                    let why = format!("`current` (revision {}) is not a ruleset manifest: {e}", entry.revision);
                    let _ = tx.send(Arrival::Bad { version: 0, why });
                    continue;
                }
            };
            if m.version <= last_seen {
                continue;
            }
            last_seen = m.version;
            let a = match fetch(&js, fc, &m).await {
                Ok(dir) => Arrival::Ready { manifest: m, dir },
                Err(e) => Arrival::Bad { version: m.version, why: format!("{}: {e:#}", m.object) },
            };
            if tx.send(a).is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Downloads the object of `m`, checks its size and digest, unpacks it; the folder.
pub(crate) async fn fetch(js: &jetstream::Context, fc: &FleetConfig, m: &Manifest) -> anyhow::Result<PathBuf> {
    if m.object != Manifest::object_name(m.version) {
        anyhow::bail!("the manifest names object `{}` for version {}", m.object, m.version);
    }
    let max = fc.rules_max_bytes;
    if m.bytes > max {
        anyhow::bail!("{} bytes, more than fleet.rules_max_bytes ({max})", m.bytes);
    }
    let store = js.get_object_store(&fc.rules_bucket).await.map_err(|e| anyhow::anyhow!("object store: {e}"))?;
    let obj = store.get(&m.object).await.map_err(|e| anyhow::anyhow!("cannot get it: {e}"))?;
    let mut buf = Vec::new();
    // The client checks the object's own digest at its end; the manifest's is checked below.
    tokio::time::timeout(Duration::from_secs(300), obj.take(max + 1).read_to_end(&mut buf))
        .await
        .map_err(|_| anyhow::anyhow!("download took more than 300 s"))?
        .map_err(|e| anyhow::anyhow!("download failed: {e}"))?;
    if buf.len() as u64 > max {
        anyhow::bail!("more than fleet.rules_max_bytes ({max})");
    }
    let got = archive::sha256_hex(&buf);
    if got != m.sha256 {
        anyhow::bail!("SHA-256 {got} differs from the manifest's {}", m.sha256);
    }
    let root = PathBuf::from(&fc.rules_dir);
    std::fs::create_dir_all(&root).map_err(|e| anyhow::anyhow!("fleet.rules_dir {}: {e}", root.display()))?;
    let tmp = root.join(format!(".incoming-{}", m.version));
    let dest = root.join(m.version.to_string());
    let _ = std::fs::remove_dir_all(&tmp);
    archive::unpack(&buf, &tmp, max)?;
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&tmp, &dest).map_err(|e| anyhow::anyhow!("{}: {e}", dest.display()))?;
    Ok(dest)
}
