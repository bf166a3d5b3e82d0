//! Tests of the HTTP parser as a whole (the submodules test themselves at their bottoms):
//! transactions and buffers, every split of a conversation, limits, and the HTTP Evader
//! pcaps of the conformance suite.

use super::*;

fn cfg() -> HttpConfig {
    HttpConfig::default()
}

/// Feeds `req` and `res` whole (requests first), then closes both directions.
fn run_whole(cfg: &HttpConfig, req: &[u8], res: &[u8]) -> (HttpState, HttpStats) {
    let mut st = HttpState::new(cfg);
    let mut stats = HttpStats::default();
    st.parse(true, req, &mut stats);
    st.parse(false, res, &mut stats);
    st.eof(true, &mut stats);
    st.eof(false, &mut stats);
    (st, stats)
}

/// Feeds both directions in pieces of `n` bytes.
fn run_split(cfg: &HttpConfig, req: &[u8], res: &[u8], n: usize) -> HttpState {
    let mut st = HttpState::new(cfg);
    let mut stats = HttpStats::default();
    // Requests first: a response arriving before any byte of its request gets a transaction
    // of its own (libhtp's `/libhtp::request_uri_not_seen`), so interleaving by chunk would
    // change the pairing, not the parsing this checks.
    for x in req.chunks(n.max(1)) {
        st.parse(true, x, &mut stats);
    }
    for y in res.chunks(n.max(1)) {
        st.parse(false, y, &mut stats);
    }
    st.eof(true, &mut stats);
    st.eof(false, &mut stats);
    st
}

/// Everything observable about the transactions, for comparing runs.
fn summary(st: &HttpState) -> Vec<String> {
    use HttpBuffer::*;
    let bufs = [
        Uri,
        UriRaw,
        Method,
        Protocol,
        RequestLine,
        Header,
        HeaderRaw,
        HeaderNames,
        Host,
        HostRaw,
        UserAgent,
        Cookie,
        ContentType,
        ContentLen,
        Start,
        StatCode,
        StatMsg,
        ResponseLine,
        RequestBody,
        ResponseBody,
    ];
    st.txs()
        .map(|t| {
            let mut s = format!(
                "tx{} {}{}{}{}{}{}",
                t.id,
                t.request_line_done as u8,
                t.request_headers_done as u8,
                t.request_complete as u8,
                t.response_line_done as u8,
                t.response_headers_done as u8,
                t.response_complete as u8
            );
            for b in bufs {
                for side in [true, false] {
                    if let Some(v) = t.buffer(b, side) {
                        s.push_str(&format!(" {b:?}/{side}={:?}", String::from_utf8_lossy(v)));
                    }
                }
            }
            s
        })
        .collect()
}

const REQS: &[u8] =
    b"GET /a/./b/../c%41?x=1 HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\nUser-Agent: ua\r\nCookie: c=1\r\n\r\n\
POST /post HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n\
HEAD /head HTTP/1.1\r\nHost: h\r\n\r\n\
GET /last HTTP/1.0\r\n\r\n";

const RESS: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: s=1\r\nServer: srv\r\n\r\nabcde\
HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\nTrailer: t\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n\
HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end";

#[test]
fn pipelined_conversation_buffers() {
    let (st, stats) = run_whole(&cfg(), REQS, RESS);
    let t: Vec<&HttpTx> = st.txs().collect();
    assert_eq!(t.len(), 4, "{:#?}", summary(&st));
    assert_eq!(stats.requests, 4);
    assert_eq!(stats.responses, 5);
    use HttpBuffer::*;
    let b = |i: usize, k: HttpBuffer, s: bool| t[i].buffer(k, s).map(<[u8]>::to_vec);
    assert_eq!(b(0, Uri, true).as_deref(), Some(&b"/a/cA?x=1"[..]));
    assert_eq!(b(0, UriRaw, true).as_deref(), Some(&b"/a/./b/../c%41?x=1"[..]));
    assert_eq!(b(0, Host, true).as_deref(), Some(&b"www.example.com"[..]));
    assert_eq!(b(0, HostRaw, true).as_deref(), Some(&b"WWW.Example.COM:8080"[..]));
    assert_eq!(b(0, Header, true).as_deref(), Some(&b"Host: WWW.Example.COM:8080\r\nUser-Agent: ua\r\n"[..]));
    assert_eq!(b(0, HeaderNames, true).as_deref(), Some(&b"\r\nHost\r\nUser-Agent\r\nCookie\r\n\r\n"[..]));
    assert_eq!(
        b(0, Start, true).as_deref(),
        Some(
            &b"GET /a/./b/../c%41?x=1 HTTP/1.1\r\nHost: WWW.Example.COM:8080\r\nUser-Agent: ua\r\nCookie: c=1\r\n\r\n"
                [..]
        )
    );
    assert_eq!(b(0, Cookie, true).as_deref(), Some(&b"c=1"[..]));
    assert_eq!(b(0, Cookie, false).as_deref(), Some(&b"s=1"[..]));
    assert_eq!(b(0, Header, false).as_deref(), Some(&b"Content-Length: 5\r\nServer: srv\r\n"[..]));
    assert_eq!(
        b(0, HeaderRaw, false).as_deref(),
        Some(&b"Content-Length: 5\r\nSet-Cookie: s=1\r\nServer: srv\r\n\r\n"[..])
    );
    assert_eq!(b(0, StatCode, false).as_deref(), Some(&b"200"[..]));
    assert_eq!(b(0, StatMsg, false).as_deref(), Some(&b"OK"[..]));
    assert_eq!(b(0, ResponseBody, false).as_deref(), Some(&b"abcde"[..]));
    assert_eq!(b(0, ContentLen, false).as_deref(), Some(&b"5"[..]));
    assert_eq!(b(0, Server, false).as_deref(), Some(&b"srv"[..]));
    assert_eq!(b(1, RequestBody, true).as_deref(), Some(&b"hello"[..]));
    // 100 Continue is skipped; the real response lands in the same transaction.
    assert_eq!(b(1, StatCode, false).as_deref(), Some(&b"201"[..]));
    assert_eq!(b(1, ResponseBody, false).as_deref(), Some(&b"xyz"[..]));
    assert!(t[1].response.header(b"trailer").is_some());
    // HEAD: no body even with a Content-Length.
    assert_eq!(b(2, ResponseBody, false), None);
    assert!(t[2].response_complete);
    // HTTP/1.0 response without length: ends at close.
    assert_eq!(b(3, ResponseBody, false).as_deref(), Some(&b"until the end"[..]));
    assert!(t.iter().all(|t| t.is_complete()));
}

#[test]
fn every_split_gives_the_same_transactions() {
    let whole = summary(&run_whole(&cfg(), REQS, RESS).0);
    for n in 1..40 {
        assert_eq!(summary(&run_split(&cfg(), REQS, RESS, n)), whole, "split {n}");
    }
    // Every prefix of the request, then the rest: same result too.
    for cut in 0..REQS.len() {
        let mut st = HttpState::new(&cfg());
        let mut stats = HttpStats::default();
        st.parse(true, &REQS[..cut], &mut stats);
        st.parse(true, &REQS[cut..], &mut stats);
        st.parse(false, RESS, &mut stats);
        st.eof(true, &mut stats);
        st.eof(false, &mut stats);
        assert_eq!(summary(&st), whole, "cut {cut}");
    }
}

#[test]
fn status_codes_without_body() {
    let req = b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n";
    let res = b"HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for n in [1, 3, 1000] {
        let st = run_split(&cfg(), req, res, n);
        let t: Vec<&HttpTx> = st.txs().collect();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].buffer(HttpBuffer::StatCode, false), Some(&b"304"[..]));
        assert_eq!(t[1].buffer(HttpBuffer::StatCode, false), Some(&b"204"[..]));
        assert_eq!(t[2].buffer(HttpBuffer::ResponseBody, false), Some(&b"ok"[..]));
    }
}

#[test]
fn http09_request_and_headerless_response() {
    let (st, _) = run_whole(&cfg(), b"GET /old\r\n", b"HTTP/1.1 200 OK\r\n\r\n<html>");
    let t = st.txs().next().unwrap();
    assert!(t.http09 && t.is_complete());
    // The whole answer is body: libhtp does not look for a status line after a 0.9 request.
    assert_eq!(t.buffer(HttpBuffer::ResponseBody, false), Some(&b"HTTP/1.1 200 OK\r\n\r\n<html>"[..]));
    let (st, _) = run_whole(&cfg(), b"GET / HTTP/1.1\r\n\r\n", b"just some bytes\nand more");
    let t = st.txs().next().unwrap();
    assert_eq!(t.buffer(HttpBuffer::ResponseBody, false), Some(&b"just some bytes\nand more"[..]));
    assert!(!t.response_line_done && t.response_complete);
}

#[test]
fn expect_100_continue() {
    let req = b"POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    let mut st = HttpState::new(&cfg());
    let mut s = HttpStats::default();
    st.parse(true, req, &mut s);
    st.parse(false, b"HTTP/1.1 100 Continue\r\n\r\n", &mut s);
    st.parse(true, b"body", &mut s);
    st.parse(false, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &mut s);
    let t: Vec<&HttpTx> = st.txs().collect();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].buffer(HttpBuffer::RequestBody, true), Some(&b"body"[..]));
    assert_eq!(t[0].buffer(HttpBuffer::StatCode, false), Some(&b"200"[..]));
    assert!(t[0].is_complete());
}

#[test]
fn gzip_body_and_layer_limit() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let gz = |d: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(d).unwrap();
        e.finish().unwrap()
    };
    let body = gz(&gz(b"secret payload"));
    let mut res = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    res.extend_from_slice(&body);
    let (st, _) = run_whole(&cfg(), b"GET / HTTP/1.1\r\n\r\n", &res);
    assert_eq!(st.txs().next().unwrap().buffer(HttpBuffer::ResponseBody, false), Some(&b"secret payload"[..]));
    let one = HttpConfig { decompress_layer_limit: 1, ..cfg() };
    let (st, stats) = run_whole(&one, b"GET / HTTP/1.1\r\n\r\n", &res);
    assert_ne!(st.txs().next().unwrap().buffer(HttpBuffer::ResponseBody, false), Some(&b"secret payload"[..]));
    assert_eq!(stats.decompress_layers_dropped, 1);
    // request bodies are decompressed too (Suricata enables libhtp's request decompression)
    let body = gz(b"name=john");
    let mut req =
        format!("POST /hi HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    req.extend_from_slice(&body);
    let (st, _) = run_whole(&cfg(), &req, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(st.txs().next().unwrap().buffer(HttpBuffer::RequestBody, true), Some(&b"name=john"[..]));
}

#[test]
fn bounds_hold_on_hostile_input() {
    let c = cfg();
    // A megabyte header line, 10,000 headers, an overflowing chunk size, a gzip bomb.
    let mut req = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
    req.extend_from_slice(&vec![b'a'; 1 << 20]);
    req.extend_from_slice(b"\r\n");
    for i in 0..10_000 {
        req.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    let mut st = HttpState::new(&c);
    let mut stats = HttpStats::default();
    for part in req.chunks(1500) {
        st.parse(true, part, &mut stats);
        assert!(st.pending_bytes() <= c.max_header_bytes + 64);
    }
    // The same name 10,000 times: merged, within the byte cap.
    let mut rep = b"GET / HTTP/1.1\r\n".to_vec();
    for _ in 0..10_000 {
        rep.extend_from_slice(b"X-Rep: 0123456789\r\n");
    }
    rep.extend_from_slice(b"\r\n");
    st.parse(true, &rep, &mut stats);
    let t2 = st.txs().nth(1).unwrap();
    assert!(t2.request_headers_done);
    assert!(t2.request.headers[0].value.len() < 64 * 14);
    let t = st.txs().next().unwrap();
    assert!(t.request_headers_done);
    assert!(t.request.headers.len() <= c.max_headers);
    assert!(t.request.raw_headers.len() <= c.max_raw_header_bytes);
    let kept: usize = t.request.headers.iter().map(|h| h.name.len() + h.value.len()).sum();
    assert!(kept <= c.max_raw_header_bytes);
    assert_eq!(stats.header_too_long, 1);
    assert!(stats.headers_too_many > 0);

    let res = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\nabc";
    st.parse(false, res, &mut stats);
    assert!(stats.parse_errors > 0);

    let zeros = vec![0u8; 20 << 20];
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut e, &zeros).unwrap();
    let bomb = e.finish().unwrap();
    let mut st = HttpState::new(&c);
    let mut stats = HttpStats::default();
    st.parse(true, b"GET / HTTP/1.1\r\n\r\n", &mut stats);
    st.parse(
        false,
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", bomb.len()).as_bytes(),
        &mut stats,
    );
    for part in bomb.chunks(1400) {
        st.parse(false, part, &mut stats);
    }
    let t = st.txs().next().unwrap();
    assert_eq!(t.response.body.len(), c.response_body_limit);
    assert!(t.response_complete);
    assert_eq!(stats.body_truncated, 1);
    assert_eq!(stats.decompress_bomb, 1);

    // Invalid UTF-8 and NULs everywhere, deflate garbage.
    let junk: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let mut st = HttpState::new(&c);
    let mut stats = HttpStats::default();
    st.parse(true, &junk, &mut stats);
    let mut res = b"HTTP/1.1 200 \xff\xfe\r\nContent-Encoding: deflate\r\n\r\n".to_vec();
    res.extend_from_slice(&junk);
    st.parse(false, &res, &mut stats);
    st.eof(false, &mut stats);
    st.eof(true, &mut stats);
}

#[test]
fn transactions_are_capped_and_freed() {
    let c = HttpConfig { max_txs: 4, ..cfg() };
    let mut st = HttpState::new(&c);
    let mut stats = HttpStats::default();
    for _ in 0..10 {
        st.parse(true, b"GET / HTTP/1.1\r\n\r\n", &mut stats);
    }
    assert_eq!(st.tx_count(), 4);
    assert_eq!(stats.txs_evicted, 6);
    for _ in 0..10 {
        st.parse(false, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &mut stats);
    }
    assert_eq!(st.free_upto(u64::MAX), 4);
    assert_eq!(st.tx_count(), 0);
}

#[test]
fn gap_in_body_and_connect_tunnel() {
    let mut st = HttpState::new(&cfg());
    let mut s = HttpStats::default();
    st.parse(true, b"GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", &mut s);
    st.parse(false, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", &mut s);
    st.gap(false, 4, &mut s);
    st.parse(false, b"xyzHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", &mut s);
    let t: Vec<&HttpTx> = st.txs().collect();
    assert_eq!(t[0].buffer(HttpBuffer::ResponseBody, false), Some(&b"abc"[..]));
    assert!(t[0].response.body_gap && t[0].response_complete);
    assert_eq!(t[1].buffer(HttpBuffer::ResponseBody, false), Some(&b"z"[..]));

    let mut st = HttpState::new(&cfg());
    st.parse(true, b"CONNECT h:443 HTTP/1.1\r\n\r\n\x16\x03\x01", &mut s);
    st.parse(false, b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03", &mut s);
    st.parse(true, b"GET / HTTP/1.1\r\n\r\n", &mut s);
    assert_eq!(st.tx_count(), 1);
}

// ---------------------------------------------------------------------------------------
// HTTP Evader: the conformance suite's pcaps, reassembled naively, through the parser.

mod evader {
    use super::*;
    use crate::capture::pcap::PcapFileSource;
    use crate::capture::PacketSource;
    use crate::decode::{Decoded, Decoder};
    use crate::metrics::Counters;
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};

    const SUITE: &str = "/work/shared/conformance/suites/sv-dev/http-evader";

    type Key = ([u8; 16], u16, [u8; 16], u16);

    /// (capture index, to_server, bytes) of one in-order piece of a connection.
    type Chunk = (usize, bool, Vec<u8>);

    struct Seg {
        idx: usize,
        seq: u32,
        data: Vec<u8>,
    }

    /// Per connection: the two directions' in-order chunks with their capture index.
    fn streams(pcap: &Path) -> Vec<Vec<Chunk>> {
        let mut src = PcapFileSource::new(vec![pcap.to_path_buf()]);
        let dec = Decoder::default();
        let mut c = Counters::new();
        let mut segs: HashMap<Key, Vec<Seg>> = HashMap::new();
        let mut isn: HashMap<Key, u32> = HashMap::new();
        let mut client: HashMap<Key, bool> = HashMap::new();
        let mut idx = 0usize;
        while src.next_batch(&mut |f| {
            let mut d = Decoded::default();
            dec.decode(f.linktype, f.data, &mut d, &mut c);
            idx += 1;
            if d.proto != 6 || !d.has_l4() {
                return;
            }
            let k: Key = (d.src, d.sp, d.dst, d.dp);
            if d.tcp_flags & 0x02 != 0 {
                isn.insert(k, d.tcp_seq.wrapping_add(1));
                client.insert(k, d.tcp_flags & 0x10 == 0);
            }
            let p = d.payload(f.data);
            if !p.is_empty() {
                segs.entry(k).or_default().push(Seg { idx, seq: d.tcp_seq, data: p.to_vec() });
            }
        }) {}
        // Pair directions into connections.
        let mut out = Vec::new();
        let mut done: Vec<Key> = Vec::new();
        let keys: Vec<Key> = segs.keys().copied().collect();
        for k in keys {
            if done.contains(&k) {
                continue;
            }
            let rk: Key = (k.2, k.3, k.0, k.1);
            done.push(k);
            done.push(rk);
            let k_is_client = client.get(&k).copied().unwrap_or(k.3 == 80 || k.3 == 8080);
            let mut chunks = Vec::new();
            for (key, to_server) in [(k, k_is_client), (rk, !k_is_client)] {
                let Some(list) = segs.get_mut(&key) else { continue };
                let base = isn.get(&key).copied().unwrap_or_else(|| list.iter().map(|s| s.seq).min().unwrap_or(0));
                list.sort_by_key(|s| (s.seq.wrapping_sub(base), s.idx));
                let mut next = 0u32;
                for s in list.iter() {
                    let rel = s.seq.wrapping_sub(base);
                    let end = rel.wrapping_add(s.data.len() as u32);
                    if end <= next {
                        continue;
                    }
                    let skip = next.saturating_sub(rel) as usize;
                    chunks.push((s.idx, to_server, s.data[skip..].to_vec()));
                    next = end;
                }
            }
            chunks.sort_by_key(|c| c.0);
            out.push(chunks);
        }
        out
    }

    fn settings(dir: &Path) -> HttpConfig {
        let mut c = HttpConfig::default();
        if let Ok(t) = std::fs::read_to_string(dir.join("test.json")) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) {
                if let Some(n) = v["settings"]["http.decompress_layer_limit"].as_u64() {
                    c.decompress_layer_limit = n as u32;
                }
            }
        }
        c
    }

    fn count_with(st: &HttpState, pat: &[u8]) -> usize {
        st.txs()
            .filter(|t| {
                t.buffer(HttpBuffer::ResponseBody, false).is_some_and(|b| b.windows(pat.len()).any(|w| w == pat))
            })
            .count()
    }

    /// Runs one test directory: Ok if each pattern is in exactly one response body.
    /// `rechunk` feeds every segment in pieces of at most that many bytes.
    fn run_one(dir: &Path, rechunk: Option<usize>) -> Result<(), String> {
        let cfg = settings(dir);
        let mut stats = HttpStats::default();
        let mut a = 0;
        let mut b = 0;
        let mut bodies = Vec::new();
        for chunks in streams(&dir.join("input.pcap")) {
            let mut st = HttpState::new(&cfg);
            for (_, to_server, data) in &chunks {
                for piece in data.chunks(rechunk.unwrap_or(usize::MAX).max(1)) {
                    st.parse(*to_server, piece, &mut stats);
                }
            }
            st.eof(true, &mut stats);
            st.eof(false, &mut stats);
            a += count_with(&st, b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE");
            b += count_with(&st, b"X5O!P%@AP[4");
            for t in st.txs() {
                bodies.push(format!(
                    "tx{} {:?} status {:?} body {:?}",
                    t.id,
                    String::from_utf8_lossy(&t.uri_raw),
                    String::from_utf8_lossy(&t.status),
                    String::from_utf8_lossy(&t.response.body[..t.response.body.len().min(120)])
                ));
            }
        }
        if a == 1 && b == 1 {
            Ok(())
        } else {
            Err(format!("sid1 {a} sid2 {b}: {bodies:?} {stats:?}"))
        }
    }

    #[test]
    fn http_evader_suite() {
        let root = std::env::var("PICKET_HTTP_EVADER").unwrap_or_else(|_| SUITE.to_string());
        let Ok(rd) = std::fs::read_dir(&root) else {
            eprintln!("http-evader suite not found at {root}: skipped");
            return;
        };
        let mut dirs: Vec<PathBuf> =
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("input.pcap").exists()).collect();
        dirs.sort();
        let only = std::env::var("PICKET_HTTP_EVADER_ONLY").ok();
        let mut pass = 0;
        let mut fails = Vec::new();
        for d in &dirs {
            let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if only.as_deref().is_some_and(|o| !name.contains(o)) {
                continue;
            }
            let rechunk = std::env::var("PICKET_HTTP_EVADER_RECHUNK").ok().and_then(|v| v.parse().ok());
            match run_one(d, rechunk) {
                Ok(()) => pass += 1,
                Err(e) => fails.push(format!("{name}: {e}")),
            }
        }
        for f in &fails {
            eprintln!("FAIL {f}");
        }
        let total = pass + fails.len();
        eprintln!("http-evader: {pass} of {total} pass");
        // Keep the reached level from sliding back.
        assert!(only.is_some() || pass * 100 >= total * 95, "http-evader: only {pass} of {total} pass");
    }
}

#[test]
fn a_response_before_any_request_byte_gets_its_own_transaction() {
    let mut st = HttpState::new(&cfg());
    let mut stats = HttpStats::default();
    st.parse(false, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &mut stats);
    st.parse(true, b"GET /late HTTP/1.1\r\nHost: h\r\n\r\n", &mut stats);
    let t: Vec<&HttpTx> = st.txs().collect();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].uri_raw, b"/libhtp::request_uri_not_seen");
    assert_eq!((t[0].status_num, t[0].request_complete), (200, true));
    assert_eq!(t[0].buffer(HttpBuffer::Method, true), None);
    assert_eq!(t[1].uri_raw, b"/late");
    assert_eq!(stats.responses_without_request, 1);
}

#[test]
fn a_request_line_without_protocol_has_headers_when_they_follow() {
    // libhtp: followed by more than whitespace in its chunk, it is not HTTP/0.9.
    let (st, _) = run_whole(&cfg(), b"OPTIONSHTTP/1.1\r\nHost: www.example.com\r\n\r\n", b"HTTP/1.0 400 Bad\r\n\r\n");
    let t: Vec<&HttpTx> = st.txs().collect();
    assert_eq!(t.len(), 1);
    assert!(!t[0].http09);
    assert_eq!(t[0].host, b"www.example.com");
    assert_eq!(t[0].status_num, 400);
    // alone in its chunk, it is HTTP/0.9: no headers, the answer is all body
    let (st, _) = run_whole(&cfg(), b"GET /\r\n", b"<html>");
    let t: Vec<&HttpTx> = st.txs().collect();
    assert!(t[0].http09);
}

#[test]
fn a_gap_between_messages_is_skipped_and_parsing_goes_on() {
    let mut st = HttpState::new(&cfg());
    let mut stats = HttpStats::default();
    st.parse(true, b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n", &mut stats);
    st.gap(true, 100, &mut stats);
    st.parse(true, b"GET /3 HTTP/1.1\r\nHost: h\r\n\r\n", &mut stats);
    let uris: Vec<Vec<u8>> = st.txs().map(|t| t.uri_raw.clone()).collect();
    assert_eq!(uris, vec![b"/1".to_vec(), b"/3".to_vec()]);
    assert_eq!(stats.gaps_refused, 1, "refused between messages (INVALID_GAP), parsing goes on");
}

#[test]
fn a_file_past_the_body_limit_is_truncated_at_the_limit() {
    let mut c = cfg();
    c.response_body_limit = 10;
    let (st, _) = run_whole(
        &c,
        b"GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 25\r\n\r\n0123456789abcdefghijklmno",
    );
    let t = st.txs().next().unwrap();
    let f = t.response.file.as_ref().unwrap();
    assert_eq!((f.size, f.state), (10, crate::app::files::FileState::Truncated));
    assert_eq!(f.name, b"/big.bin");
    assert_eq!(t.response.message_len, 25);
}

#[test]
fn a_file_goes_on_after_a_gap_in_a_body_of_known_length() {
    // Suricata's file takes the missing bytes and the ones after them, and ends TRUNCATED
    let mut st = HttpState::new(&cfg());
    let mut s = HttpStats::default();
    st.parse(true, b"GET /f.bin HTTP/1.1\r\nHost: h\r\n\r\n", &mut s);
    st.parse(false, b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nabcde", &mut s);
    st.gap(false, 5, &mut s);
    st.parse(false, b"0123456789", &mut s);
    st.eof(false, &mut s);
    let t = st.txs().next().unwrap();
    let f = t.response.file.as_ref().unwrap();
    assert_eq!((f.size, f.gaps, f.state), (20, true, crate::app::files::FileState::Truncated));
    assert!(t.response_complete);
    assert_eq!(s.gaps_refused, 0, "a gap inside a body of known length is taken");
}

#[test]
fn a_gap_where_libhtp_takes_none_is_an_invalid_gap_each_time() {
    let mut st = HttpState::new(&cfg());
    let mut s = HttpStats::default();
    st.parse(true, b"GET /c HTTP/1.1\r\nHost: h\r\n\r\n", &mut s);
    st.parse(false, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", &mut s);
    st.gap(false, 7, &mut s);
    st.gap(false, 3, &mut s);
    // parsing goes on where it was: the rest of the chunk, then the last chunk
    st.parse(false, b"cde\r\n0\r\n\r\n", &mut s);
    st.eof(false, &mut s);
    let t = st.txs().next().unwrap();
    let gaps = t.events.as_slice().iter().filter(|&&e| e == event::INVALID_GAP).count();
    assert_eq!((gaps, s.gaps_refused), (2, 2));
    assert!(t.response_complete);
    let f = t.response.file.as_ref().unwrap();
    assert_eq!((f.size, f.gaps, f.state), (5, false, crate::app::files::FileState::Closed));
}

#[test]
fn content_range_and_length_warnings() {
    use super::framing::{content_length_junk_before, content_range_invalid};
    assert!(!content_range_invalid(b"bytes 0-9/100") && !content_range_invalid(b"bytes */100"));
    assert!(!content_range_invalid(b"bytes 0-99/100") && !content_range_invalid(b"bytes 5-9/*"));
    assert!(content_range_invalid(b"bytes 9-5/100"), "start after end");
    assert!(content_range_invalid(b"bytes 0-100/100"), "end past the size");
    assert!(content_range_invalid(b"0-9/100") && content_range_invalid(b"bytes x-9/100"));
    assert!(content_length_junk_before(b" x12") && !content_length_junk_before(b" 12 "));
    assert!(!content_length_junk_before(b"abc"), "no digits: not read at all");
    let (st, _) = run_whole(
        &cfg(),
        b"GET /r HTTP/1.1\r\nHost: h\r\n\r\n",
        b"HTTP/1.1 206 Partial\r\nContent-Range: bytes 9-5/100\r\nContent-Length: +3\r\n\r\nabc",
    );
    let ev = st.txs().next().unwrap().events.as_slice().to_vec();
    assert!(ev.contains(&event::RANGE_INVALID) && ev.contains(&event::CONTENT_LENGTH_EXTRA_DATA_START), "{ev:?}");
    // a request's length too, read only without a Transfer-Encoding
    let (st, _) = run_whole(&cfg(), b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", b"");
    let ev = st.txs().next().unwrap().events.as_slice().to_vec();
    assert!(ev.contains(&event::CONTENT_LENGTH_EXTRA_DATA_START), "{ev:?}");
    let (st, _) =
        run_whole(&cfg(), b"POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: x\r\nContent-Length: -1\r\n\r\n", b"");
    let ev = st.txs().next().unwrap().events.as_slice().to_vec();
    assert!(!ev.contains(&event::CONTENT_LENGTH_EXTRA_DATA_START), "{ev:?}");
}
