//! `content` (and the legacy `uricontent`) and the content modifiers that follow it: `nocase`,
//! `depth`, `offset`, `distance`, `within`, `startswith`, `endswith`, `rawbytes`,
//! `fast_pattern`, with Suricata's checks of how they combine (`detect-content.c`,
//! `detect-depth.c`, `detect-distance.c`, `detect-within.c`, `detect-fast-pattern.c`).

use super::{suricata_doc, Arg, Keyword, Kind};
use crate::rule::ast::{Content, FastPattern, Num, PayloadMatch};
use crate::rule::parse::numbers::{hex_val, parse_i32, parse_u16};
use crate::rule::parse::{bad, quoted_value, shorten, unquote, Builder, Env, PResult, Place};

use Arg::{None as N, Optional as O, Required as R};
use Kind::{Modifier, Payload};

/// Longest content pattern (Suricata keeps the length in 16 bits).
const MAX_CONTENT: usize = 65535;

/// `content`, `uricontent` and the content modifiers.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule(
        "content",
        Payload,
        R,
        content,
        "bytes to find in the current buffer: text, |hex| and \\-escapes, ! to negate",
        suricata_doc!("payload-keywords.html#content"),
    ),
    Keyword::rule(
        "uricontent",
        Payload,
        R,
        uricontent,
        "legacy: a content in the HTTP request URI (content followed by http_uri)",
        suricata_doc!("http-keywords.html#http-uri"),
    ),
    Keyword::rule(
        "nocase",
        Modifier,
        N,
        nocase,
        "the previous content matches regardless of case",
        suricata_doc!("payload-keywords.html#nocase"),
    ),
    Keyword::rule(
        "depth",
        Modifier,
        R,
        depth,
        "the previous content must end within this many bytes of the buffer's start",
        suricata_doc!("payload-keywords.html#depth"),
    ),
    Keyword::rule(
        "offset",
        Modifier,
        R,
        offset,
        "the previous content is searched from this byte of the buffer on",
        suricata_doc!("payload-keywords.html#offset"),
    ),
    Keyword::rule(
        "distance",
        Modifier,
        R,
        distance,
        "the previous content starts at least this many bytes after the previous match",
        suricata_doc!("payload-keywords.html#distance"),
    ),
    Keyword::rule(
        "within",
        Modifier,
        R,
        within,
        "the previous content ends within this many bytes of the previous match",
        suricata_doc!("payload-keywords.html#within"),
    ),
    Keyword::rule(
        "startswith",
        Modifier,
        N,
        startswith,
        "the previous content is at the start of the buffer",
        suricata_doc!("payload-keywords.html#startswith"),
    ),
    Keyword::rule(
        "endswith",
        Modifier,
        N,
        endswith,
        "the previous content is at the end of the buffer",
        suricata_doc!("payload-keywords.html#endswith"),
    ),
    Keyword::rule(
        "rawbytes",
        Modifier,
        N,
        rawbytes,
        "accepted for Snort compatibility, no effect",
        suricata_doc!("payload-keywords.html#rawbytes"),
    ),
    Keyword::rule(
        "fast_pattern",
        Modifier,
        O,
        fast_pattern,
        "the previous content (or part of it) is the rule's prefilter pattern",
        suricata_doc!("prefilter-keywords.html#fast-pattern"),
    ),
];

fn content(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    b.content(kw, v.unwrap_or(""))
}

fn uricontent(b: &mut Builder, env: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    b.content(kw, v.unwrap_or(""))?;
    b.legacy(kw, "http.uri", env.keywords)
}

impl Builder {
    /// A new content in the current list.
    fn content(&mut self, kw: &str, v: &str) -> PResult<()> {
        let (negated, inner) = quoted_value(kw, v, true, true)?;
        let pattern = parse_content(kw, inner)?;
        let c = Content { negated, ..Content::new(pattern) };
        let li = self.target_list(Place::Current);
        self.push(li, PayloadMatch::Content(c));
        Ok(())
    }

    /// The content a modifier applies to.
    fn modified(&mut self, kw: &str) -> PResult<&mut Content> {
        let at = self.modifier_target(kw)?;
        self.content_at(at).ok_or_else(|| bad(kw, "needs a preceding content"))
    }
}

fn nocase(b: &mut Builder, _: &Env<'_>, kw: &'static str, _: Option<&str>) -> PResult<()> {
    let c = b.modified(kw)?;
    if c.nocase {
        return Err(bad(kw, "can't use multiple nocase modifiers with the same content"));
    }
    c.nocase = true;
    Ok(())
}

fn rawbytes(b: &mut Builder, _: &Env<'_>, kw: &'static str, _: Option<&str>) -> PResult<()> {
    let in_sticky = b.cur.is_some();
    let c = b.modified(kw)?;
    if in_sticky {
        return Err(bad(kw, "cannot be used with a sticky buffer"));
    }
    c.rawbytes = true;
    Ok(())
}

fn endswith(b: &mut Builder, _: &Env<'_>, kw: &'static str, _: Option<&str>) -> PResult<()> {
    let c = b.modified(kw)?;
    if c.endswith {
        return Err(bad(kw, "can't use multiple endswith for the same content"));
    }
    c.endswith = true;
    Ok(())
}

fn startswith(b: &mut Builder, _: &Env<'_>, kw: &'static str, _: Option<&str>) -> PResult<()> {
    let c = b.modified(kw)?;
    if c.startswith || c.depth.is_some() {
        return Err(bad(kw, "can't use multiple depth/startswith settings for the same content"));
    }
    if c.is_relative() {
        return Err(bad(kw, "can't be mixed with within/distance"));
    }
    if c.offset.is_some() {
        return Err(bad(kw, "can't be mixed with offset"));
    }
    let fp = c.fast_pattern;
    if (c.negated && fp != FastPattern::No) || fp == FastPattern::Only {
        return Err(bad(kw, "can't be used with this fast_pattern"));
    }
    c.startswith = true;
    Ok(())
}

/// The four position modifiers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    Depth,
    Offset,
    Distance,
    Within,
}

fn depth(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    position(b, kw, v, Position::Depth)
}

fn offset(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    position(b, kw, v, Position::Offset)
}

fn distance(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    position(b, kw, v, Position::Distance)
}

fn within(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    position(b, kw, v, Position::Within)
}

/// `depth`, `offset` (absolute: unsigned) and `distance`, `within` (relative: signed); a
/// value may name a byte_extract/byte_math variable.
fn position(b: &mut Builder, kw: &'static str, value: Option<&str>, pos: Position) -> PResult<()> {
    let at = b.modifier_target(kw)?;
    let is_abs = matches!(pos, Position::Depth | Position::Offset);
    // Literal values need the content; variables are looked up first.
    let v = value.map(unquote).unwrap_or("");
    let n = b.num_or_var(kw, v, |s| if is_abs { parse_u16(s).map(i64::from) } else { parse_i32(s).map(i64::from) })?;
    let prev_fp_only = matches!(
        b.prev_match(at),
        Some(PayloadMatch::Content(p)) if p.fast_pattern == FastPattern::Only
    );
    let Some(c) = b.content_at(at) else {
        return Err(bad(kw, "needs a preceding content"));
    };
    let len = c.pattern.len() as i64;
    let absolute = c.depth.is_some() || c.offset.is_some() || c.startswith;
    let relative = c.is_relative();
    if (is_abs && relative) || (!is_abs && absolute) {
        return Err(bad(
            kw,
            "can't mix a relative keyword (within/distance) with an absolute one (depth/offset) on the same content",
        ));
    }
    if c.negated && c.fast_pattern != FastPattern::No {
        return Err(bad(kw, "can't use a negated content with fast_pattern and position modifiers"));
    }
    if c.fast_pattern == FastPattern::Only {
        return Err(bad(kw, "can't use position modifiers with fast_pattern:only"));
    }
    match pos {
        Position::Depth => {
            if c.depth.is_some() || c.startswith {
                return Err(bad(kw, "can't use multiple depths (or depth with startswith) for the same content"));
            }
            if let Num::Lit(d) = n {
                if d < len {
                    return Err(bad(kw, format!("depth {d} is smaller than the content length {len}")));
                }
            }
            c.depth = Some(n);
        }
        Position::Offset => {
            if c.offset.is_some() {
                return Err(bad(kw, "can't use multiple offsets for the same content"));
            }
            if c.startswith {
                return Err(bad(kw, "can't use offset with startswith"));
            }
            c.offset = Some(n);
        }
        Position::Distance => {
            if c.distance.is_some() {
                return Err(bad(kw, "can't use multiple distances for the same content"));
            }
            c.distance = Some(n);
        }
        Position::Within => {
            if c.within.is_some() {
                return Err(bad(kw, "can't use multiple withins for the same content"));
            }
            if let Num::Lit(w) = n {
                if w < len {
                    return Err(bad(kw, format!("within {w} is smaller than the content length {len}")));
                }
            }
            c.within = Some(n);
        }
    }
    if !is_abs && prev_fp_only {
        return Err(bad(kw, "the previous content has fast_pattern:only; no relative keyword can follow it"));
    }
    Ok(())
}

/// `fast_pattern`, `fast_pattern:only`, `fast_pattern:<offset>,<length>`; one per rule.
fn fast_pattern(b: &mut Builder, _: &Env<'_>, kw: &'static str, value: Option<&str>) -> PResult<()> {
    let at = b.modifier_target(kw)?;
    let any_fast_pattern = b.lists.iter().any(|l| {
        l.items.iter().any(|(_, m)| matches!(m, PayloadMatch::Content(c) if c.fast_pattern != FastPattern::No))
    });
    let Some(c) = b.content_at(at) else {
        return Err(bad(kw, "needs a preceding content"));
    };
    let len = c.pattern.len() as i64;
    let absolute = c.depth.is_some() || c.offset.is_some() || c.startswith;
    let relative = c.is_relative();
    if c.fast_pattern != FastPattern::No {
        return Err(bad(kw, "can't use multiple fast_pattern options for the same content"));
    }
    if c.negated && (absolute || relative) {
        return Err(bad(kw, "can't be used with a negated content with position modifiers"));
    }
    let arg = value.map(unquote).map(str::trim).unwrap_or("");
    let new = if arg.is_empty() {
        FastPattern::Yes
    } else if arg.eq_ignore_ascii_case("only") {
        if c.negated || absolute || relative {
            return Err(bad(kw, "fast_pattern:only can't be used with a negated content or position modifiers"));
        }
        FastPattern::Only
    } else {
        let (o, l) = arg.split_once(',').ok_or_else(|| bad(kw, format!("invalid argument '{}'", shorten(arg))))?;
        let (o, l) = match (parse_u16(o), parse_u16(l)) {
            (Some(o), Some(l)) => (o, l),
            _ => return Err(bad(kw, format!("invalid offset,length '{}'", shorten(arg)))),
        };
        if u32::from(o) + u32::from(l) > len as u32 {
            return Err(bad(kw, format!("offset {o} + length {l} exceeds the content length {len}")));
        }
        FastPattern::Chop(o, l)
    };
    if any_fast_pattern {
        return Err(bad(kw, "fast_pattern can be used on only one content in a rule"));
    }
    c.fast_pattern = new;
    Ok(())
}

/// Decodes a content string: text with `|..|` hex and `\` escapes of `"`, `;`, `:` and `\`
/// (Suricata's `DetectContentDataParse`).
pub(crate) fn parse_content(kw: &str, s: &str) -> PResult<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut hex = false;
    let mut escape = false;
    let mut nib: Option<u8> = None;
    let mut pipes = 0usize;
    for &c in s.as_bytes() {
        if c == b'|' && !escape {
            pipes += 1;
            if hex {
                if nib.is_some() {
                    return Err(bad(kw, "odd number of hex digits"));
                }
                hex = false;
            } else {
                hex = true;
            }
            continue;
        }
        if hex {
            match c {
                b' ' | b',' => {}
                _ => {
                    let Some(d) = hex_val(c) else {
                        return Err(bad(kw, format!("invalid hex character '{}'", char::from(c).escape_default())));
                    };
                    match nib.take() {
                        Some(hi) => out.push(hi << 4 | d),
                        None => nib = Some(d),
                    }
                }
            }
        } else if escape {
            match c {
                b'"' | b';' | b':' | b'\\' => out.push(c),
                _ => {
                    return Err(bad(
                        kw,
                        format!(
                            "'\\{}' is not a valid escape (only \\\" \\; \\: \\\\)",
                            char::from(c).escape_default()
                        ),
                    ))
                }
            }
            escape = false;
        } else if c == b'\\' {
            escape = true;
        } else if c == b'"' {
            return Err(bad(kw, "unescaped double quote inside the content"));
        } else {
            out.push(c);
        }
    }
    if escape {
        return Err(bad(kw, "trailing backslash"));
    }
    if hex || pipes % 2 != 0 {
        return Err(bad(kw, "unbalanced '|' in hex"));
    }
    if out.is_empty() {
        return Err(bad(kw, "empty content"));
    }
    if out.len() > MAX_CONTENT {
        return Err(bad(kw, format!("content longer than {MAX_CONTENT} bytes")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::rule::ast::*;
    use crate::rule::parse::testing::*;
    use crate::rule::ErrorKind;

    #[test]
    fn content_hex() {
        let r = ok(r#"content:"GET |20 2f|x|0D0a|";"#);
        assert_eq!(first_content(&r, "payload").pattern, b"GET  /x\r\n".to_vec());
        let r = ok(r#"content:!"|00|";"#);
        assert!(first_content(&r, "payload").negated);
        let e = err(r#"content:"|0|";"#);
        assert_eq!(e.kind, ErrorKind::BadValue("content".into()));
        assert!(e.message.contains("odd number of hex digits"), "{e}");
        let e = err(r#"content:"|0g|";"#);
        assert!(e.message.contains("invalid hex character"), "{e}");
        let e = err(r#"content:"ab|41";"#);
        assert_eq!(e.message, "content: unbalanced '|' in hex");
        bad_value(r#"content:"\x";"#, "content");
        bad_value("content:abc;", "content");
        bad_value(r#"content:"";"#, "content");
        bad_value(r#"content:"a"b";"#, "content");
    }

    #[test]
    fn content_modifiers() {
        let r = ok(
            r#"content:"abc"; nocase; offset:2; depth:5; content:"de"; distance:-1; within:4; content:"f"; fast_pattern; startswith; content:"g"; endswith; rawbytes;"#,
        );
        let c = contents(list(&r, "payload"));
        assert!(c[0].nocase && c[0].offset == Some(Num::Lit(2)) && c[0].depth == Some(Num::Lit(5)));
        assert!(c[1].distance == Some(Num::Lit(-1)) && c[1].within == Some(Num::Lit(4)) && c[1].is_relative());
        assert!(c[2].startswith && c[2].fast_pattern == FastPattern::Yes);
        assert!(c[3].endswith && c[3].rawbytes);
        assert_eq!(
            first_content(&ok(r#"content:"abcd"; fast_pattern:only;"#), "payload").fast_pattern,
            FastPattern::Only
        );
        assert_eq!(
            first_content(&ok(r#"content:"abcd"; fast_pattern:1,2;"#), "payload").fast_pattern,
            FastPattern::Chop(1, 2)
        );
        bad_value(r#"content:"abcd"; fast_pattern:3,2;"#, "fast_pattern");
        bad_value(r#"content:"ab"; fast_pattern; content:"cd"; fast_pattern;"#, "fast_pattern");
        bad_value(r#"content:"abcd"; depth:3;"#, "depth");
        bad_value(r#"content:"abcd"; within:3;"#, "within");
        bad_value(r#"content:"abcd"; depth:4; depth:5;"#, "depth");
        bad_value(r#"content:"abcd"; depth:5; distance:1;"#, "distance");
        bad_value(r#"content:"abcd"; within:5; offset:1;"#, "offset");
        bad_value(r#"content:"abcd"; startswith; offset:1;"#, "offset");
        bad_value(r#"content:"a"; nocase; nocase;"#, "nocase");
        bad_value(r#"content:"a"; depth:x;"#, "depth");
        bad_value(r#"content:"a"; depth:70000;"#, "depth");
        bad_value("nocase;", "nocase");
        bad_value("depth:4;", "depth");
        bad_value(r#"content:"ab"; fast_pattern:only; content:"c"; distance:0;"#, "distance");
        // distance/within without a previous match: relative to the buffer start.
        assert!(first_content(&ok(r#"content:"a"; distance:0;"#), "payload").is_relative());
        // Values from byte_extract variables.
        let r = ok(r#"content:"a"; byte_extract:2,0,len,relative; content:"b"; within:len; distance:len;"#);
        assert_eq!(r.vars, 1);
        assert_eq!(contents(list(&r, "payload"))[1].within, Some(Num::Var(0)));
        bad_value(r#"content:"a"; content:"b"; within:nope;"#, "within");
    }
}
