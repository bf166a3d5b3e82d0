//! STIX 2.1 bundles: `indicator` objects with `pattern_type: stix`. A pattern of comparisons
//! `[object:path = 'value']` joined by `OR` gives one indicator per comparison; `AND`, other
//! operators and observation expressions are skipped with the reason (they need correlation a
//! dataset cannot express). Indicators referenced by a `report` are grouped under it, the
//! others under the bundle.

use serde_json::Value;

use super::{Event, Feed, Kind};

/// The kind an object path names.
fn kind_of(object: &str, path: &str) -> Option<Kind> {
    let p = path.to_ascii_lowercase().replace(['\'', '"'], "");
    Some(match object {
        "domain-name" if p == "value" => Kind::Domain,
        "url" if p == "value" => Kind::Url,
        "ipv4-addr" | "ipv6-addr" if p == "value" => Kind::Ip,
        "file" if p == "hashes.md5" => Kind::Md5,
        "file" if p == "hashes.sha-256" || p == "hashes.sha256" => Kind::Sha256,
        _ if p.contains("ja3") => Kind::Ja3,
        _ => return None,
    })
}

/// The comparisons of a pattern, or why it cannot be used.
pub(super) fn comparisons(pattern: &str) -> Result<Vec<(String, String, String)>, String> {
    let b = pattern.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut joins = Vec::new();
    while i < b.len() {
        // In bounds: i < b.len() (loop condition and the checks below).
        match b[i] {
            b'[' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b'(' | b')' => i += 1,
            _ => {
                let rest = &pattern[i..];
                if let Some(r) = rest.strip_prefix("OR ") {
                    joins.push("OR");
                    i = pattern.len() - r.len();
                    continue;
                }
                if rest.starts_with("AND ") || rest.starts_with("FOLLOWEDBY") || rest.starts_with("WITHIN") {
                    return Err(format!("pattern with {}: needs correlation", rest.split(' ').next().unwrap_or("")));
                }
                let colon = rest.find(':').ok_or("no object:property")?;
                let object = rest[..colon].trim().to_string();
                let after = &rest[colon + 1..];
                let op_at = after.find(['=', '!', ' ']).ok_or("no comparison")?;
                let path = after[..op_at].trim().to_string();
                let tail = after[op_at..].trim_start();
                let Some(tail) = tail.strip_prefix('=') else {
                    return Err(format!("operator other than = ({})", tail.split(' ').next().unwrap_or("")));
                };
                let tail = tail.trim_start();
                let Some(tail) = tail.strip_prefix('\'') else { return Err("value not a quoted string".into()) };
                let mut value = String::new();
                let mut chars = tail.char_indices();
                let mut end = None;
                while let Some((k, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                value.push(n);
                            }
                        }
                        '\'' => {
                            end = Some(k);
                            break;
                        }
                        _ => value.push(c),
                    }
                }
                let end = end.ok_or("unterminated string")?;
                out.push((object, path, value));
                i = pattern.len() - tail.len() + end + 1;
            }
        }
    }
    if out.is_empty() {
        return Err("no comparison".into());
    }
    Ok(out)
}

pub(super) fn read(v: &Value) -> Result<Feed, String> {
    let mut feed = Feed { format: "stix", ..Default::default() };
    let objects = v.get("objects").and_then(Value::as_array).ok_or("bundle: no \"objects\" list")?;
    let bundle_id = v.get("id").and_then(Value::as_str).unwrap_or("bundle").to_string();
    let mut events: Vec<Event> = Vec::new();
    let mut member: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        if o.get("type").and_then(Value::as_str) == Some("report") {
            let id = o.get("id").and_then(Value::as_str).ok_or_else(|| format!("objects[{i}] (report): no \"id\""))?;
            let tags = o
                .get("labels")
                .and_then(Value::as_array)
                .map_or(Vec::new(), |l| l.iter().filter_map(|x| x.as_str().map(String::from)).collect());
            let info = o.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            events.push(Event { id: id.to_string(), info, tags, indicators: Vec::new() });
            for r in o.get("object_refs").and_then(Value::as_array).into_iter().flatten() {
                if let Some(r) = r.as_str() {
                    member.insert(r.to_string(), events.len() - 1);
                }
            }
        }
    }
    events.push(Event { id: bundle_id, info: String::new(), tags: Vec::new(), indicators: Vec::new() });
    let loose = events.len() - 1;
    for (i, o) in objects.iter().enumerate() {
        if !o.is_object() {
            return Err(format!("objects[{i}]: not an object"));
        }
        if o.get("type").and_then(Value::as_str) != Some("indicator") {
            continue;
        }
        let at = format!("objects[{i}] (indicator)");
        let id = o.get("id").and_then(Value::as_str).ok_or_else(|| format!("{at}: no \"id\""))?;
        let pattern = o.get("pattern").and_then(Value::as_str).ok_or_else(|| format!("{at} {id}: no \"pattern\""))?;
        match o.get("pattern_type").and_then(Value::as_str) {
            Some("stix") | None => {}
            Some(other) => {
                feed.skipped.push(format!("{at} {id}: pattern_type {other}"));
                continue;
            }
        }
        let cmps = match comparisons(pattern) {
            Ok(c) => c,
            Err(why) => {
                feed.skipped.push(format!("{at} {id}: {why}"));
                continue;
            }
        };
        let ev = member.get(id).copied().unwrap_or(loose);
        for (object, path, value) in cmps {
            let Some(kind) = kind_of(&object, &path) else {
                feed.skipped.push(format!("{at} {id}: {object}:{path} not matched on the wire"));
                continue;
            };
            if let Some(e) = events.get_mut(ev) {
                if let Err(why) = e.push(kind, &value) {
                    feed.skipped.push(format!("{at} {id}: {why}"));
                }
            }
        }
    }
    feed.events = events.into_iter().filter(|e| !e.indicators.is_empty()).collect();
    Ok(feed)
}
