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
//!
//! A duplicate is taken as stored only with the stream sequence of the message JetStream holds.
//! nats-server before 2.11 (Debian 12 ships 2.9.10) records a message id when its leader
//! *proposes* the message, with sequence 0 until the message is stored; when a leader election
//! drops the proposal, every re-send of that id is answered `"duplicate": true` with `"seq":0`
//! until the duplicate window ends, though the stream never stored it (fixed upstream by
//! nats-server PRs 6415 and 6486). Such an answer fails the window ([`Fail::Unconfirmed`]): the
//! message is sent again, and the forwarder gives it a new id if the answer does not change.

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
    /// JetStream answered "duplicate" without the sequence of a stored message (see the
    /// module's doc): the message starting at this position may not be in the stream.
    Unconfirmed { first: Position, events: u64 },
}

struct Slot {
    /// Position of the message's first line.
    first: Position,
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

    fn push(&mut self, first: Position, end: Position, events: u64, sent: Instant) {
        self.slots.push_back(Slot { first, end, events, sent, ack: None });
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
        let duplicate = json_value(payload, b"duplicate").is_some_and(|v| v.starts_with(b"true"));
        if duplicate && json_u64(payload, b"seq").unwrap_or(0) == 0 {
            return Err(Fail::Unconfirmed { first: slot.first, events: slot.events });
        }
        slot.ack = Some(duplicate);
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

/// The bytes after `"key":` in a flat JSON object (spaces around the colon allowed; nats-server
/// writes `"duplicate": true` on some paths and `"duplicate":true` on others).
fn json_value<'a>(payload: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&payload[from..], key) {
        let at = from + i;
        from = at + key.len();
        if at == 0 || payload[at - 1] != b'"' || payload.get(from) != Some(&b'"') {
            continue;
        }
        let rest = payload[from + 1..].trim_ascii_start();
        if let Some(v) = rest.strip_prefix(b":") {
            return Some(v.trim_ascii_start());
        }
    }
    None
}

/// The unsigned integer after `"key":`, if there is one.
fn json_u64(payload: &[u8], key: &[u8]) -> Option<u64> {
    let v = json_value(payload, key)?;
    let n = v.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&v[..n]).ok()?.parse().ok()
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

    /// The next publish was sent: `events` lines from `first`, `end` the position past the last.
    pub(super) fn push(&mut self, first: Position, end: Position, events: u64) {
        self.inflight.push(first, end, events, Instant::now());
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
            w.push(pos(100 * i), pos(100 * (i + 1)), 1, Instant::now());
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
        w.push(pos(0), pos(100), 1, Instant::now());
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
    fn a_duplicate_is_stored_only_with_a_sequence() {
        let mut w = window(4);
        // nats-server 2.9's clustered answer has a space after the colon.
        w.ack(0, None, br#"{"stream":"PICKET","seq":7,"duplicate": true}"#).unwrap();
        w.ack(1, None, br#"{"stream":"PICKET", "seq": 8 , "duplicate" : true }"#).unwrap();
        assert_eq!(w.pop_acked(), (2, 2, Some(pos(200))), "both counted as duplicates");
        // A duplicate without a stored sequence: its proposal may have been dropped.
        for zero in
            [&br#"{"stream":"PICKET","seq":0,"duplicate": true}"#[..], br#"{"stream":"PICKET","duplicate":true}"#]
        {
            match w.ack(2, None, zero) {
                Err(Fail::Unconfirmed { first, events }) => assert_eq!((first, events), (pos(200), 1)),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(w.pop_acked(), (0, 0, None), "not acknowledged");
        // A stream or subject named like a key does not fool the parser.
        w.ack(2, None, br#"{"stream":"duplicate","seq":9}"#).unwrap();
        w.ack(3, None, br#"{"stream":"seq","seq":10,"duplicate":false}"#).unwrap();
        assert_eq!(w.pop_acked(), (2, 0, Some(pos(400))));
    }

    #[test]
    fn the_oldest_unacknowledged_publish_times_out() {
        let mut w = InFlight { slots: VecDeque::new(), first: 0, events: 0 };
        let long_ago = Instant::now().checked_sub(Duration::from_secs(10)).unwrap();
        w.push(pos(0), pos(1), 1, long_ago);
        w.push(pos(1), pos(2), 1, Instant::now());
        assert!(w.timed_out(Duration::from_secs(5)));
        w.ack(0, None, OK).unwrap();
        assert!(!w.timed_out(Duration::from_secs(5)), "an acknowledged front does not time out");
        w.pop_acked();
        assert!(!w.timed_out(Duration::from_secs(5)));
    }

    #[test]
    fn messages_count_their_events() {
        let mut w = InFlight { slots: VecDeque::new(), first: 0, events: 0 };
        w.push(pos(0), pos(10), 64, Instant::now());
        w.push(pos(10), pos(20), 3, Instant::now());
        w.push(pos(20), pos(30), 5, Instant::now());
        assert_eq!(w.events, 72);
        w.ack(0, None, DUP).unwrap();
        w.ack(1, None, OK).unwrap();
        assert_eq!(w.pop_acked(), (67, 64, Some(pos(20))));
        assert_eq!(w.events, 5);
        w.clear();
        assert_eq!(w.events, 0);
    }
}
