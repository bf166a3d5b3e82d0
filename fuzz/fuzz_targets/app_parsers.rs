//! app_parsers: every protocol of the registry through the plug-in interface. The first byte
//! picks the protocol, the second the split size, the direction pattern and where a gap
//! falls; the rest is fed to the protocol's parser in pieces, then every transaction's
//! buffers, events, files, alert object and record run (their JSON must parse). New
//! protocols are covered as soon as they are registered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::expect::Endpoints;
use picket::app::registry::protocols;
use picket::app::{AppConfig, AppStats, FlowMeta, ParseCx, RecordCx, Status, Transaction};
use picket::output::eve::Json;

fn check(tx: &dyn Transaction, cfg: &AppConfig, buffers: usize) {
    let _ = (tx.id(), tx.progress(), tx.direction(), tx.record_ready(), tx.events().len());
    tx.files(&mut |f| {
        let _ = f.size;
    });
    for b in 0..buffers as u16 {
        for side in [true, false] {
            tx.buffer(b, side, &mut |x| x.len() > 1 << 30);
        }
    }
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_alert_eve(&mut j);
    j.end();
    assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    let _ = tx.write_record(&mut j, &RecordCx { cfg });
    j.end();
    assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
}

fuzz_target!(|data: &[u8]| {
    let [psel, sel, body @ ..] = data else { return };
    let all: Vec<_> = protocols().collect();
    let Some(desc) = all.get(usize::from(*psel) % all.len().max(1)) else { return };
    let cfg = AppConfig::default();
    let mut stats = AppStats::default();
    let mut meta = FlowMeta::default();
    meta.ends = Endpoints { src: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], dst: [10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], sp: 40000, dp: 21 };
    let mut parser = (desc.new_parser)(&cfg);
    let step = usize::from(sel & 0x1f).max(1);
    let buffers = (desc.buffers)().len();
    for (i, c) in body.chunks(step).enumerate() {
        let to_server = if sel & 0x80 != 0 { i % 2 == 0 } else { sel & 0x40 == 0 };
        let mut cx = ParseCx { cfg: &cfg, stats: &mut stats, udp: false, flow: &meta };
        let st = if i == 7 && sel & 0x20 != 0 {
            parser.gap(to_server, c.len() as u64, &mut cx)
        } else {
            parser.parse(to_server, c, &mut cx)
        };
        if st == Status::Stop {
            break;
        }
        if i % 16 == 15 {
            parser.each_tx(&mut |tx| check(tx, &cfg, buffers));
            let _ = parser.free_txs(&|id| id % 2 == 0);
        }
    }
    for d in [true, false] {
        let mut cx = ParseCx { cfg: &cfg, stats: &mut stats, udp: false, flow: &meta };
        parser.eof(d, &mut cx);
    }
    parser.each_tx(&mut |tx| check(tx, &cfg, buffers));
    let _ = parser.no_inspection();
});
