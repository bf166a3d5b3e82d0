//! The forwarder: a thread with its own single-threaded async runtime that follows the local
//! queue from its saved position and publishes its lines to JetStream, several of one event type
//! per message (`batch.rs`), pipelined.
//!
//! The loop keeps at most `in_flight` events unacknowledged, in queue order (the window,
//! `window.rs`: acknowledgements come back on one subscription, each publish naming its slot in
//! its reply subject). When the oldest ones are acknowledged the forwarder's position moves past
//! their lines (and is saved at most every 100 ms, and at exit; the batch journal is trimmed
//! after each save). A failed publish
//! (acknowledgement timeout, stream leader lost, no stream, connection gone) fails the whole
//! window: the unacknowledged publishes are given up, reading rewinds to the last acknowledged
//! line and everything after it is sent again after a short back-off, cut into the same messages.
//! Re-sent messages carry the same message id, so JetStream's duplicate window stores each once.
//! A duplicate answered without a stored sequence is not taken as stored (`window.rs`; see
//! [`Unconfirmed`]). A crash loses nothing either: the saved position is at or before the last
//! acknowledged line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use async_nats::{header::NATS_MESSAGE_ID, HeaderMap, Subject};

use super::batch::{Batch, Batcher, Journal, Lines, EVENTS_HEADER};
use super::window::{Fail, Window};
use super::{connect, is_token, new_runtime, CpuPriority, NatsConfig, NatsStats, StatsSnapshot};
use crate::metrics::prom::MetricsHub;
use crate::output::spool::{self, Position, Reader};

const RUN: u8 = 0;
const DRAIN: u8 = 1;
const STOP: u8 = 2;

/// A running forwarder.
pub struct Forwarder {
    mode: Arc<AtomicU8>,
    stats: Arc<NatsStats>,
    /// The forwarder thread's id when it runs at SCHED_IDLE (0 otherwise).
    idle_tid: Arc<AtomicI32>,
    handle: Option<std::thread::JoinHandle<anyhow::Result<bool>>>,
}

/// The queue's id: random, made when the forwarder first meets the queue, kept in
/// `<spool_dir>/queue-id`. It is part of every message id, so that a queue deleted and started
/// again (positions from zero) is never taken for re-sends of the old one.
pub fn queue_id(dir: &Path) -> std::io::Result<String> {
    use std::hash::{BuildHasher, Hasher};
    let path = dir.join("queue-id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim();
        if is_token(s) {
            return Ok(s.to_string());
        }
    }
    std::fs::create_dir_all(dir)?;
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.write_u32(std::process::id());
    let id = format!("{:016x}", h.finish());
    let tmp = dir.join(".queue-id.tmp");
    std::fs::write(&tmp, format!("{id}\n"))?;
    std::fs::rename(&tmp, &path)?;
    Ok(id)
}

/// The `event_type` of an EVE line, when it is a subject token; else `unknown`.
pub fn event_type_of(line: &[u8]) -> &str {
    const KEY: &[u8] = b"\"event_type\":\"";
    let Some(i) = memchr::memmem::find(line, KEY) else { return "unknown" };
    let rest = &line[i + KEY.len()..];
    let Some(end) = memchr::memchr(b'"', rest) else { return "unknown" };
    match std::str::from_utf8(&rest[..end]) {
        Ok(t) if is_token(t) => t,
        _ => "unknown",
    }
}

impl Forwarder {
    /// Starts forwarding the queue in `spool_dir` as `sensor`. The forwarder registers its
    /// position at once (so retention counts what it has not read) and connects in the
    /// background: an unreachable cluster delays publishing, never the caller.
    /// Its counters are published to `hub` (as thread `nats`) every 250 ms when given.
    pub fn start(
        cfg: &NatsConfig,
        sensor: &str,
        spool_dir: &Path,
        hub: Option<Arc<MetricsHub>>,
    ) -> anyhow::Result<Forwarder> {
        if !is_token(sensor) {
            anyhow::bail!("sensor.name `{sensor}`: letters, digits, - and _ only (it is a subject token)");
        }
        let qid = queue_id(spool_dir).map_err(|e| anyhow::anyhow!("{}: queue id: {e}", spool_dir.display()))?;
        let reader = Reader::new(spool_dir, spool::load_offset(spool_dir, &cfg.consumer));
        spool::save_offset(spool_dir, &cfg.consumer, reader.pos)
            .map_err(|e| anyhow::anyhow!("{}: cannot save the forwarder's position: {e}", spool_dir.display()))?;
        let mode = Arc::new(AtomicU8::new(RUN));
        let stats = Arc::new(NatsStats::default());
        let state = Loop {
            cfg: cfg.clone(),
            sensor: sensor.to_string(),
            qid,
            dir: spool_dir.to_path_buf(),
            mode: mode.clone(),
            stats: stats.clone(),
            hub,
        };
        let idle_tid = Arc::new(AtomicI32::new(0));
        let tid = idle_tid.clone();
        let handle = std::thread::Builder::new().name("picket-nats".into()).spawn(move || {
            // Before the runtime: threads it starts (its blocking pool) inherit the policy.
            if state.cfg.cpu_priority == CpuPriority::Idle {
                tid.store(crate::sys::thread_id(), Relaxed);
                if let Err(e) = crate::sys::set_thread_sched_idle() {
                    eprintln!("picket: warning: output.nats.cpu_priority = \"idle\": {e}; the forwarder runs at normal priority");
                }
            }
            let rt = new_runtime()?;
            rt.block_on(state.run(reader))
        })?;
        Ok(Forwarder { mode, stats, idle_tid, handle: Some(handle) })
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<NatsStats> {
        self.stats.clone()
    }

    /// True once the thread ended (an error, or asked to).
    pub fn is_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Publishes what the queue holds now and stops, waiting at most `timeout`. Returns whether
    /// everything was acknowledged, and the final stats. The packet path is over: a forwarder
    /// at SCHED_IDLE goes back to normal priority for the drain when the process may do that
    /// (CAP_SYS_NICE; otherwise it drains at idle priority).
    pub fn finish(mut self, timeout: Duration) -> (anyhow::Result<bool>, StatsSnapshot) {
        let tid = self.idle_tid.load(Relaxed);
        if tid != 0 {
            let _ = crate::sys::set_thread_sched_normal(tid);
        }
        self.mode.store(DRAIN, Relaxed);
        let t0 = Instant::now();
        while !self.is_finished() && t0.elapsed() < timeout {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.join()
    }

    /// Stops now (what is unacknowledged is sent by the next start).
    pub fn stop(mut self) -> (anyhow::Result<bool>, StatsSnapshot) {
        self.join()
    }

    fn join(&mut self) -> (anyhow::Result<bool>, StatsSnapshot) {
        self.mode.store(STOP, Relaxed);
        let r = match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(anyhow::anyhow!("the NATS forwarder panicked (a bug: please report it)")),
            None => Ok(false),
        };
        (r, self.stats.snapshot())
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if self.handle.is_some() {
            let _ = self.join();
        }
    }
}

/// Counts the queue's lines ahead of the acknowledged position, for `lag_events`.
struct LagScanner {
    reader: Reader,
    lines: u64,
    acked: u64,
    buf: Vec<u8>,
}

impl LagScanner {
    fn at(dir: &Path, pos: Position) -> LagScanner {
        LagScanner { reader: Reader::new(dir, Some(pos)), lines: 0, acked: 0, buf: Vec::new() }
    }

    /// Reads up to `budget` new bytes of the queue; the events not acknowledged yet.
    fn advance(&mut self, budget: usize) -> u64 {
        let mut read = 0;
        while read < budget {
            self.buf.clear();
            match self.reader.read(&mut self.buf, 4 << 20) {
                Ok(n) if n > 0 => {
                    read += n;
                    self.lines += memchr::memchr_iter(b'\n', &self.buf).count() as u64;
                }
                _ => break,
            }
        }
        self.lines.saturating_sub(self.acked)
    }
}

/// Bytes of the queue from `pos` to its end.
fn bytes_after(dir: &Path, pos: Position) -> u64 {
    spool::segments(dir)
        .into_iter()
        .filter(|&s| s >= pos.segment)
        .filter_map(|s| std::fs::metadata(dir.join(format!("segment-{s:020}.json"))).ok().map(|m| (s, m.len())))
        .map(|(s, len)| if s == pos.segment { len.saturating_sub(pos.offset) } else { len })
        .sum()
}

/// The subject of each event type (`<prefix>.<sensor>.<event_type>`), made once.
struct Subjects {
    prefix: String,
    by_type: Vec<(String, Subject)>,
}

impl Subjects {
    fn new(prefix: &str, sensor: &str) -> Subjects {
        Subjects { prefix: format!("{prefix}.{sensor}."), by_type: Vec::new() }
    }

    fn of(&mut self, event_type: &str) -> Subject {
        if let Some((_, s)) = self.by_type.iter().find(|(t, _)| t == event_type) {
            return s.clone();
        }
        let s = Subject::from(format!("{}{event_type}", self.prefix));
        self.by_type.push((event_type.to_string(), s.clone()));
        s
    }
}

/// Subjects and message ids of the messages, made without allocating per message.
struct Publisher {
    subjects: Subjects,
    /// `<sensor>.<queue id>.` then the message's part.
    id: String,
    id_prefix: usize,
    /// The message starting here goes under its id with `.r<n>` appended (see [`Unconfirmed`]).
    reissue: Option<(Position, u32)>,
}

/// The message JetStream last answered as a duplicate without a stored sequence (nats-server
/// before 2.11, `window.rs`): when the answer for the same message is still that after
/// `ack_timeout` (time for a proposal in flight to be stored), its proposal was dropped and the
/// id is blocked until the duplicate window ends, so the message is sent under a new id,
/// `<id>.r<n>`. The `n` counts from 1 for each message, so a re-issue sent again (a failed
/// window, a restart) carries the same id and is stored once. At worst (a dropped-looking
/// proposal stored after all) the stream holds the message twice; it never loses it.
struct Unconfirmed {
    first: Position,
    since: Instant,
    reissue: u32,
}

impl Unconfirmed {
    /// The message of `(first line, events)` was answered so again.
    fn answered(
        state: &mut Option<Unconfirmed>,
        out: &mut Publisher,
        st: &NatsStats,
        (first, events): (Position, u64),
        ack_timeout: Duration,
    ) {
        st.unconfirmed.fetch_add(events, Relaxed);
        match state {
            Some(u) if u.first == first => {
                if u.since.elapsed() >= ack_timeout {
                    u.reissue += 1;
                    u.since = Instant::now();
                    out.reissue = Some((first, u.reissue));
                    st.reissued.fetch_add(events, Relaxed);
                }
            }
            _ => *state = Some(Unconfirmed { first, since: Instant::now(), reissue: 0 }),
        }
    }

    /// Acknowledged up to `acked`: a message before it is stored, its new id no longer needed.
    fn acked(state: &mut Option<Unconfirmed>, out: &mut Publisher, acked: Position) {
        if state.as_ref().is_some_and(|u| u.first < acked) {
            *state = None;
            out.reissue = None;
        }
    }
}

impl Publisher {
    fn new(prefix: &str, sensor: &str, qid: &str) -> Publisher {
        let id = format!("{sensor}.{qid}.");
        Publisher { subjects: Subjects::new(prefix, sensor), id_prefix: id.len(), id, reissue: None }
    }

    /// Publishes one message (its acknowledgement comes to the window).
    async fn send(
        &mut self,
        client: &async_nats::Client,
        win: &mut Window,
        st: &NatsStats,
        b: Batch,
        ack_timeout: Duration,
    ) -> Result<(), Fail> {
        self.id.truncate(self.id_prefix);
        let _ = write!(self.id, "{}.{}", b.first.segment, b.first.offset);
        if b.events > 1 {
            let _ = write!(self.id, ".{}", b.events);
        }
        if let Some((first, n)) = self.reissue.filter(|r| r.0 == b.first) {
            let _ = write!(self.id, ".r{n}");
            debug_assert_eq!(first, b.first);
        }
        let mut headers = HeaderMap::new();
        headers.insert(NATS_MESSAGE_ID, self.id.as_str());
        headers.insert(EVENTS_HEADER, b.events.to_string());
        let subject = self.subjects.of(b.event_type());
        let send = client.publish_with_reply_and_headers(subject, win.next_reply(), headers, b.payload);
        match tokio::time::timeout(ack_timeout, send).await {
            Ok(Ok(())) => {
                st.published.fetch_add(b.events, Relaxed);
                st.messages.fetch_add(1, Relaxed);
                win.push(b.first, b.end, b.events);
                Ok(())
            }
            Ok(Err(_)) => Err(Fail::Refused),
            Err(_) => Err(Fail::Timeout),
        }
    }
}

struct Loop {
    cfg: NatsConfig,
    sensor: String,
    qid: String,
    dir: PathBuf,
    mode: Arc<AtomicU8>,
    stats: Arc<NatsStats>,
    hub: Option<Arc<MetricsHub>>,
}

/// The fleet stream's settings, when Picket creates it (the forwarder, `picket fleet work`).
pub fn events_stream_config(c: &NatsConfig) -> stream::Config {
    let mut dup = Duration::from_secs(c.duplicate_window_secs);
    if c.max_age_secs > 0 {
        dup = dup.min(Duration::from_secs(c.max_age_secs));
    }
    stream::Config {
        name: c.stream.clone(),
        subjects: vec![format!("{}.>", c.subject_prefix)],
        num_replicas: c.replicas,
        max_age: Duration::from_secs(c.max_age_secs),
        max_bytes: if c.max_bytes == 0 { -1 } else { c.max_bytes.min(i64::MAX as u64) as i64 },
        duplicate_window: dup,
        storage: stream::StorageType::File,
        ..Default::default()
    }
}

impl Loop {
    /// Refreshes the gauges and publishes the counters.
    fn tick(&self, client: &async_nats::Client, acked_pos: Position, scan: &mut LagScanner) {
        let st = &self.stats;
        let connected = client.connection_state() == async_nats::connection::State::Connected;
        st.connected.store(connected as u64, Relaxed);
        st.lag_bytes.store(bytes_after(&self.dir, acked_pos), Relaxed);
        st.lag_events.store(scan.advance(64 << 20), Relaxed);
        if let Some(h) = &self.hub {
            h.publish("nats", &st.snapshot().counters());
        }
    }

    async fn run(self, reader: Reader) -> anyhow::Result<bool> {
        let c = &self.cfg;
        let st = &self.stats;
        let client = connect(c, &format!("picket {}", self.sensor), Some(st.clone()), true).await?;
        let js =
            jetstream::ContextBuilder::new().timeout(Duration::from_millis(c.ack_timeout_ms)).build(client.clone());
        let ack_timeout = Duration::from_millis(c.ack_timeout_ms);
        let mut acked_pos = reader.pos;
        let mut saved_pos = acked_pos;
        let journal = Journal::load(&self.dir, &c.consumer, acked_pos, c.batch_events > 1);
        let mut batches = Batcher::new(Lines::at(&self.dir, acked_pos), journal, c.batch_events);
        let mut cut = Vec::new();
        let mut scan = LagScanner::at(&self.dir, acked_pos);
        let mut win = Window::open(&client, c.in_flight).await?;
        let mut need_stream = true;
        let mut backoff = Duration::from_millis(100);
        let (mut last_save, mut last_tick) = (Instant::now(), Instant::now() - Duration::from_secs(1));
        let mut caught_up = false;
        let mut out = Publisher::new(&c.subject_prefix, &self.sensor, &self.qid);
        let mut unconfirmed: Option<Unconfirmed> = None;
        loop {
            let mode = self.mode.load(Relaxed);
            if mode == STOP {
                break;
            }
            if last_tick.elapsed() >= Duration::from_millis(250) {
                last_tick = Instant::now();
                self.tick(&client, acked_pos, &mut scan);
            }
            if need_stream {
                match js.get_or_create_stream(events_stream_config(&self.cfg)).await {
                    Ok(_) => need_stream = false,
                    Err(_) => {
                        st.errors.fetch_add(1, Relaxed);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                        continue;
                    }
                }
            }
            // Fill the window: cut the messages, journal the cuts, then publish.
            let mut failed = None;
            let mut room = c.in_flight.saturating_sub(win.events() as usize);
            while room > 0 {
                let skipped = batches.lines.reader.skipped_segments;
                let Some(b) = batches.next(room)? else { break };
                if batches.lines.reader.skipped_segments != skipped {
                    st.missed_segments.fetch_add(batches.lines.reader.skipped_segments - skipped, Relaxed);
                    scan = LagScanner::at(&self.dir, batches.lines.chunk_start());
                }
                room = room.saturating_sub(b.events as usize);
                cut.push(b);
            }
            batches.journal.write()?;
            for b in cut.drain(..) {
                if failed.is_none() {
                    failed = out.send(&client, &mut win, st, b, ack_timeout).await.err();
                }
            }
            st.in_flight.store(win.events(), Relaxed);
            if failed.is_none() {
                if win.is_empty() {
                    if mode == DRAIN {
                        caught_up = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                } else {
                    failed = win.wait(Duration::from_millis(100), ack_timeout).await.err();
                }
            }
            // What was acknowledged counts, even in a window that failed behind it.
            let (n, dup, end) = win.pop_acked();
            if let Some(end) = end {
                acked_pos = end;
                st.acked.fetch_add(n, Relaxed);
                st.duplicates.fetch_add(dup, Relaxed);
                scan.acked += n;
                backoff = Duration::from_millis(100);
                Unconfirmed::acked(&mut unconfirmed, &mut out, acked_pos);
            }
            if let Some(Fail::Unconfirmed { first, events }) = failed {
                Unconfirmed::answered(&mut unconfirmed, &mut out, st, (first, events), ack_timeout);
            }
            if let Some(f) = failed {
                st.errors.fetch_add(1, Relaxed);
                need_stream |= matches!(f, Fail::NoStream);
                st.resent.fetch_add(win.events(), Relaxed);
                win.clear();
                if matches!(f, Fail::Closed) {
                    win = Window::open(&client, c.in_flight).await?;
                }
                st.in_flight.store(0, Relaxed);
                batches.rewind(&self.dir, acked_pos);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            if acked_pos != saved_pos && (win.is_empty() || last_save.elapsed() >= Duration::from_millis(100)) {
                spool::save_offset(&self.dir, &c.consumer, acked_pos)?;
                batches.journal.trim(acked_pos)?;
                saved_pos = acked_pos;
                last_save = Instant::now();
            }
        }
        if acked_pos != saved_pos {
            spool::save_offset(&self.dir, &c.consumer, acked_pos)?;
            batches.journal.trim(acked_pos)?;
        }
        st.in_flight.store(win.events(), Relaxed);
        st.lag_bytes.store(bytes_after(&self.dir, acked_pos), Relaxed);
        st.lag_events.store(scan.advance(usize::MAX), Relaxed);
        if let Some(h) = &self.hub {
            h.publish("nats", &st.snapshot().counters());
        }
        Ok(caught_up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_is_read_and_sanitised() {
        assert_eq!(event_type_of(br#"{"timestamp":"x","event_type":"alert","src_ip":"1.2.3.4"}"#), "alert");
        assert_eq!(event_type_of(br#"{"event_type":"a.b"}"#), "unknown");
        assert_eq!(event_type_of(br#"{"event_type":"flow"#), "unknown");
        assert_eq!(event_type_of(b"not json"), "unknown");
    }

    #[test]
    fn queue_id_is_made_once_and_kept() {
        let d = tempfile::tempdir().unwrap();
        let a = queue_id(d.path()).unwrap();
        assert_eq!(a.len(), 16);
        assert_eq!(queue_id(d.path()).unwrap(), a);
    }

    #[test]
    fn lag_counts_the_lines_ahead() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("segment-00000000000000000001.json"), b"{\"a\":1}\n\n{\"b\":22}\n").unwrap();
        std::fs::write(d.path().join("segment-00000000000000000002.json"), b"{\"c\":3}\n").unwrap();
        let mut s = LagScanner::at(d.path(), Position { segment: 1, offset: 8 });
        assert_eq!(s.advance(1 << 20), 3, "the empty line counts as a line ahead");
    }
}
