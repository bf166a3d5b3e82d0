//! Counting structures with a fixed ceiling: what keeps a 5 GB case in bounded memory.
//!
//! - [`Capped`]: a map that holds at most `2 x cap` entries. When full it keeps the `cap`
//!   heaviest (ties broken by key, so the outcome does not depend on hash order) and counts
//!   what it dropped. An entry created after the first drop may have been dropped before, so
//!   its counts may be low: it is flagged `approx` and the report says so.
//! - [`CappedSet`]: up to N distinct small values, then only "more".
//! - [`Timeline`]: a histogram over time with at most N bins, whose bin width doubles (and
//!   neighbouring bins merge) whenever a timestamp falls outside the span N bins can cover.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// What an entry of a [`Capped`] map weighs when the map must drop some.
pub(crate) trait Weight {
    fn weight(&self) -> u64;
}

/// An entry and whether its counts may be low (it was created after entries were dropped).
#[derive(Debug, Clone)]
pub(crate) struct Slot<V> {
    pub(crate) value: V,
    pub(crate) approx: bool,
}

/// A map with a ceiling and a counted overflow.
#[derive(Debug)]
pub(crate) struct Capped<K, V> {
    map: HashMap<K, Slot<V>>,
    cap: usize,
    /// Entries dropped to stay under the ceiling (a key dropped twice counts twice).
    pub(crate) dropped_entries: u64,
    /// The summed weight of what was dropped.
    pub(crate) dropped_weight: u64,
}

impl<K: Hash + Eq + Ord + Clone, V: Weight> Capped<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        Capped { map: HashMap::new(), cap: cap.max(1), dropped_entries: 0, dropped_weight: 0 }
    }

    /// The entry for `key`, made by `make` when absent (dropping the lightest when full).
    pub(crate) fn entry(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        if self.map.len() >= 2 * self.cap && !self.map.contains_key(&key) {
            self.shrink();
        }
        let approx = self.dropped_entries > 0;
        match self.map.entry(key) {
            Entry::Occupied(o) => &mut o.into_mut().value,
            Entry::Vacant(v) => &mut v.insert(Slot { value: make(), approx }).value,
        }
    }

    /// The entry for `key` when present.
    #[cfg(test)]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key).map(|s| &mut s.value)
    }

    /// Keeps the `cap` heaviest entries.
    fn shrink(&mut self) {
        if self.map.len() <= self.cap {
            return;
        }
        let mut order: Vec<(u64, &K)> = self.map.iter().map(|(k, s)| (s.value.weight(), k)).collect();
        // Heaviest first, then by key: the kept set does not depend on the hash order.
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let gone: Vec<K> = order[self.cap..].iter().map(|(_, k)| (*k).clone()).collect();
        for k in gone {
            if let Some(s) = self.map.remove(&k) {
                self.dropped_entries += 1;
                self.dropped_weight = self.dropped_weight.saturating_add(s.value.weight());
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The entries, heaviest first (ties by key), at most `n`.
    pub(crate) fn top(&self, n: usize) -> Vec<(&K, &Slot<V>)> {
        let mut v: Vec<(&K, &Slot<V>)> = self.map.iter().collect();
        v.sort_unstable_by(|a, b| b.1.value.weight().cmp(&a.1.value.weight()).then_with(|| a.0.cmp(b.0)));
        v.truncate(n);
        v
    }
}

/// Up to `N` distinct values, then a count of what did not fit.
#[derive(Debug, Clone)]
pub(crate) struct CappedSet<T, const N: usize> {
    items: Vec<T>,
    pub(crate) full: bool,
}

impl<T, const N: usize> Default for CappedSet<T, N> {
    fn default() -> Self {
        CappedSet { items: Vec::new(), full: false }
    }
}

impl<T: PartialEq + Ord + Clone, const N: usize> CappedSet<T, N> {
    pub(crate) fn insert(&mut self, t: T) {
        if self.items.contains(&t) {
            return;
        }
        if self.items.len() < N {
            self.items.push(t);
        } else {
            self.full = true;
        }
    }

    /// The values, sorted.
    pub(crate) fn sorted(&self) -> Vec<T> {
        let mut v = self.items.clone();
        v.sort();
        v
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

/// Counts of one time bin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bin {
    /// Alerts by severity 1, 2, 3 and other.
    pub(crate) alerts: [u64; 4],
    pub(crate) flows: u64,
    pub(crate) bytes: u64,
}

impl Bin {
    fn merge(&mut self, o: &Bin) {
        for (a, b) in self.alerts.iter_mut().zip(o.alerts) {
            *a = a.saturating_add(b);
        }
        self.flows = self.flows.saturating_add(o.flows);
        self.bytes = self.bytes.saturating_add(o.bytes);
    }
}

/// A histogram over time (microseconds since the epoch) with at most `max_bins` bins.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    /// Bin width in microseconds: one second times a power of two.
    width: i64,
    bins: BTreeMap<i64, Bin>,
    max_bins: i64,
}

impl Timeline {
    pub(crate) fn new(max_bins: usize) -> Self {
        Timeline { width: 1_000_000, bins: BTreeMap::new(), max_bins: max_bins.clamp(2, 100_000) as i64 }
    }

    pub(crate) fn add(&mut self, ts_us: i64, f: impl FnOnce(&mut Bin)) {
        loop {
            let idx = ts_us.div_euclid(self.width);
            let lo = self.bins.keys().next().copied().unwrap_or(idx).min(idx);
            let hi = self.bins.keys().next_back().copied().unwrap_or(idx).max(idx);
            // i128: the span of two hostile timestamps does not overflow.
            if (hi as i128 - lo as i128) < self.max_bins as i128 || self.width > i64::MAX / 4 {
                f(self.bins.entry(idx).or_default());
                return;
            }
            self.widen();
        }
    }

    fn widen(&mut self) {
        self.width *= 2;
        let old = std::mem::take(&mut self.bins);
        for (idx, bin) in old {
            self.bins.entry(idx.div_euclid(2)).or_default().merge(&bin);
        }
    }

    /// Bin width in microseconds.
    pub(crate) fn width_us(&self) -> i64 {
        self.width
    }

    /// Every bin from the first to the last (empty ones included): (start in us, counts).
    pub(crate) fn series(&self) -> Vec<(i64, Bin)> {
        let (Some(&lo), Some(&hi)) = (self.bins.keys().next(), self.bins.keys().next_back()) else {
            return Vec::new();
        };
        (lo..=hi).map(|i| (i.saturating_mul(self.width), self.bins.get(&i).copied().unwrap_or_default())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Weight for u64 {
        fn weight(&self) -> u64 {
            *self
        }
    }

    #[test]
    fn capped_keeps_the_heaviest_and_counts_the_rest() {
        let mut m: Capped<u32, u64> = Capped::new(10);
        for k in 0..10u32 {
            *m.entry(k, || 0) += 100 + k as u64;
        }
        for k in 1000..1100u32 {
            *m.entry(k, || 0) += 1;
        }
        assert!(m.len() <= 20);
        let top: Vec<u32> = m.top(10).iter().map(|(k, _)| **k).collect();
        assert_eq!(top, (0..10).rev().collect::<Vec<_>>());
        assert!(m.top(10).iter().all(|(_, s)| !s.approx));
        // 100 light keys went in; what is still there plus what was dropped is all of them.
        let light_kept = m.len() as u64 - 10;
        assert_eq!(m.dropped_weight + light_kept, 100);
        assert_eq!(m.dropped_entries + light_kept, 100);
        // a key that arrives after drops is flagged
        m.entry(5000, || 0);
        assert!(m.top(1000).iter().any(|(k, s)| **k == 5000 && s.approx));
    }

    #[test]
    fn capped_outcome_does_not_depend_on_hash_order() {
        let run = || {
            let mut m: Capped<u32, u64> = Capped::new(8);
            for i in 0..10_000u32 {
                *m.entry(i % 37, || 0) += 1;
                *m.entry(100_000 + i, || 0) += 1;
            }
            m.top(8).iter().map(|(k, s)| (**k, s.value)).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn capped_set() {
        let mut s: CappedSet<u32, 3> = CappedSet::default();
        for v in [5, 1, 5, 3, 9, 1] {
            s.insert(v);
        }
        assert_eq!(s.sorted(), vec![1, 3, 5]);
        assert!(s.full);
    }

    #[test]
    fn timeline_widens_and_keeps_every_count() {
        let mut t = Timeline::new(10);
        let mut total = 0;
        for s in 0..1000i64 {
            t.add(s * 1_000_000 + 7, |b| b.flows += 1);
            total += 1;
        }
        let series = t.series();
        assert!(series.len() <= 10, "{} bins", series.len());
        assert_eq!(series.iter().map(|(_, b)| b.flows).sum::<u64>(), total);
        assert!(series.windows(2).all(|w| w[1].0 - w[0].0 == t.width_us()));
        assert!(series[0].0 <= 7 && series.last().unwrap().0 + t.width_us() > 999_000_007);
    }

    #[test]
    fn timeline_survives_hostile_extremes() {
        let mut t = Timeline::new(100);
        for ts in [i64::MIN, -1, 0, 1, i64::MAX, 253_402_300_799_000_000, -62_135_596_800_000_000] {
            t.add(ts, |b| b.alerts[0] += 1);
        }
        let s = t.series();
        assert!(s.len() <= 101);
        assert_eq!(s.iter().map(|(_, b)| b.alerts[0]).sum::<u64>(), 7);
    }
}
