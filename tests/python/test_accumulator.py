"""Accumulator against numpy, math.fsum and exact integer arithmetic: chunked pushes, NaN,
exact integer sums, merge, reset, the handle's lifecycle, every input kind, and threads."""

import array
import gc
import math
import threading
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import oxbridge
from oxbridge._loader import lib

from _helpers import run_threads

FIELDS = ("count", "nan_count", "sum", "mean", "var", "std", "min", "max")


def _stats_of(*chunks):
    with oxbridge.Accumulator() as acc:
        for chunk in chunks:
            acc.push(chunk)
        return acc.stats()


def _same(x, y):
    """Equal, with NaN equal to NaN and the type (int vs float) the same."""
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return type(x) is type(y) and x == y


def _assert_same_stats(s, t):
    for field in FIELDS:
        assert _same(getattr(s, field), getattr(t, field)), (field, s, t)


def _np_quiet(function, values):
    """numpy's answer for possibly empty data (nan, with its warning silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(function(values))


def _assert_float_stats(s, data, rtol=1e-12):
    """Stats of float data (NaN allowed) against numpy on the same numbers as float64."""
    values = np.asarray(data, dtype=np.float64).ravel()
    kept = values[~np.isnan(values)]
    assert s.count == kept.size
    assert s.nan_count == values.size - kept.size
    exact = math.fsum(kept)
    if values.size:  # with no value at all the sum is the integer 0 of an empty accumulator
        assert isinstance(s.sum, float)
    assert math.isclose(s.sum, exact, rel_tol=1e-14, abs_tol=1e-300)
    if kept.size == 0:
        assert s.sum == 0
        for field in ("mean", "var", "std", "min", "max"):
            assert math.isnan(getattr(s, field)), field
        assert math.isnan(_np_quiet(np.mean, kept))  # numpy agrees on the mean
        return
    assert s.min == kept.min() and s.max == kept.max()
    scale = float(np.abs(kept).max())
    np.testing.assert_allclose(s.mean, np.mean(kept), rtol=rtol, atol=1e-15 * scale)
    np.testing.assert_allclose(s.var, np.var(kept), rtol=rtol, atol=1e-15 * scale**2)
    np.testing.assert_allclose(s.std, np.std(kept), rtol=rtol, atol=1e-15 * scale)


def _exact(values):
    """Exact statistics of integers: sum, min, max, mean and population variance."""
    values = [int(v) for v in values]
    n, total = len(values), sum(values)
    mean = Fraction(total, n)
    var = Fraction(n * sum(v * v for v in values) - total * total, n * n)
    return total, min(values), max(values), mean, var


def _assert_int_stats(s, values, var_atol=None):
    values = np.asarray(values).ravel().tolist()
    total, low, high, mean, var = _exact(values)
    assert s.count == len(values) and s.nan_count == 0
    assert type(s.sum) is int and s.sum == total
    assert type(s.min) is int and s.min == low
    assert type(s.max) is int and s.max == high
    assert math.isclose(s.mean, float(mean), rel_tol=1e-15, abs_tol=1e-300)
    if var_atol is None:  # float64 differences from the mean are only good to ulp(mean)
        var_atol = 4 * math.ulp(float(mean)) ** 2
    assert math.isclose(s.var, float(var), rel_tol=1e-12, abs_tol=var_atol), (s.var, float(var))


def _chunks(rng, sizes, dtype=np.float64, scale=1e3, offset=7.0):
    return [(rng.standard_normal(n) * scale + offset).astype(dtype) for n in sizes]


SIZES = [0, 1, 1000, 65_536, 70_001, 3, 200_003, 0]


def test_chunks_of_random_floats_match_numpy():
    rng = np.random.default_rng(1)
    chunks = _chunks(rng, SIZES)
    s = _stats_of(*chunks)
    data = np.concatenate(chunks)
    _assert_float_stats(s, data)
    exact = math.fsum(data)
    ours, numpy = abs(s.sum - exact), abs(float(np.sum(data)) - exact)
    assert ours <= numpy
    assert ours <= math.ulp(exact)  # rounded once: as good as fsum, to the last bit


def test_sum_beats_numpy_when_cancellation_is_massive():
    # Exact answer 10_000: every 1.0 is below half an ulp of 1e16, so a plain or pairwise
    # float sum loses most of them.
    data = np.tile([1e16, 1.0, -1e16], 10_000)
    numpy = float(np.sum(data))
    assert math.fsum(data) == 10_000.0 and numpy != 10_000.0
    assert _stats_of(*np.array_split(data, 7)).sum == 10_000.0
    assert _stats_of(data).sum == 10_000.0
    # Random values over 16 orders of magnitude that cancel down to a sum near 10.
    rng = np.random.default_rng(2)
    x = rng.standard_normal(100_000) * 10.0 ** rng.uniform(-8, 8, 100_000)
    data = np.concatenate([x, -x, rng.standard_normal(100)])
    rng.shuffle(data)
    exact = math.fsum(data)
    s = _stats_of(*np.array_split(data, 9))
    numpy_error = abs(float(np.sum(data)) - exact)
    assert numpy_error > 1e6 * math.ulp(exact)  # the premise: numpy is far off here
    assert abs(s.sum - exact) <= math.ulp(exact)
    assert s.mean == pytest.approx(exact / data.size, rel=1e-12)


def test_nan_is_counted_and_otherwise_ignored():
    rng = np.random.default_rng(3)
    chunks = _chunks(rng, [10, 5000, 70_000])
    chunks[0][0] = np.nan
    chunks[1][::7] = np.nan
    chunks[2][-1] = np.nan
    all_nan = np.full(100, np.nan)
    empty = np.array([])
    s = _stats_of(chunks[0], all_nan, chunks[1], empty, chunks[2])
    data = np.concatenate([chunks[0], all_nan, chunks[1], chunks[2]])
    assert s.nan_count == int(np.isnan(data).sum()) == 1 + 100 + len(range(0, 5000, 7)) + 1
    _assert_float_stats(s, data)
    # numpy's NaN-skipping functions are the same oracle seen from the other side.
    assert s.min == np.nanmin(data) and s.max == np.nanmax(data)
    np.testing.assert_allclose([s.mean, s.var], [np.nanmean(data), np.nanvar(data)], rtol=1e-12)
    # Nothing but NaN: nothing counted, every statistic NaN except the zero sum.
    s = _stats_of(all_nan, [math.nan], np.array([np.nan], dtype=np.float32))
    assert (s.count, s.nan_count, s.sum) == (0, 102, 0.0)
    for field in ("mean", "var", "std", "min", "max"):
        assert math.isnan(getattr(s, field))
    assert math.isnan(_np_quiet(np.nanmean, all_nan))


def test_infinities_in_one_chunk_behave_like_numpy():
    for data in ([1.0, math.inf, 2.0], [-math.inf, 3.0], [math.inf, -math.inf, 1.0]):
        s = _stats_of(np.array(data))
        a = np.array(data)
        with np.errstate(invalid="ignore"):
            assert _same(s.sum, float(np.sum(a))) and _same(s.mean, float(np.mean(a)))
            assert math.isnan(s.var) and math.isnan(float(np.var(a)))
        assert s.min == a.min() and s.max == a.max()


@pytest.mark.parametrize(
    "chunks",
    [
        [[math.inf], [1.0]],
        [[1.0], [math.inf]],
        [[math.inf], [math.inf]],
        [[-math.inf], [2.0, 3.0]],
        [np.r_[np.inf, np.zeros(2000)]],
    ],
)
def test_infinities_across_chunks_behave_like_numpy(chunks):
    s = _stats_of(*[np.asarray(c, dtype=np.float64) for c in chunks])
    data = np.concatenate([np.asarray(c, dtype=np.float64) for c in chunks])
    assert s.count == data.size
    assert s.min == data.min() and s.max == data.max()
    assert s.sum == float(np.sum(data))
    assert s.mean == float(np.mean(data))


def test_integer_sums_are_exact_beyond_int64():
    big = np.full(1000, 2**62 + 12345, dtype=np.int64)
    big[::2] -= 3
    with oxbridge.Accumulator() as acc:
        for _ in range(50):
            acc.push(big)
        s = acc.stats()
    expected = 50 * sum(int(v) for v in big)
    assert expected > 2**63  # far beyond int64: numpy's sum would wrap
    assert type(s.sum) is int and s.sum == expected
    assert s.count == 50_000 and (s.min, s.max) == (2**62 + 12342, 2**62 + 12345)
    assert s.mean == pytest.approx(expected / 50_000, rel=1e-15)
    # Both extremes of int64 together, many times: the 128-bit path.
    info = np.iinfo(np.int64)
    extremes = np.array([info.max, info.min, info.max, -1, info.max] * 3001, dtype=np.int64)
    _assert_int_stats(
        _stats_of(extremes, extremes[::-3], extremes[:7]), np.concatenate([extremes, extremes[::-3], extremes[:7]])
    )
    assert _stats_of(*[extremes] * 20).sum == 20 * sum(int(v) for v in extremes)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_integer_chunks_match_exact_arithmetic(dtype):
    rng = np.random.default_rng(4)
    info = np.iinfo(dtype)
    chunks = [rng.integers(info.min, info.max, size=n, dtype=dtype, endpoint=True) for n in SIZES]
    chunks.append(np.array([info.min, info.max], dtype=dtype))
    s = _stats_of(*chunks)
    data = np.concatenate(chunks)
    _assert_int_stats(s, data)
    np.testing.assert_allclose(s.var, np.var(data.astype(np.float64)), rtol=1e-9)


def test_mixed_integer_widths_stay_exact_and_floats_make_it_float():
    a = np.arange(-5, 100_000, dtype=np.int32)
    b = np.array([2**62, 2**62, -(2**40)], dtype=np.int64)
    c = [3, 4, 2**61]  # a list of Python ints: pushed as int64
    s = _stats_of(a, b, c)
    _assert_int_stats(s, a.tolist() + b.tolist() + c)
    # One float chunk (even of integral values) turns sum, min and max into floats.
    f = np.array([0.5, 2.0])
    s = _stats_of(a, b, f, c)
    exact = sum(a.tolist() + b.tolist() + c) + Fraction(5, 2)
    n = a.size + b.size + len(c) + f.size
    assert type(s.sum) is float and type(s.min) is float
    assert s.sum == pytest.approx(float(exact), rel=1e-15)
    assert s.count == n and s.min == -float(2**40) and s.max == float(2**62)
    assert s.mean == pytest.approx(float(exact / n), rel=1e-12)


def test_variance_of_constant_large_integers_is_zero():
    data = np.full(4, 2**62 + 12345, dtype=np.int64)
    assert float(np.var(data)) == 0.0  # numpy agrees
    s = _stats_of(data)
    assert s.var == 0.0 and s.std == 0.0


def test_variance_of_nearby_large_integers_is_accurate():
    t = 1_700_000_000_000_000_001
    data = np.array([t, t + 1, t + 2], dtype=np.int64)
    s = _stats_of(data)
    assert s.var == pytest.approx(2 / 3, rel=1e-9)


def test_variance_of_many_large_integers_across_blocks_and_chunks():
    # Timestamps in nanoseconds: sums far beyond 2**53, deviations small. Enough values for
    # many kernel blocks and several pushes, so the exact merge path is exercised too.
    t = 1_700_000_000_000_000_001
    data = t + np.arange(50_001, dtype=np.int64) % 7
    s = _stats_of(data[:20_000], data[20_000:])
    values = [int(v) for v in data]
    mean = Fraction(sum(values), len(values))
    var = sum((v - mean) ** 2 for v in values) / len(values)
    assert s.sum == sum(values)
    assert s.var == pytest.approx(float(var), rel=1e-9)


def test_empty_accumulator():
    with oxbridge.Accumulator() as acc:
        s = acc.stats()
        for empty in (np.array([]), np.array([], dtype=np.int32), np.zeros((0, 3)), [], (), array.array("d")):
            acc.push(empty)
        _assert_same_stats(acc.stats(), s)
    assert (s.count, s.nan_count, s.sum) == (0, 0, 0)
    for field in ("mean", "var", "std", "min", "max"):
        assert math.isnan(getattr(s, field)), field
    assert math.isnan(_np_quiet(np.mean, np.array([])))  # like numpy's mean of nothing
    assert math.isnan(_np_quiet(np.var, np.array([])))
    _assert_same_stats(oxbridge.Accumulator(None).stats(), s)


def test_merge_equals_one_accumulator_fed_everything():
    rng = np.random.default_rng(5)
    first, second = _chunks(rng, [70_001, 0, 5]), _chunks(rng, [1, 200_003], scale=3, offset=-1e4)
    first[0][3] = np.nan
    whole = _stats_of(*first, *second)
    a, b = oxbridge.Accumulator(), oxbridge.Accumulator()
    for chunk in first:
        a.push(chunk)
    for chunk in second:
        b.push(chunk)
    b_before = b.stats()
    a.merge(b)
    merged = a.stats()
    _assert_same_stats(b.stats(), b_before)  # the source is unchanged
    assert (merged.count, merged.nan_count) == (whole.count, whole.nan_count)
    assert (merged.min, merged.max) == (whole.min, whole.max)
    for field in ("sum", "mean", "var", "std"):
        assert math.isclose(getattr(merged, field), getattr(whole, field), rel_tol=1e-12), field
    _assert_float_stats(merged, np.concatenate(first + second))
    # Stats merge the same way as accumulators do.
    via_stats = _stats_of(*first).merge(_stats_of(*second))
    for field in ("count", "nan_count", "min", "max"):
        assert getattr(via_stats, field) == getattr(merged, field)
    for field in ("sum", "mean", "var"):
        assert math.isclose(getattr(via_stats, field), getattr(merged, field), rel_tol=1e-12)
    # Integers merge exactly.
    ints = [np.full(100, 2**62, dtype=np.int64), np.arange(7, dtype=np.int32)]
    a, b = oxbridge.Accumulator(ints[0]), oxbridge.Accumulator(ints[1])
    a.merge(b)
    _assert_same_stats(a.stats(), _stats_of(*ints))
    assert a.stats().sum == 100 * 2**62 + 21


def test_merge_with_empty_accumulators_either_way():
    data = np.array([1.0, 2.0, 4.0])
    full, empty = oxbridge.Accumulator(data), oxbridge.Accumulator()
    before = full.stats()
    full.merge(empty)
    _assert_same_stats(full.stats(), before)
    empty.merge(full)
    _assert_same_stats(empty.stats(), before)


def test_merge_with_itself_counts_everything_twice():
    # Documented in oxbridge.h: dst and src may be the same accumulator, as if pushed again.
    data = np.array([1.0, np.nan, 2.0, 6.0])
    acc = oxbridge.Accumulator(data)
    acc.merge(acc)
    _assert_same_stats(acc.stats(), _stats_of(data, data))
    s = acc.stats()
    assert (s.count, s.nan_count, s.sum, s.min, s.max) == (6, 2, 18.0, 1.0, 6.0)
    assert math.isclose(s.var, np.nanvar(data), rel_tol=1e-14)
    ints = oxbridge.Accumulator([2**62, 2**62])
    ints.merge(ints)
    assert ints.stats().sum == 4 * 2**62


def test_merge_with_closed_or_wrong_objects():
    acc = oxbridge.Accumulator([1.0, 2.0])
    before = acc.stats()
    closed = oxbridge.Accumulator([5.0])
    closed.close()
    with pytest.raises(oxbridge.ClosedError):
        acc.merge(closed)
    with pytest.raises(oxbridge.ClosedError):
        closed.merge(acc)
    for other in (before, [1.0], np.array([1.0]), None, "acc"):
        with pytest.raises(TypeError, match="Accumulator"):
            acc.merge(other)
    _assert_same_stats(acc.stats(), before)


def test_reset_forgets_everything():
    acc = oxbridge.Accumulator(np.array([1.5, np.nan, -3.0]))
    acc.reset()
    _assert_same_stats(acc.stats(), oxbridge.Accumulator().stats())
    # It is a fresh start: integers pushed after floats were forgotten are exact again.
    acc.push(np.array([2**62, 2**62, 1], dtype=np.int64))
    _assert_same_stats(acc.stats(), _stats_of(np.array([2**62, 2**62, 1], dtype=np.int64)))
    assert acc.stats().sum == 2**63 + 1
    acc.reset()
    acc.reset()
    assert acc.stats().count == 0


def _live():
    gc.collect()
    return lib.oxb_live_handles()


def test_close_and_use_after_close():
    acc = oxbridge.Accumulator([1.0])
    assert not acc.closed
    acc.close()
    assert acc.closed
    acc.close()  # closing twice is fine
    calls = [
        lambda: acc.push([1.0]),
        acc.stats,
        acc.reset,
        lambda: acc.merge(oxbridge.Accumulator()),
        lambda: acc.__enter__(),
    ]
    for call in calls:
        with pytest.raises(oxbridge.ClosedError, match="closed") as info:
            call()
        assert isinstance(info.value, ValueError) and isinstance(info.value, oxbridge.OxbridgeError)
    assert "closed" in repr(acc)
    with pytest.raises(oxbridge.ClosedError), acc:
        pass


def test_context_manager_closes_even_on_error():
    with oxbridge.Accumulator() as acc:
        acc.push([1, 2, 3])
        assert "count=3" in repr(acc)
    assert acc.closed
    with pytest.raises(ZeroDivisionError), oxbridge.Accumulator() as acc2:
        raise ZeroDivisionError
    assert acc2.closed


def _make_and_fail():
    try:
        oxbridge.Accumulator(["not a number"])
    except TypeError:
        return
    raise AssertionError("Accumulator(['not a number']) did not raise")


def test_native_handles_are_released():
    start = _live()
    acc = oxbridge.Accumulator([1.0])
    assert lib.oxb_live_handles() == start + 1
    acc.close()
    assert lib.oxb_live_handles() == start
    acc = oxbridge.Accumulator([1.0])
    del acc  # never closed: the finalizer releases it
    assert _live() == start
    many = [oxbridge.Accumulator() for _ in range(10_000)]
    assert lib.oxb_live_handles() == start + 10_000
    for acc in many[::2]:
        acc.close()
    assert lib.oxb_live_handles() == start + 5_000
    del many, acc
    assert _live() == start
    _make_and_fail()  # a constructor that fails after creating its handle does not leak it
    assert _live() == start
    with oxbridge.Accumulator():
        assert lib.oxb_live_handles() == start + 1
    assert lib.oxb_live_handles() == start


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_every_numpy_layout(dtype):
    rng = np.random.default_rng(6)
    base = (rng.standard_normal(200_003) * 1000).astype(dtype)
    m = base[:200_000].reshape(400, 500)
    views = [base, base[::3], base[::-1], base[-2::-7], m, np.asfortranarray(m), m.T]
    for view in views:
        s = _stats_of(view)
        if np.issubdtype(dtype, np.integer):
            _assert_int_stats(s, view.ravel())
        else:
            _assert_float_stats(s, view, rtol=1e-12)
    all_at_once = _stats_of(*views)
    flat = np.concatenate([v.ravel() for v in views])
    if np.issubdtype(dtype, np.integer):
        _assert_int_stats(all_at_once, flat)
    else:
        _assert_float_stats(all_at_once, flat)
    with pytest.raises(ValueError, match="non-contiguous"):
        oxbridge.Accumulator().push(m[:, ::2])


def test_other_kinds_of_input():
    floats = [0.5, -1.25, 3.0, float("nan"), 1e100]
    ints = [3, -7, 2**62, 0]
    cases = [
        (floats, floats),
        (ints, ints),
        (tuple(ints), ints),
        ((x for x in floats), floats),
        (range(10), list(range(10))),
        ([True, False, True], [1, 0, 1]),
        ([1, 2.5], [1.0, 2.5]),
        (array.array("d", floats), floats),
        (array.array("f", [0.5, 2.0]), [0.5, 2.0]),
        (array.array("q", ints), ints),
        (array.array("i", [1, -2, 3]), [1, -2, 3]),
        (memoryview(array.array("d", floats))[::-2], floats[::-2]),
        (np.array(floats).tolist(), floats),
    ]
    for data, expected in cases:
        s = oxbridge.Accumulator(data).stats()
        if all(type(v) in (int, bool) for v in expected):
            _assert_int_stats(s, expected)
        else:
            _assert_float_stats(s, expected)
    # A list with an integer beyond int64 is pushed as float64, as documented.
    s = oxbridge.Accumulator([2**70, 1]).stats()
    assert type(s.sum) is float and s.sum == float(2**70 + 1)


@pytest.mark.parametrize(
    "data, error, words",
    [
        (None, TypeError, "iterable"),
        (3.0, TypeError, "iterable"),
        ("abc", TypeError, "'a'"),
        ([1.0, None], TypeError, "None"),
        ([1 + 2j], TypeError, "1+2j"),
        (np.array([1 + 2j]), TypeError, "complex128"),
        (np.array([object()]), TypeError, "object"),
        (np.array(["x"]), TypeError, "dtype"),
        (np.array([True]), TypeError, "bool"),
        (np.arange(3, dtype=np.uint64), TypeError, "uint64"),
        (np.arange(3, dtype=np.float16), TypeError, "float16"),
        (np.arange(3.0).astype(">f8"), TypeError, "byte order"),
        (b"abcdefgh", TypeError, "uint8"),
        (np.float64(2.0), ValueError, "0-d"),
        (np.array(2, dtype=np.int32), ValueError, "0-d"),
    ],
)
def test_bad_input_raises_and_changes_nothing(data, error, words):
    acc = oxbridge.Accumulator([1.0, 2.0])
    before = acc.stats()
    with pytest.raises(error) as info:
        acc.push(data)
    assert words in str(info.value)
    _assert_same_stats(acc.stats(), before)


def test_read_only_input_is_fine():
    a = np.arange(10.0)
    a.setflags(write=False)
    _assert_float_stats(_stats_of(a, np.broadcast_to(np.float64(2.5), (5,))), np.r_[a, [2.5] * 5])


FLOAT_CHUNK = hnp.arrays(
    st.sampled_from([np.float64, np.float32]),
    st.integers(0, 400),
    elements=st.floats(-1e6, 1e6, width=32) | st.just(float("nan")),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(FLOAT_CHUNK, max_size=8), st.sampled_from([1, 2, -1]))
def test_float_chunks_property(chunks, step):
    chunks = [c[::step] for c in chunks]
    s = _stats_of(*chunks)
    data = np.concatenate([c.astype(np.float64) for c in chunks]) if chunks else np.array([])
    _assert_float_stats(s, data, rtol=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(hnp.arrays(st.sampled_from([np.int64, np.int32]), st.integers(0, 300)), max_size=6))
def test_integer_chunks_property(chunks):
    s = _stats_of(*chunks)
    values = [int(v) for c in chunks for v in c]
    assert s.count == len(values) and s.nan_count == 0
    assert type(s.sum) is int and s.sum == sum(values)
    if values:
        assert (s.min, s.max) == (min(values), max(values))
        assert math.isclose(s.mean, sum(values) / len(values), rel_tol=1e-15, abs_tol=1e-300)
        small = all(abs(v) <= 2**40 for v in values)
        if small:  # the variance, where the float64 mean is fine enough to judge it
            _assert_int_stats(s, values)


def test_threads_pushing_into_one_accumulator():
    rng = np.random.default_rng(7)
    # Per thread: chunks of int64 near 2**62 (exact sums beyond int64 in any order), some
    # large enough for the parallel path, some int32.
    work_of = []
    for t in range(8):
        chunks = [rng.integers(2**62 - 10**6, 2**62, size=n, dtype=np.int64) for n in (1000, 70_001, 3)]
        chunks += [rng.integers(-(2**31), 2**31 - 1, size=5000, dtype=np.int32) for _ in range(5)]
        work_of.append(chunks)
    everything = [int(v) for chunks in work_of for c in chunks for v in c]
    shared = oxbridge.Accumulator()

    def work(i):
        for _ in range(2):
            for chunk in work_of[i]:
                shared.push(chunk)

    run_threads(8, work)
    s = shared.stats()
    assert s.count == 2 * len(everything)
    assert s.sum == 2 * sum(everything) and s.sum > 2**63
    assert (s.min, s.max) == (min(everything), max(everything))
    assert math.isclose(s.mean, sum(everything) / len(everything), rel_tol=1e-15)
    shared.close()


def test_close_while_other_threads_push():
    start = _live()
    acc = oxbridge.Accumulator()
    chunk = np.arange(70_001, dtype=np.int64)
    outcomes = [None] * 4
    pushed = threading.Semaphore(0)

    def work(i):
        if i == 0:
            for _ in range(6):
                pushed.acquire()  # wait until some pushes went through
            acc.close()
            outcomes[0] = "closed"
            return
        count = 0
        try:
            while count < 10_000:
                acc.push(chunk)
                count += 1
                pushed.release()
        except oxbridge.ClosedError:
            outcomes[i] = count
            return
        outcomes[i] = "never closed"

    run_threads(4, work)
    assert outcomes[0] == "closed"
    assert all(isinstance(n, int) for n in outcomes[1:]), outcomes  # each ended by ClosedError
    assert sum(outcomes[1:]) >= 6
    assert acc.closed and _live() == start


def test_threads_with_private_accumulators_and_a_shared_merge():
    rng = np.random.default_rng(8)
    data = [_chunks(rng, [70_001, 100, 0, 5000], scale=10.0**t, offset=t) for t in range(8)]
    results = [None] * 8
    total = oxbridge.Accumulator()

    def work(i):
        with oxbridge.Accumulator() as acc:
            for chunk in data[i]:
                acc.push(chunk)
            results[i] = acc.stats()
            total.merge(acc)  # concurrent merges into one destination

    run_threads(8, work)
    for s, chunks in zip(results, data):
        _assert_float_stats(s, np.concatenate(chunks))
    everything = np.concatenate([c for chunks in data for c in chunks])
    s = total.stats()
    assert s.count == everything.size and (s.min, s.max) == (everything.min(), everything.max())
    assert s.sum == pytest.approx(math.fsum(everything), rel=1e-14)
    np.testing.assert_allclose([s.mean, s.var], [np.mean(everything), np.var(everything)], rtol=1e-12)
    total.close()
