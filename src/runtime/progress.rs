//! Long calls with progress and cancellation.
//!
//! The work runs on a helper thread (which hands it to the pool) while the calling thread
//! waits and reports progress a few times a second. So the caller's callback always runs
//! on the caller's own thread (a Python callback can hold the GIL and see Ctrl-C there),
//! and cancelling takes effect at the next chunk of work.

use crate::error::{Error, ErrorKind, Result};
use crate::runtime::pool::WORKER_NAME_PREFIX;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How often the progress callback runs.
const REPORT_INTERVAL: Duration = Duration::from_millis(100);

/// Shared between the work and the reporting thread.
#[derive(Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
    cancelled: AtomicBool,
}

impl Progress {
    /// Sets the amount of work the whole job has.
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    /// Records `amount` more work done.
    pub fn advance(&self, amount: u64) {
        self.done.fetch_add(amount, Ordering::Relaxed);
    }

    /// An error once the caller has asked to stop; work checks it between chunks.
    pub fn check(&self) -> Result<()> {
        if self.cancelled.load(Ordering::Relaxed) {
            Err(Error::new(
                ErrorKind::Cancelled,
                "cancelled by the progress callback",
            ))
        } else {
            Ok(())
        }
    }

    fn snapshot(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

/// Called with (done, total); returns false to cancel the work.
pub type Reporter<'a> = &'a mut dyn FnMut(u64, u64) -> bool;

/// Runs `work`, calling `report` on this thread about every 100 ms and once at the end.
/// A panic in the work is resumed here, so the FFI guard sees it as any other.
pub fn run<R: Send>(
    work: impl FnOnce(&Progress) -> Result<R> + Send,
    report: Option<Reporter<'_>>,
) -> Result<R> {
    let progress = Progress::default();
    let Some(report) = report else {
        return work(&progress);
    };
    let outcome = std::thread::scope(|scope| {
        let (finished, wait) = mpsc::channel::<()>();
        let progress = &progress;
        // Named like the pool's workers, so the FFI guard's panic hook knows it as ours.
        let builder = std::thread::Builder::new().name(format!("{WORKER_NAME_PREFIX}job"));
        let worker = crate::runtime::fork_lock::spawning(|| {
            builder.spawn_scoped(scope, move || {
                let result = work(progress);
                let _ = finished.send(());
                result
            })
        })
        .map_err(|e| {
            Error::new(
                ErrorKind::OutOfMemory,
                format!("could not start a thread for the work: {e}"),
            )
        })?;
        // Stops when the work finishes, or panics and drops the sender.
        while let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(REPORT_INTERVAL) {
            let (done, total) = progress.snapshot();
            if !report(done, total) {
                progress.cancelled.store(true, Ordering::Relaxed);
            }
        }
        Ok(worker.join())
    })?;
    let result = match outcome {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    if result.is_ok() {
        let (done, total) = progress.snapshot();
        // The last report cannot cancel finished work; its answer is ignored.
        report(done.max(total), total);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_on_the_calling_thread_and_cancels() {
        let caller = std::thread::current().id();
        let mut calls = 0;
        let mut report = |_: u64, _: u64| {
            assert_eq!(std::thread::current().id(), caller);
            calls += 1;
            false
        };
        let result = run(
            |p| {
                p.set_total(10);
                for _ in 0..100 {
                    p.check()?;
                    std::thread::sleep(Duration::from_millis(20));
                    p.advance(1);
                }
                Ok(())
            },
            Some(&mut report),
        );
        assert_eq!(result.unwrap_err().kind, ErrorKind::Cancelled);
        assert!(calls >= 1);
    }

    #[test]
    fn final_report_says_done() {
        let mut last = (0, 0);
        let mut report = |d: u64, t: u64| {
            last = (d, t);
            true
        };
        let value = run(
            |p| {
                p.set_total(5);
                p.advance(5);
                Ok(7)
            },
            Some(&mut report),
        )
        .unwrap();
        assert_eq!((value, last), (7, (5, 5)));
    }
}
