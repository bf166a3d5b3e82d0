//! The HTTP/1 state machine of one direction: lines, headers, bodies (length, chunked, to
//! close), trailers, content codings, tunnels, and the transactions both directions fill.

use super::decompress::Decoder;
use super::headers::{contains_nocase_nozero, end_of_block, field, line_eol, line_lf, split_field, trim, Find, Side};
use std::collections::VecDeque;

use super::framing::*;
use super::uri;
use super::*;
use crate::app::files::FileState;

/// libhtp's bound on the whitespace that may follow an HTTP/0.9 request line in its chunk.
pub(super) const HTTP09_MAX_JUNK_LEN: usize = 16;

/// libhtp's URI of a transaction made for a response whose request was not seen.
const REQUEST_URI_NOT_SEEN: &[u8] = b"/libhtp::request_uri_not_seen";

/// Where a direction's parser is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum St {
    /// Expecting a request or status line.
    Line,
    /// In the header block.
    Headers,
    /// In the trailer block after the last chunk.
    Trailers,
    /// Body of known length: `left` bytes to go.
    BodyLen,
    /// Expecting a chunk-size line.
    ChunkLen,
    /// Inside a chunk: `left` bytes to go.
    ChunkData,
    /// After a chunk's data: skipping to the end of the line.
    ChunkEnd,
    /// Body until the connection closes.
    BodyClose,
    /// Response body done: looking at what comes next (libhtp `response_finalize`).
    Finalize,
    /// CONNECT sent: waiting for the response to say whether a tunnel follows.
    ConnectWait,
    /// Not HTTP any more (tunnel, upgrade) or lost (gap, fatal error): bytes are ignored.
    Off,
}

/// One direction's parser.
#[derive(Debug)]
pub(super) struct Dir {
    pub(super) side: Side,
    pub(super) st: St,
    /// Unconsumed bytes (an incomplete line), at most about `max_header_bytes`.
    pub(super) buf: Vec<u8>,
    /// The transaction this direction is filling.
    pub(super) tx: Option<u64>,
    pub(super) left: u64,
    /// Discarding the rest of an over-long line.
    pub(super) skip_to_lf: bool,
    /// Fields read in the current header block.
    pub(super) fields: usize,
    pub(super) decoder: Option<Decoder>,
    pub(super) closed: bool,
    /// Stream offset of the data of the current call (set by the plug-in, for frames).
    pub(super) call_off: u64,
    /// Stream offset of the bytes `run` looks at, and of its current step.
    base: u64,
    pub(super) at: u64,
    /// Stream offset where the message being parsed started, once it did.
    msg_start: Option<u64>,
    /// The message that started there was completed by the current step.
    completed: Option<u64>,
}

impl Dir {
    pub(super) fn new(side: Side) -> Self {
        Dir {
            side,
            st: St::Line,
            buf: Vec::new(),
            tx: None,
            left: 0,
            skip_to_lf: false,
            fields: 0,
            decoder: None,
            closed: false,
            call_off: 0,
            base: 0,
            at: 0,
            msg_start: None,
            completed: None,
        }
    }

    fn to_server(&self) -> bool {
        self.side == Side::Request
    }
}

/// Transaction bookkeeping shared by both directions.
#[derive(Debug, Default)]
pub(super) struct Txs {
    pub(super) list: VecDeque<HttpTx>,
    /// Id of the next transaction to create.
    pub(super) next_id: u64,
    /// Id the next request goes to.
    pub(super) req_next: u64,
    /// Id the next response goes to.
    pub(super) res_next: u64,
    /// Bytes of the next request's line arrived, its transaction not made yet (libhtp's
    /// request progress is past NOT_STARTED: a response now pairs with that request).
    pub(super) req_line_pending: bool,
    /// Transactions a direction is filling (never evicted): [request, response].
    pub(super) busy: [Option<u64>; 2],
    /// Stand-ins for a message whose transaction was evicted before it started, so that
    /// its framing can still be parsed: [request, response].
    pub(super) scratch: [HttpTx; 2],
    /// Events raised since the parser's caller last counted them.
    pub(super) raised: Vec<u16>,
    /// Frames are wanted: messages completed are listed in `frames`.
    pub(super) frames_on: bool,
    /// Messages completed in the current call, as frames: (direction, stream offset,
    /// length, transaction).
    pub(super) frames: Vec<(bool, u64, u64, u64)>,
}

impl Txs {
    /// The transaction a direction fills, or its stand-in when it was evicted.
    fn get_for(&mut self, id: Option<u64>, req: bool) -> Option<&mut HttpTx> {
        let want = id?;
        let idx = usize::from(!req);
        match self.list.iter().rposition(|t| t.id == want) {
            Some(p) => self.list.get_mut(p),
            None => self.scratch.get_mut(idx),
        }
    }

    /// Raises app-layer event `e` on the transaction a direction fills.
    pub(super) fn raise(&mut self, id: Option<u64>, req: bool, e: u16) {
        let new = self.get_for(id, req).is_some_and(|t| t.events.raise(e));
        if new && self.raised.len() < 64 {
            self.raised.push(e);
        }
    }

    /// Raises `e` even when the transaction has it already (libhtp warns once per repeated
    /// header name, and Suricata keeps every warning).
    fn raise_again(&mut self, id: Option<u64>, req: bool, e: u16) {
        let new = self.get_for(id, req).is_some_and(|t| t.events.push(e));
        if new && self.raised.len() < 64 {
            self.raised.push(e);
        }
    }

    /// The transaction with `id`, created (and older ones evicted over the cap) if needed.
    fn obtain(&mut self, id: u64, max: usize, stats: &mut HttpStats) -> u64 {
        if id < self.next_id {
            return id;
        }
        while self.next_id <= id {
            while self.list.len() >= max.max(1) {
                // The oldest transaction no direction is filling.
                let busy = self.busy;
                match self.list.iter().position(|t| !busy.contains(&Some(t.id))) {
                    Some(p) => {
                        self.list.remove(p);
                        stats.txs_evicted += 1;
                    }
                    None => break,
                }
            }
            self.list.push_back(HttpTx { id: self.next_id, ..Default::default() });
            self.next_id += 1;
        }
        id
    }
}

pub(super) struct Cx<'a> {
    pub(super) cfg: &'a HttpConfig,
    pub(super) txs: &'a mut Txs,
    pub(super) stats: &'a mut HttpStats,
    /// Set when the response side decided the request side's fate after CONNECT/101:
    /// Some(true) = tunnel, Some(false) = carry on parsing requests.
    pub(super) tunnel: Option<bool>,
}

impl Dir {
    /// Runs the parser over pending bytes plus `data`; keeps only an incomplete line.
    pub(super) fn feed(&mut self, mut data: &[u8], eof: bool, cx: &mut Cx<'_>) {
        if self.st == St::Off {
            return;
        }
        if self.to_server() && self.st == St::Line && !data.is_empty() {
            cx.txs.req_line_pending = true;
        }
        self.base = self.call_off.saturating_sub(self.buf.len() as u64);
        if self.skip_to_lf {
            match data.iter().position(|&c| c == b'\n') {
                Some(p) => {
                    // p + 1 bytes skipped, one LF stands for them
                    self.base += p as u64;
                    self.skip_to_lf = false;
                    self.buf.push(b'\n');
                    data = data.get(p + 1..).unwrap_or(&[]);
                }
                None => {
                    if eof {
                        self.skip_to_lf = false;
                    } else {
                        return;
                    }
                }
            }
        }
        if self.buf.is_empty() {
            let used = self.run(data, eof, cx);
            self.buf.extend_from_slice(data.get(used..).unwrap_or(&[]));
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.extend_from_slice(data);
            let used = self.run(&buf, eof, cx);
            buf.drain(..used.min(buf.len()));
            self.buf = buf;
        }
        if eof {
            self.buf.clear();
            return;
        }
        let max = cx.cfg.max_header_bytes.max(64);
        if self.buf.len() > max {
            match self.st {
                St::Off | St::BodyClose | St::BodyLen | St::ChunkData | St::ChunkEnd => {
                    // Not a line state: nothing should be pending.
                    self.buf.clear();
                }
                _ => {
                    // An over-long line: keep its start, drop the rest up to its LF.
                    cx.stats.header_too_long += 1;
                    let has_lf = self.buf.get(max..).is_some_and(|t| t.contains(&b'\n'));
                    let tail_start =
                        self.buf.get(max..).and_then(|t| t.iter().position(|&c| c == b'\n')).map(|p| max + p);
                    match tail_start {
                        Some(p) if has_lf => {
                            self.buf.drain(max..p);
                        }
                        _ => {
                            self.buf.truncate(max);
                            self.skip_to_lf = true;
                        }
                    }
                    // Parse what is now complete.
                    let mut buf = std::mem::take(&mut self.buf);
                    let used = self.run(&buf, false, cx);
                    buf.drain(..used.min(buf.len()));
                    if buf.len() > max + 8 {
                        // Still stuck (should not happen): give up on this line.
                        buf.clear();
                        cx.stats.parse_errors += 1;
                    }
                    self.buf = buf;
                }
            }
        }
    }

    /// `len` bytes are missing. As libhtp: a gap is taken inside a body of known length or
    /// read to the close (and ends a body it completes); anywhere else it is refused
    /// (`INVALID_GAP`, except before the first message) and parsing goes on where it was, as
    /// if the bytes had not existed.
    pub(super) fn gap(&mut self, len: u64, cx: &mut Cx<'_>) {
        match self.st {
            St::BodyLen if len < self.left => {
                self.left -= len;
                self.body_gap(len, cx);
            }
            St::BodyLen => {
                // the body ends in the gap: completed, then the gap is refused (idle state)
                let n = std::mem::take(&mut self.left);
                self.body_gap(n, cx);
                self.complete(cx);
                self.refuse_gap(cx);
            }
            St::BodyClose => self.body_gap(len, cx),
            St::Off => {}
            St::Finalize => {
                self.complete(cx);
                self.refuse_gap(cx);
            }
            St::Line if self.buf.is_empty() && cx.txs.next_id == 0 => {} // before any message: no event
            _ => self.refuse_gap(cx),
        }
    }

    /// A gap libhtp does not take: `INVALID_GAP` on the transaction Suricata's event goes to
    /// (a request's: the latest; a response's: the one being read, else the next to answer,
    /// else the last), every time.
    fn refuse_gap(&mut self, cx: &mut Cx<'_>) {
        cx.stats.gaps_refused += 1;
        let req = self.to_server();
        let id = if req {
            cx.txs.next_id.checked_sub(1)
        } else if self.st != St::Line {
            self.tx
        } else if cx.txs.res_next < cx.txs.next_id {
            Some(cx.txs.res_next)
        } else {
            cx.txs.next_id.checked_sub(1)
        };
        cx.txs.raise_again(id, req, super::event::INVALID_GAP);
    }

    fn body_gap(&mut self, len: u64, cx: &mut Cx<'_>) {
        // libhtp ends decompression at a gap; a body sent as is goes on after it (Suricata's
        // file counts the missing bytes and the ones after them, and ends TRUNCATED).
        let coded = self.decoder.take().is_some();
        if let Some(m) = self.msg_mut(cx) {
            if !m.body_gap {
                m.file_after_gap = !coded;
            }
            m.body_gap = true;
            m.message_len += len;
            // a multipart body loses its place: its parts are cut
            m.multipart = None;
            for f in m.files_mut() {
                f.gap(len);
            }
        }
    }

    /// Processes `b` as far as possible; returns the bytes consumed.
    fn run(&mut self, b: &[u8], eof: bool, cx: &mut Cx<'_>) -> usize {
        let mut i = 0;
        loop {
            let rest = b.get(i..).unwrap_or(&[]);
            self.at = self.base + i as u64;
            let framing = matches!(self.st, St::ChunkLen | St::ChunkEnd);
            let step = match self.st {
                St::Line => self.st_line(rest, eof, cx),
                St::Headers | St::Trailers => self.st_headers(rest, eof, cx),
                St::BodyLen | St::ChunkData => {
                    if rest.is_empty() {
                        if eof {
                            self.end_body(cx);
                            if self.st == St::Finalize {
                                self.complete(cx);
                            }
                        }
                        None
                    } else {
                        let n = rest.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
                        self.body(rest.get(..n).unwrap_or(&[]), cx);
                        self.left -= n as u64;
                        if self.left == 0 {
                            if self.st == St::ChunkData {
                                self.st = St::ChunkEnd;
                            } else {
                                self.end_body(cx);
                            }
                        }
                        Some(n)
                    }
                }
                St::ChunkLen => self.st_chunk_len(rest, eof, cx),
                St::ChunkEnd => match rest.iter().position(|&c| c == b'\n') {
                    Some(p) => {
                        self.st = St::ChunkLen;
                        Some(p + 1)
                    }
                    None => {
                        if eof {
                            self.end_body(cx);
                            self.complete(cx);
                            None
                        } else if rest.is_empty() {
                            None
                        } else {
                            Some(rest.len())
                        }
                    }
                },
                St::BodyClose => {
                    if !rest.is_empty() {
                        self.body(rest, cx);
                    }
                    if eof {
                        self.end_body(cx);
                        self.complete(cx);
                    }
                    if rest.is_empty() {
                        None
                    } else {
                        Some(rest.len())
                    }
                }
                St::Finalize => self.st_finalize(rest, eof, cx),
                St::ConnectWait | St::Off => None,
            };
            if let Some(start) = self.completed.take() {
                let end = self.at + step.unwrap_or(0) as u64;
                if cx.txs.frames_on {
                    let tx = self.tx.unwrap_or(0);
                    cx.txs.frames.push((self.to_server(), start, end.saturating_sub(start), tx));
                }
            }
            match step {
                Some(n) => {
                    if framing && n > 0 {
                        // libhtp's message_len counts the chunk framing too
                        if let Some(m) = self.msg_mut(cx) {
                            m.message_len += n as u64;
                        }
                    }
                    i += n;
                    if n == 0 && rest.is_empty() {
                        return i;
                    }
                }
                None => return i,
            }
        }
    }

    pub(super) fn tx_mut<'c>(&self, cx: &'c mut Cx<'_>) -> Option<&'c mut HttpTx> {
        cx.txs.get_for(self.tx, self.to_server())
    }

    fn msg_mut<'c>(&self, cx: &'c mut Cx<'_>) -> Option<&'c mut HttpMessage> {
        let req = self.to_server();
        cx.txs.get_for(self.tx, req).map(|t| if req { &mut t.request } else { &mut t.response })
    }

    /// Starts this direction's next message: picks (or creates) its transaction.
    fn start_message(&mut self, cx: &mut Cx<'_>) {
        self.msg_start = Some(self.at);
        let id = if self.to_server() {
            let id = cx.txs.req_next;
            cx.txs.req_next += 1;
            cx.txs.req_line_pending = false;
            id
        } else {
            let id = cx.txs.res_next;
            cx.txs.res_next += 1;
            id
        };
        let unmatched = !self.to_server() && id >= cx.txs.req_next && !cx.txs.req_line_pending;
        let max = cx.cfg.max_txs;
        let idx = usize::from(!self.to_server());
        if let Some(b) = cx.txs.busy.get_mut(idx) {
            *b = None;
        }
        self.tx = Some(cx.txs.obtain(id, max, cx.stats));
        if let Some(b) = cx.txs.busy.get_mut(idx) {
            *b = self.tx;
        }
        if let Some(s) = cx.txs.scratch.get_mut(idx) {
            *s = HttpTx { id, ..Default::default() };
        }
        self.fields = 0;
        self.decoder = None;
        if unmatched {
            // libhtp: a response whose request never started gets a transaction of its own,
            // its request complete with this URI, and the next request a new transaction.
            cx.stats.responses_without_request += 1;
            cx.txs.req_next = id + 1;
            cx.txs.raise(self.tx, false, super::event::UNABLE_TO_MATCH_RESPONSE_TO_REQUEST);
            if let Some(t) = self.tx_mut(cx) {
                t.uri_raw = REQUEST_URI_NOT_SEEN.to_vec();
                t.uri = REQUEST_URI_NOT_SEEN.to_vec();
                t.request_line_done = true;
                t.request_headers_done = true;
                t.request_complete = true;
            }
        }
    }

    fn st_line(&mut self, b: &[u8], eof: bool, cx: &mut Cx<'_>) -> Option<usize> {
        if b.is_empty() {
            return None;
        }
        let line = match self.side {
            Side::Request => line_lf(b, eof),
            Side::Response => line_eol(b, eof),
        };
        let Find::Got(l) = line else { return None };
        let with_eol = b.get(..l.len).unwrap_or(&[]);
        let content = b.get(..l.content).unwrap_or(&[]);
        // Empty lines between messages are ignored (libhtp `is_line_ignorable`).
        if matches!(with_eol, b"\r" | b"\n" | b"\r\n") {
            return Some(l.len);
        }
        match self.side {
            Side::Request => {
                self.start_message(cx);
                cx.stats.requests += 1;
                self.request_line(chomp(content), b.get(l.len..).unwrap_or(&[]), cx);
                Some(l.len)
            }
            Side::Response => {
                // libhtp: the answer to an HTTP/0.9 request has no status line or headers.
                let next = cx.txs.res_next;
                if cx.txs.list.iter().any(|t| t.id == next && t.http09) {
                    self.start_message(cx);
                    cx.stats.responses += 1;
                    self.st = St::BodyClose;
                    return Some(0);
                }
                if !looks_like_http(with_eol) {
                    // libhtp: skip the line if the next one starts with 'H' or it is tiny.
                    let after = b.get(l.len..).unwrap_or(&[]);
                    if after.len() < 2 && !eof {
                        return None;
                    }
                    if after.len() > 1 && (after.first() == Some(&b'H') || chomp(with_eol).len() <= 2) {
                        return Some(l.len);
                    }
                    // A response without status line: everything until close is its body.
                    cx.stats.parse_errors += 1;
                    cx.stats.responses += 1;
                    self.start_message(cx);
                    self.st = St::BodyClose;
                    return Some(0);
                }
                self.start_message(cx);
                cx.stats.responses += 1;
                self.status_line(chomp(content), cx);
                Some(l.len)
            }
        }
    }

    fn st_headers(&mut self, b: &[u8], eof: bool, cx: &mut Cx<'_>) -> Option<usize> {
        let first = self.fields == 0;
        match end_of_block(b, self.side, first, eof) {
            None => return None,
            Some(0) if b.is_empty() => {
                // eof inside the header block: what we have is the block.
                self.end_of_headers(cx);
                return if self.st == St::Headers || self.st == St::Trailers { None } else { Some(0) };
            }
            Some(0) => {}
            Some(n) => {
                self.raw_header(b.get(..n).unwrap_or(&[]), cx);
                self.end_of_headers(cx);
                return Some(n);
            }
        }
        let Find::Got((c, n)) = field(b, self.side, eof) else { return None };
        self.raw_header(b.get(..n).unwrap_or(&[]), cx);
        let (name, value) = split_field(b.get(..c).unwrap_or(&[]), self.side);
        self.fields += 1;
        self.add_header(name, value, cx);
        Some(n)
    }

    fn raw_header(&mut self, raw: &[u8], cx: &mut Cx<'_>) {
        let cap = cx.cfg.max_raw_header_bytes;
        let mut cut = false;
        if let Some(m) = self.msg_mut(cx) {
            let room = cap.saturating_sub(m.raw_headers.len());
            if raw.len() > room {
                cut = room > 0 || !raw.is_empty();
            }
            m.raw_headers.extend_from_slice(raw.get(..raw.len().min(room)).unwrap_or(&[]));
        }
        if cut && self.fields == 0 {
            cx.stats.raw_headers_truncated += 1;
        }
    }

    fn add_header(&mut self, name: Vec<u8>, value: Vec<u8>, cx: &mut Cx<'_>) {
        let max = cx.cfg.max_headers;
        let max_bytes = cx.cfg.max_raw_header_bytes;
        let mut dropped = false;
        let mut repeated = false;
        if let Some(m) = self.msg_mut(cx) {
            let room = max_bytes.saturating_sub(m.header_bytes);
            if let Some(h) = m.headers.iter_mut().find(|h| h.name.eq_ignore_ascii_case(&name)) {
                repeated = h.repeats == 0;
                if h.repeats < 64 && !h.name.eq_ignore_ascii_case(b"content-length") {
                    if value.len() + 2 <= room {
                        h.value.extend_from_slice(b", ");
                        h.value.extend_from_slice(&value);
                        m.header_bytes += value.len() + 2;
                    } else {
                        dropped = true;
                    }
                }
                h.repeats = h.repeats.saturating_add(1);
            } else if m.headers.len() >= max || name.len() + value.len() > room {
                dropped = true;
            } else {
                m.header_bytes += name.len() + value.len();
                m.headers.push(HttpHeader { name, value, repeats: 0 });
            }
        }
        if dropped {
            cx.stats.headers_too_many += 1;
        }
        if repeated {
            let req = self.to_server();
            let e =
                if req { super::event::REQUEST_HEADER_REPETITION } else { super::event::RESPONSE_HEADER_REPETITION };
            cx.txs.raise_again(self.tx, req, e);
        }
    }

    fn end_of_headers(&mut self, cx: &mut Cx<'_>) {
        let req = self.to_server();
        if self.st == St::Trailers {
            if let Some(m) = self.msg_mut(cx) {
                m.build(req);
            }
            if req {
                self.complete(cx);
            } else {
                self.st = St::Finalize;
            }
            return;
        }
        if let Some(t) = self.tx_mut(cx) {
            if req {
                t.request.build(true);
                t.request_headers_done = true;
                if !t.has_host {
                    if let Some(h) = t.request.header(b"host") {
                        let h = h.to_vec();
                        let (host, _) = uri::split_host_port(&h);
                        t.host = trim(host).to_ascii_lowercase();
                        t.host_raw = h;
                        t.has_host = true;
                    }
                }
            } else {
                t.response.build(false);
                t.response_headers_done = true;
            }
        }
        if req {
            self.request_body_determine(cx);
        } else {
            self.response_body_determine(cx);
        }
    }

    fn request_body_determine(&mut self, cx: &mut Cx<'_>) {
        let Some(t) = self.tx_mut(cx) else {
            self.st = St::Line;
            return;
        };
        let te = t.request.header_nozero(b"transfer-encoding");
        let chunked = te.is_some_and(|v| contains_nocase_nozero(v, b"chunked"));
        // libhtp's HTP_FLAGS_REQUEST_INVALID_T_E: a Transfer-Encoding that is not chunked, or
        // chunked in a request older than HTTP/1.1
        let invalid_te = te.is_some() && (!chunked || !at_least_http11(&t.request.protocol));
        let cl_raw = t.request.header_nozero(b"content-length");
        let cl = cl_raw.map(parse_content_length);
        // libhtp reads a request's length only without a Transfer-Encoding, warning of junk
        // before the digits
        let cl_junk = te.is_none() && cl_raw.is_some_and(content_length_junk_before);
        let connect = t.method.eq_ignore_ascii_case(b"CONNECT");
        if invalid_te {
            cx.txs.raise(self.tx, true, super::event::INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST);
        }
        if cl_junk {
            cx.txs.raise(self.tx, true, super::event::CONTENT_LENGTH_EXTRA_DATA_START);
        }
        if chunked {
            self.st = St::ChunkLen;
        } else if let Some(cl) = cl {
            match cl {
                Some(0) => self.complete(cx),
                Some(n) => {
                    self.left = n;
                    self.st = St::BodyLen;
                }
                None => {
                    cx.stats.parse_errors += 1;
                    self.complete(cx);
                }
            }
        } else {
            self.complete(cx);
        }
        if connect && self.st == St::Line {
            self.st = St::ConnectWait;
        }
        // Suricata has libhtp decompress request bodies too (`request_decompression`).
        if matches!(self.st, St::BodyLen | St::ChunkLen) {
            self.set_decoder(true, cx);
        }
    }

    /// A decoder for the message's `Content-Encoding`, if it names codings.
    fn set_decoder(&mut self, req: bool, cx: &mut Cx<'_>) {
        let limit = cx.cfg.decompress_layer_limit;
        let Some(t) = cx.txs.get_for(self.tx, req) else { return };
        let m = if req { &t.request } else { &t.response };
        let Some(ce) = m.header_nozero(b"content-encoding") else { return };
        let dropped = cx.stats.decompress_layers_dropped;
        let c = codings(ce, limit, cx.stats);
        if cx.stats.decompress_layers_dropped != dropped {
            cx.txs.raise(self.tx, req, super::event::TOO_MANY_ENCODING_LAYERS);
        }
        if !c.is_empty() {
            self.decoder = Some(Decoder::new(&c));
        }
    }

    fn response_body_determine(&mut self, cx: &mut Cx<'_>) {
        let Some(t) = cx.txs.get_for(self.tx, false) else {
            self.st = St::BodyClose;
            return;
        };
        let te = t.response.header_nozero(b"transfer-encoding").map(<[u8]>::to_vec);
        let cl_raw = t.response.header_nozero(b"content-length");
        let cl = cl_raw.map(parse_content_length);
        // libhtp reads a response's length (unless chunked) warning of junk before the digits
        let cl_junk = cl_raw.is_some_and(content_length_junk_before)
            && !te.as_deref().is_some_and(|v| contains_nocase_nozero(v, b"chunked"));
        let status = t.status_num;
        let connect = t.method.eq_ignore_ascii_case(b"CONNECT");
        let head = t.method.eq_ignore_ascii_case(b"HEAD");
        if connect {
            if (200..300).contains(&status) {
                // Tunnel established: neither side is HTTP any more.
                t.response_complete = true;
                cx.tunnel = Some(true);
                self.st = St::Off;
                return;
            }
            cx.tunnel = Some(false);
        }
        if status == 101 && te.is_none() && cl.is_none() {
            t.response_complete = true;
            cx.tunnel = Some(true);
            self.st = St::Off;
            return;
        }
        if status == 100 && te.is_none() && !matches!(cl, Some(Some(n)) if n > 0) {
            // Interim response: forget it and read the real status line into the same tx.
            t.response = HttpMessage::default();
            t.response_line_done = false;
            t.response_headers_done = false;
            t.status.clear();
            t.status_msg.clear();
            t.status_num = 0;
            self.fields = 0;
            self.st = St::Line;
            cx.txs.res_next = cx.txs.res_next.saturating_sub(1);
            return;
        }
        let no_body_status = (100..200).contains(&status) || status == 204 || status == 304;
        if head || (no_body_status && te.is_none() && cl.is_none()) {
            self.complete(cx);
            return;
        }
        if no_body_status {
            cx.txs.raise(self.tx, false, super::event::RESPONSE_BODY_UNEXPECTED);
        }
        if cl_junk {
            cx.txs.raise(self.tx, false, super::event::CONTENT_LENGTH_EXTRA_DATA_START);
        }
        if te.as_deref().is_some_and(|v| contains_nocase_nozero(v, b"chunked")) {
            self.st = St::ChunkLen;
        } else if let Some(cl) = cl {
            match cl {
                Some(0) => {
                    self.complete(cx);
                    return;
                }
                Some(n) => {
                    self.left = n;
                    self.st = St::BodyLen;
                }
                None => {
                    // libhtp stops parsing the response stream on an unusable length.
                    cx.stats.parse_errors += 1;
                    self.st = St::Off;
                    return;
                }
            }
        } else {
            self.st = St::BodyClose;
        }
        self.set_decoder(false, cx);
    }

    fn st_chunk_len(&mut self, b: &[u8], eof: bool, cx: &mut Cx<'_>) -> Option<usize> {
        match line_lf(b, false) {
            Find::Got(l) => {
                let line = b.get(..l.len).unwrap_or(&[]);
                if line.iter().all(|&c| matches!(c, b'\r' | b'\n' | b' ' | b'\t' | 0x0b | 0x0c)) {
                    return Some(l.len);
                }
                match parse_chunk_len(line) {
                    Ok(Some(0)) => {
                        self.st = St::Trailers;
                        self.fields = 0;
                        Some(l.len)
                    }
                    Ok(Some(n)) => {
                        self.left = n;
                        self.st = St::ChunkData;
                        Some(l.len)
                    }
                    Ok(None) => Some(l.len),
                    Err(()) => {
                        // Not chunked after all: the rest is body until close.
                        cx.stats.parse_errors += 1;
                        self.st = St::BodyClose;
                        Some(0)
                    }
                }
            }
            Find::Need => {
                if !chunk_len_prefix_ok(b) {
                    cx.stats.parse_errors += 1;
                    self.st = St::BodyClose;
                    return Some(0);
                }
                if eof {
                    self.end_body(cx);
                    self.complete(cx);
                }
                None
            }
        }
    }

    fn st_finalize(&mut self, b: &[u8], eof: bool, cx: &mut Cx<'_>) -> Option<usize> {
        // libhtp `response_finalize`: the body is over; bytes that follow and do not start a
        // response line are more body.
        if b.is_empty() {
            self.complete(cx);
            return None;
        }
        let line_len = if b.first() == Some(&b'\n') {
            b.len()
        } else {
            match line_lf(b, eof) {
                Find::Got(l) => l.len,
                Find::Need => return None,
            }
        };
        let line = b.get(..line_len).unwrap_or(&[]);
        if looks_like_http(line) {
            self.complete(cx);
            return Some(0);
        }
        cx.txs.raise(self.tx, false, super::event::RESPONSE_BODY_UNEXPECTED);
        if self.decoder.is_some() {
            // libhtp's decompressor is finished by now: it treats this as a stream error.
            cx.stats.parse_errors += 1;
            self.complete(cx);
            self.st = St::Off;
            return None;
        }
        self.body(line, cx);
        Some(line_len)
    }

    /// Body bytes (dechunked): decompressed when a decoder is set, kept up to the limit.
    fn body(&mut self, data: &[u8], cx: &mut Cx<'_>) {
        let req = self.to_server();
        let limit = if req { cx.cfg.request_body_limit } else { cx.cfg.response_body_limit };
        let hashes = cx.cfg.file_hashes;
        let Some(t) = cx.txs.get_for(self.tx, req) else { return };
        if req && !data.is_empty() {
            super::multipart::body_kind(t);
        }
        let multipart = req && t.request.multipart.is_some();
        // Suricata's files of an HTTP transaction: response bodies, and PUT and POST request
        // bodies, named by the URI's path.
        let opens_file = !data.is_empty()
            && !multipart
            && (!req || t.method.eq_ignore_ascii_case(b"PUT") || t.method.eq_ignore_ascii_case(b"POST"));
        let needs_file = opens_file && if req { t.request.file.is_none() } else { t.response.file.is_none() };
        let mut bad_range = false;
        if needs_file {
            let name = file_name(t, req);
            bad_range = !req && t.response.header(b"content-range").is_some_and(content_range_invalid);
            let m = if req { &mut t.request } else { &mut t.response };
            m.file = Some(crate::app::files::File::open(&name, req, hashes));
        }
        let m = if req { &mut t.request } else { &mut t.response };
        m.message_len += data.len() as u64;
        if m.body_gap {
            if let Some(f) = m.file.as_mut().filter(|_| m.file_after_gap) {
                let room = (limit as u64).saturating_sub(f.size) as usize;
                f.data(data.get(..data.len().min(room)).unwrap_or(&[]));
                if data.len() > room {
                    f.close(FileState::Truncated);
                }
            }
            return;
        }
        let mut newly_cut = false;
        let mut warns = 0u32;
        let mut sink = |d: &[u8]| -> bool {
            // Suricata tracks a file up to the body limit and closes it TRUNCATED when the
            // body goes past it (`HTPCallbackResponseBodyData`).
            if let Some(f) = m.file.as_mut() {
                let room = (limit as u64).saturating_sub(f.size) as usize;
                f.data(d.get(..d.len().min(room)).unwrap_or(&[]));
                if d.len() > room {
                    f.close(FileState::Truncated);
                }
            }
            let room = limit.saturating_sub(m.body.len());
            let kept = d.get(..d.len().min(room)).unwrap_or(&[]);
            if let Some(mp) = m.multipart.as_deref_mut() {
                super::multipart::feed_parts(mp, &mut m.parts, kept, d.len() > room, hashes, &mut warns);
            }
            m.body.extend_from_slice(kept);
            if d.len() > room {
                if !m.body_truncated {
                    m.body_truncated = true;
                    newly_cut = true;
                }
                return false;
            }
            true
        };
        match self.decoder.as_mut() {
            Some(dec) => {
                if dec.stopped() {
                    return;
                }
                let oc = dec.write(data, &mut sink);
                cx.stats.decompress_errors += u64::from(oc.errors);
                if oc.sink_full && newly_cut && dec.bytes_out > dec.bytes_in.saturating_mul(64) {
                    cx.stats.decompress_bomb += 1;
                }
            }
            None => {
                sink(data);
            }
        }
        if newly_cut {
            cx.stats.body_truncated += 1;
        }
        for (w, e) in super::multipart::warning_events(warns) {
            cx.txs.raise(self.tx, w, e);
        }
        if bad_range {
            cx.txs.raise(self.tx, false, super::event::RANGE_INVALID);
        }
    }

    fn end_body(&mut self, cx: &mut Cx<'_>) {
        if self.to_server() {
            self.complete(cx);
        } else {
            self.st = St::Finalize;
        }
    }

    /// This direction's message is done.
    fn complete(&mut self, cx: &mut Cx<'_>) {
        let req = self.to_server();
        self.completed = self.msg_start.take();
        if req {
            let evs = self.tx_mut(cx).map(|t| super::line::request_complete_events(t)).unwrap_or_default();
            for e in evs.into_iter().flatten() {
                cx.txs.raise(self.tx, true, e);
            }
        }
        if let Some(t) = self.tx_mut(cx) {
            if req {
                t.request_headers_done = true;
                t.request_complete = true;
            } else {
                t.response_headers_done |= t.response_line_done;
                t.response_complete = true;
            }
            let m = if req { &mut t.request } else { &mut t.response };
            let state = if m.body_gap { FileState::Truncated } else { FileState::Closed };
            for f in m.files_mut() {
                f.close(state);
            }
        }
        self.decoder = None;
        self.fields = 0;
        self.left = 0;
        self.st = St::Line;
        if let Some(b) = cx.txs.busy.get_mut(usize::from(!req)) {
            *b = None;
        }
        if req {
            let connect = self.tx_mut(cx).is_some_and(|t| t.method.eq_ignore_ascii_case(b"CONNECT"));
            if connect {
                self.st = St::ConnectWait;
            }
        }
    }
}
