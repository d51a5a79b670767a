//! Views of memory the library does not own, and the element types they hold.

pub mod dtype;
pub mod view;

pub(crate) use dtype::{with_dtype, Widen};
pub use dtype::{DType, Element, Integer, TypedSlice};
pub use view::*;
