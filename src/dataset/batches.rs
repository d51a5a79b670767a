//! A dataset's rows as Arrow record batches, in file order.
//!
//! - Binary arrays (`.npy`, raw): a column that is contiguous in the file and
//!   little-endian (any column of a Fortran-order array, the column of a 1-D or
//!   one-column array) is handed out as a byte range of the mapping, no copy; others (a
//!   column of a C-order table, big-endian data, numpy's byte-per-value booleans) are
//!   copied a batch at a time.
//! - CSV: `csv::batches`, with the column types of the whole file (from the last
//!   describe, else one scan of the columns not known yet), so that no batch meets a
//!   value its schema cannot hold.
//!
//! The mapping must outlive the batches that point into it: whoever hands them out keeps
//! the dataset alive until they are released.

use super::binary::Layout;
use super::compressed::Source;
use super::csv::batches::CsvBatches;
use super::csv::column::Mode;
use super::npy::Scalar;
use super::streamed::{Ahead, TextWindow};
use super::{csv, Body, Dataset, Kind};
use crate::arrow::{Batch, Bits, Buffer, Column, DataType, Field};
use crate::error::{Error, Result};
use crate::runtime::progress::Progress;

/// Text columns get 64-bit offsets when a file is this large: below it no batch can hold
/// 2 GiB of text, so 32-bit offsets (Arrow's `utf8`, what most tools make) always fit.
const LARGE_TEXT_FILE: usize = 1 << 31;

/// The Arrow type of a binary element type.
fn binary_type(scalar: Scalar) -> DataType {
    match scalar {
        Scalar::F64 => DataType::Float64,
        Scalar::F32 => DataType::Float32,
        Scalar::I64 => DataType::Int64,
        Scalar::I32 => DataType::Int32,
        Scalar::I16 => DataType::Int16,
        Scalar::I8 => DataType::Int8,
        Scalar::U32 => DataType::UInt32,
        Scalar::U16 => DataType::UInt16,
        Scalar::U8 => DataType::UInt8,
        Scalar::Bool => DataType::Bool,
    }
}

/// The Arrow type of a CSV column of `kind`.
fn csv_type(kind: Kind, file_len: usize) -> DataType {
    match kind {
        Kind::Empty | Kind::Float => DataType::Float64,
        Kind::Int => DataType::Int64,
        Kind::Bool => DataType::Bool,
        Kind::Date => DataType::Date32,
        Kind::DateTime => DataType::Timestamp { zoned: false },
        Kind::ZonedDateTime => DataType::Timestamp { zoned: true },
        Kind::Text if file_len >= LARGE_TEXT_FILE => DataType::LargeUtf8,
        Kind::Text => DataType::Utf8,
    }
}

impl Dataset {
    /// The mapped file's bytes, which `Buffer::Mapped` ranges index.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// The Arrow fields of `columns` (positions). CSV columns have the types of the
    /// whole file: known after a describe, else found by one scan of the columns not
    /// known yet (`progress` reports it).
    pub fn arrow_fields(&self, columns: &[usize], progress: &Progress) -> Result<Vec<Field>> {
        self.check_columns(columns)?;
        let types: Vec<(DataType, bool)> = match &self.body {
            Body::Binary(layout) => {
                let t = binary_type(layout.scalar);
                vec![(t, false); columns.len()]
            }
            Body::Csv(_) => self
                .csv_kinds(columns, progress)?
                .into_iter()
                .map(|k| (csv_type(k, self.map.len()), true))
                .collect(),
        };
        Ok(columns
            .iter()
            .zip(types)
            .map(|(&c, (data_type, nullable))| Field {
                name: self.names[c].clone(),
                data_type,
                nullable,
            })
            .collect())
    }

    /// The Arrow fields of `columns` as `arrow_fields` gives them, except that CSV
    /// columns whose types over the whole file are not known yet get the types of the
    /// first records instead of a scan; the second value tells whether any did.
    pub fn sampled_arrow_fields(
        &self,
        columns: &[usize],
        progress: &Progress,
    ) -> Result<(Vec<Field>, bool)> {
        self.check_columns(columns)?;
        let Body::Csv(dialect) = &self.body else {
            return Ok((self.arrow_fields(columns, progress)?, false));
        };
        let known: Vec<Option<Kind>> = {
            let kinds = self.kinds.lock();
            columns.iter().map(|&c| kinds[c]).collect()
        };
        if known.iter().all(Option::is_some) {
            return Ok((self.arrow_fields(columns, progress)?, false));
        }
        let sample = csv::sample_kinds(self.text_sample(), dialect, self.map.path());
        // A column with no value in the sample could still be any type (and an empty one
        // is float64): guessing would give another type than the whole file's.
        if columns
            .iter()
            .zip(&known)
            .any(|(&c, k)| k.is_none() && sample[c] == Kind::Empty)
        {
            return Ok((self.arrow_fields(columns, progress)?, false));
        }
        let fields = columns
            .iter()
            .zip(known)
            .map(|(&c, k)| Field {
                name: self.names[c].clone(),
                data_type: csv_type(k.unwrap_or(sample[c]), self.map.len()),
                nullable: true,
            })
            .collect();
        Ok((fields, true))
    }

    /// The kinds of CSV `columns` over the whole file, scanning those not known yet.
    fn csv_kinds(&self, columns: &[usize], progress: &Progress) -> Result<Vec<Kind>> {
        let Body::Csv(dialect) = &self.body else {
            unreachable!("only CSV columns have kinds to find")
        };
        let mut unknown: Vec<usize> = {
            let kinds = self.kinds.lock();
            columns
                .iter()
                .copied()
                .filter(|&c| kinds[c].is_none())
                .collect()
        };
        unknown.sort_unstable();
        unknown.dedup();
        if !unknown.is_empty() {
            self.map.check_unchanged()?;
            let wanted: Vec<(usize, Mode)> = unknown.iter().map(|&c| (c, Mode::Kinds)).collect();
            let parsed = self.text_scan(dialect, &wanted, &[], progress)?;
            *self.rows.lock() = Some(parsed.rows);
            let mut kinds = self.kinds.lock();
            for (&c, stats) in unknown.iter().zip(&parsed.columns) {
                kinds[c] = Some(stats.kind);
            }
        }
        let kinds = self.kinds.lock();
        Ok(columns
            .iter()
            .map(|&c| kinds[c].unwrap_or(Kind::Empty))
            .collect())
    }

    /// An error for a column position past the last.
    pub(super) fn check_columns(&self, columns: &[usize]) -> Result<()> {
        match columns.iter().find(|&&c| c >= self.names.len()) {
            Some(&bad) => Err(Error::invalid_argument(format!(
                "column {bad} is out of range: the file has {} columns",
                self.names.len()
            ))),
            None => Ok(()),
        }
    }

    /// Rows `start..start + rows` of binary `columns`, zero-copy where the layout allows.
    fn binary_batch(&self, layout: &Layout, columns: &[usize], start: u64, rows: u64) -> Batch {
        let columns = columns
            .iter()
            .map(|&c| binary_column(&self.map, layout, c as u64, start, rows))
            .collect();
        Batch {
            rows: rows as usize,
            columns,
        }
    }
}

/// Rows per batch unless the caller says otherwise (and some column is copied).
pub const DEFAULT_BATCH_ROWS: usize = 65536;

/// Whether a column of `layout` can be handed out as a range of the file.
fn zero_copy(layout: &Layout) -> bool {
    let native = layout.big_endian == cfg!(target_endian = "big");
    native
        && layout.scalar != Scalar::Bool
        && (layout.fortran_order || layout.cols == 1)
        // Arrow wants each value at a multiple of its size; .npy data starts at 64 bytes.
        && layout.offset.is_multiple_of(layout.scalar.size())
}

/// Rows `start..start + rows` of column `col`.
fn binary_column(bytes: &[u8], layout: &Layout, col: u64, start: u64, rows: u64) -> Column {
    let size = layout.scalar.size();
    let data_type = binary_type(layout.scalar);
    let at = |row: u64| -> usize {
        let index = if layout.fortran_order {
            col * layout.rows + row
        } else {
            row * layout.cols + col
        };
        layout.offset + index as usize * size
    };
    let buffer = if zero_copy(layout) {
        Buffer::Mapped(at(start)..at(start) + rows as usize * size)
    } else if layout.scalar == Scalar::Bool {
        let mut bits = Bits::default();
        for r in start..start + rows {
            bits.push(bytes[at(r)] != 0);
        }
        bits.into_buffer()
    } else {
        let swap = layout.big_endian != cfg!(target_endian = "big");
        let mut out = Vec::with_capacity(rows as usize * size);
        for r in start..start + rows {
            let value = &bytes[at(r)..at(r) + size];
            if swap {
                out.extend(value.iter().rev());
            } else {
                out.extend_from_slice(value);
            }
        }
        Buffer::copy_of(&out)
    };
    Column {
        data_type,
        len: rows as usize,
        null_count: 0,
        validity: None,
        buffers: vec![buffer],
    }
}

/// Where a reader is in its dataset.
#[derive(Debug)]
enum Position {
    Binary {
        next_row: u64,
        end_row: u64,
    },
    Csv(CsvBatches),
    /// A streamed file (compressed, or not UTF-8).
    Streamed(Box<StreamedBatches>),
}

/// Text per window of a streamed file's batches: a chunk for each of four threads.
const STREAMED_WINDOW: usize = 4 * super::compressed::CHUNK;

/// A streamed file's batches: its text decoded a window at a time on a thread of its own
/// (`streamed`), each window's records parsed as a mapped file's are (chunks in
/// parallel, in order) while the next one decodes.
struct StreamedBatches {
    windows: Ahead,
    queue: std::collections::VecDeque<Batch>,
}

impl std::fmt::Debug for StreamedBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamedBatches")
            .field("queued", &self.queue.len())
            .finish()
    }
}

impl StreamedBatches {
    fn open(dataset: &Dataset, source: Source, dialect: &csv::Dialect) -> Result<Self> {
        let mut window = TextWindow::open(
            source,
            dataset.map.file()?,
            dataset.map.path(),
            dialect.quote,
        )?;
        window.skip_to(dialect.data_start)?;
        Ok(StreamedBatches {
            windows: window.ahead(STREAMED_WINDOW)?,
            queue: Default::default(),
        })
    }

    /// The next batch; a window's text starts at a record, so `dialect`'s header is
    /// not in it.
    fn next(
        &mut self,
        dialect: &csv::Dialect,
        columns: &[(usize, DataType)],
        rows: usize,
        path: &str,
    ) -> Result<Option<Batch>> {
        while self.queue.is_empty() {
            let Some(window) = self.windows.next()? else {
                return Ok(None);
            };
            let text = &window.text[..];
            let mut batches = CsvBatches::of_range(text, dialect, 0..text.len());
            while let Some(batch) = batches
                .next(text, dialect, columns, rows, path, &|_, _| {})
                .map_err(|e| window.in_file(e))?
            {
                self.queue.push_back(batch);
            }
        }
        Ok(self.queue.pop_front())
    }
}

/// Hands out a dataset's rows as batches of at most `rows` rows, in file order. It holds
/// no reference to the dataset: each call is given it (the same one every time).
#[derive(Debug)]
pub struct BatchReader {
    columns: Vec<usize>,
    fields: Vec<Field>,
    rows: usize,
    position: Position,
    /// Some CSV column's type was guessed from the first records.
    sampled: bool,
    /// The CSV column types were planned for a partition.
    planned: bool,
    /// A value did not fit a guessed type: the reader stopped (`types_did_not_fit`).
    did_not_fit: bool,
}

impl BatchReader {
    /// A reader of `columns` (positions) of `dataset`, `rows` (at least 1) per batch;
    /// `None`: one batch of every row when no column is copied (binary columns that are
    /// ranges of the file cost nothing however long), else `DEFAULT_BATCH_ROWS`. For CSV
    /// this finds the column types first (`Dataset::arrow_fields`).
    pub fn new(
        dataset: &Dataset,
        columns: &[usize],
        rows: Option<usize>,
        progress: &Progress,
    ) -> Result<BatchReader> {
        BatchReader::with_types(dataset, columns, rows, false, progress)
    }

    /// `new`, with `sampled`: CSV column types whose whole-file types are not known yet
    /// are those of the first records instead of a scan of the file, one pass instead
    /// of two. Should a later value not fit, `next` fails and `types_did_not_fit` says
    /// so: read again with `new` (for a table made whole, this costs a pass only in the
    /// rare file that changes form late).
    pub fn with_types(
        dataset: &Dataset,
        columns: &[usize],
        rows: Option<usize>,
        sampled: bool,
        progress: &Progress,
    ) -> Result<BatchReader> {
        if rows == Some(0) {
            return Err(Error::invalid_argument("rows per batch must be at least 1"));
        }
        let (fields, sampled) = if sampled {
            dataset.sampled_arrow_fields(columns, progress)?
        } else {
            (dataset.arrow_fields(columns, progress)?, false)
        };
        let rows = rows.unwrap_or(match &dataset.body {
            Body::Binary(layout) if zero_copy(layout) => {
                usize::try_from(layout.rows).unwrap_or(usize::MAX).max(1)
            }
            _ => DEFAULT_BATCH_ROWS,
        });
        let position = match (&dataset.body, &dataset.compressed) {
            (Body::Binary(layout), _) => Position::Binary {
                next_row: 0,
                end_row: layout.rows,
            },
            (Body::Csv(dialect), Some((source, _))) => {
                Position::Streamed(Box::new(StreamedBatches::open(dataset, *source, dialect)?))
            }
            (Body::Csv(dialect), None) => Position::Csv(CsvBatches::new(&dataset.map, dialect)),
        };
        Ok(BatchReader {
            columns: columns.to_vec(),
            fields,
            rows,
            position,
            sampled,
            planned: false,
            did_not_fit: false,
        })
    }

    /// A reader of one partition (`Dataset::partitions`): rows `part` of a binary array,
    /// or the CSV records that start in bytes `part`, with the column types `kinds` (one
    /// per column, planned for every partition alike so that their batches share one
    /// schema; `None`: the whole file's). A CSV value that does not fit its planned type
    /// is an error that says so.
    pub fn of_partition(
        dataset: &Dataset,
        columns: &[usize],
        rows: Option<usize>,
        part: std::ops::Range<u64>,
        kinds: Option<&[Kind]>,
        progress: &Progress,
    ) -> Result<BatchReader> {
        let mut reader = BatchReader::new_unread(dataset, columns, rows, kinds, progress)?;
        match (&dataset.body, &mut reader.position) {
            (Body::Binary(layout), Position::Binary { next_row, end_row }) => {
                if part.start > part.end || part.end > layout.rows {
                    return Err(Error::invalid_argument(format!(
                        "the partition's rows {}..{} are not within the array's 0..{}",
                        part.start, part.end, layout.rows
                    )));
                }
                (*next_row, *end_row) = (part.start, part.end);
                if rows.is_none() && zero_copy(layout) {
                    reader.rows = usize::try_from(part.end - part.start)
                        .unwrap_or(usize::MAX)
                        .max(1);
                }
            }
            (Body::Csv(dialect), Position::Csv(batches)) => {
                let data = dialect.data_start.min(dataset.map.len()) as u64;
                if part.start > part.end || part.start < data || part.end > dataset.map.len() as u64
                {
                    return Err(Error::invalid_argument(format!(
                        "the partition's bytes {}..{} are not within the data's bytes {data}..{}",
                        part.start,
                        part.end,
                        dataset.map.len()
                    )));
                }
                *batches = CsvBatches::of_range(
                    &dataset.map,
                    dialect,
                    part.start as usize..part.end as usize,
                );
            }
            (Body::Csv(_), Position::Streamed(_)) => {
                // A streamed file is one partition: the whole file.
                let whole = 0..dataset.map.len() as u64;
                if part != whole {
                    let what = dataset.compressed.as_ref().map(|(s, _)| s.describe());
                    return Err(Error::invalid_argument(format!(
                        "{} is {}, read as one stream: its one partition is the whole file \
                         (bytes 0..{}), not bytes {}..{}",
                        dataset.map.path(),
                        what.unwrap_or_default(),
                        whole.end,
                        part.start,
                        part.end
                    )));
                }
            }
            _ => unreachable!("a reader's position is of its dataset's body"),
        }
        Ok(reader)
    }

    /// `with_types` of the whole file, or with the planned `kinds` of a partition.
    fn new_unread(
        dataset: &Dataset,
        columns: &[usize],
        rows: Option<usize>,
        kinds: Option<&[Kind]>,
        progress: &Progress,
    ) -> Result<BatchReader> {
        let Some(kinds) = kinds else {
            return BatchReader::new(dataset, columns, rows, progress);
        };
        if kinds.len() != columns.len() {
            return Err(Error::invalid_argument(format!(
                "{} column types for {} columns",
                kinds.len(),
                columns.len()
            )));
        }
        dataset.check_columns(columns)?;
        let mut reader = BatchReader::new(dataset, &[], rows, progress)?;
        if let Body::Csv(_) = &dataset.body {
            reader.fields = columns
                .iter()
                .zip(kinds)
                .map(|(&c, &k)| Field {
                    name: dataset.names[c].clone(),
                    data_type: csv_type(k, dataset.map.len()),
                    nullable: true,
                })
                .collect();
            reader.planned = true;
        } else {
            reader.fields = dataset.arrow_fields(columns, progress)?;
        }
        reader.columns = columns.to_vec();
        Ok(reader)
    }

    /// Where the record after the last one read starts: for a CSV partition read to its
    /// end, where the next partition should start (else its start was a wrong guess).
    pub fn next_record(&self) -> Option<u64> {
        match &self.position {
            Position::Csv(batches) => Some(batches.next_record() as u64),
            // Its one partition is the whole file: no next one to start.
            Position::Streamed(_) => None,
            Position::Binary { next_row, .. } => Some(*next_row),
        }
    }

    /// Whether `next` failed because a value did not fit a type guessed from a sample.
    pub fn types_did_not_fit(&self) -> bool {
        self.did_not_fit
    }

    /// The schema of every batch.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The next batch, `None` after the last. A file truncated or shrunk meanwhile is an
    /// error (the batches already handed out saw zeros where pages went missing).
    pub fn next(&mut self, dataset: &Dataset) -> Result<Option<Batch>> {
        dataset.map.check_unchanged_keeping_pages()?;
        let batch = match (&mut self.position, &dataset.body) {
            (Position::Binary { next_row, end_row }, Body::Binary(layout)) => {
                if *next_row >= *end_row {
                    return Ok(None);
                }
                let rows = (self.rows as u64).min(*end_row - *next_row);
                let batch = dataset.binary_batch(layout, &self.columns, *next_row, rows);
                *next_row += rows;
                Some(batch)
            }
            (position @ (Position::Csv(_) | Position::Streamed(_)), Body::Csv(dialect)) => {
                // Each column is parsed once however often it is asked for (the parser
                // keeps one builder per column of the file).
                let mut columns: Vec<(usize, DataType)> = Vec::new();
                let mut slots = Vec::with_capacity(self.columns.len());
                for (&c, f) in self.columns.iter().zip(&self.fields) {
                    let slot = columns
                        .iter()
                        .position(|&(d, _)| d == c)
                        .unwrap_or_else(|| {
                            columns.push((c, f.data_type));
                            columns.len() - 1
                        });
                    slots.push(slot);
                }
                let next = match position {
                    Position::Csv(reader) => reader.next(
                        &dataset.map,
                        dialect,
                        &columns,
                        self.rows,
                        dataset.map.path(),
                        &|a, b| dataset.map.release(a, b),
                    ),
                    Position::Streamed(reader) => {
                        reader.next(dialect, &columns, self.rows, dataset.map.path())
                    }
                    Position::Binary { .. } => unreachable!("matched as CSV above"),
                };
                match next {
                    Err(mut e)
                        if self.sampled && e.message.ends_with(csv::batches::DOES_NOT_FIT) =>
                    {
                        self.did_not_fit = true;
                        e.message
                            .truncate(e.message.len() - csv::batches::DOES_NOT_FIT.len());
                        e.message.push_str(
                            ", guessed from the first records; read again with the whole file's types",
                        );
                        return Err(e);
                    }
                    Err(mut e)
                        if self.planned && e.message.ends_with(csv::batches::DOES_NOT_FIT) =>
                    {
                        e.message
                            .truncate(e.message.len() - csv::batches::DOES_NOT_FIT.len());
                        e.message.push_str(
                            " in every partition (planned from the first records); give the column's type when planning the partitions",
                        );
                        return Err(e);
                    }
                    next => next?.map(|batch| Batch {
                        rows: batch.rows,
                        columns: slots.iter().map(|&i| batch.columns[i].clone()).collect(),
                    }),
                }
            }
            _ => {
                return Err(Error::invalid_argument(
                    "a batch reader is read with the dataset it was made for",
                ))
            }
        };
        dataset.map.unless_damaged(Ok(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::OpenOptions;

    fn file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("oxb-batches-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn npy(name: &str, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Dataset {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let mut header = dict.into_bytes();
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(b' ');
        }
        header.push(b'\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(data);
        Dataset::open(file(name, &bytes), &OpenOptions::default()).unwrap()
    }

    fn all(ds: &Dataset, columns: &[usize], rows: usize) -> Vec<Batch> {
        let mut r = BatchReader::new(ds, columns, Some(rows), &Progress::default()).unwrap();
        std::iter::from_fn(|| r.next(ds).unwrap()).collect()
    }

    #[test]
    fn fortran_columns_are_ranges_of_the_file_and_c_order_is_copied() {
        let data: Vec<u8> = (0..12i64).flat_map(|v| v.to_le_bytes()).collect();
        let f = npy("f.npy", "<i8", true, "(4, 3)", &data);
        let mut whole = BatchReader::new(&f, &[0], None, &Progress::default()).unwrap();
        assert_eq!(whole.next(&f).unwrap().unwrap().rows, 4);
        assert!(whole.next(&f).unwrap().is_none());
        let batches = all(&f, &[2, 0], 3);
        assert_eq!(batches.iter().map(|b| b.rows).collect::<Vec<_>>(), [3, 1]);
        let Buffer::Mapped(r) = &batches[0].columns[0].buffers[0] else {
            panic!("not zero-copy")
        };
        let values: Vec<i64> = f.bytes()[r.clone()]
            .chunks(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values, [8, 9, 10]);
        let c = npy("c.npy", "<i8", false, "(4, 3)", &data);
        let batches = all(&c, &[1], 10);
        let Buffer::Owned { words, .. } = &batches[0].columns[0].buffers[0] else {
            panic!("copied")
        };
        assert_eq!(
            words.iter().map(|&w| w as i64).collect::<Vec<_>>(),
            [1, 4, 7, 10]
        );
        let b = npy("b.npy", "|b1", false, "(3,)", &[1, 0, 1]);
        let Buffer::Owned { words, len } = &all(&b, &[0], 8)[0].columns[0].buffers[0] else {
            panic!()
        };
        assert_eq!((words[0], *len), (0b101, 1));
        let big: Vec<u8> = (0..3i32).flat_map(|v| v.to_be_bytes()).collect();
        let be = npy("be.npy", ">i4", false, "(3,)", &big);
        let Buffer::Owned { words, len } = &all(&be, &[0], 8)[0].columns[0].buffers[0] else {
            panic!()
        };
        assert_eq!((words[0], words[1] as u32, *len), (1 << 32, 2, 12));
    }

    #[test]
    fn csv_types_come_from_the_whole_file() {
        let mut text = String::from("a,b,c\n");
        for i in 0..100_000 {
            text.push_str(&format!(
                "{i},{},2024-01-01T00:00Z\n",
                if i == 99_999 {
                    "x".into()
                } else {
                    i.to_string()
                }
            ));
        }
        let ds = Dataset::open(file("k.csv", text.as_bytes()), &OpenOptions::default()).unwrap();
        let types: Vec<DataType> = ds
            .arrow_fields(&[0, 1, 2], &Progress::default())
            .unwrap()
            .iter()
            .map(|f| f.data_type)
            .collect();
        assert_eq!(
            types,
            [
                DataType::Int64,
                DataType::Utf8,
                DataType::Timestamp { zoned: true }
            ]
        );
        // Sampled, column b reads as int64 until its last value: the reader stops there.
        let fresh =
            Dataset::open(file("k2.csv", text.as_bytes()), &OpenOptions::default()).unwrap();
        let mut r = BatchReader::with_types(&fresh, &[1], Some(30_000), true, &Progress::default())
            .unwrap();
        assert_eq!(r.fields()[0].data_type, DataType::Int64);
        let e = std::iter::from_fn(|| r.next(&fresh).transpose())
            .find_map(Result::err)
            .unwrap();
        assert!(
            r.types_did_not_fit() && e.message.contains("guessed from the first records"),
            "{}",
            e.message
        );
        let batches = all(&ds, &[1], 30_000);
        assert_eq!(batches.iter().map(|b| b.rows).sum::<usize>(), 100_000);
        // Once the whole file's types are known, sampling changes nothing.
        let mut r = BatchReader::with_types(&ds, &[1], None, true, &Progress::default()).unwrap();
        assert_eq!(r.fields()[0].data_type, DataType::Utf8);
        assert!(r.next(&ds).unwrap().is_some());
        assert!(ds.arrow_fields(&[3], &Progress::default()).is_err());
        let mut r = BatchReader::new(&ds, &[0], None, &Progress::default()).unwrap();
        assert_eq!(r.next(&ds).unwrap().unwrap().rows, DEFAULT_BATCH_ROWS);
    }
}
