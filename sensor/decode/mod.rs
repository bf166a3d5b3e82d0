//! Decode: from a frame's bytes to a [`Decoded`] summary of its layers.
//!
//! Takes: a frame and its link type. Promises: every header is read through etherparse's
//! zero-copy header slices (which validate lengths once); the result is a small `Copy` struct
//! of offsets and the fields later stages key on (addresses, ports, protocol, VLAN ids, tunnel
//! depth), describing the innermost IP packet. Decoding is lax: a truncated or odd packet
//! yields what could be read plus a named anomaly ([`Event`], Suricata's decoder events),
//! listed on the packet ([`Decoded::events`]) and counted as `decoder.event.*`; the
//! anomalies Suricata treats as fatal mark the packet invalid (`decoder.invalid`).
//! Layer counters (`decoder.ipv4`, `decoder.tcp`, `decoder.vlan`, ...) follow Suricata's
//! rules: one per header decoded, tunnelled headers included.
//! Never: allocates, panics, or reads outside the frame, whatever its bytes.
//!
//! Files, by layer: `decoded.rs` (the result: [`Decoded`], [`flags`], [`proto`]), `link.rs`
//! (Ethernet, VLAN, SLL/SLL2, null/loopback, Cisco HDLC, raw IP, PPP, PPPoE, MPLS, NSH), `ip.rs`
//! (IPv4 with options, IPv6 with extension headers), `transport.rs` (TCP, UDP, SCTP, ESP,
//! ICMPv4, ICMPv6, IGMP), `tunnel.rs` (IP-in-IP, GRE, VXLAN, Geneve, Teredo), `checksum.rs`. Every
//! layer is a method of the one decoding context (`Cx`) defined here, which holds the frame,
//! the result being filled, the counters and the layer budget.

pub mod checksum;
mod decoded;
pub(crate) mod event;
mod ip;
mod link;
mod transport;
mod tunnel;

pub use decoded::{addr, flags, proto, Decoded, Embedded, OuterFlow, TcpOptions, Tunnel};
pub use event::{Event, Events};
pub use transport::{icmpv4_counterpart, icmpv6_counterpart};

use crate::capture::LinkType;
use crate::metrics::{Counters, C};

/// Layers followed at most (links, tags, tunnels), as Suricata's `decoder.max-layers`.
pub const MAX_LAYERS: u8 = 16;

/// Decoder settings (which UDP tunnels to follow): also the `[decoder]` section of the
/// configuration file.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Decoder {
    /// Follow Teredo (IPv6 in UDP) on this port (0 = off). Suricata default: 3544.
    pub teredo_port: u16,
    /// Follow VXLAN on this UDP port (0 = off). Suricata default: 4789.
    pub vxlan_port: u16,
    /// Follow Geneve on this UDP port (0 = off). Suricata default: 6081.
    pub geneve_port: u16,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { teredo_port: 3544, vxlan_port: 4789, geneve_port: 6081 }
    }
}

struct Cx<'a, 'c> {
    f: &'a [u8],
    d: &'c mut Decoded,
    c: &'c mut Counters,
    layers: u8,
    cfg: &'c Decoder,
}

#[inline]
fn be16(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(o)?, *b.get(o + 1)?]))
}

impl Decoder {
    /// Decodes `frame` of link type `lt` into `d` (reset first), counting into `c`.
    pub fn decode(&self, lt: LinkType, frame: &[u8], d: &mut Decoded, c: &mut Counters) {
        *d = Decoded::default();
        c.inc(C::DecoderPkts);
        c.add(C::DecoderBytes, frame.len() as u64);
        c.max(C::DecoderMaxPktSize, frame.len() as u64);
        let mut cx = Cx { f: frame, d, c, layers: 0, cfg: self };
        match lt {
            LinkType::ETHERNET => cx.ethernet(0),
            LinkType::RAW | LinkType::RAW_BSD12 | LinkType::RAW_BSD14 => {
                cx.c.inc(C::DecoderRaw);
                cx.raw(0)
            }
            LinkType::IPV4 => {
                cx.c.inc(C::DecoderRaw);
                cx.ipv4(0)
            }
            LinkType::IPV6 => {
                cx.c.inc(C::DecoderRaw);
                cx.ipv6(0)
            }
            LinkType::LINUX_SLL => cx.sll(),
            LinkType::LINUX_SLL2 => cx.sll2(),
            LinkType::NULL | LinkType::LOOP => cx.null(lt == LinkType::LOOP),
            LinkType::PPP => cx.ppp(0),
            LinkType::C_HDLC => cx.chdlc(),
            _ => {
                cx.c.inc(C::CaptureUnsupportedLinktype);
                cx.c.inc(C::DecoderUnknownLinktype);
                cx.d.invalid = true;
            }
        }
        if d.invalid {
            c.inc(C::DecoderInvalid);
        }
    }
}

impl Cx<'_, '_> {
    /// Counts an anomaly and lists it on the packet; `invalid` marks the packet invalid as
    /// Suricata's invalid events do.
    #[inline]
    fn event(&mut self, ev: Event, invalid: bool) {
        event::count(self.c, ev);
        self.d.events.push(ev);
        // As Suricata: only the wire packet's own layers make it invalid; a broken tunnelled
        // packet is dropped from decoding but does not count in decoder.invalid.
        if invalid && self.d.depth == 0 {
            self.d.invalid = true;
        }
    }

    /// Enters one more layer; false (and counted) past the limit.
    fn layer(&mut self) -> bool {
        self.layers += 1;
        if self.layers > MAX_LAYERS {
            self.c.inc(C::DecoderTooManyLayers);
            self.d.invalid = true;
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn dec(lt: LinkType, f: &[u8]) -> (Decoded, Counters) {
        let mut d = Decoded::default();
        let mut c = Counters::new();
        Decoder::default().decode(lt, f, &mut d, &mut c);
        (d, c)
    }

    fn tcp_frame(payload: &[u8]) -> Vec<u8> {
        let b =
            PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).tcp(1234, 80, 1000, 65535);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    #[test]
    fn ethernet_ipv4_tcp() {
        let f = tcp_frame(b"GET / HTTP/1.0\r\n\r\n");
        let (d, c) = dec(LinkType::ETHERNET, &f);
        assert!(!d.invalid);
        assert!(d.has_l4());
        assert_eq!((d.proto, d.sp, d.dp), (6, 1234, 80));
        assert_eq!(d.payload(&f), b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(c.get(C::DecoderIpv4), 1);
        assert_eq!(c.get(C::DecoderTcp), 1);
        assert_eq!(c.get(C::DecoderEthernet), 1);
    }

    #[test]
    fn every_prefix_is_safe_and_short_ones_are_invalid() {
        let f = tcp_frame(b"hello");
        for n in 0..f.len() {
            let (d, _) = dec(LinkType::ETHERNET, &f[..n]);
            // cut inside the IP packet: the total length no longer fits
            assert!(d.invalid, "prefix {n} not invalid");
        }
    }

    #[test]
    fn qinq_counts_each_level() {
        let mut f = vec![2u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x81, 0x00, 0x00, 0x1e, 0x08, 0x00]);
        let ip = &tcp_frame(b"x")[14..];
        f.extend_from_slice(ip);
        let (d, c) = dec(LinkType::ETHERNET, &f);
        assert!(!d.invalid);
        assert_eq!(d.vlan_n, 3);
        assert_eq!(d.vlan, [10, 20, 30]);
        assert_eq!((c.get(C::DecoderVlan), c.get(C::DecoderVlanQinq), c.get(C::DecoderVlanQinqinq)), (1, 1, 1));
    }

    /// An IPv6 packet from `2001:db8::1` to `2001:db8::2` with next header `nh` and payload `pl`.
    fn ipv6_raw(nh: u8, pl: &[u8]) -> Vec<u8> {
        let mut f = vec![0x60, 0, 0, 0];
        f.extend_from_slice(&(pl.len() as u16).to_be_bytes());
        f.extend_from_slice(&[nh, 64]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        f.extend_from_slice(pl);
        f
    }

    #[test]
    fn ipv6_useless_fragment_header_then_one_byte_is_a_truncated_exthdr() {
        // Fragment header at offset 0 without more-fragments, then 1 byte of TCP.
        let f = ipv6_raw(44, &[6, 0, 0, 0, 0, 0, 0, 1, 0x45]);
        let (d, c) = dec(LinkType::RAW, &f);
        assert_eq!(d.events.iter().collect::<Vec<_>>(), vec![Event::Ipv6ExthdrUselessFh, Event::Ipv6TruncExthdr]);
        assert!(d.invalid);
        assert!(!d.has_l4());
        assert_eq!(c.get_named("decoder.event.ipv6.trunc_exthdr"), Some(1));
        // Two bytes are enough to go on: the TCP decoder then finds its header too short.
        let f = ipv6_raw(44, &[6, 0, 0, 0, 0, 0, 0, 1, 0x45, 0x46]);
        let (d, _) = dec(LinkType::RAW, &f);
        assert_eq!(d.events.iter().collect::<Vec<_>>(), vec![Event::Ipv6ExthdrUselessFh, Event::TcpPktTooSmall]);
        // Without extension headers there is no such check.
        let (d, _) = dec(LinkType::RAW, &ipv6_raw(6, &[0x45]));
        assert_eq!(d.events.iter().collect::<Vec<_>>(), vec![Event::TcpPktTooSmall]);
    }

    #[test]
    fn short_sctp_is_invalid_with_zero_ports() {
        let mut f = vec![0x45, 0, 0, 24, 0, 1, 0, 0, 64, 132, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        f.extend_from_slice(&[0x04, 0xd2, 0x16, 0x2e]);
        let (d, c) = dec(LinkType::RAW, &f);
        assert!(d.invalid);
        assert_eq!((d.proto, d.sp, d.dp, d.has_l4()), (proto::SCTP, 0, 0, false));
        assert!(d.events.has(Event::SctpPktTooSmall));
        assert_eq!(c.get(C::DecoderSctp), 1);
    }

    #[test]
    fn nsh_md_type_2_carries_ipv4_and_its_anomalies_are_events() {
        let ip = &tcp_frame(b"x")[14..];
        let frame = |base: [u8; 4]| {
            let mut f = vec![2u8; 12];
            f.extend_from_slice(&[0x89, 0x4f]);
            f.extend_from_slice(&base);
            f.extend_from_slice(&[0, 0, 1, 2]);
            f.extend_from_slice(ip);
            f
        };
        // version 0, length 2 words, MD type 2, next protocol IPv4
        let (d, c) = dec(LinkType::ETHERNET, &frame([0x00, 0x02, 0x02, 0x01]));
        assert!(!d.invalid && d.has_l4() && d.events.is_empty());
        assert_eq!((d.proto, d.sp, d.dp), (6, 1234, 80));
        assert_eq!((c.get(C::DecoderNsh), c.get(C::DecoderTcp)), (1, 1));
        for (base, ev, invalid) in [
            ([0x40, 0x02, 0x02, 0x01], Event::NshUnsupportedVersion, false),
            ([0x00, 0x3f, 0x02, 0x01], Event::NshBadHeaderLength, true),
            ([0x00, 0x02, 0x00, 0x01], Event::NshReservedType, false),
            ([0x00, 0x02, 0x01, 0x01], Event::NshBadHeaderLength, true),
            ([0x00, 0x02, 0x03, 0x01], Event::NshUnsupportedType, false),
            ([0x00, 0x02, 0x02, 0x04], Event::NshUnknownPayload, false),
        ] {
            let (d, _) = dec(LinkType::ETHERNET, &frame(base));
            assert_eq!(d.events.iter().collect::<Vec<_>>(), vec![ev], "{base:?}");
            assert_eq!(d.invalid, invalid, "{base:?}");
            assert!(!d.is_ip());
        }
        let mut short = frame([0, 2, 2, 1]);
        short.truncate(20);
        assert!(dec(LinkType::ETHERNET, &short).0.events.has(Event::NshHeaderTooSmall));
    }

    #[test]
    fn unknown_ipv4_protocols_are_an_event() {
        let mut f = vec![0x45, 0, 0, 24, 0, 1, 0, 0, 64, 253, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 2, 3, 4];
        let (d, _) = dec(LinkType::RAW, &f);
        assert_eq!(d.events.iter().collect::<Vec<_>>(), vec![Event::Ipv4ProtoUnknown]);
        assert!(!d.invalid);
        f[9] = 6; // TCP (too short) is known: its own event instead
        assert!(!dec(LinkType::RAW, &f).0.events.has(Event::Ipv4ProtoUnknown));
    }

    #[test]
    fn garbage_never_panics() {
        let mut x: u32 = 12345;
        for len in 0..300 {
            let mut f = Vec::with_capacity(len);
            for _ in 0..len {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                f.push((x >> 16) as u8);
            }
            for lt in [0, 1, 9, 12, 101, 104, 108, 113, 228, 229, 276, 999] {
                let _ = dec(LinkType(lt), &f);
            }
        }
    }
}
