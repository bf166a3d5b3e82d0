//! Kerberos 5 over UDP and TCP (port 88), after Suricata's `rust/src/krb/`: AS/TGS requests
//! and replies and KRB-ERRORs become one-way transactions with the message type, client and
//! server principals, realm, the reply's and the ticket's encryption types and the error
//! code; weak ciphers (anything but AES and Camellia) are flagged.
//!
//! Takes: one datagram per call (UDP), or the in-order bytes of a TCP direction (each message
//! behind a 4-byte record mark). Promises: messages are decoded with rusticata's
//! `kerberos-parser` (the crate Suricata uses, so names, encryption types and error codes
//! print as Suricata prints them); AP-REQ/AP-REP only track the request type, as in
//! Suricata. Bounded: [`MAX_TXS`] transactions per flow (oldest evicted, counted), one TCP
//! record buffered per direction up to [`MAX_RECORD`] bytes (a larger one is skipped and
//! counted). Never: panics on message bytes.

mod detect;
#[cfg(test)]
mod tests;

use kerberos_parser::krb5::{EncryptionType, ErrorCode, MessageType, PrincipalName};
use kerberos_parser::krb5_parser;

use super::ber::ber_header;
use super::identify::ProbeResult;
use super::proto::AppProto;
use super::txs::TxList;

pub use detect::PROTOCOL;

/// Transactions kept per flow.
pub const MAX_TXS: usize = 64;
/// Largest TCP record buffered.
pub const MAX_RECORD: usize = 256 * 1024;

/// App-layer events, as Suricata names them (`app-layer-event:krb5.<name>`).
pub const EVENTS: &[&str] = &["malformed_data", "weak_encryption"];
const EV_MALFORMED: u16 = 0;
const EV_WEAK: u16 = 1;

/// One Kerberos message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Krb5Tx {
    id: u64,
    to_server: bool,
    /// The message type (10 AS-REQ ... 30 KRB-ERROR).
    pub msg_type: u32,
    /// The client principal's name components.
    pub cname: Option<Vec<String>>,
    /// The realm.
    pub realm: Option<String>,
    /// The server principal's name components.
    pub sname: Option<Vec<String>>,
    /// Encryption type of the reply's encrypted part.
    pub etype: Option<i32>,
    /// Encryption type of the ticket.
    pub ticket_etype: Option<i32>,
    /// Error code of a KRB-ERROR.
    pub error_code: Option<i32>,
    /// For a reply or error: the type of the request that preceded it.
    pub req_type: Option<u32>,
    events: Vec<u16>,
}

/// Whether an encryption type is weak (Suricata's `test_weak_encryption`: all but AES and
/// Camellia).
pub fn weak(etype: i32) -> bool {
    !matches!(etype, 17 | 18 | 19 | 20 | 25 | 26)
}

crate::app_counters! {
    /// Kerberos 5 counters.
    pub struct Krb5Stats {
        /// Messages that became a transaction.
        messages,
        /// Messages whose outer header did not decode.
        malformed,
        /// Messages of a known type whose body did not decode (no transaction, as in Suricata).
        undecoded,
        /// Replies with a weak encryption type.
        weak_encryption,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
        /// TCP records larger than [`MAX_RECORD`], skipped.
        record_too_large,
    }
}

/// Suricata's `krb5_probing_parser`: an APPLICATION tag up to 30 around a SEQUENCE whose
/// first field is `pvno` 5.
pub fn probe_udp(d: &[u8]) -> ProbeResult {
    if d.len() <= 10 {
        return ProbeResult::NotFound;
    }
    match ber_header(d) {
        Ok((class, _, tag, hl, _)) => {
            let rem = d.get(hl..).unwrap_or(&[]);
            if class != 1 || tag > 30 || rem.first() != Some(&0x30) {
                return ProbeResult::NotFound;
            }
            if let Ok((_, _, _, hl2, _)) = ber_header(rem) {
                let r = rem.get(hl2..).unwrap_or(&[]);
                if r.len() > 5 && r.get(2..5) == Some(&[2, 1, 5][..]) {
                    return ProbeResult::Found(AppProto::Krb5);
                }
            }
            ProbeResult::NotFound
        }
        Err(true) => ProbeResult::NeedMore,
        Err(false) => ProbeResult::NotFound,
    }
}

/// Suricata's `krb5_probing_parser_tcp`: a record mark up to 16384, then [`probe_udp`].
pub fn probe_tcp(d: &[u8]) -> ProbeResult {
    if d.len() <= 14 {
        // Suricata answers "failed" here; a TCP direction may still grow, so wait
        return ProbeResult::NeedMore;
    }
    let mark = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    if mark > 16384 {
        return ProbeResult::NotFound;
    }
    probe_udp(d.get(4..).unwrap_or(&[]))
}

fn names(p: &PrincipalName) -> Vec<String> {
    p.name_string.clone()
}

/// Per-flow Kerberos state.
#[derive(Debug)]
pub struct Krb5State {
    txs: TxList<Krb5Tx>,
    /// The last request's type (reset by a reply), for `failed_request`.
    req_id: u32,
    /// TCP: per direction, the record being assembled and the bytes still to skip.
    tcp: [TcpDir; 2],
    /// Counters.
    pub stats: Krb5Stats,
}

#[derive(Debug, Default)]
struct TcpDir {
    buf: Vec<u8>,
    skip: usize,
}

impl Default for Krb5State {
    fn default() -> Self {
        Krb5State { txs: TxList::new(MAX_TXS), req_id: 0, tcp: Default::default(), stats: Krb5Stats::default() }
    }
}

impl Krb5State {
    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &Krb5Tx> {
        self.txs.iter()
    }

    fn new_tx(&self, to_server: bool, msg_type: u32) -> Krb5Tx {
        Krb5Tx {
            id: self.txs.next_id(),
            to_server,
            msg_type,
            cname: None,
            realm: None,
            sname: None,
            etype: None,
            ticket_etype: None,
            error_code: None,
            req_type: None,
            events: Vec::new(),
        }
    }

    fn push(&mut self, tx: Krb5Tx) {
        self.stats.messages += 1;
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
    }

    fn event_on_last(&mut self, ev: u16) {
        self.txs.raise_on_last(ev, |t| &mut t.events);
    }

    /// Parses one Kerberos message (a UDP datagram or a TCP record); false when its header
    /// is not BER (Suricata's parser error).
    pub fn parse_message(&mut self, to_server: bool, m: &[u8]) -> bool {
        let (class, _, tag, _, _) = match ber_header(m) {
            Ok(h) => h,
            Err(_) => {
                self.stats.malformed += 1;
                self.event_on_last(EV_MALFORMED);
                return false;
            }
        };
        if class != 1 {
            return true;
        }
        let prev_req = self.req_id;
        match tag {
            10 | 12 => {
                let r = if tag == 10 { krb5_parser::parse_as_req(m) } else { krb5_parser::parse_tgs_req(m) };
                match r {
                    Ok((_, req)) => {
                        let mut tx = self.new_tx(to_server, tag);
                        tx.cname = req.req_body.cname.as_ref().map(names);
                        tx.realm = Some(req.req_body.realm.0.clone());
                        tx.sname = req.req_body.sname.as_ref().map(names);
                        self.push(tx);
                    }
                    Err(_) => self.stats.undecoded += 1,
                }
                self.req_id = tag;
            }
            11 | 13 => {
                let r = if tag == 11 { krb5_parser::parse_as_rep(m) } else { krb5_parser::parse_tgs_rep(m) };
                match r {
                    Ok((_, rep)) => {
                        let mut tx = self.new_tx(to_server, tag);
                        tx.req_type = (prev_req > 0).then_some(prev_req);
                        tx.cname = Some(names(&rep.cname));
                        tx.realm = Some(rep.crealm.0.clone());
                        tx.sname = Some(names(&rep.ticket.sname));
                        tx.ticket_etype = Some(rep.ticket.enc_part.etype.0);
                        tx.etype = Some(rep.enc_part.etype.0);
                        let is_weak = weak(rep.enc_part.etype.0);
                        self.push(tx);
                        if is_weak {
                            self.stats.weak_encryption += 1;
                            self.event_on_last(EV_WEAK);
                        }
                    }
                    Err(_) => self.stats.undecoded += 1,
                }
                self.req_id = 0;
            }
            14 => self.req_id = 14,
            15 => self.req_id = 0,
            30 => {
                // the crate's FromDer form needs its own asn1-rs version as a direct
                // dependency; the function is the same parser
                #[allow(deprecated, reason = "the FromDer form needs asn1-rs as a direct dependency; the same parser")]
                let r = krb5_parser::parse_krb_error(m);
                match r {
                    Ok((_, e)) => {
                        let mut tx = self.new_tx(to_server, 30);
                        tx.req_type = (prev_req > 0).then_some(prev_req);
                        tx.cname = e.cname.as_ref().map(names);
                        tx.realm = e.crealm.as_ref().map(|r| r.0.clone());
                        tx.sname = Some(names(&e.sname));
                        tx.error_code = Some(e.error_code.0);
                        self.push(tx);
                    }
                    Err(_) => self.stats.undecoded += 1,
                }
                self.req_id = 0;
            }
            _ => {}
        }
        true
    }

    /// Feeds in-order TCP bytes of one direction (records behind 4-byte marks).
    pub fn parse_tcp(&mut self, to_server: bool, mut data: &[u8]) {
        let di = usize::from(!to_server);
        while !data.is_empty() {
            // In bounds: di is 0 or 1 and tcp has two entries.
            let d = &mut self.tcp[di];
            if d.skip > 0 {
                let n = d.skip.min(data.len());
                d.skip -= n;
                data = data.get(n..).unwrap_or(&[]);
                continue;
            }
            let want_mark = 4usize.saturating_sub(d.buf.len());
            if want_mark > 0 {
                let n = want_mark.min(data.len());
                d.buf.extend_from_slice(data.get(..n).unwrap_or(&[]));
                data = data.get(n..).unwrap_or(&[]);
                if d.buf.len() < 4 {
                    return;
                }
            }
            let mark = d.buf.get(..4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) as usize;
            if mark > MAX_RECORD {
                d.buf.clear();
                d.skip = mark;
                self.stats.record_too_large += 1;
                continue;
            }
            let need = 4 + mark - d.buf.len();
            let n = need.min(data.len());
            d.buf.extend_from_slice(data.get(..n).unwrap_or(&[]));
            data = data.get(n..).unwrap_or(&[]);
            if d.buf.len() < 4 + mark {
                return;
            }
            let rec = std::mem::take(&mut d.buf);
            self.parse_message(to_server, rec.get(4..).unwrap_or(&[]));
        }
    }
}

impl Krb5Tx {
    /// Message type name as Suricata logs it (`KRB_AS_REQ`, ...).
    pub fn msg_type_name(&self) -> String {
        format!("{:?}", MessageType(self.msg_type))
    }

    fn principal(p: &Option<Vec<String>>) -> String {
        p.as_ref().map_or_else(|| "<empty>".to_string(), |v| v.join("/"))
    }

    /// Writes Suricata's `krb5` object.
    pub fn write_eve(&self, j: &mut crate::output::eve::Json<'_>) {
        let mut o = j.begin("krb5");
        o.str("msg_type", &self.msg_type_name());
        if let Some(c) = self.error_code {
            match self.req_type {
                Some(r) => o.str("failed_request", &format!("{:?}", MessageType(r))),
                None => o.str("failed_request", "UNKNOWN"),
            };
            o.str("error_code", &format!("{:?}", ErrorCode(c)));
        }
        o.str("cname", &Self::principal(&self.cname));
        o.str("realm", self.realm.as_deref().unwrap_or("<empty>"));
        o.str("sname", &Self::principal(&self.sname));
        match self.etype {
            Some(e) => o.str("encryption", &format!("{:?}", EncryptionType(e))),
            None => o.str("encryption", "<none>"),
        };
        o.bool("weak_encryption", self.etype.is_some_and(weak));
        if let Some(t) = self.ticket_etype {
            o.str("ticket_encryption", &format!("{:?}", EncryptionType(t)));
            o.bool("ticket_weak_encryption", weak(t));
        }
        o.end();
    }
}
