//! The per-thread message of the last failure.

use super::args::{c_string, Out};
use super::guard;
use super::status::oxb_status;
use crate::error::Detail;
use std::cell::RefCell;
use std::ffi::{c_char, CString};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    static LAST_DETAIL: RefCell<StoredDetail> = RefCell::new(StoredDetail::default());
}

/// The detail of the last failure, with its strings kept alive for C.
#[derive(Default)]
struct StoredDetail {
    path: CString,
    column: CString,
    os_code: i32,
    line: u64,
}

pub(crate) fn set(message: &str) {
    set_with_detail(message, None);
}

pub(crate) fn set_with_detail(message: &str, detail: Option<&Detail>) {
    LAST_ERROR.with(|slot| *slot.borrow_mut() = c_string(message));
    LAST_DETAIL.with(|slot| {
        *slot.borrow_mut() = match detail {
            Some(d) => StoredDetail {
                path: c_string(&d.path),
                column: c_string(&d.column),
                os_code: d.os_code,
                line: d.line,
            },
            None => StoredDetail::default(),
        }
    });
}

/// Where the last failure on this thread happened, for errors about files.
#[repr(C)]
pub struct oxb_error_detail {
    /// The file's path, "" when the error is not about a file.
    pub path: *const c_char,
    /// The operating system's error number (errno) of an I/O error, else 0.
    pub os_code: i32,
    /// 1-based line in the file (a header line counts), 0 when unknown.
    pub line: u64,
    /// The column's name, "" when unknown.
    pub column: *const c_char,
}

/// Writes the detail of the last failed call on the calling thread to `*out` (all empty
/// when it had none). The strings stay valid until the next failing `oxb_` call on this
/// thread.
///
/// # Safety
/// `out` is NULL or points to writable memory for one `oxb_error_detail`.
#[no_mangle]
pub unsafe extern "C" fn oxb_last_error_detail(out: *mut oxb_error_detail) -> oxb_status {
    // guard::value, not guard::call: a NULL `out` must not overwrite the error being read.
    guard::value(oxb_status::OXB_PANIC, || {
        // SAFETY: the contract of this function.
        let Ok(out) = (unsafe { Out::new(out, "out") }) else {
            return oxb_status::OXB_NULL_POINTER;
        };
        let detail = LAST_DETAIL.with(|slot| {
            let d = slot.borrow();
            oxb_error_detail {
                path: d.path.as_ptr(),
                os_code: d.os_code,
                line: d.line,
                column: d.column.as_ptr(),
            }
        });
        out.write(detail);
        oxb_status::OXB_OK
    })
}

/// The message of the last failed call on the calling thread, "" if none failed yet.
/// The pointer stays valid until the next failing `oxb_` call on this thread; never NULL.
#[no_mangle]
pub extern "C" fn oxb_last_error_message() -> *const c_char {
    static EMPTY: &[u8] = b"\0";
    guard::value(EMPTY.as_ptr().cast(), || {
        LAST_ERROR.with(|slot| slot.borrow().as_ptr())
    })
}
