//! What `picket replay` shows while it runs: a progress display on a terminal, one line per
//! finished file with `-v`, nothing otherwise.
//!
//! The display (indicatif, drawn on stderr at most 4 times a second and redrawn by a ticker
//! at least once a second even while the reader waits) shows files done / total, bytes read of
//! the bytes on disk, packets per second, Gbit/s of captured bytes, alerts so far and the ETA
//! from the rate of bytes read. It is hidden when stderr is not a terminal, so logs and CI
//! output hold only the summary.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::capture::pcap::FileDone;
use crate::capture::SourcePosition;

/// The progress display and per-file lines of one replay.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    verbose: bool,
    start: Instant,
    last: Instant,
    /// Alerts so far, added to by the workers at batch boundaries.
    pub alerts: Arc<AtomicU64>,
}

impl Progress {
    /// `display`: show the bar when stderr is a terminal; `verbose`: one line per file.
    pub(super) fn new(display: bool, verbose: bool) -> Progress {
        let bar = (display && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(4));
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {binary_bytes}/{binary_total_bytes} {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            b.set_style(style);
            // Counts from the first frame on: the ticker draws while the rules compile, before
            // the reader's first chunk.
            b.set_message("0 pkts 0 kpps 0.00 Gbit/s 0 alerts");
            b.enable_steady_tick(Duration::from_millis(500));
            b
        });
        Progress {
            bar,
            verbose,
            start: Instant::now(),
            last: Instant::now() - Duration::from_secs(1),
            alerts: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Called at every chunk the reader finishes: redraws at most 4 times a second, and always
    /// when `last` (the reader's final chunk), so the final counts are drawn before the summary.
    pub(super) fn update(&mut self, pos: Option<SourcePosition>, packets: u64, bytes: u64, last: bool) {
        let Some(bar) = &self.bar else { return };
        if !last && self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let files = match pos {
            Some(p) => {
                bar.set_length(p.bytes_total.max(p.bytes_read));
                bar.set_position(p.bytes_read);
                format!("files {}/{} ", p.files_done, p.files_total)
            }
            None => String::new(),
        };
        bar.set_message(format!(
            "{files}{packets} pkts {:.0} kpps {:.2} Gbit/s {} alerts",
            packets as f64 / secs / 1e3,
            bytes as f64 * 8.0 / secs / 1e9,
            self.alerts.load(Ordering::Relaxed),
        ));
        if last {
            bar.force_draw();
        }
    }

    /// One line per finished file, with `-v`.
    pub(super) fn files_done(&self, done: &[FileDone], pos: Option<SourcePosition>) {
        if !self.verbose {
            return;
        }
        let total = pos.map_or(0, |p| p.files_total);
        let first = pos.map_or(0, |p| p.files_done).saturating_sub(done.len() as u64);
        for (i, f) in done.iter().enumerate() {
            let line = format!(
                "picket: file {}/{}: {}{}: {} packets, {:.1} MB on disk{}",
                first + i as u64 + 1,
                total,
                f.path.display(),
                f.compression.map(|c| format!(" ({})", c.name())).unwrap_or_default(),
                f.frames,
                f.bytes as f64 / 1e6,
                if f.damaged { ", DAMAGED (see the warnings)" } else { "" },
            );
            match &self.bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
        }
    }

    /// Removes the display before the summary is printed.
    pub(super) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
