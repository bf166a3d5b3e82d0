//! tftp: each datagram (split at the first byte's step) goes to the TFTP parser and its
//! probe; the EVE writer runs on every request decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::tftp::{probe, TftpState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let mut st = TftpState::default();
    for c in body.chunks(usize::from(sel).max(1)) {
        let _ = probe(c);
        st.parse_request(c);
    }
    for tx in st.txs() {
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
});
