//! The forwarder's window: publishes awaiting JetStream's acknowledgement, all acknowledged
//! through one subscription.
//!
//! Each publish carries the reply subject `<inbox>.<seq>`, `seq` counting up for the
//! forwarder's life (never reused), and JetStream answers there with its acknowledgement. One
//! wake-up takes every acknowledgement already received, in whatever order they came; the
//! window's front moves past the acknowledged ones in queue order. An acknowledgement of a seq
//! no longer in the window (a window given up and re-sent) is ignored. Compared with a request
//! per publish this costs no channel, timer or boxed future per message: the forwarder's CPU per
//! message is its payload, its subject and its message id. A message carries one or more events
//! (`batch.rs`); the window counts both.

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
    /// Position just past the message's last line.
    end: Position,
    /// Events (lines) the message carries.
    events: u64,
    sent: Instant,
    /// Once acknowledged: whether JetStream had it already (a duplicate).
    ack: Option<bool>,
}

/// The bookkeeping of the publishes in flight, apart from the subscription (unit-tested).
struct InFlight {
    slots: VecDeque<Slot>,
    /// Seq of `slots[0]`.
    first: u64,
    /// Events of the slots.
    events: u64,
}

impl InFlight {
    /// The seq the next publish gets.
    fn next_seq(&self) -> u64 {
        self.first + self.slots.len() as u64
    }

    fn push(&mut self, end: Position, events: u64, sent: Instant) {
        self.slots.push_back(Slot { end, events, sent, ack: None });
        self.events += events;
    }

    fn clear(&mut self) {
        self.first += self.slots.len() as u64;
        self.slots.clear();
        self.events = 0;
    }

    /// JetStream's answer to publish `seq`: its status and payload. A seq no longer in the
    /// window (given up) is ignored.
    fn ack(&mut self, seq: u64, status: Option<StatusCode>, payload: &[u8]) -> Result<(), Fail> {
        let Some(slot) = seq.checked_sub(self.first).and_then(|i| self.slots.get_mut(i as usize)) else {
            return Ok(());
        };
        if status == Some(StatusCode::NO_RESPONDERS) {
            return Err(Fail::NoStream);
        }
        // {"stream":"PICKET","seq":12[,"duplicate":true]} or {"error":{"code":..,"description":..}}
        if status.is_some_and(|s| s != StatusCode::OK) || memchr::memmem::find(payload, b"\"error\"").is_some() {
            return Err(Fail::Refused);
        }
        slot.ack = Some(memchr::memmem::find(payload, b"\"duplicate\":true").is_some());
        Ok(())
    }

    /// Whether the oldest publish is unacknowledged since `ack_timeout` or longer.
    fn timed_out(&self, ack_timeout: Duration) -> bool {
        self.slots.front().is_some_and(|f| f.ack.is_none() && f.sent.elapsed() >= ack_timeout)
    }

    fn pop_acked(&mut self) -> (u64, u64, Option<Position>) {
        let (mut n, mut dup, mut end) = (0, 0, None);
        while let Some(d) = self.slots.front().and_then(|s| s.ack) {
            if let Some(s) = self.slots.pop_front() {
                end = Some(s.end);
                n += s.events;
                dup += if d { s.events } else { 0 };
                self.events -= s.events;
            }
            self.first += 1;
        }
        (n, dup, end)
    }
}

/// Publishes in flight, in queue order.
pub(super) struct Window {
    inbox: String,
    sub: Subscriber,
    inflight: InFlight,
}

impl Window {
    /// Subscribes to the acknowledgements of a new window.
    pub(super) async fn open(client: &async_nats::Client, capacity: usize) -> anyhow::Result<Window> {
        let inbox = client.new_inbox();
        let sub = client
            .subscribe(format!("{inbox}.*"))
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe to the acknowledgements: {e}"))?;
        Ok(Window { inbox, sub, inflight: InFlight { slots: VecDeque::with_capacity(capacity), first: 0, events: 0 } })
    }

    /// Events of the messages in flight.
    pub(super) fn events(&self) -> u64 {
        self.inflight.events
    }

    pub(super) fn is_empty(&self) -> bool {
        self.inflight.slots.is_empty()
    }

    /// The reply subject of the next publish.
    pub(super) fn next_reply(&self) -> Subject {
        Subject::from(format!("{}.{}", self.inbox, self.inflight.next_seq()))
    }

    /// The next publish was sent: `events` lines, `end` the position past the last one.
    pub(super) fn push(&mut self, end: Position, events: u64) {
        self.inflight.push(end, events, Instant::now());
    }

    /// Gives up every publish in flight (their late acknowledgements are ignored).
    pub(super) fn clear(&mut self) {
        self.inflight.clear();
    }

    /// Waits at most `max` for acknowledgements and takes every one received; fails when one
    /// is a refusal, or when the oldest publish waited `ack_timeout`.
    pub(super) async fn wait(&mut self, max: Duration, ack_timeout: Duration) -> Result<(), Fail> {
        let Some(front) = self.inflight.slots.front() else { return Ok(()) };
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
        if self.inflight.timed_out(ack_timeout) {
            return Err(Fail::Timeout);
        }
        Ok(())
    }

    /// One acknowledgement: its seq is the last token of its subject.
    fn take(&mut self, m: &async_nats::Message) -> Result<(), Fail> {
        let Some(seq) = m.subject.rsplit('.').next().and_then(|s| s.parse::<u64>().ok()) else { return Ok(()) };
        self.inflight.ack(seq, m.status, &m.payload)
    }

    /// Removes the acknowledged publishes at the front: how many events they carry, how many
    /// of those were in duplicates, and the position past the last one.
    pub(super) fn pop_acked(&mut self) -> (u64, u64, Option<Position>) {
        self.inflight.pop_acked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(n: u64) -> Position {
        Position { segment: 1, offset: n }
    }

    fn window(n: u64) -> InFlight {
        let mut w = InFlight { slots: VecDeque::new(), first: 0, events: 0 };
        for i in 0..n {
            assert_eq!(w.next_seq(), i);
            w.push(pos(100 * (i + 1)), 1, Instant::now());
        }
        w
    }

    const OK: &[u8] = br#"{"stream":"PICKET","seq":7}"#;
    const DUP: &[u8] = br#"{"stream":"PICKET","seq":7,"duplicate":true}"#;

    #[test]
    fn front_moves_in_queue_order_whatever_the_order_of_acknowledgements() {
        let mut w = window(4);
        w.ack(2, None, OK).unwrap();
        w.ack(1, None, DUP).unwrap();
        // The oldest is not acknowledged: nothing moves.
        assert_eq!(w.pop_acked(), (0, 0, None));
        w.ack(0, None, OK).unwrap();
        assert_eq!(w.pop_acked(), (3, 1, Some(pos(300))));
        assert_eq!((w.slots.len(), w.next_seq()), (1, 4));
        w.ack(3, Some(StatusCode::OK), OK).unwrap();
        assert_eq!(w.pop_acked(), (1, 0, Some(pos(400))));
        assert!(w.slots.is_empty());
    }

    #[test]
    fn acknowledgements_of_a_given_up_window_are_ignored() {
        let mut w = window(3);
        w.clear();
        assert_eq!(w.next_seq(), 3, "seqs are never reused");
        w.push(pos(100), 1, Instant::now());
        // Late answers to seqs 0-2, and one from the future, change nothing.
        for seq in [0, 1, 2, 9] {
            w.ack(seq, None, OK).unwrap();
        }
        assert_eq!(w.pop_acked(), (0, 0, None));
        w.ack(3, None, OK).unwrap();
        assert_eq!(w.pop_acked(), (1, 0, Some(pos(100))));
    }

    #[test]
    fn refusals_fail_the_window() {
        let mut w = window(2);
        assert!(matches!(w.ack(0, Some(StatusCode::NO_RESPONDERS), b""), Err(Fail::NoStream)));
        let err = br#"{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}"#;
        assert!(matches!(w.ack(0, None, err), Err(Fail::Refused)));
        assert!(matches!(w.ack(1, Some(StatusCode::TIMEOUT), b""), Err(Fail::Refused)));
        assert_eq!(w.pop_acked(), (0, 0, None));
    }

    #[test]
    fn the_oldest_unacknowledged_publish_times_out() {
        let mut w = InFlight { slots: VecDeque::new(), first: 0, events: 0 };
        let long_ago = Instant::now().checked_sub(Duration::from_secs(10)).unwrap();
        w.push(pos(1), 1, long_ago);
        w.push(pos(2), 1, Instant::now());
        assert!(w.timed_out(Duration::from_secs(5)));
        w.ack(0, None, OK).unwrap();
        assert!(!w.timed_out(Duration::from_secs(5)), "an acknowledged front does not time out");
        w.pop_acked();
        assert!(!w.timed_out(Duration::from_secs(5)));
    }

    #[test]
    fn messages_count_their_events() {
        let mut w = InFlight { slots: VecDeque::new(), first: 0, events: 0 };
        w.push(pos(10), 64, Instant::now());
        w.push(pos(20), 3, Instant::now());
        w.push(pos(30), 5, Instant::now());
        assert_eq!(w.events, 72);
        w.ack(0, None, DUP).unwrap();
        w.ack(1, None, OK).unwrap();
        assert_eq!(w.pop_acked(), (67, 64, Some(pos(20))));
        assert_eq!(w.events, 5);
        w.clear();
        assert_eq!(w.events, 0);
    }
}
