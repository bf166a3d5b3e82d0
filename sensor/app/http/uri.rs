//! Request URI splitting and normalisation, as libhtp does it for Suricata's `http.uri`.
//!
//! Suricata runs libhtp with the IDS personality and then turns lower-casing off, so the
//! normalised path is: `%XX` decoded (invalid escapes kept as they are), `%uXXXX` decoded
//! (to the low byte when the high byte is zero, else `?`, libhtp's best-fit fallback),
//! backslashes turned into slashes, encoded separators decoded, runs of slashes compressed,
//! and `.`/`..` segments removed (RFC 3986 5.2.4). The query is percent-decoded once and kept
//! after `?`; the fragment is dropped. Pure functions over bytes; they never panic.

/// The parts of a request target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct UriParts<'a> {
    /// Host from an absolute URI (`http://host:port/...`), as written.
    pub host: Option<&'a [u8]>,
    /// Port from an absolute URI, as written.
    pub port: Option<&'a [u8]>,
    /// Path (may be empty for `*` or authority forms, which then land here whole).
    pub path: &'a [u8],
    /// Query, without the `?`.
    pub query: Option<&'a [u8]>,
}

/// Splits a request target into host, port, path and query.
pub(crate) fn split(uri: &[u8]) -> UriParts<'_> {
    let mut parts = UriParts::default();
    let mut rest = uri;
    // scheme://authority only when it does not start with '/'.
    if rest.first() != Some(&b'/') {
        if let Some(p) = find(rest, b"://") {
            let scheme = rest.get(..p).unwrap_or(&[]);
            if !scheme.is_empty() && scheme.iter().all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c)) {
                let after = rest.get(p + 3..).unwrap_or(&[]);
                let end = after.iter().position(|&c| c == b'/' || c == b'?' || c == b'#').unwrap_or(after.len());
                let mut auth = after.get(..end).unwrap_or(&[]);
                if let Some(at) = auth.iter().rposition(|&c| c == b'@') {
                    auth = auth.get(at + 1..).unwrap_or(&[]);
                }
                let (h, port) = split_host_port(auth);
                parts.host = Some(h);
                parts.port = port;
                rest = after.get(end..).unwrap_or(&[]);
            }
        }
    }
    let end = rest.iter().position(|&c| c == b'?' || c == b'#').unwrap_or(rest.len());
    parts.path = rest.get(..end).unwrap_or(&[]);
    if rest.get(end) == Some(&b'?') {
        let q = rest.get(end + 1..).unwrap_or(&[]);
        let qend = q.iter().position(|&c| c == b'#').unwrap_or(q.len());
        parts.query = q.get(..qend);
    }
    parts
}

/// `host[:port]`, with `[v6]` kept whole.
pub(crate) fn split_host_port(auth: &[u8]) -> (&[u8], Option<&[u8]>) {
    if auth.first() == Some(&b'[') {
        if let Some(close) = auth.iter().position(|&c| c == b']') {
            let host = auth.get(..=close).unwrap_or(auth);
            let rest = auth.get(close + 1..).unwrap_or(&[]);
            return (host, rest.strip_prefix(b":"));
        }
        return (auth, None);
    }
    match auth.iter().rposition(|&c| c == b':') {
        Some(p) => (auth.get(..p).unwrap_or(&[]), auth.get(p + 1..)),
        None => (auth, None),
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes into `out` (`%uXXXX` too when `u_decode`); invalid escapes stay as-is.
fn percent_decode(input: &[u8], u_decode: bool, out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        if c == b'%' {
            if u_decode && matches!(input.get(i + 1), Some(b'u') | Some(b'U')) {
                let d: Option<Vec<u8>> = (2..6).map(|k| input.get(i + k).and_then(|&h| hexval(h))).collect();
                if let Some(d) = d {
                    let hi = d.first().copied().unwrap_or(0) << 4 | d.get(1).copied().unwrap_or(0);
                    let lo = d.get(2).copied().unwrap_or(0) << 4 | d.get(3).copied().unwrap_or(0);
                    out.push(if hi == 0 || hi == 0xff {
                        lo.wrapping_add(if hi == 0xff { 0x20 } else { 0 })
                    } else {
                        b'?'
                    });
                    i += 6;
                    continue;
                }
            }
            if let (Some(h), Some(l)) =
                (input.get(i + 1).and_then(|&h| hexval(h)), input.get(i + 2).and_then(|&l| hexval(l)))
            {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
}

/// The normalised form of a path: decoded, slashes unified and compressed, dot segments gone.
pub(crate) fn normalize_path(path: &[u8], out: &mut Vec<u8>) {
    let mut dec = Vec::with_capacity(path.len());
    percent_decode(path, true, &mut dec);
    for c in dec.iter_mut() {
        if *c == b'\\' {
            *c = b'/';
        }
    }
    // Compress separators.
    let mut comp: Vec<u8> = Vec::with_capacity(dec.len());
    for &c in &dec {
        if c == b'/' && comp.last() == Some(&b'/') {
            continue;
        }
        comp.push(c);
    }
    remove_dot_segments(&comp, out);
}

/// RFC 3986 section 5.2.4.
fn remove_dot_segments(input: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let mut i = input;
    while !i.is_empty() {
        if let Some(r) = i.strip_prefix(b"../") {
            i = r;
        } else if let Some(r) = i.strip_prefix(b"./") {
            i = r;
        } else if i.starts_with(b"/./") {
            // In bounds: i starts with "/./".
            i = &i[2..];
        } else if i == b"/." {
            i = b"/";
        } else if i.starts_with(b"/../") || i == b"/.." {
            // In bounds: i starts with "/../" (length >= 4) unless it is "/.." (length 3).
            i = if i.len() == 3 { b"/" } else { &i[3..] };
            // Drop the last segment of the output (and its leading '/').
            let seg =
                out.get(start..).unwrap_or(&[]).iter().rposition(|&c| c == b'/').map(|p| start + p).unwrap_or(start);
            out.truncate(seg);
        } else if i == b"." || i == b".." {
            i = b"";
        } else {
            let first_len = if i.first() == Some(&b'/') { 1 } else { 0 };
            let seg_end = i
                .get(first_len..)
                .unwrap_or(&[])
                .iter()
                .position(|&c| c == b'/')
                .map(|p| p + first_len)
                .unwrap_or(i.len());
            out.extend_from_slice(i.get(..seg_end).unwrap_or(&[]));
            i = i.get(seg_end..).unwrap_or(&[]);
        }
    }
}

/// `http.uri`: the normalised path, then `?` and the decoded query if there is one.
pub(crate) fn normalized(uri: &[u8]) -> Vec<u8> {
    let p = split(uri);
    let mut out = Vec::with_capacity(uri.len());
    normalize_path(p.path, &mut out);
    if let Some(q) = p.query {
        out.push(b'?');
        percent_decode(q, false, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        assert_eq!(normalized(b"/a/b/../c/./d//e?x=%41+b#frag"), b"/a/c/d/e?x=A+b");
        assert_eq!(normalized(b"/%2e%2e/%2fetc%5cpasswd"), b"/etc/passwd");
        assert_eq!(normalized(b"/bad%zz%u0041"), b"/bad%zzA");
        assert_eq!(normalized(b"http://Host.Example:8080/x/../y"), b"/y");
        assert_eq!(normalized(b"/"), b"/");
        assert_eq!(normalized(b"/a/.."), b"/");
        let p = split(b"http://user@Host.Example:8080/x?q");
        assert_eq!(p.host, Some(&b"Host.Example"[..]));
        assert_eq!(p.port, Some(&b"8080"[..]));
        assert_eq!(p.query, Some(&b"q"[..]));
        assert_eq!(split_host_port(b"[::1]:80"), (&b"[::1]"[..], Some(&b"80"[..])));
    }
}
