//! EVE timestamps (`2026-12-05T15:22:19.160593+0000`) to microseconds since the epoch, and
//! back to text for the page and the exports.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// Suricata's `%Y-%m-%dT%H:%M:%S.%f%z`; the fraction may be absent or of any precision.
const EVE: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory][optional [:]][offset_minute]"
);

/// Microseconds since the epoch, or `None` when the text is not an EVE timestamp.
pub(crate) fn parse_us(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s.trim(), EVE).ok()?;
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1000)).ok()
}

fn at(us: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000).ok()
}

/// `2026-12-05 15:22:19 UTC` (for people).
pub(crate) fn human(us: i64) -> String {
    const F: &[FormatItem<'static>] = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at(us).and_then(|t| t.format(F).ok()).unwrap_or_else(|| format!("@{us}us"))
}

/// `2026-12-05T15:22:19.160593Z` (RFC 3339, for STIX and CSV).
pub(crate) fn rfc3339(us: i64) -> String {
    const F: &[FormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    at(us).and_then(|t| t.format(F).ok()).unwrap_or_default()
}

/// A short axis label whose precision suits a bin width.
pub(crate) fn axis(us: i64, width_us: i64) -> String {
    const DAY: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");
    const MIN: &[FormatItem<'static>] = format_description!("[month]-[day] [hour]:[minute]");
    const SEC: &[FormatItem<'static>] = format_description!("[hour]:[minute]:[second]");
    let f = if width_us >= 3_600_000_000 {
        DAY
    } else if width_us >= 60_000_000 {
        MIN
    } else {
        SEC
    };
    at(us).and_then(|t| t.format(f).ok()).unwrap_or_default()
}

/// A duration for people: `3 d 4 h`, `12 min 5 s`, `0.4 s`.
pub(crate) fn duration(us: i64) -> String {
    let s = us / 1_000_000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if s >= 365 * 86_400 {
        format!("{:.1} years", s as f64 / (365.25 * 86_400.0))
    } else if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {sec} s")
    } else {
        format!("{:.1} s", us as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_timestamps() {
        assert_eq!(parse_us("1970-01-01T00:00:35.569737+0000"), Some(35_569_737));
        assert_eq!(parse_us("1970-01-01T01:00:00.000001+0100"), Some(1));
        assert_eq!(parse_us("1970-01-01T00:00:01+0000"), Some(1_000_000));
        assert_eq!(parse_us("1970-01-01T00:00:01.5+00:00"), Some(1_500_000));
        assert_eq!(parse_us("1969-12-31T23:59:59.000000+0000"), Some(-1_000_000));
        for bad in ["", "x", "2026-13-01T00:00:00+0000", "2026-12-05T15:22:19", "2026-12-05T15:22:19.1+0000 x"] {
            assert_eq!(parse_us(bad), None, "{bad}");
        }
    }

    #[test]
    fn formatting() {
        let us = parse_us("2026-12-05T15:22:19.160593+0000").unwrap();
        assert_eq!(human(us), "2026-12-05 15:22:19 UTC");
        assert_eq!(rfc3339(us), "2026-12-05T15:22:19.160593Z");
        assert_eq!(axis(us, 86_400_000_000), "2026-12-05");
        assert_eq!(axis(us, 1_000_000), "15:22:19");
        assert_eq!(duration(90_061_000_000), "1 d 1 h");
        assert_eq!(duration(400_000), "0.4 s");
        assert_eq!(human(i64::MAX), format!("@{}us", i64::MAX));
    }
}
