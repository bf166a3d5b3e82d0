//! Tunnels: IP-in-IP (protocols 4 and 41), GRE (versions 0 and 1/PPTP), VXLAN, Geneve and
//! Teredo. Entering a tunnel records where the inner packet starts and, for tunnels that are
//! a flow of their own in Suricata, the outer flow.

use super::event::Event;
use super::link::{
    ETH_ARP, ETH_BRIDGE, ETH_IPV4, ETH_IPV6, ETH_MPLS_MC, ETH_MPLS_UC, ETH_QINQ, ETH_QINQ_OLD, ETH_VLAN,
};
use super::{be16, flags, proto, Cx, OuterFlow, Tunnel};
use crate::metrics::C;

impl Cx<'_, '_> {
    pub(super) fn tunnel_ip(&mut self, off: usize, inner: u8, outer_v6: bool) {
        if self.d.flags & flags::FRAGMENT != 0 {
            return;
        }
        match (outer_v6, inner) {
            (false, 4) => self.c.inc(C::DecoderIpv4InIpv4),
            (false, _) => self.c.inc(C::DecoderIpv6InIpv4),
            (true, 4) => self.c.inc(C::DecoderIpv4InIpv6),
            (true, _) => self.c.inc(C::DecoderIpv6InIpv6),
        }
        if inner == 6 && !outer_v6 {
            // IPv6-in-IPv4 (protocol 41): the outer packet is a flow of its own.
            self.record_outer_flow();
        }
        self.enter_tunnel(if outer_v6 { Tunnel::Ipv6 } else { Tunnel::Ipv4 }, off);
        if inner == 4 {
            self.ipv4(off)
        } else {
            self.ipv6(off)
        }
    }

    pub(super) fn enter_tunnel(&mut self, kind: Tunnel, inner_off: usize) {
        self.c.inc(C::DecoderTunnels);
        let d = &mut *self.d;
        d.tunnel = kind;
        d.outer_end = d.ip_off + d.ip_len;
        d.inner_off = inner_off as u32;
        d.depth = d.depth.saturating_add(1);
        d.flags |= flags::TUNNELLED;
    }

    /// Records the current (outer) layer as a flow of its own, before a tunnel replaces it.
    pub(super) fn record_outer_flow(&mut self) {
        let d = &mut *self.d;
        if d.outer.is_some() {
            return;
        }
        let bytes = if d.depth == 0 { self.f.len() as u32 } else { d.outer_end.saturating_sub(d.inner_off) };
        d.outer = Some(OuterFlow {
            src: d.src,
            dst: d.dst,
            sp: if d.proto == proto::UDP { d.sp } else { 0 },
            dp: if d.proto == proto::UDP { d.dp } else { 0 },
            proto: d.proto,
            v6: d.flags & flags::IPV6 != 0,
            depth: d.depth,
            bytes,
        });
    }

    pub(super) fn vxlan(&mut self, off: usize, len: usize) {
        // flags(1: I bit 0x08) reserved(3) vni(3) reserved(1), then Ethernet. Strict as
        // Suricata: every reserved bit zero.
        let Some(h) = self.f.get(off..off + 8) else { return };
        // In bounds: h is the 8 bytes get(off..off + 8) returned.
        if h[0] != 0x08 || h[1] != 0 || h[2] != 0 || h[3] != 0 || h[7] != 0 || len < 8 + 14 {
            return;
        }
        let Some(et) = be16(self.f, off + 8 + 12) else { return };
        if !matches!(et, ETH_IPV4 | ETH_IPV6 | ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD) {
            if et != ETH_ARP {
                self.event(Event::VxlanUnknownPayloadType, true);
            }
            return;
        }
        self.c.inc(C::DecoderVxlan);
        self.record_outer_flow();
        // The inner Ethernet header is skipped, not decoded (no decoder.ethernet), as Suricata.
        self.enter_tunnel(Tunnel::Vxlan, off + 8 + 14);
        self.ethertype(et, off + 8 + 14);
    }

    pub(super) fn geneve(&mut self, off: usize, len: usize) {
        let Some(h) = self.f.get(off..off + 8) else { return };
        // In bounds: h is the 8 bytes get(off..off + 8) returned.
        let ver = h[0] >> 6;
        let optlen = (h[0] & 0x3f) as usize * 4;
        let proto = u16::from_be_bytes([h[2], h[3]]);
        if ver != 0 || 8 + optlen > len {
            return;
        }
        self.c.inc(C::DecoderGeneve);
        match proto {
            ETH_BRIDGE | ETH_IPV4 | ETH_IPV6 => {
                self.record_outer_flow();
                self.enter_tunnel(Tunnel::Geneve, off + 8 + optlen);
                self.ethertype(proto, off + 8 + optlen)
            }
            _ => self.event(Event::GeneveUnknownPayloadType, true),
        }
    }

    pub(super) fn teredo(&mut self, off: usize, len: usize) {
        // Optional authentication (0x0001) and origin indication (0x0000) headers, then IPv6.
        let Some(b) = self.f.get(off..off + len) else { return };
        let mut o = 0usize;
        if b.len() < 40 {
            return;
        }
        // In bounds: b.len() >= 40 is checked above.
        if b[0] == 0 {
            // origin indication, else not Teredo
            if b[1] != 0 {
                return;
            }
            o = 8;
        }
        let Some(ip) = b.get(o..) else { return };
        // In bounds: ip.len() < 40 is tested first; ip.len() >= 40 below.
        if ip.len() < 40 || ip[0] >> 4 != 6 {
            return;
        }
        // Suricata's checks: payload length must match and next header must be plausible.
        let plen = u16::from_be_bytes([ip[4], ip[5]]) as usize;
        if plen + 40 != ip.len() {
            return;
        }
        if ip[6] == 59 && plen != 0 {
            return;
        }
        if ip[7] == 0 {
            return; // hop limit 0
        }
        if ip[6] == 0 && plen < 8 {
            return;
        }
        self.c.inc(C::DecoderTeredo);
        self.record_outer_flow();
        self.enter_tunnel(Tunnel::Teredo, off + o);
        self.ipv6(off + o);
    }

    pub(super) fn gre(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderGre);
        if self.d.flags & flags::FRAGMENT != 0 {
            return;
        }
        if b.len() < 4 {
            self.event(Event::GrePktTooSmall, true);
            return;
        }
        // In bounds: b.len() >= 4 is checked above.
        let ver = b[1] & 0x07;
        let proto = u16::from_be_bytes([b[2], b[3]]);
        let hlen = match ver {
            0 => self.gre_v0_hlen(b),
            1 => self.gre_v1_hlen(b),
            _ => {
                self.event(Event::GreWrongVersion, true);
                None
            }
        };
        let Some(hlen) = hlen else { return };
        let inner = off + hlen;
        match proto {
            ETH_IPV4 => {
                self.enter_tunnel(Tunnel::Gre, inner);
                self.ipv4(inner)
            }
            ETH_IPV6 => {
                self.enter_tunnel(Tunnel::Gre, inner);
                self.ipv6(inner)
            }
            ETH_BRIDGE => {
                self.enter_tunnel(Tunnel::Gre, inner);
                self.ethernet(inner)
            }
            // PPTP: PPP inside (only when there is payload)
            0x880b if inner < off + b.len() => {
                self.enter_tunnel(Tunnel::Gre, inner);
                self.ppp(inner)
            }
            ETH_VLAN => {
                self.enter_tunnel(Tunnel::Gre, inner);
                self.vlan(inner)
            }
            ETH_MPLS_UC | ETH_MPLS_MC => {
                self.enter_tunnel(Tunnel::Gre, inner);
                self.mpls(inner)
            }
            _ => {}
        }
    }

    /// Header length of a GRE version 0 packet `b` (at least 4 bytes), or `None` after
    /// counting why it is malformed.
    fn gre_v0_hlen(&mut self, b: &[u8]) -> Option<usize> {
        // In bounds: b.len() >= 4 is checked by the caller.
        let fl = b[0];
        let mut hlen = 4usize;
        if fl & 0x07 != 0 {
            self.event(Event::GreVersion0Recur, true);
            return None;
        }
        // In bounds: b.len() >= 4 is checked by the caller.
        if b[1] & 0xf8 != 0 {
            self.event(Event::GreVersion0Flags, true);
            return None;
        }
        if fl & 0x80 != 0 || fl & 0x40 != 0 {
            hlen += 4; // checksum + offset
        }
        if fl & 0x20 != 0 {
            hlen += 4; // key
        }
        if fl & 0x10 != 0 {
            hlen += 4; // sequence
        }
        if fl & 0x40 != 0 {
            // source routing entries until a null SRE
            loop {
                let Some(sre) = b.get(hlen..hlen + 4) else {
                    self.event(Event::GreVersion0HdrTooBig, true);
                    return None;
                };
                // In bounds: sre is the 4 bytes get(hlen..hlen + 4) returned.
                let sl = sre[3] as usize;
                hlen += 4 + sl;
                if sl == 0 {
                    break;
                }
            }
        }
        if hlen > b.len() {
            self.event(Event::GreVersion0HdrTooBig, true);
            return None;
        }
        Some(hlen)
    }

    /// Header length of a GRE version 1 (PPTP) packet `b` (at least 4 bytes), or `None` after
    /// counting why it is malformed.
    fn gre_v1_hlen(&mut self, b: &[u8]) -> Option<usize> {
        // In bounds: b.len() >= 4 is checked by the caller.
        let (fl, proto) = (b[0], u16::from_be_bytes([b[2], b[3]]));
        let mut hlen = 4usize;
        if fl & 0x80 != 0 {
            self.event(Event::GreVersion1Chksum, true);
            return None;
        }
        if fl & 0x40 != 0 {
            self.event(Event::GreVersion1Route, true);
            return None;
        }
        if fl & 0x08 != 0 {
            self.event(Event::GreVersion1Ssr, true);
            return None;
        }
        if fl & 0x07 != 0 {
            self.event(Event::GreVersion1Recur, true);
            return None;
        }
        // In bounds: b.len() >= 4 is checked by the caller.
        if b[1] & 0x78 != 0 {
            self.event(Event::GreVersion1Flags, true);
            return None;
        }
        if fl & 0x20 == 0 {
            self.event(Event::GreVersion1NoKey, true);
            return None;
        }
        if proto != 0x880b {
            self.event(Event::GreVersion1WrongProtocol, true);
            return None;
        }
        hlen += 4; // key (payload length + call id)
        if fl & 0x10 != 0 {
            hlen += 4;
        }
        // In bounds: b.len() >= 4 is checked by the caller.
        if b[1] & 0x80 != 0 {
            hlen += 4; // ack
        }
        if hlen > b.len() {
            self.event(Event::GreVersion1HdrTooBig, true);
            return None;
        }
        Some(hlen)
    }
}
