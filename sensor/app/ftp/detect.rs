//! FTP as a plug-in: its sticky buffers and value keywords (rows), its transactions and parser
//! behind the app layer's traits, and its descriptor.

use super::{eve, FtpState, FtpStats, FtpTx, EVENTS};
use crate::app::plugin::{
    buffer_infos, keyword_tables, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky,
    Transaction, ValueArg, ValueInfo, ValueKeyword, PROGRESS_DONE,
};
use crate::app::txs::app_parser_txs;
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;
use crate::rule::ast::NumCmp;

/// Progress of the reply side once a (preliminary) reply was seen.
const REPLIED: u8 = 1;

const fn buf(name: &'static str, side: Side, multi: bool, desc: &'static str, doc: &'static str) -> BufferInfo {
    let need = match side {
        Side::ToClient => Need::response(PROGRESS_DONE),
        _ => Need::request(PROGRESS_DONE),
    };
    BufferInfo { name, aliases: &[], side, need, multi, shared: false, internal: false, desc, doc }
}

/// `ftp.command_data`: the request after the command and a space, with the terminating NUL
/// Suricata's buffer includes.
fn command_data(tx: &FtpTx, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    let Some((name, _)) = tx.command() else { return false };
    let start = name.len() + 1;
    if tx.request.len() < start {
        return false;
    }
    let mut v = Vec::with_capacity(tx.request.len() + 1 - start);
    // In bounds: start <= request.len() (checked above).
    v.extend_from_slice(&tx.request[start..]);
    v.push(0);
    f(&v)
}

/// FTP's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<FtpTx>] = &[
    Sticky {
        info: buf(
            "ftp.command",
            Side::ToServer,
            false,
            "the FTP command",
            "https://docs.suricata.io/en/latest/rules/ftp-keywords.html#ftp-command",
        ),
        get: |tx, _, f| tx.command().is_some_and(|(n, _)| f(n.as_bytes())),
    },
    Sticky {
        info: buf(
            "ftp.command_data",
            Side::ToServer,
            false,
            "the argument of the FTP command",
            "https://docs.suricata.io/en/latest/rules/ftp-keywords.html#ftp-command-data",
        ),
        get: |tx, _, f| command_data(tx, f),
    },
    Sticky {
        info: buf(
            "ftp.reply",
            Side::ToClient,
            true,
            "one reply line of the FTP transaction (without its code), each in turn",
            "https://docs.suricata.io/en/latest/rules/ftp-keywords.html#ftp-reply",
        ),
        get: |tx, _, f| tx.command().is_some() && tx.replies.iter().any(|r| f(&r.text)),
    },
    Sticky {
        info: buf(
            "ftp.completion_code",
            Side::ToClient,
            true,
            "the code of one reply line of the FTP transaction, each in turn",
            "https://docs.suricata.io/en/latest/rules/ftp-keywords.html#ftp-completion-code",
        ),
        get: |tx, _, f| tx.command().is_some() && tx.replies.iter().any(|r| f(&r.code)),
    },
];

fn parse_port(v: Option<&str>) -> Result<ValueArg, String> {
    let s = v.unwrap_or("").trim();
    crate::rule::parse_uint_cmp(s, u64::from(u16::MAX))
        .map(|c| Box::new(c) as ValueArg)
        .ok_or_else(|| format!("invalid value `{s}`: a port or a comparison (`>1024`, `1-1024`)"))
}

fn parse_mode(v: Option<&str>) -> Result<ValueArg, String> {
    match v.unwrap_or("").trim().to_ascii_lowercase().as_str() {
        "active" => Ok(Box::new(true)),
        "passive" => Ok(Box::new(false)),
        other => Err(format!("invalid value `{other}`: active or passive")),
    }
}

fn parse_yes_no(v: Option<&str>) -> Result<ValueArg, String> {
    match v.unwrap_or("").trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(Box::new(true)),
        "false" | "0" | "no" | "off" => Ok(Box::new(false)),
        other => Err(format!("invalid value `{other}`: yes or no")),
    }
}

fn no_arg(_: Option<&str>) -> Result<ValueArg, String> {
    Ok(Box::new(()))
}

const fn value(
    name: &'static str,
    arg: Option<bool>,
    side: Side,
    need: Need,
    parse: fn(Option<&str>) -> Result<ValueArg, String>,
    desc: &'static str,
    doc: &'static str,
) -> ValueInfo {
    ValueInfo { name, aliases: &[], arg, side, need, parse, desc, doc }
}

/// FTP's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<FtpTx>] = &[
    ValueKeyword {
        info: value(
            "ftp.dynamic_port",
            Some(true),
            Side::Both,
            Need::own(PROGRESS_DONE),
            parse_port,
            "the data port the transaction announced, compared with a number or a range",
            "https://docs.suricata.io/en/latest/rules/ftp-keywords.html#ftp-dynamic-port",
        ),
        eval: |a, tx, _, _| {
            tx.command().is_some()
                && tx.dyn_port != 0
                && a.downcast_ref::<NumCmp>().is_some_and(|c| c.matches(u64::from(tx.dyn_port)))
        },
    },
    ValueKeyword {
        info: value(
            "ftp.mode",
            Some(true),
            Side::Both,
            Need::own(PROGRESS_DONE),
            parse_mode,
            "the mode (active or passive) of a transaction that announced a data port",
            "https://docs.suricata.io/en/latest/rules/ftp-keywords.html#ftp-mode",
        ),
        eval: |a, tx, _, _| {
            tx.command().is_some() && tx.dyn_port != 0 && a.downcast_ref::<bool>().is_some_and(|&w| w == tx.active)
        },
    },
    ValueKeyword {
        info: value(
            "ftp.reply_received",
            Some(true),
            Side::ToClient,
            Need::response(REPLIED),
            parse_yes_no,
            "whether the transaction's final reply was seen",
            "https://docs.suricata.io/en/latest/rules/ftp-keywords.html#ftp-reply-received",
        ),
        eval: |a, tx, _, _| tx.command().is_some() && a.downcast_ref::<bool>().is_some_and(|&w| w == tx.done),
    },
    ValueKeyword {
        info: value(
            "ftpbounce",
            Some(false),
            Side::ToServer,
            Need::request(PROGRESS_DONE),
            no_arg,
            "a PORT command naming another host than the client (FTP bounce)",
            "https://docs.suricata.io/en/latest/rules/ftp-keywords.html#ftpbounce",
        ),
        eval: |_, tx, _, _| tx.bounce,
    },
];

impl Transaction for FtpTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        let tc = if self.done {
            PROGRESS_DONE
        } else if self.replies.is_empty() {
            0
        } else {
            REPLIED
        };
        [PROGRESS_DONE, tc]
    }

    fn direction(&self) -> Option<bool> {
        self.replies_only.then_some(false)
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        eve::write_ftp(j, self);
    }

    fn record_ready(&self) -> bool {
        self.done
    }

    fn events(&self) -> &[u16] {
        &self.events
    }
}

impl AppParser for FtpState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let before = self.next_id;
        let mut go = true;
        self.register(&cx.cfg.expect, &cx.flow.ends);
        if to_server {
            let a = super::Announce {
                table: &cx.cfg.expect,
                ends: cx.flow.ends,
                flow_id: cx.flow.flow_id,
                now: cx.flow.now,
            };
            let s = &cx.flow.ends.src;
            go = self.parse_request(data, &a, [s[0], s[1], s[2], s[3]]);
        } else {
            self.parse_response(data);
        }
        for _ in before..self.next_id {
            cx.stats.tx(AppProto::Ftp, true);
        }
        self.stats.drain_into(&mut cx.stats.ftp);
        self.expect_stats.drain_into(&mut cx.stats.expect);
        if go {
            Status::Continue
        } else {
            Status::Stop
        }
    }

    fn gap(&mut self, _to_server: bool, _len: u64, _cx: &mut ParseCx<'_>) -> Status {
        // as Suricata: FTP does not accept gaps, a lost segment ends the flow's parsing (the
        // lines around it cannot be told apart from commands)
        Status::Stop
    }

    app_parser_txs!(by_id);

    fn free_txs(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
        // a transaction of replies only is inspected with replies alone, so detection never
        // reports it done both ways: it goes with the first inspected transaction after it
        let mut upto = None;
        for t in &self.txs {
            if t.done && t.replies_only {
                continue;
            }
            if t.done && inspected(t.id) {
                upto = Some(t.id);
            } else {
                break;
            }
        }
        let id = upto?;
        self.free_upto(id);
        Some(id + 1)
    }
}

/// FTP's descriptor.
pub(crate) static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    ..Protocol::new(
        AppProto::Ftp,
        |_: &AppConfig| Box::<FtpState>::default(),
        |s: &AppStats, f| FtpStats::each(&s.ftp, f),
    )
};
