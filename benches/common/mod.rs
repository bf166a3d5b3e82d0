//! Inputs shared by the benchmarks: the corpus paths (with the bundled fallbacks) and the
//! TCP/UDP payloads of a capture.

use std::path::PathBuf;

use picket::capture::pcap::PcapFileSource;
use picket::capture::PacketSource;
use picket::decode::{Decoded, Decoder};
use picket::metrics::Counters;

/// ET Open and mix.pcap from `../shared/corpus`, else the bundled rules and demo capture.
pub fn corpus() -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let et = root.join("../shared/corpus/et-open");
    let mix = root.join("../shared/corpus/traffic/mix.pcap");
    let rules = if et.exists() { et } else { root.join("rules") };
    let pcap = if mix.exists() { mix } else { root.join("captures/demo.pcap") };
    (rules, pcap)
}

/// The non-empty payloads of every frame of `pcap`, in capture order.
pub fn payloads(pcap: PathBuf) -> Vec<Vec<u8>> {
    let dec = Decoder::default();
    let mut payloads = Vec::new();
    let mut src = PcapFileSource::new(vec![pcap]);
    let mut c = Counters::new();
    let mut d = Decoded::default();
    while src.next_batch(&mut |f| {
        dec.decode(f.linktype, f.data, &mut d, &mut c);
        let p = d.payload(f.data);
        if !p.is_empty() {
            payloads.push(p.to_vec());
        }
    }) {}
    payloads
}
