//! Variables kept across packets beyond flowbits: `flowint` (integers on the flow,
//! Suricata's `detect-flowint.c`), `hostbits` (bits on a host, `detect-hostbits.c`) and
//! `xbits` (bits on a host or a pair of hosts, with an expiry, `detect-xbits.c`).
//!
//! Conditions (`flowint:x,>,3`, `hostbits:isset,a`) are tested when the rule's other keywords
//! matched; changes (`flowint:x,+,1`, `xbits:set,a,track ip_src`) are made after the rule
//! matched, whether or not it alerts, as Suricata's post-match keywords are.

use super::{suricata_doc, Arg, Keyword, Kind};
use crate::rule::ast::{FlowbitCmd, FlowintOp, FlowintValue, Xbit, XbitTrack};
use crate::rule::parse::{bad, shorten, unquote, Builder, Env, PResult};

use Arg::Required as R;

/// Seconds a host bit lives (Suricata's fixed value for `hostbits`).
const HOSTBITS_EXPIRE: u32 = 300;
/// Seconds an xbit lives without `expire` (`DETECT_XBITS_EXPIRE_DEFAULT`).
const XBITS_EXPIRE: u32 = 30;

/// `flowint`, `hostbits`, `xbits`.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule(
        "flowint",
        Kind::Flow,
        R,
        flowint,
        "an integer kept on the flow: set (=), add (+), subtract (-), or compare (==, !=, <, <=, >, >=, isset, notset)",
        suricata_doc!("flow-keywords.html#flowint"),
    ),
    Keyword::rule(
        "hostbits",
        Kind::Flow,
        R,
        hostbits,
        "sets, clears or tests named bits kept on the source or destination host",
        suricata_doc!("xbits.html#hostbits"),
    ),
    Keyword::rule(
        "xbits",
        Kind::Flow,
        R,
        xbits,
        "sets, clears or tests named bits kept on a host or a pair of hosts, with an expiry",
        suricata_doc!("xbits.html"),
    ),
];

/// A variable name as Suricata's regex accepts it: a letter, then at least one of
/// `[A-Za-z0-9_./]`.
fn valid_name(n: &str) -> bool {
    n.len() >= 2
        && n.starts_with(|c: char| c.is_ascii_alphabetic())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/'))
}

fn flowint(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or("")).trim();
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let (name, op, val) = match parts.as_slice() {
        [n, o] => (*n, *o, None),
        [n, o, v] => (*n, *o, Some(*v)),
        _ => return Err(bad(kw, format!("'{}' is not <name>,<operator>[,<value>]", shorten(s)))),
    };
    if !valid_name(name) {
        return Err(bad(kw, format!("invalid variable name '{}'", shorten(name))));
    }
    let op = match op {
        "=" => FlowintOp::Set,
        "+" => FlowintOp::Add,
        "-" => FlowintOp::Sub,
        "<" => FlowintOp::Lt,
        "<=" => FlowintOp::Le,
        "==" => FlowintOp::Eq,
        "!=" => FlowintOp::Ne,
        ">=" => FlowintOp::Ge,
        ">" => FlowintOp::Gt,
        "isset" => FlowintOp::IsSet,
        "notset" | "isnotset" => FlowintOp::IsNotSet,
        _ => return Err(bad(kw, format!("unknown operator '{}'", shorten(op)))),
    };
    let needs_value = !matches!(op, FlowintOp::IsSet | FlowintOp::IsNotSet);
    let (value, other) = match (needs_value, val.filter(|v| !v.is_empty())) {
        (false, None) => (FlowintValue::None, None),
        (false, Some(_)) => return Err(bad(kw, "isset and notset take no value")),
        (true, None) => return Err(bad(kw, "needs a value")),
        (true, Some(v)) if v.starts_with(|c: char| c.is_ascii_digit()) => {
            let n = v
                .parse::<u32>()
                .ok()
                .filter(|_| v.len() <= 10)
                .ok_or_else(|| bad(kw, format!("invalid value '{}' (0 to {})", shorten(v), u32::MAX)))?;
            (FlowintValue::Lit(n), None)
        }
        (true, Some(v)) if valid_name(v) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            (FlowintValue::None, Some(v.to_string()))
        }
        (true, Some(v)) => return Err(bad(kw, format!("invalid value '{}'", shorten(v)))),
    };
    b.flowints.push((name.to_string(), op, value, other));
    Ok(())
}

/// A bits command; `noalert` sets the rule's flag and is `None`.
fn bits_cmd(kw: &str, cmd: &str) -> PResult<Option<FlowbitCmd>> {
    Ok(Some(match cmd {
        "noalert" => return Ok(None),
        "set" => FlowbitCmd::Set,
        "unset" => FlowbitCmd::Unset,
        "toggle" => FlowbitCmd::Toggle,
        "isset" => FlowbitCmd::IsSet,
        "isnotset" => FlowbitCmd::IsNotSet,
        _ => return Err(bad(kw, format!("'{}' is not a command", shorten(cmd)))),
    }))
}

/// `hostbits:<cmd>[,<name>[,<src|dst>]]`.
fn hostbits(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or("")).trim();
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() > 3 || parts.iter().skip(1).any(|p| p.is_empty() || p.contains(char::is_whitespace)) {
        return Err(bad(kw, format!("'{}' is not <command>,<name>[,<src|dst>]", shorten(s))));
    }
    let Some(cmd) = bits_cmd(kw, parts.first().copied().unwrap_or(""))? else {
        if parts.len() > 1 {
            return Err(bad(kw, "noalert takes no name"));
        }
        b.noalert = true;
        return Ok(());
    };
    let name = parts.get(1).copied().ok_or_else(|| bad(kw, "needs a name"))?;
    let track = match parts.get(2).copied() {
        None | Some("src") => XbitTrack::Src,
        Some("dst") => XbitTrack::Dst,
        Some("both") => return Err(bad(kw, "'both' is not implemented (as in Suricata)")),
        Some(d) => return Err(bad(kw, format!("'{}' is not src or dst", shorten(d)))),
    };
    let x = Xbit { cmd, var: 0, track, expire: HOSTBITS_EXPIRE, hostbits: true };
    b.xbits.push((name.to_string(), x));
    Ok(())
}

/// `xbits:<cmd>,<name>,track <ip_src|ip_dst|ip_pair>[,expire <seconds>]`.
fn xbits(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or("")).trim();
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let Some(cmd) = bits_cmd(kw, parts.first().copied().unwrap_or(""))? else {
        if parts.len() > 1 {
            return Err(bad(kw, "noalert takes no name"));
        }
        b.noalert = true;
        return Ok(());
    };
    let name = parts.get(1).copied().filter(|n| !n.is_empty()).ok_or_else(|| bad(kw, "needs a name"))?;
    if name.contains(char::is_whitespace) {
        return Err(bad(kw, "spaces are not allowed in names"));
    }
    let (mut track, mut expire) = (None, None);
    for p in parts.iter().skip(2) {
        let (k, val) = p.split_once(char::is_whitespace).map_or((*p, ""), |(k, v)| (k, v.trim()));
        match k {
            "track" if track.is_none() => {
                track = Some(match val {
                    "ip_src" => XbitTrack::Src,
                    "ip_dst" => XbitTrack::Dst,
                    "ip_pair" => XbitTrack::Pair,
                    "tx" => return Err(bad(kw, "track tx needs rule hooks, which are not supported")),
                    _ => return Err(bad(kw, format!("invalid track '{}'", shorten(val)))),
                })
            }
            "expire" if expire.is_none() => {
                let e = val
                    .parse::<u32>()
                    .ok()
                    .filter(|&e| e > 0)
                    .ok_or_else(|| bad(kw, format!("invalid expire '{}'", shorten(val))))?;
                expire = Some(e);
            }
            _ => return Err(bad(kw, format!("unexpected '{}'", shorten(p)))),
        }
    }
    let track = track.ok_or_else(|| bad(kw, "needs a track"))?;
    let x = Xbit { cmd, var: 0, track, expire: expire.unwrap_or(XBITS_EXPIRE), hostbits: false };
    b.xbits.push((name.to_string(), x));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::rule::ast::*;
    use crate::rule::parse::parse_rule;
    use crate::rule::parse::testing::*;

    #[test]
    fn flowints() {
        let mut c = ctx();
        let r = parse_rule(
            "alert tcp any any -> any any (flowint:smtp.anomaly.count,+,1; flowint:a1,>=,b2; flowint:a1,isset; flowint:a1, notset; sid:1;)",
            keywords(),
            &mut c,
        )
        .unwrap();
        assert_eq!(
            r.flowints,
            vec![
                Flowint { var: 0, op: FlowintOp::Add, value: FlowintValue::Lit(1) },
                Flowint { var: 1, op: FlowintOp::Ge, value: FlowintValue::Var(2) },
                Flowint { var: 1, op: FlowintOp::IsSet, value: FlowintValue::None },
                Flowint { var: 1, op: FlowintOp::IsNotSet, value: FlowintValue::None },
            ]
        );
        for bad in [
            "flowint:a;",
            "flowint:1a,+,1;",
            "flowint:ab,*,1;",
            "flowint:ab,+;",
            "flowint:ab,isset,1;",
            "flowint:ab,=,99999999999;",
        ] {
            bad_value(bad, "flowint");
        }
    }

    #[test]
    fn host_and_pair_bits() {
        let mut c = ctx();
        let r = parse_rule(
            "alert ip any any -> any any (hostbits:set,abc; hostbits:isset,abc,dst; xbits:set,abc,track ip_pair,expire 60; xbits:isnotset,abc,track ip_src; hostbits:noalert; sid:1;)",
            keywords(),
            &mut c,
        )
        .unwrap();
        let x = |cmd, var, track, expire, hostbits| Xbit { cmd, var, track, expire, hostbits };
        assert_eq!(
            r.xbits,
            vec![
                x(FlowbitCmd::Set, 0, XbitTrack::Src, 300, true),
                x(FlowbitCmd::IsSet, 0, XbitTrack::Dst, 300, true),
                x(FlowbitCmd::Set, 1, XbitTrack::Pair, 60, false),
                x(FlowbitCmd::IsNotSet, 0, XbitTrack::Src, 30, false),
            ]
        );
        assert!(r.noalert);
        bad_value("hostbits:set,abc,both;", "hostbits");
        bad_value("hostbits:set;", "hostbits");
        bad_value("xbits:set,abc;", "xbits");
        bad_value("xbits:set,abc,track ip_src,expire 0;", "xbits");
        bad_value("xbits:isset,abc,track tx;", "xbits");
        bad_value("xbits:set,abc,track ip_src,track ip_dst;", "xbits");
    }
}
