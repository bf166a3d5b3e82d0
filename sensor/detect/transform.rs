//! Buffer transforms (Suricata's `dotprefix`, `strip_whitespace`, `to_md5`, ...): applied
//! to a sticky buffer, in rule order, before its keywords and its prefilter see it.
//!
//! Takes: a buffer and the rule's transform list (compiled once: `pcrexform` expressions).
//! Promises: the same bytes Suricata's transform of that name produces; output bounded by
//! the input size (hashes: their digest size). Never: panics or allocates beyond the output
//! buffer it is given.

use base64::Engine as _;
use md5::Digest as _;

use crate::rule::ast::Transform;

/// A compiled transform.
#[derive(Debug)]
pub enum Xform {
    /// Plain transform.
    Plain(Transform),
    /// `pcrexform`: the buffer becomes the first capture of the expression.
    Pcre(pcre2::bytes::Regex),
}

/// Compiles a rule's transform list.
pub fn compile(ts: &[Transform]) -> Result<Vec<Xform>, String> {
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
            Transform::Xor(key) => {
                if key.is_empty() {
                    out.extend_from_slice(input);
                } else {
                    out.extend(input.iter().zip(key.iter().cycle()).map(|(a, k)| a ^ k));
                }
            }
            Transform::FromBase64(_) => {
                let clean: Vec<u8> = input.iter().copied().filter(|b| !is_space(*b)).collect();
                let eng = base64::engine::general_purpose::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::general_purpose::GeneralPurposeConfig::new()
                        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                        .with_decode_allow_trailing_bits(true),
                );
                // decode the longest prefix that is whole base64 quanta
                let n = clean.len() - clean.len() % 4;
                // In bounds: n <= clean.len().
                if let Ok(v) = eng.decode(&clean[..n]) {
                    out.extend_from_slice(&v);
                }
            }
            Transform::PcreXform(_) => out.extend_from_slice(input),
        },
    }
}

/// Applies a transform list to `input`; the result is in `a` (`b` is scratch).
pub fn apply<'a>(xs: &[Xform], input: &'a [u8], a: &'a mut Vec<u8>, b: &mut Vec<u8>) -> &'a [u8] {
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
        assert_eq!(run(&[Transform::FromBase64(String::new())], b"aGVsbG8="), b"hello");
        assert_eq!(run(&[Transform::ToLowercase, Transform::DotPrefix], b"A.B"), b".a.b");
    }
}
