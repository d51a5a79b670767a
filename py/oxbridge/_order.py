"""Order statistics of any numeric buffer: histogram, quantile and sort."""

from __future__ import annotations

import ctypes
import math
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, overload

from . import _bindings as b
from ._buffers import Buffer, as_integer, as_numbers
from ._errors import check
from ._loader import lib

_Buffer = TypeVar("_Buffer")


def _as_array(values: Iterable[float], dtype: str) -> Any:
    try:
        import numpy
    except ImportError:
        return list(values)
    return numpy.asarray(values, dtype=dtype)


def histogram(a: Any, bins: int = 10, range: tuple[float, float] | None = None) -> tuple[Any, Any]:
    """Counts in `bins` equal-width bins and the `bins + 1` edges, identical to
    `numpy.histogram(a, bins, range)`: the last bin includes its right edge, values
    outside `range` (default: the data's min and max) and NaN are not counted.

    `a` is any buffer of float64, float32, int64 or int32, or a sequence of numbers;
    `range` is a finite `(lo, hi)` pair with `lo <= hi`.

    Returns `(counts, edges)`: numpy arrays of int64 and float64 (float32 edges for
    float32 data), or lists when numpy is not installed.

    Raises `TypeError` for a non-integer `bins` or a malformed `range`, `ValueError` for
    `bins < 1` or a reversed or infinite `range`.

    Examples
    --------
    >>> import oxbridge
    >>> counts, edges = oxbridge.histogram([0, 1, 2, 3, 4], bins=4)
    >>> counts.tolist(), edges.tolist()
    ([1, 1, 1, 2], [0.0, 1.0, 2.0, 3.0, 4.0])
    >>> counts, edges = oxbridge.histogram([0.5, 1.5, 9.0], bins=2, range=(0, 2))
    >>> counts.tolist()
    [1, 1]
    """
    if isinstance(bins, bool):
        raise TypeError("bins must be an integer, got bool")
    n = as_integer(bins, "bins")
    if n < 1:
        raise ValueError(f"bins must be at least 1, got {n}")
    limits = None
    if range is not None:
        try:
            lo, hi = (float(x) for x in range)
        except (TypeError, ValueError):
            raise TypeError(f"range must be a pair of numbers (lo, hi), got {range!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"range must be finite, got ({lo}, {hi})")
        if lo > hi:
            raise ValueError(f"range must have lo <= hi, got ({lo}, {hi})")
        limits = (ctypes.c_double * 2)(lo, hi)
    buffer = Buffer(as_numbers(a, "histogram"), writable=False, argument="a", function="histogram")
    counts = (ctypes.c_uint64 * n)()
    edges = (ctypes.c_double * (n + 1))()
    check(lib.oxb_histogram(ctypes.byref(buffer.flat()), n, limits, counts, edges))
    edge_type = "float32" if buffer.code == b.OXB_DTYPE_F32 else "float64"
    return _as_array(counts, "int64"), _as_array(edges, edge_type)


@overload
def quantile(a: Any, q: float) -> float: ...
@overload
def quantile(a: Any, q: Sequence[float]) -> Any: ...
def quantile(a: Any, q: Any) -> Any:
    """The q-th quantile(s) of all elements of `a`, identical to `numpy.quantile(a, q)`
    (linear method). Found by selection, not a full sort, without copying the data.

    `a` is any buffer of float64, float32, int64 or int32, or a sequence of numbers; a
    non-contiguous N-D numpy array is copied once. `q` is a number in [0, 1] (returns a
    float) or a sequence of them (returns a float64 numpy array, or a list without
    numpy). NaN in the data gives NaN, like numpy.

    Raises `TypeError` when `q` is not numbers and `ValueError` when one is outside
    [0, 1].

    Examples
    --------
    >>> import oxbridge
    >>> oxbridge.quantile([1.0, 2.0, 3.0, 4.0], 0.5)
    2.5
    >>> oxbridge.quantile([4, 1, 3, 2], [0.0, 0.25, 1.0]).tolist()
    [1.0, 1.75, 4.0]
    """
    scalar = not hasattr(q, "__len__") and not hasattr(q, "__iter__")
    try:
        qs = [float(q)] if scalar else [float(x) for x in q]
    except (TypeError, ValueError):
        raise TypeError(f"q must be a number or a sequence of numbers, got {q!r}") from None
    for value in qs:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"q must be within [0, 1], got {value}")
    buffer = Buffer(as_numbers(a, "quantile"), writable=False, argument="a", function="quantile")
    view = _flat_or_copy(buffer, a)
    n = len(qs)
    out = (ctypes.c_double * n)()
    check(lib.oxb_quantile(ctypes.byref(view[0]), (ctypes.c_double * n)(*qs), n, out))
    return out[0] if scalar else _as_array(list(out), "float64")


def _flat_or_copy(buffer: Buffer, original: Any) -> tuple[b.oxb_view, Any]:
    """A flat view; a non-contiguous N-D numpy array is copied once (read-only uses only)."""
    try:
        return buffer.flat(), buffer
    except ValueError:
        import numpy

        copy = Buffer(numpy.ascontiguousarray(original), writable=False, argument="a", function="quantile")
        return copy.flat(), copy


def sort(a: _Buffer) -> _Buffer:
    """Sorts `a` in place, ascending, NaN last (like `numpy.sort`), in parallel; returns
    `a`. A 2-D array is sorted along its last axis, row by row, like numpy.

    `a` is a writable buffer of float64, float32, int64 or int32 (any stride). Read-only
    memory raises `ValueError` (never a silent copy), as does an array of more than 2-D.

    Examples
    --------
    >>> import array, oxbridge
    >>> oxbridge.sort(array.array("d", [3.0, float("nan"), -1.0, 2.0]))
    array('d', [-1.0, 2.0, 3.0, nan])
    """
    from . import _arrow

    if _arrow.is_arrow(a):
        raise ValueError(
            "sort() sorts in place, and Arrow data is immutable: sort a copy, e.g. "
            "oxbridge.sort(numpy.array(a)), or use pyarrow.compute.sort_indices"
        )
    buffer = Buffer(a, writable=True, argument="a", function="sort")
    if buffer.ndim == 1:
        check(lib.oxb_sort(ctypes.byref(buffer.flat())))
    elif buffer.ndim == 2:
        m = buffer.matrix()
        itemsize = buffer.mv.itemsize
        for i in range(m.rows):
            row = b.oxb_view(m.data + i * m.row_stride * itemsize if m.data else 0, m.cols, m.col_stride, m.dtype)
            check(lib.oxb_sort(ctypes.byref(row)))
    else:
        raise ValueError(f"sort() sorts 1-D and 2-D arrays, got a {buffer.ndim}-D array")
    return a
