//! Event keywords: `decode-event`, `stream-event`, `engine-event` and `app-layer-event`
//! (Suricata's `detect-engine-event.c`, `detect-app-layer-event.c`). A packet carries the
//! events raised on it ([`crate::decode::Events`]: the decoder's, the stream engine's and
//! protocol detection's); these keywords test that list. `app-layer-event` with a protocol
//! (`app-layer-event:http.too_many_encoding_layers`) names an event of a protocol's
//! transactions instead: it is kept as written for the detection engine, which finds the
//! event in the protocol's table, and makes the rule a rule of that protocol.

use super::super::{suricata_doc, Arg, Keyword, Kind};
use crate::decode::event::{Event, Layer};
use crate::decode::Decoded;
use crate::rule::ast::{HeaderMatch, HeaderValue, PacketMatch};
use crate::rule::parse::header::app_proto;
use crate::rule::parse::{bad, shorten, unquote, Builder, Env, PErr, PResult};
use crate::rule::ErrorKind;

use Arg::Required as R;

/// The keyword name a transaction event is kept under in `Rule::app_values`.
pub const APP_LAYER_EVENT: &str = "app-layer-event";

/// The event keywords.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::header(
        "decode-event",
        R,
        |s| parse_event(s, "decoder.", Layer::Decode),
        has_event,
        "an anomaly the packet decoder found on the packet (ipv4.trunc_pkt, tcp.hlen_too_small, ...)",
        suricata_doc!("decode-layer.html#decode-event"),
    ),
    Keyword::header(
        "stream-event",
        R,
        parse_stream_event,
        has_event,
        "an anomaly the TCP stream engine found on the packet (3whs_syn_flood, suspected_rst_inject, ...)",
        suricata_doc!("decode-layer.html#stream-event"),
    ),
    Keyword::header(
        "engine-event",
        R,
        |s| parse_event(s, "", Layer::Decode).or_else(|_| parse_event(s, "", Layer::Stream)),
        has_event,
        "a decoder or stream anomaly on the packet, by its full name (decoder.ipv4.trunc_pkt)",
        suricata_doc!("decode-layer.html"),
    ),
    Keyword::rule(
        APP_LAYER_EVENT,
        Kind::Packet,
        R,
        app_layer_event,
        "an event protocol detection raised on the packet (applayer_*), or a protocol's parser on the transaction (http.<event>)",
        suricata_doc!("app-layer.html#app-layer-event"),
    ),
];

/// The test of every event keyword: the packet lists the event.
fn has_event(v: &HeaderValue, _: &[u8], d: &Decoded) -> bool {
    matches!(v, HeaderValue::Event(code) if d.events.has_code(*code))
}

/// `prefix` + the value names an event of `layer` (Suricata's names, case-insensitive).
fn parse_event(s: &str, prefix: &str, layer: Layer) -> Result<HeaderValue, String> {
    let full = format!("{prefix}{s}");
    Event::from_name(&full)
        .filter(|e| e.layer() == layer)
        .map(|e| HeaderValue::Event(e.code()))
        .ok_or_else(|| format!("unknown event '{}'", shorten(&full)))
}

/// `stream-event`: the stream engine's events, with Suricata's two older spellings.
fn parse_stream_event(s: &str) -> Result<HeaderValue, String> {
    let s = match s {
        "est_synack_resend_with_different_ack" => "est_synack_resend_with_diff_ack",
        "3whs_synack_resend_with_different_ack" => "3whs_synack_resend_with_diff_ack",
        other => other,
    };
    parse_event(s, "stream.", Layer::Stream)
}

/// Transaction events Suricata no longer raises (it skips rules naming them).
const OUTDATED: &[&str] =
    &["tls.certificate_missing_element", "tls.certificate_unknown_element", "tls.certificate_invalid_string"];

fn app_layer_event(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or("")).trim();
    let Some((proto, name)) = s.split_once('.') else {
        // a packet event of protocol detection
        let e = Event::from_name(s)
            .filter(|e| e.layer() == Layer::AppLayer)
            .ok_or_else(|| bad(kw, format!("unknown app-layer packet event '{}'", shorten(s))))?;
        let test = has_event as crate::rule::ast::HeaderTest;
        b.packet.push(PacketMatch::Header(HeaderMatch::new(APP_LAYER_EVENT, HeaderValue::Event(e.code()), test)));
        return Ok(());
    };
    if s.len() > 50 {
        return Err(bad(kw, "too long or malformed"));
    }
    if name.is_empty() {
        return Err(bad(kw, format!("no event name after '{}.'", shorten(proto))));
    }
    if OUTDATED.iter().any(|o| o.eq_ignore_ascii_case(s)) {
        return Err(PErr {
            kind: ErrorKind::Unsupported(format!("app-layer-event {s}")),
            msg: format!("{kw}: event {s} is no longer raised"),
        });
    }
    let Some((canon, _)) = app_proto(proto) else {
        return Err(bad(kw, format!("unknown protocol '{}'", shorten(proto))));
    };
    b.claim_app(kw, s, Some(canon))?;
    b.app_values.push((APP_LAYER_EVENT.to_string(), format!("{canon}.{name}")));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::decode::event::Event;
    use crate::rule::ast::*;
    use crate::rule::parse::testing::*;
    use crate::rule::ErrorKind;

    #[test]
    fn event_keywords_parse_to_event_codes() {
        let r = ok("decode-event:ipv4.trunc_pkt; stream-event:3whs_syn_flood; engine-event:decoder.tcp.pkt_too_small;");
        assert_eq!(
            r.packet,
            vec![
                hm("decode-event", HeaderValue::Event(Event::Ipv4TruncPkt.code())),
                hm("stream-event", HeaderValue::Event(Event::Stream3whsSynFlood.code())),
                hm("engine-event", HeaderValue::Event(Event::TcpPktTooSmall.code())),
            ]
        );
        let r = ok("stream-event:est_synack_resend_with_different_ack; decode-event:IPv6.Frag_Overlap;");
        assert_eq!(
            r.packet[0],
            hm("stream-event", HeaderValue::Event(Event::StreamEstSynackResendWithDifferentAck.code()))
        );
        assert_eq!(r.packet[1], hm("decode-event", HeaderValue::Event(Event::Ipv6FragOverlap.code())));
        bad_value("decode-event:ipv4.nope;", "decode-event");
        bad_value("decode-event:3whs_syn_flood;", "decode-event");
        bad_value("stream-event:ipv4.trunc_pkt;", "stream-event");
    }

    #[test]
    fn app_layer_events_of_packets_and_of_transactions() {
        let r = ok("app-layer-event:applayer_mismatch_protocol_both_directions;");
        let code = Event::ApplayerMismatchProtocolBothDirections.code();
        assert!(
            matches!(&r.packet[..], [PacketMatch::Header(h)] if h.keyword == "app-layer-event" && h.value == HeaderValue::Event(code))
        );
        let r = p("alert tcp any any -> any any (app-layer-event:http.too_many_encoding_layers; sid:1;)").unwrap();
        assert_eq!(r.app_values, vec![("app-layer-event".to_string(), "http.too_many_encoding_layers".to_string())]);
        assert!(r.packet.is_empty());
        // the event's protocol is the rule's
        assert!(p("alert dns any any -> any any (app-layer-event:http.x; sid:1;)").is_err());
        bad_value("app-layer-event:nope.x;", "app-layer-event");
        bad_value("app-layer-event:applayer_nope;", "app-layer-event");
        let e = err("app-layer-event:tls.certificate_missing_element;");
        assert_eq!(e.kind, ErrorKind::Unsupported("app-layer-event tls.certificate_missing_element".into()));
    }

    #[test]
    fn events_match_the_packets_list() {
        let f = tcp_frame(|b| b, b"x");
        let mut d = decode(&f);
        let m = hm("decode-event", HeaderValue::Event(Event::Ipv4TruncPkt.code()));
        assert!(!m.matches(&f, &d));
        d.events.push(Event::Ipv4TruncPkt);
        assert!(m.matches(&f, &d));
        // a truncated frame lists the decoder's event itself
        let short = &f[..f.len() - 1];
        assert!(m.matches(short, &decode(short)));
    }
}
