//! HTTP's EVE object (Suricata's `EveHttpLogJSONBasic` fields, as alerts carry them).

use super::HttpTx;
use crate::output::eve::Json;

/// Writes the `http` object of an alert.
pub fn write_alert_object(j: &mut Json<'_>, tx: &HttpTx) {
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut o = j.begin("http");
    if tx.has_host {
        o.str("hostname", &lossy(&tx.host));
    }
    if !tx.uri_raw.is_empty() {
        o.str("url", &lossy(&tx.uri_raw));
    }
    if let Some(ua) = tx.request.header(b"user-agent") {
        o.str("http_user_agent", &lossy(ua));
    }
    if let Some(ct) = tx.response.header(b"content-type") {
        o.str("http_content_type", &lossy(ct));
    }
    if let Some(r) = tx.request.header(b"referer") {
        o.str("http_refer", &lossy(r));
    }
    if !tx.method.is_empty() {
        o.str("http_method", &lossy(&tx.method));
    }
    if !tx.request.protocol.is_empty() {
        o.str("protocol", &lossy(&tx.request.protocol));
    }
    if tx.status_num > 0 {
        o.u64("status", tx.status_num as u64);
    }
    o.u64("length", tx.response.body.len() as u64);
    o.end();
}
