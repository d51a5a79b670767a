//! oxbridge: fast data work for Python and C through a stable C ABI.
//!
//! The domain modules (`array`, `runtime`, `process`, `stats`, `order`, `expr`,
//! `dataset`) are ordinary Rust that knows nothing about C or Python, safe but for the
//! SIMD kernels, memory maps and views of foreign memory (ARCHITECTURE.md lists them);
//! `ffi` is the only place with `extern "C"`.

pub mod array;
pub mod arrow;
pub mod dataset;
pub mod error;
pub mod expr;
pub mod ffi;
// The fuzz targets' bodies, for fuzz/ (feature `fuzzing`) and cargo test.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod order;
pub mod process;
pub mod runtime;
pub mod stats;

pub use array::{Strided, Strided2d, StridedMut, View, View2d, ViewMut};
pub use error::{Error, ErrorKind, Result};
pub use stats::Stats;
