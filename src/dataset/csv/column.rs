//! Per-column accumulators for parsed text: type inference (int, then float, then text;
//! or bool, date, timestamp, each alone, else text) with statistics built from blocks of
//! parsed values by the array kernels.

use super::number::{decimal_parts, parse_int, trim_spaces, Number, POWERS_OF_TEN};
use super::temporal::{parse_temporal, Temporal};
use crate::array::Strided;
use crate::dataset::exact::Probe;
use crate::error::Result;
use crate::stats::sketch::ColumnSketch;
use crate::stats::Stats;

/// What a column holds, as inferred from every value. Int widens to Float; every other
/// mix of two kinds (numbers and booleans, dates and timestamps, timestamps with and
/// without a zone) is Text: `join`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// No non-missing value yet.
    Empty,
    /// Integers only (int64).
    Int,
    /// Numbers, some not integers (float64).
    Float,
    /// `true`/`false` only (statistics of 0/1).
    Bool,
    /// `YYYY-MM-DD` dates only (statistics of days since 1970-01-01).
    Date,
    /// Timestamps without a zone (statistics of microseconds since 1970-01-01T00:00).
    DateTime,
    /// Timestamps with `Z` or an offset (statistics of microseconds since the epoch, UTC).
    ZonedDateTime,
    /// Anything else.
    Text,
}

impl Kind {
    /// The type's name as users see it ("int64", "float64", "bool", "date", "datetime"
    /// or "text"; an empty column reads as float64, as pandas reads it).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Empty | Kind::Float => "float64",
            Kind::Int => "int64",
            Kind::Bool => "bool",
            Kind::Date => "date",
            Kind::DateTime | Kind::ZonedDateTime => "datetime",
            Kind::Text => "text",
        }
    }

    /// The kind of a column holding values of both kinds.
    pub fn join(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Empty, k) | (k, Kind::Empty) => k,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            _ => Kind::Text,
        }
    }

    /// Whether a number may join the column (empty, int or float so far).
    #[inline(always)]
    fn takes_numbers(self) -> bool {
        self <= Kind::Float
    }
}

/// How a scan reads a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Infer the kind; statistics and sketches of what it turns out to be.
    #[default]
    Infer,
    /// Every value is text (a second pass over a column that turned out mixed: the values
    /// read as numbers or dates before the first text are text too).
    Text,
    /// Infer the kind and count the values, nothing else: what an Arrow schema needs,
    /// without the cost of statistics and sketches.
    Kinds,
}

/// Parsed values are summarised this many at a time.
const BLOCK: usize = 4096;

/// Statistics of one column of text fields.
#[derive(Debug, Clone)]
pub struct ColumnStats {
    /// What the column holds, from every value so far.
    pub kind: Kind,
    /// Numeric statistics; missing values are in its NaN count.
    pub summary: Stats,
    /// Missing values (empty or a null marker).
    pub missing: u64,
    /// Non-missing values.
    pub present: u64,
    /// The fewest characters of a non-missing value (`u64::MAX` when there is none).
    pub min_len: u64,
    /// The most characters of a non-missing value.
    pub max_len: u64,
    /// Quantiles, distinct count, and for text the top values and the extremes.
    pub sketch: ColumnSketch,
    /// Whether the column turned to text after values of another kind: their sketches
    /// were of numbers, so a `Mode::Text` pass must read the column again.
    pub mixed: bool,
    /// An exact-quantile pass: the probes the values go to, instead of the statistics
    /// and sketches.
    pub probes: Option<Vec<Probe>>,
    /// `Mode::Kinds`: only the kind and the counts are kept.
    kinds_only: bool,
    ints: Vec<i64>,
    /// Parsed floats, each still to be divided by `10^scales[i]`: the divisions are done
    /// together at flush time, where they pipeline instead of stalling the parser.
    floats: Vec<f64>,
    scales: Vec<u8>,
}

impl Default for ColumnStats {
    fn default() -> Self {
        ColumnStats {
            kind: Kind::Empty,
            summary: Stats::EMPTY,
            missing: 0,
            present: 0,
            min_len: u64::MAX,
            max_len: 0,
            sketch: ColumnSketch::default(),
            mixed: false,
            probes: None,
            kinds_only: false,
            ints: Vec::new(),
            floats: Vec::new(),
            scales: Vec::new(),
        }
    }
}

/// The number of characters of a field as `bytes.decode("utf-8", "replace")` reads it:
/// invalid UTF-8 counts one U+FFFD per maximal invalid sequence (as
/// `String::from_utf8_lossy`), so no non-empty value has length 0.
pub(crate) fn char_len(bytes: &[u8]) -> u64 {
    // UTF-8 continuation bytes are 0b10xxxxxx; every other byte starts a character.
    let starts = |b: &[u8]| b.iter().filter(|&&b| (b as i8) >= -0x40).count() as u64;
    if bytes.is_ascii() {
        return bytes.len() as u64;
    }
    let mut rest = bytes;
    let mut n = 0;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => return n + starts(rest),
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                n += starts(valid) + 1;
                match e.error_len() {
                    Some(len) => rest = &bad[len..],
                    None => return n, // a sequence cut short by the end of the field
                }
            }
        }
    }
}

impl ColumnStats {
    /// An empty column read in `mode`, of a file of about `expected_rows` rows (which
    /// sets how the quantile sketch samples).
    pub fn new(mode: Mode, expected_rows: u64) -> ColumnStats {
        ColumnStats {
            kind: match mode {
                Mode::Infer | Mode::Kinds => Kind::Empty,
                Mode::Text => Kind::Text,
            },
            kinds_only: mode == Mode::Kinds,
            sketch: ColumnSketch::for_count(expected_rows),
            ..ColumnStats::default()
        }
    }

    /// Adds one missing value (empty or a null marker).
    pub fn push_missing(&mut self) {
        self.missing += 1;
    }

    /// Adds one non-missing field. `plain` is false when the field held escaped quotes
    /// (then it is text whatever it looks like).
    #[inline]
    pub fn push(&mut self, bytes: &[u8], plain: bool) {
        self.present += 1;
        if plain && self.kind.takes_numbers() {
            let trimmed = trim_spaces(bytes);
            if self.kind <= Kind::Int {
                if let Some(v) = parse_int(trimmed) {
                    self.kind = Kind::Int;
                    self.note_len(bytes.len() as u64);
                    self.ints.push(v);
                    if self.ints.len() == BLOCK {
                        self.flush_ints();
                    }
                    return;
                }
            }
            let parsed = decimal_parts(trimmed)
                .or_else(|| fast_float2::parse::<f64, _>(trimmed).ok().map(|v| (v, 0)));
            if let Some((v, scale)) = parsed {
                if self.kind != Kind::Float {
                    self.flush_ints();
                    self.kind = Kind::Float;
                }
                self.note_len(bytes.len() as u64);
                self.floats.push(v);
                self.scales.push(scale);
                if self.floats.len() == BLOCK {
                    self.flush_floats();
                }
                return;
            }
        }
        if plain && self.kind != Kind::Text && self.push_temporal(bytes) {
            return;
        }
        self.become_text();
        if !self.kinds_only {
            self.note_len(char_len(bytes));
            self.sketch.add_text(bytes);
        }
    }

    #[inline]
    fn become_text(&mut self) {
        if self.kind != Kind::Text {
            self.mixed |= self.kind != Kind::Empty;
            self.kind = Kind::Text;
        }
    }

    /// Adds a field that is not a number if it is a boolean, date or timestamp of the
    /// column's kind (any of them in an empty column); false otherwise.
    #[cold]
    fn push_temporal(&mut self, bytes: &[u8]) -> bool {
        let (kind, value) = match parse_temporal(trim_spaces(bytes)) {
            Some(Temporal::Bool(b)) => (Kind::Bool, b as i64),
            Some(Temporal::Date(days)) => (Kind::Date, days),
            Some(Temporal::DateTime { micros, zoned }) => (
                if zoned {
                    Kind::ZonedDateTime
                } else {
                    Kind::DateTime
                },
                micros,
            ),
            None => return false,
        };
        if self.kind != Kind::Empty && self.kind != kind {
            return false;
        }
        self.kind = kind;
        self.note_len(bytes.len() as u64);
        self.ints.push(value);
        if self.ints.len() == BLOCK {
            self.flush_ints();
        }
        true
    }

    /// Whether a number would count as a number here (the column is empty or numeric).
    #[inline(always)]
    pub fn wants_numbers(&self) -> bool {
        self.kind.takes_numbers()
    }

    /// Adds a number scanned straight from the bytes (`len` bytes long), exactly as
    /// `push` would add its text.
    #[inline]
    pub fn push_number(&mut self, number: Number, len: u64) {
        self.present += 1;
        if self.kinds_only {
            let int = matches!(number, Number::Int(_)) && self.kind <= Kind::Int;
            self.kind = if int { Kind::Int } else { Kind::Float };
            return;
        }
        self.note_len(len);
        match number {
            Number::Int(v) if self.kind <= Kind::Int => {
                self.kind = Kind::Int;
                self.ints.push(v);
                if self.ints.len() == BLOCK {
                    self.flush_ints();
                }
            }
            Number::Int(v) => self.push_float(v as f64, 0),
            Number::Decimal(m, scale) => {
                if self.kind != Kind::Float {
                    self.flush_ints();
                    self.kind = Kind::Float;
                }
                self.push_float(m, scale);
            }
        }
    }

    #[inline(always)]
    fn push_float(&mut self, mantissa: f64, scale: u8) {
        self.floats.push(mantissa);
        self.scales.push(scale);
        if self.floats.len() == BLOCK {
            self.flush_floats();
        }
    }

    /// Adds a non-missing field that is text whatever it looks like (it had escaped
    /// quotes or text after its closing quote): `value`, unescaped, `chars` characters.
    pub fn push_text(&mut self, value: &[u8], chars: u64) {
        self.present += 1;
        self.become_text();
        if !self.kinds_only {
            self.note_len(chars);
            self.sketch.add_text(value);
        }
    }

    #[inline]
    fn note_len(&mut self, len: u64) {
        self.min_len = self.min_len.min(len);
        self.max_len = self.max_len.max(len);
    }

    fn flush_ints(&mut self) {
        if self.kinds_only {
            self.ints.clear();
            return;
        }
        if let (Some(probes), false) = (&mut self.probes, self.ints.is_empty()) {
            let floats: Vec<f64> = self.ints.iter().map(|&v| v as f64).collect();
            probes.iter_mut().for_each(|p| p.add(&floats));
            self.ints.clear();
        }
        if !self.ints.is_empty() {
            let block = Stats::of_strided(Strided::from_slice(&self.ints));
            self.summary.merge(&block);
            self.sketch.add_i64s_of(&self.ints, Some(&block));
            self.ints.clear();
        }
    }

    fn flush_floats(&mut self) {
        if self.kinds_only {
            self.floats.clear();
            self.scales.clear();
            return;
        }
        if !self.floats.is_empty() {
            for (v, &scale) in self.floats.iter_mut().zip(&self.scales) {
                *v /= POWERS_OF_TEN[scale as usize];
            }
            if let Some(probes) = &mut self.probes {
                self.floats.retain(|v| !v.is_nan());
                probes.iter_mut().for_each(|p| p.add(&self.floats));
                self.floats.clear();
                self.scales.clear();
                return;
            }
            let block = Stats::of_slice(&self.floats);
            self.summary.merge(&block);
            self.sketch.add_f64s_of(&self.floats, Some(&block));
            self.floats.clear();
            self.scales.clear();
        }
    }

    /// Summarises what is still buffered; call before reading `summary` or merging.
    pub fn finish(&mut self) {
        self.flush_ints();
        self.flush_floats();
        self.sketch.finish();
        // A finished part waits for the others to be merged: give its buffers back.
        self.ints = Vec::new();
        self.floats = Vec::new();
        self.scales = Vec::new();
    }

    /// Combines the statistics of the same column from an earlier part of the file with
    /// a later one (`other`); both must be finished.
    pub fn merge(&mut self, other: &ColumnStats) -> Result<()> {
        let kind = self.kind.join(other.kind);
        let numbers_then_text = |k: Kind| k != Kind::Empty && k != Kind::Text;
        self.mixed |= other.mixed
            || (kind == Kind::Text
                && (numbers_then_text(self.kind) || numbers_then_text(other.kind)));
        self.kind = kind;
        self.summary.merge(&other.summary);
        self.missing += other.missing;
        self.present += other.present;
        self.min_len = self.min_len.min(other.min_len);
        self.max_len = self.max_len.max(other.max_len);
        if let (Some(ours), Some(theirs)) = (&mut self.probes, &other.probes) {
            ours.iter_mut().zip(theirs).for_each(|(a, b)| a.merge(b));
        }
        self.sketch.merge(&other.sketch)
    }

    /// The summary with missing values counted as NaN, as pandas reads them.
    pub fn numeric_summary(&self) -> Stats {
        let mut s = self.summary;
        s.add_missing(self.missing);
        s
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_int_then_float_then_text() {
        let mut c = ColumnStats::default();
        for v in ["1", "-2", "+3"] {
            c.push(v.as_bytes(), true);
        }
        assert_eq!(c.kind, Kind::Int);
        c.push(b"2.5e1", true);
        assert_eq!(c.kind, Kind::Float);
        c.finish();
        assert_eq!(c.summary.sum(), 27.0);
        c.push(b"inf", true);
        c.push(b"-Infinity", true);
        c.push(b"NaN", true);
        c.finish();
        assert_eq!((c.kind, c.summary.nan_count()), (Kind::Float, 1));
        c.push("héllo".as_bytes(), true);
        assert_eq!((c.kind, c.max_len, c.min_len), (Kind::Text, 9, 1));
    }

    fn kind_of(values: &[&str]) -> Kind {
        let mut c = ColumnStats::default();
        for v in values {
            c.push(v.as_bytes(), true);
        }
        c.kind
    }

    #[test]
    fn booleans_dates_and_timestamps_each_alone_else_text() {
        assert_eq!(kind_of(&["true", "False", "TRUE"]), Kind::Bool);
        assert_eq!(kind_of(&["2024-01-01", " 1969-12-31 "]), Kind::Date);
        assert_eq!(
            kind_of(&["2024-01-01T10:00", "2024-01-01 10:00:01.5"]),
            Kind::DateTime
        );
        assert_eq!(
            kind_of(&["2024-01-01T10:00Z", "2024-01-01T10:00+01:00"]),
            Kind::ZonedDateTime
        );
        for mixed in [
            &["true", "1"][..],
            &["1", "true"],
            &["1.5", "2024-01-01"],
            &["2024-01-01", "2024-01-01T10:00"],
            &["2024-01-01T10:00", "2024-01-01T10:00Z"],
            &["2024-01-01", "2023-02-29"],
            &["true", "yes"],
            &["2024-01-01", "true"],
        ] {
            assert_eq!(kind_of(mixed), Kind::Text, "{mixed:?}");
        }
        assert_eq!(Kind::Bool.join(Kind::Empty), Kind::Bool);
        assert_eq!(Kind::Int.join(Kind::Bool), Kind::Text);
        assert_eq!(Kind::Date.join(Kind::DateTime), Kind::Text);
        assert_eq!(Kind::Int.join(Kind::Float), Kind::Float);
        let mut c = ColumnStats::default();
        for v in ["1969-12-31", "1970-01-03"] {
            c.push(v.as_bytes(), true);
        }
        c.push_missing();
        c.finish();
        let s = c.numeric_summary();
        let e = s.exact().unwrap();
        assert_eq!((e.sum, e.min, e.max, s.nan_count()), (1, -1, 2, 1));
    }

    #[test]
    fn text_lengths_of_invalid_utf8_are_those_of_a_lossy_decoding() {
        // As Python's bytes.decode("utf-8", "replace"): one U+FFFD per invalid sequence.
        for (bytes, chars) in [
            (&b"abc"[..], 3),
            ("h\u{e9}llo \u{1F600}".as_bytes(), 7),
            (b"\x80\x80", 2),
            (b"a\x80b", 3),
            (b"\xe2\x82", 1),
            (b"\xe2\x82z", 2),
            (b"\xc0\xafz", 3),
            (b"\xed\xa0\x80", 3),
            (b"caf\xe9", 4),
            (b"\xff\xfeab", 4),
        ] {
            assert_eq!(char_len(bytes), chars, "{bytes:?}");
            assert_eq!(
                char_len(bytes),
                String::from_utf8_lossy(bytes).chars().count() as u64
            );
        }
    }
}
