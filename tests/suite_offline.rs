//! Offline integration tests (replay, CLI, rules, reports, hostile inputs): one test binary for several test files (each file is a module here). Every file used to be
//! a binary of its own: 31 thin-LTO links took about 10 minutes of CI's 25. A new test file is
//! added as a `mod` line here (scripts/check-structure.py fails on a file no suite declares).
//! Tests of different files now run side by side (as many at once as before: one per core), so
//! none may rely on being alone: unique names, ports and folders (tests/common).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

mod common;

mod bench;
mod config_cli;
mod engines;
mod eve_schema;
mod file_alerts;
mod hostile;
mod hostile_records;
mod intel;
mod metrics;
mod metrics_abuse;
mod packaging;
mod pcap_log;
mod replay_bad_input;
mod replay_case;
mod replay_decode;
mod replay_determinism;
mod replay_flows;
mod replay_formats;
mod replay_progress;
mod replay_semantics;
mod replay_tunnels;
mod report;
mod rules_cli;
mod rules_et_open;
mod spool_crash;
mod validation;
mod workers;
