//! The frames of a QUIC packet's payload as Suricata reads them: padding, ping, ACK, CRYPTO
//! (IETF; reassembled across packets into the TLS ClientHello or ServerHello, which gives
//! the JA3/JA3S string, the JA4 of a client and the extensions list), and gQUIC STREAM frames
//! whose data is a handshake message of tags (CHLO: SNI, UAID, VER, ...). Other frame types
//! end the packet's frames (what follows is not read).

use tls_parser::{
    parse_tls_extensions, parse_tls_message_handshake, TlsExtension, TlsExtensionType, TlsMessage, TlsMessageHandshake,
};

use super::{var_uint, Cur};
use crate::app::tls::ja4::Ja4;

/// CRYPTO data kept per direction until the hello is whole (Suricata's limit).
pub(crate) const MAX_CRYPTO: u64 = 65_535;

/// The gQUIC handshake tags Suricata knows (a message with another tag is not read as tags).
const TAGS: &[&[u8; 4]] = &[
    b"AEAD", b"CCRT", b"CCS\0", b"CETV", b"CFCW", b"CHLO", b"COPT", b"CSCT", b"CTIM", b"ICSL", b"IRTT", b"KEXS",
    b"MIDS", b"MSPC", b"NONC", b"NONP", b"PAD\0", b"PDMD", b"PUBS", b"SCID", b"SCLS", b"SFCW", b"SMHL", b"SNI\0",
    b"SNO\0", b"STK\0", b"TCID", b"UAID", b"VER\0", b"XLCT",
];

/// A gQUIC tag: its four bytes.
pub(crate) type Tag = [u8; 4];

/// A tag's name (its letters without the trailing NULs).
pub(crate) fn tag_name(t: &Tag) -> &str {
    let n = t.iter().position(|&b| b == 0).unwrap_or(4);
    std::str::from_utf8(t.get(..n).unwrap_or(&[])).unwrap_or("")
}

/// One TLS extension as the record lists it: its type and the values Suricata keeps
/// (supported versions, server names, signature algorithms, ALPN protocols).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ext {
    /// Extension type.
    pub etype: u16,
    /// Values, as text.
    pub values: Vec<Vec<u8>>,
}

/// A whole ClientHello or ServerHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hello {
    /// The JA3 (client) or JA3S (server) string.
    pub ja3: String,
    /// The JA4 of a ClientHello.
    pub ja4: Option<String>,
    /// Its extensions, in order.
    pub extv: Vec<Ext>,
}

/// A frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// PADDING (a run of zeros), PING, ACK, or a type not read further.
    Other,
    /// A CRYPTO frame that completed a hello.
    Crypto(Hello),
    /// CRYPTO data not yet a whole hello: `offset` is where it starts (or, for the
    /// reassembled buffer, how many bytes of it are set), `length` its length.
    CryptoFrag {
        /// Offset in the CRYPTO stream, or bytes set.
        offset: u64,
        /// Length.
        length: u64,
        /// The bytes (empty when over [`MAX_CRYPTO`]).
        data: Vec<u8>,
    },
    /// A gQUIC stream frame, with its handshake tags when its data is a tag message.
    Stream(Option<Vec<(Tag, Vec<u8>)>>),
}

fn tls_version_text(v: tls_parser::TlsVersion) -> String {
    v.to_string()
}

/// Reads the extensions block of a hello: the JA3 extension part (and, for a client, the
/// curves and point formats), the list the record shows, and the JA4 inputs.
fn extensions(input: Option<&[u8]>, ja3: &mut String, mut ja4: Option<&mut Ja4>, client: bool) -> Vec<Ext> {
    let mut extv = Vec::new();
    let Some(Ok((_, exts))) = input.map(parse_tls_extensions) else { return extv };
    let mut dash = false;
    for e in &exts {
        let etype = u16::from(TlsExtensionType::from(e));
        if std::mem::replace(&mut dash, true) {
            ja3.push('-');
        }
        ja3.push_str(&etype.to_string());
        if let Some(h) = ja4.as_deref_mut() {
            h.extension(etype);
        }
        let mut values = Vec::new();
        match e {
            TlsExtension::SupportedVersions(x) => {
                for v in x {
                    values.push(tls_version_text(*v).into_bytes());
                    if let Some(h) = ja4.as_deref_mut() {
                        h.tls_version(u16::from(*v));
                    }
                }
            }
            TlsExtension::SNI(x) => values.extend(x.iter().map(|(_, n)| n.to_vec())),
            TlsExtension::SignatureAlgorithms(x) => {
                for s in x {
                    values.push(s.to_string().into_bytes());
                    if let Some(h) = ja4.as_deref_mut() {
                        h.signature_algorithm(*s);
                    }
                }
            }
            TlsExtension::ALPN(x) => {
                if let (Some(h), Some(first)) = (ja4.as_deref_mut(), x.first()) {
                    h.alpn(first);
                }
                values.extend(x.iter().map(|a| a.to_vec()));
            }
            _ => {}
        }
        extv.push(Ext { etype, values });
    }
    if client {
        let join = |ja3: &mut String, it: &mut dyn Iterator<Item = String>| {
            ja3.push(',');
            for (i, v) in it.enumerate() {
                if i > 0 {
                    ja3.push('-');
                }
                ja3.push_str(&v);
            }
        };
        let mut curves = exts.iter().flat_map(|e| match e {
            TlsExtension::EllipticCurves(x) => x.iter().map(|c| c.0.to_string()).collect(),
            _ => Vec::new(),
        });
        join(ja3, &mut curves);
        let mut formats = exts.iter().flat_map(|e| match e {
            TlsExtension::EcPointFormats(x) => x.iter().map(|c| c.to_string()).collect(),
            _ => Vec::new(),
        });
        join(ja3, &mut formats);
    }
    extv
}

/// A ClientHello or ServerHello handshake message as a [`Hello`].
fn hello(msg: TlsMessage<'_>) -> Option<Hello> {
    let TlsMessage::Handshake(hs) = msg else { return None };
    match hs {
        TlsMessageHandshake::ClientHello(ch) => {
            let mut ja3 = u16::from(ch.version).to_string();
            ja3.push(',');
            let mut ja4 = Ja4::new(true);
            for (i, c) in ch.ciphers.iter().enumerate() {
                if i > 0 {
                    ja3.push('-');
                }
                ja3.push_str(&u16::from(*c).to_string());
                ja4.cipher(u16::from(*c));
            }
            ja3.push(',');
            let extv = extensions(ch.ext, &mut ja3, Some(&mut ja4), true);
            Some(Hello { ja3, ja4: Some(ja4.hash()), extv })
        }
        TlsMessageHandshake::ServerHello(sh) => {
            let mut ja3 = u16::from(sh.version).to_string();
            ja3.push(',');
            ja3.push_str(&u16::from(sh.cipher).to_string());
            ja3.push(',');
            let extv = extensions(sh.ext, &mut ja3, None, false);
            Some(Hello { ja3, ja4: None, extv })
        }
        _ => None,
    }
}

/// What parsing a CRYPTO stream's start gives.
enum HelloParse {
    Done(Hello),
    Incomplete,
    Invalid,
}

fn parse_hello(data: &[u8]) -> HelloParse {
    match parse_tls_message_handshake(data) {
        Ok((_, msg)) => hello(msg).map_or(HelloParse::Invalid, HelloParse::Done),
        Err(tls_parser::Err::Incomplete(_)) => HelloParse::Incomplete,
        Err(_) => HelloParse::Invalid,
    }
}

/// A gQUIC handshake message: its tag, the number of entries, then the (tag, end offset)
/// entries and the values; all of `data` must be used.
fn tag_message(data: &[u8]) -> Option<Vec<(Tag, Vec<u8>)>> {
    let known = |t: Tag| TAGS.iter().any(|k| **k == t);
    let mut c = Cur(data);
    if !known(c.tag()?) {
        return None;
    }
    let n = c.le_u16()?;
    c.take(2)?;
    let mut entries = Vec::new();
    for _ in 0..n {
        let t = c.tag()?;
        if !known(t) {
            return None;
        }
        entries.push((t, c.le_u32()?));
    }
    let mut tags = Vec::with_capacity(entries.len());
    let mut prev = 0u32;
    for (t, end) in entries {
        let len = end.checked_sub(prev)?;
        tags.push((t, c.take(usize::try_from(len).ok()?)?.to_vec()));
        prev = end;
    }
    c.0.is_empty().then_some(tags)
}

fn decode_frame<'a>(c: &mut Cur<'a>) -> Option<Frame> {
    let ty = c.u8()?;
    if ty & 0x80 != 0 {
        // gQUIC STREAM: 0b1fdooo_ss
        let off_len = match (ty & 0x1c) >> 2 {
            0 => 0,
            n => n + 1,
        };
        c.take(usize::from((ty & 0x03) + 1))?;
        c.take(usize::from(off_len))?;
        let len = if ty & 0x20 != 0 { usize::from(c.be_u16()?) } else { c.0.len() };
        return Some(Frame::Stream(tag_message(c.take(len)?)));
    }
    match ty {
        0x00 => {
            let zeros = c.0.iter().take_while(|&&b| b == 0).count();
            c.take(zeros)?;
            Some(Frame::Other)
        }
        0x01 => Some(Frame::Other),
        0x02 | 0x03 => {
            var_uint(c)?;
            var_uint(c)?;
            let ranges = var_uint(c)?;
            var_uint(c)?;
            let mut i = 0;
            while i < ranges {
                var_uint(c)?;
                var_uint(c)?;
                i += 1;
            }
            if ty == 0x03 {
                for _ in 0..3 {
                    var_uint(c)?;
                }
            }
            Some(Frame::Other)
        }
        0x06 => {
            let offset = var_uint(c)?;
            let length = var_uint(c)?;
            let data = c.take(usize::try_from(length).ok()?)?;
            let frag = || Some(Frame::CryptoFrag { offset, length, data: data.to_vec() });
            if offset > 0 {
                return frag();
            }
            match parse_hello(data) {
                HelloParse::Done(h) => Some(Frame::Crypto(h)),
                HelloParse::Incomplete => frag(),
                HelloParse::Invalid => None,
            }
        }
        0x08 => {
            var_uint(c)?;
            let len = var_uint(c)?;
            if len > u64::from(u32::MAX) {
                return None;
            }
            Some(Frame::Stream(tag_message(c.take(usize::try_from(len).ok()?)?)))
        }
        _ => {
            c.0 = &[];
            Some(Frame::Other)
        }
    }
}

/// Decodes the frames of a payload; `past` is the CRYPTO data kept from earlier packets of
/// this direction and `past_set` how many of its bytes were set. CRYPTO fragments are
/// reassembled with it: a whole hello is appended as [`Frame::Crypto`], an incomplete one as
/// a [`Frame::CryptoFrag`] to keep. `None` when a frame is malformed.
pub(crate) fn decode_frames(input: &[u8], past: &[u8], past_set: u64) -> Option<Vec<Frame>> {
    let mut c = Cur(input);
    let mut frames = Vec::new();
    while !c.0.is_empty() {
        frames.push(decode_frame(&mut c)?);
    }
    let mut max = past.len() as u64;
    let mut total = 0u64;
    for f in &frames {
        if let Frame::CryptoFrag { offset, length, .. } = f {
            max = max.max(offset.saturating_add(*length));
            total = total.saturating_add(*length);
        }
    }
    if max >= MAX_CRYPTO {
        frames.push(Frame::CryptoFrag { offset: 0, length: max, data: Vec::new() });
    } else if max > 0 {
        // max < MAX_CRYPTO: every range below fits
        let mut d = vec![0u8; max as usize];
        if let Some(dst) = d.get_mut(..past.len()) {
            dst.copy_from_slice(past);
        }
        for f in &frames {
            if let Frame::CryptoFrag { offset, data, .. } = f {
                let at = *offset as usize;
                if let Some(dst) = d.get_mut(at..at + data.len()) {
                    dst.copy_from_slice(data);
                }
            }
        }
        let set = total.saturating_add(past_set);
        let keep = |d: Vec<u8>| Frame::CryptoFrag { offset: set, length: d.len() as u64, data: d };
        if set >= max && total > 0 {
            match parse_hello(&d) {
                HelloParse::Done(h) => frames.push(Frame::Crypto(h)),
                HelloParse::Incomplete => frames.push(keep(d)),
                HelloParse::Invalid => {}
            }
        } else {
            frames.push(keep(d));
        }
    }
    Some(frames)
}
