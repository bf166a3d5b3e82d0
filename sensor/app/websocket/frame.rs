//! RFC 6455 §5.2 framing of one direction, in any split: the header (2 to 14 bytes), the
//! payload unmasked as it arrives, then what follows a finished frame (Suricata's
//! `parse_message` and the message joining and inflating of its `WebSocketState::parse`).

use flate2::{Decompress, FlushDecompress};

use super::{WebsocketStats, WebsocketTx, EV_REASSEMBLY_LIMIT, EV_SKIP, MAX_PAYLOAD};
use crate::app::plugin::TxEvents;

/// The longest header: 2 bytes, a 64-bit length, a 4-byte mask.
const HDR_MAX: usize = 14;
/// Inflated bytes produced per step (on the stack).
const INFLATE_STEP: usize = 4096;

/// A frame being read: its header, and its payload so far.
#[derive(Debug, Default)]
struct Cur {
    /// Stream offset of its first byte.
    start: u64,
    hdr_len: usize,
    flags: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    /// Payload bytes kept (at most [`MAX_PAYLOAD`]).
    want: usize,
    /// Payload bytes beyond `want`, skipped.
    to_skip: u64,
    payload: Vec<u8>,
}

/// A frame read whole (its kept part), with where it sat in the stream.
#[derive(Debug)]
pub(super) struct Done {
    start: u64,
    hdr_len: usize,
    /// Payload bytes of the frame as carried (before joining or inflating).
    raw_len: usize,
    tx: WebsocketTx,
}

impl Done {
    /// The frames Suricata names for it: (type, stream offset, length) of the header, the
    /// whole frame and its payload.
    pub(super) fn frames(&self) -> [(u8, u64, u64); 3] {
        let (h, p) = (self.hdr_len as u64, self.raw_len as u64);
        [(0, self.start, h), (1, self.start, h + p), (2, self.start + h, p)]
    }

    /// Its transaction, numbered `id`.
    pub(super) fn into_tx(self, id: u64, to_server: bool) -> WebsocketTx {
        WebsocketTx { id, to_server, ..self.tx }
    }
}

/// One direction's framing state.
#[derive(Default)]
pub(super) struct DirState {
    hdr: [u8; HDR_MAX],
    hdr_len: usize,
    hdr_start: u64,
    cur: Option<Cur>,
    /// Payload bytes of the last frame still to skip.
    skip: u64,
    /// A data message's fragments joined so far, and whether its first was compressed.
    msg: Vec<u8>,
    msg_compress: bool,
    /// The direction's permessage-deflate window, from its first compressed frame.
    inflate: Option<Box<Decompress>>,
}

impl std::fmt::Debug for DirState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirState").field("hdr_len", &self.hdr_len).field("skip", &self.skip).finish()
    }
}

/// The header's length once its first two bytes are known.
fn header_len(b1: u8) -> usize {
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
}

impl DirState {
    /// Takes bytes from `data` (whose first byte is at stream offset `at`): how many, and
    /// the frame they finished, if any.
    pub(super) fn feed(&mut self, data: &[u8], at: u64, stats: &mut WebsocketStats) -> (usize, Option<Done>) {
        if self.skip > 0 {
            let n = usize::try_from(self.skip).unwrap_or(usize::MAX).min(data.len());
            self.skip -= n as u64;
            return (n, None);
        }
        let mut used = 0;
        if self.cur.is_none() {
            used = self.header(data, at);
            if self.cur.is_none() {
                return (used, None);
            }
        }
        let Some(cur) = self.cur.as_mut() else { return (used, None) };
        let rest = data.get(used..).unwrap_or(&[]);
        let n = (cur.want - cur.payload.len()).min(rest.len());
        let from = cur.payload.len();
        cur.payload.extend_from_slice(rest.get(..n).unwrap_or(&[]));
        if let (Some(m), Some(p)) = (cur.mask, cur.payload.get_mut(from..)) {
            for (i, b) in p.iter_mut().enumerate() {
                *b ^= m[(from + i) % 4];
            }
        }
        used += n;
        if cur.payload.len() < cur.want {
            return (used, None);
        }
        let cur = self.cur.take().unwrap_or_default();
        (used, Some(self.finish(cur, stats)))
    }

    /// Collects header bytes; once whole, starts the frame. Returns the bytes taken.
    fn header(&mut self, data: &[u8], at: u64) -> usize {
        let mut used = 0;
        for &b in data {
            if self.hdr_len == 0 {
                self.hdr_start = at + used as u64;
            }
            if let Some(slot) = self.hdr.get_mut(self.hdr_len) {
                *slot = b;
            }
            self.hdr_len += 1;
            used += 1;
            if self.hdr_len >= 2 && self.hdr_len == header_len(self.hdr[1]) {
                self.start_frame();
                break;
            }
        }
        used
    }

    fn start_frame(&mut self) {
        // In bounds: `hdr` holds 14 bytes; the indexes below stop at 13.
        let h = &self.hdr;
        let (b0, b1) = (h[0], h[1]);
        let (len, mut i): (u64, usize) = match b1 & 0x7f {
            126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
            127 => (u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]), 10),
            n => (u64::from(n), 2),
        };
        let mask = if b1 & 0x80 != 0 {
            let m = [h[i], h[i + 1], h[i + 2], h[i + 3]];
            i += 4;
            Some(m)
        } else {
            None
        };
        let max = MAX_PAYLOAD as u64;
        // Suricata keeps a frame shorter than the maximum whole, else the maximum
        let (want, to_skip) = if len < max { (len, 0) } else { (max, len - max) };
        let want = usize::try_from(want).unwrap_or(MAX_PAYLOAD);
        self.cur = Some(Cur {
            start: self.hdr_start,
            hdr_len: i,
            flags: b0 & 0xf0,
            opcode: b0 & 0x0f,
            mask,
            want,
            to_skip,
            payload: Vec::with_capacity(want.min(4096)),
        });
        self.hdr_len = 0;
    }

    /// A frame's kept payload is in: its transaction, after joining and inflating.
    fn finish(&mut self, cur: Cur, stats: &mut WebsocketStats) -> Done {
        let mut events = TxEvents::default();
        if cur.to_skip > 0 {
            self.skip = cur.to_skip;
            stats.payload_bytes_skipped += cur.to_skip;
            events.raise(EV_SKIP);
        }
        let fin = cur.flags & 0x80 != 0;
        let compressed = cur.flags & 0x40 != 0;
        if compressed && self.inflate.is_none() {
            // RFC 7692 §7.1.2: no window size given means 2^15 bytes
            self.inflate = Some(Box::new(Decompress::new(false)));
        }
        let raw_len = cur.payload.len();
        let mut payload = cur.payload;
        let mut compress = compressed;
        if cur.opcode < 8 && (!self.msg.is_empty() || !fin) {
            if self.msg.is_empty() {
                self.msg_compress = compressed;
            }
            if self.msg.len() + payload.len() < MAX_PAYLOAD {
                self.msg.extend_from_slice(&payload);
            } else if self.msg.len() < MAX_PAYLOAD {
                let room = MAX_PAYLOAD - self.msg.len();
                self.msg.extend_from_slice(payload.get(..room).unwrap_or(&[]));
                stats.messages_cut += 1;
                events.raise(EV_REASSEMBLY_LIMIT);
            }
        }
        if cur.opcode < 8 && fin && !self.msg.is_empty() {
            // the final fragment carries the whole message
            compress = self.msg_compress;
            payload = std::mem::take(&mut self.msg);
        }
        if compress && fin {
            self.msg_compress = false;
            if let Some(dec) = self.inflate.as_deref_mut() {
                // RFC 7692 §7.2.2: the sender removed this tail of the flush
                payload.extend_from_slice(&[0, 0, 0xff, 0xff]);
                match inflate(dec, &payload) {
                    Some(out) if !out.is_empty() => payload = out,
                    Some(_) => {}
                    None => stats.inflate_errors += 1,
                }
            }
        }
        let mask = cur.mask.map(u32::from_be_bytes);
        let tx = WebsocketTx { flags: cur.flags, opcode: cur.opcode, mask, payload, events, ..WebsocketTx::default() };
        Done { start: cur.start, hdr_len: cur.hdr_len, raw_len, tx }
    }
}

/// Inflates a message with the direction's window: all its input is taken (the window must
/// follow), at most [`MAX_PAYLOAD`] bytes of output are kept. `None` when the data is bad.
fn inflate(dec: &mut Decompress, input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity((256 + 16 * input.len()).min(8192));
    let mut step = [0u8; INFLATE_STEP];
    let mut rest = input;
    loop {
        let (in0, out0) = (dec.total_in(), dec.total_out());
        let r = dec.decompress(rest, &mut step, FlushDecompress::Sync);
        let took = usize::try_from(dec.total_in() - in0).unwrap_or(rest.len()).min(rest.len());
        let made = usize::try_from(dec.total_out() - out0).unwrap_or(0).min(step.len());
        let room = MAX_PAYLOAD.saturating_sub(out.len());
        out.extend_from_slice(step.get(..made.min(room)).unwrap_or(&[]));
        rest = rest.get(took..).unwrap_or(&[]);
        if r.is_err() {
            return None;
        }
        // done once the input is taken and the output did not fill a step
        if (took == 0 && made == 0) || (rest.is_empty() && made < step.len()) {
            return Some(out);
        }
    }
}
