//! Verification tests: one table of keyword cases, each checked as Suricata answers it.

use super::inspect::strtoull;
use super::*;
use crate::rule::ast::{
    Buffer, BufferList, ByteEndian, ByteExtract, ByteJump, ByteMath, ByteOp, ByteTest, Content, IsDataAt, MathOp, Num,
    Num::Lit, Num::Var, NumCmp, PayloadMatch, Pcre, StringBase, MAX_VARS,
};

// ---------------------------------------------------------------- builders

#[derive(Clone)]
struct C(Content);

fn content(p: &[u8]) -> C {
    C(Content::new(p.to_vec()))
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
        nbytes_var: None,
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
        nbytes_var: None,
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
        nbytes_var: None,
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
    BufferList { buffer, transforms: vec![], matches, direction: None }
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
            vec![content(b"AllWorkAndNoPlayMakesWill").pm(), content(b"DullBoy").distance(Lit(1)).within(Lit(7)).pm()],
            HTTP,
            true,
        ),
        (
            "distance 0 within 7 too short",
            vec![content(b"AllWorkAndNoPlayMakesWill").pm(), content(b"DullBoy").distance(Lit(0)).within(Lit(7)).pm()],
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
        ("negated relative retried", vec![content(b"a").pm(), content(b"b").neg().within(Lit(1)).pm()], b"ab ac", true),
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

#[test]
fn verify_pcre_captures_go_to_context_and_variables() {
    let mut m = pcre(r"^([a-zA-Z]+).*Ubuntu/(\d+\.\d).*Firefox/(.*)", "");
    if let PayloadMatch::Pcre(p) = &mut m {
        p.captures = vec!["alert_user_agent".into(), "flow_ubuntu".into(), "pkt_firefox".into()];
    }
    let l = compiled(&[m]);
    let (ok, _, s) = run_with(&l, b"Mozilla/5.0 (X11; Ubuntu/8.1 Firefox/3.0.13");
    assert!(ok);
    assert_eq!(s.context, br#""user_agent":"Mozilla""#.to_vec());
    let caps: Vec<_> = s.caps.iter().map(|(k, n, v)| (k, n.to_vec(), v.to_vec())).collect();
    assert_eq!(
        caps,
        vec![
            (CapKind::Flow, b"ubuntu".to_vec(), b"8.1".to_vec()),
            (CapKind::Pkt, b"firefox".to_vec(), b"3.0.13".to_vec())
        ]
    );
    // no match, no capture
    let (ok, _, s) = run_with(&l, b"curl/7.1");
    assert!(!ok && s.context.is_empty() && s.caps.is_empty());
}

// ---------------------------------------------------------------- isdataat

#[test]
fn verify_isdataat() {
    // suricata-verify issue-8031-01-isdataat: a 32-byte buffer starting with "a"
    let mut b32 = vec![b'a'];
    b32.extend(std::iter::repeat_n(b'x', 31));
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
            vec![content(b"GET ").depth(Lit(4)).pm(), content(b"HTTP/1.").pm(), s(1, Le, 0, 0, StringBase::Dec, true)],
            REQ,
            true,
        ),
        (
            "relative >= 0",
            vec![content(b"GET ").depth(Lit(4)).pm(), content(b"HTTP/1.").pm(), s(1, Ge, 0, 0, StringBase::Dec, true)],
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

#[test]
fn verify_byte_jump_nbytes_from_a_variable() {
    // suricata-verify detect-bytejump-02: the extracted length is 0, which reads nothing and
    // jumps nowhere (the cursor stays after the extracted byte)
    let mut rel = be(1, 4, 0);
    rel.relative = true;
    let mut j = bj(1, Lit(0));
    j.nbytes_var = Some(0);
    j.relative = true;
    let ms = |j: ByteJump| {
        vec![
            content(&[0, 0, 0]).pm(),
            PayloadMatch::ByteExtract(rel.clone()),
            PayloadMatch::ByteJump(j),
            isdataat(Lit(1), true, false),
        ]
    };
    const BUF: &[u8] = &[0, 0, 0, 5, 0x34, 0x23, 6, 0, 0x21, 0x0a];
    assert!(run(&ms(j.clone()), BUF));
    // the cursor stays at 8 of 10: isdataat:3,relative does not hold
    let mut far = ms(j.clone());
    far[3] = isdataat(Lit(3), true, false);
    assert!(!run(&far, BUF));
    // a length of 2 reads [0x21 0x0a] and jumps past the end
    let mut two = BUF.to_vec();
    two[7] = 2;
    assert!(!run(&ms(j.clone()), &two));
    // more than 8 bytes: no match
    two[7] = 9;
    assert!(!run(&ms(j.clone()), &two));
    // string mode needs digits
    j.string = Some(StringBase::Dec);
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
        ("as byte_test value", vec![ex(1, 0, 0), PayloadMatch::ByteTest(bt(1, ByteOp::Eq, Var(0), Lit(0)))], buf, true),
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
        ("little", vec![PayloadMatch::ByteExtract(le), content(b"Q").offset(Var(0)).pm()], &[4, 0, 0, 0, b'Q'], true),
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

/// ET Open keeps some 55,000 compiled lists and 25,000 compiled rules for the engine's life
/// (and grows the rule vector by doubling while it loads): the common item (a content) and
/// the compiled rule must not carry the size of their rare large parts.
#[test]
fn compiled_items_and_rules_stay_small() {
    use std::mem::size_of;
    assert!(size_of::<Item>() <= 96, "Item is {} bytes: box its large variants", size_of::<Item>());
    let cr = size_of::<crate::detect::engine::CompiledRule>();
    assert!(cr <= 512, "CompiledRule is {cr} bytes: box the parse tree");
}
