//! App-layer records: the EVE record of each transaction (`dns`, `http`, `tls`, `smb`, ...),
//! written once, when the transaction is ready (Suricata logs a transaction once it is
//! complete) or when its flow ends.
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
use crate::flow::Flow;
use crate::metrics::{Counters, C};
use crate::output::eve::{self, RecordDir, RecordHeader};

/// Which protocols' records are written.
#[derive(Clone, Debug, Default)]
pub struct Records {
    /// Per protocol (index: `AppProto::index`).
    on: Vec<bool>,
    /// `fileinfo` records of the files transactions carry.
    files: bool,
}

impl Records {
    /// Records for the protocols whose record type (`event_type`) is in `types`; `None`: every
    /// parsed protocol's (Suricata's default configuration logs all it parses).
    pub fn new(types: Option<&[String]>) -> Records {
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
        Records { on, files }
    }

    /// No records at all.
    pub fn none() -> Records {
        Records { on: Vec::new(), files: false }
    }

    /// Whether the flow's protocol has records (or files).
    pub fn on_for(&self, p: AppProto) -> bool {
        self.files && registry::protocol(p).is_some() || self.on.get(p.index()).copied().unwrap_or(false)
    }

    /// Any protocol has records.
    pub fn any(&self) -> bool {
        self.on.iter().any(|&x| x)
    }

    /// Writes the records of the flow's transactions that became ready with a packet (time
    /// `ts`, capture position `pcap_cnt`).
    #[allow(clippy::too_many_arguments, reason = "the flow, the packet's time and place, and where lines go")]
    pub fn after_packet(
        &self,
        f: &mut Flow<FlowExt>,
        ts: Timestamp,
        pcap_cnt: u64,
        cfg: &AppConfig,
        out: &mut Vec<u8>,
        out_events: &mut u64,
        c: &mut Counters,
    ) {
        self.write(f, ts, pcap_cnt, false, cfg, out, out_events, c);
    }

    /// Writes the records of every transaction of the flow not written yet (the flow ends).
    pub fn at_flow_end(
        &self,
        f: &mut Flow<FlowExt>,
        cfg: &AppConfig,
        out: &mut Vec<u8>,
        out_events: &mut u64,
        c: &mut Counters,
    ) {
        let ts = f.last;
        self.write(f, ts, 0, true, cfg, out, out_events, c);
    }

    #[allow(clippy::too_many_arguments, reason = "after_packet and at_flow_end in one")]
    fn write(
        &self,
        f: &mut Flow<FlowExt>,
        ts: Timestamp,
        pcap_cnt: u64,
        flow_end: bool,
        cfg: &AppConfig,
        out: &mut Vec<u8>,
        out_events: &mut u64,
        c: &mut Counters,
    ) {
        let proto = f.ext.app.proto;
        if !self.on_for(proto) {
            return;
        }
        let tx_records = self.on.get(proto.index()).copied().unwrap_or(false);
        let files = self.files;
        let Some(desc) = registry::protocol(proto) else { return };
        let event_type = desc.record_type.unwrap_or(proto.name());
        // the flow's fields the envelope needs, borrowed apart from its app layer
        let ids = eve::FlowIds { flow_id: f.flow_id, key: &f.key, tuple: &f.tuple };
        let (parser, mut marks) = f.ext.app.parser_and_log();
        if let Some(parser) = parser {
            let rcx = RecordCx { cfg };
            parser.each_tx(&mut |tx| {
                let id = tx.id();
                if marks.has(id) || !(flow_end || tx.record_ready()) {
                    return;
                }
                marks.mark(id);
                let dir = match tx.record_to_server() {
                    Some(false) => RecordDir::ToClient,
                    _ => RecordDir::Flow,
                };
                let h = RecordHeader { ts, pcap_cnt, event_type, dir, flow_end, tx_id: Some(id) };
                if tx_records && eve::record_event(out, &h, &ids, &mut |j| tx.write_record(j, &rcx)) {
                    *out_events += 1;
                    c.inc(C::OutputRecords);
                }
                if files {
                    tx.files(&mut |file| {
                        // a file's record takes the view of the side that sent it
                        let dir = if file.to_server { RecordDir::Flow } else { RecordDir::ToClient };
                        let h = RecordHeader { ts, pcap_cnt, event_type: "fileinfo", dir, flow_end, tx_id: None };
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
