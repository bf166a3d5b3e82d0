//! Loads the real ET Open ruleset and the conformance suite's rules with the rule parser.
//!
//! - `../shared/corpus/et-open`: no panic, at least 23,000 of its 24,827 enabled rules parse
//!   (a rule refused as `Unsupported` because of a keyword without a typed form counts as not
//!   parsed); prints the errors by label and the load time.
//! - `../shared/conformance/suites/sv-dev/*/test.rules`: prints every rule that fails.
//!
//! Both are skipped, with a message, when the data is absent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use picket::config::VarsConfig;
use picket::rule::{load_rules, Keywords, RuleSet};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

fn by_label(set: &RuleSet) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in &set.errors {
        *m.entry(e.kind.label()).or_insert(0) += 1;
    }
    m
}

#[test]
fn et_open_loads() {
    let dir = shared().join("corpus/et-open");
    if !dir.is_dir() {
        eprintln!("skipped: {} not found", dir.display());
        return;
    }
    let vars = VarsConfig::default();
    let t0 = Instant::now();
    let keywords = Keywords::new(picket::app::keywords());
    let set = load_rules(std::slice::from_ref(&dir), &keywords, &vars, None, None);
    let secs = t0.elapsed().as_secs_f64();
    let total = set.rules.len() + set.errors.len();
    println!(
        "ET Open: {} files, {} rules: {} parsed, {} errors, {:.3} s",
        set.files,
        total,
        set.rules.len(),
        set.errors.len(),
        secs
    );
    let mut labels: Vec<(String, usize)> = by_label(&set).into_iter().collect();
    labels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("{:>7}  error", "rules");
    for (label, n) in &labels {
        println!("{n:>7}  {label}");
    }
    for e in set.errors.iter().filter(|e| !matches!(e.kind, picket::rule::ErrorKind::Unsupported(_))).take(40) {
        println!("  {e}");
    }
    assert!(set.files > 40, "rule files read: {}", set.files);
    assert!(set.rules.len() >= 23_000, "only {} rules parsed", set.rules.len());
    assert!(!set.var_names.flowbits.is_empty());
}

#[test]
fn conformance_rules_load() {
    let dir = shared().join("conformance/suites/sv-dev");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} not found", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else if p.file_name().is_some_and(|n| n == "test.rules") {
            files.push(p);
        }
    }
    files.sort();
    let vars = VarsConfig::default();
    let keywords = Keywords::new(picket::app::keywords());
    let (mut rules, mut failed) = (0usize, 0usize);
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let set = load_rules(std::slice::from_ref(f), &keywords, &vars, None, None);
        rules += set.rules.len() + set.errors.len();
        failed += set.errors.len();
        for e in &set.errors {
            *labels.entry(e.kind.label()).or_insert(0) += 1;
            println!("  {e}");
        }
    }
    println!("conformance: {} rule files, {rules} rules, {failed} not loaded", files.len());
    for (label, n) in &labels {
        println!("{n:>7}  {label}");
    }
}
