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
    // every frame type kept: the frame store is fed as the flow feeds it
    let mut frames = picket::app::frames::Frames::default();
    frames.enable(u64::MAX);
    for (i, c) in body.chunks(step).enumerate() {
        let to_server = if sel & 0x80 != 0 { i % 2 == 0 } else { sel & 0x40 == 0 };
        let gap = i == 7 && sel & 0x20 != 0;
        if gap {
            frames.gap(to_server, c.len() as u64);
        } else {
            frames.begin(to_server, c);
        }
        let mut cx = ParseCx { cfg: &cfg, stats: &mut stats, udp: false, flow: &meta, frames: &mut frames };
        let st = if gap { parser.gap(to_server, c.len() as u64, &mut cx) } else { parser.parse(to_server, c, &mut cx) };
        if !gap {
            frames.end(to_server);
        }
        check_frames(&mut frames, to_server, desc.frames);
        if st == Status::Stop {
            break;
        }
        if i % 16 == 15 {
            parser.each_tx(&mut |tx| check(tx, &cfg, buffers));
            let _ = parser.free_txs(&|id| id % 2 == 0);
        }
    }
    for d in [true, false] {
        let mut cx = ParseCx { cfg: &cfg, stats: &mut stats, udp: false, flow: &meta, frames: &mut frames };
        parser.eof(d, &mut cx);
        frames.finish(d);
        check_frames(&mut frames, d, desc.frames);
    }
    parser.each_tx(&mut |tx| check(tx, &cfg, buffers));
    let _ = parser.no_inspection();
});

/// Ready frames are within their caps and log; they go as detection lets them go.
fn check_frames(frames: &mut picket::app::frames::Frames, to_server: bool, types: &[&str]) {
    let mut out = Vec::new();
    for f in frames.ready() {
        assert!(f.bytes().len() <= picket::app::frames::MAX_FRAME_BYTES);
        assert!(f.inspect_bytes().len() <= f.bytes().len());
        assert!(usize::from(f.ty) < types.len(), "frame type beyond the protocol's rows");
        let mut j = picket::output::eve::Json::object(&mut out);
        f.write_eve(&mut j, "t", to_server);
        j.end();
        out.clear();
    }
    frames.taken(to_server);
}
