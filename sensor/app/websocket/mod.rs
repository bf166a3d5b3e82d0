//! WebSocket (RFC 6455) after an HTTP/1 `101 Switching Protocols` whose `Upgrade` names it,
//! after Suricata's `rust/src/websocket/`: each frame is a one-way transaction with its flags,
//! opcode, mask and payload (`websocket.opcode`, `websocket.flags`, `websocket.mask`,
//! `websocket.payload`; EVE `websocket`; frames `websocket.header`, `.pdu`, `.data`).
//!
//! Takes: in-order bytes of each direction from the first byte after the HTTP response that
//! switched protocols (the flow's protocol change, [`crate::app::AppParser::upgrade`]), in any
//! split. Promises: a frame's payload is unmasked; the fragments of a data message (opcode
//! below 8) are joined and the final fragment's transaction carries the whole message; a
//! message compressed with permessage-deflate (RSV1, RFC 7692) is inflated with the
//! direction's sliding window, as Suricata does. Bounded: at most [`MAX_PAYLOAD`] bytes of a
//! frame, of a joined message and of an inflated one are kept (Suricata's
//! `websocket.max-payload-size` default); the rest of a longer frame is skipped
//! (`skip_end_of_payload`), a longer message cut (`reassembly_limit_reached`), each counted;
//! at most [`MAX_TXS`] transactions per flow (evictions counted). The framing is hand-parsed:
//! the WebSocket crates (tungstenite and its kin) are endpoints that own the connection, not
//! passive parsers of two captured directions, and the header is 2 to 14 bytes of RFC 6455
//! §5.2. Never: panics on input, allocates beyond those bounds, crosses a gap (no resync).

mod detect;
mod frame;
#[cfg(test)]
mod tests;

pub use detect::PROTOCOL;
use frame::DirState;

use crate::app::plugin::{ParseCx, Status, TxEvents};
use crate::app::proto::AppProto;
use crate::app::txs::TxList;
use crate::output::eve::Json;

/// Bytes of a frame's payload (and of a joined or inflated message) kept: Suricata's
/// `app-layer.protocols.websocket.max-payload-size` default.
pub const MAX_PAYLOAD: usize = 0xFFFF;
/// Transactions kept per flow (records and detection take them after each packet).
pub const MAX_TXS: usize = 256;

/// App-layer events, as Suricata names them.
pub const EVENTS: &[&str] = &["skip_end_of_payload", "reassembly_limit_reached"];
const EV_SKIP: u16 = 0;
const EV_REASSEMBLY_LIMIT: u16 = 1;

/// Frame types, as the `frame` keyword names them (`websocket.pdu`).
pub const FRAMES: &[&str] = &["header", "pdu", "data"];

/// Opcode names (Suricata's `WebSocketOpcode`), for `websocket.opcode` and EVE.
pub const OPCODES: &[(&str, u64)] =
    &[("continuation", 0), ("text", 1), ("binary", 2), ("close", 8), ("ping", 9), ("pong", 10)];

crate::app_counters! {
    /// WebSocket counters.
    pub struct WebsocketStats {
        /// Frames parsed (a transaction each).
        frames,
        /// Payload bytes skipped beyond the kept size of a frame.
        payload_bytes_skipped,
        /// Data messages cut at the kept size while their fragments were joined.
        messages_cut,
        /// Compressed messages that did not inflate (their payload is kept as sent).
        inflate_errors,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
    }
}

/// One frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebsocketTx {
    id: u64,
    to_server: bool,
    /// The first byte's flags (FIN, RSV1-3): its top four bits.
    pub flags: u8,
    /// Opcode.
    pub opcode: u8,
    /// Masking key, when the frame was masked.
    pub mask: Option<u32>,
    /// Payload: unmasked, joined with earlier fragments on the final one, inflated.
    pub payload: Vec<u8>,
    events: TxEvents,
}

impl WebsocketTx {
    /// FIN is set.
    pub fn fin(&self) -> bool {
        self.flags & 0x80 != 0
    }

    /// Writes Suricata's `websocket` object (the payload is not logged, as its defaults).
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let mut o = j.begin("websocket");
        o.bool("fin", self.fin());
        if let Some(m) = self.mask {
            o.u64("mask", u64::from(m));
        }
        match OPCODES.iter().find(|(_, v)| *v == u64::from(self.opcode)) {
            Some((name, _)) => {
                o.str("opcode", name);
            }
            None => {
                o.str("opcode", &format!("unknown-{}", self.opcode));
            }
        }
        o.end();
    }
}

/// Per-flow WebSocket state.
#[derive(Debug)]
pub struct WebsocketState {
    txs: TxList<WebsocketTx>,
    dirs: [DirState; 2],
    /// Counters.
    pub stats: WebsocketStats,
}

impl Default for WebsocketState {
    fn default() -> Self {
        WebsocketState {
            txs: TxList::new(MAX_TXS),
            dirs: [DirState::default(), DirState::default()],
            stats: WebsocketStats::default(),
        }
    }
}

impl WebsocketState {
    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &WebsocketTx> {
        self.txs.iter()
    }

    fn parse_dir(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let base = cx.frames.offset(to_server);
        let WebsocketState { txs, dirs, stats } = self;
        let d = &mut dirs[usize::from(!to_server)];
        let mut rest = data;
        while !rest.is_empty() {
            let at = base + (data.len() - rest.len()) as u64;
            let (used, done) = d.feed(rest, at, stats);
            let moved = used > 0 || done.is_some();
            rest = rest.get(used..).unwrap_or(&[]);
            if let Some(f) = done {
                let id = txs.next_id();
                for (ty, off, len) in f.frames() {
                    if let Some(fid) = cx.frames.add(to_server, off, Some(len), ty) {
                        cx.frames.set_tx(fid, id);
                    }
                }
                let tx = f.into_tx(id, to_server);
                for &e in tx.events.as_slice() {
                    cx.stats.tx_event(AppProto::Websocket, e);
                }
                stats.frames += 1;
                cx.stats.tx(AppProto::Websocket, true);
                if txs.push(tx) {
                    stats.tx_evicted += 1;
                }
            }
            if !moved {
                break;
            }
        }
        Status::Continue
    }
}
