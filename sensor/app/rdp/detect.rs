//! RDP as a plug-in: its transactions and parser behind the app layer's traits, and its
//! descriptor. Suricata has no RDP sticky buffers, value keywords or app-layer events: rules
//! see RDP through `app-layer-protocol:rdp` and the stream.

use super::{RdpState, RdpStats, RdpTx};
use crate::app::plugin::{AppParser, ParseCx, Protocol, Status, Transaction, PROGRESS_DONE};
use crate::app::txs::app_parser_txs;
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

impl Transaction for RdpTx {
    fn id(&self) -> u64 {
        self.id
    }

    /// Complete when made (Suricata's RDP transactions are).
    fn progress(&self) -> [u8; 2] {
        [PROGRESS_DONE; 2]
    }

    /// One message of one direction.
    fn direction(&self) -> Option<bool> {
        Some(self.to_server)
    }

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
    }

    /// Suricata logs each message with the packet that completes it (the other side's
    /// acknowledgement, in its direction).
    fn record_packet_view(&self) -> bool {
        true
    }
}

impl AppParser for RdpState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        RdpState::parse(self, to_server, data);
        for _ in 0..std::mem::take(&mut self.new_txs) {
            cx.stats.tx(AppProto::Rdp, true);
        }
        self.stats.drain_into(&mut cx.stats.rdp);
        if self.failed() {
            Status::Stop
        } else {
            Status::Continue
        }
    }

    fn gap(&mut self, to_server: bool, len: u64, _: &mut ParseCx<'_>) -> Status {
        RdpState::gap(self, to_server, len);
        Status::Stop
    }

    app_parser_txs!();
}

/// RDP's descriptor.
pub static PROTOCOL: Protocol = Protocol::new(
    AppProto::Rdp,
    |_: &AppConfig| Box::<RdpState>::default(),
    |s: &AppStats, f| RdpStats::each(&s.rdp, f),
);
