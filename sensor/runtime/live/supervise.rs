//! The main thread of a live run once capture is going: signals (SIGHUP reopens the EVE and
//! log files, SIGUSR2 reloads the rules, SIGTERM/SIGINT stop), the commands of the control
//! socket, the link state of every interface, capture loss against `daemon.loss_alarm_percent`
//! (the log and `/healthz`, once per episode), workers that stay silent while the others work,
//! systemd's watchdog, the periodic EVE `stats` event, and the fleet ruleset versions the
//! watcher hands over (`fleet.rules`: verified, then reloaded as SIGUSR2 would, or refused).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR2};
use signal_hook::iterator::Signals;

use super::control::{Answer, Request};
use super::log::wall_now;
use super::notify::Notifier;
use super::reload::{reload, Refused, Ruleset, Trigger};
use super::threads::{OutMsg, Shared};
use super::LiveOptions;
use crate::fleet::rules::{Arrival, Manifest, RulesWatcher};
use crate::metrics::prom::IfaceStats;
use crate::metrics::{Counters, C};
use crate::output::eve;

/// Why the run stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// SIGTERM.
    Term,
    /// SIGINT.
    Int,
    /// `picket ctl shutdown`.
    Control,
}

/// The main thread's state between two turns of its loop.
pub(super) struct Supervisor<'a> {
    opts: &'a LiveOptions,
    sh: &'a Arc<Shared>,
    out: &'a Sender<OutMsg>,
    notify: &'a Notifier,
    /// Counters of the main thread (reloads, link changes, silent workers).
    pub(super) ctl: Counters,
    /// Link state per interface (read from Linux's sysfs: unused elsewhere).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // the link state comes from Linux's sysfs
    link: Vec<Option<bool>>,
    /// Link changes per interface, published as the `control` thread's interface counters.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // as above
    link_counts: Vec<IfaceStats>,
    last_health: Instant,
    last_pkts: Vec<u64>,
    /// Interface -> (kernel packets, kernel drops) at the last health check.
    last_kernel: BTreeMap<String, (u64, u64)>,
    /// Interfaces whose loss is above the alarm (the episode is logged once).
    lossy: BTreeMap<String, f64>,
    last_stats: Instant,
    last_watchdog: Instant,
    start: Instant,
    /// The rules reloads read: the configured ones, or the fleet version in force.
    ruleset: Ruleset,
    /// The fleet ruleset watcher (`fleet.rules`) and what it hands over.
    pub(super) fleet: Option<(Receiver<Arrival>, RulesWatcher)>,
    /// The last fleet version refused: version, reason, message (for `ruleset-stats`).
    fleet_refused: Option<(u64, &'static str, String)>,
}

impl<'a> Supervisor<'a> {
    /// A supervisor of the run started at `start`.
    pub(super) fn new(
        opts: &'a LiveOptions,
        sh: &'a Arc<Shared>,
        out: &'a Sender<OutMsg>,
        notify: &'a Notifier,
        start: Instant,
    ) -> Self {
        Supervisor {
            opts,
            sh,
            out,
            notify,
            ctl: Counters::new(),
            link: opts.interfaces.iter().map(|_| Some(true)).collect(),
            link_counts: vec![IfaceStats::default(); opts.interfaces.len()],
            last_health: Instant::now(),
            last_pkts: vec![0; sh.pkts.len()],
            last_kernel: BTreeMap::new(),
            lossy: BTreeMap::new(),
            last_stats: Instant::now(),
            last_watchdog: Instant::now() - Duration::from_secs(3600),
            start,
            ruleset: Ruleset::configured(opts),
            fleet: None,
            fleet_refused: None,
        }
    }

    /// Runs until SIGTERM, SIGINT or `picket ctl shutdown`; says which.
    pub(super) fn run(&mut self, signals: &mut Signals, requests: &Receiver<Request>) -> Stop {
        loop {
            if let Some(stop) = self.signals(signals) {
                return stop;
            }
            if let Some(stop) = self.requests(requests) {
                return stop;
            }
            #[cfg(target_os = "linux")]
            self.link_state();
            if self.last_health.elapsed() >= Duration::from_secs(self.opts.config.daemon.health_interval_secs) {
                self.last_health = Instant::now();
                self.silent_workers();
                self.capture_loss();
                self.sh.hub.publish("control", &self.ctl);
            }
            self.fleet_rules();
            self.watchdog();
            self.periodic_stats();
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Handles pending signals; the reason to stop, if asked to.
    fn signals(&mut self, signals: &mut Signals) -> Option<Stop> {
        for sig in signals.pending() {
            match sig {
                SIGHUP => {
                    let _ = self.reopen("SIGHUP");
                }
                SIGUSR2 => {
                    let _ = self.reload(Trigger::Signal);
                }
                SIGTERM | SIGINT => {
                    self.sh.log.info(&format!(
                        "{}: stopping: draining the capture and writing every event",
                        if sig == SIGINT { "SIGINT" } else { "SIGTERM" }
                    ));
                    return Some(if sig == SIGINT { Stop::Int } else { Stop::Term });
                }
                _ => {}
            }
        }
        None
    }

    /// Carries out the control socket's commands; the reason to stop, if asked to.
    fn requests(&mut self, requests: &Receiver<Request>) -> Option<Stop> {
        while let Ok(r) = requests.try_recv() {
            match r {
                Request::ReloadRules(reply) => {
                    let a = self.reload(Trigger::Control);
                    let _ = reply.send(a);
                }
                Request::ReopenLogFiles(reply) => {
                    let a = self.reopen("control socket");
                    let _ = reply.send(a);
                }
                Request::Shutdown(reply) => {
                    self.sh.log.info("control socket: shutdown: draining the capture and writing every event");
                    let _ = reply.send(Ok(serde_json::json!("shutting down")));
                    return Some(Stop::Control);
                }
            }
        }
        None
    }

    fn reload(&mut self, why: Trigger) -> Answer {
        let rs = self.ruleset.clone();
        self.reload_from(&rs, why).map_err(|r| r.message)
    }

    fn reload_from(&mut self, rs: &Ruleset, why: Trigger) -> Result<serde_json::Value, Refused> {
        self.notify.notify("RELOADING=1\nSTATUS=reloading rules");
        let a = reload(rs, self.sh, &mut self.ctl, why);
        self.sh.hub.publish("control", &self.ctl);
        self.notify.notify(&format!("READY=1\nSTATUS={}", self.status()));
        if self.sh.slot.current().1.is_none_or(|e| e.stats.loaded == 0) {
            self.sh.log.error("NO RULES LOADED: the sensor records flows but raises no alert");
        }
        a
    }

    /// What the fleet ruleset watcher handed over: each new version verified and swapped in,
    /// or refused (counted by reason, logged); on refusal the running rules stay.
    fn fleet_rules(&mut self) {
        let Some((rx, _)) = &self.fleet else { return };
        let arrivals: Vec<Arrival> = rx.try_iter().collect();
        for a in arrivals {
            match a {
                Arrival::Note(n) => self.sh.log.warn(&n),
                Arrival::Bad { version, why } => {
                    self.ctl.inc(C::FleetRulesRefusedDownload);
                    self.fleet_refuse(version, "download", why);
                }
                Arrival::Ready { manifest, dir } => self.fleet_apply(&manifest, &dir),
            }
            self.publish_fleet();
        }
    }

    fn fleet_apply(&mut self, m: &Manifest, dir: &std::path::Path) {
        if m.version == self.ruleset.fleet_version {
            return;
        }
        let cand = Ruleset::fleet(&self.opts.config, dir, m.version);
        match self.reload_from(&cand, Trigger::Fleet(m.version)) {
            Ok(_) => {
                let old = std::mem::replace(&mut self.ruleset, cand);
                self.ctl.inc(C::FleetRulesApplied);
                self.ctl.set(C::FleetRulesVersion, m.version);
                self.sh.log.info(&format!(
                    "fleet ruleset version {} applied ({} files, sha256 {}, pushed by {})",
                    m.version, m.files, m.sha256, m.pushed_by
                ));
                if old.fleet_version != 0 {
                    for p in &old.paths {
                        let _ = std::fs::remove_dir_all(p);
                    }
                }
            }
            Err(r) => {
                self.ctl.inc(match r.reason {
                    "too_few_rules" => C::FleetRulesRefusedTooFew,
                    _ => C::FleetRulesRefusedLoad,
                });
                let _ = std::fs::remove_dir_all(dir);
                self.fleet_refuse(m.version, r.reason, r.message);
            }
        }
    }

    fn fleet_refuse(&mut self, version: u64, reason: &'static str, message: String) {
        let running = match self.ruleset.fleet_version {
            0 => "the configured rules keep running".to_string(),
            v => format!("version {v} keeps running"),
        };
        self.sh.log.error(&format!("fleet ruleset version {version} refused ({reason}): {message}; {running}"));
        self.fleet_refused = Some((version, reason, message));
    }

    /// The fleet part of `ruleset-stats` and the counters, published at once.
    fn publish_fleet(&self) {
        let refused =
            self.fleet_refused.as_ref().map(|(v, r, m)| serde_json::json!({ "version": v, "reason": r, "message": m }));
        let st = serde_json::json!({
            "version": self.ruleset.fleet_version,
            "applied": self.ctl.get(C::FleetRulesApplied),
            "refused": self.ctl.get(C::FleetRulesRefusedLoad)
                + self.ctl.get(C::FleetRulesRefusedTooFew)
                + self.ctl.get(C::FleetRulesRefusedDownload),
            "last_refused": refused,
        });
        *self.sh.fleet_rules.lock().unwrap_or_else(|p| p.into_inner()) = st;
        self.sh.hub.publish("control", &self.ctl);
    }

    /// Log rotation: the EVE file and the log file are opened again by their names.
    fn reopen(&mut self, from: &str) -> Answer {
        let (tx, rx) = bounded(1);
        let eve = match self.out.send(OutMsg::Reopen(tx)) {
            Ok(()) => rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| Err("the output thread did not answer".into())),
            Err(_) => Err("the output thread has stopped".into()),
        };
        let log = self.sh.log.reopen().map_err(|e| format!("daemon.log_file: cannot reopen: {e}"));
        match (&eve, &log) {
            (Ok(what), Ok(())) => {
                self.sh.log.info(&format!("{from}: reopened the log files (EVE: {what})"));
                Ok(serde_json::json!({ "eve": what, "log": self.sh.log.path().map(|p| p.display().to_string()) }))
            }
            (Err(e), _) | (_, Err(e)) => {
                self.sh.log.error(&format!("{from}: {e}"));
                Err(e.clone())
            }
        }
    }

    /// A one-line status for systemd (`systemctl status`).
    pub(super) fn status(&self) -> String {
        let m = self.sh.hub.merged();
        format!(
            "capturing on {}: {} packets, {} alerts, {} kernel drops",
            self.opts.interfaces.join(", "),
            m.get(C::CapturePackets),
            m.get(C::DetectAlert),
            m.get(C::CaptureKernelDrops)
        )
    }

    /// Link state, every turn (cheap: two small sysfs reads per interface).
    #[cfg(target_os = "linux")]
    fn link_state(&mut self) {
        let log = &self.sh.log;
        for (i, name) in self.opts.interfaces.iter().enumerate() {
            let now = crate::capture::afpacket::link_up(name);
            if Some(&now) == self.link.get(i) {
                continue;
            }
            let counts = self.link_counts.get_mut(i);
            match now {
                Some(true) => {
                    self.ctl.inc(C::CaptureLinkUp);
                    if let Some(c) = counts {
                        c.link_up += 1;
                    }
                    log.info(&format!("{name}: link up: capture resumes"));
                }
                Some(false) => {
                    self.ctl.inc(C::CaptureLinkDown);
                    if let Some(c) = counts {
                        c.link_down += 1;
                    }
                    log.warn(&format!("{name}: link down: no packets until it is back"));
                }
                None => {
                    self.ctl.inc(C::CaptureLinkDown);
                    if let Some(c) = counts {
                        c.link_down += 1;
                    }
                    log.error(&format!("{name}: interface gone: capture resumes if it comes back with the same index"));
                }
            }
            if let Some(slot) = self.link.get_mut(i) {
                *slot = now;
            }
            if let Some(c) = self.link_counts.get(i) {
                self.sh.hub.publish_iface("control", name, c);
            }
            let down: Vec<&str> = self
                .opts
                .interfaces
                .iter()
                .zip(&self.link)
                .filter(|(_, s)| **s != Some(true))
                .map(|(n, _)| n.as_str())
                .collect();
            self.sh.hub.set_problem("link", (!down.is_empty()).then(|| format!("link down: {}", down.join(", "))));
            self.sh.hub.publish("control", &self.ctl);
        }
    }

    /// A worker that received nothing while the others received plenty is named (few flows,
    /// or a fanout problem).
    fn silent_workers(&mut self) {
        let every = self.opts.config.daemon.health_interval_secs;
        let now: Vec<u64> = self.sh.pkts.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        let deltas: Vec<u64> = now.iter().zip(&self.last_pkts).map(|(a, b)| a.saturating_sub(*b)).collect();
        let total: u64 = deltas.iter().sum();
        let nworkers = now.len();
        if nworkers > 1 && total >= 1000 * nworkers as u64 {
            for (id, d) in deltas.iter().enumerate() {
                if *d == 0 {
                    self.ctl.inc(C::CaptureWorkerSilent);
                    self.sh.log.warn_limited(
                        "silent",
                        &format!(
                            "worker {id} received no packet in {every} s while the others received {total} (few flows, or a fanout problem)"
                        ),
                    );
                }
            }
        }
        self.last_pkts = now;
    }

    /// Capture loss per interface over the last health interval: above
    /// `daemon.loss_alarm_percent` the sensor is degraded (`/healthz` 503) and the log says so
    /// once, when the episode starts, and again when it ends.
    fn capture_loss(&mut self) {
        let alarm = self.opts.config.daemon.loss_alarm_percent;
        let ifaces = self.sh.hub.ifaces();
        for (name, s) in &ifaces {
            let (p0, d0) = self.last_kernel.get(name).copied().unwrap_or((0, 0));
            let (dp, dd) = (s.kernel_packets.saturating_sub(p0), s.kernel_drops.saturating_sub(d0));
            self.last_kernel.insert(name.clone(), (s.kernel_packets, s.kernel_drops));
            let pct = if dp > 0 { dd as f64 * 100.0 / dp as f64 } else { 0.0 };
            let over = alarm > 0.0 && dd > 0 && pct > alarm;
            match (over, self.lossy.contains_key(name)) {
                (true, false) => {
                    self.lossy.insert(name.clone(), pct);
                    self.sh.log.error(&format!(
                        "{name}: capture loss {pct:.2}% ({dd} of {dp} packets dropped by the kernel in the last {} s), above daemon.loss_alarm_percent = {alarm}: packets go uninspected (more workers, bigger rings, a BPF filter, fewer rules)",
                        self.opts.config.daemon.health_interval_secs
                    ));
                }
                (true, true) => {
                    self.lossy.insert(name.clone(), pct);
                }
                (false, true) if dp > 0 || dd == 0 => {
                    let worst = self.lossy.remove(name).unwrap_or(0.0);
                    self.sh.log.info(&format!(
                        "{name}: capture loss back under {alarm}% ({pct:.2}% in the last interval; the episode peaked at {worst:.2}%)"
                    ));
                }
                _ => {}
            }
        }
        let msg: Vec<String> = self.lossy.iter().map(|(n, p)| format!("capture loss {p:.2}% on {n}")).collect();
        self.sh.hub.set_problem("loss", (!msg.is_empty()).then(|| msg.join(", ")));
    }

    /// `WATCHDOG=1` at half the watchdog timeout, as long as every worker and the output
    /// thread made progress within that time; a stuck thread stops the pings (systemd then
    /// restarts the service) and is named in the log.
    fn watchdog(&mut self) {
        let Some(every) = self.notify.watchdog_every() else { return };
        if self.last_watchdog.elapsed() < every {
            return;
        }
        self.last_watchdog = Instant::now();
        match self.sh.oldest_beat() {
            Some((i, age)) if Duration::from_millis(age) > every => {
                let who = if i < self.sh.pkts.len() { format!("worker {i}") } else { "the output thread".into() };
                self.sh.log.error_limited(
                    "watchdog",
                    &format!("{who} made no progress for {age} ms: not feeding systemd's watchdog"),
                );
            }
            _ => self.notify.notify(&format!("WATCHDOG=1\nSTATUS={}", self.status())),
        }
    }

    /// The EVE `stats` event every `daemon.stats_interval_secs` (0 = only at exit).
    fn periodic_stats(&mut self) {
        let cfg = &self.opts.config;
        if cfg.daemon.stats_interval_secs == 0
            || !cfg.output.writes_stats()
            || self.last_stats.elapsed() < Duration::from_secs(cfg.daemon.stats_interval_secs)
        {
            return;
        }
        self.last_stats = Instant::now();
        let line = stats_line(self.sh, &self.sh.hub.merged(), self.start);
        let _ = self.out.try_send(OutMsg::Lines(line, 1, None));
    }
}

/// A live `stats` event: Suricata's counters, its `capture` section (kernel packets, drops
/// and errors, summed over the interfaces) and its `detect.engines` (rules and last reload).
pub(super) fn stats_line(sh: &Shared, c: &Counters, start: Instant) -> Vec<u8> {
    let mut stats = c.to_stats_json();
    if let Some(m) = stats.as_object_mut() {
        m.insert(
            "capture".into(),
            serde_json::json!({
                "kernel_packets": c.get(C::CaptureKernelPackets),
                "kernel_drops": c.get(C::CaptureKernelDrops),
                "errors": c.get(C::CaptureErrors),
            }),
        );
        let info = sh.hub.rules_info();
        let last = info.reload.as_ref().and_then(|r| r.last_ok).map(|t| {
            let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let mut b = Vec::new();
            eve::fmt_ts(&mut b, crate::capture::Timestamp::from_parts(d.as_secs(), d.subsec_nanos() as u64));
            String::from_utf8_lossy(&b).into_owned()
        });
        if let (Some(last), Some(serde_json::Value::Object(d))) = (last, m.get_mut("detect")) {
            d.insert(
                "engines".into(),
                serde_json::json!([{
                    "id": 0,
                    "last_reload": last,
                    "rules_loaded": info.loaded,
                    "rules_failed": info.failed,
                    "rules_skipped": info.skipped,
                }]),
            );
        }
    }
    let mut line = Vec::with_capacity(8192);
    eve::stats_event(&mut line, wall_now(), start.elapsed().as_secs(), &stats);
    line
}
