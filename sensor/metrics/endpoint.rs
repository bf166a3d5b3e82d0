//! The metrics endpoint: a small HTTP/1.1 listener on its own thread (mio, request heads parsed
//! with httparse). `GET /metrics` gives the Prometheus text format, `GET /healthz` 200 or 503
//! with the reason, `GET /rules/failed` the rules of the rule set in use that were not loaded
//! (one per line: file:line: sid: reason); other paths 404, other methods 405, malformed
//! requests 400.
//!
//! It can never hold up packet processing: it runs on its own thread and only reads the
//! [`MetricsHub`]. Hostile clients are bounded: a request head may be at most
//! [`MAX_HEAD`] bytes, must arrive within [`HEAD_TIMEOUT`], and at most [`MAX_CONNS`]
//! connections are open at once (a new one pushes out the oldest, counted).

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

use super::prom::MetricsHub;

/// Largest request head accepted.
pub const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections open at once.
pub const MAX_CONNS: usize = 64;

/// Counters of the endpoint itself.
#[derive(Debug, Default)]
pub struct EndpointStats {
    /// Requests answered.
    pub requests: AtomicU64,
    /// Connections refused or cut (too many, too slow, too big, malformed).
    pub rejected: AtomicU64,
}

/// A running endpoint; stops when dropped.
pub struct MetricsServer {
    /// Address actually bound (useful with port 0).
    pub addr: SocketAddr,
    /// Endpoint counters.
    pub stats: Arc<EndpointStats>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    since: Instant,
    out: Vec<u8>,
    written: usize,
}

const LISTENER: Token = Token(usize::MAX);

/// Starts the endpoint on `addr` (e.g. `127.0.0.1:9842`).
pub fn serve(addr: &str, hub: Arc<MetricsHub>) -> std::io::Result<MetricsServer> {
    let sa: SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(ErrorKind::InvalidInput, format!("metrics.listen {addr}: {e}")))?;
    let mut listener = TcpListener::bind(sa)?;
    let bound = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(EndpointStats::default());
    let (stop2, stats2) = (stop.clone(), stats.clone());
    let mut poll = Poll::new()?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let thread = std::thread::Builder::new().name("picket-metrics".into()).spawn(move || {
        let mut events = Events::with_capacity(128);
        let mut conns: HashMap<usize, Conn> = HashMap::new();
        let mut next = 0usize;
        while !stop2.load(Ordering::Relaxed) {
            if poll.poll(&mut events, Some(Duration::from_millis(200))).is_err() {
                continue;
            }
            for ev in events.iter() {
                if ev.token() == LISTENER {
                    loop {
                        match listener.accept() {
                            Ok((mut s, _)) => {
                                if conns.len() >= MAX_CONNS {
                                    // Full: the oldest connection goes (slow or idle clients
                                    // cannot keep a scraper out for long).
                                    stats2.rejected.fetch_add(1, Ordering::Relaxed);
                                    if let Some(oldest) = conns.iter().min_by_key(|(_, c)| c.since).map(|(k, _)| *k) {
                                        if let Some(mut c) = conns.remove(&oldest) {
                                            let _ = poll.registry().deregister(&mut c.stream);
                                        }
                                    }
                                }
                                next = next.wrapping_add(1) % (usize::MAX - 1);
                                if poll.registry().register(&mut s, Token(next), Interest::READABLE).is_ok() {
                                    conns.insert(
                                        next,
                                        Conn {
                                            stream: s,
                                            buf: Vec::with_capacity(512),
                                            since: Instant::now(),
                                            out: Vec::new(),
                                            written: 0,
                                        },
                                    );
                                }
                            }
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(_) => break,
                        }
                    }
                    continue;
                }
                let id = ev.token().0;
                let done = match conns.get_mut(&id) {
                    Some(c) => handle(c, &hub, &stats2, &poll, Token(id)),
                    None => false,
                };
                if done {
                    if let Some(mut c) = conns.remove(&id) {
                        let _ = poll.registry().deregister(&mut c.stream);
                    }
                }
            }
            // Slow clients are cut off.
            let late: Vec<usize> =
                conns.iter().filter(|(_, c)| c.since.elapsed() > HEAD_TIMEOUT).map(|(k, _)| *k).collect();
            for k in late {
                if let Some(mut c) = conns.remove(&k) {
                    stats2.rejected.fetch_add(1, Ordering::Relaxed);
                    let _ = poll.registry().deregister(&mut c.stream);
                }
            }
        }
    })?;
    Ok(MetricsServer { addr: bound, stats, stop, thread: Some(thread) })
}

fn respond(status: &str, ctype: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What a request head, read so far, amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// More bytes are needed.
    Partial,
    /// A complete request; the answer is ready.
    Answer(Answer),
}

/// The endpoint's answer to one request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `GET /metrics`.
    Metrics,
    /// `GET /healthz`.
    Health,
    /// `GET /rules/failed`.
    RulesFailed,
    /// `GET` of another path.
    NotFound,
    /// Another method.
    NotAllowed,
    /// Not HTTP/1.x (counted as rejected).
    Malformed,
    /// The head grew beyond [`MAX_HEAD`] (counted as rejected).
    TooLarge,
}

/// Judges the bytes of a request head received so far (the whole of the connection's input).
/// Pure, so that it can be fuzzed on its own: any bytes give `Partial` or an answer.
pub fn parse_head(buf: &[u8]) -> Head {
    if buf.len() > MAX_HEAD {
        return Head::Answer(Answer::TooLarge);
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Partial) => Head::Partial,
        Ok(httparse::Status::Complete(_)) => {
            let path = req.path.unwrap_or("");
            let path = path.split('?').next().unwrap_or("");
            Head::Answer(match (req.method.unwrap_or(""), path) {
                ("GET", "/metrics") => Answer::Metrics,
                ("GET", "/healthz") => Answer::Health,
                ("GET", "/rules/failed") => Answer::RulesFailed,
                ("GET", _) => Answer::NotFound,
                _ => Answer::NotAllowed,
            })
        }
        Err(_) => Head::Answer(Answer::Malformed),
    }
}

/// The response bytes for an answer.
pub fn render_answer(a: Answer, hub: &MetricsHub) -> Vec<u8> {
    match a {
        Answer::Metrics => respond("200 OK", "text/plain; version=0.0.4; charset=utf-8", &hub.render()),
        Answer::Health => match hub.health() {
            None => respond("200 OK", "text/plain", "ok\n"),
            Some(why) => respond("503 Service Unavailable", "text/plain", &format!("{why}\n")),
        },
        Answer::RulesFailed => respond("200 OK", "text/plain; charset=utf-8", &hub.rules_not_loaded_text()),
        Answer::NotFound => {
            respond("404 Not Found", "text/plain", "not found: try /metrics, /healthz or /rules/failed\n")
        }
        Answer::NotAllowed => respond("405 Method Not Allowed", "text/plain", "only GET\n"),
        Answer::Malformed => respond("400 Bad Request", "text/plain", "malformed request\n"),
        Answer::TooLarge => respond("431 Request Header Fields Too Large", "text/plain", "request head too large\n"),
    }
}

/// Reads and answers; true when the connection is finished.
fn handle(c: &mut Conn, hub: &MetricsHub, stats: &EndpointStats, poll: &Poll, tok: Token) -> bool {
    if c.out.is_empty() {
        let mut tmp = [0u8; 2048];
        let mut answer = None;
        loop {
            match c.stream.read(&mut tmp) {
                Ok(0) => return true,
                Ok(n) => {
                    if c.buf.len() + n > MAX_HEAD {
                        answer = Some(Answer::TooLarge);
                        break;
                    }
                    c.buf.extend_from_slice(&tmp[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return true,
            }
        }
        let answer = match answer {
            Some(a) => a,
            None => match parse_head(&c.buf) {
                Head::Partial => return false,
                Head::Answer(a) => a,
            },
        };
        match answer {
            Answer::Malformed | Answer::TooLarge => stats.rejected.fetch_add(1, Ordering::Relaxed),
            _ => stats.requests.fetch_add(1, Ordering::Relaxed),
        };
        c.out = render_answer(answer, hub);
        let _ = poll.registry().reregister(&mut c.stream, tok, Interest::WRITABLE);
    }
    loop {
        match c.stream.write(&c.out[c.written..]) {
            Ok(0) => return true,
            Ok(n) => {
                c.written += n;
                if c.written >= c.out.len() {
                    return true;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream as StdStream;

    fn request(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = StdStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(raw);
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn answers_metrics_health_and_refuses_the_rest() {
        let hub = Arc::new(MetricsHub::new(1, 3));
        let srv = serve("127.0.0.1:0", hub.clone()).unwrap();
        let r = request(srv.addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK"), "{r}");
        assert!(r.contains("picket_detect_rules_loaded 3"), "{r}");
        assert!(request(srv.addr, b"GET /healthz HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200 OK"));
        hub.set_health(Some("capture stopped".into()));
        let r = request(srv.addr, b"GET /healthz HTTP/1.1\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 503") && r.ends_with("capture stopped\n"), "{r}");
        assert!(request(srv.addr, b"GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(request(srv.addr, b"POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(request(srv.addr, b"\x00\x01\x02garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
        let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 64 * 1024));
        assert!(request(srv.addr, &big).starts_with("HTTP/1.1 431"));
    }

    #[test]
    fn heads_are_judged_without_a_socket() {
        assert_eq!(parse_head(b"GET /metrics HTTP/1.1\r\nHost"), Head::Partial);
        assert_eq!(parse_head(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"), Head::Answer(Answer::Metrics));
        assert_eq!(parse_head(b"GET /healthz HTTP/1.1\r\n\r\n"), Head::Answer(Answer::Health));
        assert_eq!(parse_head(b"GET /rules/failed HTTP/1.1\r\n\r\n"), Head::Answer(Answer::RulesFailed));
        assert_eq!(parse_head(b"HEAD /metrics HTTP/1.1\r\n\r\n"), Head::Answer(Answer::NotAllowed));
        assert_eq!(parse_head(b"GET /x HTTP/1.1\r\n\r\n"), Head::Answer(Answer::NotFound));
        assert_eq!(parse_head(b"GET /x HTTP/9.9\r\n\r\n"), Head::Answer(Answer::Malformed));
        let mut many = b"GET /metrics HTTP/1.1\r\n".to_vec();
        for i in 0..40 {
            many.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        // More fields than the parser keeps room for: refused, not a panic.
        assert_eq!(parse_head(&many), Head::Answer(Answer::Malformed));
        assert_eq!(parse_head(&vec![b'G'; MAX_HEAD + 1]), Head::Answer(Answer::TooLarge));
    }
}
