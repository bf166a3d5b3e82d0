//! QUIC as a plug-in: its sticky buffers (rows, with the JA3/JA3S/JA4 buffers Suricata also
//! fills from QUIC hellos), its transactions and parser behind the app layer's traits, and
//! its descriptor.

use super::{QuicState, QuicStats, QuicTx, EVENTS};
use crate::app::plugin::{
    buffer_infos, keyword_tables, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky, Transaction,
};
use crate::app::txs::app_parser_txs;
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

const DOC: &str = "https://docs.suricata.io/en/latest/rules/quic-keywords.html";
const JA: &str = "https://docs.suricata.io/en/latest/rules/ja-keywords.html";

const fn buffer(name: &'static str, side: Side, multi: bool, desc: &'static str, doc: &'static str) -> BufferInfo {
    BufferInfo { name, aliases: &[], side, need: Need::own(1), multi, shared: false, internal: false, desc, doc }
}

const fn ja(name: &'static str, aliases: &'static [&'static str], side: Side, desc: &'static str) -> BufferInfo {
    BufferInfo { name, aliases, side, need: Need::own(1), multi: false, shared: true, internal: false, desc, doc: JA }
}

fn opt(v: Option<&[u8]>, f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    v.is_some_and(f)
}

/// QUIC's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<QuicTx>] = &[
    Sticky {
        info: buffer("quic.version", Side::Both, false, "the version of a long-header packet, 4 bytes", DOC),
        get: |tx, _, f| tx.header.is_long() && f(&tx.header.version.to_be_bytes()),
    },
    Sticky {
        info: buffer(
            "quic.sni",
            Side::ToServer,
            false,
            "the server name of a client hello (TLS SNI or gQUIC SNI tag)",
            DOC,
        ),
        get: |tx, _, f| opt(tx.sni.as_deref(), f),
    },
    Sticky {
        info: buffer("quic.ua", Side::ToServer, false, "the user agent (UAID tag) of a gQUIC client hello", DOC),
        get: |tx, _, f| opt(tx.ua.as_deref(), f),
    },
    Sticky {
        info: buffer("quic.cyu.hash", Side::ToServer, true, "a CYU hash of a gQUIC client hello, each in turn", DOC),
        get: |tx, _, f| tx.cyu.iter().any(|(h, _)| f(h.as_bytes())),
    },
    Sticky {
        info: buffer(
            "quic.cyu.string",
            Side::ToServer,
            true,
            "a CYU string of a gQUIC client hello, each in turn",
            DOC,
        ),
        get: |tx, _, f| tx.cyu.iter().any(|(_, s)| f(s.as_bytes())),
    },
    Sticky {
        info: ja("ja3.hash", &["ja3_hash"], Side::ToServer, "JA3 hash of the ClientHello"),
        get: |tx, _, f| tx.to_server && opt(tx.ja3_hash.as_deref().map(str::as_bytes), f),
    },
    Sticky {
        info: ja("ja3.string", &["ja3_string"], Side::ToServer, "JA3 string of the ClientHello"),
        get: |tx, _, f| tx.to_server && opt(tx.ja3.as_deref().map(str::as_bytes), f),
    },
    Sticky {
        info: ja("ja3s.hash", &["ja3s_hash"], Side::ToClient, "JA3S hash of the ServerHello"),
        get: |tx, _, f| !tx.to_server && opt(tx.ja3_hash.as_deref().map(str::as_bytes), f),
    },
    Sticky {
        info: ja("ja3s.string", &["ja3s_string"], Side::ToClient, "JA3S string of the ServerHello"),
        get: |tx, _, f| !tx.to_server && opt(tx.ja3.as_deref().map(str::as_bytes), f),
    },
    Sticky {
        info: ja(
            "ja4.hash",
            &[],
            Side::ToServer,
            "the JA4 fingerprint of a client hello (QUIC; TLS's is not computed yet)",
        ),
        get: |tx, _, f| opt(tx.ja4.as_deref().map(str::as_bytes), f),
    },
];

impl Transaction for QuicTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        [crate::app::PROGRESS_DONE; 2]
    }

    fn direction(&self) -> Option<bool> {
        Some(self.to_server)
    }

    fn events(&self) -> &[u16] {
        QuicTx::events(self)
    }

    keyword_tables!(buffers: BUFFERS,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
    }

    fn record_to_server(&self) -> Option<bool> {
        Some(self.to_server)
    }
}

impl AppParser for QuicState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let before = self.txs.next_id();
        QuicState::parse(self, to_server, data);
        for tx in self.txs.iter().filter(|t| t.id >= before) {
            cx.stats.tx(AppProto::Quic, !cx.udp);
            for &e in tx.events() {
                cx.stats.tx_event(AppProto::Quic, e);
            }
        }
        self.stats.drain_into(&mut cx.stats.quic);
        if self.both_hellos() {
            Status::Stop
        } else {
            Status::Continue
        }
    }

    app_parser_txs!();
}

/// QUIC's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    events: EVENTS,
    ..Protocol::new(
        AppProto::Quic,
        |_: &AppConfig| Box::<QuicState>::default(),
        |s: &AppStats, f| QuicStats::each(&s.quic, f),
    )
};
