//! Issue 21, distributed replay: 40 captures queued with `picket fleet submit` on a real 3-node
//! nats-server cluster (started here on loopback), replayed by three `picket fleet work`
//! processes, one of them killed with SIGKILL in the middle of a job. Every capture must be in
//! the results once, the killed job done again by another worker, and the alerts per sid (in
//! the results and in the fleet stream) those of replaying each file on one machine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::nats;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use picket::output::nats::new_runtime;

const BIN: &str = env!("CARGO_BIN_EXE_picket");
const FILES: usize = 40;
const RULES: &str = "\
alert dns any any -> any any (msg:\"dns query\"; dns.query; content:\".\"; sid:9400001; rev:1;)
alert http any any -> any any (msg:\"http GET\"; http.method; content:\"GET\"; sid:9400002; rev:1;)
alert tcp any any -> any any (msg:\"SYN\"; flags:S; sid:9400003; rev:1;)
alert icmp any any -> any any (msg:\"icmp\"; sid:9400004; rev:1;)
alert tls any any -> any any (msg:\"tls sni\"; tls.sni; content:\".\"; sid:9400005; rev:1;)
";

fn capture() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mix = root.join("../shared/corpus/traffic/mix.pcap");
    if mix.exists() {
        mix
    } else {
        root.join("captures/demo.pcap")
    }
}

/// Splits the first 16000 packets of a classic pcap into `n` files of consecutive packets.
fn split(src: &Path, dir: &Path, n: usize) -> Vec<PathBuf> {
    let data = std::fs::read(src).unwrap();
    let le = match &data[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        m => panic!("{}: not a classic pcap ({m:?})", src.display()),
    };
    let mut recs = Vec::new();
    let mut pos = 24;
    while pos + 16 <= data.len() && recs.len() < 16_000 {
        let b: [u8; 4] = data[pos + 8..pos + 12].try_into().unwrap();
        let len = if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) } as usize;
        let end = (pos + 16 + len).min(data.len());
        recs.push(&data[pos..end]);
        pos = end;
    }
    let per = recs.len().div_ceil(n).max(1);
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let mut out = data[..24].to_vec();
            for r in recs.iter().skip(i * per).take(per) {
                out.extend_from_slice(r);
            }
            let p = dir.join(format!("part-{i:02}.pcap"));
            std::fs::write(&p, out).unwrap();
            p
        })
        .collect()
}

fn alerts_by_sid(eve: &str) -> BTreeMap<u64, u64> {
    let mut m = BTreeMap::new();
    for l in eve.lines().filter(|l| l.contains("\"event_type\":\"alert\"")) {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        *m.entry(v["alert"]["signature_id"].as_u64().unwrap()).or_default() += 1;
    }
    m
}

/// Every message of a stream: (subject, payload).
fn stream_messages(urls: &[String], stream: &str) -> Vec<(String, Vec<u8>)> {
    new_runtime().unwrap().block_on(async {
        let client = async_nats::connect(urls.to_vec()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut st = js.get_stream(stream).await.unwrap();
        let n = st.info().await.unwrap().state.messages as usize;
        let c = st.create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default()).await.unwrap();
        let mut msgs = c.messages().await.unwrap();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let m = tokio::time::timeout(Duration::from_secs(20), msgs.next()).await.unwrap().unwrap().unwrap();
            out.push((m.subject.to_string(), m.payload.to_vec()));
        }
        out
    })
}

/// A worker, its stderr in `<dir>/<name>.err`.
fn worker(config: &Path, name: &str, rules: &Path, dir: &Path) -> Child {
    Command::new(BIN)
        .args(["fleet", "work", "--workers", "1", "--until-empty", "--rules"])
        .arg(rules)
        .arg("--config")
        .arg(config)
        .args(["--set", &format!("sensor.name={name}"), "--work-dir"])
        .arg(dir.join(name))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.err"))).unwrap())
        .spawn()
        .unwrap()
}

/// Writes the test's rules and a fleet.toml for `cluster` (3 replicas, jobs redelivered after 3 s
/// without an ack, a worker heartbeat every `heartbeat_secs`, 0 for none) into `dir`.
fn write_rules_and_fleet_config(dir: &Path, cluster: &nats::Cluster, heartbeat_secs: u32) -> (PathBuf, PathBuf) {
    let rules = dir.join("t.rules");
    std::fs::write(&rules, RULES).unwrap();
    let config = dir.join("fleet.toml");
    std::fs::write(
        &config,
        format!(
            "[capture]\nchecksum_validation = \"none\"\n\n[fleet]\nservers = {s}\nreplicas = 3\njob_ack_wait_secs = 3\n\
             heartbeat_secs = {heartbeat_secs}\n\n[output.nats]\nreplicas = 3\n",
            s = cluster.toml_servers()
        ),
    )
    .unwrap();
    (rules, config)
}

fn signal(c: &Child, sig: &str) {
    assert!(Command::new("kill").args([sig, &c.id().to_string()]).status().unwrap().success());
}

#[test]
fn forty_captures_three_workers_one_killed_each_capture_counted_once() {
    let Some((dir, cluster)) = nats::cluster_or_skip("fleet replay (forty captures)") else { return };
    let urls = cluster.urls();
    let files = split(&capture(), &dir.path().join("captures"), FILES);
    let (rules, config) = write_rules_and_fleet_config(dir.path(), &cluster, 1);

    // One machine: each file replayed on its own (a job is one file).
    let mut expected: BTreeMap<u64, u64> = BTreeMap::new();
    for f in &files {
        let out = Command::new(BIN)
            .args(["replay", "-q", "--workers", "1", "--eve", "-", "--rules"])
            .arg(&rules)
            .arg("--config")
            .arg(&config)
            .args(["--set", "fleet.heartbeat_secs=0"])
            .arg(f)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for (sid, n) in alerts_by_sid(&String::from_utf8_lossy(&out.stdout)) {
            *expected.entry(sid).or_default() += n;
        }
    }
    assert!(expected.len() >= 2, "the rules alert on the captures: {expected:?}");

    let submit = |wait: bool| {
        let mut c = Command::new(BIN);
        c.args(["fleet", "submit", "--config"]).arg(&config).arg(dir.path().join("captures"));
        if wait {
            c.args(["--wait", "--timeout", "60"]);
        }
        let out = c.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = submit(false);
    assert!(ok && err.contains(&format!("{FILES} file(s)")) && err.contains(&format!("{FILES} queued")), "{err}");

    // w1 starts alone (small jobs: two others could do them all while it starts).
    let mut w1 = worker(&config, "w1", &rules, dir.path());
    // w1 is stopped right after it starts a job; if that job's result is not stored yet, w1 is
    // killed in the middle of it, else it goes on to its next job.
    let err_of = |name: &str| std::fs::read_to_string(dir.path().join(format!("{name}.err"))).unwrap_or_default();
    let mut killed_job = None;
    let mut looked = 0;
    while killed_job.is_none() && w1.try_wait().unwrap().is_none() {
        let text = err_of("w1");
        let started: Vec<&str> =
            text.lines().filter(|l| l.starts_with("picket: job ") && l.ends_with("(delivery 1)")).collect();
        if started.len() == looked {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        looked = started.len();
        signal(&w1, "-STOP");
        let job = started[looked - 1].split(' ').nth(2).unwrap().to_string();
        let done = stream_messages(&urls, "PICKET_RESULTS")
            .iter()
            .any(|(_, p)| serde_json::from_slice::<serde_json::Value>(p).unwrap()["job"] == job.as_str());
        if done {
            signal(&w1, "-CONT");
            continue;
        }
        signal(&w1, "-KILL");
        killed_job = Some(job);
    }
    let status = w1.wait();
    let killed_job =
        killed_job.unwrap_or_else(|| panic!("w1 was not caught in the middle of a job ({status:?}): {}", err_of("w1")));
    let mut others = [worker(&config, "w2", &rules, dir.path()), worker(&config, "w3", &rules, dir.path())];

    // Submitting again queues nothing, and waits for every result.
    let (ok, summary, err) = submit(true);
    assert!(ok, "{summary}{err}");
    assert!(err.contains(&format!("0 queued, {FILES} already queued")), "{err}");
    assert!(summary.contains(&format!("files: {FILES} done, 0 failed")), "{summary}");
    for (sid, n) in &expected {
        assert!(summary.contains(&format!("sid {sid}: {n}\n")), "sid {sid}: {n} expected: {summary}");
    }
    for (w, name) in others.iter_mut().zip(["w2", "w3"]) {
        let status = w.wait().unwrap();
        assert!(status.success(), "{name}: {status}: {}", err_of(name));
    }

    // The results: one per capture; the killed job done again by another worker.
    let results: Vec<serde_json::Value> =
        stream_messages(&urls, "PICKET_RESULTS").iter().map(|(_, p)| serde_json::from_slice(p).unwrap()).collect();
    let paths: BTreeSet<&str> = results.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!((results.len(), paths.len()), (FILES, FILES));
    let redone = results.iter().find(|r| r["job"] == killed_job.as_str()).unwrap();
    assert!(redone["delivery"].as_u64().unwrap() >= 2 && redone["worker"] != "w1", "{redone}");
    let mut from_results: BTreeMap<u64, u64> = BTreeMap::new();
    for r in &results {
        for (sid, n) in r["alerts_by_sid"].as_object().unwrap() {
            *from_results.entry(sid.parse().unwrap()).or_default() += n.as_u64().unwrap();
        }
    }
    assert_eq!(from_results, expected);

    // The fleet stream: each job's events once (the killed job's re-sent events removed).
    // Counted in events: a message may carry several, one per line.
    let events: Vec<(String, String)> = stream_messages(&urls, "PICKET")
        .into_iter()
        .flat_map(|(s, p)| {
            let text = String::from_utf8(p).unwrap();
            text.lines().map(|l| (s.clone(), l.to_string())).collect::<Vec<_>>()
        })
        .collect();
    let published: u64 = results.iter().map(|r| r["events"].as_u64().unwrap()).sum();
    assert_eq!(events.len() as u64, published);
    let alerts: String = events.iter().filter(|(s, _)| s.ends_with(".alert")).map(|(_, l)| l.clone() + "\n").collect();
    assert_eq!(alerts_by_sid(&alerts), expected);
    drop(cluster);
}

/// A worker started while the cluster has lost its quorum (two of its three nodes down) waits
/// for it, saying why, and does the queued jobs once the nodes are back, instead of exiting.
#[test]
fn a_worker_started_without_quorum_waits_for_the_cluster() {
    let Some((dir, mut cluster)) = nats::cluster_or_skip("fleet replay (no quorum)") else { return };
    let urls = cluster.urls();
    split(&capture(), &dir.path().join("captures"), 3);
    let (rules, config) = write_rules_and_fleet_config(dir.path(), &cluster, 0);
    let (ok, _, err) = picket(&[
        "fleet".as_ref(),
        "submit".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        dir.path().join("captures").as_os_str(),
    ]);
    assert!(ok && err.contains("3 queued"), "{err}");

    cluster.kill(1);
    cluster.kill(2);
    let mut w = worker(&config, "w1", &rules, dir.path());
    let err_of = || std::fs::read_to_string(dir.path().join("w1.err")).unwrap_or_default();
    let t0 = std::time::Instant::now();
    while !err_of().contains("the job queue is not ready") {
        assert!(w.try_wait().unwrap().is_none(), "w1 exited before the cluster came back: {}", err_of());
        assert!(t0.elapsed() < Duration::from_secs(60), "w1 did not say it waits: {}", err_of());
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.restart(1);
    cluster.restart(2);
    let status = loop {
        if let Some(s) = w.try_wait().unwrap() {
            break s;
        }
        assert!(t0.elapsed() < Duration::from_secs(150), "w1 still running: {}", err_of());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success() && err_of().contains("worker w1: 3 job(s) done"), "{status}: {}", err_of());
    let results = stream_messages(&urls, "PICKET_RESULTS");
    assert_eq!(results.len(), 3);
    drop(cluster);
}

/// `picket ARGS`; (success, stdout, stderr).
fn picket(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `sid N: M` lines of a `submit --wait` summary.
fn summary_by_sid(summary: &str) -> BTreeMap<u64, u64> {
    summary
        .lines()
        .filter_map(|l| l.strip_prefix("sid ")?.split_once(": "))
        .map(|(s, n)| (s.parse().unwrap(), n.parse().unwrap()))
        .collect()
}

/// Issue 21, rules for the fleet with distributed replay: a running `picket fleet work` with
/// `[fleet] rules = true` replays each job with the ruleset in force when the job starts (a push
/// completed before a job is queued applies to it), and refuses a broken version (the version
/// in force keeps running, reported in `fleet status`).
#[test]
fn a_running_worker_replays_each_job_with_the_ruleset_in_force() {
    let Some((dir, cluster)) = nats::cluster_or_skip("fleet replay (running worker)") else { return };
    let d = dir.path();
    // Nine captures in three batches, one queued after each push.
    let files = split(&capture(), &d.join("all"), 9);
    let batches: Vec<PathBuf> = (0..3).map(|b| d.join(format!("batch{b}"))).collect();
    for (i, f) in files.iter().enumerate() {
        std::fs::create_dir_all(&batches[i / 3]).unwrap();
        std::fs::rename(f, batches[i / 3].join(f.file_name().unwrap())).unwrap();
    }
    let ruleset = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("fleet.rules"), text).unwrap();
        p
    };
    let v1 = ruleset(
        "v1",
        "alert dns any any -> any any (msg:\"dns query\"; dns.query; content:\".\"; sid:9400001; rev:1;)\n",
    );
    let v2 = ruleset(
        "v2",
        "alert tcp any any -> any any (msg:\"SYN\"; flags:S; sid:9400003; rev:1;)\n\
         alert http any any -> any any (msg:\"http GET\"; http.method; content:\"GET\"; sid:9400002; rev:1;)\n",
    );
    let v3 = ruleset("v3", "alert tcp any any -> any any (msg:\"broken\"; content:; sid:9400009; rev:1;)\n");
    let config = d.join("fleet.toml");
    std::fs::write(
        &config,
        format!(
            "[capture]\nchecksum_validation = \"none\"\n\n[fleet]\nservers = {s}\nreplicas = 3\nrules = true\n\
             rules_dir = \"{r}\"\nheartbeat_secs = 1\n\n[output.nats]\nreplicas = 3\n",
            s = cluster.toml_servers(),
            r = d.join("fleet-rules").display()
        ),
    )
    .unwrap();
    let c = config.as_os_str();

    // One machine: each file of a batch replayed on its own with a ruleset.
    let expected = |rules: &Path, batch: &Path| {
        let mut m: BTreeMap<u64, u64> = BTreeMap::new();
        for f in std::fs::read_dir(batch).unwrap() {
            let f = f.unwrap().path();
            let args = ["replay", "-q", "--workers", "1", "--eve", "-", "--set", "fleet.heartbeat_secs=0", "--config"];
            let mut a: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_ref()).collect();
            a.extend([c, "--rules".as_ref(), rules.as_os_str(), f.as_os_str()]);
            let (ok, out, err) = picket(&a);
            assert!(ok, "{err}");
            for (sid, n) in alerts_by_sid(&out) {
                *m.entry(sid).or_default() += n;
            }
        }
        m
    };
    let push = |rules: &Path, version: u64| {
        let (ok, out, err) =
            picket(&["fleet".as_ref(), "rules".as_ref(), "push".as_ref(), rules.as_os_str(), "--config".as_ref(), c]);
        assert!(ok && out.contains(&format!("as ruleset version {version} ")), "{out}{err}");
    };
    let submit = |batch: &Path| {
        let args = ["fleet", "submit", "--wait", "--timeout", "60", "--config"];
        let mut a: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_ref()).collect();
        a.extend([c, batch.as_os_str()]);
        let (ok, out, err) = picket(&a);
        assert!(ok && out.contains("files: 3 done, 0 failed"), "{out}{err}");
        out
    };

    push(&v1, 1);
    let err_path = d.join("wr.err");
    let mut w = Command::new(BIN)
        .args(["fleet", "work", "--workers", "1", "--config"])
        .arg(&config)
        .args(["--set", "sensor.name=wr", "--work-dir"])
        .arg(d.join("work"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let err_of = || std::fs::read_to_string(&err_path).unwrap_or_default();

    let want = expected(&v1, &batches[0]);
    assert!(!want.is_empty(), "version 1 alerts on batch 0");
    let out = submit(&batches[0]);
    assert!(out.contains("fleet ruleset version 1: 3 file(s)\n"), "{out}{}", err_of());
    assert_eq!(summary_by_sid(&out), want, "{}", err_of());

    // A push while the worker runs: the next jobs run with it.
    push(&v2, 2);
    let want = expected(&v2, &batches[1]);
    assert!(!want.is_empty() && !want.contains_key(&9400001), "version 2 alerts on batch 1: {want:?}");
    let out = submit(&batches[1]);
    assert!(out.contains("fleet ruleset version 2: 3 file(s)\n"), "{out}{}", err_of());
    assert_eq!(summary_by_sid(&out), want, "{}", err_of());

    // A broken version is refused: version 2 keeps running, and fleet status says so.
    push(&v3, 3);
    let out = submit(&batches[2]);
    assert!(out.contains("fleet ruleset version 2: 3 file(s)\n"), "{out}{}", err_of());
    assert_eq!(summary_by_sid(&out), expected(&v2, &batches[2]), "{}", err_of());
    assert!(err_of().contains("fleet ruleset version 3 refused (load_failed)"), "{}", err_of());
    let t = std::time::Instant::now();
    loop {
        let (_, out, _) = picket(&["fleet".as_ref(), "status".as_ref(), "--json".as_ref(), "--config".as_ref(), c]);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap_or_default();
        let row = rows.iter().find(|r| r["sensor"] == "wr").cloned().unwrap_or_default();
        if row["ruleset_refused"]["version"] == 3 {
            assert_eq!(row["ruleset_version"], 2, "{row}");
            assert_eq!(row["ruleset_refused"]["reason"], "load_failed", "{row}");
            assert_eq!(row["refusing"], true, "{row}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no heartbeat with the refusal: {out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(&w, "-TERM");
    assert!(w.wait().unwrap().success(), "{}", err_of());
    drop(cluster);
}
