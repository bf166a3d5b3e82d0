//! TLS parser tests.

use super::*;
use crate::output::eve::Json;

fn u16b(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

fn u24b(v: usize) -> [u8; 3] {
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

fn ext(t: u16, data: &[u8]) -> Vec<u8> {
    let mut v = u16b(t).to_vec();
    v.extend_from_slice(&u16b(data.len() as u16));
    v.extend_from_slice(data);
    v
}

fn sni_ext(host: &str) -> Vec<u8> {
    let mut d = u16b(host.len() as u16 + 3).to_vec();
    d.push(0);
    d.extend_from_slice(&u16b(host.len() as u16));
    d.extend_from_slice(host.as_bytes());
    ext(0, &d)
}

fn handshake(t: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![t];
    v.extend_from_slice(&u24b(body.len()));
    v.extend_from_slice(body);
    v
}

fn record(t: u8, ver: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![t];
    v.extend_from_slice(&u16b(ver));
    v.extend_from_slice(&u16b(body.len() as u16));
    v.extend_from_slice(body);
    v
}

fn client_hello(exts: &[u8]) -> Vec<u8> {
    let mut b = u16b(0x0303).to_vec();
    b.extend_from_slice(&[7; 32]);
    b.push(0); // no session id
    let ciphers = [0x0a0a, 0xc02b, 0xc02f, 0x009c];
    b.extend_from_slice(&u16b(8));
    for c in ciphers {
        b.extend_from_slice(&u16b(c));
    }
    b.extend_from_slice(&[1, 0]);
    b.extend_from_slice(&u16b(exts.len() as u16));
    b.extend_from_slice(exts);
    handshake(1, &b)
}

fn ch_exts() -> Vec<u8> {
    let mut e = ext(0x1a1a, &[]);
    e.extend(sni_ext("www.example.com"));
    e.extend(ext(23, &[]));
    e.extend(ext(10, &[0, 6, 0x2a, 0x2a, 0, 29, 0, 23]));
    e.extend(ext(11, &[1, 0]));
    e.extend(ext(16, &[0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1']));
    e
}

fn server_hello(version: u16, exts: &[u8]) -> Vec<u8> {
    let mut b = u16b(version).to_vec();
    b.extend_from_slice(&[9; 32]);
    b.push(0);
    b.extend_from_slice(&u16b(0xc02f));
    b.push(0);
    b.extend_from_slice(&u16b(exts.len() as u16));
    b.extend_from_slice(exts);
    handshake(2, &b)
}

/// A real self-signed certificate (subject and issuer
/// `C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS` as in the tls-subject test), extracted
/// from the conformance capture when it is there.
fn conformance_cert() -> Option<Vec<u8>> {
    let certs = server_certs_from_pcap(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/conformance/suites/sv-dev/tls/tls-subject/tls.pcap"
    ))?;
    certs.into_iter().next()
}

/// Runs a capture's TCP payloads through [`TlsState`] (both directions, in capture
/// order; the captures are small and in order) and returns the server chain.
fn server_certs_from_pcap(path: &str) -> Option<Vec<Vec<u8>>> {
    let st = run_pcap(path)?;
    Some(st.server_certs().to_vec())
}

fn run_pcap(path: &str) -> Option<TlsState> {
    use crate::capture::pcap::PcapFileSource;
    use crate::capture::PacketSource;
    use crate::decode::{Decoded, Decoder};
    use crate::metrics::Counters;
    if !std::path::Path::new(path).exists() {
        return None;
    }
    let mut src = PcapFileSource::new(vec![path.into()]);
    let mut frames = Vec::new();
    while src.next_batch(&mut |f| frames.push((f.linktype, f.data.to_vec()))) {}
    let dec = Decoder::default();
    let mut client: Option<(u16, u16)> = None;
    // Per direction: (seq, payload), deduplicated and put in sequence order (the
    // captures are single short connections, some with segments out of order).
    let mut dirs: [Vec<(u32, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    for (lt, frame) in frames {
        let mut d = Decoded::default();
        let mut c = Counters::new();
        dec.decode(lt, &frame, &mut d, &mut c);
        let p = d.payload(&frame);
        if d.proto != 6 || p.is_empty() {
            continue;
        }
        let cl = *client.get_or_insert((d.sp, d.dp));
        let di = usize::from((d.sp, d.dp) != cl);
        if !dirs[di].iter().any(|(s, _)| *s == d.tcp_seq) {
            dirs[di].push((d.tcp_seq, p.to_vec()));
        }
    }
    let mut st = TlsState::new();
    for (di, segs) in dirs.iter_mut().enumerate() {
        let base = segs.iter().map(|(s, _)| *s).min().unwrap_or(0);
        segs.sort_by_key(|(s, _)| s.wrapping_sub(base));
        for (_, p) in segs.iter() {
            st.parse(di == 0, p);
        }
    }
    Some(st)
}

#[test]
fn grease() {
    assert!(is_grease(0x0a0a) && is_grease(0xfafa) && is_grease(0x3a3a));
    assert!(!is_grease(0x0a1a) && !is_grease(0x0017));
}

#[test]
fn client_hello_sni_ja3_alpn() {
    let mut st = TlsState::new();
    let rec = record(22, 0x0301, &client_hello(&ch_exts()));
    assert_eq!(st.parse(true, &rec), TlsStatus::Done);
    assert_eq!(st.sni(), Some(&b"www.example.com"[..]));
    let s = "771,49195-49199-156,0-23-10-11-16,29-23,0";
    assert_eq!(st.ja3_string(), Some(s));
    assert_eq!(st.ja3_hash().map(str::len), Some(32));
    assert_eq!(st.ja3_hash(), Some(md5_hex(s).as_str()));
    assert_eq!(st.client_alpns(), &[b"h2".to_vec(), b"http/1.1".to_vec()]);
    assert_eq!(st.dir_version(true), 0x0303);
    assert_eq!(st.ssl_state() & ssl_state::CLIENT_HELLO, ssl_state::CLIENT_HELLO);
}

#[test]
fn md5_known_answer() {
    assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
}

#[test]
fn every_split_of_a_handshake_flight_gives_the_same_state() {
    // Two records: the ClientHello split across them, then a CCS and app data.
    let ch = client_hello(&ch_exts());
    let (a, b) = ch.split_at(20);
    let mut stream = record(22, 0x0301, a);
    stream.extend(record(22, 0x0301, b));
    stream.extend(record(20, 0x0303, &[1]));
    stream.extend(record(23, 0x0303, &[0xaa; 100]));
    for split in 0..=stream.len() {
        let mut st = TlsState::new();
        let (x, y) = stream.split_at(split);
        st.parse(true, x);
        assert_eq!(st.parse(true, y), TlsStatus::Done, "split {split}");
        assert_eq!(st.sni(), Some(&b"www.example.com"[..]), "split {split}");
        assert_eq!(st.ja3_string(), Some("771,49195-49199-156,0-23-10-11-16,29-23,0"));
    }
    let mut st = TlsState::new();
    for b in &stream {
        st.parse(true, std::slice::from_ref(b));
    }
    assert_eq!(st.sni(), Some(&b"www.example.com"[..]));
}

#[test]
fn server_hello_tls12_and_ja3s() {
    let mut st = TlsState::new();
    st.parse(true, &record(22, 0x0301, &client_hello(&ch_exts())));
    let sh = server_hello(0x0303, &[ext(0xff01, &[0]), ext(11, &[1, 0])].concat());
    assert_eq!(st.parse(false, &record(22, 0x0303, &sh)), TlsStatus::Done);
    assert_eq!(st.version(), 0x0303);
    assert_eq!(version_string(st.version()), "TLS 1.2");
    assert_eq!(st.ja3s_string(), Some("771,49199,65281-11"));
    assert_eq!(SslVersion::of(st.dir_version(false)), Some(SslVersion::Tls12));
}

#[test]
fn server_hello_tls13_via_supported_versions() {
    let mut st = TlsState::new();
    let mut e = ch_exts();
    e.extend(ext(43, &[4, 0x3a, 0x3a, 0x03, 0x04]));
    st.parse(true, &record(22, 0x0301, &client_hello(&e)));
    assert_eq!(st.dir_version(true), 0x0304);
    let sh = server_hello(0x0303, &ext(43, &[3, 4]));
    st.parse(false, &record(22, 0x0303, &sh));
    // Later records do not change the version, and encrypted handshake is not parsed.
    st.parse(false, &record(20, 0x0303, &[1]));
    st.parse(false, &record(22, 0x0303, &[0x55; 40]));
    assert_eq!(version_string(st.version()), "TLS 1.3");
    assert_eq!(st.stats.handshake_malformed, 0);
    assert_eq!(st.ja3s_string(), Some("771,49199,43"));
}

#[test]
fn record_version_until_hello() {
    let mut st = TlsState::new();
    st.parse(false, &record(21, 0x0301, &[2, 40]));
    assert_eq!(st.dir_version(false), 0x0301);
    assert_eq!(SslVersion::of(st.dir_version(false)), Some(SslVersion::Tls10));
    assert_eq!(version_string(0), "UNDETERMINED");
    assert_eq!(version_string(0x7f1c), "TLS 1.3 draft-28");
    assert_eq!(version_string(0x1234), "0x1234");
}

#[test]
fn sslv2_client_hello() {
    // SSLv2-framed client hello offering TLS 1.0 (as old clients send).
    let body = [1u8, 3, 1, 0, 3, 0, 0, 0, 16, 0, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
    let mut rec = vec![0x80, body.len() as u8];
    rec.extend_from_slice(&body);
    let mut st = TlsState::new();
    assert_eq!(st.parse(true, &rec), TlsStatus::Done);
    assert_eq!(st.dir_version(true), 0x0301);
    assert!(st.ssl_state() & ssl_state::CLIENT_HELLO != 0);
}

#[test]
fn lying_lengths_are_bounded() {
    // Record longer than allowed: the direction gives up at once, nothing buffered.
    let mut st = TlsState::new();
    let r = st.parse(true, &[22, 3, 3, 0xff, 0xff, 1, 2, 3]);
    assert_eq!(r, TlsStatus::Error(TlsError::RecordTooLong));
    assert_eq!(st.parse(true, &[0; 100]), TlsStatus::Error(TlsError::RecordTooLong));
    assert_eq!(st.stats.bytes_ignored, 103);
    // A handshake message claiming 2^24 - 1 bytes.
    let mut st = TlsState::new();
    let r = st.parse(true, &record(22, 0x0303, &[1, 0xff, 0xff, 0xff, 3, 3]));
    assert_eq!(r, TlsStatus::Error(TlsError::HandshakeTooLong));
    assert_eq!(st.stats.handshake_too_long, 1);
    // Not TLS at all.
    let mut st = TlsState::new();
    assert_eq!(st.parse(true, b"GET / HTTP/1.1\r\n"), TlsStatus::Error(TlsError::BadRecord));
    // A handshake message up to the cap is buffered across many records, then parsed.
    let mut st = TlsState::new();
    let big = handshake(1, &vec![0u8; 100_000]);
    for c in big.chunks(16_000) {
        st.parse(true, &record(22, 0x0303, c));
    }
    assert_eq!(st.stats.handshake_malformed + st.stats.handshake_messages, 1);
    assert_eq!(st.conns[0].hs.len(), 0);
}

#[test]
fn ten_thousand_extensions() {
    let mut e = Vec::new();
    for i in 0..10_000u16 {
        e.extend(ext(1000 + i, &[]));
    }
    // 40 KB of extensions exceed a u16 length: build the hello by hand with a truncated
    // extensions length, and also a valid 16,000-extension-byte one across records.
    let mut e2 = Vec::new();
    for i in 0..4_000u16 {
        e2.extend(ext(1000 + i, &[]));
    }
    let ch = client_hello(&e2);
    let mut st = TlsState::new();
    for c in ch.chunks(16_000) {
        st.parse(true, &record(22, 0x0303, c));
    }
    let s = st.ja3_string().unwrap_or_default();
    // 4,000 types less one GREASE value (0x0a0a = 1000 + 1570).
    assert_eq!(s.split(',').nth(2).map(|x| x.split('-').count()), Some(3_999));
    // The 10,000 list: the length field wraps, parsing must not panic.
    let mut b = u16b(0x0303).to_vec();
    b.extend_from_slice(&[7; 32]);
    b.extend_from_slice(&[0, 0, 2, 0, 0x2f, 1, 0]);
    b.extend_from_slice(&u16b(e.len() as u16));
    b.extend_from_slice(&e);
    let ch = handshake(1, &b);
    let mut st = TlsState::new();
    for c in ch.chunks(16_000) {
        st.parse(true, &record(22, 0x0303, c));
    }
    assert!(st.stats.records >= 3);
}

#[test]
fn garbage_certificates() {
    let mut st = TlsState::new();
    st.parse(true, &record(22, 0x0301, &client_hello(&ch_exts())));
    st.parse(false, &record(22, 0x0303, &server_hello(0x0303, &[])));
    // Certificate message with one 10-byte garbage certificate.
    let mut body = u24b(13).to_vec();
    body.extend_from_slice(&u24b(10));
    body.extend_from_slice(&[0x30, 0x82, 0xff, 0xff, 1, 2, 3, 4, 5, 6]);
    st.parse(false, &record(22, 0x0303, &handshake(11, &body)));
    assert_eq!(st.stats.cert_invalid, 1);
    assert!(st.cert().is_none());
    assert_eq!(st.server_certs().len(), 1);
    assert!(cert_info(&[]).is_none());
    assert!(cert_info(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
    // A certificate list whose inner length lies.
    let mut body = u24b(5).to_vec();
    body.extend_from_slice(&u24b(1000));
    body.extend_from_slice(&[1, 2]);
    st.parse(false, &record(22, 0x0303, &handshake(11, &body)));
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    st.write_eve(&mut j, true);
    j.end();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["tls"]["version"], "TLS 1.2");
    assert!(v["tls"].get("subject").is_none());
}

#[test]
fn real_certificate_fields() {
    let Some(der) = conformance_cert() else { return };
    let c = cert_info(&der).expect("decodes");
    assert_eq!(c.subject, "C=FR, ST=IDF, L=Paris, O=Stamus, CN=SELKS");
    assert!(c.serial.chars().all(|x| x == ':' || x.is_ascii_hexdigit() && !x.is_ascii_lowercase()));
    assert_eq!(c.fingerprint.len(), 59);
    assert!(c.fingerprint.chars().all(|x| x == ':' || x.is_ascii_digit() || x.is_ascii_lowercase()));
    assert!(c.not_before < c.not_after);
    assert_eq!(c.not_before_str.len(), 19);
}

#[test]
fn conformance_fingerprint_and_eve_schema() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/conformance/suites/sv-dev/tls/tls-fingerprint-alert/input.pcap"
    );
    let Some(st) = run_pcap(path) else { return };
    assert_eq!(st.cert_fingerprint(), Some("90:86:a4:3b:f5:cf:1b:2e:4e:f7:97:96:f9:de:ba:b9:66:35:86:3f"));
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    st.write_eve(&mut j, true);
    j.end();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let schema: serde_json::Value =
        match std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/eve-schema.json")) {
            Ok(s) => serde_json::from_str(&s).unwrap(),
            Err(_) => return,
        };
    let mut s = schema["properties"]["tls"].clone();
    s["$defs"] = schema["$defs"].clone();
    let validator = jsonschema::validator_for(&s).unwrap();
    assert!(validator.is_valid(&v["tls"]), "{}", v["tls"]);
    assert!(v["tls"]["ja3"]["hash"].is_string());
}

#[test]
fn conformance_noissuer_subject() {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/suites/sv-dev/tls/tls-cert-noissuer/tls.pcap");
    let Some(st) = run_pcap(path) else { return };
    assert!(st.cert_subject().is_some_and(|s| s.contains("localhost")), "{:?}", st.cert_subject());
}

#[test]
fn conformance_certs_chain() {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/suites/sv-dev/tls/tls-certs-alert/input.pcap");
    let Some(certs) = server_certs_from_pcap(path) else { return };
    assert_eq!(certs.len(), 3);
    let has = |c: &[u8], pat: &[u8]| c.windows(pat.len()).any(|w| w == pat);
    assert!(has(&certs[0], &[0x30, 0x16, 0x06, 0x03, 0x55, 0x04, 0x03, 0x13, 0x0f]));
    assert!(has(&certs[1], &[0x30, 0x25, 0x06, 0x03, 0x55, 0x04, 0x03, 0x13, 0x1e]));
}

#[test]
fn garbage_never_panics() {
    let mut stream = record(22, 0x0301, &client_hello(&ch_exts()));
    stream.extend(record(22, 0x0303, &server_hello(0x0303, &ext(43, &[3, 4]))));
    for i in 0..stream.len() {
        for x in [0x00u8, 0xff, 0x80, 0x16] {
            let mut m = stream.clone();
            m[i] = x;
            let mut st = TlsState::new();
            st.parse(true, &m);
            st.parse(false, &m);
        }
    }
}

#[test]
fn hello_randoms_per_side_and_alpn_buffer() {
    use crate::app::plugin::Transaction;
    let mut st = TlsState::new();
    assert_eq!(st.random(true), None);
    st.parse(true, &record(22, 0x0301, &client_hello(&ch_exts())));
    st.parse(false, &record(22, 0x0303, &server_hello(0x0303, &ext(16, &[0, 3, 2, b'h', b'2']))));
    assert_eq!(st.random(true), Some(&[7; 32]));
    assert_eq!(st.random(false), Some(&[9; 32]));
    // tls.alpn (buffer 11) reads the packet side's hello: both client names, the server's one
    let alpn = |ts: bool| {
        let mut seen = Vec::new();
        st.buffer(11, ts, &mut |b| {
            seen.push(b.to_vec());
            false
        });
        seen
    };
    assert_eq!(alpn(true), vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    assert_eq!(alpn(false), vec![b"h2".to_vec()]);
    // tls.random_time (13) and tls.random_bytes (14) split the packet side's random
    let mut got = Vec::new();
    st.buffer(13, false, &mut |b| {
        got.push(b.to_vec());
        false
    });
    st.buffer(14, true, &mut |b| {
        got.push(b.to_vec());
        false
    });
    assert_eq!(got, vec![vec![9; 4], vec![7; 28]]);
}

#[test]
fn subject_alt_names_of_the_server_certificate() {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/suites/sv-dev-wide/tls/tls-glupteba/input.pcap");
    let Some(st) = run_pcap(path) else { return };
    let sans = &st.cert().expect("a server certificate").sans;
    assert!(sans.iter().any(|s| s == "server15.xn--j1ahhq.xn--p1ai"), "{sans:?}");
}

/// The names of the events raised on the flow's transaction.
fn event_names(st: &TlsState) -> Vec<&'static str> {
    st.events.as_slice().iter().map(|&e| EVENTS[usize::from(e)]).collect()
}

#[test]
fn certificate_errors_raise_their_own_events() {
    // Suricata's x509 error classes: cut short is an invalid length, a DER length that runs
    // past its enclosing element is a generic invalid certificate.
    for (der, event) in [
        (&[0x30, 0x05, 0x30, 0x84, 0xff, 0xff, 0xff, 0xfa][..], "certificate_invalid_length"),
        (&[0x30, 0x06, 0x30, 0x84, 0xff, 0xff, 0xff, 0xfa, 0x04][..], "invalid_certificate"),
        (&[0x30, 0x03, 0x02, 0x01, 0x00][..], "certificate_invalid_der"),
    ] {
        let mut st = TlsState::new();
        st.parse(false, &record(22, 0x0303, &server_hello(0x0303, &[])));
        let mut body = u24b(der.len() + 3).to_vec();
        body.extend_from_slice(&u24b(der.len()));
        body.extend_from_slice(der);
        st.parse(false, &record(22, 0x0303, &handshake(11, &body)));
        assert_eq!(event_names(&st), [event], "{der:02x?}");
        assert_eq!(st.stats.cert_invalid, 1);
    }
}

#[test]
fn unknown_handshake_type_is_skipped_with_an_event() {
    // A type Suricata does not know, claiming 2^24 - 1 bytes: what arrived of it is skipped,
    // the direction goes on (Suricata reads what follows in later records as new messages).
    let mut st = TlsState::new();
    let mut body = server_hello(0x0303, &[]);
    body.extend_from_slice(&[132, 0xff, 0xff, 0xff, 0x41, 0x41]);
    assert_eq!(st.parse(false, &record(22, 0x0303, &body)), TlsStatus::Done);
    assert_eq!(event_names(&st), ["invalid_handshake_message"]);
    assert_eq!(st.stats.handshake_unsupported, 1);
    assert_ne!(st.ssl_state() & ssl_state::UNKNOWN, 0);
    let mut body = u24b(3).to_vec();
    body.extend_from_slice(&u24b(0));
    st.parse(false, &record(22, 0x0303, &handshake(11, &body)));
    assert_eq!(st.stats.handshake_messages, 2);
    assert_eq!(st.stats.handshake_too_long, 0);
}
