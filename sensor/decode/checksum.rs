//! Checksum validation (`capture.checksum_validation`): `all`, `none`, or `auto`.
//!
//! `auto` behaves as Suricata's pcap-file mode: validation starts on, and after a sample of
//! packets, if more than a tenth of the checksums checked were wrong, the capture is taken to
//! come from a host with checksum offloading and validation is switched off for the rest of
//! the run (`decoder.checksum.auto_disabled` = 1).
//!
//! A packet whose checksum fails is still counted and tracked in its flow but is not given to
//! stream reassembly or detection, as in Suricata.

use super::{flags, proto, Decoded};

/// How checksums are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Validate every packet.
    All,
    /// Validate nothing.
    None,
    /// Validate, and switch off if the sample says checksums are offloaded.
    Auto,
}

/// Packets sampled before `auto` decides (Suricata: CHECKSUM_SAMPLE_COUNT).
pub const AUTO_SAMPLE: u64 = 1000;
/// Percentage of bad checksums above which `auto` switches validation off.
pub const AUTO_INVALID_PERCENT: u64 = 10;

/// The `auto` decision state, kept by the one thread that sees every packet (the reader).
#[derive(Clone, Debug)]
pub struct AutoState {
    mode: Mode,
    checked: u64,
    bad: u64,
    decided: bool,
}

impl AutoState {
    /// Starts in the configured mode.
    pub fn new(mode: Mode) -> Self {
        AutoState { mode, checked: 0, bad: 0, decided: mode != Mode::Auto }
    }

    /// Whether packets should be validated now.
    pub fn validating(&self) -> bool {
        match self.mode {
            Mode::All => true,
            Mode::None => false,
            Mode::Auto => !self.decided || self.bad * 100 <= self.checked * AUTO_INVALID_PERCENT,
        }
    }

    /// Whether the mode is settled: always for `all`/`none`, after the sample for `auto`.
    /// From then on [`AutoState::validating`] does not change, so validation can be done by
    /// any thread.
    pub fn decided(&self) -> bool {
        self.decided
    }

    /// True once `auto` turned validation off.
    pub fn disabled_by_auto(&self) -> bool {
        self.mode == Mode::Auto && self.decided && !self.validating()
    }

    /// Feeds one packet's result; returns whether the packet's checksums count as bad under
    /// the current mode.
    pub fn observe(&mut self, checksum_ok: Option<bool>) -> bool {
        let Some(ok) = checksum_ok else { return false };
        match self.mode {
            Mode::None => false,
            Mode::All => !ok,
            Mode::Auto => {
                if !self.decided {
                    self.checked += 1;
                    if !ok {
                        self.bad += 1;
                    }
                    if self.checked >= AUTO_SAMPLE {
                        self.decided = true;
                    }
                }
                self.validating() && !ok
            }
        }
    }
}

/// Counts a packet whose checksum failed, by protocol (`decoder.checksum.*_invalid`).
pub fn count_invalid(d: &Decoded, c: &mut crate::metrics::Counters) {
    use crate::metrics::C;
    match d.proto {
        proto::TCP => c.inc(C::ChecksumTcpInvalid),
        proto::UDP => c.inc(C::ChecksumUdpInvalid),
        proto::ICMP | proto::ICMPV6 => c.inc(C::ChecksumIcmpInvalid),
        _ => c.inc(C::ChecksumIpv4Invalid),
    }
}

/// Adds the big-endian 16-bit words of `b` to `acc` (one's complement sum, not folded).
/// Eight bytes at a time: the 32-bit halves of each word are added into a 64-bit sum, which
/// is congruent modulo 0xffff to the sum of the 16-bit words (2^16 = 1 mod 0xffff), then
/// folded. The reader validated every packet's checksums with the two-byte loop, 4% of a run.
#[inline]
fn sum16(mut acc: u32, b: &[u8]) -> u32 {
    let mut wide = b.chunks_exact(8);
    let mut s: u64 = 0;
    for c in &mut wide {
        // In bounds: chunks_exact(8) yields 8-byte chunks.
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        s += (w >> 32) + (w & 0xffff_ffff);
    }
    if s != 0 {
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        acc += s as u32;
    }
    let mut chunks = wide.remainder().chunks_exact(2);
    for c in &mut chunks {
        // In bounds: chunks_exact(2) yields 2-byte chunks.
        acc += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [last] = chunks.remainder() {
        acc += (*last as u32) << 8;
    }
    acc
}

#[inline]
fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Verifies the checksums of the innermost IP header and its transport. `None` when nothing
/// could be checked (not IP, a fragment, a truncated packet).
pub fn verify(frame: &[u8], d: &Decoded) -> Option<bool> {
    if !d.is_ip() || d.flags & (flags::FRAGMENT | flags::TRUNCATED) != 0 {
        return None;
    }
    let ip = frame.get(d.ip_off as usize..(d.ip_off + d.ip_len) as usize)?;
    if d.flags & flags::IPV4 != 0 {
        let hdr = ip.get(..d.ip_hlen as usize)?;
        if fold(sum16(0, hdr)) != 0xffff {
            return Some(false);
        }
    }
    if !d.has_l4() {
        return Some(true);
    }
    let l4 = frame.get(d.l4_off as usize..(d.ip_off + d.ip_len) as usize)?;
    let v6 = d.is_ipv6();
    let pseudo = |acc: u32| -> u32 {
        let alen = if v6 { 16 } else { 4 };
        // In bounds: src and dst are [u8; 16] and alen is 4 or 16.
        let mut a = sum16(acc, &d.src[..alen]);
        a = sum16(a, &d.dst[..alen]);
        a += d.proto as u32;
        a += (l4.len() as u32) & 0xffff;
        a += (l4.len() as u32) >> 16;
        a
    };
    match d.proto {
        proto::TCP => Some(fold(sum16(pseudo(0), l4)) == 0xffff),
        proto::UDP => {
            // A zero UDP checksum over IPv4 means "not computed".
            if !v6 && l4.get(6..8) == Some(&[0, 0]) {
                return Some(true);
            }
            Some(fold(sum16(pseudo(0), l4)) == 0xffff)
        }
        proto::ICMP => Some(fold(sum16(0, l4)) == 0xffff),
        proto::ICMPV6 => Some(fold(sum16(pseudo(0), l4)) == 0xffff),
        _ => Some(true),
    }
}

/// Whether the IGMP checksum (over the whole IGMP message) verifies; `None` when the packet
/// has no decoded IGMP header.
pub fn igmp_ok(frame: &[u8], d: &Decoded) -> Option<bool> {
    if d.proto != proto::IGMP || d.igmp == 0 || !d.has_l4() {
        return None;
    }
    let msg = frame.get(d.l4_off as usize..(d.ip_off as usize).checked_add(d.ip_len as usize)?)?;
    Some(fold(sum16(0, msg)) == 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::Decoder;
    use crate::metrics::Counters;
    use etherparse::PacketBuilder;

    #[test]
    fn good_and_bad_tcp() {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1, 2, 3, 4)
            .write(&mut f, b"abc")
            .unwrap();
        let mut d = Decoded::default();
        Decoder::default().decode(LinkType::ETHERNET, &f, &mut d, &mut Counters::new());
        assert_eq!(verify(&f, &d), Some(true));
        let n = f.len();
        f[n - 1] ^= 0xff;
        assert_eq!(verify(&f, &d), Some(false));
    }

    #[test]
    fn auto_turns_off_when_most_are_bad() {
        let mut s = AutoState::new(Mode::Auto);
        for _ in 0..AUTO_SAMPLE {
            s.observe(Some(false));
        }
        assert!(s.disabled_by_auto());
        assert!(!s.observe(Some(false)));
        let mut s = AutoState::new(Mode::Auto);
        for i in 0..AUTO_SAMPLE {
            s.observe(Some(i % 20 != 0));
        }
        assert!(s.validating());
        assert!(s.observe(Some(false)));
    }

    fn sum16_reference(mut acc: u32, b: &[u8]) -> u32 {
        let mut chunks = b.chunks_exact(2);
        for c in &mut chunks {
            acc += u16::from_be_bytes([c[0], c[1]]) as u32;
        }
        if let [last] = chunks.remainder() {
            acc += (*last as u32) << 8;
        }
        acc
    }

    proptest::proptest! {
        #[test]
        fn the_wide_sum_folds_to_the_two_byte_sum(b in proptest::collection::vec(proptest::num::u8::ANY, 0..300), acc in 0u32..0x3_0000) {
            proptest::prop_assert_eq!(fold(sum16(acc, &b)), fold(sum16_reference(acc, &b)));
        }
    }

    #[test]
    fn the_wide_sum_of_extremes() {
        for b in [vec![0xffu8; 1500], vec![0u8; 64], vec![0xff; 7], vec![0x00, 0x01, 0xff, 0xfe, 0, 0, 0, 0, 0xff]] {
            for acc in [0u32, 1, 0xffff, 0x2fffe] {
                assert_eq!(fold(sum16(acc, &b)), fold(sum16_reference(acc, &b)));
            }
        }
    }
}
