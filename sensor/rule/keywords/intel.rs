//! Indicator keywords: `dataset` and `datarep` (Suricata's `detect-dataset.c`,
//! `detect-datarep.c`): the whole current sticky buffer (after its transforms) is looked up in,
//! added to or removed from a named set. The keyword only reads its options into
//! [`DatasetKw`] / [`DatarepKw`]; the detection engine creates or finds the set
//! (`detect::dataset`) when it compiles the rule. And `iprep` (`detect-iprep.c`): the
//! reputation of the packet's addresses in a category of the reputation files
//! (`detect::iprep`), its category resolved by name when the engine compiles the rule.
//!
//! Syntax, as Suricata splits it: options separated by commas, each `key value` (split at the
//! first space); `dataset` starts with the command and the name, `datarep` with the name, the
//! operator and the value. Unlike Suricata, an option Picket does not know is an error rather
//! than ignored, so that a typo does not silently change what a rule does.

use super::{suricata_doc, Arg, Keyword, Kind};
use crate::rule::ast::{
    Buffer, DatarepKw, DatasetCmd, DatasetDecl, DatasetJson, DatasetKw, DatasetType, Iprep, IprepSide, IprepTest,
    NumCmp, PayloadMatch, RepOp,
};
use crate::rule::parse::{bad, shorten, unquote, Builder, Env, PResult};

/// `dataset`, `datarep`, `iprep`.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule(
        "iprep",
        Kind::Flow,
        Arg::Required,
        iprep,
        "the reputation of the packet's source, destination, either or both in a category of the reputation files",
        suricata_doc!("ip-reputation-rules.html#iprep"),
    ),
    Keyword::rule(
        "dataset",
        Kind::Payload,
        Arg::Required,
        dataset,
        "the buffer is (or is not) in a named set, or is added to or removed from it",
        suricata_doc!("datasets.html#dataset"),
    ),
    Keyword::rule(
        "datarep",
        Kind::Payload,
        Arg::Required,
        datarep,
        "the reputation of the buffer in a named set compared with a value",
        suricata_doc!("datasets.html#datarep"),
    ),
];

/// Longest set name (Suricata's DATASET_NAME_MAX_LEN).
pub(crate) const NAME_MAX: usize = 63;
/// Longest `value_key`, `array_key`, `context_key` (Suricata's SIG_JSON_CONTENT_KEY_LEN).
const JSON_KEY_MAX: usize = 31;

/// The options as Suricata's parsers split them: (key, value) pairs, blanks trimmed.
fn split_options(v: &str) -> Vec<(&str, Option<&str>)> {
    v.split(',')
        .filter_map(|part| {
            let part = part.trim_start_matches([' ', '\t']);
            if part.is_empty() {
                return None;
            }
            Some(match part.split_once(' ') {
                Some((k, val)) => {
                    let val = val.trim_matches([' ', '\t']);
                    (k, (!val.is_empty()).then_some(val))
                }
                None => (part.trim_end_matches([' ', '\t']), None),
            })
        })
        .collect()
}

fn check_name(kw: &str, name: &str) -> PResult<()> {
    if name.is_empty() {
        return Err(bad(kw, "missing the set name"));
    }
    if name.len() > NAME_MAX {
        return Err(bad(kw, format!("set name '{}' longer than {NAME_MAX} characters", shorten(name))));
    }
    if name.contains([' ', '\t']) {
        return Err(bad(kw, "spaces not allowed in dataset names"));
    }
    Ok(())
}

/// Size with an optional kb/mb/gb suffix (Suricata's ParseSizeString: 1024-based).
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let (num, mult) = [
        ("gib", 1u64 << 30),
        ("gb", 1 << 30),
        ("mib", 1 << 20),
        ("mb", 1 << 20),
        ("kib", 1 << 10),
        ("kb", 1 << 10),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, m)| lower.strip_suffix(suf).map(|n| (n.trim().to_string(), *m)))
    .unwrap_or((lower.clone(), 1));
    let v: f64 = num.parse().ok()?;
    if !(0.0..=1e18).contains(&v) {
        return None;
    }
    Some((v * mult as f64) as u64)
}

fn rule_dir(env: &Env<'_>) -> String {
    std::path::Path::new(&*env.ctx.file).parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

fn sticky_list(b: &Builder, kw: &str) -> PResult<usize> {
    match b.cur {
        Some(li) if b.lists.get(li).is_some_and(|l| l.buffer != Buffer::Payload) => Ok(li),
        _ => Err(bad(kw, format!("{kw} is only supported for sticky buffers"))),
    }
}

fn common_option(kw: &str, d: &mut DatasetDecl, key: &str, val: &str) -> PResult<bool> {
    match key {
        "type" => {
            d.kind = Some(DatasetType::from_name(val).ok_or_else(|| bad(kw, format!("bad type '{}'", shorten(val))))?);
        }
        "memcap" => d.memcap = parse_size(val).ok_or_else(|| bad(kw, format!("invalid memcap '{}'", shorten(val))))?,
        "hashsize" => {
            let n = parse_size(val).filter(|&n| n <= u32::MAX as u64);
            d.hashsize = n.ok_or_else(|| bad(kw, format!("invalid hashsize '{}'", shorten(val))))? as u32;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn dataset(b: &mut Builder, env: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let li = sticky_list(b, kw)?;
    let opts = split_options(unquote(v.unwrap_or("")));
    let mut it = opts.into_iter();
    let cmd = match it.next() {
        Some((c, None)) => match c {
            "set" => DatasetCmd::Set,
            "unset" => DatasetCmd::Unset,
            "isset" => DatasetCmd::IsSet,
            "isnotset" => DatasetCmd::IsNotSet,
            _ => return Err(bad(kw, format!("dataset action \"{}\" is not supported", shorten(c)))),
        },
        _ => return Err(bad(kw, "expected a command (set, unset, isset, isnotset) first")),
    };
    let mut decl = DatasetDecl { rule_dir: rule_dir(env), ..Default::default() };
    match it.next() {
        Some((n, None)) => decl.name = n.to_string(),
        _ => return Err(bad(kw, "expected the set name after the command")),
    }
    check_name(kw, &decl.name)?;
    let (mut state, mut subdomain, mut format) = (false, false, None::<bool>);
    let mut json = DatasetJson::default();
    let mut context_key = String::new();
    for (key, val) in it {
        let Some(val) = val else {
            match key {
                "remove_key" => json.remove_key = true,
                _ => return Err(bad(kw, format!("option '{}' needs a value", shorten(key)))),
            }
            continue;
        };
        if common_option(kw, &mut decl, key, val)? {
            continue;
        }
        match key {
            "load" | "save" | "state" => {
                let dup = match key {
                    "load" => decl.load.is_some(),
                    "save" => decl.save.is_some(),
                    _ => state,
                };
                if dup {
                    return Err(bad(kw, format!("'{key}' can only appear once")));
                }
                match key {
                    "load" => decl.load = Some(val.to_string()),
                    "save" => decl.save = Some(val.to_string()),
                    _ => state = true,
                }
                if key == "state" {
                    decl.load = Some(val.to_string());
                    decl.save = Some(val.to_string());
                }
            }
            "format" if format.is_some() => return Err(bad(kw, "'format' can only appear once")),
            "format" => match val {
                "csv" => format = Some(false),
                "json" | "ndjson" => {
                    format = Some(true);
                    json.ndjson = val == "ndjson";
                }
                _ => return Err(bad(kw, format!("unknown format '{}'", shorten(val)))),
            },
            "match" if val == "subdomain" => subdomain = true,
            "match" => return Err(bad(kw, format!("unknown match mode '{}'", shorten(val)))),
            "value_key" | "array_key" | "context_key" if val.len() > JSON_KEY_MAX => {
                return Err(bad(kw, format!("'{key}' value too long (limit is {JSON_KEY_MAX})")));
            }
            "value_key" => json.value_key = val.to_string(),
            "array_key" => json.array_key = val.to_string(),
            "context_key" if !val.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') => {
                return Err(bad(kw, "context_key can only contain alphanumeric characters and underscores"));
            }
            "context_key" => context_key = val.to_string(),
            _ => return Err(bad(kw, format!("unknown option '{}'", shorten(key)))),
        }
    }
    if format == Some(true) {
        // Suricata's checks for a datajson set, in its order.
        if matches!(cmd, DatasetCmd::Set | DatasetCmd::Unset) {
            return Err(bad(kw, "json format is not supported for 'set' and 'unset' commands"));
        }
        if decl.save.is_some() {
            return Err(bad(kw, "json format is not supported with 'save' or 'state' option"));
        }
        if context_key.is_empty() {
            return Err(bad(kw, "json format needs a 'context_key' parameter"));
        }
        if json.value_key.is_empty() {
            return Err(bad(kw, "json format needs a 'value_key' parameter"));
        }
        decl.json = Some(json);
    }
    if state && (decl.load.as_deref() != decl.save.as_deref()) {
        return Err(bad(kw, "'state' can not be mixed with 'load' and 'save'"));
    }
    if subdomain {
        if !matches!(cmd, DatasetCmd::IsSet | DatasetCmd::IsNotSet) {
            return Err(bad(kw, "'match subdomain' only supports isset/isnotset commands"));
        }
        if decl.kind != Some(DatasetType::String) {
            return Err(bad(kw, "'match subdomain' only supports type string"));
        }
    }
    if let Some(s) = &decl.save {
        check_save_path(kw, s)?;
    }
    b.push(li, PayloadMatch::Dataset(DatasetKw { cmd, decl, subdomain, context_key }));
    Ok(())
}

/// Suricata's SetupSavePath without `allow-absolute-filenames`: saved files stay in the data
/// directory.
fn check_save_path(kw: &str, s: &str) -> PResult<()> {
    let p = std::path::Path::new(s);
    if p.is_absolute() {
        return Err(bad(kw, format!("absolute paths not allowed: {}", shorten(s))));
    }
    if p.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(bad(kw, format!("directory traversals not allowed: {}", shorten(s))));
    }
    Ok(())
}

fn datarep(b: &mut Builder, env: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let li = sticky_list(b, kw)?;
    let opts = split_options(unquote(v.unwrap_or("")));
    let mut it = opts.into_iter();
    let mut decl = DatasetDecl { rule_dir: rule_dir(env), ..Default::default() };
    let (Some((name, None)), Some((op, None)), Some((value, None))) = (it.next(), it.next(), it.next()) else {
        return Err(bad(kw, "expected <name>, <operator>, <value>"));
    };
    decl.name = name.to_string();
    check_name(kw, &decl.name)?;
    let op = match op {
        ">" => RepOp::Gt,
        "<" => RepOp::Lt,
        "==" => RepOp::Eq,
        _ => return Err(bad(kw, format!("unknown operator '{}'", shorten(op)))),
    };
    let value: u16 = value.parse().map_err(|_| bad(kw, format!("invalid value '{}' (0-65535)", shorten(value))))?;
    for (key, val) in it {
        let Some(val) = val else {
            return Err(bad(kw, format!("option '{}' needs a value", shorten(key))));
        };
        if common_option(kw, &mut decl, key, val)? {
            continue;
        }
        match key {
            "load" => decl.load = Some(val.to_string()),
            _ => return Err(bad(kw, format!("unknown option '{}'", shorten(key)))),
        }
    }
    if decl.load.is_some() && decl.kind.is_none() {
        return Err(bad(kw, "if load is used type must be set as well"));
    }
    b.push(li, PayloadMatch::Datarep(DatarepKw { decl, op, value }));
    Ok(())
}

/// `iprep:<any|src|dst|both>,<category>,<op>,<value>` or `...,<category>,<isset|isnotset>`
/// (Suricata's `detect_parse_iprep`): op one of `<`, `<=`, `>`, `>=`, `=`, `!=`, value 0-255.
fn iprep(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or(""));
    let parts: Vec<&str> = s.split(',').map(|p| p.trim_matches([' ', '\t'])).collect();
    if parts.len() < 3 || parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad(
            kw,
            format!("'{}' is not <side>,<category>,<op>,<value> or <side>,<category>,isset", shorten(s)),
        ));
    }
    let side = match parts[0] {
        "any" => IprepSide::Any,
        "src" => IprepSide::Src,
        "dst" => IprepSide::Dst,
        "both" => IprepSide::Both,
        o => return Err(bad(kw, format!("'{}' is not any, src, dst or both", shorten(o)))),
    };
    let category = parts[1].to_string();
    if category.len() > 31 {
        return Err(bad(kw, format!("category '{}' longer than 31 characters", shorten(&category))));
    }
    let test = if let [_, _, op, value] = parts.as_slice() {
        let value: u8 = value.parse().map_err(|_| bad(kw, format!("invalid value '{}' (0-255)", shorten(value))))?;
        let n = u64::from(value);
        IprepTest::Cmp(match *op {
            "<" => NumCmp::Lt(n),
            "<=" => NumCmp::Le(n),
            ">" => NumCmp::Gt(n),
            ">=" => NumCmp::Ge(n),
            "=" | "==" => NumCmp::Eq(n),
            "!=" | "!" => NumCmp::Ne(n),
            o => return Err(bad(kw, format!("unknown operator '{}' (<, <=, >, >=, =, !=)", shorten(o)))),
        })
    } else {
        match parts[2] {
            "isset" => IprepTest::IsSet,
            "isnotset" => IprepTest::IsNotSet,
            o => return Err(bad(kw, format!("'{}' is not isset or isnotset (or give <op>,<value>)", shorten(o)))),
        }
    };
    b.iprep.push(Iprep { side, category, cat: 0, test });
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::rule::ast::*;
    use crate::rule::parse::testing::p as parse;

    fn first(text: &str) -> PayloadMatch {
        let r = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        r.buffers.iter().flat_map(|b| b.matches.iter()).next().cloned().expect("a match")
    }

    #[test]
    fn dataset_options() {
        let m = first(
            "alert dns any any -> any any (dns.query; dataset:isset,bad-dns, type string, load bad.lst, memcap 10mb, hashsize 1024; sid:1;)",
        );
        let PayloadMatch::Dataset(d) = m else { panic!("{m:?}") };
        assert_eq!(d.cmd, DatasetCmd::IsSet);
        assert_eq!(d.decl.name, "bad-dns");
        assert_eq!(d.decl.kind, Some(DatasetType::String));
        assert_eq!(d.decl.load.as_deref(), Some("bad.lst"));
        assert_eq!(d.decl.save, None);
        assert_eq!(d.decl.memcap, 10 << 20);
        assert_eq!(d.decl.hashsize, 1024);
        let m =
            first("alert dns any any -> any any (dns.query; dataset:set,seen, type string, state seen.lst; sid:1;)");
        let PayloadMatch::Dataset(d) = m else { panic!() };
        assert_eq!((d.decl.load.as_deref(), d.decl.save.as_deref()), (Some("seen.lst"), Some("seen.lst")));
    }

    #[test]
    fn dataset_errors_name_the_problem() {
        let err = |t: &str| parse(t).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err("alert tcp any any -> any any (dataset:isset,x, type string; sid:1;)").contains("sticky buffers"));
        assert!(
            err("alert dns any any -> any any (dns.query; dataset:has,x; sid:1;)").contains("\"has\" is not supported")
        );
        assert!(
            err("alert dns any any -> any any (dns.query; dataset:isset,x, type blob; sid:1;)").contains("bad type")
        );
        assert!(err("alert dns any any -> any any (dns.query; dataset:set,x, type string, save /etc/x; sid:1;)")
            .contains("absolute paths"));
        assert!(err("alert dns any any -> any any (dns.query; dataset:set,x, type string, save ../x; sid:1;)")
            .contains("traversals"));
        assert!(err("alert dns any any -> any any (dns.query; dataset:set,x, type string, match subdomain; sid:1;)")
            .contains("isset/isnotset"));
        assert!(err("alert dns any any -> any any (dns.query; dataset:isset,x, tpye string; sid:1;)")
            .contains("unknown option"));
        assert!(err("alert dns any any -> any any (dns.query; datarep:x, >, 70000, type string; sid:1;)")
            .contains("invalid value"));
        assert!(err("alert dns any any -> any any (dns.query; datarep:x, >, 1, load f; sid:1;)").contains("type must"));
    }

    #[test]
    fn datarep_options() {
        let m = first("alert dns any any -> any any (dns.query; datarep:rep, >, 50, type string, load r.csv; sid:1;)");
        let PayloadMatch::Datarep(d) = m else { panic!("{m:?}") };
        assert_eq!((d.op, d.value, d.decl.name.as_str()), (RepOp::Gt, 50, "rep"));
        assert_eq!(d.decl.load.as_deref(), Some("r.csv"));
    }

    #[test]
    fn iprep_forms_and_errors() {
        let r = parse("alert ip any any -> any any (iprep:src, BadHosts, >, 30; iprep:any,Spam,isnotset; sid:1;)")
            .expect("parses");
        assert_eq!(r.iprep.len(), 2);
        assert_eq!(
            (r.iprep[0].side, r.iprep[0].category.as_str(), r.iprep[0].test),
            (IprepSide::Src, "BadHosts", IprepTest::Cmp(NumCmp::Gt(30)))
        );
        assert_eq!((r.iprep[1].side, r.iprep[1].test), (IprepSide::Any, IprepTest::IsNotSet));
        let err = |t: &str| parse(t).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err("alert ip any any -> any any (iprep:from,Bad,>,1; sid:1;)").contains("any, src, dst or both"));
        assert!(err("alert ip any any -> any any (iprep:src,Bad,~,1; sid:1;)").contains("unknown operator"));
        assert!(err("alert ip any any -> any any (iprep:src,Bad,>,256; sid:1;)").contains("invalid value"));
        assert!(err("alert ip any any -> any any (iprep:src,Bad; sid:1;)").contains("<side>,<category>"));
        assert!(err("alert ip any any -> any any (iprep:src,Bad,maybe; sid:1;)").contains("isset or isnotset"));
    }

    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("10mb"), Some(10 << 20));
        assert_eq!(super::parse_size("1 GiB"), Some(1 << 30));
        assert_eq!(super::parse_size("4096"), Some(4096));
        assert_eq!(super::parse_size("x"), None);
    }
}
