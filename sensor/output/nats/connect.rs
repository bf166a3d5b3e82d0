//! Connection options from `[output.nats]`: servers, credentials (user/password, token, NKey
//! seed, creds file), TLS with a CA and an optional client certificate. Shared by the forwarder
//! and by `picket fleet`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{NatsConfig, NatsStats};

/// A single-threaded async runtime for NATS work, on the calling thread.
pub fn new_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Connects to `cfg.servers` as `name`. The client reconnects by itself for ever (trying each
/// server), so a node going away costs a reconnect, not an error; `stats` (when given) follows
/// the connection's state.
pub async fn connect(
    cfg: &NatsConfig,
    name: &str,
    stats: Option<Arc<NatsStats>>,
    retry_first: bool,
) -> anyhow::Result<async_nats::Client> {
    let mut o = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(2))
        .ping_interval(Duration::from_secs(5))
        .max_reconnects(None)
        .reconnect_delay_callback(|attempt| Duration::from_millis((50 * attempt as u64).min(1000)))
        .client_capacity(65_536);
    if retry_first {
        o = o.retry_on_initial_connect();
    }
    if !cfg.user.is_empty() {
        o = o.user_and_password(cfg.user.clone(), cfg.password.clone());
    }
    if !cfg.token.is_empty() {
        o = o.token(cfg.token.clone());
    }
    if !cfg.nkey_seed_file.is_empty() {
        let seed = std::fs::read_to_string(&cfg.nkey_seed_file)
            .map_err(|e| anyhow::anyhow!("output.nats.nkey_seed_file {}: {e}", cfg.nkey_seed_file))?;
        o = o.nkey(seed.trim().to_string());
    }
    if !cfg.creds_file.is_empty() {
        o = o
            .credentials_file(&cfg.creds_file)
            .await
            .map_err(|e| anyhow::anyhow!("output.nats.creds_file {}: {e}", cfg.creds_file))?;
    }
    if !cfg.tls_ca.is_empty() {
        o = o.add_root_certificates(PathBuf::from(&cfg.tls_ca)).require_tls(true);
    }
    if !cfg.tls_cert.is_empty() {
        o = o.add_client_certificate(PathBuf::from(&cfg.tls_cert), PathBuf::from(&cfg.tls_key));
    }
    if let Some(st) = stats {
        o = o.event_callback(move |ev| {
            let st = st.clone();
            async move { st.on_event(&ev) }
        });
    }
    o.connect(cfg.servers.as_slice())
        .await
        .map_err(|e| anyhow::anyhow!("output.nats.servers {}: cannot connect: {e}", cfg.servers.join(",")))
}
