//! The state keywords of a rule: `flow`, `flowbits`, `flowint`, `hostbits` / `xbits`,
//! `iprep`, `threshold` and `detection_filter` (re-exported by [`super`]).

/// `flow` keyword options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FlowOpts {
    /// `to_server` / `from_client`
    pub to_server: bool,
    /// `to_client` / `from_server`
    pub to_client: bool,
    /// `established`
    pub established: bool,
    /// `not_established`
    pub not_established: bool,
    /// `stateless`
    pub stateless: bool,
    /// `only_stream`
    pub only_stream: bool,
    /// `no_stream`
    pub no_stream: bool,
    /// `only_frag`
    pub only_frag: bool,
    /// `no_frag`
    pub no_frag: bool,
}

/// `flowbits` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowbitCmd {
    /// `set`
    Set,
    /// `setother` (Picket: set on the flow; there is one flow per packet)
    SetOther,
    /// `unset`
    Unset,
    /// `toggle`
    Toggle,
    /// `isset`
    IsSet,
    /// `isnotset`
    IsNotSet,
}

/// How several flowbit names combine (`a|b` any, `a&b` all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowbitJoin {
    /// One name, or `&`: all.
    All,
    /// `|`: any.
    Any,
}

/// One `flowbits` keyword (`noalert` is [`Rule::noalert`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Flowbit {
    /// Command.
    pub cmd: FlowbitCmd,
    /// Flowbit names, as indexes into the rule set's flowbit name table.
    pub bits: Vec<u32>,
    /// `|` or `&`.
    pub join: FlowbitJoin,
}

/// `flowint` operation: a condition (`<`, `==`, `isset`, ...) or a change (`=`, `+`, `-`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowintOp {
    /// `=`
    Set,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `isset`
    IsSet,
    /// `notset` / `isnotset`
    IsNotSet,
}

impl FlowintOp {
    /// A change made when the rule matches (Suricata's post-match list), not a condition.
    pub fn is_change(self) -> bool {
        matches!(self, FlowintOp::Set | FlowintOp::Add | FlowintOp::Sub)
    }
}

/// What a `flowint` compares with or adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowintValue {
    /// Nothing (`isset`, `notset`).
    None,
    /// A number.
    Lit(u32),
    /// Another flowint, by index into the rule set's variable names (0 when unset).
    Var(u32),
}

/// One `flowint` keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flowint {
    /// The variable, by index into the rule set's variable names.
    pub var: u32,
    /// The operation.
    pub op: FlowintOp,
    /// Its operand.
    pub value: FlowintValue,
}

/// What an `xbits` / `hostbits` bit is kept on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XbitTrack {
    /// The packet's source host.
    Src,
    /// The packet's destination host.
    Dst,
    /// The pair of hosts (either order).
    Pair,
}

/// One `hostbits` or `xbits` keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Xbit {
    /// Command (`set`, `unset`, `toggle`, `isset`, `isnotset`; not `setother`).
    pub cmd: FlowbitCmd,
    /// The bit, by index into the rule set's variable names.
    pub var: u32,
    /// Where it is kept.
    pub track: XbitTrack,
    /// Seconds a set bit lives (hostbits: 300; xbits: `expire`, default 30).
    pub expire: u32,
    /// Written as `hostbits` (rather than `xbits`): Suricata orders rules by the two
    /// differently.
    pub hostbits: bool,
}

/// Which address of the packet `iprep` looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IprepSide {
    /// `any`: the source or the destination.
    Any,
    /// `src`
    Src,
    /// `dst`
    Dst,
    /// `both`: the source and the destination.
    Both,
}

/// What `iprep` asks of the reputation it finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IprepTest {
    /// `<op>,<value>`: the value compares (`<`, `<=`, `>`, `>=`, `=`, `!=`).
    Cmp(super::NumCmp),
    /// `isset`: the address has a value in the category.
    IsSet,
    /// `isnotset`: the address has no value in the category.
    IsNotSet,
}

/// One `iprep` keyword: `iprep:<side>,<category>,<op>,<value>` or `...,<category>,isset`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Iprep {
    /// Address(es) looked up.
    pub side: IprepSide,
    /// The category's short name, as written (resolved by the detection engine against the
    /// categories file).
    pub category: String,
    /// The category's number, set by the detection engine when it compiles the rule.
    pub cat: u8,
    /// The test.
    pub test: IprepTest,
}

/// threshold / detection_filter type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThresholdType {
    /// `limit`
    Limit,
    /// `threshold`
    Threshold,
    /// `both`
    Both,
    /// detection_filter
    DetectionFilter,
    /// `backoff`: alerts on the `count`-th match, then each time the match count reaches the
    /// previous alerting count times `multiplier` (1, 10, 100, ... for count 1, multiplier 10).
    /// Only with `track by_flow`; `seconds` is 0.
    Backoff,
}

/// What a threshold counts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Track {
    /// `by_src`
    BySrc,
    /// `by_dst`
    ByDst,
    /// `by_rule`
    ByRule,
    /// `by_both`
    ByBoth,
    /// `by_flow`
    ByFlow,
}

/// What a `detection_filter` counts distinct values of (`unique_on`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UniqueOn {
    /// `src_port`
    SrcPort,
    /// `dst_port`
    DstPort,
}

/// `threshold` or `detection_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Threshold {
    /// Type.
    pub kind: ThresholdType,
    /// Tracking.
    pub track: Track,
    /// Count.
    pub count: u32,
    /// Seconds (0 for `backoff`).
    pub seconds: u32,
    /// `multiplier` of `type backoff`; 1 for every other type.
    pub multiplier: u32,
    /// `detection_filter ... unique_on`: count distinct ports, not matches.
    pub unique_on: Option<UniqueOn>,
}
