//! websocket: the input is fed to the WebSocket parser in pieces (the first byte sets their
//! size and the direction pattern), with every frame type kept; each frame's transaction must
//! hold at most the kept payload, and its EVE object must be valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::websocket::{WebsocketState, MAX_PAYLOAD, MAX_TXS};
use picket::app::{AppConfig, AppParser, AppStats, FlowMeta, ParseCx};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let [sel, body @ ..] = data else { return };
    let (cfg, mut stats, meta) = (AppConfig::default(), AppStats::default(), FlowMeta::default());
    let mut frames = picket::app::frames::Frames::default();
    frames.enable(u64::MAX);
    let mut st = WebsocketState::default();
    for (i, c) in body.chunks(usize::from(sel & 0x3f).max(1)).enumerate() {
        let to_server = if sel & 0x80 != 0 { i % 2 == 0 } else { sel & 0x40 == 0 };
        frames.begin(to_server, c);
        let mut cx = ParseCx { cfg: &cfg, stats: &mut stats, udp: false, flow: &meta, frames: &mut frames };
        st.parse(to_server, c, &mut cx);
        frames.end(to_server);
    }
    assert!(st.txs().count() <= MAX_TXS);
    for tx in st.txs() {
        assert!(tx.payload.len() <= MAX_PAYLOAD + 4);
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
});
