//! Numbers as Suricata's keywords read them: decimal, `strtoull` base 0, hex, and the integer
//! comparisons of `detect_parse_uint` (`dsize`, `ttl`, `bsize`, ...).

use crate::rule::ast::NumCmp;

pub(crate) fn parse_u16(s: &str) -> Option<u16> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn parse_i32(s: &str) -> Option<i32> {
    let s = s.trim();
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// strtoull with base 0: `0x` hex, leading `0` octal, else decimal.
pub(crate) fn parse_u64_base0(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if s.len() > 1 && s.starts_with('0') {
        return u64::from_str_radix(s.get(1..)?, 8).ok();
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn parse_i64_base0(s: &str) -> Option<i64> {
    let s = s.trim();
    match s.strip_prefix('-') {
        Some(r) => parse_u64_base0(r).and_then(|n| i64::try_from(n).ok()).map(|n| -n),
        None => parse_u64_base0(s).and_then(|n| i64::try_from(n).ok()),
    }
}

pub(crate) fn parse_hex_u32(s: &str) -> Option<u32> {
    let s = s.trim();
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    if h.is_empty() {
        return None;
    }
    u32::from_str_radix(h, 16).ok()
}

fn parse_cmp_num(s: &str, max: u64) -> Option<u64> {
    let s = s.trim_matches(' ');
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) if !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) => u64::from_str_radix(h, 16).ok()?,
        Some(_) => return None,
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok()?,
        None => return None,
    };
    (n <= max).then_some(n)
}

/// Suricata's integer comparison (`detect_parse_uint`): `N`, `=N`, `!N`, `!=N`, `<N`, `<=N`,
/// `>N`, `>=N`, `A-B` or `A<>B` (exclusive, B > A + 1), `!A-B`. Values up to `max`.
pub(crate) fn parse_uint_cmp(s: &str, max: u64) -> Option<NumCmp> {
    let s = s.trim_matches(' ');
    let range = |r: &str| -> Option<(u64, u64)> {
        let (a, b) = r.split_once("<>").or_else(|| r.split_once('-'))?;
        let (a, b) = (parse_cmp_num(a, max)?, parse_cmp_num(b, max)?);
        (b > a && b - a > 1).then_some((a, b))
    };
    if let Some((a, b)) = range(s) {
        return Some(NumCmp::Range(a, b));
    }
    type Make = fn(u64) -> NumCmp;
    let ops: [(&str, Make); 7] = [
        (">=", NumCmp::Ge),
        ("<=", NumCmp::Le),
        (">", NumCmp::Gt),
        ("<", NumCmp::Lt),
        ("!=", NumCmp::Ne),
        ("!", NumCmp::Ne),
        ("=", NumCmp::Eq),
    ];
    for (op, make) in ops {
        if let Some(r) = s.strip_prefix(op) {
            if op == "!" {
                if let Some((a, b)) = range(r.trim_matches(' ')) {
                    return Some(NumCmp::NotRange(a, b));
                }
            }
            let n = parse_cmp_num(r, max)?;
            let ok = match op {
                "<" | ">=" => n > 0,
                "<=" | ">" => n < max,
                _ => true,
            };
            return ok.then(|| make(n));
        }
    }
    parse_cmp_num(s, max).map(NumCmp::Eq)
}

/// One hex digit.
pub(crate) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `0d0ac8ff` -> bytes.
pub(crate) fn parse_hex_string(s: &str) -> Option<Vec<u8>> {
    let b = s.trim().as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks(2)
        .map(|p| match p {
            [h, l] => Some(hex_val(*h)? << 4 | hex_val(*l)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uint_comparisons() {
        let c = |s: &str| parse_uint_cmp(s, 255);
        assert_eq!(c("5"), Some(NumCmp::Eq(5)));
        assert_eq!(c("=5"), Some(NumCmp::Eq(5)));
        assert_eq!(c(" != 5 "), Some(NumCmp::Ne(5)));
        assert_eq!(c("!5"), Some(NumCmp::Ne(5)));
        assert_eq!(c("<5"), Some(NumCmp::Lt(5)));
        assert_eq!(c("<=5"), Some(NumCmp::Le(5)));
        assert_eq!(c(">5"), Some(NumCmp::Gt(5)));
        assert_eq!(c(">=5"), Some(NumCmp::Ge(5)));
        assert_eq!(c("1-5"), Some(NumCmp::Range(1, 5)));
        assert_eq!(c("1<>5"), Some(NumCmp::Range(1, 5)));
        assert_eq!(c("!1-5"), Some(NumCmp::NotRange(1, 5)));
        assert_eq!(c("0x10"), Some(NumCmp::Eq(16)));
        for bad in ["", "256", "<0", ">255", "5-6", "6-5", "a", "5x", "--1", "1-"] {
            assert_eq!(c(bad), None, "{bad}");
        }
    }
}
