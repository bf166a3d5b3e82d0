//! FTP commands as Suricata knows them (its command table, matched case-insensitively anywhere
//! in the line, the earliest-ending match winning, as its multi-pattern matcher reports them),
//! the port announcements (`PORT`, `EPRT`, `227`, `229`) and the `ftpbounce` check.

/// A command Suricata's FTP parser names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs, reason = "each variant is the FTP command of its name")]
pub(crate) enum Cmd {
    Port,
    Eprt,
    AuthTls,
    Pasv,
    Epsv,
    Retr,
    Stor,
    Abor,
    Acct,
    Allo,
    Appe,
    Cdup,
    Chmod,
    Cwd,
    Dele,
    Help,
    Idle,
    List,
    Mail,
    Mdtm,
    Mkd,
    Mlfl,
    Mlsd,
    Mode,
    Mrcp,
    Mrsq,
    Msam,
    Msnd,
    Msom,
    Nlst,
    Noop,
    Pass,
    Pwd,
    Quit,
    Rein,
    Rest,
    Rmd,
    Rnfr,
    Rnto,
    Site,
    Size,
    Smnt,
    Stat,
    Stou,
    Stru,
    Syst,
    Type,
    Umask,
    User,
}

/// The command table, in Suricata's order (names as `ftp.command` and EVE print them).
pub(crate) const COMMANDS: &[(&str, Cmd)] = &[
    ("PORT", Cmd::Port),
    ("EPRT", Cmd::Eprt),
    ("AUTH_TLS", Cmd::AuthTls),
    ("PASV", Cmd::Pasv),
    ("EPSV", Cmd::Epsv),
    ("RETR", Cmd::Retr),
    ("STOR", Cmd::Stor),
    ("ABOR", Cmd::Abor),
    ("ACCT", Cmd::Acct),
    ("ALLO", Cmd::Allo),
    ("APPE", Cmd::Appe),
    ("CDUP", Cmd::Cdup),
    ("CHMOD", Cmd::Chmod),
    ("CWD", Cmd::Cwd),
    ("DELE", Cmd::Dele),
    ("HELP", Cmd::Help),
    ("IDLE", Cmd::Idle),
    ("LIST", Cmd::List),
    ("MAIL", Cmd::Mail),
    ("MDTM", Cmd::Mdtm),
    ("MKD", Cmd::Mkd),
    ("MLFL", Cmd::Mlfl),
    ("MLSD", Cmd::Mlsd),
    ("MODE", Cmd::Mode),
    ("MRCP", Cmd::Mrcp),
    ("MRSQ", Cmd::Mrsq),
    ("MSAM", Cmd::Msam),
    ("MSND", Cmd::Msnd),
    ("MSOM", Cmd::Msom),
    ("NLST", Cmd::Nlst),
    ("NOOP", Cmd::Noop),
    ("PASS", Cmd::Pass),
    ("PWD", Cmd::Pwd),
    ("QUIT", Cmd::Quit),
    ("REIN", Cmd::Rein),
    ("REST", Cmd::Rest),
    ("RMD", Cmd::Rmd),
    ("RNFR", Cmd::Rnfr),
    ("RNTO", Cmd::Rnto),
    ("SITE", Cmd::Site),
    ("SIZE", Cmd::Size),
    ("SMNT", Cmd::Smnt),
    ("STAT", Cmd::Stat),
    ("STOU", Cmd::Stou),
    ("STRU", Cmd::Stru),
    ("SYST", Cmd::Syst),
    ("TYPE", Cmd::Type),
    ("UMASK", Cmd::Umask),
    ("USER", Cmd::User),
];

/// The command of a request line: the table entry whose case-insensitive occurrence in the
/// line ends first (Suricata runs its multi-pattern matcher over the whole line and takes the
/// first match reported). Returns the table index.
pub(crate) fn find(line: &[u8]) -> Option<usize> {
    for end in 3..=line.len() {
        for (i, (name, _)) in COMMANDS.iter().enumerate() {
            let n = name.len();
            if n <= end && line.get(end - n..end).is_some_and(|w| w.eq_ignore_ascii_case(name.as_bytes())) {
                return Some(i);
            }
        }
    }
    None
}

/// The name and code of table entry `i`.
pub(crate) fn entry(i: usize) -> Option<(&'static str, Cmd)> {
    COMMANDS.get(i).copied()
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A cursor over a line for the small grammars below.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn tag(&mut self, t: &[u8]) -> Option<()> {
        let end = self.i.checked_add(t.len())?;
        (self.s.get(self.i..end)? == t).then(|| self.i = end)
    }
    fn spaces(&mut self) {
        while self.s.get(self.i).copied().is_some_and(is_space) {
            self.i += 1;
        }
    }
    fn digits(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        (self.i > start).then(|| &self.s[start..self.i])
    }
    fn u16(&mut self) -> Option<u16> {
        std::str::from_utf8(self.digits()?).ok()?.parse().ok()
    }
    /// `multispace0 digit1 multispace0` as a u16 (Suricata's `getu16`).
    fn spaced_u16(&mut self) -> Option<u16> {
        self.spaces();
        let v = self.u16()?;
        self.spaces();
        Some(v)
    }
    fn until(&mut self, t: &[u8]) -> Option<()> {
        let rest = self.s.get(self.i..)?;
        let at = rest.windows(t.len()).position(|w| w == t)?;
        self.i += at;
        Some(())
    }
    fn octet(v: u16) -> Option<u16> {
        (v <= 255).then_some(v)
    }
}

/// `PORT h1,h2,h3,h4,p1,p2` (case-sensitive, as Suricata's): the port, 0 when invalid.
pub(crate) fn port_cmd(line: &[u8]) -> u16 {
    let mut c = Cur { s: line, i: 0 };
    let r = (|| {
        c.tag(b"PORT")?;
        c.spaces();
        c.digits()?;
        c.spaces();
        for _ in 0..3 {
            c.tag(b",")?;
            c.digits()?;
        }
        c.tag(b",")?;
        let hi = Cur::octet(c.u16()?)?;
        c.tag(b",")?;
        let lo = Cur::octet(c.u16()?)?;
        Some(hi * 256 + lo)
    })();
    r.unwrap_or(0)
}

/// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`: the port, 0 when invalid.
pub(crate) fn pasv_reply(line: &[u8]) -> u16 {
    let mut c = Cur { s: line, i: 0 };
    let r = (|| {
        c.tag(b"227")?;
        c.until(b"(")?;
        c.tag(b"(")?;
        for _ in 0..4 {
            c.digits()?;
            c.tag(b",")?;
        }
        let hi = Cur::octet(c.spaced_u16()?)?;
        c.tag(b",")?;
        let lo = Cur::octet(c.spaced_u16()?)?;
        c.tag(b")")?;
        Some(hi * 256 + lo)
    })();
    r.unwrap_or(0)
}

/// `229 Entering Extended Passive Mode (|||port|)`: the port, 0 when invalid.
pub(crate) fn epsv_reply(line: &[u8]) -> u16 {
    let mut c = Cur { s: line, i: 0 };
    let r = (|| {
        c.tag(b"229")?;
        c.until(b"|||")?;
        c.tag(b"|||")?;
        let p = c.spaced_u16()?;
        c.tag(b"|)")?;
        Some(p)
    })();
    r.unwrap_or(0)
}

/// `EPRT |proto|address|port|`: the port, 0 when invalid.
pub(crate) fn eprt_cmd(line: &[u8]) -> u16 {
    let mut c = Cur { s: line, i: 0 };
    let r = (|| {
        c.tag(b"EPRT")?;
        for _ in 0..3 {
            c.until(b"|")?;
            c.tag(b"|")?;
        }
        let p = c.spaced_u16()?;
        c.tag(b"|")?;
        Some(p)
    })();
    r.unwrap_or(0)
}

/// `ftpbounce`: a `PORT` line whose address (the first four numbers after the command)
/// differs from the client's (`client`: its first four address bytes, as Suricata compares
/// them). After Suricata's `DetectFtpbounceMatchArgs`, octets up to 256 accepted.
pub(crate) fn bounce(line: &[u8], client: [u8; 4]) -> bool {
    if line.len() < 7 || 7 >= line.len() {
        return false;
    }
    let mut i = 0;
    while i < line.len() && !line[i].is_ascii_digit() {
        i += 1;
    }
    let (mut octet, mut digits, mut n, mut ip) = (0u32, 0, 0, [0u8; 4]);
    while i < line.len() && digits < 4 {
        let c = line[i];
        if c.is_ascii_digit() {
            octet = octet * 10 + u32::from(c - b'0');
            digits += 1;
        } else {
            if octet > 256 {
                return false;
            }
            while i < line.len() && is_space(line[i]) {
                i += 1;
            }
            if line.get(i) != Some(&b',') {
                return false;
            }
            // In bounds: n < 4 here (it returns when it reaches 4).
            ip[n] = octet as u8;
            n += 1;
            digits = 0;
            octet = 0;
            if n == 4 {
                return ip != client;
            }
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_found_case_insensitively_earliest_end_first() {
        let name = |l: &[u8]| find(l).and_then(entry).map(|(n, _)| n);
        assert_eq!(name(b"USER anonymous"), Some("USER"));
        assert_eq!(name(b"retr temp.txt"), Some("RETR"));
        assert_eq!(name(b"XPWD"), Some("PWD"));
        assert_eq!(name(b"SITE CHMOD 777 x"), Some("SITE"));
        assert_eq!(name(b"AUTH TLS"), None);
        assert_eq!(name(b"HI"), None);
    }

    #[test]
    fn ports_parse_as_suricata_parses_them() {
        assert_eq!(port_cmd(b"PORT 192,168,0,13,234,10"), 59914);
        assert_eq!(port_cmd(b"PORT 212,27,32,66,257,243"), 0);
        assert_eq!(port_cmd(b"port 192,168,0,13,234,10"), 0);
        assert_eq!(pasv_reply(b"227 Entering Passive Mode (212,27,32,66,221,243)."), 56819);
        assert_eq!(pasv_reply(b"227 Entering Passive Mode (212,27,32,66,221,243)"), 56819);
        assert_eq!(pasv_reply(b"227 Entering Passive Mode (212,27,32,66,255,65535)."), 0);
        assert_eq!(epsv_reply(b"229 Entering Extended Passive Mode (|||48758|)."), 48758);
        assert_eq!(eprt_cmd(b"EPRT |2|2a01:e34:ee97:b130:8c3e:45ea:5ac6:e301|41813|"), 41813);
        assert_eq!(eprt_cmd(b"EPRT |2|2a01:e34:ee97:b130:8c3e:45ea:5ac6:e301|81813|"), 0);
    }

    #[test]
    fn bounce_compares_the_announced_address_with_the_client() {
        assert!(!bounce(b"PORT 192,168,0,13,234,10", [192, 168, 0, 13]));
        assert!(bounce(b"PORT 10,0,0,1,234,10", [192, 168, 0, 13]));
        assert!(!bounce(b"PORT 1", [192, 168, 0, 13]));
        assert!(!bounce(b"PORT 1x2,3,4,5,6,7", [1, 2, 3, 4]));
    }
}
