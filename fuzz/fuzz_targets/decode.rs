//! decode: the first byte picks a link type, the rest is one captured frame. Runs the packet
//! decoder, the flow-key extraction (inner and outer) and checksum verification, and checks
//! the reader's quick shard: a frame it accepts decodes to a flow with the same shard (or to
//! no flow at all, never to a tunnel), so that both of the reader's paths send a flow's
//! packets to one worker.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::capture::LinkType;
use picket::decode::{checksum, Decoded, Decoder};
use picket::flow::{quick_shard, FlowKey};
use picket::metrics::Counters;

const LINK_TYPES: [u32; 12] = [0, 1, 9, 12, 14, 101, 104, 108, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, frame)) = data.split_first() else { return };
    let lt = LinkType(LINK_TYPES[sel as usize % LINK_TYPES.len()]);
    let mut d = Decoded::default();
    let mut c = Counters::new();
    Decoder::default().decode(lt, frame, &mut d, &mut c);
    let _ = d.payload(frame);
    let _ = (d.src_addr(), d.dst_addr());
    if let Some(fp) = FlowKey::of(&d, frame.len()) {
        let _ = fp.key.hash();
    }
    if let Some(fp) = FlowKey::of_outer(&d, frame.len()) {
        let _ = fp.key.hash();
    }
    let _ = checksum::verify(frame, &d);
    let dec = Decoder::default();
    if let Some(s) = quick_shard(lt, frame, &[dec.teredo_port, dec.vxlan_port, dec.geneve_port]) {
        assert!(d.outer.is_none(), "the quick path took a tunnelled frame");
        if let Some(fp) = FlowKey::of(&d, frame.len()) {
            assert_eq!(fp.key.shard(), s, "quick shard differs from the decoded flow's");
        }
    }
});
