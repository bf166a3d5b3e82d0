//! The case: everything the report shows, built record by record in one pass, within fixed
//! ceilings (see [`Limits`]) so that its memory does not grow with the input.

use std::net::IpAddr;

use super::clock;
use super::net::HomeNet;
use super::record::Record;
use super::tally::{Capped, CappedSet, Timeline, Weight};

/// The ceilings of a case.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Entries kept per table (signatures, hosts, flows, each kind of indicator).
    pub(crate) entries: usize,
    /// Bins of the timeline.
    pub(crate) bins: usize,
}

/// Longest text kept from a field; longer values are cut and flagged.
pub(crate) const MAX_TEXT: usize = 512;
/// Longest event type or sensor name kept.
const MAX_NAME: usize = 64;
/// Stats samples kept (a sensor writes one every few seconds: a week at 8 s is 75,600).
const MAX_STATS_SAMPLES: usize = 100_000;
/// Input files listed one by one.
pub(crate) const MAX_FILES_LISTED: usize = 10_000;
/// Examples of malformed lines kept.
const MAX_EXAMPLES: usize = 20;

/// A field's text, cut to `max` bytes (at a character boundary); the flag says it was cut.
pub(crate) fn clip(s: &str, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s.to_owned(), false);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (s[..end].to_owned(), true)
}

/// First and last time seen (microseconds since the epoch).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Seen {
    pub(crate) first: Option<i64>,
    pub(crate) last: Option<i64>,
}

impl Seen {
    pub(crate) fn at(&mut self, ts: Option<i64>) {
        if let Some(t) = ts {
            self.first = Some(self.first.map_or(t, |f| f.min(t)));
            self.last = Some(self.last.map_or(t, |l| l.max(t)));
        }
    }
}

/// A count (for event types and sensors).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Count(pub(crate) u64);

impl Weight for Count {
    fn weight(&self) -> u64 {
        self.0
    }
}

/// One signature (by gid and sid).
#[derive(Debug, Clone)]
pub(crate) struct Sig {
    pub(crate) rev: Option<u64>,
    pub(crate) msg: String,
    pub(crate) category: String,
    pub(crate) severity: Option<u64>,
    pub(crate) alerts: u64,
    pub(crate) seen: Seen,
    pub(crate) srcs: CappedSet<IpAddr, 16>,
    pub(crate) dsts: CappedSet<IpAddr, 16>,
}

impl Weight for Sig {
    fn weight(&self) -> u64 {
        self.alerts
    }
}

/// Alerts outrank flows when hosts or peers must be dropped.
fn alerts_then_flows(alerts: u64, flows: u64) -> u64 {
    alerts.saturating_mul(1 << 24).saturating_add(flows.min((1 << 24) - 1))
}

/// An external address an internal host exchanged with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Peer {
    pub(crate) alerts: u64,
    pub(crate) flows: u64,
    pub(crate) bytes: u64,
}

impl Weight for Peer {
    fn weight(&self) -> u64 {
        alerts_then_flows(self.alerts, self.flows)
    }
}

/// Peers kept per internal host.
pub(crate) const PEERS_PER_HOST: usize = 8;

/// An internal host (inside `--home-net`).
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) alerts: u64,
    pub(crate) flows: u64,
    pub(crate) bytes: u64,
    pub(crate) seen: Seen,
    pub(crate) sids: CappedSet<u64, 16>,
    pub(crate) peers: Capped<IpAddr, Peer>,
}

impl Weight for Host {
    fn weight(&self) -> u64 {
        alerts_then_flows(self.alerts, self.flows)
    }
}

/// A flow that alerted, keyed by flow id and its two endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FlowKey {
    flow_id: u64,
    lo: Option<(IpAddr, u16)>,
    hi: Option<(IpAddr, u16)>,
}

/// What the report shows of an alerting flow.
#[derive(Debug, Clone)]
pub(crate) struct AlertFlow {
    pub(crate) flow_id: Option<u64>,
    pub(crate) proto: String,
    pub(crate) src: Option<IpAddr>,
    pub(crate) sport: Option<u64>,
    pub(crate) dst: Option<IpAddr>,
    pub(crate) dport: Option<u64>,
    pub(crate) app_proto: String,
    /// From the record; else computed from the 5-tuple (flagged).
    pub(crate) community_id: Option<String>,
    pub(crate) community_id_computed: bool,
    pub(crate) alerts: u64,
    pub(crate) seen: Seen,
    pub(crate) sids: CappedSet<u64, 8>,
    /// The pcap-log file holding the flow's packets, when the sensor wrote one.
    pub(crate) capture_file: Option<String>,
    /// The capture the sensor read the flow from (replay).
    pub(crate) pcap_filename: Option<String>,
}

impl Weight for AlertFlow {
    fn weight(&self) -> u64 {
        self.alerts
    }
}

/// An indicator's counts: records of its protocol that name it, alerts that name it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ind {
    pub(crate) records: u64,
    pub(crate) alerts: u64,
    pub(crate) seen: Seen,
    /// The value was longer than [`MAX_TEXT`] and is cut (kept out of the exports).
    pub(crate) cut: bool,
}

impl Weight for Ind {
    fn weight(&self) -> u64 {
        self.records.saturating_add(self.alerts)
    }
}

impl Ind {
    fn count(&mut self, from_alert: bool, ts: Option<i64>, cut: bool) {
        if from_alert {
            self.alerts += 1;
        } else {
            self.records += 1;
        }
        self.seen.at(ts);
        self.cut |= cut;
    }
}

/// A TLS client: the server name it asked for and its fingerprints.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TlsKey {
    pub(crate) sni: String,
    pub(crate) ja3: String,
    pub(crate) ja4: String,
}

/// A server certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cert {
    /// SHA-1 of the certificate (`tls.fingerprint`).
    pub(crate) sha1: String,
    pub(crate) subject: String,
    pub(crate) issuer: String,
}

/// Certificates kept per TLS client.
pub(crate) const CERTS_PER_CLIENT: usize = 4;

/// Counts of a [`TlsKey`] and the certificates its servers showed (alerts often carry the
/// client's side only: they count on the same row).
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsInd {
    pub(crate) ind: Ind,
    pub(crate) certs: Vec<Cert>,
    /// More certificates than [`CERTS_PER_CLIENT`] were seen.
    pub(crate) more_certs: bool,
}

impl Weight for TlsInd {
    fn weight(&self) -> u64 {
        self.ind.weight()
    }
}

/// A file seen on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FileKey {
    pub(crate) name: String,
    pub(crate) size: Option<u64>,
    pub(crate) md5: String,
    pub(crate) sha1: String,
    pub(crate) sha256: String,
}

/// Indicator tables for the hand-over.
#[derive(Debug)]
pub(crate) struct Indicators {
    pub(crate) domains: Capped<String, Ind>,
    pub(crate) tls: Capped<TlsKey, TlsInd>,
    pub(crate) http_hosts: Capped<String, Ind>,
    pub(crate) user_agents: Capped<String, Ind>,
    pub(crate) files: Capped<FileKey, Ind>,
    /// External addresses in alerts.
    pub(crate) addresses: Capped<IpAddr, Ind>,
}

/// One stats record's counters (cumulative since its sensor started).
#[derive(Debug, Clone)]
struct StatsSample {
    sensor: String,
    file: u32,
    ts: Option<i64>,
    uptime: Option<u64>,
    pkts: u64,
    bytes: u64,
}

/// One input file and what was read from it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileRead {
    pub(crate) name: String,
    pub(crate) bytes: u64,
    pub(crate) records: u64,
    pub(crate) malformed: u64,
    pub(crate) too_long: u64,
    pub(crate) error: Option<String>,
}

/// The case.
#[derive(Debug)]
pub(crate) struct Case {
    pub(crate) limits: Limits,
    home: HomeNet,
    pub(crate) records: u64,
    pub(crate) malformed: u64,
    pub(crate) too_long: u64,
    pub(crate) malformed_examples: Vec<String>,
    pub(crate) bad_timestamps: u64,
    pub(crate) span: Seen,
    pub(crate) types: Capped<String, Count>,
    pub(crate) sensors: Capped<String, Count>,
    stats: Vec<StatsSample>,
    pub(crate) stats_dropped: u64,
    pub(crate) flows: u64,
    pub(crate) flow_pkts: u64,
    pub(crate) flow_bytes: u64,
    pub(crate) alerts: u64,
    /// Alerts by severity 1, 2, 3, and anything else.
    pub(crate) by_severity: [u64; 4],
    pub(crate) signatures: Capped<(u64, u64), Sig>,
    pub(crate) hosts: Capped<IpAddr, Host>,
    pub(crate) alert_flows: Capped<FlowKey, AlertFlow>,
    pub(crate) ind: Indicators,
    pub(crate) timeline: Timeline,
    pub(crate) files: Vec<FileRead>,
    pub(crate) files_unlisted: u64,
    pub(crate) files_skipped: Vec<String>,
}

/// The sensor name shown for records without `host`.
pub(crate) const UNNAMED: &str = "(records carry no host name)";

/// Index 0..=3 of a severity (1, 2, 3, other).
pub(crate) fn severity_slot(sev: Option<u64>) -> usize {
    match sev {
        Some(s @ 1..=3) => s as usize - 1,
        _ => 3,
    }
}

fn ip(s: &super::record::Str) -> Option<IpAddr> {
    s.get().and_then(|s| s.parse().ok())
}

fn port(n: super::record::Num) -> Option<u64> {
    n.0.filter(|p| *p <= 65535)
}

fn nonempty<'s>(s: &'s super::record::Str) -> Option<&'s str> {
    s.get().map(str::trim).filter(|s| !s.is_empty())
}

/// IANA protocol number of an EVE `proto` (`TCP`, `UDP`, `ICMP`, `IPv6-ICMP`, `SCTP`, or a
/// number).
fn proto_number(p: &str) -> Option<u8> {
    match p.to_ascii_uppercase().as_str() {
        "TCP" => Some(6),
        "UDP" => Some(17),
        "ICMP" => Some(1),
        "IPV6-ICMP" | "ICMPV6" => Some(58),
        "SCTP" => Some(132),
        other => other.parse().ok(),
    }
}

fn community_id(proto: &str, src: IpAddr, dst: IpAddr, sp: u64, dp: u64) -> Option<String> {
    let p = proto_number(proto)?;
    let bytes = |a: IpAddr| match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    };
    if src.is_ipv4() != dst.is_ipv4() {
        return None;
    }
    let (sp, dp) = (u16::try_from(sp).ok()?, u16::try_from(dp).ok()?);
    Some(crate::flow::community_id::community_id(0, &bytes(src), &bytes(dst), p, sp, dp))
}

impl Case {
    pub(crate) fn new(limits: Limits, home: HomeNet) -> Case {
        let n = limits.entries;
        Case {
            limits,
            home,
            records: 0,
            malformed: 0,
            too_long: 0,
            malformed_examples: Vec::new(),
            bad_timestamps: 0,
            span: Seen::default(),
            types: Capped::new(256),
            sensors: Capped::new(256),
            stats: Vec::new(),
            stats_dropped: 0,
            flows: 0,
            flow_pkts: 0,
            flow_bytes: 0,
            alerts: 0,
            by_severity: [0; 4],
            signatures: Capped::new(n),
            hosts: Capped::new(n),
            alert_flows: Capped::new(n),
            ind: Indicators {
                domains: Capped::new(n),
                tls: Capped::new(n),
                http_hosts: Capped::new(n),
                user_agents: Capped::new(n),
                files: Capped::new(n),
                addresses: Capped::new(n),
            },
            timeline: Timeline::new(limits.bins),
            files: Vec::new(),
            files_unlisted: 0,
            files_skipped: Vec::new(),
        }
    }

    /// Starts an input file; its index is what [`Case::add`] takes.
    pub(crate) fn begin_file(&mut self, name: String) -> u32 {
        if self.files.len() >= MAX_FILES_LISTED {
            self.files_unlisted += 1;
            // Later files share the last slot's counts under a summary name.
            if let Some(last) = self.files.last_mut() {
                last.name = format!("{} more files", self.files_unlisted + 1);
            }
        } else {
            self.files.push(FileRead { name, ..Default::default() });
        }
        (self.files.len() - 1) as u32
    }

    pub(crate) fn file_mut(&mut self, i: u32) -> Option<&mut FileRead> {
        self.files.get_mut(i as usize)
    }

    /// Counts a line that is not a record.
    pub(crate) fn malformed(&mut self, file: u32, line: u64, why: &str) {
        self.malformed += 1;
        if let Some(f) = self.files.get_mut(file as usize) {
            f.malformed += 1;
        }
        if self.malformed_examples.len() < MAX_EXAMPLES {
            let name = self.files.get(file as usize).map(|f| f.name.as_str()).unwrap_or("?");
            self.malformed_examples.push(format!("{name}:{line}: {}", clip(why, 200).0));
        }
    }

    /// Adds one record.
    pub(crate) fn add(&mut self, r: &Record, file: u32) {
        self.records += 1;
        if let Some(f) = self.files.get_mut(file as usize) {
            f.records += 1;
        }
        let ts = r.timestamp.get().and_then(clock::parse_us);
        if ts.is_none() {
            self.bad_timestamps += 1;
        }
        self.span.at(ts);
        let et = r.event_type.get().unwrap_or("");
        self.types.entry(clip(et, MAX_NAME).0, Count::default).0 += 1;
        let sensor = nonempty(&r.host).map(|h| clip(h, MAX_NAME).0).unwrap_or_else(|| UNNAMED.to_string());
        match et {
            "alert" => self.alert(r, ts),
            "flow" => self.flow(r, ts),
            "dns" => self.dns(r, ts, false),
            "tls" => self.tls(r, ts, false),
            "http" => self.http(r, ts, false),
            "fileinfo" => self.fileinfo(r, ts, false),
            "stats" => self.stats(r, ts, &sensor, file),
            _ => {}
        }
        self.sensors.entry(sensor, Count::default).0 += 1;
    }

    fn alert(&mut self, r: &Record, ts: Option<i64>) {
        let Some(a) = &r.alert.0 else { return };
        self.alerts += 1;
        let slot = severity_slot(a.severity.0);
        self.by_severity[slot] += 1;
        if let Some(t) = ts {
            self.timeline.add(t, |b| b.alerts[slot] += 1);
        }
        let (src, dst) = (ip(&r.src_ip), ip(&r.dest_ip));
        let (sid, gid) = (a.signature_id.0.unwrap_or(0), a.gid.0.unwrap_or(1));
        let sig = self.signatures.entry((gid, sid), || Sig {
            rev: a.rev.0,
            msg: clip(a.signature.get().unwrap_or(""), MAX_TEXT).0,
            category: clip(a.category.get().unwrap_or(""), MAX_TEXT).0,
            severity: a.severity.0,
            alerts: 0,
            seen: Seen::default(),
            srcs: CappedSet::default(),
            dsts: CappedSet::default(),
        });
        sig.alerts += 1;
        sig.seen.at(ts);
        if let Some(s) = src {
            sig.srcs.insert(s);
        }
        if let Some(d) = dst {
            sig.dsts.insert(d);
        }

        let internal = |a: Option<IpAddr>, home: &HomeNet| a.filter(|a| home.contains(a));
        let (src_in, dst_in) = (internal(src, &self.home), internal(dst, &self.home));
        for (me, other, other_in) in [(src_in, dst, dst_in.is_some()), (dst_in, src, src_in.is_some())] {
            let Some(me) = me else { continue };
            let h = self.hosts.entry(me, new_host);
            h.alerts += 1;
            h.seen.at(ts);
            h.sids.insert(sid);
            if let (Some(o), false) = (other, other_in) {
                h.peers.entry(o, Peer::default).alerts += 1;
            }
        }
        for (a, inside) in [(src, src_in.is_some()), (dst, dst_in.is_some())] {
            if let (Some(a), false) = (a, inside) {
                self.ind.addresses.entry(a, Ind::default).count(true, ts, false);
            }
        }

        let (sp, dp) = (port(r.src_port), port(r.dest_port));
        let (sp_key, dp_key) = (sp.unwrap_or(0) as u16, dp.unwrap_or(0) as u16);
        let (a_end, b_end) = (src.map(|s| (s, sp_key)), dst.map(|d| (d, dp_key)));
        let key = FlowKey { flow_id: r.flow_id.0.unwrap_or(0), lo: a_end.min(b_end), hi: a_end.max(b_end) };
        let proto = clip(r.proto.get().unwrap_or(""), MAX_NAME).0;
        let f = self.alert_flows.entry(key, || {
            let given = nonempty(&r.community_id).map(|c| clip(c, MAX_NAME).0);
            // ICMP's "ports" are its type and code.
            let (csp, cdp) = match proto_number(&proto) {
                Some(1) | Some(58) => (r.icmp_type.0, r.icmp_code.0),
                _ => (sp, dp),
            };
            let computed = match (&given, src, dst, csp, cdp) {
                (None, Some(s), Some(d), Some(a), Some(b)) => community_id(&proto, s, d, a, b),
                _ => None,
            };
            AlertFlow {
                flow_id: r.flow_id.0,
                proto: proto.clone(),
                src,
                sport: sp,
                dst,
                dport: dp,
                app_proto: clip(r.app_proto.get().unwrap_or(""), MAX_NAME).0,
                community_id_computed: given.is_none() && computed.is_some(),
                community_id: given.or(computed),
                alerts: 0,
                seen: Seen::default(),
                sids: CappedSet::default(),
                capture_file: None,
                pcap_filename: None,
            }
        });
        f.alerts += 1;
        f.seen.at(ts);
        f.sids.insert(sid);
        if f.capture_file.is_none() {
            f.capture_file = nonempty(&r.capture_file).map(|c| clip(c, MAX_TEXT).0);
        }
        if f.pcap_filename.is_none() {
            f.pcap_filename = nonempty(&r.pcap_filename).map(|c| clip(c, MAX_TEXT).0);
        }

        // The application metadata of the alert marks the indicators it names.
        self.dns(r, ts, true);
        self.tls(r, ts, true);
        self.http(r, ts, true);
        self.fileinfo(r, ts, true);
    }

    fn flow(&mut self, r: &Record, ts: Option<i64>) {
        self.flows += 1;
        let f = r.flow.0.as_ref();
        let n = |v: Option<crate::report::record::Num>| v.and_then(|v| v.0).unwrap_or(0);
        let pkts = n(f.map(|f| f.pkts_toserver)).saturating_add(n(f.map(|f| f.pkts_toclient)));
        let bytes = n(f.map(|f| f.bytes_toserver)).saturating_add(n(f.map(|f| f.bytes_toclient)));
        self.flow_pkts = self.flow_pkts.saturating_add(pkts);
        self.flow_bytes = self.flow_bytes.saturating_add(bytes);
        let start = f.and_then(|f| f.start.get()).and_then(clock::parse_us).or(ts);
        if let Some(t) = start {
            self.timeline.add(t, |b| {
                b.flows += 1;
                b.bytes = b.bytes.saturating_add(bytes);
            });
        }
        let (src, dst) = (ip(&r.src_ip), ip(&r.dest_ip));
        let src_in = src.filter(|a| self.home.contains(a));
        let dst_in = dst.filter(|a| self.home.contains(a));
        for (me, other, other_in) in [(src_in, dst, dst_in.is_some()), (dst_in, src, src_in.is_some())] {
            let Some(me) = me else { continue };
            let h = self.hosts.entry(me, new_host);
            h.flows += 1;
            h.bytes = h.bytes.saturating_add(bytes);
            h.seen.at(start);
            if let (Some(o), false) = (other, other_in) {
                let p = h.peers.entry(o, Peer::default);
                p.flows += 1;
                p.bytes = p.bytes.saturating_add(bytes);
            }
        }
    }

    fn dns(&mut self, r: &Record, ts: Option<i64>, from_alert: bool) {
        let Some(d) = &r.dns.0 else { return };
        let mut names: Vec<&str> = d.queries.0.iter().filter_map(|q| nonempty(&q.rrname)).collect();
        if let Some(n) = nonempty(&d.rrname) {
            names.push(n);
        }
        names.sort_unstable();
        names.dedup();
        for n in names {
            // Names are case-insensitive; the trailing dot of a fully qualified name is not part of it.
            let lower = n.trim_end_matches('.').to_ascii_lowercase();
            let (v, cut) = clip(&lower, MAX_TEXT);
            self.ind.domains.entry(v, Ind::default).count(from_alert, ts, cut);
        }
    }

    fn tls(&mut self, r: &Record, ts: Option<i64>, from_alert: bool) {
        let Some(t) = &r.tls.0 else { return };
        let field = |s: &super::record::Str, max| clip(s.get().unwrap_or(""), max);
        let (sni, c1) = field(&t.sni, MAX_TEXT);
        let (ja3, c2) = clip(t.ja3.0.as_ref().and_then(|j| j.hash.get()).unwrap_or(""), MAX_NAME);
        let (ja4, c3) = field(&t.ja4, MAX_NAME);
        let (sha1, c4) = field(&t.fingerprint, MAX_NAME * 2);
        if sni.is_empty() && ja3.is_empty() && ja4.is_empty() && sha1.is_empty() {
            return;
        }
        let key = TlsKey { sni: sni.to_ascii_lowercase(), ja3, ja4 };
        let e = self.ind.tls.entry(key, TlsInd::default);
        e.ind.count(from_alert, ts, c1 || c2 || c3);
        if sha1.is_empty() || c4 {
            return;
        }
        let full = e.certs.len() >= CERTS_PER_CLIENT;
        match e.certs.iter_mut().find(|c| c.sha1 == sha1) {
            Some(c) if c.subject.is_empty() => {
                c.subject = field(&t.subject, MAX_TEXT).0;
                c.issuer = field(&t.issuerdn, MAX_TEXT).0;
            }
            Some(_) => {}
            None if !full => e.certs.push(Cert {
                sha1,
                subject: field(&t.subject, MAX_TEXT).0,
                issuer: field(&t.issuerdn, MAX_TEXT).0,
            }),
            None => e.more_certs = true,
        }
    }

    fn http(&mut self, r: &Record, ts: Option<i64>, from_alert: bool) {
        let Some(h) = &r.http.0 else { return };
        if let Some(host) = nonempty(&h.hostname) {
            let (v, cut) = clip(&host.to_ascii_lowercase(), MAX_TEXT);
            self.ind.http_hosts.entry(v, Ind::default).count(from_alert, ts, cut);
        }
        if let Some(ua) = h.http_user_agent.get().filter(|u| !u.is_empty()) {
            let (v, cut) = clip(ua, MAX_TEXT);
            self.ind.user_agents.entry(v, Ind::default).count(from_alert, ts, cut);
        }
    }

    fn fileinfo(&mut self, r: &Record, ts: Option<i64>, from_alert: bool) {
        let Some(f) = &r.fileinfo.0 else { return };
        let (name, c1) = clip(f.filename.get().unwrap_or(""), MAX_TEXT);
        let hash = |s: &super::record::Str| clip(&s.get().unwrap_or("").to_ascii_lowercase(), 128);
        let ((md5, c2), (sha1, c3), (sha256, c4)) = (hash(&f.md5), hash(&f.sha1), hash(&f.sha256));
        let key = FileKey { name, size: f.size.0, md5, sha1, sha256 };
        self.ind.files.entry(key, Ind::default).count(from_alert, ts, c1 || c2 || c3 || c4);
    }

    fn stats(&mut self, r: &Record, ts: Option<i64>, sensor: &str, file: u32) {
        let Some(s) = &r.stats.0 else { return };
        let Some(d) = &s.decoder.0 else { return };
        let Some(pkts) = d.pkts.0 else { return };
        if self.stats.len() >= MAX_STATS_SAMPLES {
            self.stats_dropped += 1;
            return;
        }
        self.stats.push(StatsSample {
            sensor: sensor.to_owned(),
            file,
            ts,
            uptime: s.uptime.0,
            pkts,
            bytes: d.bytes.0.unwrap_or(0),
        });
    }

    /// Packets and bytes the sensors decoded, from their stats records, and the number of
    /// sensor runs they came from.
    ///
    /// Stats counters are cumulative since a sensor started, so the last sample of each run
    /// counts. A run is a sensor name and a start time (timestamp minus uptime, within 2 s).
    /// Replays are short and often start in the same second: for a run shorter than a minute
    /// each file is its own run (one replay, one EVE file), while a long run (a daemon whose
    /// EVE file rotated) spans files.
    pub(crate) fn sensor_totals(&self) -> Option<(u64, u64, usize)> {
        if self.stats.is_empty() {
            return None;
        }
        let start = |s: &StatsSample| match (s.ts, s.uptime) {
            (Some(t), Some(u)) => Some(t.saturating_sub((u as i64).saturating_mul(1_000_000))),
            _ => None,
        };
        let mut v: Vec<&StatsSample> = self.stats.iter().collect();
        v.sort_by(|a, b| a.sensor.cmp(&b.sensor).then(start(a).cmp(&start(b))).then(a.file.cmp(&b.file)));
        let mut runs: Vec<Vec<&StatsSample>> = Vec::new();
        for s in v {
            let same = runs.last().and_then(|r| r.first()).is_some_and(|f| {
                f.sensor == s.sensor
                    && match (start(f), start(s)) {
                        (Some(a), Some(b)) => b - a <= 2_000_000,
                        // Without time or uptime: one run per file.
                        _ => f.file == s.file,
                    }
            });
            match runs.last_mut() {
                Some(r) if same => r.push(s),
                _ => runs.push(vec![s]),
            }
        }
        let (mut pkts, mut bytes, mut n) = (0u64, 0u64, 0usize);
        for run in runs {
            let long = run.iter().any(|s| s.uptime.unwrap_or(0) >= 60);
            let mut per_file: Vec<(u32, u64, u64)> = Vec::new();
            for s in &run {
                let key = if long { 0 } else { s.file };
                match per_file.iter_mut().find(|(f, _, _)| *f == key) {
                    Some(e) => {
                        e.1 = e.1.max(s.pkts);
                        e.2 = e.2.max(s.bytes);
                    }
                    None => per_file.push((key, s.pkts, s.bytes)),
                }
            }
            n += per_file.len();
            for (_, p, b) in per_file {
                pkts = pkts.saturating_add(p);
                bytes = bytes.saturating_add(b);
            }
        }
        Some((pkts, bytes, n))
    }
}

fn new_host() -> Host {
    Host {
        alerts: 0,
        flows: 0,
        bytes: 0,
        seen: Seen::default(),
        sids: CappedSet::default(),
        peers: Capped::new(PEERS_PER_HOST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::record::parse;

    fn case() -> Case {
        Case::new(Limits { entries: 100, bins: 50 }, HomeNet::parse(super::super::net::DEFAULT_HOME_NET).unwrap())
    }

    fn feed(c: &mut Case, lines: &[&str]) {
        let f = c.begin_file("t".into());
        for l in lines {
            c.add(&parse(l.as_bytes()).unwrap(), f);
        }
    }

    #[test]
    fn alerts_hosts_flows_and_indicators() {
        let mut c = case();
        feed(
            &mut c,
            &[
                r#"{"timestamp":"2024-01-01T00:00:00.000000+0000","event_type":"alert","src_ip":"10.0.0.5","src_port":1234,"dest_ip":"8.8.8.8","dest_port":53,"proto":"UDP","flow_id":7,
                   "alert":{"signature_id":10,"gid":1,"rev":2,"signature":"S","category":"C","severity":1},"dns":{"queries":[{"rrname":"Evil.Example."}]}}"#,
                r#"{"timestamp":"2024-01-01T00:00:05.000000+0000","event_type":"alert","src_ip":"8.8.8.8","src_port":53,"dest_ip":"10.0.0.5","dest_port":1234,"proto":"UDP","flow_id":7,
                   "alert":{"signature_id":10,"severity":1}}"#,
                r#"{"timestamp":"2024-01-01T00:00:01.000000+0000","event_type":"dns","src_ip":"10.0.0.5","dest_ip":"8.8.8.8","dns":{"type":"request","queries":[{"rrname":"evil.example"},{"rrname":"evil.example"}]}}"#,
                r#"{"timestamp":"2024-01-01T00:00:09.000000+0000","event_type":"flow","src_ip":"10.0.0.5","dest_ip":"8.8.8.8","flow":{"bytes_toserver":100,"bytes_toclient":50,"pkts_toserver":1,"pkts_toclient":1,"start":"2024-01-01T00:00:00.000000+0000"}}"#,
            ],
        );
        assert_eq!((c.records, c.alerts, c.flows, c.flow_bytes, c.by_severity), (4, 2, 1, 150, [2, 0, 0, 0]));
        let sig = c.signatures.get_mut(&(1, 10)).unwrap();
        assert_eq!((sig.alerts, sig.msg.as_str(), sig.srcs.len()), (2, "S", 2));
        let h = c.hosts.get_mut(&"10.0.0.5".parse().unwrap()).unwrap();
        assert_eq!((h.alerts, h.flows, h.bytes), (2, 1, 150));
        let p = h.peers.get_mut(&"8.8.8.8".parse().unwrap()).unwrap();
        assert_eq!((p.alerts, p.flows, p.bytes), (2, 1, 150));
        assert!(c.hosts.get_mut(&"8.8.8.8".parse().unwrap()).is_none());
        // one flow for both directions of the alerts; a community id computed from the 5-tuple
        assert_eq!(c.alert_flows.len(), 1);
        let f = c.alert_flows.top(1)[0].1.value.clone();
        assert_eq!(f.alerts, 2);
        assert!(f.community_id_computed && f.community_id.unwrap().starts_with("1:"));
        let d = c.ind.domains.get_mut(&"evil.example".to_string()).unwrap();
        assert_eq!((d.records, d.alerts), (1, 1));
        assert_eq!(c.span.last.unwrap() - c.span.first.unwrap(), 9_000_000);
    }

    #[test]
    fn a_tls_client_is_one_row_whatever_the_record_carries() {
        let mut c = case();
        feed(
            &mut c,
            &[
                r#"{"event_type":"alert","alert":{"signature_id":1},"tls":{"sni":"A.example","ja3":{"hash":"j"},"ja4":"k"}}"#,
                r#"{"event_type":"tls","tls":{"sni":"a.example","ja3":{"hash":"j"},"ja4":"k","fingerprint":"f1"}}"#,
                r#"{"event_type":"tls","tls":{"sni":"a.example","ja3":{"hash":"j"},"ja4":"k","fingerprint":"f1","subject":"CN=a"}}"#,
                r#"{"event_type":"tls","tls":{"sni":"a.example","ja3":{"hash":"j"},"ja4":"k","fingerprint":"f2","subject":"CN=b"}}"#,
            ],
        );
        assert_eq!(c.ind.tls.len(), 1);
        let t = &c.ind.tls.top(1)[0].1.value;
        assert_eq!((t.ind.records, t.ind.alerts), (3, 1));
        let certs: Vec<(&str, &str)> = t.certs.iter().map(|c| (c.sha1.as_str(), c.subject.as_str())).collect();
        assert_eq!(certs, [("f1", "CN=a"), ("f2", "CN=b")]);
    }

    #[test]
    fn stats_runs() {
        let stats = |ts: &str, up: u64, pkts: u64, host: &str| {
            format!(
                r#"{{"timestamp":"{ts}","event_type":"stats",{host}"stats":{{"uptime":{up},"decoder":{{"pkts":{pkts},"bytes":1}}}}}}"#
            )
        };
        // two replays in the same second, one EVE file each: summed
        let mut c = case();
        feed(&mut c, &[&stats("2024-01-01T00:00:00+0000", 0, 100, "")]);
        feed(&mut c, &[&stats("2024-01-01T00:00:00+0000", 0, 200, "")]);
        assert_eq!(c.sensor_totals().map(|t| (t.0, t.2)), Some((300, 2)));
        // a daemon's periodic stats across a rotation: the last counts
        let mut c = case();
        feed(&mut c, &[&stats("2024-01-01T00:10:00+0000", 600, 1000, "")]);
        feed(
            &mut c,
            &[&stats("2024-01-01T00:20:00+0000", 1200, 3000, ""), &stats("2024-01-01T00:00:08+0000", 8, 5, "")],
        );
        assert_eq!(c.sensor_totals().map(|t| (t.0, t.2)), Some((3000, 1)));
        // two sensors, and a restart
        let mut c = case();
        feed(
            &mut c,
            &[
                &stats("2024-01-01T00:10:00+0000", 600, 1000, r#""host":"a","#),
                &stats("2024-01-01T00:10:00+0000", 600, 70, r#""host":"b","#),
                &stats("2024-01-01T01:10:00+0000", 60, 9, r#""host":"a","#),
            ],
        );
        assert_eq!(c.sensor_totals().map(|t| (t.0, t.2)), Some((1079, 3)));
    }

    #[test]
    fn clip_cuts_at_a_character_boundary() {
        assert_eq!(clip("héllo", 2), ("h".to_string(), true));
        assert_eq!(clip("abc", 3), ("abc".to_string(), false));
    }
}
