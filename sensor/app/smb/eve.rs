//! SMB's EVE object (Suricata's `smb_common_header` in `smb/log.rs`): the fields every
//! transaction has, then those of its kind; and the `files` array alerts on file transfers
//! carry.

use super::auth::SessionInfo;
use super::smb1;
use super::smb2;
use super::status::nt_status_name;
use super::txs::{CreateTx, Kind, NegTx, SetInfoTx, SmbTx, Status};
use crate::app::dcerpc::eve::write_ifaces;
use crate::app::dcerpc::pdu::{self, ptype};
use crate::output::eve::Json;

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// A GUID as Suricata prints file and client GUIDs (the first three fields and the last six
/// bytes byte-swapped).
pub(super) fn guid_string(g: &[u8]) -> String {
    let Ok(g) = <[u8; 16]>::try_from(g) else { return String::new() };
    let o = [3, 2, 1, 0, 5, 4, 7, 6, 9, 8, 11, 10, 15, 14, 13, 12];
    let mut s = String::with_capacity(36);
    for (n, &i) in o.iter().enumerate() {
        if matches!(n, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{:02x}", g[i]));
    }
    s
}

/// A file id: a GUID (SMB2), or a FID (SMB1; with or without the session id appended).
pub(super) fn fuid_string(f: &[u8]) -> String {
    match f.len() {
        16 => guid_string(f),
        2 | 6 => format!("{:02x}{:02x}", f[1], f[0]),
        _ => String::new(),
    }
}

fn dos_error(code: u16) -> std::borrow::Cow<'static, str> {
    let s = match code {
        0 => "DOS_SUCCESS",
        1 => "DOS_BAD_FUNC",
        2 => "DOS_BAD_FILE",
        3 => "DOS_BAD_PATH",
        4 => "DOS_TOO_MANY_OPEN_FILES",
        5 => "DOS_ACCESS_DENIED",
        _ => return code.to_string().into(),
    };
    s.into()
}

fn srv_error(code: u16) -> std::borrow::Cow<'static, str> {
    let s = match code {
        1 => "SRV_ERROR",
        2 => "SRV_BADPW",
        3 => "SRV_BADTYPE",
        4 => "SRV_ACCESS",
        91 => "SRV_BADUID",
        _ => return code.to_string().into(),
    };
    s.into()
}

/// The FSCTL name of an IOCTL function ([MS-FSCC] 2.3 names), else its number.
pub(super) fn fsctl_name(f: u32) -> std::borrow::Cow<'static, str> {
    let s = match f {
        0x0006_0194 => "FSCTL_DFS_GET_REFERRALS",
        0x0006_01b0 => "FSCTL_DFS_GET_REFERRALS_EX",
        0x0009_0000 => "FSCTL_REQUEST_OPLOCK_LEVEL_1",
        0x0009_0004 => "FSCTL_REQUEST_OPLOCK_LEVEL_2",
        0x0009_0008 => "FSCTL_REQUEST_BATCH_OPLOCK",
        0x0009_000c => "FSCTL_OPLOCK_BREAK_ACKNOWLEDGE",
        0x0009_0010 => "FSCTL_OPBATCH_ACK_CLOSE_PENDING",
        0x0009_0014 => "FSCTL_OPLOCK_BREAK_NOTIFY",
        0x0009_0018 => "FSCTL_LOCK_VOLUME",
        0x0009_001c => "FSCTL_UNLOCK_VOLUME",
        0x0009_0020 => "FSCTL_DISMOUNT_VOLUME",
        0x0009_0028 => "FSCTL_IS_VOLUME_MOUNTED",
        0x0009_002c => "FSCTL_IS_PATHNAME_VALID",
        0x0009_0030 => "FSCTL_MARK_VOLUME_DIRTY",
        0x0009_003b => "FSCTL_QUERY_RETRIEVAL_POINTERS",
        0x0009_003c => "FSCTL_GET_COMPRESSION",
        0x0009_004f => "FSCTL_MARK_AS_SYSTEM_HIVE",
        0x0009_0050 => "FSCTL_OPLOCK_BREAK_ACK_NO_2",
        0x0009_0054 => "FSCTL_INVALIDATE_VOLUMES",
        0x0009_0058 => "FSCTL_QUERY_FAT_BPB",
        0x0009_005c => "FSCTL_REQUEST_FILTER_OPLOCK",
        0x0009_0060 => "FSCTL_FILESYSTEM_GET_STATISTICS",
        0x0009_0064 => "FSCTL_GET_NTFS_VOLUME_DATA",
        0x0009_0068 => "FSCTL_GET_NTFS_FILE_RECORD",
        0x0009_006f => "FSCTL_GET_VOLUME_BITMAP",
        0x0009_0073 => "FSCTL_GET_RETRIEVAL_POINTERS",
        0x0009_0074 => "FSCTL_MOVE_FILE",
        0x0009_0078 => "FSCTL_IS_VOLUME_DIRTY",
        0x0009_007c => "FSCTL_GET_HFS_INFORMATION",
        0x0009_0083 => "FSCTL_ALLOW_EXTENDED_DASD_IO",
        0x0009_0087 => "FSCTL_READ_PROPERTY_DATA",
        0x0009_008b => "FSCTL_WRITE_PROPERTY_DATA",
        0x0009_008f => "FSCTL_FIND_FILES_BY_SID",
        0x0009_0097 => "FSCTL_DUMP_PROPERTY_DATA",
        0x0009_009c => "FSCTL_GET_OBJECT_ID",
        0x0009_00a4 => "FSCTL_SET_REPARSE_POINT",
        0x0009_00a8 => "FSCTL_GET_REPARSE_POINT",
        0x0009_00c0 => "FSCTL_CREATE_OR_GET_OBJECT_ID",
        0x0009_00c4 => "FSCTL_SET_SPARSE",
        0x0009_00d4 => "FSCTL_SET_ENCRYPTION",
        0x0009_00db => "FSCTL_ENCRYPTION_FSCTL_IO",
        0x0009_00df => "FSCTL_WRITE_RAW_ENCRYPTED",
        0x0009_00e3 => "FSCTL_READ_RAW_ENCRYPTED",
        0x0009_00f0 => "FSCTL_EXTEND_VOLUME",
        0x0009_0244 => "FSCTL_CSV_TUNNEL_REQUEST",
        0x0009_027c => "FSCTL_GET_INTEGRITY_INFORMATION",
        0x0009_0284 => "FSCTL_QUERY_FILE_REGIONS",
        0x0009_02c8 => "FSCTL_CSV_SYNC_TUNNEL_REQUEST",
        0x0009_0300 => "FSCTL_QUERY_SHARED_VIRTUAL_DISK_SUPPORT",
        0x0009_0304 => "FSCTL_SVHDX_SYNC_TUNNEL_REQUEST",
        0x0009_0308 => "FSCTL_SVHDX_SET_INITIATOR_INFORMATION",
        0x0009_030c => "FSCTL_SET_EXTERNAL_BACKING",
        0x0009_0310 => "FSCTL_GET_EXTERNAL_BACKING",
        0x0009_0314 => "FSCTL_DELETE_EXTERNAL_BACKING",
        0x0009_0318 => "FSCTL_ENUM_EXTERNAL_BACKING",
        0x0009_031f => "FSCTL_ENUM_OVERLAY",
        0x0009_0350 => "FSCTL_STORAGE_QOS_CONTROL",
        0x0009_0364 => "FSCTL_SVHDX_ASYNC_TUNNEL_REQUEST",
        0x0009_40b3 => "FSCTL_ENUM_USN_DATA",
        0x0009_40b7 => "FSCTL_SECURITY_ID_CHECK",
        0x0009_40bb => "FSCTL_READ_USN_JOURNAL",
        0x0009_40cf => "FSCTL_QUERY_ALLOCATED_RANGES",
        0x0009_40e7 => "FSCTL_CREATE_USN_JOURNAL",
        0x0009_40eb => "FSCTL_READ_FILE_USN_DATA",
        0x0009_40ef => "FSCTL_WRITE_USN_CLOSE_RECORD",
        0x0009_4264 => "FSCTL_OFFLOAD_READ",
        0x0009_8098 => "FSCTL_SET_OBJECT_ID",
        0x0009_80a0 => "FSCTL_DELETE_OBJECT_ID",
        0x0009_80a4 => "FSCTL_SET_REPARSE_POINT",
        0x0009_80ac => "FSCTL_DELETE_REPARSE_POINT",
        0x0009_80bc => "FSCTL_SET_OBJECT_ID_EXTENDED",
        0x0009_80c8 => "FSCTL_SET_ZERO_DATA",
        0x0009_80d0 => "FSCTL_ENABLE_UPGRADE",
        0x0009_8208 => "FSCTL_FILE_LEVEL_TRIM",
        0x0009_8268 => "FSCTL_OFFLOAD_WRITE",
        0x0009_c040 => "FSCTL_SET_COMPRESSION",
        0x0009_c280 => "FSCTL_SET_INTEGRITY_INFORMATION",
        0x0011_0018 => "FSCTL_PIPE_WAIT",
        0x0011_400c => "FSCTL_PIPE_PEEK",
        0x0011_c017 => "FSCTL_PIPE_TRANSCEIVE",
        0x0014_0078 => "FSCTL_SRV_REQUEST_RESUME_KEY",
        0x0014_01d4 => "FSCTL_LMR_REQUEST_RESILIENCY",
        0x0014_01fc => "FSCTL_QUERY_NETWORK_INTERFACE_INFO",
        0x0014_0200 => "FSCTL_VALIDATE_NEGOTIATE_INFO_224",
        0x0014_0204 => "FSCTL_VALIDATE_NEGOTIATE_INFO",
        0x0014_4064 => "FSCTL_SRV_ENUMERATE_SNAPSHOTS",
        0x0014_40f2 => "FSCTL_SRV_COPYCHUNK",
        0x0014_41bb => "FSCTL_SRV_READ_HASH",
        0x0014_80f2 => "FSCTL_SRV_COPYCHUNK_WRITE",
        _ => return f.to_string().into(),
    };
    s.into()
}

fn write_common(o: &mut Json<'_>, tx: &SmbTx) {
    o.u64("id", tx.id + 1);
    let snap = &tx.snap;
    if snap.dialect != 0 {
        o.str("dialect", &smb2::dialect_name(snap.dialect));
    } else {
        let d = match &snap.dialect_name {
            Some(d) => std::str::from_utf8(d).unwrap_or("invalid"),
            None => "unknown",
        };
        o.str("dialect", d);
    }
    match tx.ver {
        1 => {
            o.str("command", &smb1::command_name(tx.cmd as u8));
        }
        2 => {
            o.str("command", &smb2::command_name(tx.cmd));
        }
        _ => {}
    }
    match tx.status {
        Some(Status::Nt(s)) => {
            match nt_status_name(s) {
                Some(n) => o.str("status", n),
                None => o.str("status", &s.to_string()),
            };
            o.str("status_code", &format!("0x{s:x}"));
        }
        Some(Status::Dos(class, code)) => {
            let s = match class {
                1 => dos_error(code),
                2 => srv_error(code),
                _ => format!("UNKNOWN_{class:02x}_{code:04x}").into(),
            };
            o.str("status", &s);
            o.str("status_code", &format!("0x{code:04x}"));
        }
        None => {}
    }
    o.u64("session_id", tx.hdr.ssn_id);
    o.u64("tree_id", u64::from(tx.hdr.tree_id));
}

fn name_or_root(name: &[u8]) -> String {
    let n: Vec<u8> = name.iter().copied().filter(|&c| c != 0).collect();
    if n.is_empty() {
        "<share_root>".to_string()
    } else {
        lossy(&n).into_owned()
    }
}

fn str_array(o: &mut Json<'_>, k: &str, items: impl Iterator<Item = String>) {
    let mut arr = vec![b'['];
    for (n, s) in items.enumerate() {
        if n > 0 {
            arr.push(b',');
        }
        crate::output::eve::escape_into(&mut arr, s.as_bytes());
    }
    arr.push(b']');
    o.raw(k, &arr);
}

fn write_kind(o: &mut Json<'_>, tx: &SmbTx) {
    match &tx.kind {
        Kind::Session(x) => write_session(o, x),
        Kind::Create(c) => write_create(o, c),
        Kind::Negotiate(n) => write_negotiate(o, tx, n),
        Kind::Tree(t) => {
            o.str(if t.is_pipe { "named_pipe" } else { "share" }, &lossy(&t.name));
            if tx.ver == 1 {
                let mut m = o.begin("service");
                if let Some(s) = &t.req_service {
                    m.str("request", &lossy(s));
                }
                if let Some(s) = &t.res_service {
                    m.str("response", &lossy(s));
                }
                m.end();
            } else {
                o.str(
                    "share_type",
                    match t.share_type {
                        1 => "FILE",
                        2 => "PIPE",
                        3 => "PRINT",
                        _ => "UNKNOWN",
                    },
                );
            }
        }
        Kind::File(f) => {
            o.str("filename", &lossy(&f.name));
            o.str("share", &lossy(&f.share));
            o.str("fuid", &fuid_string(&f.fuid));
        }
        Kind::Rename(r) => {
            if tx.ver == 2 {
                let mut m = o.begin("set_info");
                m.str("class", "FILE_INFO");
                m.str("info_level", "SMB2_FILE_RENAME_INFO");
                m.end();
            }
            let mut m = o.begin("rename");
            m.str("from", &lossy(&r.old));
            m.str("to", &lossy(&r.new));
            m.end();
            o.str("fuid", &fuid_string(&r.fuid));
        }
        Kind::Dcerpc(d) => write_dcerpc(o, tx, d),
        Kind::Ioctl(f) => {
            o.str("function", &fsctl_name(*f));
        }
        Kind::SetInfo(x) => write_set_info(o, x),
        Kind::Generic => {}
    }
}

/// Session setup: NTLMSSP, Kerberos and the hosts' native OS/LM.
fn write_session(o: &mut Json<'_>, x: &SessionInfo) {
    if let Some(n) = &x.ntlmssp {
        let mut m = o.begin("ntlmssp");
        m.str("domain", &lossy(&n.domain));
        m.str("user", &lossy(&n.user));
        m.str("host", &lossy(&n.host));
        if let Some((a, b, build, rev)) = n.version {
            m.str("version", &format!("{a}.{b} build {build} rev {rev}"));
        }
        m.end();
    }
    if let Some(k) = &x.krb {
        let mut m = o.begin("kerberos");
        m.str("realm", &k.realm);
        str_array(&mut m, "snames", k.snames.iter().cloned());
        m.end();
    }
    for (key, h) in [("request", &x.request_host), ("response", &x.response_host)] {
        if let Some(h) = h {
            let mut m = o.begin(key);
            m.str("native_os", &lossy(&h.native_os));
            m.str("native_lm", &lossy(&h.native_lm));
            m.end();
        }
    }
}

/// Create: file or directory, disposition, times, size.
fn write_create(o: &mut Json<'_>, c: &CreateTx) {
    let n: Vec<u8> = c.name.iter().copied().filter(|&b| b != 0).collect();
    if n.is_empty() {
        o.str("filename", "<share_root>");
    } else {
        o.str(if c.directory { "directory" } else { "filename" }, &lossy(&n));
    }
    const DISP: [&str; 6] =
        ["FILE_SUPERSEDE", "FILE_OPEN", "FILE_CREATE", "FILE_OPEN_IF", "FILE_OVERWRITE", "FILE_OVERWRITE_IF"];
    o.str("disposition", DISP.get(c.disposition as usize).copied().unwrap_or("UNKNOWN"));
    o.str("access", if c.delete_on_close { "delete on close" } else { "normal" });
    for (k, v) in ["created", "accessed", "modified", "changed"].iter().zip(c.times) {
        o.u64(k, u64::from(v));
    }
    o.u64("size", c.size);
    o.str("fuid", &fuid_string(&c.guid));
}

/// Negotiate: the dialects offered and the server's limits.
fn write_negotiate(o: &mut Json<'_>, tx: &SmbTx, n: &NegTx) {
    if n.smb_ver == 1 {
        str_array(o, "client_dialects", n.dialects.iter().map(|d| lossy(d).into_owned()));
    } else if n.smb_ver == 2 {
        str_array(o, "client_dialects", n.dialects2.iter().cloned());
    }
    if let Some(g) = &n.client_guid {
        o.str("client_guid", &guid_string(g));
    }
    o.str("server_guid", &guid_string(&n.server_guid));
    if tx.snap.max_read > 0 {
        o.u64("max_read_size", u64::from(tx.snap.max_read));
    }
    if tx.snap.max_write > 0 {
        o.u64("max_write_size", u64::from(tx.snap.max_write));
    }
}

/// SET_INFO / TRANS2 set info.
fn write_set_info(o: &mut Json<'_>, x: &SetInfoTx) {
    o.str("filename", &name_or_root(&x.name));
    o.str("access", if x.delete_on_close { "delete on close" } else { "normal" });
    match x.subcmd {
        8 => {
            o.str("subcmd", "SET_FILE_INFO");
        }
        6 => {
            o.str("subcmd", "SET_PATH_INFO");
        }
        _ => {}
    }
    if x.loi == 1013 {
        o.str("level_of_interest", "Set Disposition Information");
    }
    o.str("fuid", &fuid_string(&x.fid));
}

fn write_dcerpc(o: &mut Json<'_>, tx: &SmbTx, d: &super::txs::DceTx) {
    let mut m = o.begin("dcerpc");
    m.str("request", if d.req_set { pdu::type_name(d.req_cmd) } else { "REQUEST_LOST".into() }.as_ref());
    m.str("response", if d.res_set { pdu::type_name(d.res_cmd) } else { "UNREPLIED".into() }.as_ref());
    if d.req_set {
        if d.req_cmd == ptype::REQUEST {
            m.u64("opnum", u64::from(d.opnum));
            let mut r = m.begin("req");
            r.u64("frag_cnt", u64::from(d.frag_cnt_ts));
            r.u64("stub_data_size", d.stub_ts.len() as u64);
            r.end();
            if let Some(ifaces) = &tx.snap.ifaces {
                let sel = ifaces.iter().filter(|i| i.ctxid == d.context_id);
                write_ifaces(&mut m, sel, false, false, Some(d.opnum));
            }
        } else if d.req_cmd == ptype::BIND {
            if let Some(ifaces) = &tx.snap.ifaces {
                if ifaces.is_empty() {
                    m.raw("interfaces", b"[]");
                }
                write_ifaces(&mut m, ifaces.iter(), true, true, None);
            }
        }
    }
    if d.res_set && d.res_cmd == ptype::RESPONSE {
        let mut r = m.begin("res");
        r.u64("frag_cnt", u64::from(d.frag_cnt_tc));
        r.u64("stub_data_size", d.stub_tc.len() as u64);
        r.end();
    }
    m.u64("call_id", u64::from(d.call_id));
    m.end();
}

/// Writes the `smb` object of a transaction (its record body).
pub(super) fn write_tx(j: &mut Json<'_>, tx: &SmbTx) {
    let mut o = j.begin("smb");
    write_common(&mut o, tx);
    write_kind(&mut o, tx);
    o.end();
}

/// Writes the `files` array of a file transfer (what alerts carry besides the `smb` object).
pub(super) fn write_files(j: &mut Json<'_>, tx: &SmbTx) {
    let Some(file) = tx.file().and_then(|f| f.tracker.file.as_ref()) else { return };
    crate::app::eve_util::files_array(j, std::slice::from_ref(file), tx.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_and_fids_as_suricata_prints_them() {
        let g = [0xc5, 0, 0, 0, 0x1d, 0, 0, 0, 1, 0, 0, 0, 0x1d, 0, 0, 0];
        assert_eq!(guid_string(&g), "000000c5-001d-0000-0001-00000000001d");
        assert_eq!(fuid_string(&[0x00, 0x40]), "4000");
        assert_eq!(fuid_string(&[0x00, 0x40, 0, 0, 8, 0]), "4000");
        assert_eq!(fuid_string(&[1, 2, 3]), "");
        assert_eq!(fsctl_name(0x0011_c017), "FSCTL_PIPE_TRANSCEIVE");
        assert_eq!(fsctl_name(7), "7");
    }
}
