"""Reading a native description (`oxb_description`) into Python objects, and back: the
one place that knows the description handle's accessors. A `Description` keeps the
native state as bytes, so it merges, serialises and pickles without holding a handle."""

from __future__ import annotations

import ctypes
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from . import _bindings as b
from ._description import BoolStats, ColumnStats, Description, TemporalStats, TextStats
from ._errors import DataFormatError, check
from ._loader import lib
from ._stats import Histogram, Stats


class Settings:
    """How a description is read into Python: ddof, the percentiles and the bins."""

    __slots__ = ("bins", "ddof", "percentiles")

    def __init__(self, ddof: int, percentiles: Sequence[float], bins: int) -> None:
        self.ddof, self.percentiles, self.bins = ddof, tuple(percentiles), bins


def _text(data: Any, length: int) -> str | None:
    if not data:
        return None
    return ctypes.string_at(data, length).decode("utf-8", "replace")


def _column(handle: int, i: int, settings: Settings) -> tuple[str, str, ColumnStats]:
    name = ctypes.c_char_p()
    d = b.oxb_column_description()
    check(lib.oxb_description_column(handle, i, ctypes.byref(name), ctypes.byref(d)))
    sketch = b.oxb_column_sketch()
    check(lib.oxb_description_sketch(handle, i, ctypes.byref(sketch)))
    dtype = ctypes.c_char_p()
    check(lib.oxb_description_dtype(handle, i, ctypes.byref(dtype)))
    column = (name.value or b"").decode("utf-8", "replace")
    kind = (dtype.value or b"float64").decode()
    distinct = round(sketch.distinct)
    if d.kind == b.OXB_KIND_TEXT:
        if sketch.mixed:  # the text sketches cover only some parts: no partial figures
            return column, kind, TextStats(d.stats.count, d.stats.nan_count, d.min_len, d.max_len, mixed=True)
        top = _text(sketch.top, sketch.top_len)
        stats: ColumnStats = TextStats(
            d.stats.count,
            d.stats.nan_count,
            d.min_len,
            d.max_len,
            distinct,
            top,
            sketch.top_count if top is not None else None,
            sketch.top_error,
            _text(sketch.text_min, sketch.text_min_len),
            _text(sketch.text_max, sketch.text_max_len),
        )
        return column, kind, stats
    if d.kind == b.OXB_KIND_BOOL:
        s = d.stats
        trues = (s.int_sum_high << 64) + s.int_sum_low
        return column, kind, BoolStats(s.count, s.nan_count, trues, s.mean if s.count else math.nan, distinct)
    qs = settings.percentiles
    values = (ctypes.c_double * max(len(qs), 1))()
    check(lib.oxb_description_quantiles(handle, i, (ctypes.c_double * max(len(qs), 1))(*qs), len(qs), values))
    quantiles = dict(zip(qs, values[: len(qs)]))
    histogram = _histogram(handle, i, settings.bins)
    base = Stats._from_native(d.stats, settings.ddof, True, owned=False)
    if d.kind in (b.OXB_KIND_DATE, b.OXB_KIND_DATETIME):
        try:
            temporal = TemporalStats._from_stats(base, d.kind == b.OXB_KIND_DATE, quantiles, distinct, histogram)
        except (OverflowError, ValueError):  # the parsers keep to years 1-9999: damaged bytes
            raise DataFormatError(f"description: column {column!r} holds a {kind} outside years 1 to 9999") from None
        return column, kind, temporal
    filled = dataclasses.replace(base, quantiles=quantiles, distinct=distinct, histogram=histogram)
    object.__setattr__(filled, "_native", base._native)
    return column, kind, filled


def _histogram(handle: int, i: int, bins: int) -> Histogram | None:
    counts = (ctypes.c_uint64 * bins)()
    edges = (ctypes.c_double * (bins + 1))()
    written = ctypes.c_size_t()
    check(lib.oxb_description_histogram(handle, i, bins, counts, edges, ctypes.byref(written)))
    if written.value == 0:
        return None
    return Histogram(tuple(counts), tuple(edges))


def read(handle: int, settings: Settings) -> Description:
    """The Description of a native description handle (which the caller closes)."""
    n = ctypes.c_size_t()
    check(lib.oxb_description_num_columns(handle, ctypes.byref(n)))
    rows = ctypes.c_uint64()
    check(lib.oxb_description_num_rows(handle, ctypes.byref(rows)))
    columns: dict[str, ColumnStats] = {}
    kinds: dict[str, str] = {}
    for i in range(n.value):
        name, kind, stats = _column(handle, i, settings)
        columns[name], kinds[name] = stats, kind
    size = ctypes.c_size_t()
    check(lib.oxb_description_to_bytes(handle, None, 0, ctypes.byref(size)))
    state = ctypes.create_string_buffer(size.value)
    check(lib.oxb_description_to_bytes(handle, state, size.value, ctypes.byref(size)))
    known = None if rows.value == 2**64 - 1 else rows.value
    return Description(columns, kinds, known, _state=state.raw, _settings=settings)


def from_bytes(data: bytes, settings: Settings) -> Description:
    """The Description serialised as `data` (`Description.to_bytes`)."""
    handle = ctypes.c_uint64()
    check(lib.oxb_description_from_bytes(data, len(data), ctypes.byref(handle)))
    try:
        return read(handle.value, settings)
    finally:
        lib.oxb_description_close(handle.value)


def merge(parts: Sequence[bytes], settings: Settings) -> Description:
    """The Description of the data of every part (serialised descriptions), merged."""
    handles: list[int] = []
    try:
        for data in parts:
            h = ctypes.c_uint64()
            check(lib.oxb_description_from_bytes(data, len(data), ctypes.byref(h)))
            handles.append(h.value)
        total = handles[0]
        for other in handles[1:]:
            merged = ctypes.c_uint64()
            check(lib.oxb_description_merge(total, other, ctypes.byref(merged)))
            handles.append(merged.value)
            total = merged.value
        return read(total, settings)
    finally:
        for held in handles:
            lib.oxb_description_close(held)
