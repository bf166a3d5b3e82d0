//! Frames: the protocol data units a parser names in its byte stream (an SMB2 record, its
//! header, an SSH record, a SIP request line, an HTTP/1 request), which rules inspect with the
//! `frame` keyword as a sticky buffer (Suricata's `app-layer-frames`).
//!
//! A protocol lists its frame types as rows of its descriptor ([`super::Protocol::frames`]:
//! names as rules write them, the index is the type). While parsing, it says where a frame
//! starts in the direction's stream and how long it is ([`Frames::add`], the length may come
//! later with [`Frames::set_len`]), and which transaction it belongs to ([`Frames::set_tx`]).
//! The stream offsets are those of [`Frames::offset`]: the offset of the first byte of the
//! data of the current `parse` call (every byte and gap given to the parser counts).
//!
//! Takes: the types detection wants for the flow's protocol ([`Frames::enable`]; nothing is
//! kept for a flow without them), the bytes and gaps the parser is given. Promises: a frame's
//! bytes as the stream carried them (what is missing is recorded as gaps, never invented), a
//! frame is ready for inspection once its length is reached, or when its direction ends or
//! its bytes exceed [`MAX_FRAME_BYTES`]; at most [`MAX_FRAMES`] frames are held per flow, a
//! frame beyond is dropped and counted ([`Frames::dropped`]). Never: names a protocol, grows
//! beyond its caps, or keeps a frame after detection took it.

use base64::Engine as _;

use super::proto::AppProto;
use crate::output::eve::Json;

/// Frames held per flow (both directions); more are dropped and counted.
pub const MAX_FRAMES: usize = 256;
/// Bytes kept of one frame; a longer frame is inspected on its first bytes.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;
/// Bytes of a direction kept behind the parser, for frames that start in data the parser held
/// back from an earlier call (a record it buffered until whole).
pub const TAIL: usize = 64 * 1024;
/// Bytes of a frame's payload an alert logs (Suricata's `payload-buffer-size` default).
pub const LOG_BYTES: usize = 4096;
/// Gaps recorded per frame (beyond, the last one grows).
const MAX_GAPS: usize = 8;

/// The frame types detection inspects, per protocol (bit n: the protocol's type n): a flow
/// keeps the frames of these only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameWants(Vec<(AppProto, u64)>);

impl FrameWants {
    /// Frames of type `ty` of protocol `p` are inspected.
    pub fn add(&mut self, p: AppProto, ty: u8) {
        if ty >= 64 {
            return;
        }
        match self.0.iter_mut().find(|(q, _)| *q == p) {
            Some((_, m)) => *m |= 1 << ty,
            None => self.0.push((p, 1 << ty)),
        }
    }

    /// The types of protocol `p` inspected.
    pub fn mask(&self, p: AppProto) -> u64 {
        self.0.iter().find(|(q, _)| *q == p).map_or(0, |(_, m)| *m)
    }
}

/// One frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Id within the flow, from 1, in order of creation (EVE `frame.id`).
    pub id: u64,
    /// Type: index into the protocol's frame rows.
    pub ty: u8,
    /// Direction.
    pub to_server: bool,
    /// Offset of its first byte in the direction's stream (EVE `frame.stream_offset`).
    pub offset: u64,
    /// Length, once known.
    pub len: Option<u64>,
    /// The transaction it belongs to, when the protocol said.
    pub tx: Option<u64>,
    /// Its bytes seen, gaps left out.
    data: Vec<u8>,
    /// Stream bytes accounted for from `offset` (bytes and gaps).
    filled: u64,
    /// Missing runs: (position in `data` where bytes are missing, how many).
    gaps: Vec<(usize, u64)>,
    /// Its bytes exceeded [`MAX_FRAME_BYTES`].
    cut: bool,
    /// Ready for inspection.
    ready: bool,
}

impl Frame {
    /// All its bytes came (its length is known and reached).
    pub fn complete(&self) -> bool {
        self.len.is_some_and(|l| self.filled >= l)
    }

    /// Its bytes up to the first gap: what rules inspect (bytes across a gap are not joined,
    /// so no pattern matches across missing data).
    pub fn inspect_bytes(&self) -> &[u8] {
        let end = self.gaps.first().map_or(self.data.len(), |g| g.0);
        self.data.get(..end).unwrap_or(&[])
    }

    /// Its bytes, gaps left out.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Whether bytes of it are missing.
    pub fn has_gaps(&self) -> bool {
        !self.gaps.is_empty()
    }

    /// The length EVE prints: the declared one, else the bytes accounted for.
    pub fn log_len(&self) -> u64 {
        self.len.unwrap_or(self.filled)
    }

    /// Writes the EVE `frame` object of an alert (`type_name` from the protocol's rows;
    /// `to_server`: the alerting packet's direction): type, id, direction, stream offset,
    /// length, the payload (base64 and printable, at most [`LOG_BYTES`], `[N bytes missing]`
    /// where the stream had a gap), whether it is complete, its transaction.
    pub fn write_eve(&self, j: &mut Json<'_>, type_name: &str, to_server: bool) {
        let mut o = j.begin("frame");
        o.str("type", type_name);
        o.u64("id", self.id);
        o.str("direction", if to_server { "toserver" } else { "toclient" });
        o.u64("stream_offset", self.offset);
        o.u64("length", self.log_len());
        let payload = self.log_payload();
        if !payload.is_empty() {
            o.str("payload", &base64::engine::general_purpose::STANDARD.encode(&payload));
            o.str("payload_printable", &printable(&payload));
            o.bool("complete", self.complete());
        }
        if let Some(tx) = self.tx {
            o.u64("tx_id", tx);
        }
        o.end();
    }

    /// The payload as Suricata's frame logger writes it: the bytes with `[N bytes missing]`
    /// where a gap was, cut at [`LOG_BYTES`].
    fn log_payload(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut at = 0;
        let push = |out: &mut Vec<u8>, b: &[u8]| {
            let room = LOG_BYTES.saturating_sub(out.len());
            out.extend_from_slice(b.get(..room.min(b.len())).unwrap_or(&[]));
        };
        for &(pos, n) in &self.gaps {
            push(&mut out, self.data.get(at..pos).unwrap_or(&[]));
            push(&mut out, format!("[{n} bytes missing]").as_bytes());
            at = pos;
        }
        push(&mut out, self.data.get(at..).unwrap_or(&[]));
        out
    }

    fn take(&mut self, stream_off: u64, b: &[u8]) {
        // the part of [stream_off, stream_off + b.len()) that is this frame's and new
        let start = self.offset + self.filled;
        let end = self.len.map_or(u64::MAX, |l| self.offset.saturating_add(l));
        let from = start.max(stream_off);
        let to = end.min(stream_off + b.len() as u64);
        if to <= from {
            return;
        }
        if from > start {
            // bytes before what is available were not kept: missing
            self.missing(from - start);
        }
        let part = b.get((from - stream_off) as usize..(to - stream_off) as usize).unwrap_or(&[]);
        let room = MAX_FRAME_BYTES.saturating_sub(self.data.len());
        if part.len() > room {
            self.cut = true;
        }
        self.data.extend_from_slice(part.get(..room.min(part.len())).unwrap_or(&[]));
        self.filled += part.len() as u64;
    }

    fn missing(&mut self, n: u64) {
        let end = self.len.map_or(u64::MAX, |l| l.saturating_sub(self.filled));
        let n = n.min(end);
        if n == 0 {
            return;
        }
        let (at, full) = (self.data.len(), self.gaps.len() >= MAX_GAPS);
        match self.gaps.last_mut() {
            Some(g) if g.0 == at || full => g.1 += n,
            _ => self.gaps.push((self.data.len(), n)),
        }
        self.filled += n;
    }
}

/// The frames of one flow. What every flow pays for is its stream position (two offsets and
/// the current call's length per direction, 56 bytes in all); the frames and the bytes kept
/// behind the parser live in a box made when a frame type is first enabled, so the many flows
/// whose protocol no `frame` rule names carry no more than that.
#[derive(Debug, Default)]
pub struct Frames {
    /// Types wanted (bit per type of the flow's protocol); 0: none kept.
    enabled: u64,
    /// Per direction (index 0: to server): offset of the next byte the parser gets.
    off: [u64; 2],
    /// Per direction: bytes of the current call.
    pending: [u64; 2],
    /// The frames and tails, once a type was enabled.
    kept: Option<Box<Kept>>,
    /// Frames not kept (over [`MAX_FRAMES`]).
    pub dropped: u64,
}

/// What a flow whose frames are wanted keeps.
#[derive(Debug, Default)]
struct Kept {
    next_id: u64,
    /// Per direction: the last bytes given to the parser, ending at `off` (after
    /// [`Frames::begin`]: at `off` plus the call's data).
    tails: [Vec<u8>; 2],
    list: Vec<Frame>,
}

impl Frames {
    /// Keeps frames of the types in `mask` (bit n: type n of the flow's protocol).
    pub fn enable(&mut self, mask: u64) {
        self.enabled = mask;
        if mask != 0 && self.kept.is_none() {
            self.kept = Some(Box::default());
        }
    }

    /// Whether frames of type `ty` are kept.
    pub fn wants(&self, ty: u8) -> bool {
        ty < 64 && self.enabled & (1 << ty) != 0
    }

    /// Whether any frame type is kept.
    pub fn any(&self) -> bool {
        self.enabled != 0
    }

    /// Stream offset of the first byte of the current call's data in a direction.
    pub fn offset(&self, to_server: bool) -> u64 {
        self.off[usize::from(!to_server)]
    }

    /// The frames held (none before a type was enabled).
    fn list(&self) -> &[Frame] {
        self.kept.as_deref().map_or(&[], |k| &k.list)
    }

    /// A frame of type `ty` starts at stream offset `offset`, `len` bytes long when known;
    /// its id, or `None` when the type is not wanted or the flow holds too many.
    pub fn add(&mut self, to_server: bool, offset: u64, len: Option<u64>, ty: u8) -> Option<u64> {
        if !self.wants(ty) {
            return None;
        }
        let di = usize::from(!to_server);
        let (off, pending) = (self.off[di], self.pending[di]);
        // `wants` held: a type is enabled, so the box was made.
        let k = self.kept.as_deref_mut()?;
        if k.list.len() >= MAX_FRAMES {
            self.dropped += 1;
            return None;
        }
        k.next_id += 1;
        let mut f = Frame { id: k.next_id, ty, to_server, offset, len, ..Frame::default() };
        // what of it the parser was given already (this call's data and what came before)
        let tail = &k.tails[di];
        let tail_start = (off + pending).saturating_sub(tail.len() as u64);
        if offset < tail_start {
            f.missing(tail_start - offset);
        }
        f.take(tail_start, tail);
        if f.complete() {
            f.ready = true;
        }
        k.list.push(f);
        Some(k.next_id)
    }

    /// The frame with this id, to change.
    fn get_mut(&mut self, id: u64) -> Option<&mut Frame> {
        self.kept.as_deref_mut()?.list.iter_mut().find(|f| f.id == id)
    }

    /// The length of frame `id` is known now.
    pub fn set_len(&mut self, id: u64, len: u64) {
        if let Some(f) = self.get_mut(id) {
            f.len = Some(len);
            // bytes taken beyond the length are not the frame's
            if f.filled > len {
                let over = (f.filled - len) as usize;
                let keep = f.data.len().saturating_sub(over);
                f.data.truncate(keep);
                f.filled = len;
            }
            if f.complete() {
                f.ready = true;
            }
        }
    }

    /// Frame `id` belongs to transaction `tx`.
    pub fn set_tx(&mut self, id: u64, tx: u64) {
        if let Some(f) = self.get_mut(id) {
            f.tx = Some(tx);
        }
    }

    /// The parser is given `data` of a direction (call before the parser).
    pub fn begin(&mut self, to_server: bool, data: &[u8]) {
        let di = usize::from(!to_server);
        self.pending[di] = data.len() as u64;
        if let (true, Some(k)) = (self.enabled != 0, self.kept.as_deref_mut()) {
            k.tails[di].extend_from_slice(data);
        }
    }

    /// The parser took the data of [`Frames::begin`]: open frames of the direction get their
    /// bytes of it, the tail is cut to [`TAIL`].
    pub fn end(&mut self, to_server: bool) {
        let di = usize::from(!to_server);
        let start = self.off[di];
        let n = self.pending[di] as usize;
        self.off[di] += self.pending[di];
        self.pending[di] = 0;
        let (true, Some(k)) = (self.enabled != 0, self.kept.as_deref_mut()) else {
            return;
        };
        let tail = &mut k.tails[di];
        let data = tail.get(tail.len().saturating_sub(n)..).unwrap_or(&[]);
        for f in k.list.iter_mut().filter(|f| f.to_server == to_server && !f.ready) {
            f.take(start, data);
            if f.complete() || f.cut {
                f.ready = true;
            }
        }
        if tail.len() > TAIL {
            let cut = tail.len() - TAIL;
            tail.drain(..cut);
        }
    }

    /// The last `n` bytes given to the parser of a direction are given again (to the parser of
    /// the protocol the flow changes to): the offset steps back over them.
    pub fn rewind(&mut self, to_server: bool, n: usize) {
        let di = usize::from(!to_server);
        self.off[di] = self.off[di].saturating_sub(n as u64);
        if let Some(k) = self.kept.as_deref_mut() {
            let keep = k.tails[di].len().saturating_sub(n);
            k.tails[di].truncate(keep);
        }
    }

    /// The flow changed protocol: the frames held are dropped (their types were the old
    /// protocol's) and the new protocol's types in `mask` are kept from here.
    pub fn restart(&mut self, mask: u64) {
        if let Some(k) = self.kept.as_deref_mut() {
            k.list.clear();
        }
        self.enable(mask);
    }

    /// `len` bytes of a direction are missing.
    pub fn gap(&mut self, to_server: bool, len: u64) {
        let di = usize::from(!to_server);
        let start = self.off[di];
        self.off[di] += len;
        let Some(k) = self.kept.as_deref_mut() else {
            return;
        };
        k.tails[di].clear();
        for f in k.list.iter_mut().filter(|f| f.to_server == to_server && !f.ready) {
            let at = f.offset + f.filled;
            let end = start + len;
            if at >= start && at < end {
                f.missing(end - at);
                if f.complete() {
                    f.ready = true;
                }
            }
        }
    }

    /// A direction ended (or a datagram was parsed): its open frames are ready as they are.
    pub fn finish(&mut self, to_server: bool) {
        if let Some(k) = self.kept.as_deref_mut() {
            for f in k.list.iter_mut().filter(|f| f.to_server == to_server) {
                f.ready = true;
            }
        }
    }

    /// Frames ready for inspection, not taken yet.
    pub fn ready(&self) -> impl Iterator<Item = &Frame> {
        self.list().iter().filter(|f| f.ready)
    }

    /// Whether any frame is ready.
    pub fn any_ready(&self) -> bool {
        self.list().iter().any(|f| f.ready)
    }

    /// The frame with this id.
    pub fn get(&self, id: u64) -> Option<&Frame> {
        self.list().iter().find(|f| f.id == id)
    }

    /// Detection took the ready frames of a direction: they go.
    pub fn taken(&mut self, to_server: bool) {
        if let Some(k) = self.kept.as_deref_mut() {
            k.list.retain(|f| !(f.ready && f.to_server == to_server));
        }
    }
}

/// Bytes as Suricata's printable form writes them: printable ASCII kept, `\r` and `\n` as
/// they are, anything else `.`.
fn printable(b: &[u8]) -> String {
    b.iter()
        .map(|&c| if c == b'\r' || c == b'\n' || (c.is_ascii() && !c.is_ascii_control()) { c as char } else { '.' })
        .collect()
}

/// The frame type of protocol rows `rows` that a rule's `frame:` value names, given whether
/// a word names the protocol: `pdu` (short), `sip.pdu` (the protocol's name first), or a
/// name with a dot of its own (`smb2.pdu`, `ssh.record.pdu`).
pub fn frame_type(rows: &[&str], is_proto: &dyn Fn(&str) -> bool, name: &str) -> Option<u8> {
    let name = name.to_ascii_lowercase();
    let find = |n: &str| rows.iter().position(|r| *r == n).and_then(|i| u8::try_from(i).ok());
    if let Some((p, rest)) = name.split_once('.') {
        if is_proto(p) {
            if let Some(t) = find(rest) {
                return Some(t);
            }
        }
    }
    find(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> Frames {
        let mut f = Frames::default();
        f.enable(0b111);
        f
    }

    fn call(fr: &mut Frames, to_server: bool, data: &[u8], adds: &[(u64, Option<u64>, u8)]) -> Vec<u64> {
        fr.begin(to_server, data);
        let ids = adds.iter().filter_map(|&(o, l, t)| fr.add(to_server, o, l, t)).collect();
        fr.end(to_server);
        ids
    }

    #[test]
    fn a_frame_gets_its_bytes_across_calls_and_is_ready_at_its_length() {
        let mut fr = frames();
        let ids = call(&mut fr, true, b"xxHEAD", &[(2, Some(6), 0)]);
        assert_eq!(ids, vec![1]);
        assert!(!fr.any_ready());
        call(&mut fr, true, b"ERyy", &[]);
        let f: Vec<&Frame> = fr.ready().collect();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].inspect_bytes(), b"HEADER");
        assert!(f[0].complete());
        fr.taken(true);
        assert_eq!(fr.ready().count(), 0);
    }

    #[test]
    fn a_frame_that_starts_in_held_back_data_comes_from_the_tail() {
        let mut fr = frames();
        call(&mut fr, false, b"abc", &[]);
        // the parser held "abc" back and sees the whole record now
        call(&mut fr, false, b"def", &[(0, Some(6), 1)]);
        let f: Vec<&Frame> = fr.ready().collect();
        assert_eq!((f[0].inspect_bytes(), f[0].to_server), (&b"abcdef"[..], false));
    }

    #[test]
    fn gaps_are_missing_bytes_not_joined_for_inspection() {
        let mut fr = frames();
        call(&mut fr, true, b"wnwk", &[(0, Some(10), 2)]);
        fr.gap(true, 3);
        call(&mut fr, true, b"xyz", &[]);
        let f = fr.ready().next().cloned().unwrap_or_default();
        assert!(f.complete() && f.has_gaps());
        assert_eq!(f.inspect_bytes(), b"wnwk");
        assert_eq!(f.log_payload(), b"wnwk[3 bytes missing]xyz".to_vec());
    }

    #[test]
    fn unknown_length_frames_wait_for_set_len_or_the_end() {
        let mut fr = frames();
        let ids = call(&mut fr, true, b"GET / HTTP/1.1\r\n", &[(0, None, 0)]);
        assert!(!fr.any_ready());
        fr.set_len(ids[0], 5);
        let f = fr.ready().next().cloned().unwrap_or_default();
        assert_eq!(f.inspect_bytes(), b"GET /");
        let ids = call(&mut fr, true, b"more", &[(16, None, 1)]);
        assert_eq!(ids, vec![2]);
        fr.finish(true);
        assert_eq!(fr.ready().count(), 2);
    }

    #[test]
    fn types_not_wanted_are_not_kept_and_the_count_is_capped() {
        let mut fr = Frames::default();
        fr.enable(0b10);
        fr.begin(true, b"x");
        assert_eq!(fr.add(true, 0, Some(1), 0), None);
        for _ in 0..MAX_FRAMES + 3 {
            fr.add(true, 0, None, 1);
        }
        fr.end(true);
        assert_eq!(fr.dropped, 3);
    }

    #[test]
    fn a_flow_without_frame_types_keeps_only_its_offsets() {
        let mut fr = Frames::default();
        call(&mut fr, true, b"abcd", &[(0, Some(4), 0)]);
        fr.gap(true, 2);
        call(&mut fr, false, b"xy", &[]);
        fr.rewind(true, 1);
        assert!(fr.kept.is_none(), "no box before a type is enabled");
        assert_eq!((fr.offset(true), fr.offset(false)), (5, 2));
        // enabled later (the protocol became known): offsets go on from where they were, and
        // nothing given before the enable is kept
        fr.enable(0b1);
        let ids = call(&mut fr, true, b"efgh", &[(5, Some(4), 0), (3, Some(6), 0)]);
        assert_eq!(ids, vec![1, 2]);
        let f: Vec<&Frame> = fr.ready().collect();
        assert_eq!((f.len(), f[0].inspect_bytes(), f[0].offset), (2, &b"efgh"[..], 5));
        // the second starts before what was kept: its first two bytes are missing
        let second = fr.get(2).map(|f| (f.complete(), f.log_payload()));
        assert_eq!(second, Some((true, b"[2 bytes missing]efgh".to_vec())));
        assert_eq!(std::mem::size_of::<Frames>(), 56, "what every flow slot pays for frames");
    }

    #[test]
    fn frame_names_long_and_short() {
        let rows = ["pdu", "record.pdu", "smb2.hdr"];
        let ssh = |p: &str| p == "ssh";
        let smb = |p: &str| p == "smb";
        assert_eq!(frame_type(&rows, &ssh, "pdu"), Some(0));
        assert_eq!(frame_type(&rows, &ssh, "ssh.record.pdu"), Some(1));
        assert_eq!(frame_type(&rows, &ssh, "record.pdu"), Some(1));
        assert_eq!(frame_type(&rows, &smb, "SMB2.hdr"), Some(2));
        assert_eq!(frame_type(&rows, &ssh, "ssh.nope"), None);
    }

    #[test]
    fn printable_keeps_line_ends() {
        assert_eq!(printable(b"a\r\n\x00\xff\"b"), "a\r\n..\"b");
    }
}
