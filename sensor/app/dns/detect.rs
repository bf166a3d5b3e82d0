//! DNS as a plug-in: its sticky buffers and value keywords (rows), its transactions and parser
//! behind the app layer's traits, and its descriptor.

use super::{DnsState, DnsStats, TcpStatus, Tx};
use crate::app::plugin::{
    buffer_infos, keyword_tables, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, RecordCx, Side, Status,
    Sticky, Transaction, ValueArg, ValueInfo, ValueKeyword, PROGRESS_DONE,
};
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const DOC: &str = "https://docs.suricata.io/en/latest/rules/dns-keywords.html";
const DNS_QUERY_DOC: &str = "https://docs.suricata.io/en/latest/rules/dns-keywords.html#dns-query";
const QUERIES_DOC: &str = "https://docs.suricata.io/en/latest/rules/dns-keywords.html#dns-queries-rrname";
const ANSWERS_DOC: &str = "https://docs.suricata.io/en/latest/rules/dns-keywords.html#dns-answers-rrname";

const fn buffer(
    name: &'static str,
    aliases: &'static [&'static str],
    side: Side,
    desc: &'static str,
    doc: &'static str,
) -> BufferInfo {
    BufferInfo { name, aliases, side, need: Need::own(1), multi: true, shared: false, internal: false, desc, doc }
}

/// DNS's sticky buffers, in the order of their numbers.
pub static BUFFERS: &[Sticky<Tx>] = &[
    Sticky {
        info: buffer("dns.query", &["dns_query"], Side::ToServer, "each question name of a request", DNS_QUERY_DOC),
        get: |tx: &Tx, _, f| tx.query_names().any(f),
    },
    Sticky {
        info: buffer(
            "dns.queries.rrname",
            &[],
            Side::Both,
            "each question name, in requests and responses",
            QUERIES_DOC,
        ),
        get: |tx: &Tx, _, f| tx.question_names().any(f),
    },
    Sticky {
        info: buffer(
            "dns.answer.name",
            &["dns.answers.rrname"],
            Side::Both,
            "each owner name of the answer section",
            ANSWERS_DOC,
        ),
        get: |tx: &Tx, _, f| tx.answer_names().any(f),
    },
    Sticky {
        info: buffer(
            "dns.authorities.rrname",
            &[],
            Side::Both,
            "each owner name of the authority section",
            "https://docs.suricata.io/en/latest/rules/dns-keywords.html#dns-authorities-rrname",
        ),
        get: |tx: &Tx, _, f| tx.msg.authorities.iter().any(|r| f(&r.name.value)),
    },
    Sticky {
        info: buffer(
            "dns.additionals.rrname",
            &[],
            Side::Both,
            "each owner name of the additional section",
            "https://docs.suricata.io/en/latest/rules/dns-keywords.html#dns-additionals-rrname",
        ),
        get: |tx: &Tx, _, f| tx.msg.additionals.iter().any(|r| f(&r.name.value)),
    },
    Sticky {
        info: buffer(
            "dns.response.rrname",
            &[],
            Side::ToClient,
            "each name of a response: questions, record owners and the names in their data",
            "https://docs.suricata.io/en/latest/rules/dns-keywords.html#dns-response-rrname",
        ),
        get: |tx: &Tx, _, f| !tx.to_server && super::family::response_names(&tx.msg, f),
    },
];

/// `dns.opcode` / `dns.rcode` argument: `[!]N`.
struct Code {
    neg: bool,
    v: u8,
}

/// `dns.rrtype` argument: `N[,index]`; index None = any, Some(None) = all, Some(Some(i)) = a
/// position (negative from the end).
struct RrType {
    v: u16,
    index: Option<Option<i64>>,
}

fn parse_code(v: Option<&str>) -> Result<ValueArg, String> {
    let v = v.unwrap_or("").trim();
    let (neg, n) = match v.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, v),
    };
    let v: u8 = n.parse().map_err(|_| format!("invalid value `{n}`"))?;
    Ok(Box::new(Code { neg, v }))
}

fn parse_rrtype(v: Option<&str>) -> Result<ValueArg, String> {
    let v = v.unwrap_or("");
    let bad = || format!("invalid value `{v}`");
    let (t, idx) = match v.split_once(',') {
        Some((a, b)) => (a, Some(b.trim())),
        None => (v, None),
    };
    let t: u16 = t.trim().parse().map_err(|_| bad())?;
    let index = match idx {
        None => None,
        Some("all") => Some(None),
        Some(i) => Some(Some(i.parse::<i64>().map_err(|_| bad())?)),
    };
    Ok(Box::new(RrType { v: t, index }))
}

const fn value(
    name: &'static str,
    parse: fn(Option<&str>) -> Result<ValueArg, String>,
    desc: &'static str,
) -> ValueInfo {
    let doc = match name.as_bytes() {
        b"dns.opcode" => "https://docs.suricata.io/en/latest/rules/dns-keywords.html#dns-opcode",
        b"dns.rcode" => "https://docs.suricata.io/en/latest/rules/dns-keywords.html#dns-rcode",
        b"dns.rrtype" => "https://docs.suricata.io/en/latest/rules/dns-keywords.html#dns-rrtype",
        _ => DOC,
    };
    ValueInfo { name, aliases: &[], arg: Some(true), side: Side::Both, need: Need::own(1), parse, desc, doc }
}

/// DNS's value keywords, in the order of their numbers.
pub static VALUES: &[ValueKeyword<Tx>] = &[
    ValueKeyword {
        info: value("dns.opcode", parse_code, "header opcode equals (or with ! differs from) a number"),
        eval: |a, tx, _, _| a.downcast_ref::<Code>().is_some_and(|c| (tx.opcode() == c.v) != c.neg),
    },
    ValueKeyword {
        info: value("dns.rcode", parse_code, "header rcode equals (or with ! differs from) a number"),
        eval: |a, tx, _, _| a.downcast_ref::<Code>().is_some_and(|c| (tx.rcode() == c.v) != c.neg),
    },
    ValueKeyword {
        info: value(
            "dns.rrtype",
            parse_rrtype,
            "a question (request) or answer (response) type, anywhere, at a position, or all",
        ),
        eval: |a, tx, _, _| {
            let Some(r) = a.downcast_ref::<RrType>() else { return false };
            let types: Vec<u16> = tx.rrtypes().collect();
            match r.index {
                None => types.contains(&r.v),
                Some(None) => !types.is_empty() && types.iter().all(|x| *x == r.v),
                Some(Some(i)) => {
                    let pos = if i < 0 { types.len() as i64 + i } else { i };
                    pos >= 0 && types.get(pos as usize) == Some(&r.v)
                }
            }
        },
    },
];

impl Transaction for Tx {
    fn id(&self) -> u64 {
        self.tx_id
    }

    fn progress(&self) -> [u8; 2] {
        [PROGRESS_DONE; 2]
    }

    fn direction(&self) -> Option<bool> {
        Some(self.to_server)
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j, false);
    }

    fn record_ready(&self) -> bool {
        true
    }

    fn write_record(&self, j: &mut Json<'_>, _cx: &RecordCx<'_>) -> bool {
        self.write_eve(j, true);
        true
    }

    fn record_to_server(&self) -> Option<bool> {
        Some(self.to_server)
    }

    fn events(&self) -> &[u16] {
        self.events.as_slice()
    }
}

/// The DNS parser of a flow: UDP datagrams or TCP streams.
#[derive(Debug, Default)]
struct DnsParser {
    state: DnsState,
}

impl AppParser for DnsParser {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        // UDP datagrams stand alone; TCP messages are length-prefixed in the stream. The
        // parser learns which from the first call's caller: a UDP flow never sends gaps or
        // EOFs, and `DnsState` keeps the TCP framing per direction.
        let before = self.state.next_tx_id();
        if cx.udp {
            // a message that does not parse is counted by its reason in the state's counters
            let _ = self.state.parse_udp(to_server, data);
        } else {
            let _: TcpStatus = self.state.parse_tcp(to_server, data);
        }
        for _ in before..self.state.next_tx_id() {
            cx.stats.tx(AppProto::Dns, !cx.udp);
        }
        self.state.stats.drain_into(&mut cx.stats.dns);
        self.state.take_raised(&mut |e| cx.stats.tx_event(AppProto::Dns, e));
        Status::Continue
    }

    fn gap(&mut self, _to_server: bool, _len: u64, _cx: &mut ParseCx<'_>) -> Status {
        Status::Continue
    }

    fn each_tx(&self, f: &mut dyn FnMut(&dyn Transaction)) {
        self.state.txs().for_each(|t| f(t));
    }

    fn tx(&self, id: u64) -> Option<&dyn Transaction> {
        self.state.tx(id).map(|t| t as &dyn Transaction)
    }

    fn free_txs(&mut self, _inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
        // Each message is inspected once, with its own packet; the last few are kept for
        // alerts of later packets.
        let next = self.state.next_tx_id();
        if next > 16 {
            self.state.free_below(next - 16);
            Some(next - 16)
        } else {
            None
        }
    }
}

/// DNS's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: super::EVENTS,
    ..Protocol::new(
        AppProto::Dns,
        |_: &AppConfig| Box::<DnsParser>::default(),
        |s: &AppStats, f| DnsStats::each(&s.dns, f),
    )
};
