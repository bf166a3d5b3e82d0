//! DNS's EVE object (Suricata 8's v3 format, `SCDnsLogJson`).

use super::{name_flags, Name, RData, Record, Tx};
use crate::output::eve::Json;

impl Tx {
    /// Writes the alert's `"dns"` object (Suricata 8's v3 format, `SCDnsLogJson` with every
    /// record type and the detailed answer format) into `j`.
    /// `grouped`: also the answers grouped by type (the record's form; alerts carry the
    /// detailed list only).
    pub fn write_eve(&self, j: &mut Json<'_>, grouped: bool) {
        let m = &self.msg;
        let h = &m.header;
        let mut o = j.begin("dns");
        o.u64("version", 3);
        o.str("type", if self.to_server { "request" } else { "response" });
        o.u64("tx_id", self.tx_id);
        o.u64("id", u64::from(h.id));
        o.str("flags", &format!("{:x}", h.flags));
        for (bit, k) in [(0x8000, "qr"), (0x0400, "aa"), (0x0200, "tc"), (0x0100, "rd"), (0x0080, "ra"), (0x0040, "z")]
        {
            if h.flags & bit != 0 {
                o.bool(k, true);
            }
        }
        o.u64("opcode", u64::from(h.opcode()));
        o.str("rcode", &rcode_string(h.flags));
        if !m.queries.is_empty() {
            let mut arr = Vec::new();
            arr.push(b'[');
            for (i, q) in m.queries.iter().enumerate() {
                if i > 0 {
                    arr.push(b',');
                }
                let mut e = Json::object(&mut arr);
                e.bytes("rrname", &q.name.value);
                e.str("rrtype", &rrtype_string(q.rrtype));
                if q.name.flags & name_flags::TRUNCATED != 0 {
                    e.bool("rrname_truncated", true);
                }
                e.end();
            }
            arr.push(b']');
            o.raw("queries", &arr);
        }
        write_records(&mut o, "answers", &m.answers, false);
        if grouped && !m.answers.is_empty() {
            write_grouped(&mut o, &m.answers);
        }
        write_records(&mut o, "authorities", &m.authorities, false);
        write_records(&mut o, "additionals", &m.additionals, true);
        o.end();
    }
}

/// The fields of an SOA, SRV or SSHFP record's object.
fn rdata_fields(so: &mut Json<'_>, d: &RData) {
    match d {
        RData::Soa(s) => {
            so.bytes("mname", &s.mname.value);
            if s.mname.flags & name_flags::TRUNCATED != 0 {
                so.bool("mname_truncated", true);
            }
            so.bytes("rname", &s.rname.value);
            so.u64("serial", u64::from(s.serial));
            so.u64("refresh", u64::from(s.refresh));
            so.u64("retry", u64::from(s.retry));
            so.u64("expire", u64::from(s.expire));
            so.u64("minimum", u64::from(s.minimum));
        }
        RData::Srv(prio, weight, port, target) => {
            so.u64("priority", u64::from(*prio));
            so.u64("weight", u64::from(*weight));
            so.u64("port", u64::from(*port));
            so.bytes("name", &target.value);
        }
        RData::Sshfp(algo, t, fp) => {
            let hex: Vec<String> = fp.iter().map(|b| format!("{b:02x}")).collect();
            so.str("fingerprint", &hex.join(":"));
            so.u64("algo", u64::from(*algo));
            so.u64("type", u64::from(*t));
        }
        _ => {}
    }
}

/// Suricata's `grouped` answers: per type, the rdata values (addresses, names, TXT strings,
/// NULL bytes, SOA/SRV/SSHFP objects), in the order the types first appear.
fn write_grouped(o: &mut Json<'_>, answers: &[Record]) {
    let mut types: Vec<u16> = Vec::new();
    for r in answers {
        let groupable = matches!(
            r.data,
            RData::A(_)
                | RData::Aaaa(_)
                | RData::Cname(_)
                | RData::Mx(..)
                | RData::Ns(_)
                | RData::Ptr(_)
                | RData::Txt(_)
                | RData::Null(_)
                | RData::Soa(_)
                | RData::Srv(..)
                | RData::Sshfp(..)
        );
        if groupable && !types.contains(&r.rrtype) {
            types.push(r.rrtype);
        }
    }
    if types.is_empty() {
        return;
    }
    let mut g = o.begin("grouped");
    for t in types {
        let mut arr = Vec::new();
        arr.push(b'[');
        let mut n = 0;
        let mut sep = |arr: &mut Vec<u8>| {
            if n > 0 {
                arr.push(b',');
            }
            n += 1;
        };
        for r in answers.iter().filter(|r| r.rrtype == t) {
            match &r.data {
                RData::A(a) | RData::Aaaa(a) => {
                    sep(&mut arr);
                    crate::output::eve::escape_into(&mut arr, print_addr(a).as_bytes());
                }
                RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) | RData::Mx(_, n) => {
                    sep(&mut arr);
                    crate::output::eve::escape_into(&mut arr, &n.value);
                }
                RData::Txt(v) => {
                    for s in v {
                        sep(&mut arr);
                        crate::output::eve::escape_into(&mut arr, s);
                    }
                }
                RData::Null(b) => {
                    sep(&mut arr);
                    crate::output::eve::escape_into(&mut arr, b);
                }
                RData::Soa(_) | RData::Srv(..) | RData::Sshfp(..) => {
                    sep(&mut arr);
                    let mut obj = Json::object(&mut arr);
                    rdata_fields(&mut obj, &r.data);
                    obj.end();
                }
                _ => {}
            }
        }
        arr.push(b']');
        g.raw(&rrtype_string(t), &arr);
    }
    g.end();
}

/// Writes a section as Suricata's `dns_log_json_answer_detail` entries (one per TXT string;
/// OPT records without options skipped in additionals).
fn write_records(o: &mut Json<'_>, key: &str, recs: &[Record], skip_empty_opt: bool) {
    let mut arr = Vec::new();
    let mut n = 0;
    arr.push(b'[');
    for r in recs {
        if skip_empty_opt && matches!(&r.data, RData::Opt(v) if v.is_empty()) {
            continue;
        }
        let count = match &r.data {
            RData::Txt(v) => v.len(),
            _ => 1,
        };
        for i in 0..count {
            if n > 0 {
                arr.push(b',');
            }
            n += 1;
            write_record(&mut arr, r, i);
        }
    }
    arr.push(b']');
    if n > 0 {
        o.raw(key, &arr);
    }
}

fn write_record(out: &mut Vec<u8>, r: &Record, i: usize) {
    let mut e = Json::object(out);
    e.bytes("rrname", &r.name.value);
    if r.name.flags & name_flags::TRUNCATED != 0 {
        e.bool("rrname_truncated", true);
    }
    e.str("rrtype", &rrtype_string(r.rrtype));
    e.u64("ttl", u64::from(r.ttl));
    let name_rdata = |e: &mut Json<'_>, n: &Name| {
        e.bytes("rdata", &n.value);
        if n.flags & name_flags::TRUNCATED != 0 {
            e.bool("rdata_truncated", true);
        }
    };
    match &r.data {
        RData::A(a) | RData::Aaaa(a) => {
            e.str("rdata", &print_addr(a));
        }
        RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) | RData::Mx(_, n) => name_rdata(&mut e, n),
        RData::Txt(v) => {
            if let Some(t) = v.get(i) {
                e.bytes("rdata", t);
            }
        }
        RData::Null(b) => {
            e.bytes("rdata", b);
        }
        RData::Soa(_) | RData::Srv(..) | RData::Sshfp(..) => {
            let key = match &r.data {
                RData::Soa(_) => "soa",
                RData::Srv(..) => "srv",
                _ => "sshfp",
            };
            let mut so = e.begin(key);
            rdata_fields(&mut so, &r.data);
            so.end();
        }
        // OPT options and unknown types: the schema has no field for them in alerts.
        RData::Opt(_) | RData::Other(_) => {}
    }
    e.end();
}

/// Suricata's `dns_print_addr`: dotted quad, or eight groups of four lowercase hex digits
/// (not compressed); anything else is empty.
pub fn print_addr(a: &[u8]) -> String {
    match a.len() {
        // In bounds: the match arm is a.len() == 4.
        4 => format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
        16 => {
            // In bounds: chunks(2) never yields an empty chunk.
            let g: Vec<String> =
                a.chunks(2).map(|c| format!("{:02x}{:02x}", c[0], c.get(1).copied().unwrap_or(0))).collect();
            g.join(":")
        }
        _ => String::new(),
    }
}

/// Suricata's `dns_rrtype_string` (including its spellings `NSAPPT`, `CDSNKEY`, `ND`).
pub fn rrtype_string(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        3 => "ND",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAPPT",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDSNKEY",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        _ => return t.to_string(),
    };
    s.to_string()
}

/// Suricata's `dns_rcode_string` (of the header's low 4 bits).
pub fn rcode_string(flags: u16) -> String {
    let s = match flags & 0xf {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        x => return x.to_string(),
    };
    s.to_string()
}
