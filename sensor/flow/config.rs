//! The `[flow]` section of the configuration (Suricata's `flow` and `flow-timeouts`), and how it
//! becomes the per-worker [`super::TableConfig`].

use serde::{Deserialize, Serialize};

/// Timeouts of one protocol, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutConfig {
    /// State new.
    pub new_secs: u64,
    /// State established.
    pub established_secs: u64,
    /// State closed.
    pub closed_secs: u64,
    /// New, in emergency mode.
    pub emergency_new_secs: u64,
    /// Established, in emergency mode.
    pub emergency_established_secs: u64,
    /// Closed, in emergency mode.
    pub emergency_closed_secs: u64,
}

impl TimeoutConfig {
    fn to_table(self) -> super::Timeouts {
        super::Timeouts {
            new: self.new_secs,
            established: self.established_secs,
            closed: self.closed_secs,
            emergency_new: self.emergency_new_secs,
            emergency_established: self.emergency_established_secs,
            emergency_closed: self.emergency_closed_secs,
        }
    }
}

/// `[flow.timeouts]`, as Suricata's `flow-timeouts`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowTimeouts {
    /// Protocols other than TCP, UDP and ICMP.
    pub default: TimeoutConfig,
    /// TCP.
    pub tcp: TimeoutConfig,
    /// UDP.
    pub udp: TimeoutConfig,
    /// ICMP and ICMPv6.
    pub icmp: TimeoutConfig,
}

impl Default for FlowTimeouts {
    fn default() -> Self {
        let t = |new, est, closed, en, ee, ec| TimeoutConfig {
            new_secs: new,
            established_secs: est,
            closed_secs: closed,
            emergency_new_secs: en,
            emergency_established_secs: ee,
            emergency_closed_secs: ec,
        };
        FlowTimeouts {
            default: t(30, 300, 0, 10, 100, 0),
            tcp: t(60, 600, 60, 5, 100, 10),
            udp: t(30, 300, 0, 10, 100, 0),
            icmp: t(30, 300, 0, 10, 100, 0),
        }
    }
}

/// `[flow]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowConfig {
    /// Memory for flows, shared out among the workers (Suricata's `flow.memcap`: 128 MiB).
    pub memcap_bytes: u64,
    /// Leave emergency mode when this share of flow slots is free again (percent).
    pub emergency_recovery_percent: u8,
    /// Timeouts per protocol.
    pub timeouts: FlowTimeouts,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig { memcap_bytes: 128 << 20, emergency_recovery_percent: 30, timeouts: FlowTimeouts::default() }
    }
}

impl FlowConfig {
    /// The per-worker table configuration.
    pub fn table_config(&self, workers: usize) -> super::TableConfig {
        let t = &self.timeouts;
        super::TableConfig {
            memcap: (self.memcap_bytes / workers.max(1) as u64) as usize,
            timeouts: [t.tcp.to_table(), t.udp.to_table(), t.icmp.to_table(), t.default.to_table()],
            emergency_recovery_percent: self.emergency_recovery_percent,
        }
    }
}

impl FlowConfig {
    /// Checks values that parse but make no sense: `Err((dotted key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.memcap_bytes < 1 << 16 {
            return Err(("flow.memcap_bytes", "must be at least 65536"));
        }
        if self.emergency_recovery_percent > 100 {
            return Err(("flow.emergency_recovery_percent", "is a percentage (0-100)"));
        }
        Ok(())
    }
}
