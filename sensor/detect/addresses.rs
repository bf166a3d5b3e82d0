//! Address and port sets compiled for the hot path, and the index of IP-only rules by their
//! narrower address side.

use std::net::IpAddr;

use super::engine::CompiledRule;
use crate::decode::Decoded;
use crate::rule::ast::{AddrSet, PortSet};

/// An address set compiled for lookups: merged, sorted ranges per family, searched by
/// binary search (IP reputation rules carry hundreds of addresses each).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FastAddrSet {
    pub(super) any: bool,
    pub(super) inc4: Vec<(u32, u32)>,
    pub(super) inc6: Vec<(u128, u128)>,
    pub(super) exc4: Vec<(u32, u32)>,
    pub(super) exc6: Vec<(u128, u128)>,
}

pub(super) fn merge<T: Ord + Copy>(mut v: Vec<(T, T)>, succ: impl Fn(T) -> Option<T>) -> Vec<(T, T)> {
    v.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        if let Some(last) = out.last_mut() {
            if succ(last.1).is_none_or(|n| lo <= n) {
                if hi > last.1 {
                    last.1 = hi;
                }
                continue;
            }
        }
        out.push((lo, hi));
    }
    out
}

pub(super) fn in_sorted<T: Ord + Copy>(v: &[(T, T)], x: T) -> bool {
    // last range starting at or before x
    let i = v.partition_point(|r| r.0 <= x);
    // In bounds: i > 0 is tested first and i <= v.len() (partition_point).
    i > 0 && v[i - 1].1 >= x
}

impl FastAddrSet {
    /// Compiles a parsed set.
    pub fn new(set: &AddrSet) -> Self {
        let split = |rs: &[crate::rule::ast::IpRange]| {
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for r in rs {
                match (r.lo, r.hi) {
                    (IpAddr::V4(a), IpAddr::V4(b)) => v4.push((u32::from(a), u32::from(b))),
                    (IpAddr::V6(a), IpAddr::V6(b)) => v6.push((u128::from(a), u128::from(b))),
                    _ => {}
                }
            }
            (merge(v4, |x: u32| x.checked_add(1)), merge(v6, |x: u128| x.checked_add(1)))
        };
        let (inc4, inc6) = split(&set.include);
        let (exc4, exc6) = split(&set.exclude);
        FastAddrSet { any: set.any, inc4, inc6, exc4, exc6 }
    }

    /// Whether the address (v4 in the first 4 bytes unless `v6`) is in the set.
    #[inline]
    pub fn contains(&self, a: &[u8; 16], v6: bool) -> bool {
        if v6 {
            let x = u128::from_be_bytes(*a);
            (self.any || in_sorted(&self.inc6, x)) && !in_sorted(&self.exc6, x)
        } else {
            let x = u32::from_be_bytes([a[0], a[1], a[2], a[3]]);
            (self.any || in_sorted(&self.inc4, x)) && !in_sorted(&self.exc4, x)
        }
    }
}

/// IP-only rules indexed by the narrower of their two address sides (Suricata builds a radix
/// tree for the same purpose): a packet looks up its source in the source-keyed ranges and
/// its destination in the destination-keyed ranges, and only the rules found (plus those with
/// two broad sides) are checked in full.
#[derive(Debug, Default)]
pub(super) struct IpIndex {
    /// (lo, hi, rule) per side (0: source, 1: destination), sorted by lo; spans under 2^16.
    pub(super) small4: [Vec<(u32, u32, u32)>; 2],
    pub(super) small6: [Vec<(u128, u128, u32)>; 2],
    /// Wider ranges: checked one by one (few).
    pub(super) wide4: [Vec<(u32, u32, u32)>; 2],
    pub(super) wide6: [Vec<(u128, u128, u32)>; 2],
    /// Rules whose sides are both broad.
    pub(super) always: Vec<u32>,
}

pub(super) const SMALL_SPAN: u32 = 1 << 16;

impl IpIndex {
    pub(super) fn build(ip_only: &[u32], rules: &[CompiledRule]) -> IpIndex {
        let mut ix = IpIndex::default();
        let size = |f: &FastAddrSet| -> Option<u128> {
            if f.any || (f.inc4.is_empty() && f.inc6.is_empty()) {
                return None;
            }
            let n4: u128 = f.inc4.iter().map(|&(a, b)| (b - a) as u128 + 1).sum();
            let n6: u128 =
                f.inc6.iter().map(|&(a, b)| (b - a).saturating_add(1)).fold(0u128, |x, y| x.saturating_add(y));
            Some(n4.saturating_add(n6))
        };
        for &r in ip_only {
            // In bounds: ip_only holds indexes of rules (finish builds it by enumerate); side is 0 or 1.
            let cr = &rules[r as usize];
            let side = match (size(&cr.src), size(&cr.dst)) {
                (None, None) => {
                    ix.always.push(r);
                    continue;
                }
                (Some(_), None) => 0,
                (None, Some(_)) => 1,
                (Some(a), Some(b)) => usize::from(b < a),
            };
            let set = if side == 0 { &cr.src } else { &cr.dst };
            for &(a, b) in &set.inc4 {
                if b - a < SMALL_SPAN {
                    ix.small4[side].push((a, b, r));
                } else {
                    ix.wide4[side].push((a, b, r));
                }
            }
            for &(a, b) in &set.inc6 {
                if b - a < SMALL_SPAN as u128 {
                    ix.small6[side].push((a, b, r));
                } else {
                    ix.wide6[side].push((a, b, r));
                }
            }
        }
        for side in 0..2 {
            // In bounds: side < 2 (loop range).
            ix.small4[side].sort_unstable();
            ix.small6[side].sort_unstable();
        }
        ix
    }

    /// Calls `f` with every IP-only rule the packet's addresses may match.
    pub(super) fn candidates(&self, d: &Decoded, f: &mut dyn FnMut(u32)) {
        for &r in &self.always {
            f(r);
        }
        for (side, a) in [(0, &d.src), (1, &d.dst)] {
            if d.is_ipv6() {
                let x = u128::from_be_bytes(*a);
                // In bounds: side is 0 or 1; i > 0 is tested first and i <= v.len() (partition_point).
                let v = &self.small6[side];
                let mut i = v.partition_point(|e| e.0 <= x);
                while i > 0 {
                    let e = v[i - 1];
                    if x - e.0 >= SMALL_SPAN as u128 {
                        break;
                    }
                    if x <= e.1 {
                        f(e.2);
                    }
                    i -= 1;
                }
                for e in &self.wide6[side] {
                    if e.0 <= x && x <= e.1 {
                        f(e.2);
                    }
                }
            } else {
                let x = u32::from_be_bytes([a[0], a[1], a[2], a[3]]);
                // In bounds: side is 0 or 1; i > 0 is tested first and i <= v.len() (partition_point).
                let v = &self.small4[side];
                let mut i = v.partition_point(|e| e.0 <= x);
                while i > 0 {
                    let e = v[i - 1];
                    if x - e.0 >= SMALL_SPAN {
                        break;
                    }
                    if x <= e.1 {
                        f(e.2);
                    }
                    i -= 1;
                }
                for e in &self.wide4[side] {
                    if e.0 <= x && x <= e.1 {
                        f(e.2);
                    }
                }
            }
        }
    }
}

/// Whether port `p` is in the set.
pub(super) fn port_match(set: &PortSet, p: u16) -> bool {
    let inc = set.any || set.include.iter().any(|r| p >= r.lo && p <= r.hi);
    inc && !set.exclude.iter().any(|r| p >= r.lo && p <= r.hi)
}
