//! X.509 certificates as Suricata prints them (x509-parser), and the hashes TLS needs.

use std::fmt::Write as _;

use md5::{Digest as _, Md5};
use sha1::Sha1;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

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
    /// `tls.subjectaltname`: the subject alternative names, as Suricata prints them (DNS
    /// names and URIs as they are, IP addresses as a byte list, others as x509-parser shows them).
    pub sans: Vec<String>,
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
    let sans = match tbs.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.iter().map(general_name).collect(),
        _ => Vec::new(),
    };
    Some(CertInfo {
        sans,
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

fn general_name(g: &GeneralName<'_>) -> String {
    match g {
        GeneralName::DNSName(s) | GeneralName::URI(s) => (*s).to_string(),
        GeneralName::IPAddress(b) => format!("{b:?}"),
        other => other.to_string(),
    }
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

pub(super) fn md5_hex(s: &str) -> String {
    let d = Md5::digest(s.as_bytes());
    let mut h = String::with_capacity(32);
    for x in d {
        let _ = write!(h, "{x:02x}");
    }
    h
}
