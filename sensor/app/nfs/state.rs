//! What NFS calls and replies do to a flow's state (Suricata's `process_request_record_v2/3`,
//! `process_reply_record_v2/3`, `process_read_record`, `process_write_record`): transactions
//! opened and completed, the handle-to-name map, and file chunks.

use super::records::{self, ReadReply, Write};
use super::tcp::file_tx;
use super::xdr::{self, Call, Reply};
use super::{proc3, FileTx, NfsState, NfsTx, XidMap, EV_MALFORMED, EV_NO_VERSION, MAX_CHUNK};
use crate::app::smb::files::FileTracker;

impl NfsState {
    /// One UDP datagram: a call (NFSv2 and v3 only, as Suricata) or a reply.
    pub fn parse_udp(&mut self, to_server: bool, d: &[u8]) {
        if to_server {
            if let Some(c) = xdr::call(d) {
                self.stats.calls += 1;
                if matches!(c.version, 2 | 3) {
                    self.on_call(&c);
                }
            }
        } else if let Some(r) = xdr::reply(d) {
            self.on_reply(&r);
        }
    }

    /// A complete call.
    pub(super) fn on_call(&mut self, c: &Call<'_>) {
        match c.version {
            3 => self.call_v3(c),
            2 => self.call_v2(c),
            4 => self.stats.v4_calls += 1,
            _ => self.stats.other_version += 1,
        }
    }

    fn tx_from_call(&self, c: &Call<'_>) -> NfsTx {
        let mut tx = self.new_tx();
        tx.xid = c.xid;
        tx.procedure = c.procedure;
        tx.version = c.version.min(u32::from(u16::MAX)) as u16;
        tx.auth_type = c.cred_flavor;
        tx.creds = c.creds.clone();
        tx
    }

    fn name_of(&self, handle: &[u8]) -> Vec<u8> {
        self.names.get(&handle.to_vec()).cloned().unwrap_or_default()
    }

    fn call_v3(&mut self, c: &Call<'_>) {
        self.set_version(c.version);
        let mut m = XidMap { version: c.version, procedure: c.procedure, ..XidMap::default() };
        let mut rename_to = None;
        let b = c.body;
        let ok = match c.procedure {
            proc3::LOOKUP => records::dirop3(b).map(|(_, name)| m.file_name = name.to_vec()).is_some(),
            proc3::ACCESS | proc3::GETATTR | proc3::READDIRPLUS => records::handle_arg3(b)
                .map(|h| {
                    m.file_handle = h.to_vec();
                    m.file_name = self.name_of(h);
                })
                .is_some(),
            proc3::READ => records::read3(b)
                .map(|(h, off)| {
                    m.chunk_offset = off;
                    m.file_handle = h.to_vec();
                    m.file_name = self.name_of(h);
                })
                .is_some(),
            proc3::WRITE => match records::write3(b) {
                Some(w) => {
                    self.write_chunk(c, &w);
                    true
                }
                None => false,
            },
            proc3::CREATE | proc3::REMOVE | proc3::MKDIR | proc3::RMDIR => records::dirop3(b)
                .map(|(h, name)| {
                    m.file_handle = h.to_vec();
                    m.file_name = name.to_vec();
                })
                .is_some(),
            proc3::RENAME => records::rename3(b)
                .map(|(h, from, to)| {
                    m.file_handle = h.to_vec();
                    m.file_name = from.to_vec();
                    rename_to = Some(to.to_vec());
                })
                .is_some(),
            proc3::COMMIT => match records::handle_arg3(b) {
                Some(h) => {
                    self.commit(c.xid, h);
                    true
                }
                None => false,
            },
            _ => true,
        };
        if !ok {
            self.event_on_last(EV_MALFORMED);
        }
        match c.procedure {
            proc3::COMMIT | proc3::WRITE => {}
            proc3::READ => {
                if self.file_tx_mut(&m.file_handle, false).is_none() {
                    let mut tx = self.tx_from_call(c);
                    tx.is_first = true;
                    self.push_file_tx(tx, &m.file_handle, &m.file_name, false);
                }
            }
            _ => {
                let mut tx = self.tx_from_call(c);
                tx.request_done = true;
                tx.file_name = m.file_name.clone();
                tx.handle = m.file_handle.clone();
                if c.procedure == proc3::RENAME {
                    tx.rename_to = Some(rename_to.unwrap_or_default());
                }
                self.push(tx);
            }
        }
        self.await_reply(c.xid, m);
    }

    /// Suricata's NFSv2 call handling, which compares with NFSv3's procedure numbers.
    fn call_v2(&mut self, c: &Call<'_>) {
        let mut m = XidMap { version: c.version, procedure: c.procedure, ..XidMap::default() };
        let ok = match c.procedure {
            proc3::LOOKUP => records::handle_arg2(c.body)
                .map(|h| {
                    m.file_handle = h.to_vec();
                    m.file_name = self.name_of(h);
                })
                .is_some(),
            proc3::READ => records::read2(c.body)
                .map(|(h, off)| {
                    m.chunk_offset = off;
                    m.file_handle = h.to_vec();
                    m.file_name = self.name_of(h);
                })
                .is_some(),
            _ => true,
        };
        if !ok {
            self.event_on_last(EV_MALFORMED);
        }
        if !matches!(c.procedure, proc3::COMMIT | proc3::WRITE | proc3::READ) {
            let mut tx = self.tx_from_call(c);
            tx.request_done = true;
            tx.file_name = m.file_name.clone();
            tx.handle = m.file_handle.clone();
            self.push(tx);
        }
        self.await_reply(c.xid, m);
    }

    fn await_reply(&mut self, xid: u32, m: XidMap) {
        if self.xids.put(xid, m) {
            self.stats.xids_evicted += 1;
        }
    }

    /// The open file transaction of a handle in a direction.
    pub(super) fn file_tx_mut(&mut self, handle: &[u8], to_server: bool) -> Option<&mut NfsTx> {
        file_tx(&mut self.txs, handle, to_server)
    }

    fn push_file_tx(&mut self, mut tx: NfsTx, handle: &[u8], name: &[u8], to_server: bool) {
        tx.file_name = name.to_vec();
        tx.handle = handle.to_vec();
        tx.file = Some(Box::new(FileTx {
            to_server,
            commit: false,
            chunks: 0,
            last_xid: 0,
            tracker: FileTracker::default(),
        }));
        self.push(tx);
    }

    /// Hands a chunk to a file transaction's tracker (opening the file with its first one).
    fn new_chunk(&mut self, to_server: bool, handle: &[u8], data: &[u8], offset: u64, size: u32, last: bool) {
        let Some(tx) = file_tx(&mut self.txs, handle, to_server) else { return };
        let Some(f) = tx.file.as_mut() else { return };
        f.tracker.new_chunk(&tx.file_name, to_server, data, offset, size, &mut self.budget);
        if last {
            f.tracker.last_chunk();
        }
    }

    /// A WRITE call's chunk (`process_write_record`); over TCP the rest of its data follows.
    fn write_chunk(&mut self, c: &Call<'_>, w: &Write<'_>) {
        if w.count == 0 || w.count > MAX_CHUNK {
            return;
        }
        let last = w.stable == 2;
        let name = self.name_of(w.handle);
        let xid = c.xid;
        match self.file_tx_mut(w.handle, true) {
            Some(_) => {
                self.new_chunk(true, w.handle, w.data, w.offset, w.len, last);
                if let Some(tx) = self.file_tx_mut(w.handle, true) {
                    if let Some(f) = tx.file.as_mut() {
                        f.chunks += 1;
                        if last {
                            f.last_xid = xid;
                        }
                    }
                    if last {
                        tx.is_last = true;
                        tx.response_done = true;
                        tx.file_closed = true;
                    }
                }
            }
            None => {
                let mut tx = self.new_tx();
                tx.procedure = proc3::WRITE;
                tx.xid = xid;
                tx.is_first = true;
                tx.version = c.version.min(u32::from(u16::MAX)) as u16;
                self.push_file_tx(tx, w.handle, &name, true);
                self.new_chunk(true, w.handle, w.data, w.offset, w.len, last);
                if last {
                    if let Some(tx) = self.file_tx_mut(w.handle, true) {
                        if let Some(f) = tx.file.as_mut() {
                            f.last_xid = xid;
                        }
                        tx.is_last = true;
                        tx.request_done = true;
                        tx.file_closed = true;
                    }
                }
            }
        }
        if !self.udp {
            let left = w.len.saturating_sub(w.data.len() as u32);
            self.start_chunk(true, w.handle, left);
        }
    }

    /// A COMMIT closes the handle's written file.
    fn commit(&mut self, xid: u32, handle: &[u8]) {
        if let Some(tx) = self.file_tx_mut(handle, true) {
            if let Some(f) = tx.file.as_mut() {
                f.chunks += 1;
                f.commit = true;
                f.tracker.close();
                f.last_xid = xid;
            }
            tx.is_last = true;
            tx.request_done = true;
            tx.file_closed = true;
        }
    }

    /// A reply.
    pub(super) fn on_reply(&mut self, r: &Reply<'_>) {
        self.stats.replies += 1;
        let Some(m) = self.xids.pop(&r.xid) else {
            self.stats.replies_unmatched += 1;
            return;
        };
        self.set_version(m.version);
        match m.version {
            2 => self.reply_v2(r, &m),
            3 => self.reply_v3(r, &m),
            4 => {}
            _ => self.event_on_last(EV_NO_VERSION),
        }
    }

    fn reply_v2(&mut self, r: &Reply<'_>, m: &XidMap) {
        let status = if m.procedure == proc3::READ {
            match records::read2_reply(r.body) {
                Some(rr) => {
                    self.read_chunk(r, &rr, m);
                    rr.status
                }
                None => {
                    self.event_on_last(EV_MALFORMED);
                    0
                }
            }
        } else {
            records::status(r.body)
        };
        self.response_done(r, status, &[]);
    }

    fn reply_v3(&mut self, r: &Reply<'_>, m: &XidMap) {
        let mut resp_handle: &[u8] = &[];
        let status = match m.procedure {
            proc3::LOOKUP => match records::lookup3_reply(r.body) {
                Some((st, h)) => {
                    self.remember(h, &m.file_name);
                    resp_handle = h;
                    st
                }
                None => self.malformed(),
            },
            proc3::CREATE => match records::create3_reply(r.body) {
                Some((st, h)) => {
                    if let Some(h) = h {
                        self.remember(h, &m.file_name);
                        resp_handle = h;
                    }
                    st
                }
                None => self.malformed(),
            },
            proc3::READ => match records::read3_reply(r.body) {
                Some(rr) => {
                    self.read_chunk(r, &rr, m);
                    return;
                }
                None => {
                    self.malformed();
                    return;
                }
            },
            proc3::READDIRPLUS => {
                let mut found = Vec::new();
                let st = records::readdirplus3_reply(r.body, &mut |h, n| found.push((h.to_vec(), n.to_vec())));
                for (h, n) in found {
                    if self.names.put(h, n) {
                        // an old name forgotten: not an error
                    }
                }
                st.unwrap_or_else(|| self.malformed())
            }
            _ => records::status(r.body),
        };
        self.response_done(r, status, resp_handle);
    }

    fn malformed(&mut self) -> u32 {
        self.event_on_last(EV_MALFORMED);
        0
    }

    fn remember(&mut self, handle: &[u8], name: &[u8]) {
        self.names.put(handle.to_vec(), name.to_vec());
    }

    /// Suricata's `mark_response_tx_done`: the call's transaction (not a file one) is done.
    fn response_done(&mut self, r: &Reply<'_>, status: u32, resp_handle: &[u8]) {
        if let Some(tx) = self.txs.iter_mut().find(|t| t.file.is_none() && t.xid == r.xid) {
            tx.response_done = true;
            tx.rpc_status = r.reply_state;
            tx.nfs_status = status;
            if tx.handle.is_empty() && !resp_handle.is_empty() {
                tx.handle = resp_handle.to_vec();
            }
        }
    }

    /// A READ reply's chunk (`process_read_record`); over TCP the rest of its data follows.
    fn read_chunk(&mut self, r: &Reply<'_>, rr: &ReadReply<'_>, m: &XidMap) {
        if rr.count == 0 || rr.count > MAX_CHUNK {
            return;
        }
        let mut last = rr.eof;
        if let Some(size) = rr.v2_size {
            if u64::from(size) == m.chunk_offset + rr.data.len() as u64 {
                last = true;
            }
        }
        let size = rr.count;
        let partial = (rr.data.len() as u64) < u64::from(size);
        let handle = m.file_handle.as_slice();
        if self.file_tx_mut(handle, false).is_none() {
            let mut tx = self.new_tx();
            tx.procedure = proc3::READ;
            tx.xid = r.xid;
            tx.is_first = true;
            self.push_file_tx(tx, handle, &m.file_name, false);
        } else if let Some(f) = self.file_tx_mut(handle, false).and_then(|t| t.file.as_mut()) {
            f.chunks += 1;
        }
        self.new_chunk(false, handle, rr.data, m.chunk_offset, size, last);
        if last {
            if let Some(tx) = self.file_tx_mut(handle, false) {
                if let Some(f) = tx.file.as_mut() {
                    f.last_xid = r.xid;
                }
                tx.rpc_status = r.reply_state;
                tx.nfs_status = rr.status;
                tx.is_last = true;
                tx.request_done = true;
                if !partial {
                    tx.response_done = true;
                }
            }
        }
        if !self.udp {
            let left = size.saturating_sub(rr.data.len() as u32);
            self.start_chunk(false, handle, left);
        }
    }
}
