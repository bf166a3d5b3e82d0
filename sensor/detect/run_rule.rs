//! What detection reads of a parsed rule once it is compiled: the header, the state keywords
//! and the identity, without the payload lists (compiled into [`super::engine::CompiledRule`]),
//! the addresses (compiled into its address sets), the alert's EVE text (rendered once) and the
//! parse tree's other fields. A [`Rule`] is 664 bytes; this is about half, with the lists
//! boxed to their length: ET Open's engine keeps one per rule (24,818), so every byte here
//! is 25 KB of the sensor's memory.

use crate::rule::ast::{Action, FlowOpts, Flowbit, Flowint, Iprep, Origin, PacketMatch, PortSet, Rule, RuleProto};
use crate::rule::ast::{Threshold, Xbit};

/// The run-time part of a parsed rule (field names as in [`Rule`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRule {
    /// `sid`
    pub sid: u32,
    /// `gid`
    pub gid: u32,
    /// `rev`
    pub rev: u32,
    /// Action.
    pub action: Action,
    /// Priority: `priority`, else the classtype's, else 3.
    pub priority: u8,
    /// `flowbits:noalert` or `noalert` (or a `suppress` of threshold.config).
    pub noalert: bool,
    /// `<>`
    pub bidirectional: bool,
    /// The `flow_start` packet hook: only the flow's first packet.
    pub flow_start: bool,
    /// `flow`
    pub flow: FlowOpts,
    /// Header protocol.
    pub proto: RuleProto,
    /// Source ports.
    pub src_ports: PortSet,
    /// Destination ports.
    pub dst_ports: PortSet,
    /// Header keywords.
    pub packet: Box<[PacketMatch]>,
    /// `flowbits` (not counting `noalert`).
    pub flowbits: Box<[Flowbit]>,
    /// `flowint`, in rule order.
    pub flowints: Box<[Flowint]>,
    /// `hostbits` and `xbits`, in rule order.
    pub xbits: Box<[Xbit]>,
    /// `iprep`, in rule order.
    pub iprep: Box<[Iprep]>,
    /// `threshold` (or threshold.config's)
    pub threshold: Option<Threshold>,
    /// `detection_filter`
    pub detection_filter: Option<Threshold>,
    /// `msg` (for `picket bench --profile`; the alert's is in the rendered EVE text).
    pub msg: Box<str>,
    /// Where the rule came from.
    pub origin: Origin,
}

impl RunRule {
    /// Keeps what detection reads of `r` (its lists without growth slack).
    pub(super) fn of(r: Rule) -> RunRule {
        let Rule {
            action,
            proto,
            src_ports,
            bidirectional,
            flow_start,
            dst_ports,
            sid,
            gid,
            rev,
            msg,
            priority,
            flow,
            flowbits,
            noalert,
            flowints,
            xbits,
            iprep,
            threshold,
            detection_filter,
            packet,
            origin,
            ..
        } = r;
        RunRule {
            sid,
            gid,
            rev,
            action,
            priority,
            noalert,
            bidirectional,
            flow_start,
            flow,
            proto: RuleProto {
                app: proto.app.map(|mut a| {
                    a.shrink_to_fit();
                    a
                }),
                ..proto
            },
            src_ports: tight_ports(src_ports),
            dst_ports: tight_ports(dst_ports),
            packet: packet.into_boxed_slice(),
            flowbits: flowbits.into_boxed_slice(),
            flowints: flowints.into_boxed_slice(),
            xbits: xbits.into_boxed_slice(),
            iprep: iprep.into_boxed_slice(),
            threshold,
            detection_filter,
            msg: msg.into_boxed_str(),
            origin,
        }
    }
}

fn tight_ports(mut p: PortSet) -> PortSet {
    p.include.shrink_to_fit();
    p.exclude.shrink_to_fit();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_detection_reads() {
        let keywords = crate::rule::Keywords::new(crate::app::keywords());
        let text = "alert tcp any [1024:65535,!2000] -> any 80 (msg:\"m\"; flow:to_server,established; \
                    flowbits:set,a; flowbits:noalert; dsize:>10; threshold:type limit,track by_src,count 1,seconds 60; \
                    content:\"x\"; sid:7; rev:3; priority:2;)";
        let r = crate::rule::parse_rule(text, &keywords, &mut crate::rule::ParseContext::new(&Default::default()))
            .expect("rule parses");
        let rr = RunRule::of(r.clone());
        assert_eq!((rr.sid, rr.gid, rr.rev, rr.priority, rr.noalert), (7, 1, 3, 2, true));
        assert_eq!((&*rr.msg, rr.flow, rr.action), ("m", r.flow, r.action));
        assert_eq!((&rr.src_ports, &rr.dst_ports, &rr.proto), (&r.src_ports, &r.dst_ports, &r.proto));
        assert_eq!((&*rr.packet, &*rr.flowbits, rr.threshold), (&r.packet[..], &r.flowbits[..], r.threshold));
        assert!(
            std::mem::size_of::<RunRule>() * 2 <= std::mem::size_of::<Rule>() + 16,
            "{}",
            std::mem::size_of::<RunRule>()
        );
    }
}
