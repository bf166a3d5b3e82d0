//! Fleet integration tests on a real 3-node nats-server cluster: one test binary for several test files (each file is a module here). Every file used to be
//! a binary of its own: 31 thin-LTO links took about 10 minutes of CI's 25. A new test file is
//! added as a `mod` line here (scripts/check-structure.py fails on a file no suite declares).
//! Tests of different files now run side by side (as many at once as before: one per core), so
//! none may rely on being alone: unique names, ports and folders (tests/common).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

mod common;
#[path = "common/nats.rs"]
mod nats;

mod fleet_forward;
mod fleet_replay;
mod fleet_rules;
