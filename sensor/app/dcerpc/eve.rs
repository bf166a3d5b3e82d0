//! DCE/RPC's EVE object (Suricata's `log_dcerpc_header_tcp` / `_udp` fields), and the names of
//! well-known interfaces and their procedures (`service`, `procedure`), shared with `smb`.
//!
//! The interface table is `interfaces.json` (one JSON object per line: `uuid`, `service`,
//! `opcodes`), the table Suricata ships from Zeek's DCE/RPC constants (BSD licence, see
//! `interfaces.LICENSE`); it is parsed once, on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::pdu::{self, ptype, Iface};
use super::DceTx;
use crate::output::eve::Json;

/// A well-known interface: its service name and procedure names by opnum.
#[derive(Debug, Default)]
pub(crate) struct KnownIface {
    /// Service name (`svcctl`).
    pub service: String,
    /// Procedure names by opnum.
    pub procedures: HashMap<u16, String>,
}

const TABLE: &str = include_str!("interfaces.json");

/// The well-known interface with this UUID.
pub(crate) fn known(uuid: &[u8; 16]) -> Option<&'static KnownIface> {
    static MAP: OnceLock<HashMap<[u8; 16], KnownIface>> = OnceLock::new();
    MAP.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct Row {
            uuid: String,
            service: String,
            #[serde(default)]
            opcodes: HashMap<String, String>,
        }
        let mut m = HashMap::new();
        for line in TABLE.lines().filter(|l| !l.trim().is_empty()) {
            let Ok(r) = serde_json::from_str::<Row>(line) else { continue };
            let Some(u) = pdu::parse_uuid(&r.uuid) else { continue };
            let procedures = r.opcodes.into_iter().filter_map(|(k, v)| Some((k.parse().ok()?, v))).collect();
            m.insert(u, KnownIface { service: r.service, procedures });
        }
        m
    })
    .get(uuid)
}

/// Appends `{"uuid":..,"version":..,...}` for one interface. `ack`: write `ack_result` (and
/// `ack_reason` too when `reason`) if the context was acked; `opnum`: the request's, for the
/// procedure name.
pub(crate) fn write_iface(arr: &mut Vec<u8>, i: &Iface, ack: bool, reason: bool, opnum: Option<u16>) {
    let mut o = Json::object(arr);
    o.str("uuid", &pdu::uuid_string(&i.uuid));
    o.str("version", &format!("{}.{}", i.ver, i.ver_min));
    if ack && i.acked {
        o.u64("ack_result", u64::from(i.ack_result));
        if reason {
            o.u64("ack_reason", u64::from(i.ack_reason));
        }
    }
    if let Some(k) = known(&i.uuid) {
        o.str("service", &k.service);
        if let Some(p) = opnum.and_then(|n| k.procedures.get(&n)) {
            o.str("procedure", p);
        }
    }
    o.end();
}

/// Writes `"interfaces":[...]` with the interfaces `keep` selects; nothing when none.
pub(crate) fn write_ifaces<'a>(
    j: &mut Json<'_>,
    ifaces: impl Iterator<Item = &'a Iface>,
    ack: bool,
    reason: bool,
    opnum: Option<u16>,
) {
    let mut arr = vec![b'['];
    for (n, i) in ifaces.enumerate() {
        if n > 0 {
            arr.push(b',');
        }
        write_iface(&mut arr, i, ack, reason, opnum);
    }
    if arr.len() > 1 {
        arr.push(b']');
        j.raw("interfaces", &arr);
    }
}

/// Writes the `dcerpc` object of a transaction (its record body, and what alerts carry).
pub(crate) fn write_tx(j: &mut Json<'_>, tx: &DceTx) {
    let mut o = j.begin("dcerpc");
    if tx.req_done && !tx.req_lost {
        o.str("request", &pdu::type_name(tx.req_cmd));
        if tx.req_cmd == ptype::REQUEST {
            let mut r = o.begin("req");
            r.u64("opnum", u64::from(tx.opnum));
            r.u64("frag_cnt", u64::from(tx.frag_cnt_ts));
            r.u64("stub_data_size", tx.stub_ts.len() as u64);
            r.end();
            if tx.activity.is_none() {
                let sel = tx.ifaces.iter().filter(|i| i.ctxid == tx.ctxid);
                write_ifaces(&mut o, sel, true, false, Some(tx.opnum));
            }
        } else if tx.req_cmd == ptype::BIND && tx.activity.is_none() {
            let sel = tx.ifaces.iter().filter(|i| i.call_id == tx.call_id);
            write_ifaces(&mut o, sel, true, false, None);
        }
    } else {
        o.str("request", "REQUEST_LOST");
    }
    if tx.resp_done && !tx.resp_lost {
        o.str("response", &pdu::type_name(tx.resp_cmd));
        if tx.resp_cmd == ptype::RESPONSE {
            let mut r = o.begin("res");
            r.u64("frag_cnt", u64::from(tx.frag_cnt_tc));
            r.u64("stub_data_size", tx.stub_tc.len() as u64);
            r.end();
        }
    } else {
        o.str("response", "UNREPLIED");
    }
    match tx.activity {
        Some(a) => {
            o.str("activityuuid", &pdu::uuid_string(&a));
            o.u64("seqnum", u64::from(tx.seqnum));
            o.str("rpc_version", "4.0");
        }
        None => {
            o.u64("call_id", u64::from(tx.call_id));
            o.str("rpc_version", &format!("5.{}", tx.min_version));
        }
    }
    o.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interface_table_loads_and_names_procedures() {
        let u = pdu::parse_uuid("367abb81-9844-35f1-ad32-98f038001003").unwrap_or_default();
        let k = known(&u).unwrap_or_else(|| panic!("svcctl is in the table"));
        assert_eq!(k.service, "svcctl");
        assert_eq!(k.procedures.get(&15).map(String::as_str), Some("OpenSCManagerW"));
        assert!(known(&[0; 16]).is_none());
    }
}
