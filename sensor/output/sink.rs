//! Where EVE lines go: a file (appended to, reopened on request for log rotation), standard
//! output, the local syslog daemon, or a unix stream or datagram socket (Suricata's
//! `filetype`s). Every sink takes buffers of whole lines and says how many events it could
//! not deliver, so that the writer counts them; none of them panics or blocks for long (a
//! socket write waits at most [`SOCKET_TIMEOUT`]).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::config::{EveFiletype, OutputConfig};

/// How long a socket write may block before its events are counted as lost.
pub(crate) const SOCKET_TIMEOUT: Duration = Duration::from_millis(200);
/// How long a socket sink waits before it tries to reconnect after a failure.
pub(crate) const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Events a write could not deliver, and why.
#[derive(Debug)]
pub struct Lost {
    /// Events lost.
    pub events: u64,
    /// The error.
    pub error: std::io::Error,
}

/// A file appended to; [`FileSink::reopen`] closes it and opens the path again (after
/// logrotate moved it, the new events go to a new file).
pub struct FileSink {
    path: PathBuf,
    w: BufWriter<File>,
}

/// Opens `path` for appending, creating it (mode 0640).
fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new().create(true).append(true).mode(0o640).open(path)
}

impl FileSink {
    /// Opens `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<FileSink> {
        Ok(FileSink { path: path.to_path_buf(), w: BufWriter::with_capacity(1 << 20, open_append(path)?) })
    }

    /// Flushes and opens the path again.
    pub fn reopen(&mut self) -> std::io::Result<()> {
        let flushed = self.w.flush();
        self.w = BufWriter::with_capacity(1 << 20, open_append(&self.path)?);
        flushed
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One datagram per event to the local syslog daemon, `<PRI>identity[pid]: {json}`.
pub struct SyslogSink {
    sock: UnixDatagram,
    target: PathBuf,
    prefix: Vec<u8>,
    msg: Vec<u8>,
}

impl SyslogSink {
    /// A sink to the syslog socket at `target` with priority `pri` and `identity`.
    pub fn new(target: &Path, pri: u8, identity: &str) -> std::io::Result<SyslogSink> {
        let sock = UnixDatagram::unbound()?;
        sock.set_write_timeout(Some(SOCKET_TIMEOUT))?;
        let prefix = format!("<{pri}>{identity}[{}]: ", std::process::id()).into_bytes();
        Ok(SyslogSink { sock, target: target.to_path_buf(), prefix, msg: Vec::with_capacity(1 << 16) })
    }

    fn write_lines(&mut self, buf: &[u8]) -> Result<(), Lost> {
        let mut lost = 0;
        let mut last = None;
        for line in lines(buf) {
            self.msg.clear();
            self.msg.extend_from_slice(&self.prefix);
            self.msg.extend_from_slice(line);
            if let Err(e) = self.sock.send_to(&self.msg, &self.target) {
                lost += 1;
                last = Some(e);
            }
        }
        match last {
            Some(error) => Err(Lost { events: lost, error }),
            None => Ok(()),
        }
    }
}

enum Conn {
    Stream(UnixStream),
    Dgram(UnixDatagram),
}

/// A unix socket another program listens on: one line per event on a stream socket, one
/// datagram per event (without the newline) on a datagram socket. Connected lazily and again
/// after a failure (at most once per [`RECONNECT_AFTER`]); what cannot be delivered meanwhile
/// is counted as lost.
pub struct SocketSink {
    path: PathBuf,
    dgram: bool,
    conn: Option<Conn>,
    retry_at: Option<Instant>,
}

impl SocketSink {
    /// A sink to the socket at `path`; `dgram` picks the socket type.
    pub fn new(path: &Path, dgram: bool) -> SocketSink {
        SocketSink { path: path.to_path_buf(), dgram, conn: None, retry_at: None }
    }

    fn connect(&mut self) -> std::io::Result<()> {
        if self.conn.is_some() {
            return Ok(());
        }
        if let Some(t) = self.retry_at {
            if Instant::now() < t {
                return Err(std::io::Error::new(std::io::ErrorKind::NotConnected, "waiting to reconnect"));
            }
        }
        let r = if self.dgram {
            UnixDatagram::unbound().and_then(|s| {
                s.connect(&self.path)?;
                s.set_write_timeout(Some(SOCKET_TIMEOUT))?;
                Ok(Conn::Dgram(s))
            })
        } else {
            UnixStream::connect(&self.path).and_then(|s| {
                s.set_write_timeout(Some(SOCKET_TIMEOUT))?;
                Ok(Conn::Stream(s))
            })
        };
        match r {
            Ok(c) => {
                self.conn = Some(c);
                self.retry_at = None;
                Ok(())
            }
            Err(e) => {
                self.retry_at = Some(Instant::now() + RECONNECT_AFTER);
                Err(e)
            }
        }
    }

    fn write_lines(&mut self, buf: &[u8], events: u64) -> Result<(), Lost> {
        if let Err(error) = self.connect() {
            return Err(Lost { events, error });
        }
        let r = match &mut self.conn {
            Some(Conn::Stream(s)) => s.write_all(buf).map_err(|error| Lost { events, error }),
            Some(Conn::Dgram(s)) => {
                let mut lost = 0;
                let mut last = None;
                for line in lines(buf) {
                    if let Err(e) = s.send(line) {
                        lost += 1;
                        last = Some(e);
                    }
                }
                match last {
                    Some(error) => Err(Lost { events: lost, error }),
                    None => Ok(()),
                }
            }
            None => Ok(()),
        };
        if r.is_err() {
            // Start afresh with the next connection: a peer that went away, or a stream left
            // with part of a line.
            self.conn = None;
            self.retry_at = Some(Instant::now() + RECONNECT_AFTER);
        }
        r
    }

    /// Drops the connection: the next write connects again.
    pub fn reset(&mut self) {
        self.conn = None;
        self.retry_at = None;
    }
}

/// The lines of `buf` without their newlines.
fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    buf.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// Where EVE lines go.
pub enum Sink {
    /// A file, appended to.
    File(FileSink),
    /// Standard output.
    Stdout(BufWriter<std::io::Stdout>),
    /// The local syslog daemon.
    Syslog(SyslogSink),
    /// A unix stream or datagram socket.
    Socket(SocketSink),
    /// Nowhere: events are counted, not written.
    Null,
}

impl Sink {
    /// Opens `-` as stdout, else the file at `path` for appending (created when missing), as
    /// Suricata opens its EVE file: a restart never erases earlier events.
    pub fn open(path: &Path) -> std::io::Result<Sink> {
        if path.as_os_str() == "-" {
            return Ok(Sink::Stdout(BufWriter::with_capacity(1 << 16, std::io::stdout())));
        }
        Ok(Sink::File(FileSink::open(path)?))
    }

    /// The sink `[output.eve]` describes (`Null` when it is disabled).
    pub fn from_config(cfg: &OutputConfig) -> std::io::Result<Sink> {
        let e = &cfg.eve;
        if !e.enabled {
            return Ok(Sink::Null);
        }
        Ok(match e.filetype {
            EveFiletype::Regular => Sink::File(FileSink::open(&cfg.eve_path())?),
            EveFiletype::Syslog => {
                let pri = e.syslog_priority().ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "unknown syslog facility or level")
                })?;
                Sink::Syslog(SyslogSink::new(Path::new(&e.syslog_socket), pri, &e.syslog_identity)?)
            }
            EveFiletype::UnixStream => Sink::Socket(SocketSink::new(Path::new(&e.filename), false)),
            EveFiletype::UnixDgram => Sink::Socket(SocketSink::new(Path::new(&e.filename), true)),
        })
    }

    /// What the sink writes to, for logs (`/var/log/picket/eve.json`, `syslog`, ...).
    pub fn describe(&self) -> String {
        match self {
            Sink::File(f) => f.path.display().to_string(),
            Sink::Stdout(_) => "standard output".into(),
            Sink::Syslog(s) => format!("syslog ({})", s.target.display()),
            Sink::Socket(s) => {
                format!("unix {} socket {}", if s.dgram { "datagram" } else { "stream" }, s.path.display())
            }
            Sink::Null => "nowhere".into(),
        }
    }

    /// Writes a buffer of whole lines holding `events` events.
    pub fn write_lines(&mut self, buf: &[u8], events: u64) -> Result<(), Lost> {
        match self {
            Sink::File(f) => f.w.write_all(buf).map_err(|error| Lost { events, error }),
            Sink::Stdout(w) => w.write_all(buf).map_err(|error| Lost { events, error }),
            Sink::Syslog(s) => s.write_lines(buf),
            Sink::Socket(s) => s.write_lines(buf, events),
            Sink::Null => Ok(()),
        }
    }

    /// Flushes buffered lines.
    pub fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.w.flush(),
            Sink::Stdout(w) => w.flush(),
            _ => Ok(()),
        }
    }

    /// Log rotation: a file is flushed and opened again by name, a socket reconnected.
    pub fn reopen(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.reopen(),
            Sink::Socket(s) => {
                s.reset();
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_is_appended_and_reopened_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("eve.json");
        std::fs::write(&p, "{\"old\":1}\n").unwrap();
        let mut s = Sink::open(&p).unwrap();
        s.write_lines(b"{\"a\":1}\n", 1).unwrap();
        s.flush().unwrap();
        std::fs::rename(&p, dir.path().join("eve.json.1")).unwrap();
        s.write_lines(b"{\"b\":2}\n", 1).unwrap();
        s.reopen().unwrap();
        s.write_lines(b"{\"c\":3}\n", 1).unwrap();
        s.flush().unwrap();
        let old = std::fs::read_to_string(dir.path().join("eve.json.1")).unwrap();
        assert_eq!(old, "{\"old\":1}\n{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"c\":3}\n");
    }

    #[test]
    fn datagram_sockets_get_one_event_each_and_losses_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("eve.sock");
        let mut s = SocketSink::new(&p, true);
        // Nobody listens yet: both events are lost, and the sink waits before retrying.
        let lost = s.write_lines(b"{\"a\":1}\n{\"b\":2}\n", 2).unwrap_err();
        assert_eq!(lost.events, 2);
        let rx = UnixDatagram::bind(&p).unwrap();
        s.reset();
        s.write_lines(b"{\"a\":1}\n{\"b\":2}\n", 2).unwrap();
        let mut b = [0u8; 64];
        let n = rx.recv(&mut b).unwrap();
        assert_eq!(&b[..n], b"{\"a\":1}");
        let n = rx.recv(&mut b).unwrap();
        assert_eq!(&b[..n], b"{\"b\":2}");
    }

    #[test]
    fn syslog_messages_carry_priority_and_identity() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let rx = UnixDatagram::bind(&p).unwrap();
        let mut s = SyslogSink::new(&p, 21 * 8 + 6, "picket").unwrap();
        s.write_lines(b"{\"event_type\":\"alert\"}\n").unwrap();
        let mut b = [0u8; 256];
        let n = rx.recv(&mut b).unwrap();
        let m = String::from_utf8_lossy(&b[..n]).into_owned();
        assert_eq!(m, format!("<174>picket[{}]: {{\"event_type\":\"alert\"}}", std::process::id()));
    }
}
