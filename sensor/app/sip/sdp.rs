//! The SDP body of a SIP message as Suricata logs it (`sdp` object: origin, session name,
//! connection data, time and media descriptions, attributes): one pass over `x=value` lines,
//! written only when the body is a session description (starts with `v=` and has an origin
//! and a session name).

use crate::app::jsonx::str_array;
use crate::output::eve::Json;

#[derive(Default)]
struct Media<'a> {
    media: &'a str,
    info: Option<&'a str>,
    bandwidths: Vec<&'a str>,
    conn: Option<&'a str>,
    key: Option<&'a str>,
    attrs: Vec<&'a str>,
}

/// Writes `"sdp":{...}` for a body that is a session description; nothing otherwise.
pub(super) fn write(j: &mut Json<'_>, body: &[u8]) {
    let Ok(text) = std::str::from_utf8(body) else { return };
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).filter(|l| !l.is_empty());
    if !lines.next().is_some_and(|l| l.starts_with("v=")) {
        return;
    }
    let (mut origin, mut name, mut info, mut uri, mut email, mut phone, mut conn) =
        (None, None, None, None, None, None, None);
    let (mut tz, mut key) = (None, None);
    let mut bws = Vec::new();
    let mut times: Vec<(&str, Option<&str>)> = Vec::new();
    let mut attrs = Vec::new();
    let mut media: Vec<Media<'_>> = Vec::new();
    for l in lines {
        let Some((k, v)) = l.split_once('=') else { return };
        if let Some(m) = media.last_mut() {
            match k {
                "i" => m.info = Some(v),
                "b" => m.bandwidths.push(v),
                "c" => m.conn = Some(v),
                "k" => m.key = Some(v),
                "a" => m.attrs.push(v),
                "m" => media.push(Media { media: v, ..Media::default() }),
                _ => {}
            }
            continue;
        }
        match k {
            "o" => origin = Some(v),
            "s" => name = Some(v),
            "i" => info = Some(v),
            "u" => uri = Some(v),
            "e" => email = Some(v),
            "p" => phone = Some(v),
            "c" => conn = Some(v),
            "b" => bws.push(v),
            "t" => times.push((v, None)),
            "r" => {
                if let Some(t) = times.last_mut() {
                    t.1 = Some(v);
                }
            }
            "z" => tz = Some(v),
            "k" => key = Some(v),
            "a" => attrs.push(v),
            "m" => media.push(Media { media: v, ..Media::default() }),
            _ => {}
        }
    }
    let (Some(origin), Some(name)) = (origin, name) else { return };
    let mut o = j.begin("sdp");
    o.str("origin", origin);
    o.str("session_name", name);
    for (k, v) in
        [("session_info", info), ("uri", uri), ("email", email), ("phone_number", phone), ("connection_data", conn)]
    {
        if let Some(v) = v {
            o.str(k, v);
        }
    }
    if !bws.is_empty() {
        str_array(&mut o, "bandwidths", bws.iter().map(|s| s.as_bytes()));
    }
    crate::app::jsonx::obj_array(&mut o, "time_descriptions", &times, |e, (t, r)| {
        e.str("time", t);
        if let Some(r) = r {
            e.str("repeat_time", r);
        }
    });
    if let Some(tz) = tz {
        o.str("timezone", tz);
    }
    if let Some(k) = key {
        o.str("encryption_key", k);
    }
    if !attrs.is_empty() {
        str_array(&mut o, "attributes", attrs.iter().map(|s| s.as_bytes()));
    }
    if !media.is_empty() {
        crate::app::jsonx::obj_array(&mut o, "media_descriptions", &media, |e, m| {
            e.str("media", m.media);
            if let Some(i) = m.info {
                e.str("media_info", i);
            }
            if !m.bandwidths.is_empty() {
                str_array(e, "bandwidths", m.bandwidths.iter().map(|s| s.as_bytes()));
            }
            if let Some(c) = m.conn {
                e.str("connection_data", c);
            }
            if let Some(k) = m.key {
                e.str("encryption_key", k);
            }
            if !m.attrs.is_empty() {
                str_array(e, "attributes", m.attrs.iter().map(|s| s.as_bytes()));
            }
        });
    }
    o.end();
}
