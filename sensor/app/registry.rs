//! The registry: which protocols have a parser, and every sticky buffer and value keyword
//! they provide, numbered for detection.
//!
//! Adding a protocol: its folder with a [`Protocol`] descriptor, and one line in
//! [`PROTOCOLS`]. Everything else (rule keywords, detection groups, EVE metadata of alerts,
//! counters) comes from the descriptor.

use crate::fast_hash::HashMap;
use std::sync::OnceLock;

use super::plugin::{BufferInfo, Protocol, ValueInfo};
use super::proto::AppProto;
use crate::rule::{AppKeyword, AppKind, Arg};

/// The protocols with a parser. One line per protocol.
static PROTOCOLS: &[&Protocol] = &[
    &super::http::PROTOCOL,
    &super::dns::PROTOCOL,
    &super::tls::PROTOCOL,
    &super::krb5::PROTOCOL,
    &super::snmp::PROTOCOL,
    &super::mdns::PROTOCOL,
    &super::llmnr::PROTOCOL,
    &super::sip::PROTOCOL,
    &super::ntp::PROTOCOL,
    &super::dcerpc::PROTOCOL,
    &super::smb::PROTOCOL,
    &super::dhcp::PROTOCOL,
    &super::ftp::PROTOCOL,
    &super::ftp::DATA_PROTOCOL,
    &super::ssh::PROTOCOL,
    &super::smtp::PROTOCOL,
    &super::ike::PROTOCOL,
    &super::quic::PROTOCOL,
    &super::websocket::PROTOCOL,
    &super::mqtt::PROTOCOL,
    &super::ldap::PROTOCOL,
    &super::pop3::PROTOCOL,
    &super::nfs::PROTOCOL,
    &super::tftp::PROTOCOL,
    &super::rdp::PROTOCOL,
    // after HTTP and DNS: the buffers they share keep those protocols in the keyword table
    &super::http2::PROTOCOL,
    &super::http2::DOH2_PROTOCOL,
];

/// The protocols with a parser.
pub fn protocols() -> impl Iterator<Item = &'static Protocol> {
    PROTOCOLS.iter().copied()
}

/// The descriptor of a parsed protocol.
pub fn protocol(p: AppProto) -> Option<&'static Protocol> {
    PROTOCOLS.iter().copied().find(|d| d.proto == p)
}

/// A sticky buffer of one protocol, numbered across all protocols ([`BufferId`]).
#[derive(Clone, Copy, Debug)]
pub struct BufferDef {
    /// Its protocol.
    pub proto: AppProto,
    /// Its number within the protocol (what [`super::Transaction::buffer`] takes).
    pub local: u16,
    /// What it is.
    pub info: BufferInfo,
}

/// A value keyword of one protocol.
#[derive(Clone, Copy, Debug)]
pub struct ValueDef {
    /// Its protocol.
    pub proto: AppProto,
    /// Its number within the protocol (what [`super::Transaction::value`] takes).
    pub local: u16,
    /// What it is.
    pub info: ValueInfo,
}

/// A buffer's number across all protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(pub u16);

/// A value keyword's number across all protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u16);

/// Every buffer and value keyword, with lookups by name.
#[derive(Debug, Default)]
pub struct Registry {
    buffers: Vec<BufferDef>,
    values: Vec<ValueDef>,
    buffers_by_name: HashMap<&'static str, Vec<BufferId>>,
    values_by_name: HashMap<&'static str, Vec<ValueId>>,
}

impl Registry {
    fn build() -> Registry {
        let mut r = Registry::default();
        for p in PROTOCOLS {
            for (local, info) in (p.buffers)().into_iter().enumerate() {
                let id = BufferId(r.buffers.len() as u16);
                r.buffers.push(BufferDef { proto: p.proto, local: local as u16, info });
                for name in std::iter::once(info.name).chain(info.aliases.iter().copied()) {
                    r.buffers_by_name.entry(name).or_default().push(id);
                }
            }
            for (local, info) in (p.values)().into_iter().enumerate() {
                let id = ValueId(r.values.len() as u16);
                r.values.push(ValueDef { proto: p.proto, local: local as u16, info });
                for name in std::iter::once(info.name).chain(info.aliases.iter().copied()) {
                    r.values_by_name.entry(name).or_default().push(id);
                }
            }
        }
        r
    }

    /// A buffer by number.
    pub fn buffer(&self, id: BufferId) -> Option<&BufferDef> {
        self.buffers.get(usize::from(id.0))
    }

    /// A value keyword by number.
    pub fn value(&self, id: ValueId) -> Option<&ValueDef> {
        self.values.get(usize::from(id.0))
    }

    /// The buffers a rule's buffer name stands for (one per protocol that has it).
    pub fn buffers_named(&self, name: &str) -> &[BufferId] {
        self.buffers_by_name.get(name).map_or(&[], |v| v.as_slice())
    }

    /// The value keywords a rule's keyword name stands for (one per protocol that has it).
    pub fn values_named(&self, name: &str) -> &[ValueId] {
        self.values_by_name.get(name).map_or(&[], |v| v.as_slice())
    }

    /// Every buffer.
    pub fn buffers(&self) -> &[BufferDef] {
        &self.buffers
    }

    /// Every value keyword.
    pub fn values(&self) -> &[ValueDef] {
        &self.values
    }
}

/// Every app-layer keyword, as rows for the rule parser: the sticky buffers and value
/// keywords of the parsed protocols, then the catalog's keywords of protocols without a
/// parser (built once).
pub fn keywords() -> &'static [AppKeyword] {
    static K: OnceLock<Vec<AppKeyword>> = OnceLock::new();
    K.get_or_init(|| {
        let r = registry();
        let mut rows = Vec::new();
        let mut seen = crate::fast_hash::HashSet::default();
        for b in r.buffers().iter().filter(|b| !b.info.internal) {
            seen.extend(b.info.aliases.iter().copied());
            if seen.insert(b.info.name) {
                let proto = if b.info.shared { None } else { Some(b.proto.name()) };
                let kind = AppKind::StickyBuffer { multi: b.info.multi };
                rows.push(AppKeyword {
                    name: b.info.name,
                    aliases: b.info.aliases,
                    proto,
                    kind,
                    desc: b.info.desc,
                    doc: b.info.doc,
                });
            }
        }
        for v in r.values() {
            seen.extend(v.info.aliases.iter().copied());
            if seen.insert(v.info.name) {
                let arg = match v.info.arg {
                    Some(true) => Arg::Required,
                    Some(false) => Arg::None,
                    None => Arg::Optional,
                };
                let kind = AppKind::Value { arg };
                rows.push(AppKeyword {
                    name: v.info.name,
                    aliases: v.info.aliases,
                    proto: Some(v.proto.name()),
                    kind,
                    desc: v.info.desc,
                    doc: v.info.doc,
                });
            }
        }
        rows.extend(super::catalog::UNPARSED.iter().filter(|k| !seen.contains(k.name)).copied());
        rows
    })
}

/// The registry (built once).
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_documented_and_names_are_unique_per_protocol() {
        let r = registry();
        assert!(!r.buffers().is_empty());
        let mut seen = crate::fast_hash::HashSet::default();
        for b in r.buffers() {
            assert!(b.info.internal || !b.info.desc.is_empty(), "{} has no description", b.info.name);
            assert!(b.info.internal || b.info.doc.starts_with("https://"), "{} has no doc link", b.info.name);
            assert!(seen.insert((b.proto, b.info.name)), "{} twice", b.info.name);
        }
        for v in r.values() {
            assert!(!v.info.desc.is_empty() && v.info.doc.starts_with("https://"), "{}", v.info.name);
            assert!(seen.insert((v.proto, v.info.name)), "{} twice", v.info.name);
        }
    }

    #[test]
    fn the_catalog_holds_only_keywords_no_parsed_protocol_provides() {
        let r = registry();
        let provided: crate::fast_hash::HashSet<&str> = r
            .buffers()
            .iter()
            .flat_map(|b| std::iter::once(b.info.name).chain(b.info.aliases.iter().copied()))
            .chain(r.values().iter().flat_map(|v| std::iter::once(v.info.name).chain(v.info.aliases.iter().copied())))
            .collect();
        for k in super::super::catalog::UNPARSED {
            assert!(!provided.contains(k.name), "catalog row {} belongs to a parsed protocol now", k.name);
        }
        let names: Vec<&str> = keywords().iter().map(|k| k.name).collect();
        assert!(names.contains(&"http.uri") && names.contains(&"smb.named_pipe"), "{names:?}");
    }

    #[test]
    fn lookups_by_name_and_alias() {
        let r = registry();
        let uri = r.buffers_named("http.uri");
        let protos: Vec<AppProto> = uri.iter().filter_map(|&u| r.buffer(u)).map(|b| b.proto).collect();
        assert_eq!(protos, vec![AppProto::Http, AppProto::Http2, AppProto::Doh2]);
        // DNS's, and HTTP/2's and DoH's (DNS over HTTP/2)
        assert_eq!(r.buffers_named("dns_query").len(), 3);
        assert!(r.buffers_named("file.data").iter().all(|&b| r.buffer(b).is_some()));
        assert_eq!(r.values_named("dns.opcode").len(), 3);
        assert!(r.buffers_named("nope").is_empty());
    }
}
