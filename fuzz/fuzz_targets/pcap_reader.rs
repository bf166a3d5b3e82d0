//! pcap_reader: the input is a capture file (pcap or pcapng, any magic). Reads it to the end
//! through PcapFileSource, touching every lent frame, then drains the warnings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::capture::pcap::PcapFileSource;
use picket::capture::PacketSource;

fn scratch_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("picket-fuzz-pcap-{}.pcap", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let path = scratch_path();
    std::fs::write(&path, data).expect("write scratch capture");
    let mut src = PcapFileSource::new(vec![path]);
    let mut frames: Vec<(u64, u32, u32, usize)> = Vec::new();
    let mut batches = 0u64;
    while src.next_batch(&mut |f| {
        // The lent slice must lie inside the chunk it is lent from (batches refer to the
        // chunk by offset and would copy a frame outside it).
        if let Some(o) = f.owner() {
            let off = (f.data.as_ptr() as usize).wrapping_sub(o.as_ptr() as usize);
            assert!(off.checked_add(f.data.len()).is_some_and(|end| end <= o.len()), "frame outside its chunk");
        }
        frames.push((f.ts.0, f.orig_len, f.linktype.0, f.data.len()));
    }) {
        batches += 1;
        assert!(batches < 10_000_000, "source never reports end of input");
    }
    // Exhausted sources stay exhausted.
    assert!(!src.next_batch(&mut |_| panic!("frame lent after end of input")));
    let _ = src.take_warnings();
    assert_eq!(src.frames, frames.len() as u64);
});
