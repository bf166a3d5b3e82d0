//! Runtime: the threads and how packets move between them.
//!
//! Takes: a configuration and a capture. Promises: one reader thread shards by flow (and
//! decodes what cannot be sharded from the first headers: see [`ingest`]), N shared-nothing
//! workers decode the rest and own their flows, one output thread owns the EVE sink;
//! bounded channels between them, so memory is bounded and back-pressure is explicit.

pub(crate) mod batch;
pub mod bench;
pub mod check;
pub(crate) mod dispatch;
mod fleet_rules;
pub mod fleet_work;
pub(crate) mod ingest;
mod inspect;
pub mod live;
mod pcap_names;
pub(crate) mod records;
pub mod replay;
mod replay_order;
mod replay_progress;
pub(crate) mod worker;
