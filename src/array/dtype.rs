//! The element types the engine reads and writes, and everything that differs between
//! them: every per-dtype impl of the library is in this file.
//!
//! Kernels are generic over `Element` (and `Integer`, `Widen` where they need more), so
//! each is compiled once per dtype; the dtype enums (`View`, `ViewMut`, `View2d`) pick
//! the instance with `with_dtype!` instead of a hand-written match per function.

/// The dtype of a view, as the C ABI's `oxb_dtype` tags it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    /// IEEE 754 double precision.
    F64,
    /// IEEE 754 single precision.
    F32,
    /// Signed 64-bit integers.
    I64,
    /// Signed 32-bit integers.
    I32,
}

impl DType {
    /// numpy's name for it ("float64", ...), as messages spell it.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F64 => "float64",
            DType::F32 => "float32",
            DType::I64 => "int64",
            DType::I32 => "int32",
        }
    }
}

/// A slice of one of the element types, for kernels that take a faster path for one
/// dtype (float64 read without conversion, int64 summed exactly).
#[derive(Debug, Clone, Copy)]
pub enum TypedSlice<'a> {
    /// float64 values.
    F64(&'a [f64]),
    /// float32 values.
    F32(&'a [f32]),
    /// int64 values.
    I64(&'a [i64]),
    /// int32 values.
    I32(&'a [i32]),
}

/// An element type of the engine.
pub trait Element: Copy + Send + Sync + 'static {
    /// Which one it is.
    const DTYPE: DType;
    /// numpy's name for it.
    const NAME: &'static str = Self::DTYPE.name();
    /// The value as a float64 (exact for float32 and int32; int64 rounds past 2^53).
    fn to_f64(self) -> f64;
    /// The value as an integer, for integer types (whose sums are kept exact).
    fn as_i64(self) -> Option<i64>;
    /// The slice with its concrete type.
    fn typed(xs: &[Self]) -> TypedSlice<'_>;
    /// Whether the value is a NaN (never, for integers).
    fn is_nan(self) -> bool;
    /// An order-preserving unsigned key: `a < b` exactly when `a.key() < b.key()`, and
    /// NaN above +inf whatever its sign, so it sorts last as numpy sorts it.
    fn key(self) -> u64;
    /// The value of a key (`from_key(x.key()) == x`, NaN payloads aside).
    fn from_key(key: u64) -> Self;
}

/// The integer element types: `process_array` computes on them exactly, in 128 bits.
pub trait Integer: Element {
    /// The value, widened.
    fn to_i128(self) -> i128;
    /// The value narrowed back (the caller has checked the range).
    fn from_i128(v: i128) -> Self;
}

/// An element type whose values widen to float64 exactly, read four at a time by the
/// row-major stripe kernels (float64, float32, int32; int64 has its own integer kernel).
pub(crate) trait Widen: Element {
    /// Integers: a block's sums of them are exact in float64 (a block has at most 2^14
    /// values of at most 2^31, far below 2^53), so callers can keep exact statistics.
    const INTEGER: bool = false;
    /// The value as a float64, exactly.
    fn widen(self) -> f64;
    /// Four values from `p` (unaligned) as float64.
    ///
    /// # Safety
    /// `p` points to four readable values; the CPU has AVX.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load4(p: *const Self) -> std::arch::x86_64::__m256d;
}

/// Runs `$body` with `$v` bound to the typed content of a dtype enum (`View`, `ViewMut`,
/// `View2d`: any enum with the four variants `F64`, `F32`, `I64`, `I32`), so the body is
/// compiled once per dtype.
macro_rules! with_dtype {
    ($value:expr, $Enum:ident, $v:ident => $body:expr) => {
        match $value {
            $Enum::F64($v) => $body,
            $Enum::F32($v) => $body,
            $Enum::I64($v) => $body,
            $Enum::I32($v) => $body,
        }
    };
}
pub(crate) use with_dtype;

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn as_i64(self) -> Option<i64> {
        None
    }
    fn typed(xs: &[Self]) -> TypedSlice<'_> {
        TypedSlice::F64(xs)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    #[inline(always)]
    fn key(self) -> u64 {
        // Every NaN becomes a positive NaN: above +inf whatever its sign bit.
        let bits = if self.is_nan() {
            self.to_bits() & !(1 << 63)
        } else {
            self.to_bits()
        };
        if bits >> 63 == 1 {
            !bits
        } else {
            bits | 1 << 63
        }
    }
    #[inline(always)]
    fn from_key(key: u64) -> Self {
        f64::from_bits(if key >> 63 == 1 {
            key & !(1 << 63)
        } else {
            !key
        })
    }
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn as_i64(self) -> Option<i64> {
        None
    }
    fn typed(xs: &[Self]) -> TypedSlice<'_> {
        TypedSlice::F32(xs)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    #[inline(always)]
    fn key(self) -> u64 {
        let bits = if self.is_nan() {
            self.to_bits() & !(1 << 31)
        } else {
            self.to_bits()
        };
        (if bits >> 31 == 1 {
            !bits
        } else {
            bits | 1 << 31
        }) as u64
    }
    #[inline(always)]
    fn from_key(key: u64) -> Self {
        let key = key as u32;
        f32::from_bits(if key >> 31 == 1 {
            key & !(1 << 31)
        } else {
            !key
        })
    }
}

impl Element for i64 {
    const DTYPE: DType = DType::I64;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn as_i64(self) -> Option<i64> {
        Some(self)
    }
    fn typed(xs: &[Self]) -> TypedSlice<'_> {
        TypedSlice::I64(xs)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        false
    }
    #[inline(always)]
    fn key(self) -> u64 {
        (self as u64) ^ (1 << 63)
    }
    #[inline(always)]
    fn from_key(key: u64) -> Self {
        (key ^ (1 << 63)) as i64
    }
}

impl Element for i32 {
    const DTYPE: DType = DType::I32;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn as_i64(self) -> Option<i64> {
        Some(self as i64)
    }
    fn typed(xs: &[Self]) -> TypedSlice<'_> {
        TypedSlice::I32(xs)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        false
    }
    #[inline(always)]
    fn key(self) -> u64 {
        ((self as u32) ^ (1 << 31)) as u64
    }
    #[inline(always)]
    fn from_key(key: u64) -> Self {
        ((key as u32) ^ (1 << 31)) as i32
    }
}

impl Integer for i64 {
    fn to_i128(self) -> i128 {
        self as i128
    }
    fn from_i128(v: i128) -> Self {
        v as i64
    }
}

impl Integer for i32 {
    fn to_i128(self) -> i128 {
        self as i128
    }
    fn from_i128(v: i128) -> Self {
        v as i32
    }
}

impl Widen for f64 {
    #[inline(always)]
    fn widen(self) -> f64 {
        self
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load4(p: *const f64) -> std::arch::x86_64::__m256d {
        // SAFETY: the caller's contract.
        unsafe { std::arch::x86_64::_mm256_loadu_pd(p) }
    }
}

impl Widen for i32 {
    const INTEGER: bool = true;
    #[inline(always)]
    fn widen(self) -> f64 {
        self as f64
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load4(p: *const i32) -> std::arch::x86_64::__m256d {
        use std::arch::x86_64::*;
        // SAFETY: the caller's contract.
        unsafe { _mm256_cvtepi32_pd(_mm_loadu_si128(p as *const __m128i)) }
    }
}

impl Widen for f32 {
    #[inline(always)]
    fn widen(self) -> f64 {
        self as f64
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load4(p: *const f32) -> std::arch::x86_64::__m256d {
        use std::arch::x86_64::*;
        // SAFETY: the caller's contract.
        unsafe { _mm256_cvtps_pd(_mm_loadu_ps(p)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_preserve_order_with_nan_last() {
        let xs = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
            f64::NAN,
        ];
        let keys: Vec<u64> = xs.iter().map(|x| x.key()).collect();
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
        assert!((-f64::NAN).key() > f64::INFINITY.key());
        for x in &xs[..7] {
            assert_eq!(f64::from_key(x.key()).to_bits(), x.to_bits());
        }
        assert!(i64::MIN.key() < (-1i64).key() && (-1i64).key() < 0i64.key());
        assert!(i32::MIN.key() < i32::MAX.key());
        assert_eq!(i32::from_key((-7i32).key()), -7);
        assert_eq!(f32::from_key((-2.5f32).key()), -2.5);
    }

    #[test]
    fn names_are_numpys() {
        assert_eq!(<f64 as Element>::NAME, "float64");
        assert_eq!(<f32 as Element>::NAME, "float32");
        assert_eq!(<i64 as Element>::NAME, "int64");
        assert_eq!(<i32 as Element>::NAME, "int32");
    }
}
