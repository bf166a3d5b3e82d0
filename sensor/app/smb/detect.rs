//! SMB as a plug-in: its sticky buffers (`smb.named_pipe`, `smb.share`, `smb.ntlmssp_user`,
//! `smb.ntlmssp_domain`, `file.data`, `file.name`, and `dcerpc.stub_data` for DCE/RPC over
//! pipes) and value keywords (`smb.version`, `dcerpc.iface`, `dcerpc.opnum`), its transactions
//! and parser behind the app layer's traits, and its descriptor.

use super::files::FILE_DATA_MAX;
use super::txs::{Kind, SmbTx};
use super::{SmbState, SmbStats, EVENTS};
use crate::app::dcerpc::pdu::ptype;
use crate::app::dcerpc::{IfaceArg, OpnumArg};
use crate::app::files::File;
use crate::app::plugin::{
    buffer_infos, keyword_tables, started_or_done, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol,
    RecordCx, Side, Status, Sticky, Transaction, ValueArg, ValueInfo, ValueKeyword, PROGRESS_DONE,
};
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const fn doc(anchor: &'static str) -> &'static str {
    match anchor.as_bytes() {
        b"named" => "https://docs.suricata.io/en/latest/rules/smb-keywords.html#smb-named-pipe",
        b"share" => "https://docs.suricata.io/en/latest/rules/smb-keywords.html#smb-share",
        b"user" => "https://docs.suricata.io/en/latest/rules/smb-keywords.html#smb-ntlmssp-user",
        b"domain" => "https://docs.suricata.io/en/latest/rules/smb-keywords.html#smb-ntlmssp-domain",
        b"version" => "https://docs.suricata.io/en/latest/rules/smb-keywords.html#smb-version",
        b"filedata" => "https://docs.suricata.io/en/latest/rules/file-keywords.html#file-data",
        _ => "https://docs.suricata.io/en/latest/rules/file-keywords.html#file-name",
    }
}

const fn to_server(
    name: &'static str,
    aliases: &'static [&'static str],
    desc: &'static str,
    d: &'static str,
) -> BufferInfo {
    BufferInfo {
        name,
        aliases,
        side: Side::ToServer,
        need: Need::own(1),
        multi: false,
        shared: false,
        internal: false,
        desc,
        doc: doc(d),
    }
}

fn tree(tx: &SmbTx, pipe: bool) -> Option<&[u8]> {
    match &tx.kind {
        Kind::Tree(t) if t.is_pipe == pipe => Some(&t.name),
        _ => None,
    }
}

fn ntlmssp(tx: &SmbTx, user: bool) -> Option<&[u8]> {
    match &tx.kind {
        Kind::Session(s) => s.ntlmssp.as_ref().map(|n| if user { &n.user[..] } else { &n.domain[..] }),
        _ => None,
    }
}

/// SMB's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<SmbTx>] = &[
    Sticky {
        info: to_server("smb.named_pipe", &["smb_named_pipe"], "the named pipe of an SMB tree connect", "named"),
        get: |tx: &SmbTx, _, f| tree(tx, true).is_some_and(f),
    },
    Sticky {
        info: to_server("smb.share", &["smb_share"], "the share of an SMB tree connect", "share"),
        get: |tx: &SmbTx, _, f| tree(tx, false).is_some_and(f),
    },
    Sticky {
        info: to_server("smb.ntlmssp_user", &[], "the NTLMSSP user of an SMB session setup", "user"),
        get: |tx: &SmbTx, _, f| ntlmssp(tx, true).is_some_and(f),
    },
    Sticky {
        info: to_server("smb.ntlmssp_domain", &[], "the NTLMSSP domain of an SMB session setup", "domain"),
        get: |tx: &SmbTx, _, f| ntlmssp(tx, false).is_some_and(f),
    },
    Sticky {
        info: crate::app::dcerpc::stub_info(),
        get: |tx: &SmbTx, to_server, f| match &tx.kind {
            Kind::Dcerpc(d) => {
                let b = if to_server { &d.stub_ts } else { &d.stub_tc };
                !b.is_empty() && f(b)
            }
            _ => false,
        },
    },
    Sticky {
        info: BufferInfo {
            name: "file.data",
            aliases: &["file_data"],
            side: Side::Both,
            need: Need::own(1),
            multi: true,
            shared: true,
            internal: false,
            desc: "file content: what a write sends or a read returns",
            doc: doc("filedata"),
        },
        get: |tx: &SmbTx, to_server, f| {
            tx.file().is_some_and(|x| x.to_server == to_server && !x.tracker.head.is_empty() && f(&x.tracker.head))
        },
    },
    Sticky {
        info: BufferInfo {
            name: "file.name",
            aliases: &[],
            side: Side::Both,
            need: Need::own(1),
            multi: true,
            shared: true,
            internal: false,
            desc: "the name of a transferred file",
            doc: doc("filename"),
        },
        get: |tx: &SmbTx, to_server, f| {
            tx.file().is_some_and(|x| x.to_server == to_server && !x.name.is_empty() && f(&x.name))
        },
    },
];

fn parse_version(v: Option<&str>) -> Result<ValueArg, String> {
    let s = v.unwrap_or("").trim();
    match s.parse::<u8>() {
        Ok(n @ (1 | 2)) => Ok(Box::new(n)),
        _ => Err(format!("invalid SMB version '{s}' (1 or 2)")),
    }
}

fn dcerpc_request(tx: &SmbTx) -> Option<&super::txs::DceTx> {
    match &tx.kind {
        Kind::Dcerpc(d) if d.req_cmd == ptype::REQUEST => Some(d),
        _ => None,
    }
}

/// SMB's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<SmbTx>] = &[
    crate::app::files::filesize_row::<SmbTx>(),
    crate::app::files::filestore_row::<SmbTx>(),
    ValueKeyword {
        info: ValueInfo {
            name: "smb.version",
            aliases: &[],
            arg: Some(true),
            side: Side::Both,
            need: Need::NONE,
            parse: parse_version,
            desc: "the SMB version of the transaction's command (1 or 2)",
            doc: doc("version"),
        },
        eval: |a, tx, _, _| a.downcast_ref::<u8>().is_some_and(|v| tx.ver == *v),
    },
    ValueKeyword {
        info: crate::app::dcerpc::iface_info(),
        eval: |a, tx, _, _| {
            // Suricata's smb_tx_match_dce_iface: a request, and any context of the pipe's last
            // bind accepted with this interface and version
            let Some(a) = a.downcast_ref::<IfaceArg>() else { return false };
            dcerpc_request(tx).is_some()
                && tx.snap.ifaces.as_ref().is_some_and(|v| {
                    v.iter().any(|i| {
                        i.acked
                            && i.ack_result == 0
                            && i.uuid == a.uuid
                            && a.version.is_none_or(|c| c.matches(u64::from(i.ver)))
                    })
                })
        },
    },
    ValueKeyword {
        info: crate::app::dcerpc::opnum_info(),
        eval: |a, tx, _, _| {
            let Some(a) = a.downcast_ref::<OpnumArg>() else { return false };
            dcerpc_request(tx).is_some_and(|d| a.matches(d.opnum))
        },
    },
];

impl Transaction for SmbTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        match &self.kind {
            // a transfer's buffers change as its data comes: both sides move together, to 2
            // once the `file.data` buffer is full, to done when the file is
            Kind::File(f) => {
                let l = if self.is_complete() || f.tracker.is_done() {
                    PROGRESS_DONE
                } else if f.tracker.head.len() >= FILE_DATA_MAX {
                    2
                } else {
                    1
                };
                [l, l]
            }
            _ => [started_or_done(self.request_done), started_or_done(self.response_done)],
        }
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        super::eve::write_tx(j, self);
        super::eve::write_files(j, self);
    }

    fn record_ready(&self) -> bool {
        self.is_complete()
    }

    fn write_record(&self, j: &mut Json<'_>, _cx: &RecordCx<'_>) -> bool {
        super::eve::write_tx(j, self);
        true
    }

    fn events(&self) -> &[u16] {
        &self.events
    }

    fn files(&self, each: &mut dyn FnMut(&File)) {
        if let Some(f) = self.file().and_then(|f| f.tracker.file.as_ref()) {
            each(f);
        }
    }
}

/// The SMB parser of a flow.
#[derive(Debug, Default)]
struct SmbParser {
    state: SmbState,
}

impl SmbParser {
    fn counts(&mut self, cx: &mut ParseCx<'_>) {
        for _ in 0..self.state.stats.txs {
            cx.stats.tx(AppProto::Smb, true);
        }
        self.state.stats.drain_into(&mut cx.stats.smb);
    }
}

impl AppParser for SmbParser {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        self.state.frames.on = cx.frames.any();
        self.state.frames.base = cx.frames.offset(to_server);
        let ok = self.state.parse(to_server, data);
        for (ts, off, len, ty) in self.state.frames.list.drain(..) {
            cx.frames.add(ts, off, Some(len), ty);
        }
        self.counts(cx);
        if ok {
            Status::Continue
        } else {
            Status::Stop
        }
    }

    fn gap(&mut self, to_server: bool, len: u64, cx: &mut ParseCx<'_>) -> Status {
        self.state.gap(to_server, len);
        self.counts(cx);
        if self.state.failed() {
            Status::Stop
        } else {
            Status::Continue
        }
    }

    fn eof(&mut self, to_server: bool, _cx: &mut ParseCx<'_>) {
        self.state.eof(to_server);
    }

    fn each_tx(&self, f: &mut dyn FnMut(&dyn Transaction)) {
        self.state.txs().for_each(|t| f(t));
    }

    fn tx(&self, id: u64) -> Option<&dyn Transaction> {
        self.state.tx(id).map(|t| t as &dyn Transaction)
    }

    fn free_txs(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
        self.state.free_txs(inspected)
    }
}

/// SMB's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    record_tx_id: true,
    stream_depth: Some(0),
    frames: super::frames::FRAMES,
    ..Protocol::new(
        AppProto::Smb,
        |cfg: &AppConfig| {
            let mut p = SmbParser::default();
            p.state.hashes = cfg.file_hashes;
            Box::new(p)
        },
        |s: &AppStats, f| SmbStats::each(&s.smb, f),
    )
};
