"""The array engine against numpy: stats, histogram, quantile, sort."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import oxbridge

DTYPES = [np.float64, np.float32, np.int64, np.int32]


def _layouts(base):
    """The same data in the layouts users pass: contiguous, strided, reversed."""
    yield "contiguous", base
    yield "strided", base[::3]
    yield "reversed", base[::-2]


def _assert_stats_match(s, x, ddof=0):
    """Compare Stats with numpy on the non-NaN float64 values of x."""
    x = np.asarray(x)
    values = x.astype(np.float64)
    finite_or_inf = values[~np.isnan(values)]
    assert s.count == finite_or_inf.size
    assert s.nan_count == int(np.isnan(values).sum())
    if finite_or_inf.size == 0:
        assert s.sum == 0 and math.isnan(s.mean) and math.isnan(s.var)
        assert math.isnan(s.min) and math.isnan(s.max)
        return
    if np.issubdtype(x.dtype, np.integer):
        assert s.sum == sum(int(v) for v in x)  # exact, Python ints
        assert s.min == int(x.min()) and s.max == int(x.max())
    else:
        assert s.min == finite_or_inf.min() and s.max == finite_or_inf.max()
        np.testing.assert_allclose(s.sum, math.fsum(finite_or_inf), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(s.mean, np.mean(finite_or_inf), rtol=1e-12, equal_nan=True)
    if finite_or_inf.size > ddof:
        np.testing.assert_allclose(s.var, np.var(finite_or_inf, ddof=ddof), rtol=1e-9, atol=1e-300, equal_nan=True)
        np.testing.assert_allclose(s.std, np.std(finite_or_inf, ddof=ddof), rtol=1e-9, atol=1e-300, equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_stats_of_every_dtype_and_layout(dtype):
    rng = np.random.default_rng(1)
    base = (rng.standard_normal(300_001) * 1000).astype(dtype)
    for _, a in _layouts(base):
        _assert_stats_match(oxbridge.stats(a), a)


def test_stats_ddof_and_skipna():
    a = np.array([1.0, 2.0, np.nan, 4.0])
    _assert_stats_match(oxbridge.stats(a, ddof=1), a, ddof=1)
    s = oxbridge.stats(a, skipna=False)
    assert s.nan_count == 1
    for value in (s.sum, s.mean, s.var, s.min, s.max):
        assert math.isnan(value)
    assert math.isnan(np.mean(a)) and math.isnan(np.var(a))  # numpy agrees


def test_integer_sums_are_exact_where_numpy_overflows():
    a = np.full(10, 2**62, dtype=np.int64)
    assert oxbridge.stats(a).sum == 10 * 2**62
    assert int(a.sum()) != 10 * 2**62  # numpy wraps around


def test_float_sum_is_at_least_as_accurate_as_numpy():
    rng = np.random.default_rng(2)
    a = np.concatenate([rng.standard_normal(10**6) * 1e10, rng.standard_normal(10**6)])
    rng.shuffle(a)
    exact = math.fsum(a)
    ours = abs(oxbridge.stats(a).sum - exact)
    numpy = abs(float(np.sum(a)) - exact)
    assert ours <= numpy + 2 * math.ulp(exact)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_stats_per_column_and_row_match_numpy(order, dtype):
    rng = np.random.default_rng(3)
    m = np.asarray((rng.standard_normal((1001, 7)) * 100).astype(dtype), order=order)
    for axis in (0, 1, -1, -2):
        result = oxbridge.stats(m, axis=axis)
        # Like numpy's m.mean(axis): axis 0 reduces over rows, giving one result per column.
        assert len(result) == m.mean(axis=axis).shape[0]
        lines = m.T if axis % 2 == 0 else m
        for s, line in zip(result, lines):
            _assert_stats_match(s, line)
    _assert_stats_match(oxbridge.stats(m), m.ravel())
    _assert_stats_match(oxbridge.stats(m[::2, 1::3]), m[::2, 1::3].ravel())


def test_merge_and_combine_equal_the_concatenation():
    rng = np.random.default_rng(4)
    parts = [rng.standard_normal(n) * 10 + 5 for n in (0, 1, 1000, 54321)]
    whole = oxbridge.stats(np.concatenate(parts))
    stats = [oxbridge.stats(p) for p in parts]
    merged = stats[0]
    for s in stats[1:]:
        merged = merged.merge(s)
    combined = oxbridge.Stats.combine(stats)
    for s in (merged, combined):
        assert s.count == whole.count
        assert s.min == whole.min and s.max == whole.max
        for field in ("sum", "mean", "var"):
            assert math.isclose(getattr(s, field), getattr(whole, field), rel_tol=1e-12)


def test_accumulator_uses_the_same_stats():
    a = np.arange(1000, dtype=np.int64)
    with oxbridge.Accumulator() as acc:
        acc.push(a[:300])
        acc.push(a[300:])
        assert acc.stats() == oxbridge.stats(a)


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32]),
        shape=st.integers(0, 3000),
        elements=st.floats(-1e6, 1e6, width=32) | st.just(float("nan")),
    ),
    st.integers(1, 3),
)
def test_stats_property(a, step):
    view = a[::step]
    _assert_stats_match(oxbridge.stats(view), view)


def test_empty_input_gives_count_zero_and_nan_mean():
    s = oxbridge.stats(np.array([], dtype=np.float64))
    assert s.count == 0 and math.isnan(s.mean)
    counts, edges = oxbridge.histogram(np.array([]), bins=3)
    expected_counts, expected_edges = np.histogram(np.array([]), bins=3)
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_array_equal(edges, expected_edges)
    assert math.isnan(oxbridge.quantile(np.array([]), 0.5))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bins", [1, 7, 100])
def test_histogram_is_identical_to_numpy(dtype, bins):
    rng = np.random.default_rng(5)
    a = (rng.standard_normal(100_003) * 50).astype(dtype)
    for _, view in _layouts(a):
        counts, edges = oxbridge.histogram(view, bins=bins)
        expected_counts, expected_edges = np.histogram(view, bins=bins)
        np.testing.assert_array_equal(edges, expected_edges)
        assert edges.dtype == expected_edges.dtype
        np.testing.assert_array_equal(counts, expected_counts)
    counts, edges = oxbridge.histogram(a, bins=bins, range=(-10, 20))
    expected_counts, expected_edges = np.histogram(a, bins=bins, range=(-10, 20))
    np.testing.assert_array_equal(edges, expected_edges)
    np.testing.assert_array_equal(counts, expected_counts)


def test_histogram_values_on_edges_and_the_closed_last_bin():
    a = np.array([0.0, 0.1, 0.2, 0.30000000000000004, 0.7, 1.0, 1.0])
    for bins in (1, 3, 10):
        counts, edges = oxbridge.histogram(a, bins)
        expected_counts, expected_edges = np.histogram(a, bins)
        np.testing.assert_array_equal(counts, expected_counts)
        np.testing.assert_array_equal(edges, expected_edges)
    # Values exactly on every edge, for ranges whose edges are not exact in binary.
    edges = np.linspace(0.1, 0.7, 13)
    counts, _ = oxbridge.histogram(edges, 12, range=(0.1, 0.7))
    np.testing.assert_array_equal(counts, np.histogram(edges, 12, range=(0.1, 0.7))[0])


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 500), elements=st.floats(-1e6, 1e6)),
    st.integers(1, 50),
    st.one_of(st.none(), st.tuples(st.floats(-1e6, 1e6), st.floats(0, 1e6))),
)
@example(np.array([0.0]), 2, (0.0, 5e-324))
def test_histogram_property(a, bins, range_):
    if range_ is not None:
        range_ = (range_[0], range_[0] + range_[1])
    try:
        expected_counts, expected_edges = np.histogram(a, bins, range_)
    except ValueError as error:  # e.g. a range too narrow for distinct edges
        with pytest.raises(ValueError, match="too many bins"):
            oxbridge.histogram(a, bins, range_)
        assert "Too many bins" in str(error)
        return
    counts, edges = oxbridge.histogram(a, bins, range_)
    np.testing.assert_array_equal(edges, expected_edges)
    np.testing.assert_array_equal(counts, expected_counts)


@pytest.mark.parametrize("dtype", DTYPES)
def test_quantile_is_identical_to_numpy(dtype):
    rng = np.random.default_rng(6)
    a = (rng.standard_normal(200_001) * 1000).astype(dtype)
    qs = [0.0, 0.001, 0.25, 0.5, 0.75, 0.9999, 1.0]
    for _, view in _layouts(a):
        got = oxbridge.quantile(view, qs)
        expected = np.quantile(view.astype(np.float64), qs)
        if dtype == np.float32:
            np.testing.assert_allclose(got, expected, rtol=1e-6)
        else:
            np.testing.assert_array_equal(got, expected)
    assert oxbridge.quantile(a.astype(np.float64), 0.5) == np.quantile(a.astype(np.float64), 0.5)


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 2000), elements=st.floats(-1e300, 1e300)),
    st.lists(st.floats(0, 1), min_size=1, max_size=5),
)
def test_quantile_property(a, qs):
    np.testing.assert_array_equal(oxbridge.quantile(a, qs), np.quantile(a, qs))


def test_quantile_with_nan_is_nan_like_numpy():
    a = np.array([1.0, np.nan, 3.0])
    assert math.isnan(oxbridge.quantile(a, 0.5)) and math.isnan(np.quantile(a, 0.5))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sort_matches_numpy_in_place(dtype):
    rng = np.random.default_rng(7)
    base = (rng.standard_normal(300_000) * 1e6).astype(dtype)
    if np.issubdtype(dtype, np.floating):
        base[::1000] = np.nan
        base[1::1000] = np.inf
        base[2::1000] = -np.inf
    for name, view in _layouts(base.copy()):
        expected = np.sort(view)
        before = view.copy()
        result = oxbridge.sort(view)
        assert result is view
        np.testing.assert_array_equal(view, expected)
        # Python's sorted() as a second oracle: the same values, ascending, then the NaNs.
        values = [v for v in before.tolist() if not math.isnan(v)]
        assert view[: len(values)].tolist() == sorted(values), name
        assert np.isnan(view[len(values) :]).all(), name


def test_sort_of_a_strided_view_leaves_the_gaps_alone():
    a = np.arange(10.0)[::-1].copy()
    oxbridge.sort(a[::2])
    np.testing.assert_array_equal(a, [1.0, 8.0, 3.0, 6.0, 5.0, 4.0, 7.0, 2.0, 9.0, 0.0])


def test_sort_2d_sorts_each_row_like_numpy():
    rng = np.random.default_rng(8)
    m = rng.standard_normal((50, 33))
    expected = np.sort(m)
    oxbridge.sort(m)
    np.testing.assert_array_equal(m, expected)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(st.sampled_from(DTYPES), st.integers(0, 3000)))
def test_sort_property(a):
    expected = np.sort(a)
    oxbridge.sort(a)
    np.testing.assert_array_equal(a, expected)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: oxbridge.stats(np.float64(3.0)), ValueError, "0-d"),
        (lambda: oxbridge.stats(np.array([1 + 2j])), TypeError, "complex"),
        (lambda: oxbridge.stats(np.array(["a"])), TypeError, "dtype"),
        (lambda: oxbridge.stats(np.array([object()])), TypeError, "dtype object"),
        (lambda: oxbridge.stats(np.ones(3), axis=1), ValueError, "axis"),
        (lambda: oxbridge.stats(np.ones((2, 2)), axis=2), ValueError, "axis"),
        (lambda: oxbridge.stats(np.ones(3), ddof=-1), ValueError, "ddof"),
        (lambda: oxbridge.histogram(np.ones(3), bins=0), ValueError, "bins"),
        (lambda: oxbridge.histogram(np.ones(3), bins=-2), ValueError, "bins"),
        (lambda: oxbridge.histogram(np.ones(3), range=(2, 1)), ValueError, "range"),
        (lambda: oxbridge.histogram(np.ones(3), range=(0, np.inf)), ValueError, "range"),
        (lambda: oxbridge.histogram(np.array([1.0, np.nan])), ValueError, "finite"),
        (lambda: oxbridge.quantile(np.ones(3), 1.5), ValueError, "q"),
        (lambda: oxbridge.quantile(np.ones(3), [0.5, -0.1]), ValueError, "q"),
        (lambda: oxbridge.quantile(np.ones(3), float("nan")), ValueError, "q"),
        (lambda: oxbridge.sort(np.ones((2, 2, 2))), ValueError, "3-D"),
        (
            lambda: oxbridge.sort(
                np.arange(3.0).__array__().view().setflags(write=False) or np.frombuffer(b"abcdefgh")
            ),
            ValueError,
            "read-only",
        ),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
