//! The parsers against reference arithmetic written out longhand (a day-by-day count of
//! the calendar), and the edges of every accepted form.

use super::*;
use proptest::prelude::*;

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days since 1970-01-01 by counting whole years and months: slow, obviously right.
fn reference_days(y: i64, m: i64, d: i64) -> i64 {
    let year_len = |y: i64| if leap(y) { 366 } else { 365 };
    let mut days: i64 = if y >= 1970 {
        (1970..y).map(year_len).sum()
    } else {
        -(y..1970).map(year_len).sum::<i64>()
    };
    let months = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += months[..(m - 1) as usize].iter().sum::<i64>();
    days + d - 1
}

fn micros(text: &str) -> Option<(i64, bool)> {
    match parse_temporal(text.as_bytes())? {
        Temporal::DateTime { micros, zoned } => Some((micros, zoned)),
        _ => None,
    }
}

#[test]
fn dates_at_the_edges() {
    assert_eq!(parse_date(b"1970-01-01"), Some(0));
    assert_eq!(parse_date(b"1969-12-31"), Some(-1));
    assert_eq!(parse_date(b"0001-01-01"), Some(FIRST_DAY));
    assert_eq!(parse_date(b"9999-12-31"), Some(END_DAY - 1));
    assert_eq!(parse_date(b"2024-02-29"), Some(19_782));
    for bad in [
        "2023-02-29",
        "1900-02-29",
        "0000-01-01",
        "2020-13-01",
        "2020-00-10",
        "2020-04-31",
        "2020-1-01",
        "2020/01/01",
        "+020-01-01",
        "2020-01-0a",
    ] {
        assert_eq!(parse_date(bad.as_bytes()), None, "{bad}");
        assert_eq!(parse_temporal(bad.as_bytes()), None, "{bad}");
    }
    assert_eq!(parse_date(b"2000-02-29"), Some(reference_days(2000, 2, 29)));
}

#[test]
fn timestamps_and_their_zones() {
    let day = MICROS_PER_DAY;
    assert_eq!(micros("1970-01-01T00:00"), Some((0, false)));
    assert_eq!(micros("1970-01-01 00:00:01"), Some((1_000_000, false)));
    assert_eq!(micros("1969-12-31T23:59:59.999999"), Some((-1, false)));
    assert_eq!(micros("1970-01-01T00:00:00.1"), Some((100_000, false)));
    assert_eq!(
        micros("1970-01-01T00:00:00.123456789"),
        Some((123_456, false))
    );
    assert_eq!(micros("1970-01-01T00:00:00Z"), Some((0, true)));
    assert_eq!(micros("1970-01-01T14:00+14:00"), Some((0, true)));
    assert_eq!(
        micros("1970-01-01T00:00-1400"),
        Some((14 * 3_600_000_000, true))
    );
    assert_eq!(
        micros("1970-01-02T00:00:00.5-00:30"),
        Some((day + 1_800_500_000, true))
    );
    assert_eq!(
        micros("9999-12-31T23:59:59.999999"),
        Some((END_DAY * day - 1, false))
    );
    assert_eq!(micros("0001-01-01T00:00"), Some((FIRST_DAY * day, false)));
    for bad in [
        "1970-01-01T24:00",
        "1970-01-01T00:60",
        "1970-01-01T23:59:60",
        "1970-01-01t00:00",
        "1970-01-01T00:00z",
        "1970-01-01T00",
        "1970-01-01T00:00:00.",
        "1970-01-01T00:00.5",
        "1970-01-01T00:00:00.1234567890",
        "1970-01-01T00:00+1",
        "1970-01-01T00:00+24:00",
        "1970-01-01T00:00+01:60",
        "1970-01-01  00:00",
        "1970-01-01T00:00 Z",
        "0001-01-01T00:00+00:01",
        "9999-12-31T23:59-00:01",
        "1970-01-01T0:00",
        "1970-01-01T00:00:0",
        "1970-01-01T00:00:00,5",
    ] {
        assert_eq!(parse_temporal(bad.as_bytes()), None, "{bad}");
    }
}

#[test]
fn booleans_in_three_spellings_only() {
    for (t, v) in [
        ("true", true),
        ("True", true),
        ("TRUE", true),
        ("false", false),
    ] {
        assert_eq!(parse_temporal(t.as_bytes()), Some(Temporal::Bool(v)));
    }
    assert_eq!(parse_temporal(b"FALSE"), Some(Temporal::Bool(false)));
    for bad in ["tRue", "t", "T", "yes", "1", "0", "F", "falsey", "TRUE "] {
        assert_eq!(parse_temporal(bad.as_bytes()), None, "{bad}");
    }
}

proptest! {
    #[test]
    fn every_valid_timestamp_reads_as_the_reference(
        y in 1i64..=9999, m in 1i64..=12, d in 1i64..=31, h in 0i64..24, mi in 0i64..60,
        s in 0i64..60, frac in proptest::option::of((1usize..=9, 0u64..1_000_000_000)),
        zone in proptest::option::of(-(23 * 60 + 59)..=(23i64 * 60 + 59)), colon: bool,
        space: bool,
    ) {
        let months = [31, if leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let date = format!("{y:04}-{m:02}-{d:02}");
        let valid = d <= months[(m - 1) as usize];
        prop_assert_eq!(parse_date(date.as_bytes()), valid.then(|| reference_days(y, m, d)));
        let mut text = format!("{date}{}{h:02}:{mi:02}:{s:02}", if space { ' ' } else { 'T' });
        let mut sub = 0;
        if let Some((n, f)) = frac {
            let digits = format!("{:09}", f)[..n].to_owned();
            text += &format!(".{digits}");
            sub = format!("{digits:0<9}")[..6].parse::<i64>().unwrap();
        }
        let offset = zone.unwrap_or(0);
        match zone {
            Some(0) if colon => text += "Z",
            Some(z) => {
                let sign = if z < 0 { '-' } else { '+' };
                let (zh, zm) = (z.abs() / 60, z.abs() % 60);
                text += &if colon { format!("{sign}{zh:02}:{zm:02}") } else { format!("{sign}{zh:02}{zm:02}") };
            }
            None => {}
        }
        let local = reference_days(y, m, d) * MICROS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1_000_000 + sub;
        let utc = local - offset * 60_000_000;
        let in_range = (FIRST_DAY * MICROS_PER_DAY..END_DAY * MICROS_PER_DAY).contains(&utc);
        let want = (valid && in_range).then_some((utc, zone.is_some()));
        prop_assert_eq!(micros(&text), want, "{}", text);
    }
}
