//! `picket fleet forward`: the queue forwarder alone (for a sensor run without `[output.nats]`,
//! or to send what a replay left in its queue).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::output::nats::Forwarder;

pub(crate) fn forward(cfg: &Config, once: bool, timeout: u64) -> anyhow::Result<ExitCode> {
    if !cfg.output.nats.enabled() {
        anyhow::bail!("output.nats.servers: empty (nothing to forward to)");
    }
    let dir = std::path::Path::new(&cfg.output.spool_dir);
    let f = Forwarder::start(&cfg.output.nats, &cfg.sensor.resolved_name(), dir, None)?;
    if once {
        let (r, st) = f.finish(Duration::from_secs(timeout));
        eprintln!("picket: {}", st.line());
        return Ok(if r? { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) && !f.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
        if last.elapsed() >= Duration::from_secs(10) {
            eprintln!("picket: {}", f.stats().snapshot().line());
            last = Instant::now();
        }
    }
    let (r, st) = f.stop();
    eprintln!("picket: {}", st.line());
    r?;
    Ok(ExitCode::SUCCESS)
}
