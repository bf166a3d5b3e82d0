//! Decode and flow-table throughput (bytes/s) on real traffic.
//!
//! Input: ../shared/corpus/traffic/mix.pcap when present (the corpus capture), else the
//! bundled captures/demo.pcap. Each benchmark checks its answer (packets decoded, flows
//! created) so a fast wrong result cannot pass for a fast right one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use picket::capture::pcap::PcapFileSource;
use picket::capture::{LinkType, PacketSource};
use picket::config::Config;
use picket::decode::{Decoded, Decoder};
use picket::flow::{FlowKey, FlowTable};
use picket::metrics::{Counters, C};

fn load() -> Vec<(LinkType, u64, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mix = root.join("../shared/corpus/traffic/mix.pcap");
    let path = if mix.exists() { mix } else { root.join("captures/demo.pcap") };
    let mut src = PcapFileSource::new(vec![path]);
    let mut frames = Vec::new();
    while src.next_batch(&mut |f| frames.push((f.linktype, f.ts.0, f.data.to_vec()))) {}
    frames
}

fn bench(c: &mut Criterion) {
    let frames = load();
    let bytes: u64 = frames.iter().map(|f| f.2.len() as u64).sum();
    let dec = Decoder::default();

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(20);
    g.bench_function("decode_all_frames", |b| {
        b.iter(|| {
            let mut d = Decoded::default();
            let mut cn = Counters::new();
            for (lt, _, f) in &frames {
                dec.decode(*lt, f, &mut d, &mut cn);
            }
            assert_eq!(cn.get(C::DecoderPkts), frames.len() as u64);
            cn
        })
    });
    g.finish();

    // Pre-decode so the flow benchmark measures the table alone.
    let mut cn = Counters::new();
    let decoded: Vec<(Decoded, Option<picket::flow::FlowPkt>, u64)> = frames
        .iter()
        .map(|(lt, ts, f)| {
            let mut d = Decoded::default();
            dec.decode(*lt, f, &mut d, &mut cn);
            let fp = FlowKey::of(&d, f.len());
            (d, fp, *ts)
        })
        .collect();
    let cfg = Config::default();
    let mut g = c.benchmark_group("flow");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(20);
    g.bench_function("flow_table_lookup_update", |b| {
        b.iter(|| {
            let mut t: FlowTable<()> = FlowTable::new(cfg.flow.table_config(1));
            let mut cn = Counters::new();
            let mut ended = 0u64;
            for (d, fp, ts) in &decoded {
                if let Some(fp) = fp {
                    t.packet(fp, fp.key.hash(), d, picket::capture::Timestamp(*ts), 0, &mut cn, &mut |_, _| ended += 1);
                }
            }
            t.drain(&mut cn, &mut |_, _| ended += 1);
            assert_eq!(ended, cn.get(C::FlowTotal));
            ended
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
