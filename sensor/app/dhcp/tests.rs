use super::*;
use crate::app::plugin::{RecordCx, Transaction};
use crate::app::AppConfig;

/// A BOOTP header: op, xid, chaddr (6 bytes), yiaddr; then the magic cookie and `opts`.
fn message(op: u8, xid: u32, mac: [u8; 6], yiaddr: [u8; 4], opts: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; 240];
    m[0] = op;
    m[1] = 1;
    m[2] = 6;
    m[4..8].copy_from_slice(&xid.to_be_bytes());
    m[16..20].copy_from_slice(&yiaddr);
    m[20..24].copy_from_slice(&[192, 168, 0, 1]);
    m[28..34].copy_from_slice(&mac);
    m[236..240].copy_from_slice(&[99, 130, 83, 99]);
    m.extend_from_slice(opts);
    m
}

fn ack() -> Vec<u8> {
    message(
        2,
        15646,
        [0, 0x0b, 0x82, 1, 0xfc, 0x42],
        [192, 168, 0, 10],
        &[
            53, 1, 5, // ACK
            54, 4, 192, 168, 0, 1, // server id (not kept)
            51, 4, 0, 0, 0x0e, 0x10, // lease 3600
            58, 4, 0, 0, 0x07, 0x08, // renewal 1800
            59, 4, 0, 0, 0x0c, 0x4e, // rebinding 3150
            1, 4, 255, 255, 255, 0, // subnet mask
            3, 4, 192, 168, 0, 1, // router
            6, 8, 8, 8, 8, 8, 1, 1, 1, 1, // two DNS servers
            255,
        ],
    )
}

fn json(f: impl FnOnce(&mut Json<'_>)) -> serde_json::Value {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    f(&mut j);
    j.end();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn ack_keywords_record_and_alert_object() {
    let mut st = DhcpState::default();
    assert!(st.parse_packet(false, &ack()));
    let tx = st.txs().next().unwrap();
    let val = |name: &str, arg: &str| {
        let i = VALUES.iter().position(|v| v.info.name == name).unwrap();
        let a = (VALUES[i].info.parse)(Some(arg)).unwrap();
        tx.value(i as u16, &a, false, 0)
    };
    assert!(val("dhcp.leasetime", ">3000") && !val("dhcp.leasetime", "<3600"));
    assert!(val("dhcp.renewal_time", "1000<>2000") && val("dhcp.rebinding_time", "3150"));
    // the default record: what Suricata writes for such an ACK (mix.pcap's reference)
    let cfg = AppConfig::default();
    let rec = json(|j| assert!(tx.write_record(j, &RecordCx { cfg: &cfg })));
    assert_eq!(
        rec["dhcp"],
        serde_json::json!({"type": "reply", "id": 15646, "client_mac": "00:0b:82:01:fc:42",
            "assigned_ip": "192.168.0.10", "dhcp_type": "ack", "renewal_time": 1800})
    );
    // alerts carry the extended object
    let alert = json(|j| tx.write_alert_eve(j));
    assert_eq!(
        alert["dhcp"],
        serde_json::json!({"type": "reply", "id": 15646, "client_mac": "00:0b:82:01:fc:42",
            "assigned_ip": "192.168.0.10", "client_ip": "0.0.0.0", "relay_ip": "0.0.0.0",
            "next_server_ip": "192.168.0.1", "dhcp_type": "ack", "lease_time": 3600,
            "renewal_time": 1800, "rebinding_time": 3150, "subnet_mask": "255.255.255.0",
            "routers": ["192.168.0.1"], "dns_servers": ["8.8.8.8", "1.1.1.1"]})
    );
    assert!(tx.events().is_empty());
}

#[test]
fn only_acks_are_recorded_and_request_fields() {
    let mut st = DhcpState::default();
    let req = message(
        1,
        7,
        [2, 0, 0, 0, 0, 1],
        [0; 4],
        &[53, 1, 3, 61, 7, 1, 2, 0, 0, 0, 0, 1, 12, 4, b'h', b'o', b's', b't', 55, 3, 1, 3, 99, 255],
    );
    assert!(st.parse_packet(true, &req));
    let tx = st.txs().next().unwrap();
    let cfg = AppConfig::default();
    json(|j| assert!(!tx.write_record(j, &RecordCx { cfg: &cfg }), "a REQUEST is not recorded by default"));
    let alert = json(|j| tx.write_alert_eve(j));
    assert_eq!(alert["dhcp"]["dhcp_type"], "request");
    assert_eq!(alert["dhcp"]["client_id"], "02:00:00:00:00:01");
    assert_eq!(alert["dhcp"]["hostname"], "host");
    assert_eq!(alert["dhcp"]["params"], serde_json::json!(["subnet_mask", "router"]));
    assert!(alert["dhcp"].get("relay_ip").is_none(), "relay and next server are logged for replies only");
}

#[test]
fn truncated_options_overload_and_garbage() {
    let mut st = DhcpState::default();
    // no End option: Suricata flags truncated_options and keeps what it read
    let mut m = ack();
    m.truncate(m.len() - 5);
    assert!(st.parse_packet(false, &m));
    let tx = st.txs().last().unwrap();
    assert_eq!(tx.events(), &[0]);
    assert_eq!(tx.time(OPT_RENEWAL_TIME), Some(1800));
    assert_eq!(st.stats.truncated_options, 1);
    // an overloaded `file` field carries the lease time
    let mut m = message(2, 9, [2; 6], [10, 0, 0, 9], &[53, 1, 5, 52, 1, 1, 255]);
    m[108..115].copy_from_slice(&[51, 4, 0, 0, 0, 60, 255]);
    assert!(st.parse_packet(false, &m));
    assert_eq!(st.txs().last().unwrap().time(OPT_ADDRESS_TIME), Some(60));
    // shorter than the header: not DHCP, counted
    assert!(!st.parse_packet(true, &[1; 100]));
    assert_eq!(st.stats.malformed, 1);
    assert_eq!(probe(&[1; 100]), ProbeResult::NotFound);
    assert_eq!(probe(&ack()), ProbeResult::Found(AppProto::Dhcp));
    // a flood of tiny options keeps at most MAX_OPTIONS, counted
    let opts: Vec<u8> = (0..1000).flat_map(|_| [12u8, 1, b'x']).chain([255]).collect();
    assert!(st.parse_packet(true, &message(1, 1, [1; 6], [0; 4], &opts)));
    assert_eq!(st.txs().last().unwrap().options.len(), MAX_OPTIONS);
    assert_eq!(st.stats.options_dropped, 1000 - MAX_OPTIONS as u64);
}
