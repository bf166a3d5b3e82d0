//! Issue 21, forwarding: sensors' local queues reach a JetStream stream on a real 3-node
//! nats-server cluster (started here on loopback), with nodes and sensors killed with SIGKILL
//! on the way; the stream must then hold exactly the events of the queues, each once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::nats;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use picket::output::nats::{event_type_of, new_runtime, EVENTS_HEADER};
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

/// Every line of a queue: (position `<segment>.<offset>`, line).
fn queue_lines(queue: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in segments(queue) {
        let text = std::fs::read_to_string(queue.join(format!("segment-{s:020}.json"))).unwrap();
        let mut off = 0;
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches('\n');
            if !body.is_empty() {
                out.push((format!("{s}.{off}"), body.to_string()));
            }
            off += line.len();
        }
    }
    out
}

/// One message of the stream.
struct Msg {
    /// Its stream sequence.
    seq: u64,
    id: String,
    subject: String,
    /// The `Picket-Events` header.
    events: usize,
    payload: String,
}

/// What the stream holds, in stream order. An ordered consumer can stall after the cluster
/// lost a node (its server-side state went with it): when no message comes for 20 s, a new one
/// resumes after the last stream sequence read, until every message is read or 120 s passed.
fn stream_messages(urls: &[String], stream: &str) -> Vec<Msg> {
    use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
    new_runtime().unwrap().block_on(async {
        let client = async_nats::connect(urls.to_vec()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut st = js.get_stream(stream).await.unwrap();
        let n = st.info().await.unwrap().state.messages as usize;
        let mut out = Vec::with_capacity(n);
        let (mut last_seq, mut resumes) = (0u64, 0);
        let deadline = Instant::now() + Duration::from_secs(120);
        while out.len() < n {
            assert!(
                Instant::now() < deadline,
                "stream {stream}: {} of {n} messages read in 120 s ({resumes} resumes)",
                out.len()
            );
            let deliver_policy = match last_seq {
                0 => DeliverPolicy::All,
                s => DeliverPolicy::ByStartSequence { start_sequence: s + 1 },
            };
            let Ok(consumer) = st.create_consumer(OrderedConfig { deliver_policy, ..Default::default() }).await else {
                resumes += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            let Ok(mut msgs) = consumer.messages().await else {
                resumes += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            };
            while out.len() < n {
                let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(20), msgs.next()).await else {
                    resumes += 1;
                    break;
                };
                let seq = m.info().map(|i| i.stream_sequence).unwrap_or(last_seq + 1);
                if seq <= last_seq {
                    // Delivered again (a consumer's reset): the stream holds it once.
                    continue;
                }
                last_seq = seq;
                let h = m.headers.as_ref();
                let header = |name: &str| h.and_then(|h| h.get(name)).map(|v| v.to_string());
                out.push(Msg {
                    seq,
                    id: h
                        .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    subject: m.subject.to_string(),
                    events: header(EVENTS_HEADER).and_then(|v| v.parse().ok()).unwrap_or(0),
                    payload: String::from_utf8(m.payload.to_vec()).unwrap(),
                });
            }
        }
        out
    })
}

/// Takes out the later copy of each message the server stored twice (the same id, subject and
/// lines at two stream sequences), returning the messages left and a line per copy taken out.
/// nats-server before 2.11 can do that when a stream's leader is killed or steps down with a
/// message in flight: the new leader stores the re-sent message before it has applied the
/// first copy from its log (nats-server #6485 and #6486, fixed in 2.11; docs/fleet.md says so).
/// From 2.11 on any repeated id fails the test, as does, on any version, a repeated id whose
/// copies differ.
fn without_server_duplicates(got: Vec<Msg>, cluster: &nats::Cluster) -> (Vec<Msg>, Vec<String>) {
    let version = cluster.version();
    let mut first: HashMap<String, usize> = HashMap::new();
    let (mut kept, mut twice) = (Vec::with_capacity(got.len()), Vec::new());
    for m in got {
        let Some(&k) = first.get(&m.id) else {
            first.insert(m.id.clone(), kept.len());
            kept.push(m);
            continue;
        };
        let f: &Msg = &kept[k];
        assert!(
            version < (2, 11, 0),
            "message id {} stored twice (stream sequences {} and {}) by nats-server {version:?}",
            m.id,
            f.seq,
            m.seq
        );
        assert!(
            (&f.subject, f.events, &f.payload) == (&m.subject, m.events, &m.payload),
            "message id {} stored twice with different content (stream sequences {} and {})",
            m.id,
            f.seq,
            m.seq
        );
        twice.push(format!("{} at {} and {}", m.id, f.seq, m.seq));
    }
    (kept, twice)
}

/// Checks the stream against the queues (sensor name, queue dir): every message's id names its
/// sensor, queue, first line and event count; its lines are that many consecutive lines of the
/// queue from there, of one type, on that type's subject; every queue line is in exactly one
/// message (`context`, the sensors' own account, is printed when not). Returns the largest
/// number of events in one message.
fn check_stream_against_queues(got: &[Msg], queues: &[(&str, &Path)], context: &str) -> usize {
    let mut index: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut lines: Vec<Vec<(String, String)>> = Vec::new();
    for (q, (sensor, dir)) in queues.iter().enumerate() {
        let qid = std::fs::read_to_string(dir.join("queue-id")).unwrap().trim().to_string();
        let l = queue_lines(dir);
        for (i, (pos, _)) in l.iter().enumerate() {
            index.insert(format!("{sensor}.{qid}.{pos}"), (q, i));
        }
        lines.push(l);
    }
    let mut covered: Vec<Vec<u32>> = lines.iter().map(|l| vec![0; l.len()]).collect();
    let mut ids = HashSet::new();
    let mut biggest = 0;
    for m in got {
        assert!(ids.insert(m.id.clone()), "duplicate message id {} in the stream", m.id);
        let body: Vec<&str> = m.payload.split('\n').collect();
        assert_eq!(m.events, body.len(), "message {}: Picket-Events header vs its lines", m.id);
        biggest = biggest.max(body.len());
        // `<sensor>.<qid>.<segment>.<offset>[.<events>][.r<n>]` (`.r<n>`: re-issued under a new
        // id after an old nats-server answered its id as a duplicate it did not hold).
        let mut tokens: Vec<&str> = m.id.split('.').collect();
        if tokens
            .last()
            .is_some_and(|t| t.len() > 1 && t.starts_with('r') && t[1..].bytes().all(|b| b.is_ascii_digit()))
        {
            tokens.pop();
        }
        let (first, n) = match tokens.len() {
            4 => (tokens.join("."), 1),
            5 => (tokens[..4].join("."), tokens[4].parse().unwrap()),
            _ => panic!("message id {}: not <sensor>.<queue>.<segment>.<offset>[.<events>]", m.id),
        };
        assert!(n == body.len() && (n == 1) == (tokens.len() == 4), "message {}: {} lines", m.id, body.len());
        let &(q, i) = index.get(&first).unwrap_or_else(|| panic!("message {}: no queue line there", m.id));
        let ty = event_type_of(body[0].as_bytes());
        assert_eq!(m.subject, format!("picket.{}.{ty}", tokens[0]), "message {}", m.id);
        for (k, line) in body.iter().enumerate() {
            let want = lines[q].get(i + k).unwrap_or_else(|| panic!("message {}: past its queue's end", m.id));
            assert_eq!(*line, want.1, "message {} line {k}: content differs from the queue", m.id);
            assert_eq!(event_type_of(line.as_bytes()), ty, "message {}: one event type per message", m.id);
            covered[q][i + k] += 1;
        }
    }
    // Every line in exactly one message; otherwise name every run of lines that is not, so a
    // failure says where the loss (or the duplicate) is: which queue, which positions, which types.
    let mut wrong = Vec::new();
    for (q, c) in covered.iter().enumerate() {
        let mut i = 0;
        while i < c.len() {
            let n = c[i];
            if n == 1 {
                i += 1;
                continue;
            }
            let from = i;
            while i < c.len() && c[i] == n {
                i += 1;
            }
            let types: BTreeSet<&str> = lines[q][from..i].iter().map(|l| event_type_of(l.1.as_bytes())).collect();
            wrong.push(format!(
                "{}: {} lines from {} to {} ({types:?}) are in {n} messages",
                queues[q].0,
                i - from,
                lines[q][from].0,
                lines[q][i - 1].0
            ));
        }
    }
    assert!(wrong.is_empty(), "{} messages checked; {}\n{context}", got.len(), wrong.join("\n"));
    biggest
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
    let Some((dir, mut cluster)) = nats::cluster_or_skip("two_sensors_node_and_sensor_killed") else { return };
    let servers = cluster.toml_servers();
    // One sensor sends an event per message, the other several (the default).
    let a = sensor_config(dir.path(), "site-a", &servers, "batch_events = 1\n");
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

    let want_a = queue_lines(&qa);
    let want_b = queue_lines(&qb);
    let (got, twice) = without_server_duplicates(stream_messages(&cluster.urls(), "PICKET"), &cluster);
    // By message id and by content: each queue line once, in the message its id names.
    let events: usize = got.iter().map(|m| m.events).sum();
    let context = format!(
        "stream holds {events} events in {} messages (and stored twice by the server: {twice:?}), queues {} + {}; \
         acknowledged at the kill: {acked_at_kill:?}\nsite-a said: {ea}\nsite-b said: {eb}",
        got.len(),
        want_a.len(),
        want_b.len()
    );
    eprintln!("{context}");
    let biggest = check_stream_against_queues(&got, &[("site-a", &qa), ("site-b", &qb)], &context);
    assert_eq!(events, want_a.len() + want_b.len(), "{context}");
    assert!(biggest > 1 && got.len() < events, "events travel several per message ({} messages)", got.len());
    // The second sensor's queue holds two replays (the killed one cut short): both reached the
    // stream, and its forwarder resumed past what was acknowledged before the kill.
    assert!(want_b.len() > want_a.len(), "site-b's queue holds more than one replay");
    assert!(acked_at_kill.offset > 0 || acked_at_kill.segment > 1);
    assert!(want_a.iter().any(|(_, l)| l.contains("\"event_type\":\"alert\"")), "alerts were forwarded");
}

/// Asks the stream's leader to step down (a leader election with publishes in flight).
fn step_down(urls: &[String], stream: &str) -> bool {
    new_runtime().unwrap().block_on(async {
        let Ok(client) = async_nats::connect(urls.to_vec()).await else { return false };
        let r = tokio::time::timeout(
            Duration::from_secs(3),
            client.request(format!("$JS.API.STREAM.LEADER.STEPDOWN.{stream}"), "".into()),
        )
        .await;
        matches!(r, Ok(Ok(m)) if !String::from_utf8_lossy(&m.payload).contains("\"error\""))
    })
}

#[test]
fn stream_leader_elections_while_forwarding_lose_no_event() {
    let Some((dir, cluster)) = nats::cluster_or_skip("stream_leader_elections") else { return };
    let servers = cluster.toml_servers();
    // One event per message: the most publishes in flight when a leader steps down.
    let a = sensor_config(dir.path(), "site-a", &servers, "batch_events = 1\n");
    let qa = dir.path().join("site-a-queue");
    let mut sa = replay(&a);
    wait_for("site-a to forward", Duration::from_secs(60), || {
        load_offset(&qa, "nats").is_some_and(|p| p.offset > 0 || p.segment > 1)
    });
    let mut elections = 0;
    while sa.try_wait().unwrap().is_none() && elections < 12 {
        elections += step_down(&cluster.urls(), "PICKET") as u32;
        std::thread::sleep(Duration::from_millis(250));
    }
    let ea = finish(sa, "site-a");
    assert!(!ea.contains("not caught up"), "{ea}");
    let want_a = queue_lines(&qa);
    let (got, twice) = without_server_duplicates(stream_messages(&cluster.urls(), "PICKET"), &cluster);
    let events: usize = got.iter().map(|m| m.events).sum();
    let context = format!(
        "{elections} leader elections; stream holds {events} events in {} messages (and stored twice by the \
         server: {twice:?}), queue {}\nsite-a said: {ea}",
        got.len(),
        want_a.len()
    );
    eprintln!("{context}");
    check_stream_against_queues(&got, &[("site-a", &qa)], &context);
    assert_eq!(events, want_a.len(), "{context}");
    assert!(elections >= 2, "{context}");
}
