//! Multicast DNS (UDP 5353), after Suricata's `rust/src/mdns/`: DNS's wire format, every
//! message a transaction (a response to the server side is kept as a response, as all mDNS is
//! "to server"), `mdns.*.rrname` buffers and the `mdns` EVE object. The parser and the
//! transactions are the DNS family's (`app/dns/family.rs`); this folder holds the rows and
//! the descriptor.

use crate::app::dns::family::{rrname_buffers, FamilyState, FamilyStats, FamilyTx, Variant};
use crate::app::identify::ProbeResult;
use crate::app::plugin::{buffer_infos, Protocol, Side, Sticky};
use crate::app::{AppConfig, AppProto, AppStats};

const DOC: &str = "https://docs.suricata.io/en/latest/rules/mdns-keywords.html";

/// mDNS's sticky buffers, in the order of their numbers.
pub(crate) static BUFFERS: &[Sticky<FamilyTx>] = rrname_buffers!(
    "mdns",
    doc: DOC,
    queries: "each question name of a request",
    response_side: Side::ToServer,
);

/// Suricata's mDNS probe: DNS's (a sane header and message), on port 5353.
pub(crate) fn probe(d: &[u8]) -> ProbeResult {
    match crate::app::dns::probe_udp(d) {
        crate::app::dns::Probe::Dns { .. } => ProbeResult::Found(AppProto::Mdns),
        _ => ProbeResult::NotFound,
    }
}

/// mDNS's descriptor.
pub(crate) static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    ..Protocol::new(
        AppProto::Mdns,
        |_: &AppConfig| Box::new(FamilyState::new(Variant::Mdns)),
        |s: &AppStats, f| FamilyStats::each(&s.mdns, f),
    )
};
