//! Lax HTTP line and header-field rules, after libhtp (Suricata's HTTP parser).
//!
//! Everything here is a pure function over a byte slice that either finds a complete unit
//! (a line, a header field with its folded continuation lines, the end of the header block)
//! or says more bytes are needed. Callers pass `eof` when no more bytes will come, so the
//! result never depends on how the stream was split. Never panics, never allocates except
//! for the owned name/value of a finished field.
//!
//! The rules that matter for evasion (HTTP Evader) and that strict parsers such as
//! `httparse` reject:
//! - responses end lines with CRLF, LF, LF CR or a lone CR; requests with CRLF or LF;
//! - a line starting with SP, HT or NUL continues the previous field (folding), except in
//!   responses when it looks like `  Name:` (then it is a new field, leading space dropped);
//! - a line without a colon is a field with an empty name and the whole line as value;
//! - names and values are trimmed of SP, HT, CR, LF, VT and FF; NUL stays (lookups of
//!   framing headers skip NULs, see [`eq_nocase_nozero`]).

/// Which parser: request lines end only at LF; response lines also at a lone CR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// Client to server.
    Request,
    /// Server to client.
    Response,
}

/// libhtp's `is_space`: SP, HT, CR, LF, VT, FF.
pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// Trims libhtp whitespace from both ends.
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let Some((&c, rest)) = s.split_first() {
        if !is_space(c) {
            break;
        }
        s = rest;
    }
    while let Some((&c, rest)) = s.split_last() {
        if !is_space(c) {
            break;
        }
        s = rest;
    }
    s
}

/// RFC 2616 token character.
fn is_token(c: u8) -> bool {
    (32..=126).contains(&c) && !b"()<>@,;:\\\"/[]?={} \t".contains(&c)
}

/// Case-insensitive equality that skips NUL bytes in `hay` (libhtp `cmp_nocase_nozero`).
pub(crate) fn eq_nocase_nozero(hay: &[u8], needle: &[u8]) -> bool {
    let mut it = hay.iter().filter(|&&c| c != 0);
    for &n in needle {
        match it.next() {
            Some(&c) if c.eq_ignore_ascii_case(&n) => {}
            _ => return false,
        }
    }
    it.next().is_none()
}

/// Case-insensitive substring search that skips NUL bytes in `hay`.
pub(crate) fn contains_nocase_nozero(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    for start in 0..hay.len() {
        let mut it = hay.get(start..).unwrap_or(&[]).iter().filter(|&&c| c != 0);
        if needle.iter().all(|n| it.next().is_some_and(|c| c.eq_ignore_ascii_case(n))) {
            return true;
        }
    }
    false
}

/// Case-insensitive substring search.
pub(crate) fn contains_nocase(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// A line: `content` bytes, then `eol` bytes of line end; `len` = content + eol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// Bytes before the line end.
    pub content: usize,
    /// Bytes consumed including the line end.
    pub len: usize,
}

/// Outcome of looking for something in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Find<T> {
    /// Found.
    Got(T),
    /// Not complete yet: more bytes are needed.
    Need,
}

/// A line ending in LF (what libhtp's `take_till_lf` takes): chunk sizes, request lines.
/// At `eof` an unterminated rest is a line.
pub(crate) fn line_lf(b: &[u8], eof: bool) -> Find<Line> {
    match b.iter().position(|&c| c == b'\n') {
        Some(p) => Find::Got(Line { content: p, len: p + 1 }),
        None if eof && !b.is_empty() => Find::Got(Line { content: b.len(), len: b.len() }),
        None => Find::Need,
    }
}

/// A status line (libhtp `take_till_eol`): ends at CRLF, LF or a lone CR.
pub(crate) fn line_eol(b: &[u8], eof: bool) -> Find<Line> {
    match b.iter().position(|&c| c == b'\n' || c == b'\r') {
        Some(p) => {
            if b.get(p) == Some(&b'\r') {
                match b.get(p + 1) {
                    Some(b'\n') => Find::Got(Line { content: p, len: p + 2 }),
                    Some(_) => Find::Got(Line { content: p, len: p + 1 }),
                    None if eof => Find::Got(Line { content: p, len: p + 1 }),
                    None => Find::Need,
                }
            } else {
                Find::Got(Line { content: p, len: p + 1 })
            }
        }
        None if eof && !b.is_empty() => Find::Got(Line { content: b.len(), len: b.len() }),
        None => Find::Need,
    }
}

/// Length of the line end at `b[p]` for header fields of `side`, or None if more bytes
/// are needed to tell. `b[p]` must be CR or LF (for requests, LF).
fn header_eol(b: &[u8], p: usize, side: Side, eof: bool) -> Option<usize> {
    let next = b.get(p + 1);
    match (b.get(p), side) {
        (Some(b'\n'), Side::Request) => Some(1),
        (Some(b'\r'), Side::Response) => match next {
            Some(b'\n') => Some(2),
            Some(_) => Some(1),
            None if eof => Some(1),
            None => None,
        },
        (Some(b'\n'), Side::Response) => match next {
            Some(b'\r') => Some(2),
            Some(_) => Some(1),
            None if eof => Some(1),
            None => None,
        },
        _ => Some(1),
    }
}

/// libhtp's "deformed" response line ends at `b[p]`: `LF CR CR LF` before another line end,
/// or `CR LF CR` + a run of CR/SP/HT + an optional LF, not followed by a line end (so it is
/// not the end of the block). Some(Some(len)) when one is there, Some(None) when not, None
/// when more bytes are needed to tell.
fn deformed_eol(b: &[u8], p: usize, eof: bool) -> Option<Option<usize>> {
    let at = |i: usize| b.get(p + i).copied();
    let is_eol_start = |i: usize| -> Option<bool> {
        match (at(i), at(i + 1)) {
            (Some(b'\n'), _) => Some(true),
            (Some(b'\r'), Some(b'\n')) => Some(true),
            (Some(b'\r'), None) if !eof => None,
            (None, _) if !eof => None,
            _ => Some(false),
        }
    };
    // Prefix checks that need more bytes only while the bytes seen so far still match.
    let prefix = |pat: &[u8]| -> Option<bool> {
        for (i, &c) in pat.iter().enumerate() {
            match at(i) {
                Some(x) if x == c => {}
                Some(_) => return Some(false),
                None => return if eof { Some(false) } else { None },
            }
        }
        Some(true)
    };
    if prefix(b"\n\r\r\n")? {
        return Some(if is_eol_start(4)? { Some(4) } else { None });
    }
    if prefix(b"\r\n\r")? {
        let mut i = 3;
        while let Some(c) = at(i) {
            if !matches!(c, b'\r' | b' ' | b'\t') {
                break;
            }
            i += 1;
        }
        if at(i).is_none() && !eof {
            return None;
        }
        if i == 3 {
            return Some(None);
        }
        if at(i) == Some(b'\n') {
            i += 1;
        }
        return Some(if is_eol_start(i)? { None } else { Some(i) });
    }
    Some(None)
}

/// Where the physical header line starting at `from` ends: (content end, next line start).
fn header_line(b: &[u8], from: usize, side: Side, eof: bool) -> Find<(usize, usize)> {
    let rest = b.get(from..).unwrap_or(&[]);
    let pos = match side {
        Side::Request => rest.iter().position(|&c| c == b'\n'),
        Side::Response => rest.iter().position(|&c| c == b'\n' || c == b'\r'),
    };
    match pos {
        Some(p) => {
            let at = from + p;
            if side == Side::Response {
                match deformed_eol(b, at, eof) {
                    None => return Find::Need,
                    Some(Some(n)) => return Find::Got((at, at + n)),
                    Some(None) => {}
                }
            }
            match header_eol(b, at, side, eof) {
                Some(n) => {
                    // Requests: a CR before the LF is part of the line end.
                    let content =
                        if side == Side::Request && at > from && b.get(at - 1) == Some(&b'\r') { at - 1 } else { at };
                    Find::Got((content, at + n))
                }
                None => Find::Need,
            }
        }
        None if eof => Find::Got((b.len(), b.len())),
        None => Find::Need,
    }
}

/// Length of the end-of-header-block line at the start of `b`, 0 if `b` starts a field,
/// or None if more bytes are needed. `first` says no field has been read in this block yet.
pub(crate) fn end_of_block(b: &[u8], side: Side, first: bool, eof: bool) -> Option<usize> {
    match (b.first(), b.get(1), side) {
        (None, _, _) => {
            if eof {
                Some(0)
            } else {
                None
            }
        }
        (Some(b'\r'), Some(b'\n'), _) => Some(2),
        (Some(b'\n'), Some(b'\r'), Side::Response) => Some(2),
        (Some(b'\n'), Some(_), _) => Some(1),
        (Some(b'\n'), None, Side::Request) => Some(1),
        (Some(b'\n'), None, Side::Response) => {
            if eof {
                Some(1)
            } else {
                None
            }
        }
        // A lone CR: ends a response block after a field (libhtp accepts it), but at the
        // very start of a block libhtp reads it as an empty field; requests keep it.
        (Some(b'\r'), Some(_), Side::Response) => {
            if first {
                Some(0)
            } else {
                Some(1)
            }
        }
        (Some(b'\r'), None, _) => {
            if eof {
                Some(if side == Side::Response && !first { 1 } else { 0 })
            } else {
                None
            }
        }
        _ => Some(0),
    }
}

/// Looks like `[SP HT]* token+ [SP HT]* ':'`: a response "folded" line that is a new field.
fn looks_like_field(l: &[u8]) -> bool {
    let mut i = l.iter().skip_while(|&&c| c == b' ' || c == b'\t').peekable();
    let mut tokens = 0;
    while let Some(&&c) = i.peek() {
        if !is_token(c) {
            break;
        }
        tokens += 1;
        i.next();
    }
    let mut i = i.skip_while(|&&c| c == b' ' || c == b'\t');
    tokens > 0 && i.next() == Some(&b':')
}

/// One header field starting at `b[0]` (not at an end of block): returns (the length of
/// its bytes without the last line end, the length consumed). Folded continuation lines are
/// included.
pub(crate) fn field(b: &[u8], side: Side, eof: bool) -> Find<(usize, usize)> {
    let mut start = 0;
    loop {
        let (content, next) = match header_line(b, start, side, eof) {
            Find::Got(x) => x,
            Find::Need => return Find::Need,
        };
        match b.get(next) {
            Some(&c) if c == b' ' || c == b'\t' || c == 0 => {
                let cont = b.get(next + 1..).unwrap_or(&[]);
                if side == Side::Response {
                    // Need the whole continuation line to decide whether it is a new field.
                    let line_end = cont.iter().position(|&c| c == b'\n' || c == b'\r');
                    let probe = match line_end {
                        Some(p) => cont.get(..p).unwrap_or(&[]),
                        None if eof => cont,
                        None => {
                            // A colon already seen decides it; otherwise wait for the line.
                            if cont.contains(&b':') {
                                cont
                            } else {
                                return Find::Need;
                            }
                        }
                    };
                    if looks_like_field(probe) {
                        return Find::Got((content, next));
                    }
                }
                // An empty folded line with a one-byte line end: libhtp keeps that line end
                // as the next one (which then ends the block), eating it only before an LF.
                let (c2, n2) = match header_line(b, next, side, eof) {
                    Find::Got(x) => x,
                    Find::Need => return Find::Need,
                };
                if c2 == next + 1 && n2 == c2 + 1 {
                    return match b.get(n2) {
                        Some(b'\n') => Find::Got((content, n2)),
                        Some(_) => Find::Got((content, next + 1)),
                        None if eof => Find::Got((content, next + 1)),
                        None => Find::Need,
                    };
                }
                start = next;
            }
            Some(_) => return Find::Got((content, next)),
            None if eof => return Find::Got((content, next)),
            None => return Find::Need,
        }
    }
}

/// Splits the bytes of one field (as returned by [`field`], inner line ends included, the
/// last one not) into a trimmed name and value, as libhtp does. A field without colon has
/// an empty name.
pub(crate) fn split_field(raw: &[u8], side: Side) -> (Vec<u8>, Vec<u8>) {
    // Name: up to the first ':', unless a line end comes first that is not followed by a
    // space (libhtp lets "Name\n :value" through as a folded name).
    let mut colon = None;
    let mut terminated = 0u8;
    for (i, &c) in raw.iter().enumerate() {
        if terminated == 0 {
            if c == b':' {
                colon = Some(i);
                break;
            } else if c == b'\n' || (side == Side::Response && c == b'\r') {
                terminated = c;
            }
        } else if c == b' ' {
            terminated = 0;
        } else if c == b'\n' && terminated == b'\r' {
            terminated = c;
        } else {
            break;
        }
    }
    let (name, rest) = match colon {
        Some(p) => (trim(raw.get(..p).unwrap_or(&[])).to_vec(), raw.get(p + 1..).unwrap_or(&[])),
        None => (Vec::new(), raw),
    };
    // Value: the first line, then each continuation line as its fold byte plus the rest.
    let mut value: Vec<u8> = Vec::with_capacity(rest.len());
    let mut first = true;
    let mut s = rest;
    while !s.is_empty() || first {
        let pos = match side {
            Side::Request => s.iter().position(|&c| c == b'\n'),
            Side::Response => s.iter().position(|&c| c == b'\n' || c == b'\r'),
        };
        let (mut line, next) = match pos {
            Some(p) => {
                let eol = match (s.get(p), s.get(p + 1)) {
                    (Some(b'\r'), Some(b'\n')) | (Some(b'\n'), Some(b'\r')) if side == Side::Response => 2,
                    _ => 1,
                };
                (s.get(..p).unwrap_or(&[]), s.get(p + eol..).unwrap_or(&[]))
            }
            None => (s, &[][..]),
        };
        if side == Side::Request {
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
        }
        if first {
            value.extend_from_slice(line);
            first = false;
        } else if let Some((&fold, cont)) = line.split_first() {
            if !value.is_empty() {
                value.push(fold);
            }
            value.extend_from_slice(cont);
        }
        s = next;
    }
    (name, trim(&value).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(b: &[u8], side: Side) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut first = true;
        loop {
            let rest = &b[i..];
            match end_of_block(rest, side, first, true) {
                Some(n) if n > 0 || rest.is_empty() => return out,
                _ => {}
            }
            match field(rest, side, true) {
                Find::Got((c, n)) => {
                    out.push(split_field(&rest[..c], side));
                    i += n;
                    first = false;
                }
                Find::Need => return out,
            }
        }
    }

    fn f(n: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
        (n.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn folding_and_line_ends() {
        let r = fields(
            b"Name1: Value1\nName2:Value2\nName3: Val\n ue3\nName4: Value4\n Value4.1\n Value4.2\n\n",
            Side::Response,
        );
        assert_eq!(
            r,
            vec![
                f("Name1", "Value1"),
                f("Name2", "Value2"),
                f("Name3", "Val ue3"),
                f("Name4", "Value4 Value4.1 Value4.2")
            ]
        );
        let r = fields(b"Name1: Value1\r\nName3: Val\r\n ue3\r\n\r\n", Side::Request);
        assert_eq!(r, vec![f("Name1", "Value1"), f("Name3", "Val ue3")]);
        // Lone CR ends response lines, not request lines.
        let r = fields(b"Host:www.google.com\rName: Value\r\n\r\n", Side::Response);
        assert_eq!(r, vec![f("Host", "www.google.com"), f("Name", "Value")]);
        let r = fields(b"Host:www.google.com\rName: Value\r\n\r\n", Side::Request);
        assert_eq!(r, vec![f("Host", "www.google.com\rName: Value")]);
        // No colon: empty name.
        let r = fields(b"K V\r\nk1:v1\r\n\r\n", Side::Request);
        assert_eq!(r, vec![f("", "K V"), f("k1", "v1")]);
        // A folded name, and a folded line that is really a new response field.
        let r = fields(b"Transfer-Encoding\n :chunked\r\n\r\n", Side::Response);
        assert_eq!(r, vec![f("Transfer-Encoding", "chunked")]);
        let r = fields(b"A: b\r\n Transfer-Encoding: chunked\r\n\r\n", Side::Response);
        assert_eq!(r, vec![f("A", "b"), f("Transfer-Encoding", "chunked")]);
        let r = fields(b"A: b\r\n Transfer-Encoding: chunked\r\n\r\n", Side::Request);
        assert_eq!(r, vec![f("A", "b Transfer-Encoding: chunked")]);
        // Deformed line ends (HTTP Evader "cr;chunked") and an empty folded line.
        let r = fields(b"A: b\r\n\r\r\nTransfer-Encoding: chunked\r\n\r\n", Side::Response);
        assert_eq!(r, vec![f("A", "b"), f("Transfer-Encoding", "chunked")]);
        let r = fields(b"A: b\r\n\r\rTransfer-Encoding: chunked\r\n\r\n", Side::Response);
        assert_eq!(r, vec![f("A", "b"), f("Transfer-Encoding", "chunked")]);
        let r = fields(b"A: b\n\t\nNot: a header\r\n\r\n", Side::Response);
        assert_eq!(r, vec![f("A", "b")]);
        // NUL stays in names and values, whitespace incl. VT/FF is trimmed.
        let r = fields(b"Transfer-Encoding\x0b:\x0cchunked\0\r\n\r\n", Side::Response);
        assert_eq!(r, vec![f("Transfer-Encoding", "chunked\0")]);
    }

    #[test]
    fn need_more_at_every_split() {
        let b = b"A: 1\r\n B\r\nC: 2\r\n\r\n";
        for cut in 0..b.len() {
            let part = &b[..cut];
            if let Find::Got(n) = field(part, Side::Response, false) {
                // A field found early must be the same as with all bytes.
                assert_eq!(field(b, Side::Response, false), Find::Got(n), "cut {cut}");
            }
        }
    }

    #[test]
    fn nozero() {
        assert!(eq_nocase_nozero(b"Transfer\0-Encoding", b"transfer-encoding"));
        assert!(!eq_nocase_nozero(b"Transfer-Encodingx", b"transfer-encoding"));
        assert!(contains_nocase_nozero(b"x chu\0nKed y", b"chunked"));
        assert!(!contains_nocase_nozero(b"chunke", b"chunked"));
    }
}
