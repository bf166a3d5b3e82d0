//! SSH: banners and the clear-text key exchange, after Suricata's `rust/src/ssh/`; KEXINIT
//! messages decoded with rusticata's `ssh-parser` (the record framing and the banner are read
//! here, with Suricata's leniency, which `ssh-parser`'s strict RFC identification parser does
//! not have).
//!
//! Takes: the in-order bytes of each direction of a flow identified as SSH (its first bytes
//! are `SSH-`), split however the segments fell.
//! Promises, as Suricata: a direction's first line is its banner (`SSH-protoversion-software
//! comments`, ending at LF, CRLF or a lone CR), from which `ssh.proto` and `ssh.software` come;
//! a banner of [`MAX_BANNER`] bytes or more raises `long_banner` (one without an end waits for
//! it, its fields taken from what came); after it, binary packets are followed by their length
//! without being kept, except a KEXINIT (up to [`MAX_KEX_RECORD`] bytes, reassembled across
//! segments) from which HASSH and its string are computed (`ssh.hassh`, ...); a NEWKEYS ends
//! a direction, and once both ended the flow is encrypted: from its next data on, its app layer stops
//! and its payload is no longer inspected (Suricata's default `encryption-handling: track-only`). A bad banner
//! or record raises its event and ends parsing of the flow.
//! Bounded: at most [`MAX_KEX_RECORD`] bytes buffered per direction. Never: panics on input.

mod detect;
#[cfg(test)]
mod tests;

pub(crate) use detect::PROTOCOL;

use md5::{Digest as _, Md5};

/// Longest banner before `long_banner` (Suricata's `SSH_MAX_BANNER_LEN`).
pub(crate) const MAX_BANNER: usize = 256;
/// Longest KEXINIT record reassembled (Suricata's `SSH_MAX_REASSEMBLED_RECORD_LEN`).
pub(crate) const MAX_KEX_RECORD: usize = 65_535;
const HEADER: usize = 6;
const MSG_KEXINIT: u8 = 20;
const MSG_NEWKEYS: u8 = 21;

crate::app_counters! {
    /// SSH counters (plain integers).
    pub struct SshStats {
        /// Banners read.
        banners,
        /// Binary packets followed.
        records,
        /// KEXINIT messages decoded (HASSH computed).
        kexinits,
        /// KEXINIT messages ssh-parser rejected (no HASSH for that direction).
        kexinit_malformed,
        /// Flows whose parsing ended at a bad banner or record.
        parse_errors,
        /// Flows that reached their encrypted phase (payload no longer inspected).
        encrypted,
    }
}

/// Suricata's SSH app-layer events, in its order.
pub(crate) const EVENTS: &[&str] = &["invalid_banner", "long_banner", "invalid_record", "long_kex_record"];
const EV_INVALID_BANNER: u16 = 0;
const EV_LONG_BANNER: u16 = 1;
const EV_INVALID_RECORD: u16 = 2;
const EV_LONG_KEX_RECORD: u16 = 3;

/// Where a direction is (Suricata's `SSHConnectionState`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Before the banner ended.
    #[default]
    InProgress,
    /// A banner too long, its end not seen yet.
    BannerWaitEol,
    /// Banner read; binary packets follow.
    BannerDone,
    /// NEWKEYS seen.
    Finished,
}

/// One side's banner and key exchange.
#[derive(Clone, Debug, Default)]
pub(crate) struct SshHeader {
    /// Where it is.
    pub phase: Phase,
    /// `ssh.proto`.
    pub proto: Vec<u8>,
    /// `ssh.software`.
    pub software: Vec<u8>,
    /// `ssh.hassh` (MD5 of the string, lower-case hex).
    pub hassh: Vec<u8>,
    /// `ssh.hassh.string`.
    pub hassh_string: Vec<u8>,
    /// Bytes of the current record still to skip.
    record_left: u32,
    /// The current record is a KEXINIT being reassembled.
    kex_pending: bool,
    /// Bytes kept across calls (a banner without its end, a record header, a KEXINIT).
    pending: Vec<u8>,
}

/// Per-flow SSH state: the one transaction of the flow.
#[derive(Debug, Default)]
pub(crate) struct SshState {
    /// Index 0: client, 1: server.
    hdr: [SshHeader; 2],
    events: Vec<u16>,
    failed: bool,
    /// Bytes came after both NEWKEYS: the payload is encrypted and no longer inspected.
    sealed: bool,
    /// Directions (index 0: client) whose banner ended since the owner last asked: their
    /// raw stream is inspected now, as Suricata triggers it after a banner.
    pub raw_trigger: [bool; 2],
    /// Counters since the last hand-over.
    pub stats: SshStats,
    /// Frames are wanted: records seen are listed in `frames`.
    pub frames_on: bool,
    /// Records seen in the current call, as frames: (direction, stream offset, length, type).
    pub frames: Vec<(bool, u64, u64, u8)>,
    /// Stream offset of the bytes `step` looks at.
    at: u64,
}

/// Frame types (rows of [`detect::PROTOCOL`]'s `frames`): a record's 6-byte header (length,
/// padding length, message code), its data after that, the whole record.
pub(crate) const FRAMES: &[&str] = &["record.hdr", "record.data", "record.pdu"];

/// What parsing a piece of a direction did.
enum Step {
    /// Consumed `n` bytes; go on.
    Used(usize),
    /// Keep the bytes from `n` on until more arrive.
    Wait(usize),
    /// The rest is skipped (a long banner's tail, a record's body).
    Done,
    /// Parsing of the flow ends.
    Fail,
}

/// Suricata's `ssh_parse_line`: the bytes up to LF, CRLF or a CR followed by something; the
/// line and the length consumed, `None` while its end is not seen.
fn line(i: &[u8]) -> Option<(&[u8], usize)> {
    let end = i.iter().position(|&b| b == b'\n' || b == b'\r')?;
    // In bounds: end < i.len() (position found it).
    match (i[end], i.get(end + 1)) {
        (b'\n', _) => Some((&i[..end], end + 1)),
        (b'\r', Some(b'\n')) => Some((&i[..end], end + 2)),
        (b'\r', Some(_)) => Some((&i[..end], end + 1)),
        _ => None,
    }
}

/// Suricata's `ssh_parse_banner`: `SSH-`, a protocol version without `-`, `-`, then the
/// software version up to a space or line end (or, when that is empty, the rest).
fn banner(l: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = l.strip_prefix(b"SSH-")?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    if dash == 0 {
        return None;
    }
    // In bounds: dash < rest.len().
    let (proto, after) = (&rest[..dash], &rest[dash + 1..]);
    let sw_end = after.iter().position(|&b| matches!(b, b' ' | b'\r' | b'\n')).unwrap_or(after.len());
    let software = if sw_end == 0 { after } else { &after[..sw_end] };
    Some((proto, software))
}

impl SshHeader {
    fn hassh_from(&mut self, body: &[u8], server: bool, stats: &mut SshStats) {
        // ssh-parser reads a whole binary packet: rebuild a header around the message
        let mut pkt = Vec::with_capacity(body.len() + 5);
        let len = (body.len() + 2) as u32;
        pkt.extend_from_slice(&len.to_be_bytes());
        pkt.push(0);
        pkt.push(MSG_KEXINIT);
        pkt.extend_from_slice(body);
        // the real padding is part of `body`, after the message: ssh-parser stops at its end
        match ssh_parser::parse_ssh_packet(&pkt) {
            Ok((_, (ssh_parser::SshPacket::KeyExchange(k), _))) => {
                let (enc, mac, comp) = if server {
                    (k.encr_algs_server_to_client, k.mac_algs_server_to_client, k.comp_algs_server_to_client)
                } else {
                    (k.encr_algs_client_to_server, k.mac_algs_client_to_server, k.comp_algs_client_to_server)
                };
                let start = self.hassh_string.len();
                for (i, part) in [k.kex_algs, enc, mac, comp].iter().enumerate() {
                    if i > 0 {
                        self.hassh_string.push(b';');
                    }
                    self.hassh_string.extend_from_slice(part);
                }
                let digest = Md5::digest(&self.hassh_string[start..]);
                for b in digest {
                    self.hassh.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                stats.kexinits += 1;
            }
            _ => stats.kexinit_malformed += 1,
        }
    }
}

impl SshState {
    /// An empty state.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The client's (`to_server`) or the server's header.
    pub(crate) fn header(&self, to_server: bool) -> &SshHeader {
        &self.hdr[usize::from(!to_server)]
    }

    /// Both sides sent NEWKEYS: the rest is encrypted.
    pub(crate) fn encrypted(&self) -> bool {
        self.hdr.iter().all(|h| h.phase == Phase::Finished)
    }

    /// Parsing ended at a bad banner or record.
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    /// App-layer events raised.
    pub(crate) fn events(&self) -> &[u16] {
        &self.events
    }

    fn event(&mut self, e: u16) {
        if !self.events.contains(&e) {
            self.events.push(e);
        }
    }

    #[cfg(test)]
    /// Feeds bytes of one direction.
    pub(crate) fn parse(&mut self, to_server: bool, data: &[u8]) {
        self.parse_at(to_server, data, 0);
    }

    /// Feeds bytes of one direction whose first byte is at stream offset `offset` (for frames).
    pub(crate) fn parse_at(&mut self, to_server: bool, data: &[u8], offset: u64) {
        if self.failed || data.is_empty() {
            return;
        }
        let d = usize::from(!to_server);
        // In bounds: d is 0 or 1 (from a bool).
        let pending = std::mem::take(&mut self.hdr[d].pending);
        let base = offset.saturating_sub(pending.len() as u64);
        let owned;
        let buf: &[u8] = if pending.is_empty() {
            data
        } else {
            owned = [pending.as_slice(), data].concat();
            &owned
        };
        let mut pos = 0;
        if self.hdr[d].phase == Phase::BannerWaitEol {
            // Suricata looks for the long banner's end at the start of every later chunk
            // (its phase never leaves `BannerWaitEol`), and parses records after it
            match line(buf) {
                Some((_, used)) => {
                    pos = used;
                    // In bounds: d is 0 or 1 (from a bool).
                    self.raw_trigger[d] = true;
                }
                None => return,
            }
        }
        while pos < buf.len() {
            self.at = base + pos as u64;
            // In bounds: pos < buf.len() (loop condition).
            match self.step(d, &buf[pos..]) {
                Step::Used(n) => pos += n.max(1),
                Step::Wait(n) => {
                    let keep = &buf[pos + n.min(buf.len() - pos)..];
                    self.hdr[d].pending = keep.to_vec();
                    return;
                }
                Step::Done => return,
                Step::Fail => {
                    self.failed = true;
                    self.stats.parse_errors += 1;
                    return;
                }
            }
        }
    }

    fn step(&mut self, d: usize, i: &[u8]) -> Step {
        let server = d == 1;
        // In bounds: d is 0 or 1 (parse passes it so).
        let h = &mut self.hdr[d];
        match h.phase {
            Phase::InProgress => match line(i) {
                Some((l, used)) => {
                    let Some((proto, sw)) = banner(l) else {
                        self.event(EV_INVALID_BANNER);
                        return Step::Fail;
                    };
                    h.proto.extend_from_slice(proto);
                    h.software.extend_from_slice(sw);
                    h.phase = Phase::BannerDone;
                    self.stats.banners += 1;
                    // In bounds: d is 0 or 1.
                    self.raw_trigger[d] = true;
                    if l.len() >= MAX_BANNER {
                        self.event(EV_LONG_BANNER);
                    }
                    Step::Used(used)
                }
                None if i.len() < MAX_BANNER => Step::Wait(0),
                None => {
                    let Some((proto, sw)) = banner(i) else {
                        self.event(EV_INVALID_BANNER);
                        return Step::Fail;
                    };
                    h.proto.extend_from_slice(proto);
                    h.software.extend_from_slice(sw);
                    h.phase = Phase::BannerWaitEol;
                    self.stats.banners += 1;
                    self.event(EV_LONG_BANNER);
                    Step::Done
                }
            },
            _ => self.record(d, i, server),
        }
    }

    fn record(&mut self, d: usize, i: &[u8], server: bool) -> Step {
        // In bounds: d is 0 or 1.
        let h = &mut self.hdr[d];
        if h.kex_pending {
            let need = h.record_left as usize;
            if i.len() < need {
                return Step::Wait(0);
            }
            h.kex_pending = false;
            h.record_left = 0;
            // In bounds: need <= i.len().
            h.hassh_from(&i[..need], server, &mut self.stats);
            return Step::Used(need);
        }
        if h.record_left > 0 {
            let n = (h.record_left as usize).min(i.len());
            h.record_left -= n as u32;
            return Step::Used(n);
        }
        if i.len() < HEADER {
            return Step::Wait(0);
        }
        // In bounds: i.len() >= HEADER (6).
        let pkt_len = u32::from_be_bytes([i[0], i[1], i[2], i[3]]);
        let msg = i[5];
        if pkt_len <= 1 {
            self.event(EV_INVALID_RECORD);
            return Step::Fail;
        }
        self.stats.records += 1;
        if self.frames_on {
            let (at, ts, len) = (self.at, !server, u64::from(pkt_len));
            self.frames.extend([
                (ts, at, HEADER as u64, 0),
                (ts, at + HEADER as u64, len - 2, 1),
                (ts, at, len + 4, 2),
            ]);
        }
        let body = (pkt_len - 2) as usize;
        let h = &mut self.hdr[d];
        let have = i.len() - HEADER;
        if have >= body {
            // In bounds: HEADER + body <= i.len().
            match msg {
                MSG_KEXINIT => h.hassh_from(&i[HEADER..HEADER + body], server, &mut self.stats),
                MSG_NEWKEYS => h.phase = Phase::Finished,
                _ => {}
            }
            return Step::Used(HEADER + body);
        }
        match msg {
            MSG_NEWKEYS => {
                h.phase = Phase::Finished;
                h.record_left = (body - have) as u32;
                Step::Used(i.len())
            }
            MSG_KEXINIT if body < MAX_KEX_RECORD => {
                h.kex_pending = true;
                h.record_left = body as u32;
                Step::Used(HEADER)
            }
            MSG_KEXINIT => {
                self.event(EV_LONG_KEX_RECORD);
                let h = &mut self.hdr[d];
                h.record_left = (body - have) as u32;
                Step::Used(i.len())
            }
            _ => {
                h.record_left = (body - have) as u32;
                Step::Used(i.len())
            }
        }
    }
}
