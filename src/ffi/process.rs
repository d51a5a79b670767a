//! In-place array processing.

use super::guard;
use super::status::{oxb_status, FfiError};
use super::view::{oxb_view, read_view_mut};
use crate::array::{StridedMut, ViewMut};
use crate::process::scale_offset;
use std::ffi::c_int;

/// Doubles `length` doubles at `data` in place, in parallel for large arrays.
/// The seed-compatible entry point of the integration guide. Returns 0, or a negative
/// `oxb_status` (`-OXB_NULL_POINTER` for NULL with `length > 0`, `-OXB_INVALID_ARGUMENT`
/// for a negative length) with the message in `oxb_last_error_message()`.
///
/// # Safety
/// `data` is NULL or points to `length` writable doubles that nothing else uses during
/// the call.
#[no_mangle]
pub unsafe extern "C" fn process_array(data: *mut f64, length: c_int) -> c_int {
    let status = guard::call(|| {
        let len = usize::try_from(length)
            .map_err(|_| FfiError::invalid(format!("length must not be negative, got {length}")))?;
        if len == 0 {
            return Ok(());
        }
        if data.is_null() {
            return Err(FfiError::null(&format!("data (with length {length})")));
        }
        if !(data as usize).is_multiple_of(std::mem::align_of::<f64>()) {
            return Err(FfiError::invalid(format!(
                "data {data:p} is not aligned for double"
            )));
        }
        // SAFETY: the caller lends `len` contiguous doubles for the call.
        let view = unsafe { StridedMut::from_raw_parts(data, len, 1) };
        Ok(scale_offset(ViewMut::F64(view), 2.0, 0.0)?)
    });
    -(status as c_int)
}

/// Replaces every element `x` of `view` by `x * scale + offset`, in place and in parallel.
/// Float arrays compute in double precision. Integer arrays need integral `scale` and
/// `offset` and results that fit the dtype; that is checked first, so on
/// `OXB_INVALID_ARGUMENT` the data is unchanged.
///
/// # Safety
/// `view` is NULL or points to an `oxb_view` whose `len` elements are writable and not
/// used by anything else during the call.
#[no_mangle]
pub unsafe extern "C" fn oxb_process_array(
    view: *const oxb_view,
    scale: f64,
    offset: f64,
) -> oxb_status {
    guard::call(|| {
        let column = read_view_mut(view, "view")?;
        Ok(scale_offset(column, scale, offset)?)
    })
}
