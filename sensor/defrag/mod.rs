//! Defrag: IPv4 and IPv6 fragment reassembly, as Suricata's defrag (`defrag.c`,
//! `defrag-hash.c`, `defrag-timeout.c`).
//!
//! Takes: fragments as the decoder found them (the frame plus its [`Decoded`] summary with
//! [`flags::FRAGMENT`]), in capture order, on one thread (the reader). Promises: a fragment is
//! kept in a tracker keyed as Suricata keys it (the two addresses in either order, IP id or
//! IPv6 fragment identification, IPv4 protocol, VLAN ids, plus the tunnel depth); overlaps are
//! resolved by the configured policy exactly as Suricata's `DefragInsertFrag` resolves them
//! (same walk, same trims, same copy order at reassembly, so the same bytes win); once the last
//! fragment (MF=0) is held and the data from offset 0 has no hole, the datagram is rebuilt and
//! returned, starting at its IP header: IPv4 with the first fragment's header, flags and offset
//! zeroed, total length set and header checksum recomputed; IPv6 with the first fragment's
//! header and unfragmentable extension headers, the Fragment header removed, payload length set
//! and the preceding next-header field pointing at what followed the Fragment header.
//! Memory is bounded: trackers (`trackers`), fragments held (`max_frags`) and bytes held
//! (`memcap_bytes`, trackers and fragment data together) are capped; a new tracker, or a
//! fragment that does not fit, evicts the least recently updated tracker
//! (`defrag.tracker_hard_reuse`), and what still cannot be had is dropped and counted.
//! Unfinished trackers expire on packet time after `timeout_secs` without a fragment, checked
//! whenever a fragment arrives and on [`Defrag::expire`].
//! Never: panics or reads outside the frame whatever its bytes, allocates per fragment beyond
//! the bytes it keeps (trackers' buffers are recycled), or counts `defrag.ipv*.fragments`
//! (the decoder does).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::capture::{LinkType, Timestamp};
use crate::decode::{flags, Decoded, Decoder, Event, Events};
use crate::flow::FxHasher;
use crate::metrics::{Counters, C};

mod config;
pub use config::{DefragConfig, DefragPolicy};

/// Bytes charged to the memcap per tracker (its slot, hash entry and bookkeeping).
pub const TRACKER_COST: usize = 256;
/// Bytes charged to the memcap per fragment held, besides the fragment's own bytes.
pub const FRAG_COST: usize = 32;
/// Largest IPv4 datagram / IPv6 payload.
const MAX_IP_LEN: usize = 65_535;
/// Suricata keys IPv6 trackers on the packet's protocol, which for a fragment is the Fragment
/// header itself (44): the next header after it is not part of the key.
const IPV6_FRAGMENT_PROTO: u8 = 44;
/// Freed trackers' data buffers up to this capacity are kept for reuse...
const SPARE_BUF_MAX: usize = 16 * 1024;
/// ... this many of them.
const SPARE_BUFS: usize = 64;
/// A freed tracker slot keeps its fragment list if its capacity is at most this.
const SPARE_FRAGS_MAX: usize = 8;
const NIL: u32 = u32::MAX;

/// Tracker key (Suricata's `CMP_DEFRAGTRACKER`, plus the tunnel depth).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
struct Key {
    /// Lower of the two addresses (a datagram's fragments match in either direction).
    lo: [u8; 16],
    /// Higher of the two addresses.
    hi: [u8; 16],
    /// IPv4 identification or IPv6 fragment identification.
    id: u32,
    /// IPv4 protocol; 44 for IPv6.
    proto: u8,
    v6: bool,
    depth: u8,
    /// VLAN ids (zero inside tunnels, which do not inherit them).
    vlan: [u16; 3],
}

/// One fragment held (Suricata's `Frag`). Offsets and lengths are `u16` as in Suricata, whose
/// arithmetic on them the policy walk reproduces.
#[derive(Clone, Copy, Debug, Default)]
struct Frag {
    /// Offset of the first byte kept (the fragment's offset plus what was trimmed on insert).
    offset: u16,
    /// Bytes kept.
    data_len: u16,
    /// Leading bytes later fragments claimed (skipped when copying, unless offset is 0).
    ltrim: u16,
    /// Header bytes stored before the data (offset-0 fragments only).
    hlen: u16,
    /// More-fragments flag.
    more: bool,
    /// Where the stored bytes (header, then data) start in the tracker's buffer.
    at: u32,
}

/// A datagram being reassembled (Suricata's `DefragTracker`).
#[derive(Debug, Default)]
struct Tracker {
    key: Key,
    live: bool,
    seen_last: bool,
    /// Packet time (ns) from which the tracker is timed out.
    deadline: u64,
    /// LRU neighbours (least recently updated first).
    prev: u32,
    next: u32,
    /// Fragments by offset; equal offsets in arrival order.
    frags: Vec<Frag>,
    /// Stored bytes of the fragments.
    buf: Vec<u8>,
    /// Bytes charged to the memcap.
    mem: usize,
}

impl Tracker {
    fn charge(&self) -> usize {
        TRACKER_COST + self.buf.len() + self.frags.len() * FRAG_COST
    }

    /// Drops the bytes of fragments no longer held once they outweigh the held ones (re-sent
    /// overlapping fragments would otherwise grow the buffer). True when it compacted.
    fn compact(&mut self) -> bool {
        let Tracker { frags, buf, .. } = self;
        let held: usize = frags.iter().map(|f| f.hlen as usize + f.data_len as usize).sum();
        if buf.len() <= 2 * held + 4096 {
            return false;
        }
        let mut nb = Vec::with_capacity(held);
        for f in frags.iter_mut() {
            let (at, n) = (f.at as usize, f.hlen as usize + f.data_len as usize);
            f.at = nb.len() as u32;
            nb.extend_from_slice(buf.get(at..at + n).unwrap_or(&[]));
        }
        *buf = nb;
        true
    }
}

/// What a fragment says about itself, read from its IP header(s).
#[derive(Clone, Copy, Debug)]
struct Parsed {
    v6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    id: u32,
    proto: u8,
    /// Offset in bytes.
    offset: u32,
    more: bool,
    /// Header bytes kept from a first fragment: `ip[..hdr_end]` (IPv4 header; IPv6 header and
    /// the unfragmentable extension headers).
    hdr_end: usize,
    /// Fragment data: `ip[data_start..data_end]`.
    data_start: usize,
    data_end: usize,
    /// IPv6: where in the header bytes the next-header field that named the Fragment header is,
    /// and what it must say once the Fragment header is gone.
    nh_fix: Option<(usize, u8)>,
}

/// Fragment reassembly state (one per reader thread).
pub struct Defrag {
    policy: DefragPolicy,
    timeout_secs: u64,
    memcap: usize,
    max_frags: usize,
    max_trackers: usize,
    map: HashMap<Key, u32, BuildHasherDefault<FxHasher>>,
    slab: Vec<Tracker>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    live: usize,
    frags: usize,
    memuse: usize,
    spare: Vec<Vec<u8>>,
}

enum Place {
    Insert,
    Drop,
}

enum Rebuilt {
    /// Not complete yet.
    Wait,
    /// The datagram.
    Done(Vec<u8>),
    /// Cannot be rebuilt: the tracker is dropped (`true`: it would exceed 65535 bytes).
    Fail(bool),
}

#[inline]
fn be16(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(o)?, *b.get(o + 1)?]))
}

fn parse_v4(ip: &[u8]) -> Option<Parsed> {
    let b0 = *ip.first()?;
    if b0 >> 4 != 4 {
        return None;
    }
    let hlen = (b0 & 0x0f) as usize * 4;
    let total = be16(ip, 2)? as usize;
    if hlen < 20 || total < hlen || total > ip.len() {
        return None;
    }
    let offlg = be16(ip, 6)?;
    let more = offlg & 0x2000 != 0;
    let offset = (offlg & 0x1fff) as u32 * 8;
    if offset == 0 && !more {
        return None;
    }
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src[..4].copy_from_slice(ip.get(12..16)?);
    dst[..4].copy_from_slice(ip.get(16..20)?);
    Some(Parsed {
        v6: false,
        src,
        dst,
        id: be16(ip, 4)? as u32,
        proto: *ip.get(9)?,
        offset,
        more,
        hdr_end: hlen,
        data_start: hlen,
        data_end: total,
        nh_fix: None,
    })
}

fn parse_v6(ip: &[u8]) -> Option<Parsed> {
    if ip.first()? >> 4 != 6 {
        return None;
    }
    let end = 40 + be16(ip, 4)? as usize;
    if end > ip.len() {
        return None;
    }
    // Walk the extension headers before the Fragment header (the unfragmentable part).
    let mut nh = *ip.get(6)?;
    let mut nh_pos = 6usize;
    let mut o = 40usize;
    loop {
        let len = match nh {
            44 => break,
            0 | 43 | 60 | 135 | 139 | 140 => (*ip.get(o + 1)? as usize + 1) * 8,
            51 => (*ip.get(o + 1)? as usize + 2) * 4,
            _ => return None,
        };
        if o + len > end {
            return None;
        }
        nh_pos = o;
        nh = *ip.get(o)?;
        o += len;
    }
    let fh = ip.get(o..o + 8)?;
    if o + 8 > end {
        return None;
    }
    // In bounds: fh is the 8 bytes get(o..o + 8) returned.
    let fnh = fh[0];
    let offlg = u16::from_be_bytes([fh[2], fh[3]]);
    let offset = (offlg & 0xfff8) as u32;
    let more = offlg & 1 != 0;
    if offset == 0 && !more {
        return None; // a "useless" Fragment header: not a fragment
    }
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(ip.get(8..24)?);
    dst.copy_from_slice(ip.get(24..40)?);
    Some(Parsed {
        v6: true,
        src,
        dst,
        // In bounds: fh is the 8 bytes get(o..o + 8) returned.
        id: u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]),
        proto: IPV6_FRAGMENT_PROTO,
        offset,
        more,
        hdr_end: o,
        data_start: o + 8,
        data_end: end,
        nh_fix: Some((nh_pos, fnh)),
    })
}

/// Suricata's overlap walk (`DefragInsertFrag`): may trim or drop fragments already held and
/// decides how much of the new one to keep. Returns what to do with the new fragment, its
/// leading trim, whether it overlapped a held fragment, and how many held fragments it
/// removed. The arithmetic is Suricata's: `u16` fields, promoted to `int` in comparisons.
fn place(frags: &mut Vec<Frag>, policy: DefragPolicy, frag_offset: u16, frag_end: u16) -> (Place, u16, bool, usize) {
    let mut ltrim: u16 = 0;
    let mut overlap = false;
    if frags.is_empty() {
        return (Place::Insert, 0, false, 0);
    }
    let fo = frag_offset as i32;
    let fe = frag_end as i32;
    // Start at the last fragment before the new one's offset (or at the first one).
    let j = frags.partition_point(|f| f.offset < frag_offset);
    let mut p = if j == 0 || j >= frags.len() { 0 } else { j - 1 };
    while let Some(&pf) = frags.get(p) {
        let (po, pd) = (pf.offset as i32, pf.data_len as i32);
        if fo < po + pd && po < fe {
            overlap = true;
        }
        // None: look at the next fragment; Some((place, skip_prev)).
        let action = overlap_step(frags, p, policy, fo, fe, &mut ltrim);
        match action {
            None => p += 1,
            Some((Place::Drop, _)) => return (Place::Drop, ltrim, overlap, 0),
            Some((Place::Insert, skip)) => {
                // A held fragment trimmed away entirely is removed now.
                let gone = skip || frags.get(p).is_some_and(|f| f.ltrim >= f.data_len);
                if gone {
                    frags.remove(p);
                    return (Place::Insert, ltrim, overlap, 1);
                }
                break;
            }
        }
    }
    (Place::Insert, ltrim, overlap, 0)
}

/// One step of the overlap walk at held fragment `p` under `policy`: `None` to look at the
/// next fragment, else what to do with the new one and whether the held one goes.
fn overlap_step(
    frags: &mut [Frag],
    p: usize,
    policy: DefragPolicy,
    fo: i32,
    fe: i32,
    ltrim: &mut u16,
) -> Option<(Place, bool)> {
    let &pf = frags.get(p)?;
    let n = p + 1;
    let (po, pd, pl) = (pf.offset as i32, pf.data_len as i32, pf.ltrim as i32);
    let set_next_ltrim = |frags: &mut [Frag], n: usize| {
        if let Some(nf) = frags.get_mut(n) {
            if fe > nf.offset as i32 {
                nf.ltrim = (fe - nf.offset as i32) as u16;
            }
        }
    };
    match policy {
        DefragPolicy::Bsd => {
            if fo < po + pd {
                if po <= fo {
                    // Prefer the held data: trim the new fragment's start.
                    let prev_end = po + pd;
                    if prev_end > fe {
                        Some((Place::Drop, false))
                    } else {
                        *ltrim = (prev_end - fo) as u16;
                        set_next_ltrim(frags, n);
                        Some((Place::Insert, false))
                    }
                } else {
                    // The new fragment starts before the held one: it wins where they meet.
                    if fo <= po && fe > po + pl {
                        let prev_ltrim = (fe - po) as u16;
                        if let Some(f) = frags.get_mut(p) {
                            if prev_ltrim > f.ltrim {
                                f.ltrim = prev_ltrim;
                            }
                        }
                    }
                    set_next_ltrim(frags, n);
                    Some((Place::Insert, false))
                }
            } else {
                None
            }
        }
        DefragPolicy::Linux => {
            let lt = *ltrim as i32;
            if po + pl < fo + lt && po + pd > fo + lt {
                *ltrim = ltrim.wrapping_add((po + pd - fo) as u16);
            }
            let lt = *ltrim as i32;
            if fo + lt < po + pl && fe > po + pl {
                if let Some(f) = frags.get_mut(p) {
                    f.ltrim = f.ltrim.wrapping_add((fe - (po + pl)) as u16);
                }
                Some((Place::Insert, false))
            } else if fo + lt <= po + pl && fe >= po + pd {
                Some((Place::Insert, true))
            } else {
                None
            }
        }
        DefragPolicy::Windows => {
            let lt = *ltrim as i32;
            if fo + lt >= po + lt && fe <= po + pd {
                Some((Place::Drop, false))
            } else if fo + lt < po + lt && fe > po + pd {
                Some((Place::Insert, true))
            } else if (fo + lt > po + pl && fo + lt < po + pd) || (fo + lt == po + lt && fe > po + pd) {
                *ltrim = ltrim.wrapping_add((po + pd - fo) as u16);
                Some((Place::Insert, false))
            } else {
                None
            }
        }
        DefragPolicy::Solaris => {
            if fo < po + pd {
                if fo >= po {
                    *ltrim = (po + pd - fo) as u16;
                }
                Some((Place::Insert, fo < po && fe >= po + pd))
            } else {
                None
            }
        }
        DefragPolicy::First => {
            if fo >= po && fe <= po + pd {
                Some((Place::Drop, false))
            } else if fo < po {
                Some((Place::Insert, false))
            } else if fo < po + pd {
                *ltrim = (po + pd - fo) as u16;
                Some((Place::Insert, false))
            } else {
                None
            }
        }
        DefragPolicy::Last => {
            if fo <= po {
                if fe > po {
                    if let Some(f) = frags.get_mut(p) {
                        f.ltrim = (fe - po) as u16;
                    }
                }
                Some((Place::Insert, false))
            } else {
                None
            }
        }
    }
}

/// Internet checksum of an IPv4 header (checksum field zero).
fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in h.chunks(2) {
        // In bounds: chunks(2) never yields an empty chunk.
        s += u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]) as u32;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// The copy order of a reassembly: fragments by offset, a later copy overwriting an earlier
/// one; after a fragment without MF only fragments at its offset are still copied; fragments
/// trimmed away entirely are skipped. `visit` gets each fragment and the header length in
/// force (that of the latest offset-0 fragment).
fn walk(frags: &[Frag], mut visit: impl FnMut(&Frag, usize)) {
    let mut more = true;
    let mut prev_off = 0u16;
    let mut hlen = 0usize;
    for f in frags {
        if !more && f.offset > prev_off {
            break;
        }
        if f.ltrim >= f.data_len {
            continue;
        }
        if f.offset == 0 {
            hlen = f.hlen as usize;
        }
        visit(f, hlen);
        more = f.more;
        prev_off = f.offset;
    }
}

/// Suricata's `Defrag4Reassemble` / `Defrag6Reassemble` on one tracker.
fn rebuild(t: &Tracker, v6: bool) -> Rebuilt {
    if !t.seen_last {
        return Rebuilt::Wait;
    }
    match t.frags.first() {
        Some(f) if f.offset == 0 => {}
        _ => return Rebuilt::Wait,
    }
    // Every byte from 0 to the furthest end must be covered (trims are not looked at: the
    // fragment that trimmed another covers what it trimmed).
    let mut len = 0usize;
    for f in &t.frags {
        if f.offset as usize > len {
            return Rebuilt::Wait;
        }
        len = len.max(f.offset as usize + f.data_len as usize);
    }
    // Pass 1: sizes.
    let mut hlen = 0usize;
    let mut flen = 0usize;
    let mut extent = 0usize;
    let mut have_hdr = false;
    walk(&t.frags, |f, h| {
        let (off, dl) = (f.offset as usize, f.data_len as usize);
        if off == 0 {
            have_hdr = true;
            hlen = h;
            flen = dl;
            extent = extent.max(h + dl);
        } else {
            flen = flen.max(off + dl);
            extent = extent.max(h + off + dl);
        }
    });
    if !have_hdr || hlen < if v6 { 40 } else { 20 } {
        return Rebuilt::Fail(false);
    }
    let (total, too_large) =
        if v6 { (hlen + flen, hlen - 40 + flen > MAX_IP_LEN) } else { (hlen + flen, hlen + flen > MAX_IP_LEN) };
    if too_large {
        return Rebuilt::Fail(true);
    }
    // Pass 2: copy.
    let mut out = vec![0u8; extent.max(total)];
    let mut ok = true;
    walk(&t.frags, |f, h| {
        let at = f.at as usize;
        let (off, dl, lt) = (f.offset as usize, f.data_len as usize, f.ltrim as usize);
        // An offset-0 fragment is copied whole (header and data, trim or not), as Suricata.
        let (src, dst) = if off == 0 {
            (t.buf.get(at..at + h + dl), out.get_mut(0..h + dl))
        } else {
            let s = at + f.hlen as usize + lt;
            (t.buf.get(s..s + (dl - lt)), out.get_mut(h + off + lt..h + off + dl))
        };
        match (src, dst) {
            (Some(s), Some(d)) => d.copy_from_slice(s),
            _ => ok = false,
        }
    });
    if !ok {
        return Rebuilt::Fail(false);
    }
    out.truncate(total);
    if v6 {
        let plen = (total - 40) as u16;
        if let Some(b) = out.get_mut(4..6) {
            b.copy_from_slice(&plen.to_be_bytes());
        }
    } else {
        if let Some(b) = out.get_mut(2..4) {
            b.copy_from_slice(&(total as u16).to_be_bytes());
        }
        // Flags and offset zeroed (Suricata clears the whole field, DF included).
        if let Some(b) = out.get_mut(6..8) {
            b.copy_from_slice(&[0, 0]);
        }
        if let Some(b) = out.get_mut(10..12) {
            b.copy_from_slice(&[0, 0]);
        }
        let sum = out.get(..hlen).map(ipv4_checksum).unwrap_or(0);
        if let Some(b) = out.get_mut(10..12) {
            b.copy_from_slice(&sum.to_be_bytes());
        }
    }
    Rebuilt::Done(out)
}

impl Defrag {
    /// Empty state, limits from `cfg`.
    pub fn new(cfg: &DefragConfig) -> Self {
        Defrag {
            policy: cfg.policy,
            timeout_secs: cfg.timeout_secs.max(1),
            memcap: usize::try_from(cfg.memcap_bytes).unwrap_or(usize::MAX),
            max_frags: (cfg.max_frags as usize).max(1),
            max_trackers: (cfg.trackers as usize).max(1),
            map: HashMap::with_capacity_and_hasher(64, BuildHasherDefault::default()),
            slab: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            live: 0,
            frags: 0,
            memuse: 0,
            spare: Vec::new(),
        }
    }

    /// Bytes held (trackers and fragment data), as charged to the memcap.
    pub fn memuse(&self) -> usize {
        self.memuse
    }

    /// Datagrams being reassembled.
    pub fn trackers(&self) -> usize {
        self.live
    }

    /// Fragments held.
    pub fn frags_held(&self) -> usize {
        self.frags
    }

    /// Feeds one fragment: `frame` is the captured frame and `d` its decode, with
    /// [`flags::FRAGMENT`] set and `d.ip_off` at the (innermost) IP header; `d.vlan`,
    /// `d.vlan_n` and `d.depth` go into the tracker key. Returns the rebuilt IP datagram
    /// (starting at its IP header) when this fragment completes one. Packets that are not
    /// fragments (or whose headers do not parse) are ignored. Counts
    /// `defrag.ipv*.reassembled`, the fragment anomalies (`decoder.event.ipv*.frag_overlap`,
    /// `frag_pkt_too_large`, `frag_ignored`) and the limits; `defrag.ipv*.fragments` is the
    /// decoder's.
    pub fn fragment(
        &mut self,
        frame: &[u8],
        d: &Decoded,
        ts: Timestamp,
        c: &mut Counters,
        ev: &mut Events,
    ) -> Option<Vec<u8>> {
        if d.flags & flags::FRAGMENT == 0 {
            return None;
        }
        let ip = frame.get(d.ip_off as usize..)?;
        let f = if d.is_ipv6() { parse_v6(ip)? } else { parse_v4(ip)? };
        let data = ip.get(f.data_start..f.data_end)?;
        let data_len = data.len();
        // Suricata's check: a fragment whose end lies beyond the largest datagram is dropped.
        let too_large = if f.v6 {
            f.offset as usize + data_len > MAX_IP_LEN
        } else {
            20 + f.offset as usize + data_len > MAX_IP_LEN
        };
        if too_large {
            raise(c, ev, if f.v6 { Event::Ipv6FragPktTooLarge } else { Event::Ipv4FragPktTooLarge });
            return None;
        }
        self.expire(ts, c);
        let key = key_of(&f, d);
        let r = match self.tracker_for(key, ts, c) {
            Some(ti) => self.insert(ti, &f, ip, ts, c, ev),
            None => {
                c.inc(C::DefragMaxTrackersReached);
                None
            }
        };
        c.set(C::DefragMemuse, self.memuse as u64);
        r
    }

    /// Drops unfinished trackers that had no fragment for the timeout, up to packet time `now`
    /// (counted as `defrag.wrk.tracker_timeout`). Cheap when nothing expires: call it at every
    /// batch or chunk boundary.
    pub fn expire(&mut self, now: Timestamp, c: &mut Counters) {
        let mut n = 0;
        while let Some(t) = self.slab.get(self.head as usize) {
            if t.deadline > now.0 {
                break;
            }
            self.release(self.head);
            n += 1;
        }
        if n > 0 {
            c.add(C::DefragTrackerTimeout, n);
            c.set(C::DefragMemuse, self.memuse as u64);
        }
    }

    /// The live tracker for `key`, or a new one (evicting the least recently updated when the
    /// tracker or memory limit is reached). `None` when none can be had.
    fn tracker_for(&mut self, key: Key, ts: Timestamp, c: &mut Counters) -> Option<u32> {
        if let Some(&i) = self.map.get(&key) {
            let expired = self.slab.get(i as usize).is_none_or(|t| t.deadline <= ts.0);
            if !expired {
                return Some(i);
            }
            self.release(i);
            c.inc(C::DefragTrackerTimeout);
        }
        while self.live >= self.max_trackers || self.memuse + TRACKER_COST > self.memcap {
            if self.head == NIL {
                return None;
            }
            self.release(self.head);
            c.inc(C::DefragTrackerHardReuse);
        }
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.slab.len()).ok().filter(|&i| i != NIL)?;
                self.slab.push(Tracker::default());
                i
            }
        };
        let buf = self.spare.pop().unwrap_or_default();
        let t = self.slab.get_mut(i as usize)?;
        t.key = key;
        t.live = true;
        t.seen_last = false;
        t.deadline = 0;
        t.buf = buf;
        t.frags.clear();
        t.mem = t.charge();
        self.memuse += t.mem;
        self.live += 1;
        self.map.insert(key, i);
        self.push_back(i);
        Some(i)
    }

    /// Inserts a fragment into tracker `ti` (Suricata's `DefragInsertFrag`).
    fn insert(
        &mut self,
        ti: u32,
        f: &Parsed,
        ip: &[u8],
        ts: Timestamp,
        c: &mut Counters,
        ev: &mut Events,
    ) -> Option<Vec<u8>> {
        let v6 = f.v6;
        let data_len = (f.data_end - f.data_start) as u16;
        let frag_offset = f.offset as u16;
        let frag_end = frag_offset.saturating_add(data_len);
        // The timeout runs from the latest fragment, in whole seconds as Suricata's.
        let deadline = ts.secs().saturating_add(self.timeout_secs).saturating_mul(1_000_000_000);
        self.unlink(ti);
        self.push_back(ti);
        let policy = self.policy;
        let t = self.slab.get_mut(ti as usize)?;
        t.deadline = deadline;
        let (placed, ltrim, overlap, removed) = place(&mut t.frags, policy, frag_offset, frag_end);
        let old = t.mem;
        t.mem = t.charge();
        self.memuse = self.memuse - old + t.mem;
        self.frags -= removed;
        let r = match placed {
            Place::Insert if ltrim < data_len => self.store(ti, f, ip, ltrim, c, ev),
            _ => None,
        };
        if overlap {
            raise(c, ev, if v6 { Event::Ipv6FragOverlap } else { Event::Ipv4FragOverlap });
        }
        r
    }

    /// Stores the kept part of a fragment and rebuilds the datagram when it is complete.
    fn store(
        &mut self,
        ti: u32,
        f: &Parsed,
        ip: &[u8],
        ltrim: u16,
        c: &mut Counters,
        ev: &mut Events,
    ) -> Option<Vec<u8>> {
        let v6 = f.v6;
        let ignored = if v6 { Event::Ipv6FragIgnored } else { Event::Ipv4FragIgnored };
        let first = f.offset == 0 && ltrim == 0;
        let hdr = if first { ip.get(..f.hdr_end)? } else { &[][..] };
        let data = ip.get(f.data_start + ltrim as usize..f.data_end)?;
        if self.frags >= self.max_frags {
            c.inc(C::DefragMaxFragsReached);
            raise(c, ev, ignored);
            return None;
        }
        let t = self.slab.get_mut(ti as usize)?;
        if t.compact() {
            let old = t.mem;
            t.mem = t.charge();
            self.memuse = self.memuse - old + t.mem;
        }
        // Make room: evict the least recently updated other trackers.
        let need = FRAG_COST + hdr.len() + data.len();
        while self.memuse + need > self.memcap {
            let h = self.head;
            let victim = if h != ti { h } else { self.slab.get(h as usize).map_or(NIL, |t| t.next) };
            if victim == NIL {
                c.inc(C::DefragMemcapDrop);
                raise(c, ev, ignored);
                return None;
            }
            self.release(victim);
            c.inc(C::DefragTrackerHardReuse);
        }
        let t = self.slab.get_mut(ti as usize)?;
        let at = t.buf.len();
        if u32::try_from(at + need).is_err() {
            // Offsets into the buffer are u32 (only reachable with a memcap over 4 GiB).
            c.inc(C::DefragMemcapDrop);
            raise(c, ev, ignored);
            return None;
        }
        t.buf.extend_from_slice(hdr);
        t.buf.extend_from_slice(data);
        if let Some((pos, nh)) = f.nh_fix.filter(|_| first) {
            // The Fragment header goes: what named it now names what followed it.
            if let Some(b) = t.buf.get_mut(at + pos) {
                *b = nh;
            }
        }
        let nf = Frag {
            offset: (f.offset as u16).wrapping_add(ltrim),
            data_len: data.len() as u16,
            ltrim: 0,
            hlen: hdr.len() as u16,
            more: f.more,
            at: at as u32,
        };
        let pos = t.frags.partition_point(|x| x.offset <= nf.offset);
        t.frags.insert(pos, nf);
        if !f.more {
            t.seen_last = true;
        }
        let old = t.mem;
        t.mem = t.charge();
        self.memuse = self.memuse - old + t.mem;
        self.frags += 1;
        match rebuild(t, v6) {
            Rebuilt::Wait => None,
            Rebuilt::Done(out) => {
                c.inc(if v6 { C::DefragIpv6Reassembled } else { C::DefragIpv4Reassembled });
                self.release(ti);
                Some(out)
            }
            Rebuilt::Fail(too_large) => {
                if too_large {
                    raise(c, ev, if v6 { Event::Ipv6FragPktTooLarge } else { Event::Ipv4FragPktTooLarge });
                }
                self.release(ti);
                None
            }
        }
    }

    /// Frees tracker `i`: unlinked, its fragments dropped, its buffers kept for reuse.
    fn release(&mut self, i: u32) {
        let Some(t) = self.slab.get_mut(i as usize) else { return };
        if !t.live {
            return;
        }
        t.live = false;
        let key = t.key;
        let mem = t.mem;
        let nfrags = t.frags.len();
        let mut buf = std::mem::take(&mut t.buf);
        if t.frags.capacity() > SPARE_FRAGS_MAX {
            t.frags = Vec::new();
        } else {
            t.frags.clear();
        }
        t.mem = 0;
        self.map.remove(&key);
        self.unlink(i);
        self.frags -= nfrags;
        self.memuse -= mem;
        self.live -= 1;
        self.free.push(i);
        if buf.capacity() <= SPARE_BUF_MAX && self.spare.len() < SPARE_BUFS {
            buf.clear();
            self.spare.push(buf);
        }
    }

    fn unlink(&mut self, i: u32) {
        let Some(t) = self.slab.get_mut(i as usize) else { return };
        let (p, n) = (t.prev, t.next);
        t.prev = NIL;
        t.next = NIL;
        match self.slab.get_mut(p as usize) {
            Some(pt) => pt.next = n,
            None if self.head == i => self.head = n,
            None => {}
        }
        match self.slab.get_mut(n as usize) {
            Some(nt) => nt.prev = p,
            None if self.tail == i => self.tail = p,
            None => {}
        }
    }

    fn push_back(&mut self, i: u32) {
        let tail = self.tail;
        if let Some(t) = self.slab.get_mut(i as usize) {
            t.prev = tail;
            t.next = NIL;
        }
        match self.slab.get_mut(tail as usize) {
            Some(tt) => tt.next = i,
            None => self.head = i,
        }
        self.tail = i;
    }
}

fn key_of(f: &Parsed, d: &Decoded) -> Key {
    let (lo, hi) = if f.src <= f.dst { (f.src, f.dst) } else { (f.dst, f.src) };
    let mut vlan = [0u16; 3];
    if d.depth == 0 {
        for (i, v) in vlan.iter_mut().enumerate().take(d.vlan_n as usize) {
            *v = d.vlan.get(i).copied().unwrap_or(0);
        }
    }
    Key { lo, hi, id: f.id, proto: f.proto, v6: f.v6, depth: d.depth, vlan }
}

/// Gives a rebuilt datagram's decode the context of the fragments it came from: their VLAN
/// ids and tunnel depth (the decode of the datagram alone starts at depth 0 without VLANs).
/// Inside a tunnel, the datagram's flow bytes are the datagram's length.
pub fn adopt_context(rd: &mut Decoded, frag: &Decoded, dgram_len: usize) {
    rd.vlan = frag.vlan;
    rd.vlan_n = frag.vlan_n;
    if frag.depth > 0 {
        if rd.depth == 0 {
            rd.inner_off = 0;
            rd.outer_end = dgram_len as u32;
        }
        rd.depth = rd.depth.saturating_add(frag.depth);
        rd.flags |= flags::TUNNELLED;
        if let Some(o) = rd.outer.as_mut() {
            o.depth = o.depth.saturating_add(frag.depth);
        }
    }
}

/// Counts a fragment anomaly and lists it on the fragment's packet.
fn raise(c: &mut Counters, ev: &mut Events, e: Event) {
    crate::decode::event::count(c, e);
    ev.push(e);
}

/// Decodes a datagram returned by [`Defrag::fragment`] (raw IP) as Suricata re-decodes a
/// rebuilt packet: the IP and transport layers are counted again (`decoder.ipv4`,
/// `decoder.udp`, ...), but not as a captured packet (`decoder.pkts`, `decoder.bytes`,
/// `decoder.max_pkt_size`, `decoder.raw` and `decoder.invalid` are left as they were).
/// Then [`adopt_context`] with the completing fragment's decode `frag`. `None` when the IP
/// header does not decode (Suricata drops such a rebuilt packet).
pub fn decode_rebuilt(decoder: &Decoder, dgram: &[u8], frag: &Decoded, c: &mut Counters) -> Option<Decoded> {
    let keep = [C::DecoderPkts, C::DecoderBytes, C::DecoderMaxPktSize, C::DecoderRaw, C::DecoderInvalid];
    let saved = keep.map(|k| c.get(k));
    let mut rd = Decoded::default();
    decoder.decode(LinkType::RAW, dgram, &mut rd, c);
    for (k, v) in keep.iter().zip(saved) {
        c.set(*k, v);
    }
    if !rd.is_ip() {
        return None;
    }
    adopt_context(&mut rd, frag, dgram.len());
    Some(rd)
}

#[cfg(test)]
mod tests;
