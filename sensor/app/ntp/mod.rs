//! NTP over UDP (port 123), after Suricata's `rust/src/ntp/`: each v3 or v4 packet is a
//! one-way transaction with its version, mode, stratum and reference id (`ntp.version`,
//! `ntp.mode`, `ntp.stratum`, `ntp.reference_id`; EVE `ntp`).
//!
//! Takes: one datagram per call. Promises: packets are decoded with rusticata's `ntp-parser`,
//! the crate Suricata uses, so what counts as NTP (and what the probe accepts) is the same.
//! Bounded: [`MAX_TXS`] transactions per flow. Never: panics on packet bytes.

#[cfg(test)]
mod tests;

use crate::app::txs::{app_parser_txs, one_message_tx};
use ntp_parser::{parse_ntp, NtpPacket};

use super::identify::ProbeResult;
use super::plugin::{
    buffer_infos, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky, Transaction,
    ValueArg, ValueInfo, ValueKeyword,
};
use super::proto::AppProto;
use super::txs::TxList;
use super::values::{holds, parse_uint_enum, u8_arg};
use super::{AppConfig, AppStats};
use crate::output::eve::Json;

/// Transactions kept per flow.
pub const MAX_TXS: usize = 64;

/// App-layer events, as Suricata names them.
pub const EVENTS: &[&str] = &["unsolicited_response", "malformed_data"];
const EV_MALFORMED: u16 = 1;

/// Suricata's mode names for `ntp.mode`.
const MODES: &[(&str, u64)] = &[
    ("reserved", 0),
    ("symmetric_active", 1),
    ("symmetric_passive", 2),
    ("client", 3),
    ("server", 4),
    ("broadcast", 5),
    ("control", 6),
    ("private", 7),
];

/// One NTP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NtpTx {
    id: u64,
    to_server: bool,
    /// 3 or 4.
    pub version: u8,
    /// Association mode.
    pub mode: u8,
    /// Stratum.
    pub stratum: u8,
    /// Reference id, as sent.
    pub reference_id: [u8; 4],
    events: Vec<u16>,
}

crate::app_counters! {
    /// NTP counters.
    pub struct NtpStats {
        /// Packets that became a transaction.
        packets,
        /// Packets that did not decode.
        malformed,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
    }
}

/// Suricata's `ntp_probing_parser`: the packet decodes as NTP v3 or v4.
pub fn probe(d: &[u8]) -> ProbeResult {
    match parse_ntp(d) {
        Ok(_) => ProbeResult::Found(AppProto::Ntp),
        Err(e) if e.is_incomplete() => ProbeResult::NeedMore,
        Err(_) => ProbeResult::NotFound,
    }
}

/// Per-flow NTP state.
#[derive(Debug)]
pub struct NtpState {
    txs: TxList<NtpTx>,
    /// Counters.
    pub stats: NtpStats,
}

impl Default for NtpState {
    fn default() -> Self {
        NtpState { txs: TxList::new(MAX_TXS), stats: NtpStats::default() }
    }
}

impl NtpState {
    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &NtpTx> {
        self.txs.iter()
    }

    /// Parses one datagram.
    pub fn parse_packet(&mut self, to_server: bool, d: &[u8]) -> bool {
        let (version, mode, stratum, ref_id) = match parse_ntp(d) {
            Ok((_, NtpPacket::V3(p))) => (3, p.mode.0, p.stratum, p.ref_id),
            Ok((_, NtpPacket::V4(p))) => (4, p.mode.0, p.stratum, p.ref_id),
            Err(_) => {
                self.stats.malformed += 1;
                self.txs.raise_on_last(EV_MALFORMED, |t| &mut t.events);
                return false;
            }
        };
        let tx = NtpTx {
            id: self.txs.next_id(),
            to_server,
            version,
            mode,
            stratum,
            reference_id: ref_id.to_be_bytes(),
            events: Vec::new(),
        };
        self.stats.packets += 1;
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
        true
    }
}

impl NtpTx {
    /// Writes Suricata's `ntp` object.
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let r = self.reference_id;
        let mut o = j.begin("ntp");
        o.u64("version", u64::from(self.version));
        o.u64("mode", u64::from(self.mode));
        o.u64("stratum", u64::from(self.stratum));
        o.str("reference_id", &format!("{:02x}:{:02x}:{:02x}:{:02x}", r[0], r[1], r[2], r[3]));
        o.end();
    }
}

const DOC: &str = "https://docs.suricata.io/en/latest/rules/ntp-keywords.html";

/// NTP's sticky buffers.
pub static BUFFERS: &[Sticky<NtpTx>] = &[Sticky {
    info: BufferInfo {
        name: "ntp.reference_id",
        aliases: &[],
        side: Side::Both,
        need: Need::own(1),
        multi: false,
        shared: false,
        internal: false,
        desc: "the four bytes of the reference id",
        doc: DOC,
    },
    get: |tx: &NtpTx, _, f| f(&tx.reference_id),
}];

/// NTP's value keywords.
pub static VALUES: &[ValueKeyword<NtpTx>] = &[
    ValueKeyword {
        info: ValueInfo::both_sides("ntp.version", u8_arg, "the NTP version, compared with a number", DOC),
        eval: |a, tx, _, _| holds(a, Some(u64::from(tx.version))),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "ntp.mode",
            |v| parse_uint_enum(v, u64::from(u8::MAX), MODES).map(|u| Box::new(u) as ValueArg),
            "the association mode (a number or client, server, broadcast, ...)",
            DOC,
        ),
        eval: |a, tx, _, _| holds(a, Some(u64::from(tx.mode))),
    },
    ValueKeyword {
        info: ValueInfo::both_sides("ntp.stratum", u8_arg, "the stratum, compared with a number", DOC),
        eval: |a, tx, _, _| holds(a, Some(u64::from(tx.stratum))),
    },
];

impl Transaction for NtpTx {
    one_message_tx!(buffers: BUFFERS, values: VALUES, eve: write_eve,);
}

impl AppParser for NtpState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        if self.parse_packet(to_server, data) {
            cx.stats.tx(AppProto::Ntp, !cx.udp);
        }
        self.stats.drain_into(&mut cx.stats.ntp);
        Status::Continue
    }

    app_parser_txs!();
}

/// NTP's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    ..Protocol::new(
        AppProto::Ntp,
        |_: &AppConfig| Box::<NtpState>::default(),
        |s: &AppStats, f| NtpStats::each(&s.ntp, f),
    )
};
