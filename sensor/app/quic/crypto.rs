//! Initial packet protection (RFC 9001 section 5): the initial secrets derived from the
//! client's first destination connection id with the version's salt (HKDF-SHA256), the
//! packet keys (AES-128-GCM) and header protection (AES-128, the mask of section 5.4), per
//! direction. Versions whose salt is unknown get no keys: their Initial payloads are read as
//! they are, as Suricata reads them.

use ring::aead::{quic, Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use ring::hkdf;

/// QUIC version 2 (RFC 9369), whose labels are `quicv2 ...`.
pub const VERSION_2: u32 = 0x6b33_43cf;

/// The initial salt of a version (RFC 9001 5.2, the drafts before it, RFC 9369 3.3.1, and
/// Google's Q050), as Suricata lists them.
pub fn initial_salt(version: u32) -> Option<&'static [u8; 20]> {
    const Q050: [u8; 20] = [
        0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94, 0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0, 0xd3, 0xb5,
        0x6b, 0x45,
    ];
    const DRAFT_29: [u8; 20] = [
        0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90,
        0xa8, 0x99,
    ];
    const DRAFT_23: [u8; 20] = [
        0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9,
        0xf5, 0x02,
    ];
    const V1: [u8; 20] = [
        0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb,
        0x7f, 0x0a,
    ];
    const V2: [u8; 20] = [
        0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd,
        0x2e, 0xd9,
    ];
    match version {
        0x5130_3530 => Some(&Q050),
        0xff00_001d..=0xff00_0020 => Some(&DRAFT_29),
        0xface_b002 | 0xff00_0017..=0xff00_001c => Some(&DRAFT_23),
        0x0000_0001 | 0xff00_0021..=0xff00_0022 => Some(&V1),
        VERSION_2 => Some(&V2),
        _ => None,
    }
}

/// An output length for ring's HKDF.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// TLS 1.3's HKDF-Expand-Label with an empty context, filling `out`.
fn expand_label(prk: &hkdf::Prk, label: &[u8], out: &mut [u8]) -> Option<()> {
    let len = u16::try_from(out.len()).ok()?.to_be_bytes();
    let label_len = [u8::try_from(b"tls13 ".len() + label.len()).ok()?];
    let info: [&[u8]; 5] = [&len, &label_len, b"tls13 ", label, &[0]];
    prk.expand(&info, Len(out.len())).ok()?.fill(out).ok()
}

/// The keys of one direction.
pub struct DirKeys {
    hp: quic::HeaderProtectionKey,
    key: LessSafeKey,
    iv: [u8; 12],
}

impl std::fmt::Debug for DirKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DirKeys")
    }
}

impl DirKeys {
    fn new(secret: &[u8], version: u32) -> Option<DirKeys> {
        let v2 = version == VERSION_2;
        let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, secret);
        let mut key = [0u8; 16];
        expand_label(&prk, if v2 { b"quicv2 key" } else { b"quic key" }, &mut key)?;
        let mut iv = [0u8; 12];
        expand_label(&prk, if v2 { b"quicv2 iv" } else { b"quic iv" }, &mut iv)?;
        let mut hp = [0u8; 16];
        expand_label(&prk, if v2 { b"quicv2 hp" } else { b"quic hp" }, &mut hp)?;
        Some(DirKeys {
            hp: quic::HeaderProtectionKey::new(&quic::AES_128, &hp).ok()?,
            key: LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &key).ok()?),
            iv,
        })
    }

    /// Removes header protection from a long-header packet and decrypts its payload.
    /// `pkt` runs from the packet's first byte to the end of its payload, `pn_at` is the
    /// offset of the (protected) packet number. Returns the plaintext frames, or `None` when
    /// the packet is too short or does not authenticate.
    pub fn open(&self, pkt: &[u8], pn_at: usize) -> Option<Vec<u8>> {
        let body = pkt.get(pn_at..)?;
        // Suricata's check: room for the longest packet number and the 16-byte sample.
        if body.len() < 4 + 16 {
            return None;
        }
        let mask = self.hp.new_mask(body.get(4..20)?).ok()?;
        let first = pkt.first()?;
        let bits = if first & 0x80 != 0 { 0x0f } else { 0x1f };
        let first = first ^ (mask[0] & bits);
        let pn_len = usize::from(first & 3) + 1;
        let mut aad = pkt.get(..pn_at + pn_len)?.to_vec();
        let mut pn = 0u64;
        for (i, m) in mask.iter().skip(1).take(pn_len).enumerate() {
            let b = aad.get_mut(pn_at + i)?;
            *b ^= m;
            pn = (pn << 8) | u64::from(*b);
        }
        *aad.first_mut()? = first;
        let mut payload = body.get(pn_len..)?.to_vec();
        let mut nonce = self.iv;
        for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let plain_len = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_slice()), &mut payload)
            .ok()?
            .len();
        payload.truncate(plain_len);
        Some(payload)
    }
}

/// The Initial keys of a connection: the client's (to server) and the server's.
#[derive(Debug)]
pub struct Keys {
    /// Protects what the client sends.
    pub client: DirKeys,
    /// Protects what the server sends.
    pub server: DirKeys,
}

/// The Initial keys of `version` from the client's first destination connection id; `None`
/// for a version without a known salt.
pub fn initial_keys(version: u32, dcid: &[u8]) -> Option<Keys> {
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, initial_salt(version)?);
    let prk = salt.extract(dcid);
    let mut client = [0u8; 32];
    expand_label(&prk, b"client in", &mut client)?;
    let mut server = [0u8; 32];
    expand_label(&prk, b"server in", &mut server)?;
    Some(Keys { client: DirKeys::new(&client, version)?, server: DirKeys::new(&server, version)? })
}
