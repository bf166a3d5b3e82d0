//! Fast-pattern choice: which content of a rule feeds the prefilter (Suricata's pattern
//! strength: distinct bytes weigh more than repeats, rarer classes more).

use crate::detect::matcher::PatternSpec;
use crate::rule::ast::{Content, FastPattern};

/// Suricata's pattern strength: distinct bytes weigh more than repeats, rarer classes more.
pub fn pattern_strength(p: &[u8]) -> u32 {
    let mut seen = [false; 256];
    let mut s = 0u32;
    for &b in p {
        // In bounds: seen is [bool; 256], indexed by a u8.
        if !seen[b as usize] {
            seen[b as usize] = true;
            s += if b.is_ascii_alphabetic() {
                3
            } else if b.is_ascii_graphic() || b == b' ' || b == 0 || b == 1 || b == 0xff {
                4
            } else {
                6
            };
        } else {
            s += 1;
        }
    }
    s
}

/// Chooses the rule's prefilter pattern from its payload list, as Suricata: an explicit
/// `fast_pattern`, else the strongest (then longest) non-negated content.
pub fn choose_fast_pattern(contents: &[&Content]) -> Option<PatternSpec> {
    let explicit = contents.iter().find(|c| c.fast_pattern != FastPattern::No);
    let c = match explicit {
        Some(c) => *c,
        None => contents
            .iter()
            .filter(|c| !c.negated && !c.pattern.is_empty())
            .max_by_key(|c| (pattern_strength(&c.pattern), c.pattern.len()))?,
    };
    if c.negated || c.pattern.is_empty() {
        return None;
    }
    let bytes = match c.fast_pattern {
        FastPattern::Chop(off, len) => {
            let (o, l) = (off as usize, len as usize);
            match c.pattern.get(o..o.saturating_add(l)) {
                Some(b) if !b.is_empty() => b.to_vec(),
                _ => c.pattern.clone(),
            }
        }
        _ => c.pattern.clone(),
    };
    Some(PatternSpec { bytes, nocase: c.nocase })
}
