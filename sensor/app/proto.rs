//! The application protocols Picket knows by name: what EVE calls them (`app_proto`), what rule
//! headers and `app-layer-protocol:` accept, which transports they run on and how their
//! counters are named. Whether a protocol is parsed is the registry's business
//! ([`super::registry`]), not this list's.

macro_rules! app_protos {
    ($( $id:ident => $name:literal, [$($alias:literal),*], tcp: $tcp:literal, udp: $udp:literal, gaps: $gaps:literal, $doc:literal; )*) => {
        /// Application protocols, named as Suricata names them in EVE (`app_proto`) and in
        /// rule headers (`alert http ...`) and `app-layer-protocol:`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
        pub enum AppProto {
            /// Not decided yet.
            #[default]
            Unknown,
            /// Detection gave up (EVE `failed`).
            Failed,
            $( #[doc = $doc] $id, )*
        }

        impl AppProto {
            /// Every variant, for tables and tests (index: [`AppProto::index`]).
            pub const ALL: &'static [AppProto] = &[AppProto::Unknown, AppProto::Failed, $( AppProto::$id, )*];

            /// EVE / rule name (`http`, `tls`, `failed`, ...; `unknown` is never logged).
            pub fn name(self) -> &'static str {
                match self {
                    AppProto::Unknown => "unknown",
                    AppProto::Failed => "failed",
                    $( AppProto::$id => $name, )*
                }
            }

            /// Parses a rule-header / `app-layer-protocol:` name, with Suricata's aliases
            /// (`http1`, `ssl`, ...), case-insensitively.
            pub fn from_name(s: &str) -> Option<AppProto> {
                let s = s.to_ascii_lowercase();
                match s.as_str() {
                    "unknown" => Some(AppProto::Unknown),
                    "failed" => Some(AppProto::Failed),
                    $( $name $(| $alias)* => Some(AppProto::$id), )*
                    _ => None,
                }
            }

            /// Transports it runs on: (TCP, UDP).
            pub fn transports(self) -> (bool, bool) {
                match self {
                    AppProto::Unknown | AppProto::Failed => (true, true),
                    $( AppProto::$id => ($tcp, $udp), )*
                }
            }

            /// Its parser accepts gaps in a TCP stream (others end the app layer at a gap, as
            /// Suricata's do); also what a flow of a protocol without a parser does.
            pub fn accepts_gaps(self) -> bool {
                match self {
                    AppProto::Unknown | AppProto::Failed => false,
                    $( AppProto::$id => $gaps, )*
                }
            }
        }
    };
}

app_protos! {
    Http => "http", ["http1"], tcp: true, udp: false, gaps: true, "HTTP/1.x.";
    Tls => "tls", ["ssl"], tcp: true, udp: false, gaps: false, "SSL/TLS.";
    Dns => "dns", [], tcp: true, udp: true, gaps: true, "DNS over UDP or TCP.";
    Ssh => "ssh", [], tcp: true, udp: false, gaps: false, "SSH.";
    Ftp => "ftp", [], tcp: true, udp: false, gaps: true, "FTP control channel.";
    FtpData => "ftp-data", [], tcp: true, udp: false, gaps: true, "FTP data connection.";
    Smtp => "smtp", [], tcp: true, udp: false, gaps: false, "SMTP.";
    Smb => "smb", [], tcp: true, udp: false, gaps: true, "SMB 1/2/3 over NetBIOS session service.";
    Dcerpc => "dcerpc", [], tcp: true, udp: true, gaps: true, "DCE/RPC (connection-oriented over TCP, connectionless over UDP).";
    Imap => "imap", [], tcp: true, udp: false, gaps: false, "IMAP.";
    Pop3 => "pop3", [], tcp: true, udp: false, gaps: true, "POP3.";
    Rfb => "rfb", [], tcp: true, udp: false, gaps: false, "RFB / VNC.";
    Telnet => "telnet", [], tcp: true, udp: false, gaps: false, "Telnet.";
    Rdp => "rdp", [], tcp: true, udp: false, gaps: false, "RDP.";
    Ldap => "ldap", [], tcp: true, udp: true, gaps: true, "LDAP.";
    Modbus => "modbus", [], tcp: true, udp: false, gaps: false, "Modbus/TCP.";
    Pgsql => "pgsql", [], tcp: true, udp: false, gaps: false, "PostgreSQL.";
    Dnp3 => "dnp3", [], tcp: true, udp: false, gaps: false, "DNP3.";
    Krb5 => "krb5", [], tcp: true, udp: true, gaps: true, "Kerberos 5.";
    Nfs => "nfs", [], tcp: true, udp: true, gaps: true, "NFS (ONC RPC).";
    Http2 => "http2", [], tcp: true, udp: false, gaps: false, "HTTP/2.";
    Mqtt => "mqtt", [], tcp: true, udp: false, gaps: false, "MQTT.";
    Websocket => "websocket", [], tcp: true, udp: false, gaps: false, "WebSocket.";
    Enip => "enip", [], tcp: true, udp: true, gaps: false, "EtherNet/IP.";
    Sip => "sip", [], tcp: true, udp: true, gaps: false, "SIP.";
    Snmp => "snmp", [], tcp: false, udp: true, gaps: false, "SNMP.";
    Ntp => "ntp", [], tcp: false, udp: true, gaps: false, "NTP.";
    Tftp => "tftp", [], tcp: false, udp: true, gaps: false, "TFTP.";
    Dhcp => "dhcp", [], tcp: false, udp: true, gaps: false, "DHCP.";
    Ike => "ike", ["ikev2"], tcp: false, udp: true, gaps: false, "IKE (v1 and v2).";
    Quic => "quic", [], tcp: false, udp: true, gaps: false, "QUIC.";
    BittorrentDht => "bittorrent-dht", [], tcp: false, udp: true, gaps: false, "BitTorrent DHT.";
    Mdns => "mdns", [], tcp: false, udp: true, gaps: false, "Multicast DNS.";
    Llmnr => "llmnr", [], tcp: true, udp: true, gaps: false, "Link-Local Multicast Name Resolution.";
    Doh2 => "doh2", [], tcp: true, udp: false, gaps: false, "DNS over HTTP/2.";
}

impl AppProto {
    /// A real protocol (not `Unknown` / `Failed`).
    pub fn is_known(self) -> bool {
        !matches!(self, AppProto::Unknown | AppProto::Failed)
    }

    /// Suricata's default configuration parses (or at least detects) it; `pgsql`, `modbus`,
    /// `dnp3` and `enip` are disabled there, so flows of theirs stay unnamed, as Suricata's.
    pub fn enabled_by_default(self) -> bool {
        !matches!(self, AppProto::Pgsql | AppProto::Modbus | AppProto::Dnp3 | AppProto::Enip)
    }

    /// Whether a rule whose header names `self` applies to a flow of `flow` (Suricata's
    /// `AppProtoEquals`): the same protocol, DCE/RPC carried over SMB named pipes, a generic
    /// `http` rule on an HTTP/2 flow, DoH flows for `http2` and `dns` rules and HTTP/2 flows
    /// for `doh2` rules.
    pub fn rule_applies_to(self, flow: AppProto) -> bool {
        self == flow
            || matches!(
                (self, flow),
                (AppProto::Dcerpc, AppProto::Smb)
                    | (AppProto::Http, AppProto::Http2)
                    | (AppProto::Http2 | AppProto::Dns, AppProto::Doh2)
                    | (AppProto::Doh2, AppProto::Http2)
            )
    }

    /// `app-layer-protocol`'s test of the protocol it names (`name`, canonical) against a
    /// flow's: as [`AppProto::rule_applies_to`], or (`exact`) that protocol itself; `http`
    /// is either HTTP version both ways, `http1` HTTP/1 alone.
    pub fn keyword_matches(name: &str, flow: AppProto, exact: bool) -> bool {
        match AppProto::from_name(name) {
            Some(AppProto::Http) if name == "http" => matches!(flow, AppProto::Http | AppProto::Http2),
            Some(p) if exact => p == flow,
            Some(p) => p.rule_applies_to(flow),
            None => false,
        }
    }

    /// Whether a rule whose header names protocol `name` (as written) applies to flows of
    /// `flow`: as [`AppProto::rule_applies_to`], except that `http1` names HTTP/1 alone
    /// (`http` is either version, as in Suricata).
    pub fn header_applies_to(self, name: &str, flow: AppProto) -> bool {
        self.rule_applies_to(flow) && !(flow == AppProto::Http2 && name.eq_ignore_ascii_case("http1"))
    }

    /// Position in [`AppProto::ALL`].
    pub fn index(self) -> usize {
        AppProto::ALL.iter().position(|&p| p == self).unwrap_or(0)
    }

    /// The suffix of its per-transport counter names (`app_layer.flow.dns_udp`): protocols
    /// on both transports get `_tcp` / `_udp`, as Suricata names them.
    pub fn counter_name(self, tcp: bool) -> String {
        let base = self.name().replace('-', "_");
        let (t, u) = self.transports();
        if t && u {
            format!("{base}_{}", if tcp { "tcp" } else { "udp" })
        } else {
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_resolve() {
        for &p in AppProto::ALL {
            assert_eq!(AppProto::from_name(p.name()), Some(p), "{}", p.name());
            assert_eq!(AppProto::ALL[p.index()], p);
        }
        assert_eq!(AppProto::from_name("HTTP1"), Some(AppProto::Http));
        assert_eq!(AppProto::from_name("ssl"), Some(AppProto::Tls));
        assert_eq!(AppProto::from_name("nope"), None);
    }

    #[test]
    fn dcerpc_rules_apply_to_smb_flows() {
        assert!(AppProto::Dcerpc.rule_applies_to(AppProto::Smb));
        assert!(AppProto::Smb.rule_applies_to(AppProto::Smb));
        assert!(!AppProto::Smb.rule_applies_to(AppProto::Dcerpc));
        assert!(!AppProto::Http.rule_applies_to(AppProto::Dns));
        // `http` rules see both HTTP versions, `http1` rules HTTP/1 only
        assert!(AppProto::Http.header_applies_to("http", AppProto::Http2));
        assert!(!AppProto::Http.header_applies_to("http1", AppProto::Http2));
        assert!(AppProto::Http.header_applies_to("http1", AppProto::Http));
    }

    #[test]
    fn counter_names_follow_suricata() {
        assert_eq!(AppProto::Dns.counter_name(false), "dns_udp");
        assert_eq!(AppProto::Http.counter_name(true), "http");
        assert_eq!(AppProto::Failed.counter_name(true), "failed_tcp");
        assert_eq!(AppProto::BittorrentDht.counter_name(false), "bittorrent_dht");
    }
}
