//! Stream: TCP session tracking and per-direction reassembly, with Suricata's semantics.
//!
//! Takes: the TCP packets of one flow, in capture order, with their direction. Promises:
//! - a session only where Suricata has one: opened by a SYN (or picked up midstream when
//!   `stream.midstream` is on, or one-sided with `stream.async_oneside`); its state follows
//!   Suricata's machine (`TcpState`, same order, so "closing" means what it means there);
//! - each direction's bytes placed at stream offsets, overlaps resolved by the target-based
//!   [`Policy`], holes kept as holes, `reassembly_depth` honoured, memory charged to a
//!   per-worker memcap ([`reassembly::Memory`]) with counted drops;
//! - in-order, acknowledged data handed to the app layer ([`AppSink`]) as the peer ACKs it,
//!   acknowledged holes reported as gaps (`tcp.reassembly_gap`) exactly where Suricata
//!   counts them;
//! - a session picked up midstream (not from a SYN/ACK) turned around when the app layer
//!   finds that its first data was the server's ([`Verdict::Reverse`], Suricata's `FlowSwap`
//!   after protocol detection): its directions swap before any of it was parsed;
//! - raw stream chunks for detection on the schedule Suricata uses in IDS mode
//!   ([`TcpSession::raw_ready`]): when enough acknowledged data is waiting (the chunk size),
//!   when the app layer asks (`AppSink::take_raw_trigger`: a DCE/RPC PDU, an SSH banner),
//!   when the session is closing, when depth is reached, and everything at flow end.
//!
//! Never: panics on sequence numbers (all arithmetic wraps or saturates), grows without a
//! bound (segments per direction and bytes per worker are capped and the overflow counted),
//! or allocates per packet once warm (segment bytes live in merged per-flow chunks).

mod config;
mod handshake;
mod raw;
pub(crate) mod reassembly;

use crate::decode::{event, Event, Events};
use crate::metrics::{Counters, C};
use handshake::SynQueue;
use reassembly::{Buffer, Insert, Memory};

pub use config::StreamSection;
pub use handshake::SynOptions;
pub use raw::{raw_blocks, MAX_RAW_BLOCKS};

/// Target-based overlap policy (Suricata's `host-os-policy` names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    /// BSD (Suricata's default).
    #[default]
    Bsd,
    /// First data wins.
    First,
    /// Last data wins.
    Last,
    /// Linux.
    Linux,
    /// Old Linux.
    OldLinux,
    /// Windows (also windows2k3, hpux10, irix).
    Windows,
    /// Solaris (also hpux11).
    Solaris,
    /// macOS.
    MacOs,
    /// Windows Vista (keeps the first data).
    Vista,
}

impl Policy {
    /// Parses a Suricata policy name.
    pub fn from_name(s: &str) -> Option<Policy> {
        Some(match s {
            "bsd" | "bsd-right" | "hpux10" | "irix" => Policy::Bsd,
            "first" => Policy::First,
            "last" => Policy::Last,
            "linux" => Policy::Linux,
            "old-linux" => Policy::OldLinux,
            "windows" | "windows2k3" => Policy::Windows,
            "solaris" | "old-solaris" | "hpux11" => Policy::Solaris,
            "macos" => Policy::MacOs,
            "vista" => Policy::Vista,
            _ => return None,
        })
    }
}

/// Stream settings for one worker.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// Pick up sessions without a handshake.
    pub midstream: bool,
    /// Track sessions where only one side is seen.
    pub async_oneside: bool,
    /// Bytes reassembled per direction (0 = no limit).
    pub depth: u64,
    /// Bytes of segment data this worker may hold.
    pub memcap: usize,
    /// Sessions this worker may hold.
    pub max_sessions: usize,
    /// Segments kept per direction.
    pub max_segments: usize,
    /// Acknowledged bytes that make raw stream inspection due, to server / to client.
    pub chunk: [u64; 2],
    /// Overlap policy.
    pub policy: Policy,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            midstream: false,
            async_oneside: false,
            depth: 1 << 20,
            memcap: 256 << 20,
            max_sessions: 1 << 20,
            max_segments: 16384,
            chunk: [2560, 2560],
            policy: Policy::Bsd,
        }
    }
}

/// TCP session state, in Suricata's order (comparisons mean what they mean there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum TcpState {
    /// No session.
    #[default]
    None,
    /// SYN seen.
    SynSent,
    /// SYN/ACK seen.
    SynRecv,
    /// Handshake complete.
    Established,
    /// The server sent a FIN first.
    FinWait1,
    /// ... and the client acknowledged it.
    FinWait2,
    /// Both FINs seen, the server's first.
    TimeWait,
    /// Both FINs seen, the client's first.
    LastAck,
    /// The client sent a FIN first.
    CloseWait,
    /// Simultaneous close.
    Closing,
    /// Closed (final ACK or RST).
    Closed,
}

impl TcpState {
    /// Suricata's name (as in EVE `tcp.state`).
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::None => "none",
            TcpState::SynSent => "syn_sent",
            TcpState::SynRecv => "syn_recv",
            TcpState::Established => "established",
            TcpState::FinWait1 => "fin_wait1",
            TcpState::FinWait2 => "fin_wait2",
            TcpState::TimeWait => "time_wait",
            TcpState::LastAck => "last_ack",
            TcpState::CloseWait => "close_wait",
            TcpState::Closing => "closing",
            TcpState::Closed => "closed",
        }
    }
}

#[inline]
fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
#[inline]
fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
#[inline]
fn seq_leq(a: u32, b: u32) -> bool {
    !seq_gt(a, b)
}

const D_DEPTH: u8 = 1;
const D_RAW_OFF: u8 = 2;
const D_TRIGGER_RAW: u8 = 4;
const D_DATA: u8 = 8;
const D_FIN: u8 = 16;
const D_EOF: u8 = 32;
/// The peer sent a RST towards this endpoint (Suricata's STREAMTCP_STREAM_FLAG_RST_RECV).
const D_RST_RECV: u8 = 64;

/// One direction of a session: the data one endpoint sends.
#[derive(Debug, Clone, Default)]
pub struct Dir {
    /// Initial sequence number.
    pub isn: u32,
    anchor_seq: u32,
    anchor_off: u64,
    /// Next expected sequence number (right edge of the in-order data seen).
    pub next_seq: u32,
    /// Highest acknowledgement the peer sent for this direction.
    pub last_ack: u32,
    /// Advertised window of this endpoint (unscaled).
    pub window: u32,
    /// Sequence number of this endpoint's FIN (when `D_FIN`).
    pub fin_seq: u32,
    flags: u8,
    /// Offset up to which the app layer has been given data.
    pub app_progress: u64,
    /// Offset up to which raw stream detection has run.
    pub raw_progress: u64,
    /// The bytes.
    pub buf: Buffer,
}

impl Dir {
    fn start(&mut self, isn: u32, first_data_seq: u32) {
        self.isn = isn;
        self.anchor_seq = first_data_seq;
        self.anchor_off = 0;
        self.next_seq = first_data_seq;
        self.last_ack = first_data_seq;
    }

    /// Stream offset of a sequence number (negative before the anchor: clamp to 0).
    #[inline]
    fn off(&self, seq: u32) -> Option<u64> {
        let d = seq.wrapping_sub(self.anchor_seq) as i32 as i64;
        let o = self.anchor_off as i64 + d;
        if o < 0 {
            None
        } else {
            Some(o as u64)
        }
    }

    /// Offset of the acknowledged edge (Suricata's GetAbsLastAck).
    pub fn acked(&self) -> u64 {
        self.off(self.last_ack).unwrap_or(0).max(self.buf.base)
    }

    fn prune(&mut self, app_alive: bool, mem: &mut Memory) {
        let mut to = if self.flags & D_RAW_OFF != 0 { u64::MAX } else { self.raw_progress };
        if app_alive {
            to = to.min(self.app_progress);
        }
        if to == u64::MAX {
            to = self.buf.right_edge();
        }
        if to > self.buf.base {
            self.buf.prune(to, mem);
            // move the anchor so offsets stay exact beyond 4 GiB
            if to > self.anchor_off {
                let d = to - self.anchor_off;
                if d < (1 << 31) {
                    self.anchor_seq = self.anchor_seq.wrapping_add(d as u32);
                    self.anchor_off = to;
                }
            }
        }
    }
}

const S_MIDSTREAM: u8 = 1;
const S_RST: u8 = 2;
const S_APP_OFF: u8 = 4;
const S_ASYNC: u8 = 8;
/// Picked up from a SYN/ACK (with `S_MIDSTREAM`): its direction is known, never turned around.
const S_MIDSTREAM_SYNACK: u8 = 16;

/// A TCP session: its state and both directions (0: client to server, 1: server to client).
#[derive(Debug, Clone, Default)]
pub struct TcpSession {
    /// State.
    pub state: TcpState,
    /// Directions, indexed by a direction `d`: 0 to server, 1 to client. Every caller derives
    /// it from a bool (`to_server`) or a `0..2` loop, so it is always 0 or 1.
    pub dirs: [Dir; 2],
    flags: u8,
    /// The state before a RST closed the session (restored when the RST looks injected).
    pstate: TcpState,
    /// The client's SYN as the session holds it (while the handshake is open).
    syn: SynOptions,
    /// SYNs a retransmitted SYN replaced (only sessions that saw one have it).
    syn_queue: Option<Box<SynQueue>>,
    /// Reassembly depth of this session when its protocol set one (0: no limit).
    depth: Option<u64>,
}

/// What the app layer did with data it was offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Taken: the app layer's progress moves past it.
    Consumed,
    /// Not yet (protocol detection wants more): offer it again, with what follows, later.
    Wait,
    /// The app layer is done with this flow (no protocol, or nothing more to parse): the
    /// stream stops keeping data for it and stops counting gaps.
    Stop,
    /// The protocol was just named from this direction while the other direction's data came
    /// first: give the other direction its acknowledged data first, then offer this again
    /// (Suricata's `TCPProtoDetect`: data first seen in the opposing direction is parsed first).
    OtherFirst,
    /// The protocol was just named from this data with the other direction's patterns: it was
    /// the server's (Suricata's `reverse_flow`). A session picked up midstream from a packet
    /// other than a SYN/ACK is turned around (its directions swap) and the data offered again
    /// as the other direction's; any other session offers it again as it was, and the app
    /// layer keeps the direction.
    Reverse,
}

/// Receives a session's in-order, acknowledged data (the app layer).
pub trait AppSink {
    /// Data of one direction, in order, starting at stream offset `offset`.
    fn data(&mut self, to_server: bool, offset: u64, data: &[u8]) -> Verdict;
    /// `len` bytes are missing in one direction (`Stop`: the parser cannot go on).
    fn gap(&mut self, to_server: bool, len: u64) -> Verdict;
    /// One direction ended.
    fn eof(&mut self, to_server: bool);
    /// Directions (index 0: to server) whose raw stream the app layer wants inspected now
    /// (see [`TcpSession::trigger_raw`]); taken once. The default: none.
    fn take_raw_trigger(&mut self) -> [bool; 2] {
        [false; 2]
    }
    /// The session was picked up midstream from a packet other than a SYN/ACK (Suricata's
    /// `STREAMTCP_FLAG_MIDSTREAM` without `_SYNACK`): its client is a guess. Said before each
    /// direction's first data is offered. The default: nothing.
    fn picked_up_midstream(&mut self) {}
}

/// An app layer that takes nothing (flows without app-layer parsing).
pub struct NoApp;

impl AppSink for NoApp {
    fn data(&mut self, _: bool, _: u64, _: &[u8]) -> Verdict {
        Verdict::Consumed
    }
    fn gap(&mut self, _: bool, _: u64) -> Verdict {
        Verdict::Consumed
    }
    fn eof(&mut self, _: bool) {}
}

/// What the stream engine made of one packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The packet belongs to a session.
    pub session: bool,
    /// The packet's payload was added to the stream (Suricata's PKT_STREAM_ADD).
    pub stream_add: bool,
    /// The session reached the established state at some point.
    pub established: bool,
    /// Raw stream data of the packet's direction is due for inspection.
    pub raw_ready: bool,
    /// The stream events raised on the packet (Suricata's `stream.*` events).
    pub events: Events,
}

/// The TCP header fields the stream needs.
#[derive(Debug, Clone, Copy)]
pub struct Seg<'a> {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags.
    pub flags: u8,
    /// Window.
    pub win: u16,
    /// Payload.
    pub payload: &'a [u8],
    /// A SYN's options (what retransmitted SYNs are compared on); default otherwise.
    pub syn: SynOptions,
    /// A RST carries a TCP MD5 signature or TCP-AO option (false for other segments).
    pub auth: bool,
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Which stream(s) the app layer is updated for after a packet (Suricata's StreamUpdateDir).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Update {
    Opposing,
    Packet,
    Both,
}

/// The per-worker stream engine: settings, memory accounting, scratch.
#[derive(Debug)]
pub struct StreamEngine {
    /// Settings.
    pub cfg: StreamConfig,
    /// Segment memory.
    pub mem: Memory,
    /// Live sessions.
    pub sessions: usize,
    /// Raw stream inspection is wanted (the rules inspect streams).
    pub raw: bool,
    scratch: Vec<u8>,
    #[allow(clippy::vec_box, reason = "a flow holds its session boxed; spare boxes are reused as they are")]
    spare: Vec<Box<TcpSession>>,
    /// Events raised on the packet being processed.
    ev: Events,
}

impl StreamEngine {
    /// An engine with `cfg`.
    pub fn new(cfg: StreamConfig, raw: bool) -> Self {
        let mem = Memory { used: 0, cap: cfg.memcap, peak: 0 };
        let scratch = Vec::with_capacity(65536);
        StreamEngine { cfg, mem, sessions: 0, raw, scratch, spare: Vec::new(), ev: Events::EMPTY }
    }

    /// Counts a stream event and lists it on the packet being processed.
    fn raise(&mut self, c: &mut Counters, e: Event) {
        event::count(c, e);
        self.ev.push(e);
    }

    fn new_session(&mut self, c: &mut Counters) -> Option<Box<TcpSession>> {
        if self.sessions >= self.cfg.max_sessions {
            c.inc(C::TcpSsnMemcapDrop);
            return None;
        }
        self.sessions += 1;
        c.inc(C::TcpSessions);
        let mut s = self.spare.pop().unwrap_or_default();
        *s = TcpSession::default();
        if !self.raw {
            s.dirs[0].flags |= D_RAW_OFF;
            s.dirs[1].flags |= D_RAW_OFF;
        }
        Some(s)
    }

    /// Frees a session (flow end), keeping its allocation for reuse.
    pub fn release(&mut self, slot: &mut Option<Box<TcpSession>>) {
        if let Some(mut s) = slot.take() {
            for d in s.dirs.iter_mut() {
                d.buf.clear(&mut self.mem);
            }
            self.sessions = self.sessions.saturating_sub(1);
            if self.spare.len() < 1024 {
                self.spare.push(s);
            }
        }
    }

    /// Processes one TCP packet of a flow. `slot` holds the flow's session (created here when
    /// the packet opens one). The outcome lists the stream events raised on the packet.
    pub fn packet(
        &mut self,
        slot: &mut Option<Box<TcpSession>>,
        to_server: bool,
        p: &Seg<'_>,
        app: &mut dyn AppSink,
        c: &mut Counters,
    ) -> Outcome {
        self.ev = Events::EMPTY;
        let mut out = self.packet_state(slot, to_server, p, app, c);
        out.events = self.ev;
        out
    }

    fn packet_state(
        &mut self,
        slot: &mut Option<Box<TcpSession>>,
        to_server: bool,
        p: &Seg<'_>,
        app: &mut dyn AppSink,
        c: &mut Counters,
    ) -> Outcome {
        let d = if to_server { 0 } else { 1 };
        let fl = p.flags;
        if slot.is_none() {
            return self.opening_packet(slot, d, p, app, c);
        }
        let Some(ssn) = slot.as_deref_mut() else { return Outcome::default() };
        let (a, b) = (d, 1 - d);
        let (accept, upd) = if fl & RST != 0 {
            if ssn.state >= TcpState::SynSent && self.rst_valid(ssn, d, p) {
                if fl & ACK != 0 {
                    self.ack(ssn, b, p.ack);
                }
                // Suricata marks the RST's receiver only when it answers the SYN (SYN_SENT: the
                // server's RST, or the client's cancelling its own SYN): only such a session
                // may resume when the RST's sender goes on (StreamTcpPacketCheckPostRst)
                // In bounds: direction 0 is the client.
                let isn = ssn.dirs[0].isn;
                let answers_syn = ssn.state == TcpState::SynSent
                    && (d == 1 || (p.seq == isn && p.win == 0 && p.ack == isn.wrapping_add(1)));
                if ssn.state != TcpState::Closed {
                    ssn.pstate = ssn.state;
                }
                ssn.state = TcpState::Closed;
                ssn.flags |= S_RST;
                // a signed RST (MD5, TCP-AO) may be refused by its receiver, which the sensor
                // cannot check: if its sender goes on, the RST looks injected (Suricata)
                if answers_syn || p.auth {
                    // In bounds: b is a direction (see `dirs`).
                    ssn.dirs[b].flags |= D_RST_RECV;
                }
                (true, Update::Packet)
            } else {
                c.inc(C::StreamRstInvalid);
                (false, Update::Opposing)
            }
        } else if ssn.state == TcpState::Closed && ssn.flags & S_RST != 0 && !rst_injected(ssn, a, b) {
            // a session reset is over: later packets of the tuple add nothing to it
            (false, Update::Opposing)
        } else {
            if ssn.state == TcpState::Closed && ssn.flags & S_RST != 0 {
                // a regular packet from the RST's sender: the RST looks injected, and the
                // session goes on in the state it had (Suricata's StreamTcpPacketCheckPostRst)
                ssn.state = ssn.pstate;
                ssn.flags &= !S_RST;
                // In bounds: b is a direction (see `dirs`).
                ssn.dirs[b].flags &= !D_RST_RECV;
                self.raise(c, Event::StreamSuspectedRstInject);
            }
            match ssn.state {
                TcpState::None => (false, Update::Opposing),
                TcpState::SynSent => (self.syn_sent(ssn, d, p, c), Update::Opposing),
                TcpState::SynRecv => (self.syn_recv(ssn, d, p), Update::Opposing),
                _ => Self::after_handshake(ssn, d, p, c),
            }
        };
        let mut out = Outcome { session: true, established: ssn.state >= TcpState::Established, ..Outcome::default() };
        if !accept || ssn.state < TcpState::SynRecv {
            return out;
        }
        if fl & ACK != 0 && fl & RST == 0 {
            self.ack(ssn, b, p.ack);
        }
        if p.win > 0 || fl & ACK != 0 {
            // In bounds: a is a direction (see `dirs`).
            ssn.dirs[a].window = p.win as u32;
        }
        // a RST's payload is the packet's alone, not the stream's or the app layer's (Suricata)
        let rst_data = fl & RST != 0 && !p.payload.is_empty();
        c.add(C::StreamRstData, u64::from(rst_data));
        let p = &Seg { payload: if rst_data { &[] } else { p.payload }, ..*p };
        let (added, a) = self.handle_segment(ssn, a, p, upd, app, c);
        out.stream_add = added;
        out.raw_ready = self.raw_ready(ssn, a, false);
        out
    }

    /// The packet that opens a session (a SYN, or any packet picked up midstream); it may
    /// carry data (TFO SYN, midstream pickup).
    fn opening_packet(
        &mut self,
        slot: &mut Option<Box<TcpSession>>,
        d: usize,
        p: &Seg<'_>,
        app: &mut dyn AppSink,
        c: &mut Counters,
    ) -> Outcome {
        let Some(s) = self.open(p, d, c) else { return Outcome::default() };
        *slot = Some(s);
        let Some(ssn) = slot.as_deref_mut() else { return Outcome::default() };
        let mut out = Outcome { session: true, established: ssn.state >= TcpState::Established, ..Outcome::default() };
        let mut d = d;
        if !p.payload.is_empty() && ssn.state >= TcpState::Established {
            (out.stream_add, d) = self.handle_segment(ssn, d, p, Update::Opposing, app, c);
        } else if !p.payload.is_empty() && p.flags & SYN != 0 {
            // TCP Fast Open: data on the SYN starts at isn + 1
            let seq = p.seq.wrapping_add(1);
            out.stream_add = self.add_data(ssn, d, seq, p.payload, c);
        }
        out.raw_ready = self.raw_ready(ssn, d, false);
        out
    }

    /// A packet of an established or closing session: FIN and ACK move the close states;
    /// whether it is accepted and which side's data the update releases.
    fn after_handshake(ssn: &mut TcpSession, d: usize, p: &Seg<'_>, c: &mut Counters) -> (bool, Update) {
        let fl = p.flags;
        let (a, b) = (d, 1 - d);
        let mut upd = Update::Opposing;
        if fl & SYN != 0 {
            // SYN in an established session (the flow table already handled reuse)
            c.inc(C::StreamSynInSession);
            return (false, upd);
        }
        if fl & FIN != 0 {
            let next = match (ssn.state, d) {
                (TcpState::Established, 0) => TcpState::CloseWait,
                (TcpState::Established, _) => TcpState::FinWait1,
                (TcpState::CloseWait, 1) => TcpState::LastAck,
                (TcpState::FinWait1, 0) => {
                    if fl & ACK != 0 && seq_gt(p.ack, ssn.dirs[1].fin_seq) {
                        TcpState::TimeWait
                    } else {
                        TcpState::Closing
                    }
                }
                (TcpState::FinWait2, 0) => TcpState::TimeWait,
                (s, _) => s,
            };
            // In bounds: a is a direction (see `dirs`).
            ssn.dirs[a].flags |= D_FIN;
            ssn.dirs[a].fin_seq = p.seq.wrapping_add(p.payload.len() as u32);
            ssn.state = next;
            if ssn.state > TcpState::TimeWait {
                upd = if fl & ACK != 0 { Update::Both } else { Update::Packet };
            }
        } else if fl & ACK != 0 {
            // In bounds: b is a direction (see `dirs`).
            let peer_fin = ssn.dirs[b].flags & D_FIN != 0;
            let acks_fin = peer_fin && seq_gt(p.ack, ssn.dirs[b].fin_seq);
            ssn.state = match (ssn.state, d) {
                (TcpState::FinWait1, 0) if acks_fin => TcpState::FinWait2,
                (TcpState::Closing, _) => TcpState::TimeWait,
                (TcpState::LastAck, 0) if acks_fin => TcpState::Closed,
                (TcpState::TimeWait, 1) if acks_fin => TcpState::Closed,
                (s, _) => s,
            };
            if ssn.state == TcpState::Closed {
                upd = Update::Both;
            }
        }
        (true, upd)
    }

    fn open(&mut self, p: &Seg<'_>, d: usize, c: &mut Counters) -> Option<Box<TcpSession>> {
        let fl = p.flags;
        if fl & RST != 0 {
            self.raise(c, Event::StreamRstButNoSession);
            return None;
        }
        if fl & (SYN | ACK) == SYN {
            let mut s = self.new_session(c)?;
            s.syn = p.syn;
            // the flow is oriented from the SYN's sender (d is 0 but for odd reuse cases)
            // In bounds: d is a direction (see `dirs`).
            s.dirs[d].start(p.seq, p.seq.wrapping_add(1));
            s.dirs[d].window = p.win as u32;
            s.state = TcpState::SynSent;
            return Some(s);
        }
        if fl & FIN != 0 && (!self.cfg.midstream || p.payload.is_empty()) {
            self.raise(c, Event::StreamFinButNoSession);
            return None;
        }
        if fl & (SYN | ACK) == SYN | ACK {
            if !self.cfg.midstream && !self.cfg.async_oneside {
                return None;
            }
            let mut s = self.new_session(c)?;
            c.inc(C::TcpMidstreamPickups);
            s.flags |= S_MIDSTREAM | S_MIDSTREAM_SYNACK;
            // the flow table orients a SYN/ACK-first flow towards its receiver (the client)
            s.dirs[1].start(p.seq, p.seq.wrapping_add(1));
            s.dirs[0].start(p.ack.wrapping_sub(1), p.ack);
            s.state = TcpState::SynRecv;
            return Some(s);
        }
        if fl & ACK != 0 && self.cfg.midstream {
            let mut s = self.new_session(c)?;
            c.inc(C::TcpMidstreamPickups);
            s.flags |= S_MIDSTREAM;
            // In bounds: d is a direction (see `dirs`), so is 1 - d.
            s.dirs[d].start(p.seq.wrapping_sub(1), p.seq);
            s.dirs[1 - d].start(p.ack.wrapping_sub(1), p.ack);
            s.dirs[d].window = p.win as u32;
            s.state = TcpState::Established;
            return Some(s);
        }
        None
    }

    fn rst_valid(&self, ssn: &TcpSession, d: usize, p: &Seg<'_>) -> bool {
        // accept a RST whose sequence number is within the receiver's window of the sender's
        // next sequence number (or exactly at it), as the receiving host would
        // In bounds: d is a direction (see `dirs`), so is 1 - d.
        let dir = &ssn.dirs[d];
        let peer = &ssn.dirs[1 - d];
        let win = (peer.window.max(1) << 14).max(65535);
        ssn.state == TcpState::SynSent
            || p.seq == dir.next_seq
            || (seq_leq(dir.next_seq.wrapping_sub(1), p.seq) && seq_lt(p.seq, dir.next_seq.wrapping_add(win)))
            || seq_leq(dir.last_ack, p.seq) && seq_lt(p.seq, dir.last_ack.wrapping_add(win))
    }

    fn ack(&mut self, ssn: &mut TcpSession, d: usize, ack: u32) {
        // In bounds: d is a direction (see `dirs`).
        let dir = &mut ssn.dirs[d];
        if seq_gt(ack, dir.last_ack) {
            dir.last_ack = ack;
        }
    }

    /// Inserts the packet's data into its direction and runs app-layer reassembly where the
    /// packet moves it (Suricata's StreamTcpReassembleHandleSegment). Returns whether the
    /// data was added, and the packet's direction after it (the other one when the app layer
    /// turned the session around).
    fn handle_segment(
        &mut self,
        ssn: &mut TcpSession,
        a: usize,
        p: &Seg<'_>,
        upd: Update,
        app: &mut dyn AppSink,
        c: &mut Counters,
    ) -> (bool, usize) {
        let mut a = a;
        if matches!(upd, Update::Opposing | Update::Both) && self.app_update(ssn, 1 - a, false, app, c) {
            a = 1 - a;
        }
        let mut added = false;
        if !p.payload.is_empty() {
            added = self.add_data(ssn, a, p.seq, p.payload, c);
        }
        if matches!(upd, Update::Packet | Update::Both) && self.app_update(ssn, a, false, app, c) {
            a = 1 - a;
        }
        let app_alive = ssn.flags & S_APP_OFF == 0;
        for dir in ssn.dirs.iter_mut() {
            dir.prune(app_alive, &mut self.mem);
        }
        (added, a)
    }

    fn add_data(&mut self, ssn: &mut TcpSession, a: usize, seq: u32, payload: &[u8], c: &mut Counters) -> bool {
        // In bounds: a is a direction (see `dirs`).
        let dir = &mut ssn.dirs[a];
        if dir.flags & D_DEPTH != 0 {
            return false;
        }
        // next_seq follows the in-order edge
        let end_seq = seq.wrapping_add(payload.len() as u32);
        if seq_leq(seq, dir.next_seq) && seq_gt(end_seq, dir.next_seq) {
            dir.next_seq = end_seq;
        }
        let (off, payload) = match dir.off(seq) {
            Some(o) => (o, payload),
            None => {
                // starts before the stream's first byte: only the part after it counts
                let before = dir.anchor_seq.wrapping_sub(seq) as usize;
                match payload.get(before..) {
                    Some(rest) if !rest.is_empty() => (dir.anchor_off, rest),
                    _ => return false,
                }
            }
        };
        let end = off + payload.len() as u64;
        if off > end || end.saturating_sub(dir.buf.base) > (1 << 31) {
            c.inc(C::StreamSegmentOutOfWindow);
            return false;
        }
        let depth = ssn.depth.unwrap_or(self.cfg.depth);
        if depth > 0 && end > depth {
            dir.flags |= D_DEPTH;
            c.inc(C::TcpStreamDepthReached);
            self.raise(c, Event::StreamReassemblyDepthReached);
            return false;
        }
        dir.flags |= D_DATA;
        let r = dir.buf.insert(off, payload, self.cfg.policy, self.cfg.max_segments, &mut self.mem, &mut self.scratch);
        match r {
            Insert::Ok => true,
            Insert::Overlap => {
                c.inc(C::TcpOverlap);
                true
            }
            Insert::Duplicate => {
                c.inc(C::TcpOverlap);
                true
            }
            Insert::Old => false,
            Insert::Memcap => {
                c.inc(C::TcpSegmentMemcapDrop);
                self.raise(c, Event::StreamReassemblyInsertMemcap);
                false
            }
            Insert::TooManySegments => {
                c.inc(C::StreamSegmentLimitDrop);
                self.raise(c, Event::StreamReassemblyInsertLimit);
                false
            }
        }
    }

    /// Hands acknowledged in-order data of direction `d` to the app layer, reporting holes
    /// that the peer acknowledged as gaps (Suricata's ReassembleUpdateAppLayer + CheckGap).
    /// Returns whether the app layer turned the session around (its directions swapped: this
    /// data is direction `1 - d`'s now).
    fn app_update(
        &mut self,
        ssn: &mut TcpSession,
        d: usize,
        eof: bool,
        app: &mut dyn AppSink,
        c: &mut Counters,
    ) -> bool {
        if ssn.flags & S_APP_OFF != 0 {
            return false;
        }
        let mut d = d;
        let mut to_server = d == 0;
        let state = ssn.state;
        let rst = ssn.flags & S_RST != 0;
        let mut last_was_gap = false;
        let mut swapped = false;
        let mut reoffered = false;
        // picked up midstream from a packet other than a SYN/ACK: the app layer hears it before
        // a direction's first data (it allocates its state on data only)
        let midstream = ssn.flags & (S_MIDSTREAM | S_MIDSTREAM_SYNACK) == S_MIDSTREAM;
        loop {
            // In bounds: d is a direction (see `dirs`).
            let dir = &ssn.dirs[d];
            let prog = dir.app_progress;
            let acked = dir.acked();
            let all = eof && (state < TcpState::Closed || rst);
            // the first block at or after the progress point
            let blk = dir.buf.blocks_from(prog).next();
            let (data_at, len) = match blk {
                Some((o, bytes)) if o <= prog => (Some(bytes), bytes.len() as u64),
                Some((o, _)) => (None, o - prog),
                None => (None, 0),
            };
            if last_was_gap && len == 0 {
                break;
            }
            last_was_gap = false;
            let len = if all || len == 0 {
                len
            } else if prog <= acked && prog + len > acked {
                acked - prog
            } else if prog > acked {
                0
            } else {
                len
            };
            match data_at {
                None if len > 0 && check_gap(ssn, d, prog, state) => {
                    c.inc(C::TcpReassemblyGap);
                    let v = app.gap(to_server, len);
                    // In bounds: d is a direction (see `dirs`).
                    let dir = &mut ssn.dirs[d];
                    dir.app_progress = prog + len;
                    if v == Verdict::Stop {
                        ssn.flags |= S_APP_OFF;
                        break;
                    }
                    last_was_gap = true;
                    continue;
                }
                None => break,
                Some(bytes) => {
                    if len == 0 {
                        break;
                    }
                    let n = len as usize;
                    if midstream && prog == 0 {
                        app.picked_up_midstream();
                    }
                    match app.data(to_server, prog, bytes.get(..n).unwrap_or(bytes)) {
                        // In bounds: d is a direction (see `dirs`).
                        Verdict::Consumed => ssn.dirs[d].app_progress = prog + len,
                        Verdict::Wait => break,
                        Verdict::OtherFirst => {
                            // Only once: the protocol is known now, so the next offer of
                            // either direction goes to its parser.
                            if self.app_update(ssn, 1 - d, false, app, c) {
                                (d, to_server, swapped) = (1 - d, !to_server, !swapped);
                            }
                            if ssn.flags & S_APP_OFF != 0 {
                                break;
                            }
                            continue;
                        }
                        Verdict::Reverse if !reoffered => {
                            // Once: the app layer decides on the next offer.
                            reoffered = true;
                            if ssn.flags & (S_MIDSTREAM | S_MIDSTREAM_SYNACK) == S_MIDSTREAM {
                                ssn.dirs.swap(0, 1);
                                (d, to_server, swapped) = (1 - d, !to_server, !swapped);
                            }
                            continue;
                        }
                        Verdict::Reverse => break,
                        Verdict::Stop => {
                            ssn.flags |= S_APP_OFF;
                            break;
                        }
                    }
                }
            }
        }
        for (i, t) in app.take_raw_trigger().into_iter().enumerate() {
            if t {
                ssn.trigger_raw(i);
            }
        }
        // In bounds: d is a direction (see `dirs`).
        let dir = &mut ssn.dirs[d];
        if (eof || state == TcpState::Closed)
            && dir.flags & D_EOF == 0
            && dir.app_progress >= dir.buf.right_edge()
            && ssn.flags & S_APP_OFF == 0
        {
            dir.flags |= D_EOF;
            app.eof(to_server);
        }
        swapped
    }

    /// Whether raw stream data of direction `d` is due for inspection on a packet of that
    /// direction (Suricata's StreamReassembleRawHasDataReady + RawCheckLimit).
    pub fn raw_ready(&self, ssn: &TcpSession, d: usize, eof: bool) -> bool {
        // In bounds: d is a direction (see `dirs`); chunk is [u64; 2] too.
        let dir = &ssn.dirs[d];
        if dir.buf.is_empty() || dir.flags & D_RAW_OFF != 0 {
            return false;
        }
        if dir.raw_progress >= dir.buf.right_edge() {
            return false;
        }
        if dir.flags & (D_DEPTH | D_TRIGGER_RAW) != 0 || ssn.state > TcpState::TimeWait || eof {
            return true;
        }
        dir.acked().saturating_sub(dir.raw_progress) >= self.cfg.chunk[d]
    }

    /// Ends one direction of a session (flow end; Suricata's stream-end pseudo packet of
    /// that direction): the app layer gets what is left of it, acknowledged or not, and EOF.
    /// Says whether raw data is left for inspection. Callers end the to-server direction
    /// first and inspect each before ending the next, as Suricata's pseudo packets do. When
    /// the app layer turned the session around ([`Verdict::Reverse`]), the direction ended
    /// is `1 - d` now, which the caller learns from the app layer.
    pub fn finish_dir(&mut self, ssn: &mut TcpSession, d: usize, app: &mut dyn AppSink, c: &mut Counters) -> bool {
        // In bounds: d is a direction (see `dirs`).
        let need_app = ssn.flags & S_APP_OFF == 0 && ssn.dirs[d].buf.right_edge() > ssn.dirs[d].app_progress;
        let open = ssn.state >= TcpState::Established && ssn.state != TcpState::Closed;
        let mut d = d;
        if (need_app || open) && self.app_update(ssn, d, true, app, c) {
            d = 1 - d;
        }
        self.raw_ready(ssn, d, true)
    }
}

/// Whether a packet of direction `a` (not a RST) comes from the endpoint that reset the
/// session (its peer `b` received the RST, `a` did not).
fn rst_injected(ssn: &TcpSession, a: usize, b: usize) -> bool {
    // In bounds: a and b are directions (see `dirs`).
    ssn.dirs[a].flags & D_RST_RECV == 0 && ssn.dirs[b].flags & D_RST_RECV != 0
}

/// Suricata's CheckGap: a hole at `prog` is a gap once the peer acknowledged data past it.
fn check_gap(ssn: &TcpSession, d: usize, prog: u64, state: TcpState) -> bool {
    // In bounds: d is a direction (see `dirs`).
    let dir = &ssn.dirs[d];
    let fin_adj = if state >= TcpState::FinWait1 { 1 } else { 0 };
    let acked = dir.acked().saturating_sub(fin_adj);
    if acked <= prog {
        return false;
    }
    if seq_gt(dir.last_ack, dir.next_seq) {
        if dir.buf.is_empty() {
            return false;
        }
        let next = dir.off(dir.next_seq).unwrap_or(0);
        if let Some((o, _)) = dir.buf.blocks_from(0).next() {
            if o > next && o < acked {
                return true;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests;
