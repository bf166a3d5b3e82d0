//! Picket: a network sensor that inspects packets against Suricata-syntax rules and writes
//! EVE JSON.
//!
//! The modules follow the packet: [`capture`] -> [`decode`] -> [`flow`] -> (defrag, stream,
//! app, detect as they land) -> [`output`], with [`config`], [`metrics`] and [`runtime`] beside
//! them. Each module's documentation opens with its contract.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod capture;
pub mod config;
pub mod decode;
pub mod defrag;
pub mod detect;
pub mod flow;
pub mod metrics;
pub mod output;
pub mod rule;
pub mod runtime;
