//! stream: TCP session tracking and reassembly driven by a structured sequence of segments.
//! The input is read as records: [flags, dir|policy, seq delta (2 bytes), ack delta (2),
//! payload length (1)] then the payload. Sequence and acknowledgement numbers move around a
//! random ISN by the signed deltas, so segments land before, inside and far outside the
//! window, overlap, repeat and wrap. Invariants: segment memory never exceeds the memcap; the
//! app layer only ever receives in-order bytes (progress never goes backwards); raw blocks
//! lie inside the stored data; ending the session returns every byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::metrics::Counters;
use picket::stream::{raw_blocks, AppSink, Policy, Seg, StreamConfig, StreamEngine, Verdict};

const MEMCAP: usize = 16 * 1024;

#[derive(Default)]
struct Sink {
    bytes: [u64; 2],
}

impl AppSink for Sink {
    fn data(&mut self, to_server: bool, _off: u64, data: &[u8]) -> Verdict {
        self.bytes[usize::from(!to_server)] += data.len() as u64;
        Verdict::Consumed
    }
    fn gap(&mut self, to_server: bool, len: u64) -> Verdict {
        self.bytes[usize::from(!to_server)] += len;
        Verdict::Consumed
    }
    fn eof(&mut self, _: bool) {}
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let policies = [Policy::Bsd, Policy::First, Policy::Last, Policy::Linux, Policy::OldLinux, Policy::Windows, Policy::Solaris, Policy::MacOs];
    let cfg = StreamConfig {
        midstream: data[0] & 1 != 0,
        async_oneside: data[0] & 2 != 0,
        depth: if data[0] & 4 != 0 { 0 } else { 4096 },
        memcap: MEMCAP,
        max_sessions: 4,
        max_segments: 32,
        chunk: [64, 64],
        policy: policies[(data[1] as usize) % policies.len()],
    };
    let isn = u32::from_be_bytes([data[2], data[3], data[4], data[5]]);
    let mut e = StreamEngine::new(cfg, true);
    let mut slot = None;
    let mut c = Counters::new();
    let mut app = Sink::default();
    let mut blocks = Vec::new();
    let mut rest = &data[6..];
    while rest.len() >= 7 {
        let flags = rest[0];
        let to_server = rest[1] & 1 == 0;
        let seq = isn.wrapping_add(i16::from_be_bytes([rest[2], rest[3]]) as i32 as u32 * 7);
        let ack = isn.wrapping_add(i16::from_be_bytes([rest[4], rest[5]]) as i32 as u32 * 7);
        let n = rest[6] as usize;
        rest = &rest[7..];
        let payload = &rest[..n.min(rest.len())];
        rest = &rest[payload.len()..];
        let seg = Seg { seq, ack, flags, win: 1024, payload, syn: Default::default(), auth: false };
        let before = slot.as_ref().map(|s: &Box<picket::stream::TcpSession>| [s.dirs[0].app_progress, s.dirs[1].app_progress]);
        let o = e.packet(&mut slot, to_server, &seg, &mut app, &mut c);
        assert!(e.mem.used <= MEMCAP, "memory {} over the memcap", e.mem.used);
        if let (Some(b), Some(s)) = (before, slot.as_ref()) {
            assert!(s.dirs[0].app_progress >= b[0] && s.dirs[1].app_progress >= b[1]);
        }
        if let (true, Some(s)) = (o.raw_ready, slot.as_deref_mut()) {
            let d = usize::from(!to_server);
            let p = raw_blocks(s, d, false, &mut blocks);
            for &(off, len) in &blocks {
                assert_eq!(s.bytes(d, off, len).len() as u64, len, "raw block outside the stored data");
            }
            s.raw_done(d, p);
        }
    }
    if let Some(s) = slot.as_deref_mut() {
        for d in 0..2 {
            e.finish_dir(s, d, &mut app, &mut c);
        }
    }
    e.release(&mut slot);
    assert_eq!(e.mem.used, 0, "memory not returned at session end");
});
