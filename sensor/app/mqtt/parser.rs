//! MQTT control packets (3.1, 3.1.1 and 5.0) as Suricata's `rust/src/mqtt/parser.rs` reads
//! them: the fixed header, then the variable header and payload of each type, MQTT 5
//! properties when the connection's version is 5. Strings are decoded lossily (invalid UTF-8
//! becomes U+FFFD, as Suricata's `String::from_utf8_lossy`); binary fields stay bytes.
//!
//! A message whose remaining length is over the caller's limit is not read: it comes back as
//! [`Op::Truncated`] with the number of bytes to skip. Never: panics on input (every read is
//! bounds-checked and fails as [`Error::Malformed`] or [`Error::Incomplete`]).

/// Why a message did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Error {
    /// More bytes are needed (the fixed header or the message is not complete yet).
    Incomplete,
    /// The bytes are not an MQTT message.
    Malformed,
}

type R<'a, T> = Result<(&'a [u8], T), Error>;

/// Control packet types, as Suricata names them (`mqtt.type` and the EVE object names).
pub(super) const TYPES: &[(&str, u64)] = &[
    ("unassigned", 0),
    ("connect", 1),
    ("connack", 2),
    ("publish", 3),
    ("puback", 4),
    ("pubrec", 5),
    ("pubrel", 6),
    ("pubcomp", 7),
    ("subscribe", 8),
    ("suback", 9),
    ("unsubscribe", 10),
    ("unsuback", 11),
    ("pingreq", 12),
    ("pingresp", 13),
    ("disconnect", 14),
    ("auth", 15),
];

/// The fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FixedHeader {
    /// Control packet type (0 to 15).
    pub msg_type: u8,
    /// DUP flag.
    pub dup: bool,
    /// QoS level (0 to 3; 3 is invalid).
    pub qos: u8,
    /// RETAIN flag.
    pub retain: bool,
    /// Remaining length.
    pub remaining: u32,
    /// Bytes of the fixed header (1 + the length's bytes).
    pub size: usize,
}

/// An MQTT 5 property: its identifier and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Prop {
    /// A number (byte, two-byte, four-byte or variable integer).
    Uint(&'static str, u32),
    /// A UTF-8 string.
    Str(&'static str, String),
    /// Binary data.
    Bin(&'static str, Vec<u8>),
    /// A user property (name, value).
    User(String, String),
}

/// CONNECT.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Connect {
    pub protocol_string: String,
    pub protocol_version: u8,
    pub flags: u8,
    pub keepalive: u16,
    pub client_id: String,
    pub will_topic: Option<String>,
    pub will_message: Option<Vec<u8>>,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
    pub properties: Option<Vec<Prop>>,
    pub will_properties: Option<Vec<Prop>>,
}

/// CONNACK.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Connack {
    pub session_present: bool,
    pub return_code: u8,
    pub properties: Option<Vec<Prop>>,
}

/// PUBLISH.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Publish {
    pub topic: String,
    pub message_id: Option<u16>,
    pub message: Vec<u8>,
    pub properties: Option<Vec<Prop>>,
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct MsgId {
    pub message_id: u16,
    pub reason_code: Option<u8>,
    pub properties: Option<Vec<Prop>>,
}

/// SUBSCRIBE (topics with their QoS) and UNSUBSCRIBE (QoS 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Subscribe {
    pub message_id: u16,
    pub topics: Vec<(String, u8)>,
    pub properties: Option<Vec<Prop>>,
}

/// SUBACK (the granted QoS values) and UNSUBACK (its reason codes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Ack {
    pub message_id: u16,
    pub codes: Vec<u8>,
    pub properties: Option<Vec<Prop>>,
}

/// AUTH and DISCONNECT.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Reason {
    pub reason_code: Option<u8>,
    pub properties: Option<Vec<Prop>>,
}

/// What a message carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Unassigned,
    Connect(Box<Connect>),
    Connack(Connack),
    Publish(Publish),
    Puback(MsgId),
    Pubrec(MsgId),
    Pubrel(MsgId),
    Pubcomp(MsgId),
    Subscribe(Subscribe),
    Suback(Ack),
    Unsubscribe(Subscribe),
    Unsuback(Ack),
    Pingreq,
    Pingresp,
    Disconnect(Reason),
    Auth(Reason),
    /// Over the length limit: not read; `skip` bytes (header included) are skipped.
    Truncated {
        skip: usize,
    },
}

/// One control packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Message {
    pub header: FixedHeader,
    pub op: Op,
}

fn u8_(i: &[u8]) -> R<'_, u8> {
    match i.split_first() {
        Some((&b, r)) => Ok((r, b)),
        None => Err(Error::Incomplete),
    }
}

fn u16_(i: &[u8]) -> R<'_, u16> {
    match i {
        [a, b, r @ ..] => Ok((r, u16::from_be_bytes([*a, *b]))),
        _ => Err(Error::Incomplete),
    }
}

fn u32_(i: &[u8]) -> R<'_, u32> {
    match i {
        [a, b, c, d, r @ ..] => Ok((r, u32::from_be_bytes([*a, *b, *c, *d]))),
        _ => Err(Error::Incomplete),
    }
}

fn take(i: &[u8], n: usize) -> R<'_, &[u8]> {
    if i.len() < n {
        return Err(Error::Incomplete);
    }
    let (a, b) = i.split_at(n);
    Ok((b, a))
}

/// A variable byte integer: up to three continued bytes and a last one (a fourth continued
/// byte is malformed).
pub(super) fn varint(i: &[u8]) -> R<'_, u32> {
    let mut v = 0u32;
    for (k, &b) in i.iter().enumerate().take(4) {
        v |= u32::from(b & 0x7f) << (7 * k);
        if b & 0x80 == 0 {
            // In bounds: k < i.len().
            return Ok((&i[k + 1..], v));
        }
    }
    if i.len() >= 4 {
        Err(Error::Malformed)
    } else {
        Err(Error::Incomplete)
    }
}

fn string(i: &[u8]) -> R<'_, String> {
    let (i, n) = u16_(i)?;
    let (i, s) = take(i, usize::from(n))?;
    Ok((i, String::from_utf8_lossy(s).into_owned()))
}

fn binary(i: &[u8]) -> R<'_, Vec<u8>> {
    let (i, n) = u16_(i)?;
    let (i, s) = take(i, usize::from(n))?;
    Ok((i, s.to_vec()))
}

/// The fixed header.
pub(super) fn fixed_header(i: &[u8]) -> R<'_, FixedHeader> {
    let (r, b) = u8_(i)?;
    let (r, remaining) = varint(r)?;
    let size = i.len() - r.len();
    let h = FixedHeader { msg_type: b >> 4, dup: b & 8 != 0, qos: (b >> 1) & 3, retain: b & 1 != 0, remaining, size };
    Ok((r, h))
}

fn num<'a>(r: R<'a, u32>, name: &'static str) -> R<'a, Option<Prop>> {
    r.map(|(i, v)| (i, Some(Prop::Uint(name, v))))
}

fn byte<'a>(i: &'a [u8], name: &'static str) -> R<'a, Option<Prop>> {
    num(u8_(i).map(|(i, v)| (i, u32::from(v))), name)
}

fn short<'a>(i: &'a [u8], name: &'static str) -> R<'a, Option<Prop>> {
    num(u16_(i).map(|(i, v)| (i, u32::from(v))), name)
}

fn st<'a>(i: &'a [u8], name: &'static str) -> R<'a, Option<Prop>> {
    string(i).map(|(i, v)| (i, Some(Prop::Str(name, v))))
}

fn bin<'a>(i: &'a [u8], name: &'static str) -> R<'a, Option<Prop>> {
    binary(i).map(|(i, v)| (i, Some(Prop::Bin(name, v))))
}

fn prop(i: &[u8]) -> R<'_, Option<Prop>> {
    let (i, id) = varint(i)?;
    match id {
        1 => byte(i, "payload_format_indicator"),
        2 => num(u32_(i), "message_expiry_interval"),
        3 => st(i, "content_type"),
        8 => st(i, "response_topic"),
        9 => bin(i, "correlation_data"),
        11 => num(varint(i), "subscription_identifier"),
        17 => num(u32_(i), "session_expiry_interval"),
        18 => st(i, "assigned_client_identifier"),
        19 => short(i, "server_keep_alive"),
        21 => st(i, "authentication_method"),
        22 => bin(i, "authentication_data"),
        23 => byte(i, "request_problem_information"),
        24 => num(u32_(i), "will_delay_interval"),
        25 => byte(i, "request_response_information"),
        26 => st(i, "response_information"),
        28 => st(i, "server_reference"),
        31 => st(i, "reason_string"),
        33 => short(i, "receive_maximum"),
        34 => short(i, "topic_alias_maximum"),
        35 => short(i, "topic_alias"),
        36 => byte(i, "maximum_qos"),
        37 => byte(i, "retain_available"),
        38 => {
            let (i, k) = string(i)?;
            let (i, v) = string(i)?;
            Ok((i, Some(Prop::User(k, v))))
        }
        39 => num(u32_(i), "maximum_packet_size"),
        40 => byte(i, "wildcard_subscription_available"),
        41 => byte(i, "subscription_identifier_available"),
        42 => byte(i, "shared_subscription_available"),
        // Suricata reads an unknown identifier as an empty property and goes on with the
        // next byte
        _ => Ok((i, None)),
    }
}

/// Properties (`when`: the connection is MQTT 5); `None` when absent or empty.
fn props_of(i: &[u8], when: bool) -> R<'_, Option<Vec<Prop>>> {
    if !when {
        return Ok((i, None));
    }
    let (i, len) = varint(i)?;
    if len == 0 {
        return Ok((i, None));
    }
    let (rest, mut p) = take(i, len as usize)?;
    let mut out = Vec::new();
    while !p.is_empty() {
        let (r, v) = prop(p)?;
        out.extend(v);
        p = r;
    }
    Ok((rest, Some(out)))
}

fn connect(i: &[u8]) -> Result<Connect, Error> {
    let (i, protocol_string) = string(i)?;
    let (i, protocol_version) = u8_(i)?;
    let (i, flags) = u8_(i)?;
    let (i, keepalive) = u16_(i)?;
    let v5 = protocol_version == 5;
    let (i, properties) = props_of(i, v5)?;
    let (i, client_id) = string(i)?;
    let will = flags & 0x4 != 0;
    let (i, will_properties) = props_of(i, v5 && will)?;
    let (i, will_topic) = if will { string(i).map(|(i, v)| (i, Some(v)))? } else { (i, None) };
    let (i, will_message) = if will { binary(i).map(|(i, v)| (i, Some(v)))? } else { (i, None) };
    let (i, username) = if flags & 0x80 != 0 { string(i).map(|(i, v)| (i, Some(v)))? } else { (i, None) };
    let (_, password) = if flags & 0x40 != 0 { binary(i).map(|(i, v)| (i, Some(v)))? } else { (i, None) };
    Ok(Connect {
        protocol_string,
        protocol_version,
        flags,
        keepalive,
        client_id,
        will_topic,
        will_message,
        username,
        password,
        properties,
        will_properties,
    })
}

/// PUBACK and its kin: in MQTT 5 a reason code (0 when absent) and properties may follow.
fn msg_id(i: &[u8], v5: bool) -> Result<MsgId, Error> {
    let (r, message_id) = u16_(i)?;
    if !v5 {
        return Ok(MsgId { message_id, reason_code: None, properties: None });
    }
    if i.len() == 2 {
        return Ok(MsgId { message_id, reason_code: Some(0), properties: None });
    }
    let (r, rc) = u8_(r)?;
    if i.len() == 3 {
        return Ok(MsgId { message_id, reason_code: Some(rc), properties: None });
    }
    let (_, properties) = props_of(r, true)?;
    Ok(MsgId { message_id, reason_code: Some(rc), properties })
}

fn subscribe(i: &[u8], v5: bool, with_qos: bool) -> Result<Subscribe, Error> {
    let (mut i, message_id) = u16_(i)?;
    let (r, properties) = props_of(i, v5)?;
    i = r;
    let mut topics = Vec::new();
    while let Ok((r, t)) = string(i) {
        let (r, qos) = if with_qos {
            match u8_(r) {
                Ok(x) => x,
                Err(_) => break,
            }
        } else {
            (r, 0)
        };
        topics.push((t, qos));
        i = r;
    }
    // SUBSCRIBE needs one topic (Suricata's many1)
    if with_qos && topics.is_empty() {
        return Err(Error::Malformed);
    }
    Ok(Subscribe { message_id, topics, properties })
}

fn ack(i: &[u8], v5: bool) -> Result<Ack, Error> {
    let (i, message_id) = u16_(i)?;
    let (i, properties) = props_of(i, v5)?;
    Ok(Ack { message_id, codes: i.to_vec(), properties })
}

fn disconnect(i: &[u8], v5: bool) -> Result<Reason, Error> {
    if !v5 {
        return Ok(Reason::default());
    }
    match i.len() {
        0 => Ok(Reason { reason_code: Some(0), properties: None }),
        // as Suricata: a lone reason code reads as 0
        1 => Ok(Reason { reason_code: Some(0), properties: None }),
        _ => {
            let (r, rc) = u8_(i)?;
            let (_, properties) = props_of(r, true)?;
            Ok(Reason { reason_code: Some(rc), properties })
        }
    }
}

fn auth(i: &[u8]) -> Result<Reason, Error> {
    let (r, rc) = u8_(i)?;
    let (_, properties) = props_of(r, true)?;
    Ok(Reason { reason_code: Some(rc), properties })
}

fn body(h: &FixedHeader, i: &[u8], version: u8) -> Result<Op, Error> {
    let v5 = version == 5;
    Ok(match h.msg_type {
        1 => Op::Connect(Box::new(connect(i)?)),
        2 => {
            let (r, ack_flags) = u8_(i)?;
            let (r, return_code) = u8_(r)?;
            let (_, properties) = props_of(r, v5)?;
            Op::Connack(Connack { session_present: ack_flags & 1 != 0, return_code, properties })
        }
        3 => {
            let (r, topic) = string(i)?;
            let (r, message_id) = if h.qos > 0 { u16_(r).map(|(r, v)| (r, Some(v)))? } else { (r, None) };
            let (message, properties) = props_of(r, v5)?;
            Op::Publish(Publish { topic, message_id, message: message.to_vec(), properties })
        }
        4 => Op::Puback(msg_id(i, v5)?),
        5 => Op::Pubrec(msg_id(i, v5)?),
        6 => Op::Pubrel(msg_id(i, v5)?),
        7 => Op::Pubcomp(msg_id(i, v5)?),
        8 => Op::Subscribe(subscribe(i, v5, true)?),
        9 => {
            let (r, message_id) = u16_(i)?;
            let (codes, properties) = props_of(r, v5)?;
            Op::Suback(Ack { message_id, codes: codes.to_vec(), properties })
        }
        10 => Op::Unsubscribe(subscribe(i, v5, false)?),
        11 => Op::Unsuback(ack(i, v5)?),
        12 => Op::Pingreq,
        13 => Op::Pingresp,
        14 => Op::Disconnect(disconnect(i, v5)?),
        15 => Op::Auth(auth(i)?),
        _ => Op::Unassigned,
    })
}

/// Reads one message of a connection whose CONNECT said `version`; messages with a remaining
/// length over `max_len` come back as [`Op::Truncated`] without their body being needed.
/// Returns the message and the bytes it used (0 for a truncated one: the caller skips).
pub(super) fn message(i: &[u8], version: u8, max_len: u32) -> Result<(Message, usize), Error> {
    let (rest, header) = fixed_header(i)?;
    let len = header.remaining as usize;
    if header.remaining > max_len {
        let op = Op::Truncated { skip: len + header.size };
        return Ok((Message { header, op }, 0));
    }
    let (_, b) = take(rest, len)?;
    // inside a complete message, running short is malformed (Suricata's `complete`)
    let op = body(&header, b, version).map_err(|_| Error::Malformed)?;
    Ok((Message { header, op }, header.size + len))
}
