//! Request and status lines, and the libhtp warnings about them and about a finished request
//! that Suricata reports as app-layer events (`request_line_*`, `response_line_*`,
//! `request_auth_unrecognized`, `missing_host_header`).

use super::framing::{chomp, split_last};
use super::headers::{is_space, trim};
use super::parser::{Cx, Dir, St, Txs, HTTP09_MAX_JUNK_LEN};
use super::{event, uri, HttpTx};

/// libhtp's known methods (`HtpMethod::new`, case-sensitive); others are "unknown".
fn method_known(m: &[u8]) -> bool {
    matches!(
        m,
        b"GET"
            | b"PUT"
            | b"POST"
            | b"DELETE"
            | b"CONNECT"
            | b"OPTIONS"
            | b"TRACE"
            | b"PATCH"
            | b"PROPFIND"
            | b"PROPPATCH"
            | b"MKCOL"
            | b"COPY"
            | b"MOVE"
            | b"LOCK"
            | b"UNLOCK"
            | b"VERSION-CONTROL"
            | b"CHECKOUT"
            | b"UNCHECKOUT"
            | b"CHECKIN"
            | b"UPDATE"
            | b"LABEL"
            | b"REPORT"
            | b"MKWORKSPACE"
            | b"MKACTIVITY"
            | b"BASELINE-CONTROL"
            | b"MERGE"
            | b"INVALID"
            | b"HEAD"
    )
}

/// A protocol version libhtp knows (`parse_protocol`): whitespace, `HTTP` in any case,
/// whitespace, `/`, whitespace and zeros, then `.9`, `1.0` or `1.1`, whitespace. The minor
/// version: 0 for 0.9, 10 for 1.0, 11 for 1.1; None when invalid.
pub(super) fn protocol_version(p: &[u8]) -> Option<u8> {
    let ws = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_whitespace()).count();
    let mut s = p.get(ws(p)..)?;
    if !s.get(..4)?.eq_ignore_ascii_case(b"HTTP") {
        return None;
    }
    s = s.get(4..)?;
    s = s.get(ws(s)..)?;
    s = s.strip_prefix(b"/")?;
    s = s.get(s.iter().take_while(|&&c| c.is_ascii_whitespace() || c == b'0').count()..)?;
    let (v, rest) = if let Some(r) = s.strip_prefix(b".9") {
        (0, r)
    } else if let Some(r) = s.strip_prefix(b"1.0") {
        (10, r)
    } else {
        (11, s.strip_prefix(b"1.1")?)
    };
    (ws(rest) == rest.len()).then_some(v)
}

impl Dir {
    /// `after` is what follows the line in the same chunk: libhtp decides from it whether a
    /// request line without protocol is HTTP/0.9 (nothing but a little whitespace follows) or
    /// a request whose headers follow (`request_protocol`).
    pub(super) fn request_line(&mut self, line: &[u8], after: &[u8], cx: &mut Cx<'_>) {
        // method SP+ uri SP+ protocol (libhtp generic, leading whitespace ignored).
        let s = line.iter().position(|&c| !is_space(c)).unwrap_or(line.len());
        let l = line.get(s..).unwrap_or(&[]);
        let m_end = l.iter().position(|&c| is_space(c)).unwrap_or(l.len());
        let method = l.get(..m_end).unwrap_or(&[]);
        let r = l.get(m_end..).unwrap_or(&[]);
        let r = trim(r.get(r.iter().position(|&c| !is_space(c)).unwrap_or(r.len())..).unwrap_or(&[]));
        // Suricata sets libhtp's allow-space-uri: the URI runs to the last space, the protocol
        // follows it; when the URI would be the whole rest and holds other whitespace (a tab),
        // the last whitespace of any kind splits instead.
        let (mut uri_raw, mut proto) = split_last(r, |c| c == b' ');
        if uri_raw.len() == r.len() && uri_raw.iter().any(|&c| is_space(c) && c != b' ') {
            (uri_raw, proto) = split_last(r, is_space);
        }
        let spaces = after.iter().take_while(|&&c| is_space(c)).count();
        let headers_follow = spaces < after.len() || spaces > HTTP09_MAX_JUNK_LEN;
        request_line_events(cx.txs, self.tx, method, r.is_empty(), proto, headers_follow);
        let Some(t) = self.tx_mut(cx) else {
            self.st = if proto.is_empty() && !headers_follow { St::Line } else { St::Headers };
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
        if proto.is_empty() && !headers_follow {
            // HTTP/0.9: no headers, no body.
            t.http09 = true;
            t.request_headers_done = true;
            t.request_complete = true;
            self.st = St::Line;
        } else {
            self.st = St::Headers;
        }
    }

    pub(super) fn status_line(&mut self, line: &[u8], cx: &mut Cx<'_>) {
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
        let status_num = if (100..=999).contains(&num) { num as u16 } else { 0 };
        // libhtp `validate_response_line`
        if protocol_version(proto).is_none() {
            cx.txs.raise(self.tx, false, event::RESPONSE_LINE_INVALID_PROTOCOL);
        }
        if status_num == 0 {
            cx.txs.raise(self.tx, false, event::RESPONSE_LINE_INVALID_RESPONSE_STATUS);
        }
        let Some(t) = self.tx_mut(cx) else { return };
        t.response.line = line.to_vec();
        t.response.protocol = proto.to_vec();
        t.status = code.to_vec();
        t.status_num = status_num;
        t.status_msg = msg.to_vec();
        t.response_line_done = true;
    }
}

/// libhtp's request line warnings: `method_only` when nothing follows the method.
fn request_line_events(
    txs: &mut Txs,
    tx: Option<u64>,
    method: &[u8],
    method_only: bool,
    proto: &[u8],
    headers_follow: bool,
) {
    let known = method_known(method);
    if method_only {
        if !known {
            txs.raise(tx, true, event::REQUEST_LINE_UNKNOWN_METHOD);
        }
    } else if proto.is_empty() {
        if !known {
            txs.raise(tx, true, event::REQUEST_LINE_UNKNOWN_METHOD_NO_PROTOCOL);
        }
    } else if !known && protocol_version(proto).is_none() {
        txs.raise(tx, true, event::REQUEST_LINE_UNKNOWN_METHOD_INVALID_PROTOCOL);
    }
    // libhtp `request_protocol`: no protocol, yet more than whitespace follows the line
    if proto.is_empty() && headers_follow {
        txs.raise(tx, true, event::REQUEST_LINE_MISSING_PROTOCOL);
    }
}

/// The events Suricata raises when a request is complete (`HTPErrorCheckTxRequestFlags`):
/// an Authorization of no scheme libhtp knows; an HTTP/1.1 request without Host.
pub(super) fn request_complete_events(t: &HttpTx) -> [Option<u16>; 2] {
    let auth = t.request.header_nozero(b"authorization").and_then(|v| {
        let known = [&b"basic"[..], b"digest", b"bearer"]
            .iter()
            .any(|s| v.get(..s.len()).is_some_and(|p| p.eq_ignore_ascii_case(s)));
        (!known).then_some(event::REQUEST_AUTH_UNRECOGNIZED)
    });
    let host = (protocol_version(&t.request.protocol) == Some(11) && t.request.header_nozero(b"host").is_none())
        .then_some(event::MISSING_HOST_HEADER);
    [auth, host]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_versions_as_libhtp_reads_them() {
        assert_eq!(protocol_version(b"HTTP/1.1"), Some(11));
        assert_eq!(protocol_version(b" http / 01.0 "), Some(10));
        assert_eq!(protocol_version(b"HTTP/.9"), Some(0));
        for bad in [&b"HTTP/2.0"[..], b"HTTP/1.1x", b"HTTX/1.1", b"", b"HTTP"] {
            assert_eq!(protocol_version(bad), None, "{bad:?}");
        }
        assert!(method_known(b"PROPFIND") && !method_known(b"get") && !method_known(b"FOO"));
    }
}
