//! Flow and state keywords: `flow` (direction and state), `flowbits`, `noalert`,
//! `threshold` and `detection_filter` (Suricata's `detect-flow.c`, `detect-flowbits.c`,
//! `detect-threshold.c`). The detection engine evaluates them with the flow's state.

use super::{suricata_doc, Arg, Keyword, Kind};
use crate::rule::ast::{FlowOpts, FlowbitCmd, FlowbitJoin, Threshold, ThresholdType, Track, UniqueOn};
use crate::rule::parse::{bad, shorten, unquote, Builder, Env, PResult, PendingFlowbit};

use Arg::{None as N, Required as R};
use Kind::Flow;

/// The flow and state keywords.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule(
        "flow",
        Flow,
        R,
        flow,
        "direction (to_server, to_client) and state (established, ...) of the packet's flow",
        suricata_doc!("flow-keywords.html#flow"),
    ),
    Keyword::rule(
        "flowbits",
        Flow,
        R,
        |b, _, kw, v| b.flowbits_kw(kw, unquote(v.unwrap_or(""))),
        "sets, clears or tests named bits kept on the flow, across rules",
        suricata_doc!("flow-keywords.html#flowbits"),
    ),
    Keyword::rule(
        "noalert",
        Flow,
        N,
        |b, _, _, _| {
            b.noalert = true;
            Ok(())
        },
        "the rule gives no alert (it still sets its flowbits)",
        suricata_doc!("noalert.html"),
    ),
    Keyword::rule(
        "threshold",
        Flow,
        R,
        threshold,
        "limits how often the rule alerts (limit, threshold, both, backoff), per source, destination, rule or flow",
        suricata_doc!("thresholding.html#threshold"),
    ),
    Keyword::rule(
        "detection_filter",
        Flow,
        R,
        threshold,
        "the rule alerts only once it has matched a number of times within some seconds",
        suricata_doc!("thresholding.html#detection-filter"),
    ),
];

fn flow(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or(""));
    if b.flow_full {
        return Err(bad(kw, "a rule may have only one flow option"));
    }
    let opts: Vec<&str> = s.split(',').map(str::trim).collect();
    if opts.is_empty() || opts.len() > 3 || opts.iter().any(|o| o.is_empty()) {
        return Err(bad(kw, format!("invalid options '{}' (one to three)", shorten(s))));
    }
    let mut f = FlowOpts::default();
    for o in &opts {
        let conflict = |why: &str| Err(bad(kw, format!("'{o}' {why}")));
        match o.to_ascii_lowercase().as_str() {
            "established" => {
                if f.established || f.stateless || f.not_established {
                    return conflict("conflicts with another state option");
                }
                f.established = true;
            }
            "not_established" => {
                if f.not_established || f.established {
                    return conflict("conflicts with another state option");
                }
                f.not_established = true;
            }
            "stateless" => {
                if f.stateless || f.established {
                    return conflict("conflicts with another state option");
                }
                f.stateless = true;
            }
            "to_server" | "from_client" => {
                if f.to_server || f.to_client {
                    return conflict("conflicts with another direction");
                }
                f.to_server = true;
            }
            "to_client" | "from_server" => {
                if f.to_server || f.to_client {
                    return conflict("conflicts with another direction");
                }
                f.to_client = true;
            }
            "only_stream" => {
                if f.only_stream || f.no_stream {
                    return conflict("conflicts with only_stream/no_stream");
                }
                f.only_stream = true;
            }
            "no_stream" => {
                if f.only_stream || f.no_stream {
                    return conflict("conflicts with only_stream/no_stream");
                }
                f.no_stream = true;
            }
            "only_frag" => {
                if f.only_frag || f.no_frag {
                    return conflict("conflicts with only_frag/no_frag");
                }
                f.only_frag = true;
            }
            "no_frag" => {
                if f.only_frag || f.no_frag {
                    return conflict("conflicts with only_frag/no_frag");
                }
                f.no_frag = true;
            }
            _ => return Err(bad(kw, format!("invalid flow option '{}'", shorten(o)))),
        }
    }
    // Suricata: a flow with only a direction leaves room for another flow keyword.
    let direction_only = FlowOpts { to_server: f.to_server, to_client: f.to_client, ..Default::default() };
    if f != direction_only || f.no_stream {
        b.flow_full = true;
    }
    if let Some(old) = &b.flow {
        if (old.to_server && f.to_client) || (old.to_client && f.to_server) {
            return Err(bad(kw, "conflicting directions"));
        }
        f.to_server |= old.to_server;
        f.to_client |= old.to_client;
    }
    b.flow = Some(f);
    Ok(())
}

/// `threshold` and `detection_filter`: at most one of them per rule.
fn threshold(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let s = unquote(v.unwrap_or(""));
    if b.threshold.is_some() || b.detection_filter.is_some() {
        return Err(bad(kw, "only one threshold or detection_filter per rule"));
    }
    let t = parse_threshold(kw, s)?;
    if kw == "threshold" {
        b.threshold = Some(t);
    } else {
        b.detection_filter = Some(t);
    }
    Ok(())
}

impl Builder {
    fn flowbits_kw(&mut self, kw: &str, s: &str) -> PResult<()> {
        let (cmd, name) = match s.split_once(',') {
            Some((c, n)) => (c, n.trim()),
            None => (s, ""),
        };
        if cmd.is_empty() || !cmd.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(bad(kw, format!("'{}' is not a valid setting", shorten(s))));
        }
        let cmd = match cmd {
            "noalert" => {
                if !name.is_empty() {
                    return Err(bad(kw, "noalert takes no name"));
                }
                self.noalert = true;
                return Ok(());
            }
            "set" => FlowbitCmd::Set,
            "setother" => FlowbitCmd::SetOther,
            "unset" => FlowbitCmd::Unset,
            "toggle" => FlowbitCmd::Toggle,
            "isset" => FlowbitCmd::IsSet,
            "isnotset" => FlowbitCmd::IsNotSet,
            c => return Err(bad(kw, format!("'{}' is not a flowbits command", shorten(c)))),
        };
        if name.is_empty() {
            return Err(bad(kw, "needs a flowbit name"));
        }
        if name.len() > 255 {
            return Err(bad(kw, "flowbit name longer than 255 characters"));
        }
        let (join, sep) = match (name.contains('|'), name.contains('&')) {
            (true, true) => return Err(bad(kw, "can't mix '|' and '&'")),
            (true, false) => (FlowbitJoin::Any, Some('|')),
            (false, true) => (FlowbitJoin::All, Some('&')),
            (false, false) => (FlowbitJoin::All, None),
        };
        if join == FlowbitJoin::Any && !matches!(cmd, FlowbitCmd::IsSet | FlowbitCmd::IsNotSet) {
            return Err(bad(kw, "'|' is only allowed with isset and isnotset"));
        }
        let names: Vec<String> = match sep {
            Some(c) => name.split(c).map(str::trim).filter(|n| !n.is_empty()).map(String::from).collect(),
            None => vec![name.to_string()],
        };
        if names.is_empty() {
            return Err(bad(kw, "no valid flowbit names"));
        }
        if names.iter().any(|n| n.contains(char::is_whitespace)) {
            return Err(bad(kw, "spaces are not allowed in flowbit names"));
        }
        self.flowbits.push(PendingFlowbit { cmd, names, join });
        Ok(())
    }
}

/// `threshold` / `detection_filter`: comma-separated `name value` pairs, each once.
fn parse_threshold(kw: &str, s: &str) -> PResult<Threshold> {
    let (mut kind, mut track, mut count, mut seconds, mut multiplier) = (None, None, None, None, None);
    let mut unique_on = None;
    for part in s.split(',') {
        let part = part.trim();
        let Some((name, val)) = part.split_once(char::is_whitespace) else {
            return Err(bad(kw, format!("invalid option '{}'", shorten(part))));
        };
        let val = val.trim();
        let dup = || bad(kw, format!("'{name}' given twice"));
        let num = || val.parse::<u32>().map_err(|_| bad(kw, format!("invalid number '{}'", shorten(val))));
        match name.to_ascii_lowercase().as_str() {
            "type" if kw == "threshold" => {
                let t = match val.to_ascii_lowercase().as_str() {
                    "limit" => ThresholdType::Limit,
                    "threshold" => ThresholdType::Threshold,
                    "both" => ThresholdType::Both,
                    "backoff" => ThresholdType::Backoff,
                    _ => return Err(bad(kw, format!("unknown type '{}'", shorten(val)))),
                };
                if kind.replace(t).is_some() {
                    return Err(dup());
                }
            }
            "track" => {
                let t = match val.to_ascii_lowercase().as_str() {
                    "by_src" => Track::BySrc,
                    "by_dst" => Track::ByDst,
                    "by_rule" => Track::ByRule,
                    "by_both" => Track::ByBoth,
                    "by_flow" => Track::ByFlow,
                    _ => return Err(bad(kw, format!("unknown track '{}'", shorten(val)))),
                };
                if track.replace(t).is_some() {
                    return Err(dup());
                }
            }
            "count" => {
                if count.replace(num()?).is_some() {
                    return Err(dup());
                }
            }
            "seconds" => {
                if seconds.replace(num()?).is_some() {
                    return Err(dup());
                }
            }
            "unique_on" if kw == "detection_filter" => {
                let u = match val.to_ascii_lowercase().as_str() {
                    "src_port" => UniqueOn::SrcPort,
                    "dst_port" => UniqueOn::DstPort,
                    _ => return Err(bad(kw, format!("unique_on '{}' is not src_port or dst_port", shorten(val)))),
                };
                if unique_on.replace(u).is_some() {
                    return Err(dup());
                }
            }
            "multiplier" if kw == "threshold" => {
                if multiplier.replace(num()?).is_some() {
                    return Err(dup());
                }
            }
            _ => return Err(bad(kw, format!("unknown option '{}'", shorten(name)))),
        }
    }
    let kind =
        if kw == "threshold" { kind.ok_or_else(|| bad(kw, "needs a type"))? } else { ThresholdType::DetectionFilter };
    let track = track.ok_or_else(|| bad(kw, "needs a track"))?;
    let count = count.ok_or_else(|| bad(kw, "needs a count"))?;
    if kind == ThresholdType::Backoff {
        if seconds.is_some() {
            return Err(bad(kw, "type backoff takes a multiplier, not seconds"));
        }
        if track != Track::ByFlow {
            return Err(bad(kw, "type backoff is only supported with track by_flow"));
        }
        let m = multiplier.ok_or_else(|| bad(kw, "type backoff needs a multiplier"))?;
        if count == 0 || m == 0 {
            return Err(bad(kw, "count and multiplier must be above 0"));
        }
        return Ok(Threshold { kind, track, count, seconds: 0, multiplier: m, unique_on: None });
    }
    if multiplier.is_some() {
        return Err(bad(kw, "multiplier is only for type backoff"));
    }
    let seconds = seconds.ok_or_else(|| bad(kw, "needs seconds"))?;
    if kind == ThresholdType::DetectionFilter && count == 0 {
        return Err(bad(kw, "count must be above 0"));
    }
    Ok(Threshold { kind, track, count, seconds, multiplier: 1, unique_on })
}

#[cfg(test)]
mod tests {
    use crate::rule::ast::*;
    use crate::rule::parse::parse_rule;
    use crate::rule::parse::testing::*;

    #[test]
    fn flow_options() {
        let r = ok("flow:established,to_server;");
        assert!(r.flow.established && r.flow.to_server && !r.flow.to_client);
        let r = ok("flow:from_server,not_established,only_stream;");
        assert!(r.flow.to_client && r.flow.not_established && r.flow.only_stream);
        let r = ok("flow:stateless,no_frag,no_stream;");
        assert!(r.flow.stateless && r.flow.no_frag && r.flow.no_stream);
        for bad in [
            "flow:to_server,to_client;",
            "flow:established,not_established;",
            "flow:established,stateless;",
            "flow:only_stream,no_stream;",
            "flow:only_frag,no_frag;",
            "flow:established,established;",
            "flow:sideways;",
            "flow:established,to_server,no_stream,no_frag;",
            "flow:established; flow:to_server;",
        ] {
            bad_value(bad, "flow");
        }
    }

    #[test]
    fn flowbits() {
        let mut c = ctx();
        let r = parse_rule("alert tcp any any -> any any (flowbits:set,a; flowbits:isset,b|a; flowbits:unset,c&a; flowbits:isnotset, x | y ; flowbits:noalert; sid:1;)", keywords(), &mut c).unwrap();
        assert!(r.noalert);
        assert_eq!(r.flowbits[0], Flowbit { cmd: FlowbitCmd::Set, bits: vec![0], join: FlowbitJoin::All });
        assert_eq!(r.flowbits[1], Flowbit { cmd: FlowbitCmd::IsSet, bits: vec![1, 0], join: FlowbitJoin::Any });
        assert_eq!(r.flowbits[2], Flowbit { cmd: FlowbitCmd::Unset, bits: vec![2, 0], join: FlowbitJoin::All });
        assert_eq!(r.flowbits[3].bits, vec![3, 4]);
        assert_eq!(c.clone().into_var_names().flowbits, ["a", "b", "c", "x", "y"]);
        // A rule that fails interns nothing.
        assert!(
            parse_rule("alert tcp any any -> any any (flowbits:set,zzz; nope; sid:2;)", keywords(), &mut c).is_err()
        );
        assert_eq!(c.clone().into_var_names().flowbits.len(), 5);
        let r = parse_rule(
            "alert tcp any any -> any any (flowbits:toggle,b; flowbits:setother,q; noalert; sid:3;)",
            keywords(),
            &mut c,
        )
        .unwrap();
        assert_eq!((r.flowbits[0].cmd, r.flowbits[1].cmd, r.noalert), (FlowbitCmd::Toggle, FlowbitCmd::SetOther, true));
        for bad in [
            "flowbits:set;",
            "flowbits:flip,a;",
            "flowbits:set,a|b;",
            "flowbits:isset,a|b&c;",
            "flowbits:isset,a b;",
            "flowbits:noalert,a;",
            "flowbits:SET,a;",
        ] {
            bad_value(bad, "flowbits");
        }
    }

    #[test]
    fn thresholds() {
        let r = ok("threshold: type limit, track by_src, count 1, seconds 60;");
        assert_eq!(
            r.threshold,
            Some(Threshold {
                kind: ThresholdType::Limit,
                track: Track::BySrc,
                count: 1,
                seconds: 60,
                multiplier: 1,
                unique_on: None
            })
        );
        let r = ok("threshold:seconds 5,count 3,track by_rule,type both;");
        assert_eq!(r.threshold.map(|t| (t.kind, t.track)), Some((ThresholdType::Both, Track::ByRule)));
        let r = ok("threshold:type backoff, track by_flow, count 1, multiplier 10;");
        assert_eq!(
            r.threshold,
            Some(Threshold {
                kind: ThresholdType::Backoff,
                track: Track::ByFlow,
                count: 1,
                seconds: 0,
                multiplier: 10,
                unique_on: None
            })
        );
        let r = ok("detection_filter:track by_dst, count 10, seconds 60;");
        assert_eq!(r.detection_filter.map(|t| (t.kind, t.count)), Some((ThresholdType::DetectionFilter, 10)));
        let r = ok("detection_filter: track by_dst, count 1, seconds 60, unique_on dst_port;");
        assert_eq!(r.detection_filter.and_then(|t| t.unique_on), Some(UniqueOn::DstPort));
        bad_value("detection_filter: track by_dst, count 1, seconds 60, unique_on port;", "detection_filter");
        bad_value("threshold: type limit, track by_dst, count 1, seconds 60, unique_on dst_port;", "threshold");
        bad_value("threshold:type limit, track by_src, count 1;", "threshold");
        bad_value("threshold:type limit, track by_src, count 1, seconds 1, count 2;", "threshold");
        bad_value("threshold:type sometimes, track by_src, count 1, seconds 1;", "threshold");
        bad_value("threshold:type backoff, track by_src, count 1, multiplier 2;", "threshold");
        bad_value("threshold:type backoff, track by_flow, count 1, seconds 2;", "threshold");
        bad_value("threshold:type limit, track by_src, count 1, seconds 1, multiplier 2;", "threshold");
        bad_value("threshold:type limit, track by_src, count x, seconds 1;", "threshold");
        bad_value("detection_filter:track by_src, count 1, seconds 1; threshold:type limit, track by_src, count 1, seconds 1;", "threshold");
    }
}
