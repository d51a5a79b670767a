//! The per-thread message of the last failure.

use super::guard;
use std::cell::RefCell;
use std::ffi::{c_char, CString};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set(message: &str) {
    // A message is text for people; an interior NUL would cut it short in C.
    let clean = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = clean);
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
