//! SNMP v1, v2c and v3 over UDP (ports 161 and 162), after Suricata's `rust/src/snmp/`:
//! each message is a one-way transaction with the version, PDU type, error status, trap
//! details, variable OIDs, community (v1/v2c) or USM user name (v3); encrypted v3 PDUs are
//! marked as such.
//!
//! Takes: one datagram per call. Promises: messages are decoded with rusticata's
//! `snmp-parser` (the crate Suricata uses; error status and trap types print as Suricata
//! prints them); as in Suricata the version logged is the one of the flow's first message.
//! Bounded: [`MAX_TXS`] transactions per flow (oldest evicted, counted), at most
//! [`MAX_VARS`] OIDs kept per message (the rest counted). Never: panics on message bytes.

mod detect;
#[cfg(test)]
mod tests;

use snmp_parser::{
    parse_snmp_generic_message, NetworkAddress, ScopedPduData, SecurityParameters, SnmpGenericMessage, SnmpPdu,
};

use super::ber::{ber_header, children, uint};
use super::identify::ProbeResult;
use super::proto::AppProto;
use super::txs::TxList;

pub use detect::PROTOCOL;

/// Transactions kept per flow.
pub const MAX_TXS: usize = 64;
/// Variable OIDs kept per message.
pub const MAX_VARS: usize = 256;

/// App-layer events, as Suricata names them.
pub const EVENTS: &[&str] = &["malformed_data", "unknown_security_model", "version_mismatch"];
const EV_MALFORMED: u16 = 0;
const EV_UNKNOWN_SECURITY_MODEL: u16 = 1;
const EV_VERSION_MISMATCH: u16 = 2;

/// Suricata's PDU type names (`snmp.pdu_type`, EVE `pdu_type`).
pub const PDU_TYPES: &[(&str, u64)] = &[
    ("get_request", 0),
    ("get_next_request", 1),
    ("response", 2),
    ("set_request", 3),
    ("trap_v1", 4),
    ("get_bulk_request", 5),
    ("inform_request", 6),
    ("trap_v2", 7),
    ("report", 8),
];

/// Suricata's trap type names (`snmp.trap_type`).
pub const TRAP_TYPES: &[(&str, u64)] = &[
    ("coldstart", 0),
    ("warmstart", 1),
    ("linkdown", 2),
    ("linkup", 3),
    ("authenticationfailure", 4),
    ("egpneighborloss", 5),
    ("enterprisespecific", 6),
];

/// A v1 trap's details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// Generic trap type.
    pub trap_type: u8,
    /// Its Debug name in the parser crate (EVE `trap_type`).
    pub trap_name: String,
    /// Enterprise OID, dotted.
    pub oid: String,
    /// Agent address, dotted quad.
    pub address: String,
}

/// One SNMP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnmpTx {
    id: u64,
    to_server: bool,
    /// The flow's SNMP version (1, 2 or 3), from its first message.
    pub version: u32,
    /// PDU type, when the PDU was readable.
    pub pdu_type: Option<u32>,
    /// Error status (0: none) and its name.
    pub error: Option<String>,
    /// v1 trap details.
    pub trap: Option<Trap>,
    /// Variable OIDs, dotted.
    pub vars: Vec<String>,
    /// Community (v1, v2c).
    pub community: Option<String>,
    /// USM user name (v3).
    pub usm: Option<String>,
    /// A v3 PDU that is encrypted.
    pub encrypted: bool,
    events: Vec<u16>,
}

crate::app_counters! {
    /// SNMP counters.
    pub struct SnmpStats {
        /// Messages that became a transaction.
        messages,
        /// Messages that did not decode.
        malformed,
        /// Encrypted v3 PDUs.
        encrypted,
        /// Variable OIDs not kept past [`MAX_VARS`].
        vars_dropped,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
    }
}

/// Suricata's `parse_pdu_envelope_version`: a SEQUENCE of three elements starting with the
/// INTEGER 0 (v1) or 1 (v2c), or of four starting with 3 (v3). `Err(true)`: incomplete.
pub fn envelope_version(d: &[u8]) -> Result<u32, bool> {
    let (_, constructed, tag, hl, len) = ber_header(d)?;
    if tag != 16 || !constructed {
        return Err(false);
    }
    let body = d.get(hl..hl.checked_add(len).ok_or(false)?).ok_or(true)?;
    let mut n = 0;
    let mut first = None;
    children(body, |t, c| {
        if n == 0 && t == 0x02 {
            first = uint(c);
        }
        n += 1;
    })
    .map_err(|_| false)?;
    match (n, first) {
        (3, Some(0)) => Ok(1),
        (3, Some(1)) => Ok(2),
        (4, Some(3)) => Ok(3),
        _ => Err(false),
    }
}

/// Suricata's `snmp_probing_parser`.
pub fn probe(d: &[u8]) -> ProbeResult {
    if d.len() < 4 {
        return ProbeResult::NeedMore;
    }
    match envelope_version(d) {
        Ok(_) => ProbeResult::Found(AppProto::Snmp),
        Err(true) => ProbeResult::NeedMore,
        Err(false) => ProbeResult::NotFound,
    }
}

/// Per-flow SNMP state.
#[derive(Debug)]
pub struct SnmpState {
    txs: TxList<SnmpTx>,
    version: u32,
    /// Counters.
    pub stats: SnmpStats,
}

impl Default for SnmpState {
    fn default() -> Self {
        SnmpState { txs: TxList::new(MAX_TXS), version: 0, stats: SnmpStats::default() }
    }
}

impl SnmpState {
    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &SnmpTx> {
        self.txs.iter()
    }

    /// Parses one datagram; false when it is not SNMP (counted, `malformed_data` on the last
    /// transaction as Suricata sets it).
    pub fn parse(&mut self, to_server: bool, d: &[u8]) -> bool {
        if self.version == 0 {
            if let Ok(v) = envelope_version(d) {
                self.version = v;
            }
        }
        let msg = match parse_snmp_generic_message(d) {
            Ok((_, m)) => m,
            Err(_) => {
                self.stats.malformed += 1;
                self.txs.raise_on_last(EV_MALFORMED, |t| &mut t.events);
                return false;
            }
        };
        let mut tx = SnmpTx {
            id: self.txs.next_id(),
            to_server,
            version: self.version,
            pdu_type: None,
            error: None,
            trap: None,
            vars: Vec::new(),
            community: None,
            usm: None,
            encrypted: false,
            events: Vec::new(),
        };
        match msg {
            SnmpGenericMessage::V1(m) | SnmpGenericMessage::V2(m) => {
                if self.version != m.version + 1 {
                    tx.events.push(EV_VERSION_MISMATCH);
                }
                self.pdu_info(&m.pdu, &mut tx);
                tx.community = Some(m.community);
            }
            SnmpGenericMessage::V3(m) => {
                if self.version != m.version {
                    tx.events.push(EV_VERSION_MISMATCH);
                }
                match m.data {
                    ScopedPduData::Plaintext(p) => self.pdu_info(&p.data, &mut tx),
                    ScopedPduData::Encrypted(_) => {
                        tx.encrypted = true;
                        self.stats.encrypted += 1;
                    }
                }
                match m.security_params {
                    SecurityParameters::USM(u) => tx.usm = Some(u.msg_user_name),
                    SecurityParameters::Raw(_) => tx.events.push(EV_UNKNOWN_SECURITY_MODEL),
                }
            }
        }
        self.stats.messages += 1;
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
        true
    }

    fn pdu_info(&mut self, pdu: &SnmpPdu<'_>, tx: &mut SnmpTx) {
        tx.pdu_type = Some(pdu.pdu_type().0);
        match pdu {
            SnmpPdu::Generic(g) if g.err.0 != 0 => tx.error = Some(format!("{:?}", g.err)),
            SnmpPdu::TrapV1(t) => {
                let NetworkAddress::IPv4(a) = t.agent_addr;
                tx.trap = Some(Trap {
                    trap_type: t.generic_trap.0,
                    trap_name: format!("{:?}", t.generic_trap),
                    oid: t.enterprise.to_id_string(),
                    address: a.to_string(),
                });
            }
            _ => {}
        }
        for (i, v) in pdu.vars_iter().enumerate() {
            if i >= MAX_VARS {
                self.stats.vars_dropped += 1;
                continue;
            }
            tx.vars.push(v.oid.to_id_string());
        }
    }
}

impl SnmpTx {
    /// The PDU type's name as Suricata logs it.
    pub fn pdu_type_name(&self) -> Option<String> {
        let t = self.pdu_type?;
        Some(match PDU_TYPES.iter().find(|(_, v)| *v == u64::from(t)) {
            Some((n, _)) => (*n).to_string(),
            None => format!("Unknown(0x{t:x})"),
        })
    }

    /// Writes Suricata's `snmp` object.
    pub fn write_eve(&self, j: &mut crate::output::eve::Json<'_>) {
        let mut o = j.begin("snmp");
        o.u64("version", u64::from(self.version));
        if self.encrypted {
            o.str("pdu_type", "encrypted");
        } else {
            if let Some(n) = self.pdu_type_name() {
                o.str("pdu_type", &n);
                if let Some(e) = &self.error {
                    o.str("error", e);
                }
                if let Some(t) = &self.trap {
                    o.str("trap_type", &t.trap_name);
                    o.str("trap_oid", &t.oid);
                    o.str("trap_address", &t.address);
                }
                if !self.vars.is_empty() {
                    super::jsonx::str_array(&mut o, "vars", self.vars.iter().map(|v| v.as_bytes()));
                }
            }
            if let Some(c) = &self.community {
                o.str("community", c);
            }
            if let Some(u) = &self.usm {
                o.str("usm", u);
            }
        }
        o.end();
    }
}
