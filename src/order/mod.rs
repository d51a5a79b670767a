//! Order statistics: parallel sort, quantiles by selection, and histograms.
//!
//! Both work on order-preserving unsigned keys (a float's bits, flipped so that integer
//! order is numeric order), which lets a sort be a parallel LSD radix sort and a quantile
//! a radix selection: histogram passes over the data instead of a full sort.

pub mod histogram;
mod quantile;
mod sort;

pub use histogram::{histogram, Histogram};
pub use quantile::quantiles;
pub use sort::sort;
