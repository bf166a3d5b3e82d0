//! ike: the input is fed to the IKE probe and parser as a datagram each way, as a plain message
//! and behind the NAT-T non-ESP marker, then the EVE writer runs on what was decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::ike::{probe, IkeState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let _ = probe(data);
    let mut st = IkeState::default();
    st.parse(true, data, false);
    st.parse(false, data, false);
    st.parse(true, data, true);
    for tx in st.txs() {
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
});
