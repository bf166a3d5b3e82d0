//! DHCP (BOOTP over UDP, ports 67 and 68), after Suricata's `rust/src/dhcp/`: each message is
//! a one-way transaction with its header and the options Suricata logs or matches
//! (`dhcp.leasetime`, `dhcp.rebinding_time`, `dhcp.renewal_time`; EVE `dhcp`).
//!
//! Takes: one datagram per call. Promises: the same reading as Suricata's parser, quirks
//! included: options are read until End (255) or until one does not fit, which raises
//! `truncated_options`; Pad (0) is read as a generic option with a length byte; the three
//! time options read 4 bytes whatever their length byte says; an overloaded `file`/`sname`
//! field (option 52) is read for more options. Written by hand rather than with `dhcproto`:
//! that crate rejects a whole message on one bad option, where Suricata keeps what it read
//! and flags it, and records and rules depend on that.
//! Bounded: [`MAX_TXS`] transactions per flow, [`MAX_OPTIONS`] kept options per message (only
//! the codes logged or matched are kept); overflow is counted. Never: panics on packet bytes.

mod detect;
#[cfg(test)]
mod tests;

pub use detect::{PROTOCOL, VALUES};

use super::identify::ProbeResult;
use super::proto::AppProto;
use super::txs::TxList;
use crate::output::eve::Json;

/// Transactions kept per flow.
pub const MAX_TXS: usize = 32;
/// Options kept per message.
pub const MAX_OPTIONS: usize = 32;

/// App-layer events, as Suricata names them.
pub const EVENTS: &[&str] = &["truncated_options", "malformed_options"];
const EV_TRUNCATED: u16 = 0;

const BOOTP_REQUEST: u8 = 1;
const BOOTP_REPLY: u8 = 2;
/// Fixed header (236 bytes) and magic cookie.
const HEADER_LEN: usize = 240;
/// Suricata's `DHCP_MIN_FRAME_LEN` for the probe.
const MIN_FRAME_LEN: usize = 232;

const OPT_SUBNET_MASK: u8 = 1;
const OPT_ROUTERS: u8 = 3;
const OPT_DNS_SERVER: u8 = 6;
const OPT_HOSTNAME: u8 = 12;
const OPT_REQUESTED_IP: u8 = 50;
/// Lease time.
pub const OPT_ADDRESS_TIME: u8 = 51;
const OPT_OVERLOAD: u8 = 52;
const OPT_TYPE: u8 = 53;
const OPT_PARAMETER_LIST: u8 = 55;
/// Renewal (T1) time.
pub const OPT_RENEWAL_TIME: u8 = 58;
/// Rebinding (T2) time.
pub const OPT_REBINDING_TIME: u8 = 59;
const OPT_VENDOR_CLASS_ID: u8 = 60;
const OPT_CLIENT_ID: u8 = 61;
const OPT_END: u8 = 255;
const DHCP_TYPE_ACK: u8 = 5;

/// Options kept (logged or matched).
const KEPT: &[u8] = &[
    OPT_SUBNET_MASK,
    OPT_ROUTERS,
    OPT_DNS_SERVER,
    OPT_HOSTNAME,
    OPT_REQUESTED_IP,
    OPT_ADDRESS_TIME,
    OPT_OVERLOAD,
    OPT_TYPE,
    OPT_PARAMETER_LIST,
    OPT_RENEWAL_TIME,
    OPT_REBINDING_TIME,
    OPT_VENDOR_CLASS_ID,
    OPT_CLIENT_ID,
];

/// One option as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opt {
    /// Client identifier (its hardware type byte skipped).
    ClientId(Vec<u8>),
    /// Lease, renewal or rebinding time (code, seconds).
    Time(u8, u32),
    /// Any other kept option (code, data).
    Generic(u8, Vec<u8>),
}

/// One DHCP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpTx {
    id: u64,
    to_server: bool,
    /// BOOTP op: 1 request, 2 reply.
    pub op: u8,
    /// Transaction id.
    pub xid: u32,
    /// Client hardware address (`hlen` bytes, at most 16).
    pub chaddr: Vec<u8>,
    /// ciaddr, yiaddr, siaddr, giaddr.
    pub addrs: [[u8; 4]; 4],
    /// Kept options, in order.
    pub options: Vec<Opt>,
    events: Vec<u16>,
}

crate::app_counters! {
    /// DHCP counters.
    pub struct DhcpStats {
        /// Messages that became a transaction.
        messages,
        /// Datagrams shorter than the BOOTP header.
        malformed,
        /// Messages whose options ended before End or did not fit.
        truncated_options,
        /// Options not kept because [`MAX_OPTIONS`] were held.
        options_dropped,
        /// Transactions evicted because [`MAX_TXS`] were held.
        tx_evicted,
    }
}

/// Suricata's `dhcp_probing_parser`: at least 232 bytes, and a whole BOOTP header.
pub fn probe(d: &[u8]) -> ProbeResult {
    if d.len() >= MIN_FRAME_LEN && d.len() >= HEADER_LEN {
        ProbeResult::Found(AppProto::Dhcp)
    } else {
        ProbeResult::NotFound
    }
}

/// What reading one option gave.
enum Read {
    Opt(Opt, usize),
    Skip(usize),
    End,
    Short,
}

/// Reads the option at the start of `d` as Suricata's `parse_option` does.
fn read_option(d: &[u8]) -> Read {
    let Some(&code) = d.first() else { return Read::Short };
    if code == OPT_END {
        return Read::End;
    }
    let Some(&len) = d.get(1) else { return Read::Short };
    let len = usize::from(len);
    match code {
        OPT_CLIENT_ID => {
            // length over 1, a hardware type byte, then the id
            if len <= 1 {
                return Read::Short;
            }
            match d.get(3..2 + len) {
                Some(id) => Read::Opt(Opt::ClientId(id.to_vec()), 2 + len),
                None => Read::Short,
            }
        }
        OPT_ADDRESS_TIME | OPT_RENEWAL_TIME | OPT_REBINDING_TIME => match d.get(2..6) {
            Some(v) => Read::Opt(Opt::Time(code, u32::from_be_bytes([v[0], v[1], v[2], v[3]])), 6),
            None => Read::Short,
        },
        _ => match d.get(2..2 + len) {
            Some(v) if KEPT.contains(&code) => Read::Opt(Opt::Generic(code, v.to_vec()), 2 + len),
            Some(_) => Read::Skip(2 + len),
            None => Read::Short,
        },
    }
}

/// Reads options from `d` into `out` until End or an option that does not fit; returns
/// (truncated, options dropped for the cap).
fn read_options(mut d: &[u8], out: &mut Vec<Opt>) -> (bool, u64) {
    let mut dropped = 0;
    loop {
        let used = match read_option(d) {
            Read::End => return (false, dropped),
            Read::Short => return (true, dropped),
            Read::Skip(n) => n,
            Read::Opt(o, n) => {
                if out.len() < MAX_OPTIONS {
                    out.push(o);
                } else {
                    dropped += 1;
                }
                n
            }
        };
        d = d.get(used..).unwrap_or_default();
    }
}

fn ip4(d: &[u8], at: usize) -> [u8; 4] {
    let mut a = [0; 4];
    if let Some(s) = d.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    a
}

/// Per-flow DHCP state.
#[derive(Debug)]
pub struct DhcpState {
    txs: TxList<DhcpTx>,
    /// Counters.
    pub stats: DhcpStats,
}

impl Default for DhcpState {
    fn default() -> Self {
        DhcpState { txs: TxList::new(MAX_TXS), stats: DhcpStats::default() }
    }
}

impl DhcpState {
    /// Transactions held.
    pub fn txs(&self) -> impl Iterator<Item = &DhcpTx> {
        self.txs.iter()
    }

    /// Parses one datagram; false when it is shorter than the BOOTP header.
    pub fn parse_packet(&mut self, to_server: bool, d: &[u8]) -> bool {
        if d.len() < HEADER_LEN {
            self.stats.malformed += 1;
            return false;
        }
        let hlen = usize::from(d[2]).min(16);
        let mut options = Vec::new();
        let (truncated, mut dropped) = read_options(&d[HEADER_LEN..], &mut options);
        let overload = options
            .iter()
            .find_map(|o| match o {
                Opt::Generic(OPT_OVERLOAD, v) => v.first().copied(),
                _ => None,
            })
            .unwrap_or(0);
        // Suricata reads `file` (bit 0) then `sname` (bit 1); an overloaded field stops at
        // End or at the first option that does not fit, without an event
        if overload & 1 != 0 {
            dropped += read_options(&d[108..236], &mut options).1;
        }
        if overload & 2 != 0 {
            dropped += read_options(&d[44..108], &mut options).1;
        }
        let mut events = Vec::new();
        if truncated {
            events.push(EV_TRUNCATED);
            self.stats.truncated_options += 1;
        }
        self.stats.options_dropped += dropped;
        let tx = DhcpTx {
            id: self.txs.next_id(),
            to_server,
            op: d[0],
            xid: u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
            chaddr: d[28..28 + hlen].to_vec(),
            addrs: [ip4(d, 12), ip4(d, 16), ip4(d, 20), ip4(d, 24)],
            options,
            events,
        };
        self.stats.messages += 1;
        if self.txs.push(tx) {
            self.stats.tx_evicted += 1;
        }
        true
    }
}

fn hex_colon(d: &[u8]) -> String {
    let mut s = String::with_capacity(d.len() * 3);
    for (i, b) in d.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Suricata's `dns_print_addr`: dotted IPv4 for 4 bytes, 8 groups of hex for 16, else "".
fn print_addr(a: &[u8]) -> String {
    match a.len() {
        4 => format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
        16 => a.chunks(2).map(|c| format!("{:02x}{:02x}", c[0], c[1])).collect::<Vec<_>>().join(":"),
        _ => String::new(),
    }
}

const PARAMS: &[(u8, &str)] = &[
    (1, "subnet_mask"),
    (3, "router"),
    (6, "dns_server"),
    (15, "domain"),
    (35, "arp_timeout"),
    (42, "ntp_server"),
    (66, "tftp_server_name"),
    (150, "tftp_server_ip"),
];

const TYPES: &[&str] = &["unknown", "discover", "offer", "request", "decline", "ack", "nak", "release", "inform"];

impl DhcpTx {
    /// The DHCP message type (option 53), when present.
    pub fn dhcp_type(&self) -> Option<u8> {
        self.options.iter().find_map(|o| match o {
            Opt::Generic(OPT_TYPE, v) => v.first().copied(),
            _ => None,
        })
    }

    /// A time option's seconds (the first of that code).
    pub fn time(&self, code: u8) -> Option<u64> {
        self.options.iter().find_map(|o| match o {
            Opt::Time(c, s) if *c == code => Some(u64::from(*s)),
            _ => None,
        })
    }

    /// Whether a default (not extended) record is written: ACKs only, as Suricata's.
    pub fn logged_by_default(&self) -> bool {
        self.dhcp_type() == Some(DHCP_TYPE_ACK)
    }

    /// Writes Suricata's `dhcp` object; `extended` adds what Suricata's extended mode adds.
    pub fn write_eve(&self, j: &mut Json<'_>, extended: bool) {
        let mut o = j.begin("dhcp");
        o.str(
            "type",
            match self.op {
                BOOTP_REQUEST => "request",
                BOOTP_REPLY => "reply",
                _ => "<unknown>",
            },
        );
        o.u64("id", u64::from(self.xid));
        o.str("client_mac", &hex_colon(&self.chaddr));
        o.str("assigned_ip", &print_addr(&self.addrs[1]));
        if extended {
            o.str("client_ip", &print_addr(&self.addrs[0]));
            if self.op == BOOTP_REPLY {
                o.str("relay_ip", &print_addr(&self.addrs[3]));
                o.str("next_server_ip", &print_addr(&self.addrs[2]));
            }
        }
        for opt in &self.options {
            match opt {
                Opt::ClientId(id) => {
                    o.str("client_id", &hex_colon(id));
                }
                Opt::Time(c, s) => match *c {
                    OPT_ADDRESS_TIME if extended => {
                        o.u64("lease_time", u64::from(*s));
                    }
                    OPT_REBINDING_TIME if extended => {
                        o.u64("rebinding_time", u64::from(*s));
                    }
                    OPT_RENEWAL_TIME => {
                        o.u64("renewal_time", u64::from(*s));
                    }
                    _ => {}
                },
                Opt::Generic(c, v) => write_generic(&mut o, *c, v, extended),
            }
        }
        o.end();
    }
}

fn write_generic(o: &mut Json<'_>, code: u8, v: &[u8], extended: bool) {
    let addrs = |v: &[u8]| v.chunks_exact(4).map(print_addr).collect::<Vec<_>>();
    match code {
        OPT_SUBNET_MASK if extended => {
            o.str("subnet_mask", &print_addr(v));
        }
        OPT_HOSTNAME if !v.is_empty() => {
            o.bytes("hostname", v);
        }
        OPT_TYPE => {
            if let Some(&t) = v.first() {
                o.str("dhcp_type", TYPES.get(usize::from(t)).copied().unwrap_or("unknown"));
            }
        }
        OPT_REQUESTED_IP if extended => {
            o.str("requested_ip", &print_addr(v));
        }
        OPT_PARAMETER_LIST if extended => {
            let names = v.iter().filter_map(|p| PARAMS.iter().find(|(c, _)| c == p).map(|(_, n)| n.as_bytes()));
            super::jsonx::str_array(o, "params", names);
        }
        OPT_DNS_SERVER if extended => {
            let a = addrs(v);
            super::jsonx::str_array(o, "dns_servers", a.iter().map(|s| s.as_bytes()));
        }
        OPT_ROUTERS if extended => {
            let a = addrs(v);
            super::jsonx::str_array(o, "routers", a.iter().map(|s| s.as_bytes()));
        }
        OPT_VENDOR_CLASS_ID if extended && !v.is_empty() => {
            o.bytes("vendor_class_identifier", v);
        }
        _ => {}
    }
}
