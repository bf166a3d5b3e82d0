//! A flow's rule variables as EVE shows them on alerts and records (Suricata's
//! `EveAddMetadata`, on by default): flowbits named `traffic/id/<name>` and
//! `traffic/label/<name>` go to a top-level `traffic` object (`id`, `label`); the others to
//! `metadata.flowbits`, in the order they were set, and flowints to `metadata.flowints`.
//!
//! Rendered into a reused buffer of the worker's scratch ([`DetectEngine::render_flow_vars`]),
//! only for flows that hold variables, and again only when the variables differ from those
//! the buffer holds (a packet of a flow whose variables did not change renders nothing).

use super::engine::{DetectEngine, FlowDetect};
use crate::output::eve::Json;

const TRAFFIC_ID: &str = "traffic/id/";
const TRAFFIC_LABEL: &str = "traffic/label/";

/// The variables a scratch's `flow_vars` buffer was rendered from (a copy: a handful of
/// numbers, in buffers reused across flows).
#[derive(Debug, Default)]
pub(crate) struct RenderedVars {
    valid: bool,
    bits: Vec<u32>,
    ints: Vec<(u32, u32)>,
}

impl DetectEngine {
    /// The flow's variables rendered ([`DetectEngine::flow_vars_json`]) into the scratch's
    /// `flow_vars`, unless the buffer already holds them (the same flowbits and flowints):
    /// nothing is formatted for a packet after which they did not change.
    pub fn render_flow_vars<'s>(&self, st: &FlowDetect, scratch: &'s mut super::engine::DetectScratch) -> &'s [u8] {
        let r = &mut scratch.flow_vars_of;
        if !(r.valid && r.bits == st.bits && r.ints == st.ints) {
            self.flow_vars_json(st, &mut scratch.flow_vars);
            r.bits.clear();
            r.bits.extend_from_slice(&st.bits);
            r.ints.clear();
            r.ints.extend_from_slice(&st.ints);
            r.valid = true;
        }
        &scratch.flow_vars
    }

    /// Writes `"traffic":{...},"metadata":{...}` (no braces around them) for the variables of
    /// a flow whose state belongs to this engine into `out`, which is cleared first and left
    /// empty when the flow has none.
    pub fn flow_vars_json(&self, st: &FlowDetect, out: &mut Vec<u8>) {
        out.clear();
        if st.bits.is_empty() && st.ints.is_empty() {
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
            m.end();
        }
        j.end();
        // The fields without the braces of the object they were written in.
        out.pop();
        out.remove(0);
    }
}
