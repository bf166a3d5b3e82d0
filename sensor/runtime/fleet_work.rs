//! Distributed replay, the worker's side (here, beside the replay it runs; the queue's side is
//! `fleet/jobs.rs`): `picket fleet work --rules ...` pulls one job at a
//! time from the shared consumer of `fleet.jobs_stream`, replays its file with the replay
//! runtime ([`crate::runtime::replay::replay`]), publishes every event to the fleet stream
//! (`<subject_prefix>.<worker>.<event_type>`), then the job's result, then acknowledges the job.
//!
//! While a job is replayed and published the worker sends "in progress" every third of
//! `fleet.job_ack_wait_secs`, so a long file keeps its worker; a worker that dies stops
//! extending and the job goes to another after `job_ack_wait_secs`. Re-doing a job cannot add
//! an event twice: an event's message id is the job's id, the event's content digest and its
//! rank among identical events of the job (the `stats` event: its rank only), the same
//! whichever worker replays it and in whatever order its threads wrote it, so JetStream's
//! duplicate window stores it once; the result's id is the job's id. A file that cannot be read,
//! or whose size or digest changed since it was queued, gets a result with the error and is
//! acknowledged (never retried for ever); after `job_max_deliver` deliveries the stream stops
//! offering a job.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::IntoFuture;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, message::PublishMessage, AckKind};
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::fleet::jobs::{file_digest, result_subject, streams, Job, JobResult, WORKERS};
use crate::fleet::rules::nats_config;
use crate::fleet::WorkOptions;
use crate::metrics::prom::MetricsHub;
use crate::metrics::C;
use crate::output::nats::{connect, event_type_of, events_stream_config, new_runtime};
use crate::runtime::fleet_rules::WorkerRules;
use crate::runtime::replay::{replay, ReplayOptions};

struct Ctx<'a> {
    cfg: &'a Config,
    js: jetstream::Context,
    name: String,
    rules: WorkerRules,
    hub: Arc<MetricsHub>,
    opts: &'a WorkOptions,
    tick: Duration,
}

/// Runs the worker until SIGTERM/SIGINT (or the queue is empty, with `until_empty`).
pub fn work(cfg: &Config, opts: &WorkOptions) -> anyhow::Result<ExitCode> {
    let ncfg = nats_config(cfg);
    if ncfg.servers.is_empty() {
        anyhow::bail!("fleet.servers and output.nats.servers: both empty (no NATS server to take jobs from)");
    }
    for r in &opts.rules {
        if !r.exists() {
            anyhow::bail!("{}: rules path does not exist", r.display());
        }
    }
    let engine = (!opts.rules.is_empty()).then(|| {
        let (e, _) = crate::detect::load_engine(&opts.rules, &cfg.detect, &cfg.vars);
        eprintln!("picket: rules: {} loaded, {} not usable", e.stats.loaded, e.errors.len());
        Arc::new(e)
    });
    std::fs::create_dir_all(&opts.work_dir).map_err(|e| anyhow::anyhow!("{}: {e}", opts.work_dir.display()))?;
    let threads = opts.workers.unwrap_or_else(|| cfg.worker_count());
    let hub = Arc::new(MetricsHub::new(threads, engine.as_ref().map_or(0, |e| e.stats.loaded as u64)));
    let rules = WorkerRules::new(engine);
    let state = cfg.fleet.rules.then(|| rules.state());
    let _heartbeat = crate::fleet::heartbeat::Heartbeat::start(cfg, "work", hub.clone(), state)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let name = cfg.sensor.resolved_name();
    let rt = new_runtime()?;
    let run = rt.block_on(async {
        let client = connect(&ncfg, &format!("picket-work-{name}"), None, true).await?;
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_millis(cfg.output.nats.ack_timeout_ms))
            .build(client);
        let fc = &cfg.fleet;
        let (jobs, consumer) = open_queue_retrying(&js, cfg, &stop).await?;
        let mut ctx =
            Ctx { cfg, js, name: name.clone(), rules, hub, opts, tick: Duration::from_secs(fc.job_ack_wait_secs) / 3 };
        let (mut done, mut handed_back) = (0u64, 0u64);
        while !stop.load(Relaxed) {
            let batch = consumer.fetch().max_messages(1).expires(Duration::from_secs(1)).messages().await;
            let mut msgs = match batch {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("picket: {}: cannot fetch a job: {e}", fc.jobs_stream);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut got = false;
            while let Some(m) = msgs.next().await {
                let Ok(m) = m else { continue };
                got = true;
                match ctx.job(m).await {
                    Outcome::Done => done += 1,
                    Outcome::HandedBack => handed_back += 1,
                    Outcome::Dropped => {}
                }
            }
            if !got && opts.until_empty {
                let mut s = jobs.clone();
                if s.info().await.is_ok_and(|i| i.state.messages == 0) {
                    break;
                }
            }
        }
        Ok::<(u64, u64), anyhow::Error>((done, handed_back))
    })?;
    // A job handed back (the cluster failed us) is done again, here or by another worker: it
    // counts once, where it is done.
    let (done, handed_back) = run;
    match handed_back {
        0 => eprintln!("picket: worker {name}: {done} job(s) done"),
        n => eprintln!("picket: worker {name}: {done} job(s) done, {n} handed back"),
    }
    Ok(ExitCode::SUCCESS)
}

/// What became of a delivered job.
enum Outcome {
    /// Replayed (or failed for good) and its result stored.
    Done,
    /// Handed back to the queue for another try.
    HandedBack,
    /// Not a job: dropped.
    Dropped,
}

/// How many times a worker tries to open the job queue before it gives up (one second apart).
const QUEUE_TRIES: u32 = 30;

/// [`open_queue`], tried again every second while it fails (at most [`QUEUE_TRIES`] times, and
/// not after a stop signal): a worker started while the cluster elects its leaders, or with
/// every node busy, waits for it and says so rather than exiting.
async fn open_queue_retrying(
    js: &jetstream::Context,
    cfg: &Config,
    stop: &AtomicBool,
) -> anyhow::Result<(jetstream::stream::Stream, consumer::PullConsumer)> {
    let mut tries = 1;
    loop {
        match open_queue(js, cfg).await {
            Ok(q) => return Ok(q),
            Err(e) if tries < QUEUE_TRIES && !stop.load(Relaxed) => {
                eprintln!(
                    "picket: fleet: the job queue is not ready ({e:#}); trying again in 1 s ({tries} of {QUEUE_TRIES})"
                );
                tries += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The jobs stream (created if missing, with the results stream and the events stream) and the
/// workers' shared durable consumer on it.
async fn open_queue(
    js: &jetstream::Context,
    cfg: &Config,
) -> anyhow::Result<(jetstream::stream::Stream, consumer::PullConsumer)> {
    let fc = &cfg.fleet;
    let (jobs, _) = streams(js, fc).await?;
    let n = &cfg.output.nats;
    js.get_or_create_stream(events_stream_config(n))
        .await
        .map_err(|e| anyhow::anyhow!("output.nats.stream {}: {e}", n.stream))?;
    let consumer = jobs
        .get_or_create_consumer(
            WORKERS,
            consumer::pull::Config {
                durable_name: Some(WORKERS.into()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(fc.job_ack_wait_secs),
                max_deliver: fc.job_max_deliver,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}: consumer {WORKERS}: {e}", fc.jobs_stream))?;
    Ok((jobs, consumer))
}

impl Ctx<'_> {
    /// Does one job, from its delivery to its acknowledgement: what became of it.
    async fn job(&mut self, m: jetstream::Message) -> Outcome {
        let delivery = m.info().map(|i| i.delivered as u64).unwrap_or(1);
        let job: Job = match serde_json::from_slice(&m.payload) {
            Ok(j) => j,
            Err(e) => {
                eprintln!("picket: a job that is not one ({e}): dropped");
                let _ = m.ack_with(AckKind::Term).await;
                return Outcome::Dropped;
            }
        };
        eprintln!("picket: job {} {}: started (delivery {delivery})", job.id, job.path);
        if self.cfg.fleet.rules {
            self.rules.update(&self.js, self.cfg, &self.hub, &m, self.tick).await;
        }
        let mut r = JobResult {
            job: job.id.clone(),
            path: job.path.clone(),
            worker: self.name.clone(),
            delivery,
            ruleset_version: self.rules.version,
            ..JobResult::default()
        };
        let eve = self.opts.work_dir.join(format!("job-{}.json", job.id));
        match self.run(&m, &job, &eve, &mut r).await {
            Ok(()) => {}
            Err(JobError::Retry(e)) => {
                // The cluster failed us (not the file): another try, here or elsewhere.
                eprintln!("picket: job {} {}: {e}; handed back", job.id, job.path);
                let _ = std::fs::remove_file(&eve);
                let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
                return Outcome::HandedBack;
            }
            Err(JobError::Fail(e)) => r.error = Some(e),
        }
        let _ = std::fs::remove_file(&eve);
        let fc = &self.cfg.fleet;
        let body: Bytes = serde_json::to_vec(&r).unwrap_or_default().into();
        let stored = async {
            self.js
                .send_publish(result_subject(fc, &job.id), PublishMessage::build().payload(body).message_id(&job.id))
                .await?
                .await
        };
        if let Err(e) = stored.await {
            eprintln!("picket: job {}: result not stored ({e}); handed back", job.id);
            let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
            return Outcome::HandedBack;
        }
        if let Err(e) = m.double_ack().await {
            eprintln!("picket: job {}: acknowledgement lost ({e}): it may be done again (stored once)", job.id);
        }
        eprintln!(
            "picket: job {} {}: {} packets, {} alerts, {} events{}",
            job.id,
            job.path,
            r.packets,
            r.alerts,
            r.events,
            r.error.as_deref().map(|e| format!(", failed: {e}")).unwrap_or_default()
        );
        Outcome::Done
    }

    /// Checks the file, replays it, publishes its events.
    async fn run(&self, m: &jetstream::Message, job: &Job, eve: &Path, r: &mut JobResult) -> Result<(), JobError> {
        let path = PathBuf::from(&job.path);
        let (sha, size) = file_digest(&path).map_err(|e| JobError::Fail(format!("{}: {e}", job.path)))?;
        if (sha.as_str(), size) != (job.sha256.as_str(), job.size) {
            return Err(JobError::Fail(format!(
                "{}: changed since it was queued ({size} bytes, sha256 {sha}; queued: {} bytes, {})",
                job.path, job.size, job.sha256
            )));
        }
        let _ = std::fs::remove_file(eve);
        let mut config = self.cfg.clone();
        config.output.nats.servers.clear();
        config.output.spool_dir.clear();
        let opts = ReplayOptions {
            inputs: vec![path],
            eve: Some(eve.to_path_buf()),
            workers: self.opts.workers,
            config,
            progress: false,
            verbose: false,
            detect: self.rules.engine.clone(),
            metrics: Some(self.hub.clone()),
            watch: None,
        };
        let mut task = tokio::task::spawn_blocking(move || replay(opts));
        let summary = loop {
            match tokio::time::timeout(self.tick, &mut task).await {
                Err(_) => {
                    let _ = m.ack_with(AckKind::Progress).await;
                }
                Ok(Ok(Ok(s))) => break s,
                Ok(Ok(Err(e))) => return Err(JobError::Fail(format!("{e:#}"))),
                Ok(Err(e)) => return Err(JobError::Fail(format!("the replay thread failed: {e}"))),
            }
        };
        if summary.files_read == 0 || summary.files_failed > 0 {
            let w: Vec<String> = summary.warnings.iter().map(|w| w.to_string()).collect();
            if summary.files_read == 0 {
                return Err(JobError::Fail(format!("no packet could be read: {}", w.join("; "))));
            }
        }
        if let Some(e) = &summary.output_error {
            return Err(JobError::Retry(format!("writing its events: {e}")));
        }
        r.packets = summary.counters.get(C::DecoderPkts);
        r.alerts = summary.counters.get(C::DetectAlert);
        self.publish(m, job, eve, r).await
    }

    /// Publishes the job's events (pipelined, at most `output.nats.in_flight` unacknowledged),
    /// counting alerts per sid; extends the job meanwhile.
    async fn publish(&self, m: &jetstream::Message, job: &Job, eve: &Path, r: &mut JobResult) -> Result<(), JobError> {
        let n = &self.cfg.output.nats;
        let text = std::fs::read(eve).map_err(|e| JobError::Retry(format!("{}: {e}", eve.display())))?;
        let text = Bytes::from(text);
        let mut rank: HashMap<[u8; 8], u64> = HashMap::new();
        let mut stats_rank = 0u64;
        let mut by_sid: BTreeMap<u64, u64> = BTreeMap::new();
        let mut window = VecDeque::with_capacity(n.in_flight);
        let mut last_tick = Instant::now();
        let mut pos = 0;
        while pos < text.len() {
            let end = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i);
            let line = text.slice(pos..end);
            pos = end + 1;
            if line.is_empty() {
                continue;
            }
            let ty = event_type_of(&line);
            let id = if ty == "stats" {
                stats_rank += 1;
                format!("{}.stats.{stats_rank}", job.id)
            } else {
                let d: [u8; 8] = Sha256::digest(&line)[..8].try_into().unwrap_or_default();
                let k = rank.entry(d).or_default();
                *k += 1;
                format!("{}.{}.{k}", job.id, d.iter().map(|b| format!("{b:02x}")).collect::<String>())
            };
            if ty == "alert" {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) {
                    *by_sid.entry(v["alert"]["signature_id"].as_u64().unwrap_or(0)).or_default() += 1;
                }
            }
            let subject = format!("{}.{}.{ty}", n.subject_prefix, self.name);
            let ack = self
                .js
                .send_publish(subject, PublishMessage::build().payload(line).message_id(id))
                .await
                .map_err(|e| JobError::Retry(format!("publishing its events: {e}")))?;
            window.push_back(ack.into_future());
            r.events += 1;
            if window.len() >= n.in_flight {
                if let Some(a) = window.pop_front() {
                    a.await.map_err(|e| JobError::Retry(format!("an event not acknowledged: {e}")))?;
                }
            }
            if last_tick.elapsed() >= self.tick {
                last_tick = Instant::now();
                let _ = m.ack_with(AckKind::Progress).await;
            }
        }
        for a in window {
            a.await.map_err(|e| JobError::Retry(format!("an event not acknowledged: {e}")))?;
        }
        r.alerts_by_sid = by_sid;
        Ok(())
    }
}

enum JobError {
    /// The job cannot be done (its file): reported in its result and acknowledged.
    Fail(String),
    /// Something else failed (the cluster, the local disk): handed back for another try.
    Retry(String),
}
