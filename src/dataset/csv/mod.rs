//! CSV and TSV: dialect detection, record-aligned parallel chunks, and the parser.
//!
//! RFC 4180 quoting (quoted delimiters and newlines, doubled quotes), CRLF or LF, an
//! optional UTF-8 BOM, blank lines skipped. Chunks start at record boundaries even
//! inside quoted newlines: the parity of the quotes before a position says whether it is
//! inside a quoted field, and quotes are counted in parallel first (only when the file
//! has any).

pub mod column;
mod number;

use crate::error::{Error, Result};
use crate::runtime::pool::pool;
use crate::runtime::progress::Progress;
use column::{ColumnStats, Kind};
use number::NumberScanner;
use rayon::prelude::*;

/// How a CSV file is written, detected or given.
#[derive(Debug, Clone)]
pub struct Dialect {
    pub delimiter: u8,
    pub quote: u8,
    pub has_header: bool,
    pub names: Vec<String>,
    /// Offset of the first data record (after the BOM and the header).
    pub data_start: usize,
    pub null_values: Vec<Vec<u8>>,
    /// Bytes per parallel task (`CHUNK_BYTES`; tiny in the fuzz targets, so that small
    /// inputs cross chunk boundaries).
    pub chunk_bytes: usize,
}

/// The CSV options a caller may set; `None` means detect.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    pub delimiter: Option<u8>,
    pub has_header: Option<bool>,
    pub null_values: Option<Vec<String>>,
}

/// Read as missing by default, as pandas does.
pub const DEFAULT_NULLS: &[&str] = &[
    "", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "#N/A",
];

const CANDIDATES: &[u8] = b",\t;|";
const SAMPLE_LEN: usize = 1 << 16;
/// Bytes per parallel task: small enough for progress and cancellation to be prompt.
const CHUNK_BYTES: usize = 4 << 20;

/// One field of a record: where it is and whether it needs unquoting.
#[derive(Debug, Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
    /// Quoted with doubled quotes inside, or with text after the closing quote: the bytes
    /// `start..end` are not the value as written.
    escaped: bool,
    /// Text after a closing quote (`"ab"cd`) is `end + 1..trailing_end`; else empty.
    trailing_end: usize,
}

impl Field {
    /// The number of characters of the value as Python's csv module reads it.
    fn text_len(&self, bytes: &[u8], quote: u8) -> u64 {
        let inside = &bytes[self.start..self.end];
        let doubled = if self.escaped {
            let mut n = 0;
            let mut i = 0;
            while i + 1 < inside.len() {
                if inside[i] == quote && inside[i + 1] == quote {
                    n += 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            n
        } else {
            0
        };
        let trailing = if self.trailing_end > self.end + 1 {
            column::char_len(&bytes[self.end + 1..self.trailing_end])
        } else {
            0
        };
        column::char_len(inside) - doubled + trailing
    }
}

enum Terminator {
    Delimiter,
    EndOfRecord,
}

/// A cursor over records of `bytes[..end]`.
struct Records<'a> {
    bytes: &'a [u8],
    end: usize,
    pos: usize,
    delimiter: u8,
    quote: u8,
}

/// Why a record could not be read: an unterminated quoted field.
struct Unterminated {
    at: usize,
}

impl Unterminated {
    fn error(&self, bytes: &[u8], path: &str) -> Error {
        Error::data_format(
            path,
            line_of(bytes, self.at),
            "",
            "a quoted field is never closed",
        )
    }
}

impl<'a> Records<'a> {
    /// Reads the next field; `Ok(None)` at the end.
    #[inline]
    fn field(&mut self) -> std::result::Result<(Field, Terminator), Unterminated> {
        let bytes = self.bytes;
        let start = self.pos;
        if start < self.end && bytes[start] == self.quote {
            let mut at = start + 1;
            let mut escaped = false;
            loop {
                let Some(offset) = memchr::memchr(self.quote, &bytes[at..self.end]) else {
                    return Err(Unterminated { at: start });
                };
                let close = at + offset;
                if bytes.get(close + 1) == Some(&self.quote) {
                    escaped = true;
                    at = close + 2;
                    continue;
                }
                // Text after the closing quote up to the delimiter belongs to the field,
                // as Python's csv module reads it; such a field is text.
                let mut next = close + 1;
                while next < self.end && bytes[next] != self.delimiter && bytes[next] != b'\n' {
                    next += 1;
                }
                let mut trailing_end = next;
                if trailing_end > close + 1 && bytes[trailing_end - 1] == b'\r' {
                    trailing_end -= 1;
                }
                let field = Field {
                    start: start + 1,
                    end: close,
                    escaped: escaped || trailing_end > close + 1,
                    trailing_end,
                };
                return Ok(self.finish_field(field, next));
            }
        }
        let mut at = start;
        while at < self.end {
            let b = bytes[at];
            if b == self.delimiter || b == b'\n' {
                break;
            }
            at += 1;
        }
        let mut end = at;
        if end > start && bytes[end - 1] == b'\r' && (at == self.end || bytes[at] == b'\n') {
            end -= 1;
        }
        Ok(self.finish_field(
            Field {
                start,
                end,
                escaped: false,
                trailing_end: end,
            },
            at,
        ))
    }

    #[inline]
    fn finish_field(&mut self, field: Field, at: usize) -> (Field, Terminator) {
        if at < self.end && self.bytes[at] == self.delimiter {
            self.pos = at + 1;
            (field, Terminator::Delimiter)
        } else {
            self.pos = (at + 1).min(self.end.max(at));
            (field, Terminator::EndOfRecord)
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    /// Skips blank lines (`\n` or `\r\n` alone).
    fn skip_blank_lines(&mut self) {
        loop {
            let rest = &self.bytes[self.pos..self.end];
            if rest.first() == Some(&b'\n') {
                self.pos += 1;
            } else if rest.starts_with(b"\r\n") {
                self.pos += 2;
            } else {
                return;
            }
        }
    }
}

fn unquote(bytes: &[u8], quote: u8) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        out.push(bytes[i]);
        i += if bytes[i] == quote && bytes.get(i + 1) == Some(&quote) {
            2
        } else {
            1
        };
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The fields of the first record at `pos`, as text, and where the next record starts.
fn first_record(
    bytes: &[u8],
    pos: usize,
    delimiter: u8,
    path: &str,
) -> Result<(Vec<String>, usize)> {
    let mut records = Records {
        bytes,
        end: bytes.len(),
        pos,
        delimiter,
        quote: b'"',
    };
    records.skip_blank_lines();
    let line = records.pos;
    let mut fields = Vec::new();
    loop {
        let (field, terminator) = records.field().map_err(|u| u.error(bytes, path))?;
        if fields.len() as u64 == super::MAX_COLUMNS {
            return Err(Error::data_format(
                path,
                line_of(bytes, line),
                "",
                format!(
                    "the first record has more than {} fields; oxbridge reads at most that many columns",
                    super::MAX_COLUMNS
                ),
            ));
        }
        fields.push(unquote(&bytes[field.start..field.end], b'"'));
        if let Terminator::EndOfRecord = terminator {
            return Ok((fields, records.pos));
        }
    }
}

/// The 1-based line of byte `at`.
pub fn line_of(bytes: &[u8], at: usize) -> u64 {
    memchr::memchr_iter(b'\n', &bytes[..at.min(bytes.len())]).count() as u64 + 1
}

/// Picks the delimiter that splits the sample's lines into the same number of fields
/// (more than one) most consistently.
fn detect_delimiter(sample: &[u8], path: &str) -> u8 {
    if path.to_ascii_lowercase().ends_with(".tsv") || path.to_ascii_lowercase().ends_with(".tab") {
        return b'\t';
    }
    let lines: Vec<&[u8]> = sample
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && *l != b"\r")
        .take(50)
        .collect();
    // The last line of a sample may be cut short.
    let lines = if lines.len() > 2 {
        &lines[..lines.len() - 1]
    } else {
        &lines[..]
    };
    let mut best = (0usize, 0usize, b',');
    for &d in CANDIDATES {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| {
                let mut in_quotes = false;
                l.iter()
                    .filter(|&&b| {
                        if b == b'"' {
                            in_quotes = !in_quotes;
                        }
                        b == d && !in_quotes
                    })
                    .count()
            })
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let agreeing = counts.iter().filter(|&&c| c == first).count();
        if (agreeing, first) > (best.0, best.1) {
            best = (agreeing, first, d);
        }
    }
    best.2
}

fn looks_numeric(field: &str) -> bool {
    let t = field.trim();
    !t.is_empty()
        && (column::parse_int(t.as_bytes()).is_some()
            || column::parse_float(t.as_bytes()).is_some())
}

/// Detects the dialect from the start of the file.
pub fn detect(bytes: &[u8], options: &CsvOptions, path: &str) -> Result<Dialect> {
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let body = &bytes[bom..];
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::data_format(
            path,
            0,
            "",
            "the file is empty (no header and no rows)",
        ));
    }
    let sample = &body[..body.len().min(SAMPLE_LEN)];
    if !sample.contains(&b'\n') && sample.contains(&b'\r') {
        return Err(Error::data_format(
            path,
            0,
            "",
            "lines end with a lone CR (classic Mac OS); convert the file to LF or CRLF line endings",
        ));
    }
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => detect_delimiter(&body[..body.len().min(SAMPLE_LEN)], path),
    };
    let (first, after_first) = first_record(bytes, bom, delimiter, path)?;
    let has_header = match options.has_header {
        Some(h) => h,
        // A header has no numbers; a first row of data usually has some.
        None => !first.iter().any(|f| looks_numeric(f)),
    };
    let names = if has_header {
        // A NUL cannot cross the C ABI in a name: it is shown as \0 before the names are
        // made unique, so the names stay unique as the bindings see them.
        unique_names(
            first
                .iter()
                .map(|s| s.trim().replace('\0', "\\0"))
                .collect(),
        )
    } else {
        (0..first.len()).map(|i| i.to_string()).collect()
    };
    let null_values = match &options.null_values {
        Some(v) => v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        None => DEFAULT_NULLS
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect(),
    };
    Ok(Dialect {
        delimiter,
        quote: b'"',
        has_header,
        names,
        data_start: if has_header { after_first } else { bom },
        null_values,
        chunk_bytes: CHUNK_BYTES,
    })
}

/// Empty names become their position; repeats get ".1", ".2", ... skipping any name
/// the header already has, as pandas names them (`a,a,a.1` is `a, a.2, a.1`): the names
/// are always unique.
fn unique_names(names: Vec<String>) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    let mut names: Vec<String> = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| if name.is_empty() { i.to_string() } else { name })
        .collect();
    let mut taken: HashSet<String> = names.iter().cloned().collect();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for name in names.iter_mut() {
        let base = name.clone();
        let mut count = counts.get(&base).copied().unwrap_or(0);
        while count > 0 {
            counts.insert(base.clone(), count + 1);
            let candidate = format!("{base}.{count}");
            if taken.contains(&candidate) {
                count += 1;
            } else {
                count = counts.get(&candidate).copied().unwrap_or(0);
                *name = candidate;
            }
        }
        taken.insert(name.clone());
        counts.insert(name.clone(), count + 1);
    }
    names
}

/// How far past a chunk's nominal start to look for evidence of being inside quotes.
const QUOTE_WINDOW: usize = 1 << 16;

/// Whether position `s` is inside a quoted field, judged locally: the first quote after
/// `s` whose neighbours show it opening (after a delimiter or newline) or closing (before
/// one) a field settles it; no quote nearby means outside. A wrong guess costs time, not
/// correctness: `scan` re-parses a chunk that does not start where the previous ended.
fn guess_inside_quotes(bytes: &[u8], s: usize, delimiter: u8, quote: u8) -> bool {
    let end = (s + QUOTE_WINDOW).min(bytes.len());
    let is_break = |b: u8| b == delimiter || b == b'\n' || b == b'\r';
    let mut before = 0usize; // quotes between s and the one being looked at
    for at in memchr::memchr_iter(quote, &bytes[s..end]).map(|i| s + i) {
        let prev = if at == 0 { b'\n' } else { bytes[at - 1] };
        let next = bytes.get(at + 1).copied().unwrap_or(b'\n');
        if next == quote || prev == quote {
            before += 1; // part of a doubled quote or a pair: no evidence either way
            continue;
        }
        let opening = is_break(prev) && !is_break(next);
        let closing = is_break(next) && !is_break(prev);
        if opening != closing {
            // Outside at `at` if it opens; parity back to `s`.
            let outside_here = opening;
            return (before % 2 == 0) != outside_here;
        }
        before += 1;
    }
    false
}

/// The first record boundary at or after `s`, found from local evidence only: no pass
/// over the whole file, which would also map all of it into memory at once (page-cache
/// folios can be megabytes, so even touching one byte per chunk maps a lot). `scan`
/// checks that the chunks chain up and re-parses any that do not.
fn chunk_start(bytes: &[u8], s: usize, delimiter: u8, quote: u8) -> usize {
    let len = bytes.len();
    let mut in_quotes = guess_inside_quotes(bytes, s, delimiter, quote);
    // A chunk may start right after a newline: that is a boundary already.
    if !in_quotes && bytes[s - 1] == b'\n' {
        return s;
    }
    for (at, &b) in bytes.iter().enumerate().skip(s) {
        if b == quote {
            in_quotes = !in_quotes;
        } else if b == b'\n' && !in_quotes {
            return at + 1;
        }
    }
    len
}

/// The missing-value markers, with a quick test that rules out most fields (numbers
/// start with a byte no marker starts with).
struct NullSet<'a> {
    values: &'a [Vec<u8>],
    first_bytes: [bool; 256],
    longest: usize,
    empty: bool,
}

impl<'a> NullSet<'a> {
    fn new(values: &'a [Vec<u8>]) -> Self {
        let mut first_bytes = [false; 256];
        for v in values {
            if let Some(&b) = v.first() {
                first_bytes[b as usize] = true;
            }
        }
        NullSet {
            values,
            first_bytes,
            longest: values.iter().map(Vec::len).max().unwrap_or(0),
            empty: values.iter().any(Vec::is_empty),
        }
    }

    #[inline]
    fn contains(&self, field: &[u8]) -> bool {
        match field.first() {
            None => self.empty,
            Some(&b) => {
                self.first_bytes[b as usize]
                    && field.len() <= self.longest
                    && self.values.iter().any(|v| v.as_slice() == field)
            }
        }
    }
}

/// The result of parsing part of a file.
pub struct Parsed {
    pub rows: u64,
    pub columns: Vec<ColumnStats>,
}

/// Parses the records in `bytes[start..end]`, accumulating the columns in `wanted`
/// (indexes into the header; others are only checked for the field count).
/// Parses the records that start in `bytes[start..stop]` (the last may run past `stop`),
/// accumulating the columns in `wanted` (indexes into the header; others are only checked
/// for the field count). Also returns where the next record starts: if `stop` was not a
/// record boundary (a wrong guess), that differs from `stop`.
fn parse_range(
    bytes: &[u8],
    (start, stop): (usize, usize),
    dialect: &Dialect,
    wanted: &[Option<usize>],
    path: &str,
) -> (Result<Parsed>, usize) {
    let mut end = start;
    let parsed = parse_records(bytes, (start, stop), dialect, wanted, path, &mut end);
    (parsed, end)
}

fn parse_records(
    bytes: &[u8],
    range: (usize, usize),
    dialect: &Dialect,
    wanted: &[Option<usize>],
    path: &str,
    next_record: &mut usize,
) -> Result<Parsed> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.1") {
        // SAFETY: the CPU has SSE4.1.
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
    wanted: &[Option<usize>],
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
    wanted: &[Option<usize>],
    path: &str,
    next_record: &mut usize,
) -> Result<Parsed> {
    let ncols = dialect.names.len();
    let mut columns: Vec<ColumnStats> = (0..wanted.iter().flatten().count())
        .map(|_| ColumnStats::default())
        .collect();
    let mut records = Records {
        bytes,
        end: bytes.len(),
        pos: start,
        delimiter: dialect.delimiter,
        quote: dialect.quote,
    };
    let nulls = NullSet::new(&dialect.null_values);
    // Numbers are parsed on the fly unless a missing-value marker could look like one.
    let fast_numbers = !dialect.null_values.iter().any(|v| {
        v.first()
            .is_some_and(|b| b.is_ascii_digit() || b"+-.".contains(b))
    });
    let mut rows = 0u64;
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
        loop {
            // The common case, a plain number in a numeric column, is scanned and parsed
            // in one pass; anything else goes through the general field reader.
            let slot = wanted.get(index).copied().flatten();
            if let Some(slot) = slot {
                let column = &mut columns[slot];
                if fast_numbers && column.wants_numbers() {
                    if let Some((number, end, at)) = S::scan(bytes, records.pos, dialect.delimiter)
                    {
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
                        column.push_text(field.text_len(bytes, dialect.quote));
                    } else if !nulls.contains(value) {
                        column.push(value, true);
                    } else {
                        column.push_missing();
                    }
                }
            }
            index += 1;
            if let Terminator::EndOfRecord = terminator {
                break;
            }
        }
        if index != ncols {
            let column = dialect
                .names
                .get(index.min(ncols))
                .map_or("", String::as_str);
            return Err(Error::data_format(
                path,
                line_of(bytes, record_start),
                if index > ncols { "" } else { column },
                format!("expected {ncols} fields, found {index}"),
            ));
        }
        rows += 1;
    }
    for c in &mut columns {
        c.finish();
    }
    Ok(Parsed { rows, columns })
}

/// Parses every record after the header in parallel: the row count and the statistics
/// of the columns in `wanted` (positions in the header, in output order).
pub fn scan(
    bytes: &[u8],
    dialect: &Dialect,
    wanted_columns: &[usize],
    path: &str,
    progress: &Progress,
    release: &(dyn Fn(usize, usize) + Sync),
) -> Result<Parsed> {
    let mut wanted = vec![None; dialect.names.len()];
    for (slot, &c) in wanted_columns.iter().enumerate() {
        wanted[c] = Some(slot);
    }
    let pool = pool()?;
    pool.install(|| {
        let len = bytes.len();
        let first = dialect.data_start.min(len);
        let raw: Vec<usize> = (first..len).step_by(dialect.chunk_bytes.max(1)).collect();
        // Each task finds its own bounds, so only the chunks being parsed are mapped.
        let bound = |i: usize| match i {
            0 => first,
            i if i >= raw.len() => len,
            i => chunk_start(bytes, raw[i], dialect.delimiter, dialect.quote),
        };
        progress.set_total((len - first) as u64);
        type Part = (usize, usize, Result<Parsed>, usize);
        let parts: Vec<Part> = (0..raw.len())
            .into_par_iter()
            .map(|i| {
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
        let mut total = Parsed {
            rows: 0,
            columns: (0..wanted_columns.len())
                .map(|_| ColumnStats::default())
                .collect(),
        };
        // Chunk starts were guessed from quote parity, which a stray quote in an unquoted
        // field upsets. A chunk counts only if it starts where the previous one ended;
        // otherwise it is parsed again from there. In file order, so the error reported
        // is the first one in the file.
        let mut expected = first;
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
            total.rows += part.rows;
            for (t, p) in total.columns.iter_mut().zip(&part.columns) {
                t.merge(p);
            }
        }
        Ok(total)
    })
}

/// Reads up to `max_rows` records from byte `cursor` (0: the first data record) into
/// `out`, row-major with one value per column of `columns`: numbers as float64, missing
/// values as NaN. Returns the rows read and the cursor of the next record.
pub fn read_rows(
    bytes: &[u8],
    dialect: &Dialect,
    cursor: usize,
    columns: &[usize],
    out: &mut [f64],
    path: &str,
) -> Result<(usize, usize)> {
    let width = columns.len().max(1);
    let max_rows = out.len() / width;
    let ncols = dialect.names.len();
    let mut slots = vec![None; ncols];
    for (slot, &c) in columns.iter().enumerate() {
        slots[c] = Some(slot);
    }
    let nulls = NullSet::new(&dialect.null_values);
    let mut records = Records {
        bytes,
        end: bytes.len(),
        pos: cursor.max(dialect.data_start),
        delimiter: dialect.delimiter,
        quote: dialect.quote,
    };
    let mut rows = 0;
    while rows < max_rows {
        records.skip_blank_lines();
        if records.at_end() {
            break;
        }
        let record_start = records.pos;
        let row = &mut out[rows * width..(rows + 1) * width];
        let mut index = 0usize;
        loop {
            let (field, terminator) = records.field().map_err(|u| u.error(bytes, path))?;
            if let Some(Some(slot)) = slots.get(index) {
                let value = &bytes[field.start..field.end];
                row[*slot] = if nulls.contains(value) {
                    f64::NAN
                } else {
                    let trimmed = column::trim_spaces(value);
                    column::parse_int(trimmed)
                        .map(|v| v as f64)
                        .or_else(|| column::parse_float(trimmed))
                        .filter(|_| !field.escaped)
                        .ok_or_else(|| {
                            Error::data_format(
                                path,
                                line_of(bytes, record_start),
                                &dialect.names[index],
                                format!(
                                    "{:?} is not a number",
                                    String::from_utf8_lossy(&value[..value.len().min(40)])
                                ),
                            )
                        })?
                };
            }
            index += 1;
            if let Terminator::EndOfRecord = terminator {
                break;
            }
        }
        if index != ncols {
            // As `scan` reports it: a short record names its first missing column.
            let column = if index < ncols {
                dialect.names[index].as_str()
            } else {
                ""
            };
            return Err(Error::data_format(
                path,
                line_of(bytes, record_start),
                column,
                format!("expected {ncols} fields, found {index}"),
            ));
        }
        rows += 1;
    }
    Ok((rows, records.pos))
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
    let wanted: Vec<Option<usize>> = (0..dialect.names.len()).map(Some).collect();
    match parse_range(bytes, (dialect.data_start, end), dialect, &wanted, path).0 {
        Ok(parsed) => parsed.columns.iter().map(|c| c.kind).collect(),
        Err(_) => vec![Kind::Empty; dialect.names.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_text(text: &str) -> Result<(Dialect, Parsed)> {
        let bytes = text.as_bytes();
        let d = detect(bytes, &CsvOptions::default(), "t.csv")?;
        let all: Vec<usize> = (0..d.names.len()).collect();
        let p = scan(bytes, &d, &all, "t.csv", &Progress::default(), &|_, _| {})?;
        Ok((d, p))
    }

    #[test]
    fn reads_quotes_crlf_bom_and_blank_lines() {
        let text = "\u{feff}name,price,qty\r\n\"a, \"\"b\"\"\",1.5,3\r\n\r\n\"multi\nline\",2.5,4\r\nc,,5\r\n";
        let (d, p) = scan_text(text).unwrap();
        assert_eq!(d.names, ["name", "price", "qty"]);
        assert_eq!(p.rows, 3);
        let price = p.columns[1].numeric_summary();
        assert_eq!(
            (
                p.columns[1].kind,
                price.count(),
                price.nan_count(),
                price.sum()
            ),
            (Kind::Float, 2, 1, 4.0)
        );
        assert_eq!(
            (p.columns[2].kind, p.columns[2].summary.exact().unwrap().sum),
            (Kind::Int, 12)
        );
        assert_eq!(
            (
                p.columns[0].kind,
                p.columns[0].min_len,
                p.columns[0].max_len
            ),
            (Kind::Text, 1, 10)
        );
    }

    #[test]
    fn detects_delimiters_and_headerless_files() {
        let (d, p) = scan_text("1;2\n3;4\n").unwrap();
        assert_eq!(
            (d.delimiter, d.has_header, d.names.clone(), p.rows),
            (b';', false, vec!["0".to_string(), "1".to_string()], 2)
        );
        let (d, _) = scan_text("a\tb\n1\t2\n").unwrap();
        assert_eq!(d.delimiter, b'\t');
        let (d, _) = scan_text("x,x,\n1,2,3\n").unwrap();
        assert_eq!(d.names, ["x", "x.1", "2"]);
    }

    #[test]
    fn header_names_are_unique_as_pandas_makes_them() {
        let names = |text: &str| scan_text(text).unwrap().0.names;
        assert_eq!(names("a,a,a.1\n1,2,3\n"), ["a", "a.2", "a.1"]);
        assert_eq!(names("x,x.1,x\n1,2,3\n"), ["x", "x.1", "x.2"]);
        assert_eq!(names("b,b,b,b.1\n1,2,3,4\n"), ["b", "b.2", "b.3", "b.1"]);
        // An empty name becomes its position, which a later name may also be.
        let d = detect(
            b"a,,1\n1,2,3\n",
            &CsvOptions {
                has_header: Some(true),
                ..Default::default()
            },
            "t.csv",
        );
        assert_eq!(d.unwrap().names, ["a", "1", "1.1"]);
    }

    #[test]
    fn a_first_record_with_too_many_fields_is_refused() {
        let mut text = ",".repeat(super::super::MAX_COLUMNS as usize);
        text.push('\n');
        let e = scan_text(&text).err().unwrap();
        assert!(
            e.message.contains("line 1") && e.message.contains("at most"),
            "{}",
            e.message
        );
        text.drain(..1);
        assert_eq!(
            scan_text(&text).unwrap().0.names.len() as u64,
            super::super::MAX_COLUMNS
        );
    }

    #[test]
    fn ragged_rows_and_open_quotes_name_the_line() {
        let e = scan_text("a,b\n1,2\n3\n").err().unwrap();
        assert!(
            e.message.contains("line 3") && e.message.contains("expected 2 fields, found 1"),
            "{}",
            e.message
        );
        let e = scan_text("a,b\n1,2\n\"3,4\n").err().unwrap();
        assert!(
            e.message.contains("line 3") && e.message.contains("never closed"),
            "{}",
            e.message
        );
        let e = scan_text("   \n").err().unwrap();
        assert!(e.message.contains("empty"), "{}", e.message);
    }

    #[test]
    fn reads_rows_in_pieces_from_a_cursor() {
        let text = "a,b,c\n1,x,2.5\n\"3\",y,NA\n\n5,\"z\nz\",1e3\n";
        let d = detect(text.as_bytes(), &CsvOptions::default(), "r.csv").unwrap();
        let mut out = [0.0; 4];
        let (rows, cursor) = read_rows(text.as_bytes(), &d, 0, &[2, 0], &mut out, "r.csv").unwrap();
        assert_eq!((rows, out[..2].to_vec()), (2, vec![2.5, 1.0]));
        assert!(out[2].is_nan() && out[3] == 3.0);
        let (rows, end) =
            read_rows(text.as_bytes(), &d, cursor, &[2, 0], &mut out, "r.csv").unwrap();
        assert_eq!(
            (rows, out[..2].to_vec(), end),
            (1, vec![1000.0, 5.0], text.len())
        );
        let e = read_rows(text.as_bytes(), &d, 0, &[1], &mut out, "r.csv").unwrap_err();
        assert!(
            e.message.contains("line 2") && e.message.contains("\"x\" is not a number"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_stray_quote_in_an_unquoted_field_does_not_derail_the_chunks() {
        let mut text = String::from("id,size,note\n0,27\" screen,x\n");
        for i in 1..400_000 {
            text.push_str(&format!("{i},1,\"two\nlines\"\n"));
        }
        let (_, p) = scan_text(&text).unwrap();
        assert_eq!(p.rows, 400_000);
        assert_eq!(
            p.columns[0].summary.exact().unwrap().sum,
            (0..400_000i128).sum::<i128>()
        );
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
            &[0, 1, 2],
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

    #[test]
    fn text_lengths_count_the_value_as_read() {
        let (_, p) = scan_text("a,b\n\"say \"\"hi\"\"\",\"ab\"cd\n\"\"\"\",x\n").unwrap();
        assert_eq!((p.columns[0].min_len, p.columns[0].max_len), (1, 8));
        assert_eq!((p.columns[1].min_len, p.columns[1].max_len), (1, 4));
    }

    #[test]
    fn chunks_split_at_record_boundaries_inside_quotes() {
        // Records with quoted newlines spanning many chunk boundaries.
        let mut text = String::from("id,note,value\n");
        for i in 0..200_000 {
            text.push_str(&format!(
                "{i},\"line one\nline, two \"\"{i}\"\"\",{}\n",
                i % 7
            ));
        }
        let (_, p) = scan_text(&text).unwrap();
        assert_eq!(p.rows, 200_000);
        let ids = p.columns[0].summary.exact().unwrap();
        assert_eq!(ids.sum, (0..200_000i128).sum::<i128>());
        assert_eq!(
            p.columns[2].summary.exact().unwrap().sum,
            (0..200_000i128).map(|i| i % 7).sum::<i128>()
        );
        assert_eq!(p.columns[1].kind, Kind::Text);
    }
}
