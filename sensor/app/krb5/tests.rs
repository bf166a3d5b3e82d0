use super::*;
use crate::app::plugin::Transaction;
use crate::app::values::u32_arg;
use crate::output::eve::Json;

/// An AS-REQ over TCP (with its record mark), then the KDC's KRB-ERROR (PREAUTH_REQUIRED), from
/// a capture of a real exchange.
const AS_REQ: &str = "000000de6a81db3081d8a103020105a20302010aa31530133011a10402020080a20904073005a0030101ffa481b43081b1a00703050040810010a1123010a003020101a10930071b05726f62696ea20c1b0a43594c4552412e4c4142a31f301da003020102a11630141b066b72627467741b0a43594c4552412e4c4142a511180f32303337303931333032343830355aa611180f32303337303931333032343830355aa7060204590a0bb7a81630140201120201170202ff7b0201800201180202ff79a91d301b3019a003020114a112041057533031202020202020202020202020";
const ERR: &str = "000000c27e81bf3081bca003020105a10302011ea411180f32303231303632323039323734305aa505020309e910a603020119a90c1b0a43594c4552412e4c4142aa1f301da003020102a11630141b066b72627467741b0a43594c4552412e4c4142ac620460305e303ba103020113a234043230303018a003020112a1111b0f43594c4552412e4c4142726f62696e3005a0030201173006a0040202ff7b3005a0030201803009a103020102a20204003009a103020110a20204003009a10302010fa2020400";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn eve(tx: &Krb5Tx) -> serde_json::Value {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j);
    j.end();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn tcp_request_and_error_in_every_split_give_suricatas_records() {
    let (req, err) = (hex(AS_REQ), hex(ERR));
    for split in 0..req.len() {
        let mut st = Krb5State::default();
        st.parse_tcp(true, &req[..split]);
        st.parse_tcp(true, &req[split..]);
        st.parse_tcp(false, &err);
        let txs: Vec<&Krb5Tx> = st.txs().collect();
        assert_eq!(txs.len(), 2, "split {split}");
        assert_eq!(
            eve(txs[0])["krb5"],
            serde_json::json!({"msg_type": "KRB_AS_REQ", "cname": "robin", "realm": "CYLERA.LAB",
                "sname": "krbtgt/CYLERA.LAB", "encryption": "<none>", "weak_encryption": false})
        );
        assert_eq!(
            eve(txs[1])["krb5"],
            serde_json::json!({"msg_type": "KRB_ERROR", "failed_request": "KRB_AS_REQ",
                "error_code": "KDC_ERR_PREAUTH_REQUIRED", "cname": "<empty>", "realm": "<empty>",
                "sname": "krbtgt/CYLERA.LAB", "encryption": "<none>", "weak_encryption": false})
        );
        assert_eq!(txs[1].error_code, Some(25));
        assert!(txs[0].direction() == Some(true) && txs[1].direction() == Some(false));
    }
}

#[test]
fn probes_and_udp_messages() {
    let req = hex(AS_REQ);
    assert_eq!(probe_tcp(&req), ProbeResult::Found(AppProto::Krb5));
    assert_eq!(probe_udp(&req[4..]), ProbeResult::Found(AppProto::Krb5));
    assert_eq!(probe_udp(b"\x30\x82\x01\x00 not kerberos"), ProbeResult::NotFound);
    assert_eq!(probe_tcp(&[0xff; 20]), ProbeResult::NotFound);
    let mut st = Krb5State::default();
    assert!(st.parse_message(true, &req[4..]));
    assert!(!st.parse_message(true, &[0x6a, 0x85]), "a length of 5 bytes is not BER");
    assert_eq!(st.stats.malformed, 1);
    assert_eq!(st.txs().next().map(|t| t.events()), Some(&[EV_MALFORMED][..]));
}

#[test]
fn keywords() {
    let mut st = Krb5State::default();
    st.parse_tcp(true, &hex(AS_REQ));
    st.parse_tcp(false, &hex(ERR));
    let txs: Vec<&Krb5Tx> = st.txs().collect();
    let val = |name: &str, arg: &str, tx: &Krb5Tx| {
        let i = detect::VALUES.iter().position(|v| v.info.name == name).unwrap();
        let a = (detect::VALUES[i].info.parse)(Some(arg)).unwrap();
        tx.value(i as u16, &a, true, 0)
    };
    assert!(val("krb5_msg_type", "AS_REQ", txs[0]) && val("krb5_msg_type", "!as_req", txs[1]));
    assert!(val("krb5_msg_type", "30", txs[1]) && !val("krb5_msg_type", "10", txs[1]));
    assert!(val("krb5_err_code", "25", txs[1]) && val("krb5_err_code", "!0", txs[1]));
    assert!(!val("krb5_err_code", "!0", txs[0]), "no error code, no match");
    assert!(!val("krb5.ticket_encryption", "weak", txs[0]));
    assert!((detect::VALUES[2].info.parse)(Some("nope")).is_err());
    assert!(u32_arg(Some("x")).is_err());
    let mut names = Vec::new();
    txs[0].buffer(1, true, &mut |b| {
        names.push(b.to_vec());
        false
    });
    assert_eq!(names, [b"krbtgt".to_vec(), b"CYLERA.LAB".to_vec()]);
}

#[test]
fn weak_ciphers_and_bounds() {
    assert!(weak(23) && weak(3) && !weak(18) && !weak(26));
    // a record mark past the cap is skipped and counted, then parsing resumes
    let mut st = Krb5State::default();
    let big = (MAX_RECORD as u32 + 1).to_be_bytes();
    st.parse_tcp(true, &big);
    st.parse_tcp(true, &vec![0u8; MAX_RECORD + 1]);
    st.parse_tcp(true, &hex(AS_REQ));
    assert_eq!(st.stats.record_too_large, 1);
    assert_eq!(st.txs().count(), 1);
    // transactions are capped
    let req = hex(AS_REQ);
    for _ in 0..MAX_TXS + 5 {
        st.parse_message(true, &req[4..]);
    }
    assert_eq!(st.txs().count(), MAX_TXS);
    assert_eq!(st.stats.tx_evicted, 6);
}
