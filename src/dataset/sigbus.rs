//! Surviving a mapped file that shrinks underneath us.
//!
//! Reading a page of a mapping past the end of a file that another process truncated
//! raises SIGBUS, which would kill the interpreter. While a dataset is open its mapping is
//! registered here; a SIGBUS inside a registered range maps a page of zeros over the
//! faulting page (so the read completes) and marks the mapping as damaged. Every scan
//! checks the mark and reports the truncation as an error instead of a partial result.
//! Faults anywhere else go to the handler that was installed before ours.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const SLOTS: usize = 256;

struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
    damaged: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    damaged: AtomicBool::new(false),
};

static WATCHED: [Slot; SLOTS] = [EMPTY; SLOTS];

/// A registered mapping; unregisters itself when dropped (before the unmap).
pub struct Watch {
    slot: Option<usize>,
}

impl Watch {
    /// Registers `bytes` (a file mapping). If every slot is taken the mapping is simply
    /// not guarded.
    pub fn new(bytes: &[u8]) -> Watch {
        if bytes.is_empty() {
            return Watch { slot: None };
        }
        install();
        let (start, end) = (
            bytes.as_ptr() as usize,
            bytes.as_ptr() as usize + bytes.len(),
        );
        for (i, slot) in WATCHED.iter().enumerate() {
            if slot
                .start
                .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                slot.damaged.store(false, Ordering::Relaxed);
                slot.end.store(end, Ordering::Release);
                slot.start.store(start, Ordering::Release);
                return Watch { slot: Some(i) };
            }
        }
        Watch { slot: None }
    }

    /// True once a read hit a page the file no longer has.
    pub fn damaged(&self) -> bool {
        self.slot
            .is_some_and(|i| WATCHED[i].damaged.load(Ordering::Acquire))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            WATCHED[i].end.store(0, Ordering::Release);
            WATCHED[i].start.store(0, Ordering::Release);
        }
    }
}

#[cfg(unix)]
mod handler {
    use super::{Ordering, SLOTS, WATCHED};
    use std::sync::Once;

    static INSTALL: Once = Once::new();
    static mut PREVIOUS: Option<libc::sigaction> = None;

    pub fn install() {
        INSTALL.call_once(|| {
            // SAFETY: plain sigaction calls with zero-initialised structs.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
                libc::sigemptyset(&mut action.sa_mask);
                let mut previous: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGBUS, &action, &mut previous) == 0 {
                    // Written once, before any fault can reach our handler.
                    PREVIOUS = Some(previous);
                }
            }
        });
    }

    extern "C" fn on_sigbus(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
        let address = unsafe { (*info).si_addr() } as usize;
        for slot in WATCHED.iter().take(SLOTS) {
            let start = slot.start.load(Ordering::Acquire);
            let end = slot.end.load(Ordering::Acquire);
            if start != 0 && start != usize::MAX && (start..end).contains(&address) {
                // SAFETY: sysconf takes no pointer, and is async-signal-safe.
                let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
                let base = address & !(page - 1);
                // SAFETY: replaces one page of our own read-only file mapping with zeros
                // (MAP_FIXED over a range we mapped; no Rust reference is invalidated, the
                // bytes it sees just become zeros).
                let mapped = unsafe {
                    libc::mmap(
                        base as *mut libc::c_void,
                        page,
                        libc::PROT_READ,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    )
                };
                if mapped != libc::MAP_FAILED {
                    slot.damaged.store(true, Ordering::Release);
                    return; // the read is retried and now sees zeros
                }
            }
        }
        // Not ours: hand the fault to whoever handled SIGBUS before us.
        // SAFETY: PREVIOUS was written before this handler was installed.
        unsafe {
            match PREVIOUS {
                Some(previous)
                    if previous.sa_sigaction != libc::SIG_DFL
                        && previous.sa_sigaction != libc::SIG_IGN =>
                {
                    if previous.sa_flags & libc::SA_SIGINFO != 0 {
                        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                            std::mem::transmute(previous.sa_sigaction);
                        f(signal, info, context);
                    } else {
                        let f: extern "C" fn(libc::c_int) =
                            std::mem::transmute(previous.sa_sigaction);
                        f(signal);
                    }
                }
                _ => {
                    // Default action: restore it; returning re-runs the faulting read.
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = libc::SIG_DFL;
                    libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
                }
            }
        }
    }
}

#[cfg(unix)]
use handler::install;

#[cfg(not(unix))]
fn install() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_truncated_mapping_reads_zeros_and_is_marked() {
        let path = std::env::temp_dir().join(format!("oxbridge_sigbus_{}", std::process::id()));
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&vec![7u8; 3 * 4096]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: test-only read-only mapping of our own file.
        let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        let watch = Watch::new(&map);
        assert!(!watch.damaged());
        f.set_len(4096).unwrap();
        // Volatile: the compiler must really touch the truncated page.
        // SAFETY: a reference into the mapping is valid to read; the SIGBUS it raises is
        // what the watch handles.
        let last = unsafe { std::ptr::read_volatile(&map[3 * 4096 - 1]) };
        assert_eq!(last, 0);
        assert!(watch.damaged());
        // SAFETY: as above; this page is still in the file.
        assert_eq!(unsafe { std::ptr::read_volatile(&map[0]) }, 7);
        drop(watch);
        drop(map);
        std::fs::remove_file(path).unwrap();
    }
}
