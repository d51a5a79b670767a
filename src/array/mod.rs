//! Views of memory the library does not own, and the element types they hold.

pub mod view;

pub use view::*;
