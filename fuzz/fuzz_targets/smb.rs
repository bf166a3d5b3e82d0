//! smb: SMB (NBSS records, SMB1/2/3, DCE/RPC over pipes) and DCE/RPC over TCP and UDP. The
//! first byte picks the split size and the direction pattern (and a gap now and then); the
//! rest is fed to an SMB state and a DCE/RPC state as streams in pieces, and to DCE/RPC's UDP
//! parser as one datagram; then every buffer getter, the events, files and the EVE writer
//! runs on every transaction, and the output must be JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::dcerpc::DcerpcState;
use picket::app::smb::SmbState;
use picket::app::Transaction;
use picket::output::eve::Json;

fn check_tx(tx: &dyn Transaction) {
    let _ = (tx.id(), tx.progress(), tx.record_ready(), tx.events().len());
    let mut files = 0usize;
    tx.files(&mut |_| files += 1);
    for b in 0..24u16 {
        for to_server in [true, false] {
            tx.buffer(b, to_server, &mut |d| {
                let _ = d.len();
                false
            });
        }
    }
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_alert_eve(&mut j);
    j.end();
    assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok(), "{}", String::from_utf8_lossy(&out));
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let step = usize::from(sel & 0x1f).max(1) * 7;
    let mut smb = SmbState::new();
    let mut dce = DcerpcState::new();
    for (i, c) in body.chunks(step).enumerate() {
        let to_server = if sel & 0x80 != 0 { i % 2 == 0 } else { sel & 0x40 == 0 };
        if sel & 0x20 != 0 && i % 5 == 4 {
            smb.gap(to_server, c.len() as u64);
            dce.gap();
            continue;
        }
        let _ = smb.parse(to_server, c);
        let _ = dce.parse_tcp(to_server, c);
    }
    smb.eof(true);
    smb.eof(false);
    let mut udp = DcerpcState::new();
    let _ = udp.parse_udp(body);
    for t in smb.txs() {
        check_tx(t);
    }
    for t in dce.txs().chain(udp.txs()) {
        check_tx(t);
    }
});
