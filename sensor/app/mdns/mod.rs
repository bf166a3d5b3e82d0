//! Multicast DNS (UDP 5353), after Suricata's `rust/src/mdns/`: DNS's wire format, every
//! message a transaction (a response to the server side is kept as a response, as all mDNS is
//! "to server"), `mdns.*.rrname` buffers and the `mdns` EVE object. The parser and the
//! transactions are the DNS family's (`app/dns/family.rs`); this folder holds the rows and
//! the descriptor.

use crate::app::dns::family::{FamilyState, FamilyStats, FamilyTx, Variant};
use crate::app::identify::ProbeResult;
use crate::app::plugin::{buffer_infos, BufferInfo, Need, Protocol, Side, Sticky};
use crate::app::{AppConfig, AppProto, AppStats};

const DOC: &str = "https://docs.suricata.io/en/latest/rules/mdns-keywords.html";

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

/// mDNS's sticky buffers, in the order of their numbers.
pub(crate) static BUFFERS: &[Sticky<FamilyTx>] = &[
    Sticky {
        info: buffer("mdns.queries.rrname", Side::Both, "each question name of a request"),
        get: |tx: &FamilyTx, ts, f| tx.query_names(ts).any(f),
    },
    Sticky {
        info: buffer("mdns.answers.rrname", Side::Both, "each owner name of the answer section"),
        get: |tx: &FamilyTx, ts, f| tx.answer_names(ts).any(f),
    },
    Sticky {
        info: buffer("mdns.authorities.rrname", Side::Both, "each owner name of a response's authority section"),
        get: |tx: &FamilyTx, _, f| tx.authority_names().any(f),
    },
    Sticky {
        info: buffer("mdns.additionals.rrname", Side::Both, "each owner name of a response's additional section"),
        get: |tx: &FamilyTx, _, f| tx.additional_names().any(f),
    },
    Sticky {
        info: buffer(
            "mdns.response.rrname",
            Side::ToServer,
            "each name of a response: questions, record owners and the names in their data",
        ),
        get: |tx: &FamilyTx, _, f| tx.response_names(f),
    },
];

/// Suricata's mDNS probe: DNS's (a sane header and message), on port 5353.
pub(crate) fn probe(d: &[u8]) -> ProbeResult {
    match crate::app::dns::probe_udp(d) {
        crate::app::dns::Probe::Dns { .. } => ProbeResult::Found(AppProto::Mdns),
        _ => ProbeResult::NotFound,
    }
}

/// mDNS's descriptor.
pub(crate) static PROTOCOL: Protocol = Protocol {
    proto: AppProto::Mdns,
    new_parser: |_: &AppConfig| Box::new(FamilyState::new(Variant::Mdns)),
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
    counters: |s: &AppStats, f| FamilyStats::each(&s.mdns, f),
};
