//! rdp: the first byte picks the split size and the direction pattern; the rest is fed to the
//! RDP parser in pieces (TPKTs, X.224, MCS/GCC, TLS after a switch); then the EVE writer runs
//! on every transaction (its JSON must parse).
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::rdp::RdpState;
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let mut st = RdpState::new();
    for (i, c) in body.chunks(usize::from(sel & 0x3f).max(1) * 5).enumerate() {
        let to_server = if sel & 0x80 != 0 { i % 2 == 0 } else { sel & 0x40 == 0 };
        st.parse(to_server, c);
    }
    for tx in st.txs() {
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
});
