//! CSV and TSV, cut along the reader's concepts:
//!
//! - `dialect`: delimiter, header and names, detected from the start of the file;
//! - `sniff`: the header guess and the trailing-delimiter check, from a sample;
//! - `records`: the record tokenizer (RFC 4180 quoting, CRLF or LF, blank lines);
//! - `chunks`: where the parallel scan cuts the file (record boundaries, even inside
//!   quoted newlines);
//! - `nulls`: the texts read as missing values;
//! - `scan`: the parallel scan into per-column statistics;
//! - `read_rows`: the sequential row reader;
//! - `batches`: the records as Arrow record batches, parsed in parallel, in file order;
//! - `column`: per-column statistics and type inference;
//! - `number`: all number parsing, including the SIMD scanner of the hot path.

pub mod batches;
mod chunks;
pub mod column;
mod dialect;
mod nulls;
mod number;
mod read_rows;
mod records;
mod scan;
mod sniff;
mod temporal;

pub use chunks::{other_start, partition_bounds};
pub use dialect::{detect, Dialect};
pub use nulls::DEFAULT_NULLS;
pub use read_rows::read_rows;
pub use records::line_of;
pub use scan::{sample_kinds, scan, scan_part, scan_range, Hints, Parsed};

use crate::error::{Error, Result};

/// The end of the message of a quoted field that is never closed (a compressed file's
/// window may cut one: then it reads on).
pub const NEVER_CLOSED: &str = "a quoted field is never closed";

/// The CSV options a caller may set; `None` means detect.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// The byte between fields: one ASCII character other than a quote or newline
    /// (`check_delimiter`).
    pub delimiter: Option<u8>,
    /// Whether the first record is a header.
    pub has_header: Option<bool>,
    /// The texts read as missing values (`DEFAULT_NULLS` when `None`).
    pub null_values: Option<Vec<String>>,
    /// The decimal separator, `.` or `,`; detected when `None` (a comma when the
    /// delimiter is `;` and every number of the sample has a comma and none a point).
    pub decimal: Option<u8>,
    /// Lines starting with this byte are skipped (pandas' `comment`).
    pub comment: Option<u8>,
    /// Lines skipped at the start of the file, before the header.
    pub skip_rows: u64,
    /// The text's encoding; UTF-8, or UTF-16 by its byte-order mark, when `None`.
    pub encoding: Option<crate::dataset::encoding::Encoding>,
}

impl CsvOptions {
    /// The delimiter rule: one ASCII character other than a quote or newline. Takes the
    /// character's code, as C callers pass it, and gives the byte the reader splits on.
    pub fn check_delimiter(code: u32) -> Result<u8> {
        match code {
            d @ 1..=127 if d != b'"' as u32 && d != b'\n' as u32 && d != b'\r' as u32 => {
                Ok(d as u8)
            }
            d => Err(Error::invalid_argument(format!(
                "options.delimiter must be one ASCII character other than a quote or newline, got {d}"
            ))),
        }
    }

    /// Refuses options no file can be read with (`Dataset::open` asks first).
    pub fn validate(&self) -> Result<()> {
        if let Some(d) = self.delimiter {
            Self::check_delimiter(d.into())?;
        }
        if let Some(d) = self.decimal {
            if d != b'.' && d != b',' {
                return Err(Error::invalid_argument(format!(
                    "the decimal separator must be \".\" or \",\", got {:?}",
                    d as char
                )));
            }
            if Some(d) == self.delimiter {
                return Err(Error::invalid_argument(format!(
                    "the decimal separator {:?} cannot also be the delimiter",
                    d as char
                )));
            }
        }
        if let Some(c) = self.comment {
            let bad = !c.is_ascii() || matches!(c, b'"' | b'\n' | b'\r' | 0);
            if bad || Some(c) == self.delimiter {
                return Err(Error::invalid_argument(format!(
                    "the comment character must be one ASCII character other than a quote, a newline or the delimiter, got {c}"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(in crate::dataset) mod tests {
    use super::column::Kind;
    use super::{detect, scan, CsvOptions, Dialect, Parsed};
    use crate::dataset::{Dataset, OpenOptions};
    use crate::error::{ErrorKind, Result};
    use crate::runtime::progress::Progress;

    /// Detects the dialect of `text` and scans every column (the tests' reader).
    pub(in crate::dataset) fn scan_text(text: &str) -> Result<(Dialect, Parsed)> {
        scan_with(text, &CsvOptions::default())
    }

    /// `scan_text` with `options`.
    pub(in crate::dataset) fn scan_with(
        text: &str,
        options: &CsvOptions,
    ) -> Result<(Dialect, Parsed)> {
        let bytes = text.as_bytes();
        let d = detect(bytes, options, "t.csv")?;
        let all: Vec<(usize, super::column::Mode)> = (0..d.names.len())
            .map(|c| (c, super::column::Mode::Infer))
            .collect();
        let p = scan(
            bytes,
            &d,
            &all,
            &[],
            "t.csv",
            &Progress::default(),
            &|_, _| {},
        )?;
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
    fn text_lengths_count_the_value_as_read() {
        let (_, p) = scan_text("a,b\n\"say \"\"hi\"\"\",\"ab\"cd\n\"\"\"\",x\n").unwrap();
        assert_eq!((p.columns[0].min_len, p.columns[0].max_len), (1, 8));
        assert_eq!((p.columns[1].min_len, p.columns[1].max_len), (1, 4));
    }

    #[test]
    fn the_delimiter_rule_holds_for_rust_callers_too() {
        for good in [b',', b'\t', b';', b' ', b'|', 0x7f] {
            assert_eq!(CsvOptions::check_delimiter(good.into()).unwrap(), good);
        }
        for bad in [
            0,
            b'"' as u32,
            b'\n' as u32,
            b'\r' as u32,
            0x80,
            0xe9,
            0x20ac,
        ] {
            let e = CsvOptions::check_delimiter(bad).unwrap_err();
            assert_eq!(
                (e.kind, e.message),
                (
                    ErrorKind::InvalidArgument,
                    format!("options.delimiter must be one ASCII character other than a quote or newline, got {bad}")
                )
            );
        }
        // Refused before the file is looked at: this one does not exist.
        let options = OpenOptions {
            csv: CsvOptions {
                delimiter: Some(b'"'),
                ..CsvOptions::default()
            },
            ..OpenOptions::default()
        };
        let e = Dataset::open("/nonexistent/oxbridge.csv", &options)
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("got 34"), "{}", e.message);
    }
}
