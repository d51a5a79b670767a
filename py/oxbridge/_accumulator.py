"""`Accumulator`: streaming statistics through a native handle."""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from typing import Any, Union

from . import _bindings as b
from ._buffers import as_numbers, view_of
from ._handle import Handle
from ._loader import lib
from ._stats import Stats

# Union, not `|`: an alias is evaluated at run time, and Python 3.9 has no `X | Y` of types.
Numbers = Union[Any, Iterable[float]]


class Accumulator(Handle):
    """Statistics of everything pushed into it, one chunk at a time, in native memory.

    Safe to share between threads; pushes run outside the GIL and in parallel. `data`,
    when given, is pushed at once. A context manager: `close()` frees the native state
    (a finalizer does it for a forgotten one); use after that raises `ClosedError`.

    Examples
    --------
    >>> import oxbridge
    >>> with oxbridge.Accumulator() as acc:
    ...     acc.push([1.0, 2.0])
    ...     acc.push([3.0, 4.0])
    ...     acc.stats().mean
    2.5
    """

    _kind = "Accumulator"

    def __init__(self, data: Numbers | None = None) -> None:
        super().__init__(lib.oxb_accumulator_create, lib.oxb_accumulator_destroy)
        if data is not None:
            self.push(data)

    def push(self, data: Numbers) -> None:
        """Adds every number of `data`: any buffer of float64/float32/int64/int32 (zero-copy,
        any stride; N-D when contiguous), Arrow data of those types (pyarrow arrays, polars
        Series; read in place, nulls counted as missing), or an iterable of numbers.

        Raises `TypeError` for other dtypes or non-numbers, `ClosedError` after `close()`.

        Examples
        --------
        >>> import array, oxbridge
        >>> acc = oxbridge.Accumulator()
        >>> acc.push(array.array("i", [1, 2, 3]))
        >>> acc.push(x / 2 for x in range(3))
        >>> acc.stats().count
        6
        """
        from . import _arrow

        if _arrow.is_arrow(data):
            for schema, array, _held in _arrow.arrays(data):
                self._call(
                    lib.oxb_accumulator_push_arrow,
                    _arrow.pointer(_arrow.ARRAY, array),
                    _arrow.pointer(_arrow.SCHEMA, schema),
                )
            return
        view, keep = view_of(as_numbers(data, "push"), writable=False, argument="data", function="push")
        self._call(lib.oxb_accumulator_push, ctypes.byref(view))
        del keep

    def stats(self) -> Stats:
        """The statistics of everything pushed so far (population variance, NaN counted
        and skipped).

        Examples
        --------
        >>> import oxbridge
        >>> s = oxbridge.Accumulator([1, 2, 3, float("nan")]).stats()
        >>> s.count, s.nan_count, s.mean, s.max
        (3, 1, 2.0, 3.0)
        """
        out = b.oxb_stats()
        self._call(lib.oxb_accumulator_stats, ctypes.byref(out))
        return Stats._from_native(out)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as its state (the statistics' exact parts, about 100 bytes): the copy
        in another process goes on where this one is, and merges with others exactly."""
        out = b.oxb_stats()
        self._call(lib.oxb_accumulator_stats, ctypes.byref(out))
        return (_from_state, (bytes(out),))

    def merge(self, other: Accumulator) -> None:
        """Adds everything `other` has seen, as if it had been pushed here; `other` is
        unchanged.

        Examples
        --------
        >>> import oxbridge
        >>> a, b = oxbridge.Accumulator([1.0]), oxbridge.Accumulator([3.0])
        >>> a.merge(b)
        >>> a.stats().mean, b.stats().count
        (2.0, 1)
        """
        if not isinstance(other, Accumulator):
            raise TypeError(f"merge() expects an Accumulator, got {type(other).__name__}")
        self._call(lib.oxb_accumulator_merge, other._h())

    def reset(self) -> None:
        """Forgets everything pushed so far.

        Examples
        --------
        >>> import oxbridge
        >>> acc = oxbridge.Accumulator([1.0, 2.0])
        >>> acc.reset()
        >>> acc.stats().count
        0
        """
        self._call(lib.oxb_accumulator_reset)

    def __repr__(self) -> str:
        if self.closed:
            return "<oxbridge.Accumulator (closed)>"
        s = self.stats()
        return f"<oxbridge.Accumulator count={s.count} mean={s.mean!r}>"


def _from_state(state: bytes) -> Accumulator:
    """An accumulator with the state `Accumulator.__reduce__` saved."""
    if len(state) != ctypes.sizeof(b.oxb_stats):
        raise ValueError(f"an accumulator's state is {ctypes.sizeof(b.oxb_stats)} bytes, got {len(state)}")
    accumulator = Accumulator()
    stats = b.oxb_stats.from_buffer_copy(state)
    accumulator._call(lib.oxb_accumulator_merge_stats, ctypes.byref(stats))
    return accumulator
