//! The rule header: action, protocol, source, source ports, direction, destination,
//! destination ports (Suricata's `SigParseBasics`), and the app-layer protocols a header may
//! name.

use super::{bad, shorten, syntax, var_err, Builder, PErr, PResult, ParseContext};
use crate::rule::ast::{Action, ProtoLayer, RuleProto, TcpMode, Transport};
use crate::rule::ErrorKind;

/// The seven header fields.
pub(super) struct Header<'a> {
    action: &'a str,
    proto: &'a str,
    src: &'a str,
    sp: &'a str,
    dir: &'a str,
    dst: &'a str,
    dp: &'a str,
}

/// Splits the rule into its header and the text between the option parentheses.
pub(super) fn split_rule(text: &str) -> PResult<(Header<'_>, &str)> {
    let mut rest = text;
    let mut fields: Vec<&str> = Vec::with_capacity(7);
    while fields.len() < 7 {
        let (tok, r) = next_token(rest);
        if tok.is_empty() {
            return Err(syntax(format!("rule header has {} fields, expected 7 before '('", fields.len())));
        }
        if tok.starts_with('(') {
            return Err(syntax(format!("rule header has {} fields, expected 7 before '('", fields.len())));
        }
        fields.push(tok);
        rest = r;
    }
    let rest = rest.trim();
    let Some(inner) = rest.strip_prefix('(') else {
        return Err(syntax("expected '(' after the rule header"));
    };
    let Some(inner) = inner.strip_suffix(')') else {
        return Err(syntax("unbalanced parentheses: the rule options do not end with ')'"));
    };
    let [action, proto, src, sp, dir, dst, dp] = fields.as_slice() else {
        return Err(syntax("rule header is incomplete"));
    };
    Ok((Header { action, proto, src, sp, dir, dst, dp }, inner))
}

/// The next white-space separated header token; white space inside `[...]` is kept.
fn next_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '(' if depth <= 0 && i == 0 => return (s.get(..1).unwrap_or(""), s.get(1..).unwrap_or("")),
            c if c.is_whitespace() && depth <= 0 => {
                return (s.get(..i).unwrap_or(""), s.get(i..).unwrap_or(""));
            }
            _ => {}
        }
    }
    (s, "")
}

/// Header protocols that are app-layer protocols, with their transport (`Ip`: TCP and UDP).
const APP_PROTOS: &[(&str, Transport)] = &[
    ("http", Transport::Tcp),
    ("http1", Transport::Tcp),
    ("http2", Transport::Tcp),
    ("ftp", Transport::Tcp),
    ("ftp-data", Transport::Tcp),
    ("smtp", Transport::Tcp),
    ("tls", Transport::Tcp),
    ("ssh", Transport::Tcp),
    ("imap", Transport::Tcp),
    ("pop3", Transport::Tcp),
    ("smb", Transport::Tcp),
    ("modbus", Transport::Tcp),
    ("dnp3", Transport::Tcp),
    ("rfb", Transport::Tcp),
    ("mqtt", Transport::Tcp),
    ("pgsql", Transport::Tcp),
    ("telnet", Transport::Tcp),
    ("websocket", Transport::Tcp),
    ("doh2", Transport::Tcp),
    ("rdp", Transport::Tcp),
    ("ntp", Transport::Udp),
    ("tftp", Transport::Udp),
    ("dhcp", Transport::Udp),
    ("ike", Transport::Udp),
    ("ikev2", Transport::Udp),
    ("quic", Transport::Udp),
    ("bittorrent-dht", Transport::Udp),
    ("mdns", Transport::Udp),
    ("dns", Transport::Ip),
    ("dcerpc", Transport::Ip),
    ("nfs", Transport::Ip),
    ("krb5", Transport::Ip),
    ("snmp", Transport::Ip),
    ("sip", Transport::Ip),
    ("enip", Transport::Ip),
    ("ldap", Transport::Ip),
    ("llmnr", Transport::Ip),
];

pub(crate) fn app_proto(name: &str) -> Option<(&'static str, Transport)> {
    APP_PROTOS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(n, t)| (n, t))
}

/// Whether a buffer of app-layer protocol `buf` can be inspected in a rule for `rule`.
pub(super) fn app_compatible(rule: &str, buf: &str) -> bool {
    if rule == buf {
        return true;
    }
    let http = |p: &str| matches!(p, "http" | "http1" | "http2");
    match rule {
        r if http(r) => http(buf),
        "doh2" => matches!(buf, "dns" | "http" | "http2"),
        "ikev2" => buf == "ike",
        // Suricata's AppProtoCommon: DCE/RPC keywords in an SMB rule (DCE/RPC over pipes)
        "smb" => buf == "dcerpc",
        _ => false,
    }
}

/// A header protocol that is not an app-layer protocol (a packet hook may follow it).
fn packet_proto(p: &str) -> Option<RuleProto> {
    let plain = |transport, tcp_mode| RuleProto { transport, tcp_mode, app: None, layer: ProtoLayer::Any };
    let layered = |layer| RuleProto { transport: Transport::Ip, tcp_mode: TcpMode::Both, app: None, layer };
    Some(match p {
        "ip" | "pkt" => plain(Transport::Ip, TcpMode::Both),
        "tcp" => plain(Transport::Tcp, TcpMode::Both),
        "tcp-pkt" => plain(Transport::Tcp, TcpMode::Packet),
        "tcp-stream" => plain(Transport::Tcp, TcpMode::Stream),
        "udp" => plain(Transport::Udp, TcpMode::Both),
        "icmp" => plain(Transport::Icmp, TcpMode::Both),
        "icmpv4" => plain(Transport::Icmpv4, TcpMode::Both),
        "icmpv6" => plain(Transport::Icmpv6, TcpMode::Both),
        "sctp" => plain(Transport::Sctp, TcpMode::Both),
        "igmp" => plain(Transport::Igmp, TcpMode::Both),
        "ipv4" | "ip4" => layered(ProtoLayer::Ipv4),
        "ipv6" | "ip6" => layered(ProtoLayer::Ipv6),
        "pkthdr" => layered(ProtoLayer::Pkthdr),
        _ => return None,
    })
}

/// A valid rule that needs what Picket does not support yet (`rules check`'s "unsupported").
fn unsupported(what: String) -> PErr {
    PErr { msg: format!("{what}: not supported yet"), kind: ErrorKind::Unsupported(what) }
}

impl Builder {
    pub(super) fn header(&mut self, h: &Header<'_>, ctx: &mut ParseContext) -> PResult<()> {
        self.action = Some(match h.action.to_ascii_lowercase().as_str() {
            "alert" => Action::Alert,
            "pass" => Action::Pass,
            "drop" => Action::Drop,
            "reject" | "rejectsrc" | "rejectdst" | "rejectboth" => Action::Reject,
            _ => return Err(syntax(format!("unknown action '{}'", shorten(h.action)))),
        });
        let p = h.proto.to_ascii_lowercase();
        // a hook may follow the protocol (Suricata 8); `flow_start` is the first packet of
        // each direction
        let (base, hook) = match p.split_once(':') {
            Some((base, hook)) => (base, Some(hook)),
            None => (p.as_str(), None),
        };
        // Suricata 8's layer-2 rules: valid, not run by Picket yet
        if matches!(base, "arp" | "ether") {
            return Err(unsupported(format!("protocol {base}")));
        }
        let proto = match packet_proto(base) {
            Some(proto) => proto,
            None => match app_proto(base) {
                Some((name, transport)) => RuleProto {
                    transport,
                    tcp_mode: TcpMode::Both,
                    app: Some(name.to_string()),
                    layer: ProtoLayer::Any,
                },
                None => return Err(bad("protocol", format!("unknown protocol '{}'", shorten(h.proto)))),
            },
        };
        if let Some(hook) = hook {
            // the other packet hooks and the app-layer states (`http1:request_line`, firewall
            // rules) are valid rules Picket does not run yet: refused as unsupported, not
            // misread and not called broken
            if hook != "flow_start" || proto.app.is_some() {
                let layer = if proto.app.is_some() { "app-layer" } else { "packet" };
                return Err(unsupported(format!("{layer} hook {}", shorten(h.proto))));
            }
            self.flow_start = true;
        }
        self.alproto = proto.app.clone();
        self.proto = Some(proto);
        (self.bidirectional, self.transactional) = match h.dir {
            "->" => (false, false),
            "<>" => (true, false),
            "=>" => (false, true),
            d => return Err(syntax(format!("'{}' is not a direction: '->', '<>' or '=>'", shorten(d)))),
        };
        self.src = ctx.vars.addresses(h.src).map_err(|e| var_err("source address", e))?;
        self.src_ports = ctx.vars.ports(h.sp).map_err(|e| var_err("source port", e))?;
        self.dst = ctx.vars.addresses(h.dst).map_err(|e| var_err("destination address", e))?;
        self.dst_ports = ctx.vars.ports(h.dp).map_err(|e| var_err("destination port", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{parse_rule, ParseContext};
    use crate::rule::ast::*;
    use crate::rule::ErrorKind;
    use crate::rule::VarsConfig;

    #[test]
    fn header_fields() {
        let r = p("drop udp [10.0.0.0/8, 192.168.1.1] [53,5353] <> $EXTERNAL_NET !80 (sid:5;)").unwrap();
        assert_eq!(r.action, Action::Drop);
        assert_eq!(
            r.proto,
            RuleProto { transport: Transport::Udp, tcp_mode: TcpMode::Both, app: None, layer: ProtoLayer::Any }
        );
        assert!(r.bidirectional);
        assert_eq!(r.src.include.len(), 2);
        assert_eq!(r.src_ports.include.len(), 2);
        assert!(r.dst_ports.any && r.dst_ports.exclude.len() == 1);
        assert_eq!((r.sid, r.gid, r.rev, r.priority), (5, 1, 0, 3));
        assert_eq!(r.origin, Origin { file: "t.rules".into(), line: 7 });
        for (a, want) in [
            ("pass", Action::Pass),
            ("reject", Action::Reject),
            ("rejectboth", Action::Reject),
            ("alert", Action::Alert),
        ] {
            assert_eq!(p(&format!("{a} ip any any -> any any (sid:1;)")).unwrap().action, want);
        }
        let proto = |s: &str| p(&format!("alert {s} any any -> any any (sid:1;)")).map(|r| r.proto);
        assert_eq!(proto("tcp-pkt").unwrap().tcp_mode, TcpMode::Packet);
        assert_eq!(proto("tcp-stream").unwrap().tcp_mode, TcpMode::Stream);
        assert_eq!(proto("icmpv6").unwrap().transport, Transport::Icmpv6);
        assert_eq!(proto("pkt").unwrap().transport, Transport::Ip);
        assert_eq!(
            proto("http").unwrap(),
            RuleProto {
                transport: Transport::Tcp,
                tcp_mode: TcpMode::Both,
                app: Some("http".into()),
                layer: ProtoLayer::Any
            }
        );
        assert_eq!(proto("ipv6").unwrap().layer, ProtoLayer::Ipv6);
        assert_eq!(proto("IP4").unwrap().layer, ProtoLayer::Ipv4);
        assert_eq!(proto("pkthdr").unwrap_err().kind, ErrorKind::BadValue("protocol".into()));
        let de = p("alert pkthdr any any -> any any (decode-event:ipv4.trunc_pkt; sid:1;)").unwrap();
        assert_eq!(de.proto.layer, ProtoLayer::Pkthdr);
        assert_eq!(proto("dns").unwrap().transport, Transport::Ip);
        assert_eq!(proto("ntp").unwrap().transport, Transport::Udp);
        assert_eq!(proto("nope").unwrap_err().kind, ErrorKind::BadValue("protocol".into()));
        // Suricata 8's hooks and layer-2 protocols: valid rules, not run yet
        for (header, what) in [
            ("http1:response_body", "app-layer hook http1:response_body"),
            ("tls:client_hello_done", "app-layer hook tls:client_hello_done"),
            ("tcp:all", "packet hook tcp:all"),
            ("arp", "protocol arp"),
            ("ether", "protocol ether"),
        ] {
            assert_eq!(proto(header).unwrap_err().kind, ErrorKind::Unsupported(what.into()), "{header}");
        }
        assert_eq!(proto("nope:flow_start").unwrap_err().kind, ErrorKind::BadValue("protocol".into()));
        assert!(proto("tcp:flow_start").is_ok());
        assert_eq!(p("alert tcp any any <- any any (sid:1;)").unwrap_err().kind, ErrorKind::Syntax);
        let tx = p("alert http any any => any 80 (sid:1;)").unwrap();
        assert!(tx.transactional && !tx.bidirectional);
        assert_eq!(p("block tcp any any -> any any (sid:1;)").unwrap_err().kind, ErrorKind::Syntax);
        assert_eq!(p("alert tcp any any -> any (sid:1;)").unwrap_err().kind, ErrorKind::Syntax);
    }

    #[test]
    fn variables() {
        let e = p("alert tcp $NOPE any -> any any (sid:1;)").unwrap_err();
        assert_eq!(e.kind, ErrorKind::UndefinedVariable("NOPE".into()));
        let mut cfg = VarsConfig::default();
        cfg.address.insert("LOOP".into(), "[1.1.1.1,$LOOP2]".into());
        cfg.address.insert("LOOP2".into(), "$LOOP".into());
        let mut c = ParseContext::new(&cfg);
        let e = parse_rule("alert tcp $LOOP any -> any any (sid:1;)", keywords(), &mut c).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::CircularVariable(_)), "{e}");
        let e = p("alert tcp any $NOPE_PORTS -> any any (sid:1;)").unwrap_err();
        assert_eq!(e.kind, ErrorKind::UndefinedVariable("NOPE_PORTS".into()));
        assert_eq!(
            p("alert tcp any 70000 -> any any (sid:1;)").unwrap_err().kind,
            ErrorKind::BadValue("source port".into())
        );
        assert_eq!(
            p("alert tcp !any any -> any any (sid:1;)").unwrap_err().kind,
            ErrorKind::BadValue("source address".into())
        );
    }
}
