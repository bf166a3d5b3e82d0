//! The `pop3` EVE object, as Suricata's `rust/src/pop3/logger.rs` writes it: the command
//! (keyword as sent when unknown, arguments) and the response (status, first line, the lines
//! of a multi-line answer).

use super::Pop3Tx;
use crate::output::eve::Json;

impl Pop3Tx {
    /// Writes `"pop3":{...}`.
    pub fn write_eve(&self, j: &mut Json<'_>) {
        let mut o = j.begin("pop3");
        if let Some(req) = &self.request {
            let mut r = o.begin("request");
            r.str("command", &req.keyword.to_string());
            r.str_array("args", req.args.iter().map(Vec::as_slice));
            r.end();
        }
        if let Some(resp) = &self.response {
            let mut r = o.begin("response");
            r.bool("success", resp.status == sawp_pop3::Status::OK);
            r.str("status", resp.status.to_str());
            r.bytes("header", &resp.header);
            r.str_array("data", resp.data.iter().map(Vec::as_slice));
            r.end();
        }
        o.end();
    }
}
