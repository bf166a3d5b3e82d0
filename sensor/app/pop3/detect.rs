//! POP3 as a plug-in: its transactions and parser behind the app layer's traits, and its
//! descriptor. Suricata has no POP3 sticky buffers or value keywords: rules see POP3 through
//! `app-layer-protocol:pop3`, its app-layer events and the stream.

use super::{Pop3State, Pop3Stats, Pop3Tx, EVENTS};
use crate::app::plugin::{AppParser, ParseCx, Protocol, Status, Transaction, Upgrade, PROGRESS_DONE};
use crate::app::txs::app_parser_txs;
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

impl Transaction for Pop3Tx {
    fn id(&self) -> u64 {
        self.id
    }

    /// Suricata's progress: the request side is done with a command, the response side with
    /// a response; both once the transaction is complete.
    fn progress(&self) -> [u8; 2] {
        let side = |done: bool| if done { PROGRESS_DONE } else { 0 };
        [side(self.request.is_some() || self.complete), side(self.response.is_some() || self.complete)]
    }

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
    }

    fn events(&self) -> &[u16] {
        self.events.as_slice()
    }
}

impl AppParser for Pop3State {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        Pop3State::parse(self, to_server, data);
        for _ in 0..std::mem::take(&mut self.new_txs) {
            cx.stats.tx(AppProto::Pop3, true);
        }
        for ev in self.raised.drain(..) {
            cx.stats.tx_event(AppProto::Pop3, ev);
        }
        self.stats.drain_into(&mut cx.stats.pop3);
        Status::Continue
    }

    fn gap(&mut self, to_server: bool, len: u64, _: &mut ParseCx<'_>) -> Status {
        Pop3State::gap(self, to_server, len);
        Status::Continue
    }

    app_parser_txs!(by_id, free);

    fn upgrade(&mut self) -> Option<Upgrade> {
        self.upgrade.take().map(|rest| Upgrade { proto: AppProto::Tls, rest })
    }
}

/// POP3's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    events: EVENTS,
    ..Protocol::new(
        AppProto::Pop3,
        |_: &AppConfig| Box::<Pop3State>::default(),
        |s: &AppStats, f| Pop3Stats::each(&s.pop3, f),
    )
};
