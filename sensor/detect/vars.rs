//! Variables of rules kept across packets beyond flowbits: `flowint` (integers in the flow's
//! detection state) and `hostbits` / `xbits` (bits on hosts and host pairs, one table shared
//! by the workers, as the threshold table is: it is touched only when a rule using them
//! matches, so there is no lock per packet).
//!
//! Semantics are Suricata's (`detect-flowint.c`, `host-bit.c`, `ippair-bit.c`): a condition
//! on an unset flowint is false (but `notset`); `+` on an unset flowint sets it; a set bit
//! lives until its expiry (packet time), setting it again does not extend it, and an expired
//! bit is removed when read. The bit table is bounded ([`MAX_XBITS`]): when full, expired bits
//! are dropped first, and a bit that still does not fit is not set and counted
//! (`detect.xbits_full`).

use std::collections::HashMap;

use super::engine::FlowDetect;
use super::run_rule::RunRule;
use crate::decode::Decoded;
use crate::metrics::{Counters, C};
use crate::rule::ast::{FlowbitCmd, FlowintOp, FlowintValue, Xbit, XbitTrack};

/// Bits held in the shared table at most.
pub(super) const MAX_XBITS: usize = 1 << 16;

/// The value of flowint `var` on the flow, if set.
fn flowint_get(st: &FlowDetect, var: u32) -> Option<u32> {
    st.ints.iter().find(|(v, _)| *v == var).map(|&(_, x)| x)
}

fn flowint_put(st: &mut FlowDetect, var: u32, value: u32) {
    match st.ints.iter_mut().find(|(v, _)| *v == var) {
        Some(slot) => slot.1 = value,
        None => st.ints.push((var, value)),
    }
}

/// Whether the rule's `flowint` conditions hold on the flow.
pub(super) fn flowints_ok(r: &RunRule, st: &FlowDetect) -> bool {
    r.flowints.iter().filter(|f| !f.op.is_change()).all(|f| {
        let cur = flowint_get(st, f.var);
        let target = match f.value {
            FlowintValue::Lit(n) => n,
            FlowintValue::Var(v) => flowint_get(st, v).unwrap_or(0),
            FlowintValue::None => 0,
        };
        match (f.op, cur) {
            (FlowintOp::IsSet, c) => c.is_some(),
            (FlowintOp::IsNotSet, c) => c.is_none(),
            (_, None) => false,
            (FlowintOp::Lt, Some(c)) => c < target,
            (FlowintOp::Le, Some(c)) => c <= target,
            (FlowintOp::Eq, Some(c)) => c == target,
            (FlowintOp::Ne, Some(c)) => c != target,
            (FlowintOp::Ge, Some(c)) => c >= target,
            (FlowintOp::Gt, Some(c)) => c > target,
            (_, Some(_)) => true,
        }
    })
}

/// The rule matched: its `flowint` changes, in rule order (wrapping as Suricata's u32).
pub(super) fn flowints_apply(r: &RunRule, st: &mut FlowDetect) {
    for f in r.flowints.iter().filter(|f| f.op.is_change()) {
        let target = match f.value {
            FlowintValue::Lit(n) => n,
            FlowintValue::Var(v) => flowint_get(st, v).unwrap_or(0),
            FlowintValue::None => 0,
        };
        let cur = flowint_get(st, f.var);
        let new = match (f.op, cur) {
            (FlowintOp::Add, Some(c)) => c.wrapping_add(target),
            (FlowintOp::Sub, Some(c)) => c.wrapping_sub(target),
            // subtracting from an unset variable does nothing (Suricata)
            (FlowintOp::Sub, None) => continue,
            _ => target,
        };
        flowint_put(st, f.var, new);
    }
}

/// What a bit is kept on: a host, or an (unordered) pair of hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum On {
    Host([u8; 16]),
    Pair([u8; 16], [u8; 16]),
}

/// The shared table of host and host-pair bits: (where, bit) -> expiry (packet seconds).
#[derive(Debug, Default)]
pub(super) struct XbitTable {
    bits: HashMap<(On, u32), u64>,
}

impl XbitTable {
    fn on(x: &Xbit, d: &Decoded) -> On {
        match x.track {
            XbitTrack::Src => On::Host(d.src),
            XbitTrack::Dst => On::Host(d.dst),
            XbitTrack::Pair => {
                let (a, b) = if d.src <= d.dst { (d.src, d.dst) } else { (d.dst, d.src) };
                On::Pair(a, b)
            }
        }
    }

    /// Whether the bit is set at `now`; an expired bit is removed.
    fn is_set(&mut self, key: (On, u32), now: u64) -> bool {
        match self.bits.get(&key) {
            Some(&exp) if exp < now => {
                self.bits.remove(&key);
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    /// Whether the rule's bit conditions hold for the packet.
    pub(super) fn check(&mut self, r: &RunRule, d: &Decoded, now: u64) -> bool {
        r.xbits.iter().all(|x| {
            let key = (Self::on(x, d), x.var);
            match x.cmd {
                FlowbitCmd::IsSet => self.is_set(key, now),
                FlowbitCmd::IsNotSet => !self.is_set(key, now),
                _ => true,
            }
        })
    }

    /// The rule matched: its bit changes for the packet.
    pub(super) fn apply(&mut self, r: &RunRule, d: &Decoded, now: u64, c: &mut Counters) {
        for x in &r.xbits {
            let key = (Self::on(x, d), x.var);
            let expire = now.saturating_add(u64::from(x.expire));
            match x.cmd {
                FlowbitCmd::Set | FlowbitCmd::SetOther => {
                    if !self.is_set(key, now) {
                        self.insert(key, expire, now, c);
                    }
                }
                FlowbitCmd::Unset => {
                    self.bits.remove(&key);
                }
                FlowbitCmd::Toggle => {
                    if self.is_set(key, now) {
                        self.bits.remove(&key);
                    } else {
                        self.insert(key, expire, now, c);
                    }
                }
                FlowbitCmd::IsSet | FlowbitCmd::IsNotSet => {}
            }
        }
    }

    fn insert(&mut self, key: (On, u32), expire: u64, now: u64, c: &mut Counters) {
        if self.bits.len() >= MAX_XBITS {
            self.bits.retain(|_, &mut e| e >= now);
        }
        if self.bits.len() >= MAX_XBITS {
            c.inc(C::DetectXbitsFull);
            return;
        }
        self.bits.insert(key, expire);
    }

    /// Forgets every bit (`picket bench` replays a capture again).
    pub(super) fn clear(&mut self) {
        self.bits.clear();
    }
}

/// Suricata's rule-order classes of a rule's `flowint` use, host bits and pair bits:
/// rules that only change come first, then those that change and test, then those that
/// only test, then the rest (with Suricata's quirk: a host bit counts as changed only when
/// `hostbits` changes it, and as tested only when `xbits` tests it).
pub(super) fn order_classes(r: &RunRule) -> (u8, u8, u8) {
    let class = |sets: bool, reads: bool| match (sets, reads) {
        (true, false) => 0,
        (true, true) => 1,
        (false, true) => 2,
        (false, false) => 3,
    };
    let fi = class(r.flowints.iter().any(|f| f.op.is_change()), r.flowints.iter().any(|f| !f.op.is_change()));
    let reads = |x: &&Xbit| !x.hostbits && matches!(x.cmd, FlowbitCmd::IsSet | FlowbitCmd::IsNotSet);
    let sets = |x: &&Xbit| x.hostbits && !matches!(x.cmd, FlowbitCmd::IsSet | FlowbitCmd::IsNotSet);
    let host = r.xbits.iter().filter(|x| x.track != XbitTrack::Pair);
    let pair = r.xbits.iter().filter(|x| x.track == XbitTrack::Pair);
    let hb = class(host.clone().any(|x| sets(&x)), host.clone().any(|x| reads(&x)));
    let pb = class(pair.clone().any(|x| sets(&x)), pair.clone().any(|x| reads(&x)));
    (fi, hb, pb)
}
