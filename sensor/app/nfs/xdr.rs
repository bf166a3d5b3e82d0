//! ONC RPC (RFC 5531) over XDR (RFC 4506): a bounded reader of big-endian words and opaque
//! data, and the call and reply headers NFS rides on.
//!
//! Takes: the bytes of one RPC message (a UDP datagram, or a TCP record after its 4-byte
//! mark). Promises: every length is checked against what is there and against the limits
//! Suricata uses (credentials and verifiers under 4 KiB, machine names under 256 bytes);
//! nothing is copied. Never: panics or reads past the input.

/// Largest credentials or verifier body accepted (Suricata's `RPC_MAX_CREDS_SIZE`).
pub(super) const MAX_AUTH: u32 = 4096;
/// Largest AUTH_UNIX machine name accepted (Suricata's `RPC_MAX_MACHINE_SIZE`).
const MAX_MACHINE: u32 = 256;

/// A cursor over XDR data.
#[derive(Clone, Copy, Debug)]
pub(super) struct Xdr<'a> {
    d: &'a [u8],
}

impl<'a> Xdr<'a> {
    pub(super) fn new(d: &'a [u8]) -> Self {
        Xdr { d }
    }

    /// What is left.
    pub(super) fn rest(&self) -> &'a [u8] {
        self.d
    }

    /// Bytes left.
    pub(super) fn len(&self) -> usize {
        self.d.len()
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        let b = self.d.get(..4)?;
        self.d = self.d.get(4..)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64(&mut self) -> Option<u64> {
        let hi = self.u32()?;
        let lo = self.u32()?;
        Some(u64::from(hi) << 32 | u64::from(lo))
    }

    /// `n` bytes as they are.
    pub(super) fn fixed(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.d.get(..n)?;
        self.d = self.d.get(n..)?;
        Some(b)
    }

    /// Skips `n` bytes (false when fewer are left).
    pub(super) fn skip(&mut self, n: usize) -> bool {
        self.fixed(n).is_some()
    }

    /// Variable-length opaque data of at most `max` bytes, and its padding to 4.
    pub(super) fn opaque(&mut self, max: u32) -> Option<&'a [u8]> {
        let n = self.u32()?;
        if n > max {
            return None;
        }
        let b = self.fixed(n as usize)?;
        let pad = (4 - n % 4) % 4;
        // a short final pad is tolerated (the data is what counts)
        let _ = self.skip(pad as usize);
        Some(b)
    }

    /// A boolean discriminant.
    pub(super) fn flag(&mut self) -> Option<bool> {
        self.u32().map(|v| v != 0)
    }
}

/// AUTH_UNIX credentials (RFC 5531 appendix A).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct UnixCreds {
    /// The client's machine name.
    pub machine_name: Vec<u8>,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// An RPC call's header.
#[derive(Clone, Debug)]
pub(super) struct Call<'a> {
    pub xid: u32,
    pub rpcvers: u32,
    pub program: u32,
    pub version: u32,
    pub procedure: u32,
    pub cred_flavor: u32,
    pub creds: Option<UnixCreds>,
    /// The procedure's arguments (what follows the verifier).
    pub body: &'a [u8],
}

/// An RPC reply's header.
#[derive(Clone, Copy, Debug)]
pub(super) struct Reply<'a> {
    pub xid: u32,
    /// `reply_stat`: 0 accepted, 1 denied.
    pub reply_state: u32,
    /// `accept_stat` (0 success) of an accepted reply.
    pub accept_state: u32,
    /// The procedure's results.
    pub body: &'a [u8],
}

/// The message's xid and type (0 call, 1 reply); `None` for another type.
pub(super) fn header(m: &[u8]) -> Option<(u32, u32)> {
    let mut x = Xdr::new(m);
    let xid = x.u32()?;
    let ty = x.u32()?;
    (ty <= 1).then_some((xid, ty))
}

/// Parses a call (message type 0).
pub(super) fn call(m: &[u8]) -> Option<Call<'_>> {
    let mut x = Xdr::new(m);
    let xid = x.u32()?;
    if x.u32()? != 0 {
        return None;
    }
    let rpcvers = x.u32()?;
    let program = x.u32()?;
    let version = x.u32()?;
    let procedure = x.u32()?;
    let cred_flavor = x.u32()?;
    let cred = x.opaque(MAX_AUTH - 1)?;
    let creds = if cred_flavor == 1 { Some(unix_creds(cred)?) } else { None };
    let _verf_flavor = x.u32()?;
    x.opaque(MAX_AUTH - 1)?;
    Some(Call { xid, rpcvers, program, version, procedure, cred_flavor, creds, body: x.rest() })
}

/// As Suricata: the stamp, the machine name, uid and gid (the auxiliary gids are not read).
/// Suricata reads uid and gid right after the name's bytes, without the name's XDR padding;
/// its records show what that reads, so the same words are read here.
fn unix_creds(c: &[u8]) -> Option<UnixCreds> {
    let mut x = Xdr::new(c);
    let _stamp = x.u32()?;
    let n = x.u32()?;
    if n >= MAX_MACHINE {
        return None;
    }
    let machine_name = x.fixed(n as usize)?.to_vec();
    let uid = x.u32()?;
    let gid = x.u32()?;
    Some(UnixCreds { machine_name, uid, gid })
}

/// Parses a reply (message type 1): an accepted reply's verifier and `accept_stat`, or a
/// denied one's first word.
pub(super) fn reply(m: &[u8]) -> Option<Reply<'_>> {
    let mut x = Xdr::new(m);
    let xid = x.u32()?;
    if x.u32()? != 1 {
        return None;
    }
    let reply_state = x.u32()?;
    if reply_state > 1 {
        return None;
    }
    let accept_state = if reply_state == 0 {
        let _verf_flavor = x.u32()?;
        x.opaque(MAX_AUTH - 1)?;
        x.u32()?
    } else {
        0
    };
    Some(Reply { xid, reply_state, accept_state, body: x.rest() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    #[test]
    fn a_call_with_unix_creds() {
        let mut m = words(&[7, 0, 2, 100003, 3, 3, 1, 24, 0, 4]);
        m.extend_from_slice(b"abcd");
        m.extend(words(&[10, 20, 0, 0, 0, 0xdead]));
        let c = call(&m).unwrap_or_else(|| panic!("parses"));
        assert_eq!((c.xid, c.program, c.version, c.procedure, c.cred_flavor), (7, 100003, 3, 3, 1));
        let u = c.creds.unwrap_or_else(|| panic!("unix creds"));
        assert_eq!((u.machine_name.as_slice(), u.uid, u.gid), (&b"abcd"[..], 10, 20));
        // the name's padding is not skipped (Suricata's reading): uid and gid follow its bytes
        let mut cb = words(&[0, 3]);
        cb.extend_from_slice(b"abc\0");
        cb.extend(words(&[0, 1]));
        let u = unix_creds(&cb).unwrap_or_else(|| panic!("creds"));
        assert_eq!((u.machine_name.as_slice(), u.uid, u.gid), (&b"abc"[..], 0, 0));
        assert_eq!(c.body, &0xdeadu32.to_be_bytes());
    }

    #[test]
    fn short_or_oversized_fields_are_refused() {
        assert!(call(&words(&[7, 0, 2, 100003, 3])).is_none());
        assert!(call(&words(&[7, 0, 2, 100003, 3, 3, 1, 5000])).is_none());
        assert!(reply(&words(&[7, 1, 2])).is_none());
        let m = words(&[7, 1, 0, 0, 0, 0, 2]);
        let r = reply(&m).unwrap_or_else(|| panic!("reply"));
        assert_eq!((r.xid, r.reply_state, r.accept_state, r.body), (7, 0, 0, &2u32.to_be_bytes()[..]));
        assert_eq!(header(&words(&[9, 1])), Some((9, 1)));
        assert_eq!(header(&words(&[9, 2])), None);
    }
}
