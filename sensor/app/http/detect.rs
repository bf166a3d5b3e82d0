//! HTTP as a plug-in: its sticky buffers (rows), its transactions and parser behind the
//! app layer's traits, and its descriptor.

use super::{HttpBuffer as H, HttpState, HttpStats, HttpTx};
use crate::app::files::{File, FileState};
use crate::app::plugin::{
    buffer_infos, keyword_tables, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky,
    Transaction, Upgrade, ValueKeyword, PROGRESS_DONE,
};
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

/// Suricata's documentation of an HTTP keyword (its section of `http-keywords.html`).
const fn doc_of(name: &str) -> &'static str {
    match name.as_bytes() {
        b"http.accept" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-accept",
        b"http.accept_enc" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-accept-enc",
        b"http.accept_lang" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-accept-lang",
        b"http.connection" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-connection",
        b"http.content_len" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-content-len",
        b"http.content_type" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-content-type",
        b"http.cookie" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-cookie",
        b"http.header" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-header",
        b"http.header.raw" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-header-raw",
        b"http.header_names" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-header-names",
        b"http.host" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-host",
        b"http.host.raw" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-host-raw",
        b"http.location" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-location",
        b"http.method" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-method",
        b"http.protocol" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-protocol",
        b"http.referer" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-referer",
        b"http.request_body" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-request-body",
        b"http.request_header" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-request-header",
        b"http.request_line" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-request-line",
        b"http.response_body" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-response-body",
        b"http.response_header" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-response-header",
        b"http.response_line" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-response-line",
        b"http.server" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-server",
        b"http.start" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-start",
        b"http.stat_code" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-stat-code",
        b"http.stat_msg" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-stat-msg",
        b"http.uri" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-uri",
        b"http.uri.raw" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-uri-raw",
        b"http.user_agent" => "https://docs.suricata.io/en/latest/rules/http-keywords.html#http-user-agent",
        _ => "https://docs.suricata.io/en/latest/rules/http-keywords.html",
    }
}
const LINE: u8 = 1;
const HEADERS: u8 = 2;

/// A buffer that is one of the transaction's [`H`] buffers.
macro_rules! row {
    ($name:literal, [$($alias:literal),*], $side:ident, $need:expr, $buf:expr, $desc:literal) => {
        Sticky {
            info: BufferInfo {
                name: $name,
                aliases: &[$($alias),*],
                side: Side::$side,
                need: $need,
                multi: false,
                shared: false,
                internal: false,
                desc: $desc,
                doc: doc_of($name),
            },
            get: |tx: &HttpTx, to_server, f| tx.buffer($buf, to_server).is_some_and(f),
        }
    };
}

/// HTTP's sticky buffers, in the order of their numbers.
pub(crate) static BUFFERS: &[Sticky<HttpTx>] = &[
    row!("http.uri", [], ToServer, Need::request(LINE), H::Uri, "normalised request URI"),
    row!("http.uri.raw", [], ToServer, Need::request(LINE), H::UriRaw, "request URI as sent"),
    row!("http.method", [], ToServer, Need::request(LINE), H::Method, "request method"),
    row!("http.request_line", ["http_request_line"], ToServer, Need::request(LINE), H::RequestLine, "request line"),
    row!("http.host", [], ToServer, Need::request(HEADERS), H::Host, "host, lower-cased, port removed"),
    row!("http.host.raw", [], ToServer, Need::request(HEADERS), H::HostRaw, "host as sent"),
    row!("http.user_agent", [], ToServer, Need::request(HEADERS), H::UserAgent, "User-Agent header value"),
    row!("http.referer", ["http_referer"], ToServer, Need::request(HEADERS), H::Referer, "Referer header value"),
    row!("http.accept", ["http_accept"], ToServer, Need::request(HEADERS), H::Accept, "Accept header value"),
    row!(
        "http.accept_lang",
        ["http_accept_lang"],
        ToServer,
        Need::request(HEADERS),
        H::AcceptLang,
        "Accept-Language header value"
    ),
    row!(
        "http.accept_enc",
        ["http_accept_enc"],
        ToServer,
        Need::request(HEADERS),
        H::AcceptEnc,
        "Accept-Encoding header value"
    ),
    row!("http.request_body", [], ToServer, Need::request(PROGRESS_DONE), H::RequestBody, "request body, dechunked"),
    row!("http.stat_code", [], ToClient, Need::response(LINE), H::StatCode, "response status code"),
    row!("http.stat_msg", [], ToClient, Need::response(LINE), H::StatMsg, "response reason phrase"),
    row!(
        "http.response_line",
        ["http_response_line"],
        ToClient,
        Need::response(LINE),
        H::ResponseLine,
        "response status line"
    ),
    row!("http.location", ["http_location"], ToClient, Need::response(HEADERS), H::Location, "Location header value"),
    row!("http.server", ["http_server"], ToClient, Need::response(HEADERS), H::Server, "Server header value"),
    row!(
        "http.response_body",
        [],
        ToClient,
        Need::response(PROGRESS_DONE),
        H::ResponseBody,
        "response body, dechunked and decompressed"
    ),
    row!("http.header", [], Both, Need::own(HEADERS), H::Header, "normalised header fields, cookies left out"),
    row!("http.header.raw", [], Both, Need::own(HEADERS), H::HeaderRaw, "header block as sent"),
    row!(
        "http.header_names",
        ["http_header_names"],
        Both,
        Need::own(HEADERS),
        H::HeaderNames,
        "header field names in order"
    ),
    row!("http.cookie", [], Both, Need::own(HEADERS), H::Cookie, "Cookie (request) or Set-Cookie (response) value"),
    row!(
        "http.content_type",
        ["http_content_type"],
        Both,
        Need::own(HEADERS),
        H::ContentType,
        "Content-Type header value"
    ),
    row!(
        "http.content_len",
        ["http_content_len"],
        Both,
        Need::own(HEADERS),
        H::ContentLen,
        "Content-Length header value"
    ),
    row!("http.connection", ["http_connection"], Both, Need::own(HEADERS), H::Connection, "Connection header value"),
    row!("http.start", ["http_start"], Both, Need::own(HEADERS), H::Start, "first line and header block, normalised"),
    row!("http.protocol", ["http_protocol"], Both, Need::own(LINE), H::Protocol, "request or response protocol"),
    Sticky {
        info: BufferInfo {
            name: "file.data",
            aliases: &["file_data"],
            side: Side::Both,
            need: Need::own(PROGRESS_DONE),
            multi: true,
            shared: true,
            internal: false,
            desc: "file content: the request body to the server, the response body to the client",
            doc: "https://docs.suricata.io/en/latest/rules/file-keywords.html#file-data",
        },
        get: |tx: &HttpTx, to_server, f| {
            // a multipart request's files are its parts, each its own instance
            if to_server && tx.request.is_multipart() {
                return tx.request.parts.iter().any(|p| !p.file.retired && !p.data.is_empty() && f(&p.data));
            }
            let b = if to_server { H::RequestBody } else { H::ResponseBody };
            tx.buffer(b, to_server).is_some_and(|x| !x.is_empty() && f(x))
        },
    },
    Sticky {
        info: BufferInfo {
            name: "http.request_header",
            aliases: &[],
            side: Side::ToServer,
            need: Need::own(HEADERS),
            multi: true,
            shared: false,
            internal: false,
            desc: "each request header field as \"Name: value\"",
            doc: doc_of("http.request_header"),
        },
        get: |tx: &HttpTx, to_server, f| field_lines(tx, to_server, f),
    },
    Sticky {
        info: BufferInfo {
            name: "http.response_header",
            aliases: &[],
            side: Side::ToClient,
            need: Need::own(HEADERS),
            multi: true,
            shared: false,
            internal: false,
            desc: "each response header field as \"Name: value\"",
            doc: doc_of("http.response_header"),
        },
        get: |tx: &HttpTx, to_server, f| field_lines(tx, to_server, f),
    },
    Sticky {
        info: BufferInfo {
            name: RAW_HEAD,
            aliases: &[],
            side: Side::Both,
            need: Need::own(HEADERS),
            multi: false,
            shared: false,
            internal: true,
            desc: "",
            doc: "",
        },
        get: |tx: &HttpTx, to_server, f| {
            let m = if to_server { &tx.request } else { &tx.response };
            if m.line.is_empty() {
                return false;
            }
            // The body only as sent: a body that was decompressed is not what crossed the wire.
            let body = if m.header(b"content-encoding").is_some() { &[][..] } else { &m.body[..] };
            let mut v = Vec::with_capacity(m.line.len() + 2 + m.raw_headers.len() + body.len());
            v.extend_from_slice(&m.line);
            v.extend_from_slice(b"\r\n");
            v.extend_from_slice(&m.raw_headers);
            v.extend_from_slice(body);
            f(&v)
        },
    },
    Sticky {
        info: crate::app::files::file_buffer(
            "file.name",
            &[],
            Side::Both,
            Need::own(HEADERS),
            "the name of the file a message carries (Content-Disposition filename, else the URI path)",
            "https://docs.suricata.io/en/latest/rules/file-keywords.html#file-name",
        ),
        get: |tx: &HttpTx, to_server, f| {
            let m = if to_server { &tx.request } else { &tx.response };
            m.files().any(|file| !file.retired && f(&file.name))
        },
    },
];

/// What payload keywords of an HTTP rule inspect: the message as sent, i.e. the first line, the
/// header block and the body received so far (dechunked; left out when a content coding was
/// undone). Suricata matches them on the raw stream.
const RAW_HEAD: &str = "http.raw_head";

fn field_lines(tx: &HttpTx, to_server: bool, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    let m = if to_server { &tx.request } else { &tx.response };
    let mut line = Vec::new();
    m.headers.iter().any(|h| {
        line.clear();
        line.extend_from_slice(&h.name);
        line.extend_from_slice(b": ");
        line.extend_from_slice(&h.value);
        f(&line)
    })
}

fn level(line: bool, headers: bool, done: bool) -> u8 {
    if done {
        PROGRESS_DONE
    } else if headers {
        HEADERS
    } else if line {
        LINE
    } else {
        0
    }
}

/// HTTP's value keywords: `filesize` on the files its messages carry.
pub(crate) static VALUES: &[ValueKeyword<HttpTx>] =
    &[crate::app::files::filesize_row::<HttpTx>(), crate::app::files::filestore_row::<HttpTx>()];

impl Transaction for HttpTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        [
            level(self.request_line_done, self.request_headers_done, self.request_complete),
            level(self.response_line_done, self.response_headers_done, self.response_complete),
        ]
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        super::eve::write_object(j, self);
    }

    fn write_alert_files(&self, j: &mut Json<'_>, to_server: bool) {
        let m = if to_server { &self.request } else { &self.response };
        if m.files().any(|f| !f.retired) {
            let files: Vec<File> = m.files().filter(|f| !f.retired).cloned().collect();
            crate::app::eve_util::files_array(j, &files, self.id);
        }
    }

    fn files(&self, f: &mut dyn FnMut(&File)) {
        for m in [&self.request, &self.response] {
            m.files().for_each(&mut *f);
        }
    }

    fn events(&self) -> &[u16] {
        self.events.as_slice()
    }
}

/// Frame types: a request (line, headers and body as sent) and a response.
pub(crate) const FRAMES: &[&str] = &["request", "response"];

/// Hands the messages completed in a call to the flow's frames.
fn add_frames(s: &mut HttpState, cx: &mut ParseCx<'_>) {
    for (ts, off, len, tx) in s.txs.frames.drain(..) {
        if let Some(id) = cx.frames.add(ts, off, Some(len), u8::from(!ts)) {
            cx.frames.set_tx(id, tx);
        }
    }
}

impl AppParser for HttpState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let before = self.txs.next_id;
        self.txs.frames_on = cx.frames.any();
        let at = cx.frames.offset(to_server);
        if to_server {
            self.req.call_off = at;
        } else {
            self.res.call_off = at;
        }
        HttpState::parse(self, to_server, data, &mut cx.stats.http);
        if let Some((proto, from)) = self.take_upgrade() {
            let end = at + data.len() as u64;
            let rest = usize::try_from(end.saturating_sub(from)).unwrap_or(usize::MAX).min(data.len());
            self.switch = Some(Upgrade { proto, rest });
        }
        add_frames(self, cx);
        for _ in before..self.txs.next_id {
            cx.stats.tx(AppProto::Http, true);
        }
        self.txs.raised.drain(..).for_each(|e| cx.stats.tx_event(AppProto::Http, e));
        Status::Continue
    }

    fn gap(&mut self, to_server: bool, len: u64, cx: &mut ParseCx<'_>) -> Status {
        HttpState::gap(self, to_server, len, &mut cx.stats.http);
        self.txs.raised.drain(..).for_each(|e| cx.stats.tx_event(AppProto::Http, e));
        Status::Continue
    }

    fn eof(&mut self, to_server: bool, cx: &mut ParseCx<'_>) {
        let before = self.txs.next_id;
        let at = cx.frames.offset(to_server);
        if to_server {
            self.req.call_off = at;
        } else {
            self.res.call_off = at;
        }
        HttpState::eof(self, to_server, &mut cx.stats.http);
        add_frames(self, cx);
        for _ in before..self.txs.next_id {
            cx.stats.tx(AppProto::Http, true);
        }
        self.txs.raised.drain(..).for_each(|e| cx.stats.tx_event(AppProto::Http, e));
    }

    fn upgrade(&mut self) -> Option<Upgrade> {
        self.switch.take()
    }

    fn handoff(&mut self) -> Option<Box<dyn std::any::Any + Send>> {
        self.upgrade_request().map(|r| Box::new(r) as Box<dyn std::any::Any + Send>)
    }

    fn each_tx(&self, f: &mut dyn FnMut(&dyn Transaction)) {
        self.txs().for_each(|t| f(t));
    }

    fn tx(&self, id: u64) -> Option<&dyn Transaction> {
        self.txs().find(|t| t.id == id).map(|t| t as &dyn Transaction)
    }

    fn retire_files(&mut self, to_server: bool, ready: &dyn Fn([u8; 2]) -> bool) {
        for t in self.txs_mut() {
            if !ready(t.progress()) {
                continue;
            }
            let m = if to_server { &mut t.request } else { &mut t.response };
            m.files_mut().filter(|f| f.state != FileState::Open).for_each(|f| f.retired = true);
        }
    }

    fn free_txs(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
        let mut upto = None;
        for t in self.txs() {
            if t.is_complete() && inspected(t.id) {
                upto = Some(t.id);
            } else {
                break;
            }
        }
        let id = upto?;
        self.free_upto(id);
        Some(id + 1)
    }
}

/// HTTP/1's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    payload_buffer: Some(RAW_HEAD),
    events: super::EVENTS,
    eve_events_upper: true,
    record_tx_id: true,
    frames: FRAMES,
    ..Protocol::new(
        AppProto::Http,
        |cfg: &AppConfig| {
            Box::new(HttpState::new(&crate::app::http::HttpConfig { file_hashes: cfg.file_hashes, ..cfg.http.clone() }))
        },
        |s: &AppStats, f| HttpStats::each(&s.http, f),
    )
};
