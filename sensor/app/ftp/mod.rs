//! FTP: the control channel (`ftp`) and the data connections it announces (`ftp-data`),
//! after Suricata's `app-layer-ftp.c` and `rust/src/ftp/`.
//!
//! Takes: the in-order bytes of each direction of a control connection, split however the
//! segments fell; for a data connection, its bytes and what its control connection announced.
//! Promises, as Suricata:
//! - lines end at LF (a CR before it is dropped); a line of [`MAX_LINE`] bytes or more is cut
//!   there, flagged truncated (app-layer events `request_command_too_long` /
//!   `response_command_too_long`), and the rest of it is skipped;
//! - a request line naming a known command (found anywhere in the line, see [`command`])
//!   opens a transaction; other lines open none but still count as the current command;
//! - reply lines go to the oldest transaction without its final reply, or, when none is
//!   open, to the last one if it completed in this same chunk of replies, else to a new
//!   transaction of replies only (the banner); a `1yz` reply keeps the transaction open;
//! - `PORT`/`EPRT` (answered by the server) and `227`/`229` replies set the dynamic port and
//!   the mode; the next `RETR`, `STOR`, `APPE`, `STOU`, `LIST`, `NLST` or `MLSD` announces the
//!   data connection in the shared expectation table ([`super::expect`]) with the command and
//!   the file name, for the `ftp-data` parser ([`data`]) of the flow that then connects.
//!
//! Bounded: a pending line is at most [`MAX_LINE`] bytes; at most [`MAX_TXS`] transactions
//! are held (the oldest is evicted, counted), at most [`MAX_REPLIES`] reply lines of at most
//! [`MAX_LINE`] bytes are kept per transaction (more are counted and dropped); a transaction
//! id more than [`MAX_TX_SPAN`] ahead of the oldest held ends the flow's parsing (Suricata's
//! `max-tx`, event `too_many_transactions`).
//! Never: panics on input, or keeps a line's bytes beyond its cap.

pub(crate) mod command;
pub(crate) mod data;
mod detect;
mod eve;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use command::Cmd;
pub(crate) use data::PROTOCOL as DATA_PROTOCOL;
pub(crate) use detect::PROTOCOL;

use super::expect::{Endpoints, ExpectStats, Expectation, Expectations};
use super::proto::AppProto;
use crate::capture::Timestamp;

/// Longest line kept (Suricata's `ftp.max-line-length`, 4 KiB).
pub(crate) const MAX_LINE: usize = 4096;
/// Transactions held per flow before the oldest is evicted.
pub(crate) const MAX_TXS: usize = 256;
/// Reply lines kept per transaction.
pub(crate) const MAX_REPLIES: usize = 256;
/// How far a new transaction's id may run ahead of the oldest held (Suricata's `max-tx`).
pub(crate) const MAX_TX_SPAN: u64 = 1024;
/// Longest file name handed to a data connection (Suricata's `SC_FILENAME_MAX` - 1).
pub(crate) const MAX_FILENAME: usize = 4095;

crate::app_counters! {
    /// FTP counters (plain integers).
    pub struct FtpStats {
        /// Request lines naming a known command (transactions opened).
        commands,
        /// Request lines naming no known command.
        unknown_commands,
        /// Reply lines.
        replies,
        /// Lines cut at the line limit.
        lines_truncated,
        /// Reply lines dropped over the per-transaction limit.
        replies_dropped,
        /// Transactions evicted unfreed over the per-flow limit.
        txs_evicted,
        /// Flows whose parsing ended at the transaction-id limit.
        too_many_txs,
        /// Data connections announced.
        data_announced,
        /// Bytes of data connections in the direction of their transfer.
        data_bytes,
    }
}

/// Suricata's FTP app-layer events, in its order.
pub(crate) const EVENTS: &[&str] = &[
    "request_command_too_long",
    "response_command_too_long",
    "too_many_transactions",
    "file_before_port",
    "file_without_name",
];
const EV_REQUEST_TOO_LONG: u16 = 0;
const EV_RESPONSE_TOO_LONG: u16 = 1;
const EV_TOO_MANY_TXS: u16 = 2;
const EV_FILE_BEFORE_PORT: u16 = 3;
const EV_FILE_WITHOUT_NAME: u16 = 4;

/// One reply line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reply {
    /// The 3-digit code when the line starts with one and a space (`completion_code`).
    pub code: Vec<u8>,
    /// The rest (`reply`), or the whole line without a code.
    pub text: Vec<u8>,
    /// The line was cut at [`MAX_LINE`].
    pub truncated: bool,
}

/// What a data connection gets from the command that announced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Transfer {
    /// The transfer command.
    pub cmd: Cmd,
    /// The file name (`RETR`, `STOR`, `APPE`, `STOU`), if any.
    pub file_name: Option<Vec<u8>>,
}

/// A transaction: a command and its replies.
#[derive(Clone, Debug, Default)]
pub(crate) struct FtpTx {
    /// Id within the flow.
    pub id: u64,
    /// The command's table index ([`command::COMMANDS`]); `None`: unknown (replies only, or
    /// overwritten by an unknown command's reply as Suricata does).
    pub cmd: Option<usize>,
    /// The request line, trailing white space removed.
    pub request: Vec<u8>,
    /// The request line was cut.
    pub request_truncated: bool,
    /// Reply lines.
    pub replies: Vec<Reply>,
    /// The announced data port (`dynamic_port`), 0 for none.
    pub dyn_port: u16,
    /// Active mode (`PORT`/`EPRT`) rather than passive.
    pub active: bool,
    /// The final reply was seen (`reply_received`).
    pub done: bool,
    /// Created by replies with no command (not inspected with requests).
    pub replies_only: bool,
    /// A `PORT` naming another host than the client (`ftpbounce`).
    pub bounce: bool,
    /// App-layer events ([`EVENTS`] indexes).
    pub events: Vec<u16>,
    /// Completed in an earlier chunk of replies than the current one (Suricata would have
    /// freed it by then, so new replies do not join it).
    retired: bool,
}

impl FtpTx {
    /// The command's name and code.
    pub(crate) fn command(&self) -> Option<(&'static str, Cmd)> {
        self.cmd.and_then(command::entry)
    }

    fn event(&mut self, e: u16) {
        if !self.events.contains(&e) {
            self.events.push(e);
        }
    }
}

/// A line being assembled in one direction.
#[derive(Debug, Default)]
struct LineBuf {
    buf: Vec<u8>,
    /// Skipping the rest of a line cut at [`MAX_LINE`].
    discard: bool,
}

/// One complete line of a chunk.
struct Line<'a> {
    bytes: &'a [u8],
    truncated: bool,
}

/// Per-flow FTP control state.
#[derive(Debug, Default)]
pub(crate) struct FtpState {
    txs: VecDeque<FtpTx>,
    next_id: u64,
    lines: [LineBuf; 2],
    /// The last request line's command (`None`: unknown), Suricata's `state->command`.
    command: Option<Cmd>,
    /// The last `PORT`/`EPRT` line.
    port_line: Vec<u8>,
    active: bool,
    dyn_port: u16,
    /// Parsing ended (too many transactions).
    stopped: bool,
    /// The shared table this control flow registered its hosts with, and their endpoints.
    registered: Option<(Expectations, Endpoints)>,
    /// Counters since the last hand-over.
    pub stats: FtpStats,
    /// Expectation counters since the last hand-over.
    pub expect_stats: ExpectStats,
}

/// Where announcements go and what they say about the control flow.
pub(crate) struct Announce<'a> {
    pub table: &'a Expectations,
    pub ends: Endpoints,
    pub flow_id: u64,
    pub now: Timestamp,
}

impl FtpState {
    /// An empty state.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Registers the control flow's hosts with the expectation table once (its data
    /// connections may be looked for); undone when the state is dropped.
    pub(crate) fn register(&mut self, table: &Expectations, ends: &Endpoints) {
        if self.registered.is_none() {
            table.control_start(ends);
            self.registered = Some((table.clone(), *ends));
        }
    }

    /// Transactions held, oldest first.
    #[cfg(test)]
    pub(crate) fn txs(&self) -> impl Iterator<Item = &FtpTx> {
        self.txs.iter()
    }

    /// Splits `data` into the complete lines of direction `d`, calling `f` with each; bytes of
    /// an unfinished line wait for the next call. After a line cut at the limit, the rest of
    /// this chunk is skipped, as Suricata skips it.
    fn lines(&mut self, d: usize, data: &[u8], f: &mut dyn FnMut(&mut Self, Line<'_>)) {
        let mut pos = 0;
        while pos < data.len() {
            // In bounds: pos < data.len() (loop condition); d is 0 or 1 (callers pass a bool).
            let rest = &data[pos..];
            let lf = memchr::memchr(b'\n', rest);
            let lb = &mut self.lines[d];
            if lb.discard {
                // the end of the cut line: Suricata drops the rest of the chunk with it
                if lf.is_some() {
                    lb.discard = false;
                }
                return;
            }
            let Some(i) = lf else {
                let room = MAX_LINE.saturating_sub(lb.buf.len());
                // In bounds: min(room, rest.len()).
                lb.buf.extend_from_slice(&rest[..room.min(rest.len())]);
                if lb.buf.len() >= MAX_LINE {
                    let line = std::mem::take(&mut lb.buf);
                    lb.discard = true;
                    self.stats.lines_truncated += 1;
                    f(self, Line { bytes: &line, truncated: true });
                }
                return;
            };
            // In bounds: i < rest.len() (memchr found it there).
            let piece = &rest[..=i];
            pos += i + 1;
            let mut line = std::mem::take(&mut lb.buf);
            let full: &[u8] = if line.is_empty() {
                piece
            } else {
                line.extend_from_slice(piece);
                &line
            };
            if full.len() >= MAX_LINE {
                self.stats.lines_truncated += 1;
                // In bounds: full.len() >= MAX_LINE.
                f(self, Line { bytes: &full[..MAX_LINE], truncated: true });
                return;
            }
            let mut end = full.len() - 1;
            if end > 0 && full[end - 1] == b'\r' {
                end -= 1;
            }
            // In bounds: end < full.len().
            f(self, Line { bytes: &full[..end], truncated: false });
            if self.stopped {
                return;
            }
        }
    }

    fn new_tx(&mut self) -> Option<&mut FtpTx> {
        if let Some(first) = self.txs.front() {
            if self.next_id - first.id > MAX_TX_SPAN {
                if let Some(t) = self.txs.iter_mut().find(|t| !t.done) {
                    t.done = true;
                    t.event(EV_TOO_MANY_TXS);
                }
                self.stats.too_many_txs += 1;
                self.stopped = true;
                return None;
            }
        }
        if self.txs.len() >= MAX_TXS {
            self.txs.pop_front();
            self.stats.txs_evicted += 1;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.txs.push_back(FtpTx { id, ..FtpTx::default() });
        self.txs.back_mut()
    }

    /// Parses request bytes; `a` is where data connections are announced and `client` the
    /// client's first four address bytes (for `ftpbounce`). Returns false once parsing ended.
    pub(crate) fn parse_request(&mut self, data: &[u8], a: &Announce<'_>, client: [u8; 4]) -> bool {
        self.lines(0, data, &mut |s, l| s.request_line(l, a, client));
        !self.stopped
    }

    fn request_line(&mut self, l: Line<'_>, a: &Announce<'_>, client: [u8; 4]) {
        let Some(idx) = command::find(l.bytes) else {
            self.command = None;
            self.stats.unknown_commands += 1;
            return;
        };
        let Some((_, cmd)) = command::entry(idx) else { return };
        self.command = Some(cmd);
        self.stats.commands += 1;
        let mut trimmed = l.bytes;
        while let [rest @ .., last] = trimmed {
            if last.is_ascii_whitespace() || *last == 0x0b {
                trimmed = rest;
            } else {
                break;
            }
        }
        let (active, dyn_port) = (self.active, self.dyn_port);
        let Some(tx) = self.new_tx() else { return };
        tx.cmd = Some(idx);
        tx.request = trimmed.to_vec();
        tx.request_truncated = l.truncated;
        if l.truncated {
            tx.event(EV_REQUEST_TOO_LONG);
        }
        if cmd == Cmd::Port {
            tx.bounce = command::bounce(trimmed, client);
        }
        // the data connection's direction of transfer: to its initiator's peer for uploads in
        // active mode and downloads in passive mode (Suricata's `direction`)
        let to_server = !((active && matches!(cmd, Cmd::Stor | Cmd::Appe | Cmd::Stou))
            || (!active && matches!(cmd, Cmd::Retr | Cmd::Nlst | Cmd::List | Cmd::Mlsd)));
        let mut file = None;
        match cmd {
            Cmd::Port | Cmd::Eprt => {
                self.port_line.clear();
                self.port_line.extend_from_slice(trimmed);
                return;
            }
            Cmd::Retr | Cmd::Stor | Cmd::Appe if trimmed.len() < 6 => {
                tx.event(EV_FILE_WITHOUT_NAME);
                return;
            }
            Cmd::Retr | Cmd::Stor | Cmd::Appe | Cmd::Stou if trimmed.len() >= 6 => {
                // In bounds: trimmed.len() >= 6.
                let name = &trimmed[5..];
                file = Some(name[..name.len().min(MAX_FILENAME)].to_vec());
            }
            Cmd::Stou => file = Some(b"<stou>".to_vec()),
            Cmd::Nlst | Cmd::List | Cmd::Mlsd => {}
            _ => return,
        }
        if dyn_port == 0 {
            tx.event(EV_FILE_BEFORE_PORT);
            return;
        }
        let e = Expectation {
            proto: AppProto::FtpData,
            to_server,
            sp: 0,
            dp: dyn_port,
            parent_flow_id: a.flow_id,
            data: Box::new(Transfer { cmd, file_name: file }),
        };
        a.table.create(&a.ends, a.now, e, &mut self.expect_stats);
        self.stats.data_announced += 1;
        self.dyn_port = 0;
        self.active = false;
    }

    /// Parses reply bytes.
    pub(crate) fn parse_response(&mut self, data: &[u8]) {
        // transactions completed in an earlier chunk no longer take replies
        for t in self.txs.iter_mut().filter(|t| t.done) {
            t.retired = true;
        }
        self.lines(1, data, &mut |s, l| s.reply_line(l));
    }

    fn reply_tx(&mut self) -> Option<usize> {
        if let Some(i) = self.txs.iter().position(|t| !t.done && !t.retired) {
            return Some(i);
        }
        match self.txs.back() {
            Some(t) if !t.retired => Some(self.txs.len() - 1),
            _ => {
                let tx = self.new_tx()?;
                tx.replies_only = true;
                Some(self.txs.len() - 1)
            }
        }
    }

    fn reply_line(&mut self, l: Line<'_>) {
        self.stats.replies += 1;
        let Some(i) = self.reply_tx() else { return };
        let (command, port_line) = (self.command, &self.port_line);
        let mut port = None;
        let mut passive = None;
        // In bounds: reply_tx returned an index of txs.
        let tx = &mut self.txs[i];
        if command.is_none() {
            tx.cmd = None;
        }
        let complete_now = match command {
            Some(Cmd::Eprt) | Some(Cmd::Port) => {
                let p = if command == Some(Cmd::Port) {
                    command::port_cmd(port_line)
                } else {
                    command::eprt_cmd(port_line)
                };
                if p != 0 {
                    port = Some(p);
                    tx.dyn_port = p;
                    tx.active = true;
                }
                p == 0
            }
            Some(Cmd::Pasv) if l.bytes.starts_with(b"227 ") => {
                let p = command::pasv_reply(l.bytes);
                if p != 0 {
                    passive = Some(p);
                    tx.dyn_port = p;
                    tx.active = false;
                }
                false
            }
            Some(Cmd::Epsv) if l.bytes.starts_with(b"229 ") => {
                let p = command::epsv_reply(l.bytes);
                if p != 0 {
                    passive = Some(p);
                    tx.dyn_port = p;
                    tx.active = false;
                }
                false
            }
            _ => false,
        };
        if !complete_now {
            if let Some(r) = parse_reply(l.bytes, l.truncated) {
                if r.truncated {
                    tx.event(EV_RESPONSE_TOO_LONG);
                }
                if tx.replies.len() < MAX_REPLIES {
                    tx.replies.push(r);
                } else {
                    self.stats.replies_dropped += 1;
                }
            }
        }
        let ppr = !complete_now && is_preliminary(l.bytes);
        if !ppr {
            tx.done = true;
        }
        if let Some(p) = port {
            self.dyn_port = p;
            self.active = true;
        }
        if let Some(p) = passive {
            self.dyn_port = p;
            self.active = false;
        }
    }

    /// Frees the transactions up to and including `id`.
    fn free_upto(&mut self, id: u64) {
        while self.txs.front().is_some_and(|t| t.id <= id) {
            self.txs.pop_front();
        }
    }
}

impl Drop for FtpState {
    fn drop(&mut self) {
        if let Some((t, e)) = self.registered.take() {
            t.control_end(&e);
        }
    }
}

/// `1yz ` (a positive preliminary reply: the transaction stays open).
fn is_preliminary(line: &[u8]) -> bool {
    matches!(line, [b'1', b, c, d, ..] if b.is_ascii_digit() && c.is_ascii_digit() && d.is_ascii_whitespace())
}

/// A reply line as Suricata's `parse_response_line` splits it: trailing white space dropped,
/// a leading 3-digit code followed by a space taken apart; `None` for an empty line.
fn parse_reply(line: &[u8], truncated: bool) -> Option<Reply> {
    let s = String::from_utf8_lossy(line);
    let s = s.split("\r\n").next().unwrap_or("").trim_end();
    if s.is_empty() {
        return None;
    }
    let (code, text) = match s.split_once(' ') {
        Some((c, rest)) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()) => (c, rest),
        _ => ("", s),
    };
    Some(Reply { code: code.as_bytes().to_vec(), text: text.as_bytes().to_vec(), truncated })
}
