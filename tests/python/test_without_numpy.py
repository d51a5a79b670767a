"""The public API without numpy: plain Python buffers in, lists and `array.array` out.

numpy is optional for oxbridge. This module imports neither numpy nor anything that needs
it, and checks every answer against an oracle that does not go through oxbridge: sums with
math.fsum or exact integers, the statistics module, sorted(), the csv module, the math
functions. `make test-pypy` runs it under PyPy (no numpy there); under CPython it runs
as is, then once more in a subprocess in which numpy and friends cannot be imported.
"""

from __future__ import annotations

import array
import bisect
import csv
import ctypes
import ctypes.util
import errno
import gc
import importlib.util
import io
import json
import math
import os
import statistics
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import oxbridge

from _helpers import child_env, json_form, python, run_child, run_threads
from _paths import ROOT

HIDDEN_ENV = "OXBRIDGE_TEST_NUMPY_HIDDEN"
HIDDEN = ("numpy", "pandas", "numexpr", "polars")


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # hidden by the subprocess run below
        return False


HAVE_NUMPY = _importable("numpy")
without_numpy = pytest.mark.skipif(HAVE_NUMPY, reason="checks the results oxbridge gives when numpy is missing")
SETTINGS = settings(max_examples=60, deadline=None)

_LONG_BITS = 8 * array.array("l").itemsize  # C long: int64 on Linux and macOS, int32 on Windows
INT_RANGES = {
    "i": (-(2**31), 2**31 - 1),
    "l": (-(2 ** (_LONG_BITS - 1)), 2 ** (_LONG_BITS - 1) - 1),
    "q": (-(2**63), 2**63 - 1),
}
FLOAT_CODES = ("d", "f")
INT_CODES = ("q", "l", "i")


# ---- helpers and oracles --------------------------------------------------------------


def _list(result: Any) -> list:
    """A list of Python numbers from a result: a list, an array.array or (when numpy is
    installed) a numpy array."""
    if hasattr(result, "tolist"):
        return result.tolist()
    return list(result)


def _nan(x: Any) -> bool:
    """Whether x is a float NaN (math.isnan alone would refuse ints beyond float range)."""
    return isinstance(x, float) and math.isnan(x)


def _same(got: Sequence[float], want: Sequence[float]) -> bool:
    """Equal element by element, NaN equal to NaN."""
    return len(got) == len(want) and all((_nan(g) and _nan(w)) or g == w for g, w in zip(got, want))


def _close(got: float, want: float, rel: float = 1e-12, abs_: float = 0.0) -> bool:
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    if math.isinf(want):
        return got == want
    return math.isclose(got, want, rel_tol=rel, abs_tol=abs_)


def _as_float32(values: Sequence[float]) -> list[float]:
    """The values as float32 stores them (what the library sees)."""
    return array.array("f", values).tolist()


def _exact_variance(values: Sequence[float], ddof: int) -> float:
    """With fractions: exact, then rounded once (Python 3.9's statistics.pvariance can
    trip over subnormal numbers)."""
    exact = [Fraction(v) for v in values]
    mean = sum(exact) / len(exact)
    return float(sum((v - mean) ** 2 for v in exact) / (len(exact) - ddof))


def _check_stats(s: oxbridge.Stats, values: Sequence[float], ddof: int = 0, integer: bool | None = None) -> None:
    """`s` against the statistics of `values` computed here (NaN skipped and counted).
    Integer data (`integer`, by default: every value is an int) has exact sums."""
    numbers = [v for v in values if not _nan(v)]
    nans = len(values) - len(numbers)
    assert (s.count, s.nan_count) == (len(numbers), nans)
    if not numbers:
        assert s.sum == 0 and math.isnan(s.mean) and math.isnan(s.min) and math.isnan(s.max)
        return
    scale = float(max(abs(v) for v in numbers))
    if integer is None:
        integer = all(isinstance(v, int) for v in values)
    if integer:
        # Integer data: exact sums, min and max as Python ints, whatever their size.
        assert type(s.sum) is int and s.sum == sum(numbers)
        assert (s.min, s.max) == (min(numbers), max(numbers))
        assert _close(s.mean, float(Fraction(sum(numbers), len(numbers))), 1e-12, 1e-12 * scale)
    else:
        floats = [float(v) for v in numbers]  # what the library sees of mixed data
        assert _close(s.sum, math.fsum(floats), 1e-9, 1e-12 * len(floats) * scale)
        assert (s.min, s.max) == (min(floats), max(floats))
        assert _close(s.mean, statistics.fmean(floats), 1e-9, 1e-12 * scale)
    if len(numbers) > ddof:
        # Below the normal range a variance keeps only a few bits: allow some subnormal ulps.
        assert _close(
            s.var, _exact_variance([float(v) for v in numbers], ddof), 1e-9, max(1e-9 * scale * scale, 1e-320)
        )
        assert _close(s.std, math.sqrt(s.var))
    else:
        assert math.isnan(s.var) and math.isnan(s.std)


def _values(typecode: str, min_size: int = 0, max_size: int = 40, nan: bool = True) -> st.SearchStrategy:
    """Lists of numbers a `typecode` array holds exactly."""
    if typecode in INT_RANGES:
        lo, hi = INT_RANGES[typecode]
        return st.lists(st.integers(lo, hi), min_size=min_size, max_size=max_size)
    width = 32 if typecode == "f" else 64
    finite = st.floats(-1e6, 1e6, width=width)
    return st.lists(finite | st.just(math.nan) if nan else finite, min_size=min_size, max_size=max_size)


@st.composite
def _arrays(draw: Any, codes: Sequence[str] = FLOAT_CODES + INT_CODES, **kwargs: Any) -> array.array:
    code = draw(st.sampled_from(codes))
    return array.array(code, draw(_values(code, **kwargs)))


def _views(a: array.array) -> list:
    """Ways to hand over the same numbers without numpy: the array, a memoryview, a
    read-only memoryview, bytes cast back to numbers, and a bytearray copy cast."""
    raw = a.tobytes()
    return [
        a,
        memoryview(a),
        memoryview(a).toreadonly(),
        memoryview(raw).cast(a.typecode),
        memoryview(bytearray(raw)).cast(a.typecode),
    ]


# ---- process_array ---------------------------------------------------------------------


@SETTINGS
@given(_arrays(), st.data())
def test_process_array_doubles_every_kind_of_buffer_in_place(a, data):
    original = a.tolist()
    doubled = [x * 2 for x in original]
    lo, hi = INT_RANGES.get(a.typecode, (None, None))
    overflows = lo is not None and any(not lo <= x <= hi for x in doubled)
    target = data.draw(st.sampled_from(["array", "memoryview", "bytearray"]))
    if target == "bytearray":
        holder = bytearray(a.tobytes())
        view = memoryview(holder).cast(a.typecode)
        read = view.tolist
    else:
        view = a if target == "array" else memoryview(a)
        read = a.tolist
    if overflows:
        with pytest.raises(ValueError, match="overflow"):
            oxbridge.process_array(view)
        assert read() == original  # unchanged
    else:
        assert oxbridge.process_array(view) is view
        assert _same(read(), doubled)


@SETTINGS
@given(_arrays(nan=False, min_size=1), st.integers(-5, 5).filter(bool), st.integers(0, 4))
def test_process_array_on_a_strided_memoryview_touches_only_its_elements(a, step, start):
    if a.typecode in INT_RANGES:
        a = array.array(a.typecode, [x // 4 for x in a])  # no overflow
    before = a.tolist()
    index = list(range(len(a)))[start::step]
    oxbridge.process_array(memoryview(a)[start::step])
    chosen = set(index)
    assert a.tolist() == [x * 2 if i in chosen else x for i, x in enumerate(before)]


def test_process_array_with_an_expression():
    a = array.array("d", [0.25, 4.0, -9.0, 2.0])
    oxbridge.process_array(a, func="sqrt(abs(x)) * 2 + 1")
    assert _same(a.tolist(), [math.sqrt(abs(x)) * 2 + 1 for x in [0.25, 4.0, -9.0, 2.0]])
    f = array.array("f", [1.0, 2.0, 3.0])
    oxbridge.process_array(memoryview(f)[::2], func=oxbridge.Expression("x * x - 1"))
    assert f.tolist() == [0.0, 2.0, 8.0]
    with pytest.raises(oxbridge.ExpressionError, match="expression in x"):
        oxbridge.process_array(a, func="y + 1")
    with pytest.raises(TypeError, match="float64 or float32"):
        oxbridge.process_array(array.array("q", [1]), func="x + 1")


def test_process_array_refuses_what_it_cannot_change_in_place():
    a = array.array("d", [1.0, 2.0])
    for read_only in (memoryview(a).toreadonly(), memoryview(a.tobytes()).cast("d")):
        with pytest.raises(ValueError, match="read-only"):
            oxbridge.process_array(read_only)
        with pytest.raises(ValueError, match="read-only"):
            oxbridge.sort(read_only)
    with pytest.raises(TypeError, match="got list"):
        oxbridge.process_array([1.0, 2.0])
    for code, name in [("h", "int16"), ("b", "int8"), ("B", "uint8"), ("H", "uint16"), ("Q", "uint64")]:
        with pytest.raises(TypeError, match=f"dtype {name}; oxbridge supports float64, float32, int64 or int32"):
            oxbridge.process_array(array.array(code, [1]))
    with pytest.raises(TypeError, match="uint8"):
        oxbridge.process_array(bytearray(16))  # raw bytes, not numbers
    assert a.tolist() == [1.0, 2.0]


def test_process_array_refuses_misaligned_memory():
    raw = bytearray(8 * 5)
    base = ctypes.addressof(ctypes.c_char.from_buffer(raw))
    offset = next(i for i in range(1, 8) if (base + i) % 8)
    with pytest.raises(ValueError, match="not aligned"):
        oxbridge.process_array(memoryview(raw)[offset : offset + 32].cast("d"))
    aligned = (-base) % 8
    view = memoryview(raw)[aligned : aligned + 32].cast("d")
    view[0] = 1.5
    oxbridge.process_array(view)
    assert view.tolist() == [3.0, 0.0, 0.0, 0.0]


# ---- stats, histogram, quantile, sort ----------------------------------------------------


@SETTINGS
@given(_arrays(), st.integers(0, 2))
def test_stats_of_every_buffer_kind_match_the_statistics_module(a, ddof):
    values = a.tolist()
    for view in _views(a):
        _check_stats(oxbridge.stats(view, ddof=ddof), values, ddof)
    # Sequences of numbers are accepted too (copied into an array once).
    _check_stats(oxbridge.stats(values, ddof=ddof), values, ddof)


@SETTINGS
@given(_arrays(min_size=1), st.integers(-4, 4).filter(bool), st.integers(0, 3))
def test_stats_of_strided_and_reversed_views(a, step, start):
    expected = a.tolist()[start::step]
    _check_stats(oxbridge.stats(memoryview(a)[start::step]), expected)
    _check_stats(oxbridge.stats(memoryview(a).toreadonly()[start::step]), expected)


def test_stats_of_huge_integers_are_exact():
    big = [2**63 - 1] * 5 + [-(2**63)] * 2
    s = oxbridge.stats(array.array("q", big))
    assert s.sum == sum(big) and type(s.sum) is int
    assert (s.min, s.max) == (-(2**63), 2**63 - 1)
    s = oxbridge.stats(array.array("i", [2**31 - 1] * 3))
    assert s.sum == 3 * (2**31 - 1)
    # Numbers that do not fit int64 are taken as floats.
    assert oxbridge.stats([2**70, 1]).sum == math.fsum([2.0**70, 1.0])


def test_stats_nan_handling_and_empty_input():
    values = [1.0, math.nan, 3.0]
    s = oxbridge.stats(array.array("d", values))
    assert (s.count, s.nan_count, s.sum, s.mean) == (2, 1, 4.0, 2.0)
    p = oxbridge.stats(array.array("d", values), skipna=False)
    assert p.nan_count == 1 and all(math.isnan(x) for x in (p.sum, p.mean, p.var, p.std, p.min, p.max))
    for empty in (array.array("d"), [], memoryview(array.array("q"))):
        _check_stats(oxbridge.stats(empty), [])
    with pytest.raises(TypeError, match="containing 'a'"):
        oxbridge.stats([1.0, "a"])
    with pytest.raises(TypeError, match="expects a buffer of numbers"):
        oxbridge.stats(3.5)
    with pytest.raises(ValueError, match="ddof"):
        oxbridge.stats([1.0], ddof=-1)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 6), st.sampled_from(FLOAT_CODES + INT_CODES), st.data())
def test_stats_by_axis_of_a_2d_memoryview(rows, cols, code, data):
    flat = data.draw(_values(code, min_size=rows * cols, max_size=rows * cols, nan=False))
    m = memoryview(array.array(code, flat)).cast("B").cast(code, (rows, cols))
    table = [flat[r * cols : (r + 1) * cols] for r in range(rows)]
    by_column = oxbridge.stats(m, axis=0, ddof=1)
    assert len(by_column) == cols
    for j, s in enumerate(by_column):
        _check_stats(s, [row[j] for row in table], ddof=1)
    for i, s in enumerate(oxbridge.stats(m, axis=-1)):
        _check_stats(s, table[i])
    _check_stats(oxbridge.stats(m), flat)
    with pytest.raises(ValueError, match="out of bounds"):
        oxbridge.stats(m, axis=2)


@SETTINGS
@given(st.lists(_arrays(codes=("d", "q", "i"), nan=True), min_size=1, max_size=5))
def test_stats_merge_and_combine_equal_the_stats_of_the_concatenation(parts):
    together = [x for part in parts for x in part.tolist()]
    each = [oxbridge.stats(part) for part in parts]
    _check_stats(oxbridge.Stats.combine(each), together)
    merged = each[0]
    for s in each[1:]:
        merged = merged.merge(s)
    _check_stats(merged, together)


def _histogram_oracle(values: Sequence[float], bins: int, lo: float, hi: float, edges: Sequence[float]) -> list[int]:
    """numpy's rule: value x is in bin i when edges[i] <= x < edges[i+1]; the last bin also
    takes hi; NaN and values outside [lo, hi] are not counted."""
    counts = [0] * bins
    for x in values:
        if not _nan(x) and lo <= x <= hi:
            counts[min(bisect.bisect_right(edges, x) - 1, bins - 1)] += 1
    return counts


@SETTINGS
@given(_arrays(nan=True), st.integers(1, 12), st.booleans(), st.data())
def test_histogram_matches_numpys_definition(a, bins, with_range, data):
    values = [float(v) for v in a]  # integers are binned as float64, as numpy does
    numbers = [v for v in values if not _nan(v)]
    if with_range:
        lo = data.draw(st.floats(-2e6, 2e6))
        hi = data.draw(st.floats(lo, 2e6))
        args: tuple = (a, bins, (lo, hi))
    elif len(numbers) < len(values):  # NaN: see test_histogram_without_range_refuses_nan
        return
    else:
        args = (memoryview(a).toreadonly(), bins)
        lo, hi = (min(numbers), max(numbers)) if numbers else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    if a.typecode == "f":
        lo, hi = _as_float32([lo, hi])
    ulp = math.ulp(max(abs(lo), abs(hi)))
    if a.typecode == "f":  # float32: a 23-bit mantissa, subnormals from 2**-149
        ulp = max(ulp * 2**29, 2.0**-149)
    if hi - lo <= 4 * bins * ulp:
        # Like numpy: bins narrower than the floats there cannot be made.
        try:
            oxbridge.histogram(*args)
        except ValueError as error:
            assert "too many bins" in str(error)
        return
    counts, edges = (_list(x) for x in oxbridge.histogram(*args))
    assert len(counts) == bins and len(edges) == bins + 1
    assert (edges[0], edges[-1]) == (lo, hi)
    # Edges are float32 for float32 data, as numpy makes them.
    precision = (1e-6 if a.typecode == "f" else 1e-12) * (abs(lo) + abs(hi))
    for i, edge in enumerate(edges):
        assert _close(edge, lo + i * (hi - lo) / bins, 0.0, precision)
    assert edges == sorted(edges)
    assert counts == _histogram_oracle(values, bins, lo, hi, edges)
    assert sum(counts) == sum(1 for x in numbers if lo <= x <= hi)


# Found by this test: a NaN followed by a number in the same chunk was forgotten.
@pytest.mark.parametrize("values", [[math.nan, 0.0], [1.0, math.nan, 2.0], [math.nan, math.nan, 1.0]])
def test_histogram_without_range_refuses_nan_anywhere(values):
    # numpy: "autodetected range of [nan, nan] is not finite", wherever the NaN is.
    for data in (values, array.array("d", values), array.array("d", values[::-1])):
        with pytest.raises(ValueError, match="not finite; pass range"):
            oxbridge.histogram(data, bins=2)


def test_histogram_of_lists_and_arguments():
    assert [_list(x) for x in oxbridge.histogram([0, 1, 2, 3, 4], bins=4)] == [[1, 1, 1, 2], [0.0, 1.0, 2.0, 3.0, 4.0]]
    assert [_list(x) for x in oxbridge.histogram([5, 5, 5], bins=2)] == [[0, 3], [4.5, 5.0, 5.5]]
    assert [_list(x) for x in oxbridge.histogram([], bins=2)] == [[0, 0], [0.0, 0.5, 1.0]]
    with pytest.raises(ValueError, match="at least 1"):
        oxbridge.histogram([1.0], bins=0)
    with pytest.raises(TypeError, match="bool"):
        oxbridge.histogram([1.0], bins=True)
    with pytest.raises(ValueError, match="lo <= hi"):
        oxbridge.histogram([1.0], range=(2, 1))
    with pytest.raises(ValueError, match="finite"):
        oxbridge.histogram([1.0], range=(0, math.inf))


def _quantile_oracle(values: Sequence[float], q: float) -> float:
    """numpy's default ("linear"): interpolate between the order statistics around (n-1)q."""
    s = sorted(values)
    h = (len(s) - 1) * q
    i = math.floor(h)
    j = min(i + 1, len(s) - 1)
    return s[i] + (h - i) * (s[j] - s[i])


@SETTINGS
@given(_arrays(min_size=1, nan=False), st.lists(st.floats(0, 1), min_size=1, max_size=5))
def test_quantile_matches_linear_interpolation_and_the_statistics_module(a, qs):
    values = a.tolist()
    scale = max(abs(v) for v in values)
    got = _list(oxbridge.quantile(memoryview(a).toreadonly(), qs))
    assert len(got) == len(qs)
    for q, g in zip(qs, got):
        assert _close(g, _quantile_oracle(values, q), 1e-12, 1e-12 * scale)
    assert oxbridge.quantile(a, 0.0) == float(min(values)) and oxbridge.quantile(a, 1.0) == float(max(values))
    assert _close(oxbridge.quantile(values, 0.5), statistics.median(values), 1e-12, 1e-12 * scale)
    if len(values) > 1:
        quartiles = statistics.quantiles(values, n=4, method="inclusive")
        for g, e in zip(_list(oxbridge.quantile(a, [0.25, 0.5, 0.75])), quartiles):
            assert _close(g, e, 1e-9, 1e-9 * scale)
    # The data is not reordered (selection works on a scratch copy).
    assert a.tolist() == values


def test_quantile_edge_cases():
    assert math.isnan(oxbridge.quantile(array.array("d", [1.0, math.nan, 3.0]), 0.5))
    assert math.isnan(oxbridge.quantile([], 0.5))
    assert oxbridge.quantile(array.array("i", [1, 2, 3, 10]), 0.5) == 2.5
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        oxbridge.quantile([1.0], 1.5)
    with pytest.raises(TypeError, match="q must be"):
        oxbridge.quantile([1.0], "half")


@SETTINGS
@given(_arrays(), st.sampled_from(["array", "memoryview", "reversed", "strided"]))
def test_sort_in_place_with_nan_last(a, how):
    values = a.tolist()
    if how == "array":
        target, index = a, list(range(len(a)))
    elif how == "memoryview":
        target, index = memoryview(a), list(range(len(a)))
    elif how == "reversed":
        target, index = memoryview(a)[::-1], list(range(len(a)))[::-1]
    else:
        target, index = memoryview(a)[1::2], list(range(len(a)))[1::2]
    chosen = [values[i] for i in index]
    numbers = sorted(v for v in chosen if not _nan(v))
    expected = numbers + [math.nan] * (len(chosen) - len(numbers))
    assert oxbridge.sort(target) is target
    after = a.tolist()
    assert _same([after[i] for i in index], expected)
    untouched = set(range(len(a))) - set(index)
    assert _same([after[i] for i in sorted(untouched)], [values[i] for i in sorted(untouched)])


def test_sort_rows_of_a_2d_buffer():
    m = memoryview(array.array("q", [3, 1, 2, 9, -8, 7])).cast("B").cast("q", (2, 3))
    oxbridge.sort(m)
    assert m.tolist() == [[1, 2, 3], [-8, 7, 9]]
    with pytest.raises(TypeError, match="got list"):
        oxbridge.sort([3.0, 1.0])


# ---- Accumulator -------------------------------------------------------------------------


@SETTINGS
@given(st.lists(_arrays(), max_size=6), st.data())
def test_accumulator_streams_chunks_of_any_kind(chunks, data):
    together = [x for chunk in chunks for x in chunk.tolist()]
    with oxbridge.Accumulator() as acc:
        for chunk in chunks:
            kind = data.draw(st.sampled_from(["array", "readonly", "list", "generator", "strided"]))
            if kind == "array":
                acc.push(chunk)
            elif kind == "readonly":
                acc.push(memoryview(chunk.tobytes()).cast(chunk.typecode))
            elif kind == "list":
                acc.push(chunk.tolist())
            elif kind == "generator":
                acc.push(x for x in chunk.tolist())
            else:
                acc.push(memoryview(chunk)[::2])
                acc.push(memoryview(chunk)[1::2])
        _check_stats(acc.stats(), together)
        again = oxbridge.Accumulator(together)
        _check_stats(again.stats(), together)
        acc.merge(again)
        _check_stats(acc.stats(), together + together)
        again.close()
        acc.reset()
        _check_stats(acc.stats(), [])
    assert acc.closed and "closed" in repr(acc)


def test_accumulator_lifecycle_and_errors():
    acc = oxbridge.Accumulator([1, 2, 3])
    assert "count=3" in repr(acc) and acc.stats().sum == 6
    acc.close()
    acc.close()  # idempotent
    with pytest.raises(oxbridge.ClosedError):
        acc.push([1.0])
    with pytest.raises(ValueError):  # ClosedError is a ValueError
        acc.stats()
    with pytest.raises(TypeError, match="Accumulator"):
        oxbridge.Accumulator().merge([1.0])
    with pytest.raises(TypeError, match="int16"):
        oxbridge.Accumulator().push(array.array("h", [1]))
    # A forgotten accumulator is released by its finalizer.
    forgotten = oxbridge.Accumulator([1.0])
    finalizer = forgotten._finalizer
    del forgotten
    for _ in range(3):
        gc.collect()
    assert not finalizer.alive


def test_accumulator_shared_by_threads():
    acc = oxbridge.Accumulator()
    chunks = [array.array("q", range(i * 1000, (i + 1) * 1000)) for i in range(40)]

    def push(k: int) -> None:
        for chunk in chunks[k::4]:
            acc.push(chunk)

    run_threads(4, push)
    s = acc.stats()
    assert (s.count, s.sum, s.min, s.max) == (40_000, sum(range(40_000)), 0, 39_999)
    acc.close()


# ---- expressions and parallel_map -------------------------------------------------------

_OPERANDS = st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=30)


@SETTINGS
@given(_OPERANDS, st.data(), st.sampled_from(["d", "f", "q", "i"]))
def test_evaluate_matches_python_arithmetic(xs, data, code_b):
    n = len(xs)
    a = array.array("d", xs)
    bs = data.draw(st.lists(st.integers(-1000, 1000), min_size=n, max_size=n))
    b = array.array(code_b, bs)
    b_values = b.tolist()
    got = _list(oxbridge.evaluate("2*a + b**2 - 1", a=a, b=b))
    assert all(_close(g, 2 * x + y**2 - 1, 1e-12, 1e-9) for g, x, y in zip(got, xs, b_values))
    # Names from the caller's frame, like numexpr; strided and read-only operands.
    k = 3.0
    c = memoryview(array.array("d", [v for x in xs for v in (x, -1.0)]))[::2]  # noqa: F841 - evaluate reads it from here
    got = _list(oxbridge.evaluate("where(c > 0, log1p(c), -c) * k"))
    assert all(_close(g, (math.log1p(x) if x > 0 else -x) * k, 1e-12, 1e-12) for g, x in zip(got, xs))
    got = _list(
        oxbridge.evaluate("arctan2(a, b) + minimum(a, b)", local_dict={"a": memoryview(a).toreadonly(), "b": b})
    )
    assert all(_close(g, math.atan2(x, y) + min(x, y), 1e-12, 1e-12) for g, x, y in zip(got, xs, b_values))


_UNARY = {
    "sqrt": math.sqrt,
    "exp": math.exp,
    "expm1": math.expm1,
    "log": math.log,
    "log10": math.log10,
    "log1p": math.log1p,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "arcsin": math.asin,
    "arccos": math.acos,
    "arctan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "floor": math.floor,
    "ceil": math.ceil,
    "round": round,
    "abs": abs,
}


@pytest.mark.parametrize("name", sorted(_UNARY))
def test_each_function_matches_the_math_module(name):
    xs = [0.001, 0.1, 0.25, 0.5, 0.5000001, 0.75, 0.999, 1.5, 2.5, 7.0]
    if name in ("floor", "ceil", "round", "abs", "sin", "cos", "tan", "arctan", "sinh", "cosh", "tanh", "exp", "expm1"):
        xs += [-x for x in xs]
    if name in ("arcsin", "arccos"):
        xs = [x for x in xs if x <= 1]
    got = _list(oxbridge.evaluate(f"{name}(x)", x=array.array("d", xs)))
    for g, x in zip(got, xs):
        assert _close(g, float(_UNARY[name](x)), 4e-16), (name, x, g)


def test_comparisons_and_logic_give_booleans():
    a = array.array("d", [0.0, 1.0, math.nan, 5.0, -math.inf])
    assert [bool(x) for x in _list(oxbridge.evaluate("a > 0.5", a=a))] == [False, True, False, True, False]
    assert [bool(x) for x in _list(oxbridge.evaluate("isnan(a) | (a == 0)", a=a))] == [True, False, True, False, False]
    assert [bool(x) for x in _list(oxbridge.evaluate("isfinite(a) and not (a > 2)", a=a))] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert _list(oxbridge.evaluate("a % 3", a=array.array("d", [-7.0, 7.0, 7.5]))) == [-7.0 % 3, 7.0 % 3, 7.5 % 3]
    assert _list(oxbridge.evaluate("clip(a, 0, 2)", a=array.array("i", [-1, 1, 3]))) == [0.0, 1.0, 2.0]


@without_numpy
def test_results_without_numpy_are_lists_and_arrays():
    a = array.array("d", [1.0, 4.0])
    result = oxbridge.evaluate("sqrt(a)", a=a)
    assert type(result) is array.array and result.typecode == "d" and result.tolist() == [1.0, 2.0]
    result = oxbridge.evaluate("a * 2", a=array.array("f", [1.5]))
    assert type(result) is array.array and result.typecode == "f"  # float32 in, float32 out
    assert oxbridge.evaluate("2 + 3") == 5.0  # scalars only: a scalar
    assert oxbridge.parallel_map("x + 1", [1.0]).tolist() == [2.0]
    result = oxbridge.parallel_map(lambda v: v * 3, array.array("i", [1, 2]))
    assert type(result) is list and result == [3, 6]
    counts, edges = oxbridge.histogram([1.0, 2.0], bins=1)
    assert (counts, edges) == ([2], [1.0, 2.0])
    assert oxbridge.quantile([1.0, 3.0], [0.5]) == [2.0]
    with pytest.raises(ImportError, match="numpy"):
        import numpy  # noqa: F401


def test_expression_object():
    e = oxbridge.Expression("sqrt(x*x + y*y)")
    assert e.variables == ("x", "y") and "sqrt" in repr(e)
    xs, ys = array.array("d", [3.0, 5.0, 0.0]), [4.0, 12.0, 0.0]
    assert _list(e(xs, ys)) == [5.0, 13.0, 0.0]
    assert _list(e(y=ys, x=xs)) == [5.0, 13.0, 0.0]
    assert _list(e(xs, 0)) == [3.0, 5.0, 0.0]  # a scalar is broadcast
    out = array.array("d", [9.0] * 3)
    assert e(xs, ys, out=out) is out and out.tolist() == [5.0, 13.0, 0.0]
    with pytest.raises(TypeError, match="needs operands"):
        e(xs)
    with pytest.raises(TypeError, match="no variable 'z'"):
        e(xs, ys, z=1.0)
    with pytest.raises(TypeError, match="given twice"):
        e(xs, x=xs)
    with pytest.raises(ValueError, match="length 2, but an earlier operand has length 3"):
        e(xs, [1.0, 2.0])
    with e:
        pass
    with pytest.raises(oxbridge.ClosedError):
        e(xs, ys)


def test_evaluate_into_out():
    a = array.array("d", [1.0, 2.0, 3.0])
    assert oxbridge.evaluate("a * a + 1", out=a) is a  # out may be an operand
    assert a.tolist() == [2.0, 5.0, 10.0]
    f = array.array("f", [0.0] * 3)
    oxbridge.evaluate("a / 4", a=a, out=f)
    assert f.tolist() == [0.5, 1.25, 2.5]
    with pytest.raises(ValueError, match="read-only"):
        oxbridge.evaluate("a + 1", a=a, out=memoryview(a).toreadonly())
    with pytest.raises(TypeError, match="float64 or float32"):
        oxbridge.evaluate("a + 1", a=a, out=array.array("q", [0] * 3))
    with pytest.raises(ValueError, match="length 2"):
        oxbridge.evaluate("a + 1", a=a, out=array.array("d", [0.0] * 2))


def test_expression_errors():
    with pytest.raises(oxbridge.ExpressionError) as info:
        oxbridge.evaluate("2 * (a", a=[1.0])
    assert isinstance(info.value, ValueError) and info.value.expression == "2 * (a"
    assert "position 6" in str(info.value) and str(info.value).splitlines()[-1].strip() == "^"
    with pytest.raises(oxbridge.ExpressionError, match="name 'undefined_here' .* is not defined"):
        oxbridge.evaluate("undefined_here + 1")
    with pytest.raises(oxbridge.ExpressionError, match="NUL"):
        oxbridge.Expression("a\x00")
    with pytest.raises(oxbridge.ExpressionError, match="one variable"):
        oxbridge.parallel_map("x + y", [1.0])
    with pytest.raises(TypeError, match="is a string"):
        oxbridge.Expression(42)


@pytest.fixture(scope="module")
def libm_cos():
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    cos = libm.cos
    cos.restype, cos.argtypes = ctypes.c_double, [ctypes.c_double]
    return cos


@SETTINGS
@given(st.lists(st.floats(-1e6, 1e6), max_size=300))
def test_parallel_map_with_a_native_function_calls_it_on_every_item(libm_cos, xs):
    want = [math.cos(x) for x in xs]  # the same libm function, called from Python
    assert _list(oxbridge.parallel_map(libm_cos, xs)) == want
    assert _list(oxbridge.parallel_map(libm_cos, array.array("d", xs))) == want
    assert _list(oxbridge.parallel_map(libm_cos, memoryview(array.array("d", xs)).toreadonly()[::-1])) == want[::-1]
    out = array.array("d", [0.0] * len(xs))
    assert oxbridge.parallel_map(libm_cos, xs, out=out) is out and out.tolist() == want


def test_parallel_map_paths(libm_cos):
    items = list(range(-50, 50))
    # 1. an expression, 2. a native function by ctypes pointer or address, 3. Python.
    assert _list(oxbridge.parallel_map("x * 10 + 1", items)) == [x * 10.0 + 1 for x in items]
    address = ctypes.cast(libm_cos, ctypes.c_void_p).value
    assert _list(oxbridge.parallel_map(address, array.array("i", items))) == [math.cos(x) for x in items]
    assert _list(oxbridge.parallel_map(lambda v: v * v, (x for x in items))) == [x * x for x in items]
    assert _list(oxbridge.parallel_map(str, [1, 2])) == ["1", "2"]
    calls = []
    with pytest.raises(ZeroDivisionError):
        oxbridge.parallel_map(lambda v: calls.append(v) or 1 / v, [2.0, 1.0, 0.0, 5.0])
    assert calls == [2.0, 1.0, 0.0]  # in order, stopping at the failing item
    untyped = ctypes.CDLL(ctypes.util.find_library("m")).sin
    with pytest.raises(TypeError, match="double\\(double\\)"):
        oxbridge.parallel_map(untyped, [1.0])
    with pytest.raises(ValueError, match="positive"):
        oxbridge.parallel_map(0, [1.0])
    with pytest.raises(TypeError, match="out is for"):
        oxbridge.parallel_map(abs, [1.0], out=array.array("d", [0.0]))


def test_thread_count():
    data = array.array("q", range(100_000))
    try:
        oxbridge.set_num_threads(1)
        assert oxbridge.get_num_threads() == 1
        one = oxbridge.stats(data)
        oxbridge.set_num_threads(3)
        assert oxbridge.get_num_threads() == 3
        three = oxbridge.stats(data)
        assert (one.count, one.sum, one.min, one.max) == (three.count, three.sum, three.min, three.max)
        assert one.sum == sum(range(100_000)) and math.isclose(one.var, three.var)
    finally:
        oxbridge.set_num_threads(0)
    assert oxbridge.get_num_threads() >= 1
    with pytest.raises(ValueError):
        oxbridge.set_num_threads(-1)


# ---- Dataset and describe -----------------------------------------------------------------

_MISSING = ["", "NA", "null"]
_WORDS = st.text("abcdefghij xyz", min_size=1, max_size=10).map(lambda s: "w" + s)
_CELLS = {
    "int": st.integers(-(2**62), 2**62).map(str) | st.sampled_from(_MISSING),
    "float": st.floats(-1e9, 1e9).map(repr) | st.sampled_from(_MISSING),
    "text": _WORDS | st.sampled_from(_MISSING),
}


@st.composite
def _tables(draw: Any) -> tuple:
    kinds = draw(st.lists(st.sampled_from(sorted(_CELLS)), min_size=1, max_size=5))
    rows = draw(st.lists(st.tuples(*(_CELLS[k] for k in kinds)).map(list), min_size=1, max_size=30))
    delimiter = draw(st.sampled_from([",", "\t", ";"]))
    return [f"{k}_{j}" for j, k in enumerate(kinds)], kinds, rows, delimiter


def _write_csv(path: Path, names: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    return path


def _expected_columns(path: Path, delimiter: str) -> dict:
    """Each column's values as the csv module reads them back: numbers, None when missing."""
    with open(path, newline="", encoding="utf-8") as f:
        header, *records = list(csv.reader(f, delimiter=delimiter))
    columns = {}
    for j, name in enumerate(header):
        cells = [r[j] for r in records]
        present = [c for c in cells if c not in _MISSING]
        for parse in (int, float, str):
            try:
                parsed = [parse(c) for c in present]
            except ValueError:
                continue
            columns[name] = (parse, parsed, len(cells) - len(present))
            break
    return columns


def _check_description(desc: oxbridge.Description, expected: dict, ddof: int = 1) -> None:
    assert list(desc) == list(expected)
    for name, (kind, values, missing) in expected.items():
        got = desc[name]
        if kind is str:
            assert desc.dtypes[name] == "text"
            counts: dict = {}
            for v in values:
                counts[v] = counts.get(v, 0) + 1
            top, freq = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            lens = (min(map(len, values)), max(map(len, values)))
            extras = (len(counts), top, freq, 0, min(values), max(values))
            assert got == oxbridge.TextStats(len(values), missing, *lens, *extras)
            continue
        if kind is int:
            assert desc.dtypes[name] == ("int64" if values else "float64")
        else:
            assert desc.dtypes[name] == "float64"
        _check_stats(got, values + [math.nan] * missing, ddof, integer=kind is int)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables(), st.booleans())
def test_describe_csv_matches_the_csv_module(table, detect):
    names, _, rows, delimiter = table
    with tempfile.TemporaryDirectory() as tmp:
        path = _write_csv(Path(tmp) / "table.csv", names, rows, delimiter)
        expected = _expected_columns(path, delimiter)
        options = {} if detect else {"delimiter": delimiter, "header": True}
        with oxbridge.Dataset.open(path, **options) as ds:
            assert ds.columns == names
            assert ds.num_rows == len(rows) == len(ds)
            desc = ds.describe()
        assert desc.num_rows == len(rows)
        _check_description(desc, expected)
        _check_description(oxbridge.process_large_dataset(path, **options), expected)


def test_describe_by_column_ddof_and_exports(tmp_path):
    rows = [["apple", "1.5", "3"], ["pear", "NA", "4"], ["fig", "2.5", ""], ["plum", "-0.5", "10"]]
    path = _write_csv(tmp_path / "fruit.csv", ["name", "price", "qty"], rows)
    with oxbridge.Dataset.open(path) as ds:
        assert ds.dtypes == {"name": "text", "price": "float64", "qty": "int64"}
        desc = ds.describe(columns=["qty", 1], ddof=0)
    assert list(desc) == ["qty", "price"]
    _check_stats(desc["qty"], [3, 4, 10, math.nan], ddof=0, integer=True)
    _check_stats(desc["price"], [1.5, math.nan, 2.5, -0.5], ddof=0)
    full = oxbridge.process_large_dataset(path)
    assert full["name"] == oxbridge.TextStats(4, 0, 3, 5, 4, "apple", 1, 0, "apple", "plum")
    d = full.to_dict()
    assert d["qty"] == {
        "dtype": "int64",
        "count": 3,
        "nan_count": 1,
        "mean": full["qty"].mean,
        "std": full["qty"].std,
        "min": 3,
        "max": 10,
        "sum": 17,
        "distinct": 3,
        "quantiles": {0.25: 3.5, 0.5: 4.0, 0.75: 7.0},  # statistics.quantiles' "inclusive" method
        "histogram": {"counts": [1, 1, 0, 0, 0, 0, 0, 0, 0, 1], "edges": [3 + i * 0.7 for i in range(10)] + [10.0]},
    }
    inclusive = statistics.quantiles([3, 4, 10], n=4, method="inclusive")
    assert list(d["qty"]["quantiles"].values()) == inclusive
    assert math.isclose(d["qty"]["mean"], statistics.fmean([3, 4, 10]))
    assert math.isclose(d["qty"]["std"], statistics.stdev([3, 4, 10]))
    assert json.loads(full.to_json()) == json_form(d)
    lines = str(full).splitlines()
    assert lines[0].split() == ["name", "price", "qty"] and lines[1].split() == ["dtype", "text", "float64", "int64"]
    with pytest.raises(KeyError, match="no column 'nope'"):
        full["nope"]
    with pytest.raises(KeyError, match="no column 'nope'"):
        oxbridge.process_large_dataset(path, columns=["nope"])
    with pytest.raises(IndexError):
        oxbridge.process_large_dataset(path, columns=[7])


def test_quoted_fields_options_and_progress(tmp_path):
    text = 'id;note;value\n1;"a; b";2.5\n2;"two\nlines";-\n3;"say ""hi""";4\n'
    path = tmp_path / "quoted.csv"
    path.write_bytes(text.encode())
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))[1:]
    seen = []
    desc = oxbridge.process_large_dataset(
        path, null_values=["-"], progress=lambda done, total: seen.append((done, total))
    )
    assert desc.num_rows == len(records) == 3
    assert desc.dtypes == {"id": "int64", "note": "text", "value": "float64"}
    _check_stats(desc["id"], [1, 2, 3], ddof=1)
    _check_stats(desc["value"], [2.5, math.nan, 4.0], ddof=1)
    assert desc["note"].count == 3 and desc["note"].min_len == min(len(r[1]) for r in records[:2])
    assert all(0 <= done <= total <= path.stat().st_size for done, total in seen)
    with oxbridge.Dataset.open(path, delimiter=";", header=False) as ds:
        assert ds.columns == ["0", "1", "2"] and ds.num_rows == 4


def test_data_format_errors_name_the_file_line_and_column(tmp_path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    with oxbridge.Dataset.open(ragged) as ds, pytest.raises(oxbridge.DataFormatError) as info:
        ds.describe()
    assert isinstance(info.value, ValueError)
    assert (info.value.path, info.value.line, info.value.column) == (str(ragged), 3, "c")
    unclosed = tmp_path / "open.csv"
    unclosed.write_text('a,b\n1,2\n3,"never\n')
    with pytest.raises(oxbridge.DataFormatError, match="never closed") as info:
        oxbridge.process_large_dataset(unclosed)
    assert (info.value.path, info.value.line) == (str(unclosed), 3)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    missing = tmp_path / "absent.csv"
    with pytest.raises(FileNotFoundError) as info:
        oxbridge.Dataset.open(missing)
    error = info.value
    assert isinstance(error, oxbridge.IoError) and isinstance(error, oxbridge.OxbridgeError)
    assert error.errno == errno.ENOENT and error.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        oxbridge.process_large_dataset(str(missing))


def test_every_errno_gives_an_io_error_that_is_its_builtin():
    """The table of errno classes covers every built-in this Python maps an errno to."""
    from oxbridge._errors import _io_error

    for code, name in sorted(errno.errorcode.items()):
        builtin = type(OSError(code, "message"))
        error = _io_error(code, "message", "/some/file")
        assert isinstance(error, builtin) and isinstance(error, oxbridge.IoError), name
        assert type(error).__name__ == ("IoError" if builtin is OSError else builtin.__name__), name
        assert (error.errno, error.strerror, error.filename) == (code, "message", "/some/file"), name


def test_closed_dataset(tmp_path):
    path = _write_csv(tmp_path / "x.csv", ["x"], [["1"], ["2"]])
    ds = oxbridge.Dataset.open(path)
    ds.close()
    ds.close()
    with pytest.raises(oxbridge.ClosedError):
        ds.describe()
    assert "closed" in repr(ds)


@without_numpy
def test_iter_chunks_needs_numpy(tmp_path):
    path = _write_csv(tmp_path / "x.csv", ["x"], [["1"], ["2"]])
    with oxbridge.Dataset.open(path) as ds, pytest.raises(ImportError, match="numpy"):
        next(ds.iter_chunks())


def test_command_line_json(tmp_path):
    rows = [["a", "1", "0.5"], ["b", "", "1.5"], ["c", "3", "NA"]]
    path = _write_csv(tmp_path / "cli.csv", ["k", "n", "x"], rows)
    env = child_env(PYTHONPATH=os.pathsep.join([str(ROOT / "py"), os.environ.get("PYTHONPATH", "")]))
    result = run_child(python("-m", "oxbridge", "describe", str(path), "--json"), env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(oxbridge.process_large_dataset(path).to_json())
    result = run_child(python("-m", "oxbridge", "describe", str(tmp_path / "none.csv")), env=env, timeout=120)
    assert result.returncode == 1 and "none.csv" in result.stderr and "Traceback" not in result.stderr


# ---- the same module on CPython with numpy hidden -----------------------------------------

_HIDE = textwrap.dedent("""
    import sys

    class HideModules:
        # numpy and friends look uninstalled: importing them fails as for a missing package.
        names = set(sys.argv.pop(1).split(","))

        @classmethod
        def find_spec(cls, name, path=None, target=None):
            if name.partition(".")[0] in cls.names:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, HideModules)
    import pytest

    sys.exit(pytest.main(sys.argv[1:]))
""")


@pytest.mark.skipif(os.environ.get(HIDDEN_ENV) == "1", reason="this is the run with numpy hidden")
@pytest.mark.skipif(not HAVE_NUMPY, reason="numpy is not installed: this run is already without numpy")
def test_this_module_passes_with_numpy_hidden():
    result = run_child(
        python("-c", _HIDE, ",".join(HIDDEN), __file__, "-q", "-p", "no:cacheprovider", "-rs"),
        env=child_env(**{HIDDEN_ENV: "1"}),
        cwd=str(ROOT),
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "passed" in result.stdout


@pytest.mark.skipif(os.environ.get(HIDDEN_ENV) != "1", reason="only in the run with numpy hidden")
def test_numpy_is_really_hidden():
    assert not HAVE_NUMPY and "numpy" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        import numpy  # noqa: F401
