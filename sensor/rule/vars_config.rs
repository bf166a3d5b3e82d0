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

impl VarsConfig {
    /// Every variable that does not resolve, as Suricata checks its `vars` at start-up: (dotted
    /// key, reason). A variable that fails only because another one does (`EXTERNAL_NET =
    /// "!$HOME_NET"` with a bad HOME_NET) is not repeated: the root cause is named once.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut vars = super::vars::Vars::new(self);
        let mut failing: Vec<(&str, &str, &str, String)> = Vec::new();
        for (name, value) in &self.address {
            if let Err(e) = vars.addresses(&format!("${name}")) {
                failing.push(("address", name, value, e.to_string()));
            }
        }
        for (name, value) in &self.port {
            if let Err(e) = vars.ports(&format!("${name}")) {
                failing.push(("port", name, value, e.to_string()));
            }
        }
        let refers_to_failing = |value: &str| {
            failing.iter().any(|(_, other, _, _)| {
                value.match_indices(&format!("${other}")).any(|(i, m)| {
                    // `$HOME_NET` but not `$HOME_NET_2`
                    !value.get(i + m.len()..).unwrap_or("").starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            })
        };
        failing
            .iter()
            .filter(|(_, _, value, _)| !refers_to_failing(value))
            .map(|(group, name, value, why)| (format!("vars.{group}.{name}"), format!("`{value}`: {why}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_variable_is_named_once_with_its_value() {
        let mut v = VarsConfig::default();
        v.address.insert("HOME_NET".into(), "notanip".into());
        v.port.insert("HTTP_PORTS".into(), "[80,eighty]".into());
        let p = v.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].0 == "vars.address.HOME_NET" && p[0].1.starts_with("`notanip`: "), "{p:?}");
        assert!(p[1].0 == "vars.port.HTTP_PORTS" && p[1].1.contains("eighty"), "{p:?}");
        assert!(VarsConfig::default().problems().is_empty());
    }
}
