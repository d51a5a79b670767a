//! Fuzzing facade. Not API: hidden from the docs, and compiled only
//! for the crate's own tests and with the cargo feature `fuzzing`, which the fuzz/ crate
//! turns on. Nothing else in the library uses it.
//!
//! Each public function is the body of one cargo-fuzz target in `fuzz/fuzz_targets/`: it
//! feeds arbitrary bytes to one reader through the same entry points the C ABI uses and
//! panics only when the library misbehaves: a panic of its own, a broken invariant, or
//! two ways of computing one answer that disagree. A refused input (an `Err`) is fine.
//! The tests at the bottom run the same bodies over the seed corpus (`fuzz/seeds/`,
//! `tests/data/csv`) and random mutations of it, so plain `cargo test` on stable runs
//! them without libFuzzer, nightly or sanitizers.

use crate::stats::Stats;

mod csv;
mod expr;
mod npy;
#[cfg(test)]
mod tests;

pub use self::csv::csv;
pub use self::expr::expr;
pub use self::npy::npy;

// ---- files from bytes ----------------------------------------------------------------

/// `data` as a file that `Dataset::open` can map: an anonymous memory file on Linux
/// (`/proc/self/fd/N`: nothing on disk, nothing left behind by a crash), a temporary
/// file elsewhere. The file lives as long as this value.
pub(super) struct MemFile {
    path: String,
    _file: std::fs::File,
    #[cfg(not(target_os = "linux"))]
    remove: std::path::PathBuf,
}

impl MemFile {
    #[cfg(target_os = "linux")]
    pub(super) fn new(data: &[u8]) -> MemFile {
        use std::io::Write;
        use std::os::fd::FromRawFd;
        // SAFETY: a NUL-terminated name; the new descriptor is owned by the File below.
        let fd = unsafe { libc::memfd_create(c"oxbridge-fuzz".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(fd >= 0, "memfd_create: {}", std::io::Error::last_os_error());
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
        file.write_all(data).expect("writing the memory file");
        MemFile {
            path: format!("/proc/self/fd/{fd}"),
            _file: file,
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn new(data: &[u8]) -> MemFile {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "oxbridge-fuzz-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, data).expect("writing the temporary file");
        MemFile {
            path: path.to_string_lossy().into_owned(),
            _file: std::fs::File::open(&path).expect("opening the temporary file"),
            remove: path,
        }
    }
}

#[cfg(not(target_os = "linux"))]
impl Drop for MemFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.remove);
    }
}

/// NaN equals NaN (any payload); everything else bit for bit (so 0.0 is not -0.0).
pub(super) fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Equal as numbers (0.0 == -0.0), NaN equal to NaN: for minima and maxima, where either
/// zero may win.
pub(super) fn same_value(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

pub(super) fn assert_same_stats(a: &Stats, b: &Stats, what: &str) {
    assert_eq!(
        (a.count(), a.nan_count()),
        (b.count(), b.nan_count()),
        "{what}: counts"
    );
    assert!(
        same_value(a.min(), b.min()) && same_value(a.max(), b.max()),
        "{what}: min/max {} {} vs {} {}",
        a.min(),
        a.max(),
        b.min(),
        b.max()
    );
}
