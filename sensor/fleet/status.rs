//! `picket fleet status` (the sensors' last heartbeats as a table or JSON, stale ones marked)
//! and `picket fleet tail` (the fleet stream as it grows, filtered by sensor and event type).

use std::io::Write;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;

use super::heartbeat::Beat;
use super::rules::nats_config;
use super::{kv_bucket, unix_now};
use crate::config::Config;
use crate::output::nats::{connect, is_token, new_runtime};

/// One sensor as `fleet status` judges it.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Row {
    /// Its last beat.
    #[serde(flatten)]
    pub beat: Beat,
    /// Seconds since that beat.
    pub age_secs: u64,
    /// Older than the stale threshold (and not stopped).
    pub stale: bool,
    /// A refused ruleset newer than the one in force.
    pub refusing: bool,
}

/// Judges `beats` at `now`: stale when older than `stale` seconds (0 = three of the sensor's
/// own intervals, at least 10 s).
pub(crate) fn rows(beats: Vec<Beat>, now: u64, stale: u64) -> Vec<Row> {
    let mut out: Vec<Row> = beats
        .into_iter()
        .map(|b| {
            let age = now.saturating_sub(b.sent_at);
            let limit = if stale > 0 { stale } else { (b.interval_secs * 3).max(10) };
            let refusing = b.ruleset_refused.as_ref().is_some_and(|r| r.version > b.ruleset_version);
            Row { stale: b.state != "stopped" && age > limit, refusing, age_secs: age, beat: b }
        })
        .collect();
    out.sort_by(|a, b| a.beat.sensor.cmp(&b.beat.sensor));
    out
}

/// The table `fleet status` prints.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<16} {:<6} {:<8} {:>7} {:>7} {:>9} {:>10} {:>10} {:>8} {:>9} {:>6}  {}\n",
        "SENSOR", "MODE", "VERSION", "RULESET", "RULES", "UPTIME", "PKTS/S", "DROPS", "ALERTS/S", "LAG", "AGE", "STATE"
    );
    for r in rows {
        let b = &r.beat;
        let mut state = if r.stale { format!("STALE (no heartbeat for {} s)", r.age_secs) } else { b.state.clone() };
        if let (true, Some(x)) = (r.refusing, &b.ruleset_refused) {
            state += &format!("; REFUSED ruleset {} ({}): {}", x.version, x.reason, x.message);
        }
        s += &format!(
            "{:<16} {:<6} {:<8} {:>7} {:>7} {:>9} {:>10.0} {:>10} {:>8.1} {:>9} {:>5}s  {}\n",
            b.sensor,
            b.mode,
            b.version,
            b.ruleset_version,
            b.rules_loaded,
            duration(b.uptime_secs),
            b.packets_per_sec,
            b.kernel_drops,
            b.alerts_per_sec,
            b.queue_lag_events,
            r.age_secs,
            state
        );
    }
    s
}

fn duration(s: u64) -> String {
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Reads every sensor's last beat.
async fn read_beats(js: &jetstream::Context, cfg: &Config) -> anyhow::Result<Vec<Beat>> {
    let b = &cfg.fleet.status_bucket;
    let kv = kv_bucket(js, b, "", 1, 1, false, Duration::ZERO)
        .await
        .map_err(|e| anyhow::anyhow!("fleet.status_bucket {b}: {e} (no sensor has sent a heartbeat yet?)"))?;
    let mut keys = kv.keys().await.map_err(|e| anyhow::anyhow!("fleet.status_bucket {b}: cannot list: {e}"))?;
    let mut names = Vec::new();
    while let Some(k) = keys.next().await {
        names.push(k.map_err(|e| anyhow::anyhow!("fleet.status_bucket {b}: {e}"))?);
    }
    let mut beats = Vec::new();
    for k in names {
        if let Ok(Some(v)) = kv.get(&k).await {
            if let Ok(beat) = serde_json::from_slice::<Beat>(&v) {
                beats.push(beat);
            }
        }
    }
    Ok(beats)
}

/// `picket fleet status`.
pub(crate) fn status(cfg: &Config, json: bool, stale: u64) -> anyhow::Result<bool> {
    let ncfg = nats_config(cfg);
    if ncfg.servers.is_empty() {
        anyhow::bail!("fleet.servers and output.nats.servers: both empty (no NATS server to ask)");
    }
    let rt = new_runtime()?;
    let beats = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), async {
            let client = connect(&ncfg, "picket-fleet-status", None, false).await?;
            read_beats(&jetstream::new(client), cfg).await
        })
        .await
        .map_err(|_| anyhow::anyhow!("no answer from {} within 30 s", ncfg.servers.join(",")))?
    })?;
    let rows = rows(beats, unix_now(), stale);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", table(&rows));
    }
    Ok(rows.iter().all(|r| !r.stale && !r.refusing))
}

/// What `picket fleet tail` follows.
pub(crate) struct TailOptions {
    /// Only this sensor's events.
    pub sensor: Option<String>,
    /// Only this event type.
    pub event_type: Option<String>,
    /// From the stream's first event instead of new ones.
    pub all: bool,
    /// Stop after this many events.
    pub count: Option<u64>,
}

/// `picket fleet tail`: prints each event (one JSON line) as it is stored, splitting the
/// messages that carry several.
pub(crate) fn tail(cfg: &Config, t: &TailOptions) -> anyhow::Result<()> {
    let n = &cfg.output.nats;
    let ncfg = nats_config(cfg);
    if ncfg.servers.is_empty() {
        anyhow::bail!("fleet.servers and output.nats.servers: both empty (no NATS server to follow)");
    }
    for (what, v) in [("--sensor", &t.sensor), ("--type", &t.event_type)] {
        if let Some(v) = v.as_deref().filter(|v| !is_token(v)) {
            anyhow::bail!("{what} {v}: letters, digits, - and _ only (a subject token)");
        }
    }
    let subject = format!(
        "{}.{}.{}",
        n.subject_prefix,
        t.sensor.as_deref().unwrap_or("*"),
        t.event_type.as_deref().unwrap_or("*")
    );
    let rt = new_runtime()?;
    rt.block_on(async {
        let client = connect(&ncfg, "picket-fleet-tail", None, false).await?;
        let js = jetstream::new(client);
        let stream =
            js.get_stream(&n.stream).await.map_err(|e| anyhow::anyhow!("output.nats.stream {}: {e}", n.stream))?;
        let c = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: subject.clone(),
                deliver_policy: if t.all { consumer::DeliverPolicy::All } else { consumer::DeliverPolicy::New },
                ..Default::default()
            })
            .await
            .map_err(|e| anyhow::anyhow!("{}: cannot follow {subject}: {e}", n.stream))?;
        let mut msgs = c.messages().await.map_err(|e| anyhow::anyhow!("{}: {e}", n.stream))?;
        let mut out = std::io::stdout().lock();
        let mut seen = 0u64;
        while t.count.is_none_or(|c| seen < c) {
            match msgs.next().await {
                Some(Ok(m)) => {
                    // A message carries one or more events, one per line.
                    for line in m.payload.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                        if t.count.is_some_and(|c| seen >= c) {
                            break;
                        }
                        seen += 1;
                        out.write_all(line)?;
                        out.write_all(b"\n")?;
                    }
                    out.flush()?;
                }
                Some(Err(e)) => anyhow::bail!("{}: {e}", n.stream),
                None => break,
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::heartbeat::Refusal;

    #[test]
    fn stale_and_refusing_sensors_are_marked() {
        let b = |name: &str, sent_at, state: &str, refused: Option<u64>| Beat {
            sensor: name.into(),
            state: state.into(),
            sent_at,
            interval_secs: 5,
            ruleset_version: 2,
            ruleset_refused: refused.map(|v| Refusal { version: v, reason: "load_failed".into(), message: "m".into() }),
            ..Beat::default()
        };
        let r = rows(
            vec![b("s3", 60, "running", None), b("s1", 98, "running", Some(3)), b("s2", 95, "stopped", Some(1))],
            100,
            0,
        );
        let got: Vec<(&str, bool, bool)> = r.iter().map(|r| (r.beat.sensor.as_str(), r.stale, r.refusing)).collect();
        assert_eq!(got, [("s1", false, true), ("s2", false, false), ("s3", true, false)]);
        let t = table(&r);
        assert!(t.contains("REFUSED ruleset 3 (load_failed)"), "{t}");
        assert!(t.contains("STALE (no heartbeat for 40 s)"), "{t}");
        assert!(rows(vec![b("s3", 60, "running", None)], 100, 60).iter().all(|r| !r.stale));
    }
}
