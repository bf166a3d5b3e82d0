//! report: the input is an EVE file (lines of JSON, or anything). `picket report` must read it,
//! render the page and both indicator exports without a panic, and whatever the records hold,
//! the page has exactly the one script of its own and valid UTF-8; the STIX export is JSON.
//! A small table ceiling (3) makes the inputs exercise the dropping of entries.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (html, csv, stix) = picket::report::render_all(data, 3).expect("a page for any input");
    let html = String::from_utf8(html).expect("the page is UTF-8");
    assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
    assert!(html.trim_end().ends_with("</html>"));
    assert!(csv.starts_with(b"kind,value,"));
    let _: serde_json::Value = serde_json::from_slice(&stix).expect("the STIX bundle is JSON");
});
