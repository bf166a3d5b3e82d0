//! Header blocks: HPACK decoding, one decoder per direction ([`loona_hpack`]), with the
//! dynamic table size updates a block starts with, bounded in what it keeps
//! ([`super::MAX_DECODED_HEADER_BYTES`]: an HPACK bomb is cut and counted); and what a decoded
//! block says of its stream (Suricata's `handle_headers`: events, DoH).

use super::{
    Block, Header, Http2State, Http2Tx, EV_AUTHORITY_HOST_MISMATCH, EV_USERINFO_IN_URI, MAX_DECODED_HEADER_BYTES,
    MAX_TABLE_SIZE,
};
use crate::app::plugin::TxEvents;

/// HPACK decoder of one direction (the crate's type has no `Debug`).
pub(super) struct Hpack(loona_hpack::Decoder<'static>);

impl std::fmt::Debug for Hpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hpack")
    }
}

impl Default for Hpack {
    fn default() -> Self {
        let mut d = loona_hpack::Decoder::new();
        d.set_max_allowed_table_size(MAX_TABLE_SIZE);
        Hpack(d)
    }
}

/// Reads an HPACK integer with an `n`-bit prefix; (value, bytes used).
fn hpack_int(b: &[u8], n: u32) -> Option<(u64, usize)> {
    let mask = ((1u16 << n.min(8)) - 1) as u8;
    let first = *b.first()? & mask;
    if first < mask {
        return Some((u64::from(first), 1));
    }
    let mut v = u64::from(mask);
    let mut shift = 0u32;
    for (i, &c) in b.iter().enumerate().skip(1) {
        if shift > 56 {
            return None;
        }
        v = v.checked_add(u64::from(c & 0x7f) << shift)?;
        shift += 7;
        if c & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// The dynamic table size updates at the start of a block.
fn size_updates(mut b: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    while let Some(&c) = b.first() {
        if c & 0xe0 != 0x20 {
            break;
        }
        match hpack_int(b, 5) {
            Some((v, n)) => {
                out.push(v);
                b = b.get(n..).unwrap_or(&[]);
            }
            None => break,
        }
    }
    out
}

impl Http2State {
    /// Decodes a complete header block of a direction.
    pub(super) fn decode_block(&mut self, to_server: bool, block: &[u8]) -> Block {
        let mut out = Block { size_updates: size_updates(block), ..Block::default() };
        let mut kept = 0usize;
        let mut bomb = false;
        let d = self.dir(to_server);
        let r = d.hpack.0.decode_with_cb(block, |n, v| {
            kept = kept.saturating_add(n.len() + v.len());
            if kept > MAX_DECODED_HEADER_BYTES {
                bomb = true;
                return;
            }
            out.headers.push(Header { name: n.into_owned(), value: v.into_owned() });
        });
        self.stats.header_blocks += 1;
        if r.is_err() {
            out.error = true;
            self.stats.hpack_errors += 1;
        }
        if bomb {
            self.stats.hpack_bombs += 1;
        }
        out
    }
}

/// A DNS message carried over DoH as a DNS transaction.
pub(super) fn doh_tx(id: u64, to_server: bool, msg: crate::app::dns::Message) -> crate::app::dns::Tx {
    crate::app::dns::Tx { tx_id: id, to_server, msg, request_tx_id: None, events: TxEvents::default() }
}

/// Events and DoH marks from a decoded block (Suricata's `handle_headers`); true when a DoH
/// GET request (`accept: application/dns-message`, `:path` `/dns-query?dns=BASE64`) was
/// decoded.
pub(super) fn header_events(tx: &mut Http2Tx, to_server: bool, b: &Block) -> bool {
    let mut authority: Option<&[u8]> = None;
    let mut host: Option<&[u8]> = None;
    let mut doh = false;
    let mut accept_dns = false;
    let mut path: Option<&[u8]> = None;
    for h in &b.headers {
        match h.name.as_slice() {
            b"content-type" if h.value == b"application/dns-message" => doh = true,
            b"accept" if h.value == b"application/dns-message" => accept_dns = true,
            b":path" => path = Some(&h.value),
            n if n.eq_ignore_ascii_case(b":authority") => {
                authority = Some(&h.value);
                if h.value.contains(&b'@') {
                    tx.events.raise(EV_USERINFO_IN_URI);
                }
            }
            n if n.eq_ignore_ascii_case(b"host") => host = Some(&h.value),
            _ => {}
        }
    }
    if let (Some(a), Some(h)) = (authority, host) {
        if !a.eq_ignore_ascii_case(h) {
            tx.events.raise(EV_AUTHORITY_HOST_MISMATCH);
        }
    }
    if doh {
        tx.side_mut(to_server).doh = true;
    }
    // Suricata decodes the dns= parameter as standard base64 without padding
    let query = path.and_then(|p| p.strip_prefix(b"/dns-query?dns="));
    if let (true, Some(q)) = (accept_dns, query) {
        use base64::Engine as _;
        if let Ok(raw) = base64::engine::general_purpose::STANDARD_NO_PAD.decode(q) {
            if let Ok(msg) = crate::app::dns::parse_message(&raw) {
                tx.doh[0] = Some(Box::new(doh_tx(tx.id, true, msg)));
                return true;
            }
        }
    }
    false
}
