//! DCE/RPC over named pipes (Suricata's `smb/dcerpc.rs` and `dcerpc_records.rs`): PDUs written
//! to a pipe (WRITE, IOCTL, TRANS) and read back from it become DCE/RPC transactions of the
//! SMB flow; the contexts a bind proposes are kept for `dcerpc.iface` and the records. The PDU
//! layouts are `crate::app::dcerpc::pdu`'s.

use std::sync::Arc;

use super::txs::{key, DceTx, Hdr, Kind};
use super::{ev, SmbState};
use crate::app::dcerpc::pdu::{self, ptype, CoHeader, CO_HDR_LEN};
use crate::app::dcerpc::MAX_STUB;

const STATUS_SUCCESS: u32 = 0;
const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;

/// Whether bytes written to or read from an unknown tree look like DCE/RPC.
pub(super) fn probe(data: &[u8]) -> bool {
    pdu::co_header(data).is_some_and(|h| h.vers == 5 && h.minor < 3 && h.frag_len > 0 && h.ptype <= 20)
}

/// The key a DCE/RPC transaction is found by: SMB1 and SMB2 reads and writes pair on the
/// session alone, other SMB2 commands (IOCTL) on the message id too.
fn dce_key(h: &Hdr, ver: u8, cmd: u16) -> Hdr {
    let msg_id = match (ver, cmd) {
        (2, super::smb2::READ | super::smb2::WRITE) | (1, _) => 0,
        _ => h.msg_id,
    };
    Hdr { kind: key::DCERPCTX, msg_id, ..*h }
}

impl SmbState {
    fn dcerpc_tx(&self, hdr: &Hdr, vercmd: (u8, u16), call_id: u32) -> Option<usize> {
        let want = dce_key(hdr, vercmd.0, vercmd.1);
        self.txs.iter().position(|t| {
            matches!(&t.kind, Kind::Dcerpc(d) if d.call_id == call_id)
                && dce_key(&t.hdr, vercmd.0, vercmd.1).same(&want)
        })
    }

    fn new_dcerpc_tx(&mut self, hdr: Hdr, vercmd: (u8, u16), status: Option<u32>, d: DceTx) -> usize {
        let i = self.push(Kind::Dcerpc(Box::new(d)), hdr);
        if let Some(t) = self.at(i) {
            t.request_done = false;
            t.response_done = false;
            t.ver = vercmd.0;
            t.cmd = vercmd.1;
            if let Some(s) = status {
                t.set_status(s, false);
            }
        }
        i
    }

    /// Appends stub bytes within the transaction's cap and the flow's budget.
    fn keep_stub(&mut self, i: usize, to_server: bool, data: &[u8]) {
        let SmbState { txs, budget, .. } = self;
        let Some(Kind::Dcerpc(d)) = txs.get_mut(i).map(|t| &mut t.kind) else { return };
        let buf = if to_server { &mut d.stub_ts } else { &mut d.stub_tc };
        let room = if buf.len() + data.len() < MAX_STUB { data.len() } else { MAX_STUB.saturating_sub(buf.len()) };
        let got = budget.take(room);
        buf.extend_from_slice(data.get(..got).unwrap_or(&[]));
    }
}

/// The stub data of a request (after the 8-byte request header, `frag_len - 24` bytes);
/// `None` when the PDU is short. Returns (context id, opnum, stub).
fn request_stub<'a>(body: &'a [u8], h: &CoHeader) -> Option<(u16, u16, &'a [u8])> {
    let len = usize::from(h.frag_len).checked_sub(24)?;
    let (ctxid, opnum) = pdu::request_hdr(body, h.little)?;
    Some((ctxid, opnum, body.get(8..8 + len)?))
}

/// A PDU written to a pipe (Suricata's `smb_write_dcerpc_record`).
pub(super) fn write(s: &mut SmbState, vercmd: (u8, u16), status: Option<u32>, hdr: Hdr, data: &[u8]) {
    let Some(h) = pdu::co_header(data) else {
        s.set_event(ev::MALFORMED_DATA);
        return;
    };
    let body = data.get(CO_HDR_LEN..).unwrap_or(&[]);
    if h.ptype == ptype::REQUEST && !h.first_frag() {
        // a later fragment: more stub data for the open request
        let Some((_, _, stub)) = request_stub(body, &h) else {
            s.set_event(ev::MALFORMED_DATA);
            return;
        };
        if let Some(i) = s.dcerpc_tx(&hdr, vercmd, h.call_id) {
            s.keep_stub(i, true, stub);
            if let Some(t) = s.at(i) {
                if let Kind::Dcerpc(d) = &mut t.kind {
                    d.frag_cnt_ts = d.frag_cnt_ts.saturating_add(1);
                }
                if h.last_frag() {
                    t.request_done = true;
                }
            }
        }
        return;
    }
    let d = DceTx { req_cmd: h.ptype, req_set: true, call_id: h.call_id, ..DceTx::default() };
    let i = s.new_dcerpc_tx(hdr, vercmd, status, d);
    let mut bind = None;
    match h.ptype {
        ptype::REQUEST => match request_stub(body, &h) {
            Some((ctxid, opnum, stub)) => {
                s.keep_stub(i, true, stub);
                if let Some(t) = s.at(i) {
                    if let Kind::Dcerpc(d) = &mut t.kind {
                        d.opnum = opnum;
                        d.context_id = ctxid;
                        d.frag_cnt_ts = d.frag_cnt_ts.saturating_add(1);
                    }
                    if h.last_frag() {
                        t.request_done = true;
                    }
                }
            }
            None => {
                if let Some(t) = s.at(i) {
                    t.set_event(ev::MALFORMED_DATA);
                    t.request_done = true;
                }
            }
        },
        ptype::BIND => {
            let parsed = pdu::bind_smb(body, &h);
            if let Some(t) = s.at(i) {
                if parsed.is_none() {
                    t.set_event(ev::MALFORMED_DATA);
                }
                t.request_done = true;
            }
            bind = Some(parsed.filter(|v| !v.is_empty()));
        }
        21..=255 => {
            if let Some(t) = s.at(i) {
                t.set_event(ev::MALFORMED_DATA);
                t.request_done = true;
            }
        }
        _ => {
            if let Some(t) = s.at(i) {
                t.request_done = true;
            }
        }
    }
    if let Some(ifaces) = bind {
        s.ifaces = ifaces.map(Arc::new);
        s.snap_changed();
    }
}

/// Stores part of a DCE/RPC record a read returned (STATUS_BUFFER_OVERFLOW: the rest comes in
/// the next read), within the flow's budget.
pub(super) fn frag_store(s: &mut SmbState, k: (Hdr, Vec<u8>), data: Vec<u8>) {
    if s.budget.take(data.len()) < data.len() {
        return;
    }
    if let Some(old) = s.frag.put(k, data) {
        s.budget.give(old.len());
    }
}

/// A PDU read from a pipe (Suricata's `smb_read_dcerpc_record`). `status`: the read's.
pub(super) fn read(s: &mut SmbState, vercmd: (u8, u16), status: Option<u32>, hdr: Hdr, guid: &[u8], indata: &[u8]) {
    let nt = status.unwrap_or(STATUS_SUCCESS);
    if nt != STATUS_SUCCESS && nt != STATUS_BUFFER_OVERFLOW {
        if let Some(t) = s.generic_tx(vercmd.0, vercmd.1, &hdr).and_then(|i| s.at(i)) {
            t.set_status(nt, false);
            t.response_done = true;
        }
        return;
    }
    let k = (Hdr::new(key::TRANS_FRAG, hdr.ssn_id, hdr.tree_id, 0), guid.to_vec());
    let mut data = match s.frag.pop(&k) {
        Some(prev) => {
            s.budget.give(prev.len());
            prev
        }
        None => Vec::new(),
    };
    data.extend_from_slice(indata);
    if data.is_empty() {
        return;
    }
    let Some(h) = pdu::co_header(&data) else {
        s.set_event(ev::MALFORMED_DATA);
        return;
    };
    if nt == STATUS_BUFFER_OVERFLOW && data.len() < usize::from(h.frag_len) {
        frag_store(s, k, data);
        return;
    }
    let body = data.get(CO_HDR_LEN..).unwrap_or(&[]);
    if h.ptype == ptype::BINDACK {
        bindack(s, vercmd, hdr, &h, body, nt);
        return;
    }
    let i = match s.dcerpc_tx(&hdr, vercmd, h.call_id) {
        Some(i) => i,
        None => {
            let d = DceTx { call_id: h.call_id, ..DceTx::default() };
            s.new_dcerpc_tx(hdr, vercmd, status, d)
        }
    };
    response(s, i, &h, body, nt);
}

fn bindack(s: &mut SmbState, vercmd: (u8, u16), hdr: Hdr, h: &CoHeader, body: &[u8], nt: u32) {
    let Some(results) = pdu::bindack_results(body) else {
        s.set_event(ev::MALFORMED_DATA);
        return;
    };
    let Some(t) = s.dcerpc_tx(&hdr, vercmd, h.call_id).and_then(|i| s.at(i)) else { return };
    if let Kind::Dcerpc(d) = &mut t.kind {
        d.res_set = true;
        d.res_cmd = ptype::BINDACK;
    }
    t.set_status(nt, false);
    t.response_done = true;
    if let Some(ifaces) = s.ifaces.as_deref() {
        let mut ifaces = ifaces.clone();
        for (x, (result, _)) in ifaces.iter_mut().zip(results) {
            x.ack_result = result;
            x.acked = true;
        }
        s.ifaces = Some(Arc::new(ifaces));
        s.snap_changed();
    }
}

fn response(s: &mut SmbState, i: usize, h: &CoHeader, body: &[u8], nt: u32) {
    match h.ptype {
        ptype::RESPONSE => {
            let stub = usize::from(h.frag_len).checked_sub(24).and_then(|l| body.get(8..8 + l));
            match stub {
                Some(stub) => {
                    s.keep_stub(i, false, stub);
                    if let Some(t) = s.at(i) {
                        if let Kind::Dcerpc(d) = &mut t.kind {
                            d.res_set = true;
                            d.res_cmd = ptype::RESPONSE;
                            d.frag_cnt_tc = d.frag_cnt_tc.saturating_add(1);
                        }
                        t.set_status(nt, false);
                        t.response_done = h.last_frag();
                    }
                }
                None => {
                    if let Some(t) = s.at(i) {
                        t.set_event(ev::MALFORMED_DATA);
                    }
                }
            }
        }
        ptype::BINDACK => {}
        p => {
            if let Some(t) = s.at(i) {
                if let Kind::Dcerpc(d) = &mut t.kind {
                    d.res_set = true;
                    d.res_cmd = p;
                }
                t.set_status(nt, false);
                t.response_done = true;
                if p > 20 {
                    t.set_event(ev::MALFORMED_DATA);
                }
            }
        }
    }
}
