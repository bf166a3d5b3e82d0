//! HTTP's EVE object, as Suricata's `EveHttpLogJSONBasic` and `EveHttpLogJSONExtended` write
//! it (records and alerts carry the same object).

use super::HttpTx;
use crate::output::eve::Json;

/// The port written in the request's host (Host header or absolute URI), if any: `http_port`.
fn host_port(raw: &[u8]) -> Option<u64> {
    let raw = raw.trim_ascii();
    // [v6]:port or host:port; a bare IPv6 address has no port
    let after = match raw.iter().rposition(|&c| c == b']') {
        Some(i) => raw.get(i + 1..)?.strip_prefix(b":")?,
        None => {
            let i = raw.iter().position(|&c| c == b':')?;
            if raw.get(i + 1..)?.contains(&b':') {
                return None;
            }
            raw.get(i + 1..)?
        }
    };
    if after.is_empty() || after.len() > 5 || !after.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(after).ok()?.parse::<u16>().ok().map(u64::from)
}

/// `Content-Range: bytes START-END/SIZE` (any part may be `*`), as Suricata parses it.
fn content_range(v: &[u8]) -> (Option<u64>, Option<u64>, Option<u64>) {
    let s = String::from_utf8_lossy(v);
    let s = s.trim();
    let s = s.strip_prefix("bytes").map_or(s, |r| r.trim_start_matches([' ', '=']));
    let (range, size) = s.split_once('/').unwrap_or((s, ""));
    let (a, b) = range.split_once('-').unwrap_or(("", ""));
    let num = |x: &str| x.trim().parse::<u64>().ok();
    (num(a), num(b), num(size))
}

/// Writes the `http` object.
pub(crate) fn write_object(j: &mut Json<'_>, tx: &HttpTx) {
    let mut o = j.begin("http");
    // libhtp settles the hostname when the request headers are complete; header fields are
    // logged from whatever headers were parsed (a gap may cut the header block).
    if tx.has_host && tx.request_headers_done {
        o.bytes("hostname", &tx.host);
        if let Some(p) = host_port(&tx.host_raw) {
            o.u64("http_port", p);
        }
    }
    // A request line of a method alone has no URI (libhtp leaves it unset).
    if tx.request_line_done && !tx.uri_raw.is_empty() {
        o.bytes("url", &tx.uri_raw);
    }
    if let Some(ua) = tx.request.header(b"user-agent") {
        o.bytes("http_user_agent", ua);
    }
    if let Some(x) = tx.request.header(b"x-forwarded-for") {
        o.bytes("xff", x);
    }
    {
        if let Some(ct) = tx.response.header(b"content-type") {
            let end = ct.iter().position(|&c| c == b';').unwrap_or(ct.len());
            o.bytes("http_content_type", ct.get(..end).unwrap_or(ct));
        }
        if let Some(cr) = tx.response.header(b"content-range") {
            let mut r = o.begin("content_range");
            r.bytes("raw", cr);
            let (start, end, size) = content_range(cr);
            if let Some(v) = start {
                r.u64("start", v);
            }
            if let Some(v) = end {
                r.u64("end", v);
            }
            if let Some(v) = size {
                r.u64("size", v);
            }
            r.end();
        }
    }
    if let Some(r) = tx.request.header(b"referer") {
        o.bytes("http_refer", r);
    }
    if !tx.method.is_empty() {
        o.bytes("http_method", &tx.method);
    }
    if !tx.request.protocol.is_empty() {
        o.bytes("protocol", &tx.request.protocol);
    }
    if tx.status_num > 0 {
        o.u64("status", u64::from(tx.status_num));
    } else if !tx.status.is_empty() {
        o.bytes("status_string", &tx.status);
    }
    if let Some(l) = tx.response.header(b"location") {
        o.bytes("redirect", l);
    }
    o.u64("length", tx.response.message_len);
    o.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_in_hosts() {
        assert_eq!(host_port(b"example.org:8080"), Some(8080));
        assert_eq!(host_port(b"example.org"), None);
        assert_eq!(host_port(b"[::1]:443"), Some(443));
        assert_eq!(host_port(b"::1"), None);
        assert_eq!(host_port(b"h:notaport"), None);
    }

    #[test]
    fn content_ranges() {
        assert_eq!(content_range(b"bytes 0-1048575/3234212"), (Some(0), Some(1048575), Some(3234212)));
        assert_eq!(content_range(b"bytes */100"), (None, None, Some(100)));
    }
}
