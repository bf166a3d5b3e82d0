//! RDP (MS-RDPBCGR): the clear-text start of a connection, after Suricata's `rust/src/rdp/`.
//!
//! Takes: the in-order bytes of each direction of a TCP flow identified as RDP (port 3389,
//! a first byte of 3: a TPKT).
//! Promises, as Suricata: each TPKT is read ([`pdu`], a hand-written decoder with bounds
//! checks), and the client's X.224 Connection Request, the server's Connection Confirm, the
//! client's MCS Connect Initial (GCC core data and channels) and the server's MCS Connect
//! Response each become a one-way transaction, complete at once and logged as an `rdp` record
//! (`event_type` `initial_request`, `initial_response`, `connect_request`,
//! `connect_response`); other TPKTs are skipped. Bytes that are not a TPKT but start a TLS
//! handshake record (0x16) switch the flow to TLS (both directions, as Suricata's shared
//! state): records are read with `tls-parser`, and the server's Certificate message becomes a
//! `tls_handshake` transaction with the certificates' serial numbers. After the MCS Connect
//! Response or the certificate the rest of the flow is not parsed (it is encrypted or
//! uninteresting; counted as `bypassed`). Bytes that are neither a TPKT nor TLS, or a TLS
//! record tls-parser rejects, end the app layer of the flow (`parse_errors`). A TPKT whose
//! message runs past its own end stalls its direction for good, as Suricata's parser, which
//! waits on it for ever (`stalled`, then the bytes it no longer reads in `stalled_bytes`).
//! A gap ends the app layer (Suricata's parser does not accept gaps; the flow counts it).
//! Bounded: at most one TPKT or TLS record (64 KiB) buffered per direction, [`MAX_TXS`]
//! transactions held (the oldest evicted and counted). Never: panics on input.

mod detect;
mod eve;
pub(crate) mod pdu;
#[cfg(test)]
mod tests;

use tls_parser::{TlsMessage, TlsMessageHandshake};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::txs::TxList;
use pdu::{Pdu, Tpkt};

pub use detect::PROTOCOL;

/// Transactions held per flow (a connection makes five at most; more are evicted, counted).
pub const MAX_TXS: usize = 16;
/// Bytes buffered per direction: a TPKT or a TLS record is never longer (both have a 16-bit
/// length), so a direction past this is not RDP any more (it stalls, counted).
pub const MAX_PENDING: usize = 65_540;

crate::app_counters! {
    /// RDP counters.
    pub struct RdpStats {
        /// TPKTs read.
        tpkts,
        /// TLS records read (after the switch to TLS).
        tls_records,
        /// Flows whose parsing ended at bytes neither TPKT nor TLS, or a TLS record tls-parser rejected.
        parse_errors,
        /// Directions stalled at a TPKT whose message runs past its end, or past the buffer limit.
        stalled,
        /// Bytes of stalled directions not read.
        stalled_bytes,
        /// Flows parsed to their end of interest (MCS Connect Response or server certificate); the rest is not read.
        bypassed,
        /// Transactions evicted because a flow held too many.
        txs_evicted,
    }
}

/// What a transaction holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RdpItem {
    /// X.224 Connection Request.
    InitialRequest(pdu::ConnectionRequest),
    /// X.224 Connection Confirm.
    InitialResponse(Option<pdu::Negotiation>),
    /// MCS Connect Initial with GCC client data.
    ConnectRequest(Vec<pdu::ClientBlock>),
    /// MCS Connect Response.
    ConnectResponse,
    /// The server's certificates: serial numbers in hexadecimal (those that decode).
    TlsHandshake(Vec<String>),
}

/// One RDP transaction: a message of one direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdpTx {
    pub(crate) id: u64,
    pub(crate) to_server: bool,
    /// What it is.
    pub(crate) item: RdpItem,
}

/// Per-flow RDP state.
#[derive(Debug)]
pub struct RdpState {
    txs: TxList<RdpTx>,
    /// Bytes not yet read, per direction (0: to server).
    pending: [Vec<u8>; 2],
    /// A direction stopped at a TPKT it cannot finish.
    stalled: [bool; 2],
    /// The flow switched to TLS.
    tls: bool,
    /// Nothing more is parsed.
    bypass: bool,
    /// Parsing ended (the app layer stops).
    failed: bool,
    /// Counters since the last hand-over.
    pub stats: RdpStats,
    /// Transactions made since the last hand-over.
    pub(crate) new_txs: u64,
}

impl Default for RdpState {
    fn default() -> Self {
        RdpState {
            txs: TxList::new(MAX_TXS),
            pending: [Vec::new(), Vec::new()],
            stalled: [false; 2],
            tls: false,
            bypass: false,
            failed: false,
            stats: RdpStats::default(),
            new_txs: 0,
        }
    }
}

/// What reading from the start of some bytes did.
enum Step {
    /// Used this many bytes; go on.
    Used(usize),
    /// The rest is an unfinished TPKT or record: keep it.
    Wait,
    /// The direction stalls (its bytes are no longer read).
    Stall,
    /// The rest of the flow is not parsed.
    Bypass,
    /// Parsing of the flow ends.
    Fail,
}

impl RdpState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &RdpTx> {
        self.txs.iter()
    }

    /// Parsing ended: the flow's app layer stops.
    pub fn failed(&self) -> bool {
        self.failed
    }

    fn push(&mut self, to_server: bool, item: RdpItem) {
        let tx = RdpTx { id: self.txs.next_id(), to_server, item };
        if self.txs.push(tx) {
            self.stats.txs_evicted += 1;
        }
        self.new_txs += 1;
    }

    /// Feeds in-order bytes of one direction.
    pub fn parse(&mut self, to_server: bool, data: &[u8]) {
        let d = usize::from(!to_server);
        if self.failed || self.bypass || data.is_empty() {
            return;
        }
        // In bounds: d is 0 or 1 for every per-direction array.
        if self.stalled[d] {
            self.stats.stalled_bytes += data.len() as u64;
            return;
        }
        let pending = std::mem::take(&mut self.pending[d]);
        let owned;
        let buf: &[u8] = if pending.is_empty() {
            data
        } else {
            owned = [pending.as_slice(), data].concat();
            &owned
        };
        let mut pos = 0;
        while let Some(rest) = buf.get(pos..).filter(|r| !r.is_empty()) {
            match self.step(to_server, rest) {
                Step::Used(n) => pos += n.max(1),
                Step::Wait if rest.len() <= MAX_PENDING => {
                    self.pending[d] = rest.to_vec();
                    return;
                }
                Step::Wait | Step::Stall => {
                    self.stalled[d] = true;
                    self.stats.stalled += 1;
                    self.stats.stalled_bytes += rest.len() as u64;
                    return;
                }
                Step::Bypass => {
                    self.bypass = true;
                    self.pending = [Vec::new(), Vec::new()];
                    self.stats.bypassed += 1;
                    return;
                }
                Step::Fail => {
                    self.failed = true;
                    self.stats.parse_errors += 1;
                    return;
                }
            }
        }
    }

    /// `len` bytes of one direction are missing: parsing ends (Suricata's RDP parser does not
    /// accept gaps).
    pub fn gap(&mut self, _to_server: bool, _len: u64) {
        self.failed = true;
        self.pending = [Vec::new(), Vec::new()];
    }

    fn step(&mut self, to_server: bool, i: &[u8]) -> Step {
        if self.tls {
            return self.tls_record(to_server, i);
        }
        match pdu::tpkt(i) {
            Tpkt::Pdu(p, used) => {
                self.stats.tpkts += 1;
                match (to_server, p) {
                    (true, Pdu::ConnectionRequest(r)) => self.push(true, RdpItem::InitialRequest(r)),
                    (true, Pdu::ConnectInitial(b)) => self.push(true, RdpItem::ConnectRequest(b)),
                    (false, Pdu::ConnectionConfirm(n)) => self.push(false, RdpItem::InitialResponse(n)),
                    (false, Pdu::ConnectResponse) => {
                        self.push(false, RdpItem::ConnectResponse);
                        return Step::Bypass;
                    }
                    _ => {}
                }
                Step::Used(used)
            }
            Tpkt::Wait => Step::Wait,
            Tpkt::Stuck => Step::Stall,
            Tpkt::Invalid if i.first() == Some(&0x16) => {
                self.tls = true;
                self.tls_record(to_server, i)
            }
            Tpkt::Invalid => Step::Fail,
        }
    }

    /// One TLS record: the server's Certificate message makes a transaction (and the rest of
    /// the flow is not parsed once this call's bytes are read, as Suricata's).
    fn tls_record(&mut self, to_server: bool, i: &[u8]) -> Step {
        match tls_parser::parse_tls_plaintext(i) {
            Ok((rest, rec)) => {
                self.stats.tls_records += 1;
                if !to_server {
                    for m in &rec.msg {
                        if let TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)) = m {
                            let serials = c.cert_chain.iter().filter_map(|c| serial_hex(c.data)).collect();
                            self.push(false, RdpItem::TlsHandshake(serials));
                            if !self.bypass {
                                self.bypass = true;
                                self.stats.bypassed += 1;
                            }
                        }
                    }
                }
                Step::Used(i.len() - rest.len())
            }
            Err(tls_parser::nom::Err::Incomplete(_)) => Step::Wait,
            Err(_) => Step::Fail,
        }
    }
}

/// A certificate's serial number as Suricata logs it here: the unsigned value in lower-case
/// hexadecimal without leading zeros (`None` when the certificate does not decode).
fn serial_hex(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(cert.tbs_certificate.serial.to_str_radix(16))
}
