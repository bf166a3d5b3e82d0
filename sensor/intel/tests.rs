use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/intel").join(name)
}

fn file<'a>(o: &'a Output, name: &str) -> &'a str {
    let body = o.files.iter().find(|(n, _)| n == name).map(|(_, b)| b.as_slice());
    std::str::from_utf8(
        body.unwrap_or_else(|| panic!("no {name} in {:?}", o.files.iter().map(|f| &f.0).collect::<Vec<_>>())),
    )
    .expect("utf-8")
}

#[test]
fn misp_event_to_datasets_and_rules() {
    let feed = read_feed(&fixture("misp-event.json")).expect("misp");
    assert_eq!(feed.format, "misp");
    assert_eq!(feed.events.len(), 1);
    let ev = &feed.events[0];
    assert_eq!((ev.id.as_str(), ev.tags.len()), ("1287", 2));
    let kinds: Vec<Kind> = ev.indicators.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, [Kind::Domain, Kind::Url, Kind::Ip, Kind::Sha256, Kind::Md5]);
    // Hashes are lowercased; the object's md5 is found.
    assert!(ev
        .indicators
        .iter()
        .any(|i| i.value == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
    assert_eq!(feed.skipped.len(), 3, "{:?}", feed.skipped);
    assert!(feed.skipped.iter().any(|s| s.contains("Event.Attribute[4] (regkey): type not matched")));
    assert!(feed.skipped.iter().any(|s| s.contains("Event.Attribute[5] (domain): to_ids is false")));
    let o = render(&feed, "circl", Some(9_200_000)).expect("render");
    assert_eq!(o.sid_range, (9_200_000, 9_209_999));
    // 3 domain rules, md5, sha256, url, 2 address rules.
    assert_eq!(o.rules, 8);
    assert_eq!(file(&o, "circl-e0-domain.lst"), "LmV4YW1wbGUuY29t\n"); // ".example.com"
    assert_eq!(file(&o, "circl-e0-md5.lst"), "d41d8cd98f00b204e9800998ecf8427e\n");
    let rules = file(&o, "circl.rules");
    assert!(rules.contains(
        "alert dns any any -> any any (msg:\"PICKET-INTEL circl event 1287 (Fake updater campaign delivering loader): domain in a DNS query\"; dns.query; to_lowercase; dotprefix; dataset:isset,circl-e0-domain, type string, load circl-e0-domain.lst, match subdomain; sid:9200000; rev:1; metadata:intel_source circl, intel_event 1287, intel_tag tlp:green, intel_tag misp-galaxy:malpedia=_SmokeLoader_;)"
    ), "{rules}");
    assert!(rules.contains(
        "http.host; content:\"updates.example.com\"; bsize:19; http.uri; content:\"/download/update.exe\"; bsize:20;"
    ));
    assert!(rules.contains("alert ip any any -> [198.51.100.20] any"));
    // Every rule parses with the sensor's own parser.
    let kw = crate::rule::Keywords::new(crate::app::keywords());
    let mut ctx = crate::rule::ParseContext::new(&crate::rule::VarsConfig::default());
    for line in rules.lines().filter(|l| l.starts_with("alert")) {
        crate::rule::parse_rule(line, &kw, &mut ctx).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

#[test]
fn stix_bundle_groups_by_report_and_skips_what_it_cannot_match() {
    let feed = read_feed(&fixture("stix-bundle.json")).expect("stix");
    assert_eq!(feed.format, "stix");
    assert_eq!(feed.events.len(), 2);
    let report = &feed.events[0];
    assert_eq!(report.id, "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3");
    assert_eq!(report.tags, ["tlp:amber"]);
    let vals: Vec<&str> = report.indicators.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(vals, ["updates.example.com", "cdn.updates.example.net", "198.51.100.53"]);
    assert_eq!(feed.events[1].indicators[0].kind, Kind::Sha256);
    assert_eq!(feed.skipped.len(), 2, "{:?}", feed.skipped);
    assert!(feed.skipped.iter().any(|s| s.contains("indicator--d1e2f3a4") && s.contains("AND")));
    assert!(feed.skipped.iter().any(|s| s.contains("pattern_type yara")));
}

#[test]
fn malformed_feeds_name_the_element() {
    let dir = std::env::temp_dir().join(format!("picket-intel-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cases = [
        (r#"{"Event": {"id": "1", "Attribute": [{"type": "domain"}]}}"#, "Event.Attribute[0]: no \"value\""),
        (r#"{"Event": {"id": "1", "Attribute": {"type": "domain"}}}"#, "Event.Attribute: not a list"),
        (r#"[{"Event": {"id": "1"}}, {"event": {}}]"#, "[1]: no \"Event\" object"),
        (r#"{"Event": {"info": "x"}}"#, "Event: no \"id\" or \"uuid\""),
        (
            r#"{"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1"}]}"#,
            "objects[0] (indicator) indicator--1: no \"pattern\"",
        ),
        (r#"{"type": "bundle"}"#, "bundle: no \"objects\" list"),
        ("{\"Event\": {\"id\": \"1\",\n \"Attribute\": [}}", "not valid JSON (line 2"),
        ("domain\n", "CSV row 1: no value"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let p = dir.join(format!("f{i}.json"));
        std::fs::write(&p, text).expect("write");
        let err = read_feed(&p).expect_err(text);
        assert!(err.contains(want), "{text}: {err}");
        assert!(err.starts_with(&p.display().to_string()), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn csv_feed_and_values() {
    let f = read_csv(
        "type,value,event\ndomain,Evil.Example,ev1\nip-dst|port,203.0.113.9|443,ev1\nmd5,zz,ev2\nmutex,abc,ev2\n",
    )
    .expect("csv");
    assert_eq!(f.events.len(), 1);
    assert_eq!(
        f.events[0].indicators,
        [
            Indicator { kind: Kind::Domain, value: "evil.example".into() },
            Indicator { kind: Kind::Ip, value: "203.0.113.9".into() }
        ]
    );
    assert_eq!(f.skipped.len(), 2, "{:?}", f.skipped);
    assert!(normalise(Kind::Ip, "10.0.0.0/8").is_ok());
    assert!(normalise(Kind::Ip, "10.0.0.0/200").is_err());
    assert!(normalise(Kind::Domain, "a b").is_err());
    assert_eq!(
        stix::comparisons("[url:value = 'http://x/it\\'s']").expect("p"),
        [("url".to_string(), "value".to_string(), "http://x/it's".to_string())]
    );
    assert!(stix::comparisons("[file:size > 10]").unwrap_err().contains("operator"));
    assert_eq!(rules::default_sid_base("circl"), rules::default_sid_base("circl"));
}
