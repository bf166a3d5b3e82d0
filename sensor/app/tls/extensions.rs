//! Hello extensions (decoded by hand so that one odd extension does not hide the others) and
//! JA3 strings.

use std::fmt::Write as _;

use super::{is_grease, MAX_JA3_VALUES};

pub(super) fn push_list(s: &mut String, v: &[u16], dropped: &mut u64) {
    let mut n = 0;
    for &x in v.iter().filter(|&&x| !is_grease(x)) {
        if n == MAX_JA3_VALUES {
            *dropped += 1;
            continue;
        }
        if n > 0 {
            s.push('-');
        }
        let _ = write!(s, "{x}");
        n += 1;
    }
}

/// JA3: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, each list
/// dash-separated decimal with GREASE values removed.
pub fn ja3_string(
    version: u16,
    ciphers: &[u16],
    exts: &[u16],
    groups: &[u16],
    point_formats: &[u8],
    dropped: &mut u64,
) -> String {
    let mut s = format!("{version},");
    push_list(&mut s, ciphers, dropped);
    s.push(',');
    push_list(&mut s, exts, dropped);
    s.push(',');
    push_list(&mut s, groups, dropped);
    s.push(',');
    let pf: Vec<u16> = point_formats.iter().map(|&x| u16::from(x)).collect();
    push_list(&mut s, &pf, dropped);
    s
}

/// The hello extensions JA3 and the keywords need, decoded by hand so that one odd
/// extension does not hide the others.
#[derive(Debug, Default)]
pub(super) struct Extensions {
    pub(super) types: Vec<u16>,
    pub(super) sni: Option<Vec<u8>>,
    pub(super) groups: Vec<u16>,
    pub(super) point_formats: Vec<u8>,
    pub(super) supported_versions: Vec<u16>,
    pub(super) alpns: Vec<Vec<u8>>,
}

fn be16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

impl Extensions {
    pub(super) fn parse(mut b: &[u8], client: bool) -> Extensions {
        let mut e = Extensions::default();
        while let (Some(t), Some(l)) = (be16(b, 0), be16(b, 2)) {
            let Some(data) = b.get(4..4 + usize::from(l)) else { break };
            // In bounds: get(4..4 + l) returned Some just above.
            b = &b[4 + usize::from(l)..];
            if e.types.len() < 4 * MAX_JA3_VALUES {
                e.types.push(t);
            }
            match t {
                0 if client && e.sni.is_none() => {
                    // server_name_list: len, then (type, len, name)...; the first host_name.
                    let mut p = 2;
                    while let (Some(&nt), Some(nl)) = (data.get(p), be16(data, p + 1)) {
                        let Some(name) = data.get(p + 3..p + 3 + usize::from(nl)) else { break };
                        if nt == 0 {
                            e.sni = Some(name.to_vec());
                            break;
                        }
                        p += 3 + usize::from(nl);
                    }
                }
                10 => {
                    let n = usize::from(be16(data, 0).unwrap_or(0));
                    let list = data.get(2..2 + n).unwrap_or(&[]);
                    // In bounds: chunks_exact(2) yields 2-byte chunks.
                    e.groups = list.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                }
                11 => {
                    let n = usize::from(data.first().copied().unwrap_or(0));
                    e.point_formats = data.get(1..1 + n).unwrap_or(&[]).to_vec();
                }
                16 => {
                    let n = usize::from(be16(data, 0).unwrap_or(0));
                    let mut list = data.get(2..2 + n).unwrap_or(&[]);
                    while let Some((&l, rest)) = list.split_first() {
                        let Some(p) = rest.get(..usize::from(l)) else { break };
                        e.alpns.push(p.to_vec());
                        // In bounds: rest.get(..l) returned Some just above.
                        list = &rest[usize::from(l)..];
                    }
                }
                43 => {
                    if client {
                        let n = usize::from(data.first().copied().unwrap_or(0));
                        let list = data.get(1..1 + n).unwrap_or(&[]);
                        // In bounds: chunks_exact(2) yields 2-byte chunks.
                        e.supported_versions = list.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                    } else if let Some(v) = be16(data, 0) {
                        e.supported_versions = vec![v];
                    }
                }
                _ => {}
            }
        }
        e
    }
}
