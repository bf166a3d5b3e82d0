//! Counters: one table of every counter the sensor keeps.
//!
//! Takes: increments from every stage. Promises: a counter is a plain `u64` in an array owned
//! by one thread (reader, worker or output), so counting costs one add and never a lock or an
//! atomic; threads hand their arrays over at batch boundaries and at the end, where they are
//! merged. Names follow Suricata's `stats` event where the counter exists there
//! (`decoder.pkts`, `flow.tcp`, ...) so that the `stats` EVE event is shaped as Suricata's;
//! the same table drives the Prometheus names and `docs/metrics.md`.
//! Never: allocates or panics on the hot path.

mod config;
pub mod endpoint;
pub mod prom;

use serde_json::{Map, Value};

pub use config::MetricsConfig;

/// How a counter combines across threads, and what it is in Prometheus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A total that only grows, summed over threads (a Prometheus counter, `_total`).
    Sum,
    /// A level at the time of the snapshot (flows in the tables, bytes held), summed over
    /// threads (a Prometheus gauge).
    Level,
    /// Maximum over threads (e.g. largest packet seen; a Prometheus gauge).
    Max,
}

macro_rules! counters {
    ($( $id:ident => $name:literal, $kind:ident, $help:literal; )*) => {
        /// Every counter, by name. The discriminant indexes [`Counters`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(non_camel_case_types, missing_docs, reason = "documented by HELP, one entry each")]
        #[repr(u16)]
        pub enum C { $( $id, )* }

        /// Dotted names, as in Suricata's `stats` event.
        pub const NAMES: &[&str] = &[ $( $name, )* ];
        /// How each counter merges.
        pub const KINDS: &[Kind] = &[ $( Kind::$kind, )* ];
        /// One line of help per counter (docs and Prometheus HELP).
        pub const HELP: &[&str] = &[ $( $help, )* ];
    };
}

counters! {
    // capture
    CapturePackets => "capture.packets", Sum, "frames read from the capture source";
    CaptureBytes => "capture.bytes", Sum, "bytes of frames read (captured length)";
    CaptureFiles => "capture.files", Sum, "capture files opened";
    CaptureFileErrors => "capture.file_errors", Sum, "capture files that could not be opened or read to their end";
    CaptureFilesDamaged => "capture.files_damaged", Sum, "capture files unreadable, not captures, damaged before their first frame, or with a corrupt or truncated compressed stream (replay exits with status 2)";
    CaptureFiltered => "capture.filtered", Sum, "frames read from files and left out by capture.bpf_filter";
    CaptureCaplenOverSnaplen => "capture.caplen_over_snaplen", Sum, "records whose captured length exceeds the file's snaplen (processed anyway)";
    CaptureUnsupportedLinktype => "capture.unsupported_linktype", Sum, "frames of a link type the decoder does not know (counted, skipped)";
    // decoder, named as Suricata's
    DecoderPkts => "decoder.pkts", Sum, "packets decoded";
    DecoderBytes => "decoder.bytes", Sum, "bytes decoded (captured length)";
    DecoderInvalid => "decoder.invalid", Sum, "packets with a decode error that makes them invalid";
    DecoderIpv4 => "decoder.ipv4", Sum, "IPv4 headers decoded (tunnelled ones included)";
    DecoderIpv6 => "decoder.ipv6", Sum, "IPv6 headers decoded (tunnelled ones included)";
    DecoderEthernet => "decoder.ethernet", Sum, "Ethernet headers decoded";
    DecoderArp => "decoder.arp", Sum, "ARP packets";
    DecoderIgmp => "decoder.igmp", Sum, "IGMP headers decoded (IPv4)";
    DecoderNsh => "decoder.nsh", Sum, "NSH (network service header) headers decoded";
    DecoderUnknownEthertype => "decoder.unknown_ethertype", Sum, "frames with an ethertype that is not decoded";
    DecoderChdlc => "decoder.chdlc", Sum, "Cisco HDLC frames";
    DecoderRaw => "decoder.raw", Sum, "raw IP frames (no link header)";
    DecoderNull => "decoder.null", Sum, "BSD null/loopback frames";
    DecoderSll => "decoder.sll", Sum, "Linux cooked (SLL) frames";
    DecoderSll2 => "decoder.sll2", Sum, "Linux cooked v2 (SLL2) frames";
    DecoderTcp => "decoder.tcp", Sum, "TCP headers decoded";
    DecoderUdp => "decoder.udp", Sum, "UDP headers decoded";
    DecoderIcmpv4 => "decoder.icmpv4", Sum, "ICMPv4 headers decoded";
    DecoderIcmpv6 => "decoder.icmpv6", Sum, "ICMPv6 headers decoded";
    DecoderSctp => "decoder.sctp", Sum, "SCTP headers decoded";
    DecoderEsp => "decoder.esp", Sum, "ESP headers decoded";
    DecoderPpp => "decoder.ppp", Sum, "PPP headers decoded";
    DecoderPppoe => "decoder.pppoe", Sum, "PPPoE headers decoded";
    DecoderGeneve => "decoder.geneve", Sum, "Geneve headers decoded";
    DecoderGre => "decoder.gre", Sum, "GRE headers decoded";
    DecoderVlan => "decoder.vlan", Sum, "frames with at least one VLAN tag";
    DecoderVlanQinq => "decoder.vlan_qinq", Sum, "frames with at least two VLAN tags";
    DecoderVlanQinqinq => "decoder.vlan_qinqinq", Sum, "frames with three VLAN tags";
    DecoderVxlan => "decoder.vxlan", Sum, "VXLAN headers decoded";
    DecoderIpv4InIpv6 => "decoder.ipv4_in_ipv6", Sum, "IPv4 packets tunnelled in IPv6";
    DecoderIpv6InIpv6 => "decoder.ipv6_in_ipv6", Sum, "IPv6 packets tunnelled in IPv6";
    DecoderMpls => "decoder.mpls", Sum, "MPLS headers decoded";
    DecoderTeredo => "decoder.teredo", Sum, "Teredo (IPv6 in UDP) packets decoded";
    DecoderIpv4InIpv4 => "decoder.ipv4_in_ipv4", Sum, "IPv4 packets tunnelled in IPv4 (IP-in-IP)";
    DecoderIpv6InIpv4 => "decoder.ipv6_in_ipv4", Sum, "IPv6 packets tunnelled in IPv4 (6in4)";
    DecoderTunnels => "decoder.tunnels", Sum, "tunnelled packets decoded (any tunnel type)";
    DecoderTooManyLayers => "decoder.too_many_layers", Sum, "packets with more nested layers than the decoder follows";
    DecoderMaxPktSize => "decoder.max_pkt_size", Max, "largest packet decoded, bytes";
    // engine events (decoder and stream), one per Suricata event, in Suricata's order
    // (sensor/decode/event.rs; a test checks the two tables agree)
    EvAfpTruncPkt => "decoder.event.afpacket.trunc_pkt", Sum, "packet truncated by af-packet";
    EvIpv4PktTooSmall => "decoder.event.ipv4.pkt_too_small", Sum, "shorter than an IPv4 header";
    EvIpv4HlenTooSmall => "decoder.event.ipv4.hlen_too_small", Sum, "IPv4 header length under 20 or beyond the data";
    EvIpv4IplenSmallerThanHlen => "decoder.event.ipv4.iplen_smaller_than_hlen", Sum, "IPv4 total length smaller than its header";
    EvIpv4TruncPkt => "decoder.event.ipv4.trunc_pkt", Sum, "IPv4 total length beyond the captured data";
    EvIpv4OptInvalid => "decoder.event.ipv4.opt_invalid", Sum, "IPv4 option malformed";
    EvIpv4OptInvalidLen => "decoder.event.ipv4.opt_invalid_len", Sum, "IPv4 option with a bad length";
    EvIpv4OptMalformed => "decoder.event.ipv4.opt_malformed", Sum, "IPv4 options that run past the header";
    EvIpv4OptPadRequired => "decoder.event.ipv4.opt_pad_required", Sum, "pad bytes are needed in ip options";
    EvIpv4OptEolRequired => "decoder.event.ipv4.opt_eol_required", Sum, "\"end of list\" needed in ip options";
    EvIpv4OptDuplicate => "decoder.event.ipv4.opt_duplicate", Sum, "duplicated ip option";
    EvIpv4OptUnknown => "decoder.event.ipv4.opt_unknown", Sum, "unknown ip option";
    EvIpv4WrongIpVer => "decoder.event.ipv4.wrong_ip_version", Sum, "IPv4 header with another version";
    EvIpv4WithIcmpv6 => "decoder.event.ipv4.icmpv6", Sum, "ICMPv6 carried in IPv4";
    EvIpv4ProtoUnknown => "decoder.event.ipv4.unknown_protocol", Sum, "IPv4 packet with unknown protocol";
    EvIcmpv4PktTooSmall => "decoder.event.icmpv4.pkt_too_small", Sum, "shorter than an ICMPv4 header";
    EvIcmpv4UnknownType => "decoder.event.icmpv4.unknown_type", Sum, "ICMPv4 type not known";
    EvIcmpv4UnknownCode => "decoder.event.icmpv4.unknown_code", Sum, "ICMPv4 code not known for its type";
    EvIcmpv4Ipv4TruncPkt => "decoder.event.icmpv4.ipv4_trunc_pkt", Sum, "ICMPv4 error quoting a packet cut short";
    EvIcmpv4Ipv4UnknownVer => "decoder.event.icmpv4.ipv4_unknown_ver", Sum, "ICMPv4 error quoting a packet that is not IPv4";
    EvIcmpv6UnknownType => "decoder.event.icmpv6.unknown_type", Sum, "ICMPv6 type not known";
    EvIcmpv6UnknownCode => "decoder.event.icmpv6.unknown_code", Sum, "ICMPv6 code not known for its type";
    EvIcmpv6PktTooSmall => "decoder.event.icmpv6.pkt_too_small", Sum, "shorter than an ICMPv6 header";
    EvIcmpv6Ipv6UnknownVer => "decoder.event.icmpv6.ipv6_unknown_version", Sum, "unknown version in icmpv6 packet";
    EvIcmpv6Ipv6TruncPkt => "decoder.event.icmpv6.ipv6_trunc_pkt", Sum, "truncated icmpv6 packet";
    EvIcmpv6MldMessageWithInvalidHl => "decoder.event.icmpv6.mld_message_with_invalid_hl", Sum, "invalid MLD that doesn't have HL 1";
    EvIcmpv6UnassignedType => "decoder.event.icmpv6.unassigned_type", Sum, "unassigned ICMPv6 type";
    EvIcmpv6ExperimentationType => "decoder.event.icmpv6.experimentation_type", Sum, "private experimentation ICMPv6 type";
    EvIpv6PktTooSmall => "decoder.event.ipv6.pkt_too_small", Sum, "shorter than an IPv6 header";
    EvIpv6TruncPkt => "decoder.event.ipv6.trunc_pkt", Sum, "IPv6 payload length beyond the captured data";
    EvIpv6TruncExthdr => "decoder.event.ipv6.trunc_exthdr", Sum, "IPv6 extension header cut short";
    EvIpv6ExthdrDuplFh => "decoder.event.ipv6.exthdr_dupl_fh", Sum, "IPv6 fragment header repeated";
    EvIpv6ExthdrUselessFh => "decoder.event.ipv6.exthdr_useless_fh", Sum, "useless FH: offset 0 + no more fragments";
    EvIpv6ExthdrDuplRh => "decoder.event.ipv6.exthdr_dupl_rh", Sum, "IPv6 routing header repeated";
    EvIpv6ExthdrDuplHh => "decoder.event.ipv6.exthdr_dupl_hh", Sum, "IPv6 hop-by-hop header repeated";
    EvIpv6ExthdrDuplDh => "decoder.event.ipv6.exthdr_dupl_dh", Sum, "duplicated \"destination\" header in ipv6 extension headers";
    EvIpv6ExthdrDuplAh => "decoder.event.ipv6.exthdr_dupl_ah", Sum, "IPv6 authentication header repeated";
    EvIpv6ExthdrDuplEh => "decoder.event.ipv6.exthdr_dupl_eh", Sum, "IPv6 ESP header repeated";
    EvIpv6ExthdrInvalidOptlen => "decoder.event.ipv6.exthdr_invalid_optlen", Sum, "the opt len in an hop or dst hdr is invalid";
    EvIpv6WrongIpVer => "decoder.event.ipv6.wrong_ip_version", Sum, "IPv6 header with another version";
    EvIpv6ExthdrAhResNotNull => "decoder.event.ipv6.exthdr_ah_res_not_null", Sum, "AH hdr reserved fields not null (rfc 4302)";
    EvIpv6HopoptsUnknownOpt => "decoder.event.ipv6.hopopts_unknown_opt", Sum, "unknown HOP opt";
    EvIpv6HopoptsOnlyPadding => "decoder.event.ipv6.hopopts_only_padding", Sum, "all options in HOP opts are padding";
    EvIpv6DstoptsUnknownOpt => "decoder.event.ipv6.dstopts_unknown_opt", Sum, "unknown DST opt";
    EvIpv6DstoptsOnlyPadding => "decoder.event.ipv6.dstopts_only_padding", Sum, "all options in DST opts are padding";
    EvIpv6ExthdrRhType0 => "decoder.event.ipv6.rh_type_0", Sum, "RH 0 is deprecated as per rfc5095";
    EvIpv6ExthdrZeroLenPadn => "decoder.event.ipv6.zero_len_padn", Sum, "IPv6 PadN option of zero length";
    EvIpv6FhNonZeroResField => "decoder.event.ipv6.fh_non_zero_reserved_field", Sum, "reserved field not zero";
    EvIpv6DataAfterNoneHeader => "decoder.event.ipv6.data_after_none_header", Sum, "data after 'none' (59) header";
    EvIpv6UnknownNextHeader => "decoder.event.ipv6.unknown_next_header", Sum, "IPv6 next header not decoded";
    EvIpv6WithIcmpv4 => "decoder.event.ipv6.icmpv4", Sum, "ICMPv4 carried in IPv6";
    EvTcpPktTooSmall => "decoder.event.tcp.pkt_too_small", Sum, "shorter than a TCP header";
    EvTcpHlenTooSmall => "decoder.event.tcp.hlen_too_small", Sum, "TCP data offset under 5 or beyond the data";
    EvTcpInvalidOptlen => "decoder.event.tcp.invalid_optlen", Sum, "TCP option with a bad length";
    EvTcpOptInvalidLen => "decoder.event.tcp.opt_invalid_len", Sum, "tcp option with invalid len";
    EvTcpOptDuplicate => "decoder.event.tcp.opt_duplicate", Sum, "duplicated tcp option";
    EvUdpPktTooSmall => "decoder.event.udp.pkt_too_small", Sum, "UDP length field beyond the IP payload";
    EvUdpHlenTooSmall => "decoder.event.udp.hlen_too_small", Sum, "IP payload shorter than a UDP header";
    EvUdpHlenInvalid => "decoder.event.udp.hlen_invalid", Sum, "invalid len of upd header";
    EvUdpLenInvalid => "decoder.event.udp.len_invalid", Sum, "UDP length field under 8";
    EvSllPktTooSmall => "decoder.event.sll.pkt_too_small", Sum, "frame shorter than an SLL header";
    EvSll2PktTooSmall => "decoder.event.sll2.pkt_too_small", Sum, "frame shorter than an SLL2 header";
    EvEthernetPktTooSmall => "decoder.event.ethernet.pkt_too_small", Sum, "frame shorter than an Ethernet header";
    EvEthernetUnknownEthertype => "decoder.event.ethernet.unknown_ethertype", Sum, "ethertype unknown/unhandled";
    EvPppPktTooSmall => "decoder.event.ppp.pkt_too_small", Sum, "shorter than a PPP header";
    EvPppvjuPktTooSmall => "decoder.event.ppp.vju_pkt_too_small", Sum, "ppp vj uncompressed packet smaller than minimum size";
    EvPppipv4PktTooSmall => "decoder.event.ppp.ip4_pkt_too_small", Sum, "ppp ipv4 packet smaller than minimum size";
    EvPppipv6PktTooSmall => "decoder.event.ppp.ip6_pkt_too_small", Sum, "ppp ipv6 packet smaller than minimum size";
    EvPppWrongType => "decoder.event.ppp.wrong_type", Sum, "PPP protocol not decoded";
    EvPppUnsupProto => "decoder.event.ppp.unsup_proto", Sum, "PPP control protocol (not decoded further)";
    EvPppoePktTooSmall => "decoder.event.pppoe.pkt_too_small", Sum, "shorter than a PPPoE header";
    EvPppoeWrongCode => "decoder.event.pppoe.wrong_code", Sum, "PPPoE code not known";
    EvPppoeMalformedTags => "decoder.event.pppoe.malformed_tags", Sum, "malformed tags in pppoe";
    EvGrePktTooSmall => "decoder.event.gre.pkt_too_small", Sum, "shorter than a GRE header";
    EvGreWrongVersion => "decoder.event.gre.wrong_version", Sum, "GRE version not decoded";
    EvGreVersion0Recur => "decoder.event.gre.version0_recur", Sum, "GRE version 0 with recursion control set";
    EvGreVersion0Flags => "decoder.event.gre.version0_flags", Sum, "GRE version 0 with reserved flags set";
    EvGreVersion0HdrTooBig => "decoder.event.gre.version0_hdr_too_big", Sum, "GRE version 0 header beyond the data";
    EvGreVersion0MalformedSreHdr => "decoder.event.gre.version0_malformed_sre_hdr", Sum, "gre v0 malformed source route entry header";
    EvGreVersion1Chksum => "decoder.event.gre.version1_chksum", Sum, "GRE version 1 with the checksum bit";
    EvGreVersion1Route => "decoder.event.gre.version1_route", Sum, "GRE version 1 with the routing bit";
    EvGreVersion1Ssr => "decoder.event.gre.version1_ssr", Sum, "GRE version 1 with strict source route";
    EvGreVersion1Recur => "decoder.event.gre.version1_recur", Sum, "GRE version 1 with recursion control";
    EvGreVersion1Flags => "decoder.event.gre.version1_flags", Sum, "GRE version 1 with reserved flags";
    EvGreVersion1NoKey => "decoder.event.gre.version1_no_key", Sum, "GRE version 1 without the key bit";
    EvGreVersion1WrongProtocol => "decoder.event.gre.version1_wrong_protocol", Sum, "GRE version 1 carrying something other than PPP";
    EvGreVersion1MalformedSreHdr => "decoder.event.gre.version1_malformed_sre_hdr", Sum, "GRE version 1 malformed source route entry";
    EvGreVersion1HdrTooBig => "decoder.event.gre.version1_hdr_too_big", Sum, "GRE version 1 header beyond the data";
    EvVlanHeaderTooSmall => "decoder.event.vlan.header_too_small", Sum, "VLAN tag cut short";
    EvVlanUnknownType => "decoder.event.vlan.unknown_type", Sum, "VLAN tag followed by an ethertype that is not decoded";
    EvVlanHeaderTooManyLayers => "decoder.event.vlan.too_many_layers", Sum, "more than 3 VLAN tags";
    EvIeee8021ahHeaderTooSmall => "decoder.event.ieee8021ah.header_too_small", Sum, "ieee8021ah: header too small";
    EvVntagHeaderTooSmall => "decoder.event.vntag.header_too_small", Sum, "vntag header smaller than minimum size";
    EvVntagUnknownType => "decoder.event.vntag.unknown_type", Sum, "vntag unknown type";
    EvEtagHeaderTooSmall => "decoder.event.etag.header_too_small", Sum, "etag header smaller than minimum size";
    EvEtagUnknownType => "decoder.event.etag.unknown_type", Sum, "etag unknown type";
    EvIprawInvalidIpv => "decoder.event.ipraw.invalid_ip_version", Sum, "raw IP frame whose version is neither 4 nor 6";
    EvLtnullPktTooSmall => "decoder.event.ltnull.pkt_too_small", Sum, "frame shorter than a null/loopback header";
    EvLtnullUnsupportedType => "decoder.event.ltnull.unsupported_type", Sum, "null/loopback frame of an address family not decoded";
    EvSctpPktTooSmall => "decoder.event.sctp.pkt_too_small", Sum, "shorter than an SCTP header";
    EvSctpChunkTooSmall => "decoder.event.sctp.chunk_too_small", Sum, "remaining data too small for chunk header";
    EvSctpChunkLenInvalid => "decoder.event.sctp.chunk_len_invalid", Sum, "chunk length < 4 or exceeds remaining packet";
    EvSctpInitChunkBundled => "decoder.event.sctp.init_chunk_bundled", Sum, "RFC 4960 sec 6.10: INIT/INIT_ACK bundled with other chunks";
    EvSctpInitWithNonZeroVtag => "decoder.event.sctp.init_with_non_zero_vtag", Sum, "INIT with vtag != 0";
    EvSctpDataWithZeroVtag => "decoder.event.sctp.data_with_zero_vtag", Sum, "DATA chunk with vtag == 0";
    EvSctpTooManyChunks => "decoder.event.sctp.too_many_chunks", Sum, "more chunks than SCTP_MAX_TRACKED_CHUNKS";
    EvSctpTooManyDataChunks => "decoder.event.sctp.too_many_data_chunks", Sum, "more DATA chunks than SCTP_MAX_DATA_CHUNKS";
    EvEspPktTooSmall => "decoder.event.esp.pkt_too_small", Sum, "shorter than an ESP header";
    EvIpv4FragPktTooLarge => "decoder.event.ipv4.frag_pkt_too_large", Sum, "IPv4 fragment that would reassemble beyond 65535 bytes";
    EvIpv6FragPktTooLarge => "decoder.event.ipv6.frag_pkt_too_large", Sum, "IPv6 fragment that would reassemble beyond 65535 bytes";
    EvIpv4FragOverlap => "decoder.event.ipv4.frag_overlap", Sum, "IPv4 fragment overlapping one already held";
    EvIpv6FragOverlap => "decoder.event.ipv6.frag_overlap", Sum, "IPv6 fragment overlapping one already held";
    EvIpv6FragInvalidLength => "decoder.event.ipv6.frag_invalid_length", Sum, "ipv6: frag invalid length";
    EvIpv4FragIgnored => "decoder.event.ipv4.frag_ignored", Sum, "IPv4 fragment not stored (max_frags or memcap)";
    EvIpv6FragIgnored => "decoder.event.ipv6.frag_ignored", Sum, "IPv6 fragment not stored (max_frags or memcap)";
    EvIpv4InIpv6PktTooSmall => "decoder.event.ipv6.ipv4_in_ipv6_too_small", Sum, "ipv6: ipv4 in ipv6 too small";
    EvIpv4InIpv6WrongIpVer => "decoder.event.ipv6.ipv4_in_ipv6_wrong_version", Sum, "ipv6: ipv4 in ipv6 wrong version";
    EvIpv6InIpv6PktTooSmall => "decoder.event.ipv6.ipv6_in_ipv6_too_small", Sum, "ipv6: ipv6 in ipv6 too small";
    EvIpv6InIpv6WrongIpVer => "decoder.event.ipv6.ipv6_in_ipv6_wrong_version", Sum, "ipv6: ipv6 in ipv6 wrong version";
    EvMplsHeaderTooSmall => "decoder.event.mpls.header_too_small", Sum, "MPLS label cut short";
    EvMplsPktTooSmall => "decoder.event.mpls.pkt_too_small", Sum, "mpls: pkt too small";
    EvMplsBadLabelRouterAlert => "decoder.event.mpls.bad_label_router_alert", Sum, "mpls: bad label router alert";
    EvMplsBadLabelImplicitNull => "decoder.event.mpls.bad_label_implicit_null", Sum, "mpls: bad label implicit null";
    EvMplsBadLabelReserved => "decoder.event.mpls.bad_label_reserved", Sum, "mpls: bad label reserved";
    EvMplsUnknownPayloadType => "decoder.event.mpls.unknown_payload_type", Sum, "MPLS payload neither IPv4, IPv6 nor Ethernet";
    EvVxlanUnknownPayloadType => "decoder.event.vxlan.unknown_payload_type", Sum, "VXLAN payload not Ethernet/IP";
    EvGeneveUnknownPayloadType => "decoder.event.geneve.unknown_payload_type", Sum, "Geneve payload not Ethernet/IP";
    EvErspanHeaderTooSmall => "decoder.event.erspan.header_too_small", Sum, "erspan: header too small";
    EvErspanUnsupportedVersion => "decoder.event.erspan.unsupported_version", Sum, "erspan: unsupported version";
    EvErspanTooManyVlanLayers => "decoder.event.erspan.too_many_vlan_layers", Sum, "erspan: too many vlan layers";
    EvDcePktTooSmall => "decoder.event.dce.pkt_too_small", Sum, "dce: pkt too small";
    EvChdlcPktTooSmall => "decoder.event.chdlc.pkt_too_small", Sum, "shorter than a Cisco HDLC header";
    EvNshHeaderTooSmall => "decoder.event.nsh.header_too_small", Sum, "nsh: header too small";
    EvNshUnsupportedVersion => "decoder.event.nsh.unsupported_version", Sum, "nsh: unsupported version";
    EvNshBadHeaderLength => "decoder.event.nsh.bad_header_length", Sum, "nsh: bad header length";
    EvNshReservedType => "decoder.event.nsh.reserved_type", Sum, "nsh: reserved type";
    EvNshUnsupportedType => "decoder.event.nsh.unsupported_type", Sum, "nsh: unsupported type";
    EvNshUnknownPayload => "decoder.event.nsh.unknown_payload", Sum, "nsh: unknown payload";
    EvIgmpPktTooSmall => "decoder.event.igmp.pkt_too_small", Sum, "packet too small to fit the basic IGMP header";
    EvIgmpV3PktTooSmall => "decoder.event.igmp.v3_pkt_too_small", Sum, "packet too small to fit the IGMPv3 header";
    EvIgmpMalformed => "decoder.event.igmp.malformed", Sum, "igmp: malformed";
    EvGenericTooManyLayers => "decoder.event.too_many_layers", Sum, "too many layers";
    EvStream3whsAckInWrongDir => "stream.3whs_ack_in_wrong_dir", Sum, "TCP stream anomaly: handshake ack in wrong dir";
    EvStream3whsAsyncWrongSeq => "stream.3whs_async_wrong_seq", Sum, "TCP stream anomaly: handshake async wrong seq";
    EvStream3whsRightSeqWrongAckEvasion => "stream.3whs_right_seq_wrong_ack_evasion", Sum, "TCP stream anomaly: handshake right seq wrong ack evasion";
    EvStream3whsSynackInWrongDirection => "stream.3whs_synack_in_wrong_direction", Sum, "TCP stream anomaly: handshake synack in wrong direction";
    EvStream3whsSynackResendWithDifferentAck => "stream.3whs_synack_resend_with_diff_ack", Sum, "TCP stream anomaly: handshake synack resend with diff ack";
    EvStream3whsSynackResendWithDiffSeq => "stream.3whs_synack_resend_with_diff_seq", Sum, "TCP stream anomaly: handshake synack resend with diff seq";
    EvStream3whsSynackToserverOnSynRecv => "stream.3whs_synack_toserver_on_syn_recv", Sum, "TCP stream anomaly: handshake synack toserver on syn recv";
    EvStream3whsSynackWithWrongAck => "stream.3whs_synack_with_wrong_ack", Sum, "TCP stream anomaly: handshake synack with wrong ack";
    EvStream3whsSynackFlood => "stream.3whs_synack_flood", Sum, "TCP stream anomaly: handshake synack flood";
    EvStream3whsSynackTfoDataIgnored => "stream.3whs_synack_tfo_data_ignored", Sum, "TCP stream anomaly: handshake synack tfo data ignored";
    EvStream3whsSynResendDiffSeqOnSynRecv => "stream.3whs_syn_resend_diff_seq_on_syn_recv", Sum, "TCP stream anomaly: handshake syn resend diff seq on syn recv";
    EvStream3whsSynToclientOnSynRecv => "stream.3whs_syn_toclient_on_syn_recv", Sum, "TCP stream anomaly: handshake syn toclient on syn recv";
    EvStream3whsSynFlood => "stream.3whs_syn_flood", Sum, "TCP stream anomaly: handshake syn flood";
    EvStream3whsWrongSeqWrongAck => "stream.3whs_wrong_seq_wrong_ack", Sum, "TCP stream anomaly: handshake wrong seq wrong ack";
    EvStream3whsAckDataInject => "stream.3whs_ack_data_inject", Sum, "TCP stream anomaly: handshake ack data inject";
    EvStream4whsSynackWithWrongAck => "stream.4whs_synack_with_wrong_ack", Sum, "TCP stream anomaly: 4-way handshake synack with wrong ack";
    EvStream4whsSynackWithWrongSyn => "stream.4whs_synack_with_wrong_syn", Sum, "TCP stream anomaly: 4-way handshake synack with wrong syn";
    EvStream4whsWrongSeq => "stream.4whs_wrong_seq", Sum, "TCP stream anomaly: 4-way handshake wrong seq";
    EvStream4whsInvalidAck => "stream.4whs_invalid_ack", Sum, "TCP stream anomaly: 4-way handshake invalid ack";
    EvStreamClosewaitAckOutOfWindow => "stream.closewait_ack_out_of_window", Sum, "TCP stream anomaly: closewait ack out of window";
    EvStreamClosewaitFinOutOfWindow => "stream.closewait_fin_out_of_window", Sum, "TCP stream anomaly: closewait fin out of window";
    EvStreamClosewaitPktBeforeLastAck => "stream.closewait_pkt_before_last_ack", Sum, "TCP stream anomaly: closewait pkt before last ack";
    EvStreamClosewaitInvalidAck => "stream.closewait_invalid_ack", Sum, "TCP stream anomaly: closewait invalid ack";
    EvStreamClosingAckWrongSeq => "stream.closing_ack_wrong_seq", Sum, "TCP stream anomaly: closing ack wrong seq";
    EvStreamClosingInvalidAck => "stream.closing_invalid_ack", Sum, "TCP stream anomaly: closing invalid ack";
    EvStreamEstPacketOutOfWindow => "stream.est_packet_out_of_window", Sum, "TCP stream anomaly: est packet out of window";
    EvStreamEstPktBeforeLastAck => "stream.est_pkt_before_last_ack", Sum, "TCP stream anomaly: est pkt before last ack";
    EvStreamEstSynackResend => "stream.est_synack_resend", Sum, "TCP stream anomaly: est synack resend";
    EvStreamEstSynackResendWithDifferentAck => "stream.est_synack_resend_with_diff_ack", Sum, "TCP stream anomaly: est synack resend with diff ack";
    EvStreamEstSynackResendWithDiffSeq => "stream.est_synack_resend_with_diff_seq", Sum, "TCP stream anomaly: est synack resend with diff seq";
    EvStreamEstSynackToserver => "stream.est_synack_toserver", Sum, "TCP stream anomaly: est synack toserver";
    EvStreamEstSynResend => "stream.est_syn_resend", Sum, "TCP stream anomaly: est syn resend";
    EvStreamEstSynResendDiffSeq => "stream.est_syn_resend_diff_seq", Sum, "TCP stream anomaly: est syn resend diff seq";
    EvStreamEstSynToclient => "stream.est_syn_toclient", Sum, "TCP stream anomaly: est syn toclient";
    EvStreamEstInvalidAck => "stream.est_invalid_ack", Sum, "TCP stream anomaly: est invalid ack";
    EvStreamEstAckZwpData => "stream.est_ack_zwp_data", Sum, "TCP stream anomaly: est ack zwp data";
    EvStreamFinInvalidAck => "stream.fin_invalid_ack", Sum, "TCP stream anomaly: fin invalid ack";
    EvStreamFin1AckWrongSeq => "stream.fin1_ack_wrong_seq", Sum, "TCP stream anomaly: fin1 ack wrong seq";
    EvStreamFin1FinWrongSeq => "stream.fin1_fin_wrong_seq", Sum, "TCP stream anomaly: fin1 fin wrong seq";
    EvStreamFin1InvalidAck => "stream.fin1_invalid_ack", Sum, "TCP stream anomaly: fin1 invalid ack";
    EvStreamFin2AckWrongSeq => "stream.fin2_ack_wrong_seq", Sum, "TCP stream anomaly: fin2 ack wrong seq";
    EvStreamFin2FinWrongSeq => "stream.fin2_fin_wrong_seq", Sum, "TCP stream anomaly: fin2 fin wrong seq";
    EvStreamFin2InvalidAck => "stream.fin2_invalid_ack", Sum, "TCP stream anomaly: fin2 invalid ack";
    EvStreamFinButNoSession => "stream.fin_but_no_session", Sum, "TCP stream anomaly: fin but no session";
    EvStreamFinOutOfWindow => "stream.fin_out_of_window", Sum, "TCP stream anomaly: fin out of window";
    EvStreamFinSyn => "stream.fin_syn", Sum, "TCP stream anomaly: fin syn";
    EvStreamLastackAckWrongSeq => "stream.lastack_ack_wrong_seq", Sum, "TCP stream anomaly: lastack ack wrong seq";
    EvStreamLastackInvalidAck => "stream.lastack_invalid_ack", Sum, "TCP stream anomaly: lastack invalid ack";
    EvStreamRstButNoSession => "stream.rst_but_no_session", Sum, "TCP stream anomaly: rst but no session";
    EvStreamTimewaitAckWrongSeq => "stream.timewait_ack_wrong_seq", Sum, "TCP stream anomaly: timewait ack wrong seq";
    EvStreamTimewaitInvalidAck => "stream.timewait_invalid_ack", Sum, "TCP stream anomaly: timewait invalid ack";
    EvStreamShutdownSynResend => "stream.shutdown_syn_resend", Sum, "TCP stream anomaly: shutdown syn resend";
    EvStreamPktInvalidTimestamp => "stream.pkt_invalid_timestamp", Sum, "TCP stream anomaly: pkt invalid timestamp";
    EvStreamPktInvalidAck => "stream.pkt_invalid_ack", Sum, "TCP stream anomaly: pkt invalid ack";
    EvStreamPktBrokenAck => "stream.pkt_broken_ack", Sum, "TCP stream anomaly: pkt broken ack";
    EvStreamRstInvalidAck => "stream.rst_invalid_ack", Sum, "TCP stream anomaly: rst invalid ack";
    EvStreamRstWithData => "stream.rst_with_data", Sum, "TCP stream anomaly: rst with data";
    EvStreamPktRetransmission => "stream.pkt_retransmission", Sum, "TCP stream anomaly: pkt retransmission";
    EvStreamPktSpuriousRetransmission => "stream.pkt_spurious_retransmission", Sum, "TCP stream anomaly: pkt spurious retransmission";
    EvStreamPktBadWindowUpdate => "stream.pkt_bad_window_update", Sum, "TCP stream anomaly: pkt bad window update";
    EvStreamSuspectedRstInject => "stream.suspected_rst_inject", Sum, "TCP stream anomaly: suspected rst inject";
    EvStreamWrongThread => "stream.wrong_thread", Sum, "TCP stream anomaly: wrong thread";
    EvStreamReassemblySegmentBeforeBaseSeq => "stream.reassembly_segment_before_base_seq", Sum, "TCP stream anomaly: reassembly segment before base seq";
    EvStreamReassemblyNoSegment => "stream.reassembly_no_segment", Sum, "TCP stream anomaly: reassembly no segment";
    EvStreamReassemblySeqGap => "stream.reassembly_seq_gap", Sum, "TCP stream anomaly: reassembly seq gap";
    EvStreamReassemblyOverlapDifferentData => "stream.reassembly_overlap_different_data", Sum, "TCP stream anomaly: reassembly overlap different data";
    EvStreamReassemblyDepthReached => "stream.reassembly_depth_reached", Sum, "TCP stream anomaly: reassembly depth reached";
    EvStreamReassemblyInsertMemcap => "stream.reassembly_insert_memcap", Sum, "TCP stream anomaly: reassembly insert memcap";
    EvStreamReassemblyInsertLimit => "stream.reassembly_insert_limit", Sum, "TCP stream anomaly: reassembly insert limit";
    EvStreamReassemblyInsertInvalid => "stream.reassembly_insert_invalid", Sum, "TCP stream anomaly: reassembly insert invalid";
    EvStreamReassemblyUrgentOobLimitReached => "stream.reassembly_urgent_oob_limit_reached", Sum, "TCP stream anomaly: reassembly urgent oob limit reached";
    EvArpPktTooSmall => "decoder.event.arp.pkt_too_small", Sum, "arp packet smaller than minimum size";
    EvArpUnsupportedHardware => "decoder.event.arp.unsupported_hardware", Sum, "arp hw_type is not ethernet";
    EvArpUnsupportedProtocol => "decoder.event.arp.unsupported_protocol", Sum, "arp proto_type is not ipv4";
    EvArpInvalidPkt => "decoder.event.arp.invalid_pkt", Sum, "arp pkt len is not 28";
    EvArpInvalidHardwareSize => "decoder.event.arp.invalid_hardware_size", Sum, "arp hw size is 6";
    EvArpInvalidProtocolSize => "decoder.event.arp.invalid_protocol_size", Sum, "arp proto size is not 4";
    EvArpUnsupportedOpcode => "decoder.event.arp.unsupported_opcode", Sum, "arp opcode is not listed";
    EvApplayerMismatchProtocolBothDirections => "app.event.applayer_mismatch_protocol_both_directions", Sum, "the two directions of a flow were identified as different app-layer protocols";
    EvApplayerWrongDirectionFirstData => "app.event.applayer_wrong_direction_first_data", Sum, "the app-layer protocol's first data came from the side that should answer";
    EvApplayerDetectProtocolOnlyOneDirection => "app.event.applayer_detect_protocol_only_one_direction", Sum, "the app-layer protocol was found in one direction only";
    EvApplayerProtoDetectionSkipped => "app.event.applayer_proto_detection_skipped", Sum, "app-layer protocol detection was skipped for the flow";
    EvApplayerNoTlsAfterStarttls => "app.event.applayer_no_tls_after_starttls", Sum, "no TLS after a STARTTLS upgrade";
    EvApplayerUnexpectedProtocol => "app.event.applayer_unexpected_protocol", Sum, "a protocol upgrade led to an unexpected protocol";
    DecoderUnknownLinktype => "decoder.unknown_linktype", Sum, "link type not decoded";
    // fragments (reassembly comes with the defrag stage)
    DefragIpv4Fragments => "defrag.ipv4.fragments", Sum, "IPv4 fragments seen";
    DefragIpv6Fragments => "defrag.ipv6.fragments", Sum, "IPv6 fragments seen";
    // ---- defrag stage (sensor/defrag) ----
    DefragIpv4Reassembled => "defrag.ipv4.reassembled", Sum, "IPv4 datagrams reassembled from fragments";
    DefragIpv6Reassembled => "defrag.ipv6.reassembled", Sum, "IPv6 datagrams reassembled from fragments";
    DefragMaxTrackersReached => "defrag.max_trackers_reached", Sum, "fragments dropped because no tracker could be had, not even by eviction";
    DefragMaxFragsReached => "defrag.max_frags_reached", Sum, "fragments not stored because defrag.max_frags fragments were held";
    DefragTrackerSoftReuse => "defrag.tracker_soft_reuse", Sum, "finished trackers reused (always 0 in Picket: a finished tracker is freed at once)";
    DefragTrackerHardReuse => "defrag.tracker_hard_reuse", Sum, "unfinished trackers evicted (least recently updated first) to make room";
    DefragTrackerTimeout => "defrag.wrk.tracker_timeout", Sum, "unfinished trackers dropped after defrag.timeout_secs of packet time without a fragment";
    DefragMemuse => "defrag.memuse", Level, "bytes held by defrag trackers and fragments (at the time of the snapshot)";
    DefragMemcapDrop => "defrag.picket.memcap_drop", Sum, "fragments dropped because their data did not fit in defrag.memcap_bytes even after evicting every other tracker";
    // ---- end defrag stage ----
    // checksums
    ChecksumIpv4Invalid => "decoder.checksum.ipv4_invalid", Sum, "IPv4 header checksums that did not verify (when validated)";
    ChecksumTcpInvalid => "tcp.invalid_checksum", Sum, "TCP checksums that did not verify (when validated)";
    ChecksumUdpInvalid => "decoder.checksum.udp_invalid", Sum, "UDP checksums that did not verify (when validated)";
    ChecksumIcmpInvalid => "decoder.checksum.icmp_invalid", Sum, "ICMP checksums that did not verify (when validated)";
    ChecksumAutoDisabled => "decoder.checksum.auto_disabled", Max, "1 when checksum_validation=auto turned validation off (offloaded checksums)";
    // flow, named as Suricata's
    FlowTotal => "flow.total", Sum, "flows created";
    FlowReversed => "flow.reversed", Sum, "flows turned around because their first data was the server's (an LLMNR answer seen first; with stream.midstream, data matching the other direction's patterns), as Suricata";
    FlowTcp => "flow.tcp", Sum, "TCP flows created";
    FlowUdp => "flow.udp", Sum, "UDP flows created";
    FlowIcmpv4 => "flow.icmpv4", Sum, "ICMPv4 flows created";
    FlowIcmpv6 => "flow.icmpv6", Sum, "ICMPv6 flows created";
    FlowOther => "flow.other", Sum, "flows of other IP protocols created";
    FlowTcpReuse => "flow.tcp_reuse", Sum, "TCP flows ended early because a new SYN reused their tuple";
    FlowActive => "flow.active", Level, "flows in the tables at the time of the snapshot";
    FlowMemcap => "flow.memcap", Sum, "packets that found no flow because the flow memcap was reached";
    FlowEmergModeEntered => "flow.emerg_mode_entered", Sum, "times a flow table entered emergency mode";
    FlowEmergModeOver => "flow.emerg_mode_over", Sum, "times a flow table left emergency mode";
    FlowTimeoutEvicted => "flow.ended.timeout", Sum, "flows ended by timeout";
    FlowShutdownEvicted => "flow.ended.shutdown", Sum, "flows ended at the end of the capture or at shutdown";
    FlowEmergencyEvicted => "flow.ended.emergency", Sum, "flows evicted early to make room (emergency)";
    FlowSpareExhausted => "flow.spare_exhausted", Sum, "times no flow slot could be freed even in emergency mode";
    FlowWrkPktsToWorker => "flow.wrk.pkts", Sum, "packets handled by flow workers";
    WorkerBusyNs => "worker.busy_ns", Sum, "nanoseconds workers spent processing batches (CPU-saturation view)";
    FlowNoFlow => "flow.no_flow", Sum, "packets handled without a flow (not IP, invalid, or no flow slot)";
    // TCP sessions and reassembly (sensor/stream), named as Suricata's where it has them
    TcpSyn => "tcp.syn", Sum, "TCP SYN packets (not SYN/ACK)";
    TcpSynack => "tcp.synack", Sum, "TCP SYN/ACK packets";
    TcpRst => "tcp.rst", Sum, "TCP RST packets";
    TcpSessions => "tcp.sessions", Sum, "TCP sessions tracked (opened by a SYN, or picked up midstream)";
    TcpActiveSessions => "tcp.active_sessions", Level, "TCP sessions in the tables at the time of the snapshot";
    TcpSsnMemcapDrop => "tcp.ssn_memcap_drop", Sum, "TCP sessions not tracked because stream.memcap_bytes was reached";
    TcpMidstreamPickups => "tcp.midstream_pickups", Sum, "TCP sessions picked up without their handshake (stream.midstream)";
    TcpPseudo => "tcp.pseudo", Sum, "stream ends inspected at flow end (Suricata's pseudo packets)";
    TcpStreamDepthReached => "tcp.stream_depth_reached", Sum, "stream directions that reached stream.reassembly_depth (later data not reassembled)";
    TcpOverlap => "tcp.overlap", Sum, "segments that overlapped stored data (resolved by the overlap policy)";
    TcpSegmentMemcapDrop => "tcp.segment_memcap_drop", Sum, "segments not stored because stream.reassembly_memcap_bytes was reached (a hole in the stream)";
    TcpReassemblyGap => "tcp.reassembly_gap", Sum, "holes in a stream that the receiver acknowledged (data never seen)";
    TcpReassemblyMemuse => "tcp.reassembly_memuse", Max, "peak bytes of segment data held by one worker";
    StreamSegmentLimitDrop => "stream.segment_limit_drop", Sum, "segments not stored because a direction held stream.max_segments already (a hole in the stream)";
    StreamSegmentOutOfWindow => "stream.segment_out_of_window", Sum, "segments ignored because their sequence number is implausibly far from the stream";
    StreamRstInvalid => "stream.rst_invalid", Sum, "RST packets ignored (no session, or sequence number outside the window)";
    StreamRstData => "stream.rst_data", Sum, "RST packets whose payload was inspected as the packet's only, not added to the stream (as Suricata)";
    StreamSynackInvalid => "stream.synack_invalid", Sum, "SYN/ACK packets ignored (acknowledgement does not match the SYN)";
    StreamSynInSession => "stream.syn_in_session", Sum, "SYN packets ignored inside an established session";
    StreamRawInspections => "stream.raw_inspections", Sum, "raw stream chunks inspected by detection";
    // app layer (sensor/app), named as Suricata's where it has them
    // detection placeholders filled in by the detect stage
    DetectAlert => "detect.alert", Sum, "alerts written";
    DetectAlertsSuppressed => "detect.alerts_suppressed", Sum, "alerts suppressed by thresholds";
    DetectAlertQueueOverflow => "detect.alert_queue_overflow", Sum, "alerts lost because a packet had more than the per-packet alert limit";
    DetectDatasetLookups => "detect.dataset_lookups", Sum, "buffers looked up in a dataset (dataset isset/isnotset/set/unset, datarep)";
    DetectDatasetHits => "detect.dataset_hits", Sum, "dataset lookups that found the buffer in the set";
    DetectXbitsFull => "detect.xbits_full", Sum, "hostbits/xbits not set because the shared bit table was full (its expired bits already dropped)";
    // output
    OutputEvents => "output.events", Sum, "EVE events written";
    OutputBytes => "output.bytes", Sum, "EVE bytes written";
    OutputWriteErrors => "output.write_errors", Sum, "EVE events that could not be written (lost): file errors, a socket without listener, ...";
    OutputReopens => "output.reopens", Sum, "times the EVE output was reopened (SIGHUP or reopen-log-files, for log rotation)";
    SpoolBytes => "output.spool.bytes", Sum, "bytes appended to the local alert queue";
    SpoolEvents => "output.spool.events", Sum, "events appended to the local alert queue";
    SpoolSegments => "output.spool.segments_rotated", Sum, "queue segments closed and a new one started";
    SpoolFsyncs => "output.spool.fsyncs", Sum, "fsync calls on the queue";
    SpoolDroppedBytes => "output.spool.dropped_bytes", Sum, "unread queue bytes deleted by retention or a full disk (drop_oldest)";
    SpoolDeletedSegments => "output.spool.segments_deleted", Sum, "queue segments deleted by retention";
    SpoolBlockWaits => "output.spool.block_waits", Sum, "times the output waited (up to 1 s each) for consumers to read (block policy)";
    SpoolTornBytes => "output.spool.torn_bytes_cut", Sum, "bytes of a torn last line cut when the queue was reopened";
    SpoolWriteErrors => "output.spool.write_errors", Sum, "queue writes that failed (events lost)";
    SpoolSizeBytes => "output.spool.size_bytes", Level, "bytes held by the local alert queue (set by the output thread at each sync)";
    PcapLogPkts => "output.pcap_log.packets", Sum, "packets the workers sent to output.pcap_log (a flow's history when it alerts, its later packets; every packet in mode all)";
    PcapLogWritten => "output.pcap_log.packets_written", Sum, "packets written to pcap-log files";
    PcapLogBytes => "output.pcap_log.bytes", Sum, "bytes of records written to pcap-log files (record headers included)";
    PcapLogFiles => "output.pcap_log.files", Sum, "pcap-log files started";
    PcapLogFlows => "output.pcap_log.flows", Sum, "flows whose packets went to pcap-log (mode alerts: flows that alerted)";
    PcapLogRingEvicted => "output.pcap_log.ring_evicted", Sum, "packets pushed out of a flow's history ring (ring_packets or ring_bytes) before the flow alerted";
    PcapLogRingMemcap => "output.pcap_log.ring_memcap", Sum, "packets kept in no history because their flow found no ring within ring_memcap";
    PcapLogRingTooBig => "output.pcap_log.ring_too_big", Sum, "packets larger than ring_bytes, kept in no history";
    PcapLogCutFlowLimit => "output.pcap_log.cut_flow_limit", Sum, "packets of alerting flows not written: the flow reached flow_limit";
    PcapLogCutMaxFiles => "output.pcap_log.cut_max_files", Sum, "packets not written: max_files files were full (global cap; no file is deleted)";
    PcapLogWriteErrors => "output.pcap_log.write_errors", Sum, "pcap-log writes or file creations that failed (packets lost)";
    PcapLogQueueDrops => "output.pcap_log.queue_full_dropped", Sum, "evidence packets for pcap-log dropped with their events because the output queue was full (live capture: workers never wait)";
    SpoolUnreadBytes => "output.spool.unread_bytes", Level, "queue bytes the slowest consumer has not read yet (set by the output thread at each sync)";
    NatsPublished => "output.nats.published", Sum, "queue events published to NATS JetStream by the forwarder (re-sends included)";
    NatsMessages => "output.nats.messages", Sum, "NATS messages published by the forwarder (re-sends included), each carrying up to output.nats.batch_events events of one type";
    NatsAcked => "output.nats.acked", Sum, "forwarded events JetStream acknowledged as stored";
    NatsDuplicates => "output.nats.duplicates", Sum, "acknowledged events JetStream already held (re-sends its duplicate window removed)";
    NatsUnconfirmed => "output.nats.unconfirmed", Sum, "events JetStream answered as duplicates without the sequence of a stored message (nats-server before 2.11 after a leader election): not counted as stored, sent again";
    NatsReissued => "output.nats.reissued", Sum, "events sent again under a new message id because JetStream kept answering their id as a duplicate without a stored message (a duplicate in the stream at worst, never a loss)";
    NatsResent => "output.nats.resent", Sum, "events published again after a failed window (timeout, lost leader, outage)";
    NatsErrors => "output.nats.errors", Sum, "failed publishes or acknowledgements, each failing the window";
    NatsDisconnects => "output.nats.disconnects", Sum, "times the connection to NATS was lost";
    NatsMissedSegments => "output.nats.missed_segments", Sum, "queue segments deleted by retention before the forwarder read them (their events never sent)";
    NatsInFlight => "output.nats.in_flight", Level, "events published and not yet acknowledged";
    NatsLagBytes => "output.nats.lag_bytes", Level, "queue bytes not yet acknowledged by JetStream";
    NatsLagEvents => "output.nats.lag_events", Level, "queue events not yet acknowledged by JetStream";
    FleetRulesVersion => "fleet.rules_version", Level, "version of the fleet ruleset in force (picket run and picket fleet work with fleet.rules; 0: the configured rules)";
    FleetRulesApplied => "fleet.rules_applied", Sum, "fleet ruleset versions verified and swapped in";
    FleetRulesRefusedLoad => "fleet.rules_refused_load_failed", Sum, "fleet ruleset versions refused because their rules could not be loaded (no rule loads, a path is missing)";
    FleetRulesRefusedTooFew => "fleet.rules_refused_too_few_rules", Sum, "fleet ruleset versions refused because they load fewer than fleet.rules_min_ratio of the running engine's rules";
    FleetRulesRefusedDownload => "fleet.rules_refused_download", Sum, "fleet ruleset versions refused because they could not be downloaded, did not match their digest or could not be unpacked";
    FleetHeartbeats => "fleet.heartbeats", Sum, "heartbeats stored in fleet.status_bucket (picket fleet status)";
    FleetHeartbeatErrors => "fleet.heartbeat_errors", Sum, "heartbeats that could not be stored (no connection, no bucket; the next one is tried as usual)";
    NatsConnected => "output.nats.connected", Level, "1 while the forwarder is connected to a NATS server";
    // pipeline
    PipelineBatches => "pipeline.batches", Sum, "packet batches handed from the reader to the workers";
    PipelineReaderWaits => "pipeline.reader_blocked", Sum, "times the reader waited on a full worker queue (replay back-pressure)";
    // ---- live capture (picket run) ----
    CaptureKernelPackets => "capture.kernel_packets", Sum, "packets the kernel passed to the capture sockets, dropped ones included (PACKET_STATISTICS)";
    CaptureKernelDrops => "capture.kernel_drops", Sum, "packets the kernel dropped because a capture ring or socket buffer was full";
    CaptureKernelFreezes => "capture.kernel_queue_freezes", Sum, "times a capture ring was full (TPACKET_V3 queue frozen)";
    CaptureErrors => "capture.errors", Sum, "capture socket errors (link down, interface gone): cleared, the socket is kept";
    CaptureLinkDown => "capture.link_down", Sum, "times a capture interface was found down or without carrier";
    CaptureLinkUp => "capture.link_up", Sum, "times a capture interface came back up";
    CaptureWorkerSilent => "capture.worker_silent", Sum, "health checks in which a worker received no packet while the others did";
    PipelineQueueDrops => "pipeline.queue_full_drops", Sum, "packets dropped because a worker's queue was full (live capture, pnet method; never in replay)";
    OutputRecords => "output.records", Sum, "app-layer EVE records written (one per transaction)";
    OutputFileinfo => "output.fileinfo", Sum, "fileinfo EVE records written (one per file)";
    OutputQueueDrops => "output.queue_full_dropped_events", Sum, "EVE events dropped because the output queue was full (live capture: workers never wait)";
    DetectTxStateEvicted => "detect.tx_state_evicted", Sum, "transaction detection states dropped to keep at most 1024 per flow (the transactions up to the dropped one are not inspected again)";
    DetectReloads => "detect.reloads", Sum, "rule reloads (SIGUSR2, picket ctl reload-rules) that swapped in a new engine";
    DetectReloadFailures => "detect.reload_failures", Sum, "rule reloads that failed (the running engine was kept)";
    DetectReloadMs => "detect.reload_duration_ms", Sum, "time spent loading and compiling rules on reload (milliseconds; seconds in Prometheus)";
    DetectReloadLastMs => "detect.reload_last_duration_ms", Max, "time the last reload took to load and compile (milliseconds; seconds in Prometheus)";
    DetectReloadPeakRss => "detect.reload_peak_rss_bytes", Max, "peak resident memory of the process during the last reload, bytes";
    // ---- end live capture ----
}

/// Number of counters.
pub const COUNT: usize = NAMES.len();

/// A counter another stage defines at start-up (the app layer's, one set per protocol it
/// parses), summed across threads like the table's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtCounter {
    /// Dotted name, as in the `stats` event.
    pub name: String,
    /// One line of help.
    pub help: String,
}

static EXT: std::sync::OnceLock<Vec<ExtCounter>> = std::sync::OnceLock::new();

/// Installs the names of the extension counters (the first call wins; every caller passes
/// the same table, which is a function of the build).
pub fn install_ext(defs: impl FnOnce() -> Vec<ExtCounter>) {
    EXT.get_or_init(defs);
}

/// The extension counters' names, once installed.
pub fn ext_counters() -> &'static [ExtCounter] {
    EXT.get().map_or(&[], |v| v.as_slice())
}

/// A thread's counters: a plain array, incremented without synchronisation, plus the values
/// of the extension counters ([`install_ext`]), published at batch boundaries.
#[derive(Clone)]
pub struct Counters {
    v: Box<[u64; COUNT]>,
    ext: Vec<u64>,
}

impl Default for Counters {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (i, v) in self.v.iter().enumerate() {
            if *v != 0 {
                m.entry(&NAMES[i], v);
            }
        }
        m.finish()
    }
}

impl Counters {
    /// All zero.
    pub fn new() -> Self {
        Counters { v: Box::new([0; COUNT]), ext: Vec::new() }
    }

    /// Adds one.
    #[inline(always)]
    pub fn inc(&mut self, c: C) {
        self.v[c as usize] += 1;
    }

    /// Adds one to the counter `off` rows after `base`, for a block of counters kept in the
    /// order of another table (the engine events); nothing past the table.
    #[inline(always)]
    pub fn inc_offset(&mut self, base: C, off: usize) {
        if let Some(v) = self.v.get_mut(base as usize + off) {
            *v += 1;
        }
    }

    /// Adds `n`.
    #[inline(always)]
    pub fn add(&mut self, c: C, n: u64) {
        self.v[c as usize] += n;
    }

    /// Raises to `n` if larger.
    #[inline(always)]
    pub fn max(&mut self, c: C, n: u64) {
        let slot = &mut self.v[c as usize];
        if n > *slot {
            *slot = n;
        }
    }

    /// Sets the value (gauges).
    #[inline(always)]
    pub fn set(&mut self, c: C, n: u64) {
        self.v[c as usize] = n;
    }

    /// Current value.
    #[inline(always)]
    pub fn get(&self, c: C) -> u64 {
        self.v[c as usize]
    }

    /// Value by index into [`NAMES`].
    pub fn get_index(&self, i: usize) -> u64 {
        self.v.get(i).copied().unwrap_or(0)
    }

    /// Value by dotted name, if such a counter exists (extension counters included).
    pub fn get_named(&self, name: &str) -> Option<u64> {
        match NAMES.iter().position(|n| *n == name) {
            Some(i) => Some(self.v[i]),
            None => ext_counters().iter().position(|e| e.name == name).map(|i| self.ext.get(i).copied().unwrap_or(0)),
        }
    }

    /// Sets the extension counters' values, in the order of their names.
    pub fn set_ext(&mut self, values: impl Iterator<Item = u64>) {
        self.ext.clear();
        self.ext.extend(values);
    }

    /// Every counter, the table's then the extension's: (dotted name, kind, help, value).
    pub fn each(&self, f: &mut dyn FnMut(&str, Kind, &str, u64)) {
        for i in 0..COUNT {
            f(NAMES[i], KINDS[i], HELP[i], self.v[i]);
        }
        for (i, e) in ext_counters().iter().enumerate() {
            f(&e.name, Kind::Sum, &e.help, self.ext.get(i).copied().unwrap_or(0));
        }
    }

    /// Merges another thread's counters into these.
    pub fn merge(&mut self, other: &Counters) {
        for ((mine, theirs), kind) in self.v.iter_mut().zip(other.v.iter()).zip(KINDS) {
            match kind {
                Kind::Sum | Kind::Level => *mine += theirs,
                Kind::Max => *mine = (*mine).max(*theirs),
            }
        }
        if self.ext.len() < other.ext.len() {
            self.ext.resize(other.ext.len(), 0);
        }
        for (a, b) in self.ext.iter_mut().zip(other.ext.iter()) {
            *a += *b;
        }
    }

    /// The counters as the nested object of Suricata's `stats` event (`decoder.pkts` ->
    /// `{"decoder":{"pkts":N}}`), plus the derived `decoder.avg_pkt_size`. Only counters that
    /// Suricata has (see [`is_suricata_counter`]) go in, so the event validates against
    /// Suricata's EVE schema; [`Counters::to_json_all`] has every counter.
    pub fn to_stats_json(&self) -> Value {
        self.to_json(true)
    }

    /// Every counter, Picket's own included, nested by dotted name.
    pub fn to_json_all(&self) -> Value {
        self.to_json(false)
    }

    fn to_json(&self, suricata_only: bool) -> Value {
        let mut root = Map::new();
        self.each(&mut |name, _, _, v| {
            if suricata_only && !is_suricata_counter(name) {
                return;
            }
            insert_dotted(&mut root, name, Value::from(v));
        });
        let pkts = self.get(C::DecoderPkts);
        let avg = self.get(C::DecoderBytes).checked_div(pkts).unwrap_or(0);
        insert_dotted(&mut root, "decoder.avg_pkt_size", Value::from(avg));
        Value::Object(root)
    }
}

/// Counters that exist only in Picket (not in Suricata's stats), kept out of the EVE `stats`
/// event so that it validates against Suricata's schema; they are in the summary and metrics.
pub const PICKET_ONLY_PREFIXES: &[&str] = &[
    "capture.",
    "decoder.tunnels",
    "decoder.checksum.",
    "decoder.unknown_linktype",
    "flow.other",
    "flow.ended.",
    "flow.spare_exhausted",
    "flow.wrk.pkts",
    "flow.no_flow",
    "flow.reversed",
    "defrag.picket.", // Picket-only defrag counters (sensor/defrag)
    "detect.reload",  // live reloads (sensor/runtime/live.rs)
    "detect.tx_state_evicted",
    "detect.dataset_",   // dataset lookups and hits (sensor/detect/dataset)
    "detect.xbits_full", // hostbits/xbits table full (sensor/detect/vars.rs)
    // the event's counter; Suricata's stats name it decoder.too_many_layers, which Picket
    // keeps as well
    "decoder.event.too_many_layers",
    "output.",
    "fleet.", // the fleet ruleset watcher (sensor/output/nats)
    "pipeline.",
    "stream.",
    "app.",
    "worker.",
];

/// Whether a counter has the same name in Suricata's `stats` event.
pub fn is_suricata_counter(name: &str) -> bool {
    !PICKET_ONLY_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Inserts `value` at a dotted path, creating objects on the way. A path that collides with a
/// leaf keeps the existing leaf (cannot happen with the static table; checked by a test).
pub fn insert_dotted(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut cur = root;
    let mut parts = path.split('.').peekable();
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(p.to_string(), value);
            return;
        }
        let next = cur.entry(p.to_string()).or_insert_with(|| Value::Object(Map::new()));
        match next {
            Value::Object(m) => cur = m,
            _ => return,
        }
    }
}

/// Prometheus names that are not the mechanical one: a base unit said in the name.
const PROM_NAMES: &[(&str, &str)] = &[
    ("decoder.max_pkt_size", "picket_decoder_max_pkt_size_bytes"),
    ("defrag.memuse", "picket_defrag_memuse_bytes"),
    ("tcp.reassembly_memuse", "picket_tcp_reassembly_memuse_bytes"),
    ("flow.total", "picket_flows_total"),
];

/// Counters kept per capture interface as well: Prometheus shows them with an `interface`
/// label (see [`prom::IfaceStats`]).
pub const PER_INTERFACE: &[&str] = &[
    "capture.packets",
    "capture.bytes",
    "capture.kernel_packets",
    "capture.kernel_drops",
    "capture.kernel_queue_freezes",
    "capture.errors",
    "capture.link_down",
    "capture.link_up",
];

/// Whether counter `i` is a Prometheus gauge (a level or a maximum) rather than a counter.
pub fn is_gauge(i: usize) -> bool {
    KINDS.get(i).is_some_and(|k| *k != Kind::Sum)
}

/// The engine events' counters (decoder, stream, app layer) are exposed as one Prometheus
/// family per layer with the event as the `reason` label: the family and the reason of a
/// counter, when it is one of them.
pub fn event_family(name: &str) -> Option<(&'static str, &str)> {
    if let Some(reason) = name.strip_prefix("decoder.event.") {
        return Some(("picket_decoder_events_total", reason));
    }
    if let Some(reason) = name.strip_prefix("app.event.") {
        return Some(("picket_app_events_total", reason));
    }
    let first = C::EvStream3whsAckInWrongDir as usize;
    let last = C::EvStreamReassemblyUrgentOobLimitReached as usize;
    let reason = name.strip_prefix("stream.")?;
    NAMES.get(first..=last)?.contains(&name).then_some(("picket_stream_events_total", reason))
}

/// The Prometheus name of a counter (see [`prom`]).
pub fn prometheus_name(i: usize) -> String {
    prom_name(NAMES[i], KINDS[i])
}

/// The Prometheus name of the counter `name` of kind `kind` (extension counters included):
/// `picket_` and the dotted name with underscores, milliseconds as seconds, `_total` once for
/// counters, the unit for gauges.
pub fn prom_name(name: &str, kind: Kind) -> String {
    if let Some((family, _)) = event_family(name) {
        return family.into();
    }
    if name == "worker.busy_ns" {
        return "picket_worker_busy_seconds_total".into();
    }
    if let Some((_, p)) = PROM_NAMES.iter().find(|(n, _)| *n == name) {
        return p.to_string();
    }
    let base = match name.strip_suffix("_ms") {
        Some(stem) => format!("picket_{}_seconds", stem.replace(['.', '-'], "_")),
        None => format!("picket_{}", name.replace(['.', '-'], "_")),
    };
    if kind != Kind::Sum || base.ends_with("_total") {
        base
    } else {
        format!("{base}_total")
    }
}

/// The labels a counter carries in Prometheus (for the reference page).
pub fn prometheus_labels(i: usize) -> &'static str {
    let name = NAMES[i];
    if name.starts_with("decoder.event.") {
        "{reason}"
    } else if name == "worker.busy_ns" {
        "{worker}"
    } else if PER_INTERFACE.contains(&name) {
        "{interface}"
    } else {
        ""
    }
}

/// The metrics reference page (`docs/metrics.md`), generated from the table.
pub fn counters_markdown() -> String {
    let mut s = String::from(
        "# Metrics\n\nGenerated from `sensor/metrics/mod.rs`; a test fails when this page is out of date \
         (regenerate with `PICKET_REGEN_DOCS=1 cargo test --profile ci --lib counters_doc`).\n\n\
         Every counter is kept by one thread as a plain integer and published at batch boundaries. It appears \
         in three places: the EVE `stats` event (only counters Suricata also has, under Suricata's name), the \
         Prometheus endpoint (`--metrics-listen` / `metrics.listen`, `GET /metrics`, text format), and the \
         replay summary (`picket run` adds Suricata's `capture` section to its stats events). Counters end in \
         `_total`; levels and maxima are gauges named with their unit. In `picket run` the capture counters \
         carry an `interface` label. Besides the table: `picket_worker_packets_total{worker}` and \
         `picket_worker_busy_seconds_total{worker}` (balance and CPU saturation per worker), \
         `picket_capture_loss_ratio{interface}` (kernel drops over the packets the kernel saw, since the start), \
         `picket_detect_rules_loaded`, `picket_detect_rules_failed` (broken), `picket_detect_rules_skipped` \
         (unsupported), `picket_detect_rules_not_loaded{kind}` (syntax, unknown_keyword, bad_value, \
         undefined_variable, circular_variable, duplicate_sid, missing_sid, unsupported), \
         `picket_detect_reload_last_timestamp_seconds`, `picket_detect_reload_last_success` (1/0) and \
         `picket_detect_reload_last_success_timestamp_seconds` (the start counts as a load), \
         `picket_uptime_seconds`, `picket_build_info{version}`; per dataset, read at each scrape: \
         `picket_dataset_entries{set}`, `picket_dataset_memory_bytes{set}`, `picket_dataset_memcap_bytes{set}` \
         (0: none), `picket_dataset_memcap_refused{set}` (values refused by the memcap, from files, rules and \
         the control socket) and `picket_dataset_state_fallbacks{set}` (binary states not used because stale \
         or damaged: the text file was read instead, with a log line); for `iprep`, of the reputation last loaded: `picket_iprep_entries{kind}` (host, \
         network), `picket_iprep_bad_lines` (lines skipped: syntax, range, unknown category; the log names file \
         and line) and `picket_iprep_memcap_refused`. `GET /healthz` answers 200 while the sensor runs \
         and 503 with the reasons otherwise (link down, capture loss above `daemon.loss_alarm_percent`, stopping); \
         `GET /rules/failed` lists the rules of the rule set in use that were not loaded.\n\n\
         | counter (EVE stats name) | Prometheus | origin | meaning |\n|---|---|---|---|\n",
    );
    for i in 0..COUNT {
        let origin = if is_suricata_counter(NAMES[i]) { "Suricata" } else { "Picket" };
        let kind = if is_gauge(i) { "gauge" } else { "counter" };
        s.push_str(&format!(
            "| `{}` | `{}{}` ({kind}) | {} | {} |\n",
            NAMES[i],
            prometheus_name(i),
            prometheus_labels(i),
            origin,
            HELP[i]
        ));
    }
    for e in ext_counters() {
        let origin = if is_suricata_counter(&e.name) { "Suricata" } else { "Picket" };
        let prom = match event_family(&e.name) {
            Some((family, _)) => format!("{family}{{reason}}"),
            None => format!("picket_{}_total", e.name.replace(['.', '-'], "_")),
        };
        s.push_str(&format!("| `{}` | `{}` | {} | {} |\n", e.name, prom, origin, e.help));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_nest_without_collision() {
        let mut seen = std::collections::HashSet::new();
        for n in NAMES {
            assert!(seen.insert(*n), "duplicate counter {n}");
            // no name may be a prefix-object of another leaf
            for m in NAMES {
                assert!(!m.starts_with(&format!("{n}.")), "{n} is both a leaf and an object ({m})");
            }
        }
        assert_eq!(NAMES.len(), KINDS.len());
        assert_eq!(NAMES.len(), HELP.len());
    }

    #[test]
    fn merge_sums_and_maxes() {
        let mut a = Counters::new();
        let mut b = Counters::new();
        a.add(C::DecoderPkts, 3);
        b.add(C::DecoderPkts, 4);
        a.max(C::DecoderMaxPktSize, 100);
        b.max(C::DecoderMaxPktSize, 60);
        a.merge(&b);
        assert_eq!(a.get(C::DecoderPkts), 7);
        assert_eq!(a.get(C::DecoderMaxPktSize), 100);
        let j = a.to_stats_json();
        assert_eq!(j["decoder"]["pkts"], 7);
        assert_eq!(j["decoder"]["event"]["ipv4"]["trunc_pkt"], 0);
    }
}
