use super::*;
use crate::app::plugin::Transaction;
use crate::output::eve::Json;

/// An IKE_SA_INIT request with two proposals (many weak transforms), from a capture.
const INIT: &str = include_str!("testdata_init.hex");
/// Its answer: the responder's SA, KE, nonce and NAT detection notifies.
const RESP: &str = include_str!("testdata_resp.hex");
/// The responder asks for a cookie.
const COOKIE: &str =
    "b64ef32131a4895200000000000000002920222000000000000000340000001800004006000155739f613a70f771484cb7a6aa3f";
/// An IKEv1 informational exchange carrying two notifications.
const V1_INFO: &str = "000000000000000000000000000000000b1005000a3f615e000000540b00001c0000000101100005000000000000000000000000000000000000001c000000010110000700000000000000000000000000000000";

fn hex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn eve(tx: &IkeTx) -> serde_json::Value {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j);
    j.end();
    serde_json::from_slice::<serde_json::Value>(&out).unwrap()["ike"].clone()
}

fn names(tx: &IkeTx) -> Vec<&'static str> {
    tx.events().iter().map(|&e| EVENTS[usize::from(e)]).collect()
}

#[test]
fn ikev2_exchange_gives_suricatas_records_and_events() {
    let mut st = IkeState::default();
    assert!(st.parse(true, &hex(INIT), false));
    assert!(st.parse(false, &hex(COOKIE), false));
    // the cookie request still has no responder SPI: Suricata's probe of the to-client side
    // reverses the flow, the initiator's proposals count as the choice from now on
    assert!(st.reversed);
    assert!(st.parse(true, &hex(INIT), false));
    assert!(st.parse(false, &hex(RESP), false));
    let txs: Vec<&IkeTx> = st.txs().collect();
    assert_eq!(
        eve(txs[0]),
        serde_json::json!({"_v": 2, "version_major": 2, "version_minor": 0, "init_spi": "b64ef32131a48952",
            "resp_spi": "0000000000000000", "message_id": 0, "exchange_type": 34, "role": "initiator",
            "payload": ["SecurityAssociation", "KeyExchange", "Nonce", "Notify", "Notify", "NoNextPayload"],
            "ikev2": {"errors": 0, "notify": ["NAT_DETECTION_SOURCE_IP", "NAT_DETECTION_DESTINATION_IP"]}})
    );
    // each weak transform of each proposal, in order, as Suricata raises them
    assert_eq!(
        names(txs[0]),
        [
            "weak_crypto_auth",
            "weak_crypto_prf",
            "weak_crypto_dh",
            "weak_crypto_dh",
            "weak_crypto_enc",
            "weak_crypto_auth",
            "weak_crypto_auth",
            "weak_crypto_auth",
            "weak_crypto_prf",
            "weak_crypto_prf",
            "weak_crypto_dh",
            "weak_crypto_dh",
            "weak_crypto_dh"
        ]
    );
    assert_eq!(
        eve(txs[1]),
        serde_json::json!({"_v": 2, "version_major": 2, "version_minor": 0, "init_spi": "b64ef32131a48952",
            "resp_spi": "0000000000000000", "message_id": 0, "exchange_type": 34, "role": "responder",
            "alg_enc": "ENCR_NULL", "alg_auth": "NONE", "alg_prf": "PRF_NULL", "alg_dh": "None", "alg_esn": "NoESN",
            "payload": ["Notify", "NoNextPayload"], "ikev2": {"errors": 0, "notify": ["COOKIE"]}})
    );
    assert_eq!(eve(txs[2])["role"], "initiator");
    let r = eve(txs[3]);
    assert_eq!(r["role"], "responder");
    assert_eq!(r["resp_spi"], "86babd3904886955");
    assert_eq!(
        (&r["alg_enc"], &r["alg_auth"], &r["alg_prf"], &r["alg_dh"], &r["alg_esn"]),
        (
            &serde_json::json!("ENCR_AES_GCM_16"),
            &serde_json::json!("AUTH_HMAC_SHA2_512_256"),
            &serde_json::json!("PRF_HMAC_SHA2_512"),
            &serde_json::json!("BrainpoolP512r1"),
            &serde_json::json!("NoESN")
        )
    );
    assert_eq!(names(txs[3]), ["weak_crypto_prf", "weak_crypto_auth", "weak_crypto_dh"]);
    assert_eq!(txs[3].direction(), Some(false));
    assert_eq!(txs[3].record_to_server(), Some(false), "the record's source is the responder");
}

#[test]
fn without_reversal_the_responder_chooses() {
    let mut st = IkeState::default();
    st.parse(true, &hex(INIT), false);
    st.parse(false, &hex(RESP), false);
    assert!(!st.reversed);
    let txs: Vec<&IkeTx> = st.txs().collect();
    let r = eve(txs[1]);
    assert_eq!(
        (&r["alg_enc"], &r["alg_prf"], &r["alg_dh"]),
        (&serde_json::json!("ENCR_AES_CBC"), &serde_json::json!("PRF_HMAC_SHA1"), &serde_json::json!("Modp1024"))
    );
}

#[test]
fn keywords_on_ikev2_transactions() {
    let mut st = IkeState::default();
    st.parse(true, &hex(INIT), false);
    st.parse(false, &hex(RESP), false);
    let txs: Vec<&IkeTx> = st.txs().collect();
    let val = |name: &str, arg: &str, tx: &IkeTx| {
        let i = detect::VALUES.iter().position(|v| v.info.name == name).unwrap();
        let a = (detect::VALUES[i].info.parse)(Some(arg)).unwrap();
        tx.value(i as u16, &a, true, 0)
    };
    assert!(val("ike.exchtype", "34", txs[0]) && !val("ike.exchtype", "35", txs[0]));
    // the responder chose ENCR_AES_CBC (12), PRF_HMAC_SHA1 (2), MODP 1024 (2)
    assert!(val("ike.chosen_sa_attribute", "alg_enc=12", txs[1]));
    assert!(
        val("ike.chosen_sa_attribute", "alg_prf=2", txs[1]) && !val("ike.chosen_sa_attribute", "alg_dh!=2", txs[1])
    );
    assert!(!val("ike.chosen_sa_attribute", "alg_enc=12", txs[0]), "the initiator chose nothing");
    assert!((detect::VALUES[1].info.parse)(Some("nope=1")).is_err());
    let buf = |i: u16, tx: &IkeTx| {
        let mut got = Vec::new();
        tx.buffer(i, true, &mut |b| {
            got.push(b.to_vec());
            false
        });
        got
    };
    assert_eq!(buf(0, txs[1]), [b"b64ef32131a48952".to_vec()]);
    assert_eq!(buf(1, txs[1]), [b"86babd3904886955".to_vec()]);
    assert!(buf(3, txs[1]).is_empty(), "key_exchange_payload is IKEv1's");
}

#[test]
fn ikev1_informational_and_nat_traversal() {
    let mut st = IkeState::default();
    assert!(st.parse(true, &hex(V1_INFO), false));
    let tx = st.txs().next().unwrap();
    assert_eq!(
        eve(tx),
        serde_json::json!({"_v": 2, "version_major": 1, "version_minor": 0, "init_spi": "0000000000000000",
            "resp_spi": "0000000000000000", "message_id": 171925854, "exchange_type": 5,
            "payload": ["Notification"], "ikev1": {"encrypted_payloads": false, "client": {}}})
    );
    // port 4500: behind the non-ESP marker; without it, ESP (skipped and counted)
    let mut st = IkeState::default();
    let mut m = vec![0, 0, 0, 0];
    m.extend(hex(INIT));
    assert!(st.parse(true, &m, true));
    assert!(!st.parse(true, &hex(INIT), true));
    assert!(!st.parse(true, &[0xff], true), "a NAT keepalive");
    assert_eq!((st.stats.messages, st.stats.esp), (1, 1));
    assert_eq!(probe(&m), ProbeResult::Found(AppProto::Ike));
}

/// An IKEv1 main mode proposal: SA (DOI 1) with one proposal of two transforms, a key
/// exchange, a nonce and a vendor id.
fn v1_main_mode(to_server_transforms: usize, resp_spi: u64) -> Vec<u8> {
    let attrs: &[u8] =
        &[0x80, 0x01, 0x00, 0x07, 0x80, 0x02, 0x00, 0x02, 0x80, 0x04, 0x00, 0x02, 0x80, 0x0e, 0x00, 0x80];
    let mut transforms = Vec::new();
    for i in 0..to_server_transforms {
        let last = i + 1 == to_server_transforms;
        let len = 8 + attrs.len();
        transforms.extend([if last { 0 } else { 3 }, 0, 0, len as u8, i as u8 + 1, 1, 0, 0]);
        transforms.extend(attrs);
    }
    let mut proposal = vec![0, 0, 0, 0, 1, 1, 0, to_server_transforms as u8];
    proposal.extend(&transforms);
    let plen = proposal.len() as u16;
    proposal[2..4].copy_from_slice(&plen.to_be_bytes());
    let mut sa = vec![4, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
    sa.extend(&proposal);
    let salen = sa.len() as u16;
    sa[2..4].copy_from_slice(&salen.to_be_bytes());
    let mut body = sa;
    body.extend([10, 0, 0, 8, 0xaa, 0xbb, 0xcc, 0xdd]); // KE
    body.extend([13, 0, 0, 7, 0x01, 0x02, 0x03]); // nonce
    body.extend([0, 0, 0, 6, 0xaf, 0xca]); // vendor id
    let mut m = Vec::new();
    m.extend(0x1122334455667788u64.to_be_bytes());
    m.extend(resp_spi.to_be_bytes());
    m.extend([1, 0x10, 2, 0]);
    m.extend(0u32.to_be_bytes());
    m.extend(((28 + body.len()) as u32).to_be_bytes());
    m.extend(body);
    m
}

#[test]
fn ikev1_main_mode_attributes_and_keywords() {
    let mut st = IkeState::default();
    assert!(st.parse(true, &v1_main_mode(2, 0), false));
    let tx = st.txs().next().unwrap();
    let r = eve(tx);
    assert_eq!(r["ikev1"]["doi"], 1);
    assert_eq!(r["ikev1"]["client"]["key_exchange_payload"], "aabbccdd");
    assert_eq!(r["ikev1"]["client"]["key_exchange_payload_length"], 4);
    assert_eq!(r["ikev1"]["client"]["nonce_payload_length"], 3);
    assert_eq!(r["ikev1"]["vendor_ids"], serde_json::json!(["afca"]));
    assert_eq!(r["ikev1"]["client"]["proposals"].as_array().map(|a| a.len()), Some(8));
    assert_eq!(
        r["ikev1"]["client"]["proposals"][0],
        serde_json::json!({"key": "alg_enc", "value": "EncAesCbc", "raw": 7})
    );
    assert_eq!(
        r["payload"],
        serde_json::json!(["SecurityAssociation", "Proposal", "Transform", "KeyExchange", "Nonce", "VendorID"])
    );
    assert!(r.get("attributes").is_none(), "no server transform yet");
    let val = |name: &str, arg: &str| {
        let i = detect::VALUES.iter().position(|v| v.info.name == name).unwrap();
        let a = (detect::VALUES[i].info.parse)(Some(arg)).unwrap();
        tx.value(i as u16, &a, true, 0)
    };
    assert!(val("ike.chosen_sa_attribute", "alg_hash=2") && !val("ike.chosen_sa_attribute", "alg_dh=5"));
    assert!(val("ike.key_exchange_payload_length", "4") && val("ike.nonce_payload_length", ">2"));
    let mut vendors = Vec::new();
    tx.buffer(2, true, &mut |b| {
        vendors.push(b.to_vec());
        false
    });
    assert_eq!(vendors, [b"afca".to_vec()]);
    // the server answers with two transforms: the event goes to the transaction before
    assert!(st.parse(false, &v1_main_mode(2, 0x99), false));
    assert!(!st.reversed);
    let txs: Vec<&IkeTx> = st.txs().collect();
    assert_eq!(names(txs[0]), ["multiple_server_proposal"]);
    let r = eve(txs[1]);
    assert_eq!(r["attributes"].as_array().map(|a| a.len()), Some(4));
    // an answer still without a responder SPI is what Suricata's probe reverses the flow for
    let mut other = IkeState::default();
    other.parse(true, &v1_main_mode(1, 0), false);
    other.parse(false, &v1_main_mode(1, 0), false);
    assert!(other.reversed);
    let r = eve(txs[1]);
    assert_eq!(r["server_proposals"].as_array().map(|a| a.len()), Some(8));
    assert_eq!(r["ikev1"]["server"]["nonce_payload"], "010203");
}

#[test]
fn every_split_and_truncation_is_safe() {
    for msg in [hex(INIT), hex(RESP), hex(V1_INFO), v1_main_mode(3, 0)] {
        for cut in 0..=msg.len() {
            let mut st = IkeState::default();
            let (a, b) = msg.split_at(cut);
            st.parse(true, a, false);
            st.parse(false, b, false);
            for tx in st.txs() {
                let _ = eve(tx);
            }
            let _ = probe(a);
        }
    }
    let mut st = IkeState::default();
    assert!(!st.parse(true, b"short", false));
    let mut v3 = hex(V1_INFO);
    v3[17] = 0x30;
    assert!(!st.parse(true, &v3, false), "major version 3");
    assert_eq!(st.stats.malformed, 2);
    for _ in 0..MAX_TXS + 2 {
        st.parse(true, &hex(V1_INFO), false);
    }
    assert_eq!(st.txs().count(), MAX_TXS);
    assert_eq!(st.stats.tx_evicted, 2);
}
