//! snmp: the input is fed to the SNMP probe and parser as a datagram each way (twice, so the
//! flow's version check runs), then the EVE writer runs on what was decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::snmp::{envelope_version, probe, SnmpState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let _ = probe(data);
    let _ = envelope_version(data);
    let mut st = SnmpState::default();
    st.parse(true, data);
    st.parse(false, data);
    for tx in st.txs() {
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
});
