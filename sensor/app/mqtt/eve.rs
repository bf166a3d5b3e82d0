//! The `mqtt` EVE object, as Suricata's `rust/src/mqtt/logger.rs` writes it with its default
//! settings (passwords logged, strings cut at 1,024 bytes with `[truncated N additional
//! bytes]`): one object per message of the transaction, named by its type.

use super::parser::{FixedHeader, Message, Op, Prop, TYPES};
use super::MqttTx;
use crate::output::eve::Json;

/// Longest string written (Suricata's `string-log-limit` default).
const LOG_LIMIT: usize = 1024;

/// Writes `v` cut at `limit` bytes (on a character boundary for text, as Suricata's
/// `set_string_limited`; on a byte for binary data) with the count of bytes left out.
fn limited(j: &mut Json<'_>, k: &str, v: &[u8], limit: usize, text: bool) {
    if v.len() <= limit {
        j.bytes(k, v);
        return;
    }
    let mut cut = limit;
    if let (true, Ok(s)) = (text, std::str::from_utf8(v)) {
        while cut > 0 && !s.is_char_boundary(cut) {
            cut -= 1;
        }
    }
    let (head, tail) = v.split_at(cut.min(v.len()));
    let n = tail.len();
    let mut s = head.to_vec();
    s.extend_from_slice(format!("[truncated {n} additional byte{}]", if n == 1 { "" } else { "s" }).as_bytes());
    j.bytes(k, &s);
}

fn header(o: &mut Json<'_>, h: &FixedHeader) {
    o.u64("qos", u64::from(h.qos));
    o.bool("retain", h.retain);
    o.bool("dup", h.dup);
}

fn props(o: &mut Json<'_>, k: &str, p: &Option<Vec<Prop>>) {
    let Some(p) = p else { return };
    let mut w = o.begin(k);
    for x in p {
        match x {
            Prop::Uint(n, v) => {
                w.u64(n, u64::from(*v));
            }
            Prop::Str(n, v) => limited(&mut w, n, v.as_bytes(), LOG_LIMIT, true),
            Prop::Bin(n, v) => limited(&mut w, n, v, LOG_LIMIT, false),
            Prop::User(n, v) => {
                // a user property is written under its own name; names that would need
                // escaping are escaped as values are
                let mut key = Vec::with_capacity(n.len() + 2);
                crate::output::eve::escape_into(&mut key, n.as_bytes());
                let key = String::from_utf8_lossy(key.get(1..key.len().saturating_sub(1)).unwrap_or(&[])).into_owned();
                limited(&mut w, &key, v.as_bytes(), LOG_LIMIT, true);
            }
        }
    }
    w.end();
}

fn type_name(t: u8) -> &'static str {
    TYPES.iter().find(|(_, n)| *n == u64::from(t)).map_or("unassigned", |(s, _)| s)
}

fn connect(j: &mut Json<'_>, h: &FixedHeader, c: &super::parser::Connect) {
    let mut o = j.begin("connect");
    header(&mut o, h);
    o.str("protocol_string", &c.protocol_string);
    o.u64("protocol_version", u64::from(c.protocol_version));
    limited(&mut o, "client_id", c.client_id.as_bytes(), LOG_LIMIT, true);
    let mut f = o.begin("flags");
    f.bool("username", c.flags & 0x80 != 0);
    f.bool("password", c.flags & 0x40 != 0);
    f.bool("will_retain", c.flags & 0x20 != 0);
    f.bool("will", c.flags & 0x4 != 0);
    f.bool("clean_session", c.flags & 0x2 != 0);
    f.end();
    if let Some(u) = &c.username {
        limited(&mut o, "username", u.as_bytes(), LOG_LIMIT, true);
    }
    if let Some(p) = &c.password {
        o.bytes("password", p);
    }
    if c.flags & 0x4 != 0 {
        let mut w = o.begin("will");
        if let Some(t) = &c.will_topic {
            limited(&mut w, "topic", t.as_bytes(), LOG_LIMIT, true);
        }
        if let Some(m) = &c.will_message {
            limited(&mut w, "message", m, LOG_LIMIT, false);
        }
        props(&mut w, "properties", &c.will_properties);
        w.end();
    }
    props(&mut o, "properties", &c.properties);
    o.end();
}

fn subscribe(j: &mut Json<'_>, h: &FixedHeader, s: &super::parser::Subscribe) {
    let mut o = j.begin("subscribe");
    header(&mut o, h);
    o.u64("message_id", u64::from(s.message_id));
    // as Suricata: the topics share one budget of LOG_LIMIT bytes
    let mut used = 0usize;
    let mut shown: Vec<(usize, &(String, u8))> = Vec::new();
    for t in &s.topics {
        let len = t.0.len().min(LOG_LIMIT);
        if used + len > LOG_LIMIT {
            shown.push((LOG_LIMIT - used, t));
            break;
        }
        shown.push((LOG_LIMIT, t));
        used += len;
    }
    crate::app::jsonx::obj_array(&mut o, "topics", &shown, |w, t| {
        let (limit, (name, qos)) = *t;
        limited(w, "topic", name.as_bytes(), limit, true);
        w.u64("qos", u64::from(*qos));
    });
    props(&mut o, "properties", &s.properties);
    o.end();
}

fn message(j: &mut Json<'_>, m: &Message) {
    let h = &m.header;
    match &m.op {
        Op::Connect(c) => connect(j, h, c),
        Op::Connack(c) => {
            let mut o = j.begin("connack");
            header(&mut o, h);
            o.bool("session_present", c.session_present);
            o.u64("return_code", u64::from(c.return_code));
            props(&mut o, "properties", &c.properties);
            o.end();
        }
        Op::Publish(p) => {
            let mut o = j.begin("publish");
            header(&mut o, h);
            limited(&mut o, "topic", p.topic.as_bytes(), LOG_LIMIT, true);
            if let Some(id) = p.message_id {
                o.u64("message_id", u64::from(id));
            }
            limited(&mut o, "message", &p.message, LOG_LIMIT, false);
            props(&mut o, "properties", &p.properties);
            o.end();
        }
        Op::Puback(v) | Op::Pubrec(v) | Op::Pubrel(v) | Op::Pubcomp(v) => {
            let mut o = j.begin(type_name(h.msg_type));
            header(&mut o, h);
            o.u64("message_id", u64::from(v.message_id));
            if let Some(rc) = v.reason_code {
                o.u64("reason_code", u64::from(rc));
            }
            props(&mut o, "properties", &v.properties);
            o.end();
        }
        Op::Subscribe(s) => subscribe(j, h, s),
        Op::Suback(a) => {
            let mut o = j.begin("suback");
            header(&mut o, h);
            o.u64("message_id", u64::from(a.message_id));
            let q: Vec<u64> = a.codes.iter().map(|&c| u64::from(c)).collect();
            o.u64_array("qos_granted", &q);
            o.end();
        }
        Op::Unsubscribe(s) => {
            let mut o = j.begin("unsubscribe");
            header(&mut o, h);
            o.u64("message_id", u64::from(s.message_id));
            crate::app::jsonx::str_array(&mut o, "topics", s.topics.iter().map(|(t, _)| t.as_bytes()));
            o.end();
        }
        Op::Unsuback(a) => {
            let mut o = j.begin("unsuback");
            header(&mut o, h);
            o.u64("message_id", u64::from(a.message_id));
            if !a.codes.is_empty() {
                let q: Vec<u64> = a.codes.iter().map(|&c| u64::from(c)).collect();
                o.u64_array("reason_codes", &q);
            }
            o.end();
        }
        Op::Pingreq | Op::Pingresp => {
            let mut o = j.begin(type_name(h.msg_type));
            header(&mut o, h);
            o.end();
        }
        Op::Auth(r) | Op::Disconnect(r) => {
            let mut o = j.begin(type_name(h.msg_type));
            header(&mut o, h);
            if let Some(rc) = r.reason_code {
                o.u64("reason_code", u64::from(rc));
            }
            props(&mut o, "properties", &r.properties);
            o.end();
        }
        Op::Truncated { skip } => {
            let mut o = j.begin(type_name(h.msg_type));
            header(&mut o, h);
            o.bool("truncated", true);
            o.u64("skipped_length", *skip as u64);
            o.end();
        }
        Op::Unassigned => {}
    }
}

impl MqttTx {
    /// Writes Suricata's `mqtt` object: one object per message.
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let mut o = j.begin("mqtt");
        for m in &self.msgs {
            message(&mut o, m);
        }
        o.end();
    }
}
