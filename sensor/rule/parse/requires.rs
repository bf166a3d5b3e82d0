//! The `requires` keyword (Suricata's `rust/src/detect/requires.rs`): a rule states the
//! Suricata version, keywords or features it needs, and a rule whose requirements are not met
//! is skipped (reported as unsupported, not as an error) before the rest of it is checked, so
//! that rules written for a later version do not fail to load.
//!
//! Takes: the value of each `requires` option of a rule. Promises: `version` expressions as
//! Suricata reads them (`>= 7.0.3 < 8 | >= 9`: all comparisons of one alternative hold, any
//! alternative), compared with [`SURICATA_VERSION`], the version whose rule language Picket
//! follows; `keyword X` holds when the keyword table knows X; a `feature` (a Suricata build
//! option) and any other requirement are not met. Never: panics on any value.

use crate::rule::keywords::Keywords;

/// The Suricata version Picket's rule language follows (major, minor, patch).
pub(crate) const SURICATA_VERSION: (u8, u8, u8) = (9, 0, 0);

/// Why a rule's requirements are not met (`None`: they are), or an error for a value that
/// does not parse (Suricata refuses the rule).
pub(crate) fn unmet(values: &[&str], keywords: &Keywords) -> Result<Option<String>, String> {
    let mut version_seen = false;
    for v in values {
        for (key, value) in pairs(v)? {
            match key {
                "version" => {
                    if version_seen {
                        return Err("requires: version may only be given once".into());
                    }
                    version_seen = true;
                    let alts = parse_versions(value).ok_or_else(|| format!("requires: bad version `{value}`"))?;
                    if !alts.iter().any(|alt| alt.iter().all(|&(op, v)| holds(op, v))) {
                        return Ok(Some(format!("requires version {}", value.trim())));
                    }
                }
                "keyword" => {
                    if keywords.lookup(value.trim()).is_none() {
                        return Ok(Some(format!("requires keyword {}", value.trim())));
                    }
                }
                other => return Ok(Some(format!("requires {other} {}", value.trim()))),
            }
        }
    }
    Ok(None)
}

/// `key value` pairs separated by commas (the value runs to the next comma).
fn pairs(v: &str) -> Result<Vec<(&str, &str)>, String> {
    let mut out = Vec::new();
    for part in v.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let end = part.find(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_')).unwrap_or(part.len());
        let (key, value) = part.split_at(end);
        if key.is_empty() {
            return Err(format!("requires: bad requirement `{part}`"));
        }
        out.push((key, value));
    }
    Ok(out)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
}

type Version = (u8, u8, u8);

fn holds(op: Op, v: Version) -> bool {
    let have = SURICATA_VERSION;
    match op {
        Op::Gt => have > v,
        Op::Gte => have >= v,
        Op::Lt => have < v,
        Op::Lte => have <= v,
    }
}

/// `op version [op version]... [| op version ...]...`
fn parse_versions(s: &str) -> Option<Vec<Vec<(Op, Version)>>> {
    let mut alts = Vec::new();
    for alt in s.split('|') {
        let mut rest = alt.trim();
        let mut terms = Vec::new();
        while !rest.is_empty() {
            let (op, r) = if let Some(r) = rest.strip_prefix(">=") {
                (Op::Gte, r)
            } else if let Some(r) = rest.strip_prefix('>') {
                (Op::Gt, r)
            } else if let Some(r) = rest.strip_prefix("<=") {
                (Op::Lte, r)
            } else if let Some(r) = rest.strip_prefix('<') {
                (Op::Lt, r)
            } else {
                return None;
            };
            let r = r.trim_start();
            let end = r.find([' ', '<', '>']).unwrap_or(r.len());
            let (ver, r) = r.split_at(end);
            terms.push((op, parse_version(ver)?));
            rest = r.trim_start();
        }
        if terms.is_empty() {
            return None;
        }
        alts.push(terms);
    }
    Some(alts)
}

/// `major[.minor[.patch]]`, a `-suffix` ignored.
fn parse_version(s: &str) -> Option<Version> {
    let s = s.split('-').next().unwrap_or(s);
    let mut it = s.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().map_or(Some(0), |x| x.parse().ok())?;
    let patch = it.next().map_or(Some(0), |x| x.parse().ok())?;
    if it.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: &str) -> Result<Option<String>, String> {
        unmet(&[v], &Keywords::new(&[]))
    }

    #[test]
    fn versions_and_keywords() {
        assert_eq!(check("version >= 7 < 8"), Ok(Some("requires version >= 7 < 8".into())));
        assert_eq!(
            check("version >= 7.0.3 < 8 | >= 9.0.99"),
            Ok(Some("requires version >= 7.0.3 < 8 | >= 9.0.99".into()))
        );
        assert_eq!(check("version >= 8.0.0, keyword sid"), Ok(None));
        assert_eq!(check("version >= 9.0.0, keyword sid"), Ok(None));
        assert_eq!(check("version >= 7.0.3 < 8 | >= 9"), Ok(None));
        assert_eq!(check("version >= 8, keyword foobar"), Ok(Some("requires keyword foobar".into())));
        assert_eq!(check("feature output::file-store"), Ok(Some("requires feature output::file-store".into())));
        assert!(check("version >= x").is_err());
        assert!(check("version = 7").is_err());
        assert!(unmet(&["version >= 7", "version >= 8"], &Keywords::new(&[])).is_err());
    }
}
