//! The one place that reads a caller's pointer arguments: out-parameters, arrays of
//! plain values, and C strings. (Array views, `oxb_view`/`oxb_view2d`, are read by
//! `view.rs`.) Each reader checks for NULL and names the argument in its error, so an
//! export states its pointer arguments once and never dereferences one by hand.

use super::status::{FfiError, FfiResult};
use std::ffi::{c_char, CStr, CString};
use std::ptr::NonNull;

/// An out-parameter, checked non-NULL before any work is done. It is written once, at
/// the end of a successful call: a failed call leaves the caller's memory untouched.
pub(super) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks `ptr`, the argument called `name`.
    ///
    /// # Safety
    /// `ptr` is NULL or points to writable memory for one `T` for the rest of the call.
    pub(super) unsafe fn new(ptr: *mut T, name: &str) -> FfiResult<Out<T>> {
        NonNull::new(ptr)
            .map(Out)
            .ok_or_else(|| FfiError::null(name))
    }

    /// Writes the result.
    pub(super) fn write(self, value: T) {
        // SAFETY: non-NULL and writable for one `T`, the contract of `Out::new`.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// An in-out parameter: the caller's value on entry, replaced at the end of a successful
/// call (a cursor that a call advances).
pub(super) struct InOut<T>(NonNull<T>);

impl<T: Copy> InOut<T> {
    /// Checks `ptr`, the argument called `name`.
    ///
    /// # Safety
    /// `ptr` is NULL or points to an initialised, readable and writable `T` for the rest
    /// of the call.
    pub(super) unsafe fn new(ptr: *mut T, name: &str) -> FfiResult<InOut<T>> {
        NonNull::new(ptr)
            .map(InOut)
            .ok_or_else(|| FfiError::null(name))
    }

    /// The value the caller passed.
    pub(super) fn get(&self) -> T {
        // SAFETY: non-NULL, readable and initialised, the contract of `InOut::new`.
        unsafe { self.0.as_ptr().read() }
    }

    /// Writes the new value.
    pub(super) fn write(self, value: T) {
        // SAFETY: non-NULL and writable, the contract of `InOut::new`.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// An out-parameter array of `len` elements, checked non-NULL (unless empty) before any
/// work is done, and written at the end of a successful call.
pub(super) struct OutSlice<T> {
    ptr: *mut T,
    len: usize,
}

impl<T> OutSlice<T> {
    /// Checks `ptr`, the argument called `name`, which is NULL only when `len` is 0.
    ///
    /// # Safety
    /// `ptr` is NULL or points to `len` writable, properly aligned `T` for the rest of the
    /// call, which nothing else reads or writes meanwhile.
    pub(super) unsafe fn new(ptr: *mut T, len: usize, name: &str) -> FfiResult<OutSlice<T>> {
        if ptr.is_null() && len > 0 {
            return Err(FfiError::null(name));
        }
        Ok(OutSlice { ptr, len })
    }

    /// Writes `values`, exactly `len` of them (fewer or more is a bug of the caller in
    /// `src/ffi`, not of the C caller, and panics, which the guard reports).
    pub(super) fn write_all(self, values: impl ExactSizeIterator<Item = T>) {
        assert_eq!(
            values.len(),
            self.len,
            "OutSlice::write_all with a wrong count"
        );
        for (i, value) in values.enumerate() {
            // SAFETY: i < len, and the contract of `OutSlice::new`.
            unsafe { self.ptr.add(i).write(value) };
        }
    }
}

/// The caller's value behind `ptr`, the argument called `name`.
///
/// # Safety
/// `ptr` is NULL or points to a readable, properly aligned `T` that nothing writes
/// during the call.
pub(super) unsafe fn read<'a, T>(ptr: *const T, name: &str) -> FfiResult<&'a T> {
    // SAFETY: the caller's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| FfiError::null(name))
}

/// `len` values from the caller's array `ptr`, the argument called `name`; NULL is
/// allowed when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable, properly aligned `T` that nothing writes
/// during the call.
pub(super) unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &str) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    // SAFETY: non-NULL, and the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The caller's writable array of `len` values, which the domain code fills in place;
/// NULL is allowed when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` writable, properly aligned and initialised `T` that
/// nothing else reads or writes during the call.
pub(super) unsafe fn slice_mut<'a, T>(
    ptr: *mut T,
    len: usize,
    name: &str,
) -> FfiResult<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    // SAFETY: non-NULL, and the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// The caller's NUL-terminated string `text`, the argument called `name`, as bytes.
///
/// # Safety
/// `text` is NULL or points to a NUL-terminated string that lives for the call.
pub(super) unsafe fn c_bytes<'a>(text: *const c_char, name: &str) -> FfiResult<&'a [u8]> {
    if text.is_null() {
        return Err(FfiError::null(name));
    }
    // SAFETY: non-NULL, and the caller's contract.
    Ok(unsafe { CStr::from_ptr(text) }.to_bytes())
}

/// The caller's NUL-terminated UTF-8 string `text`, the argument called `name`.
///
/// # Safety
/// As `c_bytes`.
pub(super) unsafe fn utf8<'a>(text: *const c_char, name: &str) -> FfiResult<&'a str> {
    // SAFETY: the caller's contract, passed on.
    let bytes = unsafe { c_bytes(text, name) }?;
    std::str::from_utf8(bytes).map_err(|_| FfiError::invalid(format!("{name} is not valid UTF-8")))
}

/// As `utf8`, with NULL meaning "not given".
///
/// # Safety
/// As `c_bytes`.
pub(super) unsafe fn optional_utf8<'a>(
    text: *const c_char,
    name: &str,
) -> FfiResult<Option<&'a str>> {
    if text.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's contract, passed on.
    unsafe { utf8(text, name) }.map(Some)
}

/// `text` as a C string for the caller to read; a NUL inside it (from a file's bytes) is
/// shown as the two characters `\0` instead of cutting the string short.
pub(super) fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::oxb_status;

    #[test]
    fn null_arguments_are_named() {
        // SAFETY: NULL is allowed by every contract here.
        let err = unsafe { Out::<u64>::new(std::ptr::null_mut(), "out") }
            .err()
            .unwrap();
        assert_eq!(err.status, oxb_status::OXB_NULL_POINTER);
        assert!(err.message.contains("out"), "{}", err.message);
        // SAFETY: as above.
        let err = unsafe { utf8(std::ptr::null(), "source") }.unwrap_err();
        assert!(err.message.contains("source"), "{}", err.message);
        // SAFETY: as above.
        assert!(unsafe { slice::<f64>(std::ptr::null(), 0, "q") }
            .unwrap()
            .is_empty());
        // SAFETY: as above.
        assert!(unsafe { slice::<f64>(std::ptr::null(), 2, "q") }.is_err());
        // SAFETY: as above.
        assert!(unsafe { slice_mut::<f64>(std::ptr::null_mut(), 1, "out") }.is_err());
        // SAFETY: as above.
        assert!(unsafe { optional_utf8(std::ptr::null(), "x") }
            .unwrap()
            .is_none());
    }

    #[test]
    fn values_round_trip() {
        let mut slot = 0u64;
        // SAFETY: a live local.
        unsafe { Out::new(&mut slot, "out") }.unwrap().write(7);
        assert_eq!(slot, 7);
        let mut many = [0u32; 3];
        // SAFETY: a live local array of 3.
        unsafe { OutSlice::new(many.as_mut_ptr(), 3, "out") }
            .unwrap()
            .write_all([1, 2, 3].into_iter());
        assert_eq!(many, [1, 2, 3]);
        let text = CString::new("naïve").unwrap();
        // SAFETY: a live C string.
        assert_eq!(unsafe { utf8(text.as_ptr(), "t") }.unwrap(), "naïve");
        assert_eq!(c_string("a\0b").to_str().unwrap(), "a\\0b");
        let mut cursor = 5u64;
        // SAFETY: a live, initialised local.
        let in_out = unsafe { InOut::new(&mut cursor, "cursor") }.unwrap();
        assert_eq!(in_out.get(), 5);
        in_out.write(9);
        assert_eq!(cursor, 9);
    }
}
