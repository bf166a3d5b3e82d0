//! A hasher for the engine's own small keys (rule numbers, protocol and direction pairs) that
//! detection looks up per packet and per candidate rule: a multiply-rotate mix instead of the
//! standard library's SipHash, which showed as 2-3% of a worker's time in those lookups.
//! Only for keys the engine makes itself from the loaded rules: never for keys taken from
//! traffic, which need SipHash's resistance to chosen collisions.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate hasher (FxHash's mix).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IntHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl IntHasher {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(K);
    }
}

impl Hasher for IntHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }
    fn write_u8(&mut self, x: u8) {
        self.add(u64::from(x));
    }
    fn write_u16(&mut self, x: u16) {
        self.add(u64::from(x));
    }
    fn write_u32(&mut self, x: u32) {
        self.add(u64::from(x));
    }
    fn write_u64(&mut self, x: u64) {
        self.add(x);
    }
    fn write_usize(&mut self, x: usize) {
        self.add(x as u64);
    }
    fn write_isize(&mut self, x: isize) {
        self.add(x as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash map keyed by the engine's own small keys.
pub(crate) type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::AppProto;

    #[test]
    fn distinct_rule_protocol_keys_stay_distinct_and_found() {
        let mut m: IntMap<(u32, AppProto), u32> = IntMap::default();
        for (i, &p) in AppProto::ALL.iter().enumerate() {
            for r in 0..2_000u32 {
                m.insert((r, p), r ^ i as u32);
            }
        }
        assert_eq!(m.len(), 2_000 * AppProto::ALL.len());
        for (i, &p) in AppProto::ALL.iter().enumerate() {
            assert_eq!(m.get(&(1_999, p)), Some(&(1_999 ^ i as u32)));
        }
        assert_eq!(m.get(&(2_000, AppProto::ALL[2])), None);
    }
}
