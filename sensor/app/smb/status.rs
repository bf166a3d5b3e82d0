//! NT status names by value, for EVE `smb.status`. The table is `ntstatus.txt` beside this
//! file (generated from the `ntstatus.h` of mingw-w64, the public list of [MS-ERREF] section
//! 2.3: keep it generated, do not edit), read once on first use.

use std::sync::OnceLock;

/// `ntstatus.txt`: `# comment` lines, then one `hexvalue NAME` per line, sorted by value.
const TABLE: &str = include_str!("ntstatus.txt");

/// (value, name), sorted by value; lines that do not parse are left out (a unit test checks
/// none does).
fn table() -> &'static [(u32, &'static str)] {
    static PARSED: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (v, n) = l.split_once(' ')?;
                Some((u32::from_str_radix(v, 16).ok()?, n))
            })
            .collect()
    })
}

/// The name of an NT status, if known.
pub(super) fn nt_status_name(v: u32) -> Option<&'static str> {
    let t = table();
    t.binary_search_by_key(&v, |&(k, _)| k).ok().and_then(|i| t.get(i)).map(|&(_, n)| n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorted_complete_and_found() {
        let t = super::table();
        assert_eq!(t.len(), super::TABLE.lines().filter(|l| !l.starts_with('#')).count());
        assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(super::nt_status_name(0), Some("STATUS_SUCCESS"));
        assert_eq!(super::nt_status_name(0xc000_0016), Some("STATUS_MORE_PROCESSING_REQUIRED"));
        assert_eq!(super::nt_status_name(0xdead_beef), None);
    }
}
