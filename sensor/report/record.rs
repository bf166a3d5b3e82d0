//! One EVE record, read leniently: the fields the report uses, borrowed from the line where
//! JSON allows it, and nothing else.
//!
//! Record fields are written by whoever controls the traffic (user agents, domains, file names,
//! certificate subjects) and, when a file has been tampered with, by anyone at all. So every
//! field here accepts any JSON value: a value of the wrong type (a string where a number was
//! expected, an object where a string was) reads as absent instead of rejecting the record,
//! arrays are read up to a small count and the rest skipped, and unknown fields are skipped
//! without being built. Only a line that is not a JSON object at all is a malformed record.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// For the string visitor: numbers, booleans, null, arrays and objects read as absent.
macro_rules! other_types_are_absent {
    () => {
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

/// A string field: `None` when absent or not a string.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub(crate) Option<Cow<'a, str>>);

impl<'a> Str<'a> {
    pub(crate) fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Owned(v))))
    }
    other_types_are_absent!();
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrVisitor)
    }
}

/// An unsigned integer field: `None` when absent, negative, fractional or not a number.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Num(pub(crate) Option<u64>);

struct NumVisitor;

impl<'de> Visitor<'de> for NumVisitor {
    type Value = Num;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Num(Some(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Num(u64::try_from(v).ok()))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Num(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Num(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Num(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Num(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Num(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Num(None))
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor)
    }
}

/// A nested object read as `T` when it is an object; any other JSON value reads as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Obj<T>(pub(crate) Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
    }
    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
        Ok(Obj(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Obj(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Obj(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Obj(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Obj(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Obj(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Obj(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Obj(None))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjVisitor(PhantomData))
    }
}

/// Elements kept from an array field; the rest are skipped.
pub(crate) const MAX_ARRAY: usize = 16;

/// An array of objects, the first [`MAX_ARRAY`] that are objects kept; not an array: empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arr<T>(pub(crate) Vec<T>);

impl<T> Default for Arr<T> {
    fn default() -> Self {
        Arr(Vec::new())
    }
}

struct ArrVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ArrVisitor<T> {
    type Value = Arr<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut v = Vec::new();
        while let Some(Obj(e)) = seq.next_element::<Obj<T>>()? {
            if let Some(e) = e {
                if v.len() < MAX_ARRAY {
                    v.push(e);
                }
            }
        }
        Ok(Arr(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
        Ok(Arr::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Arr::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Arr::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Arr::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Arr::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Arr::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Arr::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Arr::default())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Arr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ArrVisitor(PhantomData))
    }
}

/// The fields of an EVE record that the report reads (Suricata's names, see eve-schema.json).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Record<'a> {
    #[serde(borrow)]
    pub(crate) timestamp: Str<'a>,
    #[serde(borrow)]
    pub(crate) event_type: Str<'a>,
    /// The sensor's name (`sensor-name` in Suricata, absent by default).
    #[serde(borrow)]
    pub(crate) host: Str<'a>,
    pub(crate) flow_id: Num,
    #[serde(borrow)]
    pub(crate) src_ip: Str<'a>,
    #[serde(borrow)]
    pub(crate) dest_ip: Str<'a>,
    pub(crate) src_port: Num,
    pub(crate) dest_port: Num,
    #[serde(borrow)]
    pub(crate) proto: Str<'a>,
    pub(crate) icmp_type: Num,
    pub(crate) icmp_code: Num,
    #[serde(borrow)]
    pub(crate) app_proto: Str<'a>,
    #[serde(borrow)]
    pub(crate) community_id: Str<'a>,
    /// The evidence file that holds this flow's packets (pcap-log).
    #[serde(borrow)]
    pub(crate) capture_file: Str<'a>,
    /// The capture this record came from (replay with `pcap_filename`).
    #[serde(borrow)]
    pub(crate) pcap_filename: Str<'a>,
    #[serde(borrow)]
    pub(crate) alert: Obj<Alert<'a>>,
    pub(crate) flow: Obj<Flow<'a>>,
    #[serde(borrow)]
    pub(crate) dns: Obj<Dns<'a>>,
    #[serde(borrow)]
    pub(crate) tls: Obj<Tls<'a>>,
    #[serde(borrow)]
    pub(crate) http: Obj<Http<'a>>,
    #[serde(borrow)]
    pub(crate) fileinfo: Obj<FileInfo<'a>>,
    pub(crate) stats: Obj<Stats>,
}

/// `alert`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Alert<'a> {
    pub(crate) gid: Num,
    pub(crate) signature_id: Num,
    pub(crate) rev: Num,
    #[serde(borrow)]
    pub(crate) signature: Str<'a>,
    #[serde(borrow)]
    pub(crate) category: Str<'a>,
    pub(crate) severity: Num,
    #[serde(borrow)]
    pub(crate) action: Str<'a>,
}

/// `flow` (in flow records, and the flow summary of alert records).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Flow<'a> {
    pub(crate) pkts_toserver: Num,
    pub(crate) pkts_toclient: Num,
    pub(crate) bytes_toserver: Num,
    pub(crate) bytes_toclient: Num,
    #[serde(borrow)]
    pub(crate) start: Str<'a>,
}

/// `dns`: version 3 (`queries`, Suricata 8+) and versions 1/2 (`rrname` with `type: query`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Dns<'a> {
    #[serde(borrow, rename = "type")]
    pub(crate) kind: Str<'a>,
    #[serde(borrow)]
    pub(crate) rrname: Str<'a>,
    #[serde(borrow)]
    pub(crate) queries: Arr<DnsQuery<'a>>,
}

/// One element of `dns.queries`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct DnsQuery<'a> {
    #[serde(borrow)]
    pub(crate) rrname: Str<'a>,
}

/// `tls`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Tls<'a> {
    #[serde(borrow)]
    pub(crate) sni: Str<'a>,
    #[serde(borrow)]
    pub(crate) subject: Str<'a>,
    #[serde(borrow)]
    pub(crate) issuerdn: Str<'a>,
    #[serde(borrow)]
    pub(crate) fingerprint: Str<'a>,
    #[serde(borrow)]
    pub(crate) ja3: Obj<Ja3<'a>>,
    #[serde(borrow)]
    pub(crate) ja4: Str<'a>,
}

/// `tls.ja3` (only its hash is kept).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Ja3<'a> {
    #[serde(borrow)]
    pub(crate) hash: Str<'a>,
}

/// `http`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Http<'a> {
    #[serde(borrow)]
    pub(crate) hostname: Str<'a>,
    #[serde(borrow)]
    pub(crate) http_user_agent: Str<'a>,
}

/// `fileinfo`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct FileInfo<'a> {
    #[serde(borrow)]
    pub(crate) filename: Str<'a>,
    pub(crate) size: Num,
    #[serde(borrow)]
    pub(crate) md5: Str<'a>,
    #[serde(borrow)]
    pub(crate) sha1: Str<'a>,
    #[serde(borrow)]
    pub(crate) sha256: Str<'a>,
}

/// `stats` (cumulative counters since the sensor started).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Stats {
    pub(crate) uptime: Num,
    pub(crate) decoder: Obj<Decoder>,
}

/// `stats.decoder`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Decoder {
    pub(crate) pkts: Num,
    pub(crate) bytes: Num,
}

/// Why a line is not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) String);

/// Reads one line as a record. An error only when the line is not a JSON object.
pub(crate) fn parse(line: &[u8]) -> Result<Record<'_>, Malformed> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let Obj(rec) = Obj::<Record>::deserialize(&mut de).map_err(|e| Malformed(e.to_string()))?;
    de.end().map_err(|e| Malformed(e.to_string()))?;
    rec.ok_or_else(|| Malformed("not a JSON object".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_the_wrong_type_read_as_absent() {
        let r = parse(
            br#"{"timestamp":5,"event_type":"alert","src_port":"80","dest_port":-1,"flow_id":1.5,
                "alert":"x","dns":{"queries":[1,{"rrname":"a.example"},"s",{"rrname":{}}]},
                "tls":{"sni":["a"],"ja3":"x"},"flow":[1,2],"http":{"hostname":null}}"#,
        )
        .unwrap();
        assert_eq!(r.timestamp.get(), None);
        assert_eq!(r.event_type.get(), Some("alert"));
        assert_eq!((r.src_port.0, r.dest_port.0, r.flow_id.0), (None, None, None));
        assert!(r.alert.0.is_none() && r.flow.0.is_none());
        let q: Vec<_> = r.dns.0.unwrap().queries.0.into_iter().map(|q| q.rrname.0).collect();
        assert_eq!(q, vec![Some("a.example".into()), None]);
        let tls = r.tls.0.unwrap();
        assert!(tls.sni.0.is_none() && tls.ja3.0.is_none());
        assert!(r.http.0.unwrap().hostname.0.is_none());
    }

    #[test]
    fn strings_with_escapes_are_decoded_and_others_borrowed() {
        let r = parse(br#"{"event_type":"dns","host":"a\u0000<b>\"","src_ip":"10.0.0.1"}"#).unwrap();
        assert_eq!(r.host.get(), Some("a\u{0}<b>\""));
        assert!(matches!(r.src_ip.0, Some(Cow::Borrowed("10.0.0.1"))));
    }

    #[test]
    fn only_objects_are_records() {
        for bad in [&b"[1]"[..], b"\"x\"", b"{", b"{} {}", b"", b"nul", b"{\"a\":1,\"a\":2}x"] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(parse(b"{}").is_ok());
        assert!(parse(b"  {\"event_type\":\"flow\"}  \r").is_ok());
    }

    #[test]
    fn arrays_are_cut_at_the_cap() {
        let many: Vec<String> = (0..100).map(|i| format!("{{\"rrname\":\"d{i}\"}}")).collect();
        let line = format!("{{\"dns\":{{\"queries\":[{}]}}}}", many.join(","));
        let r = parse(line.as_bytes()).unwrap();
        assert_eq!(r.dns.0.unwrap().queries.0.len(), MAX_ARRAY);
    }

    #[test]
    fn deep_nesting_does_not_exhaust_the_stack() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        for field in ["x", "alert", "tls", "stats"] {
            let line = format!("{{\"event_type\":\"alert\",\"{field}\":{deep}}}");
            let r = parse(line.as_bytes()).unwrap();
            assert_eq!(r.event_type.get(), Some("alert"));
        }
        let line = format!("{{\"dns\":{{\"queries\":[{deep}]}}}}");
        assert!(parse(line.as_bytes()).unwrap().dns.0.unwrap().queries.0.is_empty());
        let objs = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
        assert!(parse(format!("{{\"alert\":{objs}}}").as_bytes()).is_ok());
    }
}
