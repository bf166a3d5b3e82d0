//! TFTP (RFC 1350) over UDP port 69, after Suricata's `rust/src/tftp/`: each request to the
//! server's port becomes a transaction with its opcode, file name and mode (EVE `tftp`).
//!
//! Takes: one datagram per call (the flow of the request; the transfer itself runs between
//! other ports). Promises: Suricata's checks: a request starts with a zero byte, then the
//! opcode (1 to 5), a NUL-terminated UTF-8 file name and a mode (`netascii`, `mail` or
//! `octet`, any case, kept in lower case); a datagram that is not such a request ends the
//! parsing of the flow, as Suricata's parser error does. Bounded: [`MAX_TXS`] transactions
//! per flow (oldest evicted, counted); names no longer than a datagram. Never: panics on
//! datagram bytes. The format is four fields: no crate is worth a dependency for it.

mod detect;

use super::identify::ProbeResult;
use super::proto::AppProto;
use super::txs::TxList;

pub use detect::PROTOCOL;

/// Transactions kept per flow.
pub const MAX_TXS: usize = 64;

crate::app_counters! {
    /// TFTP counters.
    pub struct TftpStats {
        /// Requests that became a transaction.
        requests,
        /// Datagrams that were not a valid request (the flow's parsing stops, as in Suricata).
        invalid,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
    }
}

/// Suricata's `TFTPProbingParser`: at least 4 bytes, the first one zero.
pub fn probe(d: &[u8]) -> ProbeResult {
    if d.len() >= 4 && d.first() == Some(&0) {
        ProbeResult::Found(AppProto::Tftp)
    } else {
        ProbeResult::NotFound
    }
}

/// One request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TftpTx {
    id: u64,
    /// The opcode (1 read request, 2 write request, 3 data, 4 ack, 5 error).
    pub opcode: u8,
    /// The file name.
    pub file: String,
    /// The transfer mode, in lower case.
    pub mode: String,
}

/// Parses a request as Suricata does (`tftp_request`): a zero byte, the opcode, the file name
/// up to a NUL, then the mode up to a NUL or the end; the mode and opcode must be known.
fn request(d: &[u8]) -> Option<(u8, String, String)> {
    let (&zero, rest) = d.split_first()?;
    let (&opcode, rest) = rest.split_first()?;
    if zero != 0 || !(1..=5).contains(&opcode) {
        return None;
    }
    let end = rest.iter().position(|&b| b == 0)?;
    let file = std::str::from_utf8(rest.get(..end)?).ok()?;
    let rest = rest.get(end + 1..)?;
    // Suricata's streaming parser wants the mode's terminating NUL
    let mend = rest.iter().position(|&b| b == 0)?;
    let mode = std::str::from_utf8(rest.get(..mend)?).ok()?.to_lowercase();
    matches!(mode.as_str(), "netascii" | "mail" | "octet").then(|| (opcode, file.to_string(), mode))
}

/// Per-flow TFTP state.
#[derive(Debug)]
pub struct TftpState {
    txs: TxList<TftpTx>,
    /// Counters.
    pub stats: TftpStats,
}

impl Default for TftpState {
    fn default() -> Self {
        TftpState { txs: TxList::new(MAX_TXS), stats: TftpStats::default() }
    }
}

impl TftpState {
    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &TftpTx> {
        self.txs.iter()
    }

    /// One datagram towards the server; false when it is not a request (parsing stops).
    pub fn parse_request(&mut self, d: &[u8]) -> bool {
        let Some((opcode, file, mode)) = request(d) else {
            self.stats.invalid += 1;
            return false;
        };
        let tx = TftpTx { id: self.txs.next_id(), opcode, file, mode };
        self.stats.requests += 1;
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
        true
    }
}

impl TftpTx {
    /// Writes Suricata's `tftp` object.
    pub fn write_eve(&self, j: &mut crate::output::eve::Json<'_>) {
        let mut o = j.begin("tftp");
        o.str(
            "packet",
            match self.opcode {
                1 => "read",
                2 => "write",
                _ => "error",
            },
        );
        o.str("file", &self.file);
        o.str("mode", &self.mode);
        o.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_as_suricata_reads_them() {
        let mut s = TftpState::default();
        assert!(s.parse_request(b"\x00\x01rfc1350.txt\x00OCTET\x00"));
        assert!(s.parse_request(b"\x00\x02zz.bin\x00netascii\x00"));
        assert!(s.parse_request(b"\x00\x01\x00octet\x00"), "an empty name is a request");
        let got: Vec<(u8, &str, &str)> = s.txs().map(|t| (t.opcode, t.file.as_str(), t.mode.as_str())).collect();
        assert_eq!(got, vec![(1, "rfc1350.txt", "octet"), (2, "zz.bin", "netascii"), (1, "", "octet")]);
        for bad in [&b"\x00\x06a\x00octet\x00"[..], b"\x00\x01a\x00ccccc\x00", b"\x00\x01rfc", b"\xff\xff\xff", b""] {
            assert!(!s.parse_request(bad), "{bad:?}");
        }
        assert_eq!((s.stats.requests, s.stats.invalid), (3, 5));
        assert_eq!(probe(b"\x00\x01a\x00"), ProbeResult::Found(AppProto::Tftp));
        assert_eq!(probe(b"\x01\x01a\x00"), ProbeResult::NotFound);
        assert_eq!(probe(b"\x00\x01"), ProbeResult::NotFound);
    }

    #[test]
    fn the_record() {
        let mut s = TftpState::default();
        assert!(s.parse_request(b"\x00\x02zz.bin\x00NetAscii\x00"));
        let mut out = Vec::new();
        let mut j = crate::output::eve::Json::object(&mut out);
        if let Some(t) = s.txs().next() {
            t.write_eve(&mut j);
        }
        j.end();
        assert_eq!(String::from_utf8_lossy(&out), r#"{"tftp":{"packet":"write","file":"zz.bin","mode":"netascii"}}"#);
    }
}
