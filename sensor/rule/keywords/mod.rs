//! The keyword table: every rule keyword is one row ([`Keyword`]) with its name and aliases,
//! its kind, the form of its value, its setup (the function that reads the value into the
//! rule; for a header keyword also the pure test run per packet), a one-line description and
//! the link to its Suricata documentation. The parser dispatches through the row found for a
//! name; `picket rules keywords` lists the same rows.
//!
//! The rule language's own keywords are defined here, one file per family, each file holding
//! its rows and their setup functions: [`meta`], [`content`] (content and its modifiers),
//! [`buffers`] (sticky buffers, legacy modifiers, transforms, `bsize`, `urilen`), [`pcre`],
//! [`byte`] (`byte_*`, `isdataat`), [`flow`] (flow, flowbits, thresholds), [`packet`] (header
//! keywords, with their tests) and [`catalog`] (keywords accepted without effect, and those
//! Suricata has that Picket does not implement).
//!
//! App-layer keywords (sticky buffers such as `http.uri`, values such as `dns.opcode`) are not
//! defined by the rule language: the app layer contributes them as [`AppKeyword`] rows, and
//! [`Keywords::new`] composes them with the language's rows. Until the protocols register their
//! own, they come from the app layer (`crate::app::keywords()`).
//!
//! Adding a header keyword: in the family's file under [`packet`], a parse function (text to a
//! [`HeaderValue`](crate::rule::ast::HeaderValue)), a test over the frame and its decoded
//! summary, and one row in the file's `ROWS`.
//!
//! Names are matched case-insensitively, as Suricata does.

pub(crate) mod buffers;
pub(crate) mod byte;
pub(crate) mod catalog;
pub(crate) mod content;
pub(crate) mod data;
pub(crate) mod files;
pub(crate) mod flow;
pub(crate) mod intel;
pub(crate) mod meta;
pub(super) mod packet;
pub(crate) mod pcre;
pub(crate) mod vars;

use crate::fast_hash::{HashMap, HashSet};

use crate::rule::ast::{HeaderTest, HeaderValue};
use crate::rule::parse::{Builder, Env, PResult};

/// A link to Suricata's rule documentation: `suricata_doc!("header-keywords.html#ttl")`.
macro_rules! suricata_doc {
    ($page:literal) => {
        concat!("https://docs.suricata.io/en/latest/rules/", $page)
    };
}
pub(crate) use suricata_doc;

/// What a keyword is, for listings and for what the parser does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Rule metadata (msg, sid, classtype, ...).
    Meta,
    /// A payload keyword, appended to the current buffer's list (content, pcre, byte_*, ...).
    Payload,
    /// A content modifier, applied to the previous content (nocase, depth, ...).
    Modifier,
    /// A sticky buffer: following payload keywords inspect it.
    Sticky,
    /// A legacy content modifier (`http_uri`, ...): moves the previous content to its buffer.
    LegacyModifier,
    /// A transform of the current sticky buffer.
    Transform,
    /// `pkt_data`: back to the packet payload.
    ResetBuffer,
    /// A header keyword evaluated on the packet (ttl, flags, dsize, ...).
    Packet,
    /// Flow and state keywords (flow, flowbits, threshold, ...).
    Flow,
    /// Accepted, no effect on matching (recorded in `Rule::ignored_keywords`).
    Ignored,
    /// Known to Suricata, changes matching, no typed form here yet: a rule using it is
    /// reported as `Unsupported` rather than loaded without it.
    Untyped,
    /// A value of an app-layer transaction (`dns.opcode`, `tls.version`, `ssl_state`, ...):
    /// kept as written, compiled by the detection engine.
    AppValue,
}

impl Kind {
    /// Short name for listings.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Meta => "meta",
            Kind::Payload => "payload",
            Kind::Modifier => "content-modifier",
            Kind::Sticky => "sticky-buffer",
            Kind::LegacyModifier => "legacy-modifier",
            Kind::Transform => "transform",
            Kind::ResetBuffer => "buffer-reset",
            Kind::Packet => "packet",
            Kind::Flow => "flow",
            Kind::Ignored => "ignored",
            Kind::Untyped => "unsupported",
            Kind::AppValue => "app-layer-value",
        }
    }
}

/// Whether a keyword takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arg {
    /// `keyword;` only.
    None,
    /// `keyword:value;` only.
    Required,
    /// Either.
    Optional,
}

impl Arg {
    /// Short name for listings.
    pub fn name(self) -> &'static str {
        match self {
            Arg::None => "none",
            Arg::Required => "required",
            Arg::Optional => "optional",
        }
    }
}

/// A keyword's setup: reads the keyword's value into the rule under construction. Gets the
/// name as written (lowercase; an alias stays an alias in messages) and the value (`None`
/// when the option has none).
pub(crate) type SetupFn = fn(&mut Builder, &Env<'_>, &'static str, Option<&str>) -> PResult<()>;

/// A header keyword's parse: the value (unquoted, trimmed) to its typed form, or why not.
pub(crate) type HeaderParse = fn(&str) -> Result<HeaderValue, String>;

/// What the parser does with a keyword.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Setup {
    /// Its own setup function.
    Rule(SetupFn),
    /// A header keyword: a pure parse, and the test bound into the rule for every packet.
    /// `once`: a second one in a rule is an error.
    Header { parse: HeaderParse, test: HeaderTest, once: bool },
    /// Selects the sticky buffer named by the row; `multi`: Suricata inspects each instance
    /// separately, so a second selection starts a new list.
    Sticky { multi: bool },
    /// Selects a sticky buffer of the packet, read by `get` (bound into the rule).
    PacketSticky { get: crate::rule::ast::PacketGet },
    /// A legacy content modifier: the previous content moves to `buffer`.
    Legacy { buffer: &'static str },
    /// An app-layer value: kept as (name, value) in `Rule::app_values`.
    AppValue,
    /// Accepted without effect.
    Ignored,
    /// Refused as unsupported (after the rest of the rule is checked).
    Untyped,
}

/// One keyword: a row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Keyword {
    /// Canonical name, as written in rules (lowercase).
    pub name: &'static str,
    /// Other names for the same keyword.
    pub aliases: &'static [&'static str],
    /// What it is.
    pub kind: Kind,
    /// Whether it takes a value.
    pub arg: Arg,
    /// For app-layer keywords, the protocol they belong to (`None`: several, or none).
    pub proto: Option<&'static str>,
    /// One line saying what it does.
    pub desc: &'static str,
    /// Its documentation (Suricata's).
    pub doc: &'static str,
    pub(crate) setup: Setup,
}

impl Keyword {
    /// A keyword with its own setup function.
    pub(crate) const fn rule(
        name: &'static str,
        kind: Kind,
        arg: Arg,
        setup: SetupFn,
        desc: &'static str,
        doc: &'static str,
    ) -> Keyword {
        Keyword { name, aliases: &[], kind, arg, proto: None, desc, doc, setup: Setup::Rule(setup) }
    }

    /// A header keyword: parse and per-packet test.
    pub(crate) const fn header(
        name: &'static str,
        arg: Arg,
        parse: HeaderParse,
        test: HeaderTest,
        desc: &'static str,
        doc: &'static str,
    ) -> Keyword {
        let setup = Setup::Header { parse, test, once: false };
        Keyword { name, aliases: &[], kind: Kind::Packet, arg, proto: None, desc, doc, setup }
    }

    /// The same keyword, also called `aliases`.
    pub(crate) const fn aliases(mut self, aliases: &'static [&'static str]) -> Keyword {
        self.aliases = aliases;
        self
    }

    /// The same keyword, allowed once per rule.
    pub(crate) const fn once(mut self) -> Keyword {
        if let Setup::Header { parse, test, .. } = self.setup {
            self.setup = Setup::Header { parse, test, once: true };
        }
        self
    }

    /// A sticky buffer of the packet (`tcp.hdr`): `get` finds its bytes in a packet.
    pub(crate) const fn packet_buffer(
        name: &'static str,
        get: crate::rule::ast::PacketGet,
        desc: &'static str,
        doc: &'static str,
    ) -> Keyword {
        let setup = Setup::PacketSticky { get };
        Keyword { name, aliases: &[], kind: Kind::Sticky, arg: Arg::None, proto: None, desc, doc, setup }
    }

    /// A legacy content modifier moving the previous content to `buffer`.
    pub(crate) const fn legacy(
        name: &'static str,
        buffer: &'static str,
        desc: &'static str,
        doc: &'static str,
    ) -> Keyword {
        let setup = Setup::Legacy { buffer };
        Keyword { name, aliases: &[], kind: Kind::LegacyModifier, arg: Arg::None, proto: None, desc, doc, setup }
    }

    /// A keyword accepted without effect on matching.
    pub(crate) const fn ignored(name: &'static str, arg: Arg, desc: &'static str, doc: &'static str) -> Keyword {
        Keyword { name, aliases: &[], kind: Kind::Ignored, arg, proto: None, desc, doc, setup: Setup::Ignored }
    }

    /// A Suricata keyword without a typed form here: rules using it are not loaded.
    pub(crate) const fn untyped(name: &'static str, arg: Arg, desc: &'static str, doc: &'static str) -> Keyword {
        Keyword { name, aliases: &[], kind: Kind::Untyped, arg, proto: None, desc, doc, setup: Setup::Untyped }
    }

    /// The row of an app-layer keyword.
    fn from_app(a: &AppKeyword) -> Keyword {
        let (kind, arg, setup) = match a.kind {
            // a sticky buffer takes at most a direction (`http.connection: to_client`)
            AppKind::StickyBuffer { multi } => (Kind::Sticky, Arg::Optional, Setup::Sticky { multi }),
            AppKind::Value { arg } => (Kind::AppValue, arg, Setup::AppValue),
        };
        Keyword { name: a.name, aliases: a.aliases, kind, arg, proto: a.proto, desc: a.desc, doc: a.doc, setup }
    }
}

/// A keyword the app layer contributes to the rule language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppKeyword {
    /// Canonical name (`http.uri`); what [`Buffer::Sticky`](crate::rule::ast::Buffer::Sticky)
    /// holds and what `Rule::app_values` names.
    pub name: &'static str,
    /// Other names (the legacy underscore forms, `http_referer`, ...).
    pub aliases: &'static [&'static str],
    /// The protocol (`"http"`); a sticky buffer claims it for the rule, and a second,
    /// incompatible protocol in the same rule is an error. `None` for keywords shared by
    /// several protocols (`file.data`, `ja3.hash`).
    pub proto: Option<&'static str>,
    /// Sticky buffer or value.
    pub kind: AppKind,
    /// One line saying what it does.
    pub desc: &'static str,
    /// Its documentation (Suricata's).
    pub doc: &'static str,
}

/// The two kinds of app-layer keywords.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    /// A sticky buffer; `multi`: one buffer per instance (`dns.query`, `http.request_header`),
    /// so selecting it again starts a new list.
    StickyBuffer {
        /// Each instance is inspected separately.
        multi: bool,
    },
    /// A value of the transaction, kept as written for the detection engine to compile.
    Value {
        /// Whether it takes a value.
        arg: Arg,
    },
}

/// The rule language's own rows, family by family.
const LANGUAGE: &[&[Keyword]] = &[
    meta::ROWS,
    content::ROWS,
    buffers::ROWS,
    files::ROWS,
    pcre::ROWS,
    byte::ROWS,
    intel::ROWS,
    data::ROWS,
    flow::ROWS,
    vars::ROWS,
    packet::ROWS,
    packet::IP_ROWS,
    packet::TCP_ROWS,
    packet::ICMP_ROWS,
    packet::IGMP_ROWS,
    packet::EVENT_ROWS,
    packet::BUFFER_ROWS,
    catalog::IGNORED,
    catalog::UNTYPED,
];

/// The composed keyword table rules are read with: the language's rows and the app layer's.
#[derive(Clone, Debug, Default)]
pub struct Keywords {
    rows: Vec<Keyword>,
    /// Names and aliases (lowercase) to their row.
    by_name: HashMap<&'static str, usize>,
    /// Names defined twice (the first definition is kept).
    duplicates: Vec<&'static str>,
}

impl Keywords {
    /// The language's keywords and the app layer's `app` rows. An app row replaces the
    /// language's placeholder for a keyword Picket did not implement ([`Kind::Untyped`]).
    pub fn new(app: &[AppKeyword]) -> Keywords {
        let provided: HashSet<&str> =
            app.iter().flat_map(|a| std::iter::once(a.name).chain(a.aliases.iter().copied())).collect();
        let mut k = Keywords::default();
        for row in LANGUAGE.iter().flat_map(|family| family.iter()) {
            if !(row.kind == Kind::Untyped && provided.contains(row.name)) {
                k.add(*row);
            }
        }
        for a in app {
            k.add(Keyword::from_app(a));
        }
        k
    }

    fn add(&mut self, row: Keyword) {
        let i = self.rows.len();
        let mut added = false;
        for name in std::iter::once(row.name).chain(row.aliases.iter().copied()) {
            if self.by_name.contains_key(name) {
                self.duplicates.push(name);
            } else {
                self.by_name.insert(name, i);
                added = true;
            }
        }
        if added {
            self.rows.push(row);
        }
    }

    /// The keyword called `name` (case-insensitive): the name as found (an alias stays an
    /// alias) and its row.
    pub(crate) fn lookup(&self, name: &str) -> Option<(&'static str, &Keyword)> {
        let found = if name.bytes().any(|c| c.is_ascii_uppercase()) {
            self.by_name.get_key_value(name.to_ascii_lowercase().as_str())
        } else {
            self.by_name.get_key_value(name)
        };
        let (&written, &i) = found?;
        Some((written, self.rows.get(i)?))
    }

    /// The protocol of the sticky buffer with canonical name `buffer`, if it has one.
    pub(crate) fn buffer_proto(&self, buffer: &str) -> Option<&'static str> {
        let row = self.rows.get(*self.by_name.get(buffer)?)?;
        match row.setup {
            Setup::Sticky { .. } if row.name == buffer => row.proto,
            _ => None,
        }
    }

    /// Every keyword, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &Keyword> {
        self.rows.iter()
    }

    /// Every keyword, sorted by name (for `picket rules keywords`).
    pub fn sorted(&self) -> Vec<&Keyword> {
        let mut v: Vec<&Keyword> = self.rows.iter().collect();
        v.sort_by(|a, b| a.name.cmp(b.name));
        v
    }

    /// Names defined more than once when the table was composed (the first row wins); empty
    /// unless an app-layer row repeats a name.
    pub fn duplicates(&self) -> &[&'static str] {
        &self.duplicates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Keywords {
        Keywords::new(crate::app::keywords())
    }

    #[test]
    fn lookups() {
        let k = table();
        let kind = |n: &str| k.lookup(n).map(|(_, r)| r.kind);
        assert_eq!(kind("content"), Some(Kind::Payload));
        assert_eq!(kind("CONTENT"), Some(Kind::Payload));
        assert_eq!(k.lookup("file_data").map(|(w, r)| (w, r.name)), Some(("file_data", "file.data")));
        assert_eq!(kind("http_uri"), Some(Kind::LegacyModifier));
        assert_eq!(kind("http.uri"), Some(Kind::Sticky));
        assert_eq!(k.lookup("http_header_names").map(|(_, r)| r.name), Some("http.header_names"));
        assert_eq!(kind("xbits"), Some(Kind::Flow));
        assert_eq!(kind("lua"), Some(Kind::Untyped));
        assert_eq!(kind("tcp.hdr"), Some(Kind::Sticky));
        assert_eq!(kind("decode-event"), Some(Kind::Packet));
        assert_eq!(kind("ttl"), Some(Kind::Packet));
        assert_eq!(kind("dns.opcode"), Some(Kind::AppValue));
        assert!(k.lookup("no_such_keyword").is_none());
        assert!(matches!(k.lookup("dns.query").map(|(_, r)| r.setup), Some(Setup::Sticky { multi: true })));
        assert_eq!(k.buffer_proto("http.uri"), Some("http"));
        assert_eq!(k.buffer_proto("file.data"), None);
        assert_eq!(k.buffer_proto("nocase"), None);
        // Every legacy modifier names a known buffer.
        for row in k.iter() {
            if let Setup::Legacy { buffer } = row.setup {
                assert!(k.lookup(buffer).is_some_and(|(_, b)| b.kind == Kind::Sticky), "{}", row.name);
            }
        }
    }

    #[test]
    fn no_name_is_defined_twice() {
        let k = table();
        assert_eq!(k.duplicates(), &[] as &[&str]);
        // A repeated app-layer row is reported, and the first definition is kept.
        let dup = AppKeyword {
            name: "ttl",
            aliases: &[],
            proto: Some("x"),
            kind: AppKind::Value { arg: Arg::Required },
            desc: "d",
            doc: "u",
        };
        let k = Keywords::new(&[dup]);
        assert_eq!(k.duplicates(), ["ttl"]);
        assert_eq!(k.lookup("ttl").map(|(_, r)| r.kind), Some(Kind::Packet));
        // An app row implementing a keyword the language only knows by name replaces it.
        let ssh = AppKeyword { name: "ssh_state", kind: AppKind::Value { arg: Arg::Required }, ..dup };
        let k = Keywords::new(&[ssh]);
        assert_eq!(k.duplicates(), &[] as &[&str]);
        assert_eq!(k.lookup("ssh_state").map(|(_, r)| (r.kind, r.proto)), Some((Kind::AppValue, Some("x"))));
        assert_eq!(k.iter().filter(|r| r.name == "ssh_state").count(), 1);
    }

    #[test]
    fn every_row_has_a_description_and_a_documentation_link() {
        let k = table();
        assert!(k.iter().count() > 300, "{}", k.iter().count());
        for row in k.iter() {
            assert!(!row.desc.is_empty() && !row.desc.ends_with('.'), "{}: {:?}", row.name, row.desc);
            assert!(row.doc.starts_with("https://docs.suricata.io/en/latest/rules/"), "{}: {}", row.name, row.doc);
            assert_eq!(row.name, row.name.to_ascii_lowercase());
        }
        let ttl = k.lookup("ttl").map(|(_, r)| r.doc);
        assert_eq!(ttl, Some("https://docs.suricata.io/en/latest/rules/header-keywords.html#ttl"));
    }
}
