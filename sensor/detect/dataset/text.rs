//! Reading a set's text file (Suricata's ParseDatasets): `value` or `value,reputation` a line,
//! one form per file; base64 for strings, hex for hashes, dotted or colon notation for
//! addresses. A bad line is skipped and reported as `file:line: why`; a file mixing the two
//! forms is an error.
//!
//! Built for sets of tens of millions of lines: the file is read in large blocks (never whole)
//! and split with memchr; a line's key is decoded straight into the table's arena (sized from
//! the file up front) and hashed once. Keys are then indexed in batches, sorted by their first
//! bucket, so that filling the index sweeps its memory in order rather than jumping at random
//! (at ten million keys the index is far larger than the caches: random inserts cost a cache
//! and TLB miss each, most of the load's time). A set with a memcap is filled line by line
//! instead (the memcap is checked against the table as each line finds it).

use std::io::Read;
use std::path::Path;

use base64::Engine as _;

use super::{parse_value, short, KeyHasher, KeyTable, LoadResult};
use crate::rule::ast::DatasetType;

/// Bytes read at a time.
const BLOCK: usize = 4 << 20;
/// Keys indexed per batch (24 bytes each while pending).
const BATCH: usize = 1 << 20;

/// A key in the arena, not yet indexed.
#[derive(Clone, Copy)]
struct Pending {
    hash: u64,
    off: u32,
    len: u32,
    rep: u32,
}

struct Loader<'a> {
    path: &'a Path,
    kind: DatasetType,
    memcap: u64,
    t: KeyTable,
    res: LoadResult,
    with_rep: Option<bool>,
    buf: Vec<u8>,
    pending: Vec<Pending>,
    batch: usize,
}

/// Reads a set's file into a new table (see the module documentation).
pub(crate) fn read_file(
    path: &Path,
    kind: DatasetType,
    hasher: KeyHasher,
    capacity: usize,
    memcap: u64,
) -> Result<(KeyTable, LoadResult), String> {
    read_with(path, kind, hasher, capacity, memcap, BLOCK, BATCH)
}

/// [`read_file`] with the block and batch sizes given (tests use tiny ones).
pub(crate) fn read_with(
    path: &Path,
    kind: DatasetType,
    hasher: KeyHasher,
    capacity: usize,
    memcap: u64,
    block_size: usize,
    batch: usize,
) -> Result<(KeyTable, LoadResult), String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0) as usize;
    // Sized for the file (about 40 bytes a line for domains in base64; keys are about 3/4 of
    // their base64) rather than grown, so a large set is not rehashed nor its arena copied.
    let est_lines = if kind == DatasetType::String { size / 40 } else { size / 16 };
    let mut t = KeyTable::with_hasher(hasher, capacity.max(est_lines.min(1 << 26)));
    t.reserve_bytes(if kind == DatasetType::String { size / 4 * 3 } else { 0 });
    let mut l = Loader {
        path,
        kind,
        memcap,
        t,
        res: LoadResult::default(),
        with_rep: None,
        buf: Vec::with_capacity(256),
        pending: Vec::with_capacity(if memcap == 0 { batch.min(est_lines + 1) } else { 0 }),
        batch: batch.max(1),
    };
    let mut block = vec![0u8; block_size.min(size + 1).max(1)];
    let (mut start, mut end, mut n) = (0usize, 0usize, 0usize);
    loop {
        if start > 0 {
            block.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        if end == block.len() {
            // A line longer than the block: grow it.
            block.resize(block.len() * 2, 0);
        }
        let got = loop {
            match file.read(block.get_mut(end..).unwrap_or_default()) {
                Ok(g) => break g,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{}:{}: {e}", path.display(), n + 1)),
            }
        };
        end += got;
        let filled = block.get(..end).unwrap_or_default();
        let base = start;
        for nl in memchr::memchr_iter(b'\n', filled.get(base..).unwrap_or_default()) {
            n += 1;
            l.line(n, filled.get(start..base + nl).unwrap_or_default())?;
            start = base + nl + 1;
        }
        if got == 0 {
            if start < end {
                l.line(n + 1, filled.get(start..).unwrap_or_default())?;
            }
            break;
        }
    }
    l.flush();
    let mut t = l.t.into_compacted();
    t.shrink();
    Ok((t, l.res))
}

/// `v` without the whitespace `str::trim` removes (`v` is valid UTF-8).
fn trim(v: &[u8]) -> &[u8] {
    if v.is_ascii() {
        // char::is_whitespace for ASCII: space, \t, \n, \x0B, \x0C, \r.
        let ws = |b: &u8| matches!(b, b' ' | b'\t'..=b'\r');
        let s = v.iter().position(|b| !ws(b)).unwrap_or(v.len());
        let e = v.iter().rposition(|b| !ws(b)).map_or(s, |e| e + 1);
        v.get(s..e).unwrap_or_default()
    } else {
        std::str::from_utf8(v).map_or(v, |s| s.trim().as_bytes())
    }
}

fn text(v: &[u8]) -> &str {
    std::str::from_utf8(v).unwrap_or("")
}

impl Loader<'_> {
    fn skip(&mut self, n: usize, why: String) {
        self.res.skipped += 1;
        if self.res.errors.len() < 5 {
            self.res.errors.push(format!("{}:{}: {why}", self.path.display(), n));
        }
    }

    /// Line `n` (without its `\n`).
    fn line(&mut self, n: usize, raw: &[u8]) -> Result<(), String> {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            return Ok(());
        }
        if !line.is_ascii() && std::str::from_utf8(line).is_err() {
            self.skip(n, "not UTF-8".into());
            return Ok(());
        }
        // Split at ASCII commas: every piece is valid UTF-8 as the line is.
        let mut parts = line.split(|&b| b == b',');
        let (v, rep) = (parts.next().unwrap_or_default(), parts.next());
        if parts.next().is_some() {
            self.skip(n, "more than two fields".into());
            return Ok(());
        }
        match (self.with_rep, rep.is_some()) {
            (Some(a), b) if a != b => {
                return Err(format!("{}:{}: cannot mix dataset and datarep values", self.path.display(), n))
            }
            _ => self.with_rep = Some(rep.is_some()),
        }
        let rep = match rep.map(|r| text(r).trim().parse::<u16>()) {
            None => 0,
            Some(Ok(r)) => u32::from(r),
            Some(Err(_)) => {
                let r = short(text(rep.unwrap_or_default()));
                self.skip(n, format!("invalid reputation '{r}'"));
                return Ok(());
            }
        };
        if self.kind == DatasetType::String {
            self.buf.clear();
            if let Err(e) = base64::engine::general_purpose::STANDARD.decode_vec(trim(v), &mut self.buf) {
                self.skip(n, format!("bad base64 '{}': {e}", short(text(v))));
                return Ok(());
            }
        } else {
            match parse_value(self.kind, text(v)) {
                Ok(k) => self.buf = k,
                Err(e) => {
                    self.skip(n, e);
                    return Ok(());
                }
            }
        }
        self.add(n, rep);
        Ok(())
    }

    /// Adds the key in `buf`.
    fn add(&mut self, n: usize, rep: u32) {
        let key = &self.buf;
        if self.memcap > 0 {
            if (self.t.mem_bytes() + KeyTable::cost_of(key.len())) as u64 > self.memcap {
                self.res.memcap_refused += 1;
                let memcap = self.memcap;
                self.skip(n, format!("memcap of {memcap} bytes reached"));
            } else if self.t.insert(key, rep) {
                self.res.entries += 1;
            }
            return;
        }
        let hash = self.t.hasher().hash_one(key);
        let len = key.len() as u32;
        // A full arena (4 GiB) takes no more keys, as KeyTable::insert.
        if let Some(off) = self.t.push_pending(key) {
            self.pending.push(Pending { hash, off, len, rep });
            if self.pending.len() >= self.batch {
                self.flush();
            }
        }
    }

    /// Indexes the pending keys in the order of their first bucket (equal keys share it and
    /// stay in file order: the first one wins, as line by line).
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let buckets = self.t.reserve_keys(self.pending.len());
        let mask = buckets.saturating_sub(1) as u64;
        self.pending.sort_unstable_by_key(|p| ((p.hash & mask) << 32) | u64::from(p.off));
        for p in self.pending.drain(..) {
            if self.t.index_pending(p.hash, p.off, p.len, p.rep) {
                self.res.entries += 1;
            }
        }
    }
}
