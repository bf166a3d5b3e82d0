//! Rule profiling: what each rule costs, for rule writers (`picket bench --profile`).
//!
//! Takes: the rule numbers that [`crate::detect::engine::DetectEngine::run`] verifies, one
//! call per candidate. Promises: per rule, how many times verification ran (`checks`), how
//! many times the rule matched before thresholds (`matches`), how many alerts it gave (after
//! thresholds, pass rules and the per-packet alert limit: what the EVE output holds), and the
//! time spent verifying it. Costs nothing when off: the engine keeps an
//! `Option<Box<RuleProfile>>` in its scratch, `None` unless profiling, and reads the clock
//! only when it is `Some`. When on, one clock read per candidate: the end of one rule's
//! verification is the start of the next one's.
//! Never: allocates per packet (the table is sized for the rule set up front).
//!
//! Suricata has the same table (`rule_perf.log`) only in builds configured with
//! `--enable-profiling`; here it is always compiled in and off by default.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Value};

use crate::detect::engine::{AlertHit, DetectEngine, Insp};
use crate::rule::ast::{Buffer, Rule};

/// One rule's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleStat {
    /// Times verification ran (the rule was a candidate).
    pub checks: u64,
    /// Times the rule matched, before thresholds.
    pub matches: u64,
    /// Alerts it gave (what the EVE output holds).
    pub alerts: u64,
    /// Nanoseconds spent verifying it.
    pub nanos: u64,
}

impl RuleStat {
    fn add(&mut self, o: &RuleStat) {
        self.checks += o.checks;
        self.matches += o.matches;
        self.alerts += o.alerts;
        self.nanos += o.nanos;
    }
}

/// A worker's per-rule table (index = rule number).
#[derive(Debug, Clone)]
pub struct RuleProfile {
    /// Per rule number.
    pub rules: Vec<RuleStat>,
    /// The rule being verified and when it started.
    open: Option<(u32, Instant)>,
}

impl RuleProfile {
    /// A table for `rules` rules.
    pub fn new(rules: usize) -> Self {
        RuleProfile { rules: vec![RuleStat::default(); rules], open: None }
    }

    /// Verification of rule `rn` starts (and that of the previous candidate ends).
    #[inline]
    pub fn check(&mut self, rn: u32) {
        let now = Instant::now();
        self.close(now);
        if let Some(st) = self.rules.get_mut(rn as usize) {
            st.checks += 1;
        }
        self.open = Some((rn, now));
    }

    /// Rule `rn` matched (before thresholds).
    #[inline]
    pub fn matched(&mut self, rn: u32) {
        if let Some(st) = self.rules.get_mut(rn as usize) {
            st.matches += 1;
        }
    }

    /// The packet's candidates are done; `alerts` are the alerts it gives.
    #[inline]
    pub fn end(&mut self, alerts: &[AlertHit]) {
        if self.open.is_some() {
            self.close(Instant::now());
        }
        for a in alerts {
            if let Some(st) = self.rules.get_mut(a.rule as usize) {
                st.alerts += 1;
            }
        }
    }

    fn close(&mut self, now: Instant) {
        if let Some((rn, t0)) = self.open.take() {
            if let Some(st) = self.rules.get_mut(rn as usize) {
                st.nanos += now.saturating_duration_since(t0).as_nanos() as u64;
            }
        }
    }

    /// Adds another worker's table (same rule set).
    pub fn merge(&mut self, other: &RuleProfile) {
        if self.rules.len() < other.rules.len() {
            self.rules.resize(other.rules.len(), RuleStat::default());
        }
        for (a, b) in self.rules.iter_mut().zip(other.rules.iter()) {
            a.add(b);
        }
    }

    /// Sums the workers' tables (`None` when there is none).
    pub fn merged(profiles: &[Box<RuleProfile>]) -> Option<RuleProfile> {
        let mut it = profiles.iter();
        let mut p = RuleProfile::clone(it.next()?);
        p.open = None;
        for o in it {
            p.merge(o);
        }
        Some(p)
    }
}

/// One row of the report: a rule (a `<>` rule and its swapped copy are one row).
#[derive(Debug, Clone)]
pub struct ReportRow {
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// `msg`.
    pub msg: String,
    /// Where it was loaded from.
    pub file: String,
    /// Line in that file.
    pub line: usize,
    /// Counts.
    pub stat: RuleStat,
    /// Keyword kinds the rule uses.
    pub keywords: Vec<&'static str>,
    /// Buffers it inspects.
    pub buffers: Vec<String>,
}

/// Totals over the rules that use a keyword kind or inspect a buffer.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Rules with this kind/buffer that were checked at least once.
    pub rules: u64,
    /// Sum of their counts.
    pub stat: RuleStat,
}

/// The merged profile, ready to print.
#[derive(Debug, Clone)]
pub struct Report {
    /// Rules checked at least once, most expensive first.
    pub rows: Vec<ReportRow>,
    /// Per keyword kind (a rule counts under every kind it uses).
    pub by_keyword: BTreeMap<&'static str, Totals>,
    /// Per buffer (a rule counts under every buffer it inspects).
    pub by_buffer: BTreeMap<String, Totals>,
    /// Sum over all rules.
    pub total: RuleStat,
}

/// The keyword kinds of a rule, by Suricata's keyword names (one entry per kind).
pub(crate) fn keyword_kinds(r: &Rule, ip_only: bool) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for b in &r.buffers {
        for m in &b.matches {
            v.push(m.name());
        }
        if !b.transforms.is_empty() {
            v.push("transform");
        }
    }
    for m in &r.packet {
        v.push(m.name());
    }
    if r.flow != Default::default() {
        v.push("flow");
    }
    if !r.flowbits.is_empty() {
        v.push("flowbits");
    }
    if r.threshold.is_some() {
        v.push("threshold");
    }
    if r.detection_filter.is_some() {
        v.push("detection_filter");
    }
    if ip_only {
        v.push("ip-only");
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// The buffers a rule inspects: `packet` and `stream` for the payload (as the rule's
/// inspection settings say), sticky buffers by name, `header` when it has no payload list.
pub(crate) fn buffers_of(r: &Rule, insp: Insp) -> Vec<String> {
    let mut v = Vec::new();
    for b in r.buffers.iter().filter(|b| !b.matches.is_empty()) {
        match &b.buffer {
            Buffer::Payload => {
                if insp.packet && !insp.stream_only {
                    v.push("packet".to_string());
                }
                if insp.stream {
                    v.push("stream".to_string());
                }
            }
            Buffer::Sticky(name) => v.push(name.clone()),
            Buffer::Packet(p) => v.push(p.name.to_string()),
            Buffer::Base64Data => v.push("base64_data".to_string()),
            Buffer::Frame(name) => v.push(format!("frame:{name}")),
        }
    }
    if v.is_empty() {
        v.push("header".to_string());
    }
    v.sort();
    v.dedup();
    v
}

impl Report {
    /// Builds the report of `profile` (rules numbered as in `engine`).
    pub fn new(engine: &DetectEngine, profile: &RuleProfile) -> Report {
        // Fold `<>` copies into the rule they come from.
        let mut by_sid: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        let mut rows: Vec<ReportRow> = Vec::new();
        for (rn, cr) in engine.rules.iter().enumerate() {
            let st = profile.rules.get(rn).copied().unwrap_or_default();
            let r = &cr.rule;
            let i = *by_sid.entry((r.gid, r.sid)).or_insert_with(|| {
                rows.push(ReportRow {
                    gid: r.gid,
                    sid: r.sid,
                    rev: r.rev,
                    msg: r.msg.to_string(),
                    file: r.origin.file.to_string(),
                    line: r.origin.line,
                    stat: RuleStat::default(),
                    keywords: cr.keywords.to_vec(),
                    buffers: cr.buffers.iter().map(|b| b.to_string()).collect(),
                });
                rows.len() - 1
            });
            // In bounds: by_sid holds only indexes of rows pushed above (rows is not shortened in the loop).
            rows[i].stat.add(&st);
        }
        rows.retain(|r| r.stat.checks > 0);
        rows.sort_by(|a, b| {
            b.stat.nanos.cmp(&a.stat.nanos).then(b.stat.checks.cmp(&a.stat.checks)).then(a.sid.cmp(&b.sid))
        });
        let mut by_keyword: BTreeMap<&'static str, Totals> = BTreeMap::new();
        let mut by_buffer: BTreeMap<String, Totals> = BTreeMap::new();
        let mut total = RuleStat::default();
        for r in &rows {
            total.add(&r.stat);
            for k in &r.keywords {
                let t = by_keyword.entry(k).or_default();
                t.rules += 1;
                t.stat.add(&r.stat);
            }
            for b in &r.buffers {
                let t = by_buffer.entry(b.clone()).or_default();
                t.rules += 1;
                t.stat.add(&r.stat);
            }
        }
        Report { rows, by_keyword, by_buffer, total }
    }

    /// The text table: the `top` most expensive rules, then the totals per keyword kind and
    /// per buffer.
    pub fn text(&self, top: usize) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let ms = |n: u64| n as f64 / 1e6;
        let share = |n: u64| if self.total.nanos > 0 { n as f64 * 100.0 / self.total.nanos as f64 } else { 0.0 };
        let _ = writeln!(
            s,
            "rule profile: {} rules verified {} times, {} matches, {} alerts, {:.1} ms verifying (all workers)",
            self.rows.len(),
            self.total.checks,
            self.total.matches,
            self.total.alerts,
            ms(self.total.nanos)
        );
        let _ = writeln!(
            s,
            "{:>4} {:>10} {:>6} {:>10} {:>8} {:>7} {:>8}  {:<10} msg",
            "#", "time ms", "share", "checks", "matches", "alerts", "ns/check", "sid"
        );
        for (i, r) in self.rows.iter().take(top).enumerate() {
            let per = r.stat.nanos.checked_div(r.stat.checks).unwrap_or(0);
            let mut msg = r.msg.clone();
            if msg.chars().count() > 70 {
                msg = msg.chars().take(67).collect::<String>() + "...";
            }
            let _ = writeln!(
                s,
                "{:>4} {:>10.2} {:>5.1}% {:>10} {:>8} {:>7} {:>8}  {:<10} {}",
                i + 1,
                ms(r.stat.nanos),
                share(r.stat.nanos),
                r.stat.checks,
                r.stat.matches,
                r.stat.alerts,
                per,
                r.sid,
                msg
            );
        }
        let table = |s: &mut String, title: &str, it: &mut dyn Iterator<Item = (String, &Totals)>| {
            let mut v: Vec<(String, &Totals)> = it.collect();
            v.sort_by(|a, b| b.1.stat.nanos.cmp(&a.1.stat.nanos).then(a.0.cmp(&b.0)));
            let _ = writeln!(s, "{title} (a rule counts under each one it uses):");
            let _ = writeln!(
                s,
                "  {:<22} {:>6} {:>10} {:>6} {:>10} {:>8} {:>7}",
                "", "rules", "time ms", "share", "checks", "matches", "alerts"
            );
            for (k, t) in v {
                let _ = writeln!(
                    s,
                    "  {:<22} {:>6} {:>10.2} {:>5.1}% {:>10} {:>8} {:>7}",
                    k,
                    t.rules,
                    ms(t.stat.nanos),
                    share(t.stat.nanos),
                    t.stat.checks,
                    t.stat.matches,
                    t.stat.alerts
                );
            }
        };
        table(&mut s, "by keyword kind", &mut self.by_keyword.iter().map(|(k, t)| (k.to_string(), t)));
        table(&mut s, "by buffer", &mut self.by_buffer.iter().map(|(k, t)| (k.clone(), t)));
        s
    }

    /// Everything, as JSON (every rule checked at least once).
    pub fn json(&self) -> Value {
        let stat = |st: &RuleStat| json!({"checks": st.checks, "matches": st.matches, "alerts": st.alerts, "time_ns": st.nanos});
        let rules: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut v = stat(&r.stat);
                if let Some(m) = v.as_object_mut() {
                    m.insert("gid".into(), json!(r.gid));
                    m.insert("sid".into(), json!(r.sid));
                    m.insert("rev".into(), json!(r.rev));
                    m.insert("msg".into(), json!(r.msg));
                    m.insert("file".into(), json!(r.file));
                    m.insert("line".into(), json!(r.line));
                    m.insert("keywords".into(), json!(r.keywords));
                    m.insert("buffers".into(), json!(r.buffers));
                }
                v
            })
            .collect();
        let totals = |m: &mut dyn Iterator<Item = (String, &Totals)>| {
            let mut o = serde_json::Map::new();
            for (k, t) in m {
                let mut v = stat(&t.stat);
                if let Some(x) = v.as_object_mut() {
                    x.insert("rules".into(), json!(t.rules));
                }
                o.insert(k, v);
            }
            Value::Object(o)
        };
        json!({
            "total": stat(&self.total),
            "rules": rules,
            "by_keyword": totals(&mut self.by_keyword.iter().map(|(k, t)| (k.to_string(), t))),
            "by_buffer": totals(&mut self.by_buffer.iter().map(|(k, t)| (k.clone(), t))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_time_and_alerts_are_counted_per_rule() {
        let mut p = RuleProfile::new(3);
        p.check(0);
        p.check(2);
        p.matched(2);
        p.end(&[AlertHit { rule: 2, tx: crate::detect::engine::NO_TX, deferred: false, frame: 0, context: (0, 0) }]);
        p.check(2);
        p.end(&[]);
        assert_eq!(p.rules[0].checks, 1);
        assert_eq!((p.rules[2].checks, p.rules[2].matches, p.rules[2].alerts), (2, 1, 1));
        assert_eq!(p.rules[1], RuleStat::default());
        assert!(p.open.is_none());
        let mut q = RuleProfile::new(3);
        q.check(1);
        q.end(&[]);
        let m = RuleProfile::merged(&[Box::new(p), Box::new(q)]).unwrap();
        assert_eq!((m.rules[0].checks, m.rules[1].checks, m.rules[2].checks), (1, 1, 2));
    }
}
