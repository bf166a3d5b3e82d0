//! A flow's app layer as its flow slot holds it: made on the flow's first data.
//!
//! Most flows of a busy link never carry a byte (scans, refused connections: mix8 has 188,783
//! TCP flows and 189,096 RSTs), so the app layer's state ([`FlowApp`], about 250 bytes) is
//! not part of every flow slot: the slot holds one pointer, and the state is allocated once,
//! when the stream first offers data or a gap, or a datagram arrives. Until then every reader
//! sees what a fresh `FlowApp` says (protocol `Unknown`, nothing pending, no transactions),
//! and the calls made on every packet take nothing and allocate nothing. Never: allocates
//! more than once per flow, or for a flow that carries no data.

use super::flow::FlowApp;
use super::proto::AppProto;
use crate::decode::Events;

/// A flow's app layer, `None` until the flow's first data.
#[derive(Debug, Default)]
pub struct AppSlot(Option<Box<FlowApp>>);

impl AppSlot {
    /// The app layer, when the flow carried data.
    pub fn get(&self) -> Option<&FlowApp> {
        self.0.as_deref()
    }

    /// The app layer, when the flow carried data.
    pub fn get_mut(&mut self) -> Option<&mut FlowApp> {
        self.0.as_deref_mut()
    }

    /// The app layer, made now when the flow had none (its first data is coming).
    pub fn make(&mut self) -> &mut FlowApp {
        self.0.get_or_insert_with(Box::default)
    }

    /// The flow's protocol (`Unknown` until decided).
    pub fn proto(&self) -> AppProto {
        self.0.as_deref().map_or(AppProto::Unknown, |a| a.proto)
    }

    /// The protocol before a change (EVE `app_proto_orig`).
    pub fn orig(&self) -> AppProto {
        self.0.as_deref().map_or(AppProto::Unknown, |a| a.orig)
    }

    /// The protocol each direction's identification settled on (index 0: to server).
    pub fn dir_proto(&self) -> [AppProto; 2] {
        self.0.as_deref().map_or([AppProto::Unknown; 2], |a| a.dir_proto)
    }

    /// The flow's payload is no longer inspected (encrypted TLS).
    pub fn no_inspection(&self) -> bool {
        self.0.as_deref().is_some_and(|a| a.no_inspection)
    }

    /// See [`FlowApp::take_pd_done`].
    pub fn take_pd_done(&mut self, to_server: bool) -> bool {
        self.0.as_deref_mut().is_some_and(|a| a.take_pd_done(to_server))
    }

    /// See [`FlowApp::take_reversed`].
    pub fn take_reversed(&mut self) -> bool {
        self.0.as_deref_mut().is_some_and(FlowApp::take_reversed)
    }

    /// See [`FlowApp::take_packet_events`].
    pub fn take_packet_events(&mut self) -> Events {
        self.0.as_deref_mut().map(FlowApp::take_packet_events).unwrap_or_default()
    }

    /// The protocol's own reassembly depth, once, for the stream to take.
    pub fn take_stream_depth(&mut self) -> Option<u64> {
        self.0.as_deref_mut().and_then(|a| a.stream_depth.take())
    }

    /// See [`FlowApp::free_txs`].
    pub fn free_txs(&mut self, inspects: [bool; 2], records: bool) {
        if let Some(a) = self.0.as_deref_mut() {
            a.free_txs(inspects, records);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_slot_reads_as_a_fresh_app_layer() {
        let mut fresh = FlowApp::default();
        let mut slot = AppSlot::default();
        assert_eq!(slot.proto(), fresh.proto);
        assert_eq!(slot.orig(), fresh.orig);
        assert_eq!(slot.dir_proto(), fresh.dir_proto);
        assert_eq!(slot.no_inspection(), fresh.no_inspection);
        assert_eq!(slot.take_stream_depth(), fresh.stream_depth.take());
        for to_server in [true, false] {
            assert_eq!(slot.take_pd_done(to_server), fresh.take_pd_done(to_server));
        }
        assert_eq!(slot.take_reversed(), fresh.take_reversed());
        assert!(slot.take_packet_events() == fresh.take_packet_events());
        slot.free_txs([true; 2], true);
        assert!(slot.get().is_none(), "reading and the per-packet calls make nothing");
        slot.make().proto = AppProto::Http;
        assert_eq!((slot.proto(), slot.make().proto), (AppProto::Http, AppProto::Http), "made once");
    }
}
