//! Per buffer: the list walked with Suricata's cursor and backtracking semantics.

use crate::rule::ast::{
    ByteEndian, ByteExtract, ByteJump, ByteMath, ByteOp, ByteTest, Entropy, IsDataAt, MathOp, Num, StringBase, MAX_VARS,
};

use super::compile::build_pcre;
use super::*;

/// Substring search, ASCII case-insensitive when `nocase` (first occurrence, as Suricata's
/// single-pattern matchers return). No per-pattern tables: a large rule set holds hundreds of
/// thousands of these, and SIMD byte search (memchr) is fast without them.
#[derive(Debug)]
pub(super) struct Searcher {
    /// The pattern, lowercased for nocase.
    pat: Box<[u8]>,
    nocase: bool,
}

impl Searcher {
    pub(super) fn new(p: &[u8], nocase: bool) -> Searcher {
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
    let mut b64 = std::mem::take(&mut scratch.base64);
    let mut ix = Inspector {
        items: &list.items,
        buf,
        len: buf.len() as u32,
        vars,
        views: &mut scratch.datasets,
        context: &mut scratch.context,
        caps: &mut scratch.caps,
        buffer_offset: 0,
        pcre_match_start: 0,
        count: 0,
        limit: scratch.recursion_limit,
        b64: &mut b64,
        entropy: &mut scratch.entropy,
        entropy_slot: 0,
    };
    let r = ix.run(0);
    let (count, limit) = (ix.count, ix.limit);
    scratch.base64 = b64;
    scratch.last_evaluations = count;
    if limit != 0 && count >= limit {
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
    views: &'a mut crate::detect::dataset::Views,
    /// The contexts of matched JSON set entries ([`VerifyScratch::context`]).
    context: &'a mut Vec<u8>,
    /// pcre captures into packet and flow variables ([`VerifyScratch::caps`]).
    caps: &'a mut super::Captures,
    /// det_ctx->buffer_offset
    buffer_offset: u32,
    /// det_ctx->pcre_match_start_offset
    pcre_match_start: u32,
    count: u32,
    limit: u32,
    /// Scratch for `base64_decode` (taken while a decoded buffer is inspected).
    b64: &'a mut Vec<u8>,
    /// Entropy values computed ([`VerifyScratch::entropy`]).
    entropy: &'a mut [Option<f64>; 2],
    /// Which of them this list's are: 0 the buffer's, 1 `base64_data`'s.
    entropy_slot: usize,
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
            Item::Dataset(d) => {
                if self.dataset(d) {
                    self.matched(idx)
                } else {
                    DISCONTINUE
                }
            }
            Item::Datarep(d) => {
                if self.datarep(d) {
                    self.matched(idx)
                } else {
                    DISCONTINUE
                }
            }
            Item::Entropy(e) => {
                let value = entropy_of(e, self.buf);
                if let (Some(v), Some(slot)) = (value, self.entropy.get_mut(self.entropy_slot)) {
                    *slot = Some(v);
                }
                if value.is_some_and(|v| e.cmp.matches(v)) {
                    self.matched(idx)
                } else {
                    NO_MATCH
                }
            }
            Item::Base64Decode(b) => self.base64(b),
        }
    }

    /// `DetectDatasetBufferMatch`: the whole buffer; an empty one never matches. A buffer
    /// whose length does not fit the set's type is "not in the set".
    fn dataset(&mut self, d: &DatasetItem) -> bool {
        use crate::detect::dataset::{buffer_key, Added};
        use crate::rule::ast::DatasetCmd;
        if self.buf.is_empty() {
            return false;
        }
        let mut tmp = [0u8; 16];
        let key = buffer_key(d.set.kind, self.buf, &mut tmp);
        match d.cmd {
            DatasetCmd::IsSet | DatasetCmd::IsNotSet => {
                let found = key.and_then(|k| {
                    let snap = self.views.get(&d.set);
                    snap.get(k).or_else(|| if d.subdomain { parent_domain_in(snap, k) } else { None })
                });
                self.views.lookups += 1;
                self.views.hits += u64::from(found.is_some());
                if let Some(ctx) = found.filter(|_| !d.context_key.is_empty()).and_then(|r| d.set.context(r)) {
                    // Suricata's DetectDatajsonBufferMatch: `"key":object` if it fits its item.
                    if ctx.len() + d.context_key.len() < crate::detect::dataset::CONTEXT_ITEM_MAX {
                        if !self.context.is_empty() {
                            self.context.push(b',');
                        }
                        self.context.extend_from_slice(&d.context_key);
                        self.context.extend_from_slice(ctx.as_bytes());
                    }
                }
                found.is_some() == (d.cmd == DatasetCmd::IsSet)
            }
            DatasetCmd::Set => key.is_some_and(|k| {
                // Already there (the common case): no lock.
                self.views.get(&d.set).get(k).is_none() && d.set.add(k, 0) == Added::New
            }),
            DatasetCmd::Unset => key.is_some_and(|k| self.views.get(&d.set).get(k).is_some() && d.set.remove(k)),
        }
    }

    /// `DetectDatarepBufferMatch`: found, and its reputation compares.
    fn datarep(&mut self, d: &DatarepItem) -> bool {
        use crate::detect::dataset::buffer_key;
        use crate::rule::ast::RepOp;
        if self.buf.is_empty() {
            return false;
        }
        let mut tmp = [0u8; 16];
        let Some(key) = buffer_key(d.set.kind, self.buf, &mut tmp) else { return false };
        let found = self.views.get(&d.set).get(key);
        self.views.lookups += 1;
        self.views.hits += u64::from(found.is_some());
        match found {
            Some(r) => match d.op {
                RepOp::Gt => r > u32::from(d.value),
                RepOp::Lt => r < u32::from(d.value),
                RepOp::Eq => r == u32::from(d.value),
            },
            None => false,
        }
    }

    /// `base64_decode` (Suricata's `DetectBase64DecodeDoMatch`): decodes part of the buffer
    /// and inspects it with the rule's `base64_data` list, a terminal list: when it matches,
    /// the whole list matches; otherwise (or without such a list) this does not match.
    fn base64(&mut self, b: &Base64Item) -> i32 {
        let Some(data) = b.data.as_deref() else { return NO_MATCH };
        let mut from = if b.d.relative { self.buffer_offset as usize } else { 0 };
        let mut rest = self.buf.len().saturating_sub(from);
        if b.d.offset > 0 {
            if b.d.offset as usize >= rest {
                return NO_MATCH;
            }
            from += b.d.offset as usize;
            rest -= b.d.offset as usize;
        }
        let n = rest.min(usize::from(b.d.bytes));
        let mut decoded = std::mem::take(self.b64);
        decoded.clear();
        if let Some(src) = self.buf.get(from..from + n) {
            crate::detect::transform::base64_decode(crate::rule::ast::Base64Mode::Rfc4648, src, &mut decoded);
        }
        let r = if decoded.is_empty() {
            NO_MATCH
        } else {
            let mut nested = Inspector {
                items: &data.items,
                buf: &decoded,
                len: decoded.len().min(u32::MAX as usize) as u32,
                vars: &mut *self.vars,
                views: &mut *self.views,
                context: &mut *self.context,
                caps: &mut *self.caps,
                buffer_offset: 0,
                pcre_match_start: 0,
                count: self.count,
                limit: self.limit,
                b64: &mut Vec::new(),
                entropy: &mut *self.entropy,
                entropy_slot: 1,
            };
            let r = if data.items.is_empty() { MATCH } else { nested.run(0) };
            self.count = nested.count;
            r
        };
        *self.b64 = decoded;
        if r == MATCH {
            MATCH
        } else {
            NO_MATCH
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
        let c = &*p.code;
        let re = c.jit.get_or_init(|| build_pcre(&c.pat, c.flags, true).ok()).as_ref().unwrap_or(&c.re);
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
                        if !p.caps.is_empty() {
                            self.capture(p, re, subject, start);
                        }
                        true
                    }
                }
            }
        }
    }

    /// The groups of a matching capturing pcre, stored as Suricata's DetectPcrePayloadMatch
    /// does: alert variables into the alert's context at once, packet and flow variables
    /// until the rule matches (values past 64 KiB cut, as Suricata's 16-bit lengths).
    fn capture(&mut self, p: &PcreItem, re: &pcre2::bytes::Regex, subject: &[u8], start: usize) {
        // by the expression's address; a reloaded rule set may reuse one, so the group count
        // is checked too (match data only needs room for the groups)
        let key = re as *const pcre2::bytes::Regex as usize;
        let mut locs = std::mem::take(&mut self.caps.locs);
        let i = match locs.iter().position(|(k, l)| *k == key && l.len() == re.captures_len()) {
            Some(i) => i,
            None => {
                locs.retain(|(k, _)| *k != key);
                locs.push((key, re.capture_locations()));
                locs.len() - 1
            }
        };
        if let Some((_, loc)) = locs.get_mut(i) {
            if matches!(re.captures_read_at(loc, subject, start), Ok(Some(_))) {
                self.store_captures(p, loc, subject);
            }
        }
        self.caps.locs = locs;
    }

    fn store_captures(&mut self, p: &PcreItem, loc: &pcre2::bytes::CaptureLocations, subject: &[u8]) {
        for (n, (kind, name)) in p.caps.iter().enumerate() {
            let Some((s, e)) = loc.get(n + 1) else { continue };
            let v = subject.get(s..e.min(s + 0xffff)).unwrap_or(&[]);
            match kind {
                CapKind::Alert => {
                    if !self.context.is_empty() {
                        self.context.push(b',');
                    }
                    crate::output::eve::escape_into(self.context, name.as_bytes());
                    self.context.push(b':');
                    crate::output::eve::escape_into(self.context, v);
                }
                k => self.caps.push(*k, name, v),
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

    /// The number of bytes a byte keyword reads: its own, or its variable's value when that
    /// is a valid count (1 to `max`).
    fn nbytes(&self, n: u8, var: Option<u8>, max: u64) -> Option<u8> {
        match var {
            None => Some(n),
            Some(s) => {
                let v = self.var(s);
                (1..=max).contains(&v).then_some(v as u8)
            }
        }
    }

    fn byte_test(&mut self, t: &ByteTest) -> bool {
        if self.len == 0 {
            return false;
        }
        let max = if t.string.is_some() { 23 } else { 8 };
        let Some(nb) = self.nbytes(t.nbytes, t.nbytes_var, max) else { return false };
        let offset = self.num_i32(t.offset);
        let value: u64 = match t.value {
            Num::Lit(v) => v as u64,
            Num::Var(s) => self.var(s),
        };
        let nbytes = nb as i64;
        let Some((pos, _)) = self.byte_pos(offset, t.relative, nbytes, true) else { return false };
        let Some((mut val, _)) = extract(self.buf, pos as usize, nb as usize, t.string, little(t.endian)) else {
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
        let max = if j.string.is_some() { 23 } else { 8 };
        // Suricata: a variable holding 0 reads no bytes and jumps from where they would start
        // (binary only; a string of no digits is an error there)
        let nb = match (j.nbytes_var, j.string) {
            (Some(v), None) if self.var(v) == 0 => 0,
            _ => match self.nbytes(j.nbytes, j.nbytes_var, max) {
                Some(n) => n,
                None => return false,
            },
        };
        let nbytes = nb as i64;
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
        let Some((mut val, extbytes)) = extract(self.buf, pos as usize, nb as usize, j.string, little(j.endian)) else {
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
        let max = if b.string.is_some() { 10 } else { 4 };
        let Some(nb) = self.nbytes(b.nbytes, b.nbytes_var, max) else { return false };
        let nbytes = nb as i64;
        let Some((pos, _)) = self.byte_pos(b.offset, b.relative, nbytes, true) else { return false };
        let Some((mut val, extbytes)) = extract(self.buf, pos as usize, nb as usize, b.string, little(b.endian)) else {
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

/// `entropy` (Suricata's `SCDetectEntropyMatch`): the Shannon entropy of the buffer, from a
/// positive offset, over a positive byte count; either beyond the buffer: none (no match).
fn entropy_of(e: &Entropy, buf: &[u8]) -> Option<f64> {
    let mut data = buf;
    if e.offset > 0 {
        data = data.get(e.offset as usize..)?;
    }
    if e.bytes > 0 {
        data = data.get(..e.bytes as usize)?;
    }
    Some(shannon_entropy(data))
}

/// Bits per byte of `data` (0 for nothing), summed in byte order as Suricata does.
pub(crate) fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut freq = [0u32; 256];
    for &b in data {
        freq[usize::from(b)] += 1;
    }
    let len = data.len() as f64;
    freq.iter().fold(0.0, |h, &n| {
        if n > 0 {
            let p = f64::from(n) / len;
            h - p * p.log2()
        } else {
            h
        }
    })
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
pub(super) fn strtoull(s: &[u8], base: u32) -> Option<(u64, usize)> {
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

/// Suricata's subdomain walk: each suffix starting at a dot that follows a non-dot (at most
/// 126 of them), dot included, looked up; the value of the first found.
fn parent_domain_in(snap: &crate::detect::dataset::Snapshot, data: &[u8]) -> Option<u32> {
    let mut lookups = 0;
    for i in 1..data.len() {
        // In bounds: 1 <= i < data.len().
        if data[i] == b'.' && data[i - 1] != b'.' {
            lookups += 1;
            if lookups > 126 {
                break;
            }
            if let Some(r) = snap.get(&data[i..]) {
                return Some(r);
            }
        }
    }
    None
}
