"""Exceptions: one per oxb_status, each also a matching built-in exception."""

from __future__ import annotations

import ctypes
import os

from . import _bindings as b
from ._loader import lib


class OxbridgeError(Exception):
    """Base of every error raised by the native library; `status` is its status code.

    Every subclass also derives from the matching built-in exception (`ValueError`,
    `OSError`, `NotImplementedError`...), so ordinary ``except`` clauses work too. An
    error about a file also has `path`, and for malformed data `line` and `column`.

    Examples
    --------
    >>> import oxbridge
    >>> try:
    ...     oxbridge.Dataset.open("/no/such/file.csv")
    ... except oxbridge.OxbridgeError as error:
    ...     print(type(error).__name__, error.path)
    FileNotFoundError /no/such/file.csv
    """

    status: int = -1
    # Set on errors about a file (see `error_for`); DataFormatError defaults them to None.
    path: str | None
    line: int | None
    column: str | None


class NullPointerError(OxbridgeError, ValueError):
    """The library got a null pointer where it needs memory: a bug in the caller (the
    Python package never passes one).

    Examples
    --------
    >>> import oxbridge
    >>> issubclass(oxbridge.NullPointerError, ValueError)
    True
    """

    status = b.OXB_NULL_POINTER


class InvalidArgumentError(OxbridgeError, ValueError):
    """An argument the library rejects (out of range, inconsistent, overflowing...).

    Examples
    --------
    >>> import array, oxbridge
    >>> try:
    ...     oxbridge.process_array(array.array("q", [2**62]))  # 2**63 overflows int64
    ... except oxbridge.InvalidArgumentError as error:
    ...     print(isinstance(error, ValueError))
    True
    """

    status = b.OXB_INVALID_ARGUMENT


class InvalidHandleError(OxbridgeError, ValueError):
    """A handle the library does not know (never created, destroyed, or of another kind).
    Python objects raise `ClosedError` (same status) after `close()` instead.

    Examples
    --------
    >>> import oxbridge
    >>> issubclass(oxbridge.InvalidHandleError, ValueError)
    True
    """

    status = b.OXB_INVALID_HANDLE


class IoError(OxbridgeError, OSError):
    """A file could not be opened, mapped or read. Raised as the subclass that also is
    the built-in for its errno (`FileNotFoundError`, `PermissionError`...), with `errno`,
    `strerror`, `filename` and `path` set.

    Examples
    --------
    >>> import oxbridge
    >>> try:
    ...     oxbridge.Dataset.open("/no/such/file.npy")
    ... except FileNotFoundError as error:
    ...     print(isinstance(error, oxbridge.IoError), error.filename)
    True /no/such/file.npy
    """

    status = b.OXB_IO


class DataFormatError(OxbridgeError, ValueError):
    """Malformed data in a file: `path`, `line` (1-based, a header line counts) and
    `column` (its name) say where, when known.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "bad.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("a,b\\n1,2\\n3,x\\n")
    ...     with oxbridge.Dataset.open(path) as ds:
    ...         try:
    ...             _ = list(ds.iter_chunks())
    ...         except oxbridge.DataFormatError as error:
    ...             print(error.line, error.column)
    3 b
    """

    path: str | None = None
    line: int | None = None
    column: str | None = None

    status = b.OXB_DATA_FORMAT


class CancelledError(OxbridgeError):
    """A long call was cancelled through its progress callback. From Python, Ctrl-C
    raises `KeyboardInterrupt` and an exception in a `progress` callable is re-raised
    itself, so this is seen only by other callers of the library.

    Examples
    --------
    >>> import oxbridge
    >>> issubclass(oxbridge.CancelledError, oxbridge.OxbridgeError)
    True
    """

    status = b.OXB_CANCELLED


class UnsupportedError(OxbridgeError, NotImplementedError):
    """Something the library does not support (yet), e.g. a raw file's dtype.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "data.bin")
    ...     with open(path, "wb") as f:
    ...         _ = f.write(bytes(16))
    ...     try:
    ...         oxbridge.Dataset.open(path, "raw", dtype="complex128")
    ...     except oxbridge.UnsupportedError as error:
    ...         print(isinstance(error, NotImplementedError))
    True
    """

    status = b.OXB_UNSUPPORTED


class OutOfMemoryError(OxbridgeError, MemoryError):
    """The library could not allocate the memory it needed.

    Examples
    --------
    >>> import oxbridge
    >>> issubclass(oxbridge.OutOfMemoryError, MemoryError)
    True
    """

    status = b.OXB_OUT_OF_MEMORY


class PanicError(OxbridgeError, RuntimeError):
    """An internal error (a caught Rust panic): a bug to report. The library stays usable.

    Examples
    --------
    >>> import oxbridge
    >>> issubclass(oxbridge.PanicError, RuntimeError)
    True
    """

    status = b.OXB_PANIC


class ExpressionError(OxbridgeError, ValueError):
    """An expression that cannot be compiled or evaluated: the message names the
    position (with a caret line) and what was expected; `expression` is its text.

    Examples
    --------
    >>> import oxbridge
    >>> try:
    ...     oxbridge.Expression("2 +")
    ... except oxbridge.ExpressionError as error:
    ...     print(error)
    invalid expression: expected a number, a name or "(", found the end of the expression (at position 3):
        2 +
           ^
    """

    status = b.OXB_INVALID_ARGUMENT

    def __init__(self, message: str, expression: str = "") -> None:
        super().__init__(message)
        self.expression = expression


class ClosedError(OxbridgeError, ValueError):
    """A handle (`Accumulator`, `Expression`, `Dataset`) was used after `close()`.

    Examples
    --------
    >>> import oxbridge
    >>> acc = oxbridge.Accumulator()
    >>> acc.close()
    >>> try:
    ...     acc.push([1.0])
    ... except oxbridge.ClosedError as error:
    ...     print(error)
    this Accumulator is closed
    """

    status = b.OXB_INVALID_HANDLE


_BY_STATUS: dict[int, type[OxbridgeError]] = {
    cls.status: cls
    for cls in (
        NullPointerError,
        InvalidArgumentError,
        InvalidHandleError,
        IoError,
        DataFormatError,
        CancelledError,
        UnsupportedError,
        OutOfMemoryError,
        PanicError,
    )
}


def last_error_message() -> str:
    """The message of the last failed call on this thread."""
    message: bytes = lib.oxb_last_error_message()
    return message.decode("utf-8", "replace")


# The built-ins that OSError(errno, ...) becomes (PEP 3151), each with the IoError that is
# also it: FileNotFoundError for ENOENT, PermissionError for EACCES and EPERM...
_ERRNO_BUILTINS: tuple[type[OSError], ...] = (
    BlockingIOError,
    BrokenPipeError,
    ChildProcessError,
    ConnectionAbortedError,
    ConnectionRefusedError,
    ConnectionResetError,
    FileExistsError,
    FileNotFoundError,
    InterruptedError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    ProcessLookupError,
    TimeoutError,
)
_IO_ERRORS: dict[type[OSError], type[IoError]] = {
    builtin: type(builtin.__name__, (IoError, builtin), {"__module__": __name__}) for builtin in _ERRNO_BUILTINS
}


def _io_error(os_code: int, message: str, path: str) -> OxbridgeError:
    """An IoError that is also the built-in for its errno, with errno, strerror and
    filename set."""
    cls = _IO_ERRORS.get(type(OSError(os_code, message)), IoError)
    return cls(os_code, message, path or None)


# Paths that are not UTF-8, by the name the library gives them in errors (invalid bytes
# shown as U+FFFD), so an error's `path` and `filename` are the path as the caller spelled
# it. Only such paths are kept, and each once.
_EXACT_PATHS: dict[str, str] = {}


def remember_path(encoded: bytes) -> None:
    """Records a path about to be passed to the library, if it is not valid UTF-8."""
    try:
        encoded.decode("utf-8")
    except UnicodeDecodeError:
        _EXACT_PATHS[encoded.decode("utf-8", "replace")] = os.fsdecode(encoded)


def error_for(status: int) -> OxbridgeError:
    """The exception for a failed call, carrying the library's message and, for errors
    about a file, its `path` (and `line` and `column` for malformed data)."""
    message = last_error_message()
    detail = b.oxb_error_detail()
    lib.oxb_last_error_detail(ctypes.byref(detail))
    path = (detail.path or b"").decode("utf-8", "replace")
    path = _EXACT_PATHS.get(path, path)
    error: OxbridgeError
    if status == b.OXB_IO and detail.os_code:
        error = _io_error(detail.os_code, message, path)
    else:
        error = _BY_STATUS.get(status, OxbridgeError)(message)
    error.status = status
    if path:
        error.path = path
        error.line = detail.line or None
        error.column = (detail.column or b"").decode("utf-8", "replace") or None
    return error


def check(status: int) -> None:
    """Raises the exception for `status` unless it is `OXB_OK`."""
    if status:
        raise error_for(status)
