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

/// Writes the instruction path the kernels take ("scalar", "avx2" or "avx512", a static
/// string) to `*out`: the CPU's widest, or a narrower one `OXBRIDGE_CPU` forces. When
/// `OXBRIDGE_CPU` names no path, or a wider one than the CPU has, the CPU's own path is
/// written and the call fails with `OXB_UNSUPPORTED` and a message saying why.
///
/// # Safety
/// `out` is NULL or points to writable memory for one pointer.
#[no_mangle]
pub unsafe extern "C" fn oxb_cpu_path(out: *mut *const std::ffi::c_char) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let name: &'static std::ffi::CStr = match crate::runtime::cpu::path() {
            crate::runtime::cpu::Path::Scalar => c"scalar",
            crate::runtime::cpu::Path::Avx2 => c"avx2",
            crate::runtime::cpu::Path::Avx512 => c"avx512",
        };
        out.write(name.as_ptr());
        match crate::runtime::cpu::refused() {
            Some(why) => Err(crate::error::Error::unsupported(why).into()),
            None => Ok(()),
        }
    })
}
