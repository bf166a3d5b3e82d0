use super::*;
use crate::app::plugin::Transaction;
use crate::output::eve::Json;

/// SNMPv2c from a capture: a get-next request, its response, a get request.
const GET_NEXT: &str = "3027020101040b5b52305f4340637469215da11502042b133f85020100020100300730050601010500";
const RESPONSE: &str =
    "3031020101040b5b52305f4340637469215da21f02042b133f850201000201003011300f060a28c46201010101010100020102";
const GET: &str = "302e020101040b5b52305f4340637469215da01c020421182cd7020100020100300e300c06082b060102010103000500";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn eve(tx: &SnmpTx) -> serde_json::Value {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j);
    j.end();
    serde_json::from_slice::<serde_json::Value>(&out).unwrap()["snmp"].clone()
}

#[test]
fn v2c_messages_give_suricatas_records_and_keywords() {
    let mut st = SnmpState::default();
    assert!(st.parse(true, &hex(GET_NEXT)));
    assert!(st.parse(false, &hex(RESPONSE)));
    assert!(st.parse(true, &hex(GET)));
    let txs: Vec<&SnmpTx> = st.txs().collect();
    assert_eq!(txs.len(), 3);
    assert_eq!(txs[0].pdu_type_name().as_deref(), Some("get_next_request"));
    assert_eq!(txs[1].direction(), Some(false));
    assert_eq!(
        eve(txs[2]),
        serde_json::json!({"version": 2, "pdu_type": "get_request", "vars": ["1.3.6.1.2.1.1.3.0"],
            "community": "[R0_C@cti!]"})
    );
    let val = |name: &str, arg: &str, tx: &SnmpTx| {
        let i = detect::VALUES.iter().position(|v| v.info.name == name).unwrap();
        let a = (detect::VALUES[i].info.parse)(Some(arg)).unwrap();
        tx.value(i as u16, &a, true, 0)
    };
    assert!(val("snmp.pdu_type", "get_next_request", txs[0]) && val("snmp.pdu_type", "1", txs[0]));
    assert!(!val("snmp.pdu_type", "get_next_request", txs[2]));
    assert!(val("snmp.version", "2", txs[0]) && !val("snmp.trap_type", "0", txs[0]));
    let mut got = Vec::new();
    txs[0].buffer(0, true, &mut |b| {
        got = b.to_vec();
        true
    });
    assert_eq!(got, b"[R0_C@cti!]");
}

#[test]
fn probe_and_malformed_input() {
    assert_eq!(probe(&hex(GET)), ProbeResult::Found(AppProto::Snmp));
    assert_eq!(envelope_version(&hex(GET)), Ok(2));
    assert_eq!(probe(&hex(GET)[..20]), ProbeResult::NeedMore);
    assert_eq!(probe(b"\x30\x03\x02\x01\x07"), ProbeResult::NotFound);
    assert_eq!(probe(b"GET / HTTP/1.1"), ProbeResult::NotFound);
    let mut st = SnmpState::default();
    assert!(st.parse(true, &hex(GET)));
    let mut bad = hex(GET);
    bad.truncate(30);
    assert!(!st.parse(true, &bad));
    assert_eq!(st.stats.malformed, 1);
    assert_eq!(st.txs().next().map(|t| t.events()), Some(&[EV_MALFORMED][..]));
    for _ in 0..MAX_TXS + 1 {
        st.parse(true, &hex(GET));
    }
    assert_eq!(st.txs().count(), MAX_TXS);
}
