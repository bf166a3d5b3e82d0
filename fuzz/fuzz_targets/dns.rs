//! dns: the first byte picks UDP or TCP and the split points; the rest is fed to the DNS
//! parser and to the DNS family's (mDNS, LLMNR) (UDP: as one datagram each way; TCP: as a
//! stream cut in pieces), then every buffer getter and the EVE writer run on what was decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::identify::{probe, DetectStats, ProtoDetect};
use picket::app::dns::family::{FamilyState, Variant};
use picket::app::dns::{parse_message, probe_tcp, probe_udp, DnsState};
use picket::output::eve::Json;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let _ = parse_message(body);
    let _ = probe_udp(body);
    let _ = probe_tcp(body);
    let _ = probe(6 + 11 * (sel & 1), sel & 2 != 0, body, 53, 40000);
    let mut d = ProtoDetect::new(6, 40000, 53);
    d.feed(true, body, &mut DetectStats::default());
    let mut st = DnsState::new();
    if sel & 1 == 0 {
        let _ = st.parse_udp(true, body);
        let _ = st.parse_udp(false, body);
    } else {
        let step = usize::from(sel >> 1).max(1);
        for c in body.chunks(step) {
            let _ = st.parse_tcp(sel & 2 != 0, c);
        }
    }
    for v in [Variant::Mdns, Variant::Llmnr] {
        let mut fam = FamilyState::new(v);
        if sel & 1 == 0 {
            fam.message(true, body);
            fam.message(false, body);
        } else {
            for c in body.chunks(usize::from(sel >> 1).max(1)) {
                fam.tcp(sel & 2 != 0, c);
            }
        }
        for tx in fam.txs.iter() {
            let n = tx.query_names(true).count() + tx.answer_names(false).count() + tx.authority_names().count();
            let _ = n + tx.additional_names().count();
            tx.response_names(&mut |_| false);
            let mut out = Vec::new();
            let mut j = Json::object(&mut out);
            tx.write_eve(&mut j);
            j.end();
            assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
        }
    }
    for tx in st.txs() {
        let _ = tx.query_names().count() + tx.question_names().count() + tx.answer_names().count();
        let _ = tx.rrtypes().count();
        for grouped in [false, true] {
            let mut out = Vec::new();
            let mut j = Json::object(&mut out);
            tx.write_eve(&mut j, grouped);
            j.end();
            assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
        }
    }
});
