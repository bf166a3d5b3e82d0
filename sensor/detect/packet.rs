//! Packet: a rule's header keywords against one decoded packet.
//!
//! The keywords are rows of the rule language's keyword table, each with its parse and its
//! test (see `rule/keywords/packet/`): a loaded rule holds every header keyword bound to its
//! test, so checking one is one indirect call, with no lookup by name and no allocation.
//! `app-layer-protocol` and `stream_size` need the flow's protocol or TCP session: they are
//! true here and the engine decides them.

use crate::decode::Decoded;
use crate::rule::ast::PacketMatch;

/// Whether the packet satisfies one header keyword.
#[inline]
pub(crate) fn match_packet(m: &PacketMatch, frame: &[u8], d: &Decoded) -> bool {
    m.matches(frame, d)
}
