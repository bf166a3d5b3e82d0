//! Session setup security blobs: SPNEGO (GSS-API) wrapping NTLMSSP or a Kerberos AP-REQ, or a
//! bare NTLMSSP message; what Suricata takes from them (the NTLMSSP user, domain, host and
//! version of an AUTHENTICATE message; the realm and service names of a Kerberos ticket).
//!
//! The SPNEGO layers are a few DER tag-length-value records, read here directly; the Kerberos
//! AP-REQ is decoded with rusticata's `kerberos-parser`.

use crate::app::dcerpc::pdu::Rd;

/// NTLMSSP fields of an AUTHENTICATE message (NULs removed, as Suricata keeps them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ntlmssp {
    /// Workstation.
    pub host: Vec<u8>,
    /// User name.
    pub user: Vec<u8>,
    /// Domain.
    pub domain: Vec<u8>,
    /// OS version: major, minor, build, NTLM revision.
    pub version: Option<(u8, u8, u16, u8)>,
    /// The user or host field overlaps the one before it (event `unusual_ntlmssp_order`).
    pub warning: bool,
}

/// What a Kerberos AP-REQ names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Krb {
    /// Realm.
    pub realm: String,
    /// Service principal name components.
    pub snames: Vec<String>,
}

/// Native OS and LAN manager strings of an SMB1 session setup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostInfo {
    /// Native OS.
    pub native_os: Vec<u8>,
    /// Native LAN manager.
    pub native_lm: Vec<u8>,
}

/// A session setup transaction's data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionInfo {
    /// The request's host strings (SMB1).
    pub request_host: Option<HostInfo>,
    /// The response's host strings (SMB1).
    pub response_host: Option<HostInfo>,
    /// NTLMSSP authentication.
    pub ntlmssp: Option<Ntlmssp>,
    /// Kerberos ticket.
    pub krb: Option<Krb>,
}

/// One DER record: (tag byte, content, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let mut r = Rd::new(b);
    let tag = r.u8()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers: none in SPNEGO
    }
    let l0 = r.u8()?;
    let len = if l0 < 0x80 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        r.take(n)?.iter().fold(0usize, |a, &x| a << 8 | usize::from(x))
    };
    let content = r.take(len)?;
    Some((tag, content, r.rest()))
}

/// DER content of an OID.
const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

/// The content of a record der-parser would give as raw bytes (not a universal SEQUENCE or
/// SET, which it decodes into parts).
fn slice_content(b: &[u8]) -> Option<&[u8]> {
    let (tag, content, _) = tlv(b)?;
    (tag != 0x30 && tag != 0x31).then_some(content)
}

/// The NegTokenInit body inside a GSS-API SPNEGO token.
fn spnego_init(blob: &[u8]) -> Option<&[u8]> {
    let inner = slice_content(blob)?;
    let (tag, oid, rest) = tlv(inner)?;
    if tag != 0x06 || oid != OID_SPNEGO {
        return None;
    }
    slice_content(rest)
}

/// Parses a session setup security blob (Suricata's `parse_secblob`): SPNEGO first, else a
/// bare NTLMSSP message. `None` when neither.
pub(super) fn parse_secblob(blob: &[u8]) -> Option<(Option<Ntlmssp>, Option<Krb>)> {
    match spnego_init(blob) {
        Some(init) => spnego(init),
        None => ntlmssp_blob(blob).map(|n| (Some(n), None)),
    }
}

fn spnego(init: &[u8]) -> Option<(Option<Ntlmssp>, Option<Krb>)> {
    let (tag, seq, _) = tlv(init)?;
    if tag != 0x30 {
        return None;
    }
    let (mut have_krb, mut have_ntlm) = (false, false);
    let (mut krb, mut ntlm) = (None, None);
    let mut items = seq;
    while let Some((_, content, rest)) = tlv(items) {
        items = rest;
        let Some((t, c, _)) = tlv(content) else { continue };
        match t {
            0x30 => {
                let mut oids = c;
                while let Some((ot, oc, orest)) = tlv(oids) {
                    oids = orest;
                    if ot == 0x06 {
                        have_krb |= oc == OID_KRB5;
                        have_ntlm |= oc == OID_NTLMSSP;
                    }
                }
            }
            0x04 => {
                if have_krb {
                    if let Some(k) = krb5_ap_req(c) {
                        krb = Some(k);
                    }
                }
                if have_ntlm && krb.is_none() {
                    ntlm = ntlmssp_blob(c);
                }
            }
            _ => {}
        }
    }
    Some((ntlm, krb))
}

/// The realm and service names of the AP-REQ in a GSS-API Kerberos token.
fn krb5_ap_req(token: &[u8]) -> Option<Krb> {
    let inner = slice_content(token)?;
    let (tag, _, rest) = tlv(inner)?;
    if tag != 0x06 {
        return None;
    }
    let ap = rest.get(2..)?; // token id
    #[allow(
        deprecated,
        reason = "the FromDer form needs asn1-rs as a direct dependency; the same parser as app/krb5 uses"
    )]
    let (_, req) = kerberos_parser::krb5_parser::parse_ap_req(ap).ok()?;
    Some(Krb { realm: req.ticket.realm.0, snames: req.ticket.sname.name_string })
}

/// Finds an NTLMSSP message in `blob`; the fields of an AUTHENTICATE message.
fn ntlmssp_blob(blob: &[u8]) -> Option<Ntlmssp> {
    let at = memchr::memmem::find(blob, b"NTLMSSP\0")?;
    let mut r = Rd::new(blob.get(at + 8..)?);
    let msg_type = r.le32()?;
    if msg_type != 3 {
        return None;
    }
    auth_record(r.rest())
}

/// An NTLMSSP AUTHENTICATE message after its signature and type (Suricata's
/// `parse_ntlm_auth_record`: every length and offset below the record's length, the version
/// only when the flags say so and there is room before the data).
fn auth_record(b: &[u8]) -> Option<Ntlmssp> {
    const IDTYPE: usize = 12;
    let record_len = b.len() + IDTYPE;
    let mut r = Rd::new(b);
    let field = |r: &mut Rd<'_>| -> Option<(u16, u32)> {
        let len = r.le16()?;
        r.le16()?;
        let off = r.le32()?;
        (usize::from(len) < record_len && (off as usize) < record_len).then_some((len, off))
    };
    let lm = field(&mut r)?;
    let nt = field(&mut r)?;
    let domain = field(&mut r)?;
    let user = field(&mut r)?;
    let host = field(&mut r)?;
    let key = field(&mut r)?;
    let data_start = [lm.1, nt.1, domain.1, user.1, host.1, key.1].into_iter().min().unwrap_or(0);
    let flags = r.le32()?;
    let consumed = b.len() - r.left() + IDTYPE;
    let version = if data_start as usize >= consumed + 8 && flags & 0x0200_0000 != 0 {
        let mut v = r;
        let (maj, min, build) = (v.u8()?, v.u8()?, v.le16()?);
        v.skip(3)?;
        Some((maj, min, build, v.u8()?))
    } else {
        None
    };
    let sub = |(len, off): (u16, u32)| -> Option<Vec<u8>> {
        let start = (off as usize).checked_sub(IDTYPE)?;
        let mut v = b.get(start..start + usize::from(len))?.to_vec();
        v.retain(|&c| c != 0);
        Some(v)
    };
    let warning =
        (user.1 > 0 && user.1 < domain.1 + u32::from(domain.0)) || (host.1 > 0 && host.1 < user.1 + u32::from(user.0));
    Some(Ntlmssp { domain: sub(domain)?, user: sub(user)?, host: sub(host)?, version, warning })
}

/// Host strings of an SMB1 session setup (after the security blob): UTF-16 when the record
/// says so (after a pad byte at an odd offset), else NUL-terminated. `n` strings at most are
/// read; missing ones are empty.
pub(super) fn host_strings(blob: &[u8], unicode: bool, odd: bool, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    let mut c = if unicode && blob.len() > 1 && odd { blob.get(1..).unwrap_or(&[]) } else { blob };
    let unicode = unicode && blob.len() > 1;
    for _ in 0..n {
        let got = if unicode { super::records::unicode_string(c) } else { super::records::ascii_string(c) };
        match got {
            Some((s, rest)) => {
                out.push(s);
                c = rest;
            }
            None => break,
        }
    }
    out.resize(n, Vec::new());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SPNEGO NegTokenResp with an NTLMSSP AUTHENTICATE of Suricata's own unit test.
    const BLOB: &str = "a18202313082022da0030a0101a28202100482020c4e544c4d5353500003000000180018009c00000048014801b40000001e001e005800000008000800760000001e001e007e00000010001000fc010000158288e20a005a290000000fc6107a73184fb65fe684f6a1641464be4400450053004b0054004f0050002d0032004100450046004d003700470075007300650072004400450053004b0054004f0050002d0032004100450046004d003700470000000000000000000000000000000000000000000000000028a0c9f4e792c408913d2878feaa9a22010100000000000078a7ed218527d2010cf876f08a0b3bfa0000000002001e004400450053004b0054004f0050002d00560031004600410030005500510001001e004400450053004b0054004f0050002d00560031004600410030005500510004001e004400450053004b0054004f0050002d00560031004600410030005500510003001e004400450053004b0054004f0050002d0056003100460041003000550051000700080078a7ed218527d20106000400020000000800300030000000000000000100000000200000ad865b6d08a95d0e76a94e2ca013ab3f69c4fd945cca01b277700fd2b305ca010a001000000000000000000000000000000000000900280063006900660073002f003100390032002e003100360038002e003100390039002e003100330033000000000000000000000000005858824ec4a47b3b42ad3132ab84a5c3a31204100100000092302d756840453f00000000";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect()
    }

    #[test]
    fn ntlmssp_auth_in_a_negtokenresp() {
        let (n, k) = parse_secblob(&unhex(BLOB)).unwrap_or_else(|| panic!("parses"));
        let n = n.unwrap_or_else(|| panic!("ntlmssp"));
        assert_eq!(k, None);
        assert_eq!(n.user, b"user");
        assert_eq!(n.host, b"DESKTOP-2AEFM7G");
        assert_eq!(n.domain, b"DESKTOP-2AEFM7G");
        assert_eq!(n.version, Some((10, 0, 10586, 15)));
        assert!(!n.warning);
        // every prefix parses to something or nothing, never panics
        let b = unhex(BLOB);
        for i in 0..b.len() {
            let _ = parse_secblob(&b[..i]);
        }
    }

    #[test]
    fn spnego_init_with_ntlmssp_negotiate_gives_no_user() {
        // GSS-API [APPLICATION 0] { OID spnego, [0] NegTokenInit { [0] mechTypes { ntlmssp },
        // [2] mechToken OCTET STRING "NTLMSSP\0" type 1 } }
        let mut tok = b"NTLMSSP\0\x01\0\0\0".to_vec();
        tok.extend_from_slice(&[0; 8]);
        let mut mech = vec![0x04, tok.len() as u8];
        mech.extend_from_slice(&tok);
        let mut a2 = vec![0xa2, mech.len() as u8];
        a2.extend_from_slice(&mech);
        let mut oids = vec![0x06, OID_NTLMSSP.len() as u8];
        oids.extend_from_slice(OID_NTLMSSP);
        let mut seq = vec![0x30, oids.len() as u8];
        seq.extend_from_slice(&oids);
        let mut a0 = vec![0xa0, seq.len() as u8];
        a0.extend_from_slice(&seq);
        let mut init = vec![0x30, (a0.len() + a2.len()) as u8];
        init.extend_from_slice(&a0);
        init.extend_from_slice(&a2);
        let mut ctx = vec![0xa0, init.len() as u8];
        ctx.extend_from_slice(&init);
        let mut inner = vec![0x06, 6];
        inner.extend_from_slice(OID_SPNEGO);
        inner.extend_from_slice(&ctx);
        let mut blob = vec![0x60, inner.len() as u8];
        blob.extend_from_slice(&inner);
        assert_eq!(parse_secblob(&blob), Some((None, None)));
    }

    #[test]
    fn host_strings_in_both_encodings() {
        assert_eq!(host_strings(b"Unix\0Samba\0", false, false, 2), vec![b"Unix".to_vec(), b"Samba".to_vec()]);
        assert_eq!(host_strings(b"\0U\0n\0\0\0", true, true, 2), vec![b"Un".to_vec(), Vec::new()]);
        assert_eq!(host_strings(b"", true, true, 3), vec![Vec::<u8>::new(); 3]);
    }
}
