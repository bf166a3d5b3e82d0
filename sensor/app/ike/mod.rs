//! IKE (ISAKMP) v1 and v2 over UDP (ports 500 and 4500), after Suricata's `rust/src/ike/`:
//! each message is a one-way transaction with its header (version, SPIs, message id, exchange
//! type, flags), the payload types it carries, for IKEv2 the notify types and the algorithms
//! the responder chose, for IKEv1 the key exchange, nonce, vendor ids and the transforms'
//! attributes; proposals with weak or missing cryptography raise Suricata's events.
//!
//! Takes: one datagram per call; on port 4500 a message behind the 4-byte non-ESP marker
//! (RFC 3948; a datagram without it is ESP and is skipped). Promises: IKEv2 payloads are read
//! by rusticata's `ipsec-parser` (the crate Suricata uses, so algorithm, payload and notify
//! names print as Suricata prints them), IKEv1 payloads by [`v1`]; as in Suricata, what a
//! record says of the chosen algorithms (IKEv2) and of each side's key exchange and nonce
//! (IKEv1) is the flow's state when the message was parsed, and events found on the flow
//! rather than a message (`multiple_server_proposal`, `payload_extra_data`) go to the
//! transaction before it. Which side is the "server" for these (the side whose proposals are
//! the choice, whose key material is `server`) is Suricata's: when the first message going to
//! the client still has a zero responder SPI (a cookie request, an initiator answering
//! another), Suricata's probe of that direction reverses the flow from then on
//! ([`IkeState::reversed`]). Bounded: [`MAX_TXS`] transactions per flow (oldest evicted,
//! counted), at most [`MAX_EVENTS`] events, [`MAX_LIST`] payload types and notify types per
//! message, and what [`v1`] keeps. Never: panics on message bytes.

mod detect;
#[cfg(test)]
mod tests;
pub(crate) mod v1;

use ipsec_parser::{
    parse_ikev2_payload_list, IkePayloadType, IkeTransformAuthType, IkeTransformDHType, IkeTransformESNType,
    IkeTransformEncType, IkeTransformPRFType, IkeV2PayloadContent, IkeV2Proposal, IkeV2Transform, NotifyType,
    ProtocolID,
};

use super::identify::ProbeResult;
use super::proto::AppProto;
use super::txs::TxList;
use crate::output::eve::Json;

pub use detect::PROTOCOL;

/// Transactions kept per flow.
pub const MAX_TXS: usize = 64;
/// Events kept per transaction (Suricata's limit); each raised instance is kept.
pub const MAX_EVENTS: usize = 255;
/// Payload types and notify types kept per message.
pub const MAX_LIST: usize = 256;

/// App-layer events, as Suricata names them (`app-layer-event:ike.<name>`), in its order.
pub const EVENTS: &[&str] = &[
    "malformed_data",
    "no_encryption",
    "weak_crypto_enc",
    "weak_crypto_prf",
    "weak_crypto_dh",
    "weak_crypto_auth",
    "weak_crypto_nodh",
    "weak_crypto_noauth",
    "invalid_proposal",
    "unknown_proposal",
    "payload_extra_data",
    "multiple_server_proposal",
];
const EV_NO_ENCRYPTION: u16 = 1;
const EV_WEAK_ENC: u16 = 2;
const EV_WEAK_PRF: u16 = 3;
const EV_WEAK_DH: u16 = 4;
const EV_WEAK_AUTH: u16 = 5;
const EV_NO_DH: u16 = 6;
const EV_NO_AUTH: u16 = 7;
const EV_INVALID_PROPOSAL: u16 = 8;
const EV_UNKNOWN_PROPOSAL: u16 = 9;
const EV_PAYLOAD_EXTRA_DATA: u16 = 10;
const EV_MULTIPLE_SERVER_PROPOSAL: u16 = 11;

/// IKEv2 header flag: the sender is the original initiator.
const FLAG_INITIATOR: u8 = 0x08;
/// IKEv1 header flag: the payloads are encrypted.
const FLAG_ENCRYPTED: u8 = 0x01;

/// The ISAKMP header common to both versions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// Initiator SPI.
    pub init_spi: u64,
    /// Responder SPI.
    pub resp_spi: u64,
    /// Type of the first payload.
    pub next_payload: u8,
    /// Major version.
    pub maj_ver: u8,
    /// Minor version.
    pub min_ver: u8,
    /// Exchange type.
    pub exch_type: u8,
    /// Flags.
    pub flags: u8,
    /// Message id.
    pub msg_id: u32,
    /// Length of the message, header included.
    pub length: u32,
}

/// Reads the 28-byte ISAKMP header.
pub fn header(d: &[u8]) -> Option<Header> {
    let b = d.get(..28)?;
    let u64at = |i: usize| b.get(i..i + 8).and_then(|s| s.try_into().ok()).map(u64::from_be_bytes);
    let u32at = |i: usize| b.get(i..i + 4).and_then(|s| s.try_into().ok()).map(u32::from_be_bytes);
    let v = *b.get(17)?;
    Some(Header {
        init_spi: u64at(0)?,
        resp_spi: u64at(8)?,
        next_payload: *b.get(16)?,
        maj_ver: v >> 4,
        min_ver: v & 0x0f,
        exch_type: *b.get(18)?,
        flags: *b.get(19)?,
        msg_id: u32at(20)?,
        length: u32at(24)?,
    })
}

/// Suricata's IKE probing parser on a message: an IKEv1 header, or an IKEv2 one of version 2.0
/// with an exchange type of 34 to 37 and a length equal to the datagram's.
fn probe_message(d: &[u8]) -> bool {
    match header(d) {
        Some(h) if h.maj_ver == 1 => true,
        Some(h) if h.maj_ver == 2 => {
            h.min_ver == 0 && (34..=37).contains(&h.exch_type) && usize::try_from(h.length).ok() == Some(d.len())
        }
        _ => false,
    }
}

/// The probe on a flow's first datagram: a message, or one behind the non-ESP marker (NAT
/// traversal on port 4500).
pub fn probe(d: &[u8]) -> ProbeResult {
    let found = probe_message(d) || d.get(..4) == Some(&[0, 0, 0, 0][..]) && d.get(4..).is_some_and(probe_message);
    if found {
        ProbeResult::Found(AppProto::Ike)
    } else {
        ProbeResult::NotFound
    }
}

/// One side's IKEv1 key material as the flow has it (Suricata's `Ikev1ParticipantData`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Participant {
    /// Key exchange data, hex.
    pub key_exchange: String,
    /// Nonce, hex.
    pub nonce: String,
    /// Transforms offered so far.
    pub nb_transforms: u64,
    /// The first transform's attributes.
    pub transform: Vec<v1::Attribute>,
}

impl Participant {
    fn reset(&mut self) {
        *self = Participant::default();
    }

    fn update(&mut self, p: &v1::V1Payloads) {
        self.key_exchange = v1::hex(&p.key_exchange);
        self.nonce = v1::hex(&p.nonce);
        if self.nb_transforms == 0 {
            if let Some(t) = p.transforms.first() {
                self.transform.extend(t.iter().cloned());
            }
        }
        self.nb_transforms += p.transforms.len() as u64;
    }
}

/// What an IKEv1 message carried, and the flow's state its record shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V1Tx {
    /// Its payloads (empty when encrypted).
    pub payloads: v1::V1Payloads,
    /// Payloads encrypted (flag bit 0).
    pub encrypted: bool,
    /// The flow's domain of interpretation.
    pub doi: Option<u32>,
    /// The client's key material.
    pub client: Participant,
    /// The server's key material.
    pub server: Participant,
}

/// The algorithms the IKEv2 responder chose (the flow's, as of this message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// Encryption.
    pub enc: u16,
    /// Integrity.
    pub auth: u16,
    /// Pseudo-random function.
    pub prf: u16,
    /// Diffie-Hellman group.
    pub dh: u16,
    /// Extended sequence numbers.
    pub esn: u16,
}

impl Default for Chosen {
    fn default() -> Self {
        // Suricata's defaults: ENCR_NULL, NONE, PRF_NULL, None, NoESN
        Chosen { enc: IkeTransformEncType::ENCR_NULL.0, auth: 0, prf: 0, dh: 0, esn: 0 }
    }
}

/// What an IKEv2 message carried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V2Tx {
    /// Payload types in order, the first one from the header, ending with `NoNextPayload`.
    pub payload_types: Vec<u8>,
    /// Notify types in order.
    pub notify: Vec<u16>,
    /// Notifications of an error type.
    pub errors: u32,
    /// The transforms a responder's proposals chose: (transform type, id).
    pub chosen: Vec<(u8, u16)>,
    /// The flow's chosen algorithms as of this message.
    pub algs: Chosen,
}

/// One IKE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IkeTx {
    id: u64,
    to_server: bool,
    /// Its direction as Suricata's parser sees it (see [`IkeState::reversed`]).
    pub parsed_to_server: bool,
    /// Its header.
    pub hdr: Header,
    /// IKEv1 contents.
    pub v1: Option<V1Tx>,
    /// IKEv2 contents.
    pub v2: Option<V2Tx>,
    events: Vec<u16>,
}

crate::app_counters! {
    /// IKE counters.
    pub struct IkeStats {
        /// Messages that became a transaction.
        messages,
        /// Datagrams without a readable ISAKMP header or of another major version.
        malformed,
        /// Datagrams on port 4500 without the non-ESP marker (ESP), skipped.
        esp,
        /// Proposals with weak or missing cryptography (an event raised for each).
        weak_proposals,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
    }
}

/// Per-flow IKE state.
#[derive(Debug)]
pub struct IkeState {
    txs: TxList<IkeTx>,
    /// Suricata's view of the flow's direction is the reverse of the packets' from the first
    /// to-client message on, when that message probes as IKE with a zero responder SPI (its
    /// probe's `rdir`: such a message goes to the server).
    pub reversed: bool,
    /// The first to-client datagram was seen.
    tc_seen: bool,
    doi: Option<u32>,
    client: Participant,
    server: Participant,
    algs: Chosen,
    /// Counters.
    pub stats: IkeStats,
}

impl Default for IkeState {
    fn default() -> Self {
        IkeState {
            txs: TxList::new(MAX_TXS),
            reversed: false,
            tc_seen: false,
            doi: None,
            client: Participant::default(),
            server: Participant::default(),
            algs: Chosen::default(),
            stats: IkeStats::default(),
        }
    }
}

fn raise(events: &mut Vec<u16>, e: u16) {
    if events.len() < MAX_EVENTS {
        events.push(e);
    }
}

impl IkeState {
    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &IkeTx> {
        self.txs.iter()
    }

    /// An event found on the flow rather than a message: Suricata sets it on the newest
    /// transaction held (the message before the one being parsed).
    fn state_event(&mut self, e: u16) {
        if let Some(t) = self.txs.last_mut() {
            raise(&mut t.events, e);
        }
    }

    /// Parses one datagram (`nat_t`: the flow is on port 4500, messages follow a non-ESP
    /// marker); returns whether it became a transaction.
    pub fn parse(&mut self, to_server: bool, d: &[u8], nat_t: bool) -> bool {
        let d = if nat_t {
            match d.get(..4) {
                Some([0, 0, 0, 0]) => d.get(4..).unwrap_or(&[]),
                _ if d.len() <= 1 => return false, // NAT keepalive
                _ => {
                    self.stats.esp += 1;
                    return false;
                }
            }
        } else {
            d
        };
        if !to_server && !self.tc_seen {
            self.tc_seen = true;
            self.reversed = header(d).is_some_and(|h| h.resp_spi == 0) && probe_message(d);
        }
        if d.is_empty() {
            return false;
        }
        let Some(h) = header(d) else {
            self.stats.malformed += 1;
            return false;
        };
        let rest = d.get(28..).unwrap_or(&[]);
        if !matches!(h.maj_ver, 1 | 2) {
            self.stats.malformed += 1;
            return false;
        }
        let dir = to_server != self.reversed;
        let tx = match h.maj_ver {
            1 => self.v1(to_server, dir, h, rest),
            _ => Some(self.v2(to_server, dir, h, rest)),
        };
        let Some(tx) = tx else {
            self.stats.malformed += 1;
            return false;
        };
        self.stats.messages += 1;
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
        true
    }

    fn new_tx(&self, to_server: bool, dir: bool, hdr: Header) -> IkeTx {
        IkeTx { id: self.txs.next_id(), to_server, parsed_to_server: dir, hdr, v1: None, v2: None, events: Vec::new() }
    }

    /// `dir`: to the server as Suricata's parser sees it.
    fn v1(&mut self, packet_to_server: bool, to_server: bool, h: Header, rest: &[u8]) -> Option<IkeTx> {
        let mut tx = self.new_tx(packet_to_server, to_server, h);
        let encrypted = h.flags & FLAG_ENCRYPTED != 0;
        let payloads = if encrypted {
            v1::V1Payloads { types: vec![h.next_payload], ..v1::V1Payloads::default() }
        } else {
            let p = v1::parse(rest, h.next_payload)?;
            if p.doi.is_some() {
                self.doi = p.doi;
            }
            if p.types.contains(&1) {
                // a new SA: a new key exchange on the flow starts over
                if to_server {
                    self.client.reset();
                } else {
                    self.server.reset();
                }
            }
            if to_server {
                self.client.update(&p);
            } else {
                if self.server.nb_transforms <= 1 && self.server.nb_transforms + p.transforms.len() as u64 > 1 {
                    self.state_event(EV_MULTIPLE_SERVER_PROPOSAL);
                }
                self.server.update(&p);
            }
            if p.extra {
                self.state_event(EV_PAYLOAD_EXTRA_DATA);
            }
            p
        };
        tx.v1 =
            Some(V1Tx { payloads, encrypted, doi: self.doi, client: self.client.clone(), server: self.server.clone() });
        Some(tx)
    }

    /// `to_server`: as Suricata's parser sees it.
    fn v2(&mut self, packet_to_server: bool, to_server: bool, h: Header, rest: &[u8]) -> IkeTx {
        let mut tx = self.new_tx(packet_to_server, to_server, h);
        let mut v2 = V2Tx::default();
        if let Ok((_, Ok(payloads))) = parse_ikev2_payload_list(rest, IkePayloadType(h.next_payload)) {
            for p in &payloads {
                if v2.payload_types.len() < MAX_LIST {
                    v2.payload_types.push(p.hdr.next_payload_type.0);
                }
                match &p.content {
                    IkeV2PayloadContent::SA(props) => self.proposals(&mut tx.events, &mut v2, props, to_server),
                    IkeV2PayloadContent::Notify(n) => {
                        if n.notify_type.is_error() {
                            v2.errors += 1;
                        }
                        if v2.notify.len() < MAX_LIST {
                            v2.notify.push(n.notify_type.0);
                        }
                    }
                    _ => {}
                }
            }
        }
        v2.algs = self.algs;
        tx.v2 = Some(v2);
        tx
    }

    /// Suricata's rules on the proposals of an SA payload: weak or unknown transforms, no DH,
    /// AH (no confidentiality), no integrity without AEAD; a responder's choice becomes the
    /// flow's.
    fn proposals(&mut self, events: &mut Vec<u16>, v2: &mut V2Tx, props: &[IkeV2Proposal<'_>], to_server: bool) {
        for p in props {
            let before = events.len();
            let xf: Vec<IkeV2Transform> = p.transforms.iter().map(IkeV2Transform::from).collect();
            for t in &xf {
                match t {
                    IkeV2Transform::Encryption(e) if (1..=9).contains(&e.0) || *e == IkeTransformEncType::ENCR_NULL => {
                        raise(events, EV_WEAK_ENC)
                    }
                    IkeV2Transform::PRF(IkeTransformPRFType::PRF_NULL) => raise(events, EV_INVALID_PROPOSAL),
                    IkeV2Transform::PRF(IkeTransformPRFType::PRF_HMAC_MD5 | IkeTransformPRFType::PRF_HMAC_SHA1) => {
                        raise(events, EV_WEAK_PRF)
                    }
                    IkeV2Transform::Auth(
                        IkeTransformAuthType::AUTH_HMAC_MD5_96
                        | IkeTransformAuthType::AUTH_HMAC_SHA1_96
                        | IkeTransformAuthType::AUTH_DES_MAC
                        | IkeTransformAuthType::AUTH_KPDK_MD5
                        | IkeTransformAuthType::AUTH_AES_XCBC_96
                        | IkeTransformAuthType::AUTH_HMAC_MD5_128
                        | IkeTransformAuthType::AUTH_HMAC_SHA1_160,
                    ) => raise(events, EV_WEAK_AUTH),
                    IkeV2Transform::DH(IkeTransformDHType::None) => raise(events, EV_INVALID_PROPOSAL),
                    IkeV2Transform::DH(
                        IkeTransformDHType::Modp768
                        | IkeTransformDHType::Modp1024
                        | IkeTransformDHType::Modp1024s160
                        | IkeTransformDHType::Modp1536,
                    ) => raise(events, EV_WEAK_DH),
                    IkeV2Transform::Unknown(..) => raise(events, EV_UNKNOWN_PROPOSAL),
                    _ => {}
                }
            }
            if !xf.iter().any(|t| matches!(t, IkeV2Transform::DH(_))) {
                raise(events, EV_NO_DH);
            }
            if p.protocol_id == ProtocolID::AH {
                raise(events, EV_NO_ENCRYPTION);
            }
            let integrity = xf.iter().any(|t| matches!(t, IkeV2Transform::Auth(a) if *a != IkeTransformAuthType::NONE));
            let aead = xf.iter().any(|t| matches!(t, IkeV2Transform::Encryption(e) if e.is_aead()));
            if !integrity && !aead {
                raise(events, EV_NO_AUTH);
            }
            if events.len() > before {
                self.stats.weak_proposals += 1;
            }
            if !to_server {
                for t in &xf {
                    let (kind, id) = match t {
                        IkeV2Transform::Encryption(e) => (1, e.0),
                        IkeV2Transform::PRF(x) => (2, x.0),
                        IkeV2Transform::Auth(x) => (3, x.0),
                        IkeV2Transform::DH(x) => (4, x.0),
                        IkeV2Transform::ESN(x) => (5, x.0),
                        IkeV2Transform::Unknown(..) => continue,
                    };
                    match kind {
                        1 => self.algs.enc = id,
                        2 => self.algs.prf = id,
                        3 => self.algs.auth = id,
                        4 => self.algs.dh = id,
                        _ => self.algs.esn = id,
                    }
                    if v2.chosen.len() < MAX_LIST {
                        v2.chosen.push((kind, id));
                    }
                }
            }
        }
    }
}

/// The name of an IKEv2 payload type, as the parser crate (and so Suricata) prints it.
fn v2_payload_name(t: u8) -> String {
    format!("{:?}", IkePayloadType(t))
}

fn attributes_json(o: &mut Json<'_>, key: &str, lists: &[&[v1::Attribute]]) {
    let mut arr = Vec::with_capacity(256);
    arr.push(b'[');
    let mut first = true;
    for list in lists {
        for a in list.iter() {
            if !first {
                arr.push(b',');
            }
            first = false;
            let mut j = Json::object(&mut arr);
            j.str("key", a.kind_name());
            j.str("value", a.value);
            if let Some(n) = a.numeric {
                j.u64("raw", u64::from(n));
            } else if let Some(h) = &a.hex {
                j.str("raw", h);
            }
            j.end();
        }
    }
    arr.push(b']');
    o.raw(key, &arr);
}

fn participant_json(o: &mut Json<'_>, p: &Participant) {
    if !p.key_exchange.is_empty() {
        o.str("key_exchange_payload", &p.key_exchange);
        o.u64("key_exchange_payload_length", p.key_exchange.len() as u64 / 2);
    }
    if !p.nonce.is_empty() {
        o.str("nonce_payload", &p.nonce);
        o.u64("nonce_payload_length", p.nonce.len() as u64 / 2);
    }
}

impl IkeTx {
    /// The IKE version (1 or 2).
    pub fn version(&self) -> u8 {
        if self.v2.is_some() {
            2
        } else {
            1
        }
    }

    /// The initiator SPI as Suricata writes it (16 hex digits).
    pub fn init_spi(&self) -> String {
        format!("{:016x}", self.hdr.init_spi)
    }

    /// The responder SPI as Suricata writes it.
    pub fn resp_spi(&self) -> String {
        format!("{:016x}", self.hdr.resp_spi)
    }

    /// Writes Suricata's `ike` object (its logger's format version 2).
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let mut o = j.begin("ike");
        o.u64("_v", 2);
        o.u64("version_major", u64::from(self.hdr.maj_ver));
        o.u64("version_minor", u64::from(self.hdr.min_ver));
        o.str("init_spi", &self.init_spi());
        o.str("resp_spi", &self.resp_spi());
        o.u64("message_id", u64::from(self.hdr.msg_id));
        o.u64("exchange_type", u64::from(self.hdr.exch_type));
        if let Some(v1) = &self.v1 {
            if v1.server.nb_transforms > 0 {
                attributes_json(&mut o, "attributes", &[v1.server.transform.as_slice()]);
            }
            if !self.parsed_to_server && v1.payloads.transforms.len() > 1 {
                let lists: Vec<&[v1::Attribute]> = v1.payloads.transforms.iter().map(|t| t.as_slice()).collect();
                attributes_json(&mut o, "server_proposals", &lists);
            }
            let names = v1
                .payloads
                .types
                .iter()
                .filter_map(|t| v1::PAYLOAD_TYPES.iter().find(|(n, _)| n == t).map(|(_, s)| s.as_bytes()));
            super::jsonx::str_array(&mut o, "payload", names);
            let mut x = o.begin("ikev1");
            if let Some(doi) = v1.doi {
                x.u64("doi", u64::from(doi));
            }
            x.bool("encrypted_payloads", v1.encrypted);
            if !v1.encrypted {
                let mut c = x.begin("client");
                participant_json(&mut c, &v1.client);
                if self.parsed_to_server && !v1.payloads.transforms.is_empty() {
                    let lists: Vec<&[v1::Attribute]> = v1.payloads.transforms.iter().map(|t| t.as_slice()).collect();
                    attributes_json(&mut c, "proposals", &lists);
                }
                c.end();
                if !v1.server.key_exchange.is_empty() || !v1.server.nonce.is_empty() {
                    let mut s = x.begin("server");
                    participant_json(&mut s, &v1.server);
                    s.end();
                }
                if !v1.payloads.vendor_ids.is_empty() {
                    super::jsonx::str_array(&mut x, "vendor_ids", v1.payloads.vendor_ids.iter().map(|v| v.as_bytes()));
                }
            }
            x.end();
        } else if let Some(v2) = &self.v2 {
            if self.hdr.flags & FLAG_INITIATOR != 0 {
                o.str("role", "initiator");
            } else {
                o.str("role", "responder");
                o.str("alg_enc", &format!("{:?}", IkeTransformEncType(v2.algs.enc)));
                o.str("alg_auth", &format!("{:?}", IkeTransformAuthType(v2.algs.auth)));
                o.str("alg_prf", &format!("{:?}", IkeTransformPRFType(v2.algs.prf)));
                o.str("alg_dh", &format!("{:?}", IkeTransformDHType(v2.algs.dh)));
                o.str("alg_esn", &format!("{:?}", IkeTransformESNType(v2.algs.esn)));
            }
            let names: Vec<String> = v2.payload_types.iter().map(|&t| v2_payload_name(t)).collect();
            super::jsonx::str_array(&mut o, "payload", names.iter().map(|s| s.as_bytes()));
            let mut x = o.begin("ikev2");
            x.u64("errors", u64::from(v2.errors));
            if !v2.notify.is_empty() {
                let names: Vec<String> = v2.notify.iter().map(|&n| format!("{:?}", NotifyType(n))).collect();
                super::jsonx::str_array(&mut x, "notify", names.iter().map(|s| s.as_bytes()));
            }
            x.end();
        }
        o.end();
    }
}
