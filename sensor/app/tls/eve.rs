//! TLS's EVE object (Suricata's `JsonTlsLogJSONExtended`).

use super::{version_string, TlsState};
use crate::output::eve::Json;

impl TlsState {
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
        // Suricata logs the server's version, the client's until the server has spoken.
        let v = if self.version() != 0 { self.version() } else { self.dir_version(true) };
        o.str("version", &version_string(v));
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
