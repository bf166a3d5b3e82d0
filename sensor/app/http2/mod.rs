//! HTTP/2: frames, HPACK header blocks and streams as transactions, after Suricata's
//! `rust/src/http2/` (semantics read there; the code is this project's).
//!
//! Takes: the in-order bytes of each direction of a flow identified as HTTP/2 (the client
//! connection preface `PRI * HTTP/2.0`, prior knowledge), split however the segments fell.
//! Promises, as Suricata: the client's 24-byte preface is checked and skipped
//! (`invalid_client_magic` otherwise); then 9-byte frame headers and their payloads of every
//! type (DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY,
//! WINDOW_UPDATE, CONTINUATION; unknown types kept as frames without data), each length
//! checked against its type (`invalid_frame_length`). Frames of stream 0 make a transaction of
//! their own (a "global" one, complete at once; an empty SETTINGS, the ACK, makes none); frames
//! of a stream go to that stream's transaction (a PUSH_PROMISE to the promised stream's), which
//! is complete once both sides sent END_STREAM. Header blocks (HEADERS or PUSH_PROMISE and
//! their CONTINUATIONs) are decoded with HPACK, one decoder per direction ([`loona_hpack`]).
//! DATA payloads (padding removed) are the bodies (`http.request_body`, `file.data`) up to the
//! body limits; a DoH body (`application/dns-message`) is kept for DNS. Each frame is named for
//! the `frame` keyword ([`FRAMES`]: its header, payload and both, at their stream offsets, with
//! their transaction) when rules inspect frames. A flow upgraded from HTTP/1 (`h2c`) starts
//! with the upgrading request as stream 1 ([`upgrade`]).
//! Bounded ([`MAX_STREAMS`] transactions, [`MAX_FRAMES`] frames kept per transaction and side,
//! a frame payload of at most [`MAX_FRAME_HANDLED`] bytes buffered (the rest of a longer one is
//! skipped: `long_frame_data`), a header block of at most [`MAX_REASS`] bytes over its
//! CONTINUATIONs (`reassembly_limit_reached`), an HPACK dynamic table of at most
//! [`MAX_TABLE_SIZE`] bytes, at most [`MAX_DECODED_HEADER_BYTES`] decoded header bytes kept per
//! block (an HPACK bomb: `hpack_bombs`)); what does not fit is counted. Never: panics on input.

mod detect;
mod headers;
#[cfg(test)]
mod tests;
mod upgrade;

pub use detect::{DOH2_PROTOCOL, PROTOCOL};

use std::collections::VecDeque;

use super::plugin::TxEvents;
use headers::{doh_tx, header_events, Hpack};

/// Transactions (streams) held per flow (Suricata's `http2.max-streams`, 4096).
pub const MAX_STREAMS: usize = 4096;
/// Frames kept per transaction and direction (Suricata keeps up to 65536; frames past this
/// one are still parsed, not kept: `too_many_frames`).
pub const MAX_FRAMES: usize = 1024;
/// Longest frame payload buffered (Suricata's `HTTP2_MAX_HANDLED_FRAME_SIZE`).
pub const MAX_FRAME_HANDLED: usize = 65_536;
/// Longest header block reassembled over CONTINUATION frames (Suricata's `http2.max-reassembly-size`).
pub const MAX_REASS: usize = 102_400;
/// Largest HPACK dynamic table a size update may ask for (Suricata's `http2.max-table-size`).
pub const MAX_TABLE_SIZE: usize = 65_536;
/// Decoded header bytes (names and values) kept per header block: what an HPACK block that
/// refers to large table entries again and again (a bomb) may expand to.
pub const MAX_DECODED_HEADER_BYTES: usize = 262_144;
/// Client connection preface.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frame header length.
const FRAME_HEADER: usize = 9;
/// Frame types of the `frame` keyword (`http2.hdr`: a frame's 9-byte header, `http2.data`:
/// its payload, `http2.pdu`: both), as Suricata's `Http2FrameType`.
pub const FRAMES: &[&str] = &["hdr", "data", "pdu"];

/// Frame types.
pub const FT_DATA: u8 = 0;
/// HEADERS.
pub const FT_HEADERS: u8 = 1;
/// PRIORITY.
pub const FT_PRIORITY: u8 = 2;
/// RST_STREAM.
pub const FT_RST_STREAM: u8 = 3;
/// SETTINGS.
pub const FT_SETTINGS: u8 = 4;
/// PUSH_PROMISE.
pub const FT_PUSH_PROMISE: u8 = 5;
/// PING.
pub const FT_PING: u8 = 6;
/// GOAWAY.
pub const FT_GOAWAY: u8 = 7;
/// WINDOW_UPDATE.
pub const FT_WINDOW_UPDATE: u8 = 8;
/// CONTINUATION.
pub const FT_CONTINUATION: u8 = 9;

const FLAG_END_STREAM: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;

/// Frame type names as `http2.frametype` takes them (Suricata's, upper case, no underscore).
pub const FRAME_TYPES: &[(&str, u64)] = &[
    ("DATA", 0),
    ("HEADERS", 1),
    ("PRIORITY", 2),
    ("RSTSTREAM", 3),
    ("SETTINGS", 4),
    ("PUSHPROMISE", 5),
    ("PING", 6),
    ("GOAWAY", 7),
    ("WINDOWUPDATE", 8),
    ("CONTINUATION", 9),
];

/// Error codes: the name `http2.errorcode` takes, and the one EVE logs.
pub const ERROR_CODES: &[(&str, &str, u64)] = &[
    ("NO_ERROR", "NOERROR", 0),
    ("PROTOCOL_ERROR", "PROTOCOLERROR", 1),
    ("INTERNAL_ERROR", "INTERNALERROR", 2),
    ("FLOW_CONTROL_ERROR", "FLOWCONTROLERROR", 3),
    ("SETTINGS_TIMEOUT", "SETTINGSTIMEOUT", 4),
    ("STREAM_CLOSED", "STREAMCLOSED", 5),
    ("FRAME_SIZE_ERROR", "FRAMESIZEERROR", 6),
    ("REFUSED_STREAM", "REFUSEDSTREAM", 7),
    ("CANCEL", "CANCEL", 8),
    ("COMPRESSION_ERROR", "COMPRESSIONERROR", 9),
    ("CONNECT_ERROR", "CONNECTERROR", 10),
    ("ENHANCE_YOUR_CALM", "ENHANCEYOURCALM", 11),
    ("INADEQUATE_SECURITY", "INADEQUATESECURITY", 12),
    ("HTTP11_REQUIRED", "HTTP11REQUIRED", 13),
];

/// Settings: the name `http2.settings` takes, the one EVE logs, and the id.
pub const SETTINGS: &[(&str, &str, u16)] = &[
    ("SETTINGS_HEADER_TABLE_SIZE", "SETTINGSHEADERTABLESIZE", 1),
    ("SETTINGS_ENABLE_PUSH", "SETTINGSENABLEPUSH", 2),
    ("SETTINGS_MAX_CONCURRENT_STREAMS", "SETTINGSMAXCONCURRENTSTREAMS", 3),
    ("SETTINGS_INITIAL_WINDOW_SIZE", "SETTINGSINITIALWINDOWSIZE", 4),
    ("SETTINGS_MAX_FRAME_SIZE", "SETTINGSMAXFRAMESIZE", 5),
    ("SETTINGS_MAX_HEADER_LIST_SIZE", "SETTINGSMAXHEADERLISTSIZE", 6),
    ("SETTINGS_ENABLE_CONNECT_PROTOCOL", "SETTINGSENABLECONNECTPROTOCOL", 8),
    ("SETTINGS_NO_RFC7540_PRIORITIES", "SETTINGSNORFC7540PRIORITIES", 9),
];

crate::app_counters! {
    /// HTTP/2 counters (plain integers).
    pub struct Http2Stats {
        /// Frames parsed.
        frames,
        /// Header blocks decoded.
        header_blocks,
        /// Header blocks HPACK could not decode (bad encoding, or a table size update over the bound).
        hpack_errors,
        /// Header blocks whose decoded headers passed the per-block bound (HPACK bombs): the rest was not kept.
        hpack_bombs,
        /// Header blocks cut at the CONTINUATION reassembly bound.
        reass_limit,
        /// Frames longer than the handled size (the rest of their payload skipped).
        long_frames,
        /// Frames not kept because their transaction held the most frames already.
        frames_dropped,
        /// Streams not tracked because the flow held the most transactions already.
        streams_dropped,
        /// Body bytes beyond the body limits (not kept).
        body_truncated,
    }
}

/// Suricata's HTTP/2 app-layer events, in its order.
pub const EVENTS: &[&str] = &[
    "invalid_frame_header",
    "invalid_client_magic",
    "invalid_frame_data",
    "invalid_header",
    "invalid_frame_length",
    "extra_header_data",
    "long_frame_data",
    "stream_id_reuse",
    "invalid_http1_settings",
    "failed_decompression",
    "invalid_range",
    "header_integer_overflow",
    "too_many_streams",
    "authority_host_mismatch",
    "userinfo_in_uri",
    "reassembly_limit_reached",
    "dns_request_too_long",
    "dns_response_too_long",
    "data_stream_zero",
    "too_many_frames",
    "compression_bomb",
];
const EV_INVALID_FRAME_HEADER: u16 = 0;
const EV_INVALID_CLIENT_MAGIC: u16 = 1;
const EV_INVALID_FRAME_DATA: u16 = 2;
const EV_INVALID_HEADER: u16 = 3;
const EV_INVALID_FRAME_LENGTH: u16 = 4;
const EV_LONG_FRAME_DATA: u16 = 6;
const EV_STREAM_ID_REUSE: u16 = 7;
const EV_INVALID_HTTP1_SETTINGS: u16 = 8;
const EV_TOO_MANY_STREAMS: u16 = 12;
const EV_AUTHORITY_HOST_MISMATCH: u16 = 13;
const EV_USERINFO_IN_URI: u16 = 14;
const EV_REASSEMBLY_LIMIT: u16 = 15;
const EV_DATA_STREAM_ZERO: u16 = 18;
const EV_TOO_MANY_FRAMES: u16 = 19;

/// One decoded header field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Name as sent (HTTP/2 names are lower case).
    pub name: Vec<u8>,
    /// Value as sent.
    pub value: Vec<u8>,
}

/// A decoded header block (of a HEADERS, PUSH_PROMISE or the CONTINUATION that ended one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Block {
    /// The fields, in order.
    pub headers: Vec<Header>,
    /// Dynamic table size updates at its start (`http2.size_update`).
    pub size_updates: Vec<u64>,
    /// HPACK could not decode (part of) it.
    pub error: bool,
}

/// What a frame carried, as far as detection and logging look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameData {
    /// DATA (the payload went to the body).
    Data,
    /// HEADERS: its priority weight if flagged, its block once complete.
    Headers(Option<u8>, Block),
    /// PRIORITY: the weight.
    Priority(u8),
    /// RST_STREAM: the error code.
    RstStream(u32),
    /// SETTINGS: (id, value) pairs.
    Settings(Vec<(u16, u32)>),
    /// PUSH_PROMISE: the promised stream and its block once complete.
    PushPromise(u32, Block),
    /// PING.
    Ping,
    /// GOAWAY: the error code.
    GoAway(u32),
    /// WINDOW_UPDATE: the increment.
    WindowUpdate(u32),
    /// CONTINUATION: the block it completed (empty before END_HEADERS).
    Continuation(Block),
    /// An unknown type, or a frame whose payload did not parse.
    Other,
}

/// One frame of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Type.
    pub ftype: u8,
    /// Flags.
    pub flags: u8,
    /// What it carried.
    pub data: FrameData,
}

impl Frame {
    /// The header block it carries, if any.
    pub fn block(&self) -> Option<&Block> {
        match &self.data {
            FrameData::Headers(_, b) | FrameData::PushPromise(_, b) | FrameData::Continuation(b) => Some(b),
            _ => None,
        }
    }
}

/// Per-direction part of a transaction.
#[derive(Clone, Debug, Default)]
pub struct Side {
    /// Frames, in order.
    pub frames: Vec<Frame>,
    /// DATA payloads, up to the body limit.
    pub body: Vec<u8>,
    /// Whether the body holds a DNS message (`content-type: application/dns-message`).
    pub doh: bool,
    /// Progress (see [`detect`]): 0 started, 1 headers, 2 data, 3 closed.
    pub state: u8,
}

impl Side {
    /// Every header field of the side, in order.
    pub fn headers(&self) -> impl Iterator<Item = &Header> {
        self.frames.iter().filter_map(Frame::block).flat_map(|b| b.headers.iter())
    }

    /// The first value of header `name`.
    pub fn first(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers().find(|h| h.name == name).map(|h| h.value.as_slice())
    }

    /// Every value of header `name`, joined with `, ` (Suricata joins repeated headers so, and
    /// compares names byte for byte: `User-Agent` of an upgraded HTTP/1 request is not
    /// `user-agent`).
    pub fn joined(&self, name: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
        let mut it = self.headers().filter(|h| h.name == name);
        let first = it.next()?;
        let mut out: Option<Vec<u8>> = None;
        for h in it {
            let v = out.get_or_insert_with(|| first.value.clone());
            v.extend_from_slice(b", ");
            v.extend_from_slice(&h.value);
        }
        Some(match out {
            Some(v) => std::borrow::Cow::Owned(v),
            None => std::borrow::Cow::Borrowed(first.value.as_slice()),
        })
    }
}

/// Side progress values.
const ST_HEADERS: u8 = 1;
const ST_DATA: u8 = 2;
const ST_CLOSED: u8 = 3;

/// A stream (or one frame of stream 0) as a transaction.
#[derive(Clone, Debug, Default)]
pub struct Http2Tx {
    /// Id within the flow (from 0).
    pub id: u64,
    /// Stream id (0: a global transaction).
    pub stream_id: u32,
    /// Stream 0: complete at once, and one-way (inspected with its own direction only).
    pub global: bool,
    /// The direction of a global transaction's frame.
    pub global_to_server: bool,
    /// To server.
    pub ts: Side,
    /// To client.
    pub tc: Side,
    /// App-layer events raised on it.
    pub events: TxEvents,
    /// The promised stream a PUSH_PROMISE without END_HEADERS opened (its CONTINUATIONs go there).
    child_stream: u32,
    /// DoH: the DNS request (index 0) and response (1) the stream carried.
    pub doh: [Option<Box<crate::app::dns::Tx>>; 2],
}

impl Http2Tx {
    /// The side of a direction.
    pub fn side(&self, to_server: bool) -> &Side {
        if to_server {
            &self.ts
        } else {
            &self.tc
        }
    }

    fn side_mut(&mut self, to_server: bool) -> &mut Side {
        if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        }
    }

    /// Both sides closed (Suricata's `HTTP2ProgComplete`), or a global transaction.
    pub fn complete(&self) -> bool {
        self.global || (self.ts.state >= ST_CLOSED && self.tc.state >= ST_CLOSED)
    }
}

/// Per-direction parse state.
#[derive(Debug, Default)]
struct Dir {
    /// Bytes of an incomplete frame (header and payload), at most 9 + [`MAX_FRAME_HANDLED`].
    pending: Vec<u8>,
    /// Payload bytes of a long frame still to skip.
    skip: u64,
    /// Preface bytes matched (to server only).
    preface: usize,
    /// A header block waiting for CONTINUATIONs: its stream and fragment.
    cont_stream: u32,
    cont: Vec<u8>,
    cont_open: bool,
    hpack: Hpack,
    /// Stream offset where the pending frame starts (for its `frame` keyword frames).
    start: u64,
}

/// The per-flow HTTP/2 state.
#[derive(Debug)]
pub struct Http2State {
    txs: VecDeque<Http2Tx>,
    next_id: u64,
    ts: Dir,
    tc: Dir,
    /// The client preface was wrong: nothing more is parsed.
    failed: bool,
    body_limit: [usize; 2],
    /// Counters of this flow, handed over to the worker's after each call.
    pub stats: Http2Stats,
    /// A flow-wide event not tied to a transaction yet.
    pending_events: TxEvents,
    /// A stream carried DNS: the flow is DoH.
    pub doh: bool,
    /// The frames of the current call are listed (rules inspect frames).
    pub(crate) frames_on: bool,
    /// Frames parsed in the current call, when listed: (to server, stream offset, payload
    /// length, transaction).
    pub(crate) frame_log: Vec<(bool, u64, u64, Option<u64>)>,
    /// Stream offset of the data of the current call.
    pub(crate) call_off: u64,
    /// The transaction of the frame being parsed.
    frame_tx: Option<u64>,
    /// Transactions below this id were counted (the worker's counters).
    pub(crate) reported: u64,
}

impl Default for Http2State {
    fn default() -> Self {
        Http2State::new(100 * 1024, 100 * 1024)
    }
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

impl Http2State {
    /// A state with the request and response body limits.
    pub fn new(request_body_limit: usize, response_body_limit: usize) -> Self {
        Http2State {
            txs: VecDeque::new(),
            next_id: 0,
            ts: Dir::default(),
            tc: Dir::default(),
            failed: false,
            body_limit: [request_body_limit, response_body_limit],
            stats: Http2Stats::default(),
            pending_events: TxEvents::default(),
            doh: false,
            frames_on: false,
            frame_log: Vec::new(),
            call_off: 0,
            frame_tx: None,
            reported: 0,
        }
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &Http2Tx> {
        self.txs.iter()
    }

    /// Whether parsing stopped (a bad client preface).
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn dir(&mut self, to_server: bool) -> &mut Dir {
        if to_server {
            &mut self.ts
        } else {
            &mut self.tc
        }
    }

    /// Feeds in-order bytes of one direction.
    pub fn parse(&mut self, to_server: bool, mut data: &[u8]) {
        if self.failed {
            return;
        }
        let total = data.len();
        if to_server && self.ts.preface < PREFACE.len() {
            let at = self.ts.preface;
            let want = PREFACE.len() - at;
            let n = want.min(data.len());
            let (head, rest) = data.split_at(n);
            if PREFACE.get(at..at + n) != Some(head) {
                self.failed = true;
                self.pending_events.raise(EV_INVALID_CLIENT_MAGIC);
                // Suricata: the event on the flow, parsing ends
                let tx = self.new_tx(0, true, true);
                if let Some(tx) = tx {
                    tx.events.raise(EV_INVALID_CLIENT_MAGIC);
                }
                return;
            }
            self.ts.preface += n;
            data = rest;
        }
        while !data.is_empty() {
            let here = self.call_off + (total - data.len()) as u64;
            let d = self.dir(to_server);
            if d.skip > 0 {
                let n = usize::try_from(d.skip).unwrap_or(usize::MAX).min(data.len());
                d.skip -= n as u64;
                data = data.get(n..).unwrap_or(&[]);
                continue;
            }
            // a whole frame in `data` with nothing pending: no copy
            if d.pending.is_empty() {
                if let Some(len) = frame_len(data) {
                    if len <= MAX_FRAME_HANDLED && data.len() >= FRAME_HEADER + len {
                        let (frame, rest) = data.split_at(FRAME_HEADER + len);
                        self.frame(to_server, frame, len);
                        self.log_frame(to_server, here, len);
                        data = rest;
                        continue;
                    }
                }
            }
            let d = self.dir(to_server);
            // complete the header first, then the payload (at most the handled size)
            let need = match frame_len(&d.pending) {
                None => FRAME_HEADER,
                Some(len) => FRAME_HEADER + len.min(MAX_FRAME_HANDLED),
            };
            if d.pending.is_empty() {
                d.start = here;
            }
            let take = need.saturating_sub(d.pending.len()).min(data.len());
            d.pending.extend_from_slice(data.get(..take).unwrap_or(&[]));
            data = data.get(take..).unwrap_or(&[]);
            let Some(len) = frame_len(&d.pending) else { continue };
            if d.pending.len() < FRAME_HEADER + len.min(MAX_FRAME_HANDLED) {
                continue;
            }
            let frame = std::mem::take(&mut d.pending);
            if len > MAX_FRAME_HANDLED {
                self.dir(to_server).skip = (len - MAX_FRAME_HANDLED) as u64;
                self.stats.long_frames += 1;
            }
            self.frame(to_server, &frame, len);
            let start = self.dir(to_server).start;
            self.log_frame(to_server, start, len);
            let d = self.dir(to_server);
            if d.pending.capacity() == 0 {
                d.pending = frame;
                d.pending.clear();
            }
        }
    }

    /// Lists the frame just parsed (with its transaction) for the `frame` keyword, when wanted.
    fn log_frame(&mut self, to_server: bool, at: u64, len: usize) {
        let tx = self.frame_tx.take();
        if self.frames_on {
            self.frame_log.push((to_server, at, len as u64, tx));
        }
    }

    fn new_tx(&mut self, stream_id: u32, global: bool, to_server: bool) -> Option<&mut Http2Tx> {
        if self.txs.len() >= MAX_STREAMS {
            self.stats.streams_dropped += 1;
            for t in self.txs.iter_mut() {
                t.events.raise(EV_TOO_MANY_STREAMS);
            }
            return None;
        }
        let mut tx = Http2Tx { id: self.next_id, stream_id, global, global_to_server: to_server, ..Http2Tx::default() };
        for &e in self.pending_events.as_slice() {
            tx.events.raise(e);
        }
        self.pending_events = TxEvents::default();
        if global {
            tx.ts.state = ST_CLOSED;
            tx.tc.state = ST_CLOSED;
        }
        self.next_id += 1;
        self.txs.push_back(tx);
        self.txs.back_mut()
    }

    /// The transaction of stream `sid` (the newest with that id), or a new one.
    fn stream_tx(&mut self, sid: u32, ftype: u8) -> Option<&mut Http2Tx> {
        match self.txs.iter().rposition(|t| !t.global && t.stream_id == sid) {
            Some(i) => {
                let tx = self.txs.get_mut(i)?;
                if tx.complete() && !matches!(ftype, FT_RST_STREAM | FT_WINDOW_UPDATE | FT_PRIORITY) {
                    tx.events.raise(EV_STREAM_ID_REUSE);
                }
                Some(tx)
            }
            None => self.new_tx(sid, false, true),
        }
    }

    /// One frame: `buf` holds its header and payload (cut at the handled size); `len` is the
    /// length its header announced.
    fn frame(&mut self, to_server: bool, buf: &[u8], len: usize) {
        self.stats.frames += 1;
        let (Some(hdr), Some(payload)) = (buf.get(..FRAME_HEADER), buf.get(FRAME_HEADER..)) else { return };
        let ftype = hdr.get(3).copied().unwrap_or(0);
        let flags = hdr.get(4).copied().unwrap_or(0);
        let sid = be32(hdr.get(5..).unwrap_or(&[])).unwrap_or(0) & 0x7fff_ffff;
        let complete = payload.len() >= len;
        if !complete {
            self.pending_events.raise(EV_LONG_FRAME_DATA);
        }
        // an empty SETTINGS (an ACK) makes no transaction
        if ftype == FT_SETTINGS && len == 0 {
            return;
        }
        let mut events = TxEvents::default();
        let mut reass_limit = false;
        let data = self.frame_data(to_server, ftype, flags, sid, payload, complete, &mut events, &mut reass_limit);
        if reass_limit {
            events.raise(EV_REASSEMBLY_LIMIT);
            self.stats.reass_limit += 1;
        }
        let tx_sid = match &data {
            FrameData::PushPromise(promised, _) => *promised,
            FrameData::Continuation(_) if !to_server => self.child_stream_of(sid),
            _ => sid,
        };
        let tx = if sid == 0 { self.new_tx(0, true, to_server) } else { self.stream_tx(tx_sid, ftype) };
        let Some(tx) = tx else { return };
        let tx_id = tx.id;
        for &e in events.as_slice() {
            tx.events.raise(e);
        }
        if sid == 0 && !matches!(ftype, FT_SETTINGS | FT_WINDOW_UPDATE | FT_PING | FT_GOAWAY) {
            tx.events.raise(if ftype == FT_DATA { EV_DATA_STREAM_ZERO } else { EV_INVALID_FRAME_HEADER });
            self.frame_tx = Some(tx_id);
            return;
        }
        self.frame_tx = Some(tx_id);
        // push promise bookkeeping: CONTINUATIONs of a promise go to the promised stream
        match &data {
            FrameData::PushPromise(p, _) if !to_server && flags & FLAG_END_HEADERS == 0 => {
                let p = *p;
                if let Some(parent) = self.txs.iter_mut().rev().find(|t| !t.global && t.stream_id == sid) {
                    parent.child_stream = p;
                }
            }
            FrameData::Continuation(_) if !to_server && flags & FLAG_END_HEADERS != 0 => {
                if let Some(parent) = self.txs.iter_mut().rev().find(|t| !t.global && t.stream_id == sid) {
                    parent.child_stream = 0;
                }
            }
            FrameData::Headers(..) | FrameData::RstStream(_) if !to_server => {
                if let Some(parent) = self.txs.iter_mut().rev().find(|t| !t.global && t.stream_id == sid) {
                    parent.child_stream = 0;
                }
            }
            _ => {}
        }
        let limit = self.body_limit[usize::from(!to_server)];
        let Some(tx) = (if sid == 0 {
            self.txs.back_mut()
        } else {
            self.txs.iter_mut().rev().find(|t| !t.global && t.stream_id == tx_sid)
        }) else {
            return;
        };
        if let Some(b) = match &data {
            FrameData::Headers(_, b) | FrameData::PushPromise(_, b) | FrameData::Continuation(b) => Some(b),
            _ => None,
        } {
            if header_events(tx, to_server, b) {
                self.doh = true;
            }
        }
        let side = tx.side_mut(to_server);
        // progress, as Suricata's handle_frame
        if matches!(ftype, FT_HEADERS | FT_DATA) {
            if flags & FLAG_END_STREAM != 0 {
                side.state = side.state.max(ST_CLOSED);
            } else if ftype == FT_DATA {
                side.state = side.state.max(ST_DATA);
            } else {
                side.state = side.state.max(ST_HEADERS);
            }
        } else if ftype == FT_PUSH_PROMISE && !to_server {
            side.state = side.state.max(ST_HEADERS);
        }
        if ftype == FT_DATA && sid > 0 {
            let mut body = payload;
            if flags & FLAG_PADDED != 0 {
                let pad = usize::from(payload.first().copied().unwrap_or(0));
                body = payload.get(1..payload.len().saturating_sub(pad).max(1)).unwrap_or(&[]);
            }
            let room = limit.saturating_sub(side.body.len());
            let n = room.min(body.len());
            side.body.extend_from_slice(body.get(..n).unwrap_or(&[]));
            self.stats.body_truncated += (body.len() - n) as u64;
        }
        // a DoH body ends with its stream's side: parsed as a DNS message
        if ftype == FT_DATA && sid > 0 && flags & FLAG_END_STREAM != 0 && side.doh && !side.body.is_empty() {
            if let Ok(msg) = crate::app::dns::parse_message(&side.body) {
                let id = tx.id;
                tx.doh[usize::from(!to_server)] = Some(Box::new(doh_tx(id, to_server, msg)));
                self.doh = true;
            }
        }
        let side = tx.side_mut(to_server);
        if side.frames.len() < MAX_FRAMES {
            side.frames.push(Frame { ftype, flags, data });
        } else {
            tx.events.raise(EV_TOO_MANY_FRAMES);
            self.stats.frames_dropped += 1;
        }
    }

    fn child_stream_of(&self, sid: u32) -> u32 {
        match self.txs.iter().rev().find(|t| !t.global && t.stream_id == sid) {
            Some(t) if t.child_stream > 0 => t.child_stream,
            _ => sid,
        }
    }

    /// Parses a frame's payload by type.
    #[allow(clippy::too_many_arguments, reason = "one frame's fields, read once")]
    fn frame_data(
        &mut self,
        to_server: bool,
        ftype: u8,
        flags: u8,
        sid: u32,
        p: &[u8],
        complete: bool,
        ev: &mut TxEvents,
        reass_limit: &mut bool,
    ) -> FrameData {
        let fixed = |n: usize, ev: &mut TxEvents| {
            if p.len() != n {
                ev.raise(EV_INVALID_FRAME_LENGTH);
                false
            } else {
                true
            }
        };
        match ftype {
            FT_DATA => FrameData::Data,
            FT_GOAWAY => {
                if p.len() < 8 {
                    ev.raise(EV_INVALID_FRAME_LENGTH);
                    return FrameData::Other;
                }
                FrameData::GoAway(be32(p.get(4..).unwrap_or(&[])).unwrap_or(0))
            }
            FT_SETTINGS => {
                if p.len() % 6 != 0 && complete {
                    ev.raise(EV_INVALID_FRAME_DATA);
                }
                FrameData::Settings(parse_settings(p))
            }
            FT_RST_STREAM => {
                if !fixed(4, ev) {
                    return FrameData::Other;
                }
                FrameData::RstStream(be32(p).unwrap_or(0))
            }
            FT_PRIORITY => {
                if !fixed(5, ev) {
                    return FrameData::Other;
                }
                FrameData::Priority(p.get(4).copied().unwrap_or(0))
            }
            FT_WINDOW_UPDATE => {
                if !fixed(4, ev) {
                    return FrameData::Other;
                }
                FrameData::WindowUpdate(be32(p).unwrap_or(0) & 0x7fff_ffff)
            }
            FT_PING => FrameData::Ping,
            FT_HEADERS | FT_PUSH_PROMISE => self.headers_frame(to_server, ftype, flags, sid, p, ev, reass_limit),
            FT_CONTINUATION => self.continuation_frame(to_server, flags, sid, p, ev, reass_limit),
            _ => FrameData::Other,
        }
    }

    /// A HEADERS or PUSH_PROMISE payload: padding, priority or promised stream, then the block
    /// fragment (decoded now, or kept for its CONTINUATIONs).
    #[allow(clippy::too_many_arguments, reason = "one frame's fields, read once")]
    fn headers_frame(
        &mut self,
        to_server: bool,
        ftype: u8,
        flags: u8,
        sid: u32,
        p: &[u8],
        ev: &mut TxEvents,
        reass_limit: &mut bool,
    ) -> FrameData {
        let mut rest = p;
        let mut pad = 0usize;
        if flags & FLAG_PADDED != 0 {
            let Some((&n, r)) = rest.split_first() else {
                ev.raise(EV_INVALID_FRAME_DATA);
                return FrameData::Other;
            };
            pad = usize::from(n);
            rest = r;
        }
        let mut prio = None;
        let mut promised = 0;
        if ftype == FT_HEADERS && flags & FLAG_PRIORITY != 0 {
            if rest.len() < 5 {
                ev.raise(EV_INVALID_FRAME_DATA);
                return FrameData::Other;
            }
            prio = rest.get(4).copied();
            rest = rest.get(5..).unwrap_or(&[]);
        } else if ftype == FT_PUSH_PROMISE {
            let Some(v) = be32(rest) else {
                ev.raise(EV_INVALID_FRAME_DATA);
                return FrameData::Other;
            };
            promised = v & 0x7fff_ffff;
            rest = rest.get(4..).unwrap_or(&[]);
        }
        if pad > rest.len() {
            ev.raise(EV_INVALID_FRAME_DATA);
            return FrameData::Other;
        }
        let frag = rest.get(..rest.len() - pad).unwrap_or(&[]);
        let block = if flags & FLAG_END_HEADERS == 0 {
            let d = self.dir(to_server);
            d.cont.clear();
            let n = frag.len().min(MAX_REASS);
            d.cont.extend_from_slice(frag.get(..n).unwrap_or(&[]));
            *reass_limit = n < frag.len();
            d.cont_stream = sid;
            d.cont_open = true;
            Block::default()
        } else {
            self.dir(to_server).cont_open = false;
            self.decode_block(to_server, frag)
        };
        if block.error {
            ev.raise(EV_INVALID_HEADER);
        }
        if ftype == FT_HEADERS {
            FrameData::Headers(prio, block)
        } else {
            FrameData::PushPromise(promised, block)
        }
    }

    /// A CONTINUATION payload: appended to the open block, decoded at END_HEADERS.
    fn continuation_frame(
        &mut self,
        to_server: bool,
        flags: u8,
        sid: u32,
        p: &[u8],
        ev: &mut TxEvents,
        reass_limit: &mut bool,
    ) -> FrameData {
        let d = self.dir(to_server);
        if !d.cont_open || d.cont_stream != sid {
            // a CONTINUATION without its start: decoded alone, as Suricata tries
            if flags & FLAG_END_HEADERS == 0 {
                return FrameData::Continuation(Block::default());
            }
            let b = self.decode_block(to_server, p);
            if b.error {
                ev.raise(EV_INVALID_HEADER);
            }
            return FrameData::Continuation(b);
        }
        let room = MAX_REASS.saturating_sub(d.cont.len());
        let n = room.min(p.len());
        d.cont.extend_from_slice(p.get(..n).unwrap_or(&[]));
        *reass_limit = n < p.len();
        if flags & FLAG_END_HEADERS == 0 {
            return FrameData::Continuation(Block::default());
        }
        d.cont_open = false;
        let frag = std::mem::take(&mut d.cont);
        let b = self.decode_block(to_server, &frag);
        if b.error {
            ev.raise(EV_INVALID_HEADER);
        }
        FrameData::Continuation(b)
    }

    /// Frees complete transactions detection is done with; returns the lowest id still held
    /// when any was freed.
    pub fn free(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
        let before = self.txs.len();
        self.txs.retain(|t| !(t.complete() && inspected(t.id)));
        (self.txs.len() != before).then(|| self.txs.front().map_or(self.next_id, |t| t.id))
    }
}

/// The (id, value) pairs of a SETTINGS payload; Suricata stops at the first id it does not know.
fn parse_settings(p: &[u8]) -> Vec<(u16, u32)> {
    let mut set = Vec::new();
    for c in p.chunks_exact(6) {
        let id = u16::from_be_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)]);
        if !SETTINGS.iter().any(|s| s.2 == id) {
            break;
        }
        set.push((id, be32(c.get(2..).unwrap_or(&[])).unwrap_or(0)));
    }
    set
}

/// The length a frame header announces (None: fewer than 9 bytes).
fn frame_len(b: &[u8]) -> Option<usize> {
    match *b.get(..3)? {
        [a, b, c] => Some((usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c)),
        _ => None,
    }
}
