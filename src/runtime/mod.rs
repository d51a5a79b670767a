//! How work runs: the thread pool, progress and cancellation, fork-safe locks.

pub mod cpu;
pub mod fork_lock;
pub mod pool;
pub mod progress;
pub mod scratch;
