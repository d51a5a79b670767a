//! Test-only exports that panic on purpose, so the tests can prove that the guard holds
//! the boundary: the panic becomes `OXB_PANIC` with a message naming its site, nothing is
//! printed, and the library stays usable. Also the switch of the file reader's fault
//! injection (src/dataset/faults.rs). Compiled only with the `test-hooks` feature
//! (`make test-hooks` builds it into target/hooks); the module line in mod.rs carries
//! `cbindgen:ignore`, so none of this is in a default build, the header or its hash.

use super::guard;
use super::status::{oxb_status, FfiError};
use crate::array::StridedMut;
use crate::dataset::faults;
use crate::runtime::pool::{self, WORKER_NAME_PREFIX};
use crate::runtime::progress;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("<unnamed>")
        .to_string()
}

/// Panics on the calling thread inside `guard::call`; returns `OXB_PANIC`.
#[no_mangle]
pub extern "C" fn oxb_test_panic_on_caller() -> oxb_status {
    guard::call(|| -> Result<(), FfiError> { panic!("test hook: panic on the calling thread") })
}

/// Panics on the calling thread inside `guard::value`, with a `String` payload; returns
/// `u64::MAX` (the value the guard returns on a panic).
#[no_mangle]
pub extern "C" fn oxb_test_panic_in_value() -> u64 {
    guard::value(u64::MAX, || -> u64 {
        panic!("test hook: panic in a value export ({})", 6 * 7)
    })
}

/// Panics with a payload that is not a string; returns `OXB_PANIC`.
#[no_mangle]
pub extern "C" fn oxb_test_panic_any() -> oxb_status {
    guard::call(|| -> Result<(), FfiError> { std::panic::panic_any(42_i32) })
}

/// Runs `len` doubles through the library's pool (`pool::for_each_chunk_mut`, the
/// path of `oxb_process_array`); the first piece to start panics on its worker thread
/// once a second piece has started (or after 1 s with a single worker), while every other
/// piece sleeps `linger_ms` before finishing, so other work is in flight when it panics.
/// Returns `OXB_PANIC`; with `len` below the parallel threshold the panic is on the
/// calling thread instead.
#[no_mangle]
pub extern "C" fn oxb_test_panic_in_worker(len: usize, linger_ms: u32) -> oxb_status {
    guard::call(|| {
        let started = AtomicUsize::new(0);
        let mut data = vec![1.0_f64; len];
        let threshold = pool::MIN_PARALLEL_LEN;
        pool::for_each_chunk_mut(StridedMut::from_slice(&mut data), threshold, |mut piece| {
            if started.fetch_add(1, Ordering::SeqCst) == 0 {
                let deadline = Instant::now() + Duration::from_secs(1);
                while started.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
                    std::thread::yield_now();
                }
                panic!("test hook: panic in worker thread {}", thread_name());
            }
            std::thread::sleep(Duration::from_millis(linger_ms.into()));
            piece.update(|x| x * 2.0);
        })?;
        Ok(())
    })
}

/// Panics inside a long call with a progress callback (`progress::run`), whose work runs on a
/// helper thread that hands it to the pool; returns `OXB_PANIC`. `on_pool` != 0 panics
/// on a pool worker, 0 on the helper thread itself.
#[no_mangle]
pub extern "C" fn oxb_test_panic_in_job(on_pool: u32) -> oxb_status {
    guard::call(|| {
        let mut report = |_: u64, _: u64| true;
        progress::run(
            |_| -> crate::Result<()> {
                if on_pool == 0 {
                    panic!(
                        "test hook: panic in the job's helper thread {}",
                        thread_name()
                    );
                }
                let pool = pool::pool()?;
                pool.install(|| {
                    assert!(thread_name().starts_with(WORKER_NAME_PREFIX));
                    panic!("test hook: panic in a job's pool worker {}", thread_name())
                })
            },
            Some(&mut report),
        )?;
        Ok(())
    })
}

/// Arms the file reader's fault injection: the `n`-th file operation from now
/// (process-wide, counted across threads) fails with EIO; 0 turns it off. Either way the
/// count of operations restarts. Returns `OXB_OK`.
#[no_mangle]
pub extern "C" fn oxb_test_fail_io_at(n: u64) -> oxb_status {
    guard::call(|| -> Result<(), FfiError> {
        faults::arm(n);
        Ok(())
    })
}

/// The number of file operations checked since the last `oxb_test_fail_io_at`.
#[no_mangle]
pub extern "C" fn oxb_test_io_ops() -> u64 {
    guard::value(u64::MAX, faults::ops)
}

/// Writes the name of the operation failed since the last `oxb_test_fail_io_at` (e.g.
/// "mmap"), NUL-terminated, to `buf` (room for `len` bytes) and returns its length; 0
/// (and an empty string) when none was failed. `buf` may be NULL to ask for the length.
///
/// # Safety
/// `buf` is NULL or writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn oxb_test_io_failed_op(buf: *mut u8, len: usize) -> usize {
    guard::value(0, || {
        let name = faults::failed_op().unwrap_or("");
        if !buf.is_null() && len > 0 {
            let n = name.len().min(len - 1);
            // SAFETY: the caller gives room for `len` bytes; at most `len` are written.
            unsafe {
                std::ptr::copy_nonoverlapping(name.as_ptr(), buf, n);
                buf.add(n).write(0);
            }
        }
        name.len()
    })
}
