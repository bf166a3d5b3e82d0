//! A set's binary state: its table as Picket holds it, written next to the set's text file
//! (`save`/`state` at shutdown) or into the data directory's `cache/` (after a large `load`), so
//! that the next start reads it in one pass instead of parsing text: the key bytes end to end,
//! then each entry's length and value, in the order of the table's buckets, with the table's
//! hash key. Reading it back hashes each key once and fills the new table in bucket order
//! (sequential memory access), without comparing keys.
//!
//! Never trusted blindly: a header with a magic, a format version, the set's type, and the size
//! and modification time of the text file it was made from; a CRC-32 over the header and the
//! body. A file of another version or type, one whose text source changed since (stale), or
//! one that is truncated or fails its checksum (damaged) is ignored: the set is read from its
//! text file, with a log line naming the reason and the set's `state_fallbacks` counted.
//!
//! Layout (little endian): `PKTDSET\0`, version u32, type u8, 3 bytes zero, hash key (2 × u64),
//! entries u64, key bytes u64, source length u64, source mtime (ns) u64, CRC-32 u32, 4 bytes
//! zero; the key bytes; per entry its length u32 and value u32.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{KeyHasher, KeyTable, Snapshot};
use crate::rule::ast::DatasetType;

const MAGIC: &[u8; 8] = b"PKTDSET\0";
/// Bumped whenever the layout or the meaning of a field changes.
pub(crate) const VERSION: u32 = 1;
const HEADER: usize = 80;
/// Offset of the CRC in the header (computed with those 4 bytes zero).
const CRC_AT: usize = 72;

/// Why a binary state was not used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// There is none (not an error: the first start, or a small set).
    Missing,
    /// Made from another version of the text file, or by another format version or type.
    Stale(String),
    /// Truncated, or its checksum does not match.
    Damaged(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Missing => f.write_str("missing"),
            Unusable::Stale(w) => write!(f, "stale ({w})"),
            Unusable::Damaged(w) => write!(f, "damaged ({w})"),
        }
    }
}

fn type_code(k: DatasetType) -> u8 {
    match k {
        DatasetType::String => 1,
        DatasetType::Md5 => 2,
        DatasetType::Sha256 => 3,
        DatasetType::Ipv4 => 4,
        DatasetType::Ip => 5,
    }
}

/// The text file's length and modification time (ns since the epoch), as the header keeps.
pub(crate) fn source_stamp(source: &Path) -> Option<(u64, u64)> {
    let m = std::fs::metadata(source).ok()?;
    let mtime = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos() as u64;
    Some((m.len(), mtime))
}

/// Where the binary state of a set saved to `text` goes: beside it.
pub(crate) fn beside(text: &Path) -> PathBuf {
    let mut s = text.as_os_str().to_owned();
    s.push(".pkds");
    PathBuf::from(s)
}

/// Where the binary copy of a set loaded from a file only goes: the data directory's `cache/`,
/// by set name (the header says which text file it was made from).
pub(crate) fn in_cache(data_dir: &str, name: &str) -> PathBuf {
    Path::new(data_dir).join("cache").join(format!("{}.pkds", name.to_ascii_lowercase()))
}

fn u64_at(h: &[u8], at: usize) -> u64 {
    h.get(at..at + 8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes)
}

/// Reads the binary state at `path` made from `source` (see the module documentation).
pub(crate) fn read(path: &Path, source: &Path, kind: DatasetType) -> Result<KeyTable, Unusable> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Unusable::Missing),
        Err(e) => return Err(Unusable::Damaged(e.to_string())),
    };
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut h = [0u8; HEADER];
    f.read_exact(&mut h).map_err(|_| Unusable::Damaged("shorter than its header".into()))?;
    if &h[..8] != MAGIC {
        return Err(Unusable::Damaged("not a Picket dataset state".into()));
    }
    let version = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if version != VERSION {
        return Err(Unusable::Stale(format!("format version {version}, this Picket writes {VERSION}")));
    }
    if h[12] != type_code(kind) {
        return Err(Unusable::Stale("made for a set of another type".into()));
    }
    let hasher = KeyHasher { k0: u64_at(&h, 16), k1: u64_at(&h, 24) };
    let (count, arena_len) = (u64_at(&h, 32), u64_at(&h, 40));
    let stamp = (u64_at(&h, 48), u64_at(&h, 56));
    if source_stamp(source) != Some(stamp) {
        return Err(Unusable::Stale(format!("{} changed since it was made", source.display())));
    }
    let want = (HEADER as u64).checked_add(arena_len).and_then(|n| n.checked_add(count.checked_mul(8)?));
    if want != Some(total) || arena_len > u32::MAX as u64 {
        return Err(Unusable::Damaged(format!("{total} bytes, the header says {}", want.unwrap_or(u64::MAX))));
    }
    let stored_crc = u32::from_le_bytes([h[CRC_AT], h[CRC_AT + 1], h[CRC_AT + 2], h[CRC_AT + 3]]);
    h[CRC_AT..CRC_AT + 4].fill(0);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&h);
    let mut arena = Vec::new();
    let mut lens = Vec::new();
    // Sizes checked against the file's length above.
    let short = |_| Unusable::Damaged("truncated".into());
    arena.try_reserve_exact(arena_len as usize).map_err(|e| Unusable::Damaged(e.to_string()))?;
    (&mut f).take(arena_len).read_to_end(&mut arena).map_err(short)?;
    lens.try_reserve_exact(count as usize * 8).map_err(|e| Unusable::Damaged(e.to_string()))?;
    (&mut f).take(count * 8).read_to_end(&mut lens).map_err(short)?;
    if arena.len() as u64 != arena_len || lens.len() as u64 != count * 8 {
        return Err(Unusable::Damaged("truncated".into()));
    }
    crc.update(&arena);
    crc.update(&lens);
    if crc.finalize() != stored_crc {
        return Err(Unusable::Damaged("checksum mismatch".into()));
    }
    let mut off = 0u32;
    let entries = lens.chunks_exact(8).map(|e| {
        let len = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
        let rep = u32::from_le_bytes([e[4], e[5], e[6], e[7]]);
        let at = off;
        off = off.wrapping_add(len);
        (at, len, rep)
    });
    KeyTable::from_parts(hasher, arena, count as usize, entries)
        .ok_or_else(|| Unusable::Damaged("an entry lies outside the key bytes".into()))
}

/// Writes `snap` (hash key `hasher`) as the binary state at `path`, made from `source`, to a
/// temporary file renamed into place. Returns the entries written. Streamed: the keys go to the
/// file as the table lists them (not copied whole into memory first, which for a set of ten
/// million would double its memory while saving), the header last, once the CRC is known.
pub(crate) fn write(path: &Path, source: &Path, kind: DatasetType, snap: &Snapshot) -> Result<usize, String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let stamp = source_stamp(source).ok_or_else(|| format!("{}: cannot stat", source.display()))?;
    // The sizes first (the slices' lengths only: no key byte is read).
    let (mut count, mut arena_len) = (0u64, 0u64);
    snap.for_each(|k, _| {
        count += 1;
        arena_len += k.len() as u64;
    });
    if arena_len > u32::MAX as u64 {
        return Err(format!("{}: set too large for a binary state", path.display()));
    }
    let hasher = snap.hasher();
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12] = type_code(kind);
    for (at, v) in [(16, hasher.k0), (24, hasher.k1), (32, count), (40, arena_len), (48, stamp.0), (56, stamp.1)] {
        h[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    if let Err(e) = write_streamed(&tmp, &mut h, snap, count).and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(count as usize)
}

/// The header (its CRC filled in at the end), the keys, then each entry's length and value:
/// `count` entries as `snap.for_each` lists them (twice, in the same order).
fn write_streamed(path: &Path, h: &mut [u8; HEADER], snap: &Snapshot, count: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&h[..]);
    w.write_all(&h[..])?;
    let mut res = Ok(());
    let mut n = 0u64;
    snap.for_each(|k, _| {
        if res.is_ok() {
            crc.update(k);
            res = w.write_all(k);
            n += 1;
        }
    });
    std::mem::replace(&mut res, Ok(()))?;
    snap.for_each(|k, r| {
        if res.is_ok() {
            let mut e = [0u8; 8];
            e[..4].copy_from_slice(&(k.len() as u32).to_le_bytes());
            e[4..].copy_from_slice(&r.to_le_bytes());
            crc.update(&e);
            res = w.write_all(&e);
        }
    });
    res?;
    if n != count {
        return Err(std::io::Error::other("the set changed while it was written"));
    }
    h[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.finalize().to_le_bytes());
    let mut f = w.into_inner().map_err(|e| e.into_error())?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&h[..])?;
    Ok(())
}

/// `bytes` (a state file's, as far as it is long enough) made current for `source` and with a
/// valid checksum, so that the fuzz target reaches the body's checks.
pub(crate) fn seal(bytes: &mut [u8], source: &Path) {
    let (Some((len, mtime)), true) = (source_stamp(source), bytes.len() >= HEADER) else { return };
    bytes[48..56].copy_from_slice(&len.to_le_bytes());
    bytes[56..64].copy_from_slice(&mtime.to_le_bytes());
    bytes[CRC_AT..CRC_AT + 4].fill(0);
    let crc = crc32fast::hash(bytes);
    bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
}
