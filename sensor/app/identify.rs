//! Protocol detection independent of port, after Suricata's `app-layer-detect-proto.c`.
//!
//! Takes: the first application bytes of each direction of a flow (TCP: in order, as
//! reassembly delivers them, possibly a few bytes at a time; UDP: one datagram at a time),
//! the IP protocol and the ports.
//! Promises: [`probe`] is a pure function of those bytes: Suricata's pattern matchers
//! (anchored patterns with offset and depth, e.g. `GET `, `HTTP/1.`, `|16 03 01|`, `SSH-`,
//! `|ff|SMB` after the NetBIOS header) run on every flow whatever its ports, and the probing
//! parsers (DNS header sanity, SSLv2 hello, FTP banner, NetBIOS session request) run only when
//! one of the ports is the protocol's default detection port, as Suricata's probing parsers do.
//! [`ProtoDetect`] is the per-flow state: each direction is decided on its own first data, the
//! first direction to find a protocol names the flow, a direction that cannot match within
//! [`PROBE_BYTES_MAX`] bytes is done, and the flow is `failed` once both directions are done
//! without a protocol or one direction has sent [`BAIL_BYTES`] without the other answering
//! (Suricata's `TCPProtoDetectCheckBailConditions`, with its 100000-byte floor).
//! With `stream.midstream` on ([`ProtoDetect::midstream`]), a direction that matches none of
//! its own patterns is matched against the other direction's (Suricata's
//! `AppLayerProtoDetectPMGetProto` in midstream mode): a hit names the protocol and says the
//! flow is the wrong way round ([`ProtoDetect::reverse`]: its first data was the server's).
//! Never: allocates unless a TCP direction's first bytes arrive split before a decision (then
//! at most [`PROBE_BYTES_MAX`] bytes, freed on the decision), panics on input, or reverses the
//! flow's direction itself (the caller turns the flow around: a UDP flow whose first datagram
//! is an LLMNR answer, as Suricata's probing parser asks, see `flow::answers_first`; a flow
//! [`ProtoDetect::reverse`] names, the TCP stream only for a session picked up midstream).

use super::dns;
use super::proto::AppProto;

/// Bytes of a direction looked at before detection gives up on it. Suricata's patterns and
/// probing parsers decide within their max depth (the longest is `BASELINE-CONTROL ` at 17
/// bytes, the DNS/TCP probe at 14); this bound leaves room and caps the buffer.
pub const PROBE_BYTES_MAX: usize = 256;
/// Suricata's floor for one-sided detection (`size_ts_limit` / `size_tc_limit`): a direction
/// that has sent this much while the other sent nothing, with its own detection done, fails
/// the flow; twice this fails it whatever the state.
pub const BAIL_BYTES: u64 = 100_000;

/// Whether identification can name `p` (a rule for a protocol it never names could not
/// match, and is reported as unsupported instead).
pub fn identifies(p: AppProto) -> bool {
    use AppProto::*;
    p.enabled_by_default()
        && matches!(
            p,
            Http | Http2
                | Tls
                | Dns
                | Ssh
                | Ftp
                | FtpData
                | Smtp
                | Smb
                | Dcerpc
                | Imap
                | Pop3
                | Rfb
                | Telnet
                | Rdp
                | Modbus
                | Pgsql
                | Dnp3
                | Krb5
                | Nfs
        )
        || p.enabled_by_default() && super::probes::names(p)
        // named by the HTTP/2 parser once a stream carries DNS (DoH)
        || p == AppProto::Doh2
        // named by HTTP/1 once a 101 response switches to it
        || p == AppProto::Websocket
}

/// What [`probe`] says about the bytes seen so far in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// The bytes are this protocol.
    Found(AppProto),
    /// Some pattern or probing parser could still match with more bytes.
    NeedMore,
    /// Nothing can match, whatever follows.
    NotFound,
}

const TCP: u8 = 6;
const UDP: u8 = 17;

/// Which direction a pattern applies to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    ToServer,
    ToClient,
    Both,
}

/// One anchored pattern, as Suricata's `AppLayerProtoDetectPMRegisterPattern{CS,CI}`
/// registers it: the pattern must sit at `offset` and end within `depth`.
struct Pattern {
    proto: AppProto,
    bytes: &'static [u8],
    offset: usize,
    nocase: bool,
    dir: Dir,
    /// Extra check once the pattern matched (Suricata's `...wPP` probing companions).
    check: Option<fn(&[u8]) -> ProbeResult>,
}

const fn pat(proto: AppProto, bytes: &'static [u8], offset: usize, nocase: bool, dir: Dir) -> Pattern {
    Pattern { proto, bytes, offset, nocase, dir, check: None }
}

const fn pat_chk(
    proto: AppProto,
    bytes: &'static [u8],
    offset: usize,
    dir: Dir,
    check: fn(&[u8]) -> ProbeResult,
) -> Pattern {
    Pattern { proto, bytes, offset, nocase: false, dir, check: Some(check) }
}

use AppProto as P;
use Dir::{Both, ToClient, ToServer};

/// HTTP request methods Suricata registers (`HTPRegisterPatternsForProtocolDetection`), each
/// followed by a space or a tab, case-sensitive, at offset 0.
const HTTP_METHODS: [&[u8]; 56] = [
    b"GET ",
    b"GET\t",
    b"PUT ",
    b"PUT\t",
    b"POST ",
    b"POST\t",
    b"HEAD ",
    b"HEAD\t",
    b"TRACE ",
    b"TRACE\t",
    b"OPTIONS ",
    b"OPTIONS\t",
    b"CONNECT ",
    b"CONNECT\t",
    b"DELETE ",
    b"DELETE\t",
    b"PATCH ",
    b"PATCH\t",
    b"PROPFIND ",
    b"PROPFIND\t",
    b"PROPPATCH ",
    b"PROPPATCH\t",
    b"MKCOL ",
    b"MKCOL\t",
    b"COPY ",
    b"COPY\t",
    b"MOVE ",
    b"MOVE\t",
    b"LOCK ",
    b"LOCK\t",
    b"UNLOCK ",
    b"UNLOCK\t",
    b"CHECKOUT ",
    b"CHECKOUT\t",
    b"UNCHECKOUT ",
    b"UNCHECKOUT\t",
    b"CHECKIN ",
    b"CHECKIN\t",
    b"UPDATE ",
    b"UPDATE\t",
    b"LABEL ",
    b"LABEL\t",
    b"REPORT ",
    b"REPORT\t",
    b"MKWORKSPACE ",
    b"MKWORKSPACE\t",
    b"MKACTIVITY ",
    b"MKACTIVITY\t",
    b"MERGE ",
    b"MERGE\t",
    b"INVALID ",
    b"INVALID\t",
    b"VERSION-CONTROL ",
    b"VERSION-CONTROL\t",
    b"BASELINE-CONTROL ",
    b"BASELINE-CONTROL\t",
];

/// The non-HTTP-method TCP patterns.
static TCP_PATTERNS: [Pattern; 29] = [
    // RFB (VNC) version banners, IMAP greeting.
    pat(P::Rfb, b"RFB ", 0, false, Both),
    pat(P::Imap, b"* OK ", 0, false, ToClient),
    // HTTP responses.
    pat(P::Http, b"HTTP/0.9", 0, false, ToClient),
    pat(P::Http, b"HTTP/1.", 0, false, ToClient),
    // TLS: SSLv2-framed client hello (version 2 at offset 2), SSLv3/TLS records.
    pat(P::Tls, b"\x01\x00\x02", 2, false, ToServer),
    pat(P::Tls, b"\x01\x03\x00", 0, false, ToServer),
    pat(P::Tls, b"\x01\x03\x01", 0, false, ToServer),
    pat(P::Tls, b"\x01\x03\x02", 0, false, ToServer),
    pat(P::Tls, b"\x01\x03\x03", 0, false, ToServer),
    pat(P::Tls, b"\x16\x03\x00", 0, false, Both),
    pat(P::Tls, b"\x16\x03\x01", 0, false, Both),
    pat(P::Tls, b"\x16\x03\x02", 0, false, Both),
    pat(P::Tls, b"\x16\x03\x03", 0, false, Both),
    pat(P::Tls, b"\x15\x03\x00", 0, false, ToClient),
    pat(P::Tls, b"\x15\x03\x01", 0, false, ToClient),
    pat(P::Tls, b"\x15\x03\x02", 0, false, ToClient),
    pat(P::Tls, b"\x15\x03\x03", 0, false, ToClient),
    pat(P::Tls, b"\x17\x03\x00", 0, false, ToClient),
    pat(P::Tls, b"\x17\x03\x01", 0, false, ToClient),
    pat(P::Tls, b"\x17\x03\x02", 0, false, ToClient),
    pat(P::Tls, b"\x17\x03\x03", 0, false, ToClient),
    // SSH banner, either side.
    pat(P::Ssh, b"SSH-", 0, true, Both),
    // FTP (Suricata: CI, at offset 0).
    pat(P::Ftp, b"220 (", 0, true, ToClient),
    // SMB1/2/3 after a NetBIOS session message header.
    pat_chk(P::Smb, b"\xffSMB", 4, Both, nbss_session_message),
    pat_chk(P::Smb, b"\xfeSMB", 4, Both, nbss_session_message),
    pat_chk(P::Smb, b"\xfdSMB", 4, Both, nbss_session_message),
    // DCE/RPC connection-oriented PDU: version 5, minor 0 or 1.
    pat_chk(P::Dcerpc, b"\x05\x00", 0, Both, dcerpc_tcp_header),
    pat_chk(P::Dcerpc, b"\x05\x01", 0, Both, dcerpc_tcp_header),
    // SMTP client greetings (CI, depth 4).
    pat(P::Smtp, b"EHLO", 0, true, ToServer),
];

/// More to-server patterns (kept apart so the table above stays readable).
static TCP_PATTERNS_2: [Pattern; 7] = [
    // HTTP/2 with prior knowledge: the client connection preface.
    pat(P::Http2, b"PRI * HTTP/2.0\r\n", 0, false, ToServer),
    pat(P::Smtp, b"HELO", 0, true, ToServer),
    pat(P::Smtp, b"QUIT", 0, true, ToServer),
    pat(P::Ftp, b"USER ", 0, true, ToServer),
    pat(P::Ftp, b"PASS ", 0, true, ToServer),
    pat(P::Ftp, b"PORT ", 0, true, ToServer),
    pat(P::Ftp, b"FEAT", 0, true, ToServer),
];

/// Match of one anchored pattern against the bytes seen so far.
fn match_at(data: &[u8], p: &[u8], offset: usize, nocase: bool) -> ProbeResult {
    let have = data.get(offset..).unwrap_or(&[]);
    let n = have.len().min(p.len());
    // In bounds: n is at most both lengths (min).
    let (a, b) = (&have[..n], &p[..n]);
    let same = if nocase { a.eq_ignore_ascii_case(b) } else { a == b };
    if !same {
        return ProbeResult::NotFound;
    }
    if data.len() < offset + p.len() {
        return ProbeResult::NeedMore;
    }
    ProbeResult::Found(P::Unknown)
}

/// NetBIOS session service: the SMB magic counts only inside a session message (type 0).
fn nbss_session_message(data: &[u8]) -> ProbeResult {
    match data.first() {
        Some(0x00) => ProbeResult::Found(P::Smb),
        _ => ProbeResult::NotFound,
    }
}

/// DCE/RPC CO header sanity (Suricata's `rs_dcerpc_probe_tcp`): packet type within the
/// defined range, a known integer representation, a fragment at least a header long.
fn dcerpc_tcp_header(data: &[u8]) -> ProbeResult {
    let Some(h) = data.get(..10) else { return ProbeResult::NeedMore };
    // In bounds: h is the 10 bytes get(..10) returned.
    let ptype = h[2];
    let drep = h[4];
    let little = drep & 0x10 != 0;
    if ptype > 19 || drep & 0xef != 0 {
        return ProbeResult::NotFound;
    }
    let frag_len = if little { u16::from_le_bytes([h[8], h[9]]) } else { u16::from_be_bytes([h[8], h[9]]) };
    if frag_len < 16 {
        return ProbeResult::NotFound;
    }
    ProbeResult::Found(P::Dcerpc)
}

/// Runs the pattern matchers for one direction.
fn run_patterns(proto: u8, to_server: bool, data: &[u8]) -> ProbeResult {
    let mut pending = false;
    if proto == TCP {
        if to_server {
            for m in HTTP_METHODS {
                match match_at(data, m, 0, false) {
                    ProbeResult::Found(_) => return ProbeResult::Found(P::Http),
                    ProbeResult::NeedMore => pending = true,
                    ProbeResult::NotFound => {}
                }
            }
        }
        for p in TCP_PATTERNS.iter().chain(TCP_PATTERNS_2.iter()) {
            let applies = match p.dir {
                Both => true,
                ToServer => to_server,
                ToClient => !to_server,
            };
            if !applies {
                continue;
            }
            match match_at(data, p.bytes, p.offset, p.nocase) {
                ProbeResult::Found(_) => {
                    let r = match p.check {
                        Some(f) => f(data),
                        None => ProbeResult::Found(p.proto),
                    };
                    match r {
                        ProbeResult::Found(x) => return ProbeResult::Found(x),
                        ProbeResult::NeedMore => pending = true,
                        ProbeResult::NotFound => {}
                    }
                }
                ProbeResult::NeedMore => pending = true,
                ProbeResult::NotFound => {}
            }
        }
    } else if proto == UDP {
        // DCE/RPC connectionless: version 4 header (80 bytes), Suricata's dcerpc_udp probe.
        match dcerpc_udp_header(data) {
            ProbeResult::Found(x) => return ProbeResult::Found(x),
            ProbeResult::NeedMore => pending = true,
            ProbeResult::NotFound => {}
        }
    }
    match super::probes::patterns(proto == UDP, to_server, data) {
        ProbeResult::Found(x) => return ProbeResult::Found(x),
        ProbeResult::NeedMore => pending = true,
        ProbeResult::NotFound => {}
    }
    if pending {
        ProbeResult::NeedMore
    } else {
        ProbeResult::NotFound
    }
}

/// DCE/RPC CL header: version 4, packet type at most 10, little/big-endian drep.
fn dcerpc_udp_header(data: &[u8]) -> ProbeResult {
    match data.first() {
        Some(4) => {}
        Some(_) => return ProbeResult::NotFound,
        None => return ProbeResult::NeedMore,
    }
    let Some(h) = data.get(..80) else { return ProbeResult::NeedMore };
    // In bounds: h is the 80 bytes get(..80) returned.
    if h[1] > 10 || h[4] & 0xef != 0 {
        return ProbeResult::NotFound;
    }
    ProbeResult::Found(P::Dcerpc)
}

/// Default detection ports of the probing parsers (Suricata's default `suricata.yaml`
/// `detection-ports`).
const DNS_PORT: u16 = 53;
const TLS_PORT: u16 = 443;
const FTP_PORT: u16 = 21;
const SMB_PORTS: [u16; 2] = [139, 445];

/// Runs the probing parsers whose port matches either port of the flow.
fn run_probing_parsers(proto: u8, to_server: bool, data: &[u8], sp: u16, dp: u16) -> ProbeResult {
    let port = |p: u16| sp == p || dp == p;
    let mut pending = false;
    let mut merge = |r: ProbeResult| -> Option<AppProto> {
        match r {
            ProbeResult::Found(x) => Some(x),
            ProbeResult::NeedMore => {
                pending = true;
                None
            }
            ProbeResult::NotFound => None,
        }
    };
    if proto == UDP {
        // Suricata registers DNS's UDP probe on the flow's destination port only (`dp: 53`):
        // a flow whose first datagram comes from port 53 is not probed as DNS.
        let flow_dp = if to_server { dp } else { sp };
        if flow_dp == DNS_PORT {
            if let Some(x) = merge(match dns::probe_udp(data) {
                dns::Probe::Dns { .. } => ProbeResult::Found(P::Dns),
                dns::Probe::Incomplete => ProbeResult::NeedMore,
                dns::Probe::NotDns => ProbeResult::NotFound,
            }) {
                return ProbeResult::Found(x);
            }
        }
    } else if proto == TCP {
        if port(DNS_PORT) {
            if let Some(x) = merge(match dns::probe_tcp(data) {
                dns::Probe::Dns { .. } => ProbeResult::Found(P::Dns),
                dns::Probe::Incomplete => ProbeResult::NeedMore,
                dns::Probe::NotDns => ProbeResult::NotFound,
            }) {
                return ProbeResult::Found(x);
            }
        }
        if port(TLS_PORT) && to_server {
            // Suricata's SSLProbingParser: an SSLv2-framed record (high bit of the first
            // length byte) carrying a client hello (message type 1).
            let r = match (data.first(), data.get(2)) {
                (Some(a), Some(1)) if a & 0x80 != 0 => ProbeResult::Found(P::Tls),
                (_, None) => ProbeResult::NeedMore,
                _ => ProbeResult::NotFound,
            };
            if let Some(x) = merge(r) {
                return ProbeResult::Found(x);
            }
        }
        // detection-only protocols, on their ports, from their first bytes
        for (p, r) in port_probes(data, to_server) {
            if port(p) {
                if let Some(x) = merge(r) {
                    return ProbeResult::Found(x);
                }
            }
        }
        if port(FTP_PORT) && !to_server {
            if let Some(x) = merge(ftp_banner(data)) {
                return ProbeResult::Found(x);
            }
        }
        if SMB_PORTS.iter().any(|&p| port(p)) {
            if let Some(x) = merge(nbss_smb(data)) {
                return ProbeResult::Found(x);
            }
        }
    }
    if proto == UDP || proto == TCP {
        if let Some(x) = merge(super::probes::by_port(proto == UDP, to_server, data, sp, dp)) {
            return ProbeResult::Found(x);
        }
    }
    if pending {
        ProbeResult::NeedMore
    } else {
        ProbeResult::NotFound
    }
}

/// Port-hinted probes of protocols Picket names but does not parse (Suricata has parsers for
/// them, so their flows are not `failed` there): one sanity check of the first bytes each.
fn port_probes(d: &[u8], to_server: bool) -> [(u16, ProbeResult); 8] {
    let need = |n: usize| d.len() < n;
    let chk = |n: usize, ok: bool, p: AppProto| {
        if ok {
            ProbeResult::Found(p)
        } else if need(n) {
            ProbeResult::NeedMore
        } else {
            ProbeResult::NotFound
        }
    };
    let b = |i: usize| d.get(i).copied().unwrap_or(0);
    [
        // Modbus/TCP: protocol id 0, a length that fits
        (
            502,
            chk(
                7,
                d.len() >= 7 && b(2) == 0 && b(3) == 0 && (2..=254).contains(&u16::from_be_bytes([b(4), b(5)])),
                P::Modbus,
            ),
        ),
        // PostgreSQL: startup message (protocol 3.0) or SSLRequest from the client; the server's
        // first byte is a message type
        (
            5432,
            if to_server {
                // In bounds: d.len() >= 8 is tested first.
                chk(8, d.len() >= 8 && (d[4..8] == [0, 3, 0, 0] || d[4..8] == [0x04, 0xd2, 0x16, 0x2f]), P::Pgsql)
            } else {
                chk(1, matches!(b(0), b'R' | b'S' | b'N' | b'E'), P::Pgsql)
            },
        ),
        // DNP3: link-layer start bytes
        (20000, chk(2, d.len() >= 2 && b(0) == 0x05 && b(1) == 0x64, P::Dnp3)),
        // RDP: TPKT version 3
        (3389, chk(2, d.len() >= 2 && b(0) == 0x03 && b(1) == 0x00, P::Rdp)),
        // NFS: ONC RPC record marker (last fragment bit) over TCP
        (2049, chk(4, d.len() >= 4 && b(0) & 0x80 != 0, P::Nfs)),
        // Telnet: option negotiation (IAC)
        (23, chk(1, b(0) == 0xff, P::Telnet)),
        // POP3 / IMAP greetings from the server
        (110, if to_server { ProbeResult::NotFound } else { chk(3, d.starts_with(b"+OK"), P::Pop3) }),
        (143, if to_server { ProbeResult::NotFound } else { chk(4, d.starts_with(b"* OK"), P::Imap) }),
    ]
}

/// FTP server greeting on port 21 (Suricata's `FTPServerProbingParser`): `220` then a space or
/// a hyphen, and a line end within the bytes seen.
fn ftp_banner(data: &[u8]) -> ProbeResult {
    reply_220(data, P::Ftp)
}

/// Detects one direction's first bytes when the other direction named the flow `other`: as
/// [`probe`] (with the other direction's patterns too when `midstream`), except that Suricata's SMTP server probe (ports 25 and 465,
/// `SMTPServerProbingParser`) takes a `220` reply line as SMTP once the client side is SMTP.
pub fn probe_other_side(
    other: AppProto,
    proto: u8,
    to_server: bool,
    data: &[u8],
    (sp, dp): (u16, u16),
    midstream: bool,
) -> ProbeResult {
    let server_port = if to_server { dp } else { sp };
    let smtp = other == P::Smtp && proto == TCP && !to_server && matches!(server_port, 25 | 465);
    let r = if smtp { reply_220(data, P::Smtp) } else { ProbeResult::NotFound };
    match (r, probe_dir(proto, to_server, data, sp, dp, midstream).0) {
        (ProbeResult::Found(p), _) => ProbeResult::Found(p),
        (ProbeResult::NeedMore, ProbeResult::NotFound) => ProbeResult::NeedMore,
        (_, q) => q,
    }
}

/// A `220` reply: then a space or a hyphen, and a line end within the bytes seen.
fn reply_220(data: &[u8], p: AppProto) -> ProbeResult {
    let want = b"220";
    let n = data.len().min(3);
    // In bounds: n <= 3 = want.len() and n <= data.len() (min).
    if data[..n] != want[..n] {
        return ProbeResult::NotFound;
    }
    match data.get(3) {
        None => ProbeResult::NeedMore,
        Some(b' ') | Some(b'-') => {
            // In bounds: data.get(3) is Some, so data.len() >= 4.
            if data[4..].contains(&b'\n') {
                ProbeResult::Found(p)
            } else {
                ProbeResult::NeedMore
            }
        }
        Some(_) => ProbeResult::NotFound,
    }
}

/// Suricata's SMB probing parser on 139/445 (`smb_probe_tcp`, min 36 bytes, max depth 36):
/// an NBSS record carrying the SMB magic, or a first non-session record (a session request
/// or response) followed by one that carries it. Past 36 bytes an undecided direction is
/// given up, as Suricata masks the parser once the buffer exceeds its depth.
fn nbss_smb(data: &[u8]) -> ProbeResult {
    const MIN_REC: usize = 36;
    fn record(b: &[u8]) -> Option<(u8, usize, &[u8])> {
        let h = b.get(..4)?;
        // In bounds: h is the 4 bytes get(..4) returned.
        let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        Some((h[0], len, b.get(4..)?))
    }
    let valid = |t: u8| matches!(t, 0x00 | 0x81..=0x85);
    let smb = |t: u8, d: &[u8]| valid(t) && matches!(d.get(..4), Some([0xfd..=0xff, b'S', b'M', b'B']));
    if data.len() < MIN_REC {
        return ProbeResult::NeedMore;
    }
    let Some((t, len, rest)) = record(data) else { return ProbeResult::NeedMore };
    if smb(t, rest) {
        return ProbeResult::Found(P::Smb);
    }
    if !valid(t) || t == 0x00 {
        return ProbeResult::NotFound;
    }
    if rest.len() >= len.saturating_add(8) {
        return match rest.get(len..).and_then(record) {
            Some((t2, _, d2)) if smb(t2, d2) => ProbeResult::Found(P::Smb),
            _ => ProbeResult::NotFound,
        };
    }
    if len < 256 && data.len() <= MIN_REC {
        ProbeResult::NeedMore
    } else {
        ProbeResult::NotFound
    }
}

/// Detects the protocol of one direction from its first bytes.
///
/// `proto` is the IP protocol (6 or 17; anything else is `NotFound`), `to_server` the
/// direction of these bytes, `first_bytes` everything seen so far in that direction from its
/// start (TCP) or one datagram (UDP), `sp`/`dp` the ports of these bytes' packet. Pattern
/// matchers run first and on any port; probing parsers only when a port is their default.
pub fn probe(proto: u8, to_server: bool, first_bytes: &[u8], sp: u16, dp: u16) -> ProbeResult {
    probe_dir(proto, to_server, first_bytes, sp, dp, false).0
}

/// [`probe`], and with `midstream` the other direction's patterns when this direction's name
/// nothing (Suricata's midstream pattern matching): the second value says the protocol was
/// found that way, so the bytes were sent the other way round (its `reverse_flow`).
fn probe_dir(proto: u8, to_server: bool, first_bytes: &[u8], sp: u16, dp: u16, midstream: bool) -> (ProbeResult, bool) {
    if first_bytes.is_empty() {
        return (if proto == TCP || proto == UDP { ProbeResult::NeedMore } else { ProbeResult::NotFound }, false);
    }
    let pm = run_patterns(proto, to_server, first_bytes);
    if let ProbeResult::Found(_) = pm {
        return (pm, false);
    }
    // Patterns for both directions are in this direction's set too, so a hit here is the
    // other direction's own.
    let om = if midstream { run_patterns(proto, !to_server, first_bytes) } else { ProbeResult::NotFound };
    if let ProbeResult::Found(_) = om {
        return (om, true);
    }
    let pp = match run_probing_parsers(proto, to_server, first_bytes, sp, dp) {
        // protocols Suricata's default configuration leaves disabled are not named
        ProbeResult::Found(p) if !p.enabled_by_default() => ProbeResult::NotFound,
        pp => pp,
    };
    if let ProbeResult::Found(_) = pp {
        return (pp, false);
    }
    let r = if [pm, om, pp].contains(&ProbeResult::NeedMore) { ProbeResult::NeedMore } else { ProbeResult::NotFound };
    (r, false)
}

/// Detection counters (plain integers; the integrator publishes them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// Flows whose protocol was found, per protocol (indexed as [`AppProto::ALL`]).
    pub found: Vec<u64>,
    /// Flows that ended detection as `failed`.
    pub failed: u64,
    /// Directions that gave up after [`PROBE_BYTES_MAX`] bytes still undecided.
    pub probe_bytes_exhausted: u64,
    /// Flows whose two directions found different protocols (the first one is kept, as
    /// Suricata keeps it and raises `applayer_mismatch_protocol_both_directions`).
    pub direction_mismatch: u64,
}

impl DetectStats {
    fn count_found(&mut self, p: AppProto) {
        let i = p.index();
        if self.found.len() <= i {
            self.found.resize(AppProto::ALL.len(), 0);
        }
        if let Some(c) = self.found.get_mut(i) {
            *c += 1;
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum DirState {
    #[default]
    Detecting,
    Found(AppProto),
    Done,
}

#[derive(Debug, Default)]
struct DirDetect {
    state: DirState,
    /// First bytes of a TCP direction that came split before a decision.
    buf: Vec<u8>,
    bytes: u64,
}

/// Per-flow detection state (small: two states and, only while a TCP direction is undecided
/// across segments, its first bytes).
#[derive(Debug)]
pub struct ProtoDetect {
    ipproto: u8,
    client_port: u16,
    server_port: u16,
    /// Index 0: to server; 1: to client.
    dirs: [DirDetect; 2],
    result: AppProto,
    /// Failed on the amount of data rather than with both directions done (Suricata's
    /// `APPLAYER_PROTO_DETECTION_SKIPPED`).
    skipped: bool,
    /// Match the other direction's patterns too (`stream.midstream`).
    midstream: bool,
    /// Per direction: its protocol was found with the other direction's patterns.
    rflow: [bool; 2],
    /// The flow was named by a direction found that way: the flow is the wrong way round.
    reverse: bool,
}

impl ProtoDetect {
    /// A flow of IP protocol `ipproto` whose initiator uses `client_port` towards
    /// `server_port`.
    pub fn new(ipproto: u8, client_port: u16, server_port: u16) -> Self {
        ProtoDetect {
            ipproto,
            client_port,
            server_port,
            dirs: Default::default(),
            result: AppProto::Unknown,
            skipped: false,
            midstream: false,
            rflow: [false; 2],
            reverse: false,
        }
    }

    /// With `stream.midstream` on: a direction whose bytes match none of its own patterns is
    /// matched against the other direction's (see the module's contract).
    pub fn midstream(mut self, on: bool) -> Self {
        self.midstream = on;
        self
    }

    /// The direction that named the flow did so with the other direction's patterns, and the
    /// other direction had found nothing: its bytes were the server's (Suricata's
    /// `reverse_flow`; the caller decides whether the flow may be turned around).
    pub fn reverse(&self) -> bool {
        self.reverse
    }

    /// Detection failed on the amount of data one direction sent (Suricata's
    /// `APPLAYER_PROTO_DETECTION_SKIPPED`), not with both directions done.
    pub fn skipped(&self) -> bool {
        self.skipped
    }

    /// The flow's protocol so far (`Unknown` while undecided).
    pub fn proto(&self) -> AppProto {
        self.result
    }

    /// What one direction found (`Unknown` while undecided or when it found nothing).
    pub fn dir_proto(&self, to_server: bool) -> AppProto {
        match self.dirs[usize::from(!to_server)].state {
            DirState::Found(p) => p,
            _ => AppProto::Unknown,
        }
    }

    /// Whether one direction's detection ended without naming a protocol (every pattern and
    /// probe excluded, or its byte budget spent).
    pub fn dir_done(&self, to_server: bool) -> bool {
        self.dirs[usize::from(!to_server)].state == DirState::Done
    }

    /// Detection is over for this flow (found or failed): stop feeding.
    pub fn done(&self) -> bool {
        self.result != AppProto::Unknown
    }

    /// Feeds the next application bytes of one direction (TCP: in order; UDP: one datagram)
    /// and returns the flow's protocol so far.
    pub fn feed(&mut self, to_server: bool, data: &[u8], stats: &mut DetectStats) -> AppProto {
        if self.done() || data.is_empty() {
            return self.result;
        }
        let (sp, dp) =
            if to_server { (self.client_port, self.server_port) } else { (self.server_port, self.client_port) };
        let ipproto = self.ipproto;
        let midstream = self.midstream;
        let mut rflow = false;
        let mut run = |bytes: &[u8]| {
            let (r, rev) = probe_dir(ipproto, to_server, bytes, sp, dp, midstream);
            rflow = rev;
            r
        };
        let d = &mut self.dirs[usize::from(!to_server)];
        d.bytes = d.bytes.saturating_add(data.len() as u64);
        if d.state == DirState::Detecting {
            let r = if ipproto == UDP {
                // Each datagram stands alone; one that does not decide ends the direction.
                match run(data) {
                    ProbeResult::Found(p) => ProbeResult::Found(p),
                    _ => ProbeResult::NotFound,
                }
            } else if d.buf.is_empty() {
                let r = run(data);
                if r == ProbeResult::NeedMore {
                    let keep = data.len().min(PROBE_BYTES_MAX);
                    // In bounds: keep <= data.len() (min).
                    d.buf.extend_from_slice(&data[..keep]);
                    if keep == PROBE_BYTES_MAX {
                        stats.probe_bytes_exhausted += 1;
                        ProbeResult::NotFound
                    } else {
                        r
                    }
                } else {
                    r
                }
            } else {
                let room = PROBE_BYTES_MAX.saturating_sub(d.buf.len());
                let take = data.len().min(room);
                // In bounds: take <= data.len() (min).
                d.buf.extend_from_slice(&data[..take]);
                let r = run(&d.buf);
                if r == ProbeResult::NeedMore && d.buf.len() >= PROBE_BYTES_MAX {
                    stats.probe_bytes_exhausted += 1;
                    ProbeResult::NotFound
                } else {
                    r
                }
            };
            match r {
                ProbeResult::Found(p) => {
                    d.state = DirState::Found(p);
                    d.buf = Vec::new();
                    // In bounds: an index from a bool.
                    self.rflow[usize::from(!to_server)] = rflow;
                }
                ProbeResult::NotFound => {
                    d.state = DirState::Done;
                    d.buf = Vec::new();
                }
                ProbeResult::NeedMore => {}
            }
        }
        self.settle(to_server, stats);
        self.result
    }

    /// Decides the flow from the two directions (first found wins; bail conditions).
    fn settle(&mut self, this_to_server: bool, stats: &mut DetectStats) {
        let this = usize::from(!this_to_server);
        let other = 1 - this;
        // In bounds: this is 0 or 1 (from a bool), so is other; dirs is [DirDetect; 2].
        let (a, b) = (self.dirs[this].state, self.dirs[other].state);
        let found = match (a, b) {
            (DirState::Found(p), DirState::Found(q)) => {
                if p != q {
                    stats.direction_mismatch += 1;
                }
                // The other direction decided earlier (or this call decided both).
                Some(q)
            }
            (DirState::Found(p), _) | (_, DirState::Found(p)) => Some(p),
            _ => None,
        };
        // only the direction that names the flow alone may turn it around (Suricata: not when
        // the other direction found a protocol already)
        // In bounds: this and other are 0 or 1 (above).
        self.reverse = match (a, b) {
            (DirState::Found(_), DirState::Found(_)) => false,
            (DirState::Found(_), _) => self.rflow[this],
            (_, DirState::Found(_)) => self.rflow[other],
            _ => false,
        };
        if let Some(p) = found {
            self.result = p;
            stats.count_found(p);
            for d in &mut self.dirs {
                d.buf = Vec::new();
            }
            return;
        }
        // In bounds: this and other are 0 or 1 (above).
        let (ta, tb) = (self.dirs[this].bytes, self.dirs[other].bytes);
        let both_done = a == DirState::Done && b == DirState::Done;
        let failed = both_done
            || ta > 2 * BAIL_BYTES
            || tb > 2 * BAIL_BYTES
            || (a == DirState::Done && ta > BAIL_BYTES && tb == 0)
            || (b == DirState::Done && tb > BAIL_BYTES && ta == 0);
        if failed {
            self.result = AppProto::Failed;
            self.skipped = !both_done;
            stats.failed += 1;
            for d in &mut self.dirs {
                d.buf = Vec::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(to_server: bool, b: &[u8]) -> ProbeResult {
        probe(6, to_server, b, 40000, 8080)
    }

    #[test]
    fn http_requests_and_responses_on_any_port() {
        assert_eq!(tcp(true, b"GET / HTTP/1.1\r\n"), ProbeResult::Found(P::Http));
        assert_eq!(tcp(true, b"POST\t/x"), ProbeResult::Found(P::Http));
        assert_eq!(tcp(true, b"BASELINE-CONTROL /"), ProbeResult::Found(P::Http));
        assert_eq!(tcp(false, b"HTTP/1.0 200 OK"), ProbeResult::Found(P::Http));
        // Case-sensitive, as Suricata registers them.
        assert_eq!(tcp(true, b"get / HTTP/1.1"), ProbeResult::NotFound);
        // Responses only to the client.
        assert_eq!(tcp(true, b"HTTP/1.1 200"), ProbeResult::NotFound);
        // Prefixes wait.
        assert_eq!(tcp(true, b"GE"), ProbeResult::NeedMore);
        assert_eq!(tcp(true, b"GET"), ProbeResult::NeedMore);
        assert_eq!(tcp(true, b"GETX / HTTP/1.1"), ProbeResult::NotFound);
        // Short data waits: a pattern at offset 4 (SMB after the NetBIOS header) could match.
        assert_eq!(tcp(true, b"GETX"), ProbeResult::NeedMore);
    }

    #[test]
    fn tls_ssh_ftp_smtp() {
        assert_eq!(tcp(true, &[0x16, 3, 1, 0, 0x50, 1]), ProbeResult::Found(P::Tls));
        assert_eq!(tcp(false, &[0x16, 3, 3]), ProbeResult::Found(P::Tls));
        assert_eq!(tcp(false, &[0x17, 3, 3]), ProbeResult::Found(P::Tls));
        assert_eq!(tcp(true, &[0x17, 3, 3, 0, 5, 0, 0, 0, 0]), ProbeResult::NotFound);
        assert_eq!(tcp(true, &[0x16, 3]), ProbeResult::NeedMore);
        assert_eq!(tcp(true, &[0x16, 3, 9, 0, 5, 0, 0, 0, 0]), ProbeResult::NotFound);
        assert_eq!(tcp(true, b"SSH-2.0-OpenSSH"), ProbeResult::Found(P::Ssh));
        assert_eq!(tcp(false, b"ssh-1.99-x"), ProbeResult::Found(P::Ssh));
        assert_eq!(tcp(true, b"USER anonymous\r\n"), ProbeResult::Found(P::Ftp));
        assert_eq!(tcp(false, b"220 (vsFTPd 3.0.3)\r\n"), ProbeResult::Found(P::Ftp));
        assert_eq!(tcp(true, b"EHLO mail.example\r\n"), ProbeResult::Found(P::Smtp));
        assert_eq!(tcp(true, b"helo x\r\n"), ProbeResult::Found(P::Smtp));
    }

    #[test]
    fn ftp_banner_only_on_port_21() {
        let b = b"220 ProFTPD Server ready.\r\n";
        assert_eq!(probe(6, false, b, 21, 40000), ProbeResult::Found(P::Ftp));
        assert_eq!(probe(6, false, b, 2121, 40000), ProbeResult::NotFound);
        assert_eq!(probe(6, false, b"220 no newline yet", 21, 40000), ProbeResult::NeedMore);
    }

    #[test]
    fn smtp_banner_once_the_client_side_is_smtp() {
        let b = b"220 mail.example ESMTP\r\n";
        assert_eq!(probe(6, false, b, 25, 40000), ProbeResult::NotFound);
        assert_eq!(probe_other_side(P::Smtp, 6, false, b, (25, 40000), false), ProbeResult::Found(P::Smtp));
        assert_eq!(probe_other_side(P::Smtp, 6, false, b"220 no newline", (465, 40000), false), ProbeResult::NeedMore);
        assert_eq!(probe_other_side(P::Smtp, 6, false, b, (2525, 40000), false), ProbeResult::NotFound);
        assert_eq!(probe_other_side(P::Http, 6, false, b"\x00\x01binary", (80, 40000), false), ProbeResult::NotFound);
    }

    #[test]
    fn smb_after_netbios_header() {
        let mut smb2 = vec![0x00, 0x00, 0x00, 0x40];
        smb2.extend_from_slice(b"\xfeSMB");
        smb2.extend_from_slice(&[0; 60]);
        assert_eq!(tcp(true, &smb2), ProbeResult::Found(P::Smb));
        let mut smb1 = vec![0x00, 0x00, 0x00, 0x20];
        smb1.extend_from_slice(b"\xffSMBr");
        assert_eq!(tcp(false, &smb1), ProbeResult::Found(P::Smb));
        // Not a session message.
        let mut bad = smb2.clone();
        bad[0] = 0x85;
        assert_eq!(tcp(true, &bad), ProbeResult::NotFound);
        assert_eq!(tcp(true, &smb2[..6]), ProbeResult::NeedMore);
        // A session request counts on 139/445 when the SMB record after it is there already
        let mut req = vec![0x81, 0x00, 0x00, 0x44];
        req.extend_from_slice(&[0x20; 68]);
        assert_eq!(probe(6, true, &req[..20], 40000, 139), ProbeResult::NeedMore);
        assert_eq!(probe(6, true, &req, 40000, 139), ProbeResult::NotFound, "past the depth alone");
        req.extend_from_slice(&smb2);
        assert_eq!(probe(6, true, &req, 40000, 139), ProbeResult::Found(P::Smb));
        assert_eq!(probe(6, true, &req, 40000, 8139), ProbeResult::NotFound);
        // a positive session response (4 bytes) waits for the negotiate response behind it
        let mut resp = vec![0x82, 0, 0, 0];
        assert_eq!(probe(6, false, &resp, 139, 40000), ProbeResult::NeedMore);
        resp.extend_from_slice(&smb2);
        assert_eq!(probe(6, false, &resp, 139, 40000), ProbeResult::Found(P::Smb));
    }

    #[test]
    fn dcerpc_bind() {
        // version 5.0, bind (11), flags, drep little-endian, frag_len 72.
        let bind = [5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(tcp(true, &bind), ProbeResult::Found(P::Dcerpc));
        assert_eq!(tcp(true, &bind[..6]), ProbeResult::NeedMore);
        let mut bad = bind;
        bad[2] = 40;
        assert_eq!(tcp(true, &bad), ProbeResult::NotFound);
    }

    fn dns_query() -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        m
    }

    #[test]
    fn dns_needs_its_port() {
        let q = dns_query();
        assert_eq!(probe(17, true, &q, 5353, 53), ProbeResult::Found(P::Dns));
        assert_eq!(probe(17, false, &q, 53, 5353), ProbeResult::Found(P::Dns));
        // (5353 itself is mDNS's port)
        assert_eq!(probe(17, true, &q, 40001, 5354), ProbeResult::NotFound);
        let mut t = (q.len() as u16).to_be_bytes().to_vec();
        t.extend_from_slice(&q);
        assert_eq!(probe(6, true, &t, 40000, 53), ProbeResult::Found(P::Dns));
        assert_eq!(probe(6, true, &t[..5], 40000, 53), ProbeResult::NeedMore);
        // Garbage on port 53 is not DNS.
        assert_eq!(probe(17, true, &[0xff; 12], 40000, 53), ProbeResult::NotFound);
    }

    #[test]
    fn other_protocols_and_empty() {
        assert_eq!(probe(1, true, b"GET / ", 0, 0), ProbeResult::NotFound);
        assert_eq!(probe(6, true, b"", 1, 2), ProbeResult::NeedMore);
    }

    #[test]
    fn flow_found_on_either_side_and_first_wins() {
        let mut st = DetectStats::default();
        let mut d = ProtoDetect::new(6, 40000, 80);
        assert_eq!(d.feed(true, b"GE", &mut st), P::Unknown);
        assert_eq!(d.feed(true, b"T /index", &mut st), P::Http);
        assert!(d.done());
        assert_eq!(d.feed(false, b"SSH-2.0", &mut st), P::Http);
        assert_eq!(st.found[2], 1);
        // Server speaks first.
        let mut d = ProtoDetect::new(6, 40000, 22);
        assert_eq!(d.feed(false, b"SSH-2.0-x\r\n", &mut st), P::Ssh);
        assert_eq!(d.dir_proto(false), P::Ssh);
    }

    #[test]
    fn every_prefix_of_a_tls_hello_decides_the_same() {
        let hello = [0x16, 3, 1, 0, 0x2f, 1, 0, 0, 0x2b, 3, 3];
        for split in 0..=hello.len() {
            let mut st = DetectStats::default();
            let mut d = ProtoDetect::new(6, 40000, 8443);
            let (a, b) = hello.split_at(split);
            d.feed(true, a, &mut st);
            assert_eq!(d.feed(true, b, &mut st), P::Tls, "split {split}");
        }
        // Byte by byte.
        let mut st = DetectStats::default();
        let mut d = ProtoDetect::new(6, 40000, 8443);
        for b in hello {
            d.feed(true, &[b], &mut st);
        }
        assert_eq!(d.proto(), P::Tls);
    }

    #[test]
    fn both_sides_unknown_fail() {
        let mut st = DetectStats::default();
        let mut d = ProtoDetect::new(6, 40000, 9999);
        assert_eq!(d.feed(true, b"\x00\x01hello", &mut st), P::Unknown);
        assert_eq!(d.feed(false, b"\x00\x02world", &mut st), P::Failed);
        assert_eq!(st.failed, 1);
        assert!(!d.skipped(), "both directions done: no skipped event");
    }

    #[test]
    fn one_sided_and_endless_prefix_give_up() {
        let mut st = DetectStats::default();
        let mut d = ProtoDetect::new(6, 40000, 9999);
        let chunk = [0u8; 1000];
        for _ in 0..100 {
            assert_eq!(d.feed(true, &chunk, &mut st), P::Unknown);
        }
        assert_eq!(d.feed(true, &chunk, &mut st), P::Failed);
        assert!(d.skipped(), "failed on the amount of data: APPLAYER_PROTO_DETECTION_SKIPPED");
        // A prefix that never decides (FTP banner without a newline) stops at the cap.
        let mut st = DetectStats::default();
        let mut d = ProtoDetect::new(6, 40000, 21);
        d.feed(false, b"220 ", &mut st);
        for _ in 0..PROBE_BYTES_MAX {
            d.feed(false, b"x", &mut st);
        }
        assert_eq!(d.dir_proto(false), P::Unknown);
        assert_eq!(st.probe_bytes_exhausted, 1);
        assert_eq!(d.feed(true, b"\x00garbage", &mut st), P::Failed);
    }

    #[test]
    fn udp_each_datagram_alone() {
        let mut st = DetectStats::default();
        let mut d = ProtoDetect::new(17, 5353, 53);
        assert_eq!(d.feed(true, &dns_query(), &mut st), P::Dns);
        let mut d = ProtoDetect::new(17, 5353, 53);
        assert_eq!(d.feed(true, &[1, 2, 3], &mut st), P::Unknown);
        assert_eq!(d.feed(false, &[1, 2, 3], &mut st), P::Failed);
    }

    #[test]
    fn midstream_matches_the_other_directions_patterns_and_asks_to_turn_the_flow_around() {
        let resp = b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n";
        let mut st = DetectStats::default();
        // off (Suricata's default): a response sent to the server names nothing
        let mut d = ProtoDetect::new(6, 40000, 80);
        assert_eq!(d.feed(true, resp, &mut st), P::Unknown);
        assert!(!d.reverse());
        // on: named by the to-client pattern, and the flow is the wrong way round
        let mut d = ProtoDetect::new(6, 40000, 80).midstream(true);
        assert_eq!(d.feed(true, resp, &mut st), P::Http);
        assert!(d.reverse());
        assert_eq!(d.dir_proto(true), P::Http);
        // a request from the server's side too (the methods are to-server patterns)
        let mut d = ProtoDetect::new(6, 80, 40000).midstream(true);
        assert_eq!(d.feed(false, b"GET / HTTP/1.1\r\n", &mut st), P::Http);
        assert!(d.reverse());
        // its own patterns first: nothing to turn around
        let mut d = ProtoDetect::new(6, 40000, 80).midstream(true);
        assert_eq!(d.feed(true, b"GET / HTTP/1.1\r\n", &mut st), P::Http);
        assert!(!d.reverse());
        // patterns of both directions (TLS handshake, SSH banner) never turn a flow around
        let mut d = ProtoDetect::new(6, 40000, 8443).midstream(true);
        assert_eq!(d.feed(false, &[0x16, 3, 3, 0, 5, 2], &mut st), P::Tls);
        assert!(!d.reverse());
        // a prefix of the other direction's pattern waits
        let mut d = ProtoDetect::new(6, 40000, 80).midstream(true);
        assert_eq!(d.feed(true, b"HTTP/", &mut st), P::Unknown);
        assert_eq!(d.feed(true, b"1.0 200 OK\r\n", &mut st), P::Http);
        assert!(d.reverse());
        // the other direction named the flow first: this one cannot turn it around
        let mut d = ProtoDetect::new(6, 40000, 80).midstream(true);
        d.feed(false, b"HT", &mut st);
        assert_eq!(d.feed(true, b"GET / HTTP/1.1\r\n", &mut st), P::Http);
        assert!(!d.reverse());
        // the same on UDP: a SIP response first
        let mut d = ProtoDetect::new(17, 5061, 5060).midstream(true);
        assert_eq!(d.feed(true, b"SIP/2.0 200 OK\r\n", &mut st), P::Sip);
        assert!(d.reverse());
    }

    #[test]
    fn mismatch_counted() {
        let mut st = DetectStats::default();
        let mut d = ProtoDetect::new(6, 40000, 9999);
        // Both sides in the same call sequence: to_client decides after to_server stalls.
        d.feed(true, b"GE", &mut st);
        assert_eq!(d.feed(false, b"SSH-2.0", &mut st), P::Ssh);
        assert_eq!(st.direction_mismatch, 0);
    }
}
