//! The per-packet run: pick the group, scan the payload and stream chunks once, verify the
//! candidates in rule order, and the header and flow conditions they check.

use super::addresses::port_match;
use super::compile::transports_of;
use super::engine::{
    AlertHit, CompiledRule, DetectEngine, DetectScratch, FlowDetect, FlowInfo, StreamData, NO_TX, PACKET_ALERT_MAX,
    T_ICMP4, T_ICMP6, T_OTHER, T_TCP, T_UDP,
};
use super::flowbits::{flowbits_apply, flowbits_ok};
use super::run_rule::RunRule;
use super::threshold::shared_threshold;
use super::vars::{flowints_apply, flowints_ok};
use crate::app::AppProto;
use crate::decode::{flags as dflags, proto, Decoded};
use crate::detect::packet::match_packet;
use crate::detect::verify::{self, CapKind};
use crate::flow::FlowState;
use crate::metrics::{Counters, C};
use crate::output::eve::escape_into;
use crate::rule::ast::{
    Action, AppProtoMode, FlowCountDir, FlowCounter, PacketMatch, ProtoLayer, StreamSizeSide, Transport, MAX_VARS,
};

/// What inspection does after a rule matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AfterMatch {
    /// Go on with the next candidate.
    Next,
    /// Stop inspecting (a pass rule matched).
    Stop,
}

/// The transport index of a packet for the rule tables, or `None` when no rule applies (not
/// IP, or a transport header that did not decode).
fn transport_index(d: &Decoded) -> Option<usize> {
    if !d.is_ip() {
        return None;
    }
    Some(match d.proto {
        proto::TCP if d.has_l4() => T_TCP,
        proto::UDP if d.has_l4() => T_UDP,
        proto::ICMP if d.has_l4() => T_ICMP4,
        proto::ICMPV6 if d.has_l4() => T_ICMP6,
        proto::TCP | proto::UDP | proto::ICMP | proto::ICMPV6 => return None,
        _ => T_OTHER,
    })
}

/// Adds rule `r` to the candidates unless this generation has it already.
pub(super) fn add_candidate(stamp: &mut [u32], cands: &mut Vec<u32>, gen: u32, r: u32) {
    if let Some(st) = stamp.get_mut(r as usize) {
        if *st != gen {
            *st = gen;
            cands.push(r);
        }
    }
}

impl DetectScratch {
    /// Starts a new candidate list: a new generation of marks (cleared only when the counter
    /// wraps, not per packet).
    pub(super) fn begin_candidates(&mut self) -> u32 {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.iter_mut().for_each(|x| *x = 0);
            self.generation = 1;
        }
        self.candidates.clear();
        self.generation
    }
}

/// A packet's payload and the raw stream around it, as the payload keywords see them.
struct PayloadView<'a> {
    payload: &'a [u8],
    chunks: &'a [&'a [u8]],
    pseudo: bool,
    added: bool,
}

impl DetectEngine {
    /// Runs the rules on one packet; alerts are left in `s.alerts` in rule order.
    #[allow(clippy::too_many_arguments, reason = "the packet, its flow and its stream: one call per packet")]
    pub fn run(
        &self,
        s: &mut DetectScratch,
        frame: &[u8],
        d: &Decoded,
        ts_secs: u64,
        flow: Option<(&FlowInfo, &mut FlowDetect, u64)>,
        stream: Option<&StreamData<'_>>,
        c: &mut Counters,
    ) {
        s.alerts.clear();
        s.contexts.clear();
        s.pkt_vars.clear();
        s.verify.clear_rule();
        s.verify.datasets.publish(c);
        let pseudo = stream.is_some_and(|st| st.pseudo);
        let Some(t) = transport_index(d) else {
            if !d.events.is_empty() {
                self.run_decoder_events(s, frame, d, ts_secs, c);
            }
            return;
        };
        let (finfo, mut fstate, flow_hash) = match flow {
            Some((i, st, h)) => (Some(*i), Some(st), h),
            None => (None, None, 0),
        };
        if fstate.as_ref().is_some_and(|st| st.pass) {
            return;
        }
        let dir = match finfo {
            Some(f) if !f.to_server => 1,
            _ => 0,
        };
        let ip_only_due = match (&finfo, &fstate) {
            // In bounds: dir is 0 or 1 (match above).
            (Some(_), Some(st)) => !st.ip_only_done[dir],
            _ => true,
        } && !self.ip_only.is_empty()
            && !pseudo;
        let view = PayloadView {
            payload: if pseudo { &[][..] } else { d.payload(frame) },
            chunks: stream.map_or(&[], |st| st.chunks),
            pseudo,
            added: stream.is_some_and(|st| st.added),
        };
        if !self.packet_candidates(s, t, dir, d, &view, ip_only_due) {
            return;
        }
        let mut vars = [0i64; MAX_VARS];
        let mut i = 0;
        while i < s.candidates.len() {
            // In bounds: i < candidates.len() (loop condition).
            let rn = s.candidates[i];
            i += 1;
            if let Some(p) = s.profile.as_deref_mut() {
                p.check(rn);
            }
            // In bounds: candidates come from always_sets, pattern_rules and ip_index, which hold
            // indexes of self.rules.
            let cr = &self.rules[rn as usize];
            s.verify.clear_rule();
            let ok = self.packet_rule_matches(cr, t, frame, d, finfo.as_ref(), &view, &mut vars, s);
            match fstate.as_deref_mut() {
                Some(st) => st.take_entropy(&mut s.verify, super::metadata::ENTROPY_CONTENT),
                None => s.verify.entropy = Default::default(),
            }
            if !ok {
                continue;
            }
            let after = self.on_match(s, rn, d, ts_secs, fstate.as_deref_mut(), flow_hash, NO_TX, c);
            if after == AfterMatch::Stop {
                break;
            }
        }
        if let Some(p) = s.profile.as_deref_mut() {
            p.end(&s.alerts);
        }
        if let Some(st) = fstate {
            // In bounds: dir is 0 or 1 (match at the top).
            st.ip_only_done[dir] = true;
        }
    }

    /// Collects the candidates of a packet: the rules of its port without a fast pattern,
    /// the prefilter's hits in the payload and stream chunks, and the IP-only rules its
    /// addresses name when due. False when there is nothing to check.
    fn packet_candidates(
        &self,
        s: &mut DetectScratch,
        t: usize,
        dir: usize,
        d: &Decoded,
        view: &PayloadView<'_>,
        ip_only_due: bool,
    ) -> bool {
        // In bounds: t is one of the T_* values < T_COUNT (transport_index), dir is 0 or 1,
        // and pg's group indexes are indexes groups.push gave (finish).
        let pg = &self.tables[t][dir];
        let [g_pay, g_head] = (if view.added { pg.added } else { pg.group }).map(|g| &self.groups[g]);
        let [g_raw, g_raw_head] = pg.stream.map(|g| &self.groups[g]);
        let scan_pay = (g_pay.mpm.is_some() || g_head.mpm.is_some()) && !view.payload.is_empty();
        let scan_raw = (g_raw.mpm.is_some() || g_raw_head.mpm.is_some()) && !view.chunks.is_empty();
        let port_idx = if t == T_TCP || t == T_UDP { d.dp as usize } else { 0 };
        let always: &[u32] = match pg.by_port.get(port_idx).and_then(|&i| self.always_sets.get(i as usize)) {
            Some(a) => a,
            None => &[],
        };
        if !scan_pay && !scan_raw && always.is_empty() && !ip_only_due && d.events.is_empty() {
            return false;
        }
        let gen = s.begin_candidates();
        let DetectScratch { mpm, stamp, candidates, .. } = s;
        // a rule whose ports cannot be the packet's is not queued: its header would reject it
        // (the port spans are a dense table; the rule's header is a cache miss away)
        let ported = t == T_TCP || t == T_UDP;
        let (sp, dp) = (d.sp, d.dp);
        let port_ok = |r: u32| {
            !ported
                || self
                    .port_spans
                    .get(r as usize)
                    .is_none_or(|&[(sl, sh), (dl, dh)]| (sl..=sh).contains(&sp) && (dl..=dh).contains(&dp))
        };
        for &r in always {
            if port_ok(r) {
                add_candidate(stamp, candidates, gen, r);
            }
        }
        let pay = [(g_pay, view.payload), (g_head, view.payload)].into_iter().filter(|_| scan_pay);
        let raw = view.chunks.iter().flat_map(|&ch| [(g_raw, ch), (g_raw_head, ch)]).filter(|_| scan_raw);
        for (g, buf) in pay.chain(raw) {
            let Some(m) = &g.mpm else { continue };
            // a head group's patterns lie within its reach for their rules to match
            let buf = if g.reach > 0 { buf.get(..g.reach).unwrap_or(buf) } else { buf };
            m.scan(mpm, buf, &mut |pid| {
                for &r in g.pattern_rules.get(pid as usize).map_or(&[][..], |v| v.as_slice()) {
                    if port_ok(r) {
                        add_candidate(stamp, candidates, gen, r);
                    }
                }
            });
        }
        if ip_only_due {
            self.ip_index.candidates(d, &mut |r| add_candidate(stamp, candidates, gen, r));
        }
        for &e in d.events.codes() {
            for &r in self.event_rules.get(usize::from(e)).map_or(&[][..], |v| v.as_slice()) {
                add_candidate(stamp, candidates, gen, r);
            }
        }
        s.candidates.sort_unstable();
        true
    }

    /// A packet whose transport did not decode (or that is not IP) but carries decoder
    /// events: Suricata's decoder-event group, the rules that only test decoder events, for
    /// any protocol their header allows (the IP header's protocol when there is one).
    fn run_decoder_events(&self, s: &mut DetectScratch, frame: &[u8], d: &Decoded, ts_secs: u64, c: &mut Counters) {
        let gen = s.begin_candidates();
        let DetectScratch { stamp, candidates, .. } = s;
        for &e in d.events.codes() {
            for &r in self.event_rules.get(usize::from(e)).map_or(&[][..], |v| v.as_slice()) {
                // In bounds: event_rules hold indexes of self.rules.
                if self.rules[r as usize].de_only {
                    add_candidate(stamp, candidates, gen, r);
                }
            }
        }
        s.candidates.sort_unstable();
        let ip_t = if d.is_ip() {
            match d.proto {
                proto::TCP => Some(T_TCP),
                proto::UDP => Some(T_UDP),
                proto::ICMP => Some(T_ICMP4),
                proto::ICMPV6 => Some(T_ICMP6),
                _ => Some(T_OTHER),
            }
        } else {
            None
        };
        let mut i = 0;
        while i < s.candidates.len() {
            // In bounds: i < candidates.len() (loop condition).
            let rn = s.candidates[i];
            i += 1;
            // In bounds: candidates are indexes of self.rules (above).
            let cr = &self.rules[rn as usize];
            let r = &cr.rule;
            let proto_ok = r.proto.transport == crate::rule::ast::Transport::Ip
                || ip_t.is_some_and(|t| transports_of(r.proto.transport).contains(&t));
            let ports_any =
                r.src_ports.any && r.src_ports.exclude.is_empty() && r.dst_ports.any && r.dst_ports.exclude.is_empty();
            if !proto_ok || !ports_any || !header_ok(cr, T_OTHER, frame, d, None) {
                continue;
            }
            if self.on_match(s, rn, d, ts_secs, None, 0, NO_TX, c) == AfterMatch::Stop {
                break;
            }
        }
    }

    /// Whether a packet rule's header, flow and payload keywords match the packet (payload
    /// keywords on the raw stream chunks, then on the packet as Suricata falls back to it).
    #[allow(clippy::too_many_arguments, reason = "the rule, the packet and the scratch it verifies with")]
    fn packet_rule_matches(
        &self,
        cr: &CompiledRule,
        t: usize,
        frame: &[u8],
        d: &Decoded,
        finfo: Option<&FlowInfo>,
        view: &PayloadView<'_>,
        vars: &mut [i64; MAX_VARS],
        s: &mut DetectScratch,
    ) -> bool {
        if (cr.ip_only || cr.event.is_some()) && !transports_of(cr.rule.proto.transport).contains(&t) {
            return false;
        }
        if !header_ok(cr, t, frame, d, finfo) {
            return false;
        }
        if cr.payload.is_some() && finfo.is_some_and(|f| f.no_payload) {
            return false;
        }
        vars.iter_mut().for_each(|v| *v = 0);
        if !cr.pkt_lists.is_empty() && (view.pseudo || !packet_lists_match(cr, frame, d, vars, s)) {
            return false;
        }
        // variables the packet's buffers extracted are seen by the payload's keywords
        let base = *vars;
        let Some(pl) = &cr.payload else { return !view.pseudo };
        let insp = cr.insp;
        if insp.stream {
            for ch in view.chunks {
                *vars = base;
                if verify::inspect(pl, ch, vars, &mut s.verify) {
                    return true;
                }
            }
        }
        // Suricata's fallback to the packet (not for pseudo packets)
        if !view.pseudo && insp.on_packet(view.added) {
            *vars = base;
            return verify::inspect(pl, view.payload, vars, &mut s.verify);
        }
        false
    }

    /// A rule matched a packet or transaction (`tx`, [`NO_TX`] for packets): its flowbits,
    /// action, `noalert`, thresholds, the per-packet alert limit and duplicates decide whether
    /// it alerts.
    #[allow(clippy::too_many_arguments, reason = "the match and the state it changes")]
    pub(super) fn on_match(
        &self,
        s: &mut DetectScratch,
        rn: u32,
        d: &Decoded,
        ts_secs: u64,
        mut fstate: Option<&mut FlowDetect>,
        flow_hash: u64,
        tx: u64,
        c: &mut Counters,
    ) -> AfterMatch {
        // In bounds: rn is a candidate, an index of self.rules.
        let r = &self.rules[rn as usize].rule;
        if !r.flowints.is_empty() && r.flowints.iter().any(|f| !f.op.is_change()) {
            match fstate.as_deref() {
                Some(st) if flowints_ok(r, st) => {}
                _ => return AfterMatch::Next,
            }
        }
        if !r.xbits.is_empty() && !self.lock_xbits().check(r, d, ts_secs) {
            return AfterMatch::Next;
        }
        if !r.iprep.is_empty() {
            let Some(rep) = &self.reputation else { return AfterMatch::Next };
            if !r.iprep.iter().all(|ip| rep.check(ip, d)) {
                return AfterMatch::Next;
            }
        }
        if !r.flowbits.is_empty() {
            let Some(st) = fstate.as_deref_mut() else { return AfterMatch::Next };
            if !flowbits_ok(r, st) {
                return AfterMatch::Next;
            }
            flowbits_apply(r, st);
        }
        // post-match changes: made whether or not the rule alerts
        if let (false, Some(st)) = (r.flowints.is_empty(), fstate.as_deref_mut()) {
            flowints_apply(r, st);
        }
        if !s.verify.caps.is_empty() {
            commit_captures(s, fstate.as_deref_mut());
        }
        if !r.xbits.is_empty() {
            self.lock_xbits().apply(r, d, ts_secs, c);
        }
        if let Some(p) = s.profile.as_deref_mut() {
            p.matched(rn);
        }
        if r.action == Action::Pass {
            // Pass rules come first in rule order, so a packet has nothing queued yet; with a
            // flow, the whole flow is passed from here on.
            if tx == NO_TX {
                s.alerts.clear();
                s.contexts.clear();
            }
            if let Some(st) = fstate {
                st.pass = true;
            }
            return AfterMatch::Stop;
        }
        if r.noalert {
            return AfterMatch::Next;
        }
        let deferred = s.ordered && shared_threshold(r);
        if !deferred && !self.threshold_ok(rn, r, d, ts_secs, fstate, flow_hash, c) {
            return AfterMatch::Next;
        }
        // A deferred alert's threshold is decided later in packet order; a suppression does
        // not depend on order and applies now (threshold.config `suppress`).
        if deferred && !self.suppressions.is_empty() && self.suppressed(rn, d) {
            c.inc(C::DetectAlertsSuppressed);
            return AfterMatch::Next;
        }
        if s.alerts.len() >= PACKET_ALERT_MAX {
            c.inc(C::DetectAlertQueueOverflow);
            return AfterMatch::Next;
        }
        // a <> rule and its swapped copy alert once (per transaction)
        let dup = s.alerts.iter().any(|a| {
            // In bounds: alerts hold candidates, which are indexes of self.rules.
            let o = &self.rules[a.rule as usize].rule;
            o.sid == r.sid && o.gid == r.gid && a.tx == tx && a.frame == s.cur_frame
        });
        if !dup {
            let context = take_context(s);
            s.alerts.push(AlertHit { rule: rn, tx, deferred, frame: s.cur_frame, context });
        }
        AfterMatch::Next
    }
}

/// A matching rule's pcre captures (Suricata's post-match variables): packet variables go
/// to the packet's alerts, flow variables onto the flow.
fn commit_captures(s: &mut DetectScratch, mut fstate: Option<&mut FlowDetect>) {
    let DetectScratch { verify, pkt_vars, .. } = s;
    for (kind, name, value) in verify.caps.iter() {
        match kind {
            CapKind::Pkt => {
                if !pkt_vars.is_empty() {
                    pkt_vars.push(b',');
                }
                pkt_vars.push(b'{');
                escape_into(pkt_vars, name);
                pkt_vars.push(b':');
                escape_into(pkt_vars, value);
                pkt_vars.push(b'}');
            }
            CapKind::Flow => {
                if let Some(st) = fstate.as_deref_mut() {
                    st.set_var(name, value);
                }
            }
            CapKind::Alert => {}
        }
    }
    verify.caps.clear();
}

/// The `alert.context` of the rule that matched: the JSON set entries its inspection saw,
/// moved to the alerts' contexts.
fn take_context(s: &mut DetectScratch) -> (u32, u32) {
    if s.verify.context.is_empty() {
        return (0, 0);
    }
    let start = s.contexts.len();
    s.contexts.extend_from_slice(b",\"context\":{");
    s.contexts.extend_from_slice(&s.verify.context);
    s.contexts.push(b'}');
    s.verify.context.clear();
    (start as u32, s.contexts.len() as u32)
}

/// Whether a rule's lists on the packet's own buffers (`tcp.hdr`, ...) all match, in rule
/// order, sharing the rule's byte_extract/byte_math variables.
pub(super) fn packet_lists_match(
    cr: &CompiledRule,
    frame: &[u8],
    d: &Decoded,
    vars: &mut [i64; MAX_VARS],
    s: &mut DetectScratch,
) -> bool {
    let DetectScratch { verify: vs, xa, xb, .. } = s;
    cr.pkt_lists.iter().all(|l| match (l.buffer.get)(frame, d) {
        Some(b) => {
            let b = crate::detect::transform::apply(&l.xforms, b, xa, xb);
            verify::inspect(&l.list, b, vars, vs)
        }
        None => false,
    })
}

impl DetectEngine {
    fn lock_xbits(&self) -> std::sync::MutexGuard<'_, super::vars::XbitTable> {
        match self.xbits.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        }
    }
}

/// The per-packet part of a rule: addresses, ports, `flow`, header keywords, and the
/// app-layer protocol its header or `app-layer-protocol` names.
pub(super) fn header_ok(cr: &CompiledRule, t: usize, frame: &[u8], d: &Decoded, finfo: Option<&FlowInfo>) -> bool {
    let r = &cr.rule;
    let v6 = d.is_ipv6();
    match r.proto.layer {
        ProtoLayer::Ipv4 if !d.is_ip() || v6 => return false,
        ProtoLayer::Ipv6 if !v6 => return false,
        _ => {}
    }
    match r.proto.transport {
        Transport::Sctp if d.proto != proto::SCTP => return false,
        Transport::Igmp if d.proto != proto::IGMP || v6 => return false,
        _ => {}
    }
    if !cr.src.contains(&d.src, v6) || !cr.dst.contains(&d.dst, v6) {
        return false;
    }
    if (t == T_TCP || t == T_UDP) && (!port_match(&r.src_ports, d.sp) || !port_match(&r.dst_ports, d.dp)) {
        return false;
    }
    if !flow_ok(r, finfo, d) {
        return false;
    }
    if r.flow_start && !finfo.is_some_and(|f| f.first) {
        return false;
    }
    let proto = finfo.map_or(AppProto::Unknown, |f| f.app_proto);
    if let Some(p) = cr.app_proto {
        if !p.header_applies_to(r.proto.app.as_deref().unwrap_or(""), proto) {
            return false;
        }
    }
    r.packet.iter().all(|m| match m {
        PacketMatch::AppLayerProtocol { name, negated, mode, exact } => match finfo {
            Some(f) if !cr.pd_only || f.pd_done => app_layer_protocol(f, name, *negated, *mode, *exact),
            _ => false,
        },
        // Suricata: TCP packets of a flow with a session only.
        PacketMatch::StreamSize(side, cmp) => match finfo.and_then(|f| f.stream_size) {
            Some([client, server]) if d.proto == proto::TCP => {
                let (c, s) = (cmp.matches(client as u64), cmp.matches(server as u64));
                match side {
                    StreamSizeSide::Server => s,
                    StreamSizeSide::Client => c,
                    StreamSizeSide::Both => c && s,
                    StreamSizeSide::Either => c || s,
                }
            }
            _ => false,
        },
        // Suricata: any packet with a flow; the packet's own direction does not matter
        PacketMatch::FlowCount(what, dir, cmp) => finfo.is_some_and(|f| {
            let c = match what {
                FlowCounter::Pkts => f.pkts,
                FlowCounter::Bytes => f.bytes,
            };
            match dir {
                FlowCountDir::ToServer => cmp.matches(c[0]),
                FlowCountDir::ToClient => cmp.matches(c[1]),
                FlowCountDir::Either => cmp.matches(c[1]) || cmp.matches(c[0]),
            }
        }),
        // Suricata: any packet with a flow
        PacketMatch::FlowAge(cmp) => finfo.is_some_and(|f| cmp.matches(f.age_secs)),
        m => match_packet(m, frame, d),
    })
}

/// `app-layer-protocol`: the flow's protocol `mode` names (a direction's own protocol once
/// that direction was looked at, `failed` when it named none; before, the flow's) is one of `names` (Suricata's
/// `AppProtoEquals`: `dns` covers DoH2, `http` both versions ...; `exact`: that protocol
/// itself). Nothing is known before identification ends: no match either way.
fn app_layer_protocol(f: &FlowInfo, names: &str, negated: bool, mode: AppProtoMode, exact: bool) -> bool {
    let dir = |d: usize| match f.dir_proto[d] {
        AppProto::Unknown => f.app_proto,
        p => p,
    };
    let (a, b) = match mode {
        AppProtoMode::Direction => (dir(usize::from(!f.to_server)), None),
        AppProtoMode::ToServer => (dir(0), None),
        AppProtoMode::ToClient => (dir(1), None),
        AppProtoMode::Either => (dir(0), Some(dir(1))),
        AppProtoMode::Final => (f.app_proto, None),
        AppProtoMode::Original => (f.orig_proto, None),
    };
    let one = |flow: AppProto| {
        if flow == AppProto::Unknown {
            return None;
        }
        let hit = names.split('|').any(|n| AppProto::keyword_matches(n, flow, exact));
        Some(hit != negated)
    };
    match (one(a), b.and_then(one)) {
        (Some(x), Some(y)) => x || y,
        (Some(x), None) | (None, Some(x)) => x,
        (None, None) => false,
    }
}

pub(super) fn flow_ok(r: &RunRule, f: Option<&FlowInfo>, d: &Decoded) -> bool {
    let o = &r.flow;
    if *o == Default::default() {
        return true;
    }
    let frag = d.flags & dflags::FRAGMENT != 0;
    if o.only_frag && !frag || o.no_frag && frag {
        return false;
    }
    let Some(f) = f else {
        return !(o.to_server || o.to_client || o.established || o.not_established) || o.stateless;
    };
    if o.to_server && !f.to_server || o.to_client && f.to_server {
        return false;
    }
    let est = if d.proto == proto::TCP { f.tcp_established } else { f.state == FlowState::Established };
    if o.established && !est {
        return false;
    }
    if o.not_established && est {
        return false;
    }
    true
}
