//! Arrow arrays from foreign code, read in place: a primitive array (float64, float32,
//! int64, int32) as a `View` of its values and its validity bitmap. The C Data Interface
//! carries no buffer sizes: the producer promises `offset + length` values; everything
//! the structs do say is checked.

use super::{ArrowArray, ArrowSchema};
use crate::array::{Strided, View};
use crate::ffi::status::{FfiError, FfiResult};
use crate::stats::Validity;
use std::ffi::CStr;

/// An imported array: its values and, when some are null, which.
pub(crate) struct Imported<'a> {
    pub(crate) view: View<'a>,
    pub(crate) validity: Option<Validity<'a>>,
}

/// Reads `array` (described by `schema`) in place, for the length of a call.
///
/// # Safety
/// `array` and `schema` are NULL or valid, unreleased C Data Interface structs whose
/// buffers hold what they declare, alive and unchanged for `'a`.
pub(crate) unsafe fn import<'a>(
    array: *const ArrowArray,
    schema: *const ArrowSchema,
) -> FfiResult<Imported<'a>> {
    if array.is_null() {
        return Err(FfiError::null("array"));
    }
    if schema.is_null() {
        return Err(FfiError::null("schema"));
    }
    // SAFETY: the caller's contract: valid structs.
    let (a, s) = unsafe { (&*array, &*schema) };
    if a.release.is_none() || s.release.is_none() {
        return Err(FfiError::invalid("the Arrow array or schema is released"));
    }
    if s.format.is_null() {
        return Err(FfiError::invalid("the Arrow schema has no format"));
    }
    // SAFETY: a valid schema's format is a NUL-terminated string.
    let format = unsafe { CStr::from_ptr(s.format) }.to_string_lossy();
    if !s.dictionary.is_null() || !a.dictionary.is_null() {
        return Err(FfiError::from(crate::Error::unsupported(
            "dictionary-encoded Arrow arrays are not supported: decode them first",
        )));
    }
    let size = match format.as_ref() {
        "g" | "l" => 8,
        "f" | "i" => 4,
        other => {
            return Err(FfiError::from(crate::Error::unsupported(format!(
                "Arrow arrays of format {other:?} are not supported: float64 (\"g\"), float32 (\"f\"), \
                 int64 (\"l\") and int32 (\"i\") are"
            ))))
        }
    };
    if a.length < 0 || a.offset < 0 || a.null_count < -1 || a.n_buffers != 2 || a.n_children != 0 {
        return Err(FfiError::invalid(format!(
            "not a valid primitive Arrow array: length {}, offset {}, null_count {}, {} buffers, {} children",
            a.length, a.offset, a.null_count, a.n_buffers, a.n_children
        )));
    }
    let (len, offset) = (a.length as usize, a.offset as usize);
    if a.buffers.is_null() {
        return Err(FfiError::invalid("the Arrow array's buffers are NULL"));
    }
    // SAFETY: n_buffers is 2 (checked): the array of buffer pointers has two entries.
    let (bitmap, values) = unsafe { (*a.buffers, *a.buffers.add(1)) };
    offset
        .checked_add(len)
        .and_then(|end| end.checked_mul(size))
        .filter(|&bytes| bytes <= isize::MAX as usize)
        .ok_or_else(|| FfiError::invalid("the Arrow array's offset + length overflow"))?;
    let data = if len == 0 {
        std::ptr::NonNull::<u64>::dangling().as_ptr().cast::<u8>()
    } else if values.is_null() {
        return Err(FfiError::invalid("the Arrow array's values buffer is NULL"));
    } else {
        // SAFETY: the producer's buffer holds offset + length values (its contract).
        unsafe { values.cast::<u8>().add(offset * size) }
    };
    if !(data as usize).is_multiple_of(size) {
        return Err(FfiError::invalid(format!(
            "the Arrow array's values are not aligned to {size} bytes"
        )));
    }
    // SAFETY: `len` values from `data`, aligned (checked), alive for 'a (the contract).
    let view = unsafe {
        match format.as_ref() {
            "g" => View::F64(Strided::from_raw_parts(data.cast(), len, 1)),
            "f" => View::F32(Strided::from_raw_parts(data.cast(), len, 1)),
            "l" => View::I64(Strided::from_raw_parts(data.cast(), len, 1)),
            _ => View::I32(Strided::from_raw_parts(data.cast(), len, 1)),
        }
    };
    let validity = if a.null_count == 0 || len == 0 {
        None
    } else if bitmap.is_null() {
        if a.null_count > 0 {
            return Err(FfiError::invalid(
                "the Arrow array has nulls but no validity bitmap",
            ));
        }
        None // null_count -1 (unknown) and no bitmap: no nulls
    } else {
        // SAFETY: a validity bitmap holds a bit for each of offset + length values.
        let bits =
            unsafe { std::slice::from_raw_parts(bitmap.cast::<u8>(), (offset + len).div_ceil(8)) };
        Some(Validity { bits, offset })
    };
    Ok(Imported { view, validity })
}

/// Runs `f` on the values of an imported array as functions that read NaN as missing
/// take them: the array itself when nothing is null, else a float64 copy with NaN at
/// the nulls.
pub(crate) fn with_nulls_as_nan<R>(imported: Imported<'_>, f: impl FnOnce(View<'_>) -> R) -> R {
    match imported.validity {
        None => f(imported.view),
        Some(validity) => {
            let view = imported.view;
            let copy: Vec<f64> = (0..view.len())
                .map(|i| {
                    if validity.get(i) {
                        view.get_f64(i)
                    } else {
                        f64::NAN
                    }
                })
                .collect();
            f(View::F64(Strided::from_slice(&copy)))
        }
    }
}
