//! The one guard around every export: a panic becomes `OXB_PANIC` with its message and
//! site, and an error becomes its status with the message stored for
//! `oxb_last_error_message`.

use super::last_error;
use super::status::{oxb_status, FfiError};
use crate::runtime::pool::WORKER_NAME_PREFIX;
use parking_lot::Mutex;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// What the panic hook saw of the latest panic on this thread inside a guard (message
    /// and location): caught by this thread's guard, so no other thread can take it.
    static OWN_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// What the panic hook saw of panics on our worker threads, whose payload travels to the
/// guard of the thread that called: (payload text, message and location), matched by the
/// payload's text when caught. Bounded, since a panic that is dropped on the way (rayon
/// keeps one of two panicking halves) is never taken.
static WORKER_PANICS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
const MAX_WORKER_PANICS: usize = 64;
static HOOK: Once = Once::new();

fn is_ours() -> bool {
    DEPTH.with(|d| d.get() > 0)
        || std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with(WORKER_NAME_PREFIX))
}

/// Panics inside oxbridge are reported through the status, never printed; panics of a
/// host program that links us as a Rust library still reach its own hook.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if is_ours() {
                let site = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let text = payload_text(info.payload());
                let message = format!("{text}{site}");
                if DEPTH.with(|d| d.get() > 0) {
                    OWN_PANIC.with(|p| *p.borrow_mut() = Some(message));
                } else {
                    let mut panics = WORKER_PANICS.lock();
                    if panics.len() == MAX_WORKER_PANICS {
                        panics.remove(0);
                    }
                    panics.push((text, message));
                }
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

fn run<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    result.map_err(|payload| {
        let text = payload_text(&*payload);
        let own = OWN_PANIC
            .with(|p| p.borrow_mut().take())
            .filter(|m| m.starts_with(&text));
        let text = own
            .or_else(|| {
                let mut panics = WORKER_PANICS.lock();
                let i = panics.iter().rposition(|(t, _)| *t == text)?;
                Some(panics.remove(i).1)
            })
            .unwrap_or(text);
        // Dropping a payload can itself panic; leaking it is harmless.
        std::mem::forget(payload);
        format!("internal error in oxbridge (please report): panic: {text}")
    })
}

/// Runs the body of a fallible export.
pub(crate) fn call(f: impl FnOnce() -> Result<(), FfiError>) -> oxb_status {
    match run(f) {
        Ok(Ok(())) => oxb_status::OXB_OK,
        Ok(Err(e)) => {
            last_error::set_with_detail(&e.message, e.detail.as_deref());
            e.status
        }
        Err(message) => {
            last_error::set(&message);
            oxb_status::OXB_PANIC
        }
    }
}

/// Runs the body of an export that returns a value instead of a status.
pub(crate) fn value<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    match run(f) {
        Ok(v) => v,
        Err(message) => {
            last_error::set(&message);
            on_panic
        }
    }
}

/// Runs a callback that we hand to foreign code (Arrow's release and stream callbacks):
/// like `value`, a panic is contained, gives `on_panic` and leaves its message for
/// `oxb_last_error_message`, since unwinding out of an `extern "C"` function aborts.
pub(crate) fn callback<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    value(on_panic, f)
}
