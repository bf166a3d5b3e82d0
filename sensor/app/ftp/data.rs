//! FTP data connections (`ftp-data`): a flow identified from its control connection's
//! announcement ([`crate::app::expect`]), one transaction carrying the file the command
//! named (after Suricata's `FTPDataParse`).
//!
//! Takes: what the announcing command left ([`super::Transfer`]) and the flow's bytes.
//! Promises: only the direction of the transfer counts (bytes the other way are ignored, as
//! Suricata ignores them); a `RETR`/`STOR`/`APPE`/`STOU` opens a file named as the command
//! named it ([`crate::app::files`]: size, state, gaps), closed when that direction ends;
//! `file.data` inspects the first [`FILE_DATA_LIMIT`] bytes of it (what follows is counted,
//! not kept). Never: keeps more of the file than that, or panics.

use std::any::Any;

use super::command::{self, Cmd};
use super::{eve, Transfer};
use crate::app::files::{File, FileState, HashSet};
use crate::app::plugin::{
    buffer_infos, keyword_tables, started_or_done, value_infos, AppParser, Need, ParseCx, Protocol, Side, Status,
    Sticky, Transaction, ValueArg, ValueInfo, ValueKeyword, PROGRESS_DONE,
};
use crate::app::txs::app_parser_txs;
use crate::app::{AppConfig, AppProto, RecordCx};
use crate::output::eve::Json;

/// Bytes of a transferred file kept for `file.data` (Suricata's file-data content limit).
pub(crate) const FILE_DATA_LIMIT: usize = 100_000;

/// Per-flow state of a data connection (its one transaction).
#[derive(Debug, Default)]
pub(crate) struct FtpDataState {
    transfer: Option<Transfer>,
    /// The direction of the transfer (true: from the connection's initiator).
    to_server: Option<bool>,
    file: Option<File>,
    /// The first bytes of the file, for `file.data`.
    content: Vec<u8>,
    finished: bool,
    new_bytes: u64,
    /// The hashes files get ([`crate::app::AppConfig::file_hashes`]).
    hashes: HashSet,
}

impl FtpDataState {
    /// The file name the command named.
    pub(crate) fn file_name(&self) -> Option<&[u8]> {
        self.transfer.as_ref().and_then(|t| t.file_name.as_deref())
    }

    /// The command that announced the connection, as EVE names it.
    pub(crate) fn command_name(&self) -> Option<&'static str> {
        let c = self.transfer.as_ref()?.cmd;
        command::COMMANDS.iter().find(|(_, x)| *x == c).map(|(n, _)| *n)
    }

    fn is_data_side(&self, to_server: bool) -> bool {
        self.to_server == Some(to_server)
    }
}

/// ftp-data's sticky buffers.
pub(crate) static BUFFERS: &[Sticky<FtpDataState>] = &[
    Sticky {
        info: crate::app::files::file_buffer(
            "file.data",
            &["file_data"],
            Side::Both,
            Need::own(1),
            "file content: the first bytes of the file carried",
            "https://docs.suricata.io/en/latest/rules/file-keywords.html#file-data",
        ),
        get: |s, to_server, f| s.is_data_side(to_server) && !s.content.is_empty() && f(&s.content),
    },
    Sticky {
        info: crate::app::files::file_buffer(
            "file.name",
            &[],
            Side::Both,
            Need::own(1),
            "the name of a transferred file",
            "https://docs.suricata.io/en/latest/rules/file-keywords.html#file-name",
        ),
        get: |s, to_server, f| s.is_data_side(to_server) && s.file.as_ref().is_some_and(|x| f(&x.name)),
    },
];

fn parse_command(v: Option<&str>) -> Result<ValueArg, String> {
    let c = match v.unwrap_or("").trim() {
        "stor" => Cmd::Stor,
        "appe" => Cmd::Appe,
        "stou" => Cmd::Stou,
        "retr" => Cmd::Retr,
        "nlst" => Cmd::Nlst,
        "list" => Cmd::List,
        "mlsd" => Cmd::Mlsd,
        other => return Err(format!("invalid value `{other}`: stor, appe, stou, retr, nlst, list or mlsd")),
    };
    Ok(Box::new(c))
}

/// ftp-data's value keywords.
pub(crate) static VALUES: &[ValueKeyword<FtpDataState>] = &[
    crate::app::files::filesize_row::<FtpDataState>(),
    crate::app::files::filestore_row::<FtpDataState>(),
    ValueKeyword {
        info: ValueInfo {
            name: "ftpdata_command",
            aliases: &[],
            arg: Some(true),
            side: Side::Both,
            need: Need::own(1),
            parse: parse_command,
            desc: "the FTP command (stor, retr, ...) that opened the data connection",
            doc: "https://docs.suricata.io/en/latest/rules/ftp-keywords.html#ftpdata-command",
        },
        eval: |a, s, _, _| match (a.downcast_ref::<Cmd>(), &s.transfer) {
            (Some(w), Some(t)) => *w == t.cmd,
            _ => false,
        },
    },
];

impl Transaction for FtpDataState {
    fn id(&self) -> u64 {
        0
    }

    fn progress(&self) -> [u8; 2] {
        let own = started_or_done(self.finished);
        match self.to_server {
            Some(true) => [own, PROGRESS_DONE],
            Some(false) => [PROGRESS_DONE, own],
            None => [own, own],
        }
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        eve::write_ftp_data(j, self);
        crate::app::eve_util::files_array(j, self.file.as_slice(), 0);
    }

    fn record_ready(&self) -> bool {
        self.finished
    }

    fn write_record(&self, j: &mut Json<'_>, _cx: &RecordCx<'_>) -> bool {
        eve::write_ftp_data(j, self);
        true
    }

    fn files(&self, each: &mut dyn FnMut(&File)) {
        if let Some(f) = &self.file {
            each(f);
        }
    }
}

impl AppParser for FtpDataState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        if !self.is_data_side(to_server) || self.finished {
            return Status::Continue;
        }
        if let Some(f) = self.file.as_mut() {
            f.data(data);
        }
        let room = FILE_DATA_LIMIT.saturating_sub(self.content.len());
        // In bounds: min(room, data.len()).
        self.content.extend_from_slice(&data[..room.min(data.len())]);
        self.new_bytes += data.len() as u64;
        cx.stats.ftp.data_bytes += std::mem::take(&mut self.new_bytes);
        Status::Continue
    }

    fn gap(&mut self, to_server: bool, len: u64, _cx: &mut ParseCx<'_>) -> Status {
        if self.is_data_side(to_server) {
            if let Some(f) = self.file.as_mut() {
                f.gap(len);
            }
        }
        Status::Continue
    }

    fn eof(&mut self, to_server: bool, _cx: &mut ParseCx<'_>) {
        if self.is_data_side(to_server) && !self.finished {
            self.finished = true;
            if let Some(f) = self.file.as_mut() {
                f.close(if f.gaps { FileState::Truncated } else { FileState::Closed });
            }
        }
    }

    app_parser_txs!(self_is_tx);

    fn expected(&mut self, to_server: bool, data: Box<dyn Any + Send>) {
        let Ok(t) = data.downcast::<Transfer>() else { return };
        self.to_server = Some(to_server);
        if let Some(name) = t.file_name.as_deref() {
            self.file = Some(File::open(name, to_server, self.hashes));
        }
        self.transfer = Some(*t);
    }
}

/// ftp-data's descriptor.
pub(crate) static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    record_type: Some("ftp_data"),
    ..Protocol::new(
        AppProto::FtpData,
        |cfg: &AppConfig| Box::new(FtpDataState { hashes: cfg.file_hashes, ..FtpDataState::default() }),
        |_, _| {},
    )
};
