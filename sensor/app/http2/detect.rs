//! HTTP/2 as a plug-in: its sticky buffers (the `http.*` buffers served from streams as
//! Suricata serves them, and `http2.header*`), its value keywords (`http2.frametype`, ...),
//! its transactions and parser behind the app layer's traits, its EVE object and descriptor.

use std::borrow::Cow;

use super::{
    FrameData, Http2State, Http2Stats, Http2Tx, Side as TxSide, ERROR_CODES, EVENTS, FRAMES, FRAME_TYPES, SETTINGS,
    ST_CLOSED,
};
use crate::app::jsonx::obj_array;
use crate::app::plugin::{
    buffer_infos, eval_value, get_buffer, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, RecordCx, Side,
    Status, Sticky, Transaction, ValueArg, ValueInfo, ValueKeyword, PROGRESS_DONE,
};
use crate::app::txs::app_parser_txs;
use crate::app::values::{parse_multi, parse_uint, parse_uint_enum, u64_arg, MultiUint, Uint};
use crate::app::{dns, AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const HTTP_DOC: &str = "https://docs.suricata.io/en/latest/rules/http-keywords.html";
const HTTP2_DOC: &str = "https://docs.suricata.io/en/latest/rules/http2-keywords.html";

/// A buffer row of a stream transaction (a global one has none).
macro_rules! row {
    ($name:literal, [$($alias:literal),*], $side:ident, $multi:literal, $desc:literal, $get:expr) => {
        Sticky {
            info: BufferInfo {
                name: $name,
                aliases: &[$($alias),*],
                side: Side::$side,
                need: Need::NONE,
                multi: $multi,
                shared: false,
                internal: false,
                desc: $desc,
                doc: HTTP_DOC,
            },
            get: |tx: &Http2Tx, to_server, f| !tx.global && ($get)(tx, to_server, f),
        }
    };
}

type Visit<'a> = &'a mut dyn FnMut(&[u8]) -> bool;

fn opt(v: Option<&[u8]>, f: Visit<'_>) -> bool {
    v.is_some_and(f)
}

fn cow(v: Option<Cow<'_, [u8]>>, f: Visit<'_>) -> bool {
    v.is_some_and(|v| f(&v))
}

/// `:authority` normalised as Suricata's `http2_normalize_host`: user info and port removed,
/// lower-cased.
fn host_norm(v: &[u8]) -> Vec<u8> {
    let (start, end) = match v.iter().position(|&c| c == b'@') {
        Some(i) => match v.get(i + 1..).and_then(|r| r.iter().position(|&c| c == b':')) {
            Some(j) => (i + 1, i + 1 + j),
            None => (i + 1, v.len()),
        },
        None => (0, v.iter().position(|&c| c == b':').unwrap_or(v.len())),
    };
    v.get(start..end).unwrap_or(&[]).to_ascii_lowercase()
}

fn request_line(tx: &Http2Tx) -> Vec<u8> {
    let mut l = Vec::new();
    l.extend_from_slice(tx.ts.first(b":method").unwrap_or(&[]));
    l.push(b' ');
    l.extend_from_slice(tx.ts.first(b":path").unwrap_or(&[]));
    l.extend_from_slice(b" HTTP/2\r\n");
    l
}

fn lines(s: &TxSide, f: Visit<'_>) -> bool {
    let mut line = Vec::new();
    s.headers().any(|h| {
        line.clear();
        line.extend_from_slice(&h.name);
        line.extend_from_slice(b": ");
        line.extend_from_slice(&h.value);
        f(&line)
    })
}

fn is_cookie(to_server: bool, name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(if to_server { b"cookie" } else { b"set-cookie" })
}

/// `http.header`: fields as `name: value\r\n`, values trimmed, cookies left out.
fn header_block(s: &TxSide, to_server: bool, raw: bool) -> Vec<u8> {
    let mut v = Vec::new();
    for h in s.headers() {
        if !raw && is_cookie(to_server, &h.name) {
            continue;
        }
        v.extend_from_slice(&h.name);
        v.extend_from_slice(b": ");
        v.extend_from_slice(if raw { &h.value } else { h.value.trim_ascii() });
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn header_names(s: &TxSide) -> Vec<u8> {
    let mut v = b"\r\n".to_vec();
    for h in s.headers() {
        v.extend_from_slice(&h.name);
        v.extend_from_slice(b"\r\n");
    }
    if v.len() > 2 {
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// HTTP/2's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<Http2Tx>] = &[
    row!("http.uri", [], ToServer, false, "the :path pseudo-header", |t: &Http2Tx, _, f| opt(t.ts.first(b":path"), f)),
    row!("http.uri.raw", [], ToServer, false, "the :path pseudo-header", |t: &Http2Tx, _, f| opt(
        t.ts.first(b":path"),
        f
    )),
    row!("http.method", [], ToServer, false, "the :method pseudo-header", |t: &Http2Tx, _, f| opt(
        t.ts.first(b":method"),
        f
    )),
    row!(
        "http.request_line",
        ["http_request_line"],
        ToServer,
        false,
        "`METHOD PATH HTTP/2` from the pseudo-headers",
        |t: &Http2Tx, _, f: Visit<'_>| f(&request_line(t))
    ),
    row!(
        "http.host",
        [],
        ToServer,
        false,
        ":authority, lower-cased, port and user info removed",
        |t: &Http2Tx, _, f: Visit<'_>| t.ts.joined(b":authority").is_some_and(|v| f(&host_norm(&v)))
    ),
    row!("http.host.raw", [], ToServer, false, ":authority as sent", |t: &Http2Tx, _, f| cow(
        t.ts.joined(b":authority"),
        f
    )),
    row!("http.user_agent", [], ToServer, false, "user-agent header value", |t: &Http2Tx, _, f| cow(
        t.ts.joined(b"user-agent"),
        f
    )),
    row!("http.referer", ["http_referer"], ToServer, false, "referer header value", |t: &Http2Tx, _, f| cow(
        t.ts.joined(b"referer"),
        f
    )),
    row!("http.accept", ["http_accept"], ToServer, false, "accept header value", |t: &Http2Tx, _, f| cow(
        t.ts.joined(b"accept"),
        f
    )),
    row!(
        "http.accept_lang",
        ["http_accept_lang"],
        ToServer,
        false,
        "accept-language header value",
        |t: &Http2Tx, _, f| cow(t.ts.joined(b"accept-language"), f)
    ),
    row!(
        "http.accept_enc",
        ["http_accept_enc"],
        ToServer,
        false,
        "accept-encoding header value",
        |t: &Http2Tx, _, f| cow(t.ts.joined(b"accept-encoding"), f)
    ),
    row!("http.request_body", [], ToServer, false, "DATA payloads to the server", |t: &Http2Tx, _, f: Visit<'_>| !t
        .ts
        .body
        .is_empty()
        && f(&t.ts.body)),
    row!("http.stat_code", [], ToClient, false, "the :status pseudo-header", |t: &Http2Tx, _, f| opt(
        t.tc.first(b":status"),
        f
    )),
    row!(
        "http.stat_msg",
        [],
        ToClient,
        false,
        "empty: HTTP/2 has no reason phrase",
        |_t: &Http2Tx, _, f: Visit<'_>| f(b"")
    ),
    row!(
        "http.response_line",
        ["http_response_line"],
        ToClient,
        false,
        "`HTTP/2 STATUS` from the :status pseudo-header",
        |t: &Http2Tx, _, f: Visit<'_>| {
            let mut l = b"HTTP/2 ".to_vec();
            l.extend_from_slice(t.tc.first(b":status").unwrap_or(&[]));
            l.extend_from_slice(b"\r\n");
            f(&l)
        }
    ),
    row!("http.location", ["http_location"], ToClient, false, "location header value", |t: &Http2Tx, _, f| cow(
        t.tc.joined(b"location"),
        f
    )),
    row!("http.server", ["http_server"], ToClient, false, "server header value", |t: &Http2Tx, _, f| cow(
        t.tc.joined(b"server"),
        f
    )),
    row!("http.response_body", [], ToClient, false, "DATA payloads to the client", |t: &Http2Tx, _, f: Visit<'_>| !t
        .tc
        .body
        .is_empty()
        && f(&t.tc.body)),
    row!(
        "http.header",
        [],
        Both,
        false,
        "header fields as `name: value` lines, cookies left out",
        |t: &Http2Tx, ts, f: Visit<'_>| {
            let v = header_block(t.side(ts), ts, false);
            !v.is_empty() && f(&v)
        }
    ),
    row!(
        "http.header.raw",
        [],
        Both,
        false,
        "header fields as `name: value` lines",
        |t: &Http2Tx, ts, f: Visit<'_>| {
            let v = header_block(t.side(ts), ts, true);
            !v.is_empty() && f(&v)
        }
    ),
    row!(
        "http.header_names",
        ["http_header_names"],
        Both,
        false,
        "header names, each after CRLF",
        |t: &Http2Tx, ts, f: Visit<'_>| {
            let v = header_names(t.side(ts));
            v.len() > 2 && f(&v)
        }
    ),
    row!("http.cookie", [], Both, false, "cookie (request) or set-cookie (response) value", |t: &Http2Tx, ts, f| cow(
        t.side(ts).joined(if ts { b"cookie" } else { b"set-cookie" }),
        f
    )),
    row!("http.content_type", ["http_content_type"], Both, false, "content-type header value", |t: &Http2Tx, ts, f| {
        cow(t.side(ts).joined(b"content-type"), f)
    }),
    row!("http.content_len", ["http_content_len"], Both, false, "content-length header value", |t: &Http2Tx, ts, f| {
        cow(t.side(ts).joined(b"content-length"), f)
    }),
    row!("http.connection", ["http_connection"], Both, false, "connection header value", |t: &Http2Tx, ts, f| cow(
        t.side(ts).joined(b"connection"),
        f
    )),
    row!("http.protocol", ["http_protocol"], Both, false, "`HTTP/2`", |_t: &Http2Tx, _, f: Visit<'_>| f(b"HTTP/2")),
    row!(
        "http.request_header",
        [],
        ToServer,
        true,
        "each request header field as `name: value`",
        |t: &Http2Tx, _, f| lines(&t.ts, f)
    ),
    row!(
        "http.response_header",
        [],
        ToClient,
        true,
        "each response header field as `name: value`",
        |t: &Http2Tx, _, f| lines(&t.tc, f)
    ),
    Sticky {
        info: BufferInfo {
            name: "file.data",
            aliases: &["file_data"],
            side: Side::Both,
            need: Need::NONE,
            multi: true,
            shared: true,
            internal: false,
            desc: "file content: the DATA payloads of a stream, each direction",
            doc: "https://docs.suricata.io/en/latest/rules/file-keywords.html#file-data",
        },
        get: |t: &Http2Tx, ts, f| {
            let b = &t.side(ts).body;
            !t.global && !b.is_empty() && f(b)
        },
    },
    Sticky {
        info: BufferInfo {
            name: "http2.header_name",
            aliases: &[],
            side: Side::Both,
            need: Need::NONE,
            multi: true,
            shared: false,
            internal: false,
            desc: "one HTTP/2 header name, each in turn",
            doc: HTTP2_DOC,
        },
        get: |t: &Http2Tx, ts, f| t.side(ts).headers().any(|h| f(&h.name)),
    },
    Sticky {
        info: BufferInfo {
            name: "http2.header",
            aliases: &[],
            side: Side::Both,
            need: Need::NONE,
            multi: true,
            shared: false,
            internal: false,
            desc: "one HTTP/2 header field as `name: value`, each in turn",
            doc: HTTP2_DOC,
        },
        get: |t: &Http2Tx, ts, f| lines(t.side(ts), f),
    },
];

fn frame_type_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_multi(v, |x| parse_uint_enum(Some(x), u64::from(u8::MAX), FRAME_TYPES)).map(|m| Box::new(m) as ValueArg)
}

fn error_code_arg(v: Option<&str>) -> Result<ValueArg, String> {
    let table: Vec<(&str, u64)> = ERROR_CODES.iter().map(|e| (e.0, e.2)).collect();
    parse_multi(v, |x| parse_uint_enum(Some(x), u64::from(u32::MAX), &table)).map(|m| Box::new(m) as ValueArg)
}

fn multi_arg(max: u64) -> impl Fn(Option<&str>) -> Result<ValueArg, String> {
    move |v| parse_multi(v, |x| parse_uint(Some(x), max)).map(|m| Box::new(m) as ValueArg)
}

/// `http2.settings:NAME[CMP]`.
#[derive(Debug)]
struct SettingArg {
    id: u16,
    value: Option<Uint>,
}

fn settings_arg(v: Option<&str>) -> Result<ValueArg, String> {
    let s = v.unwrap_or("").trim();
    let end = s.find([' ', '<', '>', '=']).unwrap_or(s.len());
    let (name, rest) = s.split_at(end);
    let id = SETTINGS
        .iter()
        .find(|e| e.0.eq_ignore_ascii_case(name))
        .map(|e| e.2)
        .ok_or_else(|| format!("unknown setting `{name}`"))?;
    let rest = rest.trim();
    let value = if rest.is_empty() { None } else { Some(parse_uint(Some(rest), u64::from(u32::MAX))?) };
    Ok(Box::new(SettingArg { id, value }))
}

fn multi(arg: &ValueArg, t: &Http2Tx, ts: bool, get: fn(&FrameData, u8) -> Option<u64>) -> bool {
    let Some(m) = arg.downcast_ref::<MultiUint>() else { return false };
    let items: Vec<Option<u64>> = t.side(ts).frames.iter().map(|fr| get(&fr.data, fr.ftype)).collect();
    m.matches(&items, t.complete())
}

const fn value(
    name: &'static str,
    parse: fn(Option<&str>) -> Result<ValueArg, String>,
    desc: &'static str,
) -> ValueInfo {
    ValueInfo { name, aliases: &[], arg: Some(true), side: Side::Both, need: Need::NONE, parse, desc, doc: HTTP2_DOC }
}

/// HTTP/2's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<Http2Tx>] = &[
    ValueKeyword {
        info: value("http2.frametype", frame_type_arg, "the type of a frame of the direction (a number or a name)"),
        eval: |a, t, ts, _| multi(a, t, ts, |_, ft| Some(u64::from(ft))),
    },
    ValueKeyword {
        info: value("http2.errorcode", error_code_arg, "the error code of a GOAWAY or RST_STREAM frame"),
        eval: |a, t, ts, _| {
            multi(a, t, ts, |d, _| match d {
                FrameData::GoAway(e) | FrameData::RstStream(e) => Some(u64::from(*e)),
                _ => None,
            })
        },
    },
    ValueKeyword {
        info: value(
            "http2.priority",
            |v| multi_arg(u64::from(u8::MAX))(v),
            "the weight of a PRIORITY or HEADERS frame",
        ),
        eval: |a, t, ts, _| {
            multi(a, t, ts, |d, _| match d {
                FrameData::Priority(w) | FrameData::Headers(Some(w), _) => Some(u64::from(*w)),
                _ => None,
            })
        },
    },
    ValueKeyword {
        info: value("http2.window", |v| multi_arg(u64::from(u32::MAX))(v), "the increment of a WINDOW_UPDATE frame"),
        eval: |a, t, ts, _| {
            multi(a, t, ts, |d, _| match d {
                FrameData::WindowUpdate(w) => Some(u64::from(*w)),
                _ => None,
            })
        },
    },
    ValueKeyword {
        info: value("http2.size_update", u64_arg, "a dynamic table size update of a header block"),
        eval: |a, t, ts, _| {
            let Some(u) = a.downcast_ref::<Uint>() else { return false };
            t.side(ts).frames.iter().filter_map(|f| f.block()).any(|b| b.size_updates.iter().any(|&s| u.matches(s)))
        },
    },
    ValueKeyword {
        info: value("http2.settings", settings_arg, "a setting of a SETTINGS frame, with an optional comparison"),
        eval: |a, t, ts, _| {
            let Some(s) = a.downcast_ref::<SettingArg>() else { return false };
            t.side(ts).frames.iter().any(|f| match &f.data {
                FrameData::Settings(set) => {
                    set.iter().any(|&(id, v)| id == s.id && s.value.is_none_or(|u| u.matches(u64::from(v))))
                }
                _ => false,
            })
        },
    },
];

/// Progress of a side: 0 started, 1 headers, 2 data (or closed while the other side is
/// not), [`PROGRESS_DONE`] once the stream is complete.
fn progress(t: &Http2Tx, ts: bool) -> u8 {
    if t.complete() {
        PROGRESS_DONE
    } else {
        t.side(ts).state.min(ST_CLOSED - 1)
    }
}

fn error_name(code: u32) -> Cow<'static, str> {
    match ERROR_CODES.iter().find(|e| e.2 == u64::from(code)) {
        Some(e) => Cow::Borrowed(e.1),
        None => Cow::Owned(format!("unknown-{code}")),
    }
}

/// Writes `request`/`response` of the `http2` object (Suricata's `log_http2_frames`);
/// false when it has nothing.
fn write_frames(j: &mut Json<'_>, key: &str, s: &TxSide, priority: bool) -> bool {
    let settings: Vec<(u16, u32)> = s
        .frames
        .iter()
        .filter_map(|f| if let FrameData::Settings(set) = &f.data { Some(set.iter().copied()) } else { None })
        .flatten()
        .collect();
    let has_settings = s.frames.iter().any(|f| matches!(f.data, FrameData::Settings(_)));
    let mut error: Option<u32> = None;
    let mut prio: Option<u8> = None;
    let mut multiple: Option<&str> = None;
    for f in &s.frames {
        match &f.data {
            FrameData::GoAway(e) | FrameData::RstStream(e) => {
                if error.is_none() {
                    error = Some(*e);
                } else if multiple.is_none() {
                    multiple = Some("error_code");
                }
            }
            FrameData::Priority(w) | FrameData::Headers(Some(w), _) if priority => {
                if prio.is_none() {
                    prio = Some(*w);
                } else if multiple.is_none() {
                    multiple = Some("priority");
                }
            }
            _ => {}
        }
    }
    if !has_settings && error.is_none() && prio.is_none() {
        return false;
    }
    let mut o = j.begin(key);
    if has_settings {
        obj_array(&mut o, "settings", &settings, |e, &(id, v)| {
            let name = SETTINGS.iter().find(|s| s.2 == id).map_or("", |s| s.1);
            e.str("settings_id", name);
            e.u64("settings_value", u64::from(v));
        });
    }
    if let Some(e) = error {
        o.str("error_code", &error_name(e));
    }
    if let Some(p) = prio {
        o.u64("priority", u64::from(p));
    }
    if let Some(m) = multiple {
        o.str("has_multiple", m);
    }
    o.end();
    true
}

impl Http2Tx {
    /// Writes the `"http":{...}` object of an HTTP/2 stream, as Suricata's `log_http2`;
    /// false when there was nothing to log.
    pub fn write_eve(&self, j: &mut Json<'_>) -> bool {
        let mut o = j.begin("http");
        o.str("version", "2");
        let mut has_headers = false;
        for (key, s) in [("request_headers", &self.ts), ("response_headers", &self.tc)] {
            let blocks: Vec<&super::Block> = s.frames.iter().filter_map(|f| f.block()).collect();
            if blocks.is_empty() {
                continue;
            }
            has_headers = true;
            // size updates first in each block, then its fields (Suricata lists them in order)
            let mut items: Vec<(Option<&super::Header>, u64)> = Vec::new();
            for b in blocks {
                items.extend(b.size_updates.iter().map(|&u| (None, u)));
                items.extend(b.headers.iter().map(|h| (Some(h), 0)));
            }
            obj_array(&mut o, key, &items, |e, (h, u)| match h {
                Some(h) => {
                    e.bytes("name", &h.name);
                    e.bytes("value", &h.value);
                }
                None => {
                    e.u64("table_size_update", *u);
                }
            });
        }
        // the last of each, as Suricata's map of common headers keeps
        let last = |s: &TxSide, n: &[u8]| {
            s.headers().filter(|h| h.name.eq_ignore_ascii_case(n)).last().map(|h| h.value.clone())
        };
        let common = |n: &[u8]| last(&self.tc, n).or_else(|| last(&self.ts, n));
        let req = |n: &[u8]| last(&self.ts, n).or_else(|| last(&self.tc, n));
        if let Some(v) = req(b":method") {
            o.bytes("http_method", &v);
        }
        if let Some(v) = req(b":path") {
            o.bytes("url", &v);
        }
        if let Some(v) = req(b"host") {
            o.bytes("hostname", &v);
        }
        if let Some(v) = req(b"user-agent") {
            o.bytes("http_user_agent", &v);
        }
        if let Some(n) =
            common(b"content-length").and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse::<u64>().ok())
        {
            o.u64("length", n);
        }
        if let Some(n) = common(b":status").and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse::<u64>().ok()) {
            o.u64("status", n);
        }
        let mut h2 = o.begin("http2");
        h2.u64("stream_id", u64::from(self.stream_id));
        let req_f = write_frames(&mut h2, "request", &self.ts, true);
        // the schema's response object has no priority
        let resp_f = write_frames(&mut h2, "response", &self.tc, false);
        h2.end();
        o.end();
        req_f || resp_f || has_headers
    }
}

impl Transaction for Http2Tx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        [progress(self, true), progress(self, false)]
    }

    fn direction(&self) -> Option<bool> {
        self.global.then_some(self.global_to_server)
    }

    fn buffer(&self, buffer: u16, to_server: bool, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        // past HTTP/2's own rows: DNS's, on the DNS message of the direction (DoH)
        match buffer.checked_sub(BUFFERS.len() as u16) {
            None => get_buffer(BUFFERS, buffer, self, to_server, f),
            Some(b) => self.dns(to_server).is_some_and(|d| get_buffer(dns::BUFFERS, b, d, to_server, f)),
        }
    }

    fn value(&self, keyword: u16, arg: &ValueArg, to_server: bool, now_secs: i64) -> bool {
        match keyword.checked_sub(VALUES.len() as u16) {
            None => eval_value(VALUES, keyword, arg, self, to_server, now_secs),
            Some(k) => self.dns(to_server).is_some_and(|d| eval_value(dns::VALUES, k, arg, d, to_server, now_secs)),
        }
    }

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
        // DoH: one DNS message too, the answer preferred (Suricata's AlertJsonDoh2)
        if let Some(d) = self.doh[1].as_deref().or(self.doh[0].as_deref()) {
            d.write_eve(j, false);
        }
    }

    fn write_record(&self, j: &mut Json<'_>, _cx: &RecordCx<'_>) -> bool {
        let http = self.write_eve(j);
        // DoH: the DNS message too, the answer preferred (Suricata's JsonDoh2Logger)
        let dns = self.doh[1].as_deref().or(self.doh[0].as_deref());
        if let Some(d) = dns {
            d.write_eve(j, true);
        }
        http || dns.is_some()
    }

    fn events(&self) -> &[u16] {
        self.events.as_slice()
    }
}

impl AppParser for Http2State {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let before = self.reported;
        self.frames_on = cx.frames.any();
        self.call_off = cx.frames.offset(to_server);
        Http2State::parse(self, to_server, data);
        // each frame as Suricata names it: its header, its payload, the whole
        for (ts, off, len, tx) in self.frame_log.drain(..) {
            const H: u64 = 9;
            for (ty, at, n) in [(0, off, H), (1, off + H, len), (2, off, H + len)] {
                if let (Some(id), Some(tx)) = (cx.frames.add(ts, at, Some(n), ty), tx) {
                    cx.frames.set_tx(id, tx);
                }
            }
        }
        self.reported = self.next_id;
        for _ in before..self.next_id {
            cx.stats.tx(AppProto::Http2, true);
        }
        for t in self.txs.iter().filter(|t| t.id >= before) {
            for &e in t.events.as_slice() {
                cx.stats.tx_event(AppProto::Http2, e);
            }
        }
        self.stats.drain_into(&mut cx.stats.http2);
        if self.failed() {
            Status::Stop
        } else {
            Status::Continue
        }
    }

    fn proto_change(&self) -> Option<AppProto> {
        self.doh.then_some(AppProto::Doh2)
    }

    fn take_over(&mut self, from: AppProto, data: Box<dyn std::any::Any + Send>) {
        if let (AppProto::Http, Some(req)) = (from, data.downcast_ref::<crate::app::http::UpgradeRequest>()) {
            self.take_over_http1(req);
        }
    }

    app_parser_txs!(by_id, free);
}

impl Http2Tx {
    /// The DNS message of a direction (DoH).
    pub fn dns(&self, to_server: bool) -> Option<&dns::Tx> {
        self.doh[usize::from(!to_server)].as_deref()
    }
}

/// HTTP/2's buffers, then DNS's (served from DoH messages).
fn all_buffers() -> Vec<BufferInfo> {
    let mut v = buffer_infos(BUFFERS);
    v.extend(buffer_infos(dns::BUFFERS));
    v
}

/// HTTP/2's value keywords, then DNS's.
fn all_values() -> Vec<ValueInfo> {
    let mut v = value_infos(VALUES);
    v.extend(value_infos(dns::VALUES));
    v
}

fn new_parser(cfg: &AppConfig) -> Box<dyn AppParser> {
    Box::new(Http2State::new(cfg.http.request_body_limit, cfg.http.response_body_limit))
}

/// HTTP/2's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: all_buffers,
    values: all_values,
    // frames (windows, settings) arrive on a stream without moving its progress
    reinspect: true,
    events: EVENTS,
    record_type: Some("http"),
    frames: FRAMES,
    ..Protocol::new(AppProto::Http2, new_parser, |s: &AppStats, f| Http2Stats::each(&s.http2, f))
};

/// DoH's descriptor: an HTTP/2 flow one of whose streams carried DNS becomes `doh2`, as in
/// Suricata; the same parser, transactions and keywords (its counters are HTTP/2's).
pub static DOH2_PROTOCOL: Protocol = Protocol {
    buffers: all_buffers,
    values: all_values,
    reinspect: true,
    events: EVENTS,
    record_type: Some("http"),
    frames: FRAMES,
    ..Protocol::new(AppProto::Doh2, new_parser, |_: &AppStats, _| {})
};
