//! The `ldap` EVE object, as Suricata's `rust/src/ldap/logger.rs` writes it: the request
//! (message id, operation and its fields, controls) and the responses (operation, message id
//! when there is no request, their fields and controls); octet strings as text (bytes that
//! are not UTF-8 as `\xNN`), SASL credentials and control values in hex.

use std::fmt::Write as _;

use ldap_parser::filter::{Filter, PartialAttribute};
use ldap_parser::ldap::{Control, LdapMessage, LdapResult, ProtocolOp};

use super::LdapTx;
use crate::app::jsonx::{obj_array, str_array};
use crate::output::eve::Json;

/// Operation names by protocol-op tag (Suricata's `ProtocolOpCode`, as `ldap.*.operation`
/// takes them).
pub(crate) const OPERATIONS: &[(&str, u64)] = &[
    ("bind_request", 0),
    ("bind_response", 1),
    ("unbind_request", 2),
    ("search_request", 3),
    ("search_result_entry", 4),
    ("search_result_done", 5),
    ("search_result_reference", 19),
    ("modify_request", 6),
    ("modify_response", 7),
    ("add_request", 8),
    ("add_response", 9),
    ("del_request", 10),
    ("del_response", 11),
    ("mod_dn_request", 12),
    ("mod_dn_response", 13),
    ("compare_request", 14),
    ("compare_response", 15),
    ("abandon_request", 16),
    ("extended_request", 23),
    ("extended_response", 24),
    ("intermediate_response", 25),
];

/// Result code names (Suricata's `LdapResultCode`, as EVE writes them and
/// `ldap.responses.result_code` takes them).
pub(crate) const RESULT_CODES: &[(&str, u64)] = &[
    ("success", 0),
    ("operations_error", 1),
    ("protocol_error", 2),
    ("time_limit_exceeded", 3),
    ("size_limit_exceeded", 4),
    ("compare_false", 5),
    ("compare_true", 6),
    ("auth_method_not_supported", 7),
    ("stronger_auth_required", 8),
    ("referral", 10),
    ("admin_limit_exceeded", 11),
    ("unavailable_critical_extension", 12),
    ("confidentiality_required", 13),
    ("sasl_bind_in_progress", 14),
    ("no_such_attribute", 16),
    ("undefined_attribute_type", 17),
    ("inappropriate_matching", 18),
    ("constraint_violation", 19),
    ("attribute_or_value_exists", 20),
    ("invalid_attribute_syntax", 21),
    ("no_such_object", 32),
    ("alias_problem", 33),
    ("invalid_dns_syntax", 34),
    ("is_leaf", 35),
    ("alias_dereferencing_problem", 36),
    ("inappropriate_authentication", 48),
    ("invalid_credentials", 49),
    ("insufficient_access_rights", 50),
    ("busy", 51),
    ("unavailable", 52),
    ("unwilling_to_perform", 53),
    ("loop_detect", 54),
    ("sort_control_missing", 60),
    ("offset_range_error", 61),
    ("naming_violation", 64),
    ("object_class_violation", 65),
    ("not_allowed_on_non_leaf", 66),
    ("not_allowed_on_rdn", 67),
    ("entry_already_exists", 68),
    ("object_class_mods_prohibited", 69),
    ("results_too_large", 70),
    ("affects_multiple_dsas", 71),
    ("control_error", 76),
    ("other", 80),
    ("server_down", 81),
    ("local_error", 82),
    ("encoding_error", 83),
    ("decoding_error", 84),
    ("timeout", 85),
    ("auth_unknown", 86),
    ("filter_error", 87),
    ("user_canceled", 88),
    ("param_error", 89),
    ("no_memory", 90),
    ("connect_error", 91),
    ("not_supported", 92),
    ("control_not_found", 93),
    ("no_results_returned", 94),
    ("more_results_to_return", 95),
    ("client_loop", 96),
    ("referral_limit_exceeded", 97),
    ("invalid_response", 100),
    ("ambiguous_response", 101),
    ("tls_not_supported", 112),
    ("intermediate_response", 113),
    ("unknown_type", 114),
    ("canceled", 118),
    ("no_such_operation", 119),
    ("too_late", 120),
    ("cannot_cancel", 121),
    ("assertion_failed", 122),
    ("authorization_denied", 123),
    ("e_sync_refresh_required", 4096),
    ("no_operation", 16654),
];

/// The name of a message's operation.
pub(crate) fn op_name(op: &ProtocolOp<'_>) -> &'static str {
    let tag = u64::from(op.tag().0);
    OPERATIONS.iter().find(|(_, n)| *n == tag).map_or("unknown", |(s, _)| s)
}

fn hex(j: &mut Json<'_>, k: &str, v: &[u8]) {
    let mut s = String::with_capacity(v.len() * 2);
    for b in v {
        let _ = write!(s, "{b:02x}");
    }
    j.str(k, &s);
}

fn result(j: &mut Json<'_>, r: &LdapResult<'_>) {
    let code = u64::from(r.result_code.0);
    match RESULT_CODES.iter().find(|(_, n)| *n == code) {
        Some((name, _)) => j.str("result_code", name),
        None => j.str("result_code", &format!("unknown-{code}")),
    };
    j.str("matched_dn", &r.matched_dn.0);
    j.str("message", &r.diagnostic_message.0);
}

fn controls(j: &mut Json<'_>, c: &Option<Vec<Control<'_>>>) {
    let Some(c) = c else { return };
    obj_array(j, "controls", c, |o, ctl| {
        o.str("control_type", &ctl.control_type.0);
        o.bool("criticality", ctl.criticality);
        if let Some(v) = &ctl.control_value {
            hex(o, "control_value", v);
        }
    });
}

fn attrs(j: &mut Json<'_>, k: &str, name: &str, a: &[PartialAttribute<'_>]) {
    if a.is_empty() {
        return;
    }
    obj_array(j, k, a, |o, at| {
        o.str(name, &at.attr_type.0);
        if !at.attr_vals.is_empty() {
            str_array(o, "values", at.attr_vals.iter().map(|v| v.0.as_ref()));
        }
    });
}

fn request_op(j: &mut Json<'_>, op: &ProtocolOp<'_>) {
    match op {
        ProtocolOp::SearchRequest(m) => {
            let mut o = j.begin("search_request");
            o.str("base_object", &m.base_object.0);
            o.u64("scope", u64::from(m.scope.0));
            o.u64("deref_alias", u64::from(m.deref_aliases.0));
            o.u64("size_limit", u64::from(m.size_limit));
            o.u64("time_limit", u64::from(m.time_limit));
            o.bool("types_only", m.types_only);
            if let Filter::Present(v) = &m.filter {
                let mut f = o.begin("filter");
                f.str("type", "present");
                f.str("value", &v.0);
                f.end();
            }
            if !m.attributes.is_empty() {
                str_array(&mut o, "attributes", m.attributes.iter().map(|a| a.0.as_bytes()));
            }
            o.end();
        }
        ProtocolOp::BindRequest(m) => {
            let mut o = j.begin("bind_request");
            o.u64("version", u64::from(m.version));
            o.str("name", &m.name.0);
            if let ldap_parser::ldap::AuthenticationChoice::Sasl(s) = &m.authentication {
                let mut a = o.begin("sasl");
                a.str("mechanism", &s.mechanism.0);
                if let Some(c) = &s.credentials {
                    hex(&mut a, "credentials", c);
                }
                a.end();
            }
            o.end();
        }
        ProtocolOp::ModifyRequest(m) => {
            let mut o = j.begin("modify_request");
            o.str("object", &m.object.0);
            if !m.changes.is_empty() {
                obj_array(&mut o, "changes", &m.changes, |c, ch| {
                    let op = match ch.operation.0 {
                        0 => "add".to_string(),
                        1 => "delete".to_string(),
                        2 => "replace".to_string(),
                        n => n.to_string(),
                    };
                    c.str("operation", &op);
                    let mut md = c.begin("modification");
                    md.str("attribute_type", &ch.modification.attr_type.0);
                    let vals = &ch.modification.attr_vals;
                    if !vals.is_empty() {
                        str_array(&mut md, "attribute_values", vals.iter().map(|v| v.0.as_ref()));
                    }
                    md.end();
                });
            }
            o.end();
        }
        ProtocolOp::AddRequest(m) => {
            let mut o = j.begin("add_request");
            o.str("entry", &m.entry.0);
            if !m.attributes.is_empty() {
                obj_array(&mut o, "attributes", &m.attributes, |a, at| {
                    a.str("name", &at.attr_type.0);
                    if !at.attr_vals.is_empty() {
                        str_array(a, "values", at.attr_vals.iter().map(|v| v.0.as_ref()));
                    }
                });
            }
            o.end();
        }
        ProtocolOp::DelRequest(dn) => {
            let mut o = j.begin("del_request");
            o.str("dn", &dn.0);
            o.end();
        }
        ProtocolOp::ModDnRequest(m) => {
            let mut o = j.begin("mod_dn_request");
            o.str("entry", &m.entry.0);
            o.str("new_rdn", &m.newrdn.0);
            o.bool("delete_old_rdn", m.deleteoldrdn);
            if let Some(s) = &m.newsuperior {
                o.str("new_superior", &s.0);
            }
            o.end();
        }
        ProtocolOp::CompareRequest(m) => {
            let mut o = j.begin("compare_request");
            o.str("entry", &m.entry.0);
            let mut a = o.begin("attribute_value_assertion");
            a.str("description", &m.ava.attribute_desc.0);
            a.bytes("value", &m.ava.assertion_value);
            a.end();
            o.end();
        }
        ProtocolOp::ExtendedRequest(m) => {
            let mut o = j.begin("extended_request");
            o.str("name", &m.request_name.0);
            if let Some(v) = &m.request_value {
                o.bytes("value", v);
            }
            o.end();
        }
        _ => {}
    }
}

fn response_op(j: &mut Json<'_>, op: &ProtocolOp<'_>) {
    let with_result = |j: &mut Json<'_>, k: &str, r: &LdapResult<'_>| {
        let mut o = j.begin(k);
        result(&mut o, r);
        o.end();
    };
    match op {
        ProtocolOp::SearchResultEntry(m) => {
            let mut o = j.begin("search_result_entry");
            o.str("base_object", &m.object_name.0);
            attrs(&mut o, "attributes", "type", &m.attributes);
            o.end();
        }
        ProtocolOp::SearchResultDone(r) => with_result(j, "search_result_done", r),
        ProtocolOp::BindResponse(m) => {
            let mut o = j.begin("bind_response");
            result(&mut o, &m.result);
            if let Some(c) = &m.server_sasl_creds {
                hex(&mut o, "server_sasl_creds", c);
            }
            o.end();
        }
        ProtocolOp::ModifyResponse(m) => with_result(j, "modify_response", &m.result),
        ProtocolOp::AddResponse(r) => with_result(j, "add_response", r),
        ProtocolOp::DelResponse(r) => with_result(j, "del_response", r),
        ProtocolOp::ModDnResponse(r) => with_result(j, "mod_dn_response", r),
        ProtocolOp::CompareResponse(r) => with_result(j, "compare_response", r),
        ProtocolOp::ExtendedResponse(m) => {
            let mut o = j.begin("extended_response");
            result(&mut o, &m.result);
            if let Some(n) = &m.response_name {
                o.str("name", &n.0);
            }
            if let Some(v) = &m.response_value {
                o.bytes("value", v);
            }
            o.end();
        }
        ProtocolOp::IntermediateResponse(m) => {
            let mut o = j.begin("intermediate_response");
            if let Some(n) = &m.response_name {
                o.str("name", &n.0);
            }
            if let Some(v) = &m.response_value {
                o.bytes("value", v);
            }
            o.end();
        }
        _ => {}
    }
}

fn response(o: &mut Json<'_>, m: &LdapMessage<'_>, with_id: bool) {
    o.str("operation", op_name(&m.protocol_op));
    if with_id {
        o.u64("message_id", u64::from(m.message_id.0));
    }
    response_op(o, &m.protocol_op);
    controls(o, &m.controls);
}

impl LdapTx {
    /// Writes the `ldap` object.
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let mut l = j.begin("ldap");
        if let Some(req) = &self.request {
            let mut o = l.begin("request");
            o.u64("message_id", u64::from(req.message_id.0));
            o.str("operation", op_name(&req.protocol_op));
            request_op(&mut o, &req.protocol_op);
            controls(&mut o, &req.controls);
            o.end();
        }
        if !self.responses.is_empty() {
            let with_id = self.request.is_none();
            obj_array(&mut l, "responses", &self.responses, |o, m| response(o, m, with_id));
        }
        l.end();
    }
}
