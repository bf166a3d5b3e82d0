//! `classification.config` and `reference.config`, as Suricata reads them.
//!
//! - `config classification: <name>,<description>,<priority>`: a rule's `classtype` gives it a
//!   priority (unless `priority` is set) and the category text of its alerts.
//! - `config reference: <type> <url prefix>`: a rule's `reference:<type>,<value>` becomes
//!   `<url prefix><value>`.
//!
//! Names are matched case-insensitively. Lines that do not parse are skipped with a warning,
//! as Suricata does. When no classification.config is found, [`DEFAULT_CLASSIFICATIONS`] (the
//! table Suricata ships) is used.

use std::collections::HashMap;

/// One classtype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClassType {
    /// Short name, as written in the config.
    pub(crate) name: String,
    /// Description (EVE `alert.category`).
    pub(crate) description: String,
    /// Priority (EVE `alert.severity`).
    pub(crate) priority: u8,
}

/// Suricata's default classification table (`etc/classification.config`): name,
/// description, priority.
pub(crate) const DEFAULT_CLASSIFICATIONS: &[(&str, &str, u8)] = &[
    ("not-suspicious", "Not Suspicious Traffic", 3),
    ("unknown", "Unknown Traffic", 3),
    ("bad-unknown", "Potentially Bad Traffic", 2),
    ("attempted-recon", "Attempted Information Leak", 2),
    ("successful-recon-limited", "Information Leak", 2),
    ("successful-recon-largescale", "Large Scale Information Leak", 2),
    ("attempted-dos", "Attempted Denial of Service", 2),
    ("successful-dos", "Denial of Service", 2),
    ("attempted-user", "Attempted User Privilege Gain", 1),
    ("unsuccessful-user", "Unsuccessful User Privilege Gain", 1),
    ("successful-user", "Successful User Privilege Gain", 1),
    ("attempted-admin", "Attempted Administrator Privilege Gain", 1),
    ("successful-admin", "Successful Administrator Privilege Gain", 1),
    ("rpc-portmap-decode", "Decode of an RPC Query", 2),
    ("shellcode-detect", "Executable code was detected", 1),
    ("string-detect", "A suspicious string was detected", 3),
    ("suspicious-filename-detect", "A suspicious filename was detected", 2),
    ("suspicious-login", "An attempted login using a suspicious username was detected", 2),
    ("system-call-detect", "A system call was detected", 2),
    ("tcp-connection", "A TCP connection was detected", 4),
    ("trojan-activity", "A Network Trojan was detected", 1),
    ("unusual-client-port-connection", "A client was using an unusual port", 2),
    ("network-scan", "Detection of a Network Scan", 3),
    ("denial-of-service", "Detection of a Denial of Service Attack", 2),
    ("non-standard-protocol", "Detection of a non-standard protocol or event", 2),
    ("protocol-command-decode", "Generic Protocol Command Decode", 3),
    ("web-application-activity", "access to a potentially vulnerable web application", 2),
    ("web-application-attack", "Web Application Attack", 1),
    ("misc-activity", "Misc activity", 3),
    ("misc-attack", "Misc Attack", 2),
    ("icmp-event", "Generic ICMP event", 3),
    ("inappropriate-content", "Inappropriate Content was Detected", 1),
    ("policy-violation", "Potential Corporate Privacy Violation", 1),
    ("default-login-attempt", "Attempt to login by a default username and password", 2),
    ("targeted-activity", "Targeted Malicious Activity was Detected", 1),
    ("exploit-kit", "Exploit Kit Activity Detected", 1),
    ("external-ip-check", "Device Retrieving External IP Address Detected", 2),
    ("domain-c2", "Domain Observed Used for C2 Detected", 1),
    ("pup-activity", "Possibly Unwanted Program Detected", 2),
    ("credential-theft", "Successful Credential Theft Detected", 1),
    ("social-engineering", "Possible Social Engineering Attempted", 2),
    ("coin-mining", "Crypto Currency Mining Activity Detected", 2),
    ("command-and-control", "Malware Command and Control Activity Detected", 1),
];

/// A classification table.
#[derive(Clone, Debug, Default)]
pub(crate) struct Classifications {
    map: HashMap<String, ClassType>,
}

impl Classifications {
    /// Suricata's default table.
    pub(crate) fn builtin() -> Classifications {
        let map = DEFAULT_CLASSIFICATIONS
            .iter()
            .map(|&(n, d, p)| {
                (n.to_ascii_lowercase(), ClassType { name: n.to_string(), description: d.to_string(), priority: p })
            })
            .collect();
        Classifications { map }
    }

    /// Parses a classification.config; returns the table and a warning per skipped line.
    pub(crate) fn parse(text: &str) -> (Classifications, Vec<String>) {
        let mut map = HashMap::new();
        let mut warnings = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            match parse_class_line(l) {
                Some(c) => {
                    map.insert(c.name.to_ascii_lowercase(), c);
                }
                None => warnings.push(format!("line {}: not a classification: {}", i + 1, one_line(l))),
            }
        }
        (Classifications { map }, warnings)
    }

    /// The classtype called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&ClassType> {
        if name.bytes().any(|c| c.is_ascii_uppercase()) {
            self.map.get(&name.to_ascii_lowercase())
        } else {
            self.map.get(name)
        }
    }

    /// Number of classtypes (the tests check the tables' sizes).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// `config classification: name,description,priority`.
fn parse_class_line(l: &str) -> Option<ClassType> {
    let rest = strip_config(l, "classification")?;
    let (name, rest) = rest.split_once(',')?;
    let (desc, prio) = rest.rsplit_once(',')?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let priority: u8 = prio.trim().parse().ok()?;
    Some(ClassType { name: name.to_string(), description: desc.trim().to_string(), priority })
}

/// `config <what>:` prefix removed.
fn strip_config<'a>(l: &'a str, what: &str) -> Option<&'a str> {
    let rest = l.strip_prefix("config")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start().strip_prefix(what)?;
    rest.trim_start().strip_prefix(':')
}

/// Parses a reference.config: type (lowercase) -> URL prefix, and a warning per skipped line.
pub(crate) fn parse_references(text: &str) -> (HashMap<String, String>, Vec<String>) {
    let mut map = HashMap::new();
    let mut warnings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let parsed = strip_config(l, "reference").and_then(|rest| {
            let rest = rest.trim();
            let (key, url) = rest.split_once(char::is_whitespace)?;
            let url = url.trim();
            let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            (key_ok && !url.is_empty()).then(|| (key.to_ascii_lowercase(), url.to_string()))
        });
        match parsed {
            Some((k, u)) => {
                map.insert(k, u);
            }
            None => warnings.push(format!("line {}: not a reference type: {}", i + 1, one_line(l))),
        }
    }
    (map, warnings)
}

fn one_line(s: &str) -> String {
    let mut s: String = s.chars().take(120).collect();
    s.retain(|c| !c.is_control());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table() {
        let c = Classifications::builtin();
        assert_eq!(c.len(), DEFAULT_CLASSIFICATIONS.len());
        let t = c.get("trojan-activity").unwrap();
        assert_eq!((t.description.as_str(), t.priority), ("A Network Trojan was detected", 1));
        assert_eq!(c.get("Trojan-Activity").map(|t| t.priority), Some(1));
        assert!(c.get("nope").is_none());
    }

    #[test]
    fn parse_classification_config() {
        let text = "# comment\n\nconfig classification: bad-unknown,Potentially Bad Traffic, 2\n\
                    config classification: a,With, commas,3\nconfig classification: broken\n\
                    config classification: x,y,999\n";
        let (c, w) = Classifications::parse(text);
        assert_eq!(c.get("bad-unknown").map(|t| t.priority), Some(2));
        assert_eq!(c.get("a").map(|t| t.description.as_str()), Some("With, commas"));
        assert_eq!(c.len(), 2);
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn parse_reference_config() {
        let (r, w) = parse_references(
            "config reference: cve       https://cve.mitre.org/?name=\nconfig reference: URL\thttps://\nbad line\n",
        );
        assert_eq!(r.get("cve").map(String::as_str), Some("https://cve.mitre.org/?name="));
        assert_eq!(r.get("url").map(String::as_str), Some("https://"));
        assert_eq!(w.len(), 1);
    }
}
