"""`parallel_map(func, items)` with each kind of function: an expression, a C function
(ctypes, an address, a numba cfunc), and a Python callable; they agree with a loop."""

import ctypes
import ctypes.util

import numpy as np
import pytest
from _expr_helpers import INF, NAN, assert_same, assert_ulp

import oxbridge
from oxbridge import ExpressionError


def _libm_cos():
    cos = ctypes.CDLL(ctypes.util.find_library("m")).cos
    cos.restype = ctypes.c_double
    cos.argtypes = [ctypes.c_double]
    return cos


def test_parallel_map_with_an_expression():
    x = np.linspace(-5, 5, 100_001)
    got = oxbridge.parallel_map("x * 10 + 1", x)
    assert_same(got, x * 10 + 1)
    assert_same(oxbridge.parallel_map(oxbridge.Expression("sqrt(abs(v))"), x), np.sqrt(np.abs(x)))
    assert oxbridge.parallel_map("x * 10 + 1", [1.0, 2.0]).tolist() == [11.0, 21.0]
    assert oxbridge.parallel_map("x * 2", (v for v in [1, 2, 3])).tolist() == [2.0, 4.0, 6.0]
    assert oxbridge.parallel_map("x * 2", np.arange(3, dtype=np.float32)).dtype == np.float32
    assert oxbridge.parallel_map("x + 1", []).shape == (0,)
    with pytest.raises(ExpressionError, match="one variable"):
        oxbridge.parallel_map("a * b", [1.0])


def test_parallel_map_with_libm_cos_matches_numpy():
    cos = _libm_cos()
    x = np.linspace(-100, 100, 300_001)
    got = oxbridge.parallel_map(cos, x)
    assert got.dtype == np.float64 and got.shape == x.shape
    assert_ulp(got, np.cos(x), 1)
    assert_same(got, [cos(v) for v in x[:2000]] + list(got[2000:]))
    # Any dtype and layout of items; results are float64.
    assert_same(oxbridge.parallel_map(cos, np.arange(5, dtype=np.int32)), [cos(float(v)) for v in range(5)])
    assert_same(oxbridge.parallel_map(cos, x[::-7]), got[::-7])
    assert_same(oxbridge.parallel_map(cos, [0.0, NAN, INF]), [1.0, NAN, NAN])
    assert oxbridge.parallel_map(cos, []).shape == (0,)


def test_parallel_map_with_an_address():
    cos = _libm_cos()
    address = ctypes.cast(cos, ctypes.c_void_p).value
    x = np.linspace(-10, 10, 50_001)
    assert_same(oxbridge.parallel_map(address, x), oxbridge.parallel_map(cos, x))
    square = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(lambda v: v * v)
    assert_same(oxbridge.parallel_map(square, np.arange(5.0)), np.arange(5.0) ** 2)
    with pytest.raises(ValueError, match="positive"):
        oxbridge.parallel_map(0, [1.0])
    with pytest.raises(ValueError, match="positive"):
        oxbridge.parallel_map(-5, [1.0])


def test_parallel_map_with_a_numba_cfunc():
    # numba is in requirements-dev; the cfunc runs on every worker thread, no GIL involved.
    numba = pytest.importorskip("numba")

    @numba.cfunc("float64(float64)")
    def hypot1(v):
        return (v * v + 1.0) ** 0.5

    x = np.random.default_rng(7).standard_normal(200_001)
    got = oxbridge.parallel_map(hypot1, x)
    np.testing.assert_allclose(got, np.sqrt(x * x + 1.0), rtol=1e-15)
    out = np.empty_like(x)
    assert oxbridge.parallel_map(hypot1, x, out=out) is out
    assert_same(out, got)


def test_parallel_map_refuses_ctypes_functions_without_signature():
    cos = ctypes.CDLL(ctypes.util.find_library("m")).cos  # restype c_int, no argtypes
    with pytest.raises(TypeError, match="restype"):
        oxbridge.parallel_map(cos, [1.0])
    cos.restype = ctypes.c_double
    with pytest.raises(TypeError, match="argtypes"):
        oxbridge.parallel_map(cos, [1.0])
    pow_ = ctypes.CDLL(ctypes.util.find_library("m")).pow
    pow_.restype, pow_.argtypes = ctypes.c_double, [ctypes.c_double, ctypes.c_double]
    with pytest.raises(TypeError, match="double\\(double\\)"):
        oxbridge.parallel_map(pow_, [1.0])
    with pytest.raises(TypeError, match="func must be"):
        oxbridge.parallel_map(3.5, [1.0])


def test_parallel_map_with_a_python_callable():
    seen = []

    def f(v):
        seen.append(v)
        return v * v - 1

    items = [3.0, -1.5, 0.0, 7.0]
    got = oxbridge.parallel_map(f, items)
    assert got.tolist() == [v * v - 1 for v in items]
    assert seen == items  # in order, once each
    np.testing.assert_array_equal(oxbridge.parallel_map(lambda v: v + 1, np.arange(4.0)), [1.0, 2.0, 3.0, 4.0])
    assert oxbridge.parallel_map(str, [1, 2]).tolist() == ["1", "2"]
    assert oxbridge.parallel_map(lambda v: v, []).shape == (0,)
    x = np.random.default_rng(8).standard_normal(1000)
    np.testing.assert_array_equal(oxbridge.parallel_map(np.cos, x), np.array([np.cos(v) for v in x]))


def test_parallel_map_python_exception_names_the_item():
    def f(v):
        if v == 3:
            raise KeyError("boom")
        return v

    with pytest.raises(KeyError) as info:
        oxbridge.parallel_map(f, [1, 2, 3, 4])
    notes = getattr(info.value, "__notes__", [])
    assert any("item 2" in note and "(3)" in note for note in notes), notes


def test_parallel_map_kinds_agree_with_a_loop():
    x = np.random.default_rng(9).uniform(-50, 50, 20_000)
    loop = np.array([np.cos(v) for v in x])
    for func in (_libm_cos(), "cos(x)", oxbridge.Expression("cos(t)"), np.cos):
        assert_ulp(oxbridge.parallel_map(func, x), loop, 1)
