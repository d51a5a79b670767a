//! `oxb_view`: how an array crosses the boundary, and its checked conversion to the
//! domain's views.

use super::status::{FfiError, FfiResult};
use crate::array::{Element, Strided, Strided2d, StridedMut, View, View2d, ViewMut};
use std::ffi::c_void;

/// Element type tag of an `oxb_view`: one of the `OXB_DTYPE_*` values.
pub type oxb_dtype = u32;
/// IEEE 754 binary64 (`double`).
pub const OXB_DTYPE_F64: oxb_dtype = 1;
/// IEEE 754 binary32 (`float`).
pub const OXB_DTYPE_F32: oxb_dtype = 2;
/// `int64_t`.
pub const OXB_DTYPE_I64: oxb_dtype = 3;
/// `int32_t`.
pub const OXB_DTYPE_I32: oxb_dtype = 4;

/// A 1-D strided array in the caller's memory, the shape of a 1-D DLPack tensor.
/// Element `i` is at `(char *)data + i * stride * sizeof(element)`; the stride is in
/// elements and may be negative (or 0 for a read-only broadcast). `data` must be aligned
/// for its dtype. The library never keeps or frees the memory after a call returns.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct oxb_view {
    /// Address of element 0. May be NULL only when `len` is 0.
    pub data: *mut c_void,
    /// Number of elements.
    pub len: usize,
    /// Distance between consecutive elements, in elements.
    pub stride: isize,
    /// One of the `OXB_DTYPE_*` values.
    pub dtype: oxb_dtype,
}

/// Checks that every element lies in one addressable allocation-sized span.
fn check_layout<T: Element>(view: &oxb_view, name: &str, writable: bool) -> FfiResult<()> {
    if view.data.is_null() {
        return Err(FfiError::null(&format!(
            "{name}.data (with len {})",
            view.len
        )));
    }
    if !(view.data as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(FfiError::invalid(format!(
            "{name}.data {:p} is not aligned for {} ({} bytes)",
            view.data,
            T::NAME,
            std::mem::align_of::<T>()
        )));
    }
    if writable && view.stride == 0 && view.len > 1 {
        return Err(FfiError::invalid(format!(
            "{name}.stride is 0, so its {} elements are one; a writable view needs distinct elements",
            view.len
        )));
    }
    let span = (view.len as u128 - 1) * view.stride.unsigned_abs() as u128 + 1;
    if span * std::mem::size_of::<T>() as u128 > isize::MAX as u128 {
        return Err(FfiError::invalid(format!(
            "{name} spans more than the address space ({} elements with stride {})",
            view.len, view.stride
        )));
    }
    Ok(())
}

fn strided<'a, T: Element>(view: &oxb_view, name: &str) -> FfiResult<Strided<'a, T>> {
    if view.len == 0 {
        return Ok(Strided::from_slice(&[]));
    }
    check_layout::<T>(view, name, false)?;
    // SAFETY: the caller promises `len` valid elements at `stride`; layout checked above.
    Ok(unsafe { Strided::from_raw_parts(view.data as *const T, view.len, view.stride) })
}

fn strided_mut<'a, T: Element>(view: &oxb_view, name: &str) -> FfiResult<StridedMut<'a, T>> {
    if view.len == 0 {
        return Ok(StridedMut::from_slice(&mut []));
    }
    check_layout::<T>(view, name, true)?;
    // SAFETY: as above, and the caller lends these distinct elements for the call.
    Ok(unsafe { StridedMut::from_raw_parts(view.data as *mut T, view.len, view.stride) })
}

fn unknown_dtype(name: &str, dtype: oxb_dtype) -> FfiError {
    FfiError::invalid(format!(
        "{name}.dtype {dtype} is not one of OXB_DTYPE_F64 (1), F32 (2), I64 (3), I32 (4)"
    ))
}

fn read<'a>(view: *const oxb_view, name: &str) -> FfiResult<&'a oxb_view> {
    // SAFETY: a non-NULL pointer to an `oxb_view` is the caller's promise.
    unsafe { view.as_ref() }.ok_or_else(|| FfiError::null(name))
}

/// A read-only column from a caller's view.
pub(crate) fn read_view<'a>(view: *const oxb_view, name: &str) -> FfiResult<View<'a>> {
    let v = read(view, name)?;
    Ok(match v.dtype {
        OXB_DTYPE_F64 => View::F64(strided(v, name)?),
        OXB_DTYPE_F32 => View::F32(strided(v, name)?),
        OXB_DTYPE_I64 => View::I64(strided(v, name)?),
        OXB_DTYPE_I32 => View::I32(strided(v, name)?),
        other => return Err(unknown_dtype(name, other)),
    })
}

/// A writable column from a caller's view.
pub(crate) fn read_view_mut<'a>(view: *const oxb_view, name: &str) -> FfiResult<ViewMut<'a>> {
    let v = read(view, name)?;
    Ok(match v.dtype {
        OXB_DTYPE_F64 => ViewMut::F64(strided_mut(v, name)?),
        OXB_DTYPE_F32 => ViewMut::F32(strided_mut(v, name)?),
        OXB_DTYPE_I64 => ViewMut::I64(strided_mut(v, name)?),
        OXB_DTYPE_I32 => ViewMut::I32(strided_mut(v, name)?),
        other => return Err(unknown_dtype(name, other)),
    })
}

/// A 2-D strided array in the caller's memory: element `(i, j)` is at
/// `data + i * row_stride + j * col_stride` elements. C order has `row_stride = cols,
/// col_stride = 1`; Fortran order `row_stride = 1, col_stride = rows`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct oxb_view2d {
    /// Address of element (0, 0). May be NULL only when there are no elements.
    pub data: *mut c_void,
    pub rows: usize,
    pub cols: usize,
    /// Distance between rows, in elements.
    pub row_stride: isize,
    /// Distance between columns, in elements.
    pub col_stride: isize,
    /// One of the `OXB_DTYPE_*` values.
    pub dtype: oxb_dtype,
}

fn typed_matrix<'a, T: Element>(m: &oxb_view2d, name: &str) -> FfiResult<Strided2d<'a, T>> {
    let count = m.rows.checked_mul(m.cols).ok_or_else(|| {
        FfiError::invalid(format!(
            "{name} has {} x {} elements, too many",
            m.rows, m.cols
        ))
    })?;
    if count == 0 {
        // SAFETY: no element is ever read.
        return Ok(unsafe {
            Strided2d::from_raw_parts(std::ptr::NonNull::dangling().as_ptr(), m.rows, m.cols, 0, 0)
        });
    }
    // Each axis must span addressable memory, like a 1-D view does.
    for (len, stride, what) in [(m.rows, m.row_stride, "row"), (m.cols, m.col_stride, "col")] {
        let as_view = oxb_view {
            data: m.data,
            len,
            stride,
            dtype: m.dtype,
        };
        check_layout::<T>(&as_view, &format!("{name} ({what}s)"), false)?;
    }
    let span = (m.rows as u128 - 1) * m.row_stride.unsigned_abs() as u128
        + (m.cols as u128 - 1) * m.col_stride.unsigned_abs() as u128
        + 1;
    if span * std::mem::size_of::<T>() as u128 > isize::MAX as u128 {
        return Err(FfiError::invalid(format!(
            "{name} spans more than the address space"
        )));
    }
    // SAFETY: the caller promises every (i, j) is a readable element; layout checked.
    Ok(unsafe {
        Strided2d::from_raw_parts(
            m.data as *const T,
            m.rows,
            m.cols,
            m.row_stride,
            m.col_stride,
        )
    })
}

/// A read-only 2-D view from a caller's `oxb_view2d`.
pub(crate) fn read_view2d<'a>(view: *const oxb_view2d, name: &str) -> FfiResult<View2d<'a>> {
    // SAFETY: a non-NULL pointer to an `oxb_view2d` is the caller's promise.
    let m = unsafe { view.as_ref() }.ok_or_else(|| FfiError::null(name))?;
    Ok(match m.dtype {
        OXB_DTYPE_F64 => View2d::F64(typed_matrix(m, name)?),
        OXB_DTYPE_F32 => View2d::F32(typed_matrix(m, name)?),
        OXB_DTYPE_I64 => View2d::I64(typed_matrix(m, name)?),
        OXB_DTYPE_I32 => View2d::I32(typed_matrix(m, name)?),
        other => return Err(unknown_dtype(name, other)),
    })
}
