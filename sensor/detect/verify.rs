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
//! byte_jump, byte_extract and byte_math with all their options; bsize; urilen. The load-time
//! rewrites Suricata applies to a list are applied too: `isdataat:!1,relative` after a
//! content becomes that content's `endswith`, and the "relative next" flags that decide
//! which keywords are retried are set from the keyword order exactly as the keyword setup
//! functions set them.
//! Never: reads outside the buffer, panics, or allocates per call (pcre2 match data comes
//! from the regex's own pool: allocated on a thread's first use of a regex, reused after).
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

use pcre2::bytes::{Regex, RegexBuilder};

use crate::rule::ast::{
    Buffer, BufferList, ByteEndian, ByteExtract, ByteJump, ByteMath, ByteOp, ByteTest, Content, IsDataAt, MathOp, Num,
    NumCmp, PayloadMatch, Pcre, StringBase, MAX_VARS,
};

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
}

impl Default for VerifyScratch {
    fn default() -> Self {
        VerifyScratch { recursion_limit: INSPECTION_RECURSION_LIMIT, recursion_limit_hits: 0, last_evaluations: 0 }
    }
}

/// A buffer's keyword list ready to run.
#[derive(Debug)]
pub struct CompiledList {
    items: Vec<Item>,
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

#[derive(Debug)]
enum Item {
    Content(ContentItem),
    Pcre(PcreItem),
    ByteTest(ByteTest),
    ByteJump(ByteJump),
    ByteExtract(ByteExtract),
    ByteMath(ByteMath),
    IsDataAt(IsDataAt),
    Bsize(NumCmp),
    Urilen(NumCmp),
}

impl Item {
    fn is_content_or_pcre(&self) -> bool {
        matches!(self, Item::Content(_) | Item::Pcre(_))
    }
    /// The keyword kinds the byte_*/isdataat setup functions look back to when `relative`
    /// is given outside a sticky buffer.
    fn is_relative_anchor(&self) -> bool {
        !matches!(self, Item::Bsize(_) | Item::Urilen(_))
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
    /// Compiled without JIT at load (validates the expression, small).
    re: Regex,
    /// The JIT-compiled form, built the first time the expression runs: most of a large
    /// rule set's expressions never run on a given network, and JIT code costs memory.
    jit: std::sync::OnceLock<Option<Regex>>,
    /// The expression as compiled, with its flags, to build the JIT form.
    pat: String,
    flags: [bool; 4],
    expr: String,
    negated: bool,
    relative: bool,
    /// DETECT_PCRE_RELATIVE_NEXT: retry this pcre when the rest fails.
    relative_next: bool,
    /// `A` emulated by checking that the match starts at the start offset.
    anchor_check: bool,
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

/// Compiles a buffer's keyword list (see [`compile_with_dsize`]).
pub fn compile(list: &BufferList) -> Result<CompiledList, String> {
    compile_with_dsize(list, None)
}

/// Compiles a buffer's keyword list, applying the rule's `dsize` to the payload's contents
/// as Suricata does (`SigParseApplyDsizeToContent`: `dsize:N`, `<N`, `!N` and `A<>B` give
/// every literal content a depth of at most N, resp. B; note that for `!N` this does limit
/// where contents are found).
///
/// Errors (the rule does not load in Suricata either): a pcre that does not compile (the
/// message names the expression and pcre2's reason), `/R` on the packet payload without a
/// preceding content or pcre, a content mixing relative (distance/within) and absolute
/// (offset/depth/startswith) modifiers, depth or within smaller than the content, `bsize` on
/// the packet payload, values out of Suricata's ranges, an empty content, a variable slot past
/// [`MAX_VARS`].
pub fn compile_with_dsize(list: &BufferList, dsize: Option<&NumCmp>) -> Result<CompiledList, String> {
    let sticky = list.buffer != Buffer::Payload;
    let mut items: Vec<Item> = Vec::with_capacity(list.matches.len());
    for m in &list.matches {
        match m {
            PayloadMatch::Content(c) => {
                let it = compile_content(c)?;
                // detect-within.c / detect-distance.c: flag the previous content or pcre of the
                // same list.
                if it.relative {
                    if let Some(p) = last_index(&items, Item::is_content_or_pcre) {
                        // In bounds: p is a position rposition found in items, which only grows.
                        match &mut items[p] {
                            Item::Content(pc) => {
                                if it.within.is_some() {
                                    pc.within_next = true;
                                }
                                if it.distance.is_some() {
                                    if it.negated {
                                        // DETECT_CONTENT_RELATIVE_NEXT
                                        pc.within_next = true;
                                    }
                                    pc.distance_next = true;
                                }
                            }
                            Item::Pcre(pp) => pp.relative_next = true,
                            _ => {}
                        }
                    }
                }
                items.push(Item::Content(it));
            }
            PayloadMatch::Pcre(p) => {
                let it = compile_pcre(p)?;
                if it.relative {
                    // detect-pcre.c DetectPcreSetup: previous content/pcre of the same list.
                    match last_index(&items, Item::is_content_or_pcre) {
                        // In bounds: i is a position rposition found in items, which only grows.
                        Some(i) => set_relative_next(&mut items[i]),
                        None if !sticky => {
                            return Err(format!(
                                "pcre \"{}\" with /R (relative) needs a preceding match in the same buffer",
                                p.expr
                            ))
                        }
                        None => {}
                    }
                }
                items.push(Item::Pcre(it));
            }
            PayloadMatch::ByteTest(t) => {
                check_num(&t.offset, "byte_test offset")?;
                check_num(&t.value, "byte_test value")?;
                let anchor = if t.relative { relative_anchor(&items, sticky) } else { None };
                items.push(Item::ByteTest(t.clone()));
                if let Some(i) = anchor {
                    // In bounds: i is a position relative_anchor found in items before the push.
                    set_relative_next(&mut items[i]);
                }
            }
            PayloadMatch::ByteJump(j) => {
                check_num(&j.offset, "byte_jump offset")?;
                let anchor = if j.relative { relative_anchor(&items, sticky) } else { None };
                items.push(Item::ByteJump(j.clone()));
                if let Some(i) = anchor {
                    // In bounds: i is a position relative_anchor found in items before the push.
                    set_relative_next(&mut items[i]);
                }
            }
            PayloadMatch::ByteExtract(e) => {
                check_slot(e.var, "byte_extract variable")?;
                let anchor = if e.relative { relative_anchor(&items, sticky) } else { None };
                items.push(Item::ByteExtract(e.clone()));
                if let Some(i) = anchor {
                    // In bounds: i is a position relative_anchor found in items before the push.
                    set_relative_next(&mut items[i]);
                }
            }
            PayloadMatch::ByteMath(b) => {
                check_slot(b.result, "byte_math result")?;
                check_num(&b.rvalue, "byte_math rvalue")?;
                let anchor = if b.relative { relative_anchor(&items, sticky) } else { None };
                items.push(Item::ByteMath(b.clone()));
                if let Some(i) = anchor {
                    // In bounds: i is a position relative_anchor found in items before the push.
                    set_relative_next(&mut items[i]);
                }
            }
            PayloadMatch::IsDataAt(d) => {
                check_num(&d.offset, "isdataat")?;
                if let Num::Lit(v) = d.offset {
                    if !(0..=65535).contains(&v) {
                        return Err(format!("isdataat out of range: {v}"));
                    }
                }
                let anchor = if d.relative { relative_anchor(&items, sticky) } else { None };
                // detect-isdataat.c: `isdataat:!1,relative` right after a content is that
                // content's endswith (Suricata compares the raw field, so a variable in slot 1
                // counts as 1 too).
                let one = matches!(d.offset, Num::Lit(1) | Num::Var(1));
                if let Some(i) = anchor {
                    if one && d.negated && d.relative {
                        // In bounds: i is a position relative_anchor found in items.
                        if let Item::Content(c) = &mut items[i] {
                            c.ends_with = true;
                            continue;
                        }
                    }
                }
                items.push(Item::IsDataAt(d.clone()));
                if let Some(i) = anchor {
                    // In bounds: i is a position relative_anchor found in items before the push.
                    set_relative_next(&mut items[i]);
                }
            }
            PayloadMatch::Bsize(n) => {
                // detect-bsize.c: bsize needs a sticky buffer
                if !sticky {
                    return Err("bsize needs a sticky buffer, not the packet payload".into());
                }
                items.push(Item::Bsize(*n))
            }
            PayloadMatch::Urilen(n) => items.push(Item::Urilen(*n)),
        }
    }
    if !sticky {
        if let Some(max) = dsize.and_then(dsize_max) {
            for it in items.iter_mut() {
                if let Item::Content(c) = it {
                    apply_dsize(c, max);
                }
            }
        }
    }
    for it in items.iter_mut() {
        if let Item::Content(c) = it {
            c.single = !(c.relative || c.within_next || c.distance_next || c.depth_flag || c.offset_flag);
        }
    }
    Ok(CompiledList { items })
}

/// `SigParseGetMaxDsize`: the depth a dsize gives contents, if any.
fn dsize_max(n: &NumCmp) -> Option<u32> {
    match *n {
        NumCmp::Lt(v) | NumCmp::Eq(v) | NumCmp::Ne(v) => Some(v.min(65535) as u32),
        NumCmp::Range(_, b) => Some(b.min(65535) as u32),
        _ => None,
    }
}

/// `SigParseApplyDsizeToContent` for one content. Contents whose offset or depth is a
/// variable are left alone (Suricata would overwrite the variable's index).
fn apply_dsize(c: &mut ContentItem, max: u32) {
    if c.offset_var.is_some() || c.depth_var.is_some() {
        return;
    }
    if c.relative {
        if c.rel_depth == 0 || c.rel_depth >= max {
            c.rel_depth = max;
            c.depth_flag = true;
        }
    } else if c.lit_depth == 0 || c.lit_depth >= max {
        c.lit_depth = max;
        c.depth_flag = true;
    }
}

fn last_index(items: &[Item], f: impl Fn(&Item) -> bool) -> Option<usize> {
    items.iter().rposition(f)
}

/// The keyword a relative byte_*/isdataat is anchored to at setup: in the packet payload
/// the last content/pcre/byte_*/isdataat, in a sticky buffer the last content/pcre.
fn relative_anchor(items: &[Item], sticky: bool) -> Option<usize> {
    if sticky {
        last_index(items, Item::is_content_or_pcre)
    } else {
        last_index(items, Item::is_relative_anchor)
    }
}

/// DETECT_CONTENT_RELATIVE_NEXT on a content, DETECT_PCRE_RELATIVE_NEXT on a pcre.
fn set_relative_next(it: &mut Item) {
    match it {
        Item::Content(c) => {
            c.within_next = true;
            c.distance_next = true;
        }
        Item::Pcre(p) => p.relative_next = true,
        _ => {}
    }
}

fn check_slot(slot: u8, what: &str) -> Result<(), String> {
    if (slot as usize) < MAX_VARS {
        Ok(())
    } else {
        Err(format!("{what}: variable slot {slot} out of range"))
    }
}

fn check_num(n: &Num, what: &str) -> Result<(), String> {
    match *n {
        Num::Var(s) => check_slot(s, what),
        Num::Lit(_) => Ok(()),
    }
}

fn compile_content(c: &Content) -> Result<ContentItem, String> {
    let len = c.pattern.len() as i64;
    if len == 0 {
        return Err("content: empty pattern".into());
    }
    if len > 65535 {
        return Err("content: pattern longer than 65535 bytes".into());
    }
    for (n, what) in [(&c.offset, "offset"), (&c.depth, "depth"), (&c.distance, "distance"), (&c.within, "within")] {
        if let Some(n) = n {
            check_num(n, what)?;
        }
    }
    let relative = c.is_relative();
    if relative && (c.offset.is_some() || c.depth.is_some() || c.startswith) {
        return Err("can't use a relative keyword like within/distance with an absolute keyword like \
                    depth/offset/startswith for the same content"
            .into());
    }
    if c.startswith && c.depth.is_some() {
        return Err("can't use multiple depth/startswith settings for the same content".into());
    }
    if c.startswith && c.offset.is_some() {
        return Err("can't use offset with startswith".into());
    }
    if let Some(Num::Lit(w)) = c.within {
        if w < len {
            return Err(format!("within {w} is less than the content length {len}"));
        }
        if w > CONTENT_VALUE_MAX {
            return Err(format!("within {w} out of range"));
        }
    }
    if let Some(Num::Lit(d)) = c.distance {
        if d.abs() > CONTENT_VALUE_MAX {
            return Err(format!("distance {d} out of range"));
        }
    }
    let mut lit_offset = 0u32;
    let mut offset_var = None;
    match c.offset {
        Some(Num::Lit(o)) => {
            if !(0..=65535).contains(&o) {
                return Err(format!("offset {o} out of range"));
            }
            lit_offset = o as u32;
        }
        Some(Num::Var(s)) => offset_var = Some(s),
        None => {}
    }
    let mut lit_depth = 0u32;
    let mut depth_var = None;
    match c.depth {
        Some(Num::Lit(d)) => {
            if !(0..=65535).contains(&d) {
                return Err(format!("depth {d} out of range"));
            }
            if d < len {
                return Err(format!("depth {d} is smaller than the content length {len}"));
            }
            // detect-depth.c: the stored depth is relative to the offset (a u16 sum).
            lit_depth = if offset_var.is_some() { d as u32 } else { (d as u32 + lit_offset) & 0xffff };
        }
        Some(Num::Var(s)) => depth_var = Some(s),
        None => {}
    }
    if c.startswith {
        // detect-startswith.c: depth = content length.
        lit_depth = len as u32;
    }
    Ok(ContentItem {
        search: Searcher::new(&c.pattern, c.nocase),
        negated: c.negated,
        relative,
        distance: c.distance,
        within: c.within,
        offset_var,
        depth_var,
        lit_offset,
        lit_depth,
        rel_depth: 0,
        ends_with: c.endswith,
        within_next: false,
        distance_next: false,
        depth_flag: c.depth.is_some() || c.startswith,
        offset_flag: c.offset.is_some(),
        single: false,
    })
}

fn compile_pcre(p: &Pcre) -> Result<PcreItem, String> {
    let (verbs, body) = split_leading_verbs(&p.expr);
    let mut pat = String::with_capacity(p.expr.len() + 64);
    pat.push_str(&format!("(*LIMIT_MATCH={PCRE_MATCH_LIMIT})(*LIMIT_DEPTH={PCRE_DEPTH_LIMIT})"));
    pat.push_str(verbs);
    if p.ungreedy {
        pat.push_str("(?U)");
    }
    let body: std::borrow::Cow<'_, str> = if p.dollar_endonly && !p.multiline && !inline_sets(body, 'm') {
        rewrite_dollar_endonly(body).into()
    } else {
        body.into()
    };
    // `A`: anchored at the start offset. A leading \G inside a non-capturing group is the
    // same; in extended mode a trailing comment could swallow the closing parenthesis, so
    // there the start of the match is checked instead.
    let mut anchor_check = false;
    if p.anchored {
        if p.extended || inline_sets(&body, 'x') {
            anchor_check = true;
            pat.push_str(&body);
        } else {
            pat.push_str("\\G(?:");
            pat.push_str(&body);
            pat.push(')');
        }
    } else {
        pat.push_str(&body);
    }
    let flags = [p.caseless, p.dotall, p.extended, p.multiline];
    let re = build_pcre(&pat, flags, false).map_err(|e| format!("pcre \"{}\" failed to compile: {}", p.expr, e))?;
    Ok(PcreItem {
        re,
        jit: std::sync::OnceLock::new(),
        pat,
        flags,
        expr: p.expr.clone(),
        negated: p.negated,
        relative: p.relative,
        relative_next: false,
        anchor_check,
    })
}

fn build_pcre(pat: &str, f: [bool; 4], jit: bool) -> Result<Regex, pcre2::Error> {
    RegexBuilder::new().caseless(f[0]).dotall(f[1]).extended(f[2]).multi_line(f[3]).jit_if_available(jit).build(pat)
}

/// Splits the start-of-pattern items `(*UTF)`, `(*CRLF)`, `(*LIMIT_MATCH=n)`, ... from the
/// rest: they must stay in front of anything this module adds.
fn split_leading_verbs(expr: &str) -> (&str, &str) {
    let b = expr.as_bytes();
    let mut i = 0;
    // In bounds: b.len() >= i + 3 is tested first. b[i + 1] is '*', so the ')' found is at
    // end >= 2, and i + end < b.len().
    while b.len() >= i + 3 && b[i] == b'(' && b[i + 1] == b'*' {
        let Some(end) = b[i..].iter().position(|&c| c == b')') else { break };
        let inner = &b[i + 2..i + end];
        if inner.is_empty()
            || !inner.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_' || *c == b'=')
        {
            break;
        }
        i += end + 1;
    }
    expr.split_at(i)
}

/// Whether the expression switches option `opt` on with an inline `(?...)` setting.
fn inline_sets(expr: &str, opt: char) -> bool {
    let b = expr.as_bytes();
    let mut i = 0;
    while i + 2 < b.len() {
        // In bounds: i + 2 < b.len() (loop condition).
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == b'(' && b[i + 1] == b'?' {
            let mut j = i + 2;
            // In bounds: j < b.len() is tested first.
            while j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'^') {
                if b[j] == opt as u8 {
                    return true;
                }
                j += 1;
            }
            // `(?-m)` switches it off; a `-` ends the "on" part.
        }
        i += 1;
    }
    false
}

/// PCRE2_DOLLAR_ENDONLY: `$` outside character classes becomes `\z`.
fn rewrite_dollar_endonly(expr: &str) -> String {
    let b = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 8);
    let mut i = 0;
    let mut start = 0;
    while i < b.len() {
        // In bounds: i < b.len() (loop condition).
        match b[i] {
            b'\\' => {
                if b.get(i + 1) == Some(&b'Q') {
                    // literal until \E
                    i += 2;
                    // In bounds: i < b.len() is tested first.
                    while i < b.len() && !(b[i] == b'\\' && b.get(i + 1) == Some(&b'E')) {
                        i += 1;
                    }
                    i = (i + 2).min(b.len());
                } else {
                    i += 2;
                }
            }
            b'[' => {
                // character class: `]` right after `[` or `[^` is literal
                i += 1;
                if b.get(i) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i) == Some(&b']') {
                    i += 1;
                }
                // In bounds: i < b.len() is tested first.
                while i < b.len() && b[i] != b']' {
                    if b[i] == b'\\' {
                        i += 2;
                    } else if b[i] == b'[' && b.get(i + 1) == Some(&b':') {
                        // POSIX class [:name:]
                        // In bounds: b.get(i + 1) is Some, so i + 2 <= b.len().
                        match b[i + 2..].windows(2).position(|w| w == b":]") {
                            Some(p) => i += 2 + p + 2,
                            None => i += 1,
                        }
                    } else {
                        i += 1;
                    }
                }
                i += 1;
            }
            b'$' => {
                // In bounds: start <= i < b.len(), and both sit next to an ASCII '$' (char boundaries).
                out.push_str(&expr[start..i]);
                out.push_str("\\z");
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    // In bounds: start is 0 or just past an ASCII '$' (a char boundary), and min caps it.
    out.push_str(&expr[start.min(expr.len())..]);
    out
}

/// Substring search, ASCII case-insensitive when `nocase` (first occurrence, as Suricata's
/// single-pattern matchers return). No per-pattern tables: a large rule set holds hundreds of
/// thousands of these, and SIMD byte search (memchr) is fast without them.
#[derive(Debug)]
struct Searcher {
    /// The pattern, lowercased for nocase.
    pat: Box<[u8]>,
    nocase: bool,
}

impl Searcher {
    fn new(p: &[u8], nocase: bool) -> Searcher {
        let pat: Box<[u8]> = if nocase { p.to_ascii_lowercase().into() } else { p.into() };
        Searcher { pat, nocase }
    }

    fn len(&self) -> usize {
        self.pat.len()
    }

    fn find(&self, hay: &[u8]) -> Option<usize> {
        let m = self.pat.len();
        if m == 0 || m > hay.len() {
            return None;
        }
        if !self.nocase {
            return memchr::memmem::find(hay, &self.pat);
        }
        // In bounds: 0 < m <= hay.len() (checked above), and try_at tests i <= last_start
        // before slicing hay[i + 1..i + m].
        let c = self.pat[0];
        let last_start = hay.len() - m;
        let try_at = |i: usize| i <= last_start && self.eq_prefix(&hay[i + 1..i + m]);
        if c.is_ascii_lowercase() {
            memchr::memchr2_iter(c, c.to_ascii_uppercase(), &hay[..=last_start]).find(|&i| try_at(i))
        } else {
            memchr::memchr_iter(c, &hay[..=last_start]).find(|&i| try_at(i))
        }
    }

    /// Whether `w` equals the pattern after its first byte (nocase).
    #[inline]
    fn eq_prefix(&self, w: &[u8]) -> bool {
        // In bounds: only try_at calls this, after find returned on an empty pattern.
        w.iter().zip(self.pat[1..].iter()).all(|(&a, &b)| a.to_ascii_lowercase() == b)
    }
}

/// Runs the list over `buf`; true when every keyword matched (with backtracking) as in
/// Suricata. `vars` holds the rule's byte_extract/byte_math values (read through
/// [`Num::Var`], written by those keywords; values are u64 bit patterns). An empty list
/// matches.
pub fn inspect(list: &CompiledList, buf: &[u8], vars: &mut [i64; MAX_VARS], scratch: &mut VerifyScratch) -> bool {
    if list.items.is_empty() {
        return true;
    }
    // Suricata's buffer lengths are 32-bit.
    // In bounds: the end is at most buf.len() (min).
    let buf = &buf[..buf.len().min(u32::MAX as usize)];
    let mut ix = Inspector {
        items: &list.items,
        buf,
        len: buf.len() as u32,
        vars,
        buffer_offset: 0,
        pcre_match_start: 0,
        count: 0,
        limit: scratch.recursion_limit,
    };
    let r = ix.run(0);
    scratch.last_evaluations = ix.count;
    if ix.limit != 0 && ix.count >= ix.limit {
        scratch.recursion_limit_hits += 1;
    }
    r == 1
}

/// Result codes of `DetectEngineContentInspectionInternal`.
const MATCH: i32 = 1;
const NO_MATCH: i32 = 0;
const DISCONTINUE: i32 = -1;

struct Inspector<'a> {
    items: &'a [Item],
    buf: &'a [u8],
    len: u32,
    vars: &'a mut [i64; MAX_VARS],
    /// det_ctx->buffer_offset
    buffer_offset: u32,
    /// det_ctx->pcre_match_start_offset
    pcre_match_start: u32,
    count: u32,
    limit: u32,
}

impl Inspector<'_> {
    #[inline]
    fn var(&self, slot: u8) -> u64 {
        self.vars.get(slot as usize).copied().unwrap_or(0) as u64
    }

    #[inline]
    fn set_var(&mut self, slot: u8, v: u64) {
        if let Some(x) = self.vars.get_mut(slot as usize) {
            *x = v as i64;
        }
    }

    /// (int32_t) of a literal or a variable, as the byte_* keywords cast offsets.
    #[inline]
    fn num_i32(&self, n: Num) -> i32 {
        match n {
            Num::Lit(v) => v as i32,
            Num::Var(s) => self.var(s) as i32,
        }
    }

    /// The `match:` label: go on with the next keyword, or report the list matched.
    fn matched(&mut self, idx: usize) -> i32 {
        if idx + 1 >= self.items.len() {
            MATCH
        } else {
            self.run(idx + 1)
        }
    }

    fn run(&mut self, idx: usize) -> i32 {
        self.count = self.count.wrapping_add(1);
        if self.count == self.limit {
            return DISCONTINUE;
        }
        let items = self.items;
        let Some(item) = items.get(idx) else { return NO_MATCH };
        match item {
            Item::Content(c) => self.content(idx, c),
            Item::Pcre(p) => self.pcre(idx, p),
            Item::IsDataAt(d) => self.isdataat(idx, d),
            Item::ByteTest(t) => {
                if self.byte_test(t) {
                    self.matched(idx)
                } else {
                    NO_MATCH
                }
            }
            Item::ByteJump(j) => {
                if self.byte_jump(j) {
                    self.matched(idx)
                } else {
                    NO_MATCH
                }
            }
            Item::ByteExtract(e) => {
                if self.byte_extract(e) {
                    self.matched(idx)
                } else {
                    NO_MATCH
                }
            }
            Item::ByteMath(m) => {
                if self.byte_math(m) {
                    self.matched(idx)
                } else {
                    NO_MATCH
                }
            }
            Item::Bsize(n) => {
                if n.matches(self.len as u64) {
                    self.matched(idx)
                } else {
                    DISCONTINUE
                }
            }
            Item::Urilen(n) => {
                if n.matches(self.len.min(u16::MAX as u32) as u64) {
                    self.matched(idx)
                } else {
                    DISCONTINUE
                }
            }
        }
    }

    fn content(&mut self, idx: usize, c: &ContentItem) -> i32 {
        let buffer_len = self.len;
        let saved_buffer_offset = self.buffer_offset;
        let mut prev_offset: u32 = 0;
        let clen = c.search.len() as u32;
        loop {
            let mut depth: u32 = buffer_len;
            let mut offset: u32;
            if c.relative {
                let prev_buffer_offset = saved_buffer_offset;
                offset = prev_buffer_offset;
                let mut distance: i32 = 0;
                if let Some(d) = c.distance {
                    distance = match d {
                        Num::Lit(v) => v as i32,
                        Num::Var(s) => self.var(s) as u32 as i32,
                    };
                    if distance < 0 && distance.unsigned_abs() > offset {
                        offset = 0;
                    } else {
                        offset = offset.wrapping_add(distance as u32);
                    }
                }
                if let Some(w) = c.within {
                    let w32 = match w {
                        Num::Lit(v) => v as i32 as u32,
                        Num::Var(s) => self.var(s) as u32,
                    };
                    let lim = prev_buffer_offset.wrapping_add(w32).wrapping_add(distance as u32);
                    if (depth as i32) > (lim as i32) {
                        depth = lim;
                    }
                }
                if c.rel_depth != 0 && c.rel_depth.wrapping_add(prev_buffer_offset) < depth {
                    depth = prev_buffer_offset.wrapping_add(c.rel_depth);
                }
            } else {
                match c.depth_var {
                    Some(s) => depth = self.var(s) as u32,
                    None => {
                        if c.lit_depth != 0 {
                            depth = c.lit_depth;
                        }
                    }
                }
                offset = match c.offset_var {
                    Some(s) => self.var(s) as u32,
                    None => c.lit_offset,
                };
            }
            if c.offset_var.is_some() || c.depth_var.is_some() {
                depth = depth.wrapping_add(offset);
            }
            if prev_offset != 0 {
                offset = prev_offset;
            }
            if depth > buffer_len {
                depth = buffer_len;
            }
            if offset > depth || depth == 0 {
                return if c.negated { self.matched(idx) } else { NO_MATCH };
            }
            let sbuffer_len = depth - offset;
            let found = if (c.ends_with && depth < buffer_len) || clen > sbuffer_len {
                None
            } else {
                // In bounds: depth <= buffer_len = buf.len() and offset <= depth (both checked above).
                c.search.find(&self.buf[offset as usize..depth as usize]).map(|p| p as u32 + offset)
            };
            let Some(pos) = found else {
                if !c.negated {
                    // an independent content that is not there: nothing else can help
                    return if c.relative { NO_MATCH } else { DISCONTINUE };
                }
                return self.matched(idx);
            };
            let match_offset = pos + clen;
            if c.negated {
                // Suricata compares the window length with the absolute end of the match.
                if c.ends_with && sbuffer_len != match_offset {
                    return self.matched(idx);
                }
                return if c.single { DISCONTINUE } else { NO_MATCH };
            }
            self.buffer_offset = match_offset;
            if !c.ends_with || match_offset == buffer_len {
                if idx + 1 >= self.items.len() {
                    return MATCH;
                }
                let r = self.run(idx + 1);
                if r == MATCH {
                    return MATCH;
                }
                if r == DISCONTINUE {
                    return DISCONTINUE;
                }
                if !c.within_next {
                    return DISCONTINUE;
                }
            }
            prev_offset = match_offset - (clen - 1);
        }
    }

    fn pcre(&mut self, idx: usize, p: &PcreItem) -> i32 {
        let prev_buffer_offset = self.buffer_offset;
        self.pcre_match_start = 0;
        loop {
            if !self.pcre_payload_match(p) {
                return NO_MATCH;
            }
            if !p.relative_next || idx + 1 >= self.items.len() {
                return self.matched(idx);
            }
            let prev_offset = self.pcre_match_start;
            let r = self.run(idx + 1);
            if r == MATCH {
                return MATCH;
            }
            if r == DISCONTINUE {
                return DISCONTINUE;
            }
            if prev_offset == 0 {
                // negated pcre: no other occurrence to try
                return NO_MATCH;
            }
            self.buffer_offset = prev_buffer_offset;
            self.pcre_match_start = prev_offset;
        }
    }

    /// DetectPcrePayloadMatch.
    fn pcre_payload_match(&mut self, p: &PcreItem) -> bool {
        let base = if p.relative { (self.buffer_offset as usize).min(self.buf.len()) } else { 0 };
        // In bounds: base <= buf.len() (min, or 0).
        let subject = &self.buf[base..];
        let start: i64 = if self.pcre_match_start != 0 { self.pcre_match_start as i64 - base as i64 } else { 0 };
        if start < 0 || start as usize > subject.len() {
            // PCRE2_ERROR_BADOFFSET: a matching error, no match either way
            return false;
        }
        let start = start as usize;
        let re = p.jit.get_or_init(|| build_pcre(&p.pat, p.flags, true).ok()).as_ref().unwrap_or(&p.re);
        match re.find_at(subject, start) {
            Err(_) => false,
            Ok(m) => {
                let m = m.filter(|m| !p.anchor_check || m.start() == start);
                match m {
                    None => p.negated,
                    Some(_) if p.negated => false,
                    Some(m) => {
                        self.buffer_offset = (base + m.end()) as u32;
                        self.pcre_match_start = (base + m.start() + 1) as u32;
                        true
                    }
                }
            }
        }
    }

    fn isdataat(&mut self, idx: usize, d: &IsDataAt) -> i32 {
        let len = self.len as u64;
        let is_var = matches!(d.offset, Num::Var(_));
        let fail = if is_var { NO_MATCH } else { DISCONTINUE };
        let dataat: u64 = match d.offset {
            Num::Lit(v) => v.clamp(0, 65535) as u64,
            Num::Var(s) => {
                let v = self.var(s);
                if v >= ISDATAAT_VAR_MAX {
                    return if d.negated { self.matched(idx) } else { NO_MATCH };
                }
                v
            }
        };
        if d.relative {
            if self.buffer_offset as u64 + dataat > len {
                if d.negated {
                    self.matched(idx)
                } else {
                    fail
                }
            } else if d.negated {
                NO_MATCH
            } else {
                self.matched(idx)
            }
        } else if dataat < len {
            if d.negated {
                fail
            } else {
                self.matched(idx)
            }
        } else if d.negated {
            self.matched(idx)
        } else {
            fail
        }
    }

    /// Where a byte_* keyword reads: (position, bytes left from there), as the DoMatch
    /// functions compute them; None when the relative base leaves nothing.
    fn byte_pos(&self, offset: i32, relative: bool, nbytes: i64, check_relative_len: bool) -> Option<(i64, i64)> {
        let len = self.len as i64;
        let mut pos = offset as i64;
        let mut rem = len - offset as i64;
        if relative {
            pos += self.buffer_offset as i64;
            rem -= self.buffer_offset as i64;
            if check_relative_len && rem <= 0 {
                return None;
            }
        }
        if pos < 0 || nbytes > rem {
            return None;
        }
        Some((pos, rem))
    }

    fn byte_test(&mut self, t: &ByteTest) -> bool {
        if self.len == 0 {
            return false;
        }
        let offset = self.num_i32(t.offset);
        let value: u64 = match t.value {
            Num::Lit(v) => v as u64,
            Num::Var(s) => self.var(s),
        };
        let nbytes = t.nbytes as i64;
        let Some((pos, _)) = self.byte_pos(offset, t.relative, nbytes, true) else { return false };
        let Some((mut val, _)) = extract(self.buf, pos as usize, t.nbytes as usize, t.string, little(t.endian)) else {
            return false;
        };
        if let Some(mask) = t.bitmask {
            val = apply_bitmask(val, mask);
        }
        let m = match t.op {
            ByteOp::Eq => val == value,
            ByteOp::Lt => val < value,
            ByteOp::Gt => val > value,
            ByteOp::Le => val <= value,
            ByteOp::Ge => val >= value,
            ByteOp::And => val & value != 0,
            ByteOp::Xor => val ^ value != 0,
        };
        m != t.negated
    }

    fn byte_jump(&mut self, j: &ByteJump) -> bool {
        if self.len == 0 {
            return false;
        }
        let offset = self.num_i32(j.offset);
        let nbytes = j.nbytes as i64;
        let len = self.len as i64;
        let mut pos = offset as i64;
        let mut rem = len - offset as i64;
        if j.relative {
            pos += self.buffer_offset as i64;
            rem -= self.buffer_offset as i64;
            if nbytes != 0 && rem <= 0 {
                return false;
            }
        }
        if pos < 0 || nbytes > rem {
            return false;
        }
        let Some((mut val, extbytes)) = extract(self.buf, pos as usize, j.nbytes as usize, j.string, little(j.endian))
        else {
            return false;
        };
        if let Some(mask) = j.bitmask {
            val = apply_bitmask(val, mask);
        }
        // multiplier is 1..=65535 in Suricata; 0 is read as "not given"
        val = val.wrapping_mul(j.multiplier.max(1) as u64);
        if j.align && val % 4 != 0 {
            val = val.wrapping_add(4 - val % 4);
        }
        val = val.wrapping_add(j.post_offset as i64 as u64);
        let jump = val as i64 as i128;
        let target: i128 = if j.from_beginning {
            jump
        } else if j.from_end {
            len as i128 + jump
        } else {
            pos as i128 + jump + extbytes as i128
        };
        let target = if target < 0 {
            0
        } else if target > len as i128 {
            return false;
        } else {
            target
        };
        self.buffer_offset = target as u32;
        true
    }

    fn byte_extract(&mut self, e: &ByteExtract) -> bool {
        if self.len == 0 {
            return false;
        }
        let nbytes = e.nbytes as i64;
        let Some((pos, _)) = self.byte_pos(e.offset, e.relative, nbytes, true) else { return false };
        let string = e.string;
        let Some((mut val, extbytes)) = extract(self.buf, pos as usize, e.nbytes as usize, string, little(e.endian))
        else {
            return false;
        };
        if let Some(mask) = e.bitmask {
            val = apply_bitmask(val, mask);
        }
        val = val.wrapping_mul(e.multiplier.max(1) as u64);
        if e.align != 0 && val % e.align as u64 != 0 {
            val = val.wrapping_add(e.align as u64 - val % e.align as u64);
        }
        self.buffer_offset = (pos as u64 + extbytes as u64).min(self.len as u64) as u32;
        self.set_var(e.var, val);
        true
    }

    fn byte_math(&mut self, b: &ByteMath) -> bool {
        if self.len == 0 {
            return false;
        }
        let rvalue: u64 = match b.rvalue {
            Num::Lit(v) => v as u64,
            Num::Var(s) => self.var(s),
        };
        let nbytes = b.nbytes as i64;
        let Some((pos, _)) = self.byte_pos(b.offset, b.relative, nbytes, true) else { return false };
        let Some((mut val, extbytes)) = extract(self.buf, pos as usize, b.nbytes as usize, b.string, little(b.endian))
        else {
            return false;
        };
        self.buffer_offset = (pos as u64 + extbytes as u64).min(self.len as u64) as u32;
        val = match b.op {
            MathOp::Add => val.wrapping_add(rvalue),
            MathOp::Sub => val.wrapping_sub(rvalue),
            MathOp::Mul => val.wrapping_mul(rvalue),
            MathOp::Div => {
                if rvalue == 0 {
                    return false;
                }
                val / rvalue
            }
            // C shifts by >= 64 are undefined; x86 masks the count, as wrapping_sh* do.
            MathOp::Shl => val.wrapping_shl(rvalue as u32),
            MathOp::Shr => val.wrapping_shr(rvalue as u32),
        };
        if let Some(mask) = b.bitmask {
            val = apply_bitmask(val, mask);
        }
        self.set_var(b.result, val);
        true
    }
}

/// `dce` is little endian without a DCERPC header to say otherwise.
fn little(e: ByteEndian) -> bool {
    matches!(e, ByteEndian::Little | ByteEndian::Dce)
}

/// Bitmask as byte_test/byte_jump/byte_math apply it: AND, then shift right by the mask's
/// trailing zero bits when the result is not zero.
fn apply_bitmask(val: u64, mask: u64) -> u64 {
    let v = val & mask;
    if v != 0 && mask != 0 {
        v >> mask.trailing_zeros()
    } else {
        v
    }
}

/// Reads `nbytes` at `pos` (within `buf`, checked): a number in `base` text (strtoull, as
/// `ByteExtractStringUint64`) or binary in the given byte order (`ByteExtractUint64`).
/// Returns the value and the bytes consumed (the digits parsed, for text).
fn extract(buf: &[u8], pos: usize, nbytes: usize, string: Option<StringBase>, little: bool) -> Option<(u64, usize)> {
    let bytes = buf.get(pos..pos.checked_add(nbytes)?)?;
    match string {
        Some(base) => {
            if nbytes > 23 {
                return None;
            }
            let base = match base {
                StringBase::Hex => 16,
                StringBase::Dec => 10,
                StringBase::Oct => 8,
            };
            strtoull(bytes, base)
        }
        None => {
            if nbytes > 8 {
                return None;
            }
            let mut v: u64 = 0;
            if little {
                for (i, &b) in bytes.iter().enumerate() {
                    v |= (b as u64) << (8 * i);
                }
            } else {
                for &b in bytes {
                    v = (v << 8) | b as u64;
                }
            }
            Some((v, nbytes))
        }
    }
}

/// glibc `strtoull` over a NUL-terminated copy of `s`: leading space, sign, `0x` for base 16
/// (and base 0: `0x` hex, `0` octal). None when no digits were read ("no numeric value") or
/// the value overflows (ERANGE); else the value and the characters consumed.
fn strtoull(s: &[u8], base: u32) -> Option<(u64, usize)> {
    let s = match s.iter().position(|&b| b == 0) {
        // In bounds: p is a position found in s.
        Some(p) => &s[..p],
        None => s,
    };
    let mut i = 0;
    // In bounds: i < s.len() is tested first.
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    // In bounds: i < s.len() is tested first.
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let mut base = base;
    if s.get(i) == Some(&b'0') {
        if (base == 0 || base == 16) && matches!(s.get(i + 1), Some(b'x') | Some(b'X')) {
            i += 2;
            base = 16;
        } else if base == 0 {
            base = 8;
        }
    } else if base == 0 {
        base = 10;
    }
    let digits_start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < s.len() {
        // In bounds: i < s.len() (loop condition).
        let d = match s[i] {
            c @ b'0'..=b'9' => (c - b'0') as u32,
            c @ b'a'..=b'z' => (c - b'a') as u32 + 10,
            c @ b'A'..=b'Z' => (c - b'A') as u32 + 10,
            _ => break,
        };
        if d >= base {
            break;
        }
        match v.checked_mul(base as u64).and_then(|x| x.checked_add(d as u64)) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == digits_start {
        // "0x" with no hex digit after it: 0, consumed up to the 'x'
        // In bounds: 2 <= digits_start <= s.len() (i only steps over bytes that exist).
        if digits_start >= 2 && matches!(s[digits_start - 1], b'x' | b'X') && s[digits_start - 2] == b'0' && base == 16
        {
            return Some((0, digits_start - 1));
        }
        return None;
    }
    if overflow {
        return None;
    }
    Some((if neg { v.wrapping_neg() } else { v }, i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::ast::{FastPattern, Num::Lit, Num::Var};

    // ---------------------------------------------------------------- builders

    #[derive(Clone)]
    struct C(Content);

    fn content(p: &[u8]) -> C {
        C(Content {
            pattern: p.to_vec(),
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
        })
    }

    impl C {
        fn neg(mut self) -> C {
            self.0.negated = true;
            self
        }
        fn nocase(mut self) -> C {
            self.0.nocase = true;
            self
        }
        fn offset(mut self, n: Num) -> C {
            self.0.offset = Some(n);
            self
        }
        fn depth(mut self, n: Num) -> C {
            self.0.depth = Some(n);
            self
        }
        fn distance(mut self, n: Num) -> C {
            self.0.distance = Some(n);
            self
        }
        fn within(mut self, n: Num) -> C {
            self.0.within = Some(n);
            self
        }
        fn startswith(mut self) -> C {
            self.0.startswith = true;
            self
        }
        fn endswith(mut self) -> C {
            self.0.endswith = true;
            self
        }
        fn pm(self) -> PayloadMatch {
            PayloadMatch::Content(self.0)
        }
    }

    /// `pcre:"/expr/flags"`, with a leading `!` in `flags` for negation.
    fn pcre(expr: &str, flags: &str) -> PayloadMatch {
        PayloadMatch::Pcre(Pcre {
            expr: expr.into(),
            negated: flags.contains('!'),
            caseless: flags.contains('i'),
            dotall: flags.contains('s'),
            multiline: flags.contains('m'),
            extended: flags.contains('x'),
            anchored: flags.contains('A'),
            dollar_endonly: flags.contains('E'),
            ungreedy: flags.contains('G'),
            relative: flags.contains('R'),
            no_limit: flags.contains('O'),
            captures: vec![],
        })
    }

    fn bt(nbytes: u8, op: ByteOp, value: Num, offset: Num) -> ByteTest {
        ByteTest {
            nbytes,
            negated: false,
            op,
            value,
            offset,
            relative: false,
            endian: ByteEndian::Big,
            string: None,
            bitmask: None,
        }
    }

    fn bj(nbytes: u8, offset: Num) -> ByteJump {
        ByteJump {
            nbytes,
            offset,
            relative: false,
            multiplier: 1,
            endian: ByteEndian::Big,
            string: None,
            align: false,
            from_beginning: false,
            from_end: false,
            post_offset: 0,
            bitmask: None,
        }
    }

    fn be(nbytes: u8, offset: i32, var: u8) -> ByteExtract {
        ByteExtract {
            nbytes,
            offset,
            var,
            relative: false,
            multiplier: 1,
            endian: ByteEndian::Big,
            string: None,
            align: 0,
            bitmask: None,
        }
    }

    fn bm(nbytes: u8, offset: i32, op: MathOp, rvalue: Num, result: u8) -> ByteMath {
        ByteMath {
            nbytes,
            offset,
            op,
            rvalue,
            result,
            relative: false,
            endian: ByteEndian::Big,
            string: None,
            bitmask: None,
        }
    }

    fn isdataat(n: Num, relative: bool, negated: bool) -> PayloadMatch {
        PayloadMatch::IsDataAt(IsDataAt { negated, offset: n, relative })
    }

    fn list(buffer: Buffer, matches: Vec<PayloadMatch>) -> BufferList {
        BufferList { buffer, transforms: vec![], matches }
    }

    fn compiled(ms: &[PayloadMatch]) -> CompiledList {
        compile(&list(Buffer::Payload, ms.to_vec())).expect("compiles")
    }

    fn run_with(l: &CompiledList, buf: &[u8]) -> (bool, [i64; MAX_VARS], VerifyScratch) {
        let mut vars = [0i64; MAX_VARS];
        let mut s = VerifyScratch::default();
        let r = inspect(l, buf, &mut vars, &mut s);
        (r, vars, s)
    }

    fn run(ms: &[PayloadMatch], buf: &[u8]) -> bool {
        run_with(&compiled(ms), buf).0
    }

    fn run_sticky(ms: &[PayloadMatch], buf: &[u8]) -> bool {
        let l = compile(&list(Buffer::Sticky("http.uri".into()), ms.to_vec())).expect("compiles");
        run_with(&l, buf).0
    }

    /// One table row: keywords, buffer, expected outcome.
    type Case = (&'static str, Vec<PayloadMatch>, &'static [u8], bool);

    fn check(cases: Vec<Case>) {
        let mut failed = vec![];
        for (name, ms, buf, want) in cases {
            let got = run(&ms, buf);
            if got != want {
                failed.push(format!("{name}: got {got}, want {want}"));
            }
        }
        assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
    }

    // ---------------------------------------------------------------- content

    #[test]
    fn verify_content_absolute() {
        check(vec![
            ("plain found", vec![content(b"abc").pm()], b"xxabcxx", true),
            ("plain absent", vec![content(b"abd").pm()], b"xxabcxx", false),
            ("case matters", vec![content(b"ABC").pm()], b"xxabcxx", false),
            ("nocase", vec![content(b"ABC").nocase().pm()], b"xxabcxx", true),
            ("nocase buffer upper", vec![content(b"abc").nocase().pm()], b"xxABCxx", true),
            ("offset ok", vec![content(b"abc").offset(Lit(2)).pm()], b"xxabc", true),
            ("offset past match", vec![content(b"abc").offset(Lit(3)).pm()], b"xxabc", false),
            ("depth ok", vec![content(b"abc").depth(Lit(5)).pm()], b"xxabc", true),
            ("depth short", vec![content(b"abc").depth(Lit(4)).pm()], b"xxabc", false),
            ("offset+depth window", vec![content(b"abc").offset(Lit(2)).depth(Lit(3)).pm()], b"xxabc", true),
            ("offset+depth window miss", vec![content(b"abc").offset(Lit(1)).depth(Lit(3)).pm()], b"xxabc", false),
            ("offset past end", vec![content(b"abc").offset(Lit(10)).pm()], b"abc", false),
            ("negated offset past end", vec![content(b"abc").offset(Lit(10)).neg().pm()], b"abc", true),
            ("empty buffer", vec![content(b"a").pm()], b"", false),
            ("empty buffer negated", vec![content(b"a").neg().pm()], b"", true),
            ("negated present", vec![content(b"b").neg().pm()], b"abc", false),
            ("negated absent", vec![content(b"d").neg().pm()], b"abc", true),
            ("negated outside depth", vec![content(b"c").depth(Lit(2)).neg().pm()], b"abc", true),
            ("two contents any order", vec![content(b"c").pm(), content(b"a").pm()], b"abc", true),
            ("binary", vec![content(&[0, 0xff, 0]).pm()], &[1, 0, 0xff, 0, 2], true),
            ("longer than buffer", vec![content(b"abcd").pm()], b"abc", false),
            ("startswith", vec![content(b"GET").startswith().pm()], b"GET / HTTP", true),
            ("startswith not at 0", vec![content(b"GET").startswith().pm()], b" GET /", false),
            ("endswith", vec![content(b".exe").endswith().pm()], b"/test.exe", true),
            ("endswith not at end", vec![content(b".exe").endswith().pm()], b"/test.exe?x", false),
            ("endswith retries to the last", vec![content(b".exe").endswith().pm()], b"/a.exe/b.exe", true),
            ("startswith+endswith", vec![content(b"abc").startswith().endswith().pm()], b"abc", true),
            ("startswith+endswith longer", vec![content(b"abc").startswith().endswith().pm()], b"abcabc", false),
        ]);
    }

    #[test]
    fn verify_content_relative() {
        const HTTP: &[u8] = b"GET /AllWorkAndNoPlayMakesWillADullBoy HTTP/1.0";
        check(vec![
            // suricata-verify alert-distance-within-1
            (
                "distance 1 within 7",
                vec![
                    content(b"AllWorkAndNoPlayMakesWill").pm(),
                    content(b"DullBoy").distance(Lit(1)).within(Lit(7)).pm(),
                ],
                HTTP,
                true,
            ),
            (
                "distance 0 within 7 too short",
                vec![
                    content(b"AllWorkAndNoPlayMakesWill").pm(),
                    content(b"DullBoy").distance(Lit(0)).within(Lit(7)).pm(),
                ],
                HTTP,
                false,
            ),
            // detect-within.c DetectWithinTestPacket01: pcre then within
            (
                "pcre then within",
                vec![pcre("AllWorkAndNoPlayMakesWillADullBoy", ""), content(b"HTTP").within(Lit(5)).pm()],
                HTTP,
                true,
            ),
            // detect-within.c DetectWithinTestPacket02
            (
                "within 3 distance 1",
                vec![content(b"Five").pm(), content(b"Ten").within(Lit(3)).distance(Lit(1)).pm()],
                b"Zero Five Ten Fourteen",
                true,
            ),
            ("distance only", vec![content(b"a").pm(), content(b"c").distance(Lit(0)).pm()], b"cab", false),
            ("distance only after", vec![content(b"a").pm(), content(b"c").distance(Lit(0)).pm()], b"cabc", true),
            (
                "distance counts from match end",
                vec![content(b"ab").pm(), content(b"c").distance(Lit(1)).pm()],
                b"abc",
                false,
            ),
            // backtracking: the first "a" has no "b" right after it, the second has
            ("backtrack within 1", vec![content(b"a").pm(), content(b"b").within(Lit(1)).pm()], b"a ab", true),
            ("backtrack exhausted", vec![content(b"a").pm(), content(b"b").within(Lit(1)).pm()], b"a a b", false),
            (
                "backtrack through three levels",
                vec![content(b"x").pm(), content(b"a").distance(Lit(1)).pm(), content(b"!").within(Lit(1)).pm()],
                b"x1a x2a!",
                true,
            ),
            // negative distance: look behind the previous match
            ("negative distance", vec![content(b"bc").pm(), content(b"ab").distance(Lit(-3)).pm()], b"abc", true),
            (
                "negative distance clamps at 0",
                vec![content(b"bc").pm(), content(b"ab").distance(Lit(-10)).within(Lit(2)).pm()],
                b"abc",
                true,
            ),
            (
                "negative distance window",
                vec![content(b"c").pm(), content(b"a").distance(Lit(-2)).within(Lit(2)).pm()],
                b"abc",
                false,
            ),
            // Suricata quirk: prev(2) + within(5) + distance(-10) < 0 makes the window the
            // whole buffer (the signed comparison in the within branch)
            (
                "negative window end means whole buffer",
                vec![content(b"ab").pm(), content(b"zz").distance(Lit(-10)).within(Lit(5)).pm()],
                b"ab........zz",
                true,
            ),
            // negated relative content: found right after the first "a", not after the second
            (
                "negated relative retried",
                vec![content(b"a").pm(), content(b"b").neg().within(Lit(1)).pm()],
                b"ab ac",
                true,
            ),
            ("negated relative fails", vec![content(b"a").pm(), content(b"b").neg().within(Lit(1)).pm()], b"ab", false),
            (
                "negated relative distance window",
                vec![content(b"a").pm(), content(b"b").neg().distance(Lit(2)).within(Lit(1)).pm()],
                b"a b",
                true,
            ),
            (
                "negated relative distance window hit",
                vec![content(b"a").pm(), content(b"b").neg().distance(Lit(1)).within(Lit(1)).pm()],
                b"a b",
                false,
            ),
            // a negated relative content does not move the cursor
            (
                "negated keeps cursor",
                vec![content(b"a").pm(), content(b"z").neg().distance(Lit(0)).pm(), content(b"b").within(Lit(1)).pm()],
                b"ab",
                true,
            ),
            (
                "relative endswith",
                vec![content(b"GET").pm(), content(b".exe").distance(Lit(0)).endswith().pm()],
                b"GET /a.exe",
                true,
            ),
            (
                "relative endswith not at end",
                vec![content(b"GET").pm(), content(b".exe").distance(Lit(0)).endswith().pm()],
                b"GET /a.exe/",
                false,
            ),
            ("relative past end", vec![content(b"abc").pm(), content(b"a").distance(Lit(5)).pm()], b"abc", false),
            (
                "relative negated past end",
                vec![content(b"abc").pm(), content(b"a").distance(Lit(5)).neg().pm()],
                b"abc",
                true,
            ),
        ]);
    }

    #[test]
    fn verify_content_negated_endswith_like_suricata() {
        // suricata-verify detect-content-ends-with-negated-01/02/03, on the host buffer
        let host = |h: &'static [u8], extra: bool| {
            let mut ms = vec![content(b".google.com").neg().endswith().pm()];
            if extra {
                ms.push(content(b"example.com").pm());
            }
            run_sticky(&ms, h)
        };
        assert!(host(b"www.google.com.example.com", false));
        assert!(!host(b"www.google.com", false));
        assert!(host(b"www.google.com.example.com", true));
        // Suricata only looks at the first occurrence of a negated endswith content
        assert!(host(b"a.google.com.google.com", false));
    }

    #[test]
    fn verify_isdataat_not_1_relative_is_endswith() {
        let ms = [content(b"abc").pm(), isdataat(Lit(1), true, true)];
        let l = compiled(&ms);
        assert_eq!(l.len(), 1, "isdataat:!1,relative folded into the content");
        // endswith retries to the last occurrence; an isdataat would not
        assert!(run_with(&l, b"abcXabc").0);
        assert!(!run_with(&l, b"abcXabcX").0);
        // after a byte_test the payload's isdataat is kept (its anchor is the byte_test)...
        let ms = [
            content(b"abc").pm(),
            PayloadMatch::ByteTest(bt(1, ByteOp::Eq, Lit(b'X' as i64), Lit(3))),
            isdataat(Lit(1), true, true),
        ];
        assert_eq!(compiled(&ms).len(), 3);
        // ...in a sticky buffer only content/pcre anchor it, so it is folded
        let l = compile(&list(Buffer::Sticky("http.uri".into()), ms.to_vec())).unwrap();
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn verify_content_errors() {
        let bad = |ms: Vec<PayloadMatch>| compile(&list(Buffer::Payload, ms)).is_err();
        assert!(bad(vec![content(b"abc").depth(Lit(0)).pm()]), "depth 0 < content length");
        assert!(bad(vec![content(b"abc").depth(Lit(2)).pm()]));
        assert!(bad(vec![content(b"a").pm(), content(b"abc").within(Lit(2)).pm()]));
        assert!(bad(vec![content(b"a").pm(), content(b"b").distance(Lit(0)).offset(Lit(1)).pm()]));
        assert!(bad(vec![content(b"a").startswith().offset(Lit(1)).pm()]));
        assert!(bad(vec![content(b"").pm()]));
        assert!(bad(vec![content(b"a").offset(Var(MAX_VARS as u8)).pm()]));
        assert!(bad(vec![content(b"a").offset(Lit(70000)).pm()]));
        assert!(!bad(vec![content(b"a").pm(), content(b"b").distance(Lit(-5)).within(Lit(1)).pm()]));
    }

    #[test]
    fn verify_depth_is_relative_to_offset_u16() {
        // Suricata stores offset+depth in a u16: 65000 + 1000 wraps to 464
        let mut buf = vec![b'.'; 500];
        buf[100..103].copy_from_slice(b"abc");
        assert!(!run(&[content(b"abc").offset(Lit(65000)).depth(Lit(1000)).pm()], &buf));
        assert!(run(&[content(b"abc").offset(Lit(100)).depth(Lit(3)).pm()], &buf));
    }

    #[test]
    fn verify_dsize_gives_depth() {
        let l = list(Buffer::Payload, vec![content(b"abc").pm()]);
        let c = compile_with_dsize(&l, Some(&NumCmp::Ne(3))).unwrap();
        assert!(!run_with(&c, b"xxxxxabc").0, "dsize:!3 limits contents to 3 bytes, as in Suricata");
        assert!(run_with(&c, b"abcxxxxx").0);
        let c = compile_with_dsize(&l, Some(&NumCmp::Gt(3))).unwrap();
        assert!(run_with(&c, b"xxxxxabc").0);
    }

    // ---------------------------------------------------------------- pcre

    #[test]
    fn verify_pcre() {
        const REQ: &[u8] = b"GET /two/ HTTP/1.1\r\nHost: x\r\n\r\n";
        check(vec![
            // suricata-verify detect-pcre-03
            ("caseless anchored", vec![pcre("^gEt", "i")], REQ, true),
            ("case", vec![pcre("^gEt", "")], REQ, false),
            ("chain with R", vec![pcre("GET \\/two\\/", ""), pcre("\\s+HTTP", "R")], REQ, true),
            ("O flag", vec![pcre("two", "O")], REQ, true),
            ("negated pcre after content", vec![content(b"GET").pm(), pcre("two", "!")], REQ, false),
            ("negated pcre absent", vec![content(b"GET").pm(), pcre("three", "!")], REQ, true),
            // relative: the subject starts at the cursor, so ^ anchors there
            ("R caret at cursor", vec![content(b"HTTP").pm(), pcre("^\\/1", "R")], REQ, true),
            ("caret without R", vec![content(b"HTTP").pm(), pcre("^\\/1", "")], REQ, false),
            ("R searches after cursor only", vec![content(b"two").pm(), pcre("GET", "R")], REQ, false),
            ("pcre sets cursor", vec![pcre("G.T", ""), content(b" /two").within(Lit(5)).pm()], REQ, true),
            ("dotall", vec![pcre("a.b", "s")], b"a\nb", true),
            ("no dotall", vec![pcre("a.b", "")], b"a\nb", false),
            ("multiline", vec![pcre("^b", "m")], b"a\nb", true),
            ("no multiline", vec![pcre("^b", "")], b"a\nb", false),
            ("extended", vec![pcre("a b # comment", "x")], b"ab", true),
            ("dollar before final newline", vec![pcre("b$", "")], b"ab\n", true),
            ("dollar endonly", vec![pcre("b$", "E")], b"ab\n", false),
            ("dollar endonly at end", vec![pcre("b$", "E")], b"ab", true),
            ("dollar endonly in class", vec![pcre("[$]b$", "E")], b"$b", true),
            ("anchored", vec![pcre("b", "A")], b"ab", false),
            ("anchored at 0", vec![pcre("a", "A")], b"ab", true),
            ("anchored relative", vec![content(b"a").pm(), pcre("b", "AR")], b"ab", true),
            ("anchored relative miss", vec![content(b"a").pm(), pcre("c", "AR")], b"abc", false),
            ("anchored extended", vec![pcre("b # c", "xA")], b"ab", false),
            ("anchored extended at 0", vec![pcre("a # c", "xA")], b"ab", true),
            // greedy vs ungreedy decides where the cursor lands
            ("greedy cursor", vec![pcre("a.*b", ""), isdataat(Lit(1), true, true)], b"aXbYb", true),
            ("ungreedy cursor", vec![pcre("a.*b", "G"), isdataat(Lit(1), true, true)], b"aXbYb", false),
            // a pcre that a later relative keyword depends on is retried
            ("pcre retried", vec![pcre("a.", ""), content(b"b").within(Lit(1)).pm()], b"axcayb", true),
            ("pcre retry exhausted", vec![pcre("a.", ""), content(b"b").within(Lit(1)).pm()], b"axcayc", false),
            ("binary subject", vec![pcre("\\x00\\xff", "")], &[1, 0, 0xff], true),
        ]);
    }

    #[test]
    fn verify_pcre_errors_and_limits() {
        let e = compile(&list(Buffer::Payload, vec![pcre("a(b", "")])).unwrap_err();
        assert!(e.contains("a(b"), "{e}");
        // /R needs a preceding match in the packet payload, not in a sticky buffer
        assert!(compile(&list(Buffer::Payload, vec![pcre("a", "R")])).is_err());
        assert!(compile(&list(Buffer::Sticky("http.uri".into()), vec![pcre("a", "R")])).is_ok());
        assert!(run_sticky(&[pcre("^a", "R")], b"ab"));
        // catastrophic backtracking stops at Suricata's match limit: no match, quickly,
        // negated or not
        // (a pattern with a required literal is rejected up front by pcre2, in Suricata too)
        let mut buf = vec![b'a'; 40];
        buf.push(b'!');
        assert!(!run(&[pcre("^(a|aa)+$", "")], &buf));
        assert!(!run(&[pcre("^(a|aa)+$", "!")], &buf), "a matching error is no match, negated too");
        assert!(run(&[pcre("^(a|aa)+$", "")], b"aaaa"));
        assert!(!run(&[pcre("^(a|aa)+$", "!")], b"aaaa"));
        assert!(run(&[pcre("^(a|aa)+$", "!")], b"aab"));
    }

    // ---------------------------------------------------------------- isdataat

    #[test]
    fn verify_isdataat() {
        // suricata-verify issue-8031-01-isdataat: a 32-byte buffer starting with "a"
        let mut b32 = vec![b'a'];
        b32.extend(std::iter::repeat(b'x').take(31));
        let rows: Vec<(Vec<PayloadMatch>, bool)> = vec![
            (vec![isdataat(Lit(31), false, false)], true),
            (vec![isdataat(Lit(32), false, false)], false),
            (vec![isdataat(Lit(33), false, false)], false),
            (vec![isdataat(Lit(31), true, false)], true),
            (vec![isdataat(Lit(32), true, false)], true),
            (vec![isdataat(Lit(33), true, false)], false),
            (vec![content(b"a").depth(Lit(1)).pm(), isdataat(Lit(30), true, false)], true),
            (vec![content(b"a").depth(Lit(1)).pm(), isdataat(Lit(31), true, false)], true),
            (vec![content(b"a").depth(Lit(1)).pm(), isdataat(Lit(32), true, false)], false),
            (vec![content(b"a").depth(Lit(1)).pm(), isdataat(Lit(33), true, false)], false),
            (vec![isdataat(Lit(40), false, true)], true),
            (vec![isdataat(Lit(10), false, true)], false),
            (vec![content(b"a").depth(Lit(1)).pm(), isdataat(Lit(40), true, true)], true),
            (vec![content(b"a").depth(Lit(1)).pm(), isdataat(Lit(2), true, true)], false),
        ];
        for (i, (ms, want)) in rows.into_iter().enumerate() {
            assert_eq!(run(&ms, &b32), want, "row {i}");
        }
        assert!(run(&[isdataat(Lit(1), false, true)], b""));
        // a relative isdataat after a content makes the content retry
        assert!(run(&[content(b"ab").pm(), isdataat(Lit(3), true, false)], b"ab..ab.x.y"));
        // variable offsets; very big values only match negated
        let ms = [PayloadMatch::ByteExtract(be(4, 0, 0)), isdataat(Var(0), false, false)];
        assert!(run(&ms, &[0, 0, 0, 5, 1, 2]));
        assert!(!run(&ms, &[0, 0, 0, 6, 1, 2]));
        let big = [0x10, 0, 0, 0, 0];
        assert!(!run(&ms, &big));
        assert!(run(&[PayloadMatch::ByteExtract(be(4, 0, 0)), isdataat(Var(0), false, true)], &big));
    }

    // ---------------------------------------------------------------- byte_test

    #[test]
    fn verify_byte_test() {
        use ByteOp::*;
        let masked = |n, op, v, mask, neg| {
            let mut t = bt(n, op, Lit(v), Lit(0));
            t.bitmask = Some(mask);
            t.negated = neg;
            vec![content(b"HTTP").pm(), PayloadMatch::ByteTest(t)]
        };
        let s = |n, op, v, off, base, rel| {
            let mut t = bt(n, op, Lit(v), Lit(off));
            t.string = Some(base);
            t.relative = rel;
            PayloadMatch::ByteTest(t)
        };
        let num = |n, op, v, off, endian| {
            let mut t = bt(n, op, Lit(v), Lit(off));
            t.endian = endian;
            PayloadMatch::ByteTest(t)
        };
        const REQ: &[u8] = b"GET /AllWorkAndNoPlayMakesWillADullBoy HTTP/1.0\r\n";
        check(vec![
            // suricata-verify detect-bytetest-01: "H" = 0x48, & 0xf8 = 0x48, >> 3 = 9
            ("bitmask eq", masked(1, Eq, 0x9, 0xf8, false), b"HTTP/1.1", true),
            ("bitmask gt", masked(1, Gt, 0x8, 0xf8, false), b"HTTP/1.1", true),
            ("bitmask lt", masked(1, Lt, 0xa, 0xf8, false), b"HTTP/1.1", true),
            ("bitmask ne", masked(1, Eq, 0x48, 0xf8, true), b"HTTP/1.1", true),
            ("bitmask 2 bytes", masked(2, Eq, 0x90a, 0xf8f8, false), b"HTTP/1.1", true),
            ("bitmask zero result no shift", masked(1, Eq, 0, 0x01, false), b"HTTP", true),
            // suricata-verify detect-bytetest-02
            (
                "pcre + relative string dec",
                vec![pcre("AllWorkAndNoPlayMakesWillADullBoy", ""), s(1, Eq, 1, 6, StringBase::Dec, true)],
                REQ,
                true,
            ),
            ("offset far past end", vec![num(1, Eq, 65, 214748364, ByteEndian::Big)], REQ, false),
            (
                "relative <= 0",
                vec![
                    content(b"GET ").depth(Lit(4)).pm(),
                    content(b"HTTP/1.").pm(),
                    s(1, Le, 0, 0, StringBase::Dec, true),
                ],
                REQ,
                true,
            ),
            (
                "relative >= 0",
                vec![
                    content(b"GET ").depth(Lit(4)).pm(),
                    content(b"HTTP/1.").pm(),
                    s(1, Ge, 0, 0, StringBase::Dec, true),
                ],
                REQ,
                true,
            ),
            ("string dec", vec![s(3, Eq, 123, 1, StringBase::Dec, false)], b"x123x", true),
            ("string dec stops at non-digit", vec![s(4, Eq, 12, 1, StringBase::Dec, false)], b"x12ab", true),
            ("string dec leading space", vec![s(4, Eq, 42, 0, StringBase::Dec, false)], b"  42", true),
            ("string hex", vec![s(2, Eq, 0x1f, 0, StringBase::Hex, false)], b"1F", true),
            ("string hex 0x prefix", vec![s(4, Eq, 0x1f, 0, StringBase::Hex, false)], b"0x1f", true),
            ("string oct", vec![s(2, Eq, 15, 0, StringBase::Oct, false)], b"17", true),
            ("string oct stops at 8", vec![s(2, Eq, 1, 0, StringBase::Oct, false)], b"18", true),
            ("string no digits", vec![s(2, Eq, 0, 0, StringBase::Dec, false)], b"zz", false),
            ("string overflow", vec![s(21, Gt, 0, 0, StringBase::Dec, false)], b"999999999999999999999", false),
            ("big endian", vec![num(2, Eq, 0x0102, 0, ByteEndian::Big)], &[1, 2], true),
            ("little endian", vec![num(2, Eq, 0x0201, 0, ByteEndian::Little)], &[1, 2], true),
            ("dce is little", vec![num(2, Eq, 0x0201, 0, ByteEndian::Dce)], &[1, 2], true),
            ("4 bytes", vec![num(4, Eq, 0x01020304, 1, ByteEndian::Big)], &[0, 1, 2, 3, 4], true),
            ("8 bytes", vec![num(8, Eq, 0x0102030405060708, 0, ByteEndian::Big)], &[1, 2, 3, 4, 5, 6, 7, 8], true),
            ("and", vec![num(1, And, 0x04, 0, ByteEndian::Big)], &[0x06], true),
            ("and none", vec![num(1, And, 0x08, 0, ByteEndian::Big)], &[0x06], false),
            ("xor", vec![num(1, Xor, 0x06, 0, ByteEndian::Big)], &[0x06], false),
            ("xor differs", vec![num(1, Xor, 0x07, 0, ByteEndian::Big)], &[0x06], true),
            ("past end", vec![num(2, Eq, 0, 1, ByteEndian::Big)], &[0, 0], false),
            ("negative offset", vec![num(1, Eq, 0, -1, ByteEndian::Big)], &[0, 0], false),
            ("relative negative offset", vec![content(b"abcd").pm(), num_rel(1, Eq, b'b' as i64, -3)], b"abcd", true),
            ("relative before start", vec![content(b"abcd").pm(), num_rel(1, Eq, b'b' as i64, -10)], b"abcd", false),
            ("relative at end", vec![content(b"abcd").pm(), num_rel(1, Eq, 0, 0)], b"abcd", false),
            ("empty buffer", vec![num(1, Lt, 255, 0, ByteEndian::Big)], b"", false),
        ]);
    }

    fn num_rel(n: u8, op: ByteOp, v: i64, off: i64) -> PayloadMatch {
        let mut t = bt(n, op, Lit(v), Lit(off));
        t.relative = true;
        PayloadMatch::ByteTest(t)
    }

    #[test]
    fn verify_byte_test_negation_needs_a_value() {
        // `!` flips the comparison, not the extraction: no digits is no match either way
        let mut t = bt(2, ByteOp::Eq, Lit(5), Lit(0));
        t.string = Some(StringBase::Dec);
        t.negated = true;
        assert!(!run(&[PayloadMatch::ByteTest(t.clone())], b"zz"));
        assert!(run(&[PayloadMatch::ByteTest(t)], b"42"));
    }

    // ---------------------------------------------------------------- byte_jump

    #[test]
    fn verify_byte_jump() {
        let jump_rel = |n, off| {
            let mut j = bj(n, Lit(off));
            j.relative = true;
            j
        };
        let at = |c: &[u8]| content(c).distance(Lit(0)).within(Lit(c.len() as i64)).pm();
        // [len=2] x x [len=1] y Z
        let chain: &[u8] = &[0x00, 0x02, b'x', b'x', 0x00, 0x01, b'y', b'Z'];
        let mut mult = bj(1, Lit(0));
        mult.multiplier = 3;
        let mut align = bj(1, Lit(0));
        align.align = true;
        let mut post = bj(1, Lit(0));
        post.post_offset = 2;
        let mut neg_post = bj(1, Lit(3));
        neg_post.post_offset = -3;
        let mut begin = bj(1, Lit(2));
        begin.from_beginning = true;
        let mut end = bj(1, Lit(0));
        end.from_end = true;
        end.post_offset = -4;
        let mut before = bj(1, Lit(0));
        before.from_beginning = true;
        before.post_offset = -100;
        let mut past = bj(1, Lit(0));
        past.post_offset = 100;
        let mut little = bj(2, Lit(0));
        little.endian = ByteEndian::Little;
        let mut string = bj(2, Lit(0));
        string.string = Some(StringBase::Dec);
        check(vec![
            // [00 02] skips the two bytes after it
            ("jump", vec![PayloadMatch::ByteJump(bj(2, Lit(0))), at(&[0, 1])], chain, true),
            ("jump lands after", vec![PayloadMatch::ByteJump(bj(2, Lit(0))), at(b"xx")], chain, false),
            (
                "relative chain",
                vec![PayloadMatch::ByteJump(bj(2, Lit(0))), PayloadMatch::ByteJump(jump_rel(2, 0)), at(b"Z")],
                chain,
                true,
            ),
            (
                "relative chain wrong",
                vec![PayloadMatch::ByteJump(bj(2, Lit(0))), PayloadMatch::ByteJump(jump_rel(2, 0)), at(b"y")],
                chain,
                false,
            ),
            // detect-distance.c DetectDistanceTestPacket01
            (
                "byte_jump then distance/within",
                vec![PayloadMatch::ByteJump(bj(1, Lit(2))), content(&[0]).within(Lit(1)).distance(Lit(2)).pm()],
                &[1, 0, 0, 0, 0, 0],
                true,
            ),
            ("multiplier", vec![PayloadMatch::ByteJump(mult), at(b"Q")], &[2, 0, 0, 0, 0, 0, 0, b'Q'], true),
            ("align", vec![PayloadMatch::ByteJump(align), at(b"Q")], &[2, 0, 0, 0, 0, b'Q'], true),
            ("post_offset", vec![PayloadMatch::ByteJump(post), at(b"Q")], &[1, 0, 0, 0, b'Q'], true),
            ("negative post_offset", vec![PayloadMatch::ByteJump(neg_post), at(b"Q")], &[0, 0, b'Q', 1, 0], true),
            ("from_beginning", vec![PayloadMatch::ByteJump(begin), at(b"Q")], &[0, b'Q', 1, 0], true),
            ("from_end", vec![PayloadMatch::ByteJump(end), at(b"Q")], &[2, 0, 0, 0, 0, b'Q', 0], true),
            ("before start clamps to 0", vec![PayloadMatch::ByteJump(before), at(b"\x05")], &[5, 1], true),
            ("past end fails", vec![PayloadMatch::ByteJump(past)], &[5, 1], false),
            (
                "to the very end is fine",
                vec![PayloadMatch::ByteJump(bj(1, Lit(0))), isdataat(Lit(1), true, true)],
                &[0],
                true,
            ),
            ("little endian", vec![PayloadMatch::ByteJump(little), at(b"Q")], &[1, 0, 0, b'Q'], true),
            ("string: jump counts the digits read", vec![PayloadMatch::ByteJump(string), at(b"Q")], b"1xQ", true),
            ("nbytes past end", vec![PayloadMatch::ByteJump(bj(4, Lit(0)))], &[0, 0], false),
            ("empty buffer", vec![PayloadMatch::ByteJump(bj(1, Lit(0)))], b"", false),
        ]);
    }

    #[test]
    fn verify_byte_jump_bitmask_from_end() {
        // suricata-verify detect-bytejump-06: "13" & 0xfe = 12, >> 1 = 6; 38 + 6 - 26 = 18
        const BUF: &[u8] = b"Question?13When will the pandemic end?";
        let mut j = bj(2, Lit(0));
        j.relative = true;
        j.string = Some(StringBase::Dec);
        j.from_end = true;
        j.post_offset = -26;
        j.bitmask = Some(0xfe);
        let ms = |j: ByteJump| {
            vec![
                content(b"Question?").pm(),
                PayloadMatch::ByteJump(j),
                content(b"ll the pandemic end").distance(Lit(0)).pm(),
            ]
        };
        assert!(run(&ms(j.clone()), BUF));
        j.bitmask = None;
        assert!(!run(&ms(j), BUF));
    }

    // ---------------------------------------------------------------- byte_extract

    #[test]
    fn verify_byte_extract() {
        // [3] x x a b c
        let buf: &[u8] = &[3, b'x', b'x', b'a', b'b', b'c'];
        let ex = |n, off, var| PayloadMatch::ByteExtract(be(n, off, var));
        let mut rel = be(1, 0, 1);
        rel.relative = true;
        let mut mult = be(1, 0, 0);
        mult.multiplier = 2;
        let mut al = be(1, 0, 0);
        al.align = 4;
        let mut s = be(2, 0, 0);
        s.string = Some(StringBase::Dec);
        let s2 = s.clone();
        let mut le = be(2, 0, 0);
        le.endian = ByteEndian::Little;
        check(vec![
            ("as offset", vec![ex(1, 0, 0), content(b"abc").offset(Var(0)).pm()], buf, true),
            ("as offset too far", vec![ex(1, 0, 0), content(b"xa").offset(Var(0)).pm()], buf, false),
            ("as depth (+offset)", vec![ex(1, 0, 0), content(b"xxa").depth(Var(0)).pm()], buf, false),
            ("as depth with offset", vec![ex(1, 0, 0), content(b"xxa").offset(Lit(1)).depth(Var(0)).pm()], buf, true),
            ("as distance", vec![ex(1, 0, 0), content(b"bc").distance(Var(0)).within(Lit(2)).pm()], buf, true),
            ("as distance miss", vec![ex(1, 0, 0), content(b"ab").distance(Var(0)).within(Lit(2)).pm()], buf, false),
            ("as within", vec![ex(1, 0, 0), content(b"xa").within(Var(0)).pm()], buf, true),
            ("as within short", vec![ex(1, 0, 0), content(b"ab").within(Var(0)).pm()], buf, false),
            (
                "as byte_test value",
                vec![ex(1, 0, 0), PayloadMatch::ByteTest(bt(1, ByteOp::Eq, Var(0), Lit(0)))],
                buf,
                true,
            ),
            (
                "as byte_test offset",
                vec![ex(1, 0, 0), PayloadMatch::ByteTest(bt(1, ByteOp::Eq, Lit(b'a' as i64), Var(0)))],
                buf,
                true,
            ),
            (
                "as byte_jump offset",
                vec![ex(1, 0, 0), PayloadMatch::ByteJump(bj(1, Var(0))), isdataat(Lit(1), true, true)],
                &[4, 0, 0, 0, 1, 0],
                true,
            ),
            ("moves the cursor", vec![ex(1, 0, 0), content(b"x").within(Lit(1)).pm()], buf, true),
            (
                "relative",
                vec![content(b"xx").pm(), PayloadMatch::ByteExtract(rel), content(b"bc").within(Var(1)).pm()],
                &[0, b'x', b'x', 2, b'b', b'c'],
                true,
            ),
            (
                "multiplier",
                vec![PayloadMatch::ByteExtract(mult), content(b"Q").offset(Var(0)).pm()],
                &[2, 0, 0, 0, b'Q'],
                true,
            ),
            (
                "align",
                vec![PayloadMatch::ByteExtract(al), content(b"Q").offset(Var(0)).depth(Lit(1)).pm()],
                &[1, 0, 0, 0, b'Q'],
                true,
            ),
            (
                "string",
                vec![PayloadMatch::ByteExtract(s), content(b"Q").offset(Var(0)).depth(Lit(1)).pm()],
                b"11.........Q",
                true,
            ),
            (
                "string wrong",
                vec![PayloadMatch::ByteExtract(s2), content(b"Q").offset(Var(0)).depth(Lit(1)).pm()],
                b"12.........Q",
                false,
            ),
            (
                "little",
                vec![PayloadMatch::ByteExtract(le), content(b"Q").offset(Var(0)).pm()],
                &[4, 0, 0, 0, b'Q'],
                true,
            ),
            ("past end", vec![ex(4, 4, 0)], buf, false),
        ]);
        // the value is written to its slot
        let (ok, vars, _) = run_with(&compiled(&[ex(2, 1, 3)]), &[0, 1, 2]);
        assert!(ok);
        assert_eq!(vars[3], 0x0102);
    }

    // ---------------------------------------------------------------- byte_math

    #[test]
    fn verify_byte_math() {
        use MathOp::*;
        let m = |n, off, op, r, res| PayloadMatch::ByteMath(bm(n, off, op, r, res));
        let value = |ms: Vec<PayloadMatch>, buf: &[u8], slot: usize| {
            let (ok, vars, _) = run_with(&compiled(&ms), buf);
            ok.then_some(vars[slot] as u64)
        };
        assert_eq!(value(vec![m(1, 0, Add, Lit(2), 0)], &[1], 0), Some(3));
        assert_eq!(value(vec![m(1, 0, Sub, Lit(2), 0)], &[1], 0), Some(u64::MAX));
        assert_eq!(value(vec![m(2, 0, Mul, Lit(3), 0)], &[0, 5], 0), Some(15));
        assert_eq!(value(vec![m(1, 0, Div, Lit(2), 0)], &[9], 0), Some(4));
        assert_eq!(value(vec![m(1, 0, Div, Lit(0), 0)], &[9], 0), None, "division by zero does not match");
        assert_eq!(value(vec![m(1, 0, Shl, Lit(4), 0)], &[1], 0), Some(16));
        assert_eq!(value(vec![m(1, 0, Shr, Lit(1), 0)], &[8], 0), Some(4));
        assert_eq!(value(vec![m(1, 1, Add, Lit(0), 0)], &[8], 0), None, "past the end");
        // rvalue from a variable, result used as an offset
        let ms = vec![
            PayloadMatch::ByteExtract(be(1, 0, 0)),
            m(1, 1, Add, Var(0), 1),
            content(b"Q").offset(Var(1)).depth(Lit(1)).pm(),
        ];
        assert!(run(&ms, &[2, 3, 0, 0, 0, b'Q']));
        assert!(!run(&ms, &[2, 2, 0, 0, 0, b'Q']));
        // bitmask applies after the operation
        let mut b = bm(1, 0, Add, Lit(1), 0);
        b.bitmask = Some(0xf0);
        assert_eq!(value(vec![PayloadMatch::ByteMath(b)], &[0x1f], 0), Some(2));
        // little endian, string
        let mut b = bm(2, 0, Add, Lit(0), 0);
        b.endian = ByteEndian::Little;
        assert_eq!(value(vec![PayloadMatch::ByteMath(b)], &[1, 2], 0), Some(0x0201));
        let mut b = bm(3, 0, Mul, Lit(2), 0);
        b.string = Some(StringBase::Hex);
        assert_eq!(value(vec![PayloadMatch::ByteMath(b)], b"ff.", 0), Some(0x1fe));
        // byte_math moves the cursor past the bytes it read
        let mut b = bm(1, 0, Add, Lit(0), 0);
        b.relative = true;
        assert!(run(&[content(b"a").pm(), PayloadMatch::ByteMath(b), content(b"c").within(Lit(1)).pm()], b"abc"));
    }

    // ---------------------------------------------------------------- bsize, urilen

    #[test]
    fn verify_bsize_urilen() {
        assert!(compile(&list(Buffer::Payload, vec![PayloadMatch::Bsize(NumCmp::Eq(3))])).is_err());
        let check = |cases: Vec<Case>| {
            for (name, ms, buf, want) in cases {
                assert_eq!(run_sticky(&ms, buf), want, "{name}");
            }
        };
        check(vec![
            ("bsize eq", vec![PayloadMatch::Bsize(NumCmp::Eq(3))], b"abc", true),
            ("bsize ne", vec![PayloadMatch::Bsize(NumCmp::Eq(3))], b"abcd", false),
            ("bsize 0 empty", vec![PayloadMatch::Bsize(NumCmp::Eq(0))], b"", true),
            ("bsize range", vec![PayloadMatch::Bsize(NumCmp::Range(2, 5))], b"abcd", true),
            ("bsize range exclusive", vec![PayloadMatch::Bsize(NumCmp::Range(2, 4))], b"abcd", false),
            ("bsize after content", vec![content(b"abc").pm(), PayloadMatch::Bsize(NumCmp::Lt(10))], b"xabc", true),
            ("urilen gt", vec![PayloadMatch::Urilen(NumCmp::Gt(5))], b"/index.html", true),
            ("urilen lt", vec![PayloadMatch::Urilen(NumCmp::Lt(5))], b"/index.html", false),
        ]);
        let big = vec![b'a'; 70000];
        assert!(run_sticky(&[PayloadMatch::Urilen(NumCmp::Eq(65535))], &big), "urilen saturates at 65535");
        assert!(run_sticky(&[PayloadMatch::Bsize(NumCmp::Eq(70000))], &big));
    }

    // ---------------------------------------------------------------- recursion limit

    #[test]
    fn verify_recursion_limit() {
        let ms = [content(b"a").pm(), content(b"b").within(Lit(1)).pm()];
        let l = compiled(&ms);
        // n leading "a"s then "ab": the "b" is tried once per "a", n + 1 times, plus one
        // evaluation for the first "a": n + 2 evaluations. Suricata stops at 3000.
        let buf = |n: usize| {
            let mut v = vec![b'a'; n];
            v.extend_from_slice(b"ab");
            v
        };
        let (ok, _, s) = run_with(&l, &buf(2997));
        assert!(ok);
        assert_eq!(s.last_evaluations, 2999);
        assert_eq!(s.recursion_limit_hits, 0);
        let (ok, _, s) = run_with(&l, &buf(2998));
        assert!(!ok, "the 3000th evaluation gives up");
        assert_eq!(s.recursion_limit_hits, 1);
    }

    #[test]
    fn verify_empty_list_and_never_panics() {
        assert!(run(&[], b"anything"));
        // a mix of everything over short and odd buffers: no panic
        let mut rel_bt = bt(4, ByteOp::Gt, Lit(0), Lit(-2));
        rel_bt.relative = true;
        let mut rel_bj = bj(3, Lit(-1));
        rel_bj.relative = true;
        rel_bj.string = Some(StringBase::Hex);
        let ms = vec![
            content(b"a").pm(),
            PayloadMatch::ByteTest(rel_bt),
            PayloadMatch::ByteJump(rel_bj),
            PayloadMatch::ByteExtract(be(2, 1, 0)),
            content(b"b").distance(Var(0)).within(Lit(4)).pm(),
            pcre("[a-c]+", "R"),
            isdataat(Var(0), true, true),
            PayloadMatch::ByteMath(bm(1, -1, MathOp::Shl, Var(0), 1)),
            content(b"c").offset(Var(1)).depth(Var(0)).neg().pm(),
        ];
        let l = compiled(&ms);
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for len in 0..64 {
            for _ in 0..50 {
                let buf: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        b"abc\x00\x01\xff09xA "[(x % 11) as usize]
                    })
                    .collect();
                let _ = run_with(&l, &buf);
            }
        }
    }

    #[test]
    fn verify_pcre_rewrites_never_panic() {
        const PIECES: &[&str] =
            &["$", "\\", "[", "]", "[:", ":]", "^", "\\Q", "\\E", "(?", "m", "x", ")", "(*UTF)", "a", "#", "\n", "é"];
        let mut x: u64 = 0xb7e151628aed2a6a;
        for _ in 0..3000 {
            let mut e = String::new();
            for _ in 0..(x % 9) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                e.push_str(PIECES[(x % PIECES.len() as u64) as usize]);
            }
            for flags in ["E", "A", "EAG", "xA", "xEm", "R"] {
                let _ = compile(&list(Buffer::Sticky("b".into()), vec![pcre(&e, flags)]));
            }
        }
    }

    #[test]
    fn verify_strtoull() {
        assert_eq!(strtoull(b"123", 10), Some((123, 3)));
        assert_eq!(strtoull(b" -1", 10), Some((u64::MAX, 3)));
        assert_eq!(strtoull(b"0x", 16), Some((0, 1)));
        assert_eq!(strtoull(b"0x1g", 16), Some((1, 3)));
        assert_eq!(strtoull(b"1\x002", 10), Some((1, 1)));
        assert_eq!(strtoull(b"", 10), None);
        assert_eq!(strtoull(b"x", 10), None);
        assert_eq!(strtoull(b"18446744073709551615", 10), Some((u64::MAX, 20)));
        assert_eq!(strtoull(b"18446744073709551616", 10), None);
        assert_eq!(strtoull(b"017", 0), Some((15, 3)));
    }

    // ---------------------------------------------------------------- property

    /// For random buffers and single contents with offset/depth, `inspect` agrees with a
    /// naive window scan.
    #[test]
    fn verify_property_single_content_matches_naive() {
        let mut x: u64 = 0x243f6a8885a308d3;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        const ALPHA: &[u8] = b"abcA";
        let mut outcomes = [0u32; 2];
        for _ in 0..20000 {
            let blen = next(24) as usize;
            let buf: Vec<u8> = (0..blen).map(|_| ALPHA[next(4) as usize]).collect();
            let plen = 1 + next(3) as usize;
            let pat: Vec<u8> = (0..plen).map(|_| ALPHA[next(4) as usize]).collect();
            let nocase = next(2) == 0;
            let negated = next(4) == 0;
            let offset = if next(2) == 0 { Some(next(14) as i64) } else { None };
            let depth = if next(2) == 0 { Some(plen as i64 + next(14) as i64) } else { None };
            let mut c = content(&pat);
            c.0.nocase = nocase;
            c.0.negated = negated;
            c.0.offset = offset.map(Lit);
            c.0.depth = depth.map(Lit);
            let got = run(&[c.pm()], &buf);
            // naive: an occurrence starting at or after offset and ending within
            // offset + depth (and the buffer)
            let o = offset.unwrap_or(0) as usize;
            let end = depth.map(|d| (o + d as usize).min(blen)).unwrap_or(blen);
            let eq = |a: &[u8], b: &[u8]| {
                if nocase {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }
            };
            let found = (o..=end.saturating_sub(plen)).any(|p| p + plen <= end && eq(&buf[p..p + plen], &pat));
            assert_eq!(
                got,
                found != negated,
                "buf {buf:?} pat {pat:?} nocase {nocase} neg {negated} offset {offset:?} depth {depth:?}"
            );
            outcomes[got as usize] += 1;
        }
        assert!(outcomes[0] > 2000 && outcomes[1] > 2000, "{outcomes:?}");
    }

    /// A relative content after an absolute one agrees with a naive search over all the
    /// first content's occurrences (the backtracking Suricata does for `within`).
    #[test]
    fn verify_property_backtracking_matches_naive() {
        let mut x: u64 = 0x13198a2e03707344;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        const ALPHA: &[u8] = b"ab";
        let mut outcomes = [0u32; 2];
        for _ in 0..20000 {
            let blen = next(16) as usize;
            let buf: Vec<u8> = (0..blen).map(|_| ALPHA[next(2) as usize]).collect();
            let p1: Vec<u8> = (0..1 + next(2) as usize).map(|_| ALPHA[next(2) as usize]).collect();
            let p2: Vec<u8> = (0..1 + next(2) as usize).map(|_| ALPHA[next(2) as usize]).collect();
            let distance = next(4) as i64;
            let within = p2.len() as i64 + next(3) as i64;
            let ms = [content(&p1).pm(), content(&p2).distance(Lit(distance)).within(Lit(within)).pm()];
            let got = run(&ms, &buf);
            let occ = |p: &[u8], from: usize, to: usize| {
                (from..to.min(blen)).any(|i| i + p.len() <= to.min(blen) && buf[i..i + p.len()] == *p)
            };
            let want = (0..blen).filter(|&i| i + p1.len() <= blen && buf[i..i + p1.len()] == *p1).any(|i| {
                let e = i + p1.len();
                occ(&p2, e + distance as usize, e + distance as usize + within as usize)
            });
            assert_eq!(got, want, "buf {buf:?} p1 {p1:?} p2 {p2:?} distance {distance} within {within}");
            outcomes[got as usize] += 1;
        }
        assert!(outcomes[0] > 2000 && outcomes[1] > 2000, "{outcomes:?}");
    }
}
