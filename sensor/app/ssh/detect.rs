//! SSH as a plug-in: its sticky buffers (rows), its one transaction per flow, its parser
//! behind the app layer's traits, and its descriptor.

use super::{Phase, SshHeader, SshState, SshStats, EVENTS};
use crate::app::plugin::{
    buffer_infos, keyword_tables, AppParser, BufferInfo, Need, ParseCx, Protocol, RecordCx, Side, Status, Sticky,
    Transaction, PROGRESS_DONE,
};
use crate::app::txs::app_parser_txs;
use crate::app::{AppConfig, AppProto, AppStats};
use crate::output::eve::Json;

/// Progress of a side whose banner was read.
const BANNER: u8 = 1;
/// Progress of a side whose KEXINIT was read (HASSH known) or that sent NEWKEYS.
const KEX: u8 = 2;

const fn buf(
    name: &'static str,
    aliases: &'static [&'static str],
    side: Side,
    desc: &'static str,
    doc: &'static str,
) -> BufferInfo {
    BufferInfo { name, aliases, side, need: Need::own(BANNER), multi: false, shared: false, internal: false, desc, doc }
}

fn field(v: &[u8], f: &mut dyn FnMut(&[u8]) -> bool) -> bool {
    !v.is_empty() && f(v)
}

/// SSH's sticky buffers, in the order of their numbers.
pub(super) static BUFFERS: &[Sticky<SshState>] = &[
    Sticky {
        info: buf(
            "ssh.proto",
            &["ssh_proto"],
            Side::Both,
            "the protocol version of the packet's side's banner",
            "https://docs.suricata.io/en/latest/rules/ssh-keywords.html#ssh-proto",
        ),
        get: |s, ts, f| field(&s.header(ts).proto, f),
    },
    Sticky {
        info: buf(
            "ssh.software",
            &["ssh_software"],
            Side::Both,
            "the software version of the packet's side's banner",
            "https://docs.suricata.io/en/latest/rules/ssh-keywords.html#ssh-software",
        ),
        get: |s, ts, f| field(&s.header(ts).software, f),
    },
    Sticky {
        info: buf(
            "ssh.hassh",
            &["ssh-hassh"],
            Side::ToServer,
            "the HASSH of the client's key exchange (MD5, lower-case hex)",
            "https://docs.suricata.io/en/latest/rules/ssh-keywords.html#ssh-hassh",
        ),
        get: |s, _, f| field(&s.header(true).hassh, f),
    },
    Sticky {
        info: buf(
            "ssh.hassh.string",
            &["ssh-hassh-string"],
            Side::ToServer,
            "the HASSH string of the client's key exchange",
            "https://docs.suricata.io/en/latest/rules/ssh-keywords.html#ssh-hassh-string",
        ),
        get: |s, _, f| field(&s.header(true).hassh_string, f),
    },
    Sticky {
        info: buf(
            "ssh.hassh.server",
            &["ssh-hassh-server"],
            Side::ToClient,
            "the HASSH of the server's key exchange (MD5, lower-case hex)",
            "https://docs.suricata.io/en/latest/rules/ssh-keywords.html#ssh-hassh-server",
        ),
        get: |s, _, f| field(&s.header(false).hassh, f),
    },
    Sticky {
        info: buf(
            "ssh.hassh.server.string",
            &["ssh-hassh-server-string"],
            Side::ToClient,
            "the HASSH string of the server's key exchange",
            "https://docs.suricata.io/en/latest/rules/ssh-keywords.html#ssh-hassh-server-string",
        ),
        get: |s, _, f| field(&s.header(false).hassh_string, f),
    },
];

fn side_progress(h: &SshHeader, both_done: bool) -> u8 {
    if both_done {
        PROGRESS_DONE
    } else if h.phase >= Phase::BannerDone && (!h.hassh.is_empty() || h.phase == Phase::Finished) {
        KEX
    } else if h.phase >= Phase::BannerDone {
        BANNER
    } else {
        0
    }
}

fn write_side(o: &mut Json<'_>, key: &str, h: &SshHeader) {
    if h.proto.is_empty() {
        return;
    }
    fn cut(v: &[u8]) -> &[u8] {
        v.get(..super::MAX_BANNER).unwrap_or(v)
    }
    let mut s = o.begin(key);
    s.bytes("proto_version", cut(&h.proto));
    if !h.software.is_empty() {
        s.bytes("software_version", cut(&h.software));
    }
    s.end();
}

impl SshState {
    /// Writes the `"ssh":{...}` object (Suricata's `log_ssh`, HASSH left out as Suricata leaves
    /// it out unless a rule asks for it).
    pub(crate) fn write_eve(&self, j: &mut Json<'_>) -> bool {
        if self.header(true).proto.is_empty() && self.header(false).proto.is_empty() {
            return false;
        }
        let mut o = j.begin("ssh");
        write_side(&mut o, "client", self.header(true));
        write_side(&mut o, "server", self.header(false));
        o.end();
        true
    }
}

impl Transaction for SshState {
    fn id(&self) -> u64 {
        0
    }

    fn progress(&self) -> [u8; 2] {
        let done = self.encrypted();
        [side_progress(self.header(true), done), side_progress(self.header(false), done)]
    }

    keyword_tables!(buffers: BUFFERS,);

    fn write_alert_eve(&self, j: &mut Json<'_>) {
        self.write_eve(j);
    }

    fn record_ready(&self) -> bool {
        // Suricata logs once both banners are read (HASSH off)
        self.header(true).phase >= Phase::BannerDone && self.header(false).phase >= Phase::BannerDone
    }

    fn write_record(&self, j: &mut Json<'_>, _cx: &RecordCx<'_>) -> bool {
        self.write_eve(j)
    }

    fn events(&self) -> &[u16] {
        SshState::events(self)
    }
}

impl AppParser for SshState {
    fn parse(&mut self, to_server: bool, data: &[u8], cx: &mut ParseCx<'_>) -> Status {
        // Both NEWKEYS came in earlier data: this is the encrypted phase. Suricata stops
        // inspecting from there (`encryption-handling: track-only`); the packets that carried
        // the NEWKEYS themselves are still inspected.
        if self.encrypted() {
            if !self.sealed {
                self.sealed = true;
                cx.stats.ssh.encrypted += 1;
            }
            return Status::Stop;
        }
        self.frames_on = cx.frames.any();
        SshState::parse_at(self, to_server, data, cx.frames.offset(to_server));
        for (ts, off, len, ty) in self.frames.drain(..) {
            if let Some(id) = cx.frames.add(ts, off, Some(len), ty) {
                cx.frames.set_tx(id, 0);
            }
        }
        self.stats.drain_into(&mut cx.stats.ssh);
        if self.failed() {
            Status::Stop
        } else {
            Status::Continue
        }
    }

    app_parser_txs!(self_is_tx);

    fn no_inspection(&self) -> bool {
        self.sealed
    }

    fn take_raw_trigger(&mut self) -> [bool; 2] {
        std::mem::take(&mut self.raw_trigger)
    }
}

/// SSH's descriptor.
pub(crate) static PROTOCOL: Protocol = Protocol {
    buffers: || buffer_infos(BUFFERS),
    events: EVENTS,
    frames: super::FRAMES,
    ..Protocol::new(
        AppProto::Ssh,
        |_: &AppConfig| Box::<SshState>::default(),
        |s: &AppStats, f| SshStats::each(&s.ssh, f),
    )
};
