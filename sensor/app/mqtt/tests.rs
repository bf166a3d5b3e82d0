use super::detect::{BUFFERS, VALUES};
use super::*;
use crate::app::plugin::Transaction;
use crate::app::values::{parse_bitflags as parse_flags, BitFlags as Flags};
use crate::output::eve::Json;

/// MQTT 5 CONNECT (user/pass, receive maximum 20) and its CONNACK, from suricata-verify's
/// mqtt-frames-truncated capture.
const CONNECT5: &[u8] = b"\x10\x1c\x00\x04MQTT\x05\xc2\x00\x3c\x03\x21\x00\x14\x00\x00\x00\x04user\x00\x04pass";
const CONNACK5: &[u8] =
    b"\x20\x35\x00\x00\x32\x22\x00\x0a\x12\x00\x29auto-17236393-B532-03F2-6526-F71115B8A4BE\x21\x00\x14";
/// MQTT 3.1.1 session with a PUBLISH of QoS 3, from mqtt-events-invalid-qos.
const CONNECT4: &[u8] = b"\x10\x2b\x00\x04MQTT\x04\xc2\x00\x3c\x00\x13myvoiceismypassport\x00\x04user\x00\x04pass";
const CONNACK4: &[u8] = b"\x20\x02\x00\x00";
const PUBLISH_QOS3: &[u8] = b"\x36\x1a\x00\x06topicX\x00\x01baabaablacksheep";
const DISCONNECT: &[u8] = b"\xe0\x00";

fn eve(tx: &MqttTx) -> serde_json::Value {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j);
    j.end();
    serde_json::from_slice::<serde_json::Value>(&out).unwrap()["mqtt"].clone()
}

fn buf(tx: &MqttTx, name: &str, ts: bool) -> Vec<String> {
    let i = BUFFERS.iter().position(|b| b.info.name == name).unwrap();
    let mut v = Vec::new();
    tx.buffer(i as u16, ts, &mut |b| {
        v.push(String::from_utf8_lossy(b).into_owned());
        false
    });
    v
}

fn value(tx: &MqttTx, name: &str, arg: &str, ts: bool) -> bool {
    let i = VALUES.iter().position(|v| v.info.name == name).unwrap();
    let a = (VALUES[i].info.parse)(Some(arg)).unwrap();
    tx.value(i as u16, &a, ts, 0)
}

fn events(tx: &MqttTx) -> Vec<&'static str> {
    tx.events().iter().map(|&e| EVENTS[usize::from(e)]).collect()
}

#[test]
fn mqtt5_connect_and_connack_are_one_transaction_in_every_split() {
    for cut in 0..=CONNECT5.len() {
        let mut st = MqttState::new();
        st.parse(true, &CONNECT5[..cut]);
        st.parse(true, &CONNECT5[cut..]);
        st.parse(false, &CONNACK5[..cut.min(CONNACK5.len())]);
        st.parse(false, &CONNACK5[cut.min(CONNACK5.len())..]);
        let txs: Vec<&MqttTx> = st.txs().collect();
        assert_eq!(txs.len(), 1, "cut {cut}");
        let tx = txs[0];
        assert!(tx.record_ready() && tx.events().is_empty(), "cut {cut}");
        assert_eq!(tx.record_to_server(), Some(true));
        let e = eve(tx);
        assert_eq!(e["connect"]["protocol_version"], 5);
        assert_eq!(e["connect"]["protocol_string"], "MQTT");
        assert_eq!(e["connect"]["client_id"], "");
        assert_eq!(e["connect"]["username"], "user");
        assert_eq!(e["connect"]["password"], "pass");
        assert_eq!(e["connect"]["flags"]["clean_session"], true);
        assert_eq!(e["connect"]["properties"]["receive_maximum"], 20);
        assert_eq!(e["connack"]["return_code"], 0);
        assert_eq!(e["connack"]["session_present"], false);
        assert_eq!(e["connack"]["properties"]["topic_alias_maximum"], 10);
        assert_eq!(
            e["connack"]["properties"]["assigned_client_identifier"],
            "auto-17236393-B532-03F2-6526-F71115B8A4BE"
        );
    }
}

#[test]
fn keywords_on_a_connect_transaction() {
    let mut st = MqttState::new();
    st.parse(true, CONNECT5);
    let open = st.txs().next().unwrap();
    // the CONNACK is not there yet: index 1 has no message
    assert!(value(open, "mqtt.type", "CONNECT,0", true));
    assert!(!value(open, "mqtt.type", "CONNACK,1", true));
    st.parse(false, CONNACK5);
    let tx = st.txs().next().unwrap();
    assert!(value(tx, "mqtt.type", "CONNECT,0", false) && value(tx, "mqtt.type", "connack,1", false));
    assert!(value(tx, "mqtt.reason_code", "0", false) && !value(tx, "mqtt.reason_code", "1", false));
    assert!(value(tx, "mqtt.protocol_version", "5", true));
    assert!(value(tx, "mqtt.connect.flags", "username,password,clean_session", true));
    assert!(!value(tx, "mqtt.connect.flags", "will_retain", true));
    assert!(value(tx, "mqtt.connack.session_present", "0", false));
    assert!(value(tx, "mqtt.qos", "0", true) && !value(tx, "mqtt.qos", "1", true));
    assert!(value(tx, "mqtt.flags", "!retain", true));
    assert_eq!(buf(tx, "mqtt.connect.username", true), ["user"]);
    assert_eq!(buf(tx, "mqtt.connect.password", true), ["pass"]);
    assert_eq!(buf(tx, "mqtt.connect.protocol_string", true), ["MQTT"]);
    assert!(buf(tx, "mqtt.connect.clientid", true).is_empty(), "an empty client id is no buffer");
}

#[test]
fn invalid_qos_is_raised_on_the_publish() {
    let mut st = MqttState::new();
    st.parse(true, CONNECT4);
    st.parse(false, CONNACK4);
    st.parse(true, &[PUBLISH_QOS3, DISCONNECT].concat());
    let txs: Vec<&MqttTx> = st.txs().collect();
    assert_eq!(txs.len(), 3);
    assert_eq!(events(txs[1]), ["invalid_qos_level"]);
    assert!(txs[0].events().is_empty() && txs[2].events().is_empty());
    let e = eve(txs[1]);
    assert_eq!(e["publish"]["qos"], 3);
    assert_eq!(e["publish"]["topic"], "topicX");
    assert_eq!(e["publish"]["message_id"], 1);
    assert_eq!(e["publish"]["message"], "baabaablacksheep");
    assert_eq!(buf(txs[1], "mqtt.publish.topic", true), ["topicX"]);
    assert!(eve(txs[2])["disconnect"].is_object());
    assert_eq!(txs[0].version, 4);
}

#[test]
fn answers_without_a_request_and_messages_before_connect() {
    let mut st = MqttState::new();
    // PUBACK 7, SUBACK 3, PINGREQ before any CONNECT
    st.parse(false, b"\x40\x02\x00\x07\x90\x03\x00\x03\x01\xc0\x00");
    let txs: Vec<&MqttTx> = st.txs().collect();
    assert_eq!(events(txs[0]), ["missing_publish", "unintroduced_message"]);
    assert_eq!(events(txs[1]), ["missing_subscribe", "unintroduced_message"]);
    assert_eq!(events(txs[2]), ["unintroduced_message"]);
    assert_eq!(eve(txs[1])["suback"]["qos_granted"], serde_json::json!([1]));
    assert_eq!(txs[1].record_to_server(), Some(false));
}

#[test]
fn subscribe_and_its_suback() {
    let mut st = MqttState::new();
    st.parse(true, CONNECT4);
    st.parse(false, CONNACK4);
    // SUBSCRIBE id 5 (QoS 1 header), topics a/b (qos 1) and c (qos 0); SUBACK 5
    st.parse(true, b"\x82\x0c\x00\x05\x00\x03a/b\x01\x00\x01c\x00");
    let open = st.txs().nth(1).unwrap();
    assert!(!open.record_ready());
    assert_eq!(buf(open, "mqtt.subscribe.topic", true), ["a/b", "c"]);
    st.parse(false, b"\x90\x04\x00\x05\x01\x00");
    let tx = st.txs().nth(1).unwrap();
    assert!(tx.record_ready());
    let e = eve(tx);
    assert_eq!(e["subscribe"]["topics"], serde_json::json!([{"topic":"a/b","qos":1},{"topic":"c","qos":0}]));
    assert_eq!(e["suback"]["qos_granted"], serde_json::json!([1, 0]));
    assert!(value(tx, "mqtt.reason_code", "1,0", false));
}

#[test]
fn oversized_message_is_skipped_and_parsing_goes_on() {
    let mut st = MqttState::new();
    st.parse(true, CONNECT4);
    let len = MAX_MSG_LEN as usize + 1;
    // PUBLISH QoS 0 with remaining length MAX_MSG_LEN + 1 (four-byte length)
    let mut head = vec![0x30];
    let mut n = len;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        head.push(if n > 0 { b | 0x80 } else { b });
        if n == 0 {
            break;
        }
    }
    st.parse(true, &head);
    let chunk = vec![b'x'; 4096];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        st.parse(true, &chunk[..n]);
        left -= n;
    }
    st.parse(true, b"\xc0\x00");
    assert!(st.pending.iter().all(Vec::is_empty), "nothing of the skipped message is buffered");
    let txs: Vec<&MqttTx> = st.txs().collect();
    assert_eq!(txs.len(), 3);
    let e = eve(txs[1]);
    assert_eq!(e["publish"]["truncated"], true);
    assert_eq!(e["publish"]["skipped_length"], len + head.len());
    assert!(eve(txs[2])["pingreq"].is_object());
    assert_eq!(st.stats.truncated, 1);
}

#[test]
fn malformed_length_stops_the_flow_with_an_event() {
    let mut st = MqttState::new();
    st.parse(true, b"\x30\xff\xff\xff\xff\x01");
    assert!(st.failed());
    let txs: Vec<&MqttTx> = st.txs().collect();
    assert_eq!(events(txs[0]), ["malformed_traffic"]);
    st.parse(true, CONNECT4);
    assert_eq!(st.txs().count(), 1, "nothing is parsed after the error");
}

#[test]
fn probe_as_suricata() {
    assert_eq!(probe(CONNECT5), ProbeResult::Found(AppProto::Mqtt));
    assert_eq!(probe(b"\x10"), ProbeResult::NeedMore);
    assert_eq!(probe(b"\x00\x00"), ProbeResult::NotFound);
    assert_eq!(probe(b"\x36\x00"), ProbeResult::NotFound);
    assert_eq!(probe(b"\x30\xff\xff\xff\xff"), ProbeResult::NotFound);
}

#[test]
fn flag_arguments() {
    let t: &[(&str, u8)] = &[("dup", 8), ("retain", 1)];
    let f = parse_flags(Some("dup,!retain"), t).unwrap();
    assert_eq!(f, Flags::Mask { mask: 9, want: 8, neg: false });
    assert!(parse_flags(Some("dup,dup"), t).is_err());
    assert!(parse_flags(Some("nope"), t).is_err());
    assert!(matches!(parse_flags(Some("8"), t), Ok(Flags::Num(_))));
}

#[test]
fn frames_of_each_message() {
    let mut st = MqttState::new();
    st.frames_on = true;
    st.parse_at(true, &[CONNECT4, PUBLISH_QOS3].concat(), 100);
    assert_eq!(
        st.frames,
        [
            (true, 100, 45, 0),
            (true, 100, 2, 1),
            (true, 102, 43, 2),
            (true, 145, 28, 0),
            (true, 145, 2, 1),
            (true, 147, 26, 2)
        ]
    );
}
