//! The scalar kernels with numpy's semantics that the standard library does not give
//! as such (rounding half to even, Python's remainder, NaN-propagating minimum...).

/// A truth value as the language holds it: 1 or 0.
#[inline(always)]
pub fn truth(x: bool) -> f64 {
    if x {
        1.0
    } else {
        0.0
    }
}

/// Rounds half to even, as numpy's `round` does.
#[inline]
pub fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (r - x).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

/// numpy's `remainder` (Python's `%`): the result has the sign of the divisor.
#[inline]
pub fn remainder(x: f64, y: f64) -> f64 {
    let r = x % y;
    if r != 0.0 && ((r < 0.0) != (y < 0.0)) {
        r + y
    } else if r == 0.0 {
        // numpy gives a zero with the divisor's sign.
        0.0f64.copysign(y)
    } else {
        r
    }
}

/// numpy's `minimum`: NaN in either operand gives NaN, and -0 is below +0.
#[inline]
pub fn minimum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a < b || (a == b && a.is_sign_negative()) {
        a
    } else {
        b
    }
}

/// numpy's `maximum`: NaN in either operand gives NaN, and +0 is above -0.
#[inline]
pub fn maximum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a > b || (a == b && a.is_sign_positive()) {
        a
    } else {
        b
    }
}

/// The high 32 bits of `x`, on which fdlibm decides its cases.
#[inline]
fn high_word(x: f64) -> u32 {
    (x.to_bits() >> 32) as u32
}

/// numpy's `arcsinh`: `sign(x) log(|x| + sqrt(x^2 + 1))` by fdlibm's algorithm (the C
/// library's, so the same bits as glibc's), rearranged per range against cancellation
/// and overflow; within an ulp.
#[inline]
pub fn arcsinh(x: f64) -> f64 {
    let ix = high_word(x) & 0x7fff_ffff;
    if ix >= 0x7ff0_0000 {
        return x + x; // NaN and the infinities
    }
    if ix < 0x3e30_0000 {
        return x; // |x| < 2^-28: rounds to x (and keeps -0)
    }
    let a = x.abs();
    let w = if ix > 0x41b0_0000 {
        // |x| > 2^28: log(2|x|).
        a.ln() + std::f64::consts::LN_2
    } else if ix > 0x4000_0000 {
        // 2 < |x| <= 2^28.
        (2.0 * a + 1.0 / ((a * a + 1.0).sqrt() + a)).ln()
    } else {
        let t = a * a;
        (a + t / (1.0 + (1.0 + t).sqrt())).ln_1p()
    };
    w.copysign(x)
}

/// numpy's `arccosh`: `log(x + sqrt(x^2 - 1))` by fdlibm's algorithm (the C library's),
/// NaN below 1; within an ulp.
#[inline]
pub fn arccosh(x: f64) -> f64 {
    let hx = high_word(x) as i32; // negative for every negative x
    if hx < 0x3ff0_0000 {
        return f64::NAN; // x < 1, and NaN with the sign bit
    }
    if hx >= 0x41b0_0000 {
        if hx >= 0x7ff0_0000 {
            return x + x; // +inf and NaN
        }
        // x > 2^28: log(2x).
        return x.ln() + std::f64::consts::LN_2;
    }
    if x == 1.0 {
        return 0.0;
    }
    if hx > 0x4000_0000 {
        // 2 < x <= 2^28.
        let t = x * x;
        (2.0 * x - 1.0 / (x + (t - 1.0).sqrt())).ln()
    } else {
        // 1 < x <= 2: log1p keeps the precision near 1.
        let t = x - 1.0;
        (t + (2.0 * t + t * t).sqrt()).ln_1p()
    }
}

/// numpy's `arctanh`: `log((1 + x) / (1 - x)) / 2` by fdlibm's algorithm (the C
/// library's), ±inf at ±1, NaN beyond; within an ulp.
#[inline]
pub fn arctanh(x: f64) -> f64 {
    let a = x.abs();
    let t = if a < 0.5 {
        if a < 1.0 / (1u64 << 28) as f64 {
            return x; // |x| < 2^-28: rounds to x (and keeps -0)
        }
        let t = a + a;
        0.5 * (t + t * a / (1.0 - a)).ln_1p()
    } else if a < 1.0 {
        0.5 * ((a + a) / (1.0 - a)).ln_1p()
    } else if a == 1.0 {
        return f64::INFINITY.copysign(x);
    } else {
        return f64::NAN; // |x| > 1, and NaN
    };
    t.copysign(x)
}

/// numpy's `sign`: -1, 0 or 1, and NaN for NaN; +0 for both zeros (numpy returns 0, not
/// its argument).
#[inline]
pub fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else if x == 0.0 {
        0.0
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit for bit, any NaN for NaN.
    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Units in the last place between two finite doubles of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// Checks `f` on exact special values, then within an ulp of correctly rounded
    /// values (computed to 80 digits with Python's decimal module).
    fn check(name: &str, f: fn(f64) -> f64, exact: &[(f64, f64)], rounded: &[(f64, f64)]) {
        for &(x, want) in exact {
            assert!(
                same(f(x), want),
                "{name}({x:e}) = {:e}, want {want:e}",
                f(x)
            );
        }
        for &(x, want) in rounded {
            let d = ulps(f(x), want);
            assert!(
                d <= 1,
                "{name}({x:e}) = {:e}, want {want:e}: {d} ulps",
                f(x)
            );
        }
    }

    #[test]
    fn arcsinh_is_numpys() {
        let (inf, nan, tiny) = (f64::INFINITY, f64::NAN, f64::from_bits(1));
        let exact = [
            (0.0, 0.0),
            (-0.0, -0.0),
            (tiny, tiny),
            (-tiny, -tiny),
            (1e-10, 1e-10),
            (inf, inf),
            (-inf, -inf),
            (nan, nan),
        ];
        let rounded = [
            (0.5, 0.48121182505960347),
            (-0.75, -std::f64::consts::LN_2), // log(0.75 + 1.25)
            (1.5, 1.1947632172871092),
            (2.0, 1.4436354751788103),
            (2.5, 1.6472311463710958),
            (-3.0, -1.8184464592320668),
            (1e5, 12.206072645555174),
            (-268435460.0, -20.101268251139576),
            (1e300, 691.4686750787737),
            (-1.7e308, -710.4199840737882),
        ];
        check("arcsinh", arcsinh, &exact, &rounded);
    }

    #[test]
    fn arccosh_is_numpys() {
        let (inf, nan) = (f64::INFINITY, f64::NAN);
        let exact = [
            (1.0, 0.0),
            (inf, inf),
            (nan, nan),
            (-nan, nan),
            (1.0 - f64::EPSILON / 2.0, nan),
            (0.0, nan),
            (-0.0, nan),
            (-1.0, nan),
            (-inf, nan),
        ];
        let rounded = [
            (1.0 + f64::EPSILON, 2.1073424255447014e-08),
            (1.0000000001, 1.4142136208675862e-05),
            (1.25, std::f64::consts::LN_2), // log(1.25 + 0.75)
            (1.5, 0.9624236501192069),
            (2.0, 1.3169578969248168),
            (2.5, 1.566799236972411),
            (10.0, 2.993222846126381),
            (268435460.0, 20.101268251139576),
            (1e300, 691.4686750787737),
            (1.7e308, 710.4199840737882),
        ];
        check("arccosh", arccosh, &exact, &rounded);
    }

    #[test]
    fn arctanh_is_numpys() {
        let (inf, nan, tiny) = (f64::INFINITY, f64::NAN, f64::from_bits(1));
        let below_one = 1.0 - f64::EPSILON / 2.0;
        let exact = [
            (0.0, 0.0),
            (-0.0, -0.0),
            (tiny, tiny),
            (-1e-10, -1e-10),
            (1.0, inf),
            (-1.0, -inf),
            (1.0 + f64::EPSILON, nan),
            (-2.0, nan),
            (inf, nan),
            (-inf, nan),
            (nan, nan),
        ];
        let rounded = [
            (0.25, 0.25541281188299536),
            (-0.4, -0.42364893019360184),
            (0.5, 0.5493061443340549),
            (0.75, 0.9729550745276566),
            (-0.9, -1.4722194895832204),
            (0.999999, 7.254328619247669),
            (below_one, 18.714973875118524),
            (-below_one, -18.714973875118524),
        ];
        check("arctanh", arctanh, &exact, &rounded);
    }

    #[test]
    fn sign_is_numpys() {
        let (inf, nan, tiny) = (f64::INFINITY, f64::NAN, f64::from_bits(1));
        let table = [
            (0.0, 0.0),
            (-0.0, 0.0),
            (tiny, 1.0),
            (-tiny, -1.0),
            (-3.5, -1.0),
            (f64::MAX, 1.0),
            (inf, 1.0),
            (-inf, -1.0),
            (nan, nan),
        ];
        for (x, want) in table {
            assert!(same(sign(x), want), "sign({x:e}) = {:e}", sign(x));
        }
    }
}
