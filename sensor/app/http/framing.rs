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
