//! The handshake's memory of retransmitted SYNs (Suricata's SYN queue, `stream-tcp.c`
//! `StreamTcp3whsStoreSyn`): while a session waits for its SYN/ACK, a SYN that differs from
//! the one the session holds puts the old one in a queue of at most [`MAX_SYN_QUEUED`]; a
//! SYN/ACK may acknowledge any of them. A full queue rotates and raises `3whs_syn_flood`.
//! The queue exists only for sessions that saw such a SYN (boxed, bounded).

use crate::decode::{Decoded, Event};

/// SYNs remembered per session (Suricata's `stream.max-syn-queued` default).
pub(super) const MAX_SYN_QUEUED: usize = 10;

/// What a SYN says beyond its sequence number: what Suricata compares retransmitted SYNs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynOptions {
    /// Packet time, whole seconds.
    pub secs: u32,
    /// Window.
    pub win: u16,
    /// SACK permitted.
    pub sack: bool,
    /// Window scale option.
    pub wscale: Option<u8>,
    /// Timestamp option's value.
    pub ts: Option<u32>,
}

impl SynOptions {
    /// The options of a SYN packet (`d` its decode, `frame` its bytes) seen at `secs`.
    pub fn of(frame: &[u8], d: &Decoded, secs: u32) -> SynOptions {
        let mut o = SynOptions { secs, win: d.tcp_win, ..SynOptions::default() };
        for (kind, v) in d.tcp_options(frame) {
            match (kind, v.len()) {
                (3, 1) => o.wscale = v.first().copied(),
                (4, 0) => o.sack = true,
                (8, 8) => o.ts = v.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_be_bytes),
                _ => {}
            }
        }
        o
    }
}

/// One SYN as the session held it: its sequence number and options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SynState {
    pub(super) isn: u32,
    pub(super) opts: SynOptions,
}

/// The SYNs a session replaced, oldest first.
#[derive(Clone, Debug, Default)]
pub(super) struct SynQueue {
    q: Vec<SynState>,
}

impl SynQueue {
    /// Stores the session's SYN `old` that a retransmitted SYN replaces. Returns the event a
    /// full queue raises (the oldest entry makes room).
    pub(super) fn store(&mut self, old: SynState) -> Option<Event> {
        // already held: the same sequence number and timestamp
        if old.opts.ts.is_some() && self.q.iter().any(|q| q.isn == old.isn && q.opts.ts == old.opts.ts) {
            return None;
        }
        if self.q.len() >= MAX_SYN_QUEUED {
            self.q.remove(0);
            self.q.push(old);
            return Some(Event::Stream3whsSynFlood);
        }
        self.q.push(old);
        None
    }

    /// The queued SYN a SYN/ACK acknowledging `ack` answers.
    pub(super) fn find(&self, ack: u32) -> Option<SynState> {
        self.q.iter().find(|q| q.isn.wrapping_add(1) == ack).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn(isn: u32, ts: Option<u32>) -> SynState {
        SynState { isn, opts: SynOptions { ts, ..SynOptions::default() } }
    }

    #[test]
    fn the_eleventh_replaced_syn_is_a_flood() {
        let mut q = SynQueue::default();
        for i in 0..MAX_SYN_QUEUED as u32 {
            assert_eq!(q.store(syn(i, None)), None);
        }
        assert_eq!(q.store(syn(100, None)), Some(Event::Stream3whsSynFlood));
        assert_eq!(q.q.len(), MAX_SYN_QUEUED);
        assert!(q.find(1).is_none(), "the oldest made room");
        assert_eq!(q.find(101).map(|s| s.isn), Some(100));
        // a SYN already held (same sequence number and timestamp) is not stored again
        let mut q = SynQueue::default();
        assert_eq!(q.store(syn(7, Some(9))), None);
        assert_eq!(q.store(syn(7, Some(9))), None);
        assert_eq!(q.q.len(), 1);
    }
}
