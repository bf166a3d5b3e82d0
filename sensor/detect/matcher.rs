//! Multi-pattern matching: the prefilter that picks candidate rules.
//!
//! Contract of [`Mpm::scan`]: every pattern that occurs in the haystack is reported at least
//! once (no false negatives); a pattern may be reported more than once, and an engine may
//! report patterns that do not occur (false positives are allowed: candidates are verified in
//! full afterwards). Engines:
//! - [`Engine::Hyperscan`]: vectorscan, patterns compiled as `\xHH`-escaped literals with
//!   `SINGLEMATCH` (and `CASELESS` for nocase), as Suricata's util-mpm-hs does. One scratch
//!   per worker, grown to fit every database.
//! - [`Engine::AhoCorasick`]: the aho-corasick crate, one ASCII-case-insensitive automaton
//!   with overlapping search; case-sensitive patterns are confirmed byte-for-byte at the match
//!   position before they are reported.
//! - [`Engine::Naive`]: a loop of `memmem`-style searches, the reference in tests.
//!
//! Scanning allocates nothing; building (load time) does.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use hyperscan::prelude::*;

use std::sync::{Arc, Mutex, Weak};

use crate::detect::cache::{DbCache, Key};

/// The vectorscan databases of the engines alive in this process, by their pattern list's
/// cache key. A rule reload builds its engine while the running one still inspects packets;
/// its groups whose patterns did not change take the running engine's databases instead of
/// loading copies (ET Open's 56 databases are 5.5 MB; the reload's peak RSS is the running
/// RSS plus the new engine). Entries die with the last engine holding them.
static LIVE_DBS: Mutex<Vec<(Key, Weak<BlockDatabase>)>> = Mutex::new(Vec::new());

/// The database for `key` from a live engine (counted as a hit of `cache`: nothing was
/// compiled), else the one `make` gives (then published).
fn live_database(
    key: Key,
    cache: Option<&DbCache>,
    make: impl FnOnce() -> Result<BlockDatabase, String>,
) -> Result<Arc<BlockDatabase>, String> {
    let found = LIVE_DBS.lock().ok().and_then(|l| l.iter().find(|(k, _)| *k == key).and_then(|(_, w)| w.upgrade()));
    if let Some(db) = found {
        if let Some(c) = cache {
            c.count_shared();
        }
        return Ok(db);
    }
    let db = Arc::new(make()?);
    if let Ok(mut l) = LIVE_DBS.lock() {
        l.retain(|(k, w)| w.strong_count() > 0 && *k != key);
        l.push((key, Arc::downgrade(&db)));
    }
    Ok(db)
}

/// One literal given to the prefilter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PatternSpec {
    /// Bytes.
    pub bytes: Vec<u8>,
    /// Match ASCII letters in either case.
    pub nocase: bool,
}

/// Which engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// vectorscan.
    Hyperscan,
    /// aho-corasick crate.
    AhoCorasick,
    /// Reference: one search per pattern.
    Naive,
}

/// A compiled set of patterns. Pattern ids are indexes into the slice given to [`Mpm::build`].
pub enum Mpm {
    /// vectorscan database, plus the one-byte patterns, which are matched by a byte table:
    /// vectorscan 5.4 was seen to miss one-byte literals near the end of a buffer in large
    /// databases (a false negative, which the prefilter contract forbids).
    /// The database is shared with any other engine of this process built from the same
    /// patterns (see [`live_database`]), and with the other sets of a [`Mpm::build_many`]
    /// whose patterns are nearly the same: then it holds their union, and the third field maps
    /// its ids to this set's ([`NOT_OURS`] for a pattern of another set only).
    Hs(Option<Arc<BlockDatabase>>, Vec<(u8, bool, u32)>, Option<Box<[u32]>>),
    /// Aho-Corasick automaton plus, per pattern, the bytes to confirm (None when nocase).
    Ac(AhoCorasick, Vec<Option<Vec<u8>>>),
    /// Reference engine.
    Naive(Vec<PatternSpec>),
    /// No patterns.
    Empty,
}

/// Per-worker scratch space.
#[derive(Default)]
pub struct MpmScratch {
    hs: Option<Scratch>,
}

impl std::fmt::Debug for Mpm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mpm::Hs(_, s, _) => write!(f, "Mpm::Hs(+{} one-byte patterns)", s.len()),
            Mpm::Ac(_, p) => write!(f, "Mpm::Ac({} patterns)", p.len()),
            Mpm::Naive(p) => write!(f, "Mpm::Naive({} patterns)", p.len()),
            Mpm::Empty => f.write_str("Mpm::Empty"),
        }
    }
}

/// `bytes` as a vectorscan expression of `\xHH` escapes (lower-case hex). Written by hand, not
/// with `format!` per byte: ET Open's patterns are run through it at every load, cache hit or
/// not (the cache key is made of the expressions), and the formatting machinery was most of
/// the prefilter build's instructions on a warm cache.
fn hs_escape(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 4);
    for &b in bytes {
        s.push_str("\\x");
        // In bounds: a nibble indexes 16 digits.
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

impl Mpm {
    /// Compiles `patterns` for `engine`.
    pub fn build(engine: Engine, patterns: &[PatternSpec]) -> Result<Mpm, String> {
        Mpm::build_cached(engine, patterns, None)
    }

    /// Compiles `patterns` for `engine`; a Hyperscan database is taken from `cache` when it
    /// holds one for exactly these patterns, and stored there after a compile.
    pub fn build_cached(engine: Engine, patterns: &[PatternSpec], cache: Option<&DbCache>) -> Result<Mpm, String> {
        if patterns.is_empty() {
            return Ok(Mpm::Empty);
        }
        match engine {
            Engine::Hyperscan => {
                let mut v = Vec::with_capacity(patterns.len());
                let mut singles = Vec::new();
                for (i, p) in patterns.iter().enumerate() {
                    if p.bytes.is_empty() {
                        return Err(format!("pattern {i} is empty"));
                    }
                    if p.bytes.len() == 1 {
                        // In bounds: p.bytes.len() == 1.
                        singles.push((p.bytes[0], p.nocase, i as u32));
                        continue;
                    }
                    let mut flags = CompileFlags::SINGLEMATCH;
                    if p.nocase {
                        flags |= CompileFlags::CASELESS;
                    }
                    let mut pat = Pattern::with_flags(hs_escape(&p.bytes), flags).map_err(|e| e.to_string())?;
                    pat.id = Some(i);
                    v.push(pat);
                }
                let db = if v.is_empty() {
                    None
                } else {
                    let key = DbCache::key(
                        v.iter().map(|p| (p.id.unwrap_or(0) as u32, p.flags.bits(), p.expression.as_bytes())),
                    );
                    Some(live_database(key, cache, || {
                        if let Some(db) = cache.and_then(|c| c.load(&key)) {
                            return Ok(db);
                        }
                        let pats: Patterns = v.into_iter().collect();
                        let db: BlockDatabase = pats.build().map_err(|e| format!("hyperscan compile: {e}"))?;
                        if let Some(c) = cache {
                            c.store(&key, &db);
                        }
                        Ok(db)
                    })?)
                };
                Ok(Mpm::Hs(db, singles, None))
            }
            Engine::AhoCorasick => {
                let ac = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(if patterns.len() <= 2000 { Some(AhoCorasickKind::DFA) } else { None })
                    .build(patterns.iter().map(|p| &p.bytes))
                    .map_err(|e| format!("aho-corasick build: {e}"))?;
                let confirm = patterns.iter().map(|p| if p.nocase { None } else { Some(p.bytes.clone()) }).collect();
                Ok(Mpm::Ac(ac, confirm))
            }
            Engine::Naive => Ok(Mpm::Naive(patterns.to_vec())),
        }
    }

    /// Compiles each of `sets` as [`Mpm::build_cached`] does, on as many threads as there are
    /// cores: vectorscan's compiler is single-threaded and most of a cold start is spent in
    /// it; the databases are independent. Sets whose patterns are nearly the same (ET Open's
    /// `http` and `http2` buffers differ by a few patterns of thousands) share one vectorscan
    /// database of their union, compiled once (see [`share_plan`]): each set still reports
    /// its own patterns only, under its own ids. Results in the order of `sets`.
    pub fn build_many(engine: Engine, sets: &[&[PatternSpec]], cache: Option<&DbCache>) -> Vec<Result<Mpm, String>> {
        let mut clusters = if engine == Engine::Hyperscan { share_plan(sets) } else { Vec::new() };
        let unions: Vec<Vec<PatternSpec>> = clusters.iter_mut().map(|c| std::mem::take(&mut c.union)).collect();
        let mut jobs: Vec<&[PatternSpec]> = unions.iter().map(Vec::as_slice).collect();
        let shared = jobs.len();
        let mut in_cluster = vec![false; sets.len()];
        for &i in clusters.iter().flat_map(|c| &c.members) {
            if let Some(x) = in_cluster.get_mut(i) {
                *x = true;
            }
        }
        let mut slot_of: Vec<Option<usize>> = vec![None; sets.len()];
        for ((set, slot), shared) in sets.iter().zip(&mut slot_of).zip(&in_cluster) {
            if !shared {
                *slot = Some(jobs.len());
                jobs.push(set);
            }
        }
        let mut built: Vec<Option<Result<Mpm, String>>> =
            compile_all(engine, &jobs, cache).into_iter().map(Some).collect();
        let mut out: Vec<Option<Result<Mpm, String>>> = std::iter::repeat_with(|| None).take(sets.len()).collect();
        for (c, union) in clusters.into_iter().zip(built.iter().take(shared)) {
            for (i, ours) in c.members.into_iter().zip(c.maps) {
                let r = match union {
                    // In bounds: members are indexes of sets.
                    Some(Ok(Mpm::Hs(db, _, _))) => Ok(Mpm::Hs(db.clone(), singles_of(sets[i]), Some(ours))),
                    Some(Err(e)) => Err(e.clone()),
                    _ => Err("prefilter compile thread failed".into()),
                };
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(r);
                }
            }
        }
        for (i, s) in slot_of.iter().enumerate() {
            if let (Some(s), Some(slot)) = (s, out.get_mut(i)) {
                *slot = built.get_mut(*s).and_then(Option::take);
            }
        }
        out.into_iter().map(|r| r.unwrap_or_else(|| Err("prefilter compile thread failed".into()))).collect()
    }

    /// Makes `scratch` usable with this database (call once per database at worker start).
    pub fn prepare(&self, scratch: &mut MpmScratch) -> Result<(), String> {
        if let Mpm::Hs(Some(db), _, _) = self {
            match &mut scratch.hs {
                Some(s) => {
                    db.realloc_scratch(s).map_err(|e| e.to_string())?;
                }
                None => scratch.hs = Some(db.alloc_scratch().map_err(|e| e.to_string())?),
            }
        }
        Ok(())
    }

    /// Reports the ids of the patterns found in `hay` (see the module contract).
    pub fn scan(&self, scratch: &mut MpmScratch, hay: &[u8], on_match: &mut dyn FnMut(u32)) {
        if hay.is_empty() {
            return;
        }
        match self {
            Mpm::Hs(db, singles, ours) => {
                if let (Some(db), Some(s)) = (db, scratch.hs.as_ref()) {
                    // A scan error (only possible with a scratch that does not fit, which
                    // prepare() rules out) reports nothing rather than panicking.
                    let _ = db.scan(hay, s, |id, _from, _to, _flags| {
                        match ours {
                            None => on_match(id),
                            Some(map) => {
                                if let Some(&own) = map.get(id as usize).filter(|&&own| own != NOT_OURS) {
                                    on_match(own);
                                }
                            }
                        }
                        Matching::Continue
                    });
                }
                if !singles.is_empty() && singles.len() <= 8 {
                    // A few one-byte patterns: a word-at-a-time search each (`contains` is
                    // core's memchr) beats a byte-by-byte table over the whole buffer.
                    for &(b, nocase, id) in singles {
                        let (lo, up) = (b.to_ascii_lowercase(), b.to_ascii_uppercase());
                        if hay.contains(&b)
                            || (nocase && ((lo != b && hay.contains(&lo)) || (up != b && hay.contains(&up))))
                        {
                            on_match(id);
                        }
                    }
                } else if !singles.is_empty() {
                    let mut seen = [false; 256];
                    for &b in hay {
                        // In bounds: seen is [bool; 256], indexed by a u8.
                        seen[b as usize] = true;
                    }
                    for &(b, nocase, id) in singles {
                        // In bounds: seen is [bool; 256], indexed by a u8.
                        if seen[b as usize]
                            || (nocase && seen[b.to_ascii_lowercase() as usize] | seen[b.to_ascii_uppercase() as usize])
                        {
                            on_match(id);
                        }
                    }
                }
            }
            Mpm::Ac(ac, confirm) => {
                for m in ac.find_overlapping_iter(hay) {
                    let id = m.pattern().as_u32();
                    match confirm.get(id as usize) {
                        Some(Some(exact)) => {
                            if hay.get(m.start()..m.end()) == Some(exact.as_slice()) {
                                on_match(id);
                            }
                        }
                        _ => on_match(id),
                    }
                }
            }
            Mpm::Naive(pats) => {
                for (i, p) in pats.iter().enumerate() {
                    if find(hay, &p.bytes, p.nocase).is_some() {
                        on_match(i as u32);
                    }
                }
            }
            Mpm::Empty => {}
        }
    }
}

/// Compiles each of `sets` as [`Mpm::build_cached`] does, on as many threads as there are
/// cores, the biggest sets first so that no thread is left with a big one at the end.
/// Results in the order of `sets`.
fn compile_all(engine: Engine, sets: &[&[PatternSpec]], cache: Option<&DbCache>) -> Vec<Result<Mpm, String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(sets.len());
    if threads <= 1 {
        return sets.iter().map(|p| Mpm::build_cached(engine, p, cache)).collect();
    }
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sets[i].iter().map(|p| p.bytes.len()).sum::<usize>()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (next, order) = (&next, &order);
    let mut out: Vec<Option<Result<Mpm, String>>> = std::iter::repeat_with(|| None).take(sets.len()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let mut mine = Vec::new();
                    while let Some(&i) = order.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        // In bounds: order holds indexes of sets.
                        mine.push((i, Mpm::build_cached(engine, sets[i], cache)));
                    }
                    mine
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().unwrap_or_default() {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(r);
                }
            }
        }
    });
    out.into_iter().map(|r| r.unwrap_or_else(|| Err("prefilter compile thread failed".into()))).collect()
}

/// In the id maps of [`Mpm::Hs`]: a pattern of the shared database that is not this set's.
const NOT_OURS: u32 = u32::MAX;

/// A database shared by several sets of one [`Mpm::build_many`].
struct Cluster {
    /// The patterns of the database: the first member's, then what each next member adds.
    union: Vec<PatternSpec>,
    /// Indexes of the sets that use it.
    members: Vec<usize>,
    /// Per member, union id -> the member's own id (or [`NOT_OURS`]).
    maps: Vec<Box<[u32]>>,
}

/// Which sets share a database. A set shares one when the union has at most 1/16 more
/// patterns than each set using it has (of two bytes or more: one-byte patterns never go
/// into vectorscan, see [`Mpm::Hs`]); the extra patterns' matches are dropped by the id map
/// before anything is reported, so what a set reports is what its own database would
/// report, for a few more literals in the scan. Deterministic: sets are taken biggest first
/// (then in the given order) and join the first database they fit. Sets that have an empty
/// pattern or the same pattern twice (one id each, which a map cannot give) and sets that
/// share with nothing are compiled alone (they are in no cluster).
fn share_plan(sets: &[&[PatternSpec]]) -> Vec<Cluster> {
    use std::collections::HashMap;
    struct Open<'a> {
        index: HashMap<&'a PatternSpec, u32>,
        smallest: usize,
        members: Vec<usize>,
    }
    // In bounds: called with indexes of sets.
    let multi = |i: usize| sets[i].iter().filter(|p| p.bytes.len() >= 2);
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(multi(i).count()), i));
    let mut open: Vec<Open> = Vec::new();
    for i in order {
        let n = multi(i).count();
        let distinct: std::collections::HashSet<&PatternSpec> = multi(i).collect();
        if n == 0 || distinct.len() != n || sets[i].iter().any(|p| p.bytes.is_empty()) {
            continue;
        }
        let fits = |o: &Open| {
            let grown = o.index.len() + distinct.iter().filter(|p| !o.index.contains_key(*p)).count();
            let smallest = o.smallest.min(n);
            grown - smallest <= smallest / 16 && grown - n <= n / 16
        };
        match open.iter_mut().find(|o| fits(o)) {
            Some(o) => {
                for p in multi(i) {
                    let next = o.index.len() as u32;
                    o.index.entry(p).or_insert(next);
                }
                o.smallest = o.smallest.min(n);
                o.members.push(i);
            }
            None => {
                let index = multi(i).enumerate().map(|(k, p)| (p, k as u32)).collect();
                open.push(Open { index, smallest: n, members: vec![i] });
            }
        }
    }
    let mut clusters = Vec::new();
    for o in open {
        if o.members.len() < 2 {
            continue;
        }
        let mut union: Vec<PatternSpec> = vec![PatternSpec { bytes: Vec::new(), nocase: false }; o.index.len()];
        for (p, &k) in &o.index {
            if let Some(slot) = union.get_mut(k as usize) {
                *slot = (*p).clone();
            }
        }
        let maps = o
            .members
            .iter()
            .map(|&i| {
                let mut map = vec![NOT_OURS; union.len()];
                for (own, p) in sets[i].iter().enumerate().filter(|(_, p)| p.bytes.len() >= 2) {
                    if let Some(slot) = o.index.get(p).and_then(|&k| map.get_mut(k as usize)) {
                        *slot = own as u32;
                    }
                }
                map.into_boxed_slice()
            })
            .collect();
        clusters.push(Cluster { union, members: o.members, maps });
    }
    clusters
}

/// The one-byte patterns of `patterns` with their ids, as [`Mpm::Hs`] keeps them.
fn singles_of(patterns: &[PatternSpec]) -> Vec<(u8, bool, u32)> {
    patterns
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p.bytes.as_slice() {
            &[b] => Some((b, p.nocase, i as u32)),
            _ => None,
        })
        .collect()
}

/// First position of `needle` in `hay` (ASCII case-insensitively when `nocase`).
pub fn find(hay: &[u8], needle: &[u8], nocase: bool) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if needle.len() > hay.len() {
        return None;
    }
    if nocase {
        hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
    } else {
        hay.windows(needle.len()).position(|w| w == needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One table of cases, run against every engine: they must report the same set of ids.
    #[test]
    fn engines_agree_on_a_table_of_cases() {
        let pats = vec![
            PatternSpec { bytes: b"GET ".to_vec(), nocase: false },
            PatternSpec { bytes: b"host:".to_vec(), nocase: true },
            PatternSpec { bytes: vec![0x00, 0xff, 0x10], nocase: false },
            PatternSpec { bytes: b"abc".to_vec(), nocase: false },
            PatternSpec { bytes: b"bcd".to_vec(), nocase: false },
            PatternSpec { bytes: b"Abc".to_vec(), nocase: false },
        ];
        let hays: [&[u8]; 6] =
            [b"GET / HTTP/1.1\r\nHOST: x\r\n", b"get / http/1.1", b"\x01\x00\xff\x10\x02", b"xxabcdxx", b"ABC", b""];
        let want: [&[u32]; 6] = [&[0, 1], &[], &[2], &[3, 4], &[], &[]];
        for engine in [Engine::Hyperscan, Engine::AhoCorasick, Engine::Naive] {
            let mpm = Mpm::build(engine, &pats).unwrap();
            let mut s = MpmScratch::default();
            mpm.prepare(&mut s).unwrap();
            for (h, w) in hays.iter().zip(want.iter()) {
                let mut got = Vec::new();
                mpm.scan(&mut s, h, &mut |id| got.push(id));
                got.sort();
                got.dedup();
                assert_eq!(&got, w, "{engine:?} on {h:?}");
            }
        }
    }

    /// Regression: in a large database vectorscan missed one-byte literals near the end of a
    /// buffer; they are matched by the byte table now, by every engine alike.
    #[test]
    fn one_byte_patterns_at_the_end_are_found() {
        let mut pats: Vec<PatternSpec> = (0..3000)
            .map(|i| PatternSpec { bytes: format!("longer-pattern-{i}").into_bytes(), nocase: i % 2 == 0 })
            .collect();
        pats.push(PatternSpec { bytes: b"z".to_vec(), nocase: false });
        pats.push(PatternSpec { bytes: b"Q".to_vec(), nocase: true });
        let z = pats.len() as u32 - 2;
        for engine in [Engine::Hyperscan, Engine::AhoCorasick, Engine::Naive] {
            let m = Mpm::build(engine, &pats).unwrap();
            let mut s = MpmScratch::default();
            m.prepare(&mut s).unwrap();
            for len in 1..80 {
                let mut hay = vec![b'.'; len];
                hay[len - 1] = b'z';
                let mut got = Vec::new();
                m.scan(&mut s, &hay, &mut |id| got.push(id));
                assert!(got.contains(&z), "{engine:?}: 'z' at the end of {len} bytes not reported");
                hay[len - 1] = b'q';
                got.clear();
                m.scan(&mut s, &hay, &mut |id| got.push(id));
                assert!(got.contains(&(z + 1)) && !got.contains(&z), "{engine:?}: nocase 'Q' vs 'q'");
            }
        }
    }

    #[test]
    fn one_scratch_serves_several_databases() {
        let a = Mpm::build(Engine::Hyperscan, &[PatternSpec { bytes: b"a".to_vec(), nocase: false }]).unwrap();
        let b = Mpm::build(
            Engine::Hyperscan,
            &(0..500)
                .map(|i| PatternSpec { bytes: format!("pattern{i}x").into_bytes(), nocase: true })
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let mut s = MpmScratch::default();
        a.prepare(&mut s).unwrap();
        b.prepare(&mut s).unwrap();
        let mut n = 0;
        b.scan(&mut s, b"..PATTERN42X..", &mut |_| n += 1);
        a.scan(&mut s, b"a", &mut |_| n += 1);
        assert_eq!(n, 2);
    }

    /// Sets that differ by a few patterns share one vectorscan database, yet each reports
    /// exactly what it would alone: its own patterns (one-byte ones too), under its own ids,
    /// never the other set's. A set with a pattern twice, and a set unlike the others, are
    /// compiled alone.
    #[test]
    fn near_duplicate_sets_share_a_database_and_report_their_own_ids() {
        let p = |s: &str, nocase: bool| PatternSpec { bytes: s.as_bytes().to_vec(), nocase };
        let base: Vec<PatternSpec> = (0..40).map(|i| p(&format!("pat-{i}|"), i % 3 == 0)).collect();
        let mut a = base.clone();
        a.push(p("only-a|", false));
        a.push(p("z", false));
        // b: the same minus pat-0, plus its own, in another order, with another one-byte one
        let mut b: Vec<PatternSpec> = base[1..].iter().rev().cloned().collect();
        b.insert(3, p("only-b|", true));
        b.push(p("y", true));
        let mut twice = base.clone();
        twice.push(base[5].clone());
        let other: Vec<PatternSpec> = (0..40).map(|i| p(&format!("other-{i}|"), false)).collect();
        let sets: Vec<&[PatternSpec]> = vec![&a, &b, &twice, &other];
        let built: Vec<Mpm> = Mpm::build_many(Engine::Hyperscan, &sets, None).into_iter().map(Result::unwrap).collect();
        let db = |m: &Mpm| match m {
            Mpm::Hs(Some(db), _, _) => db.clone(),
            _ => panic!("no database"),
        };
        assert!(Arc::ptr_eq(&db(&built[0]), &db(&built[1])), "a and b share");
        assert!(!Arc::ptr_eq(&db(&built[0]), &db(&built[2])), "a set with a pattern twice is alone");
        assert!(!Arc::ptr_eq(&db(&built[0]), &db(&built[3])), "an unlike set is alone");
        let hay: Vec<u8> = a.iter().chain(&b).chain(&other).flat_map(|p| p.bytes.to_ascii_uppercase()).collect();
        let hay_lower: Vec<u8> = a.iter().chain(&b).chain(&other).flat_map(|p| p.bytes.clone()).collect();
        for (k, set) in sets.iter().enumerate() {
            for h in [&hay, &hay_lower] {
                let mut s = MpmScratch::default();
                built[k].prepare(&mut s).unwrap();
                let mut got = Vec::new();
                built[k].scan(&mut s, h, &mut |id| got.push(id));
                got.sort();
                got.dedup();
                let alone = Mpm::build(Engine::Naive, set).unwrap();
                let mut want = Vec::new();
                alone.scan(&mut s, h, &mut |id| want.push(id));
                want.sort();
                want.dedup();
                assert_eq!(got, want, "set {k}");
            }
        }
    }

    #[test]
    fn hs_escape_writes_what_format_wrote() {
        // the prefilter cache's keys are made of these expressions: a change would miss it
        let all: Vec<u8> = (0..=255).collect();
        let want: String = all.iter().map(|b| format!("\\x{b:02x}")).collect();
        assert_eq!(hs_escape(&all), want);
        assert_eq!(hs_escape(b"A\x00"), "\\x41\\x00");
    }

    /// `build_many` compiles on several threads, biggest set first: its results must still come
    /// back in the order of the sets given, each database finding its own patterns only, and
    /// an empty set (no database) in its own slot.
    #[test]
    fn build_many_keeps_the_order_of_the_sets() {
        let sets: Vec<Vec<PatternSpec>> = (0..7usize)
            .map(|k| {
                // set k: (k * 40) + 1 patterns "s<k>-<i>", so the sizes differ and the build
                // order (biggest first) is not the given order
                (0..k * 40 + 1)
                    .map(|i| PatternSpec { bytes: format!("s{k}-{i}|").into_bytes(), nocase: k % 2 == 1 })
                    .collect()
            })
            .collect();
        let mut refs: Vec<&[PatternSpec]> = sets.iter().map(|v| v.as_slice()).collect();
        refs.push(&[]);
        for engine in [Engine::Hyperscan, Engine::AhoCorasick] {
            let built = Mpm::build_many(engine, &refs, None);
            assert_eq!(built.len(), refs.len());
            for (k, r) in built.iter().enumerate().take(sets.len()) {
                let m = r.as_ref().unwrap_or_else(|e| panic!("{engine:?} set {k}: {e}"));
                let mut s = MpmScratch::default();
                m.prepare(&mut s).unwrap();
                // the last pattern of every set: only set k's database reports it, as its id
                let hay: Vec<u8> = sets.iter().flat_map(|v| v[v.len() - 1].bytes.clone()).collect();
                let mut got = Vec::new();
                m.scan(&mut s, &hay, &mut |id| got.push(id));
                got.sort();
                got.dedup();
                assert_eq!(got, vec![(k * 40) as u32], "{engine:?} set {k}");
            }
            let last = built.last().unwrap().as_ref().unwrap();
            let mut s = MpmScratch::default();
            last.prepare(&mut s).unwrap();
            let mut n = 0;
            last.scan(&mut s, b"s0-0|s1-0|", &mut |_| n += 1);
            assert_eq!(n, 0, "{engine:?}: the empty set matches nothing");
        }
    }
}
