//! http2: the first byte picks the split size and the direction pattern; the rest is fed to
//! the HTTP/2 parser after a client preface (frames of every type, HPACK blocks, CONTINUATIONs,
//! padding), then every transaction's buffers, keywords and EVE object run (the JSON must parse).
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::http2::{Http2State, PREFACE};
use picket::app::Transaction;
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let mut st = Http2State::new(4096, 4096);
    if sel & 0x40 != 0 {
        st.parse(true, PREFACE);
    }
    for (i, c) in body.chunks(usize::from(sel & 0x3f).max(1)).enumerate() {
        st.parse(!(sel & 0x80 != 0 && i % 2 == 1), c);
    }
    for tx in st.txs() {
        for b in 0..40 {
            for side in [true, false] {
                tx.buffer(b, side, &mut |x| x.len() > 1 << 30);
            }
        }
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_alert_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
});
