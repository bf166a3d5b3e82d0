//! Cutting the queue into messages: each NATS message carries up to `output.nats.batch_events`
//! consecutive EVE lines of one event type, newline-separated, with their count in the
//! `Picket-Events` header.
//!
//! Takes: the queue from a position, the window's room (events), and the batch journal
//! (`consumers/<consumer>.batches`). Promises: a message's id is its first line's position
//! (`<sensor>.<queue id>.<segment>.<offset>`) with `.<events>` appended when it carries more
//! than one line; a range of the queue sent again (a failed window, a restart after kill -9) is
//! cut into exactly the messages it was cut into before, so JetStream's duplicate window
//! removes each re-sent message whole. Never: two messages with the same id and different lines.
//!
//! Why a journal. The forwarder cuts a message where the type changes, at `batch_events`, at
//! [`MAX_BATCH_BYTES`], at the window's room, or where the queue ends *at that moment*. The last
//! two depend on timing, not on the queue's content: after a kill -9 the queue has grown, and a
//! range cut at its end before would be cut longer now. Were the id the first position alone,
//! the longer message would carry the id of the one JetStream stored: it would be dropped as a
//! duplicate and its extra lines lost. So every cut is appended to the journal *before* its
//! message is published, and a cut in the journal is reused whenever reading reaches its start
//! again; cuts are dropped from the journal only once the saved position (the consumer offset)
//! is past them, and the offset is saved before the journal is trimmed, so after a crash the
//! journal holds every cut from the saved position on. Two safety nets make a lost or stale
//! journal (a deleted file, an upgrade from a version without batches, `batch_events` raised
//! after a crash) cost duplicates, never loss: the event count is part of a multi-line
//! message's id (a different cut of the same start gets a different id, so both are stored),
//! and a single-line message keeps the id of the single-event format (the same line, the same
//! id). With `batch_events = 1` every cut is one line whatever the timing: nothing is journaled.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};

use super::event_type_of;
use crate::output::spool::{Position, Reader};

/// A message carries at most this many bytes of lines (NATS servers refuse payloads above
/// their `max_payload`, 1 MiB by default); a single longer line goes alone.
pub(super) const MAX_BATCH_BYTES: usize = 512 << 10;

/// The header giving a message's event count.
pub const EVENTS_HEADER: &str = "Picket-Events";

/// The queue as lines: a chunk read from one segment, sliced without copying.
pub(super) struct Lines {
    pub(super) reader: Reader,
    chunk: Bytes,
    /// Position of `chunk[0]` in the queue.
    start: Position,
    cursor: usize,
}

impl Lines {
    pub(super) fn at(dir: &Path, pos: Position) -> Lines {
        Lines { reader: Reader::new(dir, Some(pos)), chunk: Bytes::new(), start: pos, cursor: 0 }
    }

    /// Position of the chunk's first byte (after a skip over deleted segments: where reading
    /// went on).
    pub(super) fn chunk_start(&self) -> Position {
        self.start
    }

    /// The next line (without its newline), its position and the position just past it.
    pub(super) fn next(&mut self) -> std::io::Result<Option<(Bytes, Position, Position)>> {
        loop {
            if self.cursor < self.chunk.len() {
                let rest = &self.chunk[self.cursor..];
                let nl = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                let from = Position { segment: self.start.segment, offset: self.start.offset + self.cursor as u64 };
                let line = self.chunk.slice(self.cursor..self.cursor + nl);
                self.cursor += nl + 1;
                let end = Position { segment: self.start.segment, offset: self.start.offset + self.cursor as u64 };
                if line.is_empty() {
                    continue;
                }
                return Ok(Some((line, from, end)));
            }
            let mut v = Vec::new();
            let n = self.reader.read(&mut v, 1 << 20)?;
            if n == 0 {
                return Ok(None);
            }
            self.start = Position { segment: self.reader.pos.segment, offset: self.reader.pos.offset - n as u64 };
            self.chunk = Bytes::from(v);
            self.cursor = 0;
        }
    }

    /// The bytes from `from` to just before `end` (a run of whole lines without its last
    /// newline), when the current chunk holds them.
    fn span(&self, from: Position, end: Position) -> Option<Bytes> {
        if from.segment != self.start.segment || end.segment != self.start.segment || from.offset < self.start.offset {
            return None;
        }
        let a = (from.offset - self.start.offset) as usize;
        let b = (end.offset - self.start.offset) as usize;
        (b <= self.chunk.len() && a < b).then(|| self.chunk.slice(a..b - 1))
    }
}

/// The cuts published since the saved position, and their file.
pub(super) struct Journal {
    path: PathBuf,
    /// (first line, past the last line), in queue order.
    cuts: VecDeque<(Position, Position)>,
    /// Whether new cuts are recorded (`batch_events` > 1).
    record: bool,
    /// Cuts recorded and not yet written.
    unwritten: String,
    file: Option<File>,
    /// The file holds cuts that `cuts` no longer has.
    stale: bool,
}

impl Journal {
    /// The journal of `consumer` in the queue `dir`, with the cuts that end past `from`.
    pub(super) fn load(dir: &Path, consumer: &str, from: Position, record: bool) -> Journal {
        let path = dir.join("consumers").join(format!("{consumer}.batches"));
        let mut cuts = VecDeque::new();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for line in text.lines() {
            let v: Vec<u64> = line.split_whitespace().filter_map(|t| t.parse().ok()).collect();
            if let [s, o, es, eo] = v[..] {
                let (a, b) = (Position { segment: s, offset: o }, Position { segment: es, offset: eo });
                if b > from && a < b && cuts.back().is_none_or(|&(_, e)| e <= a) {
                    cuts.push_back((a, b));
                }
            }
            // A torn last line (a crash while appending) was not followed by its publish.
        }
        Journal { path, cuts, record, unwritten: String::new(), file: None, stale: !text.is_empty() }
    }

    /// Where the message starting at `start` was cut before, if it was.
    fn cut_at(&self, start: Position) -> Option<Position> {
        self.cuts.binary_search_by_key(&start, |c| c.0).ok().map(|i| self.cuts[i].1)
    }

    /// A new cut (written by [`Journal::write`], before its message is published).
    fn add(&mut self, start: Position, end: Position) {
        if !self.record || self.cuts.back().is_some_and(|&(_, e)| e > start) {
            return;
        }
        self.cuts.push_back((start, end));
        use std::fmt::Write as _;
        let _ = writeln!(self.unwritten, "{} {} {} {}", start.segment, start.offset, end.segment, end.offset);
    }

    /// Writes the new cuts (one append); call before publishing their messages.
    pub(super) fn write(&mut self) -> std::io::Result<()> {
        if self.unwritten.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            if let Some(d) = self.path.parent() {
                std::fs::create_dir_all(d)?;
            }
            self.file = Some(OpenOptions::new().create(true).append(true).open(&self.path)?);
        }
        if let Some(f) = &mut self.file {
            f.write_all(self.unwritten.as_bytes())?;
        }
        self.unwritten.clear();
        Ok(())
    }

    /// Forgets the cuts before `saved` (the consumer offset, saved already) and rewrites the
    /// file with the others.
    pub(super) fn trim(&mut self, saved: Position) -> std::io::Result<()> {
        let before = self.cuts.len();
        while self.cuts.front().is_some_and(|&(_, e)| e <= saved) {
            self.cuts.pop_front();
        }
        if self.cuts.len() == before && !self.stale {
            return Ok(());
        }
        self.write()?;
        let mut text = String::with_capacity(self.cuts.len() * 40);
        for (a, b) in &self.cuts {
            use std::fmt::Write as _;
            let _ = writeln!(text, "{} {} {} {}", a.segment, a.offset, b.segment, b.offset);
        }
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let tmp = self.path.with_extension("batches.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)?;
        self.file = None;
        self.stale = false;
        Ok(())
    }
}

/// One message: lines of one event type.
pub(super) struct Batch {
    /// The lines, newline-separated (no newline at the end).
    pub(super) payload: Bytes,
    /// Length of the first line (whose event type is the message's).
    pub(super) first_len: usize,
    /// Position of the first line.
    pub(super) first: Position,
    /// Position just past the last line.
    pub(super) end: Position,
    pub(super) events: u64,
}

impl Batch {
    pub(super) fn event_type(&self) -> &str {
        event_type_of(&self.payload[..self.first_len])
    }
}

/// The queue as messages.
pub(super) struct Batcher {
    pub(super) lines: Lines,
    /// A line read and left for the next message (another type, or no room).
    pending: Option<(Bytes, Position, Position)>,
    pub(super) journal: Journal,
    max_events: usize,
}

impl Batcher {
    pub(super) fn new(lines: Lines, journal: Journal, max_events: usize) -> Batcher {
        Batcher { lines, pending: None, journal, max_events: max_events.max(1) }
    }

    /// Reading starts again at `pos` (a failed window).
    pub(super) fn rewind(&mut self, dir: &Path, pos: Position) {
        self.lines = Lines::at(dir, pos);
        self.pending = None;
    }

    /// The next message, of at most `room` events unless the journal cut it longer before.
    pub(super) fn next(&mut self, room: usize) -> std::io::Result<Option<Batch>> {
        let first = match self.pending.take() {
            Some(l) => l,
            None => match self.lines.next()? {
                Some(l) => l,
                None => return Ok(None),
            },
        };
        let (line, start, mut end) = first;
        let cut = self.journal.cut_at(start);
        let limit = if cut.is_some() { usize::MAX } else { self.max_events.min(room).max(1) };
        let ty = event_type_of(&line).to_string();
        let first_len = line.len();
        let mut bytes = line.len();
        let mut parts = vec![line];
        let mut contiguous = true;
        while parts.len() < limit && cut.is_none_or(|c| end < c) {
            let skipped = self.lines.reader.skipped_segments;
            let Some((l, from, e)) = self.lines.next()? else { break };
            let takes = match cut {
                Some(c) => e <= c && self.lines.reader.skipped_segments == skipped,
                None => {
                    self.lines.reader.skipped_segments == skipped
                        && from.segment == start.segment
                        && bytes + 1 + l.len() <= MAX_BATCH_BYTES
                        && event_type_of(&l) == ty
                }
            };
            if !takes {
                self.pending = Some((l, from, e));
                break;
            }
            contiguous &= from == end;
            bytes += 1 + l.len();
            end = e;
            parts.push(l);
        }
        let events = parts.len() as u64;
        let payload = match (parts.len(), contiguous.then(|| self.lines.span(start, end)).flatten()) {
            (1, _) => parts.swap_remove(0),
            (_, Some(p)) => p,
            _ => {
                let mut b = BytesMut::with_capacity(bytes);
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        b.extend_from_slice(b"\n");
                    }
                    b.extend_from_slice(p);
                }
                b.freeze()
            }
        };
        if self.max_events > 1 {
            self.journal.add(start, end);
        }
        Ok(Some(Batch { payload, first_len, first: start, end, events }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(d: &Path, n: u64, text: &str) {
        std::fs::write(d.join(format!("segment-{n:020}.json")), text).unwrap();
    }

    fn pos(segment: u64, offset: u64) -> Position {
        Position { segment, offset }
    }

    #[test]
    fn lines_carry_their_queue_positions() {
        let d = tempfile::tempdir().unwrap();
        seg(d.path(), 1, "{\"a\":1}\n\n{\"b\":22}\n");
        seg(d.path(), 2, "{\"c\":3}\n");
        let mut l = Lines::at(d.path(), pos(1, 0));
        let (line, from, end) = l.next().unwrap().unwrap();
        assert_eq!((&line[..], from, end), (&b"{\"a\":1}"[..], pos(1, 0), pos(1, 8)));
        let (line, from, _) = l.next().unwrap().unwrap();
        assert_eq!((&line[..], from), (&b"{\"b\":22}"[..], pos(1, 9)));
        let (line, from, end) = l.next().unwrap().unwrap();
        assert_eq!((&line[..], from, end), (&b"{\"c\":3}"[..], pos(2, 0), pos(2, 8)));
        assert!(l.next().unwrap().is_none());
    }

    fn ev(t: &str, i: u32) -> String {
        format!("{{\"event_type\":\"{t}\",\"i\":{i}}}\n")
    }

    fn cut_all(b: &mut Batcher, room: usize) -> Vec<(Position, u64, String)> {
        let mut out = Vec::new();
        while let Some(m) = b.next(room).unwrap() {
            assert_eq!(m.payload.split(|&c| c == b'\n').count() as u64, m.events);
            let t = m.event_type().to_string();
            assert!(m.payload.split(|&c| c == b'\n').all(|l| event_type_of(l) == t), "one type per message");
            out.push((m.first, m.events, String::from_utf8(m.payload.to_vec()).unwrap()));
        }
        out
    }

    #[test]
    fn messages_hold_consecutive_lines_of_one_type_up_to_the_limits() {
        let d = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for i in 0..5 {
            text += &ev("flow", i);
        }
        text += &ev("alert", 5);
        text += &ev("flow", 6);
        seg(d.path(), 1, &text);
        seg(d.path(), 2, &(ev("flow", 7) + &ev("flow", 8)));
        let j = Journal::load(d.path(), "nats", pos(1, 0), true);
        let mut b = Batcher::new(Lines::at(d.path(), pos(1, 0)), j, 3);
        let got = cut_all(&mut b, 100);
        let counts: Vec<u64> = got.iter().map(|g| g.1).collect();
        // 3 flows (the limit), 2 flows (the type changes), the alert, one flow (the segment
        // ends: a message never spans segments), the next segment's two.
        assert_eq!(counts, [3, 2, 1, 1, 2]);
        assert_eq!(got[0].2, ev("flow", 0) + &ev("flow", 1) + ev("flow", 2).trim_end());
        assert_eq!(got[4].0, pos(2, 0));
        // The window's room limits a new cut.
        let j = Journal::load(d.path(), "other", pos(1, 0), true);
        let mut b = Batcher::new(Lines::at(d.path(), pos(1, 0)), j, 3);
        assert_eq!(b.next(2).unwrap().unwrap().events, 2);
    }

    #[test]
    fn a_range_sent_again_after_a_crash_is_cut_as_before_though_the_queue_grew() {
        let d = tempfile::tempdir().unwrap();
        let a: String = (0..2).map(|i| ev("flow", i)).collect();
        seg(d.path(), 1, &a);
        let mut j = Journal::load(d.path(), "nats", pos(1, 0), true);
        let mut b = Batcher::new(Lines::at(d.path(), pos(1, 0)), j, 64);
        let first = b.next(64).unwrap().unwrap();
        assert_eq!(first.events, 2, "cut where the queue ends now");
        b.journal.write().unwrap();
        // kill -9: the queue grows, the forwarder starts again from the saved position.
        let more: String = (0..10).map(|i| ev("flow", i)).collect();
        seg(d.path(), 1, &more);
        j = Journal::load(d.path(), "nats", pos(1, 0), true);
        b = Batcher::new(Lines::at(d.path(), pos(1, 0)), j, 64);
        let again = b.next(64).unwrap().unwrap();
        assert_eq!((again.first, again.end, again.events), (first.first, first.end, 2), "same cut, same id");
        let rest = b.next(64).unwrap().unwrap();
        assert_eq!((rest.first, rest.events), (first.end, 8));
        // Once the offset is saved past them, the cuts are dropped from the file.
        b.journal.write().unwrap();
        b.journal.trim(rest.end).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("consumers/nats.batches")).unwrap(), "");
        // Without its journal the same start is cut longer: a different id (a duplicate at
        // worst, never a message dropped as one).
        let j = Journal::load(d.path(), "nats", pos(1, 0), true);
        let mut b = Batcher::new(Lines::at(d.path(), pos(1, 0)), j, 64);
        assert_eq!(b.next(64).unwrap().unwrap().events, 10);
    }

    #[test]
    fn single_events_are_not_journaled_and_a_torn_journal_line_is_ignored() {
        let d = tempfile::tempdir().unwrap();
        seg(d.path(), 1, &(ev("dns", 0) + &ev("dns", 1)));
        let j = Journal::load(d.path(), "nats", pos(1, 0), false);
        let mut b = Batcher::new(Lines::at(d.path(), pos(1, 0)), j, 1);
        assert_eq!(cut_all(&mut b, 10).len(), 2);
        b.journal.write().unwrap();
        assert!(!d.path().join("consumers/nats.batches").exists());
        std::fs::create_dir_all(d.path().join("consumers")).unwrap();
        std::fs::write(d.path().join("consumers/nats.batches"), "1 0 1 44\n1 44 1").unwrap();
        let j = Journal::load(d.path(), "nats", pos(1, 0), true);
        assert_eq!(j.cuts.len(), 1);
        assert_eq!(j.cut_at(pos(1, 0)), Some(pos(1, 44)));
    }
}
