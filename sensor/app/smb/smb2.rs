//! SMB2/3 commands (Suricata's `smb2.rs`, `smb2_session.rs`, `smb2_ioctl.rs` and the record
//! layouts of `smb2_records.rs`): what each request and response does to the flow's
//! transactions, caches and files.

use super::records::Smb2;
use super::txs::{key, CreateTx, Hdr, Kind, NegTx, RenameTx, SetInfoTx, TreeTx};
use super::{auth, dcerpc, ev, SmbState, Tree, MAX_READ_SIZE, MAX_WRITE_SIZE};
use crate::app::dcerpc::pdu::Rd;

pub(super) const NEGOTIATE: u16 = 0;
pub(super) const SESSION_SETUP: u16 = 1;
pub(super) const TREE_CONNECT: u16 = 3;
pub(super) const TREE_DISCONNECT: u16 = 4;
pub(super) const CREATE: u16 = 5;
pub(super) const CLOSE: u16 = 6;
pub(super) const READ: u16 = 8;
pub(super) const WRITE: u16 = 9;
pub(super) const IOCTL: u16 = 11;
pub(super) const GET_INFO: u16 = 16;
pub(super) const SET_INFO: u16 = 17;

/// NT status values the parser tests.
pub(super) const STATUS_SUCCESS: u32 = 0;
pub(super) const STATUS_PENDING: u32 = 0x0000_0103;
pub(super) const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;
pub(super) const STATUS_END_OF_FILE: u32 = 0xc000_0011;

/// FSCTL_PIPE_TRANSCEIVE: DCE/RPC through an IOCTL.
const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_c017;

/// EVE's name of an SMB2 command.
pub(super) fn command_name(c: u16) -> std::borrow::Cow<'static, str> {
    const N: [&str; 19] = [
        "SMB2_COMMAND_NEGOTIATE_PROTOCOL",
        "SMB2_COMMAND_SESSION_SETUP",
        "SMB2_COMMAND_SESSION_LOGOFF",
        "SMB2_COMMAND_TREE_CONNECT",
        "SMB2_COMMAND_TREE_DISCONNECT",
        "SMB2_COMMAND_CREATE",
        "SMB2_COMMAND_CLOSE",
        "SMB2_COMMAND_FLUSH",
        "SMB2_COMMAND_READ",
        "SMB2_COMMAND_WRITE",
        "SMB2_COMMAND_LOCK",
        "SMB2_COMMAND_IOCTL",
        "SMB2_COMMAND_CANCEL",
        "SMB2_COMMAND_KEEPALIVE",
        "SMB2_COMMAND_FIND",
        "SMB2_COMMAND_CHANGE_NOTIFY",
        "SMB2_COMMAND_GET_INFO",
        "SMB2_COMMAND_SET_INFO",
        "SMB2_COMMAND_OPLOCK_BREAK",
    ];
    match N.get(usize::from(c)) {
        Some(n) => std::borrow::Cow::Borrowed(n),
        None => std::borrow::Cow::Owned(c.to_string()),
    }
}

/// EVE's name of an SMB2 dialect.
pub(super) fn dialect_name(d: u16) -> std::borrow::Cow<'static, str> {
    let s = match d {
        0x0202 => "2.02",
        0x0210 => "2.10",
        0x0222 => "2.22",
        0x0224 => "2.24",
        0x02ff => "2.??",
        0x0300 => "3.00",
        0x0302 => "3.02",
        0x0310 => "3.10",
        0x0311 => "3.11",
        _ => return std::borrow::Cow::Owned(d.to_string()),
    };
    std::borrow::Cow::Borrowed(s)
}

/// Commands that get a generic transaction (reads and writes are files, info queries none).
fn creates_tx(cmd: u16) -> bool {
    !matches!(cmd, READ | WRITE | GET_INFO | SET_INFO)
}

/// A WRITE request: (length, offset, file id, data present).
fn parse_write(b: &[u8]) -> Option<(u32, u64, Vec<u8>, &[u8])> {
    let mut r = Rd::new(b);
    r.skip(4)?;
    let len = r.le32()?;
    let off = r.le64()?;
    let guid = r.take(16)?.to_vec();
    r.skip(16)?; // channel, remaining, flags, reserved
    let rest = r.rest();
    Some((len, off, guid, rest.get(..len as usize).unwrap_or(rest)))
}

/// A READ response: (length, data present).
fn parse_read(b: &[u8]) -> Option<(u32, &[u8])> {
    let mut r = Rd::new(b);
    r.le16()?;
    r.le16()?; // data offset
    let len = r.le32()?;
    r.skip(8)?; // remaining, reserved
    let rest = r.rest();
    Some((len, rest.get(..len as usize).unwrap_or(rest)))
}

/// Where a read's or write's bytes go: the file transfer of `fuid` (open, or a new one), or
/// DCE/RPC when the tree is a pipe carrying it.
enum Target {
    File(usize),
    Dcerpc,
    Skip,
}

impl SmbState {
    /// Finds or makes the file transfer for a read or write of `guid` (Suricata's common part
    /// of `smb2_read_response_record` / `smb2_write_request_record`).
    fn smb2_target(&mut self, r: &Smb2<'_>, guid: &[u8], data: &[u8], to_server: bool, name: Vec<u8>) -> Target {
        if let Some(i) = self.file_tx(guid, to_server, true) {
            return Target::File(i);
        }
        let tree_key = Hdr::from2(r, key::SHARE);
        let (share, mut is_pipe) = match self.ssn2tree.get(&tree_key) {
            Some(t) => (t.name.clone(), t.is_pipe),
            None => (Vec::new(), false),
        };
        let mut is_dcerpc = (is_pipe || share.is_empty()) && self.pipe_is_dcerpc(guid);
        if share.is_empty() && !is_pipe && dcerpc::probe(data) {
            // no tree connect seen: DCE/RPC data marks the tree a pipe
            self.ssn2tree.put(tree_key, Tree { name: b"picket::dcerpc".to_vec(), is_pipe: true });
            if !is_dcerpc {
                self.guid2name.put(guid.to_vec(), b"picket::dcerpc".to_vec());
            }
            is_pipe = true;
            is_dcerpc = true;
        }
        if is_pipe && is_dcerpc {
            return Target::Dcerpc;
        }
        if is_pipe {
            return Target::Skip;
        }
        let i = self.push_file(guid, &name, to_server);
        self.stats.files += 1;
        if let Some(t) = self.at(i) {
            t.set_cmd(2, if to_server { WRITE } else { READ });
            t.hdr = Hdr::new(key::HEADER, r.session_id, r.tree_id, 0);
            if let Kind::File(f) = &mut t.kind {
                if !to_server {
                    f.share = share;
                }
            }
        }
        Target::File(i)
    }
}

/// A WRITE request (whole or partial: `remaining` bytes of its record are still to come).
pub(super) fn write_request(s: &mut SmbState, r: &Smb2<'_>, remaining: u32) {
    if creates_tx(r.command) {
        s.push_generic(2, r.command, Hdr::from2(r, key::GENERICTX));
    }
    let Some((len, offset, guid, data)) = parse_write(r.data) else {
        s.set_event(ev::MALFORMED_DATA);
        return;
    };
    if len.saturating_sub(data.len() as u32) > remaining
        || (s.max_write_size != 0 && len > s.max_write_size)
        || len > MAX_WRITE_SIZE
    {
        s.set_event(ev::WRITE_REQUEST_TOO_LARGE);
        s.set_skip(true, remaining);
        return;
    }
    s.ssn2vec.put(Hdr::from2(r, key::GUID), guid.clone());
    let name = s.name_of(&guid).unwrap_or_default();
    match s.smb2_target(r, &guid, data, true, name) {
        Target::File(i) => {
            if let Err(size) = s.add_chunk(i, data, offset, len, true) {
                s.set_event(if size { ev::WRITE_QUEUE_SIZE_EXCEEDED } else { ev::WRITE_QUEUE_CNT_EXCEEDED });
                s.set_skip(true, remaining);
            }
        }
        Target::Dcerpc => {
            let hdr = Hdr::from2(r, key::HEADER);
            dcerpc::write(s, (2, WRITE), None, hdr, data);
        }
        Target::Skip => s.set_skip(true, remaining),
    }
    s.set_file_left(true, len, data.len() as u32, guid);
}

/// A READ response (whole or partial).
pub(super) fn read_response(s: &mut SmbState, r: &Smb2<'_>, remaining: u32) {
    if creates_tx(r.command) {
        if let Some(i) = s.generic_tx(2, r.command, &Hdr::from2(r, key::GENERICTX)) {
            if let Some(t) = s.at(i) {
                t.set_status(r.status, false);
                t.response_done = true;
            }
        }
    }
    let Some((len, data)) = parse_read(r.data) else {
        s.set_event(ev::MALFORMED_DATA);
        return;
    };
    if len.saturating_sub(data.len() as u32) > remaining {
        s.set_event(ev::READ_RESPONSE_TOO_LARGE);
        s.set_skip(false, remaining);
        return;
    }
    if r.status != STATUS_SUCCESS && r.status != STATUS_BUFFER_OVERFLOW {
        s.set_skip(false, remaining);
        return;
    }
    if (s.max_read_size != 0 && len > s.max_read_size) || len > MAX_READ_SIZE {
        s.set_event(ev::READ_RESPONSE_TOO_LARGE);
        s.set_skip(false, remaining);
        return;
    }
    let Some((guid, offset)) = s.read_offset.pop(&Hdr::from2_notree(r, key::OFFSET)) else {
        s.set_skip(false, remaining);
        return;
    };
    let name = s.name_of(&guid).unwrap_or_else(|| b"<unknown>".to_vec());
    match s.smb2_target(r, &guid, data, false, name) {
        Target::File(i) => {
            if let Err(size) = s.add_chunk(i, data, offset, len, true) {
                s.set_event(if size { ev::READ_QUEUE_SIZE_EXCEEDED } else { ev::READ_QUEUE_CNT_EXCEEDED });
                s.set_skip(false, remaining);
            }
        }
        Target::Dcerpc => {
            let hdr = Hdr::from2(r, key::HEADER);
            dcerpc::read(s, (2, READ), Some(r.status), hdr, &guid, data);
        }
        Target::Skip => s.set_skip(false, remaining),
    }
    s.set_file_left(false, len, data.len() as u32, guid);
}

fn negotiate_request(s: &mut SmbState, r: &Smb2<'_>) -> bool {
    let mut rd = Rd::new(r.data);
    let parsed = (|| {
        rd.skip(2)?;
        let count = rd.le16()?;
        rd.skip(2 + 2 + 4)?;
        let guid = rd.b16()?;
        rd.skip(4 + 2 + 2)?;
        let mut d = Vec::with_capacity(usize::from(count).min(64));
        for _ in 0..count {
            d.push(dialect_name(rd.le16()?).into_owned());
        }
        Some((guid, d))
    })();
    let Some((guid, dialects)) = parsed else { return false };
    if s.negotiate_tx(2).is_none() {
        let n = NegTx { smb_ver: 2, dialects2: dialects, client_guid: Some(guid), ..NegTx::default() };
        let i = s.push(Kind::Negotiate(n), Hdr::default());
        if let Some(t) = s.at(i) {
            t.set_cmd(2, NEGOTIATE);
        }
    }
    true
}

fn set_info_request(s: &mut SmbState, r: &Smb2<'_>) -> Result<bool, ()> {
    let mut rd = Rd::new(r.data);
    let (class, lvl, size, guid) = (|| {
        rd.le16()?;
        let class = rd.u8()?;
        let lvl = rd.u8()?;
        let size = rd.le32()?;
        rd.skip(2 + 2 + 4)?;
        Some((class, lvl, size, rd.b16()?))
    })()
    .ok_or(())?;
    let info = rd.take(size as usize).ok_or(())?;
    if class != 1 {
        return Ok(false);
    }
    let hdr = Hdr::from2(r, key::GENERICTX);
    let kind = match lvl {
        10 => {
            // FILE_RENAME_INFORMATION
            let mut i = Rd::new(info);
            let name = (|| {
                i.skip(16)?;
                let l = i.le32()?;
                i.take(l as usize)
            })()
            .ok_or(())?;
            let mut new = name.to_vec();
            new.retain(|&c| c != 0);
            let old = s.name_of(&guid).unwrap_or_else(|| b"<unknown>".to_vec());
            Kind::Rename(RenameTx { fuid: guid.to_vec(), old, new })
        }
        13 => {
            // FILE_DISPOSITION_INFORMATION
            let delete = info.first().ok_or(())? & 1 != 0;
            let name = match s.name_of(&guid) {
                Some(n) => n,
                None => {
                    // the file a compound create just opened
                    let mut k = Hdr::from2_notree(r, key::FILENAME);
                    if k.msg_id == 0 {
                        b"<unknown>".to_vec()
                    } else {
                        k.msg_id -= 1;
                        s.ssn2vec.get(&k).cloned().unwrap_or_else(|| b"<unknown>".to_vec())
                    }
                }
            };
            Kind::SetInfo(SetInfoTx {
                subcmd: u16::from(class),
                loi: u16::from(lvl),
                delete_on_close: delete,
                name,
                fid: guid.to_vec(),
            })
        }
        _ => return Ok(false),
    };
    let i = s.push(kind, hdr);
    if let Some(t) = s.at(i) {
        t.set_cmd(2, SET_INFO);
    }
    Ok(true)
}

fn ioctl_request(s: &mut SmbState, r: &Smb2<'_>) {
    let hdr = Hdr::from2(r, key::HEADER);
    let mut rd = Rd::new(r.data);
    let parsed = (|| {
        rd.skip(4)?;
        let func = rd.le32()?;
        let guid = rd.b16()?;
        rd.le32()?;
        let in_len = rd.le32()?;
        rd.skip(4 + 4 + 4 + 12)?;
        Some((func, guid, rd.take(in_len as usize)?))
    })();
    match parsed {
        Some((func, guid, data)) => {
            if func == FSCTL_PIPE_TRANSCEIVE && s.pipe_is_dcerpc(&guid) {
                dcerpc::write(s, (2, IOCTL), None, hdr, data);
            } else {
                let i = s.push(Kind::Ioctl(func), hdr);
                if let Some(t) = s.at(i) {
                    t.set_cmd(2, IOCTL);
                }
            }
        }
        None => {
            let i = s.push_generic(2, r.command, hdr);
            if let Some(t) = s.at(i) {
                t.set_event(ev::MALFORMED_DATA);
            }
        }
    }
}

fn ioctl_response(s: &mut SmbState, r: &Smb2<'_>) {
    let hdr = Hdr::from2(r, key::HEADER);
    let mut rd = Rd::new(r.data);
    let parsed = (|| {
        rd.skip(4)?;
        let func = rd.le32()?;
        let guid = rd.b16()?;
        rd.le32()?;
        let in_len = rd.le32()?;
        rd.le32()?;
        let out_len = rd.le32()?;
        rd.skip(8)?;
        rd.skip(in_len as usize)?;
        Some((func, guid, rd.take(out_len as usize)?))
    })();
    if let Some((func, guid, data)) = parsed {
        if func == FSCTL_PIPE_TRANSCEIVE && s.pipe_is_dcerpc(&guid) {
            dcerpc::read(s, (2, IOCTL), Some(r.status), hdr, &[], data);
            return;
        }
    }
    if let Some(i) = s.generic_tx(2, IOCTL, &hdr) {
        if let Some(t) = s.at(i) {
            t.set_status(r.status, false);
            if r.status != STATUS_PENDING {
                t.response_done = true;
            }
            if parsed.is_none() && r.status == STATUS_SUCCESS {
                t.set_event(ev::MALFORMED_DATA);
            }
        }
    }
}

fn session_setup_request(s: &mut SmbState, r: &Smb2<'_>) {
    let mut rd = Rd::new(r.data);
    if rd.skip(2 + 1 + 1 + 4 + 4 + 2 + 2 + 8).is_none() {
        return;
    }
    let hdr = Hdr::from2(r, key::HEADER);
    let mut info = auth::SessionInfo::default();
    let mut warn = false;
    if let Some((n, k)) = auth::parse_secblob(rd.rest()) {
        warn = n.as_ref().is_some_and(|n| n.warning);
        info.ntlmssp = n;
        info.krb = k;
    }
    let i = s.push(Kind::Session(Box::new(info)), hdr);
    if let Some(t) = s.at(i) {
        t.set_cmd(2, r.command);
        if warn {
            t.set_event(ev::UNUSUAL_NTLMSSP_ORDER);
        }
    }
}

fn session_setup_response(s: &mut SmbState, r: &Smb2<'_>) {
    let exact = if r.session_id != 0 { s.session_tx(&Hdr::from2(r, key::HEADER)) } else { None };
    let i = exact.or_else(|| s.session_tx(&Hdr::new(key::HEADER, 0, 0, r.message_id)));
    if let Some(t) = i.and_then(|i| s.at(i)) {
        t.hdr = Hdr::from2(r, key::HEADER);
        t.set_status(r.status, false);
        t.response_done = true;
    }
}

/// An SMB2 request record.
pub(super) fn request(s: &mut SmbState, r: &Smb2<'_>) {
    let mut events = Vec::new();
    let have_tx = match r.command {
        SET_INFO => match set_info_request(s, r) {
            Ok(have) => have,
            Err(()) => {
                events.push(ev::MALFORMED_DATA);
                false
            }
        },
        IOCTL => {
            ioctl_request(s, r);
            true
        }
        TREE_DISCONNECT => {
            s.ssn2tree.pop(&Hdr::from2(r, key::SHARE));
            false
        }
        NEGOTIATE => {
            let ok = negotiate_request(s, r);
            if !ok {
                events.push(ev::MALFORMED_DATA);
            }
            ok
        }
        SESSION_SETUP => {
            session_setup_request(s, r);
            true
        }
        TREE_CONNECT => tree_connect_request(s, r, &mut events),
        READ => read_request(s, r, &mut events),
        CREATE => create_request(s, r, &mut events),
        CLOSE => close_request(s, r, &mut events),
        WRITE => {
            write_request(s, r, 0);
            true
        }
        _ => false,
    };
    if !have_tx && creates_tx(r.command) {
        let i = s.push_generic(2, r.command, Hdr::from2(r, key::GENERICTX));
        if let Some(t) = s.at(i) {
            for e in events {
                t.set_event(e);
            }
        }
    }
}

/// TREE_CONNECT: a tree transaction for the share named.
fn tree_connect_request(s: &mut SmbState, r: &Smb2<'_>, events: &mut Vec<u16>) -> bool {
    match r.data.get(6..) {
        Some(name) => {
            let mut name = name.to_vec();
            name.retain(|&c| c != 0);
            if name.len() > 1 {
                name.remove(0);
            }
            let tree = TreeTx { name, ..TreeTx::default() };
            let i = s.push(Kind::Tree(tree), Hdr::from2(r, key::TREE));
            if let Some(t) = s.at(i) {
                t.set_cmd(2, TREE_CONNECT);
            }
            true
        }
        None => {
            events.push(ev::MALFORMED_DATA);
            false
        }
    }
}

/// READ: the offset remembered for the response's file chunk (no transaction).
fn read_request(s: &mut SmbState, r: &Smb2<'_>, events: &mut Vec<u16>) -> bool {
    let mut rd = Rd::new(r.data);
    let parsed = (|| {
        rd.skip(4)?;
        let len = rd.le32()?;
        let off = rd.le64()?;
        let guid = rd.take(16)?.to_vec();
        rd.skip(16)?;
        Some((len, off, guid))
    })();
    match parsed {
        Some((len, off, guid)) => {
            if (s.max_read_size != 0 && len > s.max_read_size) || len > MAX_READ_SIZE {
                events.push(ev::READ_REQUEST_TOO_LARGE);
            } else {
                s.read_offset.put(Hdr::from2_notree(r, key::OFFSET), (guid, off));
            }
        }
        None => events.push(ev::MALFORMED_DATA),
    }
    false
}

/// CREATE: a create transaction with the file name and disposition.
fn create_request(s: &mut SmbState, r: &Smb2<'_>, events: &mut Vec<u16>) -> bool {
    let mut rd = Rd::new(r.data);
    let parsed = (|| {
        rd.skip(36)?;
        let disposition = rd.le32()?;
        let options = rd.le32()?;
        rd.le16()?;
        let name_len = rd.le16()?;
        rd.skip(8)?;
        Some((disposition, options, rd.take(usize::from(name_len))?))
    })();
    match parsed {
        Some((disposition, options, name)) => {
            s.ssn2vec.put(Hdr::from2_notree(r, key::FILENAME), name.to_vec());
            let c = CreateTx {
                disposition,
                delete_on_close: options & 0x1000 != 0,
                directory: options & 0x1 != 0,
                name: name.to_vec(),
                ..CreateTx::default()
            };
            let i = s.push(Kind::Create(c), Hdr::from2(r, key::GENERICTX));
            if let Some(t) = s.at(i) {
                t.set_cmd(2, r.command);
            }
            true
        }
        None => {
            events.push(ev::MALFORMED_DATA);
            false
        }
    }
}

/// CLOSE: the file transfers on the handle end (no transaction of its own).
fn close_request(s: &mut SmbState, r: &Smb2<'_>, events: &mut Vec<u16>) -> bool {
    match r.data.get(8..24) {
        Some(guid) => {
            s.guid2name.pop(guid);
            for to_server in [true, false] {
                if let Some(i) = s.file_tx(guid, to_server, false) {
                    let super::SmbState { txs, .. } = s;
                    if let Some(t) = txs.get_mut(i) {
                        if !t.request_done {
                            if let Kind::File(f) = &mut t.kind {
                                f.tracker.close();
                            }
                        }
                        t.request_done = true;
                        t.response_done = true;
                        t.set_status(STATUS_SUCCESS, false);
                    }
                }
            }
        }
        None => events.push(ev::MALFORMED_DATA),
    }
    false
}

fn negotiate_response(s: &mut SmbState, r: &Smb2<'_>) -> Option<bool> {
    let mut rd = Rd::new(r.data);
    rd.skip(4)?;
    let (dialect, guid, max_read, max_write) = if r.status == STATUS_SUCCESS {
        let d = rd.le16()?;
        rd.le16()?;
        let g = rd.take(16)?.to_vec();
        rd.skip(4 + 4)?;
        (d, g, rd.le32()?, rd.le32()?)
    } else {
        (0, Vec::new(), 0, 0)
    };
    if max_read > MAX_READ_SIZE {
        s.set_event(ev::NEGOTIATE_MAX_READ_SIZE_TOO_LARGE);
    }
    if max_write > MAX_WRITE_SIZE {
        s.set_event(ev::NEGOTIATE_MAX_WRITE_SIZE_TOO_LARGE);
    }
    s.dialect = dialect;
    s.max_read_size = max_read;
    s.max_write_size = max_write;
    s.snap_changed();
    // the SMB2 negotiate, else an SMB1 one answered in SMB2
    let i = s.negotiate_tx(2).or_else(|| s.negotiate_tx(1));
    let Some(t) = i.and_then(|i| s.at(i)) else { return Some(false) };
    if let Kind::Negotiate(n) = &mut t.kind {
        n.server_guid = guid;
    }
    t.set_status(r.status, false);
    t.response_done = true;
    Some(true)
}

fn tree_connect_response(s: &mut SmbState, r: &Smb2<'_>, events: &mut Vec<u16>) -> bool {
    let name_key = Hdr::from2(r, key::TREE);
    if r.status != STATUS_SUCCESS {
        let Some(t) = s.tree_tx(&name_key).and_then(|i| s.at(i)) else { return false };
        t.response_done = true;
        t.set_status(r.status, false);
        return true;
    }
    let Some(share_type) = r.data.get(2).copied().filter(|_| r.data.len() >= 15) else {
        events.push(ev::MALFORMED_DATA);
        return false;
    };
    let is_pipe = share_type == 2;
    let Some(t) = s.tree_tx(&name_key).and_then(|i| s.at(i)) else { return true };
    let mut name = Vec::new();
    if let Kind::Tree(x) = &mut t.kind {
        x.share_type = share_type;
        x.is_pipe = is_pipe;
        x.tree_id = r.tree_id;
        name = x.name.clone();
    }
    t.hdr = Hdr::from2(r, key::HEADER);
    t.response_done = true;
    t.set_status(r.status, false);
    s.ssn2tree.put(Hdr::from2(r, key::SHARE), Tree { name, is_pipe });
    true
}

fn create_response(s: &mut SmbState, r: &Smb2<'_>, events: &mut Vec<u16>) -> bool {
    if r.status != STATUS_SUCCESS {
        return false;
    }
    let mut rd = Rd::new(r.data);
    let parsed = (|| {
        rd.skip(8)?;
        let mut times = [0u64; 4];
        for t in &mut times {
            *t = rd.le64()?;
        }
        rd.le64()?;
        let eof = rd.le64()?;
        rd.skip(8)?;
        let guid = rd.take(16)?.to_vec();
        rd.skip(8)?;
        Some((times, eof, guid))
    })();
    let Some((times, size, guid)) = parsed else {
        events.push(ev::MALFORMED_DATA);
        return true;
    };
    if let Some(mut name) = s.ssn2vec.pop(&Hdr::from2_notree(r, key::FILENAME)) {
        name.retain(|&c| c != 0);
        s.guid2name.put(guid.clone(), name);
    }
    if let Some(t) = s.generic_tx(2, r.command, &Hdr::from2(r, key::GENERICTX)).and_then(|i| s.at(i)) {
        t.set_status(r.status, false);
        t.response_done = true;
        if let Kind::Create(c) = &mut t.kind {
            c.times = times.map(filetime_unix);
            c.size = size;
            c.guid = guid;
        }
    }
    true
}

/// FILETIME (100 ns since 1601) to Unix seconds, 0 before 1970 (Suricata's `as_unix`).
pub(super) fn filetime_unix(ft: u64) -> u32 {
    if ft > 116_444_736_000_000_000 {
        (ft / 10_000_000 - 11_644_473_600) as u32
    } else {
        0
    }
}

/// An SMB2 response record.
pub(super) fn response(s: &mut SmbState, r: &Smb2<'_>) {
    let mut events = Vec::new();
    let have_tx = match r.command {
        IOCTL => {
            ioctl_response(s, r);
            true
        }
        SESSION_SETUP => {
            session_setup_response(s, r);
            true
        }
        WRITE => {
            if r.status == STATUS_SUCCESS {
                if r.data.len() < 14 {
                    events.push(ev::MALFORMED_DATA);
                } else {
                    s.ssn2vec.pop(&Hdr::new(key::GUID, r.session_id, r.tree_id, r.message_id));
                }
            }
            false
        }
        READ => {
            if r.status == STATUS_SUCCESS || r.status == STATUS_BUFFER_OVERFLOW {
                read_response(s, r, 0);
            } else if r.status == STATUS_END_OF_FILE {
                let guid = s.read_offset.pop(&Hdr::from2_notree(r, key::OFFSET)).map(|(g, _)| g).unwrap_or_default();
                if let Some(t) = s.file_tx(&guid, false, false).and_then(|i| s.at(i)) {
                    if !t.request_done {
                        if let Kind::File(f) = &mut t.kind {
                            f.tracker.close();
                        }
                    }
                    t.set_status(r.status, false);
                    t.request_done = true;
                }
            }
            false
        }
        CREATE => create_response(s, r, &mut events),
        TREE_DISCONNECT => {
            s.ssn2tree.pop(&Hdr::from2(r, key::SHARE));
            false
        }
        TREE_CONNECT => tree_connect_response(s, r, &mut events),
        NEGOTIATE => match negotiate_response(s, r) {
            Some(found) => found,
            None => {
                events.push(ev::MALFORMED_DATA);
                false
            }
        },
        _ => false,
    };
    if !have_tx {
        if let Some(t) = s.generic_tx(2, r.command, &Hdr::from2(r, key::GENERICTX)).and_then(|i| s.at(i)) {
            if r.status != STATUS_PENDING {
                t.response_done = true;
            }
            t.set_status(r.status, false);
            for e in events {
                t.set_event(e);
            }
        }
    }
}
