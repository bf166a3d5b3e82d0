//! SIP over UDP and TCP, after Suricata's `rust/src/sip/`: each request or response is a
//! one-way transaction with its start line, its headers (compact forms expanded: `f` From,
//! `t` To, `v` Via, `l` Content-Length, ...) and its body.
//!
//! Takes: one datagram per call (UDP), or the in-order bytes of a TCP direction. Promises:
//! the start line and headers are read with Suricata's character classes (a header value
//! with a byte outside them makes the message invalid, as in Suricata; folded lines stay in
//! the value); over TCP a message ends after its headers and `Content-Length` bytes of body.
//! Bounded: [`MAX_TXS`] transactions per flow, [`MAX_MESSAGE`] bytes of a TCP message
//! buffered (past that the direction is abandoned, counted), [`MAX_HEADERS`] headers kept per
//! message. Never: panics on message bytes.

mod detect;
mod parser;
mod sdp;
#[cfg(test)]
mod tests;

use super::identify::ProbeResult;
use super::proto::AppProto;
use super::txs::TxList;

pub use detect::PROTOCOL;
pub use parser::{parse_message, Message, StartLine};

/// Transactions kept per flow.
pub const MAX_TXS: usize = 64;
/// Largest TCP message buffered.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Headers kept per message.
pub const MAX_HEADERS: usize = 128;

/// App-layer events, as Suricata names them.
pub const EVENTS: &[&str] = &["invalid_data"];
const EV_INVALID: u16 = 0;

/// One SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipTx {
    id: u64,
    to_server: bool,
    /// The message.
    pub msg: Message,
    events: Vec<u16>,
}

crate::app_counters! {
    /// SIP counters.
    pub struct SipStats {
        /// Messages that became a transaction.
        messages,
        /// Messages that did not parse.
        invalid,
        /// TCP directions abandoned (invalid message or one over [`MAX_MESSAGE`]).
        tcp_abandoned,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
    }
}

/// The to-server methods whose pattern Suricata confirms with its probing parser (a `SIP/`
/// somewhere in the data).
const PROBED_METHODS: [&[u8]; 6] = [b"ACK", b"INFO", b"NOTIFY", b"SUBSCRIBE", b"OPTIONS", b"UPDATE"];
/// The to-server methods that name SIP by themselves.
const METHODS: [&[u8]; 8] = [b"REGISTER", b"INVITE", b"BYE", b"CANCEL", b"REFER", b"PRACK", b"PUBLISH", b"MESSAGE"];

/// Suricata's SIP patterns (any port, UDP and TCP): a method at the start of a to-server
/// message, `SIP/2.0` at the start of a to-client one.
pub fn pattern(to_server: bool, d: &[u8]) -> ProbeResult {
    let mut pending = false;
    let mut check = |p: &[u8]| -> bool {
        let n = d.len().min(p.len());
        if d.get(..n) != p.get(..n) {
            return false;
        }
        if d.len() < p.len() {
            pending = true;
            return false;
        }
        true
    };
    if to_server {
        if METHODS.iter().any(|m| check(m)) {
            return ProbeResult::Found(AppProto::Sip);
        }
        if PROBED_METHODS.iter().any(|m| check(m)) {
            let window = d.get(..d.len().min(65536)).unwrap_or(d);
            if memchr::memmem::find(window, b"SIP/").is_some() {
                return ProbeResult::Found(AppProto::Sip);
            }
            pending = true;
        }
    } else if check(b"SIP/2.0") {
        return ProbeResult::Found(AppProto::Sip);
    }
    if pending {
        ProbeResult::NeedMore
    } else {
        ProbeResult::NotFound
    }
}

/// Per-flow SIP state.
#[derive(Debug)]
pub struct SipState {
    txs: TxList<SipTx>,
    tcp: [Vec<u8>; 2],
    tcp_failed: [bool; 2],
    /// Counters.
    pub stats: SipStats,
    /// Frames are wanted: messages parsed are listed in `frames`.
    pub frames_on: bool,
    /// Frames of the current call: (direction, stream offset, length, type, transaction).
    pub frames: Vec<(bool, u64, u64, u8, Option<u64>)>,
}

/// Frame types (rows of the descriptor's `frames`), in Suricata's order.
pub const FRAMES: &[&str] =
    &["pdu", "request.line", "response.line", "request.headers", "response.headers", "request.body", "response.body"];

impl Default for SipState {
    fn default() -> Self {
        SipState {
            txs: TxList::new(MAX_TXS),
            tcp: Default::default(),
            tcp_failed: [false; 2],
            stats: SipStats::default(),
            frames_on: false,
            frames: Vec::new(),
        }
    }
}

impl SipState {
    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &SipTx> {
        self.txs.iter()
    }

    fn invalid(&mut self) {
        self.stats.invalid += 1;
        self.txs.raise_on_last(EV_INVALID, |t| &mut t.events);
    }

    /// Lists the frames of a message at stream offset `at`: its start line, headers and body
    /// (of its transaction `tx`).
    fn message_frames(&mut self, to_server: bool, at: u64, m: &Message, tx: u64) {
        if !self.frames_on {
            return;
        }
        let [line, headers, body_off] = m.spans.map(u64::from);
        let k = u8::from(!to_server);
        self.frames.push((to_server, at, line, 1 + k, Some(tx)));
        self.frames.push((to_server, at + line, headers, 3 + k, Some(tx)));
        if !m.body.is_empty() {
            self.frames.push((to_server, at + body_off, m.body.len() as u64, 5 + k, Some(tx)));
        }
    }

    fn push(&mut self, to_server: bool, msg: Message) {
        let tx = SipTx { id: self.txs.next_id(), to_server, msg, events: Vec::new() };
        self.stats.messages += 1;
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
    }

    /// Parses one datagram (a whole message; its body is the rest of the datagram).
    pub fn parse_udp(&mut self, to_server: bool, d: &[u8]) -> bool {
        self.parse_udp_at(to_server, d, 0)
    }

    /// [`SipState::parse_udp`] of a datagram at stream offset `at` (for frames).
    pub fn parse_udp_at(&mut self, to_server: bool, d: &[u8], at: u64) -> bool {
        if self.frames_on {
            self.frames.push((to_server, at, d.len() as u64, 0, None));
        }
        match parse_message(to_server, d, true) {
            Ok(Some((m, _))) => {
                self.message_frames(to_server, at, &m, self.txs.next_id());
                self.push(to_server, m);
                true
            }
            _ => {
                self.invalid();
                false
            }
        }
    }

    /// Feeds in-order TCP bytes of one direction.
    pub fn parse_tcp(&mut self, to_server: bool, data: &[u8]) {
        self.parse_tcp_at(to_server, data, 0);
    }

    /// [`SipState::parse_tcp`] of bytes at stream offset `at` (for frames).
    pub fn parse_tcp_at(&mut self, to_server: bool, data: &[u8], at: u64) {
        let di = usize::from(!to_server);
        // In bounds: di is 0 or 1 and both arrays have two entries.
        if self.tcp_failed[di] {
            return;
        }
        let mut buf = std::mem::take(&mut self.tcp[di]);
        let base = at.saturating_sub(buf.len() as u64);
        buf.extend_from_slice(data);
        let mut start = 0;
        loop {
            let rest = buf.get(start..).unwrap_or(&[]);
            if rest.is_empty() {
                break;
            }
            match parse_message(to_server, rest, false) {
                Ok(Some((m, used))) => {
                    let (off, tx) = (base + start as u64, self.txs.next_id());
                    if self.frames_on {
                        self.frames.push((to_server, off, used as u64, 0, Some(tx)));
                    }
                    self.message_frames(to_server, off, &m, tx);
                    self.push(to_server, m);
                    start += used.max(1);
                }
                Ok(None) => break,
                Err(()) => {
                    self.invalid();
                    self.tcp_failed[di] = true;
                    self.stats.tcp_abandoned += 1;
                    return;
                }
            }
        }
        buf.drain(..start.min(buf.len()));
        if buf.len() > MAX_MESSAGE {
            self.tcp_failed[di] = true;
            self.stats.tcp_abandoned += 1;
            return;
        }
        self.tcp[di] = buf;
    }
}
