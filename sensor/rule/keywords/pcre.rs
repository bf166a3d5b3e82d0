//! `pcre`: a Perl-compatible regular expression on the current buffer, with Suricata's flags
//! (`detect-pcre.c` `DetectPcreParse`): the PCRE options, `R` (relative), `O` (no limits),
//! `B` (raw bytes) and the letters that put the expression in an HTTP buffer (`/U` ...), and
//! captures into variables.

use super::{suricata_doc, Arg, Keyword, Kind};
use crate::rule::ast::{Buffer, PayloadMatch, Pcre};
use crate::rule::parse::{bad, quoted_value, shorten, Builder, Env, PResult};

/// `pcre`.
pub(crate) const ROWS: &[Keyword] = &[Keyword::rule(
    "pcre",
    Kind::Payload,
    Arg::Required,
    pcre,
    "a Perl-compatible regular expression on the current buffer (/expr/flags, ! to negate)",
    suricata_doc!("payload-keywords.html#pcre-perl-compatible-regular-expressions"),
)];

/// pcre buffer flags and their buffers (Suricata's `DetectPcreParse`).
const PCRE_BUFFERS: &[(char, &str)] = &[
    ('U', "http.uri"),
    ('I', "http.uri.raw"),
    ('P', "http.request_body"),
    ('Q', "file.data"),
    ('H', "http.header"),
    ('D', "http.header.raw"),
    ('M', "http.method"),
    ('C', "http.cookie"),
    ('S', "http.stat_code"),
    ('Y', "http.stat_msg"),
    ('V', "http.user_agent"),
    ('W', "http.host"),
    ('Z', "http.host.raw"),
];

fn pcre(rule: &mut Builder, env: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let (p, buffer) = parse_pcre(kw, v.unwrap_or(""))?;
    let li = match (rule.cur, buffer) {
        (Some(li), Some(b)) => {
            // Suricata inspects http.response_body in the file_data list.
            let same = |n: &str| n == b || (b == "file.data" && n == "http.response_body");
            if !matches!(rule.lists.get(li).map(|l| &l.buffer), Some(Buffer::Sticky(n)) if same(n)) {
                return Err(bad(
                    kw,
                    format!("pcre modifier for {b} seen with another sticky buffer set (reset it with pkt_data)"),
                ));
            }
            li
        }
        (Some(li), None) => li,
        (None, Some(b)) => rule.buffer_list(env.keywords, kw, b)?,
        (None, None) => rule.payload_list(),
    };
    if p.relative && rule.cur.is_none() {
        let prev = rule.lists.get(li).is_some_and(|l| {
            l.items.iter().any(|(_, m)| matches!(m, PayloadMatch::Content(_) | PayloadMatch::Pcre(_)))
        });
        if !prev {
            return Err(bad(kw, "pcre with /R (relative) needs a preceding match in the same buffer"));
        }
    }
    rule.push(li, PayloadMatch::Pcre(p));
    Ok(())
}

/// The expression, its flags and captures, compiled once to check it; with the buffer its
/// flags name, if any.
fn parse_pcre(kw: &str, v: &str) -> PResult<(Pcre, Option<&'static str>)> {
    let (mut negated, mut s) = quoted_value(kw, v, true, false)?;
    s = s.trim_start();
    if let Some(r) = s.strip_prefix('!') {
        negated = true;
        s = r;
    }
    // Captures into variables follow the flags: `/re/flags, flow:name, pkt:name`. As in
    // Suricata, the expression ends before the first `flow:`, `pkt:` or `alert:`.
    let mut capture_specs: Vec<String> = Vec::new();
    let cut = ["flow:", "pkt:", "alert:"].iter().filter_map(|t| s.find(t)).min();
    if let Some(cut) = cut {
        for spec in s.get(cut..).unwrap_or("").split(',').map(str::trim) {
            match spec.split_once(':') {
                Some((t @ ("flow" | "pkt" | "alert"), n)) if !n.trim().is_empty() => {
                    capture_specs.push(format!("{t}_{}", n.trim()));
                }
                _ => return Err(bad(kw, format!("invalid capture '{}'", shorten(spec)))),
            }
        }
        s = s.get(..cut).unwrap_or("").trim_end();
        s = s.strip_suffix(',').unwrap_or(s).trim_end();
    }
    let Some(body) = s.strip_prefix('/') else {
        return Err(bad(kw, "the expression must be written /expr/flags"));
    };
    let Some(end) = body.rfind('/') else {
        return Err(bad(kw, "missing the closing '/' of the expression"));
    };
    let expr = body.get(..end).unwrap_or("");
    let flags = body.get(end + 1..).unwrap_or("").trim_end();
    let mut p = Pcre {
        expr: expr.to_string(),
        negated,
        caseless: false,
        dotall: false,
        multiline: false,
        extended: false,
        anchored: false,
        dollar_endonly: false,
        ungreedy: false,
        relative: false,
        no_limit: false,
        captures: Vec::new(),
    };
    let buffer = pcre_flags(kw, flags, &mut p)?;
    if buffer == Some("http.host") && !p.caseless && pcre_has_upper(expr) {
        return Err(bad(kw, "pcre /W has an uppercase character; the host buffer is lowercase"));
    }
    let re = pcre2::bytes::RegexBuilder::new()
        .caseless(p.caseless)
        .dotall(p.dotall)
        .multi_line(p.multiline)
        .extended(p.extended)
        .build(expr)
        .map_err(|e| bad(kw, format!("invalid regular expression: {e}")))?;
    // As Suricata's DetectPcreParseCapture: the names after the expression first, then the
    // named groups; the n-th of them takes capture group n.
    if capture_specs.len() > re.captures_len().saturating_sub(1) {
        return Err(bad(kw, "more variable names than capturing groups"));
    }
    p.captures = capture_specs;
    p.captures.extend(
        re.capture_names()
            .iter()
            .flatten()
            .filter(|n| n.starts_with("pkt_") || n.starts_with("flow_") || n.starts_with("alert_"))
            .cloned(),
    );
    Ok((p, buffer))
}

/// The flags after the expression, set on `p`; the buffer a flag names, if any.
fn pcre_flags(kw: &str, flags: &str, p: &mut Pcre) -> PResult<Option<&'static str>> {
    let mut buffer: Option<&'static str> = None;
    let mut rawbytes = false;
    for f in flags.chars() {
        match f {
            'i' => p.caseless = true,
            's' => p.dotall = true,
            'm' => p.multiline = true,
            'x' => p.extended = true,
            'A' => p.anchored = true,
            'E' => p.dollar_endonly = true,
            'G' => p.ungreedy = true,
            'R' => p.relative = true,
            'O' => p.no_limit = true,
            'B' => {
                if buffer.is_some() {
                    return Err(bad(kw, "regex modifier 'B' inconsistent with the chosen buffer"));
                }
                rawbytes = true;
            }
            _ => match PCRE_BUFFERS.iter().find(|(c, _)| *c == f) {
                Some((_, b)) => {
                    if rawbytes {
                        return Err(bad(kw, format!("regex modifier '{f}' inconsistent with 'B'")));
                    }
                    if buffer.is_some() {
                        return Err(bad(kw, "only one pcre modifier to specify a buffer is allowed"));
                    }
                    buffer = Some(b);
                }
                None => return Err(bad(kw, format!("unknown regex modifier '{}'", f.escape_default()))),
            },
        }
    }
    Ok(buffer)
}

/// Suricata's `DetectPcreHasUpperCase`: an uppercase character outside escapes.
fn pcre_has_upper(re: &str) -> bool {
    let (mut meta, mut meta_hex, mut hex_cnt) = (false, false, 0);
    for c in re.chars() {
        if meta_hex {
            hex_cnt += 1;
            if hex_cnt == 2 {
                meta_hex = false;
                hex_cnt = 0;
            }
        } else if meta {
            if c == 'x' {
                meta_hex = true;
            } else {
                meta = false;
            }
        } else if c == '\\' {
            meta = true;
        } else if c.is_ascii_uppercase() {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::rule::ast::*;
    use crate::rule::parse::testing::*;

    #[test]
    fn pcre() {
        let r = ok(r#"content:"a"; pcre:!"/b[0-9]+\/c/ismxAEGRO";"#);
        let PayloadMatch::Pcre(pc) = &list(&r, "payload").matches[1] else { panic!() };
        assert_eq!(pc.expr, r"b[0-9]+\/c");
        assert!(pc.negated && pc.caseless && pc.dotall && pc.multiline && pc.extended);
        assert!(pc.anchored && pc.dollar_endonly && pc.ungreedy && pc.relative && pc.no_limit);
        // Buffer letters put the pcre in that buffer's list.
        for (f, b) in [
            ("U", "http.uri"),
            ("I", "http.uri.raw"),
            ("P", "http.request_body"),
            ("Q", "file.data"),
            ("H", "http.header"),
            ("D", "http.header.raw"),
            ("M", "http.method"),
            ("C", "http.cookie"),
            ("S", "http.stat_code"),
            ("Y", "http.stat_msg"),
            ("V", "http.user_agent"),
            ("W", "http.host"),
            ("Z", "http.host.raw"),
        ] {
            let r = ok(&format!(r#"pcre:"/a/{f}";"#));
            assert!(matches!(list(&r, b).matches[0], PayloadMatch::Pcre(_)), "{f}");
        }
        // Same buffer as the sticky one: fine; another: error.
        assert!(opts(r#"http.uri; content:"a"; pcre:"/b/UR";"#).is_ok());
        bad_value(r#"http.host; content:"a"; pcre:"/b/U";"#, "pcre");
        assert!(opts(r#"http.response_body; content:"a"; pcre:"/b/Q";"#).is_ok());
        bad_value(r#"pcre:"/a/UH";"#, "pcre");
        bad_value(r#"pcre:"/a/BU";"#, "pcre");
        bad_value(r#"pcre:"/a/q";"#, "pcre");
        bad_value(r#"pcre:"/a(/";"#, "pcre");
        bad_value(r#"pcre:"/[a/";"#, "pcre");
        bad_value(r#"pcre:"a/b";"#, "pcre");
        bad_value(r#"pcre:"/a/R";"#, "pcre");
        bad_value(r#"pcre:"/Ab/W";"#, "pcre");
        assert!(opts(r#"http.uri; pcre:"/a/R";"#).is_ok());
        // Captures.
        let r = ok(r#"pcre:"/(?P<flow_x>a)(b)/,pkt:y";"#);
        let PayloadMatch::Pcre(pc) = &list(&r, "payload").matches[0] else { panic!() };
        assert_eq!(pc.captures, vec!["pkt_y".to_string(), "flow_x".to_string()]);
        bad_value(r#"pcre:"/(a)/,pkt:y,flow:z";"#, "pcre");
    }
}
