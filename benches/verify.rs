//! Verification: the rules the prefilter names, checked against the payload that named
//! them. ET Open's payload rules (the `content`/`pcre`/`byte_*` lists of rules without sticky
//! buffers) are compiled as the engine compiles them; an untimed Hyperscan pass over the
//! TCP/UDP payloads of mix.pcap finds every (payload, rule) pair whose fast pattern occurs;
//! the timed part runs `verify::inspect` on each pair. Each run must find as many matches as
//! the untimed pass. Falls back to the bundled rules and capture when the corpus is absent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::collections::HashMap;

mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use picket::config::Config;
use picket::detect::fast_pattern::choose_fast_pattern;
use picket::detect::matcher::{Engine, Mpm, MpmScratch, PatternSpec};
use picket::detect::verify::{self, CompiledList, VerifyScratch};
use picket::rule::ast::{Buffer, PayloadMatch};
use picket::rule::{load_rules, Keywords};

struct Inputs {
    lists: Vec<CompiledList>,
    payloads: Vec<Vec<u8>>,
    /// (payload index, list index) pairs the prefilter names.
    pairs: Vec<(u32, u32)>,
}

fn inputs() -> Inputs {
    let (rules, pcap) = common::corpus();
    let keywords = Keywords::new(picket::app::keywords());
    let set = load_rules(&[rules], &keywords, &Config::default().vars, None, None);
    let mut lists = Vec::new();
    let mut pats: Vec<PatternSpec> = Vec::new();
    let mut by_pat: HashMap<PatternSpec, u32> = HashMap::new();
    let mut owners: Vec<Vec<u32>> = Vec::new();
    for r in &set.rules {
        if r.buffers.iter().any(|b| b.buffer != Buffer::Payload) {
            continue;
        }
        let Some(b) = r.buffers.first() else { continue };
        let cs: Vec<_> =
            b.matches.iter().filter_map(|m| if let PayloadMatch::Content(c) = m { Some(c) } else { None }).collect();
        let (Some(fp), Ok(list)) = (choose_fast_pattern(&cs), verify::compile(b)) else { continue };
        let li = lists.len() as u32;
        lists.push(list);
        let pi = *by_pat.entry(fp.clone()).or_insert_with(|| {
            pats.push(fp);
            owners.push(Vec::new());
            (pats.len() - 1) as u32
        });
        owners[pi as usize].push(li);
    }
    let payloads = common::payloads(pcap);
    let mpm = Mpm::build(Engine::Hyperscan, &pats).expect("prefilter database");
    let mut s = MpmScratch::default();
    mpm.prepare(&mut s).expect("scratch");
    let mut pairs = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let mut named = Vec::new();
        mpm.scan(&mut s, p, &mut |id| named.push(id));
        named.sort_unstable();
        named.dedup();
        for id in named {
            pairs.extend(owners[id as usize].iter().map(|&l| (i as u32, l)));
        }
    }
    Inputs { lists, payloads, pairs }
}

fn run(inp: &Inputs, scratch: &mut VerifyScratch) -> u64 {
    let mut vars = [0i64; picket::rule::ast::MAX_VARS];
    let mut n = 0;
    for &(p, l) in &inp.pairs {
        if verify::inspect(&inp.lists[l as usize], &inp.payloads[p as usize], &mut vars, scratch) {
            n += 1;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let inp = inputs();
    let bytes: u64 = inp.pairs.iter().map(|&(p, _)| inp.payloads[p as usize].len() as u64).sum();
    let mut scratch = VerifyScratch::default();
    let want = run(&inp, &mut scratch);
    eprintln!(
        "verify bench: {} rule lists, {} payloads, {} candidate pairs ({} bytes), {} matches",
        inp.lists.len(),
        inp.payloads.len(),
        inp.pairs.len(),
        bytes,
        want
    );
    assert!(want > 0 && (want as usize) < inp.pairs.len(), "{want} matches of {} candidates", inp.pairs.len());
    let mut g = c.benchmark_group("verify_et_open_candidates");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("inspect", |b| {
        b.iter(|| {
            let n = run(&inp, &mut scratch);
            assert_eq!(n, want);
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
