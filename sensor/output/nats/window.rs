//! The forwarder's window: publishes awaiting JetStream's acknowledgement, all acknowledged
//! through one subscription.
//!
//! Each publish carries the reply subject `<inbox>.<seq>`, `seq` counting up for the
//! forwarder's life (never reused), and JetStream answers there with its acknowledgement. One
//! wake-up takes every acknowledgement already received, in whatever order they came; the
//! window's front moves past the acknowledged ones in queue order. An acknowledgement of a seq
//! no longer in the window (a window given up and re-sent) is ignored. Compared with a request
//! per publish this costs no channel, timer or boxed future per event: the forwarder's CPU per
//! event is its line, its subject and its message id.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use async_nats::{StatusCode, Subject, Subscriber};
use futures_util::{FutureExt, StreamExt};

use crate::output::spool::Position;

/// Why a window failed (everything unacknowledged is sent again).
#[derive(Debug)]
pub(super) enum Fail {
    /// No stream takes the subject (JetStream answered "no responders").
    NoStream,
    /// The oldest publish was not acknowledged in time, or could not be sent in time.
    Timeout,
    /// JetStream refused a publish (an error in its acknowledgement), or the client refused to
    /// send it.
    Refused,
    /// The subscription of the acknowledgements ended (the client closed).
    Closed,
}

struct Slot {
    /// Position just past the line.
    end: Position,
    sent: Instant,
    /// Once acknowledged: whether JetStream had it already (a duplicate).
    ack: Option<bool>,
}

/// Publishes in flight, in queue order.
pub(super) struct Window {
    inbox: String,
    sub: Subscriber,
    slots: VecDeque<Slot>,
    /// Seq of `slots[0]`.
    first: u64,
}

impl Window {
    /// Subscribes to the acknowledgements of a new window.
    pub(super) async fn open(client: &async_nats::Client, capacity: usize) -> anyhow::Result<Window> {
        let inbox = client.new_inbox();
        let sub = client
            .subscribe(format!("{inbox}.*"))
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe to the acknowledgements: {e}"))?;
        Ok(Window { inbox, sub, slots: VecDeque::with_capacity(capacity), first: 0 })
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The reply subject of the next publish.
    pub(super) fn next_reply(&self) -> Subject {
        Subject::from(format!("{}.{}", self.inbox, self.first + self.slots.len() as u64))
    }

    /// The next publish was sent; `end` is the position past its line.
    pub(super) fn push(&mut self, end: Position) {
        self.slots.push_back(Slot { end, sent: Instant::now(), ack: None });
    }

    /// Gives up every publish in flight (their late acknowledgements are ignored).
    pub(super) fn clear(&mut self) {
        self.first += self.slots.len() as u64;
        self.slots.clear();
    }

    /// Waits at most `max` for acknowledgements and takes every one received; fails when one
    /// is a refusal, or when the oldest publish waited `ack_timeout`.
    pub(super) async fn wait(&mut self, max: Duration, ack_timeout: Duration) -> Result<(), Fail> {
        let Some(front) = self.slots.front() else { return Ok(()) };
        let left = ack_timeout.saturating_sub(front.sent.elapsed());
        match tokio::time::timeout(max.min(left), self.sub.next()).await {
            Ok(Some(m)) => {
                self.take(&m)?;
                while let Some(Some(m)) = self.sub.next().now_or_never() {
                    self.take(&m)?;
                }
            }
            Ok(None) => return Err(Fail::Closed),
            Err(_) => {}
        }
        match self.slots.front() {
            Some(f) if f.ack.is_none() && f.sent.elapsed() >= ack_timeout => Err(Fail::Timeout),
            _ => Ok(()),
        }
    }

    /// One acknowledgement.
    fn take(&mut self, m: &async_nats::Message) -> Result<(), Fail> {
        let Some(seq) = m.subject.rsplit('.').next().and_then(|s| s.parse::<u64>().ok()) else { return Ok(()) };
        let Some(slot) = seq.checked_sub(self.first).and_then(|i| self.slots.get_mut(i as usize)) else {
            return Ok(());
        };
        if m.status == Some(StatusCode::NO_RESPONDERS) {
            return Err(Fail::NoStream);
        }
        let p = &m.payload[..];
        // {"stream":"PICKET","seq":12[,"duplicate":true]} or {"error":{"code":..,"description":..}}
        if m.status.is_some_and(|s| s != StatusCode::OK) || memchr::memmem::find(p, b"\"error\"").is_some() {
            return Err(Fail::Refused);
        }
        slot.ack = Some(memchr::memmem::find(p, b"\"duplicate\":true").is_some());
        Ok(())
    }

    /// Removes the acknowledged publishes at the front: how many, how many were duplicates,
    /// and the position past the last one.
    pub(super) fn pop_acked(&mut self) -> (u64, u64, Option<Position>) {
        let (mut n, mut dup, mut end) = (0, 0, None);
        while let Some(d) = self.slots.front().and_then(|s| s.ack) {
            if let Some(s) = self.slots.pop_front() {
                end = Some(s.end);
            }
            self.first += 1;
            n += 1;
            dup += d as u64;
        }
        (n, dup, end)
    }
}
