//! The portable fallback of [`crate::sys`] for systems other than Linux: the same functions,
//! answering `ErrorKind::Unsupported` where the call has no equivalent here, and doing nothing
//! where doing nothing is correct (handing memory back is an optimisation). No `unsafe`.

use std::io;
use std::os::fd::{OwnedFd, RawFd};

use super::BpfInsn;

fn unsupported(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, format!("{what} needs Linux"))
}

/// Block owned by user space (ring status bit; unused here).
pub const TP_STATUS_USER: u32 = 1;
/// `POLLERR` bit of a `revents` value.
pub const POLLERR: i16 = 0x008;

/// An AF_PACKET socket: Linux only.
pub fn packet_socket() -> io::Result<OwnedFd> {
    Err(unsupported("an AF_PACKET socket"))
}

/// TPACKET_V3: Linux only.
pub fn set_tpacket_v3(_fd: &OwnedFd) -> io::Result<()> {
    Err(unsupported("TPACKET_V3"))
}

/// `SO_RCVBUF` on a packet socket: Linux only.
pub fn set_rcvbuf(_fd: RawFd, _bytes: usize) -> io::Result<()> {
    Err(unsupported("SO_RCVBUF on a packet socket"))
}

/// `SO_ATTACH_FILTER`: Linux only.
pub fn attach_filter(_fd: RawFd, _prog: &[BpfInsn]) -> io::Result<()> {
    Err(unsupported("a socket filter"))
}

/// Binding a packet socket: Linux only.
pub fn bind_ifindex(_fd: RawFd, _ifindex: u32) -> io::Result<()> {
    Err(unsupported("binding a packet socket"))
}

/// Promiscuous membership: Linux only.
pub fn add_promisc(_fd: RawFd, _ifindex: u32) -> io::Result<()> {
    Err(unsupported("PACKET_ADD_MEMBERSHIP"))
}

/// Fanout: Linux only.
pub fn join_fanout(_fd: RawFd, _group: u16, _mode_and_flags: u16) -> io::Result<()> {
    Err(unsupported("PACKET_FANOUT"))
}

/// Kernel packet counters: Linux only.
pub fn packet_stats(_fd: RawFd) -> io::Result<(u32, u32, u32)> {
    Err(unsupported("PACKET_STATISTICS"))
}

/// No pending socket error can be read here.
pub fn take_socket_error(_fd: RawFd) -> Option<io::Error> {
    None
}

/// poll(2) on packet sockets: Linux only.
pub fn poll_in(_fds: &[RawFd], _timeout_ms: i32, _revents: &mut Vec<i16>) -> io::Result<()> {
    Err(unsupported("polling packet sockets"))
}

/// Interface lookup by name: not available here.
pub fn if_nametoindex(_name: &str) -> Option<u32> {
    None
}

/// A TPACKET_V3 ring: cannot exist here (no value of this type can be built).
pub struct Ring {
    never: std::convert::Infallible,
}

impl Ring {
    /// Always `Unsupported`.
    pub fn new(_fd: OwnedFd, _block_size: u32, _blocks: u32, _frame_size: u32, _retire_ms: u32) -> io::Result<Ring> {
        Err(unsupported("a TPACKET_V3 ring"))
    }

    /// The socket.
    pub fn fd(&self) -> RawFd {
        match self.never {}
    }

    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        match self.never {}
    }

    /// Lends a block.
    pub fn with_block(&mut self, _block: usize, _f: impl FnOnce(&[u8])) -> bool {
        match self.never {}
    }
}

/// libpcap's compiler is only linked on Linux.
pub fn compile_bpf(_expr: &str, _dlt: i32, _snaplen: u32) -> Result<Vec<BpfInsn>, String> {
    Err("compiling BPF filters needs Linux".into())
}

/// Dropping privileges: Linux only (the daemon refuses `daemon.user` elsewhere).
pub fn drop_privileges(_ids: Option<(u32, u32)>, _keep: &[u32]) -> io::Result<()> {
    Err(unsupported("dropping privileges"))
}

/// The effective user id (unknown here: reported as not root).
pub fn geteuid() -> u32 {
    u32::MAX
}

/// Nothing to do: only glibc keeps freed arenas mapped.
pub fn release_free_memory() {}

/// SCHED_IDLE is Linux's: unsupported elsewhere.
pub fn set_thread_sched_idle() -> io::Result<()> {
    Err(unsupported("SCHED_IDLE"))
}

/// No thread ids here.
pub fn thread_id() -> i32 {
    0
}

/// SCHED_IDLE is Linux's: unsupported elsewhere.
pub fn set_thread_sched_normal(_tid: i32) -> io::Result<()> {
    Err(unsupported("SCHED_OTHER"))
}
