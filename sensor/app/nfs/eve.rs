//! NFS's EVE objects, as Suricata's `rust/src/nfs/log.rs` writes them: `rpc` (xid, reply
//! status, credential flavour and AUTH_UNIX credentials) and `nfs` (version, procedure,
//! file name, CRC-32 of the file handle, the transaction's number, its file transfer or
//! rename).

use super::NfsTx;
use crate::output::eve::Json;

/// NFSv2 procedure names (RFC 1094).
const PROC2: &[&str] = &[
    "NULL",
    "GETATTR",
    "SETATTR",
    "ROOT",
    "LOOKUP",
    "READLINK",
    "READ",
    "WRITECACHE",
    "WRITE",
    "CREATE",
    "REMOVE",
    "RENAME",
    "LINK",
    "SYMLINK",
    "MKDIR",
    "RMDIR",
    "READDIR",
    "STATFS",
];

/// NFSv3 procedure names (RFC 1813).
pub(super) const PROC3: &[&str] = &[
    "NULL",
    "GETATTR",
    "SETATTR",
    "LOOKUP",
    "ACCESS",
    "READLINK",
    "READ",
    "WRITE",
    "CREATE",
    "MKDIR",
    "SYMLINK",
    "MKNOD",
    "REMOVE",
    "RMDIR",
    "RENAME",
    "LINK",
    "READDIR",
    "READDIRPLUS",
    "FSSTAT",
    "FSINFO",
    "PATHCONF",
    "COMMIT",
];

/// NFSv4 procedure and operation names (RFC 7530, 8881), by number.
const PROC4: &[(u32, &str)] = &[
    (0, "NULL"),
    (1, "COMPOUND"),
    (3, "ACCESS"),
    (4, "CLOSE"),
    (5, "COMMIT"),
    (6, "CREATE"),
    (7, "DELEGPURGE"),
    (8, "DELEGRETURN"),
    (9, "GETATTR"),
    (10, "GETFH"),
    (11, "LINK"),
    (12, "LOCK"),
    (13, "LOCKT"),
    (14, "LOCKU"),
    (15, "LOOKUP"),
    (16, "LOOKUPP"),
    (17, "NVERIFY"),
    (18, "OPEN"),
    (19, "OPENATTR"),
    (20, "OPEN_CONFIRM"),
    (21, "OPEN_DOWNGRADE"),
    (22, "PUTFH"),
    (23, "PUTPUBFH"),
    (24, "PUTROOTFH"),
    (25, "READ"),
    (26, "READDIR"),
    (27, "READLINK"),
    (28, "REMOVE"),
    (29, "RENAME"),
    (30, "RENEW"),
    (31, "RESTOREFH"),
    (32, "SAVEFH"),
    (33, "SECINFO"),
    (34, "SETATTR"),
    (35, "SETCLIENTID"),
    (36, "SETCLIENTID_CONFIRM"),
    (37, "VERIFY"),
    (38, "WRITE"),
    (39, "RELEASE_LOCKOWNER"),
    (42, "EXCHANGE_ID"),
    (43, "CREATE_SESSION"),
    (44, "DESTROY_SESSION"),
    (47, "GETDEVINFO"),
    (50, "LAYOUTGET"),
    (51, "LAYOUTRETURN"),
    (52, "SECINFO_NO_NAME"),
    (53, "SEQUENCE"),
    (57, "DESTROY_CLIENTID"),
    (58, "RECLAIM_COMPLETE"),
    (10044, "ILLEGAL"),
];

/// The name of procedure `p` in NFS version `v` (Suricata names versions below 3 as v2).
pub(super) fn proc_name(v: u16, p: u32) -> Option<&'static str> {
    match v {
        3 => PROC3.get(p as usize).copied(),
        0..=2 => PROC2.get(p as usize).copied(),
        _ => PROC4.iter().find(|(n, _)| *n == p).map(|(_, s)| *s),
    }
}

/// Procedure names for `nfs_procedure` arguments, per version family (v2, v3, v4).
pub(super) fn proc_by_name(name: &str) -> [Option<u32>; 3] {
    let up = name.to_ascii_uppercase();
    let find = |t: &[&str]| t.iter().position(|s| *s == up).map(|i| i as u32);
    [find(PROC2), find(PROC3), PROC4.iter().find(|(_, s)| *s == up).map(|(n, _)| *n)]
}

/// NFSv3 status names (RFC 1813 section 2.6).
fn status_name(s: u32) -> Option<&'static str> {
    Some(match s {
        0 => "OK",
        1 => "ERR_PERM",
        2 => "ERR_NOENT",
        5 => "ERR_IO",
        6 => "ERR_NXIO",
        13 => "ERR_ACCES",
        17 => "ERR_EXIST",
        18 => "ERR_XDEV",
        19 => "ERR_NODEV",
        20 => "ERR_NOTDIR",
        21 => "ERR_ISDIR",
        22 => "ERR_INVAL",
        27 => "ERR_FBIG",
        28 => "ERR_NOSPC",
        30 => "ERR_ROFS",
        31 => "ERR_MLINK",
        63 => "ERR_NAMETOOLONG",
        66 => "ERR_NOTEMPTY",
        69 => "ERR_DQUOT",
        70 => "ERR_STALE",
        71 => "ERR_REMOTE",
        10001 => "ERR_BADHANDLE",
        10002 => "ERR_NOT_SYNC",
        10003 => "ERR_BAD_COOKIE",
        10004 => "ERR_NOTSUPP",
        10005 => "ERR_TOOSMALL",
        10006 => "ERR_SERVERFAULT",
        10007 => "ERR_BADTYPE",
        10008 => "ERR_JUKEBOX",
        _ => return None,
    })
}

const AUTH: &[&str] = &["NULL", "UNIX", "SHORT", "DH", "KERB", "RSA", "GSS"];

fn str_or_num(j: &mut Json<'_>, k: &str, name: Option<&str>, n: u32) {
    match name {
        Some(s) => j.str(k, s),
        None => j.str(k, &n.to_string()),
    };
}

/// Which of READ, WRITE, RENAME the procedure is in the flow's version.
fn kind(v: u16, p: u32) -> Option<&'static str> {
    match (v, p) {
        (2, 6) | (3, 6) | (4, 25) => Some("read"),
        (2, 8) | (3, 7) | (4, 38) => Some("write"),
        (2, 11) | (3, 14) | (4, 29) => Some("rename"),
        _ => None,
    }
}

impl NfsTx {
    /// Writes the `rpc` and `nfs` objects.
    pub fn write_eve(&self, j: &mut Json<'_>) {
        self.write_rpc(j);
        self.write_nfs(j);
    }

    /// Writes the `rpc` object.
    pub(super) fn write_rpc(&self, j: &mut Json<'_>) {
        let mut o = j.begin("rpc");
        o.u64("xid", u64::from(self.xid));
        let st = match self.rpc_status {
            0 => Some("ACCEPTED"),
            1 => Some("DENIED"),
            _ => None,
        };
        str_or_num(&mut o, "status", st, self.rpc_status);
        str_or_num(&mut o, "auth_type", AUTH.get(self.auth_type as usize).copied(), self.auth_type);
        if self.auth_type == 1 {
            let mut c = o.begin("creds");
            let u = self.creds.clone().unwrap_or_default();
            c.bytes("machine_name", &u.machine_name);
            c.u64("uid", u64::from(u.uid));
            c.u64("gid", u64::from(u.gid));
            c.end();
        }
        o.end();
    }

    /// Writes the `nfs` object.
    pub(super) fn write_nfs(&self, j: &mut Json<'_>) {
        let v = self.flow_version;
        let mut o = j.begin("nfs");
        o.u64("version", u64::from(v));
        str_or_num(&mut o, "procedure", proc_name(v, self.procedure), self.procedure);
        o.bytes("filename", &self.file_name);
        if !self.handle.is_empty() {
            o.str("hhash", &format!("{:x}", crc32fast::hash(&self.handle)));
        }
        // Suricata numbers transactions from 1
        o.u64("id", self.id + 1);
        o.bool("file_tx", self.file.is_some());
        o.str("type", "response");
        str_or_num(&mut o, "status", status_name(self.nfs_status), self.nfs_status);
        match kind(v, self.procedure) {
            Some("rename") => {
                let mut r = o.begin("rename");
                r.bytes("from", &self.file_name);
                r.bytes("to", self.rename_to.as_deref().unwrap_or(&[]));
                r.end();
            }
            Some(k) => {
                let mut r = o.begin(k);
                r.bool("first", self.is_first);
                r.bool("last", self.is_last);
                if let Some(f) = &self.file {
                    r.u64("last_xid", u64::from(f.last_xid));
                    r.u64("chunks", u64::from(f.chunks));
                }
                r.end();
            }
            None => {}
        }
        o.end();
    }
}
