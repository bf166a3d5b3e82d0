//! SSL/TLS records and handshake, after Suricata's `app-layer-ssl.c`, its JA3 code and
//! `rust/src/x509`; handshake messages decoded with rusticata's `tls-parser`, certificates
//! with `x509-parser` (the crates Suricata itself uses for X.509).
//!
//! Takes: the in-order bytes of each TCP direction of a flow detected as TLS, split however
//! the segments fell.
//! Promises: records are followed incrementally without buffering them: handshake bytes go to
//! a per-direction handshake buffer (messages may span records, several may share one),
//! everything else is skipped by length. From the handshake it keeps what Suricata's
//! keywords and EVE read: SNI, hello versions, JA3 / JA3S strings (GREASE removed) and their
//! MD5, the negotiated version (`supported_versions` for TLS 1.3), the `ssl_state` progress
//! flags, and the server's certificate chain with the first certificate's subject and issuer
//! (x509-parser's `Display`, as Suricata prints them: `C=US, O=Google Inc, CN=...`), serial
//! (colon-separated upper-case hex of the raw bytes), SHA-1 fingerprint (colon-separated
//! lower-case hex) and validity. Bounded: a record longer than [`MAX_RECORD_LEN`] or a
//! handshake message longer than [`MAX_HANDSHAKE_LEN`] ends parsing of that direction (they
//! lie; counted), at most [`MAX_CERTS`] certificates and [`MAX_JA3_VALUES`] values per JA3
//! list are kept (counted).
//! Never: panics or indexes unchecked on record bytes, decrypts, or parses handshake records
//! after a ChangeCipherSpec (or after a TLS 1.3 ServerHello on the server side).

mod cert;
mod detect;
mod eve;
mod extensions;
pub(crate) mod ja4;
#[cfg(test)]
mod tests;

use tls_parser::{parse_tls_message_handshake, TlsMessage, TlsMessageHandshake};

use cert::cert_decode;
use cert::md5_hex;
pub use cert::{cert_info, CertError, CertInfo};
pub use detect::PROTOCOL;
pub use extensions::ja3_string;
use extensions::{push_list, Extensions};

/// Longest record accepted (TLSCiphertext: 2^14 + 2048).
pub const MAX_RECORD_LEN: usize = 16_384 + 2_048;
/// Longest handshake message buffered (certificate chains fit comfortably).
pub const MAX_HANDSHAKE_LEN: usize = 128 * 1024;
/// Certificates of a chain kept (for `tls.certs` / `tls.cert_chain_len`).
pub const MAX_CERTS: usize = 16;
/// Values kept per JA3 list (ciphers, extensions, curves, point formats).
pub const MAX_JA3_VALUES: usize = 4096;

const SSL_VERSION_2: u16 = 0x0002;
const TLS_VERSION_13: u16 = 0x0304;
/// Suricata's `TLS_VERSION_13_PRE_DRAFT16`: a hello saying 0x0304 or 0x7f01..0x7f0f.
pub const TLS_VERSION_13_PRE_DRAFT16: u16 = 0x7f0f;

/// `ssl_state` flags (Suricata's `SSL_AL_FLAG_STATE_*`).
pub mod ssl_state {
    /// A ClientHello was seen.
    pub const CLIENT_HELLO: u32 = 1 << 0;
    /// A ServerHello was seen.
    pub const SERVER_HELLO: u32 = 1 << 1;
    /// A ClientKeyExchange was seen.
    pub const CLIENT_KEYX: u32 = 1 << 2;
    /// A ServerKeyExchange was seen.
    pub const SERVER_KEYX: u32 = 1 << 3;
    /// An unknown handshake message type was seen.
    pub const UNKNOWN: u32 = 1 << 4;
}

/// GREASE values (RFC 8701), left out of JA3 lists.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Suricata's `SSLVersionToString` (EVE `tls.version`).
pub fn version_string(v: u16) -> String {
    match v {
        0 => "UNDETERMINED".into(),
        SSL_VERSION_2 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        TLS_VERSION_13 => "TLS 1.3".into(),
        TLS_VERSION_13_PRE_DRAFT16 => "TLS 1.3 draft-<16".into(),
        0x7f10..=0x7f1c => format!("TLS 1.3 draft-{}", v & 0xff),
        0xfb14..=0xfb17 | 0xfb1a => format!("TLS 1.3 draft-{}-fb", v & 0xff),
        _ => format!("0x{v:04x}"),
    }
}

/// Versions as the `ssl_version` keyword names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslVersion {
    /// `sslv2`.
    Sslv2,
    /// `sslv3`.
    Sslv3,
    /// `tls1.0`.
    Tls10,
    /// `tls1.1`.
    Tls11,
    /// `tls1.2`.
    Tls12,
    /// `tls1.3` (drafts included, as Suricata maps them).
    Tls13,
}

impl SslVersion {
    /// Maps a connection's version value (see [`TlsState::version`]).
    pub fn of(v: u16) -> Option<SslVersion> {
        Some(match v {
            SSL_VERSION_2 => SslVersion::Sslv2,
            0x0300 => SslVersion::Sslv3,
            0x0301 => SslVersion::Tls10,
            0x0302 => SslVersion::Tls11,
            0x0303 => SslVersion::Tls12,
            TLS_VERSION_13 | 0x7f00..=0x7fff | 0xfb00..=0xfbff => SslVersion::Tls13,
            _ => return None,
        })
    }
}

fn version_valid(v: u16) -> bool {
    matches!(v, 0x0300..=0x0304 | 0x7f00..=0x7fff | 0xfb14..=0xfb1a)
}

/// Why a direction stopped being parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsError {
    /// A record header that is neither SSLv2 nor SSLv3/TLS.
    BadRecord,
    /// A record claiming more than [`MAX_RECORD_LEN`].
    RecordTooLong,
    /// A handshake message claiming more than [`MAX_HANDSHAKE_LEN`].
    HandshakeTooLong,
}

impl TlsError {
    /// Short reason, for counters and logs.
    pub fn reason(self) -> &'static str {
        match self {
            TlsError::BadRecord => "bad_record",
            TlsError::RecordTooLong => "record_too_long",
            TlsError::HandshakeTooLong => "handshake_too_long",
        }
    }
}

/// Outcome of feeding bytes (style rule 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsStatus {
    /// All bytes consumed at a record boundary.
    Done,
    /// Inside a record; at least `wanted` more bytes finish it.
    NeedMore {
        /// Bytes missing to the end of the current record (or header).
        wanted: usize,
    },
    /// This direction is no longer parsed.
    Error(TlsError),
}

crate::app_counters! {
    /// TLS counters (plain integers; the integrator publishes them).
    pub struct TlsStats {
        /// Records seen.
        records,
        /// Handshake messages decoded.
        handshake_messages,
        /// Handshake messages tls-parser rejected (skipped).
        handshake_malformed,
        /// Handshake messages of a type Suricata does not know (skipped).
        handshake_unsupported,
        /// Certificates x509-parser rejected (the first one's fields stay empty).
        cert_invalid,
        /// Certificates beyond [`MAX_CERTS`] not kept.
        certs_dropped,
        /// JA3 values beyond [`MAX_JA3_VALUES`] per list not kept.
        ja3_values_dropped,
        /// Directions abandoned: a record header that is not SSL/TLS.
        bad_record,
        /// Directions abandoned: a record longer than [`MAX_RECORD_LEN`].
        record_too_long,
        /// Directions abandoned: a handshake message longer than [`MAX_HANDSHAKE_LEN`].
        handshake_too_long,
        /// Bytes ignored in abandoned directions.
        bytes_ignored,
        /// Flows that reached their encrypted phase (payload no longer inspected).
        encrypted,
    }
}

#[derive(Debug, Default)]
enum Rec {
    /// Collecting a record header.
    #[default]
    Header,
    /// Inside a record body.
    Body { typ: u8, remaining: usize },
    /// Inside an SSLv2 record body: keeps its first bytes (message type and version).
    V2Body { remaining: usize },
}

#[derive(Debug, Default)]
struct Conn {
    hdr: [u8; 5],
    hdr_have: usize,
    rec: Rec,
    v2_head: Vec<u8>,
    /// TLS records seen (SSLv2 framing only before the first).
    tls_records: u64,
    /// Handshake bytes not yet forming a whole message.
    hs: Vec<u8>,
    /// After ChangeCipherSpec: handshake records are encrypted.
    encrypted: bool,
    failed: Option<TlsError>,
    /// Suricata's `connp.version`.
    version: u16,
    hello_seen: bool,
}

/// TLS's app-layer events, in Suricata's order (`app-layer-ssl.c`
/// `tls_decoder_event_table`): `app-layer-event:tls.<name>`.
pub const EVENTS: &[&str] = &[
    "invalid_sslv2_header",
    "invalid_tls_header",
    "invalid_record_version",
    "invalid_record_type",
    "invalid_record_length",
    "invalid_handshake_message",
    "heartbeat_message",
    "invalid_heartbeat_message",
    "overflow_heartbeat_message",
    "dataleak_heartbeat_mismatch",
    "handshake_invalid_length",
    "multiple_sni_extensions",
    "invalid_sni_type",
    "invalid_sni_length",
    "too_many_records_in_packet",
    "invalid_alert_message",
    "invalid_certificate",
    "certificate_invalid_length",
    "certificate_invalid_version",
    "certificate_invalid_serial",
    "certificate_invalid_algorithmidentifier",
    "certificate_invalid_x509name",
    "certificate_invalid_date",
    "certificate_invalid_extensions",
    "certificate_invalid_der",
    "certificate_invalid_subject",
    "certificate_invalid_issuer",
    "certificate_invalid_validity",
    "error_message_encountered",
    "invalid_ssl_record",
];

/// Indexes into [`EVENTS`] of the events the parser raises.
mod event {
    pub(super) const INVALID_HANDSHAKE_MESSAGE: u16 = 5;
    pub(super) const INVALID_CERTIFICATE: u16 = 16;
    pub(super) const CERTIFICATE_INVALID_LENGTH: u16 = 17;
    pub(super) const CERTIFICATE_INVALID_VERSION: u16 = 18;
    pub(super) const CERTIFICATE_INVALID_SERIAL: u16 = 19;
    pub(super) const CERTIFICATE_INVALID_ALGORITHMIDENTIFIER: u16 = 20;
    pub(super) const CERTIFICATE_INVALID_X509NAME: u16 = 21;
    pub(super) const CERTIFICATE_INVALID_DATE: u16 = 22;
    pub(super) const CERTIFICATE_INVALID_EXTENSIONS: u16 = 23;
    pub(super) const CERTIFICATE_INVALID_DER: u16 = 24;

    /// The event a certificate x509-parser rejected raises (Suricata's
    /// `TlsDecodeHSCertificateErrSetEvent`).
    pub(super) fn of_cert(e: super::cert::CertError) -> u16 {
        use super::cert::CertError as E;
        match e {
            E::Invalid => INVALID_CERTIFICATE,
            E::Length => CERTIFICATE_INVALID_LENGTH,
            E::Version => CERTIFICATE_INVALID_VERSION,
            E::Serial => CERTIFICATE_INVALID_SERIAL,
            E::AlgorithmIdentifier => CERTIFICATE_INVALID_ALGORITHMIDENTIFIER,
            E::X509Name => CERTIFICATE_INVALID_X509NAME,
            E::Date => CERTIFICATE_INVALID_DATE,
            E::Extensions => CERTIFICATE_INVALID_EXTENSIONS,
            E::Der => CERTIFICATE_INVALID_DER,
        }
    }
}

/// Handshake message types Suricata's parser knows (`SupportedHandshakeType`): any other
/// raises `tls.invalid_handshake_message` and is skipped unbuffered.
fn supported_handshake_type(t: u8) -> bool {
    matches!(t, 0 | 1 | 2 | 4 | 11..=16 | 20..=22)
}

/// Per-flow TLS state.
#[derive(Debug, Default)]
pub struct TlsState {
    /// Index 0: client to server; 1: server to client. Indexed by `di`, which `parse` derives
    /// from a bool (`usize::from(!to_server)`) and hands down, so it is always 0 or 1.
    conns: [Conn; 2],
    flags: u32,
    sni: Option<Vec<u8>>,
    client_session_id: Option<Vec<u8>>,
    session_resumed: bool,
    ja3: Option<(String, String)>,
    ja3s: Option<(String, String)>,
    client_alpns: Vec<Vec<u8>>,
    server_alpns: Vec<Vec<u8>>,
    /// The 32-byte random of each side's hello (index as `conns`).
    randoms: [Option<[u8; 32]>; 2],
    server_certs: Vec<Vec<u8>>,
    server_cert: Option<CertInfo>,
    client_cert: Option<CertInfo>,
    server_cert_seen: bool,
    client_cert_seen: bool,
    /// Application data after both sides changed cipher spec (the handshake is over).
    app_data: bool,
    /// Counters.
    pub stats: TlsStats,
    /// App-layer events raised on the flow's (one) transaction ([`EVENTS`]).
    pub events: crate::app::plugin::TxEvents,
    /// Events raised since the caller last counted them.
    raised: Vec<u16>,
}

impl TlsState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises app-layer event `e`.
    fn raise(&mut self, e: u16) {
        if self.events.raise(e) && self.raised.len() < 64 {
            self.raised.push(e);
        }
    }

    /// The events raised since the last call (for the caller to count).
    pub fn take_raised(&mut self, f: &mut dyn FnMut(u16)) {
        self.raised.drain(..).for_each(f);
    }

    /// `tls.sni`: the ClientHello's server_name (host_name entry).
    pub fn sni(&self) -> Option<&[u8]> {
        self.sni.as_deref()
    }

    /// The server's first certificate, decoded.
    pub fn cert(&self) -> Option<&CertInfo> {
        self.server_cert.as_ref()
    }

    /// The client's first certificate, decoded (EVE `client`).
    pub fn client_cert(&self) -> Option<&CertInfo> {
        self.client_cert.as_ref()
    }

    /// `tls.cert_subject`.
    pub fn cert_subject(&self) -> Option<&str> {
        self.server_cert.as_ref().map(|c| c.subject.as_str())
    }

    /// `tls.cert_issuer`.
    pub fn cert_issuer(&self) -> Option<&str> {
        self.server_cert.as_ref().map(|c| c.issuer.as_str())
    }

    /// `tls.cert_serial`.
    pub fn cert_serial(&self) -> Option<&str> {
        self.server_cert.as_ref().map(|c| c.serial.as_str())
    }

    /// `tls.cert_fingerprint` (and the legacy `tls.fingerprint`, which compares lower-cased).
    pub fn cert_fingerprint(&self) -> Option<&str> {
        self.server_cert.as_ref().map(|c| c.fingerprint.as_str())
    }

    /// `tls.certs`: the server's chain, DER, in order (at most [`MAX_CERTS`]).
    pub fn server_certs(&self) -> &[Vec<u8>] {
        &self.server_certs
    }

    /// `ja3.string`.
    pub fn ja3_string(&self) -> Option<&str> {
        self.ja3.as_ref().map(|(s, _)| s.as_str())
    }

    /// `ja3.hash`: MD5 of the JA3 string, lower-case hex.
    pub fn ja3_hash(&self) -> Option<&str> {
        self.ja3.as_ref().map(|(_, h)| h.as_str())
    }

    /// `ja3s.string`.
    pub fn ja3s_string(&self) -> Option<&str> {
        self.ja3s.as_ref().map(|(s, _)| s.as_str())
    }

    /// `ja3s.hash`.
    pub fn ja3s_hash(&self) -> Option<&str> {
        self.ja3s.as_ref().map(|(_, h)| h.as_str())
    }

    /// `tls.alpn` values of the ClientHello.
    pub fn client_alpns(&self) -> &[Vec<u8>] {
        &self.client_alpns
    }

    /// `tls.alpn` value(s) of the ServerHello.
    pub fn server_alpns(&self) -> &[Vec<u8>] {
        &self.server_alpns
    }

    /// `tls.random`: the 32-byte random of the client's (`to_server`) or the server's hello.
    pub fn random(&self, to_server: bool) -> Option<&[u8; 32]> {
        // In bounds: the index is 0 or 1.
        self.randoms[usize::from(!to_server)].as_ref()
    }

    /// Suricata's `connp.version` of one direction: the hello's version (TLS 1.3 from
    /// `supported_versions`) once a hello was seen, else the last record header's. The
    /// `ssl_version` keyword reads the direction of the packet (see [`SslVersion::of`]);
    /// `tls.version` and EVE read the server's ([`TlsState::version`]).
    pub fn dir_version(&self, to_server: bool) -> u16 {
        self.conns[usize::from(!to_server)].version
    }

    /// The negotiated version as `tls.version` and EVE `version` see it (the server side).
    pub fn version(&self) -> u16 {
        self.conns[1].version
    }

    /// `ssl_state` flags seen so far ([`ssl_state`]).
    pub fn ssl_state(&self) -> u32 {
        self.flags
    }

    /// Application data flows after both sides changed cipher spec: what follows is
    /// encrypted, and Suricata stops inspecting the flow's payload (its default
    /// `encryption-handling`).
    pub fn encrypted(&self) -> bool {
        self.app_data
    }

    /// Suricata's handshake-done state, when the TLS logger writes its record: the server's
    /// certificate was read (subject and issuer), or both sides went encrypted.
    pub fn handshake_done(&self) -> bool {
        self.server_cert.is_some() || self.app_data || (self.conns[0].encrypted && self.conns[1].encrypted)
    }

    /// The server resumed the client's session (same session id).
    pub fn session_resumed(&self) -> bool {
        self.session_resumed
    }

    /// Feeds in-order bytes of one direction.
    pub fn parse(&mut self, to_server: bool, data: &[u8]) -> TlsStatus {
        let di = usize::from(!to_server);
        // In bounds: di is 0 or 1 (see `conns`).
        if let Some(e) = self.conns[di].failed {
            self.stats.bytes_ignored += data.len() as u64;
            return TlsStatus::Error(e);
        }
        let mut input = data;
        while !input.is_empty() {
            let c = &mut self.conns[di];
            match c.rec {
                Rec::Header => {
                    // SSLv2 framing (2-byte header, high bit set) only before any TLS record.
                    // In bounds: input is not empty (loop condition).
                    let first = if c.hdr_have > 0 { c.hdr[0] } else { input[0] };
                    let v2 = first & 0x80 != 0 && c.tls_records == 0;
                    let need = if v2 { 2 } else { 5 };
                    let take = (need - c.hdr_have).min(input.len());
                    // In bounds: hdr_have < need <= 5 = hdr.len() and take <= need - hdr_have,
                    // input.len() (min). hdr_have is left non-zero only by the NeedMore return
                    // below; the next call sees the same first byte and tls_records, so the same
                    // need.
                    c.hdr[c.hdr_have..c.hdr_have + take].copy_from_slice(&input[..take]);
                    c.hdr_have += take;
                    // In bounds: take <= input.len() (min).
                    input = &input[take..];
                    if c.hdr_have < need {
                        return TlsStatus::NeedMore { wanted: need - c.hdr_have };
                    }
                    c.hdr_have = 0;
                    self.stats.records += 1;
                    if v2 {
                        let len = usize::from(c.hdr[0] & 0x7f) << 8 | usize::from(c.hdr[1]);
                        c.v2_head.clear();
                        c.rec = Rec::V2Body { remaining: len };
                        if len == 0 {
                            c.rec = Rec::Header;
                        }
                        continue;
                    }
                    let typ = c.hdr[0];
                    let ver = u16::from_be_bytes([c.hdr[1], c.hdr[2]]);
                    let len = usize::from(u16::from_be_bytes([c.hdr[3], c.hdr[4]]));
                    if !(20..=24).contains(&typ) || c.hdr[1] != 3 {
                        return self.fail(di, TlsError::BadRecord, input.len());
                    }
                    if len > MAX_RECORD_LEN {
                        return self.fail(di, TlsError::RecordTooLong, input.len());
                    }
                    // In bounds: di is 0 or 1 (see `conns`).
                    let c = &mut self.conns[di];
                    c.tls_records += 1;
                    if !c.hello_seen {
                        c.version = ver;
                    }
                    c.rec = Rec::Body { typ, remaining: len };
                    if len == 0 {
                        c.rec = Rec::Header;
                    }
                }
                Rec::V2Body { remaining } => {
                    let take = remaining.min(input.len());
                    if c.v2_head.len() < 6 {
                        let h = (6 - c.v2_head.len()).min(take);
                        // In bounds: h <= take <= input.len() (min).
                        c.v2_head.extend_from_slice(&input[..h]);
                    }
                    input = &input[take..];
                    let left = remaining - take;
                    c.rec = if left == 0 { Rec::Header } else { Rec::V2Body { remaining: left } };
                    if left == 0 {
                        self.sslv2_message(di);
                    }
                }
                Rec::Body { typ, remaining } => {
                    let take = remaining.min(input.len());
                    // In bounds: take <= input.len() (min).
                    let chunk = &input[..take];
                    input = &input[take..];
                    let left = remaining - take;
                    c.rec = if left == 0 { Rec::Header } else { Rec::Body { typ, remaining: left } };
                    match typ {
                        22 if !c.encrypted => {
                            if let Err(e) = self.handshake_bytes(di, chunk) {
                                return self.fail(di, e, input.len());
                            }
                        }
                        // In bounds: di is 0 or 1 (see `conns`).
                        20 if left == 0 => self.conns[di].encrypted = true,
                        23 if self.conns[0].encrypted && self.conns[1].encrypted => self.app_data = true,
                        _ => {}
                    }
                }
            }
        }
        match self.conns[usize::from(!to_server)].rec {
            Rec::Header if self.conns[usize::from(!to_server)].hdr_have == 0 => TlsStatus::Done,
            Rec::Header => TlsStatus::NeedMore { wanted: 5 - self.conns[usize::from(!to_server)].hdr_have },
            Rec::Body { remaining, .. } | Rec::V2Body { remaining } => TlsStatus::NeedMore { wanted: remaining },
        }
    }

    fn fail(&mut self, di: usize, e: TlsError, rest: usize) -> TlsStatus {
        match e {
            TlsError::BadRecord => self.stats.bad_record += 1,
            TlsError::RecordTooLong => self.stats.record_too_long += 1,
            TlsError::HandshakeTooLong => self.stats.handshake_too_long += 1,
        }
        self.stats.bytes_ignored += rest as u64;
        // In bounds: di is 0 or 1 (see `conns`).
        let c = &mut self.conns[di];
        c.failed = Some(e);
        c.hs = Vec::new();
        c.v2_head = Vec::new();
        TlsStatus::Error(e)
    }

    /// An SSLv2 record finished: client hello (type 1, version at 1..3) or server hello
    /// (type 4, version at 3..5).
    fn sslv2_message(&mut self, di: usize) {
        // In bounds: di is 0 or 1 (see `conns`).
        let c = &mut self.conns[di];
        let h = std::mem::take(&mut c.v2_head);
        match h.first() {
            Some(1) if di == 0 => {
                self.flags |= ssl_state::CLIENT_HELLO;
                if let Some(v) = h.get(1..3) {
                    // In bounds: v is the 2 bytes get(1..3) returned.
                    c.version = u16::from_be_bytes([v[0], v[1]]);
                }
            }
            Some(4) if di == 1 => {
                self.flags |= ssl_state::SERVER_HELLO;
                c.version = SSL_VERSION_2;
            }
            _ => {}
        }
    }

    fn handshake_bytes(&mut self, di: usize, chunk: &[u8]) -> Result<(), TlsError> {
        // In bounds: di is 0 or 1 (see `conns`).
        let mut hs = std::mem::take(&mut self.conns[di].hs);
        hs.extend_from_slice(chunk);
        let mut pos = 0;
        let res = loop {
            let Some(h) = hs.get(pos..pos + 4) else { break Ok(()) };
            // In bounds: h is the 4 bytes get(pos..pos + 4) returned.
            let len = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
            if !supported_handshake_type(h[0]) {
                // skipped with what of it has arrived; the bytes after are read as the next
                // message, as Suricata does
                if !matches!(h[0], 3 | 8 | 23 | 24) {
                    self.flags |= ssl_state::UNKNOWN;
                }
                self.stats.handshake_unsupported += 1;
                self.raise(event::INVALID_HANDSHAKE_MESSAGE);
                pos += 4 + len.min(hs.len() - pos - 4);
                continue;
            }
            if len > MAX_HANDSHAKE_LEN {
                break Err(TlsError::HandshakeTooLong);
            }
            let Some(msg) = hs.get(pos..pos + 4 + len) else { break Ok(()) };
            pos += 4 + len;
            // In bounds: di is 0 or 1 (see `conns`).
            if self.conns[di].encrypted {
                continue;
            }
            self.handshake_message(di, msg);
        };
        if res.is_ok() {
            hs.drain(..pos);
            // In bounds: di is 0 or 1 (see `conns`).
            self.conns[di].hs = hs;
        }
        res
    }

    fn handshake_message(&mut self, di: usize, raw: &[u8]) {
        let typ = raw.first().copied().unwrap_or(0);
        match typ {
            16 => self.flags |= ssl_state::CLIENT_KEYX,
            12 => self.flags |= ssl_state::SERVER_KEYX,
            // the other types Suricata does not know were skipped (`handshake_bytes`)
            _ => {}
        }
        let msg = match parse_tls_message_handshake(raw) {
            Ok((_, TlsMessage::Handshake(m))) => m,
            _ => {
                self.stats.handshake_malformed += 1;
                match typ {
                    // Suricata decodes the hellos: one that does not decode fails the record
                    1 | 2 => self.raise(event::INVALID_HANDSHAKE_MESSAGE),
                    11 if cert_lengths_bad(raw) => self.raise(event::INVALID_CERTIFICATE),
                    _ => {}
                }
                return;
            }
        };
        self.stats.handshake_messages += 1;
        match msg {
            TlsMessageHandshake::ClientHello(ch) if di == 0 => {
                self.flags |= ssl_state::CLIENT_HELLO;
                let legacy = ch.version.0;
                let ciphers: Vec<u16> = ch.ciphers.iter().map(|c| c.0).collect();
                if let Some(sid) = ch.session_id {
                    if !sid.is_empty() {
                        self.client_session_id = Some(sid.to_vec());
                    }
                }
                let ext = Extensions::parse(ch.ext.unwrap_or(&[]), true);
                let mut v = hello_version(legacy);
                if let Some(sv) = ext.supported_versions.iter().find(|&&x| version_valid(x)) {
                    v = *sv;
                }
                let c = &mut self.conns[0];
                c.version = v;
                c.hello_seen = true;
                self.randoms[0] = ch.random.try_into().ok();
                if self.sni.is_none() {
                    self.sni = ext.sni.clone();
                }
                self.client_alpns = ext.alpns.clone();
                if self.ja3.is_none() {
                    let s = ja3_string(
                        legacy,
                        &ciphers,
                        &ext.types,
                        &ext.groups,
                        &ext.point_formats,
                        &mut self.stats.ja3_values_dropped,
                    );
                    let h = md5_hex(&s);
                    self.ja3 = Some((s, h));
                }
            }
            TlsMessageHandshake::ServerHello(sh) if di == 1 => {
                self.randoms[1] = sh.random.try_into().ok();
                self.server_hello(sh.version.0, sh.cipher.0, sh.session_id, sh.ext);
            }
            TlsMessageHandshake::ServerHelloV13Draft18(sh) if di == 1 => {
                self.randoms[1] = sh.random.try_into().ok();
                self.server_hello(sh.version.0, sh.cipher.0, None, sh.ext);
            }
            TlsMessageHandshake::Certificate(cc) => {
                let server = di == 1;
                let seen = if server { self.server_cert_seen } else { self.client_cert_seen };
                if seen {
                    return;
                }
                if server {
                    self.server_cert_seen = true;
                } else {
                    self.client_cert_seen = true;
                }
                let first = match cc.cert_chain.first().map(|c| cert_decode(c.data)) {
                    Some(Ok(i)) => Some(i),
                    Some(Err(e)) => {
                        self.stats.cert_invalid += 1;
                        self.raise(event::of_cert(e));
                        None
                    }
                    None => None,
                };
                if server {
                    self.server_cert = first;
                    for c in &cc.cert_chain {
                        if self.server_certs.len() < MAX_CERTS {
                            self.server_certs.push(c.data.to_vec());
                        } else {
                            self.stats.certs_dropped += 1;
                        }
                    }
                } else {
                    self.client_cert = first;
                }
            }
            _ => {}
        }
    }

    fn server_hello(&mut self, legacy: u16, cipher: u16, sid: Option<&[u8]>, ext: Option<&[u8]>) {
        self.flags |= ssl_state::SERVER_HELLO;
        let ext = Extensions::parse(ext.unwrap_or(&[]), false);
        let mut v = hello_version(legacy);
        let mut tls13 = legacy == TLS_VERSION_13 || legacy >> 8 == 0x7f;
        if let Some(&sv) = ext.supported_versions.first() {
            if version_valid(sv) {
                v = if (0x7f01..0x7f10).contains(&sv) { TLS_VERSION_13_PRE_DRAFT16 } else { sv };
                tls13 = true;
            }
        }
        if let (Some(s), Some(c)) = (sid, self.client_session_id.as_deref()) {
            if !s.is_empty() && s == c {
                self.session_resumed = true;
            }
        }
        self.server_alpns = ext.alpns.clone();
        let c = &mut self.conns[1];
        c.version = v;
        c.hello_seen = true;
        if tls13 {
            // Everything after the TLS 1.3 ServerHello is encrypted.
            c.encrypted = true;
        }
        if self.ja3s.is_none() {
            let mut s = format!("{legacy},{cipher},");
            push_list(&mut s, &ext.types, &mut self.stats.ja3_values_dropped);
            let h = md5_hex(&s);
            self.ja3s = Some((s, h));
        }
    }
}

/// A Certificate message tls-parser rejected whose chain length fits the message but whose
/// certificates' lengths do not fit the chain: Suricata's "invalid certificate".
fn cert_lengths_bad(raw: &[u8]) -> bool {
    let n3 = |b: &[u8]| usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
    // In bounds: n3 is given the 3 bytes get() returned.
    let Some(chain_len) = raw.get(4..7).map(n3) else { return false };
    let Some(chain) = raw.get(7..7 + chain_len) else { return false };
    let mut pos = 0;
    while pos < chain.len() {
        // In bounds: n3 is given the 3 bytes get() returned.
        let Some(l) = chain.get(pos..pos + 3).map(n3) else { return true };
        if chain.len() - pos - 3 < l {
            return true;
        }
        pos += 3 + l;
    }
    false
}

/// Suricata's hello-version mapping: 0x0304 and 0x7f01..0x7f0f in the legacy field are
/// pre-draft-16 TLS 1.3.
fn hello_version(v: u16) -> u16 {
    if v == TLS_VERSION_13 || (0x7f01..0x7f10).contains(&v) {
        TLS_VERSION_13_PRE_DRAFT16
    } else {
        v
    }
}
