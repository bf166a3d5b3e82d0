//! The handshake's memory of retransmitted SYNs (Suricata's SYN queue, `stream-tcp.c`
//! `StreamTcp3whsStoreSyn`): while a session waits for its SYN/ACK, a SYN that differs from
//! the one the session holds puts the old one in a queue of at most [`MAX_SYN_QUEUED`]; a
//! SYN/ACK may acknowledge any of them. A full queue rotates and raises `3whs_syn_flood`.
//! The queue exists only for sessions that saw such a SYN (boxed, bounded). Also the two
//! handshake states' packets (SYN_SENT, SYN_RECV), with TCP Fast Open: a SYN/ACK may
//! acknowledge the SYN's data, or the SYN alone (the data is then sent again).

use super::{seq_gt, seq_leq, Seg, StreamEngine, TcpSession, TcpState, ACK, SYN, S_ASYNC};
use crate::decode::{Decoded, Event};
use crate::metrics::{Counters, C};

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

impl StreamEngine {
    /// A packet while the client's SYN waits for an answer; whether it is accepted.
    pub(super) fn syn_sent(&mut self, ssn: &mut TcpSession, d: usize, p: &Seg<'_>, c: &mut Counters) -> bool {
        let fl = p.flags;
        if d == 1 && fl & (SYN | ACK) == SYN | ACK {
            let (isn, next) = (ssn.dirs[0].isn, ssn.dirs[0].next_seq);
            let tfo = next != isn.wrapping_add(1);
            if tfo && p.ack == isn.wrapping_add(1) {
                // TCP Fast Open refused: the SYN/ACK acknowledges the SYN alone, the client
                // sends its data again after the handshake (Suricata's TFO_DATA_IGNORED)
                ssn.dirs[0].next_seq = isn.wrapping_add(1);
                self.raise(c, Event::Stream3whsSynackTfoDataIgnored);
            } else if !(tfo && p.ack == next) && p.ack != isn.wrapping_add(1) {
                // (TCP Fast Open accepted: the SYN/ACK acknowledges the SYN's data too)
                // the SYN/ACK may answer a SYN the session replaced
                match ssn.syn_queue.as_deref().and_then(|q| q.find(p.ack)) {
                    Some(old) => {
                        ssn.dirs[0].start(old.isn, old.isn.wrapping_add(1));
                        ssn.syn = old.opts;
                    }
                    None => {
                        c.inc(C::StreamSynackInvalid);
                        self.raise(c, Event::Stream3whsSynackWithWrongAck);
                        return false;
                    }
                }
            }
            ssn.syn_queue = None;
            ssn.dirs[1].start(p.seq, p.seq.wrapping_add(1));
            ssn.dirs[1].window = p.win as u32;
            self.ack(ssn, 0, p.ack);
            ssn.state = TcpState::SynRecv;
        } else if d == 1 && fl & (SYN | ACK) == SYN {
            // simultaneous open / split handshake: the server's own SYN
            ssn.dirs[1].start(p.seq, p.seq.wrapping_add(1));
            ssn.state = TcpState::SynRecv;
        } else if d == 0 && fl & (SYN | ACK) == SYN {
            // retransmitted SYN: one that differs replaces the session's, which is queued
            // (a SYN/ACK may still answer it); a different ISN restarts the session
            let old = SynState { isn: ssn.dirs[0].isn, opts: ssn.syn };
            if old != (SynState { isn: p.seq, opts: p.syn }) {
                let flood = ssn.syn_queue.get_or_insert_with(Box::default).store(old);
                if let Some(e) = flood {
                    self.raise(c, e);
                }
            }
            ssn.syn = p.syn;
            if p.seq != ssn.dirs[0].isn {
                ssn.dirs[0].start(p.seq, p.seq.wrapping_add(1));
            }
        } else if d == 0 && fl & ACK != 0 && self.cfg.async_oneside {
            // one-sided: the server's packets are never seen
            ssn.flags |= S_ASYNC;
            ssn.dirs[1].start(p.ack.wrapping_sub(1), p.ack);
            ssn.state = TcpState::Established;
        } else {
            return false;
        }
        true
    }

    /// A packet after the SYN/ACK, before the handshake's last ACK; whether it is accepted.
    pub(super) fn syn_recv(&mut self, ssn: &mut TcpSession, d: usize, p: &Seg<'_>) -> bool {
        let fl = p.flags;
        if d == 0 && fl & ACK != 0 && fl & SYN == 0 {
            let srv = &ssn.dirs[1];
            if (seq_gt(p.ack, srv.isn) && seq_leq(p.ack, srv.next_seq)) || ssn.flags & S_ASYNC != 0 {
                ssn.state = TcpState::Established;
                return true;
            }
            false
        } else if d == 1 && fl & (SYN | ACK) == SYN | ACK {
            // retransmitted SYN/ACK, or the final step of a split handshake
            if ssn.dirs[1].isn != p.seq {
                ssn.dirs[1].start(p.seq, p.seq.wrapping_add(1));
            }
            self.ack(ssn, 0, p.ack);
            true
        } else if d == 0 && fl & (SYN | ACK) == SYN | ACK {
            // split handshake: the client answers the server's SYN
            self.ack(ssn, 1, p.ack);
            true
        } else if fl & SYN != 0 {
            false
        } else if d == 1 && fl & ACK != 0 {
            // server data before the final ACK was seen (lost): take it
            ssn.state = TcpState::Established;
            true
        } else {
            false
        }
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
