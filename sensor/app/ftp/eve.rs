//! FTP's EVE objects: `ftp` (Suricata's `EveFTPLogCommand`) and `ftp_data`
//! (`EveFTPDataAddMetadata`).

use super::command::Cmd;
use super::data::FtpDataState;
use super::FtpTx;
use crate::app::eve_util::str_array;
use crate::output::eve::Json;

/// Writes the `"ftp":{...}` object of a transaction.
pub(super) fn write_ftp(j: &mut Json<'_>, tx: &FtpTx) {
    let mut o = j.begin("ftp");
    if let Some((name, _)) = tx.command() {
        o.str("command", name);
        let start = name.len() + 1;
        if tx.request.len() > name.len() {
            o.bytes("command_data", tx.request.get(start..).unwrap_or(&[]));
            o.bool("command_truncated", tx.request_truncated);
        }
    }
    let codes = tx.replies.iter().filter(|r| !r.code.is_empty()).map(|r| r.code.as_slice());
    str_array(&mut o, "completion_code", codes);
    let texts = tx.replies.iter().filter(|r| !r.text.is_empty()).map(|r| r.text.as_slice());
    str_array(&mut o, "reply", texts);
    if tx.dyn_port != 0 {
        o.u64("dynamic_port", u64::from(tx.dyn_port));
    }
    if matches!(tx.command().map(|(_, c)| c), Some(Cmd::Port | Cmd::Eprt | Cmd::Pasv | Cmd::Epsv)) {
        o.str("mode", if tx.active { "active" } else { "passive" });
    }
    o.str("reply_received", if tx.done { "yes" } else { "no" });
    o.bool("reply_truncated", tx.replies.iter().any(|r| r.truncated));
    o.end();
}

/// Writes the `"ftp_data":{...}` object of a data connection.
pub(super) fn write_ftp_data(j: &mut Json<'_>, s: &FtpDataState) {
    let mut o = j.begin("ftp_data");
    if let Some(name) = s.file_name() {
        o.bytes("filename", name);
    }
    if let Some(c) = s.command_name() {
        o.str("command", c);
    }
    o.end();
}
