"""Buffer validation matrix: no entry point works on a buffer it should refuse.

Every entry point that takes a caller's buffer (`process_array`, with and without
`func`; `stats`; `evaluate` with the buffer as operand and as `out`; `Accumulator.push`)
over dtype x byte order x layout x writeability x alignment x length, drawn by
hypothesis. The rules are those of py/oxbridge/_buffers.py:

- dtype float64, float32, int64 or int32: anything else is a TypeError naming the dtype
  (`process_array(func=...)` takes float64 and float32 only);
- native byte order: a swapped one is a TypeError ("non-native byte order");
- work in place (`process_array`, `evaluate`'s `out`) needs writable memory: ValueError
  "read-only", whether the array's flag says so or its memory is a `bytes`;
- every element aligned to its size, unless there is no element: ValueError "not aligned";
- a flat view of an N-D array needs it C- or Fortran-contiguous (ValueError); `stats`
  reads any 2-D layout.

A valid buffer gives numpy's answer: bit for bit for elementwise results (NaN positions
and the bits of everything else for `evaluate`; the whole memory, NaN payloads and the
untouched gaps between strided elements included, for `process_array`), and exact counts,
minimum, maximum and integer sums for statistics. An invalid one raises TypeError or
ValueError whose message names one of its problems, before any native work, with the
caller's memory unchanged.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import oxbridge
from oxbridge import _process
from oxbridge._loader import lib

SUPPORTED = ("float64", "float32", "int64", "int32")
UNSUPPORTED = ("float16", "complex128", "uint8", "bool", "object")
# (layout, dimensions): how the elements sit in the memory the caller owns.
LAYOUTS = {
    "contiguous": 1,
    "step 2": 1,
    "reversed": 1,
    "step -3": 1,
    "memoryview step -2": 1,  # a plain memoryview: no __array_interface__
    "C 2-D": 2,
    "Fortran 2-D": 2,
    "transposed": 2,
    "strided 2-D": 2,  # neither C- nor Fortran-contiguous
}
MEMORY = ("writeable", "flag read-only", "bytes read-only", "misaligned", "misaligned bytes read-only")
EXPRESSION = "a * 2 - 1"


def _nan_with_payload(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


SPECIAL_F64 = [
    0.0,
    -0.0,
    1.0,
    -1.5,
    math.inf,
    -math.inf,
    math.nan,
    _nan_with_payload(0x7FF8_0000_0000_0123),
    _nan_with_payload(0xFFF8_0000_0000_0042),
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
]
SPECIAL_F32 = [0.0, -0.0, 1.0, -1.5, math.inf, -math.inf, math.nan, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38]


def _values(dtype: str) -> st.SearchStrategy[Any]:
    if dtype == "float64":
        return st.one_of(st.sampled_from(SPECIAL_F64), st.floats(allow_subnormal=True))
    if dtype == "float32":
        return st.one_of(st.sampled_from(SPECIAL_F32), st.floats(width=32, allow_subnormal=True))
    if dtype == "int64":  # doubling stays in range (overflow has its own tests)
        return st.integers(-(2**62), 2**62 - 1)
    if dtype == "int32":
        return st.integers(-(2**30), 2**30 - 1)
    if dtype in ("float16", "complex128", "object"):
        return st.floats(-1e4, 1e4)
    if dtype == "uint8":
        return st.integers(0, 127)
    return st.booleans()


@dataclass
class Case:
    """One buffer as the caller holds it, and what the library must make of it."""

    dtype: str
    order: str
    layout: str
    memory: str
    shape: tuple[int, ...]
    logical: np.ndarray  # the values in logical order, native byte order
    storage: np.ndarray  # all the memory behind the view, gaps included
    obj: Any  # what the caller passes
    contiguous: bool  # C- or Fortran-contiguous (numpy's flags)

    @property
    def readonly(self) -> bool:
        return "read-only" in self.memory

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def snapshot(self) -> bytes:
        return self.storage.tobytes()

    def problems(self, *, writable: bool, flat: bool, floats_only: bool = False) -> list[tuple[type, str]]:
        """Each reason the buffer is invalid for a use: the exception and a pattern of its message."""
        found = []
        dtype = np.dtype(self.dtype)
        if self.order == "swapped" and dtype.itemsize > 1 and dtype.kind != "O":
            # process_array(func=...) checks the format itself: "got format '>d'".
            found.append((TypeError, "non-native byte order" + ("|got format" if floats_only else "")))
        if self.dtype not in SUPPORTED:
            found.append((TypeError, f"dtype {self.dtype}|got format"))
        if floats_only and self.dtype not in ("float64", "float32"):
            found.append((TypeError, "float64 or float32"))
        if writable and self.readonly:
            found.append((ValueError, "read-only"))
        if "misaligned" in self.memory and self.size and dtype.itemsize > 1:
            found.append((ValueError, "not aligned"))
        if flat and len(self.shape) > 1 and not self.contiguous:
            found.append((ValueError, "non-contiguous|neither C- nor Fortran-contiguous"))
        return found


def _storage(dtype: np.dtype, total: int, misaligned: bool) -> np.ndarray:
    if not misaligned:
        return np.zeros(total, dtype=dtype)
    return np.frombuffer(bytearray(total * dtype.itemsize + 1), dtype=dtype, offset=1, count=total)


def _place(layout: str, storage: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The numpy view of `storage` that holds the logical elements in `layout`."""
    if layout in ("contiguous", "reversed"):
        view = storage
    elif layout == "step 2":
        view = storage[::2]
    elif layout == "step -3":
        view = storage[::-3]
    elif layout == "memoryview step -2":
        view = storage[::-2]
    elif layout == "C 2-D":
        view = storage.reshape(shape)
    elif layout == "Fortran 2-D":
        view = storage.reshape(shape, order="F")
    elif layout == "transposed":
        view = storage.reshape(shape[::-1]).T
    else:  # strided 2-D
        view = storage.reshape(shape[0], 2 * shape[1])[:, ::2]
    if layout == "reversed":
        view = view[::-1]
    assert view.shape == shape
    return view


def _spread(layout: str) -> int:
    return {"step 2": 2, "step -3": 3, "memoryview step -2": 2, "strided 2-D": 2}.get(layout, 1)


def build(dtype_name: str, order: str, layout: str, memory: str, shape: tuple[int, ...], values: list[Any]) -> Case:
    """The caller's buffer: `values` (in logical order) placed in memory as described."""
    size = int(np.prod(shape))
    native = np.dtype(dtype_name)
    logical = np.array(values, dtype=native).reshape(shape) if size else np.zeros(shape, dtype=native)
    dtype = native.newbyteorder("S") if order == "swapped" else native
    total = size * _spread(layout)
    # Filled through a writable copy, so the gaps hold a pattern that must survive.
    filler = _storage(dtype, total, misaligned=False)
    if total and native.kind in "fiu":
        filler[...] = np.arange(total) % 100 + 7
    _place(layout, filler, shape)[...] = logical
    if "bytes" in memory:
        raw = filler.tobytes()
        offset = 1 if "misaligned" in memory else 0
        storage = np.frombuffer(b"\0" * offset + raw, dtype=dtype, offset=offset, count=total)
    else:
        storage = _storage(dtype, total, misaligned="misaligned" in memory)
        storage[...] = filler
    view = _place(layout, storage, shape)
    if memory == "flag read-only":
        view.flags.writeable = False  # the view only: its base stays writable
    obj: Any = view
    if layout == "memoryview step -2":
        whole = storage.view()
        whole.flags.writeable = view.flags.writeable
        obj = memoryview(whole)[::-2]
    contiguous = view.flags.c_contiguous or view.flags.f_contiguous
    return Case(dtype_name, order, layout, memory, shape, logical, storage, obj, contiguous)


def _possible(dtype_name: str, order: str, memory: str) -> bool:
    # An object array has no byte order and cannot live in a bytes or bytearray.
    return dtype_name != "object" or (order == "native" and memory in ("writeable", "flag read-only"))


@st.composite
def cases(draw: Callable[..., Any]) -> Case:
    dtype_name = draw(st.sampled_from(SUPPORTED + UNSUPPORTED))
    order = draw(st.sampled_from(("native", "swapped")))
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    memory = draw(st.sampled_from(MEMORY))
    assume(_possible(dtype_name, order, memory))
    if LAYOUTS[layout] == 1:
        shape: tuple[int, ...] = (draw(st.integers(0, 40)),)
    else:
        shape = (draw(st.integers(0, 6)), draw(st.integers(0, 6)))
    size = int(np.prod(shape))
    values = draw(st.lists(_values(dtype_name), min_size=size, max_size=size))
    return build(dtype_name, order, layout, memory, shape, values)


def every_case() -> Iterator[Case]:
    """The whole product, each combination empty and with every special value."""
    for dtype_name in SUPPORTED + UNSUPPORTED:
        specials = {
            "float64": SPECIAL_F64,
            "float32": SPECIAL_F32,
            "int64": [0, -1, 2**62 - 1, -(2**62), 7],
            "int32": [0, -1, 2**30 - 1, -(2**30), 7],
            "bool": [True, False],
        }.get(dtype_name, [0, 1, 3, 100])
        for order, layout, memory in itertools.product(("native", "swapped"), LAYOUTS, MEMORY):
            if not _possible(dtype_name, order, memory):
                continue
            for shape in [(0,), (len(specials) + 2,)] if LAYOUTS[layout] == 1 else [(0, 3), (1, 1), (3, 5)]:
                size = int(np.prod(shape))
                yield build(
                    dtype_name, order, layout, memory, shape, [specials[i % len(specials)] for i in range(size)]
                )


# ---- native calls ------------------------------------------------------------------------

_NATIVE = (
    "oxb_process_array",
    "process_array",
    "oxb_stats_compute",
    "oxb_stats_axis",
    "oxb_expression_evaluate",
    "oxb_accumulator_push",
)


@contextlib.contextmanager
def native_calls() -> Iterator[list[tuple[str, int]]]:
    """Records (function, status) of every native call that reads or writes a buffer."""
    calls: list[tuple[str, int]] = []

    def spy(name: str, function: Any) -> Any:
        def call(*args: Any) -> Any:
            status = function(*args)
            calls.append((name, status))
            return status

        return call

    # _process keeps its own references to the two functions it calls most.
    targets = [(lib, name, name) for name in _NATIVE] + [
        (_process, "_seed", "process_array"),
        (_process, "_scale", "oxb_process_array"),
    ]
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in targets]
    try:
        for owner, attr, name in targets:
            setattr(owner, attr, spy(name, getattr(owner, attr)))
        yield calls
    finally:
        for owner, attr, original in originals:
            setattr(owner, attr, original)


def assert_refused(case: Case, problems: list[tuple[type, str]], call: Callable[[], Any]) -> None:
    """The call raises for one of `problems`, does no native work, leaves memory unchanged."""
    before = case.snapshot()
    with native_calls() as calls, pytest.raises((TypeError, ValueError)) as info:
        call()
    error = info.value
    assert any(
        isinstance(error, kind) and any(p in str(error) for p in pattern.split("|")) for kind, pattern in problems
    ), f"{type(error).__name__}: {error} (expected one of {problems})"
    # process_array's one-call fast path lets the seed shim check alignment itself: a
    # refusal by status, before it touches anything, is also no work.
    assert all(status != 0 for _, status in calls), f"native work on an invalid buffer: {calls}"
    assert case.snapshot() == before, "an invalid buffer was modified"


# ---- comparisons ---------------------------------------------------------------------------


def assert_same_floats(got: np.ndarray, expected: np.ndarray) -> None:
    """NaN in the same places, every other element bit for bit (so -0.0 is not 0.0)."""
    assert got.dtype == expected.dtype and got.shape == expected.shape, (got.dtype, got.shape, expected.dtype)
    nan_got, nan_expected = np.isnan(got), np.isnan(expected)
    np.testing.assert_array_equal(nan_got, nan_expected)
    bits = {4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    np.testing.assert_array_equal(got[~nan_got].view(bits), expected[~nan_expected].view(bits))


def assert_stats_match(s: Any, values: np.ndarray) -> None:
    """Exact counts, minimum and maximum; exact integer sums; float sums to 1e-12."""
    x = values.reshape(-1)
    as_float = x.astype(np.float64)
    present = as_float[~np.isnan(as_float)]
    assert (s.count, s.nan_count) == (present.size, x.size - present.size)
    if present.size == 0:
        assert s.sum == 0 and math.isnan(s.min) and math.isnan(s.max)
        return
    if x.dtype.kind == "i":
        assert (s.sum, s.min, s.max) == (sum(int(v) for v in x), int(x.min()), int(x.max()))
        return
    assert s.min == present.min() and s.max == present.max()
    assert not (np.signbit(s.min) and not np.signbit(present).any())  # no -0.0 from nowhere
    assert_sum_matches(s.sum, present.tolist())


def assert_sum_matches(total: float, values: list[float]) -> None:
    """The sum of float values (no NaN) against exact arithmetic. Where no partial sum of
    the finite values can overflow: an infinity decides it (both infinities give NaN), else
    it is the exact sum to 1e-12. Where one can, the overflow (to an infinity, or NaN after
    meeting the other one) depends on the order of the additions; the result is one of those."""
    infinities = {v for v in values if math.isinf(v)}
    finite = [Fraction(v) for v in values if not math.isinf(v)]
    may_overflow = not math.isfinite(_rounded(sum(map(abs, finite), Fraction(0))))
    exact = _rounded(sum(finite, Fraction(0)))
    if len(infinities) == 2:
        assert math.isnan(total), total
    elif infinities:
        (infinity,) = infinities
        assert total == infinity or (may_overflow and math.isnan(total)), (total, infinity)
    elif not may_overflow:
        assert math.isclose(total, exact, rel_tol=1e-12, abs_tol=1e-300), (total, exact)
    elif not math.isfinite(exact):
        assert not math.isfinite(total), (total, exact)
    else:
        assert not math.isfinite(total) or math.isclose(total, exact, rel_tol=1e-12, abs_tol=1e-300), (total, exact)


def _rounded(x: Fraction) -> float:
    """`x` rounded to the nearest float, infinite where that overflows."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _float_result(case: Case) -> np.ndarray:
    """numpy's `a * 2 - 1` for the case's values, in the dtype evaluate returns."""
    a = case.logical
    with np.errstate(all="ignore"):
        if case.dtype == "float32":
            return a * np.float32(2) - np.float32(1)
        return a.astype(np.float64) * 2 - 1


# ---- what each entry point must do with a case ----------------------------------------------


def check_process_array(case: Case) -> None:
    problems = case.problems(writable=True, flat=True)
    if problems:
        assert_refused(case, problems, lambda: oxbridge.process_array(case.obj))
        return
    expected = case.storage.copy()
    with np.errstate(all="ignore"):
        _place(case.layout, expected, case.shape)[...] = case.logical * case.logical.dtype.type(2)
    assert oxbridge.process_array(case.obj) is case.obj
    # The whole memory: the doubled elements (NaN payloads too) and the untouched gaps.
    assert case.storage.tobytes() == expected.tobytes()


def check_process_array_with_func(case: Case) -> None:
    problems = case.problems(writable=True, flat=True, floats_only=True)
    if problems:
        assert_refused(case, problems, lambda: oxbridge.process_array(case.obj, func="x * 2 - 1"))
        return
    gaps = np.ones(case.storage.shape, dtype=bool)
    _place(case.layout, gaps, case.shape)[...] = False
    before = case.storage[gaps].tobytes()
    assert oxbridge.process_array(case.obj, func="x * 2 - 1") is case.obj
    assert_same_floats(_place(case.layout, case.storage, case.shape), _float_result(case))
    assert case.storage[gaps].tobytes() == before


def check_stats(case: Case) -> None:
    problems = case.problems(writable=False, flat=False)
    if problems:
        assert_refused(case, problems, lambda: oxbridge.stats(case.obj))
        return
    before = case.snapshot()
    assert_stats_match(oxbridge.stats(case.obj), case.logical)
    if len(case.shape) == 2:
        columns = oxbridge.stats(case.obj, axis=0)
        assert len(columns) == case.shape[1]
        for j, s in enumerate(columns):
            assert_stats_match(s, case.logical[:, j])
    assert case.snapshot() == before


def check_evaluate_operand(case: Case) -> None:
    problems = case.problems(writable=False, flat=True)
    if problems:
        assert_refused(case, problems, lambda: oxbridge.evaluate(EXPRESSION, a=case.obj))
        return
    before = case.snapshot()
    expected = _float_result(case)
    assert_same_floats(np.asarray(oxbridge.evaluate(EXPRESSION, a=case.obj)), expected)
    out = np.full(case.shape, 12345.0, dtype=expected.dtype)
    assert oxbridge.evaluate(EXPRESSION, a=case.obj, out=out) is out
    assert_same_floats(out, expected)
    assert case.snapshot() == before


def check_evaluate_out(case: Case) -> None:
    """The case as `out`, the operand a C-ordered float64 array of its shape. A 2-D out in
    another layout is filled by a copy of the result computed in the operand's order."""
    operand = np.ascontiguousarray(np.arange(case.size, dtype=np.float64).reshape(case.shape) * 0.75 - 3)
    other_order = (
        len(case.shape) == 2
        and case.storage.size != 0
        and not _place(case.layout, case.storage, case.shape).flags.c_contiguous
    )
    problems = case.problems(writable=True, flat=not other_order)
    if case.dtype in ("int64", "int32"):
        problems.append((TypeError, "out must be a float64 or float32 array"))
    if problems:
        assert_refused(case, problems, lambda: oxbridge.evaluate(EXPRESSION, a=operand, out=case.obj))
        return
    gaps = np.ones(case.storage.shape, dtype=bool)
    _place(case.layout, gaps, case.shape)[...] = False
    before = case.storage[gaps].tobytes()
    assert oxbridge.evaluate(EXPRESSION, a=operand, out=case.obj) is case.obj
    got = _place(case.layout, case.storage, case.shape)
    assert_same_floats(got, (operand * 2 - 1).astype(case.dtype))
    assert case.storage[gaps].tobytes() == before


def check_accumulator_push(case: Case) -> None:
    problems = case.problems(writable=False, flat=True)
    with oxbridge.Accumulator() as acc:
        if problems:
            assert_refused(case, problems, lambda: acc.push(case.obj))
            assert (acc.stats().count, acc.stats().nan_count) == (0, 0)
            return
        before = case.snapshot()
        acc.push(case.obj)
        assert_stats_match(acc.stats(), case.logical)
        assert case.snapshot() == before


CHECKS = [
    check_process_array,
    check_process_array_with_func,
    check_stats,
    check_evaluate_operand,
    check_evaluate_out,
    check_accumulator_push,
]
_ids = [c.__name__[len("check_") :] for c in CHECKS]


@pytest.mark.parametrize("check", CHECKS, ids=_ids)
def test_every_combination(check: Callable[[Case], None]) -> None:
    """dtype x byte order x layout x memory, each empty and holding every special value."""
    count = 0
    for case in every_case():
        try:
            check(case)
        except BaseException as error:
            raise AssertionError(
                f"{check.__name__} on {case.dtype}, {case.order}, {case.layout}, {case.memory}, "
                f"shape {case.shape}: {error}"
            ) from error
        count += 1
    assert count > 1500


@pytest.mark.parametrize("check", CHECKS, ids=_ids)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=cases())
def test_random_values_and_sizes(check: Callable[[Case], None], case: Case) -> None:
    check(case)


# ---- named corners, each once ------------------------------------------------------------------


def test_read_only_memory_is_never_written_even_where_a_copy_would_do():
    a = np.frombuffer(bytes(np.arange(4.0)), dtype=np.float64)
    for call in (
        lambda: oxbridge.process_array(a),
        lambda: oxbridge.process_array(a, func="x + 1"),
        lambda: oxbridge.evaluate("b + 1", b=np.ones(4), out=a),
    ):
        with pytest.raises(ValueError, match="read-only"):
            call()
    np.testing.assert_array_equal(a, np.arange(4.0))


def test_empty_misaligned_buffers_have_nothing_to_misalign():
    a = np.frombuffer(bytearray(9), dtype=np.float64, offset=1, count=0)
    assert oxbridge.stats(a).count == 0
    assert oxbridge.process_array(a) is a
    assert np.asarray(oxbridge.evaluate("a + 1", a=a)).size == 0


# Found by this suite: the copy path for an out in another memory order filled an integer
# out with truncated values.
def test_evaluate_out_in_another_order_must_be_float():
    a = np.arange(12.0).reshape(3, 4)
    out = np.zeros((3, 4), dtype=np.int64, order="F")
    with pytest.raises(TypeError, match="float64 or float32"):
        oxbridge.evaluate("a * 2.5", a=a, out=out)
    assert not out.any()


def test_buffers_without_array_interface():
    """memoryviews of bytes and array.array: the address comes from the buffer protocol."""
    import array

    raw = memoryview(bytes(np.array([3.0, -0.0, np.nan, 1.5]))).cast("d")
    assert (oxbridge.stats(raw).count, oxbridge.stats(raw).max) == (3, 3.0)
    with pytest.raises(ValueError, match="read-only"):
        oxbridge.process_array(raw)
    a = array.array("i", [1, 2, 3, 4, 5])
    assert oxbridge.process_array(memoryview(a)[::-2]).tolist() == [10, 6, 2]
    assert a.tolist() == [2, 2, 6, 4, 10]
