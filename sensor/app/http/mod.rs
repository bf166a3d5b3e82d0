//! HTTP/1.0 and 1.1 (and 0.9-style responses): an incremental, lax parser that builds the
//! sticky buffers Suricata rules inspect (`http.uri`, `http.header`, `file.data`, ...).
//!
//! Takes: in-order bytes of each direction of one TCP connection ([`HttpState::parse`]),
//! gaps ([`HttpState::gap`]) and the end of a direction ([`HttpState::eof`]), in any split.
//! Promises:
//! - transactions ([`HttpTx`]) pair a request with its response in order (pipelining), with
//!   progress flags saying which buffers are final ([`HttpTx::buffer`]);
//! - framing and leniency follow libhtp as Suricata configures it (see [`headers`] for the
//!   line rules, [`decompress`] for content codings, [`uri`] for `http.uri`), because rules
//!   written for Suricata and evasions tested against it (HTTP Evader) depend on them;
//! - memory is bounded: a pending line is capped at `max_header_bytes` (longer lines are cut
//!   there, counted, and parsing goes on), at most `max_headers` fields are kept per block,
//!   bodies are cut at the body limits (decompression stops there), at most `max_txs`
//!   transactions are kept (the oldest are evicted, counted);
//! - every cut, eviction and parse problem is counted in [`HttpStats`].
//!
//! The result does not depend on how the bytes were split, with one exception inherited from
//! libhtp: bytes a server sends after a response body whose length was declared, up to the
//! next line starting with "HTTP", are appended to that body when they arrive together with
//! its last bytes, and start a new (header-less) response otherwise.
//!
//! Never: panics on input, allocates per call beyond the growth of the buffers above, or
//! looks at the other direction's bytes.

pub mod decompress;
pub mod detect;
pub mod eve;
pub mod headers;
pub mod uri;

pub use detect::PROTOCOL;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use decompress::{Coding, Decoder};
use headers::{
    contains_nocase, contains_nocase_nozero, end_of_block, eq_nocase_nozero, field, is_space, line_eol, line_lf,
    split_field, trim, Find, Side,
};

/// Parser limits. Defaults equal Suricata's libhtp defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// Request body bytes kept (dechunked), `request-body-limit` (100 KiB).
    pub request_body_limit: usize,
    /// Response body bytes kept (dechunked, decompressed), `response-body-limit` (100 KiB).
    pub response_body_limit: usize,
    /// Content codings undone at most, `response-body-decompress-layer-limit` (2).
    pub decompress_layer_limit: u32,
    /// Longest line (request/status line, header field, chunk size) kept pending; longer
    /// lines are cut (libhtp `field_limit`, 18000).
    pub max_header_bytes: usize,
    /// Header fields kept per header block (libhtp: 1024).
    pub max_headers: usize,
    /// Transactions kept per connection before the oldest is evicted (libhtp: 512).
    pub max_txs: usize,
    /// Raw header bytes kept per message for `http.header.raw`, and also the most bytes of
    /// parsed names and values kept per message (64 KiB).
    pub max_raw_header_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            request_body_limit: 102_400,
            response_body_limit: 102_400,
            decompress_layer_limit: 2,
            max_header_bytes: 18_000,
            max_headers: 1024,
            max_txs: 512,
            max_raw_header_bytes: 65_536,
        }
    }
}

crate::app_counters! {
    /// Counters; plain integers the caller adds into its own metrics.
    pub struct HttpStats {
        /// Request lines parsed.
        requests,
        /// Responses started: status lines (interim 100 Continue included) and header-less
        /// HTTP/0.9-style responses.
        responses,
        /// Malformed input that changed how bytes were read (bad chunk size, bad length,
        /// junk where a response line was expected, data after a compressed body...).
        parse_errors,
        /// Lines longer than `max_header_bytes` (cut there).
        header_too_long,
        /// Header fields dropped over `max_headers`, or because the names and values kept for
        /// the message would pass `max_raw_header_bytes`.
        headers_too_many,
        /// Raw header blocks cut at `max_raw_header_bytes`.
        raw_headers_truncated,
        /// Bodies cut at the body limit.
        body_truncated,
        /// Content-coding errors (garbage, truncated or mislabelled streams).
        decompress_errors,
        /// Decompressed bodies that hit the body limit at a ratio over 64:1 (output to input).
        decompress_bomb,
        /// Content codings ignored over `decompress_layer_limit`.
        decompress_layers_dropped,
        /// Transactions evicted over `max_txs` before they were freed.
        txs_evicted,
        /// Responses that found no request to pair with.
        responses_without_request,
        /// Gaps reported.
        gaps,
        /// Gaps where the parser could not resynchronise (that direction stops being parsed).
        gaps_fatal,
    }
}

/// The sticky buffers of a transaction; the `to_server` argument of [`HttpTx::buffer`] picks
/// the request or the response side where a keyword exists on both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpBuffer {
    /// `http.uri`: normalised URI.
    Uri,
    /// `http.uri.raw`.
    UriRaw,
    /// `http.method`.
    Method,
    /// `http.protocol`: request or response protocol.
    Protocol,
    /// `http.request_line`.
    RequestLine,
    /// `http.header`: "Name: value\r\n" per field, Cookie / Set-Cookie left out.
    Header,
    /// `http.header.raw`: the header block as received.
    HeaderRaw,
    /// `http.header_names`: "\r\nName1\r\nName2\r\n\r\n".
    HeaderNames,
    /// `http.host`: lower-cased host, port removed.
    Host,
    /// `http.host.raw`.
    HostRaw,
    /// `http.user_agent`.
    UserAgent,
    /// `http.cookie`: Cookie (request) or Set-Cookie (response).
    Cookie,
    /// `http.referer`.
    Referer,
    /// `http.accept`.
    Accept,
    /// `http.accept_lang`.
    AcceptLang,
    /// `http.accept_enc`.
    AcceptEnc,
    /// `http.connection`.
    Connection,
    /// `http.content_type`.
    ContentType,
    /// `http.content_len`.
    ContentLen,
    /// `http.location`.
    Location,
    /// `http.server`.
    Server,
    /// `http.start`: first line, "Name: value\r\n" per field, then "\r\n".
    Start,
    /// `http.stat_code`.
    StatCode,
    /// `http.stat_msg`.
    StatMsg,
    /// `http.response_line`.
    ResponseLine,
    /// `http.request_body` (`http_client_body`): dechunked, cut at the limit.
    RequestBody,
    /// `http.response_body` and `file.data` on responses: dechunked, decompressed, cut.
    ResponseBody,
    /// `http.header` of the response whatever the direction argument.
    ResponseHeader,
    /// `http.header.raw` of the response whatever the direction argument.
    ResponseHeaderRaw,
}

/// A header field after libhtp's merging (repeats joined with ", ", except Content-Length
/// where the first is kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpHeader {
    /// Name, trimmed, as received (may be empty for a line without colon).
    pub name: Vec<u8>,
    /// Value, trimmed.
    pub value: Vec<u8>,
    repeats: u8,
}

/// One side of a transaction.
#[derive(Clone, Debug, Default)]
pub struct HttpMessage {
    /// First line without its line end.
    pub line: Vec<u8>,
    /// Protocol as written ("HTTP/1.1").
    pub protocol: Vec<u8>,
    /// Header fields in order of first appearance.
    pub headers: Vec<HttpHeader>,
    /// Raw header block (after the first line, through the empty line), trailers appended.
    pub raw_headers: Vec<u8>,
    /// Body (dechunked; responses decompressed), cut at the body limit.
    pub body: Vec<u8>,
    /// The body was cut at the limit.
    pub body_truncated: bool,
    /// Body bytes were lost to a gap (the buffer holds what came before it).
    pub body_gap: bool,
    /// Bytes of names and values kept in `headers`.
    header_bytes: usize,
    hdr_buf: Vec<u8>,
    names_buf: Vec<u8>,
    start_buf: Vec<u8>,
}

impl HttpMessage {
    /// Value of the first field named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_slice())
    }

    fn header_nozero(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers.iter().find(|h| eq_nocase_nozero(&h.name, name)).map(|h| h.value.as_slice())
    }

    fn build(&mut self, to_server: bool) {
        let skip: &[u8] = if to_server { b"cookie" } else { b"set-cookie" };
        self.hdr_buf.clear();
        self.names_buf.clear();
        self.start_buf.clear();
        self.names_buf.extend_from_slice(b"\r\n");
        self.start_buf.extend_from_slice(&self.line);
        self.start_buf.extend_from_slice(b"\r\n");
        for h in &self.headers {
            if !h.name.eq_ignore_ascii_case(skip) {
                self.hdr_buf.extend_from_slice(&h.name);
                self.hdr_buf.extend_from_slice(b": ");
                self.hdr_buf.extend_from_slice(&h.value);
                self.hdr_buf.extend_from_slice(b"\r\n");
            }
            self.names_buf.extend_from_slice(&h.name);
            self.names_buf.extend_from_slice(b"\r\n");
            self.start_buf.extend_from_slice(&h.name);
            self.start_buf.extend_from_slice(b": ");
            self.start_buf.extend_from_slice(&h.value);
            self.start_buf.extend_from_slice(b"\r\n");
        }
        self.names_buf.extend_from_slice(b"\r\n");
        if !self.headers.is_empty() {
            self.start_buf.extend_from_slice(b"\r\n");
        }
    }
}

/// One request/response exchange.
#[derive(Clone, Debug, Default)]
pub struct HttpTx {
    /// Sequence number within the connection, from 0.
    pub id: u64,
    /// Request line parsed: method, URI, protocol, request line final.
    pub request_line_done: bool,
    /// Request headers parsed: header buffers, host, cookie... final.
    pub request_headers_done: bool,
    /// Request finished: request body final.
    pub request_complete: bool,
    /// Status line parsed (stays false for header-less HTTP/0.9-style responses).
    pub response_line_done: bool,
    /// Response headers parsed.
    pub response_headers_done: bool,
    /// Response finished: response body final (see the module note on bytes after it).
    pub response_complete: bool,
    /// Request method.
    pub method: Vec<u8>,
    /// Request target as received.
    pub uri_raw: Vec<u8>,
    /// Normalised URI (`http.uri`).
    pub uri: Vec<u8>,
    /// Host, lower-cased, port removed (from an absolute URI, else the Host header).
    pub host: Vec<u8>,
    /// Host as received (`http.host.raw`).
    pub host_raw: Vec<u8>,
    /// Has a Host of either kind.
    pub has_host: bool,
    /// Status code as written.
    pub status: Vec<u8>,
    /// Status code as a number (0 when not 100..=999).
    pub status_num: u16,
    /// Reason phrase.
    pub status_msg: Vec<u8>,
    /// Request side.
    pub request: HttpMessage,
    /// Response side.
    pub response: HttpMessage,
    /// Request was HTTP/0.9 (no protocol, no headers).
    pub http09: bool,
}

impl HttpTx {
    /// Both sides finished: nothing more will change.
    pub fn is_complete(&self) -> bool {
        self.request_complete && self.response_complete
    }

    /// The bytes of buffer `b`, or None when it does not exist (yet) on that side. Buffers of
    /// a part of the message are final once that part's progress flag is set.
    pub fn buffer(&self, b: HttpBuffer, to_server: bool) -> Option<&[u8]> {
        let m = if to_server { &self.request } else { &self.response };
        let hdrs = if to_server { self.request_headers_done } else { self.response_headers_done };
        fn opt(ok: bool, v: &[u8]) -> Option<&[u8]> {
            if ok {
                Some(v)
            } else {
                None
            }
        }
        let f: Option<&[u8]> = match b {
            HttpBuffer::Uri => opt(self.request_line_done, &self.uri),
            HttpBuffer::UriRaw => opt(self.request_line_done, &self.uri_raw),
            HttpBuffer::Method => opt(self.request_line_done, &self.method),
            HttpBuffer::RequestLine => opt(self.request_line_done, &self.request.line),
            HttpBuffer::Protocol => {
                if to_server {
                    opt(self.request_line_done && !self.request.protocol.is_empty(), &self.request.protocol)
                } else {
                    opt(self.response_line_done && !self.response.protocol.is_empty(), &self.response.protocol)
                }
            }
            HttpBuffer::Header => opt(hdrs && !m.hdr_buf.is_empty(), &m.hdr_buf),
            HttpBuffer::HeaderRaw => opt(hdrs && !m.raw_headers.is_empty(), &m.raw_headers),
            HttpBuffer::HeaderNames => opt(hdrs && !m.headers.is_empty(), &m.names_buf),
            HttpBuffer::Start => {
                let line = if to_server { self.request_line_done } else { self.response_line_done };
                opt(line && hdrs, &m.start_buf)
            }
            HttpBuffer::Host => opt(self.request_headers_done && self.has_host, &self.host),
            HttpBuffer::HostRaw => opt(self.request_headers_done && self.has_host, &self.host_raw),
            HttpBuffer::UserAgent => self.req_header(b"user-agent"),
            HttpBuffer::Cookie => {
                if to_server {
                    self.req_header(b"cookie")
                } else {
                    self.res_header(b"set-cookie")
                }
            }
            HttpBuffer::Referer => self.req_header(b"referer"),
            HttpBuffer::Accept => self.req_header(b"accept"),
            HttpBuffer::AcceptLang => self.req_header(b"accept-language"),
            HttpBuffer::AcceptEnc => self.req_header(b"accept-encoding"),
            HttpBuffer::Connection => self.side_header(to_server, b"connection"),
            HttpBuffer::ContentType => self.side_header(to_server, b"content-type"),
            HttpBuffer::ContentLen => self.side_header(to_server, b"content-length"),
            HttpBuffer::Location => self.res_header(b"location"),
            HttpBuffer::Server => self.res_header(b"server"),
            HttpBuffer::StatCode => opt(self.response_line_done && !self.status.is_empty(), &self.status),
            HttpBuffer::StatMsg => opt(self.response_line_done && !self.status_msg.is_empty(), &self.status_msg),
            HttpBuffer::ResponseLine => opt(self.response_line_done, &self.response.line),
            HttpBuffer::RequestBody => opt(!self.request.body.is_empty(), &self.request.body),
            HttpBuffer::ResponseBody => opt(!self.response.body.is_empty(), &self.response.body),
            HttpBuffer::ResponseHeader => {
                opt(self.response_headers_done && !self.response.hdr_buf.is_empty(), &self.response.hdr_buf)
            }
            HttpBuffer::ResponseHeaderRaw => {
                opt(self.response_headers_done && !self.response.raw_headers.is_empty(), &self.response.raw_headers)
            }
        };
        f
    }

    fn req_header(&self, name: &[u8]) -> Option<&[u8]> {
        if self.request_headers_done {
            self.request.header(name)
        } else {
            None
        }
    }

    fn res_header(&self, name: &[u8]) -> Option<&[u8]> {
        if self.response_headers_done {
            self.response.header(name)
        } else {
            None
        }
    }

    fn side_header(&self, to_server: bool, name: &[u8]) -> Option<&[u8]> {
        if to_server {
            self.req_header(name)
        } else {
            self.res_header(name)
        }
    }
}

/// Where a direction's parser is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
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
struct Dir {
    side: Side,
    st: St,
    /// Unconsumed bytes (an incomplete line), at most about `max_header_bytes`.
    buf: Vec<u8>,
    /// The transaction this direction is filling.
    tx: Option<u64>,
    left: u64,
    /// Discarding the rest of an over-long line.
    skip_to_lf: bool,
    /// Fields read in the current header block.
    fields: usize,
    decoder: Option<Decoder>,
    closed: bool,
}

impl Dir {
    fn new(side: Side) -> Self {
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
        }
    }

    fn to_server(&self) -> bool {
        self.side == Side::Request
    }
}

/// Transaction bookkeeping shared by both directions.
#[derive(Debug, Default)]
struct Txs {
    list: VecDeque<HttpTx>,
    /// Id of the next transaction to create.
    next_id: u64,
    /// Id the next request goes to.
    req_next: u64,
    /// Id the next response goes to.
    res_next: u64,
    /// Transactions a direction is filling (never evicted): [request, response].
    busy: [Option<u64>; 2],
    /// Stand-ins for a message whose transaction was evicted before it started, so that
    /// its framing can still be parsed: [request, response].
    scratch: [HttpTx; 2],
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

/// Per-connection HTTP state.
#[derive(Debug)]
pub struct HttpState {
    cfg: HttpConfig,
    txs: Txs,
    req: Dir,
    res: Dir,
}

struct Cx<'a> {
    cfg: &'a HttpConfig,
    txs: &'a mut Txs,
    stats: &'a mut HttpStats,
    /// Set when the response side decided the request side's fate after CONNECT/101:
    /// Some(true) = tunnel, Some(false) = carry on parsing requests.
    tunnel: Option<bool>,
}

impl HttpState {
    /// A fresh connection.
    pub fn new(cfg: &HttpConfig) -> Self {
        HttpState { cfg: cfg.clone(), txs: Txs::default(), req: Dir::new(Side::Request), res: Dir::new(Side::Response) }
    }

    /// In-order bytes of one direction (`to_server`: client to server).
    pub fn parse(&mut self, to_server: bool, data: &[u8], stats: &mut HttpStats) {
        self.feed(to_server, data, false, stats);
    }

    /// `len` bytes of one direction are missing from the stream.
    pub fn gap(&mut self, to_server: bool, len: u64, stats: &mut HttpStats) {
        stats.gaps += 1;
        let HttpState { cfg, txs, req, res } = self;
        let d = if to_server { req } else { res };
        let mut cx = Cx { cfg, txs, stats, tunnel: None };
        d.gap(len, &mut cx);
    }

    /// The direction is closed: bodies delimited by the close end, partial messages finish.
    pub fn eof(&mut self, to_server: bool, stats: &mut HttpStats) {
        self.feed(to_server, &[], true, stats);
        let d = if to_server { &mut self.req } else { &mut self.res };
        d.closed = true;
    }

    /// Live transactions, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &HttpTx> {
        self.txs.list.iter()
    }

    /// Live transactions, oldest first (mutable, e.g. to keep per-tx detection state).
    pub fn txs_mut(&mut self) -> impl Iterator<Item = &mut HttpTx> {
        self.txs.list.iter_mut()
    }

    /// Number of live transactions.
    pub fn tx_count(&self) -> usize {
        self.txs.list.len()
    }

    /// Frees the oldest transactions with `id <= upto` that are complete in both directions,
    /// stopping at the first that is not. Returns how many were freed.
    pub fn free_upto(&mut self, upto: u64) -> usize {
        let mut n = 0;
        while let Some(t) = self.txs.list.front() {
            if t.id > upto || !t.is_complete() {
                break;
            }
            self.txs.list.pop_front();
            n += 1;
        }
        n
    }

    /// Removes and returns the oldest transaction if it is complete in both directions.
    pub fn take_done(&mut self) -> Option<HttpTx> {
        if self.txs.list.front().is_some_and(|t| t.is_complete()) {
            self.txs.list.pop_front()
        } else {
            None
        }
    }

    /// Bytes held pending across both directions (incomplete lines).
    pub fn pending_bytes(&self) -> usize {
        self.req.buf.len() + self.res.buf.len()
    }

    fn feed(&mut self, to_server: bool, data: &[u8], eof: bool, stats: &mut HttpStats) {
        let HttpState { cfg, txs, req, res } = self;
        let mut cx = Cx { cfg, txs, stats, tunnel: None };
        let d = if to_server { &mut *req } else { &mut *res };
        if d.closed {
            return;
        }
        d.feed(data, eof, &mut cx);
        // The response decided what follows a CONNECT or an upgrade.
        if let Some(tunnel) = cx.tunnel.take() {
            if tunnel {
                req.st = St::Off;
                res.st = St::Off;
                req.buf = Vec::new();
                res.buf = Vec::new();
            } else if req.st == St::ConnectWait {
                req.st = St::Line;
                let mut cx = Cx { cfg, txs, stats, tunnel: None };
                req.feed(&[], false, &mut cx);
            }
        }
    }
}

/// libhtp: a response line is one when it starts (after whitespace and NULs) with "http".
fn looks_like_http(line: &[u8]) -> bool {
    let start = line.iter().position(|&c| !(is_space(c) || c == 0)).unwrap_or(line.len());
    line.get(start..start + 4).is_some_and(|w| w.eq_ignore_ascii_case(b"http"))
}

/// Removes trailing CR and LF.
fn chomp(mut l: &[u8]) -> &[u8] {
    while let Some(x) = l.strip_suffix(b"\n").or_else(|| l.strip_suffix(b"\r")) {
        l = x;
    }
    l
}

/// libhtp `parse_content_length`: optional spaces, any non-digits, then digits.
fn parse_content_length(v: &[u8]) -> Option<u64> {
    let s = v.iter().position(|c| c.is_ascii_digit())?;
    let digits = v.get(s..)?;
    let e = digits.iter().position(|c| !c.is_ascii_digit()).unwrap_or(digits.len());
    let mut n: u64 = 0;
    for &c in digits.get(..e)? {
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// libhtp `parse_chunked_length`: Ok(Some(n)), Ok(None) for an empty or oversized size
/// (the line is skipped), Err for a line that is not a chunk size.
fn parse_chunk_len(line: &[u8]) -> Result<Option<u64>, ()> {
    let s = line.iter().position(|&c| !matches!(c, b'\r' | b'\n' | b' ' | b'\t' | 0x0b | 0x0c)).unwrap_or(line.len());
    let rest = line.get(s..).unwrap_or(&[]);
    let rest = rest.get(rest.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(rest.len())..).unwrap_or(&[]);
    let e = rest.iter().position(|c| !c.is_ascii_hexdigit()).unwrap_or(rest.len());
    let digits = rest.get(..e).unwrap_or(&[]);
    let trailing = rest.get(e..).unwrap_or(&[]);
    let trailing = trailing.get(trailing.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(trailing.len())..);
    if digits.is_empty() {
        return if trailing.map_or(true, |t| t.is_empty()) { Ok(None) } else { Err(()) };
    }
    let mut n: u64 = 0;
    for &c in digits {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => c.wrapping_sub(b'A').wrapping_add(10),
        };
        n = n.checked_mul(16).and_then(|n| n.checked_add(u64::from(v))).ok_or(())?;
    }
    if n > i32::MAX as u64 {
        return Ok(None);
    }
    Ok(Some(n))
}

/// libhtp `is_valid_chunked_length_data`: after control characters, a hex digit (or nothing).
fn chunk_len_prefix_ok(b: &[u8]) -> bool {
    match b.iter().find(|&&c| !matches!(c, b'\r' | b'\n' | b' ' | b'\t' | 0x0b | 0x0c)) {
        Some(c) => c.is_ascii_hexdigit(),
        None => true,
    }
}

/// The content codings to undo for a Content-Encoding value, libhtp's way: the exact names
/// first, else each comma/space separated item containing "gzip" or "deflate" (unknown items
/// still count towards the layer limit). Returned in decoding order.
fn codings(ce: &[u8], limit: u32, stats: &mut HttpStats) -> Vec<Coding> {
    let v = trim(ce);
    if eq_nocase_nozero(v, b"gzip") || eq_nocase_nozero(v, b"x-gzip") {
        return vec![Coding::Gzip];
    }
    if eq_nocase_nozero(v, b"deflate") || eq_nocase_nozero(v, b"x-deflate") {
        return vec![Coding::Deflate];
    }
    if eq_nocase_nozero(v, b"inflate") || eq_nocase_nozero(v, b"none") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut layers = 0u32;
    for item in v.split(|&c| c == b',' || c == b' ').filter(|i| !i.is_empty()) {
        layers += 1;
        if layers > limit {
            stats.decompress_layers_dropped += 1;
            break;
        }
        if contains_nocase(item, b"gzip") {
            out.push(Coding::Gzip);
        } else if contains_nocase(item, b"deflate") {
            out.push(Coding::Deflate);
        }
    }
    // Listed in the order applied; undone last first.
    out.reverse();
    out
}

impl Dir {
    /// Runs the parser over pending bytes plus `data`; keeps only an incomplete line.
    fn feed(&mut self, mut data: &[u8], eof: bool, cx: &mut Cx<'_>) {
        if self.st == St::Off {
            return;
        }
        if self.skip_to_lf {
            match data.iter().position(|&c| c == b'\n') {
                Some(p) => {
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

    fn gap(&mut self, len: u64, cx: &mut Cx<'_>) {
        match self.st {
            St::BodyLen if len <= self.left => {
                self.left -= len;
                self.body_gap(cx);
                if self.left == 0 {
                    self.end_body(cx);
                }
            }
            St::BodyClose => self.body_gap(cx),
            St::Off => {}
            St::Line if self.buf.is_empty() => {
                // Between messages: libhtp refuses gaps here; so do we.
                cx.stats.gaps_fatal += 1;
                self.st = St::Off;
            }
            _ => {
                cx.stats.gaps_fatal += 1;
                if let Some(m) = self.msg_mut(cx) {
                    m.body_gap = true;
                }
                self.st = St::Off;
            }
        }
    }

    fn body_gap(&mut self, cx: &mut Cx<'_>) {
        self.decoder = None;
        if let Some(m) = self.msg_mut(cx) {
            m.body_gap = true;
        }
    }

    /// Processes `b` as far as possible; returns the bytes consumed.
    fn run(&mut self, b: &[u8], eof: bool, cx: &mut Cx<'_>) -> usize {
        let mut i = 0;
        loop {
            let rest = b.get(i..).unwrap_or(&[]);
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
            match step {
                Some(n) => {
                    i += n;
                    if n == 0 && rest.is_empty() {
                        return i;
                    }
                }
                None => return i,
            }
        }
    }

    fn tx_mut<'c>(&self, cx: &'c mut Cx<'_>) -> Option<&'c mut HttpTx> {
        cx.txs.get_for(self.tx, self.to_server())
    }

    fn msg_mut<'c>(&self, cx: &'c mut Cx<'_>) -> Option<&'c mut HttpMessage> {
        let req = self.to_server();
        cx.txs.get_for(self.tx, req).map(|t| if req { &mut t.request } else { &mut t.response })
    }

    /// Starts this direction's next message: picks (or creates) its transaction.
    fn start_message(&mut self, cx: &mut Cx<'_>) {
        let id = if self.to_server() {
            let id = cx.txs.req_next;
            cx.txs.req_next += 1;
            id
        } else {
            let id = cx.txs.res_next;
            cx.txs.res_next += 1;
            if id >= cx.txs.req_next {
                cx.stats.responses_without_request += 1;
            }
            id
        };
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
                self.request_line(chomp(content), cx);
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

    fn request_line(&mut self, line: &[u8], cx: &mut Cx<'_>) {
        // method SP+ uri SP+ protocol (libhtp generic, leading whitespace ignored).
        let s = line.iter().position(|&c| !is_space(c)).unwrap_or(line.len());
        let l = line.get(s..).unwrap_or(&[]);
        let m_end = l.iter().position(|&c| is_space(c)).unwrap_or(l.len());
        let method = l.get(..m_end).unwrap_or(&[]);
        let r = l.get(m_end..).unwrap_or(&[]);
        let r = r.get(r.iter().position(|&c| !is_space(c)).unwrap_or(r.len())..).unwrap_or(&[]);
        let u_end = r.iter().position(|&c| is_space(c)).unwrap_or(r.len());
        let uri_raw = r.get(..u_end).unwrap_or(&[]);
        let proto = trim(r.get(u_end..).unwrap_or(&[]));
        let Some(t) = self.tx_mut(cx) else {
            self.st = if proto.is_empty() { St::Line } else { St::Headers };
            return;
        };
        t.request.line = line.to_vec();
        t.method = method.to_vec();
        t.uri_raw = uri_raw.to_vec();
        t.uri = uri::normalized(uri_raw);
        t.request.protocol = proto.to_vec();
        t.request_line_done = true;
        let parts = uri::split(uri_raw);
        if let Some(h) = parts.host {
            t.host_raw = h.to_vec();
            t.host = h.to_ascii_lowercase();
            t.has_host = true;
        }
        if proto.is_empty() {
            // HTTP/0.9: no headers, no body.
            t.http09 = true;
            t.request_headers_done = true;
            t.request_complete = true;
            self.st = St::Line;
        } else {
            self.st = St::Headers;
        }
    }

    fn status_line(&mut self, line: &[u8], cx: &mut Cx<'_>) {
        // [ws/NUL]* protocol ws status ws message (libhtp `parse_response_line`).
        let s = line.iter().position(|&c| !(is_space(c) || c == 0)).unwrap_or(line.len());
        let l = line.get(s..).unwrap_or(&[]);
        let p_end = l.iter().position(|&c| is_space(c)).unwrap_or(l.len());
        let proto = l.get(..p_end).unwrap_or(&[]);
        let r = l.get(p_end..).unwrap_or(&[]);
        let ws1 = r.iter().position(|&c| !is_space(c)).unwrap_or(r.len());
        let r = r.get(ws1..).unwrap_or(&[]);
        let c_end = r.iter().position(|&c| is_space(c)).unwrap_or(r.len());
        let code = if ws1 > 0 { r.get(..c_end).unwrap_or(&[]) } else { &[] };
        let r = r.get(c_end..).unwrap_or(&[]);
        let ws2 = r.iter().position(|&c| !c.is_ascii_whitespace()).unwrap_or(r.len());
        let msg = if ws2 > 0 { chomp(r.get(ws2..).unwrap_or(&[])) } else { &[] };
        let num = if !code.is_empty() && code.iter().all(|c| c.is_ascii_digit()) && code.len() <= 5 {
            code.iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'))
        } else {
            0
        };
        self.st = St::Headers;
        let Some(t) = self.tx_mut(cx) else { return };
        t.response.line = line.to_vec();
        t.response.protocol = proto.to_vec();
        t.status = code.to_vec();
        t.status_num = if (100..=999).contains(&num) { num as u16 } else { 0 };
        t.status_msg = msg.to_vec();
        t.response_line_done = true;
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
        if let Some(m) = self.msg_mut(cx) {
            let room = max_bytes.saturating_sub(m.header_bytes);
            if let Some(h) = m.headers.iter_mut().find(|h| h.name.eq_ignore_ascii_case(&name)) {
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
        let chunked =
            t.request.header_nozero(b"transfer-encoding").is_some_and(|v| contains_nocase_nozero(v, b"chunked"));
        let cl = t.request.header_nozero(b"content-length").map(parse_content_length);
        let connect = t.method.eq_ignore_ascii_case(b"CONNECT");
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
    }

    fn response_body_determine(&mut self, cx: &mut Cx<'_>) {
        let limit = cx.cfg.decompress_layer_limit;
        let Some(t) = cx.txs.get_for(self.tx, false) else {
            self.st = St::BodyClose;
            return;
        };
        let te = t.response.header_nozero(b"transfer-encoding").map(<[u8]>::to_vec);
        let cl = t.response.header_nozero(b"content-length").map(parse_content_length);
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
        let ce = t.response.header_nozero(b"content-encoding").map(<[u8]>::to_vec);
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
        if let Some(ce) = ce {
            let c = codings(&ce, limit, cx.stats);
            if !c.is_empty() {
                self.decoder = Some(Decoder::new(&c));
            }
        }
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
        let Some(m) = cx.txs.get_for(self.tx, req).map(|t| if req { &mut t.request } else { &mut t.response }) else {
            return;
        };
        if m.body_gap {
            return;
        }
        let mut newly_cut = false;
        let mut sink = |d: &[u8]| -> bool {
            let room = limit.saturating_sub(m.body.len());
            m.body.extend_from_slice(d.get(..d.len().min(room)).unwrap_or(&[]));
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
        if let Some(t) = self.tx_mut(cx) {
            if req {
                t.request_headers_done = true;
                t.request_complete = true;
            } else {
                t.response_headers_done |= t.response_line_done;
                t.response_complete = true;
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
