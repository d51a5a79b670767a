"""The base of every Python object that owns a native handle."""

from __future__ import annotations

import ctypes
import weakref
from typing import Any, Callable, TypeVar

from . import _bindings as b
from ._errors import ClosedError, check, error_for


_Self = TypeVar("_Self", bound="Handle")


def _destroy(destroy: Callable[[int], int], handle: int) -> None:
    destroy(handle)


class Handle:
    """Owns one native handle: `close()` is idempotent, `with` closes it, and a handle
    that is never closed is released by a finalizer (not `__del__`, which is fragile at
    interpreter shutdown)."""

    _kind = "handle"

    def __init__(self, create: Callable[[Any], int], destroy: Callable[[int], int]) -> None:
        out = ctypes.c_uint64()
        check(create(out))
        self._handle: int | None = out.value
        self._destroy = destroy
        # object, not Handle: Dataset moves its finalizer onto another object.
        self._finalizer: weakref.finalize[[Callable[[int], int], int], object] = weakref.finalize(
            self, _destroy, destroy, out.value
        )
        # Not at interpreter exit: a daemon thread may still be using the handle then, and
        # destroying it under that thread turns its next call into an error; the process's
        # end frees the native memory anyway.
        self._finalizer.atexit = False

    @property
    def closed(self) -> bool:
        """True once `close()` has been called.

        Examples
        --------
        >>> import oxbridge
        >>> acc = oxbridge.Accumulator()
        >>> acc.closed
        False
        >>> acc.close()
        >>> acc.closed
        True
        """
        return self._handle is None

    def _h(self) -> int:
        handle = self._handle
        if handle is None:
            raise ClosedError(f"this {self._kind} is closed")
        return handle

    def _call(self, function: Callable[..., int], *args: Any) -> None:
        status = function(self._h(), *args)
        if status:
            if status == b.OXB_INVALID_HANDLE and self.closed:
                raise ClosedError(f"this {self._kind} was closed by another thread")
            raise error_for(status)

    def close(self) -> None:
        """Releases the native resource; calling it again does nothing. Any later use
        raises `ClosedError`. A ``with`` block calls it on exit.

        Examples
        --------
        >>> import oxbridge
        >>> e = oxbridge.Expression("x + 1")
        >>> e.close()
        >>> e.close()  # does nothing
        >>> e.closed
        True
        """
        if self._finalizer.detach() is not None:
            handle, self._handle = self._handle, None
            if handle is not None:
                check(self._destroy(handle))

    def __enter__(self: _Self) -> _Self:
        """Returns the object itself; raises `ClosedError` if it is closed."""
        self._h()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Closes the object."""
        self.close()

