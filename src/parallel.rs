//! The library's own thread pool and the two shapes of parallel work it runs.
//!
//! A private pool (not rayon's global one) so the thread count can change at run time and
//! a host program's own rayon use is left alone. The pool remembers the process that built
//! it: after `fork()` the child has no worker threads, so it builds a fresh pool instead
//! of waiting forever on the parent's.

use crate::error::{Error, ErrorKind, Result};
use crate::view::{Element, Strided, StridedMut};
use parking_lot::Mutex;
use rayon::prelude::*;
use std::sync::Arc;

/// Below this many elements the work runs on the calling thread: waking workers costs
/// more than it saves.
pub(crate) const MIN_PARALLEL_LEN: usize = 1 << 15;

/// Elements per task: large enough to amortise scheduling, small enough to balance.
pub(crate) const CHUNK_LEN: usize = 1 << 16;

/// Thread names let the panic hook recognise our workers.
pub(crate) const WORKER_NAME_PREFIX: &str = "oxbridge-worker-";

struct PoolState {
    pid: u32,
    threads: usize,
    pool: Arc<rayon::ThreadPool>,
}

static POOL: Mutex<Option<PoolState>> = Mutex::new(None);
static REQUESTED_THREADS: Mutex<usize> = Mutex::new(0);

fn default_threads() -> usize {
    std::env::var("OXBRIDGE_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn build_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("{WORKER_NAME_PREFIX}{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| {
            Error::new(
                ErrorKind::OutOfMemory,
                format!("could not start {threads} worker threads: {e}"),
            )
        })
}

/// The pool for this process, built on first use (and again after a fork).
pub fn pool() -> Result<Arc<rayon::ThreadPool>> {
    let pid = std::process::id();
    let mut state = POOL.lock();
    if let Some(s) = state.as_ref() {
        if s.pid == pid {
            return Ok(s.pool.clone());
        }
        // Inherited from the parent through fork(): its threads do not exist here, and
        // dropping it would wait for them, so it is leaked on purpose.
        std::mem::forget(state.take());
    }
    let requested = *REQUESTED_THREADS.lock();
    let threads = if requested == 0 {
        default_threads()
    } else {
        requested
    };
    let pool = build_pool(threads)?;
    *state = Some(PoolState {
        pid,
        threads,
        pool: pool.clone(),
    });
    Ok(pool)
}

/// Sets the number of worker threads; 0 restores the default (`OXBRIDGE_NUM_THREADS`, or
/// one per core). Work already running finishes on the old pool.
pub fn set_num_threads(threads: usize) -> Result<()> {
    if threads > 4096 {
        return Err(Error::invalid_argument(format!(
            "num_threads must be at most 4096, got {threads}"
        )));
    }
    *REQUESTED_THREADS.lock() = threads;
    let mut state = POOL.lock();
    if let Some(s) = state.take() {
        if s.pid != std::process::id() {
            std::mem::forget(s);
        }
    }
    Ok(())
}

/// The number of worker threads parallel work uses.
pub fn num_threads() -> Result<usize> {
    if let Some(s) = POOL.lock().as_ref() {
        if s.pid == std::process::id() {
            return Ok(s.threads);
        }
    }
    Ok(pool()?.current_num_threads())
}

/// Applies `f` to disjoint pieces of `view` that together cover it, in parallel when the
/// view is large.
pub fn for_each_chunk_mut<T, F>(view: StridedMut<'_, T>, f: F) -> Result<()>
where
    T: Element,
    F: Fn(StridedMut<'_, T>) + Sync,
{
    if view.len() < MIN_PARALLEL_LEN {
        f(view);
        return Ok(());
    }
    fn split<T: Element, F: Fn(StridedMut<'_, T>) + Sync>(view: StridedMut<'_, T>, f: &F) {
        if view.len() <= CHUNK_LEN {
            f(view);
        } else {
            let mid = view.len() / 2;
            let (left, right) = view.split_at_mut(mid);
            rayon::join(|| split(left, f), || split(right, f));
        }
    }
    pool()?.install(|| split(view, &f));
    Ok(())
}

/// Maps `f` over consecutive pieces of `view` of `chunk_len` elements and returns the
/// results in order, so that combining them is deterministic whatever the thread count.
pub fn map_chunks<T, R, F>(view: Strided<'_, T>, chunk_len: usize, f: F) -> Result<Vec<R>>
where
    T: Element,
    R: Send,
    F: Fn(Strided<'_, T>) -> R + Sync,
{
    let chunk_len = chunk_len.max(1);
    let chunks = view.len().div_ceil(chunk_len);
    let piece = |i: usize| {
        let start = i * chunk_len;
        f(view.slice(start, chunk_len.min(view.len() - start)))
    };
    if view.len() < MIN_PARALLEL_LEN {
        return Ok((0..chunks).map(piece).collect());
    }
    Ok(pool()?.install(|| (0..chunks).into_par_iter().map(piece).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_each_chunk_mut_covers_every_element_once() {
        let mut data: Vec<i64> = (0..200_001).collect();
        for_each_chunk_mut(StridedMut::from_slice(&mut data), |mut v| {
            v.update(|x| x + 1)
        })
        .unwrap();
        assert!(data.iter().enumerate().all(|(i, &x)| x == i as i64 + 1));
    }

    #[test]
    fn map_chunks_keeps_order() {
        let data: Vec<i32> = (0..100_000).collect();
        let firsts = map_chunks(Strided::from_slice(&data), 1000, |v| v.get(0)).unwrap();
        assert_eq!(firsts, (0..100).map(|i| i * 1000).collect::<Vec<_>>());
    }
}
