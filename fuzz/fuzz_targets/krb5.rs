//! krb5: the first byte picks UDP or TCP and the split points; the rest is fed to the
//! Kerberos parser (UDP: one message each way; TCP: a stream cut in pieces), then the probes,
//! every keyword and the EVE writer run on what was decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::krb5::{probe_tcp, probe_udp, Krb5State};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let _ = probe_udp(body);
    let _ = probe_tcp(body);
    let mut st = Krb5State::default();
    if sel & 1 == 0 {
        st.parse_message(true, body);
        st.parse_message(false, body);
    } else {
        let step = usize::from(sel >> 1).max(1);
        for c in body.chunks(step) {
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
