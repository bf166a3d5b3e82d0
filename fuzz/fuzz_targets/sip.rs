//! sip: the first byte picks UDP or TCP and the split points; the rest is fed to the SIP
//! patterns and parser (UDP: one message each way; TCP: a stream cut in pieces), then the EVE
//! writer (with the SDP body) runs on what was decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::sip::{pattern, SipState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let _ = pattern(sel & 2 != 0, body);
    let mut st = SipState::default();
    if sel & 1 == 0 {
        st.parse_udp(true, body);
        st.parse_udp(false, body);
    } else {
        for c in body.chunks(usize::from(sel >> 2).max(1)) {
            st.parse_tcp(sel & 2 != 0, c);
        }
    }
    for tx in st.txs() {
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
});
