//! One-pass statistics of views and 2-D views, and merging them.

use super::args::{read, Out, OutSlice};
use super::guard;
use super::status::oxb_status;
use super::status::FfiError;
use super::view::{oxb_view, oxb_view2d, read_view, read_view2d};
use crate::stats::{stats_along, stats_of_view2d, Axis, ExactInts, Stats, StatsParts};

/// Statistics of a set of numbers; NaNs are counted in `nan_count` and otherwise ignored.
/// With no values, `mean`, `variance`, `min` and `max` are NaN and `sum` is 0.
/// Two `oxb_stats` merge exactly (`oxb_stats_merge`) into the statistics of both data sets.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct oxb_stats {
    /// Number of non-NaN values.
    pub count: u64,
    /// Number of NaN values.
    pub nan_count: u64,
    /// Sum of the non-NaN values, compensated (better than pairwise summation).
    pub sum: f64,
    /// The rounding error of `sum`: `sum + sum_error` is the sum to about 106 bits.
    pub sum_error: f64,
    pub mean: f64,
    /// Population variance: `m2 / count` (use `m2 / (count - ddof)` for other ddof).
    pub variance: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    pub min: f64,
    pub max: f64,
    /// 1 when every value came from integer data: then `int_sum_high * 2^64 +
    /// int_sum_low` is the exact sum, and `int_min`, `int_max` are exact. 0 otherwise.
    pub is_integer: u32,
    pub int_sum_high: i64,
    pub int_sum_low: u64,
    pub int_min: i64,
    pub int_max: i64,
}

/// `oxb_stats_axis` over each column (numpy's axis=0).
pub const OXB_AXIS_COLUMNS: u32 = 0;
/// `oxb_stats_axis` over each row (numpy's axis=1).
pub const OXB_AXIS_ROWS: u32 = 1;
/// `oxb_stats_axis` over every element, into one `oxb_stats`.
pub const OXB_AXIS_ALL: u32 = 2;

impl From<&Stats> for oxb_stats {
    fn from(s: &Stats) -> Self {
        let p = s.to_parts();
        let (sum, sum_error) = if p.sum_hi.is_finite() {
            let sum = p.sum_hi + p.sum_lo;
            (sum, p.sum_lo - (sum - p.sum_hi))
        } else {
            (p.sum_hi, 0.0)
        };
        let exact = p.exact.unwrap_or(ExactInts {
            sum: 0,
            min: 0,
            max: 0,
        });
        oxb_stats {
            count: s.count(),
            nan_count: s.nan_count(),
            sum: if p.exact.is_some() { s.sum() } else { sum },
            sum_error: if p.exact.is_some() { 0.0 } else { sum_error },
            mean: s.mean(),
            variance: s.variance(0),
            m2: p.m2,
            min: s.min(),
            max: s.max(),
            is_integer: p.exact.is_some() as u32,
            int_sum_high: (exact.sum >> 64) as i64,
            int_sum_low: exact.sum as u64,
            int_min: exact.min,
            int_max: exact.max,
        }
    }
}

impl From<&oxb_stats> for Stats {
    fn from(c: &oxb_stats) -> Self {
        let empty = Stats::EMPTY.to_parts();
        Stats::from_parts(StatsParts {
            count: c.count,
            nan_count: c.nan_count,
            sum_hi: c.sum,
            sum_lo: c.sum_error,
            mean: if c.count == 0 { empty.mean } else { c.mean },
            m2: c.m2,
            min: if c.count == 0 { empty.min } else { c.min },
            max: if c.count == 0 { empty.max } else { c.max },
            exact: (c.is_integer != 0).then_some(ExactInts {
                sum: ((c.int_sum_high as i128) << 64) | c.int_sum_low as i128,
                min: if c.count == 0 { i64::MAX } else { c.int_min },
                max: if c.count == 0 { i64::MIN } else { c.int_max },
            }),
        })
    }
}

/// Computes the statistics of every element of `view` in one parallel pass.
///
/// # Safety
/// `view` is NULL or points to an `oxb_view` whose elements are readable; `out` is NULL
/// or points to writable memory for one `oxb_stats`.
#[no_mangle]
pub unsafe extern "C" fn oxb_stats_compute(
    view: *const oxb_view,
    out: *mut oxb_stats,
) -> oxb_status {
    guard::call(|| {
        let data = read_view(view, "view")?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(oxb_stats::from(&Stats::of_view(data)?));
        Ok(())
    })
}

/// Writes to `*out` the statistics of the data behind `a` and `b` together. `out` may be
/// `a` or `b`.
///
/// # Safety
/// `a` and `b` are NULL or point to readable `oxb_stats`; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_stats_merge(
    a: *const oxb_stats,
    b: *const oxb_stats,
    out: *mut oxb_stats,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let (a, b) = unsafe { (read(a, "a")?, read(b, "b")?) };
        // SAFETY: the contract of this function (`out` may be `a` or `b`: both are
        // copied into `merged` before it is written).
        let out = unsafe { Out::new(out, "out") }?;
        let mut merged = Stats::from(a);
        merged.merge(&Stats::from(b));
        out.write(oxb_stats::from(&merged));
        Ok(())
    })
}

/// Statistics of a 2-D view per column (`OXB_AXIS_COLUMNS`, `out_len` = cols), per row
/// (`OXB_AXIS_ROWS`, `out_len` = rows) or of everything (`OXB_AXIS_ALL`, `out_len` = 1),
/// in one parallel pass over memory whatever the layout.
///
/// # Safety
/// `matrix` is NULL or points to an `oxb_view2d` whose elements are readable; `out` is
/// NULL or points to `out_len` writable `oxb_stats`.
#[no_mangle]
pub unsafe extern "C" fn oxb_stats_axis(
    matrix_view: *const oxb_view2d,
    axis: u32,
    out: *mut oxb_stats,
    out_len: usize,
) -> oxb_status {
    guard::call(|| {
        let m = read_view2d(matrix_view, "matrix")?;
        let (rows, cols) = m.shape();
        let summaries = match axis {
            OXB_AXIS_COLUMNS => stats_along(m, Axis::Columns)?,
            OXB_AXIS_ROWS => stats_along(m, Axis::Rows)?,
            OXB_AXIS_ALL => vec![stats_of_view2d(m)?],
            other => {
                return Err(FfiError::invalid(format!(
                    "axis must be OXB_AXIS_COLUMNS (0), OXB_AXIS_ROWS (1) or OXB_AXIS_ALL (2), got {other}"
                )))
            }
        };
        if out_len != summaries.len() {
            return Err(FfiError::invalid(format!(
                "out_len is {out_len}, but a {rows}x{cols} matrix has {} results for axis {axis}",
                summaries.len()
            )));
        }
        // SAFETY: the contract of this function; `out_len` is checked above.
        let out = unsafe { OutSlice::new(out, out_len, "out") }?;
        out.write_all(summaries.iter().map(oxb_stats::from));
        Ok(())
    })
}

/// Writes the statistics of an Arrow array to `*out`: float64, float32, int64 or int32
/// (formats "g", "f", "l", "i"), read in place; nulls count as missing, like NaN (in
/// `nan_count`). The caller keeps the array (it is not released). Another type is
/// `OXB_UNSUPPORTED`.
///
/// # Safety
/// `array` and `schema` are NULL or valid, unreleased C Data Interface structs whose
/// buffers hold what they declare; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_stats_arrow(
    array: *const super::arrow::ArrowArray,
    schema: *const super::arrow::ArrowSchema,
    out: *mut oxb_stats,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        // SAFETY: the contract of this function.
        let imported = unsafe { super::arrow::import::import(array, schema) }?;
        out.write(oxb_stats::from(&arrow_stats(imported)?));
        Ok(())
    })
}

/// The statistics of an imported Arrow array.
pub(super) fn arrow_stats(imported: super::arrow::import::Imported<'_>) -> Result<Stats, FfiError> {
    Ok(match imported.validity {
        None => Stats::of_view(imported.view)?,
        Some(validity) => Stats::of_masked_view(imported.view, validity)?,
    })
}
