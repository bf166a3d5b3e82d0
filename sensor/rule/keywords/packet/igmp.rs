//! IGMP keywords: `igmp.type`, `igmp-csum` and the `igmp.hdr` sticky buffer (Suricata's
//! `detect-igmp-type.c`, `detect-csum.c`, `detect-igmphdr.c`). They read the IGMP header the
//! decoder described (IPv4 only, as Suricata decodes it); a packet without one never matches.

use super::{invalid, uint};
use crate::decode::{checksum, proto, Decoded};
use crate::rule::ast::HeaderValue;
use crate::rule::keywords::{suricata_doc, Arg, Keyword};

use Arg::Required as R;

/// The IGMP keywords.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::header(
        "igmp.type",
        R,
        |s| uint(s, 255),
        |v, frame, d| v.matches(igmp_hdr(frame, d).and_then(|h| h.first()).map(|&t| u64::from(t))),
        "the IGMP message type, compared with a number or a range",
        suricata_doc!("header-keywords.html#igmp-type"),
    ),
    Keyword::header(
        "igmp-csum",
        R,
        parse_csum,
        |v, frame, d| match (v, checksum::igmp_ok(frame, d)) {
            (HeaderValue::AnyBit(want), Some(ok)) => (*want == 1) == ok,
            _ => false,
        },
        "the IGMP checksum is valid or invalid",
        suricata_doc!("header-keywords.html#igmp-csum"),
    ),
    Keyword::packet_buffer(
        "igmp.hdr",
        igmp_hdr,
        "sticky buffer: the IGMP header (IGMPv3 source lists and group records included)",
        suricata_doc!("header-keywords.html#igmp-hdr"),
    ),
];

/// `valid` or `invalid` (kept as bit 1 or 0).
fn parse_csum(s: &str) -> Result<HeaderValue, String> {
    match s.trim() {
        "valid" => Ok(HeaderValue::AnyBit(1)),
        "invalid" => Ok(HeaderValue::AnyBit(0)),
        other => Err(invalid(other)),
    }
}

/// The IGMP header's bytes, when the packet has a decoded one.
fn igmp_hdr<'a>(frame: &'a [u8], d: &Decoded) -> Option<&'a [u8]> {
    if d.proto != proto::IGMP || d.igmp == 0 || !d.has_l4() {
        return None;
    }
    let a = d.l4_off as usize;
    frame.get(a..a.checked_add(d.l4_hlen as usize)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::Decoder;
    use crate::metrics::Counters;

    /// An IPv4 packet (with the router alert option) to `dst` carrying `igmp`, its checksum set
    /// unless `bad`.
    fn igmp_frame(dst: [u8; 4], mut igmp: Vec<u8>, bad: bool) -> Vec<u8> {
        let sum = |b: &[u8]| {
            let mut acc: u32 = b.chunks(2).map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0))).sum();
            while acc > 0xffff {
                acc = (acc & 0xffff) + (acc >> 16);
            }
            !(acc as u16)
        };
        let c = sum(&igmp) ^ u16::from(bad);
        igmp[2..4].copy_from_slice(&c.to_be_bytes());
        let total = (24 + igmp.len()) as u16;
        let mut f = vec![0x46, 0, 0, 0, 0, 1, 0, 0, 1, 2, 0, 0, 10, 0, 0, 1];
        f[2..4].copy_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&dst);
        f.extend_from_slice(&[0x94, 4, 0, 0]);
        f.extend_from_slice(&igmp);
        f
    }

    fn dec(f: &[u8]) -> Decoded {
        let mut d = Decoded::default();
        Decoder::default().decode(LinkType::RAW, f, &mut d, &mut Counters::new());
        d
    }

    #[test]
    fn versions_types_and_checksums() {
        // v2 report, v1 report, v2 query (max response time set), v1 query (zero)
        for (t, mrt, want) in [(0x16u8, 0u8, 2u8), (0x12, 0, 1), (0x11, 100, 2), (0x11, 0, 1)] {
            let f = igmp_frame([224, 0, 0, 1], vec![t, mrt, 0, 0, 224, 0, 0, 1], false);
            let d = dec(&f);
            assert_eq!((d.igmp, d.rgmp, d.payload_len), (want, false, 0), "type {t:#x}");
            assert_eq!(igmp_hdr(&f, &d).map(<[u8]>::len), Some(8));
            assert_eq!(checksum::igmp_ok(&f, &d), Some(true));
            let bad = dec(&igmp_frame([224, 0, 0, 1], vec![t, mrt, 0, 0, 224, 0, 0, 1], true));
            assert_eq!(
                checksum::igmp_ok(&igmp_frame([224, 0, 0, 1], vec![t, mrt, 0, 0, 224, 0, 0, 1], true), &bad),
                Some(false)
            );
        }
        // an RGMP hello to 224.0.0.25
        let d = dec(&igmp_frame([224, 0, 0, 25], vec![0xff, 0, 0, 0, 0, 0, 0, 0], false));
        assert_eq!((d.igmp, d.rgmp), (255, true));
        // an IGMPv3 query with two sources: a 20-byte header
        let q = vec![0x11, 100, 0, 0, 0, 0, 0, 0, 2, 125, 0, 2, 10, 0, 0, 1, 10, 0, 0, 2];
        let f = igmp_frame([224, 0, 0, 1], q, false);
        let d = dec(&f);
        assert_eq!((d.igmp, d.l4_hlen, d.payload_len), (3, 20, 0));
        // an IGMPv3 report with one record of one source
        let r = vec![0x22, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 1, 239, 1, 1, 1, 10, 0, 0, 9];
        let d = dec(&igmp_frame([224, 0, 0, 22], r, false));
        assert_eq!((d.igmp, d.l4_hlen), (3, 20));
    }

    #[test]
    fn short_and_malformed_igmp_are_events() {
        use crate::decode::Event;
        let d = dec(&igmp_frame([224, 0, 0, 1], vec![0x16, 0, 0, 0, 224, 0], false));
        assert!(d.events.has(Event::IgmpPktTooSmall) && d.invalid && d.igmp == 0);
        // a v3 query announcing 3 sources but carrying one
        let q = vec![0x11, 100, 0, 0, 0, 0, 0, 0, 2, 125, 0, 3, 10, 0, 0, 1];
        let d = dec(&igmp_frame([224, 0, 0, 1], q, false));
        assert!(d.events.has(Event::IgmpV3PktTooSmall) && d.invalid);
        // a v3 report whose record claims more sources than there are bytes
        let r = vec![0x22, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 9, 239, 1, 1, 1];
        let d = dec(&igmp_frame([224, 0, 0, 22], r, false));
        assert!(d.events.has(Event::IgmpMalformed) && d.invalid);
        // a v3 report claiming more records than there are
        let r = vec![0x22, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 0, 239, 1, 1, 1];
        let d = dec(&igmp_frame([224, 0, 0, 22], r, false));
        assert!(d.events.has(Event::IgmpV3PktTooSmall));
    }

    #[test]
    fn csum_values() {
        assert_eq!(parse_csum("valid"), Ok(HeaderValue::AnyBit(1)));
        assert_eq!(parse_csum("invalid"), Ok(HeaderValue::AnyBit(0)));
        assert!(parse_csum("maybe").is_err());
    }
}
