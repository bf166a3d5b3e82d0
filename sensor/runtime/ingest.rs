//! Ingest: what happens to a frame before a worker inspects it (decode, checksum validation,
//! tunnel outer flows, IP reassembly, flow key), and which worker gets it.
//!
//! One [`Ingest`] serves the replay reader, the pnet readers and each AF_PACKET worker, so
//! that every capture path gives the same flows and alerts.
//!
//! Where a reader hands frames to workers (replay, bench, pnet), the reader is the one
//! serial stage of the pipeline, so it does as little as it can: with [`Ingest::defer`] on,
//! a plain TCP or UDP packet over Ethernet/VLAN or raw IP (no fragment, no tunnel port, no
//! IPv6 extension header) is only looked at far enough to pick its worker
//! ([`crate::flow::quick_shard`]); the worker decodes it, validates its checksums and finds
//! its flow key ([`crate::runtime::worker::Worker::prepare`]). Everything else (fragments
//! and the datagrams they complete, tunnels, ICMP, other protocols and link types) is
//! decoded here as before. Both paths pick the worker with the same function of the flow's
//! addresses, ports and protocol ([`crate::flow::FlowKey::shard`]), so every packet of a flow
//! meets the same worker whichever path it took. While `checksum_validation = "auto"` is
//! still sampling, every frame takes the full path, so the decision is made on the same
//! packets, in capture order, as before.

use crate::capture::{FrameRef, LinkType, Timestamp};
use crate::config::{ChecksumMode, Config};
use crate::decode::checksum::{self, AutoState, Mode};
use crate::decode::{flags, Decoded, Decoder};
use crate::defrag::{self, Defrag};
use crate::flow::{quick_shard, FlowKey};
use crate::metrics::{Counters, C};
use crate::runtime::worker::{Item, Pkt};

/// Per-frame preparation (see the module documentation).
pub(crate) struct Ingest {
    decoder: Decoder,
    defrag: Defrag,
    auto: AutoState,
    d: Decoded,
    tunnel_ports: [u16; 3],
    /// Leave decoding of plain TCP/UDP packets to the workers (a reader feeding workers).
    pub defer: bool,
    /// Number the frames as Suricata's `pcap_cnt` (replay); live capture leaves it at 0.
    pub number_frames: bool,
    /// Frames seen.
    pub frames: u64,
    /// Counters of this stage.
    pub c: Counters,
    /// Latest packet time seen.
    pub now: Timestamp,
}

/// The decoder settings of a configuration (tunnel ports).
pub(crate) fn decoder_of(cfg: &Config) -> Decoder {
    cfg.decoder.clone()
}

impl Ingest {
    /// From the configuration; `defer` and `number_frames` start off.
    pub(crate) fn new(cfg: &Config) -> Ingest {
        let decoder = decoder_of(cfg);
        let tunnel_ports = [decoder.teredo_port, decoder.vxlan_port, decoder.geneve_port];
        Ingest {
            decoder,
            defrag: Defrag::new(&cfg.defrag),
            auto: AutoState::new(match cfg.capture.checksum_validation {
                ChecksumMode::Auto => Mode::Auto,
                ChecksumMode::All => Mode::All,
                ChecksumMode::None => Mode::None,
            }),
            d: Decoded::default(),
            tunnel_ports,
            defer: false,
            number_frames: false,
            frames: 0,
            c: Counters::new(),
            now: Timestamp(0),
        }
    }

    /// Prepares one frame; `emit(shard, item)` receives each entry (the tunnel outer flow, the
    /// packet, and a datagram the frame completed), in that order. `shard` is
    /// [`FlowKey::shard`] of the entry's flow, `None` for a packet without one.
    pub(crate) fn frame(&mut self, fr: &FrameRef<'_>, emit: &mut dyn FnMut(Option<u64>, Item)) {
        self.frames += 1;
        let pcap_cnt = self.pcap_cnt();
        let c = &mut self.c;
        c.inc(C::CapturePackets);
        c.add(C::CaptureBytes, fr.data.len() as u64);
        if fr.ts > self.now {
            self.now = fr.ts;
        }
        if self.defer && self.auto.decided() {
            if let Some(shard) = quick_shard(fr.linktype, fr.data, &self.tunnel_ports) {
                emit(Some(shard), Item::Undecoded { validate: self.auto.validating(), pcap_cnt });
                return;
            }
        }
        self.decoder.decode(fr.linktype, fr.data, &mut self.d, c);
        let mut d = self.d;
        // Defrag first, so that the fragment's own anomalies (overlap, too large) are listed
        // on it; the datagram it completes follows it below.
        let mut next = None;
        if d.flags & flags::FRAGMENT != 0 {
            let fd = d;
            next = self.defrag.fragment(fr.data, &fd, fr.ts, c, &mut d.events);
        }
        let bad = if self.auto.validating() {
            let r = checksum::verify(fr.data, &d);
            let bad = self.auto.observe(r);
            if bad {
                checksum::count_invalid(&d, c);
            }
            bad
        } else {
            false
        };
        let pkt = |linktype, pcap_cnt, d, flow: Option<crate::flow::FlowPkt>, outer_only, bad| Pkt {
            ts: fr.ts,
            linktype,
            pcap_cnt,
            iface: fr.iface,
            d,
            hash: flow.as_ref().map_or(0, |f| f.key.hash()),
            flow,
            outer_only,
            bad_checksum: bad,
        };
        // A tunnel's outer layer is a flow of its own (Teredo/VXLAN/Geneve UDP, 6in4).
        if let Some(ofp) = FlowKey::of_outer(&d, fr.data.len()) {
            let shard = ofp.key.shard();
            emit(Some(shard), Item::Frame(pkt(fr.linktype, pcap_cnt, d, Some(ofp), true, bad)));
        }
        let fp = FlowKey::of(&d, fr.data.len());
        let shard = fp.as_ref().map(|f| f.key.shard());
        emit(shard, Item::Frame(pkt(fr.linktype, pcap_cnt, d, fp, false, bad)));
        // Defrag: the fragment went on above (no flow); the datagram it completes follows
        // it, decoded again from its IP header (pkt_src "defrag", no pcap_cnt).
        if d.flags & flags::FRAGMENT != 0 {
            let mut fd = d;
            // Bounded: each pass strips one IPv6 Fragment header.
            for _ in 0..4 {
                let Some(dgram) = next.take() else { break };
                let Some(mut rd) = defrag::decode_rebuilt(&self.decoder, &dgram, &fd, c) else { break };
                rd.flags |= flags::REASSEMBLED;
                if rd.flags & flags::FRAGMENT != 0 {
                    let inner = rd;
                    next = self.defrag.fragment(&dgram, &inner, fr.ts, c, &mut rd.events);
                    fd = rd;
                    continue;
                }
                let bad = self.auto.validating() && checksum::verify(&dgram, &rd) == Some(false);
                let fp = FlowKey::of(&rd, dgram.len());
                let shard = fp.as_ref().map(|f| f.key.shard());
                emit(shard, Item::Datagram(dgram, pkt(LinkType::RAW, 0, rd, fp, false, bad)));
            }
        }
    }

    /// The `pcap_cnt` of the frame last seen (0 in live capture).
    pub(crate) fn pcap_cnt(&self) -> u64 {
        if self.number_frames {
            self.frames
        } else {
            0
        }
    }

    /// Expires unfinished datagrams (call once per tick or read chunk).
    pub(crate) fn expire(&mut self, now: Timestamp) {
        self.defrag.expire(now, &mut self.c);
        if self.auto.disabled_by_auto() {
            self.c.set(C::ChecksumAutoDisabled, 1);
        }
    }
}
