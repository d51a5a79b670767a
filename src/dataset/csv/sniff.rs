//! The header guess and the trailing-delimiter check, from a sample of the records after
//! the first: the parallel scan never pays for them.
//!
//! **The header rule** (DuckDB's sniffer, with ties to "header" as pandas and polars
//! assume): the first record is a header unless every one of its cells fits the type its
//! column has in the sampled records that follow, and at least one cell is a value of a
//! numeric column (the evidence that the first record is data). A cell fits
//!
//! - a text column, or a column with no value in the sample: always, but that is no
//!   evidence (an all-text file has a header, as pandas reads it);
//! - any column when it is a missing-value marker (empty, `NA`, `nan`...): no evidence
//!   either;
//! - an int64 column when it is an integer (`1999` fits, `1.5`, `inf` and `year` do not);
//! - a float64 column when the sample holds a value of the same form in that column: an
//!   integer when the column has integers too, a decimal (`1.5`, `1e3`) when it has
//!   decimals, `inf`/`-Infinity` when it has those. So `country,1999,2000` over columns
//!   of decimals (`60.1`) is a header: tools write a float column's whole numbers as
//!   `1.0`, so a bare `1999` above decimals is a name, not a value.
//!
//! - a bool, date or datetime column (every sampled value of one of these kinds, see
//!   `temporal`) when it is a value of that kind: `2024-01-01` over dates fits, `date` does
//!   not, so `date,flag` over dates and booleans is a header.
//!
//! **Years over numbers** (a rule beyond DuckDB's): a first record whose integer cells
//! in integer columns are two or more years (1000 to 2999) in adjacent columns, rising by
//! a constant step, above columns whose values are not years, is a header: the wide
//! tables of statistics offices and the World Bank (`country,1999,2000` over `France,60,61`)
//! name their columns by year. Over columns of years (`2001,2002` over `2003,2004`) the
//! first record stays data.
//!
//! A quoted cell with doubled quotes or text after its closing quote is text. And a first
//! record whose cells are all quoted is a header when some column's sampled cells are
//! never quoted (R's `write.csv`, pandas' `QUOTE_NONNUMERIC`: `"+0","-0"` over `1,2`).
//!
//! **The trailing delimiter**: when there is a header and every sampled record has one
//! more field than the header, empty (a spreadsheet export's `a,b\n1,2,\n`), the file is
//! read with the header's columns and the scan checks that every record ends so.

use super::dialect::SAMPLE_LEN;
use super::nulls::NullSet;
use super::number::{form, Form};
use super::records::{Records, Terminator, Unterminated};
use super::temporal::{parse_temporal, Temporal};

/// Which of bool, date, naive and zoned timestamp a text cell is, as a bit of
/// `Profile::temporal`; 0 for none.
fn temporal_bit(text: &[u8]) -> u8 {
    match parse_temporal(super::number::trim_spaces(text)) {
        None => 0,
        Some(Temporal::Bool(_)) => 1,
        Some(Temporal::Date(_)) => 2,
        Some(Temporal::DateTime { zoned: false, .. }) => 4,
        Some(Temporal::DateTime { zoned: true, .. }) => 8,
    }
}

/// One field of a record as the header guess sees it.
#[derive(Debug, Clone)]
pub(super) struct Cell {
    /// The value as read (`Field::value`).
    pub(super) text: Vec<u8>,
    /// Whether the field was written in quotes.
    pub(super) quoted: bool,
    /// Doubled quotes or text after the closing quote: text whatever it looks like.
    pub(super) escaped: bool,
}

/// Reads the next field at `records.pos` as a `Cell`.
pub(super) fn next_cell(records: &mut Records) -> Result<(Cell, Terminator), Unterminated> {
    let quoted = records.pos < records.end && records.bytes[records.pos] == records.quote;
    let (field, terminator) = records.field()?;
    let cell = Cell {
        text: field.value(records.bytes, records.quote),
        quoted,
        escaped: field.escaped,
    };
    Ok((cell, terminator))
}

/// `cell` as the number parsers read it in a file whose decimal separator is `decimal`
/// ("1,5" becomes "1.5" when it is the comma).
fn with_decimal(mut cell: Cell, decimal: u8) -> Cell {
    if decimal == b',' && !cell.escaped {
        let mut buf = [0u8; 64];
        if let super::number::CommaField::Read(r) =
            super::number::comma_decimal(&cell.text, &mut buf)
        {
            if r.as_ptr() != cell.text.as_ptr() {
                cell.text = r.to_vec();
            }
        }
    }
    cell
}

/// What the sampled records hold in one column.
#[derive(Debug, Clone, Copy, Default)]
struct Profile {
    int: bool,
    decimal: bool,
    special: bool,
    text: bool,
    /// The bits (`temporal_bit`) of the bool, date and timestamp values seen.
    temporal: u8,
    /// Some field of the column (missing or not) was read.
    seen: bool,
    /// Some field of the column was quoted.
    quoted: bool,
    /// Some integer of the column is not a year (outside 1000 to 2999).
    not_years: bool,
}

/// The integer value of `cell` when it is a year (1000 to 2999).
fn year(cell: &Cell) -> Option<i64> {
    let v = super::number::parse_int(super::number::trim_spaces(&cell.text))?;
    (!cell.escaped && (1000..=2999).contains(&v)).then_some(v)
}

impl Profile {
    fn add(&mut self, cell: &Cell, nulls: &NullSet) {
        self.seen = true;
        self.quoted |= cell.quoted;
        if cell.escaped {
            self.text = true;
        } else if !nulls.contains(&cell.text) {
            match form(&cell.text) {
                Form::Int => {
                    self.int = true;
                    self.not_years |= year(cell).is_none();
                }
                Form::Decimal => self.decimal = true,
                Form::Special => self.special = true,
                Form::Text => match temporal_bit(&cell.text) {
                    0 => self.text = true,
                    bit => self.temporal |= bit,
                },
            }
        }
    }

    fn numeric(&self) -> bool {
        !self.text && self.temporal == 0 && (self.int || self.decimal || self.special)
    }

    /// Whether the column is of one of the kinds bool, date, datetime (a mix is text).
    fn temporal(&self) -> bool {
        !(self.text || self.int || self.decimal || self.special) && self.temporal.count_ones() == 1
    }

    /// Whether `cell` fits the column as a value of its type (`None`: it fits, but says
    /// nothing, see the module's rule).
    fn fits(&self, cell: &Cell, nulls: &NullSet) -> Option<bool> {
        let typed = self.numeric() || self.temporal();
        if !typed || (!cell.escaped && nulls.contains(&cell.text)) {
            return None;
        }
        if cell.escaped {
            return Some(false);
        }
        Some(match form(&cell.text) {
            Form::Int => self.int,
            Form::Decimal => self.decimal,
            Form::Special => self.special,
            Form::Text => self.temporal() && temporal_bit(&cell.text) == self.temporal,
        })
    }
}

/// What the sample says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sniffed {
    /// Whether the first record is a header (the caller's answer when given).
    pub(super) has_header: bool,
    /// Whether every record after the header ends in one extra, empty field.
    pub(super) trailing_field: bool,
}

/// Applies the module's rules to the first record, `first`, and the records that start
/// in the `SAMPLE_LEN` bytes after it (from `after_first`).
pub(super) fn sniff(
    records: &mut Records,
    first: &[Cell],
    nulls: &NullSet,
    (given, decimal): (Option<bool>, u8),
) -> Sniffed {
    let first: Vec<Cell> = first
        .iter()
        .map(|c| with_decimal(c.clone(), decimal))
        .collect();
    let first = &first[..];
    let n = first.len();
    let mut profiles = vec![Profile::default(); n];
    let (mut rows, mut all_trailing) = (0u64, true);
    let stop = records.pos.saturating_add(SAMPLE_LEN);
    'records: loop {
        records.skip_blank_lines();
        if records.at_end() || records.pos >= stop {
            break;
        }
        let mut index = 0;
        let mut last_empty;
        loop {
            // A bad record is the scan's to report, with its line.
            let Ok((cell, terminator)) = next_cell(records) else {
                break 'records;
            };
            let cell = with_decimal(cell, decimal);
            last_empty = cell.text.is_empty();
            if let Some(p) = profiles.get_mut(index) {
                p.add(&cell, nulls);
            }
            index += 1;
            if let Terminator::EndOfRecord = terminator {
                break;
            }
        }
        rows += 1;
        all_trailing &= index == n + 1 && last_empty;
    }
    let has_header = given.unwrap_or_else(|| {
        let all_quoted = first.iter().all(|c| c.quoted);
        let quotes_set_it_apart = all_quoted && profiles.iter().any(|p| p.seen && !p.quoted);
        quotes_set_it_apart
            || years_over_numbers(first, &profiles)
            || !first_record_is_data(first, &profiles, nulls)
    });
    Sniffed {
        has_header,
        trailing_field: has_header && rows > 0 && all_trailing,
    }
}

/// The module's "years over numbers" rule: the first record's integer cells in integer
/// columns are at least two years in adjacent columns with a constant rising step, and
/// those columns hold integers that are not years.
fn years_over_numbers(first: &[Cell], profiles: &[Profile]) -> bool {
    let mut years = Vec::new();
    for (j, (cell, profile)) in first.iter().zip(profiles).enumerate() {
        let int_column = profile.numeric() && profile.int && !profile.decimal && !profile.special;
        if !int_column || super::number::parse_int(super::number::trim_spaces(&cell.text)).is_none()
        {
            continue;
        }
        match year(cell) {
            Some(v) if profile.not_years => years.push((j, v)),
            _ => return false,
        }
    }
    let step = match years.as_slice() {
        [(_, a), (_, b), ..] => b - a,
        _ => return false,
    };
    step > 0
        && years
            .windows(2)
            .all(|w| w[1].0 == w[0].0 + 1 && w[1].1 - w[0].1 == step)
}

/// Every cell fits its column, and at least one is a value of a numeric or temporal
/// column.
fn first_record_is_data(first: &[Cell], profiles: &[Profile], nulls: &NullSet) -> bool {
    let mut evidence = false;
    for (cell, profile) in first.iter().zip(profiles) {
        match profile.fits(cell, nulls) {
            Some(false) => return false,
            Some(true) => evidence = true,
            None => {}
        }
    }
    evidence
}

#[cfg(test)]
mod tests {
    use crate::dataset::csv::tests::scan_text;

    fn header(text: &str) -> (bool, Vec<String>, u64) {
        let (d, p) = scan_text(text).unwrap();
        (d.has_header, d.names, p.rows)
    }

    #[test]
    fn numbers_that_do_not_fit_their_column_make_a_header() {
        assert!(header("rownames,year,inf,nan\n1,2013,5,7\n2,2014,6,8\n").0);
        assert!(header("inf,nan\n1,2\n").0);
        assert!(header("country,1999,2000\nFrance,60.1,60.9\n").0);
        assert!(header("x\n1.5\n2\n").0);
        assert!(header("1.5\n2\n3\n").0);
        assert!(header("country,1999,2000\nFrance,60,61\n").0);
        assert!(header("2019,2020\n1,2\n3,4\n").0);
        assert!(header("Country Name,Code,1960,1965,1970\nAruba,ABW,54608,58000,59063\n").0);
        // Over years, not in adjacent columns, not rising evenly, or one not a year: data.
        assert!(!header("2001,2002\n2003,2004\n").0);
        assert!(!header("1999,x,2000\n60,y,61\n").0);
        assert!(!header("1999,2001,2002\n60,61,62\n").0);
        assert!(!header("1999,20000\n60,61\n").0);
        assert!(!header("1999\n60\n").0);
        assert!(!header("1,,3\n4,5,6\n").0);
        assert!(header("a,b\nc,d\n").0);
        assert!(header("1,2\n").0);
        assert!(header("\"+0\",\"-0\"\n1,2\n").0);
        assert!(!header("\"a\",1\n\"b\",2\n").0);
    }

    #[test]
    fn booleans_and_dates_tell_a_header_from_data() {
        assert!(header("date,flag\n2024-01-01,true\n2024-01-02,False\n").0);
        assert!(header("at\n2024-01-01T10:00Z\n").0);
        assert!(!header("2024-01-01,true\n2024-01-02,False\n").0);
        assert!(!header("2024-01-01 10:00,x\n2024-01-02 11:00,y\n").0);
        // A zoned timestamp above naive ones, a date above timestamps: not their kind.
        assert!(header("2024-01-01T10:00Z\n2024-01-01T10:00\n").0);
        assert!(header("2024-01-01\n2024-01-01T10:00\n").0);
        assert!(header("true,1\n1,2\n").0);
        let (_, p) = scan_text("date,flag\n2024-01-01,true\n").unwrap();
        assert_eq!(p.columns[1].summary.exact().unwrap().sum, 1);
    }

    #[test]
    fn a_trailing_delimiter_on_every_record_is_dropped() {
        let (d, p) = scan_text("a,b\n1,2,\n3,4,\n").unwrap();
        assert_eq!(
            (d.names, d.trailing_field, p.rows),
            (vec!["a".into(), "b".into()], true, 2)
        );
        assert_eq!(p.columns[1].summary.exact().unwrap().sum, 6);
        // Within the sample, a record without it makes the file ragged as before.
        let e = scan_text("a,b\n1,2,\n3,4\n").err().unwrap();
        assert!(
            e.message.contains("line 2: expected 2 fields, found 3"),
            "{}",
            e.message
        );
        // Past the sample, each kind of record that breaks the pattern names its line.
        let body = "1,2,\n".repeat(20_000);
        let line = 20_002;
        for (bad, words) in [
            ("3,4\n", "found 2"),
            ("3,4,5\n", "found 3 with a value in the last"),
            ("3,4,\"\"\"\"\n", "with a value in the last"),
            ("3,4,,\n", "found 4"),
        ] {
            let e = scan_text(&format!("a,b\n{body}{bad}")).err().unwrap();
            assert!(
                e.message
                    .contains(&format!("line {line}: expected 2 fields and an empty one"))
                    && e.message.contains(words),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn header_fields_read_as_data_fields() {
        let names = header("\"Pedro \"the\" legend\",a\"\"b,\"x\"\"y\"\n1,2,3\n").1;
        assert_eq!(names, ["Pedro the\" legend\"", "a\"\"b", "x\"y"]);
    }
}
