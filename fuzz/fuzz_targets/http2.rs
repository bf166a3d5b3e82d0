//! http2: the first byte picks the split size and the direction pattern; the rest is fed to
//! the HTTP/2 parser after a client preface (frames of every type, HPACK blocks, CONTINUATIONs,
//! padding; without the preface bit, after an h2c upgrade whose HTTP2-Settings are the input's
//! first bytes), then every transaction's buffers, keywords and EVE object run (the JSON must
//! parse).
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::http::UpgradeRequest;
use picket::app::http2::{Http2State, PREFACE};
use picket::app::Transaction;
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let mut st = Http2State::new(4096, 4096);
    if sel & 0x40 != 0 {
        st.parse(true, PREFACE);
    } else {
        // an h2c upgrade: the upgrading request first, its HTTP2-Settings from the input
        let settings = body.get(..body.len().min(48)).unwrap_or(&[]).to_vec();
        st.take_over_http1(&UpgradeRequest {
            method: b"GET".to_vec(),
            uri: Some(b"/".to_vec()),
            headers: vec![(b"Host".to_vec(), b"h".to_vec()), (b"HTTP2-Settings".to_vec(), settings)],
        });
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
