//! `picket bench` and the compiled-database cache, end to end on the bundled capture and rules.
//!
//! - The profile of `bench --profile --loops 1` counts, per rule, the alerts `replay` writes
//!   for the same capture (matches before thresholds equal them: the starter rules have no
//!   threshold), and the text output names the rules.
//! - A second load with the same rules takes its databases from the cache and gives the same
//!   alerts; a damaged cache file is refused with a warning, and the alerts do not change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{crate_root, picket, read_eve};
use serde_json::Value;

fn alerts_by_sid(events: &[Value]) -> BTreeMap<u64, u64> {
    let mut m = BTreeMap::new();
    for e in events.iter().filter(|e| e["event_type"] == "alert") {
        *m.entry(e["alert"]["signature_id"].as_u64().unwrap()).or_insert(0) += 1;
    }
    m
}

fn alert_list(events: &[Value]) -> Vec<(u64, String, u64)> {
    let mut v: Vec<(u64, String, u64)> = events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| {
            (
                e["alert"]["signature_id"].as_u64().unwrap(),
                e["timestamp"].as_str().unwrap().to_string(),
                e["pcap_cnt"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

/// The prefilter cache's "N hit(s), M compiled" (replay's load line, or `rules check`'s
/// "prefilter cache: DIR: N hit(s), M compiled, ...").
fn cache_counts(text: &str) -> (usize, usize) {
    let at = text.find("prefilter cache: ").unwrap_or_else(|| panic!("no cache line in: {text}"));
    let words: Vec<&str> = text[at..].split_whitespace().take(12).collect();
    let before = |w: &str| -> usize {
        let i = words.iter().position(|x| x.trim_end_matches(',') == w).unwrap_or_else(|| panic!("no {w} in: {text}"));
        words[i - 1].parse().unwrap_or_else(|_| panic!("no count before {w} in: {text}"))
    };
    (before("hit(s)"), before("compiled"))
}

fn replay(dir: &Path, name: &str, cache: &Path) -> (Vec<Value>, String) {
    let root = crate_root();
    let eve = dir.join(name);
    let (code, _out, err) = picket([
        "replay".into(),
        "--rules".into(),
        root.join("rules").into_os_string(),
        "--set".into(),
        format!("detect.cache_dir={}", cache.display()).into(),
        "--eve".into(),
        eve.clone().into_os_string(),
        root.join("captures/demo.pcap").into_os_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    (read_eve(&eve), err)
}

#[test]
fn bench_profile_counts_what_replay_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let root = crate_root();
    let cache = dir.path().join("cache");
    let (events, _) = replay(dir.path(), "eve.json", &cache);
    let want = alerts_by_sid(&events);
    assert!(!want.is_empty(), "the starter rules alert on the demo capture");

    let json = dir.path().join("bench.json");
    let (code, out, err) = picket([
        "bench".into(),
        "--rules".into(),
        root.join("rules").into_os_string(),
        "--set".into(),
        format!("detect.cache_dir={}", cache.display()).into(),
        "--profile".into(),
        "--loops".into(),
        "1".into(),
        "--workers".into(),
        "2".into(),
        "--json".into(),
        json.clone().into_os_string(),
        root.join("captures/demo.pcap").into_os_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let total: u64 = want.values().sum();
    assert_eq!(doc["median"]["alerts"].as_u64(), Some(total), "{out}");
    assert_eq!(doc["loops"].as_array().map(|l| l.len()), Some(1));
    assert!(doc["median"]["gbit_per_sec"].as_f64().unwrap() > 0.0);
    assert!(doc["rules"]["parse_secs"].is_number() && doc["rules"]["compile_secs"].is_number());

    let rules = doc["profile"]["rules"].as_array().expect("profile.rules");
    let mut matches = BTreeMap::new();
    let mut alerts = BTreeMap::new();
    for r in rules {
        let sid = r["sid"].as_u64().unwrap();
        assert!(r["checks"].as_u64().unwrap() >= r["matches"].as_u64().unwrap());
        if r["matches"].as_u64().unwrap() > 0 {
            matches.insert(sid, r["matches"].as_u64().unwrap());
        }
        if r["alerts"].as_u64().unwrap() > 0 {
            alerts.insert(sid, r["alerts"].as_u64().unwrap());
        }
    }
    assert_eq!(matches, want, "profile matches per sid vs replay alerts");
    assert_eq!(alerts, want, "profile alerts per sid vs replay alerts");
    assert!(doc["profile"]["by_keyword"]["content"]["checks"].as_u64().unwrap() > 0);
    assert!(doc["profile"]["by_buffer"].as_object().is_some_and(|b| !b.is_empty()));

    // The text names the rules (sid and msg) and the totals.
    for sid in want.keys() {
        assert!(out.contains(&sid.to_string()), "sid {sid} missing from:\n{out}");
    }
    assert!(out.contains("PICKET DEMO"), "{out}");
    assert!(out.contains("by keyword kind") && out.contains("by buffer"), "{out}");
    assert!(out.contains("median:"), "{out}");
}

#[test]
fn the_cache_skips_compiling_and_a_damaged_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let (first, err1) = replay(dir.path(), "1.json", &cache);
    let files: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hsdb"))
        .collect();
    assert!(!files.is_empty(), "nothing stored in the cache");
    // Every distinct database is compiled once; groups with the same patterns (the http.*
    // buffers of HTTP/1 and HTTP/2) find the first one's file in the same load.
    let (hits, compiled) = cache_counts(&err1);
    assert_eq!(compiled, files.len(), "{err1}");
    let lookups = hits + compiled;
    // With an empty cache the databases were compiled in the background (Aho-Corasick
    // inspected meanwhile), and the replay waited for them so that they are all stored.
    assert!(err1.contains(&format!("{compiled} compiling in the background")), "{err1}");
    assert!(err1.contains(&format!("{compiled} vectorscan database(s) compiled in the background")), "{err1}");

    let (second, err2) = replay(dir.path(), "2.json", &cache);
    assert_eq!(cache_counts(&err2), (lookups, 0), "{err2}");
    assert!(!err2.contains("background"), "{err2}");
    assert_eq!(alert_list(&first), alert_list(&second));
    assert!(!alert_list(&first).is_empty());

    // `rules check` reports the hits too.
    let root = crate_root();
    let (code, out, err) = picket([
        "rules".into(),
        "check".into(),
        "--rules".into(),
        root.join("rules").into_os_string(),
        "--set".into(),
        format!("detect.cache_dir={}", cache.display()).into(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(cache_counts(&out), (lookups, 0), "{out}");

    // Damage one file (a flipped byte in the database) and truncate another.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();
    if let Some(f) = files.get(1) {
        let b = std::fs::read(f).unwrap();
        std::fs::write(f, &b[..b.len() / 3]).unwrap();
    }
    let bad = files.len().min(2);
    let (third, err3) = replay(dir.path(), "3.json", &cache);
    assert!(err3.contains(&format!("{bad} bad file(s) replaced")), "{err3}");
    assert!(err3.contains("warning") && err3.contains(".hsdb"), "{err3}");
    assert_eq!(alert_list(&first), alert_list(&third));
    // ... and was replaced: the next load hits again.
    let (_, err4) = replay(dir.path(), "4.json", &cache);
    assert_eq!(cache_counts(&err4), (lookups, 0), "{err4}");

    // An empty setting turns the cache off.
    let (code, out, _) = picket([
        "rules".into(),
        "check".into(),
        "--rules".into(),
        root.join("rules").into_os_string(),
        "--set".into(),
        "detect.cache_dir=".into(),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("prefilter cache: off"), "{out}");
}
