//! LDAP as a plug-in: its sticky buffers and value keywords (Suricata 8's `ldap.*`), its
//! transactions and parser behind the app layer's traits, and its descriptor.

use ldap_parser::ldap::{LdapMessage, ProtocolOp};

use super::eve::{OPERATIONS, RESULT_CODES};
use super::{LdapState, LdapStats, LdapTx, EVENTS};
use crate::app::plugin::{
    buffer_infos, keyword_tables, started_or_done, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side,
    Status, Sticky, Transaction, Upgrade, ValueArg, ValueInfo, ValueKeyword,
};
use crate::app::txs::app_parser_txs;
use crate::app::values::{holds_multi, parse_multi, parse_uint_enum, Uint};
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const DOC: &str = "https://docs.suricata.io/en/latest/rules/ldap-keywords.html";

const fn buffer(name: &'static str, side: Side, multi: bool, desc: &'static str) -> BufferInfo {
    BufferInfo { name, aliases: &[], side, need: Need::NONE, multi, shared: false, internal: false, desc, doc: DOC }
}

/// The distinguished name a request names (Suricata's `ldap.request.dn`).
fn request_dn<'a>(m: &'a LdapMessage<'_>) -> Option<&'a str> {
    Some(match &m.protocol_op {
        ProtocolOp::BindRequest(r) => &r.name.0,
        ProtocolOp::AddRequest(r) => &r.entry.0,
        ProtocolOp::SearchRequest(r) => &r.base_object.0,
        ProtocolOp::ModifyRequest(r) => &r.object.0,
        ProtocolOp::DelRequest(r) => &r.0,
        ProtocolOp::ModDnRequest(r) => &r.entry.0,
        ProtocolOp::CompareRequest(r) => &r.entry.0,
        _ => return None,
    })
}

/// The distinguished name of a response: an entry's name, a result's matched DN, else empty.
fn response_dn<'a>(m: &'a LdapMessage<'_>) -> &'a str {
    match &m.protocol_op {
        ProtocolOp::SearchResultEntry(r) => &r.object_name.0,
        op => op.result().map_or("", |r| &r.matched_dn.0),
    }
}

/// The diagnostic message of a response, for the operations Suricata takes it from.
fn response_msg<'a>(m: &'a LdapMessage<'_>) -> &'a str {
    match &m.protocol_op {
        ProtocolOp::BindResponse(r) => &r.result.diagnostic_message.0,
        ProtocolOp::ModDnResponse(r) | ProtocolOp::CompareResponse(r) => &r.diagnostic_message.0,
        ProtocolOp::ExtendedResponse(r) => &r.result.diagnostic_message.0,
        _ => "",
    }
}

/// Each attribute type a request names, in turn.
fn request_attrs(tx: &LdapTx, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    let Some(req) = &tx.request else { return false };
    match &req.protocol_op {
        ProtocolOp::SearchRequest(r) => r.attributes.iter().any(|a| f(a.0.as_bytes())),
        ProtocolOp::ModifyRequest(r) => r.changes.iter().any(|c| f(c.modification.attr_type.0.as_bytes())),
        ProtocolOp::AddRequest(r) => r.attributes.iter().any(|a| f(a.attr_type.0.as_bytes())),
        ProtocolOp::CompareRequest(r) => f(r.ava.attribute_desc.0.as_bytes()),
        _ => false,
    }
}

/// Each attribute type of the search result entries, in turn.
fn response_attrs(tx: &LdapTx, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    tx.responses
        .iter()
        .filter_map(|m| match &m.protocol_op {
            ProtocolOp::SearchResultEntry(e) => Some(e),
            _ => None,
        })
        .flat_map(|e| e.attributes.iter())
        .any(|a| f(a.attr_type.0.as_bytes()))
}

/// LDAP's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<LdapTx>] = &[
    Sticky {
        info: buffer("ldap.request.dn", Side::ToServer, false, "the distinguished name of the request"),
        get: |tx: &LdapTx, _, f| tx.request.as_ref().and_then(request_dn).is_some_and(|d| f(d.as_bytes())),
    },
    Sticky {
        info: buffer("ldap.responses.dn", Side::ToClient, true, "the distinguished name of each response, in turn"),
        get: |tx: &LdapTx, _, f| tx.responses.iter().any(|m| f(response_dn(m).as_bytes())),
    },
    Sticky {
        info: buffer(
            "ldap.responses.message",
            Side::ToClient,
            true,
            "the diagnostic message of each response, in turn",
        ),
        get: |tx: &LdapTx, _, f| tx.responses.iter().any(|m| f(response_msg(m).as_bytes())),
    },
    Sticky {
        info: buffer(
            "ldap.request.attribute_type",
            Side::ToServer,
            true,
            "each attribute type of the request, in turn",
        ),
        get: |tx: &LdapTx, _, f| request_attrs(tx, f),
    },
    Sticky {
        info: buffer(
            "ldap.responses.attribute_type",
            Side::ToClient,
            true,
            "each attribute type of the search result entries, in turn",
        ),
        get: |tx: &LdapTx, _, f| response_attrs(tx, f),
    },
];

fn operation_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_uint_enum(v, u64::from(u8::MAX), OPERATIONS).map(|u| Box::new(u) as ValueArg)
}

fn operations_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_multi(v, |x| parse_uint_enum(Some(x), u64::from(u8::MAX), OPERATIONS)).map(|m| Box::new(m) as ValueArg)
}

fn result_codes_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_multi(v, |x| parse_uint_enum(Some(x), u64::from(u32::MAX), RESULT_CODES)).map(|m| Box::new(m) as ValueArg)
}

const fn value(
    name: &'static str,
    side: Side,
    parse: fn(Option<&str>) -> Result<ValueArg, String>,
    desc: &'static str,
) -> ValueInfo {
    ValueInfo { name, aliases: &[], arg: Some(true), side, need: Need::NONE, parse, desc, doc: DOC }
}

/// LDAP's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<LdapTx>] = &[
    ValueKeyword {
        info: value(
            "ldap.request.operation",
            Side::ToServer,
            operation_arg,
            "the operation of the request (a number or a name: bind_request, search_request, ...)",
        ),
        eval: |a, tx, _, _| {
            let op = tx.request.as_ref().map(|r| u64::from(r.protocol_op.tag().0));
            a.downcast_ref::<Uint>().zip(op).is_some_and(|(u, op)| u.matches(op))
        },
    },
    ValueKeyword {
        info: value(
            "ldap.responses.operation",
            Side::ToClient,
            operations_arg,
            "the operation of the responses (a number or a name, with an index)",
        ),
        eval: |a, tx, _, _| {
            let items: Vec<Option<u64>> = tx.responses.iter().map(|m| Some(u64::from(m.protocol_op.tag().0))).collect();
            holds_multi(a, &items, tx.complete)
        },
    },
    ValueKeyword {
        info: value("ldap.responses.count", Side::ToClient, crate::app::values::u32_arg, "the number of responses"),
        eval: |a, tx, _, _| a.downcast_ref::<Uint>().is_some_and(|u| u.matches(tx.responses.len() as u64)),
    },
    ValueKeyword {
        info: value(
            "ldap.responses.result_code",
            Side::ToClient,
            result_codes_arg,
            "the result code of the responses (a number or a name, with an index)",
        ),
        eval: |a, tx, _, _| {
            let items: Vec<Option<u64>> =
                tx.responses.iter().map(|m| m.protocol_op.result().map(|r| u64::from(r.result_code.0))).collect();
            holds_multi(a, &items, tx.complete)
        },
    },
];

impl Transaction for LdapTx {
    fn id(&self) -> u64 {
        self.id
    }

    /// Suricata's progress: both sides done once the transaction is complete.
    fn progress(&self) -> [u8; 2] {
        [started_or_done(self.complete); 2]
    }

    fn record_ready(&self) -> bool {
        self.complete
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
    }

    fn events(&self) -> &[u16] {
        self.events.as_slice()
    }
}

impl AppParser for LdapState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        self.udp = cx.udp;
        self.frames_on = cx.frames.any();
        let at = cx.frames.offset(to_server);
        self.parse_at(to_server, data, at);
        for (ts, off, len) in self.frames.drain(..) {
            let _ = cx.frames.add(ts, off, Some(len), 0);
        }
        for _ in 0..std::mem::take(&mut self.new_txs) {
            cx.stats.tx(AppProto::Ldap, !cx.udp);
        }
        for ev in self.raised.drain(..) {
            cx.stats.tx_event(AppProto::Ldap, ev);
        }
        self.stats.drain_into(&mut cx.stats.ldap);
        Status::Continue
    }

    fn gap(&mut self, to_server: bool, _len: u64, _cx: &mut ParseCx<'_>) -> Status {
        LdapState::gap(self, to_server);
        Status::Continue
    }

    app_parser_txs!(by_id, free);

    fn upgrade(&mut self) -> Option<Upgrade> {
        self.upgrade.take().map(|rest| Upgrade { proto: AppProto::Tls, rest })
    }
}

/// LDAP's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    // responses join a transaction without moving its progress (a search's entries)
    reinspect: true,
    events: EVENTS,
    frames: super::FRAMES,
    ..Protocol::new(
        AppProto::Ldap,
        |_: &AppConfig| Box::<LdapState>::default(),
        |s: &AppStats, f| LdapStats::each(&s.ldap, f),
    )
};
