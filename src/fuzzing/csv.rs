//! The CSV target: open with several option sets, describe, read rows, and compare the
//! parallel scan with the sequential reader.

use super::{assert_same_stats, MemFile};
use crate::dataset::csv::CsvOptions;
use crate::dataset::{Dataset, Format, OpenOptions};
use crate::runtime::progress::Progress;
use crate::stats::Stats;

// ---- (a) CSV: open, describe, read_rows --------------------------------------------------

/// Dialect detection, then a few fixed option sets (every delimiter the C ABI accepts
/// behaves alike, so a handful covers them).
fn csv_option_sets() -> Vec<OpenOptions> {
    let csv = |delimiter: u8, has_header: Option<bool>, nulls: Option<&[&str]>| OpenOptions {
        format: Some(Format::Csv),
        csv: CsvOptions {
            delimiter: Some(delimiter),
            has_header,
            null_values: nulls.map(|n| n.iter().map(|s| s.to_string()).collect()),
            ..CsvOptions::default()
        },
        ..OpenOptions::default()
    };
    // Decimal comma, comment lines and leading rows reach their code paths too.
    let mut european = csv(b';', None, None);
    european.csv.decimal = Some(b',');
    european.csv.comment = Some(b'#');
    european.csv.skip_rows = 1;
    vec![
        OpenOptions::default(), // format and dialect detected
        csv(b',', Some(true), None),
        csv(b'\t', Some(false), Some(&[])),
        csv(b';', None, Some(&["-", "?", ""])),
        csv(b' ', Some(false), None),
        european,
    ]
}

/// Opens `data` as a file with each option set and reads everything there is to read.
pub fn csv(data: &[u8]) {
    let file = MemFile::new(data);
    for options in csv_option_sets() {
        if let Ok(mut dataset) = Dataset::open(&file.path, &options) {
            exercise(&dataset);
            // Again in chunks of a few bytes, so that the parallel scan's chunk
            // boundaries (found from local evidence, re-parsed when wrong) land inside
            // quoted fields, CRLFs and doubled quotes; `exercise` checks the scan against
            // the sequential reader.
            // At most about 32 chunks: each costs per-column state, and a wide header
            // cut into thousands of chunks made one input take seconds under ASan.
            let chunk = (data.len() / 32).max(1 + data.len() % 13);
            dataset.set_csv_chunk_bytes(chunk);
            exercise(&dataset);
        }
    }
}

/// Every read of an open dataset, checked against each other.
pub(super) fn exercise(dataset: &Dataset) {
    let progress = Progress::default();
    let columns = dataset.names().len();
    assert_eq!(dataset.dtypes().len(), columns);
    let is_csv = dataset.format() == Format::Csv;
    assert_eq!(is_csv, dataset.array().is_none());
    let rows = dataset.num_rows(&progress);
    let all: Vec<usize> = (0..columns).collect();
    let described = dataset.describe(&all, &progress);
    assert!(dataset.describe(&[columns], &progress).is_err());
    if let (Ok(rows), Ok(described)) = (&rows, &described) {
        assert_eq!(described.len(), columns);
        for d in described {
            assert_eq!(d.present + d.missing, *rows, "every row has every column");
        }
    }
    if let Ok(described) = &described {
        // A repeated and reordered selection gives the same answers.
        if columns > 0 {
            let picked = [columns - 1, 0, columns - 1];
            let again = dataset
                .describe(&picked, &progress)
                .expect("a second describe of the same columns");
            for (&c, d) in picked.iter().zip(&again) {
                assert_same_stats(&described[c].summary, &d.summary, "describe again");
                assert_eq!(
                    (described[c].kind, described[c].present),
                    (d.kind, d.present)
                );
            }
        }
    }
    if !is_csv {
        assert!(dataset
            .read_rows(0, usize::MAX, &[], &mut [0.0; 4])
            .is_err());
        return;
    }
    // read_rows with no columns counts records exactly as the parallel scan does.
    let counted = read_everything(dataset, &[]);
    match (&rows, &counted) {
        (Ok(rows), Ok((read, _))) => assert_eq!(*rows, *read, "num_rows vs read_rows"),
        (Err(_), Err(_)) => {}
        (rows, counted) => panic!(
            "num_rows and read_rows disagree: {:?} vs {:?}",
            rows.as_ref().map_err(|e| &e.message),
            counted.as_ref().map(|c| c.0).map_err(|e| &e.message)
        ),
    }
    // The numeric columns read row by row give the statistics the scan gave.
    let Ok(described) = described else { return };
    let numeric: Vec<usize> = (0..columns)
        .filter(|&c| {
            use crate::dataset::Kind;
            // bool, date and datetime columns read like text through read_rows.
            matches!(described[c].kind, Kind::Empty | Kind::Int | Kind::Float)
        })
        .collect();
    let read = read_everything(dataset, &numeric);
    let (_, values) = match read {
        Ok(read) => read,
        Err(e) => panic!(
            "describe found columns {numeric:?} numeric, read_rows refuses them: {}",
            e.message
        ),
    };
    for (&c, column) in numeric.iter().zip(&values) {
        assert_same_stats(&described[c].summary, &Stats::of_slice(column), "read_rows");
    }
}

/// Reads every record, three rows per call (so the cursor is resumed often): the row
/// count and each column's values.
fn read_everything(dataset: &Dataset, columns: &[usize]) -> crate::Result<(u64, Vec<Vec<f64>>)> {
    let width = columns.len().max(1);
    let mut out = vec![0.0; width * 3];
    let mut values = vec![Vec::new(); columns.len()];
    let (mut cursor, mut rows) = (0usize, 0u64);
    loop {
        let (n, next) = dataset.read_rows(cursor, usize::MAX, columns, &mut out)?;
        if n == 0 {
            return Ok((rows, values));
        }
        assert!(n <= 3 && next > cursor, "read_rows must move forward");
        for row in out[..n * width].chunks(width) {
            for (v, &x) in values.iter_mut().zip(row) {
                v.push(x);
            }
        }
        cursor = next;
        rows += n as u64;
    }
}
