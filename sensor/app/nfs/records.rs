//! NFSv2 (RFC 1094) and NFSv3 (RFC 1813) procedure arguments and results, as far as
//! Suricata reads them: file handles and names (for `filename` and the handle-to-name map),
//! READ and WRITE data (for files), and status words.
//!
//! Takes: the procedure's part of an RPC message. Promises: bounded reads through [`Xdr`];
//! READ and WRITE data may be cut short (a TCP record still arriving): the data present is
//! returned with the length announced. Never: panics on any input.

use super::xdr::Xdr;

/// Largest file handle read (NFSv3's is at most 64 bytes, NFSv4's 128).
const MAX_HANDLE: u32 = 128;
/// Largest file name read.
const MAX_NAME: u32 = 4096;
/// NFSv2's fixed handle size.
const V2_HANDLE: usize = 32;

fn handle3<'a>(x: &mut Xdr<'a>) -> Option<&'a [u8]> {
    x.opaque(MAX_HANDLE)
}

/// A handle and a name (`diropargs3`: LOOKUP, CREATE, REMOVE, MKDIR, RMDIR).
pub(super) fn dirop3(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut x = Xdr::new(b);
    let h = handle3(&mut x)?;
    let name = x.opaque(MAX_NAME)?;
    Some((h, name))
}

/// A handle first (ACCESS, GETATTR, READDIRPLUS, COMMIT, ...).
pub(super) fn handle_arg3(b: &[u8]) -> Option<&[u8]> {
    handle3(&mut Xdr::new(b))
}

/// RENAME3args: the source directory's handle, the source name, the target name.
pub(super) fn rename3(b: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let mut x = Xdr::new(b);
    let from_dir = handle3(&mut x)?;
    let from = x.opaque(MAX_NAME)?;
    let _to_dir = handle3(&mut x)?;
    let to = x.opaque(MAX_NAME)?;
    Some((from_dir, from, to))
}

/// READ3args (or COMMIT3args): handle and offset.
pub(super) fn read3(b: &[u8]) -> Option<(&[u8], u64)> {
    let mut x = Xdr::new(b);
    let h = handle3(&mut x)?;
    let off = x.u64()?;
    x.u32()?;
    Some((h, off))
}

/// NFSv2 READ arguments: the fixed handle and a 32-bit offset.
pub(super) fn read2(b: &[u8]) -> Option<(&[u8], u64)> {
    let mut x = Xdr::new(b);
    let h = x.fixed(V2_HANDLE)?;
    let off = x.u32()?;
    x.u32()?;
    Some((h, u64::from(off)))
}

/// NFSv2 arguments that open with a handle.
pub(super) fn handle_arg2(b: &[u8]) -> Option<&[u8]> {
    Xdr::new(b).fixed(V2_HANDLE)
}

/// A WRITE3 request.
#[derive(Clone, Copy, Debug)]
pub(super) struct Write<'a> {
    pub handle: &'a [u8],
    pub offset: u64,
    pub count: u32,
    /// `stable_how`: 2 (FILE_SYNC) is taken as the last chunk, as Suricata does.
    pub stable: u32,
    /// Bytes of data announced.
    pub len: u32,
    /// The data present (all of it, or the start of it when the record is still arriving).
    pub data: &'a [u8],
    /// Bytes of the body before the data.
    pub head: usize,
}

/// Parses WRITE3args; the data may be cut short.
pub(super) fn write3(b: &[u8]) -> Option<Write<'_>> {
    let mut x = Xdr::new(b);
    let handle = handle3(&mut x)?;
    let offset = x.u64()?;
    let count = x.u32()?;
    let stable = x.u32()?;
    let len = x.u32()?;
    if stable > 2 || len > count {
        return None;
    }
    let head = b.len() - x.len();
    let rest = x.rest();
    let data = rest.get(..len as usize).unwrap_or(rest);
    Some(Write { handle, offset, count, stable, len, data, head })
}

/// A READ reply (v2 or v3).
#[derive(Clone, Copy, Debug)]
pub(super) struct ReadReply<'a> {
    pub status: u32,
    pub count: u32,
    pub eof: bool,
    /// NFSv2: the file's size from the attributes (the last chunk ends there).
    pub v2_size: Option<u32>,
    pub data: &'a [u8],
    /// Bytes of the body before the data.
    pub head: usize,
}

/// Parses READ3res as Suricata does (84 bytes of attributes whatever the flag says); the
/// data may be cut short.
pub(super) fn read3_reply(b: &[u8]) -> Option<ReadReply<'_>> {
    let mut x = Xdr::new(b);
    let status = x.u32()?;
    if x.u32()? > 1 {
        return None;
    }
    x.fixed(84)?;
    let count = x.u32()?;
    let eof = x.u32()?;
    let len = x.u32()?;
    if eof > 1 || len > count {
        return None;
    }
    let head = b.len() - x.len();
    let rest = x.rest();
    let data = rest.get(..len as usize).unwrap_or(rest);
    Some(ReadReply { status, count, eof: eof == 1, v2_size: None, data, head })
}

/// Parses an NFSv2 READ reply (status, 68 bytes of attributes, the data); all of it must
/// be there.
pub(super) fn read2_reply(b: &[u8]) -> Option<ReadReply<'_>> {
    let mut x = Xdr::new(b);
    let status = x.u32()?;
    let mut attrs = Xdr::new(x.fixed(68)?);
    attrs.skip(20);
    let size = attrs.u32()?;
    let len = x.u32()?;
    let head = b.len() - x.len();
    let data = x.fixed(len as usize)?;
    Some(ReadReply { status, count: len, eof: false, v2_size: Some(size), data, head })
}

/// LOOKUP3res as Suricata reads it: the status and a handle (an error's attribute flag
/// reads as an empty or one-byte handle).
pub(super) fn lookup3_reply(b: &[u8]) -> Option<(u32, &[u8])> {
    let mut x = Xdr::new(b);
    let status = x.u32()?;
    let n = x.u32()?;
    let h = x.fixed(n.min(MAX_HANDLE + 1) as usize)?;
    (n <= MAX_HANDLE).then_some((status, h))
}

/// CREATE3res: the status and the new object's handle when it follows.
pub(super) fn create3_reply(b: &[u8]) -> Option<(u32, Option<&[u8]>)> {
    let mut x = Xdr::new(b);
    let status = x.u32()?;
    match x.u32()? {
        0 => Some((status, None)),
        1 => Some((status, Some(handle3(&mut x)?))),
        _ => None,
    }
}

/// READDIRPLUS3res: the status, and each entry's name and handle to `f` (entries that do
/// not parse end the list).
pub(super) fn readdirplus3_reply(b: &[u8], f: &mut dyn FnMut(&[u8], &[u8])) -> Option<u32> {
    let mut x = Xdr::new(b);
    let status = x.u32()?;
    match x.u32()? {
        0 => {}
        1 => {
            x.fixed(84)?;
        }
        _ => return None,
    }
    x.u64()?;
    // entries until the list ends or stops parsing (the final eof word is left)
    while x.flag() == Some(true) {
        let Some((name, handle)) = readdirplus_entry(&mut x) else { break };
        if let Some(h) = handle {
            f(h, name);
        }
    }
    Some(status)
}

fn readdirplus_entry<'a>(x: &mut Xdr<'a>) -> Option<(&'a [u8], Option<&'a [u8]>)> {
    x.u64()?;
    let name = x.opaque(MAX_NAME)?;
    x.u64()?;
    match x.u32()? {
        0 => {}
        1 => {
            x.fixed(84)?;
        }
        _ => return None,
    }
    let handle = match x.u32()? {
        0 => None,
        1 => Some(handle3(x)?),
        _ => return None,
    };
    Some((name, handle))
}

/// The first word of a result (its status), 0 when there is none.
pub(super) fn status(b: &[u8]) -> u32 {
    Xdr::new(b).u32().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    #[test]
    fn write_data_may_be_cut_short() {
        let mut b = words(&[4, 0xaabbccdd, 0, 8, 10, 2, 10]);
        b.extend_from_slice(b"hello");
        let w = write3(&b).unwrap_or_else(|| panic!("parses"));
        assert_eq!((w.offset, w.count, w.stable, w.len, w.data), (8, 10, 2, 10, &b"hello"[..]));
        assert_eq!(w.head, 28);
        // more data than announced is not file data
        b.extend_from_slice(b"world!!!");
        assert_eq!(write3(&b).map(|w| w.data), Some(&b"helloworld"[..]));
        assert!(write3(&words(&[4, 0, 0, 0, 1, 3, 1])).is_none(), "stable_how 3");
    }

    #[test]
    fn rename_and_readdirplus() {
        let mut b = words(&[4, 1, 1]);
        b.extend_from_slice(b"a\0\0\0");
        b.extend(words(&[4, 1, 2]));
        b.extend_from_slice(b"am\0\0");
        assert_eq!(rename3(&b), Some((&[0, 0, 0, 1][..], &b"a"[..], &b"am"[..])));
        let mut r = words(&[0, 0, 0, 0, 1, 0, 9, 1]);
        r.extend_from_slice(b"x\0\0\0");
        r.extend(words(&[0, 0, 0, 1, 4, 7, 0, 1]));
        let mut seen = Vec::new();
        assert_eq!(readdirplus3_reply(&r, &mut |h, n| seen.push((h.to_vec(), n.to_vec()))), Some(0));
        assert_eq!(seen, vec![(vec![0, 0, 0, 7], b"x".to_vec())]);
    }
}
