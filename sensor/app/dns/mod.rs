//! DNS over UDP and TCP, after Suricata's `rust/src/dns` (parser, transactions, detection
//! getters and the v3 EVE logger).
//!
//! Takes: UDP datagrams (one message each) or the in-order bytes of a TCP direction (each
//! message behind a 2-byte length, split across segments however the sender liked).
//! Promises: a message is decoded into header, questions and answer / authority / additional
//! records; names are decoded with compression pointers into dotted form without a trailing
//! dot, exactly as Suricata does (label bytes as they are, at most [`MAX_NAME_LEN`] bytes kept
//! with a `truncated` flag, at most [`MAX_NAME_STEPS`] labels-plus-pointers followed, a pointer
//! to itself flagged as a loop), so a name can never loop or grow without bound. As in
//! Suricata each message is its own transaction (a request to the server, a response to the
//! client); a response is also paired with the outstanding request of the same id when there
//! is one. Per-flow state is bounded: at most [`MAX_TXS`] transactions kept (oldest evicted),
//! [`MAX_OUTSTANDING`] unanswered request ids, one partial TCP message per direction (at most
//! 65,537 bytes), [`MAX_DECODED_BYTES`] of decoded names and data per message; every drop and
//! every malformed message is counted in [`DnsStats`].
//! Never: panics or indexes unchecked on message bytes; keeps parsing a TCP direction after a
//! malformed message (Suricata's parser errors out and stops there too).

mod detect;
mod eve;
pub mod family;
mod message;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

pub use detect::{BUFFERS, PROTOCOL, VALUES};
pub use eve::{print_addr, rcode_string, rrtype_string};
pub use message::*;

/// DNS's app-layer events, in Suricata's order (`rust/src/dns/dns.rs` `DNSEvent`).
pub const EVENTS: &[&str] = &[
    "malformed_data",
    "not_request",
    "not_response",
    "z_flag_set",
    "invalid_opcode",
    "name_too_long",
    "infinite_loop",
    "too_many_labels",
    "invalid_additionals",
    "invalid_authorities",
];

/// Indexes into [`EVENTS`].
pub mod event {
    #![allow(missing_docs, reason = "each is the event of its name")]
    pub const MALFORMED_DATA: u16 = 0;
    pub const NOT_REQUEST: u16 = 1;
    pub const NOT_RESPONSE: u16 = 2;
    pub const Z_FLAG_SET: u16 = 3;
    pub const INVALID_OPCODE: u16 = 4;
    pub const NAME_TOO_LONG: u16 = 5;
    pub const INFINITE_LOOP: u16 = 6;
    pub const TOO_MANY_LABELS: u16 = 7;
    pub const INVALID_ADDITIONALS: u16 = 8;
    pub const INVALID_AUTHORITIES: u16 = 9;
}

/// One DNS transaction: a single message, as Suricata makes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tx {
    /// Suricata's internal transaction id (0-based; EVE `tx_id`).
    pub tx_id: u64,
    /// Sent to the server (a request); false: to the client (a response).
    pub to_server: bool,
    /// The message.
    pub msg: Message,
    /// For a response: the request with the same DNS id still outstanding, if any.
    pub request_tx_id: Option<u64>,
    /// App-layer events raised on it ([`EVENTS`]).
    pub events: crate::app::plugin::TxEvents,
}

impl Tx {
    /// The on-the-wire id.
    pub fn id(&self) -> u16 {
        self.msg.header.id
    }

    /// `dns.opcode`: the header opcode of this message.
    pub fn opcode(&self) -> u8 {
        self.msg.header.opcode()
    }

    /// `dns.rcode`.
    pub fn rcode(&self) -> u8 {
        self.msg.header.rcode()
    }

    /// `dns.query` (alias `dns_query`): each question name of a request, in order; nothing
    /// for a response (Suricata registers the buffer to-server only). Rules match per name.
    pub fn query_names(&self) -> impl Iterator<Item = &[u8]> {
        let qs: &[Question] = if self.to_server { &self.msg.queries } else { &[] };
        qs.iter().map(|q| q.name.value.as_slice()).filter(|n| !n.is_empty())
    }

    /// `dns.queries.rrname` / `dns.query.name`: question names in either direction (the
    /// query is echoed in responses).
    pub fn question_names(&self) -> impl Iterator<Item = &[u8]> {
        self.msg.queries.iter().map(|q| q.name.value.as_slice()).filter(|n| !n.is_empty())
    }

    /// `dns.answer.name` / `dns.answers.rrname`: owner names of the answer section.
    pub fn answer_names(&self) -> impl Iterator<Item = &[u8]> {
        self.msg.answers.iter().map(|r| r.name.value.as_slice()).filter(|n| !n.is_empty())
    }

    /// `dns.rrtype` values, in order (the keyword's index form counts positions here): the
    /// question types of a request, the answer types of a response, as Suricata's
    /// `dns_rrtype_match` picks them by direction.
    pub fn rrtypes(&self) -> impl Iterator<Item = u16> + '_ {
        let q = self.msg.queries.iter().filter(move |_| self.to_server).map(|q| q.rrtype);
        let a = self.msg.answers.iter().filter(move |_| !self.to_server).map(|r| r.rrtype);
        q.chain(a)
    }
}

crate::app_counters! {
    /// DNS counters (plain integers; the integrator publishes them).
    pub struct DnsStats {
        /// Requests decoded.
        requests,
        /// Responses decoded.
        responses,
        /// Responses paired with an outstanding request of the same id.
        responses_matched,
        /// Responses with no outstanding request of that id.
        responses_unmatched,
        /// Messages that failed the header sanity check.
        bad_header,
        /// Messages whose questions or answers did not decode.
        malformed,
        /// Messages that would have decoded to more than [`MAX_DECODED_BYTES`].
        too_large,
        /// Messages with QR set sent to the server (dropped, as Suricata drops them).
        not_request,
        /// Messages with QR clear sent to the client (kept as responses, as Suricata keeps them).
        not_response,
        /// Messages with at least one truncated name.
        name_truncated,
        /// Messages with a pointer loop.
        name_loop,
        /// Messages with more than [`MAX_NAME_STEPS`] labels in a name.
        name_label_limit,
        /// Messages whose authority or additional section did not decode (message kept).
        invalid_sections,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
        /// Outstanding request ids forgotten because [`MAX_OUTSTANDING`] were held.
        outstanding_evicted,
        /// TCP directions abandoned after a malformed message.
        tcp_abandoned,
        /// TCP bytes ignored in abandoned directions.
        tcp_bytes_ignored,
    }
}

/// Outcome of feeding TCP bytes (style rule 8: done / need-more / error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpStatus {
    /// Every byte went into whole messages.
    Done,
    /// A message is partly buffered; `wanted` more bytes complete it.
    NeedMore {
        /// Bytes still missing for the buffered message (its length prefix included).
        wanted: usize,
    },
    /// The direction hit a malformed message and is no longer parsed.
    Error(DnsError),
}

#[derive(Debug, Default)]
struct TcpDir {
    /// A partial message with its length prefix (at most 2 + 65,535 bytes).
    buf: Vec<u8>,
    failed: Option<DnsError>,
}

/// Per-flow DNS state.
#[derive(Debug, Default)]
pub struct DnsState {
    next_tx_id: u64,
    txs: VecDeque<Tx>,
    /// Unanswered requests: (DNS id, tx id), oldest first.
    outstanding: VecDeque<(u16, u64)>,
    /// Index 0: to server; 1: to client.
    tcp: [TcpDir; 2],
    /// Counters.
    pub stats: DnsStats,
    /// Events raised since the caller last took them ([`DnsState::take_raised`]).
    raised: Vec<u16>,
}

impl DnsState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &Tx> {
        self.txs.iter()
    }

    /// The transaction with this id, if still held.
    pub fn tx(&self, tx_id: u64) -> Option<&Tx> {
        self.txs.iter().find(|t| t.tx_id == tx_id)
    }

    /// Transactions with an id at least `tx_id` (the ones new since a caller's last look).
    pub fn txs_from(&self, tx_id: u64) -> impl Iterator<Item = &Tx> {
        self.txs.iter().filter(move |t| t.tx_id >= tx_id)
    }

    /// The events raised since the last call (for the caller to count).
    pub fn take_raised(&mut self, f: &mut dyn FnMut(u16)) {
        self.raised.drain(..).for_each(f);
    }

    /// Raises `event` on the last transaction (Suricata sets a message's parse errors on
    /// the flow's most recent transaction).
    fn raise_on_last(&mut self, event: u16) {
        if let Some(tx) = self.txs.back_mut() {
            if tx.events.raise(event) && self.raised.len() < 64 {
                self.raised.push(event);
            }
        }
    }

    /// Id the next transaction will get.
    pub fn next_tx_id(&self) -> u64 {
        self.next_tx_id
    }

    /// Frees transactions below `tx_id` (after detection and logging are done with them).
    pub fn free_below(&mut self, tx_id: u64) {
        while self.txs.front().is_some_and(|t| t.tx_id < tx_id) {
            self.txs.pop_front();
        }
    }

    /// Parses one UDP datagram; returns the new transaction's id, or why there is none.
    pub fn parse_udp(&mut self, to_server: bool, datagram: &[u8]) -> Result<u64, DnsError> {
        self.handle(to_server, datagram)
    }

    /// Feeds in-order TCP bytes of one direction; every whole message becomes a transaction.
    pub fn parse_tcp(&mut self, to_server: bool, data: &[u8]) -> TcpStatus {
        let di = usize::from(!to_server);
        if let Some(e) = self.tcp[di].failed {
            self.stats.tcp_bytes_ignored += data.len() as u64;
            return TcpStatus::Error(e);
        }
        let mut input = data;
        // Complete a buffered message first.
        if !self.tcp[di].buf.is_empty() {
            let buf = &mut self.tcp[di].buf;
            if buf.len() < 2 {
                let take = (2 - buf.len()).min(input.len());
                // In bounds: take <= input.len() (min).
                buf.extend_from_slice(&input[..take]);
                input = &input[take..];
                if buf.len() < 2 {
                    return TcpStatus::NeedMore { wanted: 2 - buf.len() };
                }
            }
            // In bounds: buf.len() >= 2 (returned above otherwise).
            let need = 2 + usize::from(u16::from_be_bytes([buf[0], buf[1]]));
            if need == 2 {
                // A zero-length record: skipped, as Suricata skips it.
                buf.clear();
                return self.parse_tcp(to_server, input);
            }
            let take = need.saturating_sub(buf.len()).min(input.len());
            // In bounds: take <= input.len() (min).
            buf.extend_from_slice(&input[..take]);
            input = &input[take..];
            if buf.len() < need {
                return TcpStatus::NeedMore { wanted: need - buf.len() };
            }
            // In bounds: di is 0 or 1 (from to_server) and tcp is [TcpDir; 2].
            let msg = std::mem::take(&mut self.tcp[di].buf);
            if let Err(e) = self.tcp_message(to_server, msg.get(2..).unwrap_or(&[])) {
                return TcpStatus::Error(e);
            }
        }
        // Whole messages straight from the input, the tail buffered.
        loop {
            let Some(l) = input.get(..2) else {
                if !input.is_empty() {
                    // In bounds: di is 0 or 1 (from to_server) and tcp is [TcpDir; 2].
                    self.tcp[di].buf.extend_from_slice(input);
                    return TcpStatus::NeedMore { wanted: 1 };
                }
                return TcpStatus::Done;
            };
            // In bounds: l is the 2 bytes get(..2) returned, so input.len() >= 2.
            let size = usize::from(u16::from_be_bytes([l[0], l[1]]));
            if size == 0 {
                input = &input[2..];
                continue;
            }
            match input.get(2..2 + size) {
                Some(m) => {
                    if let Err(e) = self.tcp_message(to_server, m) {
                        return TcpStatus::Error(e);
                    }
                    // In bounds: get(2..2 + size) returned Some just above.
                    input = &input[2 + size..];
                }
                None => {
                    // In bounds: di is 0 or 1 (from to_server) and tcp is [TcpDir; 2].
                    self.tcp[di].buf.extend_from_slice(input);
                    return TcpStatus::NeedMore { wanted: 2 + size - input.len() };
                }
            }
        }
    }

    fn tcp_message(&mut self, to_server: bool, m: &[u8]) -> Result<(), DnsError> {
        match self.handle(to_server, m) {
            Ok(_) => Ok(()),
            Err(e) => {
                let di = usize::from(!to_server);
                self.tcp[di].failed = Some(e);
                self.tcp[di].buf = Vec::new();
                self.stats.tcp_abandoned += 1;
                Err(e)
            }
        }
    }

    fn handle(&mut self, to_server: bool, bytes: &[u8]) -> Result<u64, DnsError> {
        let msg = match parse_message(bytes) {
            Ok(m) => m,
            Err(e) => {
                match e {
                    DnsError::Header => self.stats.bad_header += 1,
                    DnsError::TooLarge => self.stats.too_large += 1,
                    _ => self.stats.malformed += 1,
                }
                if e != DnsError::Header {
                    self.raise_on_last(event::MALFORMED_DATA);
                }
                return Err(e);
            }
        };
        if to_server && msg.header.is_response() {
            self.stats.not_request += 1;
            self.raise_on_last(event::NOT_REQUEST);
            return Err(DnsError::NotRequest);
        }
        let mut events = crate::app::plugin::TxEvents::default();
        let flags = msg.header.flags;
        for (on, e) in [
            (msg.invalid_additionals, event::INVALID_ADDITIONALS),
            (msg.invalid_authorities, event::INVALID_AUTHORITIES),
            (!to_server && !msg.header.is_response(), event::NOT_RESPONSE),
            (flags & 0x0040 != 0, event::Z_FLAG_SET),
            (msg.header.opcode() >= 7, event::INVALID_OPCODE),
            (msg.name_flags & name_flags::TRUNCATED != 0, event::NAME_TOO_LONG),
            (msg.name_flags & name_flags::INFINITE_LOOP != 0, event::INFINITE_LOOP),
            (msg.name_flags & name_flags::LABEL_LIMIT != 0, event::TOO_MANY_LABELS),
        ] {
            if on && events.raise(e) {
                self.raised.push(e);
            }
        }
        if !to_server && !msg.header.is_response() {
            self.stats.not_response += 1;
        }
        let f = msg.name_flags;
        if f & name_flags::TRUNCATED != 0 {
            self.stats.name_truncated += 1;
        }
        if f & name_flags::INFINITE_LOOP != 0 {
            self.stats.name_loop += 1;
        }
        if f & name_flags::LABEL_LIMIT != 0 {
            self.stats.name_label_limit += 1;
        }
        if msg.invalid_authorities || msg.invalid_additionals {
            self.stats.invalid_sections += 1;
        }
        let tx_id = self.next_tx_id;
        self.next_tx_id += 1;
        let id = msg.header.id;
        let mut request_tx_id = None;
        if to_server {
            self.stats.requests += 1;
            if self.outstanding.len() >= MAX_OUTSTANDING {
                self.outstanding.pop_front();
                self.stats.outstanding_evicted += 1;
            }
            self.outstanding.push_back((id, tx_id));
        } else {
            self.stats.responses += 1;
            match self.outstanding.iter().position(|&(i, _)| i == id) {
                Some(p) => {
                    request_tx_id = self.outstanding.remove(p).map(|(_, t)| t);
                    self.stats.responses_matched += 1;
                }
                None => self.stats.responses_unmatched += 1,
            }
        }
        if self.txs.len() >= MAX_TXS {
            self.txs.pop_front();
            self.stats.tx_evicted += 1;
        }
        self.txs.push_back(Tx { tx_id, to_server, msg, request_tx_id, events });
        Ok(tx_id)
    }
}
