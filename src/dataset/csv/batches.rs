//! CSV records as Arrow record batches: chunks of the file (cut as the parallel scan cuts
//! them) parsed in parallel, a window at a time, and handed out in file order. The
//! column types come from a scan of the whole file (`Dataset::arrow_schema`), so a value
//! that does not fit its column can only mean the file changed: an error, never a value
//! read as something else.

use super::chunks::chunk_start;
use super::dialect::Dialect;
use super::nulls::NullSet;
#[cfg(target_arch = "x86_64")]
use super::number::Sse41;
use super::number::{
    comma_decimal, parse_float, parse_int, stray_dot, trim_spaces, CommaField, Number,
    NumberScanner, Portable, POWERS_OF_TEN,
};
use super::records::{field_count_error, line_of, Field, Records, Terminator};
use super::temporal::{parse_bool, parse_temporal, Temporal};
use crate::arrow::{Batch, ColumnBuilder, DataType};
use crate::error::{Error, Result};
use crate::runtime::pool::pool;
use rayon::prelude::*;
use std::collections::VecDeque;

/// Ends the message of a value that does not fit its column's type (a file changed since
/// its types were found, or types guessed from a sample: `BatchReader` tells which).
pub(crate) const DOES_NOT_FIT: &str = " (did the file change?)";

/// The batches of one CSV file, in order: see the module documentation.
#[derive(Debug)]
pub struct CsvBatches {
    /// Nominal chunk starts (the first is the first data byte).
    starts: Vec<usize>,
    /// The next chunk to parse.
    next_chunk: usize,
    /// Where the next record starts: a chunk that does not start there (a wrong guess of
    /// the cut) is parsed again from there.
    expected: usize,
    /// Where the records read end: the last may run past it (a partition's end).
    end: usize,
    /// A partition's start guessed from the quotes near its cut: should its first records
    /// fail to parse, they are read from the boundary the other quote state gives.
    guessed: bool,
    queue: VecDeque<Batch>,
}

impl CsvBatches {
    /// The batches of the records of `bytes` described by `dialect`.
    pub fn new(bytes: &[u8], dialect: &Dialect) -> CsvBatches {
        CsvBatches::of_range(bytes, dialect, dialect.data_start..bytes.len())
    }

    /// The batches of the records that start in `range` (a partition: its start a
    /// record boundary or a guess of one; the last record may run past its end).
    pub fn of_range(bytes: &[u8], dialect: &Dialect, range: std::ops::Range<usize>) -> CsvBatches {
        let end = range.end.min(bytes.len());
        let first = range.start.min(end);
        let starts = (first..end).step_by(dialect.chunk_bytes.max(1)).collect();
        CsvBatches {
            starts,
            next_chunk: 0,
            expected: first,
            end,
            guessed: first > dialect.data_start,
            queue: VecDeque::new(),
        }
    }

    /// Where the record after the last one read starts (once every batch is out: where
    /// the next partition should start).
    pub fn next_record(&self) -> usize {
        self.expected
    }

    /// The next batch of at most `rows` rows of `columns` (positions in the header, each
    /// with its Arrow type); `None` after the last. `release` drops the pages parsed.
    pub fn next(
        &mut self,
        bytes: &[u8],
        dialect: &Dialect,
        columns: &[(usize, DataType)],
        rows: usize,
        path: &str,
        release: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Option<Batch>> {
        while self.queue.is_empty() && self.next_chunk < self.starts.len() {
            let parsed = self.parse_window(bytes, dialect, columns, rows, path, release);
            if let Err(e) = parsed {
                // Nothing handed out yet from a guessed start: the guess may be wrong.
                let first = self.starts[0];
                if !std::mem::take(&mut self.guessed) || self.expected > first {
                    return Err(e);
                }
                let Some(other) =
                    super::chunks::other_start(bytes, first, dialect.delimiter, dialect.quote)
                else {
                    return Err(e);
                };
                // Past the end: the whole partition is inside one quoted field, which a
                // record of an earlier partition holds; no batch.
                *self = CsvBatches::of_range(bytes, dialect, other.min(self.end)..self.end);
                self.expected = self.expected.max(other);
                self.guessed = false;
                let again = self.next(bytes, dialect, columns, rows, path, release);
                return again.map_err(|_| e);
            }
        }
        Ok(self.queue.pop_front())
    }

    /// Parses the next chunks, one per thread, in parallel, into the queue.
    fn parse_window(
        &mut self,
        bytes: &[u8],
        dialect: &Dialect,
        columns: &[(usize, DataType)],
        rows: usize,
        path: &str,
        release: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<()> {
        let pool = pool()?;
        let len = self.end;
        let starts = &self.starts;
        let bound = |i: usize| match i {
            0 => starts[0],
            i if i >= starts.len() => len,
            // Never past the end: records after it are the next partition's.
            i => chunk_start(bytes, starts[i], dialect.delimiter, dialect.quote).min(len),
        };
        let window = pool.current_num_threads().max(1);
        let group: Vec<usize> =
            (self.next_chunk..(self.next_chunk + window).min(starts.len())).collect();
        self.next_chunk += group.len();
        type Part = (usize, usize, Result<Vec<Batch>>, usize);
        let parts: Vec<Part> = pool.install(|| {
            group
                .par_iter()
                .map(|&i| {
                    let (start, stop) = (bound(i), bound(i + 1));
                    let mut end = start;
                    let parsed = parse(
                        bytes,
                        (start, stop.max(start)),
                        dialect,
                        columns,
                        rows,
                        path,
                        &mut end,
                    );
                    release(start, end.max(stop));
                    (start, stop, parsed, end)
                })
                .collect()
        });
        for (start, stop, parsed, end) in parts {
            if self.expected >= stop {
                continue; // the previous chunk's last record covered this whole chunk
            }
            let (parsed, end) = if start == self.expected {
                (parsed, end)
            } else {
                let mut end = self.expected;
                let again = parse(
                    bytes,
                    (self.expected, stop),
                    dialect,
                    columns,
                    rows,
                    path,
                    &mut end,
                );
                (again, end)
            };
            self.queue.extend(parsed?);
            self.expected = end;
        }
        Ok(())
    }
}

/// Parses the records that start in `bytes[start..stop]` into batches of at most `rows`
/// rows; `next_record` is left where the record after them starts.
fn parse(
    bytes: &[u8],
    range: (usize, usize),
    dialect: &Dialect,
    columns: &[(usize, DataType)],
    rows: usize,
    path: &str,
    next_record: &mut usize,
) -> Result<Vec<Batch>> {
    #[cfg(target_arch = "x86_64")]
    if crate::runtime::cpu::has_sse41() {
        // SAFETY: the CPU has SSE4.1 (runtime::cpu).
        return unsafe { parse_sse41(bytes, range, dialect, columns, rows, path, next_record) };
    }
    parse_with::<Portable>(bytes, range, dialect, columns, rows, path, next_record)
}

/// `parse` with the SSE4.1 number scanner (the describe scan's).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.1")]
unsafe fn parse_sse41(
    bytes: &[u8],
    range: (usize, usize),
    dialect: &Dialect,
    columns: &[(usize, DataType)],
    rows: usize,
    path: &str,
    next_record: &mut usize,
) -> Result<Vec<Batch>> {
    parse_with::<Sse41>(bytes, range, dialect, columns, rows, path, next_record)
}

/// The record loop, compiled once per number scanner.
#[inline(always)]
fn parse_with<S: NumberScanner>(
    bytes: &[u8],
    (start, stop): (usize, usize),
    dialect: &Dialect,
    columns: &[(usize, DataType)],
    rows: usize,
    path: &str,
    next_record: &mut usize,
) -> Result<Vec<Batch>> {
    let rows = rows.max(1);
    let ncols = dialect.names.len();
    let mut slots = vec![None; ncols];
    for (slot, &(c, _)) in columns.iter().enumerate() {
        slots[c] = Some(slot);
    }
    let nulls = NullSet::new(&dialect.null_values);
    // Numbers are read on the fly unless a missing-value marker could look like one,
    // or a number has a decimal comma (the general path swaps it).
    let fast_numbers = !nulls.could_be_a_number() && dialect.decimal == b'.';
    let mut records = Records {
        bytes,
        end: bytes.len(),
        pos: start,
        delimiter: dialect.delimiter,
        quote: dialect.quote,
        comment: dialect.comment,
    };
    // A guess of the rows a chunk holds, for the builders' first capacity.
    let capacity = rows.min(((stop - start) / 16).max(1));
    let new_builders = || -> Vec<ColumnBuilder> {
        columns
            .iter()
            .map(|&(_, t)| ColumnBuilder::new(t, capacity))
            .collect()
    };
    let mut builders = new_builders();
    let mut batches = Vec::new();
    let mut in_batch = 0usize;
    loop {
        *next_record = records.pos;
        if records.pos >= stop {
            break;
        }
        records.skip_blank_lines();
        if records.at_end() {
            *next_record = records.pos;
            break;
        }
        let record_start = records.pos;
        let mut index = 0usize;
        let mut extra_value = false;
        loop {
            // The common case, a plain number in a numeric column, in one pass.
            if let Some(Some(slot)) = slots.get(index) {
                if fast_numbers {
                    if let Some((end, at)) = push_plain_number::<S>(
                        &mut builders[*slot],
                        bytes,
                        records.pos,
                        dialect.delimiter,
                    ) {
                        let field = Field {
                            start: records.pos,
                            end,
                            escaped: false,
                            trailing_end: end,
                        };
                        let (_, terminator) = records.finish_field(field, at);
                        index += 1;
                        if let Terminator::EndOfRecord = terminator {
                            break;
                        }
                        continue;
                    }
                }
            }
            let (field, terminator) = records.field().map_err(|u| u.error(bytes, path))?;
            if index >= ncols {
                extra_value |= field.end > field.start || field.escaped;
            } else if let Some(slot) = slots[index] {
                let raw = &bytes[field.start..field.end];
                let builder = &mut builders[slot];
                if nulls.contains(raw) {
                    builder.push_null();
                    Ok(())
                } else if field.escaped {
                    let value = field.value(bytes, dialect.quote);
                    push(builder, &value, false)
                } else if dialect.decimal == b','
                    && matches!(builder.data_type(), DataType::Float64 | DataType::Int64)
                {
                    let mut buf = [0u8; 64];
                    match comma_decimal(raw, &mut buf) {
                        CommaField::Read(read) => push(builder, read, true),
                        CommaField::StrayDot => {
                            let name = &dialect.names[index];
                            return Err(stray_dot(bytes, field.start, name, raw, path));
                        }
                    }
                } else {
                    push(builder, raw, true)
                }
                .map_err(|what| {
                    Error::data_format(
                        path,
                        line_of(bytes, record_start),
                        &dialect.names[index],
                        format!(
                            "{:?} is not {what}, the type the column is read as{DOES_NOT_FIT}",
                            String::from_utf8_lossy(&raw[..raw.len().min(40)])
                        ),
                    )
                })?;
            }
            index += 1;
            if let Terminator::EndOfRecord = terminator {
                break;
            }
        }
        if index != ncols + dialect.trailing_field as usize || extra_value {
            return Err(field_count_error(
                bytes,
                record_start,
                (&dialect.names, dialect.trailing_field),
                (index, extra_value),
                path,
            ));
        }
        in_batch += 1;
        if in_batch == rows {
            batches.push(finish(
                std::mem::replace(&mut builders, new_builders()),
                in_batch,
            ));
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        batches.push(finish(builders, in_batch));
    }
    Ok(batches)
}

fn finish(builders: Vec<ColumnBuilder>, rows: usize) -> Batch {
    Batch {
        rows,
        columns: builders.into_iter().map(ColumnBuilder::finish).collect(),
    }
}

/// Appends the plain number at `bytes[pos..]` (`scan_number`'s forms) to an int64 or
/// float64 column; returns where its text ends and where its terminator is, or `None`
/// (not such a number, or not of the column's type) for the general reader.
#[inline(always)]
fn push_plain_number<S: NumberScanner>(
    builder: &mut ColumnBuilder,
    bytes: &[u8],
    pos: usize,
    delimiter: u8,
) -> Option<(usize, usize)> {
    let t = builder.data_type();
    if !matches!(t, DataType::Int64 | DataType::Float64) {
        return None;
    }
    let Some((number, end, at)) = S::scan(bytes, pos, delimiter) else {
        return (t == DataType::Float64)
            .then(|| push_long_float(builder, bytes, pos, delimiter))
            .flatten();
    };
    match (number, t) {
        (Number::Int(v), DataType::Int64) => builder.push_i64(v),
        // "-0" is the float -0.0, as every float parser reads it.
        (Number::Int(0), _) if bytes[pos] == b'-' => builder.push_f64(-0.0),
        (Number::Int(v), _) => builder.push_f64(v as f64),
        // Below 2^53 and 10^15: one correctly rounded division, as every parser gives it.
        (Number::Decimal(m, scale), DataType::Float64) => {
            builder.push_f64(m / POWERS_OF_TEN[scale as usize])
        }
        (Number::Decimal(..), _) => return None,
    }
    Some((end, at))
}

/// Appends a float that `scan_number` leaves to the general reader (more than 15 digits,
/// an exponent: how pandas and polars write doubles) when the field is one plain number:
/// digits first (after a sign or point), so never a word such as a missing-value marker.
#[inline]
fn push_long_float(
    builder: &mut ColumnBuilder,
    bytes: &[u8],
    pos: usize,
    delimiter: u8,
) -> Option<(usize, usize)> {
    let rest = bytes.get(pos..)?;
    let digit_at = match rest.first()? {
        b'-' | b'+' => 1 + usize::from(rest.get(1) == Some(&b'.')),
        b'.' => 1,
        _ => 0,
    };
    if !rest.get(digit_at)?.is_ascii_digit() {
        return None;
    }
    let (value, n) = fast_float2::parse_partial::<f64, _>(rest).ok()?;
    let end = pos + n;
    let at = match bytes.get(end) {
        None => end,
        Some(&b) if b == delimiter || b == b'\n' => end,
        Some(b'\r') if bytes.get(end + 1).is_none_or(|&b| b == b'\n') => end + 1,
        _ => return None,
    };
    builder.push_f64(value);
    Some((end, at))
}

/// Appends one present value to its column; `Err` names the type it does not fit.
/// `plain`: the field had no quotes to undo (an escaped field is text only).
#[inline]
fn push(
    builder: &mut ColumnBuilder,
    value: &[u8],
    plain: bool,
) -> std::result::Result<(), &'static str> {
    let t = builder.data_type();
    if matches!(t, DataType::Utf8 | DataType::LargeUtf8) {
        builder.push_text(value);
        return Ok(());
    }
    let trimmed = trim_spaces(value);
    match t {
        DataType::Int64 => match parse_int(trimmed).filter(|_| plain) {
            Some(v) => builder.push_i64(v),
            None => return Err("an int64"),
        },
        DataType::Float64 => {
            // The float parser reads integers too (and "-0" as -0.0).
            match parse_float(trimmed).filter(|_| plain) {
                Some(v) => builder.push_f64(v),
                None => return Err("a float64"),
            }
        }
        DataType::Bool => match parse_bool(trimmed).filter(|_| plain) {
            Some(v) => builder.push_bool(v),
            None => return Err("a bool"),
        },
        DataType::Date32 => match parse_temporal(trimmed).filter(|_| plain) {
            Some(Temporal::Date(days)) => builder.push_i64(days),
            _ => return Err("a date"),
        },
        DataType::Timestamp { zoned } => match parse_temporal(trimmed).filter(|_| plain) {
            Some(Temporal::DateTime { micros, zoned: z }) if z == zoned => builder.push_i64(micros),
            _ => return Err("a timestamp"),
        },
        other => unreachable!("no CSV column is {other:?}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::Buffer;
    use crate::dataset::csv::{detect, CsvOptions};

    fn i64s(b: &Buffer) -> Vec<i64> {
        b.owned_bytes()
            .unwrap()
            .chunks(8)
            .map(|c| i64::from_ne_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn records_become_batches_in_order_through_wrong_cuts() {
        // Quoted newlines everywhere and tiny chunks: most cuts are wrong guesses.
        let mut text = String::from("n,s,d\n");
        for i in 0..500 {
            text.push_str(&format!(
                "{i},\"a\n{i}\",{}\n",
                if i % 7 == 0 {
                    "NA".into()
                } else {
                    format!("2024-01-{:02}", 1 + i % 28)
                }
            ));
        }
        let bytes = text.as_bytes();
        let mut d = detect(bytes, &CsvOptions::default(), "b.csv").unwrap();
        d.chunk_bytes = 37;
        let columns = [
            (0, DataType::Int64),
            (1, DataType::Utf8),
            (2, DataType::Date32),
        ];
        let mut reader = CsvBatches::new(bytes, &d);
        let (mut all, mut nulls, mut sizes) = (Vec::new(), 0, Vec::new());
        while let Some(b) = reader
            .next(bytes, &d, &columns, 64, "b.csv", &|_, _| {})
            .unwrap()
        {
            assert!(b.rows <= 64 && b.rows > 0);
            sizes.push(b.rows);
            all.extend(i64s(&b.columns[0].buffers[0]));
            nulls += b.columns[2].null_count;
            assert_eq!(b.columns[1].len, b.rows);
        }
        assert_eq!(all, (0..500).collect::<Vec<i64>>());
        assert_eq!(nulls, (0..500).filter(|i| i % 7 == 0).count());
        assert_eq!(sizes.iter().sum::<usize>(), 500);
    }

    #[test]
    fn a_value_that_does_not_fit_is_an_error_with_its_line() {
        let text = "a\n1\n2\nx\n";
        let d = detect(text.as_bytes(), &CsvOptions::default(), "e.csv").unwrap();
        let mut reader = CsvBatches::new(text.as_bytes(), &d);
        let e = reader
            .next(
                text.as_bytes(),
                &d,
                &[(0, DataType::Int64)],
                10,
                "e.csv",
                &|_, _| {},
            )
            .unwrap_err();
        assert!(
            e.message.contains("line 4") && e.message.contains("\"x\" is not an int64"),
            "{}",
            e.message
        );
    }
}
