//! exp, expm1, log, log10 and log1p over blocks, four values at a time with AVX2 and FMA
//! when the CPU has them, and with the standard library's (the C library's) functions
//! otherwise.
//!
//! The vector kernels need no tables, so no gathers: logarithms split `x = 2^k (1 + f)`
//! with `1 + f` in `[sqrt(1/2), sqrt(2))` and use fdlibm's polynomial in
//! `s = f / (2 + f)` (log1p adds the rounding error `c` of `u = 1 + x` as `c / u`);
//! exponentials reduce `x = k ln2 + r` (Cody-Waite, two constants) with `|r| <= ln2 / 2`
//! and sum the Taylor series of `e^r` to `r^14`. The large terms are added in
//! double-double (Fast2Sum, exact FMA products), so only the final addition rounds at full
//! weight. Measured against correctly rounded results (millions of arguments across the
//! domains) the largest errors are 0.53 ulp (exp), 0.61 (expm1), 0.65 (log, log1p) and
//! 0.69 (log10); glibc's log10 is 1.52 ulp off at 0.56957, say. The IEEE special
//! cases (NaN, infinities, zeros and their sign, domain errors, overflow, underflow,
//! subnormal arguments) are exact, and a subnormal result of exp is rounded once.
//!
//! One concept in one file, longer than the others for it: the vector kernels, their
//! constants and their accuracy tests.

/// The functions with a vector kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Exp,
    Expm1,
    Log,
    Log10,
    Log1p,
}

impl Op {
    /// The standard library's function: the portable path.
    #[inline]
    pub(crate) fn portable(self, x: f64) -> f64 {
        match self {
            Op::Exp => x.exp(),
            Op::Expm1 => x.exp_m1(),
            Op::Log => x.ln(),
            Op::Log10 => x.log10(),
            Op::Log1p => x.ln_1p(),
        }
    }
}

/// Whether the vector kernels run on this CPU.
#[inline]
pub(crate) fn vectorised() -> bool {
    crate::runtime::cpu::has_avx2_fma()
}

/// `dst[i] = op(src[i])` for every `i` of the shorter of the two.
pub(crate) fn map(op: Op, dst: &mut [f64], src: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if vectorised() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            unsafe { avx2::map(op, dst, src) };
            return;
        }
    }
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = op.portable(x);
    }
}

/// `op(x)` for one value, by the same kernel as `map` (so a constant folded at compile
/// time equals the value computed over an array).
pub(crate) fn apply(op: Op, x: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if vectorised() {
            // SAFETY: the CPU supports AVX2 and FMA, checked just above.
            return unsafe { avx2::one(op, x) };
        }
    }
    op.portable(x)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Op;
    use std::arch::x86_64::*;

    // ln 2 = LN2_HI + LN2_LO: LN2_HI has 33 significant bits, so k * LN2_HI is exact for
    // every |k| < 2^20 (fdlibm's split).
    const LN2_HI: f64 = 0.6931471803691238;
    const LN2_LO: f64 = 1.9082149292705877e-10;
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    // 1 / ln 10 = INV_LN10_HI + INV_LN10_LO.
    const INV_LN10_HI: f64 = std::f64::consts::LOG10_E;
    const INV_LN10_LO: f64 = 1.098319650216765e-17;
    /// 1.5 * 2^52: adding it rounds to an integer, which lands in the low bits.
    const SHIFT: f64 = 6755399441055744.0;
    /// 2^52 + 1023: subtracted from the biased exponent placed in a double's mantissa.
    const EXPONENT_BIAS: f64 = 4503599627371519.0;
    const MIN_NORMAL: f64 = 2.2250738585072014e-308;
    const TWO54: f64 = 18014398509481984.0;
    /// Below this magnitude log1p(x) and expm1(x) round to x.
    const TINY: f64 = 5.551115123125783e-17; // 2^-54
    /// log1p's arguments with 1 + x in [sqrt(1/2), sqrt(2)): used as f directly.
    const SQRT_HALF_M1: f64 = -0.2928932188134525;
    const SQRT2_M1: f64 = 0.41421356237309503;

    /// fdlibm's log polynomial: log(1 + f) = 2s + s R(s^2), |error| < 2^-58.45.
    const LG: [f64; 7] = [
        0.6666666666666735,
        0.3999999999940942,
        0.2857142874366239,
        0.22222198432149784,
        0.1818357216161805,
        0.15313837699209373,
        0.14798198605116586,
    ];

    /// 1/3! ... 1/14!: e^r = 1 + r + r^2/2 + r^3 (1/3! + r/4! + ...); the remainder is
    /// below 2^-63 relative for |r| <= ln2 / 2.
    const EXP_TAYLOR: [f64; 12] = [
        0.16666666666666666,
        0.041666666666666664,
        0.008333333333333333,
        0.001388888888888889,
        0.0001984126984126984,
        2.48015873015873e-05,
        2.7557319223985893e-06,
        2.755731922398589e-07,
        2.505210838544172e-08,
        2.08767569878681e-09,
        1.6059043836821613e-10,
        1.1470745597729725e-11,
    ];

    /// Runs `op` over the block.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2", enable = "fma")]
    pub(super) unsafe fn map(op: Op, dst: &mut [f64], src: &[f64]) {
        match op {
            Op::Exp => map_exp(dst, src),
            Op::Expm1 => map_expm1(dst, src),
            Op::Log => map_log(dst, src),
            Op::Log10 => map_log10(dst, src),
            Op::Log1p => map_log1p(dst, src),
        }
    }

    /// `op(x)` in the first lane.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[target_feature(enable = "avx2", enable = "fma")]
    pub(super) unsafe fn one(op: Op, x: f64) -> f64 {
        let v = _mm256_set1_pd(x);
        let y = match op {
            Op::Exp => exp(v),
            Op::Expm1 => expm1(v),
            Op::Log => log(v),
            Op::Log10 => log10(v),
            Op::Log1p => log1p(v),
        };
        _mm256_cvtsd_f64(y)
    }

    macro_rules! block {
        ($name:ident, $kernel:ident) => {
            #[target_feature(enable = "avx2", enable = "fma")]
            fn $name(dst: &mut [f64], src: &[f64]) {
                let n = dst.len().min(src.len());
                let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
                let mut i = 0;
                while i + 4 <= n {
                    // SAFETY: i + 4 <= n, so the four values read from `src` and written
                    // to `dst` are inside both slices.
                    unsafe { _mm256_storeu_pd(d.add(i), $kernel(_mm256_loadu_pd(s.add(i)))) };
                    i += 4;
                }
                if i < n {
                    // The ragged end, padded with 1.0, an ordinary argument of every
                    // kernel (so the padding never takes a slow path).
                    let mut lanes = [1.0f64; 4];
                    lanes[..n - i].copy_from_slice(&src[i..n]);
                    // SAFETY: `lanes` holds the four values read and written.
                    unsafe {
                        _mm256_storeu_pd(
                            lanes.as_mut_ptr(),
                            $kernel(_mm256_loadu_pd(lanes.as_ptr())),
                        )
                    };
                    dst[i..n].copy_from_slice(&lanes[..n - i]);
                }
            }
        };
    }

    block!(map_exp, exp);
    block!(map_expm1, expm1);
    block!(map_log, log);
    block!(map_log10, log10);
    block!(map_log1p, log1p);

    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn splat(x: f64) -> __m256d {
        _mm256_set1_pd(x)
    }

    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn bits(x: i64) -> __m256i {
        _mm256_set1_epi64x(x)
    }

    /// Fast2Sum: `(a + b, error)` exactly, when `|a| >= |b|` or `a` is zero.
    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn fast_two_sum(a: __m256d, b: __m256d) -> (__m256d, __m256d) {
        let s = _mm256_add_pd(a, b);
        (s, _mm256_add_pd(_mm256_sub_pd(a, s), b))
    }

    /// `(k, f)` with `x = 2^k (1 + f)` and `1 + f` in `[sqrt(1/2), sqrt(2))`, for positive
    /// normal `x` (`f` exact).
    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn reduce(x: __m256d) -> (__m256d, __m256d) {
        // Offsetting the bits by 1 - sqrt(1/2)'s leading bits moves the mantissas from
        // sqrt(1/2) up into the next binade (musl's trick).
        let ix = _mm256_add_epi64(
            _mm256_castpd_si256(x),
            bits(0x3ff0_0000_0000_0000 - 0x3fe6_a09e_0000_0000),
        );
        // The biased exponent as a double: placed in the mantissa of 2^52, then unbiased.
        let e = _mm256_or_si256(_mm256_srli_epi64(ix, 52), bits(0x4330_0000_0000_0000));
        let k = _mm256_sub_pd(_mm256_castsi256_pd(e), splat(EXPONENT_BIAS));
        let m = _mm256_add_epi64(
            _mm256_and_si256(ix, bits(0x000f_ffff_ffff_ffff)),
            bits(0x3fe6_a09e_0000_0000),
        );
        (k, _mm256_sub_pd(_mm256_castsi256_pd(m), splat(1.0)))
    }

    /// `c[0] + c[1] x + c[2] x^2 + ...` by Estrin's scheme (independent FMAs in a shallow
    /// tree rather than Horner's chain: these kernels are bound by latency).
    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn estrin<const N: usize>(x: __m256d, c: &[f64; N]) -> __m256d {
        let mut terms = [_mm256_setzero_pd(); N];
        let mut n = N;
        for (i, t) in terms.iter_mut().enumerate().take(N.div_ceil(2)) {
            *t = if 2 * i + 1 < N {
                _mm256_fmadd_pd(splat(c[2 * i + 1]), x, splat(c[2 * i]))
            } else {
                splat(c[2 * i])
            };
        }
        n = n.div_ceil(2);
        let mut power = _mm256_mul_pd(x, x);
        while n > 1 {
            for i in 0..n / 2 {
                terms[i] = _mm256_fmadd_pd(terms[2 * i + 1], power, terms[2 * i]);
            }
            if n % 2 == 1 {
                terms[n / 2] = terms[n - 1];
            }
            n = n.div_ceil(2);
            if n > 1 {
                power = _mm256_mul_pd(power, power);
            }
        }
        terms[0]
    }

    /// `log(2^k (1 + f)) + extra = hi + lo` for `1 + f` in `[sqrt(1/2), sqrt(2))` and a
    /// small `extra`.
    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn log_parts(f: __m256d, k: __m256d, extra: __m256d) -> (__m256d, __m256d) {
        let s = _mm256_div_pd(f, _mm256_add_pd(splat(2.0), f));
        let z = _mm256_mul_pd(s, s);
        let p = estrin(z, &LG);
        // log(1 + f) = f - f^2/2 + s (f^2/2 + R), with R = z p and f^2/2 = hfsq + hfsq_err
        // exactly: k ln2_hi + f - hfsq summed exactly (k ln2_hi is exact, and ln2 > |f| when
        // k is not 0, |f| > hfsq), the rest at most f^3/3 + 2^-57, so only the final sum
        // rounds at full weight.
        let hf = _mm256_mul_pd(splat(0.5), f);
        let hfsq = _mm256_mul_pd(hf, f);
        let hfsq_err = _mm256_fmsub_pd(hf, f, hfsq);
        let (hi, lo1) = fast_two_sum(_mm256_mul_pd(k, splat(LN2_HI)), f);
        let (hi, lo2) = fast_two_sum(hi, _mm256_sub_pd(_mm256_setzero_pd(), hfsq));
        let tail = _mm256_add_pd(
            _mm256_add_pd(lo1, lo2),
            _mm256_add_pd(extra, _mm256_fmsub_pd(k, splat(LN2_LO), hfsq_err)),
        );
        let small = _mm256_fmadd_pd(s, _mm256_fmadd_pd(z, p, hfsq), tail);
        (hi, small)
    }

    /// The parts of `log(x)` for any `x`, subnormals scaled first; meaningless where `x` is
    /// not positive and finite.
    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn log_any(x: __m256d) -> (__m256d, __m256d) {
        let subnormal = _mm256_cmp_pd(x, splat(MIN_NORMAL), _CMP_LT_OQ);
        let scaled = _mm256_blendv_pd(x, _mm256_mul_pd(x, splat(TWO54)), subnormal);
        let (k, f) = reduce(scaled);
        let k = _mm256_sub_pd(k, _mm256_and_pd(subnormal, splat(54.0)));
        log_parts(f, k, _mm256_setzero_pd())
    }

    /// log and log10 where `x` is not positive and finite: NaN below zero, -inf at zero,
    /// +inf at +inf, NaN for NaN.
    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn log_specials(x: __m256d, y: __m256d) -> __m256d {
        let ok = _mm256_and_pd(
            _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_GT_OQ),
            _mm256_cmp_pd(x, splat(f64::INFINITY), _CMP_LT_OQ),
        );
        if _mm256_movemask_pd(ok) == 0xf {
            return y;
        }
        let zero = _mm256_setzero_pd();
        let mut fix = _mm256_add_pd(x, x); // +inf and NaN
        fix = _mm256_blendv_pd(
            fix,
            splat(f64::NEG_INFINITY),
            _mm256_cmp_pd(x, zero, _CMP_EQ_OQ),
        );
        fix = _mm256_blendv_pd(fix, splat(f64::NAN), _mm256_cmp_pd(x, zero, _CMP_LT_OQ));
        _mm256_blendv_pd(fix, y, ok)
    }

    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn log(x: __m256d) -> __m256d {
        let (hi, lo) = log_any(x);
        log_specials(x, _mm256_add_pd(hi, lo))
    }

    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn log10(x: __m256d) -> __m256d {
        let (hi, lo) = log_any(x);
        // (hi + lo) / ln 10 in double-double: the product's error from an FMA.
        let p = _mm256_mul_pd(hi, splat(INV_LN10_HI));
        let p_err = _mm256_fmsub_pd(hi, splat(INV_LN10_HI), p);
        let tail = _mm256_fmadd_pd(
            hi,
            splat(INV_LN10_LO),
            _mm256_mul_pd(lo, splat(INV_LN10_HI)),
        );
        log_specials(x, _mm256_add_pd(p, _mm256_add_pd(p_err, tail)))
    }

    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn log1p(x: __m256d) -> __m256d {
        let one = splat(1.0);
        // u = 1 + x rounded, and c its exact error (Fast2Sum, the larger operand first):
        // log1p(x) = log(u) + log(1 + c/u) = log(u) + c/u (to 2^-106 relative).
        let u = _mm256_add_pd(one, x);
        let c = _mm256_blendv_pd(
            _mm256_sub_pd(x, _mm256_sub_pd(u, one)),
            _mm256_sub_pd(one, _mm256_sub_pd(u, x)),
            _mm256_cmp_pd(x, one, _CMP_GT_OQ),
        );
        let (ku, fu) = reduce(u);
        // Near zero, x itself is f (exact, and k = 0).
        let near = _mm256_and_pd(
            _mm256_cmp_pd(x, splat(SQRT_HALF_M1), _CMP_GT_OQ),
            _mm256_cmp_pd(x, splat(SQRT2_M1), _CMP_LT_OQ),
        );
        let f = _mm256_blendv_pd(fu, x, near);
        let k = _mm256_andnot_pd(near, ku);
        // Away from zero |log1p(x)| > 0.29 while |c/u| <= 2^-53: 12 bits of 1/u (the float
        // reciprocal estimate; 0 beyond float's range, where c/u < 2^-128) are plenty, and
        // cheaper than a second division.
        let inv_u = _mm256_cvtps_pd(_mm_rcp_ps(_mm256_cvtpd_ps(u)));
        let c_over_u = _mm256_andnot_pd(near, _mm256_mul_pd(c, inv_u));
        let (hi, lo) = log_parts(f, k, c_over_u);
        let y = _mm256_add_pd(hi, lo);
        // Special: x <= -1, +inf, NaN, and |x| < 2^-54 (log1p(x) rounds to x; keeps -0.0).
        let ax = _mm256_andnot_pd(splat(-0.0), x);
        let ok = _mm256_and_pd(
            _mm256_and_pd(
                _mm256_cmp_pd(x, splat(-1.0), _CMP_GT_OQ),
                _mm256_cmp_pd(x, splat(f64::INFINITY), _CMP_LT_OQ),
            ),
            _mm256_cmp_pd(ax, splat(TINY), _CMP_GE_OQ),
        );
        if _mm256_movemask_pd(ok) == 0xf {
            return y;
        }
        let minus_one = splat(-1.0);
        let mut fix = _mm256_blendv_pd(
            _mm256_add_pd(x, x), // +inf and NaN
            x,
            _mm256_cmp_pd(ax, splat(TINY), _CMP_LT_OQ),
        );
        fix = _mm256_blendv_pd(
            fix,
            splat(f64::NEG_INFINITY),
            _mm256_cmp_pd(x, minus_one, _CMP_EQ_OQ),
        );
        fix = _mm256_blendv_pd(
            fix,
            splat(f64::NAN),
            _mm256_cmp_pd(x, minus_one, _CMP_LT_OQ),
        );
        _mm256_blendv_pd(fix, y, ok)
    }

    /// `2^k` from `t = SHIFT + k`, for `k` in `[-1022, 1023]`.
    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn pow2(t: __m256d) -> __m256d {
        _mm256_castsi256_pd(_mm256_slli_epi64(
            _mm256_add_epi64(_mm256_castpd_si256(t), bits(1023)),
            52,
        ))
    }

    /// For `x` in `[-750, 710]`: `(t, p_hi, p_lo)` with `e^x = 2^k (1 + p_hi + p_lo)`,
    /// `t = SHIFT + k`, and `p_hi + p_lo = e^r - 1` for `|r| <= ln2 / 2`.
    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn exp_parts(x: __m256d) -> (__m256d, __m256d, __m256d) {
        let t = _mm256_fmadd_pd(x, splat(INV_LN2), splat(SHIFT));
        let k = _mm256_sub_pd(t, splat(SHIFT));
        // r = x - k ln2 = r + r_lo: k LN2_HI exact, and x - k LN2_HI exact (Sterbenz).
        let r_hi = _mm256_fnmadd_pd(k, splat(LN2_HI), x);
        let kl = _mm256_mul_pd(k, splat(LN2_LO));
        let kl_err = _mm256_fmsub_pd(k, splat(LN2_LO), kl);
        let r = _mm256_sub_pd(r_hi, kl);
        let r_lo = _mm256_sub_pd(_mm256_sub_pd(_mm256_sub_pd(r_hi, r), kl), kl_err);
        // e^r - 1 = r + r^2/2 + r^3 q(r), r^2/2 = h + h_err exactly.
        let q = estrin(r, &EXP_TAYLOR);
        let hr = _mm256_mul_pd(splat(0.5), r);
        let h = _mm256_mul_pd(hr, r);
        let h_err = _mm256_fmsub_pd(hr, r, h);
        let r3 = _mm256_mul_pd(_mm256_mul_pd(r, r), r);
        let v = _mm256_fmadd_pd(r3, q, h_err);
        let (w, w_err) = fast_two_sum(h, v);
        let (p_hi, p_err) = fast_two_sum(r, w);
        // e^(r + r_lo) - 1 = p + r_lo (1 + p) to first order.
        let p_lo = _mm256_add_pd(
            _mm256_add_pd(p_err, w_err),
            _mm256_fmadd_pd(r_lo, p_hi, r_lo),
        );
        (t, p_hi, p_lo)
    }

    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn exp(x: __m256d) -> __m256d {
        // Clamped (NaN kept: min/max return their second operand if either is NaN): below
        // -750 the result is 0, above 710 +inf, from the same arithmetic.
        let x = _mm256_max_pd(splat(-750.0), _mm256_min_pd(splat(710.0), x));
        let (t, p_hi, p_lo) = exp_parts(x);
        let one = splat(1.0);
        let (y, y_err) = fast_two_sum(one, p_hi);
        let y_lo = _mm256_add_pd(y_err, p_lo);
        // 2^k in two factors, each a normal number for k in [-1082, 1024]: the product
        // rounds once, to zero or infinity where it must.
        let k = _mm256_sub_pd(t, splat(SHIFT));
        let t1 = _mm256_fmadd_pd(k, splat(0.5), splat(SHIFT));
        let t2 = _mm256_add_pd(
            _mm256_sub_pd(k, _mm256_sub_pd(t1, splat(SHIFT))),
            splat(SHIFT),
        );
        let scaled = _mm256_mul_pd(_mm256_mul_pd(_mm256_add_pd(y, y_lo), pow2(t1)), pow2(t2));
        let low = _mm256_cmp_pd(k, splat(-1021.0), _CMP_LT_OQ);
        if _mm256_movemask_pd(low) == 0 {
            return scaled;
        }
        // A subnormal result would round twice above (to 53 bits, then to the subnormal's
        // fewer): w = 2^(k + 1022) (y + y_lo) < 1 is rounded once to the subnormal grid
        // 2^-52 by adding 1 (glibc's way), then 2^-1022 w is exact.
        let sc = pow2(_mm256_add_pd(t, splat(1022.0)));
        let w = _mm256_mul_pd(sc, y);
        let (b, b_err) = fast_two_sum(one, w);
        let b = _mm256_add_pd(b, _mm256_fmadd_pd(sc, y_lo, b_err));
        let subnormal = _mm256_mul_pd(_mm256_sub_pd(b, one), splat(MIN_NORMAL));
        let take = _mm256_and_pd(low, _mm256_cmp_pd(w, one, _CMP_LT_OQ));
        _mm256_blendv_pd(scaled, subnormal, take)
    }

    #[inline]
    #[target_feature(enable = "avx2", enable = "fma")]
    fn expm1(x: __m256d) -> __m256d {
        // Below -45 the result rounds to -1; above 709, where 2^k would overflow, it is
        // e^x (taken below).
        let xc = _mm256_max_pd(splat(-45.0), _mm256_min_pd(splat(709.0), x));
        let (t, p_hi, p_lo) = exp_parts(xc);
        // 2^k (1 + p) - 1 = (2^k - 1) + 2^k p_hi + 2^k p_lo; 2^k p_hi is exact and never
        // larger than 2^k - 1 (unless k = 0, where 2^k - 1 = 0).
        let s = pow2(t);
        let one = splat(1.0);
        // 2^k - 1 = a + a_err (TwoSum: 2^k may be above or below 1).
        let a = _mm256_sub_pd(s, one);
        let minus_one = _mm256_sub_pd(a, s);
        let a_err = _mm256_add_pd(
            _mm256_sub_pd(s, _mm256_sub_pd(a, minus_one)),
            _mm256_sub_pd(splat(-1.0), minus_one),
        );
        let (hi, lo) = fast_two_sum(a, _mm256_mul_pd(s, p_hi));
        let y = _mm256_add_pd(hi, _mm256_add_pd(lo, _mm256_fmadd_pd(s, p_lo, a_err)));
        let tiny = _mm256_cmp_pd(_mm256_andnot_pd(splat(-0.0), x), splat(TINY), _CMP_LT_OQ);
        let big = _mm256_cmp_pd(x, splat(709.0), _CMP_GT_OQ);
        if _mm256_movemask_pd(_mm256_or_pd(tiny, big)) == 0 {
            return y;
        }
        let y = _mm256_blendv_pd(y, x, tiny);
        if _mm256_movemask_pd(big) == 0 {
            return y;
        }
        _mm256_blendv_pd(y, exp(x), big)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OPS: [Op; 5] = [Op::Exp, Op::Expm1, Op::Log, Op::Log10, Op::Log1p];

    /// Units in the last place between two doubles (0 for two NaNs, MAX for one).
    fn ulps(a: f64, b: f64) -> u64 {
        if a.is_nan() || b.is_nan() {
            return if a.is_nan() && b.is_nan() {
                0
            } else {
                u64::MAX
            };
        }
        let key = |x: f64| {
            let i = x.to_bits() as i64;
            if i < 0 {
                i64::MIN.wrapping_sub(i)
            } else {
                i
            }
        };
        (key(a) as i128 - key(b) as i128).unsigned_abs() as u64
    }

    /// Runs `op` over `xs` (in blocks of every length mod 4) and checks each result
    /// against the standard library's within `max` ulps, zeros with their sign.
    fn check(op: Op, xs: &[f64], max: u64) {
        let mut got = vec![0.0; xs.len()];
        map(op, &mut got, xs);
        for (i, (&x, &y)) in xs.iter().zip(&got).enumerate() {
            let want = op.portable(x);
            let d = ulps(y, want);
            assert!(
                d <= max,
                "{op:?}({x:e} = {:#x}) = {y:e}, std {want:e}: {d} ulps",
                x.to_bits()
            );
            if want == 0.0 && y == 0.0 {
                assert_eq!(y.to_bits(), want.to_bits(), "{op:?}({x:e}): sign of zero");
            }
            // One value alone (the scalar path) equals the block's.
            assert_eq!(apply(op, x).to_bits(), y.to_bits(), "{op:?}({x:e}) at {i}");
        }
    }

    fn max_ulps(op: Op) -> u64 {
        // glibc's exp and log are within 0.52 ulp of the true value, its log1p, expm1 and
        // log10 (fdlibm's) within 1 to 2 (log10(0.56957) is 1.52 ulp off); ours within 0.6.
        match op {
            Op::Exp | Op::Log => 1,
            Op::Expm1 | Op::Log1p | Op::Log10 => 2,
        }
    }

    #[test]
    fn special_values_are_exact() {
        let (inf, nan) = (f64::INFINITY, f64::NAN);
        let min_sub = f64::from_bits(1);
        let table: &[(Op, f64, f64)] = &[
            (Op::Log, nan, nan),
            (Op::Log, 0.0, -inf),
            (Op::Log, -0.0, -inf),
            (Op::Log, -1.0, nan),
            (Op::Log, -min_sub, nan),
            (Op::Log, -inf, nan),
            (Op::Log, inf, inf),
            (Op::Log, 1.0, 0.0),
            (Op::Log, min_sub, -744.4400719213812),
            (Op::Log, f64::MAX, 709.782712893384),
            (Op::Log10, nan, nan),
            (Op::Log10, 0.0, -inf),
            (Op::Log10, -0.0, -inf),
            (Op::Log10, -2.0, nan),
            (Op::Log10, inf, inf),
            (Op::Log10, 1.0, 0.0),
            (Op::Log10, 10.0, 1.0),
            (Op::Log10, 1e22, 22.0),
            (Op::Log10, 1e-300, -300.0),
            (Op::Log1p, nan, nan),
            (Op::Log1p, -1.0, -inf),
            (Op::Log1p, -1.5, nan),
            (Op::Log1p, -inf, nan),
            (Op::Log1p, inf, inf),
            (Op::Log1p, 0.0, 0.0),
            (Op::Log1p, -0.0, -0.0),
            (Op::Log1p, min_sub, min_sub),
            (Op::Log1p, -min_sub, -min_sub),
            (Op::Log1p, 1e-300, 1e-300),
            (Op::Log1p, -1e-17, -1e-17),
            (Op::Log1p, f64::MAX, 709.782712893384),
            (Op::Exp, nan, nan),
            (Op::Exp, inf, inf),
            (Op::Exp, -inf, 0.0),
            (Op::Exp, 0.0, 1.0),
            (Op::Exp, -0.0, 1.0),
            (Op::Exp, min_sub, 1.0),
            (Op::Exp, 709.78, 1.7928227943945155e308),
            (Op::Exp, 709.8, inf),
            (Op::Exp, 1000.0, inf),
            (Op::Exp, f64::MAX, inf),
            (Op::Exp, -745.1332191019411, min_sub),
            (Op::Exp, -745.2, 0.0),
            (Op::Exp, -1000.0, 0.0),
            (Op::Exp, -f64::MAX, 0.0),
            (Op::Exp, 1.0, std::f64::consts::E),
            (Op::Expm1, nan, nan),
            (Op::Expm1, inf, inf),
            (Op::Expm1, -inf, -1.0),
            (Op::Expm1, 0.0, 0.0),
            (Op::Expm1, -0.0, -0.0),
            (Op::Expm1, min_sub, min_sub),
            (Op::Expm1, -min_sub, -min_sub),
            (Op::Expm1, 1e-300, 1e-300),
            (Op::Expm1, -1e-17, -1e-17),
            (Op::Expm1, -40.0, -1.0),
            (Op::Expm1, -1000.0, -1.0),
            (Op::Expm1, 709.78, 1.7928227943945155e308),
            (Op::Expm1, 709.8, inf),
            (Op::Expm1, f64::MAX, inf),
        ];
        for &(op, x, want) in table {
            for y in [apply(op, x), {
                let mut out = [0.0; 5];
                map(op, &mut out, &[1.0, 2.0, x, 0.5, 3.0]);
                out[2]
            }] {
                assert!(
                    y.to_bits() == want.to_bits() || (y.is_nan() && want.is_nan()),
                    "{op:?}({x:e}) = {y:e}, want {want:e}"
                );
            }
            assert!(ulps(op.portable(x), want) <= 1, "{op:?}({x:e}) table entry");
        }
    }

    #[test]
    fn subnormal_results_of_exp() {
        // Every result from 2^-1022 down to 0, against std.
        let xs: Vec<f64> = (0..20_000)
            .map(|i| -708.0 - 37.2 * i as f64 / 20_000.0)
            .collect();
        check(Op::Exp, &xs, 1);
    }

    #[test]
    fn sweeps_across_the_domains() {
        // Dense sweeps over the ranges where the reductions change case.
        let sweep = |lo: f64, hi: f64, n: usize| -> Vec<f64> {
            (0..=n)
                .map(|i| lo + (hi - lo) * i as f64 / n as f64)
                .collect()
        };
        for op in OPS {
            let mut xs = Vec::new();
            match op {
                Op::Exp | Op::Expm1 => {
                    xs.extend(sweep(-1.0, 1.0, 100_000));
                    xs.extend(sweep(-50.0, 50.0, 100_000));
                    xs.extend(sweep(-745.0, 709.7, 100_000));
                    xs.extend(sweep(-1e-6, 1e-6, 10_000));
                }
                Op::Log | Op::Log10 => {
                    xs.extend(sweep(0.5, 2.0, 100_000));
                    xs.extend(sweep(0.99, 1.01, 100_000));
                    xs.extend(sweep(0.0, 1e6, 100_000));
                    xs.extend((0..20_000).map(|i| f64::from_bits(i * 0x0000_0321_0000_0001)));
                }
                Op::Log1p => {
                    xs.extend(sweep(-1.0, 1.0, 100_000));
                    xs.extend(sweep(-0.01, 0.01, 100_000));
                    xs.extend(sweep(-0.3, -0.28, 10_000));
                    xs.extend(sweep(0.4, 0.43, 10_000));
                    xs.extend(sweep(1.0, 1e6, 100_000));
                    xs.extend((0..20_000).map(|i| f64::from_bits(i * 0x0000_0321_0000_0001)));
                    xs.extend((0..20_000).map(|i| -f64::from_bits(i * 0x0000_0199_0000_0001)));
                }
            }
            check(op, &xs, max_ulps(op));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random bit patterns: every sign, exponent and mantissa, NaN and infinities.
        #[test]
        fn random_bit_patterns_match_std(words in prop::collection::vec(any::<u64>(), 1..600)) {
            let xs: Vec<f64> = words.into_iter().map(f64::from_bits).collect();
            for op in OPS {
                check(op, &xs, max_ulps(op));
            }
        }

        /// Random values where the results are neither 0 nor infinite.
        #[test]
        fn random_values_in_range_match_std(
            e in prop::collection::vec(-745.2f64..709.9, 1..300),
            m in prop::collection::vec(-1.0f64..3.0, 1..300),
            l in prop::collection::vec(-300.0f64..300.0, 1..300),
        ) {
            check(Op::Exp, &e, 1);
            check(Op::Expm1, &e, 2);
            check(Op::Log1p, &m, 2);
            let logs: Vec<f64> = l.iter().map(|p| 10f64.powf(*p)).collect();
            check(Op::Log, &logs, 1);
            check(Op::Log10, &logs, 2);
            check(Op::Log1p, &logs, 2);
        }
    }
}
