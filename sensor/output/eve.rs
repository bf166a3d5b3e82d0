//! EVE event formatting: a tiny append-only JSON writer (no allocation beyond the reused
//! buffer) and the events built with it.

use std::io::Write;
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::decode::{addr, proto};
use crate::flow::community_id::community_id;
use crate::flow::{EndReason, Flow};

/// Appends JSON to a byte buffer, tracking where commas go.
pub struct Json<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Json<'a> {
    /// Starts an object at the end of `buf`.
    pub fn object(buf: &'a mut Vec<u8>) -> Self {
        buf.push(b'{');
        Json { buf, first: true }
    }

    fn sep(&mut self) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
    }

    /// `"k":` (the key must not need escaping: keys are static names).
    pub fn key(&mut self, k: &str) -> &mut Self {
        self.sep();
        self.buf.push(b'"');
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.extend_from_slice(b"\":");
        self
    }

    /// `"k":"escaped v"`.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        escape_into(self.buf, v.as_bytes());
        self
    }

    /// `"k":"escaped bytes"` (bytes that are not UTF-8 are written as \u00XX escapes of the
    /// byte, as Suricata prints them).
    pub fn bytes(&mut self, k: &str, v: &[u8]) -> &mut Self {
        self.key(k);
        escape_into(self.buf, v);
        self
    }

    /// `"k":n`.
    pub fn u64(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k);
        push_u64(self.buf, v);
        self
    }

    /// `"k":n` where `k` comes from input (a rule's variable name) and is escaped.
    pub fn u64_named(&mut self, k: &[u8], v: u64) -> &mut Self {
        self.sep();
        escape_into(self.buf, k);
        self.buf.push(b':');
        push_u64(self.buf, v);
        self
    }

    /// `"k":x` for a float, `k` from input (escaped): Rust's shortest form that reads back
    /// the same (as Suricata's JSON builder writes floats), `null` for NaN and infinities.
    pub fn f64_named(&mut self, k: &[u8], v: f64) -> &mut Self {
        use std::io::Write as _;
        self.sep();
        escape_into(self.buf, k);
        self.buf.push(b':');
        if v.is_finite() {
            let _ = write!(self.buf, "{v}");
        } else {
            self.buf.extend_from_slice(b"null");
        }
        self
    }

    /// `"k":n` (signed).
    pub fn i64(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        if v < 0 {
            self.buf.push(b'-');
        }
        push_u64(self.buf, v.unsigned_abs());
        self
    }

    /// `"k":true|false`.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.buf.extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    /// `"k":"<timestamp>"` in EVE's format.
    pub fn ts(&mut self, k: &str, ts: Timestamp) -> &mut Self {
        self.key(k);
        self.buf.push(b'"');
        fmt_ts(self.buf, ts);
        self.buf.push(b'"');
        self
    }

    /// `"k":"<address>"`.
    pub fn ip(&mut self, k: &str, a: IpAddr) -> &mut Self {
        self.key(k);
        match a {
            IpAddr::V4(v) => {
                // At most "255.255.255.255": built on the stack, appended in one copy.
                let mut b = [0u8; 17];
                let mut n = 0;
                b[n] = b'"';
                n += 1;
                for (i, o) in v.octets().into_iter().enumerate() {
                    if i > 0 {
                        b[n] = b'.';
                        n += 1;
                    }
                    if o >= 100 {
                        b[n] = b'0' + o / 100;
                        n += 1;
                    }
                    if o >= 10 {
                        b[n] = b'0' + o / 10 % 10;
                        n += 1;
                    }
                    b[n] = b'0' + o % 10;
                    n += 1;
                }
                b[n] = b'"';
                self.buf.extend_from_slice(&b[..=n]);
            }
            IpAddr::V6(v) => {
                // Suricata's PrintInetIPv6: eight groups of four lower-case hex digits
                let mut b = [b':'; 41];
                b[0] = b'"';
                b[40] = b'"';
                for (i, g) in v.segments().into_iter().enumerate() {
                    let [hi, lo] = g.to_be_bytes();
                    b[1 + i * 5..3 + i * 5].copy_from_slice(&hex2(hi));
                    b[3 + i * 5..5 + i * 5].copy_from_slice(&hex2(lo));
                }
                self.buf.extend_from_slice(&b);
            }
        }
        self
    }

    /// `"k":` followed by raw, already valid JSON.
    pub fn raw(&mut self, k: &str, json: &[u8]) -> &mut Self {
        self.key(k);
        self.buf.extend_from_slice(json);
        self
    }

    /// Opens a nested object under `k`; close it with [`Json::end`] on the returned writer.
    pub fn begin(&mut self, k: &str) -> Json<'_> {
        self.key(k);
        Json::object(self.buf)
    }

    /// Opens a nested array under `k` of numbers.
    pub fn u64_array(&mut self, k: &str, v: &[u64]) -> &mut Self {
        self.key(k);
        self.buf.push(b'[');
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            push_u64(self.buf, *x);
        }
        self.buf.push(b']');
        self
    }

    /// `"k":["escaped a","escaped b",...]`.
    pub fn str_array<'s>(&mut self, k: &str, items: impl IntoIterator<Item = &'s [u8]>) -> &mut Self {
        self.key(k);
        self.buf.push(b'[');
        for (i, x) in items.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            escape_into(self.buf, x);
        }
        self.buf.push(b']');
        self
    }

    /// `"k":[items]` where `items` are array items already written as JSON.
    pub fn raw_array(&mut self, k: &str, items: &[u8]) -> &mut Self {
        self.key(k);
        self.buf.push(b'[');
        self.buf.extend_from_slice(items);
        self.buf.push(b']');
        self
    }

    /// `"k":[{"name":"value"},...]` with names and values escaped (EVE `metadata.flowvars`).
    pub fn pairs_array<'s>(&mut self, k: &str, items: impl IntoIterator<Item = (&'s [u8], &'s [u8])>) -> &mut Self {
        self.key(k);
        self.buf.push(b'[');
        for (i, (n, v)) in items.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.buf.push(b'{');
            escape_into(self.buf, n);
            self.buf.push(b':');
            escape_into(self.buf, v);
            self.buf.push(b'}');
        }
        self.buf.push(b']');
        self
    }

    /// Appends fields already written as JSON (`"a":1,"b":2`, no braces), as [`crate::detect`]
    /// renders a flow's variables once for all the events of a packet. Nothing when empty.
    pub fn fields(&mut self, json: &[u8]) -> &mut Self {
        if !json.is_empty() {
            self.sep();
            self.buf.extend_from_slice(json);
        }
        self
    }

    /// Closes this object.
    pub fn end(self) {
        self.buf.push(b'}');
    }

    /// Closes a top-level record and ends its line: what [`set_pcap_filename`] set for this
    /// thread comes last, as Suricata adds it.
    pub fn end_record(self) {
        RECORD_TAIL.with(|t| self.buf.extend_from_slice(&t.borrow()));
        self.buf.extend_from_slice(b"}\n");
    }
}

thread_local! {
    /// `,"pcap_filename":"..."` while this thread formats records of a capture file.
    static RECORD_TAIL: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Sets the capture file that the records this thread finishes name (`output.eve.pcap_file`),
/// or none. See `runtime::pcap_names`.
pub fn set_pcap_filename(name: Option<&str>) {
    RECORD_TAIL.with(|t| {
        let mut t = t.borrow_mut();
        t.clear();
        if let Some(n) = name {
            t.extend_from_slice(b",\"pcap_filename\":");
            escape_into(&mut t, n.as_bytes());
        }
    });
}

/// Appends the decimal digits of `v` (what `write!("{v}")` gives, without the formatter: EVE
/// lines are mostly numbers, and the formatting machinery was a tenth of a worker's time).
#[inline]
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Writes a JSON string literal for `v`, escaping as JSON requires. Invalid UTF-8 bytes are
/// written as `\u00XX`.
pub fn escape_into(out: &mut Vec<u8>, v: &[u8]) {
    // As Suricata's JsonBuilder::set_string_from_bytes: valid UTF-8 is written as it is
    // (JSON-escaped); otherwise every byte over 127 becomes the text `\xNN`. Most strings
    // need no escape at all: runs of bytes that are written as they are go in one copy.
    let valid = v.is_ascii() || std::str::from_utf8(v).is_ok();
    out.reserve(v.len() + 2);
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in v.iter().enumerate() {
        let plain = match b {
            b'"' | b'\\' | 0x00..=0x1f | 0x7f => false,
            0x20..=0x7e => true,
            _ => valid,
        };
        if plain {
            continue;
        }
        out.extend_from_slice(&v[run..i]);
        run = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x00..=0x1f | 0x7f => {
                out.extend_from_slice(b"\\u00");
                out.extend_from_slice(&hex2(b));
            }
            _ => {
                out.extend_from_slice(b"\\\\x");
                out.extend_from_slice(&hex2(b));
            }
        }
    }
    out.extend_from_slice(&v[run..]);
    out.push(b'"');
}

/// `b` as two lower-case hex digits.
#[inline]
fn hex2(b: u8) -> [u8; 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// EVE timestamp: `2024-01-31T12:34:56.123456+0000` (UTC).
pub fn fmt_ts(out: &mut Vec<u8>, ts: Timestamp) {
    let secs = ts.secs() as i64;
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    let us = ts.subsec_micros();
    // Filled in place and appended in one copy (a record has one to three of these).
    let mut b = *b"0000-00-00T00:00:00.000000+0000";
    let in_range = (0..10_000).contains(&y);
    if in_range {
        put_2(&mut b, 0, (y / 100) as u32);
        put_2(&mut b, 2, (y % 100) as u32);
    }
    put_2(&mut b, 5, mo);
    put_2(&mut b, 8, d);
    put_2(&mut b, 11, sod / 3600);
    put_2(&mut b, 14, (sod / 60) % 60);
    put_2(&mut b, 17, sod % 60);
    put_2(&mut b, 20, us / 10_000);
    put_2(&mut b, 22, us / 100 % 100);
    put_2(&mut b, 24, us % 100);
    if in_range {
        out.extend_from_slice(&b);
    } else {
        let _ = write!(out, "{y:04}");
        out.extend_from_slice(&b[4..]);
    }
}

/// Writes `v` (< 100) as two digits at `at`.
#[inline]
fn put_2(b: &mut [u8], at: usize, v: u32) {
    if let Some(d) = b.get_mut(at..at + 2) {
        d[0] = b'0' + (v / 10 % 10) as u8;
        d[1] = b'0' + (v % 10) as u8;
    }
}

/// Protocol name as Suricata writes `proto`.
pub fn proto_name(p: u8) -> std::borrow::Cow<'static, str> {
    std::borrow::Cow::Borrowed(match p {
        proto::TCP => "TCP",
        proto::UDP => "UDP",
        proto::ICMP => "ICMP",
        proto::ICMPV6 => "IPv6-ICMP",
        proto::GRE => "GRE",
        proto::SCTP => "SCTP",
        2 => "IGMP",
        proto::IPIP => "IPIP",
        proto::IPV6 => "IPv6",
        50 => "ESP",
        51 => "AH",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        115 => "L2TP",
        other => return std::borrow::Cow::Owned(other.to_string()),
    })
}

/// Whether the protocol's endpoints have ports in EVE.
pub fn has_ports(p: u8) -> bool {
    matches!(p, proto::TCP | proto::UDP | proto::SCTP)
}

/// The Community ID of a flow.
pub fn flow_community_id<S>(f: &Flow<S>) -> String {
    let alen = if f.key.family == 6 { 16 } else { 4 };
    let t = &f.tuple;
    if matches!(t.proto, proto::ICMP | proto::ICMPV6) {
        community_id(0, &t.src[..alen], &t.dst[..alen], t.proto, t.sp & 0xff, t.sp >> 8)
    } else {
        community_id(0, &t.src[..alen], &t.dst[..alen], t.proto, t.sp, t.dp)
    }
}

fn tcp_flags_obj(j: &mut Json<'_>, ts: u8, tc: u8) {
    let all = ts | tc;
    let mut t = j.begin("tcp");
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (k, v) in [("tcp_flags", all), ("tcp_flags_ts", ts), ("tcp_flags_tc", tc)] {
        t.raw(k, &[b'"', HEX[(v >> 4) as usize], HEX[(v & 15) as usize], b'"']);
    }
    for (bit, name) in [
        (0x02, "syn"),
        (0x01, "fin"),
        (0x04, "rst"),
        (0x08, "psh"),
        (0x10, "ack"),
        (0x20, "urg"),
        (0x40, "ecn"),
        (0x80, "cwr"),
    ] {
        if all & bit != 0 {
            t.bool(name, true);
        }
    }
    t.end();
}

/// Writes the common header fields of an event about flow `f`.
pub fn flow_header<S>(j: &mut Json<'_>, f: &Flow<S>) {
    let v6 = f.key.family == 6;
    let t = &f.tuple;
    if f.key.vlan[0] != 0 || f.key.vlan[1] != 0 {
        let n = f.key.vlan.iter().rposition(|&v| v != 0).map(|i| i + 1).unwrap_or(0);
        let v: Vec<u64> = f.key.vlan[..n].iter().map(|&x| x as u64).collect();
        j.u64_array("vlan", &v);
    }
    j.ip("src_ip", addr(t.src, v6));
    if has_ports(t.proto) {
        j.u64("src_port", t.sp as u64);
    }
    j.ip("dest_ip", addr(t.dst, v6));
    if has_ports(t.proto) {
        j.u64("dest_port", t.dp as u64);
    }
    j.str("proto", &proto_name(t.proto));
    if matches!(t.proto, proto::ICMP | proto::ICMPV6) {
        j.u64("icmp_type", (t.sp & 0xff) as u64);
        j.u64("icmp_code", (t.sp >> 8) as u64);
    }
}

/// Appends an EVE `flow` event line for a flow that ended.
/// `app_proto_orig`: the protocol before a change (HTTP/1 upgraded to WebSocket); `vars`: the
/// flow's rule variables, rendered (`traffic` and `metadata` fields; empty: none).
pub fn flow_event<S>(
    out: &mut Vec<u8>,
    f: &Flow<S>,
    reason: EndReason,
    app_proto: Option<&str>,
    app_proto_orig: Option<&str>,
    vars: &[u8],
) {
    let mut j = Json::object(out);
    j.ts("timestamp", f.start);
    j.u64("flow_id", f.flow_id);
    j.str("event_type", "flow");
    flow_header(&mut j, f);
    if matches!(f.tuple.proto, proto::ICMP | proto::ICMPV6) && f.pkts[1] > 0 {
        // the reply's type/code, when a reply was seen
        j.u64("response_icmp_type", (f.tuple.dp & 0xff) as u64);
        j.u64("response_icmp_code", (f.tuple.dp >> 8) as u64);
    }
    if let Some(a) = app_proto {
        j.str("app_proto", a);
    }
    if let Some(a) = app_proto_orig {
        j.str("app_proto_orig", a);
    }
    {
        let mut fl = j.begin("flow");
        fl.u64("pkts_toserver", f.pkts[0]);
        fl.u64("pkts_toclient", f.pkts[1]);
        fl.u64("bytes_toserver", f.bytes[0]);
        fl.u64("bytes_toclient", f.bytes[1]);
        fl.ts("start", f.start);
        fl.ts("end", f.last);
        fl.u64("age", f.last.secs().saturating_sub(f.start.secs()));
        fl.str("state", f.state.as_str());
        fl.str("reason", reason.as_str());
        fl.bool("alerted", f.alerted);
        fl.end();
    }
    j.fields(vars);
    if f.tuple.proto == proto::TCP {
        tcp_flags_obj(&mut j, f.tcp_flags[0], f.tcp_flags[1]);
    }
    j.str("community_id", &flow_community_id(f));
    j.end_record();
}

/// Whose view a record's addresses take (Suricata's `LOG_DIR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordDir {
    /// The flow's: the client as source.
    Flow,
    /// The server as source.
    ToClient,
}

/// What identifies a flow in a record: its id, key and tuple (borrowed apart from the rest of
/// the flow, whose app layer is being walked).
pub struct FlowIds<'a> {
    /// EVE `flow_id`.
    pub flow_id: u64,
    /// Family and VLANs.
    pub key: &'a crate::flow::FlowKey,
    /// Addresses, ports and protocol, client first.
    pub tuple: &'a crate::flow::Tuple,
}

/// The envelope of an app-layer record (`dns`, `http`, `fileinfo`, ...).
pub struct RecordHeader<'a> {
    /// Time of the packet that completed it (the flow's last packet at its end).
    pub ts: Timestamp,
    /// Position of that packet in the capture (0: none, e.g. written at flow end).
    pub pcap_cnt: u64,
    /// EVE `event_type`.
    pub event_type: &'a str,
    /// Address order.
    pub dir: RecordDir,
    /// Written at the flow's end (EVE `pkt_src` says so) rather than with a packet.
    pub flow_end: bool,
    /// EVE `pkt_src` of the packet it is written with ([`crate::decode::Decoded::pkt_src`]).
    pub pkt_src: &'static str,
    /// The transaction (EVE `tx_id`).
    pub tx_id: Option<u64>,
    /// The flow's rule variables, rendered (`traffic` and `metadata` fields; empty: none).
    pub vars: &'a [u8],
}

/// Appends an app-layer record: the envelope (as Suricata's `CreateEveHeader`), then what
/// `body` writes. When `body` returns false nothing is appended.
pub fn record_event(
    out: &mut Vec<u8>,
    h: &RecordHeader<'_>,
    f: &FlowIds<'_>,
    body: &mut dyn FnMut(&mut Json<'_>) -> bool,
) -> bool {
    let start = out.len();
    let mut j = Json::object(out);
    j.ts("timestamp", h.ts);
    j.u64("flow_id", f.flow_id);
    if h.pcap_cnt != 0 && !h.flow_end {
        j.u64("pcap_cnt", h.pcap_cnt);
    }
    j.str("event_type", h.event_type);
    let v6 = f.key.family == 6;
    let t = &f.tuple;
    if f.key.vlan[0] != 0 || f.key.vlan[1] != 0 {
        let n = f.key.vlan.iter().rposition(|&v| v != 0).map_or(0, |i| i + 1);
        let v: Vec<u64> = f.key.vlan.get(..n).unwrap_or(&[]).iter().map(|&x| x as u64).collect();
        j.u64_array("vlan", &v);
    }
    let (src, dst, sp, dp) = match h.dir {
        RecordDir::Flow => (t.src, t.dst, t.sp, t.dp),
        RecordDir::ToClient => (t.dst, t.src, t.dp, t.sp),
    };
    j.ip("src_ip", addr(src, v6));
    if has_ports(t.proto) {
        j.u64("src_port", sp as u64);
    }
    j.ip("dest_ip", addr(dst, v6));
    if has_ports(t.proto) {
        j.u64("dest_port", dp as u64);
    }
    j.str("proto", &proto_name(t.proto));
    j.u64("ip_v", if v6 { 6 } else { 4 });
    j.str("pkt_src", if h.flow_end { "stream (flow timeout)" } else { h.pkt_src });
    j.fields(h.vars);
    if let Some(id) = h.tx_id {
        j.u64("tx_id", id);
    }
    if !body(&mut j) {
        out.truncate(start);
        return false;
    }
    j.end_record();
    true
}

/// Appends the final EVE `stats` event line.
pub fn stats_event(out: &mut Vec<u8>, ts: Timestamp, uptime_secs: u64, stats: &serde_json::Value) {
    let mut j = Json::object(out);
    j.ts("timestamp", ts);
    j.str("event_type", "stats");
    let mut body = stats.clone();
    if let Some(m) = body.as_object_mut() {
        m.insert("uptime".into(), serde_json::Value::from(uptime_secs));
    }
    let s = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    j.raw("stats", &s);
    j.end_record();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_are_written_as_the_formatter_writes_them() {
        for v in [0u64, 1, 9, 10, 99, 100, 12345, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            push_u64(&mut b, v);
            assert_eq!(b, v.to_string().into_bytes());
        }
        for v in [0i64, -1, 42, i64::MIN, i64::MAX] {
            let mut b = Vec::new();
            Json::object(&mut b).i64("k", v);
            assert_eq!(b, format!("{{\"k\":{v}").into_bytes());
        }
        for a in ["0.0.0.0", "10.2.3.255", "255.255.255.255"] {
            let mut b = Vec::new();
            Json::object(&mut b).ip("k", a.parse().unwrap());
            assert_eq!(b, format!("{{\"k\":\"{a}\"").into_bytes());
        }
        // IPv6 as Suricata prints it: expanded
        let mut b = Vec::new();
        Json::object(&mut b).ip("k", "2001:db8::1".parse().unwrap());
        assert_eq!(String::from_utf8_lossy(&b), "{\"k\":\"2001:0db8:0000:0000:0000:0000:0000:0001\"");
        let mut v = Vec::new();
        fmt_ts(&mut v, Timestamp::from_parts(0, 7_000));
        assert_eq!(std::str::from_utf8(&v).unwrap(), "1970-01-01T00:00:00.000007+0000");
    }

    #[test]
    fn timestamp_format() {
        let mut v = Vec::new();
        fmt_ts(&mut v, Timestamp::from_parts(1_259_098_029, 534_255_000));
        assert_eq!(std::str::from_utf8(&v).unwrap(), "2009-11-24T21:27:09.534255+0000");
        v.clear();
        fmt_ts(&mut v, Timestamp::from_parts(951_782_400, 0)); // 2000-02-29
        assert_eq!(std::str::from_utf8(&v).unwrap(), "2000-02-29T00:00:00.000000+0000");
        v.clear();
        fmt_ts(&mut v, Timestamp::from_parts(u64::MAX / 1_000_000_000, 500_000_000)); // near the last representable
        assert_eq!(std::str::from_utf8(&v).unwrap(), "2554-07-21T23:34:33.500000+0000");
    }

    #[test]
    fn escaping_is_valid_json() {
        let mut v = Vec::new();
        escape_into(&mut v, b"a\"b\\c\n\x01\xc3\xa9");
        let s: String = serde_json::from_slice(&v).unwrap();
        assert_eq!(s, "a\"b\\c\n\u{1}\u{e9}", "valid UTF-8 is kept");
        // as Suricata: a value that is not UTF-8 has every high byte as the text \xNN
        v.clear();
        escape_into(&mut v, b"a\xff\xc3\xa9");
        let s: String = serde_json::from_slice(&v).unwrap();
        assert_eq!(s, "a\\xff\\xc3\\xa9");
        // control characters, DEL and the short escapes, byte for byte
        v.clear();
        escape_into(&mut v, b"x\t\r\x7f\x1fy\"z");
        assert_eq!(v, br#""x\t\r\u007f\u001fy\"z""#);
        v.clear();
        escape_into(&mut v, b"");
        assert_eq!(v, b"\"\"");
        v.clear();
        let mut j = Json::object(&mut v);
        j.ip("a", "10.0.255.7".parse().unwrap()).ip("b", "0.0.0.0".parse().unwrap());
        j.end();
        assert_eq!(String::from_utf8_lossy(&v), r#"{"a":"10.0.255.7","b":"0.0.0.0"}"#);
    }
}

/// The rule part of an alert (pre-rendered at load time).
#[derive(Clone, Copy, Debug)]
pub struct AlertRule<'a> {
    /// `alert.action`
    pub action: &'a str,
    /// `alert.gid`
    pub gid: u32,
    /// `alert.signature_id`
    pub sid: u32,
    /// The texts of the rules' `alert` fields.
    pub texts: &'a crate::output::pieces::Pieces,
    /// This rule's: the rest of the `alert` object's fields, starting with a comma.
    pub rest: crate::output::pieces::TextRef,
    /// `,"context":{..}` (JSON set entries the rule matched), or empty.
    pub context: &'a [u8],
}

/// The packet part of an alert.
#[derive(Clone, Copy)]
pub struct AlertPacket<'a> {
    /// Packet time.
    pub ts: Timestamp,
    /// Decode summary.
    pub d: &'a crate::decode::Decoded,
    /// Position in the capture (0 = not from a capture file).
    pub pcap_cnt: u64,
    /// The packet goes to the server (None without a flow).
    pub to_server: Option<bool>,
    /// A stream-end pseudo packet (inspection of what was left of a stream at flow end).
    pub pseudo: bool,
    /// The flow's app-layer protocol (EVE `app_proto`), when known or failed.
    pub app_proto: Option<&'a str>,
    /// The transaction an app-layer rule matched (EVE `tx_id`).
    pub tx_id: Option<u64>,
    /// Writes the transaction's metadata object (`http`, `dns`, `tls`).
    pub meta: Option<&'a dyn Fn(&mut Json<'_>)>,
    /// Writes the `frame` object of an alert of a frame rule.
    pub frame: Option<&'a dyn Fn(&mut Json<'_>)>,
    /// The flow's rule variables, rendered (`traffic` and `metadata` fields; empty: none).
    pub vars: &'a [u8],
}

/// Appends an EVE `alert` event line, with the fields and order Suricata writes.
pub fn alert_event<S>(out: &mut Vec<u8>, p: &AlertPacket<'_>, flow: Option<&Flow<S>>, rule: &AlertRule<'_>) {
    let d = p.d;
    let v6 = d.is_ipv6();
    let mut j = Json::object(out);
    j.ts("timestamp", p.ts);
    if let Some(f) = flow {
        j.u64("flow_id", f.flow_id);
    }
    if p.pcap_cnt != 0 && d.depth == 0 {
        j.u64("pcap_cnt", p.pcap_cnt);
    }
    j.str("event_type", "alert");
    if d.depth == 0 && d.vlan_n > 0 {
        let v: Vec<u64> = d.vlan[..(d.vlan_n as usize).min(3)].iter().map(|&x| x as u64).collect();
        j.u64_array("vlan", &v);
    }
    // As Suricata: ports by the IP header's protocol, 0 when its header did not decode.
    j.ip("src_ip", addr(d.src, v6));
    if has_ports(d.proto) {
        j.u64("src_port", d.sp as u64);
    }
    j.ip("dest_ip", addr(d.dst, v6));
    if has_ports(d.proto) {
        j.u64("dest_port", d.dp as u64);
    }
    j.u64("ip_v", if v6 { 6 } else { 4 });
    j.str("proto", &proto_name(d.proto));
    if matches!(d.proto, proto::ICMP | proto::ICMPV6) && d.has_l4() {
        j.u64("icmp_type", d.icmp_type as u64);
        j.u64("icmp_code", d.icmp_code as u64);
    }
    if d.proto == proto::IGMP && d.igmp != 0 {
        // As Suricata: RGMP packets by their type, other IGMP by its version.
        if d.rgmp {
            let mut o = j.begin("rgmp");
            o.u64("type", u64::from(d.igmp_type));
            o.end();
        } else {
            let mut o = j.begin("igmp");
            o.u64("version", u64::from(d.igmp));
            o.end();
        }
    }
    j.str("pkt_src", if p.pseudo { "stream (flow timeout)" } else { d.pkt_src() });
    j.fields(p.vars);
    if let Some(t) = p.tx_id {
        j.u64("tx_id", t);
    }
    {
        j.key("alert");
        j.buf.extend_from_slice(b"{\"action\":");
        escape_into(j.buf, rule.action.as_bytes());
        let _ = write!(j.buf, ",\"gid\":{},\"signature_id\":{}", rule.gid, rule.sid);
        rule.texts.write(rule.rest, j.buf);
        j.buf.extend_from_slice(rule.context);
        j.buf.push(b'}');
    }
    if let Some(a) = p.app_proto {
        j.str("app_proto", a);
    }
    if let Some(ts) = p.to_server {
        j.str("direction", if ts { "to_server" } else { "to_client" });
    }
    if let Some(m) = p.meta {
        m(&mut j);
    }
    if let Some(f) = flow {
        let mut fl = j.begin("flow");
        fl.u64("pkts_toserver", f.pkts[0]);
        fl.u64("pkts_toclient", f.pkts[1]);
        fl.u64("bytes_toserver", f.bytes[0]);
        fl.u64("bytes_toclient", f.bytes[1]);
        fl.ts("start", f.start);
        let fv6 = f.key.family == 6;
        fl.ip("src_ip", addr(f.tuple.src, fv6));
        fl.ip("dest_ip", addr(f.tuple.dst, fv6));
        if has_ports(f.tuple.proto) {
            fl.u64("src_port", f.tuple.sp as u64);
            fl.u64("dest_port", f.tuple.dp as u64);
        }
        fl.end();
        j.str("community_id", &flow_community_id(f));
    }
    if let Some(fr) = p.frame {
        fr(&mut j);
    }
    j.end_record();
}
