//! A streaming MIME decoder for the DATA phase of SMTP, line by line, after Suricata's
//! `rust/src/mime/smtp.rs` (its semantics, our code).
//!
//! Takes: the lines of a message (without their end, plus the end's length), in order.
//! Promises: the main headers (the first header block) kept for `email.*` and EVE; each part's
//! headers read for `Content-Disposition: ...filename=`, `Content-Type: ...name=` (the
//! attachment's name), `boundary=` and `Content-Transfer-Encoding` (base64, quoted-printable);
//! a part with a name is an attachment whose decoded bytes go to [`Sink::file_data`] between
//! [`Sink::file_open`] and [`Sink::file_close`]; URLs (`http://`, scheme dropped, as Suricata's
//! defaults) found in text parts and attachments are kept. Anomalies as Suricata's `MIME_*`
//! warnings ([`W_INVALID_BASE64`], ...).
//! Bounded: at most [`MAX_HEADERS`] headers of at most [`MAX_HEADER_VALUE`] bytes, at most
//! [`MAX_BOUNDARIES`] nested boundaries, [`MAX_URLS`] URLs and [`MAX_ATTACHMENTS`] names;
//! more is counted in [`Mime::dropped`] and not kept. Never: panics on input, or holds a line.

/// Longest header name before a warning (RFC 2045: 75 + ":").
pub const MAX_HEADER_NAME: usize = 75;
/// Header value bytes kept (Suricata's `header-value-depth`, 2000).
pub const MAX_HEADER_VALUE: usize = 2000;
/// Headers kept per message.
pub const MAX_HEADERS: usize = 256;
/// Longest boundary before a warning.
pub const MAX_BOUNDARY_LEN: usize = 254;
/// Nested multipart boundaries kept.
pub const MAX_BOUNDARIES: usize = 16;
/// URLs kept per message.
pub const MAX_URLS: usize = 256;
/// Attachment names kept per message.
pub const MAX_ATTACHMENTS: usize = 64;
/// Longest attachment name (Suricata's token limit).
pub const MAX_TOKEN: usize = 255;
/// Longest encoded line before a warning (RFC 2045).
const MAX_ENC_LINE: usize = 76;
/// Longest line before a warning (RFC 2045: 998).
pub const MAX_LINE: usize = 998;
/// Longest decoded line kept to find URLs across pieces.
const MAX_URL_LINE: usize = 8192;

/// Warnings (Suricata's `MIME_ANOM_*`).
pub const W_INVALID_BASE64: u32 = 0x1;
/// Invalid quoted-printable escape.
pub const W_INVALID_QP: u32 = 0x2;
/// A line longer than [`MAX_LINE`].
pub const W_LONG_LINE: u32 = 0x4;
/// An encoded line longer than 76 bytes.
pub const W_LONG_ENC_LINE: u32 = 0x8;
/// A header name longer than [`MAX_HEADER_NAME`].
pub const W_LONG_HEADER_NAME: u32 = 0x10;
/// A header value longer than [`MAX_HEADER_VALUE`].
pub const W_LONG_HEADER_VALUE: u32 = 0x20;
/// A boundary longer than [`MAX_BOUNDARY_LEN`].
pub const W_LONG_BOUNDARY: u32 = 0x80;
/// An attachment name longer than [`MAX_TOKEN`].
pub const W_LONG_FILENAME: u32 = 0x100;

/// Where an attachment's decoded bytes go.
pub trait Sink {
    /// An attachment starts.
    fn file_open(&mut self, name: &[u8]);
    /// Decoded bytes of it.
    fn file_data(&mut self, data: &[u8]);
    /// It ended.
    fn file_close(&mut self);
}

/// One header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Its name as sent.
    pub name: Vec<u8>,
    /// Its value (folded lines joined), at most [`MAX_HEADER_VALUE`] bytes.
    pub value: Vec<u8>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    #[default]
    Start,
    Header,
    Body,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Encoding {
    #[default]
    Plain,
    Base64,
    Qp,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Content {
    /// Before a Content-Type: a message.
    #[default]
    Message,
    Text,
    Other,
}

/// The decoder's state for one message.
#[derive(Clone, Debug, Default)]
pub struct Mime {
    phase: Phase,
    headers: Vec<Header>,
    main_headers: usize,
    filename: Vec<u8>,
    /// Names of the attachments, in order.
    pub attachments: Vec<Vec<u8>>,
    /// URLs found, in order of finding.
    pub urls: Vec<Vec<u8>>,
    boundaries: Vec<Vec<u8>>,
    encoding: Encoding,
    content: Content,
    /// Base64 quantum carried across lines.
    b64: [u8; 4],
    b64_len: u8,
    /// Line end (or QP escape start) held back until the next line shows it is not followed
    /// by a boundary.
    eol: [u8; 2],
    eol_len: u8,
    /// Decoded text kept until its line ends, to find URLs.
    url_line: Vec<u8>,
    /// The parser saw the end of the message.
    pub done: bool,
    /// Headers, URLs, boundaries or names not kept over their limits.
    pub dropped: u64,
    /// Scratch for one decoded line (reused).
    scratch: Vec<u8>,
}

fn eq_lower(a: &[u8], lower: &[u8]) -> bool {
    a.len() == lower.len() && a.iter().zip(lower).all(|(x, y)| x.to_ascii_lowercase() == *y)
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// The value of parameter `token` of a header value (`type/sub; name="x"`), joining
/// RFC 2231 sections (`name*0`, `name*1`, ...) as Suricata does.
pub fn header_token(value: &[u8], token: &[u8]) -> Option<Vec<u8>> {
    let semi = value.iter().position(|&c| c == b';')?;
    // In bounds: semi < value.len().
    let mut rest = &value[semi + 1..];
    let mut params: Vec<(&[u8], &[u8])> = Vec::new();
    while !rest.is_empty() && params.len() < 64 {
        while let [c, tail @ ..] = rest {
            if is_space(*c) {
                rest = tail;
            } else {
                break;
            }
        }
        let Some(eq) = rest.iter().position(|&c| c == b'=') else { break };
        // In bounds: eq < rest.len().
        let name = &rest[..eq];
        let after = &rest[eq + 1..];
        let (val, tail): (&[u8], &[u8]) = if let [b'"', q @ ..] = after {
            let mut esc = false;
            let mut end = None;
            for (i, &c) in q.iter().enumerate() {
                if c == b'\\' {
                    esc = true;
                } else {
                    if c == b'"' && !esc {
                        end = Some(i);
                        break;
                    }
                    esc = false;
                }
            }
            match end {
                // In bounds: i < q.len().
                Some(i) => (&q[..i], &q[i + 1..]),
                None => break,
            }
        } else {
            let end = after.iter().position(|&c| c == b';').unwrap_or(after.len());
            // In bounds: end <= after.len().
            let mut v = &after[..end];
            while let [head @ .., c] = v {
                if is_space(*c) {
                    v = head;
                } else {
                    break;
                }
            }
            (v, &after[end..])
        };
        params.push((name, val));
        rest = tail;
        while let [c, t @ ..] = rest {
            if is_space(*c) {
                rest = t;
            } else {
                break;
            }
        }
        if let [b';', t @ ..] = rest {
            rest = t;
        }
        if rest.len() == after.len() + eq + 1 {
            break;
        }
    }
    let get = |n: &[u8]| params.iter().rev().find(|(k, _)| *k == n).map(|(_, v)| *v);
    if let Some(v) = get(token) {
        return Some(v.to_vec());
    }
    let mut out = Vec::new();
    let mut key = token.to_vec();
    key.extend_from_slice(b"*0");
    get(&key).map(|v| out.extend_from_slice(v))?;
    for i in 1..64u32 {
        key.truncate(token.len() + 1);
        key.extend_from_slice(i.to_string().as_bytes());
        match get(&key) {
            Some(v) => out.extend_from_slice(v),
            None => break,
        }
    }
    Some(out)
}

fn b64_val(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl Mime {
    /// A decoder for a new message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Past the headers of the current part.
    pub fn in_body(&self) -> bool {
        self.phase == Phase::Body
    }

    /// The main headers (the message's own, not its parts').
    pub fn main_headers(&self) -> &[Header] {
        let n =
            if self.main_headers == 0 && self.phase != Phase::Body { self.headers.len() } else { self.main_headers };
        self.headers.get(..n).unwrap_or(&[])
    }

    /// The first main header named `lower` (lower case).
    pub fn header(&self, lower: &[u8]) -> Option<&[u8]> {
        self.main_headers().iter().find(|h| eq_lower(&h.name, lower)).map(|h| h.value.as_slice())
    }

    /// Every main header named `lower`.
    pub fn headers_named<'a>(&'a self, lower: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.main_headers().iter().filter(move |h| eq_lower(&h.name, lower)).map(|h| h.value.as_slice())
    }

    fn restart(&mut self) {
        self.phase = Phase::Start;
        self.headers.truncate(self.main_headers);
        self.encoding = Encoding::Plain;
        self.b64_len = 0;
        self.filename.clear();
        self.eol_len = 0;
        self.content = Content::Message;
        self.url_line.clear();
    }

    fn push_header(&mut self, line: &[u8]) -> u32 {
        let Some(colon) = line.iter().position(|&c| c == b':') else { return 0 };
        // In bounds: colon < line.len().
        let name = &line[..colon];
        let mut value = &line[colon + 1..];
        while let [c, t @ ..] = value {
            if is_space(*c) {
                value = t;
            } else {
                break;
            }
        }
        let mut w = 0;
        if name.len() > MAX_HEADER_NAME {
            w |= W_LONG_HEADER_NAME;
        }
        if value.len() > MAX_HEADER_VALUE {
            w |= W_LONG_HEADER_VALUE;
        }
        if self.headers.len() >= MAX_HEADERS {
            self.dropped += 1;
            return w;
        }
        let name = name[..name.len().min(MAX_HEADER_VALUE)].to_vec();
        let value = value[..value.len().min(MAX_HEADER_VALUE)].to_vec();
        self.headers.push(Header { name, value });
        w
    }

    /// Reads the part's headers at their end; returns (warnings, encapsulated message).
    fn process_headers(&mut self) -> (u32, bool) {
        let mut w = 0;
        let mut encap = false;
        let start = self.main_headers;
        let mut names = Vec::new();
        let mut bounds = Vec::new();
        for h in self.headers.get(start..).unwrap_or(&[]) {
            if eq_lower(&h.name, b"content-disposition") {
                if self.filename.is_empty() && names.is_empty() {
                    if let Some(v) = header_token(&h.value, b"filename") {
                        names.push(v);
                    }
                }
            } else if eq_lower(&h.name, b"content-transfer-encoding") {
                if eq_lower(&h.value, b"base64") {
                    self.encoding = Encoding::Base64;
                    self.b64_len = 0;
                } else if eq_lower(&h.value, b"quoted-printable") {
                    self.encoding = Encoding::Qp;
                }
            } else if eq_lower(&h.name, b"content-type") {
                if self.filename.is_empty() && names.is_empty() {
                    if let Some(v) = header_token(&h.value, b"name") {
                        names.push(v);
                    }
                }
                if let Some(v) = header_token(&h.value, b"boundary") {
                    if v.len() > MAX_BOUNDARY_LEN {
                        w |= W_LONG_BOUNDARY;
                    }
                    let mut b = b"--".to_vec();
                    b.extend_from_slice(&v[..v.len().min(MAX_BOUNDARY_LEN + 1)]);
                    bounds.push(b);
                }
                let ct = h.value.split(|&c| c == b';').next().unwrap_or(&[]);
                self.content = match ct {
                    b"text/plain" | b"text/html" => Content::Text,
                    _ => {
                        if ct.starts_with(b"message/") {
                            encap = true;
                        }
                        Content::Other
                    }
                };
            }
        }
        for mut n in names {
            if n.len() > MAX_TOKEN {
                w |= W_LONG_FILENAME;
                n.truncate(MAX_TOKEN);
            }
            self.filename = n.clone();
            if self.attachments.len() < MAX_ATTACHMENTS {
                self.attachments.push(n);
            } else {
                self.dropped += 1;
            }
        }
        for b in bounds {
            if self.boundaries.len() < MAX_BOUNDARIES {
                self.boundaries.push(b);
            } else {
                self.dropped += 1;
            }
        }
        (w, encap)
    }

    fn find_urls(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut line = std::mem::take(&mut self.url_line);
        line.extend_from_slice(data);
        let ends_line = line.last() == Some(&b'\n') || line.len() > MAX_URL_LINE;
        let upto = if ends_line {
            line.len()
        } else {
            // In bounds: rposition within line.
            match line.iter().rposition(|&c| c == b'\n') {
                Some(i) => i,
                None => {
                    self.url_line = line;
                    return;
                }
            }
        };
        // In bounds: upto <= line.len().
        self.extract_urls(&line[..upto]);
        line.drain(..upto);
        if line.len() > MAX_URL_LINE {
            line.clear();
        }
        self.url_line = line;
    }

    fn extract_urls(&mut self, mut s: &[u8]) {
        const SCHEME: &[u8] = b"http://";
        while let Some(i) = s.windows(SCHEME.len()).position(|w| w.eq_ignore_ascii_case(SCHEME)) {
            // In bounds: i + SCHEME.len() <= s.len() (windows).
            let after = &s[i..];
            let end = after
                .iter()
                .position(|&c| matches!(c, b' ' | b'"' | b'\'' | b'<' | b'>' | b']' | b'\t'))
                .unwrap_or(after.len());
            // In bounds: SCHEME.len() <= end? the scheme has none of the stop bytes, so yes.
            let url = &after[SCHEME.len().min(end)..end];
            if self.urls.len() < MAX_URLS {
                self.urls.push(url.to_vec());
            } else {
                self.dropped += 1;
            }
            s = &after[end.max(1)..];
        }
    }

    /// Decodes base64 bytes of a line into `scratch`; false when invalid.
    fn b64_decode(&mut self, line: &[u8]) -> bool {
        let mut ok = true;
        for &c in line {
            if c == b'=' {
                // padding: flush what the quantum holds
                self.flush_b64();
                continue;
            }
            let Some(v) = b64_val(c) else {
                if !is_space(c) {
                    ok = false;
                }
                continue;
            };
            // In bounds: b64_len < 4 (reset at 4 below).
            self.b64[usize::from(self.b64_len)] = v;
            self.b64_len += 1;
            if self.b64_len == 4 {
                let [a, b, c2, d] = self.b64;
                self.scratch.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c2 >> 2, c2 << 6 | d]);
                self.b64_len = 0;
            }
        }
        ok
    }

    fn flush_b64(&mut self) {
        let [a, b, c, _] = self.b64;
        match self.b64_len {
            2 => self.scratch.push(a << 2 | b >> 4),
            3 => self.scratch.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2]),
            _ => {}
        }
        self.b64_len = 0;
    }

    /// One line of the message: `line` without its end, `eol` the end's length (0-2).
    pub fn line(&mut self, line: &[u8], eol: usize, sink: &mut dyn Sink) -> u32 {
        let mut w = if line.len() > MAX_LINE { W_LONG_LINE } else { 0 };
        match self.phase {
            Phase::Start | Phase::Header => {
                if line.is_empty() {
                    let (pw, encap) = self.process_headers();
                    w |= pw;
                    if self.main_headers == 0 {
                        self.main_headers = self.headers.len();
                    }
                    if encap {
                        self.restart();
                        return w;
                    }
                    self.phase = Phase::Body;
                    if !self.filename.is_empty() {
                        let name = std::mem::take(&mut self.filename);
                        sink.file_open(&name);
                        self.filename = name;
                    }
                } else if self.phase == Phase::Header && (line[0] == b' ' || line[0] == b'\t') {
                    if let Some(h) = self.headers.last_mut() {
                        let room = MAX_HEADER_VALUE.saturating_sub(h.value.len());
                        // In bounds: line is not empty; min(room, len - 1).
                        let more = &line[1..];
                        h.value.extend_from_slice(&more[..room.min(more.len())]);
                    }
                } else if line.contains(&b':') {
                    self.phase = Phase::Header;
                    w |= self.push_header(line);
                }
            }
            Phase::Body => w |= self.body_line(line, eol, sink),
        }
        w
    }

    fn body_line(&mut self, line: &[u8], eol: usize, sink: &mut dyn Sink) -> u32 {
        let mut w = 0;
        if let Some(b) = self.boundaries.last() {
            if line.starts_with(b) {
                let closing = line.get(b.len()..b.len() + 2) == Some(b"--");
                if self.encoding == Encoding::Base64 && self.b64_len > 0 && !self.filename.is_empty() {
                    self.scratch.clear();
                    self.flush_b64();
                    let d = std::mem::take(&mut self.scratch);
                    sink.file_data(&d);
                    self.scratch = d;
                }
                if closing {
                    self.boundaries.pop();
                }
                let had_file = !self.filename.is_empty();
                self.restart();
                if had_file {
                    sink.file_close();
                }
                return 0;
            }
        }
        let full_eol: &[u8] = match eol {
            2 => b"\r\n",
            1 => b"\n",
            _ => b"",
        };
        let attachment = !self.filename.is_empty();
        self.scratch.clear();
        match self.encoding {
            Encoding::Plain => {
                if !attachment && self.content == Content::Other {
                    return 0;
                }
                let mut all = Vec::with_capacity(line.len() + eol);
                all.extend_from_slice(line);
                all.extend_from_slice(full_eol);
                self.find_urls(&all);
                if attachment {
                    if self.eol_len > 0 {
                        let held = self.eol;
                        // In bounds: eol_len <= 2.
                        sink.file_data(&held[..usize::from(self.eol_len)]);
                    }
                    sink.file_data(line);
                    self.eol_len = eol.min(2) as u8;
                    // In bounds: full_eol.len() == eol_len.
                    self.eol[..usize::from(self.eol_len)].copy_from_slice(&full_eol[..usize::from(self.eol_len)]);
                }
            }
            Encoding::Base64 => {
                if !attachment && self.content == Content::Other {
                    return 0;
                }
                if line.len() > MAX_ENC_LINE {
                    w |= W_LONG_ENC_LINE;
                }
                if !self.b64_decode(line) {
                    w |= W_INVALID_BASE64;
                }
                let d = std::mem::take(&mut self.scratch);
                self.find_urls(&d);
                if attachment {
                    sink.file_data(&d);
                }
                self.scratch = d;
            }
            Encoding::Qp => {
                if !attachment && self.content == Content::Other {
                    return 0;
                }
                let out = self.qp_line(line, eol, full_eol, &mut w);
                self.find_urls(&out);
                if attachment {
                    sink.file_data(&out);
                }
                self.scratch = out;
            }
        }
        w
    }

    /// Decodes one quoted-printable line (an escape cut by the line end waits for the next),
    /// adding warnings to `w`.
    fn qp_line(&mut self, line: &[u8], eol: usize, full_eol: &[u8], w: &mut u32) -> Vec<u8> {
        if line.len() > MAX_ENC_LINE {
            *w |= W_LONG_ENC_LINE;
        }
        let mut out = std::mem::take(&mut self.scratch);
        let mut c = 0;
        let mut soft_break = false;
        if self.eol_len > 0 && self.eol[0] == b'=' {
            // an escape cut by the line end
            if line.len() >= 2 {
                let (h1, h2) = if self.eol_len == 1 { (line[0], line[1]) } else { (self.eol[1], line[0]) };
                match (hex(h1), hex(h2)) {
                    (Some(a), Some(b)) => out.push(a << 4 | b),
                    _ => *w |= W_INVALID_QP,
                }
            } else {
                *w |= W_INVALID_QP;
            }
            c = 3 - usize::from(self.eol_len);
            self.eol_len = 0;
        } else if self.eol_len > 0 {
            out.extend_from_slice(&self.eol[..usize::from(self.eol_len)]);
            self.eol_len = 0;
        }
        while c < line.len() {
            // In bounds: c < line.len() (loop condition).
            if line[c] == b'=' {
                if c + 1 == line.len() && eol > 0 {
                    soft_break = true;
                    break;
                }
                if c + 2 >= line.len() {
                    if eol > 0 {
                        *w |= W_INVALID_QP;
                    } else {
                        self.eol_len = (line.len() - c) as u8;
                        self.eol[0] = b'=';
                        if self.eol_len == 2 {
                            self.eol[1] = line[c + 1];
                        }
                    }
                    break;
                }
                // In bounds: c + 2 < line.len().
                match (hex(line[c + 1]), hex(line[c + 2])) {
                    (Some(a), Some(b)) => out.push(a << 4 | b),
                    _ => *w |= W_INVALID_QP,
                }
                c += 3;
            } else {
                out.push(line[c]);
                c += 1;
            }
        }
        if line.is_empty() {
            self.eol_len = eol.min(2) as u8;
            self.eol[..usize::from(self.eol_len)].copy_from_slice(&full_eol[..usize::from(self.eol_len)]);
        } else if !soft_break {
            out.extend_from_slice(full_eol);
        }
        out
    }

    /// The message ended (the `.` line): a last URL line is looked at; an attachment still
    /// open is closed.
    pub fn complete(&mut self, sink: &mut dyn Sink) {
        if self.done {
            return;
        }
        self.done = true;
        if self.main_headers == 0 {
            self.main_headers = self.headers.len();
        }
        self.find_urls(b"\n");
        if !self.filename.is_empty() {
            if self.encoding == Encoding::Base64 && self.b64_len > 0 {
                self.scratch.clear();
                self.flush_b64();
                let d = std::mem::take(&mut self.scratch);
                sink.file_data(&d);
                self.scratch = d;
            }
            sink.file_close();
        }
    }
}
