//! State-level tests: SMB2 records in, transactions, files and the EVE `smb` object out.

use super::txs::Kind;
use super::SmbState;
use crate::app::files::FileState;
use crate::output::eve::Json;

fn nbss(smb: &[u8]) -> Vec<u8> {
    let mut m = vec![0, (smb.len() >> 16) as u8, (smb.len() >> 8) as u8, smb.len() as u8];
    m.extend_from_slice(smb);
    m
}

fn header(command: u16, msg_id: u64, response: bool, next: u32) -> Vec<u8> {
    let mut h = b"\xfeSMB".to_vec();
    h.extend_from_slice(&64u16.to_le_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&0u32.to_le_bytes()); // status: success
    h.extend_from_slice(&command.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&u32::from(response).to_le_bytes());
    h.extend_from_slice(&next.to_le_bytes());
    h.extend_from_slice(&msg_id.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&7u32.to_le_bytes()); // tree id
    h.extend_from_slice(&0x1122u64.to_le_bytes()); // session id
    h.extend_from_slice(&[0; 16]);
    h
}

fn tree_connect(msg_id: u64, path: &str, next: u32) -> Vec<u8> {
    let mut m = header(3, msg_id, false, next);
    let p: Vec<u8> = path.encode_utf16().flat_map(u16::to_le_bytes).collect();
    m.extend_from_slice(&9u16.to_le_bytes());
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&72u16.to_le_bytes());
    m.extend_from_slice(&(p.len() as u16).to_le_bytes());
    m.extend_from_slice(&p);
    m
}

fn tree_connect_response(msg_id: u64, share_type: u8) -> Vec<u8> {
    let mut m = header(3, msg_id, true, 0);
    m.extend_from_slice(&16u16.to_le_bytes());
    m.push(share_type);
    m.extend_from_slice(&[0; 13]);
    m
}

fn write(msg_id: u64, guid: [u8; 16], offset: u64, data: &[u8]) -> Vec<u8> {
    let mut m = header(9, msg_id, false, 0);
    m.extend_from_slice(&49u16.to_le_bytes());
    m.extend_from_slice(&112u16.to_le_bytes());
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    m.extend_from_slice(&offset.to_le_bytes());
    m.extend_from_slice(&guid);
    m.extend_from_slice(&[0; 16]);
    m.extend_from_slice(data);
    m
}

fn close(msg_id: u64, guid: [u8; 16]) -> Vec<u8> {
    let mut m = header(6, msg_id, false, 0);
    m.extend_from_slice(&24u16.to_le_bytes());
    m.extend_from_slice(&[0; 6]);
    m.extend_from_slice(&guid);
    m
}

fn record_of(s: &SmbState, id: u64) -> serde_json::Value {
    let tx = s.tx(id).unwrap_or_else(|| panic!("tx {id}"));
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    super::eve::write_tx(&mut j, tx);
    j.end();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

#[test]
fn tree_connect_fed_byte_by_byte_gives_suricatas_share_record() {
    let mut s = SmbState::new();
    for b in nbss(&tree_connect(1, "\\\\srv\\c$", 0)).chunks(1) {
        assert!(s.parse(true, b));
    }
    for b in nbss(&tree_connect_response(1, 1)).chunks(3) {
        assert!(s.parse(false, b));
    }
    assert_eq!(s.txs().count(), 1);
    let r = record_of(&s, 0);
    let smb = &r["smb"];
    assert_eq!(smb["id"], 1);
    assert_eq!(smb["command"], "SMB2_COMMAND_TREE_CONNECT");
    assert_eq!(smb["status"], "STATUS_SUCCESS");
    assert_eq!(smb["status_code"], "0x0");
    assert_eq!(smb["share"], "\\\\srv\\c$");
    assert_eq!(smb["share_type"], "FILE");
    assert_eq!(smb["session_id"], 0x1122);
    assert!(smb.get("named_pipe").is_none());
}

#[test]
fn a_pipe_tree_is_a_named_pipe() {
    let mut s = SmbState::new();
    s.parse(true, &nbss(&tree_connect(5, "\\\\srv\\IPC$", 0)));
    s.parse(false, &nbss(&tree_connect_response(5, 2)));
    let r = record_of(&s, 0);
    assert_eq!(r["smb"]["named_pipe"], "\\\\srv\\IPC$");
    assert_eq!(r["smb"]["share_type"], "PIPE");
}

#[test]
fn a_compound_chain_makes_one_transaction_per_command() {
    let mut rec = Vec::new();
    for k in 0..3u64 {
        let mut m = tree_connect(k, "\\\\srv\\c$", if k == 2 { 0 } else { 96 });
        m.resize(96, 0);
        rec.extend_from_slice(&m);
    }
    let mut s = SmbState::new();
    s.parse(true, &nbss(&rec));
    let trees = s.txs().filter(|t| matches!(t.kind, Kind::Tree(_))).count();
    assert_eq!(trees, 3);
}

#[test]
fn writes_in_two_records_then_close_make_a_closed_file() {
    let g = [9u8; 16];
    let mut s = SmbState::new();
    let mut stream = nbss(&write(10, g, 0, b"hello "));
    stream.extend_from_slice(&nbss(&write(11, g, 6, b"world")));
    stream.extend_from_slice(&nbss(&close(12, g)));
    for c in stream.chunks(7) {
        assert!(s.parse(true, c));
    }
    let files: Vec<_> = s
        .txs()
        .filter_map(|t| match &t.kind {
            Kind::File(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(files.len(), 1, "one transfer for the handle");
    let f = files[0].tracker.file.as_ref().unwrap_or_else(|| panic!("opened"));
    assert_eq!((f.size, f.state, f.gaps), (11, FileState::Closed, false));
    assert_eq!(files[0].tracker.head, b"hello world");
}

#[test]
fn an_out_of_order_chunk_waits_for_the_hole() {
    let g = [3u8; 16];
    let mut s = SmbState::new();
    s.parse(true, &nbss(&write(20, g, 5, b"world")));
    s.parse(true, &nbss(&write(21, g, 0, b"hello")));
    s.parse(true, &nbss(&close(22, g)));
    let f = s
        .txs()
        .find_map(|t| match &t.kind {
            Kind::File(f) => Some(f),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a transfer"));
    assert_eq!(f.tracker.head, b"helloworld");
}
