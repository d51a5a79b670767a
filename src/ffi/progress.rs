//! Progress reports and cancellation for C callers: the callback type, and the bridge
//! from it to the domain's `runtime::progress` (called on the caller's thread only).

use crate::runtime::progress;
use std::ffi::{c_int, c_void};

/// Reports progress of a long call: `done` out of `total` units (bytes). Called only on
/// the thread that made the call, about every 100 ms and once at the end; returning
/// non-zero cancels the work, which then returns `OXB_CANCELLED`.
pub type oxb_progress_fn =
    Option<unsafe extern "C" fn(done: u64, total: u64, user: *mut c_void) -> c_int>;

/// Runs `work` with the caller's progress callback, if any.
pub(super) fn with_progress<R: Send>(
    progress: oxb_progress_fn,
    user: *mut c_void,
    work: impl FnOnce(&progress::Progress) -> crate::Result<R> + Send,
) -> crate::Result<R> {
    match progress {
        None => progress::run(work, None),
        Some(callback) => {
            let mut report = |done: u64, total: u64| {
                // SAFETY: the caller's callback with the caller's pointer, on its thread.
                unsafe { callback(done, total, user) == 0 }
            };
            progress::run(work, Some(&mut report))
        }
    }
}
