//! ntp: the input is fed to the NTP probe and parser as a datagram each way, then the EVE
//! writer runs on what was decoded and must give valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::ntp::{probe, NtpState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let _ = probe(data);
    let mut st = NtpState::default();
    st.parse_packet(true, data);
    st.parse_packet(false, data);
    for tx in st.txs() {
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
});
