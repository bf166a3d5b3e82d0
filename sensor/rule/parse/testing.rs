//! Helpers shared by the parser's unit tests (in each keyword family's file).

use std::sync::OnceLock;

use super::{parse_rule, ParseContext};
use crate::rule::ast::{Buffer, BufferList, Content, PayloadMatch, Rule};
use crate::rule::keywords::Keywords;
use crate::rule::VarsConfig;
use crate::rule::{ErrorKind, RuleError};

/// The keyword table the sensor reads rules with.
pub(crate) fn keywords() -> &'static Keywords {
    static K: OnceLock<Keywords> = OnceLock::new();
    K.get_or_init(|| Keywords::new(crate::app::keywords()))
}

/// Default variables, origin `t.rules:7`.
pub(crate) fn ctx() -> ParseContext {
    let mut c = ParseContext::new(&VarsConfig::default());
    c.set_origin("t.rules", 7);
    c
}

/// A whole rule.
pub(crate) fn p(rule: &str) -> Result<Rule, RuleError> {
    parse_rule(rule, keywords(), &mut ctx())
}

/// `alert tcp any any -> any any (<opts> sid:1;)`
pub(crate) fn opts(o: &str) -> Result<Rule, RuleError> {
    p(&format!("alert tcp any any -> any any ({o} sid:1;)"))
}

/// The options parse.
pub(crate) fn ok(o: &str) -> Rule {
    match opts(o) {
        Ok(r) => r,
        Err(e) => panic!("{o}: {e}"),
    }
}

/// The options do not parse.
pub(crate) fn err(o: &str) -> RuleError {
    match opts(o) {
        Ok(_) => panic!("{o}: parsed"),
        Err(e) => e,
    }
}

/// The options are refused for a bad value of `kw`.
pub(crate) fn bad_value(o: &str, kw: &str) {
    let e = err(o);
    assert_eq!(e.kind, ErrorKind::BadValue(kw.into()), "{o}: {e}");
}

/// The list of buffer `b` (`payload` for the payload).
pub(crate) fn list<'a>(r: &'a Rule, b: &str) -> &'a BufferList {
    let want = if b == "payload" { Buffer::Payload } else { Buffer::Sticky(b.into()) };
    r.buffers.iter().find(|l| l.buffer == want).unwrap_or_else(|| panic!("no list {b}: {:?}", r.buffers))
}

/// The contents of a list.
pub(crate) fn contents(l: &BufferList) -> Vec<&Content> {
    l.matches.iter().filter_map(|m| if let PayloadMatch::Content(c) = m { Some(c) } else { None }).collect()
}

/// The first content of buffer `b`.
pub(crate) fn first_content(r: &Rule, b: &str) -> Content {
    contents(list(r, b)).first().map(|c| (*c).clone()).expect("a content")
}
