//! What ships beside the binary, checked by the real tools: the systemd unit with
//! `systemd-analyze verify` (it runs without systemd as PID 1, as in CI's container), the
//! Prometheus alerting rules with `promtool check rules` and `promtool test rules`, every query
//! of the Grafana dashboard parsed by promtool, and the logrotate file by logrotate itself.
//! `make deps` installs systemd, prometheus (promtool) and logrotate; where one is missing
//! its test says so on stderr and passes without running, unless `PICKET_REQUIRE_TOOLS=1`
//! (`make test`), which makes it fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `tool` runs; with `PICKET_REQUIRE_TOOLS=1` (what `make test` sets after `make
/// deps`) a missing tool fails the test instead of skipping it.
fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    let required = std::env::var("PICKET_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    assert!(ok || !required, "{tool} is required (PICKET_REQUIRE_TOOLS=1) but not found: make deps installs it");
    ok
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn systemd_unit_verifies() {
    if !have("systemd-analyze") {
        eprintln!("systemd-analyze not installed (make deps): unit check skipped");
        return;
    }
    // verify checks that ExecStart= names an executable: point it at the binary just built.
    let unit = std::fs::read_to_string(root().join("configs/picket.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/picket run --config /etc/picket/live.toml"));
    for needed in [
        "Type=notify",
        "WatchdogSec=",
        "CacheDirectory=picket",
        "StateDirectory=picket",
        "LogsDirectory=picket",
        "RuntimeDirectory=picket",
        "CAP_CHOWN",
        "ExecReload=/bin/kill -USR2 $MAINPID",
    ] {
        assert!(unit.contains(needed), "the unit lacks {needed}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("picket.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/picket", env!("CARGO_BIN_EXE_picket"))).unwrap();
    let (ok, text) = run(Command::new("systemd-analyze").arg("verify").arg(&path));
    assert!(ok, "systemd-analyze verify: {text}");
    // Warnings (unknown keys, bad values) are printed without failing: there must be none.
    assert!(!text.contains("picket.service"), "systemd-analyze verify: {text}");
}

#[test]
fn alerting_rules_pass_their_unit_tests() {
    if !have("promtool") {
        eprintln!("promtool not installed (make deps): alert rules check skipped");
        return;
    }
    let cfg = root().join("configs");
    let (ok, text) = run(Command::new("promtool").args(["check", "rules"]).arg(cfg.join("picket-alerts.yml")));
    assert!(ok, "{text}");
    let (ok, text) = run(Command::new("promtool").args(["test", "rules"]).arg(cfg.join("picket-alerts.test.yml")));
    assert!(ok, "{text}");
    assert!(text.contains("SUCCESS"), "{text}");
}

/// Every `expr` of the dashboard, with Grafana's variables replaced by what they expand to.
fn dashboard_queries() -> (serde_json::Value, Vec<String>) {
    let d: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("configs/grafana-dashboard.json")).unwrap()).unwrap();
    let mut v = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            let e = t["expr"].as_str().unwrap();
            v.push(e.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$instance", ".*"));
        }
    }
    (d, v)
}

#[test]
fn dashboard_has_loss_panels_an_instance_variable_and_queries_that_parse() {
    let (d, queries) = dashboard_queries();
    let titles: Vec<&str> = d["panels"].as_array().unwrap().iter().filter_map(|p| p["title"].as_str()).collect();
    assert!(titles.iter().any(|t| t.contains("Kernel drops")), "{titles:?}");
    assert!(titles.iter().any(|t| t.contains("Capture loss")), "{titles:?}");
    let vars = d["templating"]["list"].as_array().unwrap();
    assert!(vars.iter().any(|v| v["name"] == "instance"), "no instance variable");
    for q in &queries {
        assert!(q.contains("instance=~\".*\""), "query not filtered by $instance: {q}");
        assert!(!q.contains("_total_total"), "{q}");
    }
    assert!(queries.iter().any(|q| q.contains("picket_capture_kernel_drops_total")));
    if !have("promtool") {
        eprintln!("promtool not installed (make deps): dashboard query check skipped");
        return;
    }
    // promtool parses PromQL when it checks recording rules: one rule per query.
    let mut yaml = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, q) in queries.iter().enumerate() {
        yaml.push_str(&format!(
            "      - record: dashboard:query{i}\n        expr: {}\n",
            serde_json::to_string(q).unwrap()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dashboard-queries.yml");
    std::fs::write(&p, yaml).unwrap();
    let (ok, text) = run(Command::new("promtool").args(["check", "rules"]).arg(&p));
    assert!(ok, "a dashboard query does not parse: {text}");
    assert!(text.contains(&format!("SUCCESS: {} rules found", queries.len())), "{text}");
}

#[test]
fn logrotate_file_parses_and_signals_the_daemon() {
    let text = std::fs::read_to_string(root().join("configs/picket.logrotate")).unwrap();
    assert!(text.contains("/var/log/picket/*.json"), "{text}");
    assert!(text.contains("kill -HUP"), "{text}");
    assert!(!text.lines().any(|l| l.trim() == "copytruncate"), "copytruncate loses lines: Picket reopens on SIGHUP");
    if !have("logrotate") {
        eprintln!("logrotate not installed (make deps): logrotate check skipped");
        return;
    }
    // logrotate -d parses the file and says what it would do, touching nothing.
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("picket");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("eve.json"), "{}\n").unwrap();
    let conf = dir.path().join("picket.logrotate");
    // The picket user may not exist here: the new files are created for the user running this.
    let me = String::from_utf8_lossy(&Command::new("id").arg("-un").output().unwrap().stdout).trim().to_string();
    let t = text
        .replace("/var/log/picket", &logs.display().to_string())
        .replace("create 0640 picket picket", &format!("create 0640 {me} {me}"));
    std::fs::write(&conf, t).unwrap();
    let state = dir.path().join("state");
    let (ok, out) = run(Command::new("logrotate").arg("-d").arg("-s").arg(&state).arg(&conf));
    assert!(ok, "logrotate -d: {out}");
    assert!(out.contains("eve.json"), "{out}");
    assert!(!out.to_lowercase().contains("error"), "{out}");
}
