//! `picket carve --alerts EVE PCAP|DIR... -o OUT [--flow-id ID]... [--community-id CID]...`:
//! the packets of alerting flows (or of the flows named), cut from the original captures after
//! the fact.
//!
//! Reads the EVE file line by line (only the flows asked for are kept in memory), then streams
//! the captures through the case reader (folders, pcap/pcapng, compressed), decodes each frame
//! as the sensor does and keeps those whose innermost 5-tuple (either direction) is one of the
//! flows; they are written, in capture order, to OUT, a new classic pcap (never overwritten).
//! A flow is its 5-tuple: a later flow that reuses it is carved too.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::IpAddr;
use std::path::PathBuf;

use crate::capture::pcap::{expand_inputs, PcapFileSource};
use crate::capture::{LinkType, PacketSource};
use crate::decode::{Decoded, Decoder};
use crate::metrics::Counters;

/// A flow's 5-tuple, its two ends in a fixed order.
type Tuple = (u8, (IpAddr, u16), (IpAddr, u16));

fn tuple(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Tuple {
    // ICMP flows are matched by their addresses alone.
    let (a, b) = if matches!(proto, 1 | 58) { ((a.0, 0), (b.0, 0)) } else { (a, b) };
    if a <= b {
        (proto, a, b)
    } else {
        (proto, b, a)
    }
}

fn proto_number(name: &str) -> Option<u8> {
    match name {
        "TCP" => Some(6),
        "UDP" => Some(17),
        "ICMP" => Some(1),
        "IPv6-ICMP" => Some(58),
        "SCTP" => Some(132),
        n => n.parse().ok(),
    }
}

/// What to carve.
#[derive(Clone, Debug, Default)]
pub struct CarveOptions {
    /// The EVE file naming the flows.
    pub eve: PathBuf,
    /// Capture files and folders.
    pub inputs: Vec<PathBuf>,
    /// The pcap to write (must not exist).
    pub out: PathBuf,
    /// Only these flows (EVE `flow_id`), instead of every alerting flow.
    pub flow_ids: Vec<u64>,
    /// Only these flows (EVE `community_id`), instead of every alerting flow.
    pub community_ids: Vec<String>,
}

/// What a carve did.
#[derive(Debug, Default)]
pub struct CarveSummary {
    /// Flows looked for.
    pub flows: usize,
    /// Of them, flows with at least one packet found.
    pub flows_found: usize,
    /// Packets written.
    pub packets: u64,
    /// Frames read from the captures.
    pub frames: u64,
    /// EVE lines that are not JSON (skipped).
    pub bad_lines: u64,
    /// Matching frames of another link type than the first one written (a pcap file has one).
    pub other_linktype: u64,
    /// Problems with the captures, one line each.
    pub warnings: Vec<String>,
}

impl CarveSummary {
    /// The summary line printed on stderr.
    pub fn line(&self, out: &std::path::Path) -> String {
        format!(
            "picket: carve: {} of {} flow(s) found, {} packet(s) of {} frame(s) written to {}; {} EVE line(s) not JSON, {} frame(s) of another link type left out",
            self.flows_found,
            self.flows,
            self.packets,
            self.frames,
            out.display(),
            self.bad_lines,
            self.other_linktype
        )
    }
}

/// The flows an EVE file names: every alerting flow, or those of `flow_ids` / `community_ids`.
fn flows_of(opts: &CarveOptions, s: &mut CarveSummary) -> anyhow::Result<HashSet<Tuple>> {
    let f = std::fs::File::open(&opts.eve).map_err(|e| anyhow::anyhow!("{}: {e}", opts.eve.display()))?;
    let by_id = !opts.flow_ids.is_empty() || !opts.community_ids.is_empty();
    let mut flows = HashSet::new();
    for line in BufReader::new(f).split(b'\n') {
        let line = line.map_err(|e| anyhow::anyhow!("{}: {e}", opts.eve.display()))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) else {
            s.bad_lines += 1;
            continue;
        };
        let wanted = if by_id {
            v["flow_id"].as_u64().is_some_and(|id| opts.flow_ids.contains(&id))
                || v["community_id"].as_str().is_some_and(|c| opts.community_ids.iter().any(|x| x == c))
        } else {
            v["event_type"] == "alert"
        };
        if !wanted {
            continue;
        }
        let ip = |k: &str| v[k].as_str().and_then(|s| s.parse::<IpAddr>().ok());
        let port = |k: &str| v[k].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
        if let (Some(src), Some(dst), Some(proto)) =
            (ip("src_ip"), ip("dest_ip"), v["proto"].as_str().and_then(proto_number))
        {
            flows.insert(tuple(proto, (src, port("src_port")), (dst, port("dest_port"))));
        }
    }
    Ok(flows)
}

/// Runs a carve.
pub fn carve(opts: &CarveOptions) -> anyhow::Result<CarveSummary> {
    let mut s = CarveSummary::default();
    let flows = flows_of(opts, &mut s)?;
    s.flows = flows.len();
    let (files, warnings) = expand_inputs(&opts.inputs);
    s.warnings.extend(warnings.iter().map(|w| w.to_string()));
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&opts.out).map_err(|e| {
        anyhow::anyhow!("{}: cannot create (an existing file is never overwritten): {e}", opts.out.display())
    })?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut src = PcapFileSource::new(files);
    let decoder = Decoder::default();
    let mut d = Decoded::default();
    let mut c = Counters::new();
    let mut found: HashSet<Tuple> = HashSet::new();
    let mut linktype: Option<LinkType> = None;
    let mut err: Option<std::io::Error> = None;
    loop {
        let more = src.next_batch(&mut |fr| {
            s.frames += 1;
            if flows.is_empty() || err.is_some() {
                return;
            }
            d = Decoded::default();
            decoder.decode(fr.linktype, fr.data, &mut d, &mut c);
            if !d.is_ip() {
                return;
            }
            let t = tuple(d.proto, (d.src_addr(), d.sp), (d.dst_addr(), d.dp));
            if !flows.contains(&t) {
                return;
            }
            let lt = *linktype.get_or_insert_with(|| {
                if let Err(e) = write_header(&mut w, fr.linktype) {
                    err = Some(e);
                }
                fr.linktype
            });
            if lt != fr.linktype {
                s.other_linktype += 1;
                return;
            }
            if let Err(e) = write_record(&mut w, fr.ts, fr.data, fr.orig_len) {
                err = Some(e);
                return;
            }
            s.packets += 1;
            found.insert(t);
        });
        if !more {
            break;
        }
    }
    s.warnings.extend(src.take_warnings().iter().map(|w| w.to_string()));
    if linktype.is_none() {
        write_header(&mut w, LinkType::ETHERNET).map_err(|e| anyhow::anyhow!("{}: {e}", opts.out.display()))?;
    }
    if let Some(e) = err {
        anyhow::bail!("{}: {e}", opts.out.display());
    }
    w.flush().map_err(|e| anyhow::anyhow!("{}: {e}", opts.out.display()))?;
    s.flows_found = found.len();
    Ok(s)
}

fn write_header(w: &mut impl Write, lt: LinkType) -> std::io::Result<()> {
    let mut h = Vec::with_capacity(24);
    h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&262_144u32.to_le_bytes());
    h.extend_from_slice(&lt.0.to_le_bytes());
    w.write_all(&h)
}

fn write_record(w: &mut impl Write, ts: crate::capture::Timestamp, data: &[u8], orig_len: u32) -> std::io::Result<()> {
    let mut h = [0u8; 16];
    h[0..4].copy_from_slice(&(ts.secs() as u32).to_le_bytes());
    h[4..8].copy_from_slice(&((ts.0 % 1_000_000_000) as u32).to_le_bytes());
    h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
    h[12..16].copy_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
    w.write_all(&h)?;
    w.write_all(data)
}
