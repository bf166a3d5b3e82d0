//! Line and framing helpers of the HTTP/1 parser (libhtp's semantics): request/response line
//! splitting, Content-Length and chunk sizes, content codings, Content-Disposition names.

use super::decompress::Coding;
use super::headers::*;
use super::HttpStats;

/// The `filename=` parameter of a Content-Disposition value, as Suricata's
/// `HTTPParseContentDispositionHeader` finds it: `;`-separated tokens (outside quotes), the
/// first one starting with `filename=` (any case), its surrounding quotes removed.
pub(super) fn disposition_filename(v: &[u8]) -> Option<&[u8]> {
    const NAME: &[u8] = b"filename=";
    let start = v.iter().position(|c| !c.is_ascii_whitespace())?;
    let line = v.get(start..)?;
    let (mut offset, mut quotes) = (0usize, 0u32);
    for x in 1..line.len() {
        let (prev, cur) = (line.get(x - 1).copied(), line.get(x).copied());
        if prev != Some(b'\\') && cur == Some(b'"') {
            quotes += 1;
        }
        let last = x + 1 == line.len();
        if ((prev != Some(b'\\') && cur == Some(b';')) || last) && quotes % 2 == 0 {
            let end = if last { x + 1 } else { x };
            let token = line.get(offset..end).unwrap_or(&[]);
            offset = x + 1;
            while line.get(offset).is_some_and(|c| c.is_ascii_whitespace()) {
                offset += 1;
            }
            if token.len() > NAME.len() && token.get(..NAME.len()).is_some_and(|t| t.eq_ignore_ascii_case(NAME)) {
                let mut value = token.get(NAME.len()..)?;
                if value.first() == Some(&b'"') {
                    value = value.get(1..)?;
                }
                if value.last() == Some(&b'"') {
                    value = value.get(..value.len() - 1)?;
                }
                return Some(value);
            }
        }
    }
    None
}

/// Splits at the last byte `sep` matches (trimming both sides); no match: all of it first.
pub(super) fn split_last(b: &[u8], sep: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    match b.iter().rposition(|&c| sep(c)) {
        // In bounds: i is a position in b.
        Some(i) => (trim(&b[..i]), trim(&b[i + 1..])),
        None => (b, &[]),
    }
}

/// Whether a request protocol is HTTP/1.1 or later (libhtp's protocol number, where anything
/// that does not parse counts as older).
pub(super) fn at_least_http11(p: &[u8]) -> bool {
    let p = trim(p);
    let Some(v) = p.get(..5).filter(|h| h.eq_ignore_ascii_case(b"http/")).and(p.get(5..)) else { return false };
    let mut it = v.splitn(2, |&c| c == b'.');
    let num = |b: Option<&[u8]>| std::str::from_utf8(b?).ok()?.trim().parse::<u32>().ok();
    match (num(it.next()), num(it.next())) {
        (Some(major), Some(minor)) => (major, minor) >= (1, 1),
        _ => false,
    }
}

/// libhtp: a response line is one when it starts (after whitespace and NULs) with "http".
pub(super) fn looks_like_http(line: &[u8]) -> bool {
    let start = line.iter().position(|&c| !(is_space(c) || c == 0)).unwrap_or(line.len());
    line.get(start..start + 4).is_some_and(|w| w.eq_ignore_ascii_case(b"http"))
}

/// Removes trailing CR and LF.
pub(super) fn chomp(mut l: &[u8]) -> &[u8] {
    while let Some(x) = l.strip_suffix(b"\n").or_else(|| l.strip_suffix(b"\r")) {
        l = x;
    }
    l
}

/// libhtp `parse_content_length`: optional spaces, any non-digits, then digits.
pub(super) fn parse_content_length(v: &[u8]) -> Option<u64> {
    let s = v.iter().position(|c| c.is_ascii_digit())?;
    let digits = v.get(s..)?;
    let e = digits.iter().position(|c| !c.is_ascii_digit()).unwrap_or(digits.len());
    let mut n: u64 = 0;
    for &c in digits.get(..e)? {
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// The name of a message's file as Suricata takes it: a response's Content-Disposition
/// filename, else the URI's path (libhtp's normalized path: decoded, separators compressed).
pub(super) fn file_name(t: &super::HttpTx, req: bool) -> Vec<u8> {
    let disposition = if req { None } else { t.response.header(b"content-disposition").and_then(disposition_filename) };
    match disposition {
        Some(d) => d.to_vec(),
        None => {
            let mut n = Vec::new();
            super::uri::normalize_path(super::uri::split(&t.uri_raw).path, &mut n);
            n
        }
    }
}

/// A Content-Length value with something other than white space before its digits (libhtp's
/// `CONTENT_LENGTH_EXTRA_DATA_START`; a value without digits is not read at all).
pub(super) fn content_length_junk_before(v: &[u8]) -> bool {
    let v = v.get(v.iter().position(|&c| !is_lws(c)).unwrap_or(v.len())..).unwrap_or(&[]);
    v.first().is_some_and(|c| !c.is_ascii_digit()) && v.iter().any(u8::is_ascii_digit)
}

fn is_lws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// Whether a response's `Content-Range` is one Suricata flags `RANGE_INVALID` when its file
/// opens: not `<unit> */<size>` nor `<unit> <start>-<end>/<size or *>`, or a start after its
/// end or an end past the size.
pub(super) fn content_range_invalid(v: &[u8]) -> bool {
    fn num(b: &[u8]) -> Option<(i64, &[u8])> {
        let e = b.iter().position(|c| !c.is_ascii_digit()).unwrap_or(b.len());
        let n = std::str::from_utf8(b.get(..e)?).ok()?.parse::<i64>().ok()?;
        Some((n, b.get(e..)?))
    }
    fn skip_sp(b: &[u8]) -> &[u8] {
        b.get(b.iter().position(|&c| c != b' ').unwrap_or(b.len())..).unwrap_or(&[])
    }
    fn parse(v: &[u8]) -> Option<(i64, i64, i64)> {
        let v = skip_sp(v);
        let v = skip_sp(v.get(v.iter().position(|&c| c == b' ').unwrap_or(v.len())..).unwrap_or(&[]));
        if let Some(rest) = v.strip_prefix(b"*/") {
            return num(rest).map(|(size, _)| (-1, -1, size));
        }
        let (start, rest) = num(v)?;
        let (end, rest) = num(rest.strip_prefix(b"-")?)?;
        let rest = rest.strip_prefix(b"/")?;
        let size = if rest.first() == Some(&b'*') { -1 } else { num(rest)?.0 };
        Some((start, end, size))
    }
    match parse(v) {
        None => true,
        Some((_, end, size)) if end <= 0 || size <= 0 => false,
        Some((start, end, size)) => start > end || end > size - 1,
    }
}

/// libhtp `parse_chunked_length`: Ok(Some(n)), Ok(None) for an empty or oversized size
/// (the line is skipped), Err for a line that is not a chunk size.
pub(super) fn parse_chunk_len(line: &[u8]) -> Result<Option<u64>, ()> {
    let s = line.iter().position(|&c| !matches!(c, b'\r' | b'\n' | b' ' | b'\t' | 0x0b | 0x0c)).unwrap_or(line.len());
    let rest = line.get(s..).unwrap_or(&[]);
    let rest = rest.get(rest.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(rest.len())..).unwrap_or(&[]);
    let e = rest.iter().position(|c| !c.is_ascii_hexdigit()).unwrap_or(rest.len());
    let digits = rest.get(..e).unwrap_or(&[]);
    let trailing = rest.get(e..).unwrap_or(&[]);
    let trailing = trailing.get(trailing.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(trailing.len())..);
    if digits.is_empty() {
        return if trailing.is_none_or(|t| t.is_empty()) { Ok(None) } else { Err(()) };
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
pub(super) fn chunk_len_prefix_ok(b: &[u8]) -> bool {
    match b.iter().find(|&&c| !matches!(c, b'\r' | b'\n' | b' ' | b'\t' | 0x0b | 0x0c)) {
        Some(c) => c.is_ascii_hexdigit(),
        None => true,
    }
}

/// The content codings to undo for a Content-Encoding value, libhtp's way: the exact names
/// first, else each comma/space separated item containing "gzip" or "deflate" (unknown items
/// still count towards the layer limit). Returned in decoding order.
pub(super) fn codings(ce: &[u8], limit: u32, stats: &mut HttpStats) -> Vec<Coding> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_filenames() {
        assert_eq!(disposition_filename(b"attachment; filename=\"a b.mp3\""), Some(&b"a b.mp3"[..]));
        assert_eq!(disposition_filename(b"attachment; FILENAME=x.exe"), Some(&b"x.exe"[..]));
        assert_eq!(disposition_filename(b"inline"), None);
        assert_eq!(disposition_filename(b"attachment; name=\"a;b\"; filename=c"), Some(&b"c"[..]));
        assert_eq!(disposition_filename(b""), None);
    }
}
