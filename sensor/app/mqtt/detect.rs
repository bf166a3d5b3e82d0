//! MQTT as a plug-in: its sticky buffers and value keywords (Suricata's `mqtt.*`), its
//! transactions and parser behind the app layer's traits, and its descriptor.

use super::parser::{Message, Op, TYPES};
use super::{MqttState, MqttStats, MqttTx, EVENTS};
use crate::app::plugin::{
    buffer_infos, keyword_tables, started_or_done, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side,
    Status, Sticky, Transaction, ValueArg, ValueInfo, ValueKeyword,
};
use crate::app::txs::app_parser_txs;
use crate::app::values::{holds_multi, parse_bitflags, parse_multi, parse_uint, parse_uint_enum, BitFlags, Uint};
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const DOC: &str = "https://docs.suricata.io/en/latest/rules/mqtt-keywords.html";

/// Subscribe and unsubscribe topics inspected per transaction (Suricata's
/// `subscribe-topic-match-limit` default).
const TOPIC_MATCH_LIMIT: usize = 100;

const fn buffer(name: &'static str, side: Side, multi: bool, desc: &'static str) -> BufferInfo {
    BufferInfo { name, aliases: &[], side, need: Need::NONE, multi, shared: false, internal: false, desc, doc: DOC }
}

fn connect(tx: &MqttTx) -> Option<&super::parser::Connect> {
    tx.msgs.iter().find_map(|m| match &m.op {
        Op::Connect(c) => Some(c.as_ref()),
        _ => None,
    })
}

fn publish(tx: &MqttTx) -> Option<&super::parser::Publish> {
    tx.msgs.iter().find_map(|m| match &m.op {
        Op::Publish(p) => Some(p),
        _ => None,
    })
}

/// Calls `f` with `v` when it is not empty (Suricata's getters give no buffer for an empty
/// field).
fn some(v: Option<&[u8]>, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    v.is_some_and(|v| !v.is_empty() && f(v))
}

fn topics(tx: &MqttTx, sub: bool, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    tx.msgs
        .iter()
        .filter_map(|m| match (&m.op, sub) {
            (Op::Subscribe(s), true) | (Op::Unsubscribe(s), false) => Some(s),
            _ => None,
        })
        .flat_map(|s| s.topics.iter())
        .take(TOPIC_MATCH_LIMIT)
        .any(|(t, _)| f(t.as_bytes()))
}

/// MQTT's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<MqttTx>] = &[
    Sticky {
        info: buffer("mqtt.connect.clientid", Side::ToServer, false, "the client id of a CONNECT"),
        get: |tx: &MqttTx, _, f| some(connect(tx).map(|c| c.client_id.as_bytes()), f),
    },
    Sticky {
        info: buffer("mqtt.connect.username", Side::ToServer, false, "the user name of a CONNECT"),
        get: |tx: &MqttTx, _, f| some(connect(tx).and_then(|c| c.username.as_deref()).map(str::as_bytes), f),
    },
    Sticky {
        info: buffer("mqtt.connect.password", Side::ToServer, false, "the password of a CONNECT"),
        get: |tx: &MqttTx, _, f| some(connect(tx).and_then(|c| c.password.as_deref()), f),
    },
    Sticky {
        info: buffer("mqtt.connect.willtopic", Side::ToServer, false, "the will topic of a CONNECT"),
        get: |tx: &MqttTx, _, f| some(connect(tx).and_then(|c| c.will_topic.as_deref()).map(str::as_bytes), f),
    },
    Sticky {
        info: buffer("mqtt.connect.willmessage", Side::ToServer, false, "the will message of a CONNECT"),
        get: |tx: &MqttTx, _, f| some(connect(tx).and_then(|c| c.will_message.as_deref()), f),
    },
    Sticky {
        info: buffer(
            "mqtt.connect.protocol_string",
            Side::ToServer,
            false,
            "the protocol name of a CONNECT (`MQTT`, `MQIsdp`)",
        ),
        get: |tx: &MqttTx, _, f| some(connect(tx).map(|c| c.protocol_string.as_bytes()), f),
    },
    Sticky {
        info: buffer("mqtt.publish.topic", Side::Both, false, "the topic of a PUBLISH"),
        get: |tx: &MqttTx, _, f| some(publish(tx).map(|p| p.topic.as_bytes()), f),
    },
    Sticky {
        info: buffer("mqtt.publish.message", Side::Both, false, "the message of a PUBLISH"),
        get: |tx: &MqttTx, _, f| some(publish(tx).map(|p| p.message.as_slice()), f),
    },
    Sticky {
        info: buffer("mqtt.subscribe.topic", Side::ToServer, true, "each topic of a SUBSCRIBE, in turn"),
        get: |tx: &MqttTx, _, f| topics(tx, true, f),
    },
    Sticky {
        info: buffer("mqtt.unsubscribe.topic", Side::ToServer, true, "each topic of an UNSUBSCRIBE, in turn"),
        get: |tx: &MqttTx, _, f| topics(tx, false, f),
    },
];

/// `mqtt.flags` names (Suricata's `MqttFlag`).
const FLAGS: &[(&str, u8)] = &[("dup", 0x8), ("retain", 0x1)];
/// `mqtt.connect.flags` names (Suricata's `MqttConnFlag`, values as it has them).
const CONN_FLAGS: &[(&str, u8)] =
    &[("username", 0x80), ("password", 0x40), ("will", 0x20), ("will_retain", 0x4), ("clean_session", 0x2)];

fn flags_arg(table: &'static [(&'static str, u8)]) -> impl Fn(Option<&str>) -> Result<ValueArg, String> {
    move |v| parse_bitflags(v, table).map(|f| Box::new(f) as ValueArg)
}

fn type_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_multi(v, |x| parse_uint_enum(Some(x), u64::from(u8::MAX), TYPES)).map(|m| Box::new(m) as ValueArg)
}

fn reason_arg(v: Option<&str>) -> Result<ValueArg, String> {
    parse_multi(v, |x| parse_uint(Some(x), u64::from(u8::MAX))).map(|m| Box::new(m) as ValueArg)
}

fn qos_arg(v: Option<&str>) -> Result<ValueArg, String> {
    match v.map(str::trim).and_then(|s| s.parse::<u8>().ok()) {
        Some(q) if q <= 2 => Ok(Box::new(q)),
        _ => Err("mqtt.qos takes 0, 1 or 2".into()),
    }
}

fn bool_arg(v: Option<&str>) -> Result<ValueArg, String> {
    match v.map(str::trim) {
        Some("0") => Ok(Box::new(false)),
        Some("1") => Ok(Box::new(true)),
        _ => Err("takes 0 or 1".into()),
    }
}

/// The reason codes of a transaction's messages, in order (SUBACK's granted QoS and
/// UNSUBACK's codes each count), as Suricata's `mqtt.reason_code` walks them.
fn reason_codes(tx: &MqttTx) -> Vec<Option<u64>> {
    let mut out = Vec::new();
    for m in &tx.msgs {
        match &m.op {
            Op::Puback(v) | Op::Pubrec(v) | Op::Pubrel(v) | Op::Pubcomp(v) => {
                out.extend(v.reason_code.map(|c| Some(u64::from(c))));
            }
            Op::Auth(r) | Op::Disconnect(r) => out.extend(r.reason_code.map(|c| Some(u64::from(c)))),
            Op::Connack(c) => out.push(Some(u64::from(c.return_code))),
            Op::Suback(a) | Op::Unsuback(a) => out.extend(a.codes.iter().map(|&c| Some(u64::from(c)))),
            _ => {}
        }
    }
    out
}

fn flag_byte(m: &Message) -> u8 {
    u8::from(m.header.retain) | (u8::from(m.header.dup) << 3)
}

const fn value(
    name: &'static str,
    side: Side,
    parse: fn(Option<&str>) -> Result<ValueArg, String>,
    desc: &'static str,
) -> ValueInfo {
    ValueInfo { name, aliases: &[], arg: Some(true), side, need: Need::NONE, parse, desc, doc: DOC }
}

/// MQTT's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<MqttTx>] = &[
    ValueKeyword {
        info: value(
            "mqtt.type",
            Side::Both,
            type_arg,
            "the control packet type of a message of the transaction (a number or a name, with an index)",
        ),
        eval: |a, tx, _, _| {
            let items: Vec<Option<u64>> = tx.msgs.iter().map(|m| Some(u64::from(m.header.msg_type))).collect();
            holds_multi(a, &items, tx.complete)
        },
    },
    ValueKeyword {
        info: value("mqtt.flags", Side::ToServer, |v| flags_arg(FLAGS)(v), "the fixed header flags (dup, retain)"),
        eval: |a, tx, _, _| {
            a.downcast_ref::<BitFlags>().is_some_and(|f| tx.msgs.iter().any(|m| f.matches(flag_byte(m))))
        },
    },
    ValueKeyword {
        info: value("mqtt.qos", Side::ToServer, qos_arg, "the QoS level of a message's fixed header"),
        eval: |a, tx, _, _| a.downcast_ref::<u8>().is_some_and(|&q| tx.msgs.iter().any(|m| m.header.qos == q)),
    },
    ValueKeyword {
        info: value("mqtt.reason_code", Side::Both, reason_arg, "a reason or return code of the transaction (MQTT 5)"),
        eval: |a, tx, _, _| holds_multi(a, &reason_codes(tx), tx.complete),
    },
    ValueKeyword {
        info: value(
            "mqtt.connack.session_present",
            Side::ToClient,
            bool_arg,
            "the session-present flag of a CONNACK (0 or 1)",
        ),
        eval: |a, tx, _, _| {
            a.downcast_ref::<bool>().is_some_and(|&want| {
                tx.msgs.iter().any(|m| matches!(&m.op, Op::Connack(c) if c.session_present == want))
            })
        },
    },
    ValueKeyword {
        info: value(
            "mqtt.connect.flags",
            Side::ToServer,
            |v| flags_arg(CONN_FLAGS)(v),
            "the flags of a CONNECT (username, password, will, will_retain, clean_session)",
        ),
        eval: |a, tx, _, _| {
            a.downcast_ref::<BitFlags>().is_some_and(|f| connect(tx).is_some_and(|c| f.matches(c.flags)))
        },
    },
    ValueKeyword {
        info: value(
            "mqtt.protocol_version",
            Side::ToServer,
            crate::app::values::u8_arg,
            "the protocol version of the flow's last CONNECT",
        ),
        eval: |a, tx, _, _| a.downcast_ref::<Uint>().is_some_and(|u| u.matches(u64::from(tx.version))),
    },
];

impl Transaction for MqttTx {
    fn id(&self) -> u64 {
        self.id
    }

    /// Suricata's progress: a side is done once the transaction is complete, or from the
    /// start when the transaction is of the other direction.
    fn progress(&self) -> [u8; 2] {
        [started_or_done(self.complete || self.to_client), started_or_done(self.complete || !self.to_client)]
    }

    /// As Suricata's (`AppLayerTxData::for_direction`): a transaction is inspected with
    /// packets of the direction of its first message only.
    fn direction(&self) -> Option<bool> {
        Some(!self.to_client)
    }

    fn record_ready(&self) -> bool {
        self.complete
    }

    fn record_to_server(&self) -> Option<bool> {
        Some(!self.to_client)
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
    }

    fn events(&self) -> &[u16] {
        self.events.as_slice()
    }
}

impl AppParser for MqttState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        self.frames_on = cx.frames.any();
        let at = cx.frames.offset(to_server);
        self.parse_at(to_server, data, at);
        for (ts, off, len, ty) in self.frames.drain(..) {
            let _ = cx.frames.add(ts, off, Some(len), ty);
        }
        for _ in 0..std::mem::take(&mut self.new_txs) {
            cx.stats.tx(AppProto::Mqtt, true);
        }
        for ev in self.raised.drain(..) {
            cx.stats.tx_event(AppProto::Mqtt, ev);
        }
        self.stats.drain_into(&mut cx.stats.mqtt);
        Status::Continue
    }

    app_parser_txs!(by_id, free);
}

/// MQTT's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    frames: super::FRAMES,
    ..Protocol::new(
        AppProto::Mqtt,
        |_: &AppConfig| Box::<MqttState>::default(),
        |s: &AppStats, f| MqttStats::each(&s.mqtt, f),
    )
};
