//! Files far larger than RAM: memory-mapped, described in parallel, never copied into
//! anonymous memory. Formats: `.npy`, raw binary, CSV/TSV.

mod batches;
pub mod binary;
mod compressed;
pub mod csv;
mod description;
pub mod encoding;
pub(crate) mod exact;
pub(crate) mod faults;
mod mapping;
pub mod npy;
mod partition;
mod sigbus;
mod streamed;

pub use batches::{BatchReader, DEFAULT_BATCH_ROWS};
pub use csv::column::Kind;
pub use description::{ColumnDescription, Description};
pub use partition::{FileIdentity, MAX_PARTITIONS};

use crate::error::{Error, Result};
use crate::runtime::progress::Progress;
use csv::column::{ColumnStats, Mode};
use mapping::Mapping;
use parking_lot::Mutex;
use std::path::Path;

/// The file formats oxbridge reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// numpy's `.npy` file: a header, then one array.
    Npy,
    /// Raw binary: values of one type from the first byte, row after row.
    Raw,
    /// CSV or TSV text.
    Csv,
}

impl Format {
    /// The format of a name as callers give it ("npy", "raw", "csv" and their aliases,
    /// in any case).
    pub fn parse(name: &str) -> Result<Format> {
        match name.to_ascii_lowercase().as_str() {
            "npy" => Ok(Format::Npy),
            "raw" | "bin" | "binary" => Ok(Format::Raw),
            "csv" | "tsv" => Ok(Format::Csv),
            other => Err(Error::invalid_argument(format!(
                "format must be \"npy\", \"raw\" or \"csv\", got {other:?}"
            ))),
        }
    }
}

/// How to open a file; unset fields are detected.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The file's format; detected from the content and the name when `None`.
    pub format: Option<Format>,
    /// CSV: the dialect, as far as the caller knows it.
    pub csv: csv::CsvOptions,
    /// Raw binary: the element type ("float64", "<i4", ...); required for raw files.
    pub raw_dtype: Option<String>,
    /// Raw binary: values per row (default 1).
    pub raw_columns: Option<u64>,
}

/// What a description computes beyond one pass.
#[derive(Debug, Clone, Default)]
pub struct DescribeOptions {
    /// Probabilities whose quantiles are made exact (numpy's `linear`) by extra passes.
    pub exact_quantiles: Vec<f64>,
}

/// Passes an exact quantile may take before giving up (each narrows a bracket 1024-fold:
/// only a pathological file, millions of values at the largest double and infinity,
/// needs more than three).
const MAX_EXACT_PASSES: usize = 16;

/// What the mapping holds: an array, or CSV text.
enum Body {
    Binary(binary::Layout),
    Csv(csv::Dialect),
}

/// An open data file.
pub struct Dataset {
    map: Mapping,
    body: Body,
    names: Vec<String>,
    rows: Mutex<Option<u64>>,
    /// CSV: each column's kind over the whole file, once a scan has seen it all.
    kinds: Mutex<Vec<Option<Kind>>>,
    /// A CSV file that streams (compressed, or in another encoding than UTF-8): where
    /// its text comes from and the start of that text (the mapping holds the file's
    /// bytes, which scans decode as they go).
    compressed: Option<(compressed::Source, Vec<u8>)>,
    /// A streamed file's text where the last `read_rows` calls left it (a few readers,
    /// least recently used first), so that reading on from a cursor does not decode the
    /// file again from its start.
    text_rows: Mutex<Vec<streamed::TextWindow>>,
}

/// The most columns a file may have. Each column costs a name and per-column state (about
/// 100 bytes native, more in the bindings), so a header claiming billions of columns (a
/// forged `.npy` shape, a huge raw `columns`, a CSV first line of commas) is refused with
/// a clear error instead of an allocation failure, which would abort the process.
pub(crate) const MAX_COLUMNS: u64 = 1 << 20;

/// Where a CSV file's text streams from, when it is not UTF-8 text to map in place: its
/// compression (`codec`) and its encoding (`given`, or UTF-16 by a byte-order mark at
/// the start of its text), with the start of that text (`compressed::sample`); `None`
/// for a plain UTF-8 file.
fn text_source(
    codec: Option<compressed::Codec>,
    bytes: &[u8],
    given: Option<encoding::Encoding>,
    path: &str,
) -> Result<Option<(compressed::Source, Vec<u8>)>> {
    use encoding::Encoding;
    let head = match codec {
        Some(codec) => {
            let raw = compressed::Source {
                codec: Some(codec),
                encoding: Encoding::Utf8,
            };
            compressed::sample(raw, bytes, path)?
        }
        None => bytes[..bytes.len().min(4)].to_vec(),
    };
    let bom = Encoding::of_bom(&head);
    let encoding = match (given, bom) {
        // "utf-16" names the family: the byte-order mark says which.
        (Some(Encoding::Utf16Le | Encoding::Utf16Be), Some(b)) => b,
        (Some(e), _) => e,
        (None, b) => b.unwrap_or(Encoding::Utf8),
    };
    if codec.is_none() && encoding == Encoding::Utf8 {
        return Ok(None);
    }
    let source = compressed::Source { codec, encoding };
    // The decompressed start is already the text when it needs no transcoding.
    let text = if codec.is_some() && encoding == Encoding::Utf8 {
        head
    } else {
        compressed::sample(source, bytes, path)?
    };
    Ok(Some((source, text)))
}

/// The format given, else the one the other options or the content imply.
fn detect_format(path: &str, bytes: &[u8], options: &OpenOptions) -> Format {
    if let Some(f) = options.format {
        return f;
    }
    if options.raw_dtype.is_some() {
        return Format::Raw;
    }
    if npy::is_npy(bytes) || path.to_ascii_lowercase().ends_with(".npy") {
        return Format::Npy;
    }
    Format::Csv
}

impl Dataset {
    /// Opens the file at `fs_path` (any path the OS takes; messages show it with invalid
    /// UTF-8 replaced).
    pub fn open(fs_path: impl AsRef<Path>, options: &OpenOptions) -> Result<Dataset> {
        options.csv.validate()?;
        let fs_path = fs_path.as_ref();
        let name = fs_path.to_string_lossy();
        let path: &str = &name;
        let map = Mapping::open(fs_path, path)?;
        let bytes: &[u8] = &map;
        let codec = compressed::Codec::of(bytes);
        let format = match (codec, options.format) {
            (Some(_), None | Some(Format::Csv)) => Format::Csv,
            (Some(c), Some(f)) => {
                return Err(Error::unsupported(format!(
                    "{path}: a {c:?}-compressed {f:?} file cannot be mapped; decompress it first"
                )))
            }
            (None, _) => detect_format(path, bytes, options),
        };
        let mut sample = None;
        let source = match format {
            Format::Csv => text_source(codec, bytes, options.csv.encoding, path)?,
            _ => None,
        };
        let body = match format {
            Format::Csv if source.is_some() => {
                let (source, text) = source.expect("checked");
                let mut dialect = csv::detect(&text, &options.csv, path)?;
                dialect.chunk_bytes = compressed::CHUNK;
                sample = Some((source, text));
                Body::Csv(dialect)
            }
            Format::Npy => Body::Binary(npy::layout(bytes, path)?),
            Format::Raw => Body::Binary(binary::Layout::raw(
                bytes.len(),
                options.raw_dtype.as_deref(),
                options.raw_columns,
                path,
            )?),
            Format::Csv => Body::Csv(csv::detect(bytes, &options.csv, path)?),
        };
        let (names, rows) = match &body {
            Body::Binary(layout) => (
                (0..layout.cols).map(|i| i.to_string()).collect(),
                Some(layout.rows),
            ),
            Body::Csv(dialect) => (dialect.names.clone(), None),
        };
        Ok(Dataset {
            map,
            body,
            kinds: Mutex::new(vec![None; names.len()]),
            names,
            rows: Mutex::new(rows),
            compressed: sample,
            text_rows: Mutex::new(Vec::new()),
        })
    }

    /// The start of a CSV file's text: the mapping, or a compressed file's first text.
    fn text_sample(&self) -> &[u8] {
        match &self.compressed {
            Some((_, sample)) => sample,
            None => &self.map,
        }
    }

    /// The parallel scan of a CSV file's records (`csv::scan`), decompressing as it goes
    /// when the file is compressed.
    fn text_scan(
        &self,
        dialect: &csv::Dialect,
        columns: &[(usize, Mode)],
        probes: &[Vec<exact::Probe>],
        progress: &Progress,
    ) -> Result<csv::Parsed> {
        let release = |a: usize, b: usize| self.map.release(a, b);
        let scanned = match &self.compressed {
            Some((source, _)) => compressed::scan(
                *source,
                &self.map,
                dialect,
                columns,
                probes,
                self.map.path(),
                progress,
                &release,
            ),
            None => csv::scan(
                &self.map,
                dialect,
                columns,
                probes,
                self.map.path(),
                progress,
                &release,
            ),
        };
        self.map.unless_truncated(scanned)
    }

    /// The file's name as messages show it.
    pub fn path(&self) -> &str {
        self.map.path()
    }

    /// Cuts a CSV file's parallel scan into chunks of `bytes` instead of 4 MiB, so that
    /// the fuzz targets' small inputs reach the chunk-boundary code.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn set_csv_chunk_bytes(&mut self, bytes: usize) {
        if let Body::Csv(dialect) = &mut self.body {
            dialect.chunk_bytes = bytes;
        }
    }

    /// The column names: a CSV file's header (made unique), else the positions.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The file's format, as detected or given.
    pub fn format(&self) -> Format {
        match &self.body {
            Body::Binary(l) if l.offset > 0 || npy::is_npy(&self.map) => Format::Npy,
            Body::Binary(_) => Format::Raw,
            Body::Csv(_) => Format::Csv,
        }
    }

    /// Each column's type: the file's for binary data, guessed from the first records for
    /// CSV (a full `describe` has the final word).
    pub fn dtypes(&self) -> Vec<&'static str> {
        match &self.body {
            Body::Binary(l) => vec![l.scalar.name(); self.names.len()],
            Body::Csv(d) => csv::sample_kinds(self.text_sample(), d, self.map.path())
                .into_iter()
                .map(Kind::name)
                .collect(),
        }
    }

    /// The number of data rows (for CSV counted in parallel on first use).
    pub fn num_rows(&self, progress: &Progress) -> Result<u64> {
        if let Some(rows) = *self.rows.lock() {
            return Ok(rows);
        }
        let Body::Csv(dialect) = &self.body else {
            unreachable!("binary layouts know their rows")
        };
        let parsed = self.text_scan(dialect, &[], &[], progress)?;
        *self.rows.lock() = Some(parsed.rows);
        Ok(parsed.rows)
    }

    /// Statistics of the given columns (positions), in parallel.
    pub fn describe(
        &self,
        columns: &[usize],
        progress: &Progress,
    ) -> Result<Vec<ColumnDescription>> {
        each_once(columns, |unique| self.describe_unique(unique, progress))
    }

    fn describe_unique(
        &self,
        columns: &[usize],
        progress: &Progress,
    ) -> Result<Vec<ColumnDescription>> {
        self.check_columns(columns)?;
        self.map.check_unchanged()?;
        let release = |a: usize, b: usize| self.map.release(a, b);
        match &self.body {
            Body::Binary(layout) => Ok(partition::binary_descriptions(
                layout,
                self.map.unless_truncated(binary::describe(
                    &self.map,
                    layout,
                    columns,
                    0..layout.rows,
                    progress,
                    &release,
                ))?,
            )),
            Body::Csv(dialect) => {
                let scan =
                    |wanted: &[(usize, Mode)]| self.text_scan(dialect, wanted, &[], progress);
                let parsed = scan_with_mixed_as_text(columns, &[], scan)?;
                *self.rows.lock() = Some(parsed.rows);
                let mut kinds = self.kinds.lock();
                for (&c, stats) in columns.iter().zip(&parsed.columns) {
                    kinds[c] = Some(stats.kind);
                }
                Ok(parsed.columns.into_iter().map(csv_description).collect())
            }
        }
    }

    /// The description of the given columns (positions): `describe` with the names and
    /// the row count, ready to merge and serialise.
    pub fn description(
        &self,
        columns: &[usize],
        options: &DescribeOptions,
        progress: &Progress,
    ) -> Result<Description> {
        if let Some(bad) = options
            .exact_quantiles
            .iter()
            .find(|q| !(0.0..=1.0).contains(*q))
        {
            return Err(Error::invalid_argument(format!(
                "quantile probabilities must be from 0 to 1, not {bad}"
            )));
        }
        let mut described = self.describe(columns, progress)?;
        if !options.exact_quantiles.is_empty() {
            self.make_exact(columns, &mut described, &options.exact_quantiles, progress)?;
        }
        Ok(Description {
            names: columns.iter().map(|&c| self.names[c].clone()).collect(),
            columns: described,
            rows: *self.rows.lock(),
        })
    }

    /// Finds the exact quantiles at `qs` of every ordered column of `described` (the
    /// description of `columns`), in as few passes as `exact` needs.
    fn make_exact(
        &self,
        columns: &[usize],
        described: &mut [ColumnDescription],
        qs: &[f64],
        progress: &Progress,
    ) -> Result<()> {
        // For each column, the positions numpy's `linear` method reads: floor((n-1)q) and
        // the next when q falls between two.
        let mut targets: Vec<Vec<exact::Target>> = described
            .iter()
            .map(|d| {
                let kll = &d.sketch.quantiles;
                let n = kll.count();
                if !d.is_ordered() || n == 0 {
                    return Vec::new();
                }
                let mut positions: Vec<u64> = qs
                    .iter()
                    .flat_map(|&q| {
                        let at = (n - 1) as f64 * q;
                        let low = at.floor() as u64;
                        [low, (low + 1).min(n - 1)]
                    })
                    .collect();
                positions.sort_unstable();
                positions.dedup();
                positions
                    .into_iter()
                    .map(|p| exact::Target::new(p, n, kll))
                    .collect()
            })
            .collect();
        for _ in 0..MAX_EXACT_PASSES {
            let wanted: Vec<usize> = (0..columns.len())
                .filter(|&i| targets[i].iter().any(|t| t.probe.is_some()))
                .collect();
            if wanted.is_empty() {
                break;
            }
            let probes: Vec<Vec<exact::Probe>> = wanted
                .iter()
                .map(|&i| targets[i].iter().filter_map(|t| t.probe.clone()).collect())
                .collect();
            let found = self.probe(
                &wanted.iter().map(|&i| columns[i]).collect::<Vec<_>>(),
                &probes,
                progress,
            )?;
            for (&i, found) in wanted.iter().zip(found) {
                let open = targets[i].iter_mut().filter(|t| t.probe.is_some());
                for (t, probe) in open.zip(found) {
                    t.probe = Some(probe);
                    t.resolve(&described[i].sketch.quantiles);
                }
            }
        }
        for (d, targets) in described.iter_mut().zip(&targets) {
            if targets.is_empty() {
                continue;
            }
            let n = d.sketch.quantiles.count();
            let value_at = |p: u64| -> Result<f64> {
                targets
                    .iter()
                    .find(|t| t.position == p)
                    .and_then(|t| t.value)
                    .ok_or_else(|| {
                        Error::unsupported(format!(
                            "the exact quantile did not settle in {MAX_EXACT_PASSES} passes"
                        ))
                    })
            };
            d.exact_quantiles = qs
                .iter()
                .map(|&q| {
                    let at = (n - 1) as f64 * q;
                    let low = at.floor();
                    let p = low as u64;
                    let (a, b) = (value_at(p)?, value_at((p + 1).min(n - 1))?);
                    let t = if p + 1 >= n { at + 1.0 } else { at - low };
                    Ok((q, crate::stats::sketch::kll::lerp(a, b, t)))
                })
                .collect::<Result<_>>()?;
        }
        Ok(())
    }

    /// One exact-quantile pass over `columns` with their `probes`.
    fn probe(
        &self,
        columns: &[usize],
        probes: &[Vec<exact::Probe>],
        progress: &Progress,
    ) -> Result<Vec<Vec<exact::Probe>>> {
        self.map.check_unchanged()?;
        match &self.body {
            Body::Binary(layout) => self
                .map
                .unless_truncated(binary::probe(&self.map, layout, columns, probes, progress)),
            Body::Csv(dialect) => {
                let wanted: Vec<(usize, Mode)> =
                    columns.iter().map(|&c| (c, Mode::Infer)).collect();
                let parsed = self.text_scan(dialect, &wanted, probes, progress)?;
                Ok(parsed
                    .columns
                    .into_iter()
                    .map(|c| c.probes.unwrap_or_default())
                    .collect())
            }
        }
    }

    /// The binary array in the mapping: its first byte, layout and numpy type string
    /// (e.g. "<f8"); `None` for CSV.
    pub fn array(&self) -> Option<(&[u8], &binary::Layout)> {
        match &self.body {
            Body::Binary(layout) => Some((&self.map[layout.offset..], layout)),
            Body::Csv(_) => None,
        }
    }

    /// CSV: reads rows from `cursor` (0 at first) as float64, none that starts at or
    /// past `stop` (a partition's end); see `csv::read_rows`.
    pub fn read_rows(
        &self,
        cursor: usize,
        stop: usize,
        columns: &[usize],
        out: &mut [f64],
    ) -> Result<(usize, usize)> {
        let Body::Csv(dialect) = &self.body else {
            return Err(Error::unsupported(
                "read_rows is for CSV files; binary arrays are read in place",
            ));
        };
        if let Some(&bad) = columns.iter().find(|&&c| c >= self.names.len()) {
            return Err(Error::invalid_argument(format!(
                "column {bad} is out of range: the file has {} columns",
                self.names.len()
            )));
        }
        self.map.check_unchanged()?;
        if let Some((source, _)) = &self.compressed {
            // Its one partition is the whole file: `stop` is its end, or none.
            if stop < self.map.len() {
                return Err(Error::invalid_argument(format!(
                    "{} is {}, read as one stream: its one partition is the whole file \
                     (bytes 0..{}), not bytes ..{stop}",
                    self.map.path(),
                    source.describe(),
                    self.map.len()
                )));
            }
            return self.read_streamed_rows(*source, dialect, cursor, columns, out);
        }
        self.map.unless_truncated(csv::read_rows(
            &self.map,
            dialect,
            (cursor.max(dialect.data_start), stop),
            columns,
            out,
            self.map.path(),
        ))
    }
}

/// Readers of a streamed file's rows kept between calls: as many iterators over one
/// dataset as people interleave, about; each holds a few MiB of text.
const KEPT_TEXT_READERS: usize = 3;

impl Dataset {
    /// `read_rows` of a streamed file: `cursor` is a position in its text. The text goes
    /// on from where the last call left it; a cursor before that decodes from the start.
    fn read_streamed_rows(
        &self,
        source: compressed::Source,
        dialect: &csv::Dialect,
        cursor: usize,
        columns: &[usize],
        out: &mut [f64],
    ) -> Result<(usize, usize)> {
        let path = self.map.path();
        let cursor = cursor.max(dialect.data_start);
        let mut kept = self.text_rows.lock();
        // The reader nearest before the cursor, else a new one from the start.
        let nearest = (0..kept.len())
            .filter(|&i| kept[i].start() <= cursor)
            .max_by_key(|&i| kept[i].start());
        let mut window = match nearest {
            Some(i) => kept.remove(i),
            None => streamed::TextWindow::open(source, self.map.file()?, path, dialect.quote)?,
        };
        let read = Dataset::read_window_rows(&mut window, dialect, cursor, columns, out, path);
        if read.is_ok() {
            // A reader that failed may stand inside a record: it is dropped.
            kept.push(window);
            if kept.len() > KEPT_TEXT_READERS {
                kept.remove(0);
            }
        }
        read
    }

    /// `read_streamed_rows` from `window`, a reader at or before `cursor`.
    fn read_window_rows(
        window: &mut streamed::TextWindow,
        dialect: &csv::Dialect,
        cursor: usize,
        columns: &[usize],
        out: &mut [f64],
        path: &str,
    ) -> Result<(usize, usize)> {
        window.skip_to(cursor)?;
        let width = columns.len().max(1);
        let mut rows = 0;
        while rows < out.len() / width {
            let text = window.records(compressed::BLOCK)?;
            if text.is_empty() {
                break;
            }
            let read = csv::read_rows(
                text,
                dialect,
                (0, usize::MAX),
                columns,
                &mut out[rows * width..],
                path,
            );
            let (read, next) = read.map_err(|e| window.in_file(e))?;
            window.take(next);
            rows += read;
            if next == 0 {
                break;
            }
        }
        Ok((rows, window.start()))
    }
}

/// The scan (`scan`) of CSV `columns`, those in `as_text` read as text, and every column
/// that turned to text after numbers or dates read again as text: its sketches took
/// those values as numbers.
fn scan_with_mixed_as_text(
    columns: &[usize],
    as_text: &[usize],
    scan: impl Fn(&[(usize, Mode)]) -> Result<csv::Parsed>,
) -> Result<csv::Parsed> {
    let mode = |c: &usize| {
        if as_text.contains(c) {
            Mode::Text
        } else {
            Mode::Infer
        }
    };
    let wanted: Vec<(usize, Mode)> = columns.iter().map(|c| (*c, mode(c))).collect();
    let mut parsed = scan(&wanted)?;
    let mixed: Vec<usize> = (0..columns.len())
        .filter(|&i| parsed.columns[i].mixed)
        .collect();
    if !mixed.is_empty() {
        let again: Vec<(usize, Mode)> = mixed.iter().map(|&i| (columns[i], Mode::Text)).collect();
        let texts = scan(&again)?;
        for (&i, text) in mixed.iter().zip(texts.columns) {
            parsed.columns[i] = text;
        }
    }
    Ok(parsed)
}

/// `describe` (of `columns` without repeats, in order) of each of `columns`: a column is
/// scanned once however often it is asked for.
fn each_once(
    columns: &[usize],
    describe: impl FnOnce(&[usize]) -> Result<Vec<ColumnDescription>>,
) -> Result<Vec<ColumnDescription>> {
    let mut unique: Vec<usize> = columns.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if unique.len() == columns.len() {
        return describe(columns);
    }
    let described = describe(&unique)?;
    Ok(columns
        .iter()
        .map(|c| described[unique.binary_search(c).expect("every column is in unique")].clone())
        .collect())
}

/// A CSV column's description from its scan.
fn csv_description(c: ColumnStats) -> ColumnDescription {
    ColumnDescription {
        kind: c.kind,
        element: None,
        summary: c.numeric_summary(),
        min_len: if c.present > 0 { c.min_len } else { 0 },
        max_len: c.max_len,
        present: c.present,
        missing: c.missing,
        sketch: c.sketch,
        mixed: false,
        exact_quantiles: Vec::new(),
    }
}
