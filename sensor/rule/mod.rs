//! Rule: the Suricata rule language, from text to typed [`ast::Rule`]s.
//!
//! Takes: rule files (or folders of `*.rules`), the keyword table to read them with
//! ([`Keywords`]: the language's own keywords composed with the app layer's), the
//! address/port variables of the config, and `classification.config` / `reference.config`
//! found beside the rules. Promises: every rule either becomes a typed [`ast::Rule`] or a
//! [`RuleError`] naming file, line, sid and reason; one bad rule never stops the file or the
//! set. Parsing is load-time only; what runs per packet is the header keywords' tests bound
//! into the rule ([`ast::PacketMatch::matches`]): pure functions of the packet that never
//! allocate.
//! Never: panics on rule text, however long or malformed.
//!
//! Layout: `load` (files, folders, configs), `parse` (one rule: header, options, whole-rule
//! checks), `keywords` (the keyword table, one file per keyword family, each row with its
//! setup, description and documentation link), [`ast`] (the typed rule).

pub mod ast;
mod classification;
mod keywords;
mod load;
mod parse;
pub(crate) mod threshold_config;
mod vars;
mod vars_config;

pub use keywords::packet::event::APP_LAYER_EVENT;
pub use keywords::{AppKeyword, AppKind, Arg, Keyword, Keywords, Kind};
pub use load::{load_rules, load_rules_each};
pub(crate) use parse::numbers::parse_uint_cmp;
pub use parse::{parse_rule, ParseContext};
pub use vars_config::VarsConfig;

use std::fmt;

/// Why a rule was not loaded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The text is not a rule (quotes, parentheses, header fields, ...).
    Syntax,
    /// A keyword the parser does not know (the name is given).
    UnknownKeyword(String),
    /// A keyword that is known but whose value is invalid (the keyword is given).
    BadValue(String),
    /// A `$VAR` that is not defined.
    UndefinedVariable(String),
    /// Variables that refer to each other in a loop.
    CircularVariable(String),
    /// A second rule with the same gid:sid (the later one is skipped).
    DuplicateSid,
    /// No `sid`.
    MissingSid,
    /// Known to the parser but not (yet) supported by detection: the feature is named (e.g.
    /// `buffer http.uri`, `app-layer protocol dns`, `keyword lua`). Set by the detect stage.
    Unsupported(String),
}

impl ErrorKind {
    /// A short label for grouping in reports (`unknown keyword: lua`, `syntax`, ...).
    pub fn label(&self) -> String {
        match self {
            ErrorKind::Syntax => "syntax error".into(),
            ErrorKind::UnknownKeyword(k) => format!("unknown keyword: {k}"),
            ErrorKind::BadValue(k) => format!("bad value for: {k}"),
            ErrorKind::UndefinedVariable(v) => format!("undefined variable: {v}"),
            ErrorKind::CircularVariable(v) => format!("circular variable: {v}"),
            ErrorKind::DuplicateSid => "duplicate sid".into(),
            ErrorKind::MissingSid => "missing sid".into(),
            ErrorKind::Unsupported(f) => format!("unsupported: {f}"),
        }
    }
}

/// A rule that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// File.
    pub file: String,
    /// Line (first line of the rule), 1-based.
    pub line: usize,
    /// The rule's sid, when it could be read.
    pub sid: Option<u32>,
    /// Category.
    pub kind: ErrorKind,
    /// Human-readable reason.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sid {
            Some(sid) => write!(f, "{}:{}: sid {}: {}", self.file, self.line, sid, self.message),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.message),
        }
    }
}

impl std::error::Error for RuleError {}

/// The names of the flow variables a rule set uses, by number: EVE's `metadata` object names
/// them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VarNames {
    /// Flowbit names; [`ast::Flowbit::bits`] index this table.
    pub flowbits: Vec<String>,
    /// `flowint` variable names; [`ast::Flowint::var`] indexes this table.
    pub flowints: Vec<String>,
}

/// A loaded rule set: what [`load_rules`] returns.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    /// Rules that parsed, in load order (files in the order given, folders in name order).
    pub rules: Vec<ast::Rule>,
    /// Rules (and files) that could not be used, with why.
    pub errors: Vec<RuleError>,
    /// Flowbit and flowint names.
    pub var_names: VarNames,
    /// Rule files read.
    pub files: usize,
}
