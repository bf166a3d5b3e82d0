//! Evidence: the packets behind the alerts, as pcap files a responder can hand over.
//!
//! Takes: the workers' packets ([`tap`], on the hot path: a bounded ring per flow, no
//! allocation, lock or syscall per packet) and, after the fact, the original captures and an
//! EVE file (`picket carve`). Promises: `output.pcap_log` ([`config`]) writes the packets of
//! alerting flows (their recent history and what follows, within per-flow and global caps) or
//! every packet to rotating pcap files from the output thread ([`writer`]), and alerts name
//! their file in `capture_file` as Suricata's do; every packet left out is counted with its
//! reason (`output.pcap_log.*` in docs/metrics.md). Never: overwrites or deletes a file.

pub mod carve;
pub(crate) mod config;
pub(crate) mod tap;
pub(crate) mod writer;

pub use config::{PcapLogConfig, PcapLogMode};
