"""`Stats`: the one result type of every statistics call, and how stats merge."""

from __future__ import annotations

import ctypes
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Union

from . import _bindings as b
from ._errors import check
from ._loader import lib

# Union, not `|`: an alias is evaluated at run time, and Python 3.9 has no `X | Y` of types.
Number = Union[int, float]


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
