//! RDP: the connection sequence read and logged as Suricata reads and logs it, split anywhere.

use serde_json::{json, Value};

use super::pdu::{self, Tpkt};
use super::{RdpState, RdpTx};
use crate::output::eve::Json;

const CERT: &str = include_str!("testdata_cert.hex");

fn tpkt(body: &[u8]) -> Vec<u8> {
    let len = (body.len() + 4) as u16;
    let mut v = vec![3, 0];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// An X.224 Connection Request (`0xe0`) or Confirm (`0xd0`) with its variable part.
fn x224(code: u8, var: &[u8]) -> Vec<u8> {
    let mut v = vec![(6 + var.len()) as u8, code, 0, 0, 0x12, 0x34, 0];
    v.extend_from_slice(var);
    tpkt(&v)
}

fn utf16(s: &str, size: usize) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    v.resize(size, 0);
    v
}

fn core_block() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x80004u32.to_le_bytes()); // v5
    b.extend_from_slice(&1280u16.to_le_bytes());
    b.extend_from_slice(&1024u16.to_le_bytes());
    b.extend_from_slice(&0xca01u16.to_le_bytes()); // 8 bpp, overridden below
    b.extend_from_slice(&0xaa03u16.to_le_bytes());
    b.extend_from_slice(&0x409u32.to_le_bytes()); // en-US
    b.extend_from_slice(&2600u32.to_le_bytes()); // Windows XP
    b.extend_from_slice(&utf16("SEPTU", 32));
    b.extend_from_slice(&4u32.to_le_bytes()); // enhanced
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&12u32.to_le_bytes());
    b.extend_from_slice(&[0; 64]);
    b.extend_from_slice(&0xca01u16.to_le_bytes()); // post-beta2
    b.extend_from_slice(&1u16.to_le_bytes()); // product id
    b.extend_from_slice(&0u32.to_le_bytes()); // serial (0: not logged)
    b.extend_from_slice(&16u16.to_le_bytes()); // high color depth
    b.extend_from_slice(&7u16.to_le_bytes()); // supported depths
    b.extend_from_slice(&0x11u16.to_le_bytes()); // errinfo + unused (not logged)
    b.extend_from_slice(&utf16("76487-OEM", 64));
    b.push(7); // autodetect
    b.push(0);
    b.extend_from_slice(&0u32.to_le_bytes()); // selected protocol
    b.extend_from_slice(&5u32.to_le_bytes()); // 5 mm: out of range, the chain stops
    let mut v = vec![0x01, 0xc0];
    v.extend_from_slice(&((b.len() + 4) as u16).to_le_bytes());
    v.extend_from_slice(&b);
    v
}

fn net_block(names: &[&str]) -> Vec<u8> {
    let mut v = vec![0x03, 0xc0];
    v.extend_from_slice(&((8 + 12 * names.len()) as u16).to_le_bytes());
    v.extend_from_slice(&(names.len() as u32).to_le_bytes());
    for n in names {
        let mut name = n.as_bytes().to_vec();
        name.resize(8, 0);
        v.extend_from_slice(&name);
        v.extend_from_slice(&0x8000_0000u32.to_le_bytes());
    }
    v
}

fn connect_initial(blocks: &[u8]) -> Vec<u8> {
    // X.224 data, BER tag 101, some of the BER/PER fields before the H.221 key
    let mut v = vec![2, 0xf0, 0x80, 0x7f, 0x65, 0x82, 0x01, 0x90, 0x04, 0x01, 0x01, 0x01];
    v.extend_from_slice(b"Duca");
    v.push(0x80 | (blocks.len() >> 8) as u8);
    v.push(blocks.len() as u8);
    v.extend_from_slice(blocks);
    tpkt(&v)
}

fn request() -> Vec<u8> {
    let mut var = b"Cookie: mstshash=Administr\r\n".to_vec();
    var.extend_from_slice(&[1, 0x08, 8, 0, 3, 0, 0, 0]);
    x224(0xe0, &var)
}

fn eve(tx: &RdpTx) -> Value {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j);
    j.end();
    let v: Value = serde_json::from_slice(&out).unwrap_or_default();
    v["rdp"].clone()
}

fn records(st: &RdpState) -> Vec<Value> {
    st.txs().map(eve).collect()
}

/// Feeds (to_server, bytes) messages in pieces of `size`.
fn run(msgs: &[(bool, Vec<u8>)], size: usize) -> RdpState {
    let mut st = RdpState::new();
    for (ts, m) in msgs {
        for c in m.chunks(size) {
            st.parse(*ts, c);
        }
    }
    st
}

fn sequence() -> Vec<(bool, Vec<u8>)> {
    let blocks = [core_block(), net_block(&["rdpdr", "cliprdr"])].concat();
    vec![
        (true, request()),
        (false, x224(0xd0, &[2, 0x1f, 8, 0, 8, 0, 0, 0])),
        (true, connect_initial(&blocks)),
        (false, tpkt(&[2, 0xf0, 0x80, 0x7f, 0x66, 0x82, 0x01, 0x2c])),
        // after the MCS Connect Response nothing is parsed, not even this
        (true, request()),
    ]
}

#[test]
fn a_connection_sequence_is_logged_as_suricata_logs_it() {
    let expect = vec![
        json!({"tx_id":1,"event_type":"initial_request","cookie":"Administr","flags":["correlation_info_present"]}),
        json!({"tx_id":2,"event_type":"initial_response",
            "server_supports":["extended_client_data","dynvc_gfx","restricted_admin","redirected_authentication"],
            "protocol":"hybrid_ex"}),
        json!({"tx_id":3,"event_type":"connect_request","client":{"version":"v5","desktop_width":1280,
            "desktop_height":1024,"color_depth":16,"keyboard_layout":"en-US","build":"Windows XP",
            "client_name":"SEPTU","keyboard_type":"enhanced","function_keys":12,"product_id":1,
            "capabilities":["support_errinfo_pdf"],"id":"76487-OEM","connection_hint":"autodetect"},
            "channels":["rdpdr","cliprdr"]}),
        json!({"tx_id":4,"event_type":"connect_response"}),
    ];
    let whole = run(&sequence(), usize::MAX);
    assert_eq!(records(&whole), expect);
    let dirs: Vec<bool> = whole.txs().map(|t| t.to_server).collect();
    assert_eq!(dirs, [true, false, true, false]);
    assert_eq!((whole.stats.tpkts, whole.stats.bypassed, whole.failed()), (4, 1, false));
    for size in [1, 2, 3, 7, 100] {
        assert_eq!(records(&run(&sequence(), size)), expect, "pieces of {size}");
    }
    // several TPKTs in one piece
    let mut st = RdpState::new();
    st.parse(true, &[request(), request()].concat());
    assert_eq!(st.txs().count(), 2);
}

#[test]
fn a_negotiation_failure_gives_its_code_and_reason() {
    let st = run(&[(false, x224(0xd0, &[3, 0, 8, 0, 2, 0, 0, 0]))], usize::MAX);
    let want = json!({"tx_id":1,"event_type":"initial_response","error_code":2,"reason":"ssl not allowed by server"});
    assert_eq!(records(&st), vec![want]);
    // a selected protocol out of the list is neither a response nor a failure: no fields
    let st = run(&[(false, x224(0xd0, &[2, 0, 8, 0, 3, 0, 0, 0]))], usize::MAX);
    assert_eq!(records(&st), vec![json!({"tx_id":1,"event_type":"initial_response"})]);
}

fn handshake_record(t: u8, body: &[u8]) -> Vec<u8> {
    let mut h = vec![t];
    h.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    h.extend_from_slice(body);
    let mut r = vec![0x16, 3, 3];
    r.extend_from_slice(&(h.len() as u16).to_be_bytes());
    r.extend_from_slice(&h);
    r
}

#[test]
fn tls_after_the_negotiation_logs_the_server_certificate_serials() {
    let hex: String = CERT.split_whitespace().collect();
    let der: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| hex.get(i * 2..i * 2 + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    assert_eq!(der.len(), 370);
    let mut hello = vec![3, 3];
    hello.extend_from_slice(&[7; 32]);
    hello.extend_from_slice(&[0, 0, 2, 0, 0x2f, 1, 0]);
    let mut chain = Vec::new();
    for c in [der.as_slice(), b"not a certificate"] {
        chain.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
        chain.extend_from_slice(c);
    }
    let mut certs = (chain.len() as u32).to_be_bytes()[1..].to_vec();
    certs.extend_from_slice(&chain);
    let msgs = vec![
        (true, request()),
        (false, x224(0xd0, &[2, 0, 8, 0, 1, 0, 0, 0])),
        (true, handshake_record(1, &hello)),
        (false, handshake_record(11, &certs)),
    ];
    for size in [usize::MAX, 5] {
        let st = run(&msgs, size);
        let r = records(&st);
        assert_eq!(r.len(), 3, "pieces of {size}");
        assert_eq!(r[1]["protocol"], "ssl");
        // the serial 0x0a1b2c3d4e5f without its leading zero; the garbage one left out
        assert_eq!(r[2], json!({"tx_id":3,"event_type":"tls_handshake","x509_serials":["a1b2c3d4e5f"]}));
        assert_eq!((st.stats.tls_records, st.stats.bypassed), (2, 1));
    }
}

#[test]
fn bytes_neither_tpkt_nor_tls_end_parsing() {
    let mut st = RdpState::new();
    st.parse(true, b"GET / HTTP/1.1\r\n\r\n");
    assert!(st.failed());
    assert_eq!(st.stats.parse_errors, 1);
    st.parse(true, &request());
    assert_eq!(st.txs().count(), 0, "nothing is read after the failure");
}

#[test]
fn a_message_running_past_its_tpkt_stalls_the_direction() {
    // the X.224 length says 20 bytes, the TPKT holds 6: Suricata waits on it for ever
    let stuck = tpkt(&[20, 0xe0, 0, 0, 0, 0, 0]);
    assert_eq!(pdu::tpkt(&stuck), Tpkt::Stuck);
    // an X.224 data TPKT with nothing after its header, a cookie without its line end
    assert_eq!(pdu::tpkt(&tpkt(&[2, 0xf0, 0x80])), Tpkt::Stuck);
    assert_eq!(pdu::tpkt(&x224(0xe0, b"Cookie: mstshash=x")), Tpkt::Stuck);
    // an incomplete TPKT waits; a short length is not a TPKT
    assert_eq!(pdu::tpkt(&request()[..10]), Tpkt::Wait);
    assert_eq!(pdu::tpkt(&[3, 0, 0, 3]), Tpkt::Invalid);
    let mut st = RdpState::new();
    st.parse(true, &stuck);
    st.parse(true, &request());
    st.parse(false, &x224(0xd0, &[]));
    assert_eq!(st.txs().count(), 1, "the other direction goes on");
    assert_eq!((st.stats.stalled, st.stats.stalled_bytes), (1, (stuck.len() + request().len()) as u64));
}

#[test]
fn core_data_fields_out_of_their_lists_read_as_suricata_reads_them() {
    let mut core = core_block();
    // an unknown version, build and layout
    core[4..8].copy_from_slice(&0x90000u32.to_le_bytes());
    core[16..20].copy_from_slice(&0x1234u32.to_le_bytes());
    core[20..24].copy_from_slice(&1u32.to_le_bytes());
    let st = run(&[(true, connect_initial(&core))], usize::MAX);
    let r = records(&st);
    let client = &r[0]["client"];
    assert_eq!(
        (&client["version"], &client["keyboard_layout"], &client["build"]),
        (&json!("unknown"), &json!("unknown"), &json!("unknown"))
    );
    assert!(r[0].get("channels").is_none());
    // a core block shorter than its required part stalls (Suricata's streaming read)
    let short = [0x01, 0xc0, 12, 0, 4, 0, 8, 0, 0, 5, 0, 4];
    assert_eq!(pdu::tpkt(&connect_initial(&short)), Tpkt::Stuck);
    // more channels announced than present stalls as well
    let mut net = net_block(&["rdpdr"]);
    net[4..8].copy_from_slice(&3u32.to_le_bytes());
    assert_eq!(pdu::tpkt(&connect_initial(&net)), Tpkt::Stuck);
}
