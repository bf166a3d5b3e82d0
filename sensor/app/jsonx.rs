//! Small EVE helpers the protocols share: arrays of strings and of objects, written with the
//! output's escaping.

use crate::output::eve::{escape_into, Json};

/// `"k":["a","b",...]` from byte strings (escaped as EVE escapes them).
pub(crate) fn str_array<'a>(j: &mut Json<'_>, k: &str, items: impl IntoIterator<Item = &'a [u8]>) {
    let mut arr = Vec::with_capacity(64);
    arr.push(b'[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            arr.push(b',');
        }
        escape_into(&mut arr, s);
    }
    arr.push(b']');
    j.raw(k, &arr);
}

/// `"k":[{...},{...}]`: `write` fills each object.
pub(crate) fn obj_array<T>(j: &mut Json<'_>, k: &str, items: &[T], write: impl Fn(&mut Json<'_>, &T)) {
    let mut arr = Vec::with_capacity(64 * items.len().max(1));
    arr.push(b'[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            arr.push(b',');
        }
        let mut o = Json::object(&mut arr);
        write(&mut o, x);
        o.end();
    }
    arr.push(b']');
    j.raw(k, &arr);
}
