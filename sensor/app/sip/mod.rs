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
}

impl Default for SipState {
    fn default() -> Self {
        SipState {
            txs: TxList::new(MAX_TXS),
            tcp: Default::default(),
            tcp_failed: [false; 2],
            stats: SipStats::default(),
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
        if let Some(t) = self.txs.last_mut() {
            if !t.events.contains(&EV_INVALID) {
                t.events.push(EV_INVALID);
            }
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
        match parse_message(to_server, d, true) {
            Ok(Some((m, _))) => {
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
        let di = usize::from(!to_server);
        // In bounds: di is 0 or 1 and both arrays have two entries.
        if self.tcp_failed[di] {
            return;
        }
        let mut buf = std::mem::take(&mut self.tcp[di]);
        buf.extend_from_slice(data);
        let mut start = 0;
        loop {
            let rest = buf.get(start..).unwrap_or(&[]);
            if rest.is_empty() {
                break;
            }
            match parse_message(to_server, rest, false) {
                Ok(Some((m, used))) => {
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
