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

pub(crate) mod decompress;
pub(crate) mod detect;
pub(crate) mod eve;
mod framing;
pub(crate) mod headers;
mod line;
pub(crate) mod multipart;
mod parser;
pub(crate) mod uri;

pub use detect::PROTOCOL;
use parser::{Cx, Dir, St, Txs};

#[cfg(test)]
mod tests;

use headers::{eq_nocase_nozero, Side};

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
    /// Hashes computed for files (bodies, multipart parts): the app layer's
    /// [`crate::app::AppConfig::file_hashes`], set when the parser is made.
    pub file_hashes: crate::app::files::HashSet,
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
            file_hashes: crate::app::files::HashSet::default(),
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
        /// Gaps libhtp refuses (outside a body of known length or read to the close, event
        /// `INVALID_GAP`): parsing goes on where it was, as if the bytes had not existed.
        gaps_refused,
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
    /// The first gap was in a body sent as is: its file takes the bytes after it.
    pub(super) file_after_gap: bool,
    /// Body bytes as transferred (dechunked, before decompression), all of them (libhtp's
    /// `message_len`; EVE `length`).
    pub message_len: u64,
    /// The file the body carries (a response body, a PUT or POST request's body that is not
    /// multipart), once it started.
    pub file: Option<crate::app::files::File>,
    /// The files of a `multipart/form-data` request body: each part naming a file, with its
    /// content (within the body limit, so bounded by it).
    pub parts: Vec<FilePart>,
    /// The multipart parser of a POST body with a boundary, once the body started.
    multipart: Option<Box<multipart::Multipart>>,
    /// Whether the body's kind (multipart or not) was decided.
    body_kind_set: bool,
    /// Bytes of names and values kept in `headers`.
    header_bytes: usize,
    hdr_buf: Vec<u8>,
    names_buf: Vec<u8>,
    start_buf: Vec<u8>,
}

/// A file of a multipart request body and its content (`file.data`).
#[derive(Clone, Debug, Default)]
pub struct FilePart {
    /// The file.
    pub file: crate::app::files::File,
    /// Its content, as far as the body limit kept it.
    pub data: Vec<u8>,
}

impl HttpMessage {
    /// The files of this message: its body's, or its multipart parts'.
    pub fn files(&self) -> impl Iterator<Item = &crate::app::files::File> {
        self.file.iter().chain(self.parts.iter().map(|p| &p.file))
    }

    /// Its body is `multipart/form-data` (its files are [`HttpMessage::parts`]).
    pub fn is_multipart(&self) -> bool {
        self.multipart.is_some() || !self.parts.is_empty()
    }

    /// The same, to change them (close, gap).
    pub fn files_mut(&mut self) -> impl Iterator<Item = &mut crate::app::files::File> {
        self.file.iter_mut().chain(self.parts.iter_mut().map(|p| &mut p.file))
    }

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

/// HTTP's app-layer events, in Suricata's order (`app-layer-htp.c`
/// `http_decoder_event_table`, libhtp's log codes): `app-layer-event:http.<name>`.
pub const EVENTS: &[&str] = &[
    "unknown_error",
    "gzip_decompression_failed",
    "request_field_missing_colon",
    "response_field_missing_colon",
    "invalid_request_chunk_len",
    "invalid_response_chunk_len",
    "invalid_transfer_encoding_value_in_request",
    "invalid_transfer_encoding_value_in_response",
    "invalid_content_length_field_in_request",
    "invalid_content_length_field_in_response",
    "duplicate_content_length_field_in_request",
    "duplicate_content_length_field_in_response",
    "100_continue_already_seen",
    "unable_to_match_response_to_request",
    "invalid_server_port_in_request",
    "invalid_authority_port",
    "request_header_invalid",
    "response_header_invalid",
    "missing_host_header",
    "host_header_ambiguous",
    "invalid_request_field_folding",
    "invalid_response_field_folding",
    "request_field_too_long",
    "response_field_too_long",
    "request_line_invalid",
    "request_body_unexpected",
    "response_body_unexpected",
    "request_server_port_tcp_port_mismatch",
    "request_uri_host_invalid",
    "request_header_host_invalid",
    "request_auth_unrecognized",
    "request_header_repetition",
    "response_header_repetition",
    "double_encoded_uri",
    "uri_delim_non_compliant",
    "method_delim_non_compliant",
    "request_line_leading_whitespace",
    "too_many_encoding_layers",
    "request_too_many_lzma_layers",
    "response_too_many_lzma_layers",
    "abnormal_ce_header",
    "response_multipart_byteranges",
    "response_abnormal_transfer_encoding",
    "response_chunked_old_proto",
    "response_invalid_protocol",
    "response_invalid_status",
    "request_line_incomplete",
    "protocol_contains_extra_data",
    "content_length_extra_data_start",
    "content_length_extra_data_end",
    "switching_proto_with_content_length",
    "deformed_eol",
    "parser_state_error",
    "missing_outbound_transaction_data",
    "missing_inbound_transaction_data",
    "zero_length_data_chunks",
    "request_line_unknown_method",
    "request_line_unknown_method_no_protocol",
    "request_line_unknown_method_invalid_protocol",
    "request_line_missing_protocol",
    "response_line_invalid_protocol",
    "response_line_invalid_response_status",
    "response_body_internal_error",
    "request_body_data_callback_error",
    "response_invalid_empty_name",
    "request_invalid_empty_name",
    "response_invalid_lws_after_name",
    "response_header_name_not_token",
    "request_invalid_lws_after_name",
    "lzma_decompression_disabled",
    "connection_already_open",
    "compression_bomb_double_lzma",
    "invalid_content_encoding",
    "invalid_gap",
    "request_chunk_extension",
    "response_chunk_extension",
    "lzma_memlimit_reached",
    "compression_bomb",
    "compression_bomb_limit_reached",
    "request_too_many_headers",
    "response_too_many_headers",
    "multipart_generic_error",
    "multipart_no_filedata",
    "multipart_invalid_header",
    "too_many_warnings",
    "range_invalid",
    "file_name_too_long",
    "failed_protocol_change",
];

/// Indexes into [`EVENTS`] of the events the parser raises.
pub mod event {
    /// A request's Transfer-Encoding is not chunked, or chunked before HTTP/1.1.
    pub const INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST: u16 = 6;
    /// More content codings than `decompress_layer_limit`.
    pub const TOO_MANY_ENCODING_LAYERS: u16 = 37;
    /// A response Content-Length with junk before its digits.
    pub const CONTENT_LENGTH_EXTRA_DATA_START: u16 = 48;
    /// A response's Content-Range Suricata cannot use for its file (malformed, or out of order).
    pub const RANGE_INVALID: u16 = 85;
    /// A gap where libhtp takes none (outside a body of known length or read to the close).
    pub const INVALID_GAP: u16 = 73;
    /// A multipart body part named a file but had no content.
    pub const MULTIPART_NO_FILEDATA: u16 = 82;
    /// A multipart body part had a malformed header line.
    pub const MULTIPART_INVALID_HEADER: u16 = 83;
    /// An HTTP/1.1 request without Host.
    pub const MISSING_HOST_HEADER: u16 = 18;
    /// A response started with no request left to pair it with.
    pub const UNABLE_TO_MATCH_RESPONSE_TO_REQUEST: u16 = 13;
    /// A 1xx, 204 or 304 response with a length or transfer coding, or bytes after a
    /// response's body that do not start a status line.
    pub const RESPONSE_BODY_UNEXPECTED: u16 = 26;
    /// An Authorization header of a scheme other than Basic, Digest, Bearer.
    pub const REQUEST_AUTH_UNRECOGNIZED: u16 = 30;
    /// A request header name seen a second time (once per name).
    pub const REQUEST_HEADER_REPETITION: u16 = 31;
    /// A response header name seen a second time (once per name).
    pub const RESPONSE_HEADER_REPETITION: u16 = 32;
    /// A request line of an unknown method only.
    pub const REQUEST_LINE_UNKNOWN_METHOD: u16 = 56;
    /// A request line of an unknown method, without protocol.
    pub const REQUEST_LINE_UNKNOWN_METHOD_NO_PROTOCOL: u16 = 57;
    /// A request line of an unknown method and a protocol libhtp does not know.
    pub const REQUEST_LINE_UNKNOWN_METHOD_INVALID_PROTOCOL: u16 = 58;
    /// A request line without protocol followed by more than whitespace (headers).
    pub const REQUEST_LINE_MISSING_PROTOCOL: u16 = 59;
    /// A status line whose protocol is not HTTP/0.9, 1.0 or 1.1.
    pub const RESPONSE_LINE_INVALID_PROTOCOL: u16 = 60;
    /// A status line whose status is not a number in 100..=999.
    pub const RESPONSE_LINE_INVALID_RESPONSE_STATUS: u16 = 61;
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
    /// App-layer events raised on it ([`EVENTS`]).
    pub events: crate::app::plugin::TxEvents,
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
            HttpBuffer::Method => opt(self.request_line_done && !self.method.is_empty(), &self.method),
            HttpBuffer::RequestLine => opt(self.request_line_done && !self.request.line.is_empty(), &self.request.line),
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

/// Per-connection HTTP state.
#[derive(Debug)]
pub struct HttpState {
    cfg: HttpConfig,
    txs: Txs,
    req: Dir,
    res: Dir,
    /// A `101 Switching Protocols` named a protocol that has a parser: it and the stream
    /// offset (to client) where that protocol starts.
    upgrade: Option<(crate::app::AppProto, u64)>,
    /// The change of protocol for the flow, once the call that decided it is over.
    switch: Option<crate::app::plugin::Upgrade>,
}

impl HttpState {
    /// A fresh connection.
    pub fn new(cfg: &HttpConfig) -> Self {
        let (req, res) = (Dir::new(Side::Request), Dir::new(Side::Response));
        HttpState { cfg: cfg.clone(), txs: Txs::default(), req, res, upgrade: None, switch: None }
    }

    /// In-order bytes of one direction (`to_server`: client to server).
    pub fn parse(&mut self, to_server: bool, data: &[u8], stats: &mut HttpStats) {
        self.feed(to_server, data, false, stats);
    }

    /// `len` bytes of one direction are missing from the stream.
    pub fn gap(&mut self, to_server: bool, len: u64, stats: &mut HttpStats) {
        stats.gaps += 1;
        let HttpState { cfg, txs, req, res, .. } = self;
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

    /// Takes the protocol change a `101 Switching Protocols` decided, with the stream offset
    /// (to client) where the new protocol starts.
    pub fn take_upgrade(&mut self) -> Option<(crate::app::AppProto, u64)> {
        self.upgrade.take()
    }

    /// Bytes held pending across both directions (incomplete lines).
    pub fn pending_bytes(&self) -> usize {
        self.req.buf.len() + self.res.buf.len()
    }

    fn feed(&mut self, to_server: bool, data: &[u8], eof: bool, stats: &mut HttpStats) {
        let HttpState { cfg, txs, req, res, upgrade, .. } = self;
        let mut cx = Cx { cfg, txs, stats, tunnel: None };
        let d = if to_server { &mut *req } else { &mut *res };
        if d.closed {
            return;
        }
        d.feed(data, eof, &mut cx);
        // The response decided what follows a CONNECT or an upgrade.
        if let Some(tunnel) = cx.tunnel.take() {
            if tunnel {
                if !to_server {
                    *upgrade = upgrade_to(txs, res.tx).map(|p| (p, res.at));
                }
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

/// The protocol a tunnel after transaction `tx`'s response continues with, as Suricata's HTTP
/// parser requests the change: for a `101` response, HTTP/2 when its `Upgrade` is `h2c`
/// (exactly), WebSocket when it names that (case-insensitively).
fn upgrade_to(txs: &Txs, tx: Option<u64>) -> Option<crate::app::AppProto> {
    let t = txs.list.iter().find(|t| Some(t.id) == tx)?;
    let value = t.response.header_nozero(b"upgrade")?;
    if t.status_num != 101 {
        return None;
    }
    if value == b"h2c" {
        Some(crate::app::AppProto::Http2)
    } else {
        value.eq_ignore_ascii_case(b"websocket").then_some(crate::app::AppProto::Websocket)
    }
}

/// The request an HTTP/1 connection upgraded with (`Upgrade: h2c`), handed to HTTP/2 (which
/// makes stream 1 of it, as Suricata's `SCHTTP2MimicHttp1Request`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeRequest {
    /// Method.
    pub method: Vec<u8>,
    /// Request target as received (none for a request line without one).
    pub uri: Option<Vec<u8>>,
    /// Header fields (name, value) in order, as merged.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl HttpState {
    /// The last request seen (libhtp's last transaction, as Suricata takes it), for the
    /// protocol the connection upgrades to; none when no request line came.
    pub fn upgrade_request(&self) -> Option<UpgradeRequest> {
        let t = self.txs.list.back()?;
        if t.method.is_empty() {
            return None;
        }
        Some(UpgradeRequest {
            method: t.method.clone(),
            uri: (!t.uri_raw.is_empty()).then(|| t.uri_raw.clone()),
            headers: t.request.headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect(),
        })
    }
}
