//! App-layer counters of one worker: flows and transactions per protocol, protocol
//! identification, and each parsed protocol's own counters, kept as plain integers and named
//! for the metrics table by [`AppStats::each`].

use super::identify::DetectStats;
use super::proto::AppProto;

/// Defines a protocol's counter struct: plain `u64` fields, each with a help line, and a way to
/// list them (`name`, help, value) for metrics and to hand per-flow counts over to the worker's.
#[macro_export]
#[doc(hidden)]
macro_rules! app_counters {
    ($(#[$m:meta])* $vis:vis struct $name:ident { $( $(#[doc = $doc:literal])+ $field:ident, )* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        $vis struct $name {
            $( $(#[doc = $doc])+ pub $field: u64, )*
        }

        impl $name {
            /// Each counter: field name, help, value.
            pub fn each(&self, f: &mut dyn FnMut(&'static str, &'static str, u64)) {
                $( f(stringify!($field), concat!($($doc),+).trim(), self.$field); )*
            }

            /// Adds these counts into `total` and zeroes them (a per-flow tally handed over).
            pub fn drain_into(&mut self, total: &mut $name) {
                $( total.$field += std::mem::take(&mut self.$field); )*
            }
        }
    };
}

/// Number of protocols in [`AppProto::ALL`].
pub(super) const PROTOS: usize = AppProto::ALL.len();

/// Generic app-layer counters (not tied to one protocol).
#[derive(Clone, Debug, Default)]
pub struct GenericStats {
    /// Flows whose protocol was decided, per protocol and transport (index: [`AppProto::index`],
    /// then 0 TCP / 1 UDP). `Failed` counts flows detection gave up on.
    pub flows: Vec<[u64; 2]>,
    /// Transactions created, per protocol and transport.
    pub txs: Vec<[u64; 2]>,
    /// Flows whose app layer stopped at a gap its parser cannot cross.
    pub gap_stops: u64,
    /// Frames not kept: a flow held [`super::frames::MAX_FRAMES`] already.
    pub frames_dropped: u64,
    /// Bytes of the next protocol not kept while a change of protocol waited (over 64 KiB
    /// per direction).
    pub upgrade_bytes_dropped: u64,
    /// Transaction events raised, per protocol ([`AppProto::index`]) and event (an index
    /// into the protocol's event table).
    pub events: Vec<Vec<u64>>,
}

/// A worker's app-layer counters.
#[derive(Clone, Debug, Default)]
pub struct AppStats {
    /// Protocol identification.
    pub identify: DetectStats,
    /// Flows, transactions, detection state.
    pub generic: GenericStats,
    /// HTTP/1.
    pub http: super::http::HttpStats,
    /// HTTP/2.
    pub http2: super::http2::Http2Stats,
    /// DNS.
    pub dns: super::dns::DnsStats,
    /// TLS.
    pub tls: super::tls::TlsStats,
    /// Kerberos 5.
    pub krb5: super::krb5::Krb5Stats,
    /// SNMP.
    pub snmp: super::snmp::SnmpStats,
    /// IKE.
    pub ike: super::ike::IkeStats,
    /// mDNS.
    pub mdns: super::dns::family::FamilyStats,
    /// LLMNR.
    pub llmnr: super::dns::family::FamilyStats,
    /// SIP.
    pub sip: super::sip::SipStats,
    /// LDAP.
    pub ldap: super::ldap::LdapStats,
    /// MQTT.
    pub mqtt: super::mqtt::MqttStats,
    /// POP3.
    pub pop3: super::pop3::Pop3Stats,
    /// RDP.
    pub rdp: super::rdp::RdpStats,
    /// NFS.
    pub nfs: super::nfs::NfsStats,
    /// TFTP.
    pub tftp: super::tftp::TftpStats,
    /// NTP.
    pub ntp: super::ntp::NtpStats,
    /// DCE/RPC.
    pub dcerpc: super::dcerpc::DcerpcStats,
    /// SMB.
    pub smb: super::smb::SmbStats,
    /// DHCP.
    pub dhcp: super::dhcp::DhcpStats,
    /// FTP (control and data connections).
    pub ftp: super::ftp::FtpStats,
    /// SSH.
    pub ssh: super::ssh::SshStats,
    /// SMTP.
    pub smtp: super::smtp::SmtpStats,
    /// QUIC.
    pub quic: super::quic::QuicStats,
    /// WebSocket.
    pub websocket: super::websocket::WebsocketStats,
    /// The expectation table (announced flows).
    pub expect: super::expect::ExpectStats,
}

/// How a counter combines across threads (the metrics table's `Sum`).
impl AppStats {
    /// Counts a transaction of `proto` over TCP or UDP.
    pub fn tx(&mut self, proto: AppProto, tcp: bool) {
        self.generic.txs.resize(PROTOS, [0; 2]);
        if let Some(slot) = self.generic.txs.get_mut(proto.index()) {
            slot[usize::from(!tcp)] += 1;
        }
    }

    /// Counts app-layer event `event` (an index into the protocol's event table) raised on a
    /// transaction of `proto`.
    pub fn tx_event(&mut self, proto: AppProto, event: u16) {
        let ev = &mut self.generic.events;
        if ev.len() < PROTOS {
            ev.resize(PROTOS, Vec::new());
        }
        if let Some(v) = ev.get_mut(proto.index()) {
            let e = usize::from(event);
            if v.len() <= e {
                v.resize(e + 1, 0);
            }
            if let Some(n) = v.get_mut(e) {
                *n += 1;
            }
        }
    }

    /// Counts a flow whose protocol was decided.
    pub fn flow(&mut self, proto: AppProto, tcp: bool) {
        self.generic.flows.resize(PROTOS, [0; 2]);
        if let Some(slot) = self.generic.flows.get_mut(proto.index()) {
            slot[usize::from(!tcp)] += 1;
        }
    }

    /// Each counter as (dotted name, help, value), in a fixed order: the metrics table of the
    /// app layer. Names of Suricata's own counters (`app_layer.flow.*`, `app_layer.tx.*`)
    /// are Suricata's; the rest are under `app.`. With `names` false the names and helps
    /// passed are empty (publishing values only, at every batch).
    pub fn each(&self, names: bool, f: &mut dyn FnMut(&str, &str, u64)) {
        let mut name = String::new();
        let named = |name: &mut String, parts: &[&str]| {
            name.clear();
            if names {
                parts.iter().for_each(|p| name.push_str(p));
            }
        };
        for &p in AppProto::ALL {
            if p == AppProto::Unknown {
                continue;
            }
            let (t, u) = p.transports();
            for (tcp, on) in [(true, t), (false, u)] {
                if !on {
                    continue;
                }
                let i = p.index();
                let d = usize::from(!tcp);
                let suffix = if names { p.counter_name(tcp) } else { String::new() };
                let flows = self.generic.flows.get(i).map_or(0, |x| x[d]);
                named(&mut name, &["app_layer.flow.", &suffix]);
                f(&name, "flows whose app-layer protocol was decided as this one (failed: none found)", flows);
                if super::registry::protocol(p).is_some() {
                    let txs = self.generic.txs.get(i).map_or(0, |x| x[d]);
                    named(&mut name, &["app_layer.tx.", &suffix]);
                    f(&name, "app-layer transactions of this protocol", txs);
                }
            }
        }
        let id = &self.identify;
        f(
            "app.identify.probe_bytes_exhausted",
            "directions that gave up protocol identification after 256 bytes still undecided",
            id.probe_bytes_exhausted,
        );
        f(
            "app.identify.direction_mismatch",
            "flows whose two directions were identified as different protocols (the first is kept)",
            id.direction_mismatch,
        );
        f(
            "app.gap_stops",
            "flows whose app layer stopped at a stream gap its parser cannot cross",
            self.generic.gap_stops,
        );
        f(
            "app.frames_dropped",
            "frames not kept for the frame keyword because their flow held too many",
            self.generic.frames_dropped,
        );
        f(
            "app.upgrade_bytes_dropped",
            "bytes of a flow's next protocol dropped while a protocol change (HTTP Upgrade) waited: over 64 KiB",
            self.generic.upgrade_bytes_dropped,
        );
        self.expect.each(&mut |field, help, v| {
            named(&mut name, &["app.expect.", field]);
            f(&name, help, v);
        });
        for proto in super::registry::protocols() {
            let pname = proto.proto.name();
            (proto.counters)(self, &mut |field, help, v| {
                named(&mut name, &["app.", pname, ".", field]);
                f(&name, help, v);
            });
        }
        let mut help = String::new();
        for proto in super::registry::protocols() {
            let pname = proto.proto.name();
            let counts = self.generic.events.get(proto.proto.index());
            for (i, ev) in proto.events.iter().enumerate() {
                named(&mut name, &["app.event.", pname, ".", ev]);
                help.clear();
                if names {
                    help.push_str("transactions on which the ");
                    help.push_str(pname);
                    help.push_str(" parser raised this app-layer event");
                }
                f(&name, &help, counts.and_then(|c| c.get(i)).copied().unwrap_or(0));
            }
        }
    }
}
