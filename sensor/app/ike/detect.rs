//! IKE as a plug-in: its sticky buffers and value keywords (rows, as Suricata's
//! `rust/src/ike/detect.rs` defines them), its transactions and parser behind the app layer's
//! traits, and its descriptor.

use super::{v1, IkeState, IkeStats, IkeTx, EVENTS};
use crate::app::plugin::{
    buffer_infos, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky, Transaction,
    ValueArg, ValueInfo, ValueKeyword,
};
use crate::app::txs::{app_parser_txs, one_message_tx};
use crate::app::values::{holds, parse_uint, u32_arg, u8_arg, Uint};
use crate::app::{AppConfig, AppProto, AppStats};

/// The NAT-traversal port: messages follow a non-ESP marker.
const NAT_T_PORT: u16 = 4500;

const fn buffer(name: &'static str, multi: bool, desc: &'static str, doc: &'static str) -> BufferInfo {
    BufferInfo {
        name,
        aliases: &[],
        side: Side::Both,
        need: Need::own(1),
        multi,
        shared: false,
        internal: false,
        desc,
        doc,
    }
}

/// IKE's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<IkeTx>] = &[
    Sticky {
        info: buffer(
            "ike.init_spi",
            false,
            "the initiator's SPI, as 16 hex digits",
            "https://docs.suricata.io/en/latest/rules/ike-keywords.html#ike-init-spi-ike-resp-spi",
        ),
        get: |tx: &IkeTx, _, f| f(tx.init_spi().as_bytes()),
    },
    Sticky {
        info: buffer(
            "ike.resp_spi",
            false,
            "the responder's SPI, as 16 hex digits",
            "https://docs.suricata.io/en/latest/rules/ike-keywords.html#ike-init-spi-ike-resp-spi",
        ),
        get: |tx: &IkeTx, _, f| f(tx.resp_spi().as_bytes()),
    },
    Sticky {
        info: buffer(
            "ike.vendor",
            true,
            "an IKEv1 vendor id in hex, each in turn",
            "https://docs.suricata.io/en/latest/rules/ike-keywords.html#ike-vendor",
        ),
        get: |tx: &IkeTx, _, f| tx.v1.as_ref().is_some_and(|v| v.payloads.vendor_ids.iter().any(|x| f(x.as_bytes()))),
    },
    Sticky {
        info: buffer(
            "ike.key_exchange_payload",
            false,
            "the key exchange data of an IKEv1 message",
            "https://docs.suricata.io/en/latest/rules/ike-keywords.html#ike-key-exchange-payload",
        ),
        get: |tx: &IkeTx, _, f| match key_exchange(tx) {
            Some(k) => f(k),
            None => false,
        },
    },
    Sticky {
        info: buffer(
            "ike.nonce_payload",
            false,
            "the nonce of an IKEv1 message",
            "https://docs.suricata.io/en/latest/rules/ike-keywords.html#ike-nonce-payload",
        ),
        get: |tx: &IkeTx, _, f| match nonce(tx) {
            Some(k) => f(k),
            None => false,
        },
    },
];

fn key_exchange(tx: &IkeTx) -> Option<&[u8]> {
    tx.v1.as_ref().map(|v| v.payloads.key_exchange.as_slice()).filter(|k| !k.is_empty())
}

fn nonce(tx: &IkeTx) -> Option<&[u8]> {
    tx.v1.as_ref().map(|v| v.payloads.nonce.as_slice()).filter(|k| !k.is_empty())
}

/// `ike.chosen_sa_attribute:<attribute><comparison>`: an attribute type by Suricata's name
/// and an integer comparison (`alg_hash=2`, `alg_dh!=14`).
#[derive(Debug)]
struct ChosenSa {
    kind: u16,
    cmp: Uint,
}

fn parse_chosen_sa(v: Option<&str>) -> Result<ValueArg, String> {
    let s = v.unwrap_or("").trim();
    let end = s.find(|c: char| !(c.is_ascii_alphabetic() || c == '_')).unwrap_or(s.len());
    let (name, rest) = s.split_at(end);
    let kind = v1::attribute_type(name).ok_or_else(|| format!("unknown SA attribute `{name}`"))?;
    let cmp = parse_uint(Some(rest), u64::from(u32::MAX))?;
    Ok(Box::new(ChosenSa { kind, cmp }))
}

/// Suricata's match: IKEv1, the message's first transform's attribute of that type (its
/// numeric value); IKEv2, the responder's chosen transform of that type (enc, auth, prf, dh).
fn chosen_sa(a: &ValueArg, tx: &IkeTx) -> bool {
    let Some(arg) = a.downcast_ref::<ChosenSa>() else { return false };
    if let Some(v1) = &tx.v1 {
        let Some(first) = v1.payloads.transforms.first() else { return false };
        return first
            .iter()
            .find(|x| x.kind == arg.kind && x.numeric.is_some())
            .and_then(|x| x.numeric)
            .is_some_and(|n| arg.cmp.matches(u64::from(n)));
    }
    // attribute types alg_enc 1, alg_auth 3, alg_prf 13, alg_dh 4; IKEv2 transform types
    // enc 1, prf 2, auth 3, dh 4
    let want = match arg.kind {
        1 => 1,
        3 => 3,
        13 => 2,
        4 => 4,
        _ => return false,
    };
    tx.v2
        .as_ref()
        .and_then(|v| v.chosen.iter().find(|(k, _)| *k == want))
        .is_some_and(|&(_, id)| arg.cmp.matches(u64::from(id)))
}

/// IKE's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<IkeTx>] = &[
    ValueKeyword {
        info: ValueInfo::both_sides(
            "ike.exchtype",
            u8_arg,
            "the exchange type, compared with a number",
            "https://docs.suricata.io/en/latest/rules/ike-keywords.html#ike-exchtype",
        ),
        eval: |a, tx, _, _| holds(a, Some(u64::from(tx.hdr.exch_type))),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "ike.chosen_sa_attribute",
            parse_chosen_sa,
            "an attribute of the chosen security association (alg_enc, alg_hash, alg_auth, alg_dh, alg_prf, ...) compared with a number: alg_hash=2",
            "https://docs.suricata.io/en/latest/rules/ike-keywords.html#ike-chosen-sa-attribute",
        ),
        eval: |a, tx, _, _| chosen_sa(a, tx),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "ike.key_exchange_payload_length",
            u32_arg,
            "the length of an IKEv1 message's key exchange data, compared with a number",
            "https://docs.suricata.io/en/latest/rules/ike-keywords.html#ike-key-exchange-payload-length",
        ),
        eval: |a, tx, _, _| holds(a, key_exchange(tx).map(|k| k.len() as u64)),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "ike.nonce_payload_length",
            u32_arg,
            "the length of an IKEv1 message's nonce, compared with a number",
            "https://docs.suricata.io/en/latest/rules/ike-keywords.html#ike-nonce-payload-length",
        ),
        eval: |a, tx, _, _| holds(a, nonce(tx).map(|k| k.len() as u64)),
    },
];

impl Transaction for IkeTx {
    one_message_tx!(buffers: BUFFERS, values: VALUES, eve: write_eve,);

    fn record_to_server(&self) -> Option<bool> {
        // as Suricata's logger: the sender of the message is the record's source
        Some(self.to_server)
    }
}

impl AppParser for IkeState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let nat_t = cx.flow.ends.sp == NAT_T_PORT || cx.flow.ends.dp == NAT_T_PORT;
        let before = self.txs.next_id();
        // events go to the new transaction, or (found on the flow) to the one before it
        let last_events = self.txs.iter().next_back().map_or(0, |t| t.events.len());
        let last_id = self.txs.iter().next_back().map(|t| t.id);
        self.parse(to_server, data, nat_t);
        for t in self.txs.iter() {
            let seen = if Some(t.id) == last_id {
                last_events
            } else if t.id >= before {
                0
            } else {
                continue;
            };
            for &e in t.events.get(seen..).unwrap_or(&[]) {
                cx.stats.tx_event(AppProto::Ike, e);
            }
        }
        for _ in before..self.txs.next_id() {
            cx.stats.tx(AppProto::Ike, !cx.udp);
        }
        self.stats.drain_into(&mut cx.stats.ike);
        Status::Continue
    }

    app_parser_txs!();
}

/// IKE's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    ..Protocol::new(
        AppProto::Ike,
        |_: &AppConfig| Box::<IkeState>::default(),
        |s: &AppStats, f| IkeStats::each(&s.ike, f),
    )
};
