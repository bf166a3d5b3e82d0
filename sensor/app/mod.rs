//! App layer: parsers for the application protocols inside reassembled streams.
//!
//! Takes: in-order bytes of one direction of a flow at a time (from stream reassembly), plus
//! gap and end-of-direction notices. Promises: per-flow state with every buffer capped by
//! configuration and every cap, drop and parse problem counted in plain `u64` stats that the
//! caller publishes; results (transactions and the sticky buffers rules inspect) that do not
//! depend on how the stream was split into chunks, except where Suricata's own parser is
//! split-dependent and the module says so. Never: panics, reads out of bounds or grows
//! without bound on hostile input; blocks or does I/O.

pub mod http;
