//! The HTML page: a view of the case (plain strings and numbers) rendered by minijinja with
//! HTML escaping on for every value, one inline stylesheet, one inline script and the inline
//! SVG timeline. A Content-Security-Policy with the hashes of that stylesheet and script stops
//! anything else from running or loading, should a value ever get past the escaping.

use std::io::Write;
use std::net::IpAddr;

use base64::Engine;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::case::{AlertFlow, Case, Seen, MAX_TEXT};
use super::chart::{self, bytes_human, SEVERITY_NAMES};
use super::clock;
use super::indicators::{self, KINDS};
use super::input::MAX_LINE;

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// A record's text made safe to look at: control characters (C0, DEL, C1) and the invisible
/// characters that reorder, break or hide text (bidi overrides and isolates, line and
/// paragraph separators, zero-width marks) are
/// written as visible escapes. HTML escaping is the template's job.
pub(crate) fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let u = c as u32;
        if c.is_control() {
            if u < 0x100 {
                out.push_str(&format!("\\x{u:02x}"));
            } else {
                out.push_str(&format!("\\u{{{u:04x}}}"));
            }
        } else if matches!(u, 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x2069 | 0xFEFF) {
            out.push_str(&format!("\\u{{{u:04x}}}"));
        } else {
            out.push(c);
        }
    }
    out
}

fn hash_source(s: &str) -> String {
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes())))
}

/// `1234567` -> `1,234,567`.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn num_filter(v: Value) -> String {
    if let Ok(n) = u64::try_from(v.clone()) {
        grouped(n)
    } else if let Ok(n) = i64::try_from(v.clone()) {
        format!("-{}", grouped(n.unsigned_abs()))
    } else {
        v.to_string()
    }
}

#[derive(Serialize)]
struct When {
    v: String,
    text: String,
}

fn when(t: Option<i64>) -> When {
    match t {
        Some(t) => When { v: t.to_string(), text: clock::human(t) },
        None => When { v: String::new(), text: String::new() },
    }
}

#[derive(Serialize)]
struct NameCount {
    name: String,
    n: u64,
}

#[derive(Serialize)]
struct Summary {
    first: Option<String>,
    last: Option<String>,
    duration: String,
    sensors: Vec<NameCount>,
    packets: Option<u64>,
    packet_bytes: String,
    runs: usize,
    flows: u64,
    flow_pkts: u64,
    flow_bytes: String,
    alerts: u64,
    signatures: usize,
    severity: Vec<NameCount>,
    records: u64,
    malformed: u64,
    too_long: u64,
    bad_ts: u64,
}

#[derive(Serialize)]
struct Table<T> {
    total: usize,
    rows: Vec<T>,
}

#[derive(Serialize)]
struct SigRow {
    alerts: u64,
    approx: bool,
    gid: u64,
    sid: u64,
    rev: String,
    sev: String,
    sev_class: usize,
    msg: String,
    category: String,
    first: When,
    last: When,
    srcs: Vec<String>,
    srcs_n: usize,
    srcs_more: bool,
    dsts: Vec<String>,
    dsts_n: usize,
    dsts_more: bool,
}

#[derive(Serialize)]
struct PeerRow {
    addr: String,
    alerts: u64,
    flows: u64,
    bytes: String,
}

#[derive(Serialize)]
struct HostRow {
    host: String,
    alerts: u64,
    approx: bool,
    sids: usize,
    flows: u64,
    bytes: u64,
    bytes_h: String,
    first: When,
    last: When,
    peers: Vec<PeerRow>,
    peers_more: bool,
}

#[derive(Serialize)]
struct FlowRow {
    alerts: u64,
    approx: bool,
    first: When,
    proto: String,
    src: String,
    dst: String,
    app: String,
    sids: Vec<u64>,
    sids_more: bool,
    community_id: String,
    cid_computed: bool,
    capture_file: String,
    carve: String,
}

#[derive(Serialize)]
struct IndRow {
    value: String,
    cut: bool,
    approx: bool,
    records: u64,
    alerts: u64,
    first: When,
    last: When,
    ja3: String,
    ja4: String,
    certs: Vec<CertView>,
    more_certs: bool,
    file_name: String,
    file_size: Option<u64>,
}

#[derive(Serialize)]
struct CertView {
    sha1: String,
    subject: String,
    issuer: String,
}

#[derive(Serialize)]
struct IndTable {
    kind: &'static str,
    title: &'static str,
    value_title: &'static str,
    needs: &'static str,
    total: usize,
    rows: Vec<IndRow>,
}

#[derive(Serialize)]
struct FileRow {
    name: String,
    bytes: u64,
    records: u64,
    malformed: u64,
    too_long: u64,
    error: String,
}

fn endpoint(a: Option<IpAddr>, p: Option<u64>) -> String {
    match (a, p) {
        (Some(IpAddr::V6(a)), Some(p)) => format!("[{a}]:{p}"),
        (Some(a), Some(p)) => format!("{a}:{p}"),
        (Some(a), None) => a.to_string(),
        (None, _) => String::new(),
    }
}

/// A shell word: single-quoted, or `None` when it holds characters a terminal would act on.
fn shell_word(s: &str) -> Option<String> {
    if s.chars().any(|c| c.is_control()) {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "'\\''")))
}

/// A command that cuts the flow's packets out of its capture (tcpdump with a BPF filter for
/// the two endpoints, tagged or not).
fn carve_command(f: &AlertFlow) -> String {
    let (Some(s), Some(d)) = (f.src, f.dst) else { return String::new() };
    let proto = match f.proto.to_ascii_uppercase().as_str() {
        "TCP" => "tcp",
        "UDP" => "udp",
        "SCTP" => "sctp",
        "ICMP" => "icmp",
        "IPV6-ICMP" | "ICMPV6" => "icmp6",
        _ => "",
    };
    let mut bpf = format!("host {s} and host {d}");
    match (proto, f.sport, f.dport) {
        ("tcp" | "udp" | "sctp", Some(a), Some(b)) => {
            bpf.push_str(&format!(" and {proto} port {a} and {proto} port {b}"))
        }
        ("", _, _) => {}
        (p, _, _) => bpf.push_str(&format!(" and {p}")),
    }
    let input = f.pcap_filename.as_deref().and_then(shell_word).unwrap_or_else(|| "CAPTURE.pcap".into());
    let id = f.flow_id.map(|i| i.to_string()).unwrap_or_else(|| "x".into());
    format!("tcpdump -r {input} -w flow-{id}.pcap '({bpf}) or (vlan and ({bpf}))'")
}

fn ind_rows(case: &Case, kind: &str, n: usize) -> Vec<IndRow> {
    indicators::rows(case, kind, n)
        .into_iter()
        .map(|r| IndRow {
            value: shown(&r.value),
            cut: r.cut,
            approx: r.approx,
            records: r.records,
            alerts: r.alerts,
            first: when(r.seen.first),
            last: when(r.seen.last),
            ja3: shown(&r.ja3),
            ja4: shown(&r.ja4),
            certs: r
                .certs
                .iter()
                .map(|c| CertView { sha1: shown(&c.sha1), subject: shown(&c.subject), issuer: shown(&c.issuer) })
                .collect(),
            more_certs: r.more_certs,
            file_name: shown(&r.file_name),
            file_size: r.file_size,
        })
        .collect()
}

/// What the page says about a table that had to drop entries.
fn limit_note(what: &str, dropped: u64, weight: Option<(u64, &str)>, cap: usize) -> Option<String> {
    (dropped > 0).then(|| {
        let with = weight.map(|(w, unit)| format!(" with {} {unit}", grouped(w))).unwrap_or_default();
        format!(
            "{what}: {} entries{with} were dropped to keep the table within {} entries (the totals above still count them); counts marked \u{2265} may be low.",
            grouped(dropped),
            grouped(cap as u64)
        )
    })
}

/// The summary cards.
fn summary(case: &Case) -> Summary {
    let sensors = case.sensors.top(50).into_iter().map(|(k, s)| NameCount { name: shown(k), n: s.value.0 }).collect();
    let totals = case.sensor_totals();
    let Seen { first, last } = case.span;
    Summary {
        first: first.map(clock::human),
        last: last.map(clock::human),
        duration: match (first, last) {
            (Some(a), Some(b)) => clock::duration(b.saturating_sub(a)),
            _ => String::new(),
        },
        sensors,
        packets: totals.map(|t| t.0),
        packet_bytes: totals.map(|t| bytes_human(t.1 as f64)).unwrap_or_default(),
        runs: totals.map(|t| t.2).unwrap_or(0),
        flows: case.flows,
        flow_pkts: case.flow_pkts,
        flow_bytes: bytes_human(case.flow_bytes as f64),
        alerts: case.alerts,
        signatures: case.signatures.len(),
        severity: SEVERITY_NAMES
            .iter()
            .zip(case.by_severity)
            .map(|(name, n)| NameCount { name: (*name).to_string(), n })
            .collect(),
        records: case.records,
        malformed: case.malformed,
        too_long: case.too_long,
        bad_ts: case.bad_timestamps,
    }
}

/// The top signatures, at most `rows`.
fn signatures(case: &Case, rows: usize) -> Table<SigRow> {
    Table {
        total: case.signatures.len(),
        rows: case
            .signatures
            .top(rows)
            .into_iter()
            .map(|(&(gid, sid), s)| {
                let v = &s.value;
                let list = |set: &[IpAddr]| set.iter().map(|a| a.to_string()).collect::<Vec<_>>();
                SigRow {
                    alerts: v.alerts,
                    approx: s.approx,
                    gid,
                    sid,
                    rev: v.rev.map(|r| r.to_string()).unwrap_or_default(),
                    sev: v.severity.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
                    sev_class: super::case::severity_slot(v.severity) + 1,
                    msg: shown(&v.msg),
                    category: shown(&v.category),
                    first: when(v.seen.first),
                    last: when(v.seen.last),
                    srcs: list(&v.srcs.sorted()),
                    srcs_n: v.srcs.len(),
                    srcs_more: v.srcs.full,
                    dsts: list(&v.dsts.sorted()),
                    dsts_n: v.dsts.len(),
                    dsts_more: v.dsts.full,
                }
            })
            .collect(),
    }
}

/// The internal hosts by alerts (then flows), with their external peers.
fn hosts(case: &Case, rows: usize) -> Table<HostRow> {
    Table {
        total: case.hosts.len(),
        rows: case
            .hosts
            .top(rows)
            .into_iter()
            .map(|(a, s)| {
                let h = &s.value;
                HostRow {
                    host: a.to_string(),
                    alerts: h.alerts,
                    approx: s.approx,
                    sids: h.sids.len(),
                    flows: h.flows,
                    bytes: h.bytes,
                    bytes_h: bytes_human(h.bytes as f64),
                    first: when(h.seen.first),
                    last: when(h.seen.last),
                    peers: h
                        .peers
                        .top(super::case::PEERS_PER_HOST)
                        .into_iter()
                        .map(|(p, ps)| PeerRow {
                            addr: p.to_string(),
                            alerts: ps.value.alerts,
                            flows: ps.value.flows,
                            bytes: bytes_human(ps.value.bytes as f64),
                        })
                        .collect(),
                    peers_more: h.peers.len() > super::case::PEERS_PER_HOST || h.peers.dropped_entries > 0,
                }
            })
            .collect(),
    }
}

/// The flows that alerted, with Community ID and where their packets are.
fn alerting_flows(case: &Case, rows: usize) -> Table<FlowRow> {
    Table {
        total: case.alert_flows.len(),
        rows: case
            .alert_flows
            .top(rows)
            .into_iter()
            .map(|(_, s)| {
                let f = &s.value;
                FlowRow {
                    alerts: f.alerts,
                    approx: s.approx,
                    first: when(f.seen.first),
                    proto: shown(&f.proto),
                    src: endpoint(f.src, f.sport),
                    dst: endpoint(f.dst, f.dport),
                    app: shown(&f.app_proto),
                    sids: f.sids.sorted(),
                    sids_more: f.sids.full,
                    community_id: shown(f.community_id.as_deref().unwrap_or("")),
                    cid_computed: f.community_id_computed,
                    capture_file: shown(f.capture_file.as_deref().unwrap_or("")),
                    carve: shown(&carve_command(f)),
                }
            })
            .collect(),
    }
}

/// One table per kind of indicator.
fn indicator_tables(case: &Case, rows: usize) -> Vec<IndTable> {
    let i = &case.ind;
    let totals_by_kind =
        [i.domains.len(), i.tls.len(), i.http_hosts.len(), i.user_agents.len(), i.files.len(), i.addresses.len()];
    let needs = [
        "dns records",
        "tls records or alerts with tls metadata",
        "http records",
        "http records",
        "fileinfo records",
        "",
    ];
    let value_titles = ["Domain", "SNI", "Host", "User agent", "Hash or name", "Address"];
    KINDS
        .iter()
        .enumerate()
        .map(|(n, (kind, title))| IndTable {
            kind,
            title,
            value_title: value_titles[n],
            needs: needs[n],
            total: totals_by_kind[n],
            rows: ind_rows(case, kind, rows),
        })
        .collect()
}

/// What the page says about the ceilings: what each full table dropped, or that nothing was.
fn limit_notes(case: &Case) -> Vec<String> {
    let i = &case.ind;
    let cap = case.limits.entries;
    let mut limits: Vec<String> = [
        limit_note(
            "Signatures",
            case.signatures.dropped_entries,
            Some((case.signatures.dropped_weight, "alerts")),
            cap,
        ),
        limit_note("Internal hosts", case.hosts.dropped_entries, None, cap),
        limit_note(
            "Alerting flows",
            case.alert_flows.dropped_entries,
            Some((case.alert_flows.dropped_weight, "alerts")),
            cap,
        ),
        limit_note("Domains", i.domains.dropped_entries, Some((i.domains.dropped_weight, "records and alerts")), cap),
        limit_note("TLS", i.tls.dropped_entries, Some((i.tls.dropped_weight, "records and alerts")), cap),
        limit_note(
            "HTTP hosts",
            i.http_hosts.dropped_entries,
            Some((i.http_hosts.dropped_weight, "records and alerts")),
            cap,
        ),
        limit_note(
            "User agents",
            i.user_agents.dropped_entries,
            Some((i.user_agents.dropped_weight, "records and alerts")),
            cap,
        ),
        limit_note("Files", i.files.dropped_entries, Some((i.files.dropped_weight, "records and alerts")), cap),
        limit_note(
            "External addresses",
            i.addresses.dropped_entries,
            Some((i.addresses.dropped_weight, "alerts")),
            cap,
        ),
        limit_note("Event types", case.types.dropped_entries, Some((case.types.dropped_weight, "records")), 256),
        limit_note("Sensors", case.sensors.dropped_entries, Some((case.sensors.dropped_weight, "records")), 256),
    ]
    .into_iter()
    .flatten()
    .collect();
    if case.stats_dropped > 0 {
        limits.push(format!(
            "Stats records: {} beyond the first 100,000 were not used for the packet count.",
            grouped(case.stats_dropped)
        ));
    }
    if limits.is_empty() {
        limits.push(format!(
            "Nothing was dropped: every table holds all its values (the limit is {} per table, --max-entries).",
            grouped(cap as u64)
        ));
    }
    limits
}

/// Renders the page of `case` into `out`, showing at most `rows` rows per table.
pub(crate) fn render(
    case: &Case,
    title: &str,
    home_net: &str,
    inputs: usize,
    rows: usize,
    now_us: i64,
    out: &mut dyn Write,
) -> Result<(), String> {
    let summary = summary(case);
    let sigs = signatures(case, rows);
    let hosts = hosts(case, rows);
    let flows = alerting_flows(case, rows);
    let indicator_tables = indicator_tables(case, rows);
    let types = case
        .types
        .top(usize::MAX)
        .into_iter()
        .map(|(k, s)| NameCount { name: shown(k), n: s.value.0 })
        .collect::<Vec<_>>();
    let limits = limit_notes(case);
    let (timeline_svg, timeline_note) = match chart::timeline(&case.timeline.series(), case.timeline.width_us()) {
        Ok(svg) => (Some(svg), String::new()),
        Err(e) => (None, e),
    };
    let files: Vec<FileRow> = case
        .files
        .iter()
        .map(|f| FileRow {
            name: shown(&f.name),
            bytes: f.bytes,
            records: f.records,
            malformed: f.malformed,
            too_long: f.too_long,
            error: shown(f.error.as_deref().unwrap_or("")),
        })
        .collect();

    let ctx = minijinja::context! {
        title => shown(title),
        version => env!("CARGO_PKG_VERSION"),
        generated => clock::human(now_us),
        inputs => inputs,
        home_net => home_net,
        style => STYLE,
        script => SCRIPT,
        style_hash => hash_source(STYLE),
        script_hash => hash_source(SCRIPT),
        s => Value::from(Serde(&summary)),
        types => Value::from(Serde(&types)),
        timeline_svg => timeline_svg,
        timeline_note => timeline_note,
        bin_width => clock::duration(case.timeline.width_us()),
        sigs => Value::from(Serde(&sigs)),
        hosts => Value::from(Serde(&hosts)),
        flows => Value::from(Serde(&flows)),
        indicators => Value::from(Serde(&indicator_tables)),
        limits => limits,
        examples => case.malformed_examples.iter().map(|e| shown(e)).collect::<Vec<_>>(),
        files => Value::from(Serde(&files)),
        files_skipped => case.files_skipped.iter().map(|f| shown(f)).collect::<Vec<_>>(),
        max_text => MAX_TEXT,
        max_line => format!("{} MiB", MAX_LINE >> 20),
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("num", num_filter);
    env.add_template("report.html", TEMPLATE).map_err(|e| format!("template: {e:#}"))?;
    let tmpl = env.get_template("report.html").map_err(|e| format!("template: {e:#}"))?;
    tmpl.render_captured_to(ctx, out).map_err(|e| format!("rendering: {e:#}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_makes_hidden_characters_visible() {
        assert_eq!(shown("a\u{0}b\x1b[31m\u{7f}\u{85}"), "a\\x00b\\x1b[31m\\x7f\\x85");
        assert_eq!(shown("x\u{202e}y\u{200b}z"), "x\\u{202e}y\\u{200b}z");
        assert_eq!(shown("<script>\"é\""), "<script>\"é\"");
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
    }

    #[test]
    fn shell_words_are_quoted_or_refused() {
        assert_eq!(shell_word("a b'c").unwrap(), "'a b'\\''c'");
        assert!(shell_word("a\nb").is_none());
    }
}
