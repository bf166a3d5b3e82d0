//! Files carried by a protocol (HTTP bodies, SMB reads and writes, FTP data, mail
//! attachments): what EVE `fileinfo` records and the `file.*` keywords need, built as the
//! bytes go by.
//!
//! Takes: a file's name when it opens, its bytes in order (with gaps), its end. Promises: size,
//! state (Suricata's `OPEN`, `CLOSED`, `TRUNCATED`, `ERROR`), gaps, and the hashes the
//! configuration asks for, computed incrementally (nothing of the content is kept here; a
//! protocol that needs the bytes for `file.data` keeps its own bounded buffer). Never:
//! buffers file content, or grows with the file's size.

use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::Sha256;

use crate::app::plugin::{BufferInfo, Need, Side, Transaction, ValueArg, ValueInfo, ValueKeyword};
use crate::output::eve::Json;
use crate::rule::ast::NumCmp;

/// Where a file is (Suricata's `FileState`, as EVE `fileinfo.state` prints it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileState {
    /// Data may still come.
    #[default]
    Open,
    /// Complete.
    Closed,
    /// Cut short (the protocol lost track, a limit was hit, or the flow ended first).
    Truncated,
    /// The protocol reported an error.
    Error,
}

impl FileState {
    /// EVE's spelling.
    pub fn name(self) -> &'static str {
        match self {
            FileState::Open => "OPEN",
            FileState::Closed => "CLOSED",
            FileState::Truncated => "TRUNCATED",
            FileState::Error => "ERROR",
        }
    }
}

/// Which hashes files get (`output.eve.fileinfo.force_hash`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashSet {
    /// MD5.
    pub md5: bool,
    /// SHA-1.
    pub sha1: bool,
    /// SHA-256.
    pub sha256: bool,
}

impl HashSet {
    /// Whether any hash is wanted.
    pub fn any(self) -> bool {
        self.md5 || self.sha1 || self.sha256
    }

    /// The hashes named (`md5`, `sha1`, `sha256`); the first other name is the error.
    pub fn of_names<S: AsRef<str>>(names: &[S]) -> Result<HashSet, String> {
        let mut h = HashSet::default();
        for n in names {
            match n.as_ref() {
                "md5" => h.md5 = true,
                "sha1" => h.sha1 = true,
                "sha256" => h.sha256 = true,
                other => return Err(other.to_string()),
            }
        }
        Ok(h)
    }
}

/// Hash states of a file being read, and their results once it is closed.
#[derive(Clone, Debug, Default)]
struct Hashes {
    md5: Option<Md5>,
    sha1: Option<Sha1>,
    sha256: Option<Sha256>,
    done: Option<[Option<String>; 3]>,
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// One file.
#[derive(Clone, Debug, Default)]
pub struct File {
    /// Name as the protocol gave it (a URI path, an SMB path, a mail attachment name).
    pub name: Vec<u8>,
    /// Bytes seen (gaps included in the size, as Suricata counts them).
    pub size: u64,
    /// State.
    pub state: FileState,
    /// Bytes were missing somewhere.
    pub gaps: bool,
    /// Its content was written by the file store.
    pub stored: bool,
    /// Sent to the server (an upload) rather than to the client.
    pub to_server: bool,
    /// Detection is done with it (Suricata prunes a closed file from its transaction once
    /// the packet it closed in was inspected and logged): file keywords and the `files`
    /// array of alerts skip it; its `fileinfo` record does not.
    pub retired: bool,
    hashes: Option<Box<Hashes>>,
}

impl File {
    /// A file that opens, with the hashes wanted (the protocol passes those the configuration
    /// forces, [`crate::app::AppConfig::file_hashes`]).
    pub fn open(name: &[u8], to_server: bool, hashes: HashSet) -> File {
        let h = hashes.any().then(|| {
            Box::new(Hashes {
                md5: hashes.md5.then(Md5::new),
                sha1: hashes.sha1.then(Sha1::new),
                sha256: hashes.sha256.then(Sha256::new),
                done: None,
            })
        });
        File { name: name.to_vec(), to_server, hashes: h, ..File::default() }
    }

    /// The next bytes of the file.
    pub fn data(&mut self, b: &[u8]) {
        if self.state != FileState::Open {
            return;
        }
        self.size += b.len() as u64;
        if let Some(h) = self.hashes.as_deref_mut() {
            if let Some(x) = h.md5.as_mut() {
                x.update(b);
            }
            if let Some(x) = h.sha1.as_mut() {
                x.update(b);
            }
            if let Some(x) = h.sha256.as_mut() {
                x.update(b);
            }
        }
    }

    /// `len` bytes of the file are missing (the hashes no longer mean anything: dropped).
    pub fn gap(&mut self, len: u64) {
        if self.state != FileState::Open {
            return;
        }
        self.gaps = true;
        self.size += len;
        self.hashes = None;
    }

    /// The file ends in `state` (closed, truncated or in error); the hashes are finished.
    pub fn close(&mut self, state: FileState) {
        if self.state != FileState::Open {
            return;
        }
        self.state = state;
        if let Some(h) = self.hashes.as_deref_mut() {
            h.done = Some([
                h.md5.take().map(|x| hex(&x.finalize())),
                h.sha1.take().map(|x| hex(&x.finalize())),
                h.sha256.take().map(|x| hex(&x.finalize())),
            ]);
        }
    }

    /// MD5, SHA-1 and SHA-256 in lower-case hex, for those computed, once the file is closed
    /// without gaps.
    pub fn hashes(&self) -> [Option<&str>; 3] {
        match self.hashes.as_deref().and_then(|h| h.done.as_ref()) {
            Some([a, b, c]) => [a.as_deref(), b.as_deref(), c.as_deref()],
            None => [None; 3],
        }
    }

    /// Writes those of [`File::hashes`] there are, as EVE's `md5`, `sha1` and `sha256`.
    pub(crate) fn write_hashes(&self, o: &mut Json<'_>) {
        let [md5, sha1, sha256] = self.hashes();
        for (k, h) in [("md5", md5), ("sha1", sha1), ("sha256", sha256)] {
            if let Some(h) = h {
                o.str(k, h);
            }
        }
    }
}

/// Writes a file's `fileinfo` object (`flow_end`: a file still open is cut short).
pub(crate) fn write_fileinfo(j: &mut Json<'_>, f: &File, tx_id: u64, flow_end: bool) {
    let mut o = j.begin("fileinfo");
    o.bytes("filename", &f.name);
    f.write_hashes(&mut o);
    o.bool("gaps", f.gaps);
    let state = if flow_end && f.state == FileState::Open { FileState::Truncated } else { f.state };
    o.str("state", state.name());
    o.bool("stored", f.stored);
    o.u64("size", f.size);
    o.u64("tx_id", tx_id);
    o.end();
}

/// The registry row of a protocol's file buffer (`file.data`, `file.name`, ...): a
/// multi-buffer (one instance per file) shared by every protocol that carries files, on `side`
/// once the transaction reached `need`.
pub(crate) const fn file_buffer(
    name: &'static str,
    aliases: &'static [&'static str],
    side: Side,
    need: Need,
    desc: &'static str,
    doc: &'static str,
) -> BufferInfo {
    BufferInfo { name, aliases, side, need, multi: true, shared: true, internal: false, desc, doc }
}

/// `filesize` (Suricata's file keyword): a file of the transaction, on the packet's side,
/// whose size compares once it is no longer open (Suricata's `FILE_SIG_NEED_SIZE`): a closed
/// file by its size, a truncated one only against a `>`/`>=` bound (`DetectFilesizeMatch`).
/// Inspected as files change, whatever the transaction's progress. A row of every protocol
/// that carries files.
pub(crate) const fn filesize_row<T: Transaction>() -> ValueKeyword<T> {
    ValueKeyword {
        info: ValueInfo {
            name: "filesize",
            aliases: &[],
            arg: Some(true),
            side: Side::Both,
            need: Need::NONE,
            parse: parse_filesize,
            desc: "the size of a transferred file, compared with a number or a range",
            doc: "https://docs.suricata.io/en/latest/rules/file-keywords.html#filesize",
        },
        eval: filesize_eval::<T>,
    }
}

fn parse_filesize(v: Option<&str>) -> Result<ValueArg, String> {
    let v = v.unwrap_or("").trim().trim_matches('"');
    let cmp = crate::rule::parse_uint_cmp(v, u64::MAX).ok_or_else(|| format!("invalid size '{v}'"))?;
    Ok(Box::new(cmp))
}

fn filesize_eval<T: Transaction>(arg: &ValueArg, tx: &T, to_server: bool, _: i64) -> bool {
    let Some(cmp) = arg.downcast_ref::<NumCmp>() else { return false };
    let mut hit = false;
    tx.files(&mut |f| {
        if f.to_server == to_server && !f.retired && !hit {
            hit = size_matches(cmp, f);
        }
    });
    hit
}

/// `filestore` (Suricata's file keyword): the rule needs a file. As in Suricata, a rule with
/// `filestore` is inspected against files: it matches a transaction that carries a file on the
/// packet's side (open or closed), never a packet or transaction without one. The optional
/// argument (`request`/`to_server`, `response`/`to_client`, `both`, then `file`, `tx`, `ssn`,
/// `flow`) says what Suricata would store; Picket does not store file content, so only its
/// direction is kept: a file on that side only. A row of every protocol that carries files.
pub(crate) const fn filestore_row<T: Transaction>() -> ValueKeyword<T> {
    ValueKeyword {
        info: ValueInfo {
            name: "filestore",
            aliases: &[],
            arg: None,
            side: Side::Both,
            need: Need::NONE,
            parse: parse_filestore,
            desc: "the rule needs a file of the transaction (the content is not stored)",
            doc: "https://docs.suricata.io/en/latest/rules/file-keywords.html#filestore",
        },
        eval: filestore_eval::<T>,
    }
}

/// The side whose files count: `None` for either.
struct FilestoreSide(Option<bool>);

fn parse_filestore(v: Option<&str>) -> Result<ValueArg, String> {
    let mut parts = v.unwrap_or("").split(',').map(str::trim);
    let side = match parts.next().unwrap_or("") {
        "" | "both" => None,
        "request" | "to_server" => Some(true),
        "response" | "to_client" => Some(false),
        other => return Err(format!("invalid filestore direction '{other}' (request, response, both)")),
    };
    match parts.next() {
        None | Some("file" | "tx" | "ssn" | "flow") => {}
        Some(other) => return Err(format!("invalid filestore scope '{other}' (file, tx, ssn, flow)")),
    }
    if parts.next().is_some() {
        return Err("filestore takes at most a direction and a scope".into());
    }
    Ok(Box::new(FilestoreSide(side)))
}

fn filestore_eval<T: Transaction>(arg: &ValueArg, tx: &T, to_server: bool, _: i64) -> bool {
    let Some(FilestoreSide(side)) = arg.downcast_ref::<FilestoreSide>() else { return false };
    if side.is_some_and(|s| s != to_server) {
        return false;
    }
    let mut hit = false;
    tx.files(&mut |f| hit |= f.to_server == to_server && !f.retired);
    hit
}

/// Whether a rule keyword is a file keyword (`file.data`, `file.name`, `filename`,
/// `filemagic`, `filesize`, `filestore`, `filemd5`, ...): its rule is inspected per file,
/// again when a new file comes (Suricata's file inspection engine).
pub(crate) fn is_file_keyword(name: &str) -> bool {
    name.starts_with("file")
}

/// What detection watches of a transaction's files on one side: the files and those no
/// longer open, as one number that changes when either does (a file that grows is inspected
/// with the transaction's progress, as before; one that opens or ends, at once), the number
/// of files, and whether one is still open.
pub(crate) fn files_mark<T: Transaction + ?Sized>(tx: &T, to_server: bool) -> (u64, u32, bool) {
    let (mut n, mut ended) = (0u32, 0u32);
    tx.files(&mut |f| {
        if f.to_server == to_server {
            n += 1;
            ended += u32::from(f.state != FileState::Open);
        }
    });
    (u64::from(n) << 32 | u64::from(ended), n, ended < n)
}

/// Whether a file's size satisfies a `filesize` comparison.
pub(crate) fn size_matches(cmp: &NumCmp, f: &File) -> bool {
    match f.state {
        FileState::Closed => cmp.matches(f.size),
        FileState::Truncated | FileState::Error => matches!(cmp, NumCmp::Gt(_) | NumCmp::Ge(_)) && cmp.matches(f.size),
        FileState::Open => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesize_compares_closed_files_and_truncated_ones_past_a_lower_bound() {
        let mut f = File::open(b"a", false, HashSet::default());
        f.data(&[0; 60]);
        assert!(!size_matches(&NumCmp::Gt(50), &f), "not while open, as Suricata's FILE_SIG_NEED_SIZE");
        assert!(!size_matches(&NumCmp::Lt(70), &f), "may still grow");
        let mut cut = f.clone();
        f.close(FileState::Closed);
        assert!(size_matches(&NumCmp::Lt(70), &f) && size_matches(&NumCmp::Gt(50), &f));
        assert!(!size_matches(&NumCmp::Eq(61), &f));
        cut.close(FileState::Truncated);
        assert!(size_matches(&NumCmp::Gt(50), &cut) && !size_matches(&NumCmp::Lt(70), &cut));
        let arg = parse_filesize(Some("<70")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(arg.downcast_ref::<NumCmp>(), Some(&NumCmp::Lt(70)));
        assert!(parse_filesize(Some("big")).is_err());
    }

    #[test]
    fn filestore_takes_an_optional_direction_and_scope() {
        let side = |v: Option<&str>| {
            let arg = parse_filestore(v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
            arg.downcast_ref::<FilestoreSide>().map(|s| s.0)
        };
        assert_eq!(side(None), Some(None));
        assert_eq!(side(Some("both,flow")), Some(None));
        assert_eq!(side(Some("request,file")), Some(Some(true)));
        assert_eq!(side(Some("to_client")), Some(Some(false)));
        assert_eq!(side(Some("response, tx")), Some(Some(false)));
        let err = |v: &str| parse_filestore(Some(v)).err().unwrap_or_default();
        assert_eq!(err("sideways"), "invalid filestore direction 'sideways' (request, response, both)");
        assert_eq!(err("request,forever"), "invalid filestore scope 'forever' (file, tx, ssn, flow)");
        assert_eq!(err("request,file,x"), "filestore takes at most a direction and a scope");
    }

    #[test]
    fn hashes_are_incremental_and_match_whole_input() {
        let all = HashSet { md5: true, sha1: true, sha256: true };
        let mut f = File::open(b"a.txt", false, all);
        for part in [&b"hel"[..], b"lo wor", b"ld"] {
            f.data(part);
        }
        assert_eq!(f.hashes(), [None, None, None], "no hashes while open");
        f.close(FileState::Closed);
        let [md5, sha1, sha256] = f.hashes();
        assert_eq!(md5, Some("5eb63bbbe01eeed093cb22bb8f5acdc3"));
        assert_eq!(sha1, Some("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"));
        assert_eq!(sha256, Some("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"));
        assert_eq!((f.size, f.state.name(), f.gaps), (11, "CLOSED", false));
    }

    #[test]
    fn a_gap_drops_the_hashes_and_counts_in_the_size() {
        let mut f = File::open(b"x", true, HashSet { md5: true, ..HashSet::default() });
        f.data(b"abc");
        f.gap(10);
        f.data(b"def");
        f.close(FileState::Truncated);
        assert_eq!((f.size, f.gaps, f.state), (16, true, FileState::Truncated));
        assert_eq!(f.hashes(), [None, None, None]);
        // nothing changes once closed
        f.data(b"more");
        assert_eq!(f.size, 16);
    }
}
