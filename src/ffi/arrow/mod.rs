//! The Arrow C Data and C Stream Interfaces: the three structs exactly as the Arrow
//! specification defines them (the header copies the spec's definitions, under its
//! `ARROW_C_DATA_INTERFACE` / `ARROW_C_STREAM_INTERFACE` guards, so a C program that also
//! includes Arrow's own header compiles), schemas and arrays exported from
//! `crate::arrow`, the stream of a dataset's batches, and what Python's capsules need.
//!
//! Every callback handed out (`release`, `get_schema`, `get_next`, `get_last_error`)
//! runs inside `guard::callback`: a panic there becomes an error code or is contained,
//! never an unwind into foreign code (which aborts the process). Release callbacks may
//! run on any thread, after the dataset was closed: what a structure points into (our
//! buffers, the file's mapping) is owned by its private data until then.

mod capsule;
mod export;
pub(crate) mod import;
mod stream;

pub use capsule::*;
pub use stream::*;

use std::ffi::{c_char, c_int, c_void};

/// The spec's `struct ArrowSchema`.
#[repr(C)]
pub struct ArrowSchema {
    pub format: *const c_char,
    pub name: *const c_char,
    pub metadata: *const c_char,
    pub flags: i64,
    pub n_children: i64,
    pub children: *mut *mut ArrowSchema,
    pub dictionary: *mut ArrowSchema,
    pub release: Option<unsafe extern "C" fn(*mut ArrowSchema)>,
    pub private_data: *mut c_void,
}

/// The spec's `struct ArrowArray`.
#[repr(C)]
pub struct ArrowArray {
    pub length: i64,
    pub null_count: i64,
    pub offset: i64,
    pub n_buffers: i64,
    pub n_children: i64,
    pub buffers: *mut *const c_void,
    pub children: *mut *mut ArrowArray,
    pub dictionary: *mut ArrowArray,
    pub release: Option<unsafe extern "C" fn(*mut ArrowArray)>,
    pub private_data: *mut c_void,
}

/// The spec's `struct ArrowArrayStream`.
#[repr(C)]
pub struct ArrowArrayStream {
    pub get_schema: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowSchema) -> c_int>,
    pub get_next: Option<unsafe extern "C" fn(*mut ArrowArrayStream, *mut ArrowArray) -> c_int>,
    pub get_last_error: Option<unsafe extern "C" fn(*mut ArrowArrayStream) -> *const c_char>,
    pub release: Option<unsafe extern "C" fn(*mut ArrowArrayStream)>,
    pub private_data: *mut c_void,
}

/// The spec's flag of a field that may hold nulls.
const FLAG_NULLABLE: i64 = 2;

impl ArrowSchema {
    /// A released (empty) schema.
    pub(crate) const EMPTY: ArrowSchema = ArrowSchema {
        format: std::ptr::null(),
        name: std::ptr::null(),
        metadata: std::ptr::null(),
        flags: 0,
        n_children: 0,
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    };
}

impl ArrowArray {
    /// A released (empty) array: what `get_next` writes at the end of a stream.
    pub(crate) const EMPTY: ArrowArray = ArrowArray {
        length: 0,
        null_count: 0,
        offset: 0,
        n_buffers: 0,
        n_children: 0,
        buffers: std::ptr::null_mut(),
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    };
}

impl ArrowArrayStream {
    /// A released (empty) stream.
    pub(crate) const EMPTY: ArrowArrayStream = ArrowArrayStream {
        get_schema: None,
        get_next: None,
        get_last_error: None,
        release: None,
        private_data: std::ptr::null_mut(),
    };
}
