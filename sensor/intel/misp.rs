//! MISP events (the JSON of `/events/view`, a feed's event files, `/events/restSearch`).

use serde_json::Value;

use super::{Event, Feed, Kind};

/// The kind a MISP attribute type maps to (also the CSV type column).
pub(super) fn kind_of(ty: &str) -> Option<Kind> {
    Some(match ty.to_ascii_lowercase().as_str() {
        "domain" | "hostname" | "domain|ip" | "hostname|port" => Kind::Domain,
        "url" | "link-url" => Kind::Url,
        "ip" | "ip-dst" | "ip-src" | "ip-dst|port" | "ip-src|port" | "ipv4" | "ipv6" => Kind::Ip,
        "md5" | "filename|md5" => Kind::Md5,
        "sha256" | "filename|sha256" => Kind::Sha256,
        "ja3" | "ja3-fingerprint-md5" => Kind::Ja3,
        _ => return None,
    })
}

/// The part of a composite value (`filename|md5`, `ip-dst|port`, `domain|ip`) the kind uses.
pub(super) fn strip_port<'a>(ty: &str, value: &'a str) -> &'a str {
    let ty = ty.to_ascii_lowercase();
    match (ty.as_str(), value.split_once('|')) {
        ("filename|md5" | "filename|sha256", Some((_, h))) => h,
        ("ip-dst|port" | "ip-src|port" | "domain|ip" | "hostname|port", Some((v, _))) => v,
        _ => value,
    }
}

/// Reads one event, a list of `{"Event": ...}`, or `{"response": [...]}`.
pub(super) fn read(v: &Value) -> Result<Feed, String> {
    let mut feed = Feed { format: "misp", ..Default::default() };
    let list: Vec<(String, &Value)> = if let Some(e) = v.get("Event") {
        vec![("Event".to_string(), e)]
    } else {
        let arr = v
            .get("response")
            .unwrap_or(v)
            .as_array()
            .ok_or("not a MISP event: expected {\"Event\": {...}}, a list of them, or {\"response\": [...]}")?;
        arr.iter()
            .enumerate()
            .map(|(i, x)| {
                x.get("Event").map(|e| (format!("[{i}].Event"), e)).ok_or_else(|| format!("[{i}]: no \"Event\" object"))
            })
            .collect::<Result<_, _>>()?
    };
    for (path, e) in list {
        let ev = read_event(&path, e, &mut feed.skipped)?;
        if !ev.indicators.is_empty() {
            feed.events.push(ev);
        }
    }
    Ok(feed)
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn read_event(path: &str, e: &Value, skipped: &mut Vec<String>) -> Result<Event, String> {
    if !e.is_object() {
        return Err(format!("{path}: not an object"));
    }
    let id =
        text(e.get("id")).or_else(|| text(e.get("uuid"))).ok_or_else(|| format!("{path}: no \"id\" or \"uuid\""))?;
    let mut ev = Event { id, info: text(e.get("info")).unwrap_or_default(), ..Default::default() };
    if let Some(tags) = e.get("Tag").and_then(Value::as_array) {
        ev.tags = tags.iter().filter_map(|t| text(t.get("name"))).collect();
    }
    let mut attrs: Vec<(String, &Value)> = Vec::new();
    if let Some(a) = e.get("Attribute") {
        let a = a.as_array().ok_or_else(|| format!("{path}.Attribute: not a list"))?;
        attrs.extend(a.iter().enumerate().map(|(i, x)| (format!("{path}.Attribute[{i}]"), x)));
    }
    if let Some(objs) = e.get("Object") {
        let objs = objs.as_array().ok_or_else(|| format!("{path}.Object: not a list"))?;
        for (j, o) in objs.iter().enumerate() {
            if let Some(a) = o.get("Attribute") {
                let a = a.as_array().ok_or_else(|| format!("{path}.Object[{j}].Attribute: not a list"))?;
                attrs.extend(a.iter().enumerate().map(|(i, x)| (format!("{path}.Object[{j}].Attribute[{i}]"), x)));
            }
        }
    }
    for (apath, a) in attrs {
        if !a.is_object() {
            return Err(format!("{apath}: not an object"));
        }
        let ty = text(a.get("type")).ok_or_else(|| format!("{apath}: no \"type\""))?;
        let value = text(a.get("value")).ok_or_else(|| format!("{apath}: no \"value\""))?;
        let to_ids = match a.get("to_ids") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
            Some(Value::Number(n)) => n.as_u64() == Some(1),
            Some(_) => return Err(format!("{apath}: \"to_ids\" is not a boolean")),
        };
        if !to_ids {
            skipped.push(format!("{apath} ({ty}): to_ids is false"));
            continue;
        }
        let Some(kind) = kind_of(&ty) else {
            skipped.push(format!("{apath} ({ty}): type not matched on the wire"));
            continue;
        };
        if let Err(why) = ev.push(kind, strip_port(&ty, &value)) {
            skipped.push(format!("{apath} ({ty}): {why}"));
        }
    }
    Ok(ev)
}
