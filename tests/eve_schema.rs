//! Every EVE line of a small but varied capture validates against Suricata's EVE JSON schema
//! (`../shared/corpus/eve-schema.json`; skipped with a message when absent).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use common::*;
use serde_json::Value;

/// TCP session, UDP request/reply, ICMP echo, ICMPv6 echo, VLAN and QinQ traffic, VXLAN,
/// 6in4 and GRE tunnels, and one invalid packet.
fn varied_capture() -> Vec<(u64, Vec<u8>)> {
    use tcpf::*;
    let (c, s) = ([10, 7, 0, 1], [10, 7, 0, 2]);
    let (a6, b6) = (
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01],
        [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02],
    );
    let mut l2: Vec<Vec<u8>> = vec![
        eth(&ipv4_tcp(c, s, 41000, 80, 10, 0, SYN, b"")),
        eth(&ipv4_tcp(s, c, 80, 41000, 90, 11, SYN | ACK, b"")),
        eth(&ipv4_tcp(c, s, 41000, 80, 11, 91, ACK, b"")),
        eth(&ipv4_tcp(c, s, 41000, 80, 11, 91, PSH | ACK, b"GET / HTTP/1.0\r\n\r\n")),
        eth(&ipv4_tcp(s, c, 80, 41000, 91, 29, FIN | ACK, b"")),
        eth(&ipv4_tcp(c, s, 41000, 80, 29, 92, FIN | ACK, b"")),
        eth(&ipv4_udp(c, s, 5000, 53, b"q")),
        eth(&ipv4_udp(s, c, 53, 5000, b"a")),
        eth(&ipv4_icmp(c, s, 8, 0, [0, 1, 0, 1], b"ping")),
        eth(&ipv4_icmp(s, c, 0, 0, [0, 1, 0, 1], b"ping")),
        eth(&ipv6_echo_request(a6, b6, 3, 3)),
        eth_vlan(&[(0x8100, 10)], &ipv4_udp(c, s, 6000, 123, b"ntp")),
        eth_vlan(&[(0x88a8, 20), (0x8100, 30)], &ipv6_tcp(a6, b6, 42000, 443, 1, 0, SYN, b"")),
        eth(&ipv4_udp(
            [203, 0, 113, 1],
            [203, 0, 113, 2],
            40000,
            4789,
            &vxlan(5, &eth(&ipv4_tcp([10, 9, 0, 1], [10, 9, 0, 2], 1234, 22, 1, 0, SYN, b""))),
        )),
        eth(&ipv4_raw([192, 0, 2, 1], [192, 0, 2, 2], 41, &ipv6_udp(a6, b6, 9000, 9001, b"6in4"))),
        eth(&ipv4_raw(
            [192, 0, 2, 3],
            [192, 0, 2, 4],
            47,
            &gre_v0(0x0800, &ipv4_udp([172, 16, 0, 1], [172, 16, 0, 2], 1, 2, b"gre")),
        )),
    ];
    let mut bad = eth(&ipv4_udp(c, s, 1, 2, b"truncated"));
    bad.truncate(30);
    l2.push(bad);
    l2.into_iter().enumerate().map(|(i, f)| (t_ms(i as u64 * 10), f)).collect()
}

#[test]
fn every_eve_line_validates_against_suricatas_schema() {
    let Some(schema_path) = corpus_file("eve-schema.json") else {
        eprintln!("skipped: ../shared/corpus/eve-schema.json is not present");
        return;
    };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the EVE schema compiles");

    let r = replay_pcap(LT_ETHERNET, &varied_capture());
    // the capture really exercised what it claims to
    r.assert_counters(&[
        ("decoder.pkts", 17),
        ("decoder.vlan", 2),
        ("decoder.vlan_qinq", 1),
        ("decoder.vxlan", 1),
        ("decoder.gre", 1),
        ("decoder.ipv6_in_ipv4", 1),
        ("decoder.invalid", 1),
        ("flow.icmpv4", 1),
        ("flow.icmpv6", 1),
    ]);
    assert!(r.flows().len() >= 10, "{:#?}", r.flows());
    let mut failures = Vec::new();
    for (i, ev) in r.events.iter().enumerate() {
        let errs: Vec<String> = validator.iter_errors(ev).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        if !errs.is_empty() {
            failures.push(format!("line {} ({}): {}", i + 1, ev["event_type"], errs.join("; ")));
        }
    }
    assert!(failures.is_empty(), "EVE lines not valid against the schema:\n{}", failures.join("\n"));
}

/// The schema check is not vacuous: an event with an unknown field or a mistyped one fails.
#[test]
fn schema_rejects_malformed_events() {
    let Some(schema_path) = corpus_file("eve-schema.json") else {
        eprintln!("skipped: ../shared/corpus/eve-schema.json is not present");
        return;
    };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let bad_field =
        serde_json::json!({"timestamp": "x", "event_type": "flow", "flow": {"pkts_toserver": 1, "no_such_field": 1}});
    assert!(!validator.is_valid(&bad_field));
    let bad_type = serde_json::json!({"timestamp": "x", "event_type": "flow", "src_port": "80"});
    assert!(!validator.is_valid(&bad_type));
    let bad_stats =
        serde_json::json!({"timestamp": "x", "event_type": "stats", "stats": {"decoder": {"not_a_counter": 1}}});
    assert!(!validator.is_valid(&bad_stats));
}

/// Every record of a real mixed capture validates: mix.pcap (287k packets from 1,404 public
/// captures) with ET Open, records on (the default), as `picket replay` writes them. The
/// record types must really be there, with Suricata's types for the fields a SIEM pivots on.
#[test]
fn every_record_of_mix_pcap_validates() {
    let (Some(schema_path), Some(pcap), Some(rules)) =
        (corpus_file("eve-schema.json"), corpus_file("traffic/mix.pcap"), corpus_file("et-open"))
    else {
        eprintln!("skipped: ../shared/corpus (eve-schema.json, traffic/mix.pcap, et-open) is not present");
        return;
    };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the EVE schema compiles");
    let dir = tempfile::tempdir().unwrap();
    let eve = dir.path().join("eve.json");
    let (code, _, err) = picket([
        "replay".as_ref(),
        "-q".as_ref(),
        "--rules".as_ref(),
        rules.as_os_str(),
        "--set".as_ref(),
        "capture.checksum_validation=none".as_ref(),
        "--eve".as_ref(),
        eve.as_os_str(),
        pcap.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    let events = read_eve(&eve);
    // Where Suricata's own EVE of the same capture breaks its schema (mDNS answers carry
    // `a`/`aaaa`/`srv` objects the schema does not list), the same shape is allowed here:
    // the reference is what Suricata writes, not what its schema says.
    let known = suricata_schema_gaps(&validator);
    let mut per_type = std::collections::BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        let t = ev["event_type"].as_str().unwrap_or("?").to_string();
        *per_type.entry(t.clone()).or_default() += 1;
        let errs: Vec<String> = validator
            .iter_errors(ev)
            .map(|e| error_shape(&e.to_string(), &e.instance_path.to_string()))
            .filter(|shape| !known.contains(shape))
            .collect();
        if !errs.is_empty() && failures.len() < 20 {
            failures.push(format!("line {} ({t}): {}", i + 1, errs.join("; ")));
        }
    }
    assert!(failures.is_empty(), "EVE records not valid against the schema:\n{}", failures.join("\n"));
    // Suricata writes 2,757 dns, 1,245 http, 770 tls and 1,064 HTTP fileinfo records here.
    for (t, at_least) in [("dns", 2700), ("http", 1200), ("tls", 740), ("fileinfo", 900), ("alert", 1090)] {
        let n = per_type.get(t).copied().unwrap_or(0);
        assert!(n >= at_least, "{n} {t} records, expected at least {at_least}: {per_type:?}");
    }
    // Typed as Suricata types them: numbers as numbers, Suricata's timestamp format.
    let first = |t: &str| events.iter().find(|e| e["event_type"] == t).unwrap();
    let http = first("http");
    assert!(http["http"]["length"].is_u64() && http["tx_id"].is_u64() && http["flow_id"].is_u64(), "{http}");
    let ts = http["timestamp"].as_str().unwrap();
    assert!(ts.len() == 31 && &ts[10..11] == "T" && &ts[26..27] == "+", "timestamp {ts}");
    let dns = first("dns");
    assert!(dns["dns"]["id"].is_u64() && dns["dns"]["version"] == 3, "{dns}");
    let fi = first("fileinfo");
    assert!(fi["fileinfo"]["size"].is_u64() && fi["fileinfo"]["gaps"].is_boolean(), "{fi}");
}

/// An error's shape: its message and where, array indexes left out.
fn error_shape(message: &str, path: &str) -> String {
    let path: Vec<&str> = path.split('/').map(|p| if p.parse::<u64>().is_ok() { "*" } else { p }).collect();
    format!("{message} at {}", path.join("/"))
}

/// The error shapes of Suricata's own EVE of mix.pcap against its schema
/// (`../shared/corpus/reference-mix-eve.json.xz`, read with `xz`).
fn suricata_schema_gaps(validator: &jsonschema::Validator) -> std::collections::HashSet<String> {
    let mut gaps = std::collections::HashSet::new();
    let Some(reference) = corpus_file("reference-mix-eve.json.xz") else { return gaps };
    let out = match std::process::Command::new("xz").arg("-dc").arg(&reference).output() {
        Ok(o) if o.status.success() => o.stdout,
        _ => {
            assert!(std::env::var_os("PICKET_REQUIRE_TOOLS").is_none(), "xz is needed to read the reference EVE");
            return gaps;
        }
    };
    for line in String::from_utf8_lossy(&out).lines() {
        let Ok(ev) = serde_json::from_str::<Value>(line) else { continue };
        for e in validator.iter_errors(&ev) {
            gaps.insert(error_shape(&e.to_string(), &e.instance_path.to_string()));
        }
    }
    gaps
}

/// An MQTT 5 session (CONNECT with properties and a will, CONNACK, PUBLISH QoS 1 and its
/// PUBACK, SUBSCRIBE/SUBACK, UNSUBSCRIBE/UNSUBACK, DISCONNECT): its `mqtt` records, one per
/// transaction, validate and carry Suricata's nesting.
#[test]
fn mqtt_records_validate() {
    let Some(schema_path) = corpus_file("eve-schema.json") else {
        eprintln!("skipped: ../shared/corpus/eve-schema.json is not present");
        return;
    };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the EVE schema compiles");
    use tcpf::*;
    let (c, s) = ([10, 8, 0, 1], [10, 8, 0, 2]);
    let connect: &[u8] = b"\x10\x27\x00\x04MQTT\x05\xc6\x00\x3c\x03\x21\x00\x14\x00\x02id\x00\x00\x01w\x00\x03bye\x00\x04user\x00\x04pass";
    let connack: &[u8] = b"\x20\x08\x00\x00\x05\x22\x00\x0a\x24\x01";
    let publish: &[u8] = b"\x32\x0d\x00\x03a/b\x00\x07\x00hello";
    let puback: &[u8] = b"\x40\x02\x00\x07";
    let subscribe: &[u8] = b"\x82\x09\x00\x08\x00\x00\x03a/b\x01";
    let suback: &[u8] = b"\x90\x04\x00\x08\x00\x01";
    let unsubscribe: &[u8] = b"\xa2\x08\x00\x09\x00\x00\x03a/b";
    let unsuback: &[u8] = b"\xb0\x04\x00\x09\x00\x00";
    let disconnect: &[u8] = b"\xe0\x00";
    let (mut cs, mut ss) = (1000u32, 5000u32);
    let mut l2 = vec![
        eth(&ipv4_tcp(c, s, 41883, 1883, cs - 1, 0, SYN, b"")),
        eth(&ipv4_tcp(s, c, 1883, 41883, ss - 1, cs, SYN | ACK, b"")),
    ];
    for (to_server, msg) in [
        (true, connect),
        (false, connack),
        (true, publish),
        (false, puback),
        (true, subscribe),
        (false, suback),
        (true, unsubscribe),
        (false, unsuback),
        (true, disconnect),
    ] {
        if to_server {
            l2.push(eth(&ipv4_tcp(c, s, 41883, 1883, cs, ss, PSH | ACK, msg)));
            cs += msg.len() as u32;
            l2.push(eth(&ipv4_tcp(s, c, 1883, 41883, ss, cs, ACK, b"")));
        } else {
            l2.push(eth(&ipv4_tcp(s, c, 1883, 41883, ss, cs, PSH | ACK, msg)));
            ss += msg.len() as u32;
            l2.push(eth(&ipv4_tcp(c, s, 41883, 1883, cs, ss, ACK, b"")));
        }
    }
    l2.push(eth(&ipv4_tcp(c, s, 41883, 1883, cs, ss, FIN | ACK, b"")));
    l2.push(eth(&ipv4_tcp(s, c, 1883, 41883, ss, cs + 1, FIN | ACK, b"")));
    l2.push(eth(&ipv4_tcp(c, s, 41883, 1883, cs + 1, ss + 1, ACK, b"")));
    let frames: Vec<(u64, Vec<u8>)> = l2.into_iter().enumerate().map(|(i, f)| (t_ms(i as u64 * 10), f)).collect();
    let r = replay_pcap(LT_ETHERNET, &frames);
    let mqtt: Vec<&Value> = r.events.iter().filter(|e| e["event_type"] == "mqtt").collect();
    assert_eq!(mqtt.len(), 5, "{:#?}", r.events);
    for ev in &r.events {
        let errs: Vec<String> = validator.iter_errors(ev).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errs.is_empty(), "{ev}: {errs:?}");
    }
    let m = &mqtt[0]["mqtt"];
    assert_eq!(m["connect"]["client_id"], "id");
    assert_eq!(m["connect"]["will"]["topic"], "w");
    assert_eq!(m["connect"]["will"]["message"], "bye");
    assert_eq!(m["connack"]["properties"]["maximum_qos"], 1);
    assert_eq!(mqtt[1]["mqtt"]["publish"]["message"], "hello");
    assert_eq!(mqtt[1]["mqtt"]["puback"]["reason_code"], 0);
    assert_eq!(mqtt[2]["mqtt"]["suback"]["qos_granted"], serde_json::json!([1]));
    assert_eq!(mqtt[3]["mqtt"]["unsubscribe"]["topics"], serde_json::json!(["a/b"]));
    assert!(mqtt[4]["mqtt"]["disconnect"].is_object());
    assert_eq!(mqtt[0]["src_port"], 41883);
}

/// An LDAP session on port 389 (simple bind and its response, a search with an equality
/// filter answered by an entry and a done, an unbind): its `ldap` records, one per
/// transaction, validate and carry Suricata's fields.
#[test]
fn ldap_records_validate() {
    let Some(schema_path) = corpus_file("eve-schema.json") else {
        eprintln!("skipped: ../shared/corpus/eve-schema.json is not present");
        return;
    };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the EVE schema compiles");
    use tcpf::*;
    let (c, s) = ([10, 9, 0, 1], [10, 9, 0, 2]);
    let bind: &[u8] = b"\x30\x1c\x02\x01\x01\x60\x17\x02\x01\x03\x04\x0ccn=admin,o=x\x80\x04pass";
    let bound: &[u8] = b"\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00";
    let search: &[u8] = b"\x30\x29\x02\x01\x02\x63\x24\x04\x03o=x\x0a\x01\x02\x0a\x01\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00\xa3\x08\x04\x03uid\x04\x01b\x30\x04\x04\x02cn";
    let entry: &[u8] = b"\x30\x1f\x02\x01\x02\x64\x1a\x04\x09uid=b,o=x\x30\x0d\x30\x0b\x04\x02cn\x31\x05\x04\x03Bob";
    let done: &[u8] = b"\x30\x0c\x02\x01\x02\x65\x07\x0a\x01\x00\x04\x00\x04\x00";
    let unbind: &[u8] = b"\x30\x05\x02\x01\x03\x42\x00";
    let (mut cs, mut ss) = (1000u32, 5000u32);
    let mut l2 = vec![
        eth(&ipv4_tcp(c, s, 40389, 389, cs - 1, 0, SYN, b"")),
        eth(&ipv4_tcp(s, c, 389, 40389, ss - 1, cs, SYN | ACK, b"")),
    ];
    for (to_server, msg) in
        [(true, bind), (false, bound), (true, search), (false, entry), (false, done), (true, unbind)]
    {
        if to_server {
            l2.push(eth(&ipv4_tcp(c, s, 40389, 389, cs, ss, PSH | ACK, msg)));
            cs += msg.len() as u32;
            l2.push(eth(&ipv4_tcp(s, c, 389, 40389, ss, cs, ACK, b"")));
        } else {
            l2.push(eth(&ipv4_tcp(s, c, 389, 40389, ss, cs, PSH | ACK, msg)));
            ss += msg.len() as u32;
            l2.push(eth(&ipv4_tcp(c, s, 40389, 389, cs, ss, ACK, b"")));
        }
    }
    l2.push(eth(&ipv4_tcp(c, s, 40389, 389, cs, ss, FIN | ACK, b"")));
    l2.push(eth(&ipv4_tcp(s, c, 389, 40389, ss, cs + 1, FIN | ACK, b"")));
    l2.push(eth(&ipv4_tcp(c, s, 40389, 389, cs + 1, ss + 1, ACK, b"")));
    let frames: Vec<(u64, Vec<u8>)> = l2.into_iter().enumerate().map(|(i, f)| (t_ms(i as u64 * 10), f)).collect();
    let r = replay_pcap(LT_ETHERNET, &frames);
    let ldap: Vec<&Value> = r.events.iter().filter(|e| e["event_type"] == "ldap").collect();
    assert_eq!(ldap.len(), 3, "{:#?}", r.events);
    for ev in &r.events {
        let errs: Vec<String> = validator.iter_errors(ev).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errs.is_empty(), "{ev}: {errs:?}");
    }
    let b = &ldap[0]["ldap"];
    assert_eq!(b["request"]["bind_request"]["name"], "cn=admin,o=x");
    assert_eq!(b["responses"][0]["bind_response"]["result_code"], "success");
    let q = &ldap[1]["ldap"];
    assert_eq!(q["request"]["search_request"]["base_object"], "o=x");
    assert_eq!(q["request"]["search_request"]["attributes"], serde_json::json!(["cn"]));
    assert_eq!(q["responses"][0]["search_result_entry"]["attributes"][0]["values"], serde_json::json!(["Bob"]));
    assert_eq!(q["responses"][1]["operation"], "search_result_done");
    assert_eq!(ldap[2]["ldap"]["request"]["operation"], "unbind_request");
    assert_eq!(ldap[0]["src_port"], 40389);
}

/// NFS over UDP (v3: LOOKUP, CREATE, RENAME, a file read and one written) and over TCP (a
/// file written), and TFTP requests, carved from mix.pcap (`tests/data/nfs.pcap`,
/// `tests/data/tftp.pcap`): the `nfs`, `fileinfo` and `tftp` records validate and carry the
/// fields Suricata writes for them.
#[test]
fn nfs_and_tftp_records_validate() {
    let Some(schema_path) = corpus_file("eve-schema.json") else {
        eprintln!("skipped: ../shared/corpus/eve-schema.json is not present");
        return;
    };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the EVE schema compiles");
    let data = crate_root().join("tests/data");
    let dir = tempfile::tempdir().unwrap();
    let r = replay_files(
        dir.path(),
        &[data.join("nfs.pcap"), data.join("tftp.pcap")],
        &["--workers", "2", "--set", "capture.checksum_validation=none"],
    );
    r.assert_clean();
    for ev in &r.events {
        let errs: Vec<String> = validator.iter_errors(ev).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errs.is_empty(), "{ev}: {errs:?}");
    }
    let of = |t: &str| r.events.iter().filter(|e| e["event_type"] == t).collect::<Vec<&Value>>();
    let nfs = of("nfs");
    // Suricata writes 64 records for these two flows
    assert_eq!(nfs.len(), 64);
    let by_xid = |xid: u64| nfs.iter().find(|e| e["rpc"]["xid"] == xid).unwrap_or_else(|| panic!("xid {xid}"));
    let rename = by_xid(1578961897);
    assert_eq!(rename["nfs"]["rename"], serde_json::json!({"from": "a", "to": "am"}));
    assert_eq!(rename["rpc"]["creds"], serde_json::json!({"machine_name": "werrmsche", "uid": 0, "gid": 0}));
    assert_eq!((rename["src_port"].as_u64(), rename["nfs"]["hhash"].as_str()), (Some(2049), Some("38a4e9f6")));
    let read = &by_xid(1578961922)["nfs"];
    assert_eq!(
        (read["procedure"].as_str(), read["filename"].as_str(), read["file_tx"].as_bool()),
        (Some("READ"), Some("bln"), Some(true))
    );
    assert_eq!(read["read"], serde_json::json!({"first": true, "last": true, "last_xid": 1578961922u64, "chunks": 1}));
    assert_eq!(
        (read["version"].as_u64(), read["id"].as_u64(), read["status"].as_str()),
        (Some(3), Some(39), Some("OK"))
    );
    let write = &by_xid(2447245691)["nfs"];
    assert_eq!((write["procedure"].as_str(), write["filename"].as_str()), (Some("WRITE"), Some("hello_world")));
    assert_eq!(write["write"]["last"], true);
    let files = of("fileinfo");
    let bln = files.iter().find(|e| e["fileinfo"]["filename"] == "bln").expect("the file read");
    assert_eq!((bln["app_proto"].as_str(), bln["fileinfo"]["size"].as_u64()), (Some("nfs"), Some(11)));
    assert_eq!(bln["fileinfo"]["state"], "CLOSED");
    let tftp: Vec<(&str, &str, &str)> = of("tftp")
        .iter()
        .map(|e| {
            let t = &e["tftp"];
            (t["packet"].as_str().unwrap_or(""), t["file"].as_str().unwrap_or(""), t["mode"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(tftp.len(), 5, "{tftp:?}");
    assert!(tftp.contains(&("write", "zz.bin", "netascii")), "{tftp:?}");
    assert!(tftp.contains(&("read", "rfc1350.txt", "octet")), "{tftp:?}");
}
