//! DCE/RPC as a plug-in: `dcerpc.iface`, `dcerpc.opnum` (values) and `dcerpc.stub_data` (a
//! sticky buffer), with Suricata's legacy names `dce_iface`, `dce_opnum`, `dce_stub_data`; the
//! argument types and their parses are shared with `smb`, which has the same keywords for
//! DCE/RPC over named pipes (Suricata registers them for both protocols).

use super::pdu::{self, Iface};
use super::{DceTx, DcerpcState, DcerpcStats};
use crate::app::plugin::{
    buffer_infos, keyword_tables, started_or_done, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side,
    Status, Sticky, Transaction, ValueArg, ValueInfo, ValueKeyword,
};
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;
use crate::rule::ast::NumCmp;

/// Suricata's documentation of the DCE/RPC keywords.
const DOC_IFACE: &str = "https://docs.suricata.io/en/latest/rules/dcerpc-keywords.html#dcerpc-iface";
const DOC_OPNUM: &str = "https://docs.suricata.io/en/latest/rules/dcerpc-keywords.html#dcerpc-opnum";
const DOC_STUB: &str = "https://docs.suricata.io/en/latest/rules/dcerpc-keywords.html#dcerpc-stub-data";

/// `dcerpc.iface:<uuid>[,<version comparison>][,any_frag]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IfaceArg {
    /// Interface UUID, canonical byte order.
    pub uuid: [u8; 16],
    /// Comparison on the interface's major version.
    pub version: Option<NumCmp>,
    /// Match contexts of any bind fragment, not only the first.
    pub any_frag: bool,
}

impl IfaceArg {
    /// Parses the argument as Suricata does.
    pub(crate) fn parse(s: &str) -> Result<IfaceArg, String> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let bad = || format!("invalid interface '{}'", s.trim());
        let uuid = parse_uuid_any(parts.first().copied().unwrap_or("")).ok_or_else(bad)?;
        let ver = |v: &str| crate::rule::parse_uint_cmp(v, u64::from(u16::MAX)).ok_or_else(bad);
        let (version, any_frag) = match parts.as_slice() {
            [_] => (None, false),
            [_, "any_frag"] => (None, true),
            [_, v] => (Some(ver(v)?), false),
            [_, v, "any_frag"] => (Some(ver(v)?), true),
            _ => return Err(bad()),
        };
        Ok(IfaceArg { uuid, version, any_frag })
    }

    /// Whether a context the flow has matches (accepted by the server, of this interface and
    /// version, from a first bind fragment unless `any_frag`).
    pub(crate) fn accepts(&self, i: &Iface) -> bool {
        i.acked
            && i.ack_result == 0
            && i.uuid == self.uuid
            && (self.any_frag || i.first_frag)
            && self.version.is_none_or(|c| c.matches(u64::from(i.ver)))
    }
}

/// A UUID in hyphenated or plain-hex form.
fn parse_uuid_any(s: &str) -> Option<[u8; 16]> {
    let s = s.trim();
    if s.len() == 32 && s.bytes().all(|c| c.is_ascii_hexdigit()) {
        let h = format!("{}-{}-{}-{}-{}", &s[..8], &s[8..12], &s[12..16], &s[16..20], &s[20..]);
        return pdu::parse_uuid(&h);
    }
    pdu::parse_uuid(s)
}

/// `dcerpc.opnum`: a list of numbers and ranges (`10,12-14`), or one integer comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OpnumArg {
    /// Numbers and inclusive ranges.
    List(Vec<(u32, u32)>),
    /// One comparison (`>3`).
    Cmp(NumCmp),
}

impl OpnumArg {
    /// Parses the argument as Suricata does (the list form first).
    pub(crate) fn parse(s: &str) -> Result<OpnumArg, String> {
        let s = s.trim();
        let list: Option<Vec<(u32, u32)>> = s
            .split(',')
            .map(|r| {
                let mut it = r.split('-');
                let a: u32 = it.next()?.parse().ok()?;
                match (it.next(), it.next()) {
                    (None, _) => Some((a, a)),
                    (Some(b), None) => {
                        let b: u32 = b.parse().ok()?;
                        (b >= a).then_some((a, b))
                    }
                    _ => None,
                }
            })
            .collect();
        if let Some(l) = list {
            return Ok(OpnumArg::List(l));
        }
        crate::rule::parse_uint_cmp(s, u64::from(u16::MAX))
            .map(OpnumArg::Cmp)
            .ok_or_else(|| format!("invalid opnum '{s}'"))
    }

    /// Whether `opnum` matches.
    pub(crate) fn matches(&self, opnum: u16) -> bool {
        match self {
            OpnumArg::List(l) => l.iter().any(|&(a, b)| (a..=b).contains(&u32::from(opnum))),
            OpnumArg::Cmp(c) => c.matches(u64::from(opnum)),
        }
    }
}

fn parse_iface(v: Option<&str>) -> Result<ValueArg, String> {
    Ok(Box::new(IfaceArg::parse(v.unwrap_or(""))?))
}

fn parse_opnum(v: Option<&str>) -> Result<ValueArg, String> {
    Ok(Box::new(OpnumArg::parse(v.unwrap_or(""))?))
}

/// The rows of the DCE/RPC value keywords, for any transaction type that can answer them.
pub(crate) const fn iface_info() -> ValueInfo {
    ValueInfo {
        name: "dcerpc.iface",
        aliases: &["dce_iface"],
        arg: Some(true),
        side: Side::Both,
        need: Need::NONE,
        parse: parse_iface,
        desc: "a DCE/RPC interface (UUID, optional version comparison, any_frag) bound and accepted",
        doc: DOC_IFACE,
    }
}

/// `dcerpc.opnum`'s row.
pub(crate) const fn opnum_info() -> ValueInfo {
    ValueInfo {
        name: "dcerpc.opnum",
        aliases: &["dce_opnum"],
        arg: Some(true),
        side: Side::Both,
        need: Need::NONE,
        parse: parse_opnum,
        desc: "the operation number of a DCE/RPC request (numbers, ranges or a comparison)",
        doc: DOC_OPNUM,
    }
}

/// `dcerpc.stub_data`'s row.
pub(crate) const fn stub_info() -> BufferInfo {
    BufferInfo {
        name: "dcerpc.stub_data",
        aliases: &["dce_stub_data"],
        side: Side::Both,
        need: Need::own(1),
        multi: false,
        shared: false,
        internal: false,
        desc: "the stub data of a DCE/RPC request (to the server) or response (to the client)",
        doc: DOC_STUB,
    }
}

/// DCE/RPC's sticky buffers.
pub(super) static BUFFERS: &[Sticky<DceTx>] = &[Sticky {
    info: stub_info(),
    get: |tx: &DceTx, to_server, f| {
        let b = tx.stub(to_server);
        !b.is_empty() && f(b)
    },
}];

/// DCE/RPC's value keywords.
pub(super) static VALUES: &[ValueKeyword<DceTx>] = &[
    ValueKeyword {
        info: iface_info(),
        eval: |a, tx, _, _| {
            let Some(a) = a.downcast_ref::<IfaceArg>() else { return false };
            // Suricata's match_backuuid: a request was seen, and a context of the request's
            // id matches
            tx.first_request_seen && tx.ifaces.iter().any(|i| i.ctxid == tx.ctxid && a.accepts(i))
        },
    },
    ValueKeyword {
        info: opnum_info(),
        eval: |a, tx, _, _| a.downcast_ref::<OpnumArg>().is_some_and(|a| tx.first_request_seen && a.matches(tx.opnum)),
    },
];

impl Transaction for DceTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        [started_or_done(self.req_done), started_or_done(self.resp_done)]
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        super::eve::write_tx(j, self);
    }

    fn record_ready(&self) -> bool {
        self.is_complete()
    }
}

/// The DCE/RPC parser of a flow.
#[derive(Debug)]
struct DcerpcParser {
    state: DcerpcState,
}

impl AppParser for DcerpcParser {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let ok = if cx.udp { self.state.parse_udp(data) } else { self.state.parse_tcp(to_server, data) };
        for _ in 0..self.state.stats.txs {
            cx.stats.tx(AppProto::Dcerpc, !cx.udp);
        }
        self.state.stats.drain_into(&mut cx.stats.dcerpc);
        if ok {
            Status::Continue
        } else {
            Status::Stop
        }
    }

    fn take_raw_trigger(&mut self) -> [bool; 2] {
        std::mem::take(&mut self.state.raw_trigger)
    }

    fn gap(&mut self, _to_server: bool, _len: u64, cx: &mut ParseCx<'_>) -> Status {
        self.state.gap();
        self.state.stats.drain_into(&mut cx.stats.dcerpc);
        Status::Stop
    }

    fn each_tx(&self, f: &mut dyn FnMut(&dyn Transaction)) {
        self.state.txs().for_each(|t| f(t));
    }

    fn tx(&self, id: u64) -> Option<&dyn Transaction> {
        self.state.tx(id).map(|t| t as &dyn Transaction)
    }

    fn free_txs(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
        self.state.free(|t| t.is_complete() && inspected(t.id))
    }
}

/// DCE/RPC's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    ..Protocol::new(
        AppProto::Dcerpc,
        |_: &AppConfig| Box::new(DcerpcParser { state: DcerpcState::new() }),
        |s: &AppStats, f| DcerpcStats::each(&s.dcerpc, f),
    )
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iface_arguments() {
        let a = IfaceArg::parse("367abb81-9844-35f1-ad32-98f038001003").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.version, a.any_frag), (None, false));
        let a = IfaceArg::parse("afa8bd80-7d8a-11c9-bef4-08002b102989,>1,any_frag").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((a.version, a.any_frag), (Some(NumCmp::Gt(1)), true));
        let a = IfaceArg::parse("afa8bd807d8a11c9bef408002b102989,=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.version, Some(NumCmp::Eq(1)));
        assert!(IfaceArg::parse("afa8bd80-7d8a-11c9-bef4-08002b102989,any_frag,=1").is_err());
        assert!(IfaceArg::parse("nope").is_err());
        assert!(IfaceArg::parse("afa8bd80-7d8a-11c9-bef4-08002b102989,1,2,3").is_err());
        let mut i = Iface { uuid: a.uuid, ver: 1, acked: true, first_frag: true, ..Iface::default() };
        assert!(a.accepts(&i));
        i.ack_result = 2;
        assert!(!a.accepts(&i), "a rejected context does not match");
        i.ack_result = 0;
        i.first_frag = false;
        assert!(!a.accepts(&i), "not from a first fragment without any_frag");
    }

    #[test]
    fn opnum_arguments() {
        let l = OpnumArg::parse("10,12-14").unwrap_or_else(|e| panic!("{e}"));
        assert!(l.matches(10) && l.matches(13) && !l.matches(11) && !l.matches(15));
        let c = OpnumArg::parse(">3").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.matches(4) && !c.matches(3));
        assert!(OpnumArg::parse("14-12").is_err());
        assert!(OpnumArg::parse("x").is_err());
    }
}
