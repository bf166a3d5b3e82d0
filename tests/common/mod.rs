//! Shared helpers for the integration tests: capture-file writers (classic pcap in both byte
//! orders and both timestamp resolutions, pcapng with several interfaces), frame builders
//! (IP packets built with etherparse, wrapped in the link layers by hand), and a runner for the
//! `picket` binary that parses the EVE output it writes.

#![allow(dead_code, reason = "each test crate uses a part of the helpers")]

pub mod netns;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use etherparse::{PacketBuilder, TcpHeader};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Link types and time

/// BSD loopback (host byte order family).
pub const LT_NULL: u32 = 0;
/// Ethernet.
pub const LT_ETHERNET: u32 = 1;
/// Raw IP (version from the first nibble).
pub const LT_RAW: u32 = 101;
/// OpenBSD loopback (network byte order family).
pub const LT_LOOP: u32 = 108;
/// Linux cooked capture v1.
pub const LT_SLL: u32 = 113;
/// Raw IPv4.
pub const LT_IPV4: u32 = 228;
/// Raw IPv6.
pub const LT_IPV6: u32 = 229;
/// Linux cooked capture v2.
pub const LT_SLL2: u32 = 276;

/// 2023-11-14T22:13:20Z, the base time of every capture written here.
pub const T0_SECS: u64 = 1_700_000_000;

/// Packet time `ms` milliseconds after [`T0_SECS`], in nanoseconds since the epoch.
pub fn t_ms(ms: u64) -> u64 {
    T0_SECS * 1_000_000_000 + ms * 1_000_000
}

/// Packet time `ns` nanoseconds after [`T0_SECS`].
pub fn t_ns(ns: u64) -> u64 {
    T0_SECS * 1_000_000_000 + ns
}

/// EVE's rendering of [`T0_SECS`] plus `micros` microseconds (under one second).
pub fn eve_ts(micros: u64) -> String {
    assert!(micros < 1_000_000);
    format!("2023-11-14T22:13:20.{micros:06}+0000")
}

// ---------------------------------------------------------------------------------------------
// Classic pcap

/// Byte order of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    /// Little-endian (what x86 writers produce).
    Little,
    /// Big-endian.
    Big,
}

/// Global header settings of a classic pcap file.
#[derive(Clone, Copy, Debug)]
pub struct PcapHeader {
    /// Byte order.
    pub endian: Endian,
    /// Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds (0xa1b2c3d4).
    pub nanos: bool,
    /// Snapshot length.
    pub snaplen: u32,
    /// Link type of every record.
    pub linktype: u32,
}

impl PcapHeader {
    /// Little-endian, microseconds, snaplen 65535.
    pub fn le_usec(linktype: u32) -> Self {
        PcapHeader { endian: Endian::Little, nanos: false, snaplen: 65535, linktype }
    }
    /// Little-endian, nanoseconds.
    pub fn le_nsec(linktype: u32) -> Self {
        PcapHeader { endian: Endian::Little, nanos: true, snaplen: 65535, linktype }
    }
    /// Big-endian, microseconds.
    pub fn be_usec(linktype: u32) -> Self {
        PcapHeader { endian: Endian::Big, nanos: false, snaplen: 65535, linktype }
    }
    /// Big-endian, nanoseconds.
    pub fn be_nsec(linktype: u32) -> Self {
        PcapHeader { endian: Endian::Big, nanos: true, snaplen: 65535, linktype }
    }
}

fn put_u32(v: &mut Vec<u8>, e: Endian, x: u32) {
    match e {
        Endian::Little => v.extend_from_slice(&x.to_le_bytes()),
        Endian::Big => v.extend_from_slice(&x.to_be_bytes()),
    }
}

fn put_u16(v: &mut Vec<u8>, e: Endian, x: u16) {
    match e {
        Endian::Little => v.extend_from_slice(&x.to_le_bytes()),
        Endian::Big => v.extend_from_slice(&x.to_be_bytes()),
    }
}

/// The 24-byte global header.
pub fn pcap_global_header(h: &PcapHeader) -> Vec<u8> {
    let mut v = Vec::with_capacity(24);
    put_u32(&mut v, h.endian, if h.nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    put_u16(&mut v, h.endian, 2);
    put_u16(&mut v, h.endian, 4);
    put_u32(&mut v, h.endian, 0); // thiszone
    put_u32(&mut v, h.endian, 0); // sigfigs
    put_u32(&mut v, h.endian, h.snaplen);
    put_u32(&mut v, h.endian, h.linktype);
    v
}

/// A 16-byte record header: time `ts_ns`, `caplen` captured bytes, `origlen` on the wire.
pub fn pcap_record_header(h: &PcapHeader, ts_ns: u64, caplen: u32, origlen: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    let secs = (ts_ns / 1_000_000_000) as u32;
    let frac = (ts_ns % 1_000_000_000) as u32;
    put_u32(&mut v, h.endian, secs);
    put_u32(&mut v, h.endian, if h.nanos { frac } else { frac / 1000 });
    put_u32(&mut v, h.endian, caplen);
    put_u32(&mut v, h.endian, origlen);
    v
}

/// A whole classic pcap file of `frames` (time in ns, bytes).
pub fn pcap(h: &PcapHeader, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut v = pcap_global_header(h);
    for (ts, data) in frames {
        v.extend(pcap_record_header(h, *ts, data.len() as u32, data.len() as u32));
        v.extend_from_slice(data);
    }
    v
}

/// Little-endian microsecond pcap.
pub fn pcap_le_usec(linktype: u32, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    pcap(&PcapHeader::le_usec(linktype), frames)
}

/// Little-endian nanosecond pcap.
pub fn pcap_le_nsec(linktype: u32, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    pcap(&PcapHeader::le_nsec(linktype), frames)
}

/// Big-endian microsecond pcap.
pub fn pcap_be_usec(linktype: u32, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    pcap(&PcapHeader::be_usec(linktype), frames)
}

// ---------------------------------------------------------------------------------------------
// pcapng

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// A little-endian pcapng writer: one section, interfaces described up front or on the way,
/// enhanced packet blocks.
pub struct PcapNg {
    buf: Vec<u8>,
    /// Per interface: timestamp units per second.
    units: Vec<u64>,
}

impl Default for PcapNg {
    fn default() -> Self {
        Self::new()
    }
}

impl PcapNg {
    /// Starts a file with its section header block.
    pub fn new() -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(&0x0a0d_0d0au32.to_le_bytes());
        buf.extend_from_slice(&28u32.to_le_bytes());
        buf.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
        buf.extend_from_slice(&1u16.to_le_bytes());
        buf.extend_from_slice(&0u16.to_le_bytes());
        buf.extend_from_slice(&(-1i64).to_le_bytes());
        buf.extend_from_slice(&28u32.to_le_bytes());
        PcapNg { buf, units: Vec::new() }
    }

    /// Adds an interface description block; `tsresol` is the `if_tsresol` option (a power of
    /// ten), absent meaning microseconds. Returns the interface id.
    pub fn iface(&mut self, linktype: u32, tsresol: Option<u8>) -> u32 {
        let mut opts = Vec::new();
        if let Some(r) = tsresol {
            opts.extend_from_slice(&9u16.to_le_bytes());
            opts.extend_from_slice(&1u16.to_le_bytes());
            opts.extend_from_slice(&[r, 0, 0, 0]);
            opts.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        }
        let len = 20 + opts.len() as u32;
        self.buf.extend_from_slice(&1u32.to_le_bytes());
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(&(linktype as u16).to_le_bytes());
        self.buf.extend_from_slice(&0u16.to_le_bytes());
        self.buf.extend_from_slice(&0u32.to_le_bytes()); // snaplen: unlimited
        self.buf.extend_from_slice(&opts);
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.units.push(10u64.pow(tsresol.unwrap_or(6) as u32));
        (self.units.len() - 1) as u32
    }

    /// Adds an enhanced packet block on interface `if_id` at time `ts_ns`.
    pub fn packet(&mut self, if_id: u32, ts_ns: u64, data: &[u8]) {
        let units = self.units[if_id as usize];
        let t = (ts_ns as u128 * units as u128 / 1_000_000_000u128) as u64;
        let len = (32 + pad4(data.len())) as u32;
        self.buf.extend_from_slice(&6u32.to_le_bytes());
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(&if_id.to_le_bytes());
        self.buf.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
        self.buf.extend_from_slice(&(t as u32).to_le_bytes());
        self.buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(self.buf.len() + pad4(data.len()) - data.len(), 0);
        self.buf.extend_from_slice(&len.to_le_bytes());
    }

    /// The file's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// A pcapng file of `frames` (time in ns, link type, bytes): one interface per distinct link
/// type, in order of first use; every second interface has nanosecond resolution, the others
/// the default microseconds.
pub fn pcapng(frames: &[(u64, u32, Vec<u8>)]) -> Vec<u8> {
    let mut ng = PcapNg::new();
    let mut ifaces: Vec<u32> = Vec::new();
    for (_, lt, _) in frames {
        if !ifaces.contains(lt) {
            let resol = if ifaces.len() % 2 == 1 { Some(9) } else { None };
            ng.iface(*lt, resol);
            ifaces.push(*lt);
        }
    }
    for (ts, lt, data) in frames {
        let id = ifaces.iter().position(|x| x == lt).unwrap() as u32;
        ng.packet(id, *ts, data);
    }
    ng.finish()
}

// ---------------------------------------------------------------------------------------------
// IP packets (no link layer)

/// TCP flag bits.
pub mod tcpf {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// A TCP header with these ports, sequence/acknowledgement numbers and flags.
pub fn tcp_header(sp: u16, dp: u16, seq: u32, ack: u32, flags: u8) -> TcpHeader {
    let mut h = TcpHeader::new(sp, dp, seq, 64240);
    h.fin = flags & tcpf::FIN != 0;
    h.syn = flags & tcpf::SYN != 0;
    h.rst = flags & tcpf::RST != 0;
    h.psh = flags & tcpf::PSH != 0;
    h.ack = flags & tcpf::ACK != 0;
    h.acknowledgment_number = ack;
    h
}

/// IPv4/TCP, checksums correct.
#[allow(clippy::too_many_arguments, reason = "every header field a test sets")]
pub fn ipv4_tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sp: u16,
    dp: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv4(src, dst, 64).tcp_header(tcp_header(sp, dp, seq, ack, flags)).write(&mut v, payload).unwrap();
    v
}

/// A whole IPv4 TCP session from `cli`:`sp` to `srv`:`dp`: the handshake (client ISN 1000,
/// server 7000), each message in one segment (true: client to server) acknowledged by the
/// other side, then the end: the client's FIN exchange, or (`rst`) the server's RST carrying
/// `rst` as its payload.
pub fn tcp_session(
    cli: [u8; 4],
    srv: [u8; 4],
    sp: u16,
    dp: u16,
    msgs: &[(bool, &[u8])],
    rst: Option<&[u8]>,
) -> Vec<Vec<u8>> {
    use tcpf::*;
    let c = |seq, ack, fl, data: &[u8]| ipv4_tcp(cli, srv, sp, dp, seq, ack, fl, data);
    let s = |seq, ack, fl, data: &[u8]| ipv4_tcp(srv, cli, dp, sp, seq, ack, fl, data);
    let (mut cs, mut ss) = (1001u32, 7001u32);
    let mut v = vec![c(1000, 0, SYN, b""), s(7000, 1001, SYN | ACK, b""), c(1001, 7001, ACK, b"")];
    for &(to_server, m) in msgs {
        if to_server {
            v.push(c(cs, ss, PSH | ACK, m));
            cs += m.len() as u32;
            v.push(s(ss, cs, ACK, b""));
        } else {
            v.push(s(ss, cs, PSH | ACK, m));
            ss += m.len() as u32;
            v.push(c(cs, ss, ACK, b""));
        }
    }
    match rst {
        Some(data) => v.push(s(ss, cs, RST | ACK, data)),
        None => {
            v.push(c(cs, ss, FIN | ACK, b""));
            v.push(s(ss, cs + 1, FIN | ACK, b""));
            v.push(c(cs + 1, ss + 1, ACK, b""));
        }
    }
    v
}

/// IPv4/UDP, checksums correct.
pub fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv4(src, dst, 64).udp(sp, dp).write(&mut v, payload).unwrap();
    v
}

/// IPv6/TCP, checksums correct.
#[allow(clippy::too_many_arguments, reason = "every header field a test sets")]
pub fn ipv6_tcp(
    src: [u8; 16],
    dst: [u8; 16],
    sp: u16,
    dp: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv6(src, dst, 64).tcp_header(tcp_header(sp, dp, seq, ack, flags)).write(&mut v, payload).unwrap();
    v
}

/// IPv6/UDP, checksums correct.
pub fn ipv6_udp(src: [u8; 16], dst: [u8; 16], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv6(src, dst, 64).udp(sp, dp).write(&mut v, payload).unwrap();
    v
}

/// IPv4/ICMP of any type and code; `rest` are header bytes 5-8 (id/seq for echo).
pub fn ipv4_icmp(src: [u8; 4], dst: [u8; 4], icmp_type: u8, code: u8, rest: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv4(src, dst, 64).icmpv4_raw(icmp_type, code, rest).write(&mut v, payload).unwrap();
    v
}

/// IPv6/ICMPv6 echo request (type 128).
pub fn ipv6_echo_request(src: [u8; 16], dst: [u8; 16], id: u16, seq: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv6(src, dst, 64).icmpv6_echo_request(id, seq).write(&mut v, b"ping").unwrap();
    v
}

/// The Internet checksum of `data`.
pub fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], 0]) };
        sum += w as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 header (20 bytes, correct checksum) for a payload of `payload_len` bytes.
pub fn ipv4_header(src: [u8; 4], dst: [u8; 4], proto: u8, payload_len: usize) -> Vec<u8> {
    let total = (20 + payload_len) as u16;
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0x12, 0x34, 0x40, 0x00, 64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = inet_checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

/// IPv4 carrying `payload` as protocol `proto` (tunnels: 4 IP-in-IP, 41 6in4, 47 GRE).
pub fn ipv4_raw(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = ipv4_header(src, dst, proto, payload.len());
    v.extend_from_slice(payload);
    v
}

/// Inserts IPv6 extension headers between the fixed header of `pkt` and its payload. Each
/// entry is (header type, bytes of the header); its first byte (next header) is filled in, and
/// the fixed header's next header and payload length are fixed up.
pub fn ipv6_with_exts(pkt: &[u8], exts: &[(u8, Vec<u8>)]) -> Vec<u8> {
    assert_eq!(pkt[0] >> 4, 6);
    let last = pkt[6];
    let mut out = pkt[..40].to_vec();
    if let Some((first, _)) = exts.first() {
        out[6] = *first;
    }
    let mut added = 0usize;
    for (i, (_, bytes)) in exts.iter().enumerate() {
        let mut b = bytes.clone();
        b[0] = exts.get(i + 1).map(|e| e.0).unwrap_or(last);
        added += b.len();
        out.extend(b);
    }
    out.extend_from_slice(&pkt[40..]);
    let plen = u16::from_be_bytes([pkt[4], pkt[5]]) as usize + added;
    out[4..6].copy_from_slice(&(plen as u16).to_be_bytes());
    out
}

/// A GRE version 0 header (no optional fields) for protocol `proto`, then `inner`.
pub fn gre_v0(proto: u16, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0];
    v.extend_from_slice(&proto.to_be_bytes());
    v.extend_from_slice(inner);
    v
}

/// A VXLAN header (I flag, VNI `vni`) followed by the inner Ethernet frame.
pub fn vxlan(vni: u32, inner_frame: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0, 0, 0];
    v.extend_from_slice(&(vni << 8).to_be_bytes());
    v.extend_from_slice(inner_frame);
    v
}

// ---------------------------------------------------------------------------------------------
// Link layers

/// Ethernet type of an IP packet, from its version nibble.
pub fn ethertype_of(l3: &[u8]) -> u16 {
    match l3.first().map(|b| b >> 4) {
        Some(6) => 0x86dd,
        _ => 0x0800,
    }
}

/// Source MAC used by the builders.
pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
/// Destination MAC used by the builders.
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

/// Ethernet II around an IP packet.
pub fn eth(l3: &[u8]) -> Vec<u8> {
    eth_vlan(&[], l3)
}

/// Ethernet II with VLAN tags (TPID, VLAN id), outermost first, around an IP packet.
pub fn eth_vlan(tags: &[(u16, u16)], l3: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(14 + 4 * tags.len() + l3.len());
    v.extend_from_slice(&MAC_B);
    v.extend_from_slice(&MAC_A);
    for (tpid, vid) in tags {
        v.extend_from_slice(&tpid.to_be_bytes());
        v.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    v.extend_from_slice(&ethertype_of(l3).to_be_bytes());
    v.extend_from_slice(l3);
    v
}

/// Linux cooked v1 (16-byte header) around an IP packet.
pub fn sll(l3: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0u16.to_be_bytes()); // packet type: to us
    v.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    v.extend_from_slice(&6u16.to_be_bytes()); // address length
    v.extend_from_slice(&MAC_A);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&ethertype_of(l3).to_be_bytes());
    v.extend_from_slice(l3);
    v
}

/// Linux cooked v2 (20-byte header) around an IP packet.
pub fn sll2(l3: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&ethertype_of(l3).to_be_bytes());
    v.extend_from_slice(&0u16.to_be_bytes()); // reserved
    v.extend_from_slice(&3u32.to_be_bytes()); // interface index
    v.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    v.push(0); // packet type
    v.push(6); // address length
    v.extend_from_slice(&MAC_A);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(l3);
    v
}

/// BSD null/loopback: the address family in little-endian (host) order, then the packet.
pub fn null_le(family: u32, l3: &[u8]) -> Vec<u8> {
    let mut v = family.to_le_bytes().to_vec();
    v.extend_from_slice(l3);
    v
}

/// OpenBSD loopback: the address family in network order, then the packet.
pub fn loop_be(family: u32, l3: &[u8]) -> Vec<u8> {
    let mut v = family.to_be_bytes().to_vec();
    v.extend_from_slice(l3);
    v
}

// ---------------------------------------------------------------------------------------------
// Running the binary

/// What a `picket` run left behind.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// EVE events, one per line of the EVE file (empty when none was written).
    pub events: Vec<Value>,
}

/// Runs the `picket` binary with these arguments.
pub fn picket<I, S>(args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_picket")).args(&args).output().expect("run picket");
    let code = out.status.code().expect("picket was killed by a signal");
    (code, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Reads an EVE file: every line must be a JSON object.
pub fn read_eve(path: &Path) -> Vec<Value> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(_) => return Vec::new(),
    };
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("EVE line {} is not JSON ({e}): {l}", i + 1))
        })
        .collect()
}

/// `picket replay --eve <dir>/eve.json -q [extra] <inputs>`.
pub fn replay_files<P: AsRef<Path>>(dir: &Path, inputs: &[P], extra: &[&str]) -> Run {
    let eve = dir.join("eve.json");
    let _ = std::fs::remove_file(&eve);
    let mut args: Vec<OsString> = vec!["replay".into(), "--eve".into(), eve.clone().into(), "-q".into()];
    args.extend(extra.iter().map(OsString::from));
    args.extend(inputs.iter().map(|p| p.as_ref().as_os_str().to_os_string()));
    let (code, stdout, stderr) = picket(args);
    Run { code, stdout, stderr, events: read_eve(&eve) }
}

/// Writes `bytes` to `dir/name`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Replays one little-endian microsecond pcap of `frames` (two workers) and checks that it
/// succeeded with no warning.
pub fn replay_pcap(linktype: u32, frames: &[(u64, Vec<u8>)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "in.pcap", &pcap_le_usec(linktype, frames));
    let r = replay_files(dir.path(), &[p], &["--workers", "2"]);
    r.assert_clean();
    r
}

/// Replays Ethernet frames built from IP packets (time `i` ms for the i-th).
pub fn replay_eth(l3s: &[Vec<u8>]) -> Run {
    let frames: Vec<(u64, Vec<u8>)> = l3s.iter().enumerate().map(|(i, p)| (t_ms(i as u64), eth(p))).collect();
    replay_pcap(LT_ETHERNET, &frames)
}

/// Replays one pcapng file of mixed link types.
pub fn replay_pcapng(frames: &[(u64, u32, Vec<u8>)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "in.pcapng", &pcapng(frames));
    let r = replay_files(dir.path(), &[p], &["--workers", "2"]);
    r.assert_clean();
    r
}

impl Run {
    /// Exit 0, no warning or error on stderr.
    pub fn assert_clean(&self) {
        assert_eq!(self.code, 0, "picket failed; stderr:\n{}", self.stderr);
        assert!(
            !self.stderr.contains("warning") && !self.stderr.contains("error"),
            "unexpected stderr:\n{}",
            self.stderr
        );
    }

    /// The final `stats` event's `stats` object (it must be the last line).
    pub fn stats(&self) -> &Value {
        let last = self.events.last().expect("no EVE events at all");
        assert_eq!(last["event_type"], "stats", "last EVE line is not the stats event: {last}");
        &last["stats"]
    }

    /// A counter of the final stats event by dotted name (`decoder.pkts`, with or without a
    /// leading `stats.`). Panics when the counter is absent.
    pub fn counter(&self, name: &str) -> u64 {
        let name = name.strip_prefix("stats.").unwrap_or(name);
        let mut v = self.stats();
        for part in name.split('.') {
            v = v.get(part).unwrap_or_else(|| panic!("stats event has no counter `{name}`"));
        }
        v.as_u64().unwrap_or_else(|| panic!("counter `{name}` is not a number: {v}"))
    }

    /// Asserts several counters at once, reporting every mismatch.
    pub fn assert_counters(&self, want: &[(&str, u64)]) {
        let bad: Vec<String> = want
            .iter()
            .filter_map(|(n, w)| {
                let got = self.counter(n);
                (got != *w).then(|| format!("{n}: got {got}, want {w}"))
            })
            .collect();
        assert!(bad.is_empty(), "counter mismatch:\n  {}\nflows: {:#?}", bad.join("\n  "), self.flows());
    }

    /// Every `flow` event.
    pub fn flows(&self) -> Vec<&Value> {
        self.events.iter().filter(|e| e["event_type"] == "flow").collect()
    }

    /// The one flow event matching (proto, src_ip, dest_ip); panics if not exactly one.
    pub fn flow(&self, proto: &str, src_ip: &str, dest_ip: &str) -> &Value {
        let m: Vec<&Value> = self
            .flows()
            .into_iter()
            .filter(|f| f["proto"] == proto && same_ip(&f["src_ip"], src_ip) && same_ip(&f["dest_ip"], dest_ip))
            .collect();
        assert_eq!(m.len(), 1, "want one {proto} flow {src_ip} -> {dest_ip}, have: {:#?}", self.flows());
        m[0]
    }
}

/// Asserts the endpoints of a flow event (`None` ports: the event must have no port field).
pub fn assert_endpoints(f: &Value, proto: &str, src: &str, sp: Option<u64>, dst: &str, dp: Option<u64>) {
    assert_eq!(f["proto"], proto, "{f}");
    assert!(same_ip(&f["src_ip"], src), "src_ip {src}: {f}");
    assert!(same_ip(&f["dest_ip"], dst), "dest_ip {dst}: {f}");
    assert_eq!(f.get("src_port").and_then(Value::as_u64), sp, "{f}");
    assert_eq!(f.get("dest_port").and_then(Value::as_u64), dp, "{f}");
}

/// (pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient) of a flow event.
pub fn flow_counts(f: &Value) -> (u64, u64, u64, u64) {
    let g = |k: &str| f["flow"][k].as_u64().unwrap_or_else(|| panic!("flow.{k} missing in {f}"));
    (g("pkts_toserver"), g("pkts_toclient"), g("bytes_toserver"), g("bytes_toclient"))
}

/// The crate root (where Cargo.toml is).
pub fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpus/<rel>` beside the crate, if present.
pub fn corpus_file(rel: &str) -> Option<PathBuf> {
    let p = crate_root().join("../shared/corpus").join(rel);
    p.exists().then_some(p)
}

/// An EVE address equals `want` as an address (EVE writes IPv6 expanded, as Suricata does).
pub fn same_ip(eve: &Value, want: &str) -> bool {
    match (eve.as_str().and_then(|a| a.parse::<std::net::IpAddr>().ok()), want.parse::<std::net::IpAddr>().ok()) {
        (Some(a), Some(b)) => a == b,
        _ => eve == want,
    }
}
