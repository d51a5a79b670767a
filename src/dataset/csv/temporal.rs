//! Booleans, ISO-8601 dates and timestamps in CSV fields: hand-written parsers that read a
//! whole (space-trimmed) field without allocating.
//!
//! - A boolean is exactly `true`, `false`, `True`, `False`, `TRUE` or `FALSE`.
//! - A date is `YYYY-MM-DD`, a valid proleptic Gregorian date from 0001-01-01 to
//!   9999-12-31; it reads as days since 1970-01-01.
//! - A timestamp is a date, then `T` or one space, then `HH:MM`, optional `:SS` (00 to 59: a
//!   leap second `:60` is not a timestamp), optional fraction `.f` of 1 to 9 digits (kept to
//!   the microsecond, further digits truncated, as Python's `fromisoformat` does), then
//!   optionally `Z` or an offset `+HH:MM`, `-HH:MM`, `+HHMM`, `-HHMM` (hours to 23). It reads
//!   as microseconds since 1970-01-01T00:00 (UTC when an offset is given, which is
//!   subtracted). Lowercase `t` or `z` is not accepted, nor a time without a date. A
//!   timestamp whose UTC value falls outside years 1 to 9999 is not one either.

/// A field read as a boolean, a date or a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporal {
    /// `true`/`false` in one of the three accepted spellings.
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i64),
    /// Microseconds since 1970-01-01T00:00; `zoned` when the text gave `Z` or an offset
    /// (the value is then UTC).
    DateTime {
        /// Microseconds since the epoch.
        micros: i64,
        /// Whether the text had `Z` or an offset.
        zoned: bool,
    },
}

const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Days from 1970-01-01 to 0001-01-01 and to 10000-01-01.
const FIRST_DAY: i64 = -719_162;
const END_DAY: i64 = 2_932_897;

/// Reads a whole field, already trimmed of spaces, as a boolean, date or timestamp.
#[inline]
pub fn parse_temporal(t: &[u8]) -> Option<Temporal> {
    match t.first()? {
        b'0'..=b'9' => {}
        b't' | b'T' | b'f' | b'F' => return parse_bool(t).map(Temporal::Bool),
        _ => return None,
    }
    if t.len() < 10 {
        return None;
    }
    let days = parse_date(&t[..10])?;
    if t.len() == 10 {
        return Some(Temporal::Date(days));
    }
    let (micros, zoned) = parse_time(&t[10..])?;
    let total = days * MICROS_PER_DAY + micros;
    let range = FIRST_DAY * MICROS_PER_DAY..END_DAY * MICROS_PER_DAY;
    range.contains(&total).then_some(Temporal::DateTime {
        micros: total,
        zoned,
    })
}

/// `true`/`false`, `True`/`False`, `TRUE`/`FALSE`.
#[inline]
pub fn parse_bool(t: &[u8]) -> Option<bool> {
    match t {
        b"true" | b"True" | b"TRUE" => Some(true),
        b"false" | b"False" | b"FALSE" => Some(false),
        _ => None,
    }
}

/// The value of `N` ASCII digits, or `None` if one is not a digit.
#[inline(always)]
fn digits(t: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &b in t {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as i64;
    }
    Some(v)
}

/// Exactly `YYYY-MM-DD` (10 bytes), a valid date: days since 1970-01-01.
#[inline]
pub fn parse_date(t: &[u8]) -> Option<i64> {
    if t.len() != 10 || t[4] != b'-' || t[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&t[..4])?, digits(&t[5..7])?, digits(&t[8..10])?);
    if y == 0 || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The part after the date: separator, `HH:MM[:SS[.f]]`, optional zone. Returns the
/// microseconds since midnight (UTC-adjusted, so possibly outside one day) and whether a
/// zone was given.
#[inline]
fn parse_time(t: &[u8]) -> Option<(i64, bool)> {
    if t.len() < 6 || !(t[0] == b'T' || t[0] == b' ') || t[3] != b':' {
        return None;
    }
    let (h, mi) = (digits(&t[1..3])?, digits(&t[4..6])?);
    if h > 23 || mi > 59 {
        return None;
    }
    let mut micros = (h * 60 + mi) * 60_000_000;
    let mut rest = &t[6..];
    if let [b':', a, b, tail @ ..] = rest {
        let s = digits(&[*a, *b])?;
        if s > 59 {
            return None;
        }
        micros += s * 1_000_000;
        rest = tail;
        if let [b'.', tail @ ..] = rest {
            let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return None;
            }
            let kept = n.min(6);
            let frac = digits(&tail[..kept])?;
            micros += frac * [100_000, 10_000, 1_000, 100, 10, 1][kept - 1];
            rest = &tail[n..];
        }
    }
    let offset = parse_zone(rest)?;
    Some(match offset {
        None => (micros, false),
        Some(minutes) => (micros - minutes * 60_000_000, true),
    })
}

/// Nothing (`Some(None)`), `Z` (offset 0) or `±HH:MM` / `±HHMM`, in minutes.
#[inline]
fn parse_zone(t: &[u8]) -> Option<Option<i64>> {
    let (sign, h, m) = match t {
        [] => return Some(None),
        [b'Z'] => return Some(Some(0)),
        [s, h1, h2, b':', m1, m2] | [s, h1, h2, m1, m2] => (*s, [*h1, *h2], [*m1, *m2]),
        _ => return None,
    };
    let (h, m) = (digits(&h)?, digits(&m)?);
    if h > 23 || m > 59 {
        return None;
    }
    match sign {
        b'+' => Some(Some(h * 60 + m)),
        b'-' => Some(Some(-(h * 60 + m))),
        _ => None,
    }
}

#[cfg(test)]
#[path = "temporal_tests.rs"]
mod tests;
