//! SNMP as a plug-in: its sticky buffers and value keywords (rows), its transactions and
//! parser behind the app layer's traits, and its descriptor.

use super::{SnmpState, SnmpStats, SnmpTx, EVENTS, PDU_TYPES, TRAP_TYPES};
use crate::app::plugin::{
    buffer_infos, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky, Transaction,
    ValueArg, ValueInfo, ValueKeyword,
};
use crate::app::txs::{app_parser_txs, one_message_tx};
use crate::app::values::{holds, parse_uint_enum, u32_arg};
use crate::app::{AppConfig, AppProto, AppStats};

const DOC: &str = "https://docs.suricata.io/en/latest/rules/snmp-keywords.html";

const fn buffer(name: &'static str, desc: &'static str) -> BufferInfo {
    BufferInfo {
        name,
        aliases: &[],
        side: Side::Both,
        need: Need::own(1),
        multi: false,
        shared: false,
        internal: false,
        desc,
        doc: DOC,
    }
}

/// SNMP's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<SnmpTx>] = &[
    Sticky {
        info: buffer("snmp.community", "the community string of a v1 or v2c message"),
        get: |tx: &SnmpTx, _, f| tx.community.as_ref().is_some_and(|c| f(c.as_bytes())),
    },
    Sticky {
        info: buffer("snmp.usm", "the USM user name of a v3 message"),
        get: |tx: &SnmpTx, _, f| tx.usm.as_ref().is_some_and(|c| f(c.as_bytes())),
    },
    Sticky {
        info: buffer("snmp.trap_oid", "the enterprise OID of a v1 trap, dotted"),
        get: |tx: &SnmpTx, _, f| tx.trap.as_ref().is_some_and(|t| f(t.oid.as_bytes())),
    },
    Sticky {
        info: buffer("snmp.trap_address", "the agent address of a v1 trap, dotted"),
        get: |tx: &SnmpTx, _, f| tx.trap.as_ref().is_some_and(|t| f(t.address.as_bytes())),
    },
];

/// SNMP's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<SnmpTx>] = &[
    ValueKeyword {
        info: ValueInfo::both_sides(
            "snmp.version",
            u32_arg,
            "the SNMP version of the flow (1, 2 or 3), compared with a number",
            DOC,
        ),
        eval: |a, tx, _, _| holds(a, Some(u64::from(tx.version))),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "snmp.pdu_type",
            |v| parse_uint_enum(v, u64::from(u32::MAX), PDU_TYPES).map(|u| Box::new(u) as ValueArg),
            "the PDU type (a number or get_request, get_next_request, response, trap_v1, ...)",
            DOC,
        ),
        eval: |a, tx, _, _| holds(a, tx.pdu_type.map(u64::from)),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "snmp.trap_type",
            |v| parse_uint_enum(v, u64::from(u8::MAX), TRAP_TYPES).map(|u| Box::new(u) as ValueArg),
            "the generic trap type of a v1 trap (a number or coldstart, linkdown, ...)",
            DOC,
        ),
        eval: |a, tx, _, _| holds(a, tx.trap.as_ref().map(|t| u64::from(t.trap_type))),
    },
];

impl Transaction for SnmpTx {
    one_message_tx!(buffers: BUFFERS, values: VALUES, eve: write_eve,);
}

impl AppParser for SnmpState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        if self.parse(to_server, data) {
            cx.stats.tx(AppProto::Snmp, !cx.udp);
        }
        self.stats.drain_into(&mut cx.stats.snmp);
        Status::Continue
    }

    app_parser_txs!();
}

/// SNMP's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    ..Protocol::new(
        AppProto::Snmp,
        |_: &AppConfig| Box::<SnmpState>::default(),
        |s: &AppStats, f| SnmpStats::each(&s.snmp, f),
    )
};
