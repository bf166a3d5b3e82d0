//! The SIP message reader: start line, headers and body, with Suricata's character classes.

/// A request or status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD URI SIP/x.y`.
    Request {
        /// Method (letters; may be empty, as Suricata reads it).
        method: String,
        /// Request URI.
        uri: String,
    },
    /// `SIP/x.y CODE REASON`.
    Response {
        /// The three characters of the status code.
        code: String,
        /// Reason phrase.
        reason: String,
    },
}

/// A parsed SIP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Request or status line.
    pub start: StartLine,
    /// Protocol version (`SIP/2.0`).
    pub version: String,
    /// The start line as sent, without its line end (Suricata's `request_line`/`response_line`).
    pub line: String,
    /// Headers in order: name (compact forms expanded) and value.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Where its parts are, for frames: the start line's length with its line end, the
    /// headers' length (without the empty line), the body's offset.
    pub spans: [u32; 3],
}

impl Message {
    /// Values of header `name` (case-sensitive, as Suricata looks them up), in order.
    pub fn header<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!%'*+-._`~".contains(&b)
}
fn is_uri(b: u8) -> bool {
    is_token(b) || b"~#@:;=?+&$,/".contains(&b)
}
fn is_reason(b: u8) -> bool {
    is_token(b) || b"$&(),/:;=?@[\\]^ ".contains(&b)
}
fn is_value(b: u8) -> bool {
    is_token(b) || b"\"#$&(),/;:<=>?@[]{}()^|~\\\t\n\r ".contains(&b)
}

/// Suricata's compact header names.
fn expand(n: &str) -> &str {
    match n {
        "i" => "Call-ID",
        "m" => "Contact",
        "e" => "Content-Encoding",
        "l" => "Content-Length",
        "c" => "Content-Type",
        "f" => "From",
        "s" => "Subject",
        "k" => "Supported",
        "t" => "To",
        "v" => "Via",
        _ => n,
    }
}

/// A cursor over the message: `Err(true)` more bytes needed, `Err(false)` invalid.
struct Cur<'a> {
    d: &'a [u8],
    i: usize,
}

type R<T> = Result<T, bool>;

impl<'a> Cur<'a> {
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> R<&'a [u8]> {
        let s = self.i;
        while let Some(&b) = self.d.get(self.i) {
            if !f(b) {
                return Ok(self.d.get(s..self.i).unwrap_or(&[]));
            }
            self.i += 1;
        }
        Err(true)
    }
    fn byte(&mut self, b: u8) -> R<()> {
        match self.d.get(self.i) {
            Some(&x) if x == b => {
                self.i += 1;
                Ok(())
            }
            Some(_) => Err(false),
            None => Err(true),
        }
    }
    fn crlf(&mut self) -> R<()> {
        self.byte(b'\r')?;
        self.byte(b'\n')
    }
    fn version(&mut self) -> R<String> {
        for &b in b"SIP/" {
            self.byte(b)?;
        }
        let v = self.take_while(|b| b.is_ascii_digit() || b == b'.')?;
        if v.is_empty() {
            return Err(false);
        }
        Ok(format!("SIP/{}", String::from_utf8_lossy(v)))
    }
    /// Suricata's `parse_header_value`: up to a line end not followed by a space or tab,
    /// trailing blanks dropped, folded lines kept.
    fn value(&mut self) -> R<&'a [u8]> {
        let buf = self.d.get(self.i..).unwrap_or(&[]);
        let (mut end, mut trail, mut k) = (0usize, 0usize, 0usize);
        while let Some(&b) = buf.get(k) {
            match b {
                b'\n' => {
                    k += 1;
                    match buf.get(k) {
                        None => return Err(true),
                        Some(b' ') | Some(b'\t') => {
                            k += 1;
                            continue;
                        }
                        Some(_) => {
                            self.i += end + trail;
                            return Ok(buf.get(..end).unwrap_or(&[]));
                        }
                    }
                }
                b' ' | b'\t' => trail += 1,
                b'\r' => {}
                b => {
                    trail = 0;
                    if !is_value(b) {
                        // Suricata reports "incomplete" here, which fails the message
                        return Err(false);
                    }
                    end = k + 1;
                }
            }
            k += 1;
        }
        Err(true)
    }
}

/// Parses one message from the start of `d`. `udp`: the datagram is the whole message and
/// its body the rest; over TCP the body is `Content-Length` bytes. `Ok(None)`: more bytes are
/// needed (TCP); `Err(())`: not a SIP message. On success, the bytes used.
#[allow(clippy::result_unit_err, reason = "not SIP is the one failure; probing callers need no more")]
pub fn parse_message(to_server: bool, d: &[u8], udp: bool) -> Result<Option<(Message, usize)>, ()> {
    match parse_inner(to_server, d, udp) {
        Ok(x) => Ok(Some(x)),
        Err(true) if !udp => Ok(None),
        Err(_) => Err(()),
    }
}

fn parse_inner(to_server: bool, d: &[u8], udp: bool) -> R<(Message, usize)> {
    let mut c = Cur { d, i: 0 };
    let (start, version) = if to_server {
        let method = c.take_while(|b| b.is_ascii_alphabetic())?;
        c.byte(b' ')?;
        let uri = c.take_while(is_uri)?;
        if uri.is_empty() {
            return Err(false);
        }
        c.byte(b' ')?;
        let v = c.version()?;
        let m = String::from_utf8_lossy(method).into_owned();
        (StartLine::Request { method: m, uri: String::from_utf8_lossy(uri).into_owned() }, v)
    } else {
        let v = c.version()?;
        c.byte(b' ')?;
        let code = d.get(c.i..c.i + 3).ok_or(true)?;
        c.i += 3;
        c.byte(b' ')?;
        let reason = c.take_while(is_reason)?;
        let code = std::str::from_utf8(code).map_err(|_| false)?.to_string();
        (StartLine::Response { code, reason: String::from_utf8_lossy(reason).into_owned() }, v)
    };
    let line_end = c.i;
    c.crlf()?;
    // Suricata's `sip_take_line`: the start line up to the first byte outside the reason
    // phrase's characters
    let ll = d.iter().take(line_end).take_while(|&&b| is_reason(b)).count();
    let line = String::from_utf8_lossy(d.get(..ll).unwrap_or(&[])).into_owned();
    let line_len = c.i;
    let headers_end: usize;
    let mut headers = Vec::new();
    loop {
        match (d.get(c.i), d.get(c.i + 1)) {
            (Some(b'\r'), Some(b'\n')) => {
                headers_end = c.i;
                c.i += 2;
                break;
            }
            (None, _) | (Some(b'\r'), None) => return Err(true),
            _ => {}
        }
        let name = c.take_while(is_token)?;
        c.take_while(|b| b == b' ' || b == b'\t')?;
        c.byte(b':')?;
        c.take_while(|b| b == b' ' || b == b'\t')?;
        let v = c.value()?;
        c.crlf()?;
        if headers.len() < super::MAX_HEADERS {
            let n = expand(std::str::from_utf8(name).map_err(|_| false)?).to_string();
            headers.push((n, String::from_utf8_lossy(v).into_owned()));
        }
    }
    let body_start = c.i;
    let body_len = if udp {
        d.len() - body_start
    } else {
        headers
            .iter()
            .find(|(n, _)| n == "Content-Length")
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0)
    };
    let body = d.get(body_start..body_start + body_len).ok_or(true)?.to_vec();
    let span = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let spans = [span(line_len), span(headers_end - line_len), span(body_start)];
    Ok((Message { start, version, line, headers, body, spans }, body_start + body_len))
}
