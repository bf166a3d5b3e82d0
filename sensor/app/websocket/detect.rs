//! WebSocket as a plug-in: its sticky buffer and value keywords (rows, as Suricata's
//! `rust/src/websocket/detect.rs` registers them), its transactions and parser behind the app
//! layer's traits, and its descriptor.

use super::{WebsocketState, WebsocketStats, WebsocketTx, EVENTS, FRAMES, OPCODES};
use crate::app::plugin::{
    buffer_infos, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky, Transaction,
    ValueArg, ValueInfo, ValueKeyword,
};
use crate::app::txs::{app_parser_txs, one_message_tx};
use crate::app::values::{holds, parse_bitflags, parse_uint_enum, u32_arg, BitFlags};
use crate::app::{AppConfig, AppProto, AppStats};

const DOC: &str = "https://docs.suricata.io/en/latest/rules/websocket-keywords.html";

/// Flag names of `websocket.flags` (Suricata's `WebSocketFlag`).
pub(crate) const FLAGS: &[(&str, u8)] = &[("fin", 0x80), ("comp", 0x40)];

/// WebSocket's sticky buffers.
pub(super) static BUFFERS: &[Sticky<WebsocketTx>] = &[Sticky {
    info: BufferInfo {
        name: "websocket.payload",
        aliases: &[],
        side: Side::Both,
        need: Need::own(1),
        multi: false,
        shared: false,
        internal: false,
        desc: "the payload of a WebSocket frame, unmasked (a fragmented message whole on its final frame)",
        doc: "https://docs.suricata.io/en/latest/rules/websocket-keywords.html#websocket-payload",
    },
    get: |tx: &WebsocketTx, _, f| f(&tx.payload),
}];

/// WebSocket's value keywords.
pub(super) static VALUES: &[ValueKeyword<WebsocketTx>] = &[
    ValueKeyword {
        info: ValueInfo::both_sides(
            "websocket.opcode",
            |v| parse_uint_enum(v, u64::from(u8::MAX), OPCODES).map(|u| Box::new(u) as ValueArg),
            "the frame's opcode (a number or continuation, text, binary, close, ping, pong)",
            DOC,
        ),
        eval: |a, tx, _, _| holds(a, Some(u64::from(tx.opcode))),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "websocket.mask",
            u32_arg,
            "the frame's masking key, compared as a 32-bit number (unmasked frames never match)",
            DOC,
        ),
        eval: |a, tx, _, _| holds(a, tx.mask.map(u64::from)),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "websocket.flags",
            |v| parse_bitflags(v, FLAGS).map(|f| Box::new(f) as ValueArg),
            "the frame's flag bits (a number, or fin and comp with modifiers)",
            DOC,
        ),
        eval: |a, tx, _, _| a.downcast_ref::<BitFlags>().is_some_and(|f| f.matches(tx.flags)),
    },
];

impl Transaction for WebsocketTx {
    one_message_tx!(buffers: BUFFERS, values: VALUES, eve: write_eve,);

    fn record_packet_view(&self) -> bool {
        true
    }
}

impl AppParser for WebsocketState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let st = self.parse_dir(to_server, data, cx);
        self.stats.drain_into(&mut cx.stats.websocket);
        st
    }

    app_parser_txs!();
}

/// WebSocket's descriptor: named only by an HTTP/1 upgrade (Suricata registers no port).
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    frames: FRAMES,
    ..Protocol::new(
        AppProto::Websocket,
        |_: &AppConfig| Box::<WebsocketState>::default(),
        |s: &AppStats, f| WebsocketStats::each(&s.websocket, f),
    )
};
