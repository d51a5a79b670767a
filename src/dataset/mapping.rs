//! The memory-map policy, in one place. Every dataset is a read-only map of its file;
//! the rest of `dataset` reads `&[u8]` and knows nothing of this.
//!
//! - When to map: always, and only, a regular file. oxbridge never copies a file into
//!   anonymous memory, so there is no `read()` fallback: what cannot be mapped is refused
//!   with a message that says what to do (a directory; a pipe or device, which is not
//!   opened at all, since opening a FIFO with no writer blocks forever; a /proc or /sys
//!   file that reports 0 bytes but has content, or whose mmap fails with ENODEV).
//! - While a scan runs: `release` drops the pages already scanned (`MADV_DONTNEED`), so
//!   that scanning a file larger than RAM keeps the resident set small.
//! - Around each scan: `check_unchanged` re-stats the open file and refuses one that
//!   shrank since it was mapped; `unless_truncated` refuses the result of a scan during
//!   which it shrank, and releases whatever the scan left mapped.
//!
//! What is unsafe about it, and why it is sound here:
//! - `Mmap::map`: Rust assumes the bytes behind a `&[u8]` never change, and another
//!   process can write the file, or truncate it, while it is mapped; no mapping can
//!   prevent that (memmap2 makes `map` unsafe for this reason). The readers treat the
//!   bytes as untrusted input: every read is within the slice's length (checked, or
//!   proven from the length where a kernel reads unchecked), which a writer cannot
//!   change, so a concurrent write gives wrong values, never a read outside the mapping.
//!   Reading a page past a truncated end raises SIGBUS: `sigbus.rs` maps a page of zeros
//!   there and marks the mapping damaged, and `unless_truncated` turns the mark into an
//!   error, so no result is computed from a partial file. The guard covers the whole
//!   mapping for as long as it exists, so the zero-copy views of `Dataset::array` are
//!   covered too.
//! - `unchecked_advise_range(DontNeed)`: on private or anonymous memory it discards data
//!   (the next read sees zeros). Here the mapping is a read-only shared map of a file:
//!   dropped pages are read back from the page cache when touched again, and a thread
//!   still reading in the released range just faults them back in.

use super::{faults, sigbus};
use crate::error::{Error, Result};
use memmap2::Mmap;
use std::fs::File;
use std::path::Path;

/// An unsupported-file error that names the file (in the message and the detail).
fn unsupported_file(path: &str, what: impl std::fmt::Display) -> Error {
    let mut e = Error::unsupported(format!("{path}: {what}"));
    e.detail = Some(Box::new(crate::error::Detail {
        path: path.to_owned(),
        ..Default::default()
    }));
    e
}

const NOT_MAPPABLE: &str = "oxbridge memory-maps files, and this one cannot be mapped (a /proc or \
     /sys file?); copy it to a regular file first";

/// Whether a file that reports a size of 0 has content after all. Read without blocking:
/// some such files (/proc/kmsg) would wait for data, and "no data yet" counts as none. A
/// failed probe is the file's error, not "empty".
fn has_content(fs_path: &Path, path: &str) -> Result<bool> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let mut first = [0u8; 1];
    let read = faults::check("probe.open")
        .and_then(|()| options.open(fs_path))
        .and_then(|mut f| {
            faults::check("probe.read")?;
            std::io::Read::read(&mut f, &mut first)
        });
    match read {
        Ok(n) => Ok(n > 0),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
        Err(e) => Err(Error::io(path, &e)),
    }
}

/// Opens and maps the file at `fs_path`; `path` is its name in messages.
fn map_file(fs_path: &Path, path: &str) -> Result<(File, Mmap)> {
    // stat before open: opening a FIFO without a writer would block forever.
    let meta = faults::check("stat")
        .and_then(|()| std::fs::metadata(fs_path))
        .map_err(|e| Error::io(path, &e))?;
    if meta.is_dir() {
        return Err(Error::io(
            path,
            &std::io::Error::from_raw_os_error(libc::EISDIR),
        ));
    }
    if !meta.is_file() {
        return Err(unsupported_file(
            path,
            "not a regular file (a pipe or device cannot be memory-mapped)",
        ));
    }
    let file = faults::check("open")
        .and_then(|()| File::open(fs_path))
        .map_err(|e| Error::io(path, &e))?;
    // Files of /proc report a size of 0 but have content: mapping them would fail with a
    // misleading "No such device", or, worse, read as an empty file.
    if meta.len() == 0 && has_content(fs_path, path)? {
        return Err(unsupported_file(
            path,
            format!("the file reports a size of 0 bytes but has content: {NOT_MAPPABLE}"),
        ));
    }
    // SAFETY: the mapping is read-only. Another process truncating the file meanwhile can
    // make reads fault; sizes are re-checked before each scan to narrow that window.
    let map = faults::check("mmap")
        .and_then(|()| unsafe { Mmap::map(&file) })
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ENODEV) {
                unsupported_file(path, NOT_MAPPABLE)
            } else {
                Error::io(path, &e)
            }
        })?;
    Ok((file, map))
}

/// A file mapped read-only, with what keeps reading it safe: the open file, for the
/// re-stat, and the SIGBUS guard. Reads as the file's bytes.
pub(super) struct Mapping {
    /// The file's name in messages.
    path: String,
    /// Kept open: `check_unchanged` asks it (fstat) for the size of the file as mapped,
    /// which another file renamed over the path does not change.
    file: File,
    // Declared before `map`: unregistered before the mapping goes away.
    watch: sigbus::Watch,
    map: Mmap,
}

impl std::ops::Deref for Mapping {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Mapping {
    /// Maps the file at `fs_path` (see the module comment for what is refused) and puts
    /// the mapping under the SIGBUS guard; `path` is its name in messages.
    pub(super) fn open(fs_path: &Path, path: &str) -> Result<Mapping> {
        let (file, map) = map_file(fs_path, path)?;
        Ok(Mapping {
            path: path.to_owned(),
            file,
            watch: sigbus::Watch::new(&map),
            map,
        })
    }

    /// The file's name in messages.
    pub(super) fn path(&self) -> &str {
        &self.path
    }

    /// Another descriptor of the file as mapped (not of whatever its path names now), for
    /// a reader that streams it with positioned reads.
    pub(super) fn file(&self) -> Result<File> {
        self.file.try_clone().map_err(|e| Error::io(&self.path, &e))
    }

    /// The result of a scan, unless the file shrank while it was read (then the scan saw
    /// zeros for the missing pages, and its result must not be used). Whatever a scan left
    /// mapped is released here.
    pub(super) fn unless_truncated<T>(&self, result: Result<T>) -> Result<T> {
        self.release(0, self.map.len());
        self.unless_damaged(result)
    }

    /// `unless_truncated` without the release: for a stream whose earlier batches still
    /// point into the mapping.
    pub(super) fn unless_damaged<T>(&self, result: Result<T>) -> Result<T> {
        if self.watch.damaged() {
            return Err(Error::data_format(
                &self.path,
                0,
                "",
                "the file was truncated by another process while it was being read; \
                 no result is given for a partial file. Open it again",
            ));
        }
        result
    }

    /// A file truncated since it was mapped would fault on access: refuse instead.
    pub(super) fn check_unchanged(&self) -> Result<()> {
        self.release(0, self.map.len());
        self.check_unchanged_keeping_pages()
    }

    /// `check_unchanged` without releasing the pages: for a stream whose earlier batches
    /// still point into the mapping.
    pub(super) fn check_unchanged_keeping_pages(&self) -> Result<()> {
        self.unless_damaged(Ok(()))?;
        let len = faults::check("restat")
            .and_then(|()| self.file.metadata())
            .map_err(|e| Error::io(&self.path, &e))?
            .len();
        if len < self.map.len() as u64 {
            return Err(Error::data_format(
                &self.path,
                0,
                "",
                format!(
                    "the file shrank from {} to {len} bytes since it was opened; open it again",
                    self.map.len()
                ),
            ));
        }
        Ok(())
    }

    /// The file's identity as it is now: size, modification time, inode and device.
    pub(super) fn identity(&self) -> Result<super::FileIdentity> {
        let meta = faults::check("restat")
            .and_then(|()| self.file.metadata())
            .map_err(|e| Error::io(&self.path, &e))?;
        #[cfg(unix)]
        let (mtime_ns, inode, device) = {
            use std::os::unix::fs::MetadataExt;
            let ns = meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec();
            (ns, meta.ino(), meta.dev())
        };
        #[cfg(not(unix))]
        let (mtime_ns, inode, device) = {
            let since = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            (since.map_or(0, |d| d.as_nanos() as i64), 0, 0)
        };
        Ok(super::FileIdentity {
            size: meta.len(),
            mtime_ns,
            inode,
            device,
        })
    }

    /// Drops the pages of `bytes[start..end]` from this process (they stay in the page
    /// cache), so scanning a file larger than RAM keeps the resident set small. Also the
    /// 2 MiB before `start`: a fault maps a whole page-cache folio, which can reach back
    /// into a chunk released earlier (if another thread still reads there, it refaults).
    pub(super) fn release(&self, start: usize, end: usize) {
        const PAGE: usize = 4096;
        const FOLIO: usize = 2 << 20;
        let start = start.saturating_sub(FOLIO);
        let end = end.min(self.map.len());
        let first = start.div_ceil(PAGE) * PAGE;
        let last = end / PAGE * PAGE;
        // A failed release (or an injected one) is harmless: the pages just stay mapped.
        if last > first && faults::check("madvise").is_ok() {
            // SAFETY: a read-only shared file mapping: dropped pages are read back from
            // the file if touched again, so no data is lost.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    first,
                    last - first,
                )
            };
        }
    }
}
