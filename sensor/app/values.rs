//! Arguments of value keywords shared by protocols: Suricata's unsigned-integer comparisons
//! (`detect_parse_uint`: `N`, `!N`, `<N`, `>=N`, `A-B`, `A<>B`, ...) and their enumerated form
//! (`detect_parse_uint_enum`: a number, or a name from the keyword's table with an optional
//! `!`, case-insensitive), compiled once at rule load.

use super::plugin::ValueArg;
use crate::rule::ast::NumCmp;

/// A compiled integer comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uint(pub NumCmp);

impl Uint {
    /// Whether `v` satisfies it.
    pub fn matches(&self, v: u64) -> bool {
        self.0.matches(v)
    }
}

/// Parses a comparison on values up to `max`.
pub fn parse_uint(v: Option<&str>, max: u64) -> Result<Uint, String> {
    let s = v.unwrap_or("").trim();
    crate::rule::parse_uint_cmp(s, max).map(Uint).ok_or_else(|| format!("invalid number or comparison `{s}`"))
}

/// Parses a comparison, or a name of `table` (`name`, value) with an optional leading `!`.
pub fn parse_uint_enum(v: Option<&str>, max: u64, table: &[(&str, u64)]) -> Result<Uint, String> {
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
pub fn u8_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_uint(v, u64::from(u8::MAX)).map(|u| Box::new(u) as ValueArg)
}

/// Boxed [`parse_uint`] for a `u16` keyword.
pub fn u16_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_uint(v, u64::from(u16::MAX)).map(|u| Box::new(u) as ValueArg)
}

/// Boxed [`parse_uint`] for a `u32` keyword.
pub fn u32_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_uint(v, u64::from(u32::MAX)).map(|u| Box::new(u) as ValueArg)
}

/// Boxed [`parse_uint`] for a `u64` keyword.
pub fn u64_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_uint(v, u64::MAX).map(|u| Box::new(u) as ValueArg)
}

/// Whether a compiled [`Uint`] argument holds for `v` (false when `v` is absent).
pub fn holds(arg: &ValueArg, v: Option<u64>) -> bool {
    match (arg.downcast_ref::<Uint>(), v) {
        (Some(u), Some(v)) => u.matches(v),
        _ => false,
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
}
