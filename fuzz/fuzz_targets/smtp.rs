//! smtp: the first byte picks the split size and the direction pattern; the rest is fed to the
//! SMTP parser (commands, replies, the DATA phase through the MIME decoder), then every
//! transaction's buffers and EVE objects run (their JSON must parse). A second pass feeds the
//! same bytes to the MIME decoder alone, line by line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::smtp::mime::{Mime, Sink};
use picket::app::smtp::SmtpState;
use picket::app::Transaction;
use picket::output::eve::Json;

struct Nothing(u64);
impl Sink for Nothing {
    fn file_open(&mut self, _: &[u8]) {}
    fn file_data(&mut self, d: &[u8]) {
        self.0 += d.len() as u64;
    }
    fn file_close(&mut self) {}
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let mut st = SmtpState::new();
    // a session that reaches the DATA phase, so the message bytes are decoded
    if sel & 0x40 != 0 {
        st.parse_response(b"220 x\r\n");
        st.parse_request(b"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
        st.parse_response(b"250 x\r\n250 x\r\n250 x\r\n354 go\r\n");
    }
    for (i, c) in body.chunks(usize::from(sel & 0x3f).max(1)).enumerate() {
        if sel & 0x80 != 0 && i % 3 == 2 {
            st.parse_response(c);
        } else {
            st.parse_request(c);
        }
    }
    for tx in st.txs() {
        for b in 0..16 {
            tx.buffer(b, true, &mut |x| x.len() > 1 << 30);
        }
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        tx.write_alert_eve(&mut j);
        j.end();
        assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
    }
    let mut m = Mime::new();
    let mut s = Nothing(0);
    for line in body.split(|&c| c == b'\n') {
        m.line(line, 1, &mut s);
    }
    m.complete(&mut s);
});
