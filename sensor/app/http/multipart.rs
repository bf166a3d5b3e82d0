//! `multipart/form-data` request bodies: each part whose Content-Disposition names a file
//! is a file (Suricata's `HtpRequestBodyHandleMultipart` over its MIME parser,
//! `rust/src/mime/mime.rs`), with the same streaming rules, so that file boundaries, names and
//! contents agree with Suricata's, including where they depend on how the body was split
//! (a piece ending between the CR and LF before a boundary hides the boundary).
//!
//! Takes: the request's Content-Type value (for the boundary), then the body bytes kept
//! within the request body limit, in order, in any split. Promises: events in order
//! ([`Ev`]): a file opens (its name), file bytes, a file closes (its last bytes, the line end
//! before the boundary left out). Bytes not yet decidable wait in a buffer that never holds
//! more than the body limit (the caller feeds only bytes within it). Never: panics on input.

/// Longest boundary token accepted (Suricata's `RS_MIME_MAX_TOKEN_LEN`).
const MAX_TOKEN: usize = 255;
/// Bytes after a boundary without a line end before the parser streams past it.
const BOUNDARY_MAX_BEFORE_EOL: usize = 128;
/// Longest part header line kept waiting for its end.
const HEADER_MAX_LINE: usize = 4096;

/// Where the parser is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum St {
    /// Looking for a boundary line.
    #[default]
    Start,
    /// In a part's header block.
    Header,
    /// After a part's header block.
    HeaderEnd,
    /// In a part's content.
    Chunk,
    /// After a boundary whose line is too long: skipping to its end.
    WaitEol,
}

/// What one step of the parser found (Suricata's `MimeParserResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    NeedsMore,
    FileOpen,
    FileChunk,
    FileClose,
}

/// A part's header line was malformed (`multipart_invalid_header`).
pub(crate) const WARN_INVALID_HEADER: u32 = 1;
/// A part named a file but had no content (`multipart_no_filedata`).
pub(crate) const WARN_NO_FILEDATA: u32 = 2;

/// What the body says, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ev<'a> {
    /// A part names a file.
    Open(&'a [u8]),
    /// Bytes of the current part.
    Data(&'a [u8]),
    /// The current part ends with these bytes.
    Close(&'a [u8]),
    /// Warnings ([`WARN_INVALID_HEADER`], [`WARN_NO_FILEDATA`]).
    Warn(u32),
}

/// The multipart parser of one request body.
#[derive(Clone, Debug, Default)]
pub(crate) struct Multipart {
    /// "--" and the boundary token.
    boundary: Vec<u8>,
    /// Name of the file the current part's header gives.
    filename: Vec<u8>,
    st: St,
    /// Body bytes not consumed yet.
    pending: Vec<u8>,
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() {
        return Some(0);
    }
    h.windows(n.len()).position(|w| w == n)
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// One `name=value` token of a header value (after its first `;`): the value quoted (with
/// backslash escapes kept) or up to the next `;`, trailing spaces trimmed.
fn token(input: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let s = input.iter().position(|&c| !is_space(c)).unwrap_or(input.len());
    let input = input.get(s..)?;
    let eq = input.iter().position(|&c| c == b'=')?;
    let name = input.get(..eq)?;
    let rest = input.get(eq + 1..)?;
    // a quoted value ends at the first unescaped quote, else (as Suricata falls back) at the
    // first quote at all; without one it is not quoted
    let quoted_end = (rest.first() == Some(&b'"'))
        .then(|| {
            let body = rest.get(1..).unwrap_or(&[]);
            let mut esc = false;
            body.iter()
                .position(|&c| {
                    if c == b'\\' {
                        esc = true;
                        return false;
                    }
                    let end = c == b'"' && !esc;
                    esc = false;
                    end
                })
                .or_else(|| body.iter().position(|&c| c == b'"'))
        })
        .flatten();
    let (value, mut rest) = if let Some(end) = quoted_end {
        let body = rest.get(1..)?;
        (body.get(..end)?, body.get(end + 1..).unwrap_or(&[]))
    } else {
        let semi = rest.iter().position(|&c| c == b';').unwrap_or(rest.len());
        let v = rest.get(..semi)?;
        let keep = v.iter().rposition(|&c| !is_space(c)).map_or(0, |i| i + 1);
        (v.get(..keep)?, rest.get(semi..).unwrap_or(&[]))
    };
    let s = rest.iter().position(|&c| !is_space(c)).unwrap_or(rest.len());
    rest = rest.get(s..).unwrap_or(&[]);
    if rest.first() == Some(&b';') {
        rest = rest.get(1..).unwrap_or(&[]);
    }
    Some((name, value, rest))
}

/// The value of parameter `name` in a header value such as
/// `form-data; name="a"; filename="b"` (the last of repeats; RFC 2231 sections `name*0`,
/// `name*1`... joined), None without a `;` or the parameter.
pub(crate) fn header_token(value: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    let semi = value.iter().position(|&c| c == b';')?;
    let mut input = value.get(semi + 1..)?;
    let mut tokens: Vec<(&[u8], &[u8])> = Vec::new();
    while !input.is_empty() {
        let Some((n, v, rest)) = token(input) else { break };
        if rest.len() == input.len() {
            break;
        }
        match tokens.iter_mut().find(|t| t.0 == n) {
            Some(t) => t.1 = v,
            None => tokens.push((n, v)),
        }
        input = rest;
    }
    let get = |n: &[u8]| tokens.iter().find(|t| t.0 == n).map(|t| t.1);
    if let Some(v) = get(name) {
        return Some(v.to_vec());
    }
    let mut out = Vec::new();
    let mut key = name.to_vec();
    for i in 0u32.. {
        key.truncate(name.len());
        key.push(b'*');
        key.extend_from_slice(i.to_string().as_bytes());
        match get(&key) {
            Some(v) => out.extend_from_slice(v),
            None if i == 0 => return None,
            None => break,
        }
    }
    Some(out)
}

impl Multipart {
    /// The parser of a body whose Content-Type value has a `boundary` parameter (of at most
    /// 255 bytes), else None.
    pub(crate) fn new(content_type: &[u8]) -> Option<Multipart> {
        let b = header_token(content_type, b"boundary")?;
        if b.len() > MAX_TOKEN {
            return None;
        }
        let mut boundary = b"--".to_vec();
        boundary.extend(b.iter().filter(|&&c| c != b'\\'));
        Some(Multipart { boundary, ..Multipart::default() })
    }

    /// Parses the next body bytes, reporting what they say to `f`.
    pub(crate) fn feed(&mut self, data: &[u8], f: &mut dyn FnMut(Ev<'_>)) {
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(data);
        let mut at = 0;
        while let Some(cur) = pending.get(at..).filter(|c| !c.is_empty()) {
            let (step, used, warn) = self.process(cur);
            if warn != 0 {
                f(Ev::Warn(warn));
            }
            let bytes = cur.get(..used).unwrap_or(&[]);
            at += used;
            match step {
                Step::NeedsMore => break,
                Step::FileOpen => {
                    if !self.filename.is_empty() {
                        f(Ev::Open(&self.filename));
                    }
                }
                Step::FileChunk => f(Ev::Data(bytes)),
                Step::FileClose => {
                    let mut last = bytes;
                    if let Some(b) = last.strip_suffix(b"\n") {
                        last = b.strip_suffix(b"\r").unwrap_or(b);
                    }
                    f(Ev::Close(last));
                }
            }
        }
        pending.drain(..at.min(pending.len()));
        self.pending = pending;
    }

    /// One step (Suricata's `mime_process`): what was found, bytes consumed, warnings.
    fn process(&mut self, i: &[u8]) -> (Step, usize, u32) {
        let mut used = 0;
        let mut warn = 0;
        let bl = self.boundary.len();
        while let Some(input) = i.get(used..).filter(|x| !x.is_empty()) {
            match self.st {
                St::Start => {
                    let lf = input.iter().position(|&c| c == b'\n');
                    match (input.starts_with(&self.boundary), lf) {
                        (true, Some(p)) => {
                            self.st = St::Header;
                            used += p + 1;
                        }
                        (false, Some(p)) => used += p + 1,
                        (true, None) if input.len() >= bl + BOUNDARY_MAX_BEFORE_EOL => {
                            self.st = St::WaitEol;
                            used += bl + BOUNDARY_MAX_BEFORE_EOL;
                        }
                        _ => return (Step::NeedsMore, used, warn),
                    }
                }
                St::WaitEol => match input.iter().position(|&c| c == b'\n') {
                    Some(p) => {
                        self.st = St::Header;
                        used += p + 1;
                    }
                    None => used += input.len(),
                },
                St::Header => {
                    let Some((n, next, open, err)) = self.headers(input) else {
                        return (Step::NeedsMore, used, warn);
                    };
                    self.st = next;
                    used += n;
                    if err {
                        warn |= WARN_INVALID_HEADER;
                    }
                    if open {
                        return (Step::FileOpen, used, warn);
                    }
                }
                St::HeaderEnd => {
                    if input.len() < bl {
                        if self.boundary.starts_with(input) {
                            return (Step::NeedsMore, used, warn);
                        }
                        self.st = St::Chunk;
                    } else if input.starts_with(&self.boundary) {
                        self.st = St::Start;
                        if !self.filename.is_empty() {
                            warn |= WARN_NO_FILEDATA;
                        }
                        self.filename.clear();
                        return (Step::FileClose, used, warn);
                    } else {
                        self.st = St::Chunk;
                    }
                }
                St::Chunk => {
                    let Some((n, eof)) = self.chunk(input) else {
                        return (Step::NeedsMore, used, warn);
                    };
                    used += n;
                    if eof {
                        self.st = St::Start;
                        self.filename.clear();
                        return (Step::FileClose, used, warn);
                    }
                    if input.len() - n < bl + 2 {
                        return (Step::FileChunk, used, warn);
                    }
                }
            }
        }
        (Step::NeedsMore, used, warn)
    }

    /// Header lines of a part: (bytes consumed, next state, a filename was found, a line was
    /// malformed), or None when not even one line is complete.
    fn headers(&mut self, i: &[u8]) -> Option<(usize, St, bool, bool)> {
        let (mut open, mut err) = (false, false);
        let mut used = 0;
        while let Some(input) = i.get(used..).filter(|x| !x.is_empty()) {
            let Some(p) = find(input, b"\r\n") else {
                if input.len() > HEADER_MAX_LINE {
                    return Some((used, St::WaitEol, open, err));
                }
                if used > 0 {
                    return Some((used, St::Header, open, err));
                }
                return None;
            };
            let line = input.get(..p).unwrap_or(&[]);
            match line.iter().position(|&c| c == b':') {
                Some(c) => {
                    let name = line.get(..c).unwrap_or(&[]);
                    let v = line.get(c + 1..).unwrap_or(&[]);
                    let value = v.get(v.iter().position(|&x| !is_space(x)).unwrap_or(v.len())..).unwrap_or(&[]);
                    if name.eq_ignore_ascii_case(b"content-disposition") {
                        if let Some(name) = header_token(value, b"filename").filter(|n| !n.is_empty()) {
                            self.filename = name.into_iter().filter(|&c| c != b'\\').collect();
                            open = true;
                        }
                    }
                    err |= value.is_empty();
                }
                None => err |= !line.is_empty(),
            }
            used += p + 2;
            if line.is_empty() || line == b"\r" {
                return Some((used, St::HeaderEnd, open, err));
            }
        }
        Some((used, St::Header, open, err))
    }

    /// Content of a part up to a line that may start the boundary: (bytes consumed, the
    /// boundary follows), or None to wait for more.
    fn chunk(&self, input: &[u8]) -> Option<(usize, bool)> {
        let Some(p) = find(input, b"\r\n") else { return Some((input.len(), false)) };
        let next = input.get(p + 2..).unwrap_or(&[]);
        let bl = self.boundary.len();
        if next.len() < bl {
            if self.boundary.starts_with(next) {
                if p > 0 {
                    return Some((p, false));
                }
                return None;
            }
            return Some((input.len(), false));
        }
        Some((p + 2, next.starts_with(&self.boundary)))
    }
}

/// Decides, at a request's first body bytes, what its body is (as Suricata does): a POST
/// whose Content-Type has a boundary is multipart (its parts are the files); another POST or
/// a PUT is one file.
pub(super) fn body_kind(t: &mut super::HttpTx) {
    if t.request.body_kind_set {
        return;
    }
    t.request.body_kind_set = true;
    if t.method.eq_ignore_ascii_case(b"POST") {
        let ct = t.request.header(b"content-type").filter(|v| !v.is_empty());
        t.request.multipart = ct.and_then(Multipart::new).map(Box::new);
    }
}

/// What a multipart body's next bytes say, applied to its files (Suricata's
/// `HtpRequestBodyHandleMultipart`): a part naming a file opens one, its bytes go to the
/// open one, its end closes it.
pub(super) fn feed_parts(
    mp: &mut Multipart,
    parts: &mut Vec<super::FilePart>,
    data: &[u8],
    cut: bool,
    hashes: crate::app::files::HashSet,
    warns: &mut u32,
) {
    mp.feed(data, &mut |ev| {
        let open = parts.last_mut().filter(|p| p.file.state == crate::app::files::FileState::Open);
        match ev {
            Ev::Open(name) => {
                let file = crate::app::files::File::open(name, true, hashes);
                parts.push(super::FilePart { file, data: Vec::new() });
            }
            Ev::Data(d) => {
                if let Some(p) = open {
                    p.file.data(d);
                    p.data.extend_from_slice(d);
                }
            }
            Ev::Close(d) => {
                if let Some(p) = open {
                    p.file.data(d);
                    p.data.extend_from_slice(d);
                    p.file.close(crate::app::files::FileState::Closed);
                }
            }
            Ev::Warn(w) => *warns |= w,
        }
    });
    if cut {
        // past the body limit: the part being read is cut there
        parts.iter_mut().for_each(|p| p.file.close(crate::app::files::FileState::Truncated));
    }
}

/// The events of a step's warnings, as (to the server, event) pairs.
pub(super) fn warning_events(warns: u32) -> impl Iterator<Item = (bool, u16)> {
    [
        (WARN_INVALID_HEADER, super::event::MULTIPART_INVALID_HEADER),
        (WARN_NO_FILEDATA, super::event::MULTIPART_NO_FILEDATA),
    ]
    .into_iter()
    .filter(move |(w, _)| warns & w != 0)
    .map(|(_, e)| (true, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ct: &[u8], body: &[u8], split: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut m = Multipart::new(ct).unwrap();
        let mut parts = Vec::new();
        let (a, b) = body.split_at(split);
        let mut warns = 0;
        for c in [a, b] {
            feed_parts(&mut m, &mut parts, c, false, crate::app::files::HashSet::default(), &mut warns);
        }
        assert!(parts.iter().all(|p| p.file.state == crate::app::files::FileState::Closed));
        parts.into_iter().map(|p| (p.file.name, p.data)).collect()
    }

    #[test]
    fn parts_with_filenames_are_files_in_any_split() {
        let ct = b"multipart/form-data; boundary=XyZ";
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"toto.txt\"\r\n\
Content-Type: text/plain\r\n\r\ntoto est dans un bateau\n\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"f\"\r\n\r\nfield\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"b\"; filename=\"titi.txt\"\r\n\r\nTiti\r\nminet\r\n--XyZ--\r\n";
        let want = vec![
            (b"toto.txt".to_vec(), b"toto est dans un bateau\n".to_vec()),
            (b"titi.txt".to_vec(), b"Titi\r\nminet".to_vec()),
        ];
        assert_eq!(run(ct, body, body.len()), want);
        for at in [3, 60, 120] {
            assert_eq!(run(ct, body, at), want, "split at {at}");
        }
        // as in Suricata, a part header split after its filename line: the rest of the
        // header is file content
        assert_ne!(run(ct, body, 80), want);
        // as in Suricata, a piece that ends with the CR of the line end before a boundary
        // hides that boundary: the next part's bytes go to the file
        let cr = body.windows(8).position(|w| w == b"\r\n--XyZ\r").unwrap() + 1;
        assert_ne!(run(ct, body, cr), want);
    }

    #[test]
    fn tokens_quoted_sections_and_missing() {
        assert_eq!(header_token(b"form-data; filename=\"a;b.txt\"", b"filename"), Some(b"a;b.txt".to_vec()));
        assert_eq!(header_token(b"form-data; filename*0=ab; filename*1=cd", b"filename"), Some(b"abcd".to_vec()));
        assert_eq!(header_token(b"form-data", b"filename"), None);
        assert!(Multipart::new(b"text/plain").is_none());
    }
}
