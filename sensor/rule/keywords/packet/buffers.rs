//! The packet's own sticky buffers: `ipv4.hdr`, `ipv6.hdr`, `tcp.hdr`, `udp.hdr`,
//! `icmpv4.hdr`, `icmpv6.hdr` (Suricata's `detect-ipv4hdr.c`, `detect-tcphdr.c`, ...): each a
//! row with its getter, which finds the header's bytes in the frame from its decode (none
//! when the packet does not have that header). Payload keywords after one inspect those
//! bytes; the getter is bound into the rule ([`crate::rule::ast::Buffer::Packet`]), so
//! detection reads any packet buffer the same way, without knowing which it is.

use super::{is_icmpv4, is_icmpv6, is_ipv4, is_tcp, l4};
use crate::decode::{proto, Decoded};
use crate::rule::keywords::{suricata_doc, Keyword};

/// The packet's sticky buffers.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::packet_buffer(
        "ipv4.hdr",
        ipv4_hdr,
        "sticky buffer: the IPv4 header, options included",
        suricata_doc!("header-keywords.html#ipv4-hdr"),
    ),
    Keyword::packet_buffer(
        "ipv6.hdr",
        ipv6_hdr,
        "sticky buffer: the IPv6 header, extension headers included",
        suricata_doc!("header-keywords.html#ipv6-hdr"),
    ),
    Keyword::packet_buffer(
        "tcp.hdr",
        tcp_hdr,
        "sticky buffer: the TCP header, options included",
        suricata_doc!("header-keywords.html#tcp-hdr"),
    ),
    Keyword::packet_buffer(
        "udp.hdr",
        udp_hdr,
        "sticky buffer: the UDP header",
        suricata_doc!("header-keywords.html#udp-hdr"),
    ),
    Keyword::packet_buffer(
        "icmpv4.hdr",
        icmpv4_hdr,
        "sticky buffer: the ICMPv4 header",
        suricata_doc!("header-keywords.html#icmpv4-hdr"),
    ),
    Keyword::packet_buffer(
        "icmpv6.hdr",
        icmpv6_hdr,
        "sticky buffer: the ICMPv6 header (its first 8 bytes)",
        suricata_doc!("header-keywords.html#icmpv6-hdr"),
    ),
];

/// `len` bytes of the frame from `off`, when they are all there.
fn bytes(frame: &[u8], off: u32, len: u32) -> Option<&[u8]> {
    let a = off as usize;
    frame.get(a..a.checked_add(len as usize)?)
}

fn ipv4_hdr<'a>(frame: &'a [u8], d: &Decoded) -> Option<&'a [u8]> {
    if !is_ipv4(d) {
        return None;
    }
    bytes(frame, d.ip_off, d.ip_hlen)
}

fn ipv6_hdr<'a>(frame: &'a [u8], d: &Decoded) -> Option<&'a [u8]> {
    if !d.is_ipv6() {
        return None;
    }
    bytes(frame, d.ip_off, d.ip_hlen)
}

fn tcp_hdr<'a>(frame: &'a [u8], d: &Decoded) -> Option<&'a [u8]> {
    if !is_tcp(d) {
        return None;
    }
    bytes(frame, d.l4_off, d.l4_hlen)
}

fn udp_hdr<'a>(frame: &'a [u8], d: &Decoded) -> Option<&'a [u8]> {
    if !(l4(d) && d.proto == proto::UDP) {
        return None;
    }
    bytes(frame, d.l4_off, 8)
}

fn icmpv4_hdr<'a>(frame: &'a [u8], d: &Decoded) -> Option<&'a [u8]> {
    if !is_icmpv4(d) {
        return None;
    }
    bytes(frame, d.l4_off, d.l4_hlen)
}

fn icmpv6_hdr<'a>(frame: &'a [u8], d: &Decoded) -> Option<&'a [u8]> {
    if !is_icmpv6(d) {
        return None;
    }
    bytes(frame, d.l4_off, 8)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::rule::ast::Buffer;
    use crate::rule::parse::testing::*;

    #[test]
    fn each_buffer_is_its_header() {
        let f = tcp_frame(|b| b.syn(), b"abc");
        let d = decode(&f);
        assert_eq!(ipv4_hdr(&f, &d).map(|h| (h.len(), h[0])), Some((20, 0x45)));
        assert_eq!(tcp_hdr(&f, &d).map(|h| (h.len(), &h[..4])), Some((20, &[4, 210, 0, 80][..])));
        assert!(udp_hdr(&f, &d).is_none() && ipv6_hdr(&f, &d).is_none() && icmpv4_hdr(&f, &d).is_none());
        let u = udp_frame(b"x");
        let du = decode(&u);
        assert_eq!(udp_hdr(&u, &du).map(<[u8]>::len), Some(8));
        let i = icmp6_echo_reply(1, 1);
        assert_eq!(icmpv6_hdr(&i, &decode(&i)).map(|h| h[0]), Some(129));
        assert_eq!(ipv6_hdr(&i, &decode(&i)).map(<[u8]>::len), Some(40));
        // a decode that does not describe the frame never reads outside it
        assert!(tcp_hdr(&f[..30], &d).is_none());
    }

    #[test]
    fn rules_select_packet_buffers() {
        let r = ok(r#"tcp.hdr; content:"|00 50|"; offset:2; depth:2; tcp.hdr; content:"x";"#);
        assert_eq!(r.buffers.len(), 1);
        assert!(matches!(&r.buffers[0].buffer, Buffer::Packet(p) if p.name == "tcp.hdr"));
        assert_eq!(r.buffers[0].matches.len(), 2);
        assert!(r.proto.app.is_none());
        bad_value("ipv4.hdr;", "ipv4.hdr");
    }
}
