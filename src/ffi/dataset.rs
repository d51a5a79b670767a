//! `oxb_dataset`: a memory-mapped data file behind a handle.

use super::args::{c_bytes, c_string, optional_utf8, read, slice, slice_mut, InOut, Out, OutSlice};
use super::guard;
use super::handles::{self, Handled};
use super::progress::{oxb_progress_fn, with_progress};
use super::stats::oxb_stats;
use super::status::{oxb_status, FfiError, FfiResult};
use crate::dataset::{csv::CsvOptions, Dataset, Format, OpenOptions};
use crate::dataset::{ColumnDescription, Kind};
use std::ffi::{c_char, c_void, CString};

/// Handle of an open data file. 0 is never a valid handle.
pub type oxb_dataset = u64;

/// Column kinds reported by `oxb_dataset_describe`, and what its `stats` then hold
/// (missing values always in `stats.nan_count`):
///
/// - `OXB_KIND_EMPTY`, `OXB_KIND_INT`, `OXB_KIND_FLOAT`: the numbers.
/// - `OXB_KIND_TEXT`: only `count` (values present) and `nan_count` (missing).
/// - `OXB_KIND_BOOL` (`true`/`false`, `True`/`False`, `TRUE`/`FALSE`): exact int64
///   statistics of 1 for true and 0 for false (`is_integer` = 1): the exact sum is the number
///   of true values, `mean` the fraction true.
/// - `OXB_KIND_DATE` (`YYYY-MM-DD`): exact int64 statistics of the days since 1970-01-01
///   (`int_min`, `int_max`, the exact sum; `mean` in days).
/// - `OXB_KIND_DATETIME` (ISO 8601 `YYYY-MM-DDTHH:MM[:SS[.f]]` with `T` or a space,
///   optional `Z` or `+HH:MM`): exact int64 statistics of the microseconds since
///   1970-01-01T00:00, in UTC when the values carry an offset (the values of a column
///   either all carry one or none does; a mix is text).
pub const OXB_KIND_EMPTY: u32 = 0;
pub const OXB_KIND_INT: u32 = 1;
pub const OXB_KIND_FLOAT: u32 = 2;
pub const OXB_KIND_TEXT: u32 = 3;
pub const OXB_KIND_BOOL: u32 = 4;
pub const OXB_KIND_DATE: u32 = 5;
pub const OXB_KIND_DATETIME: u32 = 6;
/// A datetime column whose values carry a UTC offset, read as UTC: only in the kinds of
/// `oxb_dataset_partition_kinds` (a describe reports such a column as
/// `OXB_KIND_DATETIME`), where it makes an Arrow timestamp with time zone "UTC".
pub const OXB_KIND_DATETIME_UTC: u32 = 7;

/// The `OXB_KIND_*` code of a kind, telling zoned datetimes apart.
pub(crate) fn kind_code(kind: Kind) -> u32 {
    match kind {
        Kind::ZonedDateTime => OXB_KIND_DATETIME_UTC,
        k => column_kind(k),
    }
}

/// The kind of an `OXB_KIND_*` code.
pub(crate) fn kind_of_code(code: u32) -> FfiResult<Kind> {
    Ok(match code {
        OXB_KIND_EMPTY => Kind::Empty,
        OXB_KIND_INT => Kind::Int,
        OXB_KIND_FLOAT => Kind::Float,
        OXB_KIND_TEXT => Kind::Text,
        OXB_KIND_BOOL => Kind::Bool,
        OXB_KIND_DATE => Kind::Date,
        OXB_KIND_DATETIME => Kind::DateTime,
        OXB_KIND_DATETIME_UTC => Kind::ZonedDateTime,
        other => return Err(FfiError::invalid(format!("unknown column kind {other}"))),
    })
}

/// How to open a file. Zero-initialise it and set what you know; the rest is detected.
#[repr(C)]
pub struct oxb_open_options {
    /// "npy", "raw" or "csv"; NULL to detect from the extension and content.
    pub format: *const c_char,
    /// CSV: the delimiter byte; 0 to detect.
    pub delimiter: u32,
    /// CSV: 1 if the first row is a header, 0 if not, -1 to detect.
    pub has_header: i32,
    /// CSV: the texts read as missing values; NULL for the defaults (empty, NA, N/A, NaN,
    /// nan, null, NULL, None, #N/A).
    pub null_values: *const *const c_char,
    pub null_values_len: usize,
    /// Raw binary: the element type ("float64", "<i4", ...); required for raw files.
    pub dtype: *const c_char,
    /// Raw binary: values per row; 0 means 1.
    pub columns: u64,
}

/// One column of an open dataset: its name and type, valid while the handle is open.
#[repr(C)]
pub struct oxb_column_info {
    pub name: *const c_char,
    /// "float64", "int32", ... for binary files; "int64", "float64", "bool", "date",
    /// "datetime" or "text" guessed from the first records of a CSV file.
    pub dtype: *const c_char,
}

/// Statistics of one column of a dataset.
#[repr(C)]
pub struct oxb_column_description {
    /// Missing CSV values are counted in `stats.nan_count`. For text columns only
    /// `count` (values present) and `nan_count` (missing) are meaningful.
    pub stats: oxb_stats,
    /// One of the `OXB_KIND_*` values.
    pub kind: u32,
    /// Text columns: the fewest and most characters in a value.
    pub min_len: u64,
    pub max_len: u64,
}

/// Where a binary dataset's array is in memory: valid until the dataset is closed.
#[repr(C)]
pub struct oxb_array_info {
    /// Address of element (0, 0) inside the file's mapping (read-only memory).
    pub data: *const c_void,
    pub rows: u64,
    pub cols: u64,
    /// numpy's type string of the elements, e.g. "<f8" or ">i4".
    pub typestr: *const c_char,
    /// 1 when columns are contiguous (Fortran order), 0 when rows are (C order).
    pub fortran_order: u32,
}

pub(super) struct OpenDataset {
    pub(super) dataset: Dataset,
    pub(super) names: Vec<CString>,
    dtypes: Vec<CString>,
    typestr: CString,
}

impl Handled for OpenDataset {
    const KIND: &'static str = "dataset";
}

/// A path as the OS takes it: any bytes on POSIX systems, UTF-8 elsewhere.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
unsafe fn file_path(path: *const c_char) -> FfiResult<std::path::PathBuf> {
    // SAFETY: the caller's contract, passed on.
    let bytes = unsafe { c_bytes(path, "path") }?;
    #[cfg(unix)]
    return Ok(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes).into());
    #[cfg(not(unix))]
    return std::str::from_utf8(bytes)
        .map(Into::into)
        .map_err(|_| FfiError::invalid("path is not valid UTF-8"));
}

/// # Safety
/// `options` is NULL or points to a valid `oxb_open_options`.
unsafe fn open_options(options: *const oxb_open_options) -> FfiResult<OpenOptions> {
    if options.is_null() {
        return Ok(OpenOptions::default());
    }
    // SAFETY: the caller's contract: a valid struct.
    let o = unsafe { read(options, "options") }?;
    // SAFETY: documented as NULL or NUL-terminated.
    let format = unsafe { optional_utf8(o.format, "options.format") }?
        .map(Format::parse)
        .transpose()?;
    let delimiter = match o.delimiter {
        0 => None,
        d => Some(CsvOptions::check_delimiter(d)?),
    };
    let has_header = match o.has_header {
        -1 => None,
        0 => Some(false),
        1 => Some(true),
        h => {
            return Err(FfiError::invalid(format!(
                "options.has_header must be -1, 0 or 1, got {h}"
            )))
        }
    };
    let null_values = if o.null_values.is_null() {
        None
    } else {
        // SAFETY: the caller passes `null_values_len` string pointers.
        let entries = unsafe { slice(o.null_values, o.null_values_len, "options.null_values") }?;
        let mut values = Vec::with_capacity(entries.len());
        for &p in entries {
            // SAFETY: each entry is NULL or NUL-terminated.
            let v = unsafe { optional_utf8(p, "options.null_values") }?
                .ok_or_else(|| FfiError::null("options.null_values entry"))?;
            values.push(v.to_owned());
        }
        Some(values)
    };
    Ok(OpenOptions {
        format,
        csv: CsvOptions {
            delimiter,
            has_header,
            null_values,
            ..CsvOptions::default()
        },
        // SAFETY: documented as NULL or NUL-terminated.
        raw_dtype: unsafe { optional_utf8(o.dtype, "options.dtype") }?.map(str::to_owned),
        raw_columns: (o.columns > 0).then_some(o.columns),
    })
}

/// More of a CSV file's dialect, for `oxb_dataset_open_csv`. Zero-initialise it and set
/// what you know.
#[repr(C)]
pub struct oxb_csv_options {
    /// The decimal separator: '.' or ','; 0 to detect (a comma when the delimiter is ';'
    /// and the sample's numbers all have a comma). With ',', a number written with a
    /// point is an `OXB_DATA_FORMAT` error naming its line and column.
    pub decimal: u32,
    /// Lines starting with this character are skipped (pandas' `comment`); 0 for none.
    pub comment: u32,
    /// Lines skipped at the start of the file, before the header.
    pub skip_rows: u64,
    /// The text's encoding: "utf-8", "utf-16" (or "utf-16le"/"utf-16be"), "latin-1" or
    /// "cp1252"; NULL for UTF-8, or UTF-16 by its byte-order mark. Text in another
    /// encoding than UTF-8 is transcoded as it streams (as compressed files are read).
    pub encoding: *const c_char,
}

/// `oxb_dataset_open` with more of a CSV file's dialect (`csv` may be NULL: detected).
///
/// # Safety
/// As for `oxb_dataset_open`; `csv` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_open_csv(
    path: *const c_char,
    options: *const oxb_open_options,
    csv: *const oxb_csv_options,
    out: *mut oxb_dataset,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: documented as NULL or NUL-terminated.
        let path = unsafe { file_path(path) }?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        // SAFETY: documented as NULL or valid.
        let mut options = unsafe { open_options(options) }?;
        // SAFETY: documented as NULL or valid.
        if let Some(c) = unsafe { csv.as_ref() } {
            let byte = |code: u32, name: &str| -> FfiResult<Option<u8>> {
                match code {
                    0 => Ok(None),
                    1..=127 => Ok(Some(code as u8)),
                    _ => Err(FfiError::invalid(format!(
                        "csv.{name} must be an ASCII character, got {code}"
                    ))),
                }
            };
            options.csv.decimal = byte(c.decimal, "decimal")?;
            options.csv.comment = byte(c.comment, "comment")?;
            options.csv.skip_rows = c.skip_rows;
            // SAFETY: documented as NULL or NUL-terminated.
            if let Some(name) = unsafe { optional_utf8(c.encoding, "csv.encoding") }? {
                options.csv.encoding = Some(crate::dataset::encoding::Encoding::parse(name)?);
            }
        }
        out.write(open(&path, &options)?);
        Ok(())
    })
}

/// Opens the dataset and holds it.
fn open(path: &std::path::Path, options: &OpenOptions) -> FfiResult<oxb_dataset> {
    let dataset = Dataset::open(path, options)?;
    let names = dataset.names().iter().map(|n| c_string(n)).collect();
    let dtypes = dataset.dtypes().into_iter().map(c_string).collect();
    let typestr = c_string(
        &dataset
            .array()
            .map(|(_, l)| l.typestr())
            .unwrap_or_default(),
    );
    handles::insert(OpenDataset {
        dataset,
        names,
        dtypes,
        typestr,
    })
}

/// Opens a data file (`.npy`, raw binary or CSV/TSV) without reading it into memory and
/// writes its handle to `*out`. `options` may be NULL to detect everything.
///
/// # Safety
/// `path` is NULL or a NUL-terminated path (any bytes on POSIX systems, where messages
/// show invalid UTF-8 as U+FFFD; UTF-8 elsewhere); `options` is NULL or valid; `out` is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_open(
    path: *const c_char,
    options: *const oxb_open_options,
    out: *mut oxb_dataset,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: documented as NULL or NUL-terminated.
        let path = unsafe { file_path(path) }?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        // SAFETY: documented as NULL or valid.
        let options = unsafe { open_options(options) }?;
        out.write(open(&path, &options)?);
        Ok(())
    })
}

/// Writes the number of columns to `*out`.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_num_columns(
    handle: oxb_dataset,
    out: *mut usize,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<OpenDataset>(handle)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(d.names.len());
        Ok(())
    })
}

/// Writes the name and type of column `index` to `*out`; the strings stay valid until the
/// dataset is closed.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_column_info(
    handle: oxb_dataset,
    index: usize,
    out: *mut oxb_column_info,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<OpenDataset>(handle)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let (Some(name), Some(dtype)) = (d.names.get(index), d.dtypes.get(index)) else {
            return Err(FfiError::invalid(format!(
                "column index {index} is out of range: the dataset has {} columns",
                d.names.len()
            )));
        };
        // The strings live in the handle's object, which the table keeps until the
        // handle is closed.
        out.write(oxb_column_info {
            name: name.as_ptr(),
            dtype: dtype.as_ptr(),
        });
        Ok(())
    })
}

/// Writes the number of data rows to `*out` (header excluded). For CSV the file is
/// scanned in parallel the first time, with progress reports as in `oxb_dataset_describe`.
///
/// # Safety
/// `out` is NULL or writable; `progress` is NULL or a valid callback.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_num_rows(
    handle: oxb_dataset,
    progress: oxb_progress_fn,
    user: *mut c_void,
    out: *mut u64,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<OpenDataset>(handle)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(with_progress(progress, user, |p| d.dataset.num_rows(p))?);
        Ok(())
    })
}

/// Computes the statistics of `columns_len` columns (positions in `columns`; NULL and 0
/// for every column) in one parallel pass over the file, writing one description per
/// column to `out`. `progress` (may be NULL) is called on this thread with bytes done
/// and total; a non-zero return cancels with `OXB_CANCELLED`.
///
/// # Safety
/// `columns` is NULL or points to `columns_len` indexes; `out` is NULL or points to room
/// for one description per column described; `progress` is NULL or a valid callback.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_describe(
    handle: oxb_dataset,
    columns: *const usize,
    columns_len: usize,
    progress: oxb_progress_fn,
    user: *mut c_void,
    out: *mut oxb_column_description,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<OpenDataset>(handle)?;
        let wanted: Vec<usize> = if columns.is_null() {
            if columns_len != 0 {
                return Err(FfiError::null("columns (with columns_len > 0)"));
            }
            (0..d.names.len()).collect()
        } else {
            // SAFETY: the contract of this function.
            unsafe { slice(columns, columns_len, "columns") }?.to_vec()
        };
        // SAFETY: the contract of this function: room for one description per column.
        let out = unsafe { OutSlice::new(out, wanted.len(), "out") }?;
        let described = with_progress(progress, user, |p| d.dataset.describe(&wanted, p))?;
        out.write_all(described.iter().map(column_description));
        Ok(())
    })
}

fn column_kind(kind: Kind) -> u32 {
    match kind {
        Kind::Empty => OXB_KIND_EMPTY,
        Kind::Int => OXB_KIND_INT,
        Kind::Float => OXB_KIND_FLOAT,
        Kind::Text => OXB_KIND_TEXT,
        Kind::Bool => OXB_KIND_BOOL,
        Kind::Date => OXB_KIND_DATE,
        Kind::DateTime | Kind::ZonedDateTime => OXB_KIND_DATETIME,
    }
}

/// A column's statistics as C sees them.
pub(super) fn column_description(c: &ColumnDescription) -> oxb_column_description {
    let kind = column_kind(c.kind);
    let mut stats = oxb_stats::from(&c.summary);
    if c.kind == Kind::Text {
        (stats.count, stats.nan_count) = (c.present, c.missing);
    }
    oxb_column_description {
        stats,
        kind,
        min_len: c.min_len,
        max_len: c.max_len,
    }
}

/// Writes where a binary dataset's (`.npy` or raw) array lies in the file's read-only
/// mapping, for zero-copy access until the dataset is closed. CSV datasets return
/// `OXB_UNSUPPORTED` (read them with `oxb_dataset_read_rows`).
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_array(
    handle: oxb_dataset,
    out: *mut oxb_array_info,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<OpenDataset>(handle)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let (data, layout) = d.dataset.array().ok_or_else(|| {
            FfiError::new(
                oxb_status::OXB_UNSUPPORTED,
                "a CSV dataset has no array in memory; read it with oxb_dataset_read_rows",
            )
        })?;
        let info = oxb_array_info {
            data: data.as_ptr().cast(),
            rows: layout.rows,
            cols: layout.cols,
            typestr: d.typestr.as_ptr(),
            fortran_order: layout.fortran_order as u32,
        };
        // The mapping lives as long as the handle's object.
        out.write(info);
        Ok(())
    })
}

/// Reads up to `max_rows` data rows of a CSV dataset, starting at `*cursor` (0 for the
/// first row), as float64 into `out` (row-major, `columns_len` values per row: missing
/// values are NaN; a value that is not a number fails with `OXB_DATA_FORMAT` naming its
/// line and column). Writes the rows read to `*rows_read` (0 at the end) and advances
/// `*cursor` to the next row (a byte offset of the file's text: for a compressed file,
/// of its decompressed text; the dataset keeps its decoder where the last call left it,
/// so reading on costs no decoding again). Reading is sequential on the calling thread.
///
/// # Safety
/// `cursor` and `rows_read` are NULL or writable; `columns` points to `columns_len`
/// indexes; `out` points to room for `max_rows * columns_len` doubles.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_read_rows(
    handle: oxb_dataset,
    cursor: *mut u64,
    max_rows: u64,
    columns: *const usize,
    columns_len: usize,
    out: *mut f64,
    rows_read: *mut u64,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        unsafe {
            read_rows(
                handle,
                cursor,
                u64::MAX,
                max_rows,
                columns,
                columns_len,
                out,
                rows_read,
            )
        }
    })
}

/// The rows of records that start before `stop`, for both read functions.
///
/// # Safety
/// As for `oxb_dataset_read_rows`.
#[allow(clippy::too_many_arguments)]
unsafe fn read_rows(
    handle: oxb_dataset,
    cursor: *mut u64,
    stop: u64,
    max_rows: u64,
    columns: *const usize,
    columns_len: usize,
    out: *mut f64,
    rows_read: *mut u64,
) -> FfiResult<()> {
    let d = handles::get::<OpenDataset>(handle)?;
    // SAFETY: the contract of this function.
    let cursor = unsafe { InOut::new(cursor, "cursor") }?;
    // SAFETY: the contract of this function.
    let rows_read = unsafe { Out::new(rows_read, "rows_read") }?;
    if columns_len == 0 {
        return Err(FfiError::invalid("columns_len must be at least 1"));
    }
    // SAFETY: the contract of this function.
    let wanted = unsafe { slice(columns, columns_len, "columns") }?;
    let total = usize::try_from(max_rows)
        .ok()
        .and_then(|r| r.checked_mul(columns_len))
        .ok_or_else(|| FfiError::invalid(format!("max_rows {max_rows} is too large")))?;
    // SAFETY: the contract of this function: room for `total` doubles.
    let values = unsafe { slice_mut(out, total, "out") }?;
    let start =
        usize::try_from(cursor.get()).map_err(|_| FfiError::invalid("cursor is out of range"))?;
    let stop = usize::try_from(stop).unwrap_or(usize::MAX);
    let (rows, next) = d.dataset.read_rows(start, stop, wanted, values)?;
    cursor.write(next as u64);
    rows_read.write(rows as u64);
    Ok(())
}

/// `oxb_dataset_read_rows` of the records that start before byte `stop` (a partition's
/// `stop`, from `oxb_dataset_partitions`): start with `*cursor` at the partition's
/// `start`, and read until `*rows_read` is 0.
///
/// # Safety
/// As for `oxb_dataset_read_rows`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn oxb_dataset_read_rows_until(
    handle: oxb_dataset,
    cursor: *mut u64,
    stop: u64,
    max_rows: u64,
    columns: *const usize,
    columns_len: usize,
    out: *mut f64,
    rows_read: *mut u64,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        unsafe {
            read_rows(
                handle,
                cursor,
                stop,
                max_rows,
                columns,
                columns_len,
                out,
                rows_read,
            )
        }
    })
}

/// Closes a dataset and unmaps its file. Closing it again, or using it afterwards,
/// returns `OXB_INVALID_HANDLE`; a call already running on another thread finishes first.
#[no_mangle]
pub extern "C" fn oxb_dataset_close(handle: oxb_dataset) -> oxb_status {
    guard::call(|| {
        handles::remove::<OpenDataset>(handle)?;
        Ok(())
    })
}

/// The dataset and its column positions (`columns` NULL: every column).
///
/// # Safety
/// `columns` is NULL (with `columns_len` 0) or points to `columns_len` values.
pub(super) unsafe fn dataset_columns(
    dataset: oxb_dataset,
    columns: *const usize,
    columns_len: usize,
) -> FfiResult<(std::sync::Arc<OpenDataset>, Vec<usize>)> {
    let d = handles::get::<OpenDataset>(dataset)?;
    let wanted = if columns.is_null() {
        if columns_len != 0 {
            return Err(FfiError::null("columns (with columns_len > 0)"));
        }
        (0..d.names.len()).collect()
    } else {
        // SAFETY: the caller's contract.
        unsafe { slice(columns, columns_len, "columns") }?.to_vec()
    };
    Ok((d, wanted))
}
