//! Kerberos 5 as a plug-in: its sticky buffers and value keywords (rows), its transactions
//! and parser behind the app layer's traits, and its descriptor.

use super::{weak, Krb5State, Krb5Stats, Krb5Tx, EVENTS};
use crate::app::plugin::{
    buffer_infos, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky, Transaction,
    ValueArg, ValueInfo, ValueKeyword,
};
use crate::app::txs::{app_parser_txs, one_message_tx};
use crate::app::values::{holds, parse_uint_enum, u32_arg};
use crate::app::{AppConfig, AppProto, AppStats};

const DOC: &str = "https://docs.suricata.io/en/latest/rules/kerberos-keywords.html";

const fn buffer(name: &'static str, alias: &'static [&'static str], desc: &'static str) -> BufferInfo {
    BufferInfo {
        name,
        aliases: alias,
        side: Side::Both,
        need: Need::own(1),
        multi: true,
        shared: false,
        internal: false,
        desc,
        doc: DOC,
    }
}

/// Kerberos's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<Krb5Tx>] = &[
    Sticky {
        info: buffer("krb5.cname", &["krb5_cname"], "each component of the client principal name"),
        get: |tx: &Krb5Tx, _, f| tx.cname.iter().flatten().any(|s| f(s.as_bytes())),
    },
    Sticky {
        info: buffer("krb5.sname", &["krb5_sname"], "each component of the server principal name"),
        get: |tx: &Krb5Tx, _, f| tx.sname.iter().flatten().any(|s| f(s.as_bytes())),
    },
];

/// Suricata's `Krb5MessageType` names for `krb5_msg_type`.
const MSG_TYPES: &[(&str, u64)] = &[
    ("AS_REQ", 10),
    ("AS_REP", 11),
    ("TGS_REQ", 12),
    ("TGS_REP", 13),
    ("AP_REQ", 14),
    ("AP_REP", 15),
    ("RESERVED16", 16),
    ("RESERVED17", 17),
    ("SAFE", 20),
    ("PRIV", 21),
    ("CRED", 22),
    ("ERROR", 30),
];

/// Names `krb5.ticket_encryption` accepts (Suricata's list, as kerberos-parser prints them).
const ETYPES: &[(&str, i32)] = &[
    ("des-cbc-crc", 1),
    ("des-cbc-md4", 2),
    ("des-cbc-md5", 3),
    ("des3-cbc-md5", 5),
    ("des3-cbc-sha1", 7),
    ("dsaWithSHA1-CmsOID", 9),
    ("md5WithRSAEncryption-CmsOID", 10),
    ("sha1WithRSAEncryption-CmsOID", 11),
    ("rc2CBC-EnvOID", 12),
    ("rsaEncryption-EnvOID", 13),
    ("rsaES-OAEP-ENV-OID", 14),
    ("des-ede3-cbc-Env-OID", 15),
    ("des3-cbc-sha1-kd", 16),
    ("aes128-cts-hmac-sha1-96", 17),
    ("aes256-cts-hmac-sha1-96", 18),
    ("aes128-cts-hmac-sha256-128", 19),
    ("aes256-cts-hmac-sha384-192", 20),
    ("rc4-hmac", 23),
    ("rc4-hmac-exp", 24),
    ("camellia128-cts-cmac", 25),
    ("camellia256-cts-cmac", 26),
    ("subkey-keymaterial", 65),
    ("rc4-md4", -128),
    ("rc4-plain2", -129),
    ("rc4-lm", -130),
    ("rc4-sha", -131),
    ("des-plain", -132),
    ("rc4-hmac-OLD", -133),
    ("rc4-plain-OLD", -134),
    ("rc4-hmac-OLD-exp", -135),
    ("rc4-plain-OLD-exp", -136),
    ("rc4-plain", -140),
    ("rc4-plain-exp", -141),
];

/// `krb5.ticket_encryption`: `[!]weak`, or a list of encryption types (names or numbers).
enum TicketEnc {
    Weak(bool),
    List(Vec<i32>),
}

fn parse_ticket_enc(v: Option<&str>) -> Result<ValueArg, String> {
    let s = v.unwrap_or("").trim();
    match s {
        "weak" => return Ok(Box::new(TicketEnc::Weak(true))),
        "!weak" => return Ok(Box::new(TicketEnc::Weak(false))),
        _ => {}
    }
    let mut list = Vec::new();
    for item in s.split([',', ' ']).filter(|x| !x.is_empty()) {
        let e = match ETYPES.iter().find(|(n, _)| *n == item) {
            Some(&(_, e)) => e,
            None => item.parse::<i32>().map_err(|_| format!("`{item}` is not a Kerberos encryption type"))?,
        };
        list.push(e);
    }
    if list.is_empty() {
        return Err("expected `weak`, `!weak` or a list of encryption types".into());
    }
    Ok(Box::new(TicketEnc::List(list)))
}

/// Kerberos's value keywords, in the order of their numbers.
pub(super) static VALUES: &[ValueKeyword<Krb5Tx>] = &[
    ValueKeyword {
        info: ValueInfo::both_sides(
            "krb5_msg_type",
            |v| parse_uint_enum(v, u64::from(u32::MAX), MSG_TYPES).map(|u| Box::new(u) as ValueArg),
            "the message type (a number, a comparison or AS_REQ, TGS_REP, ERROR, ...)",
            DOC,
        ),
        eval: |a, tx, _, _| holds(a, Some(u64::from(tx.msg_type))),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "krb5_err_code",
            u32_arg,
            "the error code of a KRB-ERROR, compared with a number",
            DOC,
        ),
        // Suricata compares the code as an unsigned 32-bit number
        eval: |a, tx, _, _| holds(a, tx.error_code.map(|c| u64::from(c as u32))),
    },
    ValueKeyword {
        info: ValueInfo::both_sides(
            "krb5.ticket_encryption",
            parse_ticket_enc,
            "the ticket's encryption type: weak (not AES or Camellia), !weak, or a list of types",
            DOC,
        ),
        eval: |a, tx, _, _| {
            let (Some(arg), Some(t)) = (a.downcast_ref::<TicketEnc>(), tx.ticket_etype) else { return false };
            match arg {
                TicketEnc::Weak(w) => weak(t) == *w,
                TicketEnc::List(l) => l.contains(&t),
            }
        },
    },
];

impl Transaction for Krb5Tx {
    one_message_tx!(buffers: BUFFERS, values: VALUES, eve: write_eve,);
}

impl AppParser for Krb5State {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let before = self.txs.next_id();
        if cx.udp {
            self.parse_message(to_server, data);
        } else {
            self.parse_tcp(to_server, data);
        }
        for _ in before..self.txs.next_id() {
            cx.stats.tx(AppProto::Krb5, !cx.udp);
        }
        self.stats.drain_into(&mut cx.stats.krb5);
        Status::Continue
    }

    fn gap(&mut self, to_server: bool, _len: u64, _cx: &mut ParseCx<'_>) -> Status {
        // the record being assembled is lost; resynchronising on a record mark is guesswork
        let _ = to_server;
        Status::Stop
    }

    app_parser_txs!();
}

/// Kerberos 5's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    ..Protocol::new(
        AppProto::Krb5,
        |_: &AppConfig| Box::<Krb5State>::default(),
        |s: &AppStats, f| Krb5Stats::each(&s.krb5, f),
    )
};
