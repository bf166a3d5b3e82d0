//! Suricata keywords the parser knows without acting on them:
//! - [`IGNORED`]: accepted, with no effect on what matches (recorded in
//!   `Rule::ignored_keywords`): logging, storing, IPS-only actions;
//! - [`UNTYPED`]: keywords that change what a rule matches but have no typed form here yet.
//!   A rule using one is reported as unsupported (naming the keyword) rather than loaded
//!   without it, and rather than refused as unknown. When the app layer implements one of
//!   them, its [`AppKeyword`](super::AppKeyword) row replaces the row here.

use super::{suricata_doc, Arg, Keyword};

use Arg::{None as N, Required as R};

/// Accepted, no effect on matching.
pub(crate) const IGNORED: &[Keyword] = &[
    Keyword::ignored(
        "tag",
        R,
        "tags the flow's or host's next packets for logging (not kept)",
        suricata_doc!("tag.html"),
    ),
    Keyword::ignored(
        "prefilter",
        N,
        "use the previous keyword as the prefilter (the fast pattern is chosen as usual)",
        suricata_doc!("prefilter-keywords.html#prefilter"),
    ),
    Keyword::ignored("bypass", N, "bypass the rest of the flow (not done)", suricata_doc!("bypass-keyword.html")),
    Keyword::ignored(
        "replace",
        R,
        "IPS only: replace the previous content in the packet (a passive sensor does not)",
        suricata_doc!("payload-keywords.html#replace"),
    ),
    Keyword::ignored(
        "requires",
        R,
        "the Suricata version or features the rule needs",
        suricata_doc!("meta.html#requires"),
    ),
    Keyword::ignored(
        "tls.store",
        N,
        "store the TLS certificate chain on disk (not done)",
        suricata_doc!("tls-keywords.html#tls-store"),
    ),
    Keyword::ignored(
        "tls_store",
        N,
        "store the TLS certificate chain on disk (not done)",
        suricata_doc!("tls-keywords.html#tls-store"),
    ),
];

/// Known to Suricata, changes matching, not implemented: the rule is not loaded.
pub(crate) const UNTYPED: &[Keyword] = &[
    // state kept across packets and flows
    Keyword::untyped(
        "flowvar",
        R,
        "tests a variable kept on the flow",
        suricata_doc!("payload-keywords.html#pcre-extraction"),
    ),
    Keyword::untyped(
        "pktvar",
        R,
        "tests a variable kept on the packet",
        suricata_doc!("payload-keywords.html#pcre-extraction"),
    ),
    Keyword::untyped("geoip", R, "the country of an IP address", suricata_doc!("header-keywords.html#geoip")),
    // payload
    Keyword::untyped("asn1", R, "checks ASN.1 encoded data of the payload", suricata_doc!("payload-keywords.html")),
    Keyword::untyped(
        "rpc",
        R,
        "an ONC RPC call's program, version and procedure",
        suricata_doc!("payload-keywords.html#rpc"),
    ),
    Keyword::untyped("lua", R, "a Lua script decides the match", suricata_doc!("lua-detection.html")),
    Keyword::untyped("luajit", R, "a Lua script decides the match (older name)", suricata_doc!("lua-detection.html")),
    Keyword::untyped(
        "luaxform",
        R,
        "transform: a Lua function rewrites the buffer",
        suricata_doc!("transforms.html#luaxform"),
    ),
    Keyword::untyped("transform", R, "a transform by name", suricata_doc!("transforms.html")),
    // events
    Keyword::untyped(
        "app-layer-state",
        R,
        "the progress of the app-layer transaction",
        suricata_doc!("app-layer.html#app-layer-state"),
    ),
    Keyword::untyped("config", R, "sets how the flow or packet is handled afterwards", suricata_doc!("config.html")),
    // packet
    // files
    Keyword::untyped(
        "filemagic",
        R,
        "the libmagic description of a transferred file",
        suricata_doc!("file-keywords.html#file-magic"),
    ),
    Keyword::untyped(
        "filemd5",
        R,
        "a transferred file's MD5 is in a list",
        suricata_doc!("file-keywords.html#filemd5"),
    ),
    Keyword::untyped(
        "filesha1",
        R,
        "a transferred file's SHA-1 is in a list",
        suricata_doc!("file-keywords.html#filesha1"),
    ),
    Keyword::untyped(
        "filesha256",
        R,
        "a transferred file's SHA-256 is in a list",
        suricata_doc!("file-keywords.html#filesha256"),
    ),
    Keyword::untyped("filesize", R, "the size of a transferred file", suricata_doc!("file-keywords.html#filesize")),
    // app-layer protocols Picket does not parse
    Keyword::untyped(
        "ftpbounce",
        N,
        "an FTP PORT command naming another host",
        suricata_doc!("ftp-keywords.html#ftpbounce"),
    ),
    Keyword::untyped(
        "ftpdata_command",
        R,
        "the FTP command (stor, retr) that opened the data channel",
        suricata_doc!("ftp-keywords.html#ftpdata-command"),
    ),
    Keyword::untyped(
        "ftp.dynamic_port",
        R,
        "the port of an FTP data channel",
        suricata_doc!("ftp-keywords.html#ftp-dynamic-port"),
    ),
    Keyword::untyped("dce_iface", R, "the DCERPC interface UUID", suricata_doc!("dcerpc-keywords.html#dcerpc-iface")),
    Keyword::untyped("dce_opnum", R, "the DCERPC operation number", suricata_doc!("dcerpc-keywords.html#dcerpc-opnum")),
    Keyword::untyped(
        "ssh.protoversion",
        R,
        "the SSH protocol version (older keyword)",
        suricata_doc!("ssh-keywords.html#ssh-proto"),
    ),
    Keyword::untyped(
        "ssh.softwareversion",
        R,
        "the SSH software version (older keyword)",
        suricata_doc!("ssh-keywords.html#ssh-software"),
    ),
    Keyword::untyped("ssh_state", R, "the state of the SSH session", suricata_doc!("ssh-keywords.html")),
    Keyword::untyped("smb.version", R, "the SMB version", suricata_doc!("smb-keywords.html#smb-version")),
    Keyword::untyped(
        "krb5_msg_type",
        R,
        "the Kerberos 5 message type",
        suricata_doc!("kerberos-keywords.html#krb5-msg-type"),
    ),
    Keyword::untyped(
        "krb5_err_code",
        R,
        "the Kerberos 5 error code",
        suricata_doc!("kerberos-keywords.html#krb5-err-code"),
    ),
    Keyword::untyped(
        "krb5.weak_encryption",
        N,
        "Kerberos 5 with a weak encryption type",
        suricata_doc!("kerberos-keywords.html#krb5-weak-encryption-event"),
    ),
    Keyword::untyped(
        "krb5.ticket_encryption",
        R,
        "the Kerberos 5 ticket encryption type",
        suricata_doc!("kerberos-keywords.html#krb5-ticket-encryption"),
    ),
    Keyword::untyped(
        "modbus",
        R,
        "a Modbus function, unit or access",
        suricata_doc!("modbus-keyword.html#modbus-keyword"),
    ),
    Keyword::untyped(
        "dnp3_func",
        R,
        "the DNP3 application function code",
        suricata_doc!("dnp3-keywords.html#dnp3-func"),
    ),
    Keyword::untyped("dnp3_ind", R, "the DNP3 internal indication flags", suricata_doc!("dnp3-keywords.html#dnp3-ind")),
    Keyword::untyped("dnp3_obj", R, "a DNP3 application data object", suricata_doc!("dnp3-keywords.html#dnp3-obj")),
    Keyword::untyped("enip_command", R, "the EtherNet/IP command", suricata_doc!("enip-keyword.html#enip-command")),
    Keyword::untyped(
        "cip_service",
        R,
        "the CIP service (class, attribute)",
        suricata_doc!("enip-keyword.html#cip-service"),
    ),
    Keyword::untyped("nfs_procedure", R, "the NFS procedure", suricata_doc!("nfs-keywords.html#nfs-procedure")),
    Keyword::untyped("nfs.version", R, "the NFS version", suricata_doc!("nfs-keywords.html")),
    Keyword::untyped("snmp.version", R, "the SNMP version", suricata_doc!("snmp-keywords.html#snmp-version")),
    Keyword::untyped("snmp.pdu_type", R, "the SNMP PDU type", suricata_doc!("snmp-keywords.html#snmp-pdu-type")),
    Keyword::untyped(
        "rfb.secresult",
        R,
        "the RFB (VNC) security result",
        suricata_doc!("rfb-keywords.html#rfb-secresult"),
    ),
    Keyword::untyped("rfb.sectype", R, "the RFB (VNC) security type", suricata_doc!("rfb-keywords.html#rfb-sectype")),
    Keyword::untyped("mqtt.type", R, "the MQTT control packet type", suricata_doc!("mqtt-keywords.html#mqtt-type")),
    Keyword::untyped("mqtt.flags", R, "the MQTT fixed header flags", suricata_doc!("mqtt-keywords.html#mqtt-flags")),
    Keyword::untyped("mqtt.qos", R, "the MQTT QoS level", suricata_doc!("mqtt-keywords.html#mqtt-qos")),
    Keyword::untyped(
        "mqtt.reason_code",
        R,
        "the MQTT 5 reason code",
        suricata_doc!("mqtt-keywords.html#mqtt-reason-code"),
    ),
    Keyword::untyped(
        "mqtt.protocol_version",
        R,
        "the MQTT protocol version",
        suricata_doc!("mqtt-keywords.html#mqtt-protocol-version"),
    ),
    Keyword::untyped(
        "mqtt.connect.flags",
        R,
        "the MQTT CONNECT flags",
        suricata_doc!("mqtt-keywords.html#mqtt-connect-flags"),
    ),
    Keyword::untyped(
        "mqtt.connack.session_present",
        R,
        "the MQTT CONNACK session present flag",
        suricata_doc!("mqtt-keywords.html#mqtt-connack-session-present"),
    ),
    Keyword::untyped("ike.exchtype", R, "the IKE exchange type", suricata_doc!("ike-keywords.html#ike-exchtype")),
    Keyword::untyped(
        "ike.chosen_sa_attribute",
        R,
        "an attribute of the IKE security association chosen",
        suricata_doc!("ike-keywords.html#ike-chosen-sa-attribute"),
    ),
    Keyword::untyped(
        "ike.key_exchange_payload_length",
        R,
        "the length of the IKE key exchange payload",
        suricata_doc!("ike-keywords.html#ike-key-exchange-payload-length"),
    ),
    Keyword::untyped(
        "ike.nonce_payload_length",
        R,
        "the length of the IKE nonce payload",
        suricata_doc!("ike-keywords.html#ike-nonce-payload-length"),
    ),
    Keyword::untyped("dhcp.leasetime", R, "the DHCP lease time", suricata_doc!("dhcp-keywords.html#dhcp-leasetime")),
    Keyword::untyped(
        "dhcp.rebinding_time",
        R,
        "the DHCP rebinding time",
        suricata_doc!("dhcp-keywords.html#dhcp-rebinding-time"),
    ),
    Keyword::untyped(
        "dhcp.renewal_time",
        R,
        "the DHCP renewal time",
        suricata_doc!("dhcp-keywords.html#dhcp-renewal-time"),
    ),
    Keyword::untyped(
        "http2.frametype",
        R,
        "the HTTP/2 frame type",
        suricata_doc!("http2-keywords.html#http2-frametype"),
    ),
    Keyword::untyped(
        "http2.errorcode",
        R,
        "the HTTP/2 error code",
        suricata_doc!("http2-keywords.html#http2-errorcode"),
    ),
    Keyword::untyped(
        "http2.priority",
        R,
        "the HTTP/2 priority weight",
        suricata_doc!("http2-keywords.html#http2-priority"),
    ),
    Keyword::untyped(
        "http2.window",
        R,
        "the HTTP/2 window update increment",
        suricata_doc!("http2-keywords.html#http2-window"),
    ),
    Keyword::untyped(
        "http2.size_update",
        R,
        "the HTTP/2 dynamic table size update",
        suricata_doc!("http2-keywords.html#http2-size-update"),
    ),
    Keyword::untyped(
        "http2.settings",
        R,
        "an HTTP/2 setting and its value",
        suricata_doc!("http2-keywords.html#http2-settings"),
    ),
    Keyword::untyped("http2.header", R, "an HTTP/2 header (older keyword)", suricata_doc!("http2-keywords.html")),
];
