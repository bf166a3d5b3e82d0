//! Buffer transforms (Suricata's `dotprefix`, `strip_whitespace`, `to_md5`, ...): applied
//! to a sticky buffer, in rule order, before its keywords and its prefilter see it.
//!
//! Takes: a buffer and the rule's transform list (compiled once: `pcrexform` expressions).
//! Promises: the same bytes Suricata's transform of that name produces; output bounded by
//! the input size (hashes: their digest size). Never: panics or allocates beyond the output
//! buffer it is given.

use base64::Engine as _;
use md5::Digest as _;

use crate::rule::ast::{Base64Mode, FromBase64, Transform, XorKey, XorKeySource};

/// A compiled transform.
#[derive(Debug)]
pub enum Xform {
    /// Plain transform.
    Plain(Transform),
    /// `pcrexform`: the buffer becomes the first capture of the expression.
    Pcre(pcre2::bytes::Regex),
}

/// Compiles a rule's transform list.
pub(crate) fn compile(ts: &[Transform]) -> Result<Vec<Xform>, String> {
    ts.iter()
        .map(|t| match t {
            Transform::PcreXform(e) => pcre2::bytes::RegexBuilder::new()
                .jit_if_available(true)
                .build(e)
                .map(Xform::Pcre)
                .map_err(|err| format!("pcrexform: {err}")),
            other => Ok(Xform::Plain(other.clone())),
        })
        .collect()
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Applies one transform from `input` into `out` (cleared first).
fn apply_one(x: &Xform, input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match x {
        Xform::Pcre(re) => match re.captures(input) {
            Ok(Some(c)) => match c.get(1).or_else(|| c.get(0)) {
                Some(m) => out.extend_from_slice(m.as_bytes()),
                None => out.extend_from_slice(input),
            },
            _ => out.extend_from_slice(input),
        },
        Xform::Plain(t) => match t {
            Transform::DotPrefix => {
                out.push(b'.');
                out.extend_from_slice(input);
            }
            Transform::StripWhitespace => out.extend(input.iter().copied().filter(|&b| !is_space(b))),
            Transform::CompressWhitespace => {
                let mut prev_space = false;
                for &b in input {
                    let sp = is_space(b);
                    if !(sp && prev_space) {
                        out.push(b);
                    }
                    prev_space = sp;
                }
            }
            Transform::ToLowercase => out.extend(input.iter().map(|b| b.to_ascii_lowercase())),
            Transform::ToUppercase => out.extend(input.iter().map(|b| b.to_ascii_uppercase())),
            Transform::UrlDecode => {
                let mut i = 0;
                while i < input.len() {
                    // In bounds: i < input.len() (loop condition).
                    let b = input[i];
                    if b == b'%' {
                        if let (Some(h), Some(l)) =
                            (input.get(i + 1).copied().and_then(hex), input.get(i + 2).copied().and_then(hex))
                        {
                            out.push(h << 4 | l);
                            i += 3;
                            continue;
                        }
                    }
                    out.push(if b == b'+' { b' ' } else { b });
                    i += 1;
                }
            }
            Transform::ToMd5 => out.extend_from_slice(&md5::Md5::digest(input)),
            Transform::ToSha1 => out.extend_from_slice(&sha1::Sha1::digest(input)),
            Transform::ToSha256 => out.extend_from_slice(&sha2::Sha256::digest(input)),
            Transform::HeaderLowercase => {
                // lower-case each line's name (up to its first ':')
                let mut in_name = true;
                for &b in input {
                    if b == b'\n' {
                        in_name = true;
                        out.push(b);
                    } else if in_name {
                        if b == b':' {
                            in_name = false;
                        }
                        out.push(b.to_ascii_lowercase());
                    } else {
                        out.push(b);
                    }
                }
            }
            Transform::StripPseudoHeaders => {
                for line in input.split_inclusive(|&b| b == b'\n') {
                    if line.first() != Some(&b':') {
                        out.extend_from_slice(line);
                    }
                }
            }
            // Suricata's `get_domain` / `get_tld`: nothing when the name has no registrable
            // domain (a bare suffix, an unknown single label)
            Transform::Domain => {
                if let Some(d) = psl::domain(input) {
                    out.extend_from_slice(d.as_bytes());
                }
            }
            Transform::Tld => {
                if let Some(d) = psl::domain(input) {
                    out.extend_from_slice(d.suffix().as_bytes());
                }
            }
            Transform::Xor(x) => xor(x, input, out),
            Transform::FromBase64(fb) => from_base64(fb, input, out),
            Transform::PcreXform(_) => out.extend_from_slice(input),
        },
    }
}

/// `xor` (Suricata's `xor_transform`): the bytes from the offset on XORed with the key
/// repeated; a key read from the buffer itself must be there, else the buffer is unchanged.
fn xor(x: &XorKey, input: &[u8], out: &mut Vec<u8>) {
    let start = x.offset as usize;
    let key: &[u8] = match &x.key {
        XorKeySource::Static(k) => k,
        XorKeySource::Extract { nbytes, offset } => {
            let o = usize::from(*offset);
            input.get(o..o + usize::from(*nbytes)).unwrap_or(&[])
        }
    };
    match input.get(start..) {
        Some(tail) if !key.is_empty() => {
            // In bounds: start <= input.len() (get above).
            out.extend_from_slice(&input[..start]);
            out.extend(tail.iter().zip(key.iter().cycle()).map(|(a, k)| a ^ k));
        }
        _ => out.extend_from_slice(input),
    }
}

/// `from_base64` (Suricata's `base64_transform`): an offset or a byte count that does not
/// fit leaves the buffer as it is; so does input that decodes to nothing.
fn from_base64(fb: &FromBase64, input: &[u8], out: &mut Vec<u8>) {
    let mut data = input;
    if fb.offset > 0 {
        match data.get(fb.offset as usize..) {
            Some(rest) if fb.offset < input.len() as u32 => data = rest,
            _ => return out.extend_from_slice(input),
        }
    }
    if fb.bytes > 0 {
        match data.get(..fb.bytes as usize) {
            Some(head) if (fb.bytes as usize) < data.len() => data = head,
            _ => return out.extend_from_slice(input),
        }
    }
    if base64_decode(fb.mode, data, out) == 0 {
        out.clear();
        out.extend_from_slice(input);
    }
}

/// Decodes base64 `input` into `out` (appended) as Suricata's `SCBase64Decode` does in `mode`;
/// returns the bytes decoded (0 on an error: nothing is kept, as there).
pub(crate) fn base64_decode(mode: Base64Mode, input: &[u8], out: &mut Vec<u8>) -> usize {
    let start = out.len();
    let ok = match mode {
        Base64Mode::Rfc4648 => b64_quanta(input, out, true),
        Base64Mode::Rfc2045 => b64_quanta(input, out, false),
        Base64Mode::Strict => {
            if let Ok(v) = base64::engine::general_purpose::STANDARD.decode(input) {
                out.extend_from_slice(&v);
            }
            true
        }
    };
    if !ok {
        out.truncate(start);
    }
    out.len() - start
}

/// The base64 alphabet's value of `c`.
fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Suricata's `decode_rfc4648` (`stop_at_invalid`) and `decode_rfc2045` (skips other bytes):
/// quanta of four characters (`=` counts), a short last one padded; false when a quantum
/// is malformed (`=` in its first two places, or a character after a padding `=` in the
/// third), which makes Suricata drop the whole result.
fn b64_quanta(input: &[u8], out: &mut Vec<u8>, stop_at_invalid: bool) -> bool {
    let mut q = [0u8; 4];
    let mut n = 0;
    let mut it = input.iter().copied().peekable();
    loop {
        let mut stop = false;
        while n < 4 {
            match it.next() {
                Some(c) if b64_value(c).is_some() || c == b'=' => {
                    // In bounds: n < 4 (loop condition).
                    q[n] = c;
                    n += 1;
                }
                Some(_) if !stop_at_invalid => {}
                _ => {
                    if n == 0 {
                        return true;
                    }
                    while n < 4 {
                        // In bounds: n < 4 (loop condition).
                        q[n] = b'=';
                        n += 1;
                    }
                    stop = true;
                }
            }
        }
        let (Some(a), Some(b)) = (b64_value(q[0]), b64_value(q[1])) else { return false };
        if q[2] == b'=' {
            out.push(a << 2 | b >> 4);
        } else {
            let Some(c) = b64_value(q[2]) else { return false };
            if q[3] == b'=' {
                out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2]);
            } else {
                let Some(d) = b64_value(q[3]) else { return false };
                out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2, c << 6 | d]);
            }
        }
        n = 0;
        if stop || it.peek().is_none() {
            return true;
        }
    }
}

/// Applies a transform list to `input`; the result is in `a` (`b` is scratch).
pub(crate) fn apply<'a>(xs: &[Xform], input: &'a [u8], a: &'a mut Vec<u8>, b: &mut Vec<u8>) -> &'a [u8] {
    if xs.is_empty() {
        return input;
    }
    a.clear();
    a.extend_from_slice(input);
    for x in xs {
        apply_one(x, a, b);
        std::mem::swap(a, b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ts: &[Transform], input: &[u8]) -> Vec<u8> {
        let xs = compile(ts).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        apply(&xs, input, &mut a, &mut b).to_vec()
    }

    #[test]
    fn transforms_as_suricata() {
        assert_eq!(run(&[Transform::DotPrefix], b"evil.com"), b".evil.com");
        assert_eq!(run(&[Transform::Domain], b"www.bbc.co.uk"), b"bbc.co.uk");
        assert_eq!(run(&[Transform::Tld], b"www.bbc.co.uk"), b"co.uk");
        assert_eq!(run(&[Transform::Domain], b"docs.suricata.io"), b"suricata.io");
        assert_eq!(run(&[Transform::Tld], b"co.uk"), b"");
        assert_eq!(run(&[Transform::StripWhitespace], b" a b\t\r\nc "), b"abc");
        assert_eq!(run(&[Transform::CompressWhitespace], b"a  b\t\tc"), b"a b\tc");
        assert_eq!(run(&[Transform::ToLowercase], b"AbC"), b"abc");
        assert_eq!(run(&[Transform::UrlDecode], b"a%41+b%zz"), b"aA b%zz");
        assert_eq!(run(&[Transform::ToMd5], b"abc").len(), 16);
        assert_eq!(run(&[Transform::ToSha256], b"abc")[..2], [0xba, 0x78]);
        assert_eq!(
            run(&[Transform::HeaderLowercase], b"Host: A\r\nUser-Agent: B\r\n"),
            b"host: A\r\nuser-agent: B\r\n"
        );
        assert_eq!(run(&[Transform::PcreXform("id=(\\d+)".into())], b"x?id=42&y"), b"42");
        let b64 = Transform::FromBase64(FromBase64::default());
        assert_eq!(run(std::slice::from_ref(&b64), b"aGVsbG8="), b"hello");
        // RFC 4648 stops at the first byte outside the alphabet; a short last quantum counts
        assert_eq!(run(std::slice::from_ref(&b64), b"aGVsbG8 d29ybGQ="), b"hello");
        assert_eq!(run(std::slice::from_ref(&b64), b"aGVsbA"), b"hell");
        // a malformed quantum drops everything: the buffer stays as it was
        assert_eq!(run(std::slice::from_ref(&b64), b"aGVs=GVs"), b"aGVs=GVs");
        let fb = |bytes, offset, mode| Transform::FromBase64(FromBase64 { bytes, offset, mode });
        assert_eq!(run(&[fb(0, 0, Base64Mode::Rfc2045)], b"aGV s\nbG8="), b"hello");
        assert_eq!(run(&[fb(4, 2, Base64Mode::Rfc4648)], b"xxaGVsbG8="), b"hel");
        // offset or bytes beyond the buffer: unchanged
        assert_eq!(run(&[fb(0, 20, Base64Mode::Rfc4648)], b"aGVsbG8="), b"aGVsbG8=");
        assert_eq!(run(&[fb(8, 0, Base64Mode::Rfc4648)], b"aGVsbG8="), b"aGVsbG8=");
        assert_eq!(run(&[fb(0, 0, Base64Mode::Strict)], b"aGVsbG8"), b"aGVsbG8");
        let x = |offset, key| Transform::Xor(XorKey { offset, key });
        assert_eq!(run(&[x(0, XorKeySource::Static(vec![1, 2]))], b"\x00\x00\x00"), b"\x01\x02\x01");
        // the key is the buffer's first byte, decoding from the second
        assert_eq!(run(&[x(1, XorKeySource::Extract { nbytes: 1, offset: 0 })], b"\x20ABC"), b"\x20abc");
        assert_eq!(run(&[x(9, XorKeySource::Static(vec![1]))], b"abc"), b"abc");
        assert_eq!(run(&[Transform::ToLowercase, Transform::DotPrefix], b"A.B"), b".a.b");
    }
}
