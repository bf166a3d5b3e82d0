use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A v4 client request and a v4 server reply (reference LOCL), from a capture.
const REQ: &str = "230000000000000000000000000000000000000000000000000000000000000000000000000000001857abc34a5f2cfe";
const REP: &str = "2402000000000000000000004c4f434c0000000000000000000000000000000000000000000000001857abc34a5f2cff";

#[test]
fn packets_keywords_and_record() {
    let mut st = NtpState::default();
    assert!(st.parse_packet(true, &hex(REQ)));
    assert!(st.parse_packet(false, &hex(REP)));
    let txs: Vec<&NtpTx> = st.txs().collect();
    let val = |name: &str, arg: &str, tx: &NtpTx| {
        let i = VALUES.iter().position(|v| v.info.name == name).unwrap();
        let a = (VALUES[i].info.parse)(Some(arg)).unwrap();
        tx.value(i as u16, &a, true, 0)
    };
    assert!(val("ntp.version", "4", txs[0]) && val("ntp.mode", "client", txs[0]) && val("ntp.mode", "!server", txs[0]));
    assert!(
        val("ntp.mode", "server", txs[1]) && val("ntp.stratum", ">=2", txs[1]) && !val("ntp.stratum", "<2", txs[1])
    );
    let mut got = Vec::new();
    txs[1].buffer(0, false, &mut |b| {
        got = b.to_vec();
        true
    });
    assert_eq!(got, b"LOCL");
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    txs[1].write_eve(&mut j);
    j.end();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()["ntp"],
        serde_json::json!({"version": 4, "mode": 4, "stratum": 2, "reference_id": "4c:4f:43:4c"})
    );
}

#[test]
fn probe_and_garbage() {
    assert_eq!(probe(&hex(REQ)), ProbeResult::Found(AppProto::Ntp));
    assert_ne!(probe(b"\x0b short"), ProbeResult::Found(AppProto::Ntp));
    let mut st = NtpState::default();
    assert!(!st.parse_packet(true, &[0x43; 10]));
    assert_eq!(st.stats.malformed, 1);
}
