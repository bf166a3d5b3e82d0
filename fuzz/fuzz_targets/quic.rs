//! quic: the input is split at its first byte's value into two datagrams, fed to the QUIC
//! probe and parser (the first to the server, the second to the client, then the whole
//! input again to the server), and to the Initial decryption with a fixed connection id;
//! then the EVE writer runs on every transaction, whose output must be JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::quic::crypto::initial_keys;
use picket::app::quic::{parse_header, probe, QuicState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let _ = probe(data);
    if let Some(h) = parse_header(data) {
        if let Some(k) = initial_keys(1, &[0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08]) {
            let _ = k.client.open(data, h.hlen.min(data.len()));
        }
    }
    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (a, b) = data.split_at(cut);
    let mut st = QuicState::default();
    st.parse(true, a);
    st.parse(false, b);
    st.parse(true, data);
    for tx in st.txs() {
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
});
