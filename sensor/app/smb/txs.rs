//! SMB transactions as Suricata makes them (`SMBTransaction` and its type data), the keys that
//! pair requests with responses, and the state's lookups over them.

use std::sync::Arc;

use super::auth::SessionInfo;
use super::files::FileTracker;
use super::records::{Smb1, Smb2};
use super::SmbState;
use crate::app::dcerpc::pdu::Iface;

/// Kinds of keys (Suricata's `SMBHDR_TYPE_*`), so lookups of different things never mix.
pub(super) mod key {
    /// A file id (a write's, a close's).
    pub(crate) const GUID: u8 = 1;
    /// A tree (share).
    pub(crate) const SHARE: u8 = 2;
    /// The file name of a create.
    pub(crate) const FILENAME: u8 = 3;
    /// A read's file id and offset.
    pub(crate) const OFFSET: u8 = 4;
    /// A generic transaction.
    pub(crate) const GENERICTX: u8 = 5;
    /// A transaction's header.
    pub(crate) const HEADER: u8 = 6;
    /// Partial DCE/RPC data of a transaction.
    pub(crate) const TRANS_FRAG: u8 = 8;
    /// A tree connect.
    pub(crate) const TREE: u8 = 9;
    /// A DCE/RPC transaction.
    pub(crate) const DCERPCTX: u8 = 10;
}

/// Session, tree and message ids, with the kind of thing they key (Suricata's
/// `SMBCommonHdr`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Hdr {
    /// Kind.
    pub kind: u8,
    /// Session id.
    pub ssn_id: u64,
    /// Tree id.
    pub tree_id: u32,
    /// Message id.
    pub msg_id: u64,
}

impl Hdr {
    /// A key of `kind`.
    pub fn new(kind: u8, ssn_id: u64, tree_id: u32, msg_id: u64) -> Hdr {
        Hdr { kind, ssn_id, tree_id, msg_id }
    }
    fn msg(kind: u8, id: u64) -> u64 {
        if kind == key::TRANS_FRAG || kind == key::SHARE {
            0
        } else {
            id
        }
    }
    /// The key of an SMB2 record.
    pub fn from2(r: &Smb2<'_>, kind: u8) -> Hdr {
        let tree_id = if kind == key::TREE { 0 } else { r.tree_id };
        Hdr { kind, ssn_id: r.session_id, tree_id, msg_id: Self::msg(kind, r.message_id) }
    }
    /// The key of an SMB2 record without its tree id (async responses have none).
    pub fn from2_notree(r: &Smb2<'_>, kind: u8) -> Hdr {
        Hdr { kind, ssn_id: r.session_id, tree_id: 0, msg_id: Self::msg(kind, r.message_id) }
    }
    /// The key of an SMB1 record.
    pub fn from1(r: &Smb1<'_>, kind: u8) -> Hdr {
        let tree_id = if kind == key::TREE { 0 } else { u32::from(r.tree_id) };
        Hdr { kind, ssn_id: u64::from(r.ssn_id), tree_id, msg_id: Self::msg(kind, u64::from(r.multiplex_id)) }
    }
    /// Same transaction: kind, session and message ids (not the tree id).
    pub fn same(&self, o: &Hdr) -> bool {
        self.kind == o.kind && self.ssn_id == o.ssn_id && self.msg_id == o.msg_id
    }
}

/// A command's status as EVE prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// An NT status.
    Nt(u32),
    /// An SMB1 DOS error: class and code.
    Dos(u8, u16),
}

impl Status {
    /// From a record's status field.
    pub fn new(status: u32, dos: bool) -> Status {
        if dos {
            Status::Dos((status & 0xff) as u8, (status >> 16) as u16)
        } else {
            Status::Nt(status)
        }
    }
}

/// Values of the flow a transaction's record shows as they were when it completed (Suricata
/// logs a transaction when it completes): the dialect, the negotiated sizes, the DCE/RPC
/// contexts of the pipe.
#[derive(Clone, Debug, Default)]
pub struct Snap {
    /// SMB2 dialect (0: SMB1 or unknown).
    pub dialect: u16,
    /// SMB1 dialect name.
    pub dialect_name: Option<Vec<u8>>,
    /// Negotiated maximum read size.
    pub max_read: u32,
    /// Negotiated maximum write size.
    pub max_write: u32,
    /// Contexts of the last bind on a pipe.
    pub ifaces: Option<Arc<Vec<Iface>>>,
}

/// A file read or written (Suricata's `SMBTransactionFile`).
#[derive(Debug, Default)]
pub struct FileTx {
    /// Written to the server (a WRITE) rather than read.
    pub to_server: bool,
    /// File id (16-byte GUID for SMB2, the 2-byte FID plus the session id for SMB1).
    pub fuid: Vec<u8>,
    /// File name.
    pub name: Vec<u8>,
    /// Share name.
    pub share: Vec<u8>,
    /// The transfer.
    pub tracker: FileTracker,
    /// After a gap: the parse call count past which the file is considered done if no data
    /// came for it (Suricata waits 60 seconds of flow time).
    pub post_gap_deadline: u64,
}

/// A tree connect.
#[derive(Debug, Default)]
pub struct TreeTx {
    /// A named pipe (IPC$) rather than a share.
    pub is_pipe: bool,
    /// SMB2 share type.
    pub share_type: u8,
    /// Tree id the server gave.
    pub tree_id: u32,
    /// Share or pipe name.
    pub name: Vec<u8>,
    /// SMB1 service requested.
    pub req_service: Option<Vec<u8>>,
    /// SMB1 service answered.
    pub res_service: Option<Vec<u8>>,
}

/// A negotiate.
#[derive(Debug, Default)]
pub struct NegTx {
    /// 1 or 2.
    pub smb_ver: u8,
    /// SMB1 dialect names the client offered.
    pub dialects: Vec<Vec<u8>>,
    /// SMB2 dialects the client offered, as EVE names them.
    pub dialects2: Vec<String>,
    /// Client GUID (SMB2).
    pub client_guid: Option<[u8; 16]>,
    /// Server GUID.
    pub server_guid: Vec<u8>,
}

/// A create (open).
#[derive(Debug, Default)]
pub struct CreateTx {
    /// Create disposition.
    pub disposition: u32,
    /// Delete on close.
    pub delete_on_close: bool,
    /// A directory.
    pub directory: bool,
    /// File name.
    pub name: Vec<u8>,
    /// File id the server gave.
    pub guid: Vec<u8>,
    /// Times (Unix seconds) and size the server answered.
    pub times: [u32; 4],
    /// Size.
    pub size: u64,
}

/// A rename.
#[derive(Debug, Default)]
pub struct RenameTx {
    /// File id.
    pub fuid: Vec<u8>,
    /// Old name.
    pub old: Vec<u8>,
    /// New name.
    pub new: Vec<u8>,
}

/// A TRANS2 SET_FILE_INFO / SET_PATH_INFO or SMB2 SET_INFO disposition.
#[derive(Debug, Default)]
pub struct SetInfoTx {
    /// Sub-command (SMB1) or info class (SMB2).
    pub subcmd: u16,
    /// Level of interest.
    pub loi: u16,
    /// Delete on close.
    pub delete_on_close: bool,
    /// File name.
    pub name: Vec<u8>,
    /// File id.
    pub fid: Vec<u8>,
}

/// DCE/RPC over a named pipe (Suricata's `SMBTransactionDCERPC`).
#[derive(Debug, Default)]
pub struct DceTx {
    /// Operation number of the request.
    pub opnum: u16,
    /// Context id of the request.
    pub context_id: u16,
    /// Request packet type.
    pub req_cmd: u8,
    /// A request was seen.
    pub req_set: bool,
    /// Response packet type.
    pub res_cmd: u8,
    /// A response was seen.
    pub res_set: bool,
    /// Call id.
    pub call_id: u32,
    /// Request fragments.
    pub frag_cnt_ts: u16,
    /// Response fragments.
    pub frag_cnt_tc: u16,
    /// Request stub data.
    pub stub_ts: Vec<u8>,
    /// Response stub data.
    pub stub_tc: Vec<u8>,
}

/// What a transaction is about.
#[derive(Debug, Default)]
pub enum Kind {
    /// One command and its reply.
    #[default]
    Generic,
    /// A file transfer.
    File(Box<FileTx>),
    /// A tree connect.
    Tree(TreeTx),
    /// A negotiate.
    Negotiate(NegTx),
    /// DCE/RPC over a pipe.
    Dcerpc(Box<DceTx>),
    /// A create.
    Create(CreateTx),
    /// A session setup.
    Session(Box<SessionInfo>),
    /// An IOCTL: its function.
    Ioctl(u32),
    /// A rename.
    Rename(RenameTx),
    /// Set file/path info.
    SetInfo(SetInfoTx),
}

/// One SMB transaction.
#[derive(Debug, Default)]
pub struct SmbTx {
    /// Id within the flow (0-based; EVE's `smb.id` is this plus one, as Suricata counts).
    pub id: u64,
    /// SMB version of its command (0: not set).
    pub ver: u8,
    /// Its command.
    pub cmd: u16,
    /// Its status, once a response set it.
    pub status: Option<Status>,
    /// Its key.
    pub hdr: Hdr,
    /// Request side complete.
    pub request_done: bool,
    /// Response side complete.
    pub response_done: bool,
    /// What it is about.
    pub kind: Kind,
    /// App-layer events (indexes into the protocol's event table).
    pub events: Vec<u16>,
    /// Flow values for its record.
    pub snap: Arc<Snap>,
    /// Complete at the end of a parse call: its snapshot no longer changes.
    pub sealed: bool,
}

impl SmbTx {
    /// Sets the version and command if none was set (Suricata's `set_smb1_cmd`/`set_smb2_cmd`).
    pub fn set_cmd(&mut self, ver: u8, cmd: u16) {
        if self.ver == 0 {
            self.ver = ver;
            self.cmd = cmd;
        }
    }
    /// Sets the status.
    pub fn set_status(&mut self, status: u32, dos: bool) {
        self.status = Some(Status::new(status, dos));
    }
    /// Raises an event (once).
    pub fn set_event(&mut self, e: u16) {
        if !self.events.contains(&e) && self.events.len() < 16 {
            self.events.push(e);
        }
    }
    /// Both sides complete.
    pub fn is_complete(&self) -> bool {
        self.request_done && self.response_done
    }
    /// Bytes it holds from the flow's budget.
    pub fn held(&self) -> usize {
        match &self.kind {
            Kind::File(f) => f.tracker.held(),
            Kind::Dcerpc(d) => d.stub_ts.len() + d.stub_tc.len(),
            _ => 0,
        }
    }
    /// The file transfer, if it is one.
    pub fn file(&self) -> Option<&FileTx> {
        match &self.kind {
            Kind::File(f) => Some(f),
            _ => None,
        }
    }
}

impl SmbState {
    /// The transaction at `i`.
    pub(super) fn at(&mut self, i: usize) -> Option<&mut SmbTx> {
        self.txs.get_mut(i)
    }

    /// Index of the generic transaction of `ver`/`cmd` with key `hdr`.
    pub(super) fn generic_tx(&self, ver: u8, cmd: u16, hdr: &Hdr) -> Option<usize> {
        self.txs.iter().position(|t| t.ver == ver && t.cmd == cmd && t.hdr.same(hdr))
    }

    /// Index of the last transaction, if it is of `ver`/`cmd`.
    pub(super) fn last_tx(&self, ver: u8, cmd: u16) -> Option<usize> {
        let t = self.txs.back()?;
        (t.ver == ver && t.cmd == cmd).then(|| self.txs.len() - 1)
    }

    /// Index of the negotiate transaction of SMB version `ver`.
    pub(super) fn negotiate_tx(&self, ver: u8) -> Option<usize> {
        self.txs.iter().position(|t| matches!(&t.kind, Kind::Negotiate(n) if n.smb_ver == ver))
    }

    /// Index of the tree connect keyed `hdr`.
    pub(super) fn tree_tx(&self, hdr: &Hdr) -> Option<usize> {
        self.txs.iter().position(|t| t.hdr.same(hdr) && matches!(t.kind, Kind::Tree(_)))
    }

    /// Index of the session setup keyed `hdr`.
    pub(super) fn session_tx(&self, hdr: &Hdr) -> Option<usize> {
        self.txs.iter().position(|t| t.hdr.same(hdr) && matches!(t.kind, Kind::Session(_)))
    }

    /// Index of the file transfer of `fuid` in a direction; with `open`, only one whose file
    /// is still open.
    pub(super) fn file_tx(&self, fuid: &[u8], to_server: bool, open: bool) -> Option<usize> {
        self.txs.iter().position(|t| {
            matches!(&t.kind, Kind::File(f) if f.to_server == to_server && f.fuid == fuid && (!open || !f.tracker.is_done()))
        })
    }

    /// A new transaction of `kind`, request side done (as Suricata creates most), appended;
    /// returns its index.
    pub(super) fn push(&mut self, kind: Kind, hdr: Hdr) -> usize {
        let response_done = self.dirs[1].trunc;
        let tx =
            SmbTx { id: 0, kind, hdr, request_done: true, response_done, snap: self.snap.clone(), ..SmbTx::default() };
        self.add(tx)
    }

    /// A generic transaction for `ver`/`cmd`.
    pub(super) fn push_generic(&mut self, ver: u8, cmd: u16, hdr: Hdr) -> usize {
        let i = self.push(Kind::Generic, hdr);
        if let Some(t) = self.at(i) {
            t.set_cmd(ver, cmd);
        }
        i
    }

    /// A new file transfer (neither side done until it closes).
    pub(super) fn push_file(&mut self, fuid: &[u8], name: &[u8], to_server: bool) -> usize {
        let f = FileTx { to_server, fuid: fuid.to_vec(), name: name.to_vec(), ..FileTx::default() };
        let tx = SmbTx { kind: Kind::File(Box::new(f)), snap: self.snap.clone(), ..SmbTx::default() };
        self.add(tx)
    }

    /// The name a file id was opened with (Suricata's `guid2name` cache).
    pub(super) fn name_of(&mut self, fuid: &[u8]) -> Option<Vec<u8>> {
        self.guid2name.get(fuid).cloned()
    }

    /// Suricata's `get_service_for_guid`: whether the pipe opened as `fuid` carries DCE/RPC.
    pub(super) fn pipe_is_dcerpc(&mut self, fuid: &[u8]) -> bool {
        let Some(n) = self.guid2name.get(fuid) else { return false };
        let s = match n.as_slice() {
            [b'\\', rest @ ..] if !rest.is_empty() => rest,
            s => s,
        };
        matches!(s, b"svcctl" | b"srvsvc" | b"atsvc" | b"lsarpc" | b"samr" | b"spoolss" | b"winreg" | b"picket::dcerpc")
    }
}
