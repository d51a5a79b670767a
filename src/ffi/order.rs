//! Histogram, quantiles and sort.

use super::args::{slice, OutSlice};
use super::guard;
use super::status::oxb_status;
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
        let range = if range.is_null() {
            None
        } else {
            // SAFETY: the contract of this function: a non-NULL `range` is two doubles.
            let r = unsafe { slice(range, 2, "range") }?;
            Some((r[0], r[1]))
        };
        // SAFETY: the contract of this function.
        let counts = unsafe { OutSlice::new(counts, bins, "counts") }?;
        // SAFETY: the contract of this function.
        let edges = unsafe { OutSlice::new(edges, bins + 1, "edges") }?;
        let h = histogram(data, bins, range)?;
        counts.write_all(h.counts.into_iter());
        edges.write_all(h.edges.into_iter());
        Ok(())
    })
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
        if q_len == 0 {
            return Ok(());
        }
        // SAFETY: the contract of this function.
        let qs = unsafe { slice(q, q_len, "q") }?.to_vec();
        // SAFETY: the contract of this function.
        let out = unsafe { OutSlice::new(out, q_len, "out") }?;
        let values = with_dtype!(data, View, v => quantiles(v, &qs))?;
        out.write_all(values.into_iter());
        Ok(())
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
