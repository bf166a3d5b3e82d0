//! Output: EVE JSON, Suricata's event format, one event per line.
//!
//! Takes: events already serialised by the workers (each worker formats its own events into a
//! reused byte buffer, so serialisation runs in parallel), and the final stats. Promises:
//! field names and shapes as Suricata's `eve-schema.json`; one output thread owns the sink
//! ([`sink`]: a file opened for appending and reopened for log rotation, syslog, or a unix
//! socket) and the local queue ([`spool`]); an event that cannot be written is counted
//! (`output.write_errors`) and the error kept for the log, never a panic.
//! Never: formats events per packet on the reader thread.

mod config;
pub mod eve;
pub mod nats;
pub mod pieces;
pub(crate) mod sink;
pub mod spool;

use crate::metrics::{Counters, C};

pub use config::{type_listed, AnomalyConfig, EveConfig, EveFiletype, OutputConfig, SpoolPolicy};
pub use sink::Sink;

/// Write errors kept for the log until it takes them.
const MAX_PENDING_ERRORS: usize = 16;

/// The output thread's writer.
pub struct EveWriter {
    sink: Sink,
    /// The local alert queue, when configured.
    pub spool: Option<spool::Spool>,
    /// Counters of the output thread.
    pub counters: Counters,
    /// First write error met, reported by the caller.
    pub first_error: Option<String>,
    /// Write errors not yet taken by [`EveWriter::take_errors`] (at most 16 kept; the count
    /// is in `output.write_errors`).
    pending_errors: Vec<String>,
    /// The pcap-log file being written (`output.pcap_log`): alert lines name it in
    /// `capture_file`, as Suricata's do.
    pub capture_file: Option<std::path::PathBuf>,
    scratch: Vec<u8>,
}

impl EveWriter {
    /// A writer over `sink`.
    pub fn new(sink: Sink) -> Self {
        EveWriter {
            sink,
            spool: None,
            counters: Counters::new(),
            first_error: None,
            pending_errors: Vec::new(),
            capture_file: None,
            scratch: Vec::new(),
        }
    }

    /// What the sink writes to.
    pub fn describe(&self) -> String {
        self.sink.describe()
    }

    fn error(&mut self, e: String) {
        if self.first_error.is_none() {
            self.first_error = Some(e.clone());
        }
        if self.pending_errors.len() < MAX_PENDING_ERRORS {
            self.pending_errors.push(e);
        }
    }

    /// The write errors met since the last call (for the daemon's log).
    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.pending_errors)
    }

    /// Writes a buffer of complete lines holding `events` events. Events the sink could not
    /// take are counted in `output.write_errors`; the writer goes on with the next buffer.
    pub fn write_lines(&mut self, buf: &[u8], events: u64) {
        match self.capture_file.take() {
            Some(name) => {
                let mut lines = std::mem::take(&mut self.scratch);
                lines.clear();
                add_capture_file(buf, &name, &mut lines);
                self.write_plain(&lines, events);
                self.scratch = lines;
                self.capture_file = Some(name);
            }
            None => self.write_plain(buf, events),
        }
    }

    fn write_plain(&mut self, buf: &[u8], events: u64) {
        if let Some(sp) = &mut self.spool {
            sp.append(buf, events, &mut self.counters);
        }
        match self.sink.write_lines(buf, events) {
            Ok(()) => {
                self.counters.add(C::OutputEvents, events);
                self.counters.add(C::OutputBytes, buf.len() as u64);
            }
            Err(lost) => {
                self.counters.add(C::OutputEvents, events.saturating_sub(lost.events));
                self.counters.add(C::OutputWriteErrors, lost.events);
                let what = self.sink.describe();
                self.error(format!("{what}: {} event(s) lost: {}", lost.events, lost.error));
            }
        }
    }

    /// Flushes buffered lines to the sink.
    pub fn flush(&mut self) {
        if let Some(sp) = &mut self.spool {
            sp.sync(&mut self.counters);
        }
        if let Err(e) = self.sink.flush() {
            self.counters.inc(C::OutputWriteErrors);
            let what = self.sink.describe();
            self.error(format!("{what}: {e}"));
        }
    }

    /// Log rotation: flushes, then opens the EVE file again by its name (or reconnects a
    /// socket). Events written before went to the old file, events after go to the new one.
    pub fn reopen(&mut self) -> Result<(), String> {
        self.flush();
        self.sink.reopen().map_err(|e| format!("{}: cannot reopen: {e}", self.sink.describe()))?;
        self.counters.inc(C::OutputReopens);
        Ok(())
    }
}

/// Adds `"capture_file":NAME` to every `alert` line of `buf` (complete EVE lines), into `out`.
fn add_capture_file(buf: &[u8], name: &std::path::Path, out: &mut Vec<u8>) {
    let mut field = b",\"capture_file\":".to_vec();
    eve::escape_into(&mut field, name.as_os_str().as_encoded_bytes());
    for line in buf.split_inclusive(|&b| b == b'\n') {
        let head = line.get(..line.len().min(160)).unwrap_or(line);
        let is_alert = memchr::memmem::find(head, b"\"event_type\":\"alert\"").is_some();
        let close = line.iter().rposition(|&b| b == b'}');
        match (is_alert, close) {
            (true, Some(i)) => {
                out.extend_from_slice(line.get(..i).unwrap_or_default());
                out.extend_from_slice(&field);
                out.extend_from_slice(line.get(i..).unwrap_or_default());
            }
            _ => out.extend_from_slice(line),
        }
    }
}
