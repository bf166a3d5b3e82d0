use super::*;
use crate::output::eve::Json;

fn hex(lines: &[&str]) -> Vec<u8> {
    let s: String = lines.concat();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0)).collect()
}

fn raw(tx: &QuicTx) -> String {
    let mut out = Vec::new();
    let mut j = Json::object(&mut out);
    tx.write_eve(&mut j);
    j.end();
    String::from_utf8(out).unwrap_or_default()
}

fn eve(tx: &QuicTx) -> serde_json::Value {
    serde_json::from_str(&raw(tx)).unwrap_or_default()
}

#[test]
fn rfc9001_client_initial_header_and_decryption() {
    let pkt = hex(CLIENT_INITIAL);
    assert_eq!(pkt.len(), 1200);
    let h = parse_header(&pkt).unwrap_or_else(|| panic!("header"));
    assert_eq!((h.ty, h.version, h.hlen, h.length), (PacketType::Initial, 1, 18, 1182));
    assert_eq!(h.dcid, hex(&["8394c8f03e515708"]));
    let keys = initial_keys(h.version, &h.dcid).unwrap_or_else(|| panic!("keys"));
    let plain = keys.client.open(&pkt, h.hlen).unwrap_or_else(|| panic!("decrypts"));
    let crypto = hex(CLIENT_CRYPTO);
    // the packet number is 4 bytes, the tag 16: the rest is the CRYPTO frame and padding
    assert_eq!(plain.len(), 1182 - 4 - 16);
    assert_eq!(plain.get(..crypto.len()), Some(crypto.as_slice()));
    assert!(plain.iter().skip(crypto.len()).all(|&b| b == 0));
    // the server's keys do not open it, nor does one flipped bit
    assert!(keys.server.open(&pkt, h.hlen).is_none());
    let mut bad = pkt.clone();
    if let Some(b) = bad.get_mut(600) {
        *b ^= 1;
    }
    assert!(keys.client.open(&bad, h.hlen).is_none());
}

#[test]
fn client_and_server_initials_make_suricatas_transactions() {
    let mut st = QuicState::default();
    assert!(st.parse(true, &hex(CLIENT_INITIAL)));
    assert!(st.parse(false, &hex(SERVER_INITIAL)));
    let txs: Vec<&QuicTx> = st.txs().collect();
    assert_eq!(txs.len(), 2);
    let c = eve(txs[0]);
    assert_eq!(c["quic"]["version"], "1");
    assert_eq!(c["quic"]["sni"], "example.com");
    let ja3 = "771,4865-4866,0-65281-10-16-5-51-43-13-45-28-57,29-23-24,";
    assert_eq!(c["quic"]["ja3"]["string"], ja3);
    assert_eq!(c["quic"]["ja3"]["hash"], "41bc9ae914d6cb3bd0bd0a5453ab7d7f");
    assert_eq!(c["quic"]["ja4"], "q13d0211an_62ed6f6ca7ad_4d634acda6c0");
    let exts = c["quic"]["extensions"].as_array().cloned().unwrap_or_default();
    assert_eq!(exts.len(), 11);
    assert_eq!(exts[0], serde_json::json!({"name":"server_name","type":0,"values":["example.com"]}));
    assert_eq!(exts[3], serde_json::json!({"name":"alpn","type":16,"values":["alpn"]}));
    assert_eq!(exts[6], serde_json::json!({"name":"supported_versions","type":43,"values":["Tls13"]}));
    // Suricata's field order
    let text = raw(txs[0]);
    let at: Vec<usize> = ["\"version\"", "\"sni\"", "\"ja3\"", "\"ja4\"", "\"extensions\""]
        .iter()
        .map(|k| text.find(k).unwrap_or(usize::MAX))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
    let s = eve(txs[1]);
    assert_eq!(s["quic"]["ja3s"]["string"], "771,4865,51-43");
    assert!(s["quic"].get("ja3").is_none() && s["quic"].get("ja4").is_none());
    assert!(st.both_hellos());
    assert_eq!((st.stats.decrypted, st.stats.decrypt_failed), (2, 0));
    // once both hellos were seen, nothing more is read
    assert!(st.parse(true, &hex(CLIENT_INITIAL)));
    assert_eq!(st.txs().count(), 2);
}

#[test]
fn a_packet_that_does_not_decrypt_raises_failed_decrypt() {
    let mut pkt = hex(CLIENT_INITIAL);
    if let Some(b) = pkt.get_mut(1000) {
        *b ^= 0x80;
    }
    let mut st = QuicState::default();
    assert!(!st.parse(true, &pkt));
    let tx = st.txs().next().unwrap_or_else(|| panic!("tx"));
    assert_eq!(tx.events(), &[EV_FAILED_DECRYPT]);
    assert_eq!(eve(tx)["quic"], serde_json::json!({"version":"1"}));
    assert_eq!(st.stats.decrypt_failed, 1);
}

/// A CRYPTO frame (type 6) at `offset` carrying `data`.
fn crypto_frame(offset: u8, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06, offset, 0x40 | (data.len() >> 8) as u8, data.len() as u8];
    f.extend_from_slice(data);
    f
}

#[test]
fn crypto_frames_are_reassembled_across_packets() {
    // the ClientHello of A.2 without its frame header (type, offset, 2-byte length)
    let hello = hex(CLIENT_CRYPTO).split_off(4);
    let (a, b) = hello.split_at(40);
    let first = decode_frames(&crypto_frame(0, a), &[], 0).unwrap_or_default();
    let Some(Frame::CryptoFrag { offset, data, .. }) = first.last().cloned() else { panic!("{first:?}") };
    assert_eq!(offset, 40);
    let second = decode_frames(&crypto_frame(40, b), &data, offset).unwrap_or_default();
    assert!(
        matches!(second.last(), Some(Frame::Crypto(h)) if h.ja4.as_deref() == Some("q13d0211an_62ed6f6ca7ad_4d634acda6c0"))
    );
    // out of order: the second part first, then the first
    let early = decode_frames(&crypto_frame(40, b), &[], 0).unwrap_or_default();
    let Some(Frame::CryptoFrag { offset, data, .. }) = early.last().cloned() else { panic!("{early:?}") };
    let late = decode_frames(&crypto_frame(0, a), &data, offset).unwrap_or_default();
    assert!(matches!(late.last(), Some(Frame::Crypto(_))));
    // malformed frames: a CRYPTO frame longer than the payload
    assert!(decode_frames(&[0x06, 0x00, 0x40, 0xff, 0x01], &[], 0).is_none());
}

/// A gQUIC Q043 Initial whose stream frame carries a CHLO with PAD, SNI and UAID.
fn gquic_chlo() -> Vec<u8> {
    let mut p = vec![0xff];
    p.extend_from_slice(b"Q043");
    p.push(0x50);
    p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    p.extend_from_slice(&[0, 0, 0, 1]);
    p.extend_from_slice(&[0; 12]);
    p.extend_from_slice(&[0x80, 0x01]);
    p.extend_from_slice(b"CHLO");
    p.extend_from_slice(&[3, 0, 0, 0]);
    for (tag, end) in [(b"PAD\0", 2u32), (b"SNI\0", 13), (b"UAID", 17)] {
        p.extend_from_slice(tag);
        p.extend_from_slice(&end.to_le_bytes());
    }
    p.extend_from_slice(b"\0\0example.comChrm");
    p
}

#[test]
fn gquic_client_hello_gives_sni_ua_and_cyu() {
    let mut st = QuicState::default();
    assert!(st.parse(true, &gquic_chlo()));
    let tx = st.txs().next().unwrap_or_else(|| panic!("tx"));
    let e = eve(tx);
    assert_eq!(e["quic"]["version"], "Q043");
    assert_eq!(e["quic"]["sni"], "example.com");
    assert_eq!(e["quic"]["ua"], "Chrm");
    assert_eq!(e["quic"]["cyu"][0]["string"], "43,PAD-SNI-UAID");
    let md5 = format!("{:x}", Md5::digest(b"43,PAD-SNI-UAID"));
    assert_eq!(e["quic"]["cyu"][0]["hash"], md5.as_str());
}

#[test]
fn probe_versions_and_garbage() {
    assert_eq!(probe(&hex(CLIENT_INITIAL)), ProbeResult::Found(AppProto::Quic));
    assert_eq!(probe(&[]), ProbeResult::NotFound);
    // a long header cut inside its connection ids
    assert_eq!(probe(&[0xc0, 0, 0, 0, 1, 8, 1, 2]), ProbeResult::NotFound);
    assert_eq!(version_name(0x5130_3436), "Q046");
    assert_eq!(version_name(0x6b33_43cf), "v2");
    assert_eq!(version_name(0xff00_001d), "ff00001d");
    assert_eq!(version_name(0x5130_3335), "51303335");
    let mut st = QuicState::default();
    for n in 0..64u8 {
        let junk: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ n).collect();
        st.parse(n % 2 == 0, &junk);
    }
    assert!(st.txs().count() <= MAX_TXS);
}

#[test]
fn sticky_buffers_of_a_client_hello() {
    use crate::app::Transaction;
    let mut st = QuicState::default();
    st.parse(true, &hex(CLIENT_INITIAL));
    let tx = st.txs().next().unwrap_or_else(|| panic!("tx"));
    let get = |name: &str| -> Option<Vec<u8>> {
        let i = super::detect::BUFFERS.iter().position(|b| b.info.name == name)?;
        let mut v = None;
        tx.buffer(u16::try_from(i).ok()?, true, &mut |b| {
            v = Some(b.to_vec());
            true
        });
        v
    };
    assert_eq!(get("quic.sni").as_deref(), Some(&b"example.com"[..]));
    assert_eq!(get("quic.version").as_deref(), Some(&[0u8, 0, 0, 1][..]));
    assert_eq!(get("ja4.hash").as_deref(), Some(&b"q13d0211an_62ed6f6ca7ad_4d634acda6c0"[..]));
    assert_eq!(get("ja3.hash").as_deref(), Some(&b"41bc9ae914d6cb3bd0bd0a5453ab7d7f"[..]));
    assert_eq!(get("ja3s.hash"), None);
    assert_eq!(get("quic.ua"), None);
    assert_eq!(get("quic.cyu.hash"), None);
}

#[test]
fn extension_names() {
    assert_eq!(extension_name(0), Some("server_name"));
    assert_eq!(extension_name(40), None);
    assert_eq!(extension_name(57), Some("quic_transport_parameters"));
    assert_eq!(extension_name(65281), Some("renegotiation_info"));
    assert_eq!(extension_name(65445), None);
}

/// RFC 9001 appendix A.2: the client's Initial, protected (1,200 bytes).
const CLIENT_INITIAL: &[&str] = &[
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11",
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399",
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c",
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212",
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5",
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208",
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec",
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3",
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db",
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c",
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8",
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556",
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74",
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a",
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00",
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632",
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964",
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd",
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff",
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198",
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd",
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73",
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f",
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e",
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade",
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047",
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2",
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4",
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0",
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e",
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0",
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400",
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab",
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9",
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4",
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064",
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241",
    "e221af44860018ab0856972e194cd934",
];

/// RFC 9001 appendix A.3: the server's Initial, protected.
const SERVER_INITIAL: &[&str] = &[
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a",
    "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3",
    "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84",
    "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4",
    "2158407dd074ee",
];

/// RFC 9001 appendix A.2: the client's CRYPTO frame (before its padding).
const CLIENT_CRYPTO: &[&str] = &[
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868",
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578",
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005",
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba",
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400",
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100",
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000",
    "75300901100f088394c8f03e51570806048000ffff",
];
