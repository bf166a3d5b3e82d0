//! NFS parser tests: calls and replies built word by word, over UDP and over TCP cut at
//! every byte, with a gap.

use super::*;

fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// An NFSv3 call with AUTH_UNIX credentials (machine "host", uid 7, gid 8).
fn call(xid: u32, procedure: u32, args: &[u8]) -> Vec<u8> {
    let mut m = words(&[xid, 0, 2, NFS_PROGRAM, 3, procedure, 1, 24, 0, 4]);
    m.extend_from_slice(b"host");
    m.extend(words(&[7, 8, 0, 0, 0]));
    m.extend_from_slice(args);
    m
}

/// An accepted reply.
fn reply(xid: u32, results: &[u8]) -> Vec<u8> {
    let mut m = words(&[xid, 1, 0, 0, 0, 0]);
    m.extend_from_slice(results);
    m
}

const FH: [u32; 2] = [4, 0xfeed];

/// LOOKUP "a" in the root, its reply with the file's handle, then a READ of it with its
/// reply carrying "hello" at end of file.
fn session() -> Vec<(bool, Vec<u8>)> {
    let mut lookup = words(&[4, 1, 1]);
    lookup.extend_from_slice(b"a\0\0\0");
    let mut lookup_r = words(&[0]);
    lookup_r.extend(words(&FH));
    let mut read = words(&FH);
    read.extend(words(&[0, 0, 5]));
    let mut read_r = words(&[0, 0]);
    read_r.extend(vec![0; 84]);
    read_r.extend(words(&[5, 1, 5]));
    read_r.extend_from_slice(b"hello\0\0\0");
    vec![
        (true, call(1, 3, &lookup)),
        (false, reply(1, &lookup_r)),
        (true, call(2, 6, &read)),
        (false, reply(2, &read_r)),
    ]
}

fn check(st: &NfsState) {
    let txs: Vec<&NfsTx> = st.txs().collect();
    assert_eq!(txs.len(), 2, "{txs:#?}");
    let (l, r) = (txs[0], txs[1]);
    assert_eq!((l.procedure, l.file_name.as_slice(), l.handle.as_slice()), (3, &b"a"[..], &[0, 0, 0xfe, 0xed][..]));
    assert!(l.request_done && l.response_done);
    let c = l.creds.clone().unwrap_or_default();
    assert_eq!((c.machine_name.as_slice(), c.uid, c.gid), (&b"host"[..], 7, 8));
    // the READ's file transaction has the name LOOKUP gave the handle
    assert_eq!((r.procedure, r.file_name.as_slice(), r.is_first, r.is_last), (6, &b"a"[..], true, true));
    let f = r.file.as_ref().and_then(|f| f.tracker.file.as_ref()).unwrap_or_else(|| panic!("a file"));
    assert_eq!((f.size, f.state.name(), f.name.as_slice()), (5, "CLOSED", &b"a"[..]));
    assert!(r.request_done && r.response_done);
    let mut out = Vec::new();
    let mut j = crate::output::eve::Json::object(&mut out);
    l.write_eve(&mut j);
    j.end();
    let s = String::from_utf8_lossy(&out);
    assert!(s.contains(r#""procedure":"LOOKUP","filename":"a","hhash":""#), "{s}");
    assert!(s.contains(r#""creds":{"machine_name":"host","uid":7,"gid":8}"#), "{s}");
}

#[test]
fn udp_lookup_then_read_makes_a_named_file() {
    let mut st = NfsState::new(true);
    for (ts, m) in session() {
        st.parse_udp(ts, &m);
    }
    check(&st);
    assert_eq!((st.stats.calls, st.stats.replies, st.stats.malformed), (2, 2, 0));
}

#[test]
fn tcp_records_give_the_same_at_any_split() {
    for step in [1, 3, 7, 1000] {
        let mut st = NfsState::new(false);
        for (ts, m) in session() {
            let mut rec = (0x8000_0000u32 | m.len() as u32).to_be_bytes().to_vec();
            rec.extend_from_slice(&m);
            for c in rec.chunks(step) {
                st.parse_tcp(ts, c);
            }
        }
        check(&st);
    }
}

#[test]
fn a_gap_is_crossed_at_the_next_record() {
    let mut st = NfsState::new(false);
    let s = session();
    let rec = |m: &[u8]| {
        let mut r = (0x8000_0000u32 | m.len() as u32).to_be_bytes().to_vec();
        r.extend_from_slice(m);
        r
    };
    // half of the first call is lost, then garbage, then the rest of the session
    let first = rec(&s[0].1);
    st.parse_tcp(true, &first[..10]);
    st.gap_tcp(true, 20);
    st.parse_tcp(true, b"\x01\x02\x03");
    for (ts, m) in s.iter().skip(1) {
        st.parse_tcp(*ts, &rec(m));
    }
    let txs: Vec<&NfsTx> = st.txs().collect();
    assert_eq!(txs.len(), 1, "the READ's file transaction only");
    assert_eq!(txs[0].procedure, 6);
    assert!(st.stats.resync_bytes >= 3);
    assert_eq!(st.stats.replies_unmatched, 1, "the LOOKUP reply");
}

#[test]
fn probes() {
    let s = session();
    assert_eq!(probe_udp(true, &s[0].1), ProbeResult::Found(AppProto::Nfs));
    assert_eq!(probe_udp(false, &s[1].1), ProbeResult::Found(AppProto::Nfs));
    assert_eq!(probe_udp(true, &s[1].1), ProbeResult::NotFound);
    let mut rec = (0x8000_0000u32 | s[0].1.len() as u32).to_be_bytes().to_vec();
    rec.extend_from_slice(&s[0].1);
    assert_eq!(probe_tcp(true, &rec), ProbeResult::Found(AppProto::Nfs));
    assert_eq!(probe_tcp(true, &rec[..20]), ProbeResult::NeedMore);
    assert_eq!(probe_tcp(false, &rec), ProbeResult::NotFound);
}
