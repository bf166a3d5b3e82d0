//! defrag: the input is a sequence of raw-IP frames (link type 101), each prefixed by a 2-byte
//! big-endian length. Every frame is decoded; fragments are fed to a Defrag with the smallest
//! memcap and few trackers, and any datagram it rebuilds is decoded again with
//! decode_rebuilt (and its flow key taken). Packet time advances 1 s per frame so timeouts
//! and expiry are exercised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::capture::{LinkType, Timestamp};
use picket::config::DefragConfig;
use picket::decode::{flags, Decoded, Decoder, Events};
use picket::defrag::{decode_rebuilt, Defrag};
use picket::flow::FlowKey;
use picket::metrics::Counters;

/// The smallest defrag memcap the config accepts (two datagrams of the largest size).
const MEMCAP: usize = 128 * 1024;

fuzz_target!(|data: &[u8]| {
    let cfg =
        DefragConfig { memcap_bytes: MEMCAP as u64, timeout_secs: 5, max_frags: 64, trackers: 8, ..Default::default() };
    let mut df = Defrag::new(&cfg);
    let dec = Decoder::default();
    let mut c = Counters::new();
    let mut d = Decoded::default();
    let mut rest = data;
    let mut t = 0u64;
    while rest.len() >= 2 {
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        rest = &rest[2..];
        let frame = &rest[..n.min(rest.len())];
        rest = &rest[frame.len()..];
        t += 1;
        let ts = Timestamp::from_parts(t, 0);
        dec.decode(LinkType::RAW, frame, &mut d, &mut c);
        if d.flags & flags::FRAGMENT != 0 {
            if let Some(dgram) = df.fragment(frame, &d, ts, &mut c, &mut Events::default()) {
                if let Some(rd) = decode_rebuilt(&dec, &dgram, &d, &mut c) {
                    let _ = FlowKey::of(&rd, dgram.len());
                    let _ = rd.payload(&dgram);
                }
            }
        }
        assert!(df.memuse() <= MEMCAP, "defrag memuse {} over memcap", df.memuse());
        if t % 16 == 0 {
            df.expire(ts, &mut c);
        }
    }
    df.expire(Timestamp::from_parts(t + 3600, 0), &mut c);
    assert_eq!(df.trackers(), 0, "trackers left after expiry");
    assert_eq!(df.frags_held(), 0, "fragments left after expiry");
});
