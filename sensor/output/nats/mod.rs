//! Forwarding the local alert queue to NATS JetStream (`[output.nats]`).
//!
//! Takes: the spool (`output.spool_dir`, see [`super::spool`]) as a consumer of its own
//! (`output.nats.consumer`), the sensor's name and this section. Promises: every EVE line of
//! the queue is published to `<subject_prefix>.<sensor>.<event_type>`, up to `batch_events`
//! consecutive lines of one type per message (newline-separated, their count in the
//! `Picket-Events` header), with a `Nats-Msg-Id` made of the sensor name, the queue's id, the
//! first line's position and the event count (and `.r<n>` for a message JetStream kept
//! answering as a duplicate it does not hold, `forward.rs`), so that a message sent twice (after a crash, an
//! outage or a lost acknowledgement) is stored once within the stream's duplicate window: a
//! range sent again is cut into the same messages (`batch.rs` explains how and why); publishes
//! are pipelined (at most `in_flight` events unacknowledged) and the saved position moves only
//! past lines JetStream acknowledged; the stream is created when missing. Never:
//! runs on the packet path (its own thread and async runtime, fed by the queue on disk), waits
//! on anything the workers or the output thread hold, or deletes queue data (retention stays
//! the spool writer's, counted there).
//!
//! Files: `forward.rs` (the forwarder thread and its loop), `batch.rs` (cutting the queue into
//! messages, the batch journal), `window.rs` (publishes awaiting acknowledgement), `connect.rs`
//! (connection options from this section: servers, credentials, TLS), `stats.rs` (its counters
//! and gauges).

mod batch;
mod connect;
mod forward;
mod stats;
mod window;

use serde::{Deserialize, Serialize};

pub use batch::EVENTS_HEADER;
pub use connect::{connect, new_runtime};
pub use forward::{event_type_of, events_stream_config, queue_id, Forwarder};
pub use stats::{NatsStats, StatsSnapshot};

/// `[output.nats]`: where and how the queue is forwarded. Empty `servers` = off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// Server URLs (`nats://host:4222`, `tls://...`); several for a cluster.
    pub servers: Vec<String>,
    /// The JetStream stream the events go to (created when missing).
    pub stream: String,
    /// First token of every subject: `<prefix>.<sensor>.<event_type>`.
    pub subject_prefix: String,
    /// Name of the forwarder's position in the local queue (`consumers/<name>.offset`).
    pub consumer: String,
    /// Replicas of the stream when Picket creates it (1, 3 or 5 on a cluster).
    pub replicas: usize,
    /// Maximum age of events in the stream when Picket creates it, seconds (0 = no limit).
    pub max_age_secs: u64,
    /// Maximum size of the stream when Picket creates it, bytes (0 = no limit).
    pub max_bytes: u64,
    /// JetStream's duplicate window when Picket creates the stream, seconds: a message id seen
    /// within it is stored once.
    pub duplicate_window_secs: u64,
    /// Events published and not yet acknowledged, at most.
    pub in_flight: usize,
    /// EVE lines per message, at most: consecutive lines of one event type go in one message,
    /// newline-separated (1 = one event per message). Fewer messages is less work for the
    /// NATS servers (they cost per message, on the sensor's machine when a node runs there).
    pub batch_events: usize,
    /// An acknowledgement not received within this time fails the window: it is re-sent.
    pub ack_timeout_ms: u64,
    /// `picket replay`: after the last event, wait at most this long for the queue to be
    /// acknowledged before exiting (what is left is sent by the next run).
    pub drain_timeout_secs: u64,
    /// User name (with `password`).
    pub user: String,
    /// Password.
    pub password: String,
    /// Token authentication.
    pub token: String,
    /// File holding an NKey seed (`SU...`).
    pub nkey_seed_file: String,
    /// A `.creds` file (JWT and NKey seed, as `nsc` writes it).
    pub creds_file: String,
    /// CA certificate (PEM) the servers' certificates are checked against; set = TLS required.
    pub tls_ca: String,
    /// Client certificate (PEM), for servers that verify clients.
    pub tls_cert: String,
    /// Client key (PEM).
    pub tls_key: String,
    /// The forwarder thread's CPU scheduling: `idle` (Linux SCHED_IDLE: it runs only on CPU
    /// time no other task wants, so forwarding never delays the packet path) or `normal`.
    pub cpu_priority: CpuPriority,
}

/// `output.nats.cpu_priority`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CpuPriority {
    /// SCHED_IDLE: preempted as soon as a normal task (a worker, capture) wants the CPU.
    Idle,
    /// The scheduler's default, as every other thread of Picket.
    Normal,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            servers: Vec::new(),
            stream: "PICKET".into(),
            subject_prefix: "picket".into(),
            consumer: "nats".into(),
            replicas: 1,
            max_age_secs: 7 * 86_400,
            max_bytes: 0,
            duplicate_window_secs: 120,
            in_flight: 4096,
            batch_events: 64,
            ack_timeout_ms: 5000,
            drain_timeout_secs: 60,
            user: String::new(),
            password: String::new(),
            token: String::new(),
            nkey_seed_file: String::new(),
            creds_file: String::new(),
            tls_ca: String::new(),
            tls_cert: String::new(),
            tls_key: String::new(),
            cpu_priority: CpuPriority::Idle,
        }
    }
}

/// True when `s` can be one token of a NATS subject (and a stream or consumer name): letters,
/// digits, `-` and `_`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl NatsConfig {
    /// True when forwarding is configured.
    pub fn enabled(&self) -> bool {
        !self.servers.is_empty()
    }

    /// Checks values that parse but make no sense: `Err((dotted key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        const TOKEN: &str = "letters, digits, - and _ only (one subject token)";
        if !is_token(&self.stream) {
            return Err(("output.nats.stream", TOKEN));
        }
        if !self.subject_prefix.split('.').all(is_token) {
            return Err(("output.nats.subject_prefix", "tokens of letters, digits, - and _ separated by dots"));
        }
        if !is_token(&self.consumer) {
            return Err(("output.nats.consumer", TOKEN));
        }
        if !matches!(self.replicas, 1..=5) {
            return Err(("output.nats.replicas", "must be between 1 and 5"));
        }
        if self.in_flight == 0 || self.in_flight > 65_536 {
            return Err(("output.nats.in_flight", "must be between 1 and 65536"));
        }
        if self.batch_events == 0 || self.batch_events > 4096 {
            return Err(("output.nats.batch_events", "must be between 1 and 4096"));
        }
        if self.ack_timeout_ms < 100 {
            return Err(("output.nats.ack_timeout_ms", "must be at least 100"));
        }
        if self.duplicate_window_secs == 0 {
            return Err((
                "output.nats.duplicate_window_secs",
                "must be at least 1 (it is what removes re-sent events)",
            ));
        }
        if self.user.is_empty() != self.password.is_empty() {
            return Err(("output.nats.user", "user and password go together"));
        }
        if self.tls_cert.is_empty() != self.tls_key.is_empty() {
            return Err(("output.nats.tls_cert", "tls_cert and tls_key go together"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_name_their_key() {
        assert!(NatsConfig::default().validate().is_ok());
        assert!(!NatsConfig::default().enabled());
        let bad = |f: fn(&mut NatsConfig)| {
            let mut c = NatsConfig::default();
            f(&mut c);
            c.validate().unwrap_err().0
        };
        assert_eq!(bad(|c| c.stream = "a.b".into()), "output.nats.stream");
        assert_eq!(bad(|c| c.subject_prefix = "a..b".into()), "output.nats.subject_prefix");
        assert_eq!(bad(|c| c.replicas = 0), "output.nats.replicas");
        assert_eq!(bad(|c| c.in_flight = 0), "output.nats.in_flight");
        assert_eq!(bad(|c| c.batch_events = 0), "output.nats.batch_events");
        assert_eq!(bad(|c| c.user = "u".into()), "output.nats.user");
        assert_eq!(bad(|c| c.duplicate_window_secs = 0), "output.nats.duplicate_window_secs");
        let ok = NatsConfig { subject_prefix: "site1.picket".into(), ..Default::default() };
        assert!(ok.validate().is_ok());
    }
}
