//! Keywords on a buffer's data beyond its content: `base64_decode` and `base64_data`
//! (Suricata's `detect-base64-decode.c`, `detect-base64-data.c`) and `entropy`
//! (`rust/src/detect/entropy.rs`).
//!
//! `base64_decode` is a payload keyword of the current buffer (outside a sticky buffer, of
//! the previous match's); `base64_data` makes the decoded bytes the current buffer, so the
//! keywords after it inspect them: one `base64_data` list per rule, which every
//! `base64_decode` of the rule hands its bytes to.

use super::{suricata_doc, Arg, Keyword, Kind};
use crate::rule::ast::{Base64Decode, Buffer, Entropy, FloatCmp, FloatOp, PayloadMatch};
use crate::rule::parse::{bad, shorten, unquote, Builder, Env, PResult, Place};

use Arg::{None as N, Optional as O, Required as R};

/// Suricata's `BASE64_DECODE_MAX`: bytes decoded when `bytes` is not given.
const BASE64_DECODE_MAX: u16 = 65535;

/// `base64_decode`, `base64_data`, `entropy`.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule(
        "base64_decode",
        Kind::Payload,
        O,
        base64_decode,
        "decodes base64 data of the buffer ([bytes N][, offset N][, relative]) for base64_data",
        suricata_doc!("base64-keywords.html#base64-decode"),
    ),
    Keyword::rule(
        "base64_data",
        Kind::Sticky,
        N,
        base64_data,
        "sticky buffer: the data base64_decode decoded",
        suricata_doc!("base64-keywords.html#base64-data"),
    ),
    Keyword::rule(
        "entropy",
        Kind::Payload,
        R,
        entropy,
        "the Shannon entropy of the buffer ([bytes N,][offset N,]value <cmp>), in bits per byte",
        suricata_doc!("payload-keywords.html#entropy"),
    ),
];

fn base64_decode(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let d = parse_base64_decode(unquote(v.unwrap_or(""))).map_err(|why| bad(kw, why))?;
    let li = b.target_list(Place::PrevMatch);
    b.push(li, PayloadMatch::Base64Decode(d));
    Ok(())
}

/// `[bytes N][,][offset N][,][relative]` in that order (Suricata's `decode_pattern`).
fn parse_base64_decode(s: &str) -> Result<Base64Decode, String> {
    let mut d = Base64Decode { bytes: 0, offset: 0, relative: false };
    let words: Vec<&str> = s.split([',', ' ', '\t']).filter(|w| !w.is_empty()).collect();
    let mut i = 0;
    if words.get(i) == Some(&"bytes") {
        let n = words.get(i + 1).copied().unwrap_or("");
        d.bytes = n.parse().ok().filter(|&n| n > 0).ok_or_else(|| format!("bad value for bytes: '{}'", shorten(n)))?;
        i += 2;
    }
    if words.get(i) == Some(&"offset") {
        let n = words.get(i + 1).copied().unwrap_or("");
        d.offset = n.parse().map_err(|_| format!("bad value for offset: '{}'", shorten(n)))?;
        i += 2;
    }
    match words.get(i) {
        Some(&"relative") => {
            d.relative = true;
            i += 1;
        }
        Some(w) => return Err(format!("invalid argument '{}'", shorten(w))),
        None => {}
    }
    if let Some(w) = words.get(i) {
        return Err(format!("invalid argument '{}'", shorten(w)));
    }
    if d.bytes == 0 {
        d.bytes = BASE64_DECODE_MAX;
    }
    Ok(d)
}

fn base64_data(b: &mut Builder, _: &Env<'_>, kw: &'static str, _: Option<&str>) -> PResult<()> {
    let decodes = b.lists.iter().any(|l| l.items.iter().any(|(_, m)| matches!(m, PayloadMatch::Base64Decode(_))));
    if !decodes {
        return Err(bad(kw, "seen without a preceding base64_decode"));
    }
    b.select(kw, Buffer::Base64Data, false)
}

fn entropy(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let e = parse_entropy(unquote(v.unwrap_or(""))).map_err(|why| bad(kw, why))?;
    let li = b.target_list(Place::Current);
    b.push(li, PayloadMatch::Entropy(e));
    Ok(())
}

/// `[bytes N,][offset N,]value <float comparison>`, in any order, each once.
fn parse_entropy(s: &str) -> Result<Entropy, String> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.is_empty() || parts.len() > 4 {
        return Err("one to four options (bytes, offset, value)".into());
    }
    let (mut bytes, mut offset, mut cmp) = (None, None, None);
    for p in parts {
        let (name, val) = p.split_once(char::is_whitespace).map_or((p, ""), |(n, v)| (n, v.trim()));
        let dup = || format!("{name} given twice");
        match name {
            "bytes" => {
                let n = val.parse::<i32>().map_err(|_| format!("invalid bytes value '{}'", shorten(val)))?;
                if bytes.replace(n).is_some() {
                    return Err(dup());
                }
            }
            "offset" => {
                let n = val
                    .parse::<i32>()
                    .ok()
                    .filter(|n| (-65535..=65535).contains(n))
                    .ok_or_else(|| format!("invalid offset value '{}' (-65535 to 65535)", shorten(val)))?;
                if offset.replace(n).is_some() {
                    return Err(dup());
                }
            }
            "value" => {
                let c = parse_float_cmp(val).ok_or_else(|| format!("invalid entropy value '{}'", shorten(val)))?;
                if cmp.replace(c).is_some() {
                    return Err(dup());
                }
            }
            _ => return Err(format!("unknown option '{}'", shorten(name))),
        }
    }
    let cmp = cmp.ok_or("the value to compare with is missing")?;
    Ok(Entropy { bytes: bytes.unwrap_or(0), offset: offset.unwrap_or(0), cmp })
}

/// Suricata's `detect_parse_float`: `[=]x`, `!=x`, `<x`, `<=x`, `>x`, `>=x`, `[!]a-b`
/// (`a<>b`) with b > a.
pub(crate) fn parse_float_cmp(s: &str) -> Option<FloatCmp> {
    let s = s.trim();
    let num = |t: &str| -> Option<f64> {
        let t = t.trim();
        let ok =
            !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
        t.parse::<f64>().ok().filter(|v| ok && v.is_finite())
    };
    let make = |op, a: f64, b: f64| FloatCmp { op, a: a.to_bits(), b: b.to_bits() };
    // a range: [!]a-b or a<>b (a leading '-' belongs to a)
    let (neg, body) = match s.strip_prefix('!') {
        Some(r) if !r.starts_with('=') => (true, r.trim()),
        _ => (false, s),
    };
    let split = body.find("<>").map(|i| (i, 2)).or_else(|| body.get(1..)?.find('-').map(|i| (i + 1, 1)));
    if let Some((i, w)) = split {
        if let (Some(a), Some(b)) = (body.get(..i).and_then(num), body.get(i + w..).and_then(num)) {
            if b > a && b - a > f64::EPSILON {
                return Some(make(if neg { FloatOp::NotRange } else { FloatOp::Range }, a, b));
            }
            return None;
        }
    }
    if neg {
        return None;
    }
    let ops: [(&str, FloatOp); 6] = [
        (">=", FloatOp::Ge),
        ("<=", FloatOp::Le),
        ("!=", FloatOp::Ne),
        (">", FloatOp::Gt),
        ("<", FloatOp::Lt),
        ("=", FloatOp::Eq),
    ];
    for (p, op) in ops {
        if let Some(r) = s.strip_prefix(p) {
            return num(r).map(|a| make(op, a, 0.0));
        }
    }
    num(s).map(|a| make(FloatOp::Eq, a, 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::ast::Buffer;
    use crate::rule::parse::testing::*;

    #[test]
    fn base64_decode_and_data() {
        let r =
            ok(r#"content:"arg"; http_uri; base64_decode:bytes 17, offset 1, relative; base64_data; content:"test";"#);
        let uri = list(&r, "http.uri");
        let d = Base64Decode { bytes: 17, offset: 1, relative: true };
        assert_eq!(uri.matches[1], PayloadMatch::Base64Decode(d));
        let data = r.buffers.iter().find(|b| b.buffer == Buffer::Base64Data).map(|b| b.matches.len());
        assert_eq!(data, Some(1));
        let r = ok(r#"content:"a"; base64_decode; base64_data; content:"b";"#);
        let d = Base64Decode { bytes: 65535, offset: 0, relative: false };
        assert_eq!(list(&r, "payload").matches[1], PayloadMatch::Base64Decode(d));
        bad_value(r#"content:"a"; base64_data; content:"b";"#, "base64_data");
        bad_value(r#"content:"a"; base64_decode:bytes x;"#, "base64_decode");
        bad_value(r#"content:"a"; base64_decode:relative, bytes 1;"#, "base64_decode");
        bad_value(r#"content:"a"; base64_decode; base64_data;"#, "base64_data");
    }

    #[test]
    fn entropy_values() {
        let c = |s: &str| parse_float_cmp(s).map(|c| (c.op, f64::from_bits(c.a), f64::from_bits(c.b)));
        assert_eq!(c("> 4"), Some((FloatOp::Gt, 4.0, 0.0)));
        assert_eq!(c("4-5"), Some((FloatOp::Range, 4.0, 5.0)));
        assert_eq!(c("!4-5"), Some((FloatOp::NotRange, 4.0, 5.0)));
        assert_eq!(c("!= 4"), Some((FloatOp::Ne, 4.0, 0.0)));
        assert_eq!(c("= 4"), Some((FloatOp::Eq, 4.0, 0.0)));
        assert_eq!(c("7.25"), Some((FloatOp::Eq, 7.25, 0.0)));
        assert_eq!(c("5-4"), None);
        assert_eq!(c("x"), None);
        let r = ok("file.data; entropy: bytes 10, offset 2, value >= 4.5;");
        let PayloadMatch::Entropy(e) = list(&r, "file.data").matches[0] else { panic!("not entropy") };
        assert_eq!((e.bytes, e.offset), (10, 2));
        assert!(e.cmp.matches(4.5) && !e.cmp.matches(4.4));
        bad_value("file.data; entropy: bytes 3;", "entropy");
        bad_value("file.data; entropy: value >4, value >5;", "entropy");
    }
}
