//! A ruleset folder as one object: a gzip-compressed tar of its regular files (rules,
//! classification.config, reference.config, threshold.config, dataset files, in subfolders
//! too), written deterministically (sorted names, no owner or time), and its safe unpacking.
//!
//! Unpacking refuses what a ruleset never holds instead of trusting the archive: names that
//! are absolute or climb out (`..`), links and devices (skipped, counted), and more than
//! `max_bytes` of content in total (the sizes in the tar headers are what is written, so a
//! decompression bomb stops at the limit).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// A packed ruleset.
#[derive(Debug)]
pub(crate) struct Packed {
    /// The archive (tar.gz).
    pub bytes: Vec<u8>,
    /// Files in it.
    pub files: usize,
    /// SHA-256 of `bytes`, hex.
    pub sha256: String,
}

/// SHA-256 of `b`, lowercase hex.
pub(crate) fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// Every regular file below `dir`, as (path, name relative to `dir`), in name order. Hidden
/// files and folders (`.git`, editors' swap files) are left out.
fn walk(dir: &Path, rel: &Path, out: &mut Vec<(PathBuf, PathBuf)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let ft = std::fs::metadata(e.path())?.file_type();
        if ft.is_dir() {
            walk(&e.path(), &rel.join(&name), out)?;
        } else if ft.is_file() {
            out.push((e.path(), rel.join(&name)));
        }
    }
    Ok(())
}

/// Packs the ruleset folder `dir`; refuses a folder without a top-level `*.rules` file or with
/// more than `max_bytes` of content.
pub(crate) fn pack(dir: &Path, max_bytes: u64) -> anyhow::Result<Packed> {
    let meta = std::fs::metadata(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    if !meta.is_dir() {
        anyhow::bail!("{}: not a folder (a ruleset is a folder of .rules files and their configs)", dir.display());
    }
    let mut files = Vec::new();
    walk(dir, Path::new(""), &mut files).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let rule_files = files
        .iter()
        .filter(|(_, rel)| rel.components().count() == 1 && rel.extension().is_some_and(|x| x == "rules"))
        .count();
    if rule_files == 0 {
        anyhow::bail!("{}: no .rules file at its top level", dir.display());
    }
    let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::default()));
    b.mode(tar::HeaderMode::Deterministic);
    b.follow_symlinks(true);
    let mut content_bytes = 0u64;
    for (path, rel) in &files {
        content_bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if content_bytes > max_bytes {
            anyhow::bail!("{}: more than {max_bytes} bytes (fleet.rules_max_bytes)", dir.display());
        }
        b.append_path_with_name(path, rel).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    let bytes = b.into_inner()?.finish()?;
    let sha256 = sha256_hex(&bytes);
    Ok(Packed { bytes, files: files.len(), sha256 })
}

/// What [`unpack`] wrote.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// Regular files written.
    pub files: usize,
    /// Entries skipped: links, devices, fifos.
    pub skipped: usize,
}

/// True when `p` is a plain relative name (no root, no `..`, not empty).
fn is_plain(p: &Path) -> bool {
    p.components().count() > 0 && p.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Unpacks the archive `bytes` into `dest` (created; must not exist), at most `max_bytes` of
/// content. An error names the entry and why; `dest` is then removed.
pub(crate) fn unpack(bytes: &[u8], dest: &Path, max_bytes: u64) -> anyhow::Result<Unpacked> {
    std::fs::create_dir_all(dest).map_err(|e| anyhow::anyhow!("{}: {e}", dest.display()))?;
    let r = unpack_into(bytes, dest, max_bytes);
    if r.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    r
}

fn unpack_into(bytes: &[u8], dest: &Path, max_bytes: u64) -> anyhow::Result<Unpacked> {
    let mut a = tar::Archive::new(GzDecoder::new(bytes));
    a.set_preserve_permissions(false);
    a.set_preserve_mtime(false);
    let mut out = Unpacked { files: 0, skipped: 0 };
    let mut total = 0u64;
    for (i, e) in a.entries().map_err(|e| anyhow::anyhow!("not a ruleset archive: {e}"))?.enumerate() {
        let mut e = e.map_err(|e| anyhow::anyhow!("entry {i}: {e}"))?;
        let path = e.path().map_err(|err| anyhow::anyhow!("entry {i}: bad name: {err}"))?.into_owned();
        if !is_plain(&path) {
            anyhow::bail!("entry {i} `{}`: not a relative name inside the ruleset", path.display());
        }
        match e.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                total = total.saturating_add(e.header().size().unwrap_or(u64::MAX));
                if total > max_bytes {
                    anyhow::bail!("entry {i} `{}`: the ruleset exceeds {max_bytes} bytes", path.display());
                }
                if !e.unpack_in(dest).map_err(|err| anyhow::anyhow!("entry {i} `{}`: {err}", path.display()))? {
                    anyhow::bail!("entry {i} `{}`: outside the ruleset folder", path.display());
                }
                out.files += 1;
            }
            tar::EntryType::Directory => {
                std::fs::create_dir_all(dest.join(&path))?;
            }
            _ => {
                // Drain it: the next header follows its data.
                std::io::copy(&mut (&mut e).take(max_bytes), &mut std::io::sink())?;
                out.skipped += 1;
            }
        }
    }
    if out.files == 0 {
        anyhow::bail!("the archive holds no file");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.rules"), "alert ip any any -> any any (msg:\"a\"; sid:1;)\n").unwrap();
        std::fs::write(d.path().join("classification.config"), "config classification: x,X,1\n").unwrap();
        std::fs::create_dir(d.path().join("sets")).unwrap();
        std::fs::write(d.path().join("sets/bad.lst"), "ZXZpbA==\n").unwrap();
        std::fs::write(d.path().join(".hidden"), "no").unwrap();
        d
    }

    #[test]
    fn pack_then_unpack_gives_the_same_files_and_the_same_digest_twice() {
        let d = folder();
        let p = pack(d.path(), 1 << 20).unwrap();
        assert_eq!(p.files, 3);
        assert_eq!(p.sha256, pack(d.path(), 1 << 20).unwrap().sha256, "deterministic");
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("v1");
        assert_eq!(unpack(&p.bytes, &dest, 1 << 20).unwrap(), Unpacked { files: 3, skipped: 0 });
        assert_eq!(std::fs::read_to_string(dest.join("sets/bad.lst")).unwrap(), "ZXZpbA==\n");
        assert!(!dest.join(".hidden").exists());
    }

    #[test]
    fn refuses_a_folder_without_rules_and_oversized_content() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("threshold.config"), "").unwrap();
        assert!(pack(d.path(), 1 << 20).unwrap_err().to_string().contains("no .rules file"));
        let d = folder();
        assert!(pack(d.path(), 10).unwrap_err().to_string().contains("more than 10 bytes"));
        let p = pack(d.path(), 1 << 20).unwrap();
        let out = tempfile::tempdir().unwrap();
        let e = unpack(&p.bytes, &out.path().join("v"), 60).unwrap_err().to_string();
        assert!(e.contains("exceeds 60 bytes"), "{e}");
        assert!(!out.path().join("v").exists(), "a refused archive leaves nothing");
    }

    #[test]
    fn hostile_archives_are_refused_without_panic() {
        let out = tempfile::tempdir().unwrap();
        // Not gzip, truncated gzip, gzip of garbage.
        assert!(unpack(b"not an archive", &out.path().join("a"), 1 << 20).is_err());
        let p = pack(folder().path(), 1 << 20).unwrap();
        assert!(unpack(&p.bytes[..p.bytes.len() / 2], &out.path().join("b"), 1 << 20).is_err());
        // A name climbing out of the folder.
        let mut h = tar::Header::new_gnu();
        h.set_size(4);
        h.set_entry_type(tar::EntryType::Regular);
        h.as_gnu_mut().unwrap().name[..12].copy_from_slice(b"../evil.rule");
        h.set_cksum();
        let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        b.append(&h, &b"evil"[..]).unwrap();
        let bytes = b.into_inner().unwrap().finish().unwrap();
        let e = unpack(&bytes, &out.path().join("c"), 1 << 20).unwrap_err().to_string();
        assert!(e.contains("not a relative name"), "{e}");
        assert!(!out.path().join("evil.rule").exists());
        // A symlink is skipped, not followed.
        let mut b = tar::Builder::new(GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "x.rules", "/etc/passwd").unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        b.append_data(&mut h, "a.rules", &b"\n"[..]).unwrap();
        let bytes = b.into_inner().unwrap().finish().unwrap();
        assert_eq!(unpack(&bytes, &out.path().join("d"), 1 << 20).unwrap(), Unpacked { files: 1, skipped: 1 });
        assert!(!out.path().join("d/x.rules").exists());
    }
}
