//! Engine events: the anomalies Suricata names in its decoder and stream engines
//! (`decode-events.c`), in Suricata's order, and the small list of them a packet carries.
//!
//! Takes: the decoder, defrag and the stream engine raise an [`Event`] where they find an
//! anomaly. Promises: every event has Suricata's name (`decoder.ipv4.pkt_too_small`,
//! `stream.3whs_syn_flood`): what the `decode-event` and `stream-event` rule keywords name
//! (without their `decoder.` / `stream.` prefix), what EVE `anomaly` records carry, and what
//! its counter is called (`decoder.event.ipv4.pkt_too_small`, `stream.3whs_syn_flood`).
//! A packet keeps its first [`MAX_EVENTS`] events in raise order in [`Events`], a 16-byte
//! `Copy` value inside its decode (Suricata's `PacketEngineEvents`).
//! Never: allocates; an event past the limit is still counted, only not listed.

use std::fmt;

use crate::metrics::{Counters, C};

/// Events a packet lists (Suricata's `PACKET_ENGINE_EVENT_MAX`).
pub(crate) const MAX_EVENTS: usize = 15;

macro_rules! events {
    ($( $id:ident => $name:literal, $help:literal; )*) => {
        /// A decoder, stream or app-layer packet event, in Suricata's order: the discriminant
        /// is Suricata's event code for decoder and stream events; the app layer's packet
        /// events (protocol detection's, Suricata's `app_layer_event_pkt_table`) follow.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        #[allow(missing_docs, reason = "each one is described by its help line")]
        pub enum Event { $( $id, )* }

        /// Every event, by code.
        pub(crate) const ALL: &[Event] = &[ $( Event::$id, )* ];
        const NAMES: &[&str] = &[ $( $name, )* ];
        const HELP: &[&str] = &[ $( $help, )* ];
    };
}

events! {
    AfpTruncPkt => "decoder.afpacket.trunc_pkt", "packet truncated by af-packet";
    Ipv4PktTooSmall => "decoder.ipv4.pkt_too_small", "shorter than an IPv4 header";
    Ipv4HlenTooSmall => "decoder.ipv4.hlen_too_small", "IPv4 header length under 20 or beyond the data";
    Ipv4IplenSmallerThanHlen => "decoder.ipv4.iplen_smaller_than_hlen", "IPv4 total length smaller than its header";
    Ipv4TruncPkt => "decoder.ipv4.trunc_pkt", "IPv4 total length beyond the captured data";
    Ipv4OptInvalid => "decoder.ipv4.opt_invalid", "IPv4 option malformed";
    Ipv4OptInvalidLen => "decoder.ipv4.opt_invalid_len", "IPv4 option with a bad length";
    Ipv4OptMalformed => "decoder.ipv4.opt_malformed", "IPv4 options that run past the header";
    Ipv4OptPadRequired => "decoder.ipv4.opt_pad_required", "pad bytes are needed in ip options";
    Ipv4OptEolRequired => "decoder.ipv4.opt_eol_required", "\"end of list\" needed in ip options";
    Ipv4OptDuplicate => "decoder.ipv4.opt_duplicate", "duplicated ip option";
    Ipv4OptUnknown => "decoder.ipv4.opt_unknown", "unknown ip option";
    Ipv4WrongIpVer => "decoder.ipv4.wrong_ip_version", "IPv4 header with another version";
    Ipv4WithIcmpv6 => "decoder.ipv4.icmpv6", "ICMPv6 carried in IPv4";
    Ipv4ProtoUnknown => "decoder.ipv4.unknown_protocol", "IPv4 packet with unknown protocol";
    Icmpv4PktTooSmall => "decoder.icmpv4.pkt_too_small", "shorter than an ICMPv4 header";
    Icmpv4UnknownType => "decoder.icmpv4.unknown_type", "ICMPv4 type not known";
    Icmpv4UnknownCode => "decoder.icmpv4.unknown_code", "ICMPv4 code not known for its type";
    Icmpv4Ipv4TruncPkt => "decoder.icmpv4.ipv4_trunc_pkt", "ICMPv4 error quoting a packet cut short";
    Icmpv4Ipv4UnknownVer => "decoder.icmpv4.ipv4_unknown_ver", "ICMPv4 error quoting a packet that is not IPv4";
    Icmpv6UnknownType => "decoder.icmpv6.unknown_type", "ICMPv6 type not known";
    Icmpv6UnknownCode => "decoder.icmpv6.unknown_code", "ICMPv6 code not known for its type";
    Icmpv6PktTooSmall => "decoder.icmpv6.pkt_too_small", "shorter than an ICMPv6 header";
    Icmpv6Ipv6UnknownVer => "decoder.icmpv6.ipv6_unknown_version", "unknown version in icmpv6 packet";
    Icmpv6Ipv6TruncPkt => "decoder.icmpv6.ipv6_trunc_pkt", "truncated icmpv6 packet";
    Icmpv6MldMessageWithInvalidHl => "decoder.icmpv6.mld_message_with_invalid_hl", "invalid MLD that doesn't have HL 1";
    Icmpv6UnassignedType => "decoder.icmpv6.unassigned_type", "unassigned ICMPv6 type";
    Icmpv6ExperimentationType => "decoder.icmpv6.experimentation_type", "private experimentation ICMPv6 type";
    Ipv6PktTooSmall => "decoder.ipv6.pkt_too_small", "shorter than an IPv6 header";
    Ipv6TruncPkt => "decoder.ipv6.trunc_pkt", "IPv6 payload length beyond the captured data";
    Ipv6TruncExthdr => "decoder.ipv6.trunc_exthdr", "IPv6 extension header cut short";
    Ipv6ExthdrDuplFh => "decoder.ipv6.exthdr_dupl_fh", "IPv6 fragment header repeated";
    Ipv6ExthdrUselessFh => "decoder.ipv6.exthdr_useless_fh", "useless FH: offset 0 + no more fragments";
    Ipv6ExthdrDuplRh => "decoder.ipv6.exthdr_dupl_rh", "IPv6 routing header repeated";
    Ipv6ExthdrDuplHh => "decoder.ipv6.exthdr_dupl_hh", "IPv6 hop-by-hop header repeated";
    Ipv6ExthdrDuplDh => "decoder.ipv6.exthdr_dupl_dh", "duplicated \"destination\" header in ipv6 extension headers";
    Ipv6ExthdrDuplAh => "decoder.ipv6.exthdr_dupl_ah", "IPv6 authentication header repeated";
    Ipv6ExthdrDuplEh => "decoder.ipv6.exthdr_dupl_eh", "IPv6 ESP header repeated";
    Ipv6ExthdrInvalidOptlen => "decoder.ipv6.exthdr_invalid_optlen", "the opt len in an hop or dst hdr is invalid";
    Ipv6WrongIpVer => "decoder.ipv6.wrong_ip_version", "IPv6 header with another version";
    Ipv6ExthdrAhResNotNull => "decoder.ipv6.exthdr_ah_res_not_null", "AH hdr reserved fields not null (rfc 4302)";
    Ipv6HopoptsUnknownOpt => "decoder.ipv6.hopopts_unknown_opt", "unknown HOP opt";
    Ipv6HopoptsOnlyPadding => "decoder.ipv6.hopopts_only_padding", "all options in HOP opts are padding";
    Ipv6DstoptsUnknownOpt => "decoder.ipv6.dstopts_unknown_opt", "unknown DST opt";
    Ipv6DstoptsOnlyPadding => "decoder.ipv6.dstopts_only_padding", "all options in DST opts are padding";
    Ipv6ExthdrRhType0 => "decoder.ipv6.rh_type_0", "RH 0 is deprecated as per rfc5095";
    Ipv6ExthdrZeroLenPadn => "decoder.ipv6.zero_len_padn", "IPv6 PadN option of zero length";
    Ipv6FhNonZeroResField => "decoder.ipv6.fh_non_zero_reserved_field", "reserved field not zero";
    Ipv6DataAfterNoneHeader => "decoder.ipv6.data_after_none_header", "data after 'none' (59) header";
    Ipv6UnknownNextHeader => "decoder.ipv6.unknown_next_header", "IPv6 next header not decoded";
    Ipv6WithIcmpv4 => "decoder.ipv6.icmpv4", "ICMPv4 carried in IPv6";
    TcpPktTooSmall => "decoder.tcp.pkt_too_small", "shorter than a TCP header";
    TcpHlenTooSmall => "decoder.tcp.hlen_too_small", "TCP data offset under 5 or beyond the data";
    TcpInvalidOptlen => "decoder.tcp.invalid_optlen", "TCP option with a bad length";
    TcpOptInvalidLen => "decoder.tcp.opt_invalid_len", "tcp option with invalid len";
    TcpOptDuplicate => "decoder.tcp.opt_duplicate", "duplicated tcp option";
    UdpPktTooSmall => "decoder.udp.pkt_too_small", "UDP length field beyond the IP payload";
    UdpHlenTooSmall => "decoder.udp.hlen_too_small", "IP payload shorter than a UDP header";
    UdpHlenInvalid => "decoder.udp.hlen_invalid", "invalid len of upd header";
    UdpLenInvalid => "decoder.udp.len_invalid", "UDP length field under 8";
    SllPktTooSmall => "decoder.sll.pkt_too_small", "frame shorter than an SLL header";
    Sll2PktTooSmall => "decoder.sll2.pkt_too_small", "frame shorter than an SLL2 header";
    EthernetPktTooSmall => "decoder.ethernet.pkt_too_small", "frame shorter than an Ethernet header";
    EthernetUnknownEthertype => "decoder.ethernet.unknown_ethertype", "ethertype unknown/unhandled";
    PppPktTooSmall => "decoder.ppp.pkt_too_small", "shorter than a PPP header";
    PppvjuPktTooSmall => "decoder.ppp.vju_pkt_too_small", "ppp vj uncompressed packet smaller than minimum size";
    Pppipv4PktTooSmall => "decoder.ppp.ip4_pkt_too_small", "ppp ipv4 packet smaller than minimum size";
    Pppipv6PktTooSmall => "decoder.ppp.ip6_pkt_too_small", "ppp ipv6 packet smaller than minimum size";
    PppWrongType => "decoder.ppp.wrong_type", "PPP protocol not decoded";
    PppUnsupProto => "decoder.ppp.unsup_proto", "PPP control protocol (not decoded further)";
    PppoePktTooSmall => "decoder.pppoe.pkt_too_small", "shorter than a PPPoE header";
    PppoeWrongCode => "decoder.pppoe.wrong_code", "PPPoE code not known";
    PppoeMalformedTags => "decoder.pppoe.malformed_tags", "malformed tags in pppoe";
    GrePktTooSmall => "decoder.gre.pkt_too_small", "shorter than a GRE header";
    GreWrongVersion => "decoder.gre.wrong_version", "GRE version not decoded";
    GreVersion0Recur => "decoder.gre.version0_recur", "GRE version 0 with recursion control set";
    GreVersion0Flags => "decoder.gre.version0_flags", "GRE version 0 with reserved flags set";
    GreVersion0HdrTooBig => "decoder.gre.version0_hdr_too_big", "GRE version 0 header beyond the data";
    GreVersion0MalformedSreHdr => "decoder.gre.version0_malformed_sre_hdr", "gre v0 malformed source route entry header";
    GreVersion1Chksum => "decoder.gre.version1_chksum", "GRE version 1 with the checksum bit";
    GreVersion1Route => "decoder.gre.version1_route", "GRE version 1 with the routing bit";
    GreVersion1Ssr => "decoder.gre.version1_ssr", "GRE version 1 with strict source route";
    GreVersion1Recur => "decoder.gre.version1_recur", "GRE version 1 with recursion control";
    GreVersion1Flags => "decoder.gre.version1_flags", "GRE version 1 with reserved flags";
    GreVersion1NoKey => "decoder.gre.version1_no_key", "GRE version 1 without the key bit";
    GreVersion1WrongProtocol => "decoder.gre.version1_wrong_protocol", "GRE version 1 carrying something other than PPP";
    GreVersion1MalformedSreHdr => "decoder.gre.version1_malformed_sre_hdr", "GRE version 1 malformed source route entry";
    GreVersion1HdrTooBig => "decoder.gre.version1_hdr_too_big", "GRE version 1 header beyond the data";
    VlanHeaderTooSmall => "decoder.vlan.header_too_small", "VLAN tag cut short";
    VlanUnknownType => "decoder.vlan.unknown_type", "VLAN tag followed by an ethertype that is not decoded";
    VlanHeaderTooManyLayers => "decoder.vlan.too_many_layers", "more than 3 VLAN tags";
    Ieee8021ahHeaderTooSmall => "decoder.ieee8021ah.header_too_small", "ieee8021ah: header too small";
    VntagHeaderTooSmall => "decoder.vntag.header_too_small", "vntag header smaller than minimum size";
    VntagUnknownType => "decoder.vntag.unknown_type", "vntag unknown type";
    EtagHeaderTooSmall => "decoder.etag.header_too_small", "etag header smaller than minimum size";
    EtagUnknownType => "decoder.etag.unknown_type", "etag unknown type";
    IprawInvalidIpv => "decoder.ipraw.invalid_ip_version", "raw IP frame whose version is neither 4 nor 6";
    LtnullPktTooSmall => "decoder.ltnull.pkt_too_small", "frame shorter than a null/loopback header";
    LtnullUnsupportedType => "decoder.ltnull.unsupported_type", "null/loopback frame of an address family not decoded";
    SctpPktTooSmall => "decoder.sctp.pkt_too_small", "shorter than an SCTP header";
    SctpChunkTooSmall => "decoder.sctp.chunk_too_small", "remaining data too small for chunk header";
    SctpChunkLenInvalid => "decoder.sctp.chunk_len_invalid", "chunk length < 4 or exceeds remaining packet";
    SctpInitChunkBundled => "decoder.sctp.init_chunk_bundled", "RFC 4960 sec 6.10: INIT/INIT_ACK bundled with other chunks";
    SctpInitWithNonZeroVtag => "decoder.sctp.init_with_non_zero_vtag", "INIT with vtag != 0";
    SctpDataWithZeroVtag => "decoder.sctp.data_with_zero_vtag", "DATA chunk with vtag == 0";
    SctpTooManyChunks => "decoder.sctp.too_many_chunks", "more chunks than SCTP_MAX_TRACKED_CHUNKS";
    SctpTooManyDataChunks => "decoder.sctp.too_many_data_chunks", "more DATA chunks than SCTP_MAX_DATA_CHUNKS";
    EspPktTooSmall => "decoder.esp.pkt_too_small", "shorter than an ESP header";
    Ipv4FragPktTooLarge => "decoder.ipv4.frag_pkt_too_large", "IPv4 fragment that would reassemble beyond 65535 bytes";
    Ipv6FragPktTooLarge => "decoder.ipv6.frag_pkt_too_large", "IPv6 fragment that would reassemble beyond 65535 bytes";
    Ipv4FragOverlap => "decoder.ipv4.frag_overlap", "IPv4 fragment overlapping one already held";
    Ipv6FragOverlap => "decoder.ipv6.frag_overlap", "IPv6 fragment overlapping one already held";
    Ipv6FragInvalidLength => "decoder.ipv6.frag_invalid_length", "ipv6: frag invalid length";
    Ipv4FragIgnored => "decoder.ipv4.frag_ignored", "IPv4 fragment not stored (max_frags or memcap)";
    Ipv6FragIgnored => "decoder.ipv6.frag_ignored", "IPv6 fragment not stored (max_frags or memcap)";
    Ipv4InIpv6PktTooSmall => "decoder.ipv6.ipv4_in_ipv6_too_small", "ipv6: ipv4 in ipv6 too small";
    Ipv4InIpv6WrongIpVer => "decoder.ipv6.ipv4_in_ipv6_wrong_version", "ipv6: ipv4 in ipv6 wrong version";
    Ipv6InIpv6PktTooSmall => "decoder.ipv6.ipv6_in_ipv6_too_small", "ipv6: ipv6 in ipv6 too small";
    Ipv6InIpv6WrongIpVer => "decoder.ipv6.ipv6_in_ipv6_wrong_version", "ipv6: ipv6 in ipv6 wrong version";
    MplsHeaderTooSmall => "decoder.mpls.header_too_small", "MPLS label cut short";
    MplsPktTooSmall => "decoder.mpls.pkt_too_small", "mpls: pkt too small";
    MplsBadLabelRouterAlert => "decoder.mpls.bad_label_router_alert", "mpls: bad label router alert";
    MplsBadLabelImplicitNull => "decoder.mpls.bad_label_implicit_null", "mpls: bad label implicit null";
    MplsBadLabelReserved => "decoder.mpls.bad_label_reserved", "mpls: bad label reserved";
    MplsUnknownPayloadType => "decoder.mpls.unknown_payload_type", "MPLS payload neither IPv4, IPv6 nor Ethernet";
    VxlanUnknownPayloadType => "decoder.vxlan.unknown_payload_type", "VXLAN payload not Ethernet/IP";
    GeneveUnknownPayloadType => "decoder.geneve.unknown_payload_type", "Geneve payload not Ethernet/IP";
    ErspanHeaderTooSmall => "decoder.erspan.header_too_small", "erspan: header too small";
    ErspanUnsupportedVersion => "decoder.erspan.unsupported_version", "erspan: unsupported version";
    ErspanTooManyVlanLayers => "decoder.erspan.too_many_vlan_layers", "erspan: too many vlan layers";
    DcePktTooSmall => "decoder.dce.pkt_too_small", "dce: pkt too small";
    ChdlcPktTooSmall => "decoder.chdlc.pkt_too_small", "shorter than a Cisco HDLC header";
    NshHeaderTooSmall => "decoder.nsh.header_too_small", "nsh: header too small";
    NshUnsupportedVersion => "decoder.nsh.unsupported_version", "nsh: unsupported version";
    NshBadHeaderLength => "decoder.nsh.bad_header_length", "nsh: bad header length";
    NshReservedType => "decoder.nsh.reserved_type", "nsh: reserved type";
    NshUnsupportedType => "decoder.nsh.unsupported_type", "nsh: unsupported type";
    NshUnknownPayload => "decoder.nsh.unknown_payload", "nsh: unknown payload";
    IgmpPktTooSmall => "decoder.igmp.pkt_too_small", "packet too small to fit the basic IGMP header";
    IgmpV3PktTooSmall => "decoder.igmp.v3_pkt_too_small", "packet too small to fit the IGMPv3 header";
    IgmpMalformed => "decoder.igmp.malformed", "igmp: malformed";
    GenericTooManyLayers => "decoder.too_many_layers", "too many layers";
    Stream3whsAckInWrongDir => "stream.3whs_ack_in_wrong_dir", "TCP stream anomaly: handshake ack in wrong dir";
    Stream3whsAsyncWrongSeq => "stream.3whs_async_wrong_seq", "TCP stream anomaly: handshake async wrong seq";
    Stream3whsRightSeqWrongAckEvasion => "stream.3whs_right_seq_wrong_ack_evasion", "TCP stream anomaly: handshake right seq wrong ack evasion";
    Stream3whsSynackInWrongDirection => "stream.3whs_synack_in_wrong_direction", "TCP stream anomaly: handshake synack in wrong direction";
    Stream3whsSynackResendWithDifferentAck => "stream.3whs_synack_resend_with_diff_ack", "TCP stream anomaly: handshake synack resend with diff ack";
    Stream3whsSynackResendWithDiffSeq => "stream.3whs_synack_resend_with_diff_seq", "TCP stream anomaly: handshake synack resend with diff seq";
    Stream3whsSynackToserverOnSynRecv => "stream.3whs_synack_toserver_on_syn_recv", "TCP stream anomaly: handshake synack toserver on syn recv";
    Stream3whsSynackWithWrongAck => "stream.3whs_synack_with_wrong_ack", "TCP stream anomaly: handshake synack with wrong ack";
    Stream3whsSynackFlood => "stream.3whs_synack_flood", "TCP stream anomaly: handshake synack flood";
    Stream3whsSynackTfoDataIgnored => "stream.3whs_synack_tfo_data_ignored", "TCP stream anomaly: handshake synack tfo data ignored";
    Stream3whsSynResendDiffSeqOnSynRecv => "stream.3whs_syn_resend_diff_seq_on_syn_recv", "TCP stream anomaly: handshake syn resend diff seq on syn recv";
    Stream3whsSynToclientOnSynRecv => "stream.3whs_syn_toclient_on_syn_recv", "TCP stream anomaly: handshake syn toclient on syn recv";
    Stream3whsSynFlood => "stream.3whs_syn_flood", "TCP stream anomaly: handshake syn flood";
    Stream3whsWrongSeqWrongAck => "stream.3whs_wrong_seq_wrong_ack", "TCP stream anomaly: handshake wrong seq wrong ack";
    Stream3whsAckDataInject => "stream.3whs_ack_data_inject", "TCP stream anomaly: handshake ack data inject";
    Stream4whsSynackWithWrongAck => "stream.4whs_synack_with_wrong_ack", "TCP stream anomaly: 4-way handshake synack with wrong ack";
    Stream4whsSynackWithWrongSyn => "stream.4whs_synack_with_wrong_syn", "TCP stream anomaly: 4-way handshake synack with wrong syn";
    Stream4whsWrongSeq => "stream.4whs_wrong_seq", "TCP stream anomaly: 4-way handshake wrong seq";
    Stream4whsInvalidAck => "stream.4whs_invalid_ack", "TCP stream anomaly: 4-way handshake invalid ack";
    StreamClosewaitAckOutOfWindow => "stream.closewait_ack_out_of_window", "TCP stream anomaly: closewait ack out of window";
    StreamClosewaitFinOutOfWindow => "stream.closewait_fin_out_of_window", "TCP stream anomaly: closewait fin out of window";
    StreamClosewaitPktBeforeLastAck => "stream.closewait_pkt_before_last_ack", "TCP stream anomaly: closewait pkt before last ack";
    StreamClosewaitInvalidAck => "stream.closewait_invalid_ack", "TCP stream anomaly: closewait invalid ack";
    StreamClosingAckWrongSeq => "stream.closing_ack_wrong_seq", "TCP stream anomaly: closing ack wrong seq";
    StreamClosingInvalidAck => "stream.closing_invalid_ack", "TCP stream anomaly: closing invalid ack";
    StreamEstPacketOutOfWindow => "stream.est_packet_out_of_window", "TCP stream anomaly: est packet out of window";
    StreamEstPktBeforeLastAck => "stream.est_pkt_before_last_ack", "TCP stream anomaly: est pkt before last ack";
    StreamEstSynackResend => "stream.est_synack_resend", "TCP stream anomaly: est synack resend";
    StreamEstSynackResendWithDifferentAck => "stream.est_synack_resend_with_diff_ack", "TCP stream anomaly: est synack resend with diff ack";
    StreamEstSynackResendWithDiffSeq => "stream.est_synack_resend_with_diff_seq", "TCP stream anomaly: est synack resend with diff seq";
    StreamEstSynackToserver => "stream.est_synack_toserver", "TCP stream anomaly: est synack toserver";
    StreamEstSynResend => "stream.est_syn_resend", "TCP stream anomaly: est syn resend";
    StreamEstSynResendDiffSeq => "stream.est_syn_resend_diff_seq", "TCP stream anomaly: est syn resend diff seq";
    StreamEstSynToclient => "stream.est_syn_toclient", "TCP stream anomaly: est syn toclient";
    StreamEstInvalidAck => "stream.est_invalid_ack", "TCP stream anomaly: est invalid ack";
    StreamEstAckZwpData => "stream.est_ack_zwp_data", "TCP stream anomaly: est ack zwp data";
    StreamFinInvalidAck => "stream.fin_invalid_ack", "TCP stream anomaly: fin invalid ack";
    StreamFin1AckWrongSeq => "stream.fin1_ack_wrong_seq", "TCP stream anomaly: fin1 ack wrong seq";
    StreamFin1FinWrongSeq => "stream.fin1_fin_wrong_seq", "TCP stream anomaly: fin1 fin wrong seq";
    StreamFin1InvalidAck => "stream.fin1_invalid_ack", "TCP stream anomaly: fin1 invalid ack";
    StreamFin2AckWrongSeq => "stream.fin2_ack_wrong_seq", "TCP stream anomaly: fin2 ack wrong seq";
    StreamFin2FinWrongSeq => "stream.fin2_fin_wrong_seq", "TCP stream anomaly: fin2 fin wrong seq";
    StreamFin2InvalidAck => "stream.fin2_invalid_ack", "TCP stream anomaly: fin2 invalid ack";
    StreamFinButNoSession => "stream.fin_but_no_session", "TCP stream anomaly: fin but no session";
    StreamFinOutOfWindow => "stream.fin_out_of_window", "TCP stream anomaly: fin out of window";
    StreamFinSyn => "stream.fin_syn", "TCP stream anomaly: fin syn";
    StreamLastackAckWrongSeq => "stream.lastack_ack_wrong_seq", "TCP stream anomaly: lastack ack wrong seq";
    StreamLastackInvalidAck => "stream.lastack_invalid_ack", "TCP stream anomaly: lastack invalid ack";
    StreamRstButNoSession => "stream.rst_but_no_session", "TCP stream anomaly: rst but no session";
    StreamTimewaitAckWrongSeq => "stream.timewait_ack_wrong_seq", "TCP stream anomaly: timewait ack wrong seq";
    StreamTimewaitInvalidAck => "stream.timewait_invalid_ack", "TCP stream anomaly: timewait invalid ack";
    StreamShutdownSynResend => "stream.shutdown_syn_resend", "TCP stream anomaly: shutdown syn resend";
    StreamPktInvalidTimestamp => "stream.pkt_invalid_timestamp", "TCP stream anomaly: pkt invalid timestamp";
    StreamPktInvalidAck => "stream.pkt_invalid_ack", "TCP stream anomaly: pkt invalid ack";
    StreamPktBrokenAck => "stream.pkt_broken_ack", "TCP stream anomaly: pkt broken ack";
    StreamRstInvalidAck => "stream.rst_invalid_ack", "TCP stream anomaly: rst invalid ack";
    StreamRstWithData => "stream.rst_with_data", "TCP stream anomaly: rst with data";
    StreamPktRetransmission => "stream.pkt_retransmission", "TCP stream anomaly: pkt retransmission";
    StreamPktSpuriousRetransmission => "stream.pkt_spurious_retransmission", "TCP stream anomaly: pkt spurious retransmission";
    StreamPktBadWindowUpdate => "stream.pkt_bad_window_update", "TCP stream anomaly: pkt bad window update";
    StreamSuspectedRstInject => "stream.suspected_rst_inject", "TCP stream anomaly: suspected rst inject";
    StreamWrongThread => "stream.wrong_thread", "TCP stream anomaly: wrong thread";
    StreamReassemblySegmentBeforeBaseSeq => "stream.reassembly_segment_before_base_seq", "TCP stream anomaly: reassembly segment before base seq";
    StreamReassemblyNoSegment => "stream.reassembly_no_segment", "TCP stream anomaly: reassembly no segment";
    StreamReassemblySeqGap => "stream.reassembly_seq_gap", "TCP stream anomaly: reassembly seq gap";
    StreamReassemblyOverlapDifferentData => "stream.reassembly_overlap_different_data", "TCP stream anomaly: reassembly overlap different data";
    StreamReassemblyDepthReached => "stream.reassembly_depth_reached", "TCP stream anomaly: reassembly depth reached";
    StreamReassemblyInsertMemcap => "stream.reassembly_insert_memcap", "TCP stream anomaly: reassembly insert memcap";
    StreamReassemblyInsertLimit => "stream.reassembly_insert_limit", "TCP stream anomaly: reassembly insert limit";
    StreamReassemblyInsertInvalid => "stream.reassembly_insert_invalid", "TCP stream anomaly: reassembly insert invalid";
    StreamReassemblyUrgentOobLimitReached => "stream.reassembly_urgent_oob_limit_reached", "TCP stream anomaly: reassembly urgent oob limit reached";
    ArpPktTooSmall => "decoder.arp.pkt_too_small", "arp packet smaller than minimum size";
    ArpUnsupportedHardware => "decoder.arp.unsupported_hardware", "arp hw_type is not ethernet";
    ArpUnsupportedProtocol => "decoder.arp.unsupported_protocol", "arp proto_type is not ipv4";
    ArpInvalidPkt => "decoder.arp.invalid_pkt", "arp pkt len is not 28";
    ArpInvalidHardwareSize => "decoder.arp.invalid_hardware_size", "arp hw size is 6";
    ArpInvalidProtocolSize => "decoder.arp.invalid_protocol_size", "arp proto size is not 4";
    ArpUnsupportedOpcode => "decoder.arp.unsupported_opcode", "arp opcode is not listed";
    // the app layer's packet events (Suricata's app_layer_event_pkt_table, after its table)
    ApplayerMismatchProtocolBothDirections => "applayer_mismatch_protocol_both_directions", "the two directions of a flow were identified as different app-layer protocols";
    ApplayerWrongDirectionFirstData => "applayer_wrong_direction_first_data", "the app-layer protocol's first data came from the side that should answer";
    ApplayerDetectProtocolOnlyOneDirection => "applayer_detect_protocol_only_one_direction", "the app-layer protocol was found in one direction only";
    ApplayerProtoDetectionSkipped => "applayer_proto_detection_skipped", "app-layer protocol detection was skipped for the flow";
    ApplayerNoTlsAfterStarttls => "applayer_no_tls_after_starttls", "no TLS after a STARTTLS upgrade";
    ApplayerUnexpectedProtocol => "applayer_unexpected_protocol", "a protocol upgrade led to an unexpected protocol";
}

/// Counts `e` under its name (the counters of the events are one block of the counter
/// table, in this table's order).
#[inline]
pub(crate) fn count(c: &mut Counters, e: Event) {
    c.inc_offset(C::EvAfpTruncPkt, usize::from(e.code()));
}

/// Where an event comes from (EVE `anomaly.type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::enum_variant_names, reason = "AppLayer is Suricata's name for the layer (EVE `applayer`)")]
pub enum Layer {
    /// The packet decoder (and defrag): `decode`.
    Decode,
    /// The TCP stream engine: `stream`.
    Stream,
    /// The app layer's protocol detection: `applayer` (EVE `anomaly.layer` `proto_detect`).
    AppLayer,
}

impl Layer {
    /// Suricata's name (EVE `anomaly.type`).
    pub fn name(self) -> &'static str {
        match self {
            Layer::Decode => "decode",
            Layer::Stream => "stream",
            Layer::AppLayer => "applayer",
        }
    }
}

impl Event {
    /// Suricata's name: `decoder.ipv4.pkt_too_small`, `stream.3whs_syn_flood`,
    /// `applayer_mismatch_protocol_both_directions` (as rules write them after their
    /// keyword's prefix: `decode-event:ipv4.pkt_too_small`, `app-layer-event:applayer_...`).
    pub fn name(self) -> &'static str {
        NAMES.get(self as usize).copied().unwrap_or("")
    }

    /// One line saying what it means.
    pub fn help(self) -> &'static str {
        HELP.get(self as usize).copied().unwrap_or("")
    }

    /// Suricata's event code.
    #[inline]
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The event with Suricata's code `code`.
    #[inline]
    pub fn from_code(code: u8) -> Option<Event> {
        ALL.get(usize::from(code)).copied()
    }

    /// Decoder, stream or app layer.
    pub fn layer(self) -> Layer {
        let n = self.name();
        if n.starts_with("stream.") {
            Layer::Stream
        } else if n.starts_with("decoder.") {
            Layer::Decode
        } else {
            Layer::AppLayer
        }
    }

    /// The name EVE `anomaly.event` gives it: Suricata's name, upper case for the app
    /// layer's packet events (`APPLAYER_MISMATCH_PROTOCOL_BOTH_DIRECTIONS`).
    pub fn eve_name(self) -> &'static str {
        match self {
            Event::ApplayerMismatchProtocolBothDirections => "APPLAYER_MISMATCH_PROTOCOL_BOTH_DIRECTIONS",
            Event::ApplayerWrongDirectionFirstData => "APPLAYER_WRONG_DIRECTION_FIRST_DATA",
            Event::ApplayerDetectProtocolOnlyOneDirection => "APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION",
            Event::ApplayerProtoDetectionSkipped => "APPLAYER_PROTO_DETECTION_SKIPPED",
            Event::ApplayerNoTlsAfterStarttls => "APPLAYER_NO_TLS_AFTER_STARTTLS",
            Event::ApplayerUnexpectedProtocol => "APPLAYER_UNEXPECTED_PROTOCOL",
            e => e.name(),
        }
    }

    /// The event named `name` in full (`decoder.ipv4.trunc_pkt`), case-insensitively.
    pub fn from_name(name: &str) -> Option<Event> {
        NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)).and_then(|i| ALL.get(i).copied())
    }

    /// Its counter's name: decoder events under `decoder.event.` (as Suricata's stats),
    /// stream events as named, the app layer's under `app.event.`.
    pub fn counter_name(self) -> String {
        match (self.layer(), self.name().strip_prefix("decoder.")) {
            (Layer::Decode, Some(rest)) => format!("decoder.event.{rest}"),
            (Layer::AppLayer, _) => format!("app.event.{}", self.name()),
            _ => self.name().to_string(),
        }
    }
}

/// The events raised on one packet, in order (at most [`MAX_EVENTS`]).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Events {
    n: u8,
    codes: [u8; MAX_EVENTS],
}

impl Events {
    /// No events.
    pub const EMPTY: Events = Events { n: 0, codes: [0; MAX_EVENTS] };

    /// Lists `e` (a full list drops it, as Suricata's does).
    #[inline]
    pub fn push(&mut self, e: Event) {
        if let Some(slot) = self.codes.get_mut(usize::from(self.n)) {
            *slot = e.code();
            self.n += 1;
        }
    }

    /// Whether event code `code` is listed.
    #[inline]
    pub fn has_code(&self, code: u8) -> bool {
        self.codes().contains(&code)
    }

    /// Whether `e` is listed.
    #[inline]
    pub fn has(&self, e: Event) -> bool {
        self.has_code(e.code())
    }

    /// The listed codes, in raise order.
    #[inline]
    pub fn codes(&self) -> &[u8] {
        self.codes.get(..usize::from(self.n)).unwrap_or(&[])
    }

    /// The listed events, in raise order.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.codes().iter().filter_map(|&c| Event::from_code(c))
    }

    /// No event listed.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// How many are listed.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.n)
    }

    /// Lists every event of `other` after these.
    pub fn extend(&mut self, other: &Events) {
        for e in other.iter() {
            self.push(e);
        }
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(Event::name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_suricatas() {
        assert_eq!(ALL.len(), NAMES.len());
        assert_eq!(ALL.len(), 226);
        for (i, e) in ALL.iter().enumerate() {
            assert_eq!(usize::from(e.code()), i);
            assert_eq!(Event::from_code(e.code()), Some(*e));
            assert_eq!(Event::from_name(e.name()), Some(*e));
            assert!(!e.help().is_empty(), "{}", e.name());
        }
        assert_eq!(Event::Ipv4PktTooSmall.name(), "decoder.ipv4.pkt_too_small");
        assert_eq!(Event::Ipv4PktTooSmall.code(), 1);
        assert_eq!(Event::Stream3whsSynFlood.name(), "stream.3whs_syn_flood");
        assert_eq!(Event::Stream3whsSynFlood.layer(), Layer::Stream);
        assert_eq!(Event::from_name("DECODER.IPV4.TRUNC_PKT"), Some(Event::Ipv4TruncPkt));
        assert_eq!(Event::Ipv4TruncPkt.counter_name(), "decoder.event.ipv4.trunc_pkt");
        assert_eq!(Event::StreamRstWithData.counter_name(), "stream.rst_with_data");
        assert!(Event::from_name("decoder.nope").is_none());
        let m = Event::from_name("applayer_mismatch_protocol_both_directions");
        assert_eq!(m, Some(Event::ApplayerMismatchProtocolBothDirections));
        assert_eq!(m.map(Event::layer), Some(Layer::AppLayer));
        assert_eq!(m.map(Event::eve_name), Some("APPLAYER_MISMATCH_PROTOCOL_BOTH_DIRECTIONS"));
        assert_eq!(Event::Ipv4TruncPkt.eve_name(), "decoder.ipv4.trunc_pkt");
    }

    #[test]
    fn each_event_has_its_counter() {
        for e in ALL {
            let mut c = Counters::new();
            count(&mut c, *e);
            assert_eq!(c.get_named(&e.counter_name()), Some(1), "{}", e.name());
        }
    }

    #[test]
    fn a_packet_lists_fifteen_in_order() {
        let mut ev = Events::default();
        assert!(ev.is_empty());
        for e in ALL.iter().take(20) {
            ev.push(*e);
        }
        assert_eq!(ev.len(), MAX_EVENTS);
        assert_eq!(ev.iter().next(), Some(Event::AfpTruncPkt));
        assert!(ev.has(Event::Ipv4PktTooSmall));
        assert!(!ev.has(ALL[16]));
        assert_eq!(std::mem::size_of::<Events>(), 16);
        let mut a = Events::default();
        a.push(Event::TcpPktTooSmall);
        let mut b = Events::default();
        b.push(Event::StreamRstWithData);
        a.extend(&b);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![Event::TcpPktTooSmall, Event::StreamRstWithData]);
        assert_eq!(format!("{a:?}"), r#"["decoder.tcp.pkt_too_small", "stream.rst_with_data"]"#);
    }
}
