//! metrics_http: the input is what a client sends to the metrics port, cut into reads. The first
//! byte picks the read size; the head is judged after every read as the endpoint does. Any bytes
//! must give `Partial` or an answer (never a panic), an answer must be a well-formed HTTP/1.1
//! response whose Content-Length is its body's length, and a head over MAX_HEAD is refused.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use picket::metrics::endpoint::{parse_head, render_answer, Answer, Head, MAX_HEAD};
use picket::metrics::prom::MetricsHub;

fn hub() -> &'static Arc<MetricsHub> {
    static HUB: OnceLock<Arc<MetricsHub>> = OnceLock::new();
    HUB.get_or_init(|| Arc::new(MetricsHub::new(2, 7)))
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else { return };
    let step = usize::from(step % 64) + 1;
    let mut buf = Vec::new();
    for read in rest.chunks(step) {
        if buf.len() + read.len() > MAX_HEAD {
            assert_eq!(parse_head(&[buf.as_slice(), read].concat()), Head::Answer(Answer::TooLarge));
            return;
        }
        buf.extend_from_slice(read);
        if let Head::Answer(a) = parse_head(&buf) {
            let out = render_answer(a, hub());
            let text = String::from_utf8(out).expect("responses are text");
            assert!(text.starts_with("HTTP/1.1 "), "{text}");
            let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.parse().ok())
                .expect("a Content-Length");
            assert_eq!(len, body.len());
            return;
        }
    }
});
