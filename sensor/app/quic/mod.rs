//! QUIC over UDP (ports 443 and 80), after Suricata's `rust/src/quic/`: every long-header
//! packet is a one-way transaction with its version; an Initial packet's payload is
//! decrypted with the version's initial keys (RFC 9001, [`crypto`]) and its frames read
//! ([`frames`]): the TLS ClientHello or ServerHello carried by CRYPTO frames (reassembled
//! across packets) gives the server name, JA3/JA3S, JA4 and the extensions; a gQUIC client
//! hello (Q0xx, T0xx) its tags (SNI, UAID) and the CYU fingerprint.
//!
//! Takes: one datagram per call (several coalesced packets are read in turn). Promises:
//! the transactions and the EVE `quic` object are Suricata's; parsing of a direction ends
//! once its hello was seen (what follows is encrypted with keys a sensor does not have).
//! Bounded: [`frames::MAX_CRYPTO`] bytes of CRYPTO data kept per direction (a hello longer
//! than that is dropped, counted, and raises `crypto_frag_too_long`), [`MAX_TXS`]
//! transactions per flow (oldest evicted, counted). Never: panics on packet bytes.

pub mod crypto;
mod detect;
pub(crate) mod frames;
#[cfg(test)]
mod tests;

use md5::{Digest as _, Md5};

use super::identify::ProbeResult;
use super::plugin::TxEvents;
use super::proto::AppProto;
use super::txs::TxList;
use crypto::{initial_keys, Keys, VERSION_2};
use frames::{decode_frames, tag_name, Ext, Frame, MAX_CRYPTO};

pub use detect::PROTOCOL;

/// Transactions kept per flow.
pub const MAX_TXS: usize = 64;

/// App-layer events, as Suricata names them.
pub const EVENTS: &[&str] = &["failed_decrypt", "error_on_data", "error_on_header", "crypto_frag_too_long"];
const EV_FAILED_DECRYPT: u16 = 0;
const EV_ERROR_ON_DATA: u16 = 1;
const EV_CRYPTO_FRAG_TOO_LONG: u16 = 3;

const Q039: u32 = 0x5130_3339;
const Q043: u32 = 0x5130_3433;
const Q044: u32 = 0x5130_3434;
const Q045: u32 = 0x5130_3435;
const Q046: u32 = 0x5130_3436;

fn is_gquic(v: u32) -> bool {
    matches!(v, Q043 | Q044 | Q045 | Q046)
}

/// A version as Suricata prints it: the gQUIC names it knows, `v2`, or lower-case hex.
pub fn version_name(v: u32) -> String {
    match v {
        Q039 => "Q039".into(),
        Q043 => "Q043".into(),
        Q044 => "Q044".into(),
        Q045 => "Q045".into(),
        Q046 => "Q046".into(),
        VERSION_2 => "v2".into(),
        x => format!("{x:x}"),
    }
}

/// A cursor over packet bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cur<'a>(pub &'a [u8]);

impl<'a> Cur<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, b) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = b;
        Some(a)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    pub(crate) fn be_u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    pub(crate) fn le_u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    pub(crate) fn be_u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    pub(crate) fn le_u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    pub(crate) fn tag(&mut self) -> Option<frames::Tag> {
        self.take(4)?.try_into().ok()
    }
}

/// A variable-length integer (RFC 9000 section 16).
pub(crate) fn var_uint(c: &mut Cur<'_>) -> Option<u64> {
    let first = c.u8()?;
    let mut v = u64::from(first & 0x3f);
    let more = (1usize << (first >> 6)) - 1;
    for &b in c.take(more)? {
        v = (v << 8) | u64::from(b);
    }
    Some(v)
}

/// Packet types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    /// Initial (or a gQUIC packet carrying its version).
    Initial,
    /// Retry.
    Retry,
    /// Handshake.
    Handshake,
    /// 0-RTT.
    ZeroRtt,
    /// Version negotiation (version 0).
    VersionNegotiation,
    /// Short header (nothing to read).
    Short,
}

/// A packet's header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The first byte (protected).
    pub first: u8,
    /// Its type.
    pub ty: PacketType,
    /// The version (0 when the packet has none).
    pub version: u32,
    /// The destination connection id.
    pub dcid: Vec<u8>,
    /// Offset of what follows the header (the packet number of an IETF Initial).
    pub hlen: usize,
    /// Length of the packet's rest (from `hlen`).
    pub length: usize,
}

impl Header {
    /// A long header.
    pub fn is_long(&self) -> bool {
        self.first & 0x80 != 0
    }
}

/// Reads a packet header as Suricata's `QuicHeader::from_bytes` does (gQUIC public header,
/// short header, long header of gQUIC Q043-Q046, v2 or v1 and drafts).
pub fn parse_header(input: &[u8]) -> Option<Header> {
    let mut c = Cur(input);
    let first = c.u8()?;
    let hdr = |ty, version, dcid: &[u8], c: &Cur<'_>, length: usize| {
        let hlen = input.len() - c.0.len();
        (length <= usize::from(u16::MAX)).then(|| Header { first, ty, version, dcid: dcid.to_vec(), hlen, length })
    };
    if first & 0x80 == 0 && first & 0x40 == 0 {
        // gQUIC public header
        let dcid = c.take(if first & 0x08 != 0 { 8 } else { 0 })?;
        if first & 0x04 != 0 && first & 0x08 == 0 {
            c.take(32)?;
        }
        let version = if first & 0x01 != 0 { c.be_u32()? } else { 0 };
        c.take(usize::from(1 + ((first & 0x30) >> 4)))?;
        if first & 0x08 != 0 {
            c.take(12)?;
        }
        let ty = if first & 0x01 != 0 { PacketType::Initial } else { PacketType::Short };
        return hdr(ty, version, dcid, &c, c.0.len());
    }
    if first & 0x80 == 0 {
        return hdr(PacketType::Short, 0, &[], &c, c.0.len());
    }
    let version = c.be_u32()?;
    let bits = (first & 0x30) >> 4;
    let ty = if version == 0 {
        PacketType::VersionNegotiation
    } else if is_gquic(version) && version != Q046 {
        match first & 0x7f {
            0x7f => PacketType::Initial,
            0x7e => PacketType::Retry,
            0x7d => PacketType::Handshake,
            0x7c => PacketType::ZeroRtt,
            _ => return None,
        }
    } else if version == VERSION_2 {
        [PacketType::Retry, PacketType::Initial, PacketType::ZeroRtt, PacketType::Handshake][usize::from(bits)]
    } else {
        [PacketType::Initial, PacketType::ZeroRtt, PacketType::Handshake, PacketType::Retry][usize::from(bits)]
    };
    let dcid = if is_gquic(version) {
        let lens = c.u8()?;
        let l = |n: u8| usize::from(if n == 0 { 0 } else { n + 3 });
        let dcid = c.take(l(lens >> 4))?;
        c.take(l(lens & 0x0f))?;
        dcid
    } else {
        let n = c.u8()?;
        let dcid = c.take(usize::from(n))?;
        let n = c.u8()?;
        c.take(usize::from(n))?;
        dcid
    };
    match ty {
        PacketType::Initial if is_gquic(version) => {
            c.take(4 + 12)?;
        }
        PacketType::Initial => {
            let token = var_uint(&mut c)?;
            c.take(usize::try_from(token).ok()?)?;
            let length = usize::try_from(var_uint(&mut c)?).ok()?;
            if length > c.0.len() {
                return None;
            }
            return hdr(ty, version, dcid, &c, length);
        }
        PacketType::Retry => c.0 = &[],
        _ => {}
    }
    hdr(ty, version, dcid, &c, c.0.len())
}

/// Suricata's probing parser: the first packet's header reads.
pub fn probe(d: &[u8]) -> ProbeResult {
    if parse_header(d).is_some() {
        ProbeResult::Found(AppProto::Quic)
    } else {
        ProbeResult::NotFound
    }
}

/// One QUIC packet (long header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuicTx {
    id: u64,
    /// Sent by the client.
    pub to_server: bool,
    /// The packet's header.
    pub header: Header,
    /// CYU fingerprints of gQUIC client hellos: (hash, string).
    pub cyu: Vec<(String, String)>,
    /// Server name.
    pub sni: Option<Vec<u8>>,
    /// gQUIC user agent (UAID).
    pub ua: Option<Vec<u8>>,
    /// TLS extensions of the hello.
    pub extv: Vec<Ext>,
    /// JA3 (client) or JA3S (server) string.
    pub ja3: Option<String>,
    /// JA3 hash (MD5 of the string).
    pub ja3_hash: Option<String>,
    /// JA4 of a client hello.
    pub ja4: Option<String>,
    events: TxEvents,
}

crate::app_counters! {
    /// QUIC counters.
    pub struct QuicStats {
        /// Packets whose header was read.
        packets,
        /// Datagrams whose (next) packet header did not read.
        bad_header,
        /// Initial packets decrypted.
        decrypted,
        /// Initial packets that did not decrypt.
        decrypt_failed,
        /// Packets whose frames did not read.
        bad_frames,
        /// CRYPTO data not kept: the hello was longer than the per-direction cap.
        crypto_dropped,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
    }
}

/// Per-flow QUIC state.
#[derive(Debug)]
pub struct QuicState {
    txs: TxList<QuicTx>,
    keys: Option<Keys>,
    /// CRYPTO data kept per direction (0: to server) and how many of its bytes are set.
    frag: [(Vec<u8>, u64); 2],
    hello: [bool; 2],
    retried: bool,
    /// Counters.
    pub stats: QuicStats,
}

impl Default for QuicState {
    fn default() -> Self {
        QuicState {
            txs: TxList::new(MAX_TXS),
            keys: None,
            frag: Default::default(),
            hello: [false; 2],
            retried: false,
            stats: QuicStats::default(),
        }
    }
}

/// The CYU fingerprints of a gQUIC packet's tag messages.
fn cyu(version: u32, frames: &[Frame]) -> Vec<(String, String)> {
    let v = match version {
        Q043 => "43",
        Q044 | Q045 => "44",
        Q046 => "46",
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for f in frames {
        if let Frame::Stream(Some(tags)) = f {
            let names: Vec<&str> = tags.iter().map(|(t, _)| tag_name(t)).collect();
            let s = format!("{v},{}", names.join("-"));
            out.push((format!("{:x}", Md5::digest(s.as_bytes())), s));
        }
    }
    out
}

impl QuicState {
    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &QuicTx> {
        self.txs.iter()
    }

    /// Both hellos were seen: the rest of the flow is encrypted.
    pub fn both_hellos(&self) -> bool {
        self.hello == [true; 2]
    }

    fn new_tx(&self, to_server: bool, header: Header, event: Option<u16>) -> QuicTx {
        let mut events = TxEvents::default();
        if let Some(e) = event {
            events.raise(e);
        }
        QuicTx {
            id: self.txs.next_id(),
            to_server,
            header,
            cyu: Vec::new(),
            sni: None,
            ua: None,
            extv: Vec::new(),
            ja3: None,
            ja3_hash: None,
            ja4: None,
            events,
        }
    }

    fn push(&mut self, tx: QuicTx) {
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
    }

    /// Parses one datagram; false when a packet did not read (Suricata's parser error).
    /// New transactions are the ones past [`QuicState::txs`]' previous end.
    pub fn parse(&mut self, to_server: bool, input: &[u8]) -> bool {
        let d = usize::from(!to_server);
        let mut buf = input;
        while !buf.is_empty() {
            let Some(h) = parse_header(buf) else {
                self.stats.bad_header += 1;
                return false;
            };
            if self.hello.get(d).copied().unwrap_or(true) || h.ty == PacketType::Short {
                return true;
            }
            self.stats.packets += 1;
            if self.keys.is_none() && h.ty == PacketType::Initial {
                self.keys = initial_keys(h.version, &h.dcid);
            } else if !to_server && self.keys.is_some() && h.ty == PacketType::Retry && !self.retried {
                // the client starts again with keys from the Retry's connection id
                self.hello[0] = false;
                self.keys = None;
                self.retried = true;
            }
            let end = h.hlen + h.length;
            let (Some(pkt), Some(next)) = (buf.get(..end), buf.get(end..)) else { return false };
            buf = next;
            if h.ty != PacketType::Initial {
                let tx = self.new_tx(to_server, h, None);
                self.push(tx);
                continue;
            }
            let mut payload = pkt.get(h.hlen..).unwrap_or(&[]);
            let plain;
            if let (Some(keys), false) = (&self.keys, payload.is_empty()) {
                let k = if to_server { &keys.client } else { &keys.server };
                match k.open(pkt, h.hlen) {
                    Some(p) => {
                        self.stats.decrypted += 1;
                        plain = p;
                        payload = &plain;
                    }
                    None => {
                        self.stats.decrypt_failed += 1;
                        let tx = self.new_tx(to_server, h, Some(EV_FAILED_DECRYPT));
                        self.push(tx);
                        return false;
                    }
                }
            }
            let (past, past_set) = self.frag.get_mut(d).map(std::mem::take).unwrap_or_default();
            match decode_frames(payload, &past, past_set) {
                Some(frames) => self.handle_frames(to_server, h, &frames),
                None => {
                    self.stats.bad_frames += 1;
                    let tx = self.new_tx(to_server, h, Some(EV_ERROR_ON_DATA));
                    self.push(tx);
                    return false;
                }
            }
        }
        true
    }

    fn handle_frames(&mut self, to_server: bool, h: Header, frames: &[Frame]) {
        let d = usize::from(!to_server);
        let (mut sni, mut ua, mut ja3, mut ja4) = (None, None, None, None);
        let mut extv = Vec::new();
        let mut too_long = false;
        for f in frames {
            match f {
                Frame::Stream(Some(tags)) => {
                    for (t, v) in tags {
                        match t {
                            b"SNI\0" => sni = Some(v.clone()),
                            b"UAID" => ua = Some(v.clone()),
                            _ => {}
                        }
                        if sni.is_some() && ua.is_some() {
                            break;
                        }
                    }
                }
                Frame::CryptoFrag { offset, length, data } => {
                    if *length < MAX_CRYPTO {
                        if let Some(slot) = self.frag.get_mut(d) {
                            *slot = (data.clone(), *offset);
                        }
                    } else {
                        too_long = true;
                    }
                }
                Frame::Crypto(hello) => {
                    ja3 = Some(hello.ja3.clone());
                    if to_server {
                        ja4.clone_from(&hello.ja4);
                    }
                    if let Some(name) = hello.extv.iter().find(|e| e.etype == 0).and_then(|e| e.values.first()) {
                        sni = Some(name.clone());
                    }
                    extv.extend_from_slice(&hello.extv);
                    if let Some(seen) = self.hello.get_mut(d) {
                        *seen = true;
                    }
                }
                _ => {}
            }
        }
        if too_long {
            self.stats.crypto_dropped += 1;
        }
        let cyu = cyu(h.version, frames);
        let mut tx = self.new_tx(to_server, h, too_long.then_some(EV_CRYPTO_FRAG_TOO_LONG));
        tx.cyu = cyu;
        tx.sni = sni;
        tx.ua = ua;
        tx.extv = extv;
        tx.ja3_hash = ja3.as_ref().map(|s: &String| format!("{:x}", Md5::digest(s.as_bytes())));
        tx.ja3 = ja3;
        tx.ja4 = ja4;
        self.push(tx);
    }
}

/// The name of a TLS extension type as Suricata's QUIC logger writes it.
pub fn extension_name(t: u16) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "server_name",
        "max_fragment_length",
        "client_certificate_url",
        "trusted_ca_keys",
        "truncated_hmac",
        "status_request",
        "user_mapping",
        "client_authz",
        "server_authz",
        "cert_type",
        "supported_groups",
        "ec_point_formats",
        "srp",
        "signature_algorithms",
        "use_srtp",
        "heartbeat",
        "alpn",
        "status_request_v2",
        "signed_certificate_timestamp",
        "client_certificate_type",
        "server_certificate_type",
        "padding",
        "encrypt_then_mac",
        "extended_master_secret",
        "token_binding",
        "cached_info",
        "tls_lts",
        "compress_certificate",
        "record_size_limit",
        "pwd_protect",
        "pwd_clear",
        "password_salt",
        "ticket_pinning",
        "tls_cert_with_extern_psk",
        "delegated_credentials",
        "session_ticket",
        "tlmsp",
        "tlmsp_proxying",
        "tlmsp_delegate",
        "supported_ekt_ciphers",
        "",
        "pre_shared_key",
        "early_data",
        "supported_versions",
        "cookie",
        "psk_key_exchange_modes",
        "",
        "certificate_authorities",
        "oid_filters",
        "post_handshake_auth",
        "signature_algorithms_cert",
        "key_share",
        "transparency_info",
        "connection_id_deprecated",
        "connection_id",
        "external_id_hash",
        "external_session_id",
        "quic_transport_parameters",
        "ticket_request",
        "dnssec_chain",
    ];
    match t {
        13172 => Some("next_protocol_negotiation"),
        65281 => Some("renegotiation_info"),
        _ => NAMES.get(usize::from(t)).copied().filter(|n| !n.is_empty()),
    }
}

impl QuicTx {
    /// The events raised on it.
    pub fn events(&self) -> &[u16] {
        self.events.as_slice()
    }

    /// Writes Suricata's `quic` object.
    pub fn write_eve(&self, j: &mut crate::output::eve::Json<'_>) {
        let mut o = j.begin("quic");
        if self.header.ty != PacketType::Short {
            o.str("version", &version_name(self.header.version));
            if let Some(s) = &self.sni {
                o.str("sni", &String::from_utf8_lossy(s));
            }
            if let Some(s) = &self.ua {
                o.str("ua", &String::from_utf8_lossy(s));
            }
        }
        if !self.cyu.is_empty() {
            super::jsonx::obj_array(&mut o, "cyu", &self.cyu, |c, (hash, s)| {
                c.str("hash", hash);
                c.str("string", s);
            });
        }
        if let (Some(s), Some(h)) = (&self.ja3, &self.ja3_hash) {
            let mut jo = o.begin(if self.to_server { "ja3" } else { "ja3s" });
            jo.str("hash", h);
            jo.str("string", s);
            jo.end();
        }
        if let Some(s) = &self.ja4 {
            o.str("ja4", s);
        }
        if !self.extv.is_empty() {
            super::jsonx::obj_array(&mut o, "extensions", &self.extv, |e, x| {
                if let Some(n) = extension_name(x.etype) {
                    e.str("name", n);
                }
                e.u64("type", u64::from(x.etype));
                if !x.values.is_empty() {
                    let vals: Vec<String> = x.values.iter().map(|v| String::from_utf8_lossy(v).into_owned()).collect();
                    super::jsonx::str_array(e, "values", vals.iter().map(|v| v.as_bytes()));
                }
            });
        }
        o.end();
    }
}
