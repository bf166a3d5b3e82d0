//! rule_parse: the input is one rule's text (lossy UTF-8). Parses it with the default config's
//! variables; a rule that parses has each of its buffer keyword lists compiled and run over a
//! fixed small buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::config::Config;
use picket::detect::verify::{self, VerifyScratch};
use picket::rule::{parse_rule, Keywords, ParseContext};
use std::sync::OnceLock;

const BUFS: [&[u8]; 3] = [
    b"GET /index.exe HTTP/1.1\r\nHost: example.com\r\nUser-Agent: picket\r\n\r\nMZ\x90\x00\x03\x00",
    b"\x00\x01\x02\x03\xff\xfe\x7f\x80 1234 0x41 abcABC",
    b"",
];

fn base_ctx() -> &'static ParseContext {
    static CTX: OnceLock<ParseContext> = OnceLock::new();
    CTX.get_or_init(|| ParseContext::new(&Config::default().vars))
}

/// The keyword table the sensor reads rules with.
fn keywords() -> &'static Keywords {
    static K: OnceLock<Keywords> = OnceLock::new();
    K.get_or_init(|| Keywords::new(picket::app::keywords()))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut ctx = base_ctx().clone();
    ctx.set_origin("fuzz.rules", 1);
    let Ok(rule) = parse_rule(&text, keywords(), &mut ctx) else { return };
    for list in &rule.buffers {
        let Ok(compiled) = verify::compile(list) else { continue };
        let mut scratch = VerifyScratch::default();
        for buf in BUFS {
            let mut vars = [0i64; picket::rule::ast::MAX_VARS];
            let _ = verify::inspect(&compiled, buf, &mut vars, &mut scratch);
        }
    }
});
