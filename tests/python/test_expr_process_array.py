"""`process_array(a, func=...)`: an expression in x applied in place, on any layout of
float64 or float32 memory, and what it refuses."""

import numpy as np
import pytest
from _expr_helpers import assert_same

import oxbridge
from oxbridge import ExpressionError


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_process_array_with_func_in_place(dtype):
    a = np.linspace(-3, 3, 100_001).astype(dtype)
    want = (np.sqrt(np.abs(a.astype(np.float64))) * 2 + 1).astype(dtype)
    address = a.ctypes.data
    assert oxbridge.process_array(a, func="sqrt(abs(x)) * 2 + 1") is a
    assert a.ctypes.data == address and a.dtype == dtype
    assert_same(a, want)
    # Strided and reversed views change only their own elements.
    base = np.arange(30.0, dtype=dtype)
    oxbridge.process_array(base[::-3], func="x + 100")
    want = np.arange(30.0, dtype=dtype)
    want[::-3] += 100
    assert_same(base, want)
    m = np.arange(12.0, dtype=dtype).reshape(3, 4)
    oxbridge.process_array(m, func="-x")
    assert_same(m, -np.arange(12.0, dtype=dtype).reshape(3, 4))
    e = oxbridge.Expression("x * 3")
    assert oxbridge.process_array(m, func=e) is m
    assert_same(m, -3 * np.arange(12.0, dtype=dtype).reshape(3, 4))
    b = np.arange(5.0, dtype=dtype)
    oxbridge.process_array(b, func="x > 2")
    assert b.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_process_array_with_func_refusals():
    for ints in (np.arange(3), np.arange(3, dtype=np.int32)):
        with pytest.raises(TypeError, match="float64 or float32"):
            oxbridge.process_array(ints, func="x * 2")
    for other in ("y * 2", "x * y", "a"):
        with pytest.raises(ExpressionError, match="expression in x"):
            oxbridge.process_array(np.arange(3.0), func=other)
    with pytest.raises(ExpressionError, match="expected a number"):
        oxbridge.process_array(np.arange(3.0), func="x +")
    with pytest.raises(TypeError):
        oxbridge.process_array(np.arange(3.0), func=5)
    readonly = np.arange(3.0)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        oxbridge.process_array(readonly, func="x + 1")
    with pytest.raises(TypeError):
        oxbridge.process_array(np.arange(3.0).astype(">f8"), func="x + 1")


def test_process_array_with_constant_func():
    a = np.arange(5.0)
    assert oxbridge.process_array(a, func="7") is a
    assert a.tolist() == [7.0] * 5


def test_process_array_with_func_on_fortran_array():
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    oxbridge.process_array(f, func="x * 2")
    np.testing.assert_array_equal(f, np.arange(6.0).reshape(2, 3) * 2)
