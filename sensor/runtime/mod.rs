//! Runtime: the threads and how packets move between them.
//!
//! Takes: a configuration and a capture. Promises: one reader thread decodes and shards by
//! flow hash, N shared-nothing workers own their flows, one output thread owns the EVE sink;
//! bounded channels between them, so memory is bounded and back-pressure is explicit.

pub mod bench;
pub mod live;
pub mod replay;
pub mod worker;
