//! X.509 certificates as Suricata prints them (x509-parser), and the hashes TLS needs.

use std::fmt::Write as _;

use md5::{Digest as _, Md5};
use sha1::Sha1;
use x509_parser::error::X509Error;
use x509_parser::nom::Err as NomErr;
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

/// Why x509-parser rejected a certificate, as Suricata's `x509_parse_error_to_errcode` sorts
/// it: each reason raises its own app-layer event (`tls.certificate_invalid_length`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertError {
    /// A generic decoding error (`tls.invalid_certificate`).
    Invalid,
    /// The certificate is cut short (`tls.certificate_invalid_length`).
    Length,
    /// `tls.certificate_invalid_version`.
    Version,
    /// `tls.certificate_invalid_serial`.
    Serial,
    /// `tls.certificate_invalid_algorithmidentifier`.
    AlgorithmIdentifier,
    /// `tls.certificate_invalid_x509name`.
    X509Name,
    /// `tls.certificate_invalid_date`.
    Date,
    /// `tls.certificate_invalid_extensions`.
    Extensions,
    /// The DER structure is invalid (`tls.certificate_invalid_der`).
    Der,
}

impl CertError {
    fn of(e: &NomErr<X509Error>) -> CertError {
        match e {
            NomErr::Incomplete(_) => CertError::Length,
            NomErr::Error(e) | NomErr::Failure(e) => match e {
                X509Error::InvalidVersion => CertError::Version,
                X509Error::InvalidSerial => CertError::Serial,
                X509Error::InvalidAlgorithmIdentifier => CertError::AlgorithmIdentifier,
                X509Error::InvalidX509Name => CertError::X509Name,
                X509Error::InvalidDate => CertError::Date,
                X509Error::InvalidExtensions => CertError::Extensions,
                X509Error::Der(_) => CertError::Der,
                _ => CertError::Invalid,
            },
        }
    }
}

/// Decodes a DER certificate; `None` for anything x509-parser rejects.
pub fn cert_info(der: &[u8]) -> Option<CertInfo> {
    cert_decode(der).ok()
}

/// Decodes a DER certificate, or says why x509-parser rejected it.
pub(super) fn cert_decode(der: &[u8]) -> Result<CertInfo, CertError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| CertError::of(&e))?;
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
    Ok(CertInfo {
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
