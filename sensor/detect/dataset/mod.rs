//! Datasets: named sets of indicators (strings, MD5/SHA-256 hashes, IPv4/IPv6 addresses) with
//! an optional 16-bit reputation each, as Suricata's `datasets.c`.
//!
//! Takes: a set's declaration from a rule (`dataset`, `datarep`: [`DatasetDecl`]) or from the
//! `[detect.datasets]` config; values from rule matches (`set`/`unset`), from files, and from
//! the control socket. Promises:
//! - one set per name (case-insensitive), process-wide, shared by every rule and worker that
//!   names it; a second declaration with another type, or other load/save files, is an error;
//! - lookups are O(1) and lock-free: a worker reads an immutable [`Snapshot`] it caches in its
//!   [`Views`] and re-reads only when the set's generation (one atomic load per lookup) says
//!   it changed;
//! - changes (`set`, `unset`, `picket ctl dataset-add/remove`) are serialised by a mutex per
//!   set and published as a new snapshot: a small copy-on-write delta over the shared base,
//!   folded into a new base every [`COMPACT_AT`] changes; a change beyond the set's memcap is
//!   refused and counted;
//! - files use Suricata's formats (one value a line: base64 for strings, hex for hashes,
//!   dotted or colon notation for addresses; `value,reputation` for datarep); a bad line is
//!   skipped with its file and line reported, never a crash; sets with `save`/`state` are
//!   written back (to a temporary file renamed into place) by [`save_all`] at shutdown;
//! - on reload ([`begin_reload`]), sets loaded from a file only (`load` without `save`, not
//!   declared in the config) are read again; the others keep what rules and the control socket
//!   put in them.
//!
//! Never: allocates or locks on a lookup after a worker's first look at a set version.

mod json;
pub(crate) mod state;
mod table;
mod text;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

pub(crate) use table::{KeyHasher, KeyTable};
pub(crate) use text::read_file;

use crate::rule::ast::{DatasetDecl, DatasetJson, DatasetType};

/// Changes kept as a delta before they are folded into a new base.
pub(crate) const COMPACT_AT: usize = 4096;
/// Longest `"key":object` an alert's context takes from a JSON set (Suricata's
/// SIG_JSON_CONTENT_ITEM_LEN).
pub(crate) const CONTEXT_ITEM_MAX: usize = 1024;
/// Default `hashsize` (Suricata's DATASETS_HASHSIZE_DEFAULT), used as the initial capacity.
pub(crate) const DEFAULT_HASHSIZE: u32 = 4096;

/// `[detect.datasets]`: where saved sets go, defaults, and sets declared up front (as
/// Suricata's `datasets:` section).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetsConfig {
    /// Folder of the files of `save` and `state` (Suricata's data-dir); relative names given
    /// by rules are resolved in it.
    pub data_dir: String,
    /// Memcap of a set that does not give one, bytes (0: none).
    pub default_memcap: u64,
    /// Initial hash size of a set that does not give one.
    pub default_hashsize: u32,
    /// Sets of at least this many entries keep a binary copy of their table ([`state`]),
    /// read at the next start instead of the text; 0: never.
    pub binary_state_min: u64,
    /// Sets declared here by name; rules may then use them without `type`.
    pub sets: BTreeMap<String, SetConfig>,
}

impl Default for DatasetsConfig {
    fn default() -> Self {
        DatasetsConfig {
            data_dir: "/var/lib/picket/data".into(),
            default_memcap: 0,
            default_hashsize: DEFAULT_HASHSIZE,
            binary_state_min: 100_000,
            sets: BTreeMap::new(),
        }
    }
}

/// One set of `[detect.datasets.sets.NAME]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SetConfig {
    /// `string`, `md5`, `sha256`, `ipv4` or `ip`.
    #[serde(rename = "type")]
    pub kind: String,
    /// File read at start (relative: in the data directory if there, else as given).
    pub load: String,
    /// File read at start and written at shutdown (relative: in the data directory).
    pub state: String,
    /// Bytes the set may use (0: the default).
    pub memcap: u64,
    /// Initial hash size (0: the default).
    pub hashsize: u32,
}

/// What a lookup sees: the base shared by every snapshot since the last fold, and the changes
/// since (`added` wins over the base, `removed` hides base entries; the two are disjoint).
#[derive(Debug)]
pub struct Snapshot {
    base: Arc<KeyTable>,
    added: KeyTable,
    removed: KeyTable,
}

impl Snapshot {
    /// The reputation of `key` (0 for plain dataset entries) if it is in the set.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        if !self.added.is_empty() {
            if let Some(r) = self.added.get(key) {
                return Some(r);
            }
        }
        if !self.removed.is_empty() && self.removed.get(key).is_some() {
            return None;
        }
        self.base.get(key)
    }

    /// Entries.
    pub fn len(&self) -> usize {
        (self.base.len() + self.added.len()).saturating_sub(self.removed.len())
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of `table` alone.
    fn of(table: KeyTable) -> Snapshot {
        let h = *table.hasher();
        Snapshot { base: Arc::new(table), added: KeyTable::with_hasher(h, 0), removed: KeyTable::with_hasher(h, 0) }
    }

    /// The hash key of the snapshot's tables.
    pub(crate) fn hasher(&self) -> KeyHasher {
        *self.base.hasher()
    }

    fn mem_bytes(&self) -> usize {
        self.base.mem_bytes() + self.added.mem_bytes() + self.removed.mem_bytes()
    }

    /// Every entry (key bytes in the set's internal form, reputation).
    pub fn for_each(&self, mut f: impl FnMut(&[u8], u32)) {
        // No delta (a set just loaded, as when its binary copy is written): no lookup per key,
        // which for ten million keys cost two hashes each, seconds per pass.
        let (removed, added) = (!self.removed.is_empty(), !self.added.is_empty());
        for (k, r) in self.base.iter() {
            if !(removed && self.removed.get(k).is_some() || added && self.added.get(k).is_some()) {
                f(k, r);
            }
        }
        for (k, r) in self.added.iter() {
            f(k, r);
        }
    }

    fn delta_copy(&self) -> Snapshot {
        Snapshot { base: self.base.clone(), added: self.added.clone(), removed: self.removed.clone() }
    }

    /// The same entries with the delta folded into a new base, once it has grown.
    fn folded(self) -> Snapshot {
        if self.added.len() + self.removed.len() < COMPACT_AT {
            return self;
        }
        let mut base = self.base.compacted();
        for (k, _) in self.removed.iter() {
            base.remove(k);
        }
        for (k, r) in self.added.iter() {
            base.upsert(k, r);
        }
        let h = *base.hasher();
        Snapshot { base: Arc::new(base), added: KeyTable::with_hasher(h, 0), removed: KeyTable::with_hasher(h, 0) }
    }
}

/// The result of adding a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// It was not there.
    New,
    /// It was there already (its reputation unchanged, as Suricata).
    Present,
    /// The set's memcap does not allow it (counted).
    Refused,
}

/// A named set. See the module documentation.
#[derive(Debug)]
pub struct Dataset {
    /// Name as first declared.
    pub name: String,
    /// Value type.
    pub kind: DatasetType,
    id: usize,
    /// File read at creation, resolved.
    pub load: Option<PathBuf>,
    /// File written by [`save_all`], resolved.
    pub save: Option<PathBuf>,
    /// Bytes allowed (0: no limit).
    pub memcap: u64,
    from_config: bool,
    current: Mutex<Arc<Snapshot>>,
    generation: AtomicU64,
    /// Additions refused by the memcap.
    pub refused: AtomicU64,
    /// Binary states not used because stale or damaged (the text was read instead).
    pub state_fallbacks: AtomicU64,
    /// Where the binary copy of the table goes (none: the set is too small, or has no file).
    binary: Option<PathBuf>,
    /// `format json`/`ndjson`: where the values are in the file's objects.
    pub json: Option<DatasetJson>,
    /// The contexts of a JSON set's entries (an entry's value is its index + 1; 0: none).
    contexts: Vec<Box<str>>,
}

impl Dataset {
    fn new(id: usize, name: &str, kind: DatasetType, capacity: usize) -> Dataset {
        let h = KeyHasher::random();
        let snap = Snapshot {
            base: Arc::new(KeyTable::with_hasher(h, capacity)),
            added: KeyTable::with_hasher(h, 0),
            removed: KeyTable::with_hasher(h, 0),
        };
        Dataset {
            name: name.to_string(),
            kind,
            id,
            load: None,
            save: None,
            memcap: 0,
            from_config: false,
            current: Mutex::new(Arc::new(snap)),
            generation: AtomicU64::new(1),
            refused: AtomicU64::new(0),
            state_fallbacks: AtomicU64::new(0),
            binary: None,
            json: None,
            contexts: Vec::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Arc<Snapshot>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current snapshot (takes the set's lock: for the control socket and saving, not
    /// for detection, which goes through [`Views`]).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.lock().clone()
    }

    fn publish(&self, cur: &mut Arc<Snapshot>, next: Snapshot) {
        *cur = Arc::new(next.folded());
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Adds `key` (internal form) with reputation `rep`.
    pub fn add(&self, key: &[u8], rep: u32) -> Added {
        let mut cur = self.lock();
        if cur.get(key).is_some() {
            return Added::Present;
        }
        if self.memcap > 0 && (cur.mem_bytes() + KeyTable::cost_of(key.len())) as u64 > self.memcap {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Added::Refused;
        }
        let mut next = cur.delta_copy();
        next.removed.remove(key);
        if next.base.get(key) != Some(rep) {
            next.added.insert(key, rep);
        }
        self.publish(&mut cur, next);
        Added::New
    }

    /// Removes `key` (internal form); whether it was there.
    pub fn remove(&self, key: &[u8]) -> bool {
        let mut cur = self.lock();
        if cur.get(key).is_none() {
            return false;
        }
        let mut next = cur.delta_copy();
        next.added.remove(key);
        if next.base.get(key).is_some() {
            next.removed.insert(key, 0);
        }
        self.publish(&mut cur, next);
        true
    }

    /// The context of an entry of a JSON set, by the entry's value.
    #[inline]
    pub fn context(&self, rep: u32) -> Option<&str> {
        self.contexts.get((rep as usize).checked_sub(1)?).map(|c| &**c)
    }

    /// Entries now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Bytes the set's tables hold now.
    pub fn mem_bytes(&self) -> usize {
        self.lock().mem_bytes()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the set is read from a file only (re-read on reload).
    fn is_static(&self) -> bool {
        self.load.is_some() && self.save.is_none() && !self.from_config
    }

    fn install(&self, table: KeyTable) {
        let mut cur = self.lock();
        self.publish(&mut cur, Snapshot::of(table));
    }

    fn hasher(&self) -> KeyHasher {
        *self.lock().base.hasher()
    }
}

/// A worker's cached snapshots, one per set it has looked at.
#[derive(Debug, Default, Clone)]
pub struct Views {
    slots: Vec<(u64, Option<Arc<Snapshot>>)>,
    /// Lookups and hits since the worker last published them.
    pub lookups: u64,
    /// See `lookups`.
    pub hits: u64,
}

impl Views {
    /// Moves the lookup counts into the worker's counters.
    #[inline]
    pub fn publish(&mut self, c: &mut crate::metrics::Counters) {
        if self.lookups != 0 {
            c.add(crate::metrics::C::DetectDatasetLookups, self.lookups);
            c.add(crate::metrics::C::DetectDatasetHits, self.hits);
            self.lookups = 0;
            self.hits = 0;
        }
    }

    /// The snapshot of `set` this worker reads: the cached one unless the set changed since.
    #[inline]
    pub fn get(&mut self, set: &Dataset) -> &Snapshot {
        if self.slots.len() <= set.id {
            self.slots.resize_with(set.id + 1, || (0, None));
        }
        let gen = set.generation.load(Ordering::Acquire);
        // In bounds: resized above to hold set.id.
        let slot = &mut self.slots[set.id];
        if slot.0 != gen || slot.1.is_none() {
            slot.1 = Some(set.snapshot());
            slot.0 = gen;
        }
        match &slot.1 {
            Some(s) => s,
            None => unreachable_empty(),
        }
    }
}

#[cold]
fn unreachable_empty() -> &'static Snapshot {
    static EMPTY: OnceLock<Snapshot> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let h = KeyHasher::random();
        Snapshot {
            base: Arc::new(KeyTable::with_hasher(h, 0)),
            added: KeyTable::with_hasher(h, 0),
            removed: KeyTable::with_hasher(h, 0),
        }
    })
}

/// The key a buffer gives for a set of type `kind`: the bytes themselves, or `None` when the
/// length does not fit the type (an IPv4 address of 4 bytes is widened for `ip` sets, as
/// Suricata stores it). `tmp` holds the widened form.
#[inline]
pub(crate) fn buffer_key<'a>(kind: DatasetType, data: &'a [u8], tmp: &'a mut [u8; 16]) -> Option<&'a [u8]> {
    match (kind, data.len()) {
        (DatasetType::String, _) | (DatasetType::Md5, 16) | (DatasetType::Sha256, 32) | (DatasetType::Ipv4, 4) => {
            Some(data)
        }
        (DatasetType::Ip, 16) => Some(data),
        (DatasetType::Ip, 4) => {
            *tmp = [0; 16];
            tmp[..4].copy_from_slice(data);
            Some(&tmp[..])
        }
        _ => None,
    }
}

/// A value as files and the control socket write it, to the set's internal form.
pub(crate) fn parse_value(kind: DatasetType, text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    match kind {
        DatasetType::String => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("bad base64 '{}': {e}", short(text))),
        DatasetType::Md5 | DatasetType::Sha256 => {
            let n = if kind == DatasetType::Md5 { 16 } else { 32 };
            let b = text.as_bytes();
            if b.len() != 2 * n {
                return Err(format!("'{}' is not {} hex digits", short(text), 2 * n));
            }
            b.chunks(2)
                .map(|p| {
                    let s = std::str::from_utf8(p).unwrap_or("zz");
                    u8::from_str_radix(s, 16).map_err(|_| format!("'{}' is not hex", short(text)))
                })
                .collect()
        }
        DatasetType::Ipv4 => text
            .parse::<std::net::Ipv4Addr>()
            .map(|a| a.octets().to_vec())
            .map_err(|_| format!("'{}' is not an IPv4 address", short(text))),
        DatasetType::Ip => {
            if text.contains(':') {
                let a: std::net::Ipv6Addr =
                    text.parse().map_err(|_| format!("'{}' is not an IP address", short(text)))?;
                let mut k = [0u8; 16];
                match a.to_ipv4_mapped() {
                    Some(v4) => k[..4].copy_from_slice(&v4.octets()),
                    None => k = a.octets(),
                }
                Ok(k.to_vec())
            } else {
                let a: std::net::Ipv4Addr =
                    text.parse().map_err(|_| format!("'{}' is not an IP address", short(text)))?;
                let mut k = [0u8; 16];
                k[..4].copy_from_slice(&a.octets());
                Ok(k.to_vec())
            }
        }
    }
}

/// The internal form back to the text files and the control socket use.
pub(crate) fn format_value(kind: DatasetType, key: &[u8]) -> String {
    match kind {
        DatasetType::String => base64::engine::general_purpose::STANDARD.encode(key),
        DatasetType::Md5 | DatasetType::Sha256 => key.iter().map(|b| format!("{b:02x}")).collect(),
        DatasetType::Ipv4 => match <[u8; 4]>::try_from(key) {
            Ok(a) => std::net::Ipv4Addr::from(a).to_string(),
            Err(_) => String::new(),
        },
        DatasetType::Ip => match <[u8; 16]>::try_from(key) {
            Ok(a) if a[4..].iter().all(|&b| b == 0) => std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string(),
            Ok(a) => std::net::Ipv6Addr::from(a).to_string(),
            Err(_) => String::new(),
        },
    }
}

fn short(s: &str) -> String {
    let mut e = s.char_indices().nth(64).map_or(s.len(), |(i, _)| i);
    while !s.is_char_boundary(e) {
        e -= 1;
    }
    s.get(..e).unwrap_or("").to_string()
}

/// What reading a set's file gave.
#[derive(Debug, Default, Clone)]
pub(crate) struct LoadResult {
    /// Entries read.
    pub entries: usize,
    /// Lines skipped, with the first few reasons (`file:line: why`).
    pub skipped: usize,
    /// The first reasons.
    pub errors: Vec<String>,
    /// Lines refused by the memcap (counted with the others in `skipped`).
    pub memcap_refused: u64,
}

/// Writes a set in the format [`read_file`] reads, to a temporary file renamed over `path`.
#[cfg(test)]
pub(crate) fn write_file(set: &Dataset, path: &Path, with_rep: bool) -> Result<usize, String> {
    write_file_of(set, &set.snapshot(), path, with_rep)
}

/// The binary copy of a `state` set just saved to `text` (see [`state`]); what to add to the
/// log line.
fn save_binary(set: &Dataset, snap: &Snapshot, text: &Path) -> Result<String, String> {
    let Some(bin) = set.binary.as_deref().filter(|_| set.load.as_deref() == Some(text)) else {
        return Ok(String::new());
    };
    let min = registry().config.binary_state_min;
    if min == 0 || (snap.len() as u64) < min {
        let _ = std::fs::remove_file(bin);
        return Ok(String::new());
    }
    state::write(bin, text, set.kind, snap).map(|_| format!(" (and {})", bin.display()))
}

fn write_file_of(set: &Dataset, snap: &Snapshot, path: &Path, with_rep: bool) -> Result<usize, String> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let f = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let mut n = 0usize;
    let mut err = None;
    snap.for_each(|k, r| {
        let v = format_value(set.kind, k);
        let res = if with_rep { writeln!(w, "{v},{r}") } else { writeln!(w, "{v}") };
        if let Err(e) = res {
            err.get_or_insert(e);
        }
        n += 1;
    });
    if let Some(e) = err {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", tmp.display()));
    }
    w.flush().map_err(|e| format!("{}: {e}", tmp.display()))?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(n)
}

/// The process-wide sets.
struct Registry {
    config: DatasetsConfig,
    sets: HashMap<String, Arc<Dataset>>,
    /// Sets with reputation values (saved as `value,rep`).
    with_rep: HashMap<String, bool>,
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(|| {
        Mutex::new(Registry { config: DatasetsConfig::default(), sets: HashMap::new(), with_rep: HashMap::new() })
    })
    .lock()
    .unwrap_or_else(|p| p.into_inner())
}

fn resolve_data(dir: &str, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() || dir.is_empty() {
        path.to_path_buf()
    } else {
        Path::new(dir).join(path)
    }
}

/// Applies the `[detect.datasets]` config: the data directory and defaults for sets created
/// from now on, and the sets it declares (created, and read from their files, unless a set of
/// that name exists with the same type). Errors name the set and the reason.
pub(crate) fn configure(cfg: &DatasetsConfig) -> Result<(), String> {
    registry().config = cfg.clone();
    for (name, sc) in &cfg.sets {
        let kind = DatasetType::from_name(&sc.kind)
            .ok_or_else(|| format!("datasets.sets.{name}: bad type '{}' (string, md5, sha256, ipv4, ip)", sc.kind))?;
        let (load, save) = if !sc.state.is_empty() {
            let p = resolve_data(&cfg.data_dir, &sc.state);
            (Some(p.clone()), Some(p))
        } else if !sc.load.is_empty() {
            let p = resolve_data(&cfg.data_dir, &sc.load);
            (Some(if p.exists() { p } else { PathBuf::from(&sc.load) }), None)
        } else {
            (None, None)
        };
        create(name, kind, load, save, sc.memcap, sc.hashsize, true, false, None)
            .map_err(|e| format!("datasets.sets.{name}: {e}"))?;
    }
    Ok(())
}

/// Before rules are loaded again: sets read from a file only are dropped from the registry,
/// so that the new rules read their files again (the running engine keeps its copies until
/// it is replaced).
pub(crate) fn begin_reload() {
    registry().sets.retain(|_, s| !s.is_static());
}

#[allow(clippy::too_many_arguments, reason = "every option of a dataset declaration, as Suricata's")]
fn create(
    name: &str,
    kind: DatasetType,
    load: Option<PathBuf>,
    save: Option<PathBuf>,
    memcap: u64,
    hashsize: u32,
    from_config: bool,
    rep: bool,
    json: Option<&DatasetJson>,
) -> Result<Arc<Dataset>, String> {
    let key = name.to_ascii_lowercase();
    let mut reg = registry();
    if let Some(s) = reg.sets.get(&key).cloned() {
        if s.kind != kind {
            return Err(format!("dataset {} already exists and is of type {}", s.name, s.kind.name()));
        }
        if (load.is_some() || save.is_some()) && (s.load != load || s.save != save) {
            return Err(format!(
                "dataset {} is declared with other files (load {:?}, save {:?})",
                s.name,
                s.load.as_deref().map(Path::display).map(|d| d.to_string()),
                s.save.as_deref().map(Path::display).map(|d| d.to_string())
            ));
        }
        if json.is_some() != s.json.is_some() || (json.is_some() && s.load != load) {
            return Err(format!("dataset {} is declared with another format or file", s.name));
        }
        if json.is_some_and(|j| s.json.as_ref().is_some_and(|o| o.remove_key != j.remove_key)) {
            return Err(format!("dataset {} remove_key mismatch", s.name));
        }
        if rep {
            reg.with_rep.insert(key, true);
        }
        return Ok(s);
    }
    let memcap = if memcap > 0 { memcap } else { reg.config.default_memcap };
    let hashsize = if hashsize > 0 { hashsize } else { reg.config.default_hashsize };
    let capacity = (hashsize as usize).min(1 << 24);
    let mut set = Dataset::new(NEXT_ID.fetch_add(1, Ordering::Relaxed), name, kind, capacity);
    set.memcap = memcap;
    set.from_config = from_config;
    set.load = load.clone();
    set.save = save.clone();
    set.json = json.cloned();
    if let (Some(path), Some(spec)) = (&load, json) {
        let l = json::read_json(path, kind, spec, set.hasher(), memcap)?;
        report_skips(name, &l.res);
        set.refused.store(l.res.memcap_refused, Ordering::Relaxed);
        set.contexts = l.contexts;
        set.install(l.table);
    } else if let Some(path) = &load {
        let state = save.as_ref() == Some(path);
        if state && !path.exists() {
            // Suricata opens a state file with "a+": a missing one is created empty.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let min = reg.config.binary_state_min;
        let bin = match &save {
            Some(s) if s == path => state::beside(path),
            _ => state::in_cache(&reg.config.data_dir, name),
        };
        let read = if min > 0 { state::read(&bin, path, kind) } else { Err(state::Unusable::Missing) };
        let t = match read {
            Ok(t) if memcap == 0 || (t.mem_bytes() as u64) <= memcap => t,
            other => {
                match &other {
                    Ok(_) => {
                        eprintln!("picket: dataset {name}: {} is over the memcap, reading the text", bin.display())
                    }
                    Err(state::Unusable::Missing) => {}
                    Err(why) => {
                        eprintln!(
                            "picket: dataset {name}: binary state {} {why}: reading {}",
                            bin.display(),
                            path.display()
                        );
                        set.state_fallbacks.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let (t, res) = read_file(path, kind, set.hasher(), capacity, memcap)?;
                report_skips(name, &res);
                set.refused.store(res.memcap_refused, Ordering::Relaxed);
                if min > 0 && t.len() as u64 >= min && save.as_ref() != Some(path) {
                    // A `load` file: the copy is made now (a `state` file's at shutdown).
                    let snap = Snapshot::of(t);
                    if let Err(e) = state::write(&bin, path, kind, &snap) {
                        eprintln!("picket: dataset {name}: binary copy not written: {e}");
                    }
                    Arc::try_unwrap(snap.base).unwrap_or_else(|a| (*a).clone())
                } else {
                    t
                }
            }
        };
        if min > 0 {
            set.binary = Some(bin);
        }
        set.install(t);
    }
    let set = Arc::new(set);
    reg.sets.insert(key.clone(), set.clone());
    if rep {
        reg.with_rep.insert(key, true);
    }
    Ok(set)
}

fn report_skips(name: &str, res: &LoadResult) {
    for e in &res.errors {
        eprintln!("picket: dataset {name}: skipped {e}");
    }
    if res.skipped > res.errors.len() {
        eprintln!("picket: dataset {name}: {} entries skipped in all", res.skipped);
    }
}

/// The set a rule declares: the existing one of that name, or a new one (read from its file).
/// `rep`: declared by `datarep` (values are saved with their reputation).
pub(crate) fn get_or_create(decl: &DatasetDecl, rep: bool) -> Result<Arc<Dataset>, String> {
    let data_dir = registry().config.data_dir.clone();
    let (load, save) = match (&decl.load, &decl.save) {
        (Some(l), Some(s)) if l == s => {
            let p = resolve_data(&data_dir, s);
            (Some(p.clone()), Some(p))
        }
        (l, s) => {
            let load = l.as_ref().map(|l| {
                let p = Path::new(l);
                if p.is_absolute() {
                    return p.to_path_buf();
                }
                let near = Path::new(&decl.rule_dir).join(p);
                if near.exists() {
                    near
                } else {
                    p.to_path_buf()
                }
            });
            (load, s.as_ref().map(|s| resolve_data(&data_dir, s)))
        }
    };
    let kind = match decl.kind {
        Some(k) => k,
        None => match find(&decl.name) {
            Some(s) => s.kind,
            None => return Err(format!("dataset {} not defined (give its type)", decl.name)),
        },
    };
    create(&decl.name, kind, load, save, decl.memcap, decl.hashsize, false, rep, decl.json.as_ref())
        .map_err(|e| format!("failed to set up dataset '{}': {e}", decl.name))
}

/// Gauges of every set for `/metrics`: entries, memory, memcap, refusals.
pub(crate) fn gauges() -> Vec<crate::metrics::prom::GaugeFamily> {
    use crate::metrics::prom::GaugeFamily;
    let sets = all();
    let fam = |name, help, f: &dyn Fn(&Dataset) -> f64| GaugeFamily {
        name,
        help,
        label: "set",
        values: sets.iter().map(|s| (s.name.clone(), f(s))).collect(),
    };
    vec![
        fam("picket_dataset_entries", "values in the dataset", &|s| s.len() as f64),
        fam("picket_dataset_memory_bytes", "bytes the dataset's table holds", &|s| s.mem_bytes() as f64),
        fam("picket_dataset_memcap_bytes", "the dataset's memcap (0: none)", &|s| s.memcap as f64),
        fam(
            "picket_dataset_memcap_refused",
            "values refused by the dataset's memcap (file lines, rules, control socket)",
            &|s| s.refused.load(Ordering::Relaxed) as f64,
        ),
        fam(
            "picket_dataset_state_fallbacks",
            "binary states of the dataset not used (stale or damaged): its text file was read instead",
            &|s| s.state_fallbacks.load(Ordering::Relaxed) as f64,
        ),
    ]
}

/// The set called `name` (case-insensitive).
pub(crate) fn find(name: &str) -> Option<Arc<Dataset>> {
    registry().sets.get(&name.to_ascii_lowercase()).cloned()
}

/// Every set, by name.
pub(crate) fn all() -> Vec<Arc<Dataset>> {
    let mut v: Vec<Arc<Dataset>> = registry().sets.values().cloned().collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Writes every set with `save`/`state` to its file. Returns one line per set: what was
/// written, or why it could not be.
pub(crate) fn save_all() -> Vec<Result<String, String>> {
    let sets: Vec<(Arc<Dataset>, bool)> = {
        let reg = registry();
        reg.sets.iter().map(|(k, s)| (s.clone(), reg.with_rep.get(k).copied().unwrap_or(false))).collect()
    };
    let mut out = Vec::new();
    for (s, rep) in sets {
        let Some(path) = &s.save else { continue };
        let snap = s.snapshot();
        let r = write_file_of(&s, &snap, path, rep).and_then(|n| save_binary(&s, &snap, path).map(|b| (n, b)));
        out.push(match r {
            Ok((n, b)) => Ok(format!("dataset {}: {n} entries saved to {}{b}", s.name, path.display())),
            Err(e) => Err(format!("dataset {}: not saved: {e}", s.name)),
        });
    }
    out
}

/// Reads `data` as each kind of set file, written under `dir`: text (the type and a memcap
/// picked by the first byte), `json` and `ndjson`, and a binary state (its header made current
/// and its checksum valid when the first byte's top bit is set); a text that loads is saved as
/// a binary state and read back. What the fuzz target drives: any bytes, never a panic. Returns
/// pairs that must be equal (entries counted and held, before and after a round trip).
pub(crate) fn fuzz_files(data: &[u8], dir: &Path) -> Vec<(usize, usize)> {
    let mut eq = Vec::new();
    let Some((&sel, body)) = data.split_first() else { return eq };
    let kinds = [DatasetType::String, DatasetType::Md5, DatasetType::Sha256, DatasetType::Ipv4, DatasetType::Ip];
    let kind = kinds[usize::from(sel & 7) % kinds.len()];
    let memcap = if sel & 8 != 0 { 2048 } else { 0 };
    let pid = std::process::id();
    let (text, bin) = (dir.join(format!("picket-fuzz-ds-{pid}.lst")), dir.join(format!("picket-fuzz-ds-{pid}.pkds")));
    if std::fs::write(&text, body).is_err() {
        return eq;
    }
    let h = KeyHasher { k0: 7, k1: 11 };
    if let Ok((t, res)) = text::read_with(&text, kind, h, 0, memcap, 64, 3) {
        eq.push((res.entries, t.len()));
        let n = t.len();
        if state::write(&bin, &text, kind, &Snapshot::of(t)).is_ok() {
            eq.push((n, state::read(&bin, &text, kind).map_or(usize::MAX, |t| t.len())));
        }
    }
    for ndjson in [false, true] {
        let spec = DatasetJson {
            ndjson,
            value_key: if sel & 16 != 0 { "a.b".into() } else { "v".into() },
            array_key: if sel & 32 != 0 { "list".into() } else { String::new() },
            remove_key: sel & 64 != 0,
        };
        if let Ok(l) = json::read_json(&text, kind, &spec, h, memcap) {
            eq.push((l.res.entries, l.table.len()));
            eq.push((l.contexts.len(), l.table.len()));
        }
    }
    let mut state = body.to_vec();
    if sel & 128 != 0 {
        state::seal(&mut state, &text);
    }
    if std::fs::write(&bin, &state).is_ok() {
        let _ = state::read(&bin, &text, kind);
    }
    let _ = std::fs::remove_file(&text);
    let _ = std::fs::remove_file(&bin);
    eq
}

#[cfg(test)]
mod tests;

/// A control-socket request on a set (Suricata's `dataset-add`, `dataset-remove`,
/// `dataset-lookup`, `dataset-clear`): `value` is in the file form (base64 for strings). The
/// answer is the message and whether the command succeeded, in Suricata's words.
pub(crate) fn control(command: &str, name: &str, kind: &str, value: Option<&str>) -> Result<String, String> {
    let kind = DatasetType::from_name(kind).ok_or("unknown settype")?;
    let set = find(name).filter(|s| s.kind == kind).ok_or("set not found or wrong type")?;
    if command == "dataset-clear" {
        let h = set.hasher();
        set.install(KeyTable::with_hasher(h, 0));
        return Ok("dataset cleared".into());
    }
    let value = value.ok_or("datavalue is not string")?;
    let key = parse_value(kind, value)?;
    match command {
        "dataset-add" => match set.add(&key, 0) {
            Added::New => Ok("data added".into()),
            Added::Present => Ok("data already in set".into()),
            Added::Refused => Err("failed to add data (memcap reached)".into()),
        },
        "dataset-remove" if set.remove(&key) => Ok("data removed".into()),
        "dataset-remove" => Err("failed to remove data (not in set)".into()),
        "dataset-lookup" if set.snapshot().get(&key).is_some() => Ok("item found in set".into()),
        "dataset-lookup" => Err("item not found in set".into()),
        other => Err(format!("unknown dataset command `{other}`")),
    }
}
