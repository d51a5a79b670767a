//! Status codes, and the error type that carries one with its message to the guard.

use crate::error::{Detail, Error, ErrorKind};

/// The result of every fallible call. `OXB_OK` is 0; each other value is one class of
/// failure, whose details are in `oxb_last_error_message()`. Values are never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum oxb_status {
    /// Success.
    OXB_OK = 0,
    /// A required pointer argument was NULL.
    OXB_NULL_POINTER = 1,
    /// An argument had a value the function does not accept.
    OXB_INVALID_ARGUMENT = 2,
    /// A handle was 0, already destroyed, never created, or of another kind.
    OXB_INVALID_HANDLE = 3,
    /// The operating system reported an I/O error.
    OXB_IO = 4,
    /// Input data was malformed.
    OXB_DATA_FORMAT = 5,
    /// The caller cancelled the work through its progress callback.
    OXB_CANCELLED = 6,
    /// The operation is not supported for these arguments or on this platform.
    OXB_UNSUPPORTED = 7,
    /// Memory or threads could not be allocated.
    OXB_OUT_OF_MEMORY = 8,
    /// A bug in oxbridge: an internal panic was caught. The library stays usable.
    OXB_PANIC = 9,
}

/// A failure on its way to the caller: the status to return and the message to keep.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub status: oxb_status,
    pub message: String,
    pub detail: Option<Box<Detail>>,
}

impl FfiError {
    pub fn new(status: oxb_status, message: impl Into<String>) -> Self {
        FfiError {
            status,
            message: message.into(),
            detail: None,
        }
    }

    pub fn null(argument: &str) -> Self {
        Self::new(
            oxb_status::OXB_NULL_POINTER,
            format!("{argument} must not be NULL"),
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(oxb_status::OXB_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        let status = match e.kind {
            ErrorKind::InvalidArgument => oxb_status::OXB_INVALID_ARGUMENT,
            ErrorKind::Io => oxb_status::OXB_IO,
            ErrorKind::DataFormat => oxb_status::OXB_DATA_FORMAT,
            ErrorKind::Cancelled => oxb_status::OXB_CANCELLED,
            ErrorKind::Unsupported => oxb_status::OXB_UNSUPPORTED,
            ErrorKind::OutOfMemory => oxb_status::OXB_OUT_OF_MEMORY,
        };
        FfiError {
            status,
            message: e.message,
            detail: e.detail,
        }
    }
}

pub(crate) type FfiResult<T> = Result<T, FfiError>;
