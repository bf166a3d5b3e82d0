//! Multi-pattern engines compared: Hyperscan (vectorscan) and Aho-Corasick, scanning the same
//! payloads with the same patterns: the fast patterns of every ET Open rule (one per rule,
//! chosen as the engine chooses them), over the TCP/UDP payloads of mix.pcap. Falls back to the
//! bundled rules and capture when the corpus is absent. Each run checks that both engines
//! report the same set of (payload, pattern) hits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::collections::HashSet;

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use picket::config::Config;
use picket::detect::fast_pattern::choose_fast_pattern;
use picket::detect::matcher::{Engine, Mpm, MpmScratch, PatternSpec};
use picket::rule::ast::PayloadMatch;
use picket::rule::{load_rules, Keywords};

fn inputs() -> (Vec<PatternSpec>, Vec<Vec<u8>>) {
    let (rules, pcap) = common::corpus();
    let keywords = Keywords::new(picket::app::keywords());
    let set = load_rules(&[rules], &keywords, &Config::default().vars, None, None);
    let mut pats: Vec<PatternSpec> = Vec::new();
    let mut seen = HashSet::new();
    for r in &set.rules {
        for b in &r.buffers {
            let cs: Vec<_> = b
                .matches
                .iter()
                .filter_map(|m| if let PayloadMatch::Content(c) = m { Some(c) } else { None })
                .collect();
            if let Some(p) = choose_fast_pattern(&cs) {
                if seen.insert(p.clone()) {
                    pats.push(p);
                }
                break;
            }
        }
    }
    let payloads = common::payloads(pcap);
    (pats, payloads)
}

fn hits(m: &Mpm, s: &mut MpmScratch, payloads: &[Vec<u8>]) -> HashSet<(usize, u32)> {
    let mut h = HashSet::new();
    for (i, p) in payloads.iter().enumerate() {
        m.scan(s, p, &mut |id| {
            h.insert((i, id));
        });
    }
    h
}

fn bench(c: &mut Criterion) {
    let (pats, payloads) = inputs();
    let bytes: u64 = payloads.iter().map(|p| p.len() as u64).sum();
    eprintln!("mpm bench: {} patterns, {} payloads, {} bytes", pats.len(), payloads.len(), bytes);
    let hs = Mpm::build(Engine::Hyperscan, &pats).unwrap();
    let ac = Mpm::build(Engine::AhoCorasick, &pats).unwrap();
    let mut shs = MpmScratch::default();
    hs.prepare(&mut shs).unwrap();
    let mut sac = MpmScratch::default();
    // The answers must agree before anything is timed.
    let want = hits(&hs, &mut shs, &payloads);
    let got = hits(&ac, &mut sac, &payloads);
    assert_eq!(want, got, "engines disagree");
    assert!(!want.is_empty());
    let mut g = c.benchmark_group("mpm_et_open_fast_patterns");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    for (name, m, s) in [("hyperscan", &hs, &mut shs), ("aho-corasick", &ac, &mut sac)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0u64;
                for p in &payloads {
                    m.scan(s, p, &mut |_| n += 1);
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
