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
