//! What decoding found: [`Decoded`] (offsets into the frame and the innermost IP packet's key
//! fields), its [`flags`], the tunnel it came through, and protocol numbers.

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
    /// IGMP version (1, 2, 3; 255 for another type; 0 when no IGMP header was decoded).
    pub igmp: u8,
    /// IGMP message type.
    pub igmp_type: u8,
    /// The IGMP packet is RGMP (RFC 3488: sent to 224.0.0.25).
    pub rgmp: bool,
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
    /// The anomalies found on the packet, in order: the decoder's and defrag's; the worker
    /// adds the stream engine's before inspection (see [`super::event`]).
    pub events: super::event::Events,
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
    /// Suricata's `pkt_src` of a packet read from the capture: `defrag` for a datagram
    /// rebuilt from fragments, else its tunnel's (`wire/pcap` when not tunnelled).
    pub fn pkt_src(&self) -> &'static str {
        if self.flags & flags::REASSEMBLED != 0 {
            "defrag"
        } else {
            self.tunnel.pkt_src()
        }
    }

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
    /// IGMP.
    pub const IGMP: u8 = 2;
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

/// The options of a decoded TCP header: (kind, value) pairs, up to the end-of-list option or
/// the first malformed one. Never reads outside the frame.
#[derive(Clone, Debug)]
pub struct TcpOptions<'a> {
    opts: &'a [u8],
    i: usize,
}

impl Decoded {
    /// The TCP header's options (none when the packet has no decoded TCP header).
    pub fn tcp_options<'a>(&self, frame: &'a [u8]) -> TcpOptions<'a> {
        let tcp = self.proto == proto::TCP && self.has_l4();
        let start = self.l4_off as usize + 20;
        let end = (self.l4_off as usize).saturating_add(self.l4_hlen as usize);
        let opts = if tcp { frame.get(start..end).unwrap_or(&[]) } else { &[] };
        TcpOptions { opts, i: 0 }
    }
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        loop {
            let kind = *self.opts.get(self.i)?;
            match kind {
                0 => {
                    self.i = self.opts.len();
                    return None;
                }
                1 => self.i += 1,
                _ => {
                    let l = usize::from(*self.opts.get(self.i + 1)?);
                    if l < 2 || l > self.opts.len() - self.i {
                        self.i = self.opts.len();
                        return None;
                    }
                    let v = self.opts.get(self.i + 2..self.i + l)?;
                    self.i += l;
                    return Some((kind, v));
                }
            }
        }
    }
}
