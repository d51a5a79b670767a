//! The C ABI, and nothing else: argument checks, the panic guard, status codes, the
//! last-error message and the handle table. Every export goes through `guard::call` or
//! `guard::value`, which is what keeps a Rust panic from ever reaching C.
#![allow(non_camel_case_types)]
// The exports' docs are the header's (cbindgen copies them), so a field or constant
// documented here changes the header: they are documented there as a whole instead.
#![allow(missing_docs)]

mod accumulator;
mod args;
mod arrow;
mod dataset;
mod description;
mod expr;
mod guard;
mod handles;
mod last_error;
mod order;
pub(crate) mod partition;
mod process;
mod progress;
mod stats;
mod status;
/// cbindgen:ignore
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod version;
// cbindgen writes the header in module order: the settings come right after the
// version functions, where they were when version.rs held them.
mod settings;
mod view;

pub use accumulator::*;
pub use arrow::*;
pub use dataset::*;
pub use description::*;
pub use expr::*;
pub use last_error::{oxb_error_detail, oxb_last_error_detail, oxb_last_error_message};
pub use order::*;
pub use partition::*;
pub use process::*;
pub use progress::oxb_progress_fn;
pub use settings::*;
pub use stats::*;
pub use status::oxb_status;
pub use version::*;
pub use view::*;
