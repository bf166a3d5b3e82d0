//! SMB's frames (Suricata's `SMBFrameType`): the NBSS record, its 4-byte header and its data;
//! and per SMB1, SMB2 (each record of a compound message) and SMB3 transform record, the
//! record, its header and the bytes after the header. The parser lists them as it frames
//! records; the plug-in hands them to the flow's [`crate::app::frames::Frames`].

use super::records::SMB1_HEADER;

/// Frame types, in Suricata's order (the index is the type).
pub(super) const FRAMES: &[&str] = &[
    "nbss.pdu",
    "nbss.hdr",
    "nbss.data",
    "smb1.pdu",
    "smb1.hdr",
    "smb1.data",
    "smb2.pdu",
    "smb2.hdr",
    "smb2.data",
    "smb3.pdu",
    "smb3.hdr",
    "smb3.data",
];

const NBSS: u8 = 0;
/// First type of SMB1's three (pdu, hdr, data); SMB2's and SMB3's follow.
const SMB1: u8 = 3;
const SMB2: u8 = 6;
const SMB3: u8 = 9;
/// SMB3 transform header size.
const SMB3_HEADER: u64 = 52;

/// Frames of the current call.
#[derive(Debug, Default)]
pub struct SmbFrames {
    /// Frames are wanted.
    pub on: bool,
    /// Stream offset of the first byte of the bytes being parsed (the held-back bytes first).
    pub base: u64,
    /// Stream offset of the NBSS record being parsed.
    pub rec: u64,
    /// (direction, stream offset, length, type).
    pub list: Vec<(bool, u64, u64, u8)>,
}

impl SmbFrames {
    /// An NBSS record of `len` bytes after its header at stream offset `at`.
    pub fn nbss(&mut self, ts: bool, at: u64, len: u64) {
        if self.on {
            self.rec = at;
            self.list.extend([(ts, at, len + 4, NBSS), (ts, at, 4, NBSS + 1), (ts, at + 4, len, NBSS + 2)]);
        }
    }

    /// An SMB record of version `version` (0xff, 0xfe, 0xfd) at stream offset `at`, `len`
    /// bytes with a header of `hdr` bytes; `have`: bytes of it present (the data frame is
    /// made only when some follow the header, as Suricata does).
    pub fn smb(&mut self, ts: bool, version: u8, at: u64, len: u64, hdr: u64, have: u64) {
        if !self.on {
            return;
        }
        let first = match version {
            0xff => SMB1,
            0xfe => SMB2,
            _ => SMB3,
        };
        self.list.push((ts, at, len, first));
        self.list.push((ts, at, hdr.min(len), first + 1));
        if have > hdr {
            self.list.push((ts, at + hdr, len.saturating_sub(hdr), first + 2));
        }
    }

    /// The frames of one whole NBSS session message's SMB records (`data`: the message after
    /// the NBSS header, at `self.rec + 4`).
    pub fn records(&mut self, ts: bool, data: &[u8]) {
        if !self.on {
            return;
        }
        let at = self.rec + 4;
        let len = data.len() as u64;
        match super::records::smb_version(data) {
            Some(0xff) => self.smb(ts, 0xff, at, len, SMB1_HEADER as u64, len),
            Some(0xfe) => {
                let mut rest = data;
                while !rest.is_empty() {
                    let Some((r, next)) = super::records::smb2(rest, !ts) else { break };
                    let used = (rest.len() - next.len()) as u64;
                    let off = at + (data.len() - rest.len()) as u64;
                    self.smb(ts, 0xfe, off, used, u64::from(r.header_len), used);
                    rest = next;
                }
            }
            Some(0xfd) => self.smb(ts, 0xfd, at, len, SMB3_HEADER, len),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nbss_and_smb2_frames_of_a_record() {
        let mut f = SmbFrames { on: true, ..SmbFrames::default() };
        f.nbss(true, 100, 80);
        f.smb(true, 0xfe, 104, 80, 64, 80);
        assert_eq!(
            f.list,
            vec![
                (true, 100, 84, 0),
                (true, 100, 4, 1),
                (true, 104, 80, 2),
                (true, 104, 80, 6),
                (true, 104, 64, 7),
                (true, 168, 16, 8)
            ]
        );
        let mut f = SmbFrames::default();
        f.nbss(true, 0, 10);
        assert!(f.list.is_empty(), "nothing listed unless wanted");
    }

    #[test]
    fn a_header_only_record_has_no_data_frame() {
        let mut f = SmbFrames { on: true, ..SmbFrames::default() };
        f.smb(false, 0xfe, 4, 64, 64, 64);
        assert_eq!(f.list, vec![(false, 4, 64, 6), (false, 4, 64, 7)]);
    }
}
