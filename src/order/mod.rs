//! Order statistics: parallel sort and quantiles by selection.
//!
//! Both work on order-preserving unsigned keys (a float's bits, flipped so that integer
//! order is numeric order), which lets a sort be a parallel LSD radix sort and a quantile
//! a radix selection: histogram passes over the data instead of a full sort.

mod quantile;
mod sort;

pub use quantile::quantiles;
pub use sort::sort;
