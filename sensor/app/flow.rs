//! The app layer of one flow: protocol detection, then the protocol's parser.
//!
//! Takes: for TCP, in-order acknowledged stream data through the stream's [`AppSink`]; for
//! UDP, each datagram. Promises: detection looks at the first bytes of each direction without
//! consuming them (the stream offers them again once the protocol is known, so the parser
//! sees the whole direction); a known protocol gets its parser (HTTP, DNS, TLS) or is simply
//! followed (SSH, FTP, SMTP, SMB, DCERPC: named in EVE and for rule headers); `failed`
//! stops the app layer for the flow. Encrypted TLS (application data after both sides
//! changed cipher spec) stops the app layer and payload inspection, as Suricata's default
//! `encryption-handling` does. Never: panics or grows without the parsers' own caps.

use super::detect::{AppProto, DetectStats, ProtoDetect};
use super::dns::{DnsState, TcpStatus};
use super::http::{HttpConfig, HttpState, HttpStats};
use super::tls::{TlsState, TlsStatus};
use crate::stream::{AppSink, Verdict};

/// A flow's parser.
#[derive(Debug, Default)]
pub enum Parser {
    /// None (protocol unknown, failed, or without a parser).
    #[default]
    None,
    /// HTTP/1.
    Http(Box<HttpState>),
    /// DNS (UDP or TCP).
    Dns(Box<DnsState>),
    /// TLS.
    Tls(Box<TlsState>),
}

/// Detection bookkeeping for one transaction: which parts have been inspected, which rules
/// are done with it.
#[derive(Debug, Clone, Default)]
pub struct TxInsp {
    /// Transaction id.
    pub tx: u64,
    /// Progress bits seen at the last inspection.
    pub bits: u16,
    /// Rules evaluated to the end on this transaction (matched or not), sorted.
    pub done: Vec<u32>,
}

/// The app layer of a flow.
#[derive(Debug, Default)]
pub struct FlowApp {
    pd: Option<Box<ProtoDetect>>,
    /// The flow's protocol (`Unknown` until decided).
    pub proto: AppProto,
    /// The parser.
    pub parser: Parser,
    fed: [u64; 2],
    /// The flow's payload is no longer inspected (encrypted TLS).
    pub no_inspection: bool,
    /// Per-transaction detection state.
    pub insp: Vec<TxInsp>,
    /// Protocol detection has started (some data was offered).
    started: bool,
    /// A gap ended the app layer (its parser does not accept gaps).
    gap_stop: bool,
}

/// App-layer counters of one worker.
#[derive(Debug, Default, Clone)]
pub struct AppStats {
    /// Protocol detection.
    pub detect: DetectStats,
    /// HTTP.
    pub http: HttpStats,
    /// DNS transactions created.
    pub dns_txs: u64,
    /// DNS messages that did not parse.
    pub dns_errors: u64,
    /// TLS parse errors (directions abandoned).
    pub tls_errors: u64,
    /// TLS flows whose encrypted phase began (inspection stopped).
    pub tls_encrypted: u64,
    /// Transactions whose detection state was dropped to stay bounded.
    pub insp_evicted: u64,
}

/// Transactions whose detection state a flow keeps.
pub const MAX_INSP: usize = 64;

impl FlowApp {
    fn start(&mut self, ipproto: u8, client_port: u16, server_port: u16) {
        if !self.started {
            self.started = true;
            self.pd = Some(Box::new(ProtoDetect::new(ipproto, client_port, server_port)));
        }
    }

    fn decided(&mut self, p: AppProto, cfg: &HttpConfig) {
        self.proto = p;
        self.pd = None;
        self.parser = match p {
            AppProto::Http => Parser::Http(Box::new(HttpState::new(cfg))),
            AppProto::Dns => Parser::Dns(Box::new(DnsState::new())),
            AppProto::Tls => Parser::Tls(Box::new(TlsState::new())),
            _ => Parser::None,
        };
    }

    /// One UDP datagram.
    pub fn udp(&mut self, to_server: bool, ports: (u16, u16), data: &[u8], cfg: &HttpConfig, st: &mut AppStats) {
        if data.is_empty() {
            return;
        }
        if self.proto == AppProto::Unknown {
            self.start(17, ports.0, ports.1);
            let Some(pd) = self.pd.as_mut() else { return };
            let p = pd.feed(to_server, data, &mut st.detect);
            if p == AppProto::Unknown {
                return;
            }
            self.decided(p, cfg);
        }
        if let Parser::Dns(d) = &mut self.parser {
            match d.parse_udp(to_server, data) {
                Ok(_) => st.dns_txs += 1,
                Err(_) => st.dns_errors += 1,
            }
        }
    }

    fn parse(&mut self, to_server: bool, data: &[u8], st: &mut AppStats) -> Verdict {
        match &mut self.parser {
            Parser::Http(h) => {
                h.parse(to_server, data, &mut st.http);
                Verdict::Consumed
            }
            Parser::Dns(d) => match d.parse_tcp(to_server, data) {
                TcpStatus::Error(_) => {
                    st.dns_errors += 1;
                    Verdict::Consumed
                }
                _ => {
                    st.dns_txs = st.dns_txs.saturating_add(0);
                    Verdict::Consumed
                }
            },
            Parser::Tls(t) => {
                if let TlsStatus::Error(_) = t.parse(to_server, data) {
                    st.tls_errors += 1;
                }
                if t.encrypted() {
                    st.tls_encrypted += 1;
                    self.no_inspection = true;
                    return Verdict::Stop;
                }
                Verdict::Consumed
            }
            Parser::None => Verdict::Consumed,
        }
    }

    /// Detection state for transaction `tx` (created, bounded to [`MAX_INSP`]).
    pub fn insp_mut(&mut self, tx: u64, st: &mut AppStats) -> &mut TxInsp {
        let i = match self.insp.iter().position(|t| t.tx == tx) {
            Some(i) => i,
            None => {
                if self.insp.len() >= MAX_INSP {
                    self.insp.remove(0);
                    st.insp_evicted += 1;
                }
                self.insp.push(TxInsp { tx, ..TxInsp::default() });
                self.insp.len() - 1
            }
        };
        // In bounds: i is a position found in insp, or its last index after the push.
        &mut self.insp[i]
    }
}

/// The stream's view of a flow's app layer for one call.
pub struct Sink<'a> {
    /// The flow's app layer.
    pub app: &'a mut FlowApp,
    /// HTTP settings.
    pub cfg: &'a HttpConfig,
    /// Counters.
    pub stats: &'a mut AppStats,
    /// Client and server ports.
    pub ports: (u16, u16),
}

impl AppSink for Sink<'_> {
    fn data(&mut self, to_server: bool, offset: u64, data: &[u8]) -> Verdict {
        let app = &mut *self.app;
        if app.gap_stop {
            return Verdict::Stop;
        }
        match app.proto {
            AppProto::Failed => return Verdict::Stop,
            AppProto::Unknown => {
                app.start(6, self.ports.0, self.ports.1);
                let d = usize::from(!to_server);
                // feed detection only the bytes it has not seen (the stream offers data again
                // until the protocol is known)
                let seen = app.fed[d].saturating_sub(offset) as usize;
                let p = match (app.pd.as_mut(), data.get(seen..)) {
                    (Some(pd), Some(new)) if !new.is_empty() => {
                        app.fed[d] = offset + data.len() as u64;
                        pd.feed(to_server, new, &mut self.stats.detect)
                    }
                    (Some(pd), _) => pd.proto(),
                    (None, _) => AppProto::Failed,
                };
                match p {
                    AppProto::Unknown => return Verdict::Wait,
                    AppProto::Failed => {
                        app.proto = AppProto::Failed;
                        app.pd = None;
                        return Verdict::Stop;
                    }
                    p => app.decided(p, self.cfg),
                }
            }
            _ => {}
        }
        app.parse(to_server, data, self.stats)
    }

    fn gap(&mut self, to_server: bool, len: u64) -> Verdict {
        let app = &mut *self.app;
        match &mut app.parser {
            Parser::Http(h) => h.gap(to_server, len, &mut self.stats.http),
            _ => {
                if app.proto == AppProto::Unknown {
                    // a gap before the protocol is known: detection cannot go on
                    app.proto = AppProto::Failed;
                    app.pd = None;
                } else if !matches!(
                    app.proto,
                    AppProto::Dns
                        | AppProto::Smb
                        | AppProto::Dcerpc
                        | AppProto::Ldap
                        | AppProto::Krb5
                        | AppProto::Nfs
                        | AppProto::Ftp
                ) {
                    // as Suricata: a parser that does not accept gaps ends the app layer
                    app.gap_stop = true;
                }
            }
        }
        if app.gap_stop || app.proto == AppProto::Failed {
            Verdict::Stop
        } else {
            Verdict::Consumed
        }
    }

    fn eof(&mut self, to_server: bool) {
        if let Parser::Http(h) = &mut self.app.parser {
            h.eof(to_server, &mut self.stats.http);
        }
    }
}
