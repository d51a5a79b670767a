//! Partitions in the C ABI: a dataset cut into parts that other processes or machines
//! describe, whose descriptions merge (`oxb_description_merge`) into the file's, as a
//! C or C++ scheduler would hand them out.

use super::args::{slice, Out, OutSlice};
use super::dataset::{dataset_columns, kind_code, OpenDataset};
use super::description::{hold, oxb_description};
use super::guard;
use super::handles;
use super::progress::{oxb_progress_fn, with_progress};
use super::status::FfiError;
use super::{oxb_dataset, oxb_status};
use std::ffi::c_void;

/// A part of a dataset, from `oxb_dataset_partitions`: bytes `start..stop` of a CSV
/// file's data (a record boundary, or a guess of one, to the next partition's start),
/// or rows `start..stop` of a binary array.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct oxb_partition {
    pub start: u64,
    pub stop: u64,
}

/// What identifies a file: a partition planned on one is only valid for the same file,
/// unchanged. Compare a reopened dataset's identity with the planner's.
#[repr(C)]
pub struct oxb_file_identity {
    /// Size in bytes.
    pub size: u64,
    /// Last modification, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Inode and device numbers (0 where the system has none).
    pub inode: u64,
    pub device: u64,
}

/// Writes the identity of the dataset's file, as it is now, to `*out`.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_file_identity(
    dataset: oxb_dataset,
    out: *mut oxb_file_identity,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<OpenDataset>(dataset)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let id = d.dataset.identity()?;
        out.write(oxb_file_identity {
            size: id.size,
            mtime_ns: id.mtime_ns,
            inode: id.inode,
            device: id.device,
        });
        Ok(())
    })
}

/// Cuts a dataset into `count` partitions (0: as many as make parts of about
/// `target_bytes` each), in file order; fewer when the data is small or a CSV record
/// spans a cut, never none. Planning reads only the bytes near each cut. Writes how many
/// there are to `*written` and, when `capacity` is at least that, the partitions to
/// `out` (a smaller `capacity` is `OXB_INVALID_ARGUMENT`, `*written` still set: call
/// with NULL and 0 first to learn the count).
///
/// # Safety
/// `out` is NULL or has room for `capacity` partitions; `written` is writable.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_partitions(
    dataset: oxb_dataset,
    target_bytes: u64,
    count: u64,
    out: *mut oxb_partition,
    capacity: usize,
    written: *mut usize,
) -> oxb_status {
    guard::call(|| {
        let d = handles::get::<OpenDataset>(dataset)?;
        // SAFETY: the contract of this function.
        let written = unsafe { Out::new(written, "written") }?;
        let parts = d.dataset.partitions(target_bytes, count)?;
        if out.is_null() && capacity == 0 {
            written.write(parts.len());
            return Ok(());
        }
        if capacity < parts.len() {
            written.write(parts.len());
            return Err(FfiError::invalid(format!(
                "the dataset has {} partitions but `out` has room for {capacity}",
                parts.len()
            )));
        }
        // SAFETY: the contract of this function.
        let out = unsafe { OutSlice::new(out, parts.len(), "out") }?;
        out.write_all(parts.iter().map(|p| oxb_partition {
            start: p.start,
            stop: p.end,
        }));
        written.write(parts.len());
        Ok(())
    })
}

/// Describes the records of one partition: `columns_len` columns (positions in
/// `columns`; NULL and 0 for every column), those also in `as_text` read as text
/// whatever they hold (columns another partition found to be text, so that the parts
/// merge as the whole file's describe). Writes the description's handle to `*out` and
/// the bytes (rows) it read to `*read`: from where its first record starts (for CSV
/// `partition->start`, or, when reading from that guessed boundary fails, the boundary
/// the other quote state gives) to where the next record starts (past `stop` when the
/// last record runs on). Partitions chain when each one's `read.start` is the previous
/// one's `read.stop`; where not (a wrong guess), describe `{previous read.stop,
/// partition.stop}` instead. Exact quantiles need the whole file and are not offered
/// here. A partition outside the data is `OXB_INVALID_ARGUMENT`.
///
/// # Safety
/// `partition` is NULL or readable; `columns` and `as_text` are NULL or point to as many
/// indexes as their lengths say; `progress` is NULL or a valid callback; `out` and
/// `read` are NULL or writable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn oxb_dataset_partition_description(
    dataset: oxb_dataset,
    partition: *const oxb_partition,
    columns: *const usize,
    columns_len: usize,
    as_text: *const usize,
    as_text_len: usize,
    progress: oxb_progress_fn,
    user: *mut c_void,
    out: *mut oxb_description,
    read: *mut oxb_partition,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let (d, wanted) = unsafe { dataset_columns(dataset, columns, columns_len) }?;
        // SAFETY: the contract of this function.
        let part = *unsafe { super::args::read(partition, "partition") }?;
        // SAFETY: the contract of this function.
        let as_text = unsafe { slice(as_text, as_text_len, "as_text") }?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        // SAFETY: the contract of this function.
        let read_out = unsafe { Out::new(read, "read") }?;
        let (description, bytes) = with_progress(progress, user, |p| {
            d.dataset
                .partition_description(part.start..part.stop, &wanted, as_text, p)
        })?;
        out.write(hold(description)?);
        read_out.write(oxb_partition {
            start: bytes.start,
            stop: bytes.end,
        });
        Ok(())
    })
}

/// Writes the column kinds (`OXB_KIND_*`, with `OXB_KIND_DATETIME_UTC` for datetimes
/// with an offset) every partition of `columns` (positions; NULL and 0 for every
/// column) is read with into Arrow, one per column, to `out`: the whole file's where a
/// description or a scan has seen them, else those of the first records, so planning
/// reads no more of the file. Pass them to `oxb_dataset_partition_arrow_stream` for every
/// partition alike, so that all share one schema (or set a column's kind yourself).
///
/// # Safety
/// `columns` is NULL or points to `columns_len` indexes; `out` is NULL or has room for
/// one kind per column described.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_partition_kinds(
    dataset: oxb_dataset,
    columns: *const usize,
    columns_len: usize,
    out: *mut u32,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let (d, wanted) = unsafe { dataset_columns(dataset, columns, columns_len) }?;
        // SAFETY: the contract of this function.
        let out = unsafe { OutSlice::new(out, wanted.len(), "out") }?;
        let kinds = d.dataset.planned_kinds(&wanted)?;
        out.write_all(kinds.into_iter().map(kind_code));
        Ok(())
    })
}
