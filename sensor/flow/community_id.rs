//! Community ID v1 (<https://github.com/corelight/community-id-spec>): a flow hash that other
//! tools (Zeek, Suricata, Arkime) compute the same way, so SOC operators can pivot on it.
//!
//! `"1:" + base64(sha1(seed_be16 . saddr . daddr . proto . 0 . sport_be16 . dport_be16))`
//! with the endpoints ordered so that the smaller (address, port) comes first; for ICMP the
//! "ports" are type and code, and for the request/response pairs of the spec the code is
//! replaced by the counterpart type so both directions hash alike.

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::decode::proto;

/// Computes the Community ID string (`1:...`, 30 bytes) for a packet or flow.
///
/// `src`/`dst` are 4 (IPv4) or 16 (IPv6) address bytes; for ICMP/ICMPv6 `sp`/`dp` are the type
/// and code.
pub(crate) fn community_id(seed: u16, src: &[u8], dst: &[u8], proto_: u8, sp: u16, dp: u16) -> String {
    let (mut sp, mut dp) = (sp, dp);
    let mut one_way = false;
    if matches!(proto_, proto::ICMP | proto::ICMPV6) {
        let (t, c) = (sp as u8, dp as u8);
        let pair = if proto_ == proto::ICMP { icmp4_pair(t) } else { icmp6_pair(t) };
        match pair {
            Some(r) => {
                sp = t as u16;
                dp = r as u16;
            }
            None => {
                one_way = true;
                sp = t as u16;
                dp = c as u16;
            }
        }
    }
    let ordered = one_way || (src, sp) < (dst, dp);
    let (a, b, pa, pb) = if ordered { (src, dst, sp, dp) } else { (dst, src, dp, sp) };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(a);
    h.update(b);
    h.update([proto_, 0]);
    if matches!(proto_, proto::TCP | proto::UDP | proto::SCTP | proto::ICMP | proto::ICMPV6) {
        h.update(pa.to_be_bytes());
        h.update(pb.to_be_bytes());
    }
    let digest = h.finalize();
    let mut s = String::with_capacity(30);
    s.push_str("1:");
    base64::engine::general_purpose::STANDARD.encode_string(digest, &mut s);
    s
}

fn icmp4_pair(t: u8) -> Option<u8> {
    Some(match t {
        8 => 0,
        0 => 8,
        13 => 14,
        14 => 13,
        15 => 16,
        16 => 15,
        10 => 9,
        9 => 10,
        17 => 18,
        18 => 17,
        _ => return None,
    })
}

fn icmp6_pair(t: u8) -> Option<u8> {
    Some(match t {
        128 => 129,
        129 => 128,
        133 => 134,
        134 => 133,
        135 => 136,
        136 => 135,
        130 => 131,
        131 => 130,
        144 => 145,
        145 => 144,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from the community-id-spec baseline (tcp, udp, icmp, ipv6).
    #[test]
    fn spec_examples() {
        assert_eq!(
            community_id(0, &[128, 232, 110, 120], &[66, 35, 250, 204], 6, 34855, 80),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        // reversed direction gives the same id
        assert_eq!(
            community_id(0, &[66, 35, 250, 204], &[128, 232, 110, 120], 6, 80, 34855),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(community_id(0, &[192, 168, 1, 52], &[8, 8, 8, 8], 17, 54585, 53), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
        // ICMP echo request, type 8 code 0
        assert_eq!(community_id(0, &[192, 168, 0, 89], &[192, 168, 0, 1], 1, 8, 0), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    }
}
