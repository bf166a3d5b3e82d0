//! config: the input is TOML text for a picket config file. Config::load must return Ok or a
//! ConfigError, never panic; a config that loads must validate again and round-trip through
//! TOML.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket::config::Config;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("picket-fuzz-config-{}.toml", std::process::id()));
    std::fs::write(&path, data).expect("write scratch config");
    if let Ok(cfg) = Config::load(Some(&path), &[]) {
        cfg.validate().expect("a loaded config validates");
        let _ = cfg.worker_count();
        let _ = cfg.flow.table_config(1);
    }
});
