//! Hash maps and sets of the rule load: keyword and variable names, compiled lists, address
//! sets, prefilter pattern indexes.
//!
//! Their keys come from rule files and the configuration, never from packets, and loading ET
//! Open makes about 2 million lookups in them: with std's SipHash-1-3 the hashing alone was
//! 13% of a warm-cache load's instructions (callgrind, 2026-12-07). aHash (already in the tree
//! through jsonschema) hashes the same keys in a fraction of that and is seeded per process
//! from the OS, as std's is. Tables that hold packet-derived keys (flows, datasets) keep their
//! own hashers. Construct with `Default::default()` (`new()` is std's `RandomState`'s).

/// A `HashMap` hashed with aHash.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// A `HashSet` hashed with aHash.
pub(crate) type HashSet<K> = std::collections::HashSet<K, ahash::RandomState>;
