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

use std::fmt::Write as _;

use md5::{Digest as _, Md5};
use sha1::Sha1;
use tls_parser::{parse_tls_message_handshake, TlsMessage, TlsMessageHandshake};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::output::eve::Json;

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

/// Fields of a certificate, formatted as Suricata formats them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// `tls.cert_subject` / EVE `subject`.
    pub subject: String,
    /// `tls.cert_issuer` / EVE `issuerdn`.
    pub issuer: String,
    /// `tls.cert_serial` / EVE `serial`: `00:E1:...` (upper-case hex of the raw DER bytes).
    pub serial: String,
    /// `tls.cert_fingerprint` / EVE `fingerprint`: SHA-1 of the DER, `aa:bb:...`.
    pub fingerprint: String,
    /// notBefore, seconds since the epoch (`tls_cert_notbefore`).
    pub not_before: i64,
    /// notAfter (`tls_cert_notafter`).
    pub not_after: i64,
    /// EVE `notbefore`: `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub not_before_str: String,
    /// EVE `notafter`.
    pub not_after_str: String,
}

/// Decodes a DER certificate; `None` for anything x509-parser rejects.
pub fn cert_info(der: &[u8]) -> Option<CertInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let tbs = &cert.tbs_certificate;
    let serial = colon_hex(tbs.raw_serial(), true);
    let fingerprint = colon_hex(&Sha1::digest(der), false);
    let v = cert.validity();
    let fmt = |t: &x509_parser::time::ASN1Time| {
        let d = t.to_datetime();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )
    };
    Some(CertInfo {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial,
        fingerprint,
        not_before: v.not_before.timestamp(),
        not_after: v.not_after.timestamp(),
        not_before_str: fmt(&v.not_before),
        not_after_str: fmt(&v.not_after),
    })
}

fn colon_hex(b: &[u8], upper: bool) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        if upper {
            let _ = write!(s, "{x:02X}");
        } else {
            let _ = write!(s, "{x:02x}");
        }
    }
    s
}

fn md5_hex(s: &str) -> String {
    let d = Md5::digest(s.as_bytes());
    let mut h = String::with_capacity(32);
    for x in d {
        let _ = write!(h, "{x:02x}");
    }
    h
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

/// TLS counters (plain integers; the integrator publishes them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsStats {
    /// Records seen.
    pub records: u64,
    /// Handshake messages decoded.
    pub handshake_messages: u64,
    /// Handshake messages tls-parser rejected (skipped).
    pub handshake_malformed: u64,
    /// Certificates x509-parser rejected (the first one's fields stay empty).
    pub cert_invalid: u64,
    /// Certificates beyond [`MAX_CERTS`] not kept.
    pub certs_dropped: u64,
    /// JA3 values beyond [`MAX_JA3_VALUES`] per list not kept.
    pub ja3_values_dropped: u64,
    /// Directions abandoned: a record header that is not SSL/TLS.
    pub bad_record: u64,
    /// Directions abandoned: a record longer than [`MAX_RECORD_LEN`].
    pub record_too_long: u64,
    /// Directions abandoned: a handshake message longer than [`MAX_HANDSHAKE_LEN`].
    pub handshake_too_long: u64,
    /// Bytes ignored in abandoned directions.
    pub bytes_ignored: u64,
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
    server_certs: Vec<Vec<u8>>,
    server_cert: Option<CertInfo>,
    client_cert: Option<CertInfo>,
    server_cert_seen: bool,
    client_cert_seen: bool,
    /// Application data after both sides changed cipher spec (the handshake is over).
    app_data: bool,
    /// Counters.
    pub stats: TlsStats,
}

impl TlsState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
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
            0..=4 | 8 | 11 | 13..=15 | 20..=24 => {}
            _ => self.flags |= ssl_state::UNKNOWN,
        }
        let msg = match parse_tls_message_handshake(raw) {
            Ok((_, TlsMessage::Handshake(m))) => m,
            _ => {
                self.stats.handshake_malformed += 1;
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
                self.server_hello(sh.version.0, sh.cipher.0, sh.session_id, sh.ext);
            }
            TlsMessageHandshake::ServerHelloV13Draft18(sh) if di == 1 => {
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
                let first = cc.cert_chain.first().and_then(|c| {
                    let i = cert_info(c.data);
                    if i.is_none() {
                        self.stats.cert_invalid += 1;
                    }
                    i
                });
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

    /// Writes the alert's `"tls"` object (Suricata's `JsonTlsLogJSONExtended` fields and
    /// order: subject, issuerdn, session_resumed, serial, fingerprint, sni, version,
    /// notbefore, notafter, ja3, ja3s, client/server ALPNs). `with_ja3`: Suricata logs JA3
    /// only when JA3 is enabled (`app-layer.protocols.tls.ja3-fingerprints`).
    pub fn write_eve(&self, j: &mut Json<'_>, with_ja3: bool) {
        let mut o = j.begin("tls");
        if let Some(c) = &self.server_cert {
            o.str("subject", &c.subject);
            o.str("issuerdn", &c.issuer);
        }
        if self.session_resumed {
            o.bool("session_resumed", true);
        }
        if let Some(c) = &self.server_cert {
            o.str("serial", &c.serial);
            o.str("fingerprint", &c.fingerprint);
        }
        if let Some(s) = &self.sni {
            o.bytes("sni", s);
        }
        o.str("version", &version_string(self.version()));
        if let Some(c) = &self.server_cert {
            o.str("notbefore", &c.not_before_str);
            o.str("notafter", &c.not_after_str);
        }
        if with_ja3 {
            for (k, v) in [("ja3", &self.ja3), ("ja3s", &self.ja3s)] {
                if let Some((s, h)) = v {
                    let mut x = o.begin(k);
                    x.str("hash", h);
                    x.str("string", s);
                    x.end();
                }
            }
        }
        for (k, v) in [("client_alpns", &self.client_alpns), ("server_alpns", &self.server_alpns)] {
            if !v.is_empty() {
                let mut arr = Vec::new();
                arr.push(b'[');
                for (i, a) in v.iter().enumerate() {
                    if i > 0 {
                        arr.push(b',');
                    }
                    crate::output::eve::escape_into(&mut arr, a);
                }
                arr.push(b']');
                o.raw(k, &arr);
            }
        }
        o.end();
    }
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

fn push_list(s: &mut String, v: &[u16], dropped: &mut u64) {
    let mut n = 0;
    for &x in v.iter().filter(|&&x| !is_grease(x)) {
        if n == MAX_JA3_VALUES {
            *dropped += 1;
            continue;
        }
        if n > 0 {
            s.push('-');
        }
        let _ = write!(s, "{x}");
        n += 1;
    }
}

/// JA3: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, each list
/// dash-separated decimal with GREASE values removed.
pub fn ja3_string(
    version: u16,
    ciphers: &[u16],
    exts: &[u16],
    groups: &[u16],
    point_formats: &[u8],
    dropped: &mut u64,
) -> String {
    let mut s = format!("{version},");
    push_list(&mut s, ciphers, dropped);
    s.push(',');
    push_list(&mut s, exts, dropped);
    s.push(',');
    push_list(&mut s, groups, dropped);
    s.push(',');
    let pf: Vec<u16> = point_formats.iter().map(|&x| u16::from(x)).collect();
    push_list(&mut s, &pf, dropped);
    s
}

/// The hello extensions JA3 and the keywords need, decoded by hand so that one odd
/// extension does not hide the others.
#[derive(Debug, Default)]
struct Extensions {
    types: Vec<u16>,
    sni: Option<Vec<u8>>,
    groups: Vec<u16>,
    point_formats: Vec<u8>,
    supported_versions: Vec<u16>,
    alpns: Vec<Vec<u8>>,
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

impl Extensions {
    fn parse(mut b: &[u8], client: bool) -> Extensions {
        let mut e = Extensions::default();
        while let (Some(t), Some(l)) = (be16(b, 0), be16(b, 2)) {
            let Some(data) = b.get(4..4 + usize::from(l)) else { break };
            // In bounds: get(4..4 + l) returned Some just above.
            b = &b[4 + usize::from(l)..];
            if e.types.len() < 4 * MAX_JA3_VALUES {
                e.types.push(t);
            }
            match t {
                0 if client && e.sni.is_none() => {
                    // server_name_list: len, then (type, len, name)...; the first host_name.
                    let mut p = 2;
                    while let (Some(&nt), Some(nl)) = (data.get(p), be16(data, p + 1)) {
                        let Some(name) = data.get(p + 3..p + 3 + usize::from(nl)) else { break };
                        if nt == 0 {
                            e.sni = Some(name.to_vec());
                            break;
                        }
                        p += 3 + usize::from(nl);
                    }
                }
                10 => {
                    let n = usize::from(be16(data, 0).unwrap_or(0));
                    let list = data.get(2..2 + n).unwrap_or(&[]);
                    // In bounds: chunks_exact(2) yields 2-byte chunks.
                    e.groups = list.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                }
                11 => {
                    let n = usize::from(data.first().copied().unwrap_or(0));
                    e.point_formats = data.get(1..1 + n).unwrap_or(&[]).to_vec();
                }
                16 => {
                    let n = usize::from(be16(data, 0).unwrap_or(0));
                    let mut list = data.get(2..2 + n).unwrap_or(&[]);
                    while let Some((&l, rest)) = list.split_first() {
                        let Some(p) = rest.get(..usize::from(l)) else { break };
                        e.alpns.push(p.to_vec());
                        // In bounds: rest.get(..l) returned Some just above.
                        list = &rest[usize::from(l)..];
                    }
                }
                43 => {
                    if client {
                        let n = usize::from(data.first().copied().unwrap_or(0));
                        let list = data.get(1..1 + n).unwrap_or(&[]);
                        // In bounds: chunks_exact(2) yields 2-byte chunks.
                        e.supported_versions = list.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                    } else if let Some(v) = be16(data, 0) {
                        e.supported_versions = vec![v];
                    }
                }
                _ => {}
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16b(v: u16) -> [u8; 2] {
        v.to_be_bytes()
    }

    fn u24b(v: usize) -> [u8; 3] {
        [(v >> 16) as u8, (v >> 8) as u8, v as u8]
    }

    fn ext(t: u16, data: &[u8]) -> Vec<u8> {
        let mut v = u16b(t).to_vec();
        v.extend_from_slice(&u16b(data.len() as u16));
        v.extend_from_slice(data);
        v
    }

    fn sni_ext(host: &str) -> Vec<u8> {
        let mut d = u16b(host.len() as u16 + 3).to_vec();
        d.push(0);
        d.extend_from_slice(&u16b(host.len() as u16));
        d.extend_from_slice(host.as_bytes());
        ext(0, &d)
    }

    fn handshake(t: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t];
        v.extend_from_slice(&u24b(body.len()));
        v.extend_from_slice(body);
        v
    }

    fn record(t: u8, ver: u16, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t];
        v.extend_from_slice(&u16b(ver));
        v.extend_from_slice(&u16b(body.len() as u16));
        v.extend_from_slice(body);
        v
    }

    fn client_hello(exts: &[u8]) -> Vec<u8> {
        let mut b = u16b(0x0303).to_vec();
        b.extend_from_slice(&[7; 32]);
        b.push(0); // no session id
        let ciphers = [0x0a0a, 0xc02b, 0xc02f, 0x009c];
        b.extend_from_slice(&u16b(8));
        for c in ciphers {
            b.extend_from_slice(&u16b(c));
        }
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&u16b(exts.len() as u16));
        b.extend_from_slice(exts);
        handshake(1, &b)
    }

    fn ch_exts() -> Vec<u8> {
        let mut e = ext(0x1a1a, &[]);
        e.extend(sni_ext("www.example.com"));
        e.extend(ext(23, &[]));
        e.extend(ext(10, &[0, 6, 0x2a, 0x2a, 0, 29, 0, 23]));
        e.extend(ext(11, &[1, 0]));
        e.extend(ext(16, &[0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1']));
        e
    }

    fn server_hello(version: u16, exts: &[u8]) -> Vec<u8> {
        let mut b = u16b(version).to_vec();
        b.extend_from_slice(&[9; 32]);
        b.push(0);
        b.extend_from_slice(&u16b(0xc02f));
        b.push(0);
        b.extend_from_slice(&u16b(exts.len() as u16));
        b.extend_from_slice(exts);
        handshake(2, &b)
    }

    /// A real self-signed certificate (subject and issuer
    /// `C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS` as in the tls-subject test), extracted
    /// from the conformance capture when it is there.
    fn conformance_cert() -> Option<Vec<u8>> {
        let certs = server_certs_from_pcap(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/conformance/suites/sv-dev/tls/tls-subject/tls.pcap"
        ))?;
        certs.into_iter().next()
    }

    /// Runs a capture's TCP payloads through [`TlsState`] (both directions, in capture
    /// order; the captures are small and in order) and returns the server chain.
    fn server_certs_from_pcap(path: &str) -> Option<Vec<Vec<u8>>> {
        let st = run_pcap(path)?;
        Some(st.server_certs().to_vec())
    }

    fn run_pcap(path: &str) -> Option<TlsState> {
        use crate::capture::pcap::PcapFileSource;
        use crate::capture::PacketSource;
        use crate::decode::{Decoded, Decoder};
        use crate::metrics::Counters;
        if !std::path::Path::new(path).exists() {
            return None;
        }
        let mut src = PcapFileSource::new(vec![path.into()]);
        let mut frames = Vec::new();
        while src.next_batch(&mut |f| frames.push((f.linktype, f.data.to_vec()))) {}
        let dec = Decoder::default();
        let mut client: Option<(u16, u16)> = None;
        // Per direction: (seq, payload), deduplicated and put in sequence order (the
        // captures are single short connections, some with segments out of order).
        let mut dirs: [Vec<(u32, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
        for (lt, frame) in frames {
            let mut d = Decoded::default();
            let mut c = Counters::new();
            dec.decode(lt, &frame, &mut d, &mut c);
            let p = d.payload(&frame);
            if d.proto != 6 || p.is_empty() {
                continue;
            }
            let cl = *client.get_or_insert((d.sp, d.dp));
            let di = usize::from((d.sp, d.dp) != cl);
            if !dirs[di].iter().any(|(s, _)| *s == d.tcp_seq) {
                dirs[di].push((d.tcp_seq, p.to_vec()));
            }
        }
        let mut st = TlsState::new();
        for (di, segs) in dirs.iter_mut().enumerate() {
            let base = segs.iter().map(|(s, _)| *s).min().unwrap_or(0);
            segs.sort_by_key(|(s, _)| s.wrapping_sub(base));
            for (_, p) in segs.iter() {
                st.parse(di == 0, p);
            }
        }
        Some(st)
    }

    #[test]
    fn grease() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && is_grease(0x3a3a));
        assert!(!is_grease(0x0a1a) && !is_grease(0x0017));
    }

    #[test]
    fn client_hello_sni_ja3_alpn() {
        let mut st = TlsState::new();
        let rec = record(22, 0x0301, &client_hello(&ch_exts()));
        assert_eq!(st.parse(true, &rec), TlsStatus::Done);
        assert_eq!(st.sni(), Some(&b"www.example.com"[..]));
        let s = "771,49195-49199-156,0-23-10-11-16,29-23,0";
        assert_eq!(st.ja3_string(), Some(s));
        assert_eq!(st.ja3_hash().map(str::len), Some(32));
        assert_eq!(st.ja3_hash(), Some(md5_hex(s).as_str()));
        assert_eq!(st.client_alpns(), &[b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(st.dir_version(true), 0x0303);
        assert_eq!(st.ssl_state() & ssl_state::CLIENT_HELLO, ssl_state::CLIENT_HELLO);
    }

    #[test]
    fn md5_known_answer() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn every_split_of_a_handshake_flight_gives_the_same_state() {
        // Two records: the ClientHello split across them, then a CCS and app data.
        let ch = client_hello(&ch_exts());
        let (a, b) = ch.split_at(20);
        let mut stream = record(22, 0x0301, a);
        stream.extend(record(22, 0x0301, b));
        stream.extend(record(20, 0x0303, &[1]));
        stream.extend(record(23, 0x0303, &[0xaa; 100]));
        for split in 0..=stream.len() {
            let mut st = TlsState::new();
            let (x, y) = stream.split_at(split);
            st.parse(true, x);
            assert_eq!(st.parse(true, y), TlsStatus::Done, "split {split}");
            assert_eq!(st.sni(), Some(&b"www.example.com"[..]), "split {split}");
            assert_eq!(st.ja3_string(), Some("771,49195-49199-156,0-23-10-11-16,29-23,0"));
        }
        let mut st = TlsState::new();
        for b in &stream {
            st.parse(true, std::slice::from_ref(b));
        }
        assert_eq!(st.sni(), Some(&b"www.example.com"[..]));
    }

    #[test]
    fn server_hello_tls12_and_ja3s() {
        let mut st = TlsState::new();
        st.parse(true, &record(22, 0x0301, &client_hello(&ch_exts())));
        let sh = server_hello(0x0303, &[ext(0xff01, &[0]), ext(11, &[1, 0])].concat());
        assert_eq!(st.parse(false, &record(22, 0x0303, &sh)), TlsStatus::Done);
        assert_eq!(st.version(), 0x0303);
        assert_eq!(version_string(st.version()), "TLS 1.2");
        assert_eq!(st.ja3s_string(), Some("771,49199,65281-11"));
        assert_eq!(SslVersion::of(st.dir_version(false)), Some(SslVersion::Tls12));
    }

    #[test]
    fn server_hello_tls13_via_supported_versions() {
        let mut st = TlsState::new();
        let mut e = ch_exts();
        e.extend(ext(43, &[4, 0x3a, 0x3a, 0x03, 0x04]));
        st.parse(true, &record(22, 0x0301, &client_hello(&e)));
        assert_eq!(st.dir_version(true), 0x0304);
        let sh = server_hello(0x0303, &ext(43, &[3, 4]));
        st.parse(false, &record(22, 0x0303, &sh));
        // Later records do not change the version, and encrypted handshake is not parsed.
        st.parse(false, &record(20, 0x0303, &[1]));
        st.parse(false, &record(22, 0x0303, &[0x55; 40]));
        assert_eq!(version_string(st.version()), "TLS 1.3");
        assert_eq!(st.stats.handshake_malformed, 0);
        assert_eq!(st.ja3s_string(), Some("771,49199,43"));
    }

    #[test]
    fn record_version_until_hello() {
        let mut st = TlsState::new();
        st.parse(false, &record(21, 0x0301, &[2, 40]));
        assert_eq!(st.dir_version(false), 0x0301);
        assert_eq!(SslVersion::of(st.dir_version(false)), Some(SslVersion::Tls10));
        assert_eq!(version_string(0), "UNDETERMINED");
        assert_eq!(version_string(0x7f1c), "TLS 1.3 draft-28");
        assert_eq!(version_string(0x1234), "0x1234");
    }

    #[test]
    fn sslv2_client_hello() {
        // SSLv2-framed client hello offering TLS 1.0 (as old clients send).
        let body = [1u8, 3, 1, 0, 3, 0, 0, 0, 16, 0, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        let mut rec = vec![0x80, body.len() as u8];
        rec.extend_from_slice(&body);
        let mut st = TlsState::new();
        assert_eq!(st.parse(true, &rec), TlsStatus::Done);
        assert_eq!(st.dir_version(true), 0x0301);
        assert!(st.ssl_state() & ssl_state::CLIENT_HELLO != 0);
    }

    #[test]
    fn lying_lengths_are_bounded() {
        // Record longer than allowed: the direction gives up at once, nothing buffered.
        let mut st = TlsState::new();
        let r = st.parse(true, &[22, 3, 3, 0xff, 0xff, 1, 2, 3]);
        assert_eq!(r, TlsStatus::Error(TlsError::RecordTooLong));
        assert_eq!(st.parse(true, &[0; 100]), TlsStatus::Error(TlsError::RecordTooLong));
        assert_eq!(st.stats.bytes_ignored, 103);
        // A handshake message claiming 2^24 - 1 bytes.
        let mut st = TlsState::new();
        let r = st.parse(true, &record(22, 0x0303, &[1, 0xff, 0xff, 0xff, 3, 3]));
        assert_eq!(r, TlsStatus::Error(TlsError::HandshakeTooLong));
        assert_eq!(st.stats.handshake_too_long, 1);
        // Not TLS at all.
        let mut st = TlsState::new();
        assert_eq!(st.parse(true, b"GET / HTTP/1.1\r\n"), TlsStatus::Error(TlsError::BadRecord));
        // A handshake message up to the cap is buffered across many records, then parsed.
        let mut st = TlsState::new();
        let big = handshake(1, &vec![0u8; 100_000]);
        for c in big.chunks(16_000) {
            st.parse(true, &record(22, 0x0303, c));
        }
        assert_eq!(st.stats.handshake_malformed + st.stats.handshake_messages, 1);
        assert_eq!(st.conns[0].hs.len(), 0);
    }

    #[test]
    fn ten_thousand_extensions() {
        let mut e = Vec::new();
        for i in 0..10_000u16 {
            e.extend(ext(1000 + i, &[]));
        }
        // 40 KB of extensions exceed a u16 length: build the hello by hand with a truncated
        // extensions length, and also a valid 16,000-extension-byte one across records.
        let mut e2 = Vec::new();
        for i in 0..4_000u16 {
            e2.extend(ext(1000 + i, &[]));
        }
        let ch = client_hello(&e2);
        let mut st = TlsState::new();
        for c in ch.chunks(16_000) {
            st.parse(true, &record(22, 0x0303, c));
        }
        let s = st.ja3_string().unwrap_or_default();
        // 4,000 types less one GREASE value (0x0a0a = 1000 + 1570).
        assert_eq!(s.split(',').nth(2).map(|x| x.split('-').count()), Some(3_999));
        // The 10,000 list: the length field wraps, parsing must not panic.
        let mut b = u16b(0x0303).to_vec();
        b.extend_from_slice(&[7; 32]);
        b.extend_from_slice(&[0, 0, 2, 0, 0x2f, 1, 0]);
        b.extend_from_slice(&u16b(e.len() as u16));
        b.extend_from_slice(&e);
        let ch = handshake(1, &b);
        let mut st = TlsState::new();
        for c in ch.chunks(16_000) {
            st.parse(true, &record(22, 0x0303, c));
        }
        assert!(st.stats.records >= 3);
    }

    #[test]
    fn garbage_certificates() {
        let mut st = TlsState::new();
        st.parse(true, &record(22, 0x0301, &client_hello(&ch_exts())));
        st.parse(false, &record(22, 0x0303, &server_hello(0x0303, &[])));
        // Certificate message with one 10-byte garbage certificate.
        let mut body = u24b(13).to_vec();
        body.extend_from_slice(&u24b(10));
        body.extend_from_slice(&[0x30, 0x82, 0xff, 0xff, 1, 2, 3, 4, 5, 6]);
        st.parse(false, &record(22, 0x0303, &handshake(11, &body)));
        assert_eq!(st.stats.cert_invalid, 1);
        assert!(st.cert().is_none());
        assert_eq!(st.server_certs().len(), 1);
        assert!(cert_info(&[]).is_none());
        assert!(cert_info(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
        // A certificate list whose inner length lies.
        let mut body = u24b(5).to_vec();
        body.extend_from_slice(&u24b(1000));
        body.extend_from_slice(&[1, 2]);
        st.parse(false, &record(22, 0x0303, &handshake(11, &body)));
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        st.write_eve(&mut j, true);
        j.end();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["tls"]["version"], "TLS 1.2");
        assert!(v["tls"].get("subject").is_none());
    }

    #[test]
    fn real_certificate_fields() {
        let Some(der) = conformance_cert() else { return };
        let c = cert_info(&der).expect("decodes");
        assert_eq!(c.subject, "C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS");
        assert!(c.serial.chars().all(|x| x == ':' || x.is_ascii_hexdigit() && !x.is_ascii_lowercase()));
        assert_eq!(c.fingerprint.len(), 59);
        assert!(c.fingerprint.chars().all(|x| x == ':' || x.is_ascii_digit() || x.is_ascii_lowercase()));
        assert!(c.not_before < c.not_after);
        assert_eq!(c.not_before_str.len(), 19);
    }

    #[test]
    fn conformance_fingerprint_and_eve_schema() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/conformance/suites/sv-dev/tls/tls-fingerprint-alert/input.pcap"
        );
        let Some(st) = run_pcap(path) else { return };
        assert_eq!(st.cert_fingerprint(), Some("90:86:a4:3b:f5:cf:1b:2e:4e:f7:97:96:f9:de:ba:b9:66:35:86:3f"));
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        st.write_eve(&mut j, true);
        j.end();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let schema: serde_json::Value =
            match std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/eve-schema.json")) {
                Ok(s) => serde_json::from_str(&s).unwrap(),
                Err(_) => return,
            };
        let mut s = schema["properties"]["tls"].clone();
        s["$defs"] = schema["$defs"].clone();
        let validator = jsonschema::validator_for(&s).unwrap();
        assert!(validator.is_valid(&v["tls"]), "{}", v["tls"]);
        assert!(v["tls"]["ja3"]["hash"].is_string());
    }

    #[test]
    fn conformance_noissuer_subject() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/suites/sv-dev/tls/tls-cert-noissuer/tls.pcap");
        let Some(st) = run_pcap(path) else { return };
        assert!(st.cert_subject().is_some_and(|s| s.contains("localhost")), "{:?}", st.cert_subject());
    }

    #[test]
    fn conformance_certs_chain() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/suites/sv-dev/tls/tls-certs-alert/input.pcap");
        let Some(certs) = server_certs_from_pcap(path) else { return };
        assert_eq!(certs.len(), 3);
        let has = |c: &[u8], pat: &[u8]| c.windows(pat.len()).any(|w| w == pat);
        assert!(has(&certs[0], &[0x30, 0x16, 0x06, 0x03, 0x55, 0x04, 0x03, 0x13, 0x0f]));
        assert!(has(&certs[1], &[0x30, 0x25, 0x06, 0x03, 0x55, 0x04, 0x03, 0x13, 0x1e]));
    }

    #[test]
    fn garbage_never_panics() {
        let mut stream = record(22, 0x0301, &client_hello(&ch_exts()));
        stream.extend(record(22, 0x0303, &server_hello(0x0303, &ext(43, &[3, 4]))));
        for i in 0..stream.len() {
            for x in [0x00u8, 0xff, 0x80, 0x16] {
                let mut m = stream.clone();
                m[i] = x;
                let mut st = TlsState::new();
                st.parse(true, &m);
                st.parse(false, &m);
            }
        }
    }
}
