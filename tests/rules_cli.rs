//! `picket rules keywords`: every keyword of the table rules are read with, as text and JSON,
//! each with a description and a link to its documentation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails by panicking")]

use crate::common;

use common::*;
use serde_json::Value;

#[test]
fn rules_keywords_json_lists_every_row_with_description_and_link() {
    let (code, stdout, stderr) = picket(["rules", "keywords", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("one JSON document");
    let rows = doc.as_array().expect("an array");
    assert!(rows.len() > 300, "{} rows", rows.len());
    let row = |name: &str| -> &Value {
        rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no row for {name}"))
    };
    let ttl = row("ttl");
    assert_eq!((ttl["kind"].as_str(), ttl["value"].as_str()), (Some("packet"), Some("required")));
    assert!(ttl["protocol"].is_null());
    assert_eq!(ttl["documentation"], "https://docs.suricata.io/en/latest/rules/header-keywords.html#ttl");
    let uri = row("http.uri");
    assert_eq!((uri["kind"].as_str(), uri["protocol"].as_str()), (Some("sticky-buffer"), Some("http")));
    // a sticky buffer takes at most the side it is read from (`http.connection: to_client`)
    assert_eq!(uri["value"], "optional");
    let file_data = row("file.data");
    assert_eq!(file_data["aliases"], serde_json::json!(["file_data"]));
    assert!(file_data["protocol"].is_null());
    let opcode = row("dns.opcode");
    assert_eq!((opcode["kind"].as_str(), opcode["protocol"].as_str()), (Some("app-layer-value"), Some("dns")));
    assert_eq!(row("http_uri")["kind"], "legacy-modifier");
    assert_eq!(row("nocase")["kind"], "content-modifier");
    assert_eq!(row("xbits")["kind"], "flow");
    assert_eq!(row("geoip")["kind"], "unsupported");
    assert_eq!(row("fast_pattern")["value"], "optional");
    for r in rows {
        let name = r["name"].as_str().expect("a name");
        assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{name}: no description");
        let link = r["documentation"].as_str().unwrap_or("");
        assert!(link.starts_with("https://docs.suricata.io/en/latest/rules/"), "{name}: {link}");
    }
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted, "sorted by name, each once");
}

#[test]
fn rules_keywords_text_has_a_block_per_keyword() {
    let (code, stdout, stderr) = picket(["rules", "keywords"]);
    assert_eq!(code, 0, "{stderr}");
    let ttl = stdout.lines().position(|l| l == "ttl (packet, value required)").expect("a ttl block");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[ttl + 1].starts_with("    ") && lines[ttl + 1].contains("time-to-live"), "{}", lines[ttl + 1]);
    assert_eq!(lines[ttl + 2], "    https://docs.suricata.io/en/latest/rules/header-keywords.html#ttl");
    assert!(stdout.contains("\nfile.data (sticky-buffer, value optional, also file_data)\n"), "{stdout}");
    assert!(stdout.contains("\ndns.query (sticky-buffer, value optional, protocol dns, also dns_query)\n"));
    let blocks = lines.iter().filter(|l| !l.starts_with(' ')).count() - 1;
    assert_eq!(lines.last().copied(), Some(format!("{blocks} keywords").as_str()));
}
