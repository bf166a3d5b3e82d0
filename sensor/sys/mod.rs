//! sys: every operating-system call Picket makes that the standard library does not offer,
//! and the only module with `unsafe` code.
//!
//! Takes: plain integers, slices and file descriptors. Promises: safe functions; each `unsafe`
//! block inside carries a `// SAFETY:` line; no pointer or slice leaves a function except
//! [`Ring::with_block`]'s borrowed block, which cannot outlive its closure; every fd is an
//! [`std::os::fd::OwnedFd`]; errors are `io::Error` from errno.
//! What is here: the AF_PACKET socket and its TPACKET_V3 ring, fanout and statistics (live
//! capture), libpcap's compiler of tcpdump expressions to classic BPF, the privilege drop
//! (set*id, capabilities, `PR_SET_NO_NEW_PRIVS`), and handing freed heap back to the system
//! (`malloc_trim`).
//! Platforms: Linux has the real calls (`linux.rs`); elsewhere `portable.rs` keeps the same
//! functions, which answer `ErrorKind::Unsupported` (or do nothing where doing nothing is
//! correct), so the crate type-checks on other Unix systems and the pnet capture and replay
//! still work there.

#![allow(unsafe_code, reason = "the one place of system calls: see the contract above")]

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(not(target_os = "linux"))]
mod portable;
#[cfg(not(target_os = "linux"))]
pub use portable::*;

/// One classic BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BpfInsn {
    /// Opcode.
    pub code: u16,
    /// Jump offset if true.
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}
