//! TFTP as a plug-in: its transactions and parser behind the app layer's traits, and its
//! descriptor (Suricata has no TFTP keywords).

use super::{TftpState, TftpStats, TftpTx};
use crate::app::plugin::{AppParser, ParseCx, Protocol, Status, Transaction};
use crate::app::txs::app_parser_txs;
use crate::app::{AppConfig, AppProto, AppStats};

impl Transaction for TftpTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        [crate::app::plugin::PROGRESS_DONE; 2]
    }

    fn write_alert_eve(&self, j: &mut crate::output::eve::Json<'_>) {
        self.write_eve(j);
    }
}

impl AppParser for TftpState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        // Suricata parses requests only; replies are ignored
        if !to_server || data.is_empty() {
            return Status::Continue;
        }
        let ok = self.parse_request(data);
        if ok {
            cx.stats.tx(AppProto::Tftp, false);
        }
        self.stats.drain_into(&mut cx.stats.tftp);
        if ok {
            Status::Continue
        } else {
            Status::Stop
        }
    }

    app_parser_txs!();
}

/// TFTP's descriptor.
pub static PROTOCOL: Protocol = Protocol::new(
    AppProto::Tftp,
    |_: &AppConfig| Box::<TftpState>::default(),
    |s: &AppStats, f| TftpStats::each(&s.tftp, f),
);
