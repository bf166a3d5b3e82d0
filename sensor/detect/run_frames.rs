//! Frame inspection: frame rules (`frame:<name>`) against the frames a flow's parser named,
//! as Suricata's `DetectRunFrames`. A frame is inspected once, when it is ready (its length
//! reached, its direction ended, or its bytes capped), with a packet of its direction; each
//! rule of its (protocol, direction, type) is verified on its bytes, and alerts at most once
//! per frame. Names no protocol: frames come from the app layer's [`FlowApp::frames`].

use super::engine::{DetectEngine, DetectScratch, FlowDetect, FlowInfo, NO_TX, T_OTHER, T_TCP, T_UDP};
use super::run::{header_ok, packet_lists_match, AfterMatch};
use super::run_app::NoTx;
use crate::app::frames::Frame;
use crate::app::{FlowApp, Transaction};
use crate::decode::{proto, Decoded};
use crate::detect::app::{self, AppRule, ListTarget};
use crate::detect::transform;
use crate::detect::verify;
use crate::metrics::Counters;
use crate::rule::ast::MAX_VARS;

impl DetectEngine {
    /// Inspects the ready frames of the packet's direction with the frame rules of their
    /// type; alerts are appended to `s.alerts` with their frame's id (and its transaction,
    /// when the protocol named one). The caller writes them, then lets the frames go
    /// ([`crate::app::frames::Frames::taken`]).
    #[allow(clippy::too_many_arguments, reason = "the packet, its flow and the flow's detection state")]
    pub fn run_frames(
        &self,
        s: &mut DetectScratch,
        app: &FlowApp,
        frame: &[u8],
        d: &Decoded,
        ts_secs: u64,
        finfo: &FlowInfo,
        fstate: &mut FlowDetect,
        flow_hash: u64,
        c: &mut Counters,
    ) {
        if fstate.pass || !self.app.has_frame_rules() || !app.proto.is_known() {
            return;
        }
        let dir: u8 = if finfo.to_server { 0 } else { 1 };
        let t = match d.proto {
            proto::TCP => T_TCP,
            proto::UDP => T_UDP,
            _ => T_OTHER,
        };
        for fr in app.frames.ready().filter(|f| f.to_server == finfo.to_server) {
            let rules = self.app.frame_rules(app.proto, dir, fr.ty);
            if rules.is_empty() {
                continue;
            }
            let tx: &dyn Transaction = match fr.tx.and_then(|id| app.tx(id)) {
                Some(tx) => tx,
                None => &NoTx,
            };
            s.cur_frame = fr.id;
            for &rn in rules {
                let Some(ar) = self.app.rule(rn, app.proto) else { continue };
                // In bounds: frame groups hold indexes of self.rules.
                let cr = &self.rules[rn as usize];
                if !header_ok(cr, t, frame, d, Some(finfo)) {
                    continue;
                }
                let mut vars = [0i64; MAX_VARS];
                s.verify.clear_rule();
                if !cr.pkt_lists.is_empty() && !packet_lists_match(cr, frame, d, &mut vars, s) {
                    continue;
                }
                if !self.frame_rule_matches(ar, fr, tx, finfo.to_server, ts_secs, &mut vars, s) {
                    continue;
                }
                let tx_id = fr.tx.filter(|&id| app.tx(id).is_some()).unwrap_or(NO_TX);
                if self.on_match(s, rn, d, ts_secs, Some(&mut *fstate), flow_hash, tx_id, c) == AfterMatch::Stop {
                    break;
                }
            }
            s.cur_frame = 0;
        }
    }

    /// Whether every list of a frame rule holds on the frame's bytes, and its value keywords
    /// on the frame's transaction.
    #[allow(clippy::too_many_arguments, reason = "the rule, the frame and its transaction")]
    fn frame_rule_matches(
        &self,
        ar: &AppRule,
        fr: &Frame,
        tx: &dyn Transaction,
        to_server: bool,
        ts_secs: u64,
        vars: &mut [i64; MAX_VARS],
        s: &mut DetectScratch,
    ) -> bool {
        for l in &ar.lists {
            if !matches!(l.target, ListTarget::Frame(_)) {
                return false;
            }
            let xs = self.app.xforms.get(l.xf).map_or(&[][..], |v| v.as_slice());
            let DetectScratch { verify: vs, xa, xb, .. } = &mut *s;
            let b = fr.inspect_bytes();
            if b.is_empty() {
                return false;
            }
            let tb = transform::apply(xs, b, xa, xb);
            vars.iter_mut().for_each(|v| *v = 0);
            let ok = verify::inspect(&l.list, tb, vars, vs);
            // an entropy on a frame is not kept (Suricata names it after the frame's buffer)
            vs.entropy = Default::default();
            if !ok {
                return false;
            }
        }
        app::values_hold(ar, tx, to_server, ts_secs as i64)
    }
}

#[cfg(test)]
mod tests {
    use crate::app::AppProto;
    use crate::detect::app::frame_of;

    #[test]
    fn frame_names_resolve_per_protocol_in_long_and_short_forms() {
        assert_eq!(frame_of("smb2.pdu", AppProto::Smb), Some(6));
        assert_eq!(frame_of("smb2.data", AppProto::Smb), Some(8));
        assert_eq!(frame_of("http1.request", AppProto::Http), Some(0));
        assert_eq!(frame_of("response", AppProto::Http), Some(1));
        assert_eq!(frame_of("ssh.record.pdu", AppProto::Ssh), Some(2));
        assert_eq!(frame_of("record.hdr", AppProto::Ssh), Some(0));
        assert_eq!(frame_of("sip.request.line", AppProto::Sip), Some(1));
        assert_eq!(frame_of("pdu", AppProto::Sip), Some(0));
        assert_eq!(frame_of("pdu", AppProto::Http), None);
        assert_eq!(frame_of("smb2.pdu", AppProto::Sip), None);
    }
}
