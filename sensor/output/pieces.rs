//! Texts made of pieces kept once: the `alert` fields that detection renders per rule at load
//! (`rev`, `signature`, `category`, `severity`, `metadata`) repeat between rules (a category
//! and severity, most metadata entries), so each rule's text is a list of piece numbers into
//! one byte arena instead of a buffer of its own (ET Open: 9.4 MB of rendered text, of which
//! the distinct pieces are about a third). Writing a text appends its pieces in order.

use crate::fast_hash::HashMap;

/// A text of a [`Pieces`] table: a range of its piece list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextRef {
    start: u32,
    len: u32,
}

/// The table: piece bytes, the pieces' ends, the texts' piece lists.
#[derive(Debug, Default)]
pub struct Pieces {
    bytes: Vec<u8>,
    /// Piece `i` is `bytes[ends[i - 1]..ends[i]]` (from 0 for the first).
    ends: Vec<u32>,
    /// Texts' piece numbers, one range per text.
    lists: Vec<u32>,
    /// While building: piece bytes -> number, for the pieces that may repeat.
    index: HashMap<Box<[u8]>, u32>,
}

impl Pieces {
    /// Adds a text made of `parts`, each `(bytes, shared)`: a shared part is kept once for
    /// every text that has it, the others once per text. Bytes beyond 4 GiB in all are not
    /// expected (a rule set's texts); past that, the text is empty.
    pub fn add<'b>(&mut self, parts: impl IntoIterator<Item = (&'b [u8], bool)>) -> TextRef {
        let start = self.lists.len();
        for (b, shared) in parts {
            if b.is_empty() {
                continue;
            }
            let id = match shared.then(|| self.index.get(b).copied()).flatten() {
                Some(id) => id,
                None => {
                    let Some(id) = self.push_piece(b) else { break };
                    if shared {
                        self.index.insert(b.into(), id);
                    }
                    id
                }
            };
            self.lists.push(id);
        }
        match (u32::try_from(start), u32::try_from(self.lists.len() - start)) {
            (Ok(start), Ok(len)) => TextRef { start, len },
            _ => TextRef::default(),
        }
    }

    fn push_piece(&mut self, b: &[u8]) -> Option<u32> {
        let end = u32::try_from(self.bytes.len() + b.len()).ok()?;
        let id = u32::try_from(self.ends.len()).ok()?;
        self.bytes.extend_from_slice(b);
        self.ends.push(end);
        Some(id)
    }

    /// Done adding: the index goes and the vectors lose their growth slack (the table lives
    /// as long as the engine).
    pub fn seal(&mut self) {
        self.index = HashMap::default();
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.lists.shrink_to_fit();
    }

    /// Appends text `t` to `out`.
    pub fn write(&self, t: TextRef, out: &mut Vec<u8>) {
        let ids = self.lists.get(t.start as usize..(t.start as usize).saturating_add(t.len as usize)).unwrap_or(&[]);
        for &id in ids {
            let end = self.ends.get(id as usize).copied().unwrap_or(0) as usize;
            let begin = match id.checked_sub(1) {
                Some(p) => self.ends.get(p as usize).copied().unwrap_or(0) as usize,
                None => 0,
            };
            out.extend_from_slice(self.bytes.get(begin..end).unwrap_or(&[]));
        }
    }

    /// Bytes the table holds (arena, ends and lists).
    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + 4 * (self.ends.capacity() + self.lists.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(p: &Pieces, t: TextRef) -> String {
        let mut v = Vec::new();
        p.write(t, &mut v);
        String::from_utf8(v).expect("utf-8")
    }

    #[test]
    fn shared_pieces_are_kept_once_and_texts_read_back_whole() {
        let mut p = Pieces::default();
        let a = p.add([(&b"<a>"[..], false), (b",cat", true), (b",meta", true)]);
        let b = p.add([(&b"<b>"[..], false), (b",cat", true), (b"", true), (b",other", true)]);
        let c = p.add([(&b",cat"[..], false)]);
        let empty = p.add([]);
        p.seal();
        assert_eq!(
            (text(&p, a), text(&p, b), text(&p, c), text(&p, empty)),
            ("<a>,cat,meta".into(), "<b>,cat,other".into(), ",cat".into(), String::new())
        );
        // ",cat" shared by a and b (once), and once more unshared for c
        assert_eq!(p.bytes.len(), "<a>,cat,meta<b>,other,cat".len());
        assert_eq!(text(&p, TextRef { start: 99, len: 3 }), "");
    }
}
