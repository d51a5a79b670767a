//! In-place elementwise kernels.

use crate::array::{Element, Integer, Strided, StridedMut, ViewMut};
use crate::error::{Error, Result};
use crate::runtime::pool::{for_each_chunk_mut, map_chunks, CHUNK_LEN, MIN_PARALLEL_LEN};

/// Float scaling runs at memory speed: below this many elements one thread is done
/// before the pool's sleeping workers wake (tens of microseconds on a VM, measured by
/// `bench/bench_process_array.py`), so the pool is left alone.
const MIN_PARALLEL_STREAMING: usize = 1 << 20;

/// Replaces every `x` by `x * scale + offset`, in parallel for large arrays.
///
/// An offset of 0 adds nothing at all, so `-0.0 * 2` stays `-0.0` as in numpy's `a * 2`
/// (adding `+0.0` would turn it into `+0.0`).
///
/// Floats compute in float64 (float32 results are rounded once). Integers need integral
/// `scale` and `offset`, and every result must fit the dtype: that is checked before
/// anything is written, so on error the caller's data is untouched.
pub fn scale_offset(column: ViewMut<'_>, scale: f64, offset: f64) -> Result<()> {
    const MIN: usize = MIN_PARALLEL_STREAMING;
    match column {
        ViewMut::F64(v) if offset == 0.0 => {
            for_each_chunk_mut(v, MIN, |c| map_wide(c, |x| x * scale))
        }
        ViewMut::F64(v) => for_each_chunk_mut(v, MIN, |c| map_wide(c, |x| x * scale + offset)),
        ViewMut::F32(v) if offset == 0.0 => {
            for_each_chunk_mut(v, MIN, |c| map_wide(c, |x| (x as f64 * scale) as f32))
        }
        ViewMut::F32(v) => for_each_chunk_mut(v, MIN, |c| {
            map_wide(c, |x| (x as f64 * scale + offset) as f32)
        }),
        ViewMut::I64(v) => scale_offset_int(v, scale, offset, i64::MIN as i128, i64::MAX as i128),
        ViewMut::I32(v) => scale_offset_int(v, scale, offset, i32::MIN as i128, i32::MAX as i128),
    }
}

/// Replaces every `x` of `piece` by `op(x)`; a contiguous piece with the CPU's widest
/// vectors (the library is built for baseline x86-64, whose SSE2 halves the speed of a
/// loop that runs from cache).
fn map_wide<T: Element>(mut piece: StridedMut<'_, T>, op: impl Fn(T) -> T + Copy) {
    let Some(xs) = piece.as_mut_slice() else {
        piece.update(op);
        return;
    };
    #[cfg(target_arch = "x86_64")]
    {
        if crate::runtime::cpu::has_avx2() {
            // SAFETY: the CPU supports AVX2, checked just above (runtime::cpu).
            return unsafe { map_avx2(xs, op) };
        }
    }
    map_slice(xs, op)
}

#[inline(always)]
fn map_slice<T: Copy>(xs: &mut [T], op: impl Fn(T) -> T) {
    for x in xs {
        *x = op(*x);
    }
}

/// `map_slice` compiled for AVX2 (`op` is inlined into it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn map_avx2<T: Copy>(xs: &mut [T], op: impl Fn(T) -> T) {
    map_slice(xs, op)
}

fn integral(name: &str, value: f64, dtype: &str) -> Result<i128> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63, exact in binary
    if value.fract() != 0.0 || !(-LIMIT..LIMIT).contains(&value) {
        return Err(Error::invalid_argument(format!(
            "{name} must be an integer within int64 for a {dtype} array, got {value}"
        )));
    }
    Ok(value as i128)
}

fn scale_offset_int<T: Integer>(
    view: StridedMut<'_, T>,
    scale: f64,
    offset: f64,
    lo: i128,
    hi: i128,
) -> Result<()> {
    let s = integral("scale", scale, T::NAME)?;
    let o = integral("offset", offset, T::NAME)?;
    if view.is_empty() {
        return Ok(());
    }
    // x*s + o is monotonic in x, so the extremes of the result come from the extremes of x.
    let (min, max) = int_range(view.as_read())?;
    for (x, end) in [(min, "smallest"), (max, "largest")] {
        let y = x * s + o;
        if y < lo || y > hi {
            return Err(Error::invalid_argument(format!(
                "{x} * {s} + {o} = {y} overflows {} (from the {end} element); nothing was changed",
                T::NAME
            )));
        }
    }
    for_each_chunk_mut(view, MIN_PARALLEL_LEN, |mut c| {
        c.update(|x| T::from_i128(x.to_i128() * s + o))
    })
}

/// Exact (min, max) of a non-empty integer view.
fn int_range<T: Integer>(view: Strided<'_, T>) -> Result<(i128, i128)> {
    let parts = map_chunks(view, CHUNK_LEN, |c| {
        c.iter().fold((i128::MAX, i128::MIN), |(lo, hi), x| {
            (lo.min(x.to_i128()), hi.max(x.to_i128()))
        })
    })?;
    Ok(parts
        .into_iter()
        .fold((i128::MAX, i128::MIN), |(lo, hi), (a, b)| {
            (lo.min(a), hi.max(b))
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_floats_of_both_widths() {
        let mut a: Vec<f64> = (0..100_000).map(|i| i as f64).collect();
        scale_offset(ViewMut::F64(StridedMut::from_slice(&mut a)), 2.0, 1.0).unwrap();
        assert!(a
            .iter()
            .enumerate()
            .all(|(i, &x)| x == 2.0 * i as f64 + 1.0));
        let mut b = [1.5f32, -2.0];
        scale_offset(ViewMut::F32(StridedMut::from_slice(&mut b)), 2.0, 0.0).unwrap();
        assert_eq!(b, [3.0, -4.0]);
    }

    #[test]
    fn negative_zero_stays_negative_without_offset() {
        let mut a = [-0.0f64, 0.0];
        scale_offset(ViewMut::F64(StridedMut::from_slice(&mut a)), 2.0, 0.0).unwrap();
        assert!(a[0].is_sign_negative() && a[1].is_sign_positive());
    }

    #[test]
    fn integer_overflow_is_an_error_and_leaves_data_untouched() {
        let mut a = [1i32, i32::MAX / 2 + 1, 3];
        let before = a;
        let err = scale_offset(ViewMut::I32(StridedMut::from_slice(&mut a)), 2.0, 0.0).unwrap_err();
        assert!(err.message.contains("overflows int32"), "{}", err.message);
        assert_eq!(a, before);
    }

    #[test]
    fn integer_scale_must_be_integral() {
        let mut a = [1i64, 2];
        let err = scale_offset(ViewMut::I64(StridedMut::from_slice(&mut a)), 1.5, 0.0).unwrap_err();
        assert!(err.message.contains("scale must be an integer"));
        scale_offset(ViewMut::I64(StridedMut::from_slice(&mut a)), -3.0, 7.0).unwrap();
        assert_eq!(a, [4, 1]);
    }
}
