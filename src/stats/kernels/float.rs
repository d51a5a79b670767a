//! The two passes of the float64 statistics block kernel, portable and with AVX2
//! intrinsics. Left to itself the compiler keeps the portable lanes in 128-bit registers
//! and spills them to the stack; written out, a block runs near memory speed.

/// Values per step: two 256-bit vectors, so each dependency chain has room to overlap.
pub(crate) const LANES: usize = 8;

/// Per-lane compensated sums and the NaN count, min and max of a block's first pass.
pub(crate) struct FirstPass {
    pub hi: [f64; LANES],
    pub lo: [f64; LANES],
    pub nans: u64,
    pub min: f64,
    pub max: f64,
}

/// First pass over `xs` (a multiple of `LANES` long): per-lane two-sums of the non-NaN
/// values, NaN count, min and max ignoring NaN.
pub(crate) fn first_pass(xs: &[f64]) -> FirstPass {
    debug_assert_eq!(xs.len() % LANES, 0);
    #[cfg(target_arch = "x86_64")]
    {
        if crate::runtime::cpu::has_avx2() {
            // SAFETY: the CPU supports AVX2, checked just above (runtime::cpu).
            return unsafe { avx2::first_pass(xs) };
        }
    }
    portable_first_pass(xs)
}

/// Sum of `(x - mean)^2` over the non-NaN `x`.
pub(crate) fn squared_deviations(xs: &[f64], mean: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::runtime::cpu::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above (runtime::cpu).
            return unsafe { avx2::squared_deviations(xs, mean) };
        }
    }
    portable_squared_deviations(xs, mean)
}

fn portable_first_pass(xs: &[f64]) -> FirstPass {
    let mut hi = [0.0f64; LANES];
    let mut lo = [0.0f64; LANES];
    let mut nans = 0u64;
    let mut min = [f64::INFINITY; LANES];
    let mut max = [f64::NEG_INFINITY; LANES];
    for chunk in xs.chunks_exact(LANES) {
        for lane in 0..LANES {
            let x = chunk[lane];
            let v = if x.is_nan() { 0.0 } else { x };
            let (s, error) = super::two_sum(hi[lane], v);
            lo[lane] += error;
            hi[lane] = s;
            nans += x.is_nan() as u64;
            // Comparisons with NaN are false, so NaN never becomes the min or max.
            min[lane] = if x < min[lane] { x } else { min[lane] };
            max[lane] = if x > max[lane] { x } else { max[lane] };
        }
    }
    FirstPass {
        hi,
        lo,
        nans,
        min: min.into_iter().fold(f64::INFINITY, f64::min),
        max: max.into_iter().fold(f64::NEG_INFINITY, f64::max),
    }
}

fn portable_squared_deviations(xs: &[f64], mean: f64) -> f64 {
    xs.iter()
        .map(|&x| {
            let d = x - mean;
            if d.is_nan() {
                0.0
            } else {
                d * d
            }
        })
        .sum()
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{FirstPass, LANES};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn first_pass(xs: &[f64]) -> FirstPass {
        let mut hi = [_mm256_setzero_pd(); 2];
        let mut lo = [_mm256_setzero_pd(); 2];
        let mut nans = [_mm256_setzero_si256(); 2];
        let mut min = [_mm256_set1_pd(f64::INFINITY); 2];
        let mut max = [_mm256_set1_pd(f64::NEG_INFINITY); 2];
        for chunk in xs.chunks_exact(LANES) {
            for k in 0..2 {
                // SAFETY: the chunk holds 8 doubles, read as two unaligned vectors.
                let x = unsafe { _mm256_loadu_pd(chunk.as_ptr().add(4 * k)) };
                let is_nan = _mm256_cmp_pd::<_CMP_UNORD_Q>(x, x);
                let v = _mm256_andnot_pd(is_nan, x);
                let (s, error) = super::super::two_sum_avx2(hi[k], v);
                lo[k] = _mm256_add_pd(lo[k], error);
                hi[k] = s;
                // An all-ones mask is -1: subtracting it counts the NaN.
                nans[k] = _mm256_sub_epi64(nans[k], _mm256_castpd_si256(is_nan));
                // min/max return the second operand when the first is NaN.
                min[k] = _mm256_min_pd(x, min[k]);
                max[k] = _mm256_max_pd(x, max[k]);
            }
        }
        let doubles = |v: [__m256d; 2]| -> [f64; LANES] {
            let mut out = [0.0f64; LANES];
            // SAFETY: `out` has room for two 256-bit vectors.
            unsafe {
                _mm256_storeu_pd(out.as_mut_ptr(), v[0]);
                _mm256_storeu_pd(out.as_mut_ptr().add(4), v[1]);
            }
            out
        };
        let mut counts = [0u64; LANES];
        // SAFETY: `counts` has room for two 256-bit vectors.
        unsafe {
            _mm256_storeu_si256(counts.as_mut_ptr() as *mut __m256i, nans[0]);
            _mm256_storeu_si256(counts.as_mut_ptr().add(4) as *mut __m256i, nans[1]);
        }
        FirstPass {
            hi: doubles(hi),
            lo: doubles(lo),
            nans: counts.iter().sum(),
            min: doubles(min).into_iter().fold(f64::INFINITY, f64::min),
            max: doubles(max).into_iter().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    #[target_feature(enable = "avx2", enable = "fma")]
    pub(super) unsafe fn squared_deviations(xs: &[f64], mean: f64) -> f64 {
        let chunks = xs.chunks_exact(16);
        let tail = chunks.remainder();
        let means = _mm256_set1_pd(mean);
        let mut acc = [_mm256_setzero_pd(); 4];
        for chunk in chunks {
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: the chunk holds 16 doubles, read as four unaligned vectors.
                let x = unsafe { _mm256_loadu_pd(chunk.as_ptr().add(4 * k)) };
                let d = _mm256_sub_pd(x, means);
                let d = _mm256_and_pd(d, _mm256_cmp_pd::<_CMP_ORD_Q>(d, d));
                *a = _mm256_fmadd_pd(d, d, *a);
            }
        }
        let total = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        let mut out = [0.0f64; 4];
        // SAFETY: `out` has room for one 256-bit vector.
        unsafe { _mm256_storeu_pd(out.as_mut_ptr(), total) };
        out.iter().sum::<f64>() + super::portable_squared_deviations(tail, mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1e6f64..1e6,
            Just(f64::NAN),
            Just(-0.0),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            any::<f64>(),
        ]
    }

    proptest! {
        #[test]
        fn dispatched_first_pass_matches_portable(
            xs in proptest::collection::vec(value(), 0..40).prop_map(|mut v| {
                v.truncate(v.len() / LANES * LANES);
                v
            })
        ) {
            let (a, b) = (first_pass(&xs), portable_first_pass(&xs));
            for lane in 0..LANES {
                prop_assert!(a.hi[lane].to_bits() == b.hi[lane].to_bits()
                    || (a.hi[lane].is_nan() && b.hi[lane].is_nan()));
                prop_assert!(a.lo[lane].to_bits() == b.lo[lane].to_bits()
                    || (a.lo[lane].is_nan() && b.lo[lane].is_nan()));
            }
            prop_assert_eq!(a.nans, b.nans);
            prop_assert_eq!(a.min.to_bits(), b.min.to_bits());
            prop_assert_eq!(a.max.to_bits(), b.max.to_bits());
        }

        #[test]
        fn dispatched_squared_deviations_match_portable(
            xs in proptest::collection::vec(prop_oneof![-1e6f64..1e6, Just(f64::NAN)], 0..100),
            mean in -1e3f64..1e3,
        ) {
            let (a, b) = (squared_deviations(&xs, mean), portable_squared_deviations(&xs, mean));
            prop_assert!((a - b).abs() <= 1e-12 * b.abs());
        }
    }
}
