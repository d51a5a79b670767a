//! The two passes of the float64 statistics kernel over a row-major block (all columns of
//! a run of rows, contiguous), without transposing it. float32 data is widened on load.
//!
//! The block is read as a flat array in stripes of `stripe` values, a multiple of both
//! the column count and the vector width, so the value at position `p` of every stripe
//! belongs to column `p % cols` and each position keeps its own accumulators. The first
//! pass has no NaN test: a NaN or an infinity leaves its position's sum non-finite, and
//! the caller then recomputes that column by the general kernel.

use crate::array::Widen;

/// Values per vector.
const WIDTH: usize = 4;

/// Shortest stripe: four vectors, so the accumulators' dependency chains overlap.
const MIN_STRIPE: usize = 4 * WIDTH;
/// Longest stripe: its accumulators (4 x 512 doubles, 16 KiB) still share L1 with data.
pub(crate) const MAX_STRIPE: usize = 512;

/// Values per stripe for `cols` columns, or `None` when the stripe would be too long.
pub(crate) fn stripe_len(cols: usize) -> Option<usize> {
    if cols == 0 {
        return None;
    }
    let base = cols / gcd(cols, WIDTH) * WIDTH;
    let stripe = base * MIN_STRIPE.div_ceil(base);
    (stripe <= MAX_STRIPE).then_some(stripe)
}

/// `(first, len)` of consecutive groups of at most `size` vectors covering `vectors`:
/// the SIMD passes walk a block once per group, with its accumulators in registers.
pub(crate) fn groups(vectors: usize, size: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..vectors)
        .step_by(size)
        .map(move |first| (first, size.min(vectors - first)))
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Per-position sums (as hi + lo two-sums), minima and maxima of the first pass.
pub(crate) struct StripeSums {
    pub hi: Vec<f64>,
    pub lo: Vec<f64>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
}

/// First pass over `xs` (a whole number of stripes).
pub(crate) fn first_pass<T: Widen>(xs: &[T], stripe: usize) -> StripeSums {
    debug_assert!(
        stripe <= MAX_STRIPE && stripe.is_multiple_of(WIDTH) && xs.len().is_multiple_of(stripe)
    );
    let mut sums = StripeSums {
        hi: vec![0.0; stripe],
        lo: vec![0.0; stripe],
        min: vec![f64::INFINITY; stripe],
        max: vec![f64::NEG_INFINITY; stripe],
    };
    #[cfg(target_arch = "x86_64")]
    {
        if crate::runtime::cpu::has_avx2() {
            // SAFETY: the CPU supports AVX2, checked just above (runtime::cpu).
            unsafe { avx2::first_pass(xs, stripe, &mut sums) };
            return sums;
        }
    }
    portable_first_pass(xs, stripe, &mut sums);
    sums
}

/// Per-position sums of `(x - means[p])^2` over `xs` (a whole number of stripes).
pub(crate) fn squared_deviations<T: Widen>(xs: &[T], means: &[f64]) -> Vec<f64> {
    let stripe = means.len();
    debug_assert!(
        stripe <= MAX_STRIPE && stripe.is_multiple_of(WIDTH) && xs.len().is_multiple_of(stripe)
    );
    #[cfg(target_arch = "x86_64")]
    {
        if crate::runtime::cpu::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above (runtime::cpu).
            return unsafe { avx2::squared_deviations(xs, means) };
        }
    }
    portable_squared_deviations(xs, means)
}

fn portable_first_pass<T: Widen>(xs: &[T], stripe: usize, sums: &mut StripeSums) {
    for row in xs.chunks_exact(stripe) {
        for (p, &x) in row.iter().enumerate() {
            let x = x.widen();
            let (s, e) = super::two_sum(sums.hi[p], x);
            sums.hi[p] = s;
            sums.lo[p] += e;
            // Comparisons with NaN are false: NaN never becomes the min or max.
            sums.min[p] = if x < sums.min[p] { x } else { sums.min[p] };
            sums.max[p] = if x > sums.max[p] { x } else { sums.max[p] };
        }
    }
}

fn portable_squared_deviations<T: Widen>(xs: &[T], means: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; means.len()];
    for row in xs.chunks_exact(means.len()) {
        for ((o, &x), &m) in out.iter_mut().zip(row).zip(means) {
            let x = x.widen();
            *o += (x - m) * (x - m);
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! A stripe's accumulators can outnumber the 16 vector registers, and accumulators
    //! kept in memory make every update wait for the previous store. So each pass walks
    //! the block once per group of a few vectors of the stripe, with that group's
    //! accumulators in registers; the first walk brings the block into cache.
    use super::{groups, StripeSums, Widen, WIDTH};
    use std::arch::x86_64::*;

    /// Vectors per group of the first pass: 4 accumulators each, 12 registers.
    const FIRST_GROUP: usize = 3;
    /// Vectors per group of the second pass: a mean and an accumulator each.
    const SECOND_GROUP: usize = 6;

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn first_pass<T: Widen>(xs: &[T], stripe: usize, sums: &mut StripeSums) {
        let vectors = stripe / WIDTH;
        for (first, len) in groups(vectors, FIRST_GROUP) {
            // SAFETY: (all four calls) AVX2 is enabled here; first + G <= vectors.
            unsafe {
                match len {
                    1 => first_pass_group::<T, 1>(xs, stripe, first, sums),
                    2 => first_pass_group::<T, 2>(xs, stripe, first, sums),
                    _ => first_pass_group::<T, FIRST_GROUP>(xs, stripe, first, sums),
                }
            }
        }
    }

    /// The first pass for vectors `first..first + G` of each stripe.
    #[target_feature(enable = "avx2")]
    unsafe fn first_pass_group<T: Widen, const G: usize>(
        xs: &[T],
        stripe: usize,
        first: usize,
        sums: &mut StripeSums,
    ) {
        assert!(WIDTH * (first + G) <= stripe && sums.hi.len() == stripe);
        let mut hi = [_mm256_setzero_pd(); G];
        let mut lo = [_mm256_setzero_pd(); G];
        let mut min = [_mm256_set1_pd(f64::INFINITY); G];
        let mut max = [_mm256_set1_pd(f64::NEG_INFINITY); G];
        for row in xs.chunks_exact(stripe) {
            for k in 0..G {
                // SAFETY: first + k < stripe / 4, inside this stripe.
                let x = unsafe { T::load4(row.as_ptr().add(WIDTH * (first + k))) };
                let (s, error) = super::super::two_sum_avx2(hi[k], x);
                lo[k] = _mm256_add_pd(lo[k], error);
                hi[k] = s;
                // min/max return the second operand when the first is NaN.
                min[k] = _mm256_min_pd(x, min[k]);
                max[k] = _mm256_max_pd(x, max[k]);
            }
        }
        for k in 0..G {
            let at = WIDTH * (first + k);
            // SAFETY: each output holds `stripe` doubles and at + 4 <= stripe.
            unsafe {
                _mm256_storeu_pd(sums.hi.as_mut_ptr().add(at), hi[k]);
                _mm256_storeu_pd(sums.lo.as_mut_ptr().add(at), lo[k]);
                _mm256_storeu_pd(sums.min.as_mut_ptr().add(at), min[k]);
                _mm256_storeu_pd(sums.max.as_mut_ptr().add(at), max[k]);
            }
        }
    }

    #[target_feature(enable = "avx2", enable = "fma")]
    pub(super) unsafe fn squared_deviations<T: Widen>(xs: &[T], means: &[f64]) -> Vec<f64> {
        let vectors = means.len() / WIDTH;
        let mut out = vec![0.0; means.len()];
        for (first, len) in groups(vectors, SECOND_GROUP) {
            // SAFETY: (all calls) AVX2 and FMA are enabled here; first + G <= vectors.
            unsafe {
                match len {
                    1 => deviations_group::<T, 1>(xs, means, first, &mut out),
                    2 => deviations_group::<T, 2>(xs, means, first, &mut out),
                    3 => deviations_group::<T, 3>(xs, means, first, &mut out),
                    4 => deviations_group::<T, 4>(xs, means, first, &mut out),
                    5 => deviations_group::<T, 5>(xs, means, first, &mut out),
                    _ => deviations_group::<T, SECOND_GROUP>(xs, means, first, &mut out),
                }
            }
        }
        out
    }

    /// The second pass for vectors `first..first + G` of each stripe.
    #[target_feature(enable = "avx2", enable = "fma")]
    unsafe fn deviations_group<T: Widen, const G: usize>(
        xs: &[T],
        means: &[f64],
        first: usize,
        out: &mut [f64],
    ) {
        let stripe = means.len();
        assert!(WIDTH * (first + G) <= stripe && out.len() == stripe);
        let mut centre = [_mm256_setzero_pd(); G];
        let mut acc = [_mm256_setzero_pd(); G];
        for (k, c) in centre.iter_mut().enumerate() {
            // SAFETY: `means` holds `stripe` doubles and 4 * (first + k) + 4 <= stripe.
            *c = unsafe { _mm256_loadu_pd(means.as_ptr().add(WIDTH * (first + k))) };
        }
        for row in xs.chunks_exact(stripe) {
            for k in 0..G {
                // SAFETY: first + k < stripe / 4, inside this stripe.
                let x = unsafe { T::load4(row.as_ptr().add(WIDTH * (first + k))) };
                let d = _mm256_sub_pd(x, centre[k]);
                acc[k] = _mm256_fmadd_pd(d, d, acc[k]);
            }
        }
        for (k, a) in acc.iter().enumerate() {
            // SAFETY: `out` holds `stripe` doubles and 4 * (first + k) + 4 <= stripe.
            unsafe { _mm256_storeu_pd(out.as_mut_ptr().add(WIDTH * (first + k)), *a) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stripes_hold_whole_rows_and_whole_vectors() {
        for cols in 1..200 {
            if let Some(stripe) = stripe_len(cols) {
                assert_eq!(stripe % cols, 0, "{cols}");
                assert_eq!(stripe % WIDTH, 0, "{cols}");
                assert!((MIN_STRIPE..=MAX_STRIPE).contains(&stripe), "{cols}");
            } else {
                assert!(cols / gcd(cols, WIDTH) * WIDTH > MAX_STRIPE, "{cols}");
            }
        }
        assert_eq!(stripe_len(10), Some(20));
        assert_eq!(stripe_len(1), Some(16));
        assert_eq!(stripe_len(0), None);
    }

    proptest! {
        #[test]
        fn dispatched_passes_match_portable(
            cols in 1usize..40,
            stripes in 0usize..6,
            seed in proptest::collection::vec(
                prop_oneof![-1e6f64..1e6, Just(-0.0), Just(f64::NAN), Just(f64::INFINITY), any::<f64>()],
                1..64,
            ),
        ) {
            let Some(stripe) = stripe_len(cols) else { return Ok(()) };
            let xs: Vec<f64> = (0..stripe * stripes).map(|i| seed[i % seed.len()] * (1.0 + i as f64)).collect();
            let fast = first_pass(&xs, stripe);
            let mut slow = StripeSums {
                hi: vec![0.0; stripe],
                lo: vec![0.0; stripe],
                min: vec![f64::INFINITY; stripe],
                max: vec![f64::NEG_INFINITY; stripe],
            };
            portable_first_pass(&xs, stripe, &mut slow);
            let mut slow32 = StripeSums {
                hi: vec![0.0; stripe],
                lo: vec![0.0; stripe],
                min: vec![f64::INFINITY; stripe],
                max: vec![f64::NEG_INFINITY; stripe],
            };
            let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
            prop_assert!(same(&fast.hi, &slow.hi));
            prop_assert!(same(&fast.lo, &slow.lo));
            prop_assert!(same(&fast.min, &slow.min));
            prop_assert!(same(&fast.max, &slow.max));
            let narrow: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
            let fast32 = first_pass(&narrow, stripe);
            portable_first_pass(&narrow, stripe, &mut slow32);
            prop_assert!(same(&fast32.hi, &slow32.hi) && same(&fast32.lo, &slow32.lo));
            prop_assert!(same(&fast32.min, &slow32.min) && same(&fast32.max, &slow32.max));
            let means: Vec<f64> = (0..stripe).map(|p| p as f64 * 0.5).collect();
            let (a, b) = (squared_deviations(&xs, &means), portable_squared_deviations(&xs, &means));
            for (x, y) in a.iter().zip(&b) {
                prop_assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-12 * y.abs());
            }
        }
    }
}
