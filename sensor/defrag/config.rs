//! The `[defrag]` section of the configuration, as Suricata's `defrag`.

use serde::{Deserialize, Serialize};

/// How overlapping fragments are resolved, as Suricata's defrag policies (`defrag.policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefragPolicy {
    /// BSD (Suricata's default): held data wins over a fragment starting at or after it; a
    /// fragment starting before held data wins where they overlap.
    Bsd,
    /// Linux: held data wins over a fragment starting after it; a fragment starting at or
    /// before held data wins where they overlap.
    Linux,
    /// Windows: held data wins, except over a fragment that starts before it and ends after it.
    Windows,
    /// Solaris: held data wins, except over a fragment that starts before it and ends at or
    /// after its end.
    Solaris,
    /// First: held data always wins.
    First,
    /// Last: the newest data always wins.
    Last,
}

/// `[defrag]`, as Suricata's `defrag`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DefragConfig {
    /// Memory for fragment trackers and the fragment data they hold (Suricata's
    /// `defrag.memcap`: 32 MiB). When a new tracker or fragment would not fit, the least
    /// recently updated tracker is evicted (`defrag.tracker_hard_reuse`).
    pub memcap_bytes: u64,
    /// Seconds of packet time without a new fragment after which an unfinished datagram is
    /// dropped (Suricata's `defrag.timeout`: 60; 1 to 86400).
    pub timeout_secs: u64,
    /// Fragments held at once, over all trackers (Suricata's `defrag.max-frags`: 65535); a
    /// fragment beyond it is not stored (`defrag.max_frags_reached`).
    pub max_frags: u32,
    /// Datagrams being reassembled at once (Suricata's `defrag.trackers`: 65535); a new one
    /// beyond it evicts the least recently updated.
    pub trackers: u32,
    /// Overlap policy: `bsd` (default), `linux`, `windows`, `solaris`, `first` or `last`.
    pub policy: DefragPolicy,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            memcap_bytes: 32 << 20,
            timeout_secs: 60,
            max_frags: 65_535,
            trackers: 65_535,
            policy: DefragPolicy::Bsd,
        }
    }
}

impl DefragConfig {
    /// Checks values that parse but make no sense: `Err((dotted key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.memcap_bytes < 1 << 17 {
            return Err(("defrag.memcap_bytes", "must be at least 131072 (two datagrams of the largest size)"));
        }
        if self.timeout_secs == 0 || self.timeout_secs > 86_400 {
            return Err(("defrag.timeout_secs", "must be between 1 and 86400"));
        }
        if self.max_frags == 0 {
            return Err(("defrag.max_frags", "must be at least 1"));
        }
        if self.trackers == 0 {
            return Err(("defrag.trackers", "must be at least 1"));
        }
        Ok(())
    }
}
