//! Meta keywords: what the rule says about itself (`msg`, `sid`, `classtype`, ...), none of
//! which changes what it matches.

use super::{suricata_doc, Arg, Keyword, Kind};
use crate::rule::ast::Target;
use crate::rule::parse::{bad, quoted_value, shorten, unquote, Builder, Env, PResult};

use Arg::Required as R;
use Kind::Meta;

/// The meta keywords.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule("msg", Meta, R, msg, "the alert's message", suricata_doc!("meta.html#msg-message")),
    Keyword::rule("sid", Meta, R, sid, "the signature id", suricata_doc!("meta.html#sid-signature-id")),
    Keyword::rule("rev", Meta, R, rev, "the signature's revision", suricata_doc!("meta.html#rev-revision")),
    Keyword::rule("gid", Meta, R, gid, "the signature's group id (default 1)", suricata_doc!("meta.html#gid-group-id")),
    Keyword::rule(
        "classtype",
        Meta,
        R,
        classtype,
        "the class of the alert (from classification.config), which sets its default priority",
        suricata_doc!("meta.html#classtype"),
    ),
    Keyword::rule(
        "priority",
        Meta,
        R,
        priority,
        "the alert's priority, overriding the classtype's",
        suricata_doc!("meta.html#priority"),
    ),
    Keyword::rule(
        "metadata",
        Meta,
        R,
        metadata,
        "key value pairs copied into the alert record",
        suricata_doc!("meta.html#metadata"),
    ),
    Keyword::rule(
        "reference",
        Meta,
        R,
        reference,
        "a reference (CVE, URL, ...) about what the rule detects",
        suricata_doc!("meta.html#reference"),
    ),
    Keyword::rule(
        "target",
        Meta,
        R,
        target,
        "which side of the alert is the target of the attack (src_ip or dest_ip)",
        suricata_doc!("meta.html#target"),
    ),
];

/// `sid` value: 1 to 4294967294.
pub(crate) fn parse_sid(v: &str) -> Result<u32, String> {
    let n: u64 = v.trim().parse().map_err(|_| format!("invalid number '{}'", shorten(v)))?;
    if n == 0 {
        return Err("sid 0 is not allowed".into());
    }
    u32::try_from(n).ok().filter(|n| *n < u32::MAX).ok_or_else(|| format!("{n} is too large"))
}

/// A decimal u32 (`rev`, `gid`).
fn parse_u32_dec(kw: &str, v: &str) -> PResult<u32> {
    unquote(v).trim().parse::<u32>().map_err(|_| bad(kw, format!("invalid number '{}'", shorten(v))))
}

fn msg(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    if b.msg.is_some() {
        return Err(bad(kw, "given twice"));
    }
    let (_, inner) = quoted_value(kw, v.unwrap_or(""), false, true)?;
    let mut out = String::with_capacity(inner.len());
    let mut esc = false;
    for c in inner.chars() {
        if !esc && c == '\\' {
            esc = true;
        } else {
            out.push(c);
            esc = false;
        }
    }
    b.msg = Some(out);
    Ok(())
}

fn sid(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    if b.sid.is_some() {
        return Err(bad(kw, "given twice"));
    }
    b.sid = Some(parse_sid(unquote(v.unwrap_or(""))).map_err(|e| bad(kw, e))?);
    Ok(())
}

fn rev(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    if b.rev.is_some() {
        return Err(bad(kw, "given twice"));
    }
    b.rev = Some(parse_u32_dec(kw, v.unwrap_or(""))?);
    Ok(())
}

fn gid(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    if b.gid.is_some() {
        return Err(bad(kw, "given twice"));
    }
    b.gid = Some(parse_u32_dec(kw, v.unwrap_or(""))?);
    Ok(())
}

fn priority(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let p = unquote(v.unwrap_or("")).trim();
    let n: u8 = p.parse().map_err(|_| bad(kw, format!("invalid priority '{}' (0 to 255)", shorten(p))))?;
    b.priority = Some(n);
    Ok(())
}

fn classtype(b: &mut Builder, env: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let name = unquote(v.unwrap_or("")).trim();
    let Some(c) = env.ctx.classes.get(name) else {
        return Err(bad(kw, format!("unknown classtype '{}'", shorten(name))));
    };
    // Two classtypes: Suricata keeps the one with the highest priority.
    let keep_old = matches!(&b.classtype, Some((_, _, p)) if *p <= c.priority);
    if !keep_old {
        b.classtype = Some((c.name.clone(), c.description.clone(), c.priority));
    }
    Ok(())
}

fn metadata(b: &mut Builder, _: &Env<'_>, _: &'static str, v: Option<&str>) -> PResult<()> {
    for item in v.unwrap_or("").split(',') {
        let item = item.trim_start_matches([' ', '\t']);
        let Some((key, val)) = item.split_once(' ') else { continue };
        let (key, val) = (key.trim(), val.trim());
        if key.is_empty() || val.is_empty() {
            continue;
        }
        match b.metadata.iter_mut().find(|(k, _)| k == key) {
            Some((_, vals)) => vals.push(val.to_string()),
            None => b.metadata.push((key.to_string(), vec![val.to_string()])),
        }
    }
    Ok(())
}

fn reference(b: &mut Builder, env: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let Some((t, val)) = unquote(v.unwrap_or("")).split_once(',') else {
        return Err(bad(kw, "expected <type>,<reference>"));
    };
    let (t, val) = (t.trim(), unquote(val.trim()));
    if t.is_empty() || val.is_empty() {
        return Err(bad(kw, "expected <type>,<reference>"));
    }
    let full = match env.ctx.references.get(&t.to_ascii_lowercase()) {
        Some(prefix) => format!("{prefix}{val}"),
        None => val.to_string(),
    };
    b.references.push((t.to_string(), full));
    Ok(())
}

fn target(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    b.target = Some(match unquote(v.unwrap_or("")).trim() {
        "src_ip" => Target::Src,
        "dest_ip" => Target::Dst,
        t => return Err(bad(kw, format!("'{}' is not src_ip or dest_ip", shorten(t)))),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::rule::ast::*;
    use crate::rule::classification::{parse_references, Classifications};
    use crate::rule::parse::testing::*;
    use crate::rule::parse::{parse_rule, ParseContext};
    use crate::rule::ErrorKind;
    use crate::rule::VarsConfig;

    #[test]
    fn meta_keywords() {
        let r = ok(
            r#"msg:"hello"; rev:3; gid:5; classtype:trojan-activity; metadata: former_category MALWARE, tag a, tag b,created_at 2020_01_01, novalue; reference:url,example.com; reference:cve,2020-1; target:dest_ip; tag:session,5,packets;"#,
        );
        assert_eq!((r.msg.as_str(), r.rev, r.gid), ("hello", 3, 5));
        assert_eq!(r.classtype.as_deref(), Some("trojan-activity"));
        assert_eq!((r.priority, r.category.as_deref()), (1, Some("A Network Trojan was detected")));
        assert_eq!(
            r.metadata,
            vec![
                ("former_category".to_string(), vec!["MALWARE".to_string()]),
                ("tag".to_string(), vec!["a".to_string(), "b".to_string()]),
                ("created_at".to_string(), vec!["2020_01_01".to_string()]),
            ]
        );
        assert_eq!(
            r.references,
            vec![("url".to_string(), "example.com".to_string()), ("cve".to_string(), "2020-1".to_string())]
        );
        assert_eq!(r.target, Some(Target::Dst));
        assert_eq!(r.ignored_keywords, vec!["tag"]);
        // An explicit priority wins over the classtype's, in any order.
        assert_eq!(ok("priority:2; classtype:trojan-activity;").priority, 2);
        assert_eq!(ok("classtype:misc-activity;").priority, 3);
        // Reference prefixes from reference.config.
        let (refs, _) = parse_references("config reference: url http://\n");
        let mut c = ParseContext::with_tables(&VarsConfig::default(), Classifications::builtin(), refs);
        let r = parse_rule("alert ip any any -> any any (reference:url,x.org; sid:9;)", keywords(), &mut c).unwrap();
        assert_eq!(r.references, vec![("url".to_string(), "http://x.org".to_string())]);
        bad_value("classtype:no-such-class;", "classtype");
        bad_value("msg:unquoted;", "msg");
        bad_value(r#"msg:"a"; msg:"b";"#, "msg");
        bad_value("priority:300;", "priority");
        bad_value("target:nowhere;", "target");
        bad_value("reference:nocomma;", "reference");
        assert_eq!(p("alert ip any any -> any any (sid:0;)").unwrap_err().kind, ErrorKind::BadValue("sid".into()));
        assert_eq!(
            p("alert ip any any -> any any (sid:1; sid:2;)").unwrap_err().kind,
            ErrorKind::BadValue("sid".into())
        );
        assert_eq!(p("alert ip any any -> any any (sid:12x;)").unwrap_err().kind, ErrorKind::BadValue("sid".into()));
        assert_eq!(
            p("alert ip any any -> any any (rev:x; sid:1;)").unwrap_err().kind,
            ErrorKind::BadValue("rev".into())
        );
        let e = p(r#"alert ip any any -> any any (msg:"x";)"#).unwrap_err();
        assert_eq!((e.kind, e.sid), (ErrorKind::MissingSid, None));
    }
}
