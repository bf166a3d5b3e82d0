//! Fast-pattern choice: which content of a rule feeds the prefilter (Suricata's pattern
//! strength: distinct bytes weigh more than repeats, rarer classes more).

use crate::detect::matcher::PatternSpec;
use crate::rule::ast::{Content, FastPattern, Num};

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
    let c = fast_content(contents)?;
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

/// The content [`choose_fast_pattern`] takes its pattern from.
fn fast_content<'a>(contents: &[&'a Content]) -> Option<&'a Content> {
    let explicit = contents.iter().find(|c| c.fast_pattern != FastPattern::No);
    let c = match explicit {
        Some(c) => *c,
        None => contents
            .iter()
            .filter(|c| !c.negated && !c.pattern.is_empty())
            .max_by_key(|c| (pattern_strength(&c.pattern), c.pattern.len()))?,
    };
    (!c.negated && !c.pattern.is_empty()).then_some(c)
}

/// How far into the buffer the fast pattern of a rule that matches must lie, when its
/// content is anchored there: the end of its `offset` + `depth` window (`startswith`: its
/// length), literals only, not relative to another match. `None`: anywhere. The pattern
/// (the content or a chop of it) then occurs within the first that many bytes, so a
/// prefilter of such patterns needs to scan no further.
pub fn fast_pattern_reach(contents: &[&Content]) -> Option<u32> {
    let c = fast_content(contents)?;
    if c.is_relative() {
        return None;
    }
    let offset = match c.offset {
        None => 0,
        Some(Num::Lit(o)) => u32::try_from(o).ok()?,
        Some(Num::Var(_)) => return None,
    };
    let depth = match (c.depth, c.startswith) {
        (_, true) => u32::try_from(c.pattern.len()).ok()?,
        (Some(Num::Lit(d)), false) => u32::try_from(d).ok()?,
        _ => return None,
    };
    offset.checked_add(depth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(pattern: &str, f: impl FnOnce(&mut Content)) -> Content {
        let mut c = Content::new(pattern.as_bytes().to_vec());
        f(&mut c);
        c
    }

    /// The reach is the fast pattern's own window: offset + depth, or the length with
    /// `startswith`; none for a relative or variable window, or when another content is the
    /// fast pattern.
    #[test]
    fn the_reach_is_the_window_of_the_content_the_pattern_comes_from() {
        let reach = |cs: &[Content]| fast_pattern_reach(&cs.iter().collect::<Vec<_>>());
        assert_eq!(reach(&[content("abcd", |c| c.depth = Some(Num::Lit(8)))]), Some(8));
        assert_eq!(
            reach(&[content("abcd", |c| (c.offset, c.depth) = (Some(Num::Lit(3)), Some(Num::Lit(8))))]),
            Some(11)
        );
        assert_eq!(reach(&[content("abcd", |c| c.startswith = true)]), Some(4));
        assert_eq!(reach(&[content("abcd", |c| c.offset = Some(Num::Lit(3)))]), None);
        assert_eq!(reach(&[content("abcd", |c| c.depth = Some(Num::Var(0)))]), None);
        assert_eq!(reach(&[content("abcd", |c| (c.offset, c.depth) = (Some(Num::Var(0)), Some(Num::Lit(8))))]), None);
        assert_eq!(reach(&[content("abcd", |c| c.within = Some(Num::Lit(8)))]), None);
        // the strongest content is the pattern: its window, not the other's
        let anchored = content("ab", |c| c.depth = Some(Num::Lit(2)));
        assert_eq!(reach(&[anchored.clone(), content("longer-pattern", |_| {})]), None);
        let fp = content("ab", |c| (c.depth, c.fast_pattern) = (Some(Num::Lit(2)), FastPattern::Yes));
        assert_eq!(reach(&[fp, content("longer-pattern", |_| {})]), Some(2));
    }
}
