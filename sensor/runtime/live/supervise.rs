//! The main thread of a live run once capture is going: signals (SIGHUP reloads the rules,
//! SIGTERM/SIGINT stop), link state of every interface, workers that stay silent while the
//! others work, and the periodic EVE `stats` event.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use signal_hook::consts::{SIGHUP, SIGINT};
use signal_hook::iterator::Signals;

use super::log::wall_now;
use super::reload::reload;
use super::threads::{OutMsg, Shared};
use super::LiveOptions;
use crate::metrics::{Counters, C};
use crate::output::eve;

/// The main thread's state between two turns of its loop.
pub(super) struct Supervisor<'a> {
    opts: &'a LiveOptions,
    sh: &'a Arc<Shared>,
    out: &'a Sender<OutMsg>,
    /// Counters of the main thread (reloads, link changes, silent workers).
    pub(super) ctl: Counters,
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // link state comes from Linux's sysfs
    link: Vec<Option<bool>>,
    last_health: Instant,
    last_pkts: Vec<u64>,
    last_stats: Instant,
    start: Instant,
}

impl<'a> Supervisor<'a> {
    /// A supervisor of the run started at `start`.
    pub(super) fn new(opts: &'a LiveOptions, sh: &'a Arc<Shared>, out: &'a Sender<OutMsg>, start: Instant) -> Self {
        Supervisor {
            opts,
            sh,
            out,
            ctl: Counters::new(),
            link: opts.interfaces.iter().map(|_| Some(true)).collect(),
            last_health: Instant::now(),
            last_pkts: vec![0; sh.pkts.len()],
            last_stats: Instant::now(),
            start,
        }
    }

    /// Runs until SIGTERM or SIGINT.
    pub(super) fn run(&mut self, signals: &mut Signals) {
        loop {
            if self.signals(signals) {
                return;
            }
            #[cfg(target_os = "linux")]
            self.link_state();
            self.silent_workers();
            self.periodic_stats();
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Handles pending signals; true when asked to stop.
    fn signals(&mut self, signals: &mut Signals) -> bool {
        for sig in signals.pending() {
            match sig {
                SIGHUP => reload(self.opts, &self.opts.config, self.sh, &mut self.ctl, &self.sh.log),
                _ => {
                    self.sh.log.info(&format!(
                        "{}: stopping: draining the capture and writing every event",
                        if sig == SIGINT { "SIGINT" } else { "SIGTERM" }
                    ));
                    return true;
                }
            }
            self.sh.hub.publish("control", &self.ctl);
        }
        false
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
            match now {
                Some(true) => {
                    self.ctl.inc(C::CaptureLinkUp);
                    log.info(&format!("{name}: link up: capture resumes"));
                }
                Some(false) => {
                    self.ctl.inc(C::CaptureLinkDown);
                    log.warn(&format!("{name}: link down: no packets until it is back"));
                }
                None => {
                    self.ctl.inc(C::CaptureLinkDown);
                    log.error(&format!("{name}: interface gone: capture resumes if it comes back with the same index"));
                }
            }
            if let Some(slot) = self.link.get_mut(i) {
                *slot = now;
            }
            let down: Vec<&str> = self
                .opts
                .interfaces
                .iter()
                .zip(&self.link)
                .filter(|(_, s)| **s != Some(true))
                .map(|(n, _)| n.as_str())
                .collect();
            self.sh.hub.set_health((!down.is_empty()).then(|| format!("link down: {}", down.join(", "))));
            self.sh.hub.publish("control", &self.ctl);
        }
    }

    /// Every `daemon.health_interval_secs`: a worker that received nothing while the others
    /// received plenty is named (few flows, or a fanout problem).
    fn silent_workers(&mut self) {
        let every = Duration::from_secs(self.opts.config.daemon.health_interval_secs);
        if self.last_health.elapsed() < every {
            return;
        }
        self.last_health = Instant::now();
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
                            "worker {id} received no packet in {} s while the others received {total} (few flows, or a fanout problem)",
                            every.as_secs()
                        ),
                    );
                }
            }
        }
        self.last_pkts = now;
        self.sh.hub.publish("control", &self.ctl);
    }

    /// The EVE `stats` event every `daemon.stats_interval_secs` (0 = only at exit).
    fn periodic_stats(&mut self) {
        let cfg = &self.opts.config;
        if cfg.daemon.stats_interval_secs == 0
            || !cfg.output.stats_event
            || self.last_stats.elapsed() < Duration::from_secs(cfg.daemon.stats_interval_secs)
        {
            return;
        }
        self.last_stats = Instant::now();
        let mut line = Vec::with_capacity(8192);
        eve::stats_event(&mut line, wall_now(), self.start.elapsed().as_secs(), &self.sh.hub.merged().to_stats_json());
        let _ = self.out.try_send((line, 1));
    }
}
