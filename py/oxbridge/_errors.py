"""Exceptions: one per oxb_status, each also a matching built-in exception."""

from __future__ import annotations

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


def error_for(status: int) -> OxbridgeError:
    """The exception for a failed call, carrying the library's message."""
    error = _BY_STATUS.get(status, OxbridgeError)(last_error_message())
    error.status = status
    return error


def check(status: int) -> None:
    if status:
        raise error_for(status)
