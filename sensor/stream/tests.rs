//! Stream tests: session states, reassembly as the app layer sees it, gaps, bounds, and the
//! property that any segmentation, order and duplication of a stream reassembles to the
//! original and makes a content rule fire exactly once.

use super::*;
use proptest::prelude::*;

/// Records what the app layer receives.
#[derive(Default, Debug)]
struct Rec {
    data: [Vec<u8>; 2],
    gaps: [u64; 2],
    eof: [bool; 2],
    /// Asks for raw inspection of the direction whose data it takes (a parser that completed
    /// a unit with every call).
    trigger: bool,
}

impl AppSink for Rec {
    fn data(&mut self, to_server: bool, _off: u64, data: &[u8]) -> Verdict {
        self.data[if to_server { 0 } else { 1 }].extend_from_slice(data);
        Verdict::Consumed
    }
    fn gap(&mut self, to_server: bool, len: u64) -> Verdict {
        let d = if to_server { 0 } else { 1 };
        self.gaps[d] += len;
        // the app layer sees a hole: keep positions honest in the record
        self.data[d].extend(std::iter::repeat_n(b'?', len as usize));
        Verdict::Consumed
    }
    fn eof(&mut self, to_server: bool) {
        self.eof[if to_server { 0 } else { 1 }] = true;
    }
    fn take_raw_trigger(&mut self) -> [bool; 2] {
        // the client's data was taken: ask for its raw inspection
        [self.trigger && !self.data[0].is_empty(), false]
    }
}

const CISN: u32 = 1000;
const SISN: u32 = 5000;

struct T {
    e: StreamEngine,
    s: Option<Box<TcpSession>>,
    c: Counters,
    app: Rec,
}

impl T {
    fn new(cfg: StreamConfig) -> T {
        T { e: StreamEngine::new(cfg, true), s: None, c: Counters::new(), app: Rec::default() }
    }
    fn pkt(&mut self, to_server: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Outcome {
        let seg = Seg { seq, ack, flags, win: 65535, payload, syn: SynOptions::default(), auth: false };
        self.e.packet(&mut self.s, to_server, &seg, &mut self.app, &mut self.c)
    }
    fn handshake(&mut self, cisn: u32, sisn: u32) {
        self.pkt(true, cisn, 0, SYN, b"");
        self.pkt(false, sisn, cisn.wrapping_add(1), SYN | ACK, b"");
        self.pkt(true, cisn.wrapping_add(1), sisn.wrapping_add(1), ACK, b"");
    }
    fn state(&self) -> TcpState {
        self.s.as_ref().map_or(TcpState::None, |s| s.state)
    }
    fn finish(&mut self) -> [bool; 2] {
        let Some(mut s) = self.s.take() else { return [false; 2] };
        let r = [0, 1].map(|d| self.e.finish_dir(&mut s, d, &mut self.app, &mut self.c));
        self.s = Some(s);
        r
    }
}

#[test]
fn handshake_data_and_close_states() {
    let mut t = T::new(StreamConfig::default());
    assert!(!t.pkt(true, CISN, 0, SYN, b"").established);
    assert_eq!(t.state(), TcpState::SynSent);
    assert_eq!(t.c.get(C::TcpSessions), 1);
    t.pkt(false, SISN, CISN + 1, SYN | ACK, b"");
    assert_eq!(t.state(), TcpState::SynRecv);
    let o = t.pkt(true, CISN + 1, SISN + 1, ACK, b"");
    assert!(o.established);
    assert_eq!(t.state(), TcpState::Established);
    let o = t.pkt(true, CISN + 1, SISN + 1, ACK | 0x08, b"GET / HTTP/1.0\r\n\r\n");
    assert!(o.stream_add);
    // not acknowledged yet: the app layer has nothing
    assert!(t.app.data[0].is_empty());
    t.pkt(false, SISN + 1, CISN + 19, ACK, b"HTTP/1.0 200 OK\r\n\r\n");
    assert_eq!(t.app.data[0], b"GET / HTTP/1.0\r\n\r\n");
    // the client closes first: CLOSE_WAIT, then the server's FIN: LAST_ACK, final ACK: CLOSED
    t.pkt(true, CISN + 19, SISN + 20, ACK | FIN, b"");
    assert_eq!(t.state(), TcpState::CloseWait);
    assert_eq!(t.app.data[1], b"HTTP/1.0 200 OK\r\n\r\n");
    t.pkt(false, SISN + 20, CISN + 20, ACK | FIN, b"");
    assert_eq!(t.state(), TcpState::LastAck);
    t.pkt(true, CISN + 20, SISN + 21, ACK, b"");
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(t.c.get(C::TcpReassemblyGap), 0);
}

#[test]
fn tcp_fast_open_data_on_the_syn_is_the_streams_first_bytes() {
    // accepted: the SYN/ACK acknowledges the SYN's data, the next segment follows it
    let mut t = T::new(StreamConfig::default());
    t.pkt(true, CISN, 0, SYN, b"GET /a");
    t.pkt(false, SISN, CISN + 7, SYN | ACK, b"");
    assert_eq!(t.state(), TcpState::SynRecv);
    assert_eq!(t.app.data[0], b"GET /a", "acknowledged with the SYN/ACK");
    assert!(t.pkt(true, CISN + 7, SISN + 1, ACK, b"b HTTP/1.0\r\n\r\n").stream_add);
    assert_eq!(t.state(), TcpState::Established);
    t.pkt(false, SISN + 1, CISN + 23, ACK, b"HTTP/1.0 200 OK\r\n\r\n");
    assert_eq!(t.app.data[0], b"GET /ab HTTP/1.0\r\n\r\n");
    assert_eq!(t.c.get(C::StreamSynackInvalid), 0);
    // refused: the SYN/ACK acknowledges the SYN alone, the client sends the data again
    let mut t = T::new(StreamConfig::default());
    t.pkt(true, CISN, 0, SYN, b"GET /a");
    let o = t.pkt(false, SISN, CISN + 1, SYN | ACK, b"");
    assert!(o.events.iter().any(|e| e == Event::Stream3whsSynackTfoDataIgnored), "{:?}", o.events);
    t.pkt(true, CISN + 1, SISN + 1, ACK, b"GET /ab HTTP/1.0\r\n\r\n");
    t.pkt(false, SISN + 1, CISN + 23, ACK, b"HTTP/1.0 200 OK\r\n\r\n");
    assert_eq!(t.app.data[0], b"GET /ab HTTP/1.0\r\n\r\n");
    // neither: a wrong acknowledgement
    let mut t = T::new(StreamConfig::default());
    t.pkt(true, CISN, 0, SYN, b"GET /a");
    t.pkt(false, SISN, CISN + 3, SYN | ACK, b"");
    assert_eq!((t.state(), t.c.get(C::StreamSynackInvalid)), (TcpState::SynSent, 1));
}

#[test]
fn server_closes_first() {
    let mut t = T::new(StreamConfig::default());
    t.handshake(CISN, SISN);
    t.pkt(false, SISN + 1, CISN + 1, ACK | FIN, b"bye");
    assert_eq!(t.state(), TcpState::FinWait1);
    t.pkt(true, CISN + 1, SISN + 5, ACK, b"");
    assert_eq!(t.state(), TcpState::FinWait2);
    t.pkt(true, CISN + 1, SISN + 5, ACK | FIN, b"");
    assert_eq!(t.state(), TcpState::TimeWait);
    t.pkt(false, SISN + 5, CISN + 2, ACK, b"");
    assert_eq!(t.state(), TcpState::Closed);
    assert_eq!(t.app.data[1], b"bye");
}

#[test]
fn rst_closes_and_no_session_without_syn() {
    let mut t = T::new(StreamConfig::default());
    // midstream off: an ACK opens nothing
    let o = t.pkt(true, 77, 88, ACK, b"data");
    assert!(!o.session);
    assert!(t.s.is_none());
    t.handshake(CISN, SISN);
    t.pkt(false, SISN + 1, CISN + 1, RST | ACK, b"");
    assert_eq!(t.state(), TcpState::Closed);
    assert!(t.s.as_ref().is_some_and(|s| s.closed_by_rst()));
}

#[test]
fn a_signed_rst_whose_sender_goes_on_looks_injected() {
    // a RST with a TCP MD5 signature the receiver may refuse: the client goes on sending, so
    // the session resumes, with stream.suspected_rst_inject; an unsigned one ends it
    for auth in [true, false] {
        let mut t = T::new(StreamConfig::default());
        t.handshake(CISN, SISN);
        let rst = Seg {
            seq: CISN + 1,
            ack: SISN + 1,
            flags: RST | ACK,
            win: 0,
            payload: b"",
            syn: SynOptions::default(),
            auth,
        };
        t.e.packet(&mut t.s, true, &rst, &mut t.app, &mut t.c);
        assert_eq!(t.state(), TcpState::Closed);
        let o = t.pkt(true, CISN + 1, SISN + 1, ACK, b"GET / HTTP/1.0\r\n\r\n");
        let injected = o.events.iter().any(|e| e == Event::StreamSuspectedRstInject);
        assert_eq!((injected, t.state() == TcpState::Established, o.stream_add), (auth, auth, auth));
    }
}

#[test]
fn midstream_pickup_when_enabled() {
    let mut t = T::new(StreamConfig { midstream: true, ..StreamConfig::default() });
    let o = t.pkt(true, 7000, 9000, ACK, b"hello ");
    assert!(o.session && o.established && o.stream_add);
    assert_eq!(t.c.get(C::TcpMidstreamPickups), 1);
    t.pkt(false, 9000, 7006, ACK, b"");
    assert_eq!(t.app.data[0], b"hello ");
}

/// An app layer that reads the first data it is offered as the server's ([`Verdict::Reverse`]
/// once), then takes everything; records the direction of every offer.
#[derive(Default)]
struct Turning {
    offers: Vec<bool>,
    data: [Vec<u8>; 2],
    midstream: bool,
}

impl AppSink for Turning {
    fn data(&mut self, to_server: bool, _off: u64, data: &[u8]) -> Verdict {
        self.offers.push(to_server);
        if self.offers.len() == 1 {
            return Verdict::Reverse;
        }
        self.data[usize::from(!to_server)].extend_from_slice(data);
        Verdict::Consumed
    }
    fn gap(&mut self, _: bool, _: u64) -> Verdict {
        Verdict::Consumed
    }
    fn eof(&mut self, _: bool) {}
    fn picked_up_midstream(&mut self) {
        self.midstream = true;
    }
}

#[test]
fn a_midstream_session_is_turned_around_when_the_app_layer_finds_the_server_spoke() {
    let resp = b"HTTP/1.1 200 OK\r\n\r\n";
    let n = resp.len() as u32;
    fn seg(seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Seg<'_> {
        Seg { seq, ack, flags, win: 65535, payload, syn: SynOptions::default(), auth: false }
    }
    let mut c = Counters::new();
    // picked up from a data packet: the directions swap, the data is offered again as the
    // server's, and the next packet of its sender (to the client now) goes on from there
    let mut e = StreamEngine::new(StreamConfig { midstream: true, ..StreamConfig::default() }, true);
    let mut s = None;
    let mut app = Turning::default();
    e.packet(&mut s, true, &seg(7000, 9000, ACK, resp), &mut app, &mut c);
    let o = e.packet(&mut s, false, &seg(9000, 7000 + n, ACK, &[]), &mut app, &mut c);
    assert!(o.session && app.midstream);
    assert_eq!(app.offers, [true, false]);
    assert_eq!(app.data[1], resp);
    let ssn = s.as_deref().unwrap();
    assert_eq!((ssn.dirs[0].app_progress, ssn.dirs[1].app_progress), (0, u64::from(n)));
    e.packet(&mut s, false, &seg(7000 + n, 9000, ACK, b"more"), &mut app, &mut c);
    e.packet(&mut s, true, &seg(9000, 7000 + n + 4, ACK, &[]), &mut app, &mut c);
    assert_eq!(app.data[1], b"HTTP/1.1 200 OK\r\n\r\nmore");
    // the same data at flow end (no ACK came): the direction ended is the client's now
    let mut s = None;
    let mut app = Turning::default();
    e.packet(&mut s, true, &seg(7000, 9000, ACK, resp), &mut app, &mut c);
    let ssn = s.as_deref_mut().unwrap();
    e.finish_dir(ssn, 0, &mut app, &mut c);
    assert_eq!((app.offers.as_slice(), app.data[1].as_slice()), (&[true, false][..], &resp[..]));
    assert!(ssn.dirs[0].buf.is_empty() && !ssn.dirs[1].buf.is_empty());
    // a session picked up from a SYN/ACK, or opened by a SYN, keeps its direction: the data
    // is offered again as it was
    for synack in [true, false] {
        let mut s = None;
        let mut app = Turning::default();
        if synack {
            e.packet(&mut s, false, &seg(SISN, CISN + 1, SYN | ACK, &[]), &mut app, &mut c);
        } else {
            e.packet(&mut s, true, &seg(CISN, 0, SYN, &[]), &mut app, &mut c);
            e.packet(&mut s, false, &seg(SISN, CISN + 1, SYN | ACK, &[]), &mut app, &mut c);
        }
        e.packet(&mut s, true, &seg(CISN + 1, SISN + 1, ACK, resp), &mut app, &mut c);
        e.packet(&mut s, false, &seg(SISN + 1, CISN + 1 + n, ACK, &[]), &mut app, &mut c);
        assert_eq!(app.offers, [true, true], "synack {synack}");
        assert!(!app.midstream, "its client is known");
        assert_eq!(app.data[0], resp, "synack {synack}");
    }
}

#[test]
fn acknowledged_hole_is_one_gap() {
    let mut t = T::new(StreamConfig::default());
    t.handshake(CISN, SISN);
    t.pkt(true, CISN + 1, SISN + 1, ACK, b"aaaa");
    // bytes 4..8 never seen
    t.pkt(true, CISN + 9, SISN + 1, ACK, b"cccc");
    t.pkt(false, SISN + 1, CISN + 13, ACK, b"");
    assert_eq!(t.c.get(C::TcpReassemblyGap), 1);
    assert_eq!(t.app.gaps[0], 4);
    assert_eq!(t.app.data[0], b"aaaa????cccc");
}

#[test]
fn unacknowledged_hole_is_not_a_gap() {
    let mut t = T::new(StreamConfig::default());
    t.handshake(CISN, SISN);
    t.pkt(true, CISN + 1, SISN + 1, ACK, b"aaaa");
    t.pkt(true, CISN + 9, SISN + 1, ACK, b"cccc");
    // the server only acknowledges the first 4 bytes (it lost the rest too)
    t.pkt(false, SISN + 1, CISN + 5, ACK, b"");
    t.finish();
    assert_eq!(t.c.get(C::TcpReassemblyGap), 0);
    assert_eq!(t.app.data[0], b"aaaa");
}

#[test]
fn depth_stops_reassembly() {
    let mut t = T::new(StreamConfig { depth: 10, ..StreamConfig::default() });
    t.handshake(CISN, SISN);
    assert!(t.pkt(true, CISN + 1, SISN + 1, ACK, b"0123456789").stream_add);
    assert!(!t.pkt(true, CISN + 11, SISN + 1, ACK, b"x").stream_add);
    assert!(!t.pkt(true, CISN + 12, SISN + 1, ACK, b"y").stream_add);
    assert_eq!(t.c.get(C::TcpStreamDepthReached), 1);
    t.pkt(false, SISN + 1, CISN + 13, ACK, b"");
    assert_eq!(t.app.data[0], b"0123456789");
}

#[test]
fn a_protocols_depth_replaces_the_configured_one_when_larger_or_unlimited() {
    let mut t = T::new(StreamConfig { depth: 10, ..StreamConfig::default() });
    t.handshake(CISN, SISN);
    let s = t.s.as_deref_mut().unwrap();
    s.set_app_depth(5, 10); // smaller: kept at 10
    assert!(t.pkt(true, CISN + 1, SISN + 1, ACK, b"0123456789").stream_add);
    t.s.as_deref_mut().unwrap().set_app_depth(0, 10); // SMB: whole sessions
    assert!(t.pkt(true, CISN + 11, SISN + 1, ACK, b"xy").stream_add);
    t.pkt(false, SISN + 1, CISN + 13, ACK, b"");
    assert_eq!(t.c.get(C::TcpStreamDepthReached), 0);
    assert_eq!(t.app.data[0], b"0123456789xy");
}

#[test]
fn wrapped_sequence_numbers() {
    let mut t = T::new(StreamConfig::default());
    let cisn = u32::MAX - 3;
    t.handshake(cisn, SISN);
    t.pkt(true, cisn.wrapping_add(1), SISN + 1, ACK, b"abc");
    t.pkt(true, cisn.wrapping_add(4), SISN + 1, ACK, b"defgh");
    t.pkt(false, SISN + 1, cisn.wrapping_add(9), ACK, b"");
    assert_eq!(t.app.data[0], b"abcdefgh");
}

#[test]
fn far_out_of_window_segment_is_ignored() {
    let mut t = T::new(StreamConfig { depth: 0, ..StreamConfig::default() });
    t.handshake(CISN, SISN);
    assert!(!t.pkt(true, CISN.wrapping_add(1 << 31).wrapping_add(5), SISN + 1, ACK, b"zz").stream_add);
    assert_eq!(t.e.mem.used, 0);
}

#[test]
fn memcap_drops_are_counted_and_bounded() {
    let cfg = StreamConfig { memcap: 4096, depth: 0, ..StreamConfig::default() };
    let mut t = T::new(cfg);
    t.handshake(CISN, SISN);
    // out of order (never deliverable): each segment stays until the memcap refuses more
    for i in 0..100u32 {
        t.pkt(true, CISN + 2 + i * 200, SISN + 1, ACK, &[b'x'; 100]);
    }
    assert!(t.e.mem.used <= 4096);
    assert!(t.c.get(C::TcpSegmentMemcapDrop) > 0);
    t.finish();
    let mut s = t.s.take();
    t.e.release(&mut s);
    assert_eq!(t.e.mem.used, 0);
}

#[test]
fn tiny_segment_flood_is_bounded_by_segment_limit() {
    let cfg = StreamConfig { max_segments: 64, ..StreamConfig::default() };
    let mut t = T::new(cfg);
    t.handshake(CISN, SISN);
    // a million one-byte segments, every other one missing (nothing ever in order)
    for i in 0..1_000_000u32 {
        t.pkt(true, CISN + 2 + 2 * (i % 500_000), SISN + 1, ACK, b"a");
    }
    let s = t.s.as_ref().unwrap();
    assert!(s.dirs[0].buf.segments() <= 64);
    assert!(t.c.get(C::StreamSegmentLimitDrop) > 0);
}

#[test]
fn overlapping_flood_keeps_first_bytes_under_bsd() {
    let mut t = T::new(StreamConfig::default());
    t.handshake(CISN, SISN);
    t.pkt(true, CISN + 1, SISN + 1, ACK, b"GOOD");
    for _ in 0..10_000 {
        t.pkt(true, CISN + 2, SISN + 1, ACK, b"EV");
    }
    t.pkt(false, SISN + 1, CISN + 5, ACK, b"");
    assert_eq!(t.app.data[0], b"GOOD");
    assert!(t.e.mem.used < 4096);
}

#[test]
fn raw_data_is_due_when_the_app_layer_asks() {
    let mut t = T::new(StreamConfig { chunk: [2560, 2560], ..StreamConfig::default() });
    t.handshake(CISN, SISN);
    t.pkt(true, CISN + 1, SISN + 1, ACK, b"abcd");
    // acknowledged and handed to the app layer, far below the chunk size: not due
    t.pkt(false, SISN + 1, CISN + 5, ACK, b"");
    assert!(!t.pkt(true, CISN + 5, SISN + 1, ACK, b"").raw_ready);
    // the same with a parser that asks for it: due at the client's next packet
    let mut t = T::new(StreamConfig { chunk: [2560, 2560], ..StreamConfig::default() });
    t.app.trigger = true;
    t.handshake(CISN, SISN);
    t.pkt(true, CISN + 1, SISN + 1, ACK, b"abcd");
    t.pkt(false, SISN + 1, CISN + 5, ACK, b"");
    assert!(t.pkt(true, CISN + 5, SISN + 1, ACK, b"").raw_ready);
    let s = t.s.as_mut().unwrap();
    let mut blocks = Vec::new();
    let p = raw_blocks(s, 0, false, &mut blocks);
    assert_eq!((blocks, p), (vec![(0, 4)], 4));
    // inspected: the request is spent
    s.raw_done(0, p);
    assert!(!t.pkt(true, CISN + 5, SISN + 1, ACK, b"").raw_ready);
}

#[test]
fn raw_data_is_due_by_chunk_size_or_close() {
    let mut t = T::new(StreamConfig { chunk: [8, 8], ..StreamConfig::default() });
    t.handshake(CISN, SISN);
    t.pkt(true, CISN + 1, SISN + 1, ACK, b"abcd");
    t.pkt(false, SISN + 1, CISN + 5, ACK, b"");
    // 4 acknowledged bytes < chunk of 8: not due
    assert!(!t.pkt(true, CISN + 5, SISN + 1, ACK, b"efgh").raw_ready);
    t.pkt(false, SISN + 1, CISN + 9, ACK, b"");
    let o = t.pkt(true, CISN + 9, SISN + 1, ACK, b"");
    assert!(o.raw_ready);
    let s = t.s.as_ref().unwrap();
    let mut blocks = Vec::new();
    let p = raw_blocks(s, 0, false, &mut blocks);
    assert_eq!(blocks, vec![(0, 8)]);
    assert_eq!(s.bytes(0, 0, 8), b"abcdefgh");
    assert_eq!(p, 8);
}

/// Cuts `data` into segments at the given cut points, shuffles them by `order` and
/// duplicates some, returning (offset, bytes) in sending order.
fn segments(data: &[u8], cuts: &[usize], order: &[usize], dups: &[usize]) -> Vec<(usize, Vec<u8>)> {
    let mut pts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    pts.push(0);
    pts.push(data.len());
    pts.sort_unstable();
    pts.dedup();
    let mut segs: Vec<(usize, Vec<u8>)> = pts.windows(2).map(|w| (w[0], data[w[0]..w[1]].to_vec())).collect();
    // a permutation from the random keys
    let mut keyed: Vec<(usize, (usize, Vec<u8>))> =
        segs.drain(..).enumerate().map(|(i, s)| (order.get(i).copied().unwrap_or(i), s)).collect();
    keyed.sort_by_key(|(k, s)| (*k, s.0));
    let mut out: Vec<(usize, Vec<u8>)> = keyed.into_iter().map(|(_, s)| s).collect();
    for &d in dups {
        if !out.is_empty() {
            let s = out[d % out.len()].clone();
            out.push(s);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any segmentation, order and duplication (same bytes) reassembles to the original.
    #[test]
    fn reassembly_restores_the_stream(
        data in proptest::collection::vec(any::<u8>(), 1..3000),
        cuts in proptest::collection::vec(any::<usize>(), 0..40),
        order in proptest::collection::vec(any::<usize>(), 0..40),
        dups in proptest::collection::vec(any::<usize>(), 0..10),
        isn in any::<u32>(),
        policy in 0usize..9,
    ) {
        let pol = [Policy::Bsd, Policy::First, Policy::Last, Policy::Linux, Policy::OldLinux,
            Policy::Windows, Policy::Solaris, Policy::MacOs, Policy::Vista][policy];
        let mut t = T::new(StreamConfig { policy: pol, ..StreamConfig::default() });
        t.handshake(isn, SISN);
        for (off, bytes) in segments(&data, &cuts, &order, &dups) {
            t.pkt(true, isn.wrapping_add(1).wrapping_add(off as u32), SISN + 1, ACK, &bytes);
        }
        t.pkt(false, SISN + 1, isn.wrapping_add(1).wrapping_add(data.len() as u32), ACK, b"");
        prop_assert_eq!(&t.app.data[0], &data);
        prop_assert_eq!(t.c.get(C::TcpReassemblyGap), 0);
        t.finish();
        let mut s = t.s.take();
        t.e.release(&mut s);
        prop_assert_eq!(t.e.mem.used, 0);
    }
}

mod detection {
    //! Detection over reassembled streams, through a worker (flow table, stream, engine).
    use crate::capture::{LinkType, Timestamp};
    use crate::config::{EngineKind, VarsConfig};
    use crate::decode::{Decoded, Decoder};
    use crate::detect::engine::DetectEngine;
    use crate::flow::{FlowKey, TableConfig, Timeouts};
    use crate::metrics::{Counters, C};
    use crate::rule::{parse_rule, Keywords, ParseContext};
    use crate::runtime::worker::{Pkt, Worker};
    use etherparse::PacketBuilder;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn engine(rules: &[&str]) -> Arc<DetectEngine> {
        let mut ctx = ParseContext::new(&VarsConfig::default());
        let kw = Keywords::new(crate::app::keywords());
        let rs = rules.iter().map(|r| parse_rule(r, &kw, &mut ctx).expect("rule parses")).collect();
        Arc::new(DetectEngine::build(rs, Vec::new(), Default::default(), EngineKind::Hyperscan))
    }

    fn worker(e: Arc<DetectEngine>) -> Worker {
        let to = Timeouts {
            new: 30,
            established: 300,
            closed: 10,
            emergency_new: 10,
            emergency_established: 100,
            emergency_closed: 5,
        };
        let table = TableConfig { memcap: 1 << 20, timeouts: [to; 4], emergency_recovery_percent: 30 };
        Worker::new(0, table, false).with_detect(Some(e))
    }

    struct Conv {
        n: u64,
    }

    impl Conv {
        fn frame(&mut self, to_server: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> (Vec<u8>, Pkt) {
            let (s, d, sp, dp) = if to_server {
                ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80)
            } else {
                ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000)
            };
            let mut b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(s, d, 64).tcp(sp, dp, seq, 65535);
            if flags & 0x02 != 0 {
                b = b.syn();
            }
            if flags & 0x01 != 0 {
                b = b.fin();
            }
            if flags & 0x10 != 0 {
                b = b.ack(ack);
            }
            let mut f = Vec::new();
            b.write(&mut f, payload).expect("frame");
            let mut dd = Decoded::default();
            Decoder::default().decode(LinkType::ETHERNET, &f, &mut dd, &mut Counters::new());
            let fp = FlowKey::of(&dd, f.len());
            self.n += 1;
            let p = Pkt {
                ts: Timestamp::from_parts(1000 + self.n / 100, self.n % 100),
                linktype: LinkType::ETHERNET,
                pcap_cnt: self.n,
                iface: 0,
                d: dd,
                hash: fp.map_or(0, |p| p.key.hash()),
                flow: fp,
                outer_only: false,
                bad_checksum: false,
            };
            (f, p)
        }

        /// Builds a frame and has the worker process it.
        fn send(&mut self, w: &mut Worker, to_server: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
            let (f, p) = self.frame(to_server, seq, ack, flags, payload);
            w.packet(&f, &p);
        }
    }

    /// Runs a client stream cut into `segs` (offset, bytes) through a worker and returns the
    /// alert count.
    fn alerts(e: &Arc<DetectEngine>, total: usize, segs: &[(usize, Vec<u8>)]) -> u64 {
        let mut w = worker(e.clone());
        let mut cv = Conv { n: 0 };
        let (c, s) = (100u32, 9000u32);
        cv.send(&mut w, true, c, 0, 0x02, b"");
        cv.send(&mut w, false, s, c + 1, 0x12, b"");
        cv.send(&mut w, true, c + 1, s + 1, 0x10, b"");
        for (off, b) in segs {
            cv.send(&mut w, true, c + 1 + *off as u32, s + 1, 0x10, b);
        }
        cv.send(&mut w, false, s + 1, c + 1 + total as u32, 0x10, b"");
        cv.send(&mut w, true, c + 1 + total as u32, s + 1, 0x11, b"");
        w.finish();
        w.counters.get(C::DetectAlert)
    }

    #[test]
    fn stream_size_counts_each_side_as_suricata() {
        // Client: SYN (1), 3 bytes (4), 4 bytes (8), FIN. Server: SYN/ACK (1), ACK.
        let segs = vec![(0, b"abc".to_vec()), (3, b"defg".to_vec())];
        let count = |rule: &str| alerts(&engine(&[rule]), 7, &segs);
        assert_eq!(
            count("alert tcp any any -> any any (msg:\"c=4\"; flow:to_server; stream_size:client,=,4; sid:1;)"),
            1
        );
        assert_eq!(
            count("alert tcp any any -> any any (msg:\"c<4\"; flow:to_server; stream_size:client,<,4; sid:2;)"),
            2
        );
        assert_eq!(
            count("alert tcp any any -> any any (msg:\"s=1\"; flow:to_client; stream_size:server,=,1; sid:3;)"),
            2
        );
        assert_eq!(count("alert tcp any any -> any any (msg:\"both\"; stream_size:both,>,1; sid:4;)"), 0);
        assert_eq!(
            count("alert tcp any any -> any any (msg:\"either\"; flow:to_server; stream_size:either,>=,8; sid:5;)"),
            2
        );
        // not TCP, or no session: never
        assert_eq!(count("alert udp any any -> any any (msg:\"udp\"; stream_size:client,>=,0; sid:6;)"), 0);
    }

    #[test]
    fn flow_pkts_and_bytes_count_each_direction_this_packet_included() {
        // (to server, to client) after each packet: C SYN (1,0), S SYN/ACK (1,1), C ACK (2,1),
        // C "abc" (3,1), C "defg" (4,1), S ACK (4,2), C FIN (5,2); the rules have no direction
        let segs = vec![(0, b"abc".to_vec()), (3, b"defg".to_vec())];
        let count = |rule: &str| alerts(&engine(&[rule]), 7, &segs);
        assert_eq!(count("alert tcp any any -> any any (flow.pkts:toserver,=3; sid:1;)"), 1);
        assert_eq!(count("alert tcp any any -> any any (flow.pkts_toserver:>=4; sid:2;)"), 3);
        assert_eq!(count("alert tcp any any -> any any (flow.pkts:toclient,2; sid:3;)"), 2);
        assert_eq!(count("alert tcp any any -> any any (flow.pkts_toclient:3; sid:4;)"), 0);
        assert_eq!(count("alert tcp any any -> any any (flow.pkts:either,=1; sid:5;)"), 5);
        // bytes: whole frames, 54 bytes without payload (Ethernet, IPv4, TCP)
        assert_eq!(count("alert tcp any any -> any any (flow.bytes:toclient,=108; sid:6;)"), 2);
        assert_eq!(count("alert tcp any any -> any any (flow.bytes_toserver:>200; sid:7;)"), 3);
        assert_eq!(count("alert tcp any any -> any any (flow.bytes:either,<55; sid:8;)"), 5);
    }

    #[test]
    fn split_content_matches_once_in_the_stream() {
        let e = engine(&[
            "alert tcp any any -> any any (msg:\"split\"; flow:established,to_server; content:\"EVILPAYLOAD\"; sid:1;)",
        ]);
        let data = b"xxxxEVILPAYLOADyyyy".to_vec();
        let segs = vec![(0, data[..8].to_vec()), (8, data[8..].to_vec())];
        assert_eq!(alerts(&e, data.len(), &segs), 1);
        // a packet-only rule cannot see it: the pattern is split across packets
        let e = engine(&["alert tcp-pkt any any -> any any (msg:\"pkt\"; content:\"EVILPAYLOAD\"; sid:2;)"]);
        assert_eq!(alerts(&e, data.len(), &segs), 0);
    }

    #[test]
    fn anchored_content_alerts_on_packet_and_stream_as_suricata() {
        // depth makes the rule inspect packets too: once on the packet, once on the stream
        let e =
            engine(&["alert tcp any any -> any any (msg:\"d\"; flow:established; content:\"GET\"; depth:3; sid:3;)"]);
        let data = b"GET / HTTP/1.0\r\n\r\n".to_vec();
        assert_eq!(alerts(&e, data.len(), &[(0, data.clone())]), 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever the segmentation, order and duplication, the stream rule fires once.
        #[test]
        fn content_rule_fires_exactly_once(
            pre in proptest::collection::vec(b'a'..=b'z', 0..2000),
            post in proptest::collection::vec(b'a'..=b'z', 0..2000),
            cuts in proptest::collection::vec(any::<usize>(), 0..30),
            order in proptest::collection::vec(any::<usize>(), 0..30),
            dups in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let e = engine(&["alert tcp any any -> any any (msg:\"once\"; flow:to_server; content:\"ATTACK-7\"; sid:7;)"]);
            let mut data = pre.clone();
            data.extend_from_slice(b"ATTACK-7");
            data.extend_from_slice(&post);
            let segs = super::segments(&data, &cuts, &order, &dups);
            prop_assert_eq!(alerts(&e, data.len(), &segs), 1);
        }
    }
}
