//! Mergeable sketches for one column: quantiles (KLL), distinct counts (HyperLogLog with
//! an exact start) and the most frequent text values (exact, then Misra-Gries).
//!
//! Each sketch updates in amortised O(1) per value, merges with another of the same
//! parameters (different parameters are an `InvalidArgument` error) and serialises to
//! versioned little-endian bytes; reading bytes back never panics: whatever is wrong is a
//! `DataFormat` error that says what. Everything is deterministic: no sketch draws random
//! numbers, so the same values merged in the same order give the same bytes whatever the
//! thread count or timing.

mod blocks;
pub(crate) mod bytes;
pub mod column;
mod hash;
pub mod heavy;
pub mod hll;
pub mod kll;

pub use column::ColumnSketch;
pub use hash::{hash_bytes, hash_f64, hash_i64};
pub use heavy::HeavyHitters;
pub use hll::DistinctSketch;
pub use kll::{sampling_level, KllSketch, Sampler};

#[cfg(test)]
mod bench;
#[cfg(test)]
mod count_tests;
#[cfg(test)]
mod kll_tests;
