"""`stats()` of any numeric buffer, and `Stats`: the one result type of every statistics
call, and how stats merge."""

from __future__ import annotations

import ctypes
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Union, overload

from . import _bindings as b
from ._buffers import Buffer, as_integer, as_numbers
from ._errors import check
from ._loader import lib

# Union, not `|`: an alias is evaluated at run time, and Python 3.9 has no `X | Y` of types.
Number = Union[int, float]


class Histogram(NamedTuple):
    """A histogram as `numpy.histogram` returns it: `counts` of the values in each bin
    and the bins' `edges` (one more than the counts; half-open bins, the last closed).
    For dates and datetimes the edges are `datetime` objects. It unpacks as numpy's
    pair: `counts, edges = stats.histogram`.

    Examples
    --------
    >>> import oxbridge, os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "n.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("n\\n1\\n2\\n2\\n3\\n4\\n")
    ...     with oxbridge.Dataset.open(path) as ds:
    ...         counts, edges = ds.describe(bins=3)["n"].histogram
    >>> counts, edges
    ((1, 2, 2), (1.0, 2.0, 3.0, 4.0))
    """

    counts: tuple[int, ...]
    edges: tuple[Any, ...]


def _empty_native() -> b.oxb_stats:
    empty = b.oxb_stats()
    empty.is_integer = 1  # the identity of merging: integer data stays exact
    return empty


@dataclass(frozen=True)
class Stats:
    """Summary statistics of a set of numbers.

    NaNs are counted in `nan_count`; with `skipna=True` (the default) they are otherwise
    ignored, with `skipna=False` they make sum, mean, var, std, min and max NaN, as in
    numpy. With no values, mean, var, std, min and max are NaN and sum is 0. `var` and
    `std` use `ddof` delta degrees of freedom (0: population). For integer data, `sum`,
    `min` and `max` are exact Python ints (no int64 overflow).

    Stats merge: `s1.merge(s2)` and `Stats.combine([...])` give the statistics of the
    concatenated data.

    Fields: `count` (values other than NaN), `nan_count`, `sum`, `mean`, `var`, `std`,
    `min`, `max`, and the `ddof` and `skipna` they were computed with. Stats are made by
    `stats`, `Accumulator.stats` and `Dataset.describe`, and are immutable.

    `Dataset.describe` fills three more: `quantiles` (a dict from probability to value,
    numpy's `linear` method: exact while the column has at most 200 values or with
    `exact_quantiles=True`, else from a KLL sketch whose value for `q` has a true rank
    within about 1.3% of `q`), `distinct` (distinct non-NaN values: exact up to 4096,
    then a HyperLogLog estimate within about 2%) and `histogram` (a `Histogram`). For
    other Stats they are `{}`, None and None.

    Examples
    --------
    >>> import oxbridge
    >>> s = oxbridge.Accumulator([1.0, 2.0, float("nan"), 4.0]).stats()
    >>> (s.count, s.nan_count, s.sum, s.min, s.max)
    (3, 1, 7.0, 1.0, 4.0)
    """

    count: int
    nan_count: int
    sum: Number
    mean: float
    var: float
    std: float
    min: Number
    max: Number
    ddof: int = 0
    skipna: bool = True
    quantiles: dict[float, Number] = field(default_factory=dict, hash=False)
    distinct: int | None = None
    histogram: Histogram | None = None
    _native: b.oxb_stats | None = field(default=None, repr=False, compare=False)

    @classmethod
    def _from_native(cls, s: b.oxb_stats, ddof: int = 0, skipna: bool = True, *, owned: bool = True) -> Stats:
        """A Stats of the native result `s`; `owned` says `s` is a fresh struct it may keep
        (else it is copied, e.g. out of an array of results)."""
        count = s.count
        if s.is_integer:
            total: Number = (s.int_sum_high << 64) + s.int_sum_low
            low: Number = s.int_min if count else math.nan
            high: Number = s.int_max if count else math.nan
        else:
            total, low, high = s.sum, s.min, s.max
        var = s.m2 / (count - ddof) if count > ddof else math.nan
        var = var if math.isnan(var) else max(var, 0.0)
        mean = s.mean if count else math.nan  # the merge identity holds 0.0 here
        if not skipna and s.nan_count:
            total = mean = var = low = high = math.nan
        if not owned:
            copy = b.oxb_stats()
            ctypes.pointer(copy)[0] = s
            s = copy
        # Filled in directly: the frozen dataclass __init__ costs more than the native call.
        result = object.__new__(cls)
        result.__dict__.update(
            count=count,
            nan_count=s.nan_count,
            sum=total,
            mean=mean,
            var=var,
            std=math.nan if math.isnan(var) else math.sqrt(var),
            min=low,
            max=high,
            ddof=ddof,
            skipna=skipna,
            quantiles={},
            distinct=None,
            histogram=None,
            _native=s,
        )
        return result

    def merge(self, other: Stats) -> Stats:
        """The statistics of this data and `other`'s together (same ddof and skipna as
        this one); neither is changed.

        Raises `TypeError` when `other` is not a `Stats`, and `ValueError` for Stats built
        by hand rather than computed by oxbridge.

        Examples
        --------
        >>> import oxbridge
        >>> a, b = oxbridge.stats([1.0, 2.0]), oxbridge.stats([3.0])
        >>> a.merge(b).mean
        2.0
        """
        if not isinstance(other, Stats):
            raise TypeError(f"merge() expects Stats, got {type(other).__name__}")
        if self._native is None or other._native is None:
            raise ValueError("merge() needs Stats computed by oxbridge (they carry the merge state)")
        out = b.oxb_stats()
        check(lib.oxb_stats_merge(ctypes.byref(self._native), ctypes.byref(other._native), ctypes.byref(out)))
        return Stats._from_native(out, self.ddof, self.skipna)

    @classmethod
    def combine(cls, parts: Iterable[Stats], *, ddof: int = 0, skipna: bool = True) -> Stats:
        """The statistics of all the parts' data together, with the given `ddof` and
        `skipna`. No parts give the statistics of no data.

        Examples
        --------
        >>> import oxbridge
        >>> oxbridge.Stats.combine([oxbridge.stats([1, 2]), oxbridge.stats([3, 4])]).sum
        10
        >>> empty = oxbridge.Stats.combine([])
        >>> empty.count, empty.sum, empty.mean
        (0, 0, nan)
        """
        total = cls._from_native(_empty_native(), ddof, skipna)
        for part in parts:
            total = total.merge(part)
        return total


def _ddof(ddof: Any) -> int:
    value = as_integer(ddof, "ddof")
    if value < 0:
        raise ValueError(f"ddof must be 0 or more, got {value}")
    return value


def _axis(axis: Any, ndim: int) -> int | None:
    if axis is None:
        return None
    value = as_integer(axis, "axis", "an integer or None")
    if not -ndim <= value < ndim:
        raise ValueError(f"axis {value} is out of bounds for a {ndim}-D array")
    return value % ndim


@overload
def stats(a: Any, axis: None = None, ddof: int = 0, skipna: bool = True) -> Stats: ...
@overload
def stats(a: Any, axis: int, ddof: int = 0, skipna: bool = True) -> Stats | list[Stats]: ...
def stats(a: Any, axis: int | None = None, ddof: int = 0, skipna: bool = True) -> Stats | list[Stats]:
    """Count, NaN count, sum, mean, var, std, min and max in one parallel pass.

    Parameters
    ----------
    a
        Any buffer of float64, float32, int64 or int32 (numpy array, `array.array`,
        memoryview; any stride), a flat sequence of numbers, or Arrow data of those types
        (a pyarrow array or chunked array, a polars Series: `__arrow_c_array__` or
        `__arrow_c_stream__`), read in place, nulls counted as missing like NaN.
    axis
        None: the statistics of every element. For a 2-D array, 0 gives a list with one
        `Stats` per column and 1 one per row (negative values count from the end),
        zero-copy in C or Fortran order.
    ddof
        Delta degrees of freedom of `var` and `std` (0: population, 1: sample).
    skipna
        True: NaN is counted in `nan_count` and otherwise skipped. False: NaN makes
        sum, mean, var, std, min and max NaN, like numpy.

    Returns
    -------
    A `Stats`; with `axis` on a 2-D array, a list of them. For integer data, sum, min
    and max are exact Python ints.

    Raises
    ------
    TypeError
        For an unsupported dtype or non-numbers.
    ValueError
        For a negative `ddof` or an `axis` out of range (or given for a 3-D array).

    Examples
    --------
    >>> import oxbridge
    >>> s = oxbridge.stats([1.0, 2.0, 3.0, 4.0], ddof=1)
    >>> (s.mean, s.var, s.min, s.max)
    (2.5, 1.6666666666666667, 1.0, 4.0)
    >>> oxbridge.stats([2**62, 2**62]).sum  # exact, beyond int64
    9223372036854775808
    >>> import numpy as np
    >>> [s.sum for s in oxbridge.stats(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=0)]
    [4.0, 6.0]
    """
    ddof = _ddof(ddof)
    from . import _arrow

    if _arrow.is_arrow(a):
        if axis is not None:
            raise ValueError("axis is for 2-D arrays; an Arrow array is 1-D")
        total: Stats | None = None
        for schema, array, _held in _arrow.arrays(a):
            out = b.oxb_stats()
            check(
                lib.oxb_stats_arrow(
                    _arrow.pointer(_arrow.ARRAY, array), _arrow.pointer(_arrow.SCHEMA, schema), ctypes.byref(out)
                )
            )
            part = Stats._from_native(out, ddof, skipna)
            total = part if total is None else total.merge(part)
        return total if total is not None else stats([], ddof=ddof, skipna=skipna)
    buffer = Buffer(as_numbers(a, "stats"), writable=False, argument="a", function="stats")
    which = _axis(axis, buffer.ndim)
    if buffer.ndim == 2 and (which is not None or not (buffer.mv.c_contiguous or buffer.mv.f_contiguous)):
        matrix = buffer.matrix()
        if which is None:
            out = b.oxb_stats()
            check(lib.oxb_stats_axis(ctypes.byref(matrix), b.OXB_AXIS_ALL, ctypes.byref(out), 1))
            return Stats._from_native(out, ddof, skipna)
        code, n = (b.OXB_AXIS_COLUMNS, matrix.cols) if which == 0 else (b.OXB_AXIS_ROWS, matrix.rows)
        results = (b.oxb_stats * n)()
        check(lib.oxb_stats_axis(ctypes.byref(matrix), code, results, n))
        return [Stats._from_native(s, ddof, skipna, owned=False) for s in results]
    if which is not None and buffer.ndim > 1:
        raise ValueError(f"axis={axis} is supported for 1-D and 2-D arrays, not {buffer.ndim}-D")
    out = b.oxb_stats()
    check(lib.oxb_stats_compute(ctypes.byref(buffer.flat()), ctypes.byref(out)))
    return Stats._from_native(out, ddof, skipna)
