//! A compact hash set of byte strings with a 16-bit value each: the keys live end to end in
//! one arena (at most 4 GiB), the index holds (offset, length, value) per key in 12 bytes plus
//! hashbrown's control byte. Ten million domains cost their bytes plus about 20 bytes each,
//! and building one allocates a handful of times, not once per key. The hash is SipHash-1-3
//! with a random key per set ([`KeyHasher`]), so keys chosen by an attacker (`dataset:set` on
//! traffic) cannot be made to collide; the key is saved with the set's binary state so that a
//! saved table is rebuilt in bucket order (sequential memory access) when it is read back.

use std::hash::{BuildHasher, Hasher};

#[derive(Clone, Copy, Debug)]
struct Slot {
    off: u32,
    len: u32,
    /// The entry's value: a reputation, or for JSON sets the index + 1 of its context.
    rep: u32,
}

/// The keyed hash of a table (SipHash-1-3, 128-bit key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyHasher {
    pub(crate) k0: u64,
    pub(crate) k1: u64,
}

impl KeyHasher {
    /// A new random key (from the standard library's per-process random keys).
    pub(crate) fn random() -> KeyHasher {
        let r = std::collections::hash_map::RandomState::new();
        KeyHasher { k0: r.hash_one(0x5eed_u64), k1: r.hash_one(0xda7a_u64) }
    }

    #[inline]
    pub(crate) fn hash_one(&self, key: &[u8]) -> u64 {
        let mut h = siphasher::sip::SipHasher13::new_with_keys(self.k0, self.k1);
        h.write(key);
        h.finish()
    }
}

/// Largest arena: offsets are 32-bit.
const ARENA_MAX: usize = u32::MAX as usize;

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct KeyTable {
    hasher: KeyHasher,
    index: hashbrown::HashTable<Slot>,
    arena: Vec<u8>,
    /// Arena bytes of removed keys (reclaimed when the table is rebuilt).
    dead: usize,
}

impl std::fmt::Debug for KeyTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyTable({} keys)", self.len())
    }
}

impl KeyTable {
    /// An empty table sharing `hasher`'s key (tables compared by key must hash alike).
    pub(crate) fn with_hasher(hasher: KeyHasher, capacity: usize) -> KeyTable {
        KeyTable { hasher, index: hashbrown::HashTable::with_capacity(capacity), arena: Vec::new(), dead: 0 }
    }

    pub(crate) fn hasher(&self) -> &KeyHasher {
        &self.hasher
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Bytes held (arena and index), for the memcap.
    pub(crate) fn mem_bytes(&self) -> usize {
        self.arena.capacity() + self.index.capacity() * (std::mem::size_of::<Slot>() + 1)
    }

    /// Bytes one more key of `len` bytes costs.
    pub(crate) fn cost_of(len: usize) -> usize {
        len + std::mem::size_of::<Slot>() + 1
    }

    #[inline]
    fn key<'a>(arena: &'a [u8], s: &Slot) -> &'a [u8] {
        let start = s.off as usize;
        arena.get(start..start + s.len as usize).unwrap_or(&[])
    }

    /// The value of `key`, if present.
    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<u32> {
        let h = self.hasher.hash_one(key);
        self.index.find(h, |s| Self::key(&self.arena, s) == key).map(|s| s.rep)
    }

    /// Reserves arena room for `bytes` more key bytes (a bulk load knows about how many).
    pub(crate) fn reserve_bytes(&mut self, bytes: usize) {
        self.arena.reserve(bytes.min(ARENA_MAX.saturating_sub(self.arena.len())));
    }

    /// Adds `key` with `rep`; false (and the value left as it was) when it was there, or when
    /// the arena is full (4 GiB: far beyond any memcap).
    pub(crate) fn insert(&mut self, key: &[u8], rep: u32) -> bool {
        let h = self.hasher.hash_one(key);
        let KeyTable { hasher, index, arena, .. } = self;
        if index.find(h, |s| Self::key(arena, s) == key).is_some() {
            return false;
        }
        if arena.len().saturating_add(key.len()) > ARENA_MAX {
            return false;
        }
        let slot = Slot { off: arena.len() as u32, len: key.len() as u32, rep };
        arena.extend_from_slice(key.get(..slot.len as usize).unwrap_or(key));
        index.insert_unique(h, slot, |s| hasher.hash_one(Self::key(arena, s)));
        true
    }

    /// Appends `key` to the arena without indexing it (a bulk load indexes it later with
    /// [`KeyTable::index_pending`]); its offset, or `None` when the arena is full.
    #[inline]
    pub(crate) fn push_pending(&mut self, key: &[u8]) -> Option<u32> {
        if self.arena.len().saturating_add(key.len()) > ARENA_MAX {
            return None;
        }
        let off = self.arena.len() as u32;
        self.arena.extend_from_slice(key);
        Some(off)
    }

    /// Indexes a key [`KeyTable::push_pending`] appended (`hash` from this table's hasher), one
    /// probe: false when an equal key is indexed already (its value is kept; the new bytes
    /// are counted dead, reclaimed by [`KeyTable::compacted`]).
    #[inline]
    pub(crate) fn index_pending(&mut self, hash: u64, off: u32, len: u32, rep: u32) -> bool {
        let KeyTable { hasher, index, arena, dead } = self;
        let arena = &*arena;
        let key = Self::key(arena, &Slot { off, len, rep });
        match index.entry(hash, |s| Self::key(arena, s) == key, |s| hasher.hash_one(Self::key(arena, s))) {
            hashbrown::hash_table::Entry::Occupied(_) => {
                *dead += len as usize;
                false
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(Slot { off, len, rep });
                true
            }
        }
    }

    /// Makes room for `n` more keys in the index; the number of its buckets after (a power of
    /// two: a key's first bucket is its hash's low bits).
    pub(crate) fn reserve_keys(&mut self, n: usize) -> usize {
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.index.reserve(n, |s| hasher.hash_one(Self::key(arena, s)));
        // hashbrown keeps 7/8 of its buckets usable.
        (self.index.capacity().saturating_mul(8) / 7).next_power_of_two()
    }

    /// Sets the value of `key` (adding it when absent).
    pub(crate) fn upsert(&mut self, key: &[u8], rep: u32) {
        let h = self.hasher.hash_one(key);
        let arena = &self.arena;
        if let Some(s) = self.index.find_mut(h, |s| Self::key(arena, s) == key) {
            s.rep = rep;
            return;
        }
        self.insert(key, rep);
    }

    /// Removes `key`; whether it was there.
    pub(crate) fn remove(&mut self, key: &[u8]) -> bool {
        let h = self.hasher.hash_one(key);
        let arena = &self.arena;
        match self.index.find_entry(h, |s| Self::key(arena, s) == key) {
            Ok(e) => {
                let (s, _) = e.remove();
                self.dead += s.len as usize;
                true
            }
            Err(_) => false,
        }
    }

    /// Every key and its value, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], u32)> {
        self.index.iter().map(|s| (Self::key(&self.arena, s), s.rep))
    }

    /// A copy without the arena bytes of removed keys, when they are a good part of it.
    pub(crate) fn compacted(&self) -> KeyTable {
        if self.dead < self.arena.len() / 4 {
            return self.clone();
        }
        let mut t = KeyTable::with_hasher(self.hasher, self.len());
        t.arena.reserve(self.arena.len() - self.dead);
        for (k, r) in self.iter() {
            t.insert(k, r);
        }
        t
    }

    /// The table itself, or a copy without the dead arena bytes when they are a good part of
    /// it (after a bulk load that met duplicates).
    pub(crate) fn into_compacted(self) -> KeyTable {
        if self.dead < self.arena.len() / 4 {
            self
        } else {
            self.compacted()
        }
    }

    /// A table over `arena` holding `entries` (offset, length, value) as a saved table
    /// listed them: keys are taken as unique (a saved table's were). `None` when an entry lies
    /// outside the arena.
    pub(crate) fn from_parts(
        hasher: KeyHasher,
        arena: Vec<u8>,
        count: usize,
        entries: impl Iterator<Item = (u32, u32, u32)>,
    ) -> Option<KeyTable> {
        let mut index = hashbrown::HashTable::with_capacity(count);
        for (off, len, rep) in entries {
            let key = arena.get(off as usize..(off as usize).checked_add(len as usize)?)?;
            let h = hasher.hash_one(key);
            index.insert_unique(h, Slot { off, len, rep }, |s| hasher.hash_one(Self::key(&arena, s)));
        }
        Some(KeyTable { hasher, index, arena, dead: 0 })
    }

    /// Releases spare capacity (after a bulk load).
    pub(crate) fn shrink(&mut self) {
        self.arena.shrink_to_fit();
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.index.shrink_to_fit(|s| hasher.hash_one(Self::key(arena, s)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove() {
        let mut t = KeyTable::with_hasher(KeyHasher::random(), 0);
        assert!(t.insert(b"a.example", 3));
        assert!(!t.insert(b"a.example", 9));
        assert!(t.insert(b"", 1));
        assert_eq!(t.get(b"a.example"), Some(3));
        assert_eq!(t.get(b""), Some(1));
        assert_eq!(t.get(b"b.example"), None);
        t.upsert(b"a.example", 7);
        assert_eq!(t.get(b"a.example"), Some(7));
        assert!(t.remove(b"a.example"));
        assert!(!t.remove(b"a.example"));
        assert_eq!(t.get(b"a.example"), None);
        assert_eq!(t.len(), 1);
        for i in 0..10_000u32 {
            t.insert(format!("host{i}.example").as_bytes(), i % 65536);
        }
        for i in (0..10_000u32).step_by(2) {
            t.remove(format!("host{i}.example").as_bytes());
        }
        let c = t.compacted();
        assert_eq!(c.len(), 5_001);
        assert_eq!(c.get(b"host9999.example"), Some(9999));
        assert_eq!(c.get(b"host9998.example"), None);
        assert!(c.mem_bytes() < t.mem_bytes());
    }
}
