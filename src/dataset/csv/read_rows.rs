//! The sequential row reader: records from a cursor into a caller's float64 buffer.

use super::dialect::Dialect;
use super::nulls::NullSet;
use super::records::{field_count_error, line_of, Records, Terminator};
use crate::error::{Error, Result};

/// Reads up to `max_rows` records from byte `cursor` (a record's start, never inside
/// the header: the caller skips it) into
/// `out`, row-major with one value per column of `columns`: numbers as float64, missing
/// values as NaN; none that starts at or past `stop`. Returns the rows read and the
/// cursor of the next record.
pub fn read_rows(
    bytes: &[u8],
    dialect: &Dialect,
    (cursor, stop): (usize, usize),
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
        pos: cursor,
        delimiter: dialect.delimiter,
        quote: dialect.quote,
        comment: dialect.comment,
    };
    let mut rows = 0;
    while rows < max_rows {
        records.skip_blank_lines();
        if records.at_end() || records.pos >= stop {
            break;
        }
        let record_start = records.pos;
        let row = &mut out[rows * width..(rows + 1) * width];
        let mut index = 0usize;
        let mut extra_value = false;
        loop {
            let (field, terminator) = records.field().map_err(|u| u.error(bytes, path))?;
            if index >= ncols {
                extra_value |= field.end > field.start || field.escaped;
            } else if let Some(Some(slot)) = slots.get(index) {
                let value = &bytes[field.start..field.end];
                let mut buf = [0u8; 64];
                let read = if dialect.decimal == b',' && !field.escaped {
                    match super::number::comma_decimal(value, &mut buf) {
                        super::number::CommaField::Read(read) => read,
                        super::number::CommaField::StrayDot => {
                            let name = &dialect.names[index];
                            let at = field.start;
                            return Err(super::number::stray_dot(bytes, at, name, value, path));
                        }
                    }
                } else {
                    value
                };
                row[*slot] = if nulls.contains(value) {
                    f64::NAN
                } else {
                    let trimmed = super::number::trim_spaces(read);
                    super::number::parse_int(trimmed)
                        .map(|v| v as f64)
                        .or_else(|| super::number::parse_float(trimmed))
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
        if index != ncols + dialect.trailing_field as usize || extra_value {
            return Err(field_count_error(
                bytes,
                record_start,
                (&dialect.names, dialect.trailing_field),
                (index, extra_value),
                path,
            ));
        }
        rows += 1;
    }
    Ok((rows, records.pos))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::csv::{detect, CsvOptions};

    #[test]
    fn reads_rows_in_pieces_from_a_cursor() {
        let text = "a,b,c\n1,x,2.5\n\"3\",y,NA\n\n5,\"z\nz\",1e3\n";
        let d = detect(text.as_bytes(), &CsvOptions::default(), "r.csv").unwrap();
        let mut out = [0.0; 4];
        let (rows, cursor) = read_rows(
            text.as_bytes(),
            &d,
            (d.data_start, usize::MAX),
            &[2, 0],
            &mut out,
            "r.csv",
        )
        .unwrap();
        assert_eq!((rows, out[..2].to_vec()), (2, vec![2.5, 1.0]));
        assert!(out[2].is_nan() && out[3] == 3.0);
        let (rows, end) = read_rows(
            text.as_bytes(),
            &d,
            (cursor, usize::MAX),
            &[2, 0],
            &mut out,
            "r.csv",
        )
        .unwrap();
        assert_eq!(
            (rows, out[..2].to_vec(), end),
            (1, vec![1000.0, 5.0], text.len())
        );
        let e = read_rows(
            text.as_bytes(),
            &d,
            (d.data_start, usize::MAX),
            &[1],
            &mut out,
            "r.csv",
        )
        .unwrap_err();
        assert!(
            e.message.contains("line 2") && e.message.contains("\"x\" is not a number"),
            "{}",
            e.message
        );
    }
}
