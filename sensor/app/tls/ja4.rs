//! JA4 (FoxIO's TLS client fingerprint) as Suricata computes it: `q`/`t`, the highest
//! supported version, `d`/`i` for a server name, the cipher and extension counts (at most 99)
//! and the first ALPN's first and last characters; then the first 12 hex digits of the
//! SHA-256 of the sorted ciphers, and of the sorted extensions (without SNI and ALPN)
//! followed by `_` and the signature algorithms in order. GREASE values are left out.

use sha2::{Digest as _, Sha256};

use super::is_grease;

/// What a ClientHello gives the fingerprint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ja4 {
    /// Carried by QUIC (`q`) rather than TCP (`t`).
    pub quic: bool,
    version: Option<u16>,
    ciphers: Vec<u16>,
    extensions: Vec<u16>,
    sigalgs: Vec<u16>,
    domain: bool,
    alpn: Option<Vec<u8>>,
}

const SNI: u16 = 0;
const ALPN: u16 = 16;

impl Ja4 {
    /// An empty fingerprint of a hello carried by QUIC (`quic`) or TCP.
    pub(crate) fn new(quic: bool) -> Ja4 {
        Ja4 { quic, ..Ja4::default() }
    }

    /// A version of the supported_versions extension (the highest counts).
    pub(crate) fn tls_version(&mut self, v: u16) {
        if !is_grease(v) && self.version.is_none_or(|c| v > c) {
            self.version = Some(v);
        }
    }

    /// A cipher suite, in order.
    pub(crate) fn cipher(&mut self, c: u16) {
        if !is_grease(c) {
            self.ciphers.push(c);
        }
    }

    /// An extension type, in order.
    pub(crate) fn extension(&mut self, e: u16) {
        if !is_grease(e) {
            self.domain |= e == SNI;
            self.extensions.push(e);
        }
    }

    /// A signature algorithm, in order.
    pub(crate) fn signature_algorithm(&mut self, s: u16) {
        if !is_grease(s) {
            self.sigalgs.push(s);
        }
    }

    /// The first ALPN protocol (later ones are ignored).
    pub(crate) fn alpn(&mut self, a: &[u8]) {
        if self.alpn.is_none() && !a.is_empty() {
            self.alpn = Some(a.to_vec());
        }
    }

    fn version_code(&self) -> &'static str {
        match self.version {
            Some(0x0304) => "13",
            Some(0x0303) => "12",
            Some(0x0302) => "11",
            Some(0x0301) => "10",
            Some(0x0300) => "s3",
            _ => "00",
        }
    }

    fn alpn_chars(&self) -> [char; 2] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let Some(a) = self.alpn.as_deref() else { return ['0', '0'] };
        let (Some(&f), Some(&l)) = (a.first(), a.last()) else { return ['0', '0'] };
        if a.len() == 2 && is_grease(u16::from_be_bytes([f, l])) {
            return ['0', '0'];
        }
        if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
            [char::from(f), char::from(l)]
        } else {
            let h = |i: u8| char::from(HEX.get(usize::from(i & 0xf)).copied().unwrap_or(b'0'));
            [h(f >> 4), h(l)]
        }
    }

    /// The fingerprint.
    pub(crate) fn hash(&self) -> String {
        let [a1, a2] = self.alpn_chars();
        let head = format!(
            "{}{}{}{:02}{:02}{a1}{a2}",
            if self.quic { "q" } else { "t" },
            self.version_code(),
            if self.domain { "d" } else { "i" },
            self.ciphers.len().min(99),
            self.extensions.len().min(99),
        );
        let hex_list = |v: &[u16]| v.iter().map(|x| format!("{x:04x}")).collect::<Vec<_>>().join(",");
        let sha12 = |s: &str| {
            let d = Sha256::digest(s.as_bytes());
            d.iter().take(6).map(|b| format!("{b:02x}")).collect::<String>()
        };
        let mut ciphers = self.ciphers.clone();
        ciphers.sort_unstable();
        let mut exts: Vec<u16> = self.extensions.iter().copied().filter(|&e| e != SNI && e != ALPN).collect();
        exts.sort_unstable();
        let c = format!("{}_{}", hex_list(&exts), hex_list(&self.sigalgs));
        format!("{head}_{}_{}", sha12(&hex_list(&ciphers)), sha12(&c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_capped_and_grease_is_left_out() {
        let mut j = Ja4::default();
        for i in 1..200 {
            j.cipher(i);
            j.extension(i);
        }
        j.cipher(0x0a0a);
        assert!(j.hash().starts_with("t00i9999"), "{}", j.hash());
    }

    #[test]
    fn alpn_characters() {
        let mut j = Ja4::default();
        j.alpn(b"http/1.1");
        assert_eq!(j.alpn_chars(), ['h', '1']);
        let mut j = Ja4::default();
        j.alpn(&[0x01, b'T', b'E', 0x7f]);
        assert_eq!(j.alpn_chars(), ['0', 'f']);
        let mut j = Ja4::default();
        j.alpn(&[0x2a, 0x2a]);
        assert_eq!(j.alpn_chars(), ['0', '0']);
    }
}
