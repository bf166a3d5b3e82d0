//! App layer: protocol identification independent of port, and one folder per parsed
//! protocol (`http/`, `dns/`, `tls/`) behind one interface ([`plugin`]).
//!
//! Takes: in-order application bytes per direction (from stream reassembly for TCP, one
//! datagram at a time for UDP), plus gap and end-of-direction notices, with the flow's
//! transport protocol and ports.
//! Promises: [`identify`] names the protocol as Suricata's app-layer detection does (pattern
//! matchers on the first bytes of each direction, probing parsers on the configured ports as
//! a hint, a bounded look before giving up as `failed`); a protocol in the [`registry`] gets
//! its parser, which turns messages into owned per-flow transactions whose sticky buffers and
//! value keywords (rows of data, with a description and a documentation link) are what rules
//! inspect, and whose EVE objects alerts carry. Results do not depend on how the stream was
//! split into chunks, except where Suricata's own parser is split-dependent and the protocol
//! says so. Every per-flow structure is capped; what does not fit is dropped and counted.
//! The rest of the sensor reaches protocols only through [`FlowApp`], the [`plugin`] traits
//! and the [`registry`]: nothing outside `sensor/app/` names a protocol.
//! Never: panics or indexes unchecked on packet bytes, buffers without a bound, blocks or does
//! I/O.

pub(crate) mod ber;
mod catalog;
pub mod dcerpc;
pub mod dhcp;
pub mod dns;
mod eve_util;
pub mod expect;
pub(crate) mod files;
mod flow;
pub mod frames;
pub(crate) mod ftp;
pub mod http;
pub mod http2;
pub mod identify;
pub mod ike;
pub(crate) mod jsonx;
pub mod krb5;
pub mod ldap;
pub(crate) mod llmnr;
pub(crate) mod mdns;
pub mod mqtt;
pub mod nfs;
pub mod ntp;
pub(crate) mod plugin;
pub mod pop3;
mod probes;
mod proto;
pub mod quic;
pub mod rdp;
pub mod registry;
pub mod sip;
mod slot;
pub mod smb;
pub mod smtp;
pub mod snmp;
pub(crate) mod ssh;
mod stats;
pub mod tftp;
pub mod tls;
pub(crate) mod txs;
pub(crate) mod values;
pub mod websocket;

pub use flow::{FlowApp, FlowMeta, LogMarks, Sink, TxInsp, TxInspStates, MAX_INSP};
pub use plugin::{
    reaches, AppParser, Need, ParseCx, Protocol, RecordCx, Side, Status, Transaction, ValueArg, PROGRESS_DONE,
};
pub use proto::AppProto;
pub use registry::{keywords, registry, BufferId, Registry, ValueId};
pub use slot::AppSlot;
pub use stats::AppStats;

/// Settings of every parsed protocol (the `[app]` section of the configuration).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppConfig {
    /// HTTP/1 parser limits.
    pub http: http::HttpConfig,
    /// Expected flows (FTP data connections), shared by the workers of a run.
    pub expect: expect::Expectations,
    /// The frame types rules inspect (set from the detection engine; none without rules).
    pub frames: frames::FrameWants,
    /// The hashes every file gets whatever its protocol (`output.eve.files.force_hash`,
    /// Suricata's `force-hash`): each parser that opens files takes them when it is made.
    pub file_hashes: files::HashSet,
    /// `stream.midstream`: identification also tries the other direction's patterns, and a
    /// flow found that way is turned around (see [`identify`]).
    pub midstream: bool,
}
