//! The SIMD passes behind the statistics: column-wise (`float`, `int`) and row-major
//! stripes (`float_rows`, `int_rows`). (Not named `f64`: a module of that name would
//! shadow the primitive type wherever it is in scope.)

pub(crate) mod float;
pub(crate) mod float_rows;
pub(crate) mod int;
pub(crate) mod int_rows;

/// Knuth's two-sum: `a + b` rounded, and the rounding error of that addition, exactly.
/// (The sums of the statistics are carried as such hi + lo pairs.)
#[inline(always)]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bp = s - a;
    (s, (a - (s - bp)) + (b - bp))
}

/// `two_sum` on four lanes at once.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) fn two_sum_avx2(
    a: std::arch::x86_64::__m256d,
    b: std::arch::x86_64::__m256d,
) -> (std::arch::x86_64::__m256d, std::arch::x86_64::__m256d) {
    use std::arch::x86_64::{_mm256_add_pd, _mm256_sub_pd};
    let s = _mm256_add_pd(a, b);
    let bp = _mm256_sub_pd(s, a);
    let error = _mm256_add_pd(_mm256_sub_pd(a, _mm256_sub_pd(s, bp)), _mm256_sub_pd(b, bp));
    (s, error)
}
