use super::*;
use crate::app::expect::Expectations;
use crate::capture::Timestamp;

fn ends() -> Endpoints {
    let mut src = [0; 16];
    let mut dst = [0; 16];
    src[..4].copy_from_slice(&[192, 168, 0, 13]);
    dst[..4].copy_from_slice(&[192, 168, 0, 1]);
    Endpoints { src, dst, sp: 40000, dp: 21 }
}

/// Feeds a session, each message split at `split` (0: whole), and returns the state.
fn run(table: &Expectations, msgs: &[(bool, &[u8])], split: usize) -> FtpState {
    let mut s = FtpState::new();
    let a = Announce { table, ends: ends(), flow_id: 77, now: Timestamp::from_parts(1000, 0) };
    for (to_server, m) in msgs {
        let parts: Vec<&[u8]> = if split == 0 || split >= m.len() { vec![m] } else { vec![&m[..split], &m[split..]] };
        for p in parts {
            if *to_server {
                s.parse_request(p, &a, [192, 168, 0, 13]);
            } else {
                s.parse_response(p);
            }
        }
    }
    s
}

const SESSION: &[(bool, &[u8])] = &[
    (false, b"220 (vsFTPd 3.0.3)\r\n"),
    (true, b"USER anonymous\r\n"),
    (false, b"331 Please specify the password.\r\n"),
    (true, b"PASS anonymous\r\n"),
    (false, b"230-Welcome\r\n230 Login successful.\r\n"),
    (true, b"PORT 192,168,0,13,234,10\r\n"),
    (false, b"200 PORT command successful.\r\n"),
    (true, b"RETR temp.txt\r\n"),
    (false, b"150 Opening BINARY mode data connection for temp.txt (1164 bytes).\r\n"),
    (false, b"226 Transfer complete.\r\n"),
];

#[test]
fn a_session_gives_suricatas_transactions_in_any_split() {
    for split in [0, 1, 3, 7] {
        let table = Expectations::new();
        let s = run(&table, SESSION, split);
        let txs: Vec<&FtpTx> = s.txs().collect();
        assert_eq!(txs.len(), 5, "split {split}");
        // the banner: replies only, no command
        assert!(txs[0].replies_only && txs[0].command().is_none() && txs[0].done);
        assert_eq!(txs[0].replies[0].code, b"220");
        assert_eq!(txs[1].command().map(|c| c.0), Some("USER"));
        assert_eq!(txs[1].request, b"USER anonymous");
        assert_eq!(
            txs[1].replies,
            vec![Reply { code: b"331".to_vec(), text: b"Please specify the password.".to_vec(), truncated: false }]
        );
        // a multi-line reply in one chunk stays with its command
        assert_eq!(txs[2].replies.len(), 2);
        assert_eq!((txs[3].dyn_port, txs[3].active), (59914, true));
        assert!(txs[3].command().is_some_and(|c| c.1 == Cmd::Port) && !txs[3].bounce);
        // the 150 kept RETR open; the 226 closed it
        let retr = txs[4];
        assert_eq!(retr.replies.iter().map(|r| r.code.as_slice()).collect::<Vec<_>>(), vec![&b"150"[..], b"226"]);
        assert!(retr.done);
        // RETR in active mode announced a connection from the server to the client's port,
        // its data going to the initiator's peer (to server of the data flow)
        assert_eq!(table.len(), 1, "split {split}");
        let mut st = ExpectStats::default();
        let data_ends = Endpoints { src: ends().dst, dst: ends().src, sp: 20, dp: 59914 };
        let e = table.take(&data_ends, true, Timestamp::from_parts(1001, 0), &mut st).expect("announced");
        let t = e.data.downcast::<Transfer>().expect("transfer");
        assert_eq!((t.cmd, t.file_name.as_deref()), (Cmd::Retr, Some(&b"temp.txt"[..])));
        assert_eq!(e.parent_flow_id, 77);
    }
}

#[test]
fn passive_mode_announces_the_servers_port_for_the_clients_connection() {
    let table = Expectations::new();
    let s = run(
        &table,
        &[(true, b"PASV\r\n"), (false, b"227 Entering Passive Mode (192,168,0,1,221,243).\r\n"), (true, b"LIST\r\n")],
        0,
    );
    let pasv = s.txs().next().expect("tx");
    assert_eq!((pasv.dyn_port, pasv.active), (56819, false));
    let mut st = ExpectStats::default();
    // passive LIST: the client connects to the server's port, data flows back to it
    let data_ends = Endpoints { sp: 51000, dp: 56819, ..ends() };
    assert!(table.take(&data_ends, true, Timestamp::from_parts(1000, 0), &mut st).is_none());
    let e = table.take(&data_ends, false, Timestamp::from_parts(1000, 0), &mut st).expect("announced");
    assert_eq!(e.data.downcast::<Transfer>().expect("t").file_name, None);
}

#[test]
fn events_for_files_without_port_or_name_and_bounce() {
    let table = Expectations::new();
    let s = run(&table, &[(true, b"RETR x.bin\r\n"), (true, b"STOR\r\n"), (true, b"PORT 10,0,0,9,1,2\r\n")], 0);
    let txs: Vec<&FtpTx> = s.txs().collect();
    assert_eq!(txs[0].events, vec![EV_FILE_BEFORE_PORT]);
    assert_eq!(txs[1].events, vec![EV_FILE_WITHOUT_NAME]);
    assert!(txs[2].bounce, "PORT to another host than the client");
    assert!(table.is_empty());
}

#[test]
fn long_lines_are_cut_with_an_event_and_the_rest_skipped() {
    let table = Expectations::new();
    let mut long = b"RETR ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 5000));
    long.extend_from_slice(b"\r\nNOOP\r\n");
    let s = run(&table, &[(true, &long), (true, b"USER x\r\n")], 0);
    let txs: Vec<&FtpTx> = s.txs().collect();
    // the NOOP in the same chunk as the cut line is skipped, as Suricata skips it
    assert_eq!(txs.len(), 2);
    assert!(txs[0].request_truncated);
    assert_eq!(txs[0].events, vec![EV_REQUEST_TOO_LONG, EV_FILE_BEFORE_PORT]);
    assert_eq!(txs[0].request.len(), MAX_LINE);
    assert_eq!(txs[1].command().map(|c| c.0), Some("USER"));
    // a reply line without end, longer than the limit
    let mut s = FtpState::new();
    s.parse_response(&vec![b'x'; MAX_LINE + 10]);
    s.parse_response(b"yyy\r\n220 ok\r\n");
    let t = s.txs().next().expect("tx");
    assert!(t.events.contains(&EV_RESPONSE_TOO_LONG) && t.replies[0].truncated);
}

#[test]
fn replies_after_a_completed_chunk_start_a_new_transaction() {
    let table = Expectations::new();
    let s = run(&table, &[(true, b"NOOP\r\n"), (false, b"200 ok\r\n"), (false, b"421 Timeout.\r\n")], 0);
    let txs: Vec<&FtpTx> = s.txs().collect();
    assert_eq!(txs.len(), 2);
    assert!(txs[1].replies_only && txs[1].replies[0].code == b"421");
}

#[test]
fn unknown_commands_open_nothing_and_their_reply_unnames_the_transaction() {
    let table = Expectations::new();
    let s =
        run(&table, &[(true, b"USER a\r\n"), (false, b"331 pw\r\n"), (true, b"XYZZ\r\n"), (false, b"500 ?\r\n")], 0);
    let txs: Vec<&FtpTx> = s.txs().collect();
    assert_eq!(txs.len(), 2);
    assert!(txs[1].replies_only && txs[1].command().is_none());
    assert_eq!(s.stats.unknown_commands, 1);
}

#[test]
fn transactions_and_replies_are_bounded_and_counted() {
    let table = Expectations::new();
    let mut s = FtpState::new();
    let a = Announce { table: &table, ends: ends(), flow_id: 1, now: Timestamp::from_parts(1, 0) };
    for _ in 0..(MAX_TXS + 10) {
        s.parse_request(b"NOOP\r\n", &a, [0; 4]);
    }
    assert_eq!(s.txs().count(), MAX_TXS);
    assert_eq!(s.stats.txs_evicted, 10);
    let mut s = FtpState::new();
    s.parse_request(b"STAT\r\n", &a, [0; 4]);
    let many: Vec<u8> = b"211-x\r\n".repeat(MAX_REPLIES + 5);
    s.parse_response(&many);
    assert_eq!(s.txs().next().map(|t| t.replies.len()), Some(MAX_REPLIES));
    assert_eq!(s.stats.replies_dropped, 5);
}

#[test]
fn the_transaction_id_limit_ends_parsing_as_suricatas_max_tx() {
    let table = Expectations::new();
    let mut s = FtpState::new();
    let a = Announce { table: &table, ends: ends(), flow_id: 1, now: Timestamp::from_parts(1, 0) };
    // nothing frees them (no detection): evicted past MAX_TXS, so the id span stays small
    let mut ok = true;
    for _ in 0..2000 {
        ok &= s.parse_request(b"NOOP\r\n", &a, [0; 4]);
    }
    assert!(ok, "eviction keeps the span under the limit");
    assert_eq!(s.stats.too_many_txs, 0);
}

fn cx_parts() -> (crate::app::AppConfig, crate::app::AppStats, crate::app::flow::FlowMeta) {
    let meta = crate::app::flow::FlowMeta { ends: ends(), ..Default::default() };
    (crate::app::AppConfig::default(), crate::app::AppStats::default(), meta)
}

#[test]
fn a_gap_ends_the_control_channels_parsing_as_suricata() {
    // Suricata's FTP parser does not accept gaps: a lost segment is an app-layer error and no
    // transaction is opened after it (on mix.pcap a lost RETR otherwise made thousands of
    // records Suricata does not write)
    use crate::app::plugin::{AppParser, ParseCx, Status};
    let (cfg, mut stats, meta) = cx_parts();
    let mut s = FtpState::new();
    let mut frames = crate::app::frames::Frames::default();
    let mut cx = ParseCx { cfg: &cfg, stats: &mut stats, udp: false, flow: &meta, frames: &mut frames };
    assert_eq!(s.parse(true, b"USER a\r\n", &mut cx), Status::Continue);
    assert_eq!(s.gap(true, 27, &mut cx), Status::Stop);
    assert_eq!(s.gap(false, 10, &mut cx), Status::Stop);
}

#[test]
fn the_ftp_record_has_suricatas_fields() {
    let table = Expectations::new();
    let s = run(&table, SESSION, 0);
    let retr = s.txs().nth(4).expect("RETR");
    let mut out = Vec::new();
    let mut j = crate::output::eve::Json::object(&mut out);
    eve::write_ftp(&mut j, retr);
    j.end();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let f = &v["ftp"];
    assert_eq!(f["command"], "RETR");
    assert_eq!(f["command_data"], "temp.txt");
    assert_eq!(f["command_truncated"], false);
    assert_eq!(f["completion_code"], serde_json::json!(["150", "226"]));
    assert_eq!(f["reply"][1], "Transfer complete.");
    assert_eq!(f["reply_received"], "yes");
    assert_eq!(f["reply_truncated"], false);
    assert!(f.get("mode").is_none() && f.get("dynamic_port").is_none(), "{f}");
    let port = s.txs().nth(3).expect("PORT");
    let mut out = Vec::new();
    let mut j = crate::output::eve::Json::object(&mut out);
    eve::write_ftp(&mut j, port);
    j.end();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["ftp"]["dynamic_port"], 59914);
    assert_eq!(v["ftp"]["mode"], "active");
}

#[test]
fn the_data_connection_writes_an_ftp_data_record_and_a_file() {
    use crate::app::plugin::{AppParser, ParseCx, Transaction};
    let (cfg, mut stats, meta) = cx_parts();
    let mut d = data::FtpDataState::default();
    d.expected(false, Box::new(Transfer { cmd: Cmd::Retr, file_name: Some(b"temp.txt".to_vec()) }));
    let mut frames = crate::app::frames::Frames::default();
    let mut cx = ParseCx { cfg: &cfg, stats: &mut stats, udp: false, flow: &meta, frames: &mut frames };
    // bytes the other way do not count
    d.parse(true, b"ignored", &mut cx);
    d.parse(false, b"hello ", &mut cx);
    d.parse(false, b"world", &mut cx);
    assert!(!d.record_ready(), "open until its direction ends");
    d.eof(false, &mut cx);
    assert!(d.record_ready());
    let mut out = Vec::new();
    let mut j = crate::output::eve::Json::object(&mut out);
    let rcx = crate::app::RecordCx { cfg: &cfg };
    assert!(d.write_record(&mut j, &rcx));
    j.end();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v, serde_json::json!({"ftp_data": {"filename": "temp.txt", "command": "RETR"}}));
    let mut files = Vec::new();
    d.files(&mut |f| files.push((f.name.clone(), f.size, f.state)));
    assert_eq!(files, vec![(b"temp.txt".to_vec(), 11, crate::app::files::FileState::Closed)]);
    assert_eq!(stats.ftp.data_bytes, 11);
}

#[test]
fn ftp_data_records_come_with_the_ftp_record_type() {
    // Suricata's `eve-log.ftp` logger writes both; `types: [ftp]` turns both on
    let types = vec!["ftp".to_string()];
    assert!(crate::output::type_listed(&types, "ftp_data"));
    assert!(!crate::output::type_listed(&["dns".to_string()], "ftp_data"));
}
