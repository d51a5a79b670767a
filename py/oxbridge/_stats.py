"""`Stats`: the one result type of every statistics call."""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import _bindings as b


@dataclass(frozen=True)
class Stats:
    """Summary statistics of a set of numbers, NaNs counted in `nan_count` and otherwise
    ignored. With no values, `mean`, `var`, `std`, `min` and `max` are NaN and `sum` is 0.

    >>> import oxbridge
    >>> s = oxbridge.Accumulator([1.0, 2.0, float("nan"), 4.0]).stats()
    >>> (s.count, s.nan_count, s.sum, s.min, s.max)
    (3, 1, 7.0, 1.0, 4.0)
    """

    count: int
    nan_count: int
    sum: float
    mean: float
    var: float
    """Population variance (ddof = 0)."""
    std: float
    min: float
    max: float

    @classmethod
    def _from_native(cls, s: b.oxb_stats) -> "Stats":
        return cls(
            count=s.count,
            nan_count=s.nan_count,
            sum=s.sum,
            mean=s.mean,
            var=s.variance,
            std=math.sqrt(s.variance) if s.variance >= 0 else math.nan,
            min=s.min,
            max=s.max,
        )
