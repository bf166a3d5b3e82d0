//! The header keywords of a rule ([`PacketMatch`]): their values and bound tests
//! (re-exported by [`super`]).

use super::{AppProtoMode, NumCmp, StreamSizeSide};

/// TCP flags keyword (`flags:SA,12` style).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    /// Flags that must be set (bit values as in the TCP header: F=1 S=2 R=4 P=8 A=16 U=32
    /// E(C/1)=64 C(C/2)=128).
    pub flags: u8,
    /// Mask of flags ignored.
    pub ignore: u8,
    /// Modifier.
    pub modifier: FlagsMod,
}

/// `flags` modifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagsMod {
    /// exactly these (after the ignore mask)
    Exact,
    /// `+`: these and any others
    Plus,
    /// `*`: any of these
    Any,
    /// `!`: not these
    Not,
}

/// `fragbits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragBits {
    /// Bits (M=0x2000 more fragments, D=0x4000 don't fragment, R=0x8000 reserved) as in the
    /// IPv4 header's flags/offset field.
    pub bits: u16,
    /// Modifier (`+`, `*`, `!`, or exact).
    pub modifier: FlagsMod,
}

/// A keyword evaluated on the packet's headers (and, for two of them, on its flow).
///
/// Three forms stay typed because the detection engine reads them: `dsize` bounds payload
/// verification, `stream_size` needs the TCP session and `app-layer-protocol` the flow's
/// protocol. Every other header keyword is a [`HeaderMatch`]: its value and the pure test
/// its keyword row gives (see `rule::keywords::packet`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PacketMatch {
    /// `dsize`
    Dsize(NumCmp),
    /// `stream_size:<server|client|both|either>,<op>,<n>`: bytes a TCP stream's sides sent,
    /// as Suricata counts them (next expected sequence number minus the initial one, so the
    /// SYN counts one). Needs the flow's session: decided by the detection engine.
    StreamSize(StreamSizeSide, NumCmp),
    /// `flow.pkts` / `flow.bytes` (and their `_toserver` / `_toclient` forms): the packets or
    /// bytes the flow has seen in a direction, this packet included, as Suricata's flow
    /// counters. Needs the flow: decided by the detection engine.
    FlowCount(FlowCounter, FlowCountDir, NumCmp),
    /// `flow.age`: whole seconds between the flow's first packet and its last (this one), as
    /// Suricata compares them (32 bits). Needs the flow: decided by the detection engine.
    FlowAge(NumCmp),
    /// `app-layer-protocol:[!]name[|name...][,mode][,exact]`
    AppLayerProtocol {
        /// Protocol name (canonical, lowercase); several alternatives are joined with `|`
        /// (any of them). `failed` and `unknown` are the special values.
        name: String,
        /// `!`
        negated: bool,
        /// Which protocol of the flow is compared (default: the packet's direction).
        mode: AppProtoMode,
        /// `exact`: the protocol itself, not one it covers (`dns` does not match `doh2`).
        exact: bool,
    },
    /// `ttl`, `flags`, `itype`, ...: a pure test of the packet.
    Header(HeaderMatch),
}

impl PacketMatch {
    /// The keyword's name, as Suricata spells it.
    pub fn name(&self) -> &'static str {
        match self {
            PacketMatch::Dsize(_) => "dsize",
            PacketMatch::StreamSize(..) => "stream_size",
            PacketMatch::FlowCount(FlowCounter::Pkts, ..) => "flow.pkts",
            PacketMatch::FlowCount(FlowCounter::Bytes, ..) => "flow.bytes",
            PacketMatch::FlowAge(_) => "flow.age",
            PacketMatch::AppLayerProtocol { .. } => "app-layer-protocol",
            PacketMatch::Header(h) => h.keyword,
        }
    }
}

/// What `flow.pkts` / `flow.bytes` count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowCounter {
    /// Packets.
    Pkts,
    /// Bytes (whole packets, as the flow's EVE record counts them).
    Bytes,
}

/// Which direction's counter `flow.pkts` / `flow.bytes` compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowCountDir {
    /// From the client.
    ToServer,
    /// From the server.
    ToClient,
    /// Either direction's counter may satisfy the comparison.
    Either,
}

/// The value of a header keyword, in one of the few shapes header keywords take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderValue {
    /// An integer comparison (`ttl`, `itype`, `window`, `seq`, ...).
    Cmp(NumCmp),
    /// `flags`.
    TcpFlags(TcpFlags),
    /// `fragbits`.
    FragBits(FragBits),
    /// Bits of which at least one must be present (`ipopts`).
    AnyBit(u16),
    /// No value (`sameip`).
    Empty,
    /// A comparison with the values of a list (`vlan.id`): any of them, all of them, or the
    /// one at an index (negative: from the end).
    Indexed(NumCmp, ListIndex),
    /// An engine event the packet must carry, by its code ([`crate::decode::Event`]):
    /// `decode-event`, `stream-event`, `app-layer-event` of protocol detection.
    Event(u8),
}

/// Which values of a list a comparison applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListIndex {
    /// At least one.
    Any,
    /// All of them (and there is at least one).
    All,
    /// The one at this position (negative: counted from the end).
    At(i8),
}

impl ListIndex {
    /// Whether `cmp` holds on `values` as the index says.
    pub fn matches(self, cmp: &NumCmp, values: &[u64]) -> bool {
        match self {
            ListIndex::Any => values.iter().any(|&v| cmp.matches(v)),
            ListIndex::All => !values.is_empty() && values.iter().all(|&v| cmp.matches(v)),
            ListIndex::At(i) => {
                let i = if i < 0 { values.len() as i64 + i64::from(i) } else { i64::from(i) };
                usize::try_from(i).ok().and_then(|i| values.get(i)).is_some_and(|&v| cmp.matches(v))
            }
        }
    }
}

impl HeaderValue {
    /// Whether `field` is present and satisfies the comparison (false for other shapes).
    #[inline]
    pub fn matches(&self, field: Option<u64>) -> bool {
        match (self, field) {
            (HeaderValue::Cmp(n), Some(v)) => n.matches(v),
            _ => false,
        }
    }
}

/// A header keyword's test: its value, the frame and the decoded summary of the frame. Pure,
/// allocation-free, never panics, whatever the bytes.
pub type HeaderTest = fn(&HeaderValue, &[u8], &crate::decode::Decoded) -> bool;

/// A header keyword of a rule: its value and its row's test, bound at load so that the
/// per-packet call is one indirect call, with no lookup by name.
#[derive(Clone, Copy)]
pub struct HeaderMatch {
    /// The keyword's name (profiles, messages).
    pub keyword: &'static str,
    /// The parsed value.
    pub value: HeaderValue,
    test: HeaderTest,
}

impl HeaderMatch {
    /// The keyword `keyword` with its parsed value and its test.
    pub fn new(keyword: &'static str, value: HeaderValue, test: HeaderTest) -> HeaderMatch {
        HeaderMatch { keyword, value, test }
    }

    /// Whether the packet satisfies the keyword.
    #[inline]
    pub fn matches(&self, frame: &[u8], d: &crate::decode::Decoded) -> bool {
        (self.test)(&self.value, frame, d)
    }
}

// The test is a function of the keyword: equality and hashing by keyword and value.
impl PartialEq for HeaderMatch {
    fn eq(&self, other: &Self) -> bool {
        self.keyword == other.keyword && self.value == other.value
    }
}

impl Eq for HeaderMatch {}

impl std::hash::Hash for HeaderMatch {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.keyword.hash(state);
        self.value.hash(state);
    }
}

impl std::fmt::Debug for HeaderMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({:?})", self.keyword, self.value)
    }
}
