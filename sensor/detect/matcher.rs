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

/// The database for `key` of a live engine of this process, counted as a hit of `cache`.
fn live_lookup(key: &Key, cache: Option<&DbCache>) -> Option<Arc<BlockDatabase>> {
    let found = LIVE_DBS.lock().ok().and_then(|l| l.iter().find(|(k, _)| k == key).and_then(|(_, w)| w.upgrade()));
    if let (Some(_), Some(c)) = (&found, cache) {
        c.count_shared();
    }
    found
}

/// Makes `db` the live database of `key` (for the next engine built from the same patterns).
fn publish(key: Key, db: BlockDatabase) -> Arc<BlockDatabase> {
    let db = Arc::new(db);
    if let Ok(mut l) = LIVE_DBS.lock() {
        l.retain(|(k, w)| w.strong_count() > 0 && *k != key);
        l.push((key, Arc::downgrade(&db)));
    }
    db
}

/// A pattern set ready for vectorscan: its expressions, its one-byte patterns (matched
/// apart, see [`Mpm::Hs`]) and its cache key (`None`: nothing for vectorscan).
struct HsPlan {
    patterns: Vec<Pattern>,
    singles: Vec<(u8, bool, u32)>,
    key: Option<Key>,
}

impl HsPlan {
    fn new(patterns: &[PatternSpec]) -> Result<HsPlan, String> {
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
        let key = (!v.is_empty()).then(|| {
            DbCache::key(v.iter().map(|p| (p.id.unwrap_or(0) as u32, p.flags.bits(), p.expression.as_bytes())))
        });
        Ok(HsPlan { patterns: v, singles, key })
    }

    /// The database already at hand: a live engine's, else the cache's (then published).
    fn found(&self, cache: Option<&DbCache>) -> Option<Arc<BlockDatabase>> {
        let key = self.key?;
        live_lookup(&key, cache).or_else(|| cache.and_then(|c| c.load(&key)).map(|db| publish(key, db)))
    }

    /// Compiles the database (stored in `cache`).
    fn compile(self, cache: Option<&DbCache>) -> Result<BlockDatabase, String> {
        let pats: Patterns = self.patterns.into_iter().collect();
        let db: BlockDatabase = pats.build().map_err(|e| format!("hyperscan compile: {e}"))?;
        if let (Some(c), Some(key)) = (cache, &self.key) {
            c.store(key, &db);
        }
        Ok(db)
    }
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
    /// patterns (see [`live_lookup`]), and with the other sets of a [`Mpm::build_many`]
    /// whose patterns are nearly the same: then it holds their union, and the third field maps
    /// its ids to this set's ([`NOT_OURS`] for a pattern of another set only).
    Hs(Option<Arc<BlockDatabase>>, Vec<(u8, bool, u32)>, Option<Box<[u32]>>),
    /// Aho-Corasick automaton plus, per pattern, the bytes to confirm (None when nocase).
    Ac(AhoCorasick, Vec<Option<Vec<u8>>>),
    /// Reference engine.
    Naive(Vec<PatternSpec>),
    /// A vectorscan database being compiled in the background; Aho-Corasick until then.
    Pending(Arc<Pending>),
    /// No patterns.
    Empty,
}

/// A set whose vectorscan database was not in the cache at load time: the load returns with
/// an Aho-Corasick automaton for it (built in a fraction of vectorscan's compile time, same
/// candidates by the module contract, slower scans) and the database is compiled by the
/// background threads (see [`background`]), which fill `hs` when it is done; scans take it
/// from then on. The automaton covers the database's patterns: the set's own, or the union
/// of a shared database mapped back by `map`, plus the set's one-byte patterns in `singles`.
pub struct Pending {
    ac: Arc<Mpm>,
    map: Option<Box<[u32]>>,
    singles: Vec<(u8, bool, u32)>,
    /// The `singles` of the vectorscan [`Mpm::Hs`] to be (a set alone: all its one-byte
    /// patterns, which the automaton covers itself).
    hs_singles: Vec<(u8, bool, u32)>,
    hs: std::sync::OnceLock<Mpm>,
    /// This database's bit in [`MpmScratch`]'s `fitted`.
    slot: usize,
}

impl Pending {
    fn new(
        ac: Arc<Mpm>,
        map: Option<Box<[u32]>>,
        singles: Vec<(u8, bool, u32)>,
        hs_singles: Vec<(u8, bool, u32)>,
    ) -> Arc<Pending> {
        static SLOTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let slot = SLOTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Arc::new(Pending { ac, map, singles, hs_singles, hs: std::sync::OnceLock::new(), slot })
    }

    /// The compiled database arrived.
    fn ready(&self, db: Arc<BlockDatabase>) {
        let _ = self.hs.set(Mpm::Hs(Some(db), self.hs_singles.clone(), self.map.clone()));
    }
}

/// Per-worker scratch space.
#[derive(Default)]
pub struct MpmScratch {
    hs: Option<Scratch>,
    /// Per [`Pending`] slot, whether `hs` was grown for its database since it arrived.
    fitted: Vec<u64>,
}

impl MpmScratch {
    fn fitted(&self, slot: usize) -> bool {
        self.fitted.get(slot / 64).is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    fn fit(&mut self, slot: usize) {
        if self.fitted.len() <= slot / 64 {
            self.fitted.resize(slot / 64 + 1, 0);
        }
        if let Some(w) = self.fitted.get_mut(slot / 64) {
            *w |= 1 << (slot % 64);
        }
    }
}

impl std::fmt::Debug for Mpm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mpm::Hs(_, s, _) => write!(f, "Mpm::Hs(+{} one-byte patterns)", s.len()),
            Mpm::Ac(_, p) => write!(f, "Mpm::Ac({} patterns)", p.len()),
            Mpm::Naive(p) => write!(f, "Mpm::Naive({} patterns)", p.len()),
            Mpm::Pending(p) => write!(f, "Mpm::Pending(ready: {})", p.hs.get().is_some()),
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
                let mut plan = HsPlan::new(patterns)?;
                let singles = std::mem::take(&mut plan.singles);
                let db = match (plan.found(cache), plan.key) {
                    (Some(db), _) => Some(db),
                    (None, Some(key)) => Some(publish(key, plan.compile(cache)?)),
                    (None, None) => None,
                };
                Ok(Mpm::Hs(db, singles, None))
            }
            Engine::AhoCorasick => {
                build_ac(patterns, if patterns.len() <= 2000 { Some(AhoCorasickKind::DFA) } else { None })
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
        let mut built: Vec<Option<Result<Step, String>>> =
            compile_all(engine, &jobs, cache).into_iter().map(Some).collect();
        let mut later = Vec::new();
        let mut out: Vec<Option<Result<Mpm, String>>> = std::iter::repeat_with(|| None).take(sets.len()).collect();
        for (c, union) in clusters.into_iter().zip(built.iter_mut().take(shared)) {
            let mut targets = Vec::new();
            for (i, ours) in c.members.into_iter().zip(c.maps) {
                let r = match union {
                    // In bounds: members are indexes of sets.
                    Some(Ok(Step::Done(Mpm::Hs(db, _, _)))) => Ok(Mpm::Hs(db.clone(), singles_of(sets[i]), Some(ours))),
                    Some(Ok(Step::Later(_, ac))) => {
                        // In bounds: members are indexes of sets.
                        let p = Pending::new(ac.clone(), Some(ours), singles_of(sets[i]), singles_of(sets[i]));
                        targets.push(p.clone());
                        Ok(Mpm::Pending(p))
                    }
                    Some(Err(e)) => Err(e.clone()),
                    _ => Err("prefilter compile thread failed".into()),
                };
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(r);
                }
            }
            if let Some(Ok(Step::Later(plan, _))) = union.take() {
                later.push(background::Job::new(plan, targets, cache));
            }
        }
        for (i, s) in slot_of.iter().enumerate() {
            if let (Some(s), Some(slot)) = (s, out.get_mut(i)) {
                *slot = built.get_mut(*s).and_then(Option::take).map(|r| {
                    r.map(|step| match step {
                        Step::Done(m) => m,
                        Step::Later(plan, ac) => {
                            let p = Pending::new(ac, None, Vec::new(), plan.singles.clone());
                            later.push(background::Job::new(plan, vec![p.clone()], cache));
                            Mpm::Pending(p)
                        }
                    })
                });
            }
        }
        background::push(later);
        out.into_iter().map(|r| r.unwrap_or_else(|| Err("prefilter compile thread failed".into()))).collect()
    }

    /// Makes `scratch` usable with this database (call once per database at worker start; a
    /// [`Mpm::Pending`] database is fitted by the first scan after it arrives).
    pub fn prepare(&self, scratch: &mut MpmScratch) -> Result<(), String> {
        match self {
            Mpm::Hs(Some(db), _, _) => match &mut scratch.hs {
                Some(s) => db.realloc_scratch(s).map(|_| ()).map_err(|e| e.to_string()),
                None => {
                    scratch.hs = Some(db.alloc_scratch().map_err(|e| e.to_string())?);
                    Ok(())
                }
            },
            Mpm::Pending(p) => match p.hs.get() {
                Some(hs) => {
                    hs.prepare(scratch)?;
                    scratch.fit(p.slot);
                    Ok(())
                }
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Whether this is a database still being compiled in the background.
    pub fn is_pending(&self) -> bool {
        matches!(self, Mpm::Pending(p) if p.hs.get().is_none())
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
                scan_singles(singles, hay, on_match);
            }
            Mpm::Pending(p) => {
                if let Some(hs) = p.hs.get() {
                    // Once per worker and database: the scratch grown to fit (the database
                    // arrived after the worker prepared its scratch).
                    if scratch.fitted(p.slot)
                        || (hs.prepare(scratch).is_ok() && {
                            scratch.fit(p.slot);
                            true
                        })
                    {
                        return hs.scan(scratch, hay, on_match);
                    }
                }
                match &p.map {
                    None => p.ac.scan(scratch, hay, on_match),
                    Some(map) => p.ac.scan(scratch, hay, &mut |id| {
                        if let Some(&own) = map.get(id as usize).filter(|&&own| own != NOT_OURS) {
                            on_match(own);
                        }
                    }),
                }
                scan_singles(&p.singles, hay, on_match);
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

/// An Aho-Corasick [`Mpm::Ac`] of `patterns` (`kind`: the crate's choice when `None`).
fn build_ac(patterns: &[PatternSpec], kind: Option<AhoCorasickKind>) -> Result<Mpm, String> {
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(kind)
        .build(patterns.iter().map(|p| &p.bytes))
        .map_err(|e| format!("aho-corasick build: {e}"))?;
    let confirm = patterns.iter().map(|p| if p.nocase { None } else { Some(p.bytes.clone()) }).collect();
    Ok(Mpm::Ac(ac, confirm))
}

/// Reports the one-byte patterns (see [`Mpm::Hs`]) found in `hay`.
fn scan_singles(singles: &[(u8, bool, u32)], hay: &[u8], on_match: &mut dyn FnMut(u32)) {
    if !singles.is_empty() && singles.len() <= 8 {
        // A few one-byte patterns: a word-at-a-time search each (`contains` is
        // core's memchr) beats a byte-by-byte table over the whole buffer.
        for &(b, nocase, id) in singles {
            let (lo, up) = (b.to_ascii_lowercase(), b.to_ascii_uppercase());
            if hay.contains(&b) || (nocase && ((lo != b && hay.contains(&lo)) || (up != b && hay.contains(&up)))) {
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

/// Compiles each of `sets` as [`Mpm::build_cached`] does, on as many threads as there are
/// cores, the biggest sets first so that no thread is left with a big one at the end.
/// Results in the order of `sets`.
/// What [`compile_all`] made of a set: its matcher, or (the cache defers and does not hold
/// the set's database) the plan of the database to compile in the background and the
/// Aho-Corasick automaton to scan with until then.
enum Step {
    Done(Mpm),
    Later(HsPlan, Arc<Mpm>),
}

impl Step {
    fn make(engine: Engine, set: &[PatternSpec], cache: Option<&DbCache>) -> Result<Step, String> {
        if engine != Engine::Hyperscan || !cache.is_some_and(DbCache::defers) {
            return Mpm::build_cached(engine, set, cache).map(Step::Done);
        }
        let mut plan = HsPlan::new(set)?;
        match plan.found(cache) {
            Some(db) => Ok(Step::Done(Mpm::Hs(Some(db), std::mem::take(&mut plan.singles), None))),
            None if plan.key.is_none() => Ok(Step::Done(Mpm::Hs(None, std::mem::take(&mut plan.singles), None))),
            // The contiguous NFA: built in a few milliseconds per thousand patterns (a DFA
            // takes about four times as long and twenty times the memory).
            None => Ok(Step::Later(plan, Arc::new(build_ac(set, Some(AhoCorasickKind::ContiguousNFA))?))),
        }
    }
}

fn compile_all(engine: Engine, sets: &[&[PatternSpec]], cache: Option<&DbCache>) -> Vec<Result<Step, String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(sets.len());
    if threads <= 1 {
        return sets.iter().map(|p| Step::make(engine, p, cache)).collect();
    }
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sets[i].iter().map(|p| p.bytes.len()).sum::<usize>()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (next, order) = (&next, &order);
    let mut out: Vec<Option<Result<Step, String>>> = std::iter::repeat_with(|| None).take(sets.len()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let mut mine = Vec::new();
                    while let Some(&i) = order.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        // In bounds: order holds indexes of sets.
                        mine.push((i, Step::make(engine, sets[i], cache)));
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

/// The vectorscan compiles a load left to the background (see [`Pending`]): a queue, biggest
/// database first, worked by as many threads as there are cores; each compiled database is
/// stored in the cache, published for later engines and handed to its pending sets.
pub mod background {
    use super::{publish, Arc, DbCache, HsPlan, Mutex, Pending};
    use std::collections::VecDeque;
    use std::time::{Duration, Instant};

    /// One database to compile and the sets waiting for it.
    pub(super) struct Job {
        plan: HsPlan,
        targets: Vec<Arc<Pending>>,
        cache: Option<DbCache>,
        weight: usize,
    }

    impl Job {
        pub(super) fn new(plan: HsPlan, targets: Vec<Arc<Pending>>, cache: Option<&DbCache>) -> Job {
            let weight = plan.patterns.iter().map(|p| p.expression.len()).sum();
            Job { plan, targets, cache: cache.cloned(), weight }
        }
    }

    struct Queue {
        jobs: VecDeque<Job>,
        /// [`hold`]: jobs are queued, no thread starts.
        held: bool,
        /// Threads working the queue.
        running: usize,
        /// Jobs taken by a thread and not done yet.
        in_flight: usize,
        threads: Vec<std::thread::JoinHandle<()>>,
        compiled: u64,
        errors: Vec<String>,
        since: Option<Instant>,
        took: Duration,
    }

    static QUEUE: Mutex<Queue> = Mutex::new(Queue {
        jobs: VecDeque::new(),
        held: false,
        running: 0,
        in_flight: 0,
        threads: Vec::new(),
        compiled: 0,
        errors: Vec::new(),
        since: None,
        took: Duration::ZERO,
    });

    fn queue() -> std::sync::MutexGuard<'static, Queue> {
        QUEUE.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the background compiles did so far.
    #[derive(Clone, Debug, Default, PartialEq)]
    pub struct Status {
        /// Databases compiled in the background since the process started.
        pub compiled: u64,
        /// Databases queued or being compiled.
        pub pending: usize,
        /// Compiles that failed (their sets stay on Aho-Corasick).
        pub errors: Vec<String>,
        /// Time from the first queued database to the last compiled, of the last busy spell.
        pub took: Duration,
    }

    /// Queues `jobs` (started by [`start`]: the load's own threads need the cores first).
    pub(super) fn push(jobs: Vec<Job>) {
        if !jobs.is_empty() {
            queue().jobs.extend(jobs);
        }
    }

    /// Keeps the threads from starting (`true`) until released (`false`, which starts them
    /// on what was queued). The live daemon holds them over its start: it loads the rules
    /// as root and drops its privileges and capabilities while no other thread runs (the
    /// capability change is per thread).
    pub fn hold(on: bool) {
        queue().held = on;
        if !on {
            start();
        }
    }

    /// Starts the threads on the queued jobs, biggest first (unless [`hold`] keeps them).
    pub fn start() {
        let mut q = queue();
        if q.jobs.is_empty() || q.held {
            return;
        }
        q.jobs.make_contiguous().sort_by_key(|j| std::cmp::Reverse(j.weight));
        if q.running == 0 {
            q.since = Some(Instant::now());
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        while q.running < cores && q.running < q.jobs.len() {
            match std::thread::Builder::new().name("prefilter-compile".into()).spawn(work) {
                Ok(h) => {
                    q.running += 1;
                    q.threads.push(h);
                }
                Err(_) if q.running == 0 => {
                    // No thread: compile here rather than never.
                    drop(q);
                    q = queue();
                    q.running += 1;
                    drop(q);
                    work();
                    return;
                }
                Err(_) => break,
            }
        }
    }

    fn work() {
        loop {
            let job = {
                let mut q = queue();
                match q.jobs.pop_front() {
                    Some(j) => {
                        q.in_flight += 1;
                        j
                    }
                    None => {
                        q.running = q.running.saturating_sub(1);
                        if q.running == 0 {
                            q.took = q.since.map_or(Duration::ZERO, |t| t.elapsed());
                        }
                        return;
                    }
                }
            };
            let key = job.plan.key;
            let made = job.plan.compile(job.cache.as_ref());
            let made = made.map(|db| key.map(|k| publish(k, db)));
            if let Ok(Some(db)) = &made {
                for t in &job.targets {
                    t.ready(db.clone());
                }
            }
            let mut q = queue();
            q.in_flight = q.in_flight.saturating_sub(1);
            match made {
                Ok(Some(_)) => q.compiled += 1,
                Ok(None) => {}
                // A few kept (the sets stay on Aho-Corasick, correct and slower).
                Err(e) if q.errors.len() < 8 => q.errors.push(e),
                Err(_) => {}
            }
        }
    }

    /// What was done so far.
    pub fn status() -> Status {
        let q = queue();
        Status { compiled: q.compiled, pending: q.jobs.len() + q.in_flight, errors: q.errors.clone(), took: q.took }
    }

    /// Waits until every queued database is compiled (at the end of a replay: the cache is
    /// then complete for the next run) and returns the status.
    pub fn wait() -> Status {
        loop {
            let threads = std::mem::take(&mut queue().threads);
            if threads.is_empty() {
                break;
            }
            for t in threads {
                let _ = t.join();
            }
        }
        status()
    }
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

    /// With a cache that defers, the sets it does not hold come back as [`Mpm::Pending`]:
    /// Aho-Corasick at once, each finding what the reference engine finds (one-byte patterns,
    /// case, sets sharing a database of their union included); after the background compile
    /// the same scratch, prepared before the databases existed, scans with vectorscan and
    /// finds the same; the databases are in the cache and a second build finds them there.
    #[test]
    fn a_deferring_cache_inspects_with_aho_corasick_until_vectorscan_is_compiled() {
        let dir = tempfile::tempdir().unwrap();
        let spec = |b: &str, nocase: bool| PatternSpec { bytes: b.as_bytes().to_vec(), nocase };
        let big: Vec<PatternSpec> = (0..40).map(|i| spec(&format!("Pat{i}-"), i % 3 == 0)).collect();
        let mut near = big.clone();
        near.push(spec("only-in-near", false));
        let sets: Vec<Vec<PatternSpec>> = vec![
            big,
            near,
            vec![spec("x", false), spec("Q", true), spec("CaseSensitive", false)],
            vec![spec("z", false)],
        ];
        let refs: Vec<&[PatternSpec]> = sets.iter().map(Vec::as_slice).collect();
        let hays: [&[u8]; 4] = [
            b"..pat0-..PAT1-..Pat2-..pat3-..only-in-near..",
            b"x q casesensitive CaseSensitive Pat39-",
            b"nothing here",
            b"z",
        ];
        let expect = |k: usize, hay: &[u8]| {
            let mut v = Vec::new();
            Mpm::Naive(sets[k].clone()).scan(&mut MpmScratch::default(), hay, &mut |id| v.push(id));
            v.sort();
            v.dedup();
            v
        };
        let found = |m: &Mpm, s: &mut MpmScratch, hay: &[u8]| {
            let mut v = Vec::new();
            m.scan(s, hay, &mut |id| v.push(id));
            v.sort();
            v.dedup();
            v
        };
        let cache = DbCache::at(dir.path().to_path_buf(), true).deferring(true);
        // Held (as the live daemon holds them over its privilege drop), no thread starts.
        background::hold(true);
        let built: Vec<Mpm> =
            Mpm::build_many(Engine::Hyperscan, &refs, Some(&cache)).into_iter().map(Result::unwrap).collect();
        // The one-byte-only set needs no vectorscan database.
        let pending: Vec<bool> = built.iter().map(Mpm::is_pending).collect();
        assert_eq!(pending, [true, true, true, false]);
        let mut scratch = MpmScratch::default();
        for m in &built {
            m.prepare(&mut scratch).unwrap();
        }
        let all_as_expected = |built: &[Mpm], scratch: &mut MpmScratch, when: &str| {
            for (k, m) in built.iter().enumerate() {
                for hay in hays {
                    let hay_text = String::from_utf8_lossy(hay);
                    assert_eq!(found(m, scratch, hay), expect(k, hay), "{when} set {k} on {hay_text:?}");
                }
            }
        };
        all_as_expected(&built, &mut scratch, "pending");
        background::start();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(built.iter().filter(|m| m.is_pending()).count(), 3, "held: nothing compiled");
        background::hold(false);
        let status = background::wait();
        assert!(status.errors.is_empty(), "{:?}", status.errors);
        assert!(built.iter().all(|m| !m.is_pending()));
        all_as_expected(&built, &mut scratch, "compiled");
        // Two databases (the union of the first two sets, the third set), both stored.
        assert_eq!(cache.stats().stored, 2);
        drop(built);
        let again = DbCache::at(dir.path().to_path_buf(), true).deferring(true);
        let rebuilt = Mpm::build_many(Engine::Hyperscan, &refs, Some(&again));
        assert!(rebuilt.iter().all(|m| !m.as_ref().unwrap().is_pending()));
        assert_eq!(again.stats().hits, 2);
    }
}
