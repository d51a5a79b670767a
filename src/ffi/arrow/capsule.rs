//! What Python's PyCapsule protocol needs without a C extension: the structs on our heap
//! (so that a capsule destructor in native code can free them), and those destructors.
//! A destructor written in Python would run at interpreter shutdown when Python can no
//! longer run it; these are plain C functions. They find the struct through
//! `PyCapsule_GetPointer`, whose address Python gives once (`oxb_arrow_set_capsule_api`):
//! the library itself does not link against Python.

use super::{ArrowArray, ArrowArrayStream, ArrowSchema};
use crate::ffi::guard;
use crate::ffi::status::{oxb_status, FfiError};
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

/// `oxb_arrow_new`/`oxb_arrow_free` kinds: a `struct ArrowSchema`.
pub const OXB_ARROW_SCHEMA: u32 = 0;
/// A `struct ArrowArray`.
pub const OXB_ARROW_ARRAY: u32 = 1;
/// A `struct ArrowArrayStream`.
pub const OXB_ARROW_STREAM: u32 = 2;

/// Allocates a released (zeroed) Arrow struct of `kind` (`OXB_ARROW_SCHEMA`,
/// `OXB_ARROW_ARRAY` or `OXB_ARROW_STREAM`) for a caller that cannot allocate memory the
/// library can free (Python). NULL for another kind. Free it with `oxb_arrow_free`.
#[no_mangle]
pub extern "C" fn oxb_arrow_new(kind: u32) -> *mut c_void {
    guard::value(std::ptr::null_mut(), || match kind {
        OXB_ARROW_SCHEMA => Box::into_raw(Box::new(ArrowSchema::EMPTY)).cast(),
        OXB_ARROW_ARRAY => Box::into_raw(Box::new(ArrowArray::EMPTY)).cast(),
        OXB_ARROW_STREAM => Box::into_raw(Box::new(ArrowArrayStream::EMPTY)).cast(),
        _ => std::ptr::null_mut(),
    })
}

/// Releases the struct at `ptr` (made by `oxb_arrow_new` with the same `kind`) if it is
/// not released yet, whoever filled it, then frees it. NULL is ignored.
///
/// # Safety
/// `ptr` is NULL or came from `oxb_arrow_new(kind)` and is not freed yet.
#[no_mangle]
pub unsafe extern "C" fn oxb_arrow_free(kind: u32, ptr: *mut c_void) {
    guard::value((), || {
        if ptr.is_null() {
            return;
        }
        let free: unsafe fn(*mut c_void) = match kind {
            OXB_ARROW_SCHEMA => release_and_free::<ArrowSchema>,
            OXB_ARROW_ARRAY => release_and_free::<ArrowArray>,
            OXB_ARROW_STREAM => release_and_free::<ArrowArrayStream>,
            _ => return,
        };
        // SAFETY: the caller's contract: a struct of `kind` from oxb_arrow_new.
        unsafe { free(ptr) }
    })
}

/// The Arrow structs: each has a release callback, NULL once released.
trait Releasable {
    /// Calls the release callback unless the struct is released already.
    fn release_now(&mut self);
}

macro_rules! releasable {
    ($($t:ty),*) => {$(
        impl Releasable for $t {
            fn release_now(&mut self) {
                if let Some(release) = self.release {
                    // SAFETY: the struct's own producer's callback, on the live struct,
                    // once (a release callback marks the struct released).
                    unsafe { release(self) };
                }
            }
        }
    )*};
}
releasable!(ArrowSchema, ArrowArray, ArrowArrayStream);

/// Releases and frees a struct of `oxb_arrow_new`.
///
/// # Safety
/// `ptr` came from `oxb_arrow_new` for a `T` and is freed here once.
unsafe fn release_and_free<T: Releasable>(ptr: *mut c_void) {
    // SAFETY: the caller's contract: a Box<T> made by oxb_arrow_new.
    let mut b = unsafe { Box::from_raw(ptr.cast::<T>()) };
    b.release_now();
}

/// `void *PyCapsule_GetPointer(PyObject *capsule, const char *name)`.
type GetPointer = unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void;

static GET_POINTER: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());

/// Gives the library the address of `PyCapsule_GetPointer` of the Python that loaded it,
/// which the capsule destructors below call. NULL is refused.
///
/// # Safety
/// `get_pointer` is the address of a function with `PyCapsule_GetPointer`'s signature.
#[no_mangle]
pub unsafe extern "C" fn oxb_arrow_set_capsule_api(get_pointer: *mut c_void) -> oxb_status {
    guard::call(|| {
        if get_pointer.is_null() {
            return Err(FfiError::null("get_pointer"));
        }
        GET_POINTER.store(get_pointer, Ordering::Release);
        Ok(())
    })
}

/// The struct a capsule of ours holds, by its name.
///
/// # Safety
/// `capsule` is a PyCapsule named `name`, and the GIL is held (a capsule destructor).
unsafe fn capsule_pointer(capsule: *mut c_void, name: &'static [u8]) -> *mut c_void {
    let f = GET_POINTER.load(Ordering::Acquire);
    if f.is_null() || capsule.is_null() {
        return std::ptr::null_mut(); // never set: the struct leaks rather than crash
    }
    // SAFETY: set by oxb_arrow_set_capsule_api to PyCapsule_GetPointer.
    let get: GetPointer = unsafe { std::mem::transmute::<*mut c_void, GetPointer>(f) };
    // SAFETY: the caller's contract; `name` is NUL-terminated.
    unsafe { get(capsule, name.as_ptr().cast()) }
}

/// The destructor of a PyCapsule named "arrow_schema" holding an `oxb_arrow_new` schema:
/// releases it unless a consumer moved it out, then frees it.
///
/// # Safety
/// Called by Python with the capsule, GIL held.
#[no_mangle]
pub unsafe extern "C" fn oxb_arrow_capsule_free_schema(capsule: *mut c_void) {
    guard::value((), || {
        // SAFETY: the contract of this function.
        let p = unsafe { capsule_pointer(capsule, b"arrow_schema\0") };
        // SAFETY: our capsules hold oxb_arrow_new(OXB_ARROW_SCHEMA) structs.
        unsafe { oxb_arrow_free(OXB_ARROW_SCHEMA, p) }
    })
}

/// The destructor of a PyCapsule named "arrow_array": see
/// `oxb_arrow_capsule_free_schema`.
///
/// # Safety
/// Called by Python with the capsule, GIL held.
#[no_mangle]
pub unsafe extern "C" fn oxb_arrow_capsule_free_array(capsule: *mut c_void) {
    guard::value((), || {
        // SAFETY: the contract of this function.
        let p = unsafe { capsule_pointer(capsule, b"arrow_array\0") };
        // SAFETY: our capsules hold oxb_arrow_new(OXB_ARROW_ARRAY) structs.
        unsafe { oxb_arrow_free(OXB_ARROW_ARRAY, p) }
    })
}

/// The destructor of a PyCapsule named "arrow_array_stream": see
/// `oxb_arrow_capsule_free_schema`.
///
/// # Safety
/// Called by Python with the capsule, GIL held.
#[no_mangle]
pub unsafe extern "C" fn oxb_arrow_capsule_free_stream(capsule: *mut c_void) {
    guard::value((), || {
        // SAFETY: the contract of this function.
        let p = unsafe { capsule_pointer(capsule, b"arrow_array_stream\0") };
        // SAFETY: our capsules hold oxb_arrow_new(OXB_ARROW_STREAM) structs.
        unsafe { oxb_arrow_free(OXB_ARROW_STREAM, p) }
    })
}
