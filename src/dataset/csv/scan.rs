//! The parallel scan: every record after the header, in chunks on the pool, parsed into
//! per-column statistics that merge in file order.

use super::chunks::chunk_start;
use super::column::{ColumnStats, Kind, Mode};
use super::dialect::{Dialect, SAMPLE_LEN};
use super::nulls::NullSet;
use super::number::{self, comma_decimal, stray_dot, CommaField, NumberScanner};
use super::records::{field_count_error, Field, Records, Terminator};
use crate::dataset::exact::Probe;
use crate::error::Result;
use crate::runtime::pool::pool;
use crate::runtime::progress::Progress;
use rayon::prelude::*;

/// The result of parsing part of a file.
pub struct Parsed {
    /// Records read (blank lines are not records).
    pub rows: u64,
    /// The statistics of the wanted columns, in the order asked for.
    pub columns: Vec<ColumnStats>,
    /// Where the record after the last one read starts: the end of the range, unless
    /// its last record ran past it.
    pub end: usize,
}

impl Parsed {
    /// Adds the records of the part that follows (the same columns); `end` stays.
    pub fn merge(&mut self, next: &Parsed) -> Result<()> {
        self.rows += next.rows;
        for (ours, theirs) in self.columns.iter_mut().zip(&next.columns) {
            ours.merge(theirs)?;
        }
        Ok(())
    }
}

/// Parses the records that start in `bytes[start..stop]` (the last may run past `stop`),
/// accumulating the columns in `wanted` (indexes into the header; others are only checked
/// for the field count). Also returns where the next record starts: if `stop` was not a
/// record boundary (a wrong guess), that differs from `stop`.
fn parse_range(
    bytes: &[u8],
    (start, stop): (usize, usize),
    dialect: &Dialect,
    wanted: &Wanted,
    path: &str,
) -> (Result<Parsed>, usize) {
    let mut end = start;
    let parsed = parse_records(bytes, (start, stop), dialect, wanted, path, &mut end);
    (parsed, end)
}

/// The columns a scan reads: for each column of the header, its slot in the output, and
/// for each slot how it is read.
struct Wanted<'a> {
    slots: Vec<Option<usize>>,
    modes: Vec<Mode>,
    /// An exact-quantile pass: each slot's probes.
    probes: &'a [Vec<Probe>],
    /// About how many records the file holds.
    expected_rows: u64,
    /// Slots whose distinct count is past its exact phase in the chunks merged so far:
    /// the next chunks count them in registers from the start (the same registers).
    distinct_in_registers: Vec<bool>,
    /// Drops the pages of a byte range this process has read (they count in its
    /// resident memory until then); a chunk calls it as it goes, not only at its end.
    release: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

/// How much of a chunk is parsed between two releases of the pages it has read.
const RELEASE_EVERY: usize = 4 << 20;

impl<'a> Wanted<'a> {
    fn new(
        ncols: usize,
        columns: &[(usize, Mode)],
        probes: &'a [Vec<Probe>],
        expected_rows: u64,
    ) -> Wanted<'a> {
        let mut slots = vec![None; ncols];
        for (slot, &(c, _)) in columns.iter().enumerate() {
            slots[c] = Some(slot);
        }
        Wanted {
            slots,
            modes: columns.iter().map(|&(_, m)| m).collect(),
            probes,
            expected_rows,
            distinct_in_registers: vec![false; columns.len()],
            release: None,
        }
    }

    fn empty_columns(&self) -> Vec<ColumnStats> {
        let mut columns: Vec<ColumnStats> = self
            .modes
            .iter()
            .map(|&m| ColumnStats::new(m, self.expected_rows))
            .collect();
        for (c, probes) in columns.iter_mut().zip(self.probes) {
            c.probes = Some(probes.iter().map(Probe::fresh).collect());
        }
        for (c, &registers) in columns.iter_mut().zip(&self.distinct_in_registers) {
            if registers {
                c.sketch.distinct.skip_exact();
            }
        }
        columns
    }
}

/// About how many records `bytes[first..last]` holds: its size over the line length of
/// its first 64 KiB (a line with quoted newlines counts as several, which only errs high).
fn expected_rows(bytes: &[u8], first: usize, last: usize) -> u64 {
    let sample = &bytes[first..last.min(first + (64 << 10))];
    let lines = memchr::memchr_iter(b'\n', sample).count() as u64;
    if sample.is_empty() {
        return 0;
    }
    ((last - first) as u64).saturating_mul(lines.max(1)) / sample.len() as u64
}

fn parse_records(
    bytes: &[u8],
    range: (usize, usize),
    dialect: &Dialect,
    wanted: &Wanted,
    path: &str,
    next_record: &mut usize,
) -> Result<Parsed> {
    #[cfg(target_arch = "x86_64")]
    if crate::runtime::cpu::has_sse41() {
        // SAFETY: the CPU has SSE4.1 (runtime::cpu).
        return unsafe { parse_records_sse41(bytes, range, dialect, wanted, path, next_record) };
    }
    parse_records_with::<number::Portable>(bytes, range, dialect, wanted, path, next_record)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.1")]
unsafe fn parse_records_sse41(
    bytes: &[u8],
    range: (usize, usize),
    dialect: &Dialect,
    wanted: &Wanted,
    path: &str,
    next_record: &mut usize,
) -> Result<Parsed> {
    parse_records_with::<number::Sse41>(bytes, range, dialect, wanted, path, next_record)
}

/// The record loop, compiled once per number scanner.
#[inline(always)]
fn parse_records_with<S: NumberScanner>(
    bytes: &[u8],
    (start, stop): (usize, usize),
    dialect: &Dialect,
    wanted: &Wanted,
    path: &str,
    next_record: &mut usize,
) -> Result<Parsed> {
    let ncols = dialect.names.len();
    let expected = ncols + dialect.trailing_field as usize;
    let mut columns = wanted.empty_columns();
    let mut records = Records {
        bytes,
        end: bytes.len(),
        pos: start,
        delimiter: dialect.delimiter,
        quote: dialect.quote,
        comment: dialect.comment,
    };
    let nulls = NullSet::new(&dialect.null_values);
    // Numbers are parsed on the fly unless a missing-value marker could look like one,
    // or a number has a decimal comma (the general path swaps it).
    let fast_numbers = !nulls.could_be_a_number() && dialect.decimal == b'.';
    let mut rows = 0u64;
    let mut released = start;
    loop {
        *next_record = records.pos;
        if records.pos >= stop {
            break;
        }
        if records.pos - released >= RELEASE_EVERY {
            if let Some(release) = wanted.release {
                release(released, records.pos);
            }
            released = records.pos;
        }
        records.skip_blank_lines();
        if records.at_end() {
            *next_record = records.pos;
            break;
        }
        let record_start = records.pos;
        let (fields, extra_value) = parse_record::<S>(
            &mut records,
            &mut columns,
            &wanted.slots,
            &nulls,
            fast_numbers,
            dialect,
            path,
        )?;
        if fields != expected || extra_value {
            return Err(field_count_error(
                bytes,
                record_start,
                (&dialect.names, dialect.trailing_field),
                (fields, extra_value),
                path,
            ));
        }
        rows += 1;
    }
    for c in &mut columns {
        c.finish();
    }
    Ok(Parsed {
        rows,
        columns,
        end: *next_record,
    })
}

/// Adds the fields of the record at `records.pos` to the `wanted` columns; returns how
/// many fields it had, and whether a field past the header's (a trailing delimiter's,
/// which must be empty) held a value.
#[inline(always)]
fn parse_record<S: NumberScanner>(
    records: &mut Records,
    columns: &mut [ColumnStats],
    wanted: &[Option<usize>],
    nulls: &NullSet,
    fast_numbers: bool,
    dialect: &Dialect,
    path: &str,
) -> Result<(usize, bool)> {
    let bytes = records.bytes;
    let ncols = dialect.names.len();
    let mut index = 0usize;
    let mut extra_value = false;
    loop {
        // The common case, a plain number in a numeric column, is scanned and parsed
        // in one pass; anything else goes through the general field reader.
        let slot = wanted.get(index).copied().flatten();
        if let Some(slot) = slot {
            let column = &mut columns[slot];
            if fast_numbers && column.wants_numbers() {
                if let Some((number, end, at)) = S::scan(bytes, records.pos, dialect.delimiter) {
                    column.push_number(number, (end - records.pos) as u64);
                    let (_, terminator) = records.finish_field(
                        Field {
                            start: records.pos,
                            end,
                            escaped: false,
                            trailing_end: end,
                        },
                        at,
                    );
                    index += 1;
                    if let Terminator::EndOfRecord = terminator {
                        break;
                    }
                    continue;
                }
            }
        }
        let (field, terminator) = records.field().map_err(|u| u.error(bytes, path))?;
        if index < ncols {
            if let Some(slot) = slot {
                let value = &bytes[field.start..field.end];
                let column = &mut columns[slot];
                if field.escaped {
                    let value = field.value(bytes, dialect.quote);
                    column.push_text(&value, super::column::char_len(&value));
                } else if nulls.contains(value) {
                    column.push_missing();
                } else if dialect.decimal == b',' && column.wants_numbers() {
                    let mut buf = [0u8; 64];
                    match comma_decimal(value, &mut buf) {
                        CommaField::Read(read) => column.push(read, true),
                        CommaField::StrayDot => {
                            let name = &dialect.names[index];
                            return Err(stray_dot(bytes, field.start, name, value, path));
                        }
                    }
                } else {
                    column.push(value, true);
                }
            }
        } else {
            extra_value |= field.end > field.start || field.escaped;
        }
        index += 1;
        if let Terminator::EndOfRecord = terminator {
            break;
        }
    }
    Ok((index, extra_value))
}

/// What a chunk's state for one column costs while it is parsed, about: its value
/// buffers, the quantile sketch's first levels and the exact distinct set of the chunk.
const COLUMN_STATE_BYTES: usize = 24 << 10;
/// What the chunks in flight may hold in column states together.
const IN_FLIGHT_BYTES: usize = 32 << 20;

/// How many chunks are parsed before their states are merged: four per thread, down to
/// one per thread when the columns' states would pass `IN_FLIGHT_BYTES`.
fn window(columns: usize, threads: usize) -> usize {
    let threads = threads.max(1);
    (IN_FLIGHT_BYTES / (columns.max(1) * COLUMN_STATE_BYTES)).clamp(threads, 4 * threads)
}

/// Parses every record after the header in parallel: the row count and the statistics
/// of `columns` (positions in the header, each with how to read it, in output order).
/// With `probes` (one list per column), an exact-quantile pass: the values go to them.
pub fn scan(
    bytes: &[u8],
    dialect: &Dialect,
    columns: &[(usize, Mode)],
    probes: &[Vec<Probe>],
    path: &str,
    progress: &Progress,
    release: &(dyn Fn(usize, usize) + Sync),
) -> Result<Parsed> {
    let range = dialect.data_start.min(bytes.len())..bytes.len();
    scan_range(
        bytes, dialect, range, columns, probes, path, progress, release,
    )
}

/// `scan` of the records that start in `range` (a partition of the file): its start is
/// a record boundary or a guess of one, and the last record may run past its end.
/// `Parsed::end` tells where the next record starts, so that the caller can check that
/// the next range's guessed start was right.
#[allow(clippy::too_many_arguments)]
pub fn scan_range(
    bytes: &[u8],
    dialect: &Dialect,
    range: std::ops::Range<usize>,
    columns: &[(usize, Mode)],
    probes: &[Vec<Probe>],
    path: &str,
    progress: &Progress,
    release: &(dyn Fn(usize, usize) + Sync),
) -> Result<Parsed> {
    let text = (bytes, dialect, range);
    scan_part(
        text,
        columns,
        probes,
        path,
        progress,
        release,
        &Hints::default(),
    )
}

/// What a scan of one part of a longer stream (a compressed file's window) knows of the
/// whole: so that its sketches are sized for the file, and its distinct counts start
/// in registers once the parts before are past the exact phase (the same registers).
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// About how many records the whole stream holds.
    pub expected_rows: Option<u64>,
    /// Per column: the parts merged so far count distinct values in registers.
    pub distinct_in_registers: Vec<bool>,
}

/// `scan_range` of `bytes[range]` with `hints`.
pub fn scan_part(
    (bytes, dialect, range): (&[u8], &Dialect, std::ops::Range<usize>),
    columns: &[(usize, Mode)],
    probes: &[Vec<Probe>],
    path: &str,
    progress: &Progress,
    release: &(dyn Fn(usize, usize) + Sync),
    hints: &Hints,
) -> Result<Parsed> {
    let len = range.end.min(bytes.len());
    let first = range.start.min(len);
    let expected = hints
        .expected_rows
        .unwrap_or_else(|| expected_rows(bytes, first, len));
    let mut wanted = Wanted::new(dialect.names.len(), columns, probes, expected);
    for (w, &h) in wanted
        .distinct_in_registers
        .iter_mut()
        .zip(&hints.distinct_in_registers)
    {
        *w = h;
    }
    wanted.release = Some(release);
    let pool = pool()?;
    pool.install(|| {
        let raw: Vec<usize> = (first..len).step_by(dialect.chunk_bytes.max(1)).collect();
        // Each task finds its own bounds, so only the chunks being parsed are mapped.
        let bound = |i: usize| match i {
            0 => first,
            i if i >= raw.len() => len,
            // Never past the range's end: records after it are another range's (the
            // next partition's, or a compressed file's next window, cut mid-record).
            i => chunk_start(bytes, raw[i], dialect.delimiter, dialect.quote).min(len),
        };
        progress.set_total((len - first) as u64);
        let mut total = Parsed {
            rows: 0,
            columns: wanted.empty_columns(),
            end: first,
        };
        // Chunk starts were guessed from quote parity, which a stray quote in an unquoted
        // field upsets. A chunk counts only if it starts where the previous one ended;
        // otherwise it is parsed again from there. In file order, so the error reported
        // is the first one in the file.
        let mut expected = first;
        // A few chunks per thread at a time: their partial sketches are merged as soon as
        // the window is done, so memory stays bounded whatever the file's size; fewer
        // for a wide file, whose chunks each hold a state for every column.
        let window = window(columns.len(), rayon::current_num_threads());
        for group in (0..raw.len()).collect::<Vec<_>>().chunks(window) {
            type Part = (usize, usize, Result<Parsed>, usize);
            let parts: Vec<Part> = group
                .par_iter()
                .map(|&i| {
                    let (start, stop) = (bound(i), bound(i + 1));
                    if let Err(e) = progress.check() {
                        return (start, stop, Err(e), stop);
                    }
                    let (part, end) =
                        parse_range(bytes, (start, stop.max(start)), dialect, &wanted, path);
                    release(start, end.max(stop));
                    progress.advance((raw.get(i + 1).copied().unwrap_or(len) - raw[i]) as u64);
                    (start, stop, part, end)
                })
                .collect();
            for (start, stop, part, end) in parts {
                if expected >= stop {
                    continue; // the previous chunk's last record covered this whole chunk
                }
                let (part, end) = if start == expected {
                    (part, end)
                } else {
                    progress.check()?;
                    parse_range(bytes, (expected, stop), dialect, &wanted, path)
                };
                let part = part?;
                expected = end;
                total.merge(&part)?;
            }
            for (hint, t) in wanted.distinct_in_registers.iter_mut().zip(&total.columns) {
                *hint = !t.sketch.distinct.is_exact();
            }
        }
        total.end = expected.max(first);
        Ok(total)
    })
}

/// Guesses column kinds from the first records (for `dtypes` before a full scan).
pub fn sample_kinds(bytes: &[u8], dialect: &Dialect, path: &str) -> Vec<Kind> {
    let end = (dialect.data_start + SAMPLE_LEN).min(bytes.len());
    // Only whole records: stop at the last newline of the sample unless it is the end.
    let end = if end == bytes.len() {
        end
    } else {
        memchr::memrchr(b'\n', &bytes[dialect.data_start..end])
            .map_or(dialect.data_start, |p| dialect.data_start + p + 1)
    };
    let all: Vec<(usize, Mode)> = (0..dialect.names.len()).map(|c| (c, Mode::Infer)).collect();
    let wanted = Wanted::new(dialect.names.len(), &all, &[], 0);
    match parse_range(bytes, (dialect.data_start, end), dialect, &wanted, path).0 {
        Ok(parsed) => parsed.columns.iter().map(|c| c.kind).collect(),
        Err(_) => vec![Kind::Empty; dialect.names.len()],
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::csv::{column::Kind, detect, tests::scan_text, CsvOptions};

    #[test]
    fn wide_files_have_fewer_chunks_in_flight() {
        assert_eq!(window(11, 2), 8);
        assert_eq!(window(200, 2), 6);
        assert_eq!(window(1000, 2), 2);
        assert_eq!(window(100_000, 1), 1);
        assert_eq!(window(0, 0), 4);
    }

    #[test]
    fn numbers_read_on_the_fly_match_the_general_reader() {
        let text = "a,b,c\r\n1,2.50,-3\r\n+4,.5,1.\r\n-0,7,12345678901234567890\r\n9,1e3, 8\r\n";
        let (_, fast) = scan_text(text).unwrap();
        // A numeric-looking null marker turns the on-the-fly path off: same results.
        let bytes = text.as_bytes();
        let mut d = detect(bytes, &CsvOptions::default(), "t.csv").unwrap();
        d.null_values.push(b"-999".to_vec());
        let slow = scan(
            bytes,
            &d,
            &[(0, Mode::Infer), (1, Mode::Infer), (2, Mode::Infer)],
            &[],
            "t.csv",
            &Progress::default(),
            &|_, _| {},
        )
        .unwrap();
        assert_eq!((fast.rows, slow.rows), (4, 4));
        for (f, s) in fast.columns.iter().zip(&slow.columns) {
            assert_eq!(
                (f.kind, f.present, f.missing, f.min_len, f.max_len),
                (s.kind, s.present, s.missing, s.min_len, s.max_len)
            );
            assert_eq!(f.summary.sum().to_bits(), s.summary.sum().to_bits());
            assert_eq!(f.summary.exact(), s.summary.exact());
        }
        assert_eq!(fast.columns[0].summary.exact().unwrap().sum, 14);
        assert_eq!(fast.columns[1].summary.sum(), 1010.0);
        assert_eq!(fast.columns[2].kind, Kind::Float);
    }
}
