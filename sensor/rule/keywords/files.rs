//! File keywords that are contents on the file's name, as Suricata sets them up: `filename`
//! (a case-insensitive content on `file.name`) and `fileext` (`.ext` at the end of the name,
//! case-insensitively). Each file of a transaction is one instance of `file.name`, so all
//! the name keywords of a rule hold on the same file. `filesize` is a value keyword the
//! protocols carrying files provide (`crate::app::files`).

use super::{suricata_doc, Arg, Keyword, Kind};
use crate::rule::ast::{Content, FastPattern, PayloadMatch};
use crate::rule::parse::{bad, quoted_value, Builder, Env, PResult};

/// `filename`, `fileext`.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule(
        "filename",
        Kind::Payload,
        Arg::Required,
        filename,
        "the name of a transferred file contains this (case-insensitive; `!` negates)",
        suricata_doc!("file-keywords.html#filename"),
    ),
    Keyword::rule(
        "fileext",
        Kind::Payload,
        Arg::Required,
        fileext,
        "the name of a transferred file ends with this extension (case-insensitive; `!` negates)",
        suricata_doc!("file-keywords.html#fileext"),
    ),
];

fn filename(b: &mut Builder, env: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    name_content(b, env, kw, v.unwrap_or(""), false)
}

fn fileext(b: &mut Builder, env: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    name_content(b, env, kw, v.unwrap_or(""), true)
}

/// A content on `file.name` (`ext`: `.value` at the end), case-insensitive.
fn name_content(b: &mut Builder, env: &Env<'_>, kw: &'static str, v: &str, ext: bool) -> PResult<()> {
    let (negated, inner) = quoted_value(kw, v, true, true)?;
    let mut pattern = super::content::parse_content(kw, inner)?;
    if pattern.is_empty() {
        return Err(bad(kw, "needs a value"));
    }
    if ext {
        pattern.insert(0, b'.');
    }
    let c = Content {
        pattern,
        negated,
        nocase: true,
        offset: None,
        depth: None,
        distance: None,
        within: None,
        startswith: false,
        endswith: ext,
        rawbytes: false,
        fast_pattern: FastPattern::No,
    };
    let li = b.buffer_list(env.keywords, kw, "file.name")?;
    b.push(li, PayloadMatch::Content(c));
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::rule::parse::testing::*;

    #[test]
    fn filename_and_fileext_are_contents_on_the_file_name() {
        let r = ok(r#"filename:"R.PDF"; fileext:!"doc";"#);
        let l = list(&r, "file.name");
        let c = contents(l);
        assert_eq!(c.len(), 2, "one list: both hold on the same file");
        assert!(c[0].nocase && !c[0].negated && !c[0].endswith);
        assert_eq!(c[0].pattern, b"R.PDF".to_vec());
        assert_eq!(c[1].pattern, b".doc".to_vec());
        assert!(c[1].nocase && c[1].negated && c[1].endswith);
        // what follows is not on the file name
        let r = ok(r#"filename:"a"; content:"x";"#);
        assert_eq!(contents(list(&r, "payload")).len(), 1);
        bad_value(r#"filename:"";"#, "filename");
    }
}
