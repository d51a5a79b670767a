//! The domain error type: a class (which the C ABI maps to a status code) and a message.

use std::fmt;

/// The class of a failure; each maps to one `oxb_status` at the C boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// An argument is out of its domain (a bad dtype, a negative length, ...).
    InvalidArgument,
    /// The operating system refused a file operation.
    Io,
    /// A file's content is not what its format says.
    DataFormat,
    /// The caller's progress callback asked to stop.
    Cancelled,
    /// A valid request the library does not handle (a dtype, a layout).
    Unsupported,
    /// An allocation the library checks for failed.
    OutOfMemory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// A failure of a library call: its kind, a message for people, and where it happened.
pub struct Error {
    /// Which kind of failure.
    pub kind: ErrorKind,
    /// What went wrong, naming the argument, file, line and column where they apply.
    pub message: String,
    /// Where in which file, for I/O and data-format errors.
    pub detail: Option<Box<Detail>>,
}

/// The machine-readable part of a file error, so bindings can raise e.g. an `OSError`
/// with `errno` and `filename`, or a parse error with `line` and `column`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detail {
    /// The file's path, as the caller spelled it.
    pub path: String,
    /// The operating system's error number (errno), 0 when not from the OS.
    pub os_code: i32,
    /// 1-based line in the file (a header line counts), 0 when unknown.
    pub line: u64,
    /// The column's name, empty when unknown.
    pub column: String,
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            detail: None,
        }
    }

    /// An I/O error on `path`, keeping the OS error number.
    pub fn io(path: &str, error: &std::io::Error) -> Self {
        let os_code = error.raw_os_error().unwrap_or(0);
        // "No such file or directory (os error 2)": the number is in the detail instead.
        let text = error.to_string();
        let text = match text.rfind(" (os error ") {
            Some(at) if text.ends_with(')') => text[..at].to_owned(),
            _ => text,
        };
        let mut e = Self::new(ErrorKind::Io, format!("{path}: {text}"));
        e.detail = Some(Box::new(Detail {
            path: path.to_owned(),
            os_code,
            ..Detail::default()
        }));
        e
    }

    /// Malformed data in `path` at `line` (1-based, 0 if unknown), in `column` if known.
    pub fn data_format(path: &str, line: u64, column: &str, what: impl std::fmt::Display) -> Self {
        let place = match (line, column.is_empty()) {
            (0, true) => String::new(),
            (0, false) => format!(" column {column:?}:"),
            (_, true) => format!(" line {line}:"),
            (_, false) => format!(" line {line}, column {column:?}:"),
        };
        let mut e = Self::new(ErrorKind::DataFormat, format!("{path}:{place} {what}"));
        e.detail = Some(Box::new(Detail {
            path: path.to_owned(),
            line,
            column: column.to_owned(),
            ..Detail::default()
        }));
        e
    }

    /// An `InvalidArgument` error.
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// An `Unsupported` error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
