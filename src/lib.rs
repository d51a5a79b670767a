//! oxbridge: fast data work for Python and C through a stable C ABI.
//!
//! The domain modules (`view`, `kernels`, `stats`, `parallel`) are ordinary Rust that
//! knows nothing about C or Python; `ffi` is the only place with `extern "C"`.

pub mod dataset;
pub mod error;
pub mod expr;
mod f64_rows_simd;
mod f64_simd;
pub mod ffi;
mod fork_lock;
// Issue 7 item 14: the fuzz targets' bodies, for fuzz/ (feature `fuzzing`) and cargo test.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod histogram;
mod int_rows_simd;
mod int_simd;
pub mod job;
pub mod kernels;
pub mod order;
pub mod parallel;
pub mod stats;
pub mod view;

pub use error::{Error, ErrorKind, Result};
pub use stats::Summary;
pub use view::{Column, ColumnMut, Matrix, Matrix2, Strided, StridedMut};
