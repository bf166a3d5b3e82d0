//! nfs: the first byte picks UDP or TCP, the direction pattern and the split points; the rest
//! is fed to the NFS parser (UDP: datagrams; TCP: a stream cut in pieces with a gap now and
//! then), then the probes and the EVE writer run on what was decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::nfs::{probe_tcp, probe_udp, NfsState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    for ts in [true, false] {
        let _ = probe_udp(ts, body);
        let _ = probe_tcp(ts, body);
    }
    let udp = sel & 1 == 0;
    let mut st = NfsState::new(udp);
    let step = usize::from(sel >> 2).max(1);
    for (i, c) in body.chunks(step).enumerate() {
        let ts = (i + usize::from(sel & 2 != 0)) % 2 == 0;
        if udp {
            st.parse_udp(ts, c);
        } else if i % 7 == 6 {
            st.gap_tcp(ts, c.len() as u64);
        } else {
            st.parse_tcp(ts, c);
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
