//! The `[stream]` section of the configuration, as Suricata's `stream`: [`StreamSection`] is what
//! the file says, [`StreamSection::engine_config`] the per-worker [`super::StreamConfig`] the
//! engine runs with (memcaps shared out among the workers).

use serde::{Deserialize, Serialize};

/// `[stream]`, as Suricata's `stream`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamSection {
    /// Pick up TCP sessions whose handshake was not seen.
    pub midstream: bool,
    /// Track sessions where only one direction is seen.
    pub async_oneside: bool,
    /// Bytes reassembled per direction before inspection stops (0 = unlimited).
    pub reassembly_depth: u64,
    /// Memory for TCP sessions.
    pub memcap_bytes: u64,
    /// Memory for reassembly segments.
    pub reassembly_memcap_bytes: u64,
    /// Overlap policy for segments (Suricata's host-os-policy names: bsd, linux, old-linux,
    /// windows, solaris, macos, vista, first, last).
    pub reassembly_policy: String,
    /// Acknowledged client bytes that make raw stream inspection due.
    pub toserver_chunk_bytes: u64,
    /// Acknowledged server bytes that make raw stream inspection due.
    pub toclient_chunk_bytes: u64,
    /// Segments held per direction before new ones are dropped (and counted).
    pub max_segments: u64,
}

impl StreamSection {
    /// The stream engine settings for one of `workers` workers (memcaps are split evenly).
    pub fn engine_config(&self, workers: usize) -> super::StreamConfig {
        let w = workers.max(1) as u64;
        let ssn_size = std::mem::size_of::<super::TcpSession>() as u64 + 64;
        super::StreamConfig {
            midstream: self.midstream,
            async_oneside: self.async_oneside,
            depth: self.reassembly_depth,
            memcap: (self.reassembly_memcap_bytes / w) as usize,
            max_sessions: (self.memcap_bytes / w / ssn_size) as usize,
            max_segments: self.max_segments as usize,
            chunk: [self.toserver_chunk_bytes, self.toclient_chunk_bytes],
            policy: super::Policy::from_name(&self.reassembly_policy).unwrap_or_default(),
        }
    }
}

impl Default for StreamSection {
    fn default() -> Self {
        StreamSection {
            midstream: false,
            async_oneside: false,
            reassembly_depth: 1 << 20,
            memcap_bytes: 64 << 20,
            reassembly_memcap_bytes: 256 << 20,
            reassembly_policy: "bsd".into(),
            toserver_chunk_bytes: 2560,
            toclient_chunk_bytes: 2560,
            max_segments: 16384,
        }
    }
}

impl StreamSection {
    /// Checks values that parse but make no sense: `Err((dotted key, reason))`.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if super::Policy::from_name(&self.reassembly_policy).is_none() {
            return Err((
                "stream.reassembly_policy",
                "unknown policy (bsd, linux, old-linux, windows, solaris, macos, vista, first, last)",
            ));
        }
        if self.toserver_chunk_bytes == 0 || self.toclient_chunk_bytes == 0 {
            return Err(("stream.toserver_chunk_bytes", "chunk sizes must be at least 1"));
        }
        if self.max_segments == 0 {
            return Err(("stream.max_segments", "must be at least 1"));
        }
        Ok(())
    }
}
