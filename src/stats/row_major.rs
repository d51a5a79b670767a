//! Statistics of every column of row-major data (each row's columns side by side: C-order
//! arrays, `.npy` and raw files) in one pass over memory, read in place by the stripe
//! kernels (`f64_rows_simd`, `int_rows_simd`) instead of column by column. Results equal
//! the column-wise kernels': the same compensated sums, exact integer sums, minima and
//! maxima, and M2 from a second pass over each block while it is in cache.

use super::block::block_stats;
use super::{two_sum, ExactInts, Stats};
use crate::array::Element;
use crate::array::{TypedSlice, Widen};
use crate::stats::kernels::float_rows;
use crate::stats::kernels::int_rows;

/// Values per block: 128 KiB of float64, which stays in L2 between the two passes.
const ROW_MAJOR_BLOCK_LEN: usize = 16384;

impl Stats {
    /// Turns the float sums of a block of integers (exact: see `Widen::INTEGER`) into
    /// exact integer statistics, as `int_block` gives them. Returns the integer nearest to
    /// the mean and sets `offset` to the mean's exact distance from it.
    fn make_exact_ints(&mut self, offset: &mut f64) -> f64 {
        let sum = self.sum_hi as i128 + self.sum_lo as i128;
        let (min, max) = (self.min as i64, self.max as i64);
        let n = self.count as i128;
        let centre = (self.sum_hi / self.count as f64).round();
        *offset = (sum - n * centre as i128) as f64 / self.count as f64;
        self.sum_hi = sum as f64;
        self.sum_lo = (sum - self.sum_hi as i128) as f64;
        self.mean = sum as f64 / self.count as f64;
        self.exact = Some(ExactInts { sum, min, max });
        centre
    }
}

/// Summaries of every column of packed row-major data (`values.len()` a multiple of
/// `cols`) by the stripe kernels, which read every element type the engine has; `None`
/// when there are too many columns for them.
pub(crate) fn row_major_any<T: Element>(values: &[T], cols: usize) -> Option<Vec<Stats>> {
    match T::typed(values) {
        TypedSlice::F64(xs) => row_major_stats(xs, cols),
        TypedSlice::F32(xs) => row_major_stats(xs, cols),
        TypedSlice::I32(xs) => row_major_stats(xs, cols),
        TypedSlice::I64(xs) => row_major_int64_stats(xs, cols),
    }
}

/// Summaries of every column of row-major float64, float32 or int32 data (`values.len()` a
/// multiple of `cols`), read in place without transposing it; `None` when there are too many columns
/// for the stripe kernel (see `f64_rows_simd`).
pub(crate) fn row_major_stats<T: Widen>(values: &[T], cols: usize) -> Option<Vec<Stats>> {
    let stripe = float_rows::stripe_len(cols)?;
    debug_assert_eq!(values.len() % cols, 0);
    let mut totals = vec![Stats::EMPTY; cols];
    let mut column = Vec::new();
    for block in values.chunks((ROW_MAJOR_BLOCK_LEN / stripe).max(1) * stripe) {
        for (total, part) in
            totals
                .iter_mut()
                .zip(row_major_block(block, cols, stripe, &mut column))
        {
            total.merge(&part);
        }
    }
    Some(totals)
}

/// `block_stats` of each column of one row-major block. The stripe kernel's sums have
/// no NaN test: a column whose sum comes out non-finite (a NaN, an infinity or an
/// overflow) is gathered into `column` and summarised by `block_stats` instead.
fn row_major_block<T: Widen>(
    block: &[T],
    cols: usize,
    stripe: usize,
    column: &mut Vec<f64>,
) -> Vec<Stats> {
    let rows = block.len() / cols;
    let (body, tail) = block.split_at(block.len() / stripe * stripe);
    let sums = float_rows::first_pass(body, stripe);
    let mut parts: Vec<Stats> = (0..cols)
        .map(|c| {
            let mut s = Stats {
                exact: None,
                count: rows as u64,
                ..Stats::EMPTY
            };
            let positions = (c..stripe).step_by(cols);
            let tail_values = tail.iter().skip(c).step_by(cols);
            for p in positions {
                let (h, e) = two_sum(s.sum_hi, sums.hi[p]);
                s.sum_hi = h;
                s.sum_lo += e + sums.lo[p];
                s.min = s.min.min(sums.min[p]);
                s.max = s.max.max(sums.max[p]);
            }
            for x in tail_values.map(|x| x.widen()) {
                let (h, e) = two_sum(s.sum_hi, x);
                s.sum_hi = h;
                s.sum_lo += e;
                s.min = s.min.min(x);
                s.max = s.max.max(x);
            }
            s.mean = s.sum() / s.count as f64;
            s
        })
        .collect();
    // M2 around each column's mean, or for integers around the integer nearest to it
    // (deviations from it are exact), corrected by the exact distance to the mean.
    let mut offsets = vec![0.0; cols];
    let centres: Vec<f64> = if T::INTEGER {
        parts
            .iter_mut()
            .zip(&mut offsets)
            .map(|(s, offset)| s.make_exact_ints(offset))
            .collect()
    } else {
        parts.iter().map(|s| s.mean).collect()
    };
    let means: Vec<f64> = (0..stripe).map(|p| centres[p % cols]).collect();
    let deviations = float_rows::squared_deviations(body, &means);
    for (p, d) in deviations.iter().enumerate() {
        parts[p % cols].m2 += d;
    }
    for row in tail.chunks_exact(cols) {
        for ((s, x), &centre) in parts
            .iter_mut()
            .zip(row.iter().map(|x| x.widen()))
            .zip(&centres)
        {
            s.m2 += (x - centre) * (x - centre);
        }
    }
    for (s, offset) in parts.iter_mut().zip(offsets) {
        s.m2 -= s.count as f64 * offset * offset;
    }
    for (c, s) in parts.iter_mut().enumerate() {
        if !(s.sum_hi.is_finite() && s.sum_lo.is_finite()) {
            column.clear();
            column.extend(block.iter().skip(c).step_by(cols).map(|x| x.widen()));
            *s = block_stats(column);
        }
    }
    parts
}

/// Summaries of every column of row-major int64 data (`values.len()` a multiple of
/// `cols`), read in place: exact sums, minima and maxima as `int_block` gives them. `None`
/// when there are too many columns for the stripe kernel.
pub(crate) fn row_major_int64_stats(values: &[i64], cols: usize) -> Option<Vec<Stats>> {
    let stripe = float_rows::stripe_len(cols)?;
    debug_assert_eq!(values.len() % cols, 0);
    let mut totals = vec![Stats::EMPTY; cols];
    for block in values.chunks((ROW_MAJOR_BLOCK_LEN / stripe).max(1) * stripe) {
        for (total, part) in totals
            .iter_mut()
            .zip(row_major_int64_block(block, cols, stripe))
        {
            total.merge(&part);
        }
    }
    Some(totals)
}

/// `int_block` of each column of one row-major int64 block.
fn row_major_int64_block(block: &[i64], cols: usize, stripe: usize) -> Vec<Stats> {
    let rows = block.len() / cols;
    let n = rows as i128;
    let (body, tail) = block.split_at(block.len() / stripe * stripe);
    let pass = int_rows::first_pass(body, stripe);
    let column = |c: usize| block.iter().skip(c).step_by(cols).copied();
    let mut parts: Vec<Stats> = Vec::with_capacity(cols);
    // M2 around the floor of the mean (exact integer deviations while they are below
    // 2^51), corrected by the exact distance from it to the mean, in [0, 1).
    let mut centres = vec![0i64; cols];
    let mut offsets = vec![0.0; cols];
    let mut small = vec![false; cols];
    for c in 0..cols {
        let (mut wrapped, mut min, mut max) = (0i64, i64::MAX, i64::MIN);
        for p in (c..stripe).step_by(cols) {
            wrapped = wrapped.wrapping_add(pass.wrapped_sum[p]);
            min = min.min(pass.min[p]);
            max = max.max(pass.max[p]);
        }
        for &x in tail.iter().skip(c).step_by(cols) {
            wrapped = wrapped.wrapping_add(x);
            min = min.min(x);
            max = max.max(x);
        }
        // As in `int_block`: the sum modulo 2^64 and a range narrower than 2^64 fix it.
        let lowest = n * min as i128;
        let sum = if n * (max as i128 - min as i128) < 1 << 64 {
            lowest + (wrapped as i128 - lowest).rem_euclid(1 << 64)
        } else {
            column(c).map(|v| v as i128).sum()
        };
        let centre = sum.div_euclid(n);
        centres[c] = centre as i64; // between min and max
        offsets[c] = (sum - n * centre) as f64 / rows as f64;
        small[c] = max as i128 - centre < 1 << 51 && centre - (min as i128) < 1 << 51;
        let sum_hi = sum as f64;
        parts.push(Stats {
            count: rows as u64,
            nan_count: 0,
            sum_hi,
            sum_lo: (sum - sum_hi as i128) as f64,
            mean: sum as f64 / rows as f64,
            m2: 0.0,
            min: min as f64,
            max: max as f64,
            exact: Some(ExactInts { sum, min, max }),
        });
    }
    let by_position: Vec<i64> = (0..stripe).map(|p| centres[p % cols]).collect();
    let squares = int_rows::centred_squares(body, &by_position);
    for (p, q) in squares.iter().enumerate() {
        parts[p % cols].m2 += q;
    }
    for row in tail.chunks_exact(cols) {
        for ((s, &x), &centre) in parts.iter_mut().zip(row).zip(&centres) {
            let d = x.wrapping_sub(centre) as f64; // exact when it matters (small)
            s.m2 += d * d;
        }
    }
    for (c, s) in parts.iter_mut().enumerate() {
        s.m2 = if small[c] {
            s.m2 - rows as f64 * offsets[c] * offsets[c]
        } else {
            let mean = s.mean;
            column(c)
                .map(|v| (v as f64 - mean) * (v as f64 - mean))
                .sum()
        };
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Strided;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    /// `n` pseudo-random integers spread around `base` (xorshift), clamped to `lo..=hi`.
    fn spread_values(
        seed: u64,
        n: usize,
        base: i128,
        spread: i128,
        lo: i128,
        hi: i128,
    ) -> impl Iterator<Item = i128> {
        let mut state = seed | 1;
        (0..n).map(move |_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (base + state as i128 % spread - spread / 2).clamp(lo, hi)
        })
    }

    /// The stripe kernels' summaries of integer columns equal the integer path's: the same
    /// exact sums, minima, maxima and means, and M2 within rounding.
    fn check_like_the_integer_path<T: Element>(
        values: &[T],
        cols: usize,
    ) -> Result<(), TestCaseError> {
        let Some(fast) = row_major_any(values, cols) else {
            prop_assert!(float_rows::stripe_len(cols).is_none());
            return Ok(());
        };
        for (c, got) in fast.iter().enumerate() {
            let column: Vec<T> = values.iter().skip(c).step_by(cols).copied().collect();
            let want = Stats::of_strided(Strided::from_slice(&column));
            prop_assert_eq!(got.exact(), want.exact(), "column {}", c);
            prop_assert_eq!(got.count(), want.count());
            prop_assert_eq!(got.mean().to_bits(), want.mean().to_bits(), "column {}", c);
            let (a, b) = (got.m2(), want.m2());
            prop_assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "column {}: m2 {} vs {}",
                c,
                a,
                b
            );
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn row_major_kernel_matches_each_column_alone(
            cols in 1usize..70,
            rows in 0usize..400,
            seed in proptest::collection::vec(
                prop_oneof![
                    8 => -1e6f64..1e6,
                    1 => Just(f64::NAN),
                    1 => Just(f64::INFINITY),
                    1 => Just(-0.0),
                    1 => Just(1e300),
                ],
                1..50,
            ),
            stride in 1usize..50,
        ) {
            let values: Vec<f64> = (0..rows * cols).map(|i| seed[(i * stride) % seed.len()]).collect();
            let Some(fast) = row_major_stats(&values, cols) else {
                prop_assert!(float_rows::stripe_len(cols).is_none());
                return Ok(());
            };
            // float32 data goes through the same kernel, widened.
            let narrow: Vec<f32> = values.iter().map(|&x| x as f32).collect();
            let fast32 = row_major_stats(&narrow, cols).expect("same stripe");
            let widened: Vec<f64> = narrow.iter().map(|&x| x as f64).collect();
            let cases = fast.iter().map(|s| (s, &values)).chain(fast32.iter().map(|s| (s, &widened)));
            for (i, (got, values)) in cases.enumerate() {
                let c = i % cols;
                let column: Vec<f64> = values.iter().skip(c).step_by(cols).copied().collect();
                let want = Stats::of_slice(&column);
                prop_assert_eq!((got.count(), got.nan_count()), (want.count(), want.nan_count()));
                let close = |a: f64, b: f64, tol: f64| {
                    a.to_bits() == b.to_bits()
                        || (a.is_nan() && b.is_nan())
                        || (a - b).abs() <= tol * a.abs().max(b.abs())
                };
                prop_assert_eq!(got.min().to_bits(), want.min().to_bits(), "column {}", c);
                prop_assert_eq!(got.max().to_bits(), want.max().to_bits(), "column {}", c);
                prop_assert!(close(got.sum(), want.sum(), 1e-15), "column {}: {} vs {}", c, got.sum(), want.sum());
                prop_assert!(close(got.mean(), want.mean(), 1e-15), "column {}", c);
                // Rounding leaves M2 near 0 rather than 0 for a constant column.
                let spread = want.min().abs().max(want.max().abs()).powi(2) * 1e-14;
                let (a, b) = (got.variance(1), want.variance(1));
                prop_assert!(close(a, b, 1e-9) || (a - b).abs() <= spread, "column {}: {} vs {}", c, a, b);
            }
        }

        #[test]
        fn row_major_int32_kernel_is_exact_like_the_integer_path(
            cols in 1usize..40,
            rows in 0usize..3000,
            spread in prop_oneof![Just(3i128), Just(1000), Just(1 << 31)],
            base in prop_oneof![Just(0i128), Just(i32::MAX as i128 - 5), Just(i32::MIN as i128 + 2)],
            seed in any::<u64>(),
        ) {
            let values: Vec<i32> = spread_values(seed, rows * cols, base, spread, i32::MIN.into(), i32::MAX.into())
                .map(|v| v as i32)
                .collect();
            check_like_the_integer_path(&values, cols)?;
        }

        #[test]
        fn row_major_int64_kernel_is_exact_like_the_integer_path(
            cols in 1usize..40,
            rows in 0usize..3000,
            spread in prop_oneof![Just(3i128), Just(1000), Just(1 << 40), Just(1 << 60), Just(1 << 64)],
            base in prop_oneof![Just(0i128), Just(1_700_000_000_000_000_001), Just(i64::MIN as i128 + 5)],
            seed in any::<u64>(),
        ) {
            let values: Vec<i64> = spread_values(seed, rows * cols, base, spread, i64::MIN.into(), i64::MAX.into())
                .map(|v| v as i64)
                .collect();
            check_like_the_integer_path(&values, cols)?;
        }
    }
}
