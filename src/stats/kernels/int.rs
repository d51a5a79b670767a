//! The passes of the integer statistics kernel, written once portably and once with AVX2
//! intrinsics: compilers turn the portable lane-wise min/max of i64 into slow gathers,
//! and AVX2 has no 64-bit min/max instruction to find on its own. The first pass is
//! usually the only one: the second runs only for blocks whose values span more than
//! 32 bits.

/// 1.5 * 2^52: adding an integer below 2^51 in magnitude to its bit pattern gives a float
/// whose value minus this is the integer, a conversion that vectorises (unlike i64 -> f64).
pub(crate) const MAGIC: f64 = 6_755_399_441_055_744.0;

/// One pass over a block: the wrapping sum, the min and max, and the wrapping sum of
/// `low32(x - pivot)^2` (the square of the difference's low 32 bits taken as signed).
/// When every `x - pivot` fits in 32 bits the last one is the exact sum of squared
/// deviations modulo 2^64, which gives M2 exactly without a second pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FirstPass {
    pub wrapped_sum: i64,
    pub min: i64,
    pub max: i64,
    pub wrapped_squares: u64,
}

pub(crate) fn first_pass(xs: &[i64], pivot: i64) -> FirstPass {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::runtime::cpu::has_avx2() {
            // SAFETY: the CPU supports AVX2, checked just above (runtime::cpu).
            return unsafe { avx2::first_pass(xs, pivot) };
        }
    }
    portable_first_pass(xs, pivot)
}

/// Sum of `(x - center - offset)^2`; every `x - center` must be below 2^51 in magnitude.
pub(crate) fn centered_m2(xs: &[i64], center: i64, offset: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::runtime::cpu::has_avx2() {
            // SAFETY: the CPU supports AVX2, checked just above (runtime::cpu).
            return unsafe { avx2::centered_m2(xs, center, offset) };
        }
    }
    portable_centered_m2(xs, center, offset)
}

#[inline(always)]
fn low32_square(x: i64, pivot: i64) -> u64 {
    let d = x.wrapping_sub(pivot) as i32 as i64;
    (d * d) as u64
}

fn portable_first_pass(xs: &[i64], pivot: i64) -> FirstPass {
    xs.iter().fold(
        FirstPass {
            wrapped_sum: 0,
            min: i64::MAX,
            max: i64::MIN,
            wrapped_squares: 0,
        },
        |p, &x| FirstPass {
            wrapped_sum: p.wrapped_sum.wrapping_add(x),
            min: p.min.min(x),
            max: p.max.max(x),
            wrapped_squares: p.wrapped_squares.wrapping_add(low32_square(x, pivot)),
        },
    )
}

#[inline(always)]
pub(crate) fn small_to_f64(d: i64) -> f64 {
    f64::from_bits((d as u64).wrapping_add(MAGIC.to_bits())) - MAGIC
}

fn portable_centered_m2(xs: &[i64], center: i64, offset: f64) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            let e = small_to_f64(chunk[lane].wrapping_sub(center)) - offset;
            acc[lane] += e * e;
        }
    }
    let tail_sum: f64 = tail
        .iter()
        .map(|&v| {
            let e = small_to_f64(v.wrapping_sub(center)) - offset;
            e * e
        })
        .sum();
    acc.iter().sum::<f64>() + tail_sum
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Two vectors per step, so each accumulator's dependency chain has room to overlap.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn first_pass(xs: &[i64], pivot: i64) -> super::FirstPass {
        let chunks = xs.chunks_exact(8);
        let tail = chunks.remainder();
        let pivots = _mm256_set1_epi64x(pivot);
        let (mut s0, mut s1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let (mut q0, mut q1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let (mut lo0, mut lo1) = (_mm256_set1_epi64x(i64::MAX), _mm256_set1_epi64x(i64::MAX));
        let (mut hi0, mut hi1) = (_mm256_set1_epi64x(i64::MIN), _mm256_set1_epi64x(i64::MIN));
        for chunk in chunks {
            let p = chunk.as_ptr() as *const __m256i;
            // SAFETY: the chunk holds 8 i64, read unaligned as two 256-bit vectors.
            let (a, b) = unsafe { (_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1))) };
            s0 = _mm256_add_epi64(s0, a);
            s1 = _mm256_add_epi64(s1, b);
            lo0 = _mm256_blendv_epi8(lo0, a, _mm256_cmpgt_epi64(lo0, a));
            lo1 = _mm256_blendv_epi8(lo1, b, _mm256_cmpgt_epi64(lo1, b));
            hi0 = _mm256_blendv_epi8(hi0, a, _mm256_cmpgt_epi64(a, hi0));
            hi1 = _mm256_blendv_epi8(hi1, b, _mm256_cmpgt_epi64(b, hi1));
            // vpmuldq: the signed low 32 bits of each lane squared into 64 bits.
            let (da, db) = (_mm256_sub_epi64(a, pivots), _mm256_sub_epi64(b, pivots));
            q0 = _mm256_add_epi64(q0, _mm256_mul_epi32(da, da));
            q1 = _mm256_add_epi64(q1, _mm256_mul_epi32(db, db));
        }
        let lanes = |v: __m256i| -> [i64; 4] {
            let mut out = [0i64; 4];
            // SAFETY: `out` has room for one 256-bit vector.
            unsafe { _mm256_storeu_si256(out.as_mut_ptr() as *mut __m256i, v) };
            out
        };
        let both = |x: __m256i, y: __m256i| lanes(x).into_iter().chain(lanes(y));
        let rest = super::portable_first_pass(tail, pivot);
        super::FirstPass {
            wrapped_sum: both(s0, s1).fold(rest.wrapped_sum, i64::wrapping_add),
            min: both(lo0, lo1).fold(rest.min, i64::min),
            max: both(hi0, hi1).fold(rest.max, i64::max),
            wrapped_squares: both(q0, q1)
                .map(|q| q as u64)
                .fold(rest.wrapped_squares, u64::wrapping_add),
        }
    }

    #[target_feature(enable = "avx2", enable = "fma")]
    pub(super) unsafe fn centered_m2(xs: &[i64], center: i64, offset: f64) -> f64 {
        let chunks = xs.chunks_exact(16);
        let tail = chunks.remainder();
        let magic_bits = _mm256_set1_epi64x(super::MAGIC.to_bits() as i64);
        let magic = _mm256_set1_pd(super::MAGIC);
        let shift = _mm256_set1_epi64x(center);
        let offset_v = _mm256_set1_pd(offset);
        let mut acc = [_mm256_setzero_pd(); 4];
        for chunk in chunks {
            let p = chunk.as_ptr() as *const __m256i;
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: the chunk holds 16 i64, read as four 256-bit vectors.
                let x = unsafe { _mm256_loadu_si256(p.add(k)) };
                let d = _mm256_sub_epi64(x, shift);
                let f = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(d, magic_bits)), magic);
                let e = _mm256_sub_pd(f, offset_v);
                *a = _mm256_fmadd_pd(e, e, *a);
            }
        }
        let mut out = [0.0f64; 4];
        let total = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        // SAFETY: `out` has room for one 256-bit vector.
        unsafe { _mm256_storeu_pd(out.as_mut_ptr(), total) };
        out.iter().sum::<f64>() + super::portable_centered_m2(tail, center, offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dispatched_passes_match_portable(
            xs in proptest::collection::vec(-(1i64 << 50)..(1i64 << 50), 1..300),
            center in -1000i64..1000,
        ) {
            prop_assert_eq!(first_pass(&xs, center), portable_first_pass(&xs, center));
            let fast = centered_m2(&xs, center, 0.25);
            let slow = portable_centered_m2(&xs, center, 0.25);
            prop_assert!((fast - slow).abs() <= 1e-12 * slow.abs());
        }

        #[test]
        fn first_pass_handles_extremes(
            xs in proptest::collection::vec(any::<i64>(), 1..100),
            pivot in any::<i64>(),
        ) {
            let sum = xs.iter().fold(0i64, |s, &x| s.wrapping_add(x));
            let squares = xs.iter().fold(0u64, |s, &x| {
                let d = x.wrapping_sub(pivot) as i32 as i128;
                s.wrapping_add((d * d) as u64)
            });
            let p = first_pass(&xs, pivot);
            prop_assert_eq!(p.wrapped_sum, sum);
            prop_assert_eq!(p.min, *xs.iter().min().unwrap());
            prop_assert_eq!(p.max, *xs.iter().max().unwrap());
            prop_assert_eq!(p.wrapped_squares, squares);
        }
    }
}
