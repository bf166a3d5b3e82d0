//! SMB1 commands (Suricata's `smb1.rs`, `smb1_session.rs` and the record layouts of
//! `smb1_records.rs`): AndX chains, and what each request and response does to the flow's
//! transactions, caches and files.

use super::records::{self, Smb1, SMB1_HEADER};
use super::txs::{key, CreateTx, Hdr, Kind, NegTx, RenameTx, SetInfoTx, TreeTx};
use super::{auth, dcerpc, ev, SmbState, Tree};
use crate::app::dcerpc::pdu::Rd;

pub(super) const RENAME: u8 = 0x07;
pub(super) const CLOSE: u8 = 0x04;
pub(super) const WRITE: u8 = 0x0b;
pub(super) const LOCKING_ANDX: u8 = 0x24;
pub(super) const TRANS: u8 = 0x25;
pub(super) const WRITE_AND_CLOSE: u8 = 0x2c;
pub(super) const OPEN_ANDX: u8 = 0x2d;
pub(super) const READ_ANDX: u8 = 0x2e;
pub(super) const WRITE_ANDX: u8 = 0x2f;
pub(super) const TRANS2: u8 = 0x32;
pub(super) const TRANS2_SECONDARY: u8 = 0x33;
pub(super) const TREE_DISCONNECT: u8 = 0x71;
pub(super) const NEGOTIATE: u8 = 0x72;
pub(super) const SESSION_SETUP_ANDX: u8 = 0x73;
pub(super) const LOGOFF_ANDX: u8 = 0x74;
pub(super) const TREE_CONNECT_ANDX: u8 = 0x75;
pub(super) const NT_CREATE_ANDX: u8 = 0xa2;
pub(super) const NT_CANCEL: u8 = 0xa4;
const NONE: u8 = 0xff;

const STATUS_SUCCESS: u32 = 0;
const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;

/// EVE's name of an SMB1 command.
pub(super) fn command_name(c: u8) -> std::borrow::Cow<'static, str> {
    let s = match c {
        0x00 => "SMB1_COMMAND_CREATE_DIRECTORY",
        0x01 => "SMB1_COMMAND_DELETE_DIRECTORY",
        0x02 => "SMB1_COMMAND_OPEN",
        0x03 => "SMB1_COMMAND_CREATE",
        0x04 => "SMB1_COMMAND_CLOSE",
        0x05 => "SMB1_COMMAND_FLUSH",
        0x06 => "SMB1_COMMAND_DELETE",
        0x07 => "SMB1_COMMAND_RENAME",
        0x08 => "SMB1_COMMAND_QUERY_INFORMATION",
        0x09 => "SMB1_COMMAND_SET_INFORMATION",
        0x0a => "SMB1_COMMAND_READ",
        0x0b => "SMB1_COMMAND_WRITE",
        0x0c => "SMB1_COMMAND_LOCK_BYTE_RANGE",
        0x0d => "SMB1_COMMAND_UNLOCK_BYTE_RANGE",
        0x0e => "SMB1_COMMAND_CREATE_TEMPORARY",
        0x0f => "SMB1_COMMAND_CREATE_NEW",
        0x10 => "SMB1_COMMAND_CHECK_DIRECTORY",
        0x11 => "SMB1_COMMAND_PROCESS_EXIT",
        0x12 => "SMB1_COMMAND_SEEK",
        0x13 => "SMB1_COMMAND_LOCK_AND_READ",
        0x14 => "SMB1_COMMAND_WRITE_AND_UNLOCK",
        0x24 => "SMB1_COMMAND_LOCKING_ANDX",
        0x25 => "SMB1_COMMAND_TRANS",
        0x2b => "SMB1_COMMAND_ECHO",
        0x2c => "SMB1_COMMAND_WRITE_AND_CLOSE",
        0x2d => "SMB1_COMMAND_OPEN_ANDX",
        0x2e => "SMB1_COMMAND_READ_ANDX",
        0x2f => "SMB1_COMMAND_WRITE_ANDX",
        0x32 => "SMB1_COMMAND_TRANS2",
        0x33 => "SMB1_COMMAND_TRANS2_SECONDARY",
        0x34 => "SMB1_COMMAND_FIND_CLOSE2",
        0x71 => "SMB1_COMMAND_TREE_DISCONNECT",
        0x72 => "SMB1_COMMAND_NEGOTIATE_PROTOCOL",
        0x73 => "SMB1_COMMAND_SESSION_SETUP_ANDX",
        0x74 => "SMB1_COMMAND_LOGOFF_ANDX",
        0x75 => "SMB1_COMMAND_TREE_CONNECT_ANDX",
        0x80 => "SMB1_COMMAND_QUERY_INFO_DISK",
        0xa0 => "SMB1_COMMAND_NT_TRANS",
        0xa1 => "SMB1_COMMAND_NT_TRANS_SECONDARY",
        0xa2 => "SMB1_COMMAND_NT_CREATE_ANDX",
        0xa4 => "SMB1_COMMAND_NT_CANCEL",
        _ => return std::borrow::Cow::Owned(c.to_string()),
    };
    std::borrow::Cow::Borrowed(s)
}

/// Commands that get a generic transaction.
fn creates_tx(cmd: u8) -> bool {
    !matches!(cmd, READ_ANDX | WRITE_ANDX | TRANS | TRANS2)
}

/// Commands whose response completes a generic transaction.
fn checks_tx(cmd: u8) -> bool {
    !matches!(cmd, READ_ANDX | WRITE_ANDX | TRANS)
}

fn is_andx(cmd: u8) -> bool {
    matches!(
        cmd,
        LOCKING_ANDX
            | OPEN_ANDX
            | READ_ANDX
            | SESSION_SETUP_ANDX
            | LOGOFF_ANDX
            | TREE_CONNECT_ANDX
            | NT_CREATE_ANDX
            | WRITE_ANDX
    )
}

/// A file id as Suricata keys it: the 2-byte FID and the session id (big-endian).
fn fuid(fid: &[u8], r: &Smb1<'_>) -> Vec<u8> {
    let mut f = fid.to_vec();
    f.extend_from_slice(&u32::from(r.ssn_id).to_be_bytes());
    f
}

/// Runs `one` on each command of an AndX chain.
fn each_andx(s: &mut SmbState, r: &Smb1<'_>, one: fn(&mut SmbState, &Smb1<'_>, u8, usize)) {
    let (mut off, mut cmd) = (SMB1_HEADER, r.command);
    loop {
        one(s, r, cmd, off);
        if !is_andx(cmd) {
            break;
        }
        let b = r.at(off);
        let (Some(&next), Some(o)) = (b.get(1), b.get(3..5)) else { break };
        let next_off = usize::from(u16::from_le_bytes([o[0], o[1]]));
        if next_off > off && next != NONE && next_off - SMB1_HEADER < r.data.len() {
            off = next_off;
            cmd = next;
        } else {
            break;
        }
    }
}

/// An SMB1 request record.
pub(super) fn request(s: &mut SmbState, r: &Smb1<'_>) {
    each_andx(s, r, request_one);
}

/// An SMB1 response record.
pub(super) fn response(s: &mut SmbState, r: &Smb1<'_>) {
    each_andx(s, r, response_one);
}

fn close_file(s: &mut SmbState, fid: &[u8], to_server: bool) {
    if let Some(t) = s.file_tx(fid, to_server, false).and_then(|i| s.at(i)) {
        if let Kind::File(f) = &mut t.kind {
            if !t.request_done {
                f.tracker.close();
                t.request_done = true;
                t.response_done = true;
            }
        }
    }
}

fn push_kind(s: &mut SmbState, r: &Smb1<'_>, kind: Kind, cmd: u8) {
    let i = s.push(kind, Hdr::from1(r, key::GENERICTX));
    if let Some(t) = s.at(i) {
        t.set_cmd(1, u16::from(cmd));
    }
}

fn rename_request(s: &mut SmbState, r: &Smb1<'_>) -> Option<()> {
    let mut rd = Rd::new(r.data);
    rd.skip(1 + 2 + 2 + 1)?;
    let (old, rest) = records::unicode_string(rd.rest())?;
    let (new, _) = records::unicode_string(rest.get(2..)?)?;
    push_kind(s, r, Kind::Rename(RenameTx { fuid: Vec::new(), old, new }), RENAME);
    Some(())
}

/// TRANS2 SET_PATH_INFO (6) and SET_FILE_INFO (8): dispositions and renames. `Some(true)`:
/// a transaction was made.
fn trans2_request(s: &mut SmbState, r: &Smb1<'_>) -> Option<bool> {
    let mut rd = Rd::new(r.data);
    rd.skip(1 + 2 + 2 + 2 + 2 + 1 + 1 + 2 + 4 + 2)?;
    let param_cnt = rd.le16()?;
    let param_off = rd.le16()?;
    if param_off > u16::MAX - param_cnt {
        return None;
    }
    let data_cnt = rd.le16()?;
    let data_off = rd.le16()?;
    rd.skip(2)?;
    let subcmd = rd.le16()?;
    rd.skip(2 + 3)?;
    let params = rd.take(usize::from(param_cnt))?;
    if data_off > param_off + param_cnt {
        rd.skip(usize::from(data_off - param_off - param_cnt))?;
    }
    let data = rd.take(usize::from(data_cnt))?;
    let (old, fid, loi) = match subcmd {
        6 => {
            let mut p = Rd::new(params);
            let loi = p.le16()?;
            p.skip(4)?;
            (records::unicode_string(p.rest())?.0, None, loi)
        }
        8 => {
            let mut p = Rd::new(params);
            let fid = p.take(2)?;
            let loi = p.le16()?;
            let old = s.name_of(&fuid(fid, r)).unwrap_or_else(|| b"<unknown>".to_vec());
            (old, Some(fid.to_vec()), loi)
        }
        _ => return Some(false),
    };
    let kind = match loi {
        1013 => Kind::SetInfo(SetInfoTx {
            subcmd,
            loi,
            delete_on_close: data.first()? & 1 == 1,
            name: old,
            fid: fid.unwrap_or_default(),
        }),
        1010 => {
            let mut d = Rd::new(data);
            d.skip(1 + 3 + 4)?;
            let l = d.le32()?;
            let mut new = d.take(l as usize)?.to_vec();
            new.retain(|&c| c != 0);
            Kind::Rename(RenameTx { fuid: fid.unwrap_or_default(), old, new })
        }
        _ => return Some(false),
    };
    push_kind(s, r, kind, TRANS2);
    Some(true)
}

fn negotiate_request(s: &mut SmbState, r: &Smb1<'_>) -> Option<()> {
    let mut rest = r.data.get(3..)?;
    let mut dialects = Vec::new();
    let mut bad = false;
    while let Some((d, next)) = records::until_nul(rest) {
        match d {
            [] => bad = true,
            [_] => {
                bad = true;
                dialects.push(Vec::new());
            }
            [_, name @ ..] => dialects.push(name.to_vec()),
        }
        rest = next;
        if dialects.len() >= 64 {
            break;
        }
    }
    if dialects.is_empty() && !bad {
        return None;
    }
    match s.negotiate_tx(1) {
        Some(i) => {
            if let Some(t) = s.at(i) {
                t.set_event(ev::DUPLICATE_NEGOTIATE);
            }
        }
        None => {
            let i = s.push(Kind::Negotiate(NegTx { smb_ver: 1, dialects, ..NegTx::default() }), Hdr::default());
            if let Some(t) = s.at(i) {
                t.set_cmd(1, u16::from(NEGOTIATE));
                if bad {
                    t.set_event(ev::NEGOTIATE_MALFORMED_DIALECTS);
                }
            }
        }
    }
    Some(())
}

fn create_request(s: &mut SmbState, r: &Smb1<'_>, off: usize, cmd: u8) -> Option<()> {
    let mut rd = Rd::new(r.at(off));
    rd.skip(6)?;
    let name_len = rd.le16()?;
    rd.skip(28)?;
    let disposition = rd.le32()?;
    let options = rd.le32()?;
    rd.skip(5)?;
    let bcc = rd.le16()?;
    let name =
        if bcc >= name_len { records::smb1_string(rd.rest(), r, usize::from(bcc - name_len))?.0 } else { Vec::new() };
    s.ssn2vec.put(Hdr::from1(r, key::FILENAME), name.clone());
    let c = CreateTx {
        disposition,
        delete_on_close: options & 0x1000 != 0,
        directory: options & 0x1 != 0,
        name,
        ..CreateTx::default()
    };
    push_kind(s, r, Kind::Create(c), cmd);
    Some(())
}

fn tree_connect_request(s: &mut SmbState, r: &Smb1<'_>, off: usize) -> Option<()> {
    let mut rd = Rd::new(r.at(off));
    rd.skip(7)?;
    let pwlen = rd.le16()?;
    rd.le16()?;
    rd.skip(usize::from(pwlen))?;
    let (mut path, rest) = records::smb1_string(rd.rest(), r, 11 + usize::from(pwlen))?;
    let (service, _) = records::until_nul(rest)?;
    if path.len() > 1 {
        path.remove(0);
    }
    let tree = TreeTx { name: path, req_service: Some(service.to_vec()), ..TreeTx::default() };
    let i = s.push(Kind::Tree(tree), Hdr::from1(r, key::TREE));
    if let Some(t) = s.at(i) {
        t.set_cmd(1, u16::from(TREE_CONNECT_ANDX));
    }
    Some(())
}

fn read_andx_request(s: &mut SmbState, r: &Smb1<'_>, off: usize) -> Option<()> {
    let mut rd = Rd::new(r.at(off));
    let wct = rd.u8()?;
    rd.skip(4)?;
    let fid = rd.take(2)?;
    let offset = rd.le32()?;
    rd.skip(2 + 2 + 4 + 2)?;
    // as Suricata: the offset is only taken when the high half is present
    let offset = if wct == 12 { u64::from(rd.le32()?) << 32 | u64::from(offset) } else { 0 };
    s.read_offset.put(Hdr::from1(r, key::OFFSET), (fuid(fid, r), offset));
    Some(())
}

fn session_setup_request(s: &mut SmbState, r: &Smb1<'_>, off: usize) -> Option<()> {
    let b = r.at(off);
    let mut rd = Rd::new(b);
    let wct = rd.u8()?;
    let odd = |rest: &[u8]| (r.data.len() - rest.len()) % 2 == 1;
    let (blob, host) = match wct {
        12 => {
            rd.skip(14)?;
            let blob_len = rd.le16()?;
            rd.skip(8 + 2)?;
            let blob = rd.take(usize::from(blob_len))?;
            let rest = rd.rest();
            let h = auth::host_strings(rest, r.unicode(), odd(rest), 3);
            (blob, h)
        }
        13 => {
            rd.skip(14)?;
            let oem = rd.le16()?;
            let uni = rd.le16()?;
            rd.skip(8 + 2)?;
            rd.skip(usize::from(oem))?;
            rd.skip(usize::from(uni))?;
            if oem.wrapping_add(uni) % 2 == 1 {
                rd.skip(1)?;
            }
            let (_, rest) = records::smb1_string(rd.rest(), r, 0)?;
            let mut v: Vec<Vec<u8>> = Vec::new();
            let mut c = rest;
            for _ in 0..3 {
                match records::smb1_string(c, r, 0) {
                    Some((x, n)) => {
                        v.push(x);
                        c = n;
                    }
                    None => break,
                }
            }
            if v.len() < 3 {
                v = vec![Vec::new(); 3];
            }
            // primary domain, native OS, native LAN manager
            (&[][..], vec![v[1].clone(), v[2].clone(), v[0].clone()])
        }
        _ => return None,
    };
    let mut info = auth::SessionInfo {
        request_host: Some(auth::HostInfo { native_os: host[0].clone(), native_lm: host[1].clone() }),
        ..auth::SessionInfo::default()
    };
    let mut warn = false;
    if let Some((n, k)) = auth::parse_secblob(blob) {
        warn = n.as_ref().is_some_and(|n| n.warning);
        info.ntlmssp = n;
        info.krb = k;
    }
    let hdr = Hdr::new(key::HEADER, u64::from(r.ssn_id), 0, u64::from(r.multiplex_id));
    let i = s.push(Kind::Session(Box::new(info)), hdr);
    if let Some(t) = s.at(i) {
        t.set_cmd(1, u16::from(r.command));
        if warn {
            t.set_event(ev::UNUSUAL_NTLMSSP_ORDER);
        }
    }
    Some(())
}

fn session_setup_response(s: &mut SmbState, r: &Smb1<'_>, off: usize) {
    let exact = if r.ssn_id != 0 {
        s.session_tx(&Hdr::new(key::HEADER, u64::from(r.ssn_id), 0, u64::from(r.multiplex_id)))
    } else {
        None
    };
    let Some(i) = exact.or_else(|| s.session_tx(&Hdr::new(key::HEADER, 0, 0, u64::from(r.multiplex_id)))) else {
        return;
    };
    let b = r.at(off);
    let parsed = (|| {
        let mut rd = Rd::new(b);
        match *b.first()? {
            0 => rd.skip(3)?,
            3 => rd.skip(9)?,
            _ => {
                rd.skip(7)?;
                let l = rd.le16()?;
                rd.le16()?;
                rd.skip(usize::from(l))?;
            }
        }
        Some(rd.rest())
    })();
    let Some(t) = s.at(i) else { return };
    match parsed {
        Some(rest) => {
            let h = auth::host_strings(rest, r.unicode(), (r.data.len() - rest.len()) % 2 == 1, 2);
            if let Kind::Session(x) = &mut t.kind {
                x.response_host = Some(auth::HostInfo { native_os: h[0].clone(), native_lm: h[1].clone() });
            }
        }
        None => t.set_event(ev::MALFORMED_DATA),
    }
    t.hdr = Hdr::from1(r, key::HEADER);
    t.set_status(r.status, r.is_dos_error);
    t.response_done = true;
}

/// One command of an SMB1 request chain.
fn request_one(s: &mut SmbState, r: &Smb1<'_>, cmd: u8, off: usize) {
    let mut events = Vec::new();
    let mut no_response = false;
    let malformed = |e: &mut Vec<u16>, ok: Option<()>| {
        if ok.is_none() {
            e.push(ev::MALFORMED_DATA);
        }
    };
    let have_tx = match cmd {
        RENAME => {
            let ok = rename_request(s, r);
            malformed(&mut events, ok);
            ok.is_some()
        }
        TRANS2 => match trans2_request(s, r) {
            Some(made) => made,
            None => {
                events.push(ev::MALFORMED_DATA);
                false
            }
        },
        READ_ANDX => {
            let ok = read_andx_request(s, r, off);
            malformed(&mut events, ok);
            false
        }
        WRITE_ANDX | WRITE | WRITE_AND_CLOSE => {
            write_request(s, r, off, cmd, 0);
            true
        }
        TRANS => {
            trans_request(s, r);
            true
        }
        NEGOTIATE => {
            let ok = negotiate_request(s, r);
            malformed(&mut events, ok);
            ok.is_some()
        }
        NT_CREATE_ANDX => {
            let ok = create_request(s, r, off, cmd);
            malformed(&mut events, ok);
            ok.is_some()
        }
        SESSION_SETUP_ANDX => {
            let _ = session_setup_request(s, r, off);
            true
        }
        TREE_CONNECT_ANDX => {
            let ok = tree_connect_request(s, r, off);
            malformed(&mut events, ok);
            ok.is_some()
        }
        TREE_DISCONNECT => {
            s.ssn2tree.pop(&Hdr::from1(r, key::SHARE));
            false
        }
        CLOSE => {
            match r.data.get(1..3) {
                Some(fid) => {
                    let f = fuid(fid, r);
                    s.guid2name.pop(&f);
                    s.ssn2vec.put(Hdr::from1(r, key::GUID), f.clone());
                    close_file(s, &f, true);
                }
                None => events.push(ev::MALFORMED_DATA),
            }
            false
        }
        NT_CANCEL | TRANS2_SECONDARY | LOCKING_ANDX => {
            no_response = true;
            false
        }
        _ => false,
    };
    if !have_tx && creates_tx(cmd) {
        let i = s.push_generic(1, u16::from(cmd), Hdr::from1(r, key::GENERICTX));
        if let Some(t) = s.at(i) {
            for e in events {
                t.set_event(e);
            }
            if no_response {
                t.response_done = true;
            }
        }
    }
}

fn negotiate_response(s: &mut SmbState, r: &Smb1<'_>) -> Option<bool> {
    let mut rd = Rd::new(r.data);
    let wct = rd.u8()?;
    let (idx, guid) = if wct == 0 {
        rd.le16()?;
        (0usize, Vec::new())
    } else {
        let idx = rd.le16()?;
        rd.skip(1 + 16 + 4 + 8 + 2 + 1)?;
        let bcc = rd.le16()?;
        let g = if bcc >= 16 { rd.take(16)?.to_vec() } else { Vec::new() };
        (usize::from(idx), g)
    };
    let Some(i) = s.negotiate_tx(1) else { return Some(false) };
    let mut dialect = None;
    if let Some(t) = s.at(i) {
        t.set_status(r.status, r.is_dos_error);
        t.response_done = true;
        if let Kind::Negotiate(n) = &mut t.kind {
            n.server_guid = guid;
            dialect = n.dialects.get(idx).cloned();
        }
        if dialect.is_none() {
            t.set_event(ev::NEGOTIATE_MALFORMED_DIALECTS);
        }
    }
    if dialect.is_some() {
        s.dialect_name = dialect;
        s.snap_changed();
    }
    Some(true)
}

fn tree_connect_response(s: &mut SmbState, r: &Smb1<'_>, off: usize) -> Option<bool> {
    let mut rd = Rd::new(r.at(off));
    let wct = rd.u8()?;
    rd.skip(4)?;
    if wct >= 3 {
        rd.skip(2)?;
    }
    if wct == 7 {
        rd.skip(8)?;
    }
    rd.le16()?;
    let (service, rest) = records::until_nul(rd.rest())?;
    records::until_nul(rest)?;
    let is_pipe = service == b"IPC";
    let Some(t) = s.tree_tx(&Hdr::from1(r, key::TREE)).and_then(|i| s.at(i)) else { return Some(false) };
    let mut name = Vec::new();
    if let Kind::Tree(x) = &mut t.kind {
        x.is_pipe = is_pipe;
        x.tree_id = u32::from(r.tree_id);
        name = x.name.clone();
        x.res_service = Some(service.to_vec());
    }
    t.hdr = Hdr::from1(r, key::HEADER);
    t.set_status(r.status, r.is_dos_error);
    t.response_done = true;
    s.ssn2tree.put(Hdr::from1(r, key::SHARE), Tree { name, is_pipe });
    Some(true)
}

fn create_response(s: &mut SmbState, r: &Smb1<'_>, off: usize, cmd: u8) -> Option<()> {
    let mut rd = Rd::new(r.at(off));
    let wct = rd.u8()?;
    rd.skip(4 + 1)?;
    let fid = rd.take(2)?;
    rd.skip(4)?;
    let mut times = [0u64; 4];
    for t in &mut times {
        *t = rd.le64()?;
    }
    rd.skip(4)?;
    let size = rd.le64()?;
    rd.skip(8 + 2 + 2 + 1)?;
    if wct == 42 {
        rd.skip(32)?;
    }
    rd.le16()?;
    if let Some(mut name) = s.ssn2vec.pop(&Hdr::from1(r, key::FILENAME)) {
        name.retain(|&c| c != 0);
        s.guid2name.put(fuid(fid, r), name);
    }
    if let Some(t) = s.generic_tx(1, u16::from(cmd), &Hdr::from1(r, key::GENERICTX)).and_then(|i| s.at(i)) {
        t.set_status(r.status, false);
        t.response_done = true;
        if let Kind::Create(c) = &mut t.kind {
            c.times = times.map(super::smb2::filetime_unix);
            c.size = size;
            c.guid = fid.to_vec();
        }
    }
    Some(())
}

/// One command of an SMB1 response chain.
fn response_one(s: &mut SmbState, r: &Smb1<'_>, cmd: u8, off: usize) {
    let mut events = Vec::new();
    let mut sync = false;
    let have_tx = match cmd {
        READ_ANDX => {
            read_response(s, r, off, 0);
            true
        }
        NEGOTIATE => match negotiate_response(s, r) {
            Some(found) => found,
            None => {
                events.push(ev::MALFORMED_DATA);
                false
            }
        },
        TREE_CONNECT_ANDX => {
            if r.status != STATUS_SUCCESS {
                if let Some(t) = s.tree_tx(&Hdr::from1(r, key::TREE)).and_then(|i| s.at(i)) {
                    if let Kind::Tree(x) = &mut t.kind {
                        x.tree_id = u32::from(r.tree_id);
                    }
                    t.set_status(r.status, r.is_dos_error);
                    t.response_done = true;
                }
                return;
            }
            match tree_connect_response(s, r, off) {
                Some(found) => found,
                None => {
                    events.push(ev::MALFORMED_DATA);
                    false
                }
            }
        }
        TREE_DISCONNECT => {
            s.ssn2tree.pop(&Hdr::from1(r, key::SHARE));
            false
        }
        NT_CREATE_ANDX if r.status == STATUS_SUCCESS => match create_response(s, r, off, cmd) {
            Some(()) => true,
            None => {
                events.push(ev::MALFORMED_DATA);
                false
            }
        },
        CLOSE => {
            if let Some(f) = s.ssn2vec.pop(&Hdr::from1(r, key::GUID)) {
                close_file(s, &f, false);
            }
            false
        }
        TRANS => {
            trans_response(s, r);
            true
        }
        SESSION_SETUP_ANDX => {
            session_setup_response(s, r, off);
            true
        }
        LOGOFF_ANDX => {
            sync = true;
            false
        }
        _ => false,
    };
    let found = if have_tx {
        None
    } else if sync {
        s.last_tx(1, u16::from(cmd))
    } else if checks_tx(cmd) {
        s.generic_tx(1, u16::from(cmd), &Hdr::from1(r, key::GENERICTX))
    } else {
        None
    };
    if let Some(t) = found.and_then(|i| s.at(i)) {
        if !sync {
            t.request_done = true;
        }
        t.response_done = true;
        t.set_status(r.status, r.is_dos_error);
        for e in events {
            t.set_event(e);
        }
    }
}

/// Suricata's `smb1_request_record_generic`: commands without their own handling get a
/// generic transaction, and so does any command with events.
fn request_generic(s: &mut SmbState, r: &Smb1<'_>, events: Vec<u16>) {
    if creates_tx(r.command) || !events.is_empty() {
        let i = s.push_generic(1, u16::from(r.command), Hdr::from1(r, key::GENERICTX));
        if let Some(t) = s.at(i) {
            for e in events {
                t.set_event(e);
            }
        }
    }
}

/// Suricata's `smb1_response_record_generic`.
fn response_generic(s: &mut SmbState, r: &Smb1<'_>, events: Vec<u16>) {
    let hdr = Hdr::from1(r, key::GENERICTX);
    let i = match s.generic_tx(1, u16::from(r.command), &hdr) {
        Some(i) => i,
        None if !events.is_empty() => s.push_generic(1, u16::from(r.command), hdr),
        None => return,
    };
    if let Some(t) = s.at(i) {
        t.request_done = true;
        t.response_done = true;
        t.set_status(r.status, r.is_dos_error);
        for e in events {
            t.set_event(e);
        }
    }
}

/// A TRANS request: DCE/RPC over a named pipe when the pipe carries it.
fn trans_request(s: &mut SmbState, r: &Smb1<'_>) {
    let mut events = Vec::new();
    match parse_trans_request(r) {
        Some((pipe_fid, data)) => {
            if let Some(fid) = pipe_fid {
                s.ssn2vec.put(Hdr::from1(r, key::GUID), fid.to_vec());
                if s.pipe_is_dcerpc(&fuid(fid, r)) {
                    dcerpc::write(s, (1, u16::from(r.command)), None, Hdr::from1(r, key::HEADER), data);
                }
            }
        }
        None => events.push(ev::MALFORMED_DATA),
    }
    request_generic(s, r, events);
}

/// A TRANS request's pipe file id (when it is a pipe transaction with data) and its data.
fn parse_trans_request<'a>(r: &Smb1<'a>) -> Option<(Option<&'a [u8]>, &'a [u8])> {
    let mut rd = Rd::new(r.data);
    let wct = rd.u8()?;
    rd.skip(2 + 2 + 2 + 2 + 1 + 1 + 2 + 4 + 2)?;
    let param_cnt = rd.le16()?;
    let param_off = rd.le16()?;
    let data_cnt = rd.le16()?;
    let data_off = rd.le16()?;
    let setup_cnt = rd.u8()?;
    rd.skip(1)?;
    let fid = if wct == 16 && setup_cnt == 2 && data_cnt > 0 {
        rd.le16()?;
        Some(rd.take(2)?)
    } else {
        None
    };
    rd.le16()?;
    let rem = rd.rest();
    let mut offset = SMB1_HEADER + (r.data.len() - rem.len());
    let (_, rem2) = records::smb1_string(rem, r, offset)?;
    offset += rem.len() - rem2.len();
    let pad1 = if offset == usize::from(param_off) || offset == usize::from(data_off) { 0 } else { offset % 4 };
    offset += pad1 + usize::from(param_cnt);
    if data_cnt == 0 {
        return Some((fid, &[]));
    }
    let pad2 = if offset == usize::from(data_off) { 0 } else { offset % 4 };
    let mut d = Rd::new(rem2);
    d.skip(pad1 + usize::from(param_cnt) + pad2)?;
    Some((fid, d.take(usize::from(data_cnt))?))
}

/// A TRANS response: DCE/RPC data of the pipe the request named.
fn trans_response(s: &mut SmbState, r: &Smb1<'_>) {
    let mut events = Vec::new();
    let parsed = (|| {
        let mut rd = Rd::new(r.data);
        let wct = rd.u8()?;
        if wct == 0 {
            rd.le16()?;
            return Some(&[][..]);
        }
        rd.skip(2 + 2 + 2 + 2 + 2 + 2)?;
        let data_cnt = rd.le16()?;
        let data_off = rd.le16()?;
        rd.skip(2 + 1 + 1 + 2 + 1)?;
        let fixed = 36 + 2 * u16::from(wct);
        if data_off > fixed {
            rd.skip(usize::from(data_off - fixed))?;
        }
        rd.take(usize::from(data_cnt))
    })();
    match parsed {
        Some(data) => {
            let fid = s.ssn2vec.pop(&Hdr::from1(r, key::GUID)).unwrap_or_default();
            let is_dcerpc = s.pipe_is_dcerpc(&fuid(&fid, r));
            if r.status == STATUS_BUFFER_OVERFLOW {
                let k = (Hdr::from1(r, key::TRANS_FRAG), fid);
                dcerpc::frag_store(s, k, data.to_vec());
            } else if is_dcerpc {
                let hdr = Hdr::from1(r, key::HEADER);
                dcerpc::read(s, (1, u16::from(r.command)), Some(r.status), hdr, &fid, data);
            }
        }
        None => events.push(ev::MALFORMED_DATA),
    }
    response_generic(s, r, events);
}

/// WRITE, WRITE_ANDX and WRITE_AND_CLOSE requests (whole, or partial with `remaining` bytes
/// of the record still to come).
pub(super) fn write_request(s: &mut SmbState, r: &Smb1<'_>, off: usize, cmd: u8, remaining: u32) {
    let parsed = match cmd {
        WRITE_ANDX => parse_write_andx(r.at(off), off),
        WRITE => (|| {
            let mut rd = Rd::new(r.data);
            rd.skip(1)?;
            let fid = rd.take(2)?;
            rd.skip(2)?;
            let offset = rd.le32()?;
            rd.skip(2 + 2 + 1)?;
            let len = rd.le16()?;
            Some((fid, u64::from(offset), u32::from(len), rd.take(usize::from(len))?))
        })(),
        _ => (|| {
            let mut rd = Rd::new(r.data);
            rd.skip(1)?;
            let fid = rd.take(2)?;
            let count = rd.le16()?;
            let offset = rd.le32()?;
            rd.skip(4)?;
            let bcc = rd.le16()?;
            if bcc > count {
                rd.skip(usize::from(bcc - count))?;
            }
            Some((fid, u64::from(offset), u32::from(count), rd.take(usize::from(count))?))
        })(),
    };
    let Some((fid, offset, len, data)) = parsed else {
        request_generic(s, r, vec![ev::MALFORMED_DATA]);
        return;
    };
    if u64::from(len) > data.len() as u64 + u64::from(remaining) {
        s.set_event(ev::WRITE_REQUEST_TOO_LARGE);
        s.set_skip(true, remaining);
        return;
    }
    let f = fuid(fid, r);
    let name = s.name_of(&f).unwrap_or_else(|| b"<unknown>".to_vec());
    let i = match s.file_tx(&f, true, true) {
        Some(i) => Some(i),
        None => {
            let tree = s.ssn2tree.get(&Hdr::from1(r, key::SHARE)).cloned().unwrap_or_default();
            if tree.is_pipe {
                dcerpc::write(s, (1, u16::from(cmd)), Some(r.status), Hdr::from1(r, key::HEADER), data);
                None
            } else {
                let i = s.push_file(&f, &name, true);
                s.stats.files += 1;
                if let Some(t) = s.at(i) {
                    t.set_cmd(1, u16::from(WRITE_ANDX));
                    if let Kind::File(x) = &mut t.kind {
                        x.share = tree.name;
                    }
                }
                Some(i)
            }
        }
    };
    if let Some(i) = i {
        let _ = s.add_chunk(i, data, offset, len, false);
    }
    s.set_file_left(true, len, data.len() as u32, f.clone());
    if cmd == WRITE_AND_CLOSE {
        s.guid2name.pop(&f);
        close_file(s, &f, true);
    }
    request_generic(s, r, Vec::new());
}

/// WRITE_ANDX at `ax` (its offset from the SMB header): (fid, offset, length, data present).
fn parse_write_andx(b: &[u8], ax: usize) -> Option<(&[u8], u64, u32, &[u8])> {
    let mut rd = Rd::new(b);
    let wct = rd.u8()?;
    rd.skip(4)?;
    let fid = rd.take(2)?;
    let offset = rd.le32()?;
    rd.skip(4 + 2 + 2)?;
    let hi = rd.le16()?;
    let lo = rd.le16()?;
    let len = u32::from(hi) << 16 | u32::from(lo);
    let data_off = usize::from(rd.le16()?);
    if data_off < 0x3c || data_off < ax {
        return None;
    }
    let high = if wct == 14 { rd.le32()? } else { 0 };
    rd.le16()?;
    let at = b.get(data_off - ax..)?;
    let data = at.get(..(len as usize).min(at.len()))?;
    Some((fid, u64::from(high) << 32 | u64::from(offset), len, data))
}

/// A READ_ANDX response (whole or partial).
pub(super) fn read_response(s: &mut SmbState, r: &Smb1<'_>, off: usize, remaining: u32) {
    let mut events = Vec::new();
    if r.status == STATUS_SUCCESS {
        match parse_read_andx(r.at(off)) {
            Some((len, data)) => {
                if u64::from(len) > u64::from(remaining) + data.len() as u64 {
                    s.set_event(ev::READ_RESPONSE_TOO_LARGE);
                    s.set_skip(false, remaining);
                    return;
                }
                let Some((f, offset)) = s.read_offset.pop(&Hdr::from1(r, key::OFFSET)) else {
                    s.set_skip(false, remaining);
                    return;
                };
                let tree = s.ssn2tree.get(&Hdr::from1(r, key::SHARE)).cloned().unwrap_or_default();
                if !tree.is_pipe {
                    let name = s.name_of(&f).unwrap_or_default();
                    let i = match s.file_tx(&f, false, true) {
                        Some(i) => i,
                        None => {
                            let i = s.push_file(&f, &name, false);
                            s.stats.files += 1;
                            if let Some(t) = s.at(i) {
                                t.set_cmd(1, u16::from(READ_ANDX));
                                if let Kind::File(x) = &mut t.kind {
                                    x.share = tree.name;
                                }
                            }
                            i
                        }
                    };
                    let _ = s.add_chunk(i, data, offset, len, false);
                } else {
                    let pure = f.get(..2).unwrap_or(&[]).to_vec();
                    dcerpc::read(s, (1, u16::from(READ_ANDX)), None, Hdr::from1(r, key::HEADER), &pure, data);
                }
                s.set_file_left(false, len, data.len().min(u32::MAX as usize) as u32, f);
            }
            None => events.push(ev::MALFORMED_DATA),
        }
    }
    response_generic(s, r, events);
}

/// READ_ANDX response: (length, data present).
fn parse_read_andx(b: &[u8]) -> Option<(u32, &[u8])> {
    let mut rd = Rd::new(b);
    let wct = rd.u8()?;
    rd.skip(4 + 6)?;
    let lo = rd.le16()?;
    let data_off = rd.le16()?;
    let hi = rd.le32()?;
    rd.skip(6)?;
    let bcc = rd.le16()?;
    if bcc > lo {
        rd.skip(usize::from(bcc - lo))?;
    }
    let fixed = 36 + 2 * u16::from(wct);
    if data_off > fixed {
        rd.skip(usize::from(data_off - fixed))?;
    }
    Some((hi << 16 | u32::from(lo), rd.rest()))
}
