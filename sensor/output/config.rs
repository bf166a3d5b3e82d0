//! The `[output]` section of the configuration: which events are written and the local alert
//! queue (spool).

use serde::{Deserialize, Serialize};

/// `[output]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Write `flow` events when flows end.
    pub flow_events: bool,
    /// Write the final `stats` event.
    pub stats_event: bool,
    /// Folder of the local alert queue (append-only EVE segments); empty = no queue.
    pub spool_dir: String,
    /// A segment is closed and a new one started past this size.
    pub spool_segment_bytes: u64,
    /// Segments are deleted, oldest first, beyond this total size.
    pub spool_retention_bytes: u64,
    /// Data is fsync'd at least this often (0 = after every batch of events).
    pub spool_fsync_interval_ms: u64,
    /// When retention or a full disk would delete data a consumer has not read:
    /// `drop_oldest` (delete it, counted) or `block` (wait for the consumer, counted).
    pub spool_full_policy: SpoolPolicy,
}

/// What the local queue does when it must delete unread data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpoolPolicy {
    /// Delete the oldest segment anyway (counted as `output.spool.dropped_bytes`).
    DropOldest,
    /// Wait until consumers have read it (counted as `output.spool.block_waits`).
    Block,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            flow_events: true,
            stats_event: true,
            spool_dir: String::new(),
            spool_segment_bytes: 64 << 20,
            spool_retention_bytes: 1 << 30,
            spool_fsync_interval_ms: 1000,
            spool_full_policy: SpoolPolicy::DropOldest,
        }
    }
}

impl OutputConfig {
    /// Checks values that parse but make no sense: `Err((dotted key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.spool_segment_bytes < 4096 {
            return Err(("output.spool_segment_bytes", "must be at least 4096"));
        }
        if self.spool_retention_bytes < self.spool_segment_bytes {
            return Err(("output.spool_retention_bytes", "must be at least output.spool_segment_bytes"));
        }
        Ok(())
    }
}
