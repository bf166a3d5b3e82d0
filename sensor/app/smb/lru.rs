//! A small bounded map that forgets its least recently used entry when full (what Suricata's
//! SMB parser keeps its per-flow caches in). Lookups are hash lookups; an insert into a full
//! map scans for the oldest entry (caps are a few hundred entries).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

/// A bounded LRU map.
#[derive(Debug)]
pub(crate) struct Lru<K, V> {
    map: HashMap<K, (V, u64)>,
    cap: usize,
    clock: u64,
    /// Entries forgotten to make room.
    pub evicted: u64,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty map of at most `cap` entries.
    pub(crate) fn new(cap: usize) -> Self {
        Lru { map: HashMap::new(), cap: cap.max(1), clock: 0, evicted: 0 }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The value of `k`, now the most recently used.
    pub(crate) fn get<Q: Hash + Eq + ?Sized>(&mut self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let t = self.tick();
        let e = self.map.get_mut(k)?;
        e.1 = t;
        Some(&e.0)
    }

    /// Whether `k` is present (without touching it).
    #[cfg(test)]
    pub(crate) fn contains<Q: Hash + Eq + ?Sized>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.map.contains_key(k)
    }

    /// Sets `k`, forgetting the least recently used entry when full; returns the old value.
    pub(crate) fn put(&mut self, k: K, v: V) -> Option<V> {
        let t = self.tick();
        if !self.map.contains_key(&k) && self.map.len() >= self.cap {
            if let Some(old) = self.map.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| k.clone()) {
                self.map.remove(&old);
                self.evicted += 1;
            }
        }
        self.map.insert(k, (v, t)).map(|(v, _)| v)
    }

    /// Removes `k`.
    pub(crate) fn pop<Q: Hash + Eq + ?Sized>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.map.remove(k).map(|(v, _)| v)
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_least_recently_used() {
        let mut m = Lru::new(2);
        m.put(1, "a");
        m.put(2, "b");
        assert_eq!(m.get(&1), Some(&"a"));
        m.put(3, "c");
        assert!(m.contains(&1) && !m.contains(&2) && m.contains(&3));
        assert_eq!((m.len(), m.evicted), (2, 1));
        assert_eq!(m.put(3, "d"), Some("c"));
        assert_eq!(m.pop(&3), Some("d"));
        assert_eq!(m.len(), 1);
    }
}
