//! dhcp: the input is fed to the DHCP probe and parser as a datagram each way, then both EVE
//! writers (record and alert objects) run on what was decoded and must give valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::dhcp::{probe, DhcpState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let _ = probe(data);
    let mut st = DhcpState::default();
    st.parse_packet(true, data);
    st.parse_packet(false, data);
    for tx in st.txs() {
        for extended in [false, true] {
            let mut out = Vec::new();
            let mut j = Json::object(&mut out);
            tx.write_eve(&mut j, extended);
            j.end();
            assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
        }
    }
});
