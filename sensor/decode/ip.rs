//! IP layers: IPv4 (header checks, options) and IPv6 (extension headers, fragment header).
//! Fragments stop here: their transport is decoded once defrag has rebuilt the datagram.

use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice};

use super::event::Event;
use super::{flags, Cx, Decoded};
use crate::metrics::C;

impl Cx<'_, '_> {
    pub(super) fn ipv4(&mut self, off: usize) {
        if !self.layer() {
            return;
        }
        self.c.inc(C::DecoderIpv4);
        let Some(b) = self.f.get(off..) else {
            self.event(Event::Ipv4PktTooSmall, true);
            return;
        };
        if b.len() < 20 {
            self.event(Event::Ipv4PktTooSmall, true);
            return;
        }
        let h = match Ipv4HeaderSlice::from_slice(b) {
            Ok(h) => h,
            Err(etherparse::err::ipv4::HeaderSliceError::Content(
                etherparse::err::ipv4::HeaderError::UnexpectedVersion { .. },
            )) => {
                self.event(Event::Ipv4WrongIpVer, true);
                return;
            }
            Err(_) => {
                self.event(Event::Ipv4HlenTooSmall, true);
                return;
            }
        };
        let hlen = h.slice().len();
        let total = h.total_len() as usize;
        if total < hlen {
            self.event(Event::Ipv4IplenSmallerThanHlen, true);
            return;
        }
        if total > b.len() {
            self.event(Event::Ipv4TruncPkt, true);
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
    pub(super) fn ipv4_options(&mut self, opts: &[u8]) -> bool {
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
                        self.event(Event::Ipv4OptInvalidLen, true);
                        return false;
                    }
                    i += l as usize;
                }
            }
        }
        true
    }

    pub(super) fn ipv6(&mut self, off: usize) {
        if !self.layer() {
            return;
        }
        self.c.inc(C::DecoderIpv6);
        let Some(b) = self.f.get(off..) else {
            self.event(Event::Ipv6PktTooSmall, true);
            return;
        };
        let h = match Ipv6HeaderSlice::from_slice(b) {
            Ok(h) => h,
            Err(etherparse::err::ipv6::HeaderSliceError::Content(_)) => {
                self.event(Event::Ipv6WrongIpVer, true);
                return;
            }
            Err(_) => {
                self.event(Event::Ipv6PktTooSmall, true);
                return;
            }
        };
        let plen = h.payload_length() as usize;
        if 40 + plen > b.len() {
            self.event(Event::Ipv6TruncPkt, true);
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
        let end = off + 40 + plen;
        let Some((next, o)) = self.ipv6_ext_headers(h.next_header().0, off, end) else { return };
        self.d.ip_hlen = (o - off) as u32;
        self.d.proto = next;
        let plen = end - o;
        if o > off + 40 && next != 59 && plen < 2 {
            // As Suricata: after extension headers, the next header needs at least 2 bytes.
            self.event(Event::Ipv6TruncExthdr, true);
            return;
        }
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

    /// Walks the IPv6 extension headers from `first` (the fixed header's next header) at
    /// `off + 40` up to `end`. Returns the upper-layer protocol and where it starts, or `None`
    /// when decoding stops (a truncated header, or a real fragment: see
    /// [`Cx::ipv6_fragment_header`]).
    fn ipv6_ext_headers(&mut self, first: u8, off: usize, end: usize) -> Option<(u8, usize)> {
        let mut next = first;
        let mut o = off + 40;
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
            let dup = seen & bit != 0 && next != 60;
            if dup {
                let ev = match next {
                    0 => Event::Ipv6ExthdrDuplHh,
                    43 => Event::Ipv6ExthdrDuplRh,
                    44 => Event::Ipv6ExthdrDuplFh,
                    _ => Event::Ipv6ExthdrDuplAh,
                };
                self.event(ev, false);
            }
            seen |= bit;
            let Some(eh) = self.f.get(o..end) else {
                self.event(Event::Ipv6TruncExthdr, true);
                return None;
            };
            if eh.len() < 8 {
                self.event(Event::Ipv6TruncExthdr, true);
                return None;
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
                self.event(Event::Ipv6TruncExthdr, true);
                return None;
            }
            if next == 44 && !dup {
                // a repeated Fragment header is skipped, as Suricata does
                if self.ipv6_fragment_header(eh, o, off, end) {
                    return None;
                }
                // offset 0 without more-fragments: a useless Fragment header, keep walking
                self.event(Event::Ipv6ExthdrUselessFh, false);
            } else if next == 0 || next == 60 {
                // In bounds: len >= 8 by its computation and len <= eh.len() is checked above.
                self.ipv6_padn_check(&eh[2..len]);
            }
            // In bounds: eh.len() >= 8 is checked above.
            next = eh[0];
            o += len;
        }
        Some((next, o))
    }

    /// Reads a Fragment header `eh` (at least 8 bytes) found at `o` in the IPv6 packet at `off`
    /// that ends at `end`. True when the packet is a real fragment: what follows is fragment
    /// data (defrag decodes it once reassembled), so decoding stops here, as in Suricata.
    fn ipv6_fragment_header(&mut self, eh: &[u8], o: usize, off: usize, end: usize) -> bool {
        let (Some(&nh), Some(fo), Some(id)) = (eh.first(), eh.get(2..4), eh.get(4..8)) else {
            return false;
        };
        // In bounds: `fo` and `id` are the 2 and 4 bytes get() returned.
        let fo = u16::from_be_bytes([fo[0], fo[1]]);
        let d = &mut *self.d;
        d.frag_off = fo >> 3;
        d.ip_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        if fo & 1 == 1 {
            d.flags |= flags::MORE_FRAGMENTS | flags::FRAGMENT;
        }
        if d.frag_off != 0 {
            d.flags |= flags::FRAGMENT;
        }
        if d.flags & flags::FRAGMENT == 0 {
            return false;
        }
        if d.flags & flags::MORE_FRAGMENTS != 0 && (end - o) % 8 != 0 {
            // every fragment but the last is a multiple of 8 bytes (RFC 2460 4.5)
            self.event(Event::Ipv6FragInvalidLength, false);
        }
        let d = &mut *self.d;
        d.proto = nh;
        d.ip_hlen = (o + 8 - off) as u32;
        d.payload_off = (o + 8) as u32;
        d.payload_len = end.saturating_sub(o + 8) as u32;
        d.l4_off = (o + 8) as u32;
        self.c.inc(C::DefragIpv6Fragments);
        true
    }

    pub(super) fn ipv6_padn_check(&mut self, opts: &[u8]) {
        let mut i = 0;
        while i < opts.len() {
            // In bounds: i < opts.len() (loop condition).
            match opts[i] {
                0 => i += 1,
                t => {
                    let Some(&l) = opts.get(i + 1) else { return };
                    if t == 1 && l == 0 {
                        self.event(Event::Ipv6ExthdrZeroLenPadn, false);
                    }
                    i += 2 + l as usize;
                }
            }
        }
    }
}

#[inline]
fn d_proto(d: &Decoded) -> u8 {
    d.proto
}
