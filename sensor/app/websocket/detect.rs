//! WebSocket as a plug-in: its sticky buffer and value keywords (rows, as Suricata's
//! `rust/src/websocket/detect.rs` registers them), its transactions and parser behind the app
//! layer's traits, and its descriptor.

use super::{WebsocketState, WebsocketStats, WebsocketTx, EVENTS, FRAMES, OPCODES};
use crate::app::plugin::{
    buffer_infos, eval_value, get_buffer, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status,
    Sticky, Transaction, ValueArg, ValueInfo, ValueKeyword, PROGRESS_DONE,
};
use crate::app::txs::app_parser_txs;
use crate::app::values::{holds, parse_uint, parse_uint_enum, u32_arg, Uint};
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const DOC: &str = "https://docs.suricata.io/en/latest/rules/websocket-keywords.html";

/// Flag names of `websocket.flags` (Suricata's `WebSocketFlag`).
const FLAGS: &[(&str, u8)] = &[("fin", 0x80), ("comp", 0x40)];

/// A compiled `websocket.flags` argument: a number comparison, or flag names (Suricata's
/// `detect_parse_uint_bitflags`, `+` by default: the named flags set as named, `!name` unset;
/// `-`: not so; `*`: any of them set; `=`: exactly these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagsArg {
    /// A comparison of the flag bits as a number.
    Num(Uint),
    /// `flags & mask == want` (or `!=` when `neg`).
    Mask {
        /// Bits looked at.
        mask: u8,
        /// Their wanted value.
        want: u8,
        /// The match is inverted.
        neg: bool,
    },
}

impl FlagsArg {
    /// Whether flag bits `v` satisfy it.
    pub fn matches(&self, v: u8) -> bool {
        match *self {
            FlagsArg::Num(u) => u.matches(u64::from(v)),
            FlagsArg::Mask { mask, want, neg } => (v & mask == want) != neg,
        }
    }
}

/// Parses a `websocket.flags` argument.
pub fn parse_flags(v: Option<&str>) -> Result<FlagsArg, String> {
    if let Ok(u) = parse_uint(v, u64::from(u8::MAX)) {
        return Ok(FlagsArg::Num(u));
    }
    let s = v.unwrap_or("").trim();
    let (modifier, list) = match s.chars().next() {
        Some(c @ ('-' | '+' | '*' | '=')) => (c, s.get(1..).unwrap_or("").trim_start()),
        _ => ('+', s),
    };
    let (mut all, mut set) = (0u8, 0u8);
    for item in list.split(',').map(str::trim) {
        let (neg, name) = match item.strip_prefix('!') {
            Some(n) => (true, n.trim()),
            None => (false, item),
        };
        let bit = FLAGS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, b)| b)
            .ok_or_else(|| format!("unknown websocket flag `{name}`"))?;
        if all & bit != 0 {
            return Err(format!("websocket flag `{name}` twice"));
        }
        all |= bit;
        if !neg {
            set |= bit;
        }
    }
    Ok(match modifier {
        '=' => FlagsArg::Num(Uint(crate::rule::ast::NumCmp::Eq(u64::from(all)))),
        '*' => FlagsArg::Mask { mask: all, want: 0, neg: true },
        '-' => FlagsArg::Mask { mask: all, want: set, neg: true },
        _ => FlagsArg::Mask { mask: all, want: set, neg: false },
    })
}

/// WebSocket's sticky buffers.
pub static BUFFERS: &[Sticky<WebsocketTx>] = &[Sticky {
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

const fn value(
    name: &'static str,
    parse: fn(Option<&str>) -> Result<ValueArg, String>,
    desc: &'static str,
) -> ValueInfo {
    ValueInfo { name, aliases: &[], arg: Some(true), side: Side::Both, need: Need::own(1), parse, desc, doc: DOC }
}

/// WebSocket's value keywords.
pub static VALUES: &[ValueKeyword<WebsocketTx>] = &[
    ValueKeyword {
        info: value(
            "websocket.opcode",
            |v| parse_uint_enum(v, u64::from(u8::MAX), OPCODES).map(|u| Box::new(u) as ValueArg),
            "the frame's opcode (a number or continuation, text, binary, close, ping, pong)",
        ),
        eval: |a, tx, _, _| holds(a, Some(u64::from(tx.opcode))),
    },
    ValueKeyword {
        info: value(
            "websocket.mask",
            u32_arg,
            "the frame's masking key, compared as a 32-bit number (unmasked frames never match)",
        ),
        eval: |a, tx, _, _| holds(a, tx.mask.map(u64::from)),
    },
    ValueKeyword {
        info: value(
            "websocket.flags",
            |v| parse_flags(v).map(|f| Box::new(f) as ValueArg),
            "the frame's flag bits (a number, or fin and comp with modifiers)",
        ),
        eval: |a, tx, _, _| a.downcast_ref::<FlagsArg>().is_some_and(|f| f.matches(tx.flags)),
    },
];

impl Transaction for WebsocketTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        [PROGRESS_DONE; 2]
    }

    fn direction(&self) -> Option<bool> {
        Some(self.to_server)
    }

    fn buffer(&self, buffer: u16, to_server: bool, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
        get_buffer(BUFFERS, buffer, self, to_server, f)
    }

    fn value(&self, keyword: u16, arg: &ValueArg, to_server: bool, now_secs: i64) -> bool {
        eval_value(VALUES, keyword, arg, self, to_server, now_secs)
    }

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
    }

    fn events(&self) -> &[u16] {
        self.events.as_slice()
    }

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
    proto: AppProto::Websocket,
    new_parser: |_: &AppConfig| Box::<WebsocketState>::default(),
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    payload_buffer: None,
    reinspect: false,
    events: EVENTS,
    eve_events_upper: false,
    record_type: None,
    frames: FRAMES,
    counters: |s: &AppStats, f| WebsocketStats::each(&s.websocket, f),
};
