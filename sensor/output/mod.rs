//! Output: EVE JSON, Suricata's event format, one event per line.
//!
//! Takes: events already serialised by the workers (each worker formats its own events into a
//! reused byte buffer, so serialisation runs in parallel), and the final stats. Promises:
//! field names and shapes as Suricata's `eve-schema.json`; one output thread owns the sink;
//! a write error is counted (`output.write_errors`) and reported once, never a panic.
//! Never: formats events per packet on the reader thread.

mod config;
pub mod eve;
pub mod spool;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::metrics::{Counters, C};

pub use config::{OutputConfig, SpoolPolicy};

/// Where EVE lines go.
pub enum Sink {
    /// A file (appended to, as Suricata does).
    File(BufWriter<File>),
    /// Standard output.
    Stdout(BufWriter<std::io::Stdout>),
    /// Nowhere (no `--eve` given): events are counted, not written.
    Null,
}

impl Sink {
    /// Opens `-` as stdout, else the file at `path` (created, truncated).
    pub fn open(path: &Path) -> std::io::Result<Sink> {
        if path.as_os_str() == "-" {
            return Ok(Sink::Stdout(BufWriter::with_capacity(1 << 16, std::io::stdout())));
        }
        let f = File::create(path)?;
        Ok(Sink::File(BufWriter::with_capacity(1 << 20, f)))
    }
}

/// The output thread's writer.
pub struct EveWriter {
    sink: Sink,
    /// The local alert queue, when configured.
    pub spool: Option<spool::Spool>,
    /// Counters of the output thread.
    pub counters: Counters,
    /// First write error met, reported by the caller.
    pub first_error: Option<String>,
}

impl EveWriter {
    /// A writer over `sink`.
    pub fn new(sink: Sink) -> Self {
        EveWriter { sink, spool: None, counters: Counters::new(), first_error: None }
    }

    /// Writes a buffer of complete lines holding `events` events.
    pub fn write_lines(&mut self, buf: &[u8], events: u64) {
        if let Some(sp) = &mut self.spool {
            sp.append(buf, events, &mut self.counters);
        }
        let r = match &mut self.sink {
            Sink::File(w) => w.write_all(buf),
            Sink::Stdout(w) => w.write_all(buf),
            Sink::Null => Ok(()),
        };
        match r {
            Ok(()) => {
                self.counters.add(C::OutputEvents, events);
                self.counters.add(C::OutputBytes, buf.len() as u64);
            }
            Err(e) => {
                self.counters.add(C::OutputWriteErrors, events);
                if self.first_error.is_none() {
                    self.first_error = Some(e.to_string());
                }
            }
        }
    }

    /// Flushes buffered lines to the sink.
    pub fn flush(&mut self) {
        if let Some(sp) = &mut self.spool {
            sp.sync(&mut self.counters);
        }
        let r = match &mut self.sink {
            Sink::File(w) => w.flush(),
            Sink::Stdout(w) => w.flush(),
            Sink::Null => Ok(()),
        };
        if let Err(e) = r {
            self.counters.inc(C::OutputWriteErrors);
            if self.first_error.is_none() {
                self.first_error = Some(e.to_string());
            }
        }
    }
}
