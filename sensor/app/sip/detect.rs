//! SIP as a plug-in: its sticky buffers (rows), its transactions and parser behind the app
//! layer's traits, its EVE object and its descriptor.

use super::{Message, SipState, SipStats, SipTx, StartLine, EVENTS};
use crate::app::plugin::{
    buffer_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky, Transaction,
};
use crate::app::txs::{app_parser_txs, one_message_tx};
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const DOC: &str = "https://docs.suricata.io/en/latest/rules/sip-keywords.html";

const fn buffer(name: &'static str, side: Side, multi: bool, desc: &'static str) -> BufferInfo {
    BufferInfo { name, aliases: &[], side, need: Need::own(1), multi, shared: false, internal: false, desc, doc: DOC }
}

fn request(tx: &SipTx) -> Option<(&str, &str)> {
    match &tx.msg.start {
        StartLine::Request { method, uri } => Some((method, uri)),
        StartLine::Response { .. } => None,
    }
}

fn response(tx: &SipTx) -> Option<(&str, &str)> {
    match &tx.msg.start {
        StartLine::Response { code, reason } => Some((code, reason)),
        StartLine::Request { .. } => None,
    }
}

fn nonempty(s: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    !s.is_empty() && f(s.as_bytes())
}

/// Headers of the message of the inspected side (the request to the server, the response to
/// the client), each value in turn.
fn header(tx: &SipTx, to_server: bool, name: &str, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    if (request(tx).is_some()) != to_server {
        return false;
    }
    tx.msg.header(name).any(|v| f(v.as_bytes()))
}

/// SIP's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<SipTx>] = &[
    Sticky {
        info: buffer("sip.method", Side::ToServer, false, "the method of a request"),
        get: |tx: &SipTx, _, f| request(tx).is_some_and(|(m, _)| nonempty(m, f)),
    },
    Sticky {
        info: buffer("sip.uri", Side::ToServer, false, "the URI of a request"),
        get: |tx: &SipTx, _, f| request(tx).is_some_and(|(_, u)| nonempty(u, f)),
    },
    Sticky {
        info: buffer("sip.request_line", Side::ToServer, false, "the request line, without its line end"),
        get: |tx: &SipTx, _, f| request(tx).is_some() && nonempty(&tx.msg.line, f),
    },
    Sticky {
        info: buffer("sip.stat_code", Side::ToClient, false, "the status code of a response"),
        get: |tx: &SipTx, _, f| response(tx).is_some_and(|(c, _)| nonempty(c, f)),
    },
    Sticky {
        info: buffer("sip.stat_msg", Side::ToClient, false, "the reason phrase of a response"),
        get: |tx: &SipTx, _, f| response(tx).is_some_and(|(_, r)| nonempty(r, f)),
    },
    Sticky {
        info: buffer("sip.response_line", Side::ToClient, false, "the status line, without its line end"),
        get: |tx: &SipTx, _, f| response(tx).is_some() && nonempty(&tx.msg.line, f),
    },
    Sticky {
        info: buffer("sip.protocol", Side::Both, false, "the protocol version of the request or status line"),
        get: |tx: &SipTx, ts, f| (request(tx).is_some() == ts) && nonempty(&tx.msg.version, f),
    },
    Sticky {
        info: buffer("sip.from", Side::Both, true, "each From header value"),
        get: |tx: &SipTx, ts, f| header(tx, ts, "From", f),
    },
    Sticky {
        info: buffer("sip.to", Side::Both, true, "each To header value"),
        get: |tx: &SipTx, ts, f| header(tx, ts, "To", f),
    },
    Sticky {
        info: buffer("sip.via", Side::Both, true, "each Via header value"),
        get: |tx: &SipTx, ts, f| header(tx, ts, "Via", f),
    },
    Sticky {
        info: buffer("sip.user_agent", Side::Both, true, "each User-Agent header value"),
        get: |tx: &SipTx, ts, f| header(tx, ts, "User-Agent", f),
    },
    Sticky {
        info: buffer("sip.content_type", Side::Both, true, "each Content-Type header value"),
        get: |tx: &SipTx, ts, f| header(tx, ts, "Content-Type", f),
    },
    Sticky {
        info: buffer("sip.content_length", Side::Both, true, "each Content-Length header value"),
        get: |tx: &SipTx, ts, f| header(tx, ts, "Content-Length", f),
    },
];

impl SipTx {
    /// Writes Suricata's `sip` object.
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let m: &Message = &self.msg;
        let mut o = j.begin("sip");
        match &m.start {
            StartLine::Request { method, uri } => {
                o.str("method", method);
                o.str("uri", uri);
                o.str("version", &m.version);
                super::sdp::write(&mut o, &m.body);
                o.str("request_line", &m.line);
            }
            StartLine::Response { code, reason } => {
                o.str("version", &m.version);
                o.str("code", code);
                o.str("reason", reason);
                super::sdp::write(&mut o, &m.body);
                o.str("response_line", &m.line);
            }
        }
        o.end();
    }
}

impl Transaction for SipTx {
    one_message_tx!(buffers: BUFFERS, eve: write_eve,);
}

impl AppParser for SipState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let before = self.txs.next_id();
        self.frames_on = cx.frames.any();
        let at = cx.frames.offset(to_server);
        if cx.udp {
            self.parse_udp_at(to_server, data, at);
        } else {
            self.parse_tcp_at(to_server, data, at);
        }
        for (ts, off, len, ty, tx) in self.frames.drain(..) {
            if let (Some(id), Some(tx)) = (cx.frames.add(ts, off, Some(len), ty), tx) {
                cx.frames.set_tx(id, tx);
            }
        }
        for _ in before..self.txs.next_id() {
            cx.stats.tx(AppProto::Sip, !cx.udp);
        }
        self.stats.drain_into(&mut cx.stats.sip);
        Status::Continue
    }

    app_parser_txs!();
}

/// SIP's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    events: EVENTS,
    frames: super::FRAMES,
    ..Protocol::new(
        AppProto::Sip,
        |_: &AppConfig| Box::<SipState>::default(),
        |s: &AppStats, f| SipStats::each(&s.sip, f),
    )
};
