//! Library-wide settings and state: the number of worker threads, the live handles.

use super::args::Out;
use super::guard;
use super::handles;
use super::status::oxb_status;
use crate::runtime::pool;

/// Sets the number of worker threads for parallel work; 0 restores the default
/// (the `OXBRIDGE_NUM_THREADS` environment variable, else one per core).
#[no_mangle]
pub extern "C" fn oxb_set_num_threads(threads: usize) -> oxb_status {
    guard::call(|| Ok(pool::set_num_threads(threads)?))
}

/// Writes the number of worker threads parallel work uses to `*out`.
///
/// # Safety
/// `out` is NULL or points to writable memory for one `size_t`.
#[no_mangle]
pub unsafe extern "C" fn oxb_num_threads(out: *mut usize) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(pool::num_threads()?);
        Ok(())
    })
}

/// The number of live handles of every kind (for leak checks).
#[no_mangle]
pub extern "C" fn oxb_live_handles() -> usize {
    guard::value(0, handles::live)
}
