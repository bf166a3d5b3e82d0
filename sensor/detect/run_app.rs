//! Transaction inspection: app-layer rules against the transactions of a flow, prefiltered
//! on the buffers that are ready, verified once per transaction.

use super::engine::{DetectEngine, DetectScratch, FlowDetect, FlowInfo, T_OTHER, T_TCP, T_UDP};
use super::run::{add_candidate, header_ok, packet_lists_match, AfterMatch};
use crate::app::files::files_mark;
use crate::app::{reaches, AppProto, FlowApp, Transaction, TxInspStates, PROGRESS_DONE};
use crate::decode::{proto, Decoded};
use crate::detect::app::{self, AppRule, ListTarget};
use crate::detect::metadata::{entropy_key, ENTROPY_CONTENT};
use crate::detect::transform;
use crate::detect::verify::{self};
use crate::metrics::{Counters, C};
use crate::rule::ast::MAX_VARS;

/// The one "transaction" of a flow whose protocol has no parser: rules that name only the
/// protocol match it.
pub(super) struct NoTx;

impl Transaction for NoTx {
    fn id(&self) -> u64 {
        0
    }
    fn progress(&self) -> [u8; 2] {
        [PROGRESS_DONE; 2]
    }
    fn write_alert_eve(&self, _: &mut crate::output::eve::Json<'_>) {}
}

/// What a transaction inspection needs to know about the packet and the rule group.
pub(super) struct TxCtx<'a> {
    pub(super) g: &'a app::Group,
    pub(super) proto: AppProto,
    pub(super) dir: u8,
    pub(super) t: usize,
    pub(super) frame: &'a [u8],
    pub(super) d: &'a Decoded,
    /// TCP: the raw stream blocks due with this packet.
    pub(super) stream: &'a [&'a [u8]],
    pub(super) ts_secs: u64,
    pub(super) finfo: &'a FlowInfo,
    pub(super) flow_hash: u64,
    pub(super) finalize: bool,
    /// Inspect at every packet, progress or not.
    pub(super) reinspect: bool,
}

impl DetectEngine {
    /// Inspects the flow's app-layer transactions for the packet's direction: transactions
    /// that progressed since their last inspection are prefiltered on their ready buffers,
    /// and each candidate rule whose buffers are all final is verified once per
    /// transaction. `finalize` (flow end) treats every transaction as complete. Alerts are
    /// left in `s.alerts` with their transaction ids.
    #[allow(clippy::too_many_arguments, reason = "the transaction, its detection state and the flow's")]
    pub fn run_app(
        &self,
        s: &mut DetectScratch,
        app: &mut FlowApp,
        frame: &[u8],
        d: &Decoded,
        stream: &[&[u8]],
        ts_secs: u64,
        finfo: &FlowInfo,
        fstate: &mut FlowDetect,
        flow_hash: u64,
        finalize: bool,
        c: &mut Counters,
    ) {
        s.alerts.clear();
        s.contexts.clear();
        s.pkt_vars.clear();
        s.verify.clear_rule();
        s.verify.datasets.publish(c);
        if fstate.pass || self.app.rules.is_empty() || !app.proto.is_known() || app.no_inspection && !finalize {
            return;
        }
        let dir: u8 = if finfo.to_server { 0 } else { 1 };
        let Some(g) = self.app.group(app.proto, dir) else { return };
        let t = match d.proto {
            proto::TCP => T_TCP,
            proto::UDP => T_UDP,
            _ => T_OTHER,
        };
        let reinspect = g.reinspect || app.parser.is_none();
        let ctx =
            TxCtx { g, proto: app.proto, dir, t, frame, d, stream, ts_secs, finfo, flow_hash, finalize, reinspect };
        let FlowApp { parser, insp, .. } = app;
        match parser {
            Some(p) => p.each_tx(&mut |tx| {
                if tx.direction().is_some_and(|ts| ts != finfo.to_server) {
                    return;
                }
                let progress = if finalize { [PROGRESS_DONE; 2] } else { tx.progress() };
                self.inspect_tx(s, insp, &ctx, tx, progress, fstate, c);
            }),
            None => self.inspect_tx(s, insp, &ctx, &NoTx, [PROGRESS_DONE; 2], fstate, c),
        }
    }

    /// Inspects one transaction for the packet's direction, when its progress on that side
    /// moved (or the protocol asks for every packet): candidates from the group's rules
    /// without a fast pattern and the prefilter on the buffers that are ready, each verified
    /// once per transaction and direction once its side is final.
    #[allow(clippy::too_many_arguments, reason = "the transaction, its detection state and the flow's")]
    fn inspect_tx(
        &self,
        s: &mut DetectScratch,
        insp: &mut TxInspStates,
        ctx: &TxCtx<'_>,
        tx: &dyn Transaction,
        progress: [u8; 2],
        fstate: &mut FlowDetect,
        c: &mut Counters,
    ) {
        let dir = ctx.dir;
        let di = usize::from(dir);
        let _to_server = dir == 0;
        let tx_id = tx.id();
        let first_alert = s.alerts.len();
        // In bounds: di is 0 or 1 (dir is set from a bool where TxCtx is built).
        let cur = progress[di];
        if cur == 0 {
            return;
        }
        let Some((ii, evicted)) = insp.entry(tx_id) else { return };
        if evicted {
            c.inc(C::DetectTxStateEvicted);
        }
        let Some(st) = insp.at(ii) else { return };
        // inspect again only when the transaction progressed on this side, except for
        // protocols whose values change without progress (a TLS handshake) and flows of a
        // protocol without a parser
        let retry = ctx.reinspect && !ctx.finalize;
        // file rules: again when the files of this side change, anew for a new file
        let (mark, nfiles, file_open) = if ctx.g.files { files_mark(tx, dir == 0) } else { (0, 0, false) };
        // In bounds: di is 0 or 1.
        let (_, nfiles_before) = st.files[di];
        // In bounds: di is 0 or 1.
        if st.seen[di] == cur && st.files[di].0 == mark && !retry {
            return;
        }
        st.seen[di] = cur;
        // In bounds: di is 0 or 1.
        st.files[di] = (mark, nfiles);
        if nfiles > nfiles_before {
            // as Suricata's DETECT_ENGINE_STATE_FLAG_FILE_NEW: file rules are evaluated again
            st.done.retain(|&k| k & 1 != u32::from(dir) || self.app.rule(k >> 1, ctx.proto).is_none_or(|r| !r.files));
        }
        if cur >= PROGRESS_DONE && tx.direction().is_some() {
            // a one-way transaction is never inspected from the other side: that side is
            // done too, or the transaction would never be freed
            // In bounds: di is 0 or 1.
            st.seen[1 - di] = PROGRESS_DONE;
        }
        // a rule that does not match is done with the transaction only once this side is final
        let side_final = ctx.finalize || cur >= PROGRESS_DONE;
        self.tx_candidates(s, ctx, tx, progress);
        let mut vars = [0i64; MAX_VARS];
        let mut k = 0;
        while k < s.candidates.len() {
            // In bounds: k < candidates.len() (loop condition).
            let rn = s.candidates[k];
            k += 1;
            let key = rn << 1 | dir as u32;
            if st.done.binary_search(&key).is_ok() {
                continue;
            }
            if let Some(p) = s.profile.as_deref_mut() {
                p.check(rn);
            }
            let Some(ar) = self.app.rule(rn, ctx.proto) else { continue };
            // In bounds: di is 0 or 1; need is [[u8; 2]; 2].
            if ar.dirs & (1 << dir) == 0 || !reaches(progress, ar.need[di]) {
                continue;
            }
            // In bounds: candidates come from the group's always and pattern_rules, which hold indexes of self.rules.
            let cr = &self.rules[rn as usize];
            if !header_ok(cr, ctx.t, ctx.frame, ctx.d, Some(ctx.finfo)) {
                continue;
            }
            s.verify.clear_rule();
            if !cr.pkt_lists.is_empty() {
                vars.iter_mut().for_each(|v| *v = 0);
                if !packet_lists_match(cr, ctx.frame, ctx.d, &mut vars, s) {
                    continue;
                }
            }
            let all = self.tx_rule_matches(ar, tx, ctx, &mut vars, s, fstate);
            // a file rule may still match while a file of its side is open
            if !all && (!side_final || ar.files && file_open && !ctx.finalize) {
                continue;
            }
            let done = &mut st.done;
            if let Err(pos) = done.binary_search(&key) {
                if done.len() < 4096 {
                    done.insert(pos, key);
                }
            }
            if !all {
                continue;
            }
            if self.on_match(s, rn, ctx.d, ctx.ts_secs, Some(&mut *fstate), ctx.flow_hash, tx_id, c) == AfterMatch::Stop
            {
                break;
            }
        }
        if let Some(p) = s.profile.as_deref_mut() {
            p.end(s.alerts.get(first_alert..).unwrap_or(&[]));
        }
    }

    /// Candidates for a transaction: the group's rules without a fast pattern, and the
    /// prefilter's hits on each buffer whose progress is reached.
    fn tx_candidates(&self, s: &mut DetectScratch, ctx: &TxCtx<'_>, tx: &dyn Transaction, progress: [u8; 2]) {
        let gen = s.begin_candidates();
        let di = usize::from(ctx.dir);
        let DetectScratch { mpm, stamp, candidates, xa, xb, .. } = s;
        for &r in ctx.g.always.iter() {
            add_candidate(stamp, candidates, gen, r);
        }
        for db in &ctx.g.dbs {
            if !reaches(progress, db.need.levels(di)) {
                continue;
            }
            let xs = self.app.xforms.get(db.xf).map_or(&[][..], |v| v.as_slice());
            tx.buffer(db.local, ctx.dir == 0, &mut |b| {
                let tb = transform::apply(xs, b, xa, xb);
                db.mpm.scan(mpm, tb, &mut |pid| {
                    for &r in db.pattern_rules.get(pid as usize).map_or(&[][..], |v| v.as_slice()) {
                        add_candidate(stamp, candidates, gen, r);
                    }
                });
                false
            });
        }
        candidates.sort_unstable();
    }

    /// Whether every list and value keyword of an app rule holds on a transaction.
    fn tx_rule_matches(
        &self,
        ar: &AppRule,
        tx: &dyn Transaction,
        ctx: &TxCtx<'_>,
        vars: &mut [i64; MAX_VARS],
        s: &mut DetectScratch,
        fstate: &mut FlowDetect,
    ) -> bool {
        let to_server = ctx.dir == 0;
        for l in &ar.lists {
            let xs = self.app.xforms.get(l.xf).map_or(&[][..], |v| v.as_slice());
            let DetectScratch { verify: vs, xa, xb, .. } = &mut *s;
            let mut check = |b: &[u8]| {
                let tb = transform::apply(xs, b, xa, xb);
                vars.iter_mut().for_each(|v| *v = 0);
                verify::inspect(&l.list, tb, vars, vs)
            };
            let (ok, key) = match l.target {
                // the raw stream due with this packet first (Suricata inspects a transaction
                // rule's payload keywords on the stream), then the packet
                ListTarget::Packet => {
                    let hit = ctx.stream.iter().any(|ch| check(ch)) || {
                        let pl = ctx.d.payload(ctx.frame);
                        !pl.is_empty() && check(pl)
                    };
                    (hit, ENTROPY_CONTENT)
                }
                ListTarget::Buffer(b) => {
                    (app::for_each_buf(l, tx, l.to_server.unwrap_or(to_server), &mut check), entropy_key(b))
                }
                // frame rules are inspected on frames (run_frames), never on transactions
                ListTarget::Frame(_) => (false, ENTROPY_CONTENT),
            };
            fstate.take_entropy(&mut s.verify, key);
            if !ok {
                return false;
            }
        }
        app::values_hold(ar, tx, to_server, ctx.ts_secs as i64)
    }
}
