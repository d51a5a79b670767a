"""process_array against numpy's `a * 2`: bit for bit, in place, in every layout the
package accepts, with clear errors for everything it refuses, and from several threads."""

import array

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import oxbridge

from _helpers import run_threads

DTYPES = [np.float64, np.float32, np.int64, np.int32]
FLOATS = [np.float64, np.float32]
INTS = [np.int64, np.int32]
# 65_536 is one parallel chunk; 200_003 spans several and ends in a ragged one.
# 2^20 + 3: floats go to the thread pool from 2^20 elements, integers from 2^15.
LENGTHS = [0, 1, 2, 7, 1000, 65_537, 200_003, (1 << 20) + 3]
_BITS = {np.dtype(np.float64): np.uint64, np.dtype(np.float32): np.uint32}


def _bits(a):
    """The raw bit patterns of a float array (NaN payloads and the sign of -0.0 included)."""
    a = np.ascontiguousarray(a)
    return a.view(_BITS[a.dtype])


def _nan_with_bits(dtype, *patterns):
    return np.array(patterns, dtype=_BITS[np.dtype(dtype)]).view(dtype)


def _specials(dtype):
    """Float values whose doubling is easy to get wrong."""
    fi = np.finfo(dtype)
    values = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            -np.nan,
            1.0,
            -1.5,
            fi.eps,
            fi.smallest_subnormal,
            -fi.smallest_subnormal,
            fi.smallest_normal,
            fi.smallest_normal / 2,  # subnormal, doubles to the smallest normal
            fi.smallest_normal - fi.smallest_subnormal,  # largest subnormal
            fi.max,
            -fi.max,
            fi.max / 2,
            fi.max / 1.5,  # fi.max and fi.max / 1.5 overflow
        ],
        dtype=dtype,
    )
    if dtype == np.float64:
        payloads = _nan_with_bits(dtype, 0x7FF0000000000001, 0xFFF8000000000123, 0x7FF4000000000000)
    else:
        payloads = _nan_with_bits(dtype, 0x7F800001, 0xFFC00123, 0x7FA00000)
    return np.concatenate([values, payloads])


def _data(dtype, n, seed=0):
    """n values of dtype whose doubles fit the dtype; floats include every special value."""
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        a = rng.integers(info.min // 2, info.max // 2, size=n, endpoint=True, dtype=dtype)
        a[: min(n, 2)] = [info.min // 2, info.max // 2][: min(n, 2)]  # both limits that fit
        return a
    a = (rng.standard_normal(n) * 1e3).astype(dtype)
    specials = _specials(dtype)
    if n:
        positions = rng.choice(n, size=min(n, specials.size), replace=False)
        a[positions] = specials[: positions.size]
    return a


def _doubled(a):
    """numpy's answer, the oracle."""
    with np.errstate(over="ignore", invalid="ignore"):
        return a * 2


def _assert_identical(got, expected):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # NaN matches NaN here...
    if got.dtype.kind == "f":
        np.testing.assert_array_equal(_bits(got), _bits(expected))  # ...and here bit for bit


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_doubles_exactly_like_numpy(dtype, n):
    a = _data(dtype, n)
    expected = _doubled(a)
    result = oxbridge.process_array(a)
    assert result is a
    _assert_identical(a, expected)


@pytest.mark.parametrize("dtype", FLOATS)
def test_special_float_values(dtype):
    fi = np.finfo(dtype)
    a = _specials(dtype)
    expected = _doubled(a)
    oxbridge.process_array(a)
    _assert_identical(a, expected)
    # The same facts without numpy as the oracle.
    assert a[0] == 0 and not np.signbit(a[0])
    assert a[1] == 0 and np.signbit(a[1])  # -0.0 * 2 is -0.0, not +0.0
    assert a[2] == np.inf and a[3] == -np.inf
    assert np.isnan(a[4]) and np.isnan(a[5])
    assert a[6] == 2.0 and a[7] == -3.0 and a[8] == 2 * fi.eps
    assert a[9] == np.nextafter(fi.smallest_subnormal, dtype(1))  # 2 * smallest subnormal
    assert a[10] == -a[9]
    assert a[11] == 2 * fi.smallest_normal and a[12] == fi.smallest_normal
    assert a[14] == np.inf and a[15] == -np.inf and a[16] == fi.max and a[17] == np.inf
    assert np.isnan(a[18:]).all()
    # A NaN keeps its sign and payload; a signalling NaN comes back quiet, as in numpy.
    quiet = 0x0008000000000000 if dtype == np.float64 else 0x00400000
    assert (_bits(a[18:]) & quiet).all()
    assert np.signbit(a[19]) and not np.signbit(a[18])


@pytest.mark.parametrize("dtype", DTYPES)
def test_works_in_place_on_1d_views_and_leaves_the_rest_alone(dtype):
    base = _data(dtype, 200_003, seed=1)
    for index in (np.s_[::3], np.s_[::-1], np.s_[1::2], np.s_[-2::-7], np.s_[5:-5], np.s_[10:20]):
        parent = base.copy()
        view = parent[index]
        expected = parent.copy()
        expected[index] = _doubled(expected[index])
        result = oxbridge.process_array(view)
        assert result is view
        assert np.shares_memory(view, parent)
        _assert_identical(parent, expected)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_contiguous_nd_arrays_in_either_order(dtype, order):
    for shape in [(301, 7), (1, 5), (0, 4), (40, 30, 7), (700, 300)]:
        a = np.asarray(_data(dtype, int(np.prod(shape)), seed=2).reshape(shape), order=order)
        expected = _doubled(a)
        assert oxbridge.process_array(a) is a
        _assert_identical(a, expected)
    # Contiguous 2-D parts of a bigger array: a block of rows (C), of columns (F), a transpose.
    parent = np.asarray(_data(dtype, 60 * 8, seed=3).reshape(60, 8), order=order)
    if np.issubdtype(dtype, np.integer):
        parent //= 2  # doubled twice below
    part = np.s_[10:30] if order == "C" else np.s_[:, 2:5]
    expected = parent.copy()
    expected[part] = _doubled(expected[part])
    oxbridge.process_array(parent[part])
    _assert_identical(parent, expected)
    expected = _doubled(parent)
    oxbridge.process_array(parent.T)
    _assert_identical(parent, expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_2d_views_are_refused_and_left_alone(dtype):
    m = _data(dtype, 40 * 6, seed=4).reshape(40, 6)
    before = m.copy()
    for index in (np.s_[:, ::2], np.s_[::2, :], np.s_[::-1], np.s_[:, :1], np.s_[1:, 1:]):
        with pytest.raises(ValueError, match="non-contiguous 2-D"):
            oxbridge.process_array(m[index])
        _assert_identical(m, before)


@pytest.mark.parametrize(
    "typecode, dtype", [("d", np.float64), ("f", np.float32), ("q", np.int64), ("l", np.int64), ("i", np.int32)]
)
def test_array_array_in_place(typecode, dtype):
    values = _data(dtype, 100_001, seed=5)
    a = array.array(typecode, values.tolist())
    assert a.itemsize == np.dtype(dtype).itemsize
    result = oxbridge.process_array(a)
    assert result is a
    _assert_identical(np.frombuffer(a, dtype=dtype), _doubled(values))
    small = array.array(typecode, [1, 2, 3])
    oxbridge.process_array(small)
    assert small.tolist() == [2, 4, 6]


def test_memoryviews_in_place():
    a = array.array("d", [1.0, -2.5, 3.0, -0.0, 5.0])
    mv = memoryview(a)
    assert oxbridge.process_array(mv) is mv
    assert a.tolist() == [2.0, -5.0, 6.0, -0.0, 10.0]
    assert str(a[3]) == "-0.0"
    # A reversed, strided memoryview: only its elements change.
    view = mv[::-2]
    assert oxbridge.process_array(view) is view
    assert a.tolist() == [4.0, -5.0, 12.0, -0.0, 20.0]
    # Memoryviews of numpy arrays, of any supported dtype, and a cast of a bytearray.
    for dtype in DTYPES:
        base = _data(dtype, 10_007, seed=6)
        expected = base.copy()
        expected[::-3] = _doubled(expected[::-3])
        oxbridge.process_array(memoryview(base)[::-3])
        _assert_identical(base, expected)
    raw = bytearray(np.arange(6, dtype=np.int32).tobytes())
    oxbridge.process_array(memoryview(raw).cast("i"))
    assert np.frombuffer(raw, dtype=np.int32).tolist() == [0, 2, 4, 6, 8, 10]
    m = np.arange(12.0).reshape(3, 4)
    oxbridge.process_array(memoryview(m))
    np.testing.assert_array_equal(m, np.arange(12.0).reshape(3, 4) * 2)


def test_a_strided_field_of_a_record_array():
    # int32 at a 12-byte stride is addressable (3 elements apart): only that field changes.
    records = np.zeros(1000, dtype=[("x", "<f8"), ("n", "<i4")])
    records["x"] = 1.5
    records["n"] = np.arange(1000)
    oxbridge.process_array(records["n"])
    np.testing.assert_array_equal(records["n"], np.arange(1000) * 2)
    np.testing.assert_array_equal(records["x"], 1.5)
    # float64 at a 12-byte stride is not: refused, nothing changed.
    with pytest.raises(ValueError, match="stride of 12 bytes"):
        oxbridge.process_array(records["x"])
    np.testing.assert_array_equal(records["x"], 1.5)


def _read_only(dtype):
    a = np.arange(5, dtype=dtype)
    a.setflags(write=False)
    return a


def _unaligned(dtype):
    itemsize = np.dtype(dtype).itemsize
    a = np.frombuffer(bytearray(itemsize * 5 + 1), dtype=dtype, offset=1, count=5)
    assert a.flags.writeable and not a.flags.aligned
    a[:] = np.arange(5)
    return a


def _stride_zero():
    a = np.lib.stride_tricks.as_strided(np.ones(4), shape=(5,), strides=(0,))
    assert a.flags.writeable
    return a


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: _read_only(np.float64), ValueError, "read-only"),
        (lambda: _read_only(np.int32), ValueError, "read-only"),
        (lambda: _read_only(np.float64)[::-2], ValueError, "read-only"),
        (lambda: np.broadcast_to(np.ones(3), (4, 3)), ValueError, "read-only"),
        (lambda: memoryview(bytes(16)).cast("d"), ValueError, "read-only"),
        (lambda: np.float64(1.5), ValueError, "0-d"),
        (lambda: np.array(1.5, dtype=np.float32), ValueError, "0-d"),
        (lambda: np.array(3, dtype=np.int64), ValueError, "0-d"),
        (lambda: np.array(3, dtype=np.int32), ValueError, "0-d"),
        (lambda: _unaligned(np.float64), ValueError, "aligned"),
        (lambda: _unaligned(np.int32), ValueError, "aligned"),
        (_stride_zero, ValueError, "stride"),
        (lambda: b"\x00" * 16, TypeError, "uint8"),
        (lambda: bytearray(16), TypeError, "uint8"),
        (lambda: [1.0, 2.0, 3.0], TypeError, "got list"),
        (lambda: (1.0, 2.0), TypeError, "got tuple"),
        (lambda: None, TypeError, "got NoneType"),
        (lambda: 2.0, TypeError, "got float"),
        (lambda: np.array([1 + 2j, 3j]), TypeError, "complex128"),
        (lambda: np.array([1, 2], dtype=np.complex64), TypeError, "complex64"),
        (lambda: np.array([object(), object()]), TypeError, "object"),
        (lambda: np.array(["ab", "c"]), TypeError, "dtype"),
        (lambda: np.array([b"ab"]), TypeError, "dtype"),
        (lambda: np.array([True, False]), TypeError, "bool"),
        (lambda: np.arange(3, dtype=np.uint64), TypeError, "uint64"),
        (lambda: np.arange(3, dtype=np.uint32), TypeError, "uint32"),
        (lambda: np.arange(3, dtype=np.int16), TypeError, "int16"),
        (lambda: np.arange(3, dtype=np.int8), TypeError, "int8"),
        (lambda: np.arange(3, dtype=np.float16), TypeError, "float16"),
        (lambda: np.arange(3, dtype=np.longdouble), TypeError, "longdouble"),
        (lambda: np.arange(3.0).astype(">f8"), TypeError, "byte order"),
        (lambda: np.arange(3).astype(">i4"), TypeError, "byte order"),
        (lambda: array.array("h", [1, 2]), TypeError, "int16"),
        (lambda: np.array(["2020-01-01"], dtype="M8[D]"), (TypeError, ValueError), ""),
    ],
)
def test_bad_input_raises_a_clear_error_and_changes_nothing(make, error, words):
    a = make()
    before = a.copy() if isinstance(a, (np.ndarray, list)) else None
    with pytest.raises(error) as info:
        oxbridge.process_array(a)
    assert words in str(info.value)
    if isinstance(a, list):
        assert a == before  # a list cannot be changed in place, and is not
    elif isinstance(a, np.ndarray) and a.dtype.kind in "fiu":
        np.testing.assert_array_equal(a, before)


def test_a_0d_float64_array_is_refused_like_every_other_dtype():
    a = np.array(1.5)
    with pytest.raises(ValueError, match="0-d"):
        oxbridge.process_array(a)
    assert a == 1.5


@pytest.mark.parametrize("dtype", INTS)
def test_integer_limits(dtype):
    info = np.iinfo(dtype)
    lo, hi = info.min // 2, info.max // 2  # the most negative and most positive that fit
    a = np.array([lo, hi, 0, -1, 1], dtype=dtype)
    oxbridge.process_array(a)
    assert a.tolist() == [info.min, info.max - 1, 0, -2, 2]
    for bad in (hi + 1, lo - 1, info.max, info.min):
        a = np.array([1, bad, -1], dtype=dtype)
        before = a.copy()
        with pytest.raises(ValueError, match="overflow") as error:
            oxbridge.process_array(a)
        assert isinstance(error.value, oxbridge.InvalidArgumentError)
        np.testing.assert_array_equal(a, before)


@pytest.mark.parametrize("dtype", INTS)
def test_integer_overflow_anywhere_changes_nothing(dtype):
    info = np.iinfo(dtype)
    for where in (0, 123_457, 200_002):  # first, inside a middle parallel chunk, last
        for bad in (info.max // 2 + 1, info.min // 2 - 1):
            a = _data(dtype, 200_003, seed=7)
            a[where] = bad
            before = a.copy()
            with pytest.raises(ValueError, match="nothing was changed"):
                oxbridge.process_array(a)
            np.testing.assert_array_equal(a, before)
            with pytest.raises(ValueError):
                oxbridge.process_array(a[where::-1])  # a reversed view holding it
            np.testing.assert_array_equal(a, before)
    # Only the view's own elements count: an overflowing neighbour outside it is fine.
    a = _data(dtype, 1001, seed=8)
    a[1::2] = info.max
    expected = a.copy()
    expected[::2] *= 2
    oxbridge.process_array(a[::2])
    np.testing.assert_array_equal(a, expected)


FLOAT_ELEMENTS = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(np.float64, st.integers(0, 2000), elements=FLOAT_ELEMENTS), st.sampled_from([1, 2, -1, -3]))
def test_float64_property(a, step):
    view = a[::step]
    expected = a.copy()
    expected[::step] = _doubled(expected[::step])
    oxbridge.process_array(view)
    _assert_identical(a, expected)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float32, st.integers(0, 2000), elements=st.floats(width=32)), st.sampled_from([1, -2]))
def test_float32_property(a, step):
    expected = a.copy()
    expected[::step] = _doubled(expected[::step])
    oxbridge.process_array(a[::step])
    _assert_identical(a, expected)


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.int32, st.integers(0, 2000), elements=st.integers(-(2**30), 2**30 - 1)),
    st.sampled_from([1, 3, -1]),
)
def test_int32_in_range_property(a, step):
    expected = a.copy()
    expected[::step] = expected[::step] * 2
    oxbridge.process_array(a[::step])
    _assert_identical(a, expected)


@settings(max_examples=150, deadline=None)
@given(hnp.arrays(st.sampled_from(INTS), st.integers(0, 300)))
def test_integer_property_doubles_or_refuses_untouched(a):
    before = a.copy()
    exact = [2 * int(v) for v in a]  # Python ints: no wrap-around
    info = np.iinfo(a.dtype)
    if all(info.min <= v <= info.max for v in exact):
        oxbridge.process_array(a)
        assert a.tolist() == exact
    else:
        with pytest.raises(ValueError):
            oxbridge.process_array(a)
        np.testing.assert_array_equal(a, before)


def test_threads_on_distinct_arrays():
    jobs = []
    for i in range(8):
        dtype = DTYPES[i % 4]
        n = (200_003, 5_000, 70_001, 17)[i // 2 % 4]
        a = _data(dtype, n, seed=10 + i)
        if np.issubdtype(dtype, np.integer):
            a //= 8  # room for three doublings
        expected = _doubled(_doubled(_doubled(a)))
        jobs.append((a, expected))

    def work(i):
        a = jobs[i][0]
        for _ in range(3):
            assert oxbridge.process_array(a) is a

    run_threads(8, work)
    for a, expected in jobs:
        _assert_identical(a, expected)


@pytest.mark.parametrize("dtype", FLOATS)
def test_large_strided_views_are_split_across_the_pool(dtype):
    a = _data(dtype, 4 * (1 << 20) + 9, seed=30)
    expected = a.copy()
    expected[1::4] = _doubled(expected[1::4])
    expected[::-3] = _doubled(expected[::-3])
    oxbridge.process_array(a[1::4])
    oxbridge.process_array(a[::-3])
    _assert_identical(a, expected)


def test_threads_on_interleaved_views_of_one_array():
    # Each thread owns every 4th element: no write may touch a neighbour's elements.
    a = _data(np.float64, 400_001, seed=20)
    expected = _doubled(_doubled(a))

    def work(i):
        view = a[i::4] if i % 2 else a[::-1][i::4]
        for _ in range(2):
            oxbridge.process_array(view)

    run_threads(4, work)
    _assert_identical(a, expected)
