//! Damaged and missing inputs: exit status, the one-line warning naming file and byte offset,
//! and that whatever could be read before the damage was processed. Also folders (name
//! order) and odd but legal records (zero length, over the snaplen).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use picket::config::Config;
use picket::metrics::C;
use picket::runtime::replay::{replay, ReplayOptions};

const A: [u8; 4] = [10, 2, 0, 1];
const B: [u8; 4] = [10, 2, 0, 2];

fn req() -> Vec<u8> {
    eth(&ipv4_udp(A, B, 4000, 53, b"question"))
}

fn rep() -> Vec<u8> {
    eth(&ipv4_udp(B, A, 53, 4000, b"answer"))
}

/// A good two-packet pcap (request, reply).
fn good_pcap() -> Vec<u8> {
    pcap_le_usec(LT_ETHERNET, &[(t_ms(0), req()), (t_ms(1), rep())])
}

/// Byte offset just past the two records of [`good_pcap`].
fn good_len() -> u64 {
    (24 + 16 + req().len() + 16 + rep().len()) as u64
}

fn warning_line(path: &Path, offset: Option<u64>, reason: &str) -> String {
    match offset {
        Some(o) => format!("picket: warning: {}: at byte {o}: {reason}", path.display()),
        None => format!("picket: warning: {}: {reason}", path.display()),
    }
}

/// The two good packets were processed: one UDP flow, both directions.
fn assert_good_flow(r: &Run) {
    let f = r.flow("UDP", "10.2.0.1", "10.2.0.2");
    assert_endpoints(f, "UDP", "10.2.0.1", Some(4000), "10.2.0.2", Some(53));
    assert_eq!(flow_counts(f), (1, 1, req().len() as u64, rep().len() as u64));
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.pcap");
    let r = replay_files(dir.path(), &[&missing], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(&warning_line(&missing, None, "cannot open: ")), "{}", r.stderr);
    assert!(r.stderr.contains("picket: error: no capture could be read"), "{}", r.stderr);
    assert_eq!(r.counter("decoder.pkts"), 0);
}

#[test]
fn folder_without_captures() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let r = replay_files(dir.path(), &[&empty], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(&warning_line(&empty, None, "folder holds no capture files")), "{}", r.stderr);
    assert!(r.stderr.contains("picket: error: no capture could be read"), "{}", r.stderr);
}

#[test]
fn bad_magic_number() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "pic.gif", b"GIF89a this is not a capture file at all");
    let r = replay_files(dir.path(), &[&p], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&warning_line(&p, Some(0), "not a pcap or pcapng file (magic number 0x38464947)")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("picket: error: no capture could be read"), "{}", r.stderr);
}

#[test]
fn truncated_global_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "short.pcap", &good_pcap()[..10]);
    let r = replay_files(dir.path(), &[&p], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(&warning_line(&p, Some(0), "truncated pcap header: 10 of 24 bytes")), "{}", r.stderr);

    let p = write_file(dir.path(), "tiny.pcap", &good_pcap()[..2]);
    let r = replay_files(dir.path(), &[&p], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&warning_line(&p, Some(0), "not a capture: file has 2 bytes, too short for a magic number")),
        "{}",
        r.stderr
    );

    let ng = pcapng(&[(t_ms(0), LT_ETHERNET, req())]);
    let p = write_file(dir.path(), "short.pcapng", &ng[..20]);
    let r = replay_files(dir.path(), &[&p], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&warning_line(&p, Some(0), "truncated pcapng section header: 20 of 28 bytes")),
        "{}",
        r.stderr
    );
}

#[test]
fn record_longer_than_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let h = PcapHeader::le_usec(LT_ETHERNET);
    let mut b = good_pcap();
    b.extend(pcap_record_header(&h, t_ms(2), 100, 100));
    b.extend_from_slice(&[0xab; 30]);
    let p = write_file(dir.path(), "cut.pcap", &b);
    let r = replay_files(dir.path(), &[&p], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = warning_line(&p, Some(good_len()), "file ends mid-record: the record needs 116 bytes, 46 remain");
    assert!(r.stderr.contains(&want), "want `{want}` in:\n{}", r.stderr);
    assert_eq!(r.stderr.matches("picket: warning:").count(), 1, "{}", r.stderr);
    r.assert_counters(&[("decoder.pkts", 2), ("decoder.invalid", 0), ("flow.total", 1)]);
    assert_good_flow(&r);
}

#[test]
fn file_ends_inside_a_record_header() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = good_pcap();
    b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7]);
    let p = write_file(dir.path(), "cut-header.pcap", &b);
    let r = replay_files(dir.path(), &[&p], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = warning_line(&p, Some(good_len()), "file ends mid-record: the record needs 16 bytes, 7 remain");
    assert!(r.stderr.contains(&want), "want `{want}` in:\n{}", r.stderr);
    assert_good_flow(&r);
}

/// The same damage seen through the library API: the summary's warning carries the offset.
#[test]
fn record_longer_than_the_file_library_api() {
    let dir = tempfile::tempdir().unwrap();
    let h = PcapHeader::le_usec(LT_ETHERNET);
    let mut b = good_pcap();
    b.extend(pcap_record_header(&h, t_ms(2), 100, 100));
    b.extend_from_slice(&[0xab; 30]);
    let p = write_file(dir.path(), "cut.pcap", &b);
    let s = replay(ReplayOptions {
        inputs: vec![p.clone()],
        eve: None,
        workers: Some(1),
        config: Config::default(),
        progress: false,
        verbose: false,
        detect: None,
        metrics: None,
        watch: None,
    })
    .unwrap();
    assert_eq!(s.files_read, 1);
    assert_eq!(s.files_failed, 1);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert_eq!(s.warnings[0].source, p.display().to_string());
    assert_eq!(s.warnings[0].offset, Some(good_len()));
    assert!(s.warnings[0].reason.starts_with("file ends mid-record"), "{}", s.warnings[0].reason);
    assert_eq!(s.counters.get(C::DecoderPkts), 2);
    assert_eq!(s.counters.get(C::FlowTotal), 1);
}

#[test]
fn record_over_the_maximum_size() {
    let dir = tempfile::tempdir().unwrap();
    let h = PcapHeader::le_usec(LT_ETHERNET);
    let mut b = good_pcap();
    b.extend(pcap_record_header(&h, t_ms(2), 262_145, 262_145));
    b.extend_from_slice(&[0; 64]);
    // a good record after the damage is not reached
    b.extend(pcap_record_header(&h, t_ms(3), req().len() as u32, req().len() as u32));
    b.extend(req());
    let p = write_file(dir.path(), "huge.pcap", &b);
    let r = replay_files(dir.path(), &[&p], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = warning_line(
        &p,
        Some(good_len()),
        "record claims 262145 captured bytes, more than the maximum 262144; the file is damaged from here",
    );
    assert!(r.stderr.contains(&want), "want `{want}` in:\n{}", r.stderr);
    r.assert_counters(&[("decoder.pkts", 2), ("flow.total", 1)]);
    assert_good_flow(&r);
}

#[test]
fn record_of_exactly_the_maximum_size_is_read() {
    let big = {
        let mut f = req();
        f.resize(262_144, 0); // Ethernet/IPv4/UDP followed by padding
        f
    };
    let r = replay_pcap(LT_ETHERNET, &[(t_ms(0), big), (t_ms(1), rep())]);
    r.assert_counters(&[("decoder.pkts", 2), ("decoder.max_pkt_size", 262_144), ("flow.total", 1)]);
    let f = r.flow("UDP", "10.2.0.1", "10.2.0.2");
    assert_eq!(flow_counts(f), (1, 1, 262_144, rep().len() as u64));
}

#[test]
fn zero_length_packet() {
    let r = replay_pcap(LT_ETHERNET, &[(t_ms(0), req()), (t_ms(1), Vec::new()), (t_ms(2), rep())]);
    r.assert_counters(&[
        ("decoder.pkts", 3),
        ("decoder.event.ethernet.pkt_too_small", 1),
        ("decoder.invalid", 1),
        ("decoder.udp", 2),
        ("flow.total", 1),
    ]);
    assert_good_flow(&r);
}

#[test]
fn packet_over_the_snaplen_is_processed() {
    let dir = tempfile::tempdir().unwrap();
    let h = PcapHeader { snaplen: 64, ..PcapHeader::le_usec(LT_ETHERNET) };
    let big = eth(&ipv4_udp(A, B, 4000, 53, &[b'x'; 100]));
    assert!(big.len() > 64);
    let p = write_file(dir.path(), "snap.pcap", &pcap(&h, &[(t_ms(0), big.clone()), (t_ms(1), rep())]));
    let r = replay_files(dir.path(), &[p], &[]);
    r.assert_clean();
    r.assert_counters(&[("decoder.pkts", 2), ("decoder.invalid", 0), ("decoder.udp", 2), ("flow.total", 1)]);
    let f = r.flow("UDP", "10.2.0.1", "10.2.0.2");
    assert_eq!(flow_counts(f), (1, 1, big.len() as u64, rep().len() as u64));
}

#[test]
fn bad_file_then_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write_file(dir.path(), "bad.pcap", b"\x00\x01\x02\x03 garbage garbage garbage");
    let good = write_file(dir.path(), "good.pcap", &good_pcap());
    let r = replay_files(dir.path(), &[&bad, &good], &[]);
    // The good file is read; the exit status says that one file of the case was not.
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&warning_line(&bad, Some(0), "not a pcap or pcapng file (magic number 0x03020100)")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("picket: error: 1 capture file(s) unreadable or damaged (see the warnings above); exit status 2"),
        "{}",
        r.stderr
    );
    r.assert_counters(&[("decoder.pkts", 2), ("flow.total", 1)]);
    assert_good_flow(&r);
}

#[test]
fn missing_file_then_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pcap");
    let good = write_file(dir.path(), "good.pcap", &good_pcap());
    let r = replay_files(dir.path(), &[&missing, &good], &[]);
    // Processed, but the exit status says that a capture of the case was not read.
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains(&warning_line(&missing, None, "cannot open: ")), "{}", r.stderr);
    assert_good_flow(&r);
}

#[test]
fn pcapng_block_with_invalid_length() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = pcapng(&[(t_ms(0), LT_ETHERNET, req()), (t_ms(1), LT_ETHERNET, rep())]);
    let off = b.len() as u64;
    // an enhanced packet block whose length is not a multiple of 4
    b.extend_from_slice(&6u32.to_le_bytes());
    b.extend_from_slice(&37u32.to_le_bytes());
    b.extend_from_slice(&[0; 29]);
    let p = write_file(dir.path(), "bad-block.pcapng", &b);
    let r = replay_files(dir.path(), &[&p], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = warning_line(&p, Some(off), "pcapng block of type 0x00000006 has an invalid length 37");
    assert!(r.stderr.contains(&want), "want `{want}` in:\n{}", r.stderr);
    assert_good_flow(&r);
}

#[test]
fn pcapng_packet_on_undescribed_interface() {
    let dir = tempfile::tempdir().unwrap();
    let mut ng = PcapNg::new();
    let eth_if = ng.iface(LT_ETHERNET, None);
    ng.packet(eth_if, t_ms(0), &req());
    ng.packet(eth_if, t_ms(1), &rep());
    let mut b = ng.finish();
    let off = b.len() as u64;
    let mut other = PcapNg::new();
    other.iface(LT_ETHERNET, None);
    other.iface(LT_ETHERNET, None);
    other.packet(1, t_ms(2), &req());
    let other = other.finish();
    // only the EPB of the second file (after its SHB and two IDBs of 20 bytes)
    b.extend_from_slice(&other[28 + 40..]);
    let p = write_file(dir.path(), "bad-if.pcapng", &b);
    let r = replay_files(dir.path(), &[&p], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = warning_line(&p, Some(off), "packet block names interface 1 but only 1 are described");
    assert!(r.stderr.contains(&want), "want `{want}` in:\n{}", r.stderr);
    r.assert_counters(&[("decoder.pkts", 2), ("flow.total", 1)]);
}

/// A folder is read in file-name order: not creation order, not packet-time order. Flow X has
/// its first packet in `a.pcap` and its second in `b.pcap`; flow Y in `b.pcap` then `c.pcap`.
/// Packet times run backwards (c < b < a) and the files are created c, b, a, so only name
/// order makes X's and Y's clients (`src_ip`) the senders in the earlier-named file.
#[test]
fn folder_is_read_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let caps = dir.path().join("caps");
    std::fs::create_dir(&caps).unwrap();
    let (x1, x2, y1, y2) = ([10, 3, 0, 1], [10, 3, 0, 2], [10, 4, 0, 1], [10, 4, 0, 2]);
    let x_fwd = eth(&ipv4_udp(x1, x2, 1111, 53, b"x"));
    let x_rev = eth(&ipv4_udp(x2, x1, 53, 1111, b"x"));
    let y_fwd = eth(&ipv4_udp(y1, y2, 2222, 53, b"y"));
    let y_rev = eth(&ipv4_udp(y2, y1, 53, 2222, b"y"));
    let files = [
        ("c.pcap", vec![(t_ms(100), y_rev)]),
        ("b.pcap", vec![(t_ms(200), x_rev), (t_ms(201), y_fwd)]),
        ("a.pcap", vec![(t_ms(300), x_fwd)]),
    ];
    for (name, frames) in &files {
        write_file(&caps, name, &pcap_le_usec(LT_ETHERNET, frames));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let r = replay_files(dir.path(), &[caps], &[]);
    r.assert_clean();
    r.assert_counters(&[("decoder.pkts", 4), ("flow.total", 2)]);
    let x = r.flow("UDP", "10.3.0.1", "10.3.0.2");
    assert_endpoints(x, "UDP", "10.3.0.1", Some(1111), "10.3.0.2", Some(53));
    assert_eq!(x["flow"]["start"], eve_ts(300_000), "X's first packet is the one in a.pcap");
    let y = r.flow("UDP", "10.4.0.1", "10.4.0.2");
    assert_endpoints(y, "UDP", "10.4.0.1", Some(2222), "10.4.0.2", Some(53));
    assert_eq!(y["flow"]["start"], eve_ts(201_000), "Y's first packet is the one in b.pcap");
}

/// Files given on the command line are read in the order given.
#[test]
fn inputs_are_read_in_argument_order() {
    let dir = tempfile::tempdir().unwrap();
    let second: PathBuf = write_file(dir.path(), "1.pcap", &pcap_le_usec(LT_ETHERNET, &[(t_ms(5), rep())]));
    let first: PathBuf = write_file(dir.path(), "2.pcap", &pcap_le_usec(LT_ETHERNET, &[(t_ms(9), req())]));
    let r = replay_files(dir.path(), &[first, second], &[]);
    r.assert_clean();
    // the flow's client is the sender of the first packet read: 2.pcap's
    let f = r.flow("UDP", "10.2.0.1", "10.2.0.2");
    assert_eq!(f["flow"]["start"], eve_ts(9_000));
    assert_eq!((flow_counts(f).0, flow_counts(f).1), (1, 1));
}
