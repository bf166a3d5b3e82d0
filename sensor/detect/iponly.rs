//! IP-only rules looked up by address instead of tried one by one.
//!
//! ET Open has about 1,200 IP-only rules (reputation lists: CINS, Tor, DROP, Dshield...), each
//! with a few hundred addresses. Trying every one on the first packet of each flow direction
//! cost more than the rest of detection together (a binary search in two address sets per
//! rule, then a sort of ~1,200 candidates). Suricata puts them in a radix tree; here each rule
//! is indexed by the narrower of its two address sets (per address family), in a sorted map of
//! elementary intervals, so that a packet's candidates are the rules indexed under its source
//! address, those indexed under its destination address, and the few whose sets are both
//! unrestricted.
//!
//! Promises: [`IpOnlyIndex::candidates`] returns every IP-only rule whose source set holds the
//! source address and whose destination set holds the destination (a superset: exclusions are
//! not applied here, the engine checks both sets of every candidate as before), each at most
//! once. Never: allocates per packet.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::rule::ast::AddrSet;

/// Sorted elementary intervals with the rules whose indexed range covers them.
#[derive(Debug, Default)]
struct IntervalMap<T> {
    /// Interval starts, ascending; interval `i` ends where `i + 1` starts.
    starts: Vec<T>,
    /// Interned rule lists, flattened.
    rules: Vec<u32>,
    /// Per interval, the start of its list in `rules` and its length.
    list: Vec<(u32, u32)>,
}

impl<T: Copy + Ord + std::hash::Hash> IntervalMap<T> {
    /// Builds the map of inclusive ranges `(lo, hi, rule)`; `succ` is `x + 1` (None at the top).
    fn build(mut ranges: Vec<(T, T, u32)>, succ: impl Fn(T) -> Option<T>) -> Self {
        let mut m = IntervalMap { starts: Vec::new(), rules: Vec::new(), list: Vec::new() };
        if ranges.is_empty() {
            return m;
        }
        ranges.sort_unstable();
        let mut bounds: Vec<T> = Vec::with_capacity(ranges.len() * 2);
        for &(lo, hi, _) in &ranges {
            bounds.push(lo);
            if let Some(n) = succ(hi) {
                bounds.push(n);
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        let mut interned: HashMap<Vec<u32>, (u32, u32)> = HashMap::new();
        // Active ranges: (hi, rule); ranges enter in `lo` order.
        let mut active: Vec<(T, u32)> = Vec::new();
        let mut next = 0;
        let mut cur: Vec<u32> = Vec::new();
        for &b in &bounds {
            active.retain(|&(hi, _)| hi >= b);
            while next < ranges.len() && ranges[next].0 <= b {
                if ranges[next].1 >= b {
                    active.push((ranges[next].1, ranges[next].2));
                }
                next += 1;
            }
            cur.clear();
            cur.extend(active.iter().map(|a| a.1));
            cur.sort_unstable();
            cur.dedup();
            let n = interned.len();
            let entry = match interned.get(&cur) {
                Some(&e) => e,
                None => {
                    let e = (m.rules.len() as u32, cur.len() as u32);
                    m.rules.extend_from_slice(&cur);
                    interned.insert(cur.clone(), e);
                    debug_assert!(interned.len() == n + 1);
                    e
                }
            };
            // Merge with the previous interval when the list is the same.
            if m.list.last() == Some(&entry) {
                continue;
            }
            m.starts.push(b);
            m.list.push(entry);
        }
        m
    }

    #[inline]
    fn lookup(&self, x: T) -> &[u32] {
        let i = self.starts.partition_point(|s| *s <= x);
        if i == 0 {
            return &[];
        }
        let (at, len) = self.list[i - 1];
        &self.rules[at as usize..(at + len) as usize]
    }
}

/// Per address family: rules indexed by source, by destination, and the unindexed rest.
#[derive(Debug, Default)]
struct Family<T> {
    by_src: IntervalMap<T>,
    by_dst: IntervalMap<T>,
    always: Vec<u32>,
}

/// The IP-only rules of an engine, indexed by address.
#[derive(Debug, Default)]
pub struct IpOnlyIndex {
    v4: Family<u32>,
    v6: Family<u128>,
    /// Rules indexed (for stats).
    pub rules: usize,
}

/// How many addresses of one family a set names (`None`: unrestricted), and its ranges.
fn extent<T: Copy>(set: &AddrSet, conv: impl Fn(&IpAddr) -> Option<T>, width: impl Fn(T, T) -> u128) -> Extent<T> {
    if set.any {
        return Extent::Any;
    }
    let mut v = Vec::new();
    let mut size: u128 = 0;
    for r in &set.include {
        if let (Some(lo), Some(hi)) = (conv(&r.lo), conv(&r.hi)) {
            size = size.saturating_add(width(lo, hi));
            v.push((lo, hi));
        }
    }
    if v.is_empty() {
        Extent::None
    } else {
        Extent::Ranges(size, v)
    }
}

enum Extent<T> {
    Any,
    None,
    Ranges(u128, Vec<(T, T)>),
}

fn index_family<T: Copy + Ord + std::hash::Hash>(
    sets: &[(u32, &AddrSet, &AddrSet)],
    conv: impl Fn(&IpAddr) -> Option<T> + Copy,
    width: impl Fn(T, T) -> u128 + Copy,
    succ: impl Fn(T) -> Option<T> + Copy,
) -> Family<T> {
    let mut src_ranges = Vec::new();
    let mut dst_ranges = Vec::new();
    let mut always = Vec::new();
    for &(rn, src, dst) in sets {
        match (extent(src, conv, width), extent(dst, conv, width)) {
            (Extent::None, _) | (_, Extent::None) => {} // cannot match this family
            (Extent::Any, Extent::Any) => always.push(rn),
            (Extent::Ranges(_, s), Extent::Any) => src_ranges.extend(s.into_iter().map(|(a, b)| (a, b, rn))),
            (Extent::Any, Extent::Ranges(_, d)) => dst_ranges.extend(d.into_iter().map(|(a, b)| (a, b, rn))),
            (Extent::Ranges(ns, s), Extent::Ranges(nd, d)) => {
                if ns <= nd {
                    src_ranges.extend(s.into_iter().map(|(a, b)| (a, b, rn)));
                } else {
                    dst_ranges.extend(d.into_iter().map(|(a, b)| (a, b, rn)));
                }
            }
        }
    }
    Family { by_src: IntervalMap::build(src_ranges, succ), by_dst: IntervalMap::build(dst_ranges, succ), always }
}

impl IpOnlyIndex {
    /// Indexes rules given as (rule number, source set, destination set).
    pub fn build(rules: &[(u32, &AddrSet, &AddrSet)]) -> IpOnlyIndex {
        let v4 = index_family(
            rules,
            |a| if let IpAddr::V4(v) = a { Some(u32::from(*v)) } else { None },
            |lo: u32, hi: u32| (hi.saturating_sub(lo) as u128) + 1,
            |x: u32| x.checked_add(1),
        );
        let v6 = index_family(
            rules,
            |a| if let IpAddr::V6(v) = a { Some(u128::from(*v)) } else { None },
            |lo: u128, hi: u128| hi.saturating_sub(lo).saturating_add(1),
            |x: u128| x.checked_add(1),
        );
        IpOnlyIndex { v4, v6, rules: rules.len() }
    }

    /// Appends the candidate rules for a packet from `src` to `dst` (IPv4 in the first four
    /// bytes unless `v6`).
    #[inline]
    pub fn candidates(&self, src: &[u8; 16], dst: &[u8; 16], v6: bool, out: &mut Vec<u32>) {
        if v6 {
            let (s, d) = (u128::from_be_bytes(*src), u128::from_be_bytes(*dst));
            out.extend_from_slice(&self.v6.always);
            out.extend_from_slice(self.v6.by_src.lookup(s));
            out.extend_from_slice(self.v6.by_dst.lookup(d));
        } else {
            let s = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
            let d = u32::from_be_bytes([dst[0], dst[1], dst[2], dst[3]]);
            out.extend_from_slice(&self.v4.always);
            out.extend_from_slice(self.v4.by_src.lookup(s));
            out.extend_from_slice(self.v4.by_dst.lookup(d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::engine::addr_match;
    use crate::rule::ast::IpRange;

    fn set(any: bool, inc: &[(&str, &str)], exc: &[(&str, &str)]) -> AddrSet {
        let r = |v: &[(&str, &str)]| {
            v.iter().map(|(a, b)| IpRange { lo: a.parse().unwrap(), hi: b.parse().unwrap() }).collect::<Vec<_>>()
        };
        AddrSet { any, include: r(inc), exclude: r(exc) }
    }

    fn bytes(a: &str) -> ([u8; 16], bool) {
        match a.parse::<IpAddr>().unwrap() {
            IpAddr::V4(v) => {
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(&v.octets());
                (b, false)
            }
            IpAddr::V6(v) => (v.octets(), true),
        }
    }

    /// Every rule that matches is a candidate, exactly once, against the plain set check.
    #[test]
    fn candidates_are_a_superset_without_duplicates() {
        let home = set(false, &[("10.0.0.0", "10.255.255.255"), ("192.168.0.0", "192.168.255.255")], &[]);
        let external = set(true, &[], &[("10.0.0.0", "10.255.255.255"), ("192.168.0.0", "192.168.255.255")]);
        let any = set(true, &[], &[]);
        let list1 = set(false, &[("1.2.3.4", "1.2.3.4"), ("5.6.7.0", "5.6.7.255"), ("10.1.1.1", "10.1.1.1")], &[]);
        let list2 = set(false, &[("5.6.7.128", "5.6.7.130"), ("2001:db8::", "2001:db8::ffff")], &[]);
        let v6only = set(false, &[("2001:db8::1", "2001:db8::1")], &[]);
        let rules: Vec<(u32, &AddrSet, &AddrSet)> = vec![
            (0, &list1, &home),
            (1, &home, &list1),
            (2, &list2, &any),
            (3, &any, &list2),
            (4, &home, &external),
            (5, &any, &any),
            (6, &v6only, &home),
            (7, &external, &list2),
        ];
        let idx = IpOnlyIndex::build(&rules);
        let addrs = [
            "1.2.3.4",
            "1.2.3.5",
            "5.6.7.1",
            "5.6.7.129",
            "5.6.7.131",
            "10.1.1.1",
            "10.2.2.2",
            "192.168.1.1",
            "8.8.8.8",
            "0.0.0.0",
            "255.255.255.255",
            "2001:db8::1",
            "2001:db8::1:0",
            "::1",
        ];
        let mut out = Vec::new();
        for s in addrs {
            for d in addrs {
                let (sb, s6) = bytes(s);
                let (db, d6) = bytes(d);
                if s6 != d6 {
                    continue;
                }
                out.clear();
                idx.candidates(&sb, &db, s6, &mut out);
                let mut sorted = out.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), out.len(), "duplicates for {s} -> {d}: {out:?}");
                for &(rn, ss, ds) in &rules {
                    if addr_match(ss, &sb, s6) && addr_match(ds, &db, d6) {
                        assert!(out.contains(&rn), "rule {rn} missing for {s} -> {d}: {out:?}");
                    }
                }
            }
        }
        // The lists are narrow: a packet between two unlisted addresses only gets the
        // unrestricted rules and those of its own side's broad sets.
        out.clear();
        let (a, _) = bytes("8.8.8.8");
        let (b, _) = bytes("8.8.4.4");
        idx.candidates(&a, &b, false, &mut out);
        out.sort_unstable();
        assert_eq!(out, vec![5]);
    }
}
