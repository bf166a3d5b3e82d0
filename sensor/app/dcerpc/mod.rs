//! DCE/RPC over TCP (connection-oriented, version 5: port 135 and the dynamic ports the
//! endpoint mapper hands out) and over UDP (connectionless, version 4), after Suricata's
//! `rust/src/dcerpc` (parser, transactions, detection and EVE logger).
//!
//! Takes: the in-order bytes of each TCP direction (PDUs split across segments however the
//! sender liked), or one UDP datagram per call.
//! Promises: transactions as Suricata makes them: a BIND or ALTER_CONTEXT with its ack is one
//! transaction, a REQUEST with its RESPONSE (paired by call id) another, fragments of a call
//! adding to its stub data; the presentation contexts binds propose (and what the acks said)
//! are kept per flow for `dcerpc.iface` and the record's `interfaces`. The shared pieces (PDU
//! parsing, interface matching, the record writer) serve `smb` too, for DCE/RPC carried in
//! named pipes. Bounded per flow: at most [`MAX_TXS`] transactions (the oldest complete one,
//! else the oldest, goes, counted), [`MAX_IFACES`] contexts, [`MAX_STUB`] stub bytes per
//! transaction and direction and [`FLOW_STUB_BUDGET`] for all of a flow's transactions
//! (truncated and counted beyond), and one partial PDU per direction (at most 65,535 bytes).
//! Never: panics or indexes unchecked on packet bytes. A malformed PDU ends parsing of the
//! flow, as Suricata's parser errors out there; so does a gap in a TCP direction.

mod detect;
pub(crate) mod eve;
pub(crate) mod pdu;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::Arc;

pub use detect::PROTOCOL;
pub(crate) use detect::{iface_info, opnum_info, stub_info, IfaceArg, OpnumArg};
use pdu::{ptype, ClHeader, CoHeader, Iface, CL_HDR_LEN, CO_HDR_LEN};

/// Transactions held per flow.
pub const MAX_TXS: usize = 1024;
/// Presentation contexts remembered per flow (Suricata keeps 64).
pub const MAX_IFACES: usize = 64;
/// Stub bytes kept per transaction and direction (Suricata's `max-stub-size`).
pub const MAX_STUB: usize = 1 << 20;
/// Stub bytes kept for all of a flow's transactions together.
pub const FLOW_STUB_BUDGET: usize = 4 << 20;

crate::app_counters! {
    /// DCE/RPC counters.
    pub struct DcerpcStats {
        /// Transactions created.
        txs,
        /// Bind and alter-context PDUs.
        binds,
        /// Request PDUs (fragments count each).
        requests,
        /// Response PDUs.
        responses,
        /// Flows whose parsing stopped at a malformed PDU.
        malformed,
        /// Flows whose parsing stopped at a gap in the stream.
        gaps,
        /// Transactions dropped because [`MAX_TXS`] were held.
        tx_evicted,
        /// Stub bytes not kept: a transaction's [`MAX_STUB`] or the flow's budget was reached.
        stub_truncated_bytes,
        /// Contexts not remembered because [`MAX_IFACES`] were held.
        ifaces_dropped,
    }
}

/// One DCE/RPC transaction (Suricata's `DCERPCTransaction`).
#[derive(Clone, Debug, Default)]
pub struct DceTx {
    /// Id within the flow (0-based; EVE `tx_id`).
    pub id: u64,
    /// Call id pairing requests and responses.
    pub call_id: u32,
    /// Context id of the request.
    pub ctxid: u16,
    /// Operation number of the request.
    pub opnum: u16,
    /// A request PDU was seen (what `dcerpc.iface` and `dcerpc.opnum` need).
    pub first_request_seen: bool,
    /// Minor version of the PDU that created it.
    pub min_version: u8,
    /// Request fragments.
    pub frag_cnt_ts: u16,
    /// Response fragments.
    pub frag_cnt_tc: u16,
    /// Integers were little-endian.
    pub little: bool,
    /// Request stub data (`dcerpc.stub_data` to the server).
    pub stub_ts: Vec<u8>,
    /// Response stub data (to the client; over TCP it includes the 8-byte response header,
    /// as Suricata's buffer does).
    pub stub_tc: Vec<u8>,
    /// Request side complete.
    pub req_done: bool,
    /// Response side complete.
    pub resp_done: bool,
    /// The request side ended without its data (a gap).
    pub req_lost: bool,
    /// The response side ended without its data.
    pub resp_lost: bool,
    /// Request packet type.
    pub req_cmd: u8,
    /// Response packet type.
    pub resp_cmd: u8,
    /// Connectionless: the activity UUID.
    pub activity: Option<[u8; 16]>,
    /// Connectionless: the sequence number.
    pub seqnum: u32,
    /// The flow's contexts as of this transaction's last update.
    pub ifaces: Arc<Vec<Iface>>,
}

impl DceTx {
    fn new(id: u64) -> Self {
        DceTx { id, req_cmd: ptype::REQUEST, resp_cmd: ptype::RESPONSE, ..DceTx::default() }
    }

    /// Both sides complete.
    pub fn is_complete(&self) -> bool {
        self.req_done && self.resp_done
    }

    /// Stub data of a direction.
    pub fn stub(&self, to_server: bool) -> &[u8] {
        if to_server {
            &self.stub_ts
        } else {
            &self.stub_tc
        }
    }
}

/// Appends stub bytes within the transaction's cap and the flow's budget; counts the rest.
fn keep_stub(buf: &mut Vec<u8>, data: &[u8], budget: &mut usize, stats: &mut DcerpcStats) {
    // Suricata keeps strictly less than max-stub-size bytes when a chunk would reach it
    let room = MAX_STUB.saturating_sub(buf.len()).min(*budget);
    let take = if buf.len() + data.len() < MAX_STUB { data.len().min(room) } else { room };
    buf.extend_from_slice(data.get(..take).unwrap_or(&[]));
    *budget -= take;
    stats.stub_truncated_bytes += (data.len() - take) as u64;
}

/// A TCP direction's partial PDU.
#[derive(Debug, Default)]
struct Partial {
    buf: Vec<u8>,
}

/// Per-flow DCE/RPC state, for either transport.
#[derive(Debug, Default)]
pub struct DcerpcState {
    next_id: u64,
    txs: VecDeque<DceTx>,
    ifaces: Arc<Vec<Iface>>,
    partial: [Partial; 2],
    budget: usize,
    failed: bool,
    /// Directions (index 0: to server) whose raw stream a bind, bind ack or stub asks to
    /// inspect now, as Suricata's parser triggers it (taken by the parser's owner).
    pub raw_trigger: [bool; 2],
    /// Counters (drained into the worker's at each call).
    pub stats: DcerpcStats,
}

impl DcerpcState {
    /// A fresh state.
    pub fn new() -> Self {
        DcerpcState { budget: FLOW_STUB_BUDGET, ..DcerpcState::default() }
    }

    /// Transactions held, oldest first.
    pub fn txs(&self) -> impl Iterator<Item = &DceTx> {
        self.txs.iter()
    }

    /// The transaction with this id.
    pub fn tx(&self, id: u64) -> Option<&DceTx> {
        self.txs.iter().find(|t| t.id == id)
    }

    /// Parsing stopped (a malformed PDU or a gap).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Drops the transactions `done` says are finished with; returns the lowest id left.
    pub fn free(&mut self, done: impl Fn(&DceTx) -> bool) -> Option<u64> {
        let before = self.txs.len();
        let budget = &mut self.budget;
        self.txs.retain(|t| {
            let drop = done(t);
            if drop {
                *budget += t.stub_ts.len() + t.stub_tc.len();
            }
            !drop
        });
        (self.txs.len() != before).then(|| self.txs.front().map_or(self.next_id, |t| t.id))
    }

    fn push_tx(&mut self, mut tx: DceTx) -> usize {
        if self.txs.len() >= MAX_TXS {
            let victim = self.txs.iter().position(DceTx::is_complete).unwrap_or(0);
            if let Some(t) = self.txs.remove(victim) {
                self.budget += t.stub_ts.len() + t.stub_tc.len();
            }
            self.stats.tx_evicted += 1;
        }
        tx.ifaces = self.ifaces.clone();
        self.stats.txs += 1;
        self.txs.push_back(tx);
        self.txs.len() - 1
    }

    fn new_tx(&mut self, h: &CoHeader) -> DceTx {
        let mut tx = DceTx::new(self.next_id);
        self.next_id += 1;
        tx.call_id = h.call_id;
        tx.little = h.little;
        tx.min_version = h.minor;
        tx
    }

    /// Index of the open transaction of `call_id` a PDU of type `t` in direction `to_server`
    /// belongs to (Suricata's `get_tx_by_call_id`).
    fn by_call_id(&self, call_id: u32, to_server: bool, t: u8) -> Option<usize> {
        self.txs.iter().position(|tx| {
            tx.call_id == call_id
                && if to_server {
                    !tx.req_done && !tx.req_lost && pdu::response_for(t) == tx.resp_cmd
                } else {
                    !tx.resp_done && !tx.resp_lost && pdu::request_for(t) == tx.req_cmd
                }
        })
    }

    fn set_ifaces(&mut self, ifaces: Vec<Iface>) {
        self.ifaces = Arc::new(ifaces);
        // open transactions see the flow's contexts as they are when they complete
        for tx in self.txs.iter_mut().filter(|t| !t.is_complete()) {
            tx.ifaces = self.ifaces.clone();
        }
    }

    /// Feeds in-order bytes of a TCP direction. Returns false once parsing has stopped.
    pub fn parse_tcp(&mut self, to_server: bool, data: &[u8]) -> bool {
        if self.failed {
            return false;
        }
        let d = usize::from(!to_server);
        // In bounds: d is 0 or 1.
        let mut buf = std::mem::take(&mut self.partial[d].buf);
        let ok = if buf.is_empty() {
            let (used, ok) = self.pdus(data);
            buf.extend_from_slice(data.get(used..).unwrap_or(&[]));
            ok
        } else {
            buf.extend_from_slice(data);
            let (used, ok) = self.pdus(&buf);
            buf.drain(..used.min(buf.len()));
            ok
        };
        if !ok {
            buf = Vec::new();
            self.failed = true;
            self.stats.malformed += 1;
        }
        // In bounds: d is 0 or 1.
        self.partial[d].buf = buf;
        ok
    }

    /// A gap in a TCP direction: Suricata's parser errors out.
    pub fn gap(&mut self) {
        if !self.failed {
            self.failed = true;
            self.stats.gaps += 1;
        }
        self.partial = Default::default();
    }

    /// Whole PDUs at the front of `input`: (bytes used, still parsing).
    fn pdus(&mut self, input: &[u8]) -> (usize, bool) {
        let mut used = 0;
        loop {
            let cur = input.get(used..).unwrap_or(&[]);
            if cur.len() < CO_HDR_LEN {
                return (used, true);
            }
            let Some(h) = pdu::co_header(cur) else { return (used, true) };
            if h.vers != 5 || (h.minor != 0 && h.minor != 1) {
                return (used, false);
            }
            let len = usize::from(h.frag_len);
            if len < CO_HDR_LEN {
                return (used, false);
            }
            let Some(whole) = cur.get(..len) else { return (used, true) };
            let body = whole.get(CO_HDR_LEN..).unwrap_or(&[]);
            if !body.is_empty() && !self.pdu(&h, body) {
                return (used, false);
            }
            used += len;
        }
    }

    /// One PDU (its body after the common header). False: malformed.
    fn pdu(&mut self, h: &CoHeader, body: &[u8]) -> bool {
        match h.ptype {
            ptype::BIND | ptype::ALTER_CONTEXT => self.bind(h, body),
            ptype::BINDACK | ptype::ALTER_CONTEXT_RESP => self.bindack(h, body),
            ptype::REQUEST => self.request(h, body),
            ptype::RESPONSE => {
                self.stats.responses += 1;
                let i = match self.by_call_id(h.call_id, false, h.ptype) {
                    Some(i) => i,
                    None => {
                        let tx = self.new_tx(h);
                        self.push_tx(tx)
                    }
                };
                if let Some(tx) = self.txs.get_mut(i) {
                    tx.resp_cmd = h.ptype;
                }
                self.stub(h, body, 0, false)
            }
            _ => true,
        }
    }

    fn bind(&mut self, h: &CoHeader, body: &[u8]) -> bool {
        self.stats.binds += 1;
        let Some(new) = pdu::bind_tcp(body, h) else { return false };
        let mut ifaces = (*self.ifaces).clone();
        for e in new {
            if let Some(x) = ifaces.iter_mut().find(|x| x.ctxid == e.ctxid) {
                *x = e;
            } else if ifaces.len() < MAX_IFACES {
                ifaces.push(e);
            } else {
                self.stats.ifaces_dropped += 1;
            }
        }
        self.set_ifaces(ifaces);
        let mut tx = self.new_tx(h);
        tx.req_cmd = h.ptype;
        tx.req_done = true;
        tx.frag_cnt_ts = 1;
        self.push_tx(tx);
        self.raw_trigger[0] = true;
        true
    }

    fn bindack(&mut self, h: &CoHeader, body: &[u8]) -> bool {
        let Some(results) = pdu::bindack_results(body) else { return false };
        let mut ifaces = (*self.ifaces).clone();
        for (i, (result, _)) in results.iter().enumerate() {
            for x in ifaces.iter_mut().rev() {
                if usize::from(x.index) == i && x.call_id == h.call_id {
                    x.ack_result = *result;
                    x.acked = true;
                }
            }
        }
        self.set_ifaces(ifaces);
        let i = match self.by_call_id(h.call_id, false, h.ptype) {
            Some(i) => i,
            None => {
                let tx = self.new_tx(h);
                self.push_tx(tx)
            }
        };
        let ifaces = self.ifaces.clone();
        if let Some(tx) = self.txs.get_mut(i) {
            tx.resp_cmd = h.ptype;
            tx.resp_done = true;
            tx.frag_cnt_tc = 1;
            tx.ifaces = ifaces;
            self.raw_trigger[1] = true;
        }
        true
    }

    fn request(&mut self, h: &CoHeader, body: &[u8]) -> bool {
        self.stats.requests += 1;
        let Some((ctxid, opnum)) = pdu::request_hdr(body, h.little) else { return false };
        let i = match self.by_call_id(h.call_id, true, h.ptype) {
            Some(i) => i,
            None => {
                let tx = self.new_tx(h);
                self.push_tx(tx)
            }
        };
        if let Some(tx) = self.txs.get_mut(i) {
            tx.req_cmd = h.ptype;
            tx.ctxid = ctxid;
            tx.opnum = opnum;
            tx.first_request_seen = true;
        }
        self.stub(h, body, 8, true)
    }

    /// The stub data of a request (after its 8-byte header) or response (all of the body, as
    /// Suricata takes it), Suricata's `handle_common_stub`. False: malformed.
    fn stub(&mut self, h: &CoHeader, body: &[u8], hdr_len: usize, to_server: bool) -> bool {
        if usize::from(h.frag_len) < hdr_len + CO_HDR_LEN {
            return false;
        }
        let Some(data) = body.get(hdr_len..) else { return false };
        if data.is_empty() {
            return true;
        }
        let Some(i) = self.by_call_id(h.call_id, to_server, h.ptype) else { return true };
        let frag = h.flags & (pdu::PFC_FIRST_FRAG | pdu::PFC_LAST_FRAG);
        let last = frag == 0 || h.last_frag();
        let ifaces = self.ifaces.clone();
        self.raw_trigger[usize::from(!to_server)] = true;
        let DcerpcState { txs, budget, stats, .. } = self;
        let Some(tx) = txs.get_mut(i) else { return true };
        if to_server {
            keep_stub(&mut tx.stub_ts, data, budget, stats);
            tx.frag_cnt_ts = tx.frag_cnt_ts.saturating_add(1);
            tx.req_done = last;
        } else {
            keep_stub(&mut tx.stub_tc, data, budget, stats);
            tx.frag_cnt_tc = tx.frag_cnt_tc.saturating_add(1);
            tx.resp_done = last;
        }
        tx.ifaces = ifaces;
        true
    }

    /// One UDP datagram (a connectionless PDU). Returns false once parsing has stopped.
    pub fn parse_udp(&mut self, data: &[u8]) -> bool {
        if self.failed {
            return false;
        }
        let ok = self.cl_pdu(data);
        if !ok {
            self.failed = true;
            self.stats.malformed += 1;
        }
        ok
    }

    fn cl_pdu(&mut self, data: &[u8]) -> bool {
        if data.len() < CL_HDR_LEN {
            return false;
        }
        let Some(h) = pdu::cl_header(data) else { return false };
        if h.vers != 4 {
            return false;
        }
        let Some(body) = data.get(CL_HDR_LEN..CL_HDR_LEN + usize::from(h.fraglen)) else { return false };
        if h.ptype != ptype::REQUEST && h.ptype != ptype::RESPONSE {
            return false;
        }
        let to_server = h.ptype == ptype::REQUEST;
        if to_server {
            self.stats.requests += 1;
        } else {
            self.stats.responses += 1;
        }
        let i = match self.cl_open_tx(&h) {
            Some(i) => i,
            None => {
                let mut tx = DceTx::new(self.next_id);
                self.next_id += 1;
                tx.little = h.drep0 & 0x10 != 0;
                tx.activity = Some(h.activity);
                tx.seqnum = h.seqnum;
                self.push_tx(tx)
            }
        };
        let done = h.flags1 & pdu::PFCL1_FRAG == 0 || h.flags1 & pdu::PFCL1_LASTFRAG != 0;
        let DcerpcState { txs, budget, stats, .. } = self;
        let Some(tx) = txs.get_mut(i) else { return true };
        if to_server {
            tx.frag_cnt_ts = tx.frag_cnt_ts.saturating_add(1);
            keep_stub(&mut tx.stub_ts, body, budget, stats);
            tx.req_done |= done;
        } else {
            tx.frag_cnt_tc = tx.frag_cnt_tc.saturating_add(1);
            keep_stub(&mut tx.stub_tc, body, budget, stats);
            tx.resp_done |= done;
        }
        true
    }

    fn cl_open_tx(&self, h: &ClHeader) -> Option<usize> {
        self.txs.iter().position(|tx| {
            tx.seqnum == h.seqnum
                && tx.activity == Some(h.activity)
                && ((h.ptype == ptype::REQUEST && !tx.req_done) || (h.ptype == ptype::RESPONSE && !tx.resp_done))
        })
    }
}
