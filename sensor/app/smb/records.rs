//! The framing records: the NetBIOS session service header, the SMB1 and SMB2 headers, the
//! SMB3 transform header, the search for the next record after a gap, and SMB's string forms.
//! Zero-copy views that read with bounds checks only.

use crate::app::dcerpc::pdu::Rd;

/// NBSS message type of a session message (the one that carries SMB).
pub(super) const NBSS_SESSION_MESSAGE: u8 = 0x00;

/// An NBSS record: its type and length, and the bytes of it present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Nbss<'a> {
    /// Message type.
    pub msg_type: u8,
    /// Length the header declares (24 bits).
    pub len: u32,
    /// The record's bytes that are present (all of them for a whole record).
    pub data: &'a [u8],
}

impl Nbss<'_> {
    /// A known NBSS message type.
    pub(super) fn is_valid(&self) -> bool {
        matches!(self.msg_type, 0x00 | 0x81..=0x85)
    }
    /// A valid record whose data starts like SMB (`\xfeSMB`, `\xffSMB`, `\xfdSMB`).
    pub(super) fn is_smb(&self) -> bool {
        self.is_valid() && self.data.get(..4).is_some_and(|m| &m[1..] == b"SMB" && matches!(m[0], 0xfd..=0xff))
    }
}

/// The NBSS header of `b` and the record's bytes present after it (all of `b` after the
/// header: the partial view Suricata's partial parsing uses). `None` below 4 bytes.
pub(super) fn nbss_partial(b: &[u8]) -> Option<Nbss<'_>> {
    let h = b.get(..4)?;
    let len = u32::from_be_bytes([0, h[1], h[2], h[3]]);
    Some(Nbss { msg_type: h[0], len, data: b.get(4..)? })
}

/// A whole NBSS record at the front of `b`: (record, bytes it takes with its header), or
/// `Err(n)` when `n` bytes in all are needed for it.
pub(super) fn nbss_record(b: &[u8]) -> Result<(Nbss<'_>, usize), usize> {
    let p = nbss_partial(b).ok_or(4usize)?;
    let total = 4 + p.len as usize;
    match b.get(4..total) {
        Some(data) => Ok((Nbss { data, ..p }, total)),
        None => Err(total),
    }
}

/// The SMB version byte of a record (`0xff` SMB1, `0xfe` SMB2, `0xfd` SMB3 transform), if it
/// starts with the version byte and `SMB`.
pub(super) fn smb_version(b: &[u8]) -> Option<u8> {
    let m = b.get(..4)?;
    (&m[1..] == b"SMB").then_some(m[0])
}

/// Where the next SMB record seems to start after a gap (Suricata's `search_smb_record`): the
/// offset of the version byte of `\xffSMB` / `\xfeSMB` / `\xfdSMB` preceded by an NBSS session
/// message header (not checked within the first bytes). An `SMB` at the very start of the
/// searched bytes ends the search, as there.
pub(super) fn search_smb(b: &[u8]) -> Option<usize> {
    let mut base = 0;
    while b.len() - base >= 4 {
        let d = &b[base..];
        let i = memchr::memmem::find(d, b"SMB")?;
        if i == 0 {
            return None;
        }
        // In bounds: i >= 1 and i < d.len().
        if matches!(d[i - 1], 0xfd..=0xff) && (i < 5 || d[i - 5] == NBSS_SESSION_MESSAGE) {
            return Some(base + i - 1);
        }
        base += i + 3;
    }
    None
}

/// SMB1 header size.
pub(super) const SMB1_HEADER: usize = 32;

/// An SMB1 record: the header fields and the bytes after the 32-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Smb1<'a> {
    /// Command.
    pub command: u8,
    /// Status (NT status, or a DOS error class and code).
    pub status: u32,
    /// The status is a DOS error (the NT-status flag of `flags2` is clear).
    pub is_dos_error: bool,
    /// Flags.
    pub flags: u8,
    /// Flags2.
    pub flags2: u16,
    /// Tree id.
    pub tree_id: u16,
    /// User id: the session id.
    pub ssn_id: u16,
    /// Multiplex id: the message id.
    pub multiplex_id: u16,
    /// The bytes after the header.
    pub data: &'a [u8],
}

impl Smb1<'_> {
    /// Strings are UTF-16.
    pub fn unicode(&self) -> bool {
        self.flags2 & 0x8000 != 0
    }
    /// A request.
    pub fn is_request(&self) -> bool {
        self.flags & 0x80 == 0
    }
    /// The bytes from `andx_offset` (an offset from the start of the SMB header).
    pub fn at(&self, andx_offset: usize) -> &[u8] {
        self.data.get(andx_offset.saturating_sub(SMB1_HEADER)..).unwrap_or(&[])
    }
}

/// Parses an SMB1 header.
pub(super) fn smb1(b: &[u8]) -> Option<Smb1<'_>> {
    let mut r = Rd::new(b);
    if r.take(4)? != b"\xffSMB" {
        return None;
    }
    let command = r.u8()?;
    let status = r.le32()?;
    let flags = r.u8()?;
    let flags2 = r.le16()?;
    r.skip(2 + 8 + 2)?; // pid high, signature, reserved
    let tree_id = r.le16()?;
    r.le16()?; // pid
    let ssn_id = r.le16()?;
    let multiplex_id = r.le16()?;
    Some(Smb1 {
        command,
        status,
        is_dos_error: flags2 & 0x4000 == 0,
        flags,
        flags2,
        tree_id,
        ssn_id,
        multiplex_id,
        data: r.rest(),
    })
}

/// An SMB2 record of a (possibly compound) message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Smb2<'a> {
    /// A response (the server-to-redirector flag).
    pub response: bool,
    /// The header's structure size (64).
    pub header_len: u16,
    /// Status (responses).
    pub status: u32,
    /// Command.
    pub command: u16,
    /// Message id.
    pub message_id: u64,
    /// Tree id (0 in async responses).
    pub tree_id: u32,
    /// Session id.
    pub session_id: u64,
    /// The command's bytes: up to the next compound record, else the rest.
    pub data: &'a [u8],
}

/// Parses an SMB2 record at the front of `b` as a request (`response_hdr` false: no status,
/// the tree id always read) or a response (status; async responses carry an async id instead
/// of the tree id); returns it and the bytes after it (the next compound record).
pub(super) fn smb2(b: &[u8], response_hdr: bool) -> Option<(Smb2<'_>, &[u8])> {
    let mut r = Rd::new(b);
    if r.take(4)? != b"\xfeSMB" {
        return None;
    }
    let header_len = r.le16()?;
    r.le16()?; // credit charge
    let status = if response_hdr {
        r.le32()?
    } else {
        r.skip(4)?; // channel sequence, reserved
        0
    };
    let command = r.le16()?;
    r.le16()?; // credits
    let flags = r.le32()?;
    let chain = r.le32()?;
    let message_id = r.le64()?;
    let is_async = flags & 0x2 != 0;
    let tree_id = if response_hdr && is_async {
        r.le64()?;
        0
    } else {
        r.le32()?; // process id
        r.le32()?
    };
    let session_id = r.le64()?;
    r.skip(16)?; // signature
    let data = if chain > u32::from(header_len) { r.take((chain - u32::from(header_len)) as usize)? } else { r.rest() };
    let next = if chain > u32::from(header_len) { r.rest() } else { &[] };
    let rec = Smb2 { response: flags & 0x1 != 0, header_len, status, command, message_id, tree_id, session_id, data };
    Some((rec, next))
}

/// Parses an SMB3 transform record; returns the bytes after it.
pub(super) fn smb3_transform(b: &[u8]) -> Option<&[u8]> {
    let mut r = Rd::new(b);
    if r.take(4)? != b"\xfdSMB" {
        return None;
    }
    r.skip(32)?; // signature, nonce
    let size = r.le32()?;
    r.skip(2 + 2 + 8)?; // reserved, algorithm, session id
    r.skip(size as usize)?;
    Some(r.rest())
}

/// A NUL-terminated UTF-16LE string as Suricata reads it: every second byte kept (the low
/// byte), ending at a 2-byte NUL, or a single NUL at the very end. Returns it and the rest.
pub(super) fn unicode_string(b: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut out = Vec::new();
    let mut c = b;
    loop {
        match c {
            [0] => return Some((out, &[])),
            [0, 0, rest @ ..] => return Some((out, rest)),
            [x, _, rest @ ..] => {
                out.push(*x);
                c = rest;
            }
            _ => return None,
        }
    }
}

/// A NUL-terminated string; returns it (without the NUL) and the rest.
pub(super) fn ascii_string(b: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let i = memchr::memchr(0, b)?;
    Some((b.get(..i)?.to_vec(), b.get(i + 1..)?))
}

/// The bytes up to a NUL (not kept) and the rest; `None` without a NUL.
pub(super) fn until_nul(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = memchr::memchr(0, b)?;
    Some((b.get(..i)?, b.get(i + 1..)?))
}

/// An SMB1 string at `offset` from the SMB header: UTF-16 (after a pad byte when the offset is
/// odd) when the record says so, else NUL-terminated bytes.
pub(super) fn smb1_string<'a>(b: &'a [u8], r: &Smb1<'_>, offset: usize) -> Option<(Vec<u8>, &'a [u8])> {
    if r.unicode() {
        let b = if offset % 2 == 1 { b.get(1..)? } else { b };
        unicode_string(b)
    } else {
        ascii_string(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nbss_framing() {
        let rec = [0u8, 0, 0, 5, 0xff, b'S', b'M', b'B', 0x72, 9];
        let (n, used) = nbss_record(&rec).unwrap_or_else(|e| panic!("need {e}"));
        assert_eq!((n.msg_type, n.len, n.data.len(), used), (0, 5, 5, 9));
        assert!(n.is_smb());
        assert_eq!(nbss_record(&rec[..6]), Err(9));
        assert_eq!(nbss_record(&rec[..2]), Err(4));
        let keepalive = [0x85u8, 0, 0, 0];
        assert!(nbss_record(&keepalive).is_ok_and(|(n, u)| n.is_valid() && !n.is_smb() && u == 4));
        assert!(!Nbss { msg_type: 0x42, len: 0, data: &[] }.is_valid());
    }

    #[test]
    fn resync_search() {
        let mut b = vec![1u8, 2, 3, 4, 5, 6, 0, 0, 0, 0x40];
        b.extend_from_slice(b"\xfeSMB....");
        assert_eq!(search_smb(&b), Some(10));
        assert_eq!(search_smb(b"xxxxxxxxxx"), None);
        assert_eq!(search_smb(b"SMBxxxx"), None, "SMB at the very start is no candidate");
        // an SMB not behind a session message header is skipped
        let mut c = vec![9u8, 0, 0x40];
        c.extend_from_slice(b"\xfeSMB");
        assert_eq!(search_smb(&c), Some(3), "within the first 5 bytes the NBSS byte is not checked");
        let mut d = vec![0u8; 4];
        d.extend_from_slice(&[9, 0, 0, 0x40]);
        d.extend_from_slice(b"\xfeSMB");
        assert_eq!(search_smb(&d), None);
    }

    #[test]
    fn strings() {
        assert_eq!(unicode_string(b"I\0P\0C\0$\0\0\0rest"), Some((b"IPC$".to_vec(), &b"rest"[..])));
        assert_eq!(unicode_string(b"A\0\0"), Some((b"A".to_vec(), &b""[..])));
        assert_eq!(unicode_string(b"A\0B"), None);
        assert_eq!(ascii_string(b"ab\0c"), Some((b"ab".to_vec(), &b"c"[..])));
        assert_eq!(ascii_string(b"ab"), None);
    }

    #[test]
    fn smb2_compound_and_async() {
        let mut h = Vec::new();
        h.extend_from_slice(b"\xfeSMB");
        h.extend_from_slice(&64u16.to_le_bytes());
        h.extend_from_slice(&[0; 2]);
        h.extend_from_slice(&0xc000_0016u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes()); // session setup
        h.extend_from_slice(&[0; 2]);
        h.extend_from_slice(&3u32.to_le_bytes()); // response, async
        h.extend_from_slice(&72u32.to_le_bytes()); // next command at 72
        h.extend_from_slice(&5u64.to_le_bytes());
        h.extend_from_slice(&0xaabbu64.to_le_bytes()); // async id
        h.extend_from_slice(&7u64.to_le_bytes());
        h.extend_from_slice(&[0; 16]);
        h.extend_from_slice(&[1; 8]);
        h.extend_from_slice(b"next");
        let (r, next) = smb2(&h, true).unwrap_or_else(|| panic!("parses"));
        assert_eq!(
            (r.response, r.status, r.command, r.message_id, r.tree_id, r.session_id),
            (true, 0xc000_0016, 1, 5, 0, 7)
        );
        assert_eq!((r.data, next), (&[1u8; 8][..], &b"next"[..]));
        assert!(smb2(&h[..70], true).is_none(), "a chain offset past the data is malformed");
    }
}
