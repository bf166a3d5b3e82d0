//! App layer: protocol detection independent of port, and incremental parsers for the
//! protocols whose fields rules inspect.
//!
//! Takes: in-order application bytes per direction (from stream reassembly for TCP, one
//! datagram at a time for UDP), plus gap and end-of-direction notices, with the flow's
//! transport protocol and ports.
//! Promises: [`detect`] names the protocol as Suricata's app-layer detection does (pattern
//! matchers on the first bytes of each direction, probing parsers on the configured ports as
//! a hint, a bounded look before giving up as `failed`); [`http`], [`dns`] and [`tls`] turn
//! messages into owned per-flow state (transactions) whose fields are the sticky buffers and
//! values Suricata's `http.*`, `file.data`, `dns.*`, `tls.*`, `ja3*` and `ssl_*` keywords
//! inspect. Results do not depend on how the stream was split into chunks, except where
//! Suricata's own parser is split-dependent and the module says so. Every per-flow structure
//! is capped; what does not fit is dropped and counted in a plain-`u64` stats struct per
//! module.
//! Never: panics or indexes unchecked on packet bytes, buffers without a bound, blocks or does
//! I/O, or touches detection (sensor/detect wires these buffers into rules).

pub mod detect;
pub mod dns;
pub mod flow;
pub mod http;
pub mod tls;
