//! Suricata's `threshold.config`: entries that tune alerting of rules by gen_id and sig_id
//! without editing them, read with the rules at every load and reload.
//!
//! ```text
//! suppress gen_id 1, sig_id 2002087
//! suppress gen_id 1, sig_id 2003614, track by_src, ip 217.110.97.128/25
//! suppress gen_id 0, sig_id 0, track by_either, ip [10.0.0.1,$DNS_SERVERS]
//! threshold gen_id 1, sig_id 10, type limit, track by_src, count 1, seconds 60
//! event_filter gen_id 1, sig_id 10, type both, track by_dst, count 5, seconds 60
//! rate_filter gen_id 1, sig_id 1000, track by_rule, count 100, seconds 60, new_action alert, timeout 30
//! ```
//! The grammar is Suricata's (`util-threshold-config.c`): the fields in this order, `#`
//! comments, a trailing `\` continues a line; `sig_id 0` means every rule (of `gen_id`, or of
//! every gid with `gen_id 0`); `sig_id N` with `gen_id 0` is refused. Takes: the file's text
//! and the address variables (`ip $HOME_NET`). Promises: every line becomes an [`Entry`] or a
//! [`RuleError`] naming file, line and reason; never a panic. How detection applies the entries
//! (a sid's threshold replaces the rule's own, a global one does not; suppress by address) is
//! in `detect::engine::DetectEngine::apply_threshold_config`.

use std::path::Path;

use super::ast::{AddrSet, Threshold, ThresholdType, Track};
use super::vars::Vars;
use super::{ErrorKind, RuleError, VarsConfig};

/// Which address of an alert a suppression compares with its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names, reason = "threshold.config's own words: by_src, by_dst, by_either")]
pub enum SuppressTrack {
    /// The source address.
    BySrc,
    /// The destination address.
    ByDst,
    /// Either of them.
    ByEither,
}

/// What an entry does.
#[derive(Clone, Debug, PartialEq)]
pub enum EntryKind {
    /// `suppress`: no alert at all (`addresses` None), or none when the tracked address is in
    /// `addresses`.
    Suppress {
        /// Track and list, when given.
        addresses: Option<(SuppressTrack, AddrSet)>,
    },
    /// `threshold` or `event_filter` (the same thing in Suricata): limit, threshold or both.
    Threshold(Threshold),
    /// `rate_filter`: after `count` matches in `seconds`, `new_action` for `timeout` seconds.
    RateFilter {
        /// Tracking and counting.
        threshold: Threshold,
        /// `alert`, `drop`, `pass`, `log`, `sdrop` or `reject`.
        new_action: String,
        /// Seconds the new action lasts.
        timeout: u32,
    },
}

/// One line of the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Line (first line of a continued entry), 1-based.
    pub line: usize,
    /// `gen_id` (0 = every gid, with `sig_id 0`).
    pub gid: u32,
    /// `sig_id` (0 = every rule).
    pub sid: u32,
    /// What it does.
    pub kind: EntryKind,
}

/// A parsed threshold file.
#[derive(Clone, Debug, Default)]
pub struct ThresholdConfig {
    /// The file, as named in messages.
    pub file: String,
    /// Entries, in file order.
    pub entries: Vec<Entry>,
    /// Lines that could not be used.
    pub errors: Vec<RuleError>,
}

/// Reads and parses the threshold file at `path` with the configured variables.
pub(crate) fn load_threshold_config(path: &Path, vars: &VarsConfig) -> ThresholdConfig {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_threshold_config(&text, &file, &mut Vars::new(vars)),
        Err(e) => ThresholdConfig {
            file: file.clone(),
            entries: Vec::new(),
            errors: vec![RuleError {
                file,
                line: 0,
                sid: None,
                kind: ErrorKind::Syntax,
                message: format!("cannot read the threshold file: {e}"),
            }],
        },
    }
}

/// Parses the text of a threshold file.
pub(crate) fn parse_threshold_config(text: &str, file: &str, vars: &mut Vars) -> ThresholdConfig {
    let mut out = ThresholdConfig { file: file.to_string(), ..ThresholdConfig::default() };
    let mut pending = String::new();
    let mut first_line = 0;
    for (i, raw) in text.lines().enumerate() {
        if pending.is_empty() {
            if raw.trim_start().starts_with('#') || raw.trim().is_empty() {
                continue;
            }
            first_line = i + 1;
        }
        // A trailing backslash (spaces after it allowed) continues the entry on the next line.
        let t = raw.trim_end();
        if let Some(cont) = t.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        pending.push_str(raw);
        let line = std::mem::take(&mut pending);
        match parse_entry(&line, vars) {
            Ok(e) => out.entries.push(Entry { line: first_line, ..e }),
            Err((sid, kind, message)) => {
                out.errors.push(RuleError { file: file.to_string(), line: first_line, sid, kind, message })
            }
        }
    }
    if !pending.trim().is_empty() {
        out.errors.push(RuleError {
            file: file.to_string(),
            line: first_line,
            sid: None,
            kind: ErrorKind::Syntax,
            message: "the file ends inside a continued entry (a trailing `\\`)".into(),
        });
    }
    out
}

type Failure = (Option<u32>, ErrorKind, String);

fn bad(sid: Option<u32>, what: &str, why: String) -> Failure {
    (sid, ErrorKind::BadValue(what.to_string()), why)
}

/// Reads `name value` at the start of `s` (after optional spaces and a comma when `comma`),
/// the value running to the next comma; returns the value and the rest.
fn field<'a>(s: &'a str, name: &str, sid: Option<u32>) -> Result<(&'a str, &'a str), Failure> {
    let s = s.trim_start();
    let s = s.strip_prefix(',').ok_or_else(|| bad(sid, name, format!("expected `, {name} ...`")))?.trim_start();
    let rest =
        s.strip_prefix(name).ok_or_else(|| bad(sid, name, format!("expected `{name}` here, found `{}`", head(s))))?;
    let (value, rest) = match rest.find(',') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(bad(sid, name, format!("`{name}` has no value")));
    }
    Ok((value, rest))
}

fn head(s: &str) -> &str {
    s.split(',').next().unwrap_or("").trim()
}

fn number(v: &str, what: &str, sid: Option<u32>) -> Result<u32, Failure> {
    v.parse::<u32>().map_err(|_| bad(sid, what, format!("`{what} {v}`: not a whole number")))
}

fn track(v: &str, sid: Option<u32>) -> Result<Track, Failure> {
    Ok(match v {
        "by_src" => Track::BySrc,
        "by_dst" => Track::ByDst,
        "by_both" => Track::ByBoth,
        "by_rule" => Track::ByRule,
        "by_flow" => Track::ByFlow,
        _ => return Err(bad(sid, "track", format!("`track {v}`: use by_src, by_dst, by_both, by_rule or by_flow"))),
    })
}

/// `count N, seconds N` after `track`: count must be at least 1.
fn count_seconds(rest: &str, sid: Option<u32>) -> Result<(u32, u32, &str), Failure> {
    let (c, rest) = field(rest, "count", sid)?;
    let count = number(c, "count", sid)?;
    if count == 0 {
        return Err(bad(sid, "count", "`count 0`: must be at least 1".into()));
    }
    let (s, rest) = field(rest, "seconds", sid)?;
    Ok((count, number(s, "seconds", sid)?, rest))
}

fn no_more(rest: &str, sid: Option<u32>) -> Result<(), Failure> {
    if rest.trim().is_empty() {
        Ok(())
    } else {
        Err((sid, ErrorKind::Syntax, format!("unexpected `{}` at the end", rest.trim())))
    }
}

fn parse_entry(line: &str, vars: &mut Vars) -> Result<Entry, Failure> {
    let s = line.trim();
    let kw_end = s.find(|c: char| c.is_whitespace()).unwrap_or(s.len());
    let (kw, rest) = s.split_at(kw_end);
    if !matches!(kw, "suppress" | "threshold" | "event_filter" | "rate_filter") {
        return Err((
            None,
            ErrorKind::Syntax,
            format!("`{kw}`: an entry starts with suppress, threshold, event_filter or rate_filter"),
        ));
    }
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix("gen_id")
        .ok_or_else(|| (None, ErrorKind::Syntax, format!("expected `{kw} gen_id N, sig_id N`")))?;
    let (g, rest) = match rest.find(',') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let gid = number(g.trim(), "gen_id", None)?;
    let (sid_s, rest) = field(rest, "sig_id", None)?;
    let sid = number(sid_s, "sig_id", None)?;
    let sid_opt = Some(sid);
    if gid == 0 && sid != 0 {
        return Err(bad(
            sid_opt,
            "gen_id",
            "`gen_id 0` with a sig_id: give the rule's gen_id (1 for most rules)".into(),
        ));
    }
    let kind = match kw {
        "suppress" => {
            if rest.trim().is_empty() {
                EntryKind::Suppress { addresses: None }
            } else {
                let (t, rest) = field(rest, "track", sid_opt)?;
                let tr = match t {
                    "by_src" => SuppressTrack::BySrc,
                    "by_dst" => SuppressTrack::ByDst,
                    "by_either" => SuppressTrack::ByEither,
                    _ => {
                        return Err(bad(
                            sid_opt,
                            "track",
                            format!("`track {t}`: a suppress tracks by_src, by_dst or by_either"),
                        ))
                    }
                };
                let r = rest.trim_start().strip_prefix(',').unwrap_or("").trim_start();
                let ip = r
                    .strip_prefix("ip")
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| bad(sid_opt, "ip", "a suppress with a track needs `, ip ADDRESSES`".into()))?;
                let set = vars.addresses(ip).map_err(|e| bad(sid_opt, "ip", format!("`ip {ip}`: {e}")))?;
                EntryKind::Suppress { addresses: Some((tr, set)) }
            }
        }
        "threshold" | "event_filter" => {
            let (ty, rest) = field(rest, "type", sid_opt)?;
            let kind = match ty {
                "limit" => ThresholdType::Limit,
                "threshold" => ThresholdType::Threshold,
                "both" => ThresholdType::Both,
                _ => return Err(bad(sid_opt, "type", format!("`type {ty}`: use limit, threshold or both"))),
            };
            let (t, rest) = field(rest, "track", sid_opt)?;
            let tr = track(t, sid_opt)?;
            let (count, seconds, rest) = count_seconds(rest, sid_opt)?;
            no_more(rest, sid_opt)?;
            EntryKind::Threshold(Threshold { kind, track: tr, count, seconds, multiplier: 1, unique_on: None })
        }
        _ => {
            let (t, rest) = field(rest, "track", sid_opt)?;
            let tr = track(t, sid_opt)?;
            let (count, seconds, rest) = count_seconds(rest, sid_opt)?;
            let (a, rest) = field(rest, "new_action", sid_opt)?;
            if !matches!(a, "alert" | "drop" | "pass" | "log" | "sdrop" | "reject") {
                return Err(bad(
                    sid_opt,
                    "new_action",
                    format!("`new_action {a}`: use alert, drop, pass, log, sdrop or reject"),
                ));
            }
            let (to, rest) = field(rest, "timeout", sid_opt)?;
            let timeout = number(to, "timeout", sid_opt)?;
            no_more(rest, sid_opt)?;
            EntryKind::RateFilter {
                threshold: Threshold {
                    kind: ThresholdType::DetectionFilter,
                    track: tr,
                    count,
                    seconds,
                    multiplier: 1,
                    unique_on: None,
                },
                new_action: a.to_string(),
                timeout,
            }
        }
    };
    Ok(Entry { line: 0, gid, sid, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ThresholdConfig {
        parse_threshold_config(text, "threshold.config", &mut Vars::default())
    }

    #[test]
    fn every_kind_of_entry_parses() {
        let t = parse(
            "# comment\n\
             suppress gen_id 1, sig_id 2002087\n\
             suppress gen_id 1, sig_id 2003614, track by_src, ip 217.110.97.128/25\n\
             suppress gen_id 0, sig_id 0, track by_either, ip [10.0.0.1, $HOME_NET]\n\
             threshold gen_id 1, sig_id 10, type limit, track by_src, count 1, seconds 60\n\
             event_filter gen_id 1, sig_id 11, type both, \\\n   track by_dst, count 5, seconds 60\n\
             rate_filter gen_id 1, sig_id 1000, track by_rule, count 100, seconds 60, new_action alert, timeout 30\n",
        );
        assert!(t.errors.is_empty(), "{:?}", t.errors);
        assert_eq!(t.entries.len(), 6);
        assert_eq!(
            t.entries[0],
            Entry { line: 2, gid: 1, sid: 2002087, kind: EntryKind::Suppress { addresses: None } }
        );
        assert!(matches!(&t.entries[1].kind, EntryKind::Suppress { addresses: Some((SuppressTrack::BySrc, _)) }));
        assert!(
            matches!(&t.entries[2].kind, EntryKind::Suppress { addresses: Some((SuppressTrack::ByEither, s)) } if !s.include.is_empty())
        );
        assert_eq!(
            t.entries[3].kind,
            EntryKind::Threshold(Threshold {
                kind: ThresholdType::Limit,
                track: Track::BySrc,
                count: 1,
                seconds: 60,
                multiplier: 1,
                unique_on: None
            })
        );
        assert_eq!(t.entries[4].line, 6);
        assert!(matches!(&t.entries[5].kind, EntryKind::RateFilter { timeout: 30, .. }));
    }

    #[test]
    fn mistakes_name_line_and_reason() {
        let t = parse(
            "suppress gen_id 1, sig_id 5, track by_src\n\
             threshold gen_id 1, sig_id 6, type sometimes, track by_src, count 1, seconds 60\n\
             threshold gen_id 1, sig_id 7, type limit, track by_src, count 0, seconds 60\n\
             suppress gen_id 0, sig_id 8\n\
             supress gen_id 1, sig_id 9\n\
             suppress gen_id 1, sig_id 10, track by_src, ip notanip\n\
             threshold gen_id 1, sig_id 11, type limit, track by_src, count 1, seconds 60, extra 1\n",
        );
        assert!(t.entries.is_empty(), "{:?}", t.entries);
        let msgs: Vec<String> = t.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 7, "{msgs:?}");
        assert!(msgs[0].starts_with("threshold.config:1: sid 5: ") && msgs[0].contains("ip"), "{msgs:?}");
        assert!(msgs[1].contains(":2:") && msgs[1].contains("type sometimes"), "{msgs:?}");
        assert!(msgs[2].contains("count 0"), "{msgs:?}");
        assert!(msgs[3].contains("gen_id 0"), "{msgs:?}");
        assert!(msgs[4].contains("`supress`"), "{msgs:?}");
        assert!(msgs[5].contains("notanip"), "{msgs:?}");
        assert!(msgs[6].contains("extra"), "{msgs:?}");
    }

    #[test]
    fn garbage_never_panics() {
        for s in ["", "suppress", "suppress gen_id", "suppress gen_id 1,", "suppress gen_id 1, sig_id", "x\\", "é,,,"]
        {
            let _ = parse(s);
        }
    }
}
