//! A dataset's rows as an `ArrowArrayStream`, and its schema alone.

use super::export::{self, Mapped};
use super::{ArrowArray, ArrowArrayStream, ArrowSchema};
use crate::arrow::Field;
use crate::dataset::BatchReader;
use crate::ffi::args::{read, slice, Out};
use crate::ffi::dataset::{dataset_columns, kind_of_code};
use crate::ffi::dataset::{oxb_dataset, OpenDataset};
use crate::ffi::guard;
use crate::ffi::partition::oxb_partition;
use crate::ffi::progress::{oxb_progress_fn, with_progress};
use crate::ffi::status::{oxb_status, FfiError, FfiResult};
use parking_lot::Mutex;
use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Arc;

/// `oxb_dataset_arrow_stream` flag: CSV column types whose types over the whole file are
/// not known yet (no description has seen them) are guessed from the first records, which
/// saves a pass over the file; should a later value not fit, `get_next` fails with `EAGAIN`
/// and the stream ends: make it again without the flag.
pub const OXB_ARROW_SAMPLED_TYPES: u32 = 1;

/// Writes the Arrow schema of the dataset's `columns` (positions; NULL and 0 for all) to
/// `*out`, a struct schema with one field per column. For CSV the types are those of the
/// whole file: found by one scan unless a description already saw them (`progress` and
/// `user` as for `oxb_dataset_description`). The caller releases `*out`.
///
/// # Safety
/// `columns` is NULL or points to `columns_len` values; `out` is NULL or points to a
/// writable `struct ArrowSchema`.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_arrow_schema(
    dataset: oxb_dataset,
    columns: *const usize,
    columns_len: usize,
    progress: oxb_progress_fn,
    user: *mut c_void,
    out: *mut ArrowSchema,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let (d, wanted) = unsafe { dataset_columns(dataset, columns, columns_len) }?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let fields = with_progress(progress, user, |p| d.dataset.arrow_fields(&wanted, p))?;
        let mut schema = ArrowSchema::EMPTY;
        export::schema(&fields, &mut schema);
        out.write(schema);
        Ok(())
    })
}

/// Writes a stream of the dataset's `columns` (positions; NULL and 0 for all) to `*out`:
/// record batches of at most `batch_rows` rows in file order, each a struct array of the
/// schema `oxb_dataset_arrow_schema` gives. `batch_rows` 0: 65,536, except that binary
/// columns which are all handed out without a copy come as one batch of every row.
/// Binary columns that are contiguous and little-endian in the file are handed out
/// without a copy; CSV is parsed in parallel a few chunks ahead. The stream (and every
/// array it gave) stays valid after `oxb_dataset_close`, on any thread, until released.
/// Errors of `get_next` (the file truncated or changed, a malformed record) are
/// `EIO` with the message from `get_last_error` (`EAGAIN`: see `OXB_ARROW_SAMPLED_TYPES`,
/// the only flag).
///
/// # Safety
/// `columns` is NULL or points to `columns_len` values; `out` is NULL or points to a
/// writable `struct ArrowArrayStream`.
#[no_mangle]
pub unsafe extern "C" fn oxb_dataset_arrow_stream(
    dataset: oxb_dataset,
    columns: *const usize,
    columns_len: usize,
    batch_rows: usize,
    flags: u32,
    progress: oxb_progress_fn,
    user: *mut c_void,
    out: *mut ArrowArrayStream,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let (d, wanted) = unsafe { dataset_columns(dataset, columns, columns_len) }?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        if flags & !OXB_ARROW_SAMPLED_TYPES != 0 {
            return Err(FfiError::invalid(format!("unknown flags {flags:#x}")));
        }
        let rows = (batch_rows > 0).then_some(batch_rows);
        let sampled = flags & OXB_ARROW_SAMPLED_TYPES != 0;
        let reader = with_progress(progress, user, |p| {
            BatchReader::with_types(&d.dataset, &wanted, rows, sampled, p)
        })?;
        out.write(hand_out(d, reader));
        Ok(())
    })
}

/// Writes to `*out` a stream of one partition's rows (`oxb_dataset_partitions`):
/// `columns` as for `oxb_dataset_arrow_stream`, and for CSV with the column kinds in
/// `kinds` (one `OXB_KIND_*` per column, as `oxb_dataset_partition_kinds` gives them;
/// NULL: the whole file's, which costs a scan of it unless a description has seen
/// them). A value that does not fit its column's kind ends the stream with `EIO` and a
/// message naming it. CSV rows are those of the records that start in the partition,
/// the last read to its end, as `oxb_dataset_partition_description` reads them.
///
/// # Safety
/// `partition` is NULL or readable; `columns` and `kinds` are NULL or point to
/// `columns_len` values; `out` is NULL or points to a writable `struct ArrowArrayStream`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn oxb_dataset_partition_arrow_stream(
    dataset: oxb_dataset,
    partition: *const oxb_partition,
    columns: *const usize,
    columns_len: usize,
    kinds: *const u32,
    batch_rows: usize,
    progress: oxb_progress_fn,
    user: *mut c_void,
    out: *mut ArrowArrayStream,
) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let (d, wanted) = unsafe { dataset_columns(dataset, columns, columns_len) }?;
        // SAFETY: the contract of this function.
        let part = *unsafe { read(partition, "partition") }?;
        let planned = if kinds.is_null() {
            None
        } else {
            // SAFETY: the contract of this function.
            let codes = unsafe { slice(kinds, wanted.len(), "kinds") }?;
            Some(
                codes
                    .iter()
                    .map(|&k| kind_of_code(k))
                    .collect::<FfiResult<Vec<_>>>()?,
            )
        };
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        let rows = (batch_rows > 0).then_some(batch_rows);
        let reader = with_progress(progress, user, |p| {
            BatchReader::of_partition(
                &d.dataset,
                &wanted,
                rows,
                part.start..part.stop,
                planned.as_deref(),
                p,
            )
        })?;
        out.write(hand_out(d, reader));
        Ok(())
    })
}

/// The stream of `reader`'s batches of dataset `d`, which it keeps alive (with its
/// mapping) until the stream and every batch it gave are released.
fn hand_out(d: Arc<OpenDataset>, reader: BatchReader) -> ArrowArrayStream {
    let bytes = d.dataset.bytes();
    let mapped = Mapped {
        base: bytes.as_ptr(),
        len: bytes.len(),
        _owner: d.clone(),
    };
    let private = Box::new(StreamPrivate {
        fields: reader.fields().to_vec(),
        state: Mutex::new(State {
            reader: Some(reader),
            last_error: CString::default(),
        }),
        dataset: d,
        mapped,
    });
    ArrowArrayStream {
        get_schema: Some(get_schema),
        get_next: Some(get_next),
        get_last_error: Some(get_last_error),
        release: Some(release_stream),
        private_data: Box::into_raw(private).cast(),
    }
}

struct StreamPrivate {
    dataset: Arc<OpenDataset>,
    mapped: Mapped,
    fields: Vec<Field>,
    state: Mutex<State>,
}

struct State {
    /// None after an error: the stream ends there.
    reader: Option<BatchReader>,
    last_error: CString,
}

/// The errno of every failure: the file, its content, or our own.
const EIO: c_int = 5;
/// A value did not fit a type guessed from the first records (`OXB_ARROW_SAMPLED_TYPES`).
const EAGAIN: c_int = 11;
/// A call on a released stream or with a NULL out-pointer.
const EINVAL: c_int = 22;

/// The private data of a live stream of ours.
///
/// # Safety
/// `stream` is NULL or a stream; while it is used, no other thread releases it.
unsafe fn private<'a>(stream: *mut ArrowArrayStream) -> Option<&'a StreamPrivate> {
    if stream.is_null() {
        return None;
    }
    // SAFETY: the caller's contract.
    let s = unsafe { &*stream };
    if s.release.is_none() || s.private_data.is_null() {
        return None;
    }
    // SAFETY: made by Box::into_raw in oxb_dataset_arrow_stream, alive until released.
    Some(unsafe { &*s.private_data.cast::<StreamPrivate>() })
}

unsafe extern "C" fn get_schema(stream: *mut ArrowArrayStream, out: *mut ArrowSchema) -> c_int {
    guard::callback(EIO, || {
        // SAFETY: the spec's contract: a live stream, used by one thread at a time.
        let Some(p) = (unsafe { private(stream) }) else {
            return EINVAL;
        };
        if out.is_null() {
            return EINVAL;
        }
        let mut schema = ArrowSchema::EMPTY;
        export::schema(&p.fields, &mut schema);
        // SAFETY: the spec's contract: `out` points to a writable struct.
        unsafe { out.write(schema) };
        0
    })
}

unsafe extern "C" fn get_next(stream: *mut ArrowArrayStream, out: *mut ArrowArray) -> c_int {
    guard::callback(EIO, || {
        // SAFETY: the spec's contract: a live stream, used by one thread at a time.
        let Some(p) = (unsafe { private(stream) }) else {
            return EINVAL;
        };
        if out.is_null() {
            return EINVAL;
        }
        let mut state = p.state.lock();
        let next = match state.reader.as_mut() {
            Some(reader) => reader.next(&p.dataset.dataset),
            None => Ok(None),
        };
        let mut array = ArrowArray::EMPTY;
        let status = match next {
            Ok(Some(batch)) => {
                export::batch(batch, &p.mapped, &mut array);
                0
            }
            Ok(None) => 0,
            Err(e) => {
                let again = state
                    .reader
                    .as_ref()
                    .is_some_and(BatchReader::types_did_not_fit);
                // Also the calling thread's last error, with its path, line and column,
                // for a caller that drives the stream itself (oxbridge's Python does).
                crate::ffi::last_error::set_with_detail(&e.message, e.detail.as_deref());
                state.reader = None;
                state.last_error =
                    CString::new(e.message.replace('\0', "\u{fffd}")).unwrap_or_default();
                if again {
                    EAGAIN
                } else {
                    EIO
                }
            }
        };
        // SAFETY: the spec's contract: `out` points to a writable struct.
        unsafe { out.write(array) };
        status
    })
}

unsafe extern "C" fn get_last_error(stream: *mut ArrowArrayStream) -> *const c_char {
    guard::callback(std::ptr::null(), || {
        // SAFETY: the spec's contract: a live stream, used by one thread at a time.
        match unsafe { private(stream) } {
            // The message lives in the stream until the next call or its release.
            Some(p) => {
                let state = p.state.lock();
                if state.last_error.is_empty() {
                    std::ptr::null()
                } else {
                    state.last_error.as_ptr()
                }
            }
            None => std::ptr::null(),
        }
    })
}

unsafe extern "C" fn release_stream(stream: *mut ArrowArrayStream) {
    guard::callback((), || {
        if stream.is_null() {
            return;
        }
        // SAFETY: the spec's contract: a stream we made, released once.
        let s = unsafe { &mut *stream };
        if !s.private_data.is_null() {
            // SAFETY: made by Box::into_raw in oxb_dataset_arrow_stream.
            drop(unsafe { Box::from_raw(s.private_data.cast::<StreamPrivate>()) });
        }
        *s = ArrowArrayStream::EMPTY;
    })
}
