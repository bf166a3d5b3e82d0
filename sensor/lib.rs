//! Picket: a network sensor that inspects packets against Suricata-syntax rules and writes
//! EVE JSON.
//!
//! The modules follow the packet: [`capture`] -> [`decode`] -> [`flow`] -> (defrag, stream,
//! app, detect as they land) -> [`output`], with [`config`], [`metrics`] and [`runtime`] beside
//! them. Each module's documentation opens with its contract.

// `unsafe` is denied everywhere except the one module of system calls ([`sys`]: the TPACKET_V3
// ring, fanout, libpcap's BPF compiler, capabilities, malloc_trim), which carries the only
// `#[allow(unsafe_code)]` and a SAFETY line per block. The lints are set in Cargo.toml's
// `[lints]` table (unsafe_code denied, missing_docs, no unwrap/expect/panic outside tests).
// `pub` only where the item is reachable from the crate root (a stage's face); everything
// else is pub(crate) or narrower, so visibility says who may use an item and the compiler
// finds dead code. (Here rather than in Cargo.toml: the lint would flag the tests' helpers.)
#![warn(unreachable_pub)]

pub mod app;
pub mod capture;
pub mod config;
pub mod decode;
pub mod defrag;
pub mod detect;
pub mod evidence;
pub(crate) mod fast_hash;
pub mod fleet;
pub mod flow;
pub mod intel;
pub mod metrics;
pub mod output;
pub mod report;
pub mod rule;
pub mod runtime;
pub mod stream;
pub mod sys;
