//! Probing parsers and patterns of the protocols that mostly run over UDP (Kerberos, SNMP,
//! QUIC, DHCP, IKE, SIP, mDNS, LLMNR, NTP, TFTP, MQTT, LDAP, NFS, ...), as Suricata registers them: each
//! probing parser runs only when one of the flow's ports is its default detection port; the
//! patterns (SIP methods and status line, the BitTorrent DHT prefix) run on any port.
//! [`super::identify`] calls these after its own tables.

use super::identify::ProbeResult;
use super::proto::AppProto;

/// A probing parser: its protocol, default ports per transport, and the check of the first
/// bytes of a direction (`to_server`, data).
struct PortProbe {
    udp: &'static [u16],
    tcp: &'static [u16],
    /// Only the flow's destination port counts (Suricata's registration on `dp` alone: a
    /// flow whose first packet comes from the port is not probed).
    dp_only: bool,
    probe: fn(bool, &[u8], bool) -> ProbeResult,
}

/// Suricata's registration order (the first that finds a protocol wins).
static PORT_PROBES: &[PortProbe] = &[
    PortProbe {
        udp: &[88],
        tcp: &[88],
        dp_only: false,
        probe: |udp, d, _| if udp { super::krb5::probe_udp(d) } else { super::krb5::probe_tcp(d) },
    },
    PortProbe { udp: &[161, 162], tcp: &[], dp_only: false, probe: |_, d, _| super::snmp::probe(d) },
    PortProbe { udp: &[5353], tcp: &[], dp_only: false, probe: |_, d, _| super::mdns::probe(d) },
    PortProbe { udp: &[123], tcp: &[], dp_only: false, probe: |_, d, _| super::ntp::probe(d) },
    PortProbe { udp: &[67, 68], tcp: &[], dp_only: false, probe: |_, d, _| super::dhcp::probe(d) },
    PortProbe { udp: &[500, 4500], tcp: &[], dp_only: false, probe: |_, d, _| super::ike::probe(d) },
    PortProbe { udp: &[5355], tcp: &[5355], dp_only: false, probe: |udp, d, _| super::llmnr::probe(udp, d) },
    PortProbe { udp: &[443, 80], tcp: &[], dp_only: true, probe: |_, d, _| super::quic::probe(d) },
    PortProbe { udp: &[], tcp: &[1883], dp_only: false, probe: |_, d, _| super::mqtt::probe(d) },
    PortProbe { udp: &[389, 3268], tcp: &[389, 3268], dp_only: false, probe: |_, d, _| super::ldap::probe(d) },
    PortProbe { udp: &[2049], tcp: &[], dp_only: false, probe: |_, d, ts| super::nfs::probe_udp(ts, d) },
    PortProbe { udp: &[69], tcp: &[], dp_only: true, probe: |_, d, _| super::tftp::probe(d) },
];

/// Runs the probing parsers registered for either port (`udp`: the transport).
pub(super) fn by_port(udp: bool, to_server: bool, data: &[u8], sp: u16, dp: u16) -> ProbeResult {
    let mut pending = false;
    for p in PORT_PROBES {
        let ports = if udp { p.udp } else { p.tcp };
        let flow_dp = if to_server { dp } else { sp };
        let on_port = if p.dp_only { ports.contains(&flow_dp) } else { ports.iter().any(|&x| x == sp || x == dp) };
        if !on_port {
            continue;
        }
        match (p.probe)(udp, data, to_server) {
            ProbeResult::Found(x) => return ProbeResult::Found(x),
            ProbeResult::NeedMore => pending = true,
            ProbeResult::NotFound => {}
        }
    }
    if pending {
        ProbeResult::NeedMore
    } else {
        ProbeResult::NotFound
    }
}

/// Runs the patterns of these protocols (on any port).
pub(super) fn patterns(udp: bool, to_server: bool, data: &[u8]) -> ProbeResult {
    let _ = udp;
    super::sip::pattern(to_server, data)
}

/// Protocols named here (for [`super::identify::identifies`]).
pub(super) fn names(p: AppProto) -> bool {
    matches!(
        p,
        AppProto::Krb5
            | AppProto::Snmp
            | AppProto::Mdns
            | AppProto::Llmnr
            | AppProto::Sip
            | AppProto::Ntp
            | AppProto::Dhcp
            | AppProto::Ike
            | AppProto::Quic
            | AppProto::Mqtt
            | AppProto::Ldap
            | AppProto::Nfs
            | AppProto::Tftp
    )
}
