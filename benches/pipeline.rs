//! The whole pipeline (reader, 2 workers, output thread), as `picket bench` runs it: mix.pcap
//! held in memory, without rules and with ET Open (falls back to captures/demo.pcap and the
//! bundled rules when the corpus is absent). Throughput in captured bytes. Each run checks the
//! packets, flows and alerts against a first, untimed run (the bench's answer).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use picket::config::Config;
use picket::detect::load_engine;
use picket::runtime::bench::{Bench, BenchOptions, LoopResult};

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mix = root.join("../shared/corpus/traffic/mix.pcap");
    let et = root.join("../shared/corpus/et-open");
    let (pcap, rules) =
        if mix.exists() && et.exists() { (mix, et) } else { (root.join("captures/demo.pcap"), root.join("rules")) };
    let mut config = Config::default();
    // The benchmark measures the pipeline, not the disk: no database cache either way.
    config.detect.cache_dir = String::new();
    let (engine, _) = load_engine(&[rules], &config.detect, &config.vars);
    let engine = Arc::new(engine);

    let mut g = c.benchmark_group("pipeline_mix");
    g.sample_size(10);
    for (name, detect) in [("no_rules", None), ("et_open", Some(engine))] {
        let opts = BenchOptions { inputs: vec![pcap.clone()], config: config.clone(), workers: 2, profile: false };
        let mut b = Bench::new(opts, detect);
        let want = b.run_once().expect("first run");
        eprintln!("pipeline {name}: {}", want.line());
        assert!(want.packets > 0 && want.flows > 0);
        g.throughput(Throughput::Bytes(b.bytes()));
        g.bench_function(name, |it| {
            it.iter(|| {
                let got: LoopResult = b.run_once().expect("run");
                assert_eq!((got.packets, got.flows), (want.packets, want.flows));
                // Thresholds tracked by source are shared by the workers, so the order in
                // which two workers reach one can move an alert by one (as in Suricata).
                assert!(got.alerts.abs_diff(want.alerts) <= 3, "{} alerts, first run {}", got.alerts, want.alerts);
                got.alerts
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
