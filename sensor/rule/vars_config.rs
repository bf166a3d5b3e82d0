//! The `[vars]` section of the configuration: address and port groups for rule headers, as in
//! Suricata's default suricata.yaml (resolved by [`super::vars`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[vars]`: `address` and `port` groups, as in Suricata's default suricata.yaml.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VarsConfig {
    /// Address groups (HOME_NET, EXTERNAL_NET, ...).
    pub address: BTreeMap<String, String>,
    /// Port groups (HTTP_PORTS, ...).
    pub port: BTreeMap<String, String>,
}

impl Default for VarsConfig {
    fn default() -> Self {
        let a = [
            ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
            ("EXTERNAL_NET", "!$HOME_NET"),
            ("HTTP_SERVERS", "$HOME_NET"),
            ("SMTP_SERVERS", "$HOME_NET"),
            ("SQL_SERVERS", "$HOME_NET"),
            ("DNS_SERVERS", "$HOME_NET"),
            ("TELNET_SERVERS", "$HOME_NET"),
            ("AIM_SERVERS", "$EXTERNAL_NET"),
            ("DC_SERVERS", "$HOME_NET"),
            ("DNP3_SERVER", "$HOME_NET"),
            ("DNP3_CLIENT", "$HOME_NET"),
            ("MODBUS_CLIENT", "$HOME_NET"),
            ("MODBUS_SERVER", "$HOME_NET"),
            ("ENIP_CLIENT", "$HOME_NET"),
            ("ENIP_SERVER", "$HOME_NET"),
        ];
        let p = [
            ("HTTP_PORTS", "80"),
            ("SHELLCODE_PORTS", "!80"),
            ("ORACLE_PORTS", "1521"),
            ("SSH_PORTS", "22"),
            ("DNP3_PORTS", "20000"),
            ("MODBUS_PORTS", "502"),
            ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
            ("FTP_PORTS", "21"),
            ("GENEVE_PORTS", "6081"),
            ("VXLAN_PORTS", "4789"),
            ("TEREDO_PORTS", "3544"),
        ];
        VarsConfig {
            address: a.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            port: p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }
}
