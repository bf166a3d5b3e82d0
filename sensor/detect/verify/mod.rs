//! Verify: one buffer against a rule's payload keywords, as Suricata's content inspection.
//!
//! Takes: a [`BufferList`] at load time ([`compile`]) and, per packet, the buffer bytes
//! and the rule's byte_extract/byte_math variable slots ([`inspect`]). Promises: the answer
//! Suricata's `DetectEngineContentInspection` (src/detect-engine-content-inspection.c) gives
//! for the same keywords: a cursor (`buffer_offset`) walks the list; content with
//! offset/depth/distance/within/nocase/negation/startswith/endswith; backtracking (a content
//! or pcre that a later relative keyword depends on is retried at its next occurrence, with
//! Suricata's "no more matches" short-cuts and its inspection recursion limit of 3000); pcre
//! (relative or not, negated, cursor at the end of the match); isdataat; byte_test,
//! byte_jump, byte_extract and byte_math with all their options; bsize; urilen; dataset and
//! datarep (the whole buffer looked up in, added to or removed from a set). The load-time
//! rewrites Suricata applies to a list are applied too: `isdataat:!1,relative` after a
//! content becomes that content's `endswith`, and the "relative next" flags that decide
//! which keywords are retried are set from the keyword order exactly as the keyword setup
//! functions set them.
//! pcre captures (`(?P<pkt_name>..)`, `, flow:name`) go to the alert's context at once and
//! to packet and flow variables once the rule matches ([`Captures`]).
//! Never: reads outside the buffer, panics, or allocates per call (pcre2 match data comes
//! from the regex's own pool, capture locations from the scratch: allocated on a thread's
//! first use of a regex, reused after).
//!
//! Known differences from Suricata, all load-time: `DetectContentPropagateLimits` (mpm
//! hints: offset/depth derived for relative contents from the previous ones) is not
//! applied; it only narrows windows to bounds that already hold, except in chains with
//! negative distances. The pcre `E` flag (dollar-end-only) is emulated by rewriting `$` to
//! `\z` outside character classes (not applied with `m`, or when the expression switches
//! `m` on inline); `A` is emulated with a leading `\G` (or, when the expression is in
//! extended mode, by requiring the match to start at the start offset). pcre2's match
//! limits are set with the `(*LIMIT_MATCH=3500)(*LIMIT_DEPTH=1500)` pattern prefix, as
//! Suricata sets them through its match context; `O` keeps them (Suricata's `O` uses the
//! configured limits, which default to the same values). `dce` endianness is little endian
//! (there is no DCERPC state here; DCERPC is little endian in practice. Without DCERPC state
//! Suricata itself would read byte_test/byte_jump `dce` as big and byte_extract/byte_math
//! `dce` as little endian).

mod compile;
mod inspect;
#[cfg(test)]
mod tests;

use pcre2::bytes::Regex;

use crate::rule::ast::{Base64Decode, ByteExtract, ByteJump, ByteMath, ByteTest, Entropy, IsDataAt, Num, NumCmp};

pub(crate) use compile::end_shared_pcre;
pub use compile::{base64_data_of, compile, compile_rule_list, compile_with_dsize};
pub use inspect::inspect;
use inspect::Searcher;

/// Suricata's `detect.inspection-recursion-limit` default: keyword evaluations per buffer.
pub const INSPECTION_RECURSION_LIMIT: u32 = 3000;
/// Suricata's pcre match limit (`SC_MATCH_LIMIT_DEFAULT`).
pub const PCRE_MATCH_LIMIT: u32 = 3500;
/// Suricata's pcre recursion (depth) limit (`SC_MATCH_LIMIT_RECURSION_DEFAULT`).
pub const PCRE_DEPTH_LIMIT: u32 = 1500;
/// Largest |distance| / within Suricata accepts (`DETECT_CONTENT_VALUE_MAX`).
const CONTENT_VALUE_MAX: i64 = 1024 * 1024;
/// isdataat with a variable: values from here on are "very big" (match only when negated).
const ISDATAAT_VAR_MAX: u64 = 100_000_000;

/// Per-thread state for [`inspect`]: the recursion limit and what it cost.
#[derive(Debug, Clone)]
pub struct VerifyScratch {
    /// Keyword evaluations allowed per [`inspect`] call (Suricata's
    /// `detect.inspection-recursion-limit`, default [`INSPECTION_RECURSION_LIMIT`]).
    pub recursion_limit: u32,
    /// Inspections that stopped because they reached the limit.
    pub recursion_limit_hits: u64,
    /// Keyword evaluations of the last inspection.
    pub last_evaluations: u32,
    /// The dataset snapshots this worker reads (`dataset`, `datarep`).
    pub datasets: crate::detect::dataset::Views,
    /// What `base64_decode` decoded (reused).
    pub base64: Vec<u8>,
    /// The contexts of the JSON set entries the rule being inspected matched (`"key":{..}`,
    /// comma separated), and its pcre captures into alert variables (`"name":"value"`), for
    /// its alert; cleared before each rule.
    pub context: Vec<u8>,
    /// The last entropy an `entropy` keyword computed (Suricata keeps it as a flow variable
    /// named after the buffer, shown in EVE `metadata.entropy`): index 0 on the inspected
    /// buffer, 1 on a `base64_data` list inside it. Set by [`inspect`]; the caller takes them.
    pub entropy: [Option<f64>; 2],
    /// The rule's pcre captures into packet and flow variables, kept until it matches.
    pub caps: Captures,
}

/// Where a pcre capture goes (Suricata's `pkt:`, `flow:` and `alert:` variables).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapKind {
    /// A packet variable: EVE `metadata.pktvars` of the packet's alerts.
    Pkt,
    /// A flow variable: kept on the flow, EVE `metadata.flowvars`.
    Flow,
    /// An alert variable: the alert's `context`.
    Alert,
}

/// Packet and flow variables the rule being inspected captured, in reused buffers.
#[derive(Clone, Debug, Default)]
pub struct Captures {
    /// (kind, name start, value start, value end) into `bytes` (the name ends where the
    /// value starts).
    items: Vec<(CapKind, u32, u32, u32)>,
    bytes: Vec<u8>,
    /// Capture locations of each capturing expression that ran (by its code's address),
    /// made on first use and reused: one per such expression of the rule set.
    locs: Vec<(usize, pcre2::bytes::CaptureLocations)>,
}

impl Captures {
    /// No capture is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Forgets the captures (a new rule is inspected).
    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes.clear();
    }

    /// The captures, as (kind, name, value).
    pub fn iter(&self) -> impl Iterator<Item = (CapKind, &[u8], &[u8])> {
        self.items.iter().map(|&(k, n, v, e)| {
            let b = &self.bytes;
            (k, b.get(n as usize..v as usize).unwrap_or(&[]), b.get(v as usize..e as usize).unwrap_or(&[]))
        })
    }

    fn push(&mut self, kind: CapKind, name: &str, value: &[u8]) {
        let n = self.bytes.len() as u32;
        self.bytes.extend_from_slice(name.as_bytes());
        let v = self.bytes.len() as u32;
        self.bytes.extend_from_slice(value);
        self.items.push((kind, n, v, self.bytes.len() as u32));
    }
}

impl VerifyScratch {
    /// Starts the inspection of another rule: the previous one's context and captures go.
    pub fn clear_rule(&mut self) {
        self.context.clear();
        self.caps.clear();
    }
}

impl Default for VerifyScratch {
    fn default() -> Self {
        VerifyScratch {
            recursion_limit: INSPECTION_RECURSION_LIMIT,
            recursion_limit_hits: 0,
            last_evaluations: 0,
            datasets: Default::default(),
            base64: Vec::new(),
            context: Vec::new(),
            entropy: [None; 2],
            caps: Captures::default(),
        }
    }
}

/// A buffer's keyword list ready to run. A clone shares the keywords: an app rule's copies
/// for the protocols it applies to (an `http` rule's for HTTP/1 and HTTP/2) hold one list.
#[derive(Debug, Clone)]
pub struct CompiledList {
    /// Exact size: ET Open compiles some 55,000 lists, which stay for the engine's life
    /// (reached as a boxed slice would be: one pointer to the items).
    items: std::sync::Arc<[Item]>,
}

impl CompiledList {
    /// Number of keywords (after load-time rewrites such as `isdataat:!1,relative` ->
    /// `endswith`).
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// No keywords.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// One keyword. The large variant is boxed so that the common ones (contents) stay small:
/// an item is 88 bytes instead of the 192 of a pcre (see the size test).
#[derive(Debug)]
enum Item {
    Content(ContentItem),
    Pcre(Box<PcreItem>),
    ByteTest(ByteTest),
    ByteJump(ByteJump),
    ByteExtract(ByteExtract),
    ByteMath(ByteMath),
    IsDataAt(IsDataAt),
    Bsize(NumCmp),
    Urilen(NumCmp),
    Dataset(DatasetItem),
    Datarep(DatarepItem),
    Base64Decode(Base64Item),
    Entropy(Entropy),
}

/// `dataset`: the set, found or created at load.
#[derive(Debug)]
struct DatasetItem {
    set: std::sync::Arc<crate::detect::dataset::Dataset>,
    cmd: crate::rule::ast::DatasetCmd,
    subdomain: bool,
    /// JSON sets: `"<context_key>":`, what the alert's `context` holds the entry under
    /// (empty: no context).
    context_key: Box<[u8]>,
}

/// `datarep`.
#[derive(Debug)]
struct DatarepItem {
    set: std::sync::Arc<crate::detect::dataset::Dataset>,
    op: crate::rule::ast::RepOp,
    value: u16,
}

/// `base64_decode` and the rule's `base64_data` list it hands the decoded bytes to.
#[derive(Debug)]
struct Base64Item {
    d: Base64Decode,
    /// The `base64_data` list (none: the keyword never matches, as in Suricata).
    data: Option<Box<CompiledList>>,
}

impl Item {
    fn is_content_or_pcre(&self) -> bool {
        matches!(self, Item::Content(_) | Item::Pcre(_))
    }
    /// The keyword kinds the byte_*/isdataat setup functions look back to when `relative`
    /// is given outside a sticky buffer.
    fn is_relative_anchor(&self) -> bool {
        !matches!(
            self,
            Item::Bsize(_)
                | Item::Urilen(_)
                | Item::Dataset(_)
                | Item::Datarep(_)
                | Item::Entropy(_)
                | Item::Base64Decode(_)
        )
    }
}

#[derive(Debug)]
struct ContentItem {
    search: Searcher,
    negated: bool,
    /// DETECT_CONTENT_DISTANCE | DETECT_CONTENT_WITHIN.
    relative: bool,
    distance: Option<Num>,
    within: Option<Num>,
    /// Absolute offset: a variable, or the literal in `lit_offset`.
    offset_var: Option<u8>,
    depth_var: Option<u8>,
    /// `cd->offset` (literal).
    lit_offset: u32,
    /// `cd->depth` as Suricata stores it for a literal depth: offset + depth (a u16), or the
    /// depth alone when the offset is a variable; 0 = none.
    lit_depth: u32,
    /// `cd->depth` as the relative branch sees it (set by dsize propagation only); 0 = none.
    rel_depth: u32,
    ends_with: bool,
    /// DETECT_CONTENT_WITHIN_NEXT: retry this content when the rest fails.
    within_next: bool,
    /// DETECT_CONTENT_DISTANCE_NEXT.
    distance_next: bool,
    depth_flag: bool,
    offset_flag: bool,
    /// DETECT_CONTENT_IS_SINGLE, computed once the list is complete.
    single: bool,
}

struct PcreItem {
    /// The compiled expression, shared by every item of the rule set with the same expression
    /// and flags (ET Open: 7,679 pcre keywords, 3,658 distinct).
    code: std::sync::Arc<PcreCode>,
    expr: String,
    negated: bool,
    relative: bool,
    /// DETECT_PCRE_RELATIVE_NEXT: retry this pcre when the rest fails.
    relative_next: bool,
    /// `A` emulated by checking that the match starts at the start offset.
    anchor_check: bool,
    /// Where capture group n+1 goes: (kind, variable name).
    caps: Box<[(CapKind, Box<str>)]>,
}

/// A pcre expression as compiled (see [`compile::shared_pcre`]).
struct PcreCode {
    /// Compiled without JIT at load (validates the expression, small).
    re: Regex,
    /// The JIT-compiled form, built the first time the expression runs: most of a large
    /// rule set's expressions never run on a given network, and JIT code costs memory.
    jit: std::sync::OnceLock<Option<Regex>>,
    /// The expression as compiled, with its flags, to build the JIT form.
    pat: String,
    flags: [bool; 4],
}

impl std::fmt::Debug for PcreItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcreItem")
            .field("expr", &self.expr)
            .field("negated", &self.negated)
            .field("relative", &self.relative)
            .field("relative_next", &self.relative_next)
            .field("anchor_check", &self.anchor_check)
            .finish()
    }
}
