//! Distributed replay, the queue's side: `picket fleet submit PCAP|DIR...` queues one job per
//! capture file on the work-queue stream `fleet.jobs_stream`, and with `--wait` follows the
//! results stream `fleet.results_stream` until every job it queued has its summary.
//!
//! A job names a file on storage every worker mounts (absolute path), its size and SHA-256; its
//! id is made of the digest and the path, and is the job's `Nats-Msg-Id`, so a file submitted
//! twice within the stream's duplicate window is queued once. Workers share one durable pull
//! consumer (`workers`): each job goes to one worker at a time, and to another when its worker
//! stops extending it (see `work.rs`). Each job ends with one result on
//! `picket-results.<results_stream>.<job id>` (message id = the job id: a job done twice after
//! a redelivery is counted once).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::rules::nats_config;
use crate::config::{Config, FleetConfig};
use crate::output::nats::{connect, new_runtime};

/// The durable consumer every worker pulls from.
pub(crate) const WORKERS: &str = "workers";

/// One capture file to replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Job {
    /// SHA-256 of the digest and the path, 32 hex digits: the message id.
    pub id: String,
    /// Absolute path on the shared storage.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// Who queued it (`sensor.name`) and when (Unix seconds).
    pub submitted_by: String,
    /// Unix seconds.
    pub submitted_at: u64,
}

/// What a worker reports of a job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct JobResult {
    /// The job's id and file.
    pub job: String,
    /// Its path.
    pub path: String,
    /// The worker that finished it (`sensor.name`) and the delivery it was (1 = first).
    pub worker: String,
    /// 1 for the first delivery.
    pub delivery: u64,
    /// Packets read.
    pub packets: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Alerts per signature id.
    pub alerts_by_sid: BTreeMap<u64, u64>,
    /// Events published (and acknowledged) to the fleet stream.
    pub events: u64,
    /// The fleet ruleset version the job ran with (`[fleet] rules`; 0: the worker's `--rules`).
    pub ruleset_version: u64,
    /// Why the job failed (the file unreadable, changed since it was queued), if it did.
    pub error: Option<String>,
}

/// Subject of the jobs.
pub(crate) fn jobs_subject(fc: &FleetConfig) -> String {
    format!("picket-jobs.{}", fc.jobs_stream)
}

/// Subject of a job's result.
pub(crate) fn result_subject(fc: &FleetConfig, job: &str) -> String {
    format!("picket-results.{}.{job}", fc.results_stream)
}

/// The jobs' work-queue stream and the results stream, created when missing.
pub(crate) async fn streams(
    js: &jetstream::Context,
    fc: &FleetConfig,
) -> anyhow::Result<(stream::Stream, stream::Stream)> {
    let jobs = js
        .get_or_create_stream(stream::Config {
            name: fc.jobs_stream.clone(),
            description: Some("picket: distributed replay jobs, one per capture file".into()),
            subjects: vec![jobs_subject(fc)],
            retention: stream::RetentionPolicy::WorkQueue,
            duplicate_window: Duration::from_secs(3600),
            num_replicas: fc.replicas,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("fleet.jobs_stream {}: {e}", fc.jobs_stream))?;
    let results = js
        .get_or_create_stream(stream::Config {
            name: fc.results_stream.clone(),
            description: Some("picket: distributed replay results, one per job".into()),
            subjects: vec![format!("picket-results.{}.*", fc.results_stream)],
            duplicate_window: Duration::from_secs(3600),
            max_age: Duration::from_secs(30 * 86_400),
            num_replicas: fc.replicas,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("fleet.results_stream {}: {e}", fc.results_stream))?;
    Ok((jobs, results))
}

/// SHA-256 of a file, and its size.
pub(crate) fn file_digest(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The job of one file.
pub(crate) fn job_of(path: &Path, who: &str) -> anyhow::Result<Job> {
    let abs = std::fs::canonicalize(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let (sha256, size) = file_digest(&abs).map_err(|e| anyhow::anyhow!("{}: {e}", abs.display()))?;
    let path = abs.to_string_lossy().into_owned();
    let id = hex(&Sha256::digest(format!("{sha256}\n{path}").as_bytes()))[..32].to_string();
    Ok(Job { id, path, size, sha256, submitted_by: who.into(), submitted_at: super::unix_now() })
}

/// `picket fleet submit`: queues the files; with `wait`, follows their results and prints the
/// summary. Ok(false) when a job failed.
pub(crate) fn submit(cfg: &Config, inputs: &[PathBuf], wait: bool, timeout: u64) -> anyhow::Result<bool> {
    let ncfg = nats_config(cfg);
    if ncfg.servers.is_empty() {
        anyhow::bail!("fleet.servers and output.nats.servers: both empty (no NATS server to queue jobs on)");
    }
    let (files, warnings) = crate::capture::pcap::expand_inputs(inputs);
    for w in &warnings {
        eprintln!("picket: warning: {w}");
    }
    if files.is_empty() {
        anyhow::bail!("no capture file to submit");
    }
    let who = cfg.sensor.resolved_name();
    let jobs = files.iter().map(|f| job_of(f, &who)).collect::<anyhow::Result<Vec<Job>>>()?;
    let fc = &cfg.fleet;
    let rt = new_runtime()?;
    rt.block_on(async {
        let client = connect(&ncfg, &format!("picket-submit-{who}"), None, false).await?;
        let js = jetstream::new(client);
        let (_, results) = streams(&js, fc).await?;
        let mut queued = 0;
        for j in &jobs {
            let body: bytes::Bytes = serde_json::to_vec(j)?.into();
            let mut tries = 0;
            let ack = loop {
                let msg = jetstream::message::PublishMessage::build().payload(body.clone()).message_id(&j.id);
                let r = async { js.send_publish(jobs_subject(fc), msg).await?.await }.await;
                match r {
                    // A stream just created (here or by a worker) may not take its subject on
                    // every node yet: a few tries, 100 ms apart.
                    Err(e) if e.kind() == jetstream::context::PublishErrorKind::StreamNotFound && tries < 50 => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    r => {
                        break r.map_err(|e| anyhow::anyhow!("{}: {} not acknowledged: {e}", fc.jobs_stream, j.path))?
                    }
                }
            };
            if !ack.duplicate {
                queued += 1;
            }
        }
        let bytes: u64 = jobs.iter().map(|j| j.size).sum();
        eprintln!(
            "picket: {} file(s), {bytes} bytes, submitted to {}: {queued} queued, {} already queued",
            jobs.len(),
            fc.jobs_stream,
            jobs.len() - queued
        );
        if !wait {
            return Ok(true);
        }
        let ids: BTreeSet<String> = jobs.iter().map(|j| j.id.clone()).collect();
        let got = follow_results(&results, &ids, Duration::from_secs(timeout)).await?;
        print!("{}", summary(&got));
        Ok(got.len() == ids.len() && got.values().all(|r| r.error.is_none()))
    })
}

/// Reads the results stream until every job of `ids` has a result (or `timeout`); progress on
/// stderr.
async fn follow_results(
    results: &stream::Stream,
    ids: &BTreeSet<String>,
    timeout: Duration,
) -> anyhow::Result<BTreeMap<String, JobResult>> {
    let c = results
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("results stream: {e}"))?;
    let mut msgs = c.messages().await.map_err(|e| anyhow::anyhow!("results stream: {e}"))?;
    let mut got: BTreeMap<String, JobResult> = BTreeMap::new();
    let t0 = Instant::now();
    let mut last = Instant::now();
    while got.len() < ids.len() {
        let left = timeout.saturating_sub(t0.elapsed());
        if left.is_zero() {
            eprintln!("picket: timed out: {} of {} job(s) done", got.len(), ids.len());
            break;
        }
        let m = match tokio::time::timeout(left.min(Duration::from_secs(1)), msgs.next()).await {
            Err(_) => continue,
            Ok(None) => break,
            Ok(Some(m)) => m.map_err(|e| anyhow::anyhow!("results stream: {e}"))?,
        };
        let Ok(r) = serde_json::from_slice::<JobResult>(&m.payload) else { continue };
        if ids.contains(&r.job) && !got.contains_key(&r.job) {
            got.insert(r.job.clone(), r);
            if last.elapsed() >= Duration::from_secs(1) || got.len() == ids.len() {
                last = Instant::now();
                let pk: u64 = got.values().map(|r| r.packets).sum();
                let al: u64 = got.values().map(|r| r.alerts).sum();
                eprintln!("picket: {}/{} file(s) done: {pk} packets, {al} alerts", got.len(), ids.len());
            }
        }
    }
    Ok(got)
}

/// The summary `submit --wait` prints: totals, failed files, alerts per sid.
pub(crate) fn summary(got: &BTreeMap<String, JobResult>) -> String {
    let mut by_sid: BTreeMap<u64, u64> = BTreeMap::new();
    for r in got.values() {
        for (s, n) in &r.alerts_by_sid {
            *by_sid.entry(*s).or_default() += n;
        }
    }
    let failed: Vec<&JobResult> = got.values().filter(|r| r.error.is_some()).collect();
    let mut s = format!(
        "files: {} done, {} failed\npackets: {}\nalerts: {}\nevents: {}\n",
        got.len() - failed.len(),
        failed.len(),
        got.values().map(|r| r.packets).sum::<u64>(),
        got.values().map(|r| r.alerts).sum::<u64>(),
        got.values().map(|r| r.events).sum::<u64>(),
    );
    for r in failed {
        s += &format!("failed: {}: {}\n", r.path, r.error.as_deref().unwrap_or(""));
    }
    let mut versions: BTreeMap<u64, u64> = BTreeMap::new();
    for r in got.values().filter(|r| r.ruleset_version > 0) {
        *versions.entry(r.ruleset_version).or_default() += 1;
    }
    for (v, n) in versions {
        s += &format!("fleet ruleset version {v}: {n} file(s)\n");
    }
    for (sid, n) in by_sid {
        s += &format!("sid {sid}: {n}\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_is_named_by_its_content_and_path_and_results_sum_by_sid() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.pcap");
        std::fs::write(&a, b"abc").unwrap();
        let j = job_of(&a, "s").unwrap();
        assert_eq!(j.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!((j.size, j.id.len()), (3, 32));
        assert_eq!(job_of(&a, "t").unwrap().id, j.id, "who submits does not change the job");
        let b = d.path().join("b.pcap");
        std::fs::write(&b, b"abc").unwrap();
        assert_ne!(job_of(&b, "s").unwrap().id, j.id, "same content, other file: another job");
        let r = |job: &str, sid: u64, n: u64| JobResult {
            job: job.into(),
            packets: 10,
            alerts: n,
            alerts_by_sid: [(sid, n)].into(),
            ruleset_version: 3,
            ..JobResult::default()
        };
        let got: BTreeMap<String, JobResult> =
            [("1".to_string(), r("1", 7, 2)), ("2".to_string(), r("2", 7, 3))].into();
        let s = summary(&got);
        assert!(s.contains("files: 2 done, 0 failed\npackets: 20\nalerts: 5\n"), "{s}");
        assert!(s.contains("sid 7: 5\n") && s.contains("fleet ruleset version 3: 2 file(s)\n"), "{s}");
    }
}
