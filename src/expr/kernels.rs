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
