//! The forwarder's counters and gauges, shared with whoever reports them (metrics, the replay
//! summary, `picket fleet forward`): plain atomics written by the forwarder thread only.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::metrics::{Counters, C};

/// Counters (since start) and gauges (current) of one forwarder.
#[derive(Debug, Default)]
pub struct NatsStats {
    /// Events published (re-sends included).
    pub published: AtomicU64,
    /// NATS messages published (re-sends included); each carries one or more events.
    pub messages: AtomicU64,
    /// Events JetStream acknowledged as stored.
    pub acked: AtomicU64,
    /// Acknowledged events JetStream reported as duplicates (already stored: a re-send).
    pub duplicates: AtomicU64,
    /// Events answered as duplicates without a stored sequence (not counted as stored).
    pub unconfirmed: AtomicU64,
    /// Events sent again under a new message id (their old id kept being answered so).
    pub reissued: AtomicU64,
    /// Events published again after a failed window (timeout, outage, leader change).
    pub resent: AtomicU64,
    /// Publish failures (timeouts, refusals, no stream), each failing the window.
    pub errors: AtomicU64,
    /// Gauge: published and not yet acknowledged.
    pub in_flight: AtomicU64,
    /// Gauge: queue bytes not yet acknowledged.
    pub lag_bytes: AtomicU64,
    /// Gauge: queue events not yet acknowledged (counted as the queue is scanned).
    pub lag_events: AtomicU64,
    /// Gauge: 1 connected, 0 not.
    pub connected: AtomicU64,
    /// Times the connection was lost.
    pub disconnects: AtomicU64,
    /// Queue segments deleted by retention before the forwarder read them.
    pub missed_segments: AtomicU64,
}

/// A copy of the stats at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// See [`NatsStats::published`].
    pub published: u64,
    /// See [`NatsStats::messages`].
    pub messages: u64,
    /// See [`NatsStats::acked`].
    pub acked: u64,
    /// See [`NatsStats::duplicates`].
    pub duplicates: u64,
    /// See [`NatsStats::unconfirmed`].
    pub unconfirmed: u64,
    /// See [`NatsStats::reissued`].
    pub reissued: u64,
    /// See [`NatsStats::resent`].
    pub resent: u64,
    /// See [`NatsStats::errors`].
    pub errors: u64,
    /// See [`NatsStats::in_flight`].
    pub in_flight: u64,
    /// See [`NatsStats::lag_bytes`].
    pub lag_bytes: u64,
    /// See [`NatsStats::lag_events`].
    pub lag_events: u64,
    /// See [`NatsStats::connected`].
    pub connected: u64,
    /// See [`NatsStats::disconnects`].
    pub disconnects: u64,
    /// See [`NatsStats::missed_segments`].
    pub missed_segments: u64,
}

impl NatsStats {
    /// Follows the client's connection events.
    pub fn on_event(&self, ev: &async_nats::Event) {
        match ev {
            async_nats::Event::Connected => self.connected.store(1, Relaxed),
            async_nats::Event::Disconnected => {
                self.connected.store(0, Relaxed);
                self.disconnects.fetch_add(1, Relaxed);
            }
            _ => {}
        }
    }

    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            published: self.published.load(Relaxed),
            messages: self.messages.load(Relaxed),
            acked: self.acked.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            unconfirmed: self.unconfirmed.load(Relaxed),
            reissued: self.reissued.load(Relaxed),
            resent: self.resent.load(Relaxed),
            errors: self.errors.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            lag_bytes: self.lag_bytes.load(Relaxed),
            lag_events: self.lag_events.load(Relaxed),
            connected: self.connected.load(Relaxed),
            disconnects: self.disconnects.load(Relaxed),
            missed_segments: self.missed_segments.load(Relaxed),
        }
    }
}

impl StatsSnapshot {
    /// As counters (`output.nats.*`), for the metrics endpoint and summaries.
    pub fn counters(&self) -> Counters {
        let mut c = Counters::new();
        c.add(C::NatsPublished, self.published);
        c.add(C::NatsMessages, self.messages);
        c.add(C::NatsAcked, self.acked);
        c.add(C::NatsDuplicates, self.duplicates);
        c.add(C::NatsUnconfirmed, self.unconfirmed);
        c.add(C::NatsReissued, self.reissued);
        c.add(C::NatsResent, self.resent);
        c.add(C::NatsErrors, self.errors);
        c.add(C::NatsDisconnects, self.disconnects);
        c.add(C::NatsMissedSegments, self.missed_segments);
        c.set(C::NatsInFlight, self.in_flight);
        c.set(C::NatsLagBytes, self.lag_bytes);
        c.set(C::NatsLagEvents, self.lag_events);
        c.set(C::NatsConnected, self.connected);
        c
    }

    /// One line for logs and summaries.
    pub fn line(&self) -> String {
        let unconfirmed = match (self.unconfirmed, self.reissued) {
            (0, 0) => String::new(),
            (u, r) => format!(" ({u} unconfirmed duplicates, {r} sent under a new id)"),
        };
        format!(
            "nats: {} published ({} messages), {} acknowledged ({} duplicates), {} re-sent{unconfirmed}, {} errors, {} in flight, lag {} events / {} bytes, {}",
            self.published,
            self.messages,
            self.acked,
            self.duplicates,
            self.resent,
            self.errors,
            self.in_flight,
            self.lag_events,
            self.lag_bytes,
            if self.connected == 1 { "connected" } else { "not connected" }
        )
    }
}
