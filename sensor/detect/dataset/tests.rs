use super::*;
use crate::rule::ast::{DatasetDecl, DatasetJson, DatasetType};

fn decl(name: &str, kind: DatasetType) -> DatasetDecl {
    DatasetDecl { name: name.into(), kind: Some(kind), ..Default::default() }
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("picket-ds-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[test]
fn values_round_trip_in_suricata_forms() {
    let cases = [
        (DatasetType::String, "ZXhhbXBsZS5jb20=", &b"example.com"[..]),
        (DatasetType::Ipv4, "10.1.2.3", &[10, 1, 2, 3][..]),
        (
            DatasetType::Md5,
            "00112233445566778899aabbccddeeff",
            &[0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff][..],
        ),
    ];
    for (k, text, key) in cases {
        assert_eq!(parse_value(k, text).as_deref(), Ok(key), "{text}");
        assert_eq!(format_value(k, key), text);
    }
    // An IPv4 address in an `ip` set: first 4 bytes, also when written IPv4-mapped.
    let v4 = parse_value(DatasetType::Ip, "192.0.2.1").expect("v4");
    assert_eq!(v4, parse_value(DatasetType::Ip, "::ffff:192.0.2.1").expect("mapped"));
    assert_eq!(&v4[..4], &[192, 0, 2, 1]);
    assert_eq!(format_value(DatasetType::Ip, &v4), "192.0.2.1");
    assert_eq!(format_value(DatasetType::Ip, &parse_value(DatasetType::Ip, "2001:db8::1").expect("v6")), "2001:db8::1");
    assert!(parse_value(DatasetType::Md5, "0011").unwrap_err().contains("32 hex digits"));
    assert!(parse_value(DatasetType::Ipv4, "300.1.1.1").unwrap_err().contains("IPv4"));
    assert!(parse_value(DatasetType::String, "%%%").unwrap_err().contains("base64"));
}

#[test]
fn buffer_keys_follow_the_type() {
    let mut tmp = [0u8; 16];
    assert_eq!(buffer_key(DatasetType::Ipv4, &[1, 2, 3, 4], &mut tmp), Some(&[1u8, 2, 3, 4][..]));
    assert_eq!(buffer_key(DatasetType::Ipv4, &[1, 2, 3], &mut tmp), None);
    assert_eq!(buffer_key(DatasetType::Md5, b"short", &mut tmp), None);
    let k = buffer_key(DatasetType::Ip, &[1, 2, 3, 4], &mut tmp).map(|k| k.to_vec());
    assert_eq!(k, Some(vec![1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
}

#[test]
fn set_unset_and_views_see_changes() {
    let s = get_or_create(&decl("t-views", DatasetType::String), false).expect("set");
    let mut v = Views::default();
    assert_eq!(v.get(&s).get(b"a"), None);
    assert_eq!(s.add(b"a", 0), Added::New);
    assert_eq!(s.add(b"a", 0), Added::Present);
    assert_eq!(v.get(&s).get(b"a"), Some(0));
    assert!(s.remove(b"a"));
    assert!(!s.remove(b"a"));
    assert_eq!(v.get(&s).get(b"a"), None);
    // Many changes fold into the base and stay visible.
    for i in 0..(COMPACT_AT * 2 + 10) {
        assert_eq!(s.add(format!("k{i}").as_bytes(), 0), Added::New);
    }
    for i in (0..COMPACT_AT * 2).step_by(3) {
        assert!(s.remove(format!("k{i}").as_bytes()));
    }
    let snap = v.get(&s);
    assert_eq!(snap.get(b"k1"), Some(0));
    assert_eq!(snap.get(b"k3"), None);
    assert_eq!(snap.len(), s.len());
    // Same name, other case: the same set; another type is an error.
    let again = get_or_create(&decl("T-VIEWS", DatasetType::String), false).expect("same");
    assert!(Arc::ptr_eq(&s, &again));
    let err = get_or_create(&decl("t-views", DatasetType::Md5), false).unwrap_err();
    assert!(err.contains("already exists and is of type string"), "{err}");
    let err = get_or_create(&DatasetDecl { name: "t-undeclared".into(), ..Default::default() }, false).unwrap_err();
    assert!(err.contains("not defined"), "{err}");
}

#[test]
fn memcap_refuses_and_counts() {
    let d = DatasetDecl { memcap: 200, ..decl("t-memcap", DatasetType::String) };
    let s = get_or_create(&d, false).expect("set");
    let mut refused = 0;
    for i in 0..100 {
        if s.add(format!("value-{i}").as_bytes(), 0) == Added::Refused {
            refused += 1;
        }
    }
    assert!(refused > 0);
    assert_eq!(s.refused.load(Ordering::Relaxed), refused);
    // The gauges of /metrics see the set.
    let g = gauges();
    let value = |name: &str| {
        g.iter().find(|f| f.name == name).and_then(|f| f.values.iter().find(|v| v.0 == "t-memcap")).map(|v| v.1)
    };
    assert_eq!(value("picket_dataset_entries"), Some(s.len() as f64));
    assert_eq!(value("picket_dataset_memcap_bytes"), Some(200.0));
    assert_eq!(value("picket_dataset_memcap_refused"), Some(refused as f64));
    assert!(value("picket_dataset_memory_bytes").is_some_and(|m| m > 0.0));
}

#[test]
fn file_lines_beyond_the_memcap_are_counted_as_refused() {
    let dir = tmpdir("memcap-file");
    let f = dir.join("many.lst");
    let lines: String = (0..200).map(|i| format!("{i}.0.0.1\n")).collect();
    std::fs::write(&f, lines).expect("write");
    let d =
        DatasetDecl { load: Some(f.display().to_string()), memcap: 1024, ..decl("t-memcap-file", DatasetType::Ipv4) };
    let s = get_or_create(&d, false).expect("load");
    let refused = s.refused.load(Ordering::Relaxed);
    assert!(refused > 0 && refused as usize + s.len() == 200, "{refused} + {}", s.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_save_state_and_bad_lines() {
    let dir = tmpdir("files");
    let f = dir.join("hosts.lst");
    std::fs::write(&f, "ZXhhbXBsZS5jb20=\n%%bad%%\n\nYmFkLmV4YW1wbGU=\r\n").expect("write");
    let d = DatasetDecl { load: Some(f.display().to_string()), ..decl("t-load", DatasetType::String) };
    let s = get_or_create(&d, false).expect("load");
    assert_eq!(s.len(), 2);
    let snap = s.snapshot();
    assert!(snap.get(b"example.com").is_some() && snap.get(b"bad.example").is_some());
    let (_, res) = read_file(&f, DatasetType::String, KeyHasher::random(), 0, 0).expect("read");
    assert_eq!((res.entries, res.skipped), (2, 1));
    assert!(res.errors[0].contains("hosts.lst:2: bad base64"), "{:?}", res.errors);
    // Mixed plain and reputation lines: refused with the line.
    let m = dir.join("mixed.lst");
    std::fs::write(&m, "10.0.0.1\n10.0.0.2,5\n").expect("write");
    let err = read_file(&m, DatasetType::Ipv4, KeyHasher::random(), 0, 0).unwrap_err();
    assert!(err.contains("mixed.lst:2: cannot mix"), "{err}");
    // A missing load file is an error naming it.
    let d = DatasetDecl {
        load: Some(dir.join("none.lst").display().to_string()),
        ..decl("t-missing", DatasetType::String)
    };
    assert!(get_or_create(&d, false).unwrap_err().contains("none.lst"));
    // Reputation file, saved back with its values.
    let r = dir.join("rep.csv");
    std::fs::write(&r, "10.0.0.1,5\n10.0.0.2,70\n").expect("write");
    let d = DatasetDecl { load: Some(r.display().to_string()), ..decl("t-rep", DatasetType::Ipv4) };
    let s = get_or_create(&d, true).expect("rep");
    assert_eq!(s.snapshot().get(&[10, 0, 0, 2]), Some(70));
    let out = dir.join("out.csv");
    assert_eq!(write_file(&s, &out, true), Ok(2));
    let mut lines: Vec<String> = std::fs::read_to_string(&out).expect("read").lines().map(String::from).collect();
    lines.sort();
    assert_eq!(lines, ["10.0.0.1,5", "10.0.0.2,70"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bulk_loads_keep_line_by_line_semantics_across_blocks_and_batches() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let dir = tmpdir("bulk");
    let f = dir.join("bulk.lst");
    // 300 names, each twice with other reputations (the first wins), CRLF and padded lines,
    // bad lines of every kind, a last line without its newline.
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&format!("{},{}\r\n", b64(&format!("h{i}.example")), i % 7));
    }
    for i in (0..300).rev() {
        text.push_str(&format!(" {}\x0b, 9\n", b64(&format!("h{i}.example"))));
    }
    text.push_str("%%,1\n\nYQ==,70000\nYQ==,1,2\n\u{e9}t\u{e9},1\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"\xff,1\n");
    bytes.extend_from_slice(format!("{},3", b64("last.example")).as_bytes());
    std::fs::write(&f, &bytes).expect("write");
    let h = KeyHasher::random();
    let (reference, rres) = read_file(&f, DatasetType::String, h, 0, 1 << 30).expect("line by line");
    for (block, batch) in [(7, 1), (64, 5), (1 << 20, 1 << 20), (3, 1000)] {
        let (t, res) = text::read_with(&f, DatasetType::String, h, 0, 0, block, batch).expect("bulk");
        assert_eq!((res.entries, res.skipped, t.len()), (301, 5, 301), "block {block} batch {batch}");
        assert_eq!(res.errors, rres.errors);
        for i in 0..300 {
            assert_eq!(t.get(format!("h{i}.example").as_bytes()), Some(i % 7), "h{i}");
        }
        assert_eq!(t.get(b"last.example"), Some(3));
        let mut a: Vec<(Vec<u8>, u32)> = t.iter().map(|(k, r)| (k.to_vec(), r)).collect();
        let mut b: Vec<(Vec<u8>, u32)> = reference.iter().map(|(k, r)| (k.to_vec(), r)).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
    let e = &rres.errors;
    assert!(e[0].ends_with("bulk.lst:601: bad base64 '%%': Invalid symbol 37, offset 0."), "{e:?}");
    assert!(e[1].ends_with("bulk.lst:603: invalid reputation '70000'"), "{e:?}");
    assert!(e[2].ends_with("bulk.lst:604: more than two fields"), "{e:?}");
    assert!(e[3].contains("bulk.lst:605: bad base64 '\u{e9}t\u{e9}'"), "{e:?}");
    assert!(e[4].ends_with("bulk.lst:606: not UTF-8"), "{e:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn control_commands_answer_as_suricata() {
    let s = get_or_create(&decl("t-ctl", DatasetType::String), false).expect("set");
    let mut v = Views::default();
    let b64 = "ZXZpbC5leGFtcGxl"; // evil.example
    assert_eq!(control("dataset-lookup", "t-ctl", "string", Some(b64)), Err("item not found in set".into()));
    assert_eq!(control("dataset-add", "t-ctl", "string", Some(b64)), Ok("data added".into()));
    // The worker's cached snapshot sees it at its next lookup: no reload.
    assert_eq!(v.get(&s).get(b"evil.example"), Some(0));
    assert_eq!(control("dataset-add", "T-CTL", "string", Some(b64)), Ok("data already in set".into()));
    assert_eq!(control("dataset-lookup", "t-ctl", "string", Some(b64)), Ok("item found in set".into()));
    assert_eq!(control("dataset-add", "t-ctl", "md5", Some(b64)), Err("set not found or wrong type".into()));
    assert_eq!(control("dataset-add", "t-ctl", "blob", Some(b64)), Err("unknown settype".into()));
    assert!(control("dataset-add", "t-ctl", "string", Some("%%")).unwrap_err().contains("base64"));
    assert_eq!(control("dataset-remove", "t-ctl", "string", Some(b64)), Ok("data removed".into()));
    assert_eq!(v.get(&s).get(b"evil.example"), None);
    control("dataset-add", "t-ctl", "string", Some(b64)).expect("add");
    assert_eq!(control("dataset-clear", "t-ctl", "string", None), Ok("dataset cleared".into()));
    assert!(v.get(&s).is_empty());
}

fn json_decl(name: &str, kind: DatasetType, file: &Path, spec: DatasetJson) -> DatasetDecl {
    DatasetDecl { load: Some(file.display().to_string()), json: Some(spec), ..decl(name, kind) }
}

#[test]
fn json_sets_keep_each_entry_object_as_its_context() {
    let dir = tmpdir("json");
    let f = dir.join("feed.json");
    std::fs::write(
        &f,
        r#"{"data": {"list": [
            {"host": {"name": "evil.example"}, "z": 1, "a": {"y": true, "b": null}, "note": "caf\u00e9 \"x\""},
            {"other": 1},
            {"host": {"name": 7}},
            {"host": {"name": "evil.example"}, "dup": true},
            {"host": {"name": "good.example"}, "score": 1.5}
        ]}}"#,
    )
    .expect("write");
    let spec = DatasetJson { value_key: "host.name".into(), array_key: "data.list".into(), ..Default::default() };
    let s = get_or_create(&json_decl("t-json", DatasetType::String, &f, spec.clone()), false).expect("json set");
    assert_eq!(s.len(), 2);
    let snap = s.snapshot();
    let r = snap.get(b"evil.example").expect("entry");
    // Compact, keys in the file's order, the first object of a value kept.
    assert_eq!(
        s.context(r),
        Some(r#"{"host":{"name":"evil.example"},"z":1,"a":{"y":true,"b":null},"note":"café \"x\""}"#)
    );
    assert_eq!(
        s.context(snap.get(b"good.example").expect("entry")),
        Some(r#"{"host":{"name":"good.example"},"score":1.5}"#)
    );
    assert_eq!(s.context(0), None);
    let l = json::read_json(&f, DatasetType::String, &spec, KeyHasher::random(), 0).expect("read");
    assert_eq!((l.res.entries, l.res.skipped), (2, 1));
    assert!(l.res.errors[0].contains("element 2: the value at 'host.name' is not a string"), "{:?}", l.res.errors);
    // remove_key drops a top-level value key; ndjson reads a line each; IPv4 values parse.
    let nd = dir.join("ips.ndjson");
    std::fs::write(&nd, "{\"ip\":\"192.0.2.1\",\"why\":\"scan\"}\n\n{\"ip\":\"300.1.1.1\"}\nnot json\n")
        .expect("write");
    let spec = DatasetJson { ndjson: true, value_key: "ip".into(), remove_key: true, ..Default::default() };
    let s = get_or_create(&json_decl("t-ndjson", DatasetType::Ipv4, &nd, spec.clone()), false).expect("ndjson");
    let r = s.snapshot().get(&[192, 0, 2, 1]).expect("entry");
    assert_eq!(s.context(r), Some(r#"{"why":"scan"}"#));
    let l = json::read_json(&nd, DatasetType::Ipv4, &spec, KeyHasher::random(), 0).expect("read");
    assert_eq!((l.res.entries, l.res.skipped), (1, 2), "{:?}", l.res.errors);
    // Errors name the file and what is wrong; a csv set of the same name is refused.
    let spec = DatasetJson { value_key: "nothere".into(), array_key: "data.list".into(), ..Default::default() };
    let err = get_or_create(&json_decl("t-json-none", DatasetType::String, &f, spec), false).unwrap_err();
    assert!(err.contains("feed.json: no valid entries for key 'nothere'"), "{err}");
    let spec = DatasetJson { value_key: "host.name".into(), array_key: "data".into(), ..Default::default() };
    let err = get_or_create(&json_decl("t-json-noarr", DatasetType::String, &f, spec), false).unwrap_err();
    assert!(err.contains("no array at key 'data'"), "{err}");
    let err = get_or_create(&decl("t-json", DatasetType::String), false).unwrap_err();
    assert!(err.contains("another format"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn binary_state_round_trips_and_damaged_or_stale_ones_fall_back_counted() {
    let dir = tmpdir("state");
    let text = dir.join("seen.lst");
    // example.com, evil.example
    std::fs::write(&text, "ZXhhbXBsZS5jb20=\nZXZpbC5leGFtcGxl\n").expect("write");
    let (t, _) = read_file(&text, DatasetType::String, KeyHasher::random(), 0, 0).expect("read");
    let mut snap = Snapshot::of(t);
    // An entry only the binary state has: seeing it proves the state was read, not the text.
    snap.added.insert(b"only-in-state", 0);
    let bin = state::beside(&text);
    assert_eq!(state::write(&bin, &text, DatasetType::String, &snap), Ok(3));
    let t = state::read(&bin, &text, DatasetType::String).expect("state");
    assert_eq!((t.len(), t.get(b"evil.example"), t.get(b"only-in-state")), (3, Some(0), Some(0)));
    assert!(matches!(state::read(&bin, &text, DatasetType::Md5), Err(state::Unusable::Stale(_))));
    assert_eq!(state::read(&dir.join("none.pkds"), &text, DatasetType::String).err(), Some(state::Unusable::Missing));
    let state_decl = |name: &str| DatasetDecl {
        load: Some(text.display().to_string()),
        save: Some(text.display().to_string()),
        ..decl(name, DatasetType::String)
    };
    let s = get_or_create(&state_decl("t-state-ok"), false).expect("set");
    assert_eq!((s.len(), s.state_fallbacks.load(Ordering::Relaxed)), (3, 0));
    // Damaged: a flipped byte, then a truncated file. The text is read; each is counted.
    let good = std::fs::read(&bin).expect("read");
    let mut bad = good.clone();
    bad[100] ^= 1;
    std::fs::write(&bin, &bad).expect("write");
    assert_eq!(
        state::read(&bin, &text, DatasetType::String).err(),
        Some(state::Unusable::Damaged("checksum mismatch".into()))
    );
    let s = get_or_create(&state_decl("t-state-bad"), false).expect("set");
    assert_eq!((s.len(), s.snapshot().get(b"only-in-state")), (2, None));
    assert_eq!(s.state_fallbacks.load(Ordering::Relaxed), 1);
    std::fs::write(&bin, &good[..good.len() - 3]).expect("write");
    assert!(matches!(state::read(&bin, &text, DatasetType::String), Err(state::Unusable::Damaged(_))));
    std::fs::write(&bin, b"PKTDSET").expect("write");
    assert!(matches!(state::read(&bin, &text, DatasetType::String), Err(state::Unusable::Damaged(_))));
    // Stale: the text changed since the state was made (another length).
    std::fs::write(&bin, &good).expect("write");
    std::fs::write(&text, "ZXhhbXBsZS5jb20=\n").expect("write");
    assert!(matches!(state::read(&bin, &text, DatasetType::String), Err(state::Unusable::Stale(_))));
    let s = get_or_create(&state_decl("t-state-stale"), false).expect("set");
    assert_eq!((s.len(), s.state_fallbacks.load(Ordering::Relaxed)), (1, 1));
    let _ = std::fs::remove_dir_all(&dir);
}
