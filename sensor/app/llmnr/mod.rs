//! Link-Local Multicast Name Resolution (UDP and TCP 5355), after Suricata's
//! `rust/src/llmnr/`: DNS's wire format, every message a transaction (requests to the server,
//! responses to the client), `llmnr.*.rrname` buffers and the `llmnr` EVE object. The parser
//! and the transactions are the DNS family's (`app/dns/family.rs`); this folder holds the rows
//! and the descriptor.

use crate::app::dns::family::{FamilyState, FamilyStats, FamilyTx, Variant};
use crate::app::identify::ProbeResult;
use crate::app::plugin::{buffer_infos, BufferInfo, Need, Protocol, Side, Sticky};
use crate::app::{AppConfig, AppProto, AppStats};

const DOC: &str = "https://docs.suricata.io/en/latest/rules/llmnr-keywords.html";

const fn buffer(name: &'static str, side: Side, desc: &'static str) -> BufferInfo {
    BufferInfo {
        name,
        aliases: &[],
        side,
        need: Need::own(1),
        multi: true,
        shared: false,
        internal: false,
        desc,
        doc: DOC,
    }
}

/// LLMNR's sticky buffers, in the order of their numbers.
pub(crate) static BUFFERS: &[Sticky<FamilyTx>] = &[
    Sticky {
        info: buffer(
            "llmnr.queries.rrname",
            Side::Both,
            "each question name (of the request to the server, of the response to the client)",
        ),
        get: |tx: &FamilyTx, ts, f| tx.query_names(ts).any(f),
    },
    Sticky {
        info: buffer("llmnr.answers.rrname", Side::Both, "each owner name of the answer section"),
        get: |tx: &FamilyTx, ts, f| tx.answer_names(ts).any(f),
    },
    Sticky {
        info: buffer("llmnr.authorities.rrname", Side::Both, "each owner name of a response's authority section"),
        get: |tx: &FamilyTx, _, f| tx.authority_names().any(f),
    },
    Sticky {
        info: buffer("llmnr.additionals.rrname", Side::Both, "each owner name of a response's additional section"),
        get: |tx: &FamilyTx, _, f| tx.additional_names().any(f),
    },
    Sticky {
        info: buffer(
            "llmnr.response.rrname",
            Side::ToClient,
            "each name of a response: questions, record owners and the names in their data",
        ),
        get: |tx: &FamilyTx, _, f| tx.response_names(f),
    },
];

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
    proto: AppProto::Llmnr,
    new_parser: |_: &AppConfig| Box::new(FamilyState::new(Variant::Llmnr)),
    buffers: || buffer_infos(BUFFERS),
    values: Vec::new,
    payload_buffer: None,
    reinspect: false,
    events: &[],
    eve_events_upper: false,
    record_tx_id: false,
    stream_depth: None,
    record_type: None,
    frames: &[],
    counters: |s: &AppStats, f| FamilyStats::each(&s.llmnr, f),
};
