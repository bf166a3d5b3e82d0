//! LDAP (RFC 4511) over TCP and UDP, after Suricata's `rust/src/ldap/`. Messages are decoded
//! by rusticata's `ldap-parser` (the crate Suricata uses, so operations, filters and result
//! codes read as Suricata reads them); this module frames them, checks their nesting depth
//! first (the crate recurses once per nested filter) and keeps the transactions.
//!
//! Takes: the in-order bytes of each direction of a TCP flow, or the datagrams of a UDP flow,
//! identified as LDAP (ports 389 and 3268, the first bytes a whole LDAPMessage, [`probe`]).
//! Promises, as Suricata: each request is a transaction; a response joins the transaction of
//! the request with its message id (a search's entries, references and its done all join
//! it); a transaction is complete with an unbind or abandon request, or with the response
//! that ends its operation (search done, bind, modify, add, delete, moddn, compare, extended),
//! and logged then (an `ldap` record: the request and its responses), or at flow end. A
//! response whose request is unknown is a transaction of its own (`request_not_found`, except
//! an extended response: an unsolicited notification). A message that does not decode raises
//! `invalid_data` and ends parsing of the flow (its transactions are then complete, as
//! Suricata's end of stream); after a gap the next bytes must start a whole message. A
//! successful answer to a StartTLS request hands the flow to TLS. Frames: `pdu` (a message).
//! Bounded: a message over [`MAX_MSG_LEN`] or nested deeper than [`MAX_DEPTH`] is invalid (one
//! message buffered per direction); [`MAX_TXS`] open transactions (past that they are closed
//! with `too_many_transactions` and parsing ends), [`MAX_RESPONSES`] responses per
//! transaction (then `too_many_responses`, the rest counted and dropped). Never: panics on
//! input.

mod detect;
mod eve;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use ldap_parser::asn1_rs::ToStatic;
use ldap_parser::ldap::{LdapMessage, ProtocolOp};
use ldap_parser::FromBer;

use super::ber::ber_header;
use super::identify::ProbeResult;
use super::plugin::TxEvents;
use super::proto::AppProto;

pub use detect::PROTOCOL;

/// Longest message read (Suricata has no limit but the stream's depth); longer ones are
/// invalid.
pub const MAX_MSG_LEN: usize = 1 << 20;
/// Deepest nesting of constructed BER values in a message: filters nest (`and`, `or`, `not`)
/// and the decoder recurses once per level; real filters stay under ten levels, test traffic
/// goes to a few hundred (Suricata decodes those), and 512 levels take well under the
/// worker's stack (a test decodes them on a quarter of it).
pub const MAX_DEPTH: usize = 512;
/// Transactions held before new ones are refused (Suricata's `ldap.max-tx` default).
pub const MAX_TXS: usize = 256;
/// Responses kept per transaction (Suricata's `ldap.max-responses` default).
pub const MAX_RESPONSES: usize = 1024;

/// Suricata's LDAP app-layer events, in its order.
pub const EVENTS: &[&str] =
    &["too_many_transactions", "invalid_data", "request_not_found", "incomplete_data", "too_many_responses"];
const EV_TOO_MANY_TXS: u16 = 0;
const EV_INVALID: u16 = 1;
const EV_REQUEST_NOT_FOUND: u16 = 2;
const EV_INCOMPLETE: u16 = 3;
const EV_TOO_MANY_RESPONSES: u16 = 4;

/// Frame types, in Suricata's order.
pub const FRAMES: &[&str] = &["pdu"];

/// The StartTLS extended operation (RFC 4511 section 4.14).
const STARTTLS_OID: &str = "1.3.6.1.4.1.1466.20037";

crate::app_counters! {
    /// LDAP counters.
    pub struct LdapStats {
        /// Messages decoded.
        messages,
        /// Flows whose parsing ended at a message that did not decode (or a datagram cut short).
        invalid,
        /// Messages refused for their length or nesting depth (counted in `invalid` too).
        oversized,
        /// Responses dropped because their transaction held the most kept.
        responses_dropped,
        /// Messages not kept because the transaction limit was reached (parsing ended).
        tx_refused,
        /// Flows handed over to TLS by StartTLS.
        starttls,
    }
}

/// One LDAP transaction: a request and its responses.
#[derive(Debug)]
pub struct LdapTx {
    id: u64,
    request: Option<LdapMessage<'static>>,
    responses: Vec<LdapMessage<'static>>,
    complete: bool,
    events: TxEvents,
}

/// Per-flow LDAP state.
#[derive(Debug, Default)]
pub struct LdapState {
    txs: VecDeque<LdapTx>,
    next_id: u64,
    /// Bytes of an incomplete message, per direction (0: to server).
    pending: [Vec<u8>; 2],
    /// Bytes the pending message needs before it is decoded.
    need: [usize; 2],
    /// A gap was seen: the next bytes must decode as a message.
    gap: [bool; 2],
    /// A StartTLS request waits for its answer.
    starttls_asked: bool,
    /// Bytes after the accepted StartTLS answer in the last call (the flow is TLS now).
    pub(crate) upgrade: Option<usize>,
    /// The flow runs over UDP.
    udp: bool,
    /// Parsing ended (an invalid message, too many transactions, StartTLS).
    failed: bool,
    /// Every transaction is complete from now on (Suricata's end of stream after an error).
    eof: bool,
    /// Counters since the last hand-over.
    pub(crate) stats: LdapStats,
    /// Events raised since the last hand-over (for the event counters).
    raised: Vec<u16>,
    /// Transactions made since the last hand-over.
    new_txs: u64,
    /// Frames are wanted.
    frames_on: bool,
    /// Frames of the current call: (to server, stream offset, length).
    frames: Vec<(bool, u64, u64)>,
}

/// Why a message could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadError {
    /// More bytes are needed: this many in all (0: unknown yet).
    Incomplete(usize),
    /// Not a message.
    Invalid,
    /// Longer than [`MAX_MSG_LEN`] or nested deeper than [`MAX_DEPTH`].
    TooBig,
}

/// Checks that the constructed values of `d` (one whole BER value) nest at most `max` deep
/// and that every length is definite (RFC 4511 section 5.1 allows no other). Iterative, so
/// that the check itself cannot overflow the stack; what else is wrong the decoder reports.
fn check_nesting(d: &[u8], max: usize) -> Result<(), ReadError> {
    let mut ends = [0usize; MAX_DEPTH + 1];
    let mut depth = 0usize;
    let mut pos = 0usize;
    loop {
        // close the values that end here
        while depth > 0 && ends.get(depth - 1).is_some_and(|&e| pos >= e) {
            depth -= 1;
        }
        let Some(rest) = d.get(pos..).filter(|r| !r.is_empty()) else { return Ok(()) };
        let (constructed, hl, len) = match ber_header(rest) {
            Ok((_, c, _, hl, len)) => (c, hl, len),
            Err(true) => return Ok(()),
            Err(false) => return Err(ReadError::Invalid),
        };
        if constructed {
            if depth >= max.min(MAX_DEPTH) {
                return Err(ReadError::TooBig);
            }
            if let Some(slot) = ends.get_mut(depth) {
                *slot = pos.saturating_add(hl).saturating_add(len);
            }
            depth += 1;
            pos += hl;
        } else {
            pos = pos.saturating_add(hl).saturating_add(len);
        }
    }
}

/// Reads one message at the start of `d`: the message and the bytes it took.
fn read_msg(d: &[u8]) -> Result<(LdapMessage<'static>, usize), ReadError> {
    // an LDAPMessage is a SEQUENCE
    if d.first().is_some_and(|&b| b != 0x30) {
        return Err(ReadError::Invalid);
    }
    let (_, _, _, hl, len) = match ber_header(d) {
        Ok(h) => h,
        Err(true) => return Err(ReadError::Incomplete(0)),
        Err(false) => return Err(ReadError::Invalid),
    };
    let total = hl.saturating_add(len);
    if total > MAX_MSG_LEN {
        return Err(ReadError::TooBig);
    }
    let Some(whole) = d.get(..total) else { return Err(ReadError::Incomplete(total)) };
    check_nesting(whole, MAX_DEPTH)?;
    match LdapMessage::from_ber(whole) {
        Ok((rest, m)) => Ok((m.to_static(), total - rest.len())),
        Err(_) => Err(ReadError::Invalid),
    }
}

/// Whether a message of this operation completes its transaction (Suricata's
/// `tx_is_complete`).
fn completes(op: &ProtocolOp<'_>, to_server: bool) -> bool {
    if to_server {
        matches!(op, ProtocolOp::UnbindRequest | ProtocolOp::AbandonRequest(_))
    } else {
        matches!(
            op,
            ProtocolOp::SearchResultDone(_)
                | ProtocolOp::BindResponse(_)
                | ProtocolOp::ModifyResponse(_)
                | ProtocolOp::AddResponse(_)
                | ProtocolOp::DelResponse(_)
                | ProtocolOp::ModDnResponse(_)
                | ProtocolOp::CompareResponse(_)
                | ProtocolOp::ExtendedResponse(_)
        )
    }
}

/// Suricata's probing parser (both directions, ports 389 and 3268): the bytes start with a
/// whole LDAP message.
pub fn probe(d: &[u8]) -> ProbeResult {
    if d.len() < 2 {
        return ProbeResult::NeedMore;
    }
    match read_msg(d) {
        Ok(_) => ProbeResult::Found(AppProto::Ldap),
        Err(ReadError::Incomplete(_)) => ProbeResult::NeedMore,
        Err(_) => ProbeResult::NotFound,
    }
}

impl LdapState {
    /// An empty state (`udp`: the flow runs over UDP, one message per request datagram).
    pub fn new(udp: bool) -> Self {
        LdapState { udp, ..Self::default() }
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &LdapTx> {
        self.txs.iter()
    }

    /// Parsing ended.
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn raise_on(tx: &mut LdapTx, ev: u16, raised: &mut Vec<u16>) {
        if tx.events.raise(ev) {
            raised.push(ev);
        }
    }

    /// An event on the newest transaction (Suricata's state `set_event`); counted even
    /// without one.
    fn raise_last(&mut self, ev: u16) {
        match self.txs.back_mut() {
            Some(tx) => Self::raise_on(tx, ev, &mut self.raised),
            None => self.raised.push(ev),
        }
    }

    /// A new transaction, or `None` past [`MAX_TXS`] (then every open one is closed with
    /// `too_many_transactions`).
    fn new_tx(&mut self) -> Option<LdapTx> {
        if self.txs.len() > MAX_TXS {
            for tx in self.txs.iter_mut().filter(|t| !t.complete) {
                tx.complete = true;
                Self::raise_on(tx, EV_TOO_MANY_TXS, &mut self.raised);
            }
            self.stats.tx_refused += 1;
            return None;
        }
        let tx = LdapTx {
            id: self.next_id,
            request: None,
            responses: Vec::new(),
            complete: self.eof,
            events: TxEvents::default(),
        };
        self.next_id += 1;
        self.new_txs += 1;
        Some(tx)
    }

    /// Parsing ends: every transaction counts as complete (Suricata's end of stream).
    fn fail(&mut self) {
        self.failed = !self.udp || self.failed;
        self.eof = true;
        self.txs.iter_mut().for_each(|t| t.complete = true);
    }

    fn request(&mut self, msg: LdapMessage<'static>) -> bool {
        let Some(mut tx) = self.new_tx() else { return false };
        if let ProtocolOp::ExtendedRequest(r) = &msg.protocol_op {
            if r.request_name.0 == STARTTLS_OID {
                self.starttls_asked = true;
            }
        }
        tx.complete |= completes(&msg.protocol_op, true);
        tx.request = Some(msg);
        self.txs.push_back(tx);
        true
    }

    /// A response: joins the transaction of its request, or becomes one of its own. Returns
    /// false when no transaction could be made, and whether the flow turns to TLS.
    fn response(&mut self, msg: LdapMessage<'static>) -> (bool, bool) {
        let mut tls = false;
        if self.starttls_asked {
            if let ProtocolOp::ExtendedResponse(r) = &msg.protocol_op {
                tls = r.result.result_code.0 == 0;
                self.starttls_asked = false;
            }
        }
        let id = msg.message_id;
        let found = self.txs.iter_mut().find(|t| t.request.as_ref().is_some_and(|r| r.message_id == id));
        if let Some(tx) = found {
            tx.complete |= completes(&msg.protocol_op, false);
            if tx.responses.len() < MAX_RESPONSES {
                tx.responses.push(msg);
            } else {
                Self::raise_on(tx, EV_TOO_MANY_RESPONSES, &mut self.raised);
                self.stats.responses_dropped += 1;
            }
            return (true, tls);
        }
        let unsolicited = matches!(msg.protocol_op, ProtocolOp::ExtendedResponse(_));
        let Some(mut tx) = self.new_tx() else { return (false, tls) };
        tx.complete = true;
        tx.responses.push(msg);
        self.txs.push_back(tx);
        if !unsolicited {
            self.raise_last(EV_REQUEST_NOT_FOUND);
        }
        (true, tls)
    }

    /// One decoded message; false when parsing must end.
    fn handle(&mut self, msg: LdapMessage<'static>, to_server: bool, rest: usize) -> bool {
        self.stats.messages += 1;
        if to_server {
            return self.request(msg);
        }
        let (ok, tls) = self.response(msg);
        if tls && !self.udp {
            // the rest of the flow is TLS
            self.stats.starttls += 1;
            self.upgrade = Some(rest);
            self.failed = true;
        }
        ok
    }

    fn invalid(&mut self, e: ReadError, udp_incomplete: bool) {
        if e == ReadError::TooBig {
            self.stats.oversized += 1;
        }
        self.stats.invalid += 1;
        self.raise_last(if udp_incomplete { EV_INCOMPLETE } else { EV_INVALID });
        self.fail();
    }

    /// Reads the messages of `buf` (its first byte at stream offset `at`); returns the bytes
    /// used (the rest is an incomplete message).
    fn messages(&mut self, to_server: bool, buf: &[u8], at: u64) -> usize {
        let d = usize::from(!to_server);
        let mut pos = 0;
        while let Some(rest) = buf.get(pos..).filter(|r| !r.is_empty()) {
            match read_msg(rest) {
                Ok((msg, used)) => {
                    if self.frames_on {
                        self.frames.push((to_server, at + pos as u64, used as u64));
                    }
                    pos += used.max(1);
                    if !self.handle(msg, to_server, buf.len().saturating_sub(pos)) {
                        self.fail();
                        return buf.len();
                    }
                    if self.failed {
                        return buf.len();
                    }
                }
                Err(ReadError::Incomplete(n)) if !self.udp => {
                    // In bounds: d is 0 or 1.
                    self.need[d] = n;
                    return pos;
                }
                Err(e) => {
                    self.invalid(e, matches!(e, ReadError::Incomplete(_)));
                    return buf.len();
                }
            }
        }
        pos
    }

    /// Feeds one datagram (UDP): a request datagram is one message, a response datagram may
    /// hold several.
    fn datagram(&mut self, to_server: bool, data: &[u8], at: u64) {
        if self.frames_on && to_server {
            self.frames.push((true, at, data.len() as u64));
        }
        if !to_server {
            self.messages(false, data, at);
            return;
        }
        match read_msg(data) {
            Ok((msg, _)) => {
                self.stats.messages += 1;
                if !self.request(msg) {
                    self.fail();
                }
            }
            Err(e) => self.invalid(e, matches!(e, ReadError::Incomplete(_))),
        }
    }

    /// Feeds in-order bytes of one direction (TCP) or a datagram (UDP) whose first byte is
    /// at stream offset `at`.
    pub fn parse_at(&mut self, to_server: bool, data: &[u8], at: u64) {
        let d = usize::from(!to_server);
        if self.failed || data.is_empty() {
            return;
        }
        if self.udp {
            self.datagram(to_server, data, at);
            return;
        }
        // In bounds: d is 0 or 1 for every per-direction array.
        if std::mem::take(&mut self.gap[d]) {
            // as Suricata: after a gap the data must start with a whole message
            self.pending[d].clear();
            if let Err(e) = read_msg(data) {
                self.invalid(if e == ReadError::TooBig { e } else { ReadError::Invalid }, false);
                return;
            }
        }
        if self.pending[d].is_empty() {
            let used = self.messages(to_server, data, at);
            if !self.failed {
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
        let used = self.messages(to_server, &buf, base);
        if !self.failed {
            buf.drain(..used.min(buf.len()));
            self.pending[d] = buf;
        }
    }

    /// [`LdapState::parse_at`] from stream offset 0.
    pub fn parse(&mut self, to_server: bool, data: &[u8]) {
        self.parse_at(to_server, data, 0);
    }

    /// Bytes of one direction are missing: what is pending goes, and the next bytes must
    /// start a message.
    pub fn gap(&mut self, to_server: bool) {
        let d = usize::from(!to_server);
        // In bounds: d is 0 or 1.
        self.pending[d].clear();
        self.need[d] = 0;
        self.gap[d] = true;
    }

    /// Frees the complete transactions nobody needs (`done` says so of them); returns the
    /// lowest id still held when any went.
    fn free(&mut self, done: &dyn Fn(u64) -> bool) -> Option<u64> {
        let before = self.txs.len();
        self.txs.retain(|t| !(t.complete && done(t.id)));
        (self.txs.len() < before).then(|| self.txs.iter().map(|t| t.id).min().unwrap_or(self.next_id))
    }
}
