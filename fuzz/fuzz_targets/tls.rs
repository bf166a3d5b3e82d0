//! tls: the first byte picks the split size and direction pattern; the rest is fed to the
//! TLS state as a stream in pieces, alternating directions per the selector, then every
//! buffer getter and the EVE writer run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::tls::{cert_info, TlsState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let _ = cert_info(body);
    let mut st = TlsState::new();
    let step = usize::from(sel & 0x3f).max(1);
    for (i, c) in body.chunks(step).enumerate() {
        let to_server = if sel & 0x80 != 0 { i % 2 == 0 } else { sel & 0x40 == 0 };
        let _ = st.parse(to_server, c);
    }
    let _ = (st.sni(), st.cert_subject(), st.cert_issuer(), st.cert_serial(), st.cert_fingerprint());
    let _ = (st.ja3_hash(), st.ja3_string(), st.ja3s_hash(), st.ja3s_string(), st.version(), st.ssl_state());
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    st.write_eve(&mut j, true);
    j.end();
    assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
});
