//! Load time: a buffer's payload keywords compiled into the list [`super::inspect`] walks,
//! with Suricata's load-time rewrites.

use pcre2::bytes::{Regex, RegexBuilder};

use crate::rule::ast::{Buffer, BufferList, Content, Num, NumCmp, PayloadMatch, Pcre, Rule, MAX_VARS};

use super::*;

/// Compiles a buffer's keyword list (see [`compile_rule_list`]).
pub fn compile(list: &BufferList) -> Result<CompiledList, String> {
    compile_rule_list(list, None, None)
}

/// The rule's `base64_data` list, if it has one.
pub fn base64_data_of(r: &Rule) -> Option<&BufferList> {
    r.buffers.iter().find(|b| b.buffer == Buffer::Base64Data)
}

/// Compiles a buffer's keyword list (see [`compile_rule_list`]).
pub fn compile_with_dsize(list: &BufferList, dsize: Option<&NumCmp>) -> Result<CompiledList, String> {
    compile_rule_list(list, dsize, None)
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
///
/// `base64_data`: the rule's `base64_data` list, which each `base64_decode` of this list
/// hands its decoded bytes to.
pub fn compile_rule_list(
    list: &BufferList,
    dsize: Option<&NumCmp>,
    base64_data: Option<&BufferList>,
) -> Result<CompiledList, String> {
    let sticky = list.buffer != Buffer::Payload;
    let mut items: Vec<Item> = Vec::with_capacity(list.matches.len());
    for m in &list.matches {
        match m {
            PayloadMatch::Content(c) => push_content(&mut items, compile_content(c)?),
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
                items.push(Item::Pcre(Box::new(it)));
            }
            PayloadMatch::ByteTest(t) => {
                check_num(&t.offset, "byte_test offset")?;
                check_num(&t.value, "byte_test value")?;
                push_relative(&mut items, Item::ByteTest(t.clone()), t.relative, sticky);
            }
            PayloadMatch::ByteJump(j) => {
                check_num(&j.offset, "byte_jump offset")?;
                push_relative(&mut items, Item::ByteJump(j.clone()), j.relative, sticky);
            }
            PayloadMatch::ByteExtract(e) => {
                check_slot(e.var, "byte_extract variable")?;
                push_relative(&mut items, Item::ByteExtract(e.clone()), e.relative, sticky);
            }
            PayloadMatch::ByteMath(b) => {
                check_slot(b.result, "byte_math result")?;
                check_num(&b.rvalue, "byte_math rvalue")?;
                push_relative(&mut items, Item::ByteMath(b.clone()), b.relative, sticky);
            }
            PayloadMatch::IsDataAt(d) => push_isdataat(&mut items, d, sticky)?,
            PayloadMatch::Bsize(n) => {
                // detect-bsize.c: bsize needs a sticky buffer
                if !sticky {
                    return Err("bsize needs a sticky buffer, not the packet payload".into());
                }
                items.push(Item::Bsize(*n))
            }
            PayloadMatch::Urilen(n) => items.push(Item::Urilen(*n)),
            PayloadMatch::Dataset(d) => {
                if !sticky {
                    return Err("datasets are only supported for sticky buffers".into());
                }
                let set = crate::detect::dataset::get_or_create(&d.decl, false)?;
                let mut context_key = Vec::new();
                if set.json.is_some() && !d.context_key.is_empty() {
                    crate::output::eve::escape_into(&mut context_key, d.context_key.as_bytes());
                    context_key.push(b':');
                }
                let context_key = context_key.into_boxed_slice();
                items.push(Item::Dataset(DatasetItem { set, cmd: d.cmd, subdomain: d.subdomain, context_key }))
            }
            PayloadMatch::Datarep(d) => {
                if !sticky {
                    return Err("datarep is only supported for sticky buffers".into());
                }
                let set = crate::detect::dataset::get_or_create(&d.decl, true)?;
                items.push(Item::Datarep(DatarepItem { set, op: d.op, value: d.value }))
            }
            PayloadMatch::Entropy(e) => items.push(Item::Entropy(*e)),
            PayloadMatch::Base64Decode(d) => {
                let data = match base64_data {
                    // the decoded data's own base64_decode keywords see no base64_data list
                    Some(l) if list.buffer != Buffer::Base64Data => Some(Box::new(compile_rule_list(l, None, None)?)),
                    _ => None,
                };
                // relative to the previous match, but not retried with its next occurrence
                items.push(Item::Base64Decode(Base64Item { d: *d, data }));
            }
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
    Ok(CompiledList { items: items.into() })
}

/// Appends a content; a relative one flags the previous content or pcre of the list
/// (detect-within.c / detect-distance.c).
fn push_content(items: &mut Vec<Item>, it: ContentItem) {
    if it.relative {
        if let Some(p) = last_index(items, Item::is_content_or_pcre) {
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

/// Appends a byte_* keyword; a relative one flags the match it is relative to.
fn push_relative(items: &mut Vec<Item>, it: Item, relative: bool, sticky: bool) {
    let anchor = if relative { relative_anchor(items, sticky) } else { None };
    items.push(it);
    if let Some(i) = anchor {
        // In bounds: i is a position relative_anchor found in items before the push.
        set_relative_next(&mut items[i]);
    }
}

/// Appends an isdataat, or turns `isdataat:!1,relative` right after a content into that
/// content's endswith (detect-isdataat.c; Suricata compares the raw field, so a variable in
/// slot 1 counts as 1 too).
fn push_isdataat(items: &mut Vec<Item>, d: &IsDataAt, sticky: bool) -> Result<(), String> {
    check_num(&d.offset, "isdataat")?;
    if let Num::Lit(v) = d.offset {
        if !(0..=65535).contains(&v) {
            return Err(format!("isdataat out of range: {v}"));
        }
    }
    let anchor = if d.relative { relative_anchor(items, sticky) } else { None };
    let one = matches!(d.offset, Num::Lit(1) | Num::Var(1));
    if let Some(i) = anchor {
        if one && d.negated && d.relative {
            // In bounds: i is a position relative_anchor found in items.
            if let Item::Content(c) = &mut items[i] {
                c.ends_with = true;
                return Ok(());
            }
        }
    }
    push_relative(items, Item::IsDataAt(d.clone()), d.relative, sticky);
    Ok(())
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
    let code = shared_pcre(pat, flags).map_err(|e| format!("pcre \"{}\" failed to compile: {}", p.expr, e))?;
    Ok(PcreItem {
        code,
        expr: p.expr.clone(),
        negated: p.negated,
        relative: p.relative,
        relative_next: false,
        anchor_check,
        caps: p
            .captures
            .iter()
            .filter_map(|c| {
                let (kind, name) = c.split_once('_')?;
                let kind = match kind {
                    "pkt" => CapKind::Pkt,
                    "flow" => CapKind::Flow,
                    _ => CapKind::Alert,
                };
                Some((kind, name.into()))
            })
            .collect(),
    })
}

type PcreKey = (String, [bool; 4]);

/// The compiled expressions of the engines alive in this process: a rule set's items with
/// the same expression and flags share one compiled form (its code, match-data pool and JIT
/// code), which half of ET Open's are, and a rule reload, built while the running engine
/// still inspects packets, shares the running engine's instead of compiling copies. Weak, so
/// that an engine's expressions go with it.
static PCRE_CODE: std::sync::Mutex<Option<std::collections::HashMap<PcreKey, std::sync::Weak<PcreCode>>>> =
    std::sync::Mutex::new(None);

/// The compiled form of `pat` with `flags`: one already in use, or compiled now.
fn shared_pcre(pat: String, flags: [bool; 4]) -> Result<std::sync::Arc<PcreCode>, pcre2::Error> {
    let key = (pat, flags);
    let found = PCRE_CODE.lock().ok().and_then(|m| m.as_ref()?.get(&key).and_then(std::sync::Weak::upgrade));
    if let Some(c) = found {
        return Ok(c);
    }
    let re = build_pcre(&key.0, flags, false)?;
    let code = std::sync::Arc::new(PcreCode { re, jit: std::sync::OnceLock::new(), pat: key.0.clone(), flags });
    if let Ok(mut m) = PCRE_CODE.lock() {
        let m = m.get_or_insert_with(Default::default);
        // Entries of freed engines are dropped as the map grows (bounded by the live ones).
        if m.len() >= 1024 && m.len().is_power_of_two() {
            m.retain(|_, w| w.strong_count() > 0);
        }
        m.insert(key, std::sync::Arc::downgrade(&code));
    }
    Ok(code)
}

/// A load is over: forgets the expressions no live engine uses (the map holds only the
/// running engines' ones between loads).
pub(crate) fn end_shared_pcre() {
    if let Ok(mut m) = PCRE_CODE.lock() {
        if let Some(m) = m.as_mut() {
            m.retain(|_, w| w.strong_count() > 0);
            m.shrink_to_fit();
        }
    }
}

pub(super) fn build_pcre(pat: &str, f: [bool; 4], jit: bool) -> Result<Regex, pcre2::Error> {
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
