use super::*;
use crate::app::flow::{FlowMeta, Sink};
use crate::app::frames::Frames;
use crate::app::plugin::{AppParser, ParseCx, Transaction};
use crate::app::{AppConfig, AppSlot, AppStats};
use crate::stream::AppSink;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).filter_map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Frames of basic_websockets.pcap (suricata-verify `websocket`): the client's masked text
/// frame and the server's answer.
const CLIENT_VERSION: &str = "8188e2b695ed94d3e79e8bd9fbc1";
const SERVER_VERSION: &str = "811576657273696f6e2c687962692d64726166742d3133";

/// Feeds `data` in pieces of `n` bytes as the app layer does (frames around each call).
fn feed(s: &mut WebsocketState, frames: &mut Frames, stats: &mut AppStats, to_server: bool, data: &[u8], n: usize) {
    let cfg = AppConfig::default();
    let meta = FlowMeta::default();
    for piece in data.chunks(n.max(1)) {
        frames.begin(to_server, piece);
        let mut cx = ParseCx { cfg: &cfg, stats, udp: false, flow: &meta, frames };
        s.parse(to_server, piece, &mut cx);
        frames.end(to_server);
    }
}

#[test]
fn masked_and_unmasked_frames_of_a_capture_in_any_split() {
    for n in [1, 3, 100] {
        let mut s = WebsocketState::default();
        let (mut frames, mut stats) = (Frames::default(), AppStats::default());
        feed(&mut s, &mut frames, &mut stats, true, &hex(CLIENT_VERSION), n);
        feed(&mut s, &mut frames, &mut stats, false, &hex(SERVER_VERSION), n);
        let txs: Vec<&WebsocketTx> = s.txs().collect();
        assert_eq!(txs.len(), 2, "split {n}");
        assert_eq!((txs[0].to_server, txs[0].opcode, txs[0].fin()), (true, 1, true));
        assert_eq!(txs[0].mask, Some(0xe2b6_95ed));
        assert_eq!(txs[0].payload, b"version,", "unmasked");
        assert_eq!((txs[1].to_server, txs[1].mask), (false, None));
        assert_eq!(txs[1].payload, b"version,hybi-draft-13");
        assert_eq!(stats.websocket.frames, 2);
    }
}

#[test]
fn eve_object_as_suricata_writes_it() {
    let mut s = WebsocketState::default();
    let (mut frames, mut stats) = (Frames::default(), AppStats::default());
    feed(&mut s, &mut frames, &mut stats, true, &hex(CLIENT_VERSION), 100);
    // a close frame of an unknown-to-EVE opcode follows: opcode 3 is reserved
    feed(&mut s, &mut frames, &mut stats, false, &[0x88, 0x00, 0x83, 0x00], 100);
    let out: Vec<String> = s
        .txs()
        .map(|t| {
            let mut buf = Vec::new();
            let mut j = Json::object(&mut buf);
            t.write_eve(&mut j);
            j.end();
            String::from_utf8_lossy(&buf).into_owned()
        })
        .collect();
    assert_eq!(out[0], r#"{"websocket":{"fin":true,"mask":3803616749,"opcode":"text"}}"#);
    assert_eq!(out[1], r#"{"websocket":{"fin":true,"opcode":"close"}}"#);
    assert_eq!(out[2], r#"{"websocket":{"fin":true,"opcode":"unknown-3"}}"#);
}

#[test]
fn fragments_join_on_the_final_frame() {
    let mut s = WebsocketState::default();
    let (mut frames, mut stats) = (Frames::default(), AppStats::default());
    // "Hel" text, not final; "lo" continuation, final (RFC 6455 §5.7)
    let data = [&[0x01u8, 0x03][..], b"Hel", &[0x80, 0x02], b"lo"].concat();
    feed(&mut s, &mut frames, &mut stats, false, &data, 2);
    let txs: Vec<&WebsocketTx> = s.txs().collect();
    assert_eq!((txs[0].opcode, txs[0].fin(), txs[0].payload.as_slice()), (1, false, &b"Hel"[..]));
    assert_eq!((txs[1].opcode, txs[1].fin(), txs[1].payload.as_slice()), (0, true, &b"Hello"[..]));
}

#[test]
fn compressed_messages_inflate_with_the_directions_window() {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::default(), false);
    let mut frames_out = Vec::new();
    for msg in [&b"Hello, hello, hello"[..], b"Hello, hello, hello again"] {
        let mut out = Vec::with_capacity(256);
        let _ = c.compress_vec(msg, &mut out, FlushCompress::Sync);
        // RFC 7692 §7.2.1: the sender drops the trailing 00 00 ff ff
        out.truncate(out.len() - 4);
        frames_out.extend_from_slice(&[0xc1, out.len() as u8]);
        frames_out.extend_from_slice(&out);
    }
    let mut s = WebsocketState::default();
    let (mut frames, mut stats) = (Frames::default(), AppStats::default());
    feed(&mut s, &mut frames, &mut stats, false, &frames_out, 5);
    let p: Vec<&[u8]> = s.txs().map(|t| t.payload.as_slice()).collect();
    assert_eq!(p, vec![&b"Hello, hello, hello"[..], b"Hello, hello, hello again"]);
    assert_eq!(stats.websocket.inflate_errors, 0);
}

#[test]
fn a_huge_frame_keeps_its_first_bytes_and_skips_the_rest_counted() {
    let mut s = WebsocketState::default();
    let (mut frames, mut stats) = (Frames::default(), AppStats::default());
    let len = MAX_PAYLOAD as u64 + 10;
    let mut data = vec![0x82, 127];
    data.extend_from_slice(&len.to_be_bytes());
    data.extend(std::iter::repeat_n(0x41, len as usize));
    data.extend_from_slice(&[0x89, 0x00]); // a ping after it
    feed(&mut s, &mut frames, &mut stats, true, &data, 4096);
    let txs: Vec<&WebsocketTx> = s.txs().collect();
    assert_eq!(txs.len(), 2);
    assert_eq!(txs[0].payload.len(), MAX_PAYLOAD);
    assert_eq!(txs[0].events(), &[EV_SKIP]);
    assert_eq!(txs[1].opcode, 9);
    assert_eq!(stats.websocket.payload_bytes_skipped, 10);
    // a length of 2^64 - 1 is skipped, never allocated
    let mut s = WebsocketState::default();
    feed(&mut s, &mut frames, &mut stats, true, &[0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 3);
    assert!(s.txs().next().is_none(), "waits for its kept payload");
}

#[test]
fn keywords_compile_and_match_as_suricata_defines_them() {
    let t = WebsocketTx { flags: 0x80, opcode: 1, mask: Some(5), ..WebsocketTx::default() };
    let flags = |s: &str| crate::app::values::parse_bitflags(Some(s), super::detect::FLAGS).map(|f| f.matches(t.flags));
    assert_eq!(flags("fin"), Ok(true));
    assert_eq!(flags("comp"), Ok(false));
    assert_eq!(flags("fin,!comp"), Ok(true));
    assert_eq!(flags("-fin"), Ok(false));
    assert_eq!(flags("*fin,comp"), Ok(true));
    assert_eq!(flags("=fin"), Ok(true));
    assert_eq!(flags("128"), Ok(true));
    assert!(flags("nope").is_err() && flags("fin,fin").is_err());
    let reg = crate::app::registry();
    let kw = |name: &str, arg: &str| {
        let id = reg.values_named(name)[0];
        let def = reg.value(id).map(|d| (d.local, (d.info.parse)(Some(arg))));
        let (local, parsed) = def.unwrap_or((0, Err(String::new())));
        parsed.is_ok_and(|a| t.value(local, &a, true, 0))
    };
    assert!(kw("websocket.opcode", "text") && kw("websocket.opcode", "1") && !kw("websocket.opcode", "binary"));
    assert!(kw("websocket.mask", ">0") && !kw("websocket.mask", "4"));
    let unmasked = WebsocketTx { mask: None, ..t.clone() };
    let id = reg.values_named("websocket.mask")[0];
    let d = reg.value(id).map(|d| (d.local, (d.info.parse)(Some(">0"))));
    assert!(matches!(d, Some((l, Ok(a))) if !unmasked.value(l, &a, true, 0)), "no mask, no match");
}

#[test]
fn the_http_upgrade_hands_the_flow_to_websocket_after_its_packet() {
    let (cfg, mut stats) = (AppConfig::default(), AppStats::default());
    let mut app = AppSlot::default();
    let flow = FlowMeta::ports(55233, 80);
    let req = b"GET /service HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    let res = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let mut sink = Sink { app: &mut app, cfg: &cfg, stats: &mut stats, flow };
    sink.data(true, 0, req);
    // the server's first frame arrives in the same segment as the 101
    let mut tc = res.to_vec();
    tc.extend_from_slice(&hex(SERVER_VERSION));
    sink.data(false, 0, &tc);
    assert_eq!(app.proto(), AppProto::Http, "the deciding packet is HTTP's");
    let mut http_txs = 0;
    app.get().unwrap().each_tx(&mut |t| http_txs += usize::from(t.record_ready()));
    assert_eq!(http_txs, 1, "the upgrade request is complete for its record");
    app.free_txs([false; 2], false);
    let mut sink = Sink { app: &mut app, cfg: &cfg, stats: &mut stats, flow };
    sink.data(true, req.len() as u64, &hex(CLIENT_VERSION));
    assert_eq!((app.proto(), app.orig()), (AppProto::Websocket, AppProto::Http));
    let mut seen = Vec::new();
    app.get().unwrap().each_tx(&mut |t| seen.push((t.id(), t.direction())));
    assert_eq!(seen, vec![(0, Some(false)), (1, Some(true))], "the held frame first, then the client's");
}

#[test]
fn hostile_bytes_never_panic() {
    let mut seed = 0x1234_5678_u32;
    for round in 0..200 {
        let mut s = WebsocketState::default();
        let (mut frames, mut stats) = (Frames::default(), AppStats::default());
        let data: Vec<u8> = (0..(round * 7 % 500))
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        feed(&mut s, &mut frames, &mut stats, round % 2 == 0, &data, 1 + round % 13);
        assert!(s.txs().count() <= MAX_TXS);
    }
}
