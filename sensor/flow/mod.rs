//! Flow: direction-normalised keys, the symmetric hash that picks a worker, and the per-worker
//! flow table.
//!
//! Takes: decoded packets. Promises: both directions of a flow produce the same [`FlowKey`]
//! and the same [`FlowKey::hash`], so the reader can shard by hash and every packet of a flow
//! meets the same worker. The [`FlowTable`] has a fixed capacity derived from its memcap; when
//! it is full it enters emergency mode (shorter timeouts) and, if that frees nothing, evicts
//! the least recently seen flow, counting each step. Timeouts run on packet time, so a replay
//! is deterministic. Expiry is O(1) per expired flow: flows sharing a timeout class sit in one
//! list ordered by last-seen time.
//! Never: allocates after construction (the slab and the index are reserved up front), locks,
//! or panics.

pub(crate) mod community_id;
mod config;

use std::hash::Hasher;

use crate::capture::Timestamp;
use crate::decode::{flags, proto, Decoded};
use crate::metrics::{Counters, C};

pub use config::{FlowConfig, FlowTimeouts, TimeoutConfig};

/// Direction-normalised flow key: the lower (address, port) endpoint first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    /// Lower endpoint address.
    pub lo: [u8; 16],
    /// Higher endpoint address.
    pub hi: [u8; 16],
    /// Port of the lower endpoint (ICMP: type/code).
    pub lo_port: u16,
    /// Port of the higher endpoint.
    pub hi_port: u16,
    /// IP protocol.
    pub proto: u8,
    /// 6 for IPv6, 4 for IPv4.
    pub family: u8,
    /// Tunnel depth (Suricata's recursion level).
    pub depth: u8,
    /// VLAN ids (outer first), 0 when absent.
    pub vlan: [u16; 3],
}

/// The endpoints of a packet as sent (not normalised).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Tuple {
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Source port.
    pub sp: u16,
    /// Destination port.
    pub dp: u16,
    /// Protocol.
    pub proto: u8,
}

/// How a packet meets the flow table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowPkt {
    /// Normalised key.
    pub key: FlowKey,
    /// The packet's endpoints (for a new flow: the client side is `src`).
    pub tuple: Tuple,
    /// The packet may create a flow (ICMP errors only join one).
    pub create: bool,
    /// Direction is decided by ports (TCP/UDP/SCTP) rather than by source address.
    pub by_port: bool,
    /// Bytes counted for the flow (the frame, or the tunnelled packet).
    pub bytes: u32,
    /// The packet is a TCP SYN/ACK (a flow it creates is oriented towards its receiver).
    pub syn_ack: bool,
}

fn normalise(t: &Tuple, family: u8, depth: u8, vlan: [u16; 3]) -> FlowKey {
    let (lo, hi, lo_port, hi_port) =
        if (t.src, t.sp) <= (t.dst, t.dp) { (t.src, t.dst, t.sp, t.dp) } else { (t.dst, t.src, t.dp, t.sp) };
    FlowKey { lo, hi, lo_port, hi_port, proto: t.proto, family, depth, vlan }
}

impl FlowKey {
    /// The flow of a decoded packet's innermost layer, as Suricata decides which packets have
    /// flows: TCP, UDP, SCTP and ESP with their header decoded, ICMPv6, ICMPv4 other than
    /// errors, ICMPv4 destination-unreachable quoting TCP/UDP (which joins the quoted flow but
    /// never creates one), and IPv4 protocol 41 whose tunnelled packet did not decode. Not:
    /// fragments (until reassembled), other IP protocols, non-IP.
    pub fn of(d: &Decoded, frame_len: usize) -> Option<FlowPkt> {
        if !d.is_ip() || d.flags & flags::FRAGMENT != 0 {
            return None;
        }
        let family = if d.is_ipv6() { 6 } else { 4 };
        // Tunnelled packets do not inherit VLAN ids.
        let vlan = if d.depth == 0 {
            [
                if d.vlan_n > 0 { d.vlan[0] } else { 0 },
                if d.vlan_n > 1 { d.vlan[1] } else { 0 },
                if d.vlan_n > 2 { d.vlan[2] } else { 0 },
            ]
        } else {
            [0; 3]
        };
        let bytes = if d.depth == 0 { frame_len as u32 } else { d.outer_end.saturating_sub(d.inner_off) };
        let l4 = d.has_l4();
        let (tuple, create, by_port, keyt) = match d.proto {
            proto::TCP | proto::UDP | proto::SCTP if l4 => {
                let t = Tuple { src: d.src, dst: d.dst, sp: d.sp, dp: d.dp, proto: d.proto };
                (t, true, true, t)
            }
            50 if l4 => {
                let t = Tuple { src: d.src, dst: d.dst, sp: 0, dp: 0, proto: d.proto };
                (t, true, false, t)
            }
            proto::ICMPV6 if l4 => {
                // Keyed by type and expected reply type, not code (as Suricata).
                let t = Tuple { src: d.src, dst: d.dst, sp: d.sp, dp: d.dp, proto: d.proto };
                (t, true, false, Tuple { sp: d.sp & 0xff, dp: d.dp & 0xff, ..t })
            }
            proto::ICMP if l4 => {
                if d.flags & flags::ICMP_ERROR != 0 && !d.invalid {
                    let e = &d.emb;
                    let k = Tuple { src: e.src, dst: e.dst, sp: e.sp, dp: e.dp, proto: e.proto };
                    let t = Tuple { src: d.src, dst: d.dst, sp: 0, dp: 0, proto: proto::ICMP };
                    (t, false, false, k)
                } else if matches!(d.icmp_type, 3 | 4 | 5 | 11 | 12) {
                    return None;
                } else {
                    let t = Tuple { src: d.src, dst: d.dst, sp: d.sp, dp: d.dp, proto: d.proto };
                    (t, true, false, Tuple { sp: d.sp & 0xff, dp: d.dp & 0xff, ..t })
                }
            }
            proto::IPV6 if family == 4 => {
                let t = Tuple { src: d.src, dst: d.dst, sp: 0, dp: 0, proto: d.proto };
                (t, true, false, t)
            }
            _ => return None,
        };
        let syn_ack = d.proto == proto::TCP && l4 && d.tcp_flags & 0x12 == 0x12;
        Some(FlowPkt { key: normalise(&keyt, family, d.depth, vlan), tuple, create, by_port, bytes, syn_ack })
    }

    /// The flow of a tunnel's outer layer (Teredo/VXLAN/Geneve UDP, IPv4 protocol 41), if the
    /// packet has one besides its inner flow.
    pub fn of_outer(d: &Decoded, frame_len: usize) -> Option<FlowPkt> {
        let o = d.outer?;
        let family = if o.v6 { 6 } else { 4 };
        let vlan = if o.depth == 0 {
            [
                if d.vlan_n > 0 { d.vlan[0] } else { 0 },
                if d.vlan_n > 1 { d.vlan[1] } else { 0 },
                if d.vlan_n > 2 { d.vlan[2] } else { 0 },
            ]
        } else {
            [0; 3]
        };
        let t = Tuple { src: o.src, dst: o.dst, sp: o.sp, dp: o.dp, proto: o.proto };
        let bytes = if o.depth == 0 { frame_len as u32 } else { o.bytes };
        Some(FlowPkt {
            key: normalise(&t, family, o.depth, vlan),
            tuple: t,
            create: true,
            by_port: o.proto == proto::UDP,
            bytes,
            syn_ack: false,
        })
    }

    /// Symmetric 64-bit hash (the key is already normalised), fixed-seeded so that sharding and
    /// flow ids are the same on every run.
    pub fn hash(&self) -> u64 {
        let mut h = FxHasher::default();
        h.write(&self.lo);
        h.write(&self.hi);
        h.write_u32((self.lo_port as u32) << 16 | self.hi_port as u32);
        h.write_u32((self.proto as u32) << 16 | (self.family as u32) << 8 | self.depth as u32);
        h.write_u64((self.vlan[0] as u64) << 32 | (self.vlan[1] as u64) << 16 | self.vlan[2] as u64);
        mix64(h.finish())
    }
}

impl FlowKey {
    /// The worker-choosing hash of the flow: a symmetric function of its two endpoints'
    /// addresses and ports and the protocol only (not VLAN ids or tunnel depth), so that
    /// [`quick_shard`] can compute it from a frame's first headers without a full decode.
    pub fn shard(&self) -> u64 {
        shard_hash(&self.lo, self.lo_port, &self.hi, self.hi_port, self.proto)
    }
}

/// [`FlowKey::shard`] of a flow with endpoints (`a`, `ap`) and (`b`, `bp`) in either order
/// (IPv4 addresses in the first four bytes, the rest zero, as [`FlowKey`] holds them).
///
/// TCP flows that may be an FTP control or data connection (a port 20 or 21, or both ports
/// 1024 and up, as a passive-mode data connection has) are sharded by their addresses alone,
/// as Suricata's `autofp-scheduler: ftp-hash` does: the data connection then meets the worker
/// that parsed the command announcing it, in packet order, and is identified as `ftp-data`
/// whatever the number of workers. Sharded by the whole 5-tuple, a replay's worker could
/// finish a short data connection before the worker holding its control flow had reached
/// the announcement (mix.pcap: 9-10 of its 13 `ftp-data` flows found with two workers).
#[inline]
pub fn shard_hash(a: &[u8; 16], ap: u16, b: &[u8; 16], bp: u16, proto: u8) -> u64 {
    let (ap, bp) = if proto == proto::TCP && may_be_ftp(ap, bp) { (0, 0) } else { (ap, bp) };
    #[inline]
    fn end(x: &[u8; 16], port: u16) -> u64 {
        let (h, l) = x.split_at(8);
        // In bounds: split_at(8) of a [u8; 16] leaves two 8-byte halves.
        let h = u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
        let l = u64::from_le_bytes([l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7]]);
        mix64(h.wrapping_mul(FX_K).rotate_left(23) ^ l ^ (port as u64) << 48)
    }
    mix64(end(a, ap).wrapping_add(end(b, bp)) ^ proto as u64)
}

/// Whether a TCP flow between these ports may be an FTP control connection (port 21), an
/// active-mode data connection (from port 20) or a passive-mode one (both ports 1024 and up).
#[inline]
fn may_be_ftp(ap: u16, bp: u16) -> bool {
    (ap >= 1024 && bp >= 1024) || matches!(ap, 20 | 21) || matches!(bp, 20 | 21)
}

/// The shard of a plain TCP or UDP packet read from the frame's first headers: Ethernet
/// with at most two VLAN tags, or raw IP; IPv4 that is not a fragment, or IPv6 whose next
/// header is TCP/UDP; UDP on none of `tunnel_ports` (Teredo, VXLAN, Geneve). `None` for
/// anything else, which the reader decodes in full. Equal to [`FlowKey::shard`] of the flow
/// [`FlowKey::of`] finds after the decode, for every frame it accepts.
pub fn quick_shard(lt: crate::capture::LinkType, f: &[u8], tunnel_ports: &[u16; 3]) -> Option<u64> {
    use crate::capture::LinkType;
    let be16 = |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*f.get(i)?, *f.get(i + 1)?])) };
    let off = match lt {
        LinkType::ETHERNET => {
            let mut off = 14;
            let mut et = be16(12)?;
            let mut tags = 0;
            while matches!(et, 0x8100 | 0x88a8 | 0x9100) {
                tags += 1;
                if tags > 2 {
                    return None;
                }
                et = be16(off + 2)?;
                off += 4;
            }
            match et {
                0x0800 | 0x86dd => off,
                _ => return None,
            }
        }
        LinkType::RAW | LinkType::RAW_BSD12 | LinkType::RAW_BSD14 | LinkType::IPV4 | LinkType::IPV6 => 0,
        _ => return None,
    };
    let ip = f.get(off..)?;
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    let (proto, l4) = match ip.first()? >> 4 {
        4 => {
            // In bounds: ip.first()? above proved ip non-empty; ip[6], ip[7] only once ip.len() >= ihl + 4 >= 24.
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            if ihl < 20 || ip.len() < ihl + 4 || u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
                return None;
            }
            // In bounds: ip.len() >= ihl + 4 >= 24 is checked above.
            src[..4].copy_from_slice(&ip[12..16]);
            dst[..4].copy_from_slice(&ip[16..20]);
            (ip[9], ihl)
        }
        6 => {
            if ip.len() < 44 {
                return None;
            }
            // In bounds: ip.len() >= 44 is checked above.
            src.copy_from_slice(&ip[8..24]);
            dst.copy_from_slice(&ip[24..40]);
            (ip[6], 40)
        }
        _ => return None,
    };
    if proto != proto::TCP && proto != proto::UDP {
        return None;
    }
    // In bounds: `ip` holds at least l4 + 4 bytes (checked above for either version), and
    // the IPv4 header fields read above lie inside its first 20.
    let sp = u16::from_be_bytes([ip[l4], ip[l4 + 1]]);
    let dp = u16::from_be_bytes([ip[l4 + 2], ip[l4 + 3]]);
    if proto == proto::UDP && tunnel_ports.iter().any(|&t| t != 0 && (t == sp || t == dp)) {
        return None;
    }
    Some(shard_hash(&src, sp, &dst, dp, proto))
}

/// Final avalanche (splitmix64) so that low bits are usable for sharding.
#[inline]
pub fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A small fast hasher (the Fx hash of rustc): keys are not attacker-chosen in a way that
/// matters here, because the table is bounded and probing cost is capped by the memcap; the
/// shard choice goes through [`mix64`].
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    h: u64,
}

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            // In bounds: chunks_exact(8) yields 8-byte chunks.
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.h = (self.h.rotate_left(5) ^ v).wrapping_mul(FX_K);
        }
        for &b in chunks.remainder() {
            self.h = (self.h.rotate_left(5) ^ b as u64).wrapping_mul(FX_K);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.h = (self.h.rotate_left(5) ^ i as u64).wrapping_mul(FX_K);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.h = (self.h.rotate_left(5) ^ i as u64).wrapping_mul(FX_K);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.h = (self.h.rotate_left(5) ^ i as u64).wrapping_mul(FX_K);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.h = (self.h.rotate_left(5) ^ i).wrapping_mul(FX_K);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.h
    }
}

/// Flow state, as Suricata's flow `state` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FlowState {
    /// Seen in one direction only (or TCP handshake not complete).
    #[default]
    New,
    /// Seen in both directions.
    Established,
    /// TCP: FIN or RST seen.
    Closed,
}

impl FlowState {
    /// Name as in EVE.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowState::New => "new",
            FlowState::Established => "established",
            FlowState::Closed => "closed",
        }
    }
}

/// Why a flow ended, as EVE's `flow.reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Idle past its timeout.
    Timeout,
    /// End of capture or shutdown.
    Shutdown,
    /// Evicted to make room.
    Forced,
    /// A new TCP session reused the tuple.
    TcpReuse,
}

impl EndReason {
    /// Name as in EVE.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Shutdown => "shutdown",
            EndReason::Forced => "forced",
            EndReason::TcpReuse => "tcp_reuse",
        }
    }
}

/// Timeouts for one protocol, in seconds of packet time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Flow in state new.
    pub new: u64,
    /// Flow in state established.
    pub established: u64,
    /// Flow in state closed.
    pub closed: u64,
    /// New, in emergency mode.
    pub emergency_new: u64,
    /// Established, in emergency mode.
    pub emergency_established: u64,
    /// Closed, in emergency mode.
    pub emergency_closed: u64,
}

/// Flow-table settings.
#[derive(Clone, Debug)]
pub struct TableConfig {
    /// Bytes this table may use for flows (its share of `flow.memcap_bytes`).
    pub memcap: usize,
    /// Per protocol group: tcp, udp, icmp, other.
    pub timeouts: [Timeouts; 4],
    /// Leave emergency mode when this percentage of slots is free again.
    pub emergency_recovery_percent: u8,
}

/// The protocol group used for timeouts and lists.
#[inline]
pub fn proto_group(p: u8) -> usize {
    match p {
        proto::TCP => 0,
        proto::UDP => 1,
        proto::ICMP => 2,
        _ => 3,
    }
}

/// One flow.
#[derive(Clone, Debug, Default)]
pub struct Flow<S> {
    /// Normalised key.
    pub key: FlowKey,
    /// The endpoints as the first packet had them: `src` is the client.
    pub tuple: Tuple,
    /// Stable id (from the key and the start time).
    pub flow_id: u64,
    /// Key hash.
    pub hash: u64,
    /// First packet time.
    pub start: Timestamp,
    /// Last packet time.
    pub last: Timestamp,
    /// Packets to server, to client.
    pub pkts: [u64; 2],
    /// Bytes to server, to client.
    pub bytes: [u64; 2],
    /// State.
    pub state: FlowState,
    /// TCP flags seen, to server and to client.
    pub tcp_flags: [u8; 2],
    /// An alert fired on this flow.
    pub alerted: bool,
    /// TCP: the flow began with a SYN, so a session is tracked (midstream off).
    pub tcp_session: bool,
    /// TCP: the client's initial sequence number, when the session began with a SYN.
    pub client_isn: u32,
    /// TCP: the session reached the established state.
    pub tcp_established: bool,
    /// TCP: the session is closing as Suricata's port-reuse check means it (state at or
    /// beyond LAST_ACK).
    pub tcp_closing: bool,
    /// Interface index of the first packet.
    pub iface: u16,
    /// Per-flow state of later stages.
    pub ext: S,
    prev: u32,
    next: u32,
    class: u8,
    live: bool,
}

impl<S> Flow<S> {
    /// Turns the flow around (Suricata's `FlowSwap`): the first packet's receiver becomes the
    /// client, its per-direction counts follow. Protocol detection asks for it when the first
    /// packet was an answer.
    pub fn reverse(&mut self) {
        let t = &mut self.tuple;
        std::mem::swap(&mut t.src, &mut t.dst);
        std::mem::swap(&mut t.sp, &mut t.dp);
        self.pkts.swap(0, 1);
        self.bytes.swap(0, 1);
        self.tcp_flags.swap(0, 1);
    }

    /// Whether a packet goes to the server: by source port for TCP/UDP/SCTP (by address when
    /// both ports are equal), by source address otherwise, as Suricata decides.
    #[inline]
    pub fn is_to_server(&self, p: &FlowPkt) -> bool {
        if p.by_port && p.tuple.sp != p.tuple.dp {
            p.tuple.sp == self.tuple.sp
        } else {
            p.tuple.src == self.tuple.src
        }
    }
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

/// What happened to a packet in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// Slot of the flow.
    pub slot: u32,
    /// The flow was created by this packet.
    pub created: bool,
    /// The packet goes to the server.
    pub to_server: bool,
}

/// A flow that ended, handed to the caller to log.
pub type Ended<'a, S> = (&'a mut Flow<S>, EndReason);

/// A fixed-capacity flow table owned by one worker.
pub struct FlowTable<S> {
    /// Never shrinks: every slot number in `free`, `index`, `lists`, the prev/next links (when
    /// not NIL) and a [`Lookup`] was pushed here, so it indexes `slots`.
    slots: Vec<Flow<S>>,
    free: Vec<u32>,
    /// Slot numbers, hashed by their flow's [`FlowKey::hash`] (kept in the slot): 4 bytes an
    /// entry instead of a copy of the key, so that the index of a full table stays small.
    index: hashbrown::HashTable<u32>,
    lists: [List; 12],
    cfg: TableConfig,
    capacity: usize,
    /// In emergency mode (table was full).
    pub emergency: bool,
}

impl<S: Default> FlowTable<S> {
    /// A table sized from `cfg.memcap`.
    pub fn new(cfg: TableConfig) -> Self {
        Self::sized(cfg, 0)
    }

    /// A table sized from `cfg.memcap`, counting for each flow `outside` bytes of its state
    /// that the slot only points to (allocated when the flow needs them: the app layer of a
    /// flow that carries data), so that the memcap bounds those too.
    pub fn sized(cfg: TableConfig, outside: usize) -> Self {
        // The slot, its index entry (a u32 and a control byte at 7/8 load: 6 bytes, rounded
        // up), its free-list entry and what it points to.
        let per_flow = std::mem::size_of::<Flow<S>>() + 8 + 4 + outside;
        let capacity = (cfg.memcap / per_flow).clamp(16, u32::MAX as usize - 1);
        let index = hashbrown::HashTable::with_capacity(capacity);
        FlowTable {
            slots: Vec::with_capacity(capacity),
            free: Vec::with_capacity(capacity),
            index,
            lists: [List { head: NIL, tail: NIL }; 12],
            cfg,
            capacity,
            emergency: false,
        }
    }

    /// How many flows fit.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Flows in the table.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// No flows.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The flow in `slot`.
    #[inline]
    pub fn get(&self, slot: u32) -> &Flow<S> {
        // In bounds: a slot number of this table (see `slots`).
        &self.slots[slot as usize]
    }

    /// The flow in `slot`, mutably.
    #[inline]
    pub fn get_mut(&mut self, slot: u32) -> &mut Flow<S> {
        // In bounds: a slot number of this table (see `slots`).
        &mut self.slots[slot as usize]
    }

    fn timeout(&self, class: u8) -> u64 {
        // In bounds: class < 12 (class_of, or the loop in expire), so class / 3 < 4 = timeouts.len().
        let t = &self.cfg.timeouts[class as usize / 3];
        match (class % 3, self.emergency) {
            (0, false) => t.new,
            (1, false) => t.established,
            (2, false) => t.closed,
            (0, true) => t.emergency_new,
            (1, true) => t.emergency_established,
            _ => t.emergency_closed,
        }
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next, class) = {
            // In bounds: i is a slot number (see `slots`), and so are prev/next when not NIL;
            // class < 12 = lists.len() (class_of).
            let f = &self.slots[i as usize];
            (f.prev, f.next, f.class as usize)
        };
        if prev != NIL {
            self.slots[prev as usize].next = next;
        } else {
            self.lists[class].head = next;
        }
        if next != NIL {
            self.slots[next as usize].prev = prev;
        } else {
            self.lists[class].tail = prev;
        }
    }

    fn push_tail(&mut self, i: u32, class: u8) {
        // In bounds: class < 12 = lists.len() (class_of); i, and tail when not NIL, are slot numbers (see `slots`).
        let l = &mut self.lists[class as usize];
        let tail = l.tail;
        {
            let f = &mut self.slots[i as usize];
            f.prev = tail;
            f.next = NIL;
            f.class = class;
        }
        if tail != NIL {
            self.slots[tail as usize].next = i;
        } else {
            self.lists[class as usize].head = i;
        }
        self.lists[class as usize].tail = i;
    }

    fn class_of(f: &Flow<S>) -> u8 {
        (proto_group(f.key.proto) * 3
            + match f.state {
                FlowState::New => 0,
                FlowState::Established => 1,
                FlowState::Closed => 2,
            }) as u8
    }

    /// Finds or creates the flow of a packet and accounts the packet to it. `on_end` receives
    /// flows ended to make room (emergency eviction, TCP port reuse). Returns `None` when the
    /// packet has no flow: an ICMP error quoting no known flow, or no free slot (counted as
    /// `flow.memcap`).
    #[allow(clippy::too_many_arguments, reason = "the packet, its hash, time and the callbacks of flows it ends")]
    pub fn packet(
        &mut self,
        p: &FlowPkt,
        hash: u64,
        d: &Decoded,
        ts: Timestamp,
        iface: u16,
        c: &mut Counters,
        on_end: &mut dyn FnMut(Ended<'_, S>, &mut Counters),
    ) -> Option<Lookup> {
        let mut created = false;
        let key = &p.key;
        // In bounds: the index holds only slot numbers of pushed slots (slots never shrink).
        let slots = &self.slots;
        let slot = match self.index.find(hash, |&s| slots[s as usize].key == *key).copied() {
            // As Suricata's lookup: a flow past its timeout is not reused by a late packet
            // of the same tuple (whatever batch it arrives in); it ends and a new one starts.
            Some(s) if self.timed_out(s, ts) => {
                c.inc(C::FlowTimeoutEvicted);
                self.end_slot(s, EndReason::Timeout, c, on_end);
                if !p.create {
                    return None;
                }
                created = true;
                self.create(p, hash, ts, iface, c, on_end)?
            }
            Some(s) => {
                if d.proto == proto::TCP && self.is_tcp_reuse(s, p, d) {
                    c.inc(C::FlowTcpReuse);
                    self.end_slot(s, EndReason::TcpReuse, c, on_end);
                    created = true;
                    self.create(p, hash, ts, iface, c, on_end)?
                } else {
                    s
                }
            }
            None if p.create => {
                created = true;
                self.create(p, hash, ts, iface, c, on_end)?
            }
            None => return None,
        };
        // In bounds: slot came from the index or create (see `slots`); dir is 0 or 1 for the [_; 2] counters.
        let f = &mut self.slots[slot as usize];
        let to_server = f.is_to_server(p);
        let dir = if to_server { 0 } else { 1 };
        f.pkts[dir] += 1;
        f.bytes[dir] += p.bytes as u64;
        if ts > f.last {
            f.last = ts;
        }
        if d.proto == proto::TCP && d.has_l4() {
            // TCP state is the stream stage's (sensor/stream), which calls `set_tcp`
            f.tcp_flags[dir] |= d.tcp_flags;
        } else if d.proto != proto::TCP && f.state == FlowState::New && f.pkts[0] > 0 && f.pkts[1] > 0 && p.create {
            f.state = FlowState::Established;
        }
        let new_class = Self::class_of(f);
        // Move to the tail of its (possibly new) list: lists stay ordered by last-seen time.
        self.unlink(slot);
        self.push_tail(slot, new_class);
        Some(Lookup { slot, created, to_server })
    }

    /// Records what the stream stage made of a TCP flow: its flow state (which also moves it
    /// to the matching timeout list) and what port reuse needs to know.
    pub fn set_tcp(&mut self, slot: u32, state: FlowState, session: Option<(u32, bool, bool)>) {
        let Some(f) = self.slots.get_mut(slot as usize) else { return };
        if let Some((isn, established, closing)) = session {
            f.tcp_session = true;
            f.client_isn = isn;
            f.tcp_established = established;
            f.tcp_closing = closing;
        }
        if f.state != state {
            f.state = state;
            let class = Self::class_of(f);
            if class != f.class {
                self.unlink(slot);
                self.push_tail(slot, class);
            }
        }
    }

    fn timed_out(&self, slot: u32, now: Timestamp) -> bool {
        // In bounds: slot came from the index (see `slots`).
        let f = &self.slots[slot as usize];
        f.last.secs().saturating_add(self.timeout(f.class)) < now.secs()
    }

    /// Suricata's TCP port reuse: a SYN on a flow whose session is absent or closing, with a
    /// different initial sequence number, starts a new flow.
    fn is_tcp_reuse(&self, slot: u32, p: &FlowPkt, d: &Decoded) -> bool {
        let fl = d.tcp_flags;
        if !d.has_l4() || fl & 0x17 != 0x02 {
            return false;
        }
        // In bounds: slot came from the index (see `slots`).
        let f = &self.slots[slot as usize];
        let closing = f.tcp_closing;
        if f.is_to_server(p) {
            !f.tcp_session || (closing && d.tcp_seq != f.client_isn)
        } else {
            !f.tcp_session || closing
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the packet's key, times, sizes and direction as the caller decoded them"
    )]
    fn create(
        &mut self,
        p: &FlowPkt,
        hash: u64,
        ts: Timestamp,
        iface: u16,
        c: &mut Counters,
        on_end: &mut dyn FnMut(Ended<'_, S>, &mut Counters),
    ) -> Option<u32> {
        if self.index.len() >= self.capacity {
            if !self.emergency {
                self.emergency = true;
                c.inc(C::FlowEmergModeEntered);
            }
            self.expire(ts, c, on_end);
            if self.index.len() >= self.capacity {
                // Still full: evict the least recently seen flow.
                let victim = self
                    .lists
                    .iter()
                    .filter(|l| l.head != NIL)
                    .map(|l| l.head)
                    // In bounds: list heads that are not NIL are slot numbers (see `slots`).
                    .min_by_key(|&h| self.slots[h as usize].last);
                match victim {
                    Some(v) => {
                        c.inc(C::FlowEmergencyEvicted);
                        self.end_slot(v, EndReason::Forced, c, on_end);
                    }
                    None => {
                        c.inc(C::FlowSpareExhausted);
                        c.inc(C::FlowMemcap);
                        return None;
                    }
                }
            }
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Flow::default());
                (self.slots.len() - 1) as u32
            }
        };
        let flow_id = mix64(hash ^ ts.0.rotate_left(17)) & 0x7fff_ffff_ffff_ffff;
        // In bounds: slot was popped from free or just pushed.
        let f = &mut self.slots[slot as usize];
        let key = p.key;
        // A TCP flow first seen at its SYN/ACK is oriented from the SYN/ACK's receiver (the
        // client), as Suricata does, so that to_server/to_client keep their meaning.
        let mut tuple = p.tuple;
        if p.syn_ack {
            std::mem::swap(&mut tuple.src, &mut tuple.dst);
            std::mem::swap(&mut tuple.sp, &mut tuple.dp);
        }
        *f = Flow {
            key,
            tuple,
            flow_id,
            hash,
            start: ts,
            last: ts,
            iface,
            live: true,
            prev: NIL,
            next: NIL,
            ..Flow::default()
        };
        let class = Self::class_of(f);
        self.push_tail(slot, class);
        let slots = &self.slots;
        // In bounds: the index holds slot numbers (see `slots`).
        self.index.insert_unique(hash, slot, |&s| slots[s as usize].hash);
        c.inc(C::FlowTotal);
        c.inc(match (key.proto, key.family) {
            (proto::TCP, _) => C::FlowTcp,
            (proto::UDP, _) => C::FlowUdp,
            (proto::ICMP, _) => C::FlowIcmpv4,
            (proto::ICMPV6, _) => C::FlowIcmpv6,
            _ => C::FlowOther,
        });
        let _ = (hash, iface);
        Some(slot)
    }

    fn end_slot(
        &mut self,
        slot: u32,
        why: EndReason,
        c: &mut Counters,
        on_end: &mut dyn FnMut(Ended<'_, S>, &mut Counters),
    ) {
        self.unlink(slot);
        // In bounds: slot came from the index or a list (see `slots`).
        let hash = self.slots[slot as usize].hash;
        if let Ok(e) = self.index.find_entry(hash, |&s| s == slot) {
            e.remove();
        }
        on_end((&mut self.slots[slot as usize], why), c);
        let f = &mut self.slots[slot as usize];
        f.live = false;
        f.ext = S::default();
        self.free.push(slot);
    }

    /// Ends every flow idle past its timeout at packet time `now`.
    pub fn expire(&mut self, now: Timestamp, c: &mut Counters, on_end: &mut dyn FnMut(Ended<'_, S>, &mut Counters)) {
        for class in 0..12u8 {
            // As Suricata: a flow times out once `last second + timeout` is in the past.
            let to = self.timeout(class);
            loop {
                // In bounds: class < 12 = lists.len() (loop range); h, not NIL, is a slot number (see `slots`).
                let h = self.lists[class as usize].head;
                if h == NIL {
                    break;
                }
                let last = self.slots[h as usize].last.secs();
                if last.saturating_add(to) >= now.secs() {
                    break;
                }
                c.inc(C::FlowTimeoutEvicted);
                self.end_slot(h, EndReason::Timeout, c, on_end);
            }
        }
        if self.emergency {
            let free_pct = (self.capacity - self.index.len()) * 100 / self.capacity.max(1);
            if free_pct >= self.cfg.emergency_recovery_percent as usize {
                self.emergency = false;
                c.inc(C::FlowEmergModeOver);
            }
        }
    }

    /// Ends every flow (end of capture or shutdown), oldest first.
    pub fn drain(&mut self, c: &mut Counters, on_end: &mut dyn FnMut(Ended<'_, S>, &mut Counters)) {
        let mut live: Vec<u32> = self.index.iter().copied().collect();
        // In bounds: the index holds slot numbers (see `slots`).
        live.sort_by_key(|&s| (self.slots[s as usize].start, self.slots[s as usize].flow_id));
        for s in live {
            c.inc(C::FlowShutdownEvicted);
            self.end_slot(s, EndReason::Shutdown, c, on_end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::Decoder;
    use etherparse::PacketBuilder;

    fn cfg(memcap: usize) -> TableConfig {
        let t = Timeouts {
            new: 30,
            established: 300,
            closed: 0,
            emergency_new: 10,
            emergency_established: 100,
            emergency_closed: 0,
        };
        TableConfig { memcap, timeouts: [t; 4], emergency_recovery_percent: 30 }
    }

    fn udp(sa: [u8; 4], sp: u16, da: [u8; 4], dp: u16) -> Decoded {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(sa, da, 64).udp(sp, dp).write(&mut f, b"x").unwrap();
        let mut d = Decoded::default();
        Decoder::default().decode(LinkType::ETHERNET, &f, &mut d, &mut Counters::new());
        d
    }

    #[test]
    fn ftp_control_and_data_connections_between_two_hosts_share_a_shard() {
        let (c, s) = ([10, 0, 0, 1], [10, 0, 0, 2]);
        let shard = |sa: [u8; 4], sp: u16, da: [u8; 4], dp: u16| {
            let mut f = Vec::new();
            PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4(sa, da, 64).tcp(sp, dp, 1, 1024).write(&mut f, b"x").unwrap();
            let mut d = Decoded::default();
            Decoder::default().decode(LinkType::ETHERNET, &f, &mut d, &mut Counters::new());
            let key = FlowKey::of(&d, f.len()).unwrap().key;
            assert_eq!(quick_shard(LinkType::ETHERNET, &f, &[0; 3]), Some(key.shard()));
            key.shard()
        };
        let control = shard(c, 40000, s, 21);
        assert_eq!(shard(c, 40001, s, 50123), control, "passive mode");
        assert_eq!(shard(s, 20, c, 40002), control, "active mode");
        assert_eq!(shard(s, 50123, c, 40001), control, "either direction");
        // a flow to a port under 1024 other than 20 and 21 keeps its 5-tuple shard: two
        // connections to a web server spread over the workers
        let web: std::collections::HashSet<u64> = (40000..40064).map(|p| shard(c, p, s, 443)).collect();
        assert!(web.len() > 60, "{}", web.len());
        // UDP is never grouped by addresses
        let dns: std::collections::HashSet<u64> =
            (40000..40064).map(|p| FlowKey::of(&udp(c, p, s, 5353), 60).unwrap().key.shard()).collect();
        assert!(dns.len() > 60, "{}", dns.len());
    }

    #[test]
    fn both_directions_same_key_and_hash() {
        let a = udp([10, 0, 0, 1], 5000, [10, 0, 0, 2], 53);
        let b = udp([10, 0, 0, 2], 53, [10, 0, 0, 1], 5000);
        let ka = FlowKey::of(&a, 60).unwrap().key;
        let kb = FlowKey::of(&b, 60).unwrap().key;
        assert_eq!(ka, kb);
        assert_eq!(ka.hash(), kb.hash());
    }

    #[test]
    fn direction_and_state() {
        let mut t: FlowTable<()> = FlowTable::new(cfg(1 << 20));
        let mut c = Counters::new();
        let a = udp([10, 0, 0, 1], 5000, [10, 0, 0, 2], 53);
        let b = udp([10, 0, 0, 2], 53, [10, 0, 0, 1], 5000);
        let pa = FlowKey::of(&a, 60).unwrap();
        let pb = FlowKey::of(&b, 70).unwrap();
        let h = pa.key.hash();
        let l1 = t.packet(&pa, h, &a, Timestamp(1), 0, &mut c, &mut |_, _| {}).unwrap();
        assert!(l1.created && l1.to_server);
        let l2 = t.packet(&pb, h, &b, Timestamp(2), 0, &mut c, &mut |_, _| {}).unwrap();
        assert!(!l2.created && !l2.to_server);
        let f = t.get(l1.slot);
        assert_eq!(f.pkts, [1, 1]);
        assert_eq!(f.bytes, [60, 70]);
        assert_eq!(f.state, FlowState::Established);
        assert_eq!(c.get(C::FlowUdp), 1);
    }

    #[test]
    fn timeout_on_packet_time() {
        let mut t: FlowTable<()> = FlowTable::new(cfg(1 << 20));
        let mut c = Counters::new();
        let a = udp([10, 0, 0, 1], 5000, [10, 0, 0, 2], 53);
        let pa = FlowKey::of(&a, 60).unwrap();
        t.packet(&pa, pa.key.hash(), &a, Timestamp::from_parts(100, 0), 0, &mut c, &mut |_, _| {});
        let mut ended = Vec::new();
        t.expire(Timestamp::from_parts(130, 0), &mut c, &mut |(f, r), _| ended.push((f.flow_id, r)));
        assert!(ended.is_empty());
        t.expire(Timestamp::from_parts(131, 0), &mut c, &mut |(f, r), _| ended.push((f.flow_id, r)));
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].1, EndReason::Timeout);
        assert!(t.is_empty());
    }

    #[test]
    fn full_table_enters_emergency_and_evicts() {
        let mut t: FlowTable<()> = FlowTable::new(cfg(0));
        let cap = t.capacity();
        let mut c = Counters::new();
        let mut ended = 0;
        for i in 0..(cap as u16 + 5) {
            let d = udp([10, 0, 0, 1], 1000 + i, [10, 0, 0, 2], 53);
            let p = FlowKey::of(&d, 60).unwrap();
            assert!(t
                .packet(&p, p.key.hash(), &d, Timestamp::from_parts(100, i as u64), 0, &mut c, &mut |_, _| ended += 1)
                .is_some());
        }
        assert_eq!(t.len(), cap);
        assert_eq!(ended, 5);
        assert_eq!(c.get(C::FlowEmergModeEntered), 1);
        assert_eq!(c.get(C::FlowEmergencyEvicted), 5);
    }
}
