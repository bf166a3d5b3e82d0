//! The catalog: Suricata's app-layer keywords of protocols Picket identifies but does not
//! parse yet (RFB, NFS, ...). Rules using them parse, and detection reports them as
//! unsupported with the keyword's name, instead of the parser calling them unknown. A
//! protocol that gets a parser provides its own rows (its folder's `detect.rs`) and its
//! section here goes (a test checks that no row here shadows one of a parsed protocol).

use crate::rule::{AppKeyword, AppKind};

/// A link to Suricata's rule documentation.
macro_rules! suricata_doc {
    ($page:literal) => {
        concat!("https://docs.suricata.io/en/latest/rules/", $page)
    };
}

const fn sticky(
    name: &'static str,
    aliases: &'static [&'static str],
    proto: Option<&'static str>,
    desc: &'static str,
    doc: &'static str,
) -> AppKeyword {
    AppKeyword { name, aliases, proto, kind: AppKind::StickyBuffer { multi: false }, desc, doc }
}

/// A sticky buffer with one instance per item (each inspected separately).
const fn multi(
    name: &'static str,
    aliases: &'static [&'static str],
    proto: Option<&'static str>,
    desc: &'static str,
    doc: &'static str,
) -> AppKeyword {
    AppKeyword { name, aliases, proto, kind: AppKind::StickyBuffer { multi: true }, desc, doc }
}

/// Keywords of protocols without a parser.
pub(crate) static UNPARSED: &[AppKeyword] = &[
    multi(
        "file.magic",
        &[],
        None,
        "the libmagic description of a transferred file",
        suricata_doc!("file-keywords.html#file-magic"),
    ),
    // other protocols
    sticky(
        "rfb.name",
        &[],
        Some("rfb"),
        "the desktop name an RFB (VNC) server sends",
        suricata_doc!("rfb-keywords.html#rfb-name"),
    ),
    sticky(
        "dnp3_data",
        &["dnp3.data"],
        Some("dnp3"),
        "the reassembled DNP3 application data",
        suricata_doc!("dnp3-keywords.html#dnp3-data"),
    ),
    sticky(
        "pgsql.query",
        &[],
        Some("pgsql"),
        "the text of a PostgreSQL query",
        suricata_doc!("pgsql-keywords.html#pgsql-query"),
    ),
];
