//! The library's own thread pool and the two shapes of parallel work it runs.
//!
//! A private pool (not rayon's global one) so the thread count can change at run time and
//! a host program's own rayon use is left alone. The pool remembers the process that built
//! it: after `fork()` the child has no worker threads, so it builds a fresh pool instead
//! of waiting forever on the parent's.
//!
//! Fork safety: the slot holding the pool is a `ForkLock`, never held while a pool is built
//! or dropped, so a child never inherits it locked by a thread that does not exist there
//! (a parking_lot mutex held by another thread of the parent, e.g. one building a pool
//! after `set_num_threads`, deadlocked the child's first parallel call).

use crate::array::{Element, Strided, StridedMut};
use crate::error::{Error, ErrorKind, Result};
use crate::runtime::fork_lock::{ForkLock, ForkLockGuard};
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The pool of this process (or, inherited through fork, of the parent's). Its critical
/// sections only look at, clone or swap the state: no waiting, no calls out.
static POOL: ForkLock<Option<PoolState>> = ForkLock::new(None);
static REQUESTED_THREADS: AtomicUsize = AtomicUsize::new(0);

fn lock_pool() -> ForkLockGuard<'static, Option<PoolState>> {
    POOL.lock()
}

/// Drops a pool taken out of the slot, after the lock is released. One inherited from the
/// parent through fork() is leaked on purpose: its threads do not exist here, and
/// dropping it could wait for them.
fn retire(state: Option<PoolState>) {
    if let Some(s) = state {
        if s.pid != std::process::id() {
            std::mem::forget(s);
        }
    }
}

fn default_threads() -> usize {
    std::env::var("OXBRIDGE_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn build_pool(threads: usize) -> Result<Arc<rayon::ThreadPool>> {
    let builder = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("{WORKER_NAME_PREFIX}{i}"));
    // rayon starts the threads inside `build` and does not wait for them.
    crate::runtime::fork_lock::spawning(|| builder.build())
        .map(Arc::new)
        .map_err(|e| {
            Error::new(
                ErrorKind::OutOfMemory,
                format!("could not start {threads} worker threads: {e}"),
            )
        })
}

/// The pool for this process, built on first use (and again after a fork or a
/// `set_num_threads`). Built outside the lock: two threads racing here build two pools and
/// one is dropped.
pub fn pool() -> Result<Arc<rayon::ThreadPool>> {
    let pid = std::process::id();
    let stale = {
        let mut slot = lock_pool();
        match slot.as_ref() {
            Some(s) if s.pid == pid => return Ok(s.pool.clone()),
            _ => slot.take(),
        }
    };
    retire(stale);
    let requested = REQUESTED_THREADS.load(Ordering::Acquire);
    let threads = if requested == 0 {
        default_threads()
    } else {
        requested
    };
    let pool = build_pool(threads)?;
    let mut slot = lock_pool();
    if let Some(s) = slot.as_ref().filter(|s| s.pid == pid) {
        let winner = s.pool.clone();
        drop(slot);
        return Ok(winner); // ours is dropped here, outside the lock
    }
    // A set_num_threads since `requested` was read: this call runs on the pool just
    // built, but the next one builds a pool of the new size.
    if REQUESTED_THREADS.load(Ordering::Acquire) != requested {
        return Ok(pool);
    }
    let stale = slot.replace(PoolState {
        pid,
        threads,
        pool: pool.clone(),
    });
    drop(slot);
    retire(stale);
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
    REQUESTED_THREADS.store(threads, Ordering::Release);
    let old = lock_pool().take();
    retire(old);
    Ok(())
}

/// The number of worker threads parallel work uses.
pub fn num_threads() -> Result<usize> {
    {
        let slot = lock_pool();
        if let Some(s) = slot.as_ref().filter(|s| s.pid == std::process::id()) {
            return Ok(s.threads);
        }
    }
    Ok(pool()?.current_num_threads())
}

/// Applies `f` to disjoint pieces of `view` that together cover it, in parallel when the
/// view has at least `min_parallel_len` elements (on the calling thread below that).
pub fn for_each_chunk_mut<T, F>(
    view: StridedMut<'_, T>,
    min_parallel_len: usize,
    f: F,
) -> Result<()>
where
    T: Element,
    F: Fn(StridedMut<'_, T>) + Sync,
{
    if view.len() < min_parallel_len.max(1) {
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
        for_each_chunk_mut(
            StridedMut::from_slice(&mut data),
            MIN_PARALLEL_LEN,
            |mut v| v.update(|x| x + 1),
        )
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
