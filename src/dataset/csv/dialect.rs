//! How a CSV file is written: the delimiter, whether the first record is a header (the
//! rule is `sniff`'s), the column names, where the data starts. Detected from the start
//! of the file unless the caller says.

use super::chunks::chunk_bytes;
use super::nulls::{self, NullSet};
use super::records::{line_of, Records, Terminator};
use super::sniff::{next_cell, sniff, Cell, Sniffed};
use super::CsvOptions;
use crate::dataset::MAX_COLUMNS;
use crate::error::{Error, Result};

/// How a CSV file is written, detected or given.
#[derive(Debug, Clone)]
pub struct Dialect {
    /// The byte between fields.
    pub delimiter: u8,
    /// The byte that quotes a field (always `"`).
    pub quote: u8,
    /// Whether the first record is a header.
    pub has_header: bool,
    /// The column names: the header's, made unique, or the positions.
    pub names: Vec<String>,
    /// Offset of the first data record (after the BOM and the header).
    pub data_start: usize,
    /// Every record after the header ends in one more field than the header has, empty
    /// (a spreadsheet export's trailing delimiter): the scan checks and drops it.
    pub trailing_field: bool,
    /// The texts read as missing values.
    pub null_values: Vec<Vec<u8>>,
    /// The decimal separator: `.`, or `,` ("1,5" is 1.5; a number with a point is then
    /// an error).
    pub decimal: u8,
    /// Lines starting with this byte are skipped.
    pub comment: Option<u8>,
    /// Bytes per parallel task (`chunk_bytes` of the file's size; tiny in the fuzz targets, so that small
    /// inputs cross chunk boundaries).
    pub chunk_bytes: usize,
}

/// The delimiters detection tries, in order of preference.
const CANDIDATES: &[u8] = b",\t;|";
/// Bytes of the file that detection (and `sample_kinds`) look at.
pub(super) const SAMPLE_LEN: usize = 1 << 16;

/// The fields of the first record at `pos`, read as data fields are, and a cursor at
/// the next record.
fn first_record<'a>(
    bytes: &'a [u8],
    pos: usize,
    (delimiter, comment): (u8, Option<u8>),
    path: &str,
) -> Result<(Vec<Cell>, Records<'a>)> {
    let mut records = Records {
        bytes,
        end: bytes.len(),
        pos,
        delimiter,
        quote: b'"',
        comment,
    };
    records.skip_blank_lines();
    let line = records.pos;
    let mut fields = Vec::new();
    loop {
        let (cell, terminator) = next_cell(&mut records).map_err(|u| u.error(bytes, path))?;
        if fields.len() as u64 == MAX_COLUMNS {
            return Err(Error::data_format(
                path,
                line_of(bytes, line),
                "",
                format!(
                    "the first record has more than {} fields; oxbridge reads at most that many columns",
                    MAX_COLUMNS
                ),
            ));
        }
        fields.push(cell);
        if let Terminator::EndOfRecord = terminator {
            return Ok((fields, records));
        }
    }
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

/// Compressed and other non-text files, by their first bytes (never by the name): what
/// the file is and how to make it something oxbridge reads. (`Dataset::open` reads gzip,
/// zstd, bzip2 and xz files itself: here those are text compressed once more.)
const MAGIC: &[(&[u8], &str)] = &[
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first (gzip -dk FILE)"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file; decompress it first (zstd -d FILE)"),
    (b"BZh", "a bzip2-compressed file; decompress it first (bzip2 -dk FILE)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file; decompress it first (xz -dk FILE)"),
    (b"PK\x03\x04", "a zip archive; extract the CSV from it first (unzip FILE)"),
    (b"\xff\xfe", "UTF-16 text (little-endian, by its byte-order mark); convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8 FILE)"),
    (b"\xfe\xff", "UTF-16 text (big-endian, by its byte-order mark); convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8 FILE)"),
];

/// What `bytes` are if their first bytes say they are not plain text.
fn not_text(bytes: &[u8]) -> Option<&'static str> {
    MAGIC.iter().find_map(|&(magic, what)| {
        let bzip2 = magic == b"BZh";
        let matches = bytes.starts_with(magic)
            && (!bzip2 || bytes.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)));
        matches.then_some(what)
    })
}

/// Where the data after `skip` lines from `start` begins (the end when there are fewer).
fn skip_lines(bytes: &[u8], start: usize, skip: u64) -> usize {
    let mut pos = start;
    for _ in 0..skip {
        match memchr::memchr(b'\n', &bytes[pos..]) {
            Some(n) => pos += n + 1,
            None => return bytes.len(),
        }
    }
    pos
}

/// The decimal separator a `;`-separated sample writes: a comma when some field is a
/// number with a comma ("1,5") and none a number with a point.
fn detect_decimal(sample: &[u8], delimiter: u8) -> u8 {
    if delimiter != b';' {
        return b'.';
    }
    let (mut commas, mut points) = (0usize, 0usize);
    for line in sample.split(|&b| b == b'\n').take(200) {
        for field in line.split(|&b| b == delimiter) {
            let f = super::number::trim_spaces(field.strip_suffix(b"\r").unwrap_or(field));
            let f = f
                .strip_prefix(b"\"")
                .and_then(|f| f.strip_suffix(b"\""))
                .unwrap_or(f);
            let mut buf = [0u8; 64];
            match super::number::comma_decimal(f, &mut buf) {
                super::number::CommaField::StrayDot => points += 1,
                super::number::CommaField::Read(r) if r.as_ptr() != f.as_ptr() => commas += 1,
                super::number::CommaField::Read(_) => {}
            }
        }
    }
    if commas > 0 && points == 0 {
        b','
    } else {
        b'.'
    }
}

/// Detects the dialect from the start of the file.
pub fn detect(bytes: &[u8], options: &CsvOptions, path: &str) -> Result<Dialect> {
    if let Some(what) = not_text(bytes) {
        return Err(Error::data_format(
            path,
            0,
            "",
            format!("this is {what}; oxbridge reads plain UTF-8 text"),
        ));
    }
    // A NUL byte near the start: binary data, not text.
    if memchr::memchr(0, &bytes[..bytes.len().min(4096)]).is_some() {
        return Err(Error::data_format(
            path,
            0,
            "",
            "this looks like a binary file, not CSV text; pass format=\"npy\" or \"raw\"",
        ));
    }
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    // Where the first record (the header, or data) starts: after the rows skipped.
    let start = skip_lines(bytes, bom, options.skip_rows);
    let body = &bytes[start..];
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
    let decimal = options
        .decimal
        .unwrap_or_else(|| detect_decimal(&body[..body.len().min(SAMPLE_LEN)], delimiter));
    if decimal == delimiter {
        return Err(Error::invalid_argument(format!(
            "the decimal separator {:?} is also the file's delimiter; give another delimiter",
            decimal as char
        )));
    }
    let (first, mut records) = first_record(bytes, start, (delimiter, options.comment), path)?;
    let after_first = records.pos;
    let null_values = nulls::markers(options.null_values.as_deref());
    let Sniffed {
        has_header,
        trailing_field,
    } = sniff(
        &mut records,
        &first,
        &NullSet::new(&null_values),
        (options.has_header, decimal),
    );
    let names = if has_header {
        // A NUL cannot cross the C ABI in a name: it is shown as \0 before the names are
        // made unique, so the names stay unique as the bindings see them.
        unique_names(
            first
                .iter()
                .map(|c| String::from_utf8_lossy(&c.text).trim().replace('\0', "\\0"))
                .collect(),
        )
    } else {
        (0..first.len()).map(|i| i.to_string()).collect()
    };
    Ok(Dialect {
        delimiter,
        quote: b'"',
        has_header,
        names,
        data_start: if has_header { after_first } else { start },
        trailing_field,
        null_values,
        decimal,
        comment: options.comment,
        chunk_bytes: chunk_bytes(bytes.len()),
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::csv::column::Kind;
    use crate::dataset::csv::tests::scan_text;

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
    fn a_decimal_comma_is_detected_with_semicolons_and_read() {
        use crate::dataset::csv::tests::scan_with;
        let text = "a;b;c\n1,5;2;x,y\n3,25;4;z\n-0,5;;w\n";
        let (d, p) = scan_text(text).unwrap();
        assert_eq!((d.delimiter, d.decimal, d.has_header), (b';', b',', true));
        assert_eq!(p.columns[0].kind, Kind::Float);
        assert_eq!(p.columns[0].numeric_summary().sum(), 4.25);
        assert_eq!(p.columns[1].summary.exact().unwrap().sum, 6);
        assert_eq!(p.columns[2].kind, Kind::Text); // "x,y" is no number
                                                   // A point among commas: the caller's decimal wins, and a number with a point is
                                                   // then an error naming its place.
        let mixed = "a;b\n1,5;2\n2.5;3\n";
        assert_eq!(scan_text(mixed).unwrap().0.decimal, b'.'); // not detected
        let comma = CsvOptions {
            decimal: Some(b','),
            ..Default::default()
        };
        let e = scan_with(mixed, &comma).err().unwrap();
        assert!(
            e.message.contains("line 3") && e.message.contains("decimal point"),
            "{}",
            e.message
        );
        // Commas as the delimiter: no decimal comma.
        assert_eq!(scan_text("a,b\n1,2\n").unwrap().0.decimal, b'.');
        let both = CsvOptions {
            delimiter: Some(b','),
            decimal: Some(b','),
            ..Default::default()
        };
        assert!(both.validate().is_err());
    }

    #[test]
    fn comment_lines_and_leading_rows_are_skipped() {
        use crate::dataset::csv::tests::scan_with;
        let text = "exported by a tool\nversion 2\n# a comment\nx,y\n1,2\n# another\n3,4\n";
        let options = CsvOptions {
            comment: Some(b'#'),
            skip_rows: 2,
            ..Default::default()
        };
        let (d, p) = scan_with(text, &options).unwrap();
        assert_eq!(
            (d.names.clone(), p.rows),
            (vec!["x".to_string(), "y".into()], 2)
        );
        assert_eq!(p.columns[0].summary.exact().unwrap().sum, 4);
        let bad = CsvOptions {
            comment: Some(b'"'),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn compressed_and_utf16_files_are_named() {
        for (bytes, word) in [
            (&b"\x1f\x8b\x08\x00rest"[..], "gzip"),
            (b"\x28\xb5\x2f\xfdrest", "zstd"),
            (b"BZh91AY&SY", "bzip2"),
            (b"\xfd7zXZ\x00\x00", "xz"),
            (b"\xff\xfea\x00,\x00b\x00", "UTF-16"),
        ] {
            let e = detect(bytes, &CsvOptions::default(), "f.csv").unwrap_err();
            assert!(e.message.contains(word), "{}", e.message);
        }
        // "BZh" followed by no block size is text.
        assert!(detect(b"BZh,x\n1,2\n", &CsvOptions::default(), "f.csv").is_ok());
    }

    #[test]
    fn a_first_record_with_too_many_fields_is_refused() {
        let mut text = ",".repeat(MAX_COLUMNS as usize);
        text.push('\n');
        let e = scan_text(&text).err().unwrap();
        assert!(
            e.message.contains("line 1") && e.message.contains("at most"),
            "{}",
            e.message
        );
        text.drain(..1);
        assert_eq!(scan_text(&text).unwrap().0.names.len() as u64, MAX_COLUMNS);
    }
}
