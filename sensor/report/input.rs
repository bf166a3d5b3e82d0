//! The EVE files of a case: files, folders (read recursively, in name order) and standard
//! input, gzip read transparently, split into lines of bounded length.
//!
//! A line longer than [`MAX_LINE`] is skipped (and counted) without being held in memory: the
//! reader keeps at most one line and one read buffer, whatever the file holds.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The longest record read (Suricata's records are rarely over 64 KiB; a stats record with
/// every counter is about 20 KiB).
pub(crate) const MAX_LINE: usize = 4 << 20;

/// Where records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Stdin,
    File(PathBuf),
}

impl Source {
    pub(crate) fn name(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".into(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// Whether a file in a folder looks like EVE output (eve.json, eve.json.1, *.json, *.jsonl,
/// *.log, the spool's segment-*.json, and those gzipped).
fn looks_like_eve(name: &str) -> bool {
    let n = name.strip_suffix(".gz").unwrap_or(name);
    !n.starts_with('.')
        && (n.starts_with("eve")
            || n.ends_with(".json")
            || n.ends_with(".jsonl")
            || n.ends_with(".ndjson")
            || n.ends_with(".log"))
}

/// The sources named on the command line, folders expanded. Files in folders that do not look
/// like EVE are listed in the second vector (reported, not read). A path that does not exist is
/// an error.
pub(crate) fn discover(inputs: &[PathBuf]) -> Result<(Vec<Source>, Vec<PathBuf>), String> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for p in inputs {
        if p.as_os_str() == "-" {
            out.push(Source::Stdin);
        } else if p.is_dir() {
            walk(p, &mut out, &mut skipped, 0).map_err(|e| format!("{}: {e}", p.display()))?;
        } else if p.exists() {
            out.push(Source::File(p.clone()));
        } else {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    Ok((out, skipped))
}

fn walk(dir: &Path, out: &mut Vec<Source>, skipped: &mut Vec<PathBuf>, depth: usize) -> io::Result<()> {
    // A symlink loop cannot make this recurse without end.
    if depth > 32 {
        skipped.push(dir.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if p.is_dir() {
            if !name.starts_with('.') {
                walk(&p, out, skipped, depth + 1)?;
            }
        } else if looks_like_eve(&name) {
            out.push(Source::File(p));
        } else {
            skipped.push(p);
        }
    }
    Ok(())
}

/// Opens a source; gzip (by its magic number) is decompressed on the fly.
pub(crate) fn open(src: &Source) -> io::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = match src {
        Source::Stdin => Box::new(io::stdin()),
        Source::File(p) => Box::new(File::open(p)?),
    };
    let mut r = BufReader::with_capacity(1 << 20, raw);
    let head = r.fill_buf()?;
    if head.len() >= 2 && head[..2] == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(r))))
    } else {
        Ok(Box::new(r))
    }
}

/// Splits a reader into lines of at most `max` bytes (without the newline).
pub(crate) struct Lines<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    /// Lines read so far (the number of the line last returned).
    pub(crate) line_no: u64,
    /// Bytes read so far.
    pub(crate) bytes: u64,
    /// Lines skipped for being longer than `max`.
    pub(crate) too_long: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        Lines { inner, buf: Vec::with_capacity(64 << 10), max, line_no: 0, bytes: 0, too_long: 0 }
    }

    /// The next line that fits, or `None` at the end.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        self.buf.clear();
        let mut skipping = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                // The last line without a newline is a line; a skipped one is counted.
                if skipping {
                    self.line_no += 1;
                    self.too_long += 1;
                    return Ok(None);
                }
                if self.buf.is_empty() {
                    return Ok(None);
                }
                self.line_no += 1;
                return Ok(Some(&self.buf));
            }
            let (take, done) = match memchr::memchr(b'\n', avail) {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            if !skipping {
                if self.buf.len() + take <= self.max {
                    self.buf.extend_from_slice(&avail[..take]);
                } else {
                    skipping = true;
                    self.buf.clear();
                }
            }
            let consumed = take + usize::from(done);
            self.inner.consume(consumed);
            self.bytes += consumed as u64;
            if done {
                self.line_no += 1;
                if skipping {
                    self.too_long += 1;
                    skipping = false;
                    continue;
                }
                return Ok(Some(&self.buf));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8], max: usize) -> (Vec<String>, u64, u64) {
        let mut l = Lines::new(BufReader::with_capacity(7, data), max);
        let mut v = Vec::new();
        while let Some(line) = l.next_line().unwrap() {
            v.push(String::from_utf8_lossy(line).into_owned());
        }
        (v, l.too_long, l.line_no)
    }

    #[test]
    fn lines_over_the_limit_are_skipped_and_counted() {
        let (v, long, n) = all(b"abc\n0123456789abcdef\nxy\n\nlast", 8);
        assert_eq!(v, ["abc", "xy", "", "last"]);
        assert_eq!((long, n), (1, 5));
        let (v, long, _) = all(b"ok\n0123456789abcdef", 8);
        assert_eq!((v, long), (vec!["ok".to_string()], 1));
        let (v, long, _) = all(b"12345678\n123456789\n", 8);
        assert_eq!((v, long), (vec!["12345678".to_string()], 1));
    }

    #[test]
    fn gzip_is_read_transparently_and_folders_in_name_order() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("b-sensor");
        std::fs::create_dir(&sub).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"n\":1}\n").unwrap();
        std::fs::write(sub.join("eve.json.1.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(dir.path().join("a.json"), b"{\"n\":0}\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        std::fs::write(dir.path().join(".hidden.json"), b"x").unwrap();
        let (srcs, skipped) = discover(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(srcs, vec![Source::File(dir.path().join("a.json")), Source::File(sub.join("eve.json.1.gz"))]);
        assert_eq!(skipped.len(), 2);
        let mut l = Lines::new(open(&srcs[1]).unwrap(), MAX_LINE);
        assert_eq!(l.next_line().unwrap(), Some(&b"{\"n\":1}"[..]));
        assert!(discover(&[dir.path().join("nope")]).unwrap_err().contains("nope"));
    }
}
