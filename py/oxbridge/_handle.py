"""The base of every Python object that owns a native handle."""

from __future__ import annotations

import ctypes
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import _bindings as b
from ._errors import ClosedError, check, error_for

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+

_View = TypeVar("_View")


class _Owner:
    """What a native handle lives as long as: its Handle until `close()`, and every view
    into the handle's native memory that was given a share (`Handle._share_with`)."""

    __slots__ = ("__weakref__",)


def _destroy(destroy: Callable[[int], int], handle: int) -> None:
    destroy(handle)  # from a finalizer: there is no caller to report a failure to


class Handle:
    """Owns one native handle: `close()` is idempotent, `with` closes it, and a handle
    that is never closed is released by a finalizer (not `__del__`, which is fragile at
    interpreter shutdown). Objects that point into the handle's native memory take a
    share of it (`_share_with`), so that memory outlives `close()` as long as they do."""

    _kind = "handle"

    def __init__(self, create: Callable[[Any], int], destroy: Callable[[int], int]) -> None:
        out = ctypes.c_uint64()
        check(create(out))
        self._handle: int | None = out.value
        self._destroy = destroy
        self._owner: _Owner | None = _Owner()
        self._views: list[weakref.ref[Any]] = []
        # On the owner, not on self: views sharing the handle outlive a forgotten object.
        self._finalizer = weakref.finalize(self._owner, _destroy, destroy, out.value)
        # Not at interpreter exit: a daemon thread may still be using the handle then (or
        # reading a view of its memory: unmapped, that is a segfault), and the process's
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

    def _share_with(self, view: _View) -> _View:
        """Gives `view`, an object that points into the handle's native memory (e.g. the
        buffer behind zero-copy chunks), a share of the handle, and returns it. The handle
        is then released when both this object is closed (or forgotten) and every such
        view is gone: `close()` hands the release over to the last view."""
        owner = self._owner
        if owner is None:
            raise ClosedError(f"this {self._kind} is closed")
        # The attribute is the share; ctypes objects take attributes, typeshed does not say so.
        view._oxbridge_owner = owner  # type: ignore[attr-defined]
        self._views = [v for v in self._views if v() is not None] + [weakref.ref(view)]
        return view

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
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if any(v() is not None for v in self._views):
            self._owner = None  # the last view's end releases the handle (the finalizer)
        elif self._finalizer.detach() is not None:  # None: another thread closes it
            self._owner = None
            check(self._destroy(handle))

    def __enter__(self) -> Self:
        """Returns the object itself; raises `ClosedError` if it is closed."""
        self._h()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Closes the object."""
        self.close()
