//! Link layers: Ethernet (and bridged Ethernet), 802.1Q/QinQ tags, Linux SLL and SLL2, BSD
//! null/loopback, Cisco HDLC, raw IP, PPP, PPPoE sessions, MPLS label stacks and NSH.

use super::event::Event;
use super::{be16, flags, Cx};
use crate::metrics::C;

pub(super) const ETH_IPV4: u16 = 0x0800;
pub(super) const ETH_ARP: u16 = 0x0806;
pub(super) const ETH_IPV6: u16 = 0x86dd;
pub(super) const ETH_VLAN: u16 = 0x8100;
pub(super) const ETH_QINQ: u16 = 0x88a8;
pub(super) const ETH_QINQ_OLD: u16 = 0x9100;
pub(super) const ETH_MPLS_UC: u16 = 0x8847;
pub(super) const ETH_MPLS_MC: u16 = 0x8848;
pub(super) const ETH_PPPOE_DISC: u16 = 0x8863;
pub(super) const ETH_PPPOE_SESS: u16 = 0x8864;
pub(super) const ETH_BRIDGE: u16 = 0x6558;
pub(super) const ETH_NSH: u16 = 0x894f;

impl Cx<'_, '_> {
    pub(super) fn ethernet(&mut self, off: usize) {
        if !self.layer() {
            return;
        }
        let Some(b) = self.f.get(off..) else { return };
        self.c.inc(C::DecoderEthernet);
        match etherparse::Ethernet2HeaderSlice::from_slice(b) {
            Ok(h) => self.ethertype(h.ether_type().0, off + 14),
            Err(_) => self.event(Event::EthernetPktTooSmall, true),
        }
    }

    pub(super) fn ethertype(&mut self, et: u16, off: usize) {
        match et {
            ETH_IPV4 => self.ipv4(off),
            ETH_IPV6 => self.ipv6(off),
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => self.vlan(off),
            ETH_ARP => {
                self.c.inc(C::DecoderArp);
                self.d.flags |= flags::ARP;
            }
            ETH_MPLS_UC | ETH_MPLS_MC => self.mpls(off),
            ETH_PPPOE_SESS => self.pppoe_session(off),
            ETH_PPPOE_DISC => {
                self.c.inc(C::DecoderPppoe);
                if self.f.len() < off + 6 {
                    self.event(Event::PppoePktTooSmall, true);
                }
            }
            ETH_BRIDGE => self.ethernet(off),
            ETH_NSH => self.nsh(off),
            _ => self.c.inc(C::DecoderUnknownEthertype),
        }
    }

    pub(super) fn vlan(&mut self, off: usize) {
        if !self.layer() {
            return;
        }
        let n = self.d.vlan_n;
        match n {
            0 => self.c.inc(C::DecoderVlan),
            1 => self.c.inc(C::DecoderVlanQinq),
            2 => self.c.inc(C::DecoderVlanQinqinq),
            _ => {
                // Suricata: a plain event (not invalid); decoding stops here.
                self.event(Event::VlanHeaderTooManyLayers, false);
                return;
            }
        }
        let Some(b) = self.f.get(off..) else { return };
        let Ok(h) = etherparse::SingleVlanHeaderSlice::from_slice(b) else {
            self.event(Event::VlanHeaderTooSmall, true);
            return;
        };
        // In bounds: vlan is [u16; 3] and the match above returns unless n is 0..=2.
        self.d.vlan[n as usize] = h.vlan_identifier().value();
        self.d.vlan_n = n + 1;
        let et = h.ether_type().0;
        match et {
            ETH_IPV4 | ETH_IPV6 | ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD | ETH_ARP | ETH_MPLS_UC | ETH_MPLS_MC
            | ETH_PPPOE_SESS | ETH_PPPOE_DISC | ETH_BRIDGE | ETH_NSH => self.ethertype(et, off + 4),
            _ => self.event(Event::VlanUnknownType, true),
        }
    }

    pub(super) fn sll(&mut self) {
        // SLL: packet type(2) arphrd(2) addr len(2) addr(8) protocol(2). Read by hand:
        // etherparse's slice refuses packet types and ARPHRD values it does not know, which
        // real captures (outgoing packets, tunnels) use.
        self.c.inc(C::DecoderSll);
        match be16(self.f, 14) {
            Some(proto) if self.f.len() >= 16 => self.ethertype(proto, 16),
            _ => self.event(Event::SllPktTooSmall, true),
        }
    }

    pub(super) fn sll2(&mut self) {
        // SLL2: protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1) addrlen(1) addr(8)
        self.c.inc(C::DecoderSll2);
        if self.f.len() < 20 {
            self.event(Event::Sll2PktTooSmall, true);
            return;
        }
        let proto = be16(self.f, 0).unwrap_or(0);
        self.ethertype(proto, 20);
    }

    pub(super) fn null(&mut self, network_order: bool) {
        self.c.inc(C::DecoderNull);
        let Some(b) = self.f.get(0..4) else {
            self.event(Event::LtnullPktTooSmall, true);
            return;
        };
        // In bounds: b is the 4 bytes get(0..4) returned.
        let arr = [b[0], b[1], b[2], b[3]];
        // The family is in the writer's byte order: accept either.
        let fam = if network_order {
            u32::from_be_bytes(arr)
        } else {
            let le = u32::from_le_bytes(arr);
            if le <= 0xffff {
                le
            } else {
                u32::from_be_bytes(arr)
            }
        };
        match fam {
            2 => self.ipv4(4),
            24 | 28 | 30 => self.ipv6(4),
            _ => self.event(Event::LtnullUnsupportedType, false),
        }
    }

    pub(super) fn chdlc(&mut self) {
        self.c.inc(C::DecoderChdlc);
        let Some(et) = be16(self.f, 2) else {
            self.event(Event::ChdlcPktTooSmall, true);
            return;
        };
        self.ethertype(et, 4);
    }

    pub(super) fn raw(&mut self, off: usize) {
        match self.f.get(off).map(|b| b >> 4) {
            Some(4) => self.ipv4(off),
            Some(6) => self.ipv6(off),
            _ => self.event(Event::IprawInvalidIpv, true),
        }
    }

    pub(super) fn ppp(&mut self, off: usize) {
        self.c.inc(C::DecoderPpp);
        let Some(b) = self.f.get(off..) else { return };
        // Address/control (ff 03) may be present; protocol is 1 or 2 bytes.
        let mut o = 0;
        // In bounds: b.len() >= 2 is tested first.
        if b.len() >= 2 && b[0] == 0xff && b[1] == 0x03 {
            o = 2;
        }
        let Some(&p0) = b.get(o) else {
            self.event(Event::PppPktTooSmall, true);
            return;
        };
        let (proto, plen) = if p0 & 1 == 1 {
            (p0 as u16, 1)
        } else {
            match be16(b, o) {
                Some(p) => (p, 2),
                None => {
                    self.event(Event::PppPktTooSmall, true);
                    return;
                }
            }
        };
        let next = off + o + plen;
        match proto {
            0x0021 => self.ipv4(next),
            0x0057 => self.ipv6(next),
            0x0281 | 0x0283 => self.mpls(next),
            0x8021 | 0x8057 | 0xc021 | 0xc023 | 0xc223 | 0x80fd | 0x00fd | 0x002d | 0x002f => {
                self.event(Event::PppUnsupProto, false)
            }
            _ => self.event(Event::PppWrongType, true),
        }
    }

    pub(super) fn pppoe_session(&mut self, off: usize) {
        self.c.inc(C::DecoderPppoe);
        let Some(b) = self.f.get(off..off + 8) else {
            self.event(Event::PppoePktTooSmall, true);
            return;
        };
        // In bounds: b is the 8 bytes get(off..off + 8) returned.
        if b[1] != 0 {
            self.event(Event::PppoeWrongCode, false);
        }
        // PPPoE carries PPP without address/control.
        self.ppp(off + 6);
    }

    /// Network Service Header (RFC 8300), as Suricata's `decode-nsh.c`: base and service
    /// path headers (8 bytes), MD type 1 (fixed 24-byte header) or 2 (variable length), then
    /// IPv4, IPv6, Ethernet or MPLS.
    pub(super) fn nsh(&mut self, off: usize) {
        self.c.inc(C::DecoderNsh);
        let Some(h) = self.f.get(off..off + 8) else {
            self.event(Event::NshHeaderTooSmall, true);
            return;
        };
        if !self.layer() {
            return;
        }
        // In bounds: h is the 8 bytes get(off..off + 8) returned.
        let (vfl, md_type, next) = (u16::from_be_bytes([h[0], h[1]]), h[2] & 0x0f, h[3]);
        if vfl >> 14 != 0 {
            self.event(Event::NshUnsupportedVersion, false);
            return;
        }
        let hlen = usize::from(vfl & 0x3f) * 4;
        if hlen >= self.f.len() - off {
            self.event(Event::NshBadHeaderLength, true);
            return;
        }
        match md_type {
            0 | 0x0f => {
                self.event(Event::NshReservedType, false);
                return;
            }
            1 if hlen != 24 => {
                self.event(Event::NshBadHeaderLength, true);
                return;
            }
            1 | 2 => {}
            _ => {
                self.event(Event::NshUnsupportedType, false);
                return;
            }
        }
        let inner = off + hlen;
        match next {
            1 => self.ipv4(inner),
            2 => self.ipv6(inner),
            3 => self.ethernet(inner),
            5 => self.mpls(inner),
            _ => self.event(Event::NshUnknownPayload, false),
        }
    }

    pub(super) fn mpls(&mut self, mut off: usize) {
        loop {
            if !self.layer() {
                return;
            }
            self.c.inc(C::DecoderMpls);
            let Some(b) = self.f.get(off..off + 4) else {
                self.event(Event::MplsHeaderTooSmall, true);
                return;
            };
            // In bounds: b is the 4 bytes get(off..off + 4) returned.
            let bottom = b[2] & 1 == 1;
            off += 4;
            if bottom {
                break;
            }
        }
        match self.f.get(off).map(|b| b >> 4) {
            Some(4) => self.ipv4(off),
            Some(6) => self.ipv6(off),
            // Pseudowire control word (first nibble 0) then Ethernet.
            Some(0) => self.ethernet(off + 4),
            _ => self.event(Event::MplsUnknownPayloadType, true),
        }
    }
}
