//! http: the input is split into a request part and a response part (the first two bytes
//! say where), and both are fed to an HttpState in chunks whose sizes come from a small PRNG
//! seeded by the third byte, alternating directions, with a gap now and then, then both
//! directions are closed. Small limits make every cap reachable. After every call the
//! buffers must be within their caps; no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::app::http::{HttpBuffer, HttpConfig, HttpState, HttpStats};

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let cfg = HttpConfig {
        request_body_limit: 512,
        response_body_limit: 1024,
        decompress_layer_limit: 3,
        max_header_bytes: 256,
        max_headers: 16,
        max_txs: 8,
        max_raw_header_bytes: 1024,
        ..HttpConfig::default()
    };
    let split = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let mut rng = u32::from(data[2]) | 0x9e37_0000;
    let body = &data[3..];
    let cut = if body.is_empty() { 0 } else { split % (body.len() + 1) };
    let (req, res) = body.split_at(cut);
    let mut st = HttpState::new(&cfg);
    let mut stats = HttpStats::default();
    let (mut a, mut b) = (req, res);
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        rng
    };
    while !a.is_empty() || !b.is_empty() {
        for (to_server, part) in [(true, &mut a), (false, &mut b)] {
            if part.is_empty() {
                continue;
            }
            let r = next();
            if r % 61 == 0 {
                st.gap(to_server, u64::from(r % 7) + 1, &mut stats);
            }
            let n = ((r >> 8) as usize % 97 + 1).min(part.len());
            let (now, rest) = part.split_at(n);
            st.parse(to_server, now, &mut stats);
            *part = rest;
            check(&st, &cfg);
        }
    }
    st.eof(true, &mut stats);
    st.eof(false, &mut stats);
    check(&st, &cfg);
    while st.take_done().is_some() {}
});

fn check(st: &HttpState, cfg: &HttpConfig) {
    assert!(st.pending_bytes() <= 2 * (cfg.max_header_bytes + 64), "pending {}", st.pending_bytes());
    assert!(st.tx_count() <= cfg.max_txs + 2, "txs {}", st.tx_count());
    for t in st.txs() {
        assert!(t.request.body.len() <= cfg.request_body_limit);
        assert!(t.response.body.len() <= cfg.response_body_limit);
        assert!(t.request.raw_headers.len() <= cfg.max_raw_header_bytes);
        assert!(t.response.raw_headers.len() <= cfg.max_raw_header_bytes);
        assert!(t.request.headers.len() <= cfg.max_headers);
        assert!(t.response.headers.len() <= cfg.max_headers);
        for b in [HttpBuffer::Header, HttpBuffer::Start, HttpBuffer::HeaderNames, HttpBuffer::Uri] {
            let _ = t.buffer(b, true);
            let _ = t.buffer(b, false);
        }
    }
}
