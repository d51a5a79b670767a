//! Partitions: a dataset cut into parts that other processes or machines describe on
//! their own, and whose descriptions merge into the file's.
//!
//! A binary file's partitions are row ranges, exact by construction. A CSV file's are
//! byte ranges of its data, cut at record boundaries found from local evidence (the
//! quotes near the cut, as the parallel scan's chunks): planning reads a few KiB around
//! each cut, never the file. A guess can be wrong (a stray quote in an unquoted field),
//! so a partition's description says where its last record ended: when that is not
//! where the next partition starts, the next one is read again from there
//! (`partition_description` of `end..next.end`), never merged with a split row.

use super::csv::column::Mode;
use super::csv::{other_start, partition_bounds, scan_range};
use super::{
    binary, csv_description, scan_with_mixed_as_text, Body, ColumnDescription, Dataset,
    Description, Kind,
};
use crate::error::{Error, Result};
use crate::runtime::progress::Progress;
use crate::stats::sketch::ColumnSketch;
use crate::stats::Stats;
use std::ops::Range;

/// The most partitions a plan may have: each is a task somewhere, and a list of more
/// would be an allocation failure (an abort) before it is anything useful.
pub const MAX_PARTITIONS: u64 = 1 << 24;

/// What identifies the file a dataset mapped: a partition planned on it is refused by a
/// dataset opened on another file, or on the same file changed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileIdentity {
    /// Size in bytes.
    pub size: u64,
    /// Last modification, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Inode number (0 where the system has none).
    pub inode: u64,
    /// Device number (0 where the system has none).
    pub device: u64,
}

impl Dataset {
    /// The identity of the mapped file, as it is now (a fresh `fstat` of the open file).
    pub fn identity(&self) -> Result<FileIdentity> {
        self.map.identity()
    }

    /// Cuts the data into `count` partitions (0: as many as make parts of about
    /// `target_bytes`), in file order; each is `start..stop` in bytes (CSV) or rows
    /// (binary). Fewer when the data is small or a CSV record spans a cut; at least one.
    pub fn partitions(&self, target_bytes: u64, count: u64) -> Result<Vec<Range<u64>>> {
        if target_bytes == 0 && count == 0 {
            return Err(Error::invalid_argument(
                "target_bytes must be at least 1 when no partition count is given",
            ));
        }
        if count > MAX_PARTITIONS {
            return Err(Error::invalid_argument(format!(
                "at most {MAX_PARTITIONS} partitions, got {count}"
            )));
        }
        if self.compressed.is_some() {
            // One stream: the whole file is the one partition.
            #[allow(clippy::single_range_in_vec_init)]
            return Ok(vec![0..self.map.len() as u64]);
        }
        let data_bytes = match &self.body {
            Body::Binary(l) => l.rows.saturating_mul(l.cols * l.scalar.size() as u64),
            Body::Csv(d) => (self.map.len() - d.data_start.min(self.map.len())) as u64,
        };
        let wanted = if count > 0 {
            count
        } else {
            data_bytes.div_ceil(target_bytes).clamp(1, MAX_PARTITIONS)
        };
        Ok(match &self.body {
            Body::Binary(layout) => {
                let (rows, n) = (layout.rows, wanted.min(layout.rows).max(1));
                // Balanced: sizes differ by at most one row.
                let cut = |k: u64| (rows as u128 * k as u128 / n as u128) as u64;
                (0..n).map(|k| cut(k)..cut(k + 1)).collect()
            }
            Body::Csv(dialect) => {
                let bounds = partition_bounds(&self.map, dialect, wanted as usize);
                bounds
                    .windows(2)
                    .map(|w| w[0] as u64..w[1] as u64)
                    .collect()
            }
        })
    }

    /// The CSV column types every partition of `columns` is read with into Arrow: the
    /// whole file's where a describe or a scan has seen them, else those of the first
    /// records (planning reads no more of the file than that). Binary columns: their
    /// element type's kind.
    pub fn planned_kinds(&self, columns: &[usize]) -> Result<Vec<Kind>> {
        self.check_columns(columns)?;
        Ok(match &self.body {
            Body::Binary(layout) => {
                let kind = if layout.scalar.is_float() {
                    Kind::Float
                } else {
                    Kind::Int
                };
                vec![kind; columns.len()]
            }
            Body::Csv(dialect) => {
                let known = self.kinds.lock().clone();
                let need_sample = columns.iter().any(|&c| known[c].is_none());
                let sample = if need_sample {
                    super::csv::sample_kinds(self.text_sample(), dialect, self.map.path())
                } else {
                    Vec::new()
                };
                columns
                    .iter()
                    .map(|&c| known[c].unwrap_or_else(|| sample[c]))
                    .collect()
            }
        })
    }

    /// The description of the records of one partition (`part`, from `partitions`, or
    /// `end..next.stop` to read a partition again after a wrong guess), of `columns`
    /// (positions); those also in `as_text` are read as text whatever they hold (a column
    /// that other partitions found to be text). Also returns the bytes (rows) read:
    /// from where the first record read starts (CSV: `part.start`, or, when reading from
    /// that guess fails, the boundary the other quote state gives) to where the next
    /// record starts (past `part.end` when the last record runs on). Partitions chain
    /// when each one's read start is the previous one's read end.
    pub fn partition_description(
        &self,
        part: Range<u64>,
        columns: &[usize],
        as_text: &[usize],
        progress: &Progress,
    ) -> Result<(Description, Range<u64>)> {
        self.check_columns(columns)?;
        if let Some(&bad) = as_text.iter().find(|c| !columns.contains(c)) {
            return Err(Error::invalid_argument(format!(
                "column {bad} is to be read as text but is not among the columns described"
            )));
        }
        let mut counted = (0, 0..0);
        let described = super::each_once(columns, |unique| {
            let read = self.describe_partition(part.clone(), unique, as_text, progress)?;
            counted = (read.rows, read.start..read.end);
            Ok(read.columns)
        })?;
        let description = Description {
            names: columns.iter().map(|&c| self.names[c].clone()).collect(),
            columns: described,
            rows: Some(counted.0),
        };
        Ok((description, counted.1))
    }

    /// `partition_description` of columns without repeats: the column descriptions, the
    /// rows read and where the next record starts.
    fn describe_partition(
        &self,
        part: Range<u64>,
        columns: &[usize],
        as_text: &[usize],
        progress: &Progress,
    ) -> Result<Read> {
        self.map.check_unchanged()?;
        let release = |a: usize, b: usize| self.map.release(a, b);
        match &self.body {
            Body::Binary(layout) => {
                if part.start > part.end || part.end > layout.rows {
                    return Err(out_of_range("rows", &part, 0..layout.rows));
                }
                let parts = self.map.unless_truncated(binary::describe(
                    &self.map,
                    layout,
                    columns,
                    part.clone(),
                    progress,
                    &release,
                ))?;
                Ok(Read {
                    columns: binary_descriptions(layout, parts),
                    rows: part.end - part.start,
                    start: part.start,
                    end: part.end,
                })
            }
            Body::Csv(dialect) if self.compressed.is_some() => {
                let whole = 0..self.map.len() as u64;
                if part != whole {
                    return Err(out_of_range("bytes", &part, whole));
                }
                let scan =
                    |wanted: &[(usize, Mode)]| self.text_scan(dialect, wanted, &[], progress);
                let parsed = scan_with_mixed_as_text(columns, as_text, scan)?;
                Ok(Read {
                    columns: parsed.columns.into_iter().map(csv_description).collect(),
                    rows: parsed.rows,
                    start: 0,
                    end: part.end,
                })
            }
            Body::Csv(dialect) => {
                let data = dialect.data_start.min(self.map.len()) as u64..self.map.len() as u64;
                if part.start > part.end || part.start < data.start || part.end > data.end {
                    return Err(out_of_range("bytes", &part, data.clone()));
                }
                let range = part.start as usize..part.end as usize;
                let first = self.describe_csv(dialect, range.clone(), columns, as_text, progress);
                match first {
                    // A start after the data's is a guess: if reading from it fails, the
                    // guess of the quote state there may be what was wrong. Read from
                    // the boundary the other state gives; the caller checks the chain.
                    Err(e) if part.start > data.start => {
                        let Some(other) =
                            other_start(&self.map, range.start, dialect.delimiter, dialect.quote)
                        else {
                            return Err(e);
                        };
                        // Past the end: the whole partition is inside one quoted field,
                        // which a record of an earlier partition holds.
                        let again = other.min(range.end)..range.end;
                        let mut read = self
                            .describe_csv(dialect, again, columns, as_text, progress)
                            .map_err(|_| e)?;
                        read.start = other as u64;
                        read.end = read.end.max(other as u64);
                        Ok(read)
                    }
                    read => read,
                }
            }
        }
    }

    /// `describe_partition` of the CSV records that start in `range`.
    fn describe_csv(
        &self,
        dialect: &super::csv::Dialect,
        range: Range<usize>,
        columns: &[usize],
        as_text: &[usize],
        progress: &Progress,
    ) -> Result<Read> {
        let release = |a: usize, b: usize| self.map.release(a, b);
        let scan = |wanted: &[(usize, Mode)]| {
            self.map.unless_truncated(scan_range(
                &self.map,
                dialect,
                range.clone(),
                wanted,
                &[],
                self.map.path(),
                progress,
                &release,
            ))
        };
        let parsed = scan_with_mixed_as_text(columns, as_text, scan)?;
        Ok(Read {
            columns: parsed.columns.into_iter().map(csv_description).collect(),
            rows: parsed.rows,
            start: range.start as u64,
            end: parsed.end as u64,
        })
    }
}

/// What reading a partition gave.
struct Read {
    columns: Vec<ColumnDescription>,
    rows: u64,
    /// Where the first record read starts, and where the one after the last starts.
    start: u64,
    end: u64,
}

fn out_of_range(unit: &str, part: &Range<u64>, data: Range<u64>) -> Error {
    Error::invalid_argument(format!(
        "the partition's {unit} {}..{} are not within the data's {unit} {}..{}",
        part.start, part.end, data.start, data.end
    ))
}

/// Column descriptions of a binary array's per-column statistics and sketches.
pub(super) fn binary_descriptions(
    layout: &binary::Layout,
    parts: Vec<(Stats, ColumnSketch)>,
) -> Vec<ColumnDescription> {
    let kind = if layout.scalar.is_float() {
        Kind::Float
    } else {
        Kind::Int
    };
    parts
        .into_iter()
        .map(|(summary, sketch)| ColumnDescription {
            kind,
            element: Some(layout.scalar),
            present: summary.count() + summary.nan_count(),
            missing: 0,
            summary,
            min_len: 0,
            max_len: 0,
            sketch,
            mixed: false,
            exact_quantiles: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::OpenOptions;

    fn open(name: &str, text: &str) -> Dataset {
        let dir = std::env::temp_dir().join(format!("oxb-partition-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let mut ds = Dataset::open(&path, &OpenOptions::default()).unwrap();
        ds.set_csv_chunk_bytes(1000);
        ds
    }

    /// The description merged from every partition, each read again from where the
    /// previous one ended when its start was a wrong guess, as a scheduler does.
    fn merged(ds: &Dataset, parts: &[Range<u64>], columns: &[usize]) -> (Description, usize) {
        let p = Progress::default();
        let mut total: Option<Description> = None;
        let mut expected = parts[0].start;
        let mut wrong = 0;
        for part in parts {
            if expected >= part.end {
                wrong += 1;
                continue;
            }
            wrong += usize::from(expected != part.start);
            let (d, read) = ds
                .partition_description(expected..part.end, columns, &[], &p)
                .unwrap();
            assert_eq!(read.start, expected);
            expected = read.end;
            match &mut total {
                None => total = Some(d),
                Some(t) => t.merge(&d).unwrap(),
            }
        }
        (total.unwrap(), wrong)
    }

    fn assert_same(a: &Description, b: &Description) {
        assert_eq!(a.rows, b.rows);
        for (x, y) in a.columns.iter().zip(&b.columns) {
            assert_eq!(
                (x.kind, x.present, x.missing),
                (y.kind, y.present, y.missing)
            );
            assert_eq!(x.summary.exact(), y.summary.exact());
            assert_eq!(x.summary.count(), y.summary.count());
        }
    }

    #[test]
    fn partitions_with_quoted_newlines_merge_into_the_file() {
        let mut text = String::from("id,note,value\n");
        for i in 0..5000 {
            text.push_str(&format!("{i},\"a\nb, \"\"{i}\"\"\n\",{}\n", i % 7));
        }
        let ds = open("quoted.csv", &text);
        let whole = ds
            .description(&[0, 1, 2], &Default::default(), &Progress::default())
            .unwrap();
        for n in [1, 2, 3, 7, 50] {
            let parts = ds.partitions(1, n).unwrap();
            assert_eq!(parts.len() as u64, n);
            assert!(parts.windows(2).all(|w| w[0].end == w[1].start));
            let (d, wrong) = merged(&ds, &parts, &[0, 1, 2]);
            assert_eq!(wrong, 0);
            assert_same(&d, &whole);
            assert_eq!(d.columns[0].summary.exact().unwrap().sum, (0..5000).sum());
        }
    }

    #[test]
    fn a_wrong_guess_is_read_again_from_where_the_previous_part_ended() {
        // Quoted fields longer than the window a guess looks at: a cut inside one sees
        // no quote nearby and takes a newline in the field for a record boundary.
        let long = "line,\n".repeat(20_000);
        let mut text = String::from("id,note\n");
        for i in 0..12 {
            text.push_str(&format!("{i},\"{long}\"\n{},short\n", i + 100));
        }
        let ds = open("long_fields.csv", &text);
        let whole = ds
            .description(&[0, 1], &Default::default(), &Progress::default())
            .unwrap();
        assert_eq!(whole.rows, Some(24));
        let parts = ds.partitions(1, 40).unwrap();
        let (d, wrong) = merged(&ds, &parts, &[0, 1]);
        assert!(wrong > 0, "the file should mislead some guesses");
        assert_same(&d, &whole);
        // Read from its guessed start, a partition whose guess fails to parse is read
        // from the other quote state's boundary; the chain, checked as a scheduler
        // checks it, reads again any that does not start where the previous one ended.
        let p = Progress::default();
        let mut expected = parts[0].start;
        let (mut retried, mut total) = (0, None::<Description>);
        for part in &parts {
            if expected >= part.end {
                continue;
            }
            let (mut d, mut read) = ds
                .partition_description(part.clone(), &[0, 1], &[], &p)
                .unwrap();
            retried += usize::from(read.start != part.start);
            if read.start != expected {
                (d, read) = ds
                    .partition_description(expected..part.end, &[0, 1], &[], &p)
                    .unwrap();
            }
            expected = read.end;
            match &mut total {
                None => total = Some(d),
                Some(t) => t.merge(&d).unwrap(),
            }
        }
        assert!(
            retried > 0,
            "some guess should fail and be read from the other state"
        );
        assert_same(&total.unwrap(), &whole);
    }

    #[test]
    fn partition_streams_hold_each_record_once() {
        // Chunks of 1000 bytes inside partitions of odd sizes: a chunk's start guessed
        // past the partition's end must not take the next partition's records.
        let long = "z".repeat(400); // records of ~400 bytes: chunk starts land in them
        let mut text = String::from("id,note\n");
        for i in 0..5000 {
            text.push_str(&format!("{i},\"x\ny {long}\"\n"));
        }
        let ds = open("streams.csv", &text);
        for n in [3, 7, 29] {
            let parts = ds.partitions(1, n).unwrap();
            let (mut rows, mut sum) = (0usize, 0i64);
            for part in parts {
                let kinds = [Kind::Int, Kind::Text];
                let p = &Progress::default();
                let mut r = crate::dataset::BatchReader::of_partition(
                    &ds,
                    &[0, 1],
                    Some(333),
                    part,
                    Some(&kinds),
                    p,
                )
                .unwrap();
                while let Some(batch) = r.next(&ds).unwrap() {
                    rows += batch.rows;
                    let values = batch.columns[0].buffers[0].owned_bytes().unwrap();
                    sum += values
                        .chunks(8)
                        .take(batch.rows)
                        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
                        .sum::<i64>();
                }
            }
            assert_eq!((rows, sum), (5000, (0..5000).sum()), "{n} partitions");
        }
    }

    #[test]
    fn binary_partitions_are_row_ranges() {
        let dir = std::env::temp_dir().join(format!("oxb-partition-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("values.raw");
        let values: Vec<u8> = (0..1001i64).flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&path, values).unwrap();
        let options = OpenOptions {
            raw_dtype: Some("int64".into()),
            ..Default::default()
        };
        let ds = Dataset::open(&path, &options).unwrap();
        let parts = ds.partitions(800, 0).unwrap();
        assert_eq!(parts.len(), 11); // 8008 bytes in parts of 800
        assert_eq!((parts[0].start, parts[10].end), (0, 1001));
        let (d, _) = merged(&ds, &parts, &[0]);
        assert_eq!(d.rows, Some(1001));
        assert_eq!(d.columns[0].summary.exact().unwrap().sum, 500_500);
        assert!(ds.partitions(0, 0).is_err());
        assert!(ds.partitions(1, MAX_PARTITIONS + 1).is_err());
        assert!(ds
            .partition_description(5..2000, &[0], &[], &Progress::default())
            .is_err());
    }

    #[test]
    fn a_partition_outside_the_data_or_text_of_another_column_is_refused() {
        let ds = open("small.csv", "a,b\n1,x\n2,y\n");
        let p = Progress::default();
        assert!(ds.partition_description(0..12, &[0], &[], &p).is_err()); // the header
        assert!(ds.partition_description(4..13, &[0], &[], &p).is_err()); // past the end
        assert!(ds.partition_description(4..12, &[0], &[1], &p).is_err());
        let (d, read) = ds.partition_description(4..12, &[0, 1], &[0], &p).unwrap();
        assert_eq!(
            (d.columns[0].kind, read, d.rows),
            (Kind::Text, 4..12, Some(2))
        );
        assert_eq!(ds.partitions(1, 100).unwrap().len(), 2); // one per record at most
                                                             // A real error in a later partition stays one: no quote supports another start.
        let mut text = String::from("a,b\n");
        for i in 0..2000 {
            text.push_str(&format!("{i},x\n"));
        }
        text.push_str("1,2,3\n");
        let ds = open("bad_row.csv", &text);
        let parts = ds.partitions(1, 4).unwrap();
        let last = parts.last().unwrap().clone();
        let e = ds
            .partition_description(last, &[0, 1], &[], &p)
            .unwrap_err();
        assert!(e.message.contains("field"), "{}", e.message);
    }
}
