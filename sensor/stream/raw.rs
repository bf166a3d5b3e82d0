//! Raw stream inspection: the blocks of a direction due for detection, and the session's
//! accessors detection and the app layer use.

use super::{TcpSession, D_DATA, D_RAW_OFF, D_TRIGGER_RAW, S_APP_OFF, S_MIDSTREAM, S_RST};

/// Most blocks inspected for one packet (a stream with more holes is inspected over several
/// packets, which bounds the work per packet).
pub const MAX_RAW_BLOCKS: usize = 16;

/// Raw stream blocks to inspect for direction `d`, from its raw progress up to the
/// acknowledged edge (everything when `eof`), and the progress to record afterwards
/// (Suricata's StreamReassembleRawDo, including how it steps over holes).
pub fn raw_blocks(ssn: &TcpSession, d: usize, eof: bool, out: &mut Vec<(u64, u64)>) -> u64 {
    out.clear();
    // In bounds: d is a direction (see `dirs`).
    let dir = &ssn.dirs[d];
    let re = dir.acked();
    let mut progress = dir.raw_progress;
    for (o, bytes) in dir.buf.blocks_from(progress) {
        let mut len = bytes.len() as u64;
        if !eof {
            if re < progress {
                break;
            }
            if progress + len > re {
                len = re - progress;
            }
        }
        if len == 0 || out.len() == MAX_RAW_BLOCKS {
            break;
        }
        out.push((o, len));
        if o == progress {
            progress += len;
        } else if o > progress && o < re {
            progress = o;
        }
    }
    progress
}

impl TcpSession {
    /// Bytes of direction `d` at [off, off+len) (a block returned by [`raw_blocks`]).
    pub fn bytes(&self, d: usize, off: u64, len: u64) -> &[u8] {
        // Only the first block from `off` can hold it.
        // In bounds: d is a direction (see `dirs`).
        match self.dirs[d].buf.blocks_from(off).next() {
            Some((o, b)) if o <= off => {
                let s = (off - o) as usize;
                b.get(s..s.saturating_add(len as usize)).unwrap_or(&[])
            }
            _ => &[],
        }
    }

    /// Records raw inspection progress for direction `d` after detection ran on its blocks.
    pub fn raw_done(&mut self, d: usize, progress: u64) {
        // In bounds: d is a direction (see `dirs`).
        let dir = &mut self.dirs[d];
        if progress > dir.raw_progress {
            dir.raw_progress = progress;
            dir.flags &= !D_TRIGGER_RAW;
        }
    }

    /// Stops raw inspection of both directions (the flow is passed, or no rule inspects
    /// streams) so their data can be freed.
    pub fn disable_raw(&mut self) {
        for d in self.dirs.iter_mut() {
            d.flags |= D_RAW_OFF;
        }
    }

    /// The session's protocol reassembles `size` bytes per direction (0: no limit), taken
    /// when larger than the session's depth (`configured` until a protocol set one) or 0, as
    /// Suricata's `TcpSessionSetReassemblyDepth`.
    pub fn set_app_depth(&mut self, size: u64, configured: u64) {
        if size == 0 || size > self.depth.unwrap_or(configured) {
            self.depth = Some(size);
        }
    }

    /// Raw inspection was stopped in both directions ([`TcpSession::disable_raw`]).
    pub fn raw_disabled(&self) -> bool {
        self.dirs.iter().all(|d| d.flags & D_RAW_OFF != 0)
    }

    /// The app layer asks for raw inspection of direction `d` now (a transaction completed).
    pub fn trigger_raw(&mut self, d: usize) {
        if let Some(dir) = self.dirs.get_mut(d) {
            dir.flags |= D_TRIGGER_RAW;
        }
    }

    /// The app layer is done with this session (stop keeping data for it, stop counting gaps).
    pub fn app_stop(&mut self) {
        self.flags |= S_APP_OFF;
    }

    /// The session began mid-stream.
    pub fn midstream(&self) -> bool {
        self.flags & S_MIDSTREAM != 0
    }

    /// Closed by a RST.
    pub fn closed_by_rst(&self) -> bool {
        self.flags & S_RST != 0
    }

    /// Direction `d` has carried data.
    pub fn has_data(&self, d: usize) -> bool {
        // In bounds: d is a direction (see `dirs`).
        self.dirs[d].flags & D_DATA != 0
    }
}
