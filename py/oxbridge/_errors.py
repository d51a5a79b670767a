"""Exceptions: one per oxb_status, each also a matching built-in exception."""

from __future__ import annotations

import ctypes

from . import _bindings as b
from ._loader import lib


class OxbridgeError(Exception):
    """Base of every error raised by oxbridge; `status` is the library's status code."""

    status: int = -1


class NullPointerError(OxbridgeError, ValueError):
    status = b.OXB_NULL_POINTER


class InvalidArgumentError(OxbridgeError, ValueError):
    status = b.OXB_INVALID_ARGUMENT


class InvalidHandleError(OxbridgeError, ValueError):
    status = b.OXB_INVALID_HANDLE


class IoError(OxbridgeError, OSError):
    status = b.OXB_IO


class DataFormatError(OxbridgeError, ValueError):
    """Malformed data in a file: `path`, `line` (1-based, a header line counts) and
    `column` (its name) say where, when known."""

    path: str | None = None
    line: int | None = None
    column: str | None = None

    status = b.OXB_DATA_FORMAT


class CancelledError(OxbridgeError):
    status = b.OXB_CANCELLED


class UnsupportedError(OxbridgeError, NotImplementedError):
    status = b.OXB_UNSUPPORTED


class OutOfMemoryError(OxbridgeError, MemoryError):
    status = b.OXB_OUT_OF_MEMORY


class PanicError(OxbridgeError, RuntimeError):
    """An internal error (a caught Rust panic): a bug to report. The library stays usable."""

    status = b.OXB_PANIC


class ExpressionError(OxbridgeError, ValueError):
    """An expression that cannot be compiled or evaluated: the message names the
    position (with a caret line) and what was expected; `expression` is its text."""

    status = b.OXB_INVALID_ARGUMENT

    def __init__(self, message: str, expression: str = "") -> None:
        super().__init__(message)
        self.expression = expression


class ClosedError(OxbridgeError, ValueError):
    """A handle was used after `close()`."""

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
    return lib.oxb_last_error_message().decode("utf-8", "replace")


_IO_CLASSES: dict[type, type] = {}


def _io_error(os_code: int, message: str, path: str) -> OxbridgeError:
    """An IoError that is also the built-in for its errno (FileNotFoundError,
    PermissionError, IsADirectoryError...), with errno, strerror and filename set."""
    builtin = type(OSError(os_code, message))
    cls = _IO_CLASSES.get(builtin)
    if cls is None:
        cls = IoError if builtin is OSError else type(builtin.__name__, (IoError, builtin), {"__module__": __name__})
        _IO_CLASSES[builtin] = cls
    return cls(os_code, message, path or None)


def error_for(status: int) -> OxbridgeError:
    """The exception for a failed call, carrying the library's message and, for errors
    about a file, its `path` (and `line` and `column` for malformed data)."""
    message = last_error_message()
    detail = b.oxb_error_detail()
    lib.oxb_last_error_detail(ctypes.byref(detail))
    path = (detail.path or b"").decode("utf-8", "replace")
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
    if status:
        raise error_for(status)
