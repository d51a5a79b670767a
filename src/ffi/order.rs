//! Histogram, quantiles and sort.

use super::args::{slice, OutSlice};
use super::arrow::import::{import, with_nulls_as_nan};
use super::guard;
use super::status::{oxb_status, FfiError};
use super::view::{oxb_view, read_view, read_view_mut};
use crate::array::with_dtype;
use crate::array::{View, ViewMut};
use crate::order::histogram::histogram;
use crate::order::{quantiles, sort};

/// Counts the elements of `view` in `bins` equal-width bins, exactly as
/// `numpy.histogram(a, bins, range)` does: over `range[0]..range[1]` when `range` is not
/// NULL, else over the data's min and max; the last bin includes its right edge; values
/// outside the range and NaN are not counted. Writes `bins` counts and `bins + 1` edges.
///
/// # Safety
/// `view` is NULL or a readable view; `range` is NULL or points to two doubles; `counts`
/// and `edges` are NULL or point to `bins` and `bins + 1` writable elements.
#[no_mangle]
pub unsafe extern "C" fn oxb_histogram(
    view: *const oxb_view,
    bins: usize,
    range: *const f64,
    counts: *mut u64,
    edges: *mut f64,
) -> oxb_status {
    guard::call(|| {
        let data = read_view(view, "view")?;
        // SAFETY: the contract of this function.
        unsafe { histogram_into(data, bins, range, counts, edges) }
    })
}

/// `oxb_histogram`'s work on a view.
///
/// # Safety
/// As for `oxb_histogram`.
unsafe fn histogram_into(
    data: View<'_>,
    bins: usize,
    range: *const f64,
    counts: *mut u64,
    edges: *mut f64,
) -> Result<(), FfiError> {
    let range = if range.is_null() {
        None
    } else {
        // SAFETY: the caller's contract: a non-NULL `range` is two doubles.
        let r = unsafe { slice(range, 2, "range") }?;
        Some((r[0], r[1]))
    };
    // SAFETY: the caller's contract.
    let counts = unsafe { OutSlice::new(counts, bins, "counts") }?;
    // SAFETY: the caller's contract.
    let edges = unsafe { OutSlice::new(edges, bins + 1, "edges") }?;
    let h = histogram(data, bins, range)?;
    counts.write_all(h.counts.into_iter());
    edges.write_all(h.edges.into_iter());
    Ok(())
}

/// Writes the `q_len` quantiles `q[i]` (each in [0, 1]) of `view` to `out[i]`, equal to
/// `numpy.quantile(a, q)` with the default linear method. Uses selection, not a sort, and
/// never copies the data. NaN in the data makes every result NaN; empty data gives NaN.
///
/// # Safety
/// `view` is NULL or a readable view; `q` and `out` are NULL or point to `q_len` doubles.
#[no_mangle]
pub unsafe extern "C" fn oxb_quantile(
    view: *const oxb_view,
    q: *const f64,
    q_len: usize,
    out: *mut f64,
) -> oxb_status {
    guard::call(|| {
        let data = read_view(view, "view")?;
        // SAFETY: the contract of this function.
        unsafe { quantile_into(data, q, q_len, out) }
    })
}

/// `oxb_quantile`'s work on a view.
///
/// # Safety
/// As for `oxb_quantile`.
unsafe fn quantile_into(
    data: View<'_>,
    q: *const f64,
    q_len: usize,
    out: *mut f64,
) -> Result<(), FfiError> {
    if q_len == 0 {
        return Ok(());
    }
    // SAFETY: the caller's contract.
    let qs = unsafe { slice(q, q_len, "q") }?.to_vec();
    // SAFETY: the caller's contract.
    let out = unsafe { OutSlice::new(out, q_len, "out") }?;
    let values = with_dtype!(data, View, v => quantiles(v, &qs))?;
    out.write_all(values.into_iter());
    Ok(())
}

/// `oxb_histogram` of an Arrow array (float64, float32, int64 or int32, read in place;
/// nulls read as NaN). The caller keeps the array.
///
/// # Safety
/// `array` and `schema` are NULL or valid, unreleased C Data Interface structs whose
/// buffers hold what they declare; `range`, `counts` and `edges` as for `oxb_histogram`.
#[no_mangle]
pub unsafe extern "C" fn oxb_histogram_arrow(
    array: *const super::arrow::ArrowArray,
    schema: *const super::arrow::ArrowSchema,
    bins: usize,
    range: *const f64,
    counts: *mut u64,
    edges: *mut f64,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let imported = unsafe { import(array, schema) }?;
        // SAFETY: the contract of this function.
        with_nulls_as_nan(imported, |data| unsafe {
            histogram_into(data, bins, range, counts, edges)
        })
    })
}

/// `oxb_quantile` of an Arrow array (float64, float32, int64 or int32, read in place;
/// nulls read as NaN, so an array with a null has NaN quantiles, as numpy's). The caller
/// keeps the array.
///
/// # Safety
/// `array` and `schema` are NULL or valid, unreleased C Data Interface structs whose
/// buffers hold what they declare; `q` and `out` as for `oxb_quantile`.
#[no_mangle]
pub unsafe extern "C" fn oxb_quantile_arrow(
    array: *const super::arrow::ArrowArray,
    schema: *const super::arrow::ArrowSchema,
    q: *const f64,
    q_len: usize,
    out: *mut f64,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let imported = unsafe { import(array, schema) }?;
        // SAFETY: the contract of this function.
        with_nulls_as_nan(imported, |data| unsafe {
            quantile_into(data, q, q_len, out)
        })
    })
}

/// Sorts `view` in place, ascending, NaN last (like `numpy.sort`), in parallel.
///
/// # Safety
/// `view` is NULL or a view whose elements are writable and unused by others meanwhile.
#[no_mangle]
pub unsafe extern "C" fn oxb_sort(view: *const oxb_view) -> oxb_status {
    guard::call(|| Ok(with_dtype!(read_view_mut(view, "view")?, ViewMut, v => sort(v))?))
}
