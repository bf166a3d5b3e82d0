use super::detect::{BUFFERS, VALUES};
use super::*;
use crate::app::plugin::Transaction;
use crate::output::eve::Json;

/// A BER value: tag byte, then the length (long form past 127) and the content.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else {
        let b = (n as u32).to_be_bytes();
        let skip = b.iter().take_while(|&&x| x == 0).count();
        v.push(0x80 | (4 - skip) as u8);
        v.extend_from_slice(&b[skip..]);
    }
    v.extend_from_slice(content);
    v
}

fn msg(id: u8, op: Vec<u8>) -> Vec<u8> {
    tlv(0x30, &[tlv(0x02, &[id]), op].concat())
}

fn bind_req(id: u8, name: &str) -> Vec<u8> {
    msg(id, tlv(0x60, &[tlv(0x02, &[3]), tlv(0x04, name.as_bytes()), tlv(0x80, b"secret")].concat()))
}

fn result(code: u8, dn: &str, text: &str) -> Vec<u8> {
    [tlv(0x0a, &[code]), tlv(0x04, dn.as_bytes()), tlv(0x04, text.as_bytes())].concat()
}

/// A search request whose filter is `filter` (already encoded).
fn search_req(id: u8, base: &str, filter: Vec<u8>) -> Vec<u8> {
    let attrs = tlv(0x30, &[tlv(0x04, b"cn"), tlv(0x04, b"mail")].concat());
    let body = [
        tlv(0x04, base.as_bytes()),
        tlv(0x0a, &[2]),
        tlv(0x0a, &[0]),
        tlv(0x02, &[0]),
        tlv(0x02, &[0]),
        tlv(0x01, &[0]),
        filter,
        attrs,
    ]
    .concat();
    msg(id, tlv(0x63, &body))
}

fn present(attr: &str) -> Vec<u8> {
    tlv(0x87, attr.as_bytes())
}

fn entry(id: u8, dn: &str) -> Vec<u8> {
    let attr = tlv(0x30, &[tlv(0x04, b"cn"), tlv(0x31, &tlv(0x04, b"Babs \xff"))].concat());
    msg(id, tlv(0x64, &[tlv(0x04, dn.as_bytes()), tlv(0x30, &attr)].concat()))
}

fn eve(tx: &LdapTx) -> serde_json::Value {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j);
    j.end();
    serde_json::from_slice::<serde_json::Value>(&out).unwrap()["ldap"].clone()
}

fn buf(tx: &LdapTx, name: &str) -> Vec<String> {
    let i = BUFFERS.iter().position(|b| b.info.name == name).unwrap();
    let mut v = Vec::new();
    tx.buffer(i as u16, true, &mut |b| {
        v.push(String::from_utf8_lossy(b).into_owned());
        false
    });
    v
}

fn value(tx: &LdapTx, name: &str, arg: &str) -> bool {
    let i = VALUES.iter().position(|v| v.info.name == name).unwrap();
    let a = (VALUES[i].info.parse)(Some(arg)).unwrap();
    tx.value(i as u16, &a, false, 0)
}

fn events(tx: &LdapTx) -> Vec<&'static str> {
    tx.events().iter().map(|&e| EVENTS[usize::from(e)]).collect()
}

#[test]
fn a_search_and_its_entries_are_one_transaction_in_every_split() {
    let req = [bind_req(1, "cn=admin,dc=example"), search_req(2, "dc=example", present("objectClass"))].concat();
    let resp = [
        msg(1, tlv(0x61, &result(0, "", ""))),
        entry(2, "uid=bjensen,dc=example"),
        entry(2, "uid=other,dc=example"),
        msg(2, tlv(0x65, &result(0, "", ""))),
    ]
    .concat();
    for cut in 0..=req.len().max(resp.len()) {
        let mut st = LdapState::new(false);
        let (a, b) = req.split_at(cut.min(req.len()));
        st.parse(true, a);
        st.parse(true, b);
        assert_eq!(st.txs().count(), 2, "cut {cut}");
        assert!(st.txs().all(|t| !t.record_ready()), "cut {cut}");
        let (a, b) = resp.split_at(cut.min(resp.len()));
        st.parse(false, a);
        st.parse(false, b);
        let txs: Vec<&LdapTx> = st.txs().collect();
        assert_eq!(txs.len(), 2, "cut {cut}");
        assert!(txs.iter().all(|t| t.record_ready() && t.events().is_empty()), "cut {cut}");
        assert_eq!(txs[1].responses.len(), 3, "cut {cut}");
    }
    let mut st = LdapState::new(false);
    st.parse(true, &req);
    st.parse(false, &resp);
    let txs: Vec<&LdapTx> = st.txs().collect();
    let bind = eve(txs[0]);
    assert_eq!(bind["request"]["operation"], "bind_request");
    assert_eq!(bind["request"]["bind_request"], serde_json::json!({"version": 3, "name": "cn=admin,dc=example"}));
    assert_eq!(
        bind["responses"],
        serde_json::json!([{"operation": "bind_response",
            "bind_response": {"result_code": "success", "matched_dn": "", "message": ""}}])
    );
    let search = eve(txs[1]);
    assert_eq!(search["request"]["message_id"], 2);
    let sr = &search["request"]["search_request"];
    assert_eq!(sr["base_object"], "dc=example");
    assert_eq!((sr["scope"].as_u64(), sr["deref_alias"].as_u64()), (Some(2), Some(0)));
    assert_eq!(sr["filter"], serde_json::json!({"type": "present", "value": "objectClass"}));
    assert_eq!(sr["attributes"], serde_json::json!(["cn", "mail"]));
    let r = &search["responses"];
    assert_eq!(r[0]["operation"], "search_result_entry");
    assert_eq!(r[0]["search_result_entry"]["base_object"], "uid=bjensen,dc=example");
    // a value that is not UTF-8 is written as Suricata writes it
    assert_eq!(r[0]["search_result_entry"]["attributes"][0]["values"][0], "Babs \\xff");
    assert_eq!(r[2]["search_result_done"]["result_code"], "success");
    assert!(r[0].get("message_id").is_none());
}

#[test]
fn keywords_read_requests_and_responses() {
    let mut st = LdapState::new(false);
    st.parse(true, &search_req(7, "dc=example", present("objectClass")));
    st.parse(false, &[entry(7, "uid=a,dc=example"), msg(7, tlv(0x65, &result(32, "dc=ex", "no such")))].concat());
    let tx = st.txs().next().unwrap();
    assert_eq!(buf(tx, "ldap.request.dn"), ["dc=example"]);
    assert_eq!(buf(tx, "ldap.request.attribute_type"), ["cn", "mail"]);
    assert_eq!(buf(tx, "ldap.responses.dn"), ["uid=a,dc=example", "dc=ex"]);
    assert_eq!(buf(tx, "ldap.responses.attribute_type"), ["cn"]);
    // Suricata takes no message from a search's done
    assert_eq!(buf(tx, "ldap.responses.message"), ["", ""]);
    assert!(value(tx, "ldap.request.operation", "search_request") && value(tx, "ldap.request.operation", "3"));
    assert!(!value(tx, "ldap.request.operation", "bind_request"));
    assert!(value(tx, "ldap.responses.operation", "search_result_done,1"));
    assert!(!value(tx, "ldap.responses.operation", "search_result_done,0"));
    assert!(value(tx, "ldap.responses.count", "2") && !value(tx, "ldap.responses.count", ">2"));
    assert!(value(tx, "ldap.responses.result_code", "no_such_object"));
    assert!(value(tx, "ldap.responses.result_code", "32,-1") && !value(tx, "ldap.responses.result_code", "success"));
    assert!((VALUES[0].info.parse)(Some("nope")).is_err());
}

#[test]
fn orphan_responses_invalid_data_and_udp() {
    let mut st = LdapState::new(false);
    st.parse(false, &msg(9, tlv(0x61, &result(49, "", "bad"))));
    // an unsolicited notification has no request either, and is no anomaly
    st.parse(false, &msg(0, tlv(0x78, &result(52, "", "bye"))));
    let txs: Vec<&LdapTx> = st.txs().collect();
    assert_eq!(events(txs[0]), ["request_not_found"]);
    assert!(txs[1].events().is_empty());
    let e = eve(txs[0]);
    assert_eq!(e["responses"][0]["message_id"], 9);
    assert_eq!(e["responses"][0]["bind_response"]["result_code"], "invalid_credentials");
    st.parse(true, &bind_req(1, "x"));
    st.parse(true, b"\x30\x03\x02\x01"); // incomplete: waits
    assert!(!st.failed());
    st.parse(true, b"\x01"); // a message without an operation
    assert!(st.failed() && st.stats.invalid == 1);
    assert_eq!(events(st.txs().last().unwrap()), ["invalid_data"]);
    assert!(st.txs().all(|t| t.record_ready()), "an error completes every transaction");

    let mut u = LdapState::new(true);
    u.parse(true, &search_req(3, "", present("objectClass")));
    u.parse(false, &[entry(3, "dc=a"), msg(3, tlv(0x65, &result(0, "", "")))].concat());
    let tx = u.txs().next().unwrap();
    assert!(tx.record_ready() && tx.responses.len() == 2);
    u.parse(true, &bind_req(4, "x")[..6]);
    assert_eq!(events(u.txs().last().unwrap()), ["incomplete_data"]);
}

#[test]
fn a_gap_needs_a_whole_message_after_it() {
    let mut st = LdapState::new(false);
    st.parse(true, &bind_req(1, "a"));
    st.gap(true);
    st.parse(true, &bind_req(2, "b"));
    assert_eq!(st.txs().count(), 2);
    st.gap(true);
    st.parse(true, &bind_req(3, "c")[3..]);
    assert!(st.failed());
    assert_eq!(st.txs().count(), 2);
}

#[test]
fn starttls_hands_the_flow_to_tls() {
    let mut st = LdapState::new(false);
    let ext = msg(1, tlv(0x77, &tlv(0x80, STARTTLS_OID.as_bytes())));
    st.parse(true, &ext);
    st.parse(false, &[msg(1, tlv(0x78, &result(0, "", ""))), b"\x16\x03\x01".to_vec()].concat());
    assert_eq!(st.upgrade, Some(3));
    assert_eq!(st.stats.starttls, 1);
    let tx = st.txs().next().unwrap();
    assert_eq!(eve(tx)["request"]["extended_request"]["name"], STARTTLS_OID);
}

/// A search whose filter nests `depth` `not`s around a present filter.
fn nested(depth: usize) -> Vec<u8> {
    let mut f = present("objectClass");
    for _ in 0..depth {
        f = tlv(0xa2, &f);
    }
    search_req(5, "", f)
}

#[test]
fn deep_filters_decode_up_to_the_limit_on_a_quarter_of_the_worker_stack() {
    // the message and search request add 2 levels
    let ok = nested(MAX_DEPTH - 2);
    let t = std::thread::Builder::new().stack_size(512 << 10).spawn(move || {
        let mut st = LdapState::new(false);
        st.parse(true, &ok);
        st.txs().count()
    });
    assert_eq!(t.unwrap().join().unwrap(), 1);
    let mut st = LdapState::new(false);
    st.parse(true, &nested(MAX_DEPTH + 10));
    assert!(st.failed() && st.stats.oversized == 1);
    assert_eq!(probe(&nested(3)), ProbeResult::Found(AppProto::Ldap));
    assert_eq!(probe(&nested(3)[..10]), ProbeResult::NeedMore);
    assert_eq!(probe(b"GET / HTTP/1.1\r\n"), ProbeResult::NotFound);
}

#[test]
fn too_many_responses_are_counted_and_dropped() {
    let mut st = LdapState::new(false);
    st.parse(true, &search_req(2, "", present("cn")));
    let e = entry(2, "dc=a");
    let many = e.repeat(MAX_RESPONSES + 3);
    st.parse(false, &many);
    let tx = st.txs().next().unwrap();
    assert_eq!(tx.responses.len(), MAX_RESPONSES);
    assert_eq!(events(tx), ["too_many_responses"]);
    assert_eq!(st.stats.responses_dropped, 3);
}
