//! The Linux implementation of [`crate::sys`]: thin wrappers over libc, each `unsafe` block with
//! a `// SAFETY:` line.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};

use super::BpfInsn;

/// `ETH_P_ALL` in network byte order, as `socket`/`bind` want it.
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();
const SOL_PACKET: libc::c_int = 263;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_RX_RING: libc::c_int = 5;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_VERSION: libc::c_int = 10;
const PACKET_FANOUT: libc::c_int = 18;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const TPACKET_V3: libc::c_int = 2;
/// Block owned by user space (set by the kernel when a block is retired).
pub const TP_STATUS_USER: u32 = 1;
/// Block given back to the kernel.
const TP_STATUS_KERNEL: u32 = 0;

#[repr(C)]
struct TpacketReq3 {
    tp_block_size: u32,
    tp_block_nr: u32,
    tp_frame_size: u32,
    tp_frame_nr: u32,
    tp_retire_blk_tov: u32,
    tp_sizeof_priv: u32,
    tp_feature_req_word: u32,
}

#[repr(C)]
#[derive(Default)]
struct TpacketStatsV3 {
    tp_packets: u32,
    tp_drops: u32,
    tp_freeze_q_cnt: u32,
}

#[repr(C)]
struct PacketMreq {
    mr_ifindex: libc::c_int,
    mr_type: libc::c_ushort,
    mr_alen: libc::c_ushort,
    mr_address: [u8; 8],
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, opt: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: `val` is a live reference to a plain `repr(C)` value of the size passed; the
    // kernel only reads it during the call.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            val as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    cvt(r).map(|_| ())
}

/// A new `AF_PACKET`/`SOCK_RAW` socket that receives nothing until it is bound (protocol 0),
/// so no frame slips in before the filter and the ring are in place.
pub fn packet_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with constant arguments; the returned fd is checked and owned.
    let fd = cvt(unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Selects TPACKET_V3 for the socket's ring.
pub fn set_tpacket_v3(fd: &OwnedFd) -> io::Result<()> {
    setsockopt(fd.as_raw_fd(), SOL_PACKET, PACKET_VERSION, &TPACKET_V3)
}

/// Sets `SO_RCVBUF` (the pnet path's socket buffer).
pub fn set_rcvbuf(fd: RawFd, bytes: usize) -> io::Result<()> {
    let v = bytes.min(i32::MAX as usize) as libc::c_int;
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &v)
}

/// Attaches a classic BPF program (`SO_ATTACH_FILTER`).
pub fn attach_filter(fd: RawFd, prog: &[BpfInsn]) -> io::Result<()> {
    let fprog = libc::sock_fprog { len: prog.len() as libc::c_ushort, filter: prog.as_ptr() as *mut libc::sock_filter };
    // `BpfInsn` has the layout of `struct sock_filter`; the kernel copies the program.
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
}

/// Binds the socket to an interface, receiving every protocol.
pub fn bind_ifindex(fd: RawFd, ifindex: u32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = ETH_P_ALL_BE;
    sa.sll_ifindex = ifindex as i32;
    // SAFETY: `sa` is a valid sockaddr_ll and its size is passed.
    let r = unsafe {
        libc::bind(
            fd,
            &sa as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    cvt(r).map(|_| ())
}

/// Puts the interface in promiscuous mode for as long as the socket lives.
pub fn add_promisc(fd: RawFd, ifindex: u32) -> io::Result<()> {
    let m = PacketMreq { mr_ifindex: ifindex as i32, mr_type: PACKET_MR_PROMISC, mr_alen: 0, mr_address: [0; 8] };
    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &m)
}

/// Joins fanout group `group` with `mode_and_flags` (PACKET_FANOUT_* in the low byte, flags above).
pub fn join_fanout(fd: RawFd, group: u16, mode_and_flags: u16) -> io::Result<()> {
    let v: u32 = group as u32 | ((mode_and_flags as u32) << 16);
    setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &v)
}

/// Kernel counters since the last read (the kernel resets them on every read):
/// (packets received, packets dropped, times the queue was frozen).
pub fn packet_stats(fd: RawFd) -> io::Result<(u32, u32, u32)> {
    let mut st = TpacketStatsV3::default();
    let mut len = std::mem::size_of::<TpacketStatsV3>() as libc::socklen_t;
    // SAFETY: `st` and `len` are live and sized for tpacket_stats_v3; the kernel writes at
    // most `len` bytes (a V1/V2 socket writes the shorter tpacket_stats, the rest stays 0).
    let r = unsafe {
        libc::getsockopt(
            fd,
            SOL_PACKET,
            PACKET_STATISTICS,
            &mut st as *mut TpacketStatsV3 as *mut libc::c_void,
            &mut len,
        )
    };
    cvt(r)?;
    Ok((st.tp_packets, st.tp_drops, st.tp_freeze_q_cnt))
}

/// Reads and clears the socket's pending error (e.g. ENETDOWN after the link went down).
pub fn take_socket_error(fd: RawFd) -> Option<io::Error> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v`/`len` are live and sized for an int.
    let r = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, &mut v as *mut _ as *mut _, &mut len) };
    (r == 0 && v != 0).then(|| io::Error::from_raw_os_error(v))
}

/// Waits until one of `fds` is readable or has an error, at most `timeout_ms`. Returns the
/// `revents` of each fd (0 when nothing happened), in order.
pub fn poll_in(fds: &[RawFd], timeout_ms: i32, revents: &mut Vec<i16>) -> io::Result<()> {
    let mut p: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    // SAFETY: `p` is a live array of `p.len()` pollfd structs.
    let r = unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, timeout_ms) };
    revents.clear();
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            revents.resize(fds.len(), 0);
            return Ok(());
        }
        return Err(e);
    }
    revents.extend(p.iter().map(|x| x.revents));
    Ok(())
}

/// `POLLERR` bit of a `revents` value.
pub const POLLERR: i16 = libc::POLLERR;

/// Interface index of `name`, if it exists.
pub fn if_nametoindex(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// A TPACKET_V3 receive ring mapped into memory, with its socket.
pub struct Ring {
    fd: OwnedFd,
    map: *mut u8,
    map_len: usize,
    block_size: usize,
    blocks: usize,
}

// SAFETY: the mapping is owned by this value alone (no alias is handed out beyond
// `with_block`'s borrow), so moving it to another thread is sound.
unsafe impl Send for Ring {}

impl Ring {
    /// Sets up the ring on a TPACKET_V3 socket (before `bind`) and maps it.
    pub fn new(fd: OwnedFd, block_size: u32, blocks: u32, frame_size: u32, retire_ms: u32) -> io::Result<Ring> {
        let req = TpacketReq3 {
            tp_block_size: block_size,
            tp_block_nr: blocks,
            tp_frame_size: frame_size,
            tp_frame_nr: (block_size / frame_size) * blocks,
            tp_retire_blk_tov: retire_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(fd.as_raw_fd(), SOL_PACKET, PACKET_RX_RING, &req)?;
        let map_len = block_size as usize * blocks as usize;
        // SAFETY: maps the ring the kernel just allocated for this socket; the length is the
        // one requested; the result is checked against MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Ring { fd, map: p as *mut u8, map_len, block_size: block_size as usize, blocks: blocks as usize })
    }

    /// The socket.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Number of blocks.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    fn status(&self, block: usize) -> &AtomicU32 {
        // SAFETY: `block < blocks` (checked by callers), so the block descriptor's
        // `block_status` (offset 8, 4-aligned, inside the mapping) is in bounds; the kernel
        // updates it concurrently, hence an atomic view.
        unsafe { &*(self.map.add(block * self.block_size + 8) as *const AtomicU32) }
    }

    /// If block `block` has been handed to user space, lends its bytes to `f` and gives the
    /// block back to the kernel afterwards. Returns whether a block was lent.
    pub fn with_block(&mut self, block: usize, f: impl FnOnce(&[u8])) -> bool {
        if block >= self.blocks {
            return false;
        }
        if self.status(block).load(Ordering::Acquire) & TP_STATUS_USER == 0 {
            return false;
        }
        // SAFETY: the block is in bounds and owned by user space (TP_STATUS_USER, read with
        // Acquire so the kernel's writes are visible); the kernel does not touch it until we
        // store TP_STATUS_KERNEL below, after the borrow ended. `&mut self` keeps others out.
        let data = unsafe { std::slice::from_raw_parts(self.map.add(block * self.block_size), self.block_size) };
        f(data);
        self.status(block).store(TP_STATUS_KERNEL, Ordering::Release);
        true
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping created in `new`; no borrow of it can be alive
        // (`with_block` borrows end with the call).
        unsafe {
            libc::munmap(self.map as *mut libc::c_void, self.map_len);
        }
    }
}

// ---- libpcap: compile a tcpdump expression to classic BPF --------------------------------

#[repr(C)]
struct BpfProgram {
    bf_len: libc::c_uint,
    bf_insns: *mut BpfInsn,
}

#[link(name = "pcap")]
extern "C" {
    fn pcap_open_dead(linktype: libc::c_int, snaplen: libc::c_int) -> *mut libc::c_void;
    fn pcap_compile(
        p: *mut libc::c_void,
        fp: *mut BpfProgram,
        s: *const libc::c_char,
        optimize: libc::c_int,
        netmask: u32,
    ) -> libc::c_int;
    fn pcap_freecode(fp: *mut BpfProgram);
    fn pcap_geterr(p: *mut libc::c_void) -> *const libc::c_char;
    fn pcap_close(p: *mut libc::c_void);
}

/// Compiles a tcpdump filter expression (`""` = accept all) for link type `dlt` into classic
/// BPF whose accept value is `snaplen` (the kernel truncates to the filter's return value).
pub fn compile_bpf(expr: &str, dlt: i32, snaplen: u32) -> Result<Vec<BpfInsn>, String> {
    let c = CString::new(expr).map_err(|_| "the filter contains a NUL byte".to_string())?;
    // SAFETY: pcap_open_dead allocates a handle that needs no device; checked for NULL.
    let p = unsafe { pcap_open_dead(dlt, snaplen.min(i32::MAX as u32) as libc::c_int) };
    if p.is_null() {
        return Err("libpcap: pcap_open_dead failed".into());
    }
    let mut prog = BpfProgram { bf_len: 0, bf_insns: std::ptr::null_mut() };
    // SAFETY: `p` is a live handle, `prog` a live out-parameter, `c` a NUL-terminated string;
    // 0xffffffff = PCAP_NETMASK_UNKNOWN.
    let r = unsafe { pcap_compile(p, &mut prog, c.as_ptr(), 1, 0xffff_ffff) };
    let out = if r != 0 {
        // SAFETY: pcap_geterr returns a NUL-terminated string owned by the live handle; it is
        // copied before the handle is closed.
        let msg = unsafe { std::ffi::CStr::from_ptr(pcap_geterr(p)) }.to_string_lossy().into_owned();
        Err(msg)
    } else {
        // SAFETY: on success `bf_insns` points to `bf_len` instructions owned by `prog`,
        // copied out before pcap_freecode releases them.
        let v = unsafe { std::slice::from_raw_parts(prog.bf_insns, prog.bf_len as usize) }.to_vec();
        // SAFETY: frees the program pcap_compile allocated, once.
        unsafe { pcap_freecode(&mut prog) };
        Ok(v)
    };
    // SAFETY: closes the handle opened above, once, after its last use.
    unsafe { pcap_close(p) };
    out
}

// ---- privileges ------------------------------------------------------------------------

/// Highest capability number to clear (the kernel ignores numbers it does not know).
const CAP_LAST: u32 = 63;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Changes to `uid`/`gid` (supplementary groups: only `gid`) and keeps exactly the
/// capabilities in `keep` (bit numbers, e.g. 13 = CAP_NET_RAW) effective and permitted,
/// nothing inheritable or ambient, and no way to regain privileges (`PR_SET_NO_NEW_PRIVS`).
/// With `ids == None` only the capabilities are reduced. Affects the calling thread only, so
/// call it before starting threads.
pub fn drop_privileges(ids: Option<(u32, u32)>, keep: &[u32]) -> io::Result<()> {
    let keep_mask: u64 = keep.iter().fold(0u64, |m, &c| m | (1u64 << c.min(63)));
    // Bounding set first (needs CAP_SETPCAP, i.e. still privileged); EINVAL past the last
    // capability the kernel knows and EPERM without CAP_SETPCAP are fine.
    for cap in 0..=CAP_LAST {
        if keep_mask & (1 << cap) == 0 {
            // SAFETY: prctl with integer arguments only.
            unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        }
    }
    if let Some((uid, gid)) = ids {
        if !keep.is_empty() {
            // SAFETY: prctl with integer arguments only.
            cvt(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) })?;
        }
        let groups = [gid as libc::gid_t];
        // SAFETY: a live array of one gid.
        cvt(unsafe { libc::setgroups(1, groups.as_ptr()) })?;
        // SAFETY: integer arguments; glibc applies set*id to every thread of the process.
        cvt(unsafe { libc::setresgid(gid, gid, gid) })?;
        // SAFETY: as above.
        cvt(unsafe { libc::setresuid(uid, uid, uid) })?;
    }
    let mut hdr = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let lo = keep_mask as u32;
    let hi = (keep_mask >> 32) as u32;
    let data = [
        CapData { effective: lo, permitted: lo, inheritable: 0 },
        CapData { effective: hi, permitted: hi, inheritable: 0 },
    ];
    // SAFETY: capset(2) with a v3 header and the two data structs v3 requires.
    cvt(unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) as libc::c_int })?;
    // SAFETY: prctl with integer arguments only (PR_CAP_AMBIENT_CLEAR_ALL = 4).
    unsafe { libc::prctl(libc::PR_CAP_AMBIENT, 4, 0, 0, 0) };
    // SAFETY: prctl with integer arguments only.
    cvt(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })?;
    Ok(())
}

/// The effective user id.
pub fn geteuid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// Gives memory freed by the allocator back to the system (glibc keeps freed arenas mapped;
/// after a rule reload freed the previous engine this returns its pages). No-op elsewhere.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks glibc's own free lists; no pointer is passed.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Moves the calling thread (and the threads it starts later) to SCHED_IDLE: it runs only when
/// no normal task wants the CPU, and a normal task waking up preempts it at once (unlike nice
/// 19, which still gets its share of a busy CPU). Lowering one's own policy needs no privilege.
pub fn set_thread_sched_idle() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param for the call's duration.
    cvt(unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) }).map(|_| ())
}

/// The calling thread's id (for [`set_thread_sched_normal`] from another thread).
pub fn thread_id() -> i32 {
    // SAFETY: gettid takes nothing and cannot fail.
    unsafe { libc::gettid() }
}

/// Moves thread `tid` of this process back to the normal policy (SCHED_OTHER). Leaving
/// SCHED_IDLE needs CAP_SYS_NICE (or an RLIMIT_NICE of 20): an unprivileged process gets
/// `PermissionDenied` and the thread stays where it is.
pub fn set_thread_sched_normal(tid: i32) -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `tid` is only a number to the kernel; `param` is valid for the call's duration.
    cvt(unsafe { libc::sched_setscheduler(tid, libc::SCHED_OTHER, &param) }).map(|_| ())
}

#[cfg(test)]
mod tests {
    /// The calling thread's scheduling policy (field 41 of /proc/thread-self/stat).
    fn policy() -> u32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        after_comm.split(' ').nth(41 - 3).unwrap().parse().unwrap()
    }

    #[test]
    fn sched_idle_applies_to_the_thread_and_the_threads_it_starts() {
        std::thread::spawn(|| {
            assert_eq!(policy(), libc::SCHED_OTHER as u32);
            super::set_thread_sched_idle().unwrap();
            assert_eq!(policy(), libc::SCHED_IDLE as u32);
            assert_eq!(std::thread::spawn(policy).join().unwrap(), libc::SCHED_IDLE as u32);
        })
        .join()
        .unwrap();
        assert_eq!(policy(), libc::SCHED_OTHER as u32, "other threads keep theirs");
        if super::geteuid() == 0 {
            let (tx, rx) = std::sync::mpsc::channel();
            let (go, wait) = std::sync::mpsc::channel::<()>();
            let t = std::thread::spawn(move || {
                super::set_thread_sched_idle().unwrap();
                tx.send(super::thread_id()).unwrap();
                wait.recv().unwrap();
                policy()
            });
            super::set_thread_sched_normal(rx.recv().unwrap()).unwrap();
            go.send(()).unwrap();
            assert_eq!(t.join().unwrap(), libc::SCHED_OTHER as u32, "moved back from another thread");
        }
    }
}
