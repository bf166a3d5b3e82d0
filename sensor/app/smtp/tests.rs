use super::mime::{Mime, Sink};
use super::*;
use crate::app::plugin::Transaction;

const SESSION: &[(bool, &[u8])] = &[
    (false, b"220 mx.example.com ESMTP\r\n"),
    (true, b"EHLO client.example\r\n"),
    (false, b"250-mx.example.com\r\n250 PIPELINING\r\n"),
    (true, b"MAIL FROM:<alice@example.com> SIZE=100\r\n"),
    (false, b"250 ok\r\n"),
    (true, b"RCPT TO:<bob@example.com>\r\nRCPT TO:<carol@example.com>\r\n"),
    (false, b"250 ok\r\n250 ok\r\n"),
    (true, b"DATA\r\n"),
    (false, b"354 go\r\n"),
    (
        true,
        b"From: Alice <alice@example.com>\r\nTo: bob@example.com, \"C, D\" <carol@example.com>\r\n\
Subject: hello\r\nReceived: from a\r\nReceived: from b\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n\
preamble\r\n--XX\r\nContent-Type: text/plain\r\n\r\nsee http://evil.example/x here\r\n\
--XX\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n\
--XX\r\nContent-Disposition: attachment; filename=q.txt\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\nbreak =41\r\n--XX--\r\n.\r\n",
    ),
    (false, b"250 queued\r\n"),
    (true, b"QUIT\r\n"),
    (false, b"221 bye\r\n"),
];

fn run(msgs: &[(bool, &[u8])], split: usize) -> SmtpState {
    let mut s = SmtpState::new();
    for (to_server, m) in msgs {
        let step = if split == 0 { m.len().max(1) } else { split };
        for p in m.chunks(step) {
            if *to_server {
                s.parse_request(p);
            } else {
                s.parse_response(p);
            }
        }
    }
    s
}

fn json_of(tx: &SmtpTx) -> serde_json::Value {
    let mut out = Vec::new();
    let mut j = crate::output::eve::Json::object(&mut out);
    eve::write(&mut j, tx);
    j.end();
    serde_json::from_slice(&out).expect("json")
}

#[test]
fn a_session_gives_the_envelope_message_and_attachments_in_any_split() {
    for split in [0, 1, 5, 13] {
        let s = run(SESSION, split);
        let txs: Vec<&SmtpTx> = s.txs().collect();
        assert_eq!(txs.len(), 1, "split {split}");
        let t = txs[0];
        assert!(t.record_ready(), "split {split}: the message was accepted and QUIT answered");
        assert_eq!(t.helo.as_deref(), Some(&b"client.example"[..]));
        assert_eq!(t.mail_from.as_deref(), Some(&b"<alice@example.com>"[..]), "options after a space dropped");
        assert_eq!(t.rcpt_to, vec![b"<bob@example.com>".to_vec(), b"<carol@example.com>".to_vec()]);
        let names: Vec<&[u8]> = t.files.iter().map(|f| f.name.as_slice()).collect();
        assert_eq!(names, vec![&b"a.bin"[..], b"q.txt"], "split {split}");
        assert_eq!(t.files[0].size, 11, "base64 decoded across lines: hello world");
        // as Suricata: a quoted-printable line keeps its line end, even before the boundary
        assert_eq!(t.files[1].size, b"softbreak A\r\n".len() as u64, "soft break joined, =41 decoded");
        assert!(t.files.iter().all(|f| f.state == crate::app::files::FileState::Closed));
        assert!(t.file_content.starts_with(b"hello worldsoftbreak A"));
        let v = json_of(t);
        assert_eq!(v["smtp"]["helo"], "client.example");
        assert_eq!(v["smtp"]["rcpt_to"][1], "<carol@example.com>");
        let e = &v["email"];
        assert_eq!(e["from"], "Alice <alice@example.com>");
        assert_eq!(e["to"], serde_json::json!(["bob@example.com", "\"C, D\" <carol@example.com>"]));
        assert_eq!(e["status"], "PARSE_DONE");
        assert_eq!(e["attachment"], serde_json::json!(["a.bin", "q.txt"]));
        assert_eq!(e["url"], serde_json::json!(["evil.example/x"]));
        let m = t.mime.as_deref().expect("mime");
        assert_eq!(m.header(b"subject"), Some(&b"hello"[..]));
        assert_eq!(m.headers_named(b"received").count(), 2);
        assert!(t.events.is_empty(), "split {split}: {:?}", t.events);
    }
}

#[test]
fn buffers_give_envelope_and_headers() {
    let s = run(SESSION, 0);
    let t = s.txs().next().expect("tx");
    let get = |name: &str| {
        let i = detect::BUFFERS.iter().position(|b| b.info.name == name).expect(name) as u16;
        let mut all = Vec::new();
        t.buffer(i, true, &mut |b| {
            all.push(b.to_vec());
            false
        });
        all
    };
    assert_eq!(get("smtp.helo"), vec![b"client.example".to_vec()]);
    assert_eq!(get("smtp.rcpt_to").len(), 2);
    assert_eq!(get("email.subject"), vec![b"hello".to_vec()]);
    assert_eq!(get("email.received"), vec![b"from a".to_vec(), b"from b".to_vec()]);
    assert_eq!(get("file.name"), vec![b"a.bin".to_vec(), b"q.txt".to_vec()]);
    assert_eq!(get("email.url"), vec![b"evil.example/x".to_vec()]);
}

#[test]
fn pipelined_commands_and_rset_quit_open_no_transaction() {
    let s = run(
        &[
            (false, b"220 hi\r\n"),
            (true, b"HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRSET\r\n"),
            (false, b"250 a\r\n250 b\r\n250 c\r\n250 reset\r\n"),
            (true, b"QUIT\r\n"),
            (false, b"221 bye\r\n"),
        ],
        0,
    );
    let txs: Vec<&SmtpTx> = s.txs().collect();
    assert_eq!(txs.len(), 1);
    assert!(txs[0].record_ready(), "RSET's 250 completes the transaction");
    assert!(txs[0].mime.is_none());
    assert!(json_of(txs[0]).get("email").is_none());
}

#[test]
fn starttls_ends_parsing_and_events_are_raised() {
    let mut s =
        run(&[(true, b"EHLO x\r\n"), (false, b"250 ok\r\n"), (true, b"STARTTLS\r\n"), (false, b"220 go\r\n")], 0);
    assert!(s.tls);
    let t = s.txs().next().expect("tx");
    assert!(t.events.contains(&ev::NO_SERVER_WELCOME_MESSAGE), "{:?}", t.events);
    s.parse_request(b"\x16\x03\x01garbage\r\nMAIL FROM:<x>\r\n");
    assert!(s.txs().next().is_some_and(|t| t.mail_from.is_none()), "nothing parsed after TLS");
    let s = run(&[(false, b"220 hi\r\n"), (true, b"STARTTLS\r\n"), (false, b"454 no\r\n")], 0);
    assert!(!s.tls && s.txs().next().is_some_and(|t| t.events.contains(&ev::TLS_REJECTED)));
    let s = run(&[(false, b"xx\r\n")], 0);
    assert_eq!(s.pending_events, vec![ev::INVALID_REPLY]);
}

#[test]
fn bdat_chunks_are_counted_not_parsed() {
    let s = run(
        &[
            (false, b"220 hi\r\n"),
            (true, b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 10 LAST\r\n"),
            (true, b"QUIT\r\nxxxx"),
            (false, b"250 a\r\n250 b\r\n250 c\r\n250 done\r\n"),
        ],
        0,
    );
    let t = s.txs().next().expect("tx");
    assert!(t.record_ready(), "{:?}", t.progress());
    assert_eq!(s.txs().count(), 1, "the chunk's bytes are no commands");
}

struct Collect(Vec<(String, Vec<u8>)>);
impl Sink for Collect {
    fn file_open(&mut self, name: &[u8]) {
        self.0.push((String::from_utf8_lossy(name).into_owned(), Vec::new()));
    }
    fn file_data(&mut self, d: &[u8]) {
        if let Some(l) = self.0.last_mut() {
            l.1.extend_from_slice(d);
        }
    }
    fn file_close(&mut self) {}
}

#[test]
fn mime_limits_are_bounded_counted_and_warned() {
    let mut m = Mime::new();
    let mut c = Collect(Vec::new());
    for i in 0..(mime::MAX_HEADERS + 10) {
        m.line(format!("X-H{i}: v").as_bytes(), 2, &mut c);
    }
    let long = vec![b'a'; mime::MAX_HEADER_VALUE + 10];
    let mut h = b"Y: ".to_vec();
    h.extend_from_slice(&long);
    m.line(&h, 2, &mut c);
    assert_eq!(m.main_headers().len(), mime::MAX_HEADERS);
    assert_eq!(m.dropped, 11);
    let mut m = Mime::new();
    let mut b = b"Content-Type: multipart/mixed; boundary=".to_vec();
    b.extend_from_slice(&vec![b'b'; 300]);
    assert_eq!(m.line(&b, 2, &mut c), 0);
    assert_eq!(m.line(b"", 2, &mut c) & mime::W_LONG_BOUNDARY, mime::W_LONG_BOUNDARY);
    let mut m = Mime::new();
    m.line(b"Content-Type: text/plain; name=x", 2, &mut c);
    m.line(b"Content-Transfer-Encoding: base64", 2, &mut c);
    m.line(b"", 2, &mut c);
    assert_eq!(m.line(b"!!!!", 2, &mut c) & mime::W_INVALID_BASE64, mime::W_INVALID_BASE64);
}

#[test]
fn header_tokens_as_suricata_reads_them() {
    assert_eq!(mime::header_token(b"attachment; filename=\"a b.txt\"", b"filename"), Some(b"a b.txt".to_vec()));
    assert_eq!(mime::header_token(b"text/plain; name=x.y ; charset=utf8", b"name"), Some(b"x.y".to_vec()));
    assert_eq!(mime::header_token(b"a; name*0=ab; name*1=cd", b"name"), Some(b"abcd".to_vec()));
    assert_eq!(mime::header_token(b"text/plain", b"name"), None);
}

#[test]
fn long_lines_are_cut_with_an_event() {
    let mut s = run(&[(false, b"220 hi\r\n"), (true, b"HELO x\r\n")], 0);
    let long = vec![b'a'; MAX_LINE + 100];
    s.parse_request(&long);
    s.parse_request(b"\r\nMAIL FROM:<z>\r\n");
    assert_eq!(s.stats.lines_truncated, 1);
    assert!(s.txs().next().is_some_and(|t| t.events.contains(&ev::TRUNCATED_LINE)));
}

#[test]
fn each_command_before_the_welcome_raises_its_event() {
    // Suricata keeps every occurrence (its anomaly records list each)
    let s = run(&[(true, b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n")], 0);
    let t = s.txs().next().expect("tx");
    let n = t.events.iter().filter(|&&e| e == ev::NO_SERVER_WELCOME_MESSAGE).count();
    assert_eq!(n, 3, "{:?}", t.events);
}
