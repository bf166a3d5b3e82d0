use super::*;
use crate::app::plugin::Transaction;
use crate::output::eve::Json;

const INVITE: &[u8] = b"INVITE sip:97239287044@voip.brujula.net SIP/2.0\r\nVia: SIP/2.0/UDP 192.168.1.2:5060\r\nf: <sip:arik@voip.brujula.net>;tag=1\r\nt: <sip:97239287044@voip.brujula.net>\r\nTo: <sip:12345@x>\r\nUser-Agent: Nero SIPPS\r\nc: application/sdp\r\nl: 64\r\n\r\nv=0\r\no=SIPPS 1 2 IN IP4 192.168.1.2\r\ns=SIP call\r\nc=IN IP4 192.168.1.2\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=sendrecv\r\n";
const OK: &[u8] = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.168.1.2:5060\r\nTo: <sip:97239287044@voip.brujula.net>\r\nContent-Length: 0\r\n\r\n";

fn buf(tx: &SipTx, name: &str, ts: bool) -> Vec<String> {
    let i = detect::BUFFERS.iter().position(|b| b.info.name == name).unwrap();
    let mut v = Vec::new();
    tx.buffer(i as u16, ts, &mut |b| {
        v.push(String::from_utf8_lossy(b).into_owned());
        false
    });
    v
}

fn eve(tx: &SipTx) -> serde_json::Value {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j);
    j.end();
    serde_json::from_slice::<serde_json::Value>(&out).unwrap()["sip"].clone()
}

#[test]
fn udp_request_and_response() {
    let mut st = SipState::default();
    assert!(st.parse_udp(true, INVITE));
    assert!(st.parse_udp(false, OK));
    let txs: Vec<&SipTx> = st.txs().collect();
    assert_eq!(buf(txs[0], "sip.method", true), ["INVITE"]);
    assert_eq!(buf(txs[0], "sip.from", true), ["<sip:arik@voip.brujula.net>;tag=1"]);
    assert_eq!(buf(txs[0], "sip.to", true), ["<sip:97239287044@voip.brujula.net>", "<sip:12345@x>"]);
    assert_eq!(buf(txs[0], "sip.content_length", true), ["64"]);
    assert_eq!(buf(txs[0], "sip.user_agent", true), ["Nero SIPPS"]);
    assert!(buf(txs[0], "sip.to", false).is_empty(), "a request's headers are to-server only");
    assert_eq!(buf(txs[1], "sip.stat_code", false), ["200"]);
    assert_eq!(buf(txs[1], "sip.response_line", false), ["SIP/2.0 200 OK"]);
    assert_eq!(buf(txs[1], "sip.protocol", false), ["SIP/2.0"]);
    let e = eve(txs[0]);
    assert_eq!(e["method"], "INVITE");
    assert_eq!(e["request_line"], "INVITE sip:97239287044@voip.brujula.net SIP/2.0");
    assert_eq!(e["sdp"]["origin"], "SIPPS 1 2 IN IP4 192.168.1.2");
    assert_eq!(e["sdp"]["media_descriptions"][0]["attributes"][0], "sendrecv");
    assert_eq!(
        eve(txs[1]),
        serde_json::json!({"version": "SIP/2.0", "code": "200", "reason": "OK", "response_line": "SIP/2.0 200 OK"})
    );
}

#[test]
fn tcp_messages_in_every_split_and_invalid_input() {
    let mut stream = OK.to_vec();
    stream.extend_from_slice(OK);
    for split in 0..stream.len() {
        let mut st = SipState::default();
        st.parse_tcp(false, &stream[..split]);
        st.parse_tcp(false, &stream[split..]);
        assert_eq!(st.txs().count(), 2, "split {split}");
    }
    let mut st = SipState::default();
    assert!(!st.parse_udp(true, b"INVITE sip:x SIP/2.0\r\nTo: \x01\r\n\r\n"));
    assert_eq!(st.stats.invalid, 1);
    st.parse_tcp(true, b"GARBAGE\x00\r\n");
    assert_eq!(st.stats.tcp_abandoned, 1);
    let mut st = SipState::default();
    st.parse_tcp(true, b"INVITE sip:x SIP/2.0\r\n");
    st.parse_tcp(true, &vec![b'a'; MAX_MESSAGE + 1]);
    assert_eq!(st.stats.tcp_abandoned, 1);
}

#[test]
fn patterns() {
    assert_eq!(pattern(true, b"INVITE sip:x SIP/2.0\r\n"), ProbeResult::Found(AppProto::Sip));
    assert_eq!(pattern(true, b"OPTIONS sip:x SIP/2.0\r\n"), ProbeResult::Found(AppProto::Sip));
    assert_eq!(pattern(true, b"OPTIONS * HTTP/1.1\r\n"), ProbeResult::NeedMore);
    assert_eq!(pattern(false, b"SIP/2.0 200 OK"), ProbeResult::Found(AppProto::Sip));
    assert_eq!(pattern(true, b"INV"), ProbeResult::NeedMore);
    assert_eq!(pattern(true, b"GET / HTTP/1.1"), ProbeResult::NotFound);
}
