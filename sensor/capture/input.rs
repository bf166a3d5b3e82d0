//! Case inputs: which files a list of paths names, and how a file's bytes are read.
//!
//! Folders are walked recursively in a stable order (entries sorted by name at every level,
//! depth first; hidden entries starting with `.` are skipped, symbolic links to folders are not
//! followed), so the same folder gives the same packet order on every machine.
//!
//! A capture may be compressed with gzip, zstd, xz or bzip2: the compression is recognised by
//! the magic number of the file, not its name, and the file is decompressed as it is read
//! (streamed: never whole in memory). flate2, zstd, xz2 (liblzma) and bzip2 are the maintained
//! bindings of the reference libraries; multi-member streams (`cat a.gz b.gz`, pigz, pzstd)
//! are read to their end.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::CaptureWarning;

/// How deep folders are walked (a guard against pathological trees).
const MAX_DEPTH: usize = 32;

/// Expands files and folders into the list of files to read: a file as given, a folder as its
/// files at every depth in name order. Missing paths and folders without files become warnings.
pub fn expand_inputs(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<CaptureWarning>) {
    let mut files = Vec::new();
    let mut warns = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let before = files.len();
                walk(p, 0, &mut files, &mut warns);
                if files.len() == before {
                    warns.push(warn(p, None, "folder holds no capture files".to_string()));
                }
            }
            Ok(_) => files.push(p.clone()),
            Err(e) => warns.push(warn(p, None, format!("cannot open: {e}"))),
        }
    }
    (files, warns)
}

fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>, warns: &mut Vec<CaptureWarning>) {
    if depth >= MAX_DEPTH {
        warns.push(warn(dir, None, format!("folder nested deeper than {MAX_DEPTH} levels: not read")));
        return;
    }
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) => {
            warns.push(warn(dir, None, format!("cannot list folder: {e}")));
            return;
        }
    };
    let mut entries: Vec<(std::ffi::OsString, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().as_encoded_bytes().starts_with(b"."))
        .map(|e| (e.file_name(), e.path()))
        .collect();
    entries.sort();
    for (_, path) in entries {
        // symlink_metadata: a link to a folder is not followed (no cycles); a link to a file is.
        let Ok(lm) = std::fs::symlink_metadata(&path) else { continue };
        if lm.is_dir() {
            walk(&path, depth + 1, files, warns);
        } else if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
}

pub(crate) fn warn(p: &Path, offset: Option<u64>, reason: String) -> CaptureWarning {
    CaptureWarning { source: p.display().to_string(), offset, reason }
}

/// Compression recognised by its magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip (RFC 1952), any number of members.
    Gzip,
    /// Zstandard, any number of frames.
    Zstd,
    /// xz (LZMA2), any number of streams.
    Xz,
    /// bzip2, any number of streams.
    Bzip2,
}

impl Compression {
    /// Recognises the compression from the first bytes of a file.
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Some(Compression::Xz)
        } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
            Some(Compression::Bzip2)
        } else {
            None
        }
    }

    /// Its usual name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
        }
    }
}

/// Counts the bytes read from the file under a decompressor (its position in the file, for
/// messages and progress).
struct Counted<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads the first bytes of `file` at offset 0 without moving its position; how many.
fn peek_head(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        // In bounds: n < buf.len() (loop condition).
        match file.read_at(&mut buf[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A capture file opened for reading: plain or decompressed on the fly.
pub(crate) struct InputStream {
    /// The bytes of the capture (decompressed when the file is compressed).
    pub reader: Box<dyn Read + Send>,
    /// The compression, when there is one.
    pub compression: Option<Compression>,
    /// Bytes of the file read so far, for a compressed file (a plain file's position is the
    /// reader's own).
    pub file_read: Arc<AtomicU64>,
    /// Size of the file on disk.
    pub file_len: u64,
}

/// Opens `path`, recognising a compressed file by its magic number.
pub(crate) fn open_stream(path: &Path) -> std::io::Result<InputStream> {
    let file = File::open(path)?;
    let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let file_read = Arc::new(AtomicU64::new(0));
    // A plain capture is read from the file itself: std reads a regular file into a buffer's
    // spare capacity without zeroing it (a wrapper of ours, as `Counted`, cannot do that on
    // stable Rust, and zeroing the 256 KiB chunks cost the reader about a sixth of its samples). The
    // magic number is peeked at without moving the file's position; a file that cannot be
    // read at an offset (a pipe) goes the general way.
    let mut magic = [0u8; 8];
    if let Ok(n) = peek_head(&file, &mut magic) {
        // In bounds: peek_head returns at most magic.len().
        if Compression::sniff(&magic[..n]).is_none() {
            let reader = Box::new(BufReader::with_capacity(64 * 1024, file));
            return Ok(InputStream { reader, compression: None, file_read, file_len });
        }
    }
    let mut buffered = BufReader::with_capacity(64 * 1024, Counted { inner: file, read: file_read.clone() });
    let head = loop {
        match buffered.fill_buf() {
            Ok(b) => break b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    };
    let compression = Compression::sniff(head);
    let reader: Box<dyn Read + Send> = match compression {
        None => Box::new(buffered),
        Some(Compression::Gzip) => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Some(Compression::Zstd) => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        Some(Compression::Xz) => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(buffered)),
        Some(Compression::Bzip2) => Box::new(bzip2::bufread::MultiBzDecoder::new(buffered)),
    };
    Ok(InputStream { reader, compression, file_read, file_len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn compress(c: Compression, data: &[u8]) -> Vec<u8> {
        match c {
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(data, 1).unwrap(),
            Compression::Xz => {
                let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
        }
    }

    const ALL: [Compression; 4] = [Compression::Gzip, Compression::Zstd, Compression::Xz, Compression::Bzip2];

    fn read_to_end(path: &Path) -> (Option<Compression>, std::io::Result<Vec<u8>>) {
        let mut s = open_stream(path).unwrap();
        let mut out = Vec::new();
        let r = s.reader.read_to_end(&mut out).map(|_| out);
        (s.compression, r)
    }

    #[test]
    fn every_compression_is_recognised_and_read_back() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let dir = tempfile::tempdir().unwrap();
        for c in ALL {
            let p = dir.path().join(format!("x.{}", c.name()));
            // Two members back to back: both are read.
            let mut z = compress(c, &data);
            z.extend(compress(c, b"tail"));
            std::fs::write(&p, z).unwrap();
            let (got_c, got) = read_to_end(&p);
            assert_eq!(got_c, Some(c));
            let got = got.unwrap();
            assert_eq!(got.len(), data.len() + 4, "{c:?}");
            assert!(got.starts_with(&data) && got.ends_with(b"tail"), "{c:?}");
        }
    }

    /// A plain file is read from the file itself, every byte, and not taken for compressed.
    #[test]
    fn a_plain_file_is_read_back_whole() {
        let data: Vec<u8> = (0..300_000u32).flat_map(|i| (i % 253).to_le_bytes()).collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plain.pcap");
        std::fs::write(&p, &data).unwrap();
        let (c, got) = read_to_end(&p);
        assert_eq!(c, None);
        assert!(got.unwrap() == data, "plain file read back differently");
    }

    #[test]
    fn a_truncated_compressed_stream_is_an_error_after_what_it_held() {
        let data: Vec<u8> = (0..400_000u32).flat_map(|i| (i.wrapping_mul(2_654_435_761)).to_le_bytes()).collect();
        let dir = tempfile::tempdir().unwrap();
        for c in ALL {
            let p = dir.path().join(format!("t.{}", c.name()));
            let z = compress(c, &data);
            std::fs::write(&p, &z[..z.len() * 2 / 3]).unwrap();
            let mut s = open_stream(&p).unwrap();
            let mut buf = vec![0u8; 65536];
            let mut total = 0usize;
            let err = loop {
                match s.reader.read(&mut buf) {
                    Ok(0) => break None,
                    Ok(n) => total += n,
                    Err(e) => break Some(e),
                }
            };
            assert!(err.is_some(), "{c:?}: a truncated stream must not end quietly ({total} bytes read)");
            assert!(total > 0, "{c:?}: what came before the cut is read");
        }
    }

    #[test]
    fn plain_files_are_not_taken_for_compressed_ones() {
        assert_eq!(Compression::sniff(&0xa1b2_c3d4u32.to_le_bytes()), None);
        assert_eq!(Compression::sniff(b"BZh"), None);
        assert_eq!(Compression::sniff(b"BZhx"), None);
        assert_eq!(Compression::sniff(&[0x1f]), None);
    }

    #[test]
    fn folders_are_walked_in_name_order_at_every_depth() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in ["b/2.pcap", "b/1.pcap", "a.pcap", "c/d/e/z.pcap", "c/0.pcap", ".hidden/x.pcap", "c/.partial"] {
            let p = d.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
        }
        std::fs::create_dir_all(d.join("empty")).unwrap();
        let (files, warns) = expand_inputs(&[d.to_path_buf()]);
        let rel: Vec<String> =
            files.iter().map(|p| p.strip_prefix(d).unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(rel, ["a.pcap", "b/1.pcap", "b/2.pcap", "c/0.pcap", "c/d/e/z.pcap"]);
        assert!(warns.is_empty(), "{warns:?}");
    }
}
