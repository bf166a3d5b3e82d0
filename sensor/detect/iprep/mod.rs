//! IP reputation for `iprep` (Suricata's `reputation.c`, `detect-iprep.c`).
//!
//! Takes: `[detect.reputation]` (Suricata's `reputation-categories-file`, `reputation-files`,
//! `default-reputation-path`) and a memcap. Promises:
//! - the categories file gives `id,shortname,description` lines (id 1-59; Suricata cannot match
//!   category 0); reputation files give `address,category,value` lines (value 0-127), an
//!   address being a host (`192.0.2.1`, `2001:db8::1`) or a network (`192.0.2.0/24`); a
//!   header line starting with `ip,`, blank lines and `#` comments are skipped; every other
//!   line that cannot be used is counted and reported with its file, line and reason, never
//!   a crash; entries beyond the memcap are refused and counted;
//! - lookups are read-only on a table built once per load and shared by every worker
//!   (an `Arc` in the detection engine): a hash lookup for hosts, then longest prefix first
//!   among the prefix lengths a category has (one hash lookup per length present);
//! - the table is read again with the rules (start and every reload), so an updated file is
//!   picked up by `picket ctl reload-rules` / SIGUSR2;
//! - Suricata's semantics, quirks included: a host line gives that host a value in every
//!   category (0 in the categories it was not listed in), and then networks are not consulted
//!   for it; a network gives a value in its own category only; `isset` matches any value,
//!   `isnotset` matches an address without one (for `src`/`dst`, also one of value 0).
//!
//! Never: allocates or locks on a lookup.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::decode::Decoded;
use crate::rule::ast::{Iprep, IprepSide, IprepTest, NumCmp};

/// Categories (Suricata's SREP_MAX_CATS): ids 0-59.
pub(crate) const MAX_CATEGORIES: usize = 60;
/// Highest reputation value (SREP_MAX_VAL).
pub(crate) const MAX_VALUE: u8 = 127;
/// Longest category short name (Suricata keeps 31 characters).
const SHORTNAME_MAX: usize = 31;
/// Bad lines reported one by one; past this only the totals.
const REPORTED_LINES: usize = 20;
/// Bytes a host entry is counted for against the memcap (key, hash slot, category list).
const HOST_COST: u64 = 64;
/// Bytes a network entry is counted for.
const NET_COST: u64 = 48;

/// `[detect.reputation]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReputationConfig {
    /// Suricata's `reputation-categories-file`: `id,shortname,description` lines. Empty (with
    /// `files` empty): IP reputation is off.
    pub categories_file: String,
    /// Suricata's `default-reputation-path`: folder of the relative names in `files`.
    pub default_path: String,
    /// Suricata's `reputation-files`: `address,category,value` lines.
    pub files: Vec<String>,
    /// Bytes the table may take (0: no limit).
    pub memcap: u64,
}

impl Default for ReputationConfig {
    fn default() -> Self {
        ReputationConfig {
            categories_file: String::new(),
            default_path: String::new(),
            files: Vec::new(),
            memcap: 64 << 20,
        }
    }
}

/// An address as a key: IPv4 in the low 32 bits, and the family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Addr {
    v6: bool,
    bits: u128,
}

impl Addr {
    fn of(a: &[u8; 16], v6: bool) -> Addr {
        if v6 {
            Addr { v6, bits: u128::from_be_bytes(*a) }
        } else {
            Addr { v6, bits: u128::from(u32::from_be_bytes([a[0], a[1], a[2], a[3]])) }
        }
    }
    fn from_ip(ip: std::net::IpAddr) -> Addr {
        match ip {
            std::net::IpAddr::V4(v4) => Addr { v6: false, bits: u128::from(u32::from(v4)) },
            std::net::IpAddr::V6(v6) => Addr { v6: true, bits: u128::from(v6) },
        }
    }
    fn width(self) -> u8 {
        if self.v6 {
            128
        } else {
            32
        }
    }
    /// The address with only its first `len` bits.
    fn masked(self, len: u8) -> Addr {
        let w = self.width();
        let keep = if len == 0 { 0 } else { (u128::MAX >> (128 - u32::from(len))) << (w - len) };
        Addr { v6: self.v6, bits: self.bits & keep }
    }
}

/// What loading the reputation files gave, for the log and the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReputationStats {
    /// Categories defined.
    pub categories: u64,
    /// Host entries.
    pub hosts: u64,
    /// Network entries.
    pub networks: u64,
    /// Lines skipped (bad syntax, range, unknown category), in all files.
    pub bad_lines: u64,
    /// Entries refused because the memcap was reached.
    pub memcap_refused: u64,
    /// Bytes counted against the memcap.
    pub memory: u64,
}

/// The loaded categories and reputation table.
#[derive(Debug, Default)]
pub struct Reputation {
    /// Short name -> id.
    names: HashMap<String, u8>,
    /// Hosts: (category, value) pairs, sorted by category.
    hosts: HashMap<Addr, Box<[(u8, u8)]>>,
    /// Networks: (category, masked address, prefix length) -> value.
    nets: HashMap<(u8, Addr, u8), u8>,
    /// Prefix lengths present, longest first, per category and family (index `cat * 2 + v6`).
    lens: Vec<Vec<u8>>,
    /// Counts.
    pub stats: ReputationStats,
    /// What the log should say: unreadable files, bad lines (file:line: reason), totals.
    pub messages: Vec<String>,
}

/// The counts of the reputation last loaded (for `/metrics`).
static LAST: std::sync::Mutex<Option<ReputationStats>> = std::sync::Mutex::new(None);

/// Records the counts of a load (or none: IP reputation off).
pub(crate) fn publish_stats(stats: Option<ReputationStats>) {
    *LAST.lock().unwrap_or_else(|p| p.into_inner()) = stats;
}

/// Gauges of the reputation last loaded for `/metrics` (none when IP reputation is off).
pub(crate) fn gauges() -> Vec<crate::metrics::prom::GaugeFamily> {
    use crate::metrics::prom::GaugeFamily;
    let Some(st) = LAST.lock().unwrap_or_else(|p| p.into_inner()).clone() else { return Vec::new() };
    let one = |name, help, v: u64| GaugeFamily { name, help, label: "", values: vec![(String::new(), v as f64)] };
    vec![
        GaugeFamily {
            name: "picket_iprep_entries",
            help: "hosts and networks in the IP reputation table",
            label: "kind",
            values: vec![("host".into(), st.hosts as f64), ("network".into(), st.networks as f64)],
        },
        one(
            "picket_iprep_bad_lines",
            "lines of the reputation files skipped (the log names file and line)",
            st.bad_lines,
        ),
        one("picket_iprep_memcap_refused", "reputation entries refused by detect.reputation.memcap", st.memcap_refused),
    ]
}

fn effective(line: &str) -> Option<&str> {
    let t = line.trim_matches([' ', '\t', '\r']);
    (!t.is_empty() && !t.starts_with('#')).then_some(t)
}

fn resolve(default_path: &str, f: &str) -> PathBuf {
    let p = Path::new(f);
    if p.is_relative() && !default_path.is_empty() {
        Path::new(default_path).join(p)
    } else {
        p.to_path_buf()
    }
}

impl Reputation {
    /// Loads the configured files. `Ok(None)`: IP reputation is not configured. `Err`: it is
    /// configured but cannot be used (no categories file, or it cannot be read); rules with
    /// `iprep` are then refused with that reason.
    pub fn load(cfg: &ReputationConfig) -> Result<Option<Reputation>, String> {
        if cfg.categories_file.is_empty() && cfg.files.is_empty() {
            return Ok(None);
        }
        if cfg.categories_file.is_empty() {
            return Err("detect.reputation.files is set without detect.reputation.categories_file".into());
        }
        let mut rep = Reputation { lens: vec![Vec::new(); MAX_CATEGORIES * 2], ..Default::default() };
        let path = resolve(&cfg.default_path, &cfg.categories_file);
        let text = std::fs::read(&path).map_err(|e| format!("categories file {}: {e}", path.display()))?;
        rep.read_categories(&path, &text);
        if cfg.files.is_empty() {
            rep.messages.push("detect.reputation.files is empty: no address has a reputation".into());
        }
        for f in &cfg.files {
            let path = resolve(&cfg.default_path, f);
            match std::fs::read(&path) {
                Ok(data) => rep.read_entries(&path, &data, cfg.memcap),
                Err(e) => rep.messages.push(format!("reputation file {}: {e} (skipped)", path.display())),
            }
        }
        for l in &mut rep.lens {
            l.sort_unstable_by(|a, b| b.cmp(a));
            l.dedup();
        }
        let st = &rep.stats;
        if st.bad_lines as usize > REPORTED_LINES {
            rep.messages.push(format!("{} bad lines in all (the first {REPORTED_LINES} shown)", st.bad_lines));
        }
        if st.memcap_refused > 0 {
            rep.messages.push(format!(
                "{} entries refused: detect.reputation.memcap of {} bytes reached",
                st.memcap_refused, cfg.memcap
            ));
        }
        Ok(Some(rep))
    }

    fn bad_line(&mut self, path: &Path, n: usize, why: String) {
        self.stats.bad_lines += 1;
        if self.stats.bad_lines as usize <= REPORTED_LINES {
            self.messages.push(format!("{}:{n}: {why} (line skipped)", path.display()));
        }
    }

    fn read_categories(&mut self, path: &Path, data: &[u8]) {
        for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
            let Ok(line) = std::str::from_utf8(raw) else {
                self.bad_line(path, i + 1, "not UTF-8".into());
                continue;
            };
            let Some(line) = effective(line) else { continue };
            let mut it = line.splitn(3, ',').map(str::trim);
            let (id, name) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
            let id = match id.parse::<u8>() {
                Ok(v) if (1..MAX_CATEGORIES as u8).contains(&v) => v,
                _ => {
                    self.bad_line(path, i + 1, format!("category id '{}' is not 1-{}", short(id), MAX_CATEGORIES - 1));
                    continue;
                }
            };
            if name.is_empty() || name.len() > SHORTNAME_MAX || name.contains(char::is_whitespace) {
                self.bad_line(
                    path,
                    i + 1,
                    format!("bad short name '{}' (1-{SHORTNAME_MAX} characters, no blanks)", short(name)),
                );
                continue;
            }
            if self.names.values().any(|&v| v == id) || self.names.contains_key(name) {
                self.bad_line(path, i + 1, format!("category {id} or name '{name}' defined twice"));
                continue;
            }
            self.names.insert(name.to_string(), id);
            self.stats.categories += 1;
        }
    }

    /// One `address,category,value` line: (address, prefix length if a network, category, value).
    fn parse_entry(&self, line: &str) -> Result<(Addr, Option<u8>, u8, u8), String> {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let [addr, cat, val] = f.as_slice() else {
            return Err(format!("'{}' is not address,category,value", short(line)));
        };
        let cat: u8 = cat
            .parse()
            .ok()
            .filter(|&c| (c as usize) < MAX_CATEGORIES)
            .ok_or_else(|| format!("category '{}' is not 0-{}", short(cat), MAX_CATEGORIES - 1))?;
        if !self.names.values().any(|&v| v == cat) {
            return Err(format!("category {cat} is not in the categories file"));
        }
        let val: u8 = val
            .parse()
            .ok()
            .filter(|&v| v <= MAX_VALUE)
            .ok_or_else(|| format!("value '{}' is not 0-{MAX_VALUE}", short(val)))?;
        let (ip, len) = match addr.split_once('/') {
            Some((ip, len)) => (ip, Some(len)),
            None => (*addr, None),
        };
        let ip: std::net::IpAddr = ip.parse().map_err(|_| format!("'{}' is not an IP address", short(ip)))?;
        let a = Addr::from_ip(ip);
        let len = match len {
            Some(l) => Some(
                l.parse::<u8>()
                    .ok()
                    .filter(|&l| l <= a.width())
                    .ok_or_else(|| format!("bad prefix length '{}'", short(l)))?,
            ),
            None => None,
        };
        Ok((a, len, cat, val))
    }

    fn read_entries(&mut self, path: &Path, data: &[u8], memcap: u64) {
        for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
            let Ok(line) = std::str::from_utf8(raw) else {
                self.bad_line(path, i + 1, "not UTF-8".into());
                continue;
            };
            let Some(line) = effective(line) else { continue };
            if line.starts_with("ip,") {
                continue;
            }
            let (a, len, cat, val) = match self.parse_entry(line) {
                Ok(e) => e,
                Err(why) => {
                    self.bad_line(path, i + 1, why);
                    continue;
                }
            };
            match len {
                Some(len) => {
                    let key = (cat, a.masked(len), len);
                    if self.nets.contains_key(&key) {
                        // Suricata keeps the first value of a network listed twice.
                        continue;
                    }
                    if memcap > 0 && self.stats.memory + NET_COST > memcap {
                        self.stats.memcap_refused += 1;
                        continue;
                    }
                    self.stats.memory += NET_COST;
                    self.stats.networks += 1;
                    self.nets.insert(key, val);
                    if let Some(l) = self.lens.get_mut(cat as usize * 2 + usize::from(a.v6)) {
                        l.push(len);
                    }
                }
                None => self.add_host(a, cat, val, memcap),
            }
        }
    }

    fn add_host(&mut self, a: Addr, cat: u8, val: u8, memcap: u64) {
        if let Some(h) = self.hosts.get_mut(&a) {
            // A later line for the same host and category replaces the value (Suricata).
            let mut v = h.to_vec();
            match v.binary_search_by_key(&cat, |e| e.0) {
                Ok(i) => v[i].1 = val,
                Err(i) => v.insert(i, (cat, val)),
            }
            *h = v.into_boxed_slice();
            return;
        }
        if memcap > 0 && self.stats.memory + HOST_COST > memcap {
            self.stats.memcap_refused += 1;
            return;
        }
        self.stats.memory += HOST_COST;
        self.stats.hosts += 1;
        self.hosts.insert(a, Box::new([(cat, val)]));
    }

    /// The id of a category short name.
    pub fn category(&self, name: &str) -> Option<u8> {
        self.names.get(name).copied()
    }

    /// The reputation of an address in a category, if it has one.
    fn value(&self, cat: u8, a: Addr) -> Option<u8> {
        if let Some(h) = self.hosts.get(&a) {
            // Suricata: a listed host has 0 in the categories it was not listed in.
            return Some(h.iter().find(|e| e.0 == cat).map_or(0, |e| e.1));
        }
        let lens = self.lens.get(cat as usize * 2 + usize::from(a.v6))?;
        lens.iter().find_map(|&len| self.nets.get(&(cat, a.masked(len), len)).copied())
    }

    /// Whether one `iprep` keyword holds for the packet.
    pub fn check(&self, ip: &Iprep, d: &Decoded) -> bool {
        let v6 = d.is_ipv6();
        let get = |a: &[u8; 16]| if d.is_ip() { self.value(ip.cat, Addr::of(a, v6)) } else { None };
        let (cmp, notset) = match ip.test {
            IprepTest::Cmp(c) => (c, false),
            IprepTest::IsSet => (NumCmp::Ge(0), false),
            // Suricata's isnotset compares a found value with 0
            IprepTest::IsNotSet => (NumCmp::Eq(0), true),
        };
        let ok = |v: Option<u8>| v.is_some_and(|v| cmp.matches(u64::from(v)));
        match (ip.side, notset) {
            (IprepSide::Any, false) => ok(get(&d.src)) || ok(get(&d.dst)),
            (IprepSide::Any, true) => get(&d.src).is_none() || get(&d.dst).is_none(),
            (IprepSide::Both, false) => ok(get(&d.src)) && ok(get(&d.dst)),
            (IprepSide::Both, true) => get(&d.src).is_none() && get(&d.dst).is_none(),
            (IprepSide::Src, _) => get(&d.src).map_or(notset, |v| cmp.matches(u64::from(v))),
            (IprepSide::Dst, _) => get(&d.dst).map_or(notset, |v| cmp.matches(u64::from(v))),
        }
    }
}

fn short(s: &str) -> String {
    if s.len() <= 40 {
        return s.to_string();
    }
    let mut end = 40;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests;
