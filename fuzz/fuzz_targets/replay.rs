//! replay: the input is a capture file replayed end to end (reader, decoder, defrag, flow
//! table, stream, detection, EVE output) by picket::runtime::replay with one worker, a small
//! flow memcap and a built-in rule set using content, pcre, byte_test, flowbits and
//! threshold. Every EVE line written must be a JSON object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::config::Config;
use picket::detect::engine::DetectEngine;
use picket::runtime::replay::{replay, ReplayOptions};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

const RULES: &str = r#"
alert tcp any any -> any any (msg:"fuzz content"; flow:established,to_server; content:"GET "; depth:4; content:".exe"; distance:0; sid:1;)
alert tcp any any -> any any (msg:"fuzz pcre"; content:"HTTP/1."; pcre:"/^HTTP\/1\.[01] [0-9]{3}/m"; sid:2;)
alert udp any any -> any any (msg:"fuzz byte_test"; dsize:>4; byte_test:2,>,1000,0; byte_test:1,&,0x80,2,relative; sid:3;)
alert tcp any any -> any any (msg:"fuzz flowbits set"; flow:to_server; content:"USER "; flowbits:set,fuzz.user; flowbits:noalert; sid:4;)
alert tcp any any -> any any (msg:"fuzz flowbits isset"; content:"PASS "; flowbits:isset,fuzz.user; sid:5;)
alert icmp any any -> any any (msg:"fuzz threshold"; itype:8; threshold:type both, track by_src, count 2, seconds 10; sid:6;)
alert ip any any -> any any (msg:"fuzz any ip"; threshold:type limit, track by_dst, count 1, seconds 60; sid:7;)
alert tcp any any -> any any (msg:"fuzz bytes"; content:"|0d 0a 0d 0a|"; byte_extract:1,0,len,relative; isdataat:len,relative; sid:8;)
"#;

fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("picket-fuzz-replay-{}", std::process::id()))
}

fn setup() -> &'static (Config, Arc<DetectEngine>) {
    static S: OnceLock<(Config, Arc<DetectEngine>)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = scratch_dir();
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let rules = dir.join("fuzz.rules");
        std::fs::write(&rules, RULES).expect("write rules");
        let mut cfg = Config::default();
        cfg.runtime.workers = 1;
        cfg.runtime.batch_packets = 16;
        cfg.runtime.queue_batches = 2;
        cfg.flow.memcap_bytes = 1 << 20;
        cfg.validate().expect("fuzz config validates");
        let (eng, _) = picket::detect::load_engine(&[rules], &cfg.detect, &cfg.vars);
        assert!(eng.errors.is_empty(), "built-in fuzz rules must load: {:?}", eng.errors);
        assert_eq!(eng.rules.len(), 8, "built-in fuzz rules must all load");
        (cfg, Arc::new(eng))
    })
}

fuzz_target!(|data: &[u8]| {
    let (cfg, eng) = setup();
    let dir = scratch_dir();
    let input = dir.join("input.pcap");
    let eve = dir.join("eve.json");
    std::fs::write(&input, data).expect("write scratch capture");
    let opts = ReplayOptions {
        inputs: vec![input],
        eve: Some(eve.clone()),
        workers: Some(1),
        config: cfg.clone(),
        progress: false,
        verbose: false,
        detect: Some(eng.clone()),
        metrics: None,
        watch: None,
    };
    match replay(opts) {
        Ok(s) => assert!(s.output_error.is_none(), "EVE output error: {:?}", s.output_error),
        // A bad capture is reported as a warning, not an error: an Err here is a thread that
        // panicked or an I/O failure on the scratch files; both are bugs worth a crash.
        Err(e) => panic!("replay failed: {e:#}"),
    }
    let out = std::fs::read(&eve).expect("read EVE output");
    for (i, line) in out.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v) => assert!(v.is_object(), "EVE line {} is not a JSON object", i + 1),
            Err(e) => panic!("EVE line {} is not valid JSON ({e}): {}", i + 1, String::from_utf8_lossy(line)),
        }
    }
});
