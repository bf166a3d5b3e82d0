//! systemd's notification protocol (`sd_notify(3)`): a datagram of `KEY=VALUE` lines to the
//! unix socket named by `$NOTIFY_SOCKET` (a path, or an abstract name starting with `@`).
//! `picket run` sends `READY=1` once capture runs (`Type=notify`), `STATUS=...`, `RELOADING=1`
//! around rule reloads, `STOPPING=1` when it drains, and `WATCHDOG=1` at half of
//! `$WATCHDOG_USEC` while every thread makes progress (`WatchdogSec=`). Without
//! `$NOTIFY_SOCKET` (not under systemd) every call does nothing.
//!
//! Written here rather than taken from a crate: the protocol is one `sendto(2)` of text, which
//! the standard library's `UnixDatagram` does safely, abstract names included.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// The notification socket, when systemd gave one.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

fn socket_addr(name: &str) -> Option<SocketAddr> {
    if let Some(abs) = name.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            return SocketAddr::from_abstract_name(abs.as_bytes()).ok();
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = abs;
            return None;
        }
    }
    SocketAddr::from_pathname(name).ok()
}

impl Notifier {
    /// From the environment (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`).
    pub fn from_env() -> Notifier {
        let target = std::env::var("NOTIFY_SOCKET")
            .ok()
            .filter(|s| !s.is_empty())
            .and_then(|s| Some((UnixDatagram::unbound().ok()?, socket_addr(&s)?)));
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
            .is_none_or(|p| p == std::process::id());
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|u| u.trim().parse::<u64>().ok())
            .filter(|&u| u > 0 && for_us)
            .map(Duration::from_micros);
        Notifier { target, watchdog }
    }

    /// Whether systemd listens.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `KEY=VALUE` lines; errors are ignored (systemd may be restarting).
    pub fn notify(&self, state: &str) {
        if let Some((sock, addr)) = &self.target {
            let _ = sock.send_to_addr(state.as_bytes(), addr);
        }
    }

    /// How often to send `WATCHDOG=1` (half the watchdog timeout), when a watchdog is set.
    pub fn watchdog_every(&self) -> Option<Duration> {
        self.target.as_ref()?;
        self.watchdog.map(|w| w / 2)
    }

    /// The watchdog timeout itself.
    pub fn watchdog_timeout(&self) -> Option<Duration> {
        self.watchdog
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_states_to_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notify");
        let rx = UnixDatagram::bind(&p).unwrap();
        let n = Notifier {
            target: Some((UnixDatagram::unbound().unwrap(), socket_addr(p.to_str().unwrap()).unwrap())),
            watchdog: Some(Duration::from_secs(10)),
        };
        n.notify("READY=1\nSTATUS=capturing");
        let mut b = [0u8; 64];
        let len = rx.recv(&mut b).unwrap();
        assert_eq!(&b[..len], b"READY=1\nSTATUS=capturing");
        assert_eq!(n.watchdog_every(), Some(Duration::from_secs(5)));
    }

    #[test]
    fn abstract_names_parse() {
        assert!(socket_addr("@/org/freedesktop/systemd1/notify").is_some());
        assert!(socket_addr("/run/systemd/notify").is_some());
    }
}
