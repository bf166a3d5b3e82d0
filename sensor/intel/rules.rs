//! The files an import writes: per event, dataset files (Suricata's format) and the rules
//! that load them; URLs and addresses as plain rules.

use std::fmt::Write as _;

use super::{Event, Feed, Kind};
use crate::detect::dataset::format_value;
use crate::rule::ast::DatasetType;

/// Sids one source may use.
pub(super) const SID_RANGE: u32 = 10_000;
/// Addresses per IP-only rule.
const IPS_PER_RULE: usize = 500;

/// What an import writes (or would write, with `--dry-run`).
#[derive(Debug, Default)]
pub struct Output {
    /// File name (inside the output folder) and content.
    pub files: Vec<(String, Vec<u8>)>,
    /// Rules written.
    pub rules: usize,
    /// Indicators used, per kind.
    pub indicators: Vec<(Kind, usize)>,
    /// First and last sid of the source's range.
    pub sid_range: (u32, u32),
    /// Elements not used, with why.
    pub skipped: Vec<String>,
    /// The feed's format.
    pub format: &'static str,
    /// Events with indicators.
    pub events: usize,
}

/// The start of a source's sid range, from its name (stable across runs).
pub(super) fn default_sid_base(source: &str) -> u32 {
    // FNV-1a: stable, unlike the std hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in source.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    9_100_000 + (h % 500) * SID_RANGE
}

/// Text safe inside a rule's quoted msg.
fn msg_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .map(|c| if matches!(c, '"' | ';' | '\\') { '\'' } else { c })
        .take(100)
        .collect()
}

/// A metadata value: no commas, semicolons, quotes or spaces.
fn meta_text(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.:/=@".contains(c) { c } else { '_' }).take(100).collect()
}

struct Writer<'a> {
    source: &'a str,
    next_sid: u32,
    last_sid: u32,
    text: String,
    rules: usize,
}

impl Writer<'_> {
    fn rule(&mut self, ev: &Event, header: &str, what: &str, body: &str) -> Result<(), String> {
        if self.next_sid > self.last_sid {
            return Err(format!(
                "source {}: more than {SID_RANGE} rules; split the feed or give another --sid-base",
                self.source
            ));
        }
        let info = if ev.info.is_empty() { String::new() } else { format!(" ({})", msg_text(&ev.info)) };
        let mut meta = format!("intel_source {}, intel_event {}", meta_text(self.source), meta_text(&ev.id));
        for t in ev.tags.iter().take(20) {
            let _ = write!(meta, ", intel_tag {}", meta_text(t));
        }
        let _ = writeln!(
            self.text,
            "alert {header} (msg:\"PICKET-INTEL {} event {}{info}: {what}\"; {body} sid:{}; rev:1; metadata:{meta};)",
            msg_text(self.source),
            msg_text(&ev.id),
            self.next_sid
        );
        self.next_sid += 1;
        self.rules += 1;
        Ok(())
    }
}

/// Renders a feed read from `source` (already a safe name).
pub fn render(feed: &Feed, source: &str, sid_base: Option<u32>) -> Result<Output, String> {
    let base = sid_base.unwrap_or_else(|| default_sid_base(source));
    let last = base.checked_add(SID_RANGE - 1).ok_or("--sid-base too large")?;
    let mut out = Output {
        sid_range: (base, last),
        skipped: feed.skipped.clone(),
        format: feed.format,
        events: feed.events.len(),
        ..Default::default()
    };
    let mut w = Writer { source, next_sid: base, last_sid: last, text: String::new(), rules: 0 };
    let _ = writeln!(
        w.text,
        "# Written by `picket intel import` from source {source} ({} format): {} event(s), sids {base}-{last}.",
        feed.format,
        feed.events.len()
    );
    let mut counts: std::collections::BTreeMap<Kind, usize> = Default::default();
    for (k, ev) in feed.events.iter().enumerate() {
        let of = |kind: Kind| ev.indicators.iter().filter(move |i| i.kind == kind).map(|i| i.value.as_str());
        for kind in [Kind::Domain, Kind::Url, Kind::Ip, Kind::Md5, Kind::Sha256, Kind::Ja3] {
            *counts.entry(kind).or_default() += of(kind).count();
        }
        let _ = writeln!(w.text, "\n# event {}: {}", msg_text(&ev.id), msg_text(&ev.info));
        // Datasets: one file per kind, Suricata's format.
        let mut dataset = |kind: Kind, ty: DatasetType, f: &dyn Fn(&str) -> Vec<u8>| -> Option<(String, String)> {
            let vals: Vec<&str> = of(kind).collect();
            if vals.is_empty() {
                return None;
            }
            let name = format!("{source}-e{k}-{}", kind.name());
            let file = format!("{name}.lst");
            let mut body = String::new();
            for v in vals {
                body.push_str(&format_value(ty, &f(v)));
                body.push('\n');
            }
            out.files.push((file.clone(), body.into_bytes()));
            Some((name, file))
        };
        let domains = dataset(Kind::Domain, DatasetType::String, &|v| format!(".{v}").into_bytes());
        let ja3 = dataset(Kind::Ja3, DatasetType::String, &|v| v.as_bytes().to_vec());
        let hex =
            |v: &str| (0..v.len() / 2).filter_map(|i| u8::from_str_radix(v.get(2 * i..2 * i + 2)?, 16).ok()).collect();
        let md5 = dataset(Kind::Md5, DatasetType::Md5, &hex);
        let sha = dataset(Kind::Sha256, DatasetType::Sha256, &hex);
        if let Some((set, file)) = domains {
            let ds = format!("dataset:isset,{set}, type string, load {file}, match subdomain;");
            for (header, buf, what) in [
                ("dns any any -> any any", "dns.query", "domain in a DNS query"),
                ("tls any any -> any any", "tls.sni", "domain in a TLS SNI"),
                ("http any any -> any any", "http.host", "domain in an HTTP host"),
            ] {
                w.rule(ev, header, what, &format!("{buf}; to_lowercase; dotprefix; {ds}"))?;
            }
        }
        if let Some((set, file)) = ja3 {
            let body = format!("ja3.hash; dataset:isset,{set}, type string, load {file};");
            w.rule(ev, "tls any any -> any any", "JA3 fingerprint", &body)?;
        }
        for (set, ty, xf, what) in [(md5, "md5", "to_md5", "file MD5"), (sha, "sha256", "to_sha256", "file SHA-256")] {
            if let Some((set, file)) = set {
                let body = format!(
                    "flow:established,to_client; file.data; {xf}; dataset:isset,{set}, type {ty}, load {file};"
                );
                w.rule(ev, "http any any -> any any", what, &body)?;
            }
        }
        for url in of(Kind::Url) {
            let Some((host, path)) = url_parts(url) else {
                out.skipped.push(format!("event {} url {url}: no host", ev.id));
                continue;
            };
            let mut body = format!(
                "flow:established,to_server; http.host; content:\"{}\"; bsize:{};",
                content_text(&host),
                host.len()
            );
            if path != "/" {
                let _ = write!(body, " http.uri; content:\"{}\"; bsize:{};", content_text(&path), path.len());
            }
            w.rule(ev, "http any any -> any any", &format!("URL {}", msg_text(url)), &body)?;
        }
        let ips: Vec<&str> = of(Kind::Ip).collect();
        for chunk in ips.chunks(IPS_PER_RULE) {
            let list = chunk.join(",");
            w.rule(ev, &format!("ip any any -> [{list}] any"), "traffic to a listed address", "")?;
            w.rule(ev, &format!("ip [{list}] any -> any any"), "traffic from a listed address", "")?;
        }
    }
    out.rules = w.rules;
    out.indicators = counts.into_iter().filter(|(_, n)| *n > 0).collect();
    out.files.push((format!("{source}.rules"), w.text.into_bytes()));
    Ok(out)
}

/// Host (lowercase, without port) and path (with query) of a URL.
fn url_parts(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://")?.1;
    let (auth, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let host = if host.starts_with('[') { host } else { host.split(':').next().unwrap_or(host) };
    if host.is_empty() {
        return None;
    }
    let path = path.split('#').next().unwrap_or("/");
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    Some((host.to_ascii_lowercase(), path))
}

/// A content's text: bytes outside printable ASCII, and `"`, `;`, `\`, `|`, as hex.
fn content_text(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'"' | b';' | b'\\' | b'|') || b == b' ' {
            out.push(b as char);
        } else {
            let _ = write!(out, "|{b:02x}|");
        }
    }
    out
}
