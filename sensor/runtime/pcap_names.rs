//! `pcap_filename` in EVE records (`output.eve.pcap_file`, Suricata's `eve-log` `pcap-file:
//! true`): the capture file each record of a replay came from.
//!
//! The reader publishes, before it dispatches the first frame of each file, the position
//! (`pcap_cnt`) that frame gets and the file's name ([`PcapNames::publish`]). Each worker keeps
//! a [`PcapNameCursor`] that follows the positions of the frames it inspects and, when the file
//! changes, sets the name that the EVE records it formats end with
//! ([`crate::output::eve::set_pcap_filename`]). So a record names the file of the packet that
//! completed it (flows that end at the end of the input name the last file), whatever the
//! number of workers. The lock is taken once per file per worker, never per packet.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::output::eve;

/// The files of a replay, by the position of their first frame.
#[derive(Debug, Default)]
pub(crate) struct PcapNames {
    starts: Mutex<Vec<(u64, Arc<str>)>>,
    len: AtomicUsize,
}

impl PcapNames {
    /// The file `name` starts at position `first` (positions only grow).
    pub(crate) fn publish(&self, first: u64, name: Arc<str>) {
        let mut s = self.starts.lock().unwrap_or_else(|p| p.into_inner());
        s.push((first, name));
        self.len.store(s.len(), Ordering::Release);
    }

    /// The name of the file that holds position `pos`, and where that file's positions end
    /// (exclusive; `u64::MAX` for the last file known).
    fn find(&self, pos: u64) -> (Option<Arc<str>>, u64, u64, usize) {
        let s = self.starts.lock().unwrap_or_else(|p| p.into_inner());
        // Files without frames share their start with the next file: the last one wins.
        let i = s.partition_point(|&(first, _)| first <= pos);
        let lo = if i == 0 { 0 } else { s.get(i - 1).map_or(0, |e| e.0) };
        let hi = s.get(i).map_or(u64::MAX, |e| e.0);
        let name = if i == 0 { None } else { s.get(i - 1).map(|e| e.1.clone()) };
        (name, lo, hi, s.len())
    }

    /// The last file published.
    pub(crate) fn last(&self) -> Option<Arc<str>> {
        let s = self.starts.lock().unwrap_or_else(|p| p.into_inner());
        s.last().map(|e| e.1.clone())
    }
}

/// A worker's view of [`PcapNames`]: the range of positions of the file it is in.
#[derive(Debug)]
pub(crate) struct PcapNameCursor {
    names: Arc<PcapNames>,
    seen: usize,
    lo: u64,
    hi: u64,
}

impl PcapNameCursor {
    pub(crate) fn new(names: Arc<PcapNames>) -> Self {
        eve::set_pcap_filename(None);
        PcapNameCursor { names, seen: usize::MAX, lo: 0, hi: 0 }
    }

    /// The worker is at position `pos` (0: none, nothing changes).
    #[inline]
    pub(crate) fn at(&mut self, pos: u64) {
        if pos == 0 {
            return;
        }
        let len = self.names.len.load(Ordering::Acquire);
        if len == self.seen && pos >= self.lo && pos < self.hi {
            return;
        }
        let (name, lo, hi, seen) = self.names.find(pos);
        eve::set_pcap_filename(name.as_deref());
        (self.lo, self.hi, self.seen) = (lo, hi, seen);
    }

    /// The input has ended: what is written from now on names the last file.
    pub(crate) fn at_end(&mut self) {
        eve::set_pcap_filename(self.names.last().as_deref());
        self.seen = usize::MAX;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail() -> String {
        let mut v = Vec::new();
        let mut j = eve::Json::object(&mut v);
        j.u64("a", 1);
        j.end_record();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn records_name_the_file_of_their_position_and_empty_files_are_skipped() {
        let names = Arc::new(PcapNames::default());
        names.publish(1, "a.pcap".into());
        let mut c = PcapNameCursor::new(names.clone());
        assert_eq!(tail(), "{\"a\":1}\n", "no position yet: no name");
        c.at(1);
        assert_eq!(tail(), "{\"a\":1,\"pcap_filename\":\"a.pcap\"}\n");
        // b.pcap has no frames: c.pcap starts at the same position.
        names.publish(5, "b.pcap".into());
        names.publish(5, "dir/c \"q\".pcap".into());
        c.at(4);
        assert!(tail().contains("\"a.pcap\""));
        c.at(5);
        assert_eq!(tail(), "{\"a\":1,\"pcap_filename\":\"dir/c \\\"q\\\".pcap\"}\n");
        c.at(0);
        assert!(tail().contains("c \\\"q\\\""), "position 0 (no position) keeps the file");
        names.publish(9, "d.pcap".into());
        c.at(3);
        assert!(tail().contains("\"a.pcap\""), "a late frame of an earlier file names that file");
        c.at_end();
        assert!(tail().contains("\"d.pcap\""));
        eve::set_pcap_filename(None);
        assert_eq!(tail(), "{\"a\":1}\n");
    }
}
