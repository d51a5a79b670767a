//! A mutex that `fork()` never copies in a locked state.
//!
//! A child process has only the thread that called `fork()`; a lock another thread of the
//! parent held at that moment stays locked in the child forever, so its first call that
//! needs the lock hangs (seen with parking_lot locks around the thread pool and the handle
//! table). These locks are tiny spin locks whose critical sections never wait on
//! anything, and `pthread_atfork` handlers take every one of them before a fork and
//! release them in both processes afterwards, so the child's copy is whole and unlocked.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

/// A spin lock that `fork()` cannot leave held in the child (see the module's doc).
pub struct ForkLock<T> {
    locked: AtomicBool,
    registered: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reached through a `ForkLockGuard`, which `locked` makes exclusive.
unsafe impl<T: Send> Sync for ForkLock<T> {}

/// Access to the value of a held `ForkLock`; releases the lock when dropped.
pub struct ForkLockGuard<'a, T>(&'a ForkLock<T>);

impl<T> ForkLock<T> {
    /// A lock holding `value`, registered with the fork handlers on first use.
    pub const fn new(value: T) -> Self {
        ForkLock {
            locked: AtomicBool::new(false),
            registered: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Locks; keep the section short and free of waiting (allocation is fine: glibc's
    /// malloc takes its own locks only after these are held).
    pub fn lock(&'static self) -> ForkLockGuard<'static, T> {
        if !self.registered.load(Ordering::Acquire) && !self.registered.swap(true, Ordering::AcqRel)
        {
            register(&self.locked);
        }
        acquire(&self.locked);
        ForkLockGuard(self)
    }
}

fn acquire(flag: &AtomicBool) {
    let mut spins = 0u32;
    while flag
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        if spins < 64 {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

impl<T> Deref for ForkLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held.
        unsafe { &*self.0.value.get() }
    }
}

impl<T> DerefMut for ForkLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held, by this guard only.
        unsafe { &mut *self.0.value.get() }
    }
}

impl<T> Drop for ForkLockGuard<'_, T> {
    fn drop(&mut self) {
        self.0.locked.store(false, Ordering::Release);
    }
}

/// Held while the library creates threads, so that no `fork()` lands in the middle.
///
/// glibc's `pthread_create`, when it reuses the cached stack of a finished thread, frees
/// that thread's dynamic TLS blocks (those of libraries loaded with `dlopen`, as Python
/// loads this one) after it has put the stack back on its in-use list and released its
/// lock. A child forked in that window inherits the stack on the in-use list, returns it
/// to the cache, and frees the same blocks again when it next creates a thread: "double
/// free or corruption" (about one child in a few hundred while other threads rebuilt the
/// pool). Thread exits need no such care: glibc repairs its lists in the child.
static SPAWN: ForkLock<()> = ForkLock::new(());

/// Runs `create`, which starts threads and does not wait for them, with forks held off.
pub fn spawning<R>(create: impl FnOnce() -> R) -> R {
    let _held = SPAWN.lock();
    create()
}

/// The locks the fork handlers take, in registration order. The library has a handful.
const MAX_LOCKS: usize = 16;
#[allow(clippy::declare_interior_mutable_const)] // only used to initialise LOCKS
const NO_LOCK: AtomicPtr<AtomicBool> = AtomicPtr::new(ptr::null_mut());
static LOCKS: [AtomicPtr<AtomicBool>; MAX_LOCKS] = [NO_LOCK; MAX_LOCKS];
static REGISTERED: AtomicUsize = AtomicUsize::new(0);
/// Which locks the last `prepare` took: only those are released, even if another lock
/// was registered in between (a thread of the parent may hold that one).
static TAKEN: AtomicU32 = AtomicU32::new(0);
static HANDLERS: AtomicBool = AtomicBool::new(false);

fn register(flag: &'static AtomicBool) {
    let index = REGISTERED.fetch_add(1, Ordering::AcqRel);
    assert!(index < MAX_LOCKS, "more ForkLocks than MAX_LOCKS");
    LOCKS[index].store(
        flag as *const AtomicBool as *mut AtomicBool,
        Ordering::Release,
    );
    #[cfg(unix)]
    if !HANDLERS.load(Ordering::Acquire) && !HANDLERS.swap(true, Ordering::AcqRel) {
        // SAFETY: plain function pointers with no preconditions.
        unsafe { libc::pthread_atfork(Some(prepare), Some(release), Some(release)) };
    }
}

fn lock_at(index: usize) -> Option<&'static AtomicBool> {
    // SAFETY: only pointers to `'static` flags are stored.
    unsafe { LOCKS[index].load(Ordering::Acquire).as_ref() }
}

extern "C" fn prepare() {
    // Always in registration order; the library never holds two of them at once.
    let mut taken = 0u32;
    for index in 0..REGISTERED.load(Ordering::Acquire).min(MAX_LOCKS) {
        if let Some(flag) = lock_at(index) {
            acquire(flag);
            taken |= 1 << index;
        }
    }
    TAKEN.store(taken, Ordering::Release);
}

extern "C" fn release() {
    let taken = TAKEN.load(Ordering::Acquire);
    for index in (0..MAX_LOCKS).filter(|i| taken & (1 << i) != 0) {
        if let Some(flag) = lock_at(index) {
            flag.store(false, Ordering::Release);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    static COUNTER: ForkLock<u64> = ForkLock::new(0);

    #[test]
    fn a_child_forked_while_another_thread_holds_the_lock_can_take_it() {
        *COUNTER.lock() += 1;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let holder = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut c = COUNTER.lock();
                    *c += 1;
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
            })
        };
        for _ in 0..20 {
            // SAFETY: the child only takes the lock and exits without unwinding.
            match unsafe { libc::fork() } {
                0 => {
                    let ok = *COUNTER.lock() > 0;
                    // SAFETY: `_exit` ends the child without running the parent's destructors.
                    unsafe { libc::_exit(if ok { 0 } else { 1 }) };
                }
                pid => {
                    assert!(pid > 0);
                    let mut status = 0;
                    // A hang here is the bug; the test runner's timeout would report it.
                    // SAFETY: `status` is a live local and `pid` our own child.
                    unsafe { libc::waitpid(pid, &mut status, 0) };
                    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        holder.join().unwrap();
    }
}
