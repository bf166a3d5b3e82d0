use super::*;
use crate::output::eve::Json;

fn eve(tx: &Pop3Tx) -> serde_json::Value {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j);
    j.end();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v["pop3"].clone()
}

fn records(st: &Pop3State) -> Vec<serde_json::Value> {
    st.txs().map(eve).collect()
}

fn names(tx: &Pop3Tx) -> Vec<&'static str> {
    tx.events.as_slice().iter().map(|&e| EVENTS[usize::from(e)]).collect()
}

#[test]
fn a_session_reads_as_suricata_logs_it() {
    let mut st = Pop3State::new();
    st.parse(false, b"+OK POP server ready H mimap15\r\n");
    st.parse(true, b"CAPA\r\n");
    // a multi-line answer split mid-line waits for its end marker
    st.parse(false, b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSA");
    assert_eq!(st.txs().count(), 2);
    assert!(st.txs().nth(1).unwrap().response.is_none());
    st.parse(false, b"SL PLAIN\r\n.\r\n");
    st.parse(true, b"AUTH PLAIN\r\n");
    st.parse(false, b"+ \r\n");
    st.parse(true, b"AGRpZ2l0YWwAcGFzcw==\r\n");
    st.parse(false, b"+OK mailbox has 3 messages (19191 octets)\r\n");
    st.parse(true, b"LIST\r\n");
    st.parse(false, b"+OK\r\n1 5565\r\n2 8412\r\n.\r\n");
    st.parse(true, b"RETR 1\r\n");
    // the body is skipped by its announced size, even where it holds an end marker
    st.parse(false, b"+OK 15 octets\r\nHi.\r\n.\r\n");
    st.parse(false, b"there\r\n.\r\n");
    st.parse(true, b"QUIT\r\n");
    // as Suricata's: the RETR keeps waiting for a response, so the next answer is read as
    // its multi-line one and waits for an end marker
    st.parse(false, b"+OK bye\r\n");
    let r = records(&st);
    assert_eq!(r.len(), 7, "{r:?}");
    assert_eq!(
        r[0],
        serde_json::json!({"response":{"success":true,"status":"OK","header":"POP server ready H mimap15","data":[]}})
    );
    assert_eq!(
        r[1],
        serde_json::json!({"request":{"command":"CAPA","args":[]},
            "response":{"success":true,"status":"OK","header":"Capability list follows","data":["TOP","USER","SASL PLAIN"]}})
    );
    assert_eq!(
        r[2],
        serde_json::json!({"request":{"command":"AUTH","args":["PLAIN"]},
            "response":{"success":true,"status":"OK","header":"","data":[]}})
    );
    assert_eq!(r[3]["request"]["command"], "<SASL DATA>");
    assert_eq!(r[3]["response"]["header"], "mailbox has 3 messages (19191 octets)");
    assert_eq!(r[4]["response"]["data"], serde_json::json!(["1 5565", "2 8412"]));
    // as Suricata's: a RETR whose body was skipped keeps no response, and is complete
    assert_eq!(r[5], serde_json::json!({"request":{"command":"RETR","args":["1"]}}));
    assert!(st.txs().nth(5).unwrap().complete);
    assert_eq!(r[6], serde_json::json!({"request":{"command":"QUIT","args":[]}}));
    assert!(!st.failed());
    assert_eq!((st.stats.commands, st.stats.responses), (6, 5));
}

#[test]
fn flags_become_events_and_a_bad_line_ends_parsing() {
    let mut st = Pop3State::new();
    st.parse(false, b"+OK hi\r\n");
    st.parse(true, b"user bob\r\nSTAT extra\r\n");
    let txs: Vec<&Pop3Tx> = st.txs().collect();
    assert_eq!(eve(txs[1])["request"], serde_json::json!({"command":"user","args":["bob"]}));
    assert_eq!(names(txs[1]), vec!["unknown_command"]);
    assert_eq!(names(txs[2]), vec!["incorrect_argument_count"]);
    let long = format!("{}\r\n", "A".repeat(300));
    st.parse(true, long.as_bytes());
    assert!(names(st.txs().last().unwrap()).contains(&"request_too_long"));
    st.parse(false, b"garbage that is no response\r\n");
    assert!(st.failed());
    assert_eq!(st.stats.malformed, 1);
}

#[test]
fn stls_hands_the_flow_to_tls_with_what_follows() {
    let mut st = Pop3State::new();
    st.parse(false, b"+OK hi\r\n");
    st.parse(true, b"STLS\r\n");
    st.parse(false, b"+OK Begin TLS\r\n\x16\x03\x01");
    assert_eq!(st.upgrade, Some(3));
    assert_eq!(st.stats.starttls, 1);
    assert!(st.failed());
}

#[test]
fn after_a_gap_bytes_are_skipped_until_a_whole_message() {
    let mut st = Pop3State::new();
    st.parse(false, b"+OK hi\r\n");
    st.parse(true, b"NOOP\r\n");
    st.gap(false, 100);
    st.parse(false, b"tail of something\r\n");
    assert_eq!(st.stats.resync_skipped_bytes, 19);
    st.parse(false, b"+OK done\r\n");
    assert_eq!(eve(st.txs().nth(1).unwrap())["response"]["header"], "done");
    // a gap inside a RETR body is taken from what is left of it
    st.parse(true, b"RETR 1\r\n");
    st.parse(false, b"+OK 100 octets\r\nabc");
    st.gap(false, 50);
    st.parse(false, &[b'x'; 47]);
    st.parse(false, b".\r\n+OK\r\n");
    assert!(st.txs().nth(2).unwrap().complete);
    assert!(!st.failed());
}

#[test]
fn buffered_bytes_are_bounded() {
    let mut st = Pop3State::new();
    st.parse(false, b"+OK hi\r\n");
    st.parse(true, b"LIST\r\n");
    st.parse(false, b"+OK\r\n");
    let chunk = vec![b'1'; 64 * 1024];
    for _ in 0..5 {
        st.parse(false, &chunk);
    }
    assert!(st.pending[1].len() <= MAX_PENDING);
    assert!(st.stats.overflow_bytes > 0);
    assert!(!st.failed());
}

#[test]
fn too_many_transactions_close_the_open_ones_and_end_parsing() {
    let mut st = Pop3State::new();
    let many = "NOOP\r\n".repeat(MAX_TXS + 2);
    st.parse(true, many.as_bytes());
    assert!(st.failed());
    assert_eq!(st.stats.tx_refused, 1);
    assert!(st.txs().all(|t| t.complete && names(t) == ["too_many_transactions"]));
}

#[test]
fn probe_reads_whole_commands_and_responses() {
    assert_eq!(probe(b"+OK ready\r\n", false), ProbeResult::Found(AppProto::Pop3));
    assert_eq!(probe(b"USER bob\r\n", true), ProbeResult::Found(AppProto::Pop3));
    assert_eq!(probe(b"+OK", false), ProbeResult::NeedMore);
    assert_eq!(probe(b"HTTP/1.1 200 OK\r\n", false), ProbeResult::NotFound);
}
