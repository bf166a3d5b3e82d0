//! DHCP's rule keywords (`dhcp.leasetime`, `dhcp.rebinding_time`, `dhcp.renewal_time`: each
//! a uint compared with the first option of its code), its transaction and parser glue.

use super::{DhcpState, DhcpStats, DhcpTx, EVENTS, OPT_ADDRESS_TIME, OPT_REBINDING_TIME, OPT_RENEWAL_TIME};
use crate::app::plugin::{
    value_infos, AppParser, Need, ParseCx, Protocol, RecordCx, Status, Transaction, ValueInfo, ValueKeyword,
};
use crate::app::proto::AppProto;
use crate::app::txs::{app_parser_txs, one_message_tx};
use crate::app::values::{holds, u64_arg};
use crate::app::{AppConfig, AppStats};
use crate::output::eve::Json;

const DOC: &str = "https://docs.suricata.io/en/latest/rules/dhcp-keywords.html";

const fn value(name: &'static str, desc: &'static str) -> ValueInfo {
    ValueInfo {
        name,
        aliases: &[],
        arg: Some(true),
        side: crate::app::plugin::Side::Both,
        need: Need::own(1),
        parse: u64_arg,
        desc,
        doc: DOC,
    }
}

/// DHCP's value keywords.
pub static VALUES: &[ValueKeyword<DhcpTx>] = &[
    ValueKeyword {
        info: value("dhcp.leasetime", "the lease time (option 51) in seconds, compared with a number"),
        eval: |a, tx, _, _| holds(a, tx.time(OPT_ADDRESS_TIME)),
    },
    ValueKeyword {
        info: value("dhcp.rebinding_time", "the rebinding time (option 59) in seconds, compared with a number"),
        eval: |a, tx, _, _| holds(a, tx.time(OPT_REBINDING_TIME)),
    },
    ValueKeyword {
        info: value("dhcp.renewal_time", "the renewal time (option 58) in seconds, compared with a number"),
        eval: |a, tx, _, _| holds(a, tx.time(OPT_RENEWAL_TIME)),
    },
];

impl Transaction for DhcpTx {
    one_message_tx!(values: VALUES,);

    /// Alerts carry the extended object, as Suricata's (`SCDhcpLogJson`).
    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j, true);
    }

    /// Records as Suricata's default (`extended: no`): ACKs only, the short object.
    fn write_record(&self, j: &mut Json<'_>, _cx: &RecordCx<'_>) -> bool {
        if !self.logged_by_default() {
            return false;
        }
        self.write_eve(j, false);
        true
    }
}

impl AppParser for DhcpState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        if self.parse_packet(to_server, data) {
            cx.stats.tx(AppProto::Dhcp, !cx.udp);
        }
        self.stats.drain_into(&mut cx.stats.dhcp);
        Status::Continue
    }

    app_parser_txs!();
}

/// DHCP's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    values: || value_infos(VALUES),
    events: EVENTS,
    ..Protocol::new(
        AppProto::Dhcp,
        |_: &AppConfig| Box::<DhcpState>::default(),
        |s: &AppStats, f| DhcpStats::each(&s.dhcp, f),
    )
};
