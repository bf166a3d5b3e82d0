//! pnet's datalink channel: the portable live capture (`capture.method = "pnet"`).
//!
//! Takes: an interface name and the `[capture]` options. Promises: frames lent through
//! [`PacketSource`], stamped with the wall clock when read (pnet gives no kernel timestamp),
//! read in bursts until the socket has nothing for [`READ_TIMEOUT`]. On Linux the socket is
//! opened by Picket and handed to pnet, so the BPF filter runs in the kernel and the kernel's
//! drop counter can be read; elsewhere pnet opens its own (BPF device) and the filter is not
//! available. One reader thread per interface feeds the workers by flow hash, as in replay.
//! Limits: VLAN tags that the kernel strips into packet metadata are not restored (pnet reads
//! with `recvfrom`, which does not return them): prefer `afpacket` on VLAN trunks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pnet_datalink::{Channel, DataLinkReceiver, NetworkInterface};

use super::{CaptureWarning, FrameRef, LinkType, PacketSource, Timestamp};

/// How long a read waits for the next frame before the source returns to its caller.
pub(crate) const READ_TIMEOUT: Duration = Duration::from_millis(10);
/// Frames lent per [`PacketSource::next_batch`] call at most.
pub(crate) const BURST: usize = 1024;

/// A live source over pnet's datalink channel.
pub(crate) struct PnetSource {
    rx: Box<dyn DataLinkReceiver>,
    name: String,
    linktype: LinkType,
    iface_pos: u16,
    #[cfg(target_os = "linux")]
    fd: i32,
    stats: (u64, u64),
    /// Read errors other than timeouts (counted, then the source waits a little).
    pub errors: u64,
    warnings: Vec<CaptureWarning>,
}

/// Options for [`PnetSource::open`].
#[derive(Clone, Debug)]
pub(crate) struct PnetOptions {
    /// Promiscuous mode.
    pub promiscuous: bool,
    /// Socket receive buffer.
    pub buffer_bytes: usize,
    /// tcpdump expression ("" = all; Linux only).
    pub bpf_filter: String,
    /// Bytes kept per frame (Linux, through the filter).
    pub snaplen: u32,
}

impl PnetSource {
    /// Opens a channel on `name`; `iface_pos` numbers the interface in the frames.
    pub(crate) fn open(name: &str, iface_pos: u16, o: &PnetOptions) -> Result<PnetSource, String> {
        let iface: NetworkInterface = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| format!("{name}: no such interface"))?;
        #[cfg(target_os = "linux")]
        let (linktype, fd) = {
            use super::afpacket::{compile_filter, linktype_of, Interface};
            use crate::sys;
            use std::os::fd::{AsRawFd, IntoRawFd};
            let ifc = Interface::lookup(name)?;
            let sock = sys::packet_socket().map_err(|e| format!("{name}: cannot open a packet socket: {e}"))?;
            let _ = sys::set_rcvbuf(sock.as_raw_fd(), o.buffer_bytes);
            if !o.bpf_filter.trim().is_empty() || o.snaplen < 262_144 {
                let prog = compile_filter(&o.bpf_filter, &ifc, o.snaplen)?;
                sys::attach_filter(sock.as_raw_fd(), &prog)
                    .map_err(|e| format!("{name}: cannot attach the BPF filter: {e}"))?;
            }
            let fd = sock.into_raw_fd(); // pnet owns and closes it from here on
            (linktype_of(name), fd)
        };
        #[cfg(not(target_os = "linux"))]
        let linktype = {
            if !o.bpf_filter.trim().is_empty() {
                return Err("capture.bpf_filter: not supported by the pnet method on this system".into());
            }
            LinkType::ETHERNET
        };
        let cfg = pnet_datalink::Config {
            read_timeout: Some(READ_TIMEOUT),
            read_buffer_size: 65_536 + 64,
            promiscuous: o.promiscuous,
            #[cfg(target_os = "linux")]
            socket_fd: Some(fd),
            ..Default::default()
        };
        let rx = match pnet_datalink::channel(&iface, cfg) {
            Ok(Channel::Ethernet(_tx, rx)) => rx,
            Ok(_) => return Err(format!("{name}: pnet offers no Ethernet channel")),
            Err(e) => return Err(format!("{name}: cannot open a pnet channel: {e}")),
        };
        Ok(PnetSource {
            rx,
            name: name.to_string(),
            linktype,
            iface_pos,
            #[cfg(target_os = "linux")]
            fd,
            stats: (0, 0),
            errors: 0,
            warnings: Vec::new(),
        })
    }

    /// Interface name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Kernel counters (packets, drops), accumulated over reads (Linux; zero elsewhere).
    pub(crate) fn kernel_stats(&mut self) -> (u64, u64) {
        #[cfg(target_os = "linux")]
        if let Ok((p, d, _)) = crate::sys::packet_stats(self.fd) {
            self.stats.0 += p as u64;
            self.stats.1 += d as u64;
        }
        self.stats
    }
}

fn wall_now() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::from_parts(d.as_secs(), d.subsec_nanos() as u64)
}

impl PacketSource for PnetSource {
    /// Lends frames until none arrives for [`READ_TIMEOUT`] or [`BURST`] were lent. Always
    /// `true`: a live source does not end.
    fn next_batch(&mut self, f: &mut dyn FnMut(FrameRef<'_>)) -> bool {
        for _ in 0..BURST {
            match self.rx.next() {
                Ok(data) => {
                    let ts = wall_now();
                    f(FrameRef::borrowed(data, ts, data.len() as u32, self.linktype, self.iface_pos));
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut || e.kind() == std::io::ErrorKind::WouldBlock => {
                    break
                }
                Err(e) => {
                    // Link down (ENETDOWN) and the like: counted, reported, retried.
                    self.errors += 1;
                    if self.warnings.len() < 16 {
                        self.warnings.push(CaptureWarning {
                            source: self.name.clone(),
                            offset: None,
                            reason: e.to_string(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(100));
                    break;
                }
            }
        }
        true
    }

    fn take_warnings(&mut self) -> Vec<CaptureWarning> {
        std::mem::take(&mut self.warnings)
    }
}
