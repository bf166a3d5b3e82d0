//! The RDP connection-sequence PDUs Suricata logs, decoded from one TPKT (T.123) at a time:
//! the X.224 Connection Request with its routing cookie and RDP negotiation request, the
//! X.224 Connection Confirm with the negotiation response or failure, and, inside X.224 data,
//! the MCS Connect Initial (its GCC client data blocks: core data and network channels) and
//! the MCS Connect Response ([MS-RDPBCGR] 2.2.1.1 to 2.2.1.4).
//!
//! Takes: the bytes of a direction from a TPKT header on. Promises: the outcome Suricata's
//! `rdp/parser.rs` reaches on the same bytes, including its streaming quirks: a field that
//! runs past the end of a complete TPKT is "incomplete" (Suricata then waits on that TPKT
//! for ever: [`Tpkt::Stuck`]), a value out of its range makes the candidate message "not
//! this one" (the next candidate is tried, and a TPKT that is none of them is skipped), the
//! client core data's optional fields stop at the first one absent or out of range. Never:
//! reads out of bounds or panics (every read goes through [`Cur`]).

/// Why a decode did not give a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fail {
    /// The bytes are not this message.
    No,
    /// The message runs past the bytes given.
    More,
}

type R<T> = Result<T, Fail>;

/// A read cursor: every read is bounds-checked ([`Fail::More`] past the end).
#[derive(Clone, Copy)]
struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        if self.0.len() < n {
            return Err(Fail::More);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> R<u8> {
        self.take(1).map(|b| b.first().copied().unwrap_or(0))
    }
    fn arr<const N: usize>(&mut self) -> R<[u8; N]> {
        self.take(N).map(|b| b.try_into().unwrap_or([0; N]))
    }
    fn be16(&mut self) -> R<u16> {
        self.arr().map(u16::from_be_bytes)
    }
    fn le16(&mut self) -> R<u16> {
        self.arr().map(u16::from_le_bytes)
    }
    fn le32(&mut self) -> R<u32> {
        self.arr().map(u32::from_le_bytes)
    }
    /// A streaming tag: `No` when the bytes there differ, `More` when they are a prefix.
    fn tag(&mut self, t: &[u8]) -> R<()> {
        let m = self.0.len().min(t.len());
        if self.0.get(..m) != t.get(..m) {
            return Err(Fail::No);
        }
        self.take(t.len()).map(|_| ())
    }
    /// The bytes before `t`, consuming `t` (`More` when `t` is not there).
    fn until(&mut self, t: &[u8]) -> R<&'a [u8]> {
        let at = self.0.windows(t.len()).position(|w| w == t).ok_or(Fail::More)?;
        let before = self.take(at)?;
        self.take(t.len())?;
        Ok(before)
    }
}

/// What one TPKT is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pdu {
    ConnectionRequest(ConnectionRequest),
    ConnectionConfirm(Option<Negotiation>),
    ConnectInitial(Vec<ClientBlock>),
    ConnectResponse,
    /// A TPKT that is none of the above (skipped).
    Other,
}

/// The outcome of reading a TPKT at the start of some bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tpkt {
    /// A whole TPKT of this many bytes.
    Pdu(Pdu, usize),
    /// The TPKT is not complete yet.
    Wait,
    /// The TPKT is complete but a message in it runs past its end (Suricata waits on it for
    /// ever).
    Stuck,
    /// Not a TPKT (version other than 3, or a length under 4).
    Invalid,
}

/// X.224 Connection Request: the routing cookie and the negotiation request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ConnectionRequest {
    /// `Cookie: mstshash=` value (UTF-8).
    pub cookie: Option<String>,
    /// Negotiation request flags (`RESTRICTED_ADMIN_MODE_REQUIRED` 1, `REDIRECTED_...` 2,
    /// `CORRELATION_INFO_PRESENT` 8).
    pub flags: Option<u8>,
    /// Requested protocols.
    pub protocols: Option<u32>,
}

/// What a Connection Confirm carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Negotiation {
    /// Negotiation response: flags and the selected protocol.
    Response { flags: u8, protocol: u32 },
    /// Negotiation failure code (1 to 6).
    Failure(u32),
}

/// A GCC client data block of the MCS Connect Initial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClientBlock {
    Core(Box<CoreData>),
    Net(Vec<String>),
    Unknown,
}

/// Client core data (TS_UD_CS_CORE): the required part and the optional fields present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CoreData {
    pub version: u32,
    pub desktop_width: u16,
    pub desktop_height: u16,
    pub color_depth: u16,
    pub keyboard_layout: u32,
    pub client_build: u32,
    pub client_name: String,
    pub keyboard_type: u32,
    pub keyboard_subtype: u32,
    pub function_keys: u32,
    pub ime_file_name: String,
    pub post_beta2_color_depth: Option<u16>,
    pub product_id: Option<u16>,
    pub serial_number: Option<u32>,
    pub high_color_depth: Option<u16>,
    pub early_capability_flags: Option<u16>,
    pub dig_product_id: Option<String>,
    pub connection_type: Option<u8>,
    pub physical_width: Option<u32>,
    pub physical_height: Option<u32>,
    pub orientation: Option<u16>,
    pub desktop_scale: Option<u32>,
    pub device_scale: Option<u32>,
}

const TPKT_VERSION: u8 = 3;
const X224_CONFIRM: u8 = 0xd;
const X224_REQUEST: u8 = 0xe;
const GCC_CORE: u16 = 0xc001;
const GCC_NET: u16 = 0xc003;

/// Reads the TPKT at the start of `i` (Suricata's `parse_t123_tpkt`).
pub(crate) fn tpkt(i: &[u8]) -> Tpkt {
    let mut c = Cur(i);
    let head = (|| -> R<&[u8]> {
        if c.u8()? != TPKT_VERSION {
            return Err(Fail::No);
        }
        c.u8()?;
        let len = c.be16()?.checked_sub(4).ok_or(Fail::No)?;
        c.take(usize::from(len))
    })();
    let data = match head {
        Ok(d) => d,
        Err(Fail::More) => return Tpkt::Wait,
        Err(Fail::No) => return Tpkt::Invalid,
    };
    let used = i.len() - c.0.len();
    let pdu = (|| -> R<Pdu> {
        if let Some(r) = opt(connection_request(data))? {
            return Ok(Pdu::ConnectionRequest(r));
        }
        if let Some(n) = opt(connection_confirm(data))? {
            return Ok(Pdu::ConnectionConfirm(n));
        }
        Ok(opt(x224_data(data))?.unwrap_or(Pdu::Other))
    })();
    match pdu {
        Ok(p) => Tpkt::Pdu(p, used),
        Err(_) => Tpkt::Stuck,
    }
}

/// nom's `opt`: "not this" is `None`, "incomplete" stays an error.
fn opt<T>(r: R<T>) -> R<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Fail::No) => Ok(None),
        Err(Fail::More) => Err(Fail::More),
    }
}

/// The X.224 fixed part of a Connection Request or Confirm of type `typ`: the bytes of its
/// variable part (to take), and whether it is class 0 without options.
fn x224_fixed(c: &mut Cur<'_>, typ: u8) -> R<(usize, bool)> {
    let length = c.u8()?;
    if length == 0xff {
        return Err(Fail::No);
    }
    let code = c.u8()?;
    if code >> 4 != typ || code & 0xf > 1 {
        return Err(Fail::No);
    }
    if c.be16()? != 0 {
        return Err(Fail::No);
    }
    c.be16()?;
    let co = c.u8()?;
    let (class, options) = (co >> 4, co & 0xf);
    if class > 4 || options > 3 || length < 6 {
        return Err(Fail::No);
    }
    Ok((usize::from(length - 6), class == 0 && options == 0))
}

fn connection_request(i: &[u8]) -> R<ConnectionRequest> {
    let mut c = Cur(i);
    let (sz, class0) = x224_fixed(&mut c, X224_REQUEST)?;
    let data = c.take(sz)?;
    let mut req = ConnectionRequest::default();
    let mut rest = Cur(data);
    if !data.is_empty() {
        let mut k = rest;
        if let Some(cookie) = opt(cookie(&mut k))? {
            req.cookie = Some(cookie);
            rest = k;
        }
    }
    if !rest.0.is_empty() {
        let mut k = rest;
        if let Some((flags, protocols)) = opt(negotiation_request(&mut k))? {
            req.flags = Some(flags);
            req.protocols = Some(protocols);
        }
    }
    if !class0 {
        return Err(Fail::No);
    }
    Ok(req)
}

fn cookie(c: &mut Cur<'_>) -> R<String> {
    c.tag(b"Cookie: ")?;
    c.tag(b"mstshash=")?;
    let v = c.until(b"\r\n")?;
    std::str::from_utf8(v).map(str::to_owned).map_err(|_| Fail::No)
}

fn negotiation_request(c: &mut Cur<'_>) -> R<(u8, u32)> {
    if c.u8()? != 1 {
        return Err(Fail::No);
    }
    let flags = c.u8()?;
    if flags & !0x0b != 0 || c.le16()? != 8 {
        return Err(Fail::No);
    }
    let protocols = c.le32()?;
    if protocols & !0x0f != 0 {
        return Err(Fail::No);
    }
    Ok((flags, protocols))
}

fn connection_confirm(i: &[u8]) -> R<Option<Negotiation>> {
    let mut c = Cur(i);
    let (sz, class0) = x224_fixed(&mut c, X224_CONFIRM)?;
    let mut nego = None;
    if sz > 0 {
        let data = c.take(sz)?;
        nego = match opt(negotiation_response(Cur(data)))? {
            Some(n) => Some(n),
            None => opt(negotiation_failure(Cur(data)))?,
        };
    }
    if !class0 {
        return Err(Fail::No);
    }
    Ok(nego)
}

fn negotiation_response(mut c: Cur<'_>) -> R<Negotiation> {
    if c.u8()? != 2 {
        return Err(Fail::No);
    }
    let flags = c.u8()?;
    if flags & !0x1f != 0 || c.le16()? != 8 {
        return Err(Fail::No);
    }
    let protocol = c.le32()?;
    if !matches!(protocol, 0 | 1 | 2 | 4 | 8) {
        return Err(Fail::No);
    }
    Ok(Negotiation::Response { flags, protocol })
}

fn negotiation_failure(mut c: Cur<'_>) -> R<Negotiation> {
    if c.u8()? != 3 {
        return Err(Fail::No);
    }
    c.u8()?;
    if c.le16()? != 8 {
        return Err(Fail::No);
    }
    let code = c.le32()?;
    if !(1..=6).contains(&code) {
        return Err(Fail::No);
    }
    Ok(Negotiation::Failure(code))
}

/// X.224 Data (class 0, `02 f0 80`) and the MCS message it carries.
fn x224_data(i: &[u8]) -> R<Pdu> {
    let mut c = Cur(i);
    if c.u8()? != 2 || c.u8()? != 0xf0 || c.u8()? != 0x80 {
        return Err(Fail::No);
    }
    if let Some(blocks) = opt(connect_initial(c))? {
        return Ok(Pdu::ConnectInitial(blocks));
    }
    Ok(opt(connect_response(c))?.unwrap_or(Pdu::Other))
}

/// MCS Connect Initial: BER application tag 101, then (as Suricata, without decoding the
/// BER and PER around them) the GCC user data after the `Duca` H.221 key.
fn connect_initial(mut c: Cur<'_>) -> R<Vec<ClientBlock>> {
    if c.u8()? != 0x7f || c.u8()? != 0x65 {
        return Err(Fail::No);
    }
    c.until(b"Duca")?;
    let len = per_length(&mut c)?;
    let mut rest = Cur(c.take(len)?);
    let mut blocks = Vec::new();
    loop {
        let mut k = rest;
        let block = match opt(core_data(&mut k))? {
            Some(core) => ClientBlock::Core(Box::new(core)),
            None => {
                k = rest;
                match opt(net_data(&mut k))? {
                    Some(ch) => ClientBlock::Net(ch),
                    None => {
                        k = rest;
                        match opt(unknown_block(&mut k))? {
                            Some(()) => ClientBlock::Unknown,
                            None => break,
                        }
                    }
                }
            }
        };
        blocks.push(block);
        rest = k;
        if rest.0.is_empty() {
            break;
        }
    }
    Ok(blocks)
}

/// An X.691 length determinant (lengths of 16K and more are not read, as Suricata's).
fn per_length(c: &mut Cur<'_>) -> R<usize> {
    let b = c.u8()?;
    match b >> 6 {
        0 | 1 => Ok(usize::from(b & 0x7f)),
        2 => Ok(usize::from(b & 0x3f) << 8 | usize::from(c.u8()?)),
        _ => Err(Fail::No),
    }
}

fn connect_response(mut c: Cur<'_>) -> R<Pdu> {
    if c.u8()? != 0x7f || c.u8()? != 0x66 {
        return Err(Fail::No);
    }
    Ok(Pdu::ConnectResponse)
}

/// A block header of type `typ`: its body (the length counts the 4-byte header).
fn block<'a>(c: &mut Cur<'a>, typ: u16) -> R<&'a [u8]> {
    if c.le16()? != typ {
        return Err(Fail::No);
    }
    let len = c.le16()?.checked_sub(4).ok_or(Fail::No)?;
    c.take(usize::from(len))
}

/// UTF-16LE up to the first NUL (an odd last byte ignored); `No` when not valid UTF-16.
fn utf16(b: &[u8]) -> R<String> {
    let units: Vec<u16> =
        b.chunks_exact(2).map(|p| p.try_into().map_or(0, u16::from_le_bytes)).take_while(|&u| u != 0).collect();
    String::from_utf16(&units).map_err(|_| Fail::No)
}

fn core_data(c: &mut Cur<'_>) -> R<CoreData> {
    let mut d = Cur(block(c, GCC_CORE)?);
    let mut core = CoreData {
        version: d.le32()?,
        desktop_width: d.le16()?,
        desktop_height: d.le16()?,
        color_depth: d.le16()?,
        ..CoreData::default()
    };
    d.le16()?; // SAS sequence, not logged
    core.keyboard_layout = d.le32()?;
    core.client_build = d.le32()?;
    core.client_name = utf16(d.take(32)?)?;
    core.keyboard_type = d.le32()?;
    core.keyboard_subtype = d.le32()?;
    core.function_keys = d.le32()?;
    core.ime_file_name = utf16(d.take(64)?)?;
    optional_core(&mut d, &mut core);
    Ok(core)
}

/// The optional fields, each read only when the one before it was present and in range.
fn optional_core(d: &mut Cur<'_>, core: &mut CoreData) {
    fn f<'a, T>(d: &mut Cur<'a>, read: impl FnOnce(&mut Cur<'a>) -> R<T>, ok: impl FnOnce(&T) -> bool) -> Option<T> {
        let mut k = *d;
        let v = read(&mut k).ok().filter(ok)?;
        *d = k;
        Some(v)
    }
    let (le16, le32) = (Cur::le16, Cur::le32);
    let mm = |v: &u32| (10..=10_000).contains(v);
    let _: Option<()> = (|| {
        core.post_beta2_color_depth = Some(f(d, le16, |v| *v == 0 || (0xca00..=0xca04).contains(v))?);
        core.product_id = Some(f(d, le16, |_| true)?);
        core.serial_number = Some(f(d, le32, |_| true)?);
        core.high_color_depth = Some(f(d, le16, |v| matches!(v, 0 | 4 | 8 | 15 | 16 | 24))?);
        f(d, le16, |v| v & !0x0f == 0)?; // supported color depths, not logged
        core.early_capability_flags = Some(f(d, le16, |v| v & !0x07ff == 0)?);
        core.dig_product_id = Some(f(d, |c| c.take(64).and_then(utf16), |_| true)?);
        core.connection_type = Some(f(d, |c| c.u8(), |v| *v <= 7)?);
        f(d, |c| c.u8(), |_| true)?; // padding
        f(d, le32, |v| v & !0x0f == 0)?; // server selected protocol, not logged
        core.physical_width = Some(f(d, le32, mm)?);
        core.physical_height = Some(f(d, le32, mm)?);
        core.orientation = Some(f(d, le16, |v| matches!(v, 0 | 90 | 180 | 270))?);
        core.desktop_scale = Some(f(d, le32, |v| (100..=500).contains(v))?);
        core.device_scale = Some(f(d, le32, |v| matches!(v, 100 | 140 | 180))?);
        Some(())
    })();
}

/// Client network data: the static virtual channels' names (8 bytes each, up to a NUL).
fn net_data(c: &mut Cur<'_>) -> R<Vec<String>> {
    if c.le16()? != GCC_NET {
        return Err(Fail::No);
    }
    let len = c.le16()?.checked_sub(8).ok_or(Fail::No)?;
    let count = c.le32()?;
    let mut d = Cur(c.take(usize::from(len))?);
    let mut names = Vec::new();
    for _ in 0..count {
        let raw = d.take(8)?;
        let name = raw.split(|&b| b == 0).next().unwrap_or(raw);
        names.push(std::str::from_utf8(name).map_err(|_| Fail::No)?.to_owned());
        d.le32()?; // options, not logged
    }
    Ok(names)
}

/// Any other block (a type neither core nor network data), skipped.
fn unknown_block(c: &mut Cur<'_>) -> R<()> {
    let typ = c.le16()?;
    if typ == GCC_CORE || typ == GCC_NET {
        return Err(Fail::No);
    }
    let len = c.le16()?.checked_sub(4).ok_or(Fail::No)?;
    c.take(usize::from(len)).map(|_| ())
}
