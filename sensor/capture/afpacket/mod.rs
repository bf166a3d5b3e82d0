//! Linux AF_PACKET capture: one TPACKET_V3 memory-mapped ring per worker and interface, the
//! sockets of an interface joined in one `PACKET_FANOUT` group.
//!
//! Takes: interface names and the `[capture]` options. Promises: the kernel shards flows over
//! the sockets (hash fanout is symmetric, so both directions of a flow reach the same worker;
//! the `defrag` flag makes the kernel reassemble IPv4 fragments before hashing so they follow
//! their flow); each [`AfPacketSource`] lends the frames of the retired ring blocks of its
//! sockets through [`PacketSource`]. A block is copied into one shared chunk and handed back
//! to the kernel at once, so the ring refills while the worker inspects, and the frames reach
//! the worker as zero-copy slices of that chunk (one allocation per block, none per packet).
//! VLAN tags the kernel moved into the ring's metadata (`tp_vlan_tci`,
//! `TP_STATUS_VLAN_VALID`) are put back into the frame, so decoding sees what the wire
//! carried. Kernel counters (`PACKET_STATISTICS`, reset by every read) are accumulated here.
//! Never: blocks longer than the poll timeout; panics on ring contents (every offset the
//! kernel writes is bounds-checked before use).

use bytes::{Bytes, BytesMut};

use super::{CaptureWarning, FrameRef, LinkType, PacketSource, Timestamp};
use crate::sys;

pub(crate) use super::FanoutMode;

fn fanout_code(m: FanoutMode) -> u16 {
    match m {
        FanoutMode::Hash => 0,
        FanoutMode::Lb => 1,
        FanoutMode::Cpu => 2,
        FanoutMode::Rollover => 3,
        FanoutMode::Random => 4,
        FanoutMode::QueueMapping => 5,
    }
}

const FANOUT_FLAG_DEFRAG: u16 = 0x8000;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
/// Size of `struct tpacket3_hdr` up to the frame.
const HDR3_MIN: usize = 40;

/// How to open the rings.
#[derive(Clone, Debug)]
pub(crate) struct RingOptions {
    /// Bytes per ring block (a multiple of the page size).
    pub block_bytes: u32,
    /// Blocks per ring.
    pub blocks: u32,
    /// Milliseconds after which the kernel hands over a block that is not full.
    pub block_timeout_ms: u32,
    /// Fanout mode.
    pub fanout: FanoutMode,
    /// Kernel IPv4 defragmentation before the fanout hash.
    pub fanout_defrag: bool,
    /// Fanout group id (per interface: id + interface position); must be unique per host
    /// namespace among programs using fanout on the same interface.
    pub fanout_group: u16,
    /// Promiscuous mode.
    pub promiscuous: bool,
    /// tcpdump expression ("" = everything).
    pub bpf_filter: String,
    /// Bytes kept of each frame.
    pub snaplen: u32,
}

/// An interface as the capture sees it.
#[derive(Clone, Debug)]
pub(crate) struct Interface {
    /// Name.
    pub name: String,
    /// Kernel index.
    pub index: u32,
    /// Link type of its frames.
    pub linktype: LinkType,
}

impl Interface {
    /// Looks `name` up (an error names the interface).
    pub(crate) fn lookup(name: &str) -> Result<Interface, String> {
        let index = sys::if_nametoindex(name).ok_or_else(|| format!("{name}: no such interface"))?;
        Ok(Interface { name: name.to_string(), index, linktype: linktype_of(name) })
    }

    /// The pcap DLT for compiling filters.
    fn dlt(&self) -> i32 {
        if self.linktype == LinkType::RAW {
            12
        } else {
            1
        }
    }
}

/// The link type of an interface from its ARPHRD type (`/sys/class/net/IF/type`): raw IP for
/// tun-like devices (ARPHRD_NONE, ARPHRD_RAWIP), Ethernet otherwise (loopback included).
pub(crate) fn linktype_of(name: &str) -> LinkType {
    let t = std::fs::read_to_string(format!("/sys/class/net/{name}/type")).unwrap_or_default();
    match t.trim() {
        "65534" | "519" => LinkType::RAW,
        _ => LinkType::ETHERNET,
    }
}

/// Whether the interface is up with a carrier (`operstate` up, or unknown with IFF_UP for
/// devices without carrier reporting). `None` when it does not exist.
pub(crate) fn link_up(name: &str) -> Option<bool> {
    let base = format!("/sys/class/net/{name}");
    let oper = std::fs::read_to_string(format!("{base}/operstate")).ok()?;
    match oper.trim() {
        "up" => Some(true),
        "unknown" => {
            let flags = std::fs::read_to_string(format!("{base}/flags")).ok()?;
            let f = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap_or(0);
            Some(f & 1 != 0)
        }
        _ => Some(false),
    }
}

/// Compiles the capture filter for `iface` (an error quotes libpcap's message).
pub(crate) fn compile_filter(expr: &str, iface: &Interface, snaplen: u32) -> Result<Vec<sys::BpfInsn>, String> {
    sys::compile_bpf(expr, iface.dlt(), snaplen)
        .map_err(|e| format!("capture.bpf_filter `{expr}` on {}: {e}", iface.name))
}

/// Kernel counters of a source, accumulated over reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct KernelStats {
    /// Packets that passed the filter (received plus dropped).
    pub packets: u64,
    /// Packets dropped because the ring was full.
    pub drops: u64,
    /// Times the queue was frozen (ring full).
    pub freeze_q: u64,
}

struct IfRing {
    ring: sys::Ring,
    iface: Interface,
    iface_pos: u16,
    next: usize,
    stats: KernelStats,
    errors: u64,
}

/// One worker's capture: a ring on each interface.
pub(crate) struct AfPacketSource {
    rings: Vec<IfRing>,
    revents: Vec<i16>,
    fds: Vec<i32>,
    /// Poll timeout, milliseconds.
    pub poll_ms: i32,
    stats: KernelStats,
    /// Socket errors met (link down and the like), cleared and counted.
    pub socket_errors: u64,
    warnings: Vec<CaptureWarning>,
    frames: Vec<(usize, usize, Timestamp, u32, LinkType, u16)>,
    blocks_per_call: usize,
}

/// Opens one source per worker over `ifaces`; fanout is joined when there are several workers.
pub(crate) fn open(ifaces: &[Interface], workers: usize, o: &RingOptions) -> Result<Vec<AfPacketSource>, String> {
    let mut sources: Vec<AfPacketSource> = (0..workers)
        .map(|_| AfPacketSource {
            rings: Vec::new(),
            revents: Vec::new(),
            fds: Vec::new(),
            poll_ms: 100,
            stats: KernelStats::default(),
            socket_errors: 0,
            warnings: Vec::new(),
            frames: Vec::with_capacity(4096),
            blocks_per_call: 8,
        })
        .collect();
    for (pos, iface) in ifaces.iter().enumerate() {
        let filter = if !o.bpf_filter.trim().is_empty() || o.snaplen < 262_144 {
            Some(compile_filter(&o.bpf_filter, iface, o.snaplen)?)
        } else {
            None
        };
        let group = o.fanout_group.wrapping_add(pos as u16);
        for (w, src) in sources.iter_mut().enumerate() {
            let e = |what: &str, err: std::io::Error| format!("{}: {what} (socket {w}): {err}", iface.name);
            let fd = sys::packet_socket().map_err(|x| e("cannot open an AF_PACKET socket", x))?;
            sys::set_tpacket_v3(&fd).map_err(|x| e("TPACKET_V3 not available", x))?;
            let ring = sys::Ring::new(fd, o.block_bytes, o.blocks, 2048, o.block_timeout_ms)
                .map_err(|x| e("cannot set up the ring (capture.ring_block_bytes/ring_blocks)", x))?;
            if let Some(f) = &filter {
                sys::attach_filter(ring.fd(), f).map_err(|x| e("cannot attach the BPF filter", x))?;
            }
            sys::bind_ifindex(ring.fd(), iface.index).map_err(|x| e("cannot bind", x))?;
            if o.promiscuous {
                sys::add_promisc(ring.fd(), iface.index).map_err(|x| e("cannot enable promiscuous mode", x))?;
            }
            if workers > 1 {
                let mut mode = fanout_code(o.fanout);
                if o.fanout_defrag {
                    mode |= FANOUT_FLAG_DEFRAG;
                }
                sys::join_fanout(ring.fd(), group, mode).map_err(|x| {
                    e(
                        &format!(
                            "cannot join fanout group {group} (in use by another program? set capture.fanout_group)"
                        ),
                        x,
                    )
                })?;
            }
            src.fds.push(ring.fd());
            src.rings.push(IfRing {
                ring,
                iface: iface.clone(),
                iface_pos: pos as u16,
                next: 0,
                stats: KernelStats::default(),
                errors: 0,
            });
        }
    }
    Ok(sources)
}

impl AfPacketSource {
    /// Reads the kernel counters (which the kernel resets on read) and adds them to the totals.
    pub(crate) fn kernel_stats(&mut self) -> KernelStats {
        for r in &mut self.rings {
            if let Ok((p, d, f)) = sys::packet_stats(r.ring.fd()) {
                for st in [&mut self.stats, &mut r.stats] {
                    st.packets += p as u64;
                    st.drops += d as u64;
                    st.freeze_q += f as u64;
                }
            }
        }
        self.stats
    }

    /// Per interface (its position in the list given to [`open`]): the kernel counters as of
    /// the last [`AfPacketSource::kernel_stats`], and the socket errors met.
    pub(crate) fn iface_stats(&self) -> impl Iterator<Item = (u16, KernelStats, u64)> + '_ {
        self.rings.iter().map(|r| (r.iface_pos, r.stats, r.errors))
    }

    /// Lends the frames of every block the kernel has handed over, without waiting.
    pub(crate) fn drain(&mut self, f: &mut dyn FnMut(FrameRef<'_>)) -> usize {
        let mut n = 0;
        for i in 0..self.rings.len() {
            n += self.read_ring(i, usize::MAX, f);
        }
        n
    }

    fn read_ring(&mut self, i: usize, max_blocks: usize, f: &mut dyn FnMut(FrameRef<'_>)) -> usize {
        let mut done = 0;
        while done < max_blocks {
            // In bounds: i < rings.len() (the loops of both callers).
            let r = &mut self.rings[i];
            let nblocks = r.ring.blocks();
            let frames = &mut self.frames;
            frames.clear();
            let (pos, lt) = (r.iface_pos, r.iface.linktype);
            let mut chunk = BytesMut::new();
            let got = r.ring.with_block(r.next, |blk| copy_block(blk, lt, pos, &mut chunk, frames));
            if !got {
                break;
            }
            r.next = (r.next + 1) % nblocks;
            done += 1;
            let chunk: Bytes = chunk.freeze();
            for &(start, len, ts, orig, lt, pos) in frames.iter() {
                if let Some(data) = chunk.get(start..start + len) {
                    f(FrameRef::shared(&chunk, data, ts, orig, lt, pos));
                }
            }
        }
        done
    }
}

/// Copies the frames of one ring block into `chunk`, putting back VLAN tags, and records
/// where each frame is. Every offset is checked against the block.
fn copy_block(
    blk: &[u8],
    lt: LinkType,
    pos: u16,
    chunk: &mut BytesMut,
    frames: &mut Vec<(usize, usize, Timestamp, u32, LinkType, u16)>,
) {
    // In bounds: get(o..o + 4) and get(o..o + 2) give 4 and 2 bytes.
    let u32_at = |o: usize| blk.get(o..o + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
    let u16_at = |o: usize| blk.get(o..o + 2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let (Some(num), Some(first), Some(blk_len)) = (u32_at(12), u32_at(16), u32_at(20)) else { return };
    chunk.reserve((blk_len as usize).min(blk.len()) + num as usize * 4);
    let mut off = first as usize;
    for _ in 0..num {
        let (Some(next), Some(sec), Some(nsec), Some(snap), Some(len), Some(status), Some(mac)) = (
            u32_at(off),
            u32_at(off + 4),
            u32_at(off + 8),
            u32_at(off + 12),
            u32_at(off + 16),
            u32_at(off + 20),
            u16_at(off + 24),
        ) else {
            return;
        };
        if off + HDR3_MIN > blk.len() {
            return;
        }
        let start = off + mac as usize;
        let Some(data) = blk.get(start..start + snap as usize) else { return };
        let ts = Timestamp::from_parts(sec as u64, nsec as u64);
        let at = chunk.len();
        let mut orig = len;
        if status & TP_STATUS_VLAN_VALID != 0 && lt == LinkType::ETHERNET && data.len() >= 12 {
            let tci = u32_at(off + 32).unwrap_or(0) as u16;
            let tpid =
                if status & TP_STATUS_VLAN_TPID_VALID != 0 { u16_at(off + 36).unwrap_or(0x8100) } else { 0x8100 };
            // In bounds: data.len() >= 12 is tested above.
            chunk.extend_from_slice(&data[..12]);
            chunk.extend_from_slice(&tpid.to_be_bytes());
            chunk.extend_from_slice(&tci.to_be_bytes());
            chunk.extend_from_slice(&data[12..]);
            orig = orig.saturating_add(4);
        } else {
            chunk.extend_from_slice(data);
        }
        frames.push((at, chunk.len() - at, ts, orig, lt, pos));
        if next == 0 {
            return;
        }
        off += next as usize;
    }
}

impl PacketSource for AfPacketSource {
    /// Waits up to `poll_ms` for a block on any ring, then lends the frames of the blocks
    /// ready (a few per ring, so ticks and shutdown checks stay timely). Always `true`: a live
    /// source does not end; the caller stops reading.
    fn next_batch(&mut self, f: &mut dyn FnMut(FrameRef<'_>)) -> bool {
        let mut n = 0;
        for i in 0..self.rings.len() {
            n += self.read_ring(i, self.blocks_per_call, f);
        }
        if n > 0 {
            return true;
        }
        let mut revents = std::mem::take(&mut self.revents);
        if let Err(e) = sys::poll_in(&self.fds, self.poll_ms, &mut revents) {
            self.warnings.push(CaptureWarning { source: "poll".into(), offset: None, reason: e.to_string() });
            std::thread::sleep(std::time::Duration::from_millis(self.poll_ms as u64));
        }
        for (i, &re) in revents.iter().enumerate() {
            if re & sys::POLLERR != 0 {
                // Link down and similar: the error is reported once by poll; clear it so
                // poll waits again, and keep the socket (it resumes when the link is back).
                // In bounds: poll_in leaves revents empty or one entry per fd, and fds and rings are pushed together.
                if let Some(e) = sys::take_socket_error(self.fds[i]) {
                    self.socket_errors += 1;
                    // In bounds: as above.
                    self.rings[i].errors += 1;
                    let name = self.rings[i].iface.name.clone();
                    self.warnings.push(CaptureWarning { source: name, offset: None, reason: e.to_string() });
                } else {
                    std::thread::sleep(std::time::Duration::from_millis(self.poll_ms as u64));
                }
            }
        }
        self.revents = revents;
        for i in 0..self.rings.len() {
            self.read_ring(i, self.blocks_per_call, f);
        }
        true
    }

    fn take_warnings(&mut self) -> Vec<CaptureWarning> {
        std::mem::take(&mut self.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block as the kernel lays it out: descriptor, then frames with tpacket3 headers.
    /// A frame's bytes and its VLAN (tci, tpid) in the ring metadata.
    type TestFrame<'a> = (&'a [u8], Option<(u16, u16)>);

    fn block(frames: &[TestFrame<'_>]) -> Vec<u8> {
        let mut b = vec![0u8; 48];
        let first = 48u32;
        b[12..16].copy_from_slice(&(frames.len() as u32).to_ne_bytes());
        b[16..20].copy_from_slice(&first.to_ne_bytes());
        for (i, (data, vlan)) in frames.iter().enumerate() {
            let off = b.len();
            let mut h = vec![0u8; 64];
            let next = if i + 1 == frames.len() { 0 } else { (64 + data.len()).next_multiple_of(16) as u32 };
            h[0..4].copy_from_slice(&next.to_ne_bytes());
            h[4..8].copy_from_slice(&7u32.to_ne_bytes());
            h[8..12].copy_from_slice(&5u32.to_ne_bytes());
            h[12..16].copy_from_slice(&(data.len() as u32).to_ne_bytes());
            h[16..20].copy_from_slice(&(data.len() as u32).to_ne_bytes());
            let mut st = 1u32;
            if let Some((tci, tpid)) = vlan {
                st |= TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID;
                h[32..36].copy_from_slice(&(*tci as u32).to_ne_bytes());
                h[36..38].copy_from_slice(&tpid.to_ne_bytes());
            }
            h[20..24].copy_from_slice(&st.to_ne_bytes());
            h[24..26].copy_from_slice(&64u16.to_ne_bytes());
            b.extend_from_slice(&h);
            b.extend_from_slice(data);
            if next != 0 {
                b.resize(off + next as usize, 0);
            }
        }
        let len = b.len() as u32;
        b[20..24].copy_from_slice(&len.to_ne_bytes());
        b
    }

    #[test]
    fn block_frames_are_copied_and_vlan_tags_restored() {
        let f1: Vec<u8> = (0u8..60).collect();
        let f2: Vec<u8> = (100u8..170).collect();
        let blk = block(&[(&f1, None), (&f2, Some((0x2064, 0x8100)))]);
        let mut chunk = BytesMut::new();
        let mut frames = Vec::new();
        copy_block(&blk, LinkType::ETHERNET, 3, &mut chunk, &mut frames);
        assert_eq!(frames.len(), 2);
        let (s, l, ts, orig, _, pos) = frames[0];
        assert_eq!(&chunk[s..s + l], &f1[..]);
        assert_eq!(ts, Timestamp::from_parts(7, 5));
        assert_eq!((orig, pos), (60, 3));
        let (s, l, _, orig, _, _) = frames[1];
        let got = &chunk[s..s + l];
        assert_eq!(&got[..12], &f2[..12]);
        assert_eq!(&got[12..16], &[0x81, 0x00, 0x20, 0x64]);
        assert_eq!(&got[16..], &f2[12..]);
        assert_eq!(orig, 74);
    }

    #[test]
    fn damaged_blocks_never_panic() {
        let f1: Vec<u8> = (0u8..60).collect();
        let blk = block(&[(&f1, Some((5, 0x88a8))), (&f1, None)]);
        for cut in 0..blk.len() {
            let mut chunk = BytesMut::new();
            let mut frames = Vec::new();
            copy_block(&blk[..cut], LinkType::ETHERNET, 0, &mut chunk, &mut frames);
            for &(s, l, ..) in &frames {
                assert!(s + l <= chunk.len());
            }
        }
        // a frame count that lies, offsets that point outside
        let mut bad = blk.clone();
        bad[12..16].copy_from_slice(&1000u32.to_ne_bytes());
        bad[16..20].copy_from_slice(&u32::MAX.to_ne_bytes());
        let mut chunk = BytesMut::new();
        let mut frames = Vec::new();
        copy_block(&bad, LinkType::ETHERNET, 0, &mut chunk, &mut frames);
        assert!(frames.is_empty());
    }

    #[test]
    fn filters_compile_through_libpcap() {
        let eth = Interface { name: "x".into(), index: 1, linktype: LinkType::ETHERNET };
        let p = compile_filter("tcp port 80", &eth, 65535).unwrap();
        assert!(p.len() > 4);
        // the accept instruction returns the snaplen
        assert!(p.iter().any(|i| i.code == 0x06 && i.k == 65535));
        let e = compile_filter("tcp port eighty", &eth, 65535).unwrap_err();
        assert!(e.contains("eighty"), "{e}");
        let all = compile_filter("", &eth, 128).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].k, 128);
    }
}
