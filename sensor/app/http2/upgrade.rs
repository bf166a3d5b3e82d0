//! HTTP/2 after an HTTP/1 upgrade (`Upgrade: h2c` answered by `101 Switching Protocols`).
//!
//! Takes: the request the HTTP/1 connection upgraded with ([`UpgradeRequest`], handed over
//! by the flow's protocol change). Promises, as Suricata's `SCHTTP2MimicHttp1Request`: the
//! request becomes stream 1 (the stream the server answers it on), to-server side closed, one
//! HEADERS frame per field (`:method`, `:path`, then each header, `Host` as `:authority`,
//! names as sent); its `HTTP2-Settings` header (base64) becomes a SETTINGS frame of a
//! transaction of its own (stream 0), and one that does not decode, or whose length is not a
//! multiple of 6, raises `invalid_http1_settings` on the newest transaction. Never: raises
//! header events (authority, DoH) on these fields, as Suricata does not.

use base64::Engine as _;

use super::{
    parse_settings, Block, Frame, FrameData, Header, Http2State, EV_INVALID_HTTP1_SETTINGS, FT_HEADERS, FT_SETTINGS,
    MAX_FRAMES, ST_CLOSED,
};
use crate::app::http::UpgradeRequest;

impl Http2State {
    /// Makes stream 1 (and the settings transaction) of the request an HTTP/1 connection
    /// upgraded with.
    pub fn take_over_http1(&mut self, req: &UpgradeRequest) {
        self.mimic_header(b":method", &req.method);
        if let Some(u) = &req.uri {
            self.mimic_header(b":path", u);
        }
        for (name, value) in &req.headers {
            if name.as_slice() == b"HTTP2-Settings" {
                self.http1_settings(value);
            } else if name.eq_ignore_ascii_case(b"host") {
                self.mimic_header(b":authority", value);
            } else {
                self.mimic_header(name, value);
            }
        }
    }

    /// One field of the upgrading request as a HEADERS frame of stream 1.
    fn mimic_header(&mut self, name: &[u8], value: &[u8]) {
        let Some(tx) = self.stream_tx(1, FT_HEADERS) else { return };
        let block = Block { headers: vec![Header { name: name.to_vec(), value: value.to_vec() }], ..Block::default() };
        if tx.ts.frames.len() < MAX_FRAMES {
            tx.ts.frames.push(Frame { ftype: FT_HEADERS, flags: 0, data: FrameData::Headers(None, block) });
        }
        // nothing more is expected from the client on this stream
        tx.ts.state = ST_CLOSED;
    }

    /// The `HTTP2-Settings` header: base64 of a SETTINGS payload.
    fn http1_settings(&mut self, value: &[u8]) {
        let Ok(dec) = base64::engine::general_purpose::STANDARD.decode(value) else {
            self.raise_on_last(EV_INVALID_HTTP1_SETTINGS);
            return;
        };
        if dec.len() % 6 != 0 {
            self.raise_on_last(EV_INVALID_HTTP1_SETTINGS);
        }
        let set = parse_settings(&dec);
        if let Some(tx) = self.new_tx(0, true, true) {
            tx.ts.frames.push(Frame { ftype: FT_SETTINGS, flags: 0, data: FrameData::Settings(set) });
        }
    }

    /// Raises an event on the newest transaction (Suricata's state-level `set_event`).
    fn raise_on_last(&mut self, e: u16) {
        if let Some(t) = self.txs.back_mut() {
            t.events.raise(e);
        }
    }
}
