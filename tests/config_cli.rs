//! The command line and configuration: `picket config check`, `--set` overrides (typed, and
//! refused when the key is unknown), and the output switches seen in the EVE file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use common::*;
use picket::config::Config;

fn one_udp_pcap(dir: &std::path::Path) -> std::path::PathBuf {
    let f = eth(&ipv4_udp([10, 6, 0, 1], [10, 6, 0, 2], 1000, 53, b"x"));
    write_file(dir, "one.pcap", &pcap_le_usec(LT_ETHERNET, &[(t_ms(0), f)]))
}

#[test]
fn config_check_of_the_shipped_file() {
    let file = crate_root().join("configs/picket.toml");
    if !file.exists() {
        eprintln!("skipped: configs/picket.toml is not present");
        return;
    }
    let (code, stdout, stderr) = picket(["config".as_ref(), "check".as_ref(), file.as_os_str(), "--print".as_ref()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&format!("picket: {}: configuration is valid", file.display())), "{stderr}");
    // what --print shows is the configuration the file loads to
    let printed: Config =
        toml::from_str(&stdout).unwrap_or_else(|e| panic!("--print output is not a valid config: {e}\n{stdout}"));
    assert_eq!(printed, Config::load(Some(&file), &[]).unwrap());
}

#[test]
fn config_check_of_a_small_file_with_print() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "c.toml", b"[stream]\nmidstream = true\n\n[runtime]\nworkers = 3\n");
    let (code, stdout, stderr) = picket(["config".as_ref(), "check".as_ref(), file.as_os_str(), "--print".as_ref()]);
    assert_eq!(code, 0, "{stderr}");
    let printed: Config = toml::from_str(&stdout).unwrap();
    assert!(printed.stream.midstream);
    assert_eq!(printed.runtime.workers, 3);
    assert_eq!(printed.flow, Config::default().flow, "keys not in the file keep their defaults");
}

#[test]
fn misspelt_set_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = one_udp_pcap(dir.path());
    let r = replay_files(dir.path(), &[pcap], &["--set", "stream.midstreem=true"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("picket: error: --set: unknown key `stream.midstreem`"), "{}", r.stderr);
    assert!(r.events.is_empty(), "nothing is replayed with a bad configuration");

    let file = write_file(dir.path(), "c.toml", b"");
    let (code, _, stderr) = picket([
        "config".as_ref(),
        "check".as_ref(),
        file.as_os_str(),
        "--set".as_ref(),
        "stream.midstreem=true".as_ref(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("picket: error: --set: unknown key `stream.midstreem`"), "{stderr}");
}

#[test]
fn set_values_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = one_udp_pcap(dir.path());
    let r = replay_files(dir.path(), &[&pcap], &["--set", "stream.midstream=maybe"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("picket: error: --set stream.midstream: expected true or false, got `maybe`"),
        "{}",
        r.stderr
    );

    let r = replay_files(dir.path(), &[&pcap], &["--set", "flow.memcap_bytes=lots"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--set flow.memcap_bytes: expected a whole number"), "{}", r.stderr);

    let r = replay_files(dir.path(), &[&pcap], &["--set", "flow.memcap_bytes=100"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("picket: error: --set flow.memcap_bytes: must be at least 65536"), "{}", r.stderr);

    let r = replay_files(dir.path(), &[pcap], &["--set", r#"output.eve.files.force_hash=["md5","crc32"]"#]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("output.eve.files.force_hash: a hash other than md5, sha1 and sha256"), "{}", r.stderr);
}

#[test]
fn unknown_key_in_a_config_file_names_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "typo.toml", b"[stream]\nmidstream = true\nreassembly_dpeth = 5\n");
    let (code, _, stderr) = picket(["config".as_ref(), "check".as_ref(), file.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.starts_with("picket: error: "), "{stderr}");
    assert!(stderr.contains("reassembly_dpeth") && stderr.contains("line 3"), "{stderr}");
}

#[test]
fn zero_workers_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = one_udp_pcap(dir.path());
    let r = replay_files(dir.path(), &[pcap], &["--workers", "0"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("picket: error: --workers must be at least 1"), "{}", r.stderr);
}

#[test]
fn missing_rules_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = one_udp_pcap(dir.path());
    let missing = dir.path().join("no.rules");
    let r = replay_files(dir.path(), &[pcap], &["--rules", missing.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("picket: error: {}: rules path does not exist", missing.display())),
        "{}",
        r.stderr
    );
}

#[test]
fn output_switches() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = one_udp_pcap(dir.path());
    let r = replay_files(dir.path(), &[&pcap], &[]);
    r.assert_clean();
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.events[0]["event_type"], "flow");
    assert_eq!(r.events[1]["event_type"], "stats");

    let r = replay_files(dir.path(), &[&pcap], &["--set", "output.flow_events=false"]);
    r.assert_clean();
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.counter("flow.total"), 1, "the flow is still tracked");

    let r = replay_files(dir.path(), &[&pcap], &["--set", "output.stats_event=false"]);
    r.assert_clean();
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.events[0]["event_type"], "flow");

    // --eve - writes to standard output
    let (code, stdout, stderr) =
        picket(["replay".as_ref(), "-q".as_ref(), "--eve".as_ref(), "-".as_ref(), pcap.as_os_str()]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["src_ip"], "10.6.0.1");
    assert_eq!(lines[1]["stats"]["decoder"]["pkts"], 1);
}

/// Without -q, the summary paragraph is printed on stderr.
#[test]
fn summary_paragraph() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = one_udp_pcap(dir.path());
    let eve = dir.path().join("eve.json");
    let (code, _, stderr) = picket([
        "replay".as_ref(),
        "--workers".as_ref(),
        "2".as_ref(),
        "--eve".as_ref(),
        eve.as_os_str(),
        pcap.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("picket: 1 file(s) read: 1 packets,"), "{stderr}");
    assert!(stderr.contains(" 1 flows, 0 alerts, 2 events written;"), "{stderr}");
    assert!(stderr.contains(", 2 worker(s)"), "{stderr}");
}
