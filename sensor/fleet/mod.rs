//! `picket fleet`: several sensors and replay workers around one NATS JetStream cluster.
//!
//! Takes: the configuration (`[sensor]`, `[output.nats]` for servers and credentials) and the
//! command line. Promises: every command talks to JetStream through the `async-nats` client on
//! a runtime of its own ([`crate::output::nats::new_runtime`]), never on the packet path;
//! errors name the server, stream or file and why. Never: holds the only copy of an event
//! (the local queue does, until JetStream acknowledged it).
//!
//! Files: `cli.rs` (the subcommands), `forward.rs` (`picket fleet forward`: the forwarder
//! alone, for a queue whose sensor runs without one), `rules/` (rulesets pushed to the fleet
//! and the sensors' watcher).

mod cli;
mod forward;
pub mod rules;

pub use cli::{run, FleetCmd};
