//! The two passes of the int64 statistics kernel over a row-major block, without
//! transposing it: the stripe layout of `f64_rows_simd` (position `p` of each stripe
//! belongs to column `p % cols`) with the integer arithmetic of `int_simd`.

use crate::stats::kernels::float_rows::{groups, MAX_STRIPE};
use crate::stats::kernels::int::small_to_f64;

/// Values per vector.
const WIDTH: usize = 4;
/// Per-position wrapping sums, minima and maxima of the first pass.
pub(crate) struct StripeInts {
    pub wrapped_sum: Vec<i64>,
    pub min: Vec<i64>,
    pub max: Vec<i64>,
}

/// First pass over `xs` (a whole number of stripes of `stripe` values).
pub(crate) fn first_pass(xs: &[i64], stripe: usize) -> StripeInts {
    debug_assert!(
        stripe <= MAX_STRIPE && stripe.is_multiple_of(WIDTH) && xs.len().is_multiple_of(stripe)
    );
    let mut sums = StripeInts {
        wrapped_sum: vec![0; stripe],
        min: vec![i64::MAX; stripe],
        max: vec![i64::MIN; stripe],
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

/// Per-position sums of `(x - centres[p])^2`, each difference converted exactly; the
/// caller guarantees every difference is below 2^51 in magnitude.
pub(crate) fn centred_squares(xs: &[i64], centres: &[i64]) -> Vec<f64> {
    let stripe = centres.len();
    debug_assert!(
        stripe <= MAX_STRIPE && stripe.is_multiple_of(WIDTH) && xs.len().is_multiple_of(stripe)
    );
    #[cfg(target_arch = "x86_64")]
    {
        if crate::runtime::cpu::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above (runtime::cpu).
            return unsafe { avx2::centred_squares(xs, centres) };
        }
    }
    portable_centred_squares(xs, centres)
}

fn portable_first_pass(xs: &[i64], stripe: usize, sums: &mut StripeInts) {
    for row in xs.chunks_exact(stripe) {
        for (p, &x) in row.iter().enumerate() {
            sums.wrapped_sum[p] = sums.wrapped_sum[p].wrapping_add(x);
            sums.min[p] = sums.min[p].min(x);
            sums.max[p] = sums.max[p].max(x);
        }
    }
}

fn portable_centred_squares(xs: &[i64], centres: &[i64]) -> Vec<f64> {
    let mut out = vec![0.0; centres.len()];
    for row in xs.chunks_exact(centres.len()) {
        for ((o, &x), &c) in out.iter_mut().zip(row).zip(centres) {
            let d = small_to_f64(x.wrapping_sub(c));
            *o += d * d;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! As in `f64_rows_simd`: one walk over the block per group of a few vectors of the
    //! stripe, with the group's accumulators in registers.
    use super::{groups, StripeInts, WIDTH};
    use crate::stats::kernels::int::MAGIC;
    use std::arch::x86_64::*;

    /// Vectors per group of the first pass: 3 accumulators each, 12 registers.
    const FIRST_GROUP: usize = 4;
    /// Vectors per group of the second pass: a centre and an accumulator each.
    const SECOND_GROUP: usize = 5;

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn first_pass(xs: &[i64], stripe: usize, sums: &mut StripeInts) {
        let vectors = stripe / WIDTH;
        for (first, len) in groups(vectors, FIRST_GROUP) {
            // SAFETY: (all calls) AVX2 is enabled here; first + G <= vectors.
            unsafe {
                match len {
                    1 => first_pass_group::<1>(xs, stripe, first, sums),
                    2 => first_pass_group::<2>(xs, stripe, first, sums),
                    3 => first_pass_group::<3>(xs, stripe, first, sums),
                    _ => first_pass_group::<FIRST_GROUP>(xs, stripe, first, sums),
                }
            }
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn first_pass_group<const G: usize>(
        xs: &[i64],
        stripe: usize,
        first: usize,
        sums: &mut StripeInts,
    ) {
        assert!(WIDTH * (first + G) <= stripe && sums.min.len() == stripe);
        let mut sum = [_mm256_setzero_si256(); G];
        let mut min = [_mm256_set1_epi64x(i64::MAX); G];
        let mut max = [_mm256_set1_epi64x(i64::MIN); G];
        for row in xs.chunks_exact(stripe) {
            for k in 0..G {
                // SAFETY: first + k < stripe / 4: four values inside this stripe.
                let x = unsafe {
                    _mm256_loadu_si256(row.as_ptr().add(WIDTH * (first + k)) as *const __m256i)
                };
                sum[k] = _mm256_add_epi64(sum[k], x);
                min[k] = _mm256_blendv_epi8(min[k], x, _mm256_cmpgt_epi64(min[k], x));
                max[k] = _mm256_blendv_epi8(max[k], x, _mm256_cmpgt_epi64(x, max[k]));
            }
        }
        for k in 0..G {
            let at = WIDTH * (first + k);
            // SAFETY: each output holds `stripe` values and at + 4 <= stripe.
            unsafe {
                let store = |out: &mut Vec<i64>, v| {
                    _mm256_storeu_si256(out.as_mut_ptr().add(at) as *mut __m256i, v)
                };
                store(&mut sums.wrapped_sum, sum[k]);
                store(&mut sums.min, min[k]);
                store(&mut sums.max, max[k]);
            }
        }
    }

    #[target_feature(enable = "avx2", enable = "fma")]
    pub(super) unsafe fn centred_squares(xs: &[i64], centres: &[i64]) -> Vec<f64> {
        let vectors = centres.len() / WIDTH;
        let mut out = vec![0.0; centres.len()];
        for (first, len) in groups(vectors, SECOND_GROUP) {
            // SAFETY: (all calls) AVX2 and FMA are enabled here; first + G <= vectors.
            unsafe {
                match len {
                    1 => squares_group::<1>(xs, centres, first, &mut out),
                    2 => squares_group::<2>(xs, centres, first, &mut out),
                    3 => squares_group::<3>(xs, centres, first, &mut out),
                    4 => squares_group::<4>(xs, centres, first, &mut out),
                    _ => squares_group::<SECOND_GROUP>(xs, centres, first, &mut out),
                }
            }
        }
        out
    }

    #[target_feature(enable = "avx2", enable = "fma")]
    unsafe fn squares_group<const G: usize>(
        xs: &[i64],
        centres: &[i64],
        first: usize,
        out: &mut [f64],
    ) {
        let stripe = centres.len();
        assert!(WIDTH * (first + G) <= stripe && out.len() == stripe);
        let magic_bits = _mm256_set1_epi64x(MAGIC.to_bits() as i64);
        let magic = _mm256_set1_pd(MAGIC);
        let mut centre = [_mm256_setzero_si256(); G];
        let mut acc = [_mm256_setzero_pd(); G];
        for (k, c) in centre.iter_mut().enumerate() {
            // SAFETY: `centres` holds `stripe` values and 4 * (first + k) + 4 <= stripe.
            *c = unsafe {
                _mm256_loadu_si256(centres.as_ptr().add(WIDTH * (first + k)) as *const __m256i)
            };
        }
        for row in xs.chunks_exact(stripe) {
            for k in 0..G {
                // SAFETY: first + k < stripe / 4: four values inside this stripe.
                let x = unsafe {
                    _mm256_loadu_si256(row.as_ptr().add(WIDTH * (first + k)) as *const __m256i)
                };
                let d = _mm256_sub_epi64(x, centre[k]);
                let f = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(d, magic_bits)), magic);
                acc[k] = _mm256_fmadd_pd(f, f, acc[k]);
            }
        }
        for (k, a) in acc.iter().enumerate() {
            // SAFETY: `out` holds `stripe` values and 4 * (first + k) + 4 <= stripe.
            unsafe { _mm256_storeu_pd(out.as_mut_ptr().add(WIDTH * (first + k)), *a) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::kernels::float_rows::stripe_len;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dispatched_passes_match_portable(
            cols in 1usize..40,
            stripes in 0usize..6,
            seed in proptest::collection::vec(any::<i64>(), 1..64),
            small in proptest::collection::vec(-(1i64 << 50)..(1i64 << 50), 1..64),
        ) {
            let Some(stripe) = stripe_len(cols) else { return Ok(()) };
            let xs: Vec<i64> = (0..stripe * stripes).map(|i| seed[i % seed.len()]).collect();
            let fast = first_pass(&xs, stripe);
            let mut slow = StripeInts {
                wrapped_sum: vec![0; stripe],
                min: vec![i64::MAX; stripe],
                max: vec![i64::MIN; stripe],
            };
            portable_first_pass(&xs, stripe, &mut slow);
            prop_assert_eq!(&fast.wrapped_sum, &slow.wrapped_sum);
            prop_assert_eq!(&fast.min, &slow.min);
            prop_assert_eq!(&fast.max, &slow.max);
            let ys: Vec<i64> = (0..stripe * stripes).map(|i| small[i % small.len()]).collect();
            let centres: Vec<i64> = (0..stripe as i64).map(|p| p * 1000 - 7).collect();
            let (a, b) = (centred_squares(&ys, &centres), portable_centred_squares(&ys, &centres));
            for (x, y) in a.iter().zip(&b) {
                prop_assert!((x - y).abs() <= 1e-12 * y.abs(), "{} vs {}", x, y);
            }
        }
    }
}
