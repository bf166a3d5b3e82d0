//! Decode: from a frame's bytes to a [`Decoded`] summary of its layers.
//!
//! Takes: a frame and its link type. Promises: every header is read through etherparse's
//! zero-copy header slices (which validate lengths once); the result is a small `Copy` struct
//! of offsets and the fields later stages key on (addresses, ports, protocol, VLAN ids, tunnel
//! depth), describing the innermost IP packet. Decoding is lax: a truncated or odd packet
//! yields what could be read plus a named anomaly counted as `decoder.event.*`, and the
//! anomalies Suricata treats as fatal mark the packet invalid (`decoder.invalid`).
//! Layer counters (`decoder.ipv4`, `decoder.tcp`, `decoder.vlan`, ...) follow Suricata's
//! rules: one per header decoded, tunnelled headers included.
//! Never: allocates, panics, or reads outside the frame, whatever its bytes.

pub mod checksum;

use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice, TcpHeaderSlice, UdpHeaderSlice};

use crate::capture::LinkType;
use crate::metrics::{Counters, C};

/// Layers followed at most (links, tags, tunnels), as Suricata's `decoder.max-layers`.
pub const MAX_LAYERS: u8 = 16;

/// Packet flags.
pub mod flags {
    /// An IPv4 header was decoded (innermost IP layer).
    pub const IPV4: u16 = 1 << 0;
    /// An IPv6 header was decoded (innermost IP layer).
    pub const IPV6: u16 = 1 << 1;
    /// The transport header (TCP/UDP/ICMP) was decoded in full.
    pub const L4: u16 = 1 << 2;
    /// The IP packet is a fragment (offset != 0 or more-fragments set).
    pub const FRAGMENT: u16 = 1 << 3;
    /// The more-fragments bit is set.
    pub const MORE_FRAGMENTS: u16 = 1 << 4;
    /// The packet is an ICMP error quoting a TCP/UDP packet; see [`super::Decoded::emb`].
    pub const ICMP_ERROR: u16 = 1 << 5;
    /// The packet was carried in a tunnel (depth > 0).
    pub const TUNNELLED: u16 = 1 << 6;
    /// ARP.
    pub const ARP: u16 = 1 << 7;
    /// The IP payload was cut short by the capture (lax decode).
    pub const TRUNCATED: u16 = 1 << 8;
    /// The IPv4 header carries options.
    pub const IPV4_OPTIONS: u16 = 1 << 9;
    /// The packet is a datagram rebuilt from fragments (EVE `pkt_src` "defrag").
    pub const REASSEMBLED: u16 = 1 << 10;
}

/// The packet an ICMP error quotes (for joining the error to the quoted flow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Embedded {
    /// Quoted source address (v4 in the first 4 bytes when `v6` is false).
    pub src: [u8; 16],
    /// Quoted destination address.
    pub dst: [u8; 16],
    /// Quoted source port.
    pub sp: u16,
    /// Quoted destination port.
    pub dp: u16,
    /// Quoted protocol.
    pub proto: u8,
}

/// What decoding found: offsets into the frame and the innermost IP packet's key fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct Decoded {
    /// [`flags`].
    pub flags: u16,
    /// The packet is invalid (Suricata's `decoder.invalid`): not inspected by flow/detection.
    pub invalid: bool,
    /// Tunnel depth of the innermost IP layer (0 = not tunnelled).
    pub depth: u8,
    /// VLAN ids, outermost first.
    pub vlan: [u16; 3],
    /// How many VLAN tags (at most 3 are kept).
    pub vlan_n: u8,
    /// Offset of the innermost IP header.
    pub ip_off: u32,
    /// IP header length including IPv4 options / IPv6 extension headers.
    pub ip_hlen: u32,
    /// IP packet length as the header states, clamped to the captured bytes.
    pub ip_len: u32,
    /// Source address (IPv4 in the first 4 bytes).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Transport protocol number (after IPv6 extension headers).
    pub proto: u8,
    /// TTL / hop limit.
    pub ttl: u8,
    /// IPv4 identification or IPv6 fragment identification.
    pub ip_id: u32,
    /// Fragment offset in 8-byte units.
    pub frag_off: u16,
    /// Offset of the transport header.
    pub l4_off: u32,
    /// Transport header length.
    pub l4_hlen: u32,
    /// Offset of the transport payload (application bytes).
    pub payload_off: u32,
    /// Length of the transport payload.
    pub payload_len: u32,
    /// Source port (ICMP: type | code << 8, as Suricata keys ICMP).
    pub sp: u16,
    /// Destination port (ICMP: the type/code of the expected reply).
    pub dp: u16,
    /// TCP flags byte.
    pub tcp_flags: u8,
    /// TCP sequence number.
    pub tcp_seq: u32,
    /// TCP acknowledgement number.
    pub tcp_ack: u32,
    /// TCP window.
    pub tcp_win: u16,
    /// ICMP type.
    pub icmp_type: u8,
    /// ICMP code.
    pub icmp_code: u8,
    /// ICMP errors: the quoted packet.
    pub emb: Embedded,
    /// Tunnelled packets: where the tunnelled packet starts in the frame.
    pub inner_off: u32,
    /// Tunnelled packets: where the outer IP packet ends (the tunnelled packet's end).
    pub outer_end: u32,
    /// The innermost tunnel the packet came through.
    pub tunnel: Tunnel,
    /// The outermost tunnel layer that is a flow of its own in Suricata (the UDP of
    /// Teredo/VXLAN/Geneve, or IPv4 protocol 41), when the packet was tunnelled through one.
    pub outer: Option<OuterFlow>,
}

/// How a packet was tunnelled (for EVE `pkt_src`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tunnel {
    /// Not tunnelled.
    #[default]
    None,
    /// IP in IPv4 (protocol 4 or 41).
    Ipv4,
    /// IP in IPv6.
    Ipv6,
    /// GRE.
    Gre,
    /// Teredo.
    Teredo,
    /// VXLAN.
    Vxlan,
    /// Geneve.
    Geneve,
}

impl Tunnel {
    /// Suricata's `pkt_src` text for a packet that came out of this tunnel.
    pub fn pkt_src(self) -> &'static str {
        match self {
            Tunnel::None => "wire/pcap",
            Tunnel::Ipv4 => "ipv4 tunnel",
            Tunnel::Ipv6 => "ipv6 tunnel",
            Tunnel::Gre => "gre tunnel",
            Tunnel::Teredo => "teredo tunnel",
            Tunnel::Vxlan => "vxlan encapsulation",
            Tunnel::Geneve => "geneve encapsulation",
        }
    }
}

/// A tunnel's outer layer that has a flow of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OuterFlow {
    /// Outer source address.
    pub src: [u8; 16],
    /// Outer destination address.
    pub dst: [u8; 16],
    /// Outer source port (0 for protocol 41).
    pub sp: u16,
    /// Outer destination port.
    pub dp: u16,
    /// Outer protocol (UDP or 41).
    pub proto: u8,
    /// Outer layer is IPv6.
    pub v6: bool,
    /// Tunnel depth of the outer layer.
    pub depth: u8,
    /// Bytes of the outer packet counted for its flow (the frame, or the tunnelled packet).
    pub bytes: u32,
}

impl Decoded {
    /// IPv4 or IPv6 was decoded.
    #[inline]
    pub fn is_ip(&self) -> bool {
        self.flags & (flags::IPV4 | flags::IPV6) != 0
    }
    /// The innermost IP layer is IPv6.
    #[inline]
    pub fn is_ipv6(&self) -> bool {
        self.flags & flags::IPV6 != 0
    }
    /// The transport header was decoded in full.
    #[inline]
    pub fn has_l4(&self) -> bool {
        self.flags & flags::L4 != 0
    }
    /// Source address as a std type.
    pub fn src_addr(&self) -> std::net::IpAddr {
        addr(self.src, self.is_ipv6())
    }
    /// Destination address as a std type.
    pub fn dst_addr(&self) -> std::net::IpAddr {
        addr(self.dst, self.is_ipv6())
    }
    /// The transport payload, if within `frame`.
    pub fn payload<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        let a = self.payload_off as usize;
        frame.get(a..a.saturating_add(self.payload_len as usize)).unwrap_or(&[])
    }
}

/// Address bytes as a std address.
pub fn addr(b: [u8; 16], v6: bool) -> std::net::IpAddr {
    if v6 {
        std::net::IpAddr::V6(std::net::Ipv6Addr::from(b))
    } else {
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
}

/// Protocol numbers.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IP in IP.
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 in IP.
    pub const IPV6: u8 = 41;
    /// GRE.
    pub const GRE: u8 = 47;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

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

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_MPLS_UC: u16 = 0x8847;
const ETH_MPLS_MC: u16 = 0x8848;
const ETH_PPPOE_DISC: u16 = 0x8863;
const ETH_PPPOE_SESS: u16 = 0x8864;
const ETH_BRIDGE: u16 = 0x6558;

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
                cx.event(C::EvUnknownLinktype, true);
            }
        }
        if d.invalid {
            c.inc(C::DecoderInvalid);
        }
    }
}

impl Cx<'_, '_> {
    /// Counts an anomaly; `invalid` marks the packet invalid as Suricata's invalid events do.
    #[inline]
    fn event(&mut self, ev: C, invalid: bool) {
        self.c.inc(ev);
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

    fn ethernet(&mut self, off: usize) {
        if !self.layer() {
            return;
        }
        let Some(b) = self.f.get(off..) else { return };
        self.c.inc(C::DecoderEthernet);
        match etherparse::Ethernet2HeaderSlice::from_slice(b) {
            Ok(h) => self.ethertype(h.ether_type().0, off + 14),
            Err(_) => self.event(C::EvEthPktTooSmall, true),
        }
    }

    fn ethertype(&mut self, et: u16, off: usize) {
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
                    self.event(C::EvPppoePktTooSmall, true);
                }
            }
            ETH_BRIDGE => self.ethernet(off),
            _ => self.c.inc(C::DecoderUnknownEthertype),
        }
    }

    fn vlan(&mut self, off: usize) {
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
                self.event(C::EvVlanTooManyLayers, false);
                return;
            }
        }
        let Some(b) = self.f.get(off..) else { return };
        let Ok(h) = etherparse::SingleVlanHeaderSlice::from_slice(b) else {
            self.event(C::EvVlanHeaderTooSmall, true);
            return;
        };
        // In bounds: vlan is [u16; 3] and the match above returns unless n is 0..=2.
        self.d.vlan[n as usize] = h.vlan_identifier().value();
        self.d.vlan_n = n + 1;
        let et = h.ether_type().0;
        match et {
            ETH_IPV4 | ETH_IPV6 | ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD | ETH_ARP | ETH_MPLS_UC | ETH_MPLS_MC
            | ETH_PPPOE_SESS | ETH_PPPOE_DISC | ETH_BRIDGE => self.ethertype(et, off + 4),
            _ => self.event(C::EvVlanUnknownType, true),
        }
    }

    fn sll(&mut self) {
        // SLL: packet type(2) arphrd(2) addr len(2) addr(8) protocol(2). Read by hand:
        // etherparse's slice refuses packet types and ARPHRD values it does not know, which
        // real captures (outgoing packets, tunnels) use.
        self.c.inc(C::DecoderSll);
        match be16(self.f, 14) {
            Some(proto) if self.f.len() >= 16 => self.ethertype(proto, 16),
            _ => self.event(C::EvSllPktTooSmall, true),
        }
    }

    fn sll2(&mut self) {
        // SLL2: protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1) addrlen(1) addr(8)
        self.c.inc(C::DecoderSll2);
        if self.f.len() < 20 {
            self.event(C::EvSll2PktTooSmall, true);
            return;
        }
        let proto = be16(self.f, 0).unwrap_or(0);
        self.ethertype(proto, 20);
    }

    fn null(&mut self, network_order: bool) {
        self.c.inc(C::DecoderNull);
        let Some(b) = self.f.get(0..4) else {
            self.event(C::EvNullPktTooSmall, true);
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
            _ => self.event(C::EvNullUnsupportedType, false),
        }
    }

    fn chdlc(&mut self) {
        self.c.inc(C::DecoderChdlc);
        let Some(et) = be16(self.f, 2) else {
            self.event(C::EvChdlcPktTooSmall, true);
            return;
        };
        self.ethertype(et, 4);
    }

    fn raw(&mut self, off: usize) {
        match self.f.get(off).map(|b| b >> 4) {
            Some(4) => self.ipv4(off),
            Some(6) => self.ipv6(off),
            _ => self.event(C::EvRawInvalidIpVersion, true),
        }
    }

    fn ppp(&mut self, off: usize) {
        self.c.inc(C::DecoderPpp);
        let Some(b) = self.f.get(off..) else { return };
        // Address/control (ff 03) may be present; protocol is 1 or 2 bytes.
        let mut o = 0;
        // In bounds: b.len() >= 2 is tested first.
        if b.len() >= 2 && b[0] == 0xff && b[1] == 0x03 {
            o = 2;
        }
        let Some(&p0) = b.get(o) else {
            self.event(C::EvPppPktTooSmall, true);
            return;
        };
        let (proto, plen) = if p0 & 1 == 1 {
            (p0 as u16, 1)
        } else {
            match be16(b, o) {
                Some(p) => (p, 2),
                None => {
                    self.event(C::EvPppPktTooSmall, true);
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
                self.event(C::EvPppUnsupProto, false)
            }
            _ => self.event(C::EvPppWrongType, true),
        }
    }

    fn pppoe_session(&mut self, off: usize) {
        self.c.inc(C::DecoderPppoe);
        let Some(b) = self.f.get(off..off + 8) else {
            self.event(C::EvPppoePktTooSmall, true);
            return;
        };
        // In bounds: b is the 8 bytes get(off..off + 8) returned.
        if b[1] != 0 {
            self.event(C::EvPppoeWrongCode, false);
        }
        // PPPoE carries PPP without address/control.
        self.ppp(off + 6);
    }

    fn mpls(&mut self, mut off: usize) {
        loop {
            if !self.layer() {
                return;
            }
            self.c.inc(C::DecoderMpls);
            let Some(b) = self.f.get(off..off + 4) else {
                self.event(C::EvMplsHeaderTooSmall, true);
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
            _ => self.event(C::EvMplsUnknownPayloadType, true),
        }
    }

    fn ipv4(&mut self, off: usize) {
        if !self.layer() {
            return;
        }
        self.c.inc(C::DecoderIpv4);
        let Some(b) = self.f.get(off..) else {
            self.event(C::EvIpv4PktTooSmall, true);
            return;
        };
        if b.len() < 20 {
            self.event(C::EvIpv4PktTooSmall, true);
            return;
        }
        let h = match Ipv4HeaderSlice::from_slice(b) {
            Ok(h) => h,
            Err(etherparse::err::ipv4::HeaderSliceError::Content(
                etherparse::err::ipv4::HeaderError::UnexpectedVersion { .. },
            )) => {
                self.event(C::EvIpv4WrongIpVersion, true);
                return;
            }
            Err(_) => {
                self.event(C::EvIpv4HlenTooSmall, true);
                return;
            }
        };
        let hlen = h.slice().len();
        let total = h.total_len() as usize;
        if total < hlen {
            self.event(C::EvIpv4IplenSmallerThanHlen, true);
            return;
        }
        if total > b.len() {
            self.event(C::EvIpv4TruncPkt, true);
            return;
        }
        if hlen > 20 && !self.ipv4_options(h.options()) {
            return;
        }
        let d = &mut *self.d;
        d.flags = (d.flags
            & !(flags::IPV6
                | flags::FRAGMENT
                | flags::MORE_FRAGMENTS
                | flags::L4
                | flags::ICMP_ERROR
                | flags::IPV4_OPTIONS))
            | flags::IPV4;
        if hlen > 20 {
            d.flags |= flags::IPV4_OPTIONS;
        }
        d.ip_off = off as u32;
        d.ip_hlen = hlen as u32;
        d.ip_len = total as u32;
        d.src = [0; 16];
        d.dst = [0; 16];
        d.src[..4].copy_from_slice(&h.source());
        d.dst[..4].copy_from_slice(&h.destination());
        d.proto = h.protocol().0;
        d.ttl = h.ttl();
        d.ip_id = h.identification() as u32;
        d.frag_off = h.fragments_offset().value();
        d.sp = 0;
        d.dp = 0;
        if h.more_fragments() {
            d.flags |= flags::MORE_FRAGMENTS | flags::FRAGMENT;
        }
        if d.frag_off != 0 {
            d.flags |= flags::FRAGMENT;
        }
        let payload = off + hlen;
        let plen = total - hlen;
        if d.flags & flags::FRAGMENT != 0 {
            self.c.inc(C::DefragIpv4Fragments);
            let d = &mut *self.d;
            // Fragments are reassembled by defrag before transport decoding; only the first
            // fragment's transport header is looked at, for the flow key.
            // Fragments are not decoded past IP: the transport is read from the reassembled
            // packet (defrag), as Suricata does, so a first fragment's truncated UDP/TCP header
            // is not an anomaly.
            d.payload_off = payload as u32;
            d.payload_len = plen as u32;
            d.l4_off = payload as u32;
            return;
        }
        self.l4(d_proto(self.d), payload, plen, false);
    }

    /// Walks IPv4 options; false when an option length is impossible, which (as in Suricata)
    /// fails the IPv4 decode.
    fn ipv4_options(&mut self, opts: &[u8]) -> bool {
        let mut i = 0;
        while i < opts.len() {
            // In bounds: i < opts.len() (loop condition).
            let t = opts[i];
            match t {
                0 => break,
                1 => i += 1,
                _ => {
                    let l = opts.get(i + 1).copied().unwrap_or(0);
                    if l < 2 || i + l as usize > opts.len() {
                        self.event(C::EvIpv4OptInvalidLen, true);
                        return false;
                    }
                    i += l as usize;
                }
            }
        }
        true
    }

    fn ipv6(&mut self, off: usize) {
        if !self.layer() {
            return;
        }
        self.c.inc(C::DecoderIpv6);
        let Some(b) = self.f.get(off..) else {
            self.event(C::EvIpv6PktTooSmall, true);
            return;
        };
        let h = match Ipv6HeaderSlice::from_slice(b) {
            Ok(h) => h,
            Err(etherparse::err::ipv6::HeaderSliceError::Content(_)) => {
                self.event(C::EvIpv6WrongIpVersion, true);
                return;
            }
            Err(_) => {
                self.event(C::EvIpv6PktTooSmall, true);
                return;
            }
        };
        let plen = h.payload_length() as usize;
        if 40 + plen > b.len() {
            self.event(C::EvIpv6TruncPkt, true);
            return;
        }
        let d = &mut *self.d;
        d.flags = (d.flags
            & !(flags::IPV4
                | flags::FRAGMENT
                | flags::MORE_FRAGMENTS
                | flags::L4
                | flags::ICMP_ERROR
                | flags::IPV4_OPTIONS))
            | flags::IPV6;
        d.ip_off = off as u32;
        d.ip_len = (40 + plen) as u32;
        d.src = h.source();
        d.dst = h.destination();
        d.ttl = h.hop_limit();
        d.ip_id = 0;
        d.frag_off = 0;
        d.sp = 0;
        d.dp = 0;
        // Walk extension headers.
        let mut next = h.next_header().0;
        let mut o = off + 40;
        let end = off + 40 + plen;
        let mut seen: u32 = 0;
        loop {
            let bit = match next {
                0 => 1,
                43 => 2,
                44 => 4,
                60 => 8,
                51 => 16,
                135 | 139 | 140 => 32,
                _ => 0,
            };
            if bit == 0 {
                break;
            }
            if seen & bit != 0 && next != 60 {
                let ev = match next {
                    0 => C::EvIpv6ExthdrDuplHh,
                    43 => C::EvIpv6ExthdrDuplRh,
                    44 => C::EvIpv6ExthdrDuplFh,
                    _ => C::EvIpv6ExthdrDuplAh,
                };
                self.event(ev, false);
            }
            seen |= bit;
            let Some(eh) = self.f.get(o..end) else {
                self.event(C::EvIpv6TruncExthdr, true);
                return;
            };
            if eh.len() < 8 {
                self.event(C::EvIpv6TruncExthdr, true);
                return;
            }
            // In bounds: eh.len() >= 8 is checked above.
            let len = if next == 51 {
                (eh[1] as usize + 2) * 4
            } else if next == 44 {
                8
            } else {
                (eh[1] as usize + 1) * 8
            };
            if len > eh.len() {
                self.event(C::EvIpv6TruncExthdr, true);
                return;
            }
            if next == 44 {
                // In bounds: eh.len() >= 8 is checked above.
                let fo = u16::from_be_bytes([eh[2], eh[3]]);
                let d = &mut *self.d;
                d.frag_off = fo >> 3;
                d.ip_id = u32::from_be_bytes([eh[4], eh[5], eh[6], eh[7]]);
                if fo & 1 == 1 {
                    d.flags |= flags::MORE_FRAGMENTS | flags::FRAGMENT;
                }
                if d.frag_off != 0 {
                    d.flags |= flags::FRAGMENT;
                }
                if d.flags & flags::FRAGMENT != 0 {
                    // A real fragment: what follows the Fragment header is fragment data
                    // (defrag decodes it once reassembled), as Suricata stops here.
                    // In bounds: eh.len() >= 8 is checked above.
                    d.proto = eh[0];
                    d.ip_hlen = (o + 8 - off) as u32;
                    d.payload_off = (o + 8) as u32;
                    d.payload_len = end.saturating_sub(o + 8) as u32;
                    d.l4_off = (o + 8) as u32;
                    self.c.inc(C::DefragIpv6Fragments);
                    return;
                }
                // offset 0 without more-fragments: a useless Fragment header, keep walking
            } else if next == 0 || next == 60 {
                // In bounds: len >= 8 by its computation and len <= eh.len() is checked above.
                self.ipv6_padn_check(&eh[2..len]);
            }
            // In bounds: eh.len() >= 8 is checked above.
            next = eh[0];
            o += len;
        }
        self.d.ip_hlen = (o - off) as u32;
        self.d.proto = next;
        let plen = end - o;
        if self.d.flags & flags::FRAGMENT != 0 {
            self.c.inc(C::DefragIpv6Fragments);
            let d = &mut *self.d;
            d.payload_off = o as u32;
            d.payload_len = plen as u32;
            d.l4_off = o as u32;
            return;
        }
        let d = &mut *self.d;
        if next == 59 {
            // No next header.
            d.l4_off = o as u32;
            d.payload_off = o as u32;
            return;
        }
        self.l4(next, o, plen, true);
    }

    fn ipv6_padn_check(&mut self, opts: &[u8]) {
        let mut i = 0;
        while i < opts.len() {
            // In bounds: i < opts.len() (loop condition).
            match opts[i] {
                0 => i += 1,
                t => {
                    let Some(&l) = opts.get(i + 1) else { return };
                    if t == 1 && l == 0 {
                        self.event(C::EvIpv6ZeroLenPadn, false);
                    }
                    i += 2 + l as usize;
                }
            }
        }
    }

    fn l4(&mut self, proto: u8, off: usize, len: usize, v6: bool) {
        let Some(b) = self.f.get(off..off + len) else { return };
        match proto {
            proto::TCP => self.tcp(off, b),
            proto::UDP => self.udp(off, b),
            proto::ICMP => {
                if v6 {
                    self.event(C::EvIpv6WithIcmpv4, false);
                }
                self.icmpv4(off, b)
            }
            proto::ICMPV6 => {
                if !v6 {
                    self.event(C::EvIpv4Icmpv6, false);
                }
                self.icmpv6(off, b)
            }
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
                    self.event(C::EvSctpPktTooSmall, true);
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
                    self.event(C::EvEspPktTooSmall, true);
                }
            }
            _ => {
                let d = &mut *self.d;
                d.l4_off = off as u32;
                d.payload_off = off as u32;
                d.payload_len = len as u32;
            }
        }
    }

    fn tunnel_ip(&mut self, off: usize, inner: u8, outer_v6: bool) {
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

    fn enter_tunnel(&mut self, kind: Tunnel, inner_off: usize) {
        self.c.inc(C::DecoderTunnels);
        let d = &mut *self.d;
        d.tunnel = kind;
        d.outer_end = d.ip_off + d.ip_len;
        d.inner_off = inner_off as u32;
        d.depth = d.depth.saturating_add(1);
        d.flags |= flags::TUNNELLED;
    }

    /// Records the current (outer) layer as a flow of its own, before a tunnel replaces it.
    fn record_outer_flow(&mut self) {
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

    fn tcp(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderTcp);
        if b.len() < 20 {
            self.event(C::EvTcpPktTooSmall, true);
            return;
        }
        let h = match TcpHeaderSlice::from_slice(b) {
            Ok(h) => h,
            Err(_) => {
                self.event(C::EvTcpHlenTooSmall, true);
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
                        self.event(C::EvTcpInvalidOptlen, false);
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

    fn udp(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderUdp);
        let h = match UdpHeaderSlice::from_slice(b) {
            Ok(h) => h,
            Err(_) => {
                self.event(C::EvUdpHlenTooSmall, true);
                return;
            }
        };
        let ulen = h.length() as usize;
        if b.len() < ulen {
            self.event(C::EvUdpPktTooSmall, true);
            return;
        }
        if ulen < 8 {
            self.event(C::EvUdpLenInvalid, true);
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

    fn vxlan(&mut self, off: usize, len: usize) {
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
                self.event(C::EvVxlanUnknownPayloadType, true);
            }
            return;
        }
        self.c.inc(C::DecoderVxlan);
        self.record_outer_flow();
        // The inner Ethernet header is skipped, not decoded (no decoder.ethernet), as Suricata.
        self.enter_tunnel(Tunnel::Vxlan, off + 8 + 14);
        self.ethertype(et, off + 8 + 14);
    }

    fn geneve(&mut self, off: usize, len: usize) {
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
            _ => self.event(C::EvGeneveUnknownPayloadType, true),
        }
    }

    fn teredo(&mut self, off: usize, len: usize) {
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

    fn gre(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderGre);
        if self.d.flags & flags::FRAGMENT != 0 {
            return;
        }
        if b.len() < 4 {
            self.event(C::EvGrePktTooSmall, true);
            return;
        }
        // In bounds: b.len() >= 4 is checked above.
        let fl = b[0];
        let ver = b[1] & 0x07;
        let proto = u16::from_be_bytes([b[2], b[3]]);
        let mut hlen = 4usize;
        match ver {
            0 => {
                if fl & 0x07 != 0 {
                    self.event(C::EvGreVersion0Recur, true);
                    return;
                }
                // In bounds: b.len() >= 4 is checked at the top.
                if b[1] & 0xf8 != 0 {
                    self.event(C::EvGreVersion0Flags, true);
                    return;
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
                            self.event(C::EvGreVersion0HdrTooBig, true);
                            return;
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
                    self.event(C::EvGreVersion0HdrTooBig, true);
                    return;
                }
            }
            1 => {
                if fl & 0x80 != 0 {
                    self.event(C::EvGreVersion1Chksum, true);
                    return;
                }
                if fl & 0x40 != 0 {
                    self.event(C::EvGreVersion1Route, true);
                    return;
                }
                if fl & 0x08 != 0 {
                    self.event(C::EvGreVersion1Ssr, true);
                    return;
                }
                if fl & 0x07 != 0 {
                    self.event(C::EvGreVersion1Recur, true);
                    return;
                }
                // In bounds: b.len() >= 4 is checked at the top.
                if b[1] & 0x78 != 0 {
                    self.event(C::EvGreVersion1Flags, true);
                    return;
                }
                if fl & 0x20 == 0 {
                    self.event(C::EvGreVersion1NoKey, true);
                    return;
                }
                if proto != 0x880b {
                    self.event(C::EvGreVersion1WrongProtocol, true);
                    return;
                }
                hlen += 4; // key (payload length + call id)
                if fl & 0x10 != 0 {
                    hlen += 4;
                }
                // In bounds: b.len() >= 4 is checked at the top.
                if b[1] & 0x80 != 0 {
                    hlen += 4; // ack
                }
                if hlen > b.len() {
                    self.event(C::EvGreVersion1HdrTooBig, true);
                    return;
                }
            }
            _ => {
                self.event(C::EvGreWrongVersion, true);
                return;
            }
        }
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
            0x880b => {
                // PPTP: PPP inside (only when there is payload)
                if inner < off + b.len() {
                    self.enter_tunnel(Tunnel::Gre, inner);
                    self.ppp(inner)
                }
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

    fn icmpv4(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderIcmpv4);
        if b.len() < 8 {
            self.event(C::EvIcmpv4PktTooSmall, true);
            return;
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
        d.dp = icmpv4_counterpart(t).map(|r| r as u16).unwrap_or(0);
        let known_max_code = match t {
            0 | 4 | 8 | 9 | 10 | 13 | 14 | 15 | 16 | 17 | 18 => Some(0),
            3 => Some(15),
            5 => Some(3),
            11 => Some(1),
            12 => Some(2),
            _ => None,
        };
        match known_max_code {
            None => self.event(C::EvIcmpv4UnknownType, false),
            Some(m) if code > m => self.event(C::EvIcmpv4UnknownCode, false),
            _ => {}
        }
        if matches!(t, 3 | 4 | 5 | 11 | 12) {
            // In bounds: b.len() >= 8 is checked at the top.
            self.icmpv4_quoted(&b[8..]);
        }
    }

    /// Reads the IPv4 packet quoted by an ICMPv4 error (header + first 8 bytes).
    fn icmpv4_quoted(&mut self, q: &[u8]) {
        if q.len() < 20 {
            self.event(C::EvIcmpv4OrigPktTooSmall, true);
            return;
        }
        // In bounds: q.len() >= 20 is checked above.
        if q[0] >> 4 != 4 {
            self.event(C::EvIcmpv4IpHdrInvalid, true);
            return;
        }
        let hl = (q[0] & 0x0f) as usize * 4;
        if hl < 20 || q.len() < hl {
            self.event(C::EvIcmpv4OrigPktTooSmall, true);
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

    fn icmpv6(&mut self, off: usize, b: &[u8]) {
        self.c.inc(C::DecoderIcmpv6);
        if b.len() < 8 {
            self.event(C::EvIcmpv6PktTooSmall, true);
            return;
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
        d.dp = icmpv6_counterpart(t).map(|r| r as u16).unwrap_or(0);
        let known = matches!(t, 1..=4 | 128..=155 | 200 | 201);
        if !known {
            self.event(C::EvIcmpv6UnknownType, false);
        } else {
            let max = match t {
                1 => 7,
                2 => 0,
                3 => 1,
                4 => 3,
                _ => 255,
            };
            if code > max {
                self.event(C::EvIcmpv6UnknownCode, false);
            }
        }
    }
}

#[inline]
fn d_proto(d: &Decoded) -> u8 {
    d.proto
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
