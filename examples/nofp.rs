use picket::config::Config;
use picket::detect::load_engine;
use picket::rule::ast::*;
use std::collections::BTreeMap;
fn main() {
    let cfg = Config::default();
    let (e, _) = load_engine(&[std::path::PathBuf::from("../shared/corpus/et-open")], &cfg);
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for r in &e.rules {
        if r.fast_pattern.is_some() || r.ip_only || r.swapped {
            continue;
        }
        let mut k: Vec<String> =
            r.rule.packet.iter().map(|m| format!("{:?}", m).split('(').next().unwrap().to_string()).collect();
        for b in &r.rule.buffers {
            for m in &b.matches {
                k.push(format!("{:?}", m).split('(').next().unwrap().to_string());
            }
        }
        k.push(format!("{:?}", r.rule.proto.transport));
        if r.rule.flow.established {
            k.push("est".into());
        }
        if !r.rule.flowbits.is_empty() {
            k.push("flowbits".into());
        }
        if r.rule.threshold.is_some() {
            k.push("thr".into());
        }
        k.sort();
        k.dedup();
        *by.entry(k.join(",")).or_default() += 1;
    }
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1));
    for (k, n) in v.iter().take(25) {
        println!("{n:5} {k}");
    }
}
