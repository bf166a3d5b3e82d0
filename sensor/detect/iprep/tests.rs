use super::*;
use crate::rule::ast::{Iprep, IprepSide, IprepTest, NumCmp};

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("picket-iprep-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::create_dir_all(&d);
    d
}

fn load(cats: &str, reps: &str) -> Reputation {
    let d = dir();
    std::fs::write(d.join("categories.txt"), cats).expect("write");
    std::fs::write(d.join("rep.list"), reps).expect("write");
    let cfg = ReputationConfig {
        categories_file: "categories.txt".into(),
        default_path: d.to_string_lossy().into_owned(),
        files: vec!["rep.list".into()],
        memcap: 0,
    };
    Reputation::load(&cfg).expect("loads").expect("configured")
}

fn pkt(src: [u8; 4], dst: [u8; 4]) -> Decoded {
    let mut d = Decoded { flags: crate::decode::flags::IPV4, ..Default::default() };
    d.src[..4].copy_from_slice(&src);
    d.dst[..4].copy_from_slice(&dst);
    d
}

fn kw(rep: &Reputation, side: IprepSide, cat: &str, test: IprepTest) -> Iprep {
    Iprep { side, category: cat.into(), cat: rep.category(cat).expect("category"), test }
}

#[test]
fn hosts_networks_longest_prefix_and_sides() {
    let rep = load(
        "1,BadHosts,Known bad hosts\n2,Spam,Spammers\n",
        "ip,cat,score\n# comment\n10.0.0.1,1,90\n10.0.0.0/8,1,10\n10.1.0.0/16,1,50\n192.0.2.0/24,2,70\n",
    );
    assert_eq!((rep.stats.hosts, rep.stats.networks, rep.stats.bad_lines), (1, 3, 0));
    let a = |v| Addr::of(&[10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], false).masked(32).bits == v;
    assert!(a(0x0a01_0203));
    let v = |ip: [u8; 4], cat| {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&ip);
        rep.value(cat, Addr::of(&b, false))
    };
    assert_eq!(v([10, 1, 2, 3], 1), Some(50), "the /16 is longer than the /8");
    assert_eq!(v([10, 2, 2, 3], 1), Some(10));
    assert_eq!(v([10, 0, 0, 1], 1), Some(90), "host first");
    assert_eq!(v([10, 0, 0, 1], 2), Some(0), "a listed host has 0 in other categories (Suricata)");
    assert_eq!(v([11, 0, 0, 1], 1), None);
    assert_eq!(v([192, 0, 2, 9], 2), Some(70));
    let gt = |side, n| kw(&rep, side, "BadHosts", IprepTest::Cmp(NumCmp::Gt(n)));
    let p = pkt([10, 1, 2, 3], [8, 8, 8, 8]);
    assert!(rep.check(&gt(IprepSide::Src, 40), &p));
    assert!(!rep.check(&gt(IprepSide::Dst, 40), &p));
    assert!(rep.check(&gt(IprepSide::Any, 40), &p));
    assert!(!rep.check(&gt(IprepSide::Both, 40), &p));
    assert!(rep.check(&gt(IprepSide::Both, 5), &pkt([10, 1, 2, 3], [10, 9, 9, 9])));
    assert!(!rep.check(&gt(IprepSide::Src, 50), &p));
    let notset = kw(&rep, IprepSide::Dst, "BadHosts", IprepTest::IsNotSet);
    assert!(rep.check(&notset, &p));
    let isset = kw(&rep, IprepSide::Any, "Spam", IprepTest::IsSet);
    assert!(!rep.check(&isset, &p));
    assert!(rep.check(&isset, &pkt([1, 1, 1, 1], [192, 0, 2, 1])));
}

#[test]
fn bad_lines_are_counted_with_file_line_and_reason() {
    let rep = load(
        "1,Bad,x\n0,Zero,x\n2,Bad,dup\nx,Y,z\n",
        "10.0.0.1,1,200\n10.0.0.2,9,5\nnot-an-ip,1,5\n10.0.0.0/40,1,5\n10.0.0.3,1\n10.0.0.4,1,5\n",
    );
    assert_eq!(rep.stats.categories, 1);
    assert_eq!(rep.stats.hosts, 1);
    assert_eq!(rep.stats.bad_lines, 3 + 5);
    let all = rep.messages.join("\n");
    for want in [
        "categories.txt:2: category id '0' is not 1-59",
        "categories.txt:3: category 2 or name 'Bad' defined twice",
        "rep.list:1: value '200' is not 0-127",
        "rep.list:2: category 9 is not in the categories file",
        "rep.list:3: 'not-an-ip' is not an IP address",
        "rep.list:4: bad prefix length '40'",
        "rep.list:5: '10.0.0.3,1' is not address,category,value",
    ] {
        assert!(all.contains(want), "{want} missing from:\n{all}");
    }
}

#[test]
fn memcap_refuses_and_counts() {
    let d = dir();
    std::fs::write(d.join("c.txt"), "1,Bad,x\n").expect("write");
    let lines: String = (0..100).map(|i| format!("10.0.{i}.1,1,5\n")).collect();
    std::fs::write(d.join("r.txt"), lines).expect("write");
    let cfg = ReputationConfig {
        categories_file: d.join("c.txt").to_string_lossy().into_owned(),
        default_path: String::new(),
        files: vec![d.join("r.txt").to_string_lossy().into_owned()],
        memcap: HOST_COST * 10,
    };
    let rep = Reputation::load(&cfg).expect("loads").expect("configured");
    assert_eq!((rep.stats.hosts, rep.stats.memcap_refused), (10, 90));
    assert!(rep.messages.iter().any(|m| m.contains("90 entries refused")));
}

#[test]
fn configuration_errors_are_clear() {
    assert!(Reputation::load(&ReputationConfig::default()).expect("off").is_none());
    let cfg = ReputationConfig { files: vec!["x".into()], ..Default::default() };
    assert!(Reputation::load(&cfg).err().unwrap_or_default().contains("without detect.reputation.categories_file"));
    let cfg = ReputationConfig { categories_file: "/nonexistent/cats".into(), ..Default::default() };
    assert!(Reputation::load(&cfg).err().unwrap_or_default().contains("/nonexistent/cats"));
}
