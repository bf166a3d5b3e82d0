//! SMTP: commands and replies, the envelope and the message, after Suricata's
//! `app-layer-smtp.c` (its semantics, our code).
//!
//! Takes: the in-order bytes of each direction, split however the segments fell.
//! Promises, as Suricata:
//! - lines end at LF (a CR before it dropped); a line of [`MAX_LINE`] bytes or more is cut
//!   there (event `TRUNCATED_LINE`) and the rest of it skipped;
//! - a command opens a transaction when none is open or the current one's request is
//!   complete (`RSET` and `QUIT` never open one); `HELO`/`EHLO` name the session (kept for
//!   every later transaction), `MAIL FROM` and `RCPT TO` fill the envelope; every command is
//!   queued and replies are matched to the queue in order (pipelining); a `354` to `DATA`
//!   (or the `DATA` itself when the server announced `PIPELINING`) starts the message, which
//!   goes line by line through the MIME decoder ([`mime`]) until the `.` line; `BDAT n [LAST]`
//!   takes n bytes as they come; a `220` to `STARTTLS` ends the parsing (the rest is TLS);
//! - attachments are files ([`crate::app::files`]: size, state, hashes) whose first
//!   [`FILE_DATA_LIMIT`] bytes `file.data` inspects.
//!
//! Bounded: a pending line is at most [`MAX_LINE`] bytes; at most [`MAX_TXS`] transactions
//! are held (the oldest evicted, counted), [`MAX_RCPT`] recipients, [`MAX_CMDS`] queued
//! commands (more: event `INVALID_PIPELINED_SEQUENCE`), [`MAX_FILES`] files per
//! transaction; the MIME decoder has its own limits. Never: panics on input.

mod detect;
mod eve;
pub mod mime;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

pub use detect::PROTOCOL;

use crate::app::files::{File, FileState, HashSet};

/// Longest line kept (Suricata's `SMTP_LINE_BUFFER_LIMIT`).
pub const MAX_LINE: usize = 4096;
/// Transactions held per flow.
pub const MAX_TXS: usize = 256;
/// Recipients kept per transaction.
pub const MAX_RCPT: usize = 1024;
/// Commands waiting for their reply.
pub const MAX_CMDS: usize = 256;
/// Files per transaction.
pub const MAX_FILES: usize = 64;
/// Bytes of attachments kept for `file.data` per transaction.
pub const FILE_DATA_LIMIT: usize = 100_000;

crate::app_counters! {
    /// SMTP counters (plain integers).
    pub struct SmtpStats {
        /// Command lines.
        commands,
        /// Reply lines.
        replies,
        /// Message lines (DATA) and BDAT bytes' lines.
        data_lines,
        /// Lines cut at the line limit.
        lines_truncated,
        /// Transactions evicted unfreed over the per-flow limit.
        txs_evicted,
        /// Recipients, commands, files or MIME items not kept over their limits.
        items_dropped,
        /// Attachments seen.
        files,
        /// Flows handed over to TLS by STARTTLS.
        starttls,
    }
}

/// Suricata's SMTP app-layer events, in the order of its enum.
pub const EVENTS: &[&str] = &[
    "INVALID_REPLY",
    "UNABLE_TO_MATCH_REPLY_WITH_REQUEST",
    "MAX_COMMAND_LINE_LEN_EXCEEDED",
    "MAX_REPLY_LINE_LEN_EXCEEDED",
    "INVALID_PIPELINED_SEQUENCE",
    "BDAT_CHUNK_LEN_EXCEEDED",
    "INVALID_BDAT",
    "NO_SERVER_WELCOME_MESSAGE",
    "TLS_REJECTED",
    "DATA_COMMAND_REJECTED",
    "FAILED_PROTOCOL_CHANGE",
    "MIME_PARSE_FAILED",
    "MIME_MALFORMED_MSG",
    "MIME_INVALID_BASE64",
    "MIME_INVALID_QP",
    "MIME_LONG_LINE",
    "MIME_LONG_ENC_LINE",
    "MIME_LONG_HEADER_NAME",
    "MIME_LONG_HEADER_VALUE",
    "MIME_LONG_BOUNDARY",
    "MIME_LONG_FILENAME",
    "DUPLICATE_FIELDS",
    "UNPARSABLE_CONTENT",
    "TRUNCATED_LINE",
];
/// Indexes into [`EVENTS`].
pub(crate) mod ev {
    pub(crate) const INVALID_REPLY: u16 = 0;
    pub(crate) const INVALID_PIPELINED_SEQUENCE: u16 = 4;
    pub(crate) const INVALID_BDAT: u16 = 6;
    pub(crate) const NO_SERVER_WELCOME_MESSAGE: u16 = 7;
    pub(crate) const TLS_REJECTED: u16 = 8;
    pub(crate) const DATA_COMMAND_REJECTED: u16 = 9;
    pub(crate) const MIME_INVALID_BASE64: u16 = 13;
    pub(crate) const MIME_INVALID_QP: u16 = 14;
    pub(crate) const MIME_LONG_LINE: u16 = 15;
    pub(crate) const MIME_LONG_ENC_LINE: u16 = 16;
    pub(crate) const MIME_LONG_HEADER_NAME: u16 = 17;
    pub(crate) const MIME_LONG_HEADER_VALUE: u16 = 18;
    pub(crate) const MIME_LONG_BOUNDARY: u16 = 19;
    pub(crate) const MIME_LONG_FILENAME: u16 = 20;
    pub(crate) const DUPLICATE_FIELDS: u16 = 21;
    pub(crate) const UNPARSABLE_CONTENT: u16 = 22;
    pub(crate) const TRUNCATED_LINE: u16 = 23;
}

/// What a queued command was, for its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    StartTls,
    Data,
    /// The end of a message (Suricata's `DATA_MODE` pseudo command).
    DataEnd,
    Bdat,
    BdatLast,
    Rset,
    Quit,
    Other,
}

/// Request progress (Picket's levels: started, data, complete).
const REQ_STARTED: u8 = 1;
const REQ_DATA: u8 = 2;

/// A transaction: an envelope and its message.
#[derive(Debug, Default)]
pub struct SmtpTx {
    /// Id within the flow.
    pub id: u64,
    /// The session's HELO/EHLO argument when the transaction was logged.
    pub helo: Option<Vec<u8>>,
    /// `MAIL FROM` argument.
    pub mail_from: Option<Vec<u8>>,
    /// `RCPT TO` arguments.
    pub rcpt_to: Vec<Vec<u8>>,
    /// A DATA command was seen.
    is_data: bool,
    /// The message's decoder (a DATA command was seen).
    pub mime: Option<Box<mime::Mime>>,
    /// Attachments.
    pub files: Vec<File>,
    /// The first attachment bytes, for `file.data`.
    pub file_content: Vec<u8>,
    progress_ts: u8,
    progress_tc: u8,
    /// App-layer events ([`EVENTS`] indexes).
    pub events: Vec<u16>,
}

impl SmtpTx {
    /// Raises `e` on the transaction: every time, as Suricata keeps each (a command before the
    /// welcome, each bad reply), up to its 255 events per transaction.
    fn event(&mut self, e: u16) {
        if self.events.len() < MAX_TX_EVENTS {
            self.events.push(e);
        }
    }

    fn complete_ts(&mut self) {
        self.progress_ts = crate::app::plugin::PROGRESS_DONE;
    }

    fn complete_tc(&mut self) {
        self.progress_tc = crate::app::plugin::PROGRESS_DONE;
    }

    fn request_complete(&self) -> bool {
        self.progress_ts == crate::app::plugin::PROGRESS_DONE
    }
}

/// Events a transaction keeps (Suricata's `AppLayerDecoderEvents` count is a `u8`).
const MAX_TX_EVENTS: usize = 255;

/// The MIME decoder's file sink: attachments of one transaction.
struct TxFiles<'a> {
    files: &'a mut Vec<File>,
    content: &'a mut Vec<u8>,
    hashes: HashSet,
    stats: &'a mut SmtpStats,
}

impl mime::Sink for TxFiles<'_> {
    fn file_open(&mut self, name: &[u8]) {
        if let Some(f) = self.files.last_mut() {
            f.close(FileState::Closed);
        }
        if self.files.len() >= MAX_FILES {
            self.stats.items_dropped += 1;
            return;
        }
        self.stats.files += 1;
        self.files.push(File::open(name, true, self.hashes));
    }

    fn file_data(&mut self, data: &[u8]) {
        if let Some(f) = self.files.last_mut() {
            if f.state == FileState::Open {
                f.data(data);
                let room = FILE_DATA_LIMIT.saturating_sub(self.content.len());
                // In bounds: min(room, len).
                self.content.extend_from_slice(&data[..room.min(data.len())]);
            }
        }
    }

    fn file_close(&mut self) {
        if let Some(f) = self.files.last_mut() {
            f.close(FileState::Closed);
        }
    }
}

/// What takes each line: the state, the line, its end's length, whether it was cut.
type LineFn<'a> = dyn FnMut(&mut SmtpState, &[u8], usize, bool) + 'a;

#[derive(Debug, Default)]
struct LineBuf {
    buf: Vec<u8>,
    discard: bool,
}

/// Per-flow SMTP state.
#[derive(Debug, Default)]
pub struct SmtpState {
    txs: VecDeque<SmtpTx>,
    next_id: u64,
    /// The transaction commands go to (its id).
    curr: Option<u64>,
    helo: Option<Vec<u8>>,
    lines: [LineBuf; 2],
    /// Commands waiting for replies, with the transaction each belongs to.
    cmds: VecDeque<(Cmd, Option<u64>)>,
    current: Option<Cmd>,
    data_mode: bool,
    first_reply_seen: bool,
    multiline: bool,
    pipelining: bool,
    bdat_len: u64,
    bdat_idx: u64,
    /// STARTTLS accepted: the rest is TLS.
    pub tls: bool,
    /// Files' hash settings.
    pub hashes: HashSet,
    /// Counters since the last hand-over.
    pub stats: SmtpStats,
    /// Events raised with no transaction yet, given to the next one.
    pending_events: Vec<u16>,
}

fn lower_eq(a: &[u8], lower: &[u8]) -> bool {
    a.len() >= lower.len() && a.iter().zip(lower).all(|(x, y)| x.to_ascii_lowercase() == *y)
}

/// The argument of `PREFIX arg [options]`: spaces skipped, up to the next space.
fn param(line: &[u8], prefix: usize) -> Vec<u8> {
    let rest = line.get(prefix + 1..).unwrap_or(&[]);
    let start = rest.iter().position(|&c| c != b' ').unwrap_or(rest.len());
    // In bounds: start <= rest.len().
    let rest = &rest[start..];
    let end = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
    rest[..end].to_vec()
}

/// `BDAT n [LAST]`: (n, last), `None` when malformed.
fn parse_bdat(line: &[u8]) -> Option<(u64, bool)> {
    let rest = line.get(4..)?;
    let sp = rest.iter().take_while(|&&c| c == b' ').count();
    if sp == 0 || sp == rest.len() {
        return None;
    }
    // In bounds: sp < rest.len().
    let rest = &rest[sp..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 10 {
        return None;
    }
    let n: u64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    if n > u64::from(u32::MAX) {
        return None;
    }
    let tail = &rest[digits..];
    if !tail.is_empty() && tail[0] != b' ' {
        return None;
    }
    let t = tail.iter().position(|&c| c != b' ').map_or(&[][..], |i| &tail[i..]);
    if t.is_empty() {
        Some((n, false))
    } else if t.len() == 4 && lower_eq(t, b"last") {
        Some((n, true))
    } else {
        None
    }
}

impl SmtpState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &SmtpTx> {
        self.txs.iter()
    }

    fn tx_mut(&mut self, id: Option<u64>) -> Option<&mut SmtpTx> {
        let id = id?;
        self.txs.iter_mut().find(|t| t.id == id)
    }

    fn event(&mut self, e: u16) {
        let curr = self.curr;
        match self.tx_mut(curr) {
            Some(t) => t.event(e),
            None => {
                if !self.pending_events.contains(&e) && self.pending_events.len() < EVENTS.len() {
                    self.pending_events.push(e);
                }
            }
        }
    }

    fn new_tx(&mut self) -> u64 {
        if self.txs.len() >= MAX_TXS {
            self.txs.pop_front();
            self.stats.txs_evicted += 1;
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut t = SmtpTx { id, progress_ts: REQ_STARTED, progress_tc: 0, ..SmtpTx::default() };
        t.helo = self.helo.clone();
        t.events = std::mem::take(&mut self.pending_events);
        self.txs.push_back(t);
        self.curr = Some(id);
        id
    }

    /// Splits data into lines of direction `d`; in BDAT mode bytes are counted, not lines.
    fn feed(&mut self, d: usize, mut data: &[u8], f: &mut LineFn<'_>) {
        while !data.is_empty() {
            if self.tls {
                return;
            }
            // BDAT chunk bytes are taken as they come
            if d == 0 && self.data_mode && matches!(self.current, Some(Cmd::Bdat | Cmd::BdatLast)) {
                let left = self.bdat_len.saturating_sub(self.bdat_idx);
                let take = (left as usize).min(data.len());
                self.bdat_idx += take as u64;
                self.stats.data_lines += 1;
                // In bounds: take <= data.len().
                data = &data[take..];
                if self.bdat_idx >= self.bdat_len {
                    self.bdat_done();
                }
                continue;
            }
            // a message body has no line limit (Suricata's SMTPPreProcessCommands): a long
            // line goes to the decoder in pieces, unless it may be a boundary
            let body = d == 0 && self.in_body();
            let lf = memchr::memchr(b'\n', data);
            // In bounds: d is 0 or 1.
            let lb = &mut self.lines[d];
            if lb.discard {
                match lf {
                    Some(i) => {
                        lb.discard = false;
                        // In bounds: i < data.len().
                        data = &data[i + 1..];
                        continue;
                    }
                    None => return,
                }
            }
            let Some(i) = lf else {
                let room = MAX_LINE.saturating_sub(lb.buf.len());
                lb.buf.extend_from_slice(&data[..room.min(data.len())]);
                let taken = room.min(data.len());
                if body && lb.buf.len() >= MAX_LINE && lb.buf.first() != Some(&b'-') {
                    let line = std::mem::take(&mut lb.buf);
                    f(self, &line, 0, false);
                    // In bounds: taken <= data.len().
                    data = &data[taken..];
                    continue;
                }
                if lb.buf.len() >= MAX_LINE {
                    let line = std::mem::take(&mut lb.buf);
                    lb.discard = true;
                    self.stats.lines_truncated += 1;
                    self.event(ev::TRUNCATED_LINE);
                    f(self, &line, 0, true);
                }
                return;
            };
            // In bounds: i < data.len().
            let piece = &data[..=i];
            data = &data[i + 1..];
            let mut line = std::mem::take(&mut lb.buf);
            line.extend_from_slice(piece);
            if line.len() > MAX_LINE && !(body && line.first() != Some(&b'-')) {
                self.stats.lines_truncated += 1;
                self.event(ev::TRUNCATED_LINE);
                f(self, &line[..MAX_LINE], 0, true);
                continue;
            }
            let mut end = line.len() - 1;
            let mut eol = 1;
            if end > 0 && line[end - 1] == b'\r' {
                end -= 1;
                eol = 2;
            }
            // In bounds: end < line.len().
            f(self, &line[..end], eol, false);
        }
    }

    /// The client is sending a message body (past its headers).
    fn in_body(&self) -> bool {
        self.data_mode
            && self.current == Some(Cmd::Data)
            && self
                .curr
                .and_then(|id| self.txs.iter().find(|t| t.id == id))
                .is_some_and(|t| t.mime.as_deref().is_some_and(|m| m.in_body()))
    }

    fn bdat_done(&mut self) {
        self.data_mode = false;
        if self.current == Some(Cmd::BdatLast) {
            let curr = self.curr;
            if let Some(t) = self.tx_mut(curr) {
                t.complete_ts();
            }
        }
    }

    /// Parses client bytes.
    pub fn parse_request(&mut self, data: &[u8]) {
        self.feed(0, data, &mut |s, l, eol, _| s.request_line(l, eol));
    }

    /// Parses server bytes.
    pub fn parse_response(&mut self, data: &[u8]) {
        self.feed(1, data, &mut |s, l, _, truncated| s.reply_line(l, truncated));
    }

    fn queue(&mut self, c: Cmd, tx: Option<u64>) {
        if self.cmds.len() >= MAX_CMDS {
            self.stats.items_dropped += 1;
            self.event(ev::INVALID_PIPELINED_SEQUENCE);
            return;
        }
        self.cmds.push_back((c, tx));
    }

    fn request_line(&mut self, line: &[u8], eol: usize) {
        if self.data_mode && self.current == Some(Cmd::Data) {
            self.data_line(line, eol);
            return;
        }
        if self.data_mode {
            // STARTTLS accepted: nothing more is parsed
            return;
        }
        self.stats.commands += 1;
        let no_new = lower_eq(line, b"rset") || lower_eq(line, b"quit");
        let curr_complete =
            self.curr.and_then(|id| self.txs.iter().find(|t| t.id == id)).is_none_or(|t| t.request_complete());
        let mut tx = self.curr;
        if (self.curr.is_none() && (self.next_id == 0 || !no_new)) || (self.curr.is_some() && curr_complete && !no_new)
        {
            tx = Some(self.new_tx());
        }
        if !self.first_reply_seen {
            self.event(ev::NO_SERVER_WELCOME_MESSAGE);
        }
        let cmd = if tx.is_none() {
            if lower_eq(line, b"rset") {
                self.bdat_idx = 0;
                Cmd::Rset
            } else {
                Cmd::Quit
            }
        } else if lower_eq(line, b"starttls") {
            Cmd::StartTls
        } else if lower_eq(line, b"data") {
            let already = self.tx_mut(tx).map(|t| {
                let a = t.is_data;
                t.progress_ts = t.progress_ts.max(REQ_DATA);
                t.is_data = true;
                if t.mime.is_none() {
                    t.mime = Some(Box::default());
                }
                a
            });
            if already == Some(true) {
                self.event(ev::UNPARSABLE_CONTENT);
                self.current = Some(Cmd::Data);
                return;
            }
            if self.pipelining {
                self.data_mode = true;
            }
            Cmd::Data
        } else if lower_eq(line, b"bdat") {
            match parse_bdat(line) {
                None => {
                    self.event(ev::INVALID_BDAT);
                    Cmd::Other
                }
                Some((n, last)) => {
                    self.bdat_len = n;
                    self.bdat_idx = 0;
                    if let Some(t) = self.tx_mut(tx) {
                        t.progress_ts = t.progress_ts.max(REQ_DATA);
                        if n == 0 && last {
                            t.complete_ts();
                        }
                    }
                    if n > 0 {
                        self.data_mode = true;
                    }
                    if last {
                        Cmd::BdatLast
                    } else {
                        Cmd::Bdat
                    }
                }
            }
        } else if let Some(c) = self.envelope_cmd(line, tx) {
            c
        } else if lower_eq(line, b"rset") {
            self.bdat_idx = 0;
            Cmd::Rset
        } else if lower_eq(line, b"quit") {
            Cmd::Quit
        } else {
            Cmd::Other
        };
        self.current = Some(cmd);
        self.queue(cmd, tx);
    }

    /// HELO/EHLO, MAIL FROM and RCPT TO: the envelope of transaction `tx`.
    fn envelope_cmd(&mut self, line: &[u8], tx: Option<u64>) -> Option<Cmd> {
        let c = if lower_eq(line, b"helo") || lower_eq(line, b"ehlo") {
            if self.helo.is_some() {
                self.event(ev::DUPLICATE_FIELDS);
            } else {
                let h = param(line, 4);
                self.helo = Some(h.clone());
                if let Some(t) = self.tx_mut(tx) {
                    t.helo = Some(h);
                }
            }
            let reset = self
                .tx_mut(tx)
                .is_some_and(|t| t.mail_from.is_some() || !t.rcpt_to.is_empty() || t.progress_ts != REQ_STARTED);
            if reset {
                self.bdat_idx = 0;
                Cmd::Rset
            } else {
                Cmd::Other
            }
        } else if lower_eq(line, b"mail from") {
            let dup = self.tx_mut(tx).is_some_and(|t| t.mail_from.is_some());
            if dup {
                self.event(ev::DUPLICATE_FIELDS);
            } else if let Some(t) = self.tx_mut(tx) {
                t.mail_from = Some(param(line, 9));
            }
            Cmd::Other
        } else if lower_eq(line, b"rcpt to") {
            let p = param(line, 7);
            let mut dropped = false;
            if let Some(t) = self.tx_mut(tx) {
                if t.rcpt_to.len() < MAX_RCPT {
                    t.rcpt_to.push(p);
                } else {
                    dropped = true;
                }
            }
            if dropped {
                self.stats.items_dropped += 1;
            }
            Cmd::Other
        } else {
            return None;
        };
        Some(c)
    }

    fn data_line(&mut self, line: &[u8], eol: usize) {
        self.stats.data_lines += 1;
        let curr = self.curr;
        let hashes = self.hashes;
        if line == b"." {
            self.data_mode = false;
            self.queue(Cmd::DataEnd, curr);
            let SmtpState { txs, stats, .. } = self;
            if let Some(t) = curr.and_then(|id| txs.iter_mut().find(|t| t.id == id)) {
                let SmtpTx { mime, files, file_content, .. } = t;
                if let Some(m) = mime.as_mut() {
                    let mut sink = TxFiles { files, content: file_content, hashes, stats };
                    m.complete(&mut sink);
                    let dropped = std::mem::take(&mut m.dropped);
                    stats.items_dropped += dropped;
                }
                if let Some(f) = t.files.last_mut() {
                    f.close(FileState::Closed);
                }
                t.complete_ts();
            }
            return;
        }
        let SmtpState { txs, stats, .. } = self;
        let Some(t) = curr.and_then(|id| txs.iter_mut().find(|t| t.id == id)) else { return };
        let SmtpTx { mime, files, file_content, events, .. } = t;
        let Some(m) = mime.as_mut() else { return };
        let mut sink = TxFiles { files, content: file_content, hashes, stats };
        let w = m.line(line, eol, &mut sink);
        for (bit, e) in [
            (mime::W_INVALID_BASE64, ev::MIME_INVALID_BASE64),
            (mime::W_INVALID_QP, ev::MIME_INVALID_QP),
            (mime::W_LONG_LINE, ev::MIME_LONG_LINE),
            (mime::W_LONG_ENC_LINE, ev::MIME_LONG_ENC_LINE),
            (mime::W_LONG_HEADER_NAME, ev::MIME_LONG_HEADER_NAME),
            (mime::W_LONG_HEADER_VALUE, ev::MIME_LONG_HEADER_VALUE),
            (mime::W_LONG_BOUNDARY, ev::MIME_LONG_BOUNDARY),
            (mime::W_LONG_FILENAME, ev::MIME_LONG_FILENAME),
        ] {
            if w & bit != 0 && !events.contains(&e) {
                events.push(e);
            }
        }
    }

    fn reply_line(&mut self, line: &[u8], truncated: bool) {
        if line.is_empty() {
            return;
        }
        self.stats.replies += 1;
        let _ = truncated;
        let reply_tx = match self.cmds.front() {
            Some((_, id)) => *id,
            None => self.curr,
        };
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            self.event(ev::INVALID_REPLY);
            return;
        }
        if line.len() >= 4 {
            if self.multiline {
                if line[3] != b'-' {
                    self.multiline = false;
                }
            } else if line[3] == b'-' {
                self.multiline = true;
            }
        } else {
            self.multiline = false;
        }
        let code = &line[..3];
        let Some(&(cmd, _)) = self.cmds.front() else {
            if !self.first_reply_seen {
                if !self.multiline {
                    self.first_reply_seen = true;
                }
                if code != b"220" {
                    self.event(ev::INVALID_REPLY);
                }
            }
            return;
        };
        let multiline = self.multiline;
        match cmd {
            Cmd::StartTls => {
                if code == b"220" {
                    self.data_mode = true;
                    self.tls = true;
                    self.stats.starttls += 1;
                    if let Some(t) = self.tx_mut(reply_tx) {
                        t.complete_ts();
                        t.complete_tc();
                    }
                } else {
                    self.event(ev::TLS_REJECTED);
                }
            }
            Cmd::Data => {
                if code == b"354" {
                    if let Some(t) = self.tx_mut(reply_tx) {
                        t.progress_tc = t.progress_tc.max(REQ_DATA);
                    }
                    self.data_mode = true;
                } else {
                    if self.pipelining {
                        self.data_mode = false;
                    }
                    self.event(ev::DATA_COMMAND_REJECTED);
                }
            }
            Cmd::Bdat => {
                if let Some(t) = self.tx_mut(reply_tx) {
                    t.progress_tc = t.progress_tc.max(REQ_DATA);
                }
            }
            Cmd::BdatLast | Cmd::DataEnd => {
                if !multiline {
                    if let Some(t) = self.tx_mut(reply_tx) {
                        t.complete_tc();
                    }
                }
            }
            Cmd::Rset => {
                if code == b"250" && !multiline {
                    if let Some(t) = self.tx_mut(reply_tx) {
                        t.complete_ts();
                        t.complete_tc();
                    }
                }
            }
            Cmd::Quit => {
                if code == b"221" && !multiline {
                    if let Some(t) = self.tx_mut(reply_tx) {
                        t.complete_ts();
                        t.complete_tc();
                    }
                }
            }
            Cmd::Other => {}
        }
        if !multiline {
            self.cmds.pop_front();
        } else if self.first_reply_seen
            && code == b"250"
            && line.len() == 14
            && line[4..].eq_ignore_ascii_case(b"pipelining")
        {
            self.pipelining = true;
        }
    }

    /// Frees the transactions `done` says are finished with (oldest first, in order).
    fn free(&mut self, done: &dyn Fn(&SmtpTx) -> bool) -> Option<u64> {
        let mut freed = None;
        while let Some(t) = self.txs.front() {
            if Some(t.id) == self.curr || !done(t) {
                break;
            }
            freed = Some(t.id);
            self.txs.pop_front();
        }
        freed
    }
}
