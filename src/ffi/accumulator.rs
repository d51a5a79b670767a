//! `oxb_accumulator`: streaming statistics behind a handle.

use super::args::{read, Out};
use super::guard;
use super::handles::{self, Handled};
use super::stats::oxb_stats;
use super::status::oxb_status;
use super::view::{oxb_view, read_view};
use crate::stats::Stats;
use parking_lot::Mutex;

/// Handle of an accumulator. 0 is never a valid handle. Safe to use from several threads
/// at once.
pub type oxb_accumulator = u64;

struct Accumulator(Mutex<Stats>);

impl Handled for Accumulator {
    const KIND: &'static str = "accumulator";
}

/// Creates an empty accumulator and writes its handle to `*out`.
///
/// # Safety
/// `out` is NULL or points to writable memory for one `oxb_accumulator`.
#[no_mangle]
pub unsafe extern "C" fn oxb_accumulator_create(out: *mut oxb_accumulator) -> oxb_status {
    guard::call(|| {
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(handles::insert(Accumulator(Mutex::new(Stats::EMPTY)))?);
        Ok(())
    })
}

/// Adds every element of `view` (any dtype, any stride). The statistics of the view are
/// computed in parallel before the accumulator is locked, so pushes from several threads
/// overlap.
///
/// # Safety
/// `view` is NULL or points to an `oxb_view` whose `len` elements are readable.
#[no_mangle]
pub unsafe extern "C" fn oxb_accumulator_push(
    handle: oxb_accumulator,
    view: *const oxb_view,
) -> oxb_status {
    guard::call(|| {
        let acc = handles::get::<Accumulator>(handle)?;
        let part = Stats::of_view(read_view(view, "view")?)?;
        acc.0.lock().merge(&part);
        Ok(())
    })
}

/// Adds the values of an Arrow array (float64, float32, int64 or int32, read in place;
/// nulls count as missing, like NaN). The caller keeps the array.
///
/// # Safety
/// `array` and `schema` are NULL or valid, unreleased C Data Interface structs whose
/// buffers hold what they declare.
#[no_mangle]
pub unsafe extern "C" fn oxb_accumulator_push_arrow(
    handle: oxb_accumulator,
    array: *const super::arrow::ArrowArray,
    schema: *const super::arrow::ArrowSchema,
) -> oxb_status {
    guard::call(|| {
        let acc = handles::get::<Accumulator>(handle)?;
        // SAFETY: the contract of this function.
        let imported = unsafe { super::arrow::import::import(array, schema) }?;
        let part = super::stats::arrow_stats(imported)?;
        acc.0.lock().merge(&part);
        Ok(())
    })
}

/// Writes the statistics of everything pushed so far to `*out`.
///
/// # Safety
/// `out` is NULL or points to writable memory for one `oxb_stats`.
#[no_mangle]
pub unsafe extern "C" fn oxb_accumulator_stats(
    handle: oxb_accumulator,
    out: *mut oxb_stats,
) -> oxb_status {
    guard::call(|| {
        let acc = handles::get::<Accumulator>(handle)?;
        // SAFETY: the contract of this function.
        let out = unsafe { Out::new(out, "out") }?;
        out.write(oxb_stats::from(&*acc.0.lock()));
        Ok(())
    })
}

/// Adds everything `src` has seen to `dst`, as if it had been pushed to `dst`; `src` is
/// unchanged. `dst` and `src` may be the same accumulator.
#[no_mangle]
pub extern "C" fn oxb_accumulator_merge(dst: oxb_accumulator, src: oxb_accumulator) -> oxb_status {
    guard::call(|| {
        let to = handles::get::<Accumulator>(dst)?;
        let from = handles::get::<Accumulator>(src)?;
        // Copy first: locking both at once would deadlock when dst == src.
        let part = *from.0.lock();
        to.0.lock().merge(&part);
        Ok(())
    })
}

/// Adds the data `stats` describes (from `oxb_accumulator_stats`, `oxb_stats_compute`...,
/// possibly in another process) to the accumulator, as `oxb_accumulator_merge` would:
/// how an accumulator's state travels between processes and machines.
///
/// # Safety
/// `stats` is NULL or points to a readable `oxb_stats`.
#[no_mangle]
pub unsafe extern "C" fn oxb_accumulator_merge_stats(
    handle: oxb_accumulator,
    stats: *const oxb_stats,
) -> oxb_status {
    guard::call(|| {
        let acc = handles::get::<Accumulator>(handle)?;
        // SAFETY: the contract of this function.
        let part = Stats::from(unsafe { read(stats, "stats") }?);
        acc.0.lock().merge(&part);
        Ok(())
    })
}

/// Forgets everything pushed so far.
#[no_mangle]
pub extern "C" fn oxb_accumulator_reset(handle: oxb_accumulator) -> oxb_status {
    guard::call(|| {
        *handles::get::<Accumulator>(handle)?.0.lock() = Stats::EMPTY;
        Ok(())
    })
}

/// Destroys an accumulator. Destroying it again, or using it afterwards, returns
/// `OXB_INVALID_HANDLE`; a call already running on another thread finishes first.
#[no_mangle]
pub extern "C" fn oxb_accumulator_destroy(handle: oxb_accumulator) -> oxb_status {
    guard::call(|| {
        handles::remove::<Accumulator>(handle)?;
        Ok(())
    })
}
