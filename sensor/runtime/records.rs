//! App-layer records: the EVE record of each transaction (`dns`, `http`, `tls`, `smb`, ...),
//! written once, when the transaction is ready (Suricata logs a transaction once it is
//! complete) or when its flow ends; and the `anomaly` records: each app-layer event a
//! transaction raised, once, with the packet after which it was found (Suricata's anomaly
//! transaction logger, `layer` `proto_parser`), and the events a packet of a flow carries
//! (protocol detection's, `layer` `proto_detect`; decoder and stream events when configured).
//!
//! The worker calls [`Records::after_packet`] for the flow of every packet the app layer saw,
//! and [`Records::at_flow_end`] when the flow ends. Which protocols have records is decided
//! at start ([`Records::new`]); the record body is the protocol's (`Transaction::write_record`),
//! the envelope Suricata's (`output::eve::record_event`). Never names a protocol, allocates
//! per packet (the record is formatted into the worker's output buffer), or writes a
//! transaction's record twice.

use super::worker::FlowExt;
use crate::app::{registry, AppConfig, AppProto, RecordCx};
use crate::capture::Timestamp;
use crate::decode::event::{Events, Layer};
use crate::flow::Flow;
use crate::metrics::{Counters, C};
use crate::output::eve::{self, FlowIds, Json, RecordDir, RecordHeader};
use crate::output::AnomalyConfig;

/// Which protocols' records are written.
#[derive(Clone, Debug)]
pub(crate) struct Records {
    /// Per protocol (index: `AppProto::index`).
    on: Vec<bool>,
    /// `fileinfo` records of the files transactions carry.
    files: bool,
    /// What `anomaly` records report.
    anomaly: AnomalyConfig,
}

impl Default for Records {
    fn default() -> Self {
        Records::none()
    }
}

/// The packet a record is written with: its time, capture position, direction and events.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PacketRef<'a> {
    /// Packet time.
    pub ts: Timestamp,
    /// Position in the capture.
    pub pcap_cnt: u64,
    /// It goes to the server.
    pub to_server: bool,
    /// Its decoder, stream and protocol-detection events.
    pub events: &'a Events,
    /// The flow's rule variables after the packet's inspection, rendered (EVE `metadata`).
    pub vars: &'a [u8],
    /// EVE `pkt_src` (`wire/pcap`, `defrag`, a tunnel's).
    pub pkt_src: &'static str,
}

/// The packet records are written with: time, position, direction (`None`: the flow
/// ends), `pkt_src`, the flow's rendered rule variables.
#[derive(Clone, Copy)]
struct At<'a> {
    ts: Timestamp,
    pcap_cnt: u64,
    to_server: Option<bool>,
    pkt_src: &'static str,
    vars: &'a [u8],
}

impl Records {
    /// Records for the protocols whose record type (`event_type`) is in `types`; `None`: every
    /// parsed protocol's (Suricata's default configuration logs all it parses).
    pub(crate) fn new(types: Option<&[String]>) -> Records {
        let mut on = vec![false; AppProto::ALL.len()];
        for p in registry::protocols() {
            let name = p.record_type.unwrap_or(p.proto.name());
            let wanted =
                types.is_none_or(|t| crate::output::type_listed(t, name) || t.iter().any(|x| x == p.proto.name()));
            if let Some(slot) = on.get_mut(p.proto.index()) {
                *slot = wanted;
            }
        }
        let files = types.is_none_or(|t| t.iter().any(|x| x == "files" || x == "fileinfo"));
        Records { on, files, anomaly: AnomalyConfig::OFF }
    }

    /// The records `[output.eve]` asks for: its `types`, and its `anomaly` kinds when
    /// `anomaly` is one of them.
    pub(crate) fn of(eve: &crate::output::EveConfig) -> Records {
        Records { anomaly: eve.anomalies(), ..Records::new(Some(&eve.types)) }
    }

    /// No records at all.
    pub(crate) fn none() -> Records {
        Records { on: Vec::new(), files: false, anomaly: AnomalyConfig::OFF }
    }

    /// Whether anything is to be written for a packet of a flow of protocol `p`: its
    /// protocol's records or files, or anomalies.
    pub(crate) fn on_for_packet(&self, p: AppProto) -> bool {
        self.anomaly.any() || self.on_for(p)
    }

    /// Whether the flow's protocol has records (or files).
    pub(crate) fn on_for(&self, p: AppProto) -> bool {
        self.files && registry::protocol(p).is_some() || self.on.get(p.index()).copied().unwrap_or(false)
    }

    /// Writes the records of the flow's transactions that became ready with a packet, and
    /// the anomalies found with it.
    pub(crate) fn after_packet(
        &self,
        f: &mut Flow<FlowExt>,
        pkt: &PacketRef<'_>,
        cfg: &AppConfig,
        out: &mut Vec<u8>,
        out_events: &mut u64,
        c: &mut Counters,
    ) {
        self.packet_anomalies(f, pkt, out, out_events, c);
        let at = At {
            ts: pkt.ts,
            pcap_cnt: pkt.pcap_cnt,
            to_server: Some(pkt.to_server),
            pkt_src: pkt.pkt_src,
            vars: pkt.vars,
        };
        self.write(f, &at, cfg, out, out_events, c);
    }

    /// The `anomaly` records of a packet's own events (Suricata's anomaly packet logger):
    /// decoder and stream events as configured, protocol detection's with `applayer`.
    fn packet_anomalies(
        &self,
        f: &Flow<FlowExt>,
        pkt: &PacketRef<'_>,
        out: &mut Vec<u8>,
        out_events: &mut u64,
        c: &mut Counters,
    ) {
        if pkt.events.is_empty() || !self.anomaly.any() {
            return;
        }
        let ids = FlowIds { flow_id: f.flow_id, key: &f.key, tuple: &f.tuple };
        let dir = if pkt.to_server { RecordDir::Flow } else { RecordDir::ToClient };
        let proto = f.ext.app.proto();
        for e in pkt.events.iter() {
            let layer = e.layer();
            let wanted = match layer {
                Layer::Decode => self.anomaly.decode,
                Layer::Stream => self.anomaly.stream,
                Layer::AppLayer => self.anomaly.applayer,
            };
            if !wanted {
                continue;
            }
            let h = RecordHeader {
                ts: pkt.ts,
                pcap_cnt: pkt.pcap_cnt,
                event_type: "anomaly",
                dir,
                flow_end: false,
                pkt_src: pkt.pkt_src,
                tx_id: None,
                vars: pkt.vars,
            };
            let written = eve::record_event(out, &h, &ids, &mut |j| {
                let mut o = j.begin("anomaly");
                if layer == Layer::AppLayer {
                    if proto.is_known() {
                        o.str("app_proto", proto.name());
                    }
                    o.str("type", "applayer");
                    o.str("event", e.eve_name());
                    o.str("layer", "proto_detect");
                } else {
                    o.str("type", layer.name());
                    o.str("event", e.name());
                }
                o.end();
                true
            });
            if written {
                *out_events += 1;
                c.inc(C::OutputRecords);
            }
        }
    }

    /// Writes the records of every transaction of the flow not written yet (the flow ends);
    /// `vars`: the flow's rule variables, rendered.
    pub(crate) fn at_flow_end(
        &self,
        f: &mut Flow<FlowExt>,
        vars: &[u8],
        cfg: &AppConfig,
        out: &mut Vec<u8>,
        out_events: &mut u64,
        c: &mut Counters,
    ) {
        let at = At { ts: f.last, pcap_cnt: 0, to_server: None, pkt_src: "wire/pcap", vars };
        self.write(f, &at, cfg, out, out_events, c);
    }

    /// Writes the records due with a packet, or at the flow's end (`at.to_server` None).
    fn write(
        &self,
        f: &mut Flow<FlowExt>,
        at: &At<'_>,
        cfg: &AppConfig,
        out: &mut Vec<u8>,
        out_events: &mut u64,
        c: &mut Counters,
    ) {
        let At { ts, pcap_cnt, to_server, pkt_src, vars } = *at;
        let proto = f.ext.app.proto();
        let flow_end = to_server.is_none();
        let anomalies = self.anomaly.applayer;
        if !(anomalies || self.on_for(proto)) {
            return;
        }
        let tx_records = self.on.get(proto.index()).copied().unwrap_or(false);
        let files = self.files && registry::protocol(proto).is_some();
        let Some(desc) = registry::protocol(proto) else { return };
        let event_type = desc.record_type.unwrap_or(proto.name());
        // the flow's fields the envelope needs, borrowed apart from its app layer
        let ids = eve::FlowIds { flow_id: f.flow_id, key: &f.key, tuple: &f.tuple };
        // a protocol with a registered parser was decided on data: the app layer is there
        let Some(app) = f.ext.app.get_mut() else { return };
        let (parser, mut marks) = app.parser_and_log();
        if let Some(parser) = parser {
            let rcx = RecordCx { cfg };
            parser.each_tx(&mut |tx| {
                let id = tx.id();
                // as Suricata's anomaly transaction logger: events of a transaction whose
                // record is written already (a later datagram found malformed) are not
                // reported
                if anomalies && !marks.has(id) {
                    let events = tx.events();
                    let done = marks.events_logged(id);
                    if done < events.len() {
                        let dir = if to_server == Some(false) { RecordDir::ToClient } else { RecordDir::Flow };
                        let h = RecordHeader {
                            ts,
                            pcap_cnt,
                            event_type: "anomaly",
                            dir,
                            flow_end,
                            pkt_src,
                            tx_id: Some(id),
                            vars,
                        };
                        for &ev in events.get(done..).unwrap_or(&[]) {
                            let Some(name) = desc.events.get(usize::from(ev)) else { continue };
                            let upper = desc.eve_events_upper;
                            if eve::record_event(out, &h, &ids, &mut |j| parser_event(j, proto, name, upper)) {
                                *out_events += 1;
                                c.inc(C::OutputRecords);
                            }
                        }
                        marks.set_events_logged(id, events.len());
                    }
                }
                if marks.has(id) || !(flow_end || tx.record_ready()) {
                    return;
                }
                marks.mark(id);
                let view = if tx.record_packet_view() { to_server.or(Some(true)) } else { tx.record_to_server() };
                let dir = match view {
                    Some(false) => RecordDir::ToClient,
                    _ => RecordDir::Flow,
                };
                let tx_id = desc.record_tx_id.then_some(id);
                let h = RecordHeader { ts, pcap_cnt, event_type, dir, flow_end, pkt_src, tx_id, vars };
                if tx_records && eve::record_event(out, &h, &ids, &mut |j| tx.write_record(j, &rcx)) {
                    *out_events += 1;
                    c.inc(C::OutputRecords);
                }
                if files {
                    tx.files(&mut |file| {
                        // a file's record takes the view of the side that sent it
                        let dir = if file.to_server { RecordDir::Flow } else { RecordDir::ToClient };
                        let h = RecordHeader {
                            ts,
                            pcap_cnt,
                            event_type: "fileinfo",
                            dir,
                            flow_end,
                            pkt_src,
                            tx_id: None,
                            vars,
                        };
                        let written = eve::record_event(out, &h, &ids, &mut |j| {
                            tx.write_alert_eve(j);
                            j.str("app_proto", proto.name());
                            tx.write_fileinfo(j, file, flow_end);
                            true
                        });
                        if written {
                            *out_events += 1;
                            c.inc(C::OutputFileinfo);
                        }
                    });
                }
            });
        }
    }
}

/// The `anomaly` object of a parser's event: Suricata's `type` `applayer`, `layer`
/// `proto_parser`.
fn parser_event(j: &mut Json<'_>, proto: AppProto, event: &str, upper: bool) -> bool {
    let mut o = j.begin("anomaly");
    o.str("app_proto", proto.name());
    o.str("type", "applayer");
    if upper {
        o.str("event", &event.to_ascii_uppercase());
    } else {
        o.str("event", event);
    }
    o.str("layer", "proto_parser");
    o.end();
    true
}
