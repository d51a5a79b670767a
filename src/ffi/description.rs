//! `oxb_description`: a file's full description (statistics, quantiles, distinct counts,
//! top values, histograms) behind a handle that merges and serialises.

use super::args::{read, slice, slice_mut, Out, OutSlice};
use super::dataset::column_description;
use super::guard;
use super::handles::{self, Handled};
use super::progress::{oxb_progress_fn, with_progress};
use super::status::{FfiError, FfiResult};
use super::{oxb_column_description, oxb_dataset, oxb_status};
use crate::dataset::{ColumnDescription, DescribeOptions, Description};
use std::ffi::{c_char, c_void, CString};

/// Handle of a description made by `oxb_dataset_description`, `oxb_description_merge` or
/// `oxb_description_from_bytes`. It never changes: merging makes a new one, so every
/// pointer a description gives out stays valid until it is closed. 0 is never valid.
pub type oxb_description = u64;

/// How to describe. Zero-initialise it (or pass NULL) for sketches only.
#[repr(C)]
pub struct oxb_describe_options {
    /// Probabilities (0 to 1) whose quantiles are made exact, numpy's `linear` method,
    /// through extra passes over the file (never a copy of it in memory); NULL and 0 for
    /// none. Other probabilities still come from the sketch.
    pub exact_quantiles: *const f64,
    pub exact_quantiles_len: usize,
}

/// What a column's sketches say besides quantiles. Pointers stay valid until the
/// description is closed.
#[repr(C)]
pub struct oxb_column_sketch {
    /// Distinct non-missing values (NaN excluded): exact when `distinct_is_exact` is 1,
    /// else a HyperLogLog estimate with relative standard error `distinct_error`.
    pub distinct: f64,
    pub distinct_is_exact: u32,
    pub distinct_error: f64,
    /// 1 while the quantile sketch holds every value (quantiles exact), else 0 and
    /// `quantile_rank_error` is the normalized rank error bound (99%).
    pub quantiles_are_exact: u32,
    pub quantile_rank_error: f64,
    /// Text columns: the most frequent value (its bytes, not NUL-terminated) and its
    /// count; a reported count falls short of the true count by at most `top_error`
    /// (0: exact). `top` is NULL when the column holds no text.
    pub top: *const u8,
    pub top_len: usize,
    pub top_count: u64,
    pub top_error: u64,
    /// Text columns: the smallest and largest value in byte order (code-point order for
    /// UTF-8); NULL when the column holds no text.
    pub text_min: *const u8,
    pub text_min_len: usize,
    pub text_max: *const u8,
    pub text_max_len: usize,
    /// 1 when the description was merged from parts that read this column as different
    /// kinds (numbers in one, text in another): its distinct count, top values and text
    /// extremes then cover only the parts read as text.
    pub mixed: u32,
}

/// One frequent value of a text column, for `oxb_description_top_values`.
#[repr(C)]
pub struct oxb_top_value {
    /// The value's bytes (not NUL-terminated), valid until the description is closed.
    pub value: *const u8,
    pub len: usize,
    /// Its count (at most `top_error` of `oxb_column_sketch` short of the truth).
    pub count: u64,
}

struct HeldDescription {
    description: Description,
    names: Vec<CString>,
    dtypes: Vec<CString>,
}

impl Handled for HeldDescription {
    const KIND: &'static str = "description";
}

pub(super) fn hold(description: Description) -> FfiResult<oxb_description> {
    let names = description
        .names
        .iter()
        .map(|n| super::args::c_string(n))
        .collect();
    let dtypes = description
        .columns
        .iter()
        .map(|c| super::args::c_string(c.dtype()))
        .collect();
    handles::insert(HeldDescription {
        description,
        names,
        dtypes,
    })
}

impl HeldDescription {
    fn column(&self, index: usize) -> FfiResult<&ColumnDescription> {
        self.description.columns.get(index).ok_or_else(|| {
            FfiError::invalid(format!(
                "column index {index} is out of range: the description has {} columns",
                self.description.columns.len()
            ))
        })
    }
}

/// Describes `columns_len` columns of a dataset (positions in `columns`; NULL and 0 for
/// every column) in one parallel pass, with every sketch, and writes the description's
/// handle to `*out`. `options` may be NULL. `progress` is as for `oxb_dataset_describe`.
///
/// # Safety
/// `columns` is NULL or points to `columns_len` indexes; `options` is NULL or valid (its
/// array as documented); `progress` is NULL or a valid callback; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_description(
    dataset: oxb_dataset,
    columns: *const usize,
    columns_len: usize,
    options: *const oxb_describe_options,
    progress: oxb_progress_fn,
    user: *mut c_void,
    out: *mut oxb_description,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let (d, wanted) =
            unsafe { super::dataset::dataset_columns(dataset, columns, columns_len) }?;
        let mut describe = DescribeOptions::default();
        if !options.is_null() {
            // SAFETY: the contract of this function.
            let o = unsafe { read(options, "options") }?;
            // SAFETY: the contract of this function.
            let qs = unsafe { slice(o.exact_quantiles, o.exact_quantiles_len, "exact_quantiles") }?;
            describe.exact_quantiles = qs.to_vec();
        }
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let description = with_progress(progress, user, |p| {
            d.dataset.description(&wanted, &describe, p)
        })?;
        out.write(hold(description)?);
        Ok(())
    })
}

/// Writes the number of columns described to `*out`.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_num_columns(
    description: oxb_description,
    out: *mut usize,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<HeldDescription>(description)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(d.description.columns.len());
        Ok(())
    })
}

/// Writes the number of data rows to `*out`, or `UINT64_MAX` when a part merged in did
/// not know it.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_num_rows(
    description: oxb_description,
    out: *mut u64,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<HeldDescription>(description)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(d.description.rows.unwrap_or(u64::MAX));
        Ok(())
    })
}

/// Writes column `index`'s name (NUL-terminated UTF-8, valid until the description is
/// closed) and its statistics, as `oxb_dataset_describe` gives them.
///
/// # Safety
/// `name` and `out` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_column(
    description: oxb_description,
    index: usize,
    name: *mut *const c_char,
    out: *mut oxb_column_description,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<HeldDescription>(description)?;
        // SAFETY: the contract of this function.
        let (name, out) = unsafe { (Out::new(name, "name")?, Out::new(out, "out")?) };
        let column = d.column(index)?;
        // The string lives in the handle's object until the handle is closed.
        name.write(d.names[index].as_ptr());
        out.write(column_description(column));
        Ok(())
    })
}

/// Writes column `index`'s type as users see it to `*dtype`: a binary file's element
/// type ("float32", "uint8", ...; what `oxb_column_info` says), else "int64", "float64",
/// "bool", "date", "datetime" or "text". Parts of different element types merge into the
/// kind's name. The string is valid until the description is closed.
///
/// # Safety
/// `dtype` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_dtype(
    description: oxb_description,
    index: usize,
    dtype: *mut *const c_char,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<HeldDescription>(description)?;
        // SAFETY: the contract of this function.
        let dtype = unsafe { Out::new(dtype, "dtype")? };
        d.column(index)?;
        dtype.write(d.dtypes[index].as_ptr());
        Ok(())
    })
}

/// Writes what column `index`'s sketches say besides quantiles.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_sketch(
    description: oxb_description,
    index: usize,
    out: *mut oxb_column_sketch,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<HeldDescription>(description)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let c = d.column(index)?;
        let s = &c.sketch;
        let (top, top_len, top_count) = match s.top.top() {
            Some((v, n)) => (v.as_ptr(), v.len(), n),
            None => (std::ptr::null(), 0, 0),
        };
        let ((text_min, text_min_len), (text_max, text_max_len)) = match s.text_range() {
            Some((a, b)) => ((a.as_ptr(), a.len()), (b.as_ptr(), b.len())),
            None => ((std::ptr::null(), 0), (std::ptr::null(), 0)),
        };
        // The pointers are into the handle's object, which never changes and lives until
        // the handle is closed.
        out.write(oxb_column_sketch {
            distinct: s.distinct.estimate(),
            distinct_is_exact: s.distinct.is_exact() as u32,
            distinct_error: s.distinct.standard_error(),
            quantiles_are_exact: c.quantiles_are_exact() as u32,
            quantile_rank_error: s.quantiles.rank_error(),
            top,
            top_len,
            top_count,
            top_error: s.top.max_error(),
            text_min,
            text_min_len,
            text_max,
            text_max_len,
            mixed: c.mixed as u32,
        });
        Ok(())
    })
}

/// Writes the quantile of column `index` at each of `len` probabilities (0 to 1) to
/// `out`: numpy's `linear` method, exact for the probabilities made exact by
/// `oxb_describe_options` and while the sketch holds every value, otherwise within the
/// sketch's rank error. NaN for text and empty columns. Dates and datetimes give days and
/// microseconds since 1970-01-01, as their statistics do.
///
/// # Safety
/// `probabilities` points to `len` doubles and `out` to room for `len` (both may be NULL
/// when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn oxb_description_quantiles(
    description: oxb_description,
    index: usize,
    probabilities: *const f64,
    len: usize,
    out: *mut f64,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<HeldDescription>(description)?;
        // SAFETY: the contract of this function.
        let qs = unsafe { slice(probabilities, len, "probabilities") }?;
        // SAFETY: the contract of this function.
        let out = unsafe { OutSlice::new(out, len, "out") }?;
        let values = d.column(index)?.quantiles(qs)?;
        out.write_all(values.into_iter());
        Ok(())
    })
}

/// Writes a histogram of column `index` in `bins` equal bins from its smallest to its
/// largest value (numpy's rule: half-open bins, the last closed; one unit wide around a
/// constant): `bins` counts and `bins + 1` edges. From the quantile sketch: exact while it
/// holds every value, else each bin's count within its double-sided rank error times the
/// count. Writes `*written` = `bins`, or 0 (and nothing else) for text and empty columns
/// and columns holding an infinity.
///
/// # Safety
/// `counts` has room for `bins` values, `edges` for `bins + 1`; `written` is writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_histogram(
    description: oxb_description,
    index: usize,
    bins: usize,
    counts: *mut u64,
    edges: *mut f64,
    written: *mut usize,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<HeldDescription>(description)?;
        // SAFETY: the contract of this function.
        let written = unsafe { Out::new(written, "written") }?;
        let (c, e) = d.column(index)?.histogram(bins)?;
        if c.is_empty() {
            written.write(0);
            return Ok(());
        }
        // SAFETY: the contract of this function.
        let counts = unsafe { OutSlice::new(counts, bins, "counts") }?;
        // SAFETY: the contract of this function.
        let edges = unsafe { OutSlice::new(edges, bins + 1, "edges") }?;
        counts.write_all(c.into_iter());
        edges.write_all(e.into_iter());
        written.write(bins);
        Ok(())
    })
}

/// Writes up to `capacity` of column `index`'s most frequent text values, the largest
/// count first (ties in byte order), and how many it wrote to `*written`.
///
/// # Safety
/// `out` has room for `capacity` values (NULL when 0); `written` is writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_top_values(
    description: oxb_description,
    index: usize,
    capacity: usize,
    out: *mut oxb_top_value,
    written: *mut usize,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<HeldDescription>(description)?;
        // SAFETY: the contract of this function.
        let written = unsafe { Out::new(written, "written") }?;
        let top = d.column(index)?.sketch.top.counters();
        let n = top.len().min(capacity);
        // SAFETY: the contract of this function.
        let out = unsafe { OutSlice::new(out, n, "out") }?;
        out.write_all(top.into_iter().take(n).map(|(v, count)| oxb_top_value {
            value: v.as_ptr(),
            len: v.len(),
            count,
        }));
        written.write(n);
        Ok(())
    })
}

/// Merges two descriptions of parts of the same data (the same columns in the same
/// order) into a new one, written to `*out`; both stay as they were. Counts, sums,
/// minima and maxima merge exactly, means and variances as Chan et al., sketches within
/// their bounds; exact quantiles do not merge (the merged description's come from its
/// sketch). Different columns or sketch parameters: `OXB_INVALID_ARGUMENT`.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_merge(
    a: oxb_description,
    b: oxb_description,
    out: *mut oxb_description,
) -> oxb_status {
    guard::call(|| {
        let (a, b) = (
            handles::get::<HeldDescription>(a)?,
            handles::get::<HeldDescription>(b)?,
        );
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let mut merged = a.description.clone();
        merged.merge(&b.description)?;
        out.write(hold(merged)?);
        Ok(())
    })
}

/// Serialises a description to versioned bytes (any platform reads them back with
/// `oxb_description_from_bytes`). Writes the size to `*len`; writes the bytes too when
/// `buffer` is not NULL and `capacity` is at least the size (a smaller buffer is
/// `OXB_INVALID_ARGUMENT`, with `*len` still set). Call with NULL first to learn the size.
///
/// # Safety
/// `buffer` is NULL or has room for `capacity` bytes; `len` is writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_to_bytes(
    description: oxb_description,
    buffer: *mut u8,
    capacity: usize,
    len: *mut usize,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<HeldDescription>(description)?;
        // SAFETY: the contract of this function.
        let len = unsafe { Out::new(len, "len") }?;
        let bytes = d.description.to_bytes();
        let size = bytes.len();
        len.write(size);
        if buffer.is_null() {
            return Ok(());
        }
        if capacity < size {
            return Err(FfiError::invalid(format!(
                "the buffer holds {capacity} bytes; the description needs {size}"
            )));
        }
        // SAFETY: the contract of this function: room for `capacity` >= `size` bytes.
        let out = unsafe { slice_mut(buffer, size, "buffer") }?;
        out.copy_from_slice(&bytes);
        Ok(())
    })
}

/// Reads bytes of `oxb_description_to_bytes` into a new description, written to `*out`.
/// Bytes that are not one (damaged, cut short, another version) are `OXB_DATA_FORMAT`,
/// with a message naming what is wrong.
///
/// # Safety
/// `bytes` points to `len` bytes (NULL when 0); `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_description_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut oxb_description,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let bytes = unsafe { slice(bytes, len, "bytes") }?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(hold(Description::from_bytes(bytes)?)?);
        Ok(())
    })
}

/// Closes a description. Closing it again, or using it afterwards, returns
/// `OXB_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn oxb_description_close(description: oxb_description) -> oxb_status {
    guard::call(|| {
        handles::remove::<HeldDescription>(description)?;
        Ok(())
    })
}
