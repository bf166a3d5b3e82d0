//! The byte keywords (`byte_test`, `byte_jump`, `byte_extract`, `byte_math`) and `isdataat`,
//! as Suricata's `detect-byte*.c` and `detect-isdataat.c` read them. `byte_extract` and
//! `byte_math` name variables that later keywords of the rule may use as values.

use super::{suricata_doc, Arg, Keyword, Kind};
use crate::rule::ast::*;
use crate::rule::parse::numbers::{parse_hex_u32, parse_i64_base0, parse_u16, parse_u64_base0};
use crate::rule::parse::{bad, shorten, unquote, Builder, PResult, Place};

use Arg::Required as R;
use Kind::Payload;

/// The byte keywords and `isdataat`.
pub(crate) const ROWS: &[Keyword] = &[
    Keyword::rule(
        "byte_test",
        Payload,
        R,
        |b, _, kw, v| b.byte_test(kw, v.unwrap_or("")),
        "reads a number from the buffer and compares it with a value",
        suricata_doc!("payload-keywords.html#byte-test"),
    ),
    Keyword::rule(
        "byte_jump",
        Payload,
        R,
        |b, _, kw, v| b.byte_jump(kw, v.unwrap_or("")),
        "reads a number from the buffer and moves the inspection point by it",
        suricata_doc!("payload-keywords.html#byte-jump"),
    ),
    Keyword::rule(
        "byte_extract",
        Payload,
        R,
        |b, _, kw, v| b.byte_extract(kw, v.unwrap_or("")),
        "reads a number from the buffer into a variable later keywords can use",
        suricata_doc!("payload-keywords.html#byte-extract"),
    ),
    Keyword::rule(
        "byte_math",
        Payload,
        R,
        |b, _, kw, v| b.byte_math(kw, v.unwrap_or("")),
        "reads a number from the buffer, computes with it and stores the result in a variable",
        suricata_doc!("payload-keywords.html#byte-math"),
    ),
    Keyword::rule(
        "isdataat",
        Payload,
        R,
        |b, _, kw, v| b.isdataat(kw, v.unwrap_or("")),
        "the buffer has data at a position (absolute or after the previous match), ! for none",
        suricata_doc!("payload-keywords.html#isdataat"),
    ),
];

impl Builder {
    fn byte_test(&mut self, kw: &str, v: &str) -> PResult<()> {
        let args: Vec<&str> = unquote(v).split(',').map(str::trim).collect();
        let [nb, op, value, offset, rest @ ..] = args.as_slice() else {
            return Err(bad(kw, "needs at least: bytes, operator, value, offset"));
        };
        let (nbytes, nbytes_var) = self.nbytes(kw, nb)?;
        let (negated, op) = match op.strip_prefix('!') {
            Some(o) => (true, o.trim()),
            None => (false, *op),
        };
        let op = match op {
            "=" => ByteOp::Eq,
            "" if negated => ByteOp::Eq,
            "<" => ByteOp::Lt,
            ">" => ByteOp::Gt,
            "<=" => ByteOp::Le,
            ">=" => ByteOp::Ge,
            "&" => ByteOp::And,
            "^" => ByteOp::Xor,
            o => return Err(bad(kw, format!("invalid operator '{}'", shorten(o)))),
        };
        let value = self.num_or_var(kw, value, |s| parse_u64_base0(s).and_then(|n| i64::try_from(n).ok()))?;
        let offset = self.num_or_var(kw, offset, |s| parse_i64_base0(s).filter(|n| i32::try_from(*n).is_ok()))?;
        let mut t = ByteTest {
            nbytes,
            nbytes_var,
            negated,
            op,
            value,
            offset,
            relative: false,
            endian: ByteEndian::Big,
            string: None,
            bitmask: None,
        };
        let o = byte_opts(kw, rest, &["relative", "string", "hex", "dec", "oct", "big", "little", "dce", "bitmask"])?;
        t.relative = o.relative;
        t.endian = o.endian;
        t.string = o.string;
        t.bitmask = o.bitmask;
        if nbytes_var.is_none() {
            check_nbytes(kw, nbytes, o.string.is_some())?;
        }
        let li = self.target_list(if t.relative { Place::PrevMatch } else { Place::Current });
        self.push(li, PayloadMatch::ByteTest(t));
        Ok(())
    }

    fn byte_jump(&mut self, kw: &str, v: &str) -> PResult<()> {
        let args: Vec<&str> = unquote(v).split(',').map(str::trim).collect();
        let [nb, offset, rest @ ..] = args.as_slice() else {
            return Err(bad(kw, "needs at least: bytes, offset"));
        };
        let (nbytes, nbytes_var) = self.nbytes(kw, nb)?;
        let offset = self.num_or_var(kw, offset, |s| parse_i64_base0(s).filter(|n| (-65535..=65535).contains(n)))?;
        let o = byte_opts(
            kw,
            rest,
            &[
                "relative",
                "string",
                "hex",
                "dec",
                "oct",
                "big",
                "little",
                "dce",
                "bitmask",
                "multiplier",
                "align",
                "from_beginning",
                "from_end",
                "post_offset",
            ],
        )?;
        if o.from_beginning && o.from_end {
            return Err(bad(kw, "from_beginning and from_end can't be used together"));
        }
        if nbytes_var.is_none() {
            check_nbytes(kw, nbytes, o.string.is_some())?;
        }
        let j = ByteJump {
            nbytes,
            nbytes_var,
            offset,
            relative: o.relative,
            multiplier: o.multiplier.unwrap_or(1),
            endian: o.endian,
            string: o.string,
            align: o.align.is_some(),
            from_beginning: o.from_beginning,
            from_end: o.from_end,
            post_offset: o.post_offset,
            bitmask: o.bitmask,
        };
        let li = self.target_list(if j.relative { Place::PrevMatch } else { Place::Current });
        self.push(li, PayloadMatch::ByteJump(j));
        Ok(())
    }

    fn byte_extract(&mut self, kw: &str, v: &str) -> PResult<()> {
        let args: Vec<&str> = unquote(v).split(',').map(str::trim).collect();
        if args.len() > 10 {
            return Err(bad(kw, "too many options"));
        }
        let [nb, offset, name, rest @ ..] = args.as_slice() else {
            return Err(bad(kw, "needs at least: bytes, offset, variable name"));
        };
        let nbytes: u8 = nb.parse().map_err(|_| bad(kw, format!("invalid number of bytes '{}'", shorten(nb))))?;
        let offset: i32 = offset.parse::<i32>().ok().filter(|o| i16::try_from(*o).is_ok()).ok_or_else(|| {
            bad(kw, format!("invalid offset '{}' (must be between -32768 and 32767)", shorten(offset)))
        })?;
        if name.is_empty() || name.parse::<u64>().is_ok() || name.contains(char::is_whitespace) {
            return Err(bad(kw, format!("invalid variable name '{}'", shorten(name))));
        }
        let o = byte_opts(
            kw,
            rest,
            &[
                "relative",
                "string",
                "hex",
                "dec",
                "oct",
                "big",
                "little",
                "dce",
                "bitmask",
                "multiplier",
                "align",
                "slice",
            ],
        )?;
        if o.string.is_some() && o.endian_set {
            return Err(bad(kw, "can't specify string and an endianness"));
        }
        if o.string.is_some() && o.slice {
            return Err(bad(kw, "string and slice are mutually exclusive"));
        }
        let max = match o.string {
            Some(StringBase::Oct) => 23,
            Some(StringBase::Dec) => 20,
            Some(StringBase::Hex) => 14,
            None => 8,
        };
        if nbytes == 0 || nbytes > max {
            return Err(bad(kw, format!("can extract 1 to {max} bytes here, not {nbytes}")));
        }
        let var = self.new_var(kw, name)?;
        let e = ByteExtract {
            nbytes,
            offset,
            var,
            relative: o.relative,
            multiplier: o.multiplier.unwrap_or(1),
            endian: o.endian,
            string: o.string,
            align: o.align.unwrap_or(0),
            bitmask: o.bitmask,
        };
        let li = self.target_list(if e.relative { Place::PrevMatch } else { Place::Current });
        self.push(li, PayloadMatch::ByteExtract(e));
        Ok(())
    }

    fn byte_math(&mut self, kw: &str, v: &str) -> PResult<()> {
        let parts: Vec<&str> = unquote(v).split(',').map(str::trim).collect();
        if parts.len() < 5 || parts.len() > 10 {
            return Err(bad(kw, "needs bytes, offset, oper, rvalue and result (and at most 5 options)"));
        }
        let (mut nbytes, mut offset, mut op, mut rvalue, mut result) = (None, None, None, None, None);
        let mut nbytes_var = None;
        let (mut relative, mut endian, mut string, mut bitmask) = (false, None, None, None);
        for p in &parts {
            let (name, val) = match p.split_once(char::is_whitespace) {
                Some((n, v)) => (n, v.trim()),
                None => (*p, ""),
            };
            let dup = || bad(kw, format!("'{name}' given twice"));
            match name {
                "bytes" => {
                    let n: u8 = if val.starts_with(|c: char| c.is_ascii_alphabetic()) {
                        // a variable: its value is checked per packet
                        nbytes_var = Some(self.var_slot(val).ok_or_else(|| {
                            bad(kw, format!("unknown byte_extract/byte_math variable '{}'", shorten(val)))
                        })?);
                        1
                    } else {
                        val.parse()
                            .ok()
                            .filter(|n| (1..=10).contains(n))
                            .ok_or_else(|| bad(kw, format!("invalid bytes '{}' (1 to 10)", shorten(val))))?
                    };
                    if nbytes.replace(n).is_some() {
                        return Err(dup());
                    }
                }
                "offset" => {
                    let o: i32 = val
                        .parse()
                        .ok()
                        .filter(|o| (-65535..=65535).contains(o))
                        .ok_or_else(|| bad(kw, format!("invalid offset '{}'", shorten(val))))?;
                    if offset.replace(o).is_some() {
                        return Err(dup());
                    }
                }
                "oper" => {
                    if op.replace(math_op(kw, val)?).is_some() {
                        return Err(dup());
                    }
                }
                "rvalue" => {
                    if rvalue.replace(self.math_rvalue(kw, val)?).is_some() {
                        return Err(dup());
                    }
                }
                "result" => {
                    if val.is_empty() {
                        return Err(bad(kw, "empty result name"));
                    }
                    if result.replace(val).is_some() {
                        return Err(dup());
                    }
                }
                "relative" => {
                    if std::mem::replace(&mut relative, true) {
                        return Err(dup());
                    }
                }
                "endian" | "dce" => {
                    if endian.replace(math_endian(kw, name, val)?).is_some() {
                        return Err(bad(kw, "endianness given twice"));
                    }
                }
                "string" => {
                    let b =
                        string_base(val).ok_or_else(|| bad(kw, format!("invalid string base '{}'", shorten(val))))?;
                    if string.replace(b).is_some() {
                        return Err(dup());
                    }
                }
                "bitmask" => {
                    let m = parse_hex_u32(val).ok_or_else(|| bad(kw, format!("invalid bitmask '{}'", shorten(val))))?;
                    if bitmask.replace(u64::from(m)).is_some() {
                        return Err(dup());
                    }
                }
                _ => return Err(bad(kw, format!("unknown option '{}'", shorten(name)))),
            }
        }
        let (Some(nbytes), Some(offset), Some(op), Some(rvalue), Some(result)) = (nbytes, offset, op, rvalue, result)
        else {
            return Err(bad(kw, "needs bytes, offset, oper, rvalue and result"));
        };
        if matches!(op, MathOp::Shl | MathOp::Shr) && nbytes > 4 {
            return Err(bad(kw, "bytes must be 1 to 4 with << or >>"));
        }
        let result = self.new_var(kw, result)?;
        let m = ByteMath {
            nbytes,
            nbytes_var,
            offset,
            op,
            rvalue,
            result,
            relative,
            endian: endian.unwrap_or_default(),
            string,
            bitmask,
        };
        let li = self.target_list(if relative { Place::PrevMatch } else { Place::Current });
        self.push(li, PayloadMatch::ByteMath(m));
        Ok(())
    }

    /// byte_math's `rvalue`: a number up to 2^32 - 1, or a variable.
    fn math_rvalue(&self, kw: &str, val: &str) -> PResult<Num> {
        Ok(match val.parse::<u64>() {
            Ok(n) => {
                Num::Lit(i64::from(u32::try_from(n).map_err(|_| bad(kw, format!("rvalue {n} is above {}", u32::MAX)))?))
            }
            Err(_) if !val.is_empty() => Num::Var(
                self.var_slot(val)
                    .ok_or_else(|| bad(kw, format!("unknown byte_extract/byte_math variable '{}'", shorten(val))))?,
            ),
            Err(_) => return Err(bad(kw, "empty rvalue")),
        })
    }

    fn isdataat(&mut self, kw: &str, v: &str) -> PResult<()> {
        let mut s = unquote(v).trim();
        let mut negated = false;
        if let Some(r) = s.strip_prefix('!') {
            negated = true;
            s = r.trim_start();
        }
        let mut parts = s.split(',').map(str::trim);
        let pos = parts.next().unwrap_or("");
        let offset = self.num_or_var(kw, pos, |t| parse_u16(t).map(i64::from))?;
        let mut relative = false;
        for p in parts {
            match p {
                "relative" => relative = true,
                "rawbytes" => {}
                _ => return Err(bad(kw, format!("unknown option '{}'", shorten(p)))),
            }
        }
        let li = self.target_list(if relative { Place::PrevMatch } else { Place::Current });
        self.push(li, PayloadMatch::IsDataAt(IsDataAt { negated, offset, relative }));
        Ok(())
    }

    /// Number of bytes of a byte_test / byte_jump (a variable there is not supported).
    /// The number of bytes to read: a number, or a byte_extract/byte_math variable (its slot;
    /// the value is checked per packet).
    fn nbytes(&self, kw: &str, s: &str) -> PResult<(u8, Option<u8>)> {
        if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let slot = self
                .var_slot(s)
                .ok_or_else(|| bad(kw, format!("unknown byte_extract/byte_math variable '{}'", shorten(s))))?;
            return Ok((1, Some(slot)));
        }
        let n = s.parse::<u8>().map_err(|_| bad(kw, format!("invalid number of bytes '{}'", shorten(s))))?;
        Ok((n, None))
    }
}

/// byte_math's `oper`.
fn math_op(kw: &str, val: &str) -> PResult<MathOp> {
    Ok(match val {
        "+" => MathOp::Add,
        "-" => MathOp::Sub,
        "*" => MathOp::Mul,
        "/" => MathOp::Div,
        "<<" => MathOp::Shl,
        ">>" => MathOp::Shr,
        _ => return Err(bad(kw, format!("unknown oper '{}'", shorten(val)))),
    })
}

/// byte_math's `endian big|little|dce`, or `dce` alone.
fn math_endian(kw: &str, name: &str, val: &str) -> PResult<ByteEndian> {
    Ok(match (name, val) {
        ("dce", _) => ByteEndian::Dce,
        (_, "big") => ByteEndian::Big,
        (_, "little") => ByteEndian::Little,
        (_, "dce") => ByteEndian::Dce,
        _ => return Err(bad(kw, format!("invalid endian '{}'", shorten(val)))),
    })
}

/// Suricata checks only the upper bound (ET Open has `byte_test:0,=,0,0,string,dec`).
fn check_nbytes(kw: &str, n: u8, string: bool) -> PResult<()> {
    let max = if string { 23 } else { 8 };
    if n > max {
        let how = if string { "with string" } else { "without string" };
        return Err(bad(kw, format!("can read at most {max} bytes {how}, not {n}")));
    }
    Ok(())
}

/// Options shared by byte_test, byte_jump and byte_extract.
#[derive(Default)]
struct ByteOpts {
    relative: bool,
    endian: ByteEndian,
    endian_set: bool,
    string: Option<StringBase>,
    bitmask: Option<u64>,
    multiplier: Option<u32>,
    align: Option<u8>,
    from_beginning: bool,
    from_end: bool,
    post_offset: i32,
    slice: bool,
}

fn string_base(s: &str) -> Option<StringBase> {
    match s {
        "hex" => Some(StringBase::Hex),
        "dec" => Some(StringBase::Dec),
        "oct" => Some(StringBase::Oct),
        _ => None,
    }
}

fn byte_opts(kw: &str, args: &[&str], allowed: &[&str]) -> PResult<ByteOpts> {
    let mut o = ByteOpts::default();
    let mut string = false;
    let mut base: Option<StringBase> = None;
    let (mut dce, mut big_little) = (false, false);
    for a in args {
        let (name, val) = match a.split_once(char::is_whitespace) {
            Some((n, v)) => (n, v.trim()),
            None => (*a, ""),
        };
        let lname = name.to_ascii_lowercase();
        if !allowed.contains(&lname.as_str()) {
            return Err(bad(kw, format!("unknown option '{}'", shorten(a))));
        }
        let takes_value = matches!(lname.as_str(), "bitmask" | "multiplier" | "post_offset")
            || (lname == "align" && kw == "byte_extract");
        if takes_value == val.is_empty() {
            return Err(bad(kw, format!("invalid option '{}'", shorten(a))));
        }
        match lname.as_str() {
            "relative" => o.relative = true,
            "string" => string = true,
            "hex" | "dec" | "oct" => {
                if kw == "byte_extract" && !string {
                    return Err(bad(kw, "string must come before its base"));
                }
                if base.replace(string_base(&lname).unwrap_or(StringBase::Dec)).is_some() {
                    return Err(bad(kw, "string base given twice"));
                }
            }
            "big" | "little" | "dce" => {
                if o.endian_set && kw == "byte_extract" {
                    return Err(bad(kw, "endianness given twice"));
                }
                o.endian_set = true;
                if lname == "dce" {
                    dce = true;
                } else {
                    big_little = true;
                }
                o.endian = match lname.as_str() {
                    "big" => ByteEndian::Big,
                    "little" => ByteEndian::Little,
                    _ => ByteEndian::Dce,
                };
            }
            "bitmask" => {
                o.bitmask = Some(u64::from(
                    parse_hex_u32(val).ok_or_else(|| bad(kw, format!("invalid bitmask '{}'", shorten(val))))?,
                ))
            }
            "multiplier" => {
                let m = parse_u64_base0(val)
                    .and_then(|m| u32::try_from(m).ok())
                    .filter(|m| *m > 0 && (kw != "byte_extract" || *m <= u32::from(u16::MAX)))
                    .ok_or_else(|| bad(kw, format!("invalid multiplier '{}'", shorten(val))))?;
                o.multiplier = Some(m);
            }
            "align" => {
                let a = if kw == "byte_extract" {
                    val.parse::<u8>()
                        .ok()
                        .filter(|a| *a == 2 || *a == 4)
                        .ok_or_else(|| bad(kw, "align must be 2 or 4"))?
                } else {
                    4
                };
                o.align = Some(a);
            }
            "from_beginning" => o.from_beginning = true,
            "from_end" => o.from_end = true,
            "post_offset" => {
                o.post_offset = parse_i64_base0(val)
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| bad(kw, format!("invalid post_offset '{}'", shorten(val))))?
            }
            "slice" => o.slice = true,
            _ => return Err(bad(kw, format!("unknown option '{}'", shorten(a)))),
        }
    }
    if base.is_some() && !string {
        return Err(bad(kw, "a string base needs 'string'"));
    }
    if string {
        o.string = Some(base.unwrap_or(StringBase::Dec));
    }
    if dce && (string || big_little) {
        return Err(bad(kw, "dce can't be combined with string or an endianness"));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use crate::rule::ast::*;
    use crate::rule::parse::testing::*;

    #[test]
    fn byte_keywords_and_isdataat() {
        let r = ok(
            r#"content:"a"; byte_test:2,!&,0x10,-1,relative,little,bitmask 0xff; byte_jump:4,0,relative,multiplier 2,align,from_end,post_offset -3,string,hex; byte_extract:1,0,v1,relative,multiplier 3,align 4,dce; byte_math:bytes 2,offset 1,oper <<,rvalue v1,result v2,relative,endian little; byte_test:1,>=,v2,v1; isdataat:!10,relative; isdataat:v1;"#,
        );
        let m = &list(&r, "payload").matches;
        let PayloadMatch::ByteTest(t) = &m[1] else { panic!("{m:?}") };
        assert_eq!((t.nbytes, t.negated, t.op, t.value, t.offset), (2, true, ByteOp::And, Num::Lit(16), Num::Lit(-1)));
        assert!(t.relative && t.endian == ByteEndian::Little && t.bitmask == Some(0xff));
        let PayloadMatch::ByteJump(j) = &m[2] else { panic!() };
        assert!(j.relative && j.align && j.from_end && j.multiplier == 2 && j.post_offset == -3);
        assert_eq!(j.string, Some(StringBase::Hex));
        let PayloadMatch::ByteExtract(e) = &m[3] else { panic!() };
        assert_eq!((e.nbytes, e.var, e.multiplier, e.align, e.endian), (1, 0, 3, 4, ByteEndian::Dce));
        let PayloadMatch::ByteMath(bm) = &m[4] else { panic!() };
        assert_eq!((bm.op, bm.rvalue, bm.result, bm.endian), (MathOp::Shl, Num::Var(0), 1, ByteEndian::Little));
        let PayloadMatch::ByteTest(t) = &m[5] else { panic!() };
        assert_eq!((t.op, t.value, t.offset), (ByteOp::Ge, Num::Var(1), Num::Var(0)));
        assert_eq!(m[6], PayloadMatch::IsDataAt(IsDataAt { negated: true, offset: Num::Lit(10), relative: true }));
        assert_eq!(m[7], PayloadMatch::IsDataAt(IsDataAt { negated: false, offset: Num::Var(0), relative: false }));
        assert_eq!(r.vars, 2);
        // != and a bare !
        let r = ok("byte_test:1,!=,010,0; byte_test:1,!,1,0,string;");
        let PayloadMatch::ByteTest(t) = &list(&r, "payload").matches[0] else { panic!() };
        assert_eq!((t.negated, t.op, t.value), (true, ByteOp::Eq, Num::Lit(8)));
        bad_value("byte_test:9,=,1,0;", "byte_test");
        bad_value("byte_test:1,=,1,0,hex;", "byte_test");
        bad_value("byte_test:1,~,1,0;", "byte_test");
        bad_value("byte_test:1,=,1;", "byte_test");
        bad_value("byte_test:1,=,nope,0;", "byte_test");
        bad_value("byte_jump:4,0,from_beginning,from_end;", "byte_jump");
        bad_value("byte_test:1,=,1,0,little,dce;", "byte_test");
        bad_value("byte_jump:4,0,dce,string;", "byte_jump");
        bad_value("byte_extract:4,0,12;", "byte_extract");
        bad_value("byte_extract:4,0;", "byte_extract");
        bad_value("byte_extract:9,0,v;", "byte_extract");
        bad_value("byte_extract:4,0,v,hex;", "byte_extract");
        bad_value("byte_extract:4,0,v,align 3;", "byte_extract");
        bad_value("byte_math:bytes 5,offset 0,oper >>,rvalue 1,result r;", "byte_math");
        bad_value("byte_math:bytes 2,offset 0,oper +,rvalue 1;", "byte_math");
        bad_value("isdataat:70000;", "isdataat");
        bad_value("isdataat:1,absolute;", "isdataat");
        // a variable number of bytes names a byte_extract/byte_math variable
        bad_value("byte_test:n,=,1,0;", "byte_test");
        let r = ok("byte_extract:1,0,n; byte_jump:n,0,relative; byte_test:n,=,1,0; byte_math:bytes n,offset 0,oper +,rvalue 1,result r;");
        let m = &list(&r, "payload").matches;
        assert!(matches!(&m[1], PayloadMatch::ByteJump(j) if j.nbytes_var == Some(0)));
        assert!(matches!(&m[2], PayloadMatch::ByteTest(t) if t.nbytes_var == Some(0)));
        assert!(matches!(&m[3], PayloadMatch::ByteMath(b) if b.nbytes_var == Some(0)));
        // Relative keywords outside a sticky buffer follow the previous match's list.
        let r = ok(r#"content:"a"; http_uri; isdataat:1,relative;"#);
        assert_eq!(list(&r, "http.uri").matches.len(), 2);
    }
}
