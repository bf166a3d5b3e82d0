//! The typed form of a Suricata rule: what the parser produces and detection consumes.
//!
//! A rule is its header (action, protocol, addresses, ports, direction), its metadata (sid,
//! msg, classtype, ...), the flow conditions, and its match lists:
//! - `packet`: header keywords evaluated on the packet (ttl, flags, itype, dsize, ...);
//! - `buffers`: for each inspected buffer (the payload, or a sticky buffer such as
//!   `http.uri`), the ordered list of payload keywords (content, pcre, byte_*, isdataat, ...)
//!   with the transforms applied to that buffer;
//! - `flowbits`, `threshold`, `detection_filter`: state kept across packets.
//!
//! Values that may name a `byte_extract`/`byte_math` variable are [`Num::Var`], holding the
//! variable's slot (0..MAX_VARS) within the rule.

use std::net::IpAddr;

mod header;
mod state;
pub use header::*;
pub use state::*;

/// Most byte_extract/byte_math variables in one rule (Suricata allows 4 per rule by default).
pub const MAX_VARS: usize = 8;

/// Rule action. Picket is passive: `drop` and `reject*` alert (with their action recorded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// alert
    Alert,
    /// pass: stop inspecting the packet (and, with flow keywords, the flow) for other rules.
    Pass,
    /// drop (alert-only in a passive sensor)
    Drop,
    /// reject, rejectsrc, rejectdst, rejectboth (alert-only in a passive sensor)
    Reject,
}

impl Action {
    /// Suricata's action order: pass before drop before reject before alert.
    pub fn order(self) -> u8 {
        match self {
            Action::Pass => 0,
            Action::Drop => 1,
            Action::Reject => 2,
            Action::Alert => 3,
        }
    }
    /// Name for EVE `alert.action`. A passive sensor blocks nothing, so every alert is
    /// "allowed", as Suricata writes in IDS mode.
    pub fn eve_name(self) -> &'static str {
        "allowed"
    }
}

/// Transport a rule applies to, from its header protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Any IP packet (`ip`, `pkt`).
    Ip,
    /// TCP (`tcp`, `tcp-pkt`, `tcp-stream`, and TCP app-layer protocols).
    Tcp,
    /// UDP (and UDP app-layer protocols).
    Udp,
    /// ICMP, v4 and v6 (`icmp`).
    Icmp,
    /// ICMPv4 only.
    Icmpv4,
    /// ICMPv6 only.
    Icmpv6,
    /// SCTP.
    Sctp,
    /// IGMP (IPv4 protocol 2).
    Igmp,
}

/// The header protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleProto {
    /// Transport the rule applies to.
    pub transport: Transport,
    /// `tcp-pkt`: inspect packets only. `tcp-stream`: reassembled stream only.
    pub tcp_mode: TcpMode,
    /// App-layer protocol named in the header (`http`, `dns`, `tls`, ...), if any.
    pub app: Option<String>,
    /// The IP version or layer the header names (`ipv4`, `ipv6`, `pkthdr`).
    pub layer: ProtoLayer,
}

/// What a header protocol says about the packet's network layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ProtoLayer {
    /// Any IP packet (`ip`, `tcp`, ...).
    #[default]
    Any,
    /// `ipv4` / `ip4`: IPv4 packets only.
    Ipv4,
    /// `ipv6` / `ip6`: IPv6 packets only.
    Ipv6,
    /// `pkthdr`: any packet, whatever its layers (decoder-event rules only).
    Pkthdr,
}

/// `tcp`, `tcp-pkt` or `tcp-stream`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TcpMode {
    /// Packets and stream, as Suricata decides.
    #[default]
    Both,
    /// `tcp-pkt`.
    Packet,
    /// `tcp-stream`.
    Stream,
}

/// An inclusive address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpRange {
    /// First address.
    pub lo: IpAddr,
    /// Last address (same family as `lo`).
    pub hi: IpAddr,
}

/// A resolved address expression: matches when the address is in `include` (or `any`) and
/// not in `exclude`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct AddrSet {
    /// No restriction (before exclusions).
    pub any: bool,
    /// Ranges that match.
    pub include: Vec<IpRange>,
    /// Ranges removed (from negation).
    pub exclude: Vec<IpRange>,
}

/// An inclusive port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port.
    pub hi: u16,
}

/// A resolved port expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct PortSet {
    /// No restriction (before exclusions).
    pub any: bool,
    /// Ranges that match.
    pub include: Vec<PortRange>,
    /// Ranges removed.
    pub exclude: Vec<PortRange>,
}

/// A number, or a byte_extract/byte_math variable by slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Num {
    /// A literal.
    Lit(i64),
    /// Variable slot.
    Var(u8),
}

/// A comparison on an integer (dsize, ttl, bsize, itype, window, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumCmp {
    /// `=N` or `N`
    Eq(u64),
    /// `!N`
    Ne(u64),
    /// `<N`
    Lt(u64),
    /// `<=N`
    Le(u64),
    /// `>N`
    Gt(u64),
    /// `>=N`
    Ge(u64),
    /// `A<>B`: strictly between (Suricata's range is exclusive).
    Range(u64, u64),
    /// `!A<>B`: not strictly between.
    NotRange(u64, u64),
}

impl NumCmp {
    /// Whether `v` satisfies the comparison.
    pub fn matches(&self, v: u64) -> bool {
        match *self {
            NumCmp::Eq(n) => v == n,
            NumCmp::Ne(n) => v != n,
            NumCmp::Lt(n) => v < n,
            NumCmp::Le(n) => v <= n,
            NumCmp::Gt(n) => v > n,
            NumCmp::Ge(n) => v >= n,
            NumCmp::Range(a, b) => v > a && v < b,
            NumCmp::NotRange(a, b) => !(v > a && v < b),
        }
    }
}

/// `fast_pattern` on a content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FastPattern {
    /// Not given.
    #[default]
    No,
    /// `fast_pattern`
    Yes,
    /// `fast_pattern:only` (Suricata treats it as `fast_pattern`).
    Only,
    /// `fast_pattern:offset,length`: only that part of the content goes to the prefilter.
    Chop(u16, u16),
}

/// `content` and its modifiers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Content {
    /// Bytes to find (hex `|..|` and escapes already decoded).
    pub pattern: Vec<u8>,
    /// `content:!"..."`
    pub negated: bool,
    /// `nocase`
    pub nocase: bool,
    /// `offset`
    pub offset: Option<Num>,
    /// `depth`
    pub depth: Option<Num>,
    /// `distance` (relative to the previous match)
    pub distance: Option<Num>,
    /// `within` (relative to the previous match)
    pub within: Option<Num>,
    /// `startswith` (= depth:len, offset 0)
    pub startswith: bool,
    /// `endswith`
    pub endswith: bool,
    /// `rawbytes` (no effect in Suricata; accepted)
    pub rawbytes: bool,
    /// `fast_pattern`
    pub fast_pattern: FastPattern,
}

impl Content {
    /// `content:"pattern"` with no modifier: what the parser starts from before the modifiers
    /// that follow it apply.
    pub fn new(pattern: Vec<u8>) -> Content {
        Content {
            pattern,
            negated: false,
            nocase: false,
            offset: None,
            depth: None,
            distance: None,
            within: None,
            startswith: false,
            endswith: false,
            rawbytes: false,
            fast_pattern: FastPattern::No,
        }
    }

    /// The content is anchored to the previous match (distance or within).
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// `pcre:"/.../flags"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pcre {
    /// The expression (between the slashes, unescaped as written).
    pub expr: String,
    /// `!` before the expression.
    pub negated: bool,
    /// `i`
    pub caseless: bool,
    /// `s`
    pub dotall: bool,
    /// `m`
    pub multiline: bool,
    /// `x`
    pub extended: bool,
    /// `A`
    pub anchored: bool,
    /// `E`
    pub dollar_endonly: bool,
    /// `G` (ungreedy)
    pub ungreedy: bool,
    /// `R`: relative to the previous match.
    pub relative: bool,
    /// `O`: ignore the configured match limits.
    pub no_limit: bool,
    /// Captures into packet, flow and alert variables, `pkt_<name>`, `flow_<name>` or
    /// `alert_<name>`: the names after the expression (`, flow:name`), then the named groups
    /// (`(?P<pkt_name>...)`); the n-th takes capture group n, as Suricata.
    pub captures: Vec<String>,
}

/// Endianness / encoding of byte_* values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ByteEndian {
    /// Network order (default).
    #[default]
    Big,
    /// `little`
    Little,
    /// `dce`: from the DCERPC header (treated as little when unknown).
    Dce,
}

/// `string,<base>` on byte_* keywords.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StringBase {
    /// `hex`
    Hex,
    /// `dec`
    Dec,
    /// `oct`
    Oct,
}

/// byte_test operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOp {
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `=`
    Eq,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `&` (bitwise and is non-zero)
    And,
    /// `^` (bitwise xor is non-zero)
    Xor,
}

/// `byte_test`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ByteTest {
    /// Bytes to read (1-10 with `string`, else 1-8).
    pub nbytes: u8,
    /// The number of bytes is this variable's value (checked per packet).
    pub nbytes_var: Option<u8>,
    /// `!` before the operator.
    pub negated: bool,
    /// Operator.
    pub op: ByteOp,
    /// Value compared against.
    pub value: Num,
    /// Offset.
    pub offset: Num,
    /// `relative`
    pub relative: bool,
    /// Endianness.
    pub endian: ByteEndian,
    /// `string,<base>`
    pub string: Option<StringBase>,
    /// `bitmask`
    pub bitmask: Option<u64>,
}

/// `byte_jump`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ByteJump {
    /// Bytes to read.
    pub nbytes: u8,
    /// The number of bytes is this variable's value (checked per packet).
    pub nbytes_var: Option<u8>,
    /// Offset.
    pub offset: Num,
    /// `relative`
    pub relative: bool,
    /// `multiplier`
    pub multiplier: u32,
    /// Endianness.
    pub endian: ByteEndian,
    /// `string,<base>`
    pub string: Option<StringBase>,
    /// `align` (round up to 4)
    pub align: bool,
    /// `from_beginning`
    pub from_beginning: bool,
    /// `from_end`
    pub from_end: bool,
    /// `post_offset`
    pub post_offset: i32,
    /// `bitmask`
    pub bitmask: Option<u64>,
}

/// `byte_extract`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ByteExtract {
    /// Bytes to read.
    pub nbytes: u8,
    /// Offset.
    pub offset: i32,
    /// Variable slot written.
    pub var: u8,
    /// `relative`
    pub relative: bool,
    /// `multiplier`
    pub multiplier: u32,
    /// Endianness.
    pub endian: ByteEndian,
    /// `string,<base>`
    pub string: Option<StringBase>,
    /// `align` (2 or 4)
    pub align: u8,
    /// `bitmask`
    pub bitmask: Option<u64>,
}

/// byte_math operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
}

/// `byte_math`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ByteMath {
    /// Bytes to read.
    pub nbytes: u8,
    /// The number of bytes is this variable's value (checked per packet).
    pub nbytes_var: Option<u8>,
    /// Offset.
    pub offset: i32,
    /// Operator.
    pub op: MathOp,
    /// Right-hand value.
    pub rvalue: Num,
    /// Variable slot written.
    pub result: u8,
    /// `relative`
    pub relative: bool,
    /// Endianness.
    pub endian: ByteEndian,
    /// `string,<base>`
    pub string: Option<StringBase>,
    /// `bitmask`
    pub bitmask: Option<u64>,
}

/// `isdataat`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IsDataAt {
    /// `!`
    pub negated: bool,
    /// Position.
    pub offset: Num,
    /// `relative`
    pub relative: bool,
}

/// A buffer transform (applied to a sticky buffer before inspection).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Transform {
    /// `dotprefix`
    DotPrefix,
    /// `strip_whitespace`
    StripWhitespace,
    /// `compress_whitespace`
    CompressWhitespace,
    /// `to_lowercase`
    ToLowercase,
    /// `to_uppercase`
    ToUppercase,
    /// `url_decode`
    UrlDecode,
    /// `to_md5`
    ToMd5,
    /// `to_sha1`
    ToSha1,
    /// `to_sha256`
    ToSha256,
    /// `header_lowercase`
    HeaderLowercase,
    /// `strip_pseudo_headers`
    StripPseudoHeaders,
    /// `domain`: the registrable domain (public suffix and one more label)
    Domain,
    /// `tld`: the public suffix
    Tld,
    /// `xor`: a static key, or one read from the buffer, applied from an offset.
    Xor(XorKey),
    /// `pcrexform:"expr"`
    PcreXform(String),
    /// `from_base64` with its options.
    FromBase64(FromBase64),
}

/// How `xor` gets its key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct XorKey {
    /// Where decoding starts (the bytes before are kept as they are).
    pub offset: u32,
    /// The key.
    pub key: XorKeySource,
}

/// A static key, or bytes of the buffer itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum XorKeySource {
    /// The key as written (hex).
    Static(Vec<u8>),
    /// `extract <nbytes> <offset>`: the key is `nbytes` bytes of the buffer at `offset`.
    Extract {
        /// Key length.
        nbytes: u8,
        /// Where in the buffer.
        offset: u16,
    },
}

/// Base64 alphabets and strictness (Suricata's `SCBase64Mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Base64Mode {
    /// RFC 4648: stop at the first character outside the alphabet.
    #[default]
    Rfc4648,
    /// RFC 2045: skip characters outside the alphabet.
    Rfc2045,
    /// Strict: the whole input must be padded base64.
    Strict,
}

/// `from_base64` options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FromBase64 {
    /// Bytes to decode (0: all).
    pub bytes: u32,
    /// Where to start.
    pub offset: u32,
    /// Mode.
    pub mode: Base64Mode,
}

/// `base64_decode`: decodes part of the buffer for the rule's `base64_data` keywords.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Base64Decode {
    /// Bytes to decode (Suricata's default: 65535).
    pub bytes: u16,
    /// Where to start (after the relative base).
    pub offset: u32,
    /// `relative`: from the previous match.
    pub relative: bool,
}

/// One payload keyword in a buffer's list, in rule order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PayloadMatch {
    /// `content`
    Content(Content),
    /// `pcre`
    Pcre(Pcre),
    /// `byte_test`
    ByteTest(ByteTest),
    /// `byte_jump`
    ByteJump(ByteJump),
    /// `byte_extract`
    ByteExtract(ByteExtract),
    /// `byte_math`
    ByteMath(ByteMath),
    /// `isdataat`
    IsDataAt(IsDataAt),
    /// `bsize` (size of the buffer)
    Bsize(NumCmp),
    /// `urilen` (on http.uri / http.uri.raw)
    Urilen(NumCmp),
    /// `dataset` (the whole buffer against a named set)
    Dataset(DatasetKw),
    /// `datarep` (the whole buffer's reputation in a named set)
    Datarep(DatarepKw),
    /// `base64_decode`
    Base64Decode(Base64Decode),
    /// `entropy`: the Shannon entropy (bits per byte) of the buffer from an offset.
    Entropy(Entropy),
}

/// `entropy:[bytes N,][offset N,]value <cmp>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entropy {
    /// Bytes considered (0 or less: to the end).
    pub bytes: i32,
    /// Where to start (0 or less: the start).
    pub offset: i32,
    /// The comparison of the entropy (bits per byte, 0 to 8).
    pub cmp: FloatCmp,
}

/// A comparison of a floating-point value (Suricata's `detect_parse_float`); the operands
/// are kept as bit patterns so that a rule stays comparable and hashable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FloatCmp {
    /// The operator.
    pub op: FloatOp,
    /// First operand (`f64::to_bits`).
    pub a: u64,
    /// Second operand of a range (`f64::to_bits`).
    pub b: u64,
}

/// Operators of [`FloatCmp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FloatOp {
    /// `=x` or `x`
    Eq,
    /// `!=x`
    Ne,
    /// `<x`
    Lt,
    /// `<=x`
    Le,
    /// `>x`
    Gt,
    /// `>=x`
    Ge,
    /// `a-b`: strictly between.
    Range,
    /// `!a-b`: not strictly between.
    NotRange,
}

impl FloatCmp {
    /// Whether `v` satisfies the comparison.
    pub fn matches(&self, v: f64) -> bool {
        let (a, b) = (f64::from_bits(self.a), f64::from_bits(self.b));
        match self.op {
            FloatOp::Eq => v == a,
            FloatOp::Ne => v != a,
            FloatOp::Lt => v < a,
            FloatOp::Le => v <= a,
            FloatOp::Gt => v > a,
            FloatOp::Ge => v >= a,
            FloatOp::Range => v > a && v < b,
            FloatOp::NotRange => v <= a || v >= b,
        }
    }
}

impl PayloadMatch {
    /// The keyword's name, as Suricata spells it.
    pub fn name(&self) -> &'static str {
        match self {
            PayloadMatch::Content(_) => "content",
            PayloadMatch::Pcre(_) => "pcre",
            PayloadMatch::ByteTest(_) => "byte_test",
            PayloadMatch::ByteJump(_) => "byte_jump",
            PayloadMatch::ByteExtract(_) => "byte_extract",
            PayloadMatch::ByteMath(_) => "byte_math",
            PayloadMatch::IsDataAt(_) => "isdataat",
            PayloadMatch::Bsize(_) => "bsize",
            PayloadMatch::Urilen(_) => "urilen",
            PayloadMatch::Dataset(_) => "dataset",
            PayloadMatch::Datarep(_) => "datarep",
            PayloadMatch::Base64Decode(_) => "base64_decode",
            PayloadMatch::Entropy(_) => "entropy",
        }
    }
}

/// The type of a dataset's values (Suricata's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatasetType {
    /// `string`: any bytes (files hold them base64-encoded).
    String,
    /// `md5`: 16 bytes (hex in files).
    Md5,
    /// `sha256`: 32 bytes (hex in files).
    Sha256,
    /// `ipv4`: 4 bytes.
    Ipv4,
    /// `ip` (or `ipv6`): 16 bytes, an IPv4 address kept in the first 4.
    Ip,
}

impl DatasetType {
    /// The type named `s` as rules and config write it.
    pub fn from_name(s: &str) -> Option<DatasetType> {
        Some(match s {
            "string" => DatasetType::String,
            "md5" => DatasetType::Md5,
            "sha256" => DatasetType::Sha256,
            "ipv4" => DatasetType::Ipv4,
            "ip" | "ipv6" => DatasetType::Ip,
            _ => return None,
        })
    }
    /// The name rules use.
    pub fn name(self) -> &'static str {
        match self {
            DatasetType::String => "string",
            DatasetType::Md5 => "md5",
            DatasetType::Sha256 => "sha256",
            DatasetType::Ipv4 => "ipv4",
            DatasetType::Ip => "ip",
        }
    }
}

/// `dataset` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatasetCmd {
    /// `set`: adds the buffer; matches when it was not there yet.
    Set,
    /// `unset`: removes the buffer; matches when it was there.
    Unset,
    /// `isset`
    IsSet,
    /// `isnotset`
    IsNotSet,
}

/// Where a dataset comes from and how big it may grow, as a rule or the config declares it.
/// Paths are as written; the detection engine resolves them (`load` next to the rule file,
/// `save`/`state` in the data directory).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct DatasetDecl {
    /// Name (case-insensitive, as Suricata).
    pub name: String,
    /// `type`, when given.
    pub kind: Option<DatasetType>,
    /// `load` (or the load half of `state`).
    pub load: Option<String>,
    /// `save` (or the save half of `state`).
    pub save: Option<String>,
    /// `memcap` in bytes (0: the default).
    pub memcap: u64,
    /// `hashsize` (0: the default).
    pub hashsize: u32,
    /// Folder of the rule file that declared it (to resolve a relative `load`).
    pub rule_dir: String,
    /// `format json` or `format ndjson`: the file holds objects (Suricata 8's datajson).
    pub json: Option<DatasetJson>,
}

/// Where the values of a `format json`/`ndjson` set are in its file's objects.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct DatasetJson {
    /// One object a line (`ndjson`) rather than one array (`json`).
    pub ndjson: bool,
    /// `value_key`: the (dotted) path of the value in each object.
    pub value_key: String,
    /// `array_key`: the (dotted) path of the array in the file's object (`json`; empty: the
    /// file is the array).
    pub array_key: String,
    /// `remove_key`: the value's key is left out of the context.
    pub remove_key: bool,
}

/// `dataset:<cmd>,<name>[, type <t>, load <f>, save <f>, state <f>, memcap <n>, hashsize <n>,
/// format csv, match subdomain]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DatasetKw {
    /// Command.
    pub cmd: DatasetCmd,
    /// The set.
    pub decl: DatasetDecl,
    /// `match subdomain`: also look the buffer's parent domains up (isset/isnotset, strings).
    pub subdomain: bool,
    /// `context_key` of a JSON set: the key under which an alert's `context` carries the
    /// matched entry's object (empty: not a JSON set).
    pub context_key: String,
}

/// `datarep` comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RepOp {
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `==`
    Eq,
}

/// `datarep:<name>, <op>, <value>[, type <t>, load <f>, memcap <n>, hashsize <n>]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DatarepKw {
    /// The set.
    pub decl: DatasetDecl,
    /// Comparison.
    pub op: RepOp,
    /// Value compared with the entry's reputation.
    pub value: u16,
}

/// A buffer inspected by payload keywords.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Buffer {
    /// The packet payload (and, for TCP, the reassembled stream).
    Payload,
    /// A sticky buffer by its Suricata name (`http.uri`, `dns.query`, `file.data`, ...). Legacy
    /// content modifiers (`http_uri`, ...) are mapped to these names by the parser.
    Sticky(String),
    /// A sticky buffer of the packet itself (`ipv4.hdr`, `tcp.hdr`, ...): its getter, bound
    /// at load.
    Packet(PacketBuffer),
    /// `base64_data`: what the rule's `base64_decode` decoded (inspected from there).
    Base64Data,
    /// `frame:<name>`: an app-layer frame (`smb2.pdu`, `sip.request.line`, `pdu`), by its name
    /// as written (lower case); detection resolves it against the protocols' frame rows.
    Frame(String),
}

/// A packet buffer's getter: the bytes of the buffer in the frame, if the packet has them.
pub type PacketGet = for<'a> fn(&'a [u8], &crate::decode::Decoded) -> Option<&'a [u8]>;

/// A sticky buffer of the packet (`tcp.hdr`): its name and its getter.
#[derive(Clone, Copy)]
pub struct PacketBuffer {
    /// The keyword's name.
    pub name: &'static str,
    /// Its bytes in a packet.
    pub get: PacketGet,
}

impl PartialEq for PacketBuffer {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for PacketBuffer {}

impl std::hash::Hash for PacketBuffer {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl std::fmt::Debug for PacketBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// A payload-inspection list: a buffer, its transforms and its keywords.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BufferList {
    /// The buffer.
    pub buffer: Buffer,
    /// Transforms, in order.
    pub transforms: Vec<Transform>,
    /// Keywords, in rule order.
    pub matches: Vec<PayloadMatch>,
    /// The side of the transaction the buffer is read from when the rule says so
    /// (`http.connection: to_client`, Suricata 8): a buffer both sides have, in a `=>` rule
    /// or to give a rule its direction.
    pub direction: Option<Direction>,
}

/// A direction a keyword is bound to (`to_server` / `to_client` after a buffer's name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The request side (client to server).
    ToServer,
    /// The response side (server to client).
    ToClient,
}

/// `app-layer-protocol` mode: which detected protocol of the flow is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AppProtoMode {
    /// `direction` (default): the protocol detected in the packet's direction.
    #[default]
    Direction,
    /// `to_server`
    ToServer,
    /// `to_client`
    ToClient,
    /// `either`: either direction's protocol.
    Either,
    /// `final`: the protocol finally chosen for parsing.
    Final,
    /// `original`: the protocol before a protocol change.
    Original,
}

/// Which side(s) of a TCP session `stream_size` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamSizeSide {
    /// The responder's stream.
    Server,
    /// The initiator's stream.
    Client,
    /// Both must satisfy the comparison.
    Both,
    /// Either may.
    Either,
}

/// `target:src_ip|dest_ip`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `src_ip`
    Src,
    /// `dest_ip`
    Dst,
}

/// A parsed rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Action.
    pub action: Action,
    /// Header protocol.
    pub proto: RuleProto,
    /// Source addresses.
    pub src: AddrSet,
    /// Source ports.
    pub src_ports: PortSet,
    /// `<>`: the rule also matches with source and destination swapped.
    pub bidirectional: bool,
    /// `=>` (Suricata 8's transactional rule): the header as `->`, and the rule matches a
    /// whole transaction, its request-side keywords on the request and its response-side
    /// keywords on the response, once both sides have what they need.
    pub transactional: bool,
    /// The `flow_start` packet hook (`tcp:flow_start`, Suricata 8): the rule looks only at
    /// the first packet of each direction of a flow.
    pub flow_start: bool,
    /// Destination addresses.
    pub dst: AddrSet,
    /// Destination ports.
    pub dst_ports: PortSet,
    /// `sid`
    pub sid: u32,
    /// `gid` (default 1)
    pub gid: u32,
    /// `rev` (default 0)
    pub rev: u32,
    /// `msg`
    pub msg: String,
    /// `classtype` short name.
    pub classtype: Option<String>,
    /// Priority: `priority`, else the classtype's, else 3.
    pub priority: u8,
    /// Category text (the classtype's description), for EVE `alert.category`.
    pub category: Option<String>,
    /// `metadata` as key -> values (EVE `alert.metadata`).
    pub metadata: Vec<(String, Vec<String>)>,
    /// `reference` as (type, value); URL prefixes resolved from reference.config when known.
    pub references: Vec<(String, String)>,
    /// `target`
    pub target: Option<Target>,
    /// `flow`
    pub flow: FlowOpts,
    /// `flowbits` (not counting `noalert`).
    pub flowbits: Vec<Flowbit>,
    /// `flowbits:noalert` or `noalert`.
    pub noalert: bool,
    /// `flowint`, in rule order.
    pub flowints: Vec<Flowint>,
    /// `hostbits` and `xbits`, in rule order.
    pub xbits: Vec<Xbit>,
    /// `iprep`, in rule order.
    pub iprep: Vec<Iprep>,
    /// `threshold`
    pub threshold: Option<Threshold>,
    /// `detection_filter`
    pub detection_filter: Option<Threshold>,
    /// Header keywords.
    pub packet: Vec<PacketMatch>,
    /// Payload-inspection lists, in the order their buffers first appear.
    pub buffers: Vec<BufferList>,
    /// Number of byte_extract/byte_math variable slots used.
    pub vars: u8,
    /// Keywords that were parsed but are not acted on (e.g. `tag`), counted at load.
    pub ignored_keywords: Vec<&'static str>,
    /// App-layer value keywords (`dns.opcode`, `tls.version`, `ssl_version`, ...) as
    /// (keyword, value) in rule order; the detection engine compiles them.
    pub app_values: Vec<(String, String)>,
    /// Where the rule came from.
    pub origin: Origin,
}

/// File and line of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Origin {
    /// File path as given (shared by the rules of a file: one allocation per file, not per
    /// rule, for the engine's life).
    pub file: std::sync::Arc<str>,
    /// Line number (of the rule's first line), 1-based.
    pub line: usize,
}
