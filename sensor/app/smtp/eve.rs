//! SMTP's EVE objects: `smtp` (Suricata's `EveSmtpDataLogger`) and `email` (its default
//! `SCMimeSmtpLogData`: from, to, cc, status, attachment, url).

use super::SmtpTx;
use crate::app::eve_util::str_array;
use crate::output::eve::Json;

/// The values of a comma-separated header (`to`, `cc`), split outside quotes, leading
/// blanks dropped, as Suricata's `log_field_comma`.
pub(super) fn comma_fields(v: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut in_field) = (0, false, false);
    for (i, &c) in v.iter().enumerate() {
        if quoted {
            if c == b'"' {
                quoted = false;
            }
        } else if !in_field {
            if c == b' ' || c == b'\t' {
                start += 1;
            } else if c == b'"' {
                quoted = true;
                in_field = true;
            } else {
                in_field = true;
            }
        } else if c == b',' {
            if i > start {
                // In bounds: start < i <= v.len().
                out.push(&v[start..i]);
            }
            start = i + 1;
            in_field = false;
        } else if c == b'"' {
            quoted = true;
        }
    }
    if v.len() > start {
        out.push(&v[start..]);
    }
    out
}

/// Writes `"smtp":{...}` and, when the transaction has a message, `"email":{...}`.
pub(super) fn write(j: &mut Json<'_>, tx: &SmtpTx) {
    let mut o = j.begin("smtp");
    if let Some(h) = &tx.helo {
        o.bytes("helo", h);
    }
    if let Some(m) = &tx.mail_from {
        o.bytes("mail_from", m);
    }
    if !tx.rcpt_to.is_empty() {
        str_array(&mut o, "rcpt_to", tx.rcpt_to.iter().map(|r| r.as_slice()));
    }
    o.end();
    let Some(m) = tx.mime.as_deref() else { return };
    let mut e = j.begin("email");
    if let Some(from) = m.header(b"from") {
        e.bytes("from", from);
    }
    for (key, name) in [("to", &b"to"[..]), ("cc", b"cc")] {
        if let Some(v) = m.header(name) {
            let f = comma_fields(v);
            if !f.is_empty() {
                str_array(&mut e, key, f);
            }
        }
    }
    e.str("status", "PARSE_DONE");
    if !m.attachments.is_empty() {
        str_array(&mut e, "attachment", m.attachments.iter().map(|a| a.as_slice()));
    }
    if !m.urls.is_empty() {
        str_array(&mut e, "url", m.urls.iter().rev().map(|a| a.as_slice()));
    }
    e.end();
}
