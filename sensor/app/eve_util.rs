//! Small pieces of EVE that several protocols write: arrays of strings and the `files` array
//! of an alert or record (Suricata's `EveFileInfo`).

use super::files::File;
use crate::output::eve::{escape_into, Json};

/// `"key":["a","b",...]` from byte strings (escaped as EVE escapes them); nothing when empty.
pub(super) fn str_array<'a>(o: &mut Json<'_>, key: &str, items: impl IntoIterator<Item = &'a [u8]>) {
    let mut arr = Vec::new();
    arr.push(b'[');
    let mut n = 0;
    for it in items {
        if n > 0 {
            arr.push(b',');
        }
        escape_into(&mut arr, it);
        n += 1;
    }
    arr.push(b']');
    if n > 0 {
        o.raw(key, &arr);
    }
}

/// One file as Suricata's `EveFileInfo` writes it (without `sid`, `magic` and `file_id`).
pub(super) fn file_info(o: &mut Json<'_>, f: &File, tx_id: u64) {
    o.bytes("filename", &f.name);
    o.bool("gaps", f.gaps);
    o.str("state", f.state.name());
    f.write_hashes(o);
    o.bool("stored", f.stored);
    o.u64("size", f.size);
    o.u64("tx_id", tx_id);
}

/// The `files` array of an alert on a transaction carrying `files` (Suricata's
/// `AlertAddFiles`); nothing when there are none.
pub(super) fn files_array(o: &mut Json<'_>, files: &[File], tx_id: u64) {
    if files.is_empty() {
        return;
    }
    let mut arr = vec![b'['];
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            arr.push(b',');
        }
        let mut e = Json::object(&mut arr);
        file_info(&mut e, f, tx_id);
        e.end();
    }
    arr.push(b']');
    o.raw("files", &arr);
}
