//! The loader: rule files and folders of `*.rules` (in name order) to a [`RuleSet`], with the
//! `classification.config` / `reference.config` found beside them, line continuations and
//! comments handled as Suricata's loader does, and a duplicate gid:sid reported (the first
//! rule is kept; Suricata keeps the higher rev).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::ast::Rule;
use super::classification::{parse_references, Classifications};
use super::keywords::Keywords;
use super::parse::{parse_rule, ParseContext, MAX_RULE_SIZE};
use super::{ErrorKind, RuleError, RuleSet};
use crate::rule::VarsConfig;

/// Loads rule files, and folders of `*.rules` (in name order), as Suricata does.
///
/// `classification` / `reference`: the config files to use; when `None`, a
/// `classification.config` / `reference.config` beside the rules is used if there is one,
/// else the built-in classification table and no reference types. A config that cannot be
/// read is reported as an error (line 0) and the fallback is used. `keywords`: the keyword
/// table the rules are read with (the rule language's own rows and the app layer's).
pub fn load_rules(
    paths: &[PathBuf],
    keywords: &Keywords,
    vars: &VarsConfig,
    classification: Option<&Path>,
    reference: Option<&Path>,
) -> RuleSet {
    let mut rules = Vec::new();
    let mut set = load_rules_each(paths, keywords, vars, classification, reference, |r| rules.push(r));
    set.rules = rules;
    set
}

/// [`load_rules`], handing each rule that parses to `on_rule` as soon as it is parsed instead
/// of collecting them (the returned set's `rules` is empty). The detection engine compiles
/// each rule as it comes, so that a whole ruleset's parse trees never exist at once.
pub fn load_rules_each(
    paths: &[PathBuf],
    keywords: &Keywords,
    vars: &VarsConfig,
    classification: Option<&Path>,
    reference: Option<&Path>,
    mut on_rule: impl FnMut(Rule),
) -> RuleSet {
    let mut set = RuleSet::default();
    let files = expand_paths(paths, &mut set.errors);

    let class_path = classification.map(Path::to_path_buf).or_else(|| beside(paths, "classification.config"));
    let classes = match &class_path {
        Some(p) => match std::fs::read(p) {
            Ok(bytes) => Classifications::parse(&String::from_utf8_lossy(&bytes)).0,
            Err(e) => {
                set.errors.push(file_error(p, format!("cannot read classification config: {e}")));
                Classifications::builtin()
            }
        },
        None => Classifications::builtin(),
    };
    let ref_path = reference.map(Path::to_path_buf).or_else(|| beside(paths, "reference.config"));
    let references = match &ref_path {
        Some(p) => match std::fs::read(p) {
            Ok(bytes) => parse_references(&String::from_utf8_lossy(&bytes)).0,
            Err(e) => {
                set.errors.push(file_error(p, format!("cannot read reference config: {e}")));
                HashMap::new()
            }
        },
        None => HashMap::new(),
    };

    let mut ctx = ParseContext::with_tables(vars, classes, references);
    let mut seen: HashSet<(u32, u32)> = HashSet::new();
    for file in &files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                set.errors.push(file_error(file, format!("cannot read rule file: {e}")));
                continue;
            }
        };
        set.files += 1;
        let name = file.display().to_string();
        for (line, text) in rule_lines(&bytes) {
            ctx.set_origin(&name, line);
            match parse_rule(&text, keywords, &mut ctx) {
                Ok(rule) => {
                    if seen.insert((rule.gid, rule.sid)) {
                        on_rule(rule);
                    } else {
                        set.errors.push(RuleError {
                            file: name.clone(),
                            line,
                            sid: Some(rule.sid),
                            kind: ErrorKind::DuplicateSid,
                            message: format!("duplicate signature {}:{} (the first one is kept)", rule.gid, rule.sid),
                        });
                    }
                }
                Err(e) => set.errors.push(e),
            }
        }
    }
    set.var_names = ctx.into_var_names();
    set
}

fn file_error(p: &Path, message: String) -> RuleError {
    RuleError { file: p.display().to_string(), line: 0, sid: None, kind: ErrorKind::Syntax, message }
}

/// The rule files: files as given, folders as their `*.rules` in name order.
fn expand_paths(paths: &[PathBuf], errors: &mut Vec<RuleError>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut v: Vec<PathBuf> = rd
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "rules"))
                        .collect();
                    v.sort();
                    out.extend(v);
                }
                Err(e) => errors.push(file_error(p, format!("cannot read rule folder: {e}"))),
            }
        } else {
            out.push(p.clone());
        }
    }
    out
}

/// `name` in the first given folder (or the folder of the first given file) that has it.
fn beside(paths: &[PathBuf], name: &str) -> Option<PathBuf> {
    paths.iter().find_map(|p| {
        let dir = if p.is_dir() { Some(p.as_path()) } else { p.parent() };
        let c = dir?.join(name);
        c.is_file().then_some(c)
    })
}

/// Splits a rule file into rules: (first line, text). Lines whose first character is `#`, a
/// space or a tab, and empty lines, are skipped (Suricata's loader); a line ending in `\`
/// (before trailing white space) continues on the next line, the backslash removed.
pub(crate) fn rule_lines(bytes: &[u8]) -> Vec<(usize, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let lineno = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if cur.is_none() {
            match line.as_bytes().first() {
                None | Some(b'#') | Some(b' ') | Some(b'\t') | Some(b'\r') => continue,
                _ => {}
            }
        }
        let trimmed = line.trim_end();
        let (piece, more) = match trimmed.strip_suffix('\\') {
            Some(p) => (p, true),
            None => (line, false),
        };
        if cur.is_none() && !more {
            // One line, one rule (nearly every rule): one allocation of the right size.
            out.push((lineno, piece.to_string()));
            continue;
        }
        let entry = cur.get_or_insert_with(|| (lineno, String::new()));
        // Past the size limit the rule fails anyway: stop growing it.
        if entry.1.len() <= MAX_RULE_SIZE {
            entry.1.push_str(piece);
        }
        if !more {
            if let Some(done) = cur.take() {
                out.push(done);
            }
        }
    }
    if let Some(done) = cur.take() {
        out.push(done);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::parse::testing::{ctx, keywords};

    #[test]
    fn rule_lines_join_and_skip() {
        let text = b"# comment\n\nalert tcp any any -> any any ( \\\n  msg:\"x\"; \\\r\n  sid:1;)\n indented rule is skipped\n\talso\nalert ip any any -> any any (sid:2;)\r\nalert ip any any -> any any (sid:3;) \\";
        let v = rule_lines(text);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0], (3, "alert tcp any any -> any any (   msg:\"x\";   sid:1;)".to_string()));
        assert_eq!(v[1].0, 8);
        assert_eq!(v[2].0, 9);
        let mut c = ctx();
        for (line, t) in &v {
            c.set_origin("f", *line);
            assert!(parse_rule(t, keywords(), &mut c).is_ok(), "{t}");
        }
    }

    #[test]
    fn load_files_folders_configs_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("classification.config"), "config classification: my-class,My Class,2\n").unwrap();
        std::fs::write(d.join("reference.config"), "config reference: url http://\n").unwrap();
        std::fs::write(
            d.join("b.rules"),
            "alert ip any any -> any any (msg:\"b\"; classtype:my-class; reference:url,x; flowbits:set,fb; sid:2;)\n\
             alert ip any any -> any any (msg:\"dup\"; sid:1;)\n",
        )
        .unwrap();
        std::fs::write(
            d.join("a.rules"),
            "alert ip any any -> any any (msg:\"a\"; sid:1;)\nalert ip any any -> any any (msg:\"bad\"; content:\"|1|\"; sid:3;)\n\
             alert ip any any -> any any (msg:\"other gid\"; sid:1; gid:2;)\n",
        )
        .unwrap();
        std::fs::write(d.join("notes.txt"), "not rules").unwrap();
        let set = load_rules(&[d.to_path_buf()], keywords(), &VarsConfig::default(), None, None);
        assert_eq!(set.files, 2);
        let msgs: Vec<&str> = set.rules.iter().map(|r| r.msg.as_str()).collect();
        assert_eq!(msgs, ["a", "other gid", "b"]);
        assert_eq!(set.rules[2].priority, 2);
        assert_eq!(set.rules[2].category.as_deref(), Some("My Class"));
        assert_eq!(set.rules[2].references[0].1, "http://x");
        assert_eq!(set.var_names.flowbits, ["fb"]);
        assert_eq!(set.errors.len(), 2);
        assert_eq!((set.errors[0].line, set.errors[0].sid), (2, Some(3)));
        assert!(set.errors[0].file.ends_with("a.rules"));
        assert_eq!(set.errors[1].kind, ErrorKind::DuplicateSid);
        assert_eq!(set.errors[1].line, 2);
        // Explicit configs and files; a missing config is reported and the table falls back.
        let set =
            load_rules(&[d.join("b.rules")], keywords(), &VarsConfig::default(), Some(&d.join("nope.config")), None);
        assert_eq!(set.rules.len(), 1);
        assert!(set.errors.iter().any(|e| e.line == 0 && e.message.contains("classification")));
        assert!(set.errors.iter().any(|e| e.kind == ErrorKind::BadValue("classtype".into())));
        let set = load_rules(&[d.join("missing.rules")], keywords(), &VarsConfig::default(), None, None);
        assert_eq!((set.files, set.errors.len()), (0, 1));
    }
}
