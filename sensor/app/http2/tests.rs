//! HTTP/2 parser tests: frames fed whole and at every split, header blocks, CONTINUATION,
//! streams as transactions, keywords, bounds.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use super::*;
use crate::app::plugin::Transaction;
use crate::app::values::{parse_multi, parse_uint};

/// A frame: type, flags, stream, payload.
pub(super) fn frame(ftype: u8, flags: u8, sid: u32, payload: &[u8]) -> Vec<u8> {
    let n = payload.len();
    let mut v = vec![(n >> 16) as u8, (n >> 8) as u8, n as u8, ftype, flags];
    v.extend_from_slice(&sid.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// A header block of literals without indexing (no Huffman).
pub(super) fn literals(h: &[(&str, &str)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (n, val) in h {
        v.push(0x00);
        v.push(n.len() as u8);
        v.extend_from_slice(n.as_bytes());
        v.push(val.len() as u8);
        v.extend_from_slice(val.as_bytes());
    }
    v
}

fn request() -> Vec<u8> {
    let mut v = PREFACE.to_vec();
    v.extend(frame(FT_SETTINGS, 0, 0, &[0, 1, 0, 0, 0x10, 0, 0, 4, 0, 0, 0x80, 0]));
    v.extend(frame(FT_WINDOW_UPDATE, 0, 0, &[0, 0, 0x80, 0]));
    let block = literals(&[
        (":method", "GET"),
        (":path", "/index.html"),
        (":authority", "Example.org:8080"),
        ("user-agent", "nghttp2/1.0"),
    ]);
    let (a, b) = block.split_at(10);
    v.extend(frame(FT_HEADERS, 0, 1, a));
    v.extend(frame(FT_CONTINUATION, FLAG_END_HEADERS, 1, b));
    v.extend(frame(FT_WINDOW_UPDATE, 0, 1, &[0, 0, 0x80, 0]));
    v.extend(frame(FT_DATA, FLAG_END_STREAM, 1, b""));
    v
}

fn response() -> Vec<u8> {
    let mut v = frame(FT_SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
    v.extend(frame(FT_SETTINGS, 1, 0, b""));
    v.extend(frame(FT_HEADERS, FLAG_END_HEADERS, 1, &literals(&[(":status", "404"), ("server", "nghttpx")])));
    v.extend(frame(FT_DATA, FLAG_END_STREAM | FLAG_PADDED, 1, b"\x02not found\0\0"));
    v.extend(frame(FT_GOAWAY, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 1]));
    v
}

fn summary(s: &Http2State) -> Vec<String> {
    s.txs()
        .map(|t| {
            let mut out = Vec::new();
            let mut j = crate::output::eve::Json::object(&mut out);
            t.write_eve(&mut j);
            j.end();
            format!("{} {:?} {}", t.id, t.progress(), String::from_utf8_lossy(&out))
        })
        .collect()
}

#[test]
fn streams_and_global_frames_become_transactions() {
    let mut s = Http2State::default();
    s.parse(true, &request());
    s.parse(false, &response());
    let txs: Vec<&Http2Tx> = s.txs().collect();
    // SETTINGS, WINDOW_UPDATE (stream 0), stream 1, SETTINGS (server), GOAWAY; the ACK none
    assert_eq!(txs.len(), 5, "{:#?}", summary(&s));
    let st = txs.iter().find(|t| t.stream_id == 1).unwrap();
    assert!(st.complete());
    assert_eq!(st.ts.first(b":path"), Some(&b"/index.html"[..]));
    assert_eq!(st.tc.first(b":status"), Some(&b"404"[..]));
    assert_eq!(st.tc.body, b"not found");
    let mut host = Vec::new();
    let row = detect::BUFFERS.iter().find(|b| b.info.name == "http.host").unwrap();
    assert!((row.get)(st, true, &mut |v| {
        host = v.to_vec();
        true
    }));
    assert_eq!(host, b"example.org");
    let eve = summary(&s).join("\n");
    assert!(eve.contains(r#""http_method":"GET""#) && eve.contains(r#""status":404"#), "{eve}");
    assert!(eve.contains(r#""settings_id":"SETTINGSHEADERTABLESIZE","settings_value":4096"#), "{eve}");
    assert!(eve.contains(r#""error_code":"PROTOCOLERROR""#), "{eve}");
}

#[test]
fn every_split_gives_the_same_transactions() {
    let (req, resp) = (request(), response());
    let mut whole = Http2State::default();
    whole.parse(true, &req);
    whole.parse(false, &resp);
    let want = summary(&whole);
    for cut in 1..req.len() {
        let mut s = Http2State::default();
        s.parse(true, &req[..cut]);
        s.parse(true, &req[cut..]);
        for c in resp.chunks(7) {
            s.parse(false, c);
        }
        assert_eq!(summary(&s), want, "cut at {cut}");
    }
}

#[test]
fn window_keyword_over_frames() {
    let mut s = Http2State::default();
    s.parse(true, &request());
    let st = s.txs().find(|t| t.stream_id == 1).unwrap();
    let w: Vec<Option<u64>> = st
        .ts
        .frames
        .iter()
        .map(|f| if let FrameData::WindowUpdate(w) = f.data { Some(u64::from(w)) } else { None })
        .collect();
    let m = parse_multi(Some("32768"), |x| parse_uint(Some(x), u64::from(u32::MAX))).unwrap();
    assert!(m.matches(&w, false));
    assert_eq!(w.iter().flatten().count(), 1);
}

#[test]
fn bad_preface_stops() {
    let mut s = Http2State::default();
    s.parse(true, b"PRI * HTTP/2.0\r\n\r\nXX");
    assert!(s.failed());
    assert_eq!(s.txs().next().map(|t| t.events.as_slice().to_vec()), Some(vec![EV_INVALID_CLIENT_MAGIC]));
}

#[test]
fn size_updates_are_kept_and_oversized_ones_fail_the_block() {
    let mut s = Http2State::default();
    let mut v = PREFACE.to_vec();
    // size update to 100, then an indexed :method GET
    v.extend(frame(FT_HEADERS, FLAG_END_HEADERS, 1, &[0x3f, 0x45, 0x82]));
    // size update beyond the bound
    v.extend(frame(FT_HEADERS, FLAG_END_HEADERS, 3, &[0x3f, 0xe1, 0xff, 0x7f, 0x82]));
    s.parse(true, &v);
    let t: Vec<&Http2Tx> = s.txs().collect();
    let b = t[0].ts.frames[0].block().unwrap();
    assert_eq!(b.size_updates, vec![100]);
    assert_eq!(b.headers, vec![Header { name: b":method".to_vec(), value: b"GET".to_vec() }]);
    assert!(t[1].ts.frames[0].block().unwrap().error);
    assert_eq!(s.stats.hpack_errors, 1);
}

#[test]
fn hpack_bombs_and_endless_continuation_are_bounded_and_counted() {
    // a 4000-byte value put in the table, then 16,000 references to it (64 MB decoded)
    let mut insert = vec![0x40, 0x01, b'x', 0x7f, 0xa1, 0x1e];
    insert.extend(std::iter::repeat_n(b'A', 4000));
    let mut v = PREFACE.to_vec();
    v.extend(frame(FT_HEADERS, FLAG_END_HEADERS, 1, &insert));
    v.extend(frame(FT_HEADERS, FLAG_END_HEADERS, 3, &vec![0xbe; 16_000]));
    // a header block that never ends: 2 MB of CONTINUATION
    v.extend(frame(FT_HEADERS, 0, 5, &[0x82]));
    for _ in 0..2_000 {
        v.extend(frame(FT_CONTINUATION, 0, 5, &[0x82; 1_000]));
    }
    let mut s = Http2State::default();
    for c in v.chunks(1460) {
        s.parse(true, c);
    }
    let t: Vec<&Http2Tx> = s.txs().collect();
    assert_eq!(t[0].ts.frames[0].block().unwrap().headers[0].value.len(), 4000);
    let bomb = t[1].ts.frames[0].block().unwrap();
    let kept: usize = bomb.headers.iter().map(|h| h.name.len() + h.value.len()).sum();
    assert!(kept <= MAX_DECODED_HEADER_BYTES, "{kept}");
    assert_eq!(s.stats.hpack_bombs, 1);
    assert_eq!(s.stats.reass_limit, 2_000 - (MAX_REASS / 1_000) as u64);
    assert!(s.ts.cont.len() <= MAX_REASS);
    assert_eq!(t[2].ts.frames.len(), MAX_FRAMES);
    assert_eq!(s.stats.frames_dropped, 2_001 - MAX_FRAMES as u64);
}

/// The frames a state listed, as (to server, offset, payload length, transaction).
fn listed(req: &[u8], cut: usize) -> Vec<(bool, u64, u64, Option<u64>)> {
    let mut s = Http2State { frames_on: true, ..Http2State::default() };
    let mut out = Vec::new();
    for part in [&req[..cut], &req[cut..]] {
        s.parse(true, part);
        s.call_off += part.len() as u64;
        out.append(&mut s.frame_log);
    }
    s.frames_on = false;
    s.parse(false, &response());
    assert!(s.frame_log.is_empty());
    out
}

#[test]
fn frames_are_listed_at_their_stream_offsets_with_their_transactions() {
    let req = request();
    let want = listed(&req, req.len());
    // the preface, then SETTINGS (tx 0), WINDOW_UPDATE (tx 1), HEADERS, CONTINUATION,
    // WINDOW_UPDATE, DATA (stream 1: tx 2)
    let offs: Vec<u64> = want.iter().map(|f| f.1).collect();
    assert_eq!(offs, vec![24, 45, 58, 77, 161, 174]);
    let txs: Vec<Option<u64>> = want.iter().map(|f| f.3).collect();
    assert_eq!(txs, vec![Some(0), Some(1), Some(2), Some(2), Some(2), Some(2)]);
    assert_eq!(want.iter().map(|f| f.2).collect::<Vec<_>>(), vec![12, 4, 10, 75, 4, 0]);
    for cut in 1..req.len() {
        assert_eq!(listed(&req, cut), want, "cut at {cut}");
    }
    // an empty SETTINGS (an ACK) is a frame without a transaction
    let mut s = Http2State { frames_on: true, ..Http2State::default() };
    s.parse(false, &frame(FT_SETTINGS, 1, 0, b""));
    assert_eq!(s.frame_log, vec![(false, 0, 0, None)]);
}

#[test]
fn an_upgraded_http1_request_is_stream_1_and_its_settings_a_transaction() {
    let req = crate::app::http::UpgradeRequest {
        method: b"GET".to_vec(),
        uri: Some(b"/robots.txt".to_vec()),
        headers: vec![
            (b"Host".to_vec(), b"nghttp2.org".to_vec()),
            (b"User-Agent".to_vec(), b"curl/7.61.0".to_vec()),
            (b"HTTP2-Settings".to_vec(), b"AAMAAABkAARAAAAAAAIAAAAA".to_vec()),
        ],
    };
    let mut s = Http2State::default();
    s.take_over_http1(&req);
    let t: Vec<&Http2Tx> = s.txs().collect();
    assert_eq!(t.len(), 2);
    assert_eq!((t[0].id, t[0].stream_id, t[0].ts.state), (0, 1, ST_CLOSED));
    assert_eq!(t[0].ts.first(b":path"), Some(&b"/robots.txt"[..]));
    assert_eq!(t[0].ts.first(b":authority"), Some(&b"nghttp2.org"[..]));
    // names compared byte for byte, as Suricata: `User-Agent` is not `user-agent`
    assert_eq!(t[0].ts.joined(b"user-agent"), None);
    assert!(t[1].global && t[0].events.is_empty());
    assert_eq!(t[1].ts.frames[0].data, FrameData::Settings(vec![(3, 100), (4, 1 << 30), (2, 0)]));
    // the server answers on stream 1: the stream completes
    let mut resp = frame(FT_SETTINGS, 0, 0, b"");
    resp.extend(frame(FT_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 1, &literals(&[(":status", "200")])));
    s.parse(false, &resp);
    assert!(s.txs().next().unwrap().complete());
    // settings that do not decode: the event on the newest transaction
    let mut s = Http2State::default();
    let bad = crate::app::http::UpgradeRequest {
        method: b"GET".to_vec(),
        uri: None,
        headers: vec![(b"HTTP2-Settings".to_vec(), b"AAMAAABk-_".to_vec())],
    };
    s.take_over_http1(&bad);
    assert_eq!(s.txs().count(), 1);
    assert_eq!(s.txs().next().unwrap().events.as_slice(), &[EV_INVALID_HTTP1_SETTINGS]);
}

#[test]
fn an_h2c_upgrade_hands_the_flow_and_its_request_to_http2() {
    use crate::app::flow::{FlowMeta, Sink};
    use crate::app::{AppConfig, AppProto, AppSlot, AppStats};
    use crate::stream::AppSink;
    let (cfg, mut stats) = (AppConfig::default(), AppStats::default());
    let mut app = AppSlot::default();
    let flow = FlowMeta::ports(58038, 80);
    let req: &[u8] = b"GET /robots.txt HTTP/1.1\r\nHost: nghttp2.org\r\nConnection: Upgrade, HTTP2-Settings\r\n\
        Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
    let mut tc = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".to_vec();
    // the server's SETTINGS in the same segment as the 101
    tc.extend(frame(FT_SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]));
    let mut sink = Sink { app: &mut app, cfg: &cfg, stats: &mut stats, flow };
    sink.data(true, 0, req);
    sink.data(false, 0, &tc);
    assert_eq!(app.proto(), AppProto::Http, "the deciding packet is HTTP's");
    app.free_txs([false; 2], false);
    let mut sink = Sink { app: &mut app, cfg: &cfg, stats: &mut stats, flow };
    let mut ts = PREFACE.to_vec();
    ts.extend(frame(FT_SETTINGS, 0, 0, &[0, 2, 0, 0, 0, 0]));
    sink.data(true, req.len() as u64, &ts);
    assert_eq!((app.proto(), app.orig()), (AppProto::Http2, AppProto::Http));
    let mut seen = Vec::new();
    app.get().unwrap().each_tx(&mut |t| seen.push((t.id(), t.progress())));
    // stream 1 (the upgrading request, its request side done), the HTTP2-Settings header,
    // the server's SETTINGS (held across the change), the client's
    assert_eq!(seen, vec![(0, [2, 0]), (1, [3, 3]), (2, [3, 3]), (3, [3, 3])]);
    let mut uri = Vec::new();
    let row = detect::BUFFERS.iter().position(|b| b.info.name == "http.uri").unwrap();
    app.get().unwrap().tx(0).unwrap().buffer(row as u16, true, &mut |v| {
        uri = v.to_vec();
        true
    });
    assert_eq!(uri, b"/robots.txt");
}
