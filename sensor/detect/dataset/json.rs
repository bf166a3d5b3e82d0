//! Sets in `format json` and `format ndjson` (Suricata 8's datajson, `datasets-context-json.c`):
//! the file holds objects; each gives its value at `value_key` (a dotted path, a JSON string:
//! the bytes for `string` sets, hex for hashes, dotted or colon notation for addresses) and the
//! whole object is the entry's context, written compact (keys in the file's order, without the
//! `value_key` member under `remove_key`) and carried by the alerts of rules that match it, in
//! `alert.context.<context_key>`.
//!
//! `json`: one array, the file itself or the one at `array_key` (a dotted path) in the file's
//! object; `ndjson`: one object a line. An element without the value key is skipped silently (as
//! Suricata: a file may mix kinds of entries); one whose value is not a string or does not parse
//! is skipped and reported with its place; no element with the key at all is an error, as are a
//! file that is not JSON and an `array_key` that names no array. A value already in the set keeps
//! its first context.

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{parse_value, short, KeyHasher, KeyTable, LoadResult};
use crate::rule::ast::{DatasetJson, DatasetType};

/// Longest context of an entry (Suricata's DATAJSON_JSON_LENGTH).
pub(crate) const CONTEXT_MAX: usize = 1024;

/// A JSON value with its objects' keys in the order of the file (serde_json's map sorts them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OVal {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Arr(Vec<OVal>),
    Obj(Vec<(String, OVal)>),
}

impl<'de> Deserialize<'de> for OVal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OVal, D::Error> {
        d.deserialize_any(OValVisitor)
    }
}

struct OValVisitor;

impl<'de> Visitor<'de> for OValVisitor {
    type Value = OVal;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<OVal, E> {
        Ok(OVal::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<OVal, E> {
        Ok(OVal::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<OVal, E> {
        Ok(OVal::Num(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<OVal, E> {
        Ok(OVal::Num(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<OVal, E> {
        Ok(serde_json::Number::from_f64(v).map_or(OVal::Null, OVal::Num))
    }
    fn visit_str<E>(self, v: &str) -> Result<OVal, E> {
        Ok(OVal::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<OVal, E> {
        Ok(OVal::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<OVal, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = a.next_element()? {
            v.push(x);
        }
        Ok(OVal::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<OVal, A::Error> {
        let mut v = Vec::new();
        while let Some(kv) = a.next_entry::<String, OVal>()? {
            v.push(kv);
        }
        Ok(OVal::Obj(v))
    }
}

impl OVal {
    /// The member `key` of an object (the first of that name).
    fn member(&self, key: &str) -> Option<&OVal> {
        match self {
            OVal::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at a dotted path (Suricata's GetSubObjectByKey: every step an object).
    pub(crate) fn at(&self, path: &str) -> Option<&OVal> {
        path.split('.').try_fold(self, |cur, k| cur.member(k))
    }

    /// Compact JSON text, leaving out the top-level member `skip`.
    pub(crate) fn write_compact(&self, out: &mut String, skip: Option<&str>) {
        match self {
            OVal::Null => out.push_str("null"),
            OVal::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            OVal::Num(n) => {
                let _ = write!(out, "{n}");
            }
            OVal::Str(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
            OVal::Arr(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    x.write_compact(out, None);
                }
                out.push(']');
            }
            OVal::Obj(m) => {
                out.push('{');
                let mut first = true;
                for (k, v) in m.iter().filter(|(k, _)| Some(k.as_str()) != skip) {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    v.write_compact(out, None);
                }
                out.push('}');
            }
        }
    }
}

/// What a JSON set's file gave: the table (each entry's value is the index + 1 of its context)
/// and the contexts.
pub(crate) struct JsonLoad {
    pub table: KeyTable,
    pub contexts: Vec<Box<str>>,
    pub res: LoadResult,
    /// Bytes of the contexts (for the memcap).
    ctx_bytes: usize,
}

/// Reads a `format json`/`ndjson` file (see the module documentation).
pub(crate) fn read_json(
    path: &std::path::Path,
    kind: DatasetType,
    spec: &DatasetJson,
    hasher: KeyHasher,
    memcap: u64,
) -> Result<JsonLoad, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut load = JsonLoad {
        table: KeyTable::with_hasher(hasher, 0),
        contexts: Vec::new(),
        res: Default::default(),
        ctx_bytes: 0,
    };
    let mut found = false;
    if spec.ndjson {
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<OVal>(line) {
                Ok(v) => add_element(&mut load, &v, kind, spec, memcap, &mut found, &format!("line {}", i + 1)),
                Err(e) => skip(&mut load.res, format!("line {}: not JSON: {e}", i + 1)),
            }
        }
    } else {
        let doc: OVal = serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        let arr = if spec.array_key.is_empty() { Some(&doc) } else { doc.at(&spec.array_key) };
        let Some(OVal::Arr(items)) = arr else {
            return Err(if spec.array_key.is_empty() {
                format!("{}: not an array", path.display())
            } else {
                format!("{}: no array at key '{}'", path.display(), spec.array_key)
            });
        };
        for (i, v) in items.iter().enumerate() {
            add_element(&mut load, v, kind, spec, memcap, &mut found, &format!("element {i}"));
        }
    }
    if !found {
        return Err(format!("{}: no valid entries for key '{}'", path.display(), spec.value_key));
    }
    load.table.shrink();
    Ok(load)
}

fn skip(res: &mut LoadResult, why: String) {
    res.skipped += 1;
    if res.errors.len() < 5 {
        res.errors.push(why);
    }
}

fn add_element(
    load: &mut JsonLoad,
    v: &OVal,
    kind: DatasetType,
    spec: &DatasetJson,
    memcap: u64,
    found: &mut bool,
    at: &str,
) {
    let Some(val) = v.at(&spec.value_key) else { return };
    *found = true;
    let OVal::Str(s) = val else {
        return skip(&mut load.res, format!("{at}: the value at '{}' is not a string", spec.value_key));
    };
    let key = match kind {
        DatasetType::String => s.as_bytes().to_vec(),
        _ => match parse_value(kind, s) {
            Ok(k) => k,
            Err(e) => return skip(&mut load.res, format!("{at}: {e}")),
        },
    };
    let mut ctx = String::new();
    v.write_compact(&mut ctx, spec.remove_key.then_some(spec.value_key.as_str()));
    if ctx.len() > CONTEXT_MAX {
        return skip(&mut load.res, format!("{at}: object of {} bytes (limit {CONTEXT_MAX})", ctx.len()));
    }
    let cost = KeyTable::cost_of(key.len()) + ctx.len() + 16;
    let used = load.table.mem_bytes() + load.ctx_bytes;
    if memcap > 0 && (used + cost) as u64 > memcap {
        load.res.memcap_refused += 1;
        return skip(&mut load.res, format!("{at}: memcap of {memcap} bytes reached ('{}')", short(s)));
    }
    let idx = load.contexts.len() as u32 + 1;
    if load.table.insert(&key, idx) {
        load.ctx_bytes += ctx.len() + 16;
        load.contexts.push(ctx.into_boxed_str());
        load.res.entries += 1;
    }
}
