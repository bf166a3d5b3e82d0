//! Indicators for the hand-over: one row per value seen (domains queried, TLS clients and
//! certificates, HTTP hosts and user agents, files, external addresses in alerts), shown in the
//! page and exported as CSV or as a STIX 2.1 bundle.
//!
//! CSV carries the values as seen (RFC 4180 quoting; a value may be anything an attacker sent,
//! so open it as data, not in a spreadsheet that evaluates formulas). STIX carries only what
//! its patterns can state truthfully: a domain only when it is a syntactically valid name, a
//! hash only when it has the right length in hex; values cut at the length limit are in
//! neither export. What was left out is counted in [`Export::left_out`].

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;

use serde_json::{json, Value};

use super::case::{Case, Cert, Ind, Seen};
use super::clock;

/// One indicator row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub(crate) kind: &'static str,
    pub(crate) value: String,
    pub(crate) seen: Seen,
    pub(crate) records: u64,
    pub(crate) alerts: u64,
    /// Counts may be low (the value was created after the table had to drop entries).
    pub(crate) approx: bool,
    /// The value was longer than the limit and is cut.
    pub(crate) cut: bool,
    pub(crate) ja3: String,
    pub(crate) ja4: String,
    /// The certificates the client was shown (TLS).
    pub(crate) certs: Vec<Cert>,
    pub(crate) more_certs: bool,
    pub(crate) file_name: String,
    pub(crate) file_size: Option<u64>,
    pub(crate) md5: String,
    pub(crate) sha1: String,
    pub(crate) sha256: String,
}

/// The kinds, in the order the page and the exports list them.
pub(crate) const KINDS: [(&str, &str); 6] = [
    ("domain", "Domains queried (DNS)"),
    ("tls", "TLS: SNI, JA3/JA4 and certificates"),
    ("http-host", "HTTP hosts"),
    ("user-agent", "HTTP user agents"),
    ("file", "Files"),
    ("address", "External addresses in alerts"),
];

fn row(kind: &'static str, value: String, ind: &Ind, approx: bool) -> Row {
    Row {
        kind,
        value,
        seen: ind.seen,
        records: ind.records,
        alerts: ind.alerts,
        approx,
        cut: ind.cut,
        ..Default::default()
    }
}

/// The rows of one kind, heaviest first, at most `n`.
pub(crate) fn rows(case: &Case, kind: &str, n: usize) -> Vec<Row> {
    let i = &case.ind;
    match kind {
        "domain" => i.domains.top(n).into_iter().map(|(k, s)| row("domain", k.clone(), &s.value, s.approx)).collect(),
        "http-host" => {
            i.http_hosts.top(n).into_iter().map(|(k, s)| row("http-host", k.clone(), &s.value, s.approx)).collect()
        }
        "user-agent" => {
            i.user_agents.top(n).into_iter().map(|(k, s)| row("user-agent", k.clone(), &s.value, s.approx)).collect()
        }
        "address" => {
            i.addresses.top(n).into_iter().map(|(k, s)| row("address", k.to_string(), &s.value, s.approx)).collect()
        }
        "tls" => i
            .tls
            .top(n)
            .into_iter()
            .map(|(k, s)| Row {
                ja3: k.ja3.clone(),
                ja4: k.ja4.clone(),
                certs: s.value.certs.clone(),
                more_certs: s.value.more_certs,
                ..row("tls", k.sni.clone(), &s.value.ind, s.approx)
            })
            .collect(),
        "file" => i
            .files
            .top(n)
            .into_iter()
            .map(|(k, s)| {
                let value = [&k.sha256, &k.sha1, &k.md5, &k.name].into_iter().find(|v| !v.is_empty()).cloned();
                Row {
                    file_name: k.name.clone(),
                    file_size: k.size,
                    md5: k.md5.clone(),
                    sha1: k.sha1.clone(),
                    sha256: k.sha256.clone(),
                    ..row("file", value.unwrap_or_default(), &s.value, s.approx)
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Every row of every kind (as many as the case kept).
pub(crate) fn all_rows(case: &Case) -> Vec<Row> {
    KINDS.iter().flat_map(|(k, _)| rows(case, k, usize::MAX)).collect()
}

/// What an export wrote and left out.
#[derive(Debug, Default)]
pub(crate) struct Export {
    pub(crate) written: usize,
    /// Reasons and counts of what was not exported.
    pub(crate) left_out: BTreeMap<&'static str, usize>,
}

const CSV_HEADER: [&str; 17] = [
    "kind",
    "value",
    "first_seen",
    "last_seen",
    "records",
    "alerts",
    "counts_exact",
    "ja3",
    "ja4",
    "cert_subject",
    "cert_issuer",
    "cert_sha1",
    "file_name",
    "file_size",
    "md5",
    "sha1",
    "sha256",
];

/// Several certificates in one CSV field, in the same order in each of the three fields.
fn join(certs: &[Cert], f: impl Fn(&Cert) -> &String) -> String {
    certs.iter().map(f).map(String::as_str).collect::<Vec<_>>().join(" | ")
}

/// Writes the indicators as CSV.
pub(crate) fn write_csv(rows: &[Row], out: impl Write) -> std::io::Result<Export> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER)?;
    let mut ex = Export::default();
    let t = |v: Option<i64>| v.map(clock::rfc3339).unwrap_or_default();
    for r in rows {
        if r.cut {
            *ex.left_out.entry("value longer than the limit (cut)").or_default() += 1;
            continue;
        }
        w.write_record([
            r.kind,
            &r.value,
            &t(r.seen.first),
            &t(r.seen.last),
            &r.records.to_string(),
            &r.alerts.to_string(),
            if r.approx { "false" } else { "true" },
            &r.ja3,
            &r.ja4,
            &join(&r.certs, |c| &c.subject),
            &join(&r.certs, |c| &c.issuer),
            &join(&r.certs, |c| &c.sha1),
            &r.file_name,
            &r.file_size.map(|s| s.to_string()).unwrap_or_default(),
            &r.md5,
            &r.sha1,
            &r.sha256,
        ])?;
        ex.written += 1;
    }
    w.flush()?;
    Ok(ex)
}

/// A STIX pattern string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A DNS name STIX can carry: letters, digits, `-`, `_`, dots between labels of 1 to 63.
pub(crate) fn is_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn hex_of_len(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn address_pattern(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v) => format!("[ipv4-addr:value = {}]", lit(&v.to_string())),
        IpAddr::V6(v) => format!("[ipv6-addr:value = {}]", lit(&v.to_string())),
    }
}

fn host_pattern(h: &str) -> Option<String> {
    if let Ok(a) = h.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>() {
        return Some(address_pattern(a));
    }
    is_domain(h).then(|| format!("[domain-name:value = {}]", lit(h)))
}

/// One STIX indicator being assembled (several rows may state the same pattern).
struct Pending {
    name: String,
    pattern: String,
    seen: Seen,
    records: u64,
    alerts: u64,
    ja3: Vec<String>,
    ja4: Vec<String>,
}

/// The patterns a row states, with a name for each; or why it states none.
fn patterns(r: &Row) -> Result<Vec<(String, String)>, &'static str> {
    if r.cut {
        return Err("value longer than the limit (cut)");
    }
    let mut out = Vec::new();
    match r.kind {
        "domain" => out
            .push((format!("Domain {}", r.value), host_pattern(&r.value).ok_or("not a valid domain name or address")?)),
        "http-host" => out.push((
            format!("HTTP host {}", r.value),
            host_pattern(&r.value).ok_or("not a valid domain name or address")?,
        )),
        "user-agent" => out.push((
            format!("HTTP user agent {}", r.value),
            format!("[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = {}]", lit(&r.value)),
        )),
        "address" => {
            let a: IpAddr = r.value.parse().map_err(|_| "not an address")?;
            out.push((format!("Address {a}"), address_pattern(a)));
        }
        "tls" => {
            if !r.value.is_empty() {
                if let Some(p) = host_pattern(&r.value) {
                    out.push((format!("Domain {}", r.value), p));
                }
            }
            for c in &r.certs {
                let fp: String = c.sha1.chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
                if hex_of_len(&fp, 40) {
                    let subject = if c.subject.is_empty() { String::new() } else { format!(" ({})", c.subject) };
                    out.push((
                        format!("TLS certificate {fp}{subject}"),
                        format!("[x509-certificate:hashes.'SHA-1' = {}]", lit(&fp)),
                    ));
                }
            }
            if out.is_empty() {
                return Err("TLS client without a valid SNI or certificate hash (JA3/JA4 only are in the CSV)");
            }
        }
        "file" => {
            let mut h = Vec::new();
            for (name, v, n) in [("SHA-256", &r.sha256, 64), ("SHA-1", &r.sha1, 40), ("MD5", &r.md5, 32)] {
                if hex_of_len(v, n) {
                    h.push(format!("file:hashes.'{name}' = {}", lit(v)));
                }
            }
            let label = if r.file_name.is_empty() { r.value.clone() } else { r.file_name.clone() };
            if !h.is_empty() {
                out.push((format!("File {label}"), format!("[{}]", h.join(" OR "))));
            } else if !r.file_name.is_empty() {
                let size = r.file_size.map(|s| format!(" AND file:size = {s}")).unwrap_or_default();
                out.push((format!("File {label}"), format!("[file:name = {}{size}]", lit(&r.file_name))));
            } else {
                return Err("file without a name or a valid hash");
            }
        }
        _ => return Err("unknown kind"),
    }
    Ok(out)
}

/// A STIX id whose UUID is derived from `name`: the same indicator gets the same id in every
/// export, so hand-overs merge. STIX asks version 4 UUIDs of its domain objects, i.e. random
/// or pseudo-random bits: here the first 128 bits of SHA-256 over a fixed prefix and the name,
/// with the version and variant bits set.
fn stix_id(kind: &str, name: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"picket report STIX 2.1\0");
    h.update(kind.as_bytes());
    h.update(b"\0");
    h.update(name);
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("{kind}--{}", uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// The STIX 2.1 bundle of the indicators.
pub(crate) fn stix_bundle(rows: &[Row], now_us: i64) -> (Value, Export) {
    let now = clock::rfc3339(now_us);
    let identity = stix_id("identity", b"picket");
    let tls_ext = stix_id("extension-definition", b"tls-client-fingerprints");
    let mut ex = Export::default();
    let mut by_pattern: BTreeMap<String, Pending> = BTreeMap::new();
    for r in rows {
        match patterns(r) {
            Err(why) => *ex.left_out.entry(why).or_default() += 1,
            Ok(ps) => {
                for (name, pattern) in ps {
                    let p = by_pattern.entry(pattern.clone()).or_insert_with(|| Pending {
                        name,
                        pattern,
                        seen: Seen::default(),
                        records: 0,
                        alerts: 0,
                        ja3: Vec::new(),
                        ja4: Vec::new(),
                    });
                    p.seen.at(r.seen.first);
                    p.seen.at(r.seen.last);
                    p.records += r.records;
                    p.alerts += r.alerts;
                    for (list, v) in [(&mut p.ja3, &r.ja3), (&mut p.ja4, &r.ja4)] {
                        if !v.is_empty() && !list.contains(v) && list.len() < 32 {
                            list.push(v.clone());
                        }
                    }
                }
            }
        }
    }
    let mut objects = vec![json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity,
        "created": now,
        "modified": now,
        "name": "Picket network sensor (picket report)",
        "identity_class": "system",
    })];
    let with_fingerprints = by_pattern.values().any(|p| !p.ja3.is_empty() || !p.ja4.is_empty());
    if with_fingerprints {
        // JA3/JA4 have no STIX property: a top-level property extension carries them on the
        // indicators of the names and certificates the clients were seen with.
        objects.push(json!({
            "type": "extension-definition",
            "spec_version": "2.1",
            "id": tls_ext,
            "created_by_ref": identity,
            "created": now,
            "modified": now,
            "name": "Picket TLS client fingerprints",
            "description": "JA3 and JA4 fingerprints of the TLS clients the sensor saw with an indicator's server name or certificate.",
            "schema": "x_picket_ja3: list of JA3 hashes (MD5, 32 hex digits, Suricata's tls.ja3.hash); x_picket_ja4: list of JA4 fingerprints (Suricata's tls.ja4). At most 32 of each.",
            "version": "1.0.0",
            "extension_types": ["toplevel-property-extension"],
            "extension_properties": ["x_picket_ja3", "x_picket_ja4"],
        }));
    }
    for p in by_pattern.into_values() {
        let t = |v: Option<i64>| v.map(clock::rfc3339).unwrap_or_else(|| now.clone());
        let mut o = json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": stix_id("indicator", p.pattern.as_bytes()),
            "created_by_ref": identity,
            "created": now,
            "modified": now,
            "name": p.name,
            "description": format!(
                "Seen by the sensor in {} record(s) and {} alert(s), first {}, last {}.",
                p.records, p.alerts, t(p.seen.first), t(p.seen.last)
            ),
            "indicator_types": [if p.alerts > 0 { "anomalous-activity" } else { "unknown" }],
            "pattern": p.pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": t(p.seen.first),
        });
        if let Some(m) = o.as_object_mut() {
            if !p.ja3.is_empty() {
                m.insert("x_picket_ja3".into(), json!(p.ja3));
            }
            if !p.ja4.is_empty() {
                m.insert("x_picket_ja4".into(), json!(p.ja4));
            }
            if !p.ja3.is_empty() || !p.ja4.is_empty() {
                m.insert("extensions".into(), json!({ &tls_ext: { "extension_type": "toplevel-property-extension" } }));
            }
        }
        objects.push(o);
        ex.written += 1;
    }
    let bundle = json!({
        "type": "bundle",
        // Differs between exports: a bundle is one hand-over.
        "id": stix_id("bundle", format!("{now_us}").as_bytes()),
        "objects": objects,
    });
    (bundle, ex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: &'static str, value: &str) -> Row {
        Row { kind, value: value.into(), records: 1, ..Default::default() }
    }

    #[test]
    fn patterns_quote_and_refuse() {
        assert_eq!(patterns(&r("domain", "a.example")).unwrap()[0].1, "[domain-name:value = 'a.example']");
        assert_eq!(patterns(&r("http-host", "10.0.0.1")).unwrap()[0].1, "[ipv4-addr:value = '10.0.0.1']");
        assert_eq!(
            patterns(&r("user-agent", "it's \\ x")).unwrap()[0].1,
            r"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'it\'s \\ x']"
        );
        assert!(patterns(&r("domain", "<script>")).is_err());
        assert!(patterns(&r("domain", "a..b")).is_err());
        assert!(patterns(&Row { cut: true, ..r("domain", "a.example") }).is_err());
        let f = Row { file_name: "x.exe".into(), sha256: "zz".into(), md5: "0".repeat(32), ..r("file", "x") };
        assert_eq!(patterns(&f).unwrap()[0].1, format!("[file:hashes.'MD5' = '{}']", "0".repeat(32)));
        let f = Row { file_name: "x.exe".into(), file_size: Some(5), ..r("file", "x.exe") };
        assert_eq!(patterns(&f).unwrap()[0].1, "[file:name = 'x.exe' AND file:size = 5]");
        let cert =
            Cert { sha1: "31:3B:70:94:d5:df:90:78:9c:a0:74:26:20:24:e4:3d:92:a7:57:9d".into(), ..Default::default() };
        let t = Row { certs: vec![cert], ..r("tls", "") };
        assert_eq!(
            patterns(&t).unwrap()[0].1,
            "[x509-certificate:hashes.'SHA-1' = '313b7094d5df90789ca074262024e43d92a7579d']"
        );
    }

    #[test]
    fn same_pattern_one_indicator_with_stable_id() {
        let rows = vec![r("domain", "a.example"), Row { ja3: "j".into(), ..r("tls", "a.example") }];
        let (b, ex) = stix_bundle(&rows, 0);
        let objs = b["objects"].as_array().unwrap();
        // identity, extension definition, one indicator
        assert_eq!((objs.len(), ex.written), (3, 1));
        let ind = &objs[2];
        assert_eq!(ind["x_picket_ja3"], json!(["j"]));
        assert_eq!(ind["extensions"][objs[1]["id"].as_str().unwrap()]["extension_type"], "toplevel-property-extension");
        assert_eq!(ind["description"].as_str().unwrap().split(" record").next(), Some("Seen by the sensor in 2"));
        let (b2, _) = stix_bundle(&rows, 1_000_000);
        assert_eq!(ind["id"], b2["objects"][2]["id"]);
        assert_ne!(b["id"], b2["id"]);
        let id = ind["id"].as_str().unwrap();
        let u = uuid::Uuid::parse_str(id.strip_prefix("indicator--").unwrap()).unwrap();
        assert_eq!(u.get_version_num(), 4);
    }

    #[test]
    fn csv_quotes_and_leaves_out_cut_values() {
        let rows = vec![r("user-agent", "a,\"b\"\n"), Row { cut: true, ..r("domain", "x") }];
        let mut out = Vec::new();
        let ex = write_csv(&rows, &mut out).unwrap();
        assert_eq!(ex.written, 1);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("user-agent,\"a,\"\"b\"\"\n\","), "{text}");
    }
}
