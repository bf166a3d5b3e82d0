//! Buffers: the sticky buffers of the rule language itself (packet headers, decoded base64),
//! `pkt_data`, the legacy content modifiers (`http_uri`, ...) that move the previous content
//! to a buffer named here by its canonical name, the transforms of a sticky buffer, and the
//! keywords on a buffer's size (`bsize`, `urilen`). App-layer sticky buffers are rows the app
//! layer contributes ([`super::AppKeyword`]); their setup is [`Builder::sticky`] too.

use super::{suricata_doc, Arg, Keyword, Keywords, Kind};
use crate::rule::ast::{Base64Mode, Buffer, Direction, FromBase64, PayloadMatch, Transform, XorKey, XorKeySource};
use crate::rule::parse::numbers::{parse_hex_string, parse_uint_cmp};
use crate::rule::parse::{bad, buffer_name, quoted_value, shorten, unquote, Builder, Env, PResult, WorkList};

use Arg::{None as N, Optional as O, Required as R};

/// Most transforms on one buffer (`DETECT_TRANSFORMS_MAX`).
const MAX_TRANSFORMS: usize = 16;

/// Sticky buffers, `pkt_data`, legacy modifiers, transforms, `bsize` and `urilen`.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule(
        "frame",
        Kind::Sticky,
        R,
        frame,
        "sticky buffer: an app-layer frame of the rule's protocol (`frame:smb2.pdu`, `frame:sip.pdu`, `frame:pdu`)",
        suricata_doc!("frame-keywords.html"),
    ),
    Keyword::rule(
        "pkt_data",
        Kind::ResetBuffer,
        N,
        pkt_data,
        "following payload keywords inspect the packet payload again",
        suricata_doc!("intro.html#modifier-keywords"),
    ),
    Keyword::rule(
        "bsize",
        Kind::Payload,
        R,
        bsize,
        "the size of the current sticky buffer, compared with a number or a range",
        suricata_doc!("payload-keywords.html#bsize"),
    ),
    Keyword::rule(
        "urilen",
        Kind::Payload,
        R,
        urilen,
        "the length of the HTTP request URI (norm or raw), compared with a number or a range",
        suricata_doc!("http-keywords.html#urilen"),
    ),
    // legacy content modifiers
    Keyword::legacy(
        "http_uri",
        "http.uri",
        "legacy modifier: the previous content is in the normalized HTTP request URI",
        suricata_doc!("http-keywords.html#http-uri"),
    ),
    Keyword::legacy(
        "http_raw_uri",
        "http.uri.raw",
        "legacy modifier: the previous content is in the raw HTTP request URI",
        suricata_doc!("http-keywords.html#http-uri-raw"),
    ),
    Keyword::legacy(
        "http_method",
        "http.method",
        "legacy modifier: the previous content is in the HTTP request method",
        suricata_doc!("http-keywords.html#http-method"),
    ),
    Keyword::legacy(
        "http_header",
        "http.header",
        "legacy modifier: the previous content is in the normalized HTTP headers",
        suricata_doc!("http-keywords.html#http-header"),
    ),
    Keyword::legacy(
        "http_raw_header",
        "http.header.raw",
        "legacy modifier: the previous content is in the raw HTTP headers",
        suricata_doc!("http-keywords.html#http-header-raw"),
    ),
    Keyword::legacy(
        "http_cookie",
        "http.cookie",
        "legacy modifier: the previous content is in the HTTP Cookie header",
        suricata_doc!("http-keywords.html#http-cookie"),
    ),
    Keyword::legacy(
        "http_user_agent",
        "http.user_agent",
        "legacy modifier: the previous content is in the HTTP User-Agent header",
        suricata_doc!("http-keywords.html#http-user-agent"),
    ),
    Keyword::legacy(
        "http_host",
        "http.host",
        "legacy modifier: the previous content is in the normalized (lowercase) HTTP host",
        suricata_doc!("http-keywords.html#http-host"),
    ),
    Keyword::legacy(
        "http_raw_host",
        "http.host.raw",
        "legacy modifier: the previous content is in the HTTP host as sent",
        suricata_doc!("http-keywords.html#http-host-raw"),
    ),
    Keyword::legacy(
        "http_client_body",
        "http.request_body",
        "legacy modifier: the previous content is in the HTTP request body",
        suricata_doc!("http-keywords.html#http-request-body"),
    ),
    Keyword::legacy(
        "http_server_body",
        "http.response_body",
        "legacy modifier: the previous content is in the HTTP response body",
        suricata_doc!("http-keywords.html#http-response-body"),
    ),
    Keyword::legacy(
        "http_stat_code",
        "http.stat_code",
        "legacy modifier: the previous content is in the HTTP response status code",
        suricata_doc!("http-keywords.html#http-stat-code"),
    ),
    Keyword::legacy(
        "http_stat_msg",
        "http.stat_msg",
        "legacy modifier: the previous content is in the HTTP response status message",
        suricata_doc!("http-keywords.html#http-stat-msg"),
    ),
    // transforms
    Keyword::rule(
        "dotprefix",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::DotPrefix)),
        "transform: prefix the buffer with a dot (domain matching)",
        suricata_doc!("transforms.html#dotprefix"),
    ),
    Keyword::rule(
        "strip_whitespace",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::StripWhitespace)),
        "transform: remove all white space",
        suricata_doc!("transforms.html#strip-whitespace"),
    ),
    Keyword::rule(
        "compress_whitespace",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::CompressWhitespace)),
        "transform: each run of white space becomes one space",
        suricata_doc!("transforms.html#compress-whitespace"),
    ),
    Keyword::rule(
        "to_lowercase",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::ToLowercase)),
        "transform: ASCII letters to lowercase",
        suricata_doc!("transforms.html#to-lowercase"),
    ),
    Keyword::rule(
        "to_uppercase",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::ToUppercase)),
        "transform: ASCII letters to uppercase",
        suricata_doc!("transforms.html#to-uppercase"),
    ),
    Keyword::rule(
        "url_decode",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::UrlDecode)),
        "transform: decode %XX escapes and + as space",
        suricata_doc!("transforms.html#url-decode"),
    ),
    Keyword::rule(
        "to_md5",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::ToMd5)),
        "transform: the buffer's MD5 digest (16 bytes)",
        suricata_doc!("transforms.html#to-md5"),
    ),
    Keyword::rule(
        "to_sha1",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::ToSha1)),
        "transform: the buffer's SHA-1 digest (20 bytes)",
        suricata_doc!("transforms.html#to-sha1"),
    ),
    Keyword::rule(
        "to_sha256",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::ToSha256)),
        "transform: the buffer's SHA-256 digest (32 bytes)",
        suricata_doc!("transforms.html#to-sha256"),
    ),
    Keyword::rule(
        "domain",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::Domain)),
        "transform: the registrable domain of the name (Public Suffix List), empty when it has none",
        suricata_doc!("transforms.html#domain"),
    ),
    Keyword::rule(
        "tld",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::Tld)),
        "transform: the public suffix of the name's registrable domain, empty when it has none",
        suricata_doc!("transforms.html#tld"),
    ),
    Keyword::rule(
        "header_lowercase",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::HeaderLowercase)),
        "transform: header names to lowercase, values untouched",
        suricata_doc!("transforms.html#header-lowercase"),
    ),
    Keyword::rule(
        "strip_pseudo_headers",
        Kind::Transform,
        N,
        |b, _, kw, _| b.transform(kw, || Ok(Transform::StripPseudoHeaders)),
        "transform: remove HTTP/2 pseudo headers (:method, :path, ...)",
        suricata_doc!("transforms.html#strip-pseudo-headers"),
    ),
    Keyword::rule(
        "xor",
        Kind::Transform,
        R,
        xor,
        "transform: XOR the buffer with a repeating hex key",
        suricata_doc!("transforms.html#xor"),
    ),
    Keyword::rule(
        "pcrexform",
        Kind::Transform,
        R,
        pcrexform,
        "transform: the buffer becomes the first capture of a regular expression",
        suricata_doc!("transforms.html#pcrexform"),
    ),
    Keyword::rule(
        "from_base64",
        Kind::Transform,
        O,
        |b, _, kw, v| b.transform(kw, || parse_from_base64(unquote(v.unwrap_or(""))).map_err(|why| bad(kw, why))),
        "transform: base64-decode the buffer (offset, bytes and mode options)",
        suricata_doc!("transforms.html#from-base64"),
    ),
];

/// `frame:<name>`: the frame's bytes become the current buffer. The name is checked against
/// the protocols' frame rows when the rule is compiled (the rule language knows no protocol).
fn frame(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let name = unquote(v.unwrap_or("")).trim();
    if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-') {
        return Err(bad(kw, format!("invalid frame name '{}'", shorten(name))));
    }
    b.check_previous_sticky(kw, name)?;
    b.select(kw, Buffer::Frame(name.to_ascii_lowercase()), false)
}

fn pkt_data(b: &mut Builder, _: &Env<'_>, kw: &'static str, _: Option<&str>) -> PResult<()> {
    if let Some(l) = b.cur.and_then(|i| b.lists.get(i)) {
        if !l.transforms.is_empty() && l.items.is_empty() {
            return Err(bad(kw, "no matches following the transform(s)"));
        }
    }
    b.cur = None;
    Ok(())
}

fn xor(b: &mut Builder, _: &Env<'_>, kw: &'static str, value: Option<&str>) -> PResult<()> {
    b.transform(kw, || parse_xor(value.unwrap_or("")).map(Transform::Xor).map_err(|why| bad(kw, why)))
}

/// `xor` (Suricata's `xor_parse_options`): `<hex key>`, `extract <nbytes> <offset>` (the key
/// is read from the buffer), either after `offset <N>,` (decoding starts there). Quotes are
/// optional.
fn parse_xor(v: &str) -> Result<XorKey, String> {
    let v = v.trim();
    if v.is_empty() {
        return Err("empty argument".into());
    }
    let (offset, key) = match keyword_rest(v, "offset") {
        Some(rest) => {
            let (o, k) = rest.split_once(',').ok_or("'offset' needs the form 'offset <N>,<key>'")?;
            let o: u32 = o.trim().parse().map_err(|_| format!("invalid offset '{}'", shorten(o.trim())))?;
            (o, k.trim())
        }
        None => (0, v),
    };
    let key = match keyword_rest(key, "extract") {
        Some(rest) => {
            let mut it = rest.split_ascii_whitespace();
            let (Some(n), Some(o), None) = (it.next(), it.next(), it.next()) else {
                return Err("'extract' needs the form 'extract <nbytes> <offset>'".into());
            };
            match (n.parse::<u8>(), o.parse::<u16>()) {
                (Ok(nbytes), Ok(offset)) if nbytes > 0 => XorKeySource::Extract { nbytes, offset },
                _ => return Err("'extract' needs the form 'extract <nbytes> <offset>'".into()),
            }
        }
        None => {
            let hex = unquote(key);
            if hex.is_empty() {
                return Err("missing hex key".into());
            }
            match parse_hex_string(hex) {
                Some(k) if !k.is_empty() && k.len() <= 255 => XorKeySource::Static(k),
                _ => return Err(format!("'{}' is not a valid hex key", shorten(hex))),
            }
        }
    };
    Ok(XorKey { offset, key })
}

/// The rest of `s` after the word `word` and white space, when `s` starts with them.
fn keyword_rest<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    s.strip_prefix(word).filter(|r| r.starts_with(|c: char| c.is_ascii_whitespace())).map(str::trim_start)
}

/// `from_base64:[bytes N][, offset N][, mode rfc4648|rfc2045|strict]` (each at most once).
fn parse_from_base64(v: &str) -> Result<Transform, String> {
    let mut fb = FromBase64::default();
    let v = v.trim();
    if v.is_empty() {
        return Ok(Transform::FromBase64(fb));
    }
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    if parts.len() > 3 {
        return Err("at most 3 options (bytes, offset, mode)".into());
    }
    let mut seen = [false; 3];
    for p in parts {
        let (name, val) = p.split_once(char::is_whitespace).map_or((p, ""), |(n, v)| (n, v.trim()));
        let slot = match name {
            "bytes" => 0,
            "offset" => 1,
            "mode" => 2,
            _ => return Err(format!("unknown option '{}'", shorten(name))),
        };
        if std::mem::replace(&mut seen[slot], true) {
            return Err(format!("{name} given twice"));
        }
        let num = || match val.parse::<u32>() {
            Ok(n) if n <= u32::from(u16::MAX) => Ok(n),
            _ => Err(format!("invalid {name} '{}' (0 to 65535)", shorten(val))),
        };
        match slot {
            0 => fb.bytes = num()?,
            1 => fb.offset = num()?,
            _ => {
                fb.mode = match val {
                    "rfc4648" => Base64Mode::Rfc4648,
                    "rfc2045" => Base64Mode::Rfc2045,
                    "strict" => Base64Mode::Strict,
                    _ => return Err(format!("invalid mode '{}' (rfc4648, rfc2045 or strict)", shorten(val))),
                }
            }
        }
    }
    Ok(Transform::FromBase64(fb))
}

fn pcrexform(b: &mut Builder, _: &Env<'_>, kw: &'static str, value: Option<&str>) -> PResult<()> {
    b.transform(kw, || {
        let (_, expr) = quoted_value(kw, value.unwrap_or(""), false, true)?;
        if let Err(e) = pcre2::bytes::RegexBuilder::new().build(expr) {
            return Err(bad(kw, format!("invalid regular expression: {e}")));
        }
        Ok(Transform::PcreXform(expr.to_string()))
    })
}

fn bsize(b: &mut Builder, _: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let v = v.unwrap_or("");
    let Some(li) = b.cur else {
        return Err(bad(kw, "must follow a sticky buffer"));
    };
    let n = parse_uint_cmp(unquote(v), u64::MAX).ok_or_else(|| bad(kw, format!("invalid value '{}'", shorten(v))))?;
    if b.lists.get(li).is_some_and(|l| l.items.iter().any(|(_, m)| matches!(m, PayloadMatch::Bsize(_)))) {
        return Err(bad(kw, "can't use more than one bsize on a buffer"));
    }
    b.push(li, PayloadMatch::Bsize(n));
    Ok(())
}

fn urilen(b: &mut Builder, env: &Env<'_>, kw: &'static str, v: Option<&str>) -> PResult<()> {
    let v = unquote(v.unwrap_or(""));
    let (cmp, kind) = match v.split_once(',') {
        Some((c, k)) => (c, k.trim()),
        None => (v, "norm"),
    };
    let buffer = match kind {
        "norm" => "http.uri",
        "raw" => "http.uri.raw",
        _ => return Err(bad(kw, format!("'{}' is not norm or raw", shorten(kind)))),
    };
    let n =
        parse_uint_cmp(cmp, u64::from(u16::MAX)).ok_or_else(|| bad(kw, format!("invalid value '{}'", shorten(cmp))))?;
    let li = match b.cur {
        Some(li) if b.lists.get(li).is_some_and(|l| l.buffer == Buffer::Sticky(buffer.into())) => li,
        _ => b.buffer_list(env.keywords, kw, buffer)?,
    };
    b.push(li, PayloadMatch::Urilen(n));
    Ok(())
}

impl Builder {
    /// Selects sticky buffer `buffer` (canonical name; `kw` as written), of protocol `app`;
    /// `multi`: a new list for each selection. `value`: the side it is read from
    /// (`to_server` / `to_client`, Suricata's `DetectSetupDirection`), or nothing; the same
    /// buffer bound to another side is another list.
    pub(crate) fn sticky(
        &mut self,
        kw: &str,
        buffer: &str,
        multi: bool,
        app: Option<&str>,
        value: Option<&str>,
    ) -> PResult<()> {
        let direction = match value.map(str::trim) {
            None => None,
            Some("to_server") => Some(Direction::ToServer),
            Some("to_client") => Some(Direction::ToClient),
            Some(v) => return Err(bad(kw, format!("'{}': only to_server or to_client", shorten(v)))),
        };
        self.check_previous_sticky(kw, buffer)?;
        self.claim_app(kw, buffer, app)?;
        self.select_side(kw, Buffer::Sticky(buffer.to_string()), multi, direction)
    }

    /// Makes buffer `b` the current one (its list, created unless it exists and `multi` is
    /// false).
    pub(crate) fn select(&mut self, kw: &str, b: Buffer, multi: bool) -> PResult<()> {
        self.select_side(kw, b, multi, None)
    }

    fn select_side(&mut self, kw: &str, b: Buffer, multi: bool, direction: Option<Direction>) -> PResult<()> {
        if let Buffer::Packet(p) = &b {
            self.check_previous_sticky(kw, p.name)?;
        }
        if !multi {
            let same = |l: &WorkList| l.buffer == b && l.transforms.is_empty() && l.direction == direction;
            if let Some(i) = self.lists.iter().position(same) {
                self.cur = Some(i);
                return Ok(());
            }
        }
        self.lists.push(WorkList { buffer: b, transforms: Vec::new(), items: Vec::new(), direction });
        self.cur = Some(self.lists.len() - 1);
        Ok(())
    }

    /// A sticky buffer needs matches before another one is selected.
    fn check_previous_sticky(&self, kw: &str, buffer: &str) -> PResult<()> {
        let _ = buffer;
        if let Some(l) = self.cur.and_then(|i| self.lists.get(i)) {
            if l.items.is_empty() {
                let why = if l.transforms.is_empty() {
                    "has no matches"
                } else {
                    "has no matches following its transform(s)"
                };
                return Err(bad(kw, format!("the previous sticky buffer {} {why}", buffer_name(&l.buffer))));
            }
        }
        Ok(())
    }

    /// `http_uri` and the other legacy modifiers: the last content of the payload list moves,
    /// with its modifiers, to the buffer's list (Suricata's
    /// `DetectEngineContentModifierBufferSetup`).
    pub(crate) fn legacy(&mut self, kw: &str, buffer: &str, keywords: &Keywords) -> PResult<()> {
        if self.cur.is_some() {
            return Err(bad(kw, "seen with a sticky buffer still set; reset it with pkt_data first"));
        }
        let pl = self.payload_list();
        let Some(ii) =
            self.lists.get(pl).and_then(|l| l.items.iter().rposition(|(_, m)| matches!(m, PayloadMatch::Content(_))))
        else {
            return Err(bad(kw, "needs a preceding content"));
        };
        if matches!(self.lists.get(pl).and_then(|l| l.items.get(ii)), Some((_, PayloadMatch::Content(c))) if c.rawbytes)
        {
            return Err(bad(kw, "can't be used with rawbytes"));
        }
        let dest = self.buffer_list(keywords, kw, buffer)?;
        let Some(item) = self.lists.get_mut(pl).map(|l| l.items.remove(ii)) else {
            return Err(bad(kw, "needs a preceding content"));
        };
        if let Some(l) = self.lists.get_mut(dest) {
            l.items.push(item);
        }
        Ok(())
    }

    /// Adds the transform `make` gives to the current sticky buffer (a new list when the buffer
    /// already has matches).
    fn transform(&mut self, kw: &str, make: impl FnOnce() -> PResult<Transform>) -> PResult<()> {
        let Some(ci) = self.cur else {
            return Err(bad(kw, "transforms must directly follow a sticky buffer"));
        };
        let t = make()?;
        let Some(l) = self.lists.get(ci) else {
            return Err(bad(kw, "transforms must directly follow a sticky buffer"));
        };
        if l.transforms.len() >= MAX_TRANSFORMS {
            return Err(bad(kw, format!("no more than {MAX_TRANSFORMS} transforms are supported")));
        }
        if l.items.is_empty() {
            if let Some(l) = self.lists.get_mut(ci) {
                l.transforms.push(t);
            }
        } else {
            // Matches already there: the transformed buffer is a new list.
            let (buffer, direction) = (l.buffer.clone(), l.direction);
            self.lists.push(WorkList { buffer, transforms: vec![t], items: Vec::new(), direction });
            self.cur = Some(self.lists.len() - 1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::rule::ast::*;
    use crate::rule::parse::testing::*;

    #[test]
    fn frame_selects_a_frame_buffer_by_name() {
        let r = p(r#"alert smb any any -> any any (frame:SMB2.pdu; content:"|FE|SMB"; startswith; bsize:>4; sid:1;)"#)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.buffers.len(), 1);
        assert_eq!(r.buffers[0].buffer, Buffer::Frame("smb2.pdu".into()));
        assert_eq!(r.buffers[0].matches.len(), 2, "content and bsize on the frame");
        // transforms apply to the frame's list
        let r = ok(r#"frame:request; strip_whitespace; content:"GET/";"#);
        assert_eq!(r.buffers[0].transforms.len(), 1);
        bad_value("frame:a b; content:\"x\";", "frame");
        bad_value(r#"frame:pdu; frame:request.line; content:"x";"#, "frame");
    }

    #[test]
    fn a_sticky_buffer_may_name_its_side() {
        let r = ok(
            r#"http.connection: to_client; content:"a"; http.connection: to_server; content:"b"; http.connection:to_client; content:"c";"#,
        );
        let sides: Vec<(Option<Direction>, usize)> = r.buffers.iter().map(|b| (b.direction, b.matches.len())).collect();
        assert_eq!(sides, vec![(Some(Direction::ToClient), 2), (Some(Direction::ToServer), 1)]);
        let r = ok(r#"content:"a"; http_uri;"#);
        assert_eq!(r.buffers[0].direction, None);
        bad_value(r#"http.connection: both; content:"a";"#, "http.connection");
    }

    #[test]
    fn sticky_buffers_and_legacy_modifiers() {
        let r = ok(r#"http.uri; content:"/a"; nocase; http.host; content:"x.com"; pkt_data; content:"raw";"#);
        assert!(first_content(&r, "http.uri").nocase);
        assert_eq!(first_content(&r, "http.host").pattern, b"x.com".to_vec());
        assert_eq!(first_content(&r, "payload").pattern, b"raw".to_vec());
        // Legacy: the content moves with its modifiers; later modifiers still reach it.
        let r = ok(r#"content:"GET"; nocase; http_method; depth:3; content:"/x"; http_uri; content:"y"; http_uri;"#);
        let m = first_content(&r, "http.method");
        assert!(m.nocase && m.depth == Some(Num::Lit(3)));
        assert_eq!(contents(list(&r, "http.uri")).len(), 2);
        assert!(!r.buffers.iter().any(|l| l.buffer == Buffer::Payload));
        // Aliases and uricontent.
        let r = ok(r#"uricontent:"u"; file_data; content:"a";"#);
        bad_value(r#"file_data; content:"a"; uricontent:"u";"#, "uricontent");
        assert_eq!(contents(list(&r, "file.data")).len(), 1);
        assert_eq!(contents(list(&r, "http.uri")).len(), 1);
        // Non-multi buffers reuse their list, multi buffers start a new one.
        let r = ok(r#"http.uri; content:"a"; pkt_data; http.uri; content:"b";"#);
        assert_eq!(r.buffers.len(), 1);
        let r = p(r#"alert dns any any -> any any (dns.query; content:"a"; dns.query; content:"b"; sid:1;)"#).unwrap();
        assert_eq!(r.buffers.len(), 2);
        // Modifiers in a sticky buffer need a content there.
        bad_value(r#"content:"a"; http.uri; nocase;"#, "nocase");
        bad_value(r#"http.uri; content:"a"; http_header;"#, "http_header");
        bad_value("http_uri;", "http_uri");
        bad_value(r#"http.uri; http.host; content:"a";"#, "http.host");
        bad_value("http.uri;", "http.uri");
        bad_value(r#"content:"a"; rawbytes; http_uri;"#, "http_uri");
        // Conflicting protocols.
        assert!(p(r#"alert dns any any -> any any (http.uri; content:"a"; sid:1;)"#).is_err());
        bad_value(r#"http.uri; content:"a"; tls.sni; content:"b";"#, "tls.sni");
        assert!(p(r#"alert http2 any any -> any any (http.uri; content:"a"; sid:1;)"#).is_ok());
        // Buffer validation callbacks.
        bad_value(r#"http.host; content:"X.com";"#, "http.host");
        assert!(opts(r#"http.host; content:"X.com"; nocase;"#).is_ok());
        bad_value(r#"http.method; content:"GET ";"#, "http.method");
        bad_value(r#"ja3.hash; content:"abc";"#, "ja3.hash");
    }

    #[test]
    fn transforms() {
        let r = ok(r#"http.uri; to_lowercase; url_decode; content:"a"; xor:"0a0B"; content:"b";"#);
        assert_eq!(r.buffers.len(), 2);
        assert_eq!(r.buffers[0].transforms, vec![Transform::ToLowercase, Transform::UrlDecode]);
        let key = XorKey { offset: 0, key: XorKeySource::Static(vec![0x0a, 0x0b]) };
        assert_eq!(r.buffers[1].transforms, vec![Transform::Xor(key)]);
        let r = ok(r#"http.uri; xor:offset 1,extract 1 0; content:"a"; pkt_data; http.uri; xor:0d0A; content:"b";"#);
        let x = |offset, key| Transform::Xor(XorKey { offset, key });
        assert_eq!(r.buffers[0].transforms, vec![x(1, XorKeySource::Extract { nbytes: 1, offset: 0 })]);
        assert_eq!(r.buffers[1].transforms, vec![x(0, XorKeySource::Static(vec![0x0d, 0x0a]))]);
        bad_value(r#"http.uri; xor:offset x,0a; content:"a";"#, "xor");
        bad_value(r#"http.uri; xor:extract 0 1; content:"a";"#, "xor");
        let r = ok(r#"http.uri; from_base64:bytes 4, offset 2, mode strict; content:"a";"#);
        let fb = FromBase64 { bytes: 4, offset: 2, mode: Base64Mode::Strict };
        assert_eq!(r.buffers[0].transforms, vec![Transform::FromBase64(fb)]);
        bad_value(r#"http.uri; from_base64:mode nope; content:"a";"#, "from_base64");
        bad_value(r#"http.uri; from_base64:bytes 1, bytes 2; content:"a";"#, "from_base64");
        bad_value("to_lowercase;", "to_lowercase");
        bad_value(r#"http.uri; xor:"abc"; content:"a";"#, "xor");
        bad_value(r#"http.uri; to_md5; pkt_data; content:"a";"#, "pkt_data");
        bad_value(r#"http.uri; pcrexform:"(a"; content:"a";"#, "pcrexform");
    }

    #[test]
    fn bsize_urilen_dsize() {
        let r = ok(r#"http.uri; bsize:<=10; content:"a"; urilen:2<>9,raw; dsize:>5;"#);
        assert_eq!(list(&r, "http.uri").matches[0], PayloadMatch::Bsize(NumCmp::Le(10)));
        assert_eq!(list(&r, "http.uri.raw").matches[0], PayloadMatch::Urilen(NumCmp::Range(2, 9)));
        assert_eq!(r.packet, vec![PacketMatch::Dsize(NumCmp::Gt(5))]);
        let r = ok("urilen:5;");
        assert_eq!(list(&r, "http.uri").matches[0], PayloadMatch::Urilen(NumCmp::Eq(5)));
        bad_value("bsize:5;", "bsize");
        bad_value(r#"http.uri; content:"abcdef"; bsize:3;"#, "bsize");
        bad_value(r#"content:"abcdef"; dsize:<3;"#, "dsize");
        bad_value("dsize:1; dsize:2;", "dsize");
        bad_value("dsize:70000;", "dsize");
        bad_value("urilen:5,odd;", "urilen");
    }
}
