"""Arrow data into oxbridge: `stats` and `Accumulator.push` take pyarrow arrays and chunked
arrays and polars Series in place (the C Data Interface through their capsules), nulls
counted as missing like NaN. Oracles: math.fsum, Python's min/max and exact integer sums
over the same values, and numpy on large arrays."""

from __future__ import annotations

import json
import math

import pytest

pa = pytest.importorskip("pyarrow")
np = pytest.importorskip("numpy")
from hypothesis import given, settings, strategies as st

import oxbridge


def expected(values: list) -> tuple[int, int, float, object, object]:
    """count, missing, sum, min, max of a list with None (and NaN) as missing."""
    kept = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    missing = len(values) - len(kept)
    if not kept:
        return 0, missing, 0.0, None, None
    total = sum(kept) if all(isinstance(v, int) for v in kept) else math.fsum(kept)
    return len(kept), missing, total, min(kept), max(kept)


def check(s: oxbridge.Stats, values: list) -> None:
    count, missing, total, low, high = expected(values)
    assert (s.count, s.nan_count) == (count, missing)
    if count:
        assert s.sum == pytest.approx(total, rel=1e-12, abs=1e-9)
        assert (s.min, s.max) == (low, high)
        mean = total / count
        assert s.mean == pytest.approx(mean, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("arrow_type", ["float64", "float32", "int64", "int32"])
def test_arrays_with_nulls_and_offsets(arrow_type):
    rng = np.random.default_rng(3)
    n = 70_001  # several blocks of the masked path, and a tail
    if arrow_type.startswith("float"):
        raw = rng.normal(size=n).astype(arrow_type).tolist()
    else:
        raw = rng.integers(-(2**30), 2**30, n).tolist()
    values = [None if i % 7 == 3 else v for i, v in enumerate(raw)]
    array = pa.array(values, type=arrow_type)
    check(oxbridge.stats(array), values)
    # Slices start inside a byte of the validity bitmap and a block.
    for start, length in [(5, 1000), (13, 40_000), (69_999, 2), (0, 0)]:
        check(oxbridge.stats(array.slice(start, length)), values[start : start + length])


def test_no_nulls_is_read_in_place_and_equals_numpy():
    a = np.random.default_rng(5).normal(size=2_000_000)
    s = oxbridge.stats(pa.array(a))
    want = oxbridge.stats(a)
    assert (s.count, s.nan_count, s.sum, s.min, s.max) == (want.count, want.nan_count, want.sum, want.min, want.max)
    assert s.var == pytest.approx(float(np.var(a)), rel=1e-12)


def test_int64_sums_are_exact():
    values = [2**62, 2**62, None, 2**62, -5]
    s = oxbridge.stats(pa.array(values, type="int64"))
    assert s.sum == 3 * 2**62 - 5 and type(s.sum) is int and s.nan_count == 1


def test_nan_and_null_are_both_missing():
    values = [1.0, float("nan"), None, 4.0]
    s = oxbridge.stats(pa.array(values, from_pandas=False))
    assert (s.count, s.nan_count, s.sum) == (2, 2, 5.0)


def test_chunked_arrays_and_polars_series():
    chunks = [[1, 2, None], [], [4, None, 6]]
    values = [v for c in chunks for v in c]
    check(oxbridge.stats(pa.chunked_array(chunks, type="int64")), values)
    pl = pytest.importorskip("polars")
    check(oxbridge.stats(pl.Series(values)), values)
    check(oxbridge.stats(pl.Series([0.5, None, 2.5])), [0.5, None, 2.5])
    empty = oxbridge.stats(pa.chunked_array([], type="float64"))
    assert (empty.count, empty.nan_count) == (0, 0)


def test_accumulator_push_merges_arrow_parts():
    parts = [[1.5, None], [2.5, 3.5, None], [float("nan")]]
    acc = oxbridge.Accumulator()
    for p in parts:
        acc.push(pa.array(p, type="float64"))
    acc.push(pa.chunked_array([[10.0], [None, 20.0]]))
    check(acc.stats(), [v for p in parts for v in p] + [10.0, None, 20.0])


@pytest.mark.parametrize(
    "array",
    [
        pytest.param(lambda: pa.array(["a", "b"]), id="string"),
        pytest.param(lambda: pa.array([1, 2], type="int8"), id="int8"),
        pytest.param(lambda: pa.array([1, 2], type="uint64"), id="uint64"),
        pytest.param(lambda: pa.array([True, False]), id="bool"),
        pytest.param(lambda: pa.array(["x", "y", "x"]).dictionary_encode(), id="dictionary"),
        pytest.param(lambda: pa.array([[1.0], [2.0]]), id="list"),
    ],
)
def test_unsupported_types_are_a_clean_error(array):
    with pytest.raises(oxbridge.UnsupportedError, match="not supported"):
        oxbridge.stats(array())
    acc = oxbridge.Accumulator()
    with pytest.raises(oxbridge.UnsupportedError):
        acc.push(array())
    assert acc.stats().count == 0  # nothing half-added


def test_axis_with_arrow_is_refused():
    with pytest.raises(ValueError, match="axis"):
        oxbridge.stats(pa.array([1.0]), axis=0)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-(2**62), 2**62)), max_size=300),
    start=st.integers(0, 20),
)
def test_generated_int_arrays(values, start):
    array = pa.array(values, type="int64").slice(min(start, len(values)))
    check(oxbridge.stats(array), values[min(start, len(values)) :])


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.floats(-1e300, 1e300)), max_size=300))
def test_generated_float_arrays(values):
    check(oxbridge.stats(pa.array(values, type="float64")), values)


def test_quantile_histogram_and_evaluate_read_arrow_in_place():
    a = np.random.default_rng(11).normal(size=300_001)
    arrow = pa.array(a)
    assert oxbridge.quantile(arrow, 0.37) == np.quantile(a, 0.37)
    counts, edges = oxbridge.histogram(arrow, bins=7)
    want_counts, want_edges = np.histogram(a, bins=7)
    assert list(counts) == want_counts.tolist()
    np.testing.assert_allclose(edges, want_edges, rtol=1e-15)
    np.testing.assert_array_equal(oxbridge.evaluate("2*x + y", x=arrow, y=a), 2 * a + a)
    # A view of the producer's memory: the values are the array's own, also through slices.
    sliced = arrow.slice(1000, 5)
    np.testing.assert_array_equal(oxbridge.evaluate("x + 0", x=sliced), a[1000:1005])


def test_nulls_read_as_nan_and_chunks_as_one_array():
    assert math.isnan(oxbridge.quantile(pa.array([1.0, None, 3.0]), 0.5))  # like numpy's NaN
    assert oxbridge.quantile(pa.chunked_array([[1, 2], [3, 4]], type="int64"), 0.5) == 2.5
    out = oxbridge.evaluate("x * y", x=pa.array([1, 2, 3]), y=pa.array([1.5, None, 2.0]))
    assert out[0] == 1.5 and math.isnan(out[1]) and out[2] == 6.0
    counts, _ = oxbridge.histogram(pa.array([1.0, None, 3.0]), bins=2, range=(0.0, 4.0))
    assert list(counts) == [1, 1]  # NaN (null) is outside every bin
    pl = pytest.importorskip("polars")
    assert oxbridge.quantile(pl.Series([1.0, 2.0, 5.0]), 0.5) == 2.0


def test_arrow_data_is_read_only():
    with pytest.raises(ValueError, match="immutable"):
        oxbridge.sort(pa.array([3.0, 1.0]))
    with pytest.raises(oxbridge.UnsupportedError, match="not supported"):
        oxbridge.quantile(pa.array(["a"]), 0.5)


_CTRL_C_CHILD = r"""
import json, sys, time
import pyarrow as pa
import oxbridge

path, how = sys.argv[1], sys.argv[2]
ds = oxbridge.Dataset.open(path)
rows = ds.num_rows
print("ready", flush=True)
try:
    while True:
        if how == "iter_batches":
            for batch in ds.iter_batches(rows=1000):
                pa.record_batch(batch)
        else:
            pa.table(ds)
except KeyboardInterrupt:
    caught = time.monotonic()
# The Dataset still works after the interrupted stream.
print(json.dumps({"caught": caught, "rows": ds.to_arrow(columns=[0]).num_rows == rows}), flush=True)
"""


@pytest.mark.parametrize("how", ["iter_batches", "pyarrow.table"])
def test_ctrl_c_during_a_stream(tmp_path, how):
    """SIGINT while batches stream: KeyboardInterrupt comes out promptly (between two
    batches of a few chunks each, or when pyarrow's read ends), and the Dataset stays usable."""
    import os
    import signal
    import time

    from _helpers import python, started

    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("a,b,c\n")
        line = "".join(f"{i},{i * 0.5},word{i % 97}\n" for i in range(100_000))
        f.write(line * 6)  # about 12 MB: a few tenths of a second a pass
    with started(python("-c", _CTRL_C_CHILD, str(path), how)) as process:
        assert process.stdout.readline() == "ready\n"
        time.sleep(0.6)
        sent = time.monotonic()
        os.kill(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["rows"] is True
    latency = report["caught"] - sent
    assert 0 <= latency < (0.5 if how == "iter_batches" else 3.0), latency


def test_int64_quantiles_past_2_53_equal_numpy_bit_for_bit():
    """numpy interpolates int64 with the exact integer difference; so does quantile()."""
    rng = np.random.default_rng(21)
    for trial in range(100):
        n = int(rng.integers(2, 60))
        a = (2**53 + rng.integers(-3000, 3000, n)) if trial % 2 else rng.integers(-(2**62), 2**62, n)
        a = np.asarray(a, dtype=np.int64)
        for q in rng.random(4).tolist():
            assert oxbridge.quantile(a, q) == float(np.quantile(a, q)), (a.tolist(), q)
            assert oxbridge.quantile(pa.array(a), q) == float(np.quantile(a, q))
