//! NFS over ONC RPC (TCP with record marking, and UDP; port 2049), after Suricata's
//! `rust/src/nfs/`: NFSv2 and NFSv3 calls and replies become transactions (one per xid
//! pair), and each file read or written becomes one file transaction whose READ replies or
//! WRITE calls feed a file (EVE `fileinfo`, `file.*` keywords).
//!
//! Takes: one datagram per call (UDP), or the in-order bytes of a TCP direction with gaps.
//! Promises: Suricata's semantics where they show (its quirks included: NFSv2 procedures are
//! compared with NFSv3's numbers when deciding what to parse, so NFSv2 LOOKUPs have no name
//! and NFSv2 WRITEs are ordinary transactions); names come from a handle-to-name map filled
//! by LOOKUP, CREATE and READDIRPLUS replies; READ replies and WRITE calls over TCP are
//! streamed into the file, not buffered whole; after a gap the parser looks for the next
//! record start. NFSv4 calls are counted, not decoded. The XDR reader is written here (see
//! [`xdr`]): the crates that exist (`nfs3_types`, the NFS clients and servers) decode whole
//! NFSv3 messages into owned values, know no NFSv2, and cannot stream READ/WRITE data.
//! Bounded: [`MAX_TXS`] transactions, [`MAX_XIDS`] calls awaiting a reply and
//! [`MAX_NAMES`] handle names per flow (oldest dropped, counted), one TCP record buffered
//! per direction up to [`MAX_RECORD`] bytes (a larger one is skipped, counted), file bytes
//! kept for `file.data` and out-of-order chunks within [`FLOW_BUDGET`]. Never: panics on
//! message bytes.

mod detect;
mod eve;
mod records;
mod state;
mod tcp;
#[cfg(test)]
mod tests;
mod xdr;

use std::collections::VecDeque;

use super::identify::ProbeResult;
use super::plugin::TxEvents;
use super::proto::AppProto;
use super::smb::files::{Budget, FileTracker};
use super::txs::TxList;

pub use detect::PROTOCOL;
pub(crate) use xdr::UnixCreds;

/// Transactions kept per flow (Suricata's `NFS_MAX_TX`).
pub const MAX_TXS: usize = 1024;
/// Calls awaiting their reply per flow (Suricata's `max-requests`... `NFS_CFG_MAX_REQ`).
pub const MAX_XIDS: usize = 512;
/// Handle-to-name entries per flow (Suricata's `NFS_CFG_MAX_NAMES`).
pub const MAX_NAMES: usize = 512;
/// Largest TCP record buffered whole.
pub const MAX_RECORD: usize = 256 * 1024;
/// Bytes of file content a flow keeps (`file.data` heads, queued out-of-order chunks).
pub const FLOW_BUDGET: usize = 4 << 20;
/// Largest READ or WRITE chunk taken as file data (Suricata: 16 MiB).
const MAX_CHUNK: u32 = 16 << 20;

/// The ONC RPC program number of NFS.
pub(crate) const NFS_PROGRAM: u32 = 100003;

/// App-layer events, as Suricata names them (`app-layer-event:nfs.<name>`).
pub const EVENTS: &[&str] = &["malformed_data", "non_existing_version", "unsupported_version", "too_many_transactions"];
const EV_MALFORMED: u16 = 0;
const EV_NO_VERSION: u16 = 1;
const EV_TOO_MANY: u16 = 3;

/// NFSv3 procedure numbers Suricata compares with (for NFSv2 too).
mod proc3 {
    pub(super) const GETATTR: u32 = 1;
    pub(super) const LOOKUP: u32 = 3;
    pub(super) const ACCESS: u32 = 4;
    pub(super) const READ: u32 = 6;
    pub(super) const WRITE: u32 = 7;
    pub(super) const CREATE: u32 = 8;
    pub(super) const MKDIR: u32 = 9;
    pub(super) const REMOVE: u32 = 12;
    pub(super) const RMDIR: u32 = 13;
    pub(super) const RENAME: u32 = 14;
    pub(super) const READDIRPLUS: u32 = 17;
    pub(super) const COMMIT: u32 = 21;
}

crate::app_counters! {
    /// NFS counters.
    pub struct NfsStats {
        /// RPC calls parsed.
        calls,
        /// RPC replies parsed.
        replies,
        /// Replies whose call was not seen (or was dropped from the table of calls awaiting a reply).
        replies_unmatched,
        /// Calls or replies that did not parse (the `malformed_data` event).
        malformed,
        /// NFSv4 calls (not decoded).
        v4_calls,
        /// Calls of another NFS version (counted, not decoded).
        other_version,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
        /// Calls dropped from the table awaiting a reply ([`MAX_XIDS`]).
        xids_evicted,
        /// TCP records larger than [`MAX_RECORD`] skipped (not READ/WRITE data).
        record_too_large,
        /// TCP bytes skipped while looking for a record start after a gap or a bad record mark.
        resync_bytes,
        /// File bytes not kept for `file.data` or out-of-order chunks: the flow's budget was spent.
        budget_refused,
    }
}

/// Suricata's `nfs_probe_udp`: a call to program 100003 version 2 or 3 of at least 48 bytes,
/// or an accepted, successful reply of at least 32 bytes.
pub fn probe_udp(to_server: bool, d: &[u8]) -> ProbeResult {
    let found = if to_server {
        d.len() >= 48 && xdr::call(d).is_some_and(|c| c.program == NFS_PROGRAM && matches!(c.version, 2 | 3))
    } else {
        d.len() >= 32 && xdr::reply(d).is_some_and(|r| r.reply_state == 0 && r.accept_state == 0)
    };
    if found {
        ProbeResult::Found(AppProto::Nfs)
    } else {
        ProbeResult::NotFound
    }
}

/// Suricata's `nfs_probe` on a TCP record (mark included), used to find a record start
/// after a gap: a call to NFS version 3 or 4 with a known credential flavour, or an
/// accepted, successful reply of a sane length. `NeedMore` when too short to tell.
pub fn probe_tcp(to_server: bool, d: &[u8]) -> ProbeResult {
    let Some(m) = d.get(..4) else { return ProbeResult::NeedMore };
    let len = u32::from_be_bytes([m[0], m[1], m[2], m[3]]) & 0x7fff_ffff;
    let body = d.get(4..).unwrap_or(&[]);
    let found = if to_server {
        if body.len() < 40 {
            return if len >= 40 { ProbeResult::NeedMore } else { ProbeResult::NotFound };
        }
        xdr::call(body).is_some_and(|c| {
            len >= 40
                && c.rpcvers == 2
                && matches!(c.version, 3 | 4)
                && c.program == NFS_PROGRAM
                && c.procedure <= proc3::COMMIT
                && c.cred_flavor <= 6
        })
    } else {
        if body.len() < 24 {
            return if (24..=35000).contains(&len) { ProbeResult::NeedMore } else { ProbeResult::NotFound };
        }
        (24..=35000).contains(&len)
            && xdr::reply(body).is_some_and(|r| r.xid != 0 && r.reply_state == 0 && r.accept_state == 0)
    };
    if found {
        ProbeResult::Found(AppProto::Nfs)
    } else {
        ProbeResult::NotFound
    }
}

/// What a file transaction tracks.
#[derive(Debug)]
pub(crate) struct FileTx {
    /// Written by the client (WRITE) rather than read (READ).
    pub to_server: bool,
    /// A COMMIT closed it (for `nfs_procedure`).
    pub commit: bool,
    pub chunks: u32,
    pub last_xid: u32,
    pub tracker: FileTracker,
}

/// One NFS transaction: a call and its reply, or a file transfer.
#[derive(Debug)]
pub struct NfsTx {
    id: u64,
    pub(crate) xid: u32,
    pub(crate) procedure: u32,
    /// The NFS version of the call (0 for a READ file transaction opened by a reply, as in
    /// Suricata).
    pub(crate) version: u16,
    /// The flow's NFS version (the first seen), which names procedures in EVE.
    pub(crate) flow_version: u16,
    pub(crate) file_name: Vec<u8>,
    pub(crate) handle: Vec<u8>,
    pub(crate) auth_type: u32,
    pub(crate) creds: Option<UnixCreds>,
    pub(crate) rpc_status: u32,
    pub(crate) nfs_status: u32,
    pub(crate) is_first: bool,
    pub(crate) is_last: bool,
    pub(crate) request_done: bool,
    pub(crate) response_done: bool,
    pub(crate) file_closed: bool,
    pub(crate) rename_to: Option<Vec<u8>>,
    pub(crate) file: Option<Box<FileTx>>,
    /// Over UDP: Suricata logs a transaction only once complete (a UDP flow has no end of
    /// stream that would complete it).
    pub(crate) udp: bool,
    events: TxEvents,
}

impl NfsTx {
    fn new(id: u64, flow_version: u16, udp: bool) -> Self {
        NfsTx {
            id,
            xid: 0,
            procedure: 0,
            version: 0,
            flow_version,
            file_name: Vec::new(),
            handle: Vec::new(),
            auth_type: 0,
            creds: None,
            rpc_status: 0,
            nfs_status: 0,
            is_first: false,
            is_last: false,
            request_done: false,
            response_done: false,
            file_closed: false,
            rename_to: None,
            file: None,
            udp,
            events: TxEvents::default(),
        }
    }
}

/// What a call left for its reply (Suricata's `NFSRequestXidMap`).
#[derive(Clone, Debug, Default)]
struct XidMap {
    version: u32,
    procedure: u32,
    chunk_offset: u64,
    file_name: Vec<u8>,
    file_handle: Vec<u8>,
}

/// A bounded map, oldest entries dropped first (small: looked up linearly).
#[derive(Debug)]
struct Bounded<K, V> {
    items: VecDeque<(K, V)>,
    cap: usize,
}

impl<K: PartialEq, V> Bounded<K, V> {
    fn new(cap: usize) -> Self {
        Bounded { items: VecDeque::new(), cap }
    }

    /// Inserts or replaces; true when the oldest entry was dropped for room.
    fn put(&mut self, k: K, v: V) -> bool {
        if let Some(i) = self.items.iter().position(|(x, _)| *x == k) {
            self.items.remove(i);
        }
        let evicted = self.items.len() >= self.cap;
        if evicted {
            self.items.pop_front();
        }
        self.items.push_back((k, v));
        evicted
    }

    fn get(&self, k: &K) -> Option<&V> {
        self.items.iter().rev().find(|(x, _)| x == k).map(|(_, v)| v)
    }

    fn pop(&mut self, k: &K) -> Option<V> {
        let i = self.items.iter().position(|(x, _)| x == k)?;
        self.items.remove(i).map(|(_, v)| v)
    }
}

/// A READ reply's or WRITE call's data still arriving over TCP.
#[derive(Debug, Default)]
struct Chunk {
    /// File bytes still to come.
    left: u32,
    /// The file's handle.
    handle: Vec<u8>,
}

/// Per-direction TCP state.
#[derive(Debug, Default)]
struct TcpDir {
    /// The record being assembled (mark included).
    buf: Vec<u8>,
    /// Bytes to drop (the rest of a skipped record, a streamed chunk's padding).
    skip: u64,
    chunk: Chunk,
    /// Looking for a record start (after a gap or a bad record mark).
    lost: bool,
}

/// Per-flow NFS state.
#[derive(Debug)]
pub struct NfsState {
    txs: TxList<NfsTx>,
    xids: Bounded<u32, XidMap>,
    names: Bounded<Vec<u8>, Vec<u8>>,
    /// The flow's NFS version (the first seen).
    version: u16,
    udp: bool,
    tcp: [TcpDir; 2],
    budget: Budget,
    /// Events raised since the counters were last drained, per event.
    raised: [u32; EVENTS.len()],
    /// Counters.
    pub stats: NfsStats,
}

impl Default for NfsState {
    fn default() -> Self {
        NfsState {
            txs: TxList::new(MAX_TXS),
            xids: Bounded::new(MAX_XIDS),
            names: Bounded::new(MAX_NAMES),
            version: 0,
            udp: false,
            tcp: Default::default(),
            budget: Budget { left: FLOW_BUDGET, refused: 0 },
            raised: [0; EVENTS.len()],
            stats: NfsStats::default(),
        }
    }
}

impl NfsState {
    /// A state for a UDP flow (`udp`) or a TCP one.
    pub fn new(udp: bool) -> Self {
        NfsState { udp, ..NfsState::default() }
    }

    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &NfsTx> {
        self.txs.iter()
    }

    /// Sets the flow's version once (the first call or reply that says it).
    fn set_version(&mut self, v: u32) {
        if self.version == 0 {
            self.version = v.min(u32::from(u16::MAX)) as u16;
            let fv = self.version;
            self.txs.iter_mut().for_each(|t| t.flow_version = fv);
        }
    }

    fn event_on_last(&mut self, ev: u16) {
        if ev == EV_MALFORMED {
            self.stats.malformed += 1;
        }
        if let Some(t) = self.txs.last_mut() {
            if t.events.raise(ev) {
                if let Some(n) = self.raised.get_mut(usize::from(ev)) {
                    *n += 1;
                }
            }
        }
    }

    /// A new transaction (not yet pushed).
    fn new_tx(&self) -> NfsTx {
        NfsTx::new(self.txs.next_id(), self.version, self.udp)
    }

    fn push(&mut self, tx: NfsTx) {
        if self.txs.len() >= MAX_TXS {
            // as Suricata: the oldest still open is given up (done, with an event)
            if let Some(old) = self.txs.iter_mut().find(|t| !t.request_done || !t.response_done) {
                old.request_done = true;
                old.response_done = true;
                old.file_closed = true;
                if old.events.raise(EV_TOO_MANY) {
                    self.raised[usize::from(EV_TOO_MANY)] += 1;
                }
            }
        }
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
    }
}
