//! `picket bench`: throughput of the whole pipeline on captures held in memory, and with
//! `--profile` what each rule costs.
//!
//! The captures are read once into a [`FrameArena`]; each loop lends every frame again through
//! the same pipeline as `picket replay` ([`run_source`]: reader, N workers, output thread), with
//! fresh flow tables and threshold state, so each loop sees the capture as a first replay would
//! and gives the same alerts. The disk is out of the measurement; EVE events are formatted and
//! counted but not written.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::capture::pcap::{expand_inputs, PcapFileSource};
use crate::capture::{CaptureWarning, FrameArena, PacketSource};
use crate::config::Config;
use crate::detect::engine::DetectEngine;
use crate::detect::profile::{Report, RuleProfile};
use crate::metrics::C;
use crate::runtime::replay::{run_source, ReplayOptions};

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Capture files and folders.
    pub inputs: Vec<PathBuf>,
    /// Configuration.
    pub config: Config,
    /// Worker threads.
    pub workers: usize,
    /// Keep per-rule profiles.
    pub profile: bool,
}

/// One pass over the captures.
#[derive(Clone, Debug, Default)]
pub struct LoopResult {
    /// Wall time, reader start to last event counted.
    pub wall_secs: f64,
    /// Packets decoded.
    pub packets: u64,
    /// Captured bytes decoded.
    pub bytes: u64,
    /// Alerts.
    pub alerts: u64,
    /// Flows.
    pub flows: u64,
}

impl LoopResult {
    /// Gigabits per second of captured bytes.
    pub fn gbps(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.wall_secs.max(1e-9) / 1e9
    }
    /// Packets per second.
    pub fn pps(&self) -> f64 {
        self.packets as f64 / self.wall_secs.max(1e-9)
    }
    /// One line of the text output.
    pub fn line(&self) -> String {
        format!(
            "{:.3} s, {:.3} Gbit/s, {:.0} kpps, {} packets, {} flows, {} alerts",
            self.wall_secs,
            self.gbps(),
            self.pps() / 1e3,
            self.packets,
            self.flows,
            self.alerts
        )
    }
    /// As JSON.
    pub fn json(&self) -> Value {
        json!({
            "wall_secs": self.wall_secs,
            "gbit_per_sec": self.gbps(),
            "packets_per_sec": self.pps(),
            "packets": self.packets,
            "bytes": self.bytes,
            "flows": self.flows,
            "alerts": self.alerts,
        })
    }
}

/// The loop with the median wall time (the lower middle one for an even count).
pub fn median(loops: &[LoopResult]) -> Option<LoopResult> {
    let mut v: Vec<&LoopResult> = loops.iter().collect();
    v.sort_by(|a, b| a.wall_secs.total_cmp(&b.wall_secs));
    v.get(v.len().saturating_sub(1) / 2).map(|l| (*l).clone())
}

/// Captures in memory, an engine, and what the loops measured.
pub struct Bench {
    opts: BenchOptions,
    detect: Option<Arc<DetectEngine>>,
    arena: FrameArena,
    /// Problems reading the captures.
    pub warnings: Vec<CaptureWarning>,
    /// Files read.
    pub files: u64,
    /// Seconds spent reading the captures into memory.
    pub read_secs: f64,
    /// Every worker's profile of every loop, merged.
    profile: Option<RuleProfile>,
}

impl Bench {
    /// Reads the captures into memory.
    pub fn new(opts: BenchOptions, detect: Option<Arc<DetectEngine>>) -> Bench {
        let t0 = Instant::now();
        let (files, mut warnings) = expand_inputs(&opts.inputs);
        let mut src = PcapFileSource::new(files);
        let arena = FrameArena::read(&mut src);
        warnings.extend(src.take_warnings());
        Bench {
            opts,
            detect,
            arena,
            warnings,
            files: src.files_opened,
            read_secs: t0.elapsed().as_secs_f64(),
            profile: None,
        }
    }

    /// Frames held.
    pub fn frames(&self) -> usize {
        self.arena.len()
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.arena.bytes()
    }

    /// One pass through the pipeline.
    pub fn run_once(&mut self) -> anyhow::Result<LoopResult> {
        if let Some(d) = &self.detect {
            d.reset_thresholds();
        }
        let opts = ReplayOptions {
            inputs: Vec::new(),
            eve: None,
            workers: Some(self.opts.workers),
            config: self.opts.config.clone(),
            progress: false,
            verbose: false,
            detect: self.detect.clone(),
            metrics: None,
            watch: None,
        };
        let mut src = self.arena.source();
        let out = run_source(&opts, &mut src, self.opts.profile, |_, _| {})?;
        if let Some(e) = &out.summary.output_error {
            anyhow::bail!("output failed: {e}");
        }
        if let Some(p) = RuleProfile::merged(&out.profiles) {
            match &mut self.profile {
                Some(acc) => acc.merge(&p),
                None => self.profile = Some(p),
            }
        }
        let c = &out.summary.counters;
        Ok(LoopResult {
            wall_secs: out.summary.wall.as_secs_f64(),
            packets: c.get(C::DecoderPkts),
            bytes: c.get(C::DecoderBytes),
            alerts: c.get(C::DetectAlert),
            flows: c.get(C::FlowTotal),
        })
    }

    /// The profile of the loops run so far (with `profile` and rules).
    pub fn report(&self) -> Option<Report> {
        match (&self.detect, &self.profile) {
            (Some(d), Some(p)) => Some(Report::new(d, p)),
            _ => None,
        }
    }
}
