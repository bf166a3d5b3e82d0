//! The `rdp` EVE object, with the fields and names Suricata's `rust/src/rdp/log.rs` writes:
//! `tx_id` (counted from 1), `event_type`, then per message the cookie and negotiation flags,
//! the server's supported features and selected protocol (or failure code and reason), the
//! client's core data (version, desktop, color depth, keyboard layout by locale name, Windows
//! build by name, client name, keyboard, product id, capabilities, ...) and channels, or the
//! server certificates' serial numbers.

use super::pdu::{ClientBlock, ConnectionRequest, CoreData, Negotiation};
use super::{RdpItem, RdpTx};
use crate::output::eve::Json;

/// Windows locale identifiers and their names ([MS-LCID]), one `hex name` a line.
const LCIDS: &str = include_str!("lcid.txt");

impl RdpTx {
    /// Writes `"rdp":{...}`.
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let mut o = j.begin("rdp");
        o.u64("tx_id", self.id + 1);
        match &self.item {
            RdpItem::InitialRequest(r) => request(&mut o, r),
            RdpItem::InitialResponse(n) => response(&mut o, n.as_ref()),
            RdpItem::ConnectRequest(blocks) => {
                o.str("event_type", "connect_request");
                for b in blocks {
                    match b {
                        ClientBlock::Core(c) => core(&mut o, c),
                        ClientBlock::Net(ch) if !ch.is_empty() => {
                            o.str_array("channels", ch.iter().map(|s| s.as_bytes()));
                        }
                        _ => {}
                    }
                }
            }
            RdpItem::ConnectResponse => {
                o.str("event_type", "connect_response");
            }
            RdpItem::TlsHandshake(serials) => {
                o.str("event_type", "tls_handshake");
                o.str_array("x509_serials", serials.iter().map(|s| s.as_bytes()));
            }
        }
        o.end();
    }
}

/// Names of the bits of a flags value that are set, in table order.
fn names(v: u64, table: &'static [(u64, &'static str)]) -> impl Iterator<Item = &'static [u8]> {
    table.iter().filter(move |(bit, _)| v & bit != 0).map(|(_, n)| n.as_bytes())
}

fn request(o: &mut Json<'_>, r: &ConnectionRequest) {
    o.str("event_type", "initial_request");
    if let Some(c) = &r.cookie {
        o.str("cookie", c);
    }
    if let Some(f) = r.flags.filter(|&f| f != 0) {
        const FLAGS: &[(u64, &str)] = &[
            (1, "restricted_admin_mode_required"),
            (2, "redirected_authentication_mode_required"),
            (8, "correlation_info_present"),
        ];
        o.str_array("flags", names(u64::from(f), FLAGS));
    }
}

fn response(o: &mut Json<'_>, n: Option<&Negotiation>) {
    o.str("event_type", "initial_response");
    match n {
        Some(&Negotiation::Response { flags, protocol }) => {
            if flags != 0 {
                // 4 (reserved) is not logged
                const FLAGS: &[(u64, &str)] = &[
                    (1, "extended_client_data"),
                    (2, "dynvc_gfx"),
                    (8, "restricted_admin"),
                    (0x10, "redirected_authentication"),
                ];
                o.str_array("server_supports", names(u64::from(flags), FLAGS));
            }
            let p = match protocol {
                1 => "ssl",
                2 => "hybrid",
                4 => "rds_tls",
                8 => "hybrid_ex",
                _ => "rdp",
            };
            o.str("protocol", p);
        }
        Some(&Negotiation::Failure(code)) => {
            let reason = match code {
                1 => "ssl required by server",
                2 => "ssl not allowed by server",
                3 => "ssl cert not on server",
                4 => "inconsistent flags",
                5 => "hybrid required by server",
                _ => "ssl with user auth required by server",
            };
            o.u64("error_code", u64::from(code));
            o.str("reason", reason);
        }
        None => {}
    }
}

/// `vN` of a client core data version, `unknown` for one not in [MS-RDPBCGR]'s list.
fn version(v: u32) -> &'static str {
    match v {
        0x80001 => "v4",
        0x80004 => "v5",
        0x80005 => "v10.0",
        0x80006 => "v10.1",
        0x80007 => "v10.2",
        0x80008 => "v10.3",
        0x80009 => "v10.4",
        0x8000a => "v10.5",
        0x8000b => "v10.6",
        0x8000c => "v10.7",
        _ => "unknown",
    }
}

/// Bits per pixel: the high color depth, else the post-beta2 one, else the first field.
fn color_depth(c: &CoreData) -> Option<u64> {
    let high = match c.high_color_depth {
        Some(v @ (4 | 8 | 15 | 16 | 24)) => Some(u64::from(v)),
        _ => None,
    };
    let post_beta2 = || match c.post_beta2_color_depth {
        Some(0xca00) => Some(4),
        Some(0xca01) => Some(8),
        Some(0xca02) => Some(15),
        Some(0xca03) => Some(16),
        Some(0xca04) => Some(24),
        _ => None,
    };
    let first = || match c.color_depth {
        0xca00 => Some(4),
        0xca01 => Some(8),
        _ => None,
    };
    high.or_else(post_beta2).or_else(first)
}

/// The locale name of a Windows LCID, `unknown` for one not listed.
fn locale(lcid: u32) -> &'static str {
    LCIDS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find(|(id, _)| u32::from_str_radix(id, 16) == Ok(lcid))
        .map_or("unknown", |(_, name)| name)
}

/// The Windows release of a client build number, with its release or service pack suffix.
fn build(b: u32) -> String {
    let name = match b {
        528 => "Windows NT 3.1",
        807 => "Windows NT 3.5",
        1057 => "Windows NT 3.51",
        1381 => "Windows NT 4.0",
        2195 => "Windows 2000",
        2600 => "Windows XP",
        3790 => "Windows Server 2003",
        6000..=6002 => "Windows Vista",
        7600 | 7601 => "Windows 7",
        9200 => "Windows 8",
        9600 => "Windows 8.1",
        10240 | 10586 | 14393 | 15063 | 16299 | 17134 | 17763 => "Windows 10",
        _ => "unknown",
    };
    let suffix = match b {
        6000 | 7600 => " RTM",
        6001 | 7601 => " SP1",
        6002 => " SP2",
        10240 => " TH1",
        10586 => " TH2",
        14393 => " RS1",
        15063 => " RS2",
        16299 => " RS3",
        17134 => " RS4",
        17763 => " RS5",
        _ => "",
    };
    format!("{name}{suffix}")
}

fn core(o: &mut Json<'_>, c: &CoreData) {
    let mut j = o.begin("client");
    j.str("version", version(c.version));
    j.u64("desktop_width", u64::from(c.desktop_width));
    j.u64("desktop_height", u64::from(c.desktop_height));
    if let Some(d) = color_depth(c) {
        j.u64("color_depth", d);
    }
    j.str("keyboard_layout", locale(c.keyboard_layout));
    j.str("build", &build(c.client_build));
    if !c.client_name.is_empty() {
        j.str("client_name", &c.client_name);
    }
    let kb = match c.keyboard_type {
        1 => Some("xt"),
        2 => Some("ico"),
        3 => Some("at"),
        4 => Some("enhanced"),
        5 => Some("1050"),
        6 => Some("9140"),
        7 => Some("jp"),
        _ => None,
    };
    if let Some(kb) = kb {
        j.str("keyboard_type", kb);
    }
    if c.keyboard_subtype != 0 {
        j.u64("keyboard_subtype", u64::from(c.keyboard_subtype));
    }
    if c.function_keys != 0 {
        j.u64("function_keys", u64::from(c.function_keys));
    }
    if !c.ime_file_name.is_empty() {
        j.str("ime", &c.ime_file_name);
    }
    if let Some(id) = c.product_id {
        j.u64("product_id", u64::from(id));
    }
    if let Some(s) = c.serial_number.filter(|&s| s != 0) {
        j.u64("serial_number", u64::from(s));
    }
    if let Some(f) = c.early_capability_flags.filter(|&f| f != 0) {
        // 0x10 (unused) is not logged
        const CAPS: &[(u64, &str)] = &[
            (0x1, "support_errinfo_pdf"),
            (0x2, "want_32bpp_session"),
            (0x4, "support_statusinfo_pdu"),
            (0x8, "strong_asymmetric_keys"),
            (0x20, "valid_connection_type"),
            (0x40, "support_monitor_layout_pdu"),
            (0x80, "support_netchar_autodetect"),
            (0x100, "support_dynvc_gfx_protocol"),
            (0x200, "support_dynamic_time_zone"),
            (0x400, "support_heartbeat_pdu"),
        ];
        j.str_array("capabilities", names(u64::from(f), CAPS));
    }
    if let Some(id) = c.dig_product_id.as_deref().filter(|s| !s.is_empty()) {
        j.str("id", id);
    }
    let hint = match c.connection_type {
        Some(1) => "modem",
        Some(2) => "low_broadband",
        Some(3) => "satellite",
        Some(4) => "high_broadband",
        Some(5) => "wan",
        Some(6) => "lan",
        Some(7) => "autodetect",
        _ => "",
    };
    if !hint.is_empty() {
        j.str("connection_hint", hint);
    }
    let opt = [
        ("physical_width", c.physical_width),
        ("physical_height", c.physical_height),
        ("desktop_orientation", c.orientation.map(u32::from)),
        ("scale_factor", c.desktop_scale),
        ("device_scale_factor", c.device_scale),
    ];
    for (k, v) in opt {
        if let Some(v) = v {
            j.u64(k, u64::from(v));
        }
    }
    j.end();
}
