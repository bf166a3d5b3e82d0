//! The compiled-database cache: Hyperscan databases kept on disk between runs, so that a
//! restart with unchanged rules skips their compilation (Suricata's `sgh-mpm-caching`).
//!
//! Takes: a folder (`detect.cache_dir`) and, per database, the exact literal list given to the
//! compiler. Promises: a database is found again only under the key of the same pattern list
//! (bytes, flags and ids, in order), the same vectorscan version and the same machine
//! architecture; every file is checked (magic, format, key, length, SHA-1 of the database)
//! before vectorscan is asked to deserialize it, and a file that fails any check (damaged,
//! truncated, from another version, another tool's) is counted, named in a warning and
//! replaced by a fresh compile. Files are written to a temporary name and renamed, so a
//! concurrent start never reads half a file.
//! Never: fails a rule load: an unusable folder disables the cache with a warning, a bad file
//! costs a compile.
//!
//! File layout (little endian): `PICKETDB`, format u32, key [20], payload length u64,
//! SHA-1(payload) [20], payload (vectorscan's serialized database).
//!
//! Files of rule sets no longer used stay until removed (`rm <cache_dir>/*.hsdb` is safe at any
//! time).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hyperscan::prelude::*;
use hyperscan::Serialized;
use sha1::{Digest, Sha1};

/// The default folder (falls back to the user's cache folder, then a private temp folder, when
/// it cannot be written).
pub(crate) const DEFAULT_DIR: &str = "/var/cache/picket";

const MAGIC: &[u8; 8] = b"PICKETDB";
const FORMAT: u32 = 1;
const HEADER: usize = 8 + 4 + 20 + 8 + 20;
/// Warnings kept (the count goes on).
const MAX_WARNINGS: usize = 8;

/// What the cache did during a load.
#[derive(Debug, Clone, Default)]
pub struct CacheStats {
    /// The folder in use (`None`: cache off).
    pub dir: Option<PathBuf>,
    /// Databases loaded from the cache.
    pub hits: u64,
    /// Databases compiled (not in the cache).
    pub misses: u64,
    /// Databases written to the cache.
    pub stored: u64,
    /// Cache files refused (damaged, foreign, other version) and replaced.
    pub rejected: u64,
    /// Writes that failed.
    pub write_errors: u64,
    /// Why the cache is off or what went wrong (a few).
    pub warnings: Vec<String>,
    /// Databases left to compile in the background when the load returned (see
    /// `detect.compile_in_background`).
    pub background: usize,
}

impl CacheStats {
    /// `, prefilter cache: N hit(s), M compiled` for the load summary.
    pub fn summary(&self) -> String {
        match &self.dir {
            None => String::from("; prefilter cache off"),
            Some(_) => {
                let mut s = format!("; prefilter cache: {} hit(s), {} compiled", self.hits, self.misses);
                if self.rejected > 0 {
                    s.push_str(&format!(", {} bad file(s) replaced", self.rejected));
                }
                if self.write_errors > 0 {
                    s.push_str(&format!(", {} write error(s)", self.write_errors));
                }
                if self.background > 0 {
                    s.push_str(&format!(
                        ", {} compiling in the background (Aho-Corasick until each is ready)",
                        self.background
                    ));
                }
                s
            }
        }
    }

    /// As JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "dir": self.dir.as_ref().map(|d| d.display().to_string()),
            "hits": self.hits,
            "misses": self.misses,
            "stored": self.stored,
            "rejected": self.rejected,
            "write_errors": self.write_errors,
        })
    }
}

/// An open cache folder; clones share it (and its counts): the prefilter databases compiled
/// in the background after a load are stored through a clone.
#[derive(Debug, Clone)]
pub struct DbCache {
    state: std::sync::Arc<CacheState>,
    /// Databases not found here are compiled in the background while Aho-Corasick inspects
    /// (`detect.compile_in_background`, see `matcher::Pending`).
    defer: bool,
}

impl std::ops::Deref for DbCache {
    type Target = CacheState;
    fn deref(&self) -> &CacheState {
        &self.state
    }
}

/// The folder and what was done with it.
#[derive(Debug)]
pub struct CacheState {
    dir: PathBuf,
    writable: bool,
    hits: AtomicU64,
    misses: AtomicU64,
    stored: AtomicU64,
    rejected: AtomicU64,
    write_errors: AtomicU64,
    warnings: Mutex<Vec<String>>,
}

/// A cache key: SHA-1 of the format, the engine and the pattern list.
pub(crate) type Key = [u8; 20];

fn writable_dir(dir: &Path, private: bool) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true).mode(if private { 0o700 } else { 0o755 });
        b.create(dir).map_err(|e| e.to_string())?;
    }
    #[cfg(not(unix))]
    {
        let _ = private;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let probe = dir.join(format!(".probe.{}", std::process::id()));
    let r = std::fs::File::create(&probe).map_err(|e| e.to_string());
    #[cfg(unix)]
    if private && r.is_ok() {
        // A folder in a shared temp folder must be ours and closed to others: a database
        // planted there would be deserialized.
        use std::os::unix::fs::MetadataExt;
        let (d, p) = (std::fs::metadata(dir), std::fs::metadata(&probe));
        let _ = std::fs::remove_file(&probe);
        return match (d, p) {
            (Ok(d), Ok(p)) if d.uid() == p.uid() && d.mode() & 0o022 == 0 => Ok(()),
            _ => Err("not owned by this user or writable by others".into()),
        };
    }
    let _ = std::fs::remove_file(&probe);
    r.map(|_| ())
}

impl DbCache {
    /// Opens the folder named by `detect.cache_dir`: empty disables the cache; the default
    /// folder falls back to `$XDG_CACHE_HOME/picket` (or `~/.cache/picket`), then to a private
    /// folder in the temp folder; a folder given explicitly that cannot be written is used
    /// read-only. Returns the cache (or `None`) and a warning to show.
    pub fn open(configured: &str) -> (Option<DbCache>, Option<String>) {
        if configured.is_empty() {
            return (None, None);
        }
        let first = PathBuf::from(configured);
        let first_err = match writable_dir(&first, false) {
            Ok(()) => return (Some(DbCache::at(first, true)), None),
            Err(e) => e,
        };
        if configured != DEFAULT_DIR {
            if first.is_dir() {
                let w = format!("{configured}: {first_err}: the prefilter cache is read-only");
                return (Some(DbCache::at(first, false)), Some(w));
            }
            return (None, Some(format!("{configured}: {first_err}: prefilter cache off")));
        }
        let user = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("picket"));
        if let Some(d) = user {
            if writable_dir(&d, false).is_ok() {
                return (Some(DbCache::at(d, true)), None);
            }
        }
        let who = std::env::var("USER").ok().filter(|u| u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        let tmp = std::env::temp_dir().join(format!("picket-cache-{}", who.unwrap_or_else(|| "user".into())));
        match writable_dir(&tmp, true) {
            Ok(()) => (Some(DbCache::at(tmp, true)), None),
            Err(e) => {
                (None, Some(format!("no usable folder for the prefilter cache ({}: {e}); cache off", tmp.display())))
            }
        }
    }

    /// A cache in `dir` (which exists).
    pub fn at(dir: PathBuf, writable: bool) -> DbCache {
        let state = CacheState {
            dir,
            writable,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            stored: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
            warnings: Mutex::new(Vec::new()),
        };
        DbCache { state: std::sync::Arc::new(state), defer: false }
    }

    /// This cache, with the databases it does not hold compiled in the background (`true`)
    /// or before the load returns.
    pub fn deferring(mut self, defer: bool) -> DbCache {
        self.defer = defer;
        self
    }

    /// Whether missing databases are compiled in the background.
    pub fn defers(&self) -> bool {
        self.defer
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of a literal database: `(id, flags, expression)` per pattern, in order.
    pub fn key<'a>(patterns: impl Iterator<Item = (u32, u32, &'a [u8])>) -> Key {
        let mut h = Sha1::new();
        h.update(b"picket prefilter cache\0");
        h.update(FORMAT.to_le_bytes());
        h.update(hyperscan::version_str().to_bytes());
        h.update(std::env::consts::ARCH.as_bytes());
        let mut n = 0u64;
        for (id, flags, expr) in patterns {
            h.update(id.to_le_bytes());
            h.update(flags.to_le_bytes());
            h.update((expr.len() as u64).to_le_bytes());
            h.update(expr);
            n += 1;
        }
        h.update(n.to_le_bytes());
        h.finalize().into()
    }

    fn path(&self, key: &Key) -> PathBuf {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.hsdb"))
    }

    fn warn(&self, w: String) {
        let mut v = match self.warnings.lock() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        };
        if v.len() < MAX_WARNINGS {
            v.push(w);
        }
    }

    /// The database stored under `key`, if there is a sound one.
    pub fn load(&self, key: &Key) -> Option<BlockDatabase> {
        let path = self.path(key);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(_) => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        match check(&bytes, key) {
            Ok(payload) => match payload.deserialize::<hyperscan::Block>() {
                Ok(db) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    return Some(db);
                }
                Err(e) => self.warn(format!("{}: vectorscan refused it ({e}); recompiled", path.display())),
            },
            Err(why) => self.warn(format!("{}: {why}; recompiled", path.display())),
        }
        self.rejected.fetch_add(1, Ordering::Relaxed);
        self.misses.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Counts a database taken from a live engine of this process (a reload's unchanged
    /// groups, see `matcher::live_database`) as a hit: nothing was compiled.
    pub(crate) fn count_shared(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Stores `db` under `key` (errors are counted, never fatal).
    pub fn store(&self, key: &Key, db: &BlockDatabase) {
        if !self.writable {
            return;
        }
        let r = db.serialize().map_err(|e| e.to_string()).and_then(|payload| {
            let payload: &[u8] = &payload;
            let mut buf = Vec::with_capacity(HEADER + payload.len());
            buf.extend_from_slice(MAGIC);
            buf.extend_from_slice(&FORMAT.to_le_bytes());
            buf.extend_from_slice(key);
            buf.extend_from_slice(&(payload.len() as u64).to_le_bytes());
            buf.extend_from_slice(&Sha1::digest(payload));
            buf.extend_from_slice(payload);
            let path = self.path(key);
            static SEQ: AtomicU64 = AtomicU64::new(0);
            let tmp = self.dir.join(format!(
                ".tmp.{}.{}.{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed),
                path.file_name().and_then(|n| n.to_str()).unwrap_or("db")
            ));
            let w = std::fs::File::create(&tmp)
                .and_then(|mut f| f.write_all(&buf))
                .and_then(|_| std::fs::rename(&tmp, &path));
            if w.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            w.map_err(|e| format!("{}: {e}", path.display()))
        });
        match r {
            Ok(()) => {
                self.stored.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.write_errors.fetch_add(1, Ordering::Relaxed);
                self.warn(format!("cannot write the prefilter cache: {e}"));
            }
        }
    }

    /// What happened so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            dir: Some(self.dir.clone()),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            stored: self.stored.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            warnings: match self.warnings.lock() {
                Ok(v) => v.clone(),
                Err(p) => p.into_inner().clone(),
            },
            background: 0,
        }
    }
}

/// The payload of a cache file, if the header holds.
fn check<'a>(bytes: &'a [u8], key: &Key) -> Result<&'a [u8], &'static str> {
    // In bounds: bytes.len() >= HEADER (60) is tested first; every header field lies in bytes[..60].
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err("not a picket cache file");
    }
    if bytes[8..12] != FORMAT.to_le_bytes() {
        return Err("cache file of another format version");
    }
    if &bytes[12..32] != key {
        return Err("cache file for another rule set");
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[32..40]);
    let payload = &bytes[HEADER..];
    if u64::from_le_bytes(len) != payload.len() as u64 {
        return Err("truncated cache file");
    }
    if Sha1::digest(payload).as_slice() != &bytes[40..60] {
        return Err("damaged cache file (checksum)");
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (Key, BlockDatabase) {
        let pats: Patterns =
            vec![Pattern::with_flags("\\x61\\x62\\x63", CompileFlags::SINGLEMATCH).unwrap()].into_iter().collect();
        (DbCache::key([(0u32, 1u32, &b"abc"[..])].into_iter()), pats.build().unwrap())
    }

    #[test]
    fn a_stored_database_is_found_again_and_a_damaged_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let c = DbCache::at(dir.path().to_path_buf(), true);
        let (key, db) = db();
        assert!(c.load(&key).is_none());
        c.store(&key, &db);
        let back = c.load(&key).expect("hit");
        let s = back.alloc_scratch().unwrap();
        let mut n = 0;
        back.scan("xxabcxx", &s, |_, _, _, _| {
            n += 1;
            Matching::Continue
        })
        .unwrap();
        assert_eq!(n, 1);
        let path = c.path(&key);
        // damage every part of the file in turn: each is refused, none panics
        let good = std::fs::read(&path).unwrap();
        for at in [0, 9, 20, 35, 50, HEADER + 3, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x5a;
            std::fs::write(&path, &bad).unwrap();
            assert!(c.load(&key).is_none(), "damage at {at} not seen");
        }
        std::fs::write(&path, &good[..good.len() / 2]).unwrap();
        assert!(c.load(&key).is_none());
        std::fs::write(&path, b"").unwrap();
        assert!(c.load(&key).is_none());
        let st = c.stats();
        assert_eq!((st.hits, st.stored, st.rejected), (1, 1, 9));
        assert!(!st.warnings.is_empty());
        // a different pattern list has a different key
        assert_ne!(key, DbCache::key([(0u32, 1u32, &b"abd"[..])].into_iter()));
        assert_ne!(key, DbCache::key([(0u32, 3u32, &b"abc"[..])].into_iter()));
    }

    #[test]
    fn an_empty_setting_disables_and_an_unwritable_one_falls_back() {
        assert!(DbCache::open("").0.is_none());
        let dir = tempfile::tempdir().unwrap();
        let (c, w) = DbCache::open(dir.path().join("sub").to_str().unwrap());
        assert!(c.is_some() && w.is_none());
        // a file where the folder should be: not usable, and no panic
        let f = dir.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        let (c, w) = DbCache::open(f.to_str().unwrap());
        assert!(c.is_none() && w.is_some());
    }
}
