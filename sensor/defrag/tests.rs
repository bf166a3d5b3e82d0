//! Defrag tests: Suricata's defrag.c unit tests reproduced (same fragments, same expected
//! bytes), limits, timeouts, the rebuilt packet's decode, and randomised checks.

use super::*;
use crate::config::Config;
use crate::flow::FlowKey;

const ICMP: u8 = 1;
const UDP: u8 = 17;
const ICMPV6: u8 = 58;

// ---- fixtures ---------------------------------------------------------------------------------

/// An IPv4 fragment 1.1.1.1 -> 2.2.2.2 (raw IP), as Suricata's BuildIpv4TestPacket.
fn v4(proto: u8, id: u16, off_units: u16, mf: bool, data: &[u8]) -> Vec<u8> {
    v4_from([1, 1, 1, 1], [2, 2, 2, 2], proto, id, off_units, mf, data)
}

fn v4_from(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, off_units: u16, mf: bool, data: &[u8]) -> Vec<u8> {
    let total = (20 + data.len()) as u16;
    let offlg = off_units | if mf { 0x2000 } else { 0 };
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&offlg.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let cs = ipv4_checksum(&h);
    h[10..12].copy_from_slice(&cs.to_be_bytes());
    h.extend_from_slice(data);
    h
}

/// The unfragmented IPv4 datagram the fragments of `v4` rebuild to.
fn v4_whole(proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    v4(proto, id, 0, false, payload)
}

const SRC6: [u8; 16] = [1; 16];
const DST6: [u8; 16] = [2; 16];

/// An IPv6 fragment (IPv6 header, Fragment header, data), as Suricata's BuildIpv6TestPacket.
fn v6(nh: u8, id: u32, off_units: u16, mf: bool, data: &[u8]) -> Vec<u8> {
    v6_ext(&[], nh, id, off_units, mf, data)
}

/// Same, with `unfrag` (already chained extension headers whose last next-header is 44) before
/// the Fragment header; the IPv6 header names the first of them as hop-by-hop (0).
fn v6_ext(unfrag: &[u8], nh: u8, id: u32, off_units: u16, mf: bool, data: &[u8]) -> Vec<u8> {
    let plen = (unfrag.len() + 8 + data.len()) as u16;
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&plen.to_be_bytes());
    p.push(if unfrag.is_empty() { 44 } else { 0 });
    p.push(64);
    p.extend_from_slice(&SRC6);
    p.extend_from_slice(&DST6);
    p.extend_from_slice(unfrag);
    let offlg = (off_units << 3) | mf as u16;
    p.extend_from_slice(&[nh, 0]);
    p.extend_from_slice(&offlg.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(data);
    p
}

fn v6_whole(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.push(nh);
    p.push(64);
    p.extend_from_slice(&SRC6);
    p.extend_from_slice(&DST6);
    p.extend_from_slice(payload);
    p
}

fn dec_lt(lt: LinkType, frame: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    Decoder::default().decode(lt, frame, &mut d, &mut Counters::new());
    d
}

fn dec(frame: &[u8]) -> Decoded {
    dec_lt(LinkType::RAW, frame)
}

fn cfg(policy: DefragPolicy) -> DefragConfig {
    DefragConfig { policy, ..DefragConfig::default() }
}

const T0: Timestamp = Timestamp(1_000_000_000_000);

struct H {
    df: Defrag,
    c: Counters,
    ts: Timestamp,
    /// Events listed on the fragments fed so far.
    ev: crate::decode::Events,
}

impl H {
    fn new(policy: DefragPolicy) -> H {
        H::with(cfg(policy))
    }
    fn with(cfg: DefragConfig) -> H {
        H { df: Defrag::new(&cfg), c: Counters::new(), ts: T0, ev: Default::default() }
    }
    fn feed(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        let d = dec(frame);
        self.feed_d(frame, &d)
    }
    fn feed_d(&mut self, frame: &[u8], d: &Decoded) -> Option<Vec<u8>> {
        assert!(d.flags & flags::FRAGMENT != 0, "fixture is not a fragment");
        let r = self.df.fragment(frame, d, self.ts, &mut self.c, &mut self.ev);
        self.df.check();
        r
    }
    fn get(&self, k: C) -> u64 {
        self.c.get(k)
    }
}

impl Defrag {
    /// Internal consistency: the sums kept incrementally equal the recomputed ones.
    fn check(&self) {
        let live: Vec<&Tracker> = self.slab.iter().filter(|t| t.live).collect();
        assert_eq!(live.len(), self.live);
        assert_eq!(self.map.len(), self.live);
        assert_eq!(live.iter().map(|t| t.frags.len()).sum::<usize>(), self.frags);
        assert_eq!(live.iter().map(|t| t.charge()).sum::<usize>(), self.memuse);
        for t in &live {
            assert_eq!(t.mem, t.charge());
            assert!(t.frags.windows(2).all(|w| w[0].offset <= w[1].offset));
        }
        // LRU list holds exactly the live trackers.
        let mut n = 0;
        let mut i = self.head;
        let mut prev = NIL;
        while let Some(t) = self.slab.get(i as usize) {
            assert!(t.live);
            assert_eq!(t.prev, prev);
            prev = i;
            i = t.next;
            n += 1;
            assert!(n <= self.live);
        }
        assert_eq!(self.tail, prev);
        assert_eq!(n, self.live);
        assert!(self.memuse <= self.memcap, "memuse {} over memcap {}", self.memuse, self.memcap);
    }
}

fn ipv4_ok(p: &[u8]) -> bool {
    let hl = (p[0] & 0x0f) as usize * 4;
    let mut s: u32 = 0;
    for c in p[..hl].chunks(2) {
        s += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s == 0xffff
}

// ---- Suricata's simple tests ------------------------------------------------------------------

#[test]
fn defrag_in_order_and_reverse_ipv4() {
    for reverse in [false, true] {
        let mut h = H::new(DefragPolicy::Bsd);
        let mut f =
            [v4(ICMP, 12, 0, true, &[b'A'; 8]), v4(ICMP, 12, 1, true, &[b'B'; 8]), v4(ICMP, 12, 2, false, &[b'C'; 3])];
        if reverse {
            f.reverse();
        }
        assert!(h.feed(&f[0]).is_none());
        assert!(h.feed(&f[1]).is_none());
        let r = h.feed(&f[2]).expect("reassembled");
        assert_eq!(r.len(), 39);
        assert_eq!(u16::from_be_bytes([r[2], r[3]]), 39);
        assert_eq!(&r[6..8], &[0, 0], "flags and offset cleared");
        assert_eq!(u16::from_be_bytes([r[4], r[5]]), 12);
        assert!(ipv4_ok(&r), "header checksum");
        assert_eq!(&r[20..28], &[b'A'; 8]);
        assert_eq!(&r[28..36], &[b'B'; 8]);
        assert_eq!(&r[36..39], &[b'C'; 3]);
        let mut want = [b'A'; 19];
        want[8..16].fill(b'B');
        want[16..].fill(b'C');
        assert_eq!(r, v4_whole(ICMP, 12, &want));
        assert_eq!(h.get(C::DefragIpv4Reassembled), 1);
        assert_eq!(h.get(C::EvIpv4FragOverlap), 0);
        assert_eq!((h.df.trackers(), h.df.frags_held(), h.df.memuse()), (0, 0, 0));
    }
}

#[test]
fn defrag_in_order_and_reverse_ipv6() {
    for reverse in [false, true] {
        let mut h = H::new(DefragPolicy::Bsd);
        let mut f = [
            v6(ICMPV6, 12, 0, true, &[b'A'; 8]),
            v6(ICMPV6, 12, 1, true, &[b'B'; 8]),
            v6(ICMPV6, 12, 2, false, &[b'C'; 3]),
        ];
        if reverse {
            f.reverse();
        }
        assert!(h.feed(&f[0]).is_none());
        assert!(h.feed(&f[1]).is_none());
        let r = h.feed(&f[2]).expect("reassembled");
        assert_eq!(u16::from_be_bytes([r[4], r[5]]), 19);
        assert_eq!(r[6], ICMPV6, "next header is the Fragment header's");
        assert_eq!(&r[40..48], &[b'A'; 8]);
        assert_eq!(&r[48..56], &[b'B'; 8]);
        assert_eq!(&r[56..59], &[b'C'; 3]);
        assert_eq!(r.len(), 59);
        assert_eq!(h.get(C::DefragIpv6Reassembled), 1);
        assert_eq!((h.df.trackers(), h.df.frags_held(), h.df.memuse()), (0, 0, 0));
    }
}

// ---- Sturges/Novak "Target-Based Fragmentation Reassembly" (Suricata's DefragSturgesNovak*) ---

/// The 17 fragments of the paper's pattern: (char, offset in bytes, length, more fragments).
const SN: [(u8, u16, usize, bool); 17] = [
    (b'A', 0, 24, true),
    (b'B', 32, 16, true),
    (b'C', 48, 24, true),
    (b'D', 80, 8, true),
    (b'E', 104, 16, true),
    (b'F', 120, 24, true),
    (b'G', 144, 16, true),
    (b'H', 160, 16, true),
    (b'I', 176, 8, true),
    // overlapping subsequent fragments
    (b'J', 8, 32, true),
    (b'K', 48, 24, true),
    (b'L', 72, 24, true),
    (b'M', 96, 24, true),
    (b'N', 128, 8, true),
    (b'O', 152, 8, true),
    (b'P', 160, 8, true),
    (b'Q', 176, 16, false),
];

/// Expected 8-byte blocks per policy, from Suricata's tests (D_1 = 'A', D_4 = 'J', ...).
fn sn_expected(policy: DefragPolicy) -> &'static [u8; 24] {
    match policy {
        DefragPolicy::Bsd => b"AAAJJBCCCLLLMMMFFFGGHHIQ",
        DefragPolicy::Linux => b"AAAJJBKKKLLLMMMFFFGGPHQQ",
        DefragPolicy::Windows => b"AAAJBBCCCLLLMEEFFFGGHHIQ",
        DefragPolicy::Solaris => b"AAAJBBCCCLLLMMMFFFGGHHIQ",
        DefragPolicy::First => b"AAAJBBCCCLDLMEEFFFGGHHIQ",
        DefragPolicy::Last => b"AJJJJBKKKLLLMMMFNFGOPHQQ",
    }
}

const POLICIES: [DefragPolicy; 6] = [
    DefragPolicy::Bsd,
    DefragPolicy::Linux,
    DefragPolicy::Windows,
    DefragPolicy::Solaris,
    DefragPolicy::First,
    DefragPolicy::Last,
];

fn sturges_novak(policy: DefragPolicy, ipv6: bool) {
    let mut h = H::new(policy);
    let frames: Vec<Vec<u8>> =
        SN.iter()
            .map(|&(ch, off, len, mf)| {
                if ipv6 {
                    v6(ICMPV6, 1, off >> 3, mf, &vec![ch; len])
                } else {
                    v4(ICMP, 1, off >> 3, mf, &vec![ch; len])
                }
            })
            .collect();
    let ov = if ipv6 { C::EvIpv6FragOverlap } else { C::EvIpv4FragOverlap };
    for f in &frames[..9] {
        assert!(h.feed(f).is_none());
        assert_eq!(h.get(ov), 0, "{policy:?}: no overlap among the originals");
    }
    for f in &frames[9..16] {
        assert!(h.feed(f).is_none());
    }
    assert!(h.get(ov) > 0, "{policy:?}: overlaps counted");
    let r = h.feed(&frames[16]).unwrap_or_else(|| panic!("{policy:?} ipv6={ipv6}: not reassembled"));
    let hl = if ipv6 { 40 } else { 20 };
    assert_eq!(r.len(), hl + 192);
    let want: Vec<u8> = sn_expected(policy).iter().flat_map(|&b| [b; 8]).collect();
    assert_eq!(String::from_utf8_lossy(&r[hl..]), String::from_utf8_lossy(&want), "{policy:?} ipv6={ipv6}");
    if ipv6 {
        assert_eq!(u16::from_be_bytes([r[4], r[5]]), 192);
    } else {
        assert_eq!(u16::from_be_bytes([r[2], r[3]]), 20 + 192);
        assert!(ipv4_ok(&r));
    }
    // Every fragment was given back.
    assert_eq!((h.df.trackers(), h.df.frags_held(), h.df.memuse()), (0, 0, 0));
}

#[test]
fn defrag_sturges_novak_every_policy_ipv4() {
    for p in POLICIES {
        sturges_novak(p, false);
    }
}

#[test]
fn defrag_sturges_novak_every_policy_ipv6() {
    for p in POLICIES {
        sturges_novak(p, true);
    }
}

#[test]
fn defrag_jeremy_linux() {
    let mut h = H::new(DefragPolicy::Linux);
    assert!(h.feed(&v4(ICMP, 1, 0, true, &[b'A'; 24])).is_none());
    assert!(h.feed(&v4(ICMP, 1, 40 >> 3, true, &[b'B'; 48])).is_none());
    assert!(h.feed(&v4(ICMP, 1, 24 >> 3, true, &[b'C'; 48])).is_none());
    let r = h.feed(&v4(ICMP, 1, 88 >> 3, false, &[b'D'; 14])).expect("reassembled");
    let want = [&[b'A'; 24][..], &[b'C'; 48], &[b'B'; 16], &[b'D'; 14]].concat();
    assert_eq!(&r[20..], &want[..]);
}

#[test]
fn defrag_bsd_fragment_after_no_mf() {
    for ipv6 in [false, true] {
        let mut h = H::new(DefragPolicy::Bsd);
        let mk = |off: u16, mf: bool, ch: u8, n: usize| {
            if ipv6 {
                v6(ICMP, 0x96, off >> 3, mf, &vec![ch; n])
            } else {
                v4(ICMP, 0x96, off >> 3, mf, &vec![ch; n])
            }
        };
        assert!(h.feed(&mk(24, false, b'A', 16)).is_none());
        assert!(h.feed(&mk(8, true, b'B', 16)).is_none());
        assert!(h.feed(&mk(16, true, b'C', 16)).is_none());
        let r = h.feed(&mk(0, true, b'D', 8)).expect("reassembled");
        let hl = if ipv6 { 40 } else { 20 };
        assert_eq!(&r[hl..], b"DDDDDDDDBBBBBBBBBBBBBBBBCCCCCCCCAAAAAAAA", "ipv6={ipv6}");
    }
}

#[test]
fn defrag_bsd_subsequent_overlaps_start_of_original() {
    for ipv6 in [false, true] {
        let mut h = H::new(DefragPolicy::Bsd);
        let mk = |off: u16, mf: bool, d: &[u8]| {
            if ipv6 {
                v6(ICMP, 1, off >> 3, mf, d)
            } else {
                v4(ICMP, 1, off >> 3, mf, d)
            }
        };
        assert!(h.feed(&mk(8, false, &[b'E'; 24])).is_none());
        let r = h.feed(&mk(0, true, &[b'M'; 24])).expect("reassembled");
        let hl = if ipv6 { 40 } else { 20 };
        assert_eq!(&r[hl..], b"MMMMMMMMMMMMMMMMMMMMMMMMEEEEEEEE", "ipv6={ipv6}");

        let mut h = H::new(DefragPolicy::Bsd);
        let mk = |off: u16, mf: bool, d: &[u8]| {
            if ipv6 {
                v6(ICMP, 6, off >> 3, mf, d)
            } else {
                v4(ICMP, 6, off >> 3, mf, d)
            }
        };
        assert!(h.feed(&mk(16, true, b"AABBCCDDAABBDDCC")).is_none());
        assert!(h.feed(&mk(8, true, b"AACCBBDDAACCDDBB")).is_none());
        assert!(h.feed(&mk(0, true, b"ZZZZZZZZ")).is_none());
        let r = h.feed(&mk(32, false, b"DDCCBBAA")).expect("reassembled");
        assert_eq!(&r[hl + 8..], b"AACCBBDDAACCDDBBAABBDDCCDDCCBBAA", "ipv6={ipv6}");
    }
}

#[test]
fn defrag_bsd_missing_fragment_does_not_reassemble() {
    for ipv6 in [false, true] {
        let mut h = H::new(DefragPolicy::Bsd);
        let mk = |off: u16, mf: bool, d: &[u8]| {
            if ipv6 {
                v6(ICMP, 189, off >> 3, mf, d)
            } else {
                v4(ICMP, 189, off >> 3, mf, d)
            }
        };
        assert!(h.feed(&mk(16, true, b"AABBCCDDAABBDDCC")).is_none());
        assert!(h.feed(&mk(40, true, b"AACCBBDD")).is_none());
        assert!(h.feed(&mk(8, true, b"AACCDDBBAADDBBCC")).is_none());
        assert!(h.feed(&mk(0, true, b"ZZZZZZZZ")).is_none());
        assert!(h.feed(&mk(48, false, b"DDCCBBAA")).is_none(), "hole at 32..40");
        assert_eq!(h.df.trackers(), 1);
    }
}

#[test]
fn defrag_mf_ends_the_datagram() {
    for ipv6 in [false, true] {
        let mut h = H::new(DefragPolicy::Bsd);
        let mk = |off: u16, mf: bool, ch: u8| {
            if ipv6 {
                v6(ICMPV6, 9, off, mf, &[ch; 8])
            } else {
                v4(ICMP, 9, off, mf, &[ch; 8])
            }
        };
        assert!(h.feed(&mk(2, true, b'C')).is_none());
        assert!(h.feed(&mk(0, true, b'A')).is_none());
        let r = h.feed(&mk(1, false, b'B')).expect("MF=0 completes");
        let hl = if ipv6 { 40 } else { 20 };
        assert_eq!(&r[hl..], b"AAAAAAAABBBBBBBB");
        if ipv6 {
            assert_eq!(u16::from_be_bytes([r[4], r[5]]), 16);
        } else {
            assert_eq!(u16::from_be_bytes([r[2], r[3]]), 36);
        }
    }
}

#[test]
fn defrag_proto_is_part_of_the_ipv4_key() {
    let mut h = H::new(DefragPolicy::Bsd);
    assert!(h.feed(&v4(ICMP, 12, 0, true, &[b'A'; 8])).is_none());
    assert!(h.feed(&v4(UDP, 12, 1, true, &[b'B'; 8])).is_none());
    assert!(h.feed(&v4(ICMP, 12, 2, false, &[b'C'; 3])).is_none());
    assert_eq!(h.df.trackers(), 2);
}

#[test]
fn defrag_either_direction_joins_the_same_tracker() {
    // Suricata compares the address pair in both orders.
    let mut h = H::new(DefragPolicy::Bsd);
    assert!(h.feed(&v4_from([1, 1, 1, 1], [2, 2, 2, 2], ICMP, 7, 0, true, &[b'A'; 8])).is_none());
    let r = h.feed(&v4_from([2, 2, 2, 2], [1, 1, 1, 1], ICMP, 7, 1, false, &[b'B'; 8]));
    assert!(r.is_some());
}

#[test]
fn defrag_vlan_and_depth_separate_trackers() {
    let a = v4(ICMP, 1, 0, true, &[b'A'; 8]);
    let b = v4(ICMP, 1, 1, false, &[b'B'; 8]);
    // No VLAN: reassembles.
    let mut h = H::new(DefragPolicy::Bsd);
    assert!(h.feed(&a).is_none());
    assert!(h.feed(&b).is_some());
    // Mismatch at each VLAN level, then in tunnel depth: does not.
    for level in 0..4 {
        let mut h = H::new(DefragPolicy::Bsd);
        let (mut da, mut db) = (dec(&a), dec(&b));
        da.vlan = [1, 2, 3];
        db.vlan = [1, 2, 3];
        da.vlan_n = 3;
        db.vlan_n = 3;
        match level {
            0..=2 => db.vlan[level] = 9,
            _ => db.depth = 1,
        }
        assert!(h.feed_d(&a, &da).is_none());
        assert!(h.feed_d(&b, &db).is_none(), "level {level}");
        assert_eq!(h.df.trackers(), 2);
    }
    // Inside a tunnel the VLAN ids are not part of the key (tunnelled packets do not inherit them).
    let mut h = H::new(DefragPolicy::Bsd);
    let (mut da, mut db) = (dec(&a), dec(&b));
    da.depth = 1;
    db.depth = 1;
    da.vlan = [5, 0, 0];
    da.vlan_n = 1;
    assert!(h.feed_d(&a, &da).is_none());
    assert!(h.feed_d(&b, &db).is_some());
}

#[test]
fn defrag_empty_last_fragment_is_ignored() {
    // Suricata's DefragNoDataIpv4Test.
    let mut h = H::new(DefragPolicy::Bsd);
    assert!(h.feed(&v4(ICMP, 12, 1, false, &[])).is_none());
    assert_eq!(h.df.frags_held(), 0);
}

#[test]
fn defrag_too_large() {
    // Suricata's DefragTooLargeIpv4Test: 8183 * 8 + 71 + 20 > 65535.
    let mut h = H::new(DefragPolicy::Bsd);
    assert!(h.feed(&v4(ICMP, 1, 8183, false, &[b'A'; 71])).is_none());
    assert_eq!(h.get(C::EvIpv4FragPktTooLarge), 1);
    assert_eq!((h.df.trackers(), h.df.frags_held()), (0, 0));
    // 20 + 8183 * 8 + 51 = 65535 fits.
    assert!(h.feed(&v4(ICMP, 1, 8183, false, &[b'A'; 51])).is_none());
    assert_eq!(h.get(C::EvIpv4FragPktTooLarge), 1);
    assert_eq!(h.df.frags_held(), 1);

    let mut h = H::new(DefragPolicy::Bsd);
    assert!(h.feed(&v6(ICMPV6, 1, 8190, false, &[b'A'; 16])).is_none());
    assert_eq!(h.get(C::EvIpv6FragPktTooLarge), 1);
    assert!(h.feed(&v6(ICMPV6, 1, 8190, false, &[b'A'; 15])).is_none());
    assert_eq!(h.get(C::EvIpv6FragPktTooLarge), 1);
    assert_eq!(h.df.frags_held(), 1);
}

#[test]
fn defrag_ipv4_options_total_over_65535_is_too_large_at_reassembly() {
    // Each fragment passes Suricata's per-fragment check (which assumes a 20-byte header), but
    // the first fragment's 60-byte header makes the datagram longer than 65535 bytes.
    let mut h = H::new(DefragPolicy::Bsd);
    let mut first = v4(ICMP, 3, 0, true, &[b'A'; 1480]);
    // Turn it into a 60-byte header with NOP options.
    first.splice(20..20, [1u8; 40]);
    first[0] = 0x4f;
    let total = first.len() as u16;
    first[2..4].copy_from_slice(&total.to_be_bytes());
    first[10..12].copy_from_slice(&[0, 0]);
    let cs = ipv4_checksum(&first[..60]);
    first[10..12].copy_from_slice(&cs.to_be_bytes());
    assert!(h.feed(&first).is_none());
    let mut off = 1480usize;
    let mut last = None;
    while off < 65515 {
        let n = (65515 - off).min(1480);
        let mf = off + n < 65515;
        last = h.feed(&v4(ICMP, 3, (off / 8) as u16, mf, &vec![b'B'; n]));
        off += n;
    }
    assert!(last.is_none());
    assert_eq!(h.get(C::EvIpv4FragPktTooLarge), 1);
    assert_eq!(h.df.trackers(), 0);
}

#[test]
fn defrag_duplicates_reassemble_once() {
    let mut h = H::new(DefragPolicy::Bsd);
    let a = v4(UDP, 5, 0, true, &[b'A'; 16]);
    let b = v4(UDP, 5, 2, false, &[b'B'; 5]);
    assert!(h.feed(&a).is_none());
    assert!(h.feed(&a).is_none());
    assert_eq!(h.df.frags_held(), 1, "exact duplicate not stored");
    assert_eq!(h.get(C::EvIpv4FragOverlap), 1);
    assert!(h.feed(&b).is_some());
    // A late duplicate starts a new tracker, which never completes.
    assert!(h.feed(&b).is_none());
    assert_eq!(h.df.trackers(), 1);
    assert_eq!(h.get(C::DefragIpv4Reassembled), 1);
}

#[test]
fn defrag_ipv6_unfragmentable_headers_are_kept_and_chained() {
    // Hop-by-hop (8 bytes: next=44, len=0, PadN 4) before the Fragment header; UDP inside.
    let hbh = [44u8, 0, 1, 4, 0, 0, 0, 0];
    let mut udp = vec![0x04, 0xd2, 0x00, 0x35, 0, 0, 0, 0]; // 1234 -> 53, length filled below
    udp.extend_from_slice(&[b'x'; 40]);
    let ulen = udp.len() as u16;
    udp[4..6].copy_from_slice(&ulen.to_be_bytes());
    let mut h = H::new(DefragPolicy::Bsd);
    assert!(h.feed(&v6_ext(&hbh, UDP, 77, 3, false, &udp[24..])).is_none());
    let r = h.feed(&v6_ext(&hbh, UDP, 77, 0, true, &udp[..24])).expect("reassembled");
    assert_eq!(r[6], 0, "IPv6 header still names the hop-by-hop header");
    assert_eq!(r[40], UDP, "hop-by-hop now names UDP");
    assert_eq!(u16::from_be_bytes([r[4], r[5]]) as usize, 8 + udp.len());
    assert_eq!(&r[48..], &udp[..]);
    let mut c = Counters::new();
    let d = dec(&r);
    let rd = decode_rebuilt(&Decoder::default(), &r, &d, &mut c).expect("decodes");
    assert!(rd.has_l4() && !rd.invalid);
    assert_eq!((rd.proto, rd.sp, rd.dp), (UDP, 1234, 53));
}

// ---- Suricata's BSD quirks, reproduced -------------------------------------------------------
//
// Suricata's BSD walk (defrag.c, 7.0.5+ / 8) sets the trim of the fragment after `prev` to the
// new fragment's end even when that fragment starts before the new one, and removes `prev` once
// it is trimmed away, although the data it stood for may have been trimmed from the others. With
// duplicates and overlapping re-sends this loses bytes. Picket reproduces it (bytes never copied
// are zero in Picket, whatever happens to be in the packet buffer in Suricata).

fn bsd_run(pieces: &[(usize, usize)], len: usize) -> (H, Option<Vec<u8>>) {
    let payload: Vec<u8> = (0..len).map(|i| b'a' + (i / 8) as u8).collect();
    let mut h = H::new(DefragPolicy::Bsd);
    let mut out = None;
    for p in pieces {
        if let Some(r) = h.feed(&frag_of(false, 1, &payload, *p)) {
            out = Some(r);
        }
    }
    (h, out)
}

#[test]
fn defrag_bsd_quirk_can_leave_unwritten_bytes() {
    let (_, r) = bsd_run(&[(32, 56), (0, 32), (0, 48), (48, 56), (56, 63), (56, 63)], 63);
    let r = r.expect("reassembled");
    let mut want = b"aaaaaaaabbbbbbbbccccccccddddddddeeeeeeeeffffffffgggggggghhhhhhh".to_vec();
    want[32..48].fill(0);
    assert_eq!(&r[20..], &want[..]);
}

#[test]
fn defrag_bsd_quirk_can_lose_the_tail() {
    // The re-sent last fragment trims the last fragment held and is itself trimmed away.
    let (_, r) = bsd_run(&[(8, 40), (40, 47), (32, 47), (40, 47), (0, 8)], 47);
    let r = r.expect("reassembled");
    assert_eq!(&r[20..], b"aaaaaaaabbbbbbbbccccccccddddddddeeeeeeee");
    assert_eq!(u16::from_be_bytes([r[2], r[3]]), 60);
}

#[test]
fn defrag_bsd_quirk_can_leave_a_hole_for_good() {
    // Every byte is sent, but 16..24 ends up held by no fragment.
    let (h, r) = bsd_run(&[(0, 16), (16, 24), (8, 24), (16, 24), (16, 24), (24, 32)], 32);
    assert!(r.is_none());
    assert_eq!(h.df.trackers(), 1);
    // Other policies reassemble the same sequence.
    let payload: Vec<u8> = (0..32).map(|i| b'a' + (i / 8) as u8).collect();
    for policy in &POLICIES[1..] {
        let mut h = H::new(*policy);
        let mut out = None;
        for p in [(0, 16), (16, 24), (8, 24), (16, 24), (16, 24), (24, 32)] {
            out = out.or(h.feed(&frag_of(false, 1, &payload, p)));
        }
        assert_eq!(&out.expect("reassembled")[20..], &payload[..], "{policy:?}");
    }
}

// ---- timeouts and limits ----------------------------------------------------------------------

#[test]
fn defrag_timeout_on_packet_time() {
    // Suricata's DefragTimeoutTest: 16 trackers, then one fragment past the timeout.
    let mut h = H::new(DefragPolicy::Bsd);
    for i in 0..16u16 {
        assert!(h.feed(&v4(ICMP, i, 0, true, &[b'A' + i as u8; 16])).is_none());
    }
    assert_eq!(h.df.trackers(), 16);
    h.ts = Timestamp(T0.0 + 59_000_000_000);
    h.df.expire(h.ts, &mut h.c);
    assert_eq!(h.df.trackers(), 16);
    h.ts = Timestamp(T0.0 + 61_000_000_000);
    assert!(h.feed(&v4(ICMP, 99, 0, true, &[b'Z'; 16])).is_none());
    assert_eq!(h.get(C::DefragTrackerTimeout), 16);
    assert_eq!(h.df.trackers(), 1);
    assert_eq!(h.df.frags_held(), 1);
}

#[test]
fn defrag_timeout_is_in_whole_seconds_from_the_last_fragment() {
    let mut h = H::new(DefragPolicy::Bsd);
    h.ts = Timestamp(10_900_000_000); // 10.9 s: times out at 70.0 s
    assert!(h.feed(&v4(ICMP, 1, 0, true, &[b'A'; 8])).is_none());
    h.ts = Timestamp(40_000_000_000); // 40 s: a fragment refreshes it to 100 s
    assert!(h.feed(&v4(ICMP, 1, 2, true, &[b'C'; 8])).is_none());
    h.ts = Timestamp(99_999_999_999);
    assert!(h.feed(&v4(ICMP, 2, 0, true, &[b'X'; 8])).is_none());
    assert_eq!(h.get(C::DefragTrackerTimeout), 0);
    h.ts = Timestamp(100_000_000_000);
    assert!(h.feed(&v4(ICMP, 1, 1, false, &[b'B'; 8])).is_none(), "old fragments gone: a new tracker");
    assert_eq!(h.get(C::DefragTrackerTimeout), 1);
    assert_eq!(h.df.trackers(), 2);
    h.df.expire(Timestamp(1_000_000_000_000), &mut h.c);
    assert_eq!(h.get(C::DefragTrackerTimeout), 3);
    assert_eq!((h.df.trackers(), h.df.frags_held(), h.df.memuse()), (0, 0, 0));
    assert_eq!(h.get(C::DefragMemuse), 0);
}

#[test]
fn defrag_max_trackers_evicts_the_least_recently_updated() {
    let mut h = H::with(DefragConfig { trackers: 2, ..cfg(DefragPolicy::Bsd) });
    assert!(h.feed(&v4(ICMP, 1, 0, true, &[b'A'; 8])).is_none());
    assert!(h.feed(&v4(ICMP, 2, 0, true, &[b'A'; 8])).is_none());
    assert!(h.feed(&v4(ICMP, 1, 2, true, &[b'C'; 8])).is_none()); // 1 is now the most recent
    assert!(h.feed(&v4(ICMP, 3, 0, true, &[b'A'; 8])).is_none()); // evicts 2
    assert_eq!(h.get(C::DefragTrackerHardReuse), 1);
    assert_eq!(h.df.trackers(), 2);
    assert!(h.feed(&v4(ICMP, 1, 1, false, &[b'B'; 8])).is_some(), "1 survived");
    assert!(h.feed(&v4(ICMP, 2, 1, false, &[b'B'; 8])).is_none(), "2 was evicted");
}

#[test]
fn defrag_max_frags() {
    let mut h = H::with(DefragConfig { max_frags: 3, ..cfg(DefragPolicy::Bsd) });
    for i in 0..3 {
        assert!(h.feed(&v4(ICMP, 1, i * 2, true, &[b'A'; 8])).is_none());
    }
    assert!(h.feed(&v4(ICMP, 2, 0, true, &[b'A'; 8])).is_none());
    assert_eq!(h.get(C::DefragMaxFragsReached), 1);
    assert_eq!(h.get(C::EvIpv4FragIgnored), 1);
    assert_eq!(h.df.frags_held(), 3);
    // Completing a datagram frees its fragments.
    let mut h = H::with(DefragConfig { max_frags: 2, ..cfg(DefragPolicy::Bsd) });
    assert!(h.feed(&v4(ICMP, 1, 0, true, &[b'A'; 8])).is_none());
    assert!(h.feed(&v4(ICMP, 1, 1, false, &[b'B'; 8])).is_some());
    assert!(h.feed(&v4(ICMP, 2, 0, true, &[b'A'; 8])).is_none());
    assert!(h.feed(&v4(ICMP, 2, 1, false, &[b'B'; 8])).is_some());
    assert_eq!(h.get(C::DefragMaxFragsReached), 0);
}

#[test]
fn defrag_memcap_evicts_and_bounds_memory() {
    let memcap = 4 * (TRACKER_COST + FRAG_COST + 1000);
    let mut h = H::with(DefragConfig { memcap_bytes: memcap as u64, ..cfg(DefragPolicy::Bsd) });
    for id in 0..50u16 {
        assert!(h.feed(&v4(UDP, id, 0, true, &[b'A'; 1000])).is_none());
        assert!(h.df.memuse() <= memcap);
    }
    assert!(h.get(C::DefragTrackerHardReuse) >= 46);
    assert_eq!(h.get(C::DefragTrackerSoftReuse), 0);
    assert!(h.get(C::DefragMemuse) as usize <= memcap);
    // The newest datagram still completes.
    assert!(h.feed(&v4(UDP, 49, 125, false, &[b'B'; 10])).is_some());
    // A fragment that cannot fit even alone is dropped and counted.
    let mut h =
        H::with(DefragConfig { memcap_bytes: (TRACKER_COST + FRAG_COST + 100) as u64, ..cfg(DefragPolicy::Bsd) });
    assert!(h.feed(&v4(UDP, 1, 0, true, &[b'A'; 200])).is_none());
    assert_eq!(h.get(C::DefragMemcapDrop), 1);
    assert_eq!(h.get(C::EvIpv4FragIgnored), 1);
    assert_eq!(h.df.frags_held(), 0);
    // A memcap below one tracker: nothing can be tracked.
    let mut h = H::with(DefragConfig { memcap_bytes: 10, ..cfg(DefragPolicy::Bsd) });
    assert!(h.feed(&v4(UDP, 1, 0, true, &[b'A'; 8])).is_none());
    assert_eq!(h.get(C::DefragMaxTrackersReached), 1);
}

// ---- the rebuilt packet -----------------------------------------------------------------------

/// Splits a raw IPv4 datagram into fragments of `chunk` payload bytes (a multiple of 8).
fn split_v4(dgram: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let hl = (dgram[0] & 0x0f) as usize * 4;
    let payload = &dgram[hl..];
    let id = u16::from_be_bytes([dgram[4], dgram[5]]);
    let (src, dst) = ([dgram[12], dgram[13], dgram[14], dgram[15]], [dgram[16], dgram[17], dgram[18], dgram[19]]);
    payload
        .chunks(chunk)
        .enumerate()
        .map(|(i, c)| {
            let off = i * chunk;
            v4_from(src, dst, dgram[9], id, (off / 8) as u16, off + c.len() < payload.len(), c)
        })
        .collect()
}

#[test]
fn defrag_rebuilt_udp_over_vlan_decodes_and_keeps_context() {
    let mut dgram = Vec::new();
    etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(5353, 53)
        .write(&mut dgram, &[b'q'; 300])
        .unwrap();
    dgram[4..6].copy_from_slice(&0x4242u16.to_be_bytes());
    dgram[6] = 0; // no DF
    dgram[10..12].copy_from_slice(&[0, 0]);
    let cs = ipv4_checksum(&dgram[..20]);
    dgram[10..12].copy_from_slice(&cs.to_be_bytes());
    let mut df = Defrag::new(&DefragConfig::default());
    let mut c = Counters::new();
    let decoder = Decoder::default();
    let mut out = None;
    for frag in split_v4(&dgram, 128) {
        // Ethernet + one VLAN tag (id 7).
        let mut f = vec![2u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x07, 0x08, 0x00]);
        f.extend_from_slice(&frag);
        let mut d = Decoded::default();
        decoder.decode(LinkType::ETHERNET, &f, &mut d, &mut c);
        assert_eq!(d.ip_off, 18);
        if let Some(r) = df.fragment(&f, &d, T0, &mut c, &mut Default::default()) {
            out = Some((r, d));
        }
    }
    let (r, fd) = out.expect("reassembled");
    assert_eq!(r, dgram, "the datagram as sent");
    let before = (
        c.get(C::DecoderPkts),
        c.get(C::DecoderBytes),
        c.get(C::DecoderRaw),
        c.get(C::DecoderUdp),
        c.get(C::DecoderIpv4),
    );
    let rd = decode_rebuilt(&decoder, &r, &fd, &mut c).expect("decodes");
    assert_eq!((c.get(C::DecoderPkts), c.get(C::DecoderBytes), c.get(C::DecoderRaw)), (before.0, before.1, before.2));
    assert_eq!((c.get(C::DecoderUdp), c.get(C::DecoderIpv4)), (before.3 + 1, before.4 + 1));
    assert_eq!((rd.proto, rd.sp, rd.dp, rd.payload_len), (UDP, 5353, 53, 300));
    assert_eq!((rd.vlan_n, rd.vlan[0], rd.depth), (1, 7, 0));
    let fp = FlowKey::of(&rd, r.len()).expect("has a flow");
    assert_eq!(fp.key.vlan, [7, 0, 0]);
    assert_eq!(fp.bytes as usize, r.len());
    assert_eq!(c.get(C::DefragIpv4Fragments), 3, "counted by the decoder");
    assert_eq!(c.get(C::DefragIpv4Reassembled), 1);
}

#[test]
fn defrag_rebuilt_inside_ip_in_ip_keeps_depth_and_counts_its_own_length() {
    let mut dgram = Vec::new();
    etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(1000, 2000)
        .write(&mut dgram, &[b'z'; 100])
        .unwrap();
    dgram[6] = 0;
    dgram[10..12].copy_from_slice(&[0, 0]);
    let cs = ipv4_checksum(&dgram[..20]);
    dgram[10..12].copy_from_slice(&cs.to_be_bytes());
    let mut df = Defrag::new(&DefragConfig::default());
    let mut c = Counters::new();
    let decoder = Decoder::default();
    let mut out = None;
    for inner in split_v4(&dgram, 64) {
        let outer = v4_from([192, 168, 0, 1], [192, 168, 0, 2], 4, 1, 0, false, &inner);
        let mut d = Decoded::default();
        decoder.decode(LinkType::RAW, &outer, &mut d, &mut c);
        assert_eq!((d.depth, d.ip_off), (1, 20));
        assert!(d.flags & flags::FRAGMENT != 0);
        if let Some(r) = df.fragment(&outer, &d, T0, &mut c, &mut Default::default()) {
            out = Some((r, d));
        }
    }
    let (r, fd) = out.expect("reassembled");
    assert_eq!(r, dgram);
    let rd = decode_rebuilt(&decoder, &r, &fd, &mut c).expect("decodes");
    assert_eq!(rd.depth, 1);
    assert!(rd.flags & flags::TUNNELLED != 0);
    let fp = FlowKey::of(&rd, r.len()).expect("has a flow");
    assert_eq!((fp.key.depth, fp.bytes as usize), (1, r.len()));
}

#[test]
fn defrag_rebuilt_that_does_not_decode_is_dropped() {
    let mut c = Counters::new();
    let d = Decoded::default();
    assert!(decode_rebuilt(&Decoder::default(), &[0x45, 0, 0], &d, &mut c).is_none());
    assert_eq!((c.get(C::DecoderPkts), c.get(C::DecoderInvalid)), (0, 0));
}

// ---- randomised -------------------------------------------------------------------------------

/// xorshift64*: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// A random cover of `0..len` by consecutive pieces, each but the last a multiple of 8 bytes.
fn plan(rng: &mut Rng, len: usize) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut at = 0;
    while at < len {
        let units = if rng.below(4) == 0 { 8 } else { 185 };
        let mut size = 8 * (1 + rng.below(units));
        if at == 0 && size >= len {
            size = 8 * ((len - 1) / 8).max(1);
        }
        let end = (at + size).min(len);
        v.push((at, end));
        at = end;
    }
    v
}

fn frag_of(ipv6: bool, id: u32, payload: &[u8], (a, b): (usize, usize)) -> Vec<u8> {
    let mf = b < payload.len();
    if ipv6 {
        v6(UDP, id, (a / 8) as u16, mf, &payload[a..b])
    } else {
        v4(UDP, id as u16, (a / 8) as u16, mf, &payload[a..b])
    }
}

/// Random datagrams, cut at random, sent in random order with random exact duplicates (and,
/// with `mixed`, a second, differently cut copy): every policy rebuilds the datagram sent.
fn random_reassembly(seed: u64, mixed: bool) {
    let mut rng = Rng(seed);
    let mut bsd_quirks = 0;
    for policy in POLICIES {
        let mut h = H::new(policy);
        for round in 0..150u32 {
            let ipv6 = rng.below(2) == 1;
            // At least two pieces: one piece at offset 0 without MF is not a fragment.
            let len = match rng.below(10) {
                0 => 9 + rng.below(16),
                1 => 20_000 + rng.below(45_000),
                _ => 9 + rng.below(3000),
            };
            let payload: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let id = 1000 + round;
            let mut pieces = plan(&mut rng, len);
            if mixed {
                pieces.extend(plan(&mut rng, len));
            }
            let dups: Vec<(usize, usize)> = pieces.iter().copied().filter(|_| rng.below(4) == 0).collect();
            pieces.extend(dups);
            rng.shuffle(&mut pieces);
            let want = if ipv6 { v6_whole(UDP, &payload) } else { v4_whole(UDP, id as u16, &payload) };
            let mut got = Vec::new();
            for p in &pieces {
                if let Some(r) = h.feed(&frag_of(ipv6, id, &payload, *p)) {
                    got.push(r);
                }
            }
            if !(mixed && policy == DefragPolicy::Bsd) {
                assert!(
                    !got.is_empty(),
                    "{policy:?} seed {seed} round {round}: never reassembled ({} pieces)",
                    pieces.len()
                );
            }
            if mixed && policy == DefragPolicy::Bsd && got.first() != Some(&want) {
                if got.is_empty() {
                    // defrag_bsd_quirk_can_leave_a_hole_for_good
                    bsd_quirks += 1;
                    h.ts = Timestamp(h.ts.0 + 120_000_000_000);
                    h.df.expire(h.ts, &mut h.c);
                    continue;
                }
                // Suricata's BSD walk can trim away data that no other held fragment supplies
                // (defrag_bsd_quirk_can_leave_unwritten_bytes): those bytes are never copied.
                // Everything else is the datagram's.
                // It can also drop the tail: a duplicate of a last fragment that arrives after
                // an overlapping one trims both away (defrag_bsd_quirk_can_lose_the_tail).
                bsd_quirks += 1;
                let hl = if ipv6 { 40 } else { 20 };
                let g = &got[0];
                assert!(g.len() <= want.len());
                assert_eq!(&g[..2], &want[..2]);
                assert!(g[hl..].iter().zip(&want[hl..]).all(|(g, w)| g == w || *g == 0));
                h.ts = Timestamp(h.ts.0 + 120_000_000_000);
                h.df.expire(h.ts, &mut h.c);
                continue;
            }
            assert!(
                got[0] == want,
                "{policy:?} seed {seed} round {round} ipv6={ipv6} len {len}: first rebuild differs (first diff at {:?})",
                got[0].iter().zip(&want).position(|(a, b)| a != b)
            );
            // Late duplicates can only ever complete the same datagram again.
            assert!(got.iter().all(|g| *g == want));
            // Leftover trackers from late duplicates time out.
            h.ts = Timestamp(h.ts.0 + 120_000_000_000);
            h.df.expire(h.ts, &mut h.c);
            assert_eq!((h.df.trackers(), h.df.frags_held(), h.df.memuse()), (0, 0, 0));
        }
    }
    if bsd_quirks > 0 {
        println!("seed {seed}: {bsd_quirks} BSD rebuilds with unwritten bytes");
    }
}

#[test]
fn defrag_random_fragmentations_rebuild_the_datagram() {
    for seed in [1, 2, 3] {
        random_reassembly(0x9e37_79b9_7f4a_7c15 ^ seed, false);
    }
}

#[test]
fn defrag_random_consistent_overlaps_rebuild_the_datagram() {
    for seed in [11, 12, 13] {
        random_reassembly(0x2545_f491_4f6c_dd1d ^ seed, true);
    }
}

#[test]
fn defrag_garbage_never_panics() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for policy in POLICIES {
        let mut h = H::with(DefragConfig { memcap_bytes: 200_000, max_frags: 500, trackers: 50, ..cfg(policy) });
        for i in 0..3000u32 {
            // A valid fragment, then maybe mangled; or random bytes with a random summary.
            let ipv6 = rng.below(2) == 1;
            let len = rng.below(300);
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let off = rng.below(64) as u16;
            let mut f = if ipv6 {
                v6(UDP, rng.below(4) as u32, off, rng.below(3) > 0, &data)
            } else {
                v4(UDP, rng.below(4) as u16, off, rng.below(3) > 0, &data)
            };
            for _ in 0..rng.below(4) {
                let at = rng.below(f.len());
                f[at] = rng.next() as u8;
            }
            if rng.below(5) == 0 {
                f.truncate(rng.below(f.len() + 1));
            }
            let mut d = dec(&f);
            if rng.below(3) == 0 {
                d.flags |= flags::FRAGMENT | if rng.below(2) == 0 { flags::IPV4 } else { flags::IPV6 };
                d.ip_off = rng.below(f.len() + 3) as u32;
                d.vlan_n = rng.below(5) as u8;
                d.depth = rng.below(3) as u8;
            }
            h.ts = Timestamp(T0.0 + i as u64 * 100_000_000);
            if let Some(r) = h.df.fragment(&f, &d, h.ts, &mut h.c, &mut h.ev) {
                let _ = decode_rebuilt(&Decoder::default(), &r, &d, &mut h.c);
            }
            h.df.check();
        }
    }
}

// ---- configuration and counters ---------------------------------------------------------------

#[test]
fn defrag_config_section() {
    let c = Config::default();
    assert_eq!(
        c.defrag,
        DefragConfig {
            memcap_bytes: 32 << 20,
            timeout_secs: 60,
            max_frags: 65_535,
            trackers: 65_535,
            policy: DefragPolicy::Bsd
        }
    );
    let c = Config::load(
        None,
        &["defrag.policy=linux".into(), "defrag.memcap_bytes=64mb".into(), "defrag.timeout_secs=30".into()],
    )
    .unwrap();
    assert_eq!((c.defrag.policy, c.defrag.memcap_bytes, c.defrag.timeout_secs), (DefragPolicy::Linux, 64 << 20, 30));
    for p in ["bsd", "linux", "windows", "solaris", "first", "last"] {
        assert!(Config::load(None, &[format!("defrag.policy={p}")]).is_ok(), "{p}");
    }
    assert!(Config::load(None, &["defrag.policy=bsd-right".into()]).is_err());
    assert!(Config::load(None, &["defrag.timeout_secs=0".into()]).is_err());
    assert!(Config::load(None, &["defrag.trackers=0".into()]).is_err());
    assert!(Config::load(None, &["defrag.memcap=1".into()]).is_err(), "unknown key");
    let t: Result<Config, _> = toml::from_str("[defrag]\npolicy = \"first\"\nmax_frags = 10\n");
    let t = t.unwrap();
    assert_eq!((t.defrag.policy, t.defrag.max_frags, t.defrag.trackers), (DefragPolicy::First, 10, 65_535));
    assert!(toml::from_str::<Config>("[defrag]\nmax_fragz = 10\n").is_err());
}

#[test]
fn defrag_counter_names() {
    use crate::metrics::{is_suricata_counter, NAMES};
    for n in [
        "defrag.ipv4.reassembled",
        "defrag.ipv6.reassembled",
        "defrag.max_trackers_reached",
        "defrag.max_frags_reached",
        "defrag.tracker_soft_reuse",
        "defrag.tracker_hard_reuse",
        "defrag.wrk.tracker_timeout",
        "defrag.memuse",
        "decoder.event.ipv4.frag_overlap",
        "decoder.event.ipv6.frag_overlap",
        "decoder.event.ipv4.frag_ignored",
        "decoder.event.ipv6.frag_ignored",
    ] {
        assert!(NAMES.contains(&n), "{n}");
        assert!(is_suricata_counter(n), "{n}");
    }
    assert!(NAMES.contains(&"defrag.picket.memcap_drop"));
    assert!(!is_suricata_counter("defrag.picket.memcap_drop"));
}

#[test]
fn defrag_resent_fragments_do_not_grow_memory_without_bound() {
    // Under "last", each re-sent first fragment replaces the one held: the bytes of the
    // replaced ones are reclaimed.
    let mut h = H::new(DefragPolicy::Last);
    for i in 0..2000u32 {
        assert!(h.feed(&v4(UDP, 1, 0, true, &[i as u8; 1480])).is_none());
        assert!(h.df.memuse() < TRACKER_COST + FRAG_COST + 3 * 1500 + 4096 + 64);
    }
    assert_eq!(h.df.frags_held(), 1);
    let r = h.feed(&v4(UDP, 1, 185, false, &[b'z'; 20])).expect("reassembled");
    assert_eq!(&r[20..1500], &[(1999 % 256) as u8; 1480][..]);
}
