//! A flow's rule variables as EVE shows them on alerts and records (Suricata's
//! `EveAddMetadata`, on by default): flowbits named `traffic/id/<name>` and
//! `traffic/label/<name>` go to a top-level `traffic` object (`id`, `label`); the others to
//! `metadata.flowbits`, in the order they were set, flowints to `metadata.flowints`, the
//! values `entropy` keywords computed to `metadata.entropy`, named after the buffer (Suricata
//! keeps each as a flow variable of that name, the last computed value: every alert of the
//! packet shows the value the last inspection left, matched or not), pcre captures into flow
//! variables to `metadata.flowvars` and, on alerts, into packet variables to
//! `metadata.pktvars`.
//!
//! Rendered into a reused buffer of the worker's scratch ([`DetectEngine::render_flow_vars`]),
//! only for flows that hold variables, and again only when the variables differ from those
//! the buffer holds (a packet of a flow whose variables did not change renders nothing).

use super::engine::{DetectEngine, FlowDetect};
use super::verify::VerifyScratch;
use crate::app::registry::{registry, BufferId};
use crate::output::eve::Json;

/// The entropy variable of packet and stream payload lists (Suricata's `content`).
pub(crate) const ENTROPY_CONTENT: u16 = u16::MAX;
/// The entropy variable of a `base64_data` list.
const ENTROPY_BASE64: u16 = u16::MAX - 1;

/// The entropy variable of an app buffer's lists.
pub(crate) fn entropy_key(b: BufferId) -> u16 {
    b.0
}

/// The name of an entropy variable as Suricata registers it: the buffer's name, for HTTP's and
/// `file.data` their legacy one (`file_data`, `http_uri`).
fn entropy_name(key: u16) -> Option<&'static str> {
    match key {
        ENTROPY_CONTENT => Some("content"),
        ENTROPY_BASE64 => Some("base64_data"),
        k => {
            let info = registry().buffer(BufferId(k))?.info;
            let legacy = (info.name.starts_with("http.") || info.name == "file.data")
                .then(|| {
                    info.aliases.iter().copied().find(|a| {
                        a.len() == info.name.len()
                            && a.bytes().zip(info.name.bytes()).all(|(x, y)| x == y || (x, y) == (b'_', b'.'))
                    })
                })
                .flatten();
            Some(legacy.unwrap_or(info.name))
        }
    }
}

impl FlowDetect {
    /// Keeps the entropy values the last inspection computed ([`VerifyScratch::entropy`]) as
    /// the flow's variables: the inspected list's (`key`) and its `base64_data`'s.
    pub(crate) fn take_entropy(&mut self, vs: &mut VerifyScratch, key: u16) {
        let [own, b64] = std::mem::take(&mut vs.entropy);
        for (k, v) in [(key, own), (ENTROPY_BASE64, b64)] {
            let Some(v) = v else { continue };
            match self.floats.iter_mut().find(|(x, _)| *x == k) {
                Some(slot) => slot.1 = v,
                None => self.floats.push((k, v)),
            }
        }
    }
}

const TRAFFIC_ID: &str = "traffic/id/";
const TRAFFIC_LABEL: &str = "traffic/label/";

/// The variables a scratch's `flow_vars` buffer was rendered from (a copy: a handful of
/// numbers, in buffers reused across flows).
#[derive(Debug, Default)]
pub(crate) struct RenderedVars {
    valid: bool,
    bits: Vec<u32>,
    ints: Vec<(u32, u32)>,
    floats: Vec<(u16, f64)>,
}

impl DetectEngine {
    /// The flow's variables rendered ([`DetectEngine::flow_vars_json`]) into the scratch's
    /// `flow_vars`, unless the buffer already holds them (the same flowbits and flowints):
    /// nothing is formatted for a packet after which they did not change.
    pub fn render_flow_vars<'s>(&self, st: &FlowDetect, scratch: &'s mut super::engine::DetectScratch) -> &'s [u8] {
        self.render_vars(st, &[], scratch)
    }

    /// [`DetectEngine::render_flow_vars`] for the alerts of a packet: with the packet
    /// variables its rules captured (EVE `metadata.pktvars`).
    pub fn render_alert_vars<'s>(&self, st: &FlowDetect, scratch: &'s mut super::engine::DetectScratch) -> &'s [u8] {
        let pkt = std::mem::take(&mut scratch.pkt_vars);
        self.render_vars(st, &pkt, scratch);
        scratch.pkt_vars = pkt;
        &scratch.flow_vars
    }

    fn render_vars<'s>(
        &self,
        st: &FlowDetect,
        pkt_vars: &[u8],
        scratch: &'s mut super::engine::DetectScratch,
    ) -> &'s [u8] {
        let r = &mut scratch.flow_vars_of;
        // Most flows hold no variable at all: answer from the flow's own vector lengths,
        // without touching the cached copy or the flow's (cold) variable storage.
        if st.bits.is_empty() && st.ints.is_empty() && st.floats.is_empty() && st.vars.is_empty() && pkt_vars.is_empty()
        {
            scratch.flow_vars.clear();
            r.valid = false;
            return &scratch.flow_vars;
        }
        // captured variables (rare: no rule of ET Open captures) are rendered every time
        if !st.vars.is_empty() || !pkt_vars.is_empty() {
            self.flow_vars_json(st, pkt_vars, &mut scratch.flow_vars);
            r.valid = false;
        } else if !(r.valid && r.bits[..] == st.bits[..] && r.ints[..] == st.ints[..] && r.floats[..] == st.floats[..])
        {
            self.flow_vars_json(st, &[], &mut scratch.flow_vars);
            r.bits.clear();
            r.bits.extend_from_slice(&st.bits);
            r.ints.clear();
            r.ints.extend_from_slice(&st.ints);
            r.floats.clear();
            r.floats.extend_from_slice(&st.floats);
            r.valid = true;
        }
        &scratch.flow_vars
    }

    /// Writes `"traffic":{...},"metadata":{...}` (no braces around them) for the variables of
    /// a flow whose state belongs to this engine into `out`, which is cleared first and left
    /// empty when the flow has none.
    pub fn flow_vars_json(&self, st: &FlowDetect, pkt_vars: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if st.bits.is_empty() && st.ints.is_empty() && st.floats.is_empty() && st.vars.is_empty() && pkt_vars.is_empty()
        {
            return;
        }
        let names = &self.var_names;
        let name = |b: &u32| names.flowbits.get(*b as usize).map(String::as_str);
        let tagged = |prefix: &'static str| st.bits.iter().filter_map(name).filter_map(move |n| n.strip_prefix(prefix));
        let mut j = Json::object(out);
        if tagged(TRAFFIC_ID).next().is_some() || tagged(TRAFFIC_LABEL).next().is_some() {
            let mut t = j.begin("traffic");
            if tagged(TRAFFIC_ID).next().is_some() {
                t.str_array("id", tagged(TRAFFIC_ID).map(str::as_bytes));
            }
            if tagged(TRAFFIC_LABEL).next().is_some() {
                t.str_array("label", tagged(TRAFFIC_LABEL).map(str::as_bytes));
            }
            t.end();
        }
        {
            let mut m = j.begin("metadata");
            let plain = || {
                st.bits
                    .iter()
                    .filter_map(name)
                    .filter(|n| !n.starts_with(TRAFFIC_ID) && !n.starts_with(TRAFFIC_LABEL))
                    .map(str::as_bytes)
            };
            if plain().next().is_some() {
                m.str_array("flowbits", plain());
            }
            if !st.ints.is_empty() {
                let mut o = m.begin("flowints");
                for (var, value) in &st.ints {
                    if let Some(n) = names.flowints.get(*var as usize) {
                        o.u64_named(n.as_bytes(), u64::from(*value));
                    }
                }
                o.end();
            }
            if !st.floats.is_empty() {
                let mut o = m.begin("entropy");
                for (key, value) in &st.floats {
                    if let Some(n) = entropy_name(*key) {
                        o.f64_named(n.as_bytes(), *value);
                    }
                }
                o.end();
            }
            if !st.vars.is_empty() {
                m.pairs_array("flowvars", st.vars.iter().map(|(n, v)| (&n[..], &v[..])));
            }
            if !pkt_vars.is_empty() {
                m.raw_array("pktvars", pkt_vars);
            }
            m.end();
        }
        j.end();
        // The fields without the braces of the object they were written in.
        out.pop();
        out.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_values_are_kept_per_buffer_last_value_first_order() {
        let file_data = registry().buffers_named("file.data")[0];
        assert_eq!(entropy_name(entropy_key(file_data)), Some("file_data"));
        assert_eq!(entropy_name(ENTROPY_CONTENT), Some("content"));
        let mut st = FlowDetect::default();
        let mut vs = VerifyScratch::default();
        st.take_entropy(&mut vs, ENTROPY_CONTENT);
        assert!(st.floats.is_empty(), "nothing computed, nothing kept");
        vs.entropy = [Some(4.1), None];
        st.take_entropy(&mut vs, entropy_key(file_data));
        vs.entropy = [Some(2.0), Some(1.5)];
        st.take_entropy(&mut vs, ENTROPY_CONTENT);
        vs.entropy = [Some(4.2), None];
        st.take_entropy(&mut vs, entropy_key(file_data));
        assert_eq!(vs.entropy, [None, None], "taken");
        assert_eq!(st.floats, vec![(file_data.0, 4.2), (ENTROPY_CONTENT, 2.0), (ENTROPY_BASE64, 1.5)]);
    }

    #[test]
    fn floats_print_in_the_shortest_form_that_reads_back() {
        let mut out = Vec::new();
        let mut j = Json::object(&mut out);
        j.f64_named(b"file_data", 4.150007324019584).f64_named(b"a", 4.0).f64_named(b"n", f64::NAN);
        j.end();
        assert_eq!(String::from_utf8_lossy(&out), r#"{"file_data":4.150007324019584,"a":4,"n":null}"#);
    }
}
