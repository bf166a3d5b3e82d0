//! POP3 (RFC 1939, with RFC 2449 CAPA, RFC 2595 STLS and RFC 5034 AUTH) over TCP, after
//! Suricata's `rust/src/pop3/`. Commands and responses are read by `sawp-pop3` (the crate
//! Suricata's parser uses, so keywords, arguments, multi-line data and the RFC 2449 length
//! checks read as Suricata reads them); this module frames lines, finds where multi-line
//! responses end, skips message bodies and keeps the transactions.
//!
//! Takes: the in-order bytes of each direction of a TCP flow identified as POP3 (port 110, a
//! `+OK` greeting).
//! Promises, as Suricata: each command is a transaction, and the next response joins the
//! oldest transaction without one (a response with none waiting, the greeting, is a
//! transaction of its own); a transaction is complete with its response and logged then (a
//! `pop3` record), or at flow end. After `AUTH` is accepted (`+OK` or an empty `+ `
//! challenge) the next client line is SASL data, a `<SASL DATA>` command. The response to
//! `LIST` or `UIDL` without an argument, `TOP`, `RETR` and (unlike Suricata, which reads it
//! whole only when it came in one piece) `CAPA` is multi-line and waits for its `.` line; a `RETR` response announcing its size (`+OK N octets`) has its body skipped
//! unread and leaves the transaction without a response, as Suricata's; the lines of a `RETR`
//! body are not kept. Events: `request_too_long`, `incorrect_argument_count`,
//! `unknown_command`, `response_too_long` (from the crate's flags), `too_many_transactions`.
//! A line that is neither a command nor a response ends parsing of the flow; a successful
//! `STLS` hands it to TLS. After a gap, bytes are skipped (counted) until a chunk starts with
//! a whole command or response.
//! Bounded: at most [`MAX_PENDING`] bytes buffered per direction (an unfinished line or
//! multi-line response; past that they are dropped, counted, and the direction resyncs as
//! after a gap); [`MAX_TXS`] transactions (past that the open ones are closed with
//! `too_many_transactions`; a command that finds the table full ends parsing). Never: panics
//! on input.

mod detect;
mod eve;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use sawp::parser::{Direction, Parse};
use sawp::probe::{Probe, Status as SawpStatus};
use sawp_pop3::{Command, ErrorFlag, Flags, InnerMessage, Keyword, Response, POP3};

use super::identify::ProbeResult;
use super::plugin::TxEvents;
use super::proto::AppProto;

pub use detect::PROTOCOL;

/// Transactions held before the open ones are closed (Suricata's `pop3.max-tx` default).
pub const MAX_TXS: usize = 256;

const PARSER: POP3 = POP3 {};
/// Bytes buffered per direction waiting for the end of a line or of a multi-line response.
pub const MAX_PENDING: usize = 256 * 1024;

/// Suricata's POP3 app-layer events, in its order.
pub const EVENTS: &[&str] =
    &["too_many_transactions", "request_too_long", "incorrect_argument_count", "unknown_command", "response_too_long"];
const EV_TOO_MANY_TXS: u16 = 0;

/// The command Suricata names SASL data sent after an accepted `AUTH`.
const SASL_DATA: &str = "<SASL DATA>";

crate::app_counters! {
    /// POP3 counters.
    pub struct Pop3Stats {
        /// Commands read (SASL data lines included).
        commands,
        /// Responses read.
        responses,
        /// Flows whose parsing ended at a line that is neither a command nor a response.
        malformed,
        /// Bytes dropped because a line or multi-line response outgrew the buffer limit.
        overflow_bytes,
        /// Bytes skipped after a gap until a chunk started with a whole message.
        resync_skipped_bytes,
        /// Commands refused because the transaction limit was reached (parsing ended).
        tx_refused,
        /// Flows handed over to TLS by STLS.
        starttls,
    }
}

/// One POP3 transaction: a command and its response.
#[derive(Debug)]
pub struct Pop3Tx {
    id: u64,
    request: Option<Command>,
    response: Option<Response>,
    complete: bool,
    events: TxEvents,
}

impl Pop3Tx {
    fn raise_flags(&mut self, flags: Flags<ErrorFlag>, raised: &mut Vec<u16>) {
        let table = [
            (ErrorFlag::CommandTooLong, 1),
            (ErrorFlag::IncorrectArgumentNum, 2),
            (ErrorFlag::UnknownKeyword, 3),
            (ErrorFlag::ResponseTooLong, 4),
        ];
        for (flag, ev) in table {
            if flags.contains(flag) && self.events.raise(ev) {
                raised.push(ev);
            }
        }
    }
}

/// Per-flow POP3 state.
#[derive(Debug, Default)]
pub struct Pop3State {
    txs: VecDeque<Pop3Tx>,
    next_id: u64,
    /// Bytes not yet read, per direction (0: to server).
    pending: [Vec<u8>; 2],
    /// A gap (or an overflow) was seen: a chunk must start with a whole message.
    gap: [bool; 2],
    /// Bytes of a `RETR` body still to skip.
    retr_left: u64,
    /// The next client line is SASL data.
    auth_data_next: bool,
    /// Parsing ended (a malformed line, the transaction limit, STLS).
    failed: bool,
    /// Bytes after the accepted STLS answer in the last call (the flow is TLS now).
    pub(crate) upgrade: Option<usize>,
    /// Counters since the last hand-over.
    pub(crate) stats: Pop3Stats,
    /// Events raised since the last hand-over.
    raised: Vec<u16>,
    /// Transactions made since the last hand-over.
    new_txs: u64,
}

/// Suricata's probe (both directions): at least 5 bytes that read as a whole command (to
/// server) or response (to client).
pub fn probe(d: &[u8], to_server: bool) -> ProbeResult {
    if d.len() < 5 {
        return ProbeResult::NeedMore;
    }
    match sawp_probe(d, to_server) {
        SawpStatus::Recognized => ProbeResult::Found(AppProto::Pop3),
        SawpStatus::Incomplete => ProbeResult::NeedMore,
        SawpStatus::Unrecognized => ProbeResult::NotFound,
    }
}

fn sawp_probe(d: &[u8], to_server: bool) -> SawpStatus {
    let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
    PARSER.probe(d, dir)
}

/// The position just past the first CRLF of `d`.
fn line_end(d: &[u8]) -> Option<usize> {
    memchr::memmem::find(d, b"\r\n").map(|i| i + 2)
}

/// The position just past the `.\r\n` that ends a multi-line response (Suricata's search:
/// the first `.\r\n` anywhere).
fn message_end(d: &[u8]) -> Option<usize> {
    memchr::memmem::find(d, b".\r\n").map(|i| i + 3)
}

/// The size a `RETR` answer announces (`+OK N octets`), as Suricata reads it: up to ten
/// digits after `+OK `, 0 when they do not fit.
fn retr_octets(header: &[u8]) -> Option<u64> {
    let args = header.strip_prefix(b"+OK ")?;
    if !header.ends_with(b"octets") {
        return None;
    }
    let n = args.iter().take(10).take_while(|b| b.is_ascii_digit()).count();
    let digits = args.get(..n).filter(|d| !d.is_empty())?;
    Some(std::str::from_utf8(digits).ok().and_then(|s| s.parse::<u32>().ok()).map_or(0, u64::from))
}

/// What reading one message from a buffer did.
enum Step {
    /// Used this many bytes; go on.
    Used(usize),
    /// The rest is an unfinished message: keep it.
    Incomplete,
    /// Parsing of the flow ends.
    Stop,
}

impl Pop3State {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &Pop3Tx> {
        self.txs.iter()
    }

    /// Parsing ended.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// A new transaction, or none when the table is full (then every open one is closed with
    /// `too_many_transactions`, as Suricata's).
    fn new_tx(&mut self) -> Option<Pop3Tx> {
        if self.txs.len() > MAX_TXS {
            for tx in self.txs.iter_mut().filter(|t| !t.complete) {
                tx.complete = true;
                if tx.events.raise(EV_TOO_MANY_TXS) {
                    self.raised.push(EV_TOO_MANY_TXS);
                }
            }
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.new_txs += 1;
        Some(Pop3Tx { id, request: None, response: None, complete: false, events: TxEvents::default() })
    }

    /// The oldest transaction without a response.
    fn waiting(&mut self) -> Option<&mut Pop3Tx> {
        self.txs.iter_mut().find(|t| t.response.is_none())
    }

    /// Reads one client line from `d`.
    fn request(&mut self, d: &[u8]) -> Step {
        let Some(end) = line_end(d) else { return Step::Incomplete };
        if self.auth_data_next {
            let line = d.get(..end - 2).unwrap_or(&[]);
            if !line.iter().all(|&b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)) {
                self.stats.malformed += 1;
                return Step::Stop;
            }
            self.auth_data_next = false;
            self.stats.commands += 1;
            if let Some(mut tx) = self.new_tx() {
                tx.request = Some(Command { keyword: Keyword::Unknown(SASL_DATA.into()), args: Vec::new() });
                self.txs.push_back(tx);
            }
            return Step::Used(end);
        }
        let line = d.get(..end).unwrap_or(&[]);
        match PARSER.parse(line, Direction::ToServer) {
            Ok((rest, Some(msg))) => {
                let InnerMessage::Command(cmd) = msg.inner else { return Step::Used(end - rest.len()) };
                self.stats.commands += 1;
                let Some(mut tx) = self.new_tx() else {
                    self.stats.tx_refused += 1;
                    return Step::Stop;
                };
                tx.raise_flags(msg.error_flags, &mut self.raised);
                tx.request = Some(cmd);
                self.txs.push_back(tx);
                Step::Used(end - rest.len())
            }
            Ok((_, None)) => Step::Incomplete,
            Err(_) => {
                self.stats.malformed += 1;
                Step::Stop
            }
        }
    }

    /// Whether the response the oldest waiting command gets is multi-line, and whether it
    /// answers `RETR`.
    fn expects(&mut self) -> (bool, bool) {
        let Some(cmd) = self.waiting().and_then(|t| t.request.as_ref()) else { return (false, false) };
        match cmd.keyword {
            Keyword::LIST | Keyword::UIDL => (cmd.args.is_empty(), false),
            // Suricata reads CAPA's answer as one line and its data only when the whole
            // answer came in one piece; waiting for its end marker reads the same records
            // and survives an answer split across segments
            Keyword::TOP | Keyword::CAPA => (true, false),
            Keyword::RETR => (true, true),
            _ => (false, false),
        }
    }

    /// Reads one server response from `d` (Suricata's `parse_response` loop body).
    fn response(&mut self, d: &[u8]) -> Step {
        if d.starts_with(b"+ \r\n") {
            // an empty server challenge, which the crate does not read
            if let Some(tx) = self.waiting() {
                tx.response = Some(Response { status: sawp_pop3::Status::OK, header: Vec::new(), data: Vec::new() });
                tx.complete = true;
                let auth = matches!(tx.request.as_ref().map(|r| &r.keyword), Some(Keyword::AUTH));
                self.stats.responses += 1;
                if auth {
                    self.auth_data_next = true;
                }
            }
            return Step::Used(4);
        }
        let (mut multiline, retr) = self.expects();
        let Some(hend) = line_end(d) else { return Step::Incomplete };
        let header = d.get(..hend - 2).unwrap_or(&[]);
        // where the crate reads from: past a `RETR` body skipped unread
        let mut start = 0;
        match retr_octets(header) {
            Some(size) if retr => {
                let body = d.len() - hend;
                let skip = size.min(body as u64);
                self.retr_left = size - skip;
                start = hend + skip as usize;
            }
            _ if header.starts_with(b"-ERR") => multiline = false,
            _ => {}
        }
        if multiline {
            let Some(end) = d.get(start..).and_then(message_end) else {
                return if start > 0 { Step::Used(start) } else { Step::Incomplete };
            };
            if retr && self.retr_left == 0 {
                // past the body and its end marker: the transaction is done, without a
                // response (Suricata's)
                start += end;
                if let Some(tx) = self.waiting() {
                    tx.complete = true;
                }
            }
        }
        match d.get(start..) {
            Some(rest) if !rest.is_empty() => match self.read_response(rest) {
                Step::Used(n) => Step::Used(start + n),
                Step::Incomplete if start > 0 => Step::Used(start),
                other => other,
            },
            _ => Step::Used(start),
        }
    }

    /// Reads a response the crate can take whole from `d`.
    fn read_response(&mut self, d: &[u8]) -> Step {
        match PARSER.parse(d, Direction::ToClient) {
            Ok((rest, Some(msg))) => {
                let used = d.len() - rest.len();
                let InnerMessage::Response(mut resp) = msg.inner else { return Step::Used(used) };
                self.stats.responses += 1;
                if self.waiting().is_none() {
                    // a response before any command: the greeting
                    match self.new_tx() {
                        Some(tx) => self.txs.push_back(tx),
                        None => {
                            self.stats.tx_refused += 1;
                            return Step::Stop;
                        }
                    }
                }
                let mut raised = std::mem::take(&mut self.raised);
                let mut auth_ok = false;
                let mut stls = false;
                if let Some(tx) = self.waiting() {
                    tx.raise_flags(msg.error_flags, &mut raised);
                    tx.complete = true;
                    if resp.status == sawp_pop3::Status::OK {
                        match tx.request.as_ref().map(|r| &r.keyword) {
                            Some(Keyword::STLS) => stls = true,
                            Some(Keyword::RETR) => resp.data.clear(),
                            Some(Keyword::AUTH) => auth_ok = true,
                            _ => {}
                        }
                    }
                    tx.response = Some(resp);
                }
                self.raised = raised;
                self.auth_data_next |= auth_ok;
                if stls {
                    self.stats.starttls += 1;
                    self.upgrade = Some(rest.len());
                    return Step::Stop;
                }
                Step::Used(used)
            }
            Ok((_, None)) => Step::Incomplete,
            Err(_) => {
                self.stats.malformed += 1;
                Step::Stop
            }
        }
    }

    /// Reads the messages of `buf`; returns the bytes used (the rest is unfinished) and
    /// whether parsing must stop.
    fn messages(&mut self, to_server: bool, buf: &[u8]) -> (usize, bool) {
        let mut pos = 0;
        while let Some(rest) = buf.get(pos..).filter(|r| !r.is_empty()) {
            if !to_server && self.retr_left > 0 {
                let n = usize::try_from(self.retr_left).unwrap_or(usize::MAX).min(rest.len());
                self.retr_left -= n as u64;
                pos += n;
                if self.retr_left == 0 {
                    if let Some(tx) = self.waiting() {
                        tx.complete = true;
                    }
                }
                continue;
            }
            let step = if to_server { self.request(rest) } else { self.response(rest) };
            match step {
                Step::Used(n) => pos += n.max(1),
                Step::Incomplete => return (pos, false),
                Step::Stop => return (pos, true),
            }
        }
        (pos, false)
    }

    /// Feeds in-order bytes of one direction.
    pub fn parse(&mut self, to_server: bool, data: &[u8]) {
        let d = usize::from(!to_server);
        if self.failed || data.is_empty() {
            return;
        }
        // In bounds: d is 0 or 1 for every per-direction array.
        if self.gap[d] {
            let skipping = to_server || self.retr_left == 0;
            if skipping && sawp_probe(data, to_server) != SawpStatus::Recognized {
                self.stats.resync_skipped_bytes += data.len() as u64;
                return;
            }
            self.gap[d] = false;
        }
        let mut buf = std::mem::take(&mut self.pending[d]);
        buf.extend_from_slice(data);
        let (used, stop) = self.messages(to_server, &buf);
        if stop {
            self.failed = true;
            return;
        }
        buf.drain(..used.min(buf.len()));
        if buf.len() > MAX_PENDING {
            self.stats.overflow_bytes += buf.len() as u64;
            buf.clear();
            self.gap[d] = true;
        }
        self.pending[d] = buf;
    }

    /// `len` bytes of one direction are missing: what was buffered goes, and the direction
    /// waits for a chunk that starts with a whole message (a `RETR` body being skipped takes
    /// the gap from what is left of it).
    pub fn gap(&mut self, to_server: bool, len: u64) {
        let d = usize::from(!to_server);
        // In bounds: d is 0 or 1.
        self.pending[d].clear();
        if !to_server && self.retr_left > len {
            self.retr_left -= len;
            return;
        }
        if !to_server {
            self.retr_left = 0;
        }
        self.gap[d] = true;
    }

    /// Frees, oldest first, the complete transactions detection is done with.
    fn free(&mut self, done: &dyn Fn(u64) -> bool) -> Option<u64> {
        let mut freed = false;
        while self.txs.front().is_some_and(|t| t.complete && done(t.id)) {
            self.txs.pop_front();
            freed = true;
        }
        freed.then(|| self.txs.front().map_or(self.next_id, |t| t.id))
    }
}
