//! `capture.bpf_filter` for captures read from files.
//!
//! Live capture hands the expression to the kernel (compiled by libpcap, see
//! `capture::afpacket`); replay applies the same expression to each frame read, compiled by the
//! same libpcap compiler (through the `pcap` crate) for the frame's link type and run by
//! libpcap's `pcap_offline_filter`, so a filter means the same on a case folder as on the wire.
//! Frames left out are counted (`capture.filtered`) and never reach the decoder, as in live
//! capture. A link type the expression cannot be compiled for is reported once and its frames
//! are left out (counted), since they cannot be shown to match.

use super::{CaptureWarning, FrameRef, LinkType};

/// A compiled `capture.bpf_filter`, one program per link type met.
pub(crate) struct ReplayFilter {
    expr: String,
    /// Per link type: the program, or `None` when it does not compile for that link type.
    programs: Vec<(LinkType, Option<pcap::BpfProgram>)>,
    warnings: Vec<CaptureWarning>,
}

/// libpcap's DLT for a pcap file's LINKTYPE (they differ for raw IP only).
fn dlt_of(lt: LinkType) -> i32 {
    match lt {
        LinkType::RAW => 12,
        LinkType(v) => v as i32,
    }
}

fn compile(expr: &str, lt: LinkType) -> Result<pcap::BpfProgram, String> {
    let dead = pcap::Capture::dead(pcap::Linktype(dlt_of(lt))).map_err(|e| e.to_string())?;
    dead.compile(expr, true).map_err(|e| e.to_string())
}

impl ReplayFilter {
    /// `Ok(None)` for an empty expression; an error when it does not compile for Ethernet
    /// (a syntax error: the message is libpcap's).
    pub(crate) fn new(expr: &str) -> Result<Option<ReplayFilter>, String> {
        if expr.trim().is_empty() {
            return Ok(None);
        }
        let eth = compile(expr, LinkType::ETHERNET).map_err(|e| format!("capture.bpf_filter `{expr}`: {e}"))?;
        Ok(Some(ReplayFilter {
            expr: expr.to_string(),
            programs: vec![(LinkType::ETHERNET, Some(eth))],
            warnings: Vec::new(),
        }))
    }

    /// Whether the frame passes the filter.
    pub(crate) fn accepts(&mut self, fr: &FrameRef<'_>) -> bool {
        let idx = match self.programs.iter().position(|(lt, _)| *lt == fr.linktype) {
            Some(i) => i,
            None => {
                let prog = match compile(&self.expr, fr.linktype) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        self.warnings.push(CaptureWarning {
                            source: "capture.bpf_filter".into(),
                            offset: None,
                            reason: format!(
                                "`{}` cannot be applied to link type {}: {e}; its frames are left out (capture.filtered)",
                                self.expr, fr.linktype.0
                            ),
                        });
                        None
                    }
                };
                self.programs.push((fr.linktype, prog));
                self.programs.len() - 1
            }
        };
        match self.programs.get(idx) {
            Some((_, Some(p))) => p.filter(fr.data),
            _ => false,
        }
    }

    /// Problems met so far.
    pub(crate) fn take_warnings(&mut self) -> Vec<CaptureWarning> {
        std::mem::take(&mut self.warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;

    fn eth_ipv4(proto: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 8];
        f[12] = 0x08;
        f[14] = 0x45;
        f[16] = 0;
        f[17] = 28;
        f[22] = 64;
        f[23] = proto;
        f
    }

    fn frame(data: &[u8], lt: LinkType) -> FrameRef<'_> {
        FrameRef::borrowed(data, Timestamp(0), data.len() as u32, lt, 0)
    }

    #[test]
    fn tcp_passes_and_udp_does_not() {
        let mut f = ReplayFilter::new("tcp").unwrap().unwrap();
        assert!(f.accepts(&frame(&eth_ipv4(6), LinkType::ETHERNET)));
        assert!(!f.accepts(&frame(&eth_ipv4(17), LinkType::ETHERNET)));
        // Raw IP (LINKTYPE_RAW 101 is libpcap's DLT_RAW 12).
        assert!(f.accepts(&frame(&eth_ipv4(6)[14..], LinkType::RAW)));
        assert!(!f.accepts(&frame(&eth_ipv4(17)[14..], LinkType::RAW)));
        assert!(f.take_warnings().is_empty());
    }

    #[test]
    fn empty_is_no_filter_and_bad_syntax_is_named() {
        assert!(ReplayFilter::new("  ").unwrap().is_none());
        let e = ReplayFilter::new("tcp and and").err().unwrap();
        assert!(e.starts_with("capture.bpf_filter `tcp and and`: "), "{e}");
    }

    #[test]
    fn a_link_type_the_filter_cannot_apply_to_is_reported_once() {
        let mut f = ReplayFilter::new("ether host 00:11:22:33:44:55").unwrap().unwrap();
        let raw = &eth_ipv4(6)[14..];
        assert!(!f.accepts(&frame(raw, LinkType::RAW)));
        assert!(!f.accepts(&frame(raw, LinkType::RAW)));
        let w = f.take_warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].reason.contains("link type 101"), "{}", w[0].reason);
    }
}
