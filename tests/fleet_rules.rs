//! Issue 21, rules for the fleet: `picket fleet rules push` stores a ruleset in JetStream (a
//! real 3-node nats-server cluster, started in the test's network namespace) and a running
//! `picket run` (capturing on a veth pair) verifies and applies it: its metrics and control
//! socket show the version, its alerts follow the new rules and their threshold.config. A
//! ruleset whose rules do not load, and one that loads far fewer rules, are refused (counted
//! by reason), and the rules in force keep running.
//!
//! Only ICMP rules are compared across sends of the capture: TCP flows sent again are the
//! same flows to the sensor (retransmissions), ICMP echoes are inspected each time.
//!
//! Needs root, `ip netns`, tcpreplay and nats-server (`make deps`); where they are missing the
//! test says so on stderr and passes without running (fails with PICKET_REQUIRE_TOOLS=1).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

mod common;
#[path = "common/nats.rs"]
mod nats;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::netns::*;

/// Alerts per sid in what the daemon wrote so far.
fn alerts_by_sid(d: &Daemon) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for a in d.alerts_now() {
        *m.entry(a["alert"]["signature_id"].as_u64().unwrap()).or_default() += 1;
    }
    m
}

fn wait_until(what: &str, max: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < max, "timed out after {max:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `picket fleet rules push DIR` inside the namespace; (success, stdout + stderr).
fn push(ns: &Netns, config: &Path, dir: &Path) -> (bool, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name, BIN, "fleet", "rules", "push"])
        .arg(dir)
        .arg("--config")
        .arg(config)
        .output()
        .expect("picket fleet rules push");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `picket fleet status --json` inside the namespace: the row of each sensor.
fn fleet_status(ns: &Netns, config: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name, BIN, "fleet", "status", "--json", "--config"])
        .arg(config)
        .output()
        .expect("picket fleet status");
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

fn ruleset_stats(dir: &Path) -> serde_json::Value {
    let (ok, out) = Daemon::ctl(dir, "ruleset-stats", None);
    assert!(ok, "{out}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn pushed_ruleset_is_applied_by_a_running_sensor_and_broken_ones_are_refused() {
    need_netns!("pushed_ruleset_is_applied_by_a_running_sensor_and_broken_ones_are_refused");
    let Some(bin) = nats::nats_server() else {
        eprintln!("fleet rules test skipped: nats-server is not installed (make deps)");
        return;
    };
    let dir = tempdir();
    let ns = Netns::new("fr");
    let cluster = nats::Cluster::start_in(&bin, &dir.path().join("nats"), 3, Some(&ns.name));
    let starter = std::fs::read_to_string(root().join("rules/picket-starter.rules")).unwrap();
    let config = dir.path().join("sensor.toml");
    std::fs::write(
        &config,
        format!(
            "[sensor]\nname = \"s1\"\n\n[fleet]\nservers = {}\nrules = true\nreplicas = 3\nrules_dir = \"{}\"\nheartbeat_secs = 1\n",
            cluster.toml_servers(),
            dir.path().join("fleet-rules").display()
        ),
    )
    .unwrap();
    let local = dir.path().join("local.rules");
    std::fs::write(&local, &starter).unwrap();
    let args: Vec<String> = ["--config", &config.display().to_string(), "--rules", &local.display().to_string()]
        .iter()
        .map(|s| s.to_string())
        .chain(["--eve".to_string(), dir.path().join("eve.json").display().to_string()])
        .collect();
    let mut d = Daemon::spawn(&ns, dir.path(), &args, dir.path().join("eve.json"), &[]);
    assert_eq!(d.metric(&ns, "picket_fleet_rules_version"), 0);

    // The configured rules: the demo's ICMP echo raises sid 9000003, no fleet rule exists yet.
    ns.send(&demo());
    wait_until("the local rules' alerts", Duration::from_secs(10), || alerts_by_sid(&d).contains_key(&9000003));
    let before = alerts_by_sid(&d);
    assert!(!before.contains_key(&9300001), "{before:?}");

    // Version 1: the starter rules, one more rule, and a threshold.config suppressing 9000003.
    let v1 = dir.path().join("v1");
    std::fs::create_dir(&v1).unwrap();
    std::fs::write(
        v1.join("fleet.rules"),
        format!("{starter}\nalert icmp any any -> any any (msg:\"FLEET v1 echo\"; itype:8; sid:9300001; rev:1;)\n"),
    )
    .unwrap();
    std::fs::write(v1.join("threshold.config"), "suppress gen_id 1, sig_id 9000003\n").unwrap();
    let t0 = Instant::now();
    let (ok, out) = push(&ns, &config, &v1);
    assert!(ok && out.contains("version 1"), "{out}");
    wait_until("version 1 in force", Duration::from_secs(10), || d.metric(&ns, "picket_fleet_rules_version") == 1);
    eprintln!("version 1 applied {:.2} s after the push started", t0.elapsed().as_secs_f64());
    let st = ruleset_stats(dir.path());
    assert_eq!(st[0]["fleet"]["version"], 1, "{st}");
    assert_eq!(st[0]["rules_loaded"], 6, "{st}");
    assert_eq!(d.metric(&ns, "picket_fleet_rules_applied_total"), 1);
    d.wait_log("fleet ruleset version 1 applied", Duration::from_secs(5));

    ns.send(&demo());
    wait_until("the fleet rule's alert", Duration::from_secs(10), || alerts_by_sid(&d).contains_key(&9300001));
    std::thread::sleep(Duration::from_millis(500));
    let after = alerts_by_sid(&d);
    assert_eq!(after.get(&9000003), before.get(&9000003), "threshold.config of the ruleset suppresses 9000003");

    // Version 2 loads no rule; version 3 loads one rule of the six running: both refused.
    let v2 = dir.path().join("v2");
    std::fs::create_dir(&v2).unwrap();
    std::fs::write(v2.join("broken.rules"), "alert tcp any any -> any any (msg:\"x\"; depth:abc; sid:1;)\n").unwrap();
    let (ok, out) = push(&ns, &config, &v2);
    assert!(ok && out.contains("version 2"), "{out}");
    wait_until("version 2 refused", Duration::from_secs(10), || {
        d.metric(&ns, "picket_fleet_rules_refused_load_failed_total") == 1
    });
    let v3 = dir.path().join("v3");
    std::fs::create_dir(&v3).unwrap();
    std::fs::write(v3.join("one.rules"), "alert icmp any any -> any any (msg:\"one\"; sid:9300009; rev:1;)\n").unwrap();
    let (ok, out) = push(&ns, &config, &v3);
    assert!(ok && out.contains("version 3"), "{out}");
    wait_until("version 3 refused", Duration::from_secs(10), || {
        d.metric(&ns, "picket_fleet_rules_refused_too_few_rules_total") == 1
    });
    assert_eq!(d.metric(&ns, "picket_fleet_rules_version"), 1);
    let log = d.log_text();
    assert!(log.contains("fleet ruleset version 2 refused (load_failed)"), "{log}");
    assert!(log.contains("fleet ruleset version 3 refused (too_few_rules): 1 rule(s) loaded"), "{log}");
    let st = ruleset_stats(dir.path());
    assert_eq!((st[0]["fleet"]["version"].as_u64(), st[0]["rules_loaded"].as_u64()), (Some(1), Some(6)), "{st}");
    assert_eq!(st[0]["fleet"]["last_refused"]["version"], 3, "{st}");
    assert_eq!(st[0]["fleet"]["last_refused"]["reason"], "too_few_rules", "{st}");
    // Fleet status reports the refusal and the version in force.
    wait_until("fleet status showing the refusal", Duration::from_secs(10), || {
        fleet_status(&ns, &config).iter().any(|r| r["sensor"] == "s1" && r["ruleset_refused"]["version"] == 3)
    });
    let rows = fleet_status(&ns, &config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(
        (r["mode"].as_str(), r["state"].as_str(), r["stale"].as_bool()),
        (Some("run"), Some("running"), Some(false)),
        "{r}"
    );
    assert_eq!((r["ruleset_version"].as_u64(), r["rules_loaded"].as_u64()), (Some(1), Some(6)), "{r}");
    assert_eq!(
        (r["refusing"].as_bool(), r["ruleset_refused"]["reason"].as_str()),
        (Some(true), Some("too_few_rules")),
        "{r}"
    );
    let table = Command::new("ip")
        .args(["netns", "exec", &ns.name, BIN, "fleet", "status", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(!table.status.success(), "a refusing sensor fails the status: {text}");
    assert!(text.contains("REFUSED ruleset 3 (too_few_rules)"), "{text}");
    // Only the version in force stays on disk.
    let kept: Vec<String> = std::fs::read_dir(dir.path().join("fleet-rules"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, ["1"]);

    // Version 1 keeps running: its rule alerts again.
    let n = alerts_by_sid(&d)[&9300001];
    ns.send(&demo());
    wait_until("version 1's rule alerting again", Duration::from_secs(10), || alerts_by_sid(&d)[&9300001] > n);
    assert!(!alerts_by_sid(&d).contains_key(&9300009));
    d.stop();
    let rows = fleet_status(&ns, &config);
    assert_eq!((rows[0]["state"].as_str(), rows[0]["stale"].as_bool()), (Some("stopped"), Some(false)), "{rows:?}");
    assert!(rows[0]["alerts"].as_u64().unwrap() > 0, "{rows:?}");
    drop(cluster);
}
