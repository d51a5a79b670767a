//! Fault injection for the file reader, so that every OS failure it can meet is tested:
//! with the `test-hooks` feature, every OS-level operation the reader does on a file
//! calls `check` first, and the operation armed by `arm(n)` (the n-th checked from then
//! on, process-wide) fails with EIO instead of running. The errors take the reader's own error paths
//! (`Error::io` with the path), so the tests prove each of them returns cleanly.
//! Without the feature `check` is an inline `Ok(())`: nothing is counted or compiled in.
//!
//! The operations (names as `check` gets them):
//! - `stat`, `open`, `mmap`: opening a dataset (`mapping::map_file`). A short mapping is simulated
//!   as the mmap failing with EIO: a mapping is all or nothing, the reader has no
//!   `read()` that could come back short;
//! - `probe.open`, `probe.read`: the one `read()`, probing a file that reports a size of 0
//!   for content (/proc files). A failed probe counts as "no content", by design;
//! - `restat`: the size re-check before each scan (`Mapping::check_unchanged`);
//! - `madvise`: each page release (`MADV_DONTNEED`). Advisory: a failure is ignored,
//!   by design, and the result must be unchanged.

#[cfg(feature = "test-hooks")]
mod armed {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    static FAIL_AT: AtomicU64 = AtomicU64::new(0);
    static OPS: AtomicU64 = AtomicU64::new(0);
    static FAILED: Mutex<Option<&'static str>> = Mutex::new(None);

    fn failed() -> std::sync::MutexGuard<'static, Option<&'static str>> {
        FAILED.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fails the `n`-th checked operation from now (0: none) and restarts the count.
    pub fn arm(n: u64) {
        FAIL_AT.store(0, Ordering::SeqCst);
        OPS.store(0, Ordering::SeqCst);
        *failed() = None;
        FAIL_AT.store(n, Ordering::SeqCst);
    }

    /// Operations checked since the last `arm`.
    pub fn ops() -> u64 {
        OPS.load(Ordering::SeqCst)
    }

    /// The operation that was failed since the last `arm`, if any.
    pub fn failed_op() -> Option<&'static str> {
        *failed()
    }

    /// Counts one operation; fails it with EIO if it is the armed one.
    pub fn check(op: &'static str) -> std::io::Result<()> {
        let n = OPS.fetch_add(1, Ordering::SeqCst) + 1;
        if n == FAIL_AT.load(Ordering::SeqCst) {
            *failed() = Some(op);
            return Err(std::io::Error::from_raw_os_error(libc::EIO));
        }
        Ok(())
    }
}

#[cfg(feature = "test-hooks")]
pub use armed::*;

/// Without the `test-hooks` feature: nothing to inject, nothing to count.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub fn check(_op: &'static str) -> std::io::Result<()> {
    Ok(())
}
