//! Arguments of value keywords shared by protocols: Suricata's unsigned-integer comparisons
//! (`detect_parse_uint`: `N`, `!N`, `<N`, `>=N`, `A-B`, `A<>B`, ...) and their enumerated form
//! (`detect_parse_uint_enum`: a number, or a name from the keyword's table with an optional
//! `!`, case-insensitive), and bit flags by name (`detect_parse_uint_bitflags`), compiled once
//! at rule load.

use super::plugin::ValueArg;
use crate::rule::ast::NumCmp;

/// A compiled integer comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Uint(pub NumCmp);

impl Uint {
    /// Whether `v` satisfies it.
    pub(crate) fn matches(&self, v: u64) -> bool {
        self.0.matches(v)
    }
}

/// Parses a comparison on values up to `max`.
pub(crate) fn parse_uint(v: Option<&str>, max: u64) -> Result<Uint, String> {
    let s = v.unwrap_or("").trim();
    crate::rule::parse_uint_cmp(s, max).map(Uint).ok_or_else(|| format!("invalid number or comparison `{s}`"))
}

/// Parses a comparison, or a name of `table` (`name`, value) with an optional leading `!`.
pub(crate) fn parse_uint_enum(v: Option<&str>, max: u64, table: &[(&str, u64)]) -> Result<Uint, String> {
    if let Ok(u) = parse_uint(v, max) {
        return Ok(u);
    }
    let s = v.unwrap_or("").trim();
    let (neg, name) = match s.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, s),
    };
    let n = table
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|&(_, n)| n)
        .ok_or_else(|| format!("invalid value `{s}`: a number, a comparison or a name"))?;
    Ok(Uint(if neg { NumCmp::Ne(n) } else { NumCmp::Eq(n) }))
}

/// Boxed [`parse_uint`] for a `u8` keyword.
pub(crate) fn u8_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_uint(v, u64::from(u8::MAX)).map(|u| Box::new(u) as ValueArg)
}

/// Boxed [`parse_uint`] for a `u32` keyword.
pub(crate) fn u32_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_uint(v, u64::from(u32::MAX)).map(|u| Box::new(u) as ValueArg)
}

/// Boxed [`parse_uint`] for a `u64` keyword.
pub(crate) fn u64_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_uint(v, u64::MAX).map(|u| Box::new(u) as ValueArg)
}

/// Whether a compiled [`Uint`] argument holds for `v` (false when `v` is absent).
pub(crate) fn holds(arg: &ValueArg, v: Option<u64>) -> bool {
    match (arg.downcast_ref::<Uint>(), v) {
        (Some(u), Some(v)) => u.matches(v),
        _ => false,
    }
}

/// Whether a compiled [`MultiUint`] argument holds for the list `items` (each element's
/// value, `None` for one without); `complete`: the list is final.
pub(crate) fn holds_multi(arg: &ValueArg, items: &[Option<u64>], complete: bool) -> bool {
    arg.downcast_ref::<MultiUint>().is_some_and(|m| m.matches(items, complete))
}

/// Which elements of a list a multi-integer keyword (`http2.window:32768,all`) looks at, and
/// how (Suricata's `DetectUintIndex`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Index {
    /// Some element matches (the default).
    Any,
    /// Every element with a value matches, or none has one (needs the side complete).
    AllOrAbsent,
    /// Every element with a value matches, and one has (needs the side complete).
    All,
    /// Some element matches, or none has a value (the latter needs the side complete).
    OrAbsent,
    /// The element at this position (negative: from the end) matches; `oob_or`: or there is
    /// no such element (needs the side complete).
    At(bool, i64),
    /// The number of matching elements satisfies the comparison (`nb`).
    NumberMatches(Uint),
    /// The number of elements with a value satisfies the comparison (`count`).
    Count(Uint),
}

/// A compiled multi-integer argument: `VALUE[,INDEX[,START:END]]` or `count CMP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MultiUint {
    /// The comparison each element is tested with (unused for `count`).
    pub cmp: Uint,
    /// How elements combine.
    pub index: Index,
    /// Subslice start (negative: from the end).
    pub start: i64,
    /// Subslice end (0 or negative: from the end).
    pub end: i64,
}

/// Parses a multi-integer argument whose values are compared by `value` (a plain or an
/// enumerated comparison).
pub(crate) fn parse_multi(v: Option<&str>, value: impl Fn(&str) -> Result<Uint, String>) -> Result<MultiUint, String> {
    let s = v.unwrap_or("").trim();
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    if parts.len() > 3 {
        return Err(format!("too many parts in `{s}`"));
    }
    let first = parts.first().copied().unwrap_or("");
    let index = match parts.get(1).copied() {
        Some("all") => Index::All,
        Some("all_or_absent") => Index::AllOrAbsent,
        Some("any") => Index::Any,
        Some("or_absent") => Index::OrAbsent,
        Some(x) => {
            if let Some(r) = x.strip_prefix("nb") {
                Index::NumberMatches(parse_uint(Some(r), u64::from(u32::MAX))?)
            } else {
                let (oob, r) = match x.strip_prefix("oob_or") {
                    Some(r) => (true, r.trim()),
                    None => (false, x),
                };
                Index::At(oob, r.parse::<i32>().map_err(|_| format!("invalid index `{x}`"))?.into())
            }
        }
        None => match first.strip_prefix("count") {
            Some(r) => {
                let c = parse_uint(Some(r), u64::from(u32::MAX))?;
                return Ok(MultiUint { cmp: Uint(NumCmp::Eq(0)), index: Index::Count(c), start: 0, end: 0 });
            }
            None => Index::Any,
        },
    };
    let cmp = value(first)?;
    let (start, end) = match parts.get(2) {
        None => (0, 0),
        Some(x) => {
            let (a, b) = x.split_once(':').ok_or_else(|| format!("invalid subslice `{x}`"))?;
            let a: i64 = a.trim().parse::<i32>().map_err(|_| format!("invalid subslice `{x}`"))?.into();
            let b: i64 = b.trim().parse::<i32>().map_err(|_| format!("invalid subslice `{x}`"))?.into();
            if (a > 0 && b > 0 && b <= a) || (a < 0 && b < 0 && b <= a) {
                return Err(format!("subslice `{x}` must end after its start"));
            }
            (a, b)
        }
    };
    Ok(MultiUint { cmp, index, start, end })
}

impl MultiUint {
    /// Whether the list (each element's value, `None` for one without) matches; `eof`: the
    /// list is final (its side is complete).
    pub(crate) fn matches(&self, items: &[Option<u64>], eof: bool) -> bool {
        let n = items.len() as i64;
        let start = if self.start >= 0 { self.start } else { n + self.start };
        let end = if self.end > 0 { self.end } else { n + self.end };
        let sub = if end > n || start >= end || start < 0 {
            &[][..]
        } else {
            items.get(start as usize..end as usize).unwrap_or(&[])
        };
        let vals = || sub.iter().filter_map(|v| *v);
        match self.index {
            Index::Any => vals().any(|v| self.cmp.matches(v)),
            Index::OrAbsent => vals().any(|v| self.cmp.matches(v)) || (eof && vals().next().is_none()),
            Index::NumberMatches(c) => {
                (eof || matches!(c.0, NumCmp::Gt(_) | NumCmp::Ge(_)))
                    && c.matches(vals().filter(|&v| self.cmp.matches(v)).count() as u64)
            }
            Index::Count(c) => {
                (eof || matches!(c.0, NumCmp::Gt(_) | NumCmp::Ge(_))) && c.matches(vals().count() as u64)
            }
            Index::AllOrAbsent => eof && vals().all(|v| self.cmp.matches(v)),
            Index::All => eof && vals().next().is_some() && vals().all(|v| self.cmp.matches(v)),
            Index::At(oob, i) => {
                let len = sub.len() as i64;
                let at = if i < 0 { len + i } else { i };
                if at < 0 || at >= len {
                    return oob && eof;
                }
                match sub.get(at as usize) {
                    Some(Some(v)) => self.cmp.matches(*v),
                    _ => false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_comparisons_and_names() {
        let t = [("as_req", 10), ("ERROR", 30)];
        assert_eq!(parse_uint_enum(Some("10"), 255, &t), Ok(Uint(NumCmp::Eq(10))));
        assert_eq!(parse_uint_enum(Some(" AS_REQ "), 255, &t), Ok(Uint(NumCmp::Eq(10))));
        assert_eq!(parse_uint_enum(Some("!error"), 255, &t), Ok(Uint(NumCmp::Ne(30))));
        assert_eq!(parse_uint_enum(Some("!30"), 255, &t), Ok(Uint(NumCmp::Ne(30))));
        assert!(parse_uint_enum(Some("nope"), 255, &t).is_err());
        assert_eq!(parse_uint(Some("1000<>2000"), u64::from(u32::MAX)), Ok(Uint(NumCmp::Range(1000, 2000))));
        assert!(parse_uint(Some("256"), 255).is_err());
        let a = u8_arg(Some(">=3")).unwrap();
        assert!(holds(&a, Some(3)) && !holds(&a, Some(2)) && !holds(&a, None));
    }

    #[test]
    fn multi_integers_as_suricata() {
        let p = |s: &str| parse_multi(Some(s), |x| parse_uint(Some(x), u64::from(u32::MAX))).unwrap();
        let w = [None, Some(32768), Some(32767), None];
        assert!(p("32768").matches(&w, false));
        assert!(!p("32768,all").matches(&w, true));
        assert!(p("32766-32769,all").matches(&w, true));
        assert!(!p("32766-32769,all").matches(&w, false));
        assert!(p("32768,all_or_absent").matches(&[None], true));
        assert!(p("123,oob_or 2").matches(&w[..2], true));
        assert!(!p("123,oob_or 2").matches(&w, true));
        assert!(p(">30000,nb>1").matches(&w, false));
        assert!(!p(">30000,nb>1,1:-1").matches(&w[1..], false));
        assert!(p("count>1").matches(&w, false));
        assert!(!p("count 2").matches(&w, false) && p("count 2").matches(&w, true));
        assert!(p("32767,-2").matches(&w, false));
        assert!(parse_multi(Some("1,2,3,4"), |x| parse_uint(Some(x), 9)).is_err());
    }
}

/// A compiled bit-flags argument (Suricata's `detect_parse_uint_bitflags`: `mqtt.flags`,
/// `mqtt.connect.flags`, `websocket.flags`): a number comparison, or flag names, `+` by
/// default (the named flags set as named, `!name` unset); `-`: not so; `*`: any of them set;
/// `=`: exactly these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BitFlags {
    /// A comparison of the flag bits as a number.
    Num(Uint),
    /// `flags & mask == want` (or `!=` when `neg`).
    Mask {
        /// Bits looked at.
        mask: u8,
        /// Their wanted value.
        want: u8,
        /// The match is inverted.
        neg: bool,
    },
}

impl BitFlags {
    /// Whether flag bits `v` satisfy it.
    pub(crate) fn matches(&self, v: u8) -> bool {
        match *self {
            BitFlags::Num(u) => u.matches(u64::from(v)),
            BitFlags::Mask { mask, want, neg } => (v & mask == want) != neg,
        }
    }
}

/// Parses a bit-flags argument whose names are `table` (name, bit), case-insensitive, items
/// separated by commas or spaces.
pub(crate) fn parse_bitflags(v: Option<&str>, table: &[(&str, u8)]) -> Result<BitFlags, String> {
    if let Ok(u) = parse_uint(v, u64::from(u8::MAX)) {
        return Ok(BitFlags::Num(u));
    }
    let s = v.unwrap_or("").trim();
    let (modifier, list) = match s.chars().next() {
        Some(c @ ('-' | '+' | '*' | '=')) => (c, s.get(1..).unwrap_or("")),
        _ => ('+', s),
    };
    let (mut mask, mut want) = (0u8, 0u8);
    for item in list.split([',', ' ']).map(str::trim).filter(|x| !x.is_empty()) {
        let (neg, name) = match item.strip_prefix('!') {
            Some(n) => (true, n.trim()),
            None => (false, item),
        };
        let bit = table
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, b)| b)
            .ok_or_else(|| format!("unknown flag `{name}`"))?;
        if mask & bit != 0 {
            return Err(format!("flag `{name}` repeated"));
        }
        mask |= bit;
        if !neg {
            want |= bit;
        }
    }
    if mask == 0 {
        return Err(format!("no flag in `{s}`"));
    }
    Ok(match modifier {
        '=' => BitFlags::Num(Uint(NumCmp::Eq(u64::from(mask)))),
        '*' => BitFlags::Mask { mask, want: 0, neg: true },
        '-' => BitFlags::Mask { mask, want, neg: true },
        _ => BitFlags::Mask { mask, want, neg: false },
    })
}
