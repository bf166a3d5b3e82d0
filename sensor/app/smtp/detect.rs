//! SMTP as a plug-in: its sticky buffers (`smtp.*`, `email.*`, `file.data`, `file.name`), its
//! transactions and parser behind the app layer's traits, and its descriptor.

use super::{eve, SmtpState, SmtpStats, SmtpTx, EVENTS};
use crate::app::files::File;
use crate::app::plugin::{
    buffer_infos, keyword_tables, value_infos, AppParser, BufferInfo, Need, ParseCx, Protocol, Side, Status, Sticky,
    Transaction, ValueKeyword, PROGRESS_DONE,
};
use crate::app::txs::app_parser_txs;
use crate::app::{AppConfig, AppProto, AppStats, RecordCx};
use crate::output::eve::Json;

const fn buf(name: &'static str, multi: bool, need: Need, desc: &'static str, doc: &'static str) -> BufferInfo {
    BufferInfo { name, aliases: &[], side: Side::ToServer, need, multi, shared: false, internal: false, desc, doc }
}

/// One main header of the message.
fn header(tx: &SmtpTx, name: &[u8], f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    tx.mime.as_deref().and_then(|m| m.header(name)).is_some_and(f)
}

const ENVELOPE: Need = Need::request(1);
const MESSAGE: Need = Need::request(1);

/// SMTP's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<SmtpTx>] = &[
    Sticky {
        info: buf(
            "smtp.helo",
            false,
            ENVELOPE,
            "the host name of the SMTP HELO or EHLO",
            "https://docs.suricata.io/en/latest/rules/smtp-keywords.html#smtp-helo",
        ),
        get: |tx, _, f| tx.helo.as_deref().is_some_and(f),
    },
    Sticky {
        info: buf(
            "smtp.mail_from",
            false,
            ENVELOPE,
            "the address of the SMTP MAIL FROM",
            "https://docs.suricata.io/en/latest/rules/smtp-keywords.html#smtp-mail-from",
        ),
        get: |tx, _, f| tx.mail_from.as_deref().is_some_and(f),
    },
    Sticky {
        info: buf(
            "smtp.rcpt_to",
            true,
            ENVELOPE,
            "the address of an SMTP RCPT TO, each in turn",
            "https://docs.suricata.io/en/latest/rules/smtp-keywords.html#smtp-rcpt-to",
        ),
        get: |tx, _, f| tx.rcpt_to.iter().any(|r| f(r)),
    },
    Sticky {
        info: buf(
            "email.from",
            false,
            MESSAGE,
            "the From header of an email",
            "https://docs.suricata.io/en/latest/rules/email-keywords.html#email-from",
        ),
        get: |tx, _, f| header(tx, b"from", f),
    },
    Sticky {
        info: buf(
            "email.subject",
            false,
            MESSAGE,
            "the Subject header of an email",
            "https://docs.suricata.io/en/latest/rules/email-keywords.html#email-subject",
        ),
        get: |tx, _, f| header(tx, b"subject", f),
    },
    Sticky {
        info: buf(
            "email.to",
            false,
            MESSAGE,
            "the To header of an email",
            "https://docs.suricata.io/en/latest/rules/email-keywords.html#email-to",
        ),
        get: |tx, _, f| header(tx, b"to", f),
    },
    Sticky {
        info: buf(
            "email.cc",
            false,
            MESSAGE,
            "the Cc header of an email",
            "https://docs.suricata.io/en/latest/rules/email-keywords.html#email-cc",
        ),
        get: |tx, _, f| header(tx, b"cc", f),
    },
    Sticky {
        info: buf(
            "email.date",
            false,
            MESSAGE,
            "the Date header of an email",
            "https://docs.suricata.io/en/latest/rules/email-keywords.html#email-date",
        ),
        get: |tx, _, f| header(tx, b"date", f),
    },
    Sticky {
        info: buf(
            "email.message_id",
            false,
            MESSAGE,
            "the Message-Id header of an email",
            "https://docs.suricata.io/en/latest/rules/email-keywords.html#email-message-id",
        ),
        get: |tx, _, f| header(tx, b"message-id", f),
    },
    Sticky {
        info: buf(
            "email.x_mailer",
            false,
            MESSAGE,
            "the X-Mailer header of an email",
            "https://docs.suricata.io/en/latest/rules/email-keywords.html#email-x-mailer",
        ),
        get: |tx, _, f| header(tx, b"x-mailer", f),
    },
    Sticky {
        info: buf(
            "email.url",
            true,
            MESSAGE,
            "a URL found in an email's body, each in turn",
            "https://docs.suricata.io/en/latest/rules/email-keywords.html#email-url",
        ),
        get: |tx, _, f| tx.mime.as_deref().is_some_and(|m| m.urls.iter().rev().any(|u| f(u))),
    },
    Sticky {
        info: buf(
            "email.received",
            true,
            MESSAGE,
            "a Received header of an email, each in turn",
            "https://docs.suricata.io/en/latest/rules/email-keywords.html#email-received",
        ),
        get: |tx, _, f| tx.mime.as_deref().is_some_and(|m| m.headers_named(b"received").any(f)),
    },
    Sticky {
        info: crate::app::files::file_buffer(
            "file.data",
            &["file_data"],
            Side::ToServer,
            Need::request(1),
            "file content: the first bytes of the mail's attachments",
            "https://docs.suricata.io/en/latest/rules/file-keywords.html#file-data",
        ),
        get: |tx, to_server, f| to_server && !tx.file_content.is_empty() && f(&tx.file_content),
    },
    Sticky {
        info: crate::app::files::file_buffer(
            "file.name",
            &[],
            Side::ToServer,
            Need::request(1),
            "the name of a mail attachment",
            "https://docs.suricata.io/en/latest/rules/file-keywords.html#file-name",
        ),
        get: |tx, to_server, f| to_server && tx.files.iter().any(|x| f(&x.name)),
    },
];

/// SMTP's value keywords: `filesize` on the attachments.
pub(super) static VALUES: &[ValueKeyword<SmtpTx>] =
    &[crate::app::files::filesize_row::<SmtpTx>(), crate::app::files::filestore_row::<SmtpTx>()];

impl Transaction for SmtpTx {
    fn id(&self) -> u64 {
        self.id
    }

    fn progress(&self) -> [u8; 2] {
        [self.progress_ts, self.progress_tc]
    }

    keyword_tables!(buffers: BUFFERS, values: VALUES,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        eve::write(j, self);
        crate::app::eve_util::files_array(j, &self.files, self.id);
    }

    fn write_record(&self, j: &mut Json<'_>, _cx: &RecordCx<'_>) -> bool {
        eve::write(j, self);
        true
    }

    fn record_ready(&self) -> bool {
        self.progress_ts == PROGRESS_DONE && self.progress_tc == PROGRESS_DONE
    }

    fn events(&self) -> &[u16] {
        &self.events
    }

    fn files(&self, each: &mut dyn FnMut(&File)) {
        self.files.iter().for_each(each);
    }
}

impl AppParser for SmtpState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        let before = self.next_id;
        // the files' hash settings are the ones HTTP's files take
        self.hashes = cx.cfg.file_hashes;
        if to_server {
            self.parse_request(data);
        } else {
            self.parse_response(data);
        }
        for _ in before..self.next_id {
            cx.stats.tx(AppProto::Smtp, true);
        }
        self.stats.drain_into(&mut cx.stats.smtp);
        if self.tls {
            Status::Stop
        } else {
            Status::Continue
        }
    }

    fn no_inspection(&self) -> bool {
        self.tls
    }

    fn eof(&mut self, _to_server: bool, _cx: &mut ParseCx<'_>) {}

    app_parser_txs!(by_id);

    fn free_txs(&mut self, inspected: &dyn Fn(u64) -> bool) -> Option<u64> {
        let freed = self.free(&|t| t.record_ready() && inspected(t.id))?;
        Some(freed + 1)
    }
}

/// SMTP's descriptor.
pub static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    values: || value_infos(VALUES),
    events: EVENTS,
    record_tx_id: true,
    ..Protocol::new(
        AppProto::Smtp,
        |_: &AppConfig| Box::<SmtpState>::default(),
        |s: &AppStats, f| SmtpStats::each(&s.smtp, f),
    )
};
