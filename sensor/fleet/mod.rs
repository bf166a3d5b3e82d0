//! `picket fleet`: several sensors and replay workers around one NATS JetStream cluster.
//!
//! Takes: the configuration (`[sensor]`, `[fleet]`, `[output.nats]` for servers and
//! credentials) and the command line. Promises: every command talks to JetStream through the
//! `async-nats` client on a runtime of its own ([`crate::output::nats::new_runtime`]), never on
//! the packet path; errors name the server, stream or file and why. Never: holds the only copy
//! of an event (the local queue does, until JetStream acknowledged it).
//!
//! Files: `cli.rs` (the subcommands), `forward.rs` (`picket fleet forward`: the forwarder
//! alone, for a queue whose sensor runs without one), `rules/` (rulesets pushed to the fleet
//! and the sensors' watcher), `heartbeat.rs` (each sensor's heartbeat in `fleet.status_bucket`),
//! `status.rs` (`picket fleet status` and `picket fleet tail`), `jobs.rs` (distributed
//! replay's queue: `picket fleet submit`; the worker is `runtime/fleet_work.rs`).

mod cli;
mod forward;
pub mod heartbeat;
pub(crate) mod jobs;
pub(crate) mod rules;
mod status;

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};

pub use cli::{run, FleetCmd, WorkOptions};

/// A key-value bucket, created when missing if `create` (`history` values kept per key,
/// entries older than `max_age` removed, zero = kept).
pub(crate) async fn kv_bucket(
    js: &jetstream::Context,
    bucket: &str,
    description: &str,
    history: i64,
    replicas: usize,
    create: bool,
    max_age: Duration,
) -> anyhow::Result<kv::Store> {
    match js.get_key_value(bucket).await {
        Ok(kv) => Ok(kv),
        Err(_) if create => {
            // The stream a key-value bucket is, made directly: `create_key_value` first asks for
            // the account's information, which async-nats 0.46 cannot read from Debian's
            // nats-server 2.9 ("data did not match any variant"). Same settings as it uses.
            js.create_stream(stream::Config {
                name: format!("KV_{bucket}"),
                description: Some(description.into()),
                subjects: vec![format!("$KV.{bucket}.>")],
                max_messages_per_subject: history,
                max_age,
                allow_rollup: true,
                deny_delete: true,
                allow_direct: true,
                discard: stream::DiscardPolicy::New,
                num_replicas: replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the key-value bucket: {e}"))?;
            js.get_key_value(bucket).await.map_err(|e| anyhow::anyhow!("key-value bucket created but not usable: {e}"))
        }
        Err(e) => anyhow::bail!("no key-value bucket: {e}"),
    }
}

/// Unix seconds now.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
