//! MQTT (3.1, 3.1.1 and 5.0 over TCP), after Suricata's `rust/src/mqtt/`. Parsed here rather
//! than with a crate: the maintained MQTT crates (`mqttbytes`, folded into `rumqttc`) are
//! client codecs that reject what Suricata tolerates (unknown properties, a short DISCONNECT,
//! SUBACK codes after properties) and cannot skip an oversized message without buffering it;
//! the wire format is small (a fixed header, length-prefixed fields, MQTT 5 properties).
//!
//! Takes: the in-order bytes of each direction of a flow identified as MQTT (TCP 1883, the
//! first byte a control packet type other than 0 with a QoS below 3).
//! Promises, as Suricata: each message becomes a transaction, except the answers that
//! complete one (CONNACK completes the CONNECT, PUBACK/PUBCOMP the PUBLISH with that message
//! id, SUBACK the SUBSCRIBE, UNSUBACK the UNSUBSCRIBE; PUBREC and PUBREL join it), so a
//! transaction holds one or more messages and is logged once complete (an `mqtt` record with
//! one object per message); its events are Suricata's (`missing_connect`, `invalid_qos_level`,
//! ...). A message over [`MAX_MSG_LEN`] is not read: it is a transaction of its own marked
//! `truncated`, and its bytes are skipped. A malformed message raises `malformed_traffic`
//! and ends parsing of the flow. Frames: `pdu` (a message), `header` (its fixed header),
//! `data` (the rest).
//! Bounded: at most one message ([`MAX_MSG_LEN`] plus its header) buffered per direction,
//! [`MAX_TXS`] open transactions (past that the oldest open one is closed with
//! `too_many_transactions`, and at twice that the oldest is dropped, counted),
//! [`MAX_MSGS`] messages per transaction. Never: panics on input.

mod detect;
mod eve;
mod parser;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use super::identify::ProbeResult;
use super::plugin::TxEvents;
use super::proto::AppProto;
use parser::{Message, Op};

pub use detect::PROTOCOL;

/// Largest message read (Suricata's `mqtt.max-msg-length` default, 1 MiB); longer ones are
/// skipped.
pub const MAX_MSG_LEN: u32 = 1 << 20;
/// Open transactions before the oldest is closed (Suricata's `mqtt.max-tx`).
pub const MAX_TXS: usize = 1024;
/// Messages joined to one transaction (Suricata's `mqtt.max-messages`).
pub const MAX_MSGS: usize = 1024;

/// Suricata's MQTT app-layer events, in its order.
pub const EVENTS: &[&str] = &[
    "missing_connect",
    "missing_publish",
    "missing_subscribe",
    "missing_unsubscribe",
    "double_connect",
    "unintroduced_message",
    "invalid_qos_level",
    "missing_msg_id",
    "unassigned_msg_type",
    "too_many_transactions",
    "malformed_traffic",
    "too_many_messages",
];
const EV_MISSING_CONNECT: u16 = 0;
const EV_MISSING_PUBLISH: u16 = 1;
const EV_MISSING_SUBSCRIBE: u16 = 2;
const EV_MISSING_UNSUBSCRIBE: u16 = 3;
const EV_DOUBLE_CONNECT: u16 = 4;
const EV_UNINTRODUCED: u16 = 5;
const EV_INVALID_QOS: u16 = 6;
const EV_MISSING_MSG_ID: u16 = 7;
const EV_UNASSIGNED: u16 = 8;
const EV_TOO_MANY_TXS: u16 = 9;
const EV_MALFORMED: u16 = 10;
const EV_TOO_MANY_MSGS: u16 = 11;

/// Frame types, in Suricata's order.
pub const FRAMES: &[&str] = &["pdu", "header", "data"];

/// The pseudo message id of a CONNECT waiting for its CONNACK (ids on the wire are 16-bit).
const CONNECT_ID: u32 = u32::MAX;

crate::app_counters! {
    /// MQTT counters.
    pub struct MqttStats {
        /// Messages read.
        messages,
        /// Messages over the length limit, skipped unread.
        truncated,
        /// Flows whose parsing ended at a malformed message.
        malformed,
        /// Transactions dropped unlogged because twice the open limit was held.
        tx_dropped,
    }
}

/// One MQTT transaction: a message and the answers that joined it.
#[derive(Debug)]
pub struct MqttTx {
    id: u64,
    pkt_id: Option<u32>,
    msgs: Vec<Message>,
    complete: bool,
    to_client: bool,
    /// The flow's protocol version when it was made (`mqtt.protocol_version`).
    version: u8,
    events: TxEvents,
}

impl MqttTx {
    fn raise(&mut self, ev: u16, raised: &mut Vec<u16>) {
        if self.events.raise(ev) {
            raised.push(ev);
        }
    }
}

/// Per-flow MQTT state.
#[derive(Debug, Default)]
pub struct MqttState {
    txs: VecDeque<MqttTx>,
    next_id: u64,
    /// The protocol version of the last CONNECT (`mqtt.protocol_version`).
    version: u8,
    connected: bool,
    /// Bytes of an oversized message still to skip, per direction (0: to server).
    skip: [usize; 2],
    /// Bytes of an incomplete message, per direction.
    pending: [Vec<u8>; 2],
    /// Bytes the pending message needs before it is read again (0: unknown).
    need: [usize; 2],
    failed: bool,
    /// Counters since the last hand-over.
    pub(crate) stats: MqttStats,
    /// Events raised since the last hand-over (for the event counters).
    raised: Vec<u16>,
    /// Transactions made since the last hand-over.
    new_txs: u64,
    /// Frames are wanted.
    frames_on: bool,
    /// Frames of the current call: (to server, stream offset, length, type).
    frames: Vec<(bool, u64, u64, u8)>,
}

/// Suricata's probing parser (both directions, TCP 1883): a fixed header whose type is not
/// 0 and whose QoS is not 3.
pub fn probe(d: &[u8]) -> ProbeResult {
    match parser::fixed_header(d) {
        Ok((_, h)) if h.msg_type == 0 || h.qos > 2 => ProbeResult::NotFound,
        Ok(_) => ProbeResult::Found(AppProto::Mqtt),
        Err(parser::Error::Incomplete) => ProbeResult::NeedMore,
        Err(parser::Error::Malformed) => ProbeResult::NotFound,
    }
}

impl MqttState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &MqttTx> {
        self.txs.iter()
    }

    /// Parsing ended at a malformed message.
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn new_tx(&mut self, msg: Message, to_client: bool) -> MqttTx {
        let tx = MqttTx {
            id: self.next_id,
            pkt_id: None,
            msgs: vec![msg],
            complete: false,
            to_client,
            version: self.version,
            events: TxEvents::default(),
        };
        self.next_id += 1;
        self.new_txs += 1;
        if self.txs.len() > MAX_TXS {
            // as Suricata: the oldest open transaction is closed
            if let Some(old) = self.txs.iter_mut().find(|t| !t.complete) {
                old.complete = true;
                old.raise(EV_TOO_MANY_TXS, &mut self.raised);
            }
        }
        if self.txs.len() >= 2 * MAX_TXS {
            self.txs.pop_front();
            self.stats.tx_dropped += 1;
        }
        tx
    }

    fn push(&mut self, mut tx: MqttTx, events: &[u16]) {
        for &e in events {
            tx.raise(e, &mut self.raised);
        }
        self.txs.push_back(tx);
    }

    /// The open transaction waiting for message id `id`.
    fn by_pkt_id(&mut self, id: u32) -> Option<&mut MqttTx> {
        self.txs.iter_mut().find(|t| !t.complete && t.pkt_id == Some(id))
    }

    /// A message that answers nothing open: a transaction of its own with `missing`.
    fn orphan(&mut self, msg: Message, to_client: bool, missing: u16) {
        let mut tx = self.new_tx(msg, to_client);
        tx.complete = true;
        let unintro = if self.connected { None } else { Some(EV_UNINTRODUCED) };
        let evs: Vec<u16> = std::iter::once(missing).chain(unintro).collect();
        self.push(tx, &evs);
    }

    /// An answer: joins the open transaction with its id (`completes`: and closes it), or
    /// becomes an orphan.
    fn answer(&mut self, msg: Message, to_client: bool, id: u32, completes: bool, missing: u16) {
        let mut raised = std::mem::take(&mut self.raised);
        let joined = match self.by_pkt_id(id) {
            Some(tx) if completes => {
                tx.msgs.push(msg);
                tx.complete = true;
                tx.pkt_id = None;
                None
            }
            Some(tx) => {
                if tx.msgs.len() >= MAX_MSGS {
                    tx.raise(EV_TOO_MANY_MSGS, &mut raised);
                } else {
                    tx.msgs.push(msg);
                }
                None
            }
            None => Some(msg),
        };
        self.raised = raised;
        if let Some(msg) = joined {
            if id == CONNECT_ID {
                let mut tx = self.new_tx(msg, to_client);
                tx.complete = true;
                self.push(tx, &[missing]);
            } else {
                self.orphan(msg, to_client, missing);
            }
        }
    }

    /// A request that waits for an answer with `pkt_id` when its QoS asks for one.
    fn request(&mut self, msg: Message, to_client: bool, pkt_id: Option<u16>) {
        let qos = msg.header.qos;
        let mut tx = self.new_tx(msg, to_client);
        let mut evs = Vec::new();
        match qos {
            0 => tx.complete = true,
            1 | 2 => match pkt_id {
                Some(id) => tx.pkt_id = Some(u32::from(id)),
                None => evs.push(EV_MISSING_MSG_ID),
            },
            _ => evs.push(EV_INVALID_QOS),
        }
        if !self.connected {
            evs.push(EV_UNINTRODUCED);
        }
        self.push(tx, &evs);
    }

    /// Suricata's `handle_msg`.
    fn handle(&mut self, msg: Message, to_client: bool) {
        self.stats.messages += 1;
        let id16 = |m: &parser::MsgId| u32::from(m.message_id);
        match &msg.op {
            Op::Connect(c) => {
                self.version = c.protocol_version;
                let mut tx = self.new_tx(msg, to_client);
                tx.pkt_id = Some(CONNECT_ID);
                let evs: &[u16] = if self.connected { &[EV_DOUBLE_CONNECT] } else { &[] };
                self.push(tx, evs);
            }
            Op::Publish(p) => {
                let id = p.message_id;
                self.request(msg, to_client, id);
            }
            Op::Subscribe(s) | Op::Unsubscribe(s) => {
                let id = Some(s.message_id);
                self.request(msg, to_client, id);
            }
            Op::Connack(_) => {
                let known = self.by_pkt_id(CONNECT_ID).is_some();
                self.answer(msg, to_client, CONNECT_ID, true, EV_MISSING_CONNECT);
                if known {
                    self.connected = true;
                }
            }
            Op::Pubrec(m) | Op::Pubrel(m) => {
                let id = id16(m);
                self.answer(msg, to_client, id, false, EV_MISSING_PUBLISH);
            }
            Op::Puback(m) | Op::Pubcomp(m) => {
                let id = id16(m);
                self.answer(msg, to_client, id, true, EV_MISSING_PUBLISH);
            }
            Op::Suback(a) => {
                let id = u32::from(a.message_id);
                self.answer(msg, to_client, id, true, EV_MISSING_SUBSCRIBE);
            }
            Op::Unsuback(a) => {
                let id = u32::from(a.message_id);
                self.answer(msg, to_client, id, true, EV_MISSING_UNSUBSCRIBE);
            }
            Op::Unassigned => {
                let mut tx = self.new_tx(msg, to_client);
                tx.complete = true;
                self.push(tx, &[EV_UNASSIGNED]);
            }
            Op::Truncated { .. } => {
                let mut tx = self.new_tx(msg, to_client);
                tx.complete = true;
                self.push(tx, &[]);
            }
            Op::Auth(_) | Op::Disconnect(_) | Op::Pingreq | Op::Pingresp => {
                let mut tx = self.new_tx(msg, to_client);
                tx.complete = true;
                let evs: &[u16] = if self.connected { &[] } else { &[EV_UNINTRODUCED] };
                self.push(tx, evs);
            }
        }
    }

    /// A transaction without a message carrying `event` (Suricata's `set_event_notx`).
    fn event_notx(&mut self, event: u16, to_client: bool) {
        let mut tx = MqttTx {
            id: self.next_id,
            pkt_id: None,
            msgs: Vec::new(),
            complete: true,
            to_client,
            version: self.version,
            events: TxEvents::default(),
        };
        self.next_id += 1;
        self.new_txs += 1;
        tx.raise(event, &mut self.raised);
        self.txs.push_back(tx);
    }

    fn frame(&mut self, to_server: bool, at: u64, m: &Message, used: usize) {
        if !self.frames_on {
            return;
        }
        let size = m.header.size as u64;
        self.frames.push((to_server, at, used as u64, 0));
        self.frames.push((to_server, at, size, 1));
        self.frames.push((to_server, at + size, u64::from(m.header.remaining), 2));
    }

    /// Reads the messages of `buf` (its first byte at stream offset `at`); returns the bytes
    /// used (the rest is an incomplete message) and whether parsing must stop.
    fn messages(&mut self, to_server: bool, buf: &[u8], at: u64) -> (usize, bool) {
        let d = usize::from(!to_server);
        let mut pos = 0;
        while let Some(rest) = buf.get(pos..).filter(|r| !r.is_empty()) {
            match parser::message(rest, self.version, MAX_MSG_LEN) {
                Ok((msg, _)) if matches!(msg.op, Op::Truncated { .. }) => {
                    let skip = match msg.op {
                        Op::Truncated { skip } => skip,
                        _ => 0,
                    };
                    self.stats.truncated += 1;
                    // as Suricata: a truncated message is a to-client transaction whatever
                    // its direction
                    self.handle(msg, true);
                    if skip >= rest.len() {
                        // In bounds: d is 0 or 1.
                        self.skip[d] = skip - rest.len();
                        return (buf.len(), false);
                    }
                    pos += skip;
                }
                Ok((msg, used)) => {
                    self.frame(to_server, at + pos as u64, &msg, used);
                    self.handle(msg, !to_server);
                    pos += used.max(1);
                }
                Err(parser::Error::Incomplete) => {
                    // In bounds: d is 0 or 1.
                    self.need[d] = match parser::fixed_header(rest) {
                        Ok((_, h)) => h.size + h.remaining as usize,
                        Err(_) => 0,
                    };
                    return (pos, false);
                }
                Err(parser::Error::Malformed) => {
                    self.event_notx(EV_MALFORMED, !to_server);
                    self.stats.malformed += 1;
                    return (pos, true);
                }
            }
        }
        (pos, false)
    }

    /// Feeds in-order bytes of one direction whose first byte is at stream offset `at`.
    pub fn parse_at(&mut self, to_server: bool, data: &[u8], at: u64) {
        let d = usize::from(!to_server);
        if self.failed || data.is_empty() {
            return;
        }
        let (mut data, mut at) = (data, at);
        // In bounds: d is 0 or 1 for every per-direction array.
        if self.skip[d] > 0 {
            if data.len() <= self.skip[d] {
                self.skip[d] -= data.len();
                return;
            }
            let n = self.skip[d];
            self.skip[d] = 0;
            data = data.get(n..).unwrap_or(&[]);
            at += n as u64;
        }
        if self.pending[d].is_empty() {
            let (used, stop) = self.messages(to_server, data, at);
            self.failed = stop;
            if !stop {
                self.pending[d] = data.get(used..).unwrap_or(&[]).to_vec();
            }
            return;
        }
        let mut buf = std::mem::take(&mut self.pending[d]);
        let base = at.saturating_sub(buf.len() as u64);
        buf.extend_from_slice(data);
        if self.need[d] > buf.len() {
            self.pending[d] = buf;
            return;
        }
        let (used, stop) = self.messages(to_server, &buf, base);
        self.failed = stop;
        if !stop {
            buf.drain(..used.min(buf.len()));
            self.pending[d] = buf;
        }
    }

    /// [`MqttState::parse_at`] from stream offset 0.
    pub fn parse(&mut self, to_server: bool, data: &[u8]) {
        self.parse_at(to_server, data, 0);
    }

    /// Frees, oldest first, the complete transactions nobody needs: those `done` says so of,
    /// and (being one-way, inspected with one direction only) those with
    /// [`KEEP_ONE_WAY`](crate::app::txs::KEEP_ONE_WAY) newer ones behind them (their record
    /// is written once complete, before anything is freed).
    fn free(&mut self, done: &dyn Fn(u64) -> bool) -> Option<u64> {
        let mut freed = false;
        let keep = crate::app::txs::KEEP_ONE_WAY;
        while self.txs.front().is_some_and(|t| t.complete && (done(t.id) || self.txs.len() > keep)) {
            self.txs.pop_front();
            freed = true;
        }
        freed.then(|| self.txs.front().map_or(self.next_id, |t| t.id))
    }
}
