//! The few BER/DER reads the probing parsers need before a protocol's own decoder runs
//! (Kerberos, SNMP, LDAP): an identifier and a length, without allocating.

/// A BER identifier and length: (class, constructed, tag number, header length, content
/// length); `Err(true)` when more bytes are needed, `Err(false)` when it cannot be BER.
pub(crate) fn ber_header(d: &[u8]) -> Result<(u8, bool, u32, usize, usize), bool> {
    let &b0 = d.first().ok_or(true)?;
    let mut i = 1;
    let mut tag = u32::from(b0 & 0x1f);
    if tag == 0x1f {
        tag = 0;
        loop {
            let &b = d.get(i).ok_or(true)?;
            i += 1;
            if tag > 0x00ff_ffff {
                return Err(false);
            }
            tag = tag << 7 | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let &l0 = d.get(i).ok_or(true)?;
    i += 1;
    let len = if l0 & 0x80 == 0 {
        usize::from(l0)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 {
            return Err(false);
        }
        let mut len = 0usize;
        for _ in 0..n {
            let &b = d.get(i).ok_or(true)?;
            i += 1;
            len = len << 8 | usize::from(b);
        }
        len
    };
    Ok((b0 >> 6, b0 & 0x20 != 0, tag, i, len))
}

/// The elements of a constructed value's content: (tag byte, content) each, or `None` when
/// one does not fit (`Err(true)`: the input ends inside one).
pub(crate) fn children(mut d: &[u8], mut f: impl FnMut(u8, &[u8])) -> Result<(), bool> {
    while !d.is_empty() {
        let (_, _, _, hl, len) = ber_header(d)?;
        let first = d.first().copied().unwrap_or(0);
        let body = d.get(hl..hl.checked_add(len).ok_or(false)?).ok_or(true)?;
        f(first, body);
        d = d.get(hl + len..).unwrap_or(&[]);
    }
    Ok(())
}

/// A BER INTEGER's value as an unsigned number (at most 8 content bytes, no sign handling
/// beyond refusing negative ones).
pub(crate) fn uint(content: &[u8]) -> Option<u64> {
    if content.is_empty() || content.len() > 9 || content.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut v: u64 = 0;
    for &b in content {
        v = v.checked_mul(256)?.checked_add(u64::from(b))?;
    }
    Some(v)
}
