//! TLS as a plug-in: its sticky buffers and value keywords (rows), its session as the one
//! transaction of a flow, its parser behind the app layer's traits, and its descriptor.

use super::{ssl_state as sst, SslVersion, TlsState, TlsStats, TlsStatus};
use crate::app::plugin::{
    buffer_infos, keyword_tables, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky,
    Transaction, ValueArg, ValueInfo, ValueKeyword,
};
use crate::app::txs::app_parser_txs;
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const DOC: &str = "https://docs.suricata.io/en/latest/rules/tls-keywords.html";

/// Suricata's documentation of a TLS or JA3 keyword (its section).
const fn doc_of(name: &str) -> &'static str {
    match name.as_bytes() {
        b"ja3.hash" => "https://docs.suricata.io/en/latest/rules/ja-keywords.html#ja3-hash",
        b"ja3.string" => "https://docs.suricata.io/en/latest/rules/ja-keywords.html#ja3-string",
        b"ja3s.hash" => "https://docs.suricata.io/en/latest/rules/ja-keywords.html#ja3s-hash",
        b"ja3s.string" => "https://docs.suricata.io/en/latest/rules/ja-keywords.html#ja3s-string",
        b"ja4.hash" => "https://docs.suricata.io/en/latest/rules/ja-keywords.html#ja4-hash",
        b"ssl_state" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#ssl-state",
        b"ssl_version" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#ssl-version",
        b"tls.alpn" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-alpn",
        b"tls.cert_expired" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-expired",
        b"tls.cert_fingerprint" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-fingerprint",
        b"tls.cert_issuer" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-issuer",
        b"tls.cert_serial" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-serial",
        b"tls.cert_subject" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-subject",
        b"tls.cert_valid" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-valid",
        b"tls.certs" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-certs",
        b"tls.fingerprint" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-fingerprint",
        b"tls.issuerdn" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-issuerdn",
        b"tls.random" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-random",
        b"tls.random_bytes" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-random-bytes",
        b"tls.random_time" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-random-time",
        b"tls.sni" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-sni",
        b"tls.subject" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-subject",
        b"tls.subjectaltname" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-subjectaltname",
        b"tls.version" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-version",
        b"tls_cert_expired" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-expired",
        b"tls_cert_notafter" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-notafter",
        b"tls_cert_notbefore" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-notbefore",
        b"tls_cert_valid" => "https://docs.suricata.io/en/latest/rules/tls-keywords.html#tls-cert-valid",
        _ => DOC,
    }
}
/// Progress of a side once its hello was seen.
const HELLO: u8 = 1;
/// Progress of the server side once its certificate was seen.
const CERT: u8 = 2;

const fn buf(name: &'static str, aliases: &'static [&'static str], server: bool, desc: &'static str) -> BufferInfo {
    let (side, need) =
        if server { (Side::ToClient, Need::response(CERT)) } else { (Side::ToServer, Need::request(HELLO)) };
    BufferInfo { name, aliases, side, need, multi: false, shared: false, internal: false, desc, doc: doc_of(name) }
}

const fn ja(name: &'static str, aliases: &'static [&'static str], server: bool, desc: &'static str) -> BufferInfo {
    let (side, need) =
        if server { (Side::ToClient, Need::response(HELLO)) } else { (Side::ToServer, Need::request(HELLO)) };
    BufferInfo { name, aliases, side, need, multi: false, shared: true, internal: false, desc, doc: doc_of(name) }
}

/// A buffer of the packet side's hello (Suricata: the client hello to server, the server
/// hello to client).
const fn hello_buf(name: &'static str, desc: &'static str) -> BufferInfo {
    BufferInfo { side: Side::Both, need: Need::own(HELLO), ..buf(name, &[], false, desc) }
}

fn str_buf(v: Option<&str>, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    v.is_some_and(|s| f(s.as_bytes()))
}

/// TLS's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<TlsState>] = &[
    Sticky {
        info: buf("tls.sni", &["tls_sni"], false, "server name of the ClientHello"),
        get: |t, _, f| t.sni().is_some_and(f),
    },
    Sticky {
        info: buf("tls.cert_subject", &["tls_cert_subject"], true, "subject of the server certificate"),
        get: |t, _, f| str_buf(t.cert_subject(), f),
    },
    Sticky {
        info: buf("tls.cert_issuer", &["tls_cert_issuer"], true, "issuer of the server certificate"),
        get: |t, _, f| str_buf(t.cert_issuer(), f),
    },
    Sticky {
        info: buf("tls.cert_serial", &["tls_cert_serial"], true, "serial of the server certificate (colon hex)"),
        get: |t, _, f| str_buf(t.cert_serial(), f),
    },
    Sticky {
        info: buf(
            "tls.cert_fingerprint",
            &["tls_cert_fingerprint"],
            true,
            "SHA-1 fingerprint of the server certificate",
        ),
        get: |t, _, f| str_buf(t.cert_fingerprint(), f),
    },
    Sticky {
        info: BufferInfo { multi: true, ..buf("tls.certs", &[], true, "each certificate of the server chain, DER") },
        get: |t, _, f| t.server_certs().iter().any(|c| f(c)),
    },
    Sticky {
        info: ja("ja3.hash", &["ja3_hash"], false, "JA3 hash of the ClientHello"),
        get: |t, _, f| str_buf(t.ja3_hash(), f),
    },
    Sticky {
        info: ja("ja3.string", &["ja3_string"], false, "JA3 string of the ClientHello"),
        get: |t, _, f| str_buf(t.ja3_string(), f),
    },
    Sticky {
        info: ja("ja3s.hash", &["ja3s_hash"], true, "JA3S hash of the ServerHello"),
        get: |t, _, f| str_buf(t.ja3s_hash(), f),
    },
    Sticky {
        info: ja("ja3s.string", &["ja3s_string"], true, "JA3S string of the ServerHello"),
        get: |t, _, f| str_buf(t.ja3s_string(), f),
    },
    Sticky {
        info: BufferInfo {
            multi: true,
            ..buf("tls.subjectaltname", &[], true, "each subject alternative name of the server certificate")
        },
        get: |t, _, f| t.cert().is_some_and(|c| c.sans.iter().any(|s| f(s.as_bytes()))),
    },
    Sticky {
        info: BufferInfo {
            side: Side::Both,
            need: Need::own(HELLO),
            multi: true,
            ..buf("tls.alpn", &[], false, "each ALPN protocol of the packet side's hello")
        },
        get: |t, ts, f| if ts { t.client_alpns() } else { t.server_alpns() }.iter().any(|a| f(a)),
    },
    Sticky {
        info: hello_buf("tls.random", "the 32-byte random of the packet side's hello"),
        get: |t, ts, f| t.random(ts).is_some_and(|r| f(r)),
    },
    Sticky {
        info: hello_buf("tls.random_time", "the first 4 bytes of the packet side's hello random"),
        get: |t, ts, f| t.random(ts).is_some_and(|r| f(&r[..4])),
    },
    Sticky {
        info: hello_buf("tls.random_bytes", "the last 28 bytes of the packet side's hello random"),
        get: |t, ts, f| t.random(ts).is_some_and(|r| f(&r[4..])),
    },
];

/// A string compared with the keyword's `!`.
struct Text {
    neg: bool,
    s: String,
}

/// `tls_cert_notbefore` / `tls_cert_notafter`: op (`<`, `>`, `=`, `r` for a range), epoch
/// seconds and the range's upper bound.
struct CertTime {
    op: char,
    t: i64,
    hi: i64,
}

/// `ssl_version`: the versions listed; a leading `!` negates the whole list, as Suricata
/// (`!tls1.3,tls1.2` matches a version that is neither).
struct Versions {
    list: Vec<SslVersion>,
    neg: bool,
}

/// `ssl_state`: groups that must all hold; each group is any of (flag, negated).
struct States(Vec<Vec<(u32, bool)>>);

fn text(v: Option<&str>) -> (bool, String) {
    let v = v.unwrap_or("").trim();
    match v.strip_prefix('!') {
        Some(r) => (true, r.trim().trim_matches('"').to_string()),
        None => (false, v.trim_matches('"').to_string()),
    }
}

fn parse_text(v: Option<&str>) -> Result<ValueArg, String> {
    let (neg, s) = text(v);
    Ok(Box::new(Text { neg, s }))
}

fn parse_text_lower(v: Option<&str>) -> Result<ValueArg, String> {
    let (neg, s) = text(v);
    Ok(Box::new(Text { neg, s: s.to_ascii_lowercase() }))
}

fn parse_version(v: Option<&str>) -> Result<ValueArg, String> {
    let x = v.unwrap_or("").trim();
    let ver = match x {
        "1.0" => 0x0301,
        "1.1" => 0x0302,
        "1.2" => 0x0303,
        "1.3" => 0x0304,
        _ => {
            let h = x.trim_start_matches("0x").trim_start_matches("0X");
            u16::from_str_radix(h, 16).map_err(|_| format!("invalid value `{x}`"))?
        }
    };
    Ok(Box::new(ver))
}

fn parse_ssl_version(v: Option<&str>) -> Result<ValueArg, String> {
    let v = v.unwrap_or("");
    let (neg, rest) = match v.trim_start().strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, v),
    };
    let mut list = Vec::new();
    for item in rest.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|i| !i.is_empty()) {
        let ver = match item.to_ascii_lowercase().as_str() {
            "sslv2" => SslVersion::Sslv2,
            "sslv3" => SslVersion::Sslv3,
            "tls1.0" => SslVersion::Tls10,
            "tls1.1" => SslVersion::Tls11,
            "tls1.2" => SslVersion::Tls12,
            "tls1.3" => SslVersion::Tls13,
            _ => return Err(format!("invalid value `{v}`: unknown version `{item}`")),
        };
        if list.contains(&ver) {
            return Err(format!("invalid value `{v}`: `{item}` listed twice"));
        }
        list.push(ver);
    }
    if list.is_empty() {
        return Err("ssl_version needs at least one version".to_string());
    }
    Ok(Box::new(Versions { list, neg }))
}

fn parse_ssl_state(v: Option<&str>) -> Result<ValueArg, String> {
    let v = v.unwrap_or("");
    let mut groups = Vec::new();
    for g in v.split(',') {
        let mut any = Vec::new();
        for item in g.split('|') {
            let (n, name) = text(Some(item));
            let f = match name.as_str() {
                "client_hello" => sst::CLIENT_HELLO,
                "server_hello" => sst::SERVER_HELLO,
                "client_keyx" => sst::CLIENT_KEYX,
                "server_keyx" => sst::SERVER_KEYX,
                "unknown" => sst::UNKNOWN,
                _ => return Err(format!("invalid value `{v}`")),
            };
            any.push((f, n));
        }
        groups.push(any);
    }
    Ok(Box::new(States(groups)))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Parses Suricata's date forms: YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDTHH[:MM[:SS]], or
/// seconds since the epoch.
fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() > 4 && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let (date, time) = s.split_once('T').unwrap_or((s, ""));
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let y = d.next()?.ok()?;
    let m = d.next().transpose().ok()?.unwrap_or(1);
    let dd = d.next().transpose().ok()?.unwrap_or(1);
    let mut t = time.split(':').filter(|x| !x.is_empty()).map(|x| x.parse::<i64>());
    let hh = t.next().transpose().ok()?.unwrap_or(0);
    let mi = t.next().transpose().ok()?.unwrap_or(0);
    let ss = t.next().transpose().ok()?.unwrap_or(0);
    if !(1..=12).contains(&m) || !(1..=31).contains(&dd) {
        return None;
    }
    Some(days_from_civil(y, m, dd) * 86400 + hh * 3600 + mi * 60 + ss)
}

fn parse_cert_time(v: Option<&str>) -> Result<ValueArg, String> {
    let x = v.unwrap_or("").trim();
    let bad = || format!("invalid value `{x}`");
    let (op, rest) = match x.chars().next() {
        // In bounds: x starts with c, a one-byte char.
        Some(c @ ('<' | '>')) => (c, &x[1..]),
        _ => ('=', x),
    };
    let (t, hi) = match (op, rest.split_once(" - ").or_else(|| rest.split_once("<>"))) {
        ('=', Some((a, b))) => (parse_date(a).ok_or_else(bad)?, parse_date(b).ok_or_else(bad)?),
        _ => {
            let t = parse_date(rest).ok_or_else(bad)?;
            (t, t)
        }
    };
    let op = if op == '=' && hi != t { 'r' } else { op };
    Ok(Box::new(CertTime { op, t, hi }))
}

fn no_arg(_: Option<&str>) -> Result<ValueArg, String> {
    Ok(Box::new(()))
}

const fn hello_value(
    name: &'static str,
    parse: fn(Option<&str>) -> Result<ValueArg, String>,
    desc: &'static str,
) -> ValueInfo {
    ValueInfo {
        name,
        aliases: &[],
        arg: Some(true),
        side: Side::Both,
        need: Need::own(HELLO),
        parse,
        desc,
        doc: doc_of(name),
    }
}

const fn cert_value(
    name: &'static str,
    aliases: &'static [&'static str],
    arg: Option<bool>,
    parse: fn(Option<&str>) -> Result<ValueArg, String>,
    desc: &'static str,
) -> ValueInfo {
    ValueInfo { name, aliases, arg, side: Side::ToClient, need: Need::response(CERT), parse, desc, doc: doc_of(name) }
}

fn cert_time(a: &ValueArg, t: &TlsState, after: bool) -> bool {
    match (a.downcast_ref::<CertTime>(), t.cert()) {
        (Some(ct), Some(c)) => {
            let x = if after { c.not_after } else { c.not_before };
            match ct.op {
                '<' => x < ct.t,
                '>' => x > ct.t,
                'r' => x >= ct.t && x <= ct.hi,
                _ => x == ct.t,
            }
        }
        _ => false,
    }
}

fn text_match(a: &ValueArg, have: Option<&str>, contains: bool) -> bool {
    match (a.downcast_ref::<Text>(), have) {
        (Some(t), Some(x)) => {
            let hit = if contains { x.contains(t.s.as_str()) } else { x.to_ascii_lowercase() == t.s };
            hit != t.neg
        }
        _ => false,
    }
}

/// TLS's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<TlsState>] = &[
    ValueKeyword {
        info: hello_value("tls.version", parse_version, "protocol version of the packet's side (1.0 .. 1.3 or hex)"),
        eval: |a, t, to_server, _| {
            let Some(want) = a.downcast_ref::<u16>() else { return false };
            let have = t.dir_version(to_server);
            have == *want || (*want == 0x0304 && SslVersion::of(have) == Some(SslVersion::Tls13))
        },
    },
    ValueKeyword {
        info: hello_value("ssl_version", parse_ssl_version, "any of a list of SSL/TLS versions, with ! to refuse"),
        eval: |a, t, to_server, _| {
            let Some(v) = a.downcast_ref::<Versions>() else { return false };
            match SslVersion::of(t.dir_version(to_server)) {
                Some(ver) => v.list.contains(&ver) != v.neg,
                None => false,
            }
        },
    },
    ValueKeyword {
        info: hello_value("ssl_state", parse_ssl_state, "handshake messages seen (client_hello, server_hello, ...)"),
        eval: |a, t, _, _| {
            let Some(States(groups)) = a.downcast_ref::<States>() else { return false };
            let st = t.ssl_state();
            groups.iter().all(|g| g.iter().any(|&(f, n)| (st & f != 0) != n))
        },
    },
    ValueKeyword {
        info: cert_value("tls.subject", &[], Some(true), parse_text, "server certificate subject contains a string"),
        eval: |a, t, _, _| text_match(a, t.cert_subject(), true),
    },
    ValueKeyword {
        info: cert_value("tls.issuerdn", &[], Some(true), parse_text, "server certificate issuer contains a string"),
        eval: |a, t, _, _| text_match(a, t.cert_issuer(), true),
    },
    ValueKeyword {
        info: cert_value(
            "tls.fingerprint",
            &[],
            Some(true),
            parse_text_lower,
            "server certificate SHA-1 fingerprint equals",
        ),
        eval: |a, t, _, _| text_match(a, t.cert_fingerprint(), false),
    },
    ValueKeyword {
        info: cert_value(
            "tls_cert_notbefore",
            &[],
            Some(true),
            parse_cert_time,
            "server certificate validity start compared with a date",
        ),
        eval: |a, t, _, _| cert_time(a, t, false),
    },
    ValueKeyword {
        info: cert_value(
            "tls_cert_notafter",
            &[],
            Some(true),
            parse_cert_time,
            "server certificate validity end compared with a date",
        ),
        eval: |a, t, _, _| cert_time(a, t, true),
    },
    ValueKeyword {
        info: cert_value(
            "tls_cert_expired",
            &["tls.cert_expired"],
            Some(false),
            no_arg,
            "server certificate expired at packet time",
        ),
        eval: |_, t, _, now| t.cert().is_some_and(|c| c.not_after < now),
    },
    ValueKeyword {
        info: cert_value(
            "tls_cert_valid",
            &["tls.cert_valid"],
            Some(false),
            no_arg,
            "server certificate valid at packet time",
        ),
        eval: |_, t, _, now| t.cert().is_some_and(|c| c.not_before <= now && now <= c.not_after),
    },
];

impl Transaction for TlsState {
    fn id(&self) -> u64 {
        0
    }

    fn progress(&self) -> [u8; 2] {
        let f = self.ssl_state();
        let ts = if f & sst::CLIENT_HELLO != 0 { HELLO } else { 0 };
        let tc = if self.cert().is_some() || !self.server_certs().is_empty() {
            CERT
        } else if f & sst::SERVER_HELLO != 0 {
            HELLO
        } else {
            0
        };
        [ts, tc]
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn events(&self) -> &[u16] {
        self.events.as_slice()
    }

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j, true);
    }

    fn record_ready(&self) -> bool {
        self.handshake_done()
    }
}

impl AppParser for TlsState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        // a direction that fails is counted by its reason in the state's counters
        let _: TlsStatus = TlsState::parse(self, to_server, data);
        self.stats.drain_into(&mut cx.stats.tls);
        self.take_raised(&mut |e| cx.stats.tx_event(AppProto::Tls, e));
        if self.encrypted() {
            cx.stats.tls.encrypted += 1;
            return Status::Stop;
        }
        Status::Continue
    }

    app_parser_txs!(self_is_tx);

    fn no_inspection(&self) -> bool {
        self.encrypted()
    }
}

/// TLS's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    reinspect: true,
    events: super::EVENTS,
    eve_events_upper: true,
    ..Protocol::new(
        AppProto::Tls,
        |_: &AppConfig| Box::<TlsState>::default(),
        |s: &AppStats, f| TlsStats::each(&s.tls, f),
    )
};

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(v: &str) -> (Vec<SslVersion>, bool) {
        let a = parse_ssl_version(Some(v)).expect(v);
        let x = a.downcast_ref::<Versions>().expect("Versions");
        (x.list.clone(), x.neg)
    }

    #[test]
    fn ssl_version_leading_bang_negates_the_whole_list() {
        use SslVersion as V;
        assert_eq!(versions("tls1.0,tls1.1"), (vec![V::Tls10, V::Tls11], false));
        assert_eq!(versions("!tls1.3,tls1.2"), (vec![V::Tls13, V::Tls12], true));
        assert_eq!(versions(" !SSLv3"), (vec![V::Sslv3], true));
        for bad in ["", "!", "tls1.0,!tls1.1", "tls1.0,tls1.0", "tls9"] {
            assert!(parse_ssl_version(Some(bad)).is_err(), "{bad}");
        }
    }
}
