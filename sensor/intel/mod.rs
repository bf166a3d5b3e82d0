//! Intel: indicator feeds turned into dataset files and the rules that use them
//! (`picket intel import`).
//!
//! Takes: a MISP event or feed (JSON: `{"Event": ...}`, a list of them, or `{"response": [...]}`),
//! a STIX 2.1 bundle (indicators with `pattern_type` stix), or a CSV of `type,value[,event]`.
//! Promises: every indicator Picket can match becomes part of a dataset file (domains, JA3
//! hashes, MD5/SHA-256 file hashes, in Suricata's format) or of a rule (URLs as host and path
//! contents, addresses as IP-only rules), grouped per source event; each group's rules name
//! the source and the event in `msg`, carry the event's id and tags in `metadata`, and take
//! their sids from one range per source (10,000 sids from a base derived from the source
//! name, or `--sid-base`). What cannot be used is listed with the reason (`skipped`). A
//! malformed feed is an error naming the element (`Event.Attribute[3]: no "value"`).
//! Never: writes outside the output folder, or anything at all with `--dry-run`.
//!
//! Depends on `rule::ast::DatasetType` and `detect::dataset::format_value` only (the file
//! format); the rules it writes are read back by the ordinary loader.

mod misp;
mod rules;
mod stix;

use std::path::{Path, PathBuf};

pub use rules::{render, Output};

/// What an indicator is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A domain or host name.
    Domain,
    /// A URL.
    Url,
    /// An IPv4 or IPv6 address or network.
    Ip,
    /// An MD5 file hash.
    Md5,
    /// A SHA-256 file hash.
    Sha256,
    /// A JA3 fingerprint (MD5 hex).
    Ja3,
}

impl Kind {
    /// Short name (file names, CSV).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Ip => "ip",
            Kind::Md5 => "md5",
            Kind::Sha256 => "sha256",
            Kind::Ja3 => "ja3",
        }
    }
}

/// One indicator, normalised (lowercase domains and hashes, addresses as written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    /// What it is.
    pub kind: Kind,
    /// Its value.
    pub value: String,
}

/// The indicators of one event (MISP event, STIX report or bundle, CSV event column).
#[derive(Clone, Debug, Default)]
pub struct Event {
    /// Its id as the source gives it.
    pub id: String,
    /// Its title.
    pub info: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Indicators, in feed order, without duplicates.
    pub indicators: Vec<Indicator>,
}

impl Event {
    fn push(&mut self, kind: Kind, value: &str) -> Result<(), String> {
        let value = normalise(kind, value)?;
        if !self.indicators.iter().any(|i| i.kind == kind && i.value == value) {
            self.indicators.push(Indicator { kind, value });
        }
        Ok(())
    }
}

/// A feed read: its events and what was left out.
#[derive(Clone, Debug, Default)]
pub struct Feed {
    /// Format read (`misp`, `stix`, `csv`).
    pub format: &'static str,
    /// Events with at least one indicator.
    pub events: Vec<Event>,
    /// Elements not used, with why (`Event.Attribute[4] (regkey): type not matched on the wire`).
    pub skipped: Vec<String>,
}

/// Checks and normalises a value of `kind`; `Err` says why it is not one.
fn normalise(kind: Kind, v: &str) -> Result<String, String> {
    let v = v.trim();
    let hex = |n: usize| v.len() == n && v.bytes().all(|b| b.is_ascii_hexdigit());
    let ok = match kind {
        Kind::Domain => {
            !v.is_empty()
                && v.len() <= 253
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        }
        Kind::Url => v.contains("://") && v.len() <= 2048 && !v.bytes().any(|b| b.is_ascii_control() || b == b' '),
        Kind::Ip => {
            let addr = v.split_once('/').map_or(v, |(a, _)| a);
            let len_ok = v.split_once('/').is_none_or(|(_, l)| l.parse::<u8>().is_ok_and(|l| l <= 128));
            addr.parse::<std::net::IpAddr>().is_ok() && len_ok
        }
        Kind::Md5 | Kind::Ja3 => hex(32),
        Kind::Sha256 => hex(64),
    };
    if !ok {
        return Err(format!("'{}' is not a valid {}", v.chars().take(80).collect::<String>(), kind.name()));
    }
    Ok(match kind {
        Kind::Domain | Kind::Md5 | Kind::Sha256 | Kind::Ja3 => v.to_ascii_lowercase(),
        _ => v.to_string(),
    })
}

/// Reads a feed, its format recognised from its content.
pub fn read_feed(path: &Path) -> Result<Feed, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&data);
    let trimmed = text.trim_start();
    let name = path.display().to_string();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{name}: not valid JSON (line {}, column {}): {e}", e.line(), e.column()))?;
        if v.get("type").and_then(|t| t.as_str()) == Some("bundle") {
            return stix::read(&v).map_err(|e| format!("{name}: {e}"));
        }
        return misp::read(&v).map_err(|e| format!("{name}: {e}"));
    }
    read_csv(&text).map_err(|e| format!("{name}: {e}"))
}

/// `type,value[,event[,info]]` per line, an optional header, `#` comments.
fn read_csv(text: &str) -> Result<Feed, String> {
    let mut feed = Feed { format: "csv", ..Default::default() };
    let mut r =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).comment(Some(b'#')).from_reader(text.as_bytes());
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format!("CSV row {}: {e}", i + 1))?;
        let field = |n: usize| rec.get(n).unwrap_or("").trim();
        let (ty, value) = (field(0), field(1));
        if i == 0 && ty.eq_ignore_ascii_case("type") {
            continue;
        }
        if ty.is_empty() && value.is_empty() {
            continue;
        }
        if value.is_empty() {
            return Err(format!("CSV row {}: no value (expected type,value[,event[,info]])", i + 1));
        }
        let Some(kind) = misp::kind_of(ty) else {
            feed.skipped.push(format!("CSV row {} ({ty}): type not matched on the wire", i + 1));
            continue;
        };
        let id = if field(2).is_empty() { "csv" } else { field(2) };
        let pos = match feed.events.iter().position(|e| e.id == id) {
            Some(p) => p,
            None => {
                feed.events.push(Event { id: id.to_string(), info: field(3).to_string(), ..Default::default() });
                feed.events.len() - 1
            }
        };
        let value = misp::strip_port(ty, value);
        if let Some(ev) = feed.events.get_mut(pos) {
            if let Err(e) = ev.push(kind, value) {
                feed.skipped.push(format!("CSV row {}: {e}", i + 1));
            }
        }
    }
    feed.events.retain(|e| !e.indicators.is_empty());
    Ok(feed)
}

/// `picket intel import`: reads `input`, writes the dataset files and `<source>.rules` into
/// `out_dir` (unless `dry_run`). Returns what was (or would be) written.
pub fn import(
    input: &Path,
    out_dir: &Path,
    source: Option<&str>,
    sid_base: Option<u32>,
    dry_run: bool,
) -> Result<Output, String> {
    let feed = read_feed(input)?;
    let stem = input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "feed".into());
    let source = sanitize_name(source.unwrap_or(&stem));
    let out = render(&feed, &source, sid_base)?;
    if !dry_run {
        std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
        for (name, body) in &out.files {
            let p: PathBuf = out_dir.join(name);
            std::fs::write(&p, body).map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    Ok(out)
}

/// A name safe in file names, dataset names and rule text.
pub fn sanitize_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    out.truncate(32);
    if out.is_empty() {
        out.push_str("feed");
    }
    out
}

#[cfg(test)]
mod tests;
