//! Indicators end to end on the real binary: `picket intel import` of a MISP event and a STIX
//! 2.1 bundle, then `picket replay --rules DIR` of a capture carrying the indicators; dataset
//! `state` saved when the replay ends; datarep thresholds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use std::path::{Path, PathBuf};

use common::{picket, replay_files, Run};

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/demo.pcap")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/intel").join(name)
}

fn alerts(r: &Run) -> Vec<(u64, String)> {
    let mut v: Vec<(u64, String)> = r
        .events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .map(|e| {
            (
                e["alert"]["signature_id"].as_u64().unwrap_or(0),
                e["alert"]["signature"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn sids(r: &Run) -> Vec<u64> {
    alerts(r).into_iter().map(|(s, _)| s).collect()
}

#[test]
fn misp_event_import_alerts_on_the_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("intel");
    // Dry run: says what it would write, writes nothing.
    let (code, stdout, _) = picket(
        ["intel", "import", "--dry-run", "--sid-base", "9200000", "-o"]
            .iter()
            .map(|s| s.to_string())
            .chain([out.display().to_string(), fixture("misp-event.json").display().to_string()]),
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("would write") && stdout.contains("misp-event.rules"), "{stdout}");
    assert!(stdout.contains("skipped: Event.Attribute[4] (regkey): type not matched on the wire"), "{stdout}");
    assert!(!out.exists());
    let (code, stdout, stderr) = picket([
        "intel".to_string(),
        "import".into(),
        "--source".into(),
        "circl".into(),
        "--sid-base".into(),
        "9200000".into(),
        "-o".into(),
        out.display().to_string(),
        fixture("misp-event.json").display().to_string(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "1 event(s), indicators: 1 domain, 1 url, 1 ip, 1 md5, 1 sha256; 8 rule(s), sids 9200000-9209999"
        ),
        "{stdout}"
    );
    assert!(out.join("circl.rules").exists() && out.join("circl-e0-domain.lst").exists());
    let r = replay_files(dir.path(), &[demo()], &["--rules", out.to_str().unwrap(), "--workers", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // DNS query for example.com, HTTP host updates.example.com (a subdomain), the URL, and the
    // address both ways.
    assert_eq!(sids(&r), [9200000, 9200002, 9200005, 9200006, 9200007], "{:?}", alerts(&r));
    let (_, msg) = &alerts(&r)[0];
    assert_eq!(msg, "PICKET-INTEL circl event 1287 (Fake updater campaign delivering loader): domain in a DNS query");
    let meta = r.events.iter().find(|e| e["alert"]["signature_id"] == 9200000).map(|e| e["alert"]["metadata"].clone());
    assert_eq!(meta.as_ref().map(|m| m["intel_event"][0].clone()), Some("1287".into()), "{meta:?}");
}

#[test]
fn stix_bundle_import_alerts_on_the_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("intel");
    let (code, stdout, stderr) = picket([
        "intel".to_string(),
        "import".into(),
        "--sid-base".into(),
        "9300000".into(),
        "-o".into(),
        out.display().to_string(),
        fixture("stix-bundle.json").display().to_string(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("skipped: objects[5] (indicator) indicator--d1e2f3a4"), "{stdout}");
    let r = replay_files(dir.path(), &[demo()], &["--rules", out.to_str().unwrap(), "--workers", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The report's domain (HTTP host) and resolver address (both directions of the DNS flow).
    assert_eq!(sids(&r), [9300002, 9300003, 9300004], "{:?}", alerts(&r));
    assert!(alerts(&r)[0].1.contains("event report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3 (Updater infrastructure)"));
    // A malformed bundle: an error naming the element, exit 1.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"type":"bundle","objects":[{"type":"indicator","id":"indicator--9"}]}"#).unwrap();
    let (code, _, stderr) = picket([
        "intel".to_string(),
        "import".into(),
        "-o".into(),
        out.display().to_string(),
        bad.display().to_string(),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("objects[0] (indicator) indicator--9: no \"pattern\""), "{stderr}");
}

#[test]
fn dataset_state_is_saved_and_datarep_compares() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rules = dir.path().join("t.rules");
    std::fs::write(dir.path().join("rep.csv"), "ZXhhbXBsZS5jb20=,80\n").unwrap(); // example.com,80
    std::fs::write(
        &rules,
        "alert dns any any -> any any (msg:\"seen\"; dns.query; dataset:set,seen-dns, type string, state seen.lst; sid:1;)\n\
         alert dns any any -> any any (msg:\"bad rep\"; dns.query; datarep:rep, >, 50, type string, load rep.csv; sid:2;)\n\
         alert dns any any -> any any (msg:\"low rep\"; dns.query; datarep:rep, <, 50, type string, load rep.csv; sid:3;)\n\
         alert http any any -> any any (msg:\"host not seen\"; http.host; dataset:isnotset,seen-dns; sid:4;)\n",
    )
    .unwrap();
    let set = format!("detect.datasets.data_dir={}", data.display());
    let r = replay_files(dir.path(), &[demo()], &["--rules", rules.to_str().unwrap(), "--workers", "1", "--set", &set]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sids(&r), [1, 2, 4], "{:?}", alerts(&r));
    assert_eq!(std::fs::read_to_string(data.join("seen.lst")).unwrap(), "ZXhhbXBsZS5jb20=\n");
    // The saved state is loaded again: the name is no longer new.
    let r = replay_files(dir.path(), &[demo()], &["--rules", rules.to_str().unwrap(), "--workers", "1", "--set", &set]);
    assert_eq!(sids(&r), [2, 4], "{:?}", alerts(&r));
}

/// A set's binary state: written beside its `state` file at the end, read at the next start;
/// a damaged one is ignored (logged) and the text read instead.
#[test]
fn dataset_binary_state_is_used_and_a_damaged_one_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rules = dir.path().join("t.rules");
    std::fs::write(
        &rules,
        "alert dns any any -> any any (msg:\"seen\"; dns.query; dataset:set,seen-dns, type string, state seen.lst; sid:1;)\n",
    )
    .unwrap();
    let set = format!("detect.datasets.data_dir={}", data.display());
    let args: &[&str] = &[
        "--rules",
        rules.to_str().unwrap(),
        "--workers",
        "1",
        "--set",
        &set,
        "--set",
        "detect.datasets.binary_state_min=1",
    ];
    let r = replay_files(dir.path(), &[demo()], args);
    assert_eq!((r.code, sids(&r)), (0, vec![1]), "{}", r.stderr);
    let bin = data.join("seen.lst.pkds");
    assert!(bin.exists(), "{}", r.stderr);
    let r = replay_files(dir.path(), &[demo()], args);
    assert_eq!(sids(&r), Vec::<u64>::new(), "{:?}", alerts(&r));
    assert!(!r.stderr.contains("binary state"), "{}", r.stderr);
    // One byte of the body changed: the checksum says so, the text is read.
    let mut b = std::fs::read(&bin).unwrap();
    let last = b.len() - 1;
    b[last] ^= 0xff;
    std::fs::write(&bin, b).unwrap();
    let r = replay_files(dir.path(), &[demo()], args);
    assert!(r.stderr.contains("damaged (checksum mismatch)"), "{}", r.stderr);
    assert_eq!(sids(&r), Vec::<u64>::new(), "{:?}", alerts(&r));
}

/// `format json`: the alert carries the matched entry's object in `alert.context`.
#[test]
fn dataset_json_format_puts_the_entry_in_the_alert_context() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("t.rules");
    std::fs::write(
        dir.path().join("intel.json"),
        r#"{"feed": {"items": [
            {"domain": "example.com", "actor": "APT-x", "score": 80, "tags": ["c2", "dns"]},
            {"domain": "other.example", "actor": "none"},
            {"ip": "192.0.2.1"}
        ]}}"#,
    )
    .unwrap();
    std::fs::write(
        &rules,
        "alert dns any any -> any any (msg:\"intel\"; dns.query; dataset:isset,intel-json, type string, \
         load intel.json, format json, array_key feed.items, value_key domain, context_key threat, remove_key; sid:7;)\n",
    )
    .unwrap();
    let r = replay_files(dir.path(), &[demo()], &["--rules", rules.to_str().unwrap(), "--workers", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let a: Vec<_> = r.events.iter().filter(|e| e["event_type"] == "alert").collect();
    assert_eq!(a.len(), 1, "{:?}", alerts(&r));
    assert_eq!(
        a[0]["alert"]["context"]["threat"],
        serde_json::json!({"actor": "APT-x", "score": 80, "tags": ["c2", "dns"]})
    );
}

/// `iprep` with Suricata's categories and reputation files: the alert counts are Suricata
/// 8's on the same capture, rules and files (IP-only rules once per flow direction).
#[test]
fn iprep_alerts_on_listed_addresses_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("categories.txt"), "1,BadHosts,Known bad hosts\n2,Scanners,Scanning hosts\n").unwrap();
    std::fs::write(
        d.join("rep.list"),
        "ip,cat,score\n198.51.100.20,1,90\n198.51.100.0/24,1,40\n2001:db8::/32,2,80\n192.0.2.300,1,5\n",
    )
    .unwrap();
    let rules = d.join("t.rules");
    std::fs::write(
        &rules,
        "alert ip any any -> any any (msg:\"bad dst\"; iprep:dst,BadHosts,>,80; sid:1;)\n\
         alert ip any any -> any any (msg:\"any bad\"; iprep:any,BadHosts,>,30; sid:2;)\n\
         alert tcp any any -> any 80 (msg:\"GET to bad\"; content:\"GET\"; iprep:dst,BadHosts,=,90; sid:3;)\n\
         alert ip any any -> any any (msg:\"v6 scanners\"; iprep:both,Scanners,>=,80; sid:4;)\n\
         alert ip any any -> any any (msg:\"notset\"; iprep:src,BadHosts,isnotset; sid:5;)\n\
         alert udp any any -> any any (msg:\"unknown\"; iprep:dst,Nope,>,1; sid:6;)\n",
    )
    .unwrap();
    let cats = format!("detect.reputation.categories_file={}", d.join("categories.txt").display());
    let path = format!("detect.reputation.default_path={}", d.display());
    let files = "detect.reputation.files=[\"rep.list\"]";
    let args = ["--rules", rules.to_str().unwrap(), "--workers", "1", "--set", &cats, "--set", &path, "--set", files];
    let r = replay_files(d, &[demo()], &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut count = std::collections::BTreeMap::new();
    for s in sids(&r) {
        *count.entry(s).or_insert(0) += 1;
    }
    assert_eq!(count.into_iter().collect::<Vec<_>>(), [(1, 1), (2, 7), (3, 1), (4, 2), (5, 6)], "{:?}", alerts(&r));
    assert!(r.stderr.contains("rep.list:5: '192.0.2.300' is not an IP address (line skipped)"), "{}", r.stderr);
    // The rule naming an unknown category is refused with the reason.
    let (_, stdout, stderr) = picket(
        ["rules", "check", "-v"]
            .iter()
            .map(|s| s.to_string())
            .chain(args.iter().filter(|a| **a != "--workers" && **a != "1").map(|s| s.to_string())),
    );
    assert!(
        format!("{stdout}{stderr}").contains("iprep: unknown category 'Nope' (not in the categories file)"),
        "{stdout}{stderr}"
    );
}
