//! Issue 21, forwarding: sensors' local queues reach a JetStream stream on a real 3-node
//! nats-server cluster (started here on loopback), with nodes and sensors killed with SIGKILL
//! on the way; the stream must then hold exactly the events of the queues, each once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::nats;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use picket::output::nats::{event_type_of, new_runtime};
use picket::output::spool::{load_offset, segments};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn capture() -> PathBuf {
    let mix = root().join("../shared/corpus/traffic/mix.pcap");
    if mix.exists() {
        mix
    } else {
        root().join("captures/demo.pcap")
    }
}

/// One sensor's configuration: its queue under `dir`, forwarding to `servers`. The forwarder
/// runs at normal priority: these tests kill a sensor while it forwards during its replay, which
/// on a loaded machine an idle-priority forwarder may not do before the replay ends.
fn sensor_config(dir: &Path, name: &str, servers: &str, extra: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    let text = format!(
        "[sensor]\nname = \"{name}\"\n\n[output]\nspool_dir = \"{}\"\nspool_segment_bytes = 1048576\n\n\
         [output.nats]\nservers = {servers}\nreplicas = 3\nack_timeout_ms = 2000\nin_flight = 1024\n\
         cpu_priority = \"normal\"\n{extra}",
        dir.join(format!("{name}-queue")).display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn replay(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["replay", "--workers", "1", "--rules"])
        .arg(root().join("rules"))
        .arg("--config")
        .arg(config)
        .arg(capture())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(c: Child, what: &str) -> String {
    let out = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{what} failed: {err}");
    err
}

/// Every line of a queue with the message id the forwarder gives it.
fn queue_lines(queue: &Path, sensor: &str) -> Vec<(String, String)> {
    let qid = std::fs::read_to_string(queue.join("queue-id")).unwrap().trim().to_string();
    let mut out = Vec::new();
    for s in segments(queue) {
        let text = std::fs::read_to_string(queue.join(format!("segment-{s:020}.json"))).unwrap();
        let mut off = 0;
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches('\n');
            if !body.is_empty() {
                out.push((format!("{sensor}.{qid}.{s}.{off}"), body.to_string()));
            }
            off += line.len();
        }
    }
    out
}

/// What the stream holds: (message id, subject, payload), in stream order.
fn stream_messages(urls: &[String], stream: &str) -> Vec<(String, String, String)> {
    new_runtime().unwrap().block_on(async {
        let client = async_nats::connect(urls.to_vec()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut st = js.get_stream(stream).await.unwrap();
        let n = st.info().await.unwrap().state.messages as usize;
        let consumer =
            st.create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default()).await.unwrap();
        let mut msgs = consumer.messages().await.unwrap();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let m = tokio::time::timeout(Duration::from_secs(20), msgs.next()).await.unwrap().unwrap().unwrap();
            let id = m
                .headers
                .as_ref()
                .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                .map(|v| v.to_string())
                .unwrap_or_default();
            out.push((id, m.subject.to_string(), String::from_utf8(m.payload.to_vec()).unwrap()));
        }
        out
    })
}

/// The name of the node leading the stream.
fn stream_leader(urls: &[String], stream: &str) -> Option<String> {
    new_runtime().unwrap().block_on(async {
        let client = async_nats::connect(urls.to_vec()).await.ok()?;
        let js = async_nats::jetstream::new(client);
        let mut st = js.get_stream(stream).await.ok()?;
        st.info().await.ok()?.cluster.as_ref()?.leader.clone()
    })
}

fn wait_for(what: &str, max: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < max, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_sensors_node_and_sensor_killed_stream_holds_each_event_once() {
    let Some(bin) = nats::nats_server() else {
        eprintln!("skipped: nats-server not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = nats::Cluster::start(&bin, &dir.path().join("nats"), 3);
    let servers = cluster.toml_servers();
    let a = sensor_config(dir.path(), "site-a", &servers, "");
    let b = sensor_config(dir.path(), "site-b", &servers, "");
    let (qa, qb) = (dir.path().join("site-a-queue"), dir.path().join("site-b-queue"));

    let sa = replay(&a);
    let sb = replay(&b);
    // Once both forward, kill the node leading the stream (its acknowledgements are lost
    // mid-window) and the second sensor (its window is lost mid-flight).
    wait_for("site-b to forward", Duration::from_secs(60), || {
        load_offset(&qb, "nats").is_some_and(|p| p.offset > 0 || p.segment > 1)
    });
    let leader = stream_leader(&cluster.urls(), "PICKET").expect("the stream has a leader");
    let li = cluster.nodes.iter().position(|n| n.name == leader).unwrap();
    cluster.kill(li);
    let mut sb = sb;
    assert!(sb.try_wait().unwrap().is_none(), "site-b ended before it could be killed mid-run");
    let _ = sb.kill();
    let _ = sb.wait();
    let acked_at_kill = load_offset(&qb, "nats").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    cluster.restart(li);
    // The killed sensor runs again on the same queue: it appends a second replay's events and
    // forwards from its saved position.
    let sb = replay(&b);
    let ea = finish(sa, "site-a");
    let eb = finish(sb, "site-b");
    assert!(!ea.contains("not caught up") && !eb.contains("not caught up"), "{ea}\n{eb}");

    let want_a = queue_lines(&qa, "site-a");
    let want_b = queue_lines(&qb, "site-b");
    let got = stream_messages(&cluster.urls(), "PICKET");
    // By message id: each once, and exactly the queues' lines.
    let mut ids = HashSet::new();
    for (id, _, _) in &got {
        assert!(ids.insert(id.clone()), "duplicate message id {id} in the stream");
    }
    let want: BTreeMap<&str, &str> =
        want_a.iter().chain(want_b.iter()).map(|(i, l)| (i.as_str(), l.as_str())).collect();
    assert_eq!(got.len(), want.len(), "stream holds {} events, queues {}", got.len(), want.len());
    // By content: each message is its queue line, on the subject of its sensor and type.
    for (id, subject, payload) in &got {
        let line = want.get(id.as_str()).unwrap_or_else(|| panic!("message {id} is in no queue"));
        assert_eq!(payload, line, "message {id}: content differs from the queue");
        let sensor = id.split('.').next().unwrap();
        assert_eq!(subject, &format!("picket.{sensor}.{}", event_type_of(line.as_bytes())));
    }
    let mut payloads: Vec<&str> = got.iter().map(|g| g.2.as_str()).collect();
    let mut lines: Vec<&str> = want.values().copied().collect();
    payloads.sort_unstable();
    lines.sort_unstable();
    assert_eq!(payloads, lines, "stream content differs from the queues' content");
    // The second sensor's queue holds two replays (the killed one cut short): both reached the
    // stream, and its forwarder resumed past what was acknowledged before the kill.
    assert!(want_b.len() > want_a.len(), "site-b's queue holds more than one replay");
    assert!(acked_at_kill.offset > 0 || acked_at_kill.segment > 1);
    assert!(want_a.iter().any(|(_, l)| l.contains("\"event_type\":\"alert\"")), "alerts were forwarded");
}
