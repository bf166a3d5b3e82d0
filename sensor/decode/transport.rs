//! Transport layers: TCP (with option lengths checked), UDP (and the UDP tunnels it leads to),
//! SCTP, ESP, ICMPv4 (with the packet an error quotes), ICMPv6 and IGMP.

use etherparse::{TcpHeaderSlice, UdpHeaderSlice};

use super::event::Event;
use super::{be16, flags, proto, Cx, Embedded};
use crate::metrics::C;

impl Cx<'_, '_> {
    pub(super) fn l4(&mut self, proto: u8, off: usize, len: usize, v6: bool) {
        let Some(b) = self.f.get(off..off + len) else { return };
        match proto {
            proto::TCP => self.tcp(off, b),
            proto::UDP => self.udp(off, b),
            proto::ICMP => {
                if v6 {
                    self.event(Event::Ipv6WithIcmpv4, false);
                }
                self.icmpv4(off, b)
            }
            proto::ICMPV6 => {
                if !v6 {
                    self.event(Event::Ipv4WithIcmpv6, false);
                }
                self.icmpv6(off, b)
            }
            proto::IGMP if !v6 => self.igmp(off, b),
            proto::IPIP => self.tunnel_ip(off, 4, v6),
            proto::IPV6 => self.tunnel_ip(off, 6, v6),
            proto::GRE => self.gre(off, b),
            proto::SCTP => {
                self.c.inc(C::DecoderSctp);
                let d = &mut *self.d;
                d.l4_off = off as u32;
                if b.len() >= 12 {
                    d.flags |= flags::L4;
                    // In bounds: b.len() >= 12 is tested above.
                    d.sp = u16::from_be_bytes([b[0], b[1]]);
                    d.dp = u16::from_be_bytes([b[2], b[3]]);
                    d.l4_hlen = 12;
                    d.payload_off = (off + 12) as u32;
                    d.payload_len = (len - 12) as u32;
                } else {
                    self.event(Event::SctpPktTooSmall, true);
                }
            }
            50 => {
                self.c.inc(C::DecoderEsp);
                let d = &mut *self.d;
                d.l4_off = off as u32;
                if b.len() >= 8 {
                    d.flags |= flags::L4;
                    d.payload_off = (off + 8) as u32;
                    d.payload_len = (len - 8) as u32;
                } else {
                    self.event(Event::EspPktTooSmall, true);
                }
            }
            _ => {
                // As Suricata: an IPv4 protocol that its decoder has no case for (IGMP and
                // HOPOPT aside, which it knows) is an event; IPv6 has its own walk.
                if !v6 && !matches!(proto, 0 | 2) {
                    self.event(Event::Ipv4ProtoUnknown, false);
                }
                let d = &mut *self.d;
                d.l4_off = off as u32;
                d.payload_off = off as u32;
                d.payload_len = len as u32;
            }
        }
    }

    /// IGMP (Suricata's `decode-igmp.c`): the version from the type (a query's from its length
    /// and maximum response time), the header with IGMPv3 source lists and group records, RGMP
    /// when sent to 224.0.0.25. Every length is checked against the message first.
    pub(super) fn igmp(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderIgmp);
        if b.len() < 8 {
            self.event(Event::IgmpPktTooSmall, true);
            return;
        }
        // In bounds: b.len() >= 8 is checked above.
        let (version, hlen) = match b[0] {
            0x11 if b.len() >= 12 => {
                let n = usize::from(be16(b, 10).unwrap_or(0));
                // Suricata's cap: what an IPv4 packet with the router alert option can hold.
                if n > (65535 - 24 - 12) / 4 {
                    self.event(Event::IgmpMalformed, true);
                    return;
                }
                if b.len() < 12 + n * 4 {
                    self.event(Event::IgmpV3PktTooSmall, true);
                    return;
                }
                (3, 12 + n * 4)
            }
            0x11 => (if b[1] == 0 { 1 } else { 2 }, 8),
            0x22 => match self.igmpv3_report_len(b) {
                Some(h) => (3, h),
                None => return,
            },
            0x12 => (1, 8),
            0x16 | 0x17 => (2, 8),
            _ => (255, 8),
        };
        let d = &mut *self.d;
        d.flags |= flags::L4;
        d.l4_off = off as u32;
        d.l4_hlen = hlen as u32;
        d.payload_off = (off + hlen) as u32;
        d.payload_len = (b.len() - hlen) as u32;
        d.igmp = version;
        // In bounds: b.len() >= 8 is checked at the top.
        d.igmp_type = b[0];
        d.rgmp = d.dst[..4] == [224, 0, 0, 25];
    }

    /// The header length of an IGMPv3 membership report `b` (at least 8 bytes): its group
    /// records with their auxiliary data and sources, or `None` after raising why it does not fit.
    fn igmpv3_report_len(&mut self, b: &[u8]) -> Option<usize> {
        let groups = be16(b, 6).unwrap_or(0);
        let mut h = 8usize;
        // Bounded: each record moves h forward by at least 8 bytes within b, or returns.
        for _ in 0..groups {
            let Some(rec) = b.get(h..h + 8) else {
                self.event(Event::IgmpV3PktTooSmall, true);
                return None;
            };
            // In bounds: rec is the 8 bytes get(h..h + 8) returned.
            let aux = usize::from(rec[1]) * 4;
            let sources = usize::from(u16::from_be_bytes([rec[2], rec[3]])) * 4;
            h += 8;
            if b.len() - h < aux || b.len() - h - aux < sources {
                self.event(Event::IgmpMalformed, true);
                return None;
            }
            h += aux + sources;
        }
        Some(h)
    }

    pub(super) fn tcp(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderTcp);
        if b.len() < 20 {
            self.event(Event::TcpPktTooSmall, true);
            return;
        }
        let h = match TcpHeaderSlice::from_slice(b) {
            Ok(h) => h,
            Err(_) => {
                self.event(Event::TcpHlenTooSmall, true);
                return;
            }
        };
        let hlen = h.slice().len();
        // option lengths
        let opts = h.options();
        let mut i = 0;
        while i < opts.len() {
            // In bounds: i < opts.len() (loop condition).
            match opts[i] {
                0 => break,
                1 => i += 1,
                _ => match opts.get(i + 1) {
                    Some(&l) if l >= 2 && i + l as usize <= opts.len() => i += l as usize,
                    _ => {
                        self.event(Event::TcpInvalidOptlen, false);
                        break;
                    }
                },
            }
        }
        let d = &mut *self.d;
        d.flags |= flags::L4;
        d.l4_off = off as u32;
        d.l4_hlen = hlen as u32;
        d.sp = h.source_port();
        d.dp = h.destination_port();
        // In bounds: b.len() >= 20 is checked at the top.
        d.tcp_flags = b[13];
        d.tcp_seq = h.sequence_number();
        d.tcp_ack = h.acknowledgment_number();
        d.tcp_win = h.window_size();
        d.payload_off = (off + hlen) as u32;
        d.payload_len = (b.len() - hlen) as u32;
    }

    pub(super) fn udp(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderUdp);
        let h = match UdpHeaderSlice::from_slice(b) {
            Ok(h) => h,
            Err(_) => {
                self.event(Event::UdpHlenTooSmall, true);
                return;
            }
        };
        let ulen = h.length() as usize;
        if b.len() < ulen {
            self.event(Event::UdpPktTooSmall, true);
            return;
        }
        if ulen < 8 {
            self.event(Event::UdpLenInvalid, true);
            return;
        }
        // A UDP length shorter than the IP payload is accepted: the payload ends where UDP
        // says it does (Suricata master).
        let d = &mut *self.d;
        d.flags |= flags::L4;
        d.l4_off = off as u32;
        d.l4_hlen = 8;
        d.sp = h.source_port();
        d.dp = h.destination_port();
        d.payload_off = (off + 8) as u32;
        d.payload_len = (ulen - 8) as u32;
        let (sp, dp) = (d.sp, d.dp);
        let poff = off + 8;
        let plen = ulen - 8;
        if self.d.flags & flags::FRAGMENT != 0 {
            return;
        }
        let depth = self.d.depth;
        if self.cfg.teredo_port != 0 && (sp == self.cfg.teredo_port || dp == self.cfg.teredo_port) {
            self.teredo(poff, plen);
        }
        if self.d.depth == depth
            && self.cfg.geneve_port != 0
            && (sp == self.cfg.geneve_port || dp == self.cfg.geneve_port)
        {
            self.geneve(poff, plen);
        }
        if self.d.depth == depth && self.cfg.vxlan_port != 0 && dp == self.cfg.vxlan_port {
            self.vxlan(poff, plen);
        }
    }

    /// The 8-byte header both ICMP versions share, at `off`: the layer, its type and code
    /// (as Suricata, the source "port" is type | code << 8; the caller sets the destination,
    /// the type of the expected answer) and the payload after it. Returns (type, code); on a
    /// packet shorter than 8 bytes raises `too_small` and returns `None`.
    fn icmp_header(&mut self, off: usize, b: &[u8], too_small: Event) -> Option<(u8, u8)> {
        if b.len() < 8 {
            self.event(too_small, true);
            return None;
        }
        // In bounds: b.len() >= 8 is checked above.
        let (t, code) = (b[0], b[1]);
        let d = &mut *self.d;
        d.flags |= flags::L4;
        d.l4_off = off as u32;
        d.l4_hlen = 8;
        d.icmp_type = t;
        d.icmp_code = code;
        d.payload_off = (off + 8) as u32;
        d.payload_len = (b.len() - 8) as u32;
        d.sp = t as u16 | (code as u16) << 8;
        Some((t, code))
    }

    pub(super) fn icmpv4(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderIcmpv4);
        let Some((t, code)) = self.icmp_header(off, b, Event::Icmpv4PktTooSmall) else {
            return;
        };
        self.d.dp = icmpv4_counterpart(t).map(|r| r as u16).unwrap_or(0);
        let known_max_code = match t {
            0 | 4 | 8 | 9 | 10 | 13 | 14 | 15 | 16 | 17 | 18 => Some(0),
            3 => Some(15),
            5 => Some(3),
            11 => Some(1),
            12 => Some(2),
            _ => None,
        };
        match known_max_code {
            None => self.event(Event::Icmpv4UnknownType, false),
            Some(m) if code > m => self.event(Event::Icmpv4UnknownCode, false),
            _ => {}
        }
        if matches!(t, 3 | 4 | 5 | 11 | 12) {
            // In bounds: icmp_header returned Some, so b.len() >= 8.
            self.icmpv4_quoted(&b[8..]);
        }
    }

    /// Reads the IPv4 packet quoted by an ICMPv4 error (header + first 8 bytes).
    pub(super) fn icmpv4_quoted(&mut self, q: &[u8]) {
        if q.len() < 20 {
            self.event(Event::Icmpv4Ipv4TruncPkt, true);
            return;
        }
        // In bounds: q.len() >= 20 is checked above.
        if q[0] >> 4 != 4 {
            self.event(Event::Icmpv4Ipv4UnknownVer, true);
            return;
        }
        let hl = (q[0] & 0x0f) as usize * 4;
        if hl < 20 || q.len() < hl {
            self.event(Event::Icmpv4Ipv4TruncPkt, true);
            return;
        }
        // In bounds: q.len() >= 20 (checked above) covers q[9] and q[12..20].
        let p = q[9];
        let mut e = Embedded { proto: p, ..Default::default() };
        e.src[..4].copy_from_slice(&q[12..16]);
        e.dst[..4].copy_from_slice(&q[16..20]);
        if matches!(p, proto::TCP | proto::UDP) {
            if let (Some(sp), Some(dp)) = (be16(q, hl), be16(q, hl + 2)) {
                e.sp = sp;
                e.dp = dp;
                self.d.emb = e;
                if self.d.icmp_type == 3 {
                    self.d.flags |= flags::ICMP_ERROR;
                }
            }
        }
    }

    pub(super) fn icmpv6(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderIcmpv6);
        let Some((t, code)) = self.icmp_header(off, b, Event::Icmpv6PktTooSmall) else {
            return;
        };
        self.d.dp = icmpv6_counterpart(t).map(|r| r as u16).unwrap_or(0);
        let known = matches!(t, 1..=4 | 128..=155 | 200 | 201);
        if !known {
            self.event(Event::Icmpv6UnknownType, false);
        } else {
            let max = match t {
                1 => 7,
                2 => 0,
                3 => 1,
                4 => 3,
                _ => 255,
            };
            if code > max {
                self.event(Event::Icmpv6UnknownCode, false);
            }
        }
    }
}

/// The ICMPv4 type of the expected answer to type `t`, as Suricata pairs them in a flow.
pub fn icmpv4_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        8 => 0,
        0 => 8,
        13 => 14,
        14 => 13,
        15 => 16,
        16 => 15,
        17 => 18,
        18 => 17,
        10 => 9,
        9 => 10,
        _ => return None,
    })
}

/// The ICMPv6 type of the expected answer to type `t`.
pub fn icmpv6_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        128 => 129,
        129 => 128,
        130 => 131,
        131 => 130,
        133 => 134,
        134 => 133,
        135 => 136,
        136 => 135,
        139 => 140,
        140 => 139,
        144 => 145,
        145 => 144,
        146 => 147,
        147 => 146,
        148 => 149,
        149 => 148,
        151 => 152,
        152 => 151,
        157 => 158,
        158 => 157,
        _ => return None,
    })
}
