//! NFS as a plug-in: `nfs_procedure`, `nfs.version`, the file buffers and `filesize`, its
//! transactions and parser behind the app layer's traits, and its descriptor.

use super::eve::proc_by_name;
use super::{NfsState, NfsStats, NfsTx, EVENTS};
use crate::app::files::File;
use crate::app::plugin::{
    buffer_infos, keyword_tables, value_infos, AppParser, Need, ParseCx, Protocol, RecordCx, Side, Status, Sticky,
    Transaction, ValueArg, ValueInfo, ValueKeyword, PROGRESS_DONE,
};
use crate::app::values::{holds, parse_uint, u32_arg, Uint};
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const DOC: &str = "https://docs.suricata.io/en/latest/rules/nfs-keywords.html";
const FILE_DOC: &str = "https://docs.suricata.io/en/latest/rules/file-keywords.html";

/// The file a transaction carries, with its direction.
fn file_of(tx: &NfsTx, to_server: bool) -> Option<&super::FileTx> {
    tx.file.as_deref().filter(|f| f.to_server == to_server)
}

/// NFS's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<NfsTx>] = &[
    Sticky {
        info: crate::app::files::file_buffer(
            "file.data",
            &["file_data"],
            Side::Both,
            Need::own(1),
            "file content: what a WRITE sends or a READ returns",
            FILE_DOC,
        ),
        get: |tx: &NfsTx, to_server, f| {
            file_of(tx, to_server).is_some_and(|x| !x.tracker.head.is_empty() && f(&x.tracker.head))
        },
    },
    Sticky {
        info: crate::app::files::file_buffer(
            "file.name",
            &[],
            Side::Both,
            Need::own(1),
            "the name of a transferred file",
            FILE_DOC,
        ),
        get: |tx: &NfsTx, to_server, f| {
            file_of(tx, to_server).is_some() && !tx.file_name.is_empty() && f(&tx.file_name)
        },
    },
];

/// `nfs_procedure`: a number or comparison, or a procedure name (matched against the
/// transaction's own version's numbering).
enum ProcArg {
    Num(Uint),
    /// Per version family (v2, v3, v4): the number of the name.
    Named {
        neg: bool,
        nums: [Option<u32>; 3],
    },
}

fn parse_proc(v: Option<&str>) -> Result<ValueArg, String> {
    if let Ok(u) = parse_uint(v, u64::from(u32::MAX)) {
        return Ok(Box::new(ProcArg::Num(u)));
    }
    let s = v.unwrap_or("").trim();
    let (neg, name) = match s.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, s),
    };
    let nums = proc_by_name(name);
    if nums.iter().all(Option::is_none) {
        return Err(format!("`{s}` is not an NFS procedure"));
    }
    Ok(Box::new(ProcArg::Named { neg, nums }))
}

fn proc_matches(a: &ProcArg, version: u16, p: u32) -> bool {
    match a {
        ProcArg::Num(u) => u.matches(u64::from(p)),
        ProcArg::Named { neg, nums } => {
            let i = match version {
                0..=2 => 0,
                3 => 1,
                _ => 2,
            };
            nums.get(i).copied().flatten().is_some_and(|n| (n == p) != *neg)
        }
    }
}

const fn value(
    name: &'static str,
    aliases: &'static [&'static str],
    parse: fn(Option<&str>) -> Result<ValueArg, String>,
    desc: &'static str,
) -> ValueInfo {
    ValueInfo { name, aliases, arg: Some(true), side: Side::Both, need: Need::NONE, parse, desc, doc: DOC }
}

/// NFS's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<NfsTx>] = &[
    ValueKeyword {
        info: value(
            "nfs_procedure",
            &[],
            parse_proc,
            "the NFS procedure (a number, a comparison or a name such as READ, WRITE, COMMIT)",
        ),
        eval: |a, tx, _, _| {
            let Some(a) = a.downcast_ref::<ProcArg>() else { return false };
            // a file transaction matches the COMMIT that closed it too
            proc_matches(a, tx.version, tx.procedure)
                || tx.file.as_ref().is_some_and(|f| f.commit && proc_matches(a, tx.version, super::proc3::COMMIT))
        },
    },
    ValueKeyword {
        info: value(
            "nfs.version",
            &["nfs_version"],
            u32_arg,
            "the NFS version of the transaction's call, compared with a number",
        ),
        eval: |a, tx, _, _| holds(a, Some(u64::from(tx.version))),
    },
    crate::app::files::filesize_row::<NfsTx>(),
    crate::app::files::filestore_row::<NfsTx>(),
];

fn level(done: bool, data: bool) -> u8 {
    if done {
        PROGRESS_DONE
    } else {
        u8::from(data)
    }
}

impl Transaction for NfsTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        let data = |ts: bool| file_of(self, ts).is_some_and(|f| f.tracker.file.is_some());
        [level(self.request_done, data(true)), level(self.response_done, data(false))]
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
    }

    fn record_ready(&self) -> bool {
        self.request_done && self.response_done
    }

    fn write_record(&self, j: &mut Json<'_>, _cx: &RecordCx<'_>) -> bool {
        // Suricata leaves GETATTR out of its records; a UDP transaction never completed is
        // not logged (a UDP flow has no end of stream to complete it)
        if self.flow_version <= 3 && self.procedure == super::proc3::GETATTR {
            return false;
        }
        if self.udp && !self.record_ready() {
            return false;
        }
        self.write_alert_eve(j);
        true
    }

    fn record_packet_view(&self) -> bool {
        true
    }

    fn events(&self) -> &[u16] {
        self.events.as_slice()
    }

    fn files(&self, each: &mut dyn FnMut(&File)) {
        if let Some(f) = self.file.as_ref().and_then(|f| f.tracker.file.as_ref()) {
            each(f);
        }
    }
}

impl AppParser for NfsState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let before = self.txs.next_id();
        self.udp = cx.udp;
        if cx.udp {
            self.parse_udp(to_server, data);
        } else {
            self.parse_tcp(to_server, data);
        }
        self.account(before, cx);
        Status::Continue
    }

    fn gap(&mut self, to_server: bool, len: u64, cx: &mut ParseCx<'_>) -> Status {
        let before = self.txs.next_id();
        self.gap_tcp(to_server, len);
        self.account(before, cx);
        Status::Continue
    }

    crate::app::txs::app_parser_txs!();
}

impl NfsState {
    /// Hands this call's counts to the worker's counters.
    fn account(&mut self, before: u64, cx: &mut ParseCx<'_>) {
        for _ in before..self.txs.next_id() {
            cx.stats.tx(AppProto::Nfs, !cx.udp);
        }
        for (ev, n) in self.raised.iter_mut().enumerate() {
            for _ in 0..std::mem::take(n) {
                cx.stats.tx_event(AppProto::Nfs, ev as u16);
            }
        }
        self.stats.budget_refused += std::mem::take(&mut self.budget.refused);
        self.stats.drain_into(&mut cx.stats.nfs);
    }
}

/// NFS's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    ..Protocol::new(
        AppProto::Nfs,
        |_: &AppConfig| Box::<NfsState>::default(),
        |s: &AppStats, f| NfsStats::each(&s.nfs, f),
    )
};
