//! datasets: the input is a dataset file, read as each format Picket reads sets from: the text
//! of every type (with and without a memcap, in tiny blocks and batches), `json` and `ndjson`
//! (Suricata 8's datajson), and a binary state (`.pkds`, its header made current and its
//! checksum valid for half the inputs, so the body is checked too). A text that loads is saved
//! as a binary state and read back. No panic; the entries counted are the entries held, and
//! the round trip keeps every entry.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (a, b) in picket::detect::fuzz_dataset_files(data, &std::env::temp_dir()) {
        assert_eq!(a, b);
    }
});
