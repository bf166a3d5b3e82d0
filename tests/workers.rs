//! Acceptance: the number of workers does not change the flows. `mix.pcap` (the shared
//! corpus; skipped with a message when absent) replayed with `--workers 1` and `--workers 4`
//! gives the same multiset of flow events, compared on their tuple, VLANs, packet and byte
//! counts both ways and start time. Since a flow whose two directions met different workers
//! would show up as two half-flows with different counts, equality also shows that every
//! flow's both directions landed on one worker.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

/// The compared identity of a flow event.
fn flow_key(f: &Value) -> String {
    let s = |k: &str| f.get(k).map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    let fl = &f["flow"];
    format!(
        "{} {}:{} -> {}:{} vlan={} ts={}/{} tc={}/{} start={}",
        s("proto"),
        s("src_ip"),
        s("src_port"),
        s("dest_ip"),
        s("dest_port"),
        s("vlan"),
        fl["pkts_toserver"],
        fl["bytes_toserver"],
        fl["pkts_toclient"],
        fl["bytes_toclient"],
        fl["start"],
    )
}

fn multiset(r: &Run) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in r.flows() {
        *m.entry(flow_key(f)).or_insert(0) += 1;
    }
    m
}

/// Entries whose counts differ, at most `n` of them.
fn diff(a: &BTreeMap<String, usize>, b: &BTreeMap<String, usize>, n: usize) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (a.get(k).copied().unwrap_or(0), b.get(k).copied().unwrap_or(0));
            (x != y).then(|| format!("{x} vs {y}: {k}"))
        })
        .take(n)
        .collect()
}

/// Replays `mix` with `workers` workers and the extra arguments; must succeed.
fn run(mix: &std::path::Path, workers: &str, extra: &[String]) -> Run {
    let d = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = vec!["--workers", workers];
    args.extend(extra.iter().map(String::as_str));
    let r = replay_files(d.path(), &[mix], &args);
    assert_eq!(r.code, 0, "--workers {workers}: {}", r.stderr);
    r
}

fn assert_same_flows(r1: &Run, r4: &Run) {
    let total1 = r1.counter("flow.total");
    let total4 = r4.counter("flow.total");
    assert!(total1 > 1000, "mix.pcap should hold many flows, got {total1}");
    assert_eq!(r1.flows().len() as u64, total1, "one flow event per flow (1 worker)");
    assert_eq!(r4.flows().len() as u64, total4, "one flow event per flow (4 workers)");
    for c in ["decoder.pkts", "decoder.bytes", "decoder.invalid", "flow.emerg_mode_entered"] {
        assert_eq!(r1.counter(c), r4.counter(c), "{c} with 1 and 4 workers");
    }
    let (m1, m4) = (multiset(r1), multiset(r4));
    let d = diff(&m1, &m4, 20);
    assert!(
        d.is_empty(),
        "flow events differ between 1 and 4 workers (flow.total {total1} vs {total4}; first {} differences, count with 1 vs with 4):\n{}",
        d.len(),
        d.join("\n")
    );
    for c in ["flow.total", "flow.tcp", "flow.udp", "flow.icmpv4", "flow.icmpv6", "flow.tcp_reuse"] {
        assert_eq!(r1.counter(c), r4.counter(c), "{c} with 1 and 4 workers");
    }
}

/// The acceptance criterion, with the default configuration.
#[test]
fn one_and_four_workers_give_the_same_flows() {
    let Some(mix) = corpus_file("traffic/mix.pcap") else {
        eprintln!("skipped: ../shared/corpus/traffic/mix.pcap is not present");
        return;
    };
    let r1 = run(&mix, "1", &[]);
    let r4 = run(&mix, "4", &[]);
    assert_same_flows(&r1, &r4);
}

/// The same comparison with every timeout longer than the capture (its packet times span
/// 0 to ~1.95e9 s), so that flows end only by TCP reuse or at shutdown: what is left to
/// differ is how packets are sharded, and a flow split across workers would differ.
#[test]
fn one_and_four_workers_give_the_same_flows_without_timeouts() {
    let Some(mix) = corpus_file("traffic/mix.pcap") else {
        eprintln!("skipped: ../shared/corpus/traffic/mix.pcap is not present");
        return;
    };
    let mut sets = Vec::new();
    for proto in ["default", "tcp", "udp", "icmp"] {
        for k in [
            "new_secs",
            "established_secs",
            "closed_secs",
            "emergency_new_secs",
            "emergency_established_secs",
            "emergency_closed_secs",
        ] {
            sets.push("--set".to_string());
            sets.push(format!("flow.timeouts.{proto}.{k}=4000000000"));
        }
    }
    let r1 = run(&mix, "1", &sets);
    let r4 = run(&mix, "4", &sets);
    assert_eq!(r1.counter("flow.emerg_mode_entered"), 0, "the flow tables must not fill up");
    assert!(r1.flows().iter().all(|f| f["flow"]["reason"] != "timeout"), "no flow may time out with these timeouts");
    assert_same_flows(&r1, &r4);
}

/// An FTP data connection is identified from its control flow's announcement whatever the
/// number of workers: possible FTP flows are sharded by their addresses (`flow::shard_hash`), so
/// the data connection meets the worker that parsed the announcement, in packet order. Before,
/// two workers found 9-10 of mix.pcap's 13 `ftp-data` flows, varying between runs.
#[test]
fn ftp_data_flows_are_the_same_with_any_number_of_workers() {
    let Some(mix) = corpus_file("traffic/mix.pcap") else {
        eprintln!("skipped: ../shared/corpus/traffic/mix.pcap is not present");
        return;
    };
    let ftp_data = |r: &Run| {
        let mut v: Vec<String> =
            r.flows().iter().filter(|f| f["app_proto"] == "ftp-data").map(|f| f["flow_id"].to_string()).collect();
        v.sort();
        v
    };
    let one = ftp_data(&run(&mix, "1", &[]));
    assert!(one.len() >= 10, "mix.pcap holds 13 ftp-data flows, found {}", one.len());
    for workers in ["2", "2", "3", "4"] {
        assert_eq!(ftp_data(&run(&mix, workers, &[])), one, "ftp-data flows with {workers} workers");
    }
}

/// The reader shards plain TCP/UDP frames from their first headers and leaves the decode to
/// the workers (runtime::ingest); everything else it decodes and shards by the flow key.
/// Both must give the same worker for a flow: for every frame of mix.pcap and of the
/// conformance captures that `quick_shard` accepts, the full decode finds a flow whose
/// `shard()` is the same (or no flow at all, for a frame the decoder finds invalid). The
/// fast path must also be the common case, or it would not relieve the reader.
#[test]
fn quick_shard_agrees_with_the_full_decode() {
    use picket::capture::pcap::PcapFileSource;
    use picket::capture::PacketSource;
    use picket::decode::{Decoded, Decoder};
    use picket::flow::{quick_shard, FlowKey};
    use picket::metrics::Counters;

    let mut files: Vec<std::path::PathBuf> = corpus_file("traffic/mix.pcap").into_iter().collect();
    let suites = crate_root().join("../shared/conformance/suites/sv-dev");
    if let Ok(rd) = std::fs::read_dir(&suites) {
        for t in rd.flatten() {
            if let Ok(fs) = std::fs::read_dir(t.path()) {
                files.extend(
                    fs.flatten()
                        .map(|f| f.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng")),
                );
            }
        }
    }
    files.push(crate_root().join("captures/demo.pcap"));
    files.sort();
    let dec = Decoder::default();
    let ports = [dec.teredo_port, dec.vxlan_port, dec.geneve_port];
    let (mut frames, mut quick, mut flowless) = (0u64, 0u64, 0u64);
    let mut bad = Vec::new();
    let mut src = PcapFileSource::new(files);
    let mut d = Decoded::default();
    let mut c = Counters::new();
    while src.next_batch(&mut |fr| {
        frames += 1;
        let Some(s) = quick_shard(fr.linktype, fr.data, &ports) else { return };
        quick += 1;
        dec.decode(fr.linktype, fr.data, &mut d, &mut c);
        match FlowKey::of(&d, fr.data.len()) {
            Some(fp) if fp.key.shard() == s => {}
            Some(fp) if bad.len() < 10 => bad.push(format!("frame {frames}: {:?}", fp.key)),
            Some(_) => {}
            None => {
                assert!(d.invalid || d.outer.is_none(), "frame {frames}: quick path took a tunnel");
                flowless += 1;
            }
        }
    }) {}
    assert!(bad.is_empty(), "quick_shard differs from FlowKey::shard:\n{}", bad.join("\n"));
    assert!(frames > 1000, "captures hold {frames} frames");
    assert!(quick * 10 > frames * 8, "only {quick} of {frames} frames took the quick path");
    assert!(flowless * 100 < quick, "{flowless} of {quick} quick frames had no flow");
}
