use super::*;

fn name_list(v: &mut Vec<u8>, s: &str) {
    v.extend_from_slice(&(s.len() as u32).to_be_bytes());
    v.extend_from_slice(s.as_bytes());
}

/// A binary packet carrying a KEXINIT with these lists (padding 4).
fn kexinit(kex: &str, enc: &str, mac: &str, comp: &str) -> Vec<u8> {
    let mut m = vec![MSG_KEXINIT];
    m.extend_from_slice(&[7u8; 16]);
    for l in [kex, "ssh-rsa", enc, enc, mac, mac, comp, comp, "", ""] {
        name_list(&mut m, l);
    }
    m.push(0);
    m.extend_from_slice(&[0; 4]);
    let pad = 4;
    let mut p = ((m.len() + pad + 1) as u32).to_be_bytes().to_vec();
    p.push(pad as u8);
    p.extend_from_slice(&m);
    p.extend_from_slice(&[0; 4]);
    p
}

fn newkeys() -> Vec<u8> {
    vec![0, 0, 0, 12, 10, MSG_NEWKEYS, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
}

fn session() -> Vec<(bool, Vec<u8>)> {
    vec![
        (false, b"SSH-1.99-Cisco_server-1.24\r\n".to_vec()),
        (true, b"SSH-2.0-Cisco_client-1.25 extra\r\n".to_vec()),
        (true, kexinit("curve25519-sha256", "aes128-ctr", "hmac-sha1", "none")),
        (false, kexinit("diffie-hellman-group1-sha1", "aes256-ctr", "hmac-sha2-256", "none,zlib@openssh.com")),
        (true, newkeys()),
        (false, newkeys()),
    ]
}

#[test]
fn banners_and_hassh_in_any_split() {
    for split in [0usize, 1, 5, 9, 30] {
        let mut s = SshState::new();
        for (ts, m) in session() {
            if split == 0 || split >= m.len() {
                s.parse(ts, &m);
            } else {
                for c in m.chunks(split) {
                    s.parse(ts, c);
                }
            }
        }
        let c = s.header(true);
        assert_eq!(
            (c.proto.as_slice(), c.software.as_slice()),
            (&b"2.0"[..], &b"Cisco_client-1.25"[..]),
            "split {split}"
        );
        let v = s.header(false);
        assert_eq!((v.proto.as_slice(), v.software.as_slice()), (&b"1.99"[..], &b"Cisco_server-1.24"[..]));
        assert_eq!(c.hassh_string, b"curve25519-sha256;aes128-ctr;hmac-sha1;none");
        assert_eq!(v.hassh_string, b"diffie-hellman-group1-sha1;aes256-ctr;hmac-sha2-256;none,zlib@openssh.com");
        let want = format!("{:x}", Md5::digest(b"curve25519-sha256;aes128-ctr;hmac-sha1;none"));
        assert_eq!(c.hassh, want.as_bytes());
        assert!(s.encrypted() && !s.failed() && s.events().is_empty(), "split {split}");
        assert_eq!(s.stats.kexinits, 2);
    }
}

#[test]
fn banner_forms_as_suricata_reads_them() {
    assert_eq!(banner(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3"), Some((&b"2.0"[..], &b"OpenSSH_8.9p1"[..])));
    assert_eq!(banner(b"SSH-Single-"), Some((&b"Single"[..], &b""[..])));
    assert_eq!(banner(b"SSH-2.0- comment"), Some((&b"2.0"[..], &b" comment"[..])));
    assert_eq!(banner(b"SSH--x"), None);
    assert_eq!(banner(b"HTTP/1.1 200"), None);
    // a lone CR ends a line when something follows it
    assert_eq!(line(b"SSH-Oops\rMore"), Some((&b"SSH-Oops"[..], 9)));
    assert_eq!(line(b"SSH-Miss\r"), None);
}

#[test]
fn bad_and_long_banners_raise_suricatas_events() {
    let mut s = SshState::new();
    s.parse(true, b"GET / HTTP/1.1\r\n");
    assert!(s.failed() && s.events() == [EV_INVALID_BANNER]);
    let mut s = SshState::new();
    let mut long = b"SSH-2.0-".to_vec();
    long.extend(std::iter::repeat_n(b'x', 300));
    s.parse(true, &long);
    assert_eq!(s.header(true).phase, Phase::BannerWaitEol);
    assert!(s.events().contains(&EV_LONG_BANNER) && !s.failed());
    let mut s = SshState::new();
    s.parse(true, b"SSH-2.0-x\r\n\x00\x00\x00\x01\x00\x14");
    assert!(s.failed() && s.events().contains(&EV_INVALID_RECORD));
}

#[test]
fn a_huge_kexinit_is_not_buffered() {
    let mut s = SshState::new();
    s.parse(true, b"SSH-2.0-x\r\n");
    let mut rec = 200_000u32.to_be_bytes().to_vec();
    rec.extend_from_slice(&[4, MSG_KEXINIT]);
    s.parse(true, &rec);
    for _ in 0..40 {
        s.parse(true, &[0u8; 4096]);
    }
    assert!(s.events().contains(&EV_LONG_KEX_RECORD));
    assert!(s.header(true).pending.len() <= MAX_KEX_RECORD);
    assert!(s.header(true).hassh.is_empty() && !s.failed());
}
