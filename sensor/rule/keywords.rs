//! The rule keywords the parser knows, as data: name, kind, whether it takes a value, and for
//! buffer keywords the buffer they select. `picket rules keywords` prints [`KEYWORDS`].
//!
//! Kinds tell what the parser does with a keyword:
//! - [`Kind::Meta`], [`Kind::Payload`], [`Kind::Modifier`], [`Kind::Packet`], [`Kind::Flow`],
//!   [`Kind::Sticky`], [`Kind::LegacyModifier`], [`Kind::Transform`], [`Kind::ResetBuffer`]:
//!   parsed into the typed rule;
//! - [`Kind::Ignored`]: parsed and accepted, with no effect on what matches (recorded in
//!   `Rule::ignored_keywords`);
//! - [`Kind::Untyped`]: a Suricata keyword that changes what matches but has no typed form
//!   yet; a rule using it is reported as `Unsupported` rather than loaded without it.
//!
//! Names are matched case-insensitively, as Suricata does.

use std::collections::HashMap;
use std::sync::OnceLock;

/// What the parser does with a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Rule metadata (msg, sid, classtype, ...).
    Meta,
    /// A payload keyword, appended to the current buffer's list (content, pcre, byte_*, ...).
    Payload,
    /// A content modifier, applied to the previous content (nocase, depth, ...).
    Modifier,
    /// A sticky buffer: following payload keywords inspect it.
    Sticky,
    /// A legacy content modifier (`http_uri`, ...): moves the previous content to its buffer.
    LegacyModifier,
    /// A transform of the current sticky buffer.
    Transform,
    /// `pkt_data`: back to the packet payload.
    ResetBuffer,
    /// A header keyword evaluated on the packet (ttl, flags, dsize, ...).
    Packet,
    /// Flow and state keywords (flow, flowbits, threshold, ...).
    Flow,
    /// Accepted, no effect on matching.
    Ignored,
    /// Known to Suricata, changes matching, no typed form here yet: the rule is not loaded.
    Untyped,
    /// A value of an app-layer transaction (`dns.opcode`, `tls.version`, `ssl_state`, ...):
    /// kept as written, compiled by the detection engine.
    AppValue,
}

impl Kind {
    /// Short name for listings.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Meta => "meta",
            Kind::Payload => "payload",
            Kind::Modifier => "content-modifier",
            Kind::Sticky => "sticky-buffer",
            Kind::LegacyModifier => "legacy-modifier",
            Kind::Transform => "transform",
            Kind::ResetBuffer => "buffer-reset",
            Kind::Packet => "packet",
            Kind::Flow => "flow",
            Kind::Ignored => "ignored",
            Kind::Untyped => "unsupported",
            Kind::AppValue => "app-layer-value",
        }
    }
}

/// Whether a keyword takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arg {
    /// `keyword;` only.
    None,
    /// `keyword:value;` only.
    Required,
    /// Either.
    Optional,
}

/// One keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keyword {
    /// Name as written in rules.
    pub name: &'static str,
    /// What the parser does with it.
    pub kind: Kind,
    /// Value.
    pub arg: Arg,
    /// For sticky buffers and legacy modifiers: the buffer's canonical name.
    pub buffer: Option<&'static str>,
}

const fn k(name: &'static str, kind: Kind, arg: Arg) -> Keyword {
    Keyword { name, kind, arg, buffer: None }
}
const fn sticky(name: &'static str, buffer: &'static str) -> Keyword {
    Keyword { name, kind: Kind::Sticky, arg: Arg::None, buffer: Some(buffer) }
}
const fn legacy(name: &'static str, buffer: &'static str) -> Keyword {
    Keyword { name, kind: Kind::LegacyModifier, arg: Arg::None, buffer: Some(buffer) }
}

use Arg::{None as N, Optional as O, Required as R};
use Kind::*;

/// Every keyword the parser knows (sticky buffers come from [`BUFFERS`] as well).
pub static KEYWORDS: &[Keyword] = &[
    // meta
    k("msg", Meta, R),
    k("sid", Meta, R),
    k("rev", Meta, R),
    k("gid", Meta, R),
    k("classtype", Meta, R),
    k("priority", Meta, R),
    k("metadata", Meta, R),
    k("reference", Meta, R),
    k("target", Meta, R),
    // payload
    k("content", Payload, R),
    k("uricontent", Payload, R),
    k("pcre", Payload, R),
    k("byte_test", Payload, R),
    k("byte_jump", Payload, R),
    k("byte_extract", Payload, R),
    k("byte_math", Payload, R),
    k("isdataat", Payload, R),
    k("bsize", Payload, R),
    k("urilen", Payload, R),
    // content modifiers
    k("nocase", Modifier, N),
    k("depth", Modifier, R),
    k("offset", Modifier, R),
    k("distance", Modifier, R),
    k("within", Modifier, R),
    k("fast_pattern", Modifier, O),
    k("rawbytes", Modifier, N),
    k("startswith", Modifier, N),
    k("endswith", Modifier, N),
    // legacy content modifiers
    legacy("http_uri", "http.uri"),
    legacy("http_raw_uri", "http.uri.raw"),
    legacy("http_method", "http.method"),
    legacy("http_header", "http.header"),
    legacy("http_raw_header", "http.header.raw"),
    legacy("http_cookie", "http.cookie"),
    legacy("http_user_agent", "http.user_agent"),
    legacy("http_host", "http.host"),
    legacy("http_raw_host", "http.host.raw"),
    legacy("http_client_body", "http.request_body"),
    legacy("http_server_body", "http.response_body"),
    legacy("http_stat_code", "http.stat_code"),
    legacy("http_stat_msg", "http.stat_msg"),
    // buffer reset
    k("pkt_data", ResetBuffer, N),
    // transforms
    k("dotprefix", Transform, N),
    k("strip_whitespace", Transform, N),
    k("compress_whitespace", Transform, N),
    k("to_lowercase", Transform, N),
    k("to_uppercase", Transform, N),
    k("url_decode", Transform, N),
    k("to_md5", Transform, N),
    k("to_sha1", Transform, N),
    k("to_sha256", Transform, N),
    k("header_lowercase", Transform, N),
    k("strip_pseudo_headers", Transform, N),
    k("xor", Transform, R),
    k("pcrexform", Transform, R),
    k("from_base64", Transform, O),
    // packet
    k("dsize", Packet, R),
    k("ttl", Packet, R),
    k("tos", Packet, R),
    k("id", Packet, R),
    k("ip_proto", Packet, R),
    k("ipopts", Packet, R),
    k("fragbits", Packet, R),
    k("fragoffset", Packet, R),
    k("flags", Packet, R),
    k("seq", Packet, R),
    k("ack", Packet, R),
    k("window", Packet, R),
    k("tcp.mss", Packet, R),
    k("stream_size", Packet, R),
    k("itype", Packet, R),
    k("icode", Packet, R),
    k("icmp_id", Packet, R),
    k("icmp_seq", Packet, R),
    k("sameip", Packet, N),
    k("app-layer-protocol", Packet, R),
    // flow and state
    k("flow", Flow, R),
    k("flowbits", Flow, R),
    k("noalert", Flow, N),
    k("threshold", Flow, R),
    k("detection_filter", Flow, R),
    // accepted, no effect on matching
    k("tag", Ignored, R),
    k("prefilter", Ignored, N),
    k("filestore", Ignored, O),
    k("bypass", Ignored, N),
    k("replace", Ignored, R),
    k("requires", Ignored, R),
    k("tls.store", Ignored, N),
    k("tls_store", Ignored, N),
    // known to Suricata, change matching, no typed form yet
    k("xbits", Untyped, R),
    k("hostbits", Untyped, R),
    k("flowint", Untyped, R),
    k("flowvar", Untyped, R),
    k("pktvar", Untyped, R),
    k("base64_decode", Untyped, O),
    k("asn1", Untyped, R),
    k("app-layer-event", Untyped, R),
    k("app-layer-state", Untyped, R),
    k("decode-event", Untyped, R),
    k("stream-event", Untyped, R),
    k("engine-event", Untyped, R),
    k("ftpbounce", Untyped, N),
    k("ftpdata_command", Untyped, R),
    k("ftp.dynamic_port", Untyped, R),
    k("tls.version", AppValue, R),
    k("ssl_version", AppValue, R),
    k("ssl_state", AppValue, R),
    k("tls.subject", AppValue, R),
    k("tls.issuerdn", AppValue, R),
    k("tls.fingerprint", AppValue, R),
    k("tls.cert_expired", AppValue, N),
    k("tls.cert_valid", AppValue, N),
    k("tls_cert_notbefore", AppValue, R),
    k("tls_cert_notafter", AppValue, R),
    k("tls_cert_expired", AppValue, N),
    k("tls_cert_valid", AppValue, N),
    k("dns.opcode", AppValue, R),
    k("dns.rcode", AppValue, R),
    k("dns.rrtype", AppValue, R),
    k("dataset", Untyped, R),
    k("datarep", Untyped, R),
    k("lua", Untyped, R),
    k("luajit", Untyped, R),
    k("luaxform", Untyped, R),
    k("iprep", Untyped, R),
    k("geoip", Untyped, R),
    k("filename", Untyped, R),
    k("fileext", Untyped, R),
    k("filemagic", Untyped, R),
    k("filemd5", Untyped, R),
    k("filesha1", Untyped, R),
    k("filesha256", Untyped, R),
    k("filesize", Untyped, R),
    k("rpc", Untyped, R),
    k("dce_iface", Untyped, R),
    k("dce_opnum", Untyped, R),
    k("ssh.protoversion", Untyped, R),
    k("ssh.softwareversion", Untyped, R),
    k("ssh_state", Untyped, R),
    k("smb.version", Untyped, R),
    k("krb5_msg_type", Untyped, R),
    k("krb5_err_code", Untyped, R),
    k("krb5.weak_encryption", Untyped, N),
    k("krb5.ticket_encryption", Untyped, R),
    k("modbus", Untyped, R),
    k("dnp3_func", Untyped, R),
    k("dnp3_ind", Untyped, R),
    k("dnp3_obj", Untyped, R),
    k("enip_command", Untyped, R),
    k("cip_service", Untyped, R),
    k("nfs_procedure", Untyped, R),
    k("nfs.version", Untyped, R),
    k("snmp.version", Untyped, R),
    k("snmp.pdu_type", Untyped, R),
    k("rfb.secresult", Untyped, R),
    k("rfb.sectype", Untyped, R),
    k("mqtt.type", Untyped, R),
    k("mqtt.flags", Untyped, R),
    k("mqtt.qos", Untyped, R),
    k("mqtt.reason_code", Untyped, R),
    k("mqtt.protocol_version", Untyped, R),
    k("mqtt.connect.flags", Untyped, R),
    k("mqtt.connack.session_present", Untyped, R),
    k("ike.exchtype", Untyped, R),
    k("ike.chosen_sa_attribute", Untyped, R),
    k("ike.key_exchange_payload_length", Untyped, R),
    k("ike.nonce_payload_length", Untyped, R),
    k("dhcp.leasetime", Untyped, R),
    k("dhcp.rebinding_time", Untyped, R),
    k("dhcp.renewal_time", Untyped, R),
    k("http2.frametype", Untyped, R),
    k("http2.errorcode", Untyped, R),
    k("http2.priority", Untyped, R),
    k("http2.window", Untyped, R),
    k("http2.size_update", Untyped, R),
    k("http2.settings", Untyped, R),
    k("http2.header", Untyped, R),
    k("icmpv6.mtu", Untyped, R),
    k("tcp.flags", Untyped, R),
    k("frame", Untyped, R),
    k("config", Untyped, R),
    k("entropy", Untyped, R),
    k("vlan.id", Untyped, R),
    k("vlan.layers", Untyped, R),
    k("websocket.flags", Untyped, R),
    k("websocket.opcode", Untyped, R),
    k("websocket.mask", Untyped, R),
    k("transform", Untyped, R),
];

/// A sticky buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferDef {
    /// Canonical name (what [`crate::rule::ast::Buffer::Sticky`] holds).
    pub name: &'static str,
    /// Other names selecting it (legacy underscore forms).
    pub aliases: &'static [&'static str],
    /// App-layer protocol family the buffer belongs to (`None`: several, or packet level).
    pub app: Option<&'static str>,
    /// Suricata inspects each instance separately (a second selection starts a new list).
    pub multi: bool,
}

const fn b(name: &'static str, aliases: &'static [&'static str], app: Option<&'static str>) -> BufferDef {
    BufferDef { name, aliases, app, multi: false }
}
const fn bm(name: &'static str, aliases: &'static [&'static str], app: Option<&'static str>) -> BufferDef {
    BufferDef { name, aliases, app, multi: true }
}

const HTTP: Option<&str> = Some("http");
const HTTP2: Option<&str> = Some("http2");
const DNS: Option<&str> = Some("dns");
const TLS: Option<&str> = Some("tls");

/// Sticky buffers known to the parser.
pub static BUFFERS: &[BufferDef] = &[
    b("http.uri", &[], HTTP),
    b("http.uri.raw", &[], HTTP),
    b("http.method", &[], HTTP),
    b("http.protocol", &["http_protocol"], HTTP),
    b("http.request_line", &["http_request_line"], HTTP),
    b("http.response_line", &["http_response_line"], HTTP),
    b("http.header", &[], HTTP),
    b("http.header.raw", &[], HTTP),
    b("http.header_names", &["http_header_names"], HTTP),
    b("http.host", &[], HTTP),
    b("http.host.raw", &[], HTTP),
    b("http.user_agent", &[], HTTP),
    b("http.cookie", &[], HTTP),
    b("http.referer", &["http_referer"], HTTP),
    b("http.accept", &["http_accept"], HTTP),
    b("http.accept_lang", &["http_accept_lang"], HTTP),
    b("http.accept_enc", &["http_accept_enc"], HTTP),
    b("http.connection", &["http_connection"], HTTP),
    b("http.content_type", &["http_content_type"], HTTP),
    b("http.content_len", &["http_content_len"], HTTP),
    b("http.location", &["http_location"], HTTP),
    b("http.server", &["http_server"], HTTP),
    b("http.start", &["http_start"], HTTP),
    b("http.stat_code", &[], HTTP),
    b("http.stat_msg", &[], HTTP),
    b("http.request_body", &[], HTTP),
    b("http.response_body", &[], HTTP),
    bm("http.request_header", &[], HTTP),
    bm("http.response_header", &[], HTTP),
    bm("http2.header_name", &[], HTTP2),
    bm("file.data", &["file_data"], None),
    bm("file.name", &[], None),
    bm("file.magic", &[], None),
    bm("dns.query", &["dns_query"], DNS),
    bm("dns.answer.name", &[], DNS),
    bm("dns.queries.rrname", &[], DNS),
    bm("dns.answers.rrname", &[], DNS),
    bm("dns.authorities.rrname", &[], DNS),
    bm("dns.additionals.rrname", &[], DNS),
    bm("dns.response.rrname", &[], DNS),
    b("tls.sni", &["tls_sni"], TLS),
    b("tls.cert_subject", &["tls_cert_subject"], TLS),
    b("tls.cert_issuer", &["tls_cert_issuer"], TLS),
    b("tls.cert_serial", &["tls_cert_serial"], TLS),
    b("tls.cert_fingerprint", &["tls_cert_fingerprint"], TLS),
    bm("tls.certs", &[], TLS),
    bm("tls.subjectaltname", &[], TLS),
    bm("tls.alpn", &[], TLS),
    b("tls.random", &[], TLS),
    b("tls.random_time", &[], TLS),
    b("tls.random_bytes", &[], TLS),
    b("ja3.hash", &["ja3_hash"], None),
    b("ja3.string", &["ja3_string"], None),
    b("ja3s.hash", &["ja3s_hash"], None),
    b("ja3s.string", &["ja3s_string"], None),
    b("ja4.hash", &[], None),
    b("ssh.proto", &["ssh_proto"], Some("ssh")),
    b("ssh.software", &["ssh_software"], Some("ssh")),
    b("ssh.hassh", &[], Some("ssh")),
    b("ssh.hassh.string", &[], Some("ssh")),
    b("ssh.hassh.server", &[], Some("ssh")),
    b("ssh.hassh.server.string", &[], Some("ssh")),
    b("smb.named_pipe", &[], Some("smb")),
    b("smb.share", &[], Some("smb")),
    b("smb.ntlmssp_user", &[], Some("smb")),
    b("smb.ntlmssp_domain", &[], Some("smb")),
    b("dce_stub_data", &[], None),
    bm("krb5_cname", &["krb5.cname"], Some("krb5")),
    bm("krb5_sname", &["krb5.sname"], Some("krb5")),
    b("sip.method", &[], Some("sip")),
    b("sip.uri", &[], Some("sip")),
    b("sip.request_line", &[], Some("sip")),
    b("sip.stat_code", &[], Some("sip")),
    b("sip.stat_msg", &[], Some("sip")),
    b("sip.response_line", &[], Some("sip")),
    b("sip.protocol", &[], Some("sip")),
    b("snmp.community", &[], Some("snmp")),
    b("snmp.usm", &[], Some("snmp")),
    b("ftp.command", &[], Some("ftp")),
    b("ftp.command_data", &[], Some("ftp")),
    b("smtp.helo", &[], Some("smtp")),
    b("smtp.mail_from", &[], Some("smtp")),
    bm("smtp.rcpt_to", &[], Some("smtp")),
    b("email.from", &[], Some("smtp")),
    b("email.subject", &[], Some("smtp")),
    b("email.to", &[], Some("smtp")),
    b("email.cc", &[], Some("smtp")),
    b("email.date", &[], Some("smtp")),
    b("email.message_id", &[], Some("smtp")),
    b("email.x_mailer", &[], Some("smtp")),
    bm("email.url", &[], Some("smtp")),
    bm("email.received", &[], Some("smtp")),
    b("mqtt.connect.clientid", &[], Some("mqtt")),
    b("mqtt.connect.username", &[], Some("mqtt")),
    b("mqtt.connect.password", &[], Some("mqtt")),
    b("mqtt.connect.willtopic", &[], Some("mqtt")),
    b("mqtt.connect.willmessage", &[], Some("mqtt")),
    b("mqtt.publish.topic", &[], Some("mqtt")),
    b("mqtt.publish.message", &[], Some("mqtt")),
    bm("mqtt.subscribe.topic", &[], Some("mqtt")),
    bm("mqtt.unsubscribe.topic", &[], Some("mqtt")),
    b("rfb.name", &[], Some("rfb")),
    b("quic.sni", &[], Some("quic")),
    b("quic.ua", &[], Some("quic")),
    b("quic.version", &[], Some("quic")),
    bm("quic.cyu.hash", &[], Some("quic")),
    bm("quic.cyu.string", &[], Some("quic")),
    b("ike.init_spi", &[], Some("ike")),
    b("ike.resp_spi", &[], Some("ike")),
    bm("ike.vendor", &[], Some("ike")),
    b("ike.key_exchange_payload", &[], Some("ike")),
    b("ike.nonce_payload", &[], Some("ike")),
    b("dnp3_data", &["dnp3.data"], Some("dnp3")),
    b("pgsql.query", &[], Some("pgsql")),
    b("websocket.payload", &[], Some("websocket")),
    b("tcp.hdr", &[], None),
    b("udp.hdr", &[], None),
    b("ipv4.hdr", &[], None),
    b("ipv6.hdr", &[], None),
    b("icmpv4.hdr", &[], None),
    b("icmpv6.hdr", &[], None),
    b("base64_data", &[], None),
];

struct Tables {
    keywords: HashMap<String, Keyword>,
    buffers: HashMap<&'static str, &'static BufferDef>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut keywords = HashMap::new();
        for d in BUFFERS {
            keywords.insert(d.name.to_string(), sticky(d.name, d.name));
            for a in d.aliases {
                keywords.insert(a.to_string(), sticky(a, d.name));
            }
        }
        for kw in KEYWORDS {
            keywords.insert(kw.name.to_string(), *kw);
        }
        let buffers = BUFFERS.iter().map(|d| (d.name, d)).collect();
        Tables { keywords, buffers }
    })
}

/// The keyword called `name` (case-insensitive).
pub fn lookup(name: &str) -> Option<Keyword> {
    let t = tables();
    if name.bytes().any(|c| c.is_ascii_uppercase()) {
        t.keywords.get(&name.to_ascii_lowercase()).copied()
    } else {
        t.keywords.get(name).copied()
    }
}

/// The sticky buffer with canonical name `name`.
pub fn buffer(name: &str) -> Option<&'static BufferDef> {
    tables().buffers.get(name).copied()
}

/// Every keyword, sticky buffers included, sorted by name (for `picket rules keywords`).
pub fn all() -> Vec<Keyword> {
    let mut v: Vec<Keyword> = tables().keywords.values().copied().collect();
    v.sort_by(|a, b| a.name.cmp(b.name));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(lookup("content").map(|k| k.kind), Some(Kind::Payload));
        assert_eq!(lookup("CONTENT").map(|k| k.kind), Some(Kind::Payload));
        assert_eq!(lookup("file_data").and_then(|k| k.buffer), Some("file.data"));
        assert_eq!(lookup("http_uri").map(|k| k.kind), Some(Kind::LegacyModifier));
        assert_eq!(lookup("http.uri").map(|k| k.kind), Some(Kind::Sticky));
        assert_eq!(lookup("http_header_names").and_then(|k| k.buffer), Some("http.header_names"));
        assert_eq!(lookup("xbits").map(|k| k.kind), Some(Kind::Untyped));
        assert!(lookup("no_such_keyword").is_none());
        assert!(buffer("dns.query").is_some_and(|b| b.multi));
        // Every legacy modifier names a known buffer.
        for kw in KEYWORDS.iter().filter(|k| k.kind == Kind::LegacyModifier) {
            assert!(kw.buffer.and_then(buffer).is_some(), "{}", kw.name);
        }
        // No name is defined twice.
        let mut names: Vec<&str> = KEYWORDS.iter().map(|k| k.name).collect();
        for d in BUFFERS {
            names.push(d.name);
            names.extend(d.aliases.iter().copied());
        }
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(n, names.len());
        assert!(all().len() >= n);
    }
}
