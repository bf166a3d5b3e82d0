//! Link-Local Multicast Name Resolution (UDP and TCP 5355), after Suricata's
//! `rust/src/llmnr/`: DNS's wire format, every message a transaction (requests to the server,
//! responses to the client), `llmnr.*.rrname` buffers and the `llmnr` EVE object. The parser
//! and the transactions are the DNS family's (`app/dns/family.rs`); this folder holds the rows
//! and the descriptor.

use crate::app::dns::family::{rrname_buffers, FamilyState, FamilyStats, FamilyTx, Variant};
use crate::app::identify::ProbeResult;
use crate::app::plugin::{buffer_infos, Protocol, Side, Sticky};
use crate::app::{AppConfig, AppProto, AppStats};

const DOC: &str = "https://docs.suricata.io/en/latest/rules/llmnr-keywords.html";

/// LLMNR's sticky buffers, in the order of their numbers.
pub(crate) static BUFFERS: &[Sticky<FamilyTx>] = rrname_buffers!(
    "llmnr",
    doc: DOC,
    queries: "each question name (of the request to the server, of the response to the client)",
    response_side: Side::ToClient,
);

/// Suricata's LLMNR probes: DNS's, over UDP or (length-prefixed) TCP, on port 5355.
pub(crate) fn probe(udp: bool, d: &[u8]) -> ProbeResult {
    let r = if udp { crate::app::dns::probe_udp(d) } else { crate::app::dns::probe_tcp(d) };
    match r {
        crate::app::dns::Probe::Dns { .. } => ProbeResult::Found(AppProto::Llmnr),
        crate::app::dns::Probe::Incomplete if !udp => ProbeResult::NeedMore,
        _ => ProbeResult::NotFound,
    }
}

/// LLMNR's descriptor.
pub(crate) static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    ..Protocol::new(
        AppProto::Llmnr,
        |_: &AppConfig| Box::new(FamilyState::new(Variant::Llmnr)),
        |s: &AppStats, f| FamilyStats::each(&s.llmnr, f),
    )
};
