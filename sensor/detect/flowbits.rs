//! Flowbits: conditions on and changes to the bits a flow carries, and the class that orders
//! rules setting bits before rules reading them.

use super::engine::FlowDetect;
use crate::rule::ast::{FlowbitCmd, FlowbitJoin, Rule};

pub(super) fn flowbits_class(r: &Rule) -> u8 {
    // Suricata orders rules that only set flowbits first, then those that set and read, then
    // those that only read, then those that do not use flowbits.
    let sets = r
        .flowbits
        .iter()
        .any(|f| matches!(f.cmd, FlowbitCmd::Set | FlowbitCmd::SetOther | FlowbitCmd::Unset | FlowbitCmd::Toggle));
    let reads = r.flowbits.iter().any(|f| matches!(f.cmd, FlowbitCmd::IsSet | FlowbitCmd::IsNotSet));
    match (sets, reads) {
        (true, false) => 0,
        (true, true) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

pub(super) fn bit(st: &FlowDetect, b: u32) -> bool {
    st.bits.get(b as usize / 64).is_some_and(|w| w & (1u64 << (b % 64)) != 0)
}

pub(super) fn flowbits_ok(r: &Rule, st: &FlowDetect) -> bool {
    for fb in &r.flowbits {
        let want = match fb.cmd {
            FlowbitCmd::IsSet => true,
            FlowbitCmd::IsNotSet => false,
            _ => continue,
        };
        let ok = match fb.join {
            FlowbitJoin::All => fb.bits.iter().all(|&b| bit(st, b) == want),
            FlowbitJoin::Any => fb.bits.iter().any(|&b| bit(st, b) == want),
        };
        if !ok {
            return false;
        }
    }
    true
}

pub(super) fn flowbits_apply(r: &Rule, st: &mut FlowDetect) {
    for fb in &r.flowbits {
        for &b in &fb.bits {
            let (w, m) = (b as usize / 64, 1u64 << (b % 64));
            if w >= st.bits.len() {
                st.bits.resize(w + 1, 0);
            }
            match fb.cmd {
                // In bounds: w < bits.len() (resized above).
                FlowbitCmd::Set | FlowbitCmd::SetOther => st.bits[w] |= m,
                FlowbitCmd::Unset => st.bits[w] &= !m,
                FlowbitCmd::Toggle => st.bits[w] ^= m,
                _ => {}
            }
        }
    }
}
