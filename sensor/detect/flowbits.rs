//! Flowbits: conditions on and changes to the bits a flow carries, and the class that orders
//! rules setting bits before rules reading them.

use super::engine::FlowDetect;
use super::run_rule::RunRule;
use crate::rule::ast::{FlowbitCmd, FlowbitJoin};

pub(super) fn flowbits_class(r: &RunRule) -> u8 {
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
    st.bits.contains(&b)
}

pub(super) fn flowbits_ok(r: &RunRule, st: &FlowDetect) -> bool {
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

pub(super) fn flowbits_apply(r: &RunRule, st: &mut FlowDetect) {
    for fb in &r.flowbits {
        for &b in &fb.bits {
            // A bit set again keeps its place; unset and set again, it goes last (Suricata's
            // flow variable list).
            let at = st.bits.iter().position(|&x| x == b);
            match (fb.cmd, at) {
                (FlowbitCmd::Set | FlowbitCmd::SetOther | FlowbitCmd::Toggle, None) => st.bits.push(b),
                (FlowbitCmd::Unset | FlowbitCmd::Toggle, Some(i)) => {
                    st.bits.remove(i);
                }
                _ => {}
            }
        }
    }
}
