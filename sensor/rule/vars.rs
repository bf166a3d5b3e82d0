//! Address and port expressions of the rule header, with `$VARS` from the config.
//!
//! Semantics follow Suricata (`detect-engine-address.c`, `detect-engine-port.c`):
//!
//! - Addresses: items are `any`, an IPv4/IPv6 address, a CIDR (`/24`, or a dotted netmask for
//!   IPv4), or a range `a-b`; lists are `[..]`, nested; `!` negates an item, a list or a
//!   variable. Positive items of a list (and of a non-negated nested list or variable) are
//!   pooled, negated ones are pooled apart; a negated list or variable is first resolved on
//!   its own (its own positives minus its own negatives) and the result is negated as a
//!   whole, so `![1.0.0.0/8,!1.1.1.1]` is "not 1/8, except 1.1.1.1 is fine". Then, per
//!   address family, a family with negations but no positives starts from the whole space;
//!   the set is the positives minus the negations. So `!$HOME_NET` with an IPv4-only
//!   HOME_NET matches every IPv4 address outside it and no IPv6 address, as in Suricata.
//!   Negating the whole IPv4 space (`!any`, `![any]`) or ending with no address at all is an
//!   error.
//! - Ports: items are `any`, `N`, `N:M`, `N:`, `:M`; lists, `!` and variables as above, but
//!   as in Suricata a negation inside a negated list stays a negation (negations do not
//!   cancel), and a negated list is not resolved on its own first. No ports left, or the
//!   whole port space negated, is an error.
//!
//! Results are cached per expression string: a rule set uses few distinct expressions.

use crate::fast_hash::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ast::{AddrSet, IpRange, PortRange, PortSet};
use super::VarsConfig;

/// Nesting limit for lists and variables (Suricata stops at 64 as well).
const MAX_DEPTH: usize = 64;

/// Why an address or port expression could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum VarError {
    /// `$NAME` is not defined.
    Undefined(String),
    /// `$NAME` refers back to itself through other variables.
    Circular(String),
    /// The expression is malformed or can never match; the reason is given.
    Bad(String),
}

impl std::fmt::Display for VarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VarError::Undefined(v) => write!(f, "variable ${v} is not defined"),
            VarError::Circular(v) => write!(f, "variable ${v} refers to itself"),
            VarError::Bad(why) => f.write_str(why),
        }
    }
}

/// Inclusive ranges of one address family, as integers.
type Spans = Vec<(u128, u128)>;

const V4_MAX: u128 = u32::MAX as u128;
const V6_MAX: u128 = u128::MAX;
const PORT_MAX: u128 = u16::MAX as u128;

/// Positive or negative pool of an address expression, per family.
#[derive(Clone, Debug, Default)]
struct Pool {
    v4: Spans,
    v6: Spans,
}

impl Pool {
    fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
    fn extend(&mut self, other: &Pool) {
        self.v4.extend_from_slice(&other.v4);
        self.v6.extend_from_slice(&other.v6);
    }
    fn normalize(&mut self) {
        normalize(&mut self.v4);
        normalize(&mut self.v6);
    }
}

/// Sorts and merges overlapping or adjacent spans.
fn normalize(v: &mut Spans) {
    if v.len() < 2 {
        return;
    }
    v.sort_unstable();
    let mut out: Spans = Vec::with_capacity(v.len());
    for &(lo, hi) in v.iter() {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) || last.1 == u128::MAX => {
                if hi > last.1 {
                    last.1 = hi;
                }
            }
            _ => out.push((lo, hi)),
        }
    }
    *v = out;
}

/// `a` minus `b`; both normalized.
fn subtract(a: &Spans, b: &Spans) -> Spans {
    let mut out = Vec::with_capacity(a.len());
    for &(lo, hi) in a {
        let mut cur = Some((lo, hi));
        for &(blo, bhi) in b {
            let Some((clo, chi)) = cur else { break };
            if bhi < clo || blo > chi {
                continue;
            }
            if blo > clo {
                out.push((clo, blo - 1));
            }
            cur = if bhi < chi { Some((bhi + 1, chi)) } else { None };
        }
        if let Some(c) = cur {
            out.push(c);
        }
    }
    out
}

fn covers(v: &Spans, max: u128) -> bool {
    matches!(v.as_slice(), [(0, hi)] if *hi == max)
}

/// Resolves address and port expressions against the configured variables.
#[derive(Debug, Clone)]
pub(crate) struct Vars {
    address: HashMap<String, String>,
    port: HashMap<String, String>,
    addr_cache: HashMap<String, Result<AddrSet, VarError>>,
    port_cache: HashMap<String, Result<PortSet, VarError>>,
}

impl Default for Vars {
    fn default() -> Self {
        Vars::new(&VarsConfig::default())
    }
}

impl Vars {
    /// Variables from the config's `[vars]` (names without `$`).
    pub(crate) fn new(cfg: &VarsConfig) -> Vars {
        Vars {
            address: cfg.address.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            port: cfg.port.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            addr_cache: HashMap::default(),
            port_cache: HashMap::default(),
        }
    }

    /// Resolves an address expression (`any`, `$HOME_NET`, `[10.0.0.0/8,!10.1.1.1]`, ...).
    pub(crate) fn addresses(&mut self, expr: &str) -> Result<AddrSet, VarError> {
        if let Some(r) = self.addr_cache.get(expr) {
            return r.clone();
        }
        let r = self.resolve_addresses(expr);
        self.addr_cache.insert(expr.to_string(), r.clone());
        r
    }

    /// Resolves a port expression (`any`, `80`, `[1024:,!8080]`, `$HTTP_PORTS`, ...).
    pub(crate) fn ports(&mut self, expr: &str) -> Result<PortSet, VarError> {
        if let Some(r) = self.port_cache.get(expr) {
            return r.clone();
        }
        let r = self.resolve_ports(expr);
        self.port_cache.insert(expr.to_string(), r.clone());
        r
    }

    fn resolve_addresses(&self, expr: &str) -> Result<AddrSet, VarError> {
        let mut pos = Pool::default();
        let mut neg = Pool::default();
        let mut stack = Vec::new();
        self.addr_expr(expr, false, &mut pos, &mut neg, &mut stack, 0)?;
        let (pos, neg) = merge_prepare(pos, neg)?;
        let any = covers(&pos.v4, V4_MAX) && covers(&pos.v6, V6_MAX);
        let include = if any { Vec::new() } else { to_ranges(&pos) };
        Ok(AddrSet { any, include, exclude: to_ranges(&neg) })
    }

    /// One address expression into the pools. `negate`: the expression is under a negation
    /// that has not been applied yet (only for a negated variable's value).
    fn addr_expr(
        &self,
        expr: &str,
        negate: bool,
        pos: &mut Pool,
        neg: &mut Pool,
        stack: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), VarError> {
        if depth > MAX_DEPTH {
            return Err(VarError::Bad("address lists nested too deeply".into()));
        }
        let s = expr.trim();
        if s.is_empty() {
            return Err(VarError::Bad("empty address".into()));
        }
        let (bang, rest) = match s.strip_prefix('!') {
            Some(r) => (true, r.trim_start()),
            None => (false, s),
        };
        let negated = negate ^ bang;
        if let Some(inner) = rest.strip_prefix('[') {
            let inner = list_body(inner, "address")?;
            if negated {
                let (mut p, mut n) = (Pool::default(), Pool::default());
                for item in split_list(inner, "address")? {
                    self.addr_expr(item, false, &mut p, &mut n, stack, depth + 1)?;
                }
                neg.extend(&merge_result(p, n)?);
            } else {
                for item in split_list(inner, "address")? {
                    self.addr_expr(item, false, pos, neg, stack, depth + 1)?;
                }
            }
            return Ok(());
        }
        if let Some(name) = rest.strip_prefix('$') {
            let value = self.lookup(&self.address, name, stack)?;
            stack.push(name.to_string());
            let r = if negated {
                let (mut p, mut n) = (Pool::default(), Pool::default());
                self.addr_expr(&value, false, &mut p, &mut n, stack, depth + 1)
                    .and_then(|_| merge_result(p, n))
                    .map(|m| neg.extend(&m))
            } else {
                self.addr_expr(&value, false, pos, neg, stack, depth + 1)
            };
            stack.pop();
            return r;
        }
        if rest.contains(['[', ']', ',']) {
            return Err(VarError::Bad(format!("malformed address '{rest}'")));
        }
        let target = if negated { neg } else { pos };
        if rest.eq_ignore_ascii_case("any") {
            target.v4.push((0, V4_MAX));
            target.v6.push((0, V6_MAX));
            return Ok(());
        }
        let (v6, lo, hi) = parse_addr_item(rest).map_err(VarError::Bad)?;
        if v6 {
            target.v6.push((lo, hi));
        } else {
            target.v4.push((lo, hi));
        }
        Ok(())
    }

    fn lookup(&self, table: &HashMap<String, String>, name: &str, stack: &[String]) -> Result<String, VarError> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(VarError::Bad(format!("bad variable name '${name}'")));
        }
        if stack.iter().any(|s| s == name) {
            return Err(VarError::Circular(name.to_string()));
        }
        match table.get(name) {
            None => Err(VarError::Undefined(name.to_string())),
            Some(v) if v.trim().is_empty() => Err(VarError::Bad(format!("variable ${name} is empty"))),
            Some(v) => Ok(v.clone()),
        }
    }

    fn resolve_ports(&self, expr: &str) -> Result<PortSet, VarError> {
        let mut pos = Vec::new();
        let mut neg = Vec::new();
        let mut stack = Vec::new();
        self.port_expr(expr, false, &mut pos, &mut neg, &mut stack, 0)?;
        normalize(&mut pos);
        normalize(&mut neg);
        if covers(&neg, PORT_MAX) {
            return Err(VarError::Bad("the whole port space is negated".into()));
        }
        if pos.is_empty() && !neg.is_empty() {
            pos.push((0, PORT_MAX));
        }
        if subtract(&pos, &neg).is_empty() {
            return Err(VarError::Bad("no ports left after applying negations".into()));
        }
        let any = covers(&pos, PORT_MAX);
        let conv = |v: &Spans| v.iter().map(|&(lo, hi)| PortRange { lo: lo as u16, hi: hi as u16 }).collect();
        Ok(PortSet { any, include: if any { Vec::new() } else { conv(&pos) }, exclude: conv(&neg) })
    }

    /// One port expression into the pools (Suricata's `DetectPortParseDo`).
    fn port_expr(
        &self,
        expr: &str,
        negate: bool,
        pos: &mut Spans,
        neg: &mut Spans,
        stack: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), VarError> {
        if depth > MAX_DEPTH {
            return Err(VarError::Bad("port lists nested too deeply".into()));
        }
        let s = expr.trim();
        if s.is_empty() {
            return Err(VarError::Bad("empty port".into()));
        }
        let (bang, rest) = match s.strip_prefix('!') {
            Some(r) => (true, r.trim_start()),
            None => (false, s),
        };
        if let Some(inner) = rest.strip_prefix('[') {
            let inner = list_body(inner, "port")?;
            // A negation inside a negated list stays a negation.
            let n = negate || bang;
            for item in split_list(inner, "port")? {
                self.port_expr(item, n, pos, neg, stack, depth + 1)?;
            }
            return Ok(());
        }
        if let Some(name) = rest.strip_prefix('$') {
            let value = self.lookup(&self.port, name, stack)?;
            stack.push(name.to_string());
            // Suricata wraps a negated variable's value in a list and negates that.
            let r = if negate ^ bang {
                self.port_expr(&format!("[{value}]"), true, pos, neg, stack, depth + 1)
            } else {
                self.port_expr(&value, false, pos, neg, stack, depth + 1)
            };
            stack.pop();
            return r;
        }
        if rest.contains(['[', ']', ',', '!']) {
            return Err(VarError::Bad(format!("malformed port '{rest}'")));
        }
        let (lo, hi) = parse_port_item(rest).map_err(VarError::Bad)?;
        if negate || bang {
            neg.push((lo as u128, hi as u128));
        } else {
            pos.push((lo as u128, hi as u128));
        }
        Ok(())
    }
}

/// Suricata's merge of positives and negatives, returning both (for the rule's set).
fn merge_prepare(mut pos: Pool, mut neg: Pool) -> Result<(Pool, Pool), VarError> {
    pos.normalize();
    neg.normalize();
    if covers(&neg.v4, V4_MAX) {
        return Err(VarError::Bad("the whole IPv4 space is negated (e.g. !any)".into()));
    }
    if pos.v4.is_empty() && !neg.v4.is_empty() {
        pos.v4.push((0, V4_MAX));
    }
    if pos.v6.is_empty() && !neg.v6.is_empty() {
        pos.v6.push((0, V6_MAX));
    }
    let left = Pool { v4: subtract(&pos.v4, &neg.v4), v6: subtract(&pos.v6, &neg.v6) };
    if left.is_empty() {
        return Err(VarError::Bad("no addresses left after applying negations".into()));
    }
    Ok((pos, neg))
}

/// Suricata's merge, returning the resulting set (positives minus negatives).
fn merge_result(pos: Pool, neg: Pool) -> Result<Pool, VarError> {
    let (pos, neg) = merge_prepare(pos, neg)?;
    Ok(Pool { v4: subtract(&pos.v4, &neg.v4), v6: subtract(&pos.v6, &neg.v6) })
}

fn to_ranges(p: &Pool) -> Vec<IpRange> {
    let v4 = p.v4.iter().map(|&(lo, hi)| IpRange {
        lo: IpAddr::V4(Ipv4Addr::from(lo as u32)),
        hi: IpAddr::V4(Ipv4Addr::from(hi as u32)),
    });
    let v6 =
        p.v6.iter().map(|&(lo, hi)| IpRange { lo: IpAddr::V6(Ipv6Addr::from(lo)), hi: IpAddr::V6(Ipv6Addr::from(hi)) });
    v4.chain(v6).collect()
}

/// The text after `[` up to its matching `]`, which must end the expression.
fn list_body<'a>(after_open: &'a str, what: &str) -> Result<&'a str, VarError> {
    let mut depth = 1usize;
    for (i, c) in after_open.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    let tail = after_open.get(i + 1..).unwrap_or("").trim();
                    if !tail.is_empty() {
                        return Err(VarError::Bad(format!("unexpected '{tail}' after {what} list")));
                    }
                    return Ok(after_open.get(..i).unwrap_or(""));
                }
            }
            _ => {}
        }
    }
    Err(VarError::Bad(format!("unbalanced brackets in {what} list: missing ']'")))
}

/// Splits a list body at top-level commas.
fn split_list<'a>(body: &'a str, what: &str) -> Result<Vec<&'a str>, VarError> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| VarError::Bad(format!("unbalanced brackets in {what} list: extra ']'")))?
            }
            ',' if depth == 0 => {
                out.push(body.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(VarError::Bad(format!("unbalanced brackets in {what} list: missing ']'")));
    }
    out.push(body.get(start..).unwrap_or(""));
    if out.iter().any(|s| s.trim().is_empty()) {
        return Err(VarError::Bad(format!("empty item in {what} list")));
    }
    Ok(out)
}

/// One address item: address, CIDR, netmask or range. Returns (is_v6, lo, hi).
fn parse_addr_item(s: &str) -> Result<(bool, u128, u128), String> {
    let bad = || format!("bad address '{s}'");
    if let Some((ip, mask)) = s.split_once('/') {
        let ip: IpAddr = ip.trim().parse().map_err(|_| bad())?;
        let mask = mask.trim();
        let (v6, bits, width) = match ip {
            IpAddr::V4(a) => {
                let bits = if mask.contains('.') {
                    let m: Ipv4Addr = mask.parse().map_err(|_| bad())?;
                    let m = u32::from(m);
                    let ones = m.leading_ones();
                    if m.checked_shl(ones).unwrap_or(0) != 0 {
                        return Err(format!("bad netmask in '{s}'"));
                    }
                    ones
                } else {
                    parse_prefix(mask, 32).ok_or_else(bad)?
                };
                (false, u32::from(a) as u128, (bits, 32u32))
            }
            IpAddr::V6(a) => (true, u128::from(a), (parse_prefix(mask, 128).ok_or_else(bad)?, 128u32)),
        };
        let (prefix, total) = width;
        let host_bits = total - prefix;
        let host_mask: u128 = if host_bits == 0 {
            0
        } else if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let lo = bits & !host_mask;
        return Ok((v6, lo, lo | host_mask));
    }
    if let Some((a, b)) = s.split_once('-') {
        let a: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let b: IpAddr = b.trim().parse().map_err(|_| bad())?;
        let (v6, lo, hi) = match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (false, u32::from(a) as u128, u32::from(b) as u128),
            (IpAddr::V6(a), IpAddr::V6(b)) => (true, u128::from(a), u128::from(b)),
            _ => return Err(format!("address range '{s}' mixes IPv4 and IPv6")),
        };
        if lo > hi {
            return Err(format!("address range '{s}' ends before it starts"));
        }
        return Ok((v6, lo, hi));
    }
    match s.parse::<IpAddr>().map_err(|_| bad())? {
        IpAddr::V4(a) => Ok((false, u32::from(a) as u128, u32::from(a) as u128)),
        IpAddr::V6(a) => Ok((true, u128::from(a), u128::from(a))),
    }
}

fn parse_prefix(s: &str, max: u32) -> Option<u32> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|&n| n <= max)
}

/// One port item: `any`, `N`, `N:M`, `N:`, `:M`.
fn parse_port_item(s: &str) -> Result<(u16, u16), String> {
    if s.eq_ignore_ascii_case("any") {
        return Ok((0, u16::MAX));
    }
    let num = |t: &str| -> Result<u16, String> {
        let t = t.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("bad port '{s}'"));
        }
        t.parse::<u16>().map_err(|_| format!("port out of range in '{s}'"))
    };
    match s.split_once(':') {
        Some((a, b)) => {
            let lo = if a.trim().is_empty() { 0 } else { num(a)? };
            let hi = if b.trim().is_empty() { u16::MAX } else { num(b)? };
            if lo > hi {
                return Err(format!("port range '{s}' ends before it starts"));
            }
            Ok((lo, hi))
        }
        None => {
            let p = num(s)?;
            Ok((p, p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn r4(lo: &str, hi: &str) -> IpRange {
        IpRange { lo: lo.parse().unwrap(), hi: hi.parse().unwrap() }
    }

    fn vars(addr: &[(&str, &str)], port: &[(&str, &str)]) -> Vars {
        let mut cfg = VarsConfig::default();
        for (k, v) in addr {
            cfg.address.insert(k.to_string(), v.to_string());
        }
        for (k, v) in port {
            cfg.port.insert(k.to_string(), v.to_string());
        }
        Vars::new(&cfg)
    }

    #[test]
    fn any_and_single_addresses() {
        let mut v = Vars::default();
        let a = v.addresses("any").unwrap();
        assert!(a.any && a.include.is_empty() && a.exclude.is_empty());
        let a = v.addresses("1.2.3.4").unwrap();
        assert_eq!(a.include, vec![r4("1.2.3.4", "1.2.3.4")]);
        assert!(!a.any);
        let a = v.addresses("10.1.2.3/8").unwrap();
        assert_eq!(a.include, vec![r4("10.0.0.0", "10.255.255.255")]);
        let a = v.addresses("192.168.1.0/255.255.255.0").unwrap();
        assert_eq!(a.include, vec![r4("192.168.1.0", "192.168.1.255")]);
        let a = v.addresses("1.1.1.1-1.1.1.5").unwrap();
        assert_eq!(a.include, vec![r4("1.1.1.1", "1.1.1.5")]);
        let a = v.addresses("2001:db8::/32").unwrap();
        assert_eq!(a.include, vec![r4("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")]);
        assert!(v.addresses("1.1.1.5-1.1.1.1").is_err());
        assert!(v.addresses("1.2.3.4/33").is_err());
        assert!(v.addresses("300.1.1.1").is_err());
        assert!(v.addresses("1.2.3.4/255.0.255.0").is_err());
    }

    #[test]
    fn lists_and_negation() {
        let mut v = Vars::default();
        let a = v.addresses("[1.0.0.0/8,!1.1.1.1]").unwrap();
        assert_eq!(a.include, vec![r4("1.0.0.0", "1.255.255.255")]);
        assert_eq!(a.exclude, vec![r4("1.1.1.1", "1.1.1.1")]);
        // A pure negation starts from the whole space of its family only.
        let a = v.addresses("!1.1.1.1").unwrap();
        assert!(!a.any);
        assert_eq!(a.include, vec![r4("0.0.0.0", "255.255.255.255")]);
        assert_eq!(a.exclude, vec![r4("1.1.1.1", "1.1.1.1")]);
        // A negated list is resolved on its own first.
        let a = v.addresses("![1.0.0.0/8,!1.1.1.1]").unwrap();
        assert_eq!(a.exclude, vec![r4("1.0.0.0", "1.1.1.0"), r4("1.1.1.2", "1.255.255.255")]);
        let a = v.addresses("[any,!10.0.0.0/8]").unwrap();
        assert!(a.any);
        assert_eq!(a.exclude, vec![r4("10.0.0.0", "10.255.255.255")]);
        // Spaces inside lists are allowed.
        let a = v.addresses("[1.1.1.1, 2.2.2.2]").unwrap();
        assert_eq!(a.include.len(), 2);
    }

    #[test]
    fn never_matching_sets_are_errors() {
        let mut v = Vars::default();
        assert!(matches!(v.addresses("!any"), Err(VarError::Bad(_))));
        assert!(matches!(v.addresses("![any]"), Err(VarError::Bad(_))));
        assert!(matches!(v.addresses("[1.1.1.1,!1.1.1.1]"), Err(VarError::Bad(_))));
        assert!(matches!(v.addresses("[10.0.0.0/8,!10.0.0.0/7]"), Err(VarError::Bad(_))));
        assert!(matches!(v.addresses("[1.1.1.1"), Err(VarError::Bad(_))));
        assert!(matches!(v.addresses("[1.1.1.1]]"), Err(VarError::Bad(_))));
        assert!(matches!(v.addresses("[1.1.1.1,,2.2.2.2]"), Err(VarError::Bad(_))));
        assert!(matches!(v.addresses(""), Err(VarError::Bad(_))));
    }

    #[test]
    fn variables_resolve_nested_and_negated() {
        let mut v = Vars::default();
        let home = v.addresses("$HOME_NET").unwrap();
        assert_eq!(home.include.len(), 3);
        let ext = v.addresses("$EXTERNAL_NET").unwrap();
        assert_eq!(ext.include, vec![r4("0.0.0.0", "255.255.255.255")]);
        assert_eq!(ext.exclude.len(), 3);
        assert_eq!(v.addresses("!$HOME_NET").unwrap(), ext);
        // AIM_SERVERS -> $EXTERNAL_NET -> !$HOME_NET
        assert_eq!(v.addresses("$AIM_SERVERS").unwrap(), ext);
        let a = v.addresses("[$HOME_NET,!192.168.1.1]").unwrap();
        assert_eq!(a.exclude, vec![r4("192.168.1.1", "192.168.1.1")]);
    }

    #[test]
    fn undefined_and_circular_variables() {
        let mut v =
            vars(&[("A", "$B"), ("B", "[1.1.1.1,$A]"), ("C", "$C"), ("E", "")], &[("P", "[80,$Q]"), ("Q", "$P")]);
        assert_eq!(v.addresses("$NOPE"), Err(VarError::Undefined("NOPE".into())));
        assert!(matches!(v.addresses("$A"), Err(VarError::Circular(_))));
        assert_eq!(v.addresses("$C"), Err(VarError::Circular("C".into())));
        assert!(matches!(v.addresses("$E"), Err(VarError::Bad(_))));
        assert!(matches!(v.ports("$P"), Err(VarError::Circular(_))));
        assert_eq!(v.ports("$NOPE"), Err(VarError::Undefined("NOPE".into())));
    }

    #[test]
    fn ports() {
        let mut v = Vars::default();
        let p = v.ports("any").unwrap();
        assert!(p.any && p.exclude.is_empty());
        assert_eq!(v.ports("80").unwrap().include, vec![PortRange { lo: 80, hi: 80 }]);
        assert_eq!(v.ports("1024:").unwrap().include, vec![PortRange { lo: 1024, hi: 65535 }]);
        assert_eq!(v.ports(":1023").unwrap().include, vec![PortRange { lo: 0, hi: 1023 }]);
        assert_eq!(v.ports("[80, 443,8000:8080]").unwrap().include.len(), 3);
        let p = v.ports("!80").unwrap();
        assert!(p.any);
        assert_eq!(p.exclude, vec![PortRange { lo: 80, hi: 80 }]);
        let p = v.ports("$SHELLCODE_PORTS").unwrap();
        assert!(p.any && p.exclude == vec![PortRange { lo: 80, hi: 80 }]);
        let p = v.ports("$FILE_DATA_PORTS").unwrap();
        assert_eq!(p.include.len(), 3);
        let p = v.ports("[1:100,!50]").unwrap();
        assert_eq!(p.include, vec![PortRange { lo: 1, hi: 100 }]);
        assert_eq!(p.exclude, vec![PortRange { lo: 50, hi: 50 }]);
        // Negations inside a negated list stay negations (Suricata).
        let p = v.ports("![80,!81]").unwrap();
        assert_eq!(p.exclude, vec![PortRange { lo: 80, hi: 81 }]);
        for bad in ["65536", "80:70", "!any", "[80,!80]", "abc", "[80", "80]", "", "1:2:3", "0x50", "[80,,81]"] {
            assert!(matches!(v.ports(bad), Err(VarError::Bad(_))), "{bad}");
        }
    }

    #[test]
    fn cache_returns_same_result() {
        let mut v = Vars::default();
        let a = v.addresses("$HOME_NET").unwrap();
        assert_eq!(v.addresses("$HOME_NET").unwrap(), a);
        let cfg = VarsConfig { address: BTreeMap::new(), port: BTreeMap::new() };
        let mut empty = Vars::new(&cfg);
        assert!(empty.addresses("$HOME_NET").is_err());
    }
}
