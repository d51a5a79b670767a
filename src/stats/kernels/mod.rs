//! The SIMD passes behind the statistics: column-wise (`float`, `int`) and row-major
//! stripes (`float_rows`, `int_rows`). (Not named `f64`: a module of that name would
//! shadow the primitive type wherever it is in scope.)

pub(crate) mod float;
pub(crate) mod float_rows;
pub(crate) mod int;
pub(crate) mod int_rows;
