//! pop3: the first byte picks the split size, the direction pattern and gaps; the rest is fed
//! to the POP3 probe and parser in pieces, then the EVE writer runs on every transaction (its
//! JSON must parse).
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::pop3::{probe, Pop3State};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let _ = probe(body, true);
    let _ = probe(body, false);
    let mut st = Pop3State::new();
    for (i, c) in body.chunks(usize::from(sel & 0x1f).max(1) * 7).enumerate() {
        let to_server = if sel & 0x80 != 0 { i % 2 == 0 } else { sel & 0x40 == 0 };
        if sel & 0x20 != 0 && i % 5 == 4 {
            st.gap(to_server, c.len() as u64);
            continue;
        }
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
