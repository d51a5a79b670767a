//! One-pass, mergeable summary statistics.
//!
//! Data is cut into cache-sized blocks. Each block gets a compensated sum and, from a
//! second pass over the block while it is still in L1, its exact-enough M2 around the
//! block mean; blocks are then merged with Chan's formula. The sum is carried as a
//! double-double (hi + lo), so it is close to correctly rounded: better than numpy's
//! pairwise sum. Blocks merge in a fixed order, so results do not depend on thread count.

use kernels::two_sum;

mod axis;
mod block;
pub(crate) mod kernels;
mod masked;
mod row_major;
pub mod sketch;

pub use axis::{stats_along, stats_of_view2d, Axis};
pub use masked::Validity;
pub(crate) use row_major::row_major_any;

/// Exact sum, min and max of integer data, which float64 cannot hold beyond 2^53.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactInts {
    /// Sum of the values, exact.
    pub sum: i128,
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
}

impl ExactInts {
    const EMPTY: ExactInts = ExactInts {
        sum: 0,
        min: i64::MAX,
        max: i64::MIN,
    };

    fn merge(self, other: ExactInts) -> Option<ExactInts> {
        Some(ExactInts {
            sum: self.sum.checked_add(other.sum)?,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        })
    }
}

/// Count, NaN count, sum, mean, variance, min and max of a set of numbers; NaNs are
/// counted and otherwise ignored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    count: u64,
    nan_count: u64,
    sum_hi: f64,
    sum_lo: f64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    /// Present while every value merged so far came from integer data.
    exact: Option<ExactInts>,
}

/// The parts of a `Stats`, for carrying one across the C boundary and back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsParts {
    /// Values seen, NaN excluded.
    pub count: u64,
    /// NaN values seen.
    pub nan_count: u64,
    /// The sum, rounded.
    pub sum_hi: f64,
    /// The rounding error of `sum_hi`.
    pub sum_lo: f64,
    /// The mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Smallest value (+inf when empty).
    pub min: f64,
    /// Largest value (-inf when empty).
    pub max: f64,
    /// Exact sum, min and max while all data was integer.
    pub exact: Option<ExactInts>,
}

impl Default for Stats {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl Stats {
    /// The statistics of no data.
    pub const EMPTY: Stats = Stats {
        count: 0,
        nan_count: 0,
        sum_hi: 0.0,
        sum_lo: 0.0,
        mean: 0.0,
        m2: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        exact: Some(ExactInts::EMPTY),
    };

    /// The state, for carrying it across the C boundary.
    pub fn to_parts(&self) -> StatsParts {
        StatsParts {
            count: self.count,
            nan_count: self.nan_count,
            sum_hi: self.sum_hi,
            sum_lo: self.sum_lo,
            mean: self.mean,
            m2: self.m2,
            min: self.min,
            max: self.max,
            exact: self.exact,
        }
    }

    /// Rebuilds a summary from its parts (as `to_parts` gave them; other values give
    /// meaningless but harmless statistics).
    pub fn from_parts(p: StatsParts) -> Stats {
        Stats {
            count: p.count,
            nan_count: p.nan_count,
            sum_hi: p.sum_hi,
            sum_lo: p.sum_lo,
            mean: p.mean,
            m2: p.m2,
            min: p.min,
            max: p.max,
            exact: p.exact,
        }
    }

    /// Exact integer sum, min and max, when every value came from integer data.
    pub fn exact(&self) -> Option<ExactInts> {
        self.exact
    }

    /// M2, the sum of squared deviations from the mean.
    pub fn m2(&self) -> f64 {
        self.m2
    }

    /// Number of non-NaN values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of NaN values seen (not in `count`).
    pub fn nan_count(&self) -> u64 {
        self.nan_count
    }

    /// Sum of the non-NaN values (0 when there are none).
    pub fn sum(&self) -> f64 {
        if let Some(exact) = self.exact {
            return exact.sum as f64;
        }
        if self.sum_hi.is_finite() {
            self.sum_hi + self.sum_lo
        } else {
            self.sum_hi
        }
    }

    /// Mean of the non-NaN values; NaN when there are none.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.mean
        }
    }

    /// Variance with `ddof` delta degrees of freedom (0: population); NaN when
    /// `count <= ddof`.
    pub fn variance(&self, ddof: u64) -> f64 {
        if self.count <= ddof {
            f64::NAN
        } else {
            // Rounding can leave M2 a hair below 0; NaN (from infinities) must stay NaN.
            let m2 = if self.m2 < 0.0 { 0.0 } else { self.m2 };
            m2 / (self.count - ddof) as f64
        }
    }

    /// Smallest non-NaN value; NaN when there is none.
    pub fn min(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.min
        }
    }

    /// Largest non-NaN value; NaN when there is none.
    pub fn max(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.max
        }
    }

    fn set_mean_from_sum(&mut self, fallback: f64) {
        if let Some(mean) = exact_mean(self.exact, self.count) {
            self.mean = mean;
            return;
        }
        let sum = self.sum();
        self.mean = if sum.is_finite() {
            sum / self.count as f64
        } else {
            fallback
        };
    }

    /// Counts `n` more NaN (missing) values.
    pub fn add_missing(&mut self, n: u64) {
        self.nan_count += n;
    }

    /// Combines two summaries into the summary of both data sets (Chan et al.).
    pub fn merge(&mut self, other: &Stats) {
        self.nan_count += other.nan_count;
        let exact_delta = match (self.exact, other.exact) {
            (Some(a), Some(b)) => exact_mean_difference(a, self.count, b, other.count),
            _ => None,
        };
        self.exact = match (self.exact, other.exact) {
            (Some(a), Some(b)) => a.merge(b),
            _ => None,
        };
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            let (nan_count, exact) = (self.nan_count, self.exact);
            *self = *other;
            self.nan_count = nan_count;
            self.exact = exact;
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        // Infinite values make the mean infinite (or NaN for +inf with -inf) and the
        // variance NaN, as in numpy; Chan's update would turn inf into inf - inf.
        let infinite = !self.mean.is_finite() || !other.mean.is_finite();
        let delta = exact_delta.unwrap_or(other.mean - self.mean);
        self.m2 = if infinite {
            f64::NAN
        } else {
            self.m2 + other.m2 + delta * delta * (na * nb / n)
        };
        let plain_sum = self.sum_hi + other.sum_hi;
        if plain_sum.is_finite() {
            let (hi, lo) = two_sum(self.sum_hi, other.sum_hi);
            (self.sum_hi, self.sum_lo) = two_sum(hi, lo + self.sum_lo + other.sum_lo);
        } else {
            (self.sum_hi, self.sum_lo) = (plain_sum, 0.0);
        }
        self.count += other.count;
        let fallback = if infinite {
            self.mean + other.mean
        } else {
            self.mean + delta * (nb / n)
        };
        self.set_mean_from_sum(fallback);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// `mean(b) - mean(a)` of two integer data sets from their exact sums, without the
/// rounding of each mean (up to 2^10 for values near 2^62), which Chan's formula would
/// square into the variance. Both means are taken relative to an integer near mean(a).
fn exact_mean_difference(a: ExactInts, na: u64, b: ExactInts, nb: u64) -> Option<f64> {
    if na == 0 || nb == 0 {
        return None;
    }
    let center = a.sum / na as i128;
    let rest_a = a.sum.checked_sub(center.checked_mul(na as i128)?)?;
    let rest_b = b.sum.checked_sub(center.checked_mul(nb as i128)?)?;
    Some(rest_b as f64 / nb as f64 - rest_a as f64 / na as f64)
}

fn exact_mean(exact: Option<ExactInts>, count: u64) -> Option<f64> {
    exact
        .filter(|_| count > 0)
        .map(|e| e.sum as f64 / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{Strided, Strided2d, View, View2d};
    use proptest::prelude::*;

    #[test]
    fn infinities_survive_merging_like_numpy() {
        let mut xs = vec![0.0; 3000];
        xs[0] = f64::INFINITY;
        let s = Stats::of_slice(&xs);
        assert_eq!((s.sum(), s.mean()), (f64::INFINITY, f64::INFINITY));
        assert!(s.variance(0).is_nan());
        xs[2999] = f64::NEG_INFINITY;
        let s = Stats::of_slice(&xs);
        assert!(s.sum().is_nan() && s.mean().is_nan());
    }

    #[test]
    fn large_integers_keep_an_exact_variance_across_blocks() {
        let t = 1_700_000_000_000_000_001i64;
        let xs: Vec<i64> = (0..20_000).map(|i| t + i % 3).collect();
        let s = Stats::of_view(View::I64(Strided::from_slice(&xs))).unwrap();
        // The variance does not depend on the shift by t: compute it on the small parts.
        let small: Vec<f64> = (0..20_000).map(|i| (i % 3) as f64).collect();
        let mean = small.iter().sum::<f64>() / 20_000.0;
        let expected = small.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 20_000.0;
        assert!(
            (s.variance(0) - expected).abs() < 1e-9,
            "{} vs {expected}",
            s.variance(0)
        );
    }

    fn naive(xs: &[f64]) -> (u64, f64, f64, f64) {
        let v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        (v.len() as u64, v.iter().sum(), mean, var)
    }

    #[test]
    fn empty_summary_is_nan_except_counts_and_sum() {
        let s = Stats::of_slice(&[]);
        assert_eq!((s.count(), s.nan_count(), s.sum()), (0, 0, 0.0));
        assert!(s.mean().is_nan() && s.variance(0).is_nan());
        assert!(s.min().is_nan() && s.max().is_nan());
        let s = Stats::of_slice(&[f64::NAN, f64::NAN]);
        assert_eq!((s.count(), s.nan_count()), (0, 2));
    }

    #[test]
    fn sum_is_compensated() {
        // 1 + 1e-16 * 10^4 loses every small term in naive summation.
        let mut xs = vec![1.0];
        xs.extend(std::iter::repeat_n(1e-16, 10_000));
        let s = Stats::of_slice(&xs);
        assert!((s.sum() - (1.0 + 1e-12)).abs() < 1e-15, "{}", s.sum());
    }

    #[test]
    fn infinities_give_infinite_mean_and_nan_variance() {
        let s = Stats::of_slice(&[1.0, f64::INFINITY, 2.0]);
        assert_eq!(s.sum(), f64::INFINITY);
        assert_eq!(s.mean(), f64::INFINITY);
        assert!(s.variance(0).is_nan());
        assert_eq!(s.max(), f64::INFINITY);
    }

    #[test]
    fn integer_sums_are_exact_beyond_int64() {
        let data = vec![i64::MAX; 300_000];
        let s = Stats::of_view(View::I64(Strided::from_slice(&data))).unwrap();
        let exact = s.exact().unwrap();
        assert_eq!(exact.sum, i64::MAX as i128 * 300_000);
        assert_eq!((exact.min, exact.max), (i64::MAX, i64::MAX));
        assert_eq!(s.mean(), i64::MAX as f64);
        let floats = Stats::of_slice(&[1.0]);
        let mut mixed = s;
        mixed.merge(&floats);
        assert!(mixed.exact().is_none());
    }

    #[test]
    fn integer_columns_in_parallel_match_sequential() {
        let data: Vec<i64> = (0..300_000).map(|i| (i * 7919) % 1000 - 500).collect();
        let s = Stats::of_view(View::I64(Strided::from_slice(&data))).unwrap();
        let as_f64: Vec<f64> = data.iter().map(|&x| x as f64).collect();
        let (n, sum, mean, var) = naive(&as_f64);
        assert_eq!(s.count(), n);
        assert_eq!(s.sum(), sum);
        assert!((s.mean() - mean).abs() < 1e-12);
        assert!((s.variance(0) - var).abs() / var < 1e-12);
        assert_eq!((s.min(), s.max()), (-500.0, 499.0));
    }

    #[test]
    fn per_column_and_per_row_match_one_dimensional_stats() {
        let (rows, cols) = (5000, 7);
        let data: Vec<f64> = (0..rows * cols)
            .map(|i| ((i * 37) % 101) as f64 - 50.0)
            .collect();
        let m = View2d::F64(Strided2d::from_slice(&data, rows, cols));
        let by_column = stats_along(m, Axis::Columns).unwrap();
        for (j, s) in by_column.iter().enumerate() {
            let column: Vec<f64> = (0..rows).map(|i| data[i * cols + j]).collect();
            let expected = Stats::of_slice(&column);
            assert_eq!(s.count(), expected.count());
            assert!((s.mean() - expected.mean()).abs() < 1e-12);
            assert!((s.variance(0) - expected.variance(0)).abs() < 1e-9);
            assert_eq!((s.min(), s.max()), (expected.min(), expected.max()));
        }
        let by_row = stats_along(m, Axis::Rows).unwrap();
        assert_eq!(by_row.len(), rows);
        let row3 = Stats::of_slice(&data[3 * cols..4 * cols]);
        assert!((by_row[3].mean() - row3.mean()).abs() < 1e-12);
        let all = stats_of_view2d(m).unwrap();
        assert!((all.sum() - Stats::of_slice(&data).sum()).abs() < 1e-9);
    }

    proptest! {
        /// Exact oracle from 128-bit sums of deviations from `base`; spreads both below and
        /// above 2^31 take the one-pass and the two-pass integer paths.
        #[test]
        fn integer_m2_matches_exact_arithmetic(
            base in -(1i64 << 62)..(1i64 << 62),
            spread_bits in 0u32..40,
            deltas in proptest::collection::vec(any::<i64>(), 1..20_000),
        ) {
            let xs: Vec<i64> = deltas.iter().map(|d| base + (d >> (63 - spread_bits))).collect();
            let n = xs.len() as i128;
            let (s1, s2) = xs.iter().fold((0i128, 0i128), |(a, b), &x| {
                let d = (x - base) as i128;
                (a + d, b + d * d)
            });
            let exact = (n * s2 - s1 * s1) as f64 / (n * n) as f64;
            let s = Stats::of_view(View::I64(Strided::from_slice(&xs))).unwrap();
            prop_assert!((s.variance(0) - exact).abs() <= 1e-12 * exact + 1e-12,
                "{} vs {exact}", s.variance(0));
            prop_assert_eq!(s.exact.map(|e| e.sum), Some(xs.iter().map(|&x| x as i128).sum()));
        }

        #[test]
        fn merge_of_parts_equals_whole(
            xs in proptest::collection::vec(prop_oneof![-1e6f64..1e6, Just(f64::NAN)], 0..3000),
            cut in 0usize..3000,
        ) {
            let cut = cut.min(xs.len());
            let whole = Stats::of_slice(&xs);
            let mut merged = Stats::of_slice(&xs[..cut]);
            merged.merge(&Stats::of_slice(&xs[cut..]));
            prop_assert_eq!(merged.count(), whole.count());
            prop_assert_eq!(merged.nan_count(), whole.nan_count());
            let (n, _, mean, var) = naive(&xs);
            prop_assert_eq!(n, whole.count());
            if n > 0 {
                let scale = 1e-9 * (1.0 + mean.abs() + var.sqrt());
                prop_assert!((merged.mean() - mean).abs() <= scale);
                prop_assert!((merged.variance(0) - var).abs() <= 1e-9 * (1.0 + var));
                prop_assert_eq!(merged.min(), whole.min());
                prop_assert_eq!(merged.max(), whole.max());
            }
        }
    }
}
