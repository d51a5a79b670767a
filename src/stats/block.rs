//! The block kernels: a block of values that stays in cache gets its summary in two
//! passes (compensated sum, NaN count, min and max; then M2 around the block's mean);
//! larger data is cut into blocks whose summaries merge in a fixed order.

use super::kernels::{float, int, two_sum};
use super::{ExactInts, Stats};
use crate::array::{with_dtype, Element, Strided, TypedSlice, View};
use crate::error::Result;
use crate::runtime::pool::{map_chunks, CHUNK_LEN};

/// Values per block: 8 KiB of float64, comfortably inside L1.
pub(super) const BLOCK_LEN: usize = 1024;
/// Integers per block: larger, since an integer block's bookkeeping (128-bit sums) costs
/// more; 64 KiB still stays in L2, and the 32-bit half sums cannot overflow.
const INT_BLOCK_LEN: usize = 8192;

impl Stats {
    /// The statistics of at most `BLOCK_LEN` values, in two passes over data that stays in cache.
    pub(super) fn of_block(xs: &[f64]) -> Stats {
        block_stats(xs)
    }

    /// The statistics of a contiguous float64 slice, on the calling thread.
    pub fn of_slice(xs: &[f64]) -> Stats {
        let mut total = Stats::EMPTY;
        for block in xs.chunks(BLOCK_LEN) {
            total.merge(&Stats::of_block(block));
        }
        total
    }

    /// The statistics of any strided view, on the calling thread.
    pub fn of_strided<T: Element>(view: Strided<'_, T>) -> Stats {
        if view.is_empty() {
            return Stats::EMPTY;
        }
        if view.get(0).as_i64().is_some() {
            return Self::of_ints(view);
        }
        if let Some(TypedSlice::F64(xs)) = view.as_slice().map(T::typed) {
            return Stats::of_slice(xs);
        }
        let mut buffer = [0.0f64; BLOCK_LEN];
        let mut total = Stats::EMPTY;
        for start in (0..view.len()).step_by(BLOCK_LEN) {
            let n = BLOCK_LEN.min(view.len() - start);
            let block = view.slice(start, n);
            for (i, b) in buffer[..n].iter_mut().enumerate() {
                *b = block.get(i).to_f64();
            }
            total.merge(&Stats::of_block(&buffer[..n]));
        }
        total
    }

    /// The statistics of integer data: exact sum, min and max, and M2 in float64.
    fn of_ints<T: Element>(view: Strided<'_, T>) -> Stats {
        let mut buffer = Vec::new();
        let mut total = Stats::EMPTY;
        for start in (0..view.len()).step_by(INT_BLOCK_LEN) {
            let n = INT_BLOCK_LEN.min(view.len() - start);
            let block = view.slice(start, n);
            let values = match block.as_slice().map(T::typed) {
                Some(TypedSlice::I64(xs)) => xs,
                _ => {
                    buffer.clear();
                    buffer.extend(block.iter().map(|x| x.as_i64().unwrap_or_default()));
                    &buffer[..]
                }
            };
            total.merge(&int_block(values));
        }
        total
    }

    /// The statistics of a view of any dtype, in parallel for large ones.
    pub fn of_view(column: View<'_>) -> Result<Stats> {
        fn parallel<T: Element>(view: Strided<'_, T>) -> Result<Stats> {
            Ok(merge_all(&map_chunks(view, CHUNK_LEN, Stats::of_strided)?))
        }
        with_dtype!(column, View, v => parallel(v))
    }
}

pub(super) fn merge_all(parts: &[Stats]) -> Stats {
    let mut total = Stats::EMPTY;
    for part in parts {
        total.merge(part);
    }
    total
}

/// The statistics of a block of at most `INT_BLOCK_LEN` integers: exact sum, min and max in a
/// first pass, M2 in a second while the block is still in cache.
fn int_block(xs: &[i64]) -> Stats {
    if xs.is_empty() {
        return Stats::EMPTY;
    }
    // Deviations from the first value: within a block's range, so usually 32-bit.
    let pivot = xs[0];
    let pass = int::first_pass(xs, pivot);
    let (wrapped, min, max) = (pass.wrapped_sum, pass.min, pass.max);
    // The wrapping sum is the true sum modulo 2^64, and the true sum lies in
    // [n * min, n * max]: when that interval is narrower than 2^64 it holds exactly one
    // candidate, so the sum is exact without 128-bit work per element.
    let n = xs.len() as i128;
    let lowest = n * min as i128;
    let sum = if n * (max as i128 - min as i128) < 1 << 64 {
        lowest + (wrapped as i128 - lowest).rem_euclid(1 << 64)
    } else {
        xs.iter().map(|&v| v as i128).sum()
    };
    let count = xs.len() as u64;
    let mean = sum as f64 / count as f64;
    let widest = (max as i128 - pivot as i128).max(pivot as i128 - min as i128);
    let m2 = if widest < 1 << 31 && n * widest * widest < 1 << 64 {
        // Every squared deviation was exact and so is their sum (it lies in [0, 2^64)),
        // so M2 = (n * sum(d^2) - sum(d)^2) / n is exact up to the final rounding.
        let deviations = sum - n * pivot as i128;
        (n * pass.wrapped_squares as i128 - deviations * deviations) as f64 / n as f64
    } else {
        // M2 around the nearest integer to the mean: differences are exact integers,
        // converted with the MAGIC trick when they are small enough (nearly always).
        let center = mean.round().clamp(i64::MIN as f64, i64::MAX as f64) as i64;
        // From the exact sum: the rounding of `mean` itself would enter every deviation.
        let offset = (sum - n * center as i128) as f64 / count as f64;
        let small = |v: i64| ((v as i128) - center as i128).unsigned_abs() < 1 << 51;
        if small(min) && small(max) {
            int::centered_m2(xs, center, offset)
        } else {
            xs.iter()
                .map(|&v| (v as f64 - mean) * (v as f64 - mean))
                .sum()
        }
    };
    let sum_hi = sum as f64;
    Stats {
        count,
        nan_count: 0,
        sum_hi,
        sum_lo: (sum - sum_hi as i128) as f64,
        mean,
        m2,
        min: min as f64,
        max: max as f64,
        exact: Some(ExactInts { sum, min, max }),
    }
}

/// The block kernel: a first pass for the compensated sum, NaN count, min and max, and a
/// second for M2 around the block's mean while the block is still in L1.
pub(super) fn block_stats(xs: &[f64]) -> Stats {
    let whole = xs.len() / float::LANES * float::LANES;
    let (body, tail) = xs.split_at(whole);
    let pass = float::first_pass(body);
    let mut s = Stats {
        exact: None,
        nan_count: pass.nans,
        min: pass.min,
        max: pass.max,
        ..Stats::EMPTY
    };
    for lane in 0..float::LANES {
        let (h, e) = two_sum(s.sum_hi, pass.hi[lane]);
        s.sum_hi = h;
        s.sum_lo += e + pass.lo[lane];
    }
    for &x in tail {
        if x.is_nan() {
            s.nan_count += 1;
        } else {
            let (h, e) = two_sum(s.sum_hi, x);
            s.sum_hi = h;
            s.sum_lo += e;
            s.min = s.min.min(x);
            s.max = s.max.max(x);
        }
    }
    s.count = xs.len() as u64 - s.nan_count;
    if s.count == 0 {
        return s;
    }
    let mean = s.sum() / s.count as f64;
    s.mean = mean;
    // A mean of ±inf leaves (x - mean) NaN for the infinite values: the variance is NaN.
    s.m2 = if mean.is_finite() {
        float::squared_deviations(xs, mean)
    } else {
        f64::NAN
    };
    s
}
